// SPDX-License-Identifier: GPL-2.0-only
/*
 * VHD library tests (host-vsp/storage/vhd.c), in a temporary directory
 * under /tmp: create/open round trips, mapping before and after
 * allocation, partially present blocks, discard, a table of corrupt
 * files, crash simulation (a process dying after every step of an
 * allocation, every power-loss outcome of its writes, and a real kill -9
 * in the middle of a write loop), and interoperability with qemu-img when
 * it is installed (sizes, data through "qemu-img convert/compare", QEMU
 * writing into our images with qemu-io).
 *
 * qemu-img 7.2 has no consistency check for vpc ("qemu-img check" exits
 * 63: "This image format does not support checks"), so QEMU's verdict is
 * taken from "qemu-img info" (it opens the image and validates footer,
 * header and BAT bounds) and from "qemu-img compare" against a raw file
 * holding the expected contents. Every image is also reopened with our
 * own, stricter vhd_open(). QEMU does not probe fixed VHDs as vpc (only
 * a footer copy at offset 0 is recognised), hence "-f vpc" everywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <endian.h>
#include <CUnit/CUnit.h>

#include <hvis/vhd.h>
#include "host-vsp/storage/vhd.h"
#include "unit.h"

#define SZ_K		1024ull
#define SZ_M		(1024ull * 1024)
#define SZ_G		(1024ull * 1024 * 1024)

/* ------------------------------------------------------------ helpers */

static char tmpdir[64];

static void tp(char *buf, size_t len, const char *name)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/hvis-vhd-XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
	}
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

#define TP(var, name) char var[160]; tp(var, sizeof(var), name)

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st < 0 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static bool have_qemu(void)
{
	static int have = -1;

	if (have < 0)
		have = sh("qemu-img --version >/dev/null 2>&1") == 0;
	return have;
}

static bool have_qemu_io(void)
{
	return sh("qemu-io --version >/dev/null 2>&1") == 0;
}

/* The virtual size "qemu-img info" reports, or -1 if it refuses the image. */
static int64_t qemu_size(const char *path)
{
	char cmd[512], out[4096];
	const char *p;
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "qemu-img info -f vpc --output=json '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	if (pclose(f))
		return -1;
	p = strstr(out, "\"virtual-size\":");
	return p ? strtoll(p + 15, NULL, 10) : -1;
}

/*
 * "qemu-img check": 63 is "this image format does not support checks"
 * (vpc in QEMU 7.2); should a later QEMU check vpc, it must find nothing.
 */
static bool qemu_check_ok(const char *path)
{
	int rc = sh("qemu-img check -q -f vpc '%s' 2>/dev/null", path);

	return rc == 0 || rc == 63;
}

/* Does QEMU read exactly @raw's bytes out of the VHD at @path? */
static bool qemu_same(const char *path, const char *raw)
{
	return sh("qemu-img compare -q -f vpc -F raw '%s' '%s'", path, raw) == 0;
}

static void pattern(uint8_t *buf, uint64_t off, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		buf[i] = (uint8_t)((o / 512) * 131u + (o % 512) * 7u + seed * 29u + 1);
	}
}

static int open_vhd(const char *path, bool ro, struct vhd **v, int *fd)
{
	char err[256] = "";
	int r;

	*fd = open(path, ro ? O_RDONLY : O_RDWR);
	if (*fd < 0)
		return -errno;
	r = vhd_open(*fd, ro, v, err, sizeof(err));
	if (r) {
		fprintf(stderr, "vhd_open %s: %s\n", path, err);
		close(*fd);
	}
	return r;
}

static void close_vhd(struct vhd *v, int fd)
{
	vhd_close(v);
	close(fd);
}

/* Write through the library as storvsp will: map, alloc when asked, pwrite. */
static int disk_write(struct vhd *v, int fd, uint64_t off, const uint8_t *buf,
		      uint64_t len)
{
	while (len) {
		uint64_t fo = 0, run = 0;
		int st = vhd_map(v, off, len, true, &fo, &run);

		if (st < 0)
			return st;
		if (st == VHD_MAP_ALLOC) {
			int r = vhd_alloc(v, off);

			if (r)
				return r;
			continue;
		}
		if (st != VHD_MAP_DATA || run == 0 || run > len)
			return -EPROTO;
		if (pwrite(fd, buf, run, (off_t)fo) != (ssize_t)run)
			return -EIO;
		off += run;
		buf += run;
		len -= run;
	}
	return 0;
}

static int disk_read(const struct vhd *v, int fd, uint64_t off, uint8_t *buf,
		     uint64_t len)
{
	while (len) {
		uint64_t fo = 0, run = 0;
		int st = vhd_map(v, off, len, false, &fo, &run);

		if (st < 0)
			return st;
		if (run == 0 || run > len)
			return -EPROTO;
		if (st == VHD_MAP_ZERO)
			memset(buf, 0, run);
		else if (st != VHD_MAP_DATA ||
			 pread(fd, buf, run, (off_t)fo) != (ssize_t)run)
			return -EIO;
		off += run;
		buf += run;
		len -= run;
	}
	return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	buf = malloc(*len + 1);
	if (buf && pread(fd, buf, *len, 0) != (ssize_t)*len) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

static int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (len && pwrite(fd, buf, len, 0) != (ssize_t)len)
		r = -EIO;
	close(fd);
	return r;
}

/* Read the whole disk through the library and compare with @expect. */
static bool disk_equals(const char *path, const uint8_t *expect, uint64_t size)
{
	uint8_t *got = malloc(size);
	struct vhd *v;
	bool same = false;
	int fd;

	if (got && !open_vhd(path, true, &v, &fd)) {
		same = vhd_get_info(v)->size == size &&
		       !disk_read(v, fd, 0, got, size) &&
		       !memcmp(got, expect, size);
		close_vhd(v, fd);
	}
	free(got);
	return same;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

/* ------------------------------------------------------------ sizes */

static void test_create_size(void)
{
	/* QEMU's default rounding, as "qemu-img create -f vpc" reports it. */
	CU_ASSERT_EQUAL(vhd_create_size(1 * SZ_M), 1079296);
	CU_ASSERT_EQUAL(vhd_create_size(64 * SZ_M), 67125248);
	CU_ASSERT_EQUAL(vhd_create_size(1 * SZ_G), 1073995776);
	CU_ASSERT_EQUAL(vhd_create_size(10 * SZ_G), 10737893376ull);
	/* CHS-exact sizes stay; so do sizes needing the maximum geometry. */
	CU_ASSERT_EQUAL(vhd_create_size(1079296), 1079296);
	CU_ASSERT_EQUAL(vhd_create_size(1073995776), 1073995776);
	CU_ASSERT_EQUAL(vhd_create_size(200 * SZ_G), 200 * SZ_G);
	CU_ASSERT_EQUAL(vhd_create_size(136899000000ull), 136899000320ull);
	CU_ASSERT_EQUAL(vhd_create_size(HVIS_VHD_CHS_MAX_SECTORS * 512),
			HVIS_VHD_CHS_MAX_SECTORS * 512);
	CU_ASSERT_EQUAL(vhd_create_size(VHD_MAX_SIZE), VHD_MAX_SIZE);
	CU_ASSERT_EQUAL(vhd_create_size(1), 34816);	/* 4 x 17 x 1 x ... */
	CU_ASSERT_EQUAL(vhd_create_size(0), 0);
	CU_ASSERT_EQUAL(vhd_create_size(VHD_MAX_SIZE + 1), 0);
	CU_ASSERT_EQUAL(vhd_create_size(UINT64_MAX), 0);
	/* Never smaller than asked, never more than a cylinder larger. */
	for (uint64_t s = 512; s < 600 * SZ_M; s = s * 3 + 512) {
		uint64_t c = vhd_create_size(s);

		CU_ASSERT(c >= s && c - s < 16 * 255 * 512 + 512);
		CU_ASSERT_EQUAL(vhd_create_size(c), c);
	}
}

/* ------------------------------------------------------------ round trips */

static void test_fixed_round_trip(void)
{
	TP(path, "fixed.vhd");
	uint8_t buf[4096], back[4096];
	uint64_t fo, run, size = vhd_create_size(1 * SZ_M);
	const struct vhd_info *info;
	char err[256];
	struct vhd *v;
	int fd;

	CU_ASSERT_EQUAL_FATAL(vhd_create(path, 1 * SZ_M, VHD_TYPE_FIXED, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vhd_create(path, 1 * SZ_M, VHD_TYPE_FIXED, 0, err, sizeof(err)), -EEXIST);
	CU_ASSERT_EQUAL(file_size(path), size + 512);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	info = vhd_get_info(v);
	CU_ASSERT_EQUAL(info->type, VHD_TYPE_FIXED);
	CU_ASSERT_EQUAL(info->size, size);
	CU_ASSERT_EQUAL(info->block_size, 0);
	CU_ASSERT_STRING_EQUAL(info->creator_app, "hvis");
	CU_ASSERT_EQUAL(info->uuid[6] >> 4, 4);

	CU_ASSERT_EQUAL(vhd_map(v, 4096, size - 4096, true, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(fo, 4096);
	CU_ASSERT_EQUAL(run, size - 4096);
	CU_ASSERT_EQUAL(vhd_alloc(v, 0), 0);
	CU_ASSERT_EQUAL(vhd_map(v, 1, 512, false, &fo, &run), -EINVAL);
	CU_ASSERT_EQUAL(vhd_map(v, 0, 511, false, &fo, &run), -EINVAL);
	CU_ASSERT_EQUAL(vhd_map(v, 0, 0, false, &fo, &run), -EINVAL);
	CU_ASSERT_EQUAL(vhd_map(v, size, 512, false, &fo, &run), -EINVAL);
	CU_ASSERT_EQUAL(vhd_map(v, 512, size, false, &fo, &run), -EINVAL);
	CU_ASSERT_EQUAL(vhd_map(v, 512, UINT64_MAX - 511, false, &fo, &run), -EINVAL);
	CU_ASSERT_EQUAL(vhd_alloc(v, size), -EINVAL);

	pattern(buf, 8192, sizeof(buf), 1);
	CU_ASSERT_EQUAL(disk_write(v, fd, 8192, buf, sizeof(buf)), 0);
	close_vhd(v, fd);

	CU_ASSERT_EQUAL_FATAL(open_vhd(path, true, &v, &fd), 0);
	CU_ASSERT_EQUAL(vhd_map(v, 0, 512, true, &fo, &run), -EROFS);
	CU_ASSERT_EQUAL(vhd_alloc(v, 0), -EROFS);
	CU_ASSERT_EQUAL(disk_read(v, fd, 8192, back, sizeof(back)), 0);
	CU_ASSERT(!memcmp(buf, back, sizeof(buf)));
	close_vhd(v, fd);
	CU_ASSERT_EQUAL(file_size(path), size + 512);
	unlink(path);
}

static void test_dynamic_round_trip(void)
{
	TP(path, "dyn.vhd");
	const uint64_t bs = 2 * SZ_M, size = vhd_create_size(64 * SZ_M);
	uint64_t fo, fo2, run, len0;
	uint8_t *buf = malloc(bs), *back = malloc(bs);
	const struct vhd_info *info;
	char err[256];
	struct vhd *v;
	int fd;

	CU_ASSERT_EQUAL_FATAL(vhd_create(path, 64 * SZ_M, VHD_TYPE_DYNAMIC, 0, err, sizeof(err)), 0);
	len0 = file_size(path);
	CU_ASSERT_EQUAL(len0, 1536 + 512 + 512);	/* 33 entries: one BAT sector */
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	info = vhd_get_info(v);
	CU_ASSERT_EQUAL(info->type, VHD_TYPE_DYNAMIC);
	CU_ASSERT_EQUAL(info->size, size);
	CU_ASSERT_EQUAL(info->block_size, bs);
	CU_ASSERT_EQUAL(info->max_table_entries, (size + bs - 1) / bs);
	CU_ASSERT_STRING_EQUAL(info->creator_app, "hvis");

	/* Unallocated: zeros to read, ALLOC to write, runs end at the block. */
	CU_ASSERT_EQUAL(vhd_map(v, 0, size, false, &fo, &run), VHD_MAP_ZERO);
	CU_ASSERT_EQUAL(run, bs);
	CU_ASSERT_EQUAL(vhd_map(v, bs + 4096, bs, false, &fo, &run), VHD_MAP_ZERO);
	CU_ASSERT_EQUAL(run, bs - 4096);
	CU_ASSERT_EQUAL(vhd_map(v, bs + 4096, 1024, true, &fo, &run), VHD_MAP_ALLOC);
	CU_ASSERT_EQUAL(run, 1024);
	/* The last block is short: the disk is not a multiple of 2 MiB. */
	CU_ASSERT_EQUAL(vhd_map(v, size - 512, 512, false, &fo, &run), VHD_MAP_ZERO);
	CU_ASSERT_EQUAL(run, 512);

	CU_ASSERT_EQUAL(vhd_alloc(v, bs + 4096), 0);
	CU_ASSERT_EQUAL(file_size(path), len0 + 512 + bs);
	CU_ASSERT_EQUAL(vhd_map(v, bs + 4096, bs, true, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(run, bs - 4096);
	CU_ASSERT_EQUAL(fo, len0 - 512 + 512 + 4096);	/* old footer spot + bitmap */
	CU_ASSERT_EQUAL(vhd_map(v, bs, 512, false, &fo2, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(fo2 + 4096, fo);
	/* Idempotent; the neighbours stay unallocated. */
	CU_ASSERT_EQUAL(vhd_alloc(v, bs), 0);
	CU_ASSERT_EQUAL(vhd_alloc(v, 2 * bs - 512), 0);
	CU_ASSERT_EQUAL(file_size(path), len0 + 512 + bs);
	CU_ASSERT_EQUAL(vhd_map(v, 0, 512, false, &fo, &run), VHD_MAP_ZERO);
	CU_ASSERT_EQUAL(vhd_map(v, 2 * bs, 512, false, &fo, &run), VHD_MAP_ZERO);
	/* A new block reads zeros. */
	CU_ASSERT_EQUAL(disk_read(v, fd, bs, back, bs), 0);
	memset(buf, 0, bs);
	CU_ASSERT(!memcmp(buf, back, bs));

	pattern(buf, bs, bs, 2);
	CU_ASSERT_EQUAL(disk_write(v, fd, bs, buf, bs), 0);
	pattern(buf, size - 4096, 4096, 3);
	CU_ASSERT_EQUAL(disk_write(v, fd, size - 4096, buf, 4096), 0);
	CU_ASSERT_EQUAL(fdatasync(fd), 0);
	close_vhd(v, fd);

	CU_ASSERT_EQUAL_FATAL(open_vhd(path, true, &v, &fd), 0);
	CU_ASSERT_EQUAL(vhd_map(v, bs, 512, false, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(fo, fo2);
	CU_ASSERT_EQUAL(disk_read(v, fd, bs, back, bs), 0);
	pattern(buf, bs, bs, 2);
	CU_ASSERT(!memcmp(buf, back, bs));
	CU_ASSERT_EQUAL(disk_read(v, fd, size - 4096, back, 4096), 0);
	pattern(buf, size - 4096, 4096, 3);
	CU_ASSERT(!memcmp(buf, back, 4096));
	close_vhd(v, fd);

	/* Small blocks, and the block size limits. */
	CU_ASSERT_EQUAL(vhd_create(path, SZ_M, VHD_TYPE_DYNAMIC, 0, err, sizeof(err)), -EEXIST);
	unlink(path);
	CU_ASSERT_EQUAL(vhd_create(path, SZ_M, VHD_TYPE_DYNAMIC, 2048, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(vhd_create(path, SZ_M, VHD_TYPE_DYNAMIC, 3 * 4096, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(vhd_create(path, SZ_M, (enum vhd_type)4, 0, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(vhd_create(path, 0, VHD_TYPE_DYNAMIC, 0, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(vhd_create(path, 4 * SZ_G, VHD_TYPE_DYNAMIC, 512, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(vhd_create(path, 64 * SZ_G, VHD_TYPE_DYNAMIC, 4096, err, sizeof(err)), -EFBIG);
	CU_ASSERT_EQUAL_FATAL(vhd_create(path, SZ_M, VHD_TYPE_DYNAMIC, 4096, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	CU_ASSERT_EQUAL(vhd_get_info(v)->block_size, 4096);
	CU_ASSERT_EQUAL(vhd_map(v, 4096 - 512, 8192, false, &fo, &run), VHD_MAP_ZERO);
	CU_ASSERT_EQUAL(run, 512);
	pattern(buf, 2048, 3 * 4096, 4);
	CU_ASSERT_EQUAL(disk_write(v, fd, 2048, buf, 3 * 4096), 0);
	CU_ASSERT_EQUAL(vhd_map(v, 2048, 3 * 4096, false, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(run, 2048);
	CU_ASSERT_EQUAL(disk_read(v, fd, 2048, back, 3 * 4096), 0);
	CU_ASSERT(!memcmp(buf, back, 3 * 4096));
	close_vhd(v, fd);
	unlink(path);
	free(buf);
	free(back);
}

/* ------------------------------------------------------------ partial */

/* Offset of the sector bitmap of block @idx, from the BAT at 1536. */
static uint64_t bitmap_off(const char *path, uint32_t idx)
{
	__be32 e;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, &e, 4, 1536 + 4 * idx) != 4)
		e = htobe32(HVIS_VHD_BAT_UNUSED);
	if (fd >= 0)
		close(fd);
	return (uint64_t)be32toh(e) * 512;
}

static void test_partial_block(void)
{
	TP(path, "partial.vhd");
	const uint64_t bs = 64 * SZ_K, blk = 3 * bs;
	uint8_t *buf = malloc(bs), *back = malloc(bs), *junk = malloc(bs);
	uint8_t bm[512];
	uint64_t fo, run, bmo, len;
	char err[256];
	struct vhd *v;
	int fd;

	CU_ASSERT_EQUAL_FATAL(vhd_create(path, 4 * SZ_M, VHD_TYPE_DYNAMIC, bs, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	pattern(buf, blk, bs, 5);
	CU_ASSERT_EQUAL(disk_write(v, fd, blk, buf, bs), 0);
	close_vhd(v, fd);

	/*
	 * Craft what Hyper-V writes: sectors 3..7 and 100 absent (bits
	 * clear), with junk in their data that must never show.
	 */
	bmo = bitmap_off(path, 3);
	CU_ASSERT_FATAL(bmo > 0);
	memset(bm, 0xFF, sizeof(bm));
	bm[0] = 0xE0;			/* sectors 0-2 present, 3-7 absent */
	bm[100 / 8] &= (uint8_t)~HVIS_VHD_BITMAP_MASK(100);
	memset(junk, 0xA5, bs);
	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, bm, sizeof(bm), (off_t)bmo), 512);
	CU_ASSERT_EQUAL(pwrite(fd, junk, 5 * 512, (off_t)(bmo + 512 + 3 * 512)), 5 * 512);
	CU_ASSERT_EQUAL(pwrite(fd, junk, 512, (off_t)(bmo + 512 + 100 * 512)), 512);
	close(fd);
	len = file_size(path);

	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	CU_ASSERT_EQUAL(vhd_map(v, blk, bs, false, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(run, 3 * 512);
	CU_ASSERT_EQUAL(fo, bmo + 512);
	CU_ASSERT_EQUAL(vhd_map(v, blk + 1024, bs - 1024, false, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(run, 512);
	CU_ASSERT_EQUAL(vhd_map(v, blk + 3 * 512, bs - 3 * 512, false, &fo, &run), VHD_MAP_ZERO);
	CU_ASSERT_EQUAL(run, 5 * 512);
	CU_ASSERT_EQUAL(vhd_map(v, blk + 3 * 512, bs - 3 * 512, true, &fo, &run), VHD_MAP_ALLOC);
	CU_ASSERT_EQUAL(run, 5 * 512);
	CU_ASSERT_EQUAL(vhd_map(v, blk + 8 * 512, bs - 8 * 512, true, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(run, 92 * 512);
	CU_ASSERT_EQUAL(vhd_map(v, blk + 100 * 512, 512, false, &fo, &run), VHD_MAP_ZERO);
	CU_ASSERT_EQUAL(vhd_map(v, blk + 101 * 512, bs - 101 * 512, false, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(run, bs - 101 * 512);
	/* What the guest reads: the pattern, zeros where absent. */
	pattern(buf, blk, bs, 5);
	memset(buf + 3 * 512, 0, 5 * 512);
	memset(buf + 100 * 512, 0, 512);
	CU_ASSERT_EQUAL(disk_read(v, fd, blk, back, bs), 0);
	CU_ASSERT(!memcmp(buf, back, bs));

	/* Filling it in: same contents, all present, no growth. */
	CU_ASSERT_EQUAL(vhd_alloc(v, blk + 5 * 512), 0);
	CU_ASSERT_EQUAL(vhd_map(v, blk, bs, true, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(run, bs);
	CU_ASSERT_EQUAL(pread(fd, back, bs, (off_t)(bmo + 512)), (ssize_t)bs);
	CU_ASSERT(!memcmp(buf, back, bs));
	CU_ASSERT_EQUAL(pread(fd, bm, sizeof(bm), (off_t)bmo), 512);
	CU_ASSERT_EQUAL(bm[0], 0xFF);
	CU_ASSERT_EQUAL(bm[100 / 8], 0xFF);
	CU_ASSERT_EQUAL(vhd_alloc(v, blk), 0);
	CU_ASSERT_EQUAL(file_size(path), len);
	close_vhd(v, fd);

	CU_ASSERT_EQUAL_FATAL(open_vhd(path, true, &v, &fd), 0);
	CU_ASSERT_EQUAL(vhd_map(v, blk, bs, false, &fo, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(run, bs);
	close_vhd(v, fd);
	unlink(path);
	free(buf);
	free(back);
	free(junk);
}

static void test_discard(void)
{
	TP(path, "discard.vhd");
	const uint64_t bs = 64 * SZ_K;
	uint8_t *buf = malloc(2 * bs), *back = malloc(2 * bs);
	char err[256];
	struct vhd *v;
	int fd;

	for (int type = VHD_TYPE_FIXED; type <= VHD_TYPE_DYNAMIC; type++) {
		CU_ASSERT_EQUAL_FATAL(vhd_create(path, 4 * SZ_M, (enum vhd_type)type, bs, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
		pattern(buf, bs, 2 * bs, 6);
		CU_ASSERT_EQUAL(disk_write(v, fd, bs, buf, 2 * bs), 0);
		/* Across a block boundary, and over an unallocated block. */
		CU_ASSERT_EQUAL(vhd_discard(v, bs + 4096, bs), 0);
		CU_ASSERT_EQUAL(vhd_discard(v, 8 * bs, 2 * bs), 0);
		CU_ASSERT_EQUAL(vhd_discard(v, 1, 512), -EINVAL);
		memset(buf + 4096, 0, bs);
		CU_ASSERT_EQUAL(disk_read(v, fd, bs, back, 2 * bs), 0);
		CU_ASSERT(!memcmp(buf, back, 2 * bs));
		close_vhd(v, fd);
		CU_ASSERT_EQUAL_FATAL(open_vhd(path, true, &v, &fd), 0);
		CU_ASSERT_EQUAL(vhd_discard(v, 0, 512), -EROFS);
		close_vhd(v, fd);
		unlink(path);
	}
	free(buf);
	free(back);
}

/* ------------------------------------------------------------ concurrency */

struct race {
	struct vhd *v;
	uint32_t nblocks, bs;
	bool stop;
	int bad;
};

static void *race_mapper(void *arg)
{
	struct race *r = arg;
	uint64_t *seen = calloc(r->nblocks, sizeof(*seen));

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		for (uint32_t i = 0; i < r->nblocks; i++) {
			uint64_t fo = 0, run = 0;
			int st = vhd_map(r->v, (uint64_t)i * r->bs, r->bs, true, &fo, &run);

			/* Once published, always the same place, whole block. */
			if (st == VHD_MAP_DATA) {
				if ((seen[i] && seen[i] != fo) || run != r->bs)
					r->bad++;
				seen[i] = fo;
			} else if (st != VHD_MAP_ALLOC || seen[i] || run != r->bs) {
				r->bad++;
			}
		}
	}
	free(seen);
	return NULL;
}

static void test_concurrent_map(void)
{
	TP(path, "race.vhd");
	struct race r = { .nblocks = 256, .bs = 4096 };
	pthread_t th;
	char err[256];
	int fd;

	CU_ASSERT_EQUAL_FATAL(vhd_create(path, 256 * 4096, VHD_TYPE_DYNAMIC, 4096, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &r.v, &fd), 0);
	r.nblocks = (uint32_t)(vhd_get_info(r.v)->size / 4096);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, race_mapper, &r), 0);
	for (uint32_t i = 0; i < r.nblocks; i++)
		CU_ASSERT_EQUAL(vhd_alloc(r.v, (uint64_t)((i * 97) % r.nblocks) * 4096), 0);
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(r.bad, 0);
	close_vhd(r.v, fd);
	unlink(path);
}

/* ------------------------------------------------------------ corrupt files */

static void put_be32(uint8_t *p, uint32_t v)
{
	__be32 b = htobe32(v);

	memcpy(p, &b, 4);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	__be64 b = htobe64(v);

	memcpy(p, &b, 8);
}

static void fix_footer(uint8_t *f)
{
	put_be32(f + 64, hvis_vhd_checksum(f, 512, 64));
}

static void fix_header(uint8_t *h)
{
	put_be32(h + 36, hvis_vhd_checksum(h, 1024, 36));
}

struct corrupt {
	const char *name;
	/* Edits the image in place; may change its length. */
	void (*edit)(uint8_t *img, size_t *len);
	int err;
	const char *msg;		/* substring of the error message */
};

/* Both footers' field at @off, then both checksums made right again. */
static void footers_be32(uint8_t *img, size_t len, size_t off, uint32_t v)
{
	put_be32(img + off, v);
	put_be32(img + len - 512 + off, v);
	fix_footer(img);
	fix_footer(img + len - 512);
}

static void footers_be64(uint8_t *img, size_t len, size_t off, uint64_t v)
{
	put_be64(img + off, v);
	put_be64(img + len - 512 + off, v);
	fix_footer(img);
	fix_footer(img + len - 512);
}

static uint32_t get_be32(const uint8_t *p)
{
	__be32 b;

	memcpy(&b, p, 4);
	return be32toh(b);
}

static void e_checksum(uint8_t *img, size_t *len)
{
	img[64] ^= 1;
	img[*len - 512 + 64] ^= 1;
}

static void e_cookie(uint8_t *img, size_t *len)
{
	img[0] = 'C';
	img[*len - 512] = 'C';
}

static void e_version(uint8_t *img, size_t *len)
{
	footers_be32(img, *len, 12, 0x00020000);
}

static void e_differencing(uint8_t *img, size_t *len)
{
	footers_be32(img, *len, 60, HVIS_VHD_TYPE_DIFFERENCING);
}

static void e_type5(uint8_t *img, size_t *len)
{
	footers_be32(img, *len, 60, 5);
}

static void e_size_odd(uint8_t *img, size_t *len)
{
	footers_be64(img, *len, 48, 4 * SZ_M + 1);
}

static void e_size_zero(uint8_t *img, size_t *len)
{
	footers_be64(img, *len, 48, 0);
}

static void e_size_huge(uint8_t *img, size_t *len)
{
	footers_be64(img, *len, 48, VHD_MAX_SIZE + 512);
}

static void e_size_big(uint8_t *img, size_t *len)
{
	/* Bigger than the BAT covers (in 64 KiB blocks). */
	footers_be64(img, *len, 48, 64 * SZ_M);
}

static void e_header_offset(uint8_t *img, size_t *len)
{
	footers_be64(img, *len, 16, (uint64_t)*len + 4096);
}

static void e_header_offset_odd(uint8_t *img, size_t *len)
{
	footers_be64(img, *len, 16, 513);
}

static void e_disagree(uint8_t *img, size_t *len)
{
	put_be64(img + 48, 2 * SZ_M);
	fix_footer(img);
	(void)len;
}

static void e_hdr_checksum(uint8_t *img, size_t *len)
{
	img[512 + 36] ^= 0x10;
	(void)len;
}

static void e_hdr_cookie(uint8_t *img, size_t *len)
{
	img[512] = 'X';
	fix_header(img + 512);
	(void)len;
}

static void e_hdr_next(uint8_t *img, size_t *len)
{
	put_be64(img + 512 + 8, 4096);
	fix_header(img + 512);
	(void)len;
}

static void e_table_past_eof(uint8_t *img, size_t *len)
{
	put_be64(img + 512 + 16, (uint64_t)*len + 512);
	fix_header(img + 512);
}

static void e_table_unaligned(uint8_t *img, size_t *len)
{
	put_be64(img + 512 + 16, 1536 + 4);
	fix_header(img + 512);
	(void)len;
}

static void e_table_on_header(uint8_t *img, size_t *len)
{
	put_be64(img + 512 + 16, 1024);
	fix_header(img + 512);
	(void)len;
}

static void e_block_size_0(uint8_t *img, size_t *len)
{
	put_be32(img + 512 + 32, 0);
	fix_header(img + 512);
	(void)len;
}

static void e_block_size_3(uint8_t *img, size_t *len)
{
	put_be32(img + 512 + 32, 3 * 64 * 1024);
	fix_header(img + 512);
	(void)len;
}

static void e_block_size_huge(uint8_t *img, size_t *len)
{
	put_be32(img + 512 + 32, 0x80000000u);
	fix_header(img + 512);
	(void)len;
}

static void e_mte_small(uint8_t *img, size_t *len)
{
	put_be32(img + 512 + 28, 1);
	fix_header(img + 512);
	(void)len;
}

static void e_mte_huge(uint8_t *img, size_t *len)
{
	put_be32(img + 512 + 28, 0xFFFFFFF0u);
	fix_header(img + 512);
	(void)len;
}

/* The base image has blocks 0 and 5 allocated (see test_corrupt). */
static void e_bat_overlap(uint8_t *img, size_t *len)
{
	memcpy(img + 1536 + 4 * 7, img + 1536, 4);
	(void)len;
}

static void e_bat_half_overlap(uint8_t *img, size_t *len)
{
	put_be32(img + 1536 + 4 * 7, get_be32(img + 1536) + 8);
	(void)len;
}

static void e_bat_in_header(uint8_t *img, size_t *len)
{
	put_be32(img + 1536, 1);
	(void)len;
}

static void e_bat_in_bat(uint8_t *img, size_t *len)
{
	put_be32(img + 1536, 3);
	(void)len;
}

static void e_bat_past_eof(uint8_t *img, size_t *len)
{
	put_be32(img + 1536 + 4 * 7, (uint32_t)(*len / 512));
}

static void e_bat_on_footer(uint8_t *img, size_t *len)
{
	/* The block would end exactly where the file ends: over the footer. */
	put_be32(img + 1536 + 4 * 7,
		 (uint32_t)((*len - 512 - 64 * 1024) / 512));
}

static void e_truncated(uint8_t *img, size_t *len)
{
	(void)img;
	*len -= 600;		/* into the last block */
}

static void e_tiny(uint8_t *img, size_t *len)
{
	(void)img;
	*len = 300;
}

static const struct corrupt corrupt_dyn[] = {
	{ "bad checksum", e_checksum, -EINVAL, "bad checksum" },
	{ "bad cookie", e_cookie, -EINVAL, "cookie" },
	{ "version 2.0", e_version, -EINVAL, "version" },
	{ "differencing", e_differencing, -ENOTSUP, "differencing" },
	{ "disk type 5", e_type5, -EINVAL, "disk type 5" },
	{ "size not a multiple of 512", e_size_odd, -EINVAL, "multiple of 512" },
	{ "size 0", e_size_zero, -EINVAL, "multiple of 512" },
	{ "size beyond 2040 GiB", e_size_huge, -EFBIG, "2040 GiB" },
	{ "size beyond the BAT", e_size_big, -EINVAL, "too small" },
	{ "header past EOF", e_header_offset, -EINVAL, "outside the file" },
	{ "header unaligned", e_header_offset_odd, -EINVAL, "header offset" },
	{ "footer copies disagree", e_disagree, -EINVAL, "another disk" },
	{ "header checksum", e_hdr_checksum, -EINVAL, "header: bad checksum" },
	{ "header cookie", e_hdr_cookie, -EINVAL, "cxsparse" },
	{ "header next offset", e_hdr_next, -EINVAL, "next-structure" },
	{ "table past EOF", e_table_past_eof, -EINVAL, "outside the file" },
	{ "table unaligned", e_table_unaligned, -EINVAL, "unaligned" },
	{ "table over header", e_table_on_header, -EINVAL, "overlaps" },
	{ "block size 0", e_block_size_0, -EINVAL, "block size 0" },
	{ "block size 3 x 64K", e_block_size_3, -EINVAL, "power of two" },
	{ "block size 2G", e_block_size_huge, -EINVAL, "power of two" },
	{ "max_table_entries too small", e_mte_small, -EINVAL, "too small" },
	{ "max_table_entries huge", e_mte_huge, -EINVAL, "at most" },
	{ "two BAT entries, one block", e_bat_overlap, -EINVAL, "overlap" },
	{ "BAT entries overlapping", e_bat_half_overlap, -EINVAL, "overlap" },
	{ "BAT entry inside the header", e_bat_in_header, -EINVAL, "overlaps the footer copy, the header" },
	{ "BAT entry inside the BAT", e_bat_in_bat, -EINVAL, "overlaps" },
	{ "BAT entry past EOF", e_bat_past_eof, -EINVAL, "past the end" },
	{ "BAT entry over the footer", e_bat_on_footer, -EINVAL, "past the end" },
	{ "truncated", e_truncated, -EINVAL, "past the end" },
	{ "too small", e_tiny, -EINVAL, "too small" },
	{ NULL, NULL, 0, NULL },
};

static void f_checksum(uint8_t *img, size_t *len)
{
	img[*len - 512 + 64] ^= 1;
}

static void f_length(uint8_t *img, size_t *len)
{
	put_be64(img + *len - 512 + 48, 2 * SZ_M);
	fix_footer(img + *len - 512);
}

static void f_data_offset(uint8_t *img, size_t *len)
{
	put_be64(img + *len - 512 + 16, 512);
	put_be32(img + *len - 512 + 60, HVIS_VHD_TYPE_FIXED);
	fix_footer(img + *len - 512);
}

static void f_truncated(uint8_t *img, size_t *len)
{
	(void)img;
	*len -= 512;
}

static void f_differencing(uint8_t *img, size_t *len)
{
	put_be32(img + *len - 512 + 60, HVIS_VHD_TYPE_DIFFERENCING);
	fix_footer(img + *len - 512);
}

static const struct corrupt corrupt_fixed[] = {
	{ "fixed: bad checksum", f_checksum, -EINVAL, "bad checksum" },
	{ "fixed: size vs length", f_length, -EINVAL, "in a file of" },
	{ "fixed: data offset", f_data_offset, -EINVAL, "data offset" },
	{ "fixed: truncated", f_truncated, -EINVAL, "cookie" },
	{ "fixed: differencing", f_differencing, -ENOTSUP, "differencing" },
	{ NULL, NULL, 0, NULL },
};

static void run_corrupt(const char *base, const struct corrupt *t)
{
	TP(path, "corrupt.vhd");
	size_t blen, len;
	uint8_t *img = read_file(base, &blen), *copy;

	CU_ASSERT_FATAL(img != NULL);
	copy = malloc(blen);
	for (; t->name; t++) {
		char err[256] = "";
		struct vhd *v = NULL;
		int fd, r;

		memcpy(copy, img, blen);
		len = blen;
		t->edit(copy, &len);
		CU_ASSERT_EQUAL_FATAL(write_file(path, copy, len), 0);
		fd = open(path, O_RDWR);
		CU_ASSERT_FATAL(fd >= 0);
		r = vhd_open(fd, false, &v, err, sizeof(err));
		if (r != t->err || !strstr(err, t->msg))
			fprintf(stderr, "\n  %s: got %d \"%s\", want %d \"%s\"\n",
				t->name, r, err, t->err, t->msg);
		CU_ASSERT_EQUAL(r, t->err);
		CU_ASSERT_PTR_NULL(v);
		CU_ASSERT(strstr(err, t->msg) != NULL);
		if (!r)
			vhd_close(v);
		close(fd);
	}
	unlink(path);
	free(copy);
	free(img);
}

static void test_corrupt(void)
{
	TP(dyn, "corrupt-base-dyn.vhd");
	TP(fixed, "corrupt-base-fixed.vhd");
	uint8_t buf[4096];
	char err[256];
	struct vhd *v;
	int fd;

	CU_ASSERT_EQUAL_FATAL(vhd_create(dyn, 4 * SZ_M, VHD_TYPE_DYNAMIC, 64 * SZ_K, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(open_vhd(dyn, false, &v, &fd), 0);
	pattern(buf, 0, sizeof(buf), 7);
	CU_ASSERT_EQUAL(disk_write(v, fd, 0, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(disk_write(v, fd, 5 * 64 * SZ_K, buf, sizeof(buf)), 0);
	close_vhd(v, fd);
	CU_ASSERT_EQUAL_FATAL(vhd_create(fixed, 4 * SZ_M, VHD_TYPE_FIXED, 0, err, sizeof(err)), 0);

	run_corrupt(dyn, corrupt_dyn);
	run_corrupt(fixed, corrupt_fixed);
	if (have_qemu()) {
		/* QEMU takes the untouched bases: the table tests the edits. */
		CU_ASSERT(qemu_size(dyn) > 0);
		CU_ASSERT(qemu_size(fixed) > 0);
	}
	unlink(dyn);
	unlink(fixed);
}

/* A lost trailing footer (someone's crash) is recovered from the copy at 0. */
static void test_footer_recovery(void)
{
	TP(path, "recover.vhd");
	TP(raw, "recover.raw");
	const uint64_t bs = 64 * SZ_K;
	uint64_t size = vhd_create_size(4 * SZ_M), len;
	uint8_t *expect = calloc(1, size), *img;
	char err[256];
	struct vhd *v;
	size_t ilen;
	int fd;

	CU_ASSERT_EQUAL_FATAL(vhd_create(path, 4 * SZ_M, VHD_TYPE_DYNAMIC, bs, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	pattern(expect + bs, bs, bs, 8);
	CU_ASSERT_EQUAL(disk_write(v, fd, bs, expect + bs, bs), 0);
	close_vhd(v, fd);
	len = file_size(path);

	/* QEMU's crash window: the bitmap of a new block over the footer. */
	img = read_file(path, &ilen);
	CU_ASSERT_FATAL(img != NULL);
	memset(img + ilen - 512, 0xFF, 512);
	CU_ASSERT_EQUAL(write_file(path, img, ilen), 0);
	CU_ASSERT(disk_equals(path, expect, size));	/* read-only: untouched */
	CU_ASSERT_EQUAL(file_size(path), len);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	close_vhd(v, fd);
	CU_ASSERT_EQUAL(file_size(path), len + 512);	/* footer put back */
	CU_ASSERT(disk_equals(path, expect, size));

	/* The trailing footer simply gone, and the copy at 0 damaged. */
	CU_ASSERT_EQUAL(truncate(path, (off_t)len), 0);
	CU_ASSERT(disk_equals(path, expect, size));
	fd = open(path, O_RDWR);
	CU_ASSERT_EQUAL(pwrite(fd, "junk", 4, 0), 4);
	close(fd);
	CU_ASSERT_EQUAL(vhd_open(-1, true, &v, err, sizeof(err)), -EBADF);
	fd = open(path, O_RDONLY);
	CU_ASSERT_EQUAL(vhd_open(fd, true, &v, err, sizeof(err)), -EINVAL);
	close(fd);
	/* Copy damaged but the trailing footer fine: opens, copy rewritten. */
	free(img);
	CU_ASSERT_EQUAL(write_file(raw, expect, size), 0);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(vhd_create(path, 4 * SZ_M, VHD_TYPE_DYNAMIC, bs, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	CU_ASSERT_EQUAL(disk_write(v, fd, bs, expect + bs, bs), 0);
	close_vhd(v, fd);
	fd = open(path, O_RDWR);
	CU_ASSERT_EQUAL(pwrite(fd, "junk", 4, 0), 4);
	close(fd);
	if (have_qemu())
		CU_ASSERT(qemu_size(path) < 0);		/* QEMU needs the copy */
	CU_ASSERT(disk_equals(path, expect, size));
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	close_vhd(v, fd);
	if (have_qemu()) {
		CU_ASSERT_EQUAL(qemu_size(path), (int64_t)size);
		CU_ASSERT(qemu_same(path, raw));
	}
	unlink(path);
	unlink(raw);
	free(expect);
}

/* ------------------------------------------------------------ crashes */

/*
 * The base image of the crash tests: dynamic, 64 KiB blocks, block 2
 * written and flushed (the acknowledged data that must survive).
 */
#define CR_BS	(64 * SZ_K)

static uint64_t crash_base(const char *path, uint8_t **expect)
{
	uint64_t size = vhd_create_size(2 * SZ_M);
	char err[256];
	struct vhd *v;
	int fd;

	*expect = calloc(1, size);
	unlink(path);
	if (vhd_create(path, 2 * SZ_M, VHD_TYPE_DYNAMIC, CR_BS, err, sizeof(err)) ||
	    open_vhd(path, false, &v, &fd))
		return 0;
	pattern(*expect + 2 * CR_BS, 2 * CR_BS, CR_BS, 9);
	if (disk_write(v, fd, 2 * CR_BS, *expect + 2 * CR_BS, CR_BS) || fdatasync(fd))
		size = 0;
	close_vhd(v, fd);
	return size;
}

/*
 * What the allocation order guarantees beyond readability: the last 512
 * bytes are always a valid footer (Hyper-V-style readers look only
 * there), and a BAT entry on disk always points at a durable all-ones
 * bitmap (@full_bitmaps: in images where every block was made that way).
 */
static bool strict_layout(const char *path, bool full_bitmaps)
{
	size_t len;
	uint8_t *img = read_file(path, &len);
	bool ok = img && len >= 2048 && len % 512 == 0;

	if (ok) {
		const uint8_t *f = img + len - 512;

		ok = !memcmp(f, HVIS_VHD_FOOTER_COOKIE, 8) &&
		     get_be32(f + 64) == hvis_vhd_checksum(f, 512, 64);
	}
	for (uint32_t i = 0; ok && full_bitmaps && i < get_be32(img + 512 + 28); i++) {
		uint64_t e = get_be32(img + 1536 + 4 * i);

		if (e == HVIS_VHD_BAT_UNUSED)
			continue;
		ok = e * 512 + 512 <= len;
		for (uint64_t b = 0; ok && b < 512; b++)
			ok = img[e * 512 + b] == 0xFF;
	}
	free(img);
	return ok;
}

/*
 * After a crash: our strict open and QEMU both accept the image and read
 * @expect (the new block, whether it got allocated or not, reads zeros);
 * opened writable it takes new allocations and data.
 */
static void check_after_crash(const char *path, const char *raw,
			      const uint8_t *expect, uint64_t size,
			      bool qemu)
{
	uint8_t buf[4096], back[4096];
	struct vhd *v;
	int fd;

	CU_ASSERT(strict_layout(path, qemu));
	CU_ASSERT(disk_equals(path, expect, size));
	if (qemu && have_qemu()) {
		CU_ASSERT_EQUAL(write_file(raw, expect, size), 0);
		CU_ASSERT_EQUAL(qemu_size(path), (int64_t)size);
		CU_ASSERT(qemu_check_ok(path));
		CU_ASSERT(qemu_same(path, raw));
	}
	if (open_vhd(path, false, &v, &fd)) {
		CU_FAIL("cannot reopen writable after a crash");
		return;
	}
	pattern(buf, 7 * CR_BS, sizeof(buf), 10);
	CU_ASSERT_EQUAL(disk_write(v, fd, 7 * CR_BS, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(disk_read(v, fd, 7 * CR_BS, back, sizeof(back)), 0);
	CU_ASSERT(!memcmp(buf, back, sizeof(buf)));
	CU_ASSERT_EQUAL(disk_read(v, fd, 2 * CR_BS, back, sizeof(back)), 0);
	CU_ASSERT(!memcmp(expect + 2 * CR_BS, back, sizeof(back)));
	close_vhd(v, fd);
}

static int crash_stop_at, crash_count;

static int hook_exit_at(enum vhd_test_op op, const void *buf, size_t len,
			uint64_t off)
{
	(void)op, (void)buf, (void)len, (void)off;
	if (++crash_count == crash_stop_at)
		_exit(0);		/* the process dies right here */
	return 0;
}

/* kill -9 before each step of an allocation: a child dies in the hook. */
static void test_crash_each_step(void)
{
	TP(path, "crash.vhd");
	TP(raw, "crash.raw");
	uint8_t *expect;
	uint64_t size = crash_base(path, &expect);
	size_t blen;
	uint8_t *base = read_file(path, &blen);

	CU_ASSERT_FATAL(size && base);
	/* 5 operations (write, sync, write, sync, write); 6 = completes. */
	for (int k = 1; k <= 6; k++) {
		pid_t pid;
		int st;

		CU_ASSERT_EQUAL_FATAL(write_file(path, base, blen), 0);
		pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			struct vhd *v;
			int fd;

			if (open_vhd(path, false, &v, &fd))
				_exit(2);
			crash_count = 0;
			crash_stop_at = k;
			vhd_test_hook = hook_exit_at;
			_exit(vhd_alloc(v, 5 * CR_BS) ? 3 : 1);
		}
		CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
		CU_ASSERT(WIFEXITED(st));
		CU_ASSERT_EQUAL(WEXITSTATUS(st), k == 6 ? 1 : 0);
		check_after_crash(path, raw, expect, size, true);
		/* Whether the block got allocated: only once step 5 ran. */
		if (k == 6)
			CU_ASSERT(bitmap_off(path, 5) != 0);
	}
	unlink(path);
	unlink(raw);
	free(base);
	free(expect);
}

/* Every operation of one allocation, recorded for the power-loss replay. */
struct rec_op {
	enum vhd_test_op op;
	uint64_t off;
	size_t len;
	uint8_t *buf;
};

static struct rec_op recs[64];
static int nrecs;

static int hook_record(enum vhd_test_op op, const void *buf, size_t len,
		       uint64_t off)
{
	struct rec_op *r = &recs[nrecs++];

	r->op = op;
	r->off = off;
	r->len = len;
	r->buf = NULL;
	if (buf) {
		r->buf = malloc(len);
		memcpy(r->buf, buf, len);
	}
	return nrecs >= 64;
}

/* The file as the disk holds it: @base plus the writes @ops picked. */
static uint8_t *replay(const uint8_t *base, size_t blen, const bool *pick,
		       size_t *len)
{
	uint8_t *img = malloc(blen);

	memcpy(img, base, blen);
	*len = blen;
	for (int i = 0; i < nrecs; i++) {
		const struct rec_op *r = &recs[i];

		if (!pick[i] || r->op == VHD_TEST_SYNC)
			continue;
		if (r->op == VHD_TEST_WRITE && r->off + r->len > *len) {
			img = realloc(img, r->off + r->len);
			memset(img + *len, 0, r->off + r->len - *len);
			*len = r->off + r->len;
		}
		if (r->op == VHD_TEST_WRITE)
			memcpy(img + r->off, r->buf, r->len);
		else if (r->off < *len)
			memset(img + r->off, 0,
			       r->off + r->len > *len ? *len - r->off : r->len);
	}
	return img;
}

/*
 * Power loss during an allocation: everything before the last completed
 * flush is on disk, and any subset of the writes after it. Replays every
 * such outcome of a run (recorded by the hook), and checks each image.
 */
static void power_loss_outcomes(const char *path, const char *raw,
				const uint8_t *base, size_t blen,
				const uint8_t *expect, uint64_t size, bool qemu)
{
	int start = 0;

	while (start <= nrecs) {
		int end = start, nw = 0, idx[8];

		while (end < nrecs && recs[end].op != VHD_TEST_SYNC) {
			if (nw < 8)
				idx[nw++] = end;
			end++;
		}
		CU_ASSERT(nw < 8);
		for (unsigned int mask = 0; mask < (1u << nw); mask++) {
			bool pick[64] = { false };
			uint8_t *img;
			size_t len;

			for (int i = 0; i < start; i++)
				pick[i] = true;
			for (int b = 0; b < nw; b++)
				pick[idx[b]] = mask & (1u << b);
			img = replay(base, blen, pick, &len);
			CU_ASSERT_EQUAL(write_file(path, img, len), 0);
			free(img);
			check_after_crash(path, raw, expect, size, qemu);
		}
		start = end + 1;
	}
}

static int hook_fail(enum vhd_test_op op, const void *buf, size_t len,
		     uint64_t off)
{
	(void)op, (void)buf, (void)len, (void)off;
	return 1;
}

static void clear_recs(void)
{
	for (int i = 0; i < nrecs; i++)
		free(recs[i].buf);
	nrecs = 0;
}

static void test_crash_power_loss(void)
{
	TP(path, "power.vhd");
	TP(raw, "power.raw");
	uint8_t *expect, *base, bm[512], junk[4 * 512];
	uint64_t size = crash_base(path, &expect), bmo;
	struct vhd *v;
	size_t blen;
	int fd;

	/* A new block. */
	base = read_file(path, &blen);
	CU_ASSERT_FATAL(size && base);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	vhd_test_hook = hook_record;
	CU_ASSERT_EQUAL(vhd_alloc(v, 5 * CR_BS), 0);
	vhd_test_hook = NULL;
	close_vhd(v, fd);
	CU_ASSERT_EQUAL(nrecs, 5);
	power_loss_outcomes(path, raw, base, blen, expect, size, true);
	clear_recs();
	free(base);

	/*
	 * Filling in a partially present block (with junk in its absent
	 * sectors). QEMU ignores sector bitmaps and would read the junk, so
	 * only our reader judges these.
	 */
	free(expect);
	size = crash_base(path, &expect);
	bmo = bitmap_off(path, 2);
	memset(bm, 0xFF, sizeof(bm));
	bm[1] = 0x0F;			/* sectors 8-11 absent */
	bm[9] = 0xF0;			/* sectors 76-79 absent */
	fd = open(path, O_RDWR);
	CU_ASSERT_EQUAL(pwrite(fd, bm, sizeof(bm), (off_t)bmo), 512);
	memset(junk, 0xA5, sizeof(junk));
	CU_ASSERT_EQUAL(pwrite(fd, junk, sizeof(junk), (off_t)(bmo + 512 + 8 * 512)), 4 * 512);
	close(fd);
	memset(expect + 2 * CR_BS + 8 * 512, 0, 4 * 512);
	memset(expect + 2 * CR_BS + 76 * 512, 0, 4 * 512);
	base = read_file(path, &blen);
	CU_ASSERT_FATAL(base != NULL);
	CU_ASSERT(disk_equals(path, expect, size));
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	vhd_test_hook = hook_record;
	CU_ASSERT_EQUAL(vhd_alloc(v, 2 * CR_BS), 0);
	vhd_test_hook = NULL;
	close_vhd(v, fd);
	CU_ASSERT_EQUAL(nrecs, 4);	/* zero, zero, sync, bitmap */
	power_loss_outcomes(path, raw, base, blen, expect, size, false);
	clear_recs();

	/* A failing step leaves the image refusing further allocation. */
	CU_ASSERT_EQUAL(write_file(path, base, blen), 0);
	CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
	vhd_test_hook = hook_fail;
	CU_ASSERT_EQUAL(vhd_alloc(v, 2 * CR_BS), -EIO);
	vhd_test_hook = NULL;
	CU_ASSERT_EQUAL(vhd_alloc(v, 6 * CR_BS), -EIO);
	close_vhd(v, fd);
	CU_ASSERT(disk_equals(path, expect, size));

	unlink(path);
	unlink(raw);
	free(base);
	free(expect);
}

/*
 * A real kill -9 in the middle of a write loop: a child allocates and
 * writes block after block, flushing each and acknowledging it on a pipe.
 * Whatever it was doing when killed, every acknowledged block must read
 * back, to us and to QEMU, and the rest read zeros or their pattern.
 */
static void test_crash_kill9(void)
{
	TP(path, "kill9.vhd");
	TP(raw, "kill9.raw");
	const uint64_t bs = 16 * SZ_K;
	uint64_t size = vhd_create_size(8 * SZ_M);
	uint32_t nblk = (uint32_t)(size / bs), acked = 0, n;
	uint8_t *got = malloc(size), *want = malloc(bs);
	char err[256];
	struct vhd *v;
	int p[2], fd, st;
	pid_t pid;

	unlink(path);
	CU_ASSERT_EQUAL_FATAL(vhd_create(path, 8 * SZ_M, VHD_TYPE_DYNAMIC, bs, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		uint8_t *buf = malloc(bs);

		close(p[0]);
		if (open_vhd(path, false, &v, &fd))
			_exit(2);
		for (uint32_t i = 0;; i = (i + 1) % nblk) {
			uint32_t b = (i * 37) % nblk;

			pattern(buf, (uint64_t)b * bs, bs, 11);
			if (disk_write(v, fd, (uint64_t)b * bs, buf, bs) || fdatasync(fd))
				_exit(3);
			if (write(p[1], &b, sizeof(b)) != sizeof(b))
				_exit(4);
		}
	}
	close(p[1]);
	/* Let it get well into the loop, then kill it mid-flight. */
	while (acked < nblk / 3 && read(p[0], &n, sizeof(n)) == sizeof(n))
		acked++;
	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFSIGNALED(st));
	close(p[0]);
	CU_ASSERT_EQUAL(acked, nblk / 3);

	CU_ASSERT_EQUAL_FATAL(open_vhd(path, true, &v, &fd), 0);
	CU_ASSERT_EQUAL(disk_read(v, fd, 0, got, size), 0);
	close_vhd(v, fd);
	for (uint32_t i = 0; i < nblk; i++) {
		uint32_t b = (i * 37) % nblk;
		const uint8_t *g = got + (uint64_t)b * bs;

		pattern(want, (uint64_t)b * bs, bs, 11);
		if (i < acked) {
			CU_ASSERT(!memcmp(g, want, bs));
			continue;
		}
		for (uint64_t s = 0; s < bs; s += 512) {
			static const uint8_t zero[512];

			CU_ASSERT(!memcmp(g + s, want + s, 512) ||
				  !memcmp(g + s, zero, 512));
		}
	}
	if (have_qemu()) {
		CU_ASSERT_EQUAL(write_file(raw, got, size), 0);
		CU_ASSERT_EQUAL(qemu_size(path), (int64_t)size);
		CU_ASSERT(qemu_same(path, raw));
	}
	unlink(path);
	unlink(raw);
	free(got);
	free(want);
}

/* ------------------------------------------------------------ qemu-img */

/* Images qemu-img makes open with the size it reports. */
static void test_qemu_images(void)
{
	static const char *const opts[] = {
		"subformat=dynamic", "subformat=fixed",
		"subformat=dynamic,force_size=on", "subformat=fixed,force_size=on",
	};
	static const uint64_t sizes[] = { SZ_M, 64 * SZ_M + 512, SZ_G, 10 * SZ_G };
	TP(path, "qemu.vhd");

	if (!have_qemu()) {
		CU_PASS("qemu-img not installed: interop skipped");
		return;
	}
	for (size_t o = 0; o < 4; o++) {
		for (size_t s = 0; s < 4; s++) {
			const struct vhd_info *info;
			struct vhd *v;
			int64_t qs;
			int fd;

			unlink(path);
			CU_ASSERT_EQUAL_FATAL(sh("qemu-img create -q -f vpc -o %s '%s' %" PRIu64,
						 opts[o], path, sizes[s]), 0);
			qs = qemu_size(path);
			CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
			info = vhd_get_info(v);
			CU_ASSERT_EQUAL(info->size, (uint64_t)qs);
			CU_ASSERT_EQUAL(info->type, o % 2 ? VHD_TYPE_FIXED : VHD_TYPE_DYNAMIC);
			CU_ASSERT_STRING_EQUAL(info->creator_app, o < 2 ? "qemu" : "qem2");
			if (o >= 2)
				CU_ASSERT_EQUAL(info->size, sizes[s]);
			close_vhd(v, fd);
		}
	}
	unlink(path);
}

/* Our images: qemu-img info reports our size (several sizes, sparse). */
static void test_qemu_sizes(void)
{
	static const uint64_t sizes[] = {
		SZ_M, 64 * SZ_M, SZ_G, 10 * SZ_G, 200 * SZ_G, 1000, 136899000000ull,
	};
	TP(path, "ours.vhd");
	char err[256];

	if (!have_qemu()) {
		CU_PASS("qemu-img not installed: interop skipped");
		return;
	}
	/* qemu-img 7.2 says of vpc: no check support (exit 63). */
	CU_ASSERT_EQUAL_FATAL(vhd_create(path, SZ_M, VHD_TYPE_DYNAMIC, 0, err, sizeof(err)), 0);
	CU_ASSERT(qemu_check_ok(path));
	unlink(path);
	for (int type = VHD_TYPE_FIXED; type <= VHD_TYPE_DYNAMIC; type++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct vhd *v;
			int fd;

			CU_ASSERT_EQUAL_FATAL(vhd_create(path, sizes[s], (enum vhd_type)type, 0, err, sizeof(err)), 0);
			CU_ASSERT_EQUAL_FATAL(open_vhd(path, true, &v, &fd), 0);
			CU_ASSERT_EQUAL(vhd_get_info(v)->size, vhd_create_size(sizes[s]));
			CU_ASSERT_EQUAL(qemu_size(path), (int64_t)vhd_get_info(v)->size);
			CU_ASSERT(qemu_check_ok(path));
			close_vhd(v, fd);
			unlink(path);
		}
	}
}

/*
 * Data: what we write (map/alloc/pwrite) is what "qemu-img convert/compare"
 * reads; what QEMU writes into our image (qemu-io) and into its own
 * ("qemu-img convert -O vpc") is what we read.
 */
static void test_qemu_data(void)
{
	TP(path, "data.vhd");
	TP(raw, "data.raw");
	TP(out, "data.out");
	TP(qv, "data-qemu.vhd");
	static const struct { uint64_t off, len; } w[] = {
		{ 0, 4096 }, { 2 * SZ_M - 1024, 8192 }, { 5 * SZ_M, 3 * SZ_M },
		{ 20 * SZ_M + 512, 512 }, { 0, 0 },
	};
	const uint64_t size = vhd_create_size(24 * SZ_M);
	uint8_t *disk = calloc(1, size), *got;
	char err[256];
	struct vhd *v;
	size_t glen;
	int fd;

	if (!have_qemu()) {
		CU_PASS("qemu-img not installed: interop skipped");
		free(disk);
		return;
	}
	for (uint32_t bs = 64 * SZ_K; bs <= 2 * SZ_M; bs *= 32) {
		memset(disk, 0, size);
		unlink(path);
		CU_ASSERT_EQUAL_FATAL(vhd_create(path, 24 * SZ_M, VHD_TYPE_DYNAMIC, bs, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
		for (int i = 0; w[i].len; i++) {
			pattern(disk + w[i].off, w[i].off, w[i].len, (unsigned int)i);
			CU_ASSERT_EQUAL(disk_write(v, fd, w[i].off, disk + w[i].off, w[i].len), 0);
		}
		CU_ASSERT_EQUAL(fdatasync(fd), 0);
		close_vhd(v, fd);
		CU_ASSERT_EQUAL(write_file(raw, disk, size), 0);
		CU_ASSERT_EQUAL(qemu_size(path), (int64_t)size);
		CU_ASSERT(qemu_same(path, raw));
		unlink(out);
		CU_ASSERT_EQUAL(sh("qemu-img convert -f vpc -O raw '%s' '%s'", path, out), 0);
		got = read_file(out, &glen);
		CU_ASSERT(got && glen == size && !memcmp(got, disk, size));
		free(got);

		/* QEMU allocating in our image (it appends at our trailing footer). */
		if (have_qemu_io()) {
			CU_ASSERT_EQUAL(sh("qemu-io -f vpc -c 'write -q -P 0x5a 12M 96k' "
					   "-c 'write -q -P 0x3c 1M 4k' '%s' >/dev/null", path), 0);
			memset(disk + 12 * SZ_M, 0x5a, 96 * SZ_K);
			memset(disk + 1 * SZ_M, 0x3c, 4 * SZ_K);
			CU_ASSERT(disk_equals(path, disk, size));
			/* ... and us again after it. */
			CU_ASSERT_EQUAL_FATAL(open_vhd(path, false, &v, &fd), 0);
			pattern(disk + 16 * SZ_M, 16 * SZ_M, 8192, 12);
			CU_ASSERT_EQUAL(disk_write(v, fd, 16 * SZ_M, disk + 16 * SZ_M, 8192), 0);
			close_vhd(v, fd);
			CU_ASSERT_EQUAL(write_file(raw, disk, size), 0);
			CU_ASSERT(qemu_same(path, raw));
			CU_ASSERT(disk_equals(path, disk, size));
		}

		/* QEMU's own dynamic image of the same data. */
		unlink(qv);
		CU_ASSERT_EQUAL(sh("qemu-img convert -f raw -O vpc '%s' '%s'", raw, qv), 0);
		CU_ASSERT(disk_equals(qv, disk, size));
	}
	unlink(path);
	unlink(raw);
	unlink(out);
	unlink(qv);
	free(disk);
}

/* ------------------------------------------------------------ cleanup */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void test_cleanup(void)
{
	if (tmpdir[0])
		CU_ASSERT_EQUAL(nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	tmpdir[0] = '\0';
}

int unit_register_vhd(void)
{
	static const struct unit_test tests[] = {
		{ "create size rounding", test_create_size },
		{ "fixed round trip", test_fixed_round_trip },
		{ "dynamic round trip, map and alloc", test_dynamic_round_trip },
		{ "partially present block", test_partial_block },
		{ "discard", test_discard },
		{ "map concurrent with alloc", test_concurrent_map },
		{ "corrupt images refused", test_corrupt },
		{ "footer recovery", test_footer_recovery },
		{ "crash before each allocation step", test_crash_each_step },
		{ "power loss during allocation", test_crash_power_loss },
		{ "kill -9 during writes", test_crash_kill9 },
		{ "qemu-img images open", test_qemu_images },
		{ "qemu-img reads our sizes", test_qemu_sizes },
		{ "qemu-img reads our data and we read its", test_qemu_data },
		{ "cleanup", test_cleanup },
		{ NULL, NULL },
	};

	return unit_add_suite("vhd", tests);
}
