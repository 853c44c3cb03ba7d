// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-vspd's event loop (see loop.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

#define LOOP_BATCH	32

struct watch {
	int fd;
	loop_cb cb;
	void *opaque;
	struct watch *next;
	bool dead;
};

struct loop {
	int epfd;
	struct watch *watches;
	unsigned int running;	/* > 0 while callbacks run */
};

uint64_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct loop *loop_create(void)
{
	struct loop *lp = calloc(1, sizeof(*lp));

	if (!lp)
		return NULL;
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp->epfd < 0) {
		free(lp);
		return NULL;
	}
	return lp;
}

static void reap(struct loop *lp)
{
	struct watch **pp = &lp->watches;

	while (*pp) {
		struct watch *w = *pp;

		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

void loop_destroy(struct loop *lp)
{
	if (!lp)
		return;
	for (struct watch *w = lp->watches; w; w = w->next)
		w->dead = true;
	reap(lp);
	close(lp->epfd);
	free(lp);
}

static struct watch *find(struct loop *lp, int fd)
{
	for (struct watch *w = lp->watches; w; w = w->next)
		if (!w->dead && w->fd == fd)
			return w;
	return NULL;
}

int loop_add(struct loop *lp, int fd, uint32_t events, loop_cb cb,
	     void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct watch *w;

	if (find(lp, fd))
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct watch){ .fd = fd, .cb = cb, .opaque = opaque,
			     .next = lp->watches };
	ev.data.ptr = w;
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;

		free(w);
		return e;
	}
	lp->watches = w;
	return 0;
}

int loop_mod(struct loop *lp, int fd, uint32_t events)
{
	struct watch *w = find(lp, fd);
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOENT;
	ev.data.ptr = w;
	return epoll_ctl(lp->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void loop_del(struct loop *lp, int fd)
{
	struct watch *w = find(lp, fd);

	if (!w)
		return;
	epoll_ctl(lp->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->dead = true;		/* freed when no callback can still see it */
	if (!lp->running)
		reap(lp);
}

int loop_run_once(struct loop *lp, uint64_t deadline)
{
	struct epoll_event ev[LOOP_BATCH];
	int timeout = -1, n;

	if (deadline != UINT64_MAX) {
		uint64_t now = loop_now();
		uint64_t ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;

		timeout = ms > 60000 ? 60000 : (int)ms;
	}
	n = epoll_wait(lp->epfd, ev, LOOP_BATCH, timeout);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	lp->running++;
	for (int i = 0; i < n; i++) {
		struct watch *w = ev[i].data.ptr;

		if (!w->dead)
			w->cb(w->opaque, ev[i].events);
	}
	lp->running--;
	if (!lp->running)
		reap(lp);
	return 0;
}
