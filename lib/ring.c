// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * VMBus ring buffer logic shared by the guest modules and the host.
 * See ring.h for the trust model and <hvis/ring.h> for the layout.
 *
 * Free space: the writer never fills the ring completely, so that
 * write_index == read_index always means "empty". A packet of n bytes
 * (trailer included) fits only if more than n bytes are free.
 *
 * Signalling, writer side: signal after publishing a packet only if the
 * reader has interrupts unmasked and had consumed everything before this
 * packet (read_index == the packet's start). Reader side: after
 * publishing a new read index, signal only if the writer asked for
 * pending_send_sz bytes and this commit moved free space across it.
 * Both decisions read the other side's fields after a full barrier that
 * follows our own index store, so that one of the two sides always sees
 * the other's update.
 */
#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/compiler.h>
#include <linux/prefetch.h>
#include <asm/barrier.h>

/*
 * The peer is another (virtual) machine, so the virt_ barriers apply even
 * in a uniprocessor guest. Each use below says what it orders.
 */
#define ring_load(p)			READ_ONCE(*(p))
#define ring_store(p, v)		WRITE_ONCE(*(p), (v))
/* index load before the data reads it covers */
#define ring_load_acquire(p)		virt_load_acquire(p)
/* data accesses before the index store that publishes them */
#define ring_store_release(p, v)	virt_store_release(p, v)
/* our index store before the load of the peer's fields */
#define ring_mb()			virt_mb()
#define ring_prefetchw(p)		prefetchw(p)
#else
#include <string.h>
#include <hvis/user-compat.h>

#define ring_load(p)			__atomic_load_n((p), __ATOMIC_RELAXED)
#define ring_store(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ring_load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ring_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ring_mb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
/*
 * A prefetch for writing, or none: a plain (read) prefetch would pull the
 * line from the reader shared and cost an upgrade later, slower than no
 * prefetch at all. On x86-64 PREFETCHW is used only where CPUID says the
 * CPU has it (PRFCHW, leaf 0x80000001 ECX bit 8), as the kernel's
 * prefetchw() does with its alternative.
 */
#if defined(__x86_64__)
#include <cpuid.h>

static inline bool ring_has_prefetchw(void)
{
	static int known;	/* 0: not yet asked, 1: no, 2: yes */
	int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
	unsigned int a, b, c, d;

	if (!v) {
		v = __get_cpuid(0x80000001u, &a, &b, &c, &d) &&
		    (c & (1u << 8)) ? 2 : 1;
		__atomic_store_n(&known, v, __ATOMIC_RELAXED);
	}
	return v == 2;
}

static inline void ring_prefetchw(const void *p)
{
	if (ring_has_prefetchw())
		__asm__ __volatile__("prefetchw %0" : : "m" (*(const unsigned char *)p));
}
#elif defined(__aarch64__)
#define ring_prefetchw(p)		__builtin_prefetch((p), 1, 3)
#else
#define ring_prefetchw(p)		((void)(p))
#endif
#endif

#include "ring.h"

#define DESC_SIZE	((u32)sizeof(struct hvis_pkt_desc))
#define TRAILER		HVIS_PKT_TRAILER_SIZE
/*
 * How far ahead of the write index the writer claims a cache line for
 * writing. Every packet ends in a full barrier (see hvis_ring_send),
 * which waits until the packet's stores own their lines; lines the
 * reader read on the last lap must first be taken back from its cache.
 * Asking for them a few small packets early overlaps that transfer with
 * the packets in between.
 */
#define WRITE_AHEAD	512u

static inline u32 align8(u32 n)
{
	return (n + 7u) & ~7u;
}

/* Bytes from @from up to @to, going forward around the ring. */
static inline u32 ring_dist(const struct hvis_ring *r, u32 from, u32 to)
{
	return to >= from ? to - from : r->size - from + to;
}

static inline u32 ring_add(const struct hvis_ring *r, u32 pos, u32 n)
{
	u32 room = r->size - pos;

	return n < room ? pos + n : n - room;
}

static int ring_fail(struct hvis_ring *r, int status)
{
	if (!r->error)
		r->error = status;
	return -r->error;
}

static int check_index(struct hvis_ring *r, u32 idx)
{
	if (idx >= r->size)
		return ring_fail(r, HVIS_RING_BAD_INDEX);
	if (idx & 7u)
		return ring_fail(r, HVIS_RING_BAD_ALIGN);
	return 0;
}

/* The peer's index, checked; acquire so that data reads follow it. */
static int load_peer_index(struct hvis_ring *r, u32 *field, u32 *out)
{
	u32 idx = ring_load_acquire(field);
	int ret = check_index(r, idx);

	if (ret)
		return ret;
	*out = idx;
	return 0;
}

/* Copy out of / into the data area; @pos < size, @len <= size. */
static inline void copy_from_ring(const struct hvis_ring *r, u32 pos, void *dst,
			   u32 len)
{
	u32 first = r->size - pos;

	if (len <= first) {
		memcpy(dst, r->data + pos, len);
	} else {
		memcpy(dst, r->data + pos, first);
		memcpy((u8 *)dst + first, r->data, len - first);
	}
}

static inline void copy_to_ring(struct hvis_ring *r, u32 pos, const void *src,
			 u32 len)
{
	u32 first = r->size - pos;

	if (len <= first) {
		memcpy(r->data + pos, src, len);
	} else {
		memcpy(r->data + pos, src, first);
		memcpy(r->data, (const u8 *)src + first, len - first);
	}
}

static inline void zero_ring(struct hvis_ring *r, u32 pos, u32 len)
{
	static const u8 zeros[8];

	copy_to_ring(r, pos, zeros, len);
}

void hvis_ring_header_init(struct hvis_ring_header *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
}

int hvis_ring_attach(struct hvis_ring *r, struct hvis_ring_header *hdr,
		     void *data, u32 size, enum hvis_ring_role role)
{
	int ret;

	memset(r, 0, sizeof(*r));
	if (!hdr || !data || size < HVIS_RING_MIN_SIZE ||
	    size > HVIS_RING_MAX_SIZE || (size & 7u) ||
	    (role != HVIS_RING_WRITER && role != HVIS_RING_READER))
		return -HVIS_RING_INVAL;
	r->hdr = hdr;
	r->data = data;
	r->size = size;
	r->role = role;

	if (role == HVIS_RING_WRITER) {
		ret = load_peer_index(r, &hdr->rh_write_index, &r->priv_write);
		if (ret)
			return ret;
		ret = load_peer_index(r, &hdr->rh_read_index, &r->peer_index);
		if (ret)
			return ret;
		ring_store(&hdr->rh_pending_send_sz, 0u);
		ring_store(&hdr->rh_feature_bits, ring_load(&hdr->rh_feature_bits) |
			   HVIS_RING_FEAT_PENDING_SEND_SZ);
	} else {
		ret = load_peer_index(r, &hdr->rh_read_index, &r->priv_read);
		if (ret)
			return ret;
		r->pub_read = r->priv_read;
		r->peer_index = r->priv_read;	/* nothing known published yet */
	}
	return 0;
}

/* ------------------------------------------------------------ writer */

int hvis_ring_send(struct hvis_ring *r, const struct hvis_pkt_desc *desc,
		   u32 hdr_len, const struct hvis_iov *iov,
		   unsigned int iovcnt, bool *signal)
{
	struct hvis_pkt_desc d;
	u32 total = 0, plen, need, rd, free, pos, at, pad;
	unsigned int i;
	int ret;

	*signal = false;
	if (r->error)
		return -r->error;
	if (r->role != HVIS_RING_WRITER || !desc || (hdr_len & 7u) ||
	    (iovcnt && !iov))
		return -HVIS_RING_INVAL;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].len > HVIS_PKT_MAX_LEN - total)
			return -HVIS_RING_TOOBIG;
		total += iov[i].len;
	}
	if (hdr_len > total)
		return -HVIS_RING_INVAL;
	if (total > HVIS_PKT_MAX_LEN - DESC_SIZE - 7u)
		return -HVIS_RING_TOOBIG;
	plen = align8(DESC_SIZE + total);
	need = plen + TRAILER;
	if (need >= r->size)
		return -HVIS_RING_TOOBIG;

	free = r->size - ring_dist(r, r->peer_index, r->priv_write);
	if (free <= need) {
		ret = load_peer_index(r, &r->hdr->rh_read_index, &r->peer_index);
		if (ret)
			return ret;
		free = r->size - ring_dist(r, r->peer_index, r->priv_write);
		if (free <= need)
			return -HVIS_RING_FULL;
	}

	d = *desc;
	d.pd_offset8 = (u16)((DESC_SIZE + hdr_len) / 8u);
	d.pd_len8 = (u16)(plen / 8u);

	pos = r->priv_write;
	/*
	 * Small packets only (a large one's copy streams by itself), and
	 * only into free space: never take a line the reader still reads.
	 */
	if (need < WRITE_AHEAD && free - need > WRITE_AHEAD)
		ring_prefetchw(r->data + ring_add(r, pos, WRITE_AHEAD));
	copy_to_ring(r, pos, &d, DESC_SIZE);
	at = ring_add(r, pos, DESC_SIZE);
	for (i = 0; i < iovcnt; i++) {
		if (!iov[i].len)
			continue;
		copy_to_ring(r, at, iov[i].base, iov[i].len);
		at = ring_add(r, at, iov[i].len);
	}
	pad = plen - DESC_SIZE - total;
	if (pad) {
		zero_ring(r, at, pad);
		at = ring_add(r, at, pad);
	}
	{
		u64 trailer = HVIS_PKT_TRAILER(pos);

		copy_to_ring(r, at, &trailer, TRAILER);
	}
	r->priv_write = ring_add(r, pos, need);

	/* Publish: packet bytes before the index. */
	ring_store_release(&r->hdr->rh_write_index, r->priv_write);
	/* Our index before their mask and read index (pairs with unmask). */
	ring_mb();
	if (ring_load(&r->hdr->rh_interrupt_mask))
		return 0;
	ret = load_peer_index(r, &r->hdr->rh_read_index, &rd);
	if (ret)
		return ret;
	r->peer_index = rd;
	*signal = rd == pos;
	return 0;
}

int hvis_ring_request_space(struct hvis_ring *r, u32 payload_bytes)
{
	u32 need, want, rd, free;
	int ret;

	if (r->error)
		return -r->error;
	if (r->role != HVIS_RING_WRITER)
		return -HVIS_RING_INVAL;
	if (payload_bytes > HVIS_PKT_MAX_LEN - 7u)
		return -HVIS_RING_TOOBIG;
	need = align8(payload_bytes) + TRAILER;
	if (need >= r->size)
		return -HVIS_RING_TOOBIG;
	/*
	 * Ask for at least a quarter of the ring, so that a busy reader
	 * wakes us once per batch rather than once per packet.
	 */
	want = need > r->size / 4u ? need : r->size / 4u;
	ring_store(&r->hdr->rh_pending_send_sz, want);
	/* Our request before their read index (pairs with commit). */
	ring_mb();
	ret = load_peer_index(r, &r->hdr->rh_read_index, &rd);
	if (ret)
		return ret;
	r->peer_index = rd;
	free = r->size - ring_dist(r, rd, r->priv_write);
	if (free > need) {
		ring_store(&r->hdr->rh_pending_send_sz, 0u);
		return 1;
	}
	return 0;
}

void hvis_ring_cancel_space_request(struct hvis_ring *r)
{
	ring_store(&r->hdr->rh_pending_send_sz, 0u);
}

/* ------------------------------------------------------------ reader */

int hvis_ring_peek(struct hvis_ring *r, struct hvis_ring_pkt *pkt)
{
	u32 wr, avail, len, off;
	u64 trailer;
	int ret;

	if (r->error)
		return -r->error;
	if (r->role != HVIS_RING_READER)
		return -HVIS_RING_INVAL;
	wr = r->peer_index;
	if (wr == r->priv_read) {
		ret = load_peer_index(r, &r->hdr->rh_write_index, &r->peer_index);
		if (ret)
			return ret;
		wr = r->peer_index;
	}
	avail = ring_dist(r, r->priv_read, wr);
	if (!avail)
		return -HVIS_RING_EMPTY;
	if (avail < DESC_SIZE + TRAILER)
		return ring_fail(r, HVIS_RING_BAD_LENGTH);

	/* One private copy of the descriptor; nothing is read twice. */
	copy_from_ring(r, r->priv_read, &pkt->desc, DESC_SIZE);
	len = (u32)pkt->desc.pd_len8 * 8u;
	off = (u32)pkt->desc.pd_offset8 * 8u;
	if (len < DESC_SIZE || off < DESC_SIZE || off > len)
		return ring_fail(r, HVIS_RING_BAD_DESC);
	if (len > avail - TRAILER)
		return ring_fail(r, HVIS_RING_BAD_LENGTH);
	copy_from_ring(r, ring_add(r, r->priv_read, len), &trailer, TRAILER);
	if ((u32)(trailer >> 32) != r->priv_read)
		return ring_fail(r, HVIS_RING_BAD_TRAILER);

	pkt->start = r->priv_read;
	pkt->len = len;
	pkt->data_off = off;
	return 0;
}

int hvis_ring_copy_out(struct hvis_ring *r, const struct hvis_ring_pkt *pkt,
		       u32 off, void *buf, u32 len)
{
	if (r->error)
		return -r->error;
	if (!pkt || pkt->start >= r->size || pkt->len > r->size ||
	    off > pkt->len || len > pkt->len - off)
		return -HVIS_RING_INVAL;
	if (len)
		copy_from_ring(r, ring_add(r, pkt->start, off), buf, len);
	return 0;
}

int hvis_ring_consume(struct hvis_ring *r, const struct hvis_ring_pkt *pkt)
{
	if (r->error)
		return -r->error;
	if (r->role != HVIS_RING_READER || !pkt || pkt->start != r->priv_read ||
	    pkt->len > r->size - TRAILER)
		return -HVIS_RING_INVAL;
	r->priv_read = ring_add(r, pkt->start, pkt->len + TRAILER);
	return 0;
}

int hvis_ring_commit(struct hvis_ring *r, bool *signal)
{
	u32 pending, wr, freed, free_now;
	int ret;

	*signal = false;
	if (r->error)
		return -r->error;
	if (r->role != HVIS_RING_READER)
		return -HVIS_RING_INVAL;
	if (r->priv_read == r->pub_read)
		return 0;
	freed = ring_dist(r, r->pub_read, r->priv_read);
	/* Our reads of the packets before the index that frees them. */
	ring_store_release(&r->hdr->rh_read_index, r->priv_read);
	r->pub_read = r->priv_read;
	/* Our index before their request (pairs with request_space). */
	ring_mb();
	if (!(ring_load(&r->hdr->rh_feature_bits) &
	      HVIS_RING_FEAT_PENDING_SEND_SZ))
		return 0;
	pending = ring_load(&r->hdr->rh_pending_send_sz);
	if (!pending)
		return 0;
	ret = load_peer_index(r, &r->hdr->rh_write_index, &wr);
	if (ret)
		return ret;
	free_now = r->size - ring_dist(r, r->priv_read, wr);
	/* Signal only when this commit crossed the writer's threshold. */
	*signal = free_now > pending &&
		  (freed >= free_now || free_now - freed <= pending);
	return 0;
}

int hvis_ring_read(struct hvis_ring *r, void *buf, u32 *len,
		   struct hvis_ring_pkt *pkt)
{
	int ret = hvis_ring_peek(r, pkt);

	if (ret)
		return ret;
	if (pkt->len > *len) {
		*len = pkt->len;
		return -HVIS_RING_SHORT;
	}
	*len = pkt->len;
	copy_from_ring(r, pkt->start, buf, pkt->len);
	return hvis_ring_consume(r, pkt);
}

void hvis_ring_mask(struct hvis_ring *r)
{
	ring_store(&r->hdr->rh_interrupt_mask, 1u);
	ring_mb();
}

int hvis_ring_unmask(struct hvis_ring *r)
{
	u32 wr;
	int ret;

	ring_store(&r->hdr->rh_interrupt_mask, 0u);
	/* Unmask before looking again (pairs with send). */
	ring_mb();
	if (r->error)
		return -r->error;
	ret = load_peer_index(r, &r->hdr->rh_write_index, &wr);
	if (ret)
		return ret;
	return wr != r->priv_read;
}

/* ------------------------------------------------------------ both */

s64 hvis_ring_bytes_to_read(struct hvis_ring *r)
{
	u32 peer;
	int ret;

	if (r->error)
		return -r->error;
	if (r->role == HVIS_RING_READER) {
		ret = load_peer_index(r, &r->hdr->rh_write_index, &peer);
		if (ret)
			return ret;
		return ring_dist(r, r->priv_read, peer);
	}
	ret = load_peer_index(r, &r->hdr->rh_read_index, &peer);
	if (ret)
		return ret;
	return ring_dist(r, peer, r->priv_write);
}

s64 hvis_ring_bytes_to_write(struct hvis_ring *r)
{
	s64 used = hvis_ring_bytes_to_read(r);

	return used < 0 ? used : (s64)r->size - used;
}

const char *hvis_ring_strerror(int status)
{
	static const char *const text[HVIS_RING_STATUS_COUNT] = {
		[HVIS_RING_OK] = "success",
		[HVIS_RING_EMPTY] = "ring empty",
		[HVIS_RING_FULL] = "ring full",
		[HVIS_RING_TOOBIG] = "packet larger than the ring",
		[HVIS_RING_INVAL] = "invalid argument",
		[HVIS_RING_SHORT] = "buffer shorter than the packet",
		[HVIS_RING_BAD_INDEX] = "peer index beyond the ring",
		[HVIS_RING_BAD_ALIGN] = "peer index not 8-byte aligned",
		[HVIS_RING_BAD_LENGTH] = "packet longer than the published data",
		[HVIS_RING_BAD_DESC] = "packet descriptor offset/length inconsistent",
		[HVIS_RING_BAD_TRAILER] = "packet trailer disagrees with its start",
	};

	if (status < 0)
		status = -status;
	if (status >= HVIS_RING_STATUS_COUNT)
		return "unknown ring status";
	return text[status];
}
