// SPDX-License-Identifier: GPL-2.0-only
/*
 * The synthetic mouse (host-vsp/input/mouse.c), detached from VMBus: the
 * guest's packets go straight into mouse_handle_packet, the host's are
 * recorded. The guest side checks what Linux 6.1's hid_hyperv checks of
 * the device info (drivers/hid/hid-hyperv.c: sizes, bLength, the report
 * descriptor's length against what follows) and parses the report
 * descriptor's main items, so a descriptor Linux would refuse fails here.
 */
#include <errno.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include <hvis/ring.h>
#include <hvis/synthhid.h>

#include "host-vsp/input/mouse.h"
#include "unit.h"

#define MAXPKT 16

static struct {
	uint8_t pkt[MAXPKT][512];
	uint32_t len[MAXPKT];
	unsigned int n;
	int fail;		/* next send result */
	unsigned int logs;
} R;

static int rec_send(void *opaque, const void *pkt, uint32_t len)
{
	(void)opaque;
	if (R.fail)
		return R.fail;
	CU_ASSERT_FATAL(R.n < MAXPKT && len <= sizeof(R.pkt[0]));
	memcpy(R.pkt[R.n], pkt, len);
	R.len[R.n++] = len;
	return 0;
}

static void rec_log(void *opaque, enum vmbus_log_level lvl, const char *msg)
{
	(void)opaque;
	(void)lvl;
	(void)msg;
	R.logs++;
}

/* A guest message: pipe header, synthhid header, @body. */
static uint32_t guest_msg(uint8_t *buf, uint32_t type, const void *body,
			  uint32_t len)
{
	struct hvis_synthhid_pipe p = { HVIS_SYNTHHID_PIPE_DATA,
					(uint32_t)sizeof(struct hvis_synthhid_hdr) + len };
	struct hvis_synthhid_hdr h = { type, len };

	memcpy(buf, &p, sizeof(p));
	memcpy(buf + sizeof(p), &h, sizeof(h));
	memcpy(buf + sizeof(p) + sizeof(h), body, len);
	return (uint32_t)(sizeof(p) + sizeof(h)) + len;
}

static struct mouse_dev *fresh(void)
{
	memset(&R, 0, sizeof(R));
	return mouse_create_detached(rec_send, rec_log, NULL);
}

static void request(struct mouse_dev *m, uint32_t version)
{
	uint8_t b[64];

	mouse_handle_packet(m, b, guest_msg(b, HVIS_SYNTHHID_PROTOCOL_REQUEST,
					   &version, 4));
}

static void ack(struct mouse_dev *m)
{
	uint8_t b[64], z = 0;

	mouse_handle_packet(m, b, guest_msg(b, HVIS_SYNTHHID_INITIAL_DEVICE_INFO_ACK,
					   &z, 1));
}

/* Main items of a report descriptor: input bits of the one report. */
static unsigned int report_bits(const uint8_t *d, unsigned int n)
{
	unsigned int size = 0, count = 0, bits = 0, depth = 0;

	for (unsigned int i = 0; i < n;) {
		uint8_t pfx = d[i];
		unsigned int dl = (pfx & 3) == 3 ? 4 : pfx & 3;
		uint32_t v = 0;

		CU_ASSERT_FATAL(i + 1 + dl <= n);
		for (unsigned int k = 0; k < dl; k++)
			v |= (uint32_t)d[i + 1 + k] << (8 * k);
		switch (pfx & 0xFC) {
		case 0x74: size = v; break;		/* report size */
		case 0x94: count = v; break;		/* report count */
		case 0x80: bits += size * count; break;	/* input */
		case 0xA0: depth++; break;		/* collection */
		case 0xC0: CU_ASSERT(depth > 0); depth--; break;
		default: break;
		}
		i += 1 + dl;
	}
	CU_ASSERT_EQUAL(depth, 0);
	return bits;
}

static void test_handshake(void)
{
	struct mouse_dev *m = fresh();
	struct hvis_synthhid_pipe pipe;
	struct hvis_synthhid_hdr hdr;
	struct hvis_synthhid_device_info di;
	uint8_t approved;
	uint32_t v, desc_size;

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(mouse_get_state(m), MOUSE_NEGOTIATING);
	CU_ASSERT_EQUAL(mouse_report(m, 1, 2, 0, 0), -EAGAIN);
	request(m, HVIS_SYNTHHID_VERSION_2_0);
	CU_ASSERT_EQUAL_FATAL(R.n, 2);
	/* the response: version echoed, approved */
	memcpy(&pipe, R.pkt[0], sizeof(pipe));
	memcpy(&hdr, R.pkt[0] + 8, sizeof(hdr));
	CU_ASSERT_EQUAL(pipe.sp_type, HVIS_SYNTHHID_PIPE_DATA);
	CU_ASSERT_EQUAL(pipe.sp_size, R.len[0] - 8);
	CU_ASSERT_EQUAL(hdr.sh_type, HVIS_SYNTHHID_PROTOCOL_RESPONSE);
	CU_ASSERT_EQUAL(hdr.sh_size, 5);
	memcpy(&v, R.pkt[0] + 16, 4);
	approved = R.pkt[0][20];
	CU_ASSERT_EQUAL(v, HVIS_SYNTHHID_VERSION_2_0);
	CU_ASSERT_EQUAL(approved, 1);
	/* the device info, as hid_hyperv checks it */
	memcpy(&pipe, R.pkt[1], sizeof(pipe));
	CU_ASSERT_FATAL(pipe.sp_size >= sizeof(di));
	CU_ASSERT_EQUAL(pipe.sp_size, R.len[1] - 8);
	memcpy(&di, R.pkt[1] + 8, sizeof(di));
	CU_ASSERT_EQUAL(di.sdv_hdr.sh_type, HVIS_SYNTHHID_INITIAL_DEVICE_INFO);
	CU_ASSERT_EQUAL(di.sdv_info.sdi_vendor, 0x045E);
	CU_ASSERT_EQUAL(di.sdv_info.sdi_product, 0x0621);
	CU_ASSERT_EQUAL(di.sdv_hid.hd_length, 9);
	CU_ASSERT_EQUAL(di.sdv_hid.hd_type, 0x21);
	desc_size = pipe.sp_size - (uint32_t)offsetof(struct hvis_synthhid_device_info, sdv_hid);
	CU_ASSERT(di.sdv_hid.hd_report_length > 0);
	CU_ASSERT(di.sdv_hid.hd_report_length <= desc_size - di.sdv_hid.hd_length);
	CU_ASSERT_EQUAL(di.sdv_hid.hd_report_length, mouse_report_descriptor_len);
	CU_ASSERT(!memcmp(R.pkt[1] + 8 + sizeof(di), mouse_report_descriptor,
			  mouse_report_descriptor_len));
	/* hid_hyperv rewrites byte 14 when it is 0x25 (a Hyper-V quirk) */
	CU_ASSERT_NOT_EQUAL(mouse_report_descriptor[14], 0x25);
	/* 3 buttons + 5 padding + 2 x 16 + 8 = the 6-byte report */
	CU_ASSERT_EQUAL(report_bits(mouse_report_descriptor,
				    mouse_report_descriptor_len), 48);
	CU_ASSERT_EQUAL(mouse_get_state(m), MOUSE_DEV_INFO);
	ack(m);
	CU_ASSERT_EQUAL(mouse_get_state(m), MOUSE_READY);
	mouse_destroy(m);
}

static void test_reports(void)
{
	struct mouse_dev *m = fresh();
	struct hvis_synthhid_hdr hdr;
	struct mouse_stats st;
	uint32_t x, y, b;

	request(m, HVIS_SYNTHHID_VERSION_2_0);
	ack(m);
	R.n = 0;
	CU_ASSERT_EQUAL(mouse_report(m, 0x1234, 0x7FFF, HVIS_MOUSE_BUTTON_LEFT |
				     HVIS_MOUSE_BUTTON_MIDDLE, -3), 0);
	CU_ASSERT_EQUAL_FATAL(R.n, 1);
	memcpy(&hdr, R.pkt[0] + 8, sizeof(hdr));
	CU_ASSERT_EQUAL(hdr.sh_type, HVIS_SYNTHHID_INPUT_REPORT);
	CU_ASSERT_EQUAL(hdr.sh_size, 6);
	CU_ASSERT(hdr.sh_size <= HVIS_SYNTHHID_MAX_REPORT);
	{
		const uint8_t want[6] = { 0x05, 0x34, 0x12, 0xFF, 0x7F, 0xFD };

		CU_ASSERT(!memcmp(R.pkt[0] + 16, want, 6));
	}
	/* clamped */
	CU_ASSERT_EQUAL(mouse_report(m, 99999, 40000, 0xFF, 500), 0);
	{
		const uint8_t want[6] = { 0x07, 0xFF, 0x7F, 0xFF, 0x7F, 0x7F };

		CU_ASSERT(!memcmp(R.pkt[1] + 16, want, 6));
	}
	mouse_position(m, &x, &y, &b);
	CU_ASSERT_EQUAL(x, 32767);
	CU_ASSERT_EQUAL(y, 32767);
	CU_ASSERT_EQUAL(b, 7);
	/* a full ring drops the report, and says so */
	R.fail = -HVIS_RING_FULL;
	CU_ASSERT_EQUAL(mouse_report(m, 1, 1, 0, 0), -ENOBUFS);
	R.fail = 0;
	mouse_get_stats(m, &st);
	CU_ASSERT_EQUAL(st.reports, 2);
	CU_ASSERT_EQUAL(st.dropped, 1);
	mouse_destroy(m);
}

static void test_refusals(void)
{
	struct mouse_dev *m = fresh();
	struct mouse_stats st;
	uint8_t b[64];
	uint32_t v = HVIS_SYNTHHID_VERSION(1, 0);

	/* an old version: answered, not approved, no device info */
	request(m, v);
	CU_ASSERT_EQUAL_FATAL(R.n, 1);
	CU_ASSERT_EQUAL(R.pkt[0][20], 0);
	CU_ASSERT_EQUAL(mouse_get_state(m), MOUSE_NEGOTIATING);
	/* an ack before any device info */
	ack(m);
	CU_ASSERT_NOT_EQUAL(mouse_get_state(m), MOUSE_READY);
	/* truncated, lying sizes, wrong pipe type, unknown message */
	mouse_handle_packet(m, b, 7);
	guest_msg(b, HVIS_SYNTHHID_PROTOCOL_REQUEST, &v, 4);
	b[4] = 200;			/* pipe size past the packet */
	mouse_handle_packet(m, b, 20);
	guest_msg(b, HVIS_SYNTHHID_PROTOCOL_REQUEST, &v, 4);
	b[12] = 100;			/* message size past the pipe */
	mouse_handle_packet(m, b, 20);
	guest_msg(b, HVIS_SYNTHHID_PROTOCOL_REQUEST, &v, 4);
	b[0] = 2;			/* not a data pipe message */
	mouse_handle_packet(m, b, 20);
	mouse_handle_packet(m, b, guest_msg(b, 99, &v, 4));
	guest_msg(b, HVIS_SYNTHHID_PROTOCOL_REQUEST, &v, 2);	/* no version */
	mouse_handle_packet(m, b, 18);
	mouse_get_stats(m, &st);
	CU_ASSERT_EQUAL(st.bad_packets, 7);
	CU_ASSERT_EQUAL(R.n, 1);	/* nothing answered */
	CU_ASSERT(R.logs >= 1);
	/* still usable */
	request(m, HVIS_SYNTHHID_VERSION_2_0);
	ack(m);
	CU_ASSERT_EQUAL(mouse_get_state(m), MOUSE_READY);
	mouse_destroy(m);
}

int unit_register_mouse(void)
{
	static const struct unit_test tests[] = {
		{ "handshake as hid_hyperv checks it", test_handshake },
		{ "input reports", test_reports },
		{ "bad guest packets refused", test_refusals },
		{ NULL, NULL },
	};

	return unit_add_suite("mouse", tests);
}
