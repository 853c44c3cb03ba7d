// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shutdown IC: one SHUTDOWN request at a time; the guest answers S_OK
 * (and then powers off, reboots or hibernates) or E_FAIL. Linux 6.1
 * (hv_util.c) does it in the kernel: flags 0/1 power off, 2/3 reboot,
 * 4/5 hibernate if supported, anything else E_FAIL. Reboot arrived with
 * message version 3.1 and hibernation with 3.2, so they are refused when
 * an older version was negotiated (the guest would answer E_FAIL).
 */
#include <errno.h>
#include <string.h>

#include "host-vsp/ic/ic_int.h"

static const struct hvis_ic_version sd_versions[] = {
	{ 3, 2 }, { 3, 1 }, { 3, 0 }, { 1, 0 },
};

static void sd_finish(struct ic_dev *ic, enum ic_result result,
		      uint32_t status)
{
	struct ic_sd_priv *sd = &ic->u.sd;
	ic_shutdown_cb done = sd->done;
	void *ctx = sd->ctx;

	sd->st.in_progress = false;
	sd->st.have_result = true;
	sd->st.result = result;
	sd->st.status = status;
	sd->st.done_at = ic_now(ic);
	sd->done = NULL;
	sd->ctx = NULL;
	ic_log(ic, result == IC_RESULT_OK ? VMBUS_LOG_INFO : VMBUS_LOG_WARN,
	       "shutdown request (flags %#x): %s, status %#x", sd->st.flags,
	       ic_result_name(result), status);
	if (done)
		done(ctx, ic, result, status);
}

int ic_shutdown_request(struct ic_dev *ic, uint32_t flags,
			const struct ic_shutdown_params *p)
{
	struct ic_sd_priv *sd;
	struct hvis_ic_shutdown m;
	int rc;

	if (!ic || ic->kind != IC_SHUTDOWN || ic->orphan)
		return -EINVAL;
	sd = &ic->u.sd;
	if (flags & ~(HVIS_SHUTDOWN_FLAG_FORCE | HVIS_SHUTDOWN_FLAG_REBOOT |
		      HVIS_SHUTDOWN_FLAG_HIBERNATE))
		return -EINVAL;
	if ((flags & HVIS_SHUTDOWN_FLAG_REBOOT) &&
	    (flags & HVIS_SHUTDOWN_FLAG_HIBERNATE))
		return -EINVAL;
	if (ic->state == IC_STATE_NEGOTIATING)
		return -EAGAIN;
	if (ic->state != IC_STATE_READY)
		return -ENOTCONN;
	if (sd->st.in_progress)
		return -EBUSY;
	if ((flags & HVIS_SHUTDOWN_FLAG_REBOOT) && !ic_version_at_least(ic, 3, 1))
		return -ENOTSUP;
	if ((flags & HVIS_SHUTDOWN_FLAG_HIBERNATE) &&
	    !ic_version_at_least(ic, 3, 2))
		return -ENOTSUP;

	memset(&m, 0, sizeof(m));
	m.sd_reason_code = p && p->reason_code ? p->reason_code :
			   HVIS_SHUTDOWN_REASON_PLANNED;
	m.sd_timeout_seconds = p ? p->timeout_seconds : 0;
	m.sd_flags = flags;
	if (p && p->message && p->message[0]) {
		rc = ic_utf8_to_utf16le(p->message, strlen(p->message),
					m.sd_display_message,
					sizeof(m.sd_display_message));
		if (rc < 0)
			return -EINVAL;
	}
	memcpy(ic->tx, &m, sizeof(m));
	if (ic->out.active)		/* nothing else uses this channel */
		ic_abandon(ic);
	rc = ic_send_request(ic, HVIS_ICMSG_SHUTDOWN, sizeof(m),
			     ic->host->opt.request_timeout, flags);
	if (rc)
		return rc == -ENOSPC ? -ENOSPC : -ENOTCONN;
	sd->st.in_progress = true;
	sd->st.flags = flags;
	sd->st.sent_at = ic_now(ic);
	sd->done = p ? p->done : NULL;
	sd->ctx = p ? p->ctx : NULL;
	ic_log(ic, VMBUS_LOG_INFO, "shutdown requested (flags %#x)", flags);
	return 0;
}

static enum ic_rx sd_reply(struct ic_dev *ic, const struct ic_txn *txn,
			   const struct hvis_ic_hdr *hdr, const uint8_t *body,
			   uint32_t len)
{
	(void)txn;
	(void)body;
	(void)len;
	if (!ic->u.sd.st.in_progress) {
		ic_drop(ic, "shutdown answer without a request");
		return IC_RX_DROP;
	}
	sd_finish(ic, hdr->ih_status == HVIS_IC_S_OK ? IC_RESULT_OK :
		  IC_RESULT_FAILED, hdr->ih_status);
	return IC_RX_TAKEN;
}

static void sd_timeout(struct ic_dev *ic, const struct ic_txn *txn)
{
	(void)txn;
	if (ic->u.sd.st.in_progress)
		sd_finish(ic, IC_RESULT_TIMEOUT, 0);
}

static void sd_ready(struct ic_dev *ic)
{
	(void)ic;
}

static uint64_t sd_tick(struct ic_dev *ic)
{
	(void)ic;
	return UINT64_MAX;
}

static void sd_closed(struct ic_dev *ic)
{
	if (ic->u.sd.st.in_progress)
		sd_finish(ic, IC_RESULT_CLOSED, 0);
}

int ic_shutdown_status(const struct ic_dev *ic, struct ic_shutdown_status *st)
{
	if (!ic || ic->kind != IC_SHUTDOWN || !st)
		return -EINVAL;
	*st = ic->u.sd.st;
	return 0;
}

const struct ic_kind_ops ic_shutdown_ops = {
	.name = "shutdown",
	.msgtype = HVIS_ICMSG_SHUTDOWN,
	.class_id = HVIS_GUID_SHUTDOWN,
	.versions = sd_versions,
	.nversions = sizeof(sd_versions) / sizeof(sd_versions[0]),
	.guest_max_pkt = 4096,
	.ready = sd_ready,
	.reply = sd_reply,
	.timeout = sd_timeout,
	.tick = sd_tick,
	.closed = sd_closed,
};
