// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis_vmbus: channels for class drivers (the API of hvis_vmbus.h).
 *
 * A channel's two rings live in one zeroed, physically contiguous buffer:
 * the ring we write first, the ring we read at the downstream page offset,
 * each a control page and a data area. The host learns the buffer's pages
 * from one GPADL (GPADL_HEADER, GPADL_BODY..., answered by GPADL_CREATED);
 * OPENCHANNEL names the GPADL and the VP whose event flags the host sets.
 *
 * Events (VMBus 2.4 and later): the host sets the flag numbered by the
 * relid in the VMBus SINT's event flags of the target VP and raises the
 * SINT. The interrupt takes the flags, looks each relid up in an RCU
 * table of open channels and queues the channel's event work. We signal
 * the host with HvSignalEvent (a fast hypercall) on the offer's
 * connection id, when lib/ring.c says the host needs it.
 *
 * Both rings are read and written through lib/ring.c, which checks every
 * index and packet the host wrote. Its first corruption status is sticky:
 * the channel is broken, logged once, and CLOSECHANNEL goes to the host;
 * every later call returns -EIO until the owner closes the channel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/mshyperv.h>

#include "vmbus_priv.h"

/* A ring is a control page and at least one data page. */
#define HVIS_CHAN_RING_MIN	(2 * PAGE_SIZE)
/* GPADL range_buflen is 16 bits: one range of at most 8190 pages. */
#define HVIS_GPADL_MAX_PAGES \
	((U16_MAX - sizeof(struct hvis_gpa_range)) / sizeof(u64))

/* ------------------------------------------------------------ requests */

static struct hvis_vmbus_req *hvis_vmbus_req_add(u32 answer, u32 key,
						 u32 relid)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_vmbus_req *req;

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return NULL;
	req->answer = answer;
	req->key = key;
	req->relid = relid;
	init_completion(&req->done);
	spin_lock(&c->lock);
	list_add_tail(&req->node, &c->reqs);
	spin_unlock(&c->lock);
	return req;
}

/* Wait for the answer; the request is gone afterwards either way. */
static int hvis_vmbus_req_wait(struct hvis_vmbus_req *req, void *answer,
			       size_t len)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	unsigned long left;

	left = wait_for_completion_timeout(&req->done,
			msecs_to_jiffies(HVIS_VMBUS_REPLY_TIMEOUT_MS));
	spin_lock(&c->lock);
	if (!list_empty(&req->node))
		list_del_init(&req->node);
	spin_unlock(&c->lock);
	if (!left && !completion_done(&req->done)) {
		kfree(req);
		return -ETIMEDOUT;
	}
	memcpy(answer, req->msg, min(len, sizeof(req->msg)));
	kfree(req);
	return 0;
}

static void hvis_vmbus_req_drop(struct hvis_vmbus_req *req)
{
	spin_lock(&hvis_vmbus.lock);
	list_del(&req->node);
	spin_unlock(&hvis_vmbus.lock);
	kfree(req);
}

/*
 * An answer from the host (message worker): the waiting request of that
 * type and key takes it. False if nobody asked (or for another relid).
 */
bool hvis_vmbus_answer(u32 type, u32 key, u32 relid, const void *msg,
		       u32 len)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_vmbus_req *req;
	bool found = false;

	spin_lock(&c->lock);
	list_for_each_entry(req, &c->reqs, node) {
		if (req->answer != type || req->key != key)
			continue;
		if (relid != U32_MAX && req->relid != relid)
			break;
		memcpy(req->msg, msg, min_t(u32, len, sizeof(req->msg)));
		list_del_init(&req->node);
		complete(&req->done);
		found = true;
		break;
	}
	spin_unlock(&c->lock);
	return found;
}

void hvis_vmbus_on_open_result(const void *msg, u32 len)
{
	const struct hvis_chmsg_open_result *r = msg;

	if (!hvis_vmbus_answer(HVIS_CHMSG_OPENCHANNEL_RESULT, r->or_child_relid,
			       U32_MAX, msg, len))
		hvis_vmbus_bad(HVIS_BAD_UNEXPECTED,
			       HVIS_CHMSG_OPENCHANNEL_RESULT,
			       "relid %u: no OPENCHANNEL is waiting",
			       r->or_child_relid);
}

void hvis_vmbus_on_gpadl_created(const void *msg, u32 len)
{
	const struct hvis_chmsg_gpadl_created *r = msg;

	if (!hvis_vmbus_answer(HVIS_CHMSG_GPADL_CREATED, r->gc_gpadl,
			       r->gc_child_relid, msg, len))
		hvis_vmbus_bad(HVIS_BAD_UNEXPECTED, HVIS_CHMSG_GPADL_CREATED,
			       "GPADL %#x (relid %u): none is waiting",
			       r->gc_gpadl, r->gc_child_relid);
}

void hvis_vmbus_on_gpadl_torndown(const void *msg, u32 len)
{
	const struct hvis_chmsg_gpadl_torndown *r = msg;

	if (!hvis_vmbus_answer(HVIS_CHMSG_GPADL_TORNDOWN, r->gd_gpadl, U32_MAX,
			       msg, len))
		hvis_vmbus_bad(HVIS_BAD_UNEXPECTED, HVIS_CHMSG_GPADL_TORNDOWN,
			       "GPADL %#x: no teardown is waiting",
			       r->gd_gpadl);
}

/* ------------------------------------------------------------ GPADLs */

/* PFN lists start at odd offsets in the packed messages. */
static void hvis_put_pfn(u8 *at, u64 pfn)
{
	memcpy(at, &pfn, sizeof(pfn));
}

static u64 hvis_pfn(void *buf, u32 page)
{
	return virt_to_phys((u8 *)buf + (size_t)page * PAGE_SIZE) >> PAGE_SHIFT;
}

int hvis_gpadl_create(struct hvis_vmbus_channel *ch, void *buf, u32 size,
		      u32 *handle)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_chmsg_gpadl_created created;
	struct hvis_chmsg_gpadl_header *gh;
	struct hvis_chmsg_gpadl_body *gb;
	struct hvis_gpa_range *range;
	struct hvis_vmbus_req *req;
	u8 msg[HVIS_MESSAGE_PAYLOAD_MAX];
	u32 pages = size >> PAGE_SHIFT;
	u32 i, n, done, gpadl;
	int ret;

	BUILD_BUG_ON(PAGE_SIZE != HVIS_PAGE_SIZE);
	if (!buf || !size || !PAGE_ALIGNED(buf) || !PAGE_ALIGNED(size) ||
	    pages > HVIS_GPADL_MAX_PAGES || is_vmalloc_addr(buf))
		return -EINVAL;
	if (READ_ONCE(c->state) != HVIS_VMBUS_CONNECTED)
		return -ENOTCONN;

	spin_lock(&c->lock);
	gpadl = ++c->next_gpadl;
	if (!gpadl)
		gpadl = ++c->next_gpadl;
	spin_unlock(&c->lock);
	req = hvis_vmbus_req_add(HVIS_CHMSG_GPADL_CREATED, gpadl, ch->relid);
	if (!req)
		return -ENOMEM;

	/* The header: one range over the whole buffer, its first PFNs. */
	memset(msg, 0, sizeof(msg));
	gh = (void *)msg;
	gh->gh_hdr.ch_msgtype = HVIS_CHMSG_GPADL_HEADER;
	gh->gh_child_relid = ch->relid;
	gh->gh_gpadl = gpadl;
	gh->gh_range_buflen = sizeof(*range) + pages * sizeof(u64);
	gh->gh_rangecount = 1;
	range = (void *)(msg + sizeof(*gh));
	range->gr_byte_count = size;
	range->gr_byte_offset = 0;
	n = min_t(u32, pages, HVIS_GPADL_HEADER_MAX_PFNS);
	for (i = 0; i < n; i++)
		hvis_put_pfn(msg + sizeof(*gh) + sizeof(*range) + i * 8,
			     hvis_pfn(buf, i));
	ret = hvis_vmbus_post(msg, sizeof(*gh) + sizeof(*range) +
			      n * sizeof(u64));
	/* The rest in bodies, in order. */
	for (done = n; !ret && done < pages; done += n) {
		memset(msg, 0, sizeof(msg));
		gb = (void *)msg;
		gb->gb_hdr.ch_msgtype = HVIS_CHMSG_GPADL_BODY;
		gb->gb_gpadl = gpadl;
		n = min_t(u32, pages - done, HVIS_GPADL_BODY_MAX_PFNS);
		for (i = 0; i < n; i++)
			hvis_put_pfn(msg + sizeof(*gb) + i * 8,
				     hvis_pfn(buf, done + i));
		ret = hvis_vmbus_post(msg, sizeof(*gb) + n * sizeof(u64));
	}
	if (ret) {
		hvis_vmbus_req_drop(req);
		return ret;
	}
	ret = hvis_vmbus_req_wait(req, &created, sizeof(created));
	if (ret) {
		pr_err("relid %u: no GPADL_CREATED for GPADL %#x within %u ms\n",
		       ch->relid, gpadl, HVIS_VMBUS_REPLY_TIMEOUT_MS);
		return ret;
	}
	if (created.gc_creation_status) {
		pr_err("relid %u: the host refused GPADL %#x (status %#x)\n",
		       ch->relid, gpadl, created.gc_creation_status);
		return -EIO;
	}
	*handle = gpadl;
	return 0;
}
EXPORT_SYMBOL_GPL(hvis_gpadl_create);

/*
 * Ask the host to forget a GPADL and wait until it has. Until it
 * answers, the host may still use the pages: on an error the caller must
 * not free them.
 */
int hvis_gpadl_teardown(struct hvis_vmbus_channel *ch, u32 handle)
{
	struct hvis_chmsg_gpadl_teardown m;
	struct hvis_chmsg_gpadl_torndown r;
	struct hvis_vmbus_req *req;
	int ret;

	if (READ_ONCE(hvis_vmbus.state) != HVIS_VMBUS_CONNECTED &&
	    READ_ONCE(hvis_vmbus.state) != HVIS_VMBUS_UNLOADING)
		return -ENOTCONN;
	req = hvis_vmbus_req_add(HVIS_CHMSG_GPADL_TORNDOWN, handle, U32_MAX);
	if (!req)
		return -ENOMEM;
	memset(&m, 0, sizeof(m));
	m.gt_hdr.ch_msgtype = HVIS_CHMSG_GPADL_TEARDOWN;
	m.gt_child_relid = ch->relid;
	m.gt_gpadl = handle;
	ret = hvis_vmbus_post(&m, sizeof(m));
	if (ret) {
		hvis_vmbus_req_drop(req);
		return ret;
	}
	ret = hvis_vmbus_req_wait(req, &r, sizeof(r));
	if (ret)
		pr_err("relid %u: no GPADL_TORNDOWN for GPADL %#x within %u ms\n",
		       ch->relid, handle, HVIS_VMBUS_REPLY_TIMEOUT_MS);
	return ret;
}
EXPORT_SYMBOL_GPL(hvis_gpadl_teardown);

/* ------------------------------------------------------------ signals */

static void hvis_chan_signal(struct hvis_vmbus_channel *ch)
{
	u64 status;

	ch->signals++;
	status = hv_do_fast_hypercall8(HVIS_HCALL_SIGNAL_EVENT,
				       ch->offer.of_connection_id) &
		 HVIS_HC_STATUS_MASK;
	if (status)
		pr_warn_once("relid %u: HvSignalEvent failed: status %#llx\n",
			     ch->relid, status);
}

/* A ring error from the host: sticky; logged once, channel closed. */
static int hvis_chan_broken(struct hvis_vmbus_channel *ch, const char *ring,
			    int status)
{
	if (!atomic_xchg(&ch->broken, 1)) {
		pr_err("relid %u: %s ring: %s; closing the channel\n",
		       ch->relid, ring, hvis_ring_strerror(status));
		schedule_work(&ch->broken_work);
	}
	return -EIO;
}

static void hvis_chan_broken_work(struct work_struct *work)
{
	struct hvis_vmbus_channel *ch =
		container_of(work, struct hvis_vmbus_channel, broken_work);
	struct hvis_chmsg_relid m;

	mutex_lock(&ch->open_lock);
	if (ch->open && !ch->close_sent) {
		memset(&m, 0, sizeof(m));
		m.rl_hdr.ch_msgtype = HVIS_CHMSG_CLOSECHANNEL;
		m.rl_child_relid = ch->relid;
		if (!hvis_vmbus_post(&m, sizeof(m)))
			ch->close_sent = true;
	}
	mutex_unlock(&ch->open_lock);
}

/* Our ring status (negative lib/ring.c status) as an errno. */
static int hvis_chan_errno(struct hvis_vmbus_channel *ch, const char *ring,
			   int ret)
{
	switch (-ret) {
	case HVIS_RING_OK:
		return 0;
	case HVIS_RING_EMPTY:
	case HVIS_RING_FULL:
		return -EAGAIN;
	case HVIS_RING_TOOBIG:
	case HVIS_RING_SHORT:
		return -EMSGSIZE;
	case HVIS_RING_INVAL:
		return -EINVAL;
	default:
		return hvis_chan_broken(ch, ring, -ret);
	}
}

/* ------------------------------------------------------------ events */

static void hvis_chan_event_work(struct work_struct *work)
{
	struct hvis_vmbus_channel *ch =
		container_of(work, struct hvis_vmbus_channel, event_work);

	if (!atomic_read(&ch->broken) && ch->on_event)
		ch->on_event(ch, ch->event_ctx);
}

/* From the interrupt: this CPU's VMBus event flags, one per relid. */
void hvis_vmbus_on_events(struct hvis_vmbus_synic *sc)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	unsigned long *flags, bits;
	struct hvis_vmbus_channel *ch;
	unsigned int i, b;

	if (!c->open_chans)
		return;
	flags = (unsigned long *)sc->event_page->ef_sint[HVIS_VMBUS_MESSAGE_SINT];
	for (i = 0; i < HVIS_VMBUS_MAX_RELIDS / BITS_PER_LONG; i++) {
		if (!READ_ONCE(flags[i]))
			continue;
		bits = xchg(&flags[i], 0);
		for_each_set_bit(b, &bits, BITS_PER_LONG) {
			rcu_read_lock();
			ch = rcu_dereference(c->open_chans[i * BITS_PER_LONG + b]);
			if (ch) {
				ch->events++;
				queue_work(c->event_wq, &ch->event_work);
			}
			rcu_read_unlock();
		}
	}
}

/* ------------------------------------------------------------ open/close */

void hvis_vmbus_chan_setup(struct hvis_vmbus_channel *ch)
{
	mutex_init(&ch->open_lock);
	spin_lock_init(&ch->out_lock);
	spin_lock_init(&ch->in_lock);
	INIT_WORK(&ch->event_work, hvis_chan_event_work);
	INIT_WORK(&ch->broken_work, hvis_chan_broken_work);
}

/* The host is done with the ring buffer: free it, else leave it. */
static void hvis_chan_free_rings(struct hvis_vmbus_channel *ch)
{
	if (hvis_gpadl_teardown(ch, ch->ring_gpadl))
		pr_warn("relid %u: ring buffer (%zu bytes) left to the host\n",
			ch->relid, ch->ring_bytes);
	else
		free_pages_exact(ch->ring_buf, ch->ring_bytes);
	ch->ring_buf = NULL;
}

int hvis_chan_open(struct hvis_vmbus_channel *ch, u32 out_ring_bytes,
		   u32 in_ring_bytes, hvis_chan_event_fn fn, void *ctx)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_chmsg_open_result res;
	struct hvis_vmbus_req *req;
	struct hvis_chmsg_open m;
	size_t bytes = (size_t)out_ring_bytes + in_ring_bytes;
	u8 *buf;
	int ret;

	if (!fn || !PAGE_ALIGNED(out_ring_bytes) ||
	    !PAGE_ALIGNED(in_ring_bytes) ||
	    out_ring_bytes < HVIS_CHAN_RING_MIN ||
	    in_ring_bytes < HVIS_CHAN_RING_MIN ||
	    bytes - PAGE_SIZE > HVIS_RING_MAX_SIZE ||
	    (bytes >> PAGE_SHIFT) > HVIS_GPADL_MAX_PAGES)
		return -EINVAL;

	mutex_lock(&ch->open_lock);
	ret = -EBUSY;
	if (ch->open)
		goto out;
	ret = -ENODEV;
	if (READ_ONCE(ch->state) != HVIS_CHAN_OFFERED)
		goto out;
	ret = -ENOMEM;
	buf = alloc_pages_exact(bytes, GFP_KERNEL | __GFP_ZERO);
	if (!buf)
		goto out;
	hvis_ring_header_init((void *)buf);
	hvis_ring_header_init((void *)(buf + out_ring_bytes));
	if (hvis_ring_attach(&ch->out, (void *)buf, buf + PAGE_SIZE,
			     out_ring_bytes - PAGE_SIZE, HVIS_RING_WRITER) ||
	    hvis_ring_attach(&ch->in, (void *)(buf + out_ring_bytes),
			     buf + out_ring_bytes + PAGE_SIZE,
			     in_ring_bytes - PAGE_SIZE, HVIS_RING_READER)) {
		free_pages_exact(buf, bytes);
		ret = -EINVAL;
		goto out;
	}
	ret = hvis_gpadl_create(ch, buf, bytes, &ch->ring_gpadl);
	if (ret) {
		/* after a timeout the host may still map it: leave it */
		if (ret != -ETIMEDOUT)
			free_pages_exact(buf, bytes);
		goto out;
	}
	ch->ring_buf = buf;
	ch->ring_bytes = bytes;
	ch->on_event = fn;
	ch->event_ctx = ctx;
	ch->close_sent = false;
	atomic_set(&ch->broken, 0);
	rcu_assign_pointer(c->open_chans[ch->relid], ch);
	/*
	 * Sending is allowed from here on: the host may write to us (e.g.
	 * an IC's NEGOTIATE) before its OPENCHANNEL_RESULT has reached us,
	 * and the answer must not be refused.
	 */
	WRITE_ONCE(ch->open, true);

	ret = -ENOMEM;
	req = hvis_vmbus_req_add(HVIS_CHMSG_OPENCHANNEL_RESULT, ch->relid,
				 ch->relid);
	if (!req)
		goto err_rings;
	memset(&m, 0, sizeof(m));
	m.op_hdr.ch_msgtype = HVIS_CHMSG_OPENCHANNEL;
	m.op_child_relid = ch->relid;
	m.op_openid = ch->relid;
	m.op_ring_gpadl = ch->ring_gpadl;
	m.op_target_vp = hv_cpu_number_to_vp_number(c->msg_cpu);
	m.op_downstream_page_offset = out_ring_bytes >> PAGE_SHIFT;
	ret = hvis_vmbus_post(&m, sizeof(m));
	if (ret) {
		hvis_vmbus_req_drop(req);
		goto err_rings;
	}
	ret = hvis_vmbus_req_wait(req, &res, sizeof(res));
	if (ret) {
		pr_err("relid %u: no OPENCHANNEL_RESULT within %u ms\n",
		       ch->relid, HVIS_VMBUS_REPLY_TIMEOUT_MS);
		goto err_rings;
	}
	if (res.or_status || res.or_openid != ch->relid) {
		pr_err("relid %u: the host refused to open the channel (status %#x, open id %u)\n",
		       ch->relid, res.or_status, res.or_openid);
		ret = -EIO;
		goto err_rings;
	}
	mutex_unlock(&ch->open_lock);
	pr_debug("relid %u open: rings %u + %u bytes, GPADL %#x\n", ch->relid,
		 out_ring_bytes, in_ring_bytes, ch->ring_gpadl);
	return 0;

err_rings:
	WRITE_ONCE(ch->open, false);
	RCU_INIT_POINTER(c->open_chans[ch->relid], NULL);
	synchronize_rcu();
	cancel_work_sync(&ch->event_work);
	hvis_chan_free_rings(ch);
out:
	mutex_unlock(&ch->open_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(hvis_chan_open);

/* Not from the channel's own event function (it waits for it). */
void hvis_chan_close(struct hvis_vmbus_channel *ch)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_chmsg_relid m;
	int ret;

	cancel_work_sync(&ch->broken_work);
	mutex_lock(&ch->open_lock);
	if (!ch->open) {
		mutex_unlock(&ch->open_lock);
		return;
	}
	WRITE_ONCE(ch->open, false);
	if (!ch->close_sent) {
		memset(&m, 0, sizeof(m));
		m.rl_hdr.ch_msgtype = HVIS_CHMSG_CLOSECHANNEL;
		m.rl_child_relid = ch->relid;
		ret = hvis_vmbus_post(&m, sizeof(m));
		if (ret)
			pr_warn("relid %u: CLOSECHANNEL not sent (%d)\n",
				ch->relid, ret);
		ch->close_sent = true;
	}
	RCU_INIT_POINTER(c->open_chans[ch->relid], NULL);
	synchronize_rcu();
	cancel_work_sync(&ch->event_work);
	hvis_chan_free_rings(ch);
	ch->on_event = NULL;
	mutex_unlock(&ch->open_lock);
	pr_debug("relid %u closed\n", ch->relid);
}
EXPORT_SYMBOL_GPL(hvis_chan_close);

/* ------------------------------------------------------------ packets */

static int hvis_chan_write(struct hvis_vmbus_channel *ch,
			   const struct hvis_pkt_desc *desc, u32 hdr_len,
			   const struct hvis_iov *iov, unsigned int iovcnt,
			   u32 total)
{
	unsigned long flags;
	bool signal = false;
	int ret;

	if (!READ_ONCE(ch->open))
		return -ENOTCONN;
	if (atomic_read(&ch->broken))
		return -EIO;
	spin_lock_irqsave(&ch->out_lock, flags);
	ret = hvis_ring_send(&ch->out, desc, hdr_len, iov, iovcnt, &signal);
	if (ret == -HVIS_RING_FULL) {
		/* the host signals once there is room; or there is now */
		ret = hvis_ring_request_space(&ch->out,
					      sizeof(*desc) + total);
		if (ret == 1)
			ret = hvis_ring_send(&ch->out, desc, hdr_len, iov,
					     iovcnt, &signal);
		else if (!ret)
			ret = -HVIS_RING_FULL;
	}
	spin_unlock_irqrestore(&ch->out_lock, flags);
	if (signal)
		hvis_chan_signal(ch);
	return hvis_chan_errno(ch, "outbound", ret);
}

int hvis_chan_send_type(struct hvis_vmbus_channel *ch, u16 type,
			const void *buf, u32 len, u64 trans_id, u16 flags)
{
	struct hvis_pkt_desc desc = {
		.pd_type = type,
		.pd_flags = flags,
		.pd_trans_id = trans_id,
	};
	struct hvis_iov iov = { .base = buf, .len = len };

	if (type != HVIS_PKT_DATA_INBAND && type != HVIS_PKT_COMPLETION)
		return -EINVAL;
	return hvis_chan_write(ch, &desc, 0, &iov, 1, len);
}
EXPORT_SYMBOL_GPL(hvis_chan_send_type);

int hvis_chan_send(struct hvis_vmbus_channel *ch, const void *buf, u32 len,
		   u64 trans_id, u16 flags)
{
	return hvis_chan_send_type(ch, HVIS_PKT_DATA_INBAND, buf, len,
				   trans_id, flags);
}
EXPORT_SYMBOL_GPL(hvis_chan_send);

int hvis_chan_send_gpa(struct hvis_vmbus_channel *ch,
		       const struct hvis_gpa_range *range, u32 range_bytes,
		       const void *buf, u32 len, u64 trans_id)
{
	struct hvis_pkt_desc desc = {
		.pd_type = HVIS_PKT_DATA_USING_GPA_DIRECT,
		.pd_flags = HVIS_PKT_FLAG_COMPLETION_REQUESTED,
		.pd_trans_id = trans_id,
	};
	/* after the descriptor: reserved, range count, the range */
	struct { u32 reserved; u32 count; } head = { 0, 1 };
	struct hvis_iov iov[3] = {
		{ .base = &head, .len = sizeof(head) },
		{ .base = range, .len = range_bytes },
		{ .base = buf, .len = len },
	};

	if (!range || range_bytes < sizeof(*range) + sizeof(u64) ||
	    range_bytes % 8)
		return -EINVAL;
	return hvis_chan_write(ch, &desc, sizeof(head) + range_bytes, iov, 3,
			       sizeof(head) + range_bytes + len);
}
EXPORT_SYMBOL_GPL(hvis_chan_send_gpa);

int hvis_chan_recv(struct hvis_vmbus_channel *ch, void *buf, u32 buflen,
		   u32 *len, struct hvis_pkt_desc *desc)
{
	struct hvis_ring_pkt pkt;
	unsigned long flags;
	bool signal = false;
	u32 payload;
	int ret;

	if (atomic_read(&ch->broken))
		return -EIO;
	spin_lock_irqsave(&ch->in_lock, flags);
	ret = hvis_ring_peek(&ch->in, &pkt);
	if (ret)
		goto out;
	payload = pkt.len - pkt.data_off;
	*len = payload;
	if (payload > buflen) {
		ret = -HVIS_RING_SHORT;
		goto out;
	}
	ret = hvis_ring_copy_out(&ch->in, &pkt, pkt.data_off, buf, payload);
	if (!ret)
		ret = hvis_ring_consume(&ch->in, &pkt);
	if (!ret)
		ret = hvis_ring_commit(&ch->in, &signal);
	if (!ret && desc)
		*desc = pkt.desc;
out:
	spin_unlock_irqrestore(&ch->in_lock, flags);
	if (signal)
		hvis_chan_signal(ch);
	return hvis_chan_errno(ch, "inbound", ret);
}
EXPORT_SYMBOL_GPL(hvis_chan_recv);

/* ------------------------------------------------------------ lifetime */

int hvis_vmbus_channel_init(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;

	INIT_LIST_HEAD(&c->reqs);
	c->open_chans = kcalloc(HVIS_VMBUS_MAX_RELIDS,
				sizeof(*c->open_chans), GFP_KERNEL);
	c->event_wq = alloc_workqueue("hvis_vmbus_event", WQ_HIGHPRI, 0);
	if (!c->open_chans || !c->event_wq) {
		hvis_vmbus_channel_exit();
		return -ENOMEM;
	}
	return 0;
}

void hvis_vmbus_channel_exit(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;

	if (c->event_wq)
		destroy_workqueue(c->event_wq);
	c->event_wq = NULL;
	kfree(c->open_chans);
	c->open_chans = NULL;
}
