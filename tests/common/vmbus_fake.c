// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake VMBus host shared by the unit tests and the fuzzers: see
 * vmbus_fake.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/common/vmbus_fake.h"

/*
 * One check. @harness: the fake itself cannot go on; without a check
 * function that aborts, otherwise a failure is counted and returned.
 */
static bool vf_ok(struct vf_host *h, bool ok, unsigned int line,
		  const char *expr, bool fatal, bool harness)
{
	if (h->check)
		h->check(ok, line, expr, __FILE__, fatal);
	if (ok)
		return true;
	h->failures++;
	if (!h->check && harness) {
		fprintf(stderr, "%s:%u: fake host: %s\n", __FILE__, line, expr);
		abort();
	}
	return false;
}

/* The fake host is broken (harness), or the server did not do what was
 * expected (fatal: the caller cannot go on).
 */
#define VF_ASSERT(h, c)		vf_ok((h), (c), __LINE__, #c, true, true)
#define VF_EXPECT(h, c)		vf_ok((h), (c), __LINE__, #c, false, false)
#define VF_EXPECT_FATAL(h, c)	vf_ok((h), (c), __LINE__, #c, true, false)

/* ---------------------------------------------------------------- host */

int vf_host_init(struct vf_host *h, size_t mem_bytes, vf_check_fn *check)
{
	memset(h, 0, sizeof(*h));
	h->check = check;
	h->memfd = -1;
	h->mem_pages = (uint32_t)(mem_bytes / VF_PG);
	h->next_pfn = VF_FIRST_PFN;
	h->memfd = memfd_create("hvis-fake-guest", 0);
	if (!VF_ASSERT(h, h->memfd >= 0))
		return -1;
	if (!VF_ASSERT(h, ftruncate(h->memfd, (off_t)mem_bytes) == 0))
		return -1;
	h->gmem = mmap(NULL, mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		       h->memfd, 0);
	if (!VF_ASSERT(h, h->gmem != MAP_FAILED)) {
		h->gmem = NULL;
		return -1;
	}
	return 0;
}

void vf_host_fini(struct vf_host *h)
{
	VF_EXPECT(h, h->maps == 0);	/* every view unmapped */
	if (h->gmem)
		munmap(h->gmem, (size_t)h->mem_pages * VF_PG);
	if (h->memfd >= 0)
		close(h->memfd);
	h->gmem = NULL;
	h->memfd = -1;
}

void vf_clear(struct vf_host *h)
{
	h->nmsgs = 0;
	h->nsig = 0;
}

static int vf_post(void *o, uint32_t vp, uint32_t sint, const void *m,
		   uint32_t len)
{
	struct vf_host *h = o;
	struct vf_msg *r;

	h->post_calls++;
	if (h->post_rc)
		return h->post_rc;
	if (!VF_ASSERT(h, h->nmsgs < VF_MAX_MSGS) ||
	    !VF_ASSERT(h, len >= 8 && len <= HVIS_MESSAGE_PAYLOAD_MAX))
		return -EINVAL;
	r = &h->msgs[h->nmsgs++];
	r->vp = vp;
	r->sint = sint;
	r->len = len;
	memcpy(&r->type, m, 4);
	memcpy(r->b, m, len);
	return 0;
}

static int vf_signal(void *o, uint32_t vp, uint32_t sint, uint32_t flag)
{
	struct vf_host *h = o;

	if (h->nsig < VF_MAX_SIGS) {
		h->sig_vp[h->nsig] = vp;
		h->sig_sint[h->nsig] = sint;
		h->sig_flag[h->nsig] = flag;
	}
	h->nsig++;
	return 0;
}

/* One contiguous view: a PROT_NONE reservation, each page mapped from the
 * memfd at its PFN, and one guard page left PROT_NONE.
 */
static int vf_map(void *o, const uint64_t *pfns, uint32_t n, void **view)
{
	struct vf_host *h = o;
	uint8_t *base;

	if (!n || n > h->mem_pages)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (pfns[i] >= h->mem_pages)
			return -EFAULT;
	base = mmap(NULL, (size_t)(n + 1) * VF_PG, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		if (mmap(base + (size_t)i * VF_PG, VF_PG,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 h->memfd, (off_t)(pfns[i] * VF_PG)) == MAP_FAILED) {
			munmap(base, (size_t)(n + 1) * VF_PG);
			return -ENOMEM;
		}
	}
	*view = base;
	h->maps++;
	return 0;
}

static void vf_unmap(void *o, void *view, uint32_t n)
{
	struct vf_host *h = o;

	munmap(view, (size_t)(n + 1) * VF_PG);
	h->maps--;
}

static void vf_port(void *o, uint32_t id, bool enable)
{
	struct vf_host *h = o;

	h->last_port = id;
	if (enable)
		h->ports_on++;
	else
		h->ports_off++;
}

void vf_log(void *o, enum vmbus_log_level lvl, const char *msg)
{
	struct vf_host *h = o;

	h->logs++;
	if (lvl >= VMBUS_LOG_WARN)
		h->warns++;
	if (h->on_log)
		h->on_log(h, lvl, msg);
	else if (getenv("HVIS_TEST_LOG"))
		fprintf(stderr, "[%d] %s\n", lvl, msg);
}

struct vmbus_server_ops vf_server_ops(struct vf_host *h)
{
	struct vmbus_server_ops ops = {
		.opaque = h,
		.post_message = vf_post,
		.signal_guest = vf_signal,
		.map_pages = vf_map,
		.unmap_pages = vf_unmap,
		.event_port = vf_port,
		.log = vf_log,
	};

	return ops;
}

void *vf_guest_page(void *o, uint64_t pfn)
{
	struct vf_host *h = o;

	return pfn < h->mem_pages ? vf_gp(h, pfn) : NULL;
}

uint32_t vf_palloc(struct vf_host *h, uint32_t n)
{
	uint32_t p = h->next_pfn;

	VF_ASSERT(h, p + n <= h->mem_pages);
	h->next_pfn += n;
	return p;
}

const struct vf_msg *vf_last_msg(const struct vf_host *h, uint32_t type,
				 unsigned int from)
{
	for (unsigned int i = h->nmsgs; i-- > from;)
		if (h->msgs[i].type == type)
			return &h->msgs[i];
	return NULL;
}

const struct vf_msg *vf_nth_msg(const struct vf_host *h, uint32_t type,
				unsigned int n)
{
	for (unsigned int i = 0; i < h->nmsgs; i++)
		if (h->msgs[i].type == type && !n--)
			return &h->msgs[i];
	return NULL;
}

unsigned int vf_count_msgs(const struct vf_host *h, uint32_t type)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < h->nmsgs; i++)
		n += h->msgs[i].type == type;
	return n;
}

bool vf_find_offer(const struct vf_host *h, const struct hvis_guid *class_guid,
		   uint16_t sub_index, unsigned int from,
		   struct hvis_chmsg_offer *o)
{
	struct hvis_chmsg_offer of;

	for (unsigned int i = h->nmsgs; i-- > from;) {
		if (h->msgs[i].type != HVIS_CHMSG_OFFERCHANNEL ||
		    h->msgs[i].len < sizeof(of))
			continue;
		memcpy(&of, h->msgs[i].b, sizeof(of));
		if ((!class_guid || !memcmp(&of.of_if_type, class_guid,
					    sizeof(*class_guid))) &&
		    of.of_sub_channel_index == sub_index) {
			*o = of;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------ guest messages */

uint16_t vf_send_msg(struct vmbus_server *s, uint32_t conn, const void *m,
		     size_t len)
{
	return vmbus_server_handle_message(s, 0, conn, m, len);
}

void vf_contact_msg(struct hvis_chmsg_initiate_contact *m, uint32_t ver,
		    uint32_t vcpu, uint8_t sint, uint64_t int_page)
{
	memset(m, 0, sizeof(*m));
	m->ic_hdr.ch_msgtype = HVIS_CHMSG_INITIATE_CONTACT;
	m->ic_version_requested = ver;
	m->ic_target_vcpu = vcpu;
	if (ver >= HVIS_VMBUS_VERSION_WIN10_RS4)
		m->ic_msg_sint = sint;
	else
		m->ic_interrupt_page = int_page;
}

int vf_connect(struct vf_host *h, struct vmbus_server *s, uint32_t ver)
{
	struct hvis_chmsg_initiate_contact ic;
	struct hvis_chmsg_hdr ro = { .ch_msgtype = HVIS_CHMSG_REQUESTOFFERS };
	bool ok;

	vf_contact_msg(&ic, ver, 0, HVIS_VMBUS_MESSAGE_SINT, VF_INT_PAGE);
	ok = VF_EXPECT(h, vf_send_msg(s, vf_contact_conn(ver), &ic,
				      sizeof(ic)) == HVIS_STATUS_SUCCESS);
	ok &= VF_EXPECT(h, vf_send_msg(s, HVIS_VMBUS_MESSAGE_CONNECTION_ID, &ro,
				       sizeof(ro)) == HVIS_STATUS_SUCCESS);
	return ok ? 0 : -1;
}

uint32_t vf_gpadl_header_msg(uint8_t *buf, uint32_t relid, uint32_t handle,
			     uint16_t rangecount, uint16_t buflen,
			     uint32_t byte_count, uint32_t byte_offset,
			     const uint64_t *pfns, uint32_t n)
{
	struct hvis_chmsg_gpadl_header gh;
	struct hvis_gpa_range r = { byte_count, byte_offset };

	memset(&gh, 0, sizeof(gh));
	gh.gh_hdr.ch_msgtype = HVIS_CHMSG_GPADL_HEADER;
	gh.gh_child_relid = relid;
	gh.gh_gpadl = handle;
	gh.gh_range_buflen = buflen;
	gh.gh_rangecount = rangecount;
	memcpy(buf, &gh, sizeof(gh));
	memcpy(buf + 20, &r, sizeof(r));
	memcpy(buf + 28, pfns, (size_t)n * 8);
	return 28 + n * 8;
}

uint32_t vf_gpadl_body_msg(uint8_t *buf, uint32_t handle,
			   const uint64_t *pfns, uint32_t n)
{
	struct hvis_chmsg_gpadl_body gb;

	memset(&gb, 0, sizeof(gb));
	gb.gb_hdr.ch_msgtype = HVIS_CHMSG_GPADL_BODY;
	gb.gb_gpadl = handle;		/* msgnumber 0, as Linux leaves it */
	memcpy(buf, &gb, sizeof(gb));
	memcpy(buf + 16, pfns, (size_t)n * 8);
	return 16 + n * 8;
}

unsigned int vf_gpadl_send(struct vf_host *h, struct vmbus_server *s,
			   uint32_t relid, uint32_t handle,
			   const uint64_t *pfns, uint32_t n)
{
	uint8_t buf[HVIS_MESSAGE_PAYLOAD_MAX];
	uint32_t first = n < HVIS_GPADL_HEADER_MAX_PFNS ? n :
			 (uint32_t)HVIS_GPADL_HEADER_MAX_PFNS;
	uint32_t len, done = first;
	unsigned int bodies = 0;

	len = vf_gpadl_header_msg(buf, relid, handle, 1, (uint16_t)(8 + n * 8),
				  n * VF_PG, 0, pfns, first);
	VF_EXPECT(h, vf_send_msg(s, 1, buf, len) == HVIS_STATUS_SUCCESS);
	while (done < n) {
		uint32_t k = n - done;

		if (k > HVIS_GPADL_BODY_MAX_PFNS)
			k = HVIS_GPADL_BODY_MAX_PFNS;
		len = vf_gpadl_body_msg(buf, handle, pfns + done, k);
		VF_EXPECT(h, vf_send_msg(s, 1, buf, len) ==
			     HVIS_STATUS_SUCCESS);
		done += k;
		bodies++;
	}
	return bodies;
}

int vf_gpadl(struct vf_host *h, struct vmbus_server *s, uint32_t relid,
	     uint32_t handle, uint32_t pfn0, uint32_t n)
{
	uint64_t *pfns = malloc((size_t)(n ? n : 1) * 8);
	unsigned int from = h->nmsgs;
	const struct vf_msg *m;
	struct hvis_chmsg_gpadl_created gc;
	bool ok;

	if (!VF_ASSERT(h, pfns != NULL))
		return -1;
	for (uint32_t i = 0; i < n; i++)
		pfns[i] = pfn0 + i;
	vf_gpadl_send(h, s, relid, handle, pfns, n);
	free(pfns);
	m = vf_last_msg(h, HVIS_CHMSG_GPADL_CREATED, from);
	if (!VF_EXPECT_FATAL(h, m != NULL))
		return -1;
	memcpy(&gc, m->b, sizeof(gc));
	ok = VF_EXPECT(h, gc.gc_gpadl == handle);
	ok &= VF_EXPECT(h, gc.gc_creation_status == 0);
	return ok ? 0 : -1;
}

void vf_open_msg(struct hvis_chmsg_open *m, uint32_t relid, uint32_t gpadl,
		 uint32_t target_vp, uint32_t down_offset)
{
	memset(m, 0, sizeof(*m));
	m->op_hdr.ch_msgtype = HVIS_CHMSG_OPENCHANNEL;
	m->op_child_relid = relid;
	m->op_openid = relid;
	m->op_ring_gpadl = gpadl;
	m->op_target_vp = target_vp;
	m->op_downstream_page_offset = down_offset;
}

/* ------------------------------------------------------------ channels */

int vf_open_channel_at(struct vf_host *h, struct vmbus_server *s,
		       uint32_t relid, uint32_t up, uint32_t down,
		       uint32_t ring_pfn, uint32_t gpadl, struct vf_chan *c)
{
	struct hvis_chmsg_open om;
	struct hvis_chmsg_open_result res;
	const struct vf_msg *m;
	unsigned int from;
	uint8_t *ring;
	bool ok;

	memset(c, 0, sizeof(*c));
	c->relid = relid;
	c->connid = VMBUS_SERVER_CONNID_BASE + relid;
	c->gpadl = gpadl ? gpadl : 0xE000 + relid;
	c->up = up;
	c->down = down;
	c->ring_pfn = ring_pfn != VF_ALLOC ? ring_pfn : vf_palloc(h, up + down);
	if (!VF_ASSERT(h, c->ring_pfn + up + down <= h->mem_pages))
		return -1;
	ring = vf_gp(h, c->ring_pfn);
	memset(ring, 0, (size_t)(up + down) * VF_PG);
	if (!VF_ASSERT(h, hvis_ring_attach(&c->gw, (void *)ring, ring + VF_PG,
					   (up - 1) * VF_PG,
					   HVIS_RING_WRITER) == 0) ||
	    !VF_ASSERT(h, hvis_ring_attach(&c->gr,
					   (void *)(ring + (size_t)up * VF_PG),
					   ring + (size_t)(up + 1) * VF_PG,
					   (down - 1) * VF_PG,
					   HVIS_RING_READER) == 0))
		return -1;
	/* OPENCHANNEL goes out whatever became of the GPADL (a fuzzer's
	 * guest does not wait either)
	 */
	ok = vf_gpadl(h, s, relid, c->gpadl, c->ring_pfn, up + down) == 0;
	vf_open_msg(&om, relid, c->gpadl, 0, up);
	from = h->nmsgs;
	VF_EXPECT(h, vf_send_msg(s, 1, &om, sizeof(om)) == HVIS_STATUS_SUCCESS);
	m = vf_last_msg(h, HVIS_CHMSG_OPENCHANNEL_RESULT, from);
	if (!VF_EXPECT_FATAL(h, m != NULL))
		return -1;
	memcpy(&res, m->b, sizeof(res));
	ok &= VF_EXPECT(h, res.or_child_relid == relid);
	if (!VF_EXPECT_FATAL(h, res.or_status == 0))
		return -1;
	c->open = true;
	return ok ? 0 : -1;
}

void vf_close_channel(struct vf_host *h, struct vmbus_server *s,
		      struct vf_chan *c)
{
	struct hvis_chmsg_relid m = {
		.rl_hdr.ch_msgtype = HVIS_CHMSG_CLOSECHANNEL,
		.rl_child_relid = c->relid,
	};
	struct hvis_chmsg_gpadl_teardown t = {
		.gt_hdr.ch_msgtype = HVIS_CHMSG_GPADL_TEARDOWN,
		.gt_child_relid = c->relid, .gt_gpadl = c->gpadl,
	};

	VF_EXPECT(h, vf_send_msg(s, 1, &m, sizeof(m)) == HVIS_STATUS_SUCCESS);
	VF_EXPECT(h, vf_send_msg(s, 1, &t, sizeof(t)) == HVIS_STATUS_SUCCESS);
	c->open = false;
}

int vf_guest_send(struct vf_host *h, struct vmbus_server *s,
		  struct vf_chan *c, uint16_t type, uint16_t flags,
		  uint64_t trans_id, const void *hdr, uint32_t hdr_len,
		  const void *p, uint32_t len, unsigned int how)
{
	struct hvis_pkt_desc d = {
		.pd_type = type, .pd_flags = flags, .pd_trans_id = trans_id,
	};
	struct hvis_iov iov[2];
	unsigned int n = 0;
	bool sig = false;
	int rc;

	if (hdr_len)
		iov[n++] = (struct hvis_iov){ hdr, hdr_len };
	iov[n++] = (struct hvis_iov){ p, len };
	rc = hvis_ring_send(&c->gw, &d, hdr_len, iov, n, &sig);
	if (!rc && (sig || (how & VF_SIGNAL_ALWAYS)))
		VF_EXPECT(h, vmbus_server_signal(s, c->connid) ==
			     HVIS_STATUS_SUCCESS);
	return rc;
}

int vf_guest_read(struct vf_chan *c, void *p, uint32_t max,
		  struct hvis_pkt_desc *desc)
{
	static uint8_t buf[1u << 18];
	uint32_t len = sizeof(buf), plen;
	struct hvis_ring_pkt pkt;
	int rc = hvis_ring_read(&c->gr, buf, &len, &pkt);

	if (rc)
		return rc < 0 ? rc : -rc;
	plen = len - pkt.data_off;
	if (p)
		memcpy(p, buf + pkt.data_off, plen < max ? plen : max);
	if (desc)
		*desc = pkt.desc;
	return (int)plen;
}

int vf_guest_commit(struct vmbus_server *s, struct vf_chan *c)
{
	bool sig = false;
	int rc = hvis_ring_commit(&c->gr, &sig);

	if (rc)
		return rc < 0 ? rc : -rc;
	if (!sig)
		return 0;
	vmbus_server_signal(s, c->connid);
	return 1;
}
