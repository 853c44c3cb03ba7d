// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the TLFS emulation: the guest controls every MSR
 * write, every hypercall register and all of its RAM (message and event
 * pages, hypercall input). Random sequences of those, plus host posts and
 * timer expiries, must never crash, overrun, or hit undefined behaviour.
 *
 * Input: a script of 17-byte steps { u8 op; u64 a; u64 b }, and the
 * first 4 KiB of the input also seeds guest RAM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisor/tlfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

#define RAM_SIZE (64u * 4096u)
static uint8_t ram[RAM_SIZE];
static uint64_t now;

static void *f_gpa(void *o, uint64_t gpa, uint64_t n)
{
	(void)o;
	if (gpa > RAM_SIZE || n > RAM_SIZE - gpa)
		return NULL;
	return ram + gpa;
}

static uint64_t f_time(void *o)
{
	(void)o;
	return now;
}

static void f_irq(void *o, unsigned int vp, unsigned int vec)
{
	(void)o;
	(void)vp;
	(void)vec;
}

static void f_arm(void *o, unsigned int vp, unsigned int n, uint64_t d)
{
	(void)o;
	(void)vp;
	(void)n;
	(void)d;
}

static void f_crash(void *o, unsigned int vp, const uint64_t p[5])
{
	(void)o;
	(void)vp;
	(void)p;
}

static volatile uint8_t sink;

static uint16_t h_post(void *o, unsigned int vp, uint32_t conn, uint32_t type,
		       const void *payload, uint32_t size)
{
	(void)o;
	(void)vp;
	(void)conn;
	(void)type;
	for (uint32_t i = 0; i < size; i++)	/* touch every byte it gave */
		sink ^= ((const uint8_t *)payload)[i];
	return HVIS_STATUS_SUCCESS;
}

static uint16_t h_signal(void *o, unsigned int vp, uint32_t conn, uint16_t f)
{
	(void)o;
	(void)vp;
	(void)conn;
	(void)f;
	return HVIS_STATUS_SUCCESS;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	struct tlfs_options opt = {
		.nvps = 2, .tsc_hz = 1000000000ull, .apic_hz = 1000000000ull,
		.stimer_direct = true, .reference_tsc = true, .crash_msrs = true,
	};
	struct tlfs_platform plat = {
		.gpa_ptr = f_gpa, .ref_time = f_time, .interrupt = f_irq,
		.arm_timer = f_arm, .crash = f_crash,
	};
	struct tlfs_connection c = { .post_message = h_post,
				     .signal_event = h_signal };
	struct tlfs *t;

	memset(ram, 0, sizeof(ram));
	memcpy(ram, in, len < 4096 ? len : 4096);
	now = 1;
	t = tlfs_create(&opt, &plat);
	if (!t)
		return 0;
	tlfs_set_connection(t, 1, &c);
	tlfs_set_connection(t, 4, &c);
	for (size_t off = 0; off + 17 <= len; off += 17) {
		uint8_t op = in[off];
		uint64_t a, b;
		unsigned int vp = op & 1;

		memcpy(&a, in + off + 1, 8);
		memcpy(&b, in + off + 9, 8);
		now += op;
		switch ((op >> 1) % 6) {
		case 0:
			tlfs_wrmsr(t, vp, HVIS_MSR_RANGE_BASE +
				   (uint32_t)(a % HVIS_MSR_RANGE_COUNT), b);
			break;
		case 1: {
			uint64_t v;

			tlfs_rdmsr(t, vp, HVIS_MSR_RANGE_BASE +
				   (uint32_t)(a % HVIS_MSR_RANGE_COUNT), &v);
			break;
		}
		case 2:
			tlfs_hypercall(t, vp, a, b % (RAM_SIZE + 64), b);
			break;
		case 3:
		{
			/* the payload from the input, never past its end */
			uint8_t msg[250] = { 0 };
			uint32_t n = (uint32_t)(a >> 8) % 250;

			memcpy(msg, in, len < n ? len : n);
			tlfs_post_message(t, vp, (unsigned int)(a % 17),
					  (uint32_t)b, msg, n);
		}
			break;
		case 4:
			tlfs_signal_flag(t, vp, (unsigned int)(a % 17),
					 (unsigned int)(b % 2100));
			break;
		case 5:
			tlfs_timer_expired(t, vp, (unsigned int)(a % 5));
			tlfs_fast_signal(t, vp, (uint32_t)b);
			break;
		}
	}
	tlfs_destroy(t);
	return 0;
}
