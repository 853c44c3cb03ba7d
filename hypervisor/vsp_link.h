/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis-run's end of the attach protocol (<hvis/attach.h>, docs/vmbus.md):
 * the link to the partition's VSP service, hvis-vspd. hvis-run connects
 * to the service's socket, hands it the guest-memory memfd and from then
 * on relays what only it can do: guest HvPostMessage/HvSignalEvent on the
 * connections the service claims go to the service; the service's
 * messages and event flags go into the guest's SynIC through the TLFS
 * unit. Events take the kernel path where they can: the service's
 * eventfd is bound by ioeventfd to the hypercall stub's fast-signal port,
 * so a guest signal wakes the service without a userspace exit here.
 *
 * One reader thread serves the service's requests. A vCPU that forwards a
 * guest message waits for the service's status (Linux needs it: it probes
 * connection ids by their answer); if the service goes away, every waiter
 * is released with HV_STATUS_INVALID_CONNECTION_ID and VMBus stays silent
 * while the guest keeps running.
 */
#ifndef HVIS_HV_VSP_LINK_H
#define HVIS_HV_VSP_LINK_H

#include <stdint.h>

struct vm;
struct vsp_link;

/*
 * Connect to the service listening at @path and send it the partition
 * (@name, memory, VP count, VMBus version cap from the VM's config).
 * NULL (logged) on failure.
 */
struct vsp_link *vsp_link_open(struct vm *vm, const char *path,
			       const char *name);
/* Start serving the service (after the TLFS unit exists). 0 or -errno. */
int vsp_link_start(struct vsp_link *l);
/* Hang up, unregister every connection, join the reader. */
void vsp_link_close(struct vsp_link *l);
/* The guest wrote EOM on @vp (any vCPU thread). */
void vsp_link_eom(struct vsp_link *l, unsigned int vp);

#endif /* HVIS_HV_VSP_LINK_H */
