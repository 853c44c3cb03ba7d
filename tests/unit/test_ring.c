// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ring buffer tests: round trips, wrap-around, full/empty, the signalling
 * rules, and a table of corrupt control pages and packets. Each ring's
 * data area is its own exact-size heap block, so any out-of-bounds access
 * by lib/ring.c is an ASan error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "ring.h"
#include "unit.h"

/* A ring as two views over one shared memory: the writer's and the reader's. */
struct pair {
	struct hvis_ring_header *hdr;
	u8 *data;
	u32 size;
	struct hvis_ring w, r;
};

static void pair_open(struct pair *p, u32 size)
{
	p->hdr = aligned_alloc(4096, sizeof(*p->hdr));
	p->data = malloc(size);
	p->size = size;
	CU_ASSERT_FATAL(p->hdr && p->data);
	hvis_ring_header_init(p->hdr);
	memset(p->data, 0xEE, size);
	CU_ASSERT_FATAL(hvis_ring_attach(&p->w, p->hdr, p->data, size,
					 HVIS_RING_WRITER) == 0);
	CU_ASSERT_FATAL(hvis_ring_attach(&p->r, p->hdr, p->data, size,
					 HVIS_RING_READER) == 0);
}

static void pair_close(struct pair *p)
{
	free(p->hdr);
	free(p->data);
}

static void fill_pattern(u8 *buf, u32 len, u32 seed)
{
	for (u32 i = 0; i < len; i++)
		buf[i] = (u8)(seed * 131u + i * 7u);
}

static int send_bytes(struct pair *p, const void *buf, u32 len, u64 id,
		      bool *sig)
{
	struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_DATA_INBAND,
				   .pd_flags = HVIS_PKT_FLAG_COMPLETION_REQUESTED,
				   .pd_trans_id = id };
	struct hvis_iov iov = { buf, len };

	return hvis_ring_send(&p->w, &d, 0, &iov, 1, sig);
}

/* Bytes a packet of @payload occupies in the ring, trailer included. */
static u32 footprint(u32 payload)
{
	return ((16u + payload + 7u) & ~7u) + 8u;
}

/* ------------------------------------------------------------ basics */

static void test_attach_validation(void)
{
	struct hvis_ring_header *hdr = aligned_alloc(4096, sizeof(*hdr));
	u8 *data = malloc(256);
	struct hvis_ring r;

	hvis_ring_header_init(hdr);
	CU_ASSERT_EQUAL(hvis_ring_attach(&r, hdr, data, 255, HVIS_RING_READER),
			-HVIS_RING_INVAL);
	CU_ASSERT_EQUAL(hvis_ring_attach(&r, hdr, data, 32, HVIS_RING_READER),
			-HVIS_RING_INVAL);
	CU_ASSERT_EQUAL(hvis_ring_attach(&r, hdr, NULL, 256, HVIS_RING_READER),
			-HVIS_RING_INVAL);
	/* Initial indices come from shared memory and are checked too. */
	hdr->rh_read_index = 256;
	CU_ASSERT_EQUAL(hvis_ring_attach(&r, hdr, data, 256, HVIS_RING_READER),
			-HVIS_RING_BAD_INDEX);
	hdr->rh_read_index = 12;
	CU_ASSERT_EQUAL(hvis_ring_attach(&r, hdr, data, 256, HVIS_RING_READER),
			-HVIS_RING_BAD_ALIGN);
	hdr->rh_write_index = 4096;
	CU_ASSERT_EQUAL(hvis_ring_attach(&r, hdr, data, 256, HVIS_RING_WRITER),
			-HVIS_RING_BAD_INDEX);
	/* A writer advertises pending_send_sz support. */
	hvis_ring_header_init(hdr);
	CU_ASSERT_EQUAL(hvis_ring_attach(&r, hdr, data, 256, HVIS_RING_WRITER), 0);
	CU_ASSERT_EQUAL(hdr->rh_feature_bits & HVIS_RING_FEAT_PENDING_SEND_SZ,
			HVIS_RING_FEAT_PENDING_SEND_SZ);
	free(hdr);
	free(data);
}

static void test_roundtrip_inband(void)
{
	struct pair p;
	struct hvis_ring_pkt pkt;
	u8 msg[13], out[64];
	u64 trailer;
	u32 len = sizeof(out);
	bool sig;

	pair_open(&p, 4096);
	fill_pattern(msg, sizeof(msg), 1);
	CU_ASSERT_EQUAL(send_bytes(&p, msg, sizeof(msg), 0x1122334455ull, &sig), 0);
	/* 16 + 13 = 29 -> 32 bytes, then the trailer. */
	CU_ASSERT_EQUAL(p.hdr->rh_write_index, 40u);
	memcpy(&trailer, p.data + 32, 8);
	CU_ASSERT_EQUAL(trailer, HVIS_PKT_TRAILER(0));
	/* padding is zeroed, not left as whatever was in the ring */
	CU_ASSERT_EQUAL(p.data[29], 0);
	CU_ASSERT_EQUAL(p.data[31], 0);

	CU_ASSERT_EQUAL(hvis_ring_bytes_to_read(&p.r), 40);
	CU_ASSERT_EQUAL(hvis_ring_read(&p.r, out, &len, &pkt), 0);
	CU_ASSERT_EQUAL(len, 32u);
	CU_ASSERT_EQUAL(pkt.desc.pd_type, HVIS_PKT_DATA_INBAND);
	CU_ASSERT_EQUAL(pkt.desc.pd_offset8, 2);
	CU_ASSERT_EQUAL(pkt.desc.pd_len8, 4);
	CU_ASSERT_EQUAL(pkt.desc.pd_flags, HVIS_PKT_FLAG_COMPLETION_REQUESTED);
	CU_ASSERT_EQUAL(pkt.desc.pd_trans_id, 0x1122334455ull);
	CU_ASSERT_EQUAL(pkt.data_off, 16u);
	CU_ASSERT_EQUAL(memcmp(out + 16, msg, sizeof(msg)), 0);
	/* consumed but not yet published */
	CU_ASSERT_EQUAL(p.hdr->rh_read_index, 0u);
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_EQUAL(p.hdr->rh_read_index, 40u);
	CU_ASSERT_EQUAL(hvis_ring_peek(&p.r, &pkt), -HVIS_RING_EMPTY);
	pair_close(&p);
}

/* Type-specific header (as in GPA-direct packets) moves the payload. */
static void test_header_len_sets_offset8(void)
{
	struct pair p;
	struct hvis_ring_pkt pkt;
	u8 ext[24] = { 1, 2, 3 }, payload[10] = { 9, 8, 7 }, got[10];
	struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_DATA_USING_GPA_DIRECT,
				   .pd_trans_id = 7 };
	struct hvis_iov iov[2] = { { ext, sizeof(ext) },
				   { payload, sizeof(payload) } };
	bool sig;

	pair_open(&p, 1024);
	CU_ASSERT_EQUAL(hvis_ring_send(&p.w, &d, sizeof(ext), iov, 2, &sig), 0);
	CU_ASSERT_EQUAL(hvis_ring_peek(&p.r, &pkt), 0);
	CU_ASSERT_EQUAL(pkt.desc.pd_offset8, (16 + 24) / 8);
	CU_ASSERT_EQUAL(pkt.desc.pd_len8, (16 + 24 + 10 + 7) / 8);
	CU_ASSERT_EQUAL(hvis_ring_copy_out(&p.r, &pkt, pkt.data_off, got,
					   sizeof(got)), 0);
	CU_ASSERT_EQUAL(memcmp(got, payload, sizeof(got)), 0);
	/* header length must be 8-aligned and inside the iovs */
	CU_ASSERT_EQUAL(hvis_ring_send(&p.w, &d, 12, iov, 2, &sig),
			-HVIS_RING_INVAL);
	CU_ASSERT_EQUAL(hvis_ring_send(&p.w, &d, 40, iov, 2, &sig),
			-HVIS_RING_INVAL);
	pair_close(&p);
}

static void test_copy_out_bounds(void)
{
	struct pair p;
	struct hvis_ring_pkt pkt;
	u8 msg[20] = { 0 }, buf[64];
	bool sig;

	pair_open(&p, 512);
	CU_ASSERT_EQUAL(send_bytes(&p, msg, sizeof(msg), 1, &sig), 0);
	CU_ASSERT_EQUAL(hvis_ring_peek(&p.r, &pkt), 0);
	CU_ASSERT_EQUAL(pkt.len, 40u);
	CU_ASSERT_EQUAL(hvis_ring_copy_out(&p.r, &pkt, 0, buf, 40), 0);
	CU_ASSERT_EQUAL(hvis_ring_copy_out(&p.r, &pkt, 0, buf, 41),
			-HVIS_RING_INVAL);
	CU_ASSERT_EQUAL(hvis_ring_copy_out(&p.r, &pkt, 41, buf, 0),
			-HVIS_RING_INVAL);
	CU_ASSERT_EQUAL(hvis_ring_copy_out(&p.r, &pkt, 32, buf, 0xFFFFFFF8u),
			-HVIS_RING_INVAL);
	pair_close(&p);
}

/* ------------------------------------------------------------ wrap-around */

/*
 * Many packets of every size through a small ring, read back in batches:
 * descriptors, payloads and trailers all cross the end of the data area.
 */
static void test_wraparound_stress(void)
{
	enum { SIZE = 512, ROUNDS = 20000 };
	struct pair p;
	struct hvis_ring_pkt pkt;
	u8 msg[200], out[256], want[200];
	u32 next_send = 0, next_recv = 0, wraps = 0, prev_w = 0;
	bool sig;

	pair_open(&p, SIZE);
	while (next_recv < ROUNDS) {
		/* send until full */
		while (next_send < ROUNDS) {
			u32 len = (next_send * 37u) % sizeof(msg);
			int ret;

			fill_pattern(msg, len, next_send);
			ret = send_bytes(&p, msg, len, next_send, &sig);
			if (ret == -HVIS_RING_FULL)
				break;
			CU_ASSERT_EQUAL_FATAL(ret, 0);
			if (p.hdr->rh_write_index < prev_w)
				wraps++;
			prev_w = p.hdr->rh_write_index;
			next_send++;
		}
		/* drain a few, committing in a batch */
		for (int i = 0; i < 3 && next_recv < next_send; i++) {
			u32 len = sizeof(out), plen = (next_recv * 37u) % sizeof(msg);

			CU_ASSERT_EQUAL_FATAL(hvis_ring_read(&p.r, out, &len, &pkt), 0);
			CU_ASSERT_EQUAL_FATAL(pkt.desc.pd_trans_id, next_recv);
			CU_ASSERT_EQUAL_FATAL(len, (16u + plen + 7u) & ~7u);
			fill_pattern(want, plen, next_recv);
			CU_ASSERT_EQUAL_FATAL(memcmp(out + 16, want, plen), 0);
			next_recv++;
		}
		CU_ASSERT_EQUAL_FATAL(hvis_ring_commit(&p.r, &sig), 0);
	}
	CU_ASSERT(wraps > 100);
	CU_ASSERT_EQUAL(hvis_ring_bytes_to_read(&p.r), 0);
	CU_ASSERT_EQUAL(p.r.error, 0);
	pair_close(&p);
}

/* A descriptor split by the end of the data area is reassembled. */
static void test_descriptor_split_at_end(void)
{
	struct pair p;
	struct hvis_ring_pkt pkt;
	u8 msg[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[32];
	u32 len = sizeof(out);
	bool sig;

	pair_open(&p, 256);
	/* place both indices 8 bytes before the end */
	p.hdr->rh_write_index = p.hdr->rh_read_index = 248;
	CU_ASSERT_FATAL(hvis_ring_attach(&p.w, p.hdr, p.data, 256,
					 HVIS_RING_WRITER) == 0);
	CU_ASSERT_FATAL(hvis_ring_attach(&p.r, p.hdr, p.data, 256,
					 HVIS_RING_READER) == 0);
	CU_ASSERT_EQUAL(send_bytes(&p, msg, sizeof(msg), 99, &sig), 0);
	CU_ASSERT(sig);
	CU_ASSERT_EQUAL(p.hdr->rh_write_index, 24u); /* 248 + 32 - 256 */
	CU_ASSERT_EQUAL(hvis_ring_read(&p.r, out, &len, &pkt), 0);
	CU_ASSERT_EQUAL(pkt.start, 248u);
	CU_ASSERT_EQUAL(pkt.desc.pd_trans_id, 99u);
	CU_ASSERT_EQUAL(memcmp(out + 16, msg, 8), 0);
	pair_close(&p);
}

/* ------------------------------------------------------------ full / empty */

static void test_full_and_empty(void)
{
	struct pair p;
	u8 msg[40] = { 0 };
	u32 fp = footprint(sizeof(msg)), sent = 0;
	bool sig;
	int ret;

	pair_open(&p, 256);
	CU_ASSERT_EQUAL(hvis_ring_bytes_to_write(&p.w), 256);
	while ((ret = send_bytes(&p, msg, sizeof(msg), sent, &sig)) == 0)
		sent++;
	CU_ASSERT_EQUAL(ret, -HVIS_RING_FULL);
	/* 64-byte packets: three fit (192), a fourth would leave 0 free */
	CU_ASSERT_EQUAL(fp, 64u);
	CU_ASSERT_EQUAL(sent, 3u);
	CU_ASSERT_EQUAL(hvis_ring_bytes_to_write(&p.w), 64);
	/* a FULL send changes nothing */
	CU_ASSERT_EQUAL(p.hdr->rh_write_index, 192u);
	/* a smaller packet still fits: 56 < 64 free */
	CU_ASSERT_EQUAL(send_bytes(&p, msg, 32, 9, &sig), 0);
	CU_ASSERT_EQUAL(hvis_ring_bytes_to_write(&p.w), 8);
	/* nothing fits now, not even an empty packet (24 bytes) */
	CU_ASSERT_EQUAL(send_bytes(&p, msg, 0, 10, &sig), -HVIS_RING_FULL);
	pair_close(&p);
}

static void test_too_big(void)
{
	struct pair p;
	static u8 big[1024];
	bool sig;

	pair_open(&p, 256);
	/* footprint 256 == size: can never fit (one byte stays unused) */
	CU_ASSERT_EQUAL(send_bytes(&p, big, 232, 1, &sig), -HVIS_RING_TOOBIG);
	CU_ASSERT_EQUAL(send_bytes(&p, big, 1000, 1, &sig), -HVIS_RING_TOOBIG);
	CU_ASSERT_EQUAL(send_bytes(&p, big, 224, 1, &sig), 0);
	CU_ASSERT_EQUAL(p.w.error, 0);
	pair_close(&p);
}

/* ------------------------------------------------------------ signalling */

static void test_writer_signal_rules(void)
{
	struct pair p;
	struct hvis_ring_pkt pkt;
	u8 msg[8] = { 0 }, out[64];
	u32 len;
	bool sig;

	pair_open(&p, 1024);
	/* empty ring, reader unmasked: signal */
	CU_ASSERT_EQUAL(send_bytes(&p, msg, 8, 1, &sig), 0);
	CU_ASSERT_TRUE(sig);
	/* reader has not consumed: it is busy, no signal */
	CU_ASSERT_EQUAL(send_bytes(&p, msg, 8, 2, &sig), 0);
	CU_ASSERT_FALSE(sig);
	/* reader consumes one but has not published: still no signal */
	len = sizeof(out);
	CU_ASSERT_EQUAL(hvis_ring_read(&p.r, out, &len, &pkt), 0);
	CU_ASSERT_EQUAL(send_bytes(&p, msg, 8, 3, &sig), 0);
	CU_ASSERT_FALSE(sig);
	/* reader drains and publishes: next packet signals again */
	while (len = sizeof(out), hvis_ring_read(&p.r, out, &len, &pkt) == 0)
		;
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_EQUAL(send_bytes(&p, msg, 8, 4, &sig), 0);
	CU_ASSERT_TRUE(sig);
	/* masked reader: never signal */
	len = sizeof(out);
	CU_ASSERT_EQUAL(hvis_ring_read(&p.r, out, &len, &pkt), 0);
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	hvis_ring_mask(&p.r);
	CU_ASSERT_EQUAL(send_bytes(&p, msg, 8, 5, &sig), 0);
	CU_ASSERT_FALSE(sig);
	/* unmask reports the packet that arrived while masked */
	CU_ASSERT_EQUAL(hvis_ring_unmask(&p.r), 1);
	len = sizeof(out);
	CU_ASSERT_EQUAL(hvis_ring_read(&p.r, out, &len, &pkt), 0);
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_EQUAL(hvis_ring_unmask(&p.r), 0);
	pair_close(&p);
}

/* Fill a 1 KiB ring with 64-byte packets (3 bytes short of full). */
static u32 fill_ring(struct pair *p)
{
	u8 msg[40] = { 0 };
	u32 n = 0;
	bool sig;

	while (send_bytes(p, msg, sizeof(msg), n, &sig) == 0)
		n++;
	return n;
}

static void read_n(struct pair *p, u32 n)
{
	struct hvis_ring_pkt pkt;
	u8 out[128];

	for (u32 i = 0; i < n; i++) {
		u32 len = sizeof(out);

		CU_ASSERT_EQUAL_FATAL(hvis_ring_read(&p->r, out, &len, &pkt), 0);
	}
}

static void test_reader_signal_rules(void)
{
	struct pair p;
	bool sig;

	pair_open(&p, 1024);
	CU_ASSERT_EQUAL(fill_ring(&p), 15u); /* 15 * 64 = 960, 64 free */
	/* writer did not ask for space: consuming never signals */
	read_n(&p, 1);
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_FALSE(sig);
	CU_ASSERT_EQUAL(fill_ring(&p), 1u);

	/* writer asks for room for a 120-byte packet: 136 bytes, but at
	 * least a quarter of the ring is requested (256) */
	CU_ASSERT_EQUAL(hvis_ring_request_space(&p.w, 120), 0);
	CU_ASSERT_EQUAL(p.hdr->rh_pending_send_sz, 256u);
	/* 64 + 64*2 = 192 free: below the threshold, no signal */
	read_n(&p, 2);
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_FALSE(sig);
	/* 192 + 128 = 320 > 256: this commit crossed it, signal */
	read_n(&p, 2);
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_TRUE(sig);
	/* already above before: no second signal for the same request */
	read_n(&p, 1);
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_FALSE(sig);
	/* a commit with nothing consumed does nothing */
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_FALSE(sig);
	/* space is there now: request says "send again" and clears itself */
	CU_ASSERT_EQUAL(hvis_ring_request_space(&p.w, 120), 1);
	CU_ASSERT_EQUAL(p.hdr->rh_pending_send_sz, 0u);

	/* a writer without the feature bit is never signalled */
	fill_ring(&p);
	p.hdr->rh_feature_bits = 0;
	p.hdr->rh_pending_send_sz = 100;
	read_n(&p, 8);
	CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), 0);
	CU_ASSERT_FALSE(sig);
	pair_close(&p);
}

/* ------------------------------------------------------------ corruption */

enum corrupt_kind {
	C_WRITE_INDEX, C_READ_INDEX, C_DESC_LEN8, C_DESC_OFF8,
	C_TRAILER, C_RAW_WRITE_INDEX,
};

struct corrupt_case {
	const char *what;
	enum corrupt_kind kind;
	u32 value;
	int expect;			/* status peek/send returns */
	bool writer_side;		/* detected by the writer */
};

static const struct corrupt_case corrupt_cases[] = {
	{ "write index == size", C_WRITE_INDEX, 1024, HVIS_RING_BAD_INDEX, false },
	{ "write index huge", C_WRITE_INDEX, 0xFFFFFFF8u, HVIS_RING_BAD_INDEX, false },
	{ "write index off grid", C_WRITE_INDEX, 44, HVIS_RING_BAD_ALIGN, false },
	{ "read index beyond ring", C_READ_INDEX, 4096, HVIS_RING_BAD_INDEX, true },
	{ "read index off grid", C_READ_INDEX, 3, HVIS_RING_BAD_ALIGN, true },
	{ "len8 past published data", C_DESC_LEN8, 20, HVIS_RING_BAD_LENGTH, false },
	{ "len8 larger than the ring", C_DESC_LEN8, 0xFFFF, HVIS_RING_BAD_LENGTH, false },
	{ "len8 zero", C_DESC_LEN8, 0, HVIS_RING_BAD_DESC, false },
	{ "len8 shorter than descriptor", C_DESC_LEN8, 1, HVIS_RING_BAD_DESC, false },
	{ "offset8 inside descriptor", C_DESC_OFF8, 1, HVIS_RING_BAD_DESC, false },
	{ "offset8 beyond len8", C_DESC_OFF8, 6, HVIS_RING_BAD_DESC, false },
	{ "trailer names another start", C_TRAILER, 8, HVIS_RING_BAD_TRAILER, false },
	{ "trailer zeroed", C_TRAILER, 0xFFFFFFFFu, HVIS_RING_BAD_TRAILER, false },
	{ "published less than a descriptor", C_RAW_WRITE_INDEX, 8, HVIS_RING_BAD_LENGTH, false },
};

static void run_corrupt_case(const struct corrupt_case *c)
{
	struct pair p;
	struct hvis_ring_pkt pkt;
	u8 msg[24] = { 0 }, out[64];
	struct hvis_pkt_desc *d;
	u32 len = sizeof(out);
	u64 trailer;
	bool sig;
	int ret;

	pair_open(&p, 1024);
	/* start mid-ring so that no corruption is hidden by index 0 */
	p.hdr->rh_write_index = p.hdr->rh_read_index = 64;
	CU_ASSERT_FATAL(hvis_ring_attach(&p.w, p.hdr, p.data, 1024,
					 HVIS_RING_WRITER) == 0);
	CU_ASSERT_FATAL(hvis_ring_attach(&p.r, p.hdr, p.data, 1024,
					 HVIS_RING_READER) == 0);
	CU_ASSERT_FATAL(send_bytes(&p, msg, sizeof(msg), 5, &sig) == 0);
	d = (struct hvis_pkt_desc *)(p.data + 64);

	switch (c->kind) {
	case C_WRITE_INDEX:
	case C_RAW_WRITE_INDEX:
		p.hdr->rh_write_index = c->kind == C_RAW_WRITE_INDEX ?
					64 + c->value : c->value;
		break;
	case C_READ_INDEX:
		p.hdr->rh_read_index = c->value;
		break;
	case C_DESC_LEN8:
		d->pd_len8 = (u16)c->value;
		break;
	case C_DESC_OFF8:
		d->pd_offset8 = (u16)c->value;
		break;
	case C_TRAILER:
		trailer = c->value == 0xFFFFFFFFu ? 0 : HVIS_PKT_TRAILER(c->value);
		memcpy(p.data + 64 + 40, &trailer, 8);
		break;
	}

	if (c->writer_side) {
		ret = send_bytes(&p, msg, sizeof(msg), 6, &sig);
		CU_ASSERT_EQUAL(ret, -c->expect);
		/* sticky: the writer refuses everything from now on */
		CU_ASSERT_EQUAL(send_bytes(&p, msg, 8, 7, &sig), -c->expect);
		CU_ASSERT_EQUAL(hvis_ring_request_space(&p.w, 8), -c->expect);
	} else {
		ret = hvis_ring_peek(&p.r, &pkt);
		CU_ASSERT_EQUAL(ret, -c->expect);
		/* sticky, even if the peer repairs the ring afterwards */
		p.hdr->rh_write_index = 64 + 48;
		CU_ASSERT_EQUAL(hvis_ring_read(&p.r, out, &len, &pkt), -c->expect);
		CU_ASSERT_EQUAL(hvis_ring_commit(&p.r, &sig), -c->expect);
		CU_ASSERT_EQUAL(hvis_ring_bytes_to_read(&p.r), -c->expect);
	}
	if (ret != -c->expect)
		fprintf(stderr, "\n  corrupt case '%s': got %d (%s)\n", c->what,
			ret, hvis_ring_strerror(ret));
	pair_close(&p);
}

static void test_corrupt_table(void)
{
	for (size_t i = 0; i < sizeof(corrupt_cases) / sizeof(corrupt_cases[0]); i++)
		run_corrupt_case(&corrupt_cases[i]);
}

static void test_strerror(void)
{
	CU_ASSERT_STRING_EQUAL(hvis_ring_strerror(-HVIS_RING_BAD_TRAILER),
			       "packet trailer disagrees with its start");
	CU_ASSERT_STRING_EQUAL(hvis_ring_strerror(12345), "unknown ring status");
}

static const struct unit_test ring_tests[] = {
	{ "attach validates size and indices", test_attach_validation },
	{ "in-band round trip", test_roundtrip_inband },
	{ "header length sets offset8", test_header_len_sets_offset8 },
	{ "copy_out is bounded by the packet", test_copy_out_bounds },
	{ "wrap-around stress", test_wraparound_stress },
	{ "descriptor split at the end", test_descriptor_split_at_end },
	{ "full and empty", test_full_and_empty },
	{ "packets that can never fit", test_too_big },
	{ "writer signals only an idle, unmasked reader", test_writer_signal_rules },
	{ "reader signals when pending_send_sz is crossed", test_reader_signal_rules },
	{ "corrupt headers and packets", test_corrupt_table },
	{ "status text", test_strerror },
	{ NULL, NULL },
};

int unit_register_ring(void)
{
	return unit_add_suite("ring", ring_tests);
}
