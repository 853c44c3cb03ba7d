// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the SCSI disk target (host-vsp/storage/scsi.c):
 * the guest controls the CDB, its length, the direction and every byte
 * of the data buffer; the host picks the disk and the I/O outcome. Beyond
 * ASan/UBSan, every result is checked for consistency: block work inside
 * the disk and inside the buffer, nothing written to a disk marked
 * read-only, no data-in byte past xfer, nothing at all written into a
 * buffer that is not data-in, xfer within the buffer, sense well formed.
 *
 * Input: [cfg0][cfg1][cfg2][cdb_len][cdb bytes][dir][errno][layout][pad]
 *        [data bytes...]
 *   cfg0: bit 0 4096-byte blocks, bits 1-2 physical exponent, bit 3
 *         read-only, bit 4 can_unmap, bit 5 write cache, bit 6
 *         rotational, bit 7: cdb_len follows the opcode's group
 *   cfg1: bits 0-1 disk size class, bits 2-3 max transfer, bits 4-5 max
 *         unmap blocks, bits 6-7 entry point (exec, no LUN, REPORT LUNS)
 *   cfg2: max unmap descriptors (0 = ours), LUN count for REPORT LUNS
 *   layout: iovec split points and how much of them buf.len covers
 *   pad: (pad & 31) * 512 zero bytes after the data, so that transfers
 *        of whole blocks (and zero WRITE SAME blocks) come easily
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host-vsp/storage/scsi.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

#define FUZZ_MAX_DATA	(64 * 1024)
#define FUZZ_IOVS	4

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

static uint8_t take(const uint8_t **p, size_t *n)
{
	uint8_t v = 0;

	if (*n) {
		v = **p;
		(*p)++;
		(*n)--;
	}
	return v;
}

static void make_disk(struct scsi_disk *d, uint8_t c0, uint8_t c1, uint8_t c2)
{
	static const uint64_t sizes[4] = {
		1, 2048, (1ull << 32) + 1, 0,	/* 0: the largest possible */
	};
	static const uint32_t xfer[4] = { 0, 1, 8, 256 };
	static const uint32_t unmap[4] = { 0, 1, 100, 0xFFFFFFFFu };

	memset(d, 0, sizeof(*d));
	d->block_size = c0 & 1 ? 4096 : 512;
	d->phys_block_size = d->block_size << ((c0 >> 1) & 3);
	d->read_only = c0 & 0x08;
	d->can_unmap = c0 & 0x10;
	d->write_cache = c0 & 0x20;
	d->rotational = c0 & 0x40;
	d->nblocks = sizes[c1 & 3] ? sizes[c1 & 3] : UINT64_MAX / d->block_size;
	d->max_xfer_blocks = xfer[(c1 >> 2) & 3];
	d->opt_xfer_blocks = d->max_xfer_blocks;
	d->max_unmap_blocks = unmap[(c1 >> 4) & 3];
	d->max_unmap_descs = c2 & 0x7F;
	memcpy(d->vendor, "hvis\x01", 6);
	memcpy(d->product, "fuzz disk", 10);
	memcpy(d->revision, "0", 2);
	memset(d->serial, 'S', c2 & 0x3F);
	for (int i = 0; i < 16; i++)
		d->id[i] = (uint8_t)(c2 * 7 + i);
	d->naa_oui = 0xFFFFFFFF;	/* out of range: only 24 bits used */
	CHECK(scsi_disk_validate(d) == 0);
}

static bool in_disk(const struct scsi_disk *d, uint64_t lba, uint64_t n)
{
	return lba <= d->nblocks && n <= d->nblocks - lba;
}

static void check_done(const struct scsi_result *r, const struct scsi_buf *b)
{
	CHECK(r->kind == SCSI_DONE);
	CHECK(r->sense_len <= SCSI_SENSE_LEN);
	CHECK(r->xfer <= b->len);
	if (r->status == HVIS_SCSI_STATUS_GOOD) {
		CHECK(r->sense_len == 0);
	} else {
		CHECK(r->status == HVIS_SCSI_STATUS_CHECK_CONDITION);
		CHECK(r->sense_len == SCSI_SENSE_LEN);
		CHECK(r->sense[0] == 0x70 && r->sense[7] == 10);
		CHECK(r->xfer == 0);
	}
}

static void check_io(const struct scsi_disk *d, const struct scsi_result *r,
		     enum scsi_dir dir, const struct scsi_buf *b)
{
	uint64_t total = 0;

	CHECK(r->xfer <= b->len);
	switch (r->op) {
	case SCSI_IO_READ:
	case SCSI_IO_WRITE:
		CHECK(r->nblocks > 0 && in_disk(d, r->lba, r->nblocks));
		CHECK((uint64_t)r->nblocks * d->block_size <= b->len);
		CHECK(r->xfer == r->nblocks * d->block_size);
		CHECK(!d->max_xfer_blocks || r->nblocks <= d->max_xfer_blocks);
		CHECK(dir == (r->op == SCSI_IO_READ ? SCSI_DIR_IN : SCSI_DIR_OUT));
		CHECK(r->op == SCSI_IO_READ || !d->read_only);
		break;
	case SCSI_IO_FLUSH:
		CHECK(in_disk(d, r->lba, r->nblocks));
		break;
	case SCSI_IO_WRITE_ZEROES:
		CHECK(!d->read_only);
		CHECK(r->nblocks > 0 && in_disk(d, r->lba, r->nblocks));
		break;
	case SCSI_IO_UNMAP:
		CHECK(!d->read_only && d->can_unmap);
		CHECK(r->nranges >= 1 && r->nranges <= SCSI_MAX_RANGES);
		for (unsigned int i = 0; i < r->nranges; i++) {
			CHECK(r->ranges[i].nblocks > 0);
			CHECK(in_disk(d, r->ranges[i].lba, r->ranges[i].nblocks));
			total += r->ranges[i].nblocks;
		}
		CHECK(!d->max_unmap_blocks || total <= d->max_unmap_blocks);
		break;
	default:
		CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	static const int errs[4] = { 0, -EIO, -ENOSPC, -EINVAL };
	static uint16_t luns[256];
	uint8_t c0 = take(&in, &len), c1 = take(&in, &len);
	uint8_t c2 = take(&in, &len), cdb_len = take(&in, &len) & 31;
	uint8_t cdb[32], dirb, errb, layout, pad, *iovmem[FUZZ_IOVS], *before;
	uint8_t *data;
	struct iovec iov[FUZZ_IOVS];
	struct scsi_disk d;
	struct scsi_result r;
	struct scsi_buf b;
	enum scsi_dir dir;
	size_t total, cut[FUZZ_IOVS + 1];
	uint8_t *cdb_exact;

	make_disk(&d, c0, c1, c2);
	if (cdb_len > len)
		cdb_len = (uint8_t)len;
	memcpy(cdb, in, cdb_len);
	/* Often let the length follow the opcode, to get past the gate. */
	if ((c0 & 0x80) && cdb_len) {
		static const uint8_t group_len[8] = { 6, 10, 10, 0, 16, 12, 0, 0 };
		uint8_t want = group_len[cdb[0] >> 5];

		if (want && want <= len)
			cdb_len = want;
		memcpy(cdb, in, cdb_len);
	}
	in += cdb_len;
	len -= cdb_len;
	dirb = take(&in, &len);
	errb = take(&in, &len);
	layout = take(&in, &len);
	pad = take(&in, &len);
	dir = (enum scsi_dir)(dirb % 3);

	/* The data: up to 4 exact-size heap blocks, so overruns are caught. */
	if (len > FUZZ_MAX_DATA)
		len = FUZZ_MAX_DATA;
	total = len + (size_t)(pad & 31) * 512;
	data = calloc(1, total ? total : 1);
	memcpy(data, in, len);
	in = data;
	cut[0] = 0;
	cut[FUZZ_IOVS] = total;
	for (int i = 1; i < FUZZ_IOVS; i++) {
		size_t c = total * ((layout >> (2 * i)) & 3) / 3;

		cut[i] = c < cut[i - 1] ? cut[i - 1] : c;
	}
	for (int i = 0; i < FUZZ_IOVS; i++) {
		size_t n = cut[i + 1] - cut[i];

		iovmem[i] = malloc(n ? n : 1);
		memcpy(iovmem[i], in + cut[i], n);
		iov[i].iov_base = iovmem[i];
		iov[i].iov_len = n;
	}
	b.iov = iov;
	b.iovcnt = FUZZ_IOVS;
	/* buf.len may be less than the iovecs hold, never more. */
	b.len = (uint32_t)(layout & 3 ? total : total / 2);
	before = malloc(total ? total : 1);
	memcpy(before, in, total);

	/* The CDB alone in its own exact block too. */
	cdb_exact = malloc(cdb_len ? cdb_len : 1);
	memcpy(cdb_exact, cdb, cdb_len);

	switch ((c1 >> 6) & 3) {
	case 0:
	case 1:
		scsi_exec(&d, cdb_len ? cdb_exact : NULL, cdb_len,
			  dir, &b, &r);
		break;
	case 2:
		scsi_exec_no_lun(cdb_len ? cdb_exact : NULL, cdb_len,
				 dir, &b, &r);
		CHECK(r.kind == SCSI_DONE);
		break;
	default:
		for (unsigned int i = 0; i < 256; i++)
			luns[i] = (uint16_t)(i * (c2 | 1) * 67);
		scsi_report_luns(luns, c2, cdb_len ? cdb_exact : NULL,
				 cdb_len, dir, &b, &r);
		CHECK(r.kind == SCSI_DONE);
		break;
	}

	/*
	 * Nothing may be written but data-in, and only below xfer; the
	 * block work of SCSI_IO is the host's to do, so nothing before it.
	 */
	for (int i = 0; i < FUZZ_IOVS; i++) {
		size_t n = cut[i + 1] - cut[i];

		for (size_t k = 0; k < n; k++) {
			size_t at = cut[i] + k;

			if (iovmem[i][k] != before[at])
				CHECK(dir == SCSI_DIR_IN && r.kind == SCSI_DONE &&
				      at < r.xfer);
		}
	}

	if (r.kind == SCSI_IO) {
		check_io(&d, &r, dir, &b);
		scsi_io_done(&d, &r, errs[errb & 3]);
		check_done(&r, &b);
		CHECK((r.status == HVIS_SCSI_STATUS_GOOD) == !(errb & 3));
	} else {
		check_done(&r, &b);
		/* done is idempotent on a finished result */
		scsi_io_done(&d, &r, -EIO);
		check_done(&r, &b);
	}

	free(cdb_exact);
	free(data);
	free(before);
	for (int i = 0; i < FUZZ_IOVS; i++)
		free(iovmem[i]);
	return 0;
}
