// SPDX-License-Identifier: GPL-2.0-only
/*
 * The partition on KVM: VM and vCPU creation, the exit loop, port I/O
 * dispatch, and the platform side of the TLFS emulation.
 *
 * Exits, and who handles them:
 *   IO        COM1 -> uart; PM1a / reset / 0x64 -> power; hypercall
 *             ports -> tlfs; anything else reads as all ones, writes dropped
 *   RDMSR/WRMSR  synthetic MSRs (the filter range) -> tlfs; #GP otherwise
 *   MMIO      nothing is mapped there: reads all ones, writes dropped
 *   SHUTDOWN  triple fault; SYSTEM_EVENT; INTERNAL_ERROR / FAIL_ENTRY
 * Registers travel through KVM's shared-register area (sync regs), never
 * through KVM_GET_REGS/KVM_SET_REGS on the exit path.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sched.h>
#include <x86intrin.h>

#include "acpi.h"
#include "boot.h"
#include "platform.h"
#include "uart.h"
#include "vm.h"
#include "vsp_link.h"

#define MSR_IA32_TSC	0x10
#define SINT_GSI_BASE	24		/* after the 24 IOAPIC pins */

void vm_log(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	(void)vm;
	va_start(ap, fmt);
	fputs("hvis-run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

void vm_request_exit(struct vm *vm, enum hvis_exit status)
{
	pthread_mutex_lock(&vm->exit_lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->exit_status = status;
	}
	pthread_mutex_unlock(&vm->exit_lock);
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *c = &vm->vcpu[i];

		if (c->run)
			__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (c->thread && !pthread_equal(c->thread, pthread_self()))
			pthread_kill(c->thread, SIGUSR1);
	}
	pthread_mutex_lock(&vm->timer_lock);
	pthread_cond_broadcast(&vm->timer_cond);
	pthread_mutex_unlock(&vm->timer_lock);
}

static bool vm_stopping(struct vm *vm)
{
	bool s;

	pthread_mutex_lock(&vm->exit_lock);
	s = vm->stopping;
	pthread_mutex_unlock(&vm->exit_lock);
	return s;
}

/* ------------------------------------------------------------ time */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Reference time runs with this host's CLOCK_MONOTONIC, anchored to the
 * guest TSC at start-up: the TSC page's scale is the guest TSC's measured
 * rate, so the guest's reading (TSC x scale) and ours (monotonic) advance
 * together. No rdtsc here: host TSCs need not be synchronised, and a
 * nested guest's TSC need not tick with its host's.
 */
uint64_t vm_ref_time(struct vm *vm)
{
	uint64_t ref, mono;

	pthread_mutex_lock(&vm->time_lock);
	ref = vm->ref_anchor;
	mono = vm->mono_anchor;
	pthread_mutex_unlock(&vm->time_lock);
	return ref + (mono_ns() - mono) / 100u;
}

/*
 * Re-anchor reference time on the guest TSC, read on the vCPU's own
 * thread between two runs. KVM may move a guest's TSC offset while it
 * runs (on hosts whose TSC it considers unstable it does so on every
 * vCPU load), and the guest computes reference time from its TSC; so
 * before an exit that depends on "now" (a timer programmed, the time
 * counter read) hvis-run takes the guest's own "now".
 */
static void vcpu_sync_time(struct vcpu *c)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;
	uint64_t a, b;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = MSR_IA32_TSC;
	a = mono_ns();
	if (ioctl(c->fd, KVM_GET_MSRS, &m) != 1)
		return;
	b = mono_ns();
	pthread_mutex_lock(&c->vm->time_lock);
	c->vm->ref_anchor = tlfs_tsc_to_ref(m.e.data, c->vm->tsc_scale);
	c->vm->mono_anchor = a + (b - a) / 2;
	pthread_mutex_unlock(&c->vm->time_lock);
}

static struct timespec mono_after_ref(struct vm *vm, uint64_t deadline)
{
	struct timespec ts;
	uint64_t now = vm_ref_time(vm), ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = deadline > now ? (deadline - now) * 100 : 0;
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec += (long)(ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/*
 * One (guest TSC, monotonic ns) pair: the guest's IA32_TSC read through
 * KVM (vCPU 0 is not running yet), bracketed by two clock reads; the
 * tightest of several tries.
 */
static int guest_tsc_pair(struct vm *vm, uint64_t *tsc, uint64_t *ns)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 16; i++) {
		uint64_t a, b;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = MSR_IA32_TSC;
		a = mono_ns();
		if (ioctl(vm->vcpu[0].fd, KVM_GET_MSRS, &m) != 1)
			return -1;
		b = mono_ns();
		if (b - a < best) {
			best = b - a;
			*tsc = m.e.data;
			*ns = a + (b - a) / 2;
		}
	}
	return 0;
}

/*
 * The host TSC's rate against CLOCK_MONOTONIC, measured on one CPU (host
 * TSCs may be unsynchronised; a rate needs both reads on the same one).
 * A guest's TSC ticks at its host's rate (no TSC scaling is set up);
 * its offset is another matter, see vcpu_sync_time().
 */
static uint64_t measure_host_tsc_hz(unsigned int ms)
{
	struct timespec d = { 0, (long)ms * 1000000L };
	uint64_t c0 = 0, t0 = 0, c1 = 0, t1 = 0, best;
	cpu_set_t old, one;
	int cpu = sched_getcpu();
	bool pinned;

	CPU_ZERO(&one);
	CPU_SET(cpu < 0 ? 0 : cpu, &one);
	pinned = sched_getaffinity(0, sizeof(old), &old) == 0 &&
		 sched_setaffinity(0, sizeof(one), &one) == 0;
	for (int pass = 0; pass < 2; pass++) {
		best = UINT64_MAX;
		for (int i = 0; i < 32; i++) {
			uint64_t a = __rdtsc(), t = mono_ns(), b = __rdtsc();

			if (b - a < best) {
				best = b - a;
				*(pass ? &c1 : &c0) = a + (b - a) / 2;
				*(pass ? &t1 : &t0) = t;
			}
		}
		if (!pass)
			while (nanosleep(&d, &d) && errno == EINTR)
				;
	}
	if (pinned)
		sched_setaffinity(0, sizeof(old), &old);
	if (c1 <= c0 || t1 <= t0)
		return 0;
	return (uint64_t)((unsigned __int128)(c1 - c0) * 1000000000u / (t1 - t0));
}

/* The guest TSC's rate over @ms, read through KVM (vCPU 0 not running). */
static uint64_t measure_guest_tsc_hz(struct vm *vm, unsigned int ms)
{
	struct timespec d = { 0, (long)ms * 1000000L };
	uint64_t c0, t0, c1, t1;

	if (guest_tsc_pair(vm, &c0, &t0))
		return 0;
	while (nanosleep(&d, &d) && errno == EINTR)
		;
	if (guest_tsc_pair(vm, &c1, &t1) || c1 <= c0 || t1 <= t0)
		return 0;
	return (uint64_t)((unsigned __int128)(c1 - c0) * 1000000000u / (t1 - t0));
}

static bool within(uint64_t a, uint64_t ref, uint64_t parts)
{
	return (a > ref ? a - ref : ref - a) <= ref / parts;
}

/*
 * The guest TSC's rate. KVM's figure is the host kernel's calibration,
 * which can be off by a fraction of a percent, and a nested guest's TSC
 * need not tick at its host's rate at all (seen inside the TCG test host:
 * 0.2 % apart). So measure against CLOCK_MONOTONIC: the guest's own TSC
 * through KVM first, the host TSC second (a KVM that re-bases guest TSCs
 * on every vCPU load, as it does on hosts with unstable TSCs, spoils the
 * first), and use a measurement only within 1 % of KVM's figure.
 */
static int vm_tsc_setup(struct vm *vm)
{
	uint64_t c0 = 0, t0 = 0, hz;
	const char *how = "KVM";
	int khz;

	khz = ioctl(vm->vcpu[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		vm_log(vm, "KVM_GET_TSC_KHZ: %s", strerror(errno));
		return -1;
	}
	vm->tsc_hz = (uint64_t)khz * 1000u;
	hz = measure_guest_tsc_hz(vm, 100);
	if (hz && within(hz, vm->tsc_hz, 100)) {
		how = "the guest TSC";
	} else {
		hz = measure_host_tsc_hz(100);
		how = "the host TSC";
	}
	if (hz && within(hz, vm->tsc_hz, 100) && !within(hz, vm->tsc_hz, 10000))
		vm->tsc_hz = hz;
	else
		how = "KVM";
	if (vm->cfg.verbose)
		vm_log(vm, "guest TSC rate %llu Hz (from %s; KVM says %d kHz)",
		       (unsigned long long)vm->tsc_hz, how, khz);
	vm->tsc_scale = tlfs_tsc_scale(vm->tsc_hz);
	if (guest_tsc_pair(vm, &c0, &t0)) {
		vm_log(vm, "reading the guest TSC: %s", strerror(errno));
		return -1;
	}
	vm->ref_anchor = tlfs_tsc_to_ref(c0, vm->tsc_scale);
	vm->mono_anchor = t0;
	return 0;
}

/* ------------------------------------------------------------ timers */

static void *timer_main(void *arg)
{
	struct vm *vm = arg;

	pthread_mutex_lock(&vm->timer_lock);
	while (!vm_stopping(vm)) {
		uint64_t next = 0, now = vm_ref_time(vm);
		unsigned int fire_vp = 0, fire_n = 0;
		bool fire = false;

		for (unsigned int v = 0; v < vm->nvcpus && !fire; v++) {
			for (unsigned int n = 0; n < HVIS_STIMER_COUNT; n++) {
				uint64_t d = vm->timer_deadline[v][n];

				if (!d)
					continue;
				if (d <= now) {
					vm->timer_deadline[v][n] = 0;
					fire_vp = v;
					fire_n = n;
					fire = true;
					break;
				}
				if (!next || d < next)
					next = d;
			}
		}
		if (fire) {
			/* tlfs may re-arm (periodic): not under our lock */
			pthread_mutex_unlock(&vm->timer_lock);
			tlfs_timer_expired(vm->tlfs, fire_vp, fire_n);
			pthread_mutex_lock(&vm->timer_lock);
			continue;
		}
		if (next) {
			struct timespec ts = mono_after_ref(vm, next);

			pthread_cond_timedwait(&vm->timer_cond, &vm->timer_lock, &ts);
		} else {
			pthread_cond_wait(&vm->timer_cond, &vm->timer_lock);
		}
	}
	pthread_mutex_unlock(&vm->timer_lock);
	return NULL;
}

/* ------------------------------------------------------------ interrupts */

static void vm_msi(struct vm *vm, unsigned int apic_id, unsigned int vector)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)(HVIS_LAPIC_BASE | (apic_id << 12)),
		.data = vector,		/* fixed delivery, edge */
	};

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		vm_log(vm, "KVM_SIGNAL_MSI vp %u vector %#x: %s", apic_id, vector,
		       strerror(errno));
}

/*
 * Rebuild the GSI routing table: KVM's default IRQ-chip routes for pins
 * 0..23, then one MSI route per unmasked SINT, GSI = 24 + vp * 16 + sint,
 * so that an irqfd on that GSI (the VSP service's) interrupts the guest
 * with the vector it programmed.
 */
static int vm_update_routes(struct vm *vm)
{
	unsigned int max = 16 * 2 + 24 + vm->nvcpus * HVIS_SINT_COUNT, n = 0;
	struct kvm_irq_routing *r;
	int ret;

	r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	/*
	 * ISA IRQs 0..15 go to the PICs and the IOAPIC pin of the same
	 * number, except the PIT: KVM raises it on GSI 0, which the MADT's
	 * override puts on IOAPIC pin 2 (as on PC hardware); GSI 2 is the
	 * PIC cascade and has no route.
	 */
	for (unsigned int gsi = 0; gsi < 24; gsi++) {
		if (gsi == 2)
			continue;
		if (gsi < 16) {
			r->entries[n].gsi = gsi;
			r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			r->entries[n].u.irqchip.irqchip = gsi < 8 ?
				KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			r->entries[n++].u.irqchip.pin = gsi % 8;
		}
		r->entries[n].gsi = gsi;
		r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r->entries[n++].u.irqchip.pin = gsi == 0 ? 2 : gsi;
	}
	for (unsigned int v = 0; v < vm->nvcpus; v++) {
		for (unsigned int s = 0; s < HVIS_SINT_COUNT; s++) {
			uint64_t val = vm->sint_value[v][s];

			if (val & HVIS_SINT_MASKED)
				continue;
			r->entries[n].gsi = SINT_GSI_BASE + v * HVIS_SINT_COUNT + s;
			r->entries[n].type = KVM_IRQ_ROUTING_MSI;
			r->entries[n].u.msi.address_lo =
				(uint32_t)(HVIS_LAPIC_BASE | (v << 12));
			r->entries[n++].u.msi.data =
				(uint32_t)(val & HVIS_SINT_VECTOR_MASK);
		}
	}
	r->nr = n;
	ret = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
	free(r);
	return ret;
}

static void vm_irqfd(struct vm *vm, unsigned int vp, unsigned int sint,
		     bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)vm->sint_eventfd[vp][sint],
		.gsi = SINT_GSI_BASE + vp * HVIS_SINT_COUNT + sint,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 && assign)
		vm_log(vm, "KVM_IRQFD vp %u sint %u: %s", vp, sint, strerror(errno));
}

/* ------------------------------------------------------------ tlfs glue */

static void *plat_gpa_ptr(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vm *vm = opaque;

	return guest_mem_ptr(&vm->mem, gpa, len);
}

static uint64_t plat_ref_time(void *opaque)
{
	return vm_ref_time(opaque);
}

static void plat_interrupt(void *opaque, unsigned int vp, unsigned int vector)
{
	vm_msi(opaque, vp, vector);
}

static void plat_sint_changed(void *opaque, unsigned int vp, unsigned int sint,
			      uint64_t value)
{
	struct vm *vm = opaque;
	bool was_masked, masked = value & HVIS_SINT_MASKED;

	pthread_mutex_lock(&vm->route_lock);
	was_masked = vm->sint_value[vp][sint] & HVIS_SINT_MASKED;
	if (vm->sint_value[vp][sint] != value) {
		vm->sint_value[vp][sint] = value;
		if (!was_masked)
			vm_irqfd(vm, vp, sint, false);
		if (vm_update_routes(vm))
			vm_log(vm, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
		if (!masked)
			vm_irqfd(vm, vp, sint, true);
	}
	pthread_mutex_unlock(&vm->route_lock);
}

static void plat_arm_timer(void *opaque, unsigned int vp, unsigned int timer,
			   uint64_t deadline)
{
	struct vm *vm = opaque;

	pthread_mutex_lock(&vm->timer_lock);
	vm->timer_deadline[vp][timer] = deadline;
	pthread_cond_broadcast(&vm->timer_cond);
	pthread_mutex_unlock(&vm->timer_lock);
}

static uint64_t plat_vp_runtime(void *opaque, unsigned int vp)
{
	struct timespec ts;

	(void)opaque;
	(void)vp;
	/* called on the vCPU's own thread (an MSR exit) */
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100u;
}

static void plat_crash(void *opaque, unsigned int vp, const uint64_t p[5])
{
	struct vm *vm = opaque;

	fprintf(stderr,
		"hvis-run: guest crash reported by vCPU %u: P0=%#llx P1=%#llx P2=%#llx P3=%#llx P4=%#llx\n",
		vp, (unsigned long long)p[0], (unsigned long long)p[1],
		(unsigned long long)p[2], (unsigned long long)p[3],
		(unsigned long long)p[4]);
	vm_request_exit(vm, HVIS_EXIT_CRASH);
}

/* ------------------------------------------------------------ ports */

static void uart_irq(void *opaque, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = HVIS_IRQ_COM1, .level = (uint32_t)level };

	ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq);
}

static void handle_hypercall_io(struct vcpu *c)
{
	struct kvm_regs *r = &c->run->s.regs.regs;

	c->hcall_exits++;
	r->rax = tlfs_hypercall(c->vm->tlfs, c->index, r->rcx, r->rdx, r->r8);
	c->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

/* One port access of @size bytes at @data (guest order). */
static void port_io(struct vcpu *c, uint16_t port, bool out, uint8_t *data,
		    unsigned int size)
{
	struct vm *vm = c->vm;
	uint32_t val = 0;

	memcpy(&val, data, size);
	if (port >= HVIS_PORT_COM1 && port < HVIS_PORT_COM1 + 8) {
		/* a wide access covers consecutive registers */
		for (unsigned int i = 0; i < size; i++) {
			if (port + i < HVIS_PORT_COM1 + 8)
				uart_io(vm->uart, port + i - HVIS_PORT_COM1, out, &data[i]);
			else if (!out)
				data[i] = 0xFF;
		}
		return;
	}
	if (port == RTC_PORT_INDEX || port == RTC_PORT_DATA) {
		pthread_mutex_lock(&vm->dev_lock);
		for (unsigned int i = 0; i < size; i++)
			rtc_io(&vm->rtc, port, out, &data[i], time(NULL));
		pthread_mutex_unlock(&vm->dev_lock);
		return;
	}
	if (out) {
		switch (port) {
		case HVIS_PORT_PM1A_EVT + 2:
			pthread_mutex_lock(&vm->dev_lock);
			vm->pm1_enable = (uint16_t)val;
			pthread_mutex_unlock(&vm->dev_lock);
			return;
		case HVIS_PORT_HCALL:
			handle_hypercall_io(c);
			return;
		case HVIS_PORT_HCALL_SIGNAL:
			/* no ioeventfd matched: dispatch in userspace */
			tlfs_fast_signal(vm->tlfs, c->index, val);
			return;
		case HVIS_PORT_PM1A_CNT:
			if (size >= 2 && (val & HVIS_PM1_SLP_EN) &&
			    ((val & HVIS_PM1_SLP_TYP_MASK) >> HVIS_PM1_SLP_TYP_SHIFT) ==
			    HVIS_SLP_TYP_S5)
				vm_request_exit(vm, HVIS_EXIT_POWEROFF);
			return;
		case HVIS_PORT_RESET:
			if ((val & 0xFF) == HVIS_RESET_VALUE || (val & 0x04))
				vm_request_exit(vm, HVIS_EXIT_REBOOT);
			return;
		case HVIS_PORT_KBD_CMD:
			if ((val & 0xFF) == 0xFE)
				vm_request_exit(vm, HVIS_EXIT_REBOOT);
			return;
		}
		return;		/* writes elsewhere are dropped */
	}
	switch (port) {
	case HVIS_PORT_PM1A_EVT:	/* status: no events */
		val = 0;
		break;
	case HVIS_PORT_PM1A_EVT + 2:	/* enable: remembered (global lock) */
		pthread_mutex_lock(&vm->dev_lock);
		val = vm->pm1_enable;
		pthread_mutex_unlock(&vm->dev_lock);
		break;
	case HVIS_PORT_PM1A_CNT:
		val = 1;	/* SCI_EN: always in ACPI mode (no SMI_CMD) */
		break;
	default:
		val = 0xFFFFFFFFu;	/* nothing there */
		break;
	}
	memcpy(data, &val, size);
}

static void handle_io(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *p = (uint8_t *)run + run->io.data_offset;

	c->io_exits++;
	for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size)
		port_io(c, run->io.port, run->io.direction == KVM_EXIT_IO_OUT, p,
			run->io.size);
}

static void handle_msr(struct vcpu *c, bool write)
{
	struct kvm_run *run = c->run;
	uint64_t val = 0;
	int ret;

	c->msr_exits++;
	if (run->msr.index == HVIS_MSR_TIME_REF_COUNT ||
	    (run->msr.index >= HVIS_MSR_STIMER0_CONFIG &&
	     run->msr.index < HVIS_MSR_STIMER0_CONFIG + 2 * HVIS_STIMER_COUNT))
		vcpu_sync_time(c);
	if (!tlfs_msr_in_range(run->msr.index))
		ret = -1;
	else if (write)
		ret = tlfs_wrmsr(c->vm->tlfs, c->index, run->msr.index, run->msr.data);
	else if ((ret = tlfs_rdmsr(c->vm->tlfs, c->index, run->msr.index, &val)) == 0)
		run->msr.data = val;
	if (ret && c->vm->cfg.verbose)
		vm_log(c->vm, "vCPU %u: %s MSR %#x%s -> #GP", c->index,
		       write ? "WRMSR" : "RDMSR", run->msr.index,
		       write ? "" : "");
	run->msr.error = ret ? 1 : 0;
}

static void *vcpu_main(void *arg)
{
	struct vcpu *c = arg;
	struct vm *vm = c->vm;
	struct kvm_run *run = c->run;

	while (!vm_stopping(vm)) {
		run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_log(vm, "vCPU %u: KVM_RUN: %s", c->index, strerror(errno));
			vm_request_exit(vm, HVIS_EXIT_HOST_ERROR);
			break;
		}
		c->exits++;
		run->kvm_dirty_regs = 0;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(c);
			break;
		case KVM_EXIT_X86_RDMSR:
			handle_msr(c, false);
			break;
		case KVM_EXIT_X86_WRMSR:
			handle_msr(c, true);
			break;
		case KVM_EXIT_MMIO:
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xFF, sizeof(run->mmio.data));
			break;
		case KVM_EXIT_HLT:
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			/* no address: AMD's KVM resets the vCPU before it
			 * returns (the rip would read 0xfff0); Intel's does
			 * not, but one message for both
			 */
			vm_log(vm, "vCPU %u: triple fault (shutdown)", c->index);
			vm_request_exit(vm, HVIS_EXIT_TRIPLE_FAULT);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vm_request_exit(vm, run->system_event.type ==
					KVM_SYSTEM_EVENT_RESET ?
					HVIS_EXIT_REBOOT : HVIS_EXIT_POWEROFF);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vm_log(vm, "vCPU %u: entry failed, reason %#llx", c->index,
			       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			vm_request_exit(vm, HVIS_EXIT_HOST_ERROR);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vm_log(vm, "vCPU %u: KVM internal error, suberror %u at rip %#llx",
			       c->index, run->internal.suberror,
			       (unsigned long long)run->s.regs.regs.rip);
			vm_request_exit(vm, HVIS_EXIT_HOST_ERROR);
			break;
		default:
			vm_log(vm, "vCPU %u: unhandled exit reason %u", c->index,
			       run->exit_reason);
			vm_request_exit(vm, HVIS_EXIT_HOST_ERROR);
			break;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ console */

/* Console input: Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends one Ctrl-A. */
#define CONSOLE_ESCAPE	0x01

static void *input_main(void *arg)
{
	struct vm *vm = arg;
	uint8_t in[64], buf[64];
	bool escaped = false;

	while (!vm_stopping(vm)) {
		ssize_t got = read(vm->cfg.console_in, in, sizeof(in));
		size_t n = 0, done = 0;

		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++) {
			if (escaped) {
				escaped = false;
				if (in[i] == 'x') {
					vm_log(vm, "stopped from the console");
					vm_request_exit(vm, HVIS_EXIT_STOPPED);
					return NULL;
				}
				if (in[i] != CONSOLE_ESCAPE)
					continue;
			} else if (in[i] == CONSOLE_ESCAPE) {
				escaped = true;
				continue;
			}
			buf[n++] = in[i];
		}
		while (done < n && !vm_stopping(vm)) {
			size_t k = uart_receive(vm->uart, buf + done, n - done);

			done += k;
			if (!k)	/* the guest drains its FIFO */
				uart_wait_can_receive(vm->uart, 100);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ setup */

static int kvm_check_cap(struct vm *vm, long cap, const char *name)
{
	int r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap);

	if (r <= 0) {
		vm_log(vm, "this KVM lacks %s", name);
		return -1;
	}
	return r;
}

static int vm_setup_msr_filter(struct vm *vm)
{
	static uint8_t deny[HVIS_MSR_RANGE_COUNT / 8];	/* all zero: deny */
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_FILTER,
	};
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = {
			.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			.nmsrs = HVIS_MSR_RANGE_COUNT,
			.base = HVIS_MSR_RANGE_BASE,
			.bitmap = deny,
		},
	};

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		vm_log(vm, "KVM_CAP_X86_USER_SPACE_MSR: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0) {
		vm_log(vm, "KVM_X86_SET_MSR_FILTER: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int vm_create_vcpus(struct vm *vm)
{
	struct kvm_cpuid2 *supported = NULL, *cpuid;
	int ret;

	ret = hv_cpuid_get_supported(vm->kvm_fd, &supported);
	if (ret) {
		vm_log(vm, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		return -1;
	}
	vm->cfg.cpuid.max_vps = vm->nvcpus;
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		struct vcpu *c = &vm->vcpu[i];

		c->vm = vm;
		c->index = i;
		c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (c->fd < 0) {
			vm_log(vm, "KVM_CREATE_VCPU %u: %s", i, strerror(errno));
			goto fail;
		}
		c->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, c->fd, 0);
		if (c->run == MAP_FAILED) {
			c->run = NULL;
			vm_log(vm, "mmap kvm_run: %s", strerror(errno));
			goto fail;
		}
		cpuid = hv_cpuid_build(supported, &vm->cfg.cpuid);
		if (!cpuid) {
			vm_log(vm, "building the CPUID table: %s", strerror(errno));
			goto fail;
		}
		hv_cpuid_set_apic_id(cpuid, i);
		ret = ioctl(c->fd, KVM_SET_CPUID2, cpuid);
		free(cpuid);
		if (ret < 0) {
			vm_log(vm, "KVM_SET_CPUID2: %s", strerror(errno));
			goto fail;
		}
	}
	free(supported);
	return 0;
fail:
	free(supported);
	return -1;
}

static int vm_boot(struct vm *vm)
{
	struct acpi_config acfg = {
		.ncpus = vm->nvcpus,
		.vmbus_mmio_base = HVIS_VMBUS_MMIO_BASE,
		.vmbus_mmio_size = HVIS_VMBUS_MMIO_SIZE,
	};
	struct boot_config bcfg = {
		.kernel_path = vm->cfg.kernel,
		.initrd_path = vm->cfg.initrd,
		.cmdline = vm->cfg.cmdline ? vm->cfg.cmdline : "",
		.acpi_base = HVIS_ACPI_BASE,
		.acpi_size = HVIS_ACPI_SIZE,
	};
	struct boot_entry entry;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	char err[256];
	void *acpi;
	size_t used;
	int ret;

	acpi = guest_mem_ptr(&vm->mem, HVIS_ACPI_BASE, HVIS_ACPI_SIZE);
	if (!acpi) {
		vm_log(vm, "guest memory too small for the ACPI area");
		return -1;
	}
	ret = acpi_build(acpi, HVIS_ACPI_SIZE, HVIS_ACPI_BASE, &acfg,
			 &bcfg.rsdp_gpa, &used);
	if (ret) {
		vm_log(vm, "building ACPI tables: %s", strerror(-ret));
		return -1;
	}
	if (boot_load(&vm->mem, &bcfg, &entry, err, sizeof(err))) {
		vm_log(vm, "loading the kernel: %s", err);
		return -1;
	}
	if (ioctl(vm->vcpu[0].fd, KVM_GET_SREGS, &sregs) < 0) {
		vm_log(vm, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	memset(&regs, 0, sizeof(regs));
	boot_setup_vcpu0(&entry, &sregs, &regs);
	if (ioctl(vm->vcpu[0].fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vm->vcpu[0].fd, KVM_SET_REGS, &regs) < 0) {
		vm_log(vm, "setting vCPU 0 state: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void plat_eom(void *opaque, unsigned int vp)
{
	struct vm *vm = opaque;

	vsp_link_eom(__atomic_load_n(&vm->vsp, __ATOMIC_ACQUIRE), vp);
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct kvm_pit_config pit = { .flags = 0 };
	struct kvm_userspace_memory_region region;
	struct tlfs_options topt;
	struct tlfs_platform plat = {
		.opaque = vm,
		.gpa_ptr = plat_gpa_ptr,
		.ref_time = plat_ref_time,
		.interrupt = plat_interrupt,
		.sint_changed = plat_sint_changed,
		.arm_timer = plat_arm_timer,
		.vp_runtime = plat_vp_runtime,
		.crash = plat_crash,
		.eom = plat_eom,
	};
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->mem.memfd = -1;
	vm->nvcpus = cfg->ncpus;
	pthread_mutex_init(&vm->exit_lock, NULL);
	pthread_mutex_init(&vm->route_lock, NULL);
	pthread_mutex_init(&vm->dev_lock, NULL);
	pthread_mutex_init(&vm->time_lock, NULL);
	pthread_mutex_init(&vm->timer_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&vm->timer_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	for (unsigned int v = 0; v < VM_MAX_VCPUS; v++)
		for (unsigned int s = 0; s < HVIS_SINT_COUNT; s++) {
			vm->sint_eventfd[v][s] = -1;
			vm->sint_value[v][s] = HVIS_SINT_RESET_VALUE;
		}
	if (!cfg->ncpus || cfg->ncpus > VM_MAX_VCPUS) {
		vm_log(vm, "vCPU count %u out of range 1..%u", cfg->ncpus, VM_MAX_VCPUS);
		return -1;
	}
	sigaction(SIGUSR1, &sa, NULL);

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		vm_log(vm, "/dev/kvm: %s", strerror(errno));
		return -1;
	}
	if (kvm_check_cap(vm, KVM_CAP_IRQCHIP, "an in-kernel irqchip") < 0 ||
	    kvm_check_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, "userspace MSR exits") < 0 ||
	    kvm_check_cap(vm, KVM_CAP_X86_MSR_FILTER, "MSR filters") < 0 ||
	    kvm_check_cap(vm, KVM_CAP_SYNC_REGS, "sync regs") < 0 ||
	    kvm_check_cap(vm, KVM_CAP_IRQFD, "irqfd") < 0 ||
	    kvm_check_cap(vm, KVM_CAP_IRQ_ROUTING, "IRQ routing") < 0 ||
	    kvm_check_cap(vm, KVM_CAP_SIGNAL_MSI, "KVM_SIGNAL_MSI") < 0)
		return -1;
	r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0) {
		vm_log(vm, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	vm->run_size = (size_t)r;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		vm_log(vm, "KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	/* Intel needs these two pages out of the guest's way; AMD ignores them */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xFFFBD000ul);
	{
		uint64_t ident = 0xFFFBC000ull;

		ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		vm_log(vm, "creating the in-kernel irqchip and PIT: %s", strerror(errno));
		return -1;
	}
	r = guest_mem_init(&vm->mem, cfg->mem_bytes);
	if (r) {
		vm_log(vm, "guest memory (%llu MiB): %s",
		       (unsigned long long)(cfg->mem_bytes >> 20), strerror(-r));
		return -1;
	}
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = vm->mem.low_size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem.base,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		goto mem_fail;
	if (vm->mem.size > vm->mem.low_size) {
		region = (struct kvm_userspace_memory_region){
			.slot = 1, .guest_phys_addr = HVIS_HIGH_RAM_BASE,
			.memory_size = vm->mem.size - vm->mem.low_size,
			.userspace_addr = (uint64_t)(uintptr_t)(vm->mem.base +
								vm->mem.low_size),
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			goto mem_fail;
	}
	if (vm_setup_msr_filter(vm) || vm_create_vcpus(vm) || vm_tsc_setup(vm))
		return -1;

	topt = (struct tlfs_options){
		.nvps = vm->nvcpus,
		.tsc_hz = vm->tsc_hz,
		.apic_hz = 1000000000ull,	/* KVM's APIC bus: 1 ns per tick */
		.stimer_direct = !cfg->cpuid.no_stimer_direct,
		.reference_tsc = !cfg->cpuid.no_reference_tsc,
		.crash_msrs = !cfg->cpuid.no_crash_msrs,
	};
	vm->tlfs = tlfs_create(&topt, &plat);
	if (!vm->tlfs) {
		vm_log(vm, "creating the TLFS state failed");
		return -1;
	}
	for (unsigned int v = 0; v < vm->nvcpus; v++)
		for (unsigned int s = 0; s < HVIS_SINT_COUNT; s++) {
			vm->sint_eventfd[v][s] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (vm->sint_eventfd[v][s] < 0) {
				vm_log(vm, "eventfd: %s", strerror(errno));
				return -1;
			}
		}
	if (vm_update_routes(vm)) {
		vm_log(vm, "KVM_SET_GSI_ROUTING: %s", strerror(errno));
		return -1;
	}
	vm->uart = uart_create(cfg->console_out, uart_irq, vm);
	if (!vm->uart) {
		vm_log(vm, "creating the UART failed");
		return -1;
	}
	return vm_boot(vm);
mem_fail:
	vm_log(vm, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return -1;
}

enum hvis_exit vm_run(struct vm *vm)
{
	unsigned int started = 0;

	if (pthread_create(&vm->timer_thread, NULL, timer_main, vm)) {
		vm_log(vm, "starting the timer thread failed");
		return HVIS_EXIT_HOST_ERROR;
	}
	if (vm->cfg.console_in >= 0 &&
	    pthread_create(&vm->input_thread, NULL, input_main, vm) == 0)
		vm->input_running = true;
	for (; started < vm->nvcpus; started++) {
		if (pthread_create(&vm->vcpu[started].thread, NULL, vcpu_main,
				   &vm->vcpu[started])) {
			vm_log(vm, "starting vCPU %u failed", started);
			vm_request_exit(vm, HVIS_EXIT_HOST_ERROR);
			break;
		}
	}
	for (unsigned int i = 0; i < started; i++)
		pthread_join(vm->vcpu[i].thread, NULL);
	vm_request_exit(vm, HVIS_EXIT_HOST_ERROR);	/* no-op if already set */
	pthread_join(vm->timer_thread, NULL);
	if (vm->input_running) {
		/* blocked in read(): cancel it before the UART goes away */
		pthread_cancel(vm->input_thread);
		pthread_join(vm->input_thread, NULL);
		vm->input_running = false;
	}
	if (vm->cfg.verbose) {
		for (unsigned int i = 0; i < vm->nvcpus; i++)
			vm_log(vm, "vCPU %u: %llu exits (%llu io, %llu msr, %llu hypercall)",
			       i, (unsigned long long)vm->vcpu[i].exits,
			       (unsigned long long)vm->vcpu[i].io_exits,
			       (unsigned long long)vm->vcpu[i].msr_exits,
			       (unsigned long long)vm->vcpu[i].hcall_exits);
	}
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	if (vm->uart)
		uart_destroy(vm->uart);
	tlfs_destroy(vm->tlfs);
	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpu[i].run)
			munmap(vm->vcpu[i].run, vm->run_size);
		if (vm->vcpu[i].fd > 0)
			close(vm->vcpu[i].fd);
	}
	for (unsigned int v = 0; v < VM_MAX_VCPUS; v++)
		for (unsigned int s = 0; s < HVIS_SINT_COUNT; s++)
			if (vm->sint_eventfd[v][s] >= 0)
				close(vm->sint_eventfd[v][s]);
	guest_mem_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}
