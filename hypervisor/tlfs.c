// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLFS emulation: synthetic MSRs, hypercalls, SynIC, synthetic timers,
 * reference TSC page, crash MSRs. See tlfs.h for the shape of the unit.
 * Semantics follow the TLFS; where it is silent, what KVM's and Xen's
 * emulations do and what Linux relies on (comments say which).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tlfs.h"

/*
 * Hypercall page stub. Fast HvSignalEvent (RCX = 0x1005D, flag number 0)
 * becomes one `out` to TLFS_HCALL_SIGNAL_PORT with the connection id in
 * EAX: with an ioeventfd that datamatches the id, it completes in the
 * kernel without an exit. Everything else traps to userspace through
 * TLFS_HCALL_PORT, where RCX/RDX/R8 are read and RAX set.
 */
const uint8_t tlfs_hypercall_stub[] = {
	0x48, 0x81, 0xF9, 0x5D, 0x00, 0x01, 0x00, /*  0: cmp rcx, 0x1005d */
	0x75, 0x10,				  /*  7: jne slow (25) */
	0x48, 0x89, 0xD0,			  /*  9: mov rax, rdx */
	0x48, 0xC1, 0xE8, 0x20,			  /* 12: shr rax, 32 */
	0x75, 0x07,				  /* 16: jnz slow (flag != 0) */
	0x89, 0xD0,				  /* 18: mov eax, edx */
	0xE7, TLFS_HCALL_SIGNAL_PORT,		  /* 20: out 0xeb, eax */
	0x31, 0xC0,				  /* 22: xor eax, eax */
	0xC3,					  /* 24: ret */
	0xE7, TLFS_HCALL_PORT,			  /* 25: slow: out 0xe8, eax */
	0xC3,					  /* 27: ret */
};
const unsigned int tlfs_hypercall_stub_len = sizeof(tlfs_hypercall_stub);

uint64_t tlfs_tsc_scale(uint64_t tsc_hz)
{
	/* scale = 10^7 * 2^64 / tsc_hz: 100 ns ticks per TSC tick, 0.64 fixed */
	return (uint64_t)(((unsigned __int128)HVIS_REFTIME_HZ << 64) / tsc_hz);
}

struct tlfs *tlfs_create(const struct tlfs_options *opt,
			 const struct tlfs_platform *plat)
{
	struct tlfs *t;

	if (!opt->nvps || opt->nvps > TLFS_MAX_VPS || !opt->tsc_hz)
		return NULL;
	t = calloc(1, sizeof(*t) + opt->nvps * sizeof(t->vp[0]));
	if (!t)
		return NULL;
	t->opt = *opt;
	t->plat = *plat;
	t->tsc_scale = tlfs_tsc_scale(opt->tsc_hz);
	pthread_mutex_init(&t->lock, NULL);
	for (unsigned int i = 0; i < opt->nvps; i++) {
		pthread_mutex_init(&t->vp[i].lock, NULL);
		for (unsigned int s = 0; s < HVIS_SINT_COUNT; s++)
			t->vp[i].sint[s] = HVIS_SINT_RESET_VALUE;
	}
	return t;
}

void tlfs_destroy(struct tlfs *t)
{
	if (!t)
		return;
	for (unsigned int i = 0; i < t->opt.nvps; i++)
		pthread_mutex_destroy(&t->vp[i].lock);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int tlfs_set_connection(struct tlfs *t, uint32_t connection_id,
			const struct tlfs_connection *c)
{
	int ret = 0;
	unsigned int i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nconn && t->conn[i].id != connection_id; i++)
		;
	if (!c) {
		if (i < t->nconn)
			t->conn[i] = t->conn[--t->nconn];
	} else if (i < t->nconn) {
		t->conn[i].c = *c;
	} else if (t->nconn < TLFS_MAX_CONNECTIONS) {
		t->conn[t->nconn].id = connection_id;
		t->conn[t->nconn++].c = *c;
	} else {
		ret = -ENOSPC;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static bool find_connection(struct tlfs *t, uint32_t id,
			    struct tlfs_connection *out)
{
	bool found = false;

	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < t->nconn; i++) {
		if (t->conn[i].id == id) {
			*out = t->conn[i].c;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

/* ------------------------------------------------------------ SynIC */

static struct hvis_message *msg_slot(struct tlfs *t, struct tlfs_vp *v,
				     unsigned int sint)
{
	struct hvis_message_page *page;

	if (!(v->scontrol & HVIS_SCONTROL_ENABLE) ||
	    !(v->simp & HVIS_MSR_ENABLE))
		return NULL;
	page = t->plat.gpa_ptr(t->plat.opaque, v->simp & HVIS_MSR_GPA_MASK,
			       sizeof(*page));
	return page ? &page->mp_slot[sint] : NULL;
}

/* Raise @sint's interrupt on @vp if it is enabled and unmasked. */
static void raise_sint(struct tlfs *t, unsigned int vp, struct tlfs_vp *v,
		       unsigned int sint)
{
	uint64_t s = v->sint[sint];

	if (!(v->scontrol & HVIS_SCONTROL_ENABLE) || (s & HVIS_SINT_MASKED) ||
	    (s & HVIS_SINT_POLLING))
		return;
	if ((s & HVIS_SINT_VECTOR_MASK) < HVIS_SINT_MIN_VECTOR)
		return;
	t->plat.interrupt(t->plat.opaque, vp,
			  (unsigned int)(s & HVIS_SINT_VECTOR_MASK));
}

/*
 * Write a message into a free slot: payload first, the type last (release),
 * so that a guest that sees the type sees the payload too.
 */
static bool try_deliver(struct hvis_message *slot, uint32_t type,
			const void *payload, uint32_t size)
{
	if (__atomic_load_n(&slot->m_hdr.mh_type, __ATOMIC_ACQUIRE) !=
	    HVIS_MSG_NONE)
		return false;
	memcpy(slot->m_payload, payload, size);
	slot->m_hdr.mh_payload_size = (uint8_t)size;
	slot->m_hdr.mh_flags = 0;
	slot->m_hdr.mh_sender = 0;
	__atomic_store_n(&slot->m_hdr.mh_type, type, __ATOMIC_RELEASE);
	return true;
}

static void set_pending_flag(struct hvis_message *slot)
{
	__atomic_fetch_or(&slot->m_hdr.mh_flags, HVIS_MSG_FLAG_PENDING,
			  __ATOMIC_SEQ_CST);
}

static void stimer_deliver_locked(struct tlfs *t, unsigned int vp,
				  struct tlfs_vp *v, unsigned int n);

/* Deliver queued messages (and timer messages) into slots now free. */
static void flush_queues_locked(struct tlfs *t, unsigned int vp,
				struct tlfs_vp *v)
{
	for (unsigned int s = 0; s < HVIS_SINT_COUNT; s++) {
		struct hvis_message *slot;
		bool delivered = false;

		if (!v->q_len[s])
			continue;
		slot = msg_slot(t, v, s);
		if (!slot)
			continue;
		if (try_deliver(slot, v->queue[s][v->q_head[s]].type,
				v->queue[s][v->q_head[s]].payload,
				v->queue[s][v->q_head[s]].size)) {
			v->q_head[s] = (v->q_head[s] + 1) % TLFS_MSG_QUEUE_LEN;
			v->q_len[s]--;
			v->msgs_posted++;
			delivered = true;
		}
		/* more waiting: ask for another EOM */
		if (v->q_len[s])
			set_pending_flag(slot);
		if (delivered)
			raise_sint(t, vp, v, s);
	}
	for (unsigned int n = 0; n < HVIS_STIMER_COUNT; n++)
		if (v->stimer[n].msg_pending)
			stimer_deliver_locked(t, vp, v, n);
}

int tlfs_post_message(struct tlfs *t, unsigned int vp, unsigned int sint,
		      uint32_t type, const void *payload, uint32_t size)
{
	struct tlfs_vp *v;
	struct hvis_message *slot;
	int ret = 0;

	if (vp >= t->opt.nvps || sint >= HVIS_SINT_COUNT ||
	    size > HVIS_MESSAGE_PAYLOAD_MAX || type == HVIS_MSG_NONE)
		return -EINVAL;
	v = &t->vp[vp];
	pthread_mutex_lock(&v->lock);
	slot = msg_slot(t, v, sint);
	if (!slot) {
		ret = -ENODEV;
	} else if (!v->q_len[sint] && try_deliver(slot, type, payload, size)) {
		v->msgs_posted++;
		raise_sint(t, vp, v, sint);
	} else if (v->q_len[sint] < TLFS_MSG_QUEUE_LEN) {
		struct tlfs_queued_msg *m = &v->queue[sint]
			[(v->q_head[sint] + v->q_len[sint]) % TLFS_MSG_QUEUE_LEN];

		m->type = type;
		m->size = size;
		memcpy(m->payload, payload, size);
		v->q_len[sint]++;
		v->msgs_queued++;
		/* the guest writes EOM after a message it saw this flag on */
		set_pending_flag(slot);
		/* the slot may have been freed between the two checks */
		flush_queues_locked(t, vp, v);
	} else {
		v->msgs_dropped++;
		ret = -EAGAIN;
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

int tlfs_signal_flag(struct tlfs *t, unsigned int vp, unsigned int sint,
		     unsigned int flag)
{
	struct hvis_event_flags_page *page;
	struct tlfs_vp *v;
	uint8_t bit, old;
	int ret = 0;

	if (vp >= t->opt.nvps || sint >= HVIS_SINT_COUNT ||
	    flag >= HVIS_EVENT_FLAGS_COUNT)
		return -EINVAL;
	v = &t->vp[vp];
	pthread_mutex_lock(&v->lock);
	if (!(v->scontrol & HVIS_SCONTROL_ENABLE) ||
	    !(v->siefp & HVIS_MSR_ENABLE) ||
	    !(page = t->plat.gpa_ptr(t->plat.opaque,
				     v->siefp & HVIS_MSR_GPA_MASK,
				     sizeof(*page)))) {
		ret = -ENODEV;
	} else {
		bit = (uint8_t)(1u << (flag % 8));
		old = __atomic_fetch_or(&page->ef_sint[sint][flag / 8], bit,
					__ATOMIC_SEQ_CST);
		if (!(old & bit))
			raise_sint(t, vp, v, sint);
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* ------------------------------------------------------------ timers */

static uint64_t now_ref(struct tlfs *t)
{
	return t->plat.ref_time(t->plat.opaque);
}

static unsigned int stimer_sint(uint64_t config)
{
	return (unsigned int)((config & HVIS_STIMER_SINT_MASK) >>
			      HVIS_STIMER_SINT_SHIFT);
}

static void stimer_cancel(struct tlfs *t, unsigned int vp,
			  struct tlfs_stimer *st, unsigned int n)
{
	if (st->deadline) {
		st->deadline = 0;
		t->plat.arm_timer(t->plat.opaque, vp, n, 0);
	}
}

/* (Re)arm an enabled timer from its CONFIG and COUNT. */
static void stimer_start(struct tlfs *t, unsigned int vp, struct tlfs_vp *v,
			 unsigned int n)
{
	struct tlfs_stimer *st = &v->stimer[n];
	uint64_t now = now_ref(t);

	if (st->config & HVIS_STIMER_PERIODIC) {
		st->deadline = now + st->count;
	} else {
		/* one-shot: COUNT is an absolute time; past = fire at once */
		st->deadline = st->count > now ? st->count : now;
	}
	if (!st->deadline)
		st->deadline = 1;
	t->plat.arm_timer(t->plat.opaque, vp, n, st->deadline);
}

static void stimer_update(struct tlfs *t, unsigned int vp, struct tlfs_vp *v,
			  unsigned int n)
{
	struct tlfs_stimer *st = &v->stimer[n];

	stimer_cancel(t, vp, st, n);
	st->msg_pending = false;
	/* a message-mode timer aimed at SINT 0 is disabled (TLFS) */
	if ((st->config & HVIS_STIMER_ENABLE) &&
	    !(st->config & HVIS_STIMER_DIRECT_MODE) &&
	    stimer_sint(st->config) == 0)
		st->config &= ~HVIS_STIMER_ENABLE;
	if ((st->config & HVIS_STIMER_ENABLE) && st->count)
		stimer_start(t, vp, v, n);
}

/* Deliver expiry @st->pending_expiry; sets msg_pending if the slot is busy. */
static void stimer_deliver_locked(struct tlfs *t, unsigned int vp,
				  struct tlfs_vp *v, unsigned int n)
{
	struct tlfs_stimer *st = &v->stimer[n];
	struct hvis_timer_message tm;
	struct hvis_message *slot;
	unsigned int sint;

	if (st->config & HVIS_STIMER_DIRECT_MODE) {
		unsigned int vec = (unsigned int)((st->config &
			HVIS_STIMER_VECTOR_MASK) >> HVIS_STIMER_VECTOR_SHIFT);

		st->msg_pending = false;
		if (vec >= HVIS_SINT_MIN_VECTOR)
			t->plat.interrupt(t->plat.opaque, vp, vec);
		return;
	}
	sint = stimer_sint(st->config);
	slot = msg_slot(t, v, sint);
	if (!slot) {
		st->msg_pending = false;	/* nowhere to deliver: drop */
		return;
	}
	tm.tm_timer_index = n;
	tm.tm_reserved = 0;
	tm.tm_expiration_time = st->pending_expiry;
	tm.tm_delivery_time = now_ref(t);
	if (try_deliver(slot, HVIS_MSG_TIMER_EXPIRED, &tm, sizeof(tm))) {
		st->msg_pending = false;
		raise_sint(t, vp, v, sint);
	} else {
		st->msg_pending = true;
		set_pending_flag(slot);
	}
}

void tlfs_timer_expired(struct tlfs *t, unsigned int vp, unsigned int n)
{
	struct tlfs_vp *v;
	struct tlfs_stimer *st;
	uint64_t now;

	if (vp >= t->opt.nvps || n >= HVIS_STIMER_COUNT)
		return;
	v = &t->vp[vp];
	st = &v->stimer[n];
	pthread_mutex_lock(&v->lock);
	if (!st->deadline || !(st->config & HVIS_STIMER_ENABLE)) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	v->timer_fires++;
	st->pending_expiry = st->deadline;
	stimer_deliver_locked(t, vp, v, n);
	if (st->config & HVIS_STIMER_PERIODIC) {
		/* next period after now: missed expirations are not queued */
		now = now_ref(t);
		st->deadline += st->count;
		if (st->deadline <= now)
			st->deadline = now + st->count;
		t->plat.arm_timer(t->plat.opaque, vp, n, st->deadline);
	} else {
		st->deadline = 0;
		st->config &= ~HVIS_STIMER_ENABLE;
	}
	pthread_mutex_unlock(&v->lock);
}

/* ------------------------------------------------------------ pages */

static int write_hypercall_page(struct tlfs *t, uint64_t gpa)
{
	uint8_t *page = t->plat.gpa_ptr(t->plat.opaque, gpa, HVIS_PAGE_SIZE);

	if (!page)
		return -1;
	memset(page, 0xCC, HVIS_PAGE_SIZE);	/* int3 beyond the stub */
	memcpy(page, tlfs_hypercall_stub, tlfs_hypercall_stub_len);
	return 0;
}

/*
 * Publish the TSC page: invalidate (sequence 0), write scale and offset,
 * then a new sequence that is neither 0 nor 0xFFFFFFFF (KVM's rule).
 */
static int write_tsc_page(struct tlfs *t, uint64_t gpa)
{
	struct hvis_tsc_page *p = t->plat.gpa_ptr(t->plat.opaque, gpa,
						  HVIS_PAGE_SIZE);

	if (!p)
		return -1;
	__atomic_store_n(&p->ts_sequence, HVIS_TSC_SEQUENCE_INVALID,
			 __ATOMIC_SEQ_CST);
	p->ts_scale = t->tsc_scale;
	p->ts_offset = 0;	/* reference time = scaled guest TSC */
	do {
		t->tsc_sequence++;
	} while (t->tsc_sequence == 0 || t->tsc_sequence == 0xFFFFFFFFu);
	__atomic_store_n(&p->ts_sequence, t->tsc_sequence, __ATOMIC_SEQ_CST);
	return 0;
}

/* ------------------------------------------------------------ MSRs */

bool tlfs_msr_in_range(uint32_t msr)
{
	return msr >= HVIS_MSR_RANGE_BASE &&
	       msr < HVIS_MSR_RANGE_BASE + HVIS_MSR_RANGE_COUNT;
}

static int vp_rdmsr(struct tlfs *t, unsigned int vp, struct tlfs_vp *v,
		    uint32_t msr, uint64_t *val)
{
	if (msr >= HVIS_MSR_SINT0 && msr < HVIS_MSR_SINT0 + HVIS_SINT_COUNT) {
		*val = v->sint[msr - HVIS_MSR_SINT0];
		return 0;
	}
	if (msr >= HVIS_MSR_STIMER0_CONFIG &&
	    msr < HVIS_MSR_STIMER0_CONFIG + 2 * HVIS_STIMER_COUNT) {
		struct tlfs_stimer *st = &v->stimer[(msr - HVIS_MSR_STIMER0_CONFIG) / 2];

		*val = (msr - HVIS_MSR_STIMER0_CONFIG) % 2 ? st->count : st->config;
		return 0;
	}
	switch (msr) {
	case HVIS_MSR_VP_INDEX:
		*val = vp;
		return 0;
	case HVIS_MSR_VP_RUNTIME:
		*val = t->plat.vp_runtime ? t->plat.vp_runtime(t->plat.opaque, vp) : 0;
		return 0;
	case HVIS_MSR_VP_ASSIST_PAGE:
		*val = v->vp_assist;
		return 0;
	case HVIS_MSR_SCONTROL:
		*val = v->scontrol;
		return 0;
	case HVIS_MSR_SVERSION:
		*val = HVIS_SYNIC_VERSION;
		return 0;
	case HVIS_MSR_SIMP:
		*val = v->simp;
		return 0;
	case HVIS_MSR_SIEFP:
		*val = v->siefp;
		return 0;
	case HVIS_MSR_EOM:
		*val = 0;
		return 0;
	}
	return -1;
}

int tlfs_rdmsr(struct tlfs *t, unsigned int vp, uint32_t msr, uint64_t *val)
{
	int ret = 0;

	if (vp >= t->opt.nvps)
		return -1;
	switch (msr) {
	case HVIS_MSR_GUEST_OS_ID:
		*val = t->guest_os_id;
		return 0;
	case HVIS_MSR_HYPERCALL:
		*val = t->hypercall;
		return 0;
	case HVIS_MSR_TIME_REF_COUNT:
		*val = now_ref(t);
		return 0;
	case HVIS_MSR_REFERENCE_TSC:
		if (!t->opt.reference_tsc)
			return -1;
		*val = t->ref_tsc;
		return 0;
	case HVIS_MSR_TSC_FREQUENCY:
		*val = t->opt.tsc_hz;
		return 0;
	case HVIS_MSR_APIC_FREQUENCY:
		*val = t->opt.apic_hz;
		return 0;
	case HVIS_MSR_CRASH_CTL:
		if (!t->opt.crash_msrs)
			return -1;
		*val = HVIS_CRASH_CTL_NOTIFY;	/* what we support */
		return 0;
	}
	if (msr >= HVIS_MSR_CRASH_P0 && msr < HVIS_MSR_CRASH_P0 + 5) {
		if (!t->opt.crash_msrs)
			return -1;
		*val = t->crash[msr - HVIS_MSR_CRASH_P0];
		return 0;
	}
	pthread_mutex_lock(&t->vp[vp].lock);
	ret = vp_rdmsr(t, vp, &t->vp[vp], msr, val);
	pthread_mutex_unlock(&t->vp[vp].lock);
	return ret;
}

static int vp_wrmsr(struct tlfs *t, unsigned int vp, struct tlfs_vp *v,
		    uint32_t msr, uint64_t val)
{
	if (msr >= HVIS_MSR_SINT0 && msr < HVIS_MSR_SINT0 + HVIS_SINT_COUNT) {
		unsigned int s = msr - HVIS_MSR_SINT0;
		uint64_t vec = val & HVIS_SINT_VECTOR_MASK;

		/* vectors 0..15 are invalid unless the SINT stays masked */
		if (!(val & HVIS_SINT_MASKED) && vec < HVIS_SINT_MIN_VECTOR)
			return -1;
		v->sint[s] = val & (HVIS_SINT_VECTOR_MASK | HVIS_SINT_MASKED |
				    HVIS_SINT_AUTO_EOI | HVIS_SINT_POLLING);
		if (t->plat.sint_changed)
			t->plat.sint_changed(t->plat.opaque, vp, s, v->sint[s]);
		flush_queues_locked(t, vp, v);
		return 0;
	}
	if (msr >= HVIS_MSR_STIMER0_CONFIG &&
	    msr < HVIS_MSR_STIMER0_CONFIG + 2 * HVIS_STIMER_COUNT) {
		unsigned int n = (msr - HVIS_MSR_STIMER0_CONFIG) / 2;
		struct tlfs_stimer *st = &v->stimer[n];

		if ((msr - HVIS_MSR_STIMER0_CONFIG) % 2) {	/* COUNT */
			st->count = val;
			if (!val)
				st->config &= ~HVIS_STIMER_ENABLE;
			else if (st->config & HVIS_STIMER_AUTO_ENABLE)
				st->config |= HVIS_STIMER_ENABLE;
		} else {					/* CONFIG */
			if ((val & HVIS_STIMER_DIRECT_MODE) && !t->opt.stimer_direct)
				return -1;
			st->config = val & (HVIS_STIMER_ENABLE | HVIS_STIMER_PERIODIC |
					    HVIS_STIMER_LAZY | HVIS_STIMER_AUTO_ENABLE |
					    HVIS_STIMER_VECTOR_MASK |
					    HVIS_STIMER_DIRECT_MODE |
					    HVIS_STIMER_SINT_MASK);
			if ((st->config & HVIS_STIMER_AUTO_ENABLE) && st->count)
				st->config |= HVIS_STIMER_ENABLE;
		}
		stimer_update(t, vp, v, n);
		return 0;
	}
	switch (msr) {
	case HVIS_MSR_VP_ASSIST_PAGE:
		/* accepted and remembered; no assist features are offered */
		v->vp_assist = val;
		return 0;
	case HVIS_MSR_SCONTROL:
		v->scontrol = val & HVIS_SCONTROL_ENABLE;
		flush_queues_locked(t, vp, v);
		return 0;
	case HVIS_MSR_SIMP:
	case HVIS_MSR_SIEFP: {
		uint64_t *reg = msr == HVIS_MSR_SIMP ? &v->simp : &v->siefp;

		if ((val & HVIS_MSR_ENABLE) &&
		    !t->plat.gpa_ptr(t->plat.opaque, val & HVIS_MSR_GPA_MASK,
				     HVIS_PAGE_SIZE))
			return -1;
		/* a newly enabled page starts empty (as KVM does) */
		if ((val & HVIS_MSR_ENABLE) &&
		    (!(*reg & HVIS_MSR_ENABLE) ||
		     (*reg & HVIS_MSR_GPA_MASK) != (val & HVIS_MSR_GPA_MASK)))
			memset(t->plat.gpa_ptr(t->plat.opaque,
					       val & HVIS_MSR_GPA_MASK,
					       HVIS_PAGE_SIZE), 0, HVIS_PAGE_SIZE);
		*reg = val & (HVIS_MSR_GPA_MASK | HVIS_MSR_ENABLE);
		flush_queues_locked(t, vp, v);
		return 0;
	}
	case HVIS_MSR_EOM:
		v->eoms++;
		flush_queues_locked(t, vp, v);
		return 0;
	}
	return -1;
}

int tlfs_wrmsr(struct tlfs *t, unsigned int vp, uint32_t msr, uint64_t val)
{
	int ret = 0;

	if (vp >= t->opt.nvps)
		return -1;
	switch (msr) {
	case HVIS_MSR_GUEST_OS_ID:
		pthread_mutex_lock(&t->lock);
		t->guest_os_id = val;
		if (!val)	/* no OS id: hypercalls off (as KVM, Xen) */
			t->hypercall &= ~HVIS_MSR_ENABLE;
		pthread_mutex_unlock(&t->lock);
		return 0;
	case HVIS_MSR_HYPERCALL:
		pthread_mutex_lock(&t->lock);
		if ((val & HVIS_MSR_ENABLE) && !t->guest_os_id) {
			ret = -1;
		} else if ((val & HVIS_MSR_ENABLE) &&
			   write_hypercall_page(t, val & HVIS_MSR_GPA_MASK)) {
			ret = -1;
		} else {
			t->hypercall = val & (HVIS_MSR_GPA_MASK | HVIS_MSR_ENABLE);
		}
		pthread_mutex_unlock(&t->lock);
		return ret;
	case HVIS_MSR_REFERENCE_TSC:
		if (!t->opt.reference_tsc)
			return -1;
		pthread_mutex_lock(&t->lock);
		if ((val & HVIS_MSR_ENABLE) &&
		    write_tsc_page(t, val & HVIS_MSR_GPA_MASK))
			ret = -1;
		else
			t->ref_tsc = val & (HVIS_MSR_GPA_MASK | HVIS_MSR_ENABLE);
		pthread_mutex_unlock(&t->lock);
		return ret;
	case HVIS_MSR_CRASH_CTL:
		if (!t->opt.crash_msrs)
			return -1;
		if (val & HVIS_CRASH_CTL_NOTIFY) {
			uint64_t p[5];

			pthread_mutex_lock(&t->lock);
			memcpy(p, t->crash, sizeof(p));
			pthread_mutex_unlock(&t->lock);
			t->plat.crash(t->plat.opaque, vp, p);
		}
		return 0;
	case HVIS_MSR_VP_INDEX:
	case HVIS_MSR_TIME_REF_COUNT:
	case HVIS_MSR_TSC_FREQUENCY:
	case HVIS_MSR_APIC_FREQUENCY:
	case HVIS_MSR_VP_RUNTIME:
	case HVIS_MSR_SVERSION:
		return -1;	/* read-only */
	}
	if (msr >= HVIS_MSR_CRASH_P0 && msr < HVIS_MSR_CRASH_P0 + 5) {
		if (!t->opt.crash_msrs)
			return -1;
		pthread_mutex_lock(&t->lock);
		t->crash[msr - HVIS_MSR_CRASH_P0] = val;
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	pthread_mutex_lock(&t->vp[vp].lock);
	ret = vp_wrmsr(t, vp, &t->vp[vp], msr, val);
	pthread_mutex_unlock(&t->vp[vp].lock);
	if (msr == HVIS_MSR_EOM && t->plat.eom)
		t->plat.eom(t->plat.opaque, vp);
	return ret;
}

/* ------------------------------------------------------------ hypercalls */

static uint64_t hc_result(uint16_t status)
{
	return status;
}

static uint16_t hc_post_message(struct tlfs *t, unsigned int vp,
				uint64_t control, uint64_t input)
{
	struct hvis_post_message_input in;
	const struct hvis_post_message_input *src;
	struct tlfs_connection c;

	if (control & HVIS_HC_FAST)
		return HVIS_STATUS_INVALID_HYPERCALL_INPUT;
	if (input & 7)
		return HVIS_STATUS_INVALID_ALIGNMENT;
	src = t->plat.gpa_ptr(t->plat.opaque, input, sizeof(in));
	if (!src)
		return HVIS_STATUS_INVALID_PARAMETER;
	memcpy(&in, src, sizeof(in));	/* one copy: no double fetch */
	if (in.pm_payload_size > HVIS_MESSAGE_PAYLOAD_MAX ||
	    in.pm_message_type == HVIS_MSG_NONE ||
	    (in.pm_message_type & 0x80000000u))	/* hypervisor types */
		return HVIS_STATUS_INVALID_PARAMETER;
	if (!find_connection(t, in.pm_connection_id, &c) || !c.post_message)
		return HVIS_STATUS_INVALID_CONNECTION_ID;
	return c.post_message(c.opaque, vp, in.pm_connection_id,
			      in.pm_message_type, in.pm_payload,
			      in.pm_payload_size);
}

static uint16_t do_signal(struct tlfs *t, unsigned int vp, uint32_t conn,
			  uint16_t flag)
{
	struct tlfs_connection c;

	if (flag)	/* Linux sends flag 0; others are not offered */
		return HVIS_STATUS_INVALID_PARAMETER;
	if (!find_connection(t, conn, &c) || !c.signal_event)
		return HVIS_STATUS_INVALID_CONNECTION_ID;
	return c.signal_event(c.opaque, vp, conn, flag);
}

static uint16_t hc_signal_event(struct tlfs *t, unsigned int vp,
				uint64_t control, uint64_t input)
{
	const uint8_t *src;
	uint32_t conn;
	uint16_t flag;

	if (control & HVIS_HC_FAST) {
		conn = (uint32_t)(input & HVIS_SIGNAL_CONNID_MASK);
		flag = (uint16_t)(input >> HVIS_SIGNAL_FLAG_SHIFT);
		if (input & ~(HVIS_SIGNAL_CONNID_MASK | (0xFFFFull << 32)))
			return HVIS_STATUS_INVALID_HYPERCALL_INPUT;
	} else {
		if (input & 7)
			return HVIS_STATUS_INVALID_ALIGNMENT;
		src = t->plat.gpa_ptr(t->plat.opaque, input, 8);
		if (!src)
			return HVIS_STATUS_INVALID_PARAMETER;
		memcpy(&conn, src, 4);
		memcpy(&flag, src + 4, 2);
		conn &= HVIS_SIGNAL_CONNID_MASK;
	}
	return do_signal(t, vp, conn, flag);
}

uint64_t tlfs_hypercall(struct tlfs *t, unsigned int vp, uint64_t control,
			uint64_t input, uint64_t output)
{
	uint16_t status;

	(void)output;
	__atomic_fetch_add(&t->hypercalls, 1, __ATOMIC_RELAXED);
	if (vp >= t->opt.nvps || !(t->hypercall & HVIS_MSR_ENABLE))
		return hc_result(HVIS_STATUS_ACCESS_DENIED);
	if (control & HVIS_HC_RESERVED_MASK)
		return hc_result(HVIS_STATUS_INVALID_HYPERCALL_INPUT);
	switch (control & HVIS_HC_CODE_MASK) {
	case HVIS_HCALL_POST_MESSAGE:
		status = (control & (HVIS_HC_REP_COUNT_MASK | HVIS_HC_VARHEAD_MASK)) ?
			 HVIS_STATUS_INVALID_HYPERCALL_INPUT :
			 hc_post_message(t, vp, control, input);
		break;
	case HVIS_HCALL_SIGNAL_EVENT:
		status = (control & (HVIS_HC_REP_COUNT_MASK | HVIS_HC_VARHEAD_MASK)) ?
			 HVIS_STATUS_INVALID_HYPERCALL_INPUT :
			 hc_signal_event(t, vp, control, input);
		break;
	default:
		status = HVIS_STATUS_INVALID_HYPERCALL_CODE;
		break;
	}
	if (status != HVIS_STATUS_SUCCESS)
		__atomic_fetch_add(&t->bad_hypercalls, 1, __ATOMIC_RELAXED);
	return hc_result(status);
}

void tlfs_fast_signal(struct tlfs *t, unsigned int vp, uint32_t param)
{
	do_signal(t, vp, param & HVIS_SIGNAL_CONNID_MASK, 0);
}
