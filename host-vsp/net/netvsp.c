// SPDX-License-Identifier: GPL-2.0-only
/*
 * netvsp: the synthetic network adapter (netvsp.h, <hvis/nvsp.h>).
 *
 * One VMBus channel per attach, plus the vRSS sub-channels the guest asks
 * for (NVSP 5 SUBCHANNEL; one per VP up to 8, or netvsp_cfg.queues): they
 * share the adapter's buffers and RNDIS state; each has its own rings and
 * completion queue, and frames go up on a channel picked by their flow.
 * Everything but SEND_RNDIS_PKT and completions belongs on the primary.
 * drain() copies each guest packet out of
 * the ring and handles it: NVSP control messages (answered by a
 * COMPLETION with the guest's transaction id), SEND_RNDIS_PKT (the
 * RNDIS bytes gathered from a send-buffer section and/or GPA-direct
 * pages into one private buffer, then parsed), and the guest's
 * completions of our transfer-page packets (which free receive
 * sections).
 *
 * Out of the host, three kinds of packets, in this order of priority:
 * completions of guest requests (cq: queued when the ring is full; while
 * any waits no new guest packet is read, so the queue stays bounded),
 * RNDIS control completions and link indications (ctl: a short queue;
 * they also need a receive section), and frames (never queued here:
 * netvsp_rx says -EAGAIN and the backend holds them).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvis/ring.h>
#include <hvis/vmbus.h>

#include "netvsp.h"

#define PAGE			4096u
/* Guest packets we take: descriptor, GPA ranges with their PFNs, NVSP. */
#define MAX_PACKET		8192u
/* Completions waiting for ring room. */
#define CQ_DEPTH		256u
/* RNDIS control completions / indications waiting for a section. */
#define CTL_DEPTH		16u
/* Receive sections we track (a 16 MiB buffer has 9709 of 1728 bytes). */
#define MAX_RECV_SECTIONS	(1u << 16)
/* trans_id of our transfer-page packets: tag | generation | section. */
#define XFER_TAG		0x4e00000000000000ull

static const uint32_t nvsp_versions[] = {	/* newest first */
	HVIS_NVSP_VERSION_61, HVIS_NVSP_VERSION_6, HVIS_NVSP_VERSION_5,
	HVIS_NVSP_VERSION_4, HVIS_NVSP_VERSION_2, HVIS_NVSP_VERSION_1,
};

struct cq_entry {
	uint64_t trans_id;
	uint32_t len;
	uint8_t msg[HVIS_NVSP_MSG_SIZE];
};

struct ctl_entry {
	uint32_t len;
	uint8_t msg[RNDIS_REPLY_MAX];
};

/* One VMBus channel: the primary (index 0) or a vRSS sub-channel. */
struct nv_chan {
	struct netvsp *n;
	struct vmbus_device *vdev;
	uint16_t index;
	bool open, broken;
	uint64_t *ring_pfns;		/* sorted */
	uint32_t nring;
	struct cq_entry cq[CQ_DEPTH];
	uint32_t cq_head, cq_count;
};

struct netvsp {
	struct netvsp_cfg cfg;
	char name[32];
	struct netvsp_host_ops ops;
	struct rndis_dev rndis;
	struct netvsp_stats st;
	bool link_up;

	/* per attach */
	struct vmbus_server *srv;
	uint32_t nvps;
	struct nv_chan *ch[NETVSP_MAX_QUEUES];	/* by sub-channel index */
	uint32_t nch;				/* slots in use: 1 + highest index */

	/* per open of the primary channel */
	bool logged_bad;
	uint32_t version;		/* NVSP, 0 = none */
	uint32_t ndis_version;
	uint32_t guest_mtu;
	bool rx_blocked;		/* netvsp_rx said -EAGAIN */
	bool link_pending;		/* an indication waits */

	uint32_t recv_gpadl;		/* 0 = none */
	uint16_t recv_id;
	uint8_t *recv_view;
	uint32_t recv_bytes;
	uint32_t sec_size, nsec;
	uint32_t *free_secs, nfree;
	uint8_t *sec_busy;
	uint32_t recv_gen;

	uint32_t send_gpadl;		/* 0 = none */
	uint8_t *send_view;
	uint32_t send_nsec;

	struct ctl_entry ctl[CTL_DEPTH];
	uint32_t ctl_head, ctl_count;

	uint8_t *pkt;			/* MAX_PACKET */
	uint8_t *txbuf;			/* NETVSP_TX_MAX */
	uint8_t *frame;			/* a VLAN-tagged frame */
};

static void drain(struct nv_chan *ch);

/* The primary channel while open, else NULL. */
static struct nv_chan *prim(const struct netvsp *n)
{
	return n->nch && n->ch[0] && n->ch[0]->open ? n->ch[0] : NULL;
}

/* ------------------------------------------------------------ logging */
static void nv_log(struct netvsp *n, enum vmbus_log_level lvl,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void nv_log(struct netvsp *n, enum vmbus_log_level lvl,
		   const char *fmt, ...)
{
	char line[256];
	int k;
	va_list ap;

	if (!n->ops.log)
		return;
	k = snprintf(line, sizeof(line), "%s: ", n->name);
	va_start(ap, fmt);
	vsnprintf(line + k, sizeof(line) - (size_t)k, fmt, ap);
	va_end(ap);
	n->ops.log(n->ops.opaque, lvl, line);
}

/* A guest packet refused: counted, one line per channel open. */
static void bad(struct netvsp *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bad(struct netvsp *n, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	n->st.bad_packets++;
	if (n->logged_bad)
		return;
	n->logged_bad = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	nv_log(n, VMBUS_LOG_WARN, "guest packet refused: %s (further ones counted only)",
	       why);
}

/* ------------------------------------------------------------ sending */
static struct hvis_ring *out_ring(struct nv_chan *ch)
{
	return ch && ch->open && !ch->broken ? vmbus_device_out_ring(ch->vdev) : NULL;
}

/*
 * After a full ring: ask the guest to signal once @bytes are free. True
 * if they already are (the guest may have read meanwhile, and then never
 * signals): send again now.
 */
static bool want_space(struct nv_chan *ch, uint32_t bytes)
{
	struct hvis_ring *r = out_ring(ch);

	return r && hvis_ring_request_space(r, bytes + 64) == 1;
}

/* A COMPLETION for the guest's @trans_id carrying @len bytes. */
static int send_completion(struct nv_chan *ch, uint64_t trans_id,
			   const void *msg, uint32_t len)
{
	struct hvis_pkt_desc d = {
		.pd_type = HVIS_PKT_COMPLETION, .pd_trans_id = trans_id,
	};
	struct hvis_iov iov = { .base = msg, .len = len };

	if (!out_ring(ch))
		return -HVIS_RING_INVAL;
	return vmbus_device_send(ch->vdev, &d, 0, &iov, len ? 1 : 0);
}

/* Send what waits; true if the queue emptied (drain may go on). */
static bool cq_flush(struct nv_chan *ch)
{
	bool had = ch && ch->cq_count;

	while (ch && ch->cq_count) {
		struct cq_entry *e = &ch->cq[ch->cq_head];
		int rc = send_completion(ch, e->trans_id, e->msg, e->len);

		if (rc == -HVIS_RING_FULL) {
			if (want_space(ch, e->len + 16))
				continue;
			return false;
		}
		ch->cq_head = (ch->cq_head + 1) % CQ_DEPTH;
		ch->cq_count--;
	}
	/* a space request left behind costs one spare signal, no more */
	return had;
}

/* Answer a guest request; queued behind earlier ones if the ring is full. */
static void complete(struct nv_chan *ch, uint64_t trans_id, const void *msg,
		     uint32_t len)
{
	struct cq_entry *e;
	int rc;

	if (!ch->cq_count) {
		rc = send_completion(ch, trans_id, msg, len);
		while (rc == -HVIS_RING_FULL && want_space(ch, len + 16))
			rc = send_completion(ch, trans_id, msg, len);
		if (rc != -HVIS_RING_FULL)
			return;
	}
	if (ch->cq_count == CQ_DEPTH) {	/* drain() keeps a free slot */
		nv_log(ch->n, VMBUS_LOG_ERROR, "completion queue full: completion lost");
		return;
	}
	e = &ch->cq[(ch->cq_head + ch->cq_count) % CQ_DEPTH];
	e->trans_id = trans_id;
	e->len = len;
	if (len)
		memcpy(e->msg, msg, len);
	ch->cq_count++;
}

static int sec_alloc(struct netvsp *n, uint32_t *sec)
{
	if (!n->nfree)
		return -1;
	*sec = n->free_secs[--n->nfree];
	n->sec_busy[*sec] = 1;
	return 0;
}

static void sec_free(struct netvsp *n, uint32_t sec)
{
	n->sec_busy[sec] = 0;
	n->free_secs[n->nfree++] = sec;
}

/*
 * Put @hdr + @data (one RNDIS message) into a receive section and
 * announce it. 0, -EAGAIN (no section, or the ring is full: nothing
 * changed), -ENOTCONN (no receive buffer), -EMSGSIZE.
 */
static int deliver(struct netvsp *n, struct nv_chan *ch, const void *hdr,
		   uint32_t hlen, const void *data, uint32_t dlen)
{
	struct {
		uint16_t pageset;
		uint8_t sender_owns;
		uint8_t reserved;
		uint32_t count;
		struct hvis_xfer_page_range r;
	} __attribute__((packed)) x;
	struct hvis_nvsp_msg m = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };
	struct hvis_pkt_desc d = {
		.pd_type = HVIS_PKT_DATA_USING_TRANSFER_PAGES,
		.pd_flags = HVIS_PKT_FLAG_COMPLETION_REQUESTED,
	};
	struct hvis_iov iov[2];
	uint32_t sec;
	int rc;

	if (!n->recv_view || !out_ring(ch))
		return -ENOTCONN;
	if (hlen + dlen > n->sec_size)
		return -EMSGSIZE;
	if (sec_alloc(n, &sec))
		return -EAGAIN;
	memcpy(n->recv_view + (size_t)sec * n->sec_size, hdr, hlen);
	if (dlen)
		memcpy(n->recv_view + (size_t)sec * n->sec_size + hlen, data, dlen);
	x.pageset = n->recv_id;
	x.sender_owns = 0;
	x.reserved = 0;
	x.count = 1;
	x.r.xr_byte_count = hlen + dlen;
	x.r.xr_byte_offset = sec * n->sec_size;
	m.nm_rndis_pkt.nrp_channel_type = HVIS_NVSP_CHANNEL_DATA;
	m.nm_rndis_pkt.nrp_section_index = HVIS_NVSP_INVALID_SECTION;
	d.pd_trans_id = XFER_TAG | (uint64_t)(n->recv_gen & 0xffffffu) << 32 | sec;
	iov[0].base = &x;
	iov[0].len = sizeof(x);
	iov[1].base = &m;
	iov[1].len = 16;		/* type + the rndis_pkt body */
	rc = vmbus_device_send(ch->vdev, &d, sizeof(x), iov, 2);
	while (rc == -HVIS_RING_FULL && want_space(ch, sizeof(x) + 16 + 16))
		rc = vmbus_device_send(ch->vdev, &d, sizeof(x), iov, 2);
	if (rc) {
		sec_free(n, sec);
		if (rc == -HVIS_RING_FULL)
			return -EAGAIN;	/* space asked for: packet_in follows */
		return -ENOTCONN;
	}
	return 0;
}

/* RNDIS control completions and the link indication, in order. */
static void ctl_flush(struct netvsp *n)
{
	while (n->ctl_count) {
		struct ctl_entry *e = &n->ctl[n->ctl_head];
		int rc = deliver(n, prim(n), e->msg, e->len, NULL, 0);

		if (rc == -EAGAIN)
			return;
		if (rc)
			nv_log(n, VMBUS_LOG_WARN, "RNDIS completion lost (no receive buffer)");
		n->ctl_head = (n->ctl_head + 1) % CTL_DEPTH;
		n->ctl_count--;
	}
	if (n->link_pending && n->rndis.initialized) {
		uint8_t ind[RNDIS_INDICATE_LEN];

		rndis_indicate(ind, n->link_up ? HVIS_RNDIS_STATUS_MEDIA_CONNECT :
			       HVIS_RNDIS_STATUS_MEDIA_DISCONNECT);
		if (deliver(n, prim(n), ind, sizeof(ind), NULL, 0) == -EAGAIN)
			return;
		n->link_pending = false;
		n->st.link_changes++;
	}
}

static void ctl_queue(struct netvsp *n, const uint8_t *msg, uint32_t len)
{
	struct ctl_entry *e;

	if (n->ctl_count == CTL_DEPTH) {
		bad(n, "RNDIS control requests faster than their completions are read");
		return;
	}
	e = &n->ctl[(n->ctl_head + n->ctl_count) % CTL_DEPTH];
	e->len = len;
	memcpy(e->msg, msg, len);
	n->ctl_count++;
	ctl_flush(n);
}

/* ------------------------------------------------------------ buffers */
static void recv_buf_drop(struct netvsp *n)
{
	if (n->recv_gpadl && prim(n))
		vmbus_device_gpadl_put(prim(n)->vdev, n->recv_gpadl);
	n->recv_gpadl = 0;
	n->recv_view = NULL;
	n->recv_bytes = 0;
	free(n->free_secs);
	free(n->sec_busy);
	n->free_secs = NULL;
	n->sec_busy = NULL;
	n->nsec = n->nfree = 0;
	n->recv_gen++;
}

static void send_buf_drop(struct netvsp *n)
{
	if (n->send_gpadl && prim(n))
		vmbus_device_gpadl_put(prim(n)->vdev, n->send_gpadl);
	n->send_gpadl = 0;
	n->send_view = NULL;
	n->send_nsec = 0;
}

/* The receive section size for the guest's MTU: header, frame, a tag. */
static uint32_t recv_section_size(const struct netvsp *n)
{
	uint32_t mtu = n->guest_mtu ? n->guest_mtu : 1500;
	uint32_t s;

	if (mtu > RNDIS_MTU_MAX)
		mtu = RNDIS_MTU_MAX;
	if (mtu < n->cfg.mtu)
		mtu = n->cfg.mtu;
	s = (RNDIS_DATA_HDR_LEN + RNDIS_ETH_HLEN + 4 + mtu + 63) & ~63u;
	return s < NETVSP_RECV_SECTION_MIN ? NETVSP_RECV_SECTION_MIN : s;
}

static uint32_t set_recv_buf(struct netvsp *n, uint32_t gpadl, uint16_t id)
{
	void *view;
	uint32_t bytes, cnt;

	if (n->recv_gpadl) {
		bad(n, "a second receive buffer");
		return HVIS_NVSP_STAT_FAIL;
	}
	if (!gpadl || vmbus_device_gpadl_get(prim(n)->vdev, gpadl, &view, &bytes)) {
		bad(n, "receive buffer GPADL %#x does not exist", gpadl);
		return HVIS_NVSP_STAT_FAIL;
	}
	n->sec_size = recv_section_size(n);
	cnt = bytes / n->sec_size;
	if (cnt > MAX_RECV_SECTIONS)
		cnt = MAX_RECV_SECTIONS;
	if (!cnt) {
		vmbus_device_gpadl_put(prim(n)->vdev, gpadl);
		bad(n, "receive buffer of %u bytes: smaller than one section", bytes);
		return HVIS_NVSP_STAT_FAIL;
	}
	n->free_secs = malloc(cnt * sizeof(uint32_t));
	n->sec_busy = calloc(cnt, 1);
	if (!n->free_secs || !n->sec_busy) {
		free(n->free_secs);
		free(n->sec_busy);
		n->free_secs = NULL;
		n->sec_busy = NULL;
		vmbus_device_gpadl_put(prim(n)->vdev, gpadl);
		nv_log(n, VMBUS_LOG_ERROR, "out of memory for the receive buffer");
		return HVIS_NVSP_STAT_FAIL;
	}
	for (uint32_t i = 0; i < cnt; i++)
		n->free_secs[i] = cnt - 1 - i;	/* section 0 first */
	n->nsec = n->nfree = cnt;
	n->recv_gpadl = gpadl;
	n->recv_id = id;
	n->recv_view = view;
	n->recv_bytes = bytes;
	n->recv_gen++;
	nv_log(n, VMBUS_LOG_DEBUG, "receive buffer: %u sections of %u bytes",
	       cnt, n->sec_size);
	return HVIS_NVSP_STAT_SUCCESS;
}

static uint32_t set_send_buf(struct netvsp *n, uint32_t gpadl)
{
	void *view;
	uint32_t bytes;

	if (n->send_gpadl) {
		bad(n, "a second send buffer");
		return HVIS_NVSP_STAT_FAIL;
	}
	if (!gpadl || vmbus_device_gpadl_get(prim(n)->vdev, gpadl, &view, &bytes)) {
		bad(n, "send buffer GPADL %#x does not exist", gpadl);
		return HVIS_NVSP_STAT_FAIL;
	}
	if (bytes < NETVSP_SEND_SECTION_SIZE) {
		vmbus_device_gpadl_put(prim(n)->vdev, gpadl);
		bad(n, "send buffer of %u bytes: smaller than one section", bytes);
		return HVIS_NVSP_STAT_FAIL;
	}
	n->send_gpadl = gpadl;
	n->send_view = view;
	n->send_nsec = bytes / NETVSP_SEND_SECTION_SIZE;
	return HVIS_NVSP_STAT_SUCCESS;
}

/* ------------------------------------------------------------ data path */
static int pfn_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A page of any channel's rings: never data. */
static bool pfn_in_ring(const struct netvsp *n, uint64_t pfn)
{
	for (uint32_t i = 0; i < n->nch; i++) {
		const struct nv_chan *ch = n->ch[i];

		if (ch && ch->nring && bsearch(&pfn, ch->ring_pfns, ch->nring,
					       sizeof(uint64_t), pfn_cmp))
			return true;
	}
	return false;
}

/*
 * Append the GPA-direct ranges (@hdr: what follows the descriptor, up to
 * the payload, @hlen bytes) to txbuf at *@pos. 0, or -1 if they do not
 * describe guest memory we may read, or are too much.
 */
static int gather_pages(struct netvsp *n, const uint8_t *hdr, uint32_t hlen,
			uint32_t *pos)
{
	uint32_t nranges, at = 8;

	if (hlen < 8)
		return -1;
	memcpy(&nranges, hdr + 4, 4);
	if (!nranges || nranges > NETVSP_MAX_RANGES)
		return -1;
	for (uint32_t r = 0; r < nranges; r++) {
		struct hvis_gpa_range gr;
		uint32_t npg;

		if (hlen - at < sizeof(gr))
			return -1;
		memcpy(&gr, hdr + at, sizeof(gr));
		at += sizeof(gr);
		if (gr.gr_byte_offset >= PAGE || !gr.gr_byte_count ||
		    gr.gr_byte_count > NETVSP_TX_MAX - *pos)
			return -1;
		npg = (gr.gr_byte_offset + gr.gr_byte_count + PAGE - 1) / PAGE;
		if ((hlen - at) / 8 < npg)
			return -1;
		for (uint32_t k = 0, left = gr.gr_byte_count; k < npg; k++) {
			uint32_t off = k ? 0 : gr.gr_byte_offset;
			uint32_t len = PAGE - off < left ? PAGE - off : left;
			uint64_t pfn;
			uint8_t *page;

			memcpy(&pfn, hdr + at + 8 * k, 8);
			page = pfn_in_ring(n, pfn) ? NULL :
			       n->ops.guest_page(n->ops.opaque, pfn);
			if (!page)
				return -1;
			memcpy(n->txbuf + *pos, page + off, len);
			*pos += len;
			left -= len;
		}
		at += 8 * npg;
	}
	return 0;
}

static void tx_frame(struct netvsp *n, const uint8_t *msg, uint32_t len)
{
	struct rndis_frame f;
	const uint8_t *frame;
	uint32_t flen;

	if (rndis_parse_packet(msg, len, &f)) {
		bad(n, "malformed RNDIS data message (%u bytes)", len);
		return;
	}
	frame = msg + f.off;
	flen = f.len;
	if (f.has_vlan) {
		/* the guest leaves the 802.1Q tag to the host: insert it */
		if (flen > RNDIS_MTU_MAX + RNDIS_ETH_HLEN + 64) {
			n->st.tx_dropped++;
			return;
		}
		memcpy(n->frame, frame, 12);
		n->frame[12] = 0x81;
		n->frame[13] = 0x00;
		n->frame[14] = (uint8_t)(f.vlan_tci >> 8);
		n->frame[15] = (uint8_t)f.vlan_tci;
		memcpy(n->frame + 16, frame + 12, flen - 12);
		frame = n->frame;
		flen += 4;
	}
	if (n->ops.tx(n->ops.opaque, frame, flen)) {
		n->st.tx_dropped++;
		return;
	}
	n->st.tx_frames++;
	n->st.tx_bytes += flen;
}

/* The RNDIS messages in txbuf[0, len): data to the backend, control answered. */
static uint32_t rndis_stream(struct netvsp *n, uint32_t len)
{
	uint32_t off = 0, type, mlen, status = HVIS_NVSP_STAT_SUCCESS;
	const uint8_t *msg;
	int rc;

	while ((rc = rndis_next(n->txbuf, len, &off, &type, &msg, &mlen)) == 1) {
		if (type == HVIS_RNDIS_MSG_PACKET) {
			tx_frame(n, msg, mlen);
		} else {
			uint8_t reply[RNDIS_REPLY_MAX];
			uint32_t rlen;
			bool was = n->rndis.initialized;

			if (rndis_control(&n->rndis, msg, mlen, reply, &rlen))
				bad(n, "malformed RNDIS control message %#x (%u bytes)",
				    type, mlen);
			else
				n->st.control++;
			if (rlen)
				ctl_queue(n, reply, rlen);
			if (!was && n->rndis.initialized)
				nv_log(n, VMBUS_LOG_INFO,
				       "guest initialised RNDIS (NVSP %#x, MTU %u)",
				       n->version, n->guest_mtu);
		}
	}
	if (rc < 0) {
		bad(n, "truncated RNDIS message at byte %u of %u", off, len);
		status = HVIS_NVSP_STAT_INVALID_RNDIS_PKT;
	}
	return status;
}

static void send_rndis_pkt(struct nv_chan *ch, const struct hvis_ring_pkt *rp,
			   const struct hvis_nvsp_msg *m, bool want)
{
	struct netvsp *n = ch->n;
	struct hvis_nvsp_msg c = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE };
	uint32_t idx = m->nm_rndis_pkt.nrp_section_index;
	uint32_t size = m->nm_rndis_pkt.nrp_section_size;
	uint32_t pos = 0, status = HVIS_NVSP_STAT_SUCCESS;

	if (!n->version) {
		bad(n, "RNDIS packet before NVSP init");
		status = HVIS_NVSP_STAT_FAIL;
		goto answer;
	}
	if (idx != HVIS_NVSP_INVALID_SECTION) {
		if (!n->send_view || idx >= n->send_nsec ||
		    size > NETVSP_SEND_SECTION_SIZE) {
			bad(n, "send section %u (%u bytes) outside the send buffer (%u sections)",
			    idx, size, n->send_nsec);
			status = HVIS_NVSP_STAT_FAIL;
			goto answer;
		}
		/* copied once: the guest may change it meanwhile */
		memcpy(n->txbuf, n->send_view + (size_t)idx * NETVSP_SEND_SECTION_SIZE,
		       size);
		pos = size;
	}
	if (rp->desc.pd_type == HVIS_PKT_DATA_USING_GPA_DIRECT &&
	    gather_pages(n, n->pkt + sizeof(rp->desc),
			 rp->data_off - (uint32_t)sizeof(rp->desc), &pos)) {
		bad(n, "RNDIS packet with a bad page list (outside guest memory, over the ring, or malformed)");
		status = HVIS_NVSP_STAT_FAIL;
		goto answer;
	}
	if (!pos) {
		bad(n, "RNDIS packet without data");
		status = HVIS_NVSP_STAT_FAIL;
		goto answer;
	}
	status = rndis_stream(n, pos);
answer:
	c.nm_rndis_pkt_complete.nrpc_status = status;
	if (want)
		complete(ch, rp->desc.pd_trans_id, &c, 8);
}

/* ------------------------------------------------------------ control */
static uint32_t pick_version(const struct netvsp *n, uint32_t lo, uint32_t hi)
{
	uint32_t cap = n->cfg.max_version ? n->cfg.max_version : HVIS_NVSP_VERSION_61;

	for (size_t i = 0; i < sizeof(nvsp_versions) / sizeof(nvsp_versions[0]); i++) {
		uint32_t v = nvsp_versions[i];

		if (v <= cap && v >= lo && v <= hi)
			return v;
	}
	return 0;
}

/* Bytes of body each guest message type needs. */
static uint32_t body_need(uint32_t type)
{
	switch (type) {
	case HVIS_NVSP_MSG_INIT:
		return sizeof(struct hvis_nvsp_init);
	case HVIS_NVSP_MSG1_SEND_NDIS_VER:
		return sizeof(struct hvis_nvsp_ndis_version);
	case HVIS_NVSP_MSG1_SEND_RECV_BUF:
	case HVIS_NVSP_MSG1_SEND_SEND_BUF:
		return sizeof(struct hvis_nvsp_send_buf);
	case HVIS_NVSP_MSG1_REVOKE_RECV_BUF:
	case HVIS_NVSP_MSG1_REVOKE_SEND_BUF:
		return sizeof(struct hvis_nvsp_revoke_buf);
	case HVIS_NVSP_MSG1_SEND_RNDIS_PKT:
		return sizeof(struct hvis_nvsp_rndis_pkt);
	case HVIS_NVSP_MSG2_SEND_NDIS_CONFIG:
		return sizeof(struct hvis_nvsp_ndis_config);
	case HVIS_NVSP_MSG4_SWITCH_DATA_PATH:
		return sizeof(struct hvis_nvsp_switch_data_path);
	case HVIS_NVSP_MSG5_SUBCHANNEL:
		return sizeof(struct hvis_nvsp_subchannel_req);
	default:
		return 0;
	}
}

static uint32_t max_queues(const struct netvsp *n);
static int add_sub_channels(struct netvsp *n, uint32_t count);

static void handle_nvsp(struct nv_chan *ch, const struct hvis_ring_pkt *rp,
			const struct hvis_nvsp_msg *m, uint32_t plen)
{
	struct netvsp *n = ch->n;
	bool want = rp->desc.pd_flags & HVIS_PKT_FLAG_COMPLETION_REQUESTED;
	uint64_t tid = rp->desc.pd_trans_id;
	struct hvis_nvsp_msg a;

	memset(&a, 0, sizeof(a));
	if (plen < 4 + body_need(m->nm_type)) {
		bad(n, "NVSP message %u of %u bytes: too short", m->nm_type, plen);
		return;
	}
	if (m->nm_type == HVIS_NVSP_MSG1_SEND_RNDIS_PKT) {
		send_rndis_pkt(ch, rp, m, want);
		return;
	}
	/* the rest is the primary's business (its GPADLs, its state) */
	if (ch->index || (m->nm_type != HVIS_NVSP_MSG_INIT && !n->version))
		goto unexpected;
	switch (m->nm_type) {
	case HVIS_NVSP_MSG_INIT: {
		uint32_t v = pick_version(n, m->nm_init.ni_min_version,
					  m->nm_init.ni_max_version);

		if (n->version && v) {
			/* a re-init: the guest starts over */
			recv_buf_drop(n);
			send_buf_drop(n);
			rndis_dev_reset(&n->rndis);
		}
		a.nm_type = HVIS_NVSP_MSG_INIT_COMPLETE;
		a.nm_init_complete.nic_negotiated_version = v;
		a.nm_init_complete.nic_status = v ? HVIS_NVSP_STAT_SUCCESS :
						HVIS_NVSP_STAT_FAIL;
		if (v) {
			n->version = v;
			nv_log(n, VMBUS_LOG_DEBUG, "NVSP version %#x", v);
		}
		break;
	}
	case HVIS_NVSP_MSG2_SEND_NDIS_CONFIG: {
		uint32_t mtu = m->nm_ndis_config.nnc_mtu;

		if (n->version < HVIS_NVSP_VERSION_2)
			goto unexpected;
		if (mtu < RNDIS_MTU_MIN + RNDIS_ETH_HLEN) {
			bad(n, "NDIS config MTU %u", mtu);
			return;
		}
		n->guest_mtu = mtu - RNDIS_ETH_HLEN;
		if (!want)
			return;
		a.nm_type = m->nm_type;
		break;
	}
	case HVIS_NVSP_MSG1_SEND_NDIS_VER:
		n->ndis_version = m->nm_ndis_version.nnv_major << 16 |
				  (m->nm_ndis_version.nnv_minor & 0xffff);
		if (!want)
			return;
		a.nm_type = m->nm_type;
		break;
	case HVIS_NVSP_MSG1_SEND_RECV_BUF: {
		struct hvis_nvsp_recv_buf_complete *c = &a.nm_recv_buf_complete;

		a.nm_type = HVIS_NVSP_MSG1_SEND_RECV_BUF_COMPLETE;
		c->nrc_status = set_recv_buf(n, m->nm_send_buf.nsb_gpadl,
					     m->nm_send_buf.nsb_id);
		if (c->nrc_status == HVIS_NVSP_STAT_SUCCESS) {
			c->nrc_num_sections = 1;
			c->nrc_section.nrs_offset = 0;
			c->nrc_section.nrs_sub_alloc_size = n->sec_size;
			c->nrc_section.nrs_num_sub_allocs = n->nsec;
			c->nrc_section.nrs_end_offset = n->sec_size * n->nsec;
		}
		break;
	}
	case HVIS_NVSP_MSG1_SEND_SEND_BUF:
		a.nm_type = HVIS_NVSP_MSG1_SEND_SEND_BUF_COMPLETE;
		a.nm_send_buf_complete.nsc_status = set_send_buf(n, m->nm_send_buf.nsb_gpadl);
		if (a.nm_send_buf_complete.nsc_status == HVIS_NVSP_STAT_SUCCESS)
			a.nm_send_buf_complete.nsc_section_size = NETVSP_SEND_SECTION_SIZE;
		break;
	case HVIS_NVSP_MSG1_REVOKE_RECV_BUF:
		/* frames in flight in its sections are simply forgotten */
		recv_buf_drop(n);
		if (!want)
			return;
		a.nm_type = m->nm_type;
		break;
	case HVIS_NVSP_MSG1_REVOKE_SEND_BUF:
		send_buf_drop(n);
		if (!want)
			return;
		a.nm_type = m->nm_type;
		break;
	case HVIS_NVSP_MSG4_SWITCH_DATA_PATH:
		/* no VF here: the data path stays synthetic */
		if (want)
			complete(ch, tid, NULL, 0);
		return;
	case HVIS_NVSP_MSG5_SUBCHANNEL: {
		uint32_t cnt = m->nm_subchannel_req.nsr_count;
		uint32_t room = max_queues(n) - n->nch;	/* nch >= 1 here */

		a.nm_type = HVIS_NVSP_MSG5_SUBCHANNEL;
		a.nm_subchannel_complete.nsc_status = HVIS_NVSP_STAT_FAIL;
		if (n->version < HVIS_NVSP_VERSION_5 ||
		    m->nm_subchannel_req.nsr_op != HVIS_NVSP_SUBCHANNEL_ALLOCATE ||
		    !cnt || !room) {
			bad(n, "sub-channel request op %u count %u (room for %u)",
			    m->nm_subchannel_req.nsr_op, cnt, room);
			break;
		}
		if (cnt > room)
			cnt = room;
		/* answer first; the offers follow on the message path */
		a.nm_subchannel_complete.nsc_status = HVIS_NVSP_STAT_SUCCESS;
		a.nm_subchannel_complete.nsc_count = cnt;
		if (want)
			complete(ch, tid, &a, HVIS_NVSP_MSG_SIZE);
		if (add_sub_channels(n, cnt))
			nv_log(n, VMBUS_LOG_ERROR, "cannot offer %u sub-channels", cnt);
		return;
	}
	default:
		goto unexpected;
	}
	if (want)
		complete(ch, tid, &a, HVIS_NVSP_MSG_SIZE);
	return;
unexpected:
	bad(n, "NVSP message %u not handled (NVSP %#x, channel %u)", m->nm_type,
	    n->version, ch->index);
	if (want) {
		a.nm_type = m->nm_type;
		complete(ch, tid, &a, HVIS_NVSP_MSG_SIZE);
	}
}

/* The guest completed one of our transfer-page packets. */
static void xfer_done(struct netvsp *n, uint64_t tid)
{
	uint32_t sec = (uint32_t)tid;

	if ((tid & 0xff00000000000000ull) != XFER_TAG ||
	    (uint32_t)(tid >> 32 & 0xffffff) != (n->recv_gen & 0xffffff)) {
		/* for a receive buffer that is gone: nothing to free */
		if ((tid & 0xff00000000000000ull) != XFER_TAG)
			bad(n, "completion of unknown transaction %#llx",
			    (unsigned long long)tid);
		return;
	}
	if (sec >= n->nsec || !n->sec_busy[sec]) {
		bad(n, "completion of receive section %u that is not in use", sec);
		return;
	}
	sec_free(n, sec);
}

static void handle_packet(struct nv_chan *ch, const struct hvis_ring_pkt *rp)
{
	struct netvsp *n = ch->n;
	uint32_t plen = rp->len - rp->data_off;
	struct hvis_nvsp_msg m;

	if (rp->desc.pd_type == HVIS_PKT_COMPLETION) {
		xfer_done(n, rp->desc.pd_trans_id);
		return;
	}
	if (rp->desc.pd_type != HVIS_PKT_DATA_INBAND &&
	    rp->desc.pd_type != HVIS_PKT_DATA_USING_GPA_DIRECT) {
		bad(n, "packet type %u", rp->desc.pd_type);
		return;
	}
	memset(&m, 0, sizeof(m));
	memcpy(&m, n->pkt + rp->data_off, plen < sizeof(m) ? plen : sizeof(m));
	if (rp->desc.pd_type == HVIS_PKT_DATA_USING_GPA_DIRECT &&
	    m.nm_type != HVIS_NVSP_MSG1_SEND_RNDIS_PKT) {
		bad(n, "NVSP message %u with guest pages", m.nm_type);
		return;
	}
	handle_nvsp(ch, rp, &m, plen);
}

static void drain(struct nv_chan *ch)
{
	struct netvsp *n = ch->n;
	struct hvis_ring *r;
	unsigned int cnt = 0;

	if (!ch->open || ch->broken)
		return;
	r = vmbus_device_in_ring(ch->vdev);
	/* every packet may need one completion slot */
	while (r && ch->open && !ch->broken && ch->cq_count == 0) {
		struct hvis_ring_pkt rp;
		int rc = hvis_ring_peek(r, &rp);

		if (rc == -HVIS_RING_EMPTY) {
			/*
			 * The guest signals only when it finds the ring empty
			 * as published: publish what we read, then look once
			 * more, or a packet written meanwhile waits unseen.
			 */
			if (!cnt)
				break;
			vmbus_device_recv_done(ch->vdev);
			cnt = 0;
			rc = hvis_ring_peek(r, &rp);
			if (rc == -HVIS_RING_EMPTY)
				break;
		}
		if (!rc && (rp.len > MAX_PACKET || rp.data_off < sizeof(rp.desc) ||
			    rp.data_off > rp.len)) {
			bad(n, "%u-byte packet (too large or malformed)", rp.len);
			rc = hvis_ring_consume(r, &rp);
			if (!rc) {
				cnt++;
				continue;
			}
		}
		if (!rc)
			rc = hvis_ring_copy_out(r, &rp, 0, n->pkt, rp.len);
		if (!rc)
			rc = hvis_ring_consume(r, &rp);
		if (rc) {
			nv_log(n, VMBUS_LOG_WARN,
			       "channel %u: ring from the guest broken (%s): channel stopped",
			       ch->index, hvis_ring_strerror(rc));
			ch->broken = true;
			break;
		}
		cnt++;
		handle_packet(ch, &rp);
		if (!(cnt % 32) && ch->open && !ch->broken)
			vmbus_device_recv_done(ch->vdev);
	}
	if (cnt && ch->open && !ch->broken)
		vmbus_device_recv_done(ch->vdev);
}

/* ------------------------------------------------------------ channel */
/* The backend may read again (room, or frames are dropped from now on). */
static void rx_unblock(struct netvsp *n)
{
	if (!n->rx_blocked)
		return;
	n->rx_blocked = false;
	if (n->ops.rx_ready)
		n->ops.rx_ready(n->ops.opaque);
}

/* What belongs to one open of the primary channel. */
static void nic_reset(struct netvsp *n)
{
	recv_buf_drop(n);
	send_buf_drop(n);
	n->version = 0;
	n->ndis_version = 0;
	n->guest_mtu = 0;
	n->ctl_head = n->ctl_count = 0;
	n->link_pending = false;
	rndis_dev_reset(&n->rndis);
}

static void chan_clear(struct nv_chan *ch)
{
	free(ch->ring_pfns);
	ch->ring_pfns = NULL;
	ch->nring = 0;
	ch->cq_head = ch->cq_count = 0;
}

/* Channels the adapter offers: one per VP up to 8, or the configured count. */
static uint32_t max_queues(const struct netvsp *n)
{
	uint32_t q = n->cfg.queues ? n->cfg.queues : (n->nvps < 8 ? n->nvps : 8);

	if (q > n->nvps)
		q = n->nvps;
	if (q > NETVSP_MAX_QUEUES)
		q = NETVSP_MAX_QUEUES;
	return q ? q : 1;
}

static int d_open(struct vmbus_device *dev, void *opaque,
		  const struct vmbus_open_info *info)
{
	struct nv_chan *ch = opaque;
	struct netvsp *n = ch->n;
	const uint64_t *pfns;
	uint32_t cnt;

	(void)info;
	if (!ch->index) {
		nic_reset(n);
		n->logged_bad = false;
		/* RSS only when sub-channels can follow */
		n->rndis.cfg.rss_queues = max_queues(n) > 1 ? max_queues(n) : 0;
	}
	chan_clear(ch);
	if (!vmbus_device_ring_pfns(dev, &pfns, &cnt) && cnt) {
		ch->ring_pfns = malloc(cnt * sizeof(uint64_t));
		if (!ch->ring_pfns)
			return -ENOMEM;
		memcpy(ch->ring_pfns, pfns, cnt * sizeof(uint64_t));
		qsort(ch->ring_pfns, cnt, sizeof(uint64_t), pfn_cmp);
		ch->nring = cnt;
	}
	ch->open = true;
	ch->broken = false;
	nv_log(n, VMBUS_LOG_DEBUG, "channel %u open", ch->index);
	return 0;
}

static void d_close(struct vmbus_device *dev, void *opaque)
{
	struct nv_chan *ch = opaque;
	struct netvsp *n = ch->n;

	(void)dev;
	if (!ch->open)
		return;
	/* the server drops our GPADL borrows with the channel */
	ch->open = false;
	if (!ch->index)
		nic_reset(n);
	chan_clear(ch);
	nv_log(n, VMBUS_LOG_DEBUG, "channel %u closed", ch->index);
	if (!ch->index && n->srv) {
		/* sub-channels live only as long as their primary is open */
		for (uint32_t i = 1; i < n->nch; i++)
			if (n->ch[i])
				vmbus_server_rescind(n->ch[i]->vdev);
	}
	rx_unblock(n);
}

static void d_packet_in(struct vmbus_device *dev, void *opaque)
{
	struct nv_chan *ch = opaque;
	struct netvsp *n = ch->n;

	(void)dev;
	cq_flush(ch);
	drain(ch);
	if (cq_flush(ch))
		drain(ch);
	ctl_flush(n);
	if (n->rx_blocked && n->nfree && !n->ctl_count && prim(n))
		rx_unblock(n);
}

static void d_rescinded(struct vmbus_device *dev, void *opaque)
{
	struct nv_chan *ch = opaque;
	struct netvsp *n = ch->n;

	(void)dev;
	ch->open = false;
	if (!ch->index)
		nic_reset(n);
	chan_clear(ch);
	if (ch->index < NETVSP_MAX_QUEUES && n->ch[ch->index] == ch)
		n->ch[ch->index] = NULL;
	while (n->nch && !n->ch[n->nch - 1])
		n->nch--;
	free(ch);
	rx_unblock(n);
}

static const struct vmbus_device_ops nv_ops = {
	.open = d_open,
	.close = d_close,
	.packet_in = d_packet_in,
	.rescinded = d_rescinded,
};

static struct nv_chan *chan_add(struct netvsp *n, uint16_t index)
{
	struct vmbus_offer_params p = {
		.class_id = HVIS_GUID_NET,
		.instance_id = n->cfg.instance,
		.sub_channel_index = index,
	};
	struct nv_chan *ch;

	if (index >= NETVSP_MAX_QUEUES || n->ch[index])
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->n = n;
	ch->index = index;
	n->ch[index] = ch;
	if (index >= n->nch)
		n->nch = index + 1u;
	ch->vdev = vmbus_server_add_device_ex(n->srv, &p, &nv_ops, ch);
	if (!ch->vdev) {
		n->ch[index] = NULL;
		while (n->nch && !n->ch[n->nch - 1])
			n->nch--;
		free(ch);
		return NULL;
	}
	return ch;
}

static int add_sub_channels(struct netvsp *n, uint32_t count)
{
	uint32_t added = 0;

	for (uint16_t i = 1; i < NETVSP_MAX_QUEUES && added < count; i++) {
		if (n->ch[i])
			continue;
		if (!chan_add(n, i))
			return -ENOMEM;
		added++;
	}
	nv_log(n, VMBUS_LOG_INFO, "%u sub-channel%s offered (vRSS)", added,
	       added == 1 ? "" : "s");
	return 0;
}

/* ------------------------------------------------------------ API */
struct netvsp *netvsp_create(const struct netvsp_cfg *cfg,
			     const struct netvsp_host_ops *ops)
{
	struct rndis_dev_cfg rc = { 0 };
	struct netvsp *n;

	if (!cfg || !ops || !ops->guest_page || !ops->tx)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->cfg = *cfg;
	if (n->cfg.mtu < RNDIS_MTU_MIN || n->cfg.mtu > RNDIS_MTU_MAX)
		n->cfg.mtu = 1500;
	snprintf(n->name, sizeof(n->name), "%s", cfg->name ? cfg->name : "net");
	n->cfg.name = n->name;
	n->ops = *ops;
	memcpy(rc.mac, cfg->mac, 6);
	rc.mtu = n->cfg.mtu;
	rndis_dev_init(&n->rndis, &rc);
	n->link_up = true;
	n->nvps = 1;
	n->pkt = malloc(MAX_PACKET);
	n->txbuf = malloc(NETVSP_TX_MAX);
	n->frame = malloc(RNDIS_MTU_MAX + RNDIS_ETH_HLEN + 64 + 4);
	if (!n->pkt || !n->txbuf || !n->frame) {
		netvsp_destroy(n);
		return NULL;
	}
	return n;
}

void netvsp_destroy(struct netvsp *n)
{
	if (!n)
		return;
	netvsp_detach(n);
	nic_reset(n);
	free(n->pkt);
	free(n->txbuf);
	free(n->frame);
	free(n);
}

int netvsp_attach(struct netvsp *n, struct vmbus_server *srv, uint32_t nvps)
{
	if (n->srv)
		return -EBUSY;
	n->srv = srv;
	n->nvps = nvps ? nvps : 1;
	n->rx_blocked = false;
	if (!chan_add(n, 0)) {
		n->srv = NULL;
		return -ENOMEM;
	}
	return 0;
}

void netvsp_detach(struct netvsp *n)
{
	if (!n->srv)
		return;
	/*
	 * The server closes and releases the channels when it is destroyed
	 * (d_close, d_rescinded); from here on nothing is sent.
	 */
	for (uint32_t i = 0; i < n->nch; i++)
		if (n->ch[i]) {
			n->ch[i]->open = false;
			chan_clear(n->ch[i]);
		}
	nic_reset(n);
	n->srv = NULL;
	rx_unblock(n);
}

/* The channel a frame goes up on: by its flow, among the open ones. */
static struct nv_chan *rx_chan(struct netvsp *n, const uint8_t *f, uint32_t len)
{
	struct nv_chan *open[NETVSP_MAX_QUEUES];
	uint32_t cnt = 0, h = 2166136261u, from = 0, to = 0;

	for (uint32_t i = 0; i < n->nch; i++)
		if (n->ch[i] && n->ch[i]->open && !n->ch[i]->broken)
			open[cnt++] = n->ch[i];
	if (cnt <= 1 || !prim(n))
		return prim(n);
	/* IPv4: addresses and, for TCP/UDP, ports; IPv6: addresses */
	if (len >= 34 && f[12] == 0x08 && f[13] == 0x00) {
		uint32_t ihl = (f[14] & 15u) * 4;

		from = 26;
		to = 34;
		if ((f[23] == 6 || f[23] == 17) && ihl >= 20 && len >= 14 + ihl + 4 &&
		    !(f[20] & 0x3f) && !f[21])	/* not a fragment */
			to = 14 + ihl + 4;
	} else if (len >= 54 && f[12] == 0x86 && f[13] == 0xdd) {
		from = 22;
		to = 54;
	}
	if (from == to)
		return prim(n);
	for (uint32_t i = from; i < to; i++)
		h = (h ^ f[i]) * 16777619u;
	/* FNV's low bits are weak: mix before taking the remainder */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return open[h % cnt];
}

int netvsp_rx(struct netvsp *n, const uint8_t *frame, uint32_t len)
{
	uint8_t hdr[RNDIS_DATA_HDR_LEN];
	struct nv_chan *ch;
	int rc;

	ch = prim(n) && n->link_up && rndis_filter_accepts(&n->rndis, frame, len) ?
	     rx_chan(n, frame, len) : NULL;
	if (!ch || ch->broken) {
		n->st.rx_dropped++;
		return -ENOTCONN;
	}
	if (ch->cq_count || n->ctl_count || n->link_pending) {
		/* what the guest waits for goes first */
		if (cq_flush(ch))
			drain(ch);	/* it stopped reading behind the queue */
		ctl_flush(n);
		if (ch->cq_count || n->ctl_count || n->link_pending) {
			n->st.rx_busy++;
			n->rx_blocked = true;
			return -EAGAIN;
		}
	}
	rndis_data_header(hdr, len);
	rc = deliver(n, ch, hdr, sizeof(hdr), frame, len);
	if (rc == -EAGAIN) {
		n->st.rx_busy++;
		n->rx_blocked = true;
		return rc;
	}
	if (rc) {
		n->st.rx_dropped++;
		return rc == -EMSGSIZE ? -EMSGSIZE : -ENOTCONN;
	}
	n->st.rx_frames++;
	n->st.rx_bytes += len;
	return 0;
}

void netvsp_set_link(struct netvsp *n, bool up)
{
	if (n->link_up == up)
		return;
	n->link_up = up;
	n->rndis.link_up = up;
	nv_log(n, VMBUS_LOG_INFO, "link %s", up ? "up" : "down");
	if (prim(n) && n->rndis.initialized) {
		n->link_pending = true;
		ctl_flush(n);
	}
}

const uint8_t *netvsp_mac(const struct netvsp *n)
{
	return n->cfg.mac;
}

void netvsp_get_info(const struct netvsp *n, struct netvsp_info *info)
{
	const struct nv_chan *p = n->srv ? prim(n) : NULL;

	memset(info, 0, sizeof(*info));
	info->state = !p ? NETVSP_CLOSED :
		      p->broken ? NETVSP_FAILED :
		      n->recv_view && n->rndis.initialized ? NETVSP_READY :
		      NETVSP_NEGOTIATING;
	info->nvsp_version = n->version;
	info->ndis_version = n->ndis_version;
	info->guest_mtu = n->guest_mtu;
	info->recv_sections = n->nsec;
	info->recv_section_size = n->recv_view ? n->sec_size : 0;
	info->recv_free = n->nfree;
	info->send_sections = n->send_nsec;
	info->packet_filter = n->rndis.filter;
	info->link_up = n->link_up;
	info->rndis_ready = n->rndis.initialized;
	for (uint32_t i = 0; i < n->nch; i++)
		if (n->ch[i] && n->ch[i]->open) {
			info->channels++;
			info->completions_waiting += n->ch[i]->cq_count;
		}
	info->control_waiting = n->ctl_count + n->link_pending;
	info->rx_blocked = n->rx_blocked;
	if (p && !p->broken) {
		struct hvis_ring *in = vmbus_device_in_ring(p->vdev);
		struct hvis_ring *out = vmbus_device_out_ring(p->vdev);
		int64_t b = in ? hvis_ring_bytes_to_read(in) : -1;
		int64_t f = out ? hvis_ring_bytes_to_write(out) : -1;

		info->in_ring_bytes = b > 0 ? (uint64_t)b : 0;
		info->out_ring_free = f > 0 ? (uint64_t)f : 0;
	}
}

void netvsp_get_stats(const struct netvsp *n, struct netvsp_stats *st)
{
	*st = n->st;
}

const char *netvsp_state_name(enum netvsp_state st)
{
	switch (st) {
	case NETVSP_CLOSED:
		return "closed";
	case NETVSP_NEGOTIATING:
		return "negotiating";
	case NETVSP_READY:
		return "ready";
	case NETVSP_FAILED:
		return "failed";
	}
	return "?";
}
