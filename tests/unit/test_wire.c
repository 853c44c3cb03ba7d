// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wire-format round trips: each message is built through the structs of
 * include/hvis/, compared byte for byte with an encoding written out by
 * hand from the protocol's description, and decoded back.
 */
#include <string.h>
#include <CUnit/CUnit.h>

#include <hvis/guid.h>
#include <hvis/ic.h>
#include <hvis/ring.h>
#include <hvis/tlfs.h>
#include <hvis/vmbus.h>
#include "guid.h"
#include "unit.h"

static void put32(u8 *p, u32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (u8)(v >> (8 * i));
}

static void put64(u8 *p, u64 v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (u8)(v >> (8 * i));
}

static void test_guid_bytes_and_text(void)
{
	static const u8 scsi_wire[16] = {
		0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d,
		0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f,
	};
	struct hvis_guid g = HVIS_GUID_SCSI, parsed;
	char text[HVIS_GUID_STRLEN];

	CU_ASSERT_EQUAL(memcmp(g.g_bytes, scsi_wire, 16), 0);
	hvis_guid_format(&g, text);
	CU_ASSERT_STRING_EQUAL(text, "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
	CU_ASSERT_EQUAL(hvis_guid_parse("BA6163D9-04A1-4D29-B605-72E2FFB1DC7F",
					&parsed), 0);
	CU_ASSERT_TRUE(hvis_guid_equal(&parsed, &g));
	/* every class GUID survives text and back */
	{
		const struct hvis_guid all[] = {
			HVIS_GUID_SCSI, HVIS_GUID_IDE, HVIS_GUID_NET,
			HVIS_GUID_MOUSE, HVIS_GUID_KEYBOARD, HVIS_GUID_SHUTDOWN,
			HVIS_GUID_TIMESYNC, HVIS_GUID_HEARTBEAT, HVIS_GUID_KVP,
			HVIS_GUID_VSS,
		};
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			hvis_guid_format(&all[i], text);
			CU_ASSERT_EQUAL(hvis_guid_parse(text, &parsed), 0);
			CU_ASSERT_TRUE(hvis_guid_equal(&parsed, &all[i]));
		}
	}
	hvis_guid_format(&(struct hvis_guid)HVIS_GUID_KVP, text);
	CU_ASSERT_STRING_EQUAL(text, "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6");
	/* malformed text is refused and leaves the output alone */
	parsed = g;
	CU_ASSERT_EQUAL(hvis_guid_parse("ba6163d9-04a1-4d29-b605-72e2ffb1dc7", &parsed), -1);
	CU_ASSERT_EQUAL(hvis_guid_parse("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f0", &parsed), -1);
	CU_ASSERT_EQUAL(hvis_guid_parse("ba6163d9x04a1-4d29-b605-72e2ffb1dc7f", &parsed), -1);
	CU_ASSERT_EQUAL(hvis_guid_parse("ga6163d9-04a1-4d29-b605-72e2ffb1dc7f", &parsed), -1);
	CU_ASSERT_EQUAL(hvis_guid_parse("", &parsed), -1);
	CU_ASSERT_TRUE(hvis_guid_equal(&parsed, &g));
}

static void test_offer_roundtrip(void)
{
	struct hvis_chmsg_offer o, back;
	u8 want[sizeof(o)];

	memset(&o, 0, sizeof(o));
	o.of_hdr.ch_msgtype = HVIS_CHMSG_OFFERCHANNEL;
	o.of_if_type = (struct hvis_guid)HVIS_GUID_HEARTBEAT;
	o.of_if_instance = (struct hvis_guid)HVIS_GUID_INIT(0x11223344, 0x5566, 0x7788, 1, 2, 3, 4, 5, 6, 7, 8);
	o.of_chn_flags = HVIS_OFFER_FLAG_NAMED_PIPE_MODE;
	put32(o.of_user_defined, HVIS_PIPE_MODE_MESSAGE);
	o.of_sub_channel_index = 3;
	o.of_child_relid = 0x0A0B0C0D;
	o.of_monitor_id = 0x7F;
	o.of_monitor_allocated = 1;
	o.of_dedicated_interrupt = 1;
	o.of_connection_id = 0x2002;

	memset(want, 0, sizeof(want));
	want[0] = 1;
	memcpy(want + 8, (struct hvis_guid)HVIS_GUID_HEARTBEAT.g_bytes, 16);
	memcpy(want + 24, "\x44\x33\x22\x11\x66\x55\x88\x77\x01\x02\x03\x04\x05\x06\x07\x08", 16);
	want[56] = 0x10;
	want[60] = 4;
	want[180] = 3;
	put32(want + 184, 0x0A0B0C0D);
	want[188] = 0x7F;
	want[189] = 1;
	want[190] = 1;
	put32(want + 192, 0x2002);
	CU_ASSERT_EQUAL(memcmp(&o, want, sizeof(want)), 0);
	memcpy(&back, want, sizeof(back));
	CU_ASSERT_EQUAL(back.of_child_relid, 0x0A0B0C0Du);
	CU_ASSERT_EQUAL(back.of_connection_id, 0x2002u);
	CU_ASSERT_TRUE(hvis_guid_equal(&back.of_if_type,
				       &(struct hvis_guid)HVIS_GUID_HEARTBEAT));
}

static void test_initiate_contact_and_response(void)
{
	struct hvis_chmsg_initiate_contact ic;
	struct hvis_chmsg_version_response vr;
	u8 want[40] = { 0 }, want_vr[16] = { 0 };

	memset(&ic, 0, sizeof(ic));
	ic.ic_hdr.ch_msgtype = HVIS_CHMSG_INITIATE_CONTACT;
	ic.ic_version_requested = HVIS_VMBUS_VERSION_WS2022;
	ic.ic_target_vcpu = 0;
	ic.ic_msg_sint = HVIS_VMBUS_MESSAGE_SINT;
	ic.ic_monitor_page1 = 0x123000;
	ic.ic_monitor_page2 = 0x124000;
	want[0] = 14;
	put32(want + 8, 0x00050003);
	want[16] = 2;
	put64(want + 24, 0x123000);
	put64(want + 32, 0x124000);
	CU_ASSERT_EQUAL(memcmp(&ic, want, sizeof(want)), 0);
	/* before 5.0 the same bytes are the interrupt page GPA */
	CU_ASSERT_EQUAL(ic.ic_interrupt_page, 2u);
	CU_ASSERT_EQUAL(HVIS_VMBUS_VERSION_WS2008, 13u);

	memset(&vr, 0, sizeof(vr));
	vr.vr_hdr.ch_msgtype = HVIS_CHMSG_VERSION_RESPONSE;
	vr.vr_version_supported = 1;
	vr.vr_msg_conn_id = HVIS_VMBUS_MESSAGE_CONNECTION_ID_4;
	want_vr[0] = 15;
	want_vr[8] = 1;
	want_vr[12] = 4;
	CU_ASSERT_EQUAL(memcmp(&vr, want_vr, sizeof(want_vr)), 0);
}

static void test_gpadl_messages(void)
{
	u8 buf[HVIS_MESSAGE_PAYLOAD_MAX];
	struct hvis_chmsg_gpadl_header *gh = (void *)buf;
	struct hvis_chmsg_gpadl_body *gb = (void *)buf;
	u64 pfn;

	/* the PFN limits Linux and Hyper-V use */
	CU_ASSERT_EQUAL(HVIS_GPADL_HEADER_MAX_PFNS, 26u);
	CU_ASSERT_EQUAL(HVIS_GPADL_BODY_MAX_PFNS, 28u);

	memset(buf, 0, sizeof(buf));
	gh->gh_hdr.ch_msgtype = HVIS_CHMSG_GPADL_HEADER;
	gh->gh_child_relid = 5;
	gh->gh_gpadl = 0xE1E10;
	gh->gh_rangecount = 1;
	gh->gh_range_buflen = (u16)(sizeof(struct hvis_gpa_range) + 2 * 8);
	gh->gh_range[0].gr_byte_count = 2 * 4096;
	gh->gh_range[0].gr_byte_offset = 0;
	pfn = 0x12345;
	memcpy(&gh->gh_range[0].gr_pfn[1], &pfn, 8);
	/* the first PFN sits at byte 28: not 8-aligned, hence __packed */
	CU_ASSERT_EQUAL((u8 *)&gh->gh_range[0].gr_pfn[0] - buf, 28);
	CU_ASSERT_EQUAL(buf[0], 8);
	CU_ASSERT_EQUAL(buf[8], 5);
	CU_ASSERT_EQUAL(buf[12] | buf[13] << 8 | buf[14] << 16, 0xE1E10);
	CU_ASSERT_EQUAL(buf[16], 24);
	CU_ASSERT_EQUAL(buf[18], 1);
	CU_ASSERT_EQUAL(buf[21], 0x20);		/* byte_count 0x2000 */
	CU_ASSERT_EQUAL(buf[36] | buf[37] << 8 | buf[38] << 16, 0x12345);

	memset(buf, 0, sizeof(buf));
	gb->gb_hdr.ch_msgtype = HVIS_CHMSG_GPADL_BODY;
	gb->gb_msgnumber = 1;
	gb->gb_gpadl = 0xE1E10;
	gb->gb_pfn[27] = 0xABCDEF;
	CU_ASSERT_EQUAL(buf[16 + 27 * 8], 0xEF);
	CU_ASSERT_EQUAL((u8 *)&gb->gb_pfn[28] - buf, (long)sizeof(buf));
}

static void test_open_and_result(void)
{
	struct hvis_chmsg_open op;
	struct hvis_chmsg_open_result res;
	u8 want[sizeof(op)];

	memset(&op, 0, sizeof(op));
	op.op_hdr.ch_msgtype = HVIS_CHMSG_OPENCHANNEL;
	op.op_child_relid = 9;
	op.op_openid = 9;
	op.op_ring_gpadl = 0xE1E11;
	op.op_target_vp = 1;
	op.op_downstream_page_offset = 4;
	op.op_user_data[119] = 0x5A;
	memset(want, 0, sizeof(want));
	want[0] = 5;
	want[8] = 9;
	want[12] = 9;
	put32(want + 16, 0xE1E11);
	want[20] = 1;
	want[24] = 4;
	want[28 + 119] = 0x5A;
	CU_ASSERT_EQUAL(memcmp(&op, want, sizeof(want)), 0);

	memset(&res, 0, sizeof(res));
	memcpy(&res, "\x06\0\0\0\0\0\0\0\x09\0\0\0\x09\0\0\0\x01\0\0\xc0", 20);
	CU_ASSERT_EQUAL(res.or_hdr.ch_msgtype, HVIS_CHMSG_OPENCHANNEL_RESULT);
	CU_ASSERT_EQUAL(res.or_child_relid, 9u);
	CU_ASSERT_EQUAL(res.or_status, 0xC0000001u);
}

static void test_synic_message_and_post_input(void)
{
	struct hvis_message m;
	struct hvis_post_message_input pm;
	struct hvis_timer_message tm;
	u8 raw[256] = { 0 };

	memset(&m, 0, sizeof(m));
	m.m_hdr.mh_type = HVIS_MSG_TIMER_EXPIRED;
	m.m_hdr.mh_payload_size = sizeof(tm);
	m.m_hdr.mh_flags = HVIS_MSG_FLAG_PENDING;
	tm.tm_timer_index = 0;
	tm.tm_reserved = 0;
	tm.tm_expiration_time = 1000;
	tm.tm_delivery_time = 1005;
	memcpy(m.m_payload, &tm, sizeof(tm));
	put32(raw, 0x80000010u);
	raw[4] = 24;
	raw[5] = 1;
	put64(raw + 24, 1000);
	put64(raw + 32, 1005);
	CU_ASSERT_EQUAL(memcmp(&m, raw, sizeof(raw)), 0);
	/* slot n of the SIMP page is at n * 256 */
	CU_ASSERT_EQUAL(offsetof(struct hvis_message_page, mp_slot[2]), 512u);
	CU_ASSERT_EQUAL(offsetof(struct hvis_event_flags_page, ef_sint[2]), 512u);

	memset(raw, 0, sizeof(raw));
	put32(raw, 4);			/* connection id */
	put32(raw + 8, HVIS_VMBUS_MSGTYPE_CHANNEL);
	put32(raw + 12, 40);
	raw[16] = HVIS_CHMSG_INITIATE_CONTACT;
	memcpy(&pm, raw, sizeof(pm));
	CU_ASSERT_EQUAL(pm.pm_connection_id, 4u);
	CU_ASSERT_EQUAL(pm.pm_message_type, 1u);
	CU_ASSERT_EQUAL(pm.pm_payload_size, 40u);
	CU_ASSERT_EQUAL(pm.pm_payload[0], HVIS_CHMSG_INITIATE_CONTACT);
}

static void test_ring_wire(void)
{
	struct hvis_ring_header h;
	struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_COMPLETION,
				   .pd_offset8 = 2, .pd_len8 = 5,
				   .pd_flags = 0, .pd_trans_id = 0x0102030405060708ull };
	static const u8 want[16] = { 11, 0, 2, 0, 5, 0, 0, 0,
				     8, 7, 6, 5, 4, 3, 2, 1 };
	u8 *raw = (u8 *)&h;

	CU_ASSERT_EQUAL(memcmp(&d, want, 16), 0);
	memset(&h, 0, sizeof(h));
	h.rh_write_index = 0x100;
	h.rh_read_index = 0x80;
	h.rh_interrupt_mask = 1;
	h.rh_pending_send_sz = 0x40;
	h.rh_feature_bits = HVIS_RING_FEAT_PENDING_SEND_SZ;
	CU_ASSERT_EQUAL(raw[1], 1);
	CU_ASSERT_EQUAL(raw[4], 0x80);
	CU_ASSERT_EQUAL(raw[8], 1);
	CU_ASSERT_EQUAL(raw[12], 0x40);
	CU_ASSERT_EQUAL(raw[64], 1);
	CU_ASSERT_EQUAL(HVIS_PKT_TRAILER(0x1238), 0x123800000000ull);
	CU_ASSERT_EQUAL(sizeof(struct hvis_pkt_gpa_direct) +
			sizeof(struct hvis_gpa_range), 32u);
}

static void test_ic_messages(void)
{
	u8 buf[64];
	struct hvis_ic_hdr ih;
	struct hvis_ic_negotiate *neg;
	/* a NEGOTIATE request as a host sends it, after the pipe header */
	static const u8 wire[] = {
		0x01, 0x00, 0x00, 0x00,		/* framework 1.0 */
		0x00, 0x00,			/* NEGOTIATE */
		0x03, 0x00, 0x00, 0x00,		/* message 3.0 */
		0x10, 0x00,			/* msgsize 16 */
		0x00, 0x00, 0x00, 0x00,		/* status */
		0x07, 0x03, 0x00, 0x00,		/* transaction 7, TRANSACTION|REQUEST */
		0x01, 0x00, 0x01, 0x00,		/* 1 framework, 1 message version */
		0x00, 0x00, 0x00, 0x00,
		0x03, 0x00, 0x00, 0x00,		/* framework 3.0 */
		0x03, 0x00, 0x02, 0x00,		/* message 3.2 */
	};

	memcpy(&ih, wire, sizeof(ih));
	CU_ASSERT_EQUAL(ih.ih_framework.iv_major, 1);
	CU_ASSERT_EQUAL(ih.ih_msgtype, HVIS_ICMSG_NEGOTIATE);
	CU_ASSERT_EQUAL(ih.ih_msgversion.iv_major, 3);
	CU_ASSERT_EQUAL(ih.ih_msgsize, 16);
	CU_ASSERT_EQUAL(ih.ih_transaction_id, 7);
	CU_ASSERT_EQUAL(ih.ih_flags, HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_REQUEST);
	memcpy(buf, wire + sizeof(ih), sizeof(wire) - sizeof(ih));
	neg = (struct hvis_ic_negotiate *)buf;
	CU_ASSERT_EQUAL(neg->in_framework_count, 1);
	CU_ASSERT_EQUAL(neg->in_message_count, 1);
	CU_ASSERT_EQUAL(neg->in_versions[0].iv_major, 3);
	CU_ASSERT_EQUAL(neg->in_versions[1].iv_major, 3);
	CU_ASSERT_EQUAL(neg->in_versions[1].iv_minor, 2);
	/* and back: re-encoding gives the same bytes */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &ih, sizeof(ih));
	CU_ASSERT_EQUAL(memcmp(buf, wire, sizeof(ih)), 0);

	CU_ASSERT_EQUAL(offsetof(struct hvis_ic_shutdown, sd_flags), 8u);
	CU_ASSERT_EQUAL(offsetof(struct hvis_ic_timesync4, t4_flags), 16u);
	CU_ASSERT_EQUAL(offsetof(struct hvis_ic_timesync, ts_flags), 24u);
}

static void test_tlfs_numbers(void)
{
	struct hvis_tsc_page tp = { .ts_sequence = 3, .ts_scale = 1ull << 63,
				    .ts_offset = -5 };
	u8 raw[24];

	memcpy(raw, &tp, sizeof(tp));
	CU_ASSERT_EQUAL(raw[0], 3);
	CU_ASSERT_EQUAL(raw[15], 0x80);
	CU_ASSERT_EQUAL(raw[16], 0xFB);
	CU_ASSERT_EQUAL(HVIS_MSR_SINT(2), 0x40000092u);
	CU_ASSERT_EQUAL(HVIS_MSR_STIMER_CONFIG(3), 0x400000B6u);
	CU_ASSERT_EQUAL(HVIS_MSR_STIMER_COUNT(3), 0x400000B7u);
	CU_ASSERT_TRUE(HVIS_MSR_CRASH_CTL < HVIS_MSR_RANGE_BASE + HVIS_MSR_RANGE_COUNT);
	CU_ASSERT_EQUAL(memcmp(HVIS_CPUID_SIGNATURE, "Microsoft Hv", 12), 0);
	CU_ASSERT_EQUAL(memcmp(&(u32){ HVIS_CPUID_INTERFACE_HV1 }, "Hv#1", 4), 0);
}

static const struct unit_test wire_tests[] = {
	{ "GUID bytes and text", test_guid_bytes_and_text },
	{ "OFFERCHANNEL round trip", test_offer_roundtrip },
	{ "INITIATE_CONTACT / VERSION_RESPONSE", test_initiate_contact_and_response },
	{ "GPADL header and body", test_gpadl_messages },
	{ "OPENCHANNEL / result", test_open_and_result },
	{ "SynIC message and HvPostMessage input", test_synic_message_and_post_input },
	{ "ring header and packet descriptor", test_ring_wire },
	{ "IC header and NEGOTIATE", test_ic_messages },
	{ "TLFS numbers", test_tlfs_numbers },
	{ NULL, NULL },
};

int unit_register_wire(void)
{
	return unit_add_suite("wire", wire_tests);
}
