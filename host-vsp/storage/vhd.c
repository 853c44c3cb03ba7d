// SPDX-License-Identifier: GPL-2.0-only
/*
 * VHD image library: fixed and dynamic disks (include/hvis/vhd.h has the
 * on-disk format, vhd.h the API and its concurrency contract).
 *
 * Size rule. The virtual size is the footer's current_size, as Hyper-V
 * reads it. QEMU instead derives the size from the CHS geometry unless the
 * creator application is one it knows to use current_size ("win ",
 * "qem2", "d2v ", "CTXS", "tap\0") or the geometry is the maximum
 * 65535/16/255. Our images say "hvis", so to make every reader agree we
 * create only sizes the specification's CHS algorithm covers exactly (the
 * request rounded UP, never down, so a copied disk always fits), except
 * where that needs the maximum geometry (from about 127.5 GiB): those
 * disks keep the requested size (in sectors) with the maximum geometry,
 * and QEMU then takes current_size too. This is QEMU's own default
 * rounding, so "qemu-img create" and we agree on the size of a request. QEMU's own images ("qemu": CHS-rounded, current_size equal
 * to the CHS size; "qem2": maximum geometry) read the same size either way.
 *
 * Allocation order (dynamic disks), and why it is crash-safe. The file is
 * [metadata][blocks][footer at F]; a new block goes at F, where the
 * trailing footer is now:
 *   1. write the footer at F' = F + bitmap + block: the file grows, the
 *      new block's data area becomes a hole that reads zeros;
 *   2. fdatasync: the new trailing footer is durable before step 3
 *      destroys the old one;
 *   3. write the block's sector bitmap, all ones, at F (over the old
 *      footer);
 *   4. fdatasync: bitmap and file length are durable before any BAT entry
 *      can point at them;
 *   5. write the BAT entry's 512-byte sector, then publish the entry in
 *      memory (release): only now may the caller write data there.
 * A crash (kill -9: a prefix of the steps; power loss: besides, any subset
 * of the writes since the last flush) leaves:
 *   - before 2 completes: the old file, or the old file grown by a hole
 *     and a second, identical footer at its end; the old footer at F still
 *     intact (its sector is only overwritten after the flush);
 *   - before 4 completes: a durable trailing footer at F'; at F the old
 *     footer or the bitmap; the BAT untouched: the block is unallocated,
 *     [F, F') leaked space;
 *   - before the caller's flush: the BAT entry set or not; if set, its
 *     bitmap and the file length behind it are durable (step 4), its data
 *     reads zeros or whatever unflushed writes reached the disk.
 * Each of these is a valid image to us and to QEMU (which reads the footer
 * copy at offset 0 and needs only the BAT's blocks inside the file), and
 * the only thing that can be lost is what the caller had not yet flushed:
 * it fdatasyncs after its data writes (SYNCHRONIZE CACHE), which makes the
 * step-5 BAT write durable along with the data. The footer copy at offset
 * 0 never changes: nothing in it (size, type, header offset, geometry,
 * UUID) depends on the blocks, so allocation never rewrites it.
 *
 * New blocks always go at the trailing footer, never into space a crashed
 * allocation leaked or a foreign tool left between blocks: everything past
 * the footer is a fresh hole, so a new block's data area reads zeros
 * without writing it.
 *
 * Making a partially present block (some bitmap bits clear, as Hyper-V
 * writes them) fully present: zero the data of the absent sectors,
 * fdatasync, then write the bitmap with every bit set and publish. A crash
 * before the bitmap write changes nothing visible (the zeroed sectors
 * were absent, reading zeros anyway); the bitmap write itself needs no
 * flush of its own: the caller's flush after its data writes covers it.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hvis/vhd.h>

#include "vhd.h"

int (*vhd_test_hook)(enum vhd_test_op op, const void *buf, size_t len,
		     uint64_t off);

#define SECTOR		HVIS_VHD_SECTOR_SIZE
#define CREATOR_APP	"hvis"
#define CREATOR_VERSION	0x00010000u	/* 1.0 */

struct vhd {
	int fd;
	bool read_only;
	bool broken;		/* a write or flush failed: refuse allocating */
	struct vhd_info info;
	/* The trailing footer's bytes, as every footer we write carries them. */
	struct hvis_vhd_footer footer;
	/* Dynamic disks only: */
	uint64_t footer_off;	/* where the trailing footer is: the next block */
	uint64_t table_off;
	uint32_t nblocks;	/* blocks covering the disk (<= max_table_entries) */
	uint32_t bitmap_bytes;
	uint32_t block_sectors;
	/*
	 * Per block: the BAT entry (host order) and, for allocated blocks
	 * with some bitmap bit clear, a copy of the bitmap; NULL when fully
	 * present. Both are read by vhd_map() with acquire loads and stored
	 * by vhd_alloc() with release stores after the on-disk writes. A
	 * bitmap never changes once published: vhd_alloc() replaces it by
	 * NULL and keeps the old one in @retired until vhd_close(), since a
	 * concurrent vhd_map() may still be reading it.
	 */
	uint32_t *bat;
	uint8_t **bitmap;
	uint8_t **retired;
	uint32_t nretired;
};

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t round_up_sector(uint64_t x)
{
	return (x + SECTOR - 1) & ~(uint64_t)(SECTOR - 1);
}

/* Do [a, a+alen) and [b, b+blen) overlap? (No overflow: all < 2^63.) */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Whole-buffer pread; a short read (end of file) is -EIO. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int write_at(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int fdatasync_eintr(int fd)
{
	while (fdatasync(fd)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* ------------------------------------------------------------ writes */
/*
 * Every write and flush of an allocation or repair goes through these:
 * they consult the test hook, and after any failure refuse everything
 * (the kernel may have dropped the dirty pages of a failed fdatasync, so
 * nothing about the on-disk state can be assumed any more).
 */
static bool hook_stops(struct vhd *v, enum vhd_test_op op, const void *buf,
		       size_t len, uint64_t off)
{
	if (!v->broken && vhd_test_hook && vhd_test_hook(op, buf, len, off))
		v->broken = true;
	return v->broken;
}

static int io_write(struct vhd *v, const void *buf, size_t len, uint64_t off)
{
	int r;

	if (hook_stops(v, VHD_TEST_WRITE, buf, len, off))
		return -EIO;
	r = write_at(v->fd, buf, len, off);
	if (r)
		v->broken = true;
	return r;
}

static int io_sync(struct vhd *v)
{
	int r;

	if (hook_stops(v, VHD_TEST_SYNC, NULL, 0, 0))
		return -EIO;
	r = fdatasync_eintr(v->fd);
	if (r)
		v->broken = true;
	return r;
}

static const uint8_t zero_chunk[64 << 10];

/* Make [off, off+len) of the file read zeros: a hole where possible. */
static int zero_range(int fd, uint64_t off, uint64_t len)
{
	if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		       (off_t)off, (off_t)len))
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	while (len) {
		size_t n = len < sizeof(zero_chunk) ? len : sizeof(zero_chunk);
		int r = write_at(fd, zero_chunk, n, off);

		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int io_zero(struct vhd *v, uint64_t off, uint64_t len)
{
	int r;

	if (hook_stops(v, VHD_TEST_ZERO, NULL, len, off))
		return -EIO;
	r = zero_range(v->fd, off, len);
	if (r)
		v->broken = true;
	return r;
}

/* ------------------------------------------------------------ geometry */

/* The VHD specification's CHS algorithm for @sectors (capped at the max). */
static uint64_t chs_for(uint64_t sectors, uint16_t *cyl, uint8_t *heads,
			uint8_t *spt)
{
	uint64_t cth;		/* cylinders times heads */
	uint32_t h, s;

	if (sectors > HVIS_VHD_CHS_MAX_SECTORS)
		sectors = HVIS_VHD_CHS_MAX_SECTORS;
	if (sectors >= 65535ull * 16 * 63) {
		s = 255;
		h = 16;
		cth = sectors / s;
	} else {
		s = 17;
		cth = sectors / s;
		h = (uint32_t)((cth + 1023) / 1024);
		if (h < 4)
			h = 4;
		if (cth >= h * 1024ull || h > 16) {
			s = 31;
			h = 16;
			cth = sectors / s;
		}
		if (cth >= h * 1024ull) {
			s = 63;
			h = 16;
			cth = sectors / s;
		}
	}
	*cyl = (uint16_t)(cth / h);
	*heads = (uint8_t)h;
	*spt = (uint8_t)s;
	return (uint64_t)*cyl * h * s;
}

/* Sectors of the disk vhd_create() makes for @size bytes, and its geometry. */
static uint64_t create_sectors(uint64_t size, uint16_t *cyl, uint8_t *heads,
			       uint8_t *spt)
{
	uint64_t sectors, n;

	if (size == 0 || size > VHD_MAX_SIZE)
		return 0;
	sectors = round_up_sector(size) / SECTOR;
	if (sectors >= HVIS_VHD_CHS_MAX_SECTORS) {
		*cyl = HVIS_VHD_CHS_MAX_CYLINDERS;
		*heads = HVIS_VHD_CHS_MAX_HEADS;
		*spt = HVIS_VHD_CHS_MAX_SPT;
		return sectors;
	}
	/*
	 * The geometry for n sectors covers at most n; walk n up until it
	 * covers the request. Ends within a cylinder's worth of sectors
	 * (at most 16 * 255), and at the latest at the maximum geometry:
	 * then readers take current_size, so the size stays exact.
	 */
	for (n = sectors;; n++) {
		uint64_t covered = chs_for(n, cyl, heads, spt);

		if (covered == HVIS_VHD_CHS_MAX_SECTORS)
			return sectors;
		if (covered >= sectors)
			return covered;
	}
}

uint64_t vhd_create_size(uint64_t size)
{
	uint16_t c;
	uint8_t h, s;

	return create_sectors(size, &c, &h, &s) * SECTOR;
}

/* ------------------------------------------------------------ validation */

static bool is_no_offset(uint64_t off)
{
	return off == HVIS_VHD_NO_OFFSET || off == HVIS_VHD_NO_OFFSET_32;
}

static uint32_t footer_csum(const struct hvis_vhd_footer *f)
{
	return hvis_vhd_checksum(f, sizeof(*f),
				 offsetof(struct hvis_vhd_footer, vf_checksum));
}

static uint32_t header_csum(const struct hvis_vhd_dyn_header *h)
{
	return hvis_vhd_checksum(h, sizeof(*h),
				 offsetof(struct hvis_vhd_dyn_header, dh_checksum));
}

/*
 * Check one footer on its own. -EINVAL for a bad one, -ENOTSUP for a
 * differencing disk, -EFBIG beyond VHD_MAX_SIZE; a message in @msg.
 */
static int footer_check(const struct hvis_vhd_footer *f, char *msg,
			size_t msglen)
{
	uint32_t csum = be32toh(f->vf_checksum), type;
	uint64_t size = be64toh(f->vf_current_size);
	uint64_t data_off = be64toh(f->vf_data_offset);
	uint32_t version = be32toh(f->vf_version);

	if (memcmp(f->vf_cookie, HVIS_VHD_FOOTER_COOKIE, HVIS_VHD_COOKIE_LEN)) {
		errf(msg, msglen, "no \"conectix\" cookie: not a VHD footer");
		return -EINVAL;
	}
	if (csum != footer_csum(f)) {
		errf(msg, msglen, "bad checksum 0x%08" PRIx32 " (computed 0x%08" PRIx32 ")",
		     csum, footer_csum(f));
		return -EINVAL;
	}
	if (HVIS_VHD_VERSION_MAJOR(version) != 1) {
		errf(msg, msglen, "unsupported file format version 0x%08" PRIx32,
		     version);
		return -EINVAL;
	}
	type = be32toh(f->vf_disk_type);
	if (type == HVIS_VHD_TYPE_DIFFERENCING) {
		errf(msg, msglen,
		     "differencing VHDs (disk type 4, with a parent disk) are not supported");
		return -ENOTSUP;
	}
	if (type != HVIS_VHD_TYPE_FIXED && type != HVIS_VHD_TYPE_DYNAMIC) {
		errf(msg, msglen, "unknown disk type %" PRIu32, type);
		return -EINVAL;
	}
	if (size == 0 || size % SECTOR) {
		errf(msg, msglen, "disk size %" PRIu64 " is not a positive multiple of 512",
		     size);
		return -EINVAL;
	}
	if (size > VHD_MAX_SIZE) {
		errf(msg, msglen, "disk size %" PRIu64 " exceeds the VHD maximum of 2040 GiB",
		     size);
		return -EFBIG;
	}
	if (type == HVIS_VHD_TYPE_FIXED && !is_no_offset(data_off)) {
		errf(msg, msglen, "fixed disk with a data offset (0x%" PRIx64 ")",
		     data_off);
		return -EINVAL;
	}
	if (type == HVIS_VHD_TYPE_DYNAMIC &&
	    (data_off < SECTOR || data_off % SECTOR || is_no_offset(data_off))) {
		errf(msg, msglen, "dynamic header offset 0x%" PRIx64 " is not a sector past the footer copy",
		     data_off);
		return -EINVAL;
	}
	return 0;
}

/* Do two valid footers of one dynamic disk describe the same disk? */
static bool footers_agree(const struct hvis_vhd_footer *a,
			  const struct hvis_vhd_footer *b)
{
	return a->vf_disk_type == b->vf_disk_type &&
	       a->vf_current_size == b->vf_current_size &&
	       a->vf_data_offset == b->vf_data_offset &&
	       !memcmp(a->vf_uuid, b->vf_uuid, sizeof(a->vf_uuid));
}

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool bit_set(const uint8_t *bm, uint32_t sector)
{
	return bm[sector / 8] & HVIS_VHD_BITMAP_MASK(sector);
}

/* Sectors of block @idx that lie inside the disk. */
static uint32_t block_disk_sectors(const struct vhd *v, uint32_t idx)
{
	uint64_t left = v->info.size - (uint64_t)idx * v->info.block_size;

	return left >= v->info.block_size ? v->block_sectors :
					    (uint32_t)(left / SECTOR);
}

static bool bitmap_full(const uint8_t *bm, uint32_t nsec)
{
	uint32_t i;

	for (i = 0; i < nsec / 8; i++)
		if (bm[i] != 0xFF)
			return false;
	for (i = nsec & ~7u; i < nsec; i++)
		if (!bit_set(bm, i))
			return false;
	return true;
}

static void vhd_free(struct vhd *v)
{
	uint32_t i;

	if (!v)
		return;
	if (v->bitmap)
		for (i = 0; i < v->nblocks; i++)
			free(v->bitmap[i]);
	for (i = 0; i < v->nretired; i++)
		free(v->retired[i]);
	free(v->bitmap);
	free(v->retired);
	free(v->bat);
	free(v);
}

/*
 * The dynamic part of vhd_open(): header, BAT, bitmaps. @limit is where
 * blocks and metadata must end: the trailing footer, or the end of the
 * file when that footer is missing.
 */
static int open_dynamic(struct vhd *v, uint64_t limit, char *err,
			size_t errlen)
{
	struct hvis_vhd_dyn_header h;
	uint64_t hdr_off = be64toh(v->footer.vf_data_offset);
	uint64_t size = v->info.size, nblocks, bat_bytes, span;
	uint32_t bs, mte, i, nalloc = 0, npartial = 0, *raw = NULL, *sorted = NULL;
	int r;

	if (hdr_off > limit || limit - hdr_off < sizeof(h)) {
		errf(err, errlen, "dynamic header at 0x%" PRIx64 " lies outside the file",
		     hdr_off);
		return -EINVAL;
	}
	r = read_at(v->fd, &h, sizeof(h), hdr_off);
	if (r) {
		errf(err, errlen, "cannot read the dynamic header: %s", strerror(-r));
		return r;
	}
	if (memcmp(h.dh_cookie, HVIS_VHD_HEADER_COOKIE, HVIS_VHD_COOKIE_LEN)) {
		errf(err, errlen, "dynamic header: no \"cxsparse\" cookie");
		return -EINVAL;
	}
	if (be32toh(h.dh_checksum) != header_csum(&h)) {
		errf(err, errlen, "dynamic header: bad checksum 0x%08" PRIx32 " (computed 0x%08" PRIx32 ")",
		     be32toh(h.dh_checksum), header_csum(&h));
		return -EINVAL;
	}
	if (HVIS_VHD_VERSION_MAJOR(be32toh(h.dh_version)) != 1) {
		errf(err, errlen, "dynamic header: unsupported version 0x%08" PRIx32,
		     be32toh(h.dh_version));
		return -EINVAL;
	}
	if (!is_no_offset(be64toh(h.dh_data_offset))) {
		errf(err, errlen, "dynamic header: unexpected next-structure offset 0x%" PRIx64,
		     be64toh(h.dh_data_offset));
		return -EINVAL;
	}
	bs = be32toh(h.dh_block_size);
	if (!is_pow2(bs) || bs < VHD_MIN_BLOCK_SIZE || bs > VHD_MAX_BLOCK_SIZE) {
		errf(err, errlen, "dynamic header: block size %" PRIu32 " is not a power of two in [%u, %u]",
		     bs, VHD_MIN_BLOCK_SIZE, VHD_MAX_BLOCK_SIZE);
		return -EINVAL;
	}
	mte = be32toh(h.dh_max_table_entries);
	nblocks = (size + bs - 1) / bs;
	if (nblocks > VHD_MAX_TABLE_ENTRIES || mte > VHD_MAX_TABLE_ENTRIES) {
		errf(err, errlen, "dynamic header: %" PRIu64 " blocks needed, %" PRIu32 " in the table; at most %u supported",
		     nblocks, mte, VHD_MAX_TABLE_ENTRIES);
		return -EINVAL;
	}
	if (mte < nblocks) {
		errf(err, errlen, "dynamic header: max_table_entries %" PRIu32 " too small for %" PRIu64 " bytes in %" PRIu32 "-byte blocks (need %" PRIu64 ")",
		     mte, size, bs, nblocks);
		return -EINVAL;
	}
	v->table_off = be64toh(h.dh_table_offset);
	bat_bytes = round_up_sector((uint64_t)mte * HVIS_VHD_BAT_ENTRY_SIZE);
	if (v->table_off % SECTOR || v->table_off > limit ||
	    limit - v->table_off < bat_bytes) {
		errf(err, errlen, "dynamic header: BAT offset 0x%" PRIx64 " (%" PRIu64 " bytes) is unaligned or outside the file",
		     v->table_off, bat_bytes);
		return -EINVAL;
	}
	if (overlaps(v->table_off, bat_bytes, 0, SECTOR) ||
	    overlaps(v->table_off, bat_bytes, hdr_off, sizeof(h))) {
		errf(err, errlen, "dynamic header: BAT at 0x%" PRIx64 " overlaps the footer copy or the header",
		     v->table_off);
		return -EINVAL;
	}

	v->info.block_size = bs;
	v->info.max_table_entries = mte;
	v->nblocks = (uint32_t)nblocks;
	v->bitmap_bytes = HVIS_VHD_BITMAP_BYTES(bs);
	v->block_sectors = bs / SECTOR;
	span = (uint64_t)v->bitmap_bytes + bs;

	raw = malloc(bat_bytes);
	sorted = malloc((size_t)mte * sizeof(*sorted) + 1);
	v->bat = malloc((size_t)v->nblocks * sizeof(*v->bat) + 1);
	v->bitmap = calloc((size_t)v->nblocks + 1, sizeof(*v->bitmap));
	if (!raw || !sorted || !v->bat || !v->bitmap) {
		errf(err, errlen, "out of memory for a %" PRIu32 "-entry BAT", mte);
		r = -ENOMEM;
		goto out;
	}
	r = read_at(v->fd, raw, bat_bytes, v->table_off);
	if (r) {
		errf(err, errlen, "cannot read the BAT: %s", strerror(-r));
		goto out;
	}

	/* Every entry in use must name a block inside the file, clear of metadata. */
	for (i = 0; i < mte; i++) {
		uint32_t e = be32toh(raw[i]);
		uint64_t start = (uint64_t)e * SECTOR;

		if (e == HVIS_VHD_BAT_UNUSED)
			continue;
		if (start > limit || limit - start < span) {
			errf(err, errlen, "BAT entry %" PRIu32 " (sector %" PRIu32 ") points past the end of the file (truncated?)",
			     i, e);
			r = -EINVAL;
			goto out;
		}
		if (overlaps(start, span, 0, SECTOR) ||
		    overlaps(start, span, hdr_off, sizeof(h)) ||
		    overlaps(start, span, v->table_off, bat_bytes)) {
			errf(err, errlen, "BAT entry %" PRIu32 " (sector %" PRIu32 ") overlaps the footer copy, the header or the BAT",
			     i, e);
			r = -EINVAL;
			goto out;
		}
		sorted[nalloc++] = e;
	}
	/* ... and no two blocks may share a byte. */
	qsort(sorted, nalloc, sizeof(*sorted), cmp_u32);
	for (i = 1; i < nalloc; i++) {
		if ((uint64_t)(sorted[i] - sorted[i - 1]) * SECTOR < span) {
			errf(err, errlen, "BAT entries at sectors %" PRIu32 " and %" PRIu32 " overlap",
			     sorted[i - 1], sorted[i]);
			r = -EINVAL;
			goto out;
		}
	}

	/* Keep the bitmaps of partially present blocks; NULL means full. */
	for (i = 0; i < v->nblocks; i++) {
		uint32_t e = be32toh(raw[i]);
		uint8_t *bm;

		v->bat[i] = e;
		if (e == HVIS_VHD_BAT_UNUSED)
			continue;
		bm = malloc(v->bitmap_bytes);
		if (!bm) {
			errf(err, errlen, "out of memory for sector bitmaps");
			r = -ENOMEM;
			goto out;
		}
		r = read_at(v->fd, bm, v->bitmap_bytes, (uint64_t)e * SECTOR);
		if (r) {
			free(bm);
			errf(err, errlen, "cannot read the sector bitmap of block %" PRIu32 ": %s",
			     i, strerror(-r));
			goto out;
		}
		if (bitmap_full(bm, block_disk_sectors(v, i))) {
			free(bm);
		} else {
			v->bitmap[i] = bm;
			npartial++;
		}
	}
	v->retired = calloc((size_t)npartial + 1, sizeof(*v->retired));
	if (!v->retired) {
		errf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	r = 0;
out:
	free(raw);
	free(sorted);
	return r;
}

int vhd_open(int fd, bool read_only, struct vhd **out, char *err,
	     size_t errlen)
{
	struct hvis_vhd_footer tail, head;
	char tail_msg[160] = "", head_msg[160] = "";
	int tail_rc, head_rc = -EINVAL, r;
	bool tail_ok, head_ok = false;
	struct stat st;
	struct vhd *v;
	uint64_t len, limit;

	*out = NULL;
	if (fstat(fd, &st)) {
		r = -errno;
		errf(err, errlen, "cannot stat the image: %s", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		errf(err, errlen, "not a regular file");
		return -EINVAL;
	}
	len = (uint64_t)st.st_size;
	if (len < SECTOR) {
		errf(err, errlen, "file too small (%" PRIu64 " bytes) for a VHD footer", len);
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->fd = fd;
	v->read_only = read_only;

	/* The trailing footer is authoritative ... */
	r = read_at(fd, &tail, sizeof(tail), len - SECTOR);
	if (r) {
		errf(err, errlen, "cannot read the footer: %s", strerror(-r));
		goto fail;
	}
	tail_rc = footer_check(&tail, tail_msg, sizeof(tail_msg));
	if (!tail_rc && len % SECTOR) {
		snprintf(tail_msg, sizeof(tail_msg),
			 "file length %" PRIu64 " is not a multiple of 512", len);
		tail_rc = -EINVAL;
	}
	tail_ok = !tail_rc;

	/* ... but a dynamic disk has a copy at 0 to recover from. */
	if (!tail_ok || be32toh(tail.vf_disk_type) == HVIS_VHD_TYPE_DYNAMIC) {
		r = read_at(fd, &head, sizeof(head), 0);
		if (r) {
			errf(err, errlen, "cannot read the footer copy: %s", strerror(-r));
			goto fail;
		}
		head_rc = footer_check(&head, head_msg, sizeof(head_msg));
		head_ok = !head_rc &&
			  be32toh(head.vf_disk_type) == HVIS_VHD_TYPE_DYNAMIC;
		if (!head_rc && !head_ok)
			snprintf(head_msg, sizeof(head_msg),
				 "not a dynamic disk's footer copy");
	}
	if (!tail_ok && !head_ok) {
		/* Say why in the terms of the footer that looks most like one. */
		if (head_rc == -ENOTSUP ||
		    (tail_rc != -ENOTSUP &&
		     !memcmp(head.vf_cookie, HVIS_VHD_FOOTER_COOKIE, HVIS_VHD_COOKIE_LEN) &&
		     memcmp(tail.vf_cookie, HVIS_VHD_FOOTER_COOKIE, HVIS_VHD_COOKIE_LEN))) {
			errf(err, errlen, "footer copy at offset 0: %s", head_msg);
			r = head_rc;
		} else {
			errf(err, errlen, "footer: %s", tail_msg);
			r = tail_rc;
		}
		goto fail;
	}
	if (tail_ok && head_ok && !footers_agree(&tail, &head)) {
		errf(err, errlen, "the footer copy at offset 0 describes another disk than the footer");
		r = -EINVAL;
		goto fail;
	}
	v->footer = tail_ok ? tail : head;
	v->info.type = (enum vhd_type)be32toh(v->footer.vf_disk_type);
	v->info.size = be64toh(v->footer.vf_current_size);
	memcpy(v->info.uuid, v->footer.vf_uuid, sizeof(v->info.uuid));
	memcpy(v->info.creator_app, v->footer.vf_creator_app, 4);
	v->info.creator_app[4] = '\0';

	if (v->info.type == VHD_TYPE_FIXED) {
		if (len - SECTOR != v->info.size) {
			errf(err, errlen, "fixed disk of %" PRIu64 " bytes in a file of %" PRIu64 " bytes (expected %" PRIu64 ")",
			     v->info.size, len, v->info.size + SECTOR);
			r = -EINVAL;
			goto fail;
		}
		*out = v;
		return 0;
	}

	limit = tail_ok ? len - SECTOR : len;
	v->footer_off = tail_ok ? len - SECTOR : round_up_sector(len);
	r = open_dynamic(v, limit, err, errlen);
	if (r)
		goto fail;
	/*
	 * The trailing footer can only be missing after someone's crash
	 * (QEMU, for one, overwrites it with a block's bitmap before writing
	 * the new one), so put it back, and likewise the copy at offset 0.
	 * Nothing in the file moves: the new trailing footer goes past its
	 * current end, where the next block would have started anyway.
	 */
	if (!read_only && (!tail_ok || !head_ok)) {
		if (!tail_ok)
			r = io_write(v, &v->footer, sizeof(v->footer), v->footer_off);
		if (!r && !head_ok)
			r = io_write(v, &v->footer, sizeof(v->footer), 0);
		if (!r)
			r = io_sync(v);
		if (r) {
			errf(err, errlen, "cannot repair the %s: %s",
			     tail_ok ? "footer copy" : "footer", strerror(-r));
			goto fail;
		}
	}
	*out = v;
	return 0;
fail:
	vhd_free(v);
	return r;
}

void vhd_close(struct vhd *v)
{
	vhd_free(v);
}

const struct vhd_info *vhd_get_info(const struct vhd *v)
{
	return &v->info;
}

/* ------------------------------------------------------------ mapping */

static bool range_ok(const struct vhd *v, uint64_t off, uint64_t len)
{
	return !(off % SECTOR) && !(len % SECTOR) && len &&
	       off < v->info.size && len <= v->info.size - off;
}

int vhd_map(const struct vhd *v, uint64_t off, uint64_t len, bool for_write,
	    uint64_t *file_off, uint64_t *run)
{
	uint64_t in, n, data;
	const uint8_t *bm;
	uint32_t idx, e, s0, ns, k;
	bool present;

	if (!range_ok(v, off, len))
		return -EINVAL;
	if (for_write && v->read_only)
		return -EROFS;
	if (v->info.type == VHD_TYPE_FIXED) {
		*file_off = off;
		*run = len;
		return VHD_MAP_DATA;
	}
	idx = (uint32_t)(off / v->info.block_size);
	in = off % v->info.block_size;
	n = v->info.block_size - in;
	if (n > len)
		n = len;

	e = __atomic_load_n(&v->bat[idx], __ATOMIC_ACQUIRE);
	if (e == HVIS_VHD_BAT_UNUSED) {
		*run = n;
		return for_write ? VHD_MAP_ALLOC : VHD_MAP_ZERO;
	}
	data = (uint64_t)e * SECTOR + v->bitmap_bytes;
	bm = __atomic_load_n(&v->bitmap[idx], __ATOMIC_ACQUIRE);
	if (!bm) {
		*file_off = data + in;
		*run = n;
		return VHD_MAP_DATA;
	}
	/* Partially present: the run of sectors whose bits equal the first's. */
	s0 = (uint32_t)(in / SECTOR);
	ns = (uint32_t)(n / SECTOR);
	present = bit_set(bm, s0);
	for (k = 1; k < ns && bit_set(bm, s0 + k) == present; k++)
		;
	*run = (uint64_t)k * SECTOR;
	if (present) {
		*file_off = data + in;
		return VHD_MAP_DATA;
	}
	return for_write ? VHD_MAP_ALLOC : VHD_MAP_ZERO;
}

/* ------------------------------------------------------------ allocation */

/* Steps 1-5 of the order in the comment at the top of this file. */
static int alloc_new_block(struct vhd *v, uint32_t idx)
{
	uint64_t f = v->footer_off;
	uint64_t f_new = f + v->bitmap_bytes + v->info.block_size;
	uint64_t bat_sector = v->table_off + ((uint64_t)idx * 4 & ~(uint64_t)(SECTOR - 1));
	uint8_t sector[SECTOR], *bitmap;
	uint32_t entry;
	__be32 be;
	int r;

	/* The entry is a u32 sector number, and UNUSED is taken. */
	if (f / SECTOR >= HVIS_VHD_BAT_UNUSED)
		return -ENOSPC;
	entry = (uint32_t)(f / SECTOR);
	bitmap = malloc(v->bitmap_bytes);
	if (!bitmap)
		return -ENOMEM;
	memset(bitmap, 0xFF, v->bitmap_bytes);

	r = io_write(v, &v->footer, sizeof(v->footer), f_new);	/* 1 */
	if (!r)
		r = io_sync(v);						/* 2 */
	if (!r)
		r = io_write(v, bitmap, v->bitmap_bytes, f);		/* 3 */
	if (!r)
		r = io_sync(v);						/* 4 */
	free(bitmap);
	if (r)
		return r;
	/* The BAT sector as it is on disk: other entries and padding kept. */
	r = read_at(v->fd, sector, sizeof(sector), bat_sector);
	if (r) {
		v->broken = true;
		return r;
	}
	be = htobe32(entry);
	memcpy(sector + ((uint64_t)idx * 4 % SECTOR), &be, sizeof(be));
	r = io_write(v, sector, sizeof(sector), bat_sector);		/* 5 */
	if (r)
		return r;
	v->footer_off = f_new;
	__atomic_store_n(&v->bat[idx], entry, __ATOMIC_RELEASE);
	return 0;
}

static int fill_partial_block(struct vhd *v, uint32_t idx, uint8_t *bm)
{
	uint64_t base = (uint64_t)v->bat[idx] * SECTOR;
	uint64_t data = base + v->bitmap_bytes;
	uint32_t nsec = block_disk_sectors(v, idx), s = 0, k;
	uint8_t *full;
	int r = 0;

	/* Zero every run of absent sectors, then make it durable ... */
	while (s < nsec && !r) {
		if (bit_set(bm, s)) {
			s++;
			continue;
		}
		for (k = s + 1; k < nsec && !bit_set(bm, k); k++)
			;
		r = io_zero(v, data + (uint64_t)s * SECTOR,
			    (uint64_t)(k - s) * SECTOR);
		s = k;
	}
	if (!r)
		r = io_sync(v);
	if (r)
		return r;
	/* ... before any bit says those sectors are present. */
	full = malloc(v->bitmap_bytes);
	if (!full)
		return -ENOMEM;
	memset(full, 0xFF, v->bitmap_bytes);
	r = io_write(v, full, v->bitmap_bytes, base);
	free(full);
	if (r)
		return r;
	v->retired[v->nretired++] = bm;
	__atomic_store_n(&v->bitmap[idx], NULL, __ATOMIC_RELEASE);
	return 0;
}

int vhd_alloc(struct vhd *v, uint64_t off)
{
	uint32_t idx;
	uint8_t *bm;

	if (off >= v->info.size)
		return -EINVAL;
	if (v->read_only)
		return -EROFS;
	if (v->info.type == VHD_TYPE_FIXED)
		return 0;
	if (v->broken)
		return -EIO;
	idx = (uint32_t)(off / v->info.block_size);
	/* We are the only writer of these: plain loads would do. */
	if (v->bat[idx] == HVIS_VHD_BAT_UNUSED)
		return alloc_new_block(v, idx);
	bm = v->bitmap[idx];
	return bm ? fill_partial_block(v, idx, bm) : 0;
}

int vhd_discard(struct vhd *v, uint64_t off, uint64_t len)
{
	if (!range_ok(v, off, len))
		return -EINVAL;
	if (v->read_only)
		return -EROFS;
	if (v->info.type == VHD_TYPE_FIXED)
		goto punch_fixed;
	while (len) {
		uint32_t idx = (uint32_t)(off / v->info.block_size);
		uint64_t in = off % v->info.block_size;
		uint64_t n = v->info.block_size - in;
		uint32_t e = __atomic_load_n(&v->bat[idx], __ATOMIC_ACQUIRE);

		if (n > len)
			n = len;
		/*
		 * Absent sectors of a partial block read zeros already;
		 * punching them as well is harmless and keeps this simple.
		 */
		if (e != HVIS_VHD_BAT_UNUSED &&
		    fallocate(v->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)((uint64_t)e * SECTOR + v->bitmap_bytes + in),
			      (off_t)n))
			return -errno;
		off += n;
		len -= n;
	}
	return 0;
punch_fixed:
	if (fallocate(v->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len))
		return -errno;
	return 0;
}

/* ------------------------------------------------------------ creation */

static void make_footer(struct hvis_vhd_footer *f, uint64_t size,
			enum vhd_type type, uint16_t cyl, uint8_t heads,
			uint8_t spt)
{
	time_t now = time(NULL);

	memset(f, 0, sizeof(*f));
	memcpy(f->vf_cookie, HVIS_VHD_FOOTER_COOKIE, HVIS_VHD_COOKIE_LEN);
	f->vf_features = htobe32(HVIS_VHD_FEATURE_RESERVED);
	f->vf_version = htobe32(HVIS_VHD_VERSION_1_0);
	f->vf_data_offset = htobe64(type == VHD_TYPE_DYNAMIC ? SECTOR :
				    HVIS_VHD_NO_OFFSET);
	f->vf_timestamp = htobe32(now > HVIS_VHD_EPOCH_UNIX ?
				  (uint32_t)(now - HVIS_VHD_EPOCH_UNIX) : 0);
	memcpy(f->vf_creator_app, CREATOR_APP, 4);
	f->vf_creator_version = htobe32(CREATOR_VERSION);
	/*
	 * The specification defines only "Wi2k" and "Mac "; Hyper-V (whose
	 * host we stand in for) and QEMU write "Wi2k", and a value readers
	 * do not know helps nobody.
	 */
	f->vf_creator_os = htobe32(HVIS_VHD_OS_WINDOWS);
	f->vf_original_size = htobe64(size);
	f->vf_current_size = htobe64(size);
	f->vf_cylinders = htobe16(cyl);
	f->vf_heads = heads;
	f->vf_sectors_per_track = spt;
	f->vf_disk_type = htobe32((uint32_t)type);
	/* A random (version 4) UUID; without one, fall back on the time. */
	if (getrandom(f->vf_uuid, sizeof(f->vf_uuid), 0) != sizeof(f->vf_uuid)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(f->vf_uuid, &ts, sizeof(ts) < 16 ? sizeof(ts) : 16);
	}
	f->vf_uuid[6] = (f->vf_uuid[6] & 0x0F) | 0x40;
	f->vf_uuid[8] = (f->vf_uuid[8] & 0x3F) | 0x80;
	f->vf_checksum = htobe32(footer_csum(f));
}

/* Write a complete image into the empty file @fd and make it durable. */
static int write_image(int fd, const struct hvis_vhd_footer *f,
		       uint64_t size, uint32_t bs, uint32_t nblocks)
{
	struct hvis_vhd_dyn_header h;
	uint64_t bat_bytes, off;
	uint8_t *ff;
	int r;

	if (be32toh(f->vf_disk_type) == VHD_TYPE_FIXED) {
		/* Sparse: the data reads zeros; preallocating is the caller's call. */
		if (ftruncate(fd, (off_t)size))
			return -errno;
		r = write_at(fd, f, sizeof(*f), size);
		return r ? r : fdatasync_eintr(fd);
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.dh_cookie, HVIS_VHD_HEADER_COOKIE, HVIS_VHD_COOKIE_LEN);
	h.dh_data_offset = htobe64(HVIS_VHD_NO_OFFSET);
	h.dh_table_offset = htobe64(3 * SECTOR);
	h.dh_version = htobe32(HVIS_VHD_VERSION_1_0);
	h.dh_max_table_entries = htobe32(nblocks);
	h.dh_block_size = htobe32(bs);
	h.dh_checksum = htobe32(header_csum(&h));

	bat_bytes = round_up_sector((uint64_t)nblocks * HVIS_VHD_BAT_ENTRY_SIZE);
	ff = malloc(sizeof(zero_chunk));
	if (!ff)
		return -ENOMEM;
	memset(ff, 0xFF, sizeof(zero_chunk));
	r = write_at(fd, f, sizeof(*f), 0);
	if (!r)
		r = write_at(fd, &h, sizeof(h), SECTOR);
	for (off = 0; !r && off < bat_bytes; off += sizeof(zero_chunk)) {
		uint64_t n = bat_bytes - off;

		r = write_at(fd, ff, n < sizeof(zero_chunk) ? n : sizeof(zero_chunk),
			     3 * SECTOR + off);
	}
	free(ff);
	if (!r)
		r = write_at(fd, f, sizeof(*f), 3 * SECTOR + bat_bytes);
	return r ? r : fdatasync_eintr(fd);
}

static void fsync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

int vhd_create(const char *path, uint64_t size, enum vhd_type type,
	       uint32_t block_size, char *err, size_t errlen)
{
	struct hvis_vhd_footer f;
	uint64_t sectors, nblocks = 0;
	char dir[4096], proc[64];
	uint16_t cyl;
	uint8_t heads, spt;
	const char *slash;
	int fd, r;

	if (type != VHD_TYPE_FIXED && type != VHD_TYPE_DYNAMIC) {
		errf(err, errlen, "can create fixed (2) and dynamic (3) disks, not type %d",
		     (int)type);
		return -EINVAL;
	}
	sectors = create_sectors(size, &cyl, &heads, &spt);
	if (!sectors) {
		errf(err, errlen, "disk size %" PRIu64 " is not in 1 .. 2040 GiB", size);
		return size ? -EFBIG : -EINVAL;
	}
	if (type == VHD_TYPE_DYNAMIC) {
		if (!block_size)
			block_size = VHD_DEFAULT_BLOCK_SIZE;
		if (!is_pow2(block_size) || block_size < VHD_MIN_BLOCK_SIZE ||
		    block_size > VHD_MAX_BLOCK_SIZE) {
			errf(err, errlen, "block size %" PRIu32 " is not a power of two in [%u, %u]",
			     block_size, VHD_MIN_BLOCK_SIZE, VHD_MAX_BLOCK_SIZE);
			return -EINVAL;
		}
		nblocks = (sectors * SECTOR + block_size - 1) / block_size;
		if (nblocks > VHD_MAX_TABLE_ENTRIES) {
			errf(err, errlen, "%" PRIu64 " blocks of %" PRIu32 " bytes are too many (at most %u)",
			     nblocks, block_size, VHD_MAX_TABLE_ENTRIES);
			return -EFBIG;
		}
	}
	make_footer(&f, sectors * SECTOR, type, cyl, heads, spt);

	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);

	/*
	 * Build the image as an unnamed file and link it in only when it is
	 * complete and durable, so that a crash never leaves half an image
	 * under @path. Without O_TMPFILE (or /proc) create it in place.
	 */
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		r = write_image(fd, &f, sectors * SECTOR, block_size,
				(uint32_t)nblocks);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (!r && linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW))
			r = -errno;
		close(fd);
		if (!r) {
			fsync_dir(dir);
			return 0;
		}
		if (r != -ENOENT) {
			errf(err, errlen, "cannot create %s: %s", path, strerror(-r));
			return r;
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		errf(err, errlen, "cannot create %s: %s", path, strerror(-r));
		return r;
	}
	r = write_image(fd, &f, sectors * SECTOR, block_size, (uint32_t)nblocks);
	close(fd);
	if (r) {
		unlink(path);
		errf(err, errlen, "cannot write %s: %s", path, strerror(-r));
		return r;
	}
	fsync_dir(dir);
	return 0;
}
