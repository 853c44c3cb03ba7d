/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis-kvmcheck: does this /dev/kvm give us what a userspace Hyper-V
 * emulation needs, and does the Hyper-V CPUID/MSR plumbing work end to end?
 *
 * It lists the KVM capabilities hvis relies on, then creates a VM with one
 * vCPU and a 64 KiB memory slot, gives it the CPUID table of hv_cpuid.c,
 * routes every synthetic MSR (0x40000000..0x400001FF) to userspace with
 * KVM_CAP_X86_USER_SPACE_MSR plus a deny-all MSR filter over that range,
 * and runs a tiny real-mode program that reads the Hyper-V CPUID leaves,
 * writes GUEST_OS_ID and reads VP_INDEX and TIME_REF_COUNT. Registers are
 * read from the kvm_run shared-register area (KVM_CAP_SYNC_REGS), never
 * with KVM_GET_REGS. Exit status 0 only if every check holds.
 *
 * "hvis-kvmcheck --hold" instead creates an empty VM and keeps it until it
 * is killed. While any VM exists KVM keeps virtualization enabled on every
 * CPU; the test host relies on that (tests/testhost/init-l1: enabling and
 * disabling it on all CPUs, which KVM does when the first VM is created
 * and the last destroyed, sometimes freezes QEMU TCG's SVM emulation).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <hvis/tlfs.h>

#include "hv_cpuid.h"

#define PROG		"hvis-kvmcheck"

#define GUEST_MEM_SIZE	0x10000u	/* one slot at GPA 0 */
#define GUEST_CODE_GPA	0x1000u
#define GUEST_STACK_TOP	0x8000u

/* I/O ports the guest program "reports" on; userspace reads the registers. */
enum {
	PORT_LEAF_1 = 0xE0,		/* after CPUID 1 */
	PORT_LEAF_VENDOR = 0xE1,	/* after CPUID 0x40000000 */
	PORT_LEAF_INTERFACE = 0xE2,	/* after CPUID 0x40000001 */
	PORT_LEAF_FEATURES = 0xE3,	/* after CPUID 0x40000003 */
	PORT_VP_INDEX = 0xE4,		/* after RDMSR VP_INDEX: EDX:EAX */
	PORT_REF_COUNT = 0xE5,		/* after RDMSR TIME_REF_COUNT: EDX:EAX */
	PORT_FIRST = PORT_LEAF_1,
	PORT_LAST = PORT_REF_COUNT,
};

/* What the guest writes and what userspace answers: distinctive values. */
#define GUEST_OS_ID_VALUE	0x8168766973000001ull	/* bit 63: open source */
#define VP_INDEX_ANSWER		0x2Aull
#define REF_COUNT_ANSWER	0x0123456789ABCDEFull

/* Little-endian immediates for the hand-assembled program below. */
#define LE32(v)	((v) & 0xFF), (((v) >> 8) & 0xFF), (((v) >> 16) & 0xFF), \
		(((v) >> 24) & 0xFF)
#define LO32(v)	((__u32)((v) & 0xFFFFFFFFu))
#define HI32(v)	((__u32)((v) >> 32))

/*
 * 16-bit real-mode code at 0000:1000 (the 0x66 prefix selects 32-bit
 * operands). Each "out %al,$port" exits to userspace, which takes EAX,
 * EBX, ECX and EDX from the shared-register area.
 */
static const unsigned char guest_code[] = {
	0x66, 0xB8, LE32(1u),			/* mov $1,%eax		*/
	0x66, 0x31, 0xC9,			/* xor %ecx,%ecx	*/
	0x0F, 0xA2,				/* cpuid		*/
	0xE6, PORT_LEAF_1,			/* out %al,$0xE0	*/
	0x66, 0xB8, LE32(HVIS_CPUID_VENDOR_MAX),	/* mov $0x40000000,%eax */
	0x66, 0x31, 0xC9,			/* xor %ecx,%ecx	*/
	0x0F, 0xA2,				/* cpuid		*/
	0xE6, PORT_LEAF_VENDOR,			/* out %al,$0xE1	*/
	0x66, 0xB8, LE32(HVIS_CPUID_INTERFACE),	/* mov $0x40000001,%eax */
	0x66, 0x31, 0xC9,			/* xor %ecx,%ecx	*/
	0x0F, 0xA2,				/* cpuid		*/
	0xE6, PORT_LEAF_INTERFACE,		/* out %al,$0xE2	*/
	0x66, 0xB8, LE32(HVIS_CPUID_FEATURES),	/* mov $0x40000003,%eax */
	0x66, 0x31, 0xC9,			/* xor %ecx,%ecx	*/
	0x0F, 0xA2,				/* cpuid		*/
	0xE6, PORT_LEAF_FEATURES,		/* out %al,$0xE3	*/
	0x66, 0xB9, LE32(HVIS_MSR_GUEST_OS_ID),	/* mov $0x40000000,%ecx */
	0x66, 0xB8, LE32(LO32(GUEST_OS_ID_VALUE)),	/* mov $lo,%eax	*/
	0x66, 0xBA, LE32(HI32(GUEST_OS_ID_VALUE)),	/* mov $hi,%edx	*/
	0x0F, 0x30,				/* wrmsr		*/
	0x66, 0xB9, LE32(HVIS_MSR_VP_INDEX),	/* mov $0x40000002,%ecx */
	0x0F, 0x32,				/* rdmsr		*/
	0xE6, PORT_VP_INDEX,			/* out %al,$0xE4	*/
	0x66, 0xB9, LE32(HVIS_MSR_TIME_REF_COUNT), /* mov $0x40000020,%ecx */
	0x0F, 0x32,				/* rdmsr		*/
	0xE6, PORT_REF_COUNT,			/* out %al,$0xE5	*/
	0xF4,					/* 1: hlt		*/
	0xEB, 0xFD,				/* jmp 1b		*/
};

/* ------------------------------------------------------------ reporting */
static unsigned int n_checks, n_failed;
static char first_failure[200];

static void __attribute__((format(printf, 2, 3)))
check(bool ok, const char *fmt, ...)
{
	char msg[sizeof(first_failure)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n_checks++;
	if (!ok) {
		n_failed++;
		if (!first_failure[0])
			snprintf(first_failure, sizeof(first_failure), "%s", msg);
	}
	printf("  %-4s %s\n", ok ? "ok" : "FAIL", msg);
}

static void __attribute__((format(printf, 1, 2)))
fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	printf("%s: FAIL (%s)\n", PROG, "setup failed, see the message above");
	exit(2);
}

/* ioctl that reports its failure with the request's name and errno. */
static int kioctl(int fd, unsigned long req, void *arg, const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		fprintf(stderr, "%s: ioctl %s failed: %s (errno %d)\n", PROG, name,
			strerror(errno), errno);
	return r;
}
#define KIOCTL(fd, req, arg)	kioctl((fd), (req), (arg), #req)

static int kioctl_int(int fd, unsigned long req, unsigned long arg,
		      const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		fprintf(stderr, "%s: ioctl %s failed: %s (errno %d)\n", PROG, name,
			strerror(errno), errno);
	return r;
}
#define KIOCTL_INT(fd, req, arg)	kioctl_int((fd), (req), (arg), #req)

/* ------------------------------------------------------------ capabilities */
struct cap {
	long id;
	const char *name;
	bool required;
	const char *why;
};

#define CAP(c, req, why)	{ c, #c, req, why }
static const struct cap caps[] = {
	CAP(KVM_CAP_USER_MEMORY, true, "guest memory"),
	CAP(KVM_CAP_EXT_CPUID, true, "KVM_GET_SUPPORTED_CPUID/KVM_SET_CPUID2"),
	CAP(KVM_CAP_X86_USER_SPACE_MSR, true, "synthetic MSRs exit to userspace"),
	CAP(KVM_CAP_X86_MSR_FILTER, true, "override KVM's own Hyper-V MSRs"),
	CAP(KVM_CAP_SYNC_REGS, true, "registers without KVM_GET_REGS"),
	CAP(KVM_CAP_IRQCHIP, true, "in-kernel LAPIC"),
	CAP(KVM_CAP_IRQ_ROUTING, true, "MSI routes for SINTs"),
	CAP(KVM_CAP_IRQFD, true, "interrupts from eventfds"),
	CAP(KVM_CAP_IOEVENTFD, true, "exit-less HvSignalEvent"),
	CAP(KVM_CAP_SIGNAL_MSI, true, "inject a SINT vector"),
	CAP(KVM_CAP_IMMEDIATE_EXIT, true, "kick a vCPU out of KVM_RUN"),
	CAP(KVM_CAP_GET_TSC_KHZ, false, "frequency MSRs, TSC page scale"),
	CAP(KVM_CAP_TSC_CONTROL, false, "KVM_SET_TSC_KHZ"),
	CAP(KVM_CAP_HYPERV, false, "KVM's own Hyper-V emulation (filtered away)"),
	CAP(KVM_CAP_SPLIT_IRQCHIP, false, "userspace IOAPIC"),
	CAP(KVM_CAP_X2APIC_API, false, "32-bit APIC ids"),
	CAP(KVM_CAP_NR_VCPUS, false, "recommended vCPUs"),
	CAP(KVM_CAP_MAX_VCPUS, false, "maximum vCPUs"),
};

/* Returns the number of missing required capabilities. */
static unsigned int check_caps(int fd)
{
	unsigned int missing = 0;
	size_t i;

	printf("capabilities:\n");
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		const struct cap *c = &caps[i];
		int v = ioctl(fd, KVM_CHECK_EXTENSION, c->id);
		bool ok = v > 0;
		const char *state;

		if (v < 0) {
			fprintf(stderr, "%s: KVM_CHECK_EXTENSION(%s) failed: %s (errno %d)\n",
				PROG, c->name, strerror(errno), errno);
			v = 0;
			ok = false;
		}
		if (c->id == KVM_CAP_SYNC_REGS && !(v & KVM_SYNC_X86_REGS))
			ok = false;
		if (ok)
			state = "ok";
		else
			state = c->required ? "MISSING" : "absent";
		printf("  %-28s %#6x  %-8s %-7s %s\n", c->name, (unsigned int)v,
		       c->required ? "required" : "optional", state, c->why);
		if (c->required && !ok)
			missing++;
	}
	return missing;
}

/* ------------------------------------------------------------ the run */
struct observed {
	bool seen[PORT_LAST - PORT_FIRST + 1];
	struct kvm_regs regs[PORT_LAST - PORT_FIRST + 1];
	unsigned int wrmsr_count, rdmsr_count, exits;
	__u32 wrmsr_index;
	__u64 wrmsr_data;
	__u8 wrmsr_reason;
	__u32 unexpected_msr;		/* first MSR we did not expect, or 0 */
	__u8 rdmsr_reason[2];		/* VP_INDEX, TIME_REF_COUNT */
	bool rdmsr_seen[2];
	bool halted;
	__u64 halt_rip;
};

static volatile sig_atomic_t timed_out;
static struct kvm_run *g_run;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	if (g_run)
		g_run->immediate_exit = 1;
}

static const char *exit_name(__u32 reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_X86_RDMSR: return "X86_RDMSR";
	case KVM_EXIT_X86_WRMSR: return "X86_WRMSR";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_INTR: return "INTR";
	default: return "other";
	}
}

static const char *msr_reason_name(__u8 reason)
{
	switch (reason) {
	case KVM_MSR_EXIT_REASON_FILTER: return "FILTER";
	case KVM_MSR_EXIT_REASON_UNKNOWN: return "UNKNOWN";
	case KVM_MSR_EXIT_REASON_INVAL: return "INVAL";
	default: return "?";
	}
}

/* Run the vCPU until HLT; returns 0, or -1 after printing why not. */
static int run_guest(int vcpu_fd, struct kvm_run *run, unsigned int timeout_s,
		     struct observed *ob)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: KVM_RUN returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	g_run = run;
	alarm(timeout_s);

	for (;;) {
		struct kvm_regs *r = &run->s.regs.regs;

		if (timed_out) {
			printf("guest: no HLT within %u s (%u exits so far)\n",
			       timeout_s, ob->exits);
			return -1;
		}
		run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: ioctl KVM_RUN failed: %s (errno %d)\n",
				PROG, strerror(errno), errno);
			return -1;
		}
		ob->exits++;
		if (ob->exits > 100) {
			printf("guest: more than 100 exits; program is looping\n");
			return -1;
		}

		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT &&
			    run->io.port >= PORT_FIRST && run->io.port <= PORT_LAST) {
				ob->seen[run->io.port - PORT_FIRST] = true;
				ob->regs[run->io.port - PORT_FIRST] = *r;
				break;
			}
			printf("guest: unexpected I/O %s port %#x size %u at RIP %#llx\n",
			       run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			       run->io.port, run->io.size, (unsigned long long)r->rip);
			return -1;
		case KVM_EXIT_X86_WRMSR:
			ob->wrmsr_count++;
			if (run->msr.index == HVIS_MSR_GUEST_OS_ID && ob->wrmsr_count == 1) {
				ob->wrmsr_index = run->msr.index;
				ob->wrmsr_data = run->msr.data;
				ob->wrmsr_reason = run->msr.reason;
				run->msr.error = 0;
			} else {
				if (!ob->unexpected_msr)
					ob->unexpected_msr = run->msr.index;
				run->msr.error = 1;
			}
			break;
		case KVM_EXIT_X86_RDMSR:
			ob->rdmsr_count++;
			run->msr.error = 0;
			if (run->msr.index == HVIS_MSR_VP_INDEX) {
				run->msr.data = VP_INDEX_ANSWER;
				ob->rdmsr_seen[0] = true;
				ob->rdmsr_reason[0] = run->msr.reason;
			} else if (run->msr.index == HVIS_MSR_TIME_REF_COUNT) {
				run->msr.data = REF_COUNT_ANSWER;
				ob->rdmsr_seen[1] = true;
				ob->rdmsr_reason[1] = run->msr.reason;
			} else {
				if (!ob->unexpected_msr)
					ob->unexpected_msr = run->msr.index;
				run->msr.error = 1;
			}
			break;
		case KVM_EXIT_HLT:
			ob->halted = true;
			ob->halt_rip = r->rip;
			alarm(0);
			return 0;
		case KVM_EXIT_FAIL_ENTRY:
			printf("guest: exit FAIL_ENTRY, hardware reason %#llx\n",
			       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return -1;
		case KVM_EXIT_INTERNAL_ERROR:
			printf("guest: exit INTERNAL_ERROR, suberror %u at RIP %#llx\n",
			       run->internal.suberror, (unsigned long long)r->rip);
			return -1;
		default:
			printf("guest: unexpected exit %u (%s) at RIP %#llx\n",
			       run->exit_reason, exit_name(run->exit_reason),
			       (unsigned long long)r->rip);
			return -1;
		}
	}
}

static void report_leaf(const struct observed *ob, int port, __u32 leaf,
			const struct kvm_cpuid2 *built)
{
	const struct kvm_regs *r = &ob->regs[port - PORT_FIRST];
	const struct kvm_cpuid_entry2 *e = hv_cpuid_find(built, leaf, 0);

	if (!ob->seen[port - PORT_FIRST]) {
		check(false, "guest CPUID %#x: never reported", leaf);
		return;
	}
	check(e && (__u32)r->rax == e->eax && (__u32)r->rbx == e->ebx &&
	      (__u32)r->rcx == e->ecx && (__u32)r->rdx == e->edx,
	      "guest CPUID %#x: eax=%#x ebx=%#x ecx=%#x edx=%#x %s", leaf,
	      (__u32)r->rax, (__u32)r->rbx, (__u32)r->rcx, (__u32)r->rdx,
	      e ? "(as set with KVM_SET_CPUID2)" : "(leaf missing from our table)");
}

static void evaluate(const struct observed *ob, const struct kvm_cpuid2 *built,
		     const struct hv_cpuid_opts *opts)
{
	const struct kvm_regs *r;
	char vendor[13];
	__u32 sig[3];
	__u64 v;
	bool ok;

	printf("checks:\n");
	check(ob->halted, "guest ran to HLT (%u exits, RIP %#llx)", ob->exits,
	      (unsigned long long)ob->halt_rip);

	r = &ob->regs[PORT_LEAF_1 - PORT_FIRST];
	check(ob->seen[PORT_LEAF_1 - PORT_FIRST] &&
	      ((__u32)r->rcx & HVIS_CPUID1_ECX_HYPERVISOR),
	      "guest CPUID 0x1: ecx=%#x, hypervisor-present bit 31 %s",
	      (__u32)r->rcx, ((__u32)r->rcx & HVIS_CPUID1_ECX_HYPERVISOR) ? "set" : "CLEAR");

	r = &ob->regs[PORT_LEAF_VENDOR - PORT_FIRST];
	sig[0] = (__u32)r->rbx;
	sig[1] = (__u32)r->rcx;
	sig[2] = (__u32)r->rdx;
	memcpy(vendor, sig, 12);
	vendor[12] = 0;
	for (int i = 0; i < 12; i++)
		if (vendor[i] < 0x20 || vendor[i] > 0x7E)
			vendor[i] = '.';
	check(ob->seen[PORT_LEAF_VENDOR - PORT_FIRST] &&
	      (__u32)r->rax == HVIS_CPUID_OUR_MAX_LEAF &&
	      memcmp(sig, HVIS_CPUID_SIGNATURE, 12) == 0,
	      "guest CPUID 0x40000000: max=%#x vendor='%s'", (__u32)r->rax, vendor);

	r = &ob->regs[PORT_LEAF_INTERFACE - PORT_FIRST];
	{
		__u32 eax = (__u32)r->rax;
		char iface[5];

		memcpy(iface, &eax, 4);
		iface[4] = 0;
		for (int i = 0; i < 4; i++)
			if (iface[i] < 0x20 || iface[i] > 0x7E)
				iface[i] = '.';
		check(ob->seen[PORT_LEAF_INTERFACE - PORT_FIRST] &&
		      eax == HVIS_CPUID_INTERFACE_HV1,
		      "guest CPUID 0x40000001: interface=%#x '%s'", eax, iface);
	}

	report_leaf(ob, PORT_LEAF_FEATURES, HVIS_CPUID_FEATURES, built);
	r = &ob->regs[PORT_LEAF_FEATURES - PORT_FIRST];
	check(((__u32)r->rax & (HVIS_PRIV_HYPERCALL_MSRS | HVIS_PRIV_VP_INDEX)) ==
	      (HVIS_PRIV_HYPERCALL_MSRS | HVIS_PRIV_VP_INDEX),
	      "guest CPUID 0x40000003: HYPERCALL_MSRS and VP_INDEX offered (Linux needs both)");
	check(opts->no_stimer_direct == !((__u32)r->rdx & HVIS_FEAT_STIMER_DIRECT),
	      "guest CPUID 0x40000003: direct-mode stimer %s as requested",
	      ((__u32)r->rdx & HVIS_FEAT_STIMER_DIRECT) ? "offered" : "not offered");

	ok = ob->wrmsr_count >= 1 && ob->wrmsr_index == HVIS_MSR_GUEST_OS_ID &&
	     ob->wrmsr_data == GUEST_OS_ID_VALUE &&
	     ob->wrmsr_reason == KVM_MSR_EXIT_REASON_FILTER;
	if (ok)
		check(true, "guest WRMSR %#x = %#llx arrived in userspace (reason %s)",
		      HVIS_MSR_GUEST_OS_ID, (unsigned long long)ob->wrmsr_data,
		      msr_reason_name(ob->wrmsr_reason));
	else
		check(false, "guest WRMSR %#x: %u exit(s), last %#llx reason %s; "
		      "expected %#llx with reason FILTER", HVIS_MSR_GUEST_OS_ID,
		      ob->wrmsr_count, (unsigned long long)ob->wrmsr_data,
		      ob->wrmsr_count ? msr_reason_name(ob->wrmsr_reason) : "none",
		      GUEST_OS_ID_VALUE);

	check(ob->rdmsr_seen[0] && ob->rdmsr_reason[0] == KVM_MSR_EXIT_REASON_FILTER,
	      "guest RDMSR %#x arrived in userspace (reason %s); answered %#llx",
	      HVIS_MSR_VP_INDEX,
	      ob->rdmsr_seen[0] ? msr_reason_name(ob->rdmsr_reason[0]) : "none",
	      VP_INDEX_ANSWER);
	r = &ob->regs[PORT_VP_INDEX - PORT_FIRST];
	v = (__u64)(__u32)r->rdx << 32 | (__u32)r->rax;
	check(ob->seen[PORT_VP_INDEX - PORT_FIRST] && v == VP_INDEX_ANSWER,
	      "guest read VP_INDEX = %#llx", (unsigned long long)v);

	check(ob->rdmsr_seen[1] && ob->rdmsr_reason[1] == KVM_MSR_EXIT_REASON_FILTER,
	      "guest RDMSR %#x arrived in userspace (reason %s); answered %#llx",
	      HVIS_MSR_TIME_REF_COUNT,
	      ob->rdmsr_seen[1] ? msr_reason_name(ob->rdmsr_reason[1]) : "none",
	      REF_COUNT_ANSWER);
	r = &ob->regs[PORT_REF_COUNT - PORT_FIRST];
	v = (__u64)(__u32)r->rdx << 32 | (__u32)r->rax;
	check(ob->seen[PORT_REF_COUNT - PORT_FIRST] && v == REF_COUNT_ANSWER,
	      "guest read TIME_REF_COUNT = %#llx (all 64 bits)", (unsigned long long)v);

	check(ob->unexpected_msr == 0 && ob->wrmsr_count == 1 && ob->rdmsr_count == 2,
	      "no other MSR exits (%u WRMSR, %u RDMSR%s)", ob->wrmsr_count,
	      ob->rdmsr_count, ob->unexpected_msr ? ", unexpected MSR seen" : "");
}

static void dump_table(const struct kvm_cpuid2 *c)
{
	__u32 i;

	printf("cpuid table (%u entries):\n", c->nent);
	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		printf("  %#010x.%u flags=%u: eax=%#010x ebx=%#010x ecx=%#010x edx=%#010x\n",
		       e->function, e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-v] [-t SECONDS] [--no-stimer-direct] [--no-crash-msrs]\n"
		"       %s --hold\n"
		"  Check that /dev/kvm supports hvis's Hyper-V emulation and run a\n"
		"  tiny guest through the CPUID and synthetic-MSR paths.\n"
		"  -v      also print the whole guest CPUID table\n"
		"  -t      give up on the guest after SECONDS (default 30)\n"
		"  --hold  create an empty VM and keep it until killed, so that KVM\n"
		"          keeps virtualization enabled on every CPU\n",
		PROG, PROG);
}

/* --hold: one empty VM, kept until a signal ends the process. */
static _Noreturn void hold_vm(void)
{
	int kvm_fd, vm_fd;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		fatal("cannot open /dev/kvm: %s (errno %d)", strerror(errno), errno);
	vm_fd = KIOCTL_INT(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		fatal("cannot create a VM");
	printf("%s: holding VM (fd %d) until killed\n", PROG, vm_fd);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-stimer-direct", no_argument, NULL, 'D' },
		{ "no-crash-msrs", no_argument, NULL, 'C' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kvm_cpuid2 *supported = NULL, *built = NULL;
	struct hv_cpuid_opts opts;
	struct kvm_userspace_memory_region region;
	struct kvm_enable_cap cap;
	struct kvm_msr_filter filter;
	struct kvm_sregs sregs;
	struct observed ob;
	static __u8 deny_bitmap[HVIS_MSR_RANGE_COUNT / 8];	/* all 0: deny */
	unsigned int timeout_s = 30, missing;
	bool verbose = false;
	int kvm_fd, vm_fd, vcpu_fd, capfd, api, mmap_size, r, opt;
	void *mem;
	struct kvm_run *run;

	hv_cpuid_opts_init(&opts);
	while ((opt = getopt_long(argc, argv, "vt:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 't':
			timeout_s = (unsigned int)strtoul(optarg, NULL, 0);
			if (!timeout_s)
				timeout_s = 30;
			break;
		case 'D':
			opts.no_stimer_direct = true;
			break;
		case 'C':
			opts.no_crash_msrs = true;
			break;
		case 'H':
			hold_vm();
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		fatal("cannot open /dev/kvm: %s (errno %d)", strerror(errno), errno);
	api = KIOCTL_INT(kvm_fd, KVM_GET_API_VERSION, 0);
	printf("%s: /dev/kvm API version %d\n", PROG, api);
	if (api != KVM_API_VERSION)
		fatal("KVM API version %d, expected %d", api, KVM_API_VERSION);

	vm_fd = KIOCTL_INT(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		fatal("cannot create a VM");

	/* Prefer per-VM answers where the kernel offers them. */
	capfd = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM) > 0 ?
		vm_fd : kvm_fd;
	missing = check_caps(capfd);
	if (missing)
		fatal("%u required capabilit%s missing (see the list above)",
		      missing, missing == 1 ? "y is" : "ies are");

	/* Memory: one slot at GPA 0 holding the program. */
	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		fatal("mmap of guest memory: %s (errno %d)", strerror(errno), errno);
	memcpy((char *)mem + GUEST_CODE_GPA, guest_code, sizeof(guest_code));
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (__u64)(uintptr_t)mem;
	if (KIOCTL(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		fatal("cannot add the memory slot");

	/* Needed by Intel VMX without unrestricted guest; harmless elsewhere. */
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, 0xFFFBD000ul) < 0)
		printf("note: KVM_SET_TSS_ADDR failed: %s (errno %d); continuing\n",
		       strerror(errno), errno);

	/* Synthetic MSRs: exit to userspace, and deny KVM's own handling. */
	memset(&cap, 0, sizeof(cap));
	cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
	cap.args[0] = KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
		      KVM_MSR_EXIT_REASON_FILTER;
	if (KIOCTL(vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		fatal("cannot enable KVM_CAP_X86_USER_SPACE_MSR");
	memset(&filter, 0, sizeof(filter));
	filter.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	filter.ranges[0].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
	filter.ranges[0].base = HVIS_MSR_RANGE_BASE;
	filter.ranges[0].nmsrs = HVIS_MSR_RANGE_COUNT;
	filter.ranges[0].bitmap = deny_bitmap;
	if (KIOCTL(vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0)
		fatal("cannot install the MSR filter");
	printf("msr: user-space MSR exits on (INVAL|UNKNOWN|FILTER); deny filter %#x..%#x\n",
	       HVIS_MSR_RANGE_BASE, HVIS_MSR_RANGE_BASE + HVIS_MSR_RANGE_COUNT - 1);

	/* vCPU and its kvm_run area. */
	vcpu_fd = KIOCTL_INT(vm_fd, KVM_CREATE_VCPU, 0);
	if (vcpu_fd < 0)
		fatal("cannot create vCPU 0");
	mmap_size = KIOCTL_INT(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run))
		fatal("bad KVM_GET_VCPU_MMAP_SIZE %d", mmap_size);
	run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu_fd, 0);
	if (run == MAP_FAILED)
		fatal("mmap of kvm_run: %s (errno %d)", strerror(errno), errno);

	/* CPUID: KVM's supported leaves plus ours. */
	r = hv_cpuid_get_supported(kvm_fd, &supported);
	if (r < 0)
		fatal("ioctl KVM_GET_SUPPORTED_CPUID failed: %s (errno %d)",
		      strerror(-r), -r);
	built = hv_cpuid_build(supported, &opts);
	if (!built)
		fatal("building the CPUID table: %s", strerror(errno));
	hv_cpuid_set_apic_id(built, 0);
	printf("cpuid: KVM supports %u entries; the guest gets %u (hypervisor leaves "
	       "replaced by Hyper-V's %#x..%#x)\n", supported->nent, built->nent,
	       HVIS_CPUID_VENDOR_MAX, HVIS_CPUID_OUR_MAX_LEAF);
	if (verbose)
		dump_table(built);
	if (KIOCTL(vcpu_fd, KVM_SET_CPUID2, built) < 0)
		fatal("cannot set the guest CPUID");

	{
		int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);

		if (khz > 0)
			printf("vcpu: TSC %d kHz (KVM_GET_TSC_KHZ)\n", khz);
		else
			printf("vcpu: KVM_GET_TSC_KHZ failed: %s (errno %d)\n",
			       strerror(errno), errno);
	}

	/* Real mode, CS base 0; general registers via the sync area. */
	if (KIOCTL(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		fatal("cannot read the special registers");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds = sregs.es = sregs.ss = sregs.cs;
	sregs.ds.type = sregs.es.type = sregs.ss.type = 3;	/* data, RW, accessed */
	if (KIOCTL(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		fatal("cannot set the special registers");
	memset(&run->s.regs.regs, 0, sizeof(run->s.regs.regs));
	run->s.regs.regs.rip = GUEST_CODE_GPA;
	run->s.regs.regs.rsp = GUEST_STACK_TOP;
	run->s.regs.regs.rflags = 0x2;			/* reserved bit 1 */
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;

	memset(&ob, 0, sizeof(ob));
	printf("guest: running %zu bytes of real-mode code at %#x\n",
	       sizeof(guest_code), GUEST_CODE_GPA);
	r = run_guest(vcpu_fd, run, timeout_s, &ob);
	if (r < 0)
		printf("guest: stopped early; the checks below show how far it got\n");

	evaluate(&ob, built, &opts);

	free(supported);
	free(built);
	munmap(run, (size_t)mmap_size);
	close(vcpu_fd);
	munmap(mem, GUEST_MEM_SIZE);
	close(vm_fd);
	close(kvm_fd);

	if (n_failed) {
		printf("%s: FAIL (%u of %u checks failed; first: %s)\n", PROG,
		       n_failed, n_checks, first_failure);
		return 1;
	}
	printf("%s: PASS (all %u checks hold)\n", PROG, n_checks);
	return 0;
}
