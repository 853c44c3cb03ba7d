// SPDX-License-Identifier: GPL-2.0-only
/*
 * GPADLs: guest buffers described page by page. GPADL_HEADER carries
 * range_buflen (all range bytes, PFNs included: a u16, so at most 8190
 * pages), rangecount and the first range bytes; GPADL_BODY messages carry
 * the rest, in order (Linux leaves msgnumber 0, so the order of arrival
 * is the order). The range bytes are a stream of
 * { u32 byte_count; u32 byte_offset; u64 pfn[pages] } that must fill
 * range_buflen exactly. Once complete, every PFN is mapped into one host
 * view (ops->map_pages) and GPADL_CREATED answers. GPADL_TEARDOWN answers
 * GPADL_TORNDOWN once no open ring and no device borrow uses the view.
 *
 * Handles are unique across the connection (Linux counts from 0xE1E10;
 * GPADL_BODY names no channel), a GPADL belongs to the channel its
 * header named, and the totals are bounded by max_gpadls and
 * max_gpadl_pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

/* Bytes before the range stream in each message. */
#define HEADER_FIXED	((uint32_t)sizeof(struct hvis_chmsg_gpadl_header))
#define BODY_FIXED	((uint32_t)sizeof(struct hvis_chmsg_gpadl_body))
#define RANGE_FIXED	((uint32_t)sizeof(struct hvis_gpa_range))

struct vmbus_gpadl *gpadl_find(struct vmbus_server *srv, uint32_t handle)
{
	struct vmbus_gpadl *g;

	for (g = srv->gpadls; g; g = g->next)
		if (g->handle == handle)
			return g;
	return NULL;
}

static void gpadl_free(struct vmbus_server *srv, struct vmbus_gpadl *g)
{
	struct vmbus_gpadl **pp;

	for (pp = &srv->gpadls; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	if (g->view)
		srv->ops.unmap_pages(srv->ops.opaque, g->view, g->npfn);
	srv->ngpadls--;
	srv->gpadl_pages -= g->reserved_pages;
	free(g->buf);
	free(g->pfns);
	free(g);
}

static void post_created(struct vmbus_server *srv, uint32_t relid,
			 uint32_t handle, uint32_t status)
{
	struct hvis_chmsg_gpadl_created r;

	memset(&r, 0, sizeof(r));
	r.gc_hdr.ch_msgtype = HVIS_CHMSG_GPADL_CREATED;
	r.gc_child_relid = relid;
	r.gc_gpadl = handle;
	r.gc_creation_status = status;
	srv_post(srv, &r, sizeof(r));
}

/* Refuse a GPADL the guest is waiting for; it is forgotten. */
static void gpadl_fail(struct vmbus_server *srv, struct vmbus_gpadl *g,
		       const char *why)
{
	uint32_t relid = g->relid, handle = g->handle;

	srv->st.msgs_ignored++;
	srv_log(srv, VMBUS_LOG_WARN, "vmbus: GPADL %#x relid %u: %s", handle,
		relid, why);
	gpadl_free(srv, g);
	post_created(srv, relid, handle, VMBUS_STATUS_UNSUCCESSFUL);
}

/* All range bytes are in: parse, map, answer. */
static void gpadl_complete(struct vmbus_server *srv, struct vmbus_gpadl *g)
{
	uint32_t off = 0, n = 0, max = g->buflen / 8;
	void *view = NULL;
	int rc;

	g->pfns = malloc((size_t)max * sizeof(uint64_t));
	if (!g->pfns) {
		gpadl_fail(srv, g, "out of memory");
		return;
	}
	for (uint32_t r = 0; r < g->rangecount; r++) {
		uint32_t count, offset;
		uint64_t pages;

		if (g->buflen - off < RANGE_FIXED) {
			gpadl_fail(srv, g, "range header past range_buflen");
			return;
		}
		memcpy(&count, g->buf + off, 4);
		memcpy(&offset, g->buf + off + 4, 4);
		off += RANGE_FIXED;
		if (!count || offset >= VMBUS_PAGE) {
			gpadl_fail(srv, g, "empty range or offset beyond a page");
			return;
		}
		pages = ((uint64_t)offset + count + VMBUS_PAGE - 1) / VMBUS_PAGE;
		if (pages > (g->buflen - off) / 8) {
			gpadl_fail(srv, g, "range PFNs past range_buflen");
			return;
		}
		memcpy(g->pfns + n, g->buf + off, (size_t)pages * 8);
		off += (uint32_t)pages * 8;
		n += (uint32_t)pages;
		if (r == 0) {
			g->byte_offset = offset;
			g->byte_count = count;
		}
	}
	if (off != g->buflen) {
		gpadl_fail(srv, g, "range_buflen larger than its ranges");
		return;
	}
	g->npfn = n;
	rc = srv->ops.map_pages(srv->ops.opaque, g->pfns, n, &view);
	if (rc || !view) {
		gpadl_fail(srv, g, "a PFN lies outside guest memory");
		return;
	}
	g->view = view;
	free(g->buf);
	g->buf = NULL;
	g->state = VMBUS_GPADL_READY;
	srv_log(srv, VMBUS_LOG_DEBUG, "vmbus: GPADL %#x relid %u: %u pages",
		g->handle, g->relid, n);
	post_created(srv, g->relid, g->handle, 0);
}

/* Append range bytes; complete when range_buflen is reached. */
static void gpadl_append(struct vmbus_server *srv, struct vmbus_gpadl *g,
			 const uint8_t *bytes, uint32_t n)
{
	if (n % 8) {
		gpadl_fail(srv, g, "PFN bytes not a multiple of 8");
		return;
	}
	if (n > g->buflen - g->received) {
		gpadl_fail(srv, g, "more PFNs than range_buflen announced");
		return;
	}
	memcpy(g->buf + g->received, bytes, n);
	g->received += n;
	if (g->received == g->buflen)
		gpadl_complete(srv, g);
}

void gpadl_header(struct vmbus_server *srv, const uint8_t *msg, uint32_t len)
{
	struct hvis_chmsg_gpadl_header h;
	struct vmbus_gpadl *g;
	uint32_t relid, handle, buflen, pages;
	const char *why = NULL;

	memcpy(&h, msg, sizeof(h));
	relid = h.gh_child_relid;
	handle = h.gh_gpadl;
	buflen = h.gh_range_buflen;
	pages = buflen / 8;	/* an upper bound of its PFNs */

	if (!srv_relid_dev(srv, relid))
		why = "unknown relid";
	else if (gpadl_find(srv, handle))
		why = "duplicate handle";
	else if (!h.gh_rangecount || buflen % 8 ||
		 buflen < (uint32_t)h.gh_rangecount * (RANGE_FIXED + 8))
		why = "rangecount and range_buflen disagree";
	else if (srv->ngpadls >= srv->opt.max_gpadls)
		why = "too many GPADLs";
	else if (srv->gpadl_pages + pages > srv->opt.max_gpadl_pages)
		why = "too many GPADL pages";
	if (why) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN, "vmbus: GPADL_HEADER %#x relid %u: %s",
			handle, relid, why);
		post_created(srv, relid, handle, VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}

	g = calloc(1, sizeof(*g));
	if (g)
		g->buf = malloc(buflen);
	if (!g || !g->buf) {
		free(g);
		srv_log(srv, VMBUS_LOG_ERROR, "vmbus: GPADL %#x: out of memory",
			handle);
		post_created(srv, relid, handle, VMBUS_STATUS_UNSUCCESSFUL);
		return;
	}
	g->handle = handle;
	g->relid = relid;
	g->state = VMBUS_GPADL_PENDING;
	g->rangecount = h.gh_rangecount;
	g->buflen = buflen;
	g->reserved_pages = pages;
	g->next = srv->gpadls;
	srv->gpadls = g;
	srv->ngpadls++;
	srv->gpadl_pages += pages;
	gpadl_append(srv, g, msg + HEADER_FIXED, len - HEADER_FIXED);
}

void gpadl_body(struct vmbus_server *srv, const uint8_t *msg, uint32_t len)
{
	struct hvis_chmsg_gpadl_body b;
	struct vmbus_gpadl *g;

	memcpy(&b, msg, sizeof(b));
	g = gpadl_find(srv, b.gb_gpadl);
	if (!g || g->state != VMBUS_GPADL_PENDING) {
		/* No relid to answer to: ignore (Hyper-V and OpenVMM too). */
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: GPADL_BODY for %s GPADL %#x: ignored",
			g ? "a complete" : "an unknown", b.gb_gpadl);
		return;
	}
	if (len == BODY_FIXED) {
		gpadl_fail(srv, g, "GPADL_BODY without PFNs");
		return;
	}
	gpadl_append(srv, g, msg + BODY_FIXED, len - BODY_FIXED);
}

static void gpadl_torndown(struct vmbus_server *srv, struct vmbus_gpadl *g)
{
	struct hvis_chmsg_gpadl_torndown r;

	memset(&r, 0, sizeof(r));
	r.gd_hdr.ch_msgtype = HVIS_CHMSG_GPADL_TORNDOWN;
	r.gd_gpadl = g->handle;
	gpadl_free(srv, g);
	srv_post(srv, &r, sizeof(r));
}

void gpadl_teardown(struct vmbus_server *srv, const uint8_t *msg, uint32_t len)
{
	struct hvis_chmsg_gpadl_teardown t;
	struct vmbus_gpadl *g;
	const char *why = NULL;

	(void)len;
	memcpy(&t, msg, sizeof(t));
	g = gpadl_find(srv, t.gt_gpadl);
	if (!g || g->relid != t.gt_child_relid ||
	    !srv_relid_dev(srv, t.gt_child_relid))
		why = "unknown GPADL or another channel's";
	else if (g->state == VMBUS_GPADL_PENDING)
		why = "GPADL still incomplete";
	else if (g->state == VMBUS_GPADL_TEARDOWN)
		why = "teardown already asked";
	if (why) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: GPADL_TEARDOWN %#x relid %u: %s: ignored",
			t.gt_gpadl, t.gt_child_relid, why);
		return;
	}
	if (g->ring_use || g->dev_refs) {
		/* Torn down when the channel closes / the device lets go. */
		g->state = VMBUS_GPADL_TEARDOWN;
		srv_log(srv, VMBUS_LOG_DEBUG,
			"vmbus: GPADL %#x in use: teardown deferred", g->handle);
		return;
	}
	gpadl_torndown(srv, g);
}

/* A user let go of @g: finish a deferred teardown. */
void gpadl_unuse(struct vmbus_server *srv, struct vmbus_gpadl *g)
{
	if (g->state != VMBUS_GPADL_TEARDOWN || g->ring_use || g->dev_refs ||
	    srv->resetting)
		return;
	gpadl_torndown(srv, g);
}

void gpadl_drop_borrows(struct vmbus_server *srv, uint32_t relid)
{
	struct vmbus_gpadl *g = srv->gpadls, *next;

	for (; g; g = next) {
		next = g->next;
		if (g->relid == relid && g->dev_refs) {
			g->dev_refs = 0;
			gpadl_unuse(srv, g);
		}
	}
}

/* The channel is gone (released, unloaded): drop its GPADLs silently. */
void gpadl_free_relid(struct vmbus_server *srv, uint32_t relid)
{
	struct vmbus_gpadl *g = srv->gpadls, *next;

	for (; g; g = next) {
		next = g->next;
		if (g->relid == relid)
			gpadl_free(srv, g);
	}
}

void gpadl_free_all(struct vmbus_server *srv)
{
	while (srv->gpadls)
		gpadl_free(srv, srv->gpadls);
}
