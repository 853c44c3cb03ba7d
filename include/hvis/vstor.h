/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Virtual storage protocol (storvsc <-> storvsp): the packets a guest's
 * synthetic SCSI driver and the host's storage VSP exchange on a VMBus
 * channel of class HVIS_GUID_SCSI (or HVIS_GUID_IDE for the IDE
 * accelerator).
 *
 * Every packet is one struct hvis_vstor_packet: in-band for control
 * operations, DATA_USING_GPA_DIRECT (the data pages in front, see
 * <hvis/ring.h>) for an EXECUTE_SRB that moves data. The host answers a
 * request that asked for completion with a COMPLETION packet carrying the
 * request's transaction id and a vstor packet whose operation is
 * COMPLETE_IO. Unsolicited host packets (ENUMERATE_BUS, REMOVE_DEVICE)
 * go in-band with transaction id 0.
 *
 * Size trap: Windows 8 (protocol 5.1) appended 16 bytes to the SRB. A
 * guest speaking 2.0 or 4.2 sends (and expects) packets 16 bytes shorter,
 * with an 18-byte sense area; from 5.1 on every packet is 64 bytes with a
 * 20-byte sense area.
 */
#ifndef HVIS_VSTOR_H
#define HVIS_VSTOR_H

#include <hvis/types.h>

/* ------------------------------------------------------------ versions */
/* Protocol version: major << 8 | minor. */
#define HVIS_VSTOR_VERSION(major, minor)	((__u16)((major) << 8 | (minor)))
#define HVIS_VSTOR_VERSION_WIN6		HVIS_VSTOR_VERSION(2, 0)  /* WS2008 */
#define HVIS_VSTOR_VERSION_WIN7		HVIS_VSTOR_VERSION(4, 2)
#define HVIS_VSTOR_VERSION_WIN8		HVIS_VSTOR_VERSION(5, 1)
#define HVIS_VSTOR_VERSION_WIN8_1	HVIS_VSTOR_VERSION(6, 0)
#define HVIS_VSTOR_VERSION_WIN10	HVIS_VSTOR_VERSION(6, 2)

/* ------------------------------------------------------------ operations */
enum hvis_vstor_op {
	HVIS_VSTOR_OP_COMPLETE_IO		= 1,
	HVIS_VSTOR_OP_REMOVE_DEVICE		= 2,
	HVIS_VSTOR_OP_EXECUTE_SRB		= 3,
	HVIS_VSTOR_OP_RESET_LUN			= 4,
	HVIS_VSTOR_OP_RESET_ADAPTER		= 5,
	HVIS_VSTOR_OP_RESET_BUS			= 6,
	HVIS_VSTOR_OP_BEGIN_INITIALIZATION	= 7,
	HVIS_VSTOR_OP_END_INITIALIZATION	= 8,
	HVIS_VSTOR_OP_QUERY_PROTOCOL_VERSION	= 9,
	HVIS_VSTOR_OP_QUERY_PROPERTIES		= 10,
	HVIS_VSTOR_OP_ENUMERATE_BUS		= 11,
	HVIS_VSTOR_OP_FCHBA_DATA		= 12,
	HVIS_VSTOR_OP_CREATE_SUB_CHANNELS	= 13,
};

/* vp_flags: the sender wants a COMPLETION for this packet. */
#define HVIS_VSTOR_FLAG_REQUEST_COMPLETION	0x1u

/*
 * vp_status (NTSTATUS): 0 = success. Hyper-V answers an unsupported
 * protocol version with STATUS_REVISION_MISMATCH; Linux only tests != 0.
 */
#define HVIS_VSTOR_STATUS_SUCCESS		0x00000000u
#define HVIS_VSTOR_STATUS_REVISION_MISMATCH	0xC0000059u
#define HVIS_VSTOR_STATUS_UNSUCCESSFUL		0xC0000001u
#define HVIS_VSTOR_STATUS_INVALID_DEVICE_STATE	0xC0000184u

/* ------------------------------------------------------------ SRB */
#define HVIS_VSTOR_CDB_MAX		16u
#define HVIS_VSTOR_SENSE_SIZE		20u	/* 5.1 and later */
#define HVIS_VSTOR_SENSE_SIZE_PRE_WIN8	18u

/* vs_data_in */
#define HVIS_VSTOR_DATA_WRITE		0	/* guest -> device */
#define HVIS_VSTOR_DATA_READ		1	/* device -> guest */
#define HVIS_VSTOR_DATA_NONE		2

/* vs_srb_flags (Windows SRB_FLAGS_*), the ones that carry meaning here. */
#define HVIS_SRB_FLAGS_DATA_IN		0x00000040u
#define HVIS_SRB_FLAGS_DATA_OUT		0x00000080u

/*
 * vs_srb_status: the low 6 bits a code, the top two flags. Linux turns
 * INVALID_LUN into "remove this LUN", ERROR with AUTOSENSE_VALID into
 * "look at the sense data", ERROR without it into "offline the disk".
 */
#define HVIS_SRB_STATUS_PENDING		0x00
#define HVIS_SRB_STATUS_SUCCESS		0x01
#define HVIS_SRB_STATUS_ABORTED		0x02
#define HVIS_SRB_STATUS_ERROR		0x04
#define HVIS_SRB_STATUS_INVALID_REQUEST	0x06
#define HVIS_SRB_STATUS_NO_DEVICE	0x08
#define HVIS_SRB_STATUS_SELECTION_TIMEOUT 0x0A
#define HVIS_SRB_STATUS_DATA_OVERRUN	0x12
#define HVIS_SRB_STATUS_INVALID_LUN	0x20
#define HVIS_SRB_STATUS_QUEUE_FROZEN	0x40
#define HVIS_SRB_STATUS_AUTOSENSE_VALID	0x80

/* The SCSI request, modelled on Windows' SCSI_PASS_THROUGH. */
struct hvis_vstor_srb {
	__u16 vs_length;		/* sizeof this struct as the guest sees it */
	__u8 vs_srb_status;		/* host -> guest */
	__u8 vs_scsi_status;		/* host -> guest: SAM status */
	__u8 vs_port;
	__u8 vs_path_id;
	__u8 vs_target_id;
	__u8 vs_lun;
	__u8 vs_cdb_length;
	__u8 vs_sense_info_length;	/* guest: room; host: bytes valid */
	__u8 vs_data_in;		/* HVIS_VSTOR_DATA_* */
	__u8 vs_reserved;
	__u32 vs_data_transfer_length;	/* guest: buffer; host: moved */
	union {
		__u8 vs_cdb[HVIS_VSTOR_CDB_MAX];
		__u8 vs_sense[HVIS_VSTOR_SENSE_SIZE];
	};
	/* Windows 8 (5.1) extension; absent before. */
	__u16 vs_reserve;
	__u8 vs_queue_tag;
	__u8 vs_queue_action;
	__u32 vs_srb_flags;
	__u32 vs_time_out_value;
	__u32 vs_queue_sort_key;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_vstor_srb, 52);
HVIS_ASSERT_OFFSET(struct hvis_vstor_srb, vs_lun, 7);
HVIS_ASSERT_OFFSET(struct hvis_vstor_srb, vs_data_transfer_length, 12);
HVIS_ASSERT_OFFSET(struct hvis_vstor_srb, vs_cdb, 16);
HVIS_ASSERT_OFFSET(struct hvis_vstor_srb, vs_reserve, 36);
HVIS_ASSERT_OFFSET(struct hvis_vstor_srb, vs_srb_flags, 40);
#define HVIS_VSTOR_WIN8_EXT_SIZE	16u

/* QUERY_PROPERTIES answer. */
#define HVIS_VSTOR_PROP_MULTI_CHANNEL	0x1u	/* vcp_flags */

struct hvis_vstor_channel_props {
	__u32 vcp_reserved;
	__u16 vcp_max_channel_count;	/* sub-channels the host will make */
	__u16 vcp_reserved1;
	__u32 vcp_flags;
	__u32 vcp_max_transfer_bytes;
	__u64 vcp_reserved2;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_vstor_channel_props, 24);
HVIS_ASSERT_OFFSET(struct hvis_vstor_channel_props, vcp_max_channel_count, 4);
HVIS_ASSERT_OFFSET(struct hvis_vstor_channel_props, vcp_max_transfer_bytes, 12);

/* QUERY_PROTOCOL_VERSION request. */
struct hvis_vstor_proto_version {
	__u16 vpv_major_minor;		/* HVIS_VSTOR_VERSION() */
	__u16 vpv_revision;		/* Windows build detail; 0 */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_vstor_proto_version, 4);

/* FCHBA_DATA (synthetic Fibre Channel only). */
struct hvis_vstor_fc_wwn {
	__u8 vfw_primary_active;
	__u8 vfw_reserved[3];
	__u8 vfw_primary_port_wwn[8];
	__u8 vfw_primary_node_wwn[8];
	__u8 vfw_secondary_port_wwn[8];
	__u8 vfw_secondary_node_wwn[8];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_vstor_fc_wwn, 36);

#define HVIS_VSTOR_PAYLOAD_SIZE		0x34u

struct hvis_vstor_packet {
	__u32 vp_operation;		/* enum hvis_vstor_op */
	__u32 vp_flags;			/* HVIS_VSTOR_FLAG_* */
	__u32 vp_status;		/* host -> guest, NTSTATUS */
	union {
		struct hvis_vstor_srb vp_srb;
		struct hvis_vstor_channel_props vp_props;
		struct hvis_vstor_proto_version vp_version;
		struct hvis_vstor_fc_wwn vp_wwn;
		__u16 vp_sub_channel_count;	/* CREATE_SUB_CHANNELS */
		__u8 vp_buffer[HVIS_VSTOR_PAYLOAD_SIZE];
	};
} __packed;
HVIS_ASSERT_SIZE(struct hvis_vstor_packet, 64);
HVIS_ASSERT_OFFSET(struct hvis_vstor_packet, vp_srb, 12);

/* Packet sizes on the wire: 5.1 and later, and 2.0 / 4.2. */
#define HVIS_VSTOR_PACKET_SIZE		64u
#define HVIS_VSTOR_PACKET_SIZE_PRE_WIN8	(64u - HVIS_VSTOR_WIN8_EXT_SIZE)

/*
 * Addressing: Linux's storvsc scans 2 targets x 8 channels (path ids)
 * with LUNs 0..254 on a SCSI controller; the host puts its disks on path
 * 0, target 0 and routes by LUN. One byte of LUN on the wire.
 */
#define HVIS_VSTOR_MAX_LUNS		255u

#endif /* HVIS_VSTOR_H */
