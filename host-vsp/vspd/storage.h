/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis-vspd's storage: the SCSI controllers (storvsp) of one VM, their
 * disks, and the asynchronous I/O engine they share. Controllers and
 * disks belong to the service, not to a partition: they are configured
 * at start (--config's "scsi", --disk) or at run time (hvisctl
 * disk-add / disk-remove), stay open across guest reboots, and are
 * offered on each attached partition's VMBus.
 */
#ifndef HVIS_VSPD_STORAGE_H
#define HVIS_VSPD_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host-vsp/storage/storvsp.h"

#define VSPD_MAX_SCSI		4u	/* controllers per VM */

struct vspd;
struct vspd_storage;

struct vspd_storage *vspd_storage_create(struct vspd *d, enum aio_engine engine);
void vspd_storage_destroy(struct vspd_storage *s);

/*
 * Add a disk on controller @ctrl (created when missing). While a
 * partition is attached a new controller is offered at once and a new
 * disk on an existing one is hot-added. 0 or -errno, @err set.
 */
int vspd_storage_add(struct vspd_storage *s, unsigned int ctrl,
		     const struct storvsp_disk_cfg *cfg, char *err, size_t errlen);
int vspd_storage_remove(struct vspd_storage *s, unsigned int ctrl,
			unsigned int lun, char *err, size_t errlen);
/* "path[,lun=N][,controller=N][,ro][,format=raw|vhd|auto][,serial=S]" */
int vspd_storage_add_spec(struct vspd_storage *s, const char *spec,
			  char *err, size_t errlen);
/* The "scsi" member of a VM configuration file (docs/storage.md). */
int vspd_storage_load(struct vspd_storage *s, const char *path, char *err,
		      size_t errlen);

unsigned int vspd_storage_count(const struct vspd_storage *s);
struct storvsp *vspd_storage_ctrl(const struct vspd_storage *s, unsigned int i);
const char *vspd_storage_engine(const struct vspd_storage *s);

/* partition.c: attach (after the ICs) and detach (before the server goes). */
int vspd_storage_attach(struct vspd_storage *s, struct vmbus_server *srv,
			uint32_t nvps);
void vspd_storage_detach(struct vspd_storage *s);

#endif /* HVIS_VSPD_STORAGE_H */
