/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * VMBus ring buffer: one implementation for the guest modules and the
 * host. The wire format is in <hvis/ring.h>; this is the logic.
 *
 * Trust: the other side owns half of the control page and all the bytes
 * it writes, and may change them at any moment. Every index read from
 * shared memory is checked (inside the ring, on the 8-byte grid), every
 * packet is checked against what was published (descriptor lengths,
 * trailer), descriptors are copied before they are looked at, and all
 * copies are bounded by those checked lengths. The first violation is
 * sticky: every later call on the ring returns it, and the owner closes
 * the channel.
 *
 * Concurrency: one writer and one reader per ring (one ring = one
 * direction); callers serialise their own side.
 */
#ifndef HVIS_LIB_RING_H
#define HVIS_LIB_RING_H

#include <hvis/ring.h>

/* Results: 0 on success, or the negative of one of these. */
enum hvis_ring_status {
	HVIS_RING_OK = 0,
	HVIS_RING_EMPTY,	/* nothing to read */
	HVIS_RING_FULL,		/* not enough free space now */
	HVIS_RING_TOOBIG,	/* our packet can never fit this ring */
	HVIS_RING_INVAL,	/* caller error: bad argument */
	HVIS_RING_SHORT,	/* caller's buffer smaller than the packet */
	/* corruption by the other side: sticky */
	HVIS_RING_BAD_INDEX,	/* index beyond the data area */
	HVIS_RING_BAD_ALIGN,	/* index off the 8-byte grid */
	HVIS_RING_BAD_LENGTH,	/* packet longer than what was published */
	HVIS_RING_BAD_DESC,	/* descriptor offset/length inconsistent */
	HVIS_RING_BAD_TRAILER,	/* trailer does not name the packet start */
	HVIS_RING_STATUS_COUNT
};

enum hvis_ring_role {
	HVIS_RING_WRITER,	/* we write packets, the peer reads */
	HVIS_RING_READER,	/* the peer writes, we read */
};

struct hvis_ring {
	struct hvis_ring_header *hdr;	/* shared control page */
	u8 *data;			/* shared data area */
	u32 size;			/* data area bytes (trusted copy) */
	enum hvis_ring_role role;
	u32 priv_write;			/* writer: authoritative write index */
	u32 priv_read;			/* reader: next unconsumed packet */
	u32 pub_read;			/* reader: read index last published */
	/*
	 * The peer's index as last loaded and checked. Reloaded only when
	 * it no longer shows enough data (reader) or space (writer), so the
	 * shared cache line is touched once per batch, not per packet.
	 */
	u32 peer_index;
	int error;			/* first corruption, or 0 */
};

struct hvis_iov {
	const void *base;
	u32 len;
};

/* A packet found by peek: a checked, private copy of its descriptor. */
struct hvis_ring_pkt {
	struct hvis_pkt_desc desc;
	u32 start;		/* offset of the descriptor in the data area */
	u32 len;		/* descriptor + header + payload, padded */
	u32 data_off;		/* payload offset in the packet (offset8 * 8) */
};

/* Smallest data area that holds one empty packet plus the spare byte. */
#define HVIS_RING_MIN_SIZE	64u
/* Largest data area: indices must stay far from 32-bit overflow. */
#define HVIS_RING_MAX_SIZE	(1u << 30)

/*
 * Take over one ring. @hdr is the control page, @data the data area of
 * @size bytes (a multiple of 8, HVIS_RING_MIN_SIZE..HVIS_RING_MAX_SIZE).
 * The current indices are adopted after checking them. A writer
 * advertises pending_send_sz support in the control page.
 */
int hvis_ring_attach(struct hvis_ring *r, struct hvis_ring_header *hdr,
		     void *data, u32 size, enum hvis_ring_role role);

/* Zero a control page, as the side that allocates a ring does first. */
void hvis_ring_header_init(struct hvis_ring_header *hdr);

/* ---- writer ---- */

/*
 * Gather-write one packet. @desc supplies type, flags and trans_id; the
 * library fills offset8 and len8. The first @hdr_len bytes of the iovs
 * are the type-specific header that follows the descriptor (0 for
 * in-band data; ranges for GPA-direct), a multiple of 8; the rest is the
 * payload. On success *@signal says whether the reader must be
 * interrupted (it was idle and has interrupts unmasked).
 * -HVIS_RING_FULL leaves the ring untouched.
 */
int hvis_ring_send(struct hvis_ring *r, const struct hvis_pkt_desc *desc,
		   u32 hdr_len, const struct hvis_iov *iov,
		   unsigned int iovcnt, bool *signal);

/*
 * After -HVIS_RING_FULL for a packet of @payload_bytes (descriptor and
 * headers included): ask the reader to signal once enough space is free.
 * Returns 1 if the space is already there (send again now), 0 if the
 * caller should wait for the reader's signal, or a negative status.
 */
int hvis_ring_request_space(struct hvis_ring *r, u32 payload_bytes);
void hvis_ring_cancel_space_request(struct hvis_ring *r);

/* ---- reader ---- */

/* Look at the next unconsumed packet without consuming it. */
int hvis_ring_peek(struct hvis_ring *r, struct hvis_ring_pkt *pkt);

/*
 * Copy @len bytes at @off within @pkt (0 = its descriptor) to @buf.
 * Bounded by the packet's checked length.
 */
int hvis_ring_copy_out(struct hvis_ring *r, const struct hvis_ring_pkt *pkt,
		       u32 off, void *buf, u32 len);

/* Consume @pkt (the packet peek returned last) privately. */
int hvis_ring_consume(struct hvis_ring *r, const struct hvis_ring_pkt *pkt);

/*
 * Publish what was consumed. *@signal says whether the writer must be
 * interrupted: it asked for space (pending_send_sz) and this commit
 * made that much free.
 */
int hvis_ring_commit(struct hvis_ring *r, bool *signal);

/*
 * Peek + copy the whole packet (descriptor included) into @buf + consume.
 * *@len is the buffer size on entry, the packet length on return (also on
 * -HVIS_RING_SHORT, when nothing is consumed). Commit separately.
 */
int hvis_ring_read(struct hvis_ring *r, void *buf, u32 *len,
		   struct hvis_ring_pkt *pkt);

/*
 * Interrupt masking while draining; unmask returns 1 if data arrived
 * meanwhile (drain again), 0 if the ring is empty, or a negative status.
 */
void hvis_ring_mask(struct hvis_ring *r);
int hvis_ring_unmask(struct hvis_ring *r);

/* ---- both ---- */

/*
 * Bytes readable from the reader's position / writable by the writer,
 * or a negative status if the peer's index is corrupt.
 */
s64 hvis_ring_bytes_to_read(struct hvis_ring *r);
s64 hvis_ring_bytes_to_write(struct hvis_ring *r);

const char *hvis_ring_strerror(int status);

#endif /* HVIS_LIB_RING_H */
