/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One partition on KVM: guest memory, vCPUs and their exit loop, the
 * emulated platform devices, and the glue between KVM and the TLFS
 * emulation (interrupt delivery, host timers, reference time).
 */
#ifndef HVIS_HV_VM_H
#define HVIS_HV_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "guest_mem.h"
#include "hv_cpuid.h"
#include "rtc.h"
#include "tlfs.h"

/* hvis-run exit status: how the partition ended. */
enum hvis_exit {
	HVIS_EXIT_POWEROFF	= 0,	/* guest powered off */
	HVIS_EXIT_HOST_ERROR	= 1,	/* hvis-run or KVM failed */
	HVIS_EXIT_USAGE		= 2,	/* bad configuration or flags */
	HVIS_EXIT_REBOOT	= 3,	/* guest asked for a reboot */
	HVIS_EXIT_CRASH		= 4,	/* guest reported a crash (crash MSRs) */
	HVIS_EXIT_TRIPLE_FAULT	= 5,	/* a vCPU triple-faulted */
	HVIS_EXIT_STOPPED	= 6,	/* stopped from outside: signal, Ctrl-A x */
};

#define VM_MAX_VCPUS	TLFS_MAX_VPS

struct vm_config {
	uint64_t mem_bytes;
	unsigned int ncpus;
	const char *kernel, *initrd, *cmdline;
	int console_in;			/* fd or -1 */
	int console_out;		/* fd */
	struct hv_cpuid_opts cpuid;	/* offers and switches */
	uint32_t vmbus_max_version;	/* 0 = newest (used by the VMBus server) */
	bool verbose;
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;		/* = VP index = APIC id */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	uint64_t exits, io_exits, msr_exits, hcall_exits;
};

struct uart;
struct vsp_link;

struct vm {
	struct vm_config cfg;
	int kvm_fd, vm_fd;
	size_t run_size;
	struct guest_mem mem;
	struct tlfs *tlfs;
	struct uart *uart;
	struct vsp_link *vsp;		/* the VSP service, or NULL */
	unsigned int nvcpus;
	struct vcpu vcpu[VM_MAX_VCPUS];

	/* reference time (100 ns): ref_anchor at CLOCK_MONOTONIC mono_anchor */
	uint64_t tsc_hz, tsc_scale;	/* guest TSC rate; TSC page scale */
	pthread_mutex_t time_lock;
	uint64_t ref_anchor, mono_anchor;

	/* synthetic timers: one thread, deadlines in reference time */
	pthread_t timer_thread;
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cond;
	uint64_t timer_deadline[VM_MAX_VCPUS][HVIS_STIMER_COUNT];

	/* SINT irqfds: GSI routes that follow the guest's SINT programming */
	pthread_mutex_t route_lock;
	int sint_eventfd[VM_MAX_VCPUS][HVIS_SINT_COUNT];
	uint64_t sint_value[VM_MAX_VCPUS][HVIS_SINT_COUNT];

	pthread_t input_thread;
	bool input_running;

	/* small platform devices, under dev_lock (any vCPU thread) */
	pthread_mutex_t dev_lock;
	struct rtc rtc;
	uint16_t pm1_enable;

	/* ending */
	pthread_mutex_t exit_lock;
	bool stopping;
	enum hvis_exit exit_status;
};

int vm_create(struct vm *vm, const struct vm_config *cfg);
/* Boot and run until the guest ends; returns its enum hvis_exit. */
enum hvis_exit vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Ask every vCPU to stop; the first status set wins. Any thread. */
void vm_request_exit(struct vm *vm, enum hvis_exit status);

/* One "hvis-run: ..." line on stderr. */
void vm_log(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reference time now (100 ns units), as the guest's TSC page computes it. */
uint64_t vm_ref_time(struct vm *vm);

#endif /* HVIS_HV_VM_H */
