/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake VMBus host for unit tests and fuzzers: what hvis-vspd gives a
 * struct vmbus_server (host-vsp/vmbus/server.h), minus the VM.
 *
 *  - Guest memory is a memfd. The test (the "guest") sees it whole at
 *    vf_host.gmem; the server maps it page by page through map_pages, as
 *    hvis-vspd does, each view followed by a PROT_NONE guard page.
 *  - Every message the server posts is recorded in vf_host.msgs (type,
 *    VP, SINT, bytes); every event-flag signal in sig_*; event ports and
 *    log lines are counted.
 *  - The guest side: connect (INITIATE_CONTACT, REQUESTOFFERS), find an
 *    offer, build a ring GPADL the way Linux sends it (26 PFNs in the
 *    header, 28 per body), OPENCHANNEL, then send and read on the guest's
 *    ends of the rings with lib/ring.c.
 *
 * Checks. What the fake expects of the server (a GPADL_CREATED with
 * status 0, SUCCESS for a message, ...) goes to vf_host.check: unit tests
 * pass vf_cunit_check, so each is a CUnit assertion (a fatal one ends the
 * test). Without a check function (fuzzers) a failed expectation is
 * counted in vf_host.failures and the call returns its error, while a
 * broken harness (message log full, ring attach failed, out of guest
 * pages) aborts.
 *
 * Not thread-safe; one vf_host per test, usually a static.
 */
#ifndef HVIS_TESTS_COMMON_VMBUS_FAKE_H
#define HVIS_TESTS_COMMON_VMBUS_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hvis/vmbus.h>
#include "host-vsp/vmbus/server.h"

#define VF_PG		4096u
#define VF_MAX_MSGS	600u	/* posted messages kept between vf_clear()s */
#define VF_MAX_SIGS	600u	/* signals recorded (all are counted) */
#define VF_FIRST_PFN	16u	/* vf_palloc() starts here; below: the test's */
#define VF_INT_PAGE	0x3000u	/* vf_connect()'s interrupt page (< 5.0) */
#define VF_ALLOC	0xFFFFFFFFu	/* vf_open_channel_at(): vf_palloc() */

/* A check's outcome: CUnit's CU_assertImplementation has this shape. */
typedef void vf_check_fn(bool ok, unsigned int line, const char *expr,
			 const char *file, bool fatal);

/* One message the server posted. */
struct vf_msg {
	uint32_t vp, sint;
	uint32_t type;			/* the channel message type */
	uint32_t len;
	uint8_t b[HVIS_MESSAGE_PAYLOAD_MAX];
};

struct vf_host {
	vf_check_fn *check;		/* NULL: count failures, see above */
	unsigned int failures;		/* failed checks */

	/* guest memory */
	int memfd;
	uint8_t *gmem;			/* the guest's physical view */
	uint32_t mem_pages;
	uint32_t next_pfn;		/* vf_palloc()'s next page */
	int maps;			/* live server views */

	/* host -> guest messages; post_rc != 0: post_message fails with it
	 * (nothing recorded)
	 */
	struct vf_msg msgs[VF_MAX_MSGS];
	unsigned int nmsgs;
	int post_rc;
	unsigned int post_calls;

	/* signal_guest */
	unsigned int nsig;
	uint32_t sig_vp[VF_MAX_SIGS], sig_sint[VF_MAX_SIGS];
	uint32_t sig_flag[VF_MAX_SIGS];

	/* event_port */
	unsigned int ports_on, ports_off;
	uint32_t last_port;

	/* log: every line counted; WARN and above also in warns. on_log, if
	 * set, sees each line; otherwise lines go to stderr when
	 * HVIS_TEST_LOG is set.
	 */
	unsigned int logs, warns;
	void (*on_log)(struct vf_host *h, enum vmbus_log_level lvl,
		       const char *msg);
	void *user;			/* the test's */
};

/* The guest's view of one open channel. */
struct vf_chan {
	uint32_t relid, connid, gpadl;
	uint32_t ring_pfn;		/* first ring page */
	uint32_t up, down;		/* ring pages guest->host, host->guest,
					 * control page included
					 */
	struct hvis_ring gw, gr;	/* the guest writes / reads */
	bool open;
};

#ifdef CU_ASSERT
/* vf_host_init()'s check for CUnit tests (include CUnit.h first). */
static inline void vf_cunit_check(bool ok, unsigned int line,
				  const char *expr, const char *file,
				  bool fatal)
{
	CU_assertImplementation(ok, line, expr, file, "", fatal);
}
#endif

/* ---------------------------------------------------------------- host */

/*
 * Zero @h, create @mem_bytes (a multiple of VF_PG) of zeroed guest memory.
 * 0, or -1 (with @check NULL: aborts).
 */
int vf_host_init(struct vf_host *h, size_t mem_bytes, vf_check_fn *check);
/* Checks that every view is gone; frees guest memory. */
void vf_host_fini(struct vf_host *h);
/* Forget the recorded messages and signals. */
void vf_clear(struct vf_host *h);

/* Server callbacks on @h (event_port included), opaque = @h. */
struct vmbus_server_ops vf_server_ops(struct vf_host *h);
/* A vmbus_server_ops.log (opaque: the vf_host); also fits the VSPs'
 * host ops.
 */
void vf_log(void *opaque, enum vmbus_log_level lvl, const char *msg);
/* Host address of guest page @pfn, NULL outside (opaque: the vf_host):
 * storvsp_host_ops.guest_page.
 */
void *vf_guest_page(void *opaque, uint64_t pfn);

/* Guest page @pfn (no range check). */
static inline uint8_t *vf_gp(struct vf_host *h, uint64_t pfn)
{
	return h->gmem + (size_t)pfn * VF_PG;
}

/* @n fresh pages from next_pfn on (a bump allocator): the first PFN. */
uint32_t vf_palloc(struct vf_host *h, uint32_t n);

/* The newest message of @type posted at index @from or later, or NULL. */
const struct vf_msg *vf_last_msg(const struct vf_host *h, uint32_t type,
				 unsigned int from);
/* The @n-th (from 0) message of @type, or NULL. */
const struct vf_msg *vf_nth_msg(const struct vf_host *h, uint32_t type,
				unsigned int n);
unsigned int vf_count_msgs(const struct vf_host *h, uint32_t type);
/*
 * The newest OFFERCHANNEL posted at index @from or later of class
 * @class_guid (NULL: any) with sub-channel index @sub_index, into *@o
 * (untouched when there is none).
 */
bool vf_find_offer(const struct vf_host *h, const struct hvis_guid *class_guid,
		   uint16_t sub_index, unsigned int from,
		   struct hvis_chmsg_offer *o);

/* ------------------------------------------------------ guest messages */

/* A guest message on @conn (HvPostMessage from VP 0): the HV status. */
uint16_t vf_send_msg(struct vmbus_server *s, uint32_t conn, const void *m,
		     size_t len);

/* INITIATE_CONTACT for @ver from @vcpu: 5.0+ with @sint, older with the
 * interrupt page at @int_page. Send it on vf_contact_conn(@ver).
 */
void vf_contact_msg(struct hvis_chmsg_initiate_contact *m, uint32_t ver,
		    uint32_t vcpu, uint8_t sint, uint64_t int_page);
static inline uint32_t vf_contact_conn(uint32_t ver)
{
	return ver >= HVIS_VMBUS_VERSION_WIN10_RS4 ?
	       HVIS_VMBUS_MESSAGE_CONNECTION_ID_4 :
	       HVIS_VMBUS_MESSAGE_CONNECTION_ID;
}
/*
 * Linux's connect: INITIATE_CONTACT for @ver (VP 0; SINT 2 or the
 * interrupt page at VF_INT_PAGE), then REQUESTOFFERS; both expected to
 * succeed. 0 or -1.
 */
int vf_connect(struct vf_host *h, struct vmbus_server *s, uint32_t ver);

/*
 * GPADL_HEADER with one range header of @rangecount/@buflen/@byte_count/
 * @byte_offset and @n PFNs, or GPADL_BODY with @n PFNs (msgnumber 0, as
 * Linux leaves it), built in @buf (HVIS_MESSAGE_PAYLOAD_MAX bytes): the
 * message's length.
 */
uint32_t vf_gpadl_header_msg(uint8_t *buf, uint32_t relid, uint32_t handle,
			     uint16_t rangecount, uint16_t buflen,
			     uint32_t byte_count, uint32_t byte_offset,
			     const uint64_t *pfns, uint32_t n);
uint32_t vf_gpadl_body_msg(uint8_t *buf, uint32_t handle,
			   const uint64_t *pfns, uint32_t n);
/*
 * A GPADL of @n pages (@pfns) the way Linux sends it: one range, 26 PFNs
 * in the header, 28 per body; each message expected to be taken. Returns
 * how many bodies went out.
 */
unsigned int vf_gpadl_send(struct vf_host *h, struct vmbus_server *s,
			   uint32_t relid, uint32_t handle,
			   const uint64_t *pfns, uint32_t n);
/* vf_gpadl_send() of @n contiguous pages at @pfn0, then expects the
 * GPADL_CREATED for @handle with status 0. 0 or -1.
 */
int vf_gpadl(struct vf_host *h, struct vmbus_server *s, uint32_t relid,
	     uint32_t handle, uint32_t pfn0, uint32_t n);
/* OPENCHANNEL for @relid (openid = relid) on ring GPADL @gpadl. */
void vf_open_msg(struct hvis_chmsg_open *m, uint32_t relid, uint32_t gpadl,
		 uint32_t target_vp, uint32_t down_offset);

/* ------------------------------------------------------------ channels */

/*
 * vmbus_open as Linux does it: @up + @down ring pages at @ring_pfn
 * (VF_ALLOC: vf_palloc()), zeroed, the guest's ring ends attached (its outbound
 * ring first), a ring GPADL with handle @gpadl (0: 0xE000 + @relid),
 * OPENCHANNEL for VP 0 with the downstream ring at page @up; expects
 * GPADL_CREATED and OPENCHANNEL_RESULT with status 0. Fills @c; c->open
 * once the open succeeded. 0, or -1 if anything was not as expected.
 */
int vf_open_channel_at(struct vf_host *h, struct vmbus_server *s,
		       uint32_t relid, uint32_t up, uint32_t down,
		       uint32_t ring_pfn, uint32_t gpadl, struct vf_chan *c);
static inline int vf_open_channel(struct vf_host *h, struct vmbus_server *s,
				  uint32_t relid, uint32_t up, uint32_t down,
				  struct vf_chan *c)
{
	return vf_open_channel_at(h, s, relid, up, down, VF_ALLOC, 0, c);
}
/* CLOSECHANNEL, then GPADL_TEARDOWN of the ring GPADL; both expected to
 * be taken.
 */
void vf_close_channel(struct vf_host *h, struct vmbus_server *s,
		      struct vf_chan *c);

#define VF_SIGNAL_ALWAYS	1u	/* vf_guest_send: signal every packet */

/*
 * A guest packet on @c: descriptor @type/@flags/@trans_id, then @hdr_len
 * bytes of @hdr (a GPA-direct range list; 0: none) and @len bytes of @p.
 * Signals the channel when lib/ring.c says the host must be told (its
 * ring was empty: Linux's rule), or always with VF_SIGNAL_ALWAYS; a
 * signal is expected to succeed. Returns hvis_ring_send()'s result.
 */
int vf_guest_send(struct vf_host *h, struct vmbus_server *s,
		  struct vf_chan *c, uint16_t type, uint16_t flags,
		  uint64_t trans_id, const void *hdr, uint32_t hdr_len,
		  const void *p, uint32_t len, unsigned int how);
/*
 * The next packet the host wrote on @c, not yet committed: its descriptor
 * in *@desc (may be NULL), up to @max bytes of its payload (after any
 * header) in @p. Returns the payload's whole length, or a negative
 * lib/ring.c error (-HVIS_RING_EMPTY: nothing there).
 */
int vf_guest_read(struct vf_chan *c, void *p, uint32_t max,
		  struct hvis_pkt_desc *desc);
/*
 * Publish what the guest read on @c; if the host waits for room
 * (pending_send_sz), signal the channel as Linux does. 1 = signalled,
 * 0 = not, or a negative lib/ring.c error.
 */
int vf_guest_commit(struct vmbus_server *s, struct vf_chan *c);

#endif /* HVIS_TESTS_COMMON_VMBUS_FAKE_H */
