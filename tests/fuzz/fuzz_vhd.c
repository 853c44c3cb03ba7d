// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for host-vsp/storage/vhd.c: the input is a VHD file
 * (whoever hands us an image controls every byte of it). It goes into a
 * memfd and through vhd_open(); if it opens, vhd_map() walks the disk and
 * some ranges, and on a writable copy vhd_alloc() and vhd_discard() run,
 * after which the image must reopen. Beyond ASan/UBSan/leaks, the harness
 * aborts when a mapping points outside the file or our own writes leave
 * an image we refuse.
 *
 * Input: [flags][bytes...]
 *   flags bit 0: recompute both footers' checksums;
 *   flags bit 1: recompute the dynamic header's checksum;
 *   flags bit 2: the file is a valid built-in template (bit 3: the fixed
 *                one, else a dynamic one with 4 KiB blocks, a partially
 *                present block among them), and the bytes are patches:
 *                [u16 offset, little-endian][u8 value]..., a final odd
 *                byte truncating the file by that many sectors;
 *   otherwise the bytes are the whole file.
 * Checksum fixing lets the fuzzer get past the checksums from an empty
 * corpus; the templates start it deep inside valid images.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hvis/vhd.h>
#include "host-vsp/storage/vhd.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static uint8_t *tmpl[2];
static size_t tmpl_len[2];

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && !fstat(fd, &st)) {
		*len = (size_t)st.st_size;
		buf = malloc(*len);
		if (buf && pread(fd, buf, *len, 0) != (ssize_t)*len) {
			free(buf);
			buf = NULL;
		}
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

/* Build the templates with the library itself, once. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/hvis-fuzz-vhd-XXXXXX", dyn[64], fixed[64], err[256];
	static const uint8_t bm[4] = { 0xFF, 0x0F, 0xF0, 0x7E };
	struct vhd *v;
	int fd;

	(void)argc, (void)argv;
	if (!mkdtemp(dir))
		abort();
	snprintf(dyn, sizeof(dyn), "%s/d.vhd", dir);
	snprintf(fixed, sizeof(fixed), "%s/f.vhd", dir);
	if (vhd_create(dyn, 256 << 10, VHD_TYPE_DYNAMIC, 4096, err, sizeof(err)) ||
	    vhd_create(fixed, 1, VHD_TYPE_FIXED, 0, err, sizeof(err)))
		abort();
	fd = open(dyn, O_RDWR);
	if (fd < 0 || vhd_open(fd, false, &v, err, sizeof(err)))
		abort();
	if (vhd_alloc(v, 0) || vhd_alloc(v, 3 * 4096) || vhd_alloc(v, 7 * 4096))
		abort();
	vhd_close(v);
	/* Block 3 (the second allocated) partially present. */
	if (pwrite(fd, bm, sizeof(bm), 2048 + 4608) != sizeof(bm))
		abort();
	close(fd);
	tmpl[0] = slurp(dyn, &tmpl_len[0]);
	tmpl[1] = slurp(fixed, &tmpl_len[1]);
	unlink(dyn);
	unlink(fixed);
	rmdir(dir);
	if (!tmpl[0] || !tmpl[1])
		abort();
	return 0;
}

static void fix_checksums(uint8_t *f, size_t len, uint8_t flags)
{
	__be32 c;

	if (len < 512)
		return;
	if (flags & 1) {
		c = htobe32(hvis_vhd_checksum(f, 512, 64));
		memcpy(f + 64, &c, 4);
		c = htobe32(hvis_vhd_checksum(f + len - 512, 512, 64));
		memcpy(f + len - 512 + 64, &c, 4);
	}
	if (flags & 2) {
		__be64 off;
		uint64_t o;

		memcpy(&off, f + 16, 8);	/* the copy's data offset */
		o = be64toh(off);
		if (o <= len && len - o >= 1024) {
			c = htobe32(hvis_vhd_checksum(f + o, 1024, 36));
			memcpy(f + o + 36, &c, 4);
		}
	}
}

static int memfd_with(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("vhd", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (len && pwrite(fd, buf, len, 0) != (ssize_t)len)
		abort();
	return fd;
}

static uint64_t fd_size(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		abort();
	return (uint64_t)st.st_size;
}

/* One vhd_map() call, with everything it promises checked. */
static int map_checked(const struct vhd *v, int fd, uint64_t off, uint64_t len,
		       bool for_write, uint64_t *run)
{
	const struct vhd_info *info = vhd_get_info(v);
	uint64_t fo = 0;
	int st = vhd_map(v, off, len, for_write, &fo, run);

	if (st < 0)
		return st;
	if (*run == 0 || *run > len || *run % 512)
		abort();
	if (info->type == VHD_TYPE_DYNAMIC &&
	    off / info->block_size != (off + *run - 1) / info->block_size)
		abort();		/* crossed a block boundary */
	switch (st) {
	case VHD_MAP_DATA:
		if (fo > fd_size(fd) || fd_size(fd) - fo < *run)
			abort();	/* data outside the file */
		break;
	case VHD_MAP_ZERO:
		break;
	case VHD_MAP_ALLOC:
		if (!for_write)
			abort();
		break;
	default:
		abort();
	}
	return st;
}

/* Walk the disk from the start (bounded), then a few chosen ranges. */
static void walk(const struct vhd *v, int fd, const uint8_t *in, size_t len,
		 bool for_write)
{
	uint64_t size = vhd_get_info(v)->size, off = 0, run;

	for (int i = 0; i < 512 && off < size; i++) {
		if (map_checked(v, fd, off, size - off, for_write, &run) < 0)
			abort();
		off += run;
	}
	for (size_t i = 0; i + 4 <= len && i < 64; i += 4) {
		uint32_t x;

		memcpy(&x, in + i, 4);
		off = ((uint64_t)x * 4099 % (size / 512)) * 512;
		if (map_checked(v, fd, off, size - off > 65536 ? 65536 : size - off,
				for_write, &run) < 0)
			abort();
	}
	/* Out-of-range and unaligned requests are refused, not mapped. */
	if (vhd_map(v, size, 512, false, &off, &run) != -EINVAL ||
	    vhd_map(v, 1, 512, false, &off, &run) != -EINVAL)
		abort();
}

static void exercise(const uint8_t *file, size_t flen, const uint8_t *in,
		     size_t len)
{
	char err[256];
	struct vhd *v;
	uint64_t size, run, fo;
	int fd = memfd_with(file, flen), r;

	r = vhd_open(fd, true, &v, err, sizeof(err));
	if (r) {
		if (!err[0] || r >= 0)
			abort();	/* every refusal says why */
		close(fd);
		return;
	}
	size = vhd_get_info(v)->size;
	if (!size || size % 512 || size > VHD_MAX_SIZE)
		abort();
	walk(v, fd, in, len, false);
	if (vhd_alloc(v, 0) != -EROFS)
		abort();
	vhd_close(v);
	close(fd);

	/* A writable copy: allocate, discard, and it must still open. */
	fd = memfd_with(file, flen);
	if (vhd_open(fd, false, &v, err, sizeof(err)))
		abort();		/* opened read-only, must open writable */
	for (size_t i = 0; i < 3 && i * 4 + 4 <= len; i++) {
		uint32_t x;
		uint64_t off;

		memcpy(&x, in + len - 4 - i * 4, 4);
		off = ((uint64_t)x % (size / 512)) * 512;
		r = vhd_alloc(v, off);
		if (r == -ENOSPC)
			continue;
		if (r)
			abort();
		if (map_checked(v, fd, off, 512, true, &run) != VHD_MAP_DATA)
			abort();
		r = vhd_discard(v, off, 512);
		if (r && r != -EOPNOTSUPP)
			abort();
	}
	walk(v, fd, in, len, true);
	vhd_close(v);
	if (vhd_open(fd, true, &v, err, sizeof(err))) {
		fprintf(stderr, "our writes broke the image: %s\n", err);
		abort();
	}
	if (vhd_map(v, 0, 512, false, &fo, &run) < 0)
		abort();
	vhd_close(v);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	uint8_t flags, *file;
	size_t flen;

	if (len < 1 || len > (1 << 20))
		return 0;
	flags = in[0];
	in++;
	len--;
	if (flags & 4) {
		const size_t t = (flags >> 3) & 1;
		size_t i;

		flen = tmpl_len[t];
		file = malloc(flen);
		memcpy(file, tmpl[t], flen);
		for (i = 0; i + 3 <= len; i += 3)
			file[(in[i] | in[i + 1] << 8) % flen] = in[i + 2];
		if (len - i == 1 || len - i == 2) {
			size_t cut = (size_t)in[i] * 512;

			flen = cut < flen ? flen - cut : 0;
		}
	} else {
		flen = len;
		file = malloc(flen + 1);
		memcpy(file, in, flen);
	}
	fix_checksums(file, flen, flags);
	exercise(file, flen, in, len);
	free(file);
	return 0;
}
