// SPDX-License-Identifier: GPL-2.0-only
/*
 * Asynchronous file I/O: io_uring, or a thread pool (aio.h).
 *
 * Both engines signal one eventfd when completions wait: io_uring through
 * io_uring_register_eventfd, the workers by writing it after they queue a
 * finished request on the done list. aio_poll() reaps both. The thread
 * pool also serves AIO_CALL under io_uring: blocking metadata steps run
 * there, never on the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "aio.h"

#define AIO_WORKERS_MAX		4u

struct aio {
	enum aio_engine engine;
	unsigned int depth;
	unsigned int in_flight;		/* submitted, done() not yet run */
	unsigned int in_kernel;		/* io_uring: SQEs not yet completed */
	int efd;

	/* io_uring */
	struct io_uring ring;
	bool ring_ok;
	unsigned int unsubmitted;	/* SQEs prepared, not yet submitted */
	struct aio_req *backlog, **backlog_tail;	/* over depth */

	/* thread pool */
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_cond_t idle;
	struct aio_req *jobs, **jobs_tail;
	struct aio_req *done, **done_tail;
	unsigned int busy;		/* jobs taken by a worker */
	pthread_t workers[AIO_WORKERS_MAX];
	unsigned int nworkers;
	bool stopping;
};

/* ------------------------------------------------------------ workers */

static int run_sync(struct aio_req *r)
{
	ssize_t n;

	switch (r->op) {
	case AIO_READ:
		n = preadv(r->fd, r->iov, (int)r->iovcnt, (off_t)r->off);
		return n < 0 ? -errno : (int)n;
	case AIO_WRITE:
		n = pwritev2(r->fd, r->iov, (int)r->iovcnt, (off_t)r->off,
			     r->fua ? RWF_DSYNC : 0);
		return n < 0 ? -errno : (int)n;
	case AIO_FSYNC:
		return fdatasync(r->fd) < 0 ? -errno : 0;
	case AIO_PUNCH:
		return fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				 (off_t)r->off, (off_t)r->len) < 0 ? -errno : 0;
	case AIO_CALL:
		return r->fn(r->arg);
	}
	return -EINVAL;
}

static void *worker(void *arg)
{
	struct aio *a = arg;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct aio_req *r;
		uint64_t one = 1;
		int res;

		while (!a->jobs && !a->stopping)
			pthread_cond_wait(&a->work, &a->lock);
		if (!a->jobs)
			break;
		r = a->jobs;
		a->jobs = r->next;
		if (!a->jobs)
			a->jobs_tail = &a->jobs;
		a->busy++;
		pthread_mutex_unlock(&a->lock);

		res = run_sync(r);

		pthread_mutex_lock(&a->lock);
		a->busy--;
		/* the result travels in ->len (unused by the caller now) */
		r->len = (uint64_t)(int64_t)res;
		r->next = NULL;
		*a->done_tail = r;
		a->done_tail = &r->next;
		if (write(a->efd, &one, sizeof(one)) < 0) {
			/* eventfd counter saturated: a wake-up is pending anyway */
		}
		pthread_cond_broadcast(&a->idle);	/* aio_drain waits */
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static int pool_start(struct aio *a, unsigned int n)
{
	if (n > AIO_WORKERS_MAX)
		n = AIO_WORKERS_MAX;
	while (a->nworkers < n) {
		if (pthread_create(&a->workers[a->nworkers], NULL, worker, a))
			return a->nworkers ? 0 : -EAGAIN;
		a->nworkers++;
	}
	return 0;
}

static void pool_queue(struct aio *a, struct aio_req *r)
{
	r->next = NULL;
	pthread_mutex_lock(&a->lock);
	*a->jobs_tail = r;
	a->jobs_tail = &r->next;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->lock);
}

/* ------------------------------------------------------------ io_uring */

static bool uring_prep(struct aio *a, struct aio_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&a->ring);

	if (!sqe)
		return false;
	switch (r->op) {
	case AIO_READ:
		io_uring_prep_readv(sqe, r->fd, r->iov, r->iovcnt, r->off);
		break;
	case AIO_WRITE:
		io_uring_prep_writev(sqe, r->fd, r->iov, r->iovcnt, r->off);
		if (r->fua)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case AIO_FSYNC:
		io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
		break;
	case AIO_PUNCH:
		io_uring_prep_fallocate(sqe, r->fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					r->off, r->len);
		break;
	case AIO_CALL:
		return false;	/* never here */
	}
	io_uring_sqe_set_data(sqe, r);
	a->unsubmitted++;
	a->in_kernel++;
	return true;
}

static void uring_push(struct aio *a)
{
	while (a->backlog && a->in_kernel < a->depth) {
		struct aio_req *r = a->backlog;

		if (!uring_prep(a, r))
			break;
		a->backlog = r->next;
		if (!a->backlog)
			a->backlog_tail = &a->backlog;
	}
	if (a->unsubmitted) {
		int n = io_uring_submit(&a->ring);

		if (n > 0)
			a->unsubmitted -= (unsigned int)n < a->unsubmitted ?
					  (unsigned int)n : a->unsubmitted;
	}
}

/* ------------------------------------------------------------ interface */

struct aio *aio_create(enum aio_engine engine, unsigned int depth)
{
	struct aio *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (!depth)
		depth = 256;
	if (depth > 4096)
		depth = 4096;
	a->depth = depth;
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->backlog_tail = &a->backlog;
	a->jobs_tail = &a->jobs;
	a->done_tail = &a->done;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->work, NULL);
	pthread_cond_init(&a->idle, NULL);
	if (a->efd < 0)
		goto fail;
	if (engine != AIO_ENGINE_THREADS) {
		if (io_uring_queue_init(depth, &a->ring, 0) == 0) {
			if (io_uring_register_eventfd(&a->ring, a->efd) == 0) {
				a->ring_ok = true;
			} else {
				io_uring_queue_exit(&a->ring);
			}
		}
		if (!a->ring_ok && engine == AIO_ENGINE_URING)
			goto fail;
	}
	a->engine = a->ring_ok ? AIO_ENGINE_URING : AIO_ENGINE_THREADS;
	/* the pool: all I/O without io_uring, AIO_CALL with it */
	if (pool_start(a, a->ring_ok ? 1 : AIO_WORKERS_MAX))
		goto fail;
	return a;
fail:
	if (a->ring_ok)
		io_uring_queue_exit(&a->ring);
	if (a->efd >= 0)
		close(a->efd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->idle);
	free(a);
	return NULL;
}

void aio_destroy(struct aio *a)
{
	if (!a)
		return;
	aio_drain(a);
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->lock);
	for (unsigned int i = 0; i < a->nworkers; i++)
		pthread_join(a->workers[i], NULL);
	if (a->ring_ok)
		io_uring_queue_exit(&a->ring);
	close(a->efd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->idle);
	free(a);
}

enum aio_engine aio_engine(const struct aio *a)
{
	return a->engine;
}

const char *aio_engine_name(const struct aio *a)
{
	return a->engine == AIO_ENGINE_URING ? "io_uring" : "threads";
}

int aio_fd(const struct aio *a)
{
	return a->efd;
}

unsigned int aio_in_flight(const struct aio *a)
{
	return a->in_flight;
}

void aio_submit(struct aio *a, struct aio_req *req)
{
	a->in_flight++;
	if (!a->ring_ok || req->op == AIO_CALL) {
		pool_queue(a, req);
		return;
	}
	req->next = NULL;
	*a->backlog_tail = req;
	a->backlog_tail = &req->next;
	/* prepare now so a batch goes down in one io_uring_submit */
	while (a->backlog && a->in_kernel < a->depth) {
		struct aio_req *r = a->backlog;

		if (!uring_prep(a, r)) {
			uring_push(a);		/* SQ full: submit and retry */
			if (!uring_prep(a, r))
				break;
		}
		a->backlog = r->next;
		if (!a->backlog)
			a->backlog_tail = &a->backlog;
	}
}

void aio_flush(struct aio *a)
{
	if (a->ring_ok)
		uring_push(a);
}

unsigned int aio_poll(struct aio *a)
{
	struct aio_req *list;
	unsigned int n = 0;
	uint64_t cnt;

	if (read(a->efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: nothing signalled; reap anyway, it is cheap */
	}
	if (a->ring_ok) {
		struct io_uring_cqe *cqe;

		while (io_uring_peek_cqe(&a->ring, &cqe) == 0) {
			struct aio_req *r = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&a->ring, cqe);
			a->in_kernel--;
			a->in_flight--;
			n++;
			r->done(r, res);
		}
		uring_push(a);
	}
	pthread_mutex_lock(&a->lock);
	list = a->done;
	a->done = NULL;
	a->done_tail = &a->done;
	pthread_mutex_unlock(&a->lock);
	while (list) {
		struct aio_req *r = list;

		list = r->next;
		a->in_flight--;
		n++;
		r->done(r, (int)(int64_t)r->len);
	}
	return n;
}

void aio_drain(struct aio *a)
{
	while (a->in_flight) {
		aio_flush(a);
		if (a->ring_ok && a->in_kernel) {
			struct io_uring_cqe *cqe;

			/* block for one, then reap what is there */
			if (io_uring_wait_cqe(&a->ring, &cqe) < 0 &&
			    !a->in_kernel)
				break;
		} else {
			pthread_mutex_lock(&a->lock);
			while (!a->done && (a->jobs || a->busy))
				pthread_cond_wait(&a->idle, &a->lock);
			pthread_mutex_unlock(&a->lock);
		}
		aio_poll(a);
	}
}
