// SPDX-License-Identifier: GPL-2.0-only
/*
 * Time sync IC: a SYNC once the versions are agreed and after every host
 * clock step (ic_timesync_step), a SAMPLE every timesync_period (5 s, as
 * OpenVMM does). Message version 4.0 carries the host time with the
 * guest's reference time read at the same moment (Linux adds the delta to
 * its own reference counter and feeds its "hyperv" PTP clock); 3.0 and
 * 1.0 carry the host time alone. Times are 100 ns units since 1601. Linux
 * steps its clock only on SYNC and echoes every message back.
 */
#include <errno.h>
#include <string.h>

#include "host-vsp/ic/ic_int.h"

static const struct hvis_ic_version ts_versions[] = {
	{ 4, 0 }, { 3, 0 }, { 1, 0 },
};

static int ts_send(struct ic_dev *ic, uint8_t flags)
{
	struct ic_ts_priv *ts = &ic->u.ts;
	uint64_t unix_ns = 0, ref = 0, parent;
	uint32_t len;
	int rc;

	if (!ic->host->ops.time_now)
		return -ENOTSUP;
	/* A SYNC supersedes an unanswered message: its answer goes stale. */
	if (ic->out.active)
		ic_abandon(ic);
	ic->host->ops.time_now(ic->host->ops.opaque, &unix_ns, &ref);
	parent = unix_ns / 100 + HVIS_WINDOWS_EPOCH_DELTA;
	if (ts->st.v4) {
		struct hvis_ic_timesync4 m;

		memset(&m, 0, sizeof(m));
		m.t4_parent_time = parent;
		m.t4_vm_reference_time = ref;
		m.t4_flags = flags;
		m.t4_stratum = ic->host->opt.timesync_stratum;
		memcpy(ic->tx, &m, sizeof(m));
		len = sizeof(m);
	} else {
		struct hvis_ic_timesync m;

		memset(&m, 0, sizeof(m));
		m.ts_parent_time = parent;
		m.ts_flags = flags;
		memcpy(ic->tx, &m, sizeof(m));
		len = sizeof(m);
		ref = 0;
	}
	rc = ic_send_request(ic, HVIS_ICMSG_TIMESYNC, len,
			     ic->host->opt.timesync_period, flags);
	if (rc)
		return rc;
	if (flags == HVIS_TIMESYNC_FLAG_SYNC)
		ts->st.syncs++;
	else
		ts->st.samples++;
	ts->st.last_sent_at = ic_now(ic);
	ts->st.last_parent_time = parent;
	ts->st.last_ref_time = ref;
	ts->st.last_flags = flags;
	return 0;
}

static void ts_sync(struct ic_dev *ic)
{
	struct ic_ts_priv *ts = &ic->u.ts;

	ts->sync_pending = true;
	if (ts_send(ic, HVIS_TIMESYNC_FLAG_SYNC) == 0) {
		ts->sync_pending = false;
		ts->next_sample = ic_after(ic, ic->host->opt.timesync_period);
		ic_log(ic, VMBUS_LOG_DEBUG, "SYNC sent");
	}
}

static void ts_ready(struct ic_dev *ic)
{
	struct ic_ts_priv *ts = &ic->u.ts;

	ts->st.v4 = ic_version_at_least(ic, 4, 0);
	if (!ic->host->ops.time_now)
		ic_log(ic, VMBUS_LOG_WARN, "no host clock: nothing to send");
	ts_sync(ic);
}

static uint64_t ts_tick(struct ic_dev *ic)
{
	struct ic_ts_priv *ts = &ic->u.ts;

	if (!ic->host->ops.time_now)
		return UINT64_MAX;
	if (ts->sync_pending) {
		ts_sync(ic);
		if (ts->sync_pending)
			return ic_after(ic, IC_RETRY_NS);
	} else if (ic_now(ic) >= ts->next_sample) {
		ts->next_sample = ic_after(ic, ic->host->opt.timesync_period);
		ts_send(ic, HVIS_TIMESYNC_FLAG_SAMPLE);
	}
	return ts->next_sample;
}

static enum ic_rx ts_reply(struct ic_dev *ic, const struct ic_txn *txn,
			   const struct hvis_ic_hdr *hdr, const uint8_t *body,
			   uint32_t len)
{
	(void)txn;
	(void)body;
	(void)len;
	ic->u.ts.st.replies++;
	if (hdr->ih_status != HVIS_IC_S_OK)
		ic_log(ic, VMBUS_LOG_INFO, "time message answered with %#x",
		       hdr->ih_status);
	return IC_RX_TAKEN;
}

static void ts_timeout(struct ic_dev *ic, const struct ic_txn *txn)
{
	(void)txn;
	ic->u.ts.st.missed++;
}

static void ts_closed(struct ic_dev *ic)
{
	ic->u.ts.sync_pending = false;
	ic->u.ts.next_sample = 0;
}

int ic_timesync_step(struct ic_dev *ic)
{
	if (!ic || ic->kind != IC_TIMESYNC || ic->orphan)
		return -EINVAL;
	if (ic->state == IC_STATE_NEGOTIATING)
		return 0;		/* READY sends a SYNC anyway */
	if (ic->state != IC_STATE_READY)
		return -ENOTCONN;
	ts_sync(ic);
	return 0;
}

int ic_timesync_status(const struct ic_dev *ic, struct ic_timesync_status *st)
{
	if (!ic || ic->kind != IC_TIMESYNC || !st)
		return -EINVAL;
	*st = ic->u.ts.st;
	return 0;
}

const struct ic_kind_ops ic_timesync_ops = {
	.name = "timesync",
	.msgtype = HVIS_ICMSG_TIMESYNC,
	.class_id = HVIS_GUID_TIMESYNC,
	.versions = ts_versions,
	.nversions = sizeof(ts_versions) / sizeof(ts_versions[0]),
	.guest_max_pkt = 4096,
	.ready = ts_ready,
	.reply = ts_reply,
	.timeout = ts_timeout,
	.tick = ts_tick,
	.closed = ts_closed,
};
