/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * VHD image library for storvsp: create, open (strictly validated: a VHD
 * file is hostile input), map virtual-disk ranges to file offsets, and
 * allocate dynamic-disk blocks crash-safely. Fixed and dynamic disks;
 * differencing disks are refused.
 *
 * Synchronous, on a plain file descriptor, no threads of its own. Data I/O
 * (pread/pwrite at the offsets vhd_map() returns) is the caller's.
 *
 * Concurrency: vhd_map() and vhd_get_info() may run on one thread while
 * ONE vhd_alloc() or vhd_discard() at a time runs on another. vhd_map()
 * sees each block either before or after a concurrent vhd_alloc()
 * published it, never half-way. vhd_open()/vhd_close() exclude all else.
 *
 * Images we create name creator application "hvis" (version 1.0) and host
 * OS "Wi2k"; see vhd_create_size() for the sizes they get.
 */
#ifndef HVIS_STORAGE_VHD_H
#define HVIS_STORAGE_VHD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vhd_type {
	VHD_TYPE_FIXED = 2,
	VHD_TYPE_DYNAMIC = 3,
	/* differencing (4): refused by vhd_open() with a clear message */
};

struct vhd_info {
	enum vhd_type type;
	uint64_t size;			/* virtual disk bytes: the footer's current_size */
	uint32_t block_size;		/* dynamic: data bytes per block; fixed: 0 */
	uint32_t max_table_entries;	/* dynamic: BAT entries; fixed: 0 */
	uint8_t uuid[16];
	char creator_app[5];		/* NUL-terminated */
};

/* vhd_map() results (positive: negative values are -errno). */
enum vhd_map_state {
	VHD_MAP_DATA = 1,		/* in the file at *file_off */
	VHD_MAP_ZERO = 2,		/* reads as zeros */
	VHD_MAP_ALLOC = 3,		/* for_write only: vhd_alloc() first */
};

#define VHD_SECTOR_SIZE		512u
#define VHD_DEFAULT_BLOCK_SIZE	(2u << 20)
/* Block sizes we accept and create: powers of two in this range. */
#define VHD_MIN_BLOCK_SIZE	(4u << 10)
#define VHD_MAX_BLOCK_SIZE	(256u << 20)
/*
 * At most this many BAT entries (48 MiB of in-memory state): enough for
 * the largest VHD in 512 KiB blocks, and a bound on what a hostile header
 * can make us allocate.
 */
#define VHD_MAX_TABLE_ENTRIES	(1u << 22)
/* The largest VHD: 2040 GiB (Microsoft's limit; QEMU refuses larger). */
#define VHD_MAX_SIZE		(0xFF000000ull * 512)

struct vhd;

/*
 * The virtual size vhd_create() gives a disk asked to be @size bytes: @size
 * rounded up to a sector, then up to the next size the specification's CHS
 * geometry covers exactly, unless that takes the maximum geometry (disks
 * from about 127.5 GiB): those keep the sector-rounded size. Either way
 * QEMU (which believes CHS for creator "hvis", current_size with the
 * maximum geometry) and Hyper-V (current_size) see the size we report.
 * 0 if the result would be 0 or exceed VHD_MAX_SIZE.
 */
uint64_t vhd_create_size(uint64_t size);

/*
 * Create a new image at @path (never overwriting: -EEXIST if it exists),
 * of vhd_create_size(@size) bytes; @block_size 0 means 2 MiB (dynamic only,
 * ignored for fixed). Fixed disks are created sparse. The file appears
 * complete or not at all, and is durable when this returns 0. Returns 0
 * or -errno with a message in @err.
 */
int vhd_create(const char *path, uint64_t size, enum vhd_type type,
	       uint32_t block_size, char *err, size_t errlen);

/*
 * Open the image in @fd (which stays the caller's, and must stay open
 * until vhd_close()). Every field is checked; a bad file gets -EINVAL (or
 * -ENOTSUP for differencing disks, -EFBIG beyond VHD_MAX_SIZE) and a
 * message in @err. A dynamic disk whose trailing footer is missing or
 * damaged (a crash of another tool, or a lost extending write) is opened
 * from its footer copy at offset 0; opened writable, the trailing footer
 * (and likewise a damaged copy at 0) is rewritten.
 */
int vhd_open(int fd, bool read_only, struct vhd **out, char *err,
	     size_t errlen);
void vhd_close(struct vhd *v);
const struct vhd_info *vhd_get_info(const struct vhd *v);

/*
 * Where does [off, off+len) of the virtual disk live? Returns the state of
 * the longest prefix that is in one state (enum vhd_map_state) and its
 * length in *run (<= len, never crossing a block boundary for dynamic
 * disks):
 *   VHD_MAP_DATA: in the file at *file_off (fixed: off itself);
 *   VHD_MAP_ZERO: reads as zeros (unallocated block, or sector bitmap bit
 *                 clear);
 *   VHD_MAP_ALLOC (only when for_write): the range cannot be written in
 *                 place yet; call vhd_alloc() for it first.
 * off/len are multiples of 512, len > 0, inside the disk: -EINVAL
 * otherwise. for_write on a read-only image: -EROFS.
 */
int vhd_map(const struct vhd *v, uint64_t off, uint64_t len, bool for_write,
	    uint64_t *file_off, uint64_t *run);

/*
 * Make the block holding @off fully present (allocated, every sector
 * bitmap bit set, sectors that were not present zeroed), crash-safely.
 * Idempotent; a no-op on fixed disks. 0 or -errno (-EROFS read-only,
 * -EINVAL outside the disk, -ENOSPC when the file cannot grow further
 * within the format). After a failed write or flush the image refuses
 * further allocation (-EIO): what reached the disk is unknown; reopen it.
 */
int vhd_alloc(struct vhd *v, uint64_t off);

/*
 * Make [off, off+len) read as zeros by punching holes in the file where
 * the range is present (fixed: the range itself; dynamic: the present
 * parts of allocated blocks). Leaves BAT and bitmaps alone. 0, or -errno
 * (-EOPNOTSUPP when the file system cannot punch holes).
 */
int vhd_discard(struct vhd *v, uint64_t off, uint64_t len);

/*
 * TEST HOOK, compiled in always, NULL in production: when set, called
 * before every write, zeroing and flush that vhd_alloc() (and the repairs
 * of a writable vhd_open()) issue to the file. A non-zero return skips that
 * operation and everything after it, as if the process died there (the
 * call fails with -EIO). For ZERO, @buf is NULL and [off, off+len) is to
 * read as zeros afterwards. Lets tests stop an allocation after any step
 * and record the writes between flushes to replay power losses.
 */
enum vhd_test_op {
	VHD_TEST_WRITE,
	VHD_TEST_ZERO,
	VHD_TEST_SYNC,
};
extern int (*vhd_test_hook)(enum vhd_test_op op, const void *buf,
			    size_t len, uint64_t off);

#endif /* HVIS_STORAGE_VHD_H */
