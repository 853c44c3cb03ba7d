/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Network VSP protocol (netvsc <-> netvsp): the messages a guest's
 * synthetic network driver and the host's network VSP exchange on a
 * VMBus channel of class HVIS_GUID_NET. RNDIS (<hvis/rndis.h>) travels
 * inside SEND_RNDIS_PKT messages.
 *
 * Every NVSP message is a 4-byte type followed by a type-specific body;
 * Linux sends (and reads answers as) a 40-byte union, so the host pads
 * its answers to HVIS_NVSP_MSG_SIZE.
 *
 * Guest -> host:
 *   INIT (min = max = one candidate, newest first), answered by a
 *   COMPLETION carrying INIT_COMPLETE; NDIS_CONFIG (NVSP >= 2: the MTU
 *   with the Ethernet header, capability bits) and SEND_NDIS_VER (no
 *   answer); SEND_RECV_BUF / SEND_SEND_BUF (a GPADL handle and an id),
 *   answered by COMPLETIONs carrying ..._COMPLETE; SEND_RNDIS_PKT
 *   in-band (the RNDIS bytes in a send-buffer section) or
 *   DATA_USING_GPA_DIRECT (in guest pages, section index
 *   HVIS_NVSP_INVALID_SECTION; or both: the section's bytes first),
 *   answered by a COMPLETION carrying SEND_RNDIS_PKT_COMPLETE.
 * Host -> guest:
 *   RNDIS messages in receive-buffer sections: DATA_USING_TRANSFER_PAGES
 *   (page set = the receive buffer's id, one range per RNDIS message)
 *   carrying a SEND_RNDIS_PKT; the guest answers with a COMPLETION that
 *   carries SEND_RNDIS_PKT_COMPLETE and the same transaction id, which
 *   frees those sections.
 */
#ifndef HVIS_NVSP_H
#define HVIS_NVSP_H

#include <hvis/types.h>

/* ------------------------------------------------------------ versions */
#define HVIS_NVSP_VERSION_1		0x00002u
#define HVIS_NVSP_VERSION_2		0x30002u
#define HVIS_NVSP_VERSION_4		0x40000u
#define HVIS_NVSP_VERSION_5		0x50000u
#define HVIS_NVSP_VERSION_6		0x60000u
#define HVIS_NVSP_VERSION_61		0x60001u

/* NDIS versions Linux announces: 6.1 up to NVSP 4, 6.30 from NVSP 5. */
#define HVIS_NDIS_VERSION_6_1		0x00060001u
#define HVIS_NDIS_VERSION_6_30		0x0006001eu

/* ------------------------------------------------------------ types */
enum hvis_nvsp_msg_type {
	HVIS_NVSP_MSG_NONE			= 0,
	HVIS_NVSP_MSG_INIT			= 1,
	HVIS_NVSP_MSG_INIT_COMPLETE		= 2,
	/* version 1 */
	HVIS_NVSP_MSG1_SEND_NDIS_VER		= 100,
	HVIS_NVSP_MSG1_SEND_RECV_BUF		= 101,
	HVIS_NVSP_MSG1_SEND_RECV_BUF_COMPLETE	= 102,
	HVIS_NVSP_MSG1_REVOKE_RECV_BUF		= 103,
	HVIS_NVSP_MSG1_SEND_SEND_BUF		= 104,
	HVIS_NVSP_MSG1_SEND_SEND_BUF_COMPLETE	= 105,
	HVIS_NVSP_MSG1_REVOKE_SEND_BUF		= 106,
	HVIS_NVSP_MSG1_SEND_RNDIS_PKT		= 107,
	HVIS_NVSP_MSG1_SEND_RNDIS_PKT_COMPLETE	= 108,
	/* version 2: 109..124 are chimney / VMQ messages nobody sends */
	HVIS_NVSP_MSG2_SEND_NDIS_CONFIG		= 125,
	/* version 4 */
	HVIS_NVSP_MSG4_SEND_VF_ASSOCIATION	= 128,
	HVIS_NVSP_MSG4_SWITCH_DATA_PATH		= 129,
	/* version 5 */
	HVIS_NVSP_MSG5_OID_QUERY_EX		= 131,
	HVIS_NVSP_MSG5_OID_QUERY_EX_COMP	= 132,
	HVIS_NVSP_MSG5_SUBCHANNEL		= 133,
	HVIS_NVSP_MSG5_SEND_INDIRECTION_TABLE	= 134,
};

enum hvis_nvsp_status {
	HVIS_NVSP_STAT_NONE			= 0,
	HVIS_NVSP_STAT_SUCCESS			= 1,
	HVIS_NVSP_STAT_FAIL			= 2,
	HVIS_NVSP_STAT_PROTOCOL_TOO_NEW		= 3,
	HVIS_NVSP_STAT_PROTOCOL_TOO_OLD		= 4,
	HVIS_NVSP_STAT_INVALID_RNDIS_PKT	= 5,
	HVIS_NVSP_STAT_BUSY			= 6,
	HVIS_NVSP_STAT_PROTOCOL_UNSUPPORTED	= 7,
};

/* The size of every NVSP message Linux sends and reads. */
#define HVIS_NVSP_MSG_SIZE		40u

/* The page-set ids Linux uses; the host echoes what the guest sent. */
#define HVIS_NVSP_RECV_BUF_ID		0xcafeu
#define HVIS_NVSP_SEND_BUF_ID		0u
/* SEND_RNDIS_PKT: no send-buffer section (the data is GPA-direct). */
#define HVIS_NVSP_INVALID_SECTION	0xffffffffu
/* SEND_RNDIS_PKT channel types. */
#define HVIS_NVSP_CHANNEL_DATA		0u
#define HVIS_NVSP_CHANNEL_CONTROL	1u

/* ------------------------------------------------------------ bodies */
struct hvis_nvsp_init {
	__u32 ni_min_version;
	__u32 ni_max_version;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_init, 8);

struct hvis_nvsp_init_complete {
	__u32 nic_negotiated_version;
	__u32 nic_max_mdl_chain_len;
	__u32 nic_status;			/* enum hvis_nvsp_status */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_init_complete, 12);

struct hvis_nvsp_ndis_version {
	__u32 nnv_major;
	__u32 nnv_minor;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_ndis_version, 8);

/* SEND_RECV_BUF and SEND_SEND_BUF. */
struct hvis_nvsp_send_buf {
	__u32 nsb_gpadl;
	__u16 nsb_id;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_send_buf, 6);

struct hvis_nvsp_recv_section {
	__u32 nrs_offset;
	__u32 nrs_sub_alloc_size;		/* bytes per section */
	__u32 nrs_num_sub_allocs;		/* sections */
	__u32 nrs_end_offset;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_recv_section, 16);

/* Linux takes exactly one section group at offset 0. */
struct hvis_nvsp_recv_buf_complete {
	__u32 nrc_status;
	__u32 nrc_num_sections;
	struct hvis_nvsp_recv_section nrc_section;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_recv_buf_complete, 24);

struct hvis_nvsp_send_buf_complete {
	__u32 nsc_status;
	__u32 nsc_section_size;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_send_buf_complete, 8);

/* REVOKE_RECV_BUF and REVOKE_SEND_BUF. */
struct hvis_nvsp_revoke_buf {
	__u16 nrb_id;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_revoke_buf, 2);

struct hvis_nvsp_rndis_pkt {
	__u32 nrp_channel_type;			/* HVIS_NVSP_CHANNEL_* */
	__u32 nrp_section_index;		/* or HVIS_NVSP_INVALID_SECTION */
	__u32 nrp_section_size;			/* bytes used in the section */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_rndis_pkt, 12);

struct hvis_nvsp_rndis_pkt_complete {
	__u32 nrpc_status;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_rndis_pkt_complete, 4);

/* NDIS_CONFIG capability bits. */
#define HVIS_NVSP_CAP_VMQ		(1ull << 0)
#define HVIS_NVSP_CAP_CHIMNEY		(1ull << 1)
#define HVIS_NVSP_CAP_SRIOV		(1ull << 2)
#define HVIS_NVSP_CAP_IEEE8021Q		(1ull << 3)
#define HVIS_NVSP_CAP_CORRELATION_ID	(1ull << 4)
#define HVIS_NVSP_CAP_TEAMING		(1ull << 5)
#define HVIS_NVSP_CAP_VSUBNETID		(1ull << 6)
#define HVIS_NVSP_CAP_RSC		(1ull << 7)

struct hvis_nvsp_ndis_config {
	__u32 nnc_mtu;				/* guest MTU + 14 */
	__u32 nnc_reserved;
	__u64 nnc_capabilities;			/* HVIS_NVSP_CAP_* */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_ndis_config, 16);

/* NVSP 5: sub-channels (vRSS). */
#define HVIS_NVSP_SUBCHANNEL_ALLOCATE	1u

struct hvis_nvsp_subchannel_req {
	__u32 nsr_op;				/* HVIS_NVSP_SUBCHANNEL_* */
	__u32 nsr_count;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_subchannel_req, 8);

struct hvis_nvsp_subchannel_complete {
	__u32 nsc_status;
	__u32 nsc_count;			/* sub-channels allocated */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_subchannel_complete, 8);

/* NVSP 5: the send indirection table; @offset from the message start. */
struct hvis_nvsp_indirection_table {
	__u32 nit_count;
	__u32 nit_offset;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_indirection_table, 8);

/* NVSP 4: the guest switches its data path (VF or synthetic). */
struct hvis_nvsp_switch_data_path {
	__u32 nsd_active;			/* 0 synthetic, 1 VF */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_switch_data_path, 4);

#define HVIS_NVSP_BODY_SIZE		(HVIS_NVSP_MSG_SIZE - 4u)

struct hvis_nvsp_msg {
	__u32 nm_type;				/* enum hvis_nvsp_msg_type */
	union {
		struct hvis_nvsp_init nm_init;
		struct hvis_nvsp_init_complete nm_init_complete;
		struct hvis_nvsp_ndis_version nm_ndis_version;
		struct hvis_nvsp_send_buf nm_send_buf;
		struct hvis_nvsp_recv_buf_complete nm_recv_buf_complete;
		struct hvis_nvsp_send_buf_complete nm_send_buf_complete;
		struct hvis_nvsp_revoke_buf nm_revoke_buf;
		struct hvis_nvsp_rndis_pkt nm_rndis_pkt;
		struct hvis_nvsp_rndis_pkt_complete nm_rndis_pkt_complete;
		struct hvis_nvsp_ndis_config nm_ndis_config;
		struct hvis_nvsp_subchannel_req nm_subchannel_req;
		struct hvis_nvsp_subchannel_complete nm_subchannel_complete;
		struct hvis_nvsp_indirection_table nm_indirection_table;
		struct hvis_nvsp_switch_data_path nm_switch_data_path;
		__u8 nm_body[HVIS_NVSP_BODY_SIZE];
	};
} __packed;
HVIS_ASSERT_SIZE(struct hvis_nvsp_msg, HVIS_NVSP_MSG_SIZE);
HVIS_ASSERT_OFFSET(struct hvis_nvsp_msg, nm_init, 4);
HVIS_ASSERT_OFFSET(struct hvis_nvsp_msg, nm_recv_buf_complete.nrc_section, 12);

#endif /* HVIS_NVSP_H */
