// SPDX-License-Identifier: GPL-2.0-only
/*
 * VSS IC (message version 5.0, the only one Linux's hv_snapshot.c takes):
 * freeze / thaw of the guest's file systems around a host snapshot.
 *
 * A freeze cycle is HOT_BACKUP (Linux forwards it to hv_vss_daemon, which
 * answers S_OK with VSS_HBU_NO_AUTO_RECOVERY; no daemon: E_FAIL at once),
 * GET_DM_INFO (answered by the kernel: flags 0), then FREEZE (the daemon
 * FIFREEZEs every mount; the kernel gives it 15 minutes, then answers
 * E_FAIL). THAW ends it. Each is one transaction; Linux reads nothing
 * else meanwhile, so requests queue here. A FREEZE that fails or times
 * out is followed by a THAW unless vss_no_auto_thaw: a freeze finishing
 * late must not leave the guest frozen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host-vsp/ic/ic_int.h"

static const struct hvis_ic_version vss_versions[] = {
	{ 5, 0 },
};

#define VF_CYCLE	0x1u	/* step of a freeze cycle */
#define VF_FINAL	0x2u	/* last step: reports */
#define VF_AUTO		0x4u	/* THAW queued after a failed FREEZE */

struct ic_vss_req {
	struct ic_vss_req *next;
	uint64_t serial;
	uint64_t cycle;
	uint8_t op;
	uint8_t flags;
	uint64_t timeout;
	ic_vss_cb cb;
	void *ctx;
};

static const char *op_name(uint8_t op)
{
	switch (op) {
	case HVIS_VSS_OP_HOT_BACKUP:
		return "HOT_BACKUP";
	case HVIS_VSS_OP_GET_DM_INFO:
		return "GET_DM_INFO";
	case HVIS_VSS_OP_FREEZE:
		return "FREEZE";
	case HVIS_VSS_OP_THAW:
		return "THAW";
	}
	return "?";
}

static struct ic_vss_req *req_new(struct ic_dev *ic, uint8_t op, uint8_t flags,
				  uint64_t cycle, uint64_t timeout,
				  ic_vss_cb cb, void *ctx)
{
	struct ic_vss_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->serial = ++ic->u.vss.serial;
	r->cycle = cycle;
	r->op = op;
	r->flags = (uint8_t)flags;
	r->timeout = timeout;
	r->cb = cb;
	r->ctx = ctx;
	return r;
}

static void push_tail(struct ic_vss_priv *v, struct ic_vss_req *r)
{
	if (v->tail)
		v->tail->next = r;
	else
		v->head = r;
	v->tail = r;
	v->nq++;
}

static void push_head(struct ic_vss_priv *v, struct ic_vss_req *r)
{
	r->next = v->head;
	v->head = r;
	if (!v->tail)
		v->tail = r;
	v->nq++;
}

static struct ic_vss_req *pop_head(struct ic_vss_priv *v)
{
	struct ic_vss_req *r = v->head;

	if (r) {
		v->head = r->next;
		if (!v->head)
			v->tail = NULL;
		v->nq--;
		r->next = NULL;
	}
	return r;
}

static void vss_pump(struct ic_dev *ic)
{
	struct ic_vss_priv *v = &ic->u.vss;
	struct ic_vss_req *r = v->head;
	struct hvis_vss_msg m;

	if (ic->state != IC_STATE_READY || ic->out.active || !r)
		return;
	memset(&m, 0, sizeof(m));
	m.vm_hdr.vh_operation = r->op;
	memcpy(ic->tx, &m, sizeof(m));
	if (ic_send_request(ic, HVIS_ICMSG_VSS, sizeof(m), r->timeout,
			    r->serial))
		return;		/* retried later, or the IC failed */
	ic_log(ic, VMBUS_LOG_DEBUG, "%s sent", op_name(r->op));
	if (r->op == HVIS_VSS_OP_THAW && v->st.state != IC_VSS_THAWING) {
		v->before_thaw = v->st.state;
		v->st.state = IC_VSS_THAWING;
	}
}

/* The head request's step ended with @result. */
static void step_done(struct ic_dev *ic, enum ic_result result,
		      uint32_t status)
{
	struct ic_vss_priv *v = &ic->u.vss;
	struct ic_vss_req *r = pop_head(v);
	struct ic_vss_result res;
	bool failed = result != IC_RESULT_OK;

	if (!r)
		return;
	if ((r->flags & VF_CYCLE) && !(r->flags & VF_FINAL) && !failed) {
		free(r);
		vss_pump(ic);
		return;
	}
	/* the rest of a failed cycle is not sent */
	while ((r->flags & VF_CYCLE) && v->head && v->head->cycle == r->cycle)
		free(pop_head(v));

	memset(&res, 0, sizeof(res));
	res.op = (enum hvis_vss_op)r->op;
	res.result = result;
	res.status = status;
	res.hbu_flags = v->hbu_flags;
	res.dm_flags = v->dm_flags;
	if (r->op == HVIS_VSS_OP_THAW) {
		if (!failed) {
			v->st.state = IC_VSS_IDLE;
			v->st.thaws++;
			for (const struct ic_vss_req *q = v->head; q; q = q->next)
				if (q->flags & VF_CYCLE)
					v->st.state = IC_VSS_FREEZING;
		} else {
			v->st.state = v->before_thaw == IC_VSS_FROZEN ?
				      IC_VSS_FROZEN : IC_VSS_IDLE;
		}
	} else if (!failed) {			/* FREEZE done */
		v->st.state = IC_VSS_FROZEN;
		v->st.frozen_at = ic_now(ic);
		v->st.freezes++;
	} else {
		v->st.state = IC_VSS_IDLE;
		if (r->op == HVIS_VSS_OP_FREEZE &&
		    result != IC_RESULT_CLOSED &&
		    !ic->host->opt.vss_no_auto_thaw) {
			struct ic_vss_req *t = req_new(ic, HVIS_VSS_OP_THAW,
						       VF_FINAL | VF_AUTO, 0,
						       ic->host->opt.request_timeout,
						       NULL, NULL);

			if (t) {
				push_head(v, t);
				res.auto_thaw = true;
			}
		}
	}
	if (failed && result != IC_RESULT_CLOSED) {
		if (result == IC_RESULT_TIMEOUT)
			v->st.timeouts++;
		else
			v->st.failures++;
	}
	if (!(r->flags & VF_AUTO)) {
		v->st.have_result = true;
		v->st.last_op = res.op;
		v->st.last_result = result;
		v->st.last_status = status;
	}
	v->st.hbu_flags = v->hbu_flags;
	v->st.dm_flags = v->dm_flags;
	ic_log(ic, failed ? VMBUS_LOG_WARN : VMBUS_LOG_INFO,
	       "%s%s: %s, status %#x%s", r->flags & VF_AUTO ? "automatic " : "",
	       op_name(r->op), ic_result_name(result), status,
	       res.auto_thaw ? " (THAW queued)" : "");
	if (r->cb)
		r->cb(r->ctx, ic, &res);
	free(r);
	vss_pump(ic);
}

static enum ic_rx vss_reply(struct ic_dev *ic, const struct ic_txn *txn,
			    const struct hvis_ic_hdr *hdr, const uint8_t *body,
			    uint32_t len)
{
	struct ic_vss_priv *v = &ic->u.vss;
	struct ic_vss_req *r = v->head;
	struct hvis_vss_msg m;

	if (!r || r->serial != txn->tag) {
		ic_drop(ic, "VSS answer without a request");
		return IC_RX_DROP;
	}
	if (len < sizeof(m.vm_hdr)) {
		ic_drop(ic, "VSS answer without its header");
		return IC_RX_DROP;
	}
	memset(&m, 0, sizeof(m));
	memcpy(&m, body, len < sizeof(m) ? len : sizeof(m));
	if (m.vm_hdr.vh_operation != r->op) {
		ic_drop(ic, "VSS answer for another operation");
		return IC_RX_DROP;
	}
	if (hdr->ih_status == HVIS_IC_S_OK && len >= sizeof(m)) {
		if (r->op == HVIS_VSS_OP_HOT_BACKUP)
			v->hbu_flags = m.vm_flags;
		else if (r->op == HVIS_VSS_OP_GET_DM_INFO)
			v->dm_flags = m.vm_flags;
	}
	step_done(ic, hdr->ih_status == HVIS_IC_S_OK ? IC_RESULT_OK :
		  IC_RESULT_FAILED, hdr->ih_status);
	return IC_RX_TAKEN;
}

static void vss_timeout(struct ic_dev *ic, const struct ic_txn *txn)
{
	struct ic_vss_req *r = ic->u.vss.head;

	if (r && r->serial == txn->tag)
		step_done(ic, IC_RESULT_TIMEOUT, 0);
}

static void vss_ready(struct ic_dev *ic)
{
	vss_pump(ic);
}

static uint64_t vss_tick(struct ic_dev *ic)
{
	vss_pump(ic);
	return UINT64_MAX;
}

static void vss_closed(struct ic_dev *ic)
{
	struct ic_vss_priv *v = &ic->u.vss;

	if (v->st.state == IC_VSS_FROZEN || v->st.state == IC_VSS_THAWING ||
	    v->st.state == IC_VSS_FREEZING)
		ic_log(ic, VMBUS_LOG_WARN,
		       "channel closed with a freeze under way or not thawed");
	/* state is CLOSED / FAILED: callbacks cannot queue more */
	while (v->head)
		step_done(ic, IC_RESULT_CLOSED, 0);
	v->st.state = IC_VSS_IDLE;
}

static unsigned int vss_queued(const struct ic_dev *ic)
{
	return ic->u.vss.nq;
}

static void vss_fini(struct ic_dev *ic)
{
	struct ic_vss_priv *v = &ic->u.vss;

	while (v->head)
		free(pop_head(v));
}

static int check_open(struct ic_dev *ic)
{
	if (!ic || ic->kind != IC_VSS || ic->orphan)
		return -EINVAL;
	if (ic->state != IC_STATE_NEGOTIATING && ic->state != IC_STATE_READY)
		return -ENOTCONN;
	return 0;
}

int ic_vss_freeze(struct ic_dev *ic, uint64_t timeout, ic_vss_cb cb, void *ctx)
{
	static const uint8_t steps[3] = {
		HVIS_VSS_OP_HOT_BACKUP, HVIS_VSS_OP_GET_DM_INFO,
		HVIS_VSS_OP_FREEZE,
	};
	struct ic_vss_req *r[3];
	struct ic_vss_priv *v;
	uint64_t cycle;
	int rc = check_open(ic);

	if (rc)
		return rc;
	v = &ic->u.vss;
	if (ic->state == IC_STATE_READY && !ic_version_at_least(ic, 5, 0))
		return -ENOTSUP;
	if (v->st.state == IC_VSS_FREEZING || v->st.state == IC_VSS_FROZEN)
		return -EBUSY;
	for (const struct ic_vss_req *q = v->head; q; q = q->next)
		if (q->flags & VF_CYCLE)
			return -EBUSY;
	if (v->nq + 3 > IC_QUEUE_MAX)
		return -EBUSY;
	if (!timeout)
		timeout = ic->host->opt.vss_freeze_timeout;
	cycle = v->serial + 1;
	for (unsigned int i = 0; i < 3; i++) {
		r[i] = req_new(ic, steps[i],
			       VF_CYCLE | (i == 2 ? VF_FINAL : 0), cycle,
			       i == 2 ? timeout : ic->host->opt.request_timeout,
			       cb, ctx);
		if (!r[i]) {
			while (i--)
				free(r[i]);
			return -ENOMEM;
		}
	}
	v->hbu_flags = 0;
	v->dm_flags = 0;
	if (v->st.state != IC_VSS_THAWING)
		v->st.state = IC_VSS_FREEZING;
	for (unsigned int i = 0; i < 3; i++)
		push_tail(v, r[i]);
	vss_pump(ic);
	return 0;
}

int ic_vss_thaw(struct ic_dev *ic, ic_vss_cb cb, void *ctx)
{
	struct ic_vss_req *r;
	int rc = check_open(ic);

	if (rc)
		return rc;
	if (ic->u.vss.nq >= IC_QUEUE_MAX)
		return -EBUSY;
	r = req_new(ic, HVIS_VSS_OP_THAW, VF_FINAL, 0,
		    ic->host->opt.request_timeout, cb, ctx);
	if (!r)
		return -ENOMEM;
	push_tail(&ic->u.vss, r);
	vss_pump(ic);
	return 0;
}

int ic_vss_status(const struct ic_dev *ic, struct ic_vss_status *st)
{
	if (!ic || ic->kind != IC_VSS || !st)
		return -EINVAL;
	*st = ic->u.vss.st;
	return 0;
}

const struct ic_kind_ops ic_vss_ops = {
	.name = "vss",
	.msgtype = HVIS_ICMSG_VSS,
	.class_id = HVIS_GUID_VSS,
	.versions = vss_versions,
	.nversions = sizeof(vss_versions) / sizeof(vss_versions[0]),
	.guest_max_pkt = 2 * 4096,
	.ready = vss_ready,
	.reply = vss_reply,
	.timeout = vss_timeout,
	.tick = vss_tick,
	.closed = vss_closed,
	.fini = vss_fini,
	.queued = vss_queued,
};
