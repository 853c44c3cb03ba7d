/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The synthetic mouse of hvis-vspd: the host side of synthhid
 * (<hvis/synthhid.h>) for Linux's hid_hyperv. The guest sees an absolute
 * pointer (X and Y 0..HVIS_MOUSE_ABS_MAX, the whole screen), three
 * buttons and a wheel; the host moves and clicks it (hvisctl mouse).
 *
 * Trust: every guest packet is copied and checked (pipe type and size,
 * message type and size); anything else is ignored with one log line, and
 * a broken ring stops the device.
 */
#ifndef HVIS_VSP_INPUT_MOUSE_H
#define HVIS_VSP_INPUT_MOUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "host-vsp/vmbus/server.h"

#define HVIS_MOUSE_ABS_MAX	32767u
#define HVIS_MOUSE_BUTTON_LEFT	0x1u
#define HVIS_MOUSE_BUTTON_RIGHT	0x2u
#define HVIS_MOUSE_BUTTON_MIDDLE 0x4u

struct mouse_dev;

enum mouse_state {
	MOUSE_CLOSED,		/* channel not open */
	MOUSE_NEGOTIATING,	/* open, waiting for the protocol request */
	MOUSE_DEV_INFO,		/* device info sent, waiting for the ack */
	MOUSE_READY,		/* reports flow */
	MOUSE_FAILED,		/* protocol error: nothing more is sent */
};

struct mouse_stats {
	uint64_t reports;	/* input reports sent */
	uint64_t dropped;	/* not sent: not ready, or the ring was full */
	uint64_t bad_packets;	/* guest packets ignored */
};

/* Optional log callback: one line, no newline. */
typedef void (*mouse_log_fn)(void *opaque, enum vmbus_log_level lvl,
			     const char *msg);

/* Offer a mouse on @srv. NULL if out of memory. */
struct mouse_dev *mouse_register(struct vmbus_server *srv, mouse_log_fn log,
				 void *opaque);
/*
 * Tests and fuzzers: a mouse without a VMBus channel, as if just opened.
 * Its packets (pipe header, message) go to @send, which returns 0 or a
 * negative hvis_ring_status (-HVIS_RING_FULL: the ring is full); guest
 * packets come in through mouse_handle_packet().
 */
typedef int (*mouse_send_fn)(void *opaque, const void *pkt, uint32_t len);
struct mouse_dev *mouse_create_detached(mouse_send_fn send, mouse_log_fn log,
				       void *opaque);
/* One guest packet's payload (pipe header onwards), @len bytes. */
void mouse_handle_packet(struct mouse_dev *m, const uint8_t *pkt,
			 uint32_t len);

/* Forget it (the server is being destroyed, or the device rescinded). */
void mouse_destroy(struct mouse_dev *m);

/*
 * Set the pointer: absolute X, Y (0..HVIS_MOUSE_ABS_MAX, clamped), the
 * buttons held (HVIS_MOUSE_BUTTON_*), a wheel step (-127..127). 0 when
 * the report went to the guest; -EAGAIN if the guest's driver is not
 * ready (yet); -ENOBUFS if its ring is full (the report is dropped:
 * the next one carries the whole state again).
 */
int mouse_report(struct mouse_dev *m, uint32_t x, uint32_t y,
		 uint32_t buttons, int wheel);
enum mouse_state mouse_get_state(const struct mouse_dev *m);
const char *mouse_state_name(enum mouse_state st);
void mouse_get_stats(const struct mouse_dev *m, struct mouse_stats *st);
/* The last position and buttons reported. */
void mouse_position(const struct mouse_dev *m, uint32_t *x, uint32_t *y,
		    uint32_t *buttons);

/* The HID report descriptor the mouse sends (tests, documentation). */
extern const uint8_t mouse_report_descriptor[];
extern const unsigned int mouse_report_descriptor_len;

#endif /* HVIS_VSP_INPUT_MOUSE_H */
