/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The RNDIS device of netvsp as pure logic (<hvis/rndis.h>): control
 * messages in, their completions out; data messages parsed into frames
 * and frames wrapped into data messages; the receive filter. No I/O, no
 * VMBus: unit-tested and fuzzed on its own.
 *
 * Trust: every byte handed in is the guest's. Lengths and offsets are
 * checked against the buffer (with overflow) before anything is read;
 * a bad message is answered with an error status where RNDIS has an
 * answer, or reported to the caller, which drops it.
 */
#ifndef HVIS_VSP_NET_RNDIS_H
#define HVIS_VSP_NET_RNDIS_H

#include <stdbool.h>
#include <stdint.h>

#include <hvis/rndis.h>

/* The largest control completion this device sends. */
#define RNDIS_REPLY_MAX		256u
/* Bytes in front of the frame in a data message we build. */
#define RNDIS_DATA_HDR_LEN	(8u + 36u)
/* Bytes of an INDICATE_STATUS message we build. */
#define RNDIS_INDICATE_LEN	(8u + 12u)
/* Ethernet header (no VLAN tag) and the MTU bounds we allow. */
#define RNDIS_ETH_HLEN		14u
#define RNDIS_MTU_MIN		68u
#define RNDIS_MTU_MAX		9000u

struct rndis_dev_cfg {
	uint8_t mac[6];
	uint32_t mtu;			/* largest frame payload offered */
	uint64_t link_speed_bps;	/* 0: 10 Gbit/s */
	uint32_t rss_queues;		/* > 1: RSS offered with this many queues */
};

struct rndis_stats {
	uint64_t control;		/* control messages answered */
	uint64_t unknown_oid;		/* answered NOT_SUPPORTED */
	uint64_t bad;			/* malformed messages */
};

struct rndis_dev {
	struct rndis_dev_cfg cfg;
	bool initialized;		/* INITIALIZE answered, no HALT since */
	bool link_up;
	uint32_t filter;		/* HVIS_RNDIS_FILTER_*; 0: receive nothing */
	struct rndis_stats st;
};

void rndis_dev_init(struct rndis_dev *r, const struct rndis_dev_cfg *cfg);
/* The guest's driver went away (channel closed): back to uninitialised. */
void rndis_dev_reset(struct rndis_dev *r);

/*
 * Walk the messages packed in @buf (@len bytes) from *@off: 1 with the
 * message's type, start and length (a whole message inside the buffer,
 * at least its header), *@off moved past it; 0 at the end; -1 when the
 * header at *@off is truncated or its length is impossible (the rest of
 * the buffer is not trusted).
 */
int rndis_next(const uint8_t *buf, uint32_t len, uint32_t *off,
	       uint32_t *type, const uint8_t **msg, uint32_t *msg_len);

/*
 * One control message (@msg, @len bytes, header included; type not
 * PACKET). The completion to send goes to @out (RNDIS_REPLY_MAX bytes),
 * its length to *@out_len (0: none, e.g. HALT). 0, or -1 if the message
 * was malformed (counted; *@out_len may still hold an error completion).
 */
int rndis_control(struct rndis_dev *r, const uint8_t *msg, uint32_t len,
		  uint8_t *out, uint32_t *out_len);

/* A data message from the guest, checked. */
struct rndis_frame {
	uint32_t off;			/* frame start inside the message */
	uint32_t len;			/* frame bytes */
	bool has_vlan;
	uint16_t vlan_tci;		/* pri:3 cfi:1 id:12, as in 802.1Q */
	bool wants_offload;		/* checksum or LSO info present */
};

/* 0, or -1 when the message does not describe a frame inside itself. */
int rndis_parse_packet(const uint8_t *msg, uint32_t len, struct rndis_frame *f);

/* The data-message header for a @frame_len frame (RNDIS_DATA_HDR_LEN). */
void rndis_data_header(uint8_t *out, uint32_t frame_len);
/* An INDICATE_STATUS message with @status (RNDIS_INDICATE_LEN bytes). */
void rndis_indicate(uint8_t *out, uint32_t status);

/* Would the guest's packet filter take this frame? */
bool rndis_filter_accepts(const struct rndis_dev *r, const uint8_t *frame,
			  uint32_t len);

#endif /* HVIS_VSP_NET_RNDIS_H */
