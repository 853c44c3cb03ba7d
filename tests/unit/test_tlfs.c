// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLFS emulation tests over a fake platform: guest RAM is a heap block,
 * time is a variable, interrupts and armed timers are recorded. No KVM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include <hvis/tlfs.h>
#include "hypervisor/tlfs.h"
#include "unit.h"

#define RAM_SIZE	(1u << 20)
#define SIMP_GPA	0x10000ull
#define SIEFP_GPA	0x11000ull
#define HCALL_GPA	0x12000ull
#define TSC_GPA		0x13000ull
#define INPUT_GPA	0x14000ull

struct fake {
	uint8_t *ram;
	uint64_t now;
	unsigned int nirq, irq_vp[64], irq_vec[64];
	uint64_t armed[4][4];
	unsigned int arm_calls;
	unsigned int crashes;
	uint64_t crash_p[5];
	unsigned int sint_changes;
	/* connection handler */
	unsigned int posts, signals;
	uint32_t last_type, last_size, last_conn;
	uint8_t last_payload[240];
	uint16_t reply;
};

static struct fake F;

static void *f_gpa(void *o, uint64_t gpa, uint64_t len)
{
	(void)o;
	if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return F.ram + gpa;
}

static uint64_t f_time(void *o)
{
	(void)o;
	return F.now;
}

static void f_irq(void *o, unsigned int vp, unsigned int vec)
{
	(void)o;
	if (F.nirq < 64) {
		F.irq_vp[F.nirq] = vp;
		F.irq_vec[F.nirq] = vec;
	}
	F.nirq++;
}

static void f_arm(void *o, unsigned int vp, unsigned int n, uint64_t d)
{
	(void)o;
	F.armed[vp][n] = d;
	F.arm_calls++;
}

static void f_crash(void *o, unsigned int vp, const uint64_t p[5])
{
	(void)o;
	(void)vp;
	F.crashes++;
	memcpy(F.crash_p, p, sizeof(F.crash_p));
}

static void f_sint(void *o, unsigned int vp, unsigned int s, uint64_t v)
{
	(void)o;
	(void)vp;
	(void)s;
	(void)v;
	F.sint_changes++;
}

static uint16_t h_post(void *o, unsigned int vp, uint32_t conn, uint32_t type,
		       const void *payload, uint32_t size)
{
	(void)o;
	(void)vp;
	F.posts++;
	F.last_conn = conn;
	F.last_type = type;
	F.last_size = size;
	memcpy(F.last_payload, payload, size);
	return F.reply;
}

static uint16_t h_signal(void *o, unsigned int vp, uint32_t conn, uint16_t flag)
{
	(void)o;
	(void)vp;
	(void)flag;
	F.signals++;
	F.last_conn = conn;
	return HVIS_STATUS_SUCCESS;
}

static struct tlfs *make(bool direct, bool crash)
{
	struct tlfs_options opt = {
		.nvps = 2, .tsc_hz = 2000000000ull, .apic_hz = 1000000000ull,
		.stimer_direct = direct, .reference_tsc = true, .crash_msrs = crash,
	};
	struct tlfs_platform plat = {
		.gpa_ptr = f_gpa, .ref_time = f_time, .interrupt = f_irq,
		.sint_changed = f_sint, .arm_timer = f_arm, .crash = f_crash,
	};

	free(F.ram);
	memset(&F, 0, sizeof(F));
	F.ram = calloc(1, RAM_SIZE);
	F.now = 1000;
	return tlfs_create(&opt, &plat);
}

static void done(struct tlfs *t)
{
	tlfs_destroy(t);
	free(F.ram);
	F.ram = NULL;
}

/* SynIC on for @vp with SINT @sint unmasked on @vector. */
static void synic_on(struct tlfs *t, unsigned int vp, unsigned int sint,
		     unsigned int vector)
{
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, vp, HVIS_MSR_SCONTROL, 1), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, vp, HVIS_MSR_SIMP, SIMP_GPA | 1), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, vp, HVIS_MSR_SIEFP, SIEFP_GPA | 1), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, vp, HVIS_MSR_SINT(sint), vector), 0);
}

static struct hvis_message *slot(unsigned int sint)
{
	return &((struct hvis_message_page *)(F.ram + SIMP_GPA))->mp_slot[sint];
}

static void enable_hypercalls(struct tlfs *t)
{
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_GUEST_OS_ID, 0x8100000000000000ull), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_HYPERCALL, HCALL_GPA | 1), 0);
}

/* ------------------------------------------------------------ MSRs */

static void test_partition_msrs(void)
{
	struct tlfs *t = make(true, true);
	uint64_t v;

	/* hypercall page needs a guest OS id first */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_HYPERCALL, HCALL_GPA | 1), -1);
	enable_hypercalls(t);
	CU_ASSERT_EQUAL(memcmp(F.ram + HCALL_GPA, tlfs_hypercall_stub,
			       tlfs_hypercall_stub_len), 0);
	CU_ASSERT_EQUAL(F.ram[HCALL_GPA + 4095], 0xCC);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 1, HVIS_MSR_HYPERCALL, &v), 0);
	CU_ASSERT_EQUAL(v, HCALL_GPA | 1);
	/* a page outside guest RAM is refused */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_HYPERCALL, (2ull << 20) | 1), -1);
	/* clearing the OS id switches hypercalls off */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_GUEST_OS_ID, 0), 0);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_HYPERCALL, &v), 0);
	CU_ASSERT_EQUAL(v & 1, 0);

	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 1, HVIS_MSR_VP_INDEX, &v), 0);
	CU_ASSERT_EQUAL(v, 1u);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 1, HVIS_MSR_VP_INDEX, 5), -1);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_TSC_FREQUENCY, &v), 0);
	CU_ASSERT_EQUAL(v, 2000000000ull);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_APIC_FREQUENCY, &v), 0);
	CU_ASSERT_EQUAL(v, 1000000000ull);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_SVERSION, &v), 0);
	CU_ASSERT_EQUAL(v, 1u);
	F.now = 123456;
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_TIME_REF_COUNT, &v), 0);
	CU_ASSERT_EQUAL(v, 123456u);
	/* VP assist page: accepted and read back */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_VP_ASSIST_PAGE, 0x15001), 0);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_VP_ASSIST_PAGE, &v), 0);
	CU_ASSERT_EQUAL(v, 0x15001u);
	/* SINTs reset masked */
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_SINT(7), &v), 0);
	CU_ASSERT_EQUAL(v, HVIS_SINT_MASKED);
	/* unknown MSRs in the range, and bad VPs, fault */
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, 0x40000050, &v), -1);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, 0x400000FF, 1), -1);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 2, HVIS_MSR_VP_INDEX, &v), -1);
	CU_ASSERT_TRUE(tlfs_msr_in_range(HVIS_MSR_CRASH_CTL));
	CU_ASSERT_FALSE(tlfs_msr_in_range(0x3FFFFFFF));
	done(t);
}

static void test_tsc_page(void)
{
	struct tlfs *t = make(true, true);
	struct hvis_tsc_page *p = (void *)(F.ram + TSC_GPA);
	uint32_t seq;

	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_REFERENCE_TSC, TSC_GPA | 1), 0);
	CU_ASSERT_NOT_EQUAL(p->ts_sequence, 0u);
	/* 10^7 / 2*10^9 = 1/200 of 2^64 */
	CU_ASSERT_EQUAL(p->ts_scale, (uint64_t)(((unsigned __int128)1 << 64) / 200));
	CU_ASSERT_EQUAL(p->ts_offset, 0);
	CU_ASSERT_EQUAL(tlfs_tsc_to_ref(2000000000ull, p->ts_scale), 9999999u);
	seq = p->ts_sequence;
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_REFERENCE_TSC, TSC_GPA | 1), 0);
	CU_ASSERT_NOT_EQUAL(p->ts_sequence, seq);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_REFERENCE_TSC, (4ull << 20) | 1), -1);
	done(t);
}

/* ------------------------------------------------------------ SynIC */

static void test_message_delivery_and_eom(void)
{
	struct tlfs *t = make(true, true);
	uint8_t payload[240];
	int i;

	memset(payload, 0xAB, sizeof(payload));
	/* no SynIC yet: nowhere to deliver */
	CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 2, 1, payload, 16), -ENODEV);
	synic_on(t, 0, 2, 0xF3);
	CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 2, 1, payload, 16), 0);
	CU_ASSERT_EQUAL(slot(2)->m_hdr.mh_type, 1u);
	CU_ASSERT_EQUAL(slot(2)->m_hdr.mh_payload_size, 16);
	CU_ASSERT_EQUAL(slot(2)->m_payload[15], 0xAB);
	CU_ASSERT_EQUAL(F.nirq, 1u);
	CU_ASSERT_EQUAL(F.irq_vec[0], 0xF3u);
	/* busy slot: queued, pending flag set, no interrupt */
	payload[0] = 2;
	CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 2, 1, payload, 8), 0);
	CU_ASSERT_EQUAL(F.nirq, 1u);
	CU_ASSERT_EQUAL(slot(2)->m_hdr.mh_flags & HVIS_MSG_FLAG_PENDING,
			HVIS_MSG_FLAG_PENDING);
	/* EOM without freeing the slot delivers nothing */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_EOM, 0), 0);
	CU_ASSERT_EQUAL(F.nirq, 1u);
	/* the guest consumes the slot, then EOM: the next one arrives */
	slot(2)->m_hdr.mh_type = 0;
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_EOM, 0), 0);
	CU_ASSERT_EQUAL(slot(2)->m_hdr.mh_type, 1u);
	CU_ASSERT_EQUAL(slot(2)->m_payload[0], 2);
	CU_ASSERT_EQUAL(slot(2)->m_hdr.mh_flags, 0);
	CU_ASSERT_EQUAL(F.nirq, 2u);
	/* the queue is bounded */
	for (i = 0; i < TLFS_MSG_QUEUE_LEN; i++)
		CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 2, 1, payload, 8), 0);
	CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 2, 1, payload, 8), -EAGAIN);
	/* bad arguments */
	CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 2, 1, payload, 241), -EINVAL);
	CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 16, 1, payload, 8), -EINVAL);
	CU_ASSERT_EQUAL(tlfs_post_message(t, 5, 2, 1, payload, 8), -EINVAL);
	CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 2, 0, payload, 8), -EINVAL);
	done(t);
}

static void test_sint_mask_and_vectors(void)
{
	struct tlfs *t = make(true, true);
	uint8_t payload[8] = { 0 };

	synic_on(t, 0, 2, 0xF3 | HVIS_SINT_MASKED);
	CU_ASSERT_EQUAL(tlfs_post_message(t, 0, 2, 1, payload, 8), 0);
	CU_ASSERT_EQUAL(F.nirq, 0u);		/* masked: no interrupt */
	/* vectors below 16 only while masked */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_SINT(3), 5), -1);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_SINT(3), 5 | HVIS_SINT_MASKED), 0);
	CU_ASSERT(F.sint_changes >= 2);
	done(t);
}

static void test_event_flags(void)
{
	struct tlfs *t = make(true, true);
	uint8_t *flags = F.ram + SIEFP_GPA;

	CU_ASSERT_EQUAL(tlfs_signal_flag(t, 1, 2, 5), -ENODEV);
	synic_on(t, 1, 2, 0xF3);
	CU_ASSERT_EQUAL(tlfs_signal_flag(t, 1, 2, 13), 0);
	CU_ASSERT_EQUAL(flags[2 * 256 + 1], 1u << 5);
	CU_ASSERT_EQUAL(F.nirq, 1u);
	CU_ASSERT_EQUAL(F.irq_vp[0], 1u);
	/* already set: no second interrupt */
	CU_ASSERT_EQUAL(tlfs_signal_flag(t, 1, 2, 13), 0);
	CU_ASSERT_EQUAL(F.nirq, 1u);
	/* the guest clears it: 0 -> 1 interrupts again */
	flags[2 * 256 + 1] = 0;
	CU_ASSERT_EQUAL(tlfs_signal_flag(t, 1, 2, 13), 0);
	CU_ASSERT_EQUAL(F.nirq, 2u);
	CU_ASSERT_EQUAL(tlfs_signal_flag(t, 1, 2, 2048), -EINVAL);
	done(t);
}

/* ------------------------------------------------------------ hypercalls */

static uint64_t post_input(uint32_t conn, uint32_t type, uint32_t size)
{
	struct hvis_post_message_input *in = (void *)(F.ram + INPUT_GPA);

	memset(in, 0, sizeof(*in));
	in->pm_connection_id = conn;
	in->pm_message_type = type;
	in->pm_payload_size = size;
	in->pm_payload[0] = 14;
	return INPUT_GPA;
}

static void test_hypercalls(void)
{
	struct tlfs *t = make(true, true);
	struct tlfs_connection c = { .post_message = h_post,
				     .signal_event = h_signal };
	uint64_t fast_signal = HVIS_HCALL_SIGNAL_EVENT | HVIS_HC_FAST;

	/* before the hypercall page is enabled */
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, HVIS_HCALL_POST_MESSAGE,
				       post_input(4, 1, 40), 0),
			HVIS_STATUS_ACCESS_DENIED);
	enable_hypercalls(t);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, 0x0099, 0, 0),
			HVIS_STATUS_INVALID_HYPERCALL_CODE);
	/* nobody listens on connection 4: Linux probes for exactly this */
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, HVIS_HCALL_POST_MESSAGE,
				       post_input(4, 1, 40), 0),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	CU_ASSERT_EQUAL(tlfs_set_connection(t, 4, &c), 0);
	F.reply = HVIS_STATUS_SUCCESS;
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 1, HVIS_HCALL_POST_MESSAGE,
				       post_input(4, 1, 40), 0),
			HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(F.posts, 1u);
	CU_ASSERT_EQUAL(F.last_size, 40u);
	CU_ASSERT_EQUAL(F.last_payload[0], 14);
	/* the handler's status goes back to the guest */
	F.reply = HVIS_STATUS_INSUFFICIENT_BUFFERS;
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 1, HVIS_HCALL_POST_MESSAGE,
				       post_input(4, 1, 40), 0),
			HVIS_STATUS_INSUFFICIENT_BUFFERS);
	/* malformed input never reaches the handler */
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, HVIS_HCALL_POST_MESSAGE,
				       post_input(4, 1, 241), 0),
			HVIS_STATUS_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, HVIS_HCALL_POST_MESSAGE,
				       INPUT_GPA + 4, 0),
			HVIS_STATUS_INVALID_ALIGNMENT);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, HVIS_HCALL_POST_MESSAGE,
				       RAM_SIZE - 8, 0),
			HVIS_STATUS_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, HVIS_HCALL_POST_MESSAGE,
				       post_input(4, 0x80000010u, 8), 0),
			HVIS_STATUS_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, HVIS_HCALL_POST_MESSAGE | (1ull << 32),
				       post_input(4, 1, 8), 0),
			HVIS_STATUS_INVALID_HYPERCALL_INPUT);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, HVIS_HCALL_POST_MESSAGE | (1ull << 27),
				       post_input(4, 1, 8), 0),
			HVIS_STATUS_INVALID_HYPERCALL_INPUT);
	CU_ASSERT_EQUAL(F.posts, 2u);
	/* fast HvSignalEvent */
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, fast_signal, 4, 0), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(F.signals, 1u);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, fast_signal, 4 | (1ull << 32), 0),
			HVIS_STATUS_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, fast_signal, 7, 0),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	/* the stub's userspace fallback for the fast path */
	tlfs_fast_signal(t, 0, 4);
	CU_ASSERT_EQUAL(F.signals, 2u);
	/* unregistering */
	CU_ASSERT_EQUAL(tlfs_set_connection(t, 4, NULL), 0);
	CU_ASSERT_EQUAL(tlfs_hypercall(t, 0, fast_signal, 4, 0),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	done(t);
}

/* ------------------------------------------------------------ timers */

static void test_stimer_direct(void)
{
	struct tlfs *t = make(true, true);
	uint64_t cfg = HVIS_STIMER_ENABLE | HVIS_STIMER_DIRECT_MODE |
		       (0xECull << HVIS_STIMER_VECTOR_SHIFT), v;

	/* one-shot, absolute time */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 1, HVIS_MSR_STIMER_CONFIG(0), cfg), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 1, HVIS_MSR_STIMER_COUNT(0), 5000), 0);
	CU_ASSERT_EQUAL(F.armed[1][0], 5000u);
	F.now = 5001;
	tlfs_timer_expired(t, 1, 0);
	CU_ASSERT_EQUAL(F.nirq, 1u);
	CU_ASSERT_EQUAL(F.irq_vec[0], 0xECu);
	CU_ASSERT_EQUAL(F.irq_vp[0], 1u);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 1, HVIS_MSR_STIMER_CONFIG(0), &v), 0);
	CU_ASSERT_EQUAL(v & HVIS_STIMER_ENABLE, 0);	/* one-shot ends */
	/* a stale expiry of a disabled timer does nothing */
	tlfs_timer_expired(t, 1, 0);
	CU_ASSERT_EQUAL(F.nirq, 1u);

	/* a deadline already past fires at once */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 1, HVIS_MSR_STIMER_CONFIG(1), cfg), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 1, HVIS_MSR_STIMER_COUNT(1), 10), 0);
	CU_ASSERT_EQUAL(F.armed[1][1], F.now);

	/* periodic: now + period, then every period, missed ones skipped */
	F.now = 10000;
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_COUNT(2), 100), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_CONFIG(2),
				   cfg | HVIS_STIMER_PERIODIC), 0);
	CU_ASSERT_EQUAL(F.armed[0][2], 10100u);
	F.now = 10100;
	tlfs_timer_expired(t, 0, 2);
	CU_ASSERT_EQUAL(F.armed[0][2], 10200u);
	F.now = 10950;
	tlfs_timer_expired(t, 0, 2);
	CU_ASSERT_EQUAL(F.armed[0][2], 11050u);
	/* COUNT = 0 stops it */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_COUNT(2), 0), 0);
	CU_ASSERT_EQUAL(F.armed[0][2], 0u);

	/* auto-enable: a COUNT write enables */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_CONFIG(3),
				   (cfg & ~HVIS_STIMER_ENABLE) | HVIS_STIMER_AUTO_ENABLE), 0);
	CU_ASSERT_EQUAL(F.armed[0][3], 0u);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_COUNT(3), 20000), 0);
	CU_ASSERT_EQUAL(F.armed[0][3], 20000u);
	done(t);

	/* direct mode not offered: refused */
	t = make(false, true);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_CONFIG(0), cfg), -1);
	done(t);
}

static void test_stimer_message_mode(void)
{
	struct tlfs *t = make(false, true);
	uint64_t cfg = HVIS_STIMER_ENABLE | (3ull << HVIS_STIMER_SINT_SHIFT), v;
	struct hvis_timer_message tm;

	/* aimed at SINT 0: disabled */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_COUNT(0), 5000), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_CONFIG(0),
				   HVIS_STIMER_ENABLE), 0);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_STIMER_CONFIG(0), &v), 0);
	CU_ASSERT_EQUAL(v & HVIS_STIMER_ENABLE, 0);
	CU_ASSERT_EQUAL(F.armed[0][0], 0u);

	synic_on(t, 0, 3, 0x40);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_CONFIG(0), cfg), 0);
	CU_ASSERT_EQUAL(F.armed[0][0], 5000u);
	F.now = 5002;
	tlfs_timer_expired(t, 0, 0);
	CU_ASSERT_EQUAL(slot(3)->m_hdr.mh_type, HVIS_MSG_TIMER_EXPIRED);
	memcpy(&tm, slot(3)->m_payload, sizeof(tm));
	CU_ASSERT_EQUAL(tm.tm_timer_index, 0u);
	CU_ASSERT_EQUAL(tm.tm_expiration_time, 5000u);
	CU_ASSERT_EQUAL(tm.tm_delivery_time, 5002u);
	CU_ASSERT_EQUAL(F.nirq, 1u);
	CU_ASSERT_EQUAL(F.irq_vec[0], 0x40u);

	/* slot still busy at the next expiry: delivered after EOM */
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_COUNT(0), 6000), 0);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_STIMER_CONFIG(0), cfg), 0);
	F.now = 6001;
	tlfs_timer_expired(t, 0, 0);
	CU_ASSERT_EQUAL(F.nirq, 1u);
	CU_ASSERT_EQUAL(slot(3)->m_hdr.mh_flags & HVIS_MSG_FLAG_PENDING,
			HVIS_MSG_FLAG_PENDING);
	slot(3)->m_hdr.mh_type = 0;
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_EOM, 0), 0);
	CU_ASSERT_EQUAL(slot(3)->m_hdr.mh_type, HVIS_MSG_TIMER_EXPIRED);
	memcpy(&tm, slot(3)->m_payload, sizeof(tm));
	CU_ASSERT_EQUAL(tm.tm_expiration_time, 6000u);
	CU_ASSERT_EQUAL(F.nirq, 2u);
	done(t);
}

static void test_crash_msrs(void)
{
	struct tlfs *t = make(true, true);
	uint64_t v;

	for (unsigned int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_CRASH_P0 + i, 0x100 + i), 0);
	CU_ASSERT_EQUAL(tlfs_rdmsr(t, 0, HVIS_MSR_CRASH_CTL, &v), 0);
	CU_ASSERT_EQUAL(v, HVIS_CRASH_CTL_NOTIFY);
	CU_ASSERT_EQUAL(F.crashes, 0u);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 1, HVIS_MSR_CRASH_CTL, HVIS_CRASH_CTL_NOTIFY), 0);
	CU_ASSERT_EQUAL(F.crashes, 1u);
	CU_ASSERT_EQUAL(F.crash_p[0], 0x100u);
	CU_ASSERT_EQUAL(F.crash_p[4], 0x104u);
	done(t);
	t = make(true, false);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_CRASH_P0, 1), -1);
	CU_ASSERT_EQUAL(tlfs_wrmsr(t, 0, HVIS_MSR_CRASH_CTL, HVIS_CRASH_CTL_NOTIFY), -1);
	CU_ASSERT_EQUAL(F.crashes, 0u);
	done(t);
}

static const struct unit_test tlfs_tests[] = {
	{ "partition and VP MSRs", test_partition_msrs },
	{ "reference TSC page", test_tsc_page },
	{ "messages, busy slots and EOM", test_message_delivery_and_eom },
	{ "SINT masking and vectors", test_sint_mask_and_vectors },
	{ "event flags", test_event_flags },
	{ "hypercalls", test_hypercalls },
	{ "direct-mode synthetic timers", test_stimer_direct },
	{ "message-mode synthetic timers", test_stimer_message_mode },
	{ "crash MSRs", test_crash_msrs },
	{ NULL, NULL },
};

int unit_register_tlfs(void)
{
	return unit_add_suite("tlfs", tlfs_tests);
}
