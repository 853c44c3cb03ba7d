// SPDX-License-Identifier: GPL-2.0-only
/*
 * Heartbeat IC: a HEARTBEAT request every heartbeat_period (2 s, as
 * Hyper-V sends them); the guest answers with seq_num + 1 (Linux does it
 * in the kernel, hv_util.c). An answer missing when the next heartbeat is
 * due marks the guest "no reply" until one is answered again.
 */
#include <errno.h>
#include <string.h>

#include "host-vsp/ic/ic_int.h"

static const struct hvis_ic_version hb_versions[] = {
	{ 3, 0 }, { 1, 0 },
};

static void hb_send(struct ic_dev *ic)
{
	struct ic_hb_priv *hb = &ic->u.hb;
	struct hvis_ic_heartbeat m;
	uint64_t period = ic->host->opt.heartbeat_period;

	hb->next_send = ic_after(ic, period);
	if (ic->out.active)		/* cannot happen: timed out first */
		ic_abandon(ic);
	memset(&m, 0, sizeof(m));
	m.hb_seq_num = hb->next_seq;
	memcpy(ic->tx, &m, sizeof(m));
	if (ic_send_request(ic, HVIS_ICMSG_HEARTBEAT, sizeof(m), period,
			    hb->next_seq) == 0) {
		hb->st.sent++;
		hb->next_seq++;
	}
}

static void hb_ready(struct ic_dev *ic)
{
	hb_send(ic);
}

static uint64_t hb_tick(struct ic_dev *ic)
{
	struct ic_hb_priv *hb = &ic->u.hb;

	if (ic_now(ic) >= hb->next_send)
		hb_send(ic);
	return hb->next_send;
}

static void hb_set_health(struct ic_dev *ic, enum ic_hb_health health)
{
	struct ic_hb_priv *hb = &ic->u.hb;

	if (hb->st.health == health)
		return;
	hb->st.health = health;
	if (health == IC_HB_HEALTHY) {
		ic_log(ic, VMBUS_LOG_INFO, "guest answers heartbeats");
		ic_notify(ic, IC_EV_HEARTBEAT_HEALTHY);
	} else {
		ic_log(ic, VMBUS_LOG_WARN, "guest stopped answering heartbeats");
		ic_notify(ic, IC_EV_HEARTBEAT_LOST);
	}
}

static void hb_missed(struct ic_dev *ic)
{
	struct ic_hb_priv *hb = &ic->u.hb;

	hb->st.missed++;
	hb->st.missed_in_row++;
	hb_set_health(ic, IC_HB_NO_REPLY);
}

static enum ic_rx hb_reply(struct ic_dev *ic, const struct ic_txn *txn,
			   const struct hvis_ic_hdr *hdr, const uint8_t *body,
			   uint32_t len)
{
	struct ic_hb_priv *hb = &ic->u.hb;
	uint64_t seq;

	/* Linux checks only seq_num: the reserved words are optional. */
	if (len < sizeof(seq)) {
		ic_drop(ic, "heartbeat answer without a sequence number");
		return IC_RX_DROP;
	}
	memcpy(&seq, body, sizeof(seq));
	if (seq != txn->tag + 1) {
		ic_drop(ic, "heartbeat answer with the wrong sequence number");
		return IC_RX_DROP;
	}
	if (hdr->ih_status != HVIS_IC_S_OK) {
		ic_log(ic, VMBUS_LOG_WARN, "heartbeat answered with status %#x",
		       hdr->ih_status);
		hb_missed(ic);
		return IC_RX_TAKEN;
	}
	hb->st.acked++;
	hb->st.acked_any = true;
	hb->st.last_seq_acked = txn->tag;
	hb->st.last_reply_at = ic_now(ic);
	hb->st.missed_in_row = 0;
	hb_set_health(ic, IC_HB_HEALTHY);
	return IC_RX_TAKEN;
}

static void hb_timeout(struct ic_dev *ic, const struct ic_txn *txn)
{
	(void)txn;
	hb_missed(ic);
}

static void hb_closed(struct ic_dev *ic)
{
	struct ic_hb_priv *hb = &ic->u.hb;

	hb->st.health = IC_HB_UNKNOWN;
	hb->st.missed_in_row = 0;
	hb->next_send = 0;
}

static int hb_init(struct ic_dev *ic)
{
	ic->u.hb.next_seq = 1;
	return 0;
}

int ic_heartbeat_status(const struct ic_dev *ic,
			struct ic_heartbeat_status *st)
{
	if (!ic || ic->kind != IC_HEARTBEAT || !st)
		return -EINVAL;
	*st = ic->u.hb.st;
	return 0;
}

const struct ic_kind_ops ic_heartbeat_ops = {
	.name = "heartbeat",
	.msgtype = HVIS_ICMSG_HEARTBEAT,
	.class_id = HVIS_GUID_HEARTBEAT,
	.versions = hb_versions,
	.nversions = sizeof(hb_versions) / sizeof(hb_versions[0]),
	.guest_max_pkt = 4096,
	.init = hb_init,
	.ready = hb_ready,
	.reply = hb_reply,
	.timeout = hb_timeout,
	.tick = hb_tick,
	.closed = hb_closed,
};
