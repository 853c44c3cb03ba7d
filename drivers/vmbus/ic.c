// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis_vmbus: the integration components (heartbeat, shutdown, time
 * sync, KVP, VSS), a driver on our own bus through the class-driver API.
 *
 * Every IC message is one in-band packet: pipe header, IC header, body.
 * The kernel answers two kinds itself:
 *
 *   NEGOTIATE  the IC framework's version choice (the newest framework
 *              and message version both sides know), at once for
 *              heartbeat, shutdown and time sync; for KVP and VSS only
 *              once /dev/hvis/kvp or /dev/hvis/vss is open, so the host
 *              sees them ready only when a daemon is there to answer
 *              (as hv_utils waits for hv_kvp_daemon and hv_vss_daemon);
 *   HEARTBEAT  sequence number + 1, so the host sees the guest alive
 *              whether or not any daemon runs.
 *
 * Everything else goes to userspace through /dev/hvis/<service>: read()
 * returns one message as it came (pipe header + IC header + body, padded
 * to 8 bytes), write() sends one answer, in-band, with the transaction id
 * of the last message read. One process at a time may have it open. At
 * most 16 messages wait for it; beyond that the oldest is dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <hvis/ic.h>

#include "vmbus_priv.h"

/* Three data pages per direction, as Linux's hv_utils opens them. */
#define HVIS_IC_RING_BYTES	(4 * PAGE_SIZE)
/* Messages waiting for the daemon; the host has one outstanding per IC. */
#define HVIS_IC_QUEUE_MAX	16

struct hvis_ic_service {
	const char *name;
	struct hvis_guid class_id;
	bool negotiate_when_open;	/* KVP, VSS: a daemon must be there */
	const struct hvis_ic_version *versions;	/* newest first, 0.0 ends */
};

static const struct hvis_ic_version hvis_ic_fw_versions[] = {
	{ 3, 0 }, { 1, 0 }, { 0, 0 },
};
static const struct hvis_ic_version hvis_ic_hb_versions[] = {
	{ 3, 0 }, { 1, 0 }, { 0, 0 },
};
static const struct hvis_ic_version hvis_ic_sd_versions[] = {
	{ 3, 2 }, { 3, 1 }, { 3, 0 }, { 1, 0 }, { 0, 0 },
};
static const struct hvis_ic_version hvis_ic_ts_versions[] = {
	{ 4, 0 }, { 3, 0 }, { 1, 0 }, { 0, 0 },
};
static const struct hvis_ic_version hvis_ic_kvp_versions[] = {
	{ 4, 0 }, { 3, 0 }, { 1, 0 }, { 0, 0 },
};
static const struct hvis_ic_version hvis_ic_vss_versions[] = {
	{ 5, 0 }, { 0, 0 },
};

enum { HVIS_IC_HEARTBEAT, HVIS_IC_SHUTDOWN, HVIS_IC_TIMESYNC, HVIS_IC_KVP,
	HVIS_IC_VSS, HVIS_IC_COUNT };

static const struct hvis_ic_service hvis_ic_services[HVIS_IC_COUNT] = {
	[HVIS_IC_HEARTBEAT] = { "heartbeat", HVIS_GUID_HEARTBEAT, false,
				hvis_ic_hb_versions },
	[HVIS_IC_SHUTDOWN] = { "shutdown", HVIS_GUID_SHUTDOWN, false,
			       hvis_ic_sd_versions },
	[HVIS_IC_TIMESYNC] = { "timesync", HVIS_GUID_TIMESYNC, false,
			       hvis_ic_ts_versions },
	[HVIS_IC_KVP] = { "kvp", HVIS_GUID_KVP, true, hvis_ic_kvp_versions },
	[HVIS_IC_VSS] = { "vss", HVIS_GUID_VSS, true, hvis_ic_vss_versions },
};

static const struct hvis_guid hvis_ic_classes[HVIS_IC_COUNT + 1] = {
	HVIS_GUID_HEARTBEAT, HVIS_GUID_SHUTDOWN, HVIS_GUID_TIMESYNC,
	HVIS_GUID_KVP, HVIS_GUID_VSS,
};

struct hvis_ic_msg {
	struct list_head node;
	u64 trans_id;
	u32 len;
	u8 data[];
};

struct hvis_ic {
	struct kref ref;
	const struct hvis_ic_service *svc;
	struct hvis_vmbus_channel *ch;
	struct miscdevice misc;
	char nodename[32];
	char name[32];

	/* lock: serialises sends, users and gone against removal */
	struct mutex lock;
	bool gone;
	bool user;			/* the device is open */
	struct hvis_ic_msg *negotiate;	/* held until the device opens */
	u64 last_trans_id;		/* of the last message read */

	spinlock_t qlock;		/* queue, queued */
	struct list_head queue;
	unsigned int queued;
	wait_queue_head_t wq;

	u8 *rxbuf;			/* the event function's, one at a time */
	u64 heartbeats;
	u64 dropped;			/* lock: qlock */
	bool warned;
};

static void hvis_ic_release_ref(struct kref *ref)
{
	struct hvis_ic *ic = container_of(ref, struct hvis_ic, ref);
	struct hvis_ic_msg *m, *tmp;

	list_for_each_entry_safe(m, tmp, &ic->queue, node)
		kfree(m);
	kfree(ic->negotiate);
	kfree(ic->rxbuf);
	kfree(ic);
}

static void hvis_ic_warn(struct hvis_ic *ic, const char *what, u32 value)
{
	if (ic->warned)
		return;
	ic->warned = true;
	pr_warn("%s: ignored a message from the host: %s %u (logged once)\n",
		ic->svc->name, what, value);
}

/* ------------------------------------------------------------ kernel answers */

static bool hvis_ic_version_in(const struct hvis_ic_version *want,
			       const u8 *list, u32 count)
{
	struct hvis_ic_version v;
	u32 i;

	for (i = 0; i < count; i++) {
		memcpy(&v, list + i * sizeof(v), sizeof(v));
		if (v.iv_major == want->iv_major &&
		    v.iv_minor == want->iv_minor)
			return true;
	}
	return false;
}

/* The newest of ours that the host offered, or NULL. */
static const struct hvis_ic_version *
hvis_ic_pick(const struct hvis_ic_version *ours, const u8 *list, u32 count)
{
	for (; ours->iv_major || ours->iv_minor; ours++)
		if (hvis_ic_version_in(ours, list, count))
			return ours;
	return NULL;
}

static int hvis_ic_send(struct hvis_ic *ic, const void *buf, u32 len,
			u64 trans_id)
{
	int ret;

	mutex_lock(&ic->lock);
	ret = ic->gone ? -ENODEV : hvis_chan_send(ic->ch, buf, len, trans_id, 0);
	mutex_unlock(&ic->lock);
	return ret;
}

/* Answer NEGOTIATE in place: one framework and one message version. */
static void hvis_ic_negotiate(struct hvis_ic *ic, u8 *buf, u32 len,
			      u64 trans_id)
{
	const struct hvis_ic_version *fw, *msgv;
	struct hvis_ic_negotiate neg;
	u8 *hdrp = buf + sizeof(struct hvis_pipe_hdr);
	u8 *body = buf + HVIS_IC_HDRS_SIZE;
	struct hvis_ic_hdr ih;
	u32 n;
	int ret;

	memcpy(&ih, hdrp, sizeof(ih));
	if (ih.ih_msgsize < sizeof(neg)) {
		hvis_ic_warn(ic, "NEGOTIATE body bytes", ih.ih_msgsize);
		return;
	}
	memcpy(&neg, body, sizeof(neg));
	n = (u32)neg.in_framework_count + neg.in_message_count;
	if (sizeof(neg) + n * sizeof(struct hvis_ic_version) > ih.ih_msgsize ||
	    sizeof(neg) + 2 * sizeof(struct hvis_ic_version) > len -
	    HVIS_IC_HDRS_SIZE) {
		hvis_ic_warn(ic, "NEGOTIATE version count", n);
		return;
	}
	fw = hvis_ic_pick(hvis_ic_fw_versions, body + sizeof(neg),
			  neg.in_framework_count);
	msgv = hvis_ic_pick(ic->svc->versions,
			    body + sizeof(neg) + neg.in_framework_count *
			    sizeof(struct hvis_ic_version),
			    neg.in_message_count);
	neg.in_framework_count = fw && msgv;
	neg.in_message_count = fw && msgv;
	memcpy(body, &neg, sizeof(neg));
	if (fw && msgv) {
		memcpy(body + sizeof(neg), fw, sizeof(*fw));
		memcpy(body + sizeof(neg) + sizeof(*fw), msgv, sizeof(*msgv));
	}
	ih.ih_msgsize = sizeof(neg) + 2 * sizeof(struct hvis_ic_version);
	ih.ih_flags = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	ih.ih_status = HVIS_IC_S_OK;
	memcpy(hdrp, &ih, sizeof(ih));
	ret = hvis_ic_send(ic, buf, len, trans_id);
	if (ret)
		pr_warn("%s: NEGOTIATE answer not sent (%d)\n", ic->svc->name,
			ret);
	else if (fw && msgv)
		pr_info("%s: framework %u.%u, message version %u.%u\n",
			ic->svc->name, fw->iv_major, fw->iv_minor,
			msgv->iv_major, msgv->iv_minor);
	else
		pr_warn("%s: no common version with the host\n",
			ic->svc->name);
}

static void hvis_ic_heartbeat(struct hvis_ic *ic, u8 *buf, u32 len,
			      u64 trans_id)
{
	u8 *hdrp = buf + sizeof(struct hvis_pipe_hdr);
	u8 *body = buf + HVIS_IC_HDRS_SIZE;
	struct hvis_ic_hdr ih;
	__le64 seq;

	memcpy(&ih, hdrp, sizeof(ih));
	if (ih.ih_msgsize < sizeof(u64)) {
		hvis_ic_warn(ic, "HEARTBEAT body bytes", ih.ih_msgsize);
		return;
	}
	memcpy(&seq, body, sizeof(seq));
	seq = cpu_to_le64(le64_to_cpu(seq) + 1);
	memcpy(body, &seq, sizeof(seq));
	ih.ih_flags = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	ih.ih_status = HVIS_IC_S_OK;
	memcpy(hdrp, &ih, sizeof(ih));
	if (!hvis_ic_send(ic, buf, len, trans_id))
		ic->heartbeats++;
}

/* ------------------------------------------------------------ packets */

static struct hvis_ic_msg *hvis_ic_msg_new(const u8 *buf, u32 len,
					   u64 trans_id)
{
	struct hvis_ic_msg *m;

	m = kmalloc(struct_size(m, data, len), GFP_KERNEL);
	if (!m)
		return NULL;
	m->trans_id = trans_id;
	m->len = len;
	memcpy(m->data, buf, len);
	return m;
}

/*
 * For the daemon. When it does not keep up the oldest message goes: the
 * host has long given up on it (one transaction at a time per IC).
 */
static void hvis_ic_queue(struct hvis_ic *ic, const u8 *buf, u32 len,
			  u64 trans_id)
{
	struct hvis_ic_msg *m, *old = NULL;

	m = hvis_ic_msg_new(buf, len, trans_id);
	if (!m)
		return;
	spin_lock(&ic->qlock);
	if (ic->queued >= HVIS_IC_QUEUE_MAX) {
		old = list_first_entry(&ic->queue, struct hvis_ic_msg, node);
		list_del(&old->node);
		ic->queued--;
		ic->dropped++;
	}
	list_add_tail(&m->node, &ic->queue);
	ic->queued++;
	spin_unlock(&ic->qlock);
	kfree(old);
	wake_up_interruptible(&ic->wq);
}

/* One packet from the host: checked, then answered or queued. */
static void hvis_ic_packet(struct hvis_ic *ic, const struct hvis_pkt_desc *d,
			   u8 *buf, u32 len)
{
	struct hvis_pipe_hdr ph;
	struct hvis_ic_hdr ih;
	struct hvis_ic_msg *neg;

	if (d->pd_type != HVIS_PKT_DATA_INBAND) {
		hvis_ic_warn(ic, "packet type", d->pd_type);
		return;
	}
	if (len < HVIS_IC_HDRS_SIZE) {
		hvis_ic_warn(ic, "packet bytes", len);
		return;
	}
	memcpy(&ph, buf, sizeof(ph));
	memcpy(&ih, buf + sizeof(ph), sizeof(ih));
	if (ph.ph_msgsize < sizeof(ih) || ph.ph_msgsize > len - sizeof(ph) ||
	    ih.ih_msgsize > ph.ph_msgsize - sizeof(ih)) {
		hvis_ic_warn(ic, "pipe message size", ph.ph_msgsize);
		return;
	}
	if (!(ih.ih_flags & HVIS_ICFLAG_REQUEST)) {
		hvis_ic_warn(ic, "IC flags", ih.ih_flags);
		return;
	}

	if (ih.ih_msgtype == HVIS_ICMSG_NEGOTIATE) {
		mutex_lock(&ic->lock);
		if (ic->svc->negotiate_when_open && !ic->user) {
			/* the daemon's open() answers it */
			neg = hvis_ic_msg_new(buf, len, d->pd_trans_id);
			kfree(ic->negotiate);
			ic->negotiate = neg;
			mutex_unlock(&ic->lock);
			return;
		}
		mutex_unlock(&ic->lock);
		hvis_ic_negotiate(ic, buf, len, d->pd_trans_id);
		return;
	}
	if (ih.ih_msgtype == HVIS_ICMSG_HEARTBEAT &&
	    ic->svc == &hvis_ic_services[HVIS_IC_HEARTBEAT]) {
		hvis_ic_heartbeat(ic, buf, len, d->pd_trans_id);
		return;
	}
	hvis_ic_queue(ic, buf, len, d->pd_trans_id);
}

static void hvis_ic_on_event(struct hvis_vmbus_channel *ch, void *ctx)
{
	struct hvis_ic *ic = ctx;
	struct hvis_pkt_desc d;
	u32 len;

	/* the buffer holds the whole inbound ring: every packet fits */
	while (!hvis_chan_recv(ch, ic->rxbuf, HVIS_IC_RING_BYTES, &len, &d))
		hvis_ic_packet(ic, &d, ic->rxbuf, len);
}

/* ------------------------------------------------------------ /dev/hvis */

static struct hvis_ic *hvis_ic_of(struct file *f)
{
	return container_of(f->private_data, struct hvis_ic, misc);
}

static int hvis_ic_open(struct inode *inode, struct file *f)
{
	struct hvis_ic *ic = hvis_ic_of(f);
	struct hvis_ic_msg *neg;

	mutex_lock(&ic->lock);
	if (ic->gone || ic->user) {
		mutex_unlock(&ic->lock);
		return ic->gone ? -ENODEV : -EBUSY;
	}
	ic->user = true;
	kref_get(&ic->ref);
	neg = ic->negotiate;
	ic->negotiate = NULL;
	mutex_unlock(&ic->lock);
	if (neg) {
		hvis_ic_negotiate(ic, neg->data, neg->len, neg->trans_id);
		kfree(neg);
	}
	return stream_open(inode, f);
}

static int hvis_ic_release(struct inode *inode, struct file *f)
{
	struct hvis_ic *ic = hvis_ic_of(f);

	mutex_lock(&ic->lock);
	ic->user = false;
	mutex_unlock(&ic->lock);
	kref_put(&ic->ref, hvis_ic_release_ref);
	return 0;
}

static ssize_t hvis_ic_read(struct file *f, char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	struct hvis_ic *ic = hvis_ic_of(f);
	struct hvis_ic_msg *m;
	int ret;

	for (;;) {
		spin_lock(&ic->qlock);
		m = list_first_entry_or_null(&ic->queue, struct hvis_ic_msg,
					     node);
		if (m && m->len > count) {
			spin_unlock(&ic->qlock);
			return -EMSGSIZE;
		}
		if (m) {
			list_del(&m->node);
			ic->queued--;
		}
		spin_unlock(&ic->qlock);
		if (m)
			break;
		if (READ_ONCE(ic->gone))
			return -ENODEV;
		if (f->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(ic->wq,
					       !list_empty_careful(&ic->queue) ||
					       READ_ONCE(ic->gone));
		if (ret)
			return ret;
	}
	if (copy_to_user(ubuf, m->data, m->len)) {
		/* put it back: the message is not lost to a bad pointer */
		spin_lock(&ic->qlock);
		list_add(&m->node, &ic->queue);
		ic->queued++;
		spin_unlock(&ic->qlock);
		return -EFAULT;
	}
	WRITE_ONCE(ic->last_trans_id, m->trans_id);
	ret = m->len;
	kfree(m);
	return ret;
}

static ssize_t hvis_ic_write(struct file *f, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct hvis_ic *ic = hvis_ic_of(f);
	void *buf;
	int ret;

	if (count < HVIS_IC_HDRS_SIZE ||
	    count > HVIS_IC_RING_BYTES - PAGE_SIZE - 64)
		return -EINVAL;
	buf = memdup_user(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	ret = hvis_ic_send(ic, buf, count, READ_ONCE(ic->last_trans_id));
	kfree(buf);
	return ret ? ret : count;
}

static __poll_t hvis_ic_poll(struct file *f, poll_table *wait)
{
	struct hvis_ic *ic = hvis_ic_of(f);
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(f, &ic->wq, wait);
	if (!list_empty_careful(&ic->queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(ic->gone))
		mask |= EPOLLHUP;
	return mask;
}

/* misc_open sets private_data to the miscdevice before calling open */
static const struct file_operations hvis_ic_fops = {
	.owner = THIS_MODULE,
	.open = hvis_ic_open,
	.release = hvis_ic_release,
	.read = hvis_ic_read,
	.write = hvis_ic_write,
	.poll = hvis_ic_poll,
};

/* ------------------------------------------------------------ the driver */

static int hvis_ic_probe(struct hvis_vmbus_device *hd)
{
	const struct hvis_ic_service *svc = NULL;
	struct hvis_ic *ic;
	unsigned int i;
	int ret;

	for (i = 0; i < HVIS_IC_COUNT; i++)
		if (!memcmp(hvis_ic_services[i].class_id.g_bytes,
			    hd->class_id.g_bytes, sizeof(hd->class_id)))
			svc = &hvis_ic_services[i];
	if (!svc)
		return -ENODEV;
	ic = kzalloc(sizeof(*ic), GFP_KERNEL);
	if (!ic)
		return -ENOMEM;
	kref_init(&ic->ref);
	ic->svc = svc;
	ic->ch = hvis_vmbus_device_channel(hd);
	mutex_init(&ic->lock);
	spin_lock_init(&ic->qlock);
	INIT_LIST_HEAD(&ic->queue);
	init_waitqueue_head(&ic->wq);
	ic->rxbuf = kmalloc(HVIS_IC_RING_BYTES, GFP_KERNEL);
	if (!ic->rxbuf) {
		ret = -ENOMEM;
		goto err;
	}
	ret = hvis_chan_open(ic->ch, HVIS_IC_RING_BYTES, HVIS_IC_RING_BYTES,
			     hvis_ic_on_event, ic);
	if (ret) {
		dev_err(&hd->dev, "%s: channel not opened (%d)\n", svc->name,
			ret);
		goto err;
	}
	snprintf(ic->name, sizeof(ic->name), "hvis_%s", svc->name);
	snprintf(ic->nodename, sizeof(ic->nodename), "hvis/%s", svc->name);
	ic->misc.minor = MISC_DYNAMIC_MINOR;
	ic->misc.name = ic->name;
	ic->misc.nodename = ic->nodename;
	ic->misc.fops = &hvis_ic_fops;
	ic->misc.mode = 0600;
	ic->misc.parent = &hd->dev;
	ret = misc_register(&ic->misc);
	if (ret) {
		dev_err(&hd->dev, "%s: no /dev/%s (%d)\n", svc->name,
			ic->nodename, ret);
		hvis_chan_close(ic->ch);
		goto err;
	}
	dev_set_drvdata(&hd->dev, ic);
	dev_info(&hd->dev, "%s: channel open, /dev/%s\n", svc->name,
		 ic->nodename);
	return 0;

err:
	kref_put(&ic->ref, hvis_ic_release_ref);
	return ret;
}

static void hvis_ic_remove(struct hvis_vmbus_device *hd)
{
	struct hvis_ic *ic = dev_get_drvdata(&hd->dev);

	misc_deregister(&ic->misc);
	mutex_lock(&ic->lock);
	ic->gone = true;
	mutex_unlock(&ic->lock);
	wake_up_interruptible(&ic->wq);
	hvis_chan_close(ic->ch);
	dev_info(&hd->dev, "%s: channel closed (%llu heartbeats answered)\n",
		 ic->svc->name, ic->heartbeats);
	dev_set_drvdata(&hd->dev, NULL);
	kref_put(&ic->ref, hvis_ic_release_ref);
}

static struct hvis_vmbus_driver hvis_ic_driver = {
	.name = "hvis_ic",
	.classes = hvis_ic_classes,
	.probe = hvis_ic_probe,
	.remove = hvis_ic_remove,
};

int hvis_ic_init(void)
{
	return hvis_vmbus_driver_register(&hvis_ic_driver);
}

void hvis_ic_exit(void)
{
	hvis_vmbus_driver_unregister(&hvis_ic_driver);
}
