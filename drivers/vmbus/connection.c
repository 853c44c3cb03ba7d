// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis_vmbus: the connection to the host.
 *
 * The SynIC: every CPU gets a message page and an event-flags page and
 * the VMBus SINT, aimed at the vector the kernel installed for Hyper-V
 * (HYPERVISOR_CALLBACK_VECTOR; the handler is hooked with
 * hv_setup_vmbus_handler). Messages go to the host with HvPostMessage
 * through the kernel's hypercall page (hv_do_hypercall, an inline of
 * <asm/mshyperv.h> that calls the exported hv_hypercall_pg).
 *
 * The interrupt copies the message out of this CPU's slot into the
 * receive queue, frees the slot (EOM when the host has more) and wakes
 * the message worker. A full queue leaves the slot occupied: the host
 * cannot post more to that CPU until the worker has caught up and looked
 * again, so a flood costs us nothing but time.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/irq_vectors.h>
#include <asm/msr.h>
#include <asm/mshyperv.h>

#include "vmbus_priv.h"

struct hvis_vmbus_conn hvis_vmbus;

/* What we ask for, newest first: Linux's list, nothing before Windows 8. */
static const u32 hvis_vmbus_versions[] = {
	HVIS_VMBUS_VERSION_WS2022,	/* 5.3 */
	HVIS_VMBUS_VERSION_WS2019,	/* 5.2 */
	HVIS_VMBUS_VERSION_WIN10_RS5,	/* 5.1 */
	HVIS_VMBUS_VERSION_WIN10_RS4,	/* 5.0 */
	HVIS_VMBUS_VERSION_WIN10_RS3,	/* 4.1 */
	HVIS_VMBUS_VERSION_WIN10,	/* 4.0 */
	HVIS_VMBUS_VERSION_WIN8_1,	/* 3.0 */
	HVIS_VMBUS_VERSION_WIN8,	/* 2.4 */
};

/* HvPostMessage: how often to try while the host is short of buffers. */
#define HVIS_POST_TRIES		50
#define HVIS_POST_MAX_DELAY_MS	100

/* ------------------------------------------------------------ versions */

int hvis_vmbus_parse_version(const char *s, u32 *version)
{
	unsigned int major, minor;
	char extra;

	if (!s || sscanf(s, "%u.%u%c", &major, &minor, &extra) != 2 ||
	    major > 0xFFFF || minor > 0xFFFF)
		return -EINVAL;
	*version = HVIS_VMBUS_VERSION(major, minor);
	return *version < HVIS_VMBUS_VERSION_WIN8 ? -ERANGE : 0;
}

/* ------------------------------------------------------------ posting */

static int hvis_vmbus_post_to(u32 conn_id, const void *msg, u32 len)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_post_message_input *in = c->post_page;
	const struct hvis_chmsg_hdr *hdr = msg;
	unsigned int tries, delay_ms = 1;
	u16 status;

	if (WARN_ON(len < sizeof(*hdr) || len > HVIS_MESSAGE_PAYLOAD_MAX))
		return -EINVAL;
	for (tries = 1; ; tries++) {
		mutex_lock(&c->post_lock);
		memset(in, 0, sizeof(*in));
		in->pm_connection_id = conn_id;
		in->pm_message_type = HVIS_VMBUS_MSGTYPE_CHANNEL;
		in->pm_payload_size = len;
		memcpy(in->pm_payload, msg, len);
		status = hv_do_hypercall(HVIS_HCALL_POST_MESSAGE, in, NULL) &
			 HVIS_HC_STATUS_MASK;
		mutex_unlock(&c->post_lock);

		switch (status) {
		case HVIS_STATUS_SUCCESS:
			return 0;
		case HVIS_STATUS_INVALID_CONNECTION_ID:
			/* a host before 5.0 has no connection 4: say so */
			if (hdr->ch_msgtype == HVIS_CHMSG_INITIATE_CONTACT)
				return -ENXIO;
			break;
		case HVIS_STATUS_INSUFFICIENT_MEMORY:
		case HVIS_STATUS_INSUFFICIENT_BUFFERS:
			break;
		default:
			pr_err("HvPostMessage of %s failed: status %#x\n",
			       hvis_vmbus_msg_name(hdr->ch_msgtype), status);
			return -EIO;
		}
		if (tries == HVIS_POST_TRIES) {
			pr_err("HvPostMessage of %s: host busy (status %#x) after %u tries\n",
			       hvis_vmbus_msg_name(hdr->ch_msgtype), status,
			       tries);
			return -EBUSY;
		}
		msleep(delay_ms);
		delay_ms = min_t(unsigned int, delay_ms * 2,
				 HVIS_POST_MAX_DELAY_MS);
	}
}

/* Post a channel message on the negotiated message connection. */
int hvis_vmbus_post(const void *msg, u32 len)
{
	return hvis_vmbus_post_to(READ_ONCE(hvis_vmbus.msg_conn_id), msg, len);
}

/* ------------------------------------------------------------ receiving */

/* Take the message in this CPU's VMBus slot, if any. Interrupts off. */
static void hvis_vmbus_take_message(struct hvis_vmbus_synic *sc)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_message *slot;
	unsigned int tail;

	slot = &sc->msg_page->mp_slot[HVIS_VMBUS_MESSAGE_SINT];
	if (READ_ONCE(slot->m_hdr.mh_type) == HVIS_MSG_NONE)
		return;

	spin_lock(&c->rxq_lock);
	if (c->rxq_count == HVIS_VMBUS_RXQ_LEN) {
		c->rx_stalled = true;
		spin_unlock(&c->rxq_lock);
		return;
	}
	tail = (c->rxq_head + c->rxq_count) % HVIS_VMBUS_RXQ_LEN;
	memcpy(&c->rxq[tail], slot, sizeof(*slot));
	c->rxq_count++;
	spin_unlock(&c->rxq_lock);

	/*
	 * Free the slot, then look whether the host has another message
	 * queued behind it: if so it waits for an end-of-message.
	 */
	WRITE_ONCE(slot->m_hdr.mh_type, HVIS_MSG_NONE);
	/* the host must see the slot free before we read its pending flag */
	mb();
	if (READ_ONCE(slot->m_hdr.mh_flags) & HVIS_MSG_FLAG_PENDING)
		wrmsrl(HVIS_MSR_EOM, 0);

	queue_work(c->msg_wq, &c->rx_work);
}

/* The VMBus interrupt (hv_setup_vmbus_handler). */
static void hvis_vmbus_isr(void)
{
	struct hvis_vmbus_synic *sc = this_cpu_ptr(hvis_vmbus.synic);

	if (!READ_ONCE(sc->enabled))
		return;
	hvis_vmbus_take_message(sc);
	hvis_vmbus_on_events(sc);
}

/*
 * After the queue was full: every CPU looks at its slot again (called
 * with interrupts off, like the interrupt itself).
 */
static void hvis_vmbus_recheck(void *unused)
{
	hvis_vmbus_isr();
}

static void hvis_vmbus_rx_work(struct work_struct *work)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_message m;
	bool stalled;

	for (;;) {
		spin_lock_irq(&c->rxq_lock);
		if (!c->rxq_count) {
			spin_unlock_irq(&c->rxq_lock);
			return;
		}
		m = c->rxq[c->rxq_head];
		c->rxq_head = (c->rxq_head + 1) % HVIS_VMBUS_RXQ_LEN;
		c->rxq_count--;
		stalled = c->rx_stalled;
		c->rx_stalled = false;
		spin_unlock_irq(&c->rxq_lock);

		if (stalled)
			on_each_cpu(hvis_vmbus_recheck, NULL, 0);
		hvis_vmbus_on_message(&m);
	}
}

/* ------------------------------------------------------------ SynIC */

static int hvis_vmbus_cpu_online(unsigned int cpu)
{
	struct hvis_vmbus_synic *sc = per_cpu_ptr(hvis_vmbus.synic, cpu);
	u64 v;

	rdmsrl(HVIS_MSR_SIMP, v);
	v = (v & ~HVIS_MSR_GPA_MASK) | virt_to_phys(sc->msg_page) |
	    HVIS_MSR_ENABLE;
	wrmsrl(HVIS_MSR_SIMP, v);

	rdmsrl(HVIS_MSR_SIEFP, v);
	v = (v & ~HVIS_MSR_GPA_MASK) | virt_to_phys(sc->event_page) |
	    HVIS_MSR_ENABLE;
	wrmsrl(HVIS_MSR_SIEFP, v);

	WRITE_ONCE(sc->enabled, true);

	/*
	 * The kernel's handler of this vector acknowledges the local APIC
	 * itself when the host recommends against auto-EOI; otherwise the
	 * SINT must auto-EOI.
	 */
	rdmsrl(HVIS_MSR_SINT(HVIS_VMBUS_MESSAGE_SINT), v);
	v &= ~(HVIS_SINT_VECTOR_MASK | HVIS_SINT_MASKED | HVIS_SINT_AUTO_EOI |
	       HVIS_SINT_POLLING);
	v |= HYPERVISOR_CALLBACK_VECTOR;
	if (!(ms_hyperv.hints & HVIS_RECOMMEND_DEPRECATE_AEOI))
		v |= HVIS_SINT_AUTO_EOI;
	wrmsrl(HVIS_MSR_SINT(HVIS_VMBUS_MESSAGE_SINT), v);

	rdmsrl(HVIS_MSR_SCONTROL, v);
	wrmsrl(HVIS_MSR_SCONTROL, v | HVIS_SCONTROL_ENABLE);
	return 0;
}

static int hvis_vmbus_cpu_offline(unsigned int cpu)
{
	struct hvis_vmbus_synic *sc = per_cpu_ptr(hvis_vmbus.synic, cpu);
	enum hvis_vmbus_state state = READ_ONCE(hvis_vmbus.state);
	u64 v;

	/* The host sends every message to one CPU; it cannot be moved. */
	if (cpu == hvis_vmbus.msg_cpu &&
	    (state == HVIS_VMBUS_CONNECTING || state == HVIS_VMBUS_CONNECTED))
		return -EBUSY;

	rdmsrl(HVIS_MSR_SINT(HVIS_VMBUS_MESSAGE_SINT), v);
	wrmsrl(HVIS_MSR_SINT(HVIS_VMBUS_MESSAGE_SINT), v | HVIS_SINT_MASKED);
	WRITE_ONCE(sc->enabled, false);

	rdmsrl(HVIS_MSR_SIMP, v);
	wrmsrl(HVIS_MSR_SIMP, v & ~(HVIS_MSR_GPA_MASK | HVIS_MSR_ENABLE));
	rdmsrl(HVIS_MSR_SIEFP, v);
	wrmsrl(HVIS_MSR_SIEFP, v & ~(HVIS_MSR_GPA_MASK | HVIS_MSR_ENABLE));
	rdmsrl(HVIS_MSR_SCONTROL, v);
	wrmsrl(HVIS_MSR_SCONTROL, v & ~HVIS_SCONTROL_ENABLE);
	return 0;
}

static void hvis_vmbus_synic_free(void)
{
	struct hvis_vmbus_synic *sc;
	unsigned int cpu;

	if (!hvis_vmbus.synic)
		return;
	for_each_possible_cpu(cpu) {
		sc = per_cpu_ptr(hvis_vmbus.synic, cpu);
		free_page((unsigned long)sc->msg_page);
		free_page((unsigned long)sc->event_page);
	}
	free_percpu(hvis_vmbus.synic);
	hvis_vmbus.synic = NULL;
}

int hvis_vmbus_synic_init(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_vmbus_synic *sc;
	unsigned int cpu;
	int ret;

	BUILD_BUG_ON(PAGE_SIZE < HVIS_PAGE_SIZE);
	c->synic = alloc_percpu(struct hvis_vmbus_synic);
	if (!c->synic)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		sc = per_cpu_ptr(c->synic, cpu);
		sc->msg_page = (void *)get_zeroed_page(GFP_KERNEL);
		sc->event_page = (void *)get_zeroed_page(GFP_KERNEL);
		if (!sc->msg_page || !sc->event_page) {
			hvis_vmbus_synic_free();
			return -ENOMEM;
		}
	}

	hv_setup_vmbus_handler(hvis_vmbus_isr);
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "hvis_vmbus:online",
				hvis_vmbus_cpu_online, hvis_vmbus_cpu_offline);
	if (ret < 0) {
		hv_remove_vmbus_handler();
		synchronize_rcu();
		hvis_vmbus_synic_free();
		return ret;
	}
	c->cpuhp_state = ret;
	return 0;
}

void hvis_vmbus_synic_exit(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;

	if (c->cpuhp_state > 0)
		cpuhp_remove_state(c->cpuhp_state);
	c->cpuhp_state = 0;
	/*
	 * Every SINT is masked now. The kernel calls the handler with
	 * interrupts off: once an RCU grace period has passed, no CPU is
	 * still inside it and the pages can go.
	 */
	hv_remove_vmbus_handler();
	synchronize_rcu();
	flush_workqueue(c->msg_wq);
	flush_workqueue(c->chan_wq);
	hvis_vmbus_synic_free();
}

/* ------------------------------------------------------------ connecting */

/* VERSION_RESPONSE, from the message worker. */
void hvis_vmbus_on_version_response(const void *msg, u32 len)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_chmsg_version_response r;

	memcpy(&r, msg, min_t(u32, len, sizeof(r)));
	spin_lock(&c->lock);
	if (c->state != HVIS_VMBUS_CONNECTING || !c->want_version) {
		spin_unlock(&c->lock);
		hvis_vmbus_bad(HVIS_BAD_UNEXPECTED, HVIS_CHMSG_VERSION_RESPONSE,
			       "no INITIATE_CONTACT is waiting");
		return;
	}
	/* From 5.0 the answer names our message connection. */
	if (c->asked_version >= HVIS_VMBUS_VERSION_WIN10_RS4 &&
	    len < sizeof(r)) {
		spin_unlock(&c->lock);
		hvis_vmbus_bad(HVIS_BAD_SHAPE, HVIS_CHMSG_VERSION_RESPONSE,
			       "%u bytes, needs %zu from 5.0 on", len,
			       sizeof(r));
		return;
	}
	if (r.vr_version_supported > 1) {
		spin_unlock(&c->lock);
		hvis_vmbus_bad(HVIS_BAD_FIELD, HVIS_CHMSG_VERSION_RESPONSE,
			       "version_supported is %u",
			       r.vr_version_supported);
		return;
	}
	c->version_resp = r;
	c->want_version = false;
	complete(&c->version_done);
	spin_unlock(&c->lock);
}

/* UNLOAD_RESPONSE, from the message worker. */
void hvis_vmbus_on_unload_response(const void *msg, u32 len)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;

	spin_lock(&c->lock);
	if (c->state != HVIS_VMBUS_UNLOADING || !c->want_unload) {
		spin_unlock(&c->lock);
		hvis_vmbus_bad(HVIS_BAD_UNEXPECTED, HVIS_CHMSG_UNLOAD_RESPONSE,
			       "no UNLOAD is waiting");
		return;
	}
	c->want_unload = false;
	complete(&c->unload_done);
	spin_unlock(&c->lock);
}

static void hvis_vmbus_set_state(enum hvis_vmbus_state state)
{
	spin_lock(&hvis_vmbus.lock);
	WRITE_ONCE(hvis_vmbus.state, state);
	spin_unlock(&hvis_vmbus.lock);
}

/*
 * One INITIATE_CONTACT. 0: connected; -ECONNREFUSED: the host said no;
 * -ENXIO: the host has no connection 4 (a host before 5.0); else fatal.
 */
static int hvis_vmbus_try_version(u32 version)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_chmsg_initiate_contact m;
	struct hvis_chmsg_version_response r;
	u32 conn_id;
	int ret;

	memset(&m, 0, sizeof(m));
	m.ic_hdr.ch_msgtype = HVIS_CHMSG_INITIATE_CONTACT;
	m.ic_version_requested = version;
	m.ic_target_vcpu = hv_cpu_number_to_vp_number(c->msg_cpu);
	if (version >= HVIS_VMBUS_VERSION_WIN10_RS4) {
		m.ic_msg_sint = HVIS_VMBUS_MESSAGE_SINT;
		conn_id = HVIS_VMBUS_MESSAGE_CONNECTION_ID_4;
	} else {
		m.ic_interrupt_page = virt_to_phys(c->int_page);
		conn_id = HVIS_VMBUS_MESSAGE_CONNECTION_ID;
	}
	m.ic_monitor_page1 = virt_to_phys(c->monitor_page[0]);
	m.ic_monitor_page2 = virt_to_phys(c->monitor_page[1]);

	spin_lock(&c->lock);
	c->asked_version = version;
	c->want_version = true;
	reinit_completion(&c->version_done);
	spin_unlock(&c->lock);

	ret = hvis_vmbus_post_to(conn_id, &m, sizeof(m));
	if (!ret && !wait_for_completion_timeout(&c->version_done,
			msecs_to_jiffies(HVIS_VMBUS_REPLY_TIMEOUT_MS))) {
		pr_err("no VERSION_RESPONSE to %u.%u within %u ms\n",
		       HVIS_VER_MAJOR(version), HVIS_VER_MINOR(version),
		       HVIS_VMBUS_REPLY_TIMEOUT_MS);
		ret = -ETIMEDOUT;
	}
	spin_lock(&c->lock);
	c->want_version = false;
	r = c->version_resp;
	spin_unlock(&c->lock);
	if (ret)
		return ret;
	if (!r.vr_version_supported)
		return -ECONNREFUSED;

	if (version >= HVIS_VMBUS_VERSION_WIN10_RS4) {
		if (!r.vr_msg_conn_id ||
		    r.vr_msg_conn_id > HVIS_VMBUS_CONNID_MAX) {
			pr_err("the host accepted %u.%u but named message connection %#x\n",
			       HVIS_VER_MAJOR(version),
			       HVIS_VER_MINOR(version), r.vr_msg_conn_id);
			return -EPROTO;
		}
		conn_id = r.vr_msg_conn_id;
	}
	spin_lock(&c->lock);
	c->version = version;
	WRITE_ONCE(c->msg_conn_id, conn_id);
	WRITE_ONCE(c->state, HVIS_VMBUS_CONNECTED);
	spin_unlock(&c->lock);
	return 0;
}

int hvis_vmbus_connect(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	unsigned int i;
	int ret = -ECONNREFUSED;

	/* The host sends to one CPU: keep it online while connected. */
	cpus_read_lock();
	c->msg_cpu = cpu_online(0) ? 0 : cpumask_first(cpu_online_mask);
	hvis_vmbus_set_state(HVIS_VMBUS_CONNECTING);
	cpus_read_unlock();

	for (i = 0; i < ARRAY_SIZE(hvis_vmbus_versions); i++) {
		u32 v = hvis_vmbus_versions[i];

		if (v > c->max_version)
			continue;
		ret = hvis_vmbus_try_version(v);
		if (!ret) {
			pr_info("connected: VMBus version %u.%u, messages on connection %u, host messages to CPU %u\n",
				HVIS_VER_MAJOR(v), HVIS_VER_MINOR(v),
				c->msg_conn_id, c->msg_cpu);
			return 0;
		}
		if (ret != -ECONNREFUSED && ret != -ENXIO)
			break;
		pr_debug("VMBus %u.%u: %s\n", HVIS_VER_MAJOR(v),
			 HVIS_VER_MINOR(v), ret == -ENXIO ?
			 "no message connection 4" : "refused");
	}
	if (ret == -ECONNREFUSED || ret == -ENXIO) {
		pr_err("the host accepts no VMBus version from %u.%u down to 2.4\n",
		       HVIS_VER_MAJOR(c->max_version),
		       HVIS_VER_MINOR(c->max_version));
		ret = -ECONNREFUSED;
	}
	hvis_vmbus_set_state(HVIS_VMBUS_DISCONNECTED);
	return ret;
}

/*
 * Leave VMBus: drop every channel, send UNLOAD, wait (bounded) for the
 * host's UNLOAD_RESPONSE. Afterwards the host has forgotten us and a new
 * INITIATE_CONTACT starts afresh.
 */
void hvis_vmbus_unload(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;
	struct hvis_chmsg_hdr m = { .ch_msgtype = HVIS_CHMSG_UNLOAD };
	int ret;

	spin_lock(&c->lock);
	if (c->state != HVIS_VMBUS_CONNECTED) {
		spin_unlock(&c->lock);
		return;
	}
	WRITE_ONCE(c->state, HVIS_VMBUS_UNLOADING);
	c->want_unload = true;
	reinit_completion(&c->unload_done);
	spin_unlock(&c->lock);

	/* Offers still on their way are dropped from now on. */
	flush_workqueue(c->msg_wq);
	flush_workqueue(c->chan_wq);
	hvis_vmbus_remove_all();

	ret = hvis_vmbus_post(&m, sizeof(m));
	if (ret)
		pr_warn("could not send UNLOAD (%d)\n", ret);
	else if (!wait_for_completion_timeout(&c->unload_done,
			msecs_to_jiffies(HVIS_VMBUS_REPLY_TIMEOUT_MS)))
		pr_warn("no UNLOAD_RESPONSE within %u ms\n",
			HVIS_VMBUS_REPLY_TIMEOUT_MS);
	else
		pr_info("disconnected: the host acknowledged UNLOAD\n");

	spin_lock(&c->lock);
	c->want_unload = false;
	c->version = 0;
	WRITE_ONCE(c->state, HVIS_VMBUS_DISCONNECTED);
	spin_unlock(&c->lock);
}

/* ------------------------------------------------------------ lifetime */

void hvis_vmbus_conn_exit(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;

	if (c->chan_wq)
		destroy_workqueue(c->chan_wq);
	if (c->msg_wq)
		destroy_workqueue(c->msg_wq);
	c->chan_wq = NULL;
	c->msg_wq = NULL;
	free_page((unsigned long)c->post_page);
	free_page((unsigned long)c->int_page);
	free_page((unsigned long)c->monitor_page[0]);
	free_page((unsigned long)c->monitor_page[1]);
	c->post_page = NULL;
	c->int_page = NULL;
	c->monitor_page[0] = NULL;
	c->monitor_page[1] = NULL;
}

int hvis_vmbus_conn_init(void)
{
	struct hvis_vmbus_conn *c = &hvis_vmbus;

	spin_lock_init(&c->lock);
	spin_lock_init(&c->rxq_lock);
	mutex_init(&c->post_lock);
	init_completion(&c->version_done);
	init_completion(&c->unload_done);
	init_completion(&c->offers_done);
	INIT_WORK(&c->rx_work, hvis_vmbus_rx_work);
	c->state = HVIS_VMBUS_DISCONNECTED;
	c->msg_conn_id = HVIS_VMBUS_MESSAGE_CONNECTION_ID;

	/*
	 * The host reads the interrupt page (before 5.0) and the monitor
	 * pages by their GPAs: whole zeroed pages. The post page is the
	 * hypercall's input and must not cross a page boundary.
	 */
	c->post_page = (void *)get_zeroed_page(GFP_KERNEL);
	c->int_page = (void *)get_zeroed_page(GFP_KERNEL);
	c->monitor_page[0] = (void *)get_zeroed_page(GFP_KERNEL);
	c->monitor_page[1] = (void *)get_zeroed_page(GFP_KERNEL);
	c->msg_wq = alloc_ordered_workqueue("hvis_vmbus_msg", 0);
	c->chan_wq = alloc_ordered_workqueue("hvis_vmbus_chan", 0);
	if (!c->post_page || !c->int_page || !c->monitor_page[0] ||
	    !c->monitor_page[1] || !c->msg_wq || !c->chan_wq) {
		hvis_vmbus_conn_exit();
		return -ENOMEM;
	}
	return 0;
}
