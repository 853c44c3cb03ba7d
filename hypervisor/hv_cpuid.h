/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CPUID table a Hyper-V-compatible guest sees.
 *
 * hv_cpuid_build() takes what KVM_GET_SUPPORTED_CPUID reports, drops
 * KVM's own paravirtual leaves ("KVMKVMKVM" at 0x40000000/0x40000001),
 * sets the "hypervisor present" bit CPUID.1:ECX[31] and adds the Hyper-V
 * leaves 0x40000000..0x4000000A ("Microsoft Hv", "Hv#1", version,
 * features, recommendations, limits). The result is ready for
 * KVM_SET_CPUID2. Everything here is plain data manipulation except
 * hv_cpuid_get_supported(), so the unit can be tested without /dev/kvm.
 */
#ifndef HVIS_HV_CPUID_H
#define HVIS_HV_CPUID_H

#include <stdbool.h>
#include <linux/kvm.h>

/* Our identification in leaf 0x40000002 (Linux prints it as "Host Build"). */
#define HV_CPUID_VERSION_MAJOR		0u
#define HV_CPUID_VERSION_MINOR		1u
#define HV_CPUID_BUILD_HVIS		0x68766973u /* "hvis", MSB first */

#define HV_CPUID_DEFAULT_MAX_VPS	64u

struct hv_cpuid_opts {
	/* 0x40000005 EAX/EBX; 0 means HV_CPUID_DEFAULT_MAX_VPS. */
	unsigned int max_vps;
	/* Leaf 0x40000002 contents (see hv_cpuid_opts_init for defaults). */
	unsigned int version_major;
	unsigned int version_minor;
	unsigned int build;

	/* Switches: each removes one offer from the defaults. */
	bool no_stimer_direct;	/* no direct-mode synthetic timers (EDX 19) */
	bool no_crash_msrs;	/* no guest crash MSRs (EDX 10) */
	bool no_frequency_msrs;	/* no TSC/APIC frequency MSRs (EAX 11, EDX 8) */
	bool no_reference_tsc;	/* no reference TSC page (EAX 9) */
	bool no_vp_runtime;	/* no VP_RUNTIME MSR (EAX 0) */

	/* Switches: each adds an offer that is off by default. */
	bool tsc_invariant;	/* EAX 15: Linux then writes MSR 0x40000118 */
	bool relaxed_timing;	/* 0x40000004 EAX 5 (Windows watchdogs) */
};

/* Fill @opts with the defaults: every offer on, the switches off. */
void hv_cpuid_opts_init(struct hv_cpuid_opts *opts);

/*
 * Fill @out with Hyper-V leaf @function (HVIS_CPUID_VENDOR_MAX ..
 * HVIS_CPUID_OUR_MAX_LEAF) as hv_cpuid_build() would. Returns 0, or -1
 * for a function outside that range.
 */
int hv_cpuid_leaf(const struct hv_cpuid_opts *opts, __u32 function,
		  struct kvm_cpuid_entry2 *out);

/*
 * Build the guest's table from @supported. Returns a malloc'd table
 * (free() it), or NULL with errno set (ENOMEM; EINVAL if @supported has
 * no leaf 1).
 */
struct kvm_cpuid2 *hv_cpuid_build(const struct kvm_cpuid2 *supported,
				  const struct hv_cpuid_opts *opts);

/*
 * KVM_GET_SUPPORTED_CPUID on the /dev/kvm fd, growing the buffer until it
 * fits. Returns 0 and a malloc'd table in *@out, or -errno.
 */
int hv_cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out);

/*
 * The entry for @function/@index, or NULL. @index is ignored for leaves
 * that KVM does not mark KVM_CPUID_FLAG_SIGNIFCANT_INDEX.
 */
const struct kvm_cpuid_entry2 *hv_cpuid_find(const struct kvm_cpuid2 *cpuid,
					     __u32 function, __u32 index);

/*
 * Per-vCPU fix-up: put @apic_id into leaf 1 EBX[31:24], the x2APIC id of
 * leaves 0xB/0x1F (EDX) and AMD's 0x8000001E EAX.
 */
void hv_cpuid_set_apic_id(struct kvm_cpuid2 *cpuid, __u32 apic_id);

#endif /* HVIS_HV_CPUID_H */
