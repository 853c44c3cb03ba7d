/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * VHD (Virtual Hard Disk Image Format Specification, version 1.0): the
 * on-disk structures of fixed and dynamic disk images.
 *
 * Unlike every other format in include/hvis/, VHD is BIG-ENDIAN on disk:
 * every multi-byte integer below is stored most significant byte first,
 * hence the __be types. Readers convert with be32_to_cpu() and friends
 * (kernel) or be32toh() (userspace).
 *
 * Layout of a file:
 *   fixed:   [disk data: current_size bytes][footer]
 *   dynamic: [footer copy][dynamic header][BAT, padded to a sector]
 *            [block]...[footer]
 * A block is its sector bitmap (padded to a sector) followed by the block's
 * data. Everything is addressed in bytes except BAT entries, which are
 * sector numbers (of the block's bitmap).
 */
#ifndef HVIS_VHD_H
#define HVIS_VHD_H

#include <hvis/types.h>

#define HVIS_VHD_SECTOR_SIZE		512u
#define HVIS_VHD_SECTOR_SHIFT		9

/* Cookies, as the 8 bytes at the start of each structure (no NUL). */
#define HVIS_VHD_FOOTER_COOKIE		"conectix"
#define HVIS_VHD_HEADER_COOKIE		"cxsparse"
#define HVIS_VHD_COOKIE_LEN		8

/* Footer features. The reserved bit is set in every image. */
#define HVIS_VHD_FEATURE_TEMPORARY	0x00000001u
#define HVIS_VHD_FEATURE_RESERVED	0x00000002u

/* File format and dynamic header versions: major << 16 | minor. */
#define HVIS_VHD_VERSION_1_0		0x00010000u
#define HVIS_VHD_VERSION_MAJOR(v)	((__u32)(v) >> 16)

/*
 * "No next structure": the footer's data offset of a fixed disk and the
 * dynamic header's data offset. The specification spells it as the 32-bit
 * 0xFFFFFFFF; Microsoft's tools (and QEMU) write all 64 bits set.
 */
#define HVIS_VHD_NO_OFFSET		0xFFFFFFFFFFFFFFFFull
#define HVIS_VHD_NO_OFFSET_32		0x00000000FFFFFFFFull

/* Timestamps count seconds from 2000-01-01 00:00:00 UTC; this is it in Unix time. */
#define HVIS_VHD_EPOCH_UNIX		946684800

/* Creator host OS codes: the four characters as a big-endian u32. */
#define HVIS_VHD_OS_WINDOWS		0x5769326Bu	/* "Wi2k" */
#define HVIS_VHD_OS_MACINTOSH		0x4D616320u	/* "Mac " */

enum hvis_vhd_disk_type {
	HVIS_VHD_TYPE_NONE		= 0,
	HVIS_VHD_TYPE_FIXED		= 2,
	HVIS_VHD_TYPE_DYNAMIC		= 3,
	HVIS_VHD_TYPE_DIFFERENCING	= 4,
};

/*
 * CHS geometry limits of the specification's algorithm: cylinders fit in
 * 16 bits, at most 16 heads and 255 sectors per track, i.e. about 127.5 GiB.
 * Larger disks carry the maximum geometry.
 */
#define HVIS_VHD_CHS_MAX_CYLINDERS	65535u
#define HVIS_VHD_CHS_MAX_HEADS		16u
#define HVIS_VHD_CHS_MAX_SPT		255u
#define HVIS_VHD_CHS_MAX_SECTORS	(65535ull * 16 * 255)

/* The hard disk footer: the last 512 bytes of every VHD file. */
struct hvis_vhd_footer {
	char vf_cookie[8];		/* "conectix" */
	__be32 vf_features;		/* HVIS_VHD_FEATURE_* */
	__be32 vf_version;		/* HVIS_VHD_VERSION_1_0 */
	__be64 vf_data_offset;		/* dynamic header; fixed: NO_OFFSET */
	__be32 vf_timestamp;		/* seconds since 2000-01-01 UTC */
	char vf_creator_app[4];		/* "win ", "vpc ", "qemu", ... */
	__be32 vf_creator_version;	/* major << 16 | minor */
	__be32 vf_creator_os;		/* HVIS_VHD_OS_* */
	__be64 vf_original_size;	/* bytes at creation */
	__be64 vf_current_size;		/* bytes the guest sees */
	__be16 vf_cylinders;		/* CHS geometry */
	__u8 vf_heads;
	__u8 vf_sectors_per_track;
	__be32 vf_disk_type;		/* enum hvis_vhd_disk_type */
	/* one's complement of the byte sum of the footer without this field */
	__be32 vf_checksum;
	__u8 vf_uuid[16];
	__u8 vf_saved_state;		/* 1: the VM was saved with this disk */
	__u8 vf_reserved[427];		/* zero */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_vhd_footer, 512);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_features, 8);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_version, 12);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_data_offset, 16);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_timestamp, 24);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_creator_app, 28);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_creator_version, 32);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_creator_os, 36);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_original_size, 40);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_current_size, 48);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_cylinders, 56);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_heads, 58);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_sectors_per_track, 59);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_disk_type, 60);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_checksum, 64);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_uuid, 68);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_saved_state, 84);
HVIS_ASSERT_OFFSET(struct hvis_vhd_footer, vf_reserved, 85);

/* Where a differencing disk finds its parent (unused by fixed and dynamic). */
struct hvis_vhd_parent_locator {
	__be32 pl_platform_code;
	__be32 pl_data_space;		/* sectors */
	__be32 pl_data_length;		/* bytes */
	__be32 pl_reserved;
	__be64 pl_data_offset;		/* bytes */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_vhd_parent_locator, 24);

/* The dynamic disk header, at the footer's data offset (usually 512). */
struct hvis_vhd_dyn_header {
	char dh_cookie[8];		/* "cxsparse" */
	__be64 dh_data_offset;		/* NO_OFFSET (either spelling) */
	__be64 dh_table_offset;		/* the BAT, bytes */
	__be32 dh_version;		/* HVIS_VHD_VERSION_1_0 */
	__be32 dh_max_table_entries;	/* BAT entries */
	__be32 dh_block_size;		/* data bytes per block, power of two */
	/* one's complement of the byte sum of the header without this field */
	__be32 dh_checksum;
	__u8 dh_parent_uuid[16];
	__be32 dh_parent_timestamp;
	__be32 dh_reserved1;
	__be16 dh_parent_name[256];	/* UTF-16BE */
	struct hvis_vhd_parent_locator dh_parent_locator[8];
	__u8 dh_reserved2[256];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_vhd_dyn_header, 1024);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_data_offset, 8);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_table_offset, 16);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_version, 24);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_max_table_entries, 28);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_block_size, 32);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_checksum, 36);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_parent_uuid, 40);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_parent_timestamp, 56);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_parent_name, 64);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_parent_locator, 576);
HVIS_ASSERT_OFFSET(struct hvis_vhd_dyn_header, dh_reserved2, 768);

/*
 * Block allocation table: max_table_entries big-endian u32s, one per block,
 * each the sector number of the block's sector bitmap, or UNUSED.
 */
#define HVIS_VHD_BAT_UNUSED		0xFFFFFFFFu
#define HVIS_VHD_BAT_ENTRY_SIZE		4u
#define HVIS_VHD_DEFAULT_BLOCK_SIZE	0x00200000u	/* 2 MiB */

/*
 * Sector bitmap in front of each block's data: one bit per sector of the
 * block, sector 0 in the MOST significant bit of byte 0. A set bit means
 * the sector's data is in this file; a clear bit means it is not (reads
 * as zeros on a dynamic disk). Padded to a whole sector.
 */
#define HVIS_VHD_BITMAP_BYTES(block_size) \
	((((__u32)(block_size) / HVIS_VHD_SECTOR_SIZE / 8) + \
	  HVIS_VHD_SECTOR_SIZE - 1) & ~(HVIS_VHD_SECTOR_SIZE - 1))
#define HVIS_VHD_BITMAP_MASK(sector)	(0x80u >> ((sector) & 7))

/*
 * Checksum of a footer or header: one's complement of the sum of all its
 * bytes, the 4 bytes of the checksum field (at @csum_off) left out.
 */
static inline __u32 hvis_vhd_checksum(const void *buf, size_t len,
				      size_t csum_off)
{
	const __u8 *p = buf;
	__u32 sum = 0;
	size_t i;

	for (i = 0; i < len; i++)
		if (i < csum_off || i >= csum_off + 4)
			sum += p[i];
	return ~sum;
}

#endif /* HVIS_VHD_H */
