// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for storvsp (host-vsp/storage/storvsp.c) behind a real
 * VMBus server: the guest controls every packet on every SCSI channel
 * (type, length, GPA-direct ranges and PFNs: in guest memory, in the
 * rings, outside), the ring indices, and when it reads its ring and
 * signals; the host pumps disk completions, hot-adds and removes disks.
 * Whatever happens: no crash, no UB, no leak; every completion answers a
 * packet the guest sent on that channel, at most once; and the host
 * writes no guest byte outside the ranges the page lists named and the
 * rings (a canary over the rest of guest memory, checked per input).
 *
 * Input: [u8 config] then a script of operations:
 *   config bits 0-1 VPs - 1, bits 2-3 host->guest ring pages - 2 (2..5),
 *          bit 4 cap the protocol at 5.1, bit 5 skip the Linux init
 *   op 0   in-band packet: [u8 chan][u8 len][len bytes]
 *   op 1   SRB: [u8 chan][u8 lun][u8 cdb sel][u8 dir][u8 xfer sel]
 *          [u8 a][u8 b][u8 nranges] then per range
 *          [u16 offset][u16 count][u8 npfn][npfn x u8 pfn sel]
 *   op 2   raw GPA-direct packet: [u8 chan][u8 hdr len / 8][hdr bytes]
 *          [u8 len][len bytes]
 *   op 3   pump disk completions: [u8 n]
 *   op 4   the guest reads its ring: [u8 chan]
 *   op 5   hot add: [u8 lun][u8 read-only]
 *   op 6   hot remove: [u8 lun]
 *   op 7   close channel: [u8 chan]
 *   op 8   (re)open channel: [u8 chan] (primary: and initialise)
 *   op 9   control operation: [u8 chan][u8 op][u16 arg]
 *   op 10  signal the host: [u8 chan]
 *   op 11  scribble on a ring control page: [u8 chan][u8 word][u32 v]
 *   op 12  a new partition: detach, destroy, attach a new server
 * PFN selectors: < 0xC0 data pages, 0xC0..0xDF ring pages, 0xE0..0xEF
 * just outside guest memory, above: far outside.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hvis/scsi.h>
#include <hvis/vstor.h>

#include "host-vsp/storage/storvsp.h"
#include "tests/common/vmbus_fake.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

#define PG		4096u
#define MEM_PAGES	128u
#define RING0		0u	/* channel k's ring at RING0 + 10 * k */
#define RING_STRIDE	10u
#define NCHAN		3u	/* primary + 2 sub-channels */
#define DATA0		32u
#define NDATA		(MEM_PAGES - DATA0)
#define IMG_BYTES	(1u << 20)
#define MAX_IDS		4096u
#define MAX_OPS		256


struct chan {
	struct vf_chan v;		/* rings, relid, connid; v.open */
	bool tainted;			/* the guest scribbled on its rings */
	uint64_t next_id;		/* trans_ids: 1 .. MAX_IDS - 1 */
	uint8_t sent[MAX_IDS], done[MAX_IDS];
};

static struct vf_host H;		/* guest memory, the server's callbacks */

static struct {
	uint8_t *named;			/* a byte per guest byte: may be written */
	bool named_page[MEM_PAGES];	/* some byte of it named */
	bool ring_page[MEM_PAGES];
	uint8_t *canary;		/* what guest memory starts as */
	char img[64];
	int img_fd;
	struct aio *aio;

	struct vmbus_server *srv;
	struct storvsp *c;
	uint32_t nvps, down_pages;
	struct chan ch[NCHAN];
	struct hvis_chmsg_offer offers[NCHAN];
	bool have_offer[NCHAN];
	uint32_t next_gpadl;
} S;

static uint8_t canary(size_t i)
{
	return (uint8_t)((i * 131u + 7u) ^ (i >> 12) ^ 0x5A);
}

/* ------------------------------------------------------------ fake host */

static void f_log(struct vf_host *h, enum vmbus_log_level lvl, const char *m)
{
	(void)h;
	if (strlen(m) >= 256)
		abort();
	if (getenv("HVIS_FUZZ_LOG"))
		fprintf(stderr, "[%d] %s\n", lvl, m);
}

static const struct storvsp_host_ops host_ops = {
	.opaque = &H,
	.guest_page = vf_guest_page,
	.log = vf_log,
};

/* Take the SCSI offers posted since the last look (the newest for each
 * sub-channel index), then forget the messages.
 */
static void harvest(void)
{
	static const struct hvis_guid scsi = HVIS_GUID_SCSI;

	for (unsigned int k = 0; k < NCHAN; k++)
		if (vf_find_offer(&H, &scsi, (uint16_t)k, 0, &S.offers[k]))
			S.have_offer[k] = true;
	vf_clear(&H);
}

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

/* ------------------------------------------------------------ the guest */

static uint16_t gmsg(const void *m, size_t len)
{
	return vf_send_msg(S.srv, 1, m, len);
}

static void mark(uint64_t pfn, uint32_t off, uint32_t len)
{
	if (pfn >= MEM_PAGES || off >= PG)
		return;
	if (len > PG - off)
		len = PG - off;
	memset(S.named + pfn * PG + off, 1, len);
	S.named_page[pfn] = true;
}

/* Read everything the host sent on @k; check what completions answer. */
static void rx(unsigned int k)
{
	struct chan *c = &S.ch[k];

	if (!c->v.open)
		return;
	for (int rounds = 0; rounds < 64; rounds++) {
		struct hvis_pkt_desc desc;
		int rc;

		while ((rc = vf_guest_read(&c->v, NULL, 0, &desc)) >= 0) {
			uint32_t plen = (uint32_t)rc;
			uint64_t id = desc.pd_trans_id;

			if (c->tainted)
				continue;
			if (desc.pd_type == HVIS_PKT_COMPLETION) {
				if (plen != HVIS_VSTOR_PACKET_SIZE &&
				    plen != HVIS_VSTOR_PACKET_SIZE_PRE_WIN8)
					abort();
				/* an id we sent on this channel, once */
				if (id >= MAX_IDS || !c->sent[id] || c->done[id])
					abort();
				c->done[id] = 1;
			} else if (desc.pd_type == HVIS_PKT_DATA_INBAND) {
				if (id != 0)	/* unsolicited: ENUMERATE_BUS */
					abort();
			} else {
				abort();
			}
		}
		if (rc != -HVIS_RING_EMPTY && c->tainted)
			return;
		if (rc != -HVIS_RING_EMPTY)
			abort();	/* the host broke the guest's ring */
		rc = vf_guest_commit(S.srv, &c->v);	/* signals if asked */
		if (rc < 0) {
			if (c->tainted)
				return;
			abort();
		}
		if (!rc)
			return;
	}
}

static void pump(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!aio_in_flight(S.aio))
			break;
		if (!aio_poll(S.aio)) {
			struct pollfd p = { .fd = aio_fd(S.aio), .events = POLLIN };

			poll(&p, 1, 1);
		}
	}
	for (unsigned int k = 0; k < NCHAN; k++)
		rx(k);
}

static uint64_t send(unsigned int k, uint16_t type, uint16_t flags,
		     const void *hdr, uint32_t hdr_len, const void *p,
		     uint32_t len)
{
	struct chan *c = &S.ch[k];
	uint64_t id;

	if (!c->v.open || c->next_id >= MAX_IDS)
		return 0;
	id = c->next_id;
	c->sent[id] = 1;		/* before: the answer may come at once */
	if (vf_guest_send(&H, S.srv, &c->v, type, flags, id, hdr, hdr_len, p,
			  len, 0)) {
		c->sent[id] = 0;
		return 0;
	}
	c->next_id++;
	return id;
}

static void chan_open(unsigned int k)
{
	struct chan *c = &S.ch[k];
	const struct hvis_chmsg_offer *o = &S.offers[k];
	uint32_t pfn0 = RING0 + RING_STRIDE * k, down = k ? 4 : S.down_pages;
	struct vmbus_device *dev;

	harvest();
	if (c->v.open || !S.have_offer[k] || !o->of_child_relid)
		return;
	c->tainted = false;
	for (uint32_t i = 0; i < 4 + down; i++)
		S.ring_page[pfn0 + i] = true;
	vf_open_channel_at(&H, S.srv, o->of_child_relid, 4, down, pfn0,
			   ++S.next_gpadl, &c->v);
	dev = vmbus_server_device_by_relid(S.srv, c->v.relid);
	c->v.open = dev && vmbus_device_state(dev) == VMBUS_CHAN_OPEN;
	if (!c->next_id)
		c->next_id = 1;
}

static void chan_close(unsigned int k)
{
	struct chan *c = &S.ch[k];

	if (!c->v.open)
		return;
	vf_close_channel(&H, S.srv, &c->v);
	if (!k) {
		/* the sub-channels go with the primary: release them */
		for (unsigned int i = 1; i < NCHAN; i++) {
			struct hvis_chmsg_relid rl = {
				.rl_hdr.ch_msgtype = HVIS_CHMSG_RELID_RELEASED,
				.rl_child_relid = S.offers[i].of_child_relid,
			};

			if (S.have_offer[i])
				gmsg(&rl, sizeof(rl));
			S.have_offer[i] = false;
			S.ch[i].v.open = false;
		}
	}
}

/* A control operation, answered synchronously (pumped). */
static void ctl(unsigned int k, uint32_t op, uint16_t arg)
{
	struct hvis_vstor_packet p;

	memset(&p, 0, sizeof(p));
	p.vp_operation = op;
	p.vp_flags = HVIS_VSTOR_FLAG_REQUEST_COMPLETION;
	if (op == HVIS_VSTOR_OP_QUERY_PROTOCOL_VERSION)
		p.vp_version.vpv_major_minor = arg;
	else if (op == HVIS_VSTOR_OP_CREATE_SUB_CHANNELS)
		p.vp_sub_channel_count = arg;
	send(k, HVIS_PKT_DATA_INBAND, HVIS_PKT_FLAG_COMPLETION_REQUESTED, NULL, 0,
	     &p, sizeof(p));
	pump(4);
}

static void linux_init(void)
{
	static const uint16_t vers[] = { 0x0602, 0x0600, 0x0501 };

	ctl(0, HVIS_VSTOR_OP_BEGIN_INITIALIZATION, 0);
	for (unsigned int i = 0; i < 3 && !storvsp_version(S.c); i++)
		ctl(0, HVIS_VSTOR_OP_QUERY_PROTOCOL_VERSION, vers[i]);
	ctl(0, HVIS_VSTOR_OP_QUERY_PROPERTIES, 0);
	ctl(0, HVIS_VSTOR_OP_END_INITIALIZATION, 0);
}

static void connect_server(void)
{
	struct vmbus_server_options so = { .nvps = S.nvps };
	struct vmbus_server_ops ops = vf_server_ops(&H);

	memset(S.have_offer, 0, sizeof(S.have_offer));
	for (unsigned int k = 0; k < NCHAN; k++)
		S.ch[k].v.open = false;
	vf_clear(&H);
	S.srv = vmbus_server_create(&so, &ops);
	if (!S.srv || storvsp_attach(S.c, S.srv, S.nvps))
		abort();
	vf_connect(&H, S.srv, HVIS_VMBUS_VERSION_WS2022);
	harvest();
}

static void disconnect_server(void)
{
	struct storvsp_disk_info di[8];
	unsigned int n;

	storvsp_detach(S.c);
	if (aio_in_flight(S.aio))
		abort();	/* detach must wait for the I/O */
	n = storvsp_disks(S.c, di, 8);
	for (unsigned int i = 0; i < n && i < 8; i++)
		if (di[i].st.in_flight || di[i].lun >= 8)
			abort();
	if (storvsp_channels_open(S.c))
		abort();	/* nothing is open once detached */
	vmbus_server_destroy(S.srv);
	S.srv = NULL;
	if (H.maps)
		abort();
}

static uint64_t pick_pfn(uint8_t sel)
{
	if (sel < 0xC0)
		return DATA0 + sel % NDATA;
	if (sel < 0xE0)
		return RING0 + (sel - 0xC0u) % (RING_STRIDE * NCHAN);
	if (sel < 0xF0)
		return MEM_PAGES + (sel - 0xE0u);
	return (uint64_t)-1 >> ((sel & 0xF) * 4);
}

/* A CDB from a table of what Linux sends, then bent by @a, @b. */
static uint8_t pick_cdb(uint8_t *cdb, uint8_t sel, uint8_t a, uint8_t b)
{
	uint32_t lba = (uint32_t)a * 7u, n = b % 64;
	uint8_t len;

	memset(cdb, 0, 16);
	switch (sel % 16) {
	case 0: case 1:
		cdb[0] = sel & 16 ? HVIS_SCSI_OP_WRITE_10 : HVIS_SCSI_OP_READ_10;
		cdb[1] = sel & 32 ? HVIS_SCSI_RW_FUA : 0;
		cdb[4] = (uint8_t)(lba >> 8);
		cdb[5] = (uint8_t)lba;
		cdb[8] = (uint8_t)n;
		if (sel & 64)
			cdb[2] = 0xFF;		/* past the end */
		len = 10;
		break;
	case 2:
		cdb[0] = sel & 16 ? HVIS_SCSI_OP_WRITE_16 : HVIS_SCSI_OP_READ_16;
		cdb[8] = (uint8_t)(lba >> 8);
		cdb[9] = (uint8_t)lba;
		cdb[13] = (uint8_t)n;
		len = 16;
		break;
	case 3:
		cdb[0] = HVIS_SCSI_OP_INQUIRY;
		cdb[1] = a & 1;
		cdb[2] = b;
		cdb[4] = a;
		len = 6;
		break;
	case 4:
		cdb[0] = HVIS_SCSI_OP_REPORT_LUNS;
		cdb[9] = a;
		len = 12;
		break;
	case 5:
		cdb[0] = HVIS_SCSI_OP_SERVICE_ACTION_IN_16;
		cdb[1] = 0x10;
		cdb[13] = a;
		len = 16;
		break;
	case 6:
		cdb[0] = HVIS_SCSI_OP_SYNCHRONIZE_CACHE_10;
		len = 10;
		break;
	case 7:
		cdb[0] = HVIS_SCSI_OP_UNMAP;
		cdb[8] = a;
		len = 10;
		break;
	case 8:
		cdb[0] = HVIS_SCSI_OP_WRITE_SAME_16;
		cdb[1] = a & 0x09;
		cdb[9] = (uint8_t)lba;
		cdb[13] = (uint8_t)n;
		len = 16;
		break;
	case 9:
		cdb[0] = HVIS_SCSI_OP_MODE_SENSE_10;
		cdb[2] = b;
		cdb[8] = a;
		len = 10;
		break;
	case 10:
		cdb[0] = HVIS_SCSI_OP_REQUEST_SENSE;
		cdb[4] = a;
		len = 6;
		break;
	case 11:
		cdb[0] = HVIS_SCSI_OP_WRITE_6;
		cdb[3] = a;
		cdb[4] = b;
		len = 6;
		break;
	case 12:
		cdb[0] = HVIS_SCSI_OP_MODE_SELECT_10;
		cdb[8] = a;
		len = 10;
		break;
	case 13:
		cdb[0] = HVIS_SCSI_OP_TEST_UNIT_READY;
		len = 6;
		break;
	default:
		for (int i = 0; i < 16; i++)
			cdb[i] = (uint8_t)(a * (i + 1) ^ b);
		len = (uint8_t)(b % 18);
		break;
	}
	return len;
}

static void op_srb(struct in *in)
{
	static uint8_t hdr[8 + 4 * (8 + 255 * 8)];
	unsigned int k = in8(in) % NCHAN;
	uint8_t lun = in8(in), sel = in8(in), dir = in8(in), xs = in8(in);
	uint8_t a = in8(in), b = in8(in), nr = in8(in);
	struct hvis_vstor_packet p;
	struct hvis_vstor_srb *s = &p.vp_srb;
	uint32_t pos = 8, total = 0, hlen, v[2];

	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_EXECUTE_SRB;
	p.vp_flags = HVIS_VSTOR_FLAG_REQUEST_COMPLETION;
	s->vs_length = sizeof(*s);
	s->vs_lun = lun & 0x80 ? lun : lun % 4;
	s->vs_path_id = dir & 0x80 ? 1 : 0;
	s->vs_data_in = dir % 4;
	s->vs_sense_info_length = (uint8_t)(xs & 0x80 ? a : HVIS_VSTOR_SENSE_SIZE);
	s->vs_cdb_length = pick_cdb(s->vs_cdb, sel, a, b);
	/* the page list */
	nr %= 6;
	memset(hdr, 0, 8);
	memcpy(hdr + 4, &(uint32_t){ nr }, 4);
	for (unsigned int r = 0; r < nr; r++) {
		uint32_t off = in16(in) % (PG + 64), cnt = in16(in);
		uint8_t npfn = in8(in);

		if (cnt & 0x8000)	/* large: up to 2 MiB and beyond */
			cnt = (cnt & 0x7FFF) << 7;
		v[0] = cnt;
		v[1] = off;
		memcpy(hdr + pos, v, 8);
		pos += 8;
		for (unsigned int i = 0; i < npfn; i++) {
			uint64_t pfn = pick_pfn(in8(in));
			/* the range's bytes [off, off + cnt) that fall in page i */
			uint64_t lo = (uint64_t)i * PG, hi = lo + PG;
			uint64_t from = off > lo ? off : lo;
			uint64_t to = (uint64_t)off + cnt < hi ? (uint64_t)off + cnt : hi;

			if (from < to)
				mark(pfn, (uint32_t)(from - lo), (uint32_t)(to - from));
			memcpy(hdr + pos, &pfn, 8);
			pos += 8;
		}
		total += cnt;
	}
	hlen = pos;
	s->vs_data_transfer_length = xs & 0x40 ? (uint32_t)xs << 9 :
				     xs & 0x20 ? total + 512 : total;
	if (nr)
		send(k, HVIS_PKT_DATA_USING_GPA_DIRECT,
		     HVIS_PKT_FLAG_COMPLETION_REQUESTED, hdr, (hlen + 7) & ~7u,
		     &p, sizeof(p));
	else
		send(k, HVIS_PKT_DATA_INBAND, HVIS_PKT_FLAG_COMPLETION_REQUESTED,
		     NULL, 0, &p, (xs & 0x10) ? HVIS_VSTOR_PACKET_SIZE_PRE_WIN8 :
		     sizeof(p));
}

static void op_raw_gpa(struct in *in)
{
	static uint8_t hdr[8 * 255], pay[255];
	unsigned int k = in8(in) % NCHAN;
	uint32_t hlen = (uint32_t)in8(in) * 8, plen;

	memset(hdr, 0, sizeof(hdr));
	for (uint32_t i = 0; i < hlen; i++)
		hdr[i] = in8(in);
	plen = in8(in);
	for (uint32_t i = 0; i < plen; i++)
		pay[i] = in8(in);
	/* whatever u64 in it names a guest page: all of it may be written */
	for (uint32_t i = 8; i + 8 <= hlen; i += 4) {
		uint64_t pfn;

		memcpy(&pfn, hdr + i, 8);
		mark(pfn, 0, PG);
	}
	send(k, HVIS_PKT_DATA_USING_GPA_DIRECT, in8(in) & 1, hdr, hlen, pay, plen);
}

static void op_inband(struct in *in)
{
	static uint8_t pay[255];
	unsigned int k = in8(in) % NCHAN;
	uint32_t plen = in8(in);

	for (uint32_t i = 0; i < plen; i++)
		pay[i] = in8(in);
	send(k, HVIS_PKT_DATA_INBAND, HVIS_PKT_FLAG_COMPLETION_REQUESTED, NULL, 0,
	     pay, plen);
}

static void op_control(struct in *in)
{
	static const uint32_t ops[] = {
		HVIS_VSTOR_OP_BEGIN_INITIALIZATION,
		HVIS_VSTOR_OP_QUERY_PROTOCOL_VERSION,
		HVIS_VSTOR_OP_QUERY_PROPERTIES,
		HVIS_VSTOR_OP_END_INITIALIZATION,
		HVIS_VSTOR_OP_CREATE_SUB_CHANNELS,
		HVIS_VSTOR_OP_RESET_BUS,
		HVIS_VSTOR_OP_RESET_LUN,
		HVIS_VSTOR_OP_RESET_ADAPTER,
		HVIS_VSTOR_OP_FCHBA_DATA,
		HVIS_VSTOR_OP_ENUMERATE_BUS,
		HVIS_VSTOR_OP_REMOVE_DEVICE,
		HVIS_VSTOR_OP_COMPLETE_IO,
	};
	static const uint16_t vers[] = { 0x0602, 0x0600, 0x0501, 0x0402, 0x0200 };
	unsigned int k = in8(in) % NCHAN;
	uint8_t op = in8(in);
	uint16_t arg = in16(in);
	uint32_t o = op < 0xF0 ? ops[op % (sizeof(ops) / sizeof(ops[0]))] : op;

	if (o == HVIS_VSTOR_OP_QUERY_PROTOCOL_VERSION && !(arg & 0x8000))
		arg = vers[arg % 5];
	else if (o == HVIS_VSTOR_OP_CREATE_SUB_CHANNELS && !(arg & 0x8000))
		arg %= 4;
	ctl(k, o, arg);
	/* open what was offered */
	if (o == HVIS_VSTOR_OP_CREATE_SUB_CHANNELS)
		for (unsigned int i = 1; i < NCHAN; i++)
			chan_open(i);
}

static void op_scribble(struct in *in)
{
	static const uint8_t word[4] = { 0, 3, 1, 2 };
	unsigned int k = in8(in) % NCHAN;
	uint8_t w = in8(in);
	uint32_t v = in32(in);
	struct chan *c = &S.ch[k];
	uint32_t pfn;

	if (!c->v.open)
		return;
	/*
	 * The words the guest owns: in its outbound ring the write index and
	 * pending_send_sz, in its inbound ring the read index and the
	 * interrupt mask. The guest's own ring code is then out of step with
	 * them: it stops checking what it reads on this channel.
	 */
	pfn = RING0 + RING_STRIDE * k + (w & 2 ? c->v.up : 0);
	memcpy(H.gmem + (size_t)pfn * PG + 4 * word[(w & 2) | (w & 1)], &v, 4);
	c->tainted = true;
	vmbus_server_signal(S.srv, c->v.connid);
}

static void hot_add(uint8_t lun, bool ro)
{
	struct storvsp_disk_cfg cfg = {
		.path = S.img, .format = IMG_FORMAT_RAW, .read_only = ro,
		.lun = lun,
	};
	char err[160];

	storvsp_add_disk(S.c, &cfg, err, sizeof(err));
}

static void check_canary(void)
{
	for (size_t pg = 0; pg < MEM_PAGES; pg++) {
		size_t at = pg * PG;

		if (S.ring_page[pg] ||
		    (!S.named_page[pg] && !memcmp(H.gmem + at, S.canary + at, PG)))
			continue;
		for (size_t i = at; i < at + PG; i++) {
			if (S.named[i] || H.gmem[i] == S.canary[i])
				continue;
			fprintf(stderr, "guest byte %#zx (page %zu) written outside every page list\n",
				i, pg);
			abort();
		}
	}
}

/* ------------------------------------------------------------ entry */

static void cleanup(void)
{
	if (S.img[0])
		unlink(S.img);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vf_host_init(&H, (size_t)MEM_PAGES * PG, NULL);	/* aborts */
	H.on_log = f_log;
	S.named = malloc((size_t)MEM_PAGES * PG);
	S.canary = malloc((size_t)MEM_PAGES * PG);
	if (!S.named || !S.canary)
		abort();
	for (size_t i = 0; i < (size_t)MEM_PAGES * PG; i++)
		S.canary[i] = canary(i);
	snprintf(S.img, sizeof(S.img), "/tmp/hvis-fuzz-storvsp-%d.raw",
		 (int)getpid());
	S.img_fd = open(S.img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (S.img_fd < 0 || ftruncate(S.img_fd, IMG_BYTES))
		abort();
	atexit(cleanup);
	S.aio = aio_create(AIO_ENGINE_AUTO, 64);
	if (!S.aio)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct in in = { data, len };
	struct storvsp_options opt = { 0 };
	struct hvis_guid inst = HVIS_GUID_INIT(0x5eed5eed, 0x1, 0x4002, 0x83,
					       4, 5, 6, 7, 8, 9, 10);
	uint8_t cfg = in8(&in);
	int ops = 0;

	/* a fresh guest, image and controller */
	memcpy(H.gmem, S.canary, (size_t)MEM_PAGES * PG);
	memset(S.named, 0, (size_t)MEM_PAGES * PG);
	memset(S.named_page, 0, sizeof(S.named_page));
	memset(S.ring_page, 0, sizeof(S.ring_page));
	memset(S.ch, 0, sizeof(S.ch));
	if (ftruncate(S.img_fd, 0) || ftruncate(S.img_fd, IMG_BYTES))
		abort();
	S.nvps = 1 + (cfg & 3);
	S.down_pages = 2 + ((cfg >> 2) & 3);
	if (cfg & 0x10)
		opt.max_version = 0x0501;
	S.c = storvsp_create(0, &inst, S.aio, &opt, &host_ops);
	if (!S.c)
		abort();
	hot_add(0, false);
	connect_server();
	chan_open(0);
	if (!(cfg & 0x20))
		linux_init();

	while (in.n && ops++ < MAX_OPS) {
		harvest();
		switch (in8(&in) % 13) {
		case 0:
			op_inband(&in);
			break;
		case 1:
			op_srb(&in);
			break;
		case 2:
			op_raw_gpa(&in);
			break;
		case 3:
			pump(in8(&in) % 16 + 1);
			break;
		case 4:
			rx(in8(&in) % NCHAN);
			break;
		case 5: {
			uint8_t lun = in8(&in) % 8;

			hot_add(lun, in8(&in) & 1);
			break;
		}
		case 6:
			storvsp_remove_disk(S.c, in8(&in) % 8);
			break;
		case 7:
			chan_close(in8(&in) % NCHAN);
			break;
		case 8: {
			unsigned int k = in8(&in) % NCHAN;
			bool was = S.ch[k].v.open;

			chan_open(k);
			if (!k && !was && S.ch[0].v.open)
				linux_init();
			break;
		}
		case 9:
			op_control(&in);
			break;
		case 10: {
			unsigned int k = in8(&in) % NCHAN;

			if (S.ch[k].v.open)
				vmbus_server_signal(S.srv, S.ch[k].v.connid);
			break;
		}
		case 11:
			op_scribble(&in);
			break;
		case 12:
			disconnect_server();
			connect_server();
			chan_open(0);
			linux_init();
			break;
		}
	}
	pump(64);
	disconnect_server();
	check_canary();
	storvsp_destroy(S.c);
	S.c = NULL;
	return 0;
}
