/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host side of the five integration components (heartbeat, shutdown,
 * time sync, KVP, VSS) as VSPs on the VMBus server's device interface.
 * Pure logic: no threads, no sockets, no clocks of its own. The process
 * around it (hvis-vspd) serialises every call with the server's calls
 * (same lock or same event loop), passes the monotonic time to
 * ic_host_tick() and reads the host's wall clock and the guest's
 * reference time through struct ic_host_ops. See
 * docs/integration-components.md for versions, flows and timeouts.
 *
 * For every IC the host is the requester: on channel open it sends
 * NEGOTIATE, then requests (TRANSACTION | REQUEST) that the guest echoes
 * back with TRANSACTION | RESPONSE, the same packet trans_id and IC
 * transaction id, and a status. One transaction is outstanding per IC at
 * a time; KVP and VSS requests queue behind it.
 *
 * Trust: every guest byte is hostile. Replies are copied out of the ring,
 * every length and field is checked; a malformed or unexpected packet is
 * logged and dropped (the outstanding transaction keeps waiting for a
 * good answer or its timeout), never crashes and never blocks another IC.
 */
#ifndef HVIS_VSP_IC_H
#define HVIS_VSP_IC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvis/guid.h>
#include <hvis/ic.h>
#include "host-vsp/vmbus/server.h"

struct ic_host;
struct ic_dev;

enum ic_kind {
	IC_HEARTBEAT,
	IC_SHUTDOWN,
	IC_TIMESYNC,
	IC_KVP,
	IC_VSS,
	IC_KIND_COUNT
};

#define IC_NSEC_PER_SEC			1000000000ull
/* Defaults for struct ic_options (0 there = these). */
#define IC_DEF_HEARTBEAT_PERIOD		(2 * IC_NSEC_PER_SEC)
#define IC_DEF_TIMESYNC_PERIOD		(5 * IC_NSEC_PER_SEC)
#define IC_DEF_REQUEST_TIMEOUT		(60 * IC_NSEC_PER_SEC)
#define IC_DEF_NEGOTIATE_TIMEOUT	(60 * IC_NSEC_PER_SEC)
/* The guest kernel gives its VSS daemon 15 min to freeze; wait a bit longer
 * so the guest's own failure answer arrives first.
 */
#define IC_DEF_VSS_FREEZE_TIMEOUT	(16 * 60 * IC_NSEC_PER_SEC)
/* How soon tick wants to run again while a send waits for ring space. */
#define IC_RETRY_NS			(250 * 1000000ull)
/* Requests waiting behind the outstanding one (KVP, VSS). */
#define IC_QUEUE_MAX			64u
/* Entries kept per KVP pool from one enumeration. */
#define IC_KVP_ENUM_MAX			1024u
/* UTF-8 buffer sizes that hold any wire key / value (3 bytes per UTF-16
 * unit, 4 per surrogate pair, plus NUL).
 */
#define IC_KVP_KEY_UTF8_MAX		(HVIS_KVP_MAX_KEY_SIZE / 2 * 3 + 1)
#define IC_KVP_VALUE_UTF8_MAX		(HVIS_KVP_MAX_VALUE_SIZE / 2 * 3 + 1)
/* Shutdown display message: UTF-16LE, NUL included. */
#define IC_SHUTDOWN_MSG_MAX		2048u

enum ic_state {
	IC_STATE_CLOSED,	/* channel not open */
	IC_STATE_NEGOTIATING,	/* NEGOTIATE sent, no usable answer yet */
	IC_STATE_READY,		/* versions agreed: requests flow */
	IC_STATE_FAILED,	/* no common version or broken ring, until reopen */
};

/* How a request ended. */
enum ic_result {
	IC_RESULT_OK,		/* guest status 0 (S_OK) */
	IC_RESULT_FAILED,	/* guest answered with a failure status */
	IC_RESULT_TIMEOUT,	/* no answer before the deadline */
	IC_RESULT_CLOSED,	/* channel closed or IC destroyed first */
	IC_RESULT_BAD_REPLY,	/* matching answer whose content was malformed */
	IC_RESULT_UNSUPPORTED,	/* negotiated version cannot do it */
};

enum ic_event {
	IC_EV_READY,		/* negotiation done (versions in ic_dev_info) */
	IC_EV_FAILED,		/* negotiation failed / ring broken */
	IC_EV_CLOSED,		/* channel closed */
	IC_EV_NEGOTIATE_OVERDUE,/* no NEGOTIATE answer yet (KVP/VSS daemon?) */
	IC_EV_HEARTBEAT_HEALTHY,/* heartbeat answered again */
	IC_EV_HEARTBEAT_LOST,	/* heartbeat not answered in time */
};

struct ic_host_ops {
	void *opaque;
	/*
	 * Time sync: the host's CLOCK_REALTIME in ns since 1970 and the
	 * guest's partition reference time (100 ns units, what the guest's
	 * Hyper-V clocksource reads) taken together. Required for timesync;
	 * without it the IC sends nothing after NEGOTIATE.
	 */
	void (*time_now)(void *opaque, uint64_t *unix_ns, uint64_t *ref_time);
	/* Optional: random bytes for instance GUIDs (default getrandom). */
	int (*random)(void *opaque, void *buf, size_t len);
	/* Optional: one line, no newline. The caller rate-limits. */
	void (*log)(void *opaque, enum vmbus_log_level level, const char *msg);
	/* Optional: state changes worth telling a supervisor about. */
	void (*notify)(void *opaque, struct ic_dev *ic, enum ic_event ev);
};

/* 0 in any field = the default. Times are nanoseconds. */
struct ic_options {
	uint64_t heartbeat_period;	/* IC_DEF_HEARTBEAT_PERIOD */
	uint64_t timesync_period;	/* IC_DEF_TIMESYNC_PERIOD */
	uint64_t request_timeout;	/* shutdown, KVP, VSS but FREEZE */
	uint64_t negotiate_timeout;	/* then "overdue"; it keeps waiting */
	uint64_t vss_freeze_timeout;	/* IC_DEF_VSS_FREEZE_TIMEOUT */
	bool vss_no_auto_thaw;		/* default: THAW after a failed FREEZE */
	uint8_t timesync_stratum;	/* v4 stratum field (0 = unspecified) */
};

/* ------------------------------------------------------------ host */

struct ic_host *ic_host_create(const struct ic_host_ops *ops,
			       const struct ic_options *opt);
/*
 * Register one IC with @srv: its class GUID, @instance (NULL = a fresh
 * random GUID), offered as a named pipe in message mode as Hyper-V and
 * OpenVMM offer ICs. NULL if out of memory or the server refused.
 */
struct ic_dev *ic_register(struct ic_host *h, struct vmbus_server *srv,
			   enum ic_kind kind, const struct hvis_guid *instance);
/* ic_host_create + ic_register of all five, in enum order. NULL on failure
 * (nothing left registered).
 */
struct ic_host *ic_register_all(struct vmbus_server *srv,
				const struct ic_host_ops *ops,
				const struct ic_options *opt);
/*
 * Pending requests complete with IC_RESULT_CLOSED; devices still known to
 * a server are rescinded (and freed when the server releases them). No
 * ops callback runs after this returns. Safe before or after
 * vmbus_server_destroy().
 */
void ic_host_destroy(struct ic_host *h);
/*
 * Advance time to @now (monotonic ns, never decreasing): read packets
 * left in the rings, expire transactions, send what is due (heartbeats,
 * time samples, queued requests). Returns the monotonic time by which
 * tick wants to run again (UINT64_MAX: nothing scheduled). Requests made
 * between ticks use the time of the last tick for their deadlines.
 */
uint64_t ic_host_tick(struct ic_host *h, uint64_t now);
struct ic_dev *ic_host_dev(struct ic_host *h, enum ic_kind kind);

/* ------------------------------------------------------------ any IC */

struct ic_dev_stats {
	uint64_t tx;		/* requests sent */
	uint64_t rx;		/* answers taken */
	uint64_t dropped;	/* malformed / unexpected guest packets */
	uint64_t stale;		/* answers to transactions already given up */
	uint64_t timeouts;
	uint64_t send_errors;	/* ring full or broken */
};

struct ic_dev_info {
	enum ic_kind kind;
	enum ic_state state;
	uint32_t relid;			/* 0 = not offered */
	struct hvis_ic_version framework;	/* valid when READY */
	struct hvis_ic_version message;
	bool negotiate_overdue;
	bool busy;			/* a transaction is outstanding */
	unsigned int queued;		/* requests waiting (KVP, VSS) */
	struct ic_dev_stats st;
};

void ic_dev_info(const struct ic_dev *ic, struct ic_dev_info *out);
enum ic_kind ic_dev_kind(const struct ic_dev *ic);
enum ic_state ic_dev_state(const struct ic_dev *ic);
struct vmbus_device *ic_dev_vmbus(const struct ic_dev *ic);
const char *ic_kind_name(enum ic_kind kind);
const char *ic_state_name(enum ic_state state);
const char *ic_result_name(enum ic_result result);
/* The versions offered for @kind, newest first (framework: IC_KIND_COUNT). */
unsigned int ic_versions(enum ic_kind kind,
			 const struct hvis_ic_version **versions);

/* ------------------------------------------------------------ heartbeat */

enum ic_hb_health {
	IC_HB_UNKNOWN,		/* no answer since the channel opened */
	IC_HB_HEALTHY,		/* the last heartbeat was answered */
	IC_HB_NO_REPLY,		/* the last heartbeat went unanswered */
};

struct ic_heartbeat_status {
	enum ic_hb_health health;
	bool acked_any;
	uint64_t last_seq_acked;	/* the sequence number we sent */
	uint64_t last_reply_at;		/* monotonic ns, 0 = never */
	uint64_t sent, acked, missed;
	uint32_t missed_in_row;
};
int ic_heartbeat_status(const struct ic_dev *ic,
			struct ic_heartbeat_status *st);

/* ------------------------------------------------------------ shutdown */

typedef void (*ic_shutdown_cb)(void *ctx, struct ic_dev *ic,
			       enum ic_result result, uint32_t status);

struct ic_shutdown_params {
	uint32_t reason_code;		/* 0 = HVIS_SHUTDOWN_REASON_PLANNED */
	uint32_t timeout_seconds;
	const char *message;		/* UTF-8 or NULL; sent as UTF-16LE */
	ic_shutdown_cb done;		/* optional */
	void *ctx;
};

/*
 * Ask the guest to power off (flags 0), reboot (HVIS_SHUTDOWN_FLAG_REBOOT)
 * or hibernate (HVIS_SHUTDOWN_FLAG_HIBERNATE), | HVIS_SHUTDOWN_FLAG_FORCE.
 * @p may be NULL. 0 = sent; -EINVAL bad flags or message; -ENOTSUP the
 * negotiated version lacks the operation (reboot needs 3.1, hibernate
 * 3.2); -EAGAIN still negotiating; -ENOTCONN not open / failed; -EBUSY a
 * shutdown is outstanding; -ENOSPC ring full (try again).
 */
int ic_shutdown_request(struct ic_dev *ic, uint32_t flags,
			const struct ic_shutdown_params *p);

struct ic_shutdown_status {
	bool in_progress;
	bool have_result;		/* the fields below describe the last one */
	uint32_t flags;
	enum ic_result result;
	uint32_t status;		/* the guest's HRESULT */
	uint64_t sent_at, done_at;
};
int ic_shutdown_status(const struct ic_dev *ic, struct ic_shutdown_status *st);

/* ------------------------------------------------------------ time sync */

/*
 * The host clock was stepped: send a SYNC (the guest steps its clock) as
 * soon as the IC is ready. 0, or -ENOTCONN when the channel is not open.
 */
int ic_timesync_step(struct ic_dev *ic);

struct ic_timesync_status {
	bool v4;			/* negotiated 4.0: reference-time format */
	uint64_t syncs, samples, replies, missed;
	uint64_t last_sent_at;		/* monotonic ns */
	uint64_t last_parent_time;	/* 100 ns since 1601 */
	uint64_t last_ref_time;		/* v4 vmreferencetime */
	uint8_t last_flags;		/* HVIS_TIMESYNC_FLAG_* */
};
int ic_timesync_status(const struct ic_dev *ic, struct ic_timesync_status *st);

/* ------------------------------------------------------------ KVP */

struct ic_kvp_result {
	enum hvis_kvp_op op;
	uint8_t pool;
	enum ic_result result;
	uint32_t status;		/* the guest's HRESULT */
	uint32_t index;			/* ENUMERATE */
	/* GET / ENUMERATE (single index) on success: UTF-8, else NULL;
	 * valid during the callback only.
	 */
	const char *key;
	const char *value;
	uint32_t value_type;		/* HVIS_KVP_REG_*: REG_U32/U64 as decimal */
	unsigned int entries;		/* ic_kvp_enumerate: entries collected */
};
typedef void (*ic_kvp_cb)(void *ctx, struct ic_dev *ic,
			  const struct ic_kvp_result *r);

/*
 * Queue a KVP request (strings are UTF-8, converted to UTF-16LE now).
 * 0 = queued (@cb, if any, runs exactly once: on the answer, a timeout,
 * close or destroy); -EINVAL bad pool or string (invalid UTF-8, embedded
 * NUL, empty key); -E2BIG key > 255 or value > 1023 UTF-16 units;
 * -ENOTCONN channel not open or failed; -EBUSY queue full.
 * Requests may be queued while negotiating (Linux answers KVP's NEGOTIATE
 * only once its daemon runs).
 */
int ic_kvp_get(struct ic_dev *ic, uint8_t pool, const char *key,
	       ic_kvp_cb cb, void *ctx);
int ic_kvp_set(struct ic_dev *ic, uint8_t pool, const char *key,
	       const char *value, ic_kvp_cb cb, void *ctx);
/* value_type HVIS_KVP_REG_U32 or HVIS_KVP_REG_U64. */
int ic_kvp_set_int(struct ic_dev *ic, uint8_t pool, const char *key,
		   uint32_t value_type, uint64_t value, ic_kvp_cb cb, void *ctx);
int ic_kvp_delete(struct ic_dev *ic, uint8_t pool, const char *key,
		  ic_kvp_cb cb, void *ctx);
/* One ENUMERATE: the pair at @index (status HVIS_KVP_S_CONT = none). */
int ic_kvp_enumerate_index(struct ic_dev *ic, uint8_t pool, uint32_t index,
			   ic_kvp_cb cb, void *ctx);
/*
 * Enumerate a whole pool (index 0, 1, ... until the guest answers a
 * failure status, S_CONT being the normal end, or IC_KVP_ENUM_MAX) and,
 * if that ended normally, replace the pool's cached entries. @cb gets
 * result OK with `entries` when the walk ended with S_CONT.
 */
int ic_kvp_enumerate(struct ic_dev *ic, uint8_t pool, ic_kvp_cb cb, void *ctx);

/* The cache of the last completed enumeration of each pool. */
unsigned int ic_kvp_pool_count(const struct ic_dev *ic, uint8_t pool);
int ic_kvp_pool_entry(const struct ic_dev *ic, uint8_t pool, unsigned int i,
		      const char **key, const char **value);
const char *ic_kvp_pool_lookup(const struct ic_dev *ic, uint8_t pool,
			       const char *key);
uint64_t ic_kvp_pool_updated_at(const struct ic_dev *ic, uint8_t pool);

/*
 * UTF-8 <-> UTF-16LE. Invalid input is rejected: overlong forms,
 * surrogate code points, > U+10FFFF, truncated sequences, unpaired
 * surrogates, and NUL inside the UTF-8 input.
 * ic_utf8_to_utf16le: @len bytes of @s to @out (@out_size bytes), NUL
 * terminated; returns the bytes written including the 2-byte NUL,
 * -EINVAL or -E2BIG.
 * ic_utf16le_to_utf8: up to @in_bytes (even) or the first NUL unit;
 * writes a NUL-terminated string; returns its length without the NUL,
 * -EINVAL or -E2BIG.
 */
int ic_utf8_to_utf16le(const char *s, size_t len, uint8_t *out,
		       size_t out_size);
int ic_utf16le_to_utf8(const uint8_t *in, size_t in_bytes, char *out,
		       size_t out_size);

/* ------------------------------------------------------------ VSS */

enum ic_vss_state {
	IC_VSS_IDLE,		/* thawed as far as the host knows */
	IC_VSS_FREEZING,	/* freeze cycle under way */
	IC_VSS_FROZEN,		/* FREEZE succeeded, no THAW yet */
	IC_VSS_THAWING,		/* THAW outstanding */
};

struct ic_vss_result {
	/* the step that ended it: HOT_BACKUP, GET_DM_INFO, FREEZE, THAW */
	enum hvis_vss_op op;
	enum ic_result result;
	uint32_t status;	/* the guest's HRESULT */
	uint32_t hbu_flags;	/* HOT_BACKUP answer (Linux: NO_AUTO_RECOVERY) */
	uint32_t dm_flags;	/* GET_DM_INFO answer */
	bool auto_thaw;		/* a THAW was queued after a failed FREEZE */
};
typedef void (*ic_vss_cb)(void *ctx, struct ic_dev *ic,
			  const struct ic_vss_result *r);

/*
 * Freeze cycle: HOT_BACKUP (is the guest's VSS daemon there?), GET_DM_INFO,
 * FREEZE with @timeout (ns, 0 = the option's default); @cb once at the
 * end. A failed or timed-out FREEZE queues a THAW (unless
 * vss_no_auto_thaw): Linux's daemon thaws everything on any error, and a
 * late freeze must not leave file systems frozen.
 * 0 = queued; -EBUSY a freeze is under way or the guest is frozen;
 * -ENOTCONN not open; -ENOTSUP negotiated below 5.0.
 */
int ic_vss_freeze(struct ic_dev *ic, uint64_t timeout, ic_vss_cb cb, void *ctx);
/* THAW (allowed in any state: a failsafe). */
int ic_vss_thaw(struct ic_dev *ic, ic_vss_cb cb, void *ctx);

struct ic_vss_status {
	enum ic_vss_state state;
	bool have_result;		/* last_* describe the last freeze/thaw */
	enum hvis_vss_op last_op;
	enum ic_result last_result;
	uint32_t last_status;
	uint32_t hbu_flags, dm_flags;
	uint64_t frozen_at;		/* monotonic ns of the last good FREEZE */
	uint64_t freezes, thaws, failures, timeouts;
};
int ic_vss_status(const struct ic_dev *ic, struct ic_vss_status *st);

#endif /* HVIS_VSP_IC_H */
