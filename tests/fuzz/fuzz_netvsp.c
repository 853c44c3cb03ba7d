// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for netvsp (host-vsp/net/netvsp.c) and its RNDIS
 * logic (host-vsp/net/rndis.c) behind a real VMBus server: the guest
 * controls every packet on the channel (NVSP messages of any type and
 * length, SEND_RNDIS_PKT with any section index and size and any
 * GPA-direct page list: in guest memory, in the rings, outside), the
 * RNDIS bytes in its send buffer and pages, its completions (right,
 * wrong, repeated, never), the ring control pages, closes and reopens;
 * the host feeds frames, flips the link, replaces the partition.
 * Whatever happens: no crash, no UB, no leak, no GPADL view left mapped;
 * every host completion answers a packet the guest sent asking for one,
 * at most once; every transfer-page range lies inside the receive
 * buffer; and the host writes no guest byte outside the rings and the
 * receive buffer (a shadow of guest memory, compared after each input).
 *
 * Input: [u8 config] then operations:
 *   config bits 0-2 NVSP cap selector, bit 3 MTU 9000 offered,
 *          bit 4 skip Linux's handshake, bit 5 small receive buffer,
 *          bit 6 four VPs (vRSS: sub-channels offered on request)
 *   op 0  raw in-band packet: [u8 flags][u8 len][len bytes]
 *   op 1  NVSP message: [u8 type sel][16 body bytes][u8 want]
 *   op 2  RNDIS in send section: [u8 sec][u16 size][u8 len][len bytes]
 *   op 3  RNDIS GPA-direct: [u8 nranges] per range [u16 off][u16 count]
 *         [u8 npfn][npfn x u8 pfn sel]; then [u8 len][len bytes] into
 *         the data pages; [u8 sec]
 *   op 4  a frame for the guest: [u16 len][u8 dst sel]
 *   op 5  the guest reads its ring: [u8 mode] (0 complete all, 1 keep,
 *         2 complete twice, 3 complete with junk ids)
 *   op 6  link: [u8 up]
 *   op 7  close and reopen: [u8 handshake]
 *   op 8  scribble on a ring control page: [u8 word][u32 value]
 *   op 9  a new partition
 *   op 10 RNDIS control message: [u8 type sel][u8 oid sel][u8 info len]
 *         [u16 info off]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hvis/nvsp.h>
#include <hvis/rndis.h>
#include <hvis/vmbus.h>

#include "host-vsp/net/netvsp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

#define PG		4096u
#define MEM_PAGES	96u
#define RING_PFN	0u
#define RING_UP		3u
#define RING_DOWN	3u
#define RECV_PFN	8u
#define SEND_PFN	40u
#define SEND_PAGES	4u
#define DATA_PFN	48u
#define NDATA		(MEM_PAGES - DATA_PFN)
#define MAX_IDS		4096u
#define MAX_OPS		200
#define G_RING		1u
#define G_RECV		2u
#define G_SEND		3u

static struct {
	int memfd;
	uint8_t *gmem;
	uint8_t *shadow;		/* what the guest wrote itself */
	bool host_may_write[MEM_PAGES];
	int maps;
	struct vmbus_server *srv;
	struct netvsp *nv;
	struct hvis_chmsg_offer offer;
	bool have_offer;
	bool open, tainted;
	struct hvis_ring gw, gr;
	uint64_t next_id;
	uint8_t want[MAX_IDS], done[MAX_IDS];
	uint32_t recv_pages;
	uint32_t nvps;
	uint64_t held[64];		/* transfer-page ids not yet completed */
	unsigned int nheld;
} S;

/* ------------------------------------------------------------ fake host */
static int f_post(void *o, uint32_t vp, uint32_t sint, const void *m, uint32_t len)
{
	struct hvis_guid net = HVIS_GUID_NET;
	uint32_t type;

	(void)o;
	(void)vp;
	(void)sint;
	if (len < 8 || len > HVIS_MESSAGE_PAYLOAD_MAX)
		abort();
	memcpy(&type, m, 4);
	if (type == HVIS_CHMSG_OFFERCHANNEL && len >= sizeof(S.offer)) {
		struct hvis_chmsg_offer of;

		memcpy(&of, m, sizeof(of));
		if (memcmp(&of.of_if_type, &net, sizeof(net)))
			return 0;
		if (of.of_sub_channel_index >= 4)
			abort();	/* more sub-channels than VPs */
		if (!of.of_sub_channel_index) {
			S.offer = of;
			S.have_offer = true;
		}
	}
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
	base = mmap(NULL, (size_t)(n + 1) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		if (mmap(base + (size_t)i * PG, PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, S.memfd, (off_t)(pfns[i] * PG)) == MAP_FAILED) {
			munmap(base, (size_t)(n + 1) * PG);
			return -ENOMEM;
		}
	*view = base;
	S.maps++;
	return 0;
}

static void f_unmap(void *o, void *view, uint32_t n)
{
	(void)o;
	munmap(view, (size_t)(n + 1) * PG);
	S.maps--;
}

static void f_log(void *o, enum vmbus_log_level lvl, const char *m)
{
	(void)o;
	if (strlen(m) >= 256)
		abort();
	if (getenv("HVIS_FUZZ_LOG"))
		fprintf(stderr, "[%d] %s\n", lvl, m);
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

static volatile uint8_t sink;

static int h_tx(void *o, const uint8_t *f, uint32_t len)
{
	uint8_t x = 0;

	(void)o;
	if (len < 14 || len > NETVSP_TX_MAX + 4)
		abort();
	for (uint32_t i = 0; i < len; i += 512)
		x ^= f[i];		/* every byte readable (ASan) */
	x ^= f[len - 1];
	sink = x;
	return len & 1 ? -EAGAIN : 0;
}

static const struct netvsp_host_ops host_ops = {
	.guest_page = h_page, .tx = h_tx, .log = f_log,
};

/* ------------------------------------------------------------ input */
struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t in8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t in16(struct in *in)
{
	uint16_t lo = in8(in);

	return (uint16_t)(lo | in8(in) << 8);
}

static uint32_t in32(struct in *in)
{
	uint32_t lo = in16(in);

	return lo | (uint32_t)in16(in) << 16;
}

/* The guest writes its own memory: the shadow follows. */
static void gwrite(size_t at, const void *p, size_t len)
{
	if (at > (size_t)MEM_PAGES * PG || len > (size_t)MEM_PAGES * PG - at)
		abort();
	memcpy(S.gmem + at, p, len);
	memcpy(S.shadow + at, p, len);
}

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

static void gteardown(uint32_t handle)
{
	struct hvis_chmsg_gpadl_teardown t = { .gt_hdr.ch_msgtype = HVIS_CHMSG_GPADL_TEARDOWN };

	t.gt_child_relid = S.offer.of_child_relid;
	t.gt_gpadl = handle;
	gmsg(&t, sizeof(t));
}

static uint64_t gsend(uint16_t type, uint16_t flags, const void *hdr, uint32_t hlen,
		      const void *p, uint32_t len)
{
	struct hvis_pkt_desc d = { .pd_type = type, .pd_flags = flags };
	struct hvis_iov iov[2];
	unsigned int n = 0;
	bool sig = false;
	uint64_t id;

	if (!S.open || S.next_id >= MAX_IDS)
		return 0;
	id = S.next_id;
	d.pd_trans_id = id;
	if (hlen)
		iov[n++] = (struct hvis_iov){ hdr, hlen };
	if (len)
		iov[n++] = (struct hvis_iov){ p, len };
	S.want[id] = (flags & HVIS_PKT_FLAG_COMPLETION_REQUESTED) != 0;
	if (hvis_ring_send(&S.gw, &d, hlen, iov, n, &sig)) {
		S.want[id] = 0;
		return 0;
	}
	S.next_id++;
	vmbus_server_signal(S.srv, S.offer.of_connection_id);
	return id;
}

static void complete_xfer(uint64_t tid)
{
	struct hvis_nvsp_msg c = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE };
	struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_COMPLETION, .pd_trans_id = tid };
	struct hvis_iov iov = { &c, 8 };
	bool sig;

	c.nm_rndis_pkt_complete.nrpc_status = HVIS_NVSP_STAT_SUCCESS;
	if (S.open && !hvis_ring_send(&S.gw, &d, 0, &iov, 1, &sig))
		vmbus_server_signal(S.srv, S.offer.of_connection_id);
}

/* Read what the host sent; check it; complete transfer pages per @mode. */
static void grecv(unsigned int mode)
{
	static uint8_t buf[1 << 16];

	for (int rounds = 0; rounds < 16 && S.open; rounds++) {
		struct hvis_ring_pkt p;
		uint32_t len = sizeof(buf);
		bool sig = false;
		int rc;

		while ((rc = hvis_ring_read(&S.gr, buf, &len, &p)) == 0) {
			uint64_t id = p.desc.pd_trans_id;

			len = sizeof(buf);
			if (S.tainted)
				continue;
			if (p.desc.pd_type == HVIS_PKT_COMPLETION) {
				if (id >= MAX_IDS || !S.want[id] || S.done[id])
					abort();
				S.done[id] = 1;
			} else if (p.desc.pd_type == HVIS_PKT_DATA_USING_TRANSFER_PAGES) {
				uint32_t cnt, off, count;

				if (p.data_off < 32)
					abort();
				memcpy(&count, buf + 20, 4);
				memcpy(&cnt, buf + 24, 4);
				memcpy(&off, buf + 28, 4);
				if (count != 1 || off > S.recv_pages * PG ||
				    cnt > S.recv_pages * PG - off || cnt < 8)
					abort();
				if (mode == 1 && S.nheld < 64)
					S.held[S.nheld++] = id;
				else
					complete_xfer(id);
				if (mode == 2)
					complete_xfer(id);
			} else {
				abort();
			}
		}
		if (rc != -HVIS_RING_EMPTY) {
			if (S.tainted)
				return;
			abort();
		}
		if (hvis_ring_commit(&S.gr, &sig)) {
			if (S.tainted)
				return;
			abort();
		}
		if (mode == 3)
			complete_xfer(0x4e00000000000000ull | (uint64_t)rounds << 32 | 3);
		if (!sig)
			return;
		vmbus_server_signal(S.srv, S.offer.of_connection_id);
	}
}

static void nvsp_send(uint32_t type, const void *body, uint32_t blen, bool want)
{
	struct hvis_nvsp_msg m;

	memset(&m, 0, sizeof(m));
	m.nm_type = type;
	if (blen)
		memcpy(m.nm_body, body, blen);
	gsend(HVIS_PKT_DATA_INBAND, want ? HVIS_PKT_FLAG_COMPLETION_REQUESTED : 0,
	      NULL, 0, &m, sizeof(m));
	grecv(0);
}

static void handshake(uint32_t mtu)
{
	struct hvis_nvsp_init in = { 0x2, 0x60001 };
	struct hvis_nvsp_ndis_config nc = { .nnc_mtu = mtu + 14 };
	struct hvis_nvsp_ndis_version nv = { 6, 30 };
	struct hvis_nvsp_send_buf sb = { G_RECV, HVIS_NVSP_RECV_BUF_ID };
	uint32_t filter = 0x2f;
	uint8_t m[64];

	nvsp_send(HVIS_NVSP_MSG_INIT, &in, sizeof(in), true);
	nvsp_send(HVIS_NVSP_MSG2_SEND_NDIS_CONFIG, &nc, sizeof(nc), false);
	nvsp_send(HVIS_NVSP_MSG1_SEND_NDIS_VER, &nv, sizeof(nv), false);
	gpadl(G_RECV, RECV_PFN, S.recv_pages);
	nvsp_send(HVIS_NVSP_MSG1_SEND_RECV_BUF, &sb, sizeof(sb), true);
	gpadl(G_SEND, SEND_PFN, SEND_PAGES);
	sb.nsb_gpadl = G_SEND;
	sb.nsb_id = 0;
	nvsp_send(HVIS_NVSP_MSG1_SEND_SEND_BUF, &sb, sizeof(sb), true);
	/* RNDIS INIT and a packet filter, in the first data page */
	{
		uint32_t init[6] = { HVIS_RNDIS_MSG_INIT, 24, 1, 1, 0, 0x4000 };
		uint32_t set[8] = { HVIS_RNDIS_MSG_SET, 32, 2,
				    HVIS_OID_GEN_CURRENT_PACKET_FILTER, 4, 20, 0, 0 };
		struct {
			uint32_t reserved, count;
			uint32_t cnt, off;
			uint64_t pfn;
		} __attribute__((packed)) g = { 0, 1, 0, 0, DATA_PFN };
		struct hvis_nvsp_msg nm = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };

		set[7] = filter;
		nm.nm_rndis_pkt.nrp_channel_type = 1;
		nm.nm_rndis_pkt.nrp_section_index = HVIS_NVSP_INVALID_SECTION;
		memcpy(m, init, sizeof(init));
		gwrite((size_t)DATA_PFN * PG, m, sizeof(init));
		g.cnt = sizeof(init);
		gsend(HVIS_PKT_DATA_USING_GPA_DIRECT, HVIS_PKT_FLAG_COMPLETION_REQUESTED,
		      &g, 24, &nm, sizeof(nm));
		grecv(0);
		memcpy(m, set, sizeof(set));
		gwrite((size_t)DATA_PFN * PG, m, sizeof(set));
		g.cnt = sizeof(set);
		gsend(HVIS_PKT_DATA_USING_GPA_DIRECT, HVIS_PKT_FLAG_COMPLETION_REQUESTED,
		      &g, 24, &nm, sizeof(nm));
		grecv(0);
	}
}

static void chan_open(bool init, uint32_t mtu)
{
	struct hvis_chmsg_open om;
	uint8_t zero[PG] = { 0 };

	if (S.open || !S.have_offer)
		return;
	for (uint32_t i = 0; i < RING_UP + RING_DOWN; i++)
		gwrite((size_t)(RING_PFN + i) * PG, zero, PG);
	if (hvis_ring_attach(&S.gw, (void *)(S.gmem + RING_PFN * PG),
			     S.gmem + (RING_PFN + 1) * PG, (RING_UP - 1) * PG, HVIS_RING_WRITER) ||
	    hvis_ring_attach(&S.gr, (void *)(S.gmem + (RING_PFN + RING_UP) * PG),
			     S.gmem + (RING_PFN + RING_UP + 1) * PG, (RING_DOWN - 1) * PG,
			     HVIS_RING_READER))
		abort();
	gpadl(G_RING, RING_PFN, RING_UP + RING_DOWN);
	memset(&om, 0, sizeof(om));
	om.op_hdr.ch_msgtype = HVIS_CHMSG_OPENCHANNEL;
	om.op_child_relid = S.offer.of_child_relid;
	om.op_openid = 1;
	om.op_ring_gpadl = G_RING;
	om.op_downstream_page_offset = RING_UP;
	gmsg(&om, sizeof(om));
	S.open = true;
	S.tainted = false;
	S.nheld = 0;
	if (!S.next_id)
		S.next_id = 1;
	if (init)
		handshake(mtu);
}

static void chan_close(void)
{
	struct hvis_chmsg_relid m = { .rl_hdr.ch_msgtype = HVIS_CHMSG_CLOSECHANNEL };

	if (!S.open)
		return;
	m.rl_child_relid = S.offer.of_child_relid;
	gmsg(&m, sizeof(m));
	gteardown(G_RING);
	gteardown(G_RECV);
	gteardown(G_SEND);
	S.open = false;
}

static void connect_server(void)
{
	struct vmbus_server_options so = { .nvps = S.nvps };
	struct hvis_chmsg_initiate_contact ic;
	struct hvis_chmsg_hdr ro = { .ch_msgtype = HVIS_CHMSG_REQUESTOFFERS };

	S.have_offer = false;
	S.open = false;
	S.srv = vmbus_server_create(&so, &srv_ops);
	if (!S.srv || netvsp_attach(S.nv, S.srv, S.nvps))
		abort();
	memset(&ic, 0, sizeof(ic));
	ic.ic_hdr.ch_msgtype = HVIS_CHMSG_INITIATE_CONTACT;
	ic.ic_version_requested = HVIS_VMBUS_VERSION_WS2022;
	ic.ic_msg_sint = HVIS_VMBUS_MESSAGE_SINT;
	vmbus_server_handle_message(S.srv, 0, 4, &ic, sizeof(ic));
	gmsg(&ro, sizeof(ro));
}

static void disconnect_server(void)
{
	netvsp_detach(S.nv);
	vmbus_server_destroy(S.srv);
	S.srv = NULL;
	S.open = false;
	if (S.maps)
		abort();
}

static uint64_t pick_pfn(uint8_t sel)
{
	if (sel < 0xC0)
		return DATA_PFN + sel % NDATA;
	if (sel < 0xD0)
		return RING_PFN + sel % (RING_UP + RING_DOWN);
	if (sel < 0xE0)
		return SEND_PFN + sel % SEND_PAGES;
	if (sel < 0xF0)
		return MEM_PAGES + (sel & 0xF);
	return 0xFFFFFFFFFFull + sel;
}

static const uint32_t nvsp_types[] = {
	0, 1, 2, 100, 101, 102, 103, 104, 105, 106, 107, 108, 125, 128, 129,
	131, 133, 134, 999,
};

static const uint32_t oids[] = {
	HVIS_OID_GEN_SUPPORTED_LIST, HVIS_OID_GEN_MAXIMUM_FRAME_SIZE,
	HVIS_OID_GEN_LINK_SPEED, HVIS_OID_GEN_VENDOR_DESCRIPTION,
	HVIS_OID_GEN_CURRENT_PACKET_FILTER, HVIS_OID_GEN_MEDIA_CONNECT_STATUS,
	HVIS_OID_802_3_PERMANENT_ADDRESS, HVIS_OID_802_3_MULTICAST_LIST,
	HVIS_OID_TCP_OFFLOAD_PARAMETERS, HVIS_OID_TCP_OFFLOAD_HW_CAPABILITIES,
	HVIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, HVIS_OID_GEN_FRIENDLY_NAME,
	HVIS_OID_GEN_DRIVER_VERSION, 0xdeadbeef,
};

static void run(struct in *in)
{
	uint8_t cfg = in8(in);
	static const uint32_t caps[8] = { 0, 0x2, 0x30002, 0x40000, 0x50000, 0x60000, 0x60001, 0x7 };
	struct netvsp_cfg nc = { .mac = { 0x00, 0x15, 0x5d, 1, 2, 3 }, .name = "fuzz" };
	uint32_t mtu = cfg & 8 ? 9000 : 1500;
	static uint8_t buf[70000];

	nc.max_version = caps[cfg & 7];
	nc.mtu = mtu;
	S.recv_pages = cfg & 0x20 ? 2 : 24;
	S.nvps = cfg & 0x40 ? 4 : 1;
	memset(S.host_may_write, 0, sizeof(S.host_may_write));
	for (uint32_t i = 0; i < RING_UP + RING_DOWN; i++)
		S.host_may_write[RING_PFN + i] = true;
	for (uint32_t i = 0; i < S.recv_pages; i++)
		S.host_may_write[RECV_PFN + i] = true;
	S.nv = netvsp_create(&nc, &host_ops);
	if (!S.nv)
		abort();
	connect_server();
	chan_open(!(cfg & 0x10), mtu);
	for (int ops = 0; ops < MAX_OPS && in->n; ops++) {
		switch (in8(in) % 11) {
		case 0: {
			uint16_t fl = in8(in) & 1 ? HVIS_PKT_FLAG_COMPLETION_REQUESTED : 0;
			uint8_t l = in8(in);

			for (unsigned int i = 0; i < l; i++)
				buf[i] = in8(in);
			gsend(HVIS_PKT_DATA_INBAND, fl, NULL, 0, buf, l);
			grecv(0);
			break;
		}
		case 1: {
			uint8_t body[16];
			uint32_t t = nvsp_types[in8(in) % (sizeof(nvsp_types) / 4)];

			for (int i = 0; i < 16; i++)
				body[i] = in8(in);
			nvsp_send(t, body, 16, in8(in) & 1);
			break;
		}
		case 2: {
			struct hvis_nvsp_msg m = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };
			uint8_t sec = in8(in), l;
			uint16_t size = in16(in);

			l = in8(in);
			for (unsigned int i = 0; i < l; i++)
				buf[i] = in8(in);
			if (sec < 2)
				gwrite((size_t)SEND_PFN * PG + (size_t)sec * NETVSP_SEND_SECTION_SIZE,
				       buf, l);
			m.nm_rndis_pkt.nrp_channel_type = sec & 1;
			m.nm_rndis_pkt.nrp_section_index = sec == 0xff ? HVIS_NVSP_INVALID_SECTION : sec;
			m.nm_rndis_pkt.nrp_section_size = size;
			gsend(HVIS_PKT_DATA_INBAND, HVIS_PKT_FLAG_COMPLETION_REQUESTED, NULL, 0,
			      &m, sizeof(m));
			grecv(0);
			break;
		}
		case 3: {
			uint8_t hdr[8 + 4 * (8 + 8 * 4)];
			struct hvis_nvsp_msg m = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };
			uint32_t hl = 8, nr = in8(in) % 5, z = 0;
			uint8_t l, sec;

			memcpy(hdr, &z, 4);
			memcpy(hdr + 4, &nr, 4);
			for (uint32_t r = 0; r < nr; r++) {
				uint32_t off = in16(in), cnt = in16(in), np = in8(in) % 5;

				memcpy(hdr + hl, &cnt, 4);
				memcpy(hdr + hl + 4, &off, 4);
				hl += 8;
				for (uint32_t k = 0; k < np; k++) {
					uint64_t pfn = pick_pfn(in8(in));

					memcpy(hdr + hl, &pfn, 8);
					hl += 8;
				}
			}
			l = in8(in);
			for (unsigned int i = 0; i < l; i++)
				buf[i] = in8(in);
			gwrite((size_t)DATA_PFN * PG, buf, l);
			sec = in8(in);
			m.nm_rndis_pkt.nrp_channel_type = sec & 1;
			m.nm_rndis_pkt.nrp_section_index = sec < 4 ? sec : HVIS_NVSP_INVALID_SECTION;
			m.nm_rndis_pkt.nrp_section_size = sec < 4 ? l : 0;
			gsend(HVIS_PKT_DATA_USING_GPA_DIRECT, HVIS_PKT_FLAG_COMPLETION_REQUESTED,
			      hdr, hl, &m, sizeof(m));
			grecv(0);
			break;
		}
		case 4: {
			uint16_t l = in16(in) % 9200;
			uint8_t d = in8(in);

			memset(buf, d, l);
			if (l >= 6 && d < 0x80)
				memcpy(buf, nc.mac, 6);
			netvsp_rx(S.nv, buf, l);
			break;
		}
		case 5:
			grecv(in8(in) % 4);
			if (in8(in) & 1) {
				for (unsigned int i = 0; i < S.nheld; i++)
					complete_xfer(S.held[i]);
				S.nheld = 0;
				grecv(0);
			}
			break;
		case 6:
			netvsp_set_link(S.nv, in8(in) & 1);
			grecv(0);
			break;
		case 7:
			chan_close();
			chan_open(in8(in) & 1, mtu);
			break;
		case 8: {
			uint8_t w = in8(in) % 8;
			uint32_t v = in32(in);
			uint8_t *page = S.gmem + (size_t)(RING_PFN + (w & 4 ? RING_UP : 0)) * PG;

			if (!S.open)
				break;
			memcpy(page + 4 * (w & 3), &v, 4);
			S.tainted = true;
			vmbus_server_signal(S.srv, S.offer.of_connection_id);
			break;
		}
		case 9:
			disconnect_server();
			connect_server();
			chan_open(true, mtu);
			break;
		case 10: {
			struct hvis_rndis_oid_req q;
			static const uint32_t types[] = {
				HVIS_RNDIS_MSG_INIT, HVIS_RNDIS_MSG_QUERY, HVIS_RNDIS_MSG_SET,
				HVIS_RNDIS_MSG_RESET, HVIS_RNDIS_MSG_KEEPALIVE, HVIS_RNDIS_MSG_HALT,
				HVIS_RNDIS_MSG_PACKET, HVIS_RNDIS_MSG_INDICATE,
			};
			struct {
				uint32_t reserved, count;
				uint32_t cnt, off;
				uint64_t pfn;
			} __attribute__((packed)) g = { 0, 1, 0, 0, DATA_PFN };
			struct hvis_nvsp_msg m = { .nm_type = HVIS_NVSP_MSG1_SEND_RNDIS_PKT };
			uint32_t t = types[in8(in) % 8], len;

			q.ro_req_id = 7;
			q.ro_oid = oids[in8(in) % (sizeof(oids) / 4)];
			q.ro_info_len = in8(in);
			q.ro_info_offset = in16(in);
			q.ro_dev_vc_handle = 0;
			len = 8 + sizeof(q) + q.ro_info_len;
			memcpy(buf, &t, 4);
			memcpy(buf + 4, &len, 4);
			memcpy(buf + 8, &q, sizeof(q));
			for (uint32_t i = 0; i < q.ro_info_len; i++)
				buf[28 + i] = in8(in);
			gwrite((size_t)DATA_PFN * PG, buf, len);
			g.cnt = len;
			m.nm_rndis_pkt.nrp_channel_type = 1;
			m.nm_rndis_pkt.nrp_section_index = HVIS_NVSP_INVALID_SECTION;
			gsend(HVIS_PKT_DATA_USING_GPA_DIRECT, HVIS_PKT_FLAG_COMPLETION_REQUESTED,
			      &g, 24, &m, sizeof(m));
			grecv(0);
			break;
		}
		}
	}
	grecv(0);
	disconnect_server();
	netvsp_destroy(S.nv);
	S.nv = NULL;
	/* the host wrote only the rings and the receive buffer */
	for (uint32_t p = 0; p < MEM_PAGES; p++)
		if (!S.host_may_write[p] &&
		    memcmp(S.gmem + (size_t)p * PG, S.shadow + (size_t)p * PG, PG))
			abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	S.memfd = memfd_create("fuzz-netvsp", 0);
	if (S.memfd < 0 || ftruncate(S.memfd, (off_t)MEM_PAGES * PG))
		abort();
	S.gmem = mmap(NULL, (size_t)MEM_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		      S.memfd, 0);
	S.shadow = calloc(MEM_PAGES, PG);
	if (S.gmem == MAP_FAILED || !S.shadow)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct in in = { data, len };

	memset(S.gmem, 0, (size_t)MEM_PAGES * PG);
	memset(S.shadow, 0, (size_t)MEM_PAGES * PG);
	memset(S.want, 0, sizeof(S.want));
	memset(S.done, 0, sizeof(S.done));
	S.next_id = 1;
	S.nheld = 0;
	run(&in);
	return 0;
}
