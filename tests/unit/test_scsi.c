// SPDX-License-Identifier: GPL-2.0-only
/*
 * SCSI disk target tests: every command with the answer Linux would
 * decode from it (offsets as sd.c and scsi_scan.c read them, spelled as
 * literals here so that a wrong constant in include/hvis/scsi.h shows),
 * the block work of each READ/WRITE form, a table of malformed commands
 * with their exact sense, scsi_io_done's errno mapping, REPORT LUNS and
 * the absent-LUN answers. Every data buffer is an exact-size heap block
 * split into three iovecs, so an overrun is an ASan error and the iovec
 * walk is exercised at every boundary.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "host-vsp/storage/scsi.h"
#include "unit.h"

/* ------------------------------------------------------------ fixtures */

struct tbuf {
	uint8_t *mem;
	struct iovec iov[3];
	struct scsi_buf b;
};

/* @len bytes of 0xEE in three uneven iovecs (some empty when tiny). */
static void tbuf_init(struct tbuf *t, uint32_t len)
{
	uint32_t a = len / 3, b = len - len / 4;

	t->mem = malloc(len ? len : 1);
	CU_ASSERT_FATAL(t->mem != NULL);
	memset(t->mem, 0xEE, len);
	t->iov[0] = (struct iovec){ t->mem, a };
	t->iov[1] = (struct iovec){ t->mem + a, b - a };
	t->iov[2] = (struct iovec){ t->mem + b, len - b };
	t->b = (struct scsi_buf){ t->iov, 3, len };
}

static void tbuf_free(struct tbuf *t)
{
	free(t->mem);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

/* A thin 1 GiB disk of 512-byte blocks on 4 KiB physical blocks. */
static struct scsi_disk disk_default(void)
{
	struct scsi_disk d;

	memset(&d, 0, sizeof(d));
	d.nblocks = 1u << 21;
	d.block_size = 512;
	d.phys_block_size = 4096;
	d.can_unmap = true;
	d.write_cache = true;
	strcpy(d.vendor, "Msft");
	strcpy(d.product, "Virtual Disk");
	strcpy(d.revision, "1.0");
	strcpy(d.serial, "HVIS-0001");
	for (int i = 0; i < 16; i++)
		d.id[i] = (uint8_t)(0xA0 + i);
	d.naa_oui = 0x002248;
	d.max_xfer_blocks = 2048;
	d.opt_xfer_blocks = 256;
	d.max_unmap_blocks = 1u << 20;
	d.max_unmap_descs = 4;
	CU_ASSERT_FATAL(scsi_disk_validate(&d) == 0);
	return d;
}

static struct scsi_result R;

/* Run @cdb against @d with a fresh @buflen-byte buffer kept in @t. */
static void run(const struct scsi_disk *d, const uint8_t *cdb, uint32_t len,
		enum scsi_dir dir, struct tbuf *t, uint32_t buflen)
{
	tbuf_init(t, buflen);
	scsi_exec(d, cdb, len, dir, &t->b, &R);
}

static bool sense_is(const struct scsi_result *r, uint8_t key, uint8_t asc,
		     uint8_t ascq)
{
	return r->kind == SCSI_DONE && r->status == 0x02 &&
	       r->sense_len == 18 && r->sense[0] == 0x70 &&
	       (r->sense[2] & 0x0F) == key && r->sense[7] == 10 &&
	       r->sense[12] == asc && r->sense[13] == ascq && r->xfer == 0;
}

static bool good(const struct scsi_result *r)
{
	return r->kind == SCSI_DONE && r->status == 0 && r->sense_len == 0;
}

#define CHECK_SENSE(key, asc, ascq) \
	CU_ASSERT(sense_is(&R, key, asc, ascq))

/* ------------------------------------------------------------ buffers */

static void test_buf_copy(void)
{
	uint8_t mem[10], out[16], src[16];
	struct iovec iov[4] = {
		{ mem, 3 }, { mem + 3, 0 }, { mem + 3, 4 }, { mem + 7, 3 },
	};
	struct scsi_buf b = { iov, 4, 10 };

	for (int i = 0; i < 16; i++)
		src[i] = (uint8_t)(i + 1);
	memset(mem, 0, sizeof(mem));
	CU_ASSERT_EQUAL(scsi_buf_to(&b, 2, src, 6), 6);
	CU_ASSERT_EQUAL(memcmp(mem + 2, src, 6), 0);
	CU_ASSERT_EQUAL(mem[1], 0);
	CU_ASSERT_EQUAL(mem[8], 0);
	/* clipped at len */
	CU_ASSERT_EQUAL(scsi_buf_to(&b, 7, src, 16), 3);
	CU_ASSERT_EQUAL(scsi_buf_to(&b, 10, src, 1), 0);
	CU_ASSERT_EQUAL(scsi_buf_to(&b, SIZE_MAX, src, 1), 0);
	CU_ASSERT_EQUAL(scsi_buf_from(&b, 0, out, 16), 10);
	CU_ASSERT_EQUAL(memcmp(out + 7, src, 3), 0);
	CU_ASSERT_EQUAL(scsi_buf_from(&b, 4, out, 2), 2);
	CU_ASSERT_EQUAL(out[0], 3);
	/* len larger than the iovecs: the iovecs win */
	b.len = 100;
	CU_ASSERT_EQUAL(scsi_buf_from(&b, 5, out, 50), 5);
	CU_ASSERT_EQUAL(scsi_buf_from(&b, 12, out, 50), 0);
	CU_ASSERT_EQUAL(scsi_buf_to(NULL, 0, src, 1), 0);
	b.iovcnt = 0;
	CU_ASSERT_EQUAL(scsi_buf_from(&b, 0, out, 1), 0);
}

static void test_disk_validate(void)
{
	struct scsi_disk d = disk_default(), e;

	e = d;
	e.block_size = 1024;
	CU_ASSERT_EQUAL(scsi_disk_validate(&e), -EINVAL);
	e = d;
	e.phys_block_size = 256;
	CU_ASSERT_EQUAL(scsi_disk_validate(&e), -EINVAL);
	e = d;
	e.phys_block_size = 3 * 512;
	CU_ASSERT_EQUAL(scsi_disk_validate(&e), -EINVAL);
	e = d;
	e.phys_block_size = 512u << 16;
	CU_ASSERT_EQUAL(scsi_disk_validate(&e), -EINVAL);
	e = d;
	e.phys_block_size = 512u << 15;
	CU_ASSERT_EQUAL(scsi_disk_validate(&e), 0);
	e = d;
	e.nblocks = 0;
	CU_ASSERT_EQUAL(scsi_disk_validate(&e), -EINVAL);
	e = d;
	e.nblocks = UINT64_MAX / 512 + 1;
	CU_ASSERT_EQUAL(scsi_disk_validate(&e), -EINVAL);
	e = d;
	e.block_size = 4096;
	e.phys_block_size = 4096;
	CU_ASSERT_EQUAL(scsi_disk_validate(&e), 0);
}

/* ------------------------------------------------------------ INQUIRY */

static void test_inquiry_standard(void)
{
	struct scsi_disk d = disk_default();
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	struct tbuf t;

	run(&d, cdb, 6, SCSI_DIR_IN, &t, 96);
	CU_ASSERT(good(&R));
	CU_ASSERT_EQUAL(R.xfer, 36);
	CU_ASSERT_EQUAL(t.mem[0], 0x00);		/* connected disk */
	CU_ASSERT_EQUAL(t.mem[1], 0x00);		/* not removable */
	CU_ASSERT_EQUAL(t.mem[2] & 0x07, 6);		/* SPC-4: scsi_level 7 */
	CU_ASSERT_EQUAL(t.mem[3], 0x12);		/* HiSup, format 2 */
	CU_ASSERT_EQUAL(t.mem[4], 31);
	CU_ASSERT_EQUAL(t.mem[5], 0);			/* no PROTECT, no TPGS */
	CU_ASSERT_EQUAL(t.mem[7] & 0x02, 0x02);	/* CmdQue */
	CU_ASSERT_EQUAL(memcmp(t.mem + 8, "Msft    ", 8), 0);
	CU_ASSERT_EQUAL(memcmp(t.mem + 16, "Virtual Disk    ", 16), 0);
	CU_ASSERT_EQUAL(memcmp(t.mem + 32, "1.0 ", 4), 0);
	CU_ASSERT_EQUAL(t.mem[36], 0xEE);		/* untouched */
	tbuf_free(&t);

	/* Linux's first, cautious INQUIRY, and shorter allocations. */
	cdb[4] = 36;
	run(&d, cdb, 6, SCSI_DIR_IN, &t, 36);
	CU_ASSERT(good(&R) && R.xfer == 36);
	tbuf_free(&t);
	cdb[4] = 5;
	run(&d, cdb, 6, SCSI_DIR_IN, &t, 36);
	CU_ASSERT(good(&R) && R.xfer == 5);
	CU_ASSERT_EQUAL(t.mem[5], 0xEE);
	tbuf_free(&t);
	/* a buffer shorter than the allocation length bounds the copy */
	cdb[4] = 255;
	run(&d, cdb, 6, SCSI_DIR_IN, &t, 20);
	CU_ASSERT(good(&R) && R.xfer == 20);
	tbuf_free(&t);
	cdb[4] = 0;
	run(&d, cdb, 6, SCSI_DIR_IN, &t, 36);
	CU_ASSERT(good(&R) && R.xfer == 0);
	tbuf_free(&t);

	/* Non-printable text is blanked; full-width fields are not cut. */
	memcpy(d.vendor, "AB\001DEFGH", 9);
	memcpy(d.product, "0123456789ABCDEF", 17);
	cdb[4] = 36;
	run(&d, cdb, 6, SCSI_DIR_IN, &t, 36);
	CU_ASSERT_EQUAL(memcmp(t.mem + 8, "AB DEFGH", 8), 0);
	CU_ASSERT_EQUAL(memcmp(t.mem + 16, "0123456789ABCDEF", 16), 0);
	tbuf_free(&t);
}

/* VPD page @page of @d into a 255-byte buffer (as Linux asks); its length. */
static uint32_t vpd(const struct scsi_disk *d, uint8_t page, struct tbuf *t)
{
	uint8_t cdb[6] = { 0x12, 0x01, page, 0, 255, 0 };

	run(d, cdb, 6, SCSI_DIR_IN, t, 255);
	CU_ASSERT_FATAL(good(&R));
	CU_ASSERT_EQUAL(t->mem[0], 0x00);
	CU_ASSERT_EQUAL(t->mem[1], page);
	CU_ASSERT_EQUAL(R.xfer, 4u + be16(t->mem + 2));
	return R.xfer;
}

static void test_vpd_supported_pages(void)
{
	static const uint8_t want[] = { 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2 };
	struct scsi_disk d = disk_default();
	struct tbuf t;
	uint8_t list[sizeof(want)];

	CU_ASSERT_EQUAL(vpd(&d, 0x00, &t), 4 + sizeof(want));
	CU_ASSERT_EQUAL(memcmp(t.mem + 4, want, sizeof(want)), 0);
	memcpy(list, t.mem + 4, sizeof(list));
	tbuf_free(&t);

	/* Every listed page answers, with its own code and a length. */
	for (size_t i = 0; i < sizeof(list); i++) {
		CU_ASSERT(vpd(&d, list[i], &t) > 4);
		tbuf_free(&t);
	}
	/* ... and a page not listed is refused. */
	for (unsigned int p = 1; p < 256; p++) {
		uint8_t cdb[6] = { 0x12, 0x01, (uint8_t)p, 0, 255, 0 };

		if (memchr(list, (int)p, sizeof(list)))
			continue;
		run(&d, cdb, 6, SCSI_DIR_IN, &t, 255);
		CHECK_SENSE(0x5, 0x24, 0x00);
		tbuf_free(&t);
	}
}

static void test_vpd_serial(void)
{
	struct scsi_disk d = disk_default();
	struct tbuf t;

	CU_ASSERT_EQUAL(vpd(&d, 0x80, &t), 4 + 9);
	CU_ASSERT_EQUAL(memcmp(t.mem + 4, "HVIS-0001", 9), 0);
	tbuf_free(&t);
	/* none configured: the id in hex, never an empty page */
	d.serial[0] = 0;
	CU_ASSERT_EQUAL(vpd(&d, 0x80, &t), 4 + 32);
	CU_ASSERT_EQUAL(memcmp(t.mem + 4, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF", 32), 0);
	tbuf_free(&t);
	memset(d.serial, 'S', 64);
	d.serial[64] = 0;
	CU_ASSERT_EQUAL(vpd(&d, 0x80, &t), 4 + 64);
	tbuf_free(&t);
}

static void test_vpd_device_id(void)
{
	static const uint8_t naa[16] = {
		0x60, 0x02, 0x24, 0x83, 0xA4, 0xA5, 0xA6, 0xA7,
		0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF,
	};
	struct scsi_disk d = disk_default();
	struct tbuf t;
	uint32_t len = vpd(&d, 0x83, &t), off = 4;
	int seen_naa = 0, seen_t10 = 0;

	/* Walk the designators as scsi_vpd_lun_id() does. */
	while (off + 4 <= len) {
		const uint8_t *dd = t.mem + off;

		CU_ASSERT_FATAL(off + 4 + dd[3] <= len);
		CU_ASSERT_EQUAL(dd[1] & 0x30, 0);	/* the logical unit */
		if ((dd[1] & 0x0F) == 3) {
			seen_naa++;
			CU_ASSERT_EQUAL(dd[0] & 0x0F, 1);	/* binary */
			CU_ASSERT_EQUAL(dd[3], 16);
			CU_ASSERT_EQUAL(dd[4] >> 4, 6);	/* registered ext. */
			CU_ASSERT_EQUAL(memcmp(dd + 4, naa, 16), 0);
		} else if ((dd[1] & 0x0F) == 1) {
			seen_t10++;
			CU_ASSERT_EQUAL(dd[0] & 0x0F, 2);	/* ASCII */
			CU_ASSERT_EQUAL(dd[3], 40);
			CU_ASSERT_EQUAL(memcmp(dd + 4, "Msft    A0A1A2A3A4A5A6A7A8A9AAABACADAEAF", 40), 0);
		}
		off += 4 + dd[3];
	}
	CU_ASSERT_EQUAL(off, len);
	CU_ASSERT_EQUAL(seen_naa, 1);
	CU_ASSERT_EQUAL(seen_t10, 1);
	tbuf_free(&t);
}

static void test_vpd_block_limits(void)
{
	struct scsi_disk d = disk_default();
	struct tbuf t;

	/* sd_read_block_limits() wants at least 64 bytes for the unmap part. */
	CU_ASSERT_EQUAL(vpd(&d, 0xB0, &t), 64);
	CU_ASSERT_EQUAL(t.mem[4] & 1, 1);			/* WSNZ */
	CU_ASSERT_EQUAL(be16(t.mem + 6), 8);			/* 4096 / 512 */
	CU_ASSERT_EQUAL(be32(t.mem + 8), 2048);		/* max transfer */
	CU_ASSERT_EQUAL(be32(t.mem + 12), 256);		/* optimal */
	CU_ASSERT_EQUAL(be32(t.mem + 20), 1u << 20);		/* max unmap LBAs */
	CU_ASSERT_EQUAL(be32(t.mem + 24), 4);			/* descriptors */
	CU_ASSERT_EQUAL(be32(t.mem + 28), 8);			/* granularity */
	CU_ASSERT_EQUAL(be32(t.mem + 32), 0);
	CU_ASSERT_EQUAL(be64(t.mem + 36), 1u << 20);		/* write same */
	tbuf_free(&t);

	/* No limits configured: "none" for unmap, capped by our array. */
	d.max_unmap_blocks = 0;
	d.max_unmap_descs = 0;
	d.max_xfer_blocks = 0;
	vpd(&d, 0xB0, &t);
	CU_ASSERT_EQUAL(be32(t.mem + 8), 0);
	CU_ASSERT_EQUAL(be32(t.mem + 20), 0xFFFFFFFFu);
	CU_ASSERT_EQUAL(be32(t.mem + 24), 64);
	CU_ASSERT_EQUAL(be64(t.mem + 36), 0);
	tbuf_free(&t);
	d.max_unmap_descs = 1000;
	vpd(&d, 0xB0, &t);
	CU_ASSERT_EQUAL(be32(t.mem + 24), 64);
	tbuf_free(&t);

	/* A thick disk reports no unmap limits, so Linux will not UNMAP. */
	d.can_unmap = false;
	vpd(&d, 0xB0, &t);
	CU_ASSERT_EQUAL(be32(t.mem + 20), 0);
	CU_ASSERT_EQUAL(be32(t.mem + 24), 0);
	tbuf_free(&t);
}

static void test_vpd_b1_b2(void)
{
	struct scsi_disk d = disk_default();
	struct tbuf t;

	/* sd_read_block_characteristics() wants more than 8 bytes. */
	CU_ASSERT_EQUAL(vpd(&d, 0xB1, &t), 64);
	CU_ASSERT_EQUAL(be16(t.mem + 4), 1);		/* non-rotating */
	CU_ASSERT_EQUAL((t.mem[8] >> 4) & 3, 0);	/* not zoned */
	tbuf_free(&t);
	d.rotational = true;
	vpd(&d, 0xB1, &t);
	CU_ASSERT_EQUAL(be16(t.mem + 4), 0);
	tbuf_free(&t);

	/* sd_read_block_provisioning() wants at least 8. */
	CU_ASSERT_EQUAL(vpd(&d, 0xB2, &t), 8);
	CU_ASSERT_EQUAL(t.mem[5] & 0x80, 0x80);	/* LBPU */
	CU_ASSERT_EQUAL(t.mem[5] & 0x40, 0x40);	/* LBPWS */
	CU_ASSERT_EQUAL(t.mem[5] & 0x20, 0x20);	/* LBPWS10 */
	CU_ASSERT_EQUAL((t.mem[5] >> 2) & 7, 1);	/* LBPRZ: zeros */
	CU_ASSERT_EQUAL(t.mem[6] & 7, 2);		/* thin */
	tbuf_free(&t);
	d.can_unmap = false;
	vpd(&d, 0xB2, &t);
	CU_ASSERT_EQUAL(t.mem[5], 0);
	CU_ASSERT_EQUAL(t.mem[6], 0);
	tbuf_free(&t);
}

/* ------------------------------------------------------------ capacity */

static void test_read_capacity(void)
{
	struct scsi_disk d = disk_default();
	uint8_t rc10[10] = { 0x25 };
	uint8_t rc16[16] = { 0x9E, 0x10 };
	struct tbuf t;

	run(&d, rc10, 10, SCSI_DIR_IN, &t, 8);
	CU_ASSERT(good(&R) && R.xfer == 8);
	CU_ASSERT_EQUAL(be32(t.mem), (1u << 21) - 1);
	CU_ASSERT_EQUAL(be32(t.mem + 4), 512);
	tbuf_free(&t);

	put_be32(rc16 + 10, 32);
	run(&d, rc16, 16, SCSI_DIR_IN, &t, 32);
	CU_ASSERT(good(&R) && R.xfer == 32);
	CU_ASSERT_EQUAL(be64(t.mem), (1u << 21) - 1);
	CU_ASSERT_EQUAL(be32(t.mem + 8), 512);
	CU_ASSERT_EQUAL(t.mem[12] & 1, 0);		/* no protection */
	CU_ASSERT_EQUAL(t.mem[13] & 0x0F, 3);		/* 8 per physical */
	CU_ASSERT_EQUAL(t.mem[14] & 0x80, 0x80);	/* LBPME */
	CU_ASSERT_EQUAL(t.mem[14] & 0x40, 0x40);	/* LBPRZ */
	CU_ASSERT_EQUAL(be16(t.mem + 14) & 0x3FFF, 0);	/* aligned at 0 */
	tbuf_free(&t);

	/* Bigger than 2^32 blocks: RC10 says so, RC16 tells. */
	d.nblocks = (1ull << 32) + 5;
	d.can_unmap = false;
	d.block_size = 4096;
	d.phys_block_size = 4096;
	run(&d, rc10, 10, SCSI_DIR_IN, &t, 8);
	CU_ASSERT_EQUAL(be32(t.mem), 0xFFFFFFFFu);
	CU_ASSERT_EQUAL(be32(t.mem + 4), 4096);
	tbuf_free(&t);
	d.nblocks = 1ull << 32;	/* last LBA 0xFFFFFFFF cannot be told */
	run(&d, rc10, 10, SCSI_DIR_IN, &t, 8);
	CU_ASSERT_EQUAL(be32(t.mem), 0xFFFFFFFFu);
	tbuf_free(&t);
	d.nblocks = 0xFFFFFFFFull;
	run(&d, rc10, 10, SCSI_DIR_IN, &t, 8);
	CU_ASSERT_EQUAL(be32(t.mem), 0xFFFFFFFEu);
	tbuf_free(&t);
	d.nblocks = (1ull << 32) + 5;
	run(&d, rc16, 16, SCSI_DIR_IN, &t, 32);
	CU_ASSERT_EQUAL(be64(t.mem), (1ull << 32) + 4);
	CU_ASSERT_EQUAL(t.mem[13] & 0x0F, 0);
	CU_ASSERT_EQUAL(t.mem[14], 0);
	tbuf_free(&t);

	/* allocation length bounds the copy */
	put_be32(rc16 + 10, 12);
	run(&d, rc16, 16, SCSI_DIR_IN, &t, 32);
	CU_ASSERT(good(&R) && R.xfer == 12);
	CU_ASSERT_EQUAL(t.mem[12], 0xEE);
	tbuf_free(&t);
	/* other service actions of 0x9E */
	rc16[1] = 0x11;
	run(&d, rc16, 16, SCSI_DIR_IN, &t, 32);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
	rc16[1] = 0x30;
	run(&d, rc16, 16, SCSI_DIR_IN, &t, 32);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
}

/* ------------------------------------------------------------ MODE SENSE */

/* Mode data as scsi_mode_sense() parses it. */
struct mode_data {
	uint32_t length, hlen, bdlen;
	uint8_t dsp, longlba;
};

static struct mode_data mode_parse(const uint8_t *b, bool ten)
{
	struct mode_data m;

	if (ten) {
		m.length = be16(b) + 2u;
		m.dsp = b[3];
		m.longlba = b[4] & 1;
		m.bdlen = be16(b + 6);
		m.hlen = 8;
	} else {
		m.length = b[0] + 1u;
		m.dsp = b[2];
		m.longlba = 0;
		m.bdlen = b[3];
		m.hlen = 4;
	}
	return m;
}

/* Offset of page @code in mode data @b (-1 if absent), walking like sd. */
static int mode_find(const uint8_t *b, const struct mode_data *m, uint8_t code)
{
	uint32_t off = m->hlen + m->bdlen;

	while (off + 2 <= m->length) {
		if ((b[off] & 0x3F) == code)
			return (int)off;
		off += 2u + b[off + 1];
	}
	return -1;
}

static void mode_sense(const struct scsi_disk *d, bool ten, uint8_t flags,
		       uint8_t page, uint8_t sub, struct tbuf *t)
{
	uint8_t cdb[10] = { ten ? 0x5A : 0x1A, flags, page, sub };

	if (ten)
		put_be16(cdb + 7, 255);
	else
		cdb[4] = 255;
	run(d, cdb, ten ? 10 : 6, SCSI_DIR_IN, t, 255);
}

static void test_mode_sense_caching(void)
{
	struct scsi_disk d = disk_default();
	struct mode_data m;
	struct tbuf t;
	int off;

	/* sd_read_cache_type(): page 8, DBD off (sd passes dbd 0) */
	for (int ten = 0; ten < 2; ten++) {
		mode_sense(&d, ten, 0, 0x08, 0, &t);
		CU_ASSERT_FATAL(good(&R));
		m = mode_parse(t.mem, ten);
		CU_ASSERT_EQUAL(R.xfer, m.length);
		CU_ASSERT_EQUAL(m.bdlen, 8);
		CU_ASSERT_EQUAL(m.dsp & 0x80, 0);	/* not WP */
		CU_ASSERT_EQUAL(m.dsp & 0x10, 0x10);	/* DPOFUA */
		/* the block descriptor: blocks, block length */
		CU_ASSERT_EQUAL(be32(t.mem + m.hlen), 1u << 21);
		CU_ASSERT_EQUAL(be32(t.mem + m.hlen + 4) & 0xFFFFFF, 512);
		off = mode_find(t.mem, &m, 0x08);
		CU_ASSERT_FATAL(off >= 0);
		CU_ASSERT_EQUAL(t.mem[off + 1], 0x12);
		CU_ASSERT_EQUAL(t.mem[off + 2] & 0x04, 0x04);	/* WCE */
		CU_ASSERT_EQUAL(t.mem[off + 2] & 0x01, 0);	/* RCD */
		CU_ASSERT_EQUAL(m.length, m.hlen + 8 + 20);
		CU_ASSERT_EQUAL(mode_find(t.mem, &m, 0x0A), -1);
		tbuf_free(&t);
	}

	/* write through; DBD drops the descriptor; read-only sets WP */
	d.write_cache = false;
	d.read_only = true;
	mode_sense(&d, false, 0x08, 0x08, 0, &t);
	m = mode_parse(t.mem, false);
	CU_ASSERT_EQUAL(m.bdlen, 0);
	CU_ASSERT_EQUAL(m.dsp & 0x80, 0x80);
	CU_ASSERT_EQUAL(t.mem[4], 0x08);
	CU_ASSERT_EQUAL(t.mem[4 + 2] & 0x04, 0);
	CU_ASSERT_EQUAL(m.length, 4 + 20);
	tbuf_free(&t);

	/* changeable: nothing; default: as current */
	d.write_cache = true;
	mode_sense(&d, false, 0x08, 0x40 | 0x08, 0, &t);
	CU_ASSERT(good(&R));
	CU_ASSERT_EQUAL(t.mem[4], 0x08);
	CU_ASSERT_EQUAL(t.mem[5], 0x12);
	CU_ASSERT_EQUAL(t.mem[6], 0);
	tbuf_free(&t);
	mode_sense(&d, false, 0x08, 0x80 | 0x08, 0, &t);
	CU_ASSERT(good(&R));
	CU_ASSERT_EQUAL(t.mem[6] & 0x04, 0x04);
	tbuf_free(&t);
	/* saved values are not supported */
	mode_sense(&d, false, 0x08, 0xC0 | 0x08, 0, &t);
	CHECK_SENSE(0x5, 0x39, 0x00);
	tbuf_free(&t);
}

static void test_mode_sense_all_and_control(void)
{
	struct scsi_disk d = disk_default();
	uint8_t cdb[6] = { 0x1A, 0, 0x3F, 0, 4, 0 };
	struct mode_data m;
	struct tbuf t;
	int off;

	/* sd_read_write_protect_flag(): 0x3F, 4 bytes first */
	d.read_only = true;
	run(&d, cdb, 6, SCSI_DIR_IN, &t, 4);
	CU_ASSERT(good(&R) && R.xfer == 4);
	m = mode_parse(t.mem, false);
	CU_ASSERT_EQUAL(m.dsp & 0x80, 0x80);
	CU_ASSERT_EQUAL(m.length, 4 + 8 + 20 + 12);	/* the full length */
	tbuf_free(&t);

	mode_sense(&d, false, 0, 0x3F, 0, &t);
	m = mode_parse(t.mem, false);
	CU_ASSERT_EQUAL(R.xfer, m.length);
	CU_ASSERT(mode_find(t.mem, &m, 0x08) >= 0);
	off = mode_find(t.mem, &m, 0x0A);
	CU_ASSERT_FATAL(off >= 0);
	CU_ASSERT_EQUAL(t.mem[off + 1], 0x0A);
	CU_ASSERT_EQUAL(t.mem[off + 2] & 0x04, 0);	/* D_SENSE: fixed */
	CU_ASSERT_EQUAL(t.mem[off + 3] >> 4, 1);	/* unrestricted order */
	/* ascending page order */
	CU_ASSERT(mode_find(t.mem, &m, 0x08) < off);
	tbuf_free(&t);
	/* all subpages too: we have none */
	mode_sense(&d, true, 0, 0x3F, 0xFF, &t);
	CU_ASSERT(good(&R));
	m = mode_parse(t.mem, true);
	CU_ASSERT_EQUAL(m.length, 8 + 8 + 20 + 12);
	tbuf_free(&t);

	mode_sense(&d, true, 0x08, 0x0A, 0, &t);
	m = mode_parse(t.mem, true);
	CU_ASSERT_EQUAL(m.length, 8 + 12);
	CU_ASSERT_EQUAL(t.mem[8], 0x0A);
	tbuf_free(&t);

	/* LLBAA: a long descriptor, with the whole block count */
	d.nblocks = (1ull << 32) + 7;
	mode_sense(&d, true, 0x10, 0x08, 0, &t);
	m = mode_parse(t.mem, true);
	CU_ASSERT_EQUAL(m.longlba, 1);
	CU_ASSERT_EQUAL(m.bdlen, 16);
	CU_ASSERT_EQUAL(be64(t.mem + 8), (1ull << 32) + 7);
	CU_ASSERT_EQUAL(be32(t.mem + 8 + 12), 512);
	tbuf_free(&t);
	/* without it the short descriptor saturates */
	mode_sense(&d, true, 0, 0x08, 0, &t);
	m = mode_parse(t.mem, true);
	CU_ASSERT_EQUAL(m.longlba, 0);
	CU_ASSERT_EQUAL(m.bdlen, 8);
	CU_ASSERT_EQUAL(be32(t.mem + 8), 0xFFFFFFFFu);
	tbuf_free(&t);

	/* unsupported pages and subpages */
	mode_sense(&d, false, 0, 0x01, 0, &t);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
	mode_sense(&d, false, 0, 0x00, 0, &t);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
	mode_sense(&d, true, 0, 0x08, 0x01, &t);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
}

/* ------------------------------------------------------------ simple */

static void test_simple_commands(void)
{
	struct scsi_disk d = disk_default();
	static const uint8_t tur[6] = { 0x00 };
	static const uint8_t ssu[6] = { 0x1B, 0x01, 0, 0, 0x01, 0 };
	static const uint8_t pamr[6] = { 0x1E, 0, 0, 0, 0x01, 0 };
	uint8_t rs[6] = { 0x03, 0, 0, 0, 252, 0 };
	uint8_t vf10[10] = { 0x2F };
	uint8_t vf16[16] = { 0x8F };
	uint8_t vf12[12] = { 0xAF };
	struct tbuf t;

	run(&d, tur, 6, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(good(&R) && R.xfer == 0);
	tbuf_free(&t);
	run(&d, ssu, 6, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(good(&R));
	tbuf_free(&t);
	run(&d, pamr, 6, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(good(&R));
	tbuf_free(&t);
	/* a command without data ignores a stray buffer */
	run(&d, tur, 6, SCSI_DIR_OUT, &t, 512);
	CU_ASSERT(good(&R) && R.xfer == 0);
	tbuf_free(&t);

	/* REQUEST SENSE: nothing pending */
	run(&d, rs, 6, SCSI_DIR_IN, &t, 252);
	CU_ASSERT(good(&R) && R.xfer == 18);
	CU_ASSERT_EQUAL(t.mem[0], 0x70);
	CU_ASSERT_EQUAL(t.mem[2] & 0x0F, 0);
	CU_ASSERT_EQUAL(t.mem[7], 10);
	CU_ASSERT_EQUAL(t.mem[12], 0);
	CU_ASSERT_EQUAL(t.mem[13], 0);
	tbuf_free(&t);
	rs[4] = 8;
	run(&d, rs, 6, SCSI_DIR_IN, &t, 252);
	CU_ASSERT(good(&R) && R.xfer == 8);
	tbuf_free(&t);
	rs[1] = 0x01;	/* descriptor format */
	run(&d, rs, 6, SCSI_DIR_IN, &t, 252);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);

	/* VERIFY without BYTCHK: range checked, nothing else */
	put_be32(vf10 + 2, (1u << 21) - 8);
	put_be16(vf10 + 7, 8);
	run(&d, vf10, 10, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(good(&R));
	tbuf_free(&t);
	put_be16(vf10 + 7, 9);
	run(&d, vf10, 10, SCSI_DIR_NONE, &t, 0);
	CHECK_SENSE(0x5, 0x21, 0x00);
	tbuf_free(&t);
	put_be16(vf10 + 7, 1);
	vf10[1] = 0x02;		/* BYTCHK */
	run(&d, vf10, 10, SCSI_DIR_NONE, &t, 0);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
	put_be64(vf16 + 2, 5);
	put_be32(vf16 + 10, 1);
	run(&d, vf16, 16, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(good(&R));
	tbuf_free(&t);
	put_be32(vf12 + 2, 1u << 21);
	put_be32(vf12 + 6, 1);
	run(&d, vf12, 12, SCSI_DIR_NONE, &t, 0);
	CHECK_SENSE(0x5, 0x21, 0x00);
	tbuf_free(&t);
}

/* ------------------------------------------------------------ READ/WRITE */

struct rw_case {
	const char *what;
	uint8_t cdb[16];
	uint32_t len;
	enum scsi_io_op op;
	uint64_t lba;
	uint32_t nblocks;
	bool fua;
};

static const struct rw_case rw_cases[] = {
	{ "READ(6)", { 0x08, 0x1F, 0xFF, 0xFD, 3, 0 }, 6,
	  SCSI_IO_READ, 0x1FFFFD, 3, false },
	{ "READ(6) 0 = 256", { 0x08, 0x00, 0x01, 0x00, 0, 0 }, 6,
	  SCSI_IO_READ, 0x100, 256, false },
	{ "WRITE(6)", { 0x0A, 0x01, 0x02, 0x03, 1, 0 }, 6,
	  SCSI_IO_WRITE, 0x10203, 1, false },
	{ "READ(10)", { 0x28, 0x00, 0x00, 0x1F, 0xFF, 0xF0, 0, 0x00, 0x10, 0 }, 10,
	  SCSI_IO_READ, 0x1FFFF0, 16, false },
	{ "READ(10) FUA DPO", { 0x28, 0x18, 0, 0, 0, 7, 0, 0x00, 0x01, 0 }, 10,
	  SCSI_IO_READ, 7, 1, true },
	{ "WRITE(10) FUA", { 0x2A, 0x08, 0, 0x01, 0, 0, 0x3F, 0x08, 0x00, 0 }, 10,
	  SCSI_IO_WRITE, 0x10000, 2048, true },
	{ "WRITE(10)", { 0x2A, 0x00, 0, 0, 0, 0, 0, 0x00, 0x01, 0 }, 10,
	  SCSI_IO_WRITE, 0, 1, false },
	{ "READ(12)", { 0xA8, 0x00, 0, 0x1F, 0xFF, 0xFF, 0, 0, 0, 1, 0, 0 }, 12,
	  SCSI_IO_READ, 0x1FFFFF, 1, false },
	{ "WRITE(12) FUA", { 0xAA, 0x08, 0, 0, 0x12, 0x34, 0, 0, 0x01, 0x00, 0, 0 }, 12,
	  SCSI_IO_WRITE, 0x1234, 256, true },
	{ "READ(16)", { 0x88, 0x00, 0, 0, 0, 0, 0, 0x1F, 0x00, 0x01, 0, 0, 0, 0x80, 0, 0 }, 16,
	  SCSI_IO_READ, 0x1F0001, 128, false },
	{ "WRITE(16) FUA", { 0x8A, 0x08, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0x08, 0x00, 0, 0 }, 16,
	  SCSI_IO_WRITE, 9, 2048, true },
};

static void test_read_write_decode(void)
{
	struct scsi_disk d = disk_default();

	for (size_t i = 0; i < sizeof(rw_cases) / sizeof(rw_cases[0]); i++) {
		const struct rw_case *c = &rw_cases[i];
		enum scsi_dir dir = c->op == SCSI_IO_READ ? SCSI_DIR_IN : SCSI_DIR_OUT;
		struct tbuf t;
		bool ok;

		/* the buffer may be larger than the transfer */
		run(&d, c->cdb, c->len, dir, &t, c->nblocks * 512 + 100);
		ok = R.kind == SCSI_IO && R.op == c->op && R.lba == c->lba &&
		     R.nblocks == c->nblocks && R.fua == c->fua &&
		     R.xfer == c->nblocks * 512;
		CU_ASSERT(ok);
		if (!ok)
			fprintf(stderr, "\n  rw case '%s': kind %d op %d lba %llu n %u fua %d\n",
				c->what, R.kind, R.op, (unsigned long long)R.lba,
				R.nblocks, R.fua);
		scsi_io_done(&d, &R, 0);
		CU_ASSERT(good(&R) && R.xfer == c->nblocks * 512);
		tbuf_free(&t);
	}
}

static void test_read_write_edges(void)
{
	struct scsi_disk d = disk_default();
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t w16[16] = { 0x8A };
	struct tbuf t;

	/* a zero-length transfer is not an error, and does no I/O */
	run(&d, r10, 10, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(good(&R) && R.xfer == 0);
	tbuf_free(&t);
	put_be32(r10 + 2, 1u << 21);		/* at the end, 0 blocks */
	run(&d, r10, 10, SCSI_DIR_IN, &t, 0);
	CU_ASSERT(good(&R));
	tbuf_free(&t);
	/* the last block */
	put_be32(r10 + 2, (1u << 21) - 1);
	put_be16(r10 + 7, 1);
	run(&d, r10, 10, SCSI_DIR_IN, &t, 512);
	CU_ASSERT(R.kind == SCSI_IO && R.lba == (1u << 21) - 1 && R.nblocks == 1);
	tbuf_free(&t);
	/* 4096-byte blocks multiply */
	d.block_size = 4096;
	d.nblocks = 1000;
	put_be64(w16 + 2, 990);
	put_be32(w16 + 10, 10);
	run(&d, w16, 16, SCSI_DIR_OUT, &t, 40960);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_WRITE && R.xfer == 40960);
	tbuf_free(&t);
	run(&d, w16, 16, SCSI_DIR_OUT, &t, 40959);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
	/* no max transfer configured: 0xFFFFFFFF blocks is only a range error */
	d.max_xfer_blocks = 0;
	d.nblocks = UINT64_MAX / 4096;
	put_be64(w16 + 2, 0);
	put_be32(w16 + 10, 0xFFFFFFFFu);
	run(&d, w16, 16, SCSI_DIR_OUT, &t, 4096);
	CHECK_SENSE(0x5, 0x24, 0x00);	/* 16 TiB does not fit the buffer */
	tbuf_free(&t);
}

/* ------------------------------------------------------------ errors */

enum disk_variant { DV_DEFAULT, DV_RO, DV_THICK };

struct err_case {
	const char *what;
	enum disk_variant dv;
	uint8_t cdb[16];
	uint32_t cdb_len;
	enum scsi_dir dir;
	uint32_t buflen;
	uint8_t key, asc, ascq;
};

/* The default disk: 2^21 blocks of 512, max transfer 2048, 4 descriptors. */
static const struct err_case err_cases[] = {
	/* the gate */
	{ "no CDB", DV_DEFAULT, { 0 }, 0, SCSI_DIR_NONE, 0, 0x5, 0x20, 0x00 },
	{ "unknown opcode 0x02", DV_DEFAULT, { 0x02 }, 6, SCSI_DIR_NONE, 0, 0x5, 0x20, 0x00 },
	{ "unknown opcode 0xFF", DV_DEFAULT, { 0xFF }, 16, SCSI_DIR_NONE, 0, 0x5, 0x20, 0x00 },
	{ "group 3 opcode", DV_DEFAULT, { 0x7F }, 16, SCSI_DIR_NONE, 0, 0x5, 0x20, 0x00 },
	{ "MODE SELECT(6)", DV_DEFAULT, { 0x15 }, 6, SCSI_DIR_OUT, 0, 0x5, 0x20, 0x00 },
	{ "MAINTENANCE IN", DV_DEFAULT, { 0xA3, 0x0C }, 12, SCSI_DIR_IN, 0, 0x5, 0x20, 0x00 },
	{ "REPORT LUNS is the caller's", DV_DEFAULT, { 0xA0 }, 12, SCSI_DIR_IN, 0, 0x5, 0x20, 0x00 },
	{ "UNMAP on a thick disk", DV_THICK, { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, 10,
	  SCSI_DIR_OUT, 24, 0x5, 0x20, 0x00 },
	{ "TUR in 10 bytes", DV_DEFAULT, { 0x00 }, 10, SCSI_DIR_NONE, 0, 0x5, 0x24, 0x00 },
	{ "READ(10) in 16 bytes", DV_DEFAULT, { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, 16,
	  SCSI_DIR_IN, 512, 0x5, 0x24, 0x00 },
	{ "READ(10) in 6 bytes", DV_DEFAULT, { 0x28 }, 6, SCSI_DIR_IN, 512, 0x5, 0x24, 0x00 },
	{ "READ(16) in 12 bytes", DV_DEFAULT, { 0x88 }, 12, SCSI_DIR_IN, 512, 0x5, 0x24, 0x00 },
	{ "READ(12) in 17 bytes", DV_DEFAULT, { 0xA8 }, 17, SCSI_DIR_IN, 512, 0x5, 0x24, 0x00 },
	{ "INQUIRY in 5 bytes", DV_DEFAULT, { 0x12, 0, 0, 0, 36 }, 5, SCSI_DIR_IN, 36, 0x5, 0x24, 0x00 },
	{ "NACA", DV_DEFAULT, { 0x00, 0, 0, 0, 0, 0x04 }, 6, SCSI_DIR_NONE, 0, 0x5, 0x24, 0x00 },
	{ "LINK", DV_DEFAULT, { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0x01 }, 10,
	  SCSI_DIR_IN, 512, 0x5, 0x24, 0x00 },
	{ "data-in command, data-out buffer", DV_DEFAULT, { 0x12, 0, 0, 0, 36, 0 }, 6,
	  SCSI_DIR_OUT, 36, 0x5, 0x24, 0x00 },
	{ "data-in command, no direction", DV_DEFAULT, { 0x12, 0, 0, 0, 36, 0 }, 6,
	  SCSI_DIR_NONE, 36, 0x5, 0x24, 0x00 },
	{ "WRITE with a data-in buffer", DV_DEFAULT, { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, 10,
	  SCSI_DIR_IN, 512, 0x5, 0x24, 0x00 },
	/* INQUIRY fields */
	{ "INQUIRY page without EVPD", DV_DEFAULT, { 0x12, 0, 0x80, 0, 36, 0 }, 6,
	  SCSI_DIR_IN, 36, 0x5, 0x24, 0x00 },
	{ "INQUIRY CMDDT", DV_DEFAULT, { 0x12, 0x02, 0, 0, 36, 0 }, 6, SCSI_DIR_IN, 36, 0x5, 0x24, 0x00 },
	{ "INQUIRY reserved bit", DV_DEFAULT, { 0x12, 0x81, 0, 0, 36, 0 }, 6, SCSI_DIR_IN, 36, 0x5, 0x24, 0x00 },
	/* READ/WRITE */
	{ "READ(10) past the end", DV_DEFAULT, { 0x28, 0, 0x00, 0x1F, 0xFF, 0xFF, 0, 0, 2, 0 }, 10,
	  SCSI_DIR_IN, 1024, 0x5, 0x21, 0x00 },
	{ "READ(10) LBA past the end", DV_DEFAULT, { 0x28, 0, 0x00, 0x20, 0x00, 0x01, 0, 0, 0, 0 }, 10,
	  SCSI_DIR_IN, 0, 0x5, 0x21, 0x00 },
	{ "READ(6) past the end", DV_DEFAULT, { 0x08, 0x1F, 0xFF, 0xFF, 2, 0 }, 6,
	  SCSI_DIR_IN, 1024, 0x5, 0x21, 0x00 },
	{ "READ(16) lba + len overflows", DV_DEFAULT,
	  { 0x88, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, 0, 0 }, 16,
	  SCSI_DIR_IN, 1024, 0x5, 0x21, 0x00 },
	{ "WRITE(16) huge LBA", DV_DEFAULT,
	  { 0x8A, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x5, 0x21, 0x00 },
	{ "READ(10) buffer too short", DV_DEFAULT, { 0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0 }, 10,
	  SCSI_DIR_IN, 1023, 0x5, 0x24, 0x00 },
	{ "WRITE(12) no buffer", DV_DEFAULT, { 0xAA, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 }, 12,
	  SCSI_DIR_OUT, 0, 0x5, 0x24, 0x00 },
	{ "READ(6) 256 blocks, 255 of room", DV_DEFAULT, { 0x08, 0, 0, 0, 0, 0 }, 6,
	  SCSI_DIR_IN, 255 * 512, 0x5, 0x24, 0x00 },
	{ "READ(10) over max transfer", DV_DEFAULT, { 0x28, 0, 0, 0, 0, 0, 0, 0x08, 0x01, 0 }, 10,
	  SCSI_DIR_IN, 2049 * 512, 0x5, 0x24, 0x00 },
	{ "READ(10) RDPROTECT", DV_DEFAULT, { 0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0 }, 10,
	  SCSI_DIR_IN, 512, 0x5, 0x24, 0x00 },
	{ "WRITE(16) WRPROTECT", DV_DEFAULT, { 0x8A, 0xE0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x5, 0x24, 0x00 },
	{ "WRITE(6) read-only", DV_RO, { 0x0A, 0, 0, 0, 1, 0 }, 6, SCSI_DIR_OUT, 512, 0x7, 0x27, 0x00 },
	{ "WRITE(10) read-only", DV_RO, { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, 10,
	  SCSI_DIR_OUT, 512, 0x7, 0x27, 0x00 },
	{ "WRITE(10) read-only, 0 blocks", DV_RO, { 0x2A }, 10, SCSI_DIR_NONE, 0, 0x7, 0x27, 0x00 },
	{ "WRITE(12) read-only", DV_RO, { 0xAA, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 }, 12,
	  SCSI_DIR_OUT, 512, 0x7, 0x27, 0x00 },
	{ "WRITE(16) read-only", DV_RO, { 0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x7, 0x27, 0x00 },
	/* SYNCHRONIZE CACHE */
	{ "SYNC CACHE(10) past the end", DV_DEFAULT, { 0x35, 0, 0x00, 0x20, 0x00, 0x00, 0, 0, 1, 0 }, 10,
	  SCSI_DIR_NONE, 0, 0x5, 0x21, 0x00 },
	{ "SYNC CACHE(16) LBA past the end", DV_DEFAULT,
	  { 0x91, 0, 0, 0, 0, 0, 0, 0x20, 0x00, 0x01, 0, 0, 0, 0, 0, 0 }, 16,
	  SCSI_DIR_NONE, 0, 0x5, 0x21, 0x00 },
	/* UNMAP (parameter list length in bytes 7-8) */
	{ "UNMAP list longer than the buffer", DV_DEFAULT, { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, 10,
	  SCSI_DIR_OUT, 23, 0x5, 0x24, 0x00 },
	{ "UNMAP truncated header", DV_DEFAULT, { 0x42, 0, 0, 0, 0, 0, 0, 0, 7, 0 }, 10,
	  SCSI_DIR_OUT, 7, 0x5, 0x1A, 0x00 },
	{ "UNMAP ANCHOR", DV_DEFAULT, { 0x42, 0x01, 0, 0, 0, 0, 0, 0, 24, 0 }, 10,
	  SCSI_DIR_OUT, 24, 0x5, 0x24, 0x00 },
	{ "UNMAP read-only", DV_RO, { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, 10,
	  SCSI_DIR_OUT, 24, 0x7, 0x27, 0x00 },
	/* WRITE SAME (the data block is all 0xEE here: not zero) */
	{ "WRITE SAME(10) non-zero, no UNMAP", DV_DEFAULT, { 0x41, 0, 0, 0, 0, 0, 0, 0, 8, 0 }, 10,
	  SCSI_DIR_OUT, 512, 0x5, 0x26, 0x00 },
	{ "WRITE SAME(16) non-zero, UNMAP", DV_DEFAULT,
	  { 0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x5, 0x26, 0x00 },
	{ "WRITE SAME(10) 0 blocks", DV_DEFAULT, { 0x41, 0x08, 0, 0, 0, 0, 0, 0, 0, 0 }, 10,
	  SCSI_DIR_OUT, 512, 0x5, 0x24, 0x00 },
	{ "WRITE SAME(10) NDOB bit", DV_DEFAULT, { 0x41, 0x09, 0, 0, 0, 0, 0, 0, 8, 0 }, 10,
	  SCSI_DIR_NONE, 0, 0x5, 0x24, 0x00 },
	{ "WRITE SAME(16) ANCHOR", DV_DEFAULT,
	  { 0x93, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x5, 0x24, 0x00 },
	{ "WRITE SAME(16) LBDATA", DV_DEFAULT,
	  { 0x93, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x5, 0x24, 0x00 },
	{ "WRITE SAME(16) over the limit", DV_DEFAULT,
	  { 0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 1, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x5, 0x24, 0x00 },
	{ "WRITE SAME(16) past the end", DV_DEFAULT,
	  { 0x93, 0x08, 0, 0, 0, 0, 0, 0x1F, 0xFF, 0xFF, 0, 0, 0, 2, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x5, 0x21, 0x00 },
	{ "WRITE SAME(16) overflow", DV_DEFAULT,
	  { 0x93, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2, 0, 0 }, 16,
	  SCSI_DIR_OUT, 512, 0x5, 0x21, 0x00 },
	{ "WRITE SAME(10) short block", DV_DEFAULT, { 0x41, 0x08, 0, 0, 0, 0, 0, 0, 8, 0 }, 10,
	  SCSI_DIR_OUT, 511, 0x5, 0x24, 0x00 },
	{ "WRITE SAME(16) NDOB read-only", DV_RO,
	  { 0x93, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0 }, 16,
	  SCSI_DIR_NONE, 0, 0x7, 0x27, 0x00 },
	/* MODE SENSE, READ CAPACITY */
	{ "MODE SENSE(6) page 0x1C", DV_DEFAULT, { 0x1A, 0, 0x1C, 0, 255, 0 }, 6,
	  SCSI_DIR_IN, 255, 0x5, 0x24, 0x00 },
	{ "MODE SENSE(10) saved", DV_DEFAULT, { 0x5A, 0, 0xFF, 0, 0, 0, 0, 0, 255, 0 }, 10,
	  SCSI_DIR_IN, 255, 0x5, 0x39, 0x00 },
	{ "SERVICE ACTION IN 0x12", DV_DEFAULT, { 0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 }, 16,
	  SCSI_DIR_IN, 32, 0x5, 0x24, 0x00 },
};

static void test_error_table(void)
{
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct scsi_disk d = disk_default();
		uint8_t cdb[17] = { 0 };
		struct tbuf t;
		bool ok;

		d.read_only = c->dv == DV_RO;
		d.can_unmap = c->dv != DV_THICK;
		/* An exact-size CDB, so reading past cdb_len is an ASan error. */
		memcpy(cdb, c->cdb, c->cdb_len < 16 ? c->cdb_len : 16);
		{
			uint8_t *exact = malloc(c->cdb_len ? c->cdb_len : 1);

			CU_ASSERT_FATAL(exact != NULL);
			memcpy(exact, cdb, c->cdb_len);
			run(&d, c->cdb_len ? exact : NULL, c->cdb_len, c->dir, &t,
			    c->buflen);
			free(exact);
		}
		ok = sense_is(&R, c->key, c->asc, c->ascq);
		CU_ASSERT(ok);
		if (!ok)
			fprintf(stderr, "\n  error case '%s': kind %d status %u key %x asc %02x/%02x\n",
				c->what, R.kind, R.status, R.sense[2] & 0x0F,
				R.sense[12], R.sense[13]);
		tbuf_free(&t);
	}
}

/* ------------------------------------------------------------ FLUSH */

static void test_sync_cache(void)
{
	struct scsi_disk d = disk_default();
	uint8_t s10[10] = { 0x35, 0x02 };
	uint8_t s16[16] = { 0x91 };
	struct tbuf t;

	run(&d, s10, 10, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_FLUSH && R.lba == 0 &&
		  R.nblocks == 0 && R.xfer == 0);
	scsi_io_done(&d, &R, 0);
	CU_ASSERT(good(&R));
	tbuf_free(&t);
	put_be64(s16 + 2, 100);
	put_be32(s16 + 10, 50);
	run(&d, s16, 16, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_FLUSH && R.lba == 100 &&
		  R.nblocks == 50);
	tbuf_free(&t);
	/* a read-only disk may still be flushed */
	d.read_only = true;
	run(&d, s16, 16, SCSI_DIR_NONE, &t, 0);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_FLUSH);
	tbuf_free(&t);
}

/* ------------------------------------------------------------ UNMAP */

/* An UNMAP parameter list of @n descriptors into @t; its length. */
static uint32_t unmap_list(struct tbuf *t, const uint64_t *lba,
			   const uint32_t *nb, unsigned int n, uint32_t extra)
{
	uint32_t len = 8 + 16 * n + extra;

	tbuf_init(t, len);
	memset(t->mem, 0, len);
	put_be16(t->mem, (uint16_t)(len - 2));
	put_be16(t->mem + 2, (uint16_t)(16 * n));
	for (unsigned int i = 0; i < n; i++) {
		put_be64(t->mem + 8 + 16 * i, lba[i]);
		put_be32(t->mem + 8 + 16 * i + 8, nb[i]);
	}
	return len;
}

static void unmap_exec(const struct scsi_disk *d, struct tbuf *t, uint32_t plen)
{
	uint8_t cdb[10] = { 0x42 };

	put_be16(cdb + 7, (uint16_t)plen);
	scsi_exec(d, cdb, 10, SCSI_DIR_OUT, &t->b, &R);
}

static void test_unmap(void)
{
	struct scsi_disk d = disk_default();
	uint64_t lba[6] = { 0, 1000, 5, (1u << 21) - 8, 0, 0 };
	uint32_t nb[6] = { 8, 0, 16, 8, 0, 0 };
	struct tbuf t;
	uint32_t len;

	/* what sd_setup_unmap_cmnd() sends: one descriptor, 24 bytes */
	len = unmap_list(&t, lba, nb, 1, 0);
	unmap_exec(&d, &t, len);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_UNMAP && R.nranges == 1 &&
		  R.ranges[0].lba == 0 && R.ranges[0].nblocks == 8 && R.xfer == 24);
	scsi_io_done(&d, &R, 0);
	CU_ASSERT(good(&R));
	tbuf_free(&t);

	/* four, one of them empty (skipped), the last ending at the end */
	len = unmap_list(&t, lba, nb, 4, 0);
	unmap_exec(&d, &t, len);
	CU_ASSERT_FATAL(R.kind == SCSI_IO && R.nranges == 3);
	CU_ASSERT(R.ranges[1].lba == 5 && R.ranges[1].nblocks == 16);
	CU_ASSERT(R.ranges[2].lba == (1u << 21) - 8 && R.ranges[2].nblocks == 8);
	tbuf_free(&t);

	/* a partial trailing descriptor is ignored; so are trailing bytes */
	len = unmap_list(&t, lba, nb, 1, 10);
	put_be16(t.mem + 2, 16 + 10);
	unmap_exec(&d, &t, len);
	CU_ASSERT(R.kind == SCSI_IO && R.nranges == 1);
	tbuf_free(&t);
	/* a descriptor length beyond the list: what the list holds */
	len = unmap_list(&t, lba, nb, 1, 0);
	put_be16(t.mem + 2, 0xFFF0);
	unmap_exec(&d, &t, len);
	CU_ASSERT(R.kind == SCSI_IO && R.nranges == 1);
	tbuf_free(&t);

	/* nothing to do: GOOD at once */
	len = unmap_list(&t, lba + 4, nb + 4, 2, 0);
	unmap_exec(&d, &t, len);
	CU_ASSERT(good(&R) && R.xfer == len);
	tbuf_free(&t);
	len = unmap_list(&t, lba, nb, 0, 0);
	unmap_exec(&d, &t, len);
	CU_ASSERT(good(&R));
	tbuf_free(&t);
	tbuf_init(&t, 0);
	unmap_exec(&d, &t, 0);
	CU_ASSERT(good(&R) && R.xfer == 0);
	tbuf_free(&t);

	/* too many descriptors (the disk allows 4) */
	len = unmap_list(&t, lba, nb, 5, 0);
	unmap_exec(&d, &t, len);
	CHECK_SENSE(0x5, 0x26, 0x00);
	tbuf_free(&t);
	/* ... and never more than SCSI_MAX_RANGES, whatever the disk says */
	{
		static uint64_t many_lba[65];
		static uint32_t many_nb[65];

		for (int i = 0; i < 65; i++) {
			many_lba[i] = (uint64_t)i * 10;
			many_nb[i] = 1;
		}
		d.max_unmap_descs = 0;
		len = unmap_list(&t, many_lba, many_nb, 64, 0);
		unmap_exec(&d, &t, len);
		CU_ASSERT(R.kind == SCSI_IO && R.nranges == 64);
		tbuf_free(&t);
		len = unmap_list(&t, many_lba, many_nb, 65, 0);
		unmap_exec(&d, &t, len);
		CHECK_SENSE(0x5, 0x26, 0x00);
		tbuf_free(&t);
		d.max_unmap_descs = 4;
	}
	/* a descriptor past the end, or whose end overflows */
	lba[5] = (1u << 21) - 7;
	nb[5] = 8;
	len = unmap_list(&t, lba + 4, nb + 4, 2, 0);
	unmap_exec(&d, &t, len);
	CHECK_SENSE(0x5, 0x21, 0x00);
	tbuf_free(&t);
	lba[5] = UINT64_MAX;
	nb[5] = 2;
	len = unmap_list(&t, lba + 4, nb + 4, 2, 0);
	unmap_exec(&d, &t, len);
	CHECK_SENSE(0x5, 0x21, 0x00);
	tbuf_free(&t);
	/* the total of all descriptors is bounded by max_unmap_blocks */
	{
		uint64_t at[2] = { 0, 1u << 20 };
		uint32_t exact[2] = { 1u << 19, 1u << 19 };
		uint32_t over[2] = { 1u << 20, 1 };

		len = unmap_list(&t, at, exact, 2, 0);
		unmap_exec(&d, &t, len);
		CU_ASSERT(R.kind == SCSI_IO && R.nranges == 2);
		tbuf_free(&t);
		len = unmap_list(&t, at, over, 2, 0);
		unmap_exec(&d, &t, len);
		CHECK_SENSE(0x5, 0x26, 0x00);
		tbuf_free(&t);
	}
}

/* ------------------------------------------------------------ WRITE SAME */

static void test_write_same(void)
{
	struct scsi_disk d = disk_default();
	uint8_t ws10[10] = { 0x41, 0x08, 0, 0, 0x10, 0, 0, 0, 64, 0 };
	uint8_t ws16[16] = { 0x93, 0x00 };
	struct tbuf t;

	/* UNMAP bit, zero block: UNMAP of the range */
	tbuf_init(&t, 512);
	memset(t.mem, 0, 512);
	scsi_exec(&d, ws10, 10, SCSI_DIR_OUT, &t.b, &R);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_UNMAP && R.nranges == 1 &&
		  R.ranges[0].lba == 0x1000 && R.ranges[0].nblocks == 64 &&
		  R.lba == 0x1000 && R.nblocks == 64 && R.xfer == 512);
	/* no UNMAP bit: WRITE ZEROES */
	put_be64(ws16 + 2, 77);
	put_be32(ws16 + 10, 3);
	scsi_exec(&d, ws16, 16, SCSI_DIR_OUT, &t.b, &R);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_WRITE_ZEROES &&
		  R.lba == 77 && R.nblocks == 3 && R.nranges == 0);
	/* a thick disk writes zeros for the UNMAP bit too */
	d.can_unmap = false;
	scsi_exec(&d, ws10, 10, SCSI_DIR_OUT, &t.b, &R);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_WRITE_ZEROES &&
		  R.lba == 0x1000 && R.nblocks == 64);
	d.can_unmap = true;
	/* one non-zero byte anywhere in the block */
	t.mem[511] = 1;
	scsi_exec(&d, ws10, 10, SCSI_DIR_OUT, &t.b, &R);
	CHECK_SENSE(0x5, 0x26, 0x00);
	tbuf_free(&t);

	/* 4096-byte block, zero, spread over the iovecs */
	d.block_size = 4096;
	d.nblocks = 1000;
	tbuf_init(&t, 4096);
	memset(t.mem, 0, 4096);
	scsi_exec(&d, ws16, 16, SCSI_DIR_OUT, &t.b, &R);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_WRITE_ZEROES &&
		  R.xfer == 4096);
	t.mem[4000] = 0x80;
	scsi_exec(&d, ws16, 16, SCSI_DIR_OUT, &t.b, &R);
	CHECK_SENSE(0x5, 0x26, 0x00);
	tbuf_free(&t);

	/* NDOB: no data at all, zeros meant */
	ws16[1] = 0x09;
	scsi_exec(&d, ws16, 16, SCSI_DIR_NONE, NULL, &R);
	CU_ASSERT(R.kind == SCSI_IO && R.op == SCSI_IO_UNMAP && R.xfer == 0);
	scsi_io_done(&d, &R, 0);
	CU_ASSERT(good(&R));
}

/* ------------------------------------------------------------ io_done */

static void test_io_done(void)
{
	static const struct {
		enum scsi_io_op op;
		int err;
		uint8_t key, asc, ascq;
	} cases[] = {
		{ SCSI_IO_READ, -EIO, 0x3, 0x11, 0x00 },
		{ SCSI_IO_WRITE, -EIO, 0x3, 0x0C, 0x00 },
		{ SCSI_IO_FLUSH, -EIO, 0x3, 0x0C, 0x00 },
		{ SCSI_IO_UNMAP, -EIO, 0x3, 0x0C, 0x00 },
		{ SCSI_IO_WRITE_ZEROES, -EIO, 0x3, 0x0C, 0x00 },
		{ SCSI_IO_WRITE, -ENOSPC, 0x7, 0x27, 0x07 },
		{ SCSI_IO_FLUSH, -ENOSPC, 0x7, 0x27, 0x07 },
		{ SCSI_IO_UNMAP, -ENOSPC, 0x7, 0x27, 0x07 },
		{ SCSI_IO_WRITE_ZEROES, -ENOSPC, 0x7, 0x27, 0x07 },
		{ SCSI_IO_READ, -ENOSPC, 0x4, 0x44, 0x00 },
		{ SCSI_IO_READ, -ENOMEM, 0x4, 0x44, 0x00 },
		{ SCSI_IO_WRITE, -EINVAL, 0x4, 0x44, 0x00 },
		{ SCSI_IO_WRITE, EIO, 0x4, 0x44, 0x00 },
		{ SCSI_IO_FLUSH, -ECANCELED, 0x4, 0x44, 0x00 },
	};
	struct scsi_disk d = disk_default();
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0 };
	struct tbuf t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&R, 0, sizeof(R));
		R.kind = SCSI_IO;
		R.op = cases[i].op;
		R.xfer = 4096;
		scsi_io_done(&d, &R, cases[i].err);
		CU_ASSERT(sense_is(&R, cases[i].key, cases[i].asc, cases[i].ascq));
	}
	/* success keeps the read's byte count */
	run(&d, r10, 10, SCSI_DIR_IN, &t, 2048);
	CU_ASSERT_EQUAL(R.kind, SCSI_IO);
	scsi_io_done(&d, &R, 0);
	CU_ASSERT(good(&R) && R.xfer == 2048);
	/* a finished result is left alone */
	scsi_io_done(&d, &R, -EIO);
	CU_ASSERT(good(&R) && R.xfer == 2048);
	tbuf_free(&t);
}

/* ------------------------------------------------------------ REPORT LUNS */

static void report_luns(const uint16_t *luns, unsigned int n, uint8_t select,
			uint32_t alloc, struct tbuf *t, uint32_t buflen)
{
	uint8_t cdb[12] = { 0xA0, 0, select };

	put_be32(cdb + 6, alloc);
	tbuf_init(t, buflen);
	scsi_report_luns(luns, n, cdb, 12, SCSI_DIR_IN, &t->b, &R);
}

static void test_report_luns(void)
{
	static uint16_t many[300];
	static const uint16_t one[1] = { 0 };
	static const uint16_t odd[3] = { 3, 0x4000, 0x3FFF };
	struct tbuf t;

	for (int i = 0; i < 300; i++)
		many[i] = (uint16_t)i;

	report_luns(NULL, 0, 0, 4096, &t, 4096);
	CU_ASSERT(good(&R) && R.xfer == 8);
	CU_ASSERT_EQUAL(be32(t.mem), 0);
	tbuf_free(&t);

	report_luns(one, 1, 0, 4096, &t, 4096);
	CU_ASSERT(good(&R) && R.xfer == 16);
	CU_ASSERT_EQUAL(be32(t.mem), 8);
	CU_ASSERT_EQUAL(be32(t.mem + 4), 0);
	CU_ASSERT_EQUAL(be64(t.mem + 8), 0);
	tbuf_free(&t);

	/* Linux asks for 512 entries */
	report_luns(many, 300, 0x02, 512 * 8 + 8, &t, 512 * 8 + 8);
	CU_ASSERT(good(&R) && R.xfer == 8 + 300 * 8);
	CU_ASSERT_EQUAL(be32(t.mem), 300 * 8);
	CU_ASSERT_EQUAL(t.mem[8 + 7 * 8], 0x00);		/* peripheral */
	CU_ASSERT_EQUAL(t.mem[8 + 7 * 8 + 1], 7);
	CU_ASSERT_EQUAL(t.mem[8 + 255 * 8 + 1], 255);
	CU_ASSERT_EQUAL(t.mem[8 + 256 * 8], 0x41);		/* flat space */
	CU_ASSERT_EQUAL(t.mem[8 + 256 * 8 + 1], 0x00);
	CU_ASSERT_EQUAL(be32(t.mem + 8 + 299 * 8 + 2) | t.mem[8 + 299 * 8 + 6] |
			t.mem[8 + 299 * 8 + 7], 0);
	tbuf_free(&t);

	/* a short allocation length: the full list length, truncated data */
	report_luns(many, 300, 0, 16, &t, 4096);
	CU_ASSERT(good(&R) && R.xfer == 16);
	CU_ASSERT_EQUAL(be32(t.mem), 300 * 8);
	CU_ASSERT_EQUAL(t.mem[16], 0xEE);
	tbuf_free(&t);
	report_luns(many, 300, 0, 4, &t, 4096);
	CU_ASSERT(good(&R) && R.xfer == 4);
	CU_ASSERT_EQUAL(be32(t.mem), 300 * 8);
	tbuf_free(&t);
	report_luns(many, 300, 0, 13, &t, 4096);
	CU_ASSERT(good(&R) && R.xfer == 13);
	tbuf_free(&t);
	/* ... or a short buffer */
	report_luns(many, 300, 0, 4096, &t, 20);
	CU_ASSERT(good(&R) && R.xfer == 20);
	tbuf_free(&t);

	/* unrepresentable LUNs are left out */
	report_luns(odd, 3, 0, 4096, &t, 4096);
	CU_ASSERT(good(&R) && R.xfer == 24);
	CU_ASSERT_EQUAL(be32(t.mem), 16);
	CU_ASSERT_EQUAL(t.mem[8 + 1], 3);
	CU_ASSERT_EQUAL(t.mem[16], 0x7F);
	CU_ASSERT_EQUAL(t.mem[17], 0xFF);
	tbuf_free(&t);

	/* well-known LUNs only: none */
	report_luns(many, 300, 0x01, 4096, &t, 4096);
	CU_ASSERT(good(&R) && R.xfer == 8 && be32(t.mem) == 0);
	tbuf_free(&t);
	report_luns(many, 300, 0x10, 4096, &t, 4096);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
	report_luns(many, 300, 0x03, 4096, &t, 4096);
	CHECK_SENSE(0x5, 0x24, 0x00);
	tbuf_free(&t);
	{
		uint8_t cdb[12] = { 0xA0 };

		tbuf_init(&t, 64);
		scsi_report_luns(one, 1, cdb, 10, SCSI_DIR_IN, &t.b, &R);
		CHECK_SENSE(0x5, 0x24, 0x00);
		scsi_report_luns(one, 1, cdb, 12, SCSI_DIR_OUT, &t.b, &R);
		CHECK_SENSE(0x5, 0x24, 0x00);
		cdb[0] = 0x12;
		scsi_report_luns(one, 1, cdb, 12, SCSI_DIR_IN, &t.b, &R);
		CHECK_SENSE(0x5, 0x20, 0x00);
		scsi_report_luns(one, 1, NULL, 0, SCSI_DIR_IN, &t.b, &R);
		CHECK_SENSE(0x5, 0x20, 0x00);
		tbuf_free(&t);
	}
}

/* ------------------------------------------------------------ no LUN */

static void test_no_lun(void)
{
	uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	uint8_t rs[6] = { 0x03, 0, 0, 0, 18, 0 };
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	static const uint8_t tur[6] = { 0x00 };
	struct tbuf t;

	tbuf_init(&t, 96);
	scsi_exec_no_lun(inq, 6, SCSI_DIR_IN, &t.b, &R);
	CU_ASSERT(good(&R) && R.xfer == 36);
	/* scsi_probe_and_add_lun(): qualifier 3 means "no LUN here" */
	CU_ASSERT_EQUAL(t.mem[0] >> 5, 3);
	CU_ASSERT_EQUAL(t.mem[0] & 0x1F, 0x1F);
	CU_ASSERT_EQUAL(t.mem[4], 31);
	inq[1] = 0x01;		/* VPD page 0: itself */
	scsi_exec_no_lun(inq, 6, SCSI_DIR_IN, &t.b, &R);
	CU_ASSERT(good(&R) && R.xfer == 5);
	CU_ASSERT_EQUAL(t.mem[0], 0x7F);
	CU_ASSERT_EQUAL(t.mem[1], 0x00);
	CU_ASSERT_EQUAL(be16(t.mem + 2), 1);
	CU_ASSERT_EQUAL(t.mem[4], 0x00);
	inq[2] = 0x80;
	scsi_exec_no_lun(inq, 6, SCSI_DIR_IN, &t.b, &R);
	CHECK_SENSE(0x5, 0x24, 0x00);
	scsi_exec_no_lun(inq, 5, SCSI_DIR_IN, &t.b, &R);
	CHECK_SENSE(0x5, 0x24, 0x00);

	scsi_exec_no_lun(rs, 6, SCSI_DIR_IN, &t.b, &R);
	CU_ASSERT(good(&R) && R.xfer == 18);
	CU_ASSERT_EQUAL(t.mem[2] & 0x0F, 0x5);
	CU_ASSERT_EQUAL(t.mem[12], 0x25);
	CU_ASSERT_EQUAL(t.mem[13], 0x00);

	scsi_exec_no_lun(tur, 6, SCSI_DIR_NONE, &t.b, &R);
	CHECK_SENSE(0x5, 0x25, 0x00);
	scsi_exec_no_lun(r10, 10, SCSI_DIR_IN, &t.b, &R);
	CHECK_SENSE(0x5, 0x25, 0x00);
	scsi_exec_no_lun(NULL, 0, SCSI_DIR_NONE, NULL, &R);
	CHECK_SENSE(0x5, 0x25, 0x00);
	tbuf_free(&t);
}

static void test_set_sense(void)
{
	memset(&R, 0xAB, sizeof(R));
	scsi_set_sense(&R, 0x3, 0x11, 0x00);
	CU_ASSERT(sense_is(&R, 0x3, 0x11, 0x00));
	CU_ASSERT_EQUAL(R.sense[1], 0);
	CU_ASSERT_EQUAL(R.sense[17], 0);
}

static const struct unit_test scsi_tests[] = {
	{ "buffer copies walk and clip the iovecs", test_buf_copy },
	{ "disk configuration validation", test_disk_validate },
	{ "standard INQUIRY", test_inquiry_standard },
	{ "VPD 0x00 lists exactly the pages served", test_vpd_supported_pages },
	{ "VPD 0x80 unit serial", test_vpd_serial },
	{ "VPD 0x83 designators", test_vpd_device_id },
	{ "VPD B0 block limits", test_vpd_block_limits },
	{ "VPD B1 and B2", test_vpd_b1_b2 },
	{ "READ CAPACITY 10 and 16", test_read_capacity },
	{ "MODE SENSE caching page", test_mode_sense_caching },
	{ "MODE SENSE all pages, control, LLBAA", test_mode_sense_all_and_control },
	{ "TUR, START STOP, PREVENT, REQUEST SENSE, VERIFY", test_simple_commands },
	{ "READ/WRITE of every size", test_read_write_decode },
	{ "READ/WRITE edges", test_read_write_edges },
	{ "malformed commands and their sense", test_error_table },
	{ "SYNCHRONIZE CACHE", test_sync_cache },
	{ "UNMAP parameter lists", test_unmap },
	{ "WRITE SAME", test_write_same },
	{ "scsi_io_done errno mapping", test_io_done },
	{ "REPORT LUNS", test_report_luns },
	{ "absent LUN", test_no_lun },
	{ "fixed-format sense", test_set_sense },
	{ NULL, NULL },
};

int unit_register_scsi(void)
{
	return unit_add_suite("scsi", scsi_tests);
}
