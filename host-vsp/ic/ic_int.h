/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Integration components: what the framework (ic.c) and the five ICs
 * share, plus the hooks the fuzzer and tests use to drive an IC without a
 * VMBus server. Not for hvis-vspd.
 */
#ifndef HVIS_VSP_IC_INT_H
#define HVIS_VSP_IC_INT_H

#include "host-vsp/ic/ic.h"

/* Largest guest packet payload taken (Linux's biggest IC buffer). */
#define IC_RX_MAX		16384u
/* Largest body the host sends (the KVP message). */
#define IC_TX_BODY_MAX		((uint32_t)sizeof(struct hvis_kvp_msg))
/* Packets read per packet_in / tick: a flooding guest cannot hold us. */
#define IC_RX_BUDGET		64u

/* The one outstanding transaction of an IC. */
struct ic_txn {
	bool active;
	uint64_t trans_id;		/* VMBus packet trans_id */
	uint8_t tid;			/* IC header transaction id */
	uint16_t msgtype;
	uint64_t sent_at;
	uint64_t deadline;		/* UINT64_MAX: none */
	uint64_t tag;			/* IC-specific (heartbeat seq, ...) */
};

/* What the framework does with an answer an IC looked at. */
enum ic_rx {
	IC_RX_TAKEN,			/* transaction done */
	IC_RX_DROP,			/* malformed: keep waiting */
};

struct ic_kind_ops {
	const char *name;
	uint16_t msgtype;
	struct hvis_guid class_id;
	const struct hvis_ic_version *versions;
	unsigned int nversions;
	/* Largest packet (descriptor + payload) the guest's driver copies. */
	uint32_t guest_max_pkt;
	int (*init)(struct ic_dev *ic);		/* optional */
	void (*fini)(struct ic_dev *ic);	/* optional: free state */
	void (*ready)(struct ic_dev *ic);	/* negotiation done */
	/* A matching answer; @txn is already cleared from ic->out. */
	enum ic_rx (*reply)(struct ic_dev *ic, const struct ic_txn *txn,
			    const struct hvis_ic_hdr *hdr,
			    const uint8_t *body, uint32_t len);
	void (*timeout)(struct ic_dev *ic, const struct ic_txn *txn);
	/* Periodic work and queue pumping; returns its next due time. */
	uint64_t (*tick)(struct ic_dev *ic);
	/* Channel closed / IC destroyed: fail what is pending, reset. */
	void (*closed)(struct ic_dev *ic);
	unsigned int (*queued)(const struct ic_dev *ic);	/* optional */
};

typedef int (*ic_xmit_fn)(void *opaque, const struct hvis_pkt_desc *desc,
			  const struct hvis_iov *iov, unsigned int iovcnt);

struct ic_hb_priv {
	uint64_t next_seq;
	uint64_t next_send;
	struct ic_heartbeat_status st;
};

struct ic_sd_priv {
	ic_shutdown_cb done;
	void *ctx;
	struct ic_shutdown_status st;
};

struct ic_ts_priv {
	bool sync_pending;
	uint64_t next_sample;
	struct ic_timesync_status st;
};

struct ic_kvp_req;
struct ic_kvp_entry {
	char *key;
	char *value;
};
struct ic_kvp_pool {
	struct ic_kvp_entry *e;
	unsigned int n;
	uint64_t updated_at;
};
struct ic_kvp_priv {
	struct ic_kvp_req *head, *tail;	/* head is in flight when ic->out */
	unsigned int nq;
	struct ic_kvp_pool pools[HVIS_KVP_POOL_COUNT];
	struct ic_kvp_pool walk;	/* ic_kvp_enumerate in progress */
	char *key8, *value8;		/* decode buffers */
	uint64_t serial;
};

struct ic_vss_req;
struct ic_vss_priv {
	struct ic_vss_req *head, *tail;
	unsigned int nq;
	uint32_t hbu_flags, dm_flags;	/* of the cycle under way */
	uint64_t serial;
	enum ic_vss_state before_thaw;
	struct ic_vss_status st;
};

struct ic_dev {
	struct ic_host *host;
	enum ic_kind kind;
	const struct ic_kind_ops *kops;
	struct vmbus_device *vdev;	/* NULL once released / detached */
	ic_xmit_fn xmit;		/* NULL: vmbus_device_send */
	void *xmit_opaque;
	bool orphan;			/* host destroyed: free on release */
	bool freed_by_host;

	enum ic_state state;
	bool negotiate_pending;		/* open, NEGOTIATE not yet sent */
	bool negotiate_overdue;
	struct hvis_ic_version fw, msg;
	uint64_t next_trans_id;
	struct ic_txn out;
	bool want_space;		/* a send found the ring full */
	struct ic_dev_stats st;

	uint8_t *rx;			/* IC_RX_MAX */
	uint8_t *tx;			/* IC_TX_BODY_MAX */

	union {
		struct ic_hb_priv hb;
		struct ic_sd_priv sd;
		struct ic_ts_priv ts;
		struct ic_kvp_priv kvp;
		struct ic_vss_priv vss;
	} u;
};

struct ic_host {
	struct ic_host_ops ops;
	struct ic_options opt;		/* defaults filled in */
	uint64_t now;			/* last tick */
	struct ic_dev *dev[IC_KIND_COUNT];
	unsigned int ndevs;		/* allocated devices, orphans included */
	bool dying;
};

extern const struct ic_kind_ops ic_heartbeat_ops;
extern const struct ic_kind_ops ic_shutdown_ops;
extern const struct ic_kind_ops ic_timesync_ops;
extern const struct ic_kind_ops ic_kvp_ops;
extern const struct ic_kind_ops ic_vss_ops;

/* ---- framework services for the ICs ---- */

void ic_log(const struct ic_dev *ic, enum vmbus_log_level level,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ic_notify(struct ic_dev *ic, enum ic_event ev);
static inline uint64_t ic_now(const struct ic_dev *ic)
{
	return ic->host->now;
}
/* now + @delta, saturating. */
uint64_t ic_after(const struct ic_dev *ic, uint64_t delta);
/*
 * Send one request of @msgtype with @len body bytes from ic->tx and make it
 * the outstanding transaction (deadline now + @timeout, tag @tag).
 * 0; -ENOSPC ring full (retried by the caller; want_space set); -EIO
 * broken ring / not open.
 */
int ic_send_request(struct ic_dev *ic, uint16_t msgtype, uint32_t len,
		    uint64_t timeout, uint64_t tag);
/* Count a dropped guest packet and log why. */
void ic_drop(struct ic_dev *ic, const char *why);
bool ic_version_at_least(const struct ic_dev *ic, uint16_t major,
			 uint16_t minor);
/* Cancel the outstanding transaction (its answer becomes stale). */
void ic_abandon(struct ic_dev *ic);
/* The channel is unusable until reopened: FAILED, pending requests end
 * with IC_RESULT_CLOSED.
 */
void ic_fail(struct ic_dev *ic, const char *why);

/* ---- test and fuzz hooks ---- */

/* An IC not registered with any server: packets go to @xmit. */
struct ic_dev *ic_dev_create_detached(struct ic_host *h, enum ic_kind kind,
				      ic_xmit_fn xmit, void *opaque);
void ic_dev_destroy_detached(struct ic_dev *ic);
/* What the server's open/close callbacks do. */
void ic_dev_sim_open(struct ic_dev *ic);
void ic_dev_sim_close(struct ic_dev *ic);
/* One guest packet: @desc as peeked, @payload of @len bytes behind it. */
void ic_handle_packet(struct ic_dev *ic, const struct hvis_pkt_desc *desc,
		      const uint8_t *payload, uint32_t len);

#endif /* HVIS_VSP_IC_INT_H */
