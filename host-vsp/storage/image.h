/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Disk images as the storage VSP sees them: a virtual disk of N bytes
 * that takes asynchronous read, write, flush, discard and write-zeroes
 * requests, whatever the file format underneath: a raw file or block
 * device, or a VHD (fixed or dynamic, vhd.h).
 *
 * Requests run on struct aio (io_uring or threads); done() runs on the
 * caller's thread from aio_poll(). Flush semantics are exact: a FLUSH
 * completes once every write completed before it was submitted is on
 * stable storage (fdatasync of the image file), and a FUA write completes
 * only once it is there (RWF_DSYNC). VHD block allocation, which must
 * order its metadata writes around an fdatasync, runs on an aio worker,
 * never on the event loop.
 */
#ifndef HVIS_VSP_STORAGE_IMAGE_H
#define HVIS_VSP_STORAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "aio.h"

enum img_format {
	IMG_FORMAT_AUTO,	/* VHD if the name ends in .vhd (or .vpc), else raw */
	IMG_FORMAT_RAW,
	IMG_FORMAT_VHD,
};

struct img_opts {
	const char *path;
	enum img_format format;
	bool read_only;
};

enum img_op {
	IMG_READ,
	IMG_WRITE,
	IMG_FLUSH,
	IMG_DISCARD,		/* may read back as zeros or old data: zeros here */
	IMG_WRITE_ZEROES,	/* reads back as zeros */
};

struct img;
struct img_req;
typedef void (*img_done_fn)(struct img_req *req, int err);

/*
 * One request. off/len in bytes, multiples of 512, inside the disk (the
 * SCSI layer checked). iov covers exactly len bytes for READ/WRITE.
 * err: 0, -EIO (I/O error), -ENOSPC (the host ran out of space),
 * -EROFS, or another -errno.
 */
struct img_req {
	enum img_op op;
	uint64_t off;
	uint64_t len;
	const struct iovec *iov;
	unsigned int iovcnt;
	bool fua;
	img_done_fn done;
	void *opaque;

	/* the image's own */
	struct img *img;
	uint64_t pos;		/* bytes done */
	struct iovec *slice;	/* sub-vector for one extent */
	struct aio_req aio;
	struct img_req *next;	/* waiting for an allocation */
	int err;
};

int img_open(const struct img_opts *o, struct aio *aio, struct img **out,
	     char *err, size_t errlen);
/* Nothing may be in flight (aio_drain first). */
void img_close(struct img *im);

uint64_t img_size(const struct img *im);
bool img_read_only(const struct img *im);
const char *img_format_name(const struct img *im);	/* "raw", "vhd-fixed", "vhd-dynamic" */
const char *img_path(const struct img *im);
/* A stable 16-byte identity: the VHD's unique id, or a hash of the path. */
void img_uuid(const struct img *im, uint8_t out[16]);
unsigned int img_in_flight(const struct img *im);

void img_submit(struct img *im, struct img_req *req);

/* Copy @n zero bytes into @iov from byte @off. */
void img_iov_zero(const struct iovec *iov, unsigned int iovcnt, uint64_t off,
		  uint64_t n);

#endif /* HVIS_VSP_STORAGE_IMAGE_H */
