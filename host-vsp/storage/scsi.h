/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SCSI disk target behind storvsp: decodes one CDB for one logical
 * unit and either answers it at once (INQUIRY and its VPD pages, READ
 * CAPACITY, MODE SENSE, ...) or says which block work the host must do
 * (READ, WRITE, FLUSH, UNMAP, WRITE ZEROES) and turns the host's errno
 * into SCSI status and sense when it is done. Pure logic: no I/O, no
 * allocation, no state between commands (every command carries all it
 * needs), so any number of commands may be in flight and any thread may
 * call in, as long as the struct scsi_disk is not changed meanwhile.
 *
 * Trust: the CDB, its length, the direction and every byte of a data-out
 * buffer are the guest's. Nothing is read or written beyond cdb_len or
 * beyond the data buffer (buf->len, and the iovecs it is made of); a
 * malformed command ends in CHECK CONDITION with fixed-format sense. The
 * struct scsi_disk is the host's: check it once with scsi_disk_validate().
 *
 * The data phase: a command whose data goes one way (INQUIRY: in, WRITE:
 * out) is refused with ILLEGAL REQUEST, INVALID FIELD IN CDB if it comes
 * with a non-empty buffer marked the other way (or none), so a data-in
 * command never writes into memory the guest offered for reading.
 */
#ifndef HVIS_VSP_STORAGE_SCSI_H
#define HVIS_VSP_STORAGE_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <hvis/scsi.h>

/* One LUN as the host configures it. */
struct scsi_disk {
	uint64_t nblocks;		/* logical blocks, >= 1 */
	uint32_t block_size;		/* bytes: 512 or 4096 */
	uint32_t phys_block_size;	/* power of two, >= block_size,
					 * <= 2^15 logical blocks */
	bool read_only;			/* WP; writes end in DATA PROTECT */
	bool can_unmap;			/* thin: UNMAP, WRITE SAME + UNMAP */
	bool write_cache;		/* WCE in the caching mode page */
	bool rotational;		/* false: VPD B1 says non-rotating */
	char vendor[8 + 1];		/* INQUIRY, space padded on the wire */
	char product[16 + 1];
	char revision[4 + 1];
	char serial[64 + 1];		/* VPD 0x80; empty: hex of id */
	uint8_t id[16];			/* unique per disk: VPD 0x83 */
	/*
	 * IEEE company id (OUI, 24 bits) for the NAA 6 designator of VPD
	 * 0x83; its other 100 bits are the last 100 bits of id.
	 */
	uint32_t naa_oui;
	/*
	 * VPD B0 block limits, in logical blocks. 0 means "no limit" for
	 * each; max_xfer_blocks is enforced on READ/WRITE (INVALID FIELD IN
	 * CDB beyond it), max_unmap_blocks on UNMAP (total of all
	 * descriptors) and WRITE SAME. Descriptors per UNMAP are at most
	 * SCSI_MAX_RANGES whatever max_unmap_descs says.
	 */
	uint32_t max_xfer_blocks;
	uint32_t opt_xfer_blocks;
	uint32_t max_unmap_blocks;
	uint32_t max_unmap_descs;
};

/* The command's data buffer: host views of guest memory. */
struct scsi_buf {
	const struct iovec *iov;
	unsigned int iovcnt;
	uint32_t len;			/* total bytes (never more than the iovs) */
};

enum scsi_dir {
	SCSI_DIR_NONE,
	SCSI_DIR_IN,			/* device -> guest */
	SCSI_DIR_OUT,			/* guest -> device */
};

enum scsi_io_op {
	SCSI_IO_READ,			/* nblocks from lba into buf, offset 0 */
	SCSI_IO_WRITE,			/* nblocks from buf, offset 0, to lba */
	SCSI_IO_FLUSH,			/* lba, nblocks (0: to the end) */
	SCSI_IO_UNMAP,			/* ranges[0 .. nranges) */
	SCSI_IO_WRITE_ZEROES,		/* nblocks of zeros at lba */
};

#define SCSI_MAX_RANGES		64
#define SCSI_SENSE_LEN		18	/* fixed format */

struct scsi_range {
	uint64_t lba;
	uint32_t nblocks;		/* never 0 */
};

enum scsi_result_kind {
	SCSI_DONE,			/* status (and sense) final */
	SCSI_IO,			/* do the block work, then scsi_io_done() */
};

struct scsi_result {
	enum scsi_result_kind kind;
	/* SCSI_DONE: */
	uint8_t status;			/* HVIS_SCSI_STATUS_* */
	uint8_t sense[SCSI_SENSE_LEN];	/* fixed format, CHECK CONDITION */
	uint8_t sense_len;		/* 0 or SCSI_SENSE_LEN */
	/*
	 * Bytes the data phase moved, either way (residual = buf.len -
	 * xfer). For SCSI_IO: what it moves if the I/O succeeds (READ/WRITE:
	 * nblocks * block_size, UNMAP: the parameter list, WRITE SAME: its
	 * block); scsi_io_done() keeps it on success and zeroes it on error.
	 */
	uint32_t xfer;
	/* SCSI_IO: the block work (all inside the disk, checked): */
	enum scsi_io_op op;
	bool fua;			/* READ/WRITE(10, 12, 16) FUA bit */
	uint64_t lba;			/* READ WRITE FLUSH WRITE_ZEROES */
	uint32_t nblocks;		/* > 0 except FLUSH (0: to the end) */
	struct scsi_range ranges[SCSI_MAX_RANGES];	/* UNMAP */
	unsigned int nranges;		/* UNMAP: >= 1 */
};

/* 0 if @d can be served (sizes, powers of two, no overflow), else -EINVAL. */
int scsi_disk_validate(const struct scsi_disk *d);

/*
 * Decode and execute one command for @d. Commands that need no block I/O
 * complete at once (SCSI_DONE, data copied into @buf); READ/WRITE(6, 10,
 * 12, 16), SYNCHRONIZE CACHE(10, 16), UNMAP and WRITE SAME(10, 16) (all
 * zero data or NDOB only: UNMAP bit -> SCSI_IO_UNMAP when the disk can
 * unmap, else SCSI_IO_WRITE_ZEROES) return SCSI_IO, unless they move no
 * block (a zero transfer length, an empty UNMAP list: SCSI_DONE, GOOD).
 * REPORT LUNS is the caller's (scsi_report_luns()): here it is an unknown
 * opcode. @buf may be NULL (no data).
 */
void scsi_exec(const struct scsi_disk *d, const uint8_t *cdb, uint32_t cdb_len,
	       enum scsi_dir dir, const struct scsi_buf *buf,
	       struct scsi_result *r);

/*
 * The host finished the SCSI_IO part of @r: @err 0 -> GOOD; -EIO ->
 * MEDIUM ERROR (a read: UNRECOVERED READ ERROR, anything else: WRITE
 * ERROR); -ENOSPC on anything but a read -> DATA PROTECT, SPACE
 * ALLOCATION FAILED WRITE PROTECT (what thin provisioning reports when
 * the pool is full; Linux maps it to -ENOSPC); any other -> HARDWARE
 * ERROR, INTERNAL TARGET FAILURE. @r becomes SCSI_DONE. A result that is
 * not SCSI_IO is left alone.
 */
void scsi_io_done(const struct scsi_disk *d, struct scsi_result *r, int err);

/*
 * REPORT LUNS for the whole target, whichever LUN it was addressed to:
 * @luns[0 .. n) are the LUN numbers (0 .. HVIS_SCSI_LUN_MAX; others are
 * left out), reported in the order given.
 */
void scsi_report_luns(const uint16_t *luns, unsigned int n,
		      const uint8_t *cdb, uint32_t cdb_len, enum scsi_dir dir,
		      const struct scsi_buf *buf, struct scsi_result *r);

/*
 * A command for a LUN that does not exist: INQUIRY answers peripheral
 * qualifier 011b, device type 0x1F (so Linux adds no device), REQUEST
 * SENSE returns LOGICAL UNIT NOT SUPPORTED as its data with GOOD status
 * (SPC-4 says so), everything else ends in CHECK CONDITION, ILLEGAL
 * REQUEST, LOGICAL UNIT NOT SUPPORTED. REPORT LUNS is the caller's.
 */
void scsi_exec_no_lun(const uint8_t *cdb, uint32_t cdb_len, enum scsi_dir dir,
		      const struct scsi_buf *buf, struct scsi_result *r);

/*
 * Copy @n bytes to/from @b at byte offset @off, clipped to b->len and to
 * the iovecs. Return the bytes copied. @b may be NULL (nothing copied).
 */
size_t scsi_buf_to(const struct scsi_buf *b, size_t off, const void *src,
		   size_t n);
size_t scsi_buf_from(const struct scsi_buf *b, size_t off, void *dst,
		     size_t n);

/*
 * CHECK CONDITION with fixed-format sense (@key, @asc, @ascq) in @r;
 * r->kind becomes SCSI_DONE and r->xfer 0.
 */
void scsi_set_sense(struct scsi_result *r, uint8_t key, uint8_t asc,
		    uint8_t ascq);

#endif /* HVIS_VSP_STORAGE_SCSI_H */
