/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis_vmbus: the interface for class drivers (storvsc, netvsc, hid and
 * the integration components).
 *
 * A class driver registers a struct hvis_vmbus_driver naming the device
 * classes it drives; probe() gets each matching device on the hvis_vmbus
 * bus and opens its channel, remove() closes it. Everything that waits
 * for the host (GPADLs, open, close) sleeps and must not be called from
 * atomic context; sending and receiving may be called from any context.
 *
 *   probe:  ch = hvis_vmbus_device_channel(hd);
 *           hvis_chan_open(ch, 16 * PAGE_SIZE, 16 * PAGE_SIZE, fn, ctx);
 *   fn:     while (!hvis_chan_recv(ch, buf, sizeof(buf), &len, &desc))
 *                   handle(buf, len, desc.pd_trans_id);
 *   send:   hvis_chan_send(ch, req, sizeof(req), id,
 *                          HVIS_PKT_FLAG_COMPLETION_REQUESTED);
 *   remove: hvis_chan_close(ch);
 *
 * The event function runs in process context (a work item of the
 * hvis_vmbus event workqueue, never two at once for one channel) after
 * the host signalled the channel; it should read until -EAGAIN.
 */
#ifndef HVIS_VMBUS_API_H
#define HVIS_VMBUS_API_H

#include <linux/device.h>
#include <linux/module.h>
#include <linux/types.h>

#include <hvis/guid.h>
#include <hvis/ring.h>
#include <hvis/vmbus.h>

struct hvis_vmbus_channel;

/* A device on the hvis_vmbus bus: one per primary channel. */
struct hvis_vmbus_device {
	struct device dev;
	struct hvis_vmbus_channel *channel;
	struct hvis_guid class_id;
	struct hvis_guid instance_id;
};

#define to_hvis_vmbus_device(d) container_of(d, struct hvis_vmbus_device, dev)

struct hvis_vmbus_driver {
	const char *name;
	/* the classes driven, ended by an all-zero GUID */
	const struct hvis_guid *classes;
	int (*probe)(struct hvis_vmbus_device *hd);
	void (*remove)(struct hvis_vmbus_device *hd);
	struct device_driver driver;
};

#define to_hvis_vmbus_driver(d) \
	container_of(d, struct hvis_vmbus_driver, driver)

int __hvis_vmbus_driver_register(struct hvis_vmbus_driver *drv,
				 struct module *owner);
#define hvis_vmbus_driver_register(drv) \
	__hvis_vmbus_driver_register(drv, THIS_MODULE)
void hvis_vmbus_driver_unregister(struct hvis_vmbus_driver *drv);

static inline struct hvis_vmbus_channel *
hvis_vmbus_device_channel(struct hvis_vmbus_device *hd)
{
	return hd->channel;
}

/* Called by the event workqueue after the host signalled the channel. */
typedef void (*hvis_chan_event_fn)(struct hvis_vmbus_channel *ch, void *ctx);

/*
 * Open a channel: both rings in one zeroed, physically contiguous buffer
 * described to the host by one GPADL, then OPENCHANNEL and its result.
 * Ring sizes are whole pages including the ring's control page, 2 pages
 * at least each. Events go to @fn from then on.
 */
int hvis_chan_open(struct hvis_vmbus_channel *ch, u32 out_ring_bytes,
		   u32 in_ring_bytes, hvis_chan_event_fn fn, void *ctx);
/* CLOSECHANNEL, no more events, the ring GPADL torn down and freed. */
void hvis_chan_close(struct hvis_vmbus_channel *ch);

/*
 * One in-band packet (@flags: HVIS_PKT_FLAG_COMPLETION_REQUESTED or 0),
 * or a COMPLETION packet with hvis_chan_send_type. -EAGAIN: the ring is
 * full now; the host is asked to signal once there is room, and the
 * event function runs then. -EIO: the channel is broken (a ring error,
 * or the host rescinded it); -ENOTCONN: not open.
 */
int hvis_chan_send(struct hvis_vmbus_channel *ch, const void *buf, u32 len,
		   u64 trans_id, u16 flags);
int hvis_chan_send_type(struct hvis_vmbus_channel *ch, u16 type,
			const void *buf, u32 len, u64 trans_id, u16 flags);
/*
 * A GPA-direct packet: @range (one range: byte count, offset, PFNs;
 * @range_bytes long, a multiple of 8) then @buf. Completion requested.
 */
int hvis_chan_send_gpa(struct hvis_vmbus_channel *ch,
		       const struct hvis_gpa_range *range, u32 range_bytes,
		       const void *buf, u32 len, u64 trans_id);

/*
 * Take the next packet: its payload (from the descriptor's offset8) into
 * @buf, its length in *@len, its descriptor (type, flags, trans_id) in
 * *@desc. -EAGAIN: nothing to read; -EMSGSIZE: @buflen is too small
 * (*@len says how much is needed, the packet stays); -EIO: broken.
 */
int hvis_chan_recv(struct hvis_vmbus_channel *ch, void *buf, u32 buflen,
		   u32 *len, struct hvis_pkt_desc *desc);

/*
 * A GPADL over @size bytes at @buf (page aligned, physically contiguous,
 * a whole number of pages), for buffers shared besides the rings.
 */
int hvis_gpadl_create(struct hvis_vmbus_channel *ch, void *buf, u32 size,
		      u32 *handle);
int hvis_gpadl_teardown(struct hvis_vmbus_channel *ch, u32 handle);

/* Sub-channels (multi-queue storvsc/netvsc): not yet, a later part. */

#endif /* HVIS_VMBUS_API_H */
