/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VMBus server of hvis-vspd: the host side of VMBus channel
 * management (version negotiation, offers, GPADLs, open/close, rescind,
 * unload) as pure logic. Everything it does to the outside world goes
 * through struct vmbus_server_ops (post a message to the guest, set an
 * event flag, map guest pages, log), so it is unit-tested and fuzzed
 * without a VM. Each synthetic device (VSP) is a small module behind
 * struct vmbus_device_ops. See docs/vmbus-server.md for the states, the
 * message table and what is validated.
 *
 * Threads: none of its own. The caller serialises every call into one
 * server (one lock or one event loop), device callbacks included: a
 * device callback may call back into the server (send on its ring,
 * rescind itself, add a sub-channel) but must not take that lock again.
 *
 * Trust: every guest byte is hostile. Messages are copied before they are
 * parsed; relids, GPADL handles, PFN counts, ring offsets and VP indices
 * are checked; a malformed message is answered as Hyper-V would (a
 * failure status) or ignored with a log line, never crashes and never
 * blocks another channel.
 */
#ifndef HVIS_VSP_VMBUS_SERVER_H
#define HVIS_VSP_VMBUS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvis/vmbus.h>
#include "ring.h"		/* lib/ring.h: struct hvis_ring, hvis_iov */

/* Relids 1..255: 0 is the event flag VMBus reserves; pre-2.4 guests scan
 * 256 interrupt-page bits.
 */
#define VMBUS_SERVER_MAX_CHANNELS	255u
/* The connection id a guest signals a channel on (1.1+): base | relid. */
#define VMBUS_SERVER_CONNID_BASE	0x2000u
/* Guest messages are refused (INSUFFICIENT_BUFFERS) while this many
 * host->guest messages wait for a free SynIC slot.
 */
#define VMBUS_SERVER_BACKLOG_MAX	64u
/* Hard cap on the backlog; beyond it host messages are dropped (logged). */
#define VMBUS_SERVER_BACKLOG_HARD	4096u
/* OPENCHANNEL target_vp meaning "never interrupt me" (poll mode). */
#define VMBUS_VP_NONE			0xFFFFFFFFu
/* Status in GPADL_CREATED / OPENCHANNEL_RESULT / MODIFYCHANNEL_RESPONSE
 * on failure (NTSTATUS STATUS_UNSUCCESSFUL; Linux only tests != 0).
 */
#define VMBUS_STATUS_UNSUCCESSFUL	0xC0000001u
/* Defaults for struct vmbus_server_options. */
#define VMBUS_SERVER_DEF_MAX_GPADLS	1024u
#define VMBUS_SERVER_DEF_MAX_PAGES	(1u << 20)	/* 4 GiB of views */

struct vmbus_server;
struct vmbus_device;

enum vmbus_log_level {
	VMBUS_LOG_DEBUG,
	VMBUS_LOG_INFO,
	VMBUS_LOG_WARN,		/* guest misbehaviour: message ignored/failed */
	VMBUS_LOG_ERROR,	/* host-side failure */
};

/* What the process around the server provides (hvis-vspd). */
struct vmbus_server_ops {
	void *opaque;
	/*
	 * Post a channel message (SynIC message type 1) of @len bytes to
	 * @sint on @vp. 0 = delivered or queued by the hypervisor;
	 * -EAGAIN = the slot and its queue are busy, the server keeps the
	 * message and retries in vmbus_server_flush(); any other negative
	 * value drops the message (logged).
	 */
	int (*post_message)(void *opaque, uint32_t vp, uint32_t sint,
			    const void *msg, uint32_t len);
	/* Set event flag @flag of @sint on @vp, interrupting on 0 -> 1. */
	int (*signal_guest)(void *opaque, uint32_t vp, uint32_t sint,
			    uint32_t flag);
	/*
	 * Map @count guest pages (@pfns, 4 KiB frames) as one contiguous,
	 * writable host view of @count * 4096 bytes in *@view. 0, or a
	 * negative errno if any PFN lies outside guest memory.
	 */
	int (*map_pages)(void *opaque, const uint64_t *pfns, uint32_t count,
			 void **view);
	void (*unmap_pages)(void *opaque, void *view, uint32_t count);
	/*
	 * Optional. A channel connection id the guest may signal with
	 * HvSignalEvent became live (@enable) or dead: route it to
	 * vmbus_server_signal(). Called on open/close; connection 2 (the
	 * pre-2.4 shared event connection) on connect/disconnect.
	 */
	void (*event_port)(void *opaque, uint32_t connection_id, bool enable);
	/* Optional: one line, no newline. The caller rate-limits. */
	void (*log)(void *opaque, enum vmbus_log_level level, const char *msg);
};

struct vmbus_server_options {
	uint32_t nvps;			/* guest VPs (>= 1) */
	uint32_t max_version;		/* newest version offered; 0 = 5.3 */
	uint32_t msg_conn_id;		/* VERSION_RESPONSE (5.0+); 0 = 1 */
	uint32_t max_gpadls;		/* 0 = VMBUS_SERVER_DEF_MAX_GPADLS */
	uint32_t max_gpadl_pages;	/* all GPADLs; 0 = ..._DEF_MAX_PAGES */
};

/* Connection states (the guest's "connecting" is ours "disconnected"
 * until INITIATE_CONTACT, which is answered at once).
 */
enum vmbus_conn_state {
	VMBUS_CONN_DISCONNECTED,	/* no version agreed */
	VMBUS_CONN_CONNECTED,		/* version agreed, offers not asked */
	VMBUS_CONN_OFFERED,		/* REQUESTOFFERS answered: channels live */
};

/* Channel (= registered device) states. */
enum vmbus_chan_state {
	VMBUS_CHAN_IDLE,	/* registered, no relid: not (or no longer) offered */
	VMBUS_CHAN_OFFERED,	/* relid assigned, closed */
	VMBUS_CHAN_OPEN,	/* rings attached, device open */
	VMBUS_CHAN_RESCINDED,	/* host rescinded; waits for RELID_RELEASED */
};

enum vmbus_gpadl_state {
	VMBUS_GPADL_NONE,	/* no such handle */
	VMBUS_GPADL_PENDING,	/* header seen, bodies missing */
	VMBUS_GPADL_READY,	/* GPADL_CREATED sent, mapped */
	VMBUS_GPADL_TEARDOWN,	/* teardown asked, still in use */
};

struct vmbus_server_stats {
	uint64_t msgs_in;		/* guest messages handled */
	uint64_t msgs_ignored;		/* malformed / out of state */
	uint64_t msgs_refused;		/* not accepted (bad conn id, busy) */
	uint64_t msgs_out;		/* posted to the guest */
	uint64_t msgs_dropped;		/* host messages lost */
	uint64_t signals_in, signals_out;
};

struct vmbus_server *vmbus_server_create(const struct vmbus_server_options *opt,
					 const struct vmbus_server_ops *ops);
/* Closes every open channel (device close), releases every device
 * (device rescinded) and unmaps every GPADL. Posts nothing.
 */
void vmbus_server_destroy(struct vmbus_server *srv);

/*
 * One guest HvPostMessage payload (message type 1) that arrived on
 * @connection_id from @vp. Returns the HV status for the hypercall:
 *  HVIS_STATUS_SUCCESS: taken (also when it was malformed and ignored:
 *	Hyper-V's hypervisor does not look inside either);
 *  HVIS_STATUS_INVALID_CONNECTION_ID: not 1, 4 or the msg_conn_id, or
 *	4 while the maximum version is below 5.0 (Linux then retries
 *	INITIATE_CONTACT with an older version on connection 1);
 *  HVIS_STATUS_INSUFFICIENT_BUFFERS: the host->guest backlog is full
 *	(the guest is not draining its SINT); Linux retries;
 *  HVIS_STATUS_INVALID_PARAMETER: @len above 240.
 * INITIATE_CONTACT and UNLOAD are never refused as busy: they drop the
 * backlog of the connection they end.
 */
uint16_t vmbus_server_handle_message(struct vmbus_server *srv, uint32_t vp,
				     uint32_t connection_id, const void *msg,
				     size_t len);

/*
 * The guest's HvSignalEvent on @connection_id: a channel's id dispatches
 * to its device's packet_in; connection 2 (pre-2.4) scans the interrupt
 * page. HVIS_STATUS_SUCCESS, or HVIS_STATUS_INVALID_CONNECTION_ID when no
 * open channel owns the id.
 */
uint16_t vmbus_server_signal(struct vmbus_server *srv, uint32_t connection_id);

/* Retry posting the backlog (call on the guest's EOM or a 1 ms tick).
 * Returns how many messages still wait.
 */
unsigned int vmbus_server_flush(struct vmbus_server *srv);

/* Newest version for the next INITIATE_CONTACT (0 = 5.3). */
void vmbus_server_set_max_version(struct vmbus_server *srv, uint32_t version);

/* Introspection (tests, hvisctl). */
enum vmbus_conn_state vmbus_server_conn_state(const struct vmbus_server *srv);
uint32_t vmbus_server_version(const struct vmbus_server *srv); /* 0 = none */
void vmbus_server_target(const struct vmbus_server *srv, uint32_t *vp,
			 uint32_t *sint);
void vmbus_server_get_stats(const struct vmbus_server *srv,
			    struct vmbus_server_stats *st);
unsigned int vmbus_server_backlog(const struct vmbus_server *srv);
unsigned int vmbus_server_gpadl_count(const struct vmbus_server *srv);
enum vmbus_gpadl_state vmbus_server_gpadl_state(const struct vmbus_server *srv,
						uint32_t handle);
struct vmbus_device *vmbus_server_device_by_relid(struct vmbus_server *srv,
						  uint32_t relid);

/* ------------------------------------------------------------ versions */

/* The ten versions 0.13 .. 5.3, newest first, and their count. */
extern const uint32_t vmbus_versions[];
extern const unsigned int vmbus_nversions;
bool vmbus_version_known(uint32_t version);
/* "5.3" -> HVIS_VMBUS_VERSION(5, 3); 0 on success, -1 if malformed. */
int vmbus_version_parse(const char *s, uint32_t *version);

/* ------------------------------------------------------------ devices */

/* What a device learns when the guest opens its channel. */
struct vmbus_open_info {
	uint32_t relid;
	uint32_t version;		/* negotiated VMBus version */
	uint32_t target_vp;		/* or VMBUS_VP_NONE */
	uint32_t ring_gpadl;
	uint32_t in_ring_bytes;		/* guest->host data area */
	uint32_t out_ring_bytes;	/* host->guest data area */
	const uint8_t *user_data;	/* OPENCHANNEL userdata, 120 bytes */
};

/*
 * A VSP. Every callback gets the device handle and the opaque pointer
 * given at registration.
 */
struct vmbus_device_ops {
	/* Optional: the offer went out with @relid. */
	void (*offered)(struct vmbus_device *dev, void *opaque, uint32_t relid);
	/*
	 * The guest opened the channel: both rings are attached (the device
	 * may already send). 0 accepts; a negative errno answers
	 * OPENCHANNEL_RESULT with a failure and the channel stays closed.
	 */
	int (*open)(struct vmbus_device *dev, void *opaque,
		    const struct vmbus_open_info *info);
	/* The channel closed (guest CLOSECHANNEL, rescind, unload, reset,
	 * destroy). The rings and GPADL views are gone on return.
	 */
	void (*close)(struct vmbus_device *dev, void *opaque);
	/*
	 * The guest signalled the channel: packets may wait in the in-ring,
	 * or space was freed in the out-ring (pending_send_sz). Read with
	 * lib/ring.c on vmbus_device_in_ring(), then vmbus_device_recv_done().
	 */
	void (*packet_in)(struct vmbus_device *dev, void *opaque);
	/* Optional: the server no longer knows @dev (after rescind completed,
	 * or destroy). @dev is invalid on return.
	 */
	void (*rescinded)(struct vmbus_device *dev, void *opaque);
};

/* Everything OFFERCHANNEL carries that the device chooses. */
struct vmbus_offer_params {
	struct hvis_guid class_id;		/* if_type */
	struct hvis_guid instance_id;		/* if_instance */
	uint16_t chn_flags;			/* HVIS_OFFER_FLAG_* */
	uint16_t mmio_megabytes;
	uint32_t pipe_mode;	/* HVIS_PIPE_MODE_*, with NAMED_PIPE_MODE */
	uint16_t sub_channel_index;		/* 0 = primary (2.4+) */
	const uint8_t *user_defined;		/* NULL or 120 bytes */
};

/*
 * Register a device. If the guest already asked for offers, it is offered
 * at once (hot add); otherwise at the next REQUESTOFFERS. NULL if out of
 * memory or the arguments are bad (ops->open/close/packet_in required).
 */
struct vmbus_device *vmbus_server_add_device(struct vmbus_server *srv,
					     const struct hvis_guid *class_id,
					     const struct hvis_guid *instance_id,
					     uint16_t chn_flags,
					     uint32_t pipe_mode,
					     const struct vmbus_device_ops *ops,
					     void *opaque);
struct vmbus_device *vmbus_server_add_device_ex(struct vmbus_server *srv,
						const struct vmbus_offer_params *p,
						const struct vmbus_device_ops *ops,
						void *opaque);

/*
 * Remove a device (host side). Open: closed first. Offered: RESCIND goes
 * to the guest and the device is released on RELID_RELEASED (or unload).
 * Never offered: released now. "Released" = ops->rescinded, then freed.
 */
void vmbus_server_rescind(struct vmbus_device *dev);

struct vmbus_server *vmbus_device_server(const struct vmbus_device *dev);
enum vmbus_chan_state vmbus_device_state(const struct vmbus_device *dev);
uint32_t vmbus_device_relid(const struct vmbus_device *dev);	/* 0 = none */
uint32_t vmbus_device_connection_id(const struct vmbus_device *dev);
uint32_t vmbus_device_target_vp(const struct vmbus_device *dev);
/* The device's class and instance GUIDs (as offered). */
void vmbus_device_ids(const struct vmbus_device *dev, struct hvis_guid *class_id,
		      struct hvis_guid *instance_id);

/* The rings while open (NULL otherwise): in = guest->host (we read),
 * out = host->guest (we write).
 */
struct hvis_ring *vmbus_device_in_ring(struct vmbus_device *dev);
struct hvis_ring *vmbus_device_out_ring(struct vmbus_device *dev);
/*
 * The guest pages of the channel's ring GPADL while open (-ENOENT
 * otherwise): a device that takes guest page numbers in its packets
 * (storage, network) refuses data buffers that overlap its own rings.
 */
int vmbus_device_ring_pfns(const struct vmbus_device *dev,
			   const uint64_t **pfns, uint32_t *count);

/*
 * hvis_ring_send on the out-ring, then signal the guest if the ring logic
 * says it is idle and unmasked. 0 or a negative hvis_ring_status
 * (-HVIS_RING_INVAL when the channel is not open).
 */
int vmbus_device_send(struct vmbus_device *dev, const struct hvis_pkt_desc *desc,
		      uint32_t hdr_len, const struct hvis_iov *iov,
		      unsigned int iovcnt);
/* hvis_ring_commit on the in-ring after consuming packets, then signal
 * the guest if it waits for that space (pending_send_sz).
 */
int vmbus_device_recv_done(struct vmbus_device *dev);
/* Signal the guest for this channel unconditionally. */
void vmbus_device_signal(struct vmbus_device *dev);

/*
 * Borrow another GPADL of this channel (e.g. a receive buffer): its host
 * view and size in bytes. 0, or -ENOENT (unknown, not ready, other
 * channel, being torn down). Borrowed views end with the channel's close:
 * the server drops every borrow when the channel closes.
 */
int vmbus_device_gpadl_get(struct vmbus_device *dev, uint32_t handle,
			   void **view, uint32_t *bytes);
void vmbus_device_gpadl_put(struct vmbus_device *dev, uint32_t handle);

#endif /* HVIS_VSP_VMBUS_SERVER_H */
