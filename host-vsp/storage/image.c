// SPDX-License-Identifier: GPL-2.0-only
/*
 * Disk images (image.h): raw files, block devices and VHDs on struct aio.
 *
 * A request walks its byte range extent by extent. Raw and fixed VHD are
 * one extent (the file itself, at the same offset); a dynamic VHD maps
 * each piece through its block table: present data goes to the file,
 * absent data reads as zeros, and a write to an absent block first waits
 * for that block's allocation, which runs on an aio worker, one at a time
 * per image (vhd.h's contract).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "vhd.h"

struct img {
	char *path;
	int fd;
	bool read_only;
	bool is_blockdev;
	enum img_format format;
	struct vhd *vhd;		/* VHD only */
	bool vhd_dynamic;
	uint64_t size;
	uint8_t uuid[16];
	struct aio *aio;
	unsigned int in_flight;

	/* dynamic VHD: one allocation at a time, the rest wait in order */
	bool allocating;
	struct img_req *alloc_head, **alloc_tail;
	struct img_req *alloc_req;	/* the one being allocated for */
	uint64_t alloc_off;
};

static void step(struct img_req *req);

/* ------------------------------------------------------------ iovecs */

void img_iov_zero(const struct iovec *iov, unsigned int iovcnt, uint64_t off,
		  uint64_t n)
{
	for (unsigned int i = 0; i < iovcnt && n; i++) {
		uint64_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > n)
			l = n;
		memset((uint8_t *)iov[i].iov_base + off, 0, l);
		n -= l;
		off = 0;
	}
}

/* The part [off, off + n) of the request's vector, in req->slice. */
static unsigned int slice(struct img_req *req, uint64_t off, uint64_t n)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < req->iovcnt && n; i++) {
		uint64_t l = req->iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > n)
			l = n;
		req->slice[k].iov_base = (uint8_t *)req->iov[i].iov_base + off;
		req->slice[k].iov_len = l;
		k++;
		n -= l;
		off = 0;
	}
	return k;
}

/* ------------------------------------------------------------ requests */

static void finish(struct img_req *req, int err)
{
	struct img *im = req->img;

	free(req->slice);
	req->slice = NULL;
	im->in_flight--;
	req->done(req, err);
}

static void aio_done(struct aio_req *a, int res)
{
	struct img_req *req = a->opaque;

	switch (a->op) {
	case AIO_READ:
	case AIO_WRITE: {
		uint64_t want = 0;

		for (unsigned int i = 0; i < a->iovcnt; i++)
			want += a->iov[i].iov_len;
		if (res < 0) {
			finish(req, res);
			return;
		}
		if ((uint64_t)res < want) {
			if (a->op == AIO_READ) {
				/* past the end of a file shorter than the disk */
				img_iov_zero(a->iov, a->iovcnt, (uint64_t)res,
					     want - (uint64_t)res);
			} else if (res == 0) {
				finish(req, -EIO);
				return;
			} else {
				want = (uint64_t)res;	/* the rest again */
			}
		}
		req->pos += want;
		break;
	}
	case AIO_FSYNC:
	case AIO_PUNCH:
		if (res < 0 && !(a->op == AIO_PUNCH && req->op == IMG_DISCARD &&
				 res == -EOPNOTSUPP)) {
			finish(req, res);
			return;
		}
		if (a->op == AIO_PUNCH)
			req->pos += a->len;
		else
			req->pos = req->len;
		break;
	case AIO_CALL:
		break;		/* allocations complete in alloc_done */
	}
	step(req);
}

static void submit_io(struct img_req *req, enum aio_op op, uint64_t file_off,
		      uint64_t n)
{
	struct aio_req *a = &req->aio;

	memset(a, 0, sizeof(*a));
	a->op = op;
	a->fd = req->img->fd;
	a->off = file_off;
	a->fua = req->fua;
	a->done = aio_done;
	a->opaque = req;
	if (op == AIO_READ || op == AIO_WRITE) {
		a->iov = req->slice;
		a->iovcnt = slice(req, req->pos, n);
	} else {
		a->len = n;
	}
	aio_submit(req->img->aio, a);
}

/* ---- dynamic VHD allocation ---- */

static int alloc_call(void *arg)
{
	struct img *im = arg;

	return vhd_alloc(im->vhd, im->alloc_off);
}

static void alloc_start(struct img *im);

static void alloc_done(struct aio_req *a, int res)
{
	struct img *im = a->opaque;
	struct img_req *req = im->alloc_req;

	im->allocating = false;
	im->alloc_req = NULL;
	/*
	 * The next allocation first: finishing @req may run the last
	 * completion of a removed disk, which closes the image.
	 */
	alloc_start(im);
	if (res < 0)
		finish(req, res);
	else
		step(req);	/* maps again: now present */
}

static void alloc_start(struct img *im)
{
	struct img_req *req = im->alloc_head;
	struct aio_req *a;

	if (im->allocating || !req)
		return;
	im->alloc_head = req->next;
	if (!im->alloc_head)
		im->alloc_tail = &im->alloc_head;
	im->allocating = true;
	im->alloc_req = req;
	im->alloc_off = req->off + req->pos;
	a = &req->aio;
	memset(a, 0, sizeof(*a));
	a->op = AIO_CALL;
	a->fn = alloc_call;
	a->arg = im;
	a->done = alloc_done;
	a->opaque = im;
	aio_submit(im->aio, a);
}

static void alloc_wait(struct img_req *req)
{
	struct img *im = req->img;

	req->next = NULL;
	*im->alloc_tail = req;
	im->alloc_tail = &req->next;
	alloc_start(im);
}

/*
 * Take the next piece of @req: where does [off + pos, off + len) live?
 * Raw and fixed VHD: the file at the same offset, all at once.
 */
static int locate(struct img_req *req, bool for_write, uint64_t *file_off,
		  uint64_t *run)
{
	struct img *im = req->img;
	uint64_t off = req->off + req->pos, n = req->len - req->pos;

	if (!im->vhd) {
		*file_off = off;
		*run = n;
		return VHD_MAP_DATA;
	}
	return vhd_map(im->vhd, off, n, for_write, file_off, run);
}

static void step(struct img_req *req)
{
	struct img *im = req->img;

	while (req->pos < req->len) {
		uint64_t file_off, run;
		bool wr = req->op == IMG_WRITE;
		int st = locate(req, wr, &file_off, &run);

		if (st < 0) {
			finish(req, st);
			return;
		}
		if (!run) {
			finish(req, -EIO);
			return;
		}
		switch (req->op) {
		case IMG_READ:
			if (st == VHD_MAP_ZERO) {
				img_iov_zero(req->iov, req->iovcnt, req->pos, run);
				req->pos += run;
				continue;
			}
			submit_io(req, AIO_READ, file_off, run);
			aio_flush(im->aio);
			return;
		case IMG_WRITE:
			if (st == VHD_MAP_ALLOC) {
				alloc_wait(req);
				aio_flush(im->aio);
				return;
			}
			submit_io(req, AIO_WRITE, file_off, run);
			aio_flush(im->aio);
			return;
		case IMG_DISCARD:
		case IMG_WRITE_ZEROES:
			if (st == VHD_MAP_ZERO) {	/* absent: reads zero already */
				req->pos += run;
				continue;
			}
			submit_io(req, AIO_PUNCH, file_off, run);
			aio_flush(im->aio);
			return;
		case IMG_FLUSH:
			break;
		}
		break;
	}
	finish(req, 0);
}

void img_submit(struct img *im, struct img_req *req)
{
	req->img = im;
	req->pos = 0;
	req->err = 0;
	req->slice = NULL;
	im->in_flight++;
	if (im->read_only && req->op != IMG_READ && req->op != IMG_FLUSH) {
		finish(req, -EROFS);
		return;
	}
	if (req->op == IMG_FLUSH) {
		/* a flush of a read-only image has nothing to do */
		if (im->read_only) {
			finish(req, 0);
			return;
		}
		req->len = 1;	/* one step: the sync */
		submit_io(req, AIO_FSYNC, 0, 0);
		aio_flush(im->aio);
		return;
	}
	if (req->off > im->size || req->len > im->size - req->off) {
		finish(req, -EINVAL);
		return;
	}
	if (req->op == IMG_READ || req->op == IMG_WRITE) {
		req->slice = malloc(sizeof(*req->slice) *
				    (req->iovcnt ? req->iovcnt : 1));
		if (!req->slice) {
			finish(req, -ENOMEM);
			return;
		}
	}
	step(req);
}

/* ------------------------------------------------------------ open */

static void path_uuid(const char *path, uint8_t out[16])
{
	/* two FNV-1a 64 hashes with different seeds: stable, not secret */
	uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;

	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		h1 = (h1 ^ *c) * 0x100000001b3ull;
		h2 = (h2 ^ *c) * 0x100000001b3ull;
		h2 ^= h2 >> 29;
	}
	memcpy(out, &h1, 8);
	memcpy(out + 8, &h2, 8);
	out[6] = (uint8_t)((out[6] & 0x0F) | 0x80);	/* RFC 4122 "custom" v8 */
	out[8] = (uint8_t)((out[8] & 0x3F) | 0x80);
}

/*
 * The format by the file name, never by content: a guest that can write
 * a raw disk could otherwise plant a VHD footer in it and have the host
 * read its own metadata as another layout on the next start.
 */
static bool named_like_vhd(const char *path)
{
	size_t n = strlen(path);

	return n > 4 && (!strcasecmp(path + n - 4, ".vhd") ||
			 !strcasecmp(path + n - 4, ".vpc"));
}

int img_open(const struct img_opts *o, struct aio *aio, struct img **out,
	     char *err, size_t errlen)
{
	struct img *im;
	struct stat st;
	char real[PATH_MAX];
	int rc;

	*out = NULL;
	im = calloc(1, sizeof(*im));
	if (!im) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	im->aio = aio;
	im->read_only = o->read_only;
	im->alloc_tail = &im->alloc_head;
	im->fd = open(o->path, (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (im->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		goto fail;
	}
	im->path = strdup(realpath(o->path, real) ? real : o->path);
	if (!im->path || fstat(im->fd, &st) < 0) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: cannot stat", o->path);
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;

		if (ioctl(im->fd, BLKGETSIZE64, &bytes) < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: size: %s", o->path, strerror(errno));
			goto fail;
		}
		im->size = bytes;
		im->is_blockdev = true;
	} else if (S_ISREG(st.st_mode)) {
		im->size = (uint64_t)st.st_size;
	} else {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a file or block device", o->path);
		goto fail;
	}
	im->format = o->format;
	if (im->format == IMG_FORMAT_AUTO)
		im->format = !im->is_blockdev && named_like_vhd(o->path) ?
			     IMG_FORMAT_VHD : IMG_FORMAT_RAW;
	if (im->format == IMG_FORMAT_VHD) {
		const struct vhd_info *vi;
		char verr[160];

		rc = vhd_open(im->fd, o->read_only, &im->vhd, verr, sizeof(verr));
		if (rc) {
			snprintf(err, errlen, "%s: %s", o->path, verr);
			goto fail;
		}
		vi = vhd_get_info(im->vhd);
		im->size = vi->size;
		im->vhd_dynamic = vi->type == VHD_TYPE_DYNAMIC;
		memcpy(im->uuid, vi->uuid, 16);
		if (!im->vhd_dynamic) {
			/* fixed: the data is the file's first size bytes */
			vhd_close(im->vhd);
			im->vhd = NULL;
		}
	} else {
		path_uuid(im->path, im->uuid);
	}
	im->size -= im->size % 512;
	if (!im->size) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: empty disk", o->path);
		goto fail;
	}
	*out = im;
	return 0;
fail:
	img_close(im);
	return rc;
}

void img_close(struct img *im)
{
	if (!im)
		return;
	if (im->vhd)
		vhd_close(im->vhd);
	if (im->fd >= 0)
		close(im->fd);
	free(im->path);
	free(im);
}

uint64_t img_size(const struct img *im)
{
	return im->size;
}

bool img_read_only(const struct img *im)
{
	return im->read_only;
}

const char *img_format_name(const struct img *im)
{
	if (im->format == IMG_FORMAT_VHD)
		return im->vhd_dynamic ? "vhd-dynamic" : "vhd-fixed";
	return "raw";
}

const char *img_path(const struct img *im)
{
	return im->path;
}

void img_uuid(const struct img *im, uint8_t out[16])
{
	memcpy(out, im->uuid, 16);
}

unsigned int img_in_flight(const struct img *im)
{
	return im->in_flight;
}
