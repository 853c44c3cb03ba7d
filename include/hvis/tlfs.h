/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The Hyper-V hypervisor interface a guest sees (Microsoft's Hypervisor
 * Top-Level Functional Specification, "TLFS"): CPUID leaves, synthetic
 * MSRs, the hypercall ABI, the SynIC message and event-flag pages,
 * synthetic timers and the reference TSC page.
 *
 * Everything is prefixed HVIS_/hvis_ so that a guest module can include
 * this beside the kernel's own <asm/mshyperv.h> without clashes.
 */
#ifndef HVIS_TLFS_H
#define HVIS_TLFS_H

#include <hvis/types.h>

#define HVIS_PAGE_SIZE			4096u
#define HVIS_PAGE_SHIFT			12

/* ------------------------------------------------------------ CPUID */
#define HVIS_CPUID_VENDOR_MAX		0x40000000u /* EAX max leaf, "Microsoft Hv" */
#define HVIS_CPUID_INTERFACE		0x40000001u /* EAX "Hv#1" */
#define HVIS_CPUID_VERSION		0x40000002u
#define HVIS_CPUID_FEATURES		0x40000003u
#define HVIS_CPUID_ENLIGHTENMENTS	0x40000004u
#define HVIS_CPUID_LIMITS		0x40000005u
#define HVIS_CPUID_HW_FEATURES		0x40000006u
#define HVIS_CPUID_CPU_MANAGEMENT	0x40000007u
#define HVIS_CPUID_NESTED_FEATURES	0x4000000Au
#define HVIS_CPUID_MIN_MAX_LEAF		0x40000005u /* Linux requires max >= this */
#define HVIS_CPUID_OUR_MAX_LEAF		0x4000000Au

#define HVIS_CPUID_SIGNATURE		"Microsoft Hv"	/* EBX, ECX, EDX */
#define HVIS_CPUID_INTERFACE_HV1	0x31237648u	/* "Hv#1" in EAX */

/* CPUID 0x40000001 .. the CPUID.1:ECX "hypervisor present" bit. */
#define HVIS_CPUID1_ECX_HYPERVISOR	(1u << 31)

/* 0x40000003 EAX: partition privileges (MSR access). */
#define HVIS_PRIV_VP_RUNTIME		(1u << 0)
#define HVIS_PRIV_TIME_REF_COUNT	(1u << 1)
#define HVIS_PRIV_SYNIC			(1u << 2)
#define HVIS_PRIV_SYNTIMERS		(1u << 3)
#define HVIS_PRIV_APIC_MSRS		(1u << 4)
#define HVIS_PRIV_HYPERCALL_MSRS	(1u << 5)
#define HVIS_PRIV_VP_INDEX		(1u << 6)
#define HVIS_PRIV_RESET			(1u << 7)
#define HVIS_PRIV_REFERENCE_TSC		(1u << 9)
#define HVIS_PRIV_GUEST_IDLE		(1u << 10)
#define HVIS_PRIV_FREQUENCY_MSRS	(1u << 11)
#define HVIS_PRIV_TSC_INVARIANT		(1u << 15)

/* 0x40000003 EBX: partition privileges, high half (hypercalls). */
#define HVIS_PRIV_POST_MESSAGES		(1u << 4)
#define HVIS_PRIV_SIGNAL_EVENTS		(1u << 5)

/* 0x40000003 EDX: features. */
#define HVIS_FEAT_XMM_HYPERCALL_INPUT	(1u << 4)
#define HVIS_FEAT_FREQUENCY_MSRS	(1u << 8)
#define HVIS_FEAT_CRASH_MSRS		(1u << 10)
#define HVIS_FEAT_STIMER_DIRECT		(1u << 19)

/* 0x40000004 EAX: recommendations. */
#define HVIS_RECOMMEND_RELAXED_TIMING	(1u << 5)
#define HVIS_RECOMMEND_DEPRECATE_AEOI	(1u << 9)
/* 0x40000004 EBX: spin-wait notification threshold; all ones = never. */
#define HVIS_SPIN_WAIT_NEVER		0xFFFFFFFFu

/* ------------------------------------------------------------ MSRs */
#define HVIS_MSR_GUEST_OS_ID		0x40000000u
#define HVIS_MSR_HYPERCALL		0x40000001u
#define HVIS_MSR_VP_INDEX		0x40000002u
#define HVIS_MSR_RESET			0x40000003u
#define HVIS_MSR_VP_RUNTIME		0x40000010u
#define HVIS_MSR_TIME_REF_COUNT		0x40000020u
#define HVIS_MSR_REFERENCE_TSC		0x40000021u
#define HVIS_MSR_TSC_FREQUENCY		0x40000022u
#define HVIS_MSR_APIC_FREQUENCY		0x40000023u
#define HVIS_MSR_EOI			0x40000070u
#define HVIS_MSR_ICR			0x40000071u
#define HVIS_MSR_TPR			0x40000072u
#define HVIS_MSR_VP_ASSIST_PAGE		0x40000073u
#define HVIS_MSR_SCONTROL		0x40000080u
#define HVIS_MSR_SVERSION		0x40000081u
#define HVIS_MSR_SIEFP			0x40000082u
#define HVIS_MSR_SIMP			0x40000083u
#define HVIS_MSR_EOM			0x40000084u
#define HVIS_MSR_SINT0			0x40000090u /* .. SINT15 = 0x4000009F */
#define HVIS_MSR_STIMER0_CONFIG		0x400000B0u /* CONFIG/COUNT pairs */
#define HVIS_MSR_STIMER0_COUNT		0x400000B1u
#define HVIS_MSR_CRASH_P0		0x40000100u /* .. P4 = 0x40000104 */
#define HVIS_MSR_CRASH_CTL		0x40000105u

#define HVIS_MSR_SINT(n)		(HVIS_MSR_SINT0 + (n))
#define HVIS_MSR_STIMER_CONFIG(n)	(HVIS_MSR_STIMER0_CONFIG + 2 * (n))
#define HVIS_MSR_STIMER_COUNT(n)	(HVIS_MSR_STIMER0_COUNT + 2 * (n))

/*
 * Every synthetic MSR lies in this range. A hypervisor installs a KVM MSR
 * filter over it so each access reaches userspace on any KVM, whether or
 * not KVM has Hyper-V emulation of its own. It spans the crash MSRs too,
 * which lie above 0x400000FF.
 */
#define HVIS_MSR_RANGE_BASE		0x40000000u
#define HVIS_MSR_RANGE_COUNT		0x200u

/* GUEST_OS_ID: bit 63 set = open-source OS; Linux uses vendor id 0x1. */
#define HVIS_GUEST_OS_ID_OPENSOURCE	(1ull << 63)

/* HYPERCALL, REFERENCE_TSC, VP_ASSIST_PAGE, SIMP, SIEFP: enable bit + GPA. */
#define HVIS_MSR_ENABLE			(1ull << 0)
#define HVIS_MSR_GPA_MASK		(~0xFFFull)

#define HVIS_SCONTROL_ENABLE		(1ull << 0)
#define HVIS_SYNIC_VERSION		1u

/* SINTx */
#define HVIS_SINT_COUNT			16
#define HVIS_SINT_VECTOR_MASK		0xFFull
#define HVIS_SINT_MASKED		(1ull << 16)
#define HVIS_SINT_AUTO_EOI		(1ull << 17)
#define HVIS_SINT_POLLING		(1ull << 18)
#define HVIS_SINT_RESET_VALUE		HVIS_SINT_MASKED
#define HVIS_SINT_MIN_VECTOR		16

/* Synthetic timer CONFIG */
#define HVIS_STIMER_COUNT		4
#define HVIS_STIMER_ENABLE		(1ull << 0)
#define HVIS_STIMER_PERIODIC		(1ull << 1)
#define HVIS_STIMER_LAZY		(1ull << 2)
#define HVIS_STIMER_AUTO_ENABLE		(1ull << 3)
#define HVIS_STIMER_VECTOR_SHIFT	4
#define HVIS_STIMER_VECTOR_MASK		(0xFFull << HVIS_STIMER_VECTOR_SHIFT)
#define HVIS_STIMER_DIRECT_MODE		(1ull << 12)
#define HVIS_STIMER_SINT_SHIFT		16
#define HVIS_STIMER_SINT_MASK		(0xFull << HVIS_STIMER_SINT_SHIFT)

/* CRASH_CTL: bit 63 = the guest has filled P0..P4 and crashed. */
#define HVIS_CRASH_CTL_NOTIFY		(1ull << 63)
#define HVIS_CRASH_CTL_NOTIFY_MSG	(1ull << 62)

/* ------------------------------------------------------------ hypercalls */
/* x64 ABI: RCX control, RDX input GPA (or fast arg 1), R8 output GPA. */
#define HVIS_HC_CODE_MASK		0xFFFFull
#define HVIS_HC_FAST			(1ull << 16)
#define HVIS_HC_VARHEAD_SHIFT		17
#define HVIS_HC_VARHEAD_MASK		(0x3FFull << HVIS_HC_VARHEAD_SHIFT)
#define HVIS_HC_REP_COUNT_SHIFT		32
#define HVIS_HC_REP_COUNT_MASK		(0xFFFull << HVIS_HC_REP_COUNT_SHIFT)
#define HVIS_HC_REP_START_SHIFT		48
#define HVIS_HC_REP_START_MASK		(0xFFFull << HVIS_HC_REP_START_SHIFT)
#define HVIS_HC_RESERVED_MASK		0xF000F000F8000000ull

#define HVIS_HCALL_POST_MESSAGE		0x005Cu
#define HVIS_HCALL_SIGNAL_EVENT		0x005Du

/* Result (RAX): status in bits 15:0, reps completed in 43:32. */
#define HVIS_HC_STATUS_MASK		0xFFFFull
#define HVIS_STATUS_SUCCESS			0x00u
#define HVIS_STATUS_INVALID_HYPERCALL_CODE	0x02u
#define HVIS_STATUS_INVALID_HYPERCALL_INPUT	0x03u
#define HVIS_STATUS_INVALID_ALIGNMENT		0x04u
#define HVIS_STATUS_INVALID_PARAMETER		0x05u
#define HVIS_STATUS_ACCESS_DENIED		0x06u
#define HVIS_STATUS_OPERATION_DENIED		0x08u
#define HVIS_STATUS_INSUFFICIENT_MEMORY		0x0Bu
#define HVIS_STATUS_INVALID_PORT_ID		0x11u
#define HVIS_STATUS_INVALID_CONNECTION_ID	0x12u
#define HVIS_STATUS_INSUFFICIENT_BUFFERS	0x13u

#define HVIS_MESSAGE_SIZE		256u
#define HVIS_MESSAGE_PAYLOAD_MAX	240u

/* HvPostMessage input block (slow call; 8-byte aligned GPA in RDX). */
struct hvis_post_message_input {
	__u32 pm_connection_id;
	__u32 pm_reserved;
	__u32 pm_message_type;
	__u32 pm_payload_size;		/* <= HVIS_MESSAGE_PAYLOAD_MAX */
	__u8 pm_payload[HVIS_MESSAGE_PAYLOAD_MAX];
};
HVIS_ASSERT_SIZE(struct hvis_post_message_input, 256);
HVIS_ASSERT_OFFSET(struct hvis_post_message_input, pm_message_type, 8);
HVIS_ASSERT_OFFSET(struct hvis_post_message_input, pm_payload, 16);

/* HvSignalEvent fast form: RDX = connection_id | flag_number << 32. */
#define HVIS_SIGNAL_CONNID_MASK		0x00FFFFFFull
#define HVIS_SIGNAL_FLAG_SHIFT		32

/* ------------------------------------------------------------ SynIC */
/* Message types the hypervisor itself sends. */
#define HVIS_MSG_NONE			0x00000000u
#define HVIS_MSG_TIMER_EXPIRED		0x80000010u

#define HVIS_MSG_FLAG_PENDING		0x01u

struct hvis_message_header {
	__u32 mh_type;			/* HVIS_MSG_NONE = slot free */
	__u8 mh_payload_size;
	__u8 mh_flags;			/* HVIS_MSG_FLAG_PENDING */
	__u8 mh_reserved[2];
	__u64 mh_sender;		/* port id, or zero */
};
HVIS_ASSERT_SIZE(struct hvis_message_header, 16);

struct hvis_message {
	struct hvis_message_header m_hdr;
	__u8 m_payload[HVIS_MESSAGE_PAYLOAD_MAX];
};
HVIS_ASSERT_SIZE(struct hvis_message, HVIS_MESSAGE_SIZE);
HVIS_ASSERT_OFFSET(struct hvis_message, m_payload, 16);

/* SIMP page: one message slot per SINT. */
struct hvis_message_page {
	struct hvis_message mp_slot[HVIS_SINT_COUNT];
};
HVIS_ASSERT_SIZE(struct hvis_message_page, HVIS_PAGE_SIZE);

/* SIEFP page: 2048 event flags per SINT. */
#define HVIS_EVENT_FLAGS_BYTES		256u
#define HVIS_EVENT_FLAGS_COUNT		(HVIS_EVENT_FLAGS_BYTES * 8)
struct hvis_event_flags_page {
	__u8 ef_sint[HVIS_SINT_COUNT][HVIS_EVENT_FLAGS_BYTES];
};
HVIS_ASSERT_SIZE(struct hvis_event_flags_page, HVIS_PAGE_SIZE);

/* Payload of HVIS_MSG_TIMER_EXPIRED (message-mode synthetic timers). */
struct hvis_timer_message {
	__u32 tm_timer_index;
	__u32 tm_reserved;
	__u64 tm_expiration_time;	/* 100 ns reference time */
	__u64 tm_delivery_time;
};
HVIS_ASSERT_SIZE(struct hvis_timer_message, 24);

/* ------------------------------------------------------------ time */
/*
 * Reference TSC page. ReferenceTime (100 ns units) =
 * ((tsc * ts_scale) >> 64) + ts_offset. Sequence 0 = invalid: the guest
 * falls back to the TIME_REF_COUNT MSR.
 */
struct hvis_tsc_page {
	__u32 ts_sequence;
	__u32 ts_reserved;
	__u64 ts_scale;
	__s64 ts_offset;
};
HVIS_ASSERT_SIZE(struct hvis_tsc_page, 24);
HVIS_ASSERT_OFFSET(struct hvis_tsc_page, ts_scale, 8);
HVIS_ASSERT_OFFSET(struct hvis_tsc_page, ts_offset, 16);

#define HVIS_TSC_SEQUENCE_INVALID	0u
#define HVIS_REFTIME_HZ			10000000ull	/* 100 ns ticks */

#endif /* HVIS_TLFS_H */
