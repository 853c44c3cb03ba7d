// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ring buffer throughput: one writer thread and one reader thread over a
 * 1 MiB ring, for 64 B, 1 KiB and 64 KiB payloads, beside two baselines
 * measured in the same run:
 * - memcpy of the same chunk sizes in one thread, hot in its caches (every
 *   packet is copied into the ring once and out of it once);
 * - the same chunks moved by two threads through a shared buffer of the
 *   ring's size, one memcpy in and one out, with no ring logic at all:
 *   the physical limit of a transfer whose data must cross from one
 *   core's cache to the other's ("xcore").
 *
 * The two threads are pinned to CPUs 0 and 1 (when there are two): the
 * figures are then about the ring, not about the scheduler. Each side's
 * local state lives on cache lines of its own, as it does when the sides
 * are two partitions; only the ring's pages are shared.
 *
 * Output: one line per figure,
 *   bench: <name> value=<v> unit=<u> baseline=<b> ratio=<v/b>
 * each preceded by a "#" line naming its baseline.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"

#define RING_SIZE	(1u << 20)
#define RUN_SECONDS	0.6

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The main thread sleeps while measuring: both cores go to the ring. */
static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#define CACHE_LINE	64

/*
 * Writer-only, reader-only and read-mostly fields on separate cache
 * lines: otherwise every packet would bounce the benchmark's own
 * bookkeeping between the two cores, which a real guest and host never
 * share.
 */
struct run {
	_Alignas(CACHE_LINE) struct hvis_ring w;
	unsigned long long sent;
	_Alignas(CACHE_LINE) struct hvis_ring r;
	unsigned long long received;
	int error;
	_Alignas(CACHE_LINE) u32 payload;
	volatile int stop;
};

/* Writer and reader each on a CPU of its own, when there are two. */
static void pin_to(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *writer_main(void *arg)
{
	struct run *run = arg;
	u8 *buf = malloc(run->payload);
	struct hvis_pkt_desc d = { .pd_type = HVIS_PKT_DATA_INBAND };
	struct hvis_iov iov = { buf, run->payload };
	bool sig;

	pin_to(0);
	memset(buf, 0x5A, run->payload);
	while (!run->stop) {
		int ret;

		d.pd_trans_id = run->sent;
		ret = hvis_ring_send(&run->w, &d, 0, &iov, 1, &sig);
		if (ret == -HVIS_RING_FULL) {
			sched_yield();
			continue;
		}
		if (ret) {
			run->error = ret;
			break;
		}
		__atomic_store_n(&run->sent, run->sent + 1, __ATOMIC_RELAXED);
	}
	free(buf);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct run *run = arg;
	u8 *buf = malloc(run->payload);
	struct hvis_ring_pkt pkt;
	/* publish the read index every 64 packets or 1/16 of the ring */
	u32 batch = 0, batch_bytes = 0;
	bool sig;

	pin_to(1);

	/* the standard pattern: interrupts masked while draining */
	hvis_ring_mask(&run->r);
	for (;;) {
		int ret = hvis_ring_peek(&run->r, &pkt);

		if (ret == -HVIS_RING_EMPTY) {
			hvis_ring_commit(&run->r, &sig);
			batch = batch_bytes = 0;
			if (hvis_ring_unmask(&run->r) == 0) {
				if (run->stop && __atomic_load_n(&run->received, __ATOMIC_RELAXED) >=
				    __atomic_load_n(&run->sent, __ATOMIC_RELAXED))
					break;
				sched_yield();
			}
			hvis_ring_mask(&run->r);
			continue;
		}
		if (ret || hvis_ring_copy_out(&run->r, &pkt, pkt.data_off, buf,
					      run->payload) ||
		    pkt.desc.pd_trans_id != run->received ||
		    hvis_ring_consume(&run->r, &pkt)) {
			run->error = ret ? ret : -HVIS_RING_INVAL;
			break;
		}
		__atomic_store_n(&run->received, run->received + 1, __ATOMIC_RELAXED);
		batch_bytes += pkt.len;
		if (++batch == 64 || batch_bytes >= RING_SIZE / 16) {
			hvis_ring_commit(&run->r, &sig);
			batch = batch_bytes = 0;
		}
	}
	free(buf);
	return NULL;
}

static int ring_run(u32 payload, double *pps, double *gbps)
{
	struct hvis_ring_header *hdr = aligned_alloc(4096, sizeof(*hdr));
	void *data = aligned_alloc(4096, RING_SIZE);
	struct run *run = aligned_alloc(CACHE_LINE, sizeof(*run));
	pthread_t tw, tr;
	unsigned long long start_count;
	double t0, t1;

	int error;

	if (!hdr || !data || !run)
		return -ENOMEM;
	memset(run, 0, sizeof(*run));
	run->payload = payload;
	hvis_ring_header_init(hdr);
	memset(data, 0, RING_SIZE);
	if (hvis_ring_attach(&run->w, hdr, data, RING_SIZE, HVIS_RING_WRITER) ||
	    hvis_ring_attach(&run->r, hdr, data, RING_SIZE, HVIS_RING_READER))
		return -EINVAL;
	pthread_create(&tr, NULL, reader_main, run);
	pthread_create(&tw, NULL, writer_main, run);
	/* warm up, then count what the reader completes in the window */
	sleep_s(0.1);
	start_count = __atomic_load_n(&run->received, __ATOMIC_RELAXED);
	t0 = now();
	sleep_s(RUN_SECONDS);
	t1 = now();
	*pps = (__atomic_load_n(&run->received, __ATOMIC_RELAXED) - start_count) /
	       (t1 - t0);
	*gbps = *pps * payload / 1e9;
	run->stop = 1;
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	error = run->error;
	free(run);
	free(hdr);
	free(data);
	if (error) {
		fprintf(stderr, "ring bench: %u-byte run failed: %s\n", payload,
			hvis_ring_strerror(error));
		return error;
	}
	return 0;
}

/*
 * The cross-core limit: @chunk-byte pieces moved from one pinned thread
 * to the other through a shared RING_SIZE buffer, one memcpy in and one
 * memcpy out per piece, like the ring's, but with no descriptors, no
 * checks and no signalling. Each side publishes a count after every
 * piece and re-reads the other's only when it seems full or empty.
 */
struct xcore {
	_Alignas(CACHE_LINE) unsigned long long produced;
	_Alignas(CACHE_LINE) unsigned long long consumed;
	_Alignas(CACHE_LINE) u8 *buf;
	u32 chunk, slots;
	volatile int stop;
};

static void *xcore_producer(void *arg)
{
	struct xcore *x = arg;
	u8 *src = malloc(x->chunk);
	unsigned long long p = 0, c = 0;

	pin_to(0);
	memset(src, 0x5A, x->chunk);
	while (!x->stop) {
		if (p - c >= x->slots) {
			c = __atomic_load_n(&x->consumed, __ATOMIC_ACQUIRE);
			if (p - c >= x->slots) {
				sched_yield();
				continue;
			}
		}
		memcpy(x->buf + (p % x->slots) * x->chunk, src, x->chunk);
		__atomic_store_n(&x->produced, ++p, __ATOMIC_RELEASE);
	}
	free(src);
	return NULL;
}

static void *xcore_consumer(void *arg)
{
	struct xcore *x = arg;
	u8 *dst = malloc(x->chunk);
	unsigned long long p = 0, c = 0;

	pin_to(1);
	memset(dst, 0, x->chunk);
	while (!x->stop) {
		if (c == p) {
			p = __atomic_load_n(&x->produced, __ATOMIC_ACQUIRE);
			if (c == p) {
				sched_yield();
				continue;
			}
		}
		memcpy(dst, x->buf + (c % x->slots) * x->chunk, x->chunk);
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		__atomic_store_n(&x->consumed, ++c, __ATOMIC_RELEASE);
	}
	free(dst);
	return NULL;
}

static double xcore_gbps(u32 chunk)
{
	struct xcore *x = aligned_alloc(CACHE_LINE, sizeof(*x));
	unsigned long long c0, c1;
	pthread_t tp, tc;
	double t0, t1;

	memset(x, 0, sizeof(*x));
	x->chunk = chunk;
	x->slots = RING_SIZE / chunk;
	x->buf = aligned_alloc(4096, RING_SIZE);
	memset(x->buf, 0, RING_SIZE);
	pthread_create(&tc, NULL, xcore_consumer, x);
	pthread_create(&tp, NULL, xcore_producer, x);
	sleep_s(0.1);
	c0 = __atomic_load_n(&x->consumed, __ATOMIC_RELAXED);
	t0 = now();
	sleep_s(RUN_SECONDS / 2);
	t1 = now();
	c1 = __atomic_load_n(&x->consumed, __ATOMIC_RELAXED);
	x->stop = 1;
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	free(x->buf);
	free(x);
	return (c1 - c0) * (double)chunk / (t1 - t0) / 1e9;
}

/* memcpy of @chunk-byte pieces out of a RING_SIZE area, one thread. */
static double memcpy_gbps(u32 chunk)
{
	u8 *src = aligned_alloc(4096, RING_SIZE), *dst = malloc(chunk);
	unsigned long long bytes = 0;
	u32 pos = 0;
	double t0, t1;

	memset(src, 1, RING_SIZE);
	memset(dst, 0, chunk);
	t0 = now();
	do {
		for (int i = 0; i < 256; i++) {
			memcpy(dst, src + pos, chunk);
			__asm__ __volatile__("" : : "r"(dst) : "memory");
			pos += chunk;
			if (pos + chunk > RING_SIZE)
				pos = 0;
			bytes += chunk;
		}
		t1 = now();
	} while (t1 - t0 < RUN_SECONDS / 2);
	free(src);
	free(dst);
	return bytes / (t1 - t0) / 1e9;
}

static double median3(double a, double b, double c)
{
	if ((a >= b && a <= c) || (a <= b && a >= c))
		return a;
	if ((b >= a && b <= c) || (b <= a && b >= c))
		return b;
	return c;
}

static void line(const char *name, double value, const char *unit,
		 double baseline)
{
	printf("bench: %s value=%.4g unit=%s baseline=%.4g ratio=%.3f\n", name,
	       value, unit, baseline, value / baseline);
}

int main(void)
{
	static const struct { u32 size; const char *tag; } sizes[] = {
		{ 64, "64B" }, { 1024, "1KiB" }, { 65536, "64KiB" },
	};
	char name[64];

	printf("# ring: 1 writer + 1 reader thread, %u KiB ring, in-band packets, median of 3 runs\n",
	       RING_SIZE >> 10);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double pps, gbps, mc = memcpy_gbps(sizes[i].size), r[3], xc;

		for (int k = 0; k < 3; k++)
			r[k] = xcore_gbps(sizes[i].size);
		xc = median3(r[0], r[1], r[2]);

		/* the median of three runs: this machine's CPUs are shared */
		for (int k = 0; k < 3; k++)
			if (ring_run(sizes[i].size, &r[k], &gbps))
				return 1;
		pps = median3(r[0], r[1], r[2]);
		gbps = pps * sizes[i].size / 1e9;
		printf("# memcpy_%s_gbps: baseline = itself (%s chunks, one thread, this run)\n",
		       sizes[i].tag, sizes[i].tag);
		snprintf(name, sizeof(name), "memcpy_%s_gbps", sizes[i].tag);
		line(name, mc, "GB/s", mc);
		printf("# ring_%s_pps: baseline = memcpy_%s_gbps as %s chunks per second\n",
		       sizes[i].tag, sizes[i].tag, sizes[i].tag);
		snprintf(name, sizeof(name), "ring_%s_pps", sizes[i].tag);
		line(name, pps, "pkt/s", mc * 1e9 / sizes[i].size);
		printf("# ring_%s_gbps: baseline = memcpy_%s_gbps\n", sizes[i].tag,
		       sizes[i].tag);
		snprintf(name, sizeof(name), "ring_%s_gbps", sizes[i].tag);
		line(name, gbps, "GB/s", mc);
		printf("# memcpy_xcore_%s_gbps: baseline = memcpy_%s_gbps (two pinned threads, one memcpy in and one out through a shared %u KiB buffer, no ring logic, median of 3)\n",
		       sizes[i].tag, sizes[i].tag, RING_SIZE >> 10);
		snprintf(name, sizeof(name), "memcpy_xcore_%s_gbps", sizes[i].tag);
		line(name, xc, "GB/s", mc);
		printf("# ring_%s_xcore_gbps: baseline = memcpy_xcore_%s_gbps (the cross-core limit)\n",
		       sizes[i].tag, sizes[i].tag);
		snprintf(name, sizeof(name), "ring_%s_xcore_gbps", sizes[i].tag);
		line(name, gbps, "GB/s", xc);
	}
	return 0;
}
