// SPDX-License-Identifier: GPL-2.0-only
/*
 * The SCSI disk target: SPC-4/SBC-3 for one direct-access logical unit,
 * as much as Linux's sd (and storvsc's quirks) and Windows' disk stack
 * use. See host-vsp/storage/scsi.h for the contract.
 *
 * Each command goes through the same gate before its handler runs: the
 * opcode is known (else INVALID COMMAND OPERATION CODE), the CDB length is
 * exactly its group's (so a handler may read every byte of its layout),
 * the control byte asks for nothing we lack (NACA, LINK), and a non-empty
 * buffer goes the command's way. Handlers then check their own fields in
 * a fixed order: CDB fields (INVALID FIELD IN CDB), LBA range (LOGICAL
 * BLOCK ADDRESS OUT OF RANGE), transfer against the buffer (INVALID FIELD
 * IN CDB), write protection (DATA PROTECT), then parameter data.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "host-vsp/storage/scsi.h"

struct scsi_cmd {
	const struct scsi_disk *d;
	const uint8_t *cdb;
	uint32_t cdb_len;
	const struct scsi_buf *buf;
	struct scsi_result *r;
};

typedef void scsi_handler_fn(struct scsi_cmd *c);

struct scsi_op {
	scsi_handler_fn *fn;
	enum scsi_dir dir;		/* of the data phase, if any */
	bool needs_unmap;		/* unknown opcode on a thick disk */
};

static const struct scsi_buf scsi_no_buf;

/* ------------------------------------------------------------ buffers */

/*
 * Walk the iovecs from byte @off, copying at most @n bytes, never past
 * b->len nor past the last iovec. @base is where the current iovec
 * starts; it never exceeds @cur, so neither sum can overflow.
 */
static size_t scsi_buf_copy(const struct scsi_buf *b, size_t off, void *p,
			    size_t n, bool to_buf)
{
	size_t base = 0, cur = off, done = 0;

	if (!b || !b->iov || off >= b->len)
		return 0;
	if (n > b->len - off)
		n = b->len - off;
	for (unsigned int i = 0; i < b->iovcnt && done < n; i++) {
		size_t l = b->iov[i].iov_len, in, k;
		uint8_t *io = b->iov[i].iov_base;

		if (cur - base >= l) {
			base += l;
			continue;
		}
		in = cur - base;
		k = l - in < n - done ? l - in : n - done;
		if (to_buf)
			memcpy(io + in, (const uint8_t *)p + done, k);
		else
			memcpy((uint8_t *)p + done, io + in, k);
		done += k;
		cur += k;
		base = cur;	/* == base + l unless the copy is complete */
	}
	return done;
}

size_t scsi_buf_to(const struct scsi_buf *b, size_t off, const void *src,
		   size_t n)
{
	return scsi_buf_copy(b, off, (void *)src, n, true);
}

size_t scsi_buf_from(const struct scsi_buf *b, size_t off, void *dst,
		     size_t n)
{
	return scsi_buf_copy(b, off, dst, n, false);
}

/* ------------------------------------------------------------ results */

static void scsi_result_init(struct scsi_result *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = SCSI_DONE;
	r->status = HVIS_SCSI_STATUS_GOOD;
}

static void scsi_fill_sense(uint8_t *sense, uint8_t key, uint8_t asc,
			    uint8_t ascq)
{
	struct hvis_scsi_sense_fixed s;

	memset(&s, 0, sizeof(s));
	s.sf_response_code = HVIS_SCSI_SENSE_CURRENT_FIXED;
	s.sf_key = key & 0x0F;
	s.sf_additional_len = sizeof(s) - 8;
	s.sf_asc = asc;
	s.sf_ascq = ascq;
	memcpy(sense, &s, sizeof(s));
}

void scsi_set_sense(struct scsi_result *r, uint8_t key, uint8_t asc,
		    uint8_t ascq)
{
	r->kind = SCSI_DONE;
	r->status = HVIS_SCSI_STATUS_CHECK_CONDITION;
	r->xfer = 0;
	scsi_fill_sense(r->sense, key, asc, ascq);
	r->sense_len = SCSI_SENSE_LEN;
}

/* @code is an HVIS_SCSI_SENSE_* pair (ASC << 8 | ASCQ). */
static void scsi_check(struct scsi_result *r, uint8_t key, uint16_t code)
{
	scsi_set_sense(r, key, HVIS_SCSI_ASC(code), HVIS_SCSI_ASCQ(code));
}

static void scsi_illegal(struct scsi_result *r, uint16_t code)
{
	scsi_check(r, HVIS_SCSI_SK_ILLEGAL_REQUEST, code);
}

/* GOOD with @n bytes of data-in, clipped to @alloc and to the buffer. */
static void scsi_reply(struct scsi_cmd *c, const void *data, size_t n,
		       uint32_t alloc)
{
	if (n > alloc)
		n = alloc;
	c->r->xfer = (uint32_t)scsi_buf_to(c->buf, 0, data, n);
}

/* ------------------------------------------------------------ the gate */

/* SAM-5: the CDB length follows from the opcode's group. */
static uint32_t scsi_group_len(uint8_t opcode)
{
	switch (HVIS_SCSI_GROUP(opcode)) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	case 5:
		return 12;
	default:
		return 0;	/* variable length or vendor specific */
	}
}

/*
 * The length and control byte every command shares. A wrong length for a
 * known opcode is a malformed CDB rather than an unknown command.
 */
static bool scsi_gate_cdb(const uint8_t *cdb, uint32_t cdb_len,
			  struct scsi_result *r)
{
	if (cdb_len != scsi_group_len(cdb[0]) ||
	    (cdb[cdb_len - 1] & (HVIS_SCSI_CONTROL_NACA |
				 HVIS_SCSI_CONTROL_LINK))) {
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return false;
	}
	return true;
}

/*
 * A data-in command must not write into a buffer the guest marked as
 * data-out (the host may have mapped it for reading only), nor read a
 * data-in buffer as its parameters. An empty buffer moves nothing, so
 * any direction will do; commands without data ignore the buffer.
 */
static bool scsi_gate_dir(enum scsi_dir want, enum scsi_dir dir,
			  const struct scsi_buf *buf, struct scsi_result *r)
{
	if (want != SCSI_DIR_NONE && buf->len && dir != want) {
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ helpers */

static uint16_t scsi_get_be16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static uint32_t scsi_get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static uint64_t scsi_get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* [lba, lba + n) inside the disk, without overflow. */
static bool scsi_range_ok(const struct scsi_disk *d, uint64_t lba, uint64_t n)
{
	return lba <= d->nblocks && n <= d->nblocks - lba;
}

/* log2(logical blocks per physical block), 0 if not a power of two. */
static uint8_t scsi_phys_exponent(const struct scsi_disk *d)
{
	uint8_t e = 0;

	if (!d->block_size || d->phys_block_size <= d->block_size ||
	    d->phys_block_size % d->block_size)
		return 0;
	for (uint32_t ratio = d->phys_block_size / d->block_size;
	     ratio > 1 && e < 15; ratio >>= 1)
		e++;
	return e;
}

/* Descriptors one UNMAP may carry: the host's limit, within our array. */
static uint32_t scsi_unmap_descs(const struct scsi_disk *d)
{
	if (!d->max_unmap_descs || d->max_unmap_descs > SCSI_MAX_RANGES)
		return SCSI_MAX_RANGES;
	return d->max_unmap_descs;
}

/*
 * ASCII text fields: @src (at most @srclen bytes, NUL-terminated or not)
 * left-aligned in @n bytes, padded with spaces; anything but printable
 * ASCII becomes a space, as SPC requires of these fields.
 */
static void scsi_ascii(char *dst, size_t n, const char *src, size_t srclen)
{
	size_t l = strnlen(src, srclen);

	for (size_t i = 0; i < n; i++) {
		char ch = i < l ? src[i] : ' ';

		dst[i] = ch >= 0x20 && ch <= 0x7E ? ch : ' ';
	}
}

static void scsi_hex(char *dst, const uint8_t *src, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 0x0F];
	}
}

/*
 * LBA, transfer length and byte-1 flags of the READ/WRITE-shaped CDBs
 * (length already checked against the group). Six-byte CDBs keep LBA
 * bits in byte 1 and mean 256 blocks by a length of 0; they have no
 * flags.
 */
static void scsi_lba_len(const struct scsi_cmd *c, uint64_t *lba,
			 uint32_t *n, uint8_t *flags)
{
	const uint8_t *b = c->cdb;

	switch (c->cdb_len) {
	case 6:
		*lba = (uint32_t)(b[1] & 0x1F) << 16 | scsi_get_be16(b + 2);
		*n = b[4] ? b[4] : 256;
		*flags = 0;
		break;
	case 10:
		*lba = scsi_get_be32(b + 2);
		*n = scsi_get_be16(b + 7);
		*flags = b[1];
		break;
	case 12:
		*lba = scsi_get_be32(b + 2);
		*n = scsi_get_be32(b + 6);
		*flags = b[1];
		break;
	default:	/* 16 */
		*lba = scsi_get_be64(b + 2);
		*n = scsi_get_be32(b + 10);
		*flags = b[1];
		break;
	}
}

static void scsi_start_io(struct scsi_result *r, enum scsi_io_op op,
			  uint64_t lba, uint32_t n, uint32_t xfer)
{
	r->kind = SCSI_IO;
	r->op = op;
	r->lba = lba;
	r->nblocks = n;
	r->xfer = xfer;
}

/* ------------------------------------------------------------ no data */

static void scsi_cmd_good(struct scsi_cmd *c)
{
	/*
	 * TEST UNIT READY, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL:
	 * a fixed disk that is always spun up and never ejects has nothing
	 * to do (Linux sends START STOP only with manage_start_stop).
	 */
	(void)c;
}

static void scsi_cmd_request_sense(struct scsi_cmd *c)
{
	uint8_t sense[SCSI_SENSE_LEN];

	/*
	 * Sense is returned with each CHECK CONDITION (autosense), so none
	 * is ever pending. Descriptor format is not implemented.
	 */
	if (c->cdb[1] & HVIS_SCSI_RS_DESC) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	scsi_fill_sense(sense, HVIS_SCSI_SK_NO_SENSE, 0, 0);
	scsi_reply(c, sense, sizeof(sense), c->cdb[4]);
}

static void scsi_cmd_verify(struct scsi_cmd *c)
{
	uint64_t lba;
	uint32_t n;
	uint8_t flags;

	/* Only the medium check (BYTCHK 0): our medium has no bad blocks. */
	scsi_lba_len(c, &lba, &n, &flags);
	if (flags & (HVIS_SCSI_RW_PROTECT_MASK | HVIS_SCSI_VERIFY_BYTCHK_MASK)) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!scsi_range_ok(c->d, lba, n))
		scsi_illegal(c->r, HVIS_SCSI_SENSE_LBA_OUT_OF_RANGE);
}

/* ------------------------------------------------------------ INQUIRY */

static void scsi_std_inquiry(struct hvis_scsi_inquiry_std *q, uint8_t periph,
			     const struct scsi_disk *d)
{
	memset(q, 0, sizeof(*q));
	q->is_peripheral = periph;
	/*
	 * SPC-4, so that Linux asks for VPD pages and tries READ CAPACITY
	 * (16) first; HiSup (LUNs are hierarchical); CmdQue so that it
	 * queues more than one command.
	 */
	q->is_version = HVIS_SCSI_INQ_VERSION_SPC4;
	q->is_flags3 = HVIS_SCSI_INQ_HISUP | HVIS_SCSI_INQ_RDF_SPC;
	q->is_additional_len = sizeof(*q) - 5;
	q->is_flags7 = HVIS_SCSI_INQ_CMDQUE;
	if (d) {
		scsi_ascii(q->is_vendor, sizeof(q->is_vendor), d->vendor,
			   sizeof(d->vendor));
		scsi_ascii(q->is_product, sizeof(q->is_product), d->product,
			   sizeof(d->product));
		scsi_ascii(q->is_revision, sizeof(q->is_revision), d->revision,
			   sizeof(d->revision));
	} else {
		memset(q->is_vendor, ' ', sizeof(q->is_vendor) +
		       sizeof(q->is_product) + sizeof(q->is_revision));
	}
}

/* The VPD pages we implement, ascending as SPC requires. */
static const uint8_t scsi_vpd_pages[] = {
	HVIS_SCSI_VPD_SUPPORTED_PAGES,
	HVIS_SCSI_VPD_UNIT_SERIAL,
	HVIS_SCSI_VPD_DEVICE_ID,
	HVIS_SCSI_VPD_BLOCK_LIMITS,
	HVIS_SCSI_VPD_BLOCK_CHARACTERISTICS,
	HVIS_SCSI_VPD_LB_PROVISIONING,
};

/* Largest page: 0x80 with a 64-byte serial (0x83 is 68, B0 and B1 64). */
#define SCSI_VPD_MAX	(sizeof(struct hvis_scsi_vpd_hdr) + 64)
_Static_assert(SCSI_VPD_MAX >= 4 + (4 + 16) + (4 + 8 + 32) &&
	       SCSI_VPD_MAX >= sizeof(struct hvis_scsi_vpd_block_limits) &&
	       SCSI_VPD_MAX >= sizeof(struct hvis_scsi_vpd_block_chars),
	       "every VPD page fits");

static size_t scsi_vpd_header(uint8_t *p, uint8_t page, size_t len)
{
	struct hvis_scsi_vpd_hdr h = {
		.vh_peripheral = HVIS_SCSI_PQ_CONNECTED | HVIS_SCSI_TYPE_DISK,
		.vh_page = page,
		.vh_length = htobe16((uint16_t)len),
	};

	memcpy(p, &h, sizeof(h));
	return sizeof(h) + len;
}

static size_t scsi_vpd_serial(const struct scsi_disk *d, uint8_t *p)
{
	char *s = (char *)p + sizeof(struct hvis_scsi_vpd_hdr);
	size_t l = strnlen(d->serial, sizeof(d->serial));

	/*
	 * Linux drops a page whose length is 0, and udev names disks by
	 * serial: without one configured, the unique id stands in.
	 */
	if (l) {
		if (l > 64)
			l = 64;
		scsi_ascii(s, l, d->serial, sizeof(d->serial));
	} else {
		scsi_hex(s, d->id, sizeof(d->id));
		l = 2 * sizeof(d->id);
	}
	return scsi_vpd_header(p, HVIS_SCSI_VPD_UNIT_SERIAL, l);
}

static size_t scsi_vpd_device_id(const struct scsi_disk *d, uint8_t *p)
{
	struct hvis_scsi_desig_hdr naa = {
		.dh_codeset = HVIS_SCSI_DESIG_CODESET_BINARY,
		.dh_type = HVIS_SCSI_DESIG_ASSOC_LU | HVIS_SCSI_DESIG_TYPE_NAA,
		.dh_length = 16,
	};
	struct hvis_scsi_desig_hdr t10 = {
		.dh_codeset = HVIS_SCSI_DESIG_CODESET_ASCII,
		.dh_type = HVIS_SCSI_DESIG_ASSOC_LU |
			   HVIS_SCSI_DESIG_TYPE_T10_VENDOR,
		.dh_length = 8 + 2 * sizeof(d->id),
	};
	uint8_t *q = p + sizeof(struct hvis_scsi_vpd_hdr);
	uint32_t oui = d->naa_oui & 0xFFFFFF;

	/*
	 * NAA IEEE Registered Extended: NAA 6, the 24-bit company id, then
	 * 100 vendor bits, here the last 100 bits of the disk's id. Linux
	 * prefers it for the disk's wwid (scsi_vpd_lun_id).
	 */
	memcpy(q, &naa, sizeof(naa));
	q += sizeof(naa);
	q[0] = HVIS_SCSI_NAA_IEEE_REG_EXT << 4 | (uint8_t)(oui >> 20);
	q[1] = (uint8_t)(oui >> 12);
	q[2] = (uint8_t)(oui >> 4);
	q[3] = (uint8_t)((oui & 0x0F) << 4 | (d->id[3] & 0x0F));
	memcpy(q + 4, d->id + 4, 12);
	q += 16;

	/* T10 vendor id: the INQUIRY vendor, then the id in hex. */
	memcpy(q, &t10, sizeof(t10));
	q += sizeof(t10);
	scsi_ascii((char *)q, 8, d->vendor, sizeof(d->vendor));
	scsi_hex((char *)q + 8, d->id, sizeof(d->id));
	q += 8 + 2 * sizeof(d->id);

	return scsi_vpd_header(p, HVIS_SCSI_VPD_DEVICE_ID,
			       (size_t)(q - p) - sizeof(struct hvis_scsi_vpd_hdr));
}

static void scsi_vpd_block_limits(const struct scsi_disk *d,
				  struct hvis_scsi_vpd_block_limits *bl)
{
	uint32_t per_phys = 1u << scsi_phys_exponent(d);

	memset(bl, 0, sizeof(*bl));
	scsi_vpd_header((uint8_t *)bl, HVIS_SCSI_VPD_BLOCK_LIMITS,
			sizeof(*bl) - sizeof(bl->bl_hdr));
	/* WRITE SAME for 0 blocks ("to the end") is refused. */
	bl->bl_flags = HVIS_SCSI_BL_WSNZ;
	bl->bl_opt_xfer_granularity = htobe16((uint16_t)per_phys);
	bl->bl_max_xfer = htobe32(d->max_xfer_blocks);
	bl->bl_opt_xfer = htobe32(d->opt_xfer_blocks);
	if (d->can_unmap) {
		/* Linux uses UNMAP only if both counts are non-zero. */
		bl->bl_max_unmap_lbas = htobe32(d->max_unmap_blocks ?
						d->max_unmap_blocks :
						HVIS_SCSI_NO_MAX);
		bl->bl_max_unmap_descs = htobe32(scsi_unmap_descs(d));
		/* Less than a physical block frees nothing. */
		bl->bl_unmap_granularity = htobe32(per_phys);
	}
	bl->bl_max_write_same = htobe64(d->max_unmap_blocks);
}

static void scsi_vpd_block_chars(const struct scsi_disk *d,
				 struct hvis_scsi_vpd_block_chars *bc)
{
	memset(bc, 0, sizeof(*bc));
	scsi_vpd_header((uint8_t *)bc, HVIS_SCSI_VPD_BLOCK_CHARACTERISTICS,
			sizeof(*bc) - sizeof(bc->bc_hdr));
	/* Linux marks the queue non-rotational only for a rate of 1. */
	bc->bc_rotation_rate = htobe16(d->rotational ?
				       HVIS_SCSI_ROTATION_NOT_REPORTED :
				       HVIS_SCSI_ROTATION_NONE);
}

static void scsi_vpd_lbp(const struct scsi_disk *d, struct hvis_scsi_vpd_lbp *lp)
{
	memset(lp, 0, sizeof(*lp));
	scsi_vpd_header((uint8_t *)lp, HVIS_SCSI_VPD_LB_PROVISIONING,
			sizeof(*lp) - sizeof(lp->lp_hdr));
	if (d->can_unmap) {
		/* Unmapped blocks read back as zeros (holes in the image). */
		lp->lp_flags = HVIS_SCSI_LBP_LBPU | HVIS_SCSI_LBP_LBPWS |
			       HVIS_SCSI_LBP_LBPWS10 | HVIS_SCSI_LBP_LBPRZ_ZERO;
		lp->lp_type = HVIS_SCSI_LBP_TYPE_THIN;
	}
}

static void scsi_cmd_inquiry(struct scsi_cmd *c)
{
	struct hvis_scsi_cdb_inquiry cdb, *q = &cdb;
	uint8_t page[SCSI_VPD_MAX];
	uint32_t alloc;
	size_t len;

	memcpy(q, c->cdb, sizeof(*q));
	alloc = be16toh(q->ci_alloc_len);
	memset(page, 0, sizeof(page));
	if (q->ci_flags & ~HVIS_SCSI_INQ_EVPD) {	/* CMDDT, reserved */
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!(q->ci_flags & HVIS_SCSI_INQ_EVPD)) {
		struct hvis_scsi_inquiry_std std;

		if (q->ci_page) {
			scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
			return;
		}
		scsi_std_inquiry(&std, HVIS_SCSI_PQ_CONNECTED |
				 HVIS_SCSI_TYPE_DISK, c->d);
		scsi_reply(c, &std, sizeof(std), alloc);
		return;
	}
	switch (q->ci_page) {
	case HVIS_SCSI_VPD_SUPPORTED_PAGES:
		memcpy(page + 4, scsi_vpd_pages, sizeof(scsi_vpd_pages));
		len = scsi_vpd_header(page, q->ci_page, sizeof(scsi_vpd_pages));
		break;
	case HVIS_SCSI_VPD_UNIT_SERIAL:
		len = scsi_vpd_serial(c->d, page);
		break;
	case HVIS_SCSI_VPD_DEVICE_ID:
		len = scsi_vpd_device_id(c->d, page);
		break;
	case HVIS_SCSI_VPD_BLOCK_LIMITS:
		scsi_vpd_block_limits(c->d, (void *)page);
		len = sizeof(struct hvis_scsi_vpd_block_limits);
		break;
	case HVIS_SCSI_VPD_BLOCK_CHARACTERISTICS:
		scsi_vpd_block_chars(c->d, (void *)page);
		len = sizeof(struct hvis_scsi_vpd_block_chars);
		break;
	case HVIS_SCSI_VPD_LB_PROVISIONING:
		scsi_vpd_lbp(c->d, (void *)page);
		len = sizeof(struct hvis_scsi_vpd_lbp);
		break;
	default:
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	scsi_reply(c, page, len, alloc);
}

/* ------------------------------------------------------------ capacity */

static void scsi_cmd_read_capacity10(struct scsi_cmd *c)
{
	struct hvis_scsi_read_capacity10 rc;
	uint64_t last = c->d->nblocks - 1;

	/*
	 * The obsolete PMI and LBA fields are ignored. A last LBA that does
	 * not fit tells the initiator to use READ CAPACITY(16).
	 */
	rc.rc_last_lba = htobe32(last >= HVIS_SCSI_RC10_TOO_BIG ?
				 HVIS_SCSI_RC10_TOO_BIG : (uint32_t)last);
	rc.rc_block_size = htobe32(c->d->block_size);
	scsi_reply(c, &rc, sizeof(rc), sizeof(rc));
}

static void scsi_read_capacity16(struct scsi_cmd *c, uint32_t alloc)
{
	struct hvis_scsi_read_capacity16 rc;
	uint16_t lbp = 0;

	memset(&rc, 0, sizeof(rc));
	rc.rc_last_lba = htobe64(c->d->nblocks - 1);
	rc.rc_block_size = htobe32(c->d->block_size);
	rc.rc_prot = HVIS_SCSI_RC16_RC_BASIS_LAST_LBA;
	rc.rc_exponents = scsi_phys_exponent(c->d);
	if (c->d->can_unmap)
		lbp = (HVIS_SCSI_RC16_LBPME | HVIS_SCSI_RC16_LBPRZ) << 8;
	rc.rc_lowest_aligned = htobe16(lbp);
	scsi_reply(c, &rc, sizeof(rc), alloc);
}

static void scsi_cmd_service_action_in(struct scsi_cmd *c)
{
	struct hvis_scsi_cdb16 q;

	memcpy(&q, c->cdb, sizeof(q));
	if (q.c16_flags == HVIS_SCSI_SAI_READ_CAPACITY_16)
		scsi_read_capacity16(c, be32toh(q.c16_length));
	else	/* other service actions, or reserved bits 7:5 */
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
}

/* ------------------------------------------------------------ MODE SENSE */

/* Header (8) + long block descriptor (16) + caching (20) + control (12). */
#define SCSI_MODE_MAX	64

static size_t scsi_mode_caching(const struct scsi_disk *d, uint8_t pc,
				uint8_t *p)
{
	struct hvis_scsi_mode_caching m;

	memset(&m, 0, sizeof(m));
	m.mc_page = HVIS_SCSI_MODE_PAGE_CACHING;
	m.mc_length = sizeof(m) - 2;
	/* Nothing is changeable (no MODE SELECT): the mask stays zero. */
	if (pc != HVIS_SCSI_MS_PC_CHANGEABLE && d->write_cache)
		m.mc_flags = HVIS_SCSI_CACHING_WCE;
	memcpy(p, &m, sizeof(m));
	return sizeof(m);
}

static size_t scsi_mode_control(uint8_t pc, uint8_t *p)
{
	struct hvis_scsi_mode_control m;

	memset(&m, 0, sizeof(m));
	m.mt_page = HVIS_SCSI_MODE_PAGE_CONTROL;
	m.mt_length = sizeof(m) - 2;
	/* Commands may complete in any order; fixed-format sense. */
	if (pc != HVIS_SCSI_MS_PC_CHANGEABLE)
		m.mt_flags3 = HVIS_SCSI_CONTROL_QAM_UNRESTRICTED;
	memcpy(p, &m, sizeof(m));
	return sizeof(m);
}

static size_t scsi_block_desc(const struct scsi_disk *d, bool longlba,
			      uint8_t pc, uint8_t *p)
{
	uint64_t n = pc == HVIS_SCSI_MS_PC_CHANGEABLE ? 0 : d->nblocks;
	uint32_t bs = pc == HVIS_SCSI_MS_PC_CHANGEABLE ? 0 : d->block_size;

	if (longlba) {
		struct hvis_scsi_block_desc_long bd;

		memset(&bd, 0, sizeof(bd));
		bd.bd_nblocks = htobe64(n);
		bd.bd_block_size = htobe32(bs);
		memcpy(p, &bd, sizeof(bd));
		return sizeof(bd);
	} else {
		struct hvis_scsi_block_desc bd;

		memset(&bd, 0, sizeof(bd));
		bd.bd_nblocks = htobe32(n > 0xFFFFFFFFu ? 0xFFFFFFFFu :
					(uint32_t)n);
		bd.bd_block_size[0] = (uint8_t)(bs >> 16);
		bd.bd_block_size[1] = (uint8_t)(bs >> 8);
		bd.bd_block_size[2] = (uint8_t)bs;
		memcpy(p, &bd, sizeof(bd));
		return sizeof(bd);
	}
}

static void scsi_mode_sense(struct scsi_cmd *c, bool ten, uint8_t flags,
			    uint8_t pcpage, uint8_t subpage, uint32_t alloc)
{
	const struct scsi_disk *d = c->d;
	uint8_t out[SCSI_MODE_MAX], pc = pcpage >> HVIS_SCSI_MS_PC_SHIFT;
	uint8_t page = pcpage & HVIS_SCSI_MS_PAGE_MASK, dsp;
	bool longlba = ten && (flags & HVIS_SCSI_MS_LLBAA);
	size_t hlen = ten ? sizeof(struct hvis_scsi_mode_hdr10) :
			    sizeof(struct hvis_scsi_mode_hdr6);
	size_t len = hlen, bdlen = 0;

	if (pc == HVIS_SCSI_MS_PC_SAVED) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_SAVING_NOT_SUPPORTED);
		return;
	}
	/* No subpages: "all subpages" is the page itself. */
	if ((subpage && subpage != HVIS_SCSI_MODE_SUBPAGE_ALL) ||
	    (page != HVIS_SCSI_MODE_PAGE_CACHING &&
	     page != HVIS_SCSI_MODE_PAGE_CONTROL &&
	     page != HVIS_SCSI_MODE_PAGE_ALL)) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	memset(out, 0, sizeof(out));
	if (!(flags & HVIS_SCSI_MS_DBD)) {
		bdlen = scsi_block_desc(d, longlba, pc, out + len);
		len += bdlen;
	}
	if (page == HVIS_SCSI_MODE_PAGE_CACHING || page == HVIS_SCSI_MODE_PAGE_ALL)
		len += scsi_mode_caching(d, pc, out + len);
	if (page == HVIS_SCSI_MODE_PAGE_CONTROL || page == HVIS_SCSI_MODE_PAGE_ALL)
		len += scsi_mode_control(pc, out + len);

	/* FUA is passed through to the host, so Linux may use it. */
	dsp = HVIS_SCSI_MODE_DSP_DPOFUA;
	if (d->read_only)
		dsp |= HVIS_SCSI_MODE_DSP_WP;
	if (ten) {
		struct hvis_scsi_mode_hdr10 h = {
			.mh_data_len = htobe16((uint16_t)(len - 2)),
			.mh_dev_specific = dsp,
			.mh_flags = bdlen && longlba ? HVIS_SCSI_MODE_LONGLBA : 0,
			.mh_bd_len = htobe16((uint16_t)bdlen),
		};

		memcpy(out, &h, sizeof(h));
	} else {
		struct hvis_scsi_mode_hdr6 h = {
			.mh_data_len = (uint8_t)(len - 1),
			.mh_dev_specific = dsp,
			.mh_bd_len = (uint8_t)bdlen,
		};

		memcpy(out, &h, sizeof(h));
	}
	scsi_reply(c, out, len, alloc);
}

static void scsi_cmd_mode_sense6(struct scsi_cmd *c)
{
	struct hvis_scsi_cdb_mode_sense6 q;

	memcpy(&q, c->cdb, sizeof(q));
	scsi_mode_sense(c, false, q.ms_flags, q.ms_page, q.ms_subpage,
			q.ms_alloc_len);
}

static void scsi_cmd_mode_sense10(struct scsi_cmd *c)
{
	struct hvis_scsi_cdb_mode_sense10 q;

	memcpy(&q, c->cdb, sizeof(q));
	scsi_mode_sense(c, true, q.ms_flags, q.ms_page, q.ms_subpage,
			be16toh(q.ms_alloc_len));
}

/* ------------------------------------------------------------ block I/O */

static bool scsi_is_write(uint8_t opcode)
{
	return opcode == HVIS_SCSI_OP_WRITE_6 || opcode == HVIS_SCSI_OP_WRITE_10 ||
	       opcode == HVIS_SCSI_OP_WRITE_12 || opcode == HVIS_SCSI_OP_WRITE_16;
}

static void scsi_cmd_read_write(struct scsi_cmd *c)
{
	const struct scsi_disk *d = c->d;
	bool write = scsi_is_write(c->cdb[0]);
	uint64_t lba, bytes;
	uint32_t n;
	uint8_t flags;

	scsi_lba_len(c, &lba, &n, &flags);
	/* No protection information (PROTECT 0 in INQUIRY). */
	if ((flags & HVIS_SCSI_RW_PROTECT_MASK) ||
	    (d->max_xfer_blocks && n > d->max_xfer_blocks)) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!scsi_range_ok(d, lba, n)) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_LBA_OUT_OF_RANGE);
		return;
	}
	bytes = (uint64_t)n * d->block_size;
	if (bytes > c->buf->len) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	if (write && d->read_only) {
		scsi_check(c->r, HVIS_SCSI_SK_DATA_PROTECT,
			   HVIS_SCSI_SENSE_WRITE_PROTECTED);
		return;
	}
	if (!n)		/* SBC: transferring nothing is not an error */
		return;
	scsi_start_io(c->r, write ? SCSI_IO_WRITE : SCSI_IO_READ, lba, n,
		      (uint32_t)bytes);
	c->r->fua = flags & HVIS_SCSI_RW_FUA;
}

static void scsi_cmd_sync_cache(struct scsi_cmd *c)
{
	uint64_t lba;
	uint32_t n;
	uint8_t flags;

	/*
	 * IMMED may be honoured by completing after the flush, which is
	 * what we do; 0 blocks means "to the end of the medium".
	 */
	scsi_lba_len(c, &lba, &n, &flags);
	if (!scsi_range_ok(c->d, lba, n)) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_LBA_OUT_OF_RANGE);
		return;
	}
	scsi_start_io(c->r, SCSI_IO_FLUSH, lba, n, 0);
}

/* The logical block of a WRITE SAME, read from the guest piecewise. */
static bool scsi_block_is_zero(const struct scsi_buf *b, uint32_t len)
{
	uint8_t chunk[512];

	for (uint32_t off = 0; off < len; off += sizeof(chunk)) {
		uint32_t k = len - off < sizeof(chunk) ? len - off : sizeof(chunk);

		if (scsi_buf_from(b, off, chunk, k) != k)
			return false;
		for (uint32_t i = 0; i < k; i++)
			if (chunk[i])
				return false;
	}
	return true;
}

static void scsi_cmd_write_same(struct scsi_cmd *c)
{
	const struct scsi_disk *d = c->d;
	uint8_t bad = HVIS_SCSI_WS_WRPROTECT_MASK | HVIS_SCSI_WS_ANCHOR |
		      HVIS_SCSI_WS_PBDATA | HVIS_SCSI_WS_LBDATA;
	bool ndob;
	uint64_t lba;
	uint32_t n;
	uint8_t flags;

	scsi_lba_len(c, &lba, &n, &flags);
	/* Bit 0 is NDOB in WRITE SAME(16), obsolete in WRITE SAME(10). */
	if (c->cdb[0] == HVIS_SCSI_OP_WRITE_SAME_10)
		bad |= HVIS_SCSI_WS_NDOB;
	ndob = flags & HVIS_SCSI_WS_NDOB;
	/* WSNZ: 0 blocks; and the limit VPD B0 reports. */
	if ((flags & bad) || !n ||
	    (d->max_unmap_blocks && n > d->max_unmap_blocks)) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!scsi_range_ok(d, lba, n)) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_LBA_OUT_OF_RANGE);
		return;
	}
	if (!ndob && c->buf->len < d->block_size) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	if (d->read_only) {
		scsi_check(c->r, HVIS_SCSI_SK_DATA_PROTECT,
			   HVIS_SCSI_SENSE_WRITE_PROTECTED);
		return;
	}
	/*
	 * Only zeros can be written by the host as UNMAP or WRITE ZEROES
	 * (unmapped blocks read as zeros, LBPRZ): any other pattern would
	 * need a block-replicating write we do not offer.
	 */
	if (!ndob && !scsi_block_is_zero(c->buf, d->block_size)) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_PARAM);
		return;
	}
	/* UNMAP on a thick disk may (SBC) and does write zeros instead. */
	if ((flags & HVIS_SCSI_WS_UNMAP) && d->can_unmap) {
		scsi_start_io(c->r, SCSI_IO_UNMAP, lba, n, 0);
		c->r->ranges[0].lba = lba;
		c->r->ranges[0].nblocks = n;
		c->r->nranges = 1;
	} else {
		scsi_start_io(c->r, SCSI_IO_WRITE_ZEROES, lba, n, 0);
	}
	c->r->xfer = ndob ? 0 : d->block_size;
}

static void scsi_cmd_unmap(struct scsi_cmd *c)
{
	const struct scsi_disk *d = c->d;
	struct scsi_result *r = c->r;
	struct hvis_scsi_cdb10 q;
	struct hvis_scsi_unmap_hdr h;
	uint32_t plen, ndesc, dlen;
	uint64_t total = 0;

	memcpy(&q, c->cdb, sizeof(q));
	plen = be16toh(q.c10_length);
	if (q.c10_flags & HVIS_SCSI_UNMAP_ANCHOR) {	/* no ANC_SUP */
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!plen)	/* SBC: an empty list is not an error */
		return;
	if (plen > c->buf->len) {
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	if (d->read_only) {
		scsi_check(r, HVIS_SCSI_SK_DATA_PROTECT,
			   HVIS_SCSI_SENSE_WRITE_PROTECTED);
		return;
	}
	if (plen < sizeof(h)) {
		scsi_illegal(r, HVIS_SCSI_SENSE_PARAM_LIST_LENGTH_ERROR);
		return;
	}
	scsi_buf_from(c->buf, 0, &h, sizeof(h));
	/*
	 * Descriptors are what the header claims and the list holds, the
	 * smaller; a partial last descriptor is ignored (SBC-3 5.28.2).
	 */
	dlen = be16toh(h.uh_desc_len);
	if (dlen > plen - sizeof(h))
		dlen = plen - (uint32_t)sizeof(h);
	ndesc = dlen / sizeof(struct hvis_scsi_unmap_desc);
	if (ndesc > scsi_unmap_descs(d)) {
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_PARAM);
		return;
	}
	for (uint32_t i = 0; i < ndesc; i++) {
		struct hvis_scsi_unmap_desc ud;
		uint64_t lba;
		uint32_t n;

		scsi_buf_from(c->buf, sizeof(h) + i * sizeof(ud), &ud, sizeof(ud));
		lba = be64toh(ud.ud_lba);
		n = be32toh(ud.ud_nblocks);
		if (!scsi_range_ok(d, lba, n)) {
			scsi_illegal(r, HVIS_SCSI_SENSE_LBA_OUT_OF_RANGE);
			return;
		}
		total += n;
		if (d->max_unmap_blocks && total > d->max_unmap_blocks) {
			scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_PARAM);
			return;
		}
		if (n) {	/* 0 blocks: nothing to unmap, not an error */
			r->ranges[r->nranges].lba = lba;
			r->ranges[r->nranges].nblocks = n;
			r->nranges++;
		}
	}
	if (r->nranges) {
		r->kind = SCSI_IO;
		r->op = SCSI_IO_UNMAP;
	}
	r->xfer = plen;
}

/* ------------------------------------------------------------ dispatch */

/*
 * One entry per implemented opcode: its handler and the direction of its
 * data phase. UNMAP exists only on a disk that can unmap, so that a thick
 * disk answers it as Linux expects of a device without it.
 */
#define SCSI_OP(fn, dir)	{ fn, SCSI_DIR_##dir, false }

static const struct scsi_op scsi_ops[256] = {
	[HVIS_SCSI_OP_TEST_UNIT_READY] = SCSI_OP(scsi_cmd_good, NONE),
	[HVIS_SCSI_OP_REQUEST_SENSE] = SCSI_OP(scsi_cmd_request_sense, IN),
	[HVIS_SCSI_OP_READ_6] = SCSI_OP(scsi_cmd_read_write, IN),
	[HVIS_SCSI_OP_WRITE_6] = SCSI_OP(scsi_cmd_read_write, OUT),
	[HVIS_SCSI_OP_INQUIRY] = SCSI_OP(scsi_cmd_inquiry, IN),
	[HVIS_SCSI_OP_MODE_SENSE_6] = SCSI_OP(scsi_cmd_mode_sense6, IN),
	[HVIS_SCSI_OP_START_STOP_UNIT] = SCSI_OP(scsi_cmd_good, NONE),
	[HVIS_SCSI_OP_PREVENT_ALLOW_REMOVAL] = SCSI_OP(scsi_cmd_good, NONE),
	[HVIS_SCSI_OP_READ_CAPACITY_10] = SCSI_OP(scsi_cmd_read_capacity10, IN),
	[HVIS_SCSI_OP_READ_10] = SCSI_OP(scsi_cmd_read_write, IN),
	[HVIS_SCSI_OP_WRITE_10] = SCSI_OP(scsi_cmd_read_write, OUT),
	[HVIS_SCSI_OP_VERIFY_10] = SCSI_OP(scsi_cmd_verify, NONE),
	[HVIS_SCSI_OP_SYNCHRONIZE_CACHE_10] = SCSI_OP(scsi_cmd_sync_cache, NONE),
	[HVIS_SCSI_OP_WRITE_SAME_10] = SCSI_OP(scsi_cmd_write_same, OUT),
	[HVIS_SCSI_OP_UNMAP] = { scsi_cmd_unmap, SCSI_DIR_OUT, true },
	[HVIS_SCSI_OP_MODE_SENSE_10] = SCSI_OP(scsi_cmd_mode_sense10, IN),
	[HVIS_SCSI_OP_READ_16] = SCSI_OP(scsi_cmd_read_write, IN),
	[HVIS_SCSI_OP_WRITE_16] = SCSI_OP(scsi_cmd_read_write, OUT),
	[HVIS_SCSI_OP_VERIFY_16] = SCSI_OP(scsi_cmd_verify, NONE),
	[HVIS_SCSI_OP_SYNCHRONIZE_CACHE_16] = SCSI_OP(scsi_cmd_sync_cache, NONE),
	[HVIS_SCSI_OP_WRITE_SAME_16] = SCSI_OP(scsi_cmd_write_same, OUT),
	[HVIS_SCSI_OP_SERVICE_ACTION_IN_16] = SCSI_OP(scsi_cmd_service_action_in, IN),
	[HVIS_SCSI_OP_READ_12] = SCSI_OP(scsi_cmd_read_write, IN),
	[HVIS_SCSI_OP_WRITE_12] = SCSI_OP(scsi_cmd_read_write, OUT),
	[HVIS_SCSI_OP_VERIFY_12] = SCSI_OP(scsi_cmd_verify, NONE),
};

int scsi_disk_validate(const struct scsi_disk *d)
{
	uint32_t ratio;

	if (d->block_size != 512 && d->block_size != 4096)
		return -EINVAL;
	if (d->phys_block_size < d->block_size ||
	    d->phys_block_size & (d->phys_block_size - 1))
		return -EINVAL;
	ratio = d->phys_block_size / d->block_size;
	if (ratio > 1u << 15)		/* the RC16 exponent is 4 bits */
		return -EINVAL;
	/* A last LBA must exist, and every byte offset must fit 64 bits. */
	if (!d->nblocks || d->nblocks > UINT64_MAX / d->block_size)
		return -EINVAL;
	return 0;
}

void scsi_exec(const struct scsi_disk *d, const uint8_t *cdb, uint32_t cdb_len,
	       enum scsi_dir dir, const struct scsi_buf *buf,
	       struct scsi_result *r)
{
	struct scsi_cmd c = { d, cdb, cdb_len, buf ? buf : &scsi_no_buf, r };
	const struct scsi_op *op;

	scsi_result_init(r);
	if (!cdb || !cdb_len) {
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_OPCODE);
		return;
	}
	op = &scsi_ops[cdb[0]];
	if (!op->fn || (op->needs_unmap && !d->can_unmap)) {
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_OPCODE);
		return;
	}
	if (!scsi_gate_cdb(cdb, cdb_len, r) ||
	    !scsi_gate_dir(op->dir, dir, c.buf, r))
		return;
	op->fn(&c);
}

void scsi_io_done(const struct scsi_disk *d, struct scsi_result *r, int err)
{
	bool read;

	(void)d;
	if (r->kind != SCSI_IO)
		return;
	r->kind = SCSI_DONE;
	if (!err) {
		r->status = HVIS_SCSI_STATUS_GOOD;
		return;
	}
	read = r->op == SCSI_IO_READ;
	if (err == -EIO)
		scsi_check(r, HVIS_SCSI_SK_MEDIUM_ERROR,
			   read ? HVIS_SCSI_SENSE_UNRECOVERED_READ_ERROR :
				  HVIS_SCSI_SENSE_WRITE_ERROR);
	else if (err == -ENOSPC && !read)
		scsi_check(r, HVIS_SCSI_SK_DATA_PROTECT,
			   HVIS_SCSI_SENSE_SPACE_ALLOC_FAILED_WP);
	else
		scsi_check(r, HVIS_SCSI_SK_HARDWARE_ERROR,
			   HVIS_SCSI_SENSE_INTERNAL_TARGET_FAILURE);
}

/* ------------------------------------------------------------ controller */

void scsi_report_luns(const uint16_t *luns, unsigned int n,
		      const uint8_t *cdb, uint32_t cdb_len, enum scsi_dir dir,
		      const struct scsi_buf *buf, struct scsi_result *r)
{
	struct scsi_cmd c = { NULL, cdb, cdb_len, buf ? buf : &scsi_no_buf, r };
	struct hvis_scsi_cdb_report_luns cq, *q = &cq;
	struct hvis_scsi_report_luns_hdr h;
	uint32_t alloc, limit, count = 0, off;

	scsi_result_init(r);
	if (!cdb || !cdb_len || cdb[0] != HVIS_SCSI_OP_REPORT_LUNS) {
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_OPCODE);
		return;
	}
	if (!scsi_gate_cdb(cdb, cdb_len, r) ||
	    !scsi_gate_dir(SCSI_DIR_IN, dir, c.buf, r))
		return;
	memcpy(q, cdb, sizeof(*q));
	if (q->rl_select != HVIS_SCSI_RL_SELECT_ALL_LU &&
	    q->rl_select != HVIS_SCSI_RL_SELECT_WELL_KNOWN &&
	    q->rl_select != HVIS_SCSI_RL_SELECT_ALL) {
		scsi_illegal(r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
		return;
	}
	/* We have no well-known LUNs: that selection is an empty list. */
	if (q->rl_select != HVIS_SCSI_RL_SELECT_WELL_KNOWN && luns)
		for (unsigned int i = 0; i < n && count < (UINT32_MAX - 8) / 8; i++)
			count += luns[i] <= HVIS_SCSI_LUN_MAX;

	/* SPC-4 lets a short allocation length truncate, not fail. */
	alloc = be32toh(q->rl_alloc_len);
	limit = alloc < c.buf->len ? alloc : c.buf->len;
	memset(&h, 0, sizeof(h));
	h.rl_list_len = htobe32(count * 8);
	off = (uint32_t)scsi_buf_to(c.buf, 0, &h, limit < sizeof(h) ? limit : sizeof(h));
	for (unsigned int i = 0; count && i < n && off < limit; i++) {
		uint8_t e[8] = { 0 };

		if (luns[i] > HVIS_SCSI_LUN_MAX)
			continue;
		count--;
		if (luns[i] > 0xFF)
			e[0] = HVIS_SCSI_LUN_FLAT | (uint8_t)(luns[i] >> 8);
		e[1] = (uint8_t)luns[i];
		off += (uint32_t)scsi_buf_to(c.buf, off, e,
					     limit - off < sizeof(e) ?
					     limit - off : sizeof(e));
	}
	r->xfer = off;
}

/* INQUIRY of a LUN that does not exist: qualifier 011b, type 0x1F. */
static void scsi_no_lun_inquiry(struct scsi_cmd *c)
{
	struct hvis_scsi_cdb_inquiry q;
	uint8_t periph = HVIS_SCSI_PQ_NOT_SUPPORTED | HVIS_SCSI_TYPE_NO_LUN;
	uint32_t alloc;

	memcpy(&q, c->cdb, sizeof(q));
	alloc = be16toh(q.ci_alloc_len);
	if (q.ci_flags & ~HVIS_SCSI_INQ_EVPD) {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
	} else if (!(q.ci_flags & HVIS_SCSI_INQ_EVPD) && !q.ci_page) {
		struct hvis_scsi_inquiry_std std;

		scsi_std_inquiry(&std, periph, NULL);
		scsi_reply(c, &std, sizeof(std), alloc);
	} else if ((q.ci_flags & HVIS_SCSI_INQ_EVPD) &&
		   q.ci_page == HVIS_SCSI_VPD_SUPPORTED_PAGES) {
		/* Page 0 lists itself alone. */
		uint8_t page[5] = { periph, 0, 0, 1, 0 };

		scsi_reply(c, page, sizeof(page), alloc);
	} else {
		scsi_illegal(c->r, HVIS_SCSI_SENSE_INVALID_FIELD_IN_CDB);
	}
}

void scsi_exec_no_lun(const uint8_t *cdb, uint32_t cdb_len, enum scsi_dir dir,
		      const struct scsi_buf *buf, struct scsi_result *r)
{
	struct scsi_cmd c = { NULL, cdb, cdb_len, buf ? buf : &scsi_no_buf, r };
	uint8_t opcode = cdb && cdb_len ? cdb[0] : 0xFF;

	scsi_result_init(r);
	if (opcode != HVIS_SCSI_OP_INQUIRY && opcode != HVIS_SCSI_OP_REQUEST_SENSE) {
		scsi_illegal(r, HVIS_SCSI_SENSE_LUN_NOT_SUPPORTED);
		return;
	}
	if (!scsi_gate_cdb(cdb, cdb_len, r) ||
	    !scsi_gate_dir(SCSI_DIR_IN, dir, c.buf, r))
		return;
	if (opcode == HVIS_SCSI_OP_INQUIRY) {
		scsi_no_lun_inquiry(&c);
	} else {
		/* SPC-4: the sense is the data, and the status is GOOD. */
		uint8_t sense[SCSI_SENSE_LEN];

		scsi_fill_sense(sense, HVIS_SCSI_SK_ILLEGAL_REQUEST,
				HVIS_SCSI_ASC(HVIS_SCSI_SENSE_LUN_NOT_SUPPORTED),
				HVIS_SCSI_ASCQ(HVIS_SCSI_SENSE_LUN_NOT_SUPPORTED));
		scsi_reply(&c, sense, sizeof(sense), cdb[4]);
	}
}
