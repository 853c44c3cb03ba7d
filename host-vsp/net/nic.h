/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis-vspd's network adapters: one netvsp (netvsp.h) per NIC, each on
 * a TAP device (/dev/net/tun, IFF_TAP | IFF_NO_PI, non-blocking) read on
 * the service's event loop. NICs belong to the service, not to a
 * partition: configured at start (--config's "nics", --nic), they keep
 * their TAP, MAC, link state and counters while the guest reboots and
 * are offered on each attached partition's VMBus (docs/network.md).
 */
#ifndef HVIS_VSP_NET_NIC_H
#define HVIS_VSP_NET_NIC_H

#include <stdbool.h>
#include <stddef.h>

#include "netvsp.h"

#define VSPD_MAX_NICS		8u

struct vspd;
struct vspd_net;
struct json_object;

struct vspd_net *vspd_net_create(struct vspd *d);
void vspd_net_destroy(struct vspd_net *s);

/* "tap=NAME[,mac=MAC][,mtu=N][,queues=N]" (--nic). 0 or -errno, @err set. */
int vspd_net_add_spec(struct vspd_net *s, const char *spec, char *err,
		      size_t errlen);
/* The "nics" member of a VM configuration file. */
int vspd_net_load(struct vspd_net *s, const char *path, char *err,
		  size_t errlen);
unsigned int vspd_net_count(const struct vspd_net *s);

/* partition.c: offer every NIC (after the ICs); forget them (before the
 * server goes).
 */
int vspd_net_attach(struct vspd_net *s, struct vmbus_server *srv, uint32_t nvps);
void vspd_net_detach(struct vspd_net *s);

/*
 * Link up or down on the NIC named @nic (its TAP name, "netN", or NULL
 * for every NIC). 0 or -ENOENT, @err set.
 */
int vspd_net_set_link(struct vspd_net *s, const char *nic, bool up,
		      char *err, size_t errlen);
/* The NICs, their state and counters, as a JSON array (new reference). */
struct json_object *vspd_net_json(const struct vspd_net *s);

#endif /* HVIS_VSP_NET_NIC_H */
