// SPDX-License-Identifier: GPL-2.0-only
/*
 * netvsp tests: the synthetic network adapter on a real VMBus server over
 * a fake host, driven the way Linux 6.1's hv_netvsc drives it
 * (drivers/net/hyperv/netvsc.c, rndis_filter.c): NVSP INIT with min =
 * max = each candidate, newest first, until one succeeds; NDIS_CONFIG
 * (MTU + 14) and SEND_NDIS_VER without completion; the receive buffer
 * (id 0xCAFE) and the send buffer (id 0) as GPADLs, answered by
 * completions that are checked as Linux checks them; RNDIS control
 * messages in guest pages (GPA-direct, channel type 1), their answers
 * read from receive sections named by transfer-page packets, each
 * completed with SEND_RNDIS_PKT_COMPLETE and the packet's trans_id; data
 * both ways. Guest memory is a memfd; the backend records the frames it
 * is given. Plus the pure RNDIS logic (rndis.c) on its own, and hostile
 * packets of every kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#include <hvis/nvsp.h>
#include <hvis/rndis.h>
#include <hvis/vmbus.h>

#include "host-vsp/net/netvsp.h"
#include "host-vsp/net/nic.h"
#include "host-vsp/net/rndis.h"
#include "host-vsp/vspd/vspd.h"
#include "unit.h"

#define PG		4096u
#define MEM_PAGES	128u
#define RING_PFN	0u
#define RING_UP		4u	/* guest -> host: control page + 3 */
#define RING_DOWN	4u
#define RECV_PFN	16u
#define RECV_PAGES	24u
#define SEND_PFN	48u
#define SEND_PAGES	8u
#define DATA_PFN	64u
#define G_RING		1u
#define G_RECV		2u
#define G_SEND		3u
#define MAXPKT		64
#define MAXFRAMES	64

static const uint8_t MAC[6] = { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 };

struct hpkt {			/* a packet from the host, as the guest read it */
	uint16_t type, flags;
	uint64_t tid;
	uint32_t hlen, len;	/* type header after the descriptor; payload */
	uint8_t hdr[64];
	uint8_t data[256];
};

static struct {
	int memfd;
	uint8_t *gmem;
	int maps;
	unsigned int logs;
	struct vmbus_server *srv;
	struct netvsp *nv;
	struct hvis_chmsg_offer offer;
	bool have_offer;
	struct hvis_ring gw, gr;
	bool open;
	uint64_t next_id;
	struct hpkt pk[MAXPKT];
	unsigned int npk;
	uint8_t frames[MAXFRAMES][9100];
	uint32_t flen[MAXFRAMES];
	unsigned int nframes;
	int tx_fail;
	unsigned int rx_ready;
	uint32_t rndis_req;
	/* vRSS sub-channels 1..3 */
	struct hvis_chmsg_offer soff[4];
	bool shave[4];
	struct hvis_ring sgw[4], sgr[4];
	unsigned int rescinds;
	uint32_t nvps;
} S;

static uint32_t g_nvps = 1;	/* the next fresh()'s VPs */

/* ------------------------------------------------------------ fake host */
static int f_post(void *o, uint32_t vp, uint32_t sint, const void *m,
		  uint32_t len)
{
	struct hvis_guid net = HVIS_GUID_NET;
	uint32_t type;

	(void)o;
	(void)vp;
	(void)sint;
	memcpy(&type, m, 4);
	if (type == HVIS_CHMSG_OFFERCHANNEL && len >= sizeof(S.offer)) {
		struct hvis_chmsg_offer of;

		memcpy(&of, m, sizeof(of));
		if (memcmp(&of.of_if_type, &net, sizeof(net)))
			return 0;
		if (!of.of_sub_channel_index) {
			S.offer = of;
			S.have_offer = true;
		} else if (of.of_sub_channel_index < 4) {
			CU_ASSERT(!memcmp(&of.of_if_instance, &S.offer.of_if_instance, 16));
			S.soff[of.of_sub_channel_index] = of;
			S.shave[of.of_sub_channel_index] = true;
		} else {
			CU_FAIL("sub-channel index beyond what was asked");
		}
	}
	if (type == HVIS_CHMSG_RESCIND_CHANNELOFFER)
		S.rescinds++;
	return 0;
}

static int f_signal(void *o, uint32_t vp, uint32_t sint, uint32_t flag)
{
	(void)o;
	(void)vp;
	(void)sint;
	(void)flag;
	return 0;
}

static int f_map(void *o, const uint64_t *pfns, uint32_t n, void **view)
{
	uint8_t *base;

	(void)o;
	for (uint32_t i = 0; i < n; i++)
		if (pfns[i] >= MEM_PAGES)
			return -EFAULT;
	base = mmap(NULL, (size_t)n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		if (mmap(base + (size_t)i * PG, PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, S.memfd, (off_t)(pfns[i] * PG)) == MAP_FAILED)
			return -ENOMEM;
	*view = base;
	S.maps++;
	return 0;
}

static void f_unmap(void *o, void *view, uint32_t n)
{
	(void)o;
	munmap(view, (size_t)n * PG);
	S.maps--;
}

static void f_log(void *o, enum vmbus_log_level lvl, const char *m)
{
	(void)o;
	(void)lvl;
	CU_ASSERT(strlen(m) < 256);
	if (getenv("HVIS_UNIT_LOG"))
		fprintf(stderr, "[%d] %s\n", lvl, m);
	S.logs++;
}

static const struct vmbus_server_ops srv_ops = {
	.post_message = f_post, .signal_guest = f_signal, .map_pages = f_map,
	.unmap_pages = f_unmap, .log = f_log,
};

static void *h_page(void *o, uint64_t pfn)
{
	(void)o;
	return pfn < MEM_PAGES ? S.gmem + pfn * PG : NULL;
}

static int h_tx(void *o, const uint8_t *f, uint32_t len)
{
	(void)o;
	if (S.tx_fail)
		return S.tx_fail;
	CU_ASSERT_FATAL(S.nframes < MAXFRAMES && len <= sizeof(S.frames[0]));
	memcpy(S.frames[S.nframes], f, len);
	S.flen[S.nframes++] = len;
	return 0;
}

static void h_rx_ready(void *o)
{
	(void)o;
	S.rx_ready++;
}

static const struct netvsp_host_ops host_ops = {
	.guest_page = h_page, .tx = h_tx, .rx_ready = h_rx_ready, .log = f_log,
};

/* ------------------------------------------------------------ the guest */
static void gmsg(const void *m, size_t len)
{
	vmbus_server_handle_message(S.srv, 0, 1, m, len);
}

static void gpadl(uint32_t handle, uint32_t pfn0, uint32_t n)
{
	uint8_t b[HVIS_MESSAGE_PAYLOAD_MAX];
	struct hvis_chmsg_gpadl_header h;
	struct hvis_gpa_range r = { .gr_byte_count = n * PG };

	memset(&h, 0, sizeof(h));
	h.gh_hdr.ch_msgtype = HVIS_CHMSG_GPADL_HEADER;
	h.gh_child_relid = S.offer.of_child_relid;
	h.gh_gpadl = handle;
	h.gh_range_buflen = (uint16_t)(8 + 8 * n);
	h.gh_rangecount = 1;
	memcpy(b, &h, sizeof(h));
	memcpy(b + 20, &r, sizeof(r));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pfn = pfn0 + i;

		memcpy(b + 28 + 8 * i, &pfn, 8);
	}
	gmsg(b, 28 + 8 * n);
}

static void fresh(uint32_t max_version, uint32_t mtu)
{
	struct vmbus_server_options so = { .nvps = g_nvps };
	struct netvsp_cfg cfg = { .mtu = mtu, .max_version = max_version,
				  .name = "net0" };
	struct hvis_chmsg_initiate_contact ic;
	struct hvis_chmsg_hdr ro = { .ch_msgtype = HVIS_CHMSG_REQUESTOFFERS };

	memset(&S, 0, sizeof(S));
	S.nvps = g_nvps;
	S.memfd = memfd_create("hvis-netvsp-guest", 0);
	CU_ASSERT_FATAL(S.memfd >= 0);
	CU_ASSERT_FATAL(ftruncate(S.memfd, (off_t)MEM_PAGES * PG) == 0);
	S.gmem = mmap(NULL, (size_t)MEM_PAGES * PG, PROT_READ | PROT_WRITE,
		      MAP_SHARED, S.memfd, 0);
	CU_ASSERT_FATAL(S.gmem != MAP_FAILED);
	memcpy(cfg.mac, MAC, 6);
	S.nv = netvsp_create(&cfg, &host_ops);
	CU_ASSERT_FATAL(S.nv != NULL);
	S.srv = vmbus_server_create(&so, &srv_ops);
	CU_ASSERT_FATAL(S.srv != NULL);
	CU_ASSERT_FATAL(netvsp_attach(S.nv, S.srv, g_nvps) == 0);
	memset(&ic, 0, sizeof(ic));
	ic.ic_hdr.ch_msgtype = HVIS_CHMSG_INITIATE_CONTACT;
	ic.ic_version_requested = HVIS_VMBUS_VERSION_WS2022;
	ic.ic_msg_sint = HVIS_VMBUS_MESSAGE_SINT;
	vmbus_server_handle_message(S.srv, 0, 4, &ic, sizeof(ic));
	gmsg(&ro, sizeof(ro));
	CU_ASSERT_FATAL(S.have_offer);
	S.next_id = 1;
}

static void chan_open(void)
{
	struct hvis_chmsg_open om;
	uint8_t *ring = S.gmem + RING_PFN * PG;

	memset(ring, 0, (RING_UP + RING_DOWN) * PG);
	CU_ASSERT_FATAL(hvis_ring_attach(&S.gw, (void *)ring, ring + PG,
					 (RING_UP - 1) * PG, HVIS_RING_WRITER) == 0);
	CU_ASSERT_FATAL(hvis_ring_attach(&S.gr, (void *)(ring + RING_UP * PG),
					 ring + (RING_UP + 1) * PG,
					 (RING_DOWN - 1) * PG, HVIS_RING_READER) == 0);
	gpadl(G_RING, RING_PFN, RING_UP + RING_DOWN);
	memset(&om, 0, sizeof(om));
	om.op_hdr.ch_msgtype = HVIS_CHMSG_OPENCHANNEL;
	om.op_child_relid = S.offer.of_child_relid;
	om.op_openid = 1;
	om.op_ring_gpadl = G_RING;
	om.op_downstream_page_offset = RING_UP;
	gmsg(&om, sizeof(om));
	CU_ASSERT_FATAL(vmbus_device_state(vmbus_server_device_by_relid(
		S.srv, S.offer.of_child_relid)) == VMBUS_CHAN_OPEN);
	S.open = true;
}

static void chan_close(void)
{
	struct hvis_chmsg_relid m = { .rl_hdr.ch_msgtype = HVIS_CHMSG_CLOSECHANNEL };
	struct hvis_chmsg_gpadl_teardown t = { .gt_hdr.ch_msgtype = HVIS_CHMSG_GPADL_TEARDOWN };

	m.rl_child_relid = S.offer.of_child_relid;
	gmsg(&m, sizeof(m));
	t.gt_child_relid = S.offer.of_child_relid;
	for (uint32_t g = G_RING; g <= G_SEND; g++) {
		t.gt_gpadl = g;
		gmsg(&t, sizeof(t));
	}
	S.open = false;
}

static void done(void)
{
	netvsp_detach(S.nv);
	vmbus_server_destroy(S.srv);
	netvsp_destroy(S.nv);
	CU_ASSERT_EQUAL(S.maps, 0);
	munmap(S.gmem, (size_t)MEM_PAGES * PG);
	close(S.memfd);
}

/* Read what the host sent into S.pk (appending). */
static void grecv(void)
{
	uint8_t buf[4096];
	struct hvis_ring_pkt p;
	uint32_t len = sizeof(buf);
	bool sig;
	int rc;

	while ((rc = hvis_ring_read(&S.gr, buf, &len, &p)) == 0) {
		struct hpkt *h = &S.pk[S.npk];

		CU_ASSERT_FATAL(S.npk < MAXPKT);
		S.npk++;
		h->type = p.desc.pd_type;
		h->flags = p.desc.pd_flags;
		h->tid = p.desc.pd_trans_id;
		h->hlen = p.data_off - 16;
		h->len = len - p.data_off;
		CU_ASSERT_FATAL(h->hlen <= sizeof(h->hdr) && h->len <= sizeof(h->data));
		memcpy(h->hdr, buf + 16, h->hlen);
		memcpy(h->data, buf + p.data_off, h->len);
		len = sizeof(buf);
	}
	CU_ASSERT_EQUAL(rc, -HVIS_RING_EMPTY);
	hvis_ring_commit(&S.gr, &sig);
	if (sig)
		vmbus_server_signal(S.srv, S.offer.of_connection_id);
}

static uint64_t gsend(uint16_t type, uint16_t flags, const void *hdr,
		      uint32_t hlen, const void *p, uint32_t len)
{
	struct hvis_pkt_desc d = { .pd_type = type, .pd_flags = flags };
	struct hvis_iov iov[2];
	unsigned int n = 0;
	bool sig = false;

	d.pd_trans_id = S.next_id++;
	if (hlen)
		iov[n++] = (struct hvis_iov){ hdr, hlen };
	if (len)
		iov[n++] = (struct hvis_iov){ p, len };
	CU_ASSERT_FATAL(hvis_ring_send(&S.gw, &d, hlen, iov, n, &sig) == 0);
	/* Linux signals when the ring was empty; always is fine for tests */
	vmbus_server_signal(S.srv, S.offer.of_connection_id);
	return d.pd_trans_id;
}

/* The last host packet that completes @tid; NULL if none. */
static struct hpkt *completion_of(uint64_t tid)
{
	for (unsigned int i = S.npk; i-- > 0;)
		if (S.pk[i].type == HVIS_PKT_COMPLETION && S.pk[i].tid == tid)
			return &S.pk[i];
	return NULL;
}

/* An NVSP request (40 bytes, as Linux sends), answered by a completion? */
static struct hpkt *nvsp(uint32_t type, const void *body, uint32_t blen, bool want)
{
	struct hvis_nvsp_msg m;
	uint64_t tid;

	memset(&m, 0, sizeof(m));
	m.nm_type = type;
	if (blen)
		memcpy(m.nm_body, body, blen);
	S.npk = 0;
	tid = gsend(HVIS_PKT_DATA_INBAND, want ? HVIS_PKT_FLAG_COMPLETION_REQUESTED : 0,
		    NULL, 0, &m, sizeof(m));
	grecv();
	return completion_of(tid);
}

static uint32_t rd32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Linux's probe up to the buffers; the negotiated version. */
static uint32_t handshake(uint32_t mtu)
{
	static const uint32_t vers[] = { 0x60001, 0x60000, 0x50000, 0x40000, 0x30002, 0x2 };
	struct hvis_nvsp_init in;
	struct hvis_nvsp_ndis_config nc = { .nnc_mtu = mtu + 14,
		.nnc_capabilities = HVIS_NVSP_CAP_IEEE8021Q };
	struct hvis_nvsp_ndis_version nv;
	struct hvis_nvsp_send_buf sb;
	struct hvis_nvsp_recv_buf_complete rc;
	struct hvis_nvsp_send_buf_complete sc;
	struct hpkt *h;
	uint32_t v = 0;

	for (size_t i = 0; i < sizeof(vers) / 4 && !v; i++) {
		in.ni_min_version = in.ni_max_version = vers[i];
		h = nvsp(HVIS_NVSP_MSG_INIT, &in, sizeof(in), true);
		CU_ASSERT_FATAL(h != NULL);
		/* netvsc_send_completion: at least header + recv_buf_complete */
		CU_ASSERT_FATAL(h->len >= 4 + sizeof(struct hvis_nvsp_recv_buf_complete));
		CU_ASSERT_EQUAL(rd32(h->data), HVIS_NVSP_MSG_INIT_COMPLETE);
		if (rd32(h->data + 12) == HVIS_NVSP_STAT_SUCCESS) {
			v = vers[i];
			CU_ASSERT_EQUAL(rd32(h->data + 4), v);
		}
	}
	CU_ASSERT_FATAL(v != 0);
	if (v >= HVIS_NVSP_VERSION_2)
		CU_ASSERT(nvsp(HVIS_NVSP_MSG2_SEND_NDIS_CONFIG, &nc, sizeof(nc), false) == NULL);
	nv.nnv_major = 6;
	nv.nnv_minor = v <= HVIS_NVSP_VERSION_4 ? 1 : 30;
	CU_ASSERT(nvsp(HVIS_NVSP_MSG1_SEND_NDIS_VER, &nv, sizeof(nv), false) == NULL);
	gpadl(G_RECV, RECV_PFN, RECV_PAGES);
	sb.nsb_gpadl = G_RECV;
	sb.nsb_id = HVIS_NVSP_RECV_BUF_ID;
	h = nvsp(HVIS_NVSP_MSG1_SEND_RECV_BUF, &sb, sizeof(sb), true);
	CU_ASSERT_FATAL(h != NULL && h->len >= 4 + sizeof(rc));
	CU_ASSERT_EQUAL(rd32(h->data), HVIS_NVSP_MSG1_SEND_RECV_BUF_COMPLETE);
	memcpy(&rc, h->data + 4, sizeof(rc));
	/* what netvsc_init_buf requires */
	CU_ASSERT_EQUAL(rc.nrc_status, HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT_EQUAL(rc.nrc_num_sections, 1);
	CU_ASSERT_EQUAL(rc.nrc_section.nrs_offset, 0);
	CU_ASSERT(rc.nrc_section.nrs_sub_alloc_size >= 68);
	CU_ASSERT(rc.nrc_section.nrs_sub_alloc_size >= mtu + 14 + RNDIS_DATA_HDR_LEN);
	CU_ASSERT((uint64_t)rc.nrc_section.nrs_sub_alloc_size *
		  rc.nrc_section.nrs_num_sub_allocs <= RECV_PAGES * PG);
	CU_ASSERT(rc.nrc_section.nrs_num_sub_allocs > 0);
	gpadl(G_SEND, SEND_PFN, SEND_PAGES);
	sb.nsb_gpadl = G_SEND;
	sb.nsb_id = HVIS_NVSP_SEND_BUF_ID;
	h = nvsp(HVIS_NVSP_MSG1_SEND_SEND_BUF, &sb, sizeof(sb), true);
	CU_ASSERT_FATAL(h != NULL && h->len >= 4 + sizeof(sc));
	CU_ASSERT_EQUAL(rd32(h->data), HVIS_NVSP_MSG1_SEND_SEND_BUF_COMPLETE);
	memcpy(&sc, h->data + 4, sizeof(sc));
	CU_ASSERT_EQUAL(sc.nsc_status, HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT_EQUAL(sc.nsc_section_size, NETVSP_SEND_SECTION_SIZE);
	return v;
}

/*
 * The RNDIS messages the host put into receive sections (from the
 * transfer-page packets in S.pk), each completed as Linux does. Copies
 * the first into @out (up to @cap), returns how many there were.
 */
static unsigned int take_rndis(uint8_t *out, uint32_t cap, uint32_t *olen)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < S.npk; i++) {
		struct hpkt *h = &S.pk[i];
		struct hvis_nvsp_msg c = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE };
		struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_COMPLETION, .pd_trans_id = h->tid };
		struct hvis_iov iov = { &c, 8 };
		uint32_t off, cnt, count;
		uint16_t ps;
		bool sig;

		if (h->type != HVIS_PKT_DATA_USING_TRANSFER_PAGES)
			continue;
		/* netvsc_receive's checks */
		CU_ASSERT_FATAL(h->hlen >= 16);
		CU_ASSERT(h->flags & HVIS_PKT_FLAG_COMPLETION_REQUESTED);
		memcpy(&ps, h->hdr, 2);
		CU_ASSERT_EQUAL(ps, HVIS_NVSP_RECV_BUF_ID);
		count = rd32(h->hdr + 4);
		CU_ASSERT_FATAL(count == 1 && 24 + 8 * count <= 16 + h->hlen);
		cnt = rd32(h->hdr + 8);
		off = rd32(h->hdr + 12);
		CU_ASSERT_FATAL(h->len >= 4);
		CU_ASSERT_EQUAL(rd32(h->data), HVIS_NVSP_MSG1_SEND_RNDIS_PKT);
		CU_ASSERT_FATAL(off <= RECV_PAGES * PG && cnt <= RECV_PAGES * PG - off);
		CU_ASSERT_FATAL(cnt >= 8 && rd32(S.gmem + RECV_PFN * PG + off + 4) <= cnt);
		if (!n && out) {
			*olen = cnt < cap ? cnt : cap;
			memcpy(out, S.gmem + RECV_PFN * PG + off, *olen);
		}
		n++;
		c.nm_rndis_pkt_complete.nrpc_status = HVIS_NVSP_STAT_SUCCESS;
		CU_ASSERT_FATAL(hvis_ring_send(&S.gw, &d, 0, &iov, 1, &sig) == 0);
		vmbus_server_signal(S.srv, S.offer.of_connection_id);
	}
	return n;
}

/*
 * Send @msg (RNDIS, @len bytes) at @off in data page(s) as GPA-direct,
 * channel type @chan, section @sec. The completion's status.
 */
static uint32_t rndis_gpa(const void *msg, uint32_t len, uint32_t off,
			  uint32_t chan, uint32_t sec, uint32_t sec_size)
{
	struct {
		uint32_t reserved, count;
		uint32_t cnt, off;
		uint64_t pfn[4];
	} __attribute__((packed)) g = { 0, 1, len, off, { DATA_PFN, DATA_PFN + 1,
							    DATA_PFN + 2, DATA_PFN + 3 } };
	struct hvis_nvsp_msg m = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };
	struct hpkt *h;
	uint64_t tid;
	uint32_t npg = (off + len + PG - 1) / PG;

	memcpy(S.gmem + DATA_PFN * PG + off, msg, len);
	m.nm_rndis_pkt.nrp_channel_type = chan;
	m.nm_rndis_pkt.nrp_section_index = sec;
	m.nm_rndis_pkt.nrp_section_size = sec_size;
	S.npk = 0;
	tid = gsend(len ? HVIS_PKT_DATA_USING_GPA_DIRECT : HVIS_PKT_DATA_INBAND,
		    HVIS_PKT_FLAG_COMPLETION_REQUESTED, &g, len ? 16 + 8 * npg : 0,
		    &m, sizeof(m));
	grecv();
	h = completion_of(tid);
	CU_ASSERT_FATAL(h != NULL && h->len >= 8);
	CU_ASSERT_EQUAL(rd32(h->data), HVIS_NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
	return rd32(h->data + 4);
}

/* A QUERY or SET as rndis_filter sends it; the answer in @ans. */
static uint32_t rndis_req(uint32_t type, uint32_t oid, const void *info,
			  uint32_t ilen, uint8_t *ans, uint32_t *alen)
{
	uint8_t m[1024];
	struct hvis_rndis_oid_req q = {
		.ro_req_id = ++S.rndis_req, .ro_oid = oid, .ro_info_len = ilen,
		.ro_info_offset = sizeof(q),
	};
	uint32_t len = 8 + sizeof(q) + ilen;

	CU_ASSERT_FATAL(len <= sizeof(m));
	memcpy(m, &type, 4);
	memcpy(m + 4, &len, 4);
	memcpy(m + 8, &q, sizeof(q));
	if (ilen)
		memcpy(m + 8 + sizeof(q), info, ilen);
	CU_ASSERT_EQUAL(rndis_gpa(m, len, 100, HVIS_NVSP_CHANNEL_CONTROL,
				  HVIS_NVSP_INVALID_SECTION, 0), HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT_FATAL(take_rndis(ans, 256, alen) == 1);
	CU_ASSERT_EQUAL(rd32(ans), type | HVIS_RNDIS_MSG_COMPLETION);
	CU_ASSERT_EQUAL(rd32(ans + 8), S.rndis_req);
	return rd32(ans + 12);
}

/* A QUERY checked as rndis_filter_query_device checks it: the info. */
static uint32_t query(uint32_t oid, const void *in, uint32_t ilen, uint8_t *info,
		      uint32_t cap, uint32_t *ilen_out)
{
	uint8_t a[256];
	uint32_t alen, st, il, io;

	st = rndis_req(HVIS_RNDIS_MSG_QUERY, oid, in, ilen, a, &alen);
	CU_ASSERT_FATAL(alen >= 24 && rd32(a + 4) == alen);
	il = rd32(a + 16);
	io = rd32(a + 20);
	if (st == HVIS_RNDIS_STATUS_SUCCESS) {
		CU_ASSERT_FATAL(il <= cap && io >= 16 && alen - 8 >= io &&
				alen - 8 - io >= il);
		memcpy(info, a + 8 + io, il);
	}
	*ilen_out = il;
	return st;
}

/* The whole of rndis_filter_device_add's RNDIS part. */
static void rndis_probe(void)
{
	uint8_t m[64], a[256], info[200];
	struct hvis_rndis_init in = { .ri_req_id = 77, .ri_major = 1,
				      .ri_max_xfer_size = 0x4000 };
	uint8_t oh[156] = { HVIS_NDIS_OBJ_TYPE_OFFLOAD, 3, 156, 0 };
	uint8_t params[40] = { HVIS_NDIS_OBJ_TYPE_DEFAULT, 3, 40, 0, 1 /* ip csum off */ };
	uint32_t len = 8 + sizeof(in), alen, il, v;

	memcpy(m, (uint32_t[]){ HVIS_RNDIS_MSG_INIT }, 4);
	memcpy(m + 4, &len, 4);
	memcpy(m + 8, &in, sizeof(in));
	CU_ASSERT_EQUAL(rndis_gpa(m, len, 4000 /* crosses a page */,
				  HVIS_NVSP_CHANNEL_CONTROL, HVIS_NVSP_INVALID_SECTION, 0),
			HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT_FATAL(take_rndis(a, sizeof(a), &alen) == 1);
	CU_ASSERT_EQUAL(rd32(a), HVIS_RNDIS_MSG_INIT_C);
	CU_ASSERT_EQUAL(rd32(a + 8), 77);
	CU_ASSERT_EQUAL(rd32(a + 12), HVIS_RNDIS_STATUS_SUCCESS);
	CU_ASSERT(rd32(a + 32) >= 1);			/* packets per message */
	CU_ASSERT(rd32(a + 40) < 32);			/* alignment shift */

	CU_ASSERT_EQUAL(query(HVIS_OID_GEN_MAXIMUM_FRAME_SIZE, NULL, 0, info, 4, &il), 0);
	CU_ASSERT_EQUAL(il, 4);
	CU_ASSERT(rd32(info) >= 1500);
	CU_ASSERT_EQUAL(query(HVIS_OID_802_3_PERMANENT_ADDRESS, NULL, 0, info, 6, &il), 0);
	CU_ASSERT(il == 6 && !memcmp(info, MAC, 6));
	CU_ASSERT_EQUAL(query(HVIS_OID_GEN_FRIENDLY_NAME, NULL, 0, info, 200, &il),
			HVIS_RNDIS_STATUS_NOT_SUPPORTED);
	/* the offload capabilities: as rndis_query_hwcaps checks them */
	CU_ASSERT_EQUAL(query(HVIS_OID_TCP_OFFLOAD_HW_CAPABILITIES, oh, sizeof(oh), info, 156, &il), 0);
	CU_ASSERT(il >= HVIS_NDIS_OFFLOAD_SIZE_6_0 && il <= 156);
	CU_ASSERT_EQUAL(info[0], HVIS_NDIS_OBJ_TYPE_OFFLOAD);
	CU_ASSERT(info[1] >= 1);
	CU_ASSERT((uint32_t)(info[2] | info[3] << 8) >= HVIS_NDIS_OFFLOAD_SIZE_6_0 &&
		  (uint32_t)(info[2] | info[3] << 8) <= il);
	for (uint32_t i = 4; i < il; i++)
		CU_ASSERT_EQUAL(info[i], 0);		/* no offload at all */
	CU_ASSERT_EQUAL(rndis_req(HVIS_RNDIS_MSG_SET, HVIS_OID_TCP_OFFLOAD_PARAMETERS,
				  params, sizeof(params), a, &alen), 0);
	CU_ASSERT_EQUAL(query(HVIS_OID_GEN_MEDIA_CONNECT_STATUS, NULL, 0, info, 4, &il), 0);
	CU_ASSERT_EQUAL(rd32(info), HVIS_RNDIS_MEDIA_CONNECTED);
	CU_ASSERT_EQUAL(query(HVIS_OID_GEN_LINK_SPEED, NULL, 0, info, 4, &il), 0);
	CU_ASSERT_EQUAL(rd32(info), 100000000u);	/* 10 Gbit/s in 100 bit/s */
	CU_ASSERT_EQUAL(query(HVIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, NULL, 0, info, 200, &il),
			S.nvps > 1 ? HVIS_RNDIS_STATUS_SUCCESS : HVIS_RNDIS_STATUS_NOT_SUPPORTED);
	v = HVIS_RNDIS_FILTER_DIRECTED | HVIS_RNDIS_FILTER_MULTICAST |
	    HVIS_RNDIS_FILTER_BROADCAST;
	CU_ASSERT_EQUAL(rndis_req(HVIS_RNDIS_MSG_SET, HVIS_OID_GEN_CURRENT_PACKET_FILTER,
				  &v, 4, a, &alen), 0);
}

static void probe(uint32_t mtu)
{
	chan_open();
	handshake(mtu);
	rndis_probe();
}

/* ------------------------------------------------------------ tests */
static void test_handshake(void)
{
	struct netvsp_info in;
	struct netvsp_stats st;

	fresh(0, 9000);
	probe(1500);
	netvsp_get_info(S.nv, &in);
	CU_ASSERT_EQUAL(in.state, NETVSP_READY);
	CU_ASSERT_EQUAL(in.nvsp_version, HVIS_NVSP_VERSION_61);
	CU_ASSERT_EQUAL(in.ndis_version, 0x6001e);
	CU_ASSERT_EQUAL(in.guest_mtu, 1500);
	CU_ASSERT_EQUAL(in.send_sections, SEND_PAGES * PG / NETVSP_SEND_SECTION_SIZE);
	netvsp_get_stats(S.nv, &st);
	CU_ASSERT_EQUAL(st.bad_packets, 0);
	CU_ASSERT(st.control >= 10);
	done();
}

static void test_versions(void)
{
	struct hvis_nvsp_init in = { 0x2, 0x60001 };
	struct hpkt *h;
	struct netvsp_info ni;

	/* capped at 4: Linux's 6.1, 6 and 5 fail, 4 is taken */
	fresh(HVIS_NVSP_VERSION_4, 1500);
	chan_open();
	CU_ASSERT_EQUAL(handshake(1500), HVIS_NVSP_VERSION_4);
	rndis_probe();
	netvsp_get_info(S.nv, &ni);
	CU_ASSERT_EQUAL(ni.state, NETVSP_READY);
	CU_ASSERT_EQUAL(ni.ndis_version, 0x60001);
	done();
	/* a range: the newest inside it */
	fresh(0, 1500);
	chan_open();
	h = nvsp(HVIS_NVSP_MSG_INIT, &in, sizeof(in), true);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_EQUAL(rd32(h->data + 4), HVIS_NVSP_VERSION_61);
	in.ni_min_version = in.ni_max_version = 0x50001;	/* not a version */
	h = nvsp(HVIS_NVSP_MSG_INIT, &in, sizeof(in), true);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_EQUAL(rd32(h->data + 12), HVIS_NVSP_STAT_FAIL);
	done();
}

/* A data message with @flen bytes of frame (pattern from @seed). */
static uint32_t data_msg(uint8_t *m, uint32_t flen, uint8_t seed, bool vlan)
{
	struct hvis_rndis_packet p = { .rp_data_offset = sizeof(p) + (vlan ? 16 : 0),
				       .rp_data_len = flen };
	uint32_t len = 8 + p.rp_data_offset + flen;

	memcpy(m, (uint32_t[]){ HVIS_RNDIS_MSG_PACKET, len }, 8);
	if (vlan) {
		struct hvis_rndis_ppi pi = { 16, HVIS_RNDIS_PPI_8021Q, 12 };
		uint32_t v = 5u | (123u << 4);	/* priority 5, VLAN 123 */

		p.rp_ppi_offset = sizeof(p);
		p.rp_ppi_len = 16;
		memcpy(m + 8 + sizeof(p), &pi, sizeof(pi));
		memcpy(m + 8 + sizeof(p) + 12, &v, 4);
	}
	memcpy(m + 8, &p, sizeof(p));
	for (uint32_t i = 0; i < flen; i++)
		m[8 + p.rp_data_offset + i] = (uint8_t)(seed + i * 7);
	memcpy(m + 8 + p.rp_data_offset, MAC, 6);
	return len;
}

static bool frame_is(unsigned int k, uint32_t flen, uint8_t seed)
{
	if (k >= S.nframes || S.flen[k] != flen || memcmp(S.frames[k], MAC, 6))
		return false;
	for (uint32_t i = 6; i < flen; i++)
		if (S.frames[k][i] != (uint8_t)(seed + i * 7))
			return false;
	return true;
}

static void test_data(void)
{
	static uint8_t m[12000], f[9100];
	struct hvis_nvsp_msg nm = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };
	struct netvsp_stats st;
	struct hpkt *h;
	uint32_t l1, l2, alen;
	uint64_t tid;

	fresh(0, 9000);
	probe(1500);
	/* host -> guest: a frame in a section, as netvsc_receive reads it */
	for (uint32_t i = 0; i < 1514; i++)
		f[i] = (uint8_t)(i * 3);
	memcpy(f, MAC, 6);
	S.npk = 0;
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, 1514), 0);
	grecv();
	CU_ASSERT_FATAL(take_rndis(m, sizeof(m), &alen) == 1);
	CU_ASSERT_EQUAL(rd32(m), HVIS_RNDIS_MSG_PACKET);
	CU_ASSERT_EQUAL(rd32(m + 4), 8 + 36 + 1514);
	CU_ASSERT(rd32(m + 8) < alen - 8);		/* data_offset */
	CU_ASSERT_EQUAL(rd32(m + 12), 1514);
	CU_ASSERT(!memcmp(m + 8 + rd32(m + 8), f, 1514));
	/* not our MAC, not broadcast: filtered; broadcast: delivered */
	f[0] = 0x02;
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, 1514), -ENOTCONN);
	memset(f, 0xff, 6);
	S.npk = 0;
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, 60), 0);
	grecv();
	CU_ASSERT_EQUAL(take_rndis(NULL, 0, NULL), 1);
	/* guest -> host, two messages batched in send section 2 */
	l1 = data_msg(m, 100, 1, false);
	l2 = data_msg(m + ((l1 + 7) & ~7u), 1400, 2, false);
	l2 += (l1 + 7) & ~7u;
	memcpy(S.gmem + SEND_PFN * PG + 2 * NETVSP_SEND_SECTION_SIZE, m, l2);
	nm.nm_rndis_pkt.nrp_channel_type = HVIS_NVSP_CHANNEL_DATA;
	nm.nm_rndis_pkt.nrp_section_index = 2;
	nm.nm_rndis_pkt.nrp_section_size = l2;
	S.npk = 0;
	tid = gsend(HVIS_PKT_DATA_INBAND, HVIS_PKT_FLAG_COMPLETION_REQUESTED, NULL, 0,
		    &nm, sizeof(nm));
	grecv();
	h = completion_of(tid);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_EQUAL(rd32(h->data), HVIS_NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE);
	CU_ASSERT_EQUAL(rd32(h->data + 4), HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT_EQUAL_FATAL(S.nframes, 2);
	CU_ASSERT(frame_is(0, 100, 1));
	CU_ASSERT(frame_is(1, 1400, 2));
	/* GPA-direct over three pages */
	l1 = data_msg(m, 9000, 3, false);
	CU_ASSERT_EQUAL(rndis_gpa(m, l1, 3000, HVIS_NVSP_CHANNEL_DATA,
				  HVIS_NVSP_INVALID_SECTION, 0), HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT(frame_is(2, 9000, 3));
	/* VLAN: the tag goes into the frame */
	l1 = data_msg(m, 200, 4, true);
	CU_ASSERT_EQUAL(rndis_gpa(m, l1, 0, HVIS_NVSP_CHANNEL_DATA,
				  HVIS_NVSP_INVALID_SECTION, 0), HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT_EQUAL_FATAL(S.nframes, 4);
	CU_ASSERT_EQUAL(S.flen[3], 204);
	CU_ASSERT(S.frames[3][12] == 0x81 && S.frames[3][13] == 0x00);
	CU_ASSERT(S.frames[3][14] == 0xa0 && S.frames[3][15] == 123);	/* pri 5, id 123 */
	/* the backend refuses: counted, the guest still gets SUCCESS */
	S.tx_fail = -EAGAIN;
	l1 = data_msg(m, 60, 5, false);
	CU_ASSERT_EQUAL(rndis_gpa(m, l1, 0, 0, HVIS_NVSP_INVALID_SECTION, 0), HVIS_NVSP_STAT_SUCCESS);
	S.tx_fail = 0;
	netvsp_get_stats(S.nv, &st);
	CU_ASSERT_EQUAL(st.tx_frames, 4);
	CU_ASSERT_EQUAL(st.tx_dropped, 1);
	CU_ASSERT_EQUAL(st.rx_frames, 2);
	CU_ASSERT_EQUAL(st.rx_dropped, 1);
	CU_ASSERT_EQUAL(st.bad_packets, 0);
	done();
}

static void test_backpressure(void)
{
	static uint8_t f[1514];
	struct netvsp_info in;
	unsigned int sent = 0;

	fresh(0, 1500);
	probe(1500);
	memcpy(f, MAC, 6);
	netvsp_get_info(S.nv, &in);
	/* the guest does not complete: sections (or the ring) run out */
	S.npk = 0;
	while (netvsp_rx(S.nv, f, sizeof(f)) == 0) {
		sent++;
		CU_ASSERT_FATAL(sent <= in.recv_sections);
		if (S.npk > MAXPKT - 8) {
			/* read (not complete) so the ring does not fill first */
			uint8_t b[256];
			struct hvis_ring_pkt p;
			uint32_t l = sizeof(b);
			bool sig;

			while (!hvis_ring_read(&S.gr, b, &l, &p))
				l = sizeof(b);
			hvis_ring_commit(&S.gr, &sig);
		}
	}
	CU_ASSERT(sent > 0);
	CU_ASSERT_EQUAL(S.rx_ready, 0);
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, sizeof(f)), -EAGAIN);
	/* the guest reads and completes what is still in its ring */
	S.npk = 0;
	grecv();
	if (!take_rndis(NULL, 0, NULL)) {
		/* the sections ran out with the ring read: complete one by hand */
		struct hvis_nvsp_msg c = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE };
		struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_COMPLETION };
		struct hvis_iov iov = { &c, 8 };
		bool sig;

		d.pd_trans_id = 0x4e00000000000000ull | (uint64_t)2 << 32 | 0;
		netvsp_get_info(S.nv, &in);
		hvis_ring_send(&S.gw, &d, 0, &iov, 1, &sig);
		vmbus_server_signal(S.srv, S.offer.of_connection_id);
	}
	CU_ASSERT(S.rx_ready >= 1);
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, sizeof(f)), 0);
	done();
}

static void test_link(void)
{
	uint8_t a[256], info[8];
	uint32_t alen, il;
	static uint8_t f[64];
	struct netvsp_stats st;

	fresh(0, 1500);
	probe(1500);
	memcpy(f, MAC, 6);
	S.npk = 0;
	netvsp_set_link(S.nv, false);
	grecv();
	CU_ASSERT_FATAL(take_rndis(a, sizeof(a), &alen) == 1);
	CU_ASSERT_EQUAL(rd32(a), HVIS_RNDIS_MSG_INDICATE);
	CU_ASSERT(rd32(a + 4) - 8 >= 12);
	CU_ASSERT_EQUAL(rd32(a + 8), HVIS_RNDIS_STATUS_MEDIA_DISCONNECT);
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, sizeof(f)), -ENOTCONN);
	CU_ASSERT_EQUAL(query(HVIS_OID_GEN_MEDIA_CONNECT_STATUS, NULL, 0, info, 4, &il), 0);
	CU_ASSERT_EQUAL(rd32(info), HVIS_RNDIS_MEDIA_DISCONNECTED);
	S.npk = 0;
	netvsp_set_link(S.nv, true);
	grecv();
	CU_ASSERT_FATAL(take_rndis(a, sizeof(a), &alen) == 1);
	CU_ASSERT_EQUAL(rd32(a + 8), HVIS_RNDIS_STATUS_MEDIA_CONNECT);
	S.npk = 0;
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, sizeof(f)), 0);
	netvsp_get_stats(S.nv, &st);
	CU_ASSERT_EQUAL(st.link_changes, 2);
	done();
}

/* The guest changes its MTU as netvsc does: close, reopen, probe again. */
static void test_mtu_reopen(void)
{
	static uint8_t f[9014], m[9200];
	struct netvsp_info in;
	uint32_t alen;

	fresh(0, 9000);
	probe(1500);
	chan_close();
	netvsp_get_info(S.nv, &in);
	CU_ASSERT_EQUAL(in.state, NETVSP_CLOSED);
	CU_ASSERT_EQUAL(S.maps, 0);
	memcpy(f, MAC, 6);
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, sizeof(f)), -ENOTCONN);
	probe(9000);
	netvsp_get_info(S.nv, &in);
	CU_ASSERT_EQUAL(in.state, NETVSP_READY);
	CU_ASSERT_EQUAL(in.guest_mtu, 9000);
	CU_ASSERT(in.recv_section_size >= 9014 + RNDIS_DATA_HDR_LEN);
	for (uint32_t i = 6; i < sizeof(f); i++)
		f[i] = (uint8_t)i;
	S.npk = 0;
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, f, sizeof(f)), 0);
	grecv();
	CU_ASSERT_FATAL(take_rndis(m, sizeof(m), &alen) == 1);
	CU_ASSERT(!memcmp(m + RNDIS_DATA_HDR_LEN, f, sizeof(f)));
	/* too big for a section */
	CU_ASSERT_EQUAL(netvsp_rx(S.nv, m, in.recv_section_size), -EMSGSIZE);
	done();
}

/* Hostile packets: each refused with a failure, the adapter keeps working. */
static void test_hostile(void)
{
	static uint8_t m[2048];
	struct hvis_nvsp_msg nm = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };
	struct hvis_nvsp_send_buf sb = { .nsb_gpadl = 99, .nsb_id = 0 };
	struct netvsp_stats st0, st;
	struct hpkt *h;
	uint32_t l, alen, il;
	uint8_t a[256], info[8];
	uint64_t tid;

	fresh(0, 1500);
	chan_open();
	/* before init */
	l = data_msg(m, 60, 1, false);
	CU_ASSERT_EQUAL(rndis_gpa(m, l, 0, 0, HVIS_NVSP_INVALID_SECTION, 0), HVIS_NVSP_STAT_FAIL);
	handshake(1500);
	/* a second receive buffer, a send buffer GPADL that does not exist */
	h = nvsp(HVIS_NVSP_MSG1_SEND_RECV_BUF, &sb, sizeof(sb), true);
	CU_ASSERT_FATAL(h != NULL);
	CU_ASSERT_EQUAL(rd32(h->data + 4), HVIS_NVSP_STAT_FAIL);
	rndis_probe();
	netvsp_get_stats(S.nv, &st0);
	/* section index past the send buffer, size past the section */
	nm.nm_rndis_pkt.nrp_section_index = SEND_PAGES * PG / NETVSP_SEND_SECTION_SIZE;
	nm.nm_rndis_pkt.nrp_section_size = 100;
	S.npk = 0;
	tid = gsend(HVIS_PKT_DATA_INBAND, HVIS_PKT_FLAG_COMPLETION_REQUESTED, NULL, 0, &nm, 40);
	grecv();
	CU_ASSERT(completion_of(tid) && rd32(completion_of(tid)->data + 4) == HVIS_NVSP_STAT_FAIL);
	nm.nm_rndis_pkt.nrp_section_index = 0;
	nm.nm_rndis_pkt.nrp_section_size = NETVSP_SEND_SECTION_SIZE + 1;
	S.npk = 0;
	tid = gsend(HVIS_PKT_DATA_INBAND, HVIS_PKT_FLAG_COMPLETION_REQUESTED, NULL, 0, &nm, 40);
	grecv();
	CU_ASSERT(completion_of(tid) && rd32(completion_of(tid)->data + 4) == HVIS_NVSP_STAT_FAIL);
	/* a truncated RNDIS message in a section: length past the section size */
	l = data_msg(m, 100, 1, false);
	memcpy(S.gmem + SEND_PFN * PG, m, l);
	nm.nm_rndis_pkt.nrp_section_size = l - 10;
	S.npk = 0;
	tid = gsend(HVIS_PKT_DATA_INBAND, HVIS_PKT_FLAG_COMPLETION_REQUESTED, NULL, 0, &nm, 40);
	grecv();
	CU_ASSERT(completion_of(tid) &&
		  rd32(completion_of(tid)->data + 4) == HVIS_NVSP_STAT_INVALID_RNDIS_PKT);
	/* data offset / length lying */
	l = data_msg(m, 100, 1, false);
	memcpy(m + 12, (uint32_t[]){ 200 }, 4);		/* data_len past the message */
	CU_ASSERT_EQUAL(rndis_gpa(m, l, 0, 0, HVIS_NVSP_INVALID_SECTION, 0), HVIS_NVSP_STAT_SUCCESS);
	/* page ranges: PFN outside guest memory, PFN of the ring, offset >= page */
	{
		struct {
			uint32_t reserved, count;
			uint32_t cnt, off;
			uint64_t pfn[2];
		} __attribute__((packed)) g = { 0, 1, 100, 0, { MEM_PAGES + 5, 0 } };

		nm.nm_rndis_pkt.nrp_section_index = HVIS_NVSP_INVALID_SECTION;
		nm.nm_rndis_pkt.nrp_section_size = 0;
		for (int k = 0; k < 4; k++) {
			if (k == 1)
				g.pfn[0] = RING_PFN + 1;
			if (k == 2) {
				g.pfn[0] = DATA_PFN;
				g.off = PG;
			}
			if (k == 3) {
				g.off = 0;
				g.count = 1000;		/* more ranges than there are */
			}
			S.npk = 0;
			tid = gsend(HVIS_PKT_DATA_USING_GPA_DIRECT,
				    HVIS_PKT_FLAG_COMPLETION_REQUESTED, &g, 24, &nm, 40);
			grecv();
			CU_ASSERT(completion_of(tid) &&
				  rd32(completion_of(tid)->data + 4) == HVIS_NVSP_STAT_FAIL);
		}
	}
	/* a truncated NVSP message (no completion asked: none sent) */
	S.npk = 0;
	gsend(HVIS_PKT_DATA_INBAND, 0, NULL, 0, &nm, 6);
	grecv();
	CU_ASSERT_EQUAL(S.npk, 0);
	/* completions of transactions the host never started */
	{
		struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_COMPLETION, .pd_trans_id = 12345 };
		struct hvis_iov iov = { &nm, 8 };
		bool sig;

		hvis_ring_send(&S.gw, &d, 0, &iov, 1, &sig);
		d.pd_trans_id = 0x4e00000000000000ull | 5000;	/* no such section */
		hvis_ring_send(&S.gw, &d, 0, &iov, 1, &sig);
		vmbus_server_signal(S.srv, S.offer.of_connection_id);
	}
	/* an unknown packet type, an unknown NVSP message */
	S.npk = 0;
	gsend(HVIS_PKT_DATA_USING_GPADL, 0, NULL, 0, &nm, 40);
	nm.nm_type = 999;
	h = nvsp(999, NULL, 0, true);
	CU_ASSERT(h != NULL);
	/* an unknown OID, a QUERY whose info buffer lies */
	CU_ASSERT_EQUAL(query(0x12345678, NULL, 0, info, 8, &il), HVIS_RNDIS_STATUS_NOT_SUPPORTED);
	{
		struct hvis_rndis_oid_req q = { 9, HVIS_OID_GEN_LINK_SPEED, 64, 4000, 0 };
		uint32_t len = 8 + sizeof(q);

		memcpy(m, (uint32_t[]){ HVIS_RNDIS_MSG_QUERY, len }, 8);
		memcpy(m + 8, &q, sizeof(q));
		CU_ASSERT_EQUAL(rndis_gpa(m, len, 0, 1, HVIS_NVSP_INVALID_SECTION, 0),
				HVIS_NVSP_STAT_SUCCESS);
		CU_ASSERT_FATAL(take_rndis(a, sizeof(a), &alen) == 1);
		CU_ASSERT_EQUAL(rd32(a + 12), HVIS_RNDIS_STATUS_INVALID_DATA);
	}
	netvsp_get_stats(S.nv, &st);
	CU_ASSERT(st.bad_packets >= st0.bad_packets + 12);
	CU_ASSERT_EQUAL(S.nframes, 0);
	/* and still working */
	l = data_msg(m, 60, 9, false);
	CU_ASSERT_EQUAL(rndis_gpa(m, l, 0, 0, HVIS_NVSP_INVALID_SECTION, 0), HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT(frame_is(0, 60, 9));
	done();
}

/* ------------------------------------------------------------ vRSS */
#define SUB_PFN(k)	(100u + 6u * ((k) - 1u))	/* 3 pages up, 3 down */

static void sub_open(unsigned int k)
{
	struct hvis_chmsg_open om;
	uint8_t *ring = S.gmem + SUB_PFN(k) * PG;
	uint8_t b[HVIS_MESSAGE_PAYLOAD_MAX];
	struct hvis_chmsg_gpadl_header h;
	struct hvis_gpa_range r = { .gr_byte_count = 6 * PG };

	CU_ASSERT_FATAL(S.shave[k]);
	memset(ring, 0, 6 * PG);
	CU_ASSERT_FATAL(hvis_ring_attach(&S.sgw[k], (void *)ring, ring + PG, 2 * PG,
					 HVIS_RING_WRITER) == 0);
	CU_ASSERT_FATAL(hvis_ring_attach(&S.sgr[k], (void *)(ring + 3 * PG), ring + 4 * PG,
					 2 * PG, HVIS_RING_READER) == 0);
	memset(&h, 0, sizeof(h));
	h.gh_hdr.ch_msgtype = HVIS_CHMSG_GPADL_HEADER;
	h.gh_child_relid = S.soff[k].of_child_relid;
	h.gh_gpadl = 10 + k;
	h.gh_range_buflen = 8 + 8 * 6;
	h.gh_rangecount = 1;
	memcpy(b, &h, sizeof(h));
	memcpy(b + 20, &r, sizeof(r));
	for (uint32_t i = 0; i < 6; i++) {
		uint64_t pfn = SUB_PFN(k) + i;

		memcpy(b + 28 + 8 * i, &pfn, 8);
	}
	gmsg(b, 28 + 8 * 6);
	memset(&om, 0, sizeof(om));
	om.op_hdr.ch_msgtype = HVIS_CHMSG_OPENCHANNEL;
	om.op_child_relid = S.soff[k].of_child_relid;
	om.op_openid = S.soff[k].of_child_relid;
	om.op_ring_gpadl = 10 + k;
	om.op_downstream_page_offset = 3;
	gmsg(&om, sizeof(om));
	CU_ASSERT_FATAL(vmbus_device_state(vmbus_server_device_by_relid(
		S.srv, S.soff[k].of_child_relid)) == VMBUS_CHAN_OPEN);
}

/* Packets the host sent on sub-channel @k: transfer pages completed. */
static unsigned int sub_recv(unsigned int k, uint64_t want_tid, uint32_t *status)
{
	uint8_t buf[1024];
	struct hvis_ring_pkt p;
	uint32_t len = sizeof(buf);
	unsigned int xfers = 0;
	bool sig;

	while (hvis_ring_read(&S.sgr[k], buf, &len, &p) == 0) {
		if (p.desc.pd_type == HVIS_PKT_DATA_USING_TRANSFER_PAGES) {
			struct hvis_nvsp_msg c = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE };
			struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_COMPLETION,
						   .pd_trans_id = p.desc.pd_trans_id };
			struct hvis_iov iov = { &c, 8 };

			c.nm_rndis_pkt_complete.nrpc_status = HVIS_NVSP_STAT_SUCCESS;
			/* Linux completes on the channel it received on */
			CU_ASSERT(hvis_ring_send(&S.sgw[k], &d, 0, &iov, 1, &sig) == 0);
			vmbus_server_signal(S.srv, S.soff[k].of_connection_id);
			xfers++;
		} else if (p.desc.pd_type == HVIS_PKT_COMPLETION && status) {
			CU_ASSERT_EQUAL(p.desc.pd_trans_id, want_tid);
			*status = rd32(buf + p.data_off + 4);
		}
		len = sizeof(buf);
	}
	hvis_ring_commit(&S.sgr[k], &sig);
	return xfers;
}

static void test_vrss(void)
{
	static uint8_t f[128], m[256];
	struct hvis_nvsp_subchannel_req rq = { HVIS_NVSP_SUBCHANNEL_ALLOCATE, 5 };
	struct hvis_nvsp_msg nm = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };
	struct netvsp_info in;
	uint8_t info[32], a[256];
	uint32_t il, st = 99, alen, l;
	unsigned int per[4] = { 0 };
	struct hpkt *h;
	struct {
		uint32_t reserved, count, cnt, off;
		uint64_t pfn;
	} __attribute__((packed)) g = { 0, 1, 0, 0, DATA_PFN };
	uint64_t tid;
	bool sig;

	g_nvps = 4;
	fresh(0, 1500);
	g_nvps = 1;
	probe(1500);
	/* RSS capabilities, as rndis_filter_device_add reads them */
	CU_ASSERT_EQUAL(query(HVIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, NULL, 0, info, 18, &il), 0);
	CU_ASSERT_EQUAL(il, 18);
	CU_ASSERT_EQUAL(info[0], HVIS_NDIS_OBJ_TYPE_RSS_CAPS);
	CU_ASSERT_EQUAL(rd32(info + 12), 4);			/* receive queues */
	CU_ASSERT(info[16] | info[17] << 8);			/* table entries */
	/* more than there is room for: capped at 3 */
	h = nvsp(HVIS_NVSP_MSG5_SUBCHANNEL, &rq, sizeof(rq), true);
	CU_ASSERT_FATAL(h != NULL && h->len >= 12);
	CU_ASSERT_EQUAL(rd32(h->data), HVIS_NVSP_MSG5_SUBCHANNEL);
	CU_ASSERT_EQUAL(rd32(h->data + 4), HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT_EQUAL(rd32(h->data + 8), 3);
	CU_ASSERT(S.shave[1] && S.shave[2] && S.shave[3]);
	for (unsigned int k = 1; k < 4; k++)
		sub_open(k);
	netvsp_get_info(S.nv, &in);
	CU_ASSERT_EQUAL(in.channels, 4);
	/* no more room */
	h = nvsp(HVIS_NVSP_MSG5_SUBCHANNEL, &rq, sizeof(rq), true);
	CU_ASSERT(h && rd32(h->data + 4) == HVIS_NVSP_STAT_FAIL);
	/* RSS parameters are taken */
	{
		uint8_t rp[36 + 512 + 40] = { HVIS_NDIS_OBJ_TYPE_RSS_PARAMS, 2, 36, 0 };

		CU_ASSERT_EQUAL(rndis_req(HVIS_RNDIS_MSG_SET, HVIS_OID_GEN_RECEIVE_SCALE_PARAMETERS,
					  rp, sizeof(rp), a, &alen), 0);
	}
	/* TCP flows spread over the channels, each flow on one */
	for (unsigned int flow = 0; flow < 32; flow++) {
		memset(f, 0, sizeof(f));
		memcpy(f, MAC, 6);
		f[12] = 0x08;
		f[14] = 0x45;
		f[23] = 6;
		f[26] = 10;
		f[29] = (uint8_t)flow;
		f[30] = 10;
		f[33] = 2;
		f[34] = (uint8_t)(flow * 37);
		f[36] = 0x13;
		for (int rep2 = 0; rep2 < 2; rep2++) {
			unsigned int got[4] = { 0 };

			S.npk = 0;
			CU_ASSERT_EQUAL_FATAL(netvsp_rx(S.nv, f, sizeof(f)), 0);
			grecv();
			got[0] = take_rndis(NULL, 0, NULL);
			for (unsigned int k = 1; k < 4; k++)
				got[k] = sub_recv(k, 0, NULL);
			CU_ASSERT_EQUAL(got[0] + got[1] + got[2] + got[3], 1);
			for (unsigned int k = 0; k < 4; k++)
				if (got[k])
					per[k] += rep2 ? 0 : 1;
		}
	}
	if (!(per[0] && per[1] && per[2] && per[3]))
		fprintf(stderr, "flows per channel: %u %u %u %u\n", per[0], per[1], per[2], per[3]);
	CU_ASSERT(per[0] && per[1] && per[2] && per[3]);
	netvsp_get_info(S.nv, &in);
	CU_ASSERT_EQUAL(in.recv_free, in.recv_sections);	/* all completed */
	/* a frame sent on sub-channel 2: completed there */
	l = data_msg(m, 60, 7, false);
	memcpy(S.gmem + DATA_PFN * PG, m, l);
	g.cnt = l;
	nm.nm_rndis_pkt.nrp_section_index = HVIS_NVSP_INVALID_SECTION;
	{
		struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_DATA_USING_GPA_DIRECT,
					   .pd_flags = HVIS_PKT_FLAG_COMPLETION_REQUESTED,
					   .pd_trans_id = 4242 };
		struct hvis_iov iov[2] = { { &g, 24 }, { &nm, 40 } };

		CU_ASSERT_FATAL(hvis_ring_send(&S.sgw[2], &d, 24, iov, 2, &sig) == 0);
		vmbus_server_signal(S.srv, S.soff[2].of_connection_id);
	}
	sub_recv(2, 4242, &st);
	CU_ASSERT_EQUAL(st, HVIS_NVSP_STAT_SUCCESS);
	CU_ASSERT(frame_is(0, 60, 7));
	/* control messages on a sub-channel are refused */
	tid = 0;
	{
		struct hvis_nvsp_init ini = { 2, 0x60001 };
		struct hvis_nvsp_msg im = { .nm_type = HVIS_NVSP_MSG_INIT };
		struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_DATA_INBAND,
					   .pd_flags = HVIS_PKT_FLAG_COMPLETION_REQUESTED,
					   .pd_trans_id = 77 };
		struct hvis_iov iov = { &im, 40 };

		im.nm_init = ini;
		CU_ASSERT_FATAL(hvis_ring_send(&S.sgw[1], &d, 0, &iov, 1, &sig) == 0);
		vmbus_server_signal(S.srv, S.soff[1].of_connection_id);
		st = 0;
		sub_recv(1, 77, &st);
		CU_ASSERT_EQUAL(st, 0);		/* echoed type, no INIT_COMPLETE success */
		netvsp_get_info(S.nv, &in);
		CU_ASSERT_EQUAL(in.state, NETVSP_READY);
	}
	(void)tid;
	/* the primary closes: the sub-channels are rescinded */
	S.rescinds = 0;
	chan_close();
	CU_ASSERT_EQUAL(S.rescinds, 3);
	netvsp_get_info(S.nv, &in);
	CU_ASSERT_EQUAL(in.channels, 0);
	done();
}

/* ------------------------------------------------------------ rndis.c */
static void test_rndis_logic(void)
{
	struct rndis_dev_cfg cfg = { .mtu = 1500 };
	struct rndis_dev r;
	struct rndis_frame f;
	uint8_t m[256], out[RNDIS_REPLY_MAX], fr[64];
	const uint8_t *msg;
	uint32_t off = 0, type, mlen, olen, l;

	memcpy(cfg.mac, MAC, 6);
	rndis_dev_init(&r, &cfg);
	/* rndis_next: lengths below the header, past the buffer */
	memcpy(m, (uint32_t[]){ 1, 4 }, 8);
	CU_ASSERT_EQUAL(rndis_next(m, 8, &off, &type, &msg, &mlen), -1);
	memcpy(m, (uint32_t[]){ 1, 9 }, 8);
	CU_ASSERT_EQUAL(rndis_next(m, 8, &off, &type, &msg, &mlen), -1);
	CU_ASSERT_EQUAL(rndis_next(m, 7, &off, &type, &msg, &mlen), -1);
	memcpy(m, (uint32_t[]){ 1, 8, 2, 8 }, 16);
	CU_ASSERT_EQUAL(rndis_next(m, 16, &off, &type, &msg, &mlen), 1);
	CU_ASSERT_EQUAL(rndis_next(m, 16, &off, &type, &msg, &mlen), 1);
	CU_ASSERT_EQUAL(type, 2);
	CU_ASSERT_EQUAL(rndis_next(m, 16, &off, &type, &msg, &mlen), 0);
	/* data messages: offsets */
	l = data_msg(m, 60, 0, false);
	CU_ASSERT_EQUAL(rndis_parse_packet(m, l, &f), 0);
	CU_ASSERT_EQUAL(f.len, 60);
	CU_ASSERT_EQUAL(rndis_parse_packet(m, l - 1, &f), -1);	/* msg_len != len */
	memcpy(m + 8, (uint32_t[]){ 20 }, 4);			/* inside the header */
	CU_ASSERT_EQUAL(rndis_parse_packet(m, l, &f), -1);
	l = data_msg(m, 60, 0, true);
	memcpy(m + 8 + 36, (uint32_t[]){ 400 }, 4);		/* PPI size past */
	CU_ASSERT_EQUAL(rndis_parse_packet(m, l, &f), -1);
	l = data_msg(m, 60, 0, true);
	memcpy(m + 8 + 36 + 8, (uint32_t[]){ 14 }, 4);		/* PPI value past */
	CU_ASSERT_EQUAL(rndis_parse_packet(m, l, &f), -1);
	/* control: truncated INIT, SET with a lying buffer, KEEPALIVE, RESET, HALT */
	memcpy(m, (uint32_t[]){ HVIS_RNDIS_MSG_INIT, 12, 1 }, 12);
	CU_ASSERT_EQUAL(rndis_control(&r, m, 12, out, &olen), -1);
	CU_ASSERT_EQUAL(olen, 0);
	memcpy(m, (uint32_t[]){ HVIS_RNDIS_MSG_SET, 28, 5, HVIS_OID_GEN_CURRENT_PACKET_FILTER,
				4, 0xfffffff0u, 0 }, 28);
	CU_ASSERT_EQUAL(rndis_control(&r, m, 28, out, &olen), -1);
	CU_ASSERT_EQUAL(rd32(out), HVIS_RNDIS_MSG_SET_C);
	CU_ASSERT_EQUAL(rd32(out + 12), HVIS_RNDIS_STATUS_INVALID_DATA);
	memcpy(m, (uint32_t[]){ HVIS_RNDIS_MSG_KEEPALIVE, 12, 42 }, 12);
	CU_ASSERT_EQUAL(rndis_control(&r, m, 12, out, &olen), 0);
	CU_ASSERT(olen == 16 && rd32(out) == HVIS_RNDIS_MSG_KEEPALIVE_C && rd32(out + 8) == 42);
	memcpy(m, (uint32_t[]){ HVIS_RNDIS_MSG_RESET, 12, 0 }, 12);
	CU_ASSERT_EQUAL(rndis_control(&r, m, 12, out, &olen), 0);
	CU_ASSERT_EQUAL(rd32(out), HVIS_RNDIS_MSG_RESET_C);
	memcpy(m, (uint32_t[]){ HVIS_RNDIS_MSG_INIT_C, 8 }, 8);	/* not a request */
	CU_ASSERT_EQUAL(rndis_control(&r, m, 8, out, &olen), -1);
	/* the filter */
	r.initialized = true;
	memset(fr, 0, sizeof(fr));
	memcpy(fr, MAC, 6);
	CU_ASSERT(!rndis_filter_accepts(&r, fr, 60));		/* filter 0 */
	r.filter = HVIS_RNDIS_FILTER_DIRECTED;
	CU_ASSERT(rndis_filter_accepts(&r, fr, 60));
	CU_ASSERT(!rndis_filter_accepts(&r, fr, 13));
	fr[0] = 0x33;						/* multicast */
	CU_ASSERT(!rndis_filter_accepts(&r, fr, 60));
	r.filter |= HVIS_RNDIS_FILTER_MULTICAST;
	CU_ASSERT(rndis_filter_accepts(&r, fr, 60));
	memset(fr, 0xff, 6);
	CU_ASSERT(!rndis_filter_accepts(&r, fr, 60));
	r.filter = HVIS_RNDIS_FILTER_PROMISCUOUS;
	fr[0] = 0x02;
	CU_ASSERT(rndis_filter_accepts(&r, fr, 60));
}

/* ------------------------------------------------------------ nic.c config */
/* What is refused before any TAP is opened (no /dev/net/tun needed). */
static void test_nic_config(void)
{
	static struct vspd d;
	static const char *const bad_specs[] = {
		"mac=00:15:5d:00:00:01",		/* no tap */
		"tap=t0,mac=01:00:5e:00:00:01",		/* multicast MAC */
		"tap=t0,mac=00:00:00:00:00:00",
		"tap=t0,mac=00:15:5d:00:00",		/* short */
		"tap=t0,mac=00:15:5d:00:00:01:02",
		"tap=t0,mtu=99999", "tap=t0,mtu=", "tap=t0,queues=0",
		"tap=t0,queues=65", "tap=t0,bogus=1", "tap=t0,mtu=10",
		"tap=this-name-is-too-long0", "tap=a/b", "tap=",
	};
	static const char *const bad_json[] = {
		"{\"nics\": {}}",
		"{\"nics\": [5]}",
		"{\"nics\": [{\"tap\": 5}]}",
		"{\"nics\": [{\"mac\": \"00:15:5d:00:00:01\"}]}",
		"{\"nics\": [{\"tap\": \"t0\", \"bogus\": 1}]}",
		"{\"nics\": [{\"tap\": \"t0\", \"mtu\": 9001}]}",
		"{\"nics\": [{\"tap\": \"t0\", \"queues\": 0}]}",
		"{\"nics\": [{\"tap\": \"t0\", \"mac\": \"ff:ff:ff:ff:ff:ff\"}]}",
		"{\"nics\": [{}, {}, {}, {}, {}, {}, {}, {}, {}]}",
		"not json",
	};
	struct vspd_net *n;
	char err[512], path[] = "/tmp/hvis-netcfg-XXXXXX";
	int fd;

	snprintf(d.name, sizeof(d.name), "vm1");
	n = vspd_net_create(&d);
	CU_ASSERT_FATAL(n != NULL);
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		err[0] = 0;
		CU_ASSERT(vspd_net_add_spec(n, bad_specs[i], err, sizeof(err)) < 0);
		CU_ASSERT(err[0] != 0);
	}
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		FILE *f = fopen(path, "w");

		CU_ASSERT_FATAL(f != NULL);
		fputs(bad_json[i], f);
		fclose(f);
		err[0] = 0;
		CU_ASSERT(vspd_net_load(n, path, err, sizeof(err)) < 0);
		CU_ASSERT(err[0] != 0);
	}
	/* no "nics": nothing to do */
	{
		FILE *f = fopen(path, "w");

		CU_ASSERT_FATAL(f != NULL);
		fputs("{\"scsi\": []}", f);
		fclose(f);
		CU_ASSERT_EQUAL(vspd_net_load(n, path, err, sizeof(err)), 0);
	}
	unlink(path);
	CU_ASSERT_EQUAL(vspd_net_count(n), 0);
	CU_ASSERT(vspd_net_set_link(n, NULL, false, err, sizeof(err)) == -ENOENT);
	vspd_net_destroy(n);
}

int unit_register_netvsp(void)
{
	static const struct unit_test tests[] = {
		{ "NVSP and RNDIS probe as hv_netvsc does it", test_handshake },
		{ "NVSP versions negotiated down", test_versions },
		{ "data both ways: sections, GPA-direct, batches, VLAN", test_data },
		{ "receive backpressure and rx_ready", test_backpressure },
		{ "link down/up indications", test_link },
		{ "MTU 9000 after a close and reopen", test_mtu_reopen },
		{ "hostile packets refused, adapter keeps working", test_hostile },
		{ "vRSS: sub-channels, flows spread, completions per channel", test_vrss },
		{ "RNDIS logic: walking, parsing, control, filter", test_rndis_logic },
		{ "NIC configuration: bad specs and JSON refused", test_nic_config },
		{ NULL, NULL },
	};

	return unit_add_suite("netvsp", tests);
}
