// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis_vmbus: channel management. Every message from the host is checked
 * here before anything acts on it: the SynIC message type, the payload
 * size against what its VMBus type needs, whether the host may send it
 * now, and each field (relids, connection and monitor ids, sub-channel
 * indices). A bad message is counted, logged once per type and kind,
 * and otherwise ignored.
 *
 * Offers, rescinds and ALLOFFERS_DELIVERED run in order on the channel
 * worker; the relid table maps each live offer to its channel. Primary
 * channels become devices on the hvis_vmbus bus; sub-channel offers are
 * kept (their rescind must be answered) but get no device.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/string.h>

#include "vmbus_priv.h"

static const char * const hvis_vmbus_msg_names[HVIS_CHMSG_COUNT] = {
	[HVIS_CHMSG_OFFERCHANNEL] = "OFFERCHANNEL",
	[HVIS_CHMSG_RESCIND_CHANNELOFFER] = "RESCIND_CHANNELOFFER",
	[HVIS_CHMSG_REQUESTOFFERS] = "REQUESTOFFERS",
	[HVIS_CHMSG_ALLOFFERS_DELIVERED] = "ALLOFFERS_DELIVERED",
	[HVIS_CHMSG_OPENCHANNEL] = "OPENCHANNEL",
	[HVIS_CHMSG_OPENCHANNEL_RESULT] = "OPENCHANNEL_RESULT",
	[HVIS_CHMSG_CLOSECHANNEL] = "CLOSECHANNEL",
	[HVIS_CHMSG_GPADL_HEADER] = "GPADL_HEADER",
	[HVIS_CHMSG_GPADL_BODY] = "GPADL_BODY",
	[HVIS_CHMSG_GPADL_CREATED] = "GPADL_CREATED",
	[HVIS_CHMSG_GPADL_TEARDOWN] = "GPADL_TEARDOWN",
	[HVIS_CHMSG_GPADL_TORNDOWN] = "GPADL_TORNDOWN",
	[HVIS_CHMSG_RELID_RELEASED] = "RELID_RELEASED",
	[HVIS_CHMSG_INITIATE_CONTACT] = "INITIATE_CONTACT",
	[HVIS_CHMSG_VERSION_RESPONSE] = "VERSION_RESPONSE",
	[HVIS_CHMSG_UNLOAD] = "UNLOAD",
	[HVIS_CHMSG_UNLOAD_RESPONSE] = "UNLOAD_RESPONSE",
	[HVIS_CHMSG_TL_CONNECT_REQUEST] = "TL_CONNECT_REQUEST",
	[HVIS_CHMSG_MODIFYCHANNEL] = "MODIFYCHANNEL",
	[HVIS_CHMSG_TL_CONNECT_RESULT] = "TL_CONNECT_RESULT",
	[HVIS_CHMSG_MODIFYCHANNEL_RESPONSE] = "MODIFYCHANNEL_RESPONSE",
};

/* Pseudo type for logging a SynIC message that is no VMBus message. */
#define HVIS_MSG_NOT_VMBUS	U32_MAX

const char *hvis_vmbus_msg_name(u32 type)
{
	if (type < HVIS_CHMSG_COUNT && hvis_vmbus_msg_names[type])
		return hvis_vmbus_msg_names[type];
	return type == HVIS_MSG_NOT_VMBUS ? "SynIC message" : "unknown message";
}

void hvis_vmbus_bad(enum hvis_vmbus_bad kind, u32 type, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;
	unsigned int bit = kind * 32 + min_t(u32, type, 31);

	atomic_inc(&hvis_vmbus.bad_msgs);
	if (test_and_set_bit(bit, hvis_vmbus.bad_logged))
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (type < HVIS_CHMSG_COUNT && hvis_vmbus_msg_names[type])
		pr_warn("ignored %s from the host: %pV (logged once)\n",
			hvis_vmbus_msg_names[type], &vaf);
	else if (type == HVIS_MSG_NOT_VMBUS)
		pr_warn("ignored a message from the host: %pV (logged once)\n",
			&vaf);
	else
		pr_warn("ignored a message of type %u from the host: %pV (logged once)\n",
			type, &vaf);
	va_end(args);
}

const char *hvis_vmbus_chan_state_name(const struct hvis_vmbus_channel *ch)
{
	switch (READ_ONCE(ch->state)) {
	case HVIS_CHAN_OFFERED:
		return "offered";
	case HVIS_CHAN_RESCINDED:
		return "rescinded";
	}
	return "unknown";
}

/* ------------------------------------------------------------ offers */

/*
 * Channel messages count only while connected. During our UNLOAD they
 * are an expected race (the host forgets them with the connection):
 * dropped without a word. Otherwise the host broke the protocol.
 */
static bool hvis_vmbus_chan_msg_now(u32 type)
{
	enum hvis_vmbus_state state = READ_ONCE(hvis_vmbus.state);

	if (state == HVIS_VMBUS_CONNECTED)
		return true;
	if (state != HVIS_VMBUS_UNLOADING)
		hvis_vmbus_bad(HVIS_BAD_UNEXPECTED, type, "while not connected");
	return false;
}

static bool hvis_guid_eq(const struct hvis_guid *a, const struct hvis_guid *b)
{
	return !memcmp(a->g_bytes, b->g_bytes, sizeof(a->g_bytes));
}

static struct hvis_vmbus_channel *
hvis_vmbus_find_primary(const struct hvis_guid *instance)
{
	struct hvis_vmbus_channel *ch;

	list_for_each_entry(ch, &hvis_vmbus.channels, node)
		if (!ch->primary && !ch->offer.of_sub_channel_index &&
		    hvis_guid_eq(&ch->offer.of_if_instance, instance))
			return ch;
	return NULL;
}

/* The fields an offer must get right before it becomes a channel. */
static bool hvis_vmbus_offer_ok(const struct hvis_chmsg_offer *o,
				struct hvis_vmbus_channel **primary)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	u32 relid = o->of_child_relid;
	u32 type = HVIS_CHMSG_OFFERCHANNEL;

	*primary = NULL;
	if (!relid || relid >= HVIS_VMBUS_MAX_RELIDS) {
		hvis_vmbus_bad(HVIS_BAD_FIELD, type, "relid %u out of range",
			       relid);
		return false;
	}
	if (c->relids[relid]) {
		hvis_vmbus_bad(HVIS_BAD_FIELD, type, "relid %u offered twice",
			       relid);
		return false;
	}
	if (!o->of_connection_id ||
	    o->of_connection_id > HVIS_VMBUS_CONNID_MAX) {
		hvis_vmbus_bad(HVIS_BAD_FIELD, type,
			       "relid %u: connection id %#x", relid,
			       o->of_connection_id);
		return false;
	}
	if ((o->of_monitor_allocated & 1) &&
	    o->of_monitor_id >= HVIS_VMBUS_MONITOR_IDS) {
		hvis_vmbus_bad(HVIS_BAD_FIELD, type, "relid %u: monitor id %u",
			       relid, o->of_monitor_id);
		return false;
	}
	if (o->of_sub_channel_index) {
		*primary = hvis_vmbus_find_primary(&o->of_if_instance);
		if (!*primary) {
			hvis_vmbus_bad(HVIS_BAD_FIELD, type,
				       "relid %u: sub-channel %u of %pUl, which has no primary",
				       relid, o->of_sub_channel_index,
				       o->of_if_instance.g_bytes);
			return false;
		}
	} else if (hvis_vmbus_find_primary(&o->of_if_instance)) {
		hvis_vmbus_bad(HVIS_BAD_FIELD, type,
			       "relid %u: instance %pUl offered twice", relid,
			       o->of_if_instance.g_bytes);
		return false;
	}
	return true;
}

static void hvis_vmbus_on_offer(const void *msg, u32 len)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	const struct hvis_chmsg_offer *o = msg;
	struct hvis_vmbus_channel *ch, *primary;
	int ret;

	mutex_lock(&c->chan_lock);
	if (!hvis_vmbus_chan_msg_now(HVIS_CHMSG_OFFERCHANNEL))
		goto out;
	if (!hvis_vmbus_offer_ok(o, &primary))
		goto out;
	ch = kzalloc(sizeof(*ch), GFP_KERNEL);
	if (!ch)
		goto out;
	hvis_vmbus_chan_setup(ch);
	ch->offer = *o;
	ch->relid = o->of_child_relid;
	ch->state = HVIS_CHAN_OFFERED;
	ch->primary = primary;
	c->relids[ch->relid] = ch;
	list_add_tail(&ch->node, &c->channels);
	c->offers++;
	pr_debug("offer: relid %u class %pUl instance %pUl sub-channel %u\n",
		 ch->relid, o->of_if_type.g_bytes, o->of_if_instance.g_bytes,
		 o->of_sub_channel_index);
	if (!primary) {
		ret = hvis_vmbus_device_add(ch);
		if (ret)
			pr_err("relid %u: no device for class %pUl (%d)\n",
			       ch->relid, o->of_if_type.g_bytes, ret);
	}
out:
	mutex_unlock(&c->chan_lock);
}

/* Forget a channel: its device goes, its sub-channels lose their primary. */
static void hvis_vmbus_chan_free(struct hvis_vmbus_channel *ch)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_vmbus_channel *sub;

	if (ch->dev)
		hvis_vmbus_device_remove(ch);
	list_for_each_entry(sub, &c->channels, node)
		if (sub->primary == ch)
			sub->primary = NULL;
	/* no driver holds it open now; a broken ring's work may be queued */
	cancel_work_sync(&ch->broken_work);
	c->relids[ch->relid] = NULL;
	list_del(&ch->node);
	c->offers--;
	kfree(ch);
}

static void hvis_vmbus_on_rescind(const void *msg, u32 len)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	const struct hvis_chmsg_relid *r = msg;
	struct hvis_chmsg_relid released;
	struct hvis_vmbus_channel *ch;
	u32 relid = r->rl_child_relid;
	int ret;

	mutex_lock(&c->chan_lock);
	if (!hvis_vmbus_chan_msg_now(HVIS_CHMSG_RESCIND_CHANNELOFFER)) {
		mutex_unlock(&c->chan_lock);
		return;
	}
	ch = relid && relid < HVIS_VMBUS_MAX_RELIDS ? c->relids[relid] : NULL;
	if (!ch) {
		mutex_unlock(&c->chan_lock);
		hvis_vmbus_bad(HVIS_BAD_FIELD, HVIS_CHMSG_RESCIND_CHANNELOFFER,
			       "relid %u was not offered", relid);
		return;
	}
	WRITE_ONCE(ch->state, HVIS_CHAN_RESCINDED);
	pr_info("relid %u (class %pUl) rescinded by the host\n", relid,
		ch->offer.of_if_type.g_bytes);
	hvis_vmbus_chan_free(ch);
	mutex_unlock(&c->chan_lock);

	/* The host may reuse the relid once we say it is released. */
	memset(&released, 0, sizeof(released));
	released.rl_hdr.ch_msgtype = HVIS_CHMSG_RELID_RELEASED;
	released.rl_child_relid = relid;
	ret = hvis_vmbus_post(&released, sizeof(released));
	if (ret)
		pr_err("relid %u: RELID_RELEASED not sent (%d)\n", relid, ret);
}

static void hvis_vmbus_on_offers_delivered(const void *msg, u32 len)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;

	if (!hvis_vmbus_chan_msg_now(HVIS_CHMSG_ALLOFFERS_DELIVERED))
		return;
	if (completion_done(&c->offers_done)) {
		hvis_vmbus_bad(HVIS_BAD_UNEXPECTED,
			       HVIS_CHMSG_ALLOFFERS_DELIVERED, "a second time");
		return;
	}
	mutex_lock(&c->chan_lock);
	pr_info("the host offered %u channels\n", c->offers);
	mutex_unlock(&c->chan_lock);
	complete(&c->offers_done);
}

/* Answers to requests this driver does not make yet. */
static void hvis_vmbus_on_unasked(const void *msg, u32 len)
{
	const struct hvis_chmsg_hdr *hdr = msg;

	hvis_vmbus_bad(HVIS_BAD_UNEXPECTED, hdr->ch_msgtype,
		       "nothing was asked");
}

/* ------------------------------------------------------------ dispatch */

struct hvis_vmbus_msg_desc {
	u32 min_len;		/* whole message, header included */
	bool on_chan_wq;	/* ordered with offers; may sleep */
	void (*handle)(const void *msg, u32 len);
};

/* Only what a host sends has a handler; the rest is refused. */
static const struct hvis_vmbus_msg_desc hvis_vmbus_host_msgs[HVIS_CHMSG_COUNT] = {
	[HVIS_CHMSG_OFFERCHANNEL] = {
		sizeof(struct hvis_chmsg_offer), true, hvis_vmbus_on_offer },
	[HVIS_CHMSG_RESCIND_CHANNELOFFER] = {
		sizeof(struct hvis_chmsg_relid), true, hvis_vmbus_on_rescind },
	[HVIS_CHMSG_ALLOFFERS_DELIVERED] = {
		sizeof(struct hvis_chmsg_hdr), true,
		hvis_vmbus_on_offers_delivered },
	[HVIS_CHMSG_OPENCHANNEL_RESULT] = {
		sizeof(struct hvis_chmsg_open_result), false,
		hvis_vmbus_on_open_result },
	[HVIS_CHMSG_GPADL_CREATED] = {
		sizeof(struct hvis_chmsg_gpadl_created), false,
		hvis_vmbus_on_gpadl_created },
	[HVIS_CHMSG_GPADL_TORNDOWN] = {
		sizeof(struct hvis_chmsg_gpadl_torndown), false,
		hvis_vmbus_on_gpadl_torndown },
	/* before 5.0 the response may end before msg_conn_id */
	[HVIS_CHMSG_VERSION_RESPONSE] = {
		offsetof(struct hvis_chmsg_version_response, vr_msg_conn_id),
		false, hvis_vmbus_on_version_response },
	[HVIS_CHMSG_UNLOAD_RESPONSE] = {
		sizeof(struct hvis_chmsg_hdr), false,
		hvis_vmbus_on_unload_response },
	[HVIS_CHMSG_TL_CONNECT_RESULT] = {
		sizeof(struct hvis_chmsg_hdr), false, hvis_vmbus_on_unasked },
	[HVIS_CHMSG_MODIFYCHANNEL_RESPONSE] = {
		sizeof(struct hvis_chmsg_modify_response), false,
		hvis_vmbus_on_unasked },
};

struct hvis_vmbus_chan_work {
	struct work_struct work;
	const struct hvis_vmbus_msg_desc *desc;
	u32 len;
	u8 msg[HVIS_MESSAGE_PAYLOAD_MAX];
};

static void hvis_vmbus_chan_work_fn(struct work_struct *work)
{
	struct hvis_vmbus_chan_work *w =
		container_of(work, struct hvis_vmbus_chan_work, work);

	w->desc->handle(w->msg, w->len);
	kfree(w);
}

/* One host message (a private copy), from the message worker. */
void hvis_vmbus_on_message(const struct hvis_message *m)
{
	const struct hvis_vmbus_msg_desc *d;
	struct hvis_vmbus_chan_work *w;
	u8 msg[HVIS_MESSAGE_PAYLOAD_MAX];
	struct hvis_chmsg_hdr hdr;
	u32 len = m->m_hdr.mh_payload_size;

	if (m->m_hdr.mh_type != HVIS_VMBUS_MSGTYPE_CHANNEL) {
		hvis_vmbus_bad(HVIS_BAD_SHAPE, HVIS_MSG_NOT_VMBUS,
			       "SynIC message type %#x on the VMBus SINT",
			       m->m_hdr.mh_type);
		return;
	}
	if (len < sizeof(hdr) || len > HVIS_MESSAGE_PAYLOAD_MAX) {
		hvis_vmbus_bad(HVIS_BAD_SHAPE, HVIS_MSG_NOT_VMBUS,
			       "payload of %u bytes", len);
		return;
	}
	/* Handlers see exactly what was sent, zeros after it. */
	memset(msg, 0, sizeof(msg));
	memcpy(msg, m->m_payload, len);
	memcpy(&hdr, msg, sizeof(hdr));

	d = hdr.ch_msgtype < HVIS_CHMSG_COUNT ?
	    &hvis_vmbus_host_msgs[hdr.ch_msgtype] : NULL;
	if (!d || !d->handle) {
		hvis_vmbus_bad(HVIS_BAD_UNEXPECTED, hdr.ch_msgtype,
			       "not a message a host sends");
		return;
	}
	if (len < d->min_len) {
		hvis_vmbus_bad(HVIS_BAD_SHAPE, hdr.ch_msgtype,
			       "%u bytes, needs %u", len, d->min_len);
		return;
	}
	if (!d->on_chan_wq) {
		d->handle(msg, len);
		return;
	}
	/* the allocator reports a failure; the message is lost then */
	w = kmalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return;
	INIT_WORK(&w->work, hvis_vmbus_chan_work_fn);
	w->desc = d;
	w->len = len;
	memcpy(w->msg, msg, sizeof(w->msg));
	queue_work(hvis_vmbus.chan_wq, &w->work);
}

/* ------------------------------------------------------------ requests */

/* REQUESTOFFERS; waits (bounded) until the host has offered everything. */
int hvis_vmbus_request_offers(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_chmsg_hdr m = { .ch_msgtype = HVIS_CHMSG_REQUESTOFFERS };
	int ret;

	reinit_completion(&c->offers_done);
	ret = hvis_vmbus_post(&m, sizeof(m));
	if (ret)
		return ret;
	if (!wait_for_completion_timeout(&c->offers_done,
			msecs_to_jiffies(HVIS_VMBUS_REPLY_TIMEOUT_MS)))
		pr_warn("no ALLOFFERS_DELIVERED within %u ms; offers may still come\n",
			HVIS_VMBUS_REPLY_TIMEOUT_MS);
	return 0;
}

/* Unload: every device and channel goes, newest first. */
void hvis_vmbus_remove_all(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_vmbus_channel *ch;

	mutex_lock(&c->chan_lock);
	while (!list_empty(&c->channels)) {
		ch = list_last_entry(&c->channels, struct hvis_vmbus_channel,
				     node);
		hvis_vmbus_chan_free(ch);
	}
	mutex_unlock(&c->chan_lock);
}

int hvis_vmbus_chan_init(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;

	mutex_init(&c->chan_lock);
	INIT_LIST_HEAD(&c->channels);
	c->relids = kcalloc(HVIS_VMBUS_MAX_RELIDS, sizeof(*c->relids),
			    GFP_KERNEL);
	return c->relids ? 0 : -ENOMEM;
}

void hvis_vmbus_chan_exit(void)
{
	hvis_vmbus_remove_all();
	kfree(hvis_vmbus.relids);
	hvis_vmbus.relids = NULL;
}
