/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * RNDIS as Hyper-V's synthetic network adapter speaks it inside NVSP
 * SEND_RNDIS_PKT messages (<hvis/nvsp.h>): control messages (INITIALIZE,
 * QUERY, SET, RESET, KEEPALIVE, HALT and their completions,
 * INDICATE_STATUS) and data (PACKET: one Ethernet frame with optional
 * per-packet info).
 *
 * Every message starts with { type, length }; the length covers the
 * whole message. Offsets inside a message body (info buffers, frame
 * data, per-packet info) count from the first byte after that 8-byte
 * header.
 */
#ifndef HVIS_RNDIS_H
#define HVIS_RNDIS_H

#include <hvis/types.h>

/* ------------------------------------------------------------ messages */
#define HVIS_RNDIS_MSG_COMPLETION	0x80000000u
#define HVIS_RNDIS_MSG_PACKET		0x00000001u
#define HVIS_RNDIS_MSG_INIT		0x00000002u
#define HVIS_RNDIS_MSG_INIT_C		0x80000002u
#define HVIS_RNDIS_MSG_HALT		0x00000003u
#define HVIS_RNDIS_MSG_QUERY		0x00000004u
#define HVIS_RNDIS_MSG_QUERY_C		0x80000004u
#define HVIS_RNDIS_MSG_SET		0x00000005u
#define HVIS_RNDIS_MSG_SET_C		0x80000005u
#define HVIS_RNDIS_MSG_RESET		0x00000006u
#define HVIS_RNDIS_MSG_RESET_C		0x80000006u
#define HVIS_RNDIS_MSG_INDICATE		0x00000007u
#define HVIS_RNDIS_MSG_KEEPALIVE	0x00000008u
#define HVIS_RNDIS_MSG_KEEPALIVE_C	0x80000008u

#define HVIS_RNDIS_MAJOR_VERSION	1u
#define HVIS_RNDIS_MINOR_VERSION	0u
#define HVIS_RNDIS_DF_CONNECTIONLESS	0x1u
#define HVIS_RNDIS_MEDIUM_802_3		0u

/* ------------------------------------------------------------ status */
#define HVIS_RNDIS_STATUS_SUCCESS		0x00000000u
#define HVIS_RNDIS_STATUS_MEDIA_CONNECT		0x4001000bu
#define HVIS_RNDIS_STATUS_MEDIA_DISCONNECT	0x4001000cu
#define HVIS_RNDIS_STATUS_LINK_SPEED_CHANGE	0x40010013u
#define HVIS_RNDIS_STATUS_NETWORK_CHANGE	0x40010018u
#define HVIS_RNDIS_STATUS_FAILURE		0xc0000001u
#define HVIS_RNDIS_STATUS_NOT_SUPPORTED		0xc00000bbu
#define HVIS_RNDIS_STATUS_INVALID_LENGTH	0xc0010014u
#define HVIS_RNDIS_STATUS_INVALID_DATA		0xc0010015u

/* ------------------------------------------------------------ OIDs */
#define HVIS_OID_GEN_SUPPORTED_LIST		0x00010101u
#define HVIS_OID_GEN_HARDWARE_STATUS		0x00010102u
#define HVIS_OID_GEN_MEDIA_SUPPORTED		0x00010103u
#define HVIS_OID_GEN_MEDIA_IN_USE		0x00010104u
#define HVIS_OID_GEN_MAXIMUM_FRAME_SIZE		0x00010106u
#define HVIS_OID_GEN_LINK_SPEED			0x00010107u
#define HVIS_OID_GEN_TRANSMIT_BLOCK_SIZE	0x0001010au
#define HVIS_OID_GEN_RECEIVE_BLOCK_SIZE		0x0001010bu
#define HVIS_OID_GEN_VENDOR_ID			0x0001010cu
#define HVIS_OID_GEN_VENDOR_DESCRIPTION		0x0001010du
#define HVIS_OID_GEN_CURRENT_PACKET_FILTER	0x0001010eu
#define HVIS_OID_GEN_DRIVER_VERSION		0x00010110u
#define HVIS_OID_GEN_MAXIMUM_TOTAL_SIZE		0x00010111u
#define HVIS_OID_GEN_MAC_OPTIONS		0x00010113u
#define HVIS_OID_GEN_MEDIA_CONNECT_STATUS	0x00010114u
#define HVIS_OID_GEN_MAXIMUM_SEND_PACKETS	0x00010115u
#define HVIS_OID_GEN_VENDOR_DRIVER_VERSION	0x00010116u
#define HVIS_OID_GEN_PHYSICAL_MEDIUM		0x00010202u
#define HVIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES	0x00010203u
#define HVIS_OID_GEN_RECEIVE_SCALE_PARAMETERS	0x00010204u
#define HVIS_OID_GEN_RNDIS_CONFIG_PARAMETER	0x0001021bu
#define HVIS_OID_GEN_FRIENDLY_NAME		0x00020216u
#define HVIS_OID_802_3_PERMANENT_ADDRESS	0x01010101u
#define HVIS_OID_802_3_CURRENT_ADDRESS		0x01010102u
#define HVIS_OID_802_3_MULTICAST_LIST		0x01010103u
#define HVIS_OID_802_3_MAXIMUM_LIST_SIZE	0x01010104u
#define HVIS_OID_TCP_OFFLOAD_PARAMETERS		0xfc01020cu	/* set */
#define HVIS_OID_TCP_OFFLOAD_HW_CAPABILITIES	0xfc01020du	/* query */

/* CURRENT_PACKET_FILTER bits. */
#define HVIS_RNDIS_FILTER_DIRECTED	0x00000001u
#define HVIS_RNDIS_FILTER_MULTICAST	0x00000002u
#define HVIS_RNDIS_FILTER_ALL_MULTICAST	0x00000004u
#define HVIS_RNDIS_FILTER_BROADCAST	0x00000008u
#define HVIS_RNDIS_FILTER_PROMISCUOUS	0x00000020u
#define HVIS_RNDIS_FILTER_ALL_LOCAL	0x00000080u

/* MEDIA_CONNECT_STATUS values. */
#define HVIS_RNDIS_MEDIA_CONNECTED	0u
#define HVIS_RNDIS_MEDIA_DISCONNECTED	1u

/* ------------------------------------------------------------ layout */
struct hvis_rndis_hdr {
	__u32 rh_type;				/* HVIS_RNDIS_MSG_* */
	__u32 rh_len;				/* whole message, header included */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_hdr, 8);

struct hvis_rndis_init {
	__u32 ri_req_id;
	__u32 ri_major;
	__u32 ri_minor;
	__u32 ri_max_xfer_size;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_init, 16);

struct hvis_rndis_init_c {
	__u32 ric_req_id;
	__u32 ric_status;
	__u32 ric_major;
	__u32 ric_minor;
	__u32 ric_dev_flags;			/* HVIS_RNDIS_DF_* */
	__u32 ric_medium;
	__u32 ric_max_pkts_per_msg;
	__u32 ric_max_xfer_size;
	__u32 ric_pkt_align_shift;		/* alignment = 1 << this */
	__u32 ric_af_list_offset;
	__u32 ric_af_list_size;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_init_c, 44);

/* QUERY and SET requests: the info buffer at @offset, @len bytes. */
struct hvis_rndis_oid_req {
	__u32 ro_req_id;
	__u32 ro_oid;
	__u32 ro_info_len;
	__u32 ro_info_offset;
	__u32 ro_dev_vc_handle;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_oid_req, 20);

struct hvis_rndis_query_c {
	__u32 rqc_req_id;
	__u32 rqc_status;
	__u32 rqc_info_len;
	__u32 rqc_info_offset;			/* >= 16: right behind this */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_query_c, 16);

/* SET_C and KEEPALIVE_C. */
struct hvis_rndis_status_c {
	__u32 rsc_req_id;
	__u32 rsc_status;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_status_c, 8);

struct hvis_rndis_reset_c {
	__u32 rrc_status;
	__u32 rrc_addressing_reset;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_reset_c, 8);

struct hvis_rndis_indicate {
	__u32 rin_status;			/* HVIS_RNDIS_STATUS_* */
	__u32 rin_buf_len;
	__u32 rin_buf_offset;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_indicate, 12);

struct hvis_rndis_packet {
	__u32 rp_data_offset;
	__u32 rp_data_len;
	__u32 rp_oob_offset;
	__u32 rp_oob_len;
	__u32 rp_num_oob;
	__u32 rp_ppi_offset;
	__u32 rp_ppi_len;
	__u32 rp_vc_handle;
	__u32 rp_reserved;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_packet, 36);

/* Per-packet info: @offset from the start of this record. */
struct hvis_rndis_ppi {
	__u32 rpi_size;				/* whole record */
	__u32 rpi_type;				/* bit 31: "internal" */
	__u32 rpi_offset;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_rndis_ppi, 12);

#define HVIS_RNDIS_PPI_INTERNAL		0x80000000u
/* Per-packet info types. */
#define HVIS_RNDIS_PPI_CHECKSUM		0u	/* TCP/IP checksum offload */
#define HVIS_RNDIS_PPI_LSO		2u	/* TCP large send */
#define HVIS_RNDIS_PPI_8021Q		6u	/* { pri:3, cfi:1, vlan:12 } */
#define HVIS_RNDIS_PPI_HASH_VALUE	8u

/* ------------------------------------------------------------ NDIS objects */
struct hvis_ndis_obj_hdr {
	__u8 noh_type;
	__u8 noh_revision;
	__u16 noh_size;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_ndis_obj_hdr, 4);

#define HVIS_NDIS_OBJ_TYPE_DEFAULT	0x80u
#define HVIS_NDIS_OBJ_TYPE_RSS_CAPS	0x88u
#define HVIS_NDIS_OBJ_TYPE_RSS_PARAMS	0x89u
#define HVIS_NDIS_OBJ_TYPE_OFFLOAD	0xa7u

/*
 * NDIS_RECEIVE_SCALE_CAPABILITIES, revision 2: the header, capability
 * flags, interrupt messages, receive queues (u32 each), the indirection
 * table's entries (u16).
 */
#define HVIS_NDIS_RSS_CAPS_SIZE		18u
#define HVIS_NDIS_RSS_CAPS_HASH_TCP4	0x00000100u
#define HVIS_NDIS_RSS_CAPS_HASH_TCP6	0x00000200u
#define HVIS_NDIS_RSS_ITAB_SIZE		128u
/*
 * NDIS_OFFLOAD (the answer to TCP_OFFLOAD_HW_CAPABILITIES), revision 1:
 * the header, then checksum, LSOv1, IPsec v1, LSOv2 capabilities and
 * flags; all zero means "no offload at all".
 */
#define HVIS_NDIS_OFFLOAD_REV_1		1u
#define HVIS_NDIS_OFFLOAD_SIZE_6_0	112u

#endif /* HVIS_RNDIS_H */
