/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis_vmbus internals shared by its three parts:
 *
 *   vmbus_drv.c     the module, the ACPI binding, the hvis_vmbus bus type
 *                   and its devices (one per primary channel offer)
 *   connection.c    the SynIC (per-CPU message and event pages, the VMBus
 *                   interrupt), HvPostMessage, version negotiation, UNLOAD
 *   channel_mgmt.c  what the host says about channels: checks every
 *                   message, keeps the relid table, creates and removes
 *                   the devices
 *   channel.c       the class-driver API (hvis_vmbus.h): GPADLs, opening
 *                   and closing channels, their rings and events
 *   ic.c            the integration components' driver: NEGOTIATE and
 *                   heartbeat in the kernel, /dev/hvis/<service>
 *
 * Host messages travel: SynIC slot (interrupt, any CPU) -> a private copy
 * in the receive queue -> the message worker (ordered), which answers the
 * waiters of requests (version, unload) at once and hands offers, rescinds
 * and ALLOFFERS_DELIVERED to the channel worker (ordered, may sleep long:
 * device registration). Nothing the host wrote is read twice.
 */
#ifndef HVIS_VMBUS_PRIV_H
#define HVIS_VMBUS_PRIV_H

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include <hvis/tlfs.h>
#include <hvis/vmbus.h>

#include "ring.h"
#include "hvis_vmbus.h"

/* Host messages copied out of the SynIC, waiting for the message worker. */
#define HVIS_VMBUS_RXQ_LEN		64
/* How long a request waits for the host's answer. */
#define HVIS_VMBUS_REPLY_TIMEOUT_MS	10000

enum hvis_vmbus_state {
	HVIS_VMBUS_DISCONNECTED,
	HVIS_VMBUS_CONNECTING,	/* INITIATE_CONTACT sent */
	HVIS_VMBUS_CONNECTED,
	HVIS_VMBUS_UNLOADING,	/* UNLOAD sent or about to be */
};

/* This CPU's SynIC pages. */
struct hvis_vmbus_synic {
	struct hvis_message_page *msg_page;
	struct hvis_event_flags_page *event_page;
	bool enabled;		/* pages programmed, SINT unmasked */
};

enum hvis_vmbus_chan_state {
	HVIS_CHAN_OFFERED,
	HVIS_CHAN_RESCINDED,
};

/* One offer: a primary channel (with a device) or a sub-channel. */
struct hvis_vmbus_channel {
	struct list_head node;			/* hvis_vmbus_conn.channels */
	struct hvis_chmsg_offer offer;		/* checked copy */
	u32 relid;
	enum hvis_vmbus_chan_state state;
	struct hvis_vmbus_channel *primary;	/* sub-channels only */
	struct hvis_vmbus_device *dev;		/* primaries: on the bus */

	/* open/close; lock: open_lock (sleeps: host round trips) */
	struct mutex open_lock;
	bool open;
	void *ring_buf;				/* both rings, one GPADL */
	size_t ring_bytes;
	u32 ring_gpadl;
	struct hvis_ring out;			/* we write; lock: out_lock */
	struct hvis_ring in;			/* we read; lock: in_lock */
	spinlock_t out_lock;
	spinlock_t in_lock;
	hvis_chan_event_fn on_event;
	void *event_ctx;
	struct work_struct event_work;
	struct work_struct broken_work;		/* CLOSECHANNEL after a ring error */
	atomic_t broken;			/* a ring error: sticky */
	bool close_sent;			/* lock: open_lock */
	u64 events;				/* signals from the host */
	u64 signals;				/* signals to the host */
};

/* A request waiting for the host's answer (OPENCHANNEL, GPADLs). */
struct hvis_vmbus_req {
	struct list_head node;		/* hvis_vmbus_conn.reqs */
	u32 answer;			/* the message type that answers */
	u32 key;			/* GPADL handle, or relid */
	u32 relid;
	struct completion done;
	u8 msg[HVIS_MESSAGE_PAYLOAD_MAX];	/* the answer */
};

/* Kinds of bad host messages; each is logged once per message type. */
enum hvis_vmbus_bad {
	HVIS_BAD_SHAPE,		/* SynIC type, size, unknown message */
	HVIS_BAD_UNEXPECTED,	/* not now, or never from a host */
	HVIS_BAD_FIELD,		/* a field out of range */
	HVIS_BAD_KINDS
};

/* The connection to the host: one per guest. */
struct hvis_vmbus_conn {
	struct device *parent;		/* the ACPI VMBus device */
	unsigned int msg_cpu;		/* where the host sends messages */
	u32 max_version;		/* module parameter, parsed */

	/* state, version and the reply waiters; lock: lock */
	spinlock_t lock;
	enum hvis_vmbus_state state;
	u32 version;			/* negotiated */
	u32 msg_conn_id;		/* where our messages go */
	u32 asked_version;		/* INITIATE_CONTACT in flight */
	bool want_version;
	struct hvis_chmsg_version_response version_resp;
	struct completion version_done;
	bool want_unload;
	struct completion unload_done;
	struct completion offers_done;

	/* pages the host is told about in INITIATE_CONTACT */
	void *int_page;
	void *monitor_page[2];

	/* HvPostMessage input, one page */
	struct mutex post_lock;
	struct hvis_post_message_input *post_page;

	struct hvis_vmbus_synic __percpu *synic;
	int cpuhp_state;		/* dynamic state, or <= 0 */

	/* receive queue; lock: rxq_lock (taken in the interrupt) */
	spinlock_t rxq_lock;
	unsigned int rxq_head;
	unsigned int rxq_count;
	bool rx_stalled;		/* a slot was left full: queue full */
	struct hvis_message rxq[HVIS_VMBUS_RXQ_LEN];
	struct work_struct rx_work;
	struct workqueue_struct *msg_wq;	/* drains rxq, ordered */
	struct workqueue_struct *chan_wq;	/* offers, rescinds, ordered */

	/* channels; lock: chan_lock */
	struct mutex chan_lock;
	struct list_head channels;
	struct hvis_vmbus_channel **relids;	/* HVIS_VMBUS_MAX_RELIDS */
	unsigned int offers;			/* live offers */

	/* requests waiting for answers; lock: lock */
	struct list_head reqs;
	u32 next_gpadl;

	/* open channels by relid, for the interrupt (RCU) */
	struct hvis_vmbus_channel __rcu **open_chans;
	struct workqueue_struct *event_wq;

	/* bad host messages: count, and which were logged */
	atomic_t bad_msgs;
	unsigned long bad_logged[BITS_TO_LONGS(HVIS_BAD_KINDS * 32)];
};

extern struct hvis_vmbus_conn hvis_vmbus;

/* version as "M.m" pieces for printk */
#define HVIS_VER_MAJOR(v)	((v) >> 16)
#define HVIS_VER_MINOR(v)	((v) & 0xFFFF)

/* connection.c */
int hvis_vmbus_conn_init(void);
void hvis_vmbus_conn_exit(void);
int hvis_vmbus_synic_init(void);
void hvis_vmbus_synic_exit(void);
int hvis_vmbus_post(const void *msg, u32 len);
int hvis_vmbus_connect(void);
void hvis_vmbus_unload(void);
void hvis_vmbus_on_version_response(const void *msg, u32 len);
void hvis_vmbus_on_unload_response(const void *msg, u32 len);
int hvis_vmbus_parse_version(const char *s, u32 *version);

/* channel_mgmt.c */
int hvis_vmbus_chan_init(void);
void hvis_vmbus_chan_exit(void);
void hvis_vmbus_on_message(const struct hvis_message *m);
int hvis_vmbus_request_offers(void);
void hvis_vmbus_remove_all(void);
const char *hvis_vmbus_msg_name(u32 type);
__printf(3, 4)
void hvis_vmbus_bad(enum hvis_vmbus_bad kind, u32 type, const char *fmt, ...);
const char *hvis_vmbus_chan_state_name(const struct hvis_vmbus_channel *ch);

/* channel.c */
int hvis_vmbus_channel_init(void);
void hvis_vmbus_channel_exit(void);
void hvis_vmbus_chan_setup(struct hvis_vmbus_channel *ch);
void hvis_vmbus_on_events(struct hvis_vmbus_synic *sc);
bool hvis_vmbus_answer(u32 type, u32 key, u32 relid, const void *msg,
		       u32 len);
void hvis_vmbus_on_open_result(const void *msg, u32 len);
void hvis_vmbus_on_gpadl_created(const void *msg, u32 len);
void hvis_vmbus_on_gpadl_torndown(const void *msg, u32 len);

/* ic.c */
int hvis_ic_init(void);
void hvis_ic_exit(void);

/* vmbus_drv.c */
int hvis_vmbus_device_add(struct hvis_vmbus_channel *ch);
void hvis_vmbus_device_remove(struct hvis_vmbus_channel *ch);

#endif /* HVIS_VMBUS_PRIV_H */
