/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * VMBus ring buffer wire format: the control page shared by writer and
 * reader, and the packets that travel in the data area behind it.
 *
 * A channel has two rings in one GPADL: the guest's outbound ring first,
 * its inbound ring at OPENCHANNEL's downstream page offset. Each ring is a
 * 4 KiB control page followed by the data area. Indices are byte offsets
 * into the data area, always multiples of 8. Every packet is a 16-byte
 * descriptor, payload padded to 8 bytes, then an 8-byte trailer holding
 * the write index at which the packet started, in its upper 32 bits.
 * The logic that reads and writes rings lives in lib/ring.c.
 */
#ifndef HVIS_RING_H
#define HVIS_RING_H

#include <hvis/types.h>
#include <hvis/tlfs.h>

#define HVIS_RING_FEAT_PENDING_SEND_SZ	0x1u

struct hvis_ring_header {
	__u32 rh_write_index;
	__u32 rh_read_index;
	__u32 rh_interrupt_mask;	/* reader: 1 = do not signal me */
	__u32 rh_pending_send_sz;	/* writer: signal me when this much is free */
	__u32 rh_reserved1[12];
	__u32 rh_feature_bits;		/* HVIS_RING_FEAT_* */
	__u8 rh_reserved2[HVIS_PAGE_SIZE - 68];
};
HVIS_ASSERT_SIZE(struct hvis_ring_header, HVIS_PAGE_SIZE);
HVIS_ASSERT_OFFSET(struct hvis_ring_header, rh_read_index, 4);
HVIS_ASSERT_OFFSET(struct hvis_ring_header, rh_interrupt_mask, 8);
HVIS_ASSERT_OFFSET(struct hvis_ring_header, rh_pending_send_sz, 12);
HVIS_ASSERT_OFFSET(struct hvis_ring_header, rh_feature_bits, 64);

/* Packet types (vmpacket descriptor "type"). */
enum hvis_pkt_type {
	HVIS_PKT_INVALID			= 0,
	HVIS_PKT_SYNCH				= 1,
	HVIS_PKT_ADD_TRANSFER_PAGESET		= 2,
	HVIS_PKT_REMOVE_TRANSFER_PAGESET	= 3,
	HVIS_PKT_ESTABLISH_GPADL		= 4,
	HVIS_PKT_TEARDOWN_GPADL			= 5,
	HVIS_PKT_DATA_INBAND			= 6,
	HVIS_PKT_DATA_USING_TRANSFER_PAGES	= 7,
	HVIS_PKT_DATA_USING_GPADL		= 8,
	HVIS_PKT_DATA_USING_GPA_DIRECT		= 9,
	HVIS_PKT_CANCEL_REQUEST			= 10,
	HVIS_PKT_COMPLETION			= 11,
};

#define HVIS_PKT_FLAG_COMPLETION_REQUESTED	0x1u

struct hvis_pkt_desc {
	__u16 pd_type;			/* enum hvis_pkt_type */
	__u16 pd_offset8;		/* payload start, 8-byte units */
	__u16 pd_len8;			/* whole packet without trailer */
	__u16 pd_flags;
	__u64 pd_trans_id;
};
HVIS_ASSERT_SIZE(struct hvis_pkt_desc, 16);

/* The trailer after every packet: start offset << 32. */
#define HVIS_PKT_TRAILER_SIZE		8u
#define HVIS_PKT_TRAILER(start)		((__u64)(start) << 32)

/* Largest packet the 16-bit len8 can describe. */
#define HVIS_PKT_MAX_LEN		(0xFFFFu * 8u)

/* DATA_USING_GPA_DIRECT: descriptor, then ranges of guest pages. */
struct hvis_pkt_gpa_direct {
	struct hvis_pkt_desc gd_desc;
	__u32 gd_reserved;
	__u32 gd_range_count;
	/* struct hvis_gpa_range (vmbus.h) x gd_range_count follow */
};
HVIS_ASSERT_SIZE(struct hvis_pkt_gpa_direct, 24);

/* DATA_USING_TRANSFER_PAGES: descriptor, then ranges in a page set. */
struct hvis_xfer_page_range {
	__u32 xr_byte_count;
	__u32 xr_byte_offset;
};
HVIS_ASSERT_SIZE(struct hvis_xfer_page_range, 8);

struct hvis_pkt_xfer_pages {
	struct hvis_pkt_desc xp_desc;
	__u16 xp_pageset_id;
	__u8 xp_sender_owns_set;
	__u8 xp_reserved;
	__u32 xp_range_count;
	struct hvis_xfer_page_range xp_range[];
};
HVIS_ASSERT_SIZE(struct hvis_pkt_xfer_pages, 24);

#endif /* HVIS_RING_H */
