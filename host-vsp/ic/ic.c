// SPDX-License-Identifier: GPL-2.0-only
/*
 * Integration components: the framework shared by the five ICs. Device
 * registration with the VMBus server, NEGOTIATE, the transaction (one
 * outstanding per IC, matched on the packet trans_id, the IC transaction
 * id and the message type), the checks every guest packet passes before
 * an IC sees it, timeouts and the tick.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "host-vsp/ic/ic_int.h"

static const struct hvis_ic_version fw_versions[] = {
	{ 3, 0 }, { 1, 0 },
};

static const struct ic_kind_ops *const kind_ops[IC_KIND_COUNT] = {
	[IC_HEARTBEAT] = &ic_heartbeat_ops,
	[IC_SHUTDOWN] = &ic_shutdown_ops,
	[IC_TIMESYNC] = &ic_timesync_ops,
	[IC_KVP] = &ic_kvp_ops,
	[IC_VSS] = &ic_vss_ops,
};

/* ------------------------------------------------------------ helpers */

const char *ic_kind_name(enum ic_kind kind)
{
	static const char *const names[IC_KIND_COUNT] = {
		"heartbeat", "shutdown", "timesync", "kvp", "vss",
	};

	return (unsigned int)kind < IC_KIND_COUNT ? names[kind] : "?";
}

const char *ic_state_name(enum ic_state state)
{
	switch (state) {
	case IC_STATE_CLOSED:
		return "closed";
	case IC_STATE_NEGOTIATING:
		return "negotiating";
	case IC_STATE_READY:
		return "ready";
	case IC_STATE_FAILED:
		return "failed";
	}
	return "?";
}

const char *ic_result_name(enum ic_result result)
{
	switch (result) {
	case IC_RESULT_OK:
		return "ok";
	case IC_RESULT_FAILED:
		return "failed";
	case IC_RESULT_TIMEOUT:
		return "timeout";
	case IC_RESULT_CLOSED:
		return "closed";
	case IC_RESULT_BAD_REPLY:
		return "bad reply";
	case IC_RESULT_UNSUPPORTED:
		return "unsupported";
	}
	return "?";
}

unsigned int ic_versions(enum ic_kind kind,
			 const struct hvis_ic_version **versions)
{
	if ((unsigned int)kind < IC_KIND_COUNT) {
		*versions = kind_ops[kind]->versions;
		return kind_ops[kind]->nversions;
	}
	*versions = fw_versions;
	return sizeof(fw_versions) / sizeof(fw_versions[0]);
}

void ic_log(const struct ic_dev *ic, enum vmbus_log_level level,
	    const char *fmt, ...)
{
	const struct ic_host *h = ic->host;
	char line[256];
	int n;
	va_list ap;

	if (ic->orphan || !h || !h->ops.log)
		return;
	n = snprintf(line, sizeof(line), "ic %s: ", ic_kind_name(ic->kind));
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	h->ops.log(h->ops.opaque, level, line);
}

void ic_notify(struct ic_dev *ic, enum ic_event ev)
{
	if (!ic->orphan && ic->host->ops.notify)
		ic->host->ops.notify(ic->host->ops.opaque, ic, ev);
}

uint64_t ic_after(const struct ic_dev *ic, uint64_t delta)
{
	uint64_t now = ic_now(ic);

	return delta > UINT64_MAX - now ? UINT64_MAX : now + delta;
}

bool ic_version_at_least(const struct ic_dev *ic, uint16_t major,
			 uint16_t minor)
{
	return ic->msg.iv_major > major ||
	       (ic->msg.iv_major == major && ic->msg.iv_minor >= minor);
}

void ic_drop(struct ic_dev *ic, const char *why)
{
	ic->st.dropped++;
	ic_log(ic, VMBUS_LOG_WARN, "guest packet dropped: %s", why);
}

void ic_abandon(struct ic_dev *ic)
{
	ic->out.active = false;
}

void ic_fail(struct ic_dev *ic, const char *why)
{
	if (ic->state == IC_STATE_FAILED || ic->state == IC_STATE_CLOSED)
		return;
	ic->state = IC_STATE_FAILED;
	ic->out.active = false;
	ic->negotiate_pending = false;
	ic->want_space = false;
	ic_log(ic, VMBUS_LOG_WARN, "failed: %s", why);
	ic_notify(ic, IC_EV_FAILED);
	ic->kops->closed(ic);
}

/* ------------------------------------------------------------ sending */

static bool can_send(const struct ic_dev *ic)
{
	if (ic->orphan)
		return false;
	if (ic->state != IC_STATE_NEGOTIATING && ic->state != IC_STATE_READY)
		return false;
	return ic->xmit || ic->vdev;
}

static int xmit(struct ic_dev *ic, const struct hvis_pkt_desc *desc,
		const struct hvis_iov *iov, unsigned int iovcnt)
{
	if (ic->xmit)
		return ic->xmit(ic->xmit_opaque, desc, iov, iovcnt);
	return vmbus_device_send(ic->vdev, desc, 0, iov, iovcnt);
}

int ic_send_request(struct ic_dev *ic, uint16_t msgtype, uint32_t len,
		    uint64_t timeout, uint64_t tag)
{
	struct hvis_pipe_hdr ph;
	struct hvis_ic_hdr ih;
	struct hvis_pkt_desc desc;
	struct hvis_iov iov[3];
	uint32_t pkt_bytes;
	int rc;

	if (!can_send(ic) || len > IC_TX_BODY_MAX || len > 0xFFFFu)
		return -EIO;
	/* The guest's driver copies at most guest_max_pkt bytes of a packet
	 * (descriptor + padded payload): longer ones arrive truncated.
	 */
	pkt_bytes = (uint32_t)sizeof(desc) +
		    (((uint32_t)HVIS_IC_HDRS_SIZE + len + 7u) & ~7u);
	if (pkt_bytes > ic->kops->guest_max_pkt) {
		ic_log(ic, VMBUS_LOG_ERROR, "message of %u bytes too big", len);
		return -EIO;
	}

	memset(&ph, 0, sizeof(ph));
	ph.ph_flags = HVIS_PIPE_DATA;
	ph.ph_msgsize = (uint32_t)sizeof(ih) + len;
	memset(&ih, 0, sizeof(ih));
	ih.ih_framework = ic->fw;
	ih.ih_msgtype = msgtype;
	ih.ih_msgversion = ic->msg;
	ih.ih_msgsize = (uint16_t)len;
	ih.ih_status = HVIS_IC_S_OK;
	ih.ih_transaction_id = (uint8_t)ic->next_trans_id;
	ih.ih_flags = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_REQUEST;

	memset(&desc, 0, sizeof(desc));
	desc.pd_type = HVIS_PKT_DATA_INBAND;
	desc.pd_flags = HVIS_PKT_FLAG_COMPLETION_REQUESTED;
	desc.pd_trans_id = ic->next_trans_id;

	iov[0].base = &ph;
	iov[0].len = sizeof(ph);
	iov[1].base = &ih;
	iov[1].len = sizeof(ih);
	iov[2].base = ic->tx;
	iov[2].len = len;
	rc = xmit(ic, &desc, iov, len ? 3 : 2);
	if (rc == -HVIS_RING_FULL) {
		ic->st.send_errors++;
		if (!ic->want_space) {
			struct hvis_ring *r = ic->vdev && !ic->xmit ?
				vmbus_device_out_ring(ic->vdev) : NULL;

			/* the guest signals when it has read enough */
			if (r)
				hvis_ring_request_space(r, pkt_bytes);
			ic_log(ic, VMBUS_LOG_INFO,
			       "ring to the guest full, will retry");
		}
		ic->want_space = true;
		return -ENOSPC;
	}
	if (rc) {
		ic->st.send_errors++;
		ic_log(ic, VMBUS_LOG_ERROR, "send failed: %s",
		       hvis_ring_strerror(rc));
		ic_fail(ic, "ring to the guest unusable");
		return -EIO;
	}
	ic->want_space = false;
	ic->st.tx++;
	ic->out.active = true;
	ic->out.trans_id = ic->next_trans_id;
	ic->out.tid = ih.ih_transaction_id;
	ic->out.msgtype = msgtype;
	ic->out.sent_at = ic_now(ic);
	ic->out.deadline = timeout ? ic_after(ic, timeout) : UINT64_MAX;
	ic->out.tag = tag;
	ic->next_trans_id++;
	return 0;
}

/* ------------------------------------------------------------ negotiate */

static void send_negotiate(struct ic_dev *ic)
{
	struct hvis_ic_negotiate n;
	const struct ic_kind_ops *k = ic->kops;
	uint32_t nfw = sizeof(fw_versions) / sizeof(fw_versions[0]);
	uint32_t len = (uint32_t)sizeof(n) +
		       (nfw + k->nversions) * (uint32_t)sizeof(fw_versions[0]);
	int rc;

	memset(&n, 0, sizeof(n));
	n.in_framework_count = (uint16_t)nfw;
	n.in_message_count = (uint16_t)k->nversions;
	memcpy(ic->tx, &n, sizeof(n));
	memcpy(ic->tx + sizeof(n), fw_versions, sizeof(fw_versions));
	memcpy(ic->tx + sizeof(n) + sizeof(fw_versions), k->versions,
	       k->nversions * sizeof(k->versions[0]));
	/* Header versions stay 0 until agreed, as OpenVMM sends them. */
	memset(&ic->fw, 0, sizeof(ic->fw));
	memset(&ic->msg, 0, sizeof(ic->msg));
	rc = ic_send_request(ic, HVIS_ICMSG_NEGOTIATE, len,
			     ic->host->opt.negotiate_timeout, 0);
	ic->negotiate_pending = rc == -ENOSPC;
}

static bool offered(const struct hvis_ic_version *list, unsigned int n,
		    struct hvis_ic_version v)
{
	for (unsigned int i = 0; i < n; i++)
		if (list[i].iv_major == v.iv_major &&
		    list[i].iv_minor == v.iv_minor)
			return true;
	return false;
}

static enum ic_rx negotiate_reply(struct ic_dev *ic, const uint8_t *body,
				  uint32_t len)
{
	struct hvis_ic_negotiate n;
	struct hvis_ic_version v[2];

	if (len < sizeof(n)) {
		ic_drop(ic, "NEGOTIATE answer too short");
		return IC_RX_DROP;
	}
	memcpy(&n, body, sizeof(n));
	if (!n.in_framework_count || !n.in_message_count) {
		/* Linux's answer when nothing matched: counts 0 and 0. */
		ic->st.rx++;
		ic_fail(ic, "guest supports none of the offered versions");
		return IC_RX_TAKEN;
	}
	if (n.in_framework_count != 1 || n.in_message_count != 1) {
		ic_drop(ic, "NEGOTIATE answer with more than one choice");
		return IC_RX_DROP;
	}
	if (len < sizeof(n) + sizeof(v)) {
		ic_drop(ic, "NEGOTIATE answer without versions");
		return IC_RX_DROP;
	}
	memcpy(v, body + sizeof(n), sizeof(v));
	if (!offered(fw_versions, sizeof(fw_versions) / sizeof(fw_versions[0]),
		     v[0]) ||
	    !offered(ic->kops->versions, ic->kops->nversions, v[1])) {
		ic_drop(ic, "NEGOTIATE answer chose a version never offered");
		return IC_RX_DROP;
	}
	ic->st.rx++;
	ic->fw = v[0];
	ic->msg = v[1];
	ic->state = IC_STATE_READY;
	ic->negotiate_overdue = false;
	ic_log(ic, VMBUS_LOG_INFO, "framework %u.%u, message version %u.%u",
	       v[0].iv_major, v[0].iv_minor, v[1].iv_major, v[1].iv_minor);
	ic_notify(ic, IC_EV_READY);
	ic->kops->ready(ic);
	return IC_RX_TAKEN;
}

/* ------------------------------------------------------------ receiving */

void ic_handle_packet(struct ic_dev *ic, const struct hvis_pkt_desc *desc,
		      const uint8_t *payload, uint32_t len)
{
	struct hvis_pipe_hdr ph;
	struct hvis_ic_hdr ih;
	struct ic_txn txn;
	enum ic_rx rx;
	const uint32_t hdrs = (uint32_t)HVIS_IC_HDRS_SIZE;

	if (ic->orphan)
		return;
	if (ic->state != IC_STATE_NEGOTIATING && ic->state != IC_STATE_READY) {
		ic_drop(ic, "packet while not negotiating or ready");
		return;
	}
	if (desc->pd_type != HVIS_PKT_DATA_INBAND) {
		ic_drop(ic, "not an in-band data packet");
		return;
	}
	if (len < hdrs) {
		ic_drop(ic, "shorter than the pipe and IC headers");
		return;
	}
	memcpy(&ph, payload, sizeof(ph));
	memcpy(&ih, payload + sizeof(ph), sizeof(ih));
	if (ph.ph_flags != HVIS_PIPE_DATA) {
		ic_drop(ic, "pipe header is not a data packet");
		return;
	}
	if (ph.ph_msgsize < sizeof(ih) || ph.ph_msgsize > len - sizeof(ph)) {
		ic_drop(ic, "pipe message size outside the packet");
		return;
	}
	if (ih.ih_msgsize > ph.ph_msgsize - sizeof(ih)) {
		ic_drop(ic, "IC message size beyond the pipe message");
		return;
	}
	if ((ih.ih_flags & (HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE)) !=
	    (HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE)) {
		ic_drop(ic, "not a transaction response (guest request?)");
		return;
	}
	if (!ic->out.active || desc->pd_trans_id != ic->out.trans_id ||
	    ih.ih_transaction_id != ic->out.tid) {
		if (desc->pd_trans_id && desc->pd_trans_id < ic->next_trans_id &&
		    ih.ih_transaction_id == (uint8_t)desc->pd_trans_id) {
			ic->st.stale++;
			ic_log(ic, VMBUS_LOG_DEBUG,
			       "late answer to transaction %llu ignored",
			       (unsigned long long)desc->pd_trans_id);
			return;
		}
		ic_drop(ic, "answer to no outstanding transaction");
		return;
	}
	if (ih.ih_msgtype != ic->out.msgtype) {
		ic_drop(ic, "answer of another message type");
		return;
	}

	txn = ic->out;
	ic->out.active = false;
	if (txn.msgtype == HVIS_ICMSG_NEGOTIATE) {
		rx = negotiate_reply(ic, payload + hdrs, ih.ih_msgsize);
	} else {
		rx = ic->kops->reply(ic, &txn, &ih, payload + hdrs,
				     ih.ih_msgsize);
		if (rx == IC_RX_TAKEN)
			ic->st.rx++;
	}
	/* Dropped: the transaction keeps waiting (the IC sent nothing). */
	if (rx == IC_RX_DROP && !ic->out.active && can_send(ic))
		ic->out = txn;
}

/* Read what the guest wrote, at most IC_RX_BUDGET packets. */
static void drain(struct ic_dev *ic)
{
	struct hvis_ring *r;
	struct hvis_ring_pkt pkt;
	unsigned int n = 0;
	int rc;

	if (!ic->vdev || ic->xmit || ic->orphan)
		return;
	r = vmbus_device_in_ring(ic->vdev);
	if (!r)
		return;
again:
	while (n < IC_RX_BUDGET && ic->vdev &&
	       (ic->state == IC_STATE_NEGOTIATING ||
		ic->state == IC_STATE_READY)) {
		uint32_t plen;

		rc = hvis_ring_peek(r, &pkt);
		if (rc == -HVIS_RING_EMPTY)
			break;
		if (rc) {
			ic_log(ic, VMBUS_LOG_WARN, "ring from the guest: %s",
			       hvis_ring_strerror(rc));
			ic_fail(ic, "ring from the guest broken");
			return;
		}
		plen = pkt.len - pkt.data_off;
		if (plen > IC_RX_MAX) {
			ic_drop(ic, "packet larger than any IC message");
			rc = hvis_ring_consume(r, &pkt);
		} else {
			rc = hvis_ring_copy_out(r, &pkt, pkt.data_off, ic->rx,
						plen);
			if (!rc)
				rc = hvis_ring_consume(r, &pkt);
			if (!rc)
				ic_handle_packet(ic, &pkt.desc, ic->rx, plen);
		}
		if (rc)
			break;
		n++;
	}
	if (ic->vdev && vmbus_device_in_ring(ic->vdev)) {
		vmbus_device_recv_done(ic->vdev);
		/*
		 * A packet the guest wrote before the read index went out
		 * found the ring not empty and sent no signal: look again.
		 */
		r = vmbus_device_in_ring(ic->vdev);
		if (n && n < IC_RX_BUDGET && r && !ic->xmit && !ic->orphan &&
		    (ic->state == IC_STATE_NEGOTIATING || ic->state == IC_STATE_READY) &&
		    hvis_ring_bytes_to_read(r) > 0)
			goto again;
	}
}

/* ------------------------------------------------------------ servicing */

/* Expire, retry, periodic work. Returns the next due time. */
static uint64_t service(struct ic_dev *ic)
{
	uint64_t now = ic_now(ic), next = UINT64_MAX, t;

	if (ic->orphan)
		return UINT64_MAX;
	if (ic->out.active && now >= ic->out.deadline) {
		struct ic_txn txn = ic->out;

		ic->st.timeouts++;
		if (txn.msgtype == HVIS_ICMSG_NEGOTIATE) {
			/* Keep waiting: Linux answers KVP's NEGOTIATE only
			 * once its daemon registered.
			 */
			ic->out.deadline = UINT64_MAX;
			ic->negotiate_overdue = true;
			ic_log(ic, VMBUS_LOG_WARN,
			       "no answer to NEGOTIATE yet (guest service not running?)");
			ic_notify(ic, IC_EV_NEGOTIATE_OVERDUE);
		} else {
			ic->out.active = false;
			ic_log(ic, VMBUS_LOG_INFO,
			       "transaction %llu timed out",
			       (unsigned long long)txn.trans_id);
			ic->kops->timeout(ic, &txn);
		}
	}
	if (ic->state == IC_STATE_NEGOTIATING && ic->negotiate_pending)
		send_negotiate(ic);
	if (ic->state == IC_STATE_READY) {
		t = ic->kops->tick(ic);
		if (t < next)
			next = t;
	}
	if (ic->out.active && ic->out.deadline < next)
		next = ic->out.deadline;
	if ((ic->want_space || ic->negotiate_pending) &&
	    (ic->state == IC_STATE_NEGOTIATING || ic->state == IC_STATE_READY)) {
		t = ic_after(ic, IC_RETRY_NS);
		if (t < next)
			next = t;
	}
	return next;
}

static void dev_open(struct ic_dev *ic)
{
	ic->state = IC_STATE_NEGOTIATING;
	ic->out.active = false;
	ic->negotiate_overdue = false;
	ic->want_space = false;
	send_negotiate(ic);
}

static void dev_close(struct ic_dev *ic)
{
	enum ic_state was = ic->state;

	if (was == IC_STATE_CLOSED)
		return;
	ic->state = IC_STATE_CLOSED;
	ic->out.active = false;
	ic->negotiate_pending = false;
	ic->want_space = false;
	ic->kops->closed(ic);
	if (!ic->orphan) {
		ic_log(ic, VMBUS_LOG_INFO, "channel closed");
		ic_notify(ic, IC_EV_CLOSED);
	}
}

/* ------------------------------------------------------------ lifetime */

static struct ic_dev *dev_alloc(struct ic_host *h, enum ic_kind kind)
{
	struct ic_dev *ic;

	if (!h || (unsigned int)kind >= IC_KIND_COUNT || h->dev[kind])
		return NULL;
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return NULL;
	ic->host = h;
	ic->kind = kind;
	ic->kops = kind_ops[kind];
	ic->next_trans_id = 1;
	ic->rx = malloc(IC_RX_MAX);
	ic->tx = calloc(1, IC_TX_BODY_MAX);
	if (!ic->rx || !ic->tx || (ic->kops->init && ic->kops->init(ic))) {
		free(ic->rx);
		free(ic->tx);
		free(ic);
		return NULL;
	}
	h->dev[kind] = ic;
	h->ndevs++;
	return ic;
}

static void dev_free(struct ic_dev *ic)
{
	struct ic_host *h = ic->host;

	if (ic->kops->fini)
		ic->kops->fini(ic);
	if (h->dev[ic->kind] == ic)
		h->dev[ic->kind] = NULL;
	free(ic->rx);
	free(ic->tx);
	free(ic);
	if (--h->ndevs == 0 && h->dying)
		free(h);
}

static int d_open(struct vmbus_device *dev, void *opaque,
		  const struct vmbus_open_info *info)
{
	struct ic_dev *ic = opaque;

	(void)dev;
	if (ic->orphan)
		return -ENODEV;
	ic_log(ic, VMBUS_LOG_DEBUG, "channel open (relid %u, rings %u/%u)",
	       info->relid, info->in_ring_bytes, info->out_ring_bytes);
	dev_open(ic);
	return 0;
}

static void d_close(struct vmbus_device *dev, void *opaque)
{
	(void)dev;
	dev_close(opaque);
}

static void d_packet_in(struct vmbus_device *dev, void *opaque)
{
	struct ic_dev *ic = opaque;

	(void)dev;
	if (ic->orphan)
		return;
	drain(ic);
	/* replies may have unblocked queued requests; space may be free */
	service(ic);
}

static void d_rescinded(struct vmbus_device *dev, void *opaque)
{
	struct ic_dev *ic = opaque;

	(void)dev;
	dev_close(ic);
	ic->vdev = NULL;
	if (ic->orphan)
		dev_free(ic);
}

static const struct vmbus_device_ops ic_vmbus_ops = {
	.open = d_open,
	.close = d_close,
	.packet_in = d_packet_in,
	.rescinded = d_rescinded,
};

struct ic_host *ic_host_create(const struct ic_host_ops *ops,
			       const struct ic_options *opt)
{
	struct ic_host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (ops)
		h->ops = *ops;
	if (opt)
		h->opt = *opt;
	if (!h->opt.heartbeat_period)
		h->opt.heartbeat_period = IC_DEF_HEARTBEAT_PERIOD;
	if (!h->opt.timesync_period)
		h->opt.timesync_period = IC_DEF_TIMESYNC_PERIOD;
	if (!h->opt.request_timeout)
		h->opt.request_timeout = IC_DEF_REQUEST_TIMEOUT;
	if (!h->opt.negotiate_timeout)
		h->opt.negotiate_timeout = IC_DEF_NEGOTIATE_TIMEOUT;
	if (!h->opt.vss_freeze_timeout)
		h->opt.vss_freeze_timeout = IC_DEF_VSS_FREEZE_TIMEOUT;
	return h;
}

static int random_guid(struct ic_host *h, struct hvis_guid *g)
{
	int rc;

	if (h->ops.random) {
		rc = h->ops.random(h->ops.opaque, g->g_bytes, sizeof(g->g_bytes));
	} else {
		ssize_t n = getrandom(g->g_bytes, sizeof(g->g_bytes), 0);

		rc = n == (ssize_t)sizeof(g->g_bytes) ? 0 : -EIO;
	}
	if (rc)
		return rc;
	/* RFC 4122 version 4 in the Windows byte order: the version nibble
	 * is the top of the little-endian third field (byte 7).
	 */
	g->g_bytes[7] = (uint8_t)((g->g_bytes[7] & 0x0F) | 0x40);
	g->g_bytes[8] = (uint8_t)((g->g_bytes[8] & 0x3F) | 0x80);
	return 0;
}

struct ic_dev *ic_register(struct ic_host *h, struct vmbus_server *srv,
			   enum ic_kind kind, const struct hvis_guid *instance)
{
	struct hvis_guid inst;
	struct ic_dev *ic;

	if (!h || !srv || h->dying)
		return NULL;
	if (instance)
		inst = *instance;
	else if (random_guid(h, &inst))
		return NULL;
	ic = dev_alloc(h, kind);
	if (!ic)
		return NULL;
	ic->vdev = vmbus_server_add_device(srv, &ic->kops->class_id, &inst,
					   HVIS_OFFER_FLAG_NAMED_PIPE_MODE,
					   HVIS_PIPE_MODE_MESSAGE,
					   &ic_vmbus_ops, ic);
	if (!ic->vdev) {
		dev_free(ic);
		return NULL;
	}
	return ic;
}

struct ic_host *ic_register_all(struct vmbus_server *srv,
				const struct ic_host_ops *ops,
				const struct ic_options *opt)
{
	struct ic_host *h = ic_host_create(ops, opt);

	if (!h)
		return NULL;
	for (unsigned int k = 0; k < IC_KIND_COUNT; k++) {
		if (!ic_register(h, srv, (enum ic_kind)k, NULL)) {
			ic_host_destroy(h);
			return NULL;
		}
	}
	return h;
}

void ic_host_destroy(struct ic_host *h)
{
	if (!h)
		return;
	h->dying = true;
	if (!h->ndevs) {
		free(h);
		return;
	}
	/* ndevs cannot reach 0 (and free h) before the loop ends: keep one */
	h->ndevs++;
	for (unsigned int k = 0; k < IC_KIND_COUNT; k++) {
		struct ic_dev *ic = h->dev[k];

		if (!ic)
			continue;
		h->dev[k] = NULL;
		dev_close(ic);		/* pending requests: CLOSED */
		ic->orphan = true;
		if (ic->vdev && !ic->xmit)
			vmbus_server_rescind(ic->vdev);	/* frees on release */
		else
			dev_free(ic);
	}
	if (--h->ndevs == 0)
		free(h);
}

uint64_t ic_host_tick(struct ic_host *h, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (!h)
		return next;
	if (now > h->now)
		h->now = now;
	for (unsigned int k = 0; k < IC_KIND_COUNT; k++) {
		struct ic_dev *ic = h->dev[k];
		uint64_t t;

		if (!ic)
			continue;
		drain(ic);
		t = service(ic);
		if (t < next)
			next = t;
	}
	return next;
}

struct ic_dev *ic_host_dev(struct ic_host *h, enum ic_kind kind)
{
	return h && (unsigned int)kind < IC_KIND_COUNT ? h->dev[kind] : NULL;
}

/* ------------------------------------------------------------ info */

void ic_dev_info(const struct ic_dev *ic, struct ic_dev_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!ic)
		return;
	out->kind = ic->kind;
	out->state = ic->state;
	out->relid = ic->vdev && !ic->xmit ? vmbus_device_relid(ic->vdev) : 0;
	if (ic->state == IC_STATE_READY) {
		out->framework = ic->fw;
		out->message = ic->msg;
	}
	out->negotiate_overdue = ic->negotiate_overdue;
	out->busy = ic->out.active;
	out->queued = ic->kops->queued ? ic->kops->queued(ic) : 0;
	out->st = ic->st;
}

enum ic_kind ic_dev_kind(const struct ic_dev *ic)
{
	return ic->kind;
}

enum ic_state ic_dev_state(const struct ic_dev *ic)
{
	return ic ? ic->state : IC_STATE_CLOSED;
}

struct vmbus_device *ic_dev_vmbus(const struct ic_dev *ic)
{
	return ic && !ic->xmit ? ic->vdev : NULL;
}

/* ------------------------------------------------------------ test hooks */

struct ic_dev *ic_dev_create_detached(struct ic_host *h, enum ic_kind kind,
				      ic_xmit_fn fn, void *opaque)
{
	struct ic_dev *ic;

	if (!fn)
		return NULL;
	ic = dev_alloc(h, kind);
	if (ic) {
		ic->xmit = fn;
		ic->xmit_opaque = opaque;
	}
	return ic;
}

void ic_dev_destroy_detached(struct ic_dev *ic)
{
	if (!ic)
		return;
	dev_close(ic);
	dev_free(ic);
}

void ic_dev_sim_open(struct ic_dev *ic)
{
	dev_open(ic);
}

void ic_dev_sim_close(struct ic_dev *ic)
{
	dev_close(ic);
}
