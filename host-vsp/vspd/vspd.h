/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis-vspd: the VSP service of one VM. It listens on two Unix sockets in
 * its run directory (RUN_DIR/NAME/):
 *   attach.sock   hvis-run attaches the partition (<hvis/attach.h>); one
 *                 at a time. Each attach builds a fresh VMBus server with
 *                 the integration components; a detach (the partition
 *                 ended, rebooted or broke the protocol) tears it down,
 *                 and the service waits for the next attach.
 *   control.sock  management (JSON lines, control.c), used by hvisctl.
 * Everything runs on one event-loop thread (loop.h).
 */
#ifndef HVIS_VSPD_H
#define HVIS_VSPD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "host-vsp/ic/ic.h"
#include "host-vsp/input/mouse.h"
#include "host-vsp/vmbus/server.h"
#include "loop.h"

#define VSPD_DEFAULT_RUN_DIR	"/run/hvis"
#define VSPD_NAME_MAX		63

struct vspd_partition;
struct vspd_control;
struct vspd_storage;
struct vspd_net;

struct vspd {
	char name[VSPD_NAME_MAX + 1];
	char dir[PATH_MAX];		/* RUN_DIR/NAME */
	struct loop *loop;
	int attach_fd;			/* listening */
	struct vspd_partition *part;	/* attached partition or NULL */
	struct vspd_control *ctl;
	struct vspd_storage *storage;	/* SCSI controllers and disks */
	struct vspd_net *net;		/* network adapters (host-vsp/net/nic.h) */
	uint32_t max_version;		/* VMBus cap (0: the partition's) */
	bool no_mouse;			/* --no-mouse: offer no synthetic mouse */
	struct ic_options ic_opt;
	bool verbose;
	bool stopping;
	uint64_t attaches;		/* partitions attached so far */

	/* What the control socket shows of the attached partition; set by
	 * partition.c at attach, cleared at detach (read through the
	 * accessors below).
	 */
	struct vmbus_server *srv;
	struct ic_host *ics;
	struct mouse_dev *mouse;	/* the synthetic mouse, or NULL */
	const char *part_name;
	uint32_t part_nvps;
	uint64_t part_since;		/* monotonic ns */
};

/* "hvis-vspd[NAME]: ..." on stderr (journald keeps it). */
void vspd_log(struct vspd *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The attached partition's VMBus server and ICs; NULL when detached. */
static inline struct vmbus_server *vspd_server(const struct vspd *d)
{
	return d->srv;
}

static inline struct ic_host *vspd_ics(const struct vspd *d)
{
	return d->ics;
}

/* The attached partition's name and VP count (NULL / 0 when detached),
 * and the monotonic ns it attached at.
 */
static inline const char *vspd_partition_name(const struct vspd *d)
{
	return d->part_name;
}

static inline uint32_t vspd_partition_nvps(const struct vspd *d)
{
	return d->part_nvps;
}

static inline uint64_t vspd_partition_since(const struct vspd *d)
{
	return d->part_since;
}

/* partition.c: accept an attach on d->attach_fd; detach. */
void vspd_partition_accept(struct vspd *d);
void vspd_partition_detach(struct vspd *d, const char *why);
/* The earliest monotonic ns the partition wants a tick (IC timers,
 * message backlog); UINT64_MAX when nothing is due.
 */
uint64_t vspd_partition_tick(struct vspd *d);
/* Host address of the attached guest's page @pfn, NULL outside its RAM
 * (or when detached).
 */
void *vspd_partition_guest_page(struct vspd *d, uint64_t pfn);

/* control.c: the management socket (docs/control-protocol.md). */
struct vspd_control *vspd_control_open(struct vspd *d, const char *path);
void vspd_control_close(struct vspd_control *c);
/* A partition attached or detached, an IC event (may be NULL). */
void vspd_control_notify(struct vspd_control *c, const char *event,
			 const char *detail);

#endif /* HVIS_VSPD_H */
