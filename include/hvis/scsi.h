/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * SCSI as the synthetic storage device speaks it: the subset of SPC-4 and
 * SBC-3 that a direct-access logical unit behind storvsp implements, and
 * that a guest's SCSI disk driver (Linux sd, our future VSC) sends. CDB
 * opcodes, status codes, sense keys and additional sense codes, VPD and
 * mode page codes, and the byte layouts of the CDBs parsed and of the
 * data returned.
 *
 * Unlike every other wire format in include/hvis/, SCSI is big-endian:
 * multi-byte fields are __be16/__be32/__be64 and must be converted
 * (cpu_to_be32() in the kernel, htobe32() in userspace). Every structure
 * is packed and has its size asserted.
 */
#ifndef HVIS_SCSI_H
#define HVIS_SCSI_H

#include <hvis/types.h>

/* ------------------------------------------------------------ CDBs */
/* The longest CDB the VMBus SRB carries (and the longest we parse). */
#define HVIS_SCSI_MAX_CDB			16

/*
 * The top three bits of the opcode are its group, which fixes the CDB
 * length (SAM-5 5.2): groups 3 (variable length), 6 and 7 (vendor) are
 * implemented by no command here.
 */
#define HVIS_SCSI_GROUP(op)			((op) >> 5)

#define HVIS_SCSI_OP_TEST_UNIT_READY		0x00
#define HVIS_SCSI_OP_REQUEST_SENSE		0x03
#define HVIS_SCSI_OP_READ_6			0x08
#define HVIS_SCSI_OP_WRITE_6			0x0A
#define HVIS_SCSI_OP_INQUIRY			0x12
#define HVIS_SCSI_OP_MODE_SELECT_6		0x15
#define HVIS_SCSI_OP_MODE_SENSE_6		0x1A
#define HVIS_SCSI_OP_START_STOP_UNIT		0x1B
#define HVIS_SCSI_OP_PREVENT_ALLOW_REMOVAL	0x1E
#define HVIS_SCSI_OP_READ_CAPACITY_10		0x25
#define HVIS_SCSI_OP_READ_10			0x28
#define HVIS_SCSI_OP_WRITE_10			0x2A
#define HVIS_SCSI_OP_VERIFY_10			0x2F
#define HVIS_SCSI_OP_SYNCHRONIZE_CACHE_10	0x35
#define HVIS_SCSI_OP_WRITE_SAME_10		0x41
#define HVIS_SCSI_OP_UNMAP			0x42
#define HVIS_SCSI_OP_MODE_SELECT_10		0x55
#define HVIS_SCSI_OP_MODE_SENSE_10		0x5A
#define HVIS_SCSI_OP_READ_16			0x88
#define HVIS_SCSI_OP_WRITE_16			0x8A
#define HVIS_SCSI_OP_VERIFY_16			0x8F
#define HVIS_SCSI_OP_SYNCHRONIZE_CACHE_16	0x91
#define HVIS_SCSI_OP_WRITE_SAME_16		0x93
#define HVIS_SCSI_OP_SERVICE_ACTION_IN_16	0x9E
#define HVIS_SCSI_OP_REPORT_LUNS		0xA0
#define HVIS_SCSI_OP_MAINTENANCE_IN		0xA3
#define HVIS_SCSI_OP_READ_12			0xA8
#define HVIS_SCSI_OP_WRITE_12			0xAA
#define HVIS_SCSI_OP_VERIFY_12			0xAF

/* SERVICE ACTION IN(16) service actions (byte 1, bits 4:0). */
#define HVIS_SCSI_SAI_READ_CAPACITY_16		0x10
#define HVIS_SCSI_SA_MASK			0x1F

/* The control byte, last byte of every CDB (SAM-5 5.2). */
#define HVIS_SCSI_CONTROL_NACA			0x04
#define HVIS_SCSI_CONTROL_LINK			0x01	/* obsolete */

/* Byte 1 of READ/WRITE/VERIFY(10, 12, 16). */
#define HVIS_SCSI_RW_PROTECT_MASK		0xE0	/* RD/WR/VRPROTECT */
#define HVIS_SCSI_RW_DPO			0x10
#define HVIS_SCSI_RW_FUA			0x08
#define HVIS_SCSI_VERIFY_BYTCHK_MASK		0x06
/* Byte 1 of SYNCHRONIZE CACHE(10, 16). */
#define HVIS_SCSI_SYNC_IMMED			0x02
/* Byte 1 of WRITE SAME(10, 16). */
#define HVIS_SCSI_WS_WRPROTECT_MASK		0xE0
#define HVIS_SCSI_WS_ANCHOR			0x10
#define HVIS_SCSI_WS_UNMAP			0x08
#define HVIS_SCSI_WS_PBDATA			0x04	/* obsolete */
#define HVIS_SCSI_WS_LBDATA			0x02	/* obsolete */
#define HVIS_SCSI_WS_NDOB			0x01	/* WRITE SAME(16) only */
/* Byte 1 of UNMAP. */
#define HVIS_SCSI_UNMAP_ANCHOR			0x01
/* Byte 1 of INQUIRY. */
#define HVIS_SCSI_INQ_EVPD			0x01
#define HVIS_SCSI_INQ_CMDDT			0x02	/* obsolete */
/* Byte 1 of REQUEST SENSE. */
#define HVIS_SCSI_RS_DESC			0x01
/* Byte 1 of MODE SENSE(6, 10); byte 2 is PC (7:6) and page code (5:0). */
#define HVIS_SCSI_MS_DBD			0x08
#define HVIS_SCSI_MS_LLBAA			0x10	/* MODE SENSE(10) only */
#define HVIS_SCSI_MS_PC_SHIFT			6
#define HVIS_SCSI_MS_PAGE_MASK			0x3F
#define HVIS_SCSI_MS_PC_CURRENT			0
#define HVIS_SCSI_MS_PC_CHANGEABLE		1
#define HVIS_SCSI_MS_PC_DEFAULT			2
#define HVIS_SCSI_MS_PC_SAVED			3
/* REPORT LUNS select report (byte 2). */
#define HVIS_SCSI_RL_SELECT_ALL_LU		0x00
#define HVIS_SCSI_RL_SELECT_WELL_KNOWN		0x01
#define HVIS_SCSI_RL_SELECT_ALL			0x02

/*
 * Generic layouts: every command parsed here fits one of these. Six-byte
 * CDBs differ too much to share one; the ones we parse have their own.
 */
struct hvis_scsi_cdb6 {			/* READ(6), WRITE(6) */
	__u8 c6_opcode;
	__u8 c6_lba_hi;			/* bits 4:0: LBA 20:16 */
	__be16 c6_lba;			/* LBA 15:0 */
	__u8 c6_length;			/* 0 means 256 blocks */
	__u8 c6_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb6, 6);

/* INQUIRY */
struct hvis_scsi_cdb_inquiry {
	__u8 ci_opcode;
	__u8 ci_flags;			/* EVPD */
	__u8 ci_page;
	__be16 ci_alloc_len;
	__u8 ci_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb_inquiry, 6);

/* MODE SENSE(6) */
struct hvis_scsi_cdb_mode_sense6 {
	__u8 ms_opcode;
	__u8 ms_flags;			/* DBD */
	__u8 ms_page;			/* PC, page code */
	__u8 ms_subpage;
	__u8 ms_alloc_len;
	__u8 ms_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb_mode_sense6, 6);

/* REQUEST SENSE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, TUR */
struct hvis_scsi_cdb_misc6 {
	__u8 cm_opcode;
	__u8 cm_flags;			/* DESC (REQUEST SENSE), IMMED (START) */
	__u8 cm_reserved;
	__u8 cm_byte3;			/* power condition modifier (START) */
	__u8 cm_byte4;			/* alloc length (RS), START/LOEJ, PREVENT */
	__u8 cm_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb_misc6, 6);

/*
 * READ/WRITE/VERIFY(10), SYNCHRONIZE CACHE(10), WRITE SAME(10),
 * READ CAPACITY(10) (length unused), UNMAP (LBA reserved, length is the
 * parameter list length), MODE SENSE(10) (see below).
 */
struct hvis_scsi_cdb10 {
	__u8 c10_opcode;
	__u8 c10_flags;
	__be32 c10_lba;
	__u8 c10_group;
	__be16 c10_length;
	__u8 c10_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb10, 10);

/* MODE SENSE(10) */
struct hvis_scsi_cdb_mode_sense10 {
	__u8 ms_opcode;
	__u8 ms_flags;			/* LLBAA, DBD */
	__u8 ms_page;			/* PC, page code */
	__u8 ms_subpage;
	__u8 ms_reserved[3];
	__be16 ms_alloc_len;
	__u8 ms_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb_mode_sense10, 10);

/* READ/WRITE/VERIFY(12) */
struct hvis_scsi_cdb12 {
	__u8 c12_opcode;
	__u8 c12_flags;
	__be32 c12_lba;
	__be32 c12_length;
	__u8 c12_group;
	__u8 c12_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb12, 12);

/* REPORT LUNS */
struct hvis_scsi_cdb_report_luns {
	__u8 rl_opcode;
	__u8 rl_reserved1;
	__u8 rl_select;
	__u8 rl_reserved2[3];
	__be32 rl_alloc_len;
	__u8 rl_reserved3;
	__u8 rl_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb_report_luns, 12);

/*
 * READ/WRITE/VERIFY(16), SYNCHRONIZE CACHE(16), WRITE SAME(16), and
 * SERVICE ACTION IN(16) (flags holds the service action, length is the
 * allocation length, group holds READ CAPACITY(16)'s obsolete PMI).
 */
struct hvis_scsi_cdb16 {
	__u8 c16_opcode;
	__u8 c16_flags;
	__be64 c16_lba;
	__be32 c16_length;
	__u8 c16_group;
	__u8 c16_control;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_cdb16, 16);

/* ------------------------------------------------------------ status */
/* SAM-5 status codes. */
#define HVIS_SCSI_STATUS_GOOD			0x00
#define HVIS_SCSI_STATUS_CHECK_CONDITION	0x02
#define HVIS_SCSI_STATUS_BUSY			0x08
#define HVIS_SCSI_STATUS_RESERVATION_CONFLICT	0x18
#define HVIS_SCSI_STATUS_TASK_SET_FULL		0x28
#define HVIS_SCSI_STATUS_TASK_ABORTED		0x40

/* Sense keys. */
#define HVIS_SCSI_SK_NO_SENSE			0x0
#define HVIS_SCSI_SK_RECOVERED_ERROR		0x1
#define HVIS_SCSI_SK_NOT_READY			0x2
#define HVIS_SCSI_SK_MEDIUM_ERROR		0x3
#define HVIS_SCSI_SK_HARDWARE_ERROR		0x4
#define HVIS_SCSI_SK_ILLEGAL_REQUEST		0x5
#define HVIS_SCSI_SK_UNIT_ATTENTION		0x6
#define HVIS_SCSI_SK_DATA_PROTECT		0x7
#define HVIS_SCSI_SK_ABORTED_COMMAND		0xB

/* Additional sense code, qualifier pairs: ASC << 8 | ASCQ. */
#define HVIS_SCSI_ASC(code)			((__u8)((code) >> 8))
#define HVIS_SCSI_ASCQ(code)			((__u8)(code))
#define HVIS_SCSI_SENSE_NONE			0x0000
#define HVIS_SCSI_SENSE_WRITE_ERROR		0x0C00
#define HVIS_SCSI_SENSE_UNRECOVERED_READ_ERROR	0x1100
#define HVIS_SCSI_SENSE_PARAM_LIST_LENGTH_ERROR	0x1A00
#define HVIS_SCSI_SENSE_INVALID_OPCODE		0x2000
#define HVIS_SCSI_SENSE_LBA_OUT_OF_RANGE	0x2100
#define HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB	0x2400
#define HVIS_SCSI_SENSE_LUN_NOT_SUPPORTED	0x2500
#define HVIS_SCSI_SENSE_INVALID_FIELD_IN_PARAM	0x2600
#define HVIS_SCSI_SENSE_WRITE_PROTECTED		0x2700
#define HVIS_SCSI_SENSE_SPACE_ALLOC_FAILED_WP	0x2707
#define HVIS_SCSI_SENSE_SAVING_NOT_SUPPORTED	0x3900
#define HVIS_SCSI_SENSE_INTERNAL_TARGET_FAILURE	0x4400

/* Fixed-format sense data (SPC-4 4.5.3): what we always return. */
#define HVIS_SCSI_SENSE_CURRENT_FIXED		0x70
#define HVIS_SCSI_SENSE_VALID			0x80	/* INFORMATION valid */
struct hvis_scsi_sense_fixed {
	__u8 sf_response_code;		/* VALID, 0x70 */
	__u8 sf_obsolete;
	__u8 sf_key;			/* FILEMARK, EOM, ILI, key (3:0) */
	__be32 sf_information;
	__u8 sf_additional_len;		/* bytes after this one: 10 */
	__be32 sf_cmd_specific;
	__u8 sf_asc;
	__u8 sf_ascq;
	__u8 sf_fru;
	__u8 sf_key_specific[3];	/* SKSV, field pointer */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_sense_fixed, 18);
HVIS_ASSERT_OFFSET(struct hvis_scsi_sense_fixed, sf_asc, 12);

/* ------------------------------------------------------------ INQUIRY */
/* Byte 0 of INQUIRY and VPD data: peripheral qualifier (7:5), type. */
#define HVIS_SCSI_TYPE_DISK			0x00
#define HVIS_SCSI_TYPE_NO_LUN			0x1F	/* unknown/no type */
#define HVIS_SCSI_PQ_CONNECTED			(0u << 5)
#define HVIS_SCSI_PQ_NOT_SUPPORTED		(3u << 5)

#define HVIS_SCSI_INQ_VERSION_SPC4		0x06
#define HVIS_SCSI_INQ_HISUP			0x10	/* byte 3 */
#define HVIS_SCSI_INQ_RDF_SPC			0x02	/* byte 3, bits 3:0 */
#define HVIS_SCSI_INQ_CMDQUE			0x02	/* byte 7 */

struct hvis_scsi_inquiry_std {
	__u8 is_peripheral;		/* qualifier, device type */
	__u8 is_rmb;			/* removable medium (bit 7) */
	__u8 is_version;
	__u8 is_flags3;			/* NORMACA, HISUP, response format */
	__u8 is_additional_len;		/* bytes after this one */
	__u8 is_flags5;			/* SCCS ACC TPGS 3PC PROTECT */
	__u8 is_flags6;			/* ENCSERV MULTIP ... */
	__u8 is_flags7;			/* CMDQUE */
	char is_vendor[8];		/* ASCII, space padded */
	char is_product[16];
	char is_revision[4];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_inquiry_std, 36);

/* VPD pages (INQUIRY with EVPD). */
#define HVIS_SCSI_VPD_SUPPORTED_PAGES		0x00
#define HVIS_SCSI_VPD_UNIT_SERIAL		0x80
#define HVIS_SCSI_VPD_DEVICE_ID			0x83
#define HVIS_SCSI_VPD_BLOCK_LIMITS		0xB0
#define HVIS_SCSI_VPD_BLOCK_CHARACTERISTICS	0xB1
#define HVIS_SCSI_VPD_LB_PROVISIONING		0xB2

struct hvis_scsi_vpd_hdr {
	__u8 vh_peripheral;
	__u8 vh_page;
	__be16 vh_length;		/* bytes after the header */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_vpd_hdr, 4);

/* Device identification (0x83) designation descriptor header. */
#define HVIS_SCSI_DESIG_CODESET_BINARY		0x1
#define HVIS_SCSI_DESIG_CODESET_ASCII		0x2
#define HVIS_SCSI_DESIG_ASSOC_LU		(0u << 4)
#define HVIS_SCSI_DESIG_TYPE_T10_VENDOR		0x1
#define HVIS_SCSI_DESIG_TYPE_NAA		0x3
#define HVIS_SCSI_NAA_IEEE_REG_EXT		0x6	/* 16 bytes */

struct hvis_scsi_desig_hdr {
	__u8 dh_codeset;		/* protocol id (7:4), code set (3:0) */
	__u8 dh_type;			/* PIV, association (5:4), type (3:0) */
	__u8 dh_reserved;
	__u8 dh_length;			/* designator bytes after the header */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_desig_hdr, 4);

/* Block limits (0xB0), SBC-3 6.5.3: the 64-byte form. */
#define HVIS_SCSI_BL_WSNZ			0x01
#define HVIS_SCSI_BL_UGAVALID			0x80000000u /* in bl_unmap_alignment */
#define HVIS_SCSI_NO_MAX			0xFFFFFFFFu	/* unmap limits */
struct hvis_scsi_vpd_block_limits {
	struct hvis_scsi_vpd_hdr bl_hdr;
	__u8 bl_flags;			/* WSNZ */
	__u8 bl_max_compare_write;
	__be16 bl_opt_xfer_granularity;	/* logical blocks */
	__be32 bl_max_xfer;
	__be32 bl_opt_xfer;
	__be32 bl_max_prefetch;
	__be32 bl_max_unmap_lbas;
	__be32 bl_max_unmap_descs;
	__be32 bl_unmap_granularity;
	__be32 bl_unmap_alignment;	/* UGAVALID (bit 31) */
	__be64 bl_max_write_same;
	__u8 bl_reserved[20];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_vpd_block_limits, 64);
HVIS_ASSERT_OFFSET(struct hvis_scsi_vpd_block_limits, bl_max_xfer, 8);
HVIS_ASSERT_OFFSET(struct hvis_scsi_vpd_block_limits, bl_max_unmap_lbas, 20);
HVIS_ASSERT_OFFSET(struct hvis_scsi_vpd_block_limits, bl_max_write_same, 36);

/* Block device characteristics (0xB1). */
#define HVIS_SCSI_ROTATION_NOT_REPORTED		0x0000
#define HVIS_SCSI_ROTATION_NONE			0x0001	/* solid state */
struct hvis_scsi_vpd_block_chars {
	struct hvis_scsi_vpd_hdr bc_hdr;
	__be16 bc_rotation_rate;
	__u8 bc_product_type;
	__u8 bc_form_factor;		/* WABEREQ WACEREQ, form factor */
	__u8 bc_flags;			/* ZONED (5:4), FUAB, VBULS */
	__u8 bc_reserved[55];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_vpd_block_chars, 64);

/* Logical block provisioning (0xB2). */
#define HVIS_SCSI_LBP_LBPU			0x80	/* byte 5: UNMAP */
#define HVIS_SCSI_LBP_LBPWS			0x40	/* WRITE SAME(16) + UNMAP */
#define HVIS_SCSI_LBP_LBPWS10			0x20	/* WRITE SAME(10) + UNMAP */
#define HVIS_SCSI_LBP_LBPRZ_ZERO		(1u << 2) /* 3-bit field (4:2) */
#define HVIS_SCSI_LBP_TYPE_THIN			0x02	/* byte 6, bits 2:0 */
struct hvis_scsi_vpd_lbp {
	struct hvis_scsi_vpd_hdr lp_hdr;
	__u8 lp_threshold_exponent;
	__u8 lp_flags;			/* LBPU LBPWS LBPWS10 LBPRZ ANC_SUP DP */
	__u8 lp_type;			/* minimum percentage, provisioning type */
	__u8 lp_threshold_percentage;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_vpd_lbp, 8);

/* ------------------------------------------------------------ capacity */
struct hvis_scsi_read_capacity10 {
	__be32 rc_last_lba;		/* 0xFFFFFFFF: too big, use RC16 */
	__be32 rc_block_size;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_read_capacity10, 8);

#define HVIS_SCSI_RC10_TOO_BIG			0xFFFFFFFFu
#define HVIS_SCSI_RC16_RC_BASIS_LAST_LBA	(1u << 4)	/* byte 12 */
#define HVIS_SCSI_RC16_LBPME			0x80		/* byte 14 */
#define HVIS_SCSI_RC16_LBPRZ			0x40
struct hvis_scsi_read_capacity16 {
	__be64 rc_last_lba;
	__be32 rc_block_size;
	__u8 rc_prot;			/* RC BASIS (5:4), P_TYPE, PROT_EN */
	__u8 rc_exponents;		/* P_I exponent (7:4), LB per PB (3:0) */
	__be16 rc_lowest_aligned;	/* LBPME, LBPRZ, lowest aligned LBA */
	__u8 rc_reserved[16];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_read_capacity16, 32);

/* ------------------------------------------------------------ mode pages */
#define HVIS_SCSI_MODE_PAGE_CACHING		0x08
#define HVIS_SCSI_MODE_PAGE_CONTROL		0x0A
#define HVIS_SCSI_MODE_PAGE_ALL			0x3F
#define HVIS_SCSI_MODE_SUBPAGE_ALL		0xFF

/* The device-specific parameter of a direct-access device. */
#define HVIS_SCSI_MODE_DSP_WP			0x80
#define HVIS_SCSI_MODE_DSP_DPOFUA		0x10
#define HVIS_SCSI_MODE_LONGLBA			0x01	/* MODE SENSE(10) */

struct hvis_scsi_mode_hdr6 {
	__u8 mh_data_len;		/* bytes after this one */
	__u8 mh_medium_type;
	__u8 mh_dev_specific;
	__u8 mh_bd_len;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_mode_hdr6, 4);

struct hvis_scsi_mode_hdr10 {
	__be16 mh_data_len;		/* bytes after this field */
	__u8 mh_medium_type;
	__u8 mh_dev_specific;
	__u8 mh_flags;			/* LONGLBA */
	__u8 mh_reserved;
	__be16 mh_bd_len;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_mode_hdr10, 8);

/* Direct-access block descriptors: short, and long (LONGLBA). */
struct hvis_scsi_block_desc {
	__be32 bd_nblocks;		/* 0xFFFFFFFF if larger */
	__u8 bd_reserved;
	__u8 bd_block_size[3];		/* 24-bit big-endian */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_block_desc, 8);

struct hvis_scsi_block_desc_long {
	__be64 bd_nblocks;
	__u8 bd_reserved[4];
	__be32 bd_block_size;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_block_desc_long, 16);

/* Caching mode page (SBC-3 6.4.5). */
#define HVIS_SCSI_CACHING_WCE			0x04	/* byte 2 */
#define HVIS_SCSI_CACHING_RCD			0x01
struct hvis_scsi_mode_caching {
	__u8 mc_page;			/* PS, SPF, page code */
	__u8 mc_length;			/* 0x12 */
	__u8 mc_flags;			/* IC ABPF CAP DISC SIZE WCE MF RCD */
	__u8 mc_retention;
	__be16 mc_disable_prefetch_len;
	__be16 mc_min_prefetch;
	__be16 mc_max_prefetch;
	__be16 mc_max_prefetch_ceiling;
	__u8 mc_flags12;		/* FSW LBCSS DRA NV_DIS */
	__u8 mc_cache_segments;
	__be16 mc_cache_segment_size;
	__u8 mc_reserved;
	__u8 mc_obsolete[3];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_mode_caching, 20);

/* Control mode page (SPC-4 7.5.7). */
#define HVIS_SCSI_CONTROL_QAM_UNRESTRICTED	(1u << 4)	/* byte 3 */
struct hvis_scsi_mode_control {
	__u8 mt_page;
	__u8 mt_length;			/* 0x0A */
	__u8 mt_flags2;			/* TST TMF_ONLY DPICZ D_SENSE GLTSD RLEC */
	__u8 mt_flags3;			/* queue algorithm modifier, QERR */
	__u8 mt_flags4;			/* VS RAC UA_INTLCK_CTRL SWP */
	__u8 mt_flags5;			/* ATO TAS ATMPE RWWP AUTOLOAD */
	__be16 mt_obsolete;
	__be16 mt_busy_timeout;
	__be16 mt_self_test_time;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_mode_control, 12);

/* ------------------------------------------------------------ UNMAP */
struct hvis_scsi_unmap_hdr {
	__be16 uh_data_len;		/* bytes after this field */
	__be16 uh_desc_len;		/* bytes of descriptors that follow */
	__u8 uh_reserved[4];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_unmap_hdr, 8);

struct hvis_scsi_unmap_desc {
	__be64 ud_lba;
	__be32 ud_nblocks;
	__u8 ud_reserved[4];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_unmap_desc, 16);

/* ------------------------------------------------------------ REPORT LUNS */
struct hvis_scsi_report_luns_hdr {
	__be32 rl_list_len;		/* bytes of LUN entries */
	__u8 rl_reserved[4];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_scsi_report_luns_hdr, 8);

/*
 * Single-level LUNs (SAM-5 4.7): peripheral device addressing for 0..255,
 * flat space addressing (method 01b in the top bits) up to 16383.
 */
#define HVIS_SCSI_LUN_FLAT			0x40
#define HVIS_SCSI_LUN_MAX			0x3FFF

#endif /* HVIS_SCSI_H */
