/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Asynchronous file I/O for the storage VSP: vectored reads and writes,
 * data syncs, hole punching, and "run this function on a worker" for the
 * few metadata steps that must block (VHD block allocation).
 *
 * Two engines behind one interface: io_uring (liburing) where the kernel
 * allows it, a thread pool where it does not (io_uring disabled by
 * sysctl or seccomp, old kernels). Completions are delivered on the
 * caller's thread only, from aio_poll(); aio_fd() becomes readable when
 * some are waiting, so hvis-vspd's event loop watches it.
 *
 * Buffers are the caller's (guest memory, already bounds-checked) and
 * must stay valid until the completion ran.
 */
#ifndef HVIS_VSP_STORAGE_AIO_H
#define HVIS_VSP_STORAGE_AIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct aio;

enum aio_op {
	AIO_READ,
	AIO_WRITE,
	AIO_FSYNC,	/* fdatasync */
	AIO_PUNCH,	/* fallocate(PUNCH_HOLE | KEEP_SIZE): reads zeros after */
	AIO_CALL,	/* run fn(arg) on a worker thread */
};

struct aio_req;
typedef void (*aio_done_fn)(struct aio_req *req, int result);

/*
 * One operation, owned by the caller until done() ran. result: bytes for
 * READ/WRITE (a short count is possible and the caller's to handle),
 * 0 or -errno otherwise (CALL: fn's return value).
 */
struct aio_req {
	enum aio_op op;
	int fd;
	uint64_t off;
	uint64_t len;			/* PUNCH */
	const struct iovec *iov;	/* READ/WRITE */
	unsigned int iovcnt;
	bool fua;			/* WRITE: on stable storage when done */
	int (*fn)(void *arg);		/* CALL */
	void *arg;
	aio_done_fn done;
	void *opaque;
	struct aio_req *next;		/* the engine's */
};

enum aio_engine {
	AIO_ENGINE_AUTO,	/* io_uring, else threads */
	AIO_ENGINE_URING,
	AIO_ENGINE_THREADS,
};

/* @depth: operations in flight at most (submissions beyond it queue). */
struct aio *aio_create(enum aio_engine engine, unsigned int depth);
/* Waits for everything in flight (their done() runs), then frees. */
void aio_destroy(struct aio *a);
enum aio_engine aio_engine(const struct aio *a);
const char *aio_engine_name(const struct aio *a);

/* Queue @req; done() runs later from aio_poll(), never from here. */
void aio_submit(struct aio *a, struct aio_req *req);
/* Push queued submissions to the kernel / workers (after a batch). */
void aio_flush(struct aio *a);
/* Readable when completions wait. */
int aio_fd(const struct aio *a);
/* Run the done() of every completed operation; returns how many. */
unsigned int aio_poll(struct aio *a);
/* Block until every submitted operation completed and its done() ran. */
void aio_drain(struct aio *a);
unsigned int aio_in_flight(const struct aio *a);

#endif /* HVIS_VSP_STORAGE_AIO_H */
