/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Hyper-V hypervisor interface (TLFS) as hvis-run emulates it in
 * userspace: synthetic MSRs, the hypercall page and hypercalls, the SynIC
 * (message and event-flag pages, SINTs, EOM), synthetic timers, the
 * reference TSC page and the crash MSRs.
 *
 * This unit is pure logic over per-partition and per-VP state. Everything
 * it does to the outside world goes through struct tlfs_platform (guest
 * memory, interrupts, time, host timers, crash reports), so it is
 * unit-tested without a VM. Whatever exchanges VMBus messages and events
 * with the guest registers connection handlers (tlfs_set_connection) and
 * posts through tlfs_post_message / tlfs_signal_flag: the VMBus server
 * plugs in there without touching this code.
 *
 * Threads: MSR and hypercall entry points run on the vCPU's thread; timer
 * expiry on a timer thread; posting from any thread. Each VP's SynIC state
 * has its own lock.
 */
#ifndef HVIS_HV_TLFS_H
#define HVIS_HV_TLFS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <hvis/tlfs.h>

#define TLFS_MAX_VPS		64
#define TLFS_MAX_CONNECTIONS	64
#define TLFS_MSG_QUEUE_LEN	16	/* per VP and SINT, when the slot is busy */

/* I/O ports the hypercall page stub uses (see tlfs_hypercall_page). */
#define TLFS_HCALL_PORT		0xE8
#define TLFS_HCALL_SIGNAL_PORT	0xEB

struct tlfs_platform {
	void *opaque;
	/* Host pointer for guest-physical [gpa, gpa+len) or NULL. */
	void *(*gpa_ptr)(void *opaque, uint64_t gpa, uint64_t len);
	/* Current reference time, 100 ns units (same as the TSC page). */
	uint64_t (*ref_time)(void *opaque);
	/* Deliver a fixed interrupt @vector to @vp. */
	void (*interrupt)(void *opaque, unsigned int vp, unsigned int vector);
	/* A SINT register changed (e.g. to re-route an irqfd). May be NULL. */
	void (*sint_changed)(void *opaque, unsigned int vp, unsigned int sint,
			     uint64_t value);
	/* Call tlfs_timer_expired(vp, timer) at reference time @deadline, or
	 * cancel that timer when @deadline is 0. */
	void (*arm_timer)(void *opaque, unsigned int vp, unsigned int timer,
			  uint64_t deadline);
	/* CPU time @vp has run, 100 ns units (VP_RUNTIME). May be NULL. */
	uint64_t (*vp_runtime)(void *opaque, unsigned int vp);
	/* The guest reported a crash through the crash MSRs. */
	void (*crash)(void *opaque, unsigned int vp, const uint64_t params[5]);
	/* The guest wrote EOM on @vp (after its slot was processed). May be
	 * NULL. Called with no TLFS lock held.
	 */
	void (*eom)(void *opaque, unsigned int vp);
};

/* A handler for messages and events the guest sends on one connection. */
struct tlfs_connection {
	void *opaque;
	/* HvPostMessage; returns an HVIS_STATUS_* code for the guest. */
	uint16_t (*post_message)(void *opaque, unsigned int vp,
				 uint32_t connection_id, uint32_t type,
				 const void *payload, uint32_t size);
	/* HvSignalEvent; returns an HVIS_STATUS_* code. */
	uint16_t (*signal_event)(void *opaque, unsigned int vp,
				 uint32_t connection_id, uint16_t flag);
};

struct tlfs_options {
	unsigned int nvps;
	uint64_t tsc_hz;		/* guest TSC frequency */
	uint64_t apic_hz;		/* LAPIC timer frequency (KVM: 1 GHz) */
	bool stimer_direct;		/* direct-mode timers offered */
	bool reference_tsc;		/* TSC page offered */
	bool crash_msrs;		/* crash MSRs offered */
};

struct tlfs_queued_msg {
	uint32_t type;
	uint32_t size;
	uint8_t payload[HVIS_MESSAGE_PAYLOAD_MAX];
};

struct tlfs_stimer {
	uint64_t config;
	uint64_t count;
	uint64_t deadline;		/* armed expiry, 0 = none */
	bool msg_pending;		/* expiry message waits for a free slot */
	uint64_t pending_expiry;
};

struct tlfs_vp {
	pthread_mutex_t lock;
	uint64_t vp_assist;
	uint64_t scontrol, simp, siefp;
	uint64_t sint[HVIS_SINT_COUNT];
	struct tlfs_stimer stimer[HVIS_STIMER_COUNT];
	/* messages waiting for their SINT's slot */
	struct tlfs_queued_msg queue[HVIS_SINT_COUNT][TLFS_MSG_QUEUE_LEN];
	unsigned int q_head[HVIS_SINT_COUNT], q_len[HVIS_SINT_COUNT];
	/* counters */
	uint64_t msgs_posted, msgs_queued, msgs_dropped, eoms, timer_fires;
};

struct tlfs {
	struct tlfs_options opt;
	struct tlfs_platform plat;
	pthread_mutex_t lock;		/* partition-wide MSRs, connections */
	uint64_t guest_os_id;
	uint64_t hypercall;
	uint64_t ref_tsc;
	uint32_t tsc_sequence;
	uint64_t tsc_scale;
	uint64_t crash[5];
	struct {
		uint32_t id;
		struct tlfs_connection c;
	} conn[TLFS_MAX_CONNECTIONS];
	unsigned int nconn;
	uint64_t hypercalls, bad_hypercalls;
	struct tlfs_vp vp[];
};

struct tlfs *tlfs_create(const struct tlfs_options *opt,
			 const struct tlfs_platform *plat);
void tlfs_destroy(struct tlfs *t);

/* Register (or with @c NULL remove) the handler for @connection_id. */
int tlfs_set_connection(struct tlfs *t, uint32_t connection_id,
			const struct tlfs_connection *c);

/* True if @msr is a synthetic MSR (the range the MSR filter sends here). */
bool tlfs_msr_in_range(uint32_t msr);
/* 0 on success; -1 means "inject #GP". */
int tlfs_rdmsr(struct tlfs *t, unsigned int vp, uint32_t msr, uint64_t *val);
int tlfs_wrmsr(struct tlfs *t, unsigned int vp, uint32_t msr, uint64_t val);

/*
 * A hypercall trapped by the slow-path stub: control in RCX, input in RDX,
 * output in R8. Returns the value for RAX.
 */
uint64_t tlfs_hypercall(struct tlfs *t, unsigned int vp, uint64_t control,
			uint64_t input, uint64_t output);
/* Fast HvSignalEvent that reached userspace (no ioeventfd matched). */
void tlfs_fast_signal(struct tlfs *t, unsigned int vp, uint32_t param);

/* Host -> guest: post a message to @vp's @sint slot (queued if busy).
 * 0, or -EINVAL, -ENODEV (SynIC/SIMP disabled), -EAGAIN (queue full). */
int tlfs_post_message(struct tlfs *t, unsigned int vp, unsigned int sint,
		      uint32_t type, const void *payload, uint32_t size);
/* Host -> guest: set event flag @flag of @vp's @sint; interrupt on 0 -> 1.
 * 0, or -EINVAL, -ENODEV. */
int tlfs_signal_flag(struct tlfs *t, unsigned int vp, unsigned int sint,
		     unsigned int flag);

/* The host timer armed through plat.arm_timer fired. */
void tlfs_timer_expired(struct tlfs *t, unsigned int vp, unsigned int timer);

/* Reference-time arithmetic shared with the platform. */
uint64_t tlfs_tsc_scale(uint64_t tsc_hz);
static inline uint64_t tlfs_tsc_to_ref(uint64_t tsc, uint64_t scale)
{
	return (uint64_t)(((unsigned __int128)tsc * scale) >> 64);
}

/* Bytes of the hypercall page stub (the rest of the page is int3). */
extern const uint8_t tlfs_hypercall_stub[];
extern const unsigned int tlfs_hypercall_stub_len;

#endif /* HVIS_HV_TLFS_H */
