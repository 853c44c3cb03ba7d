/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netvsp: the synthetic network adapter of hvis-vspd, the host side of
 * the NVSP protocol (<hvis/nvsp.h>) with RNDIS inside (rndis.h) for
 * Linux's hv_netvsc (and Windows' netvsc).
 *
 * An adapter (struct netvsp) outlives partitions: its MAC, link state
 * and counters stay while the guest reboots, and each attach offers it
 * again on the new VMBus server: a primary channel and, if the guest asks
 * (NVSP 5), vRSS sub-channels.
 * Frames go to and come from a backend through struct netvsp_host_ops
 * (a TAP device in hvis-vspd, a fake in the tests).
 *
 * Host -> guest: a frame (or an RNDIS completion, or a link indication)
 * goes into a free section of the guest's receive buffer and a
 * transfer-page packet names it; the guest's completion frees the
 * section. With no section free or the ring full, netvsp_rx() says
 * -EAGAIN and calls ops->rx_ready once there is room again: the backend
 * stops reading meanwhile (backpressure, nothing queued here).
 * Guest -> host: SEND_RNDIS_PKT names a send-buffer section and/or
 * guest pages; the bytes are copied out once, then parsed and checked.
 *
 * Trust: every packet is the guest's. NVSP messages are copied and their
 * sizes checked per type; section indices and sizes against the send
 * buffer; page ranges (offset, count, every PFN inside guest memory and
 * outside the channel's rings); RNDIS lengths and offsets (rndis.c). A
 * bad packet is completed with a failure status and logged once per
 * channel open; a corrupt ring stops that channel (logged).
 *
 * Threads: everything on hvis-vspd's loop thread.
 */
#ifndef HVIS_VSP_NET_NETVSP_H
#define HVIS_VSP_NET_NETVSP_H

#include <stdbool.h>
#include <stdint.h>

#include <hvis/guid.h>
#include <hvis/nvsp.h>

#include "rndis.h"
#include "host-vsp/vmbus/server.h"

/* The send-buffer section size the host announces (Linux's default). */
#define NETVSP_SEND_SECTION_SIZE	6144u
/* Smallest receive section (Hyper-V's); grows with the guest's MTU. */
#define NETVSP_RECV_SECTION_MIN		1728u
/* Largest guest->host RNDIS transfer (section bytes + GPA-direct bytes). */
#define NETVSP_TX_MAX			(NETVSP_SEND_SECTION_SIZE + 65536u)
/* Page ranges one GPA-direct packet may name. */
#define NETVSP_MAX_RANGES		64u
/* Channels (primary + vRSS sub-channels) at most. */
#define NETVSP_MAX_QUEUES		64u

struct netvsp;

struct netvsp_host_ops {
	void *opaque;
	/* Host address of guest page @pfn (4 KiB), NULL outside guest RAM. */
	void *(*guest_page)(void *opaque, uint64_t pfn);
	/* A frame from the guest (Ethernet header first). 0 or -errno. */
	int (*tx)(void *opaque, const uint8_t *frame, uint32_t len);
	/* Optional: room again after netvsp_rx() returned -EAGAIN. */
	void (*rx_ready)(void *opaque);
	/* Optional: one line, no newline. */
	void (*log)(void *opaque, enum vmbus_log_level level, const char *msg);
};

struct netvsp_cfg {
	struct hvis_guid instance;
	uint8_t mac[6];
	uint32_t mtu;			/* largest MTU offered (68..9000) */
	uint32_t max_version;		/* newest NVSP; 0 = 6.1 (0x60001) */
	uint32_t queues;		/* channels: 0 = one per VP up to 8;
					 * 1 = no vRSS; at most the VPs */
	const char *name;		/* for log lines ("net0") */
};

enum netvsp_state {
	NETVSP_CLOSED,		/* not attached, or the channel is closed */
	NETVSP_NEGOTIATING,	/* open: NVSP init, buffers */
	NETVSP_READY,		/* receive buffer set and RNDIS initialised */
	NETVSP_FAILED,		/* the ring broke: nothing more on it */
};

struct netvsp_stats {
	uint64_t rx_frames, rx_bytes;	/* host -> guest */
	uint64_t rx_dropped;		/* not ready, filtered, too big */
	uint64_t rx_busy;		/* -EAGAIN: no section or no ring room */
	uint64_t tx_frames, tx_bytes;	/* guest -> host */
	uint64_t tx_dropped;		/* the backend refused */
	uint64_t bad_packets;		/* guest packets refused */
	uint64_t control;		/* RNDIS control messages answered */
	uint64_t link_changes;		/* indications sent */
};

struct netvsp_info {
	enum netvsp_state state;
	uint32_t nvsp_version;		/* 0: not negotiated */
	uint32_t ndis_version;
	uint32_t guest_mtu;		/* from NDIS_CONFIG; 0: none */
	uint32_t recv_sections, recv_section_size, recv_free;
	uint32_t send_sections;
	uint32_t packet_filter;
	bool link_up;
	bool rndis_ready;
	uint32_t channels;		/* open: primary + sub-channels */
	uint32_t completions_waiting;	/* for ring space, all channels */
	uint32_t control_waiting;	/* RNDIS completions for a section */
	bool rx_blocked;		/* the backend waits for rx_ready */
	uint64_t in_ring_bytes;		/* unread guest bytes, primary */
	uint64_t out_ring_free;		/* room towards the guest, primary */
};

struct netvsp *netvsp_create(const struct netvsp_cfg *cfg,
			     const struct netvsp_host_ops *ops);
/* Detaches first. */
void netvsp_destroy(struct netvsp *n);

/* Offer the adapter on @srv, whose guest has @nvps VPs. 0 or -errno. */
int netvsp_attach(struct netvsp *n, struct vmbus_server *srv, uint32_t nvps);
/* The partition goes away (before vmbus_server_destroy). */
void netvsp_detach(struct netvsp *n);

/*
 * A frame for the guest. 0: in a receive section and announced;
 * -EAGAIN: no room now (ops->rx_ready follows), offer it again then;
 * -ENOTCONN: the guest does not receive (not ready, link down, its
 * packet filter): dropped; -EMSGSIZE: larger than a section: dropped.
 */
int netvsp_rx(struct netvsp *n, const uint8_t *frame, uint32_t len);

/* Link state; a change is indicated to the guest (INDICATE_STATUS). */
void netvsp_set_link(struct netvsp *n, bool up);

const uint8_t *netvsp_mac(const struct netvsp *n);
void netvsp_get_info(const struct netvsp *n, struct netvsp_info *info);
void netvsp_get_stats(const struct netvsp *n, struct netvsp_stats *st);
const char *netvsp_state_name(enum netvsp_state st);

#endif /* HVIS_VSP_NET_NETVSP_H */
