/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * storvsp: the synthetic SCSI controller of hvis-vspd, the host side of
 * the storvsc protocol (<hvis/vstor.h>).
 *
 * A controller (struct storvsp) outlives partitions: its disks stay open
 * while the guest reboots, and each attach offers the controller again on
 * the new VMBus server. Per attach it owns one primary channel and the
 * sub-channels the guest asks for (CREATE_SUB_CHANNELS), each a VMBus
 * device with its own ring and up to STORVSP_QUEUE_DEPTH commands in
 * flight. Commands become SCSI (scsi.h) on the disk at their LUN, and
 * block I/O (image.h) on struct aio.
 *
 * Trust: every packet is the guest's. The packet and its page list are
 * copied out of the ring and checked before use: the operation, the SRB
 * length, CDB and sense lengths, the page ranges (offset, count, every
 * PFN inside guest memory and outside the channel's own rings), the data
 * length against the pages. A bad command completes with an error status;
 * a broken ring stops that channel (logged once); nothing else is
 * affected.
 *
 * Threads: everything on hvis-vspd's loop thread (aio completions
 * included, from aio_poll).
 */
#ifndef HVIS_VSP_STORAGE_STORVSP_H
#define HVIS_VSP_STORAGE_STORVSP_H

#include <stdbool.h>
#include <stdint.h>

#include <hvis/guid.h>
#include <hvis/vstor.h>

#include "aio.h"
#include "image.h"
#include "host-vsp/vmbus/server.h"

#define STORVSP_QUEUE_DEPTH		256u	/* commands in flight per channel */
#define STORVSP_MAX_TRANSFER		(2u << 20)	/* bytes per command */
#define STORVSP_MAX_SUB_CHANNELS	64u

struct storvsp;

/* What the process around the controller provides. */
struct storvsp_host_ops {
	void *opaque;
	/* Host address of guest page @pfn (4 KiB), NULL outside guest RAM. */
	void *(*guest_page)(void *opaque, uint64_t pfn);
	/* Optional: one line, no newline. */
	void (*log)(void *opaque, enum vmbus_log_level level, const char *msg);
};

struct storvsp_disk_cfg {
	const char *path;
	enum img_format format;
	bool read_only;
	unsigned int lun;		/* 0 .. HVIS_VSTOR_MAX_LUNS - 1 */
	const char *serial;		/* NULL: derived from the image id */
	const char *vendor;		/* NULL: "Msft" (Linux keys quirks on it) */
	const char *product;		/* NULL: "Virtual Disk" */
	bool rotational;
	bool no_unmap;			/* do not advertise UNMAP */
};

struct storvsp_disk_stats {
	uint64_t reads, writes, flushes, unmaps, others;
	uint64_t bytes_read, bytes_written;
	uint64_t errors;		/* commands that ended in CHECK CONDITION
					 * (refused probes of pages we lack too) */
	uint64_t io_errors;		/* block I/O that failed on the image */
	unsigned int in_flight;
};

struct storvsp_disk_info {
	unsigned int lun;
	const char *path;
	const char *format;
	uint64_t size;
	bool read_only;
	char serial[65];
	struct storvsp_disk_stats st;
};

struct storvsp_options {
	uint16_t max_version;		/* newest protocol offered; 0 = 6.2 */
	uint32_t max_sub_channels;	/* 0 = one per VP beyond the first */
	bool ide;			/* offer as the IDE accelerator class */
};

/* @index: the controller number (instance GUIDs derive from it). */
struct storvsp *storvsp_create(unsigned int index,
			       const struct hvis_guid *instance,
			       struct aio *aio,
			       const struct storvsp_options *opt,
			       const struct storvsp_host_ops *ops);
/* Detaches first; closes every disk. */
void storvsp_destroy(struct storvsp *c);

/*
 * Open the image and put it at cfg->lun. Hot add while attached: the
 * guest is told to rescan (ENUMERATE_BUS). 0, or -errno with @err set.
 */
int storvsp_add_disk(struct storvsp *c, const struct storvsp_disk_cfg *cfg,
		     char *err, size_t errlen);
/*
 * Take the disk at @lun away: new commands see no LUN at once (Linux
 * then removes the device), the guest is told to rescan, and the image
 * closes once its last command completed. 0 or -ENOENT.
 */
int storvsp_remove_disk(struct storvsp *c, unsigned int lun);
/* Disks in LUN order: fills up to @max, returns how many exist. */
unsigned int storvsp_disks(const struct storvsp *c,
			   struct storvsp_disk_info *out, unsigned int max);

/* Offer the controller on @srv (one guest has @nvps VPs). */
int storvsp_attach(struct storvsp *c, struct vmbus_server *srv,
		   uint32_t nvps);
/*
 * The partition goes away: waits for every command in flight (so no
 * completion writes guest memory after it is unmapped), then forgets the
 * channels. Call before vmbus_server_destroy.
 */
void storvsp_detach(struct storvsp *c);

/* Introspection (tests, hvisctl). */
unsigned int storvsp_index(const struct storvsp *c);
uint16_t storvsp_version(const struct storvsp *c);	/* 0 = not negotiated */
unsigned int storvsp_channels_open(const struct storvsp *c);
bool storvsp_ready(const struct storvsp *c);		/* END_INITIALIZATION seen */

#endif /* HVIS_VSP_STORAGE_STORVSP_H */
