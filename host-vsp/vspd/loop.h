/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis-vspd's event loop: one thread, epoll over file descriptors, plus
 * one wake-up deadline that the loop's owner recomputes each turn. Every
 * callback runs on the loop thread, so the VMBus server, the devices and
 * the control sessions need no locks.
 */
#ifndef HVIS_VSPD_LOOP_H
#define HVIS_VSPD_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
typedef void (*loop_cb)(void *opaque, uint32_t events);

struct loop *loop_create(void);
void loop_destroy(struct loop *lp);
/* Watch @fd for @events (EPOLLIN, EPOLLOUT...). 0 or -errno. */
int loop_add(struct loop *lp, int fd, uint32_t events, loop_cb cb,
	     void *opaque);
int loop_mod(struct loop *lp, int fd, uint32_t events);
/* Stop watching @fd; safe inside any callback, also for @fd's own. */
void loop_del(struct loop *lp, int fd);
/* Run one turn: wait at most until @deadline (CLOCK_MONOTONIC ns;
 * UINT64_MAX: no limit), then run the callbacks of ready fds.
 * 0 or -errno (EINTR is 0).
 */
int loop_run_once(struct loop *lp, uint64_t deadline);
uint64_t loop_now(void);	/* CLOCK_MONOTONIC ns */

#endif /* HVIS_VSPD_LOOP_H */
