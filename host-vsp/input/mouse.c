// SPDX-License-Identifier: GPL-2.0-only
/*
 * The synthetic mouse (mouse.h): synthhid 2.0 on one VMBus channel.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvis/guid.h>
#include <hvis/ring.h>
#include <hvis/synthhid.h>

#include "mouse.h"

/* Linux's hid_hyperv binds to this vendor and product (Microsoft). */
#define MOUSE_VENDOR		0x045Eu
#define MOUSE_PRODUCT		0x0621u
#define MOUSE_VERSION		0x0001u
/* Bigger guest packets are not synthhid; the largest real one is 20. */
#define MOUSE_RX_MAX		256u

/*
 * An absolute pointer: three buttons (and five bits of padding), X and
 * Y as 16-bit values 0..32767, a relative wheel. Input report, no id:
 * [buttons][x lo][x hi][y lo][y hi][wheel].
 */
const uint8_t mouse_report_descriptor[] = {
	0x05, 0x01,		/* usage page: generic desktop */
	0x09, 0x02,		/* usage: mouse */
	0xA1, 0x01,		/* collection: application */
	0x09, 0x01,		/*   usage: pointer */
	0xA1, 0x00,		/*   collection: physical */
	0x05, 0x09,		/*     usage page: buttons */
	0x19, 0x01,		/*     usage minimum 1 */
	0x29, 0x03,		/*     usage maximum 3 */
	0x15, 0x00,		/*     logical minimum 0 */
	0x25, 0x01,		/*     logical maximum 1 */
	0x95, 0x03,		/*     report count 3 */
	0x75, 0x01,		/*     report size 1 */
	0x81, 0x02,		/*     input: data, variable, absolute */
	0x95, 0x01,		/*     report count 1 */
	0x75, 0x05,		/*     report size 5 */
	0x81, 0x03,		/*     input: constant (padding) */
	0x05, 0x01,		/*     usage page: generic desktop */
	0x09, 0x30,		/*     usage: X */
	0x09, 0x31,		/*     usage: Y */
	0x15, 0x00,		/*     logical minimum 0 */
	0x26, 0xFF, 0x7F,	/*     logical maximum 32767 */
	0x75, 0x10,		/*     report size 16 */
	0x95, 0x02,		/*     report count 2 */
	0x81, 0x02,		/*     input: data, variable, absolute */
	0x09, 0x38,		/*     usage: wheel */
	0x15, 0x81,		/*     logical minimum -127 */
	0x25, 0x7F,		/*     logical maximum 127 */
	0x75, 0x08,		/*     report size 8 */
	0x95, 0x01,		/*     report count 1 */
	0x81, 0x06,		/*     input: data, variable, relative */
	0xC0,			/*   end collection */
	0xC0,			/* end collection */
};
const unsigned int mouse_report_descriptor_len = sizeof(mouse_report_descriptor);
#define MOUSE_REPORT_LEN	6u

struct mouse_dev {
	struct vmbus_device *vdev;
	mouse_send_fn send;		/* detached: packets go here */
	enum mouse_state state;
	mouse_log_fn log;
	void *opaque;
	struct mouse_stats st;
	uint32_t x, y, buttons;
	bool logged_bad;
	uint8_t rx[MOUSE_RX_MAX];
};

static void m_log(struct mouse_dev *m, enum vmbus_log_level lvl,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void m_log(struct mouse_dev *m, enum vmbus_log_level lvl,
		  const char *fmt, ...)
{
	char line[200];
	va_list ap;

	if (!m->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->log(m->opaque, lvl, line);
}

/* One synthhid message (header + @len body bytes) behind a pipe header. */
static int send_msg(struct mouse_dev *m, uint32_t type, const void *body,
		    uint32_t len)
{
	struct {
		struct hvis_synthhid_pipe pipe;
		struct hvis_synthhid_hdr hdr;
	} __attribute__((packed)) h = {
		.pipe = { .sp_type = HVIS_SYNTHHID_PIPE_DATA,
			  .sp_size = (uint32_t)sizeof(struct hvis_synthhid_hdr) + len },
		.hdr = { .sh_type = type, .sh_size = len },
	};
	struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_DATA_INBAND };
	struct hvis_iov iov[2] = {
		{ .base = &h, .len = sizeof(h) },
		{ .base = body, .len = len },
	};

	if (m->send) {
		uint8_t flat[sizeof(h) + MOUSE_RX_MAX];

		if (len > MOUSE_RX_MAX)
			return -HVIS_RING_TOOBIG;
		memcpy(flat, &h, sizeof(h));
		if (len)
			memcpy(flat + sizeof(h), body, len);
		return m->send(m->opaque, flat, (uint32_t)sizeof(h) + len);
	}
	if (!m->vdev)
		return -HVIS_RING_INVAL;
	return vmbus_device_send(m->vdev, &d, 0, iov, len ? 2 : 1);
}

static void fail(struct mouse_dev *m, const char *why)
{
	m_log(m, VMBUS_LOG_WARN, "mouse: %s: device stopped", why);
	m->state = MOUSE_FAILED;
}

static void send_device_info(struct mouse_dev *m)
{
	uint8_t body[sizeof(struct hvis_synthhid_dev_info) +
		     sizeof(struct hvis_hid_descriptor) +
		     sizeof(mouse_report_descriptor)];
	struct hvis_synthhid_dev_info info = {
		.sdi_size = sizeof(info),
		.sdi_vendor = MOUSE_VENDOR,
		.sdi_product = MOUSE_PRODUCT,
		.sdi_version = MOUSE_VERSION,
	};
	struct hvis_hid_descriptor hid = {
		.hd_length = sizeof(hid),
		.hd_type = 0x21,
		.hd_bcd_hid = 0x0101,
		.hd_num_descriptors = 1,
		.hd_report_type = 0x22,
		.hd_report_length = sizeof(mouse_report_descriptor),
	};

	memcpy(body, &info, sizeof(info));
	memcpy(body + sizeof(info), &hid, sizeof(hid));
	memcpy(body + sizeof(info) + sizeof(hid), mouse_report_descriptor,
	       sizeof(mouse_report_descriptor));
	if (send_msg(m, HVIS_SYNTHHID_INITIAL_DEVICE_INFO, body, sizeof(body)))
		fail(m, "cannot send the device info");
	else
		m->state = MOUSE_DEV_INFO;
}

void mouse_handle_packet(struct mouse_dev *m, const uint8_t *p, uint32_t len)
{
	struct hvis_synthhid_pipe pipe;
	struct hvis_synthhid_hdr hdr;
	const uint8_t *body;

	if (len < sizeof(pipe) + sizeof(hdr))
		goto bad;
	memcpy(&pipe, p, sizeof(pipe));
	memcpy(&hdr, p + sizeof(pipe), sizeof(hdr));
	if (pipe.sp_type != HVIS_SYNTHHID_PIPE_DATA ||
	    pipe.sp_size < sizeof(hdr) || pipe.sp_size > len - sizeof(pipe) ||
	    hdr.sh_size > pipe.sp_size - sizeof(hdr))
		goto bad;
	body = p + sizeof(pipe) + sizeof(hdr);
	switch (hdr.sh_type) {
	case HVIS_SYNTHHID_PROTOCOL_REQUEST: {
		struct {
			uint32_t version;
			uint8_t approved;
		} __attribute__((packed)) rsp;
		uint32_t v;

		if (hdr.sh_size < 4)
			goto bad;
		memcpy(&v, body, 4);
		rsp.version = v;
		rsp.approved = v == HVIS_SYNTHHID_VERSION_2_0;
		if (send_msg(m, HVIS_SYNTHHID_PROTOCOL_RESPONSE, &rsp, sizeof(rsp))) {
			fail(m, "cannot answer the protocol request");
			return;
		}
		if (!rsp.approved) {
			m_log(m, VMBUS_LOG_INFO, "mouse: guest asked for version %u.%u: refused",
			      v >> 16, v & 0xFFFF);
			m->state = MOUSE_NEGOTIATING;
			return;
		}
		send_device_info(m);
		return;
	}
	case HVIS_SYNTHHID_INITIAL_DEVICE_INFO_ACK:
		if (m->state != MOUSE_DEV_INFO)
			goto bad;
		m->state = MOUSE_READY;
		m_log(m, VMBUS_LOG_INFO, "mouse: guest driver ready");
		return;
	default:
		goto bad;
	}
bad:
	m->st.bad_packets++;
	if (!m->logged_bad)
		m_log(m, VMBUS_LOG_WARN, "mouse: %u-byte guest packet ignored", len);
	m->logged_bad = true;
}

static void drain(struct mouse_dev *m)
{
	struct hvis_ring *r = m->vdev ? vmbus_device_in_ring(m->vdev) : NULL;
	unsigned int n = 0;

again:
	while (r && m->state != MOUSE_FAILED && n < 64) {
		struct hvis_ring_pkt pkt;
		uint32_t plen;
		int rc = hvis_ring_peek(r, &pkt);

		if (rc == -HVIS_RING_EMPTY)
			break;
		if (rc) {
			m_log(m, VMBUS_LOG_WARN, "mouse: ring from the guest: %s",
			      hvis_ring_strerror(rc));
			fail(m, "ring broken");
			return;
		}
		plen = pkt.len - pkt.data_off;
		if (pkt.desc.pd_type == HVIS_PKT_DATA_INBAND && plen <= MOUSE_RX_MAX) {
			rc = hvis_ring_copy_out(r, &pkt, pkt.data_off, m->rx, plen);
			if (!rc)
				rc = hvis_ring_consume(r, &pkt);
			if (!rc)
				mouse_handle_packet(m, m->rx, plen);
		} else {
			/* completions of our packets, or junk */
			if (pkt.desc.pd_type != HVIS_PKT_COMPLETION)
				m->st.bad_packets++;
			rc = hvis_ring_consume(r, &pkt);
		}
		if (rc) {
			fail(m, "ring broken");
			return;
		}
		n++;
	}
	if (n && m->vdev && vmbus_device_in_ring(m->vdev)) {
		vmbus_device_recv_done(m->vdev);
		/*
		 * What the guest wrote before the read index went out found
		 * the ring not empty and sent no signal: look again.
		 */
		r = vmbus_device_in_ring(m->vdev);
		if (r && m->state != MOUSE_FAILED && hvis_ring_bytes_to_read(r) > 0) {
			n = 0;
			goto again;
		}
	}
}

static int d_open(struct vmbus_device *dev, void *opaque,
		  const struct vmbus_open_info *info)
{
	struct mouse_dev *m = opaque;

	(void)dev;
	(void)info;
	m->state = MOUSE_NEGOTIATING;
	m->logged_bad = false;
	return 0;
}

static void d_close(struct vmbus_device *dev, void *opaque)
{
	struct mouse_dev *m = opaque;

	(void)dev;
	m->state = MOUSE_CLOSED;
}

static void d_packet_in(struct vmbus_device *dev, void *opaque)
{
	(void)dev;
	drain(opaque);
}

static void d_rescinded(struct vmbus_device *dev, void *opaque)
{
	struct mouse_dev *m = opaque;

	(void)dev;
	m->vdev = NULL;
	m->state = MOUSE_CLOSED;
}

static const struct vmbus_device_ops mouse_ops = {
	.open = d_open,
	.close = d_close,
	.packet_in = d_packet_in,
	.rescinded = d_rescinded,
};

struct mouse_dev *mouse_register(struct vmbus_server *srv, mouse_log_fn log,
				 void *opaque)
{
	/* one mouse per VM: a fixed instance, as Hyper-V's */
	static const struct hvis_guid inst = HVIS_GUID_INIT(0x58f75a6d, 0xd949,
		0x4320, 0x99, 0xe1, 0xa2, 0xa2, 0x57, 0x6d, 0x58, 0x1c);
	static const struct hvis_guid cls = HVIS_GUID_MOUSE;
	struct mouse_dev *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->log = log;
	m->opaque = opaque;
	m->vdev = vmbus_server_add_device(srv, &cls, &inst, 0, 0, &mouse_ops, m);
	if (!m->vdev) {
		free(m);
		return NULL;
	}
	return m;
}

struct mouse_dev *mouse_create_detached(mouse_send_fn send, mouse_log_fn log,
				       void *opaque)
{
	struct mouse_dev *m;

	if (!send)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->send = send;
	m->log = log;
	m->opaque = opaque;
	m->state = MOUSE_NEGOTIATING;	/* as if the guest had just opened it */
	return m;
}

void mouse_destroy(struct mouse_dev *m)
{
	free(m);
}

int mouse_report(struct mouse_dev *m, uint32_t x, uint32_t y,
		 uint32_t buttons, int wheel)
{
	uint8_t r[MOUSE_REPORT_LEN];
	int rc;

	if (x > HVIS_MOUSE_ABS_MAX)
		x = HVIS_MOUSE_ABS_MAX;
	if (y > HVIS_MOUSE_ABS_MAX)
		y = HVIS_MOUSE_ABS_MAX;
	if (wheel > 127)
		wheel = 127;
	if (wheel < -127)
		wheel = -127;
	m->x = x;
	m->y = y;
	m->buttons = buttons & 7u;
	if (m->state != MOUSE_READY) {
		m->st.dropped++;
		return -EAGAIN;
	}
	r[0] = (uint8_t)m->buttons;
	r[1] = (uint8_t)x;
	r[2] = (uint8_t)(x >> 8);
	r[3] = (uint8_t)y;
	r[4] = (uint8_t)(y >> 8);
	r[5] = (uint8_t)(int8_t)wheel;
	rc = send_msg(m, HVIS_SYNTHHID_INPUT_REPORT, r, sizeof(r));
	if (rc) {
		m->st.dropped++;
		return rc == -HVIS_RING_FULL ? -ENOBUFS : -EIO;
	}
	m->st.reports++;
	return 0;
}

enum mouse_state mouse_get_state(const struct mouse_dev *m)
{
	return m->state;
}

const char *mouse_state_name(enum mouse_state st)
{
	switch (st) {
	case MOUSE_CLOSED:
		return "closed";
	case MOUSE_NEGOTIATING:
		return "negotiating";
	case MOUSE_DEV_INFO:
		return "device-info";
	case MOUSE_READY:
		return "ready";
	case MOUSE_FAILED:
		return "failed";
	}
	return "?";
}

void mouse_get_stats(const struct mouse_dev *m, struct mouse_stats *st)
{
	*st = m->st;
}

void mouse_position(const struct mouse_dev *m, uint32_t *x, uint32_t *y,
		    uint32_t *buttons)
{
	*x = m->x;
	*y = m->y;
	*buttons = m->buttons;
}
