// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMBus server channels: one per registered device. Offers and relids,
 * OPENCHANNEL (ring GPADL checks, lib/ring.c attach), close, host-side
 * rescind, the guest interrupt, and the API a device (VSP) uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

/* ------------------------------------------------------------ relids */

static uint32_t relid_alloc(struct vmbus_server *srv, struct vmbus_device *d)
{
	/* Lowest free: the same registration order gives the same relids
	 * after a reconnect.
	 */
	for (uint32_t r = 1; r <= VMBUS_SERVER_MAX_CHANNELS; r++) {
		if (!srv->relid_map[r]) {
			srv->relid_map[r] = d;
			return r;
		}
	}
	return 0;
}

/* Forget the relid: the channel is no longer known to the guest. */
void chan_unassign(struct vmbus_device *d)
{
	struct vmbus_server *srv = d->srv;

	if (d->relid && srv->relid_map[d->relid] == d)
		srv->relid_map[d->relid] = NULL;
	d->relid = 0;
	d->state = VMBUS_CHAN_IDLE;
}

/* The server is done with @d: tell the device; free it when idle. */
void chan_release(struct vmbus_device *d)
{
	chan_unassign(d);
	d->dead = true;
	if (d->ops.rescinded)
		d->ops.rescinded(d, d->opaque);
}

static uint32_t chan_connection_id(const struct vmbus_device *d)
{
	if (d->srv->version < HVIS_VMBUS_VERSION_WIN7)
		return HVIS_VMBUS_EVENT_CONNECTION_ID;
	return VMBUS_SERVER_CONNID_BASE + d->relid;
}

/* ------------------------------------------------------------ offers */

void chan_offer(struct vmbus_device *d)
{
	struct vmbus_server *srv = d->srv;
	struct hvis_chmsg_offer o;
	uint32_t relid;

	if (d->p.sub_channel_index && srv->version < HVIS_VMBUS_VERSION_WIN8) {
		srv_log(srv, VMBUS_LOG_INFO,
			"vmbus: sub-channel %u not offered before 2.4",
			d->p.sub_channel_index);
		return;
	}
	relid = relid_alloc(srv, d);
	if (!relid) {
		srv_log(srv, VMBUS_LOG_ERROR,
			"vmbus: no free relid: device not offered");
		return;
	}
	d->relid = relid;
	d->state = VMBUS_CHAN_OFFERED;

	memset(&o, 0, sizeof(o));
	o.of_hdr.ch_msgtype = HVIS_CHMSG_OFFERCHANNEL;
	o.of_if_type = d->p.class_id;
	o.of_if_instance = d->p.instance_id;
	o.of_chn_flags = d->p.chn_flags;
	o.of_mmio_megabytes = d->p.mmio_megabytes;
	memcpy(o.of_user_defined, d->user_defined, sizeof(o.of_user_defined));
	if (d->p.chn_flags & HVIS_OFFER_FLAG_NAMED_PIPE_MODE)
		memcpy(o.of_user_defined, &d->p.pipe_mode, sizeof(d->p.pipe_mode));
	if (srv->version >= HVIS_VMBUS_VERSION_WIN8)
		o.of_sub_channel_index = d->p.sub_channel_index;
	o.of_child_relid = relid;
	/* No monitor pages: monitor_id/allocated stay 0, the guest signals
	 * with HvSignalEvent. From 1.1 every channel has its own
	 * connection id (dedicated interrupt); 0.13 shares connection 2.
	 */
	if (srv->version >= HVIS_VMBUS_VERSION_WIN7) {
		o.of_dedicated_interrupt = 1;
		o.of_connection_id = chan_connection_id(d);
	}
	srv_post(srv, &o, sizeof(o));
	if (d->ops.offered)
		d->ops.offered(d, d->opaque, relid);
}

/* ------------------------------------------------------------ open/close */

static void post_open_result(struct vmbus_server *srv, uint32_t relid,
			     uint32_t openid, uint32_t status)
{
	struct hvis_chmsg_open_result r;

	memset(&r, 0, sizeof(r));
	r.or_hdr.ch_msgtype = HVIS_CHMSG_OPENCHANNEL_RESULT;
	r.or_child_relid = relid;
	r.or_openid = openid;
	r.or_status = status;
	srv_post(srv, &r, sizeof(r));
}

static void rings_detach(struct vmbus_device *d)
{
	d->rings_live = false;
	memset(&d->in, 0, sizeof(d->in));
	memset(&d->out, 0, sizeof(d->out));
	if (d->ring_gpadl) {
		struct vmbus_gpadl *g = d->ring_gpadl;

		d->ring_gpadl = NULL;
		g->ring_use = false;
		gpadl_unuse(d->srv, g);
	}
}

/*
 * Check OPENCHANNEL against the ring GPADL and attach both rings. Returns
 * a reason for the log, or NULL on success.
 */
static const char *rings_attach(struct vmbus_device *d,
				const struct hvis_chmsg_open *m)
{
	struct vmbus_server *srv = d->srv;
	struct vmbus_gpadl *g = gpadl_find(srv, m->op_ring_gpadl);
	uint32_t off = m->op_downstream_page_offset;
	uint8_t *base;
	int rc;

	if (m->op_target_vp != VMBUS_VP_NONE && m->op_target_vp >= srv->opt.nvps)
		return "target vp out of range";
	if (!g || g->relid != d->relid)
		return "ring GPADL unknown or of another channel";
	if (g->state != VMBUS_GPADL_READY)
		return "ring GPADL not ready or being torn down";
	if (g->ring_use)
		return "ring GPADL already in use";
	if (g->rangecount != 1 || g->byte_offset ||
	    g->byte_count != (uint64_t)g->npfn * VMBUS_PAGE)
		return "ring GPADL is not whole pages in one range";
	/* Each ring: a control page and at least one data page. */
	if (g->npfn < 4 || off < 2 || off > g->npfn - 2)
		return "downstream page offset outside the GPADL";
	base = g->view;
	rc = hvis_ring_attach(&d->in, (struct hvis_ring_header *)base,
			      base + VMBUS_PAGE, (off - 1) * VMBUS_PAGE,
			      HVIS_RING_READER);
	if (rc)
		return "guest outbound ring: bad indices";
	rc = hvis_ring_attach(&d->out,
			      (struct hvis_ring_header *)(base + (size_t)off * VMBUS_PAGE),
			      base + (size_t)(off + 1) * VMBUS_PAGE,
			      (g->npfn - off - 1) * VMBUS_PAGE, HVIS_RING_WRITER);
	if (rc)
		return "guest inbound ring: bad indices";
	g->ring_use = true;
	d->ring_gpadl = g;
	d->rings_live = true;
	return NULL;
}

void chan_open(struct vmbus_device *d, const struct hvis_chmsg_open *m)
{
	struct vmbus_server *srv = d->srv;
	struct vmbus_open_info info;
	uint32_t relid = d->relid;
	const char *why;
	int rc;

	why = rings_attach(d, m);
	if (why) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: OPENCHANNEL relid %u gpadl %#x: %s", relid,
			m->op_ring_gpadl, why);
		memset(&d->in, 0, sizeof(d->in));
		memset(&d->out, 0, sizeof(d->out));
		post_open_result(srv, relid, m->op_openid,
				 VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}
	d->target_vp = m->op_target_vp;

	memset(&info, 0, sizeof(info));
	info.relid = relid;
	info.version = srv->version;
	info.target_vp = d->target_vp;
	info.ring_gpadl = m->op_ring_gpadl;
	info.in_ring_bytes = d->in.size;
	info.out_ring_bytes = d->out.size;
	info.user_data = m->op_user_data;
	rc = d->ops.open(d, d->opaque, &info);

	if (d->dead || d->state != VMBUS_CHAN_OFFERED) {
		/* Rescinded from inside open(): the rescind answers. */
		rings_detach(d);
		return;
	}
	if (rc) {
		rings_detach(d);
		srv_log(srv, VMBUS_LOG_INFO,
			"vmbus: device refused to open relid %u (%d)", relid, rc);
		post_open_result(srv, relid, m->op_openid,
				 VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}
	d->state = VMBUS_CHAN_OPEN;
	if (srv->ops.event_port && srv->version >= HVIS_VMBUS_VERSION_WIN7)
		srv->ops.event_port(srv->ops.opaque, chan_connection_id(d), true);
	srv_log(srv, VMBUS_LOG_DEBUG,
		"vmbus: relid %u open: rings %u/%u bytes, vp %u", relid,
		d->in.size, d->out.size, d->target_vp);
	post_open_result(srv, relid, m->op_openid, 0);
}

/* OPEN -> OFFERED: device close, rings and borrowed views dropped. A
 * teardown the guest asked for meanwhile completes now.
 */
void chan_close(struct vmbus_device *d)
{
	struct vmbus_server *srv = d->srv;

	if (d->state != VMBUS_CHAN_OPEN)
		return;
	d->state = VMBUS_CHAN_OFFERED;
	d->rings_live = false;
	if (srv->ops.event_port && srv->version >= HVIS_VMBUS_VERSION_WIN7)
		srv->ops.event_port(srv->ops.opaque, chan_connection_id(d), false);
	d->ops.close(d, d->opaque);
	gpadl_drop_borrows(srv, d->relid);
	rings_detach(d);
}

/* ------------------------------------------------------------ signals */

void chan_dispatch(struct vmbus_device *d)
{
	if (d->dead || d->state != VMBUS_CHAN_OPEN)
		return;
	d->ops.packet_in(d, d->opaque);
}

void chan_signal_guest(struct vmbus_device *d)
{
	struct vmbus_server *srv = d->srv;
	uint32_t flag = d->relid;
	int rc;

	if (d->target_vp == VMBUS_VP_NONE || !d->relid)
		return;
	if (srv->version < HVIS_VMBUS_VERSION_WIN8) {
		/* Pre-2.4: relid bit in the receive half of the interrupt
		 * page, then event flag 0 of the VMBus SINT.
		 */
		uint32_t *recv = (uint32_t *)srv->int_page;

		if (!recv)
			return;
		__atomic_fetch_or(&recv[d->relid / 32], 1u << (d->relid % 32),
				  __ATOMIC_SEQ_CST);
		flag = 0;
	}
	srv->st.signals_out++;
	rc = srv->ops.signal_guest(srv->ops.opaque, d->target_vp, srv->sint,
				   flag);
	if (rc)
		srv_log(srv, VMBUS_LOG_DEBUG,
			"vmbus: signal relid %u vp %u failed (%d)", d->relid,
			d->target_vp, rc);
}

/* ------------------------------------------------------------ device API */

struct vmbus_device *vmbus_server_add_device_ex(struct vmbus_server *srv,
						const struct vmbus_offer_params *p,
						const struct vmbus_device_ops *ops,
						void *opaque)
{
	struct vmbus_device *d;

	if (!srv || !p || !ops || !ops->open || !ops->close || !ops->packet_in)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->srv = srv;
	d->p = *p;
	if (p->user_defined)
		memcpy(d->user_defined, p->user_defined, sizeof(d->user_defined));
	d->p.user_defined = NULL;
	d->ops = *ops;
	d->opaque = opaque;
	d->state = VMBUS_CHAN_IDLE;
	if (srv->devs_tail)
		srv->devs_tail->next = d;
	else
		srv->devs = d;
	srv->devs_tail = d;

	srv_enter(srv);
	if (srv->state == VMBUS_CONN_OFFERED && !srv->resetting)
		chan_offer(d);		/* hot add */
	srv_leave(srv);
	return d;
}

struct vmbus_device *vmbus_server_add_device(struct vmbus_server *srv,
					     const struct hvis_guid *class_id,
					     const struct hvis_guid *instance_id,
					     uint16_t chn_flags,
					     uint32_t pipe_mode,
					     const struct vmbus_device_ops *ops,
					     void *opaque)
{
	struct vmbus_offer_params p;

	if (!class_id || !instance_id)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.class_id = *class_id;
	p.instance_id = *instance_id;
	p.chn_flags = chn_flags;
	p.pipe_mode = pipe_mode;
	return vmbus_server_add_device_ex(srv, &p, ops, opaque);
}

void vmbus_server_rescind(struct vmbus_device *d)
{
	struct vmbus_server *srv;

	if (!d || d->dead)
		return;
	srv = d->srv;
	srv_enter(srv);
	if (d->state == VMBUS_CHAN_OPEN)
		chan_close(d);
	if (d->dead || d->state == VMBUS_CHAN_RESCINDED) {
		/* close() rescinded it already */
	} else if (d->state == VMBUS_CHAN_OFFERED) {
		/* While resetting, the reset releases it without a word. */
		d->state = VMBUS_CHAN_RESCINDED;
		if (!srv->resetting) {
			struct hvis_chmsg_relid r;

			memset(&r, 0, sizeof(r));
			r.rl_hdr.ch_msgtype = HVIS_CHMSG_RESCIND_CHANNELOFFER;
			r.rl_child_relid = d->relid;
			srv_log(srv, VMBUS_LOG_INFO, "vmbus: rescinding relid %u",
				d->relid);
			srv_post(srv, &r, sizeof(r));
		}
	} else {
		chan_release(d);	/* the guest never saw it */
	}
	srv_leave(srv);
}

struct vmbus_server *vmbus_device_server(const struct vmbus_device *d)
{
	return d->srv;
}

enum vmbus_chan_state vmbus_device_state(const struct vmbus_device *d)
{
	return d->state;
}

uint32_t vmbus_device_relid(const struct vmbus_device *d)
{
	return d->relid;
}

uint32_t vmbus_device_connection_id(const struct vmbus_device *d)
{
	return d->relid ? chan_connection_id(d) : 0;
}

uint32_t vmbus_device_target_vp(const struct vmbus_device *d)
{
	return d->target_vp;
}

void vmbus_device_ids(const struct vmbus_device *dev, struct hvis_guid *class_id,
		      struct hvis_guid *instance_id)
{
	*class_id = dev->p.class_id;
	*instance_id = dev->p.instance_id;
}

struct hvis_ring *vmbus_device_in_ring(struct vmbus_device *d)
{
	return d->rings_live ? &d->in : NULL;
}

struct hvis_ring *vmbus_device_out_ring(struct vmbus_device *d)
{
	return d->rings_live ? &d->out : NULL;
}

int vmbus_device_ring_pfns(const struct vmbus_device *d, const uint64_t **pfns,
			   uint32_t *count)
{
	if (!d->rings_live || !d->ring_gpadl)
		return -ENOENT;
	*pfns = d->ring_gpadl->pfns;
	*count = d->ring_gpadl->npfn;
	return 0;
}

int vmbus_device_send(struct vmbus_device *d, const struct hvis_pkt_desc *desc,
		      uint32_t hdr_len, const struct hvis_iov *iov,
		      unsigned int iovcnt)
{
	bool sig = false;
	int rc;

	if (!d || d->dead || !d->rings_live)
		return -HVIS_RING_INVAL;
	rc = hvis_ring_send(&d->out, desc, hdr_len, iov, iovcnt, &sig);
	if (rc == 0 && sig)
		chan_signal_guest(d);
	return rc;
}

int vmbus_device_recv_done(struct vmbus_device *d)
{
	bool sig = false;
	int rc;

	if (!d || d->dead || !d->rings_live)
		return -HVIS_RING_INVAL;
	rc = hvis_ring_commit(&d->in, &sig);
	if (rc == 0 && sig)
		chan_signal_guest(d);
	return rc;
}

void vmbus_device_signal(struct vmbus_device *d)
{
	if (d && !d->dead && d->rings_live)
		chan_signal_guest(d);
}

int vmbus_device_gpadl_get(struct vmbus_device *d, uint32_t handle,
			   void **view, uint32_t *bytes)
{
	struct vmbus_gpadl *g;

	if (!d || d->dead || d->state != VMBUS_CHAN_OPEN)
		return -ENOENT;
	g = gpadl_find(d->srv, handle);
	if (!g || g->relid != d->relid || g->state != VMBUS_GPADL_READY)
		return -ENOENT;
	g->dev_refs++;
	if (view)
		*view = g->view;
	if (bytes)
		*bytes = g->npfn * VMBUS_PAGE;
	return 0;
}

void vmbus_device_gpadl_put(struct vmbus_device *d, uint32_t handle)
{
	struct vmbus_gpadl *g;

	if (!d || d->dead)
		return;
	g = gpadl_find(d->srv, handle);
	if (!g || g->relid != d->relid || !g->dev_refs)
		return;
	g->dev_refs--;
	srv_enter(d->srv);
	gpadl_unuse(d->srv, g);
	srv_leave(d->srv);
}
