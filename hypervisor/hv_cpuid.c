/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hyper-V CPUID leaves on top of KVM_GET_SUPPORTED_CPUID (see hv_cpuid.h).
 * Bit meanings: Microsoft's Hypervisor TLFS, "Feature and interface
 * discovery"; constants from <hvis/tlfs.h>.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <hvis/tlfs.h>

#include "hv_cpuid.h"

/* The range of leaves that belongs to "the hypervisor" (KVM's and ours). */
#define HYPERVISOR_LEAF_FIRST	0x40000000u
#define HYPERVISOR_LEAF_LAST	0x4FFFFFFFu

#define HV_LEAF_COUNT	(HVIS_CPUID_OUR_MAX_LEAF - HVIS_CPUID_VENDOR_MAX + 1)

void hv_cpuid_opts_init(struct hv_cpuid_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_vps = HV_CPUID_DEFAULT_MAX_VPS;
	opts->version_major = HV_CPUID_VERSION_MAJOR;
	opts->version_minor = HV_CPUID_VERSION_MINOR;
	opts->build = HV_CPUID_BUILD_HVIS;
}

/* Twelve signature bytes as EBX, ECX, EDX (little-endian each). */
static void put_signature(struct kvm_cpuid_entry2 *e, const char sig[12])
{
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

static __u32 privileges(const struct hv_cpuid_opts *o)
{
	__u32 eax = HVIS_PRIV_TIME_REF_COUNT | HVIS_PRIV_SYNIC |
		    HVIS_PRIV_SYNTIMERS | HVIS_PRIV_HYPERCALL_MSRS |
		    HVIS_PRIV_VP_INDEX;

	if (!o->no_vp_runtime)
		eax |= HVIS_PRIV_VP_RUNTIME;
	if (!o->no_reference_tsc)
		eax |= HVIS_PRIV_REFERENCE_TSC;
	if (!o->no_frequency_msrs)
		eax |= HVIS_PRIV_FREQUENCY_MSRS;
	if (o->tsc_invariant)
		eax |= HVIS_PRIV_TSC_INVARIANT;
	return eax;
}

static __u32 features(const struct hv_cpuid_opts *o)
{
	__u32 edx = 0;

	if (!o->no_frequency_msrs)
		edx |= HVIS_FEAT_FREQUENCY_MSRS;
	if (!o->no_crash_msrs)
		edx |= HVIS_FEAT_CRASH_MSRS;
	if (!o->no_stimer_direct)
		edx |= HVIS_FEAT_STIMER_DIRECT;
	/* Never HVIS_FEAT_XMM_HYPERCALL_INPUT: inputs come from memory only. */
	return edx;
}

int hv_cpuid_leaf(const struct hv_cpuid_opts *opts, __u32 function,
		  struct kvm_cpuid_entry2 *out)
{
	unsigned int vps = opts->max_vps ? opts->max_vps : HV_CPUID_DEFAULT_MAX_VPS;

	if (function < HVIS_CPUID_VENDOR_MAX || function > HVIS_CPUID_OUR_MAX_LEAF)
		return -1;

	memset(out, 0, sizeof(*out));
	out->function = function;

	switch (function) {
	case HVIS_CPUID_VENDOR_MAX:
		out->eax = HVIS_CPUID_OUR_MAX_LEAF;
		put_signature(out, HVIS_CPUID_SIGNATURE);
		break;
	case HVIS_CPUID_INTERFACE:
		out->eax = HVIS_CPUID_INTERFACE_HV1;
		break;
	case HVIS_CPUID_VERSION:
		/* EAX build, EBX major:minor, ECX service pack, EDX branch:number. */
		out->eax = opts->build;
		out->ebx = (opts->version_major & 0xFFFFu) << 16 |
			   (opts->version_minor & 0xFFFFu);
		break;
	case HVIS_CPUID_FEATURES:
		out->eax = privileges(opts);
		/*
		 * EBX: the two hypercalls VMBus needs. AccessPartitionId and
		 * EnableExtendedHypercalls stay clear.
		 */
		out->ebx = HVIS_PRIV_POST_MESSAGES | HVIS_PRIV_SIGNAL_EVENTS;
		out->edx = features(opts);
		break;
	case HVIS_CPUID_ENLIGHTENMENTS:
		/*
		 * Auto-EOI cannot work with KVM's in-kernel LAPIC fed from
		 * userspace; no TLB-flush/IPI hypercalls, no APIC MSRs.
		 */
		out->eax = HVIS_RECOMMEND_DEPRECATE_AEOI;
		if (opts->relaxed_timing)
			out->eax |= HVIS_RECOMMEND_RELAXED_TIMING;
		out->ebx = HVIS_SPIN_WAIT_NEVER;
		break;
	case HVIS_CPUID_LIMITS:
		out->eax = vps;		/* maximum virtual processors */
		out->ebx = vps;		/* maximum logical processors */
		break;
	default:
		/* 0x40000006..0x4000000A: no hardware, nested or CPU management features. */
		break;
	}
	return 0;
}

static bool is_hypervisor_leaf(__u32 function)
{
	return function >= HYPERVISOR_LEAF_FIRST && function <= HYPERVISOR_LEAF_LAST;
}

struct kvm_cpuid2 *hv_cpuid_build(const struct kvm_cpuid2 *supported,
				  const struct hv_cpuid_opts *opts)
{
	struct kvm_cpuid2 *c;
	bool have_leaf1 = false;
	__u32 i, n = 0;

	c = calloc(1, sizeof(*c) +
		   (supported->nent + HV_LEAF_COUNT) * sizeof(c->entries[0]));
	if (!c)
		return NULL;

	for (i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *s = &supported->entries[i];

		if (is_hypervisor_leaf(s->function))
			continue;	/* KVM's "KVMKVMKVM" and its PV features */
		c->entries[n] = *s;
		if (s->function == 1) {
			c->entries[n].ecx |= HVIS_CPUID1_ECX_HYPERVISOR;
			have_leaf1 = true;
		}
		n++;
	}
	if (!have_leaf1) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	for (i = HVIS_CPUID_VENDOR_MAX; i <= HVIS_CPUID_OUR_MAX_LEAF; i++)
		hv_cpuid_leaf(opts, i, &c->entries[n++]);
	c->nent = n;
	return c;
}

int hv_cpuid_get_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	__u32 nent = 64;

	for (;;) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return -errno;
		nent *= 2;
	}
}

const struct kvm_cpuid_entry2 *hv_cpuid_find(const struct kvm_cpuid2 *cpuid,
					     __u32 function, __u32 index)
{
	__u32 i;

	for (i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

void hv_cpuid_set_apic_id(struct kvm_cpuid2 *cpuid, __u32 apic_id)
{
	__u32 i;

	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0x00FFFFFFu) | (apic_id & 0xFFu) << 24;
			break;
		case 0xB:
		case 0x1F:
			e->edx = apic_id;
			break;
		case 0x8000001E:
			e->eax = apic_id;
			break;
		default:
			break;
		}
	}
}
