// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-iotest: a small block-device tester for the layer-2 test guest.
 *
 * Debian's fio needs ~60 shared libraries (81 MB with ceph and gluster):
 * too heavy for every nested test image. This is what the storage
 * scenarios and the storage benchmark need of it, linked statically
 * (glibc, liburing) so the guest image needs nothing else: O_DIRECT I/O
 * through io_uring at a queue depth, from N jobs (threads), each with its
 * own ring and pinned to its own CPU (Linux's hv_storvsc and virtio-blk
 * pick the channel/queue by the submitting CPU, so a job per CPU uses
 * every channel).
 *
 *   hvis-iotest verify DEV [--bs B] [--iodepth Q] [--size BYTES]
 *               [--offset BYTES] [--seconds S] [--jobs N] [--write-pct P]
 *               [--seed X] [--no-pin] [--io-timeout S]
 *       A random mix of writes and reads of B-byte blocks, each job in
 *       its own region (the device, or --size bytes of it from --offset,
 *       split into N equal parts). Every written block carries a header
 *       (magic, run id, LBA, job, the block's generation, a checksum of
 *       its pseudo-random payload, a checksum of the header); every read
 *       checks the last generation the job wrote there, and at the end a
 *       pass reads back every block written. A block never has two
 *       commands in flight at once. The first mismatch prints the LBA,
 *       the expected and the found header, stops every job, and the exit
 *       status is 1; I/O errors and short transfers too.
 *   hvis-iotest randread DEV [--bs B] [--iodepth Q] [--seconds S]
 *               [--jobs N] [--size BYTES] [--offset BYTES] [--ramp S]
 *       random reads: prints "iops=<n> mbps=<x>"
 *   hvis-iotest seqread DEV [--bs B] [--iodepth Q] [--seconds S]
 *               [--jobs N] [--size BYTES] [--offset BYTES] [--ramp S]
 *       sequential reads (each job its own region, wrapping round):
 *       prints "mbps=<x> iops=<n>"
 *
 * mbps is 10^6 bytes per second. Operations completed in the first
 * --ramp seconds (default 0) are not counted. Sizes take k, m, g
 * (binary) suffixes. Every wait for a completion is bounded by
 * --io-timeout (default 60 s): a command that never completes ends the
 * run with status 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLK_MAGIC 0x31544f4953495648ULL /* "HVISIOT1" little-endian */
#define MAX_JOBS 256
#define MAX_MISMATCH_REPORTS 8

enum mode { M_VERIFY, M_RANDREAD, M_SEQREAD };

static struct {
	enum mode mode;
	const char *dev;
	uint64_t bs, size, offset;
	unsigned int iodepth, jobs, write_pct;
	double seconds, ramp, io_timeout;
	uint64_t seed;
	bool pin;
} opt = {
	.bs = 4096, .iodepth = 32, .jobs = 1, .write_pct = 50,
	.seconds = 10, .io_timeout = 60, .pin = true,
};

/* The header at the start of every block the verify mode writes. */
struct blk_hdr {
	uint64_t magic;
	uint64_t run;		/* random per run: stale data never matches */
	uint64_t lba;		/* 512-byte sector of the block's first byte */
	uint32_t job;
	uint32_t gen;		/* 1, 2, ...: writes of this block so far */
	uint32_t bs;
	uint32_t pad;
	uint64_t payload_sum;	/* checksum of the bytes after the header */
	uint64_t hdr_sum;	/* checksum of the fields above */
};

enum { OP_READ, OP_WRITE };

struct slot {
	void *buf;
	uint64_t blk;		/* block index in the job's region */
	uint32_t gen;		/* generation written, or expected by a read */
	int op;
	bool used;
	bool final;		/* a read of the final verify pass */
};

struct job {
	unsigned int id;
	int cpu;
	pthread_t th;
	struct io_uring ring;
	int fd;
	uint64_t base;		/* byte offset of the region */
	uint64_t nblk;		/* blocks in the region */
	uint64_t rng;
	struct slot *slots;
	char *scratch;		/* verify: the expected block */
	unsigned int inflight;
	/* verify */
	uint32_t *gen;		/* last generation written per block, 0 = never */
	uint8_t *busy;		/* a command on this block is in flight */
	uint64_t *written;	/* blocks written at least once */
	uint64_t nwritten;
	uint64_t seq_next;	/* seqread: next block */
	/* results */
	uint64_t reads, writes, final_reads, counted, counted_bytes;
	uint64_t errors, mismatches;
	int status;		/* 0 ok, 1 mismatch or I/O error, 2 timeout */
};

static struct job *jobs;
static uint64_t run_id;
static atomic_bool stop_all;
static atomic_uint mismatch_reports;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_barrier;
static double t_start; /* CLOCK_MONOTONIC seconds of the measured start */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	fputs("hvis-iotest: ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64* */
static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* splitmix64: turns any seed into a well-mixed non-zero state */
static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z ? z : 1;
}

static uint64_t checksum(const void *p, size_t n)
{
	const uint64_t *w = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n / 8; i++) {
		h ^= w[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

static uint64_t payload_seed(uint64_t lba, uint32_t job, uint32_t gen)
{
	return mix(run_id ^ mix(lba ^ ((uint64_t)job << 48) ^ ((uint64_t)gen << 20)));
}

static void fill_payload(void *buf, uint64_t lba, uint32_t job, uint32_t gen)
{
	uint64_t s = payload_seed(lba, job, gen);
	uint64_t *w = (uint64_t *)((char *)buf + sizeof(struct blk_hdr));
	size_t n = (opt.bs - sizeof(struct blk_hdr)) / 8;

	for (size_t i = 0; i < n; i++)
		w[i] = rnd(&s);
}

static void make_hdr(struct blk_hdr *h, uint64_t lba, uint32_t job, uint32_t gen,
		     uint64_t payload_sum)
{
	memset(h, 0, sizeof(*h));
	h->magic = BLK_MAGIC;
	h->run = run_id;
	h->lba = lba;
	h->job = job;
	h->gen = gen;
	h->bs = (uint32_t)opt.bs;
	h->payload_sum = payload_sum;
	h->hdr_sum = checksum(h, offsetof(struct blk_hdr, hdr_sum));
}

static uint64_t blk_lba(const struct job *j, uint64_t blk)
{
	return (j->base + blk * opt.bs) / 512;
}

static void fill_block(struct job *j, void *buf, uint64_t blk, uint32_t gen)
{
	uint64_t lba = blk_lba(j, blk);
	const size_t h = sizeof(struct blk_hdr);

	fill_payload(buf, lba, j->id, gen);
	make_hdr(buf, lba, j->id, gen, checksum((char *)buf + h, opt.bs - h));
}

static void hdr_text(char *out, size_t n, const struct blk_hdr *h)
{
	snprintf(out, n, "{magic=%016" PRIx64 " run=%016" PRIx64 " lba=%" PRIu64
		 " job=%" PRIu32 " gen=%" PRIu32 " bs=%" PRIu32
		 " payload_sum=%016" PRIx64 " hdr_sum=%016" PRIx64 "}",
		 h->magic, h->run, h->lba, h->job, h->gen, h->bs,
		 h->payload_sum, h->hdr_sum);
}

/* Check a block read back; false (and a report) on a mismatch. */
static bool check_block(struct job *j, const struct slot *s)
{
	const size_t hs = sizeof(struct blk_hdr);
	uint64_t lba = blk_lba(j, s->blk);
	struct blk_hdr want;
	const struct blk_hdr *got = s->buf;
	uint64_t got_sum = checksum((const char *)s->buf + hs, opt.bs - hs);
	char *exp_payload = j->scratch;
	char a[256], b[256];
	size_t first = 0, ndiff = 0;

	fill_payload(exp_payload, lba, j->id, s->gen);
	make_hdr(&want, lba, j->id, s->gen, checksum(exp_payload + hs, opt.bs - hs));
	if (!memcmp(&want, got, hs) && got_sum == want.payload_sum &&
	    !memcmp(exp_payload + hs, (const char *)s->buf + hs, opt.bs - hs))
		return true;
	for (size_t i = hs; i < opt.bs; i++) {
		if (exp_payload[i] != ((const char *)s->buf)[i]) {
			if (!ndiff)
				first = i;
			ndiff++;
		}
	}
	j->mismatches++;
	atomic_store(&stop_all, true);
	if (atomic_fetch_add(&mismatch_reports, 1) >= MAX_MISMATCH_REPORTS)
		return false;
	hdr_text(a, sizeof(a), &want);
	hdr_text(b, sizeof(b), got);
	say("MISMATCH %s read: job %u block %" PRIu64 " lba %" PRIu64
	    " (byte offset %" PRIu64 ", %" PRIu64 " bytes)",
	    s->final ? "final-pass" : "random", j->id, s->blk, lba, lba * 512,
	    opt.bs);
	say("  expected %s", a);
	say("  found    %s (header checksum %s)", b,
	    checksum(got, offsetof(struct blk_hdr, hdr_sum)) == got->hdr_sum ?
	    "valid" : "invalid");
	say("  payload: checksum of what was read %016" PRIx64 "; %zu of %zu bytes"
	    " differ from generation %" PRIu32 "%s%zu",
	    got_sum, ndiff, (size_t)(opt.bs - hs), s->gen,
	    ndiff ? ", the first at block byte " : "", ndiff ? first : (size_t)0);
	return false;
}

static struct slot *free_slot(struct job *j)
{
	for (unsigned int i = 0; i < opt.iodepth; i++)
		if (!j->slots[i].used)
			return &j->slots[i];
	return NULL;
}

static void queue(struct job *j, struct slot *s, int op, uint64_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&j->ring);

	if (!sqe) { /* cannot happen: the ring has iodepth entries */
		say("job %u: no free submission entry", j->id);
		exit(2);
	}
	s->op = op;
	s->used = true;
	if (op == OP_WRITE)
		io_uring_prep_write(sqe, j->fd, s->buf, (unsigned int)opt.bs, off);
	else
		io_uring_prep_read(sqe, j->fd, s->buf, (unsigned int)opt.bs, off);
	io_uring_sqe_set_data(sqe, s);
	j->inflight++;
}

/* verify: one new command in a free slot; false if none could be made. */
static bool verify_next(struct job *j, struct slot *s)
{
	bool do_write = !j->nwritten || rnd(&j->rng) % 100 < opt.write_pct;
	uint64_t blk = 0;

	if (!do_write) {
		/* a block written before and not in flight */
		int tries;

		for (tries = 0; tries < 8; tries++) {
			blk = j->written[rnd(&j->rng) % j->nwritten];
			if (!j->busy[blk])
				break;
		}
		if (tries == 8)
			do_write = opt.write_pct > 0;
		if (tries == 8 && !do_write)
			return false;
	}
	if (do_write) {
		blk = rnd(&j->rng) % j->nblk;
		for (uint64_t k = 0; j->busy[blk] && k < j->nblk; k++)
			blk = (blk + 1) % j->nblk;
		if (j->busy[blk])
			return false;
		s->gen = j->gen[blk] + 1;
		fill_block(j, s->buf, blk, s->gen);
	} else {
		s->gen = j->gen[blk];
	}
	s->blk = blk;
	s->final = false;
	j->busy[blk] = 1;
	queue(j, s, do_write ? OP_WRITE : OP_READ, j->base + blk * opt.bs);
	return true;
}

static void complete(struct job *j, struct io_uring_cqe *cqe, double t)
{
	struct slot *s = io_uring_cqe_get_data(cqe);
	int res = cqe->res;

	io_uring_cqe_seen(&j->ring, cqe);
	s->used = false;
	j->inflight--;
	if (res != (int)opt.bs) {
		j->errors++;
		j->status = 1;
		atomic_store(&stop_all, true);
		say("I/O ERROR: job %u %s of block %" PRIu64 " lba %" PRIu64
		    " (%" PRIu64 " bytes): %s", j->id,
		    s->op == OP_WRITE ? "write" : "read", s->blk, blk_lba(j, s->blk),
		    opt.bs, res < 0 ? strerror(-res) : "short transfer");
		if (opt.mode == M_VERIFY)
			j->busy[s->blk] = 0;
		return;
	}
	if (s->op == OP_WRITE)
		j->writes++;
	else if (s->final)
		j->final_reads++;
	else
		j->reads++;
	if (t >= t_start + opt.ramp && t <= t_start + opt.ramp + opt.seconds) {
		j->counted++;
		j->counted_bytes += opt.bs;
	}
	if (opt.mode != M_VERIFY)
		return;
	j->busy[s->blk] = 0;
	if (s->op == OP_WRITE) {
		if (!j->gen[s->blk])
			j->written[j->nwritten++] = s->blk;
		j->gen[s->blk] = s->gen;
	} else if (!check_block(j, s)) {
		j->status = 1;
	}
}

/* Submit what is queued, wait for at least one completion, reap all. */
static int reap(struct job *j)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	int rc;

	rc = io_uring_submit(&j->ring);
	if (rc < 0) {
		say("job %u: io_uring_submit: %s", j->id, strerror(-rc));
		return -1;
	}
	ts.tv_sec = (long long)opt.io_timeout;
	ts.tv_nsec = (long long)((opt.io_timeout - (double)ts.tv_sec) * 1e9);
	do {
		rc = io_uring_wait_cqe_timeout(&j->ring, &cqe, &ts);
	} while (rc == -EINTR);
	if (rc == -ETIME) {
		say("TIMEOUT: job %u: no completion within %.0f s with %u command(s) in flight",
		    j->id, opt.io_timeout, j->inflight);
		j->status = 2;
		atomic_store(&stop_all, true);
		return -1;
	}
	if (rc < 0) {
		say("job %u: io_uring_wait_cqe: %s", j->id, strerror(-rc));
		return -1;
	}
	double t = now_s();

	while (io_uring_peek_cqe(&j->ring, &cqe) == 0 && cqe)
		complete(j, cqe, t);
	return 0;
}

static int drain(struct job *j)
{
	while (j->inflight)
		if (reap(j))
			return -1;
	return 0;
}

/* The final verify pass: every block written, in block order. */
static void final_pass(struct job *j)
{
	uint64_t blk = 0;

	while (!atomic_load(&stop_all)) {
		struct slot *s;

		while (blk < j->nblk && (s = free_slot(j))) {
			while (blk < j->nblk && !j->gen[blk])
				blk++;
			if (blk == j->nblk)
				break;
			s->blk = blk;
			s->gen = j->gen[blk];
			s->final = true;
			queue(j, s, OP_READ, j->base + blk * opt.bs);
			blk++;
		}
		if (!j->inflight)
			break;
		if (reap(j))
			return;
	}
	drain(j);
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	double end;

	if (j->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(j->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			say("job %u: cannot pin to CPU %d: %s", j->id, j->cpu,
			    strerror(errno));
	}
	pthread_barrier_wait(&start_barrier);
	end = t_start + opt.ramp + opt.seconds;
	while (!atomic_load(&stop_all)) {
		struct slot *s;
		double t = now_s();

		while (t < end && (s = free_slot(j))) {
			if (opt.mode == M_VERIFY) {
				if (!verify_next(j, s))
					break;
			} else {
				uint64_t blk;

				if (opt.mode == M_RANDREAD) {
					blk = rnd(&j->rng) % j->nblk;
				} else {
					blk = j->seq_next;
					j->seq_next = (j->seq_next + 1) % j->nblk;
				}
				s->blk = blk;
				queue(j, s, OP_READ, j->base + blk * opt.bs);
			}
		}
		if (!j->inflight)
			break;
		if (reap(j))
			break;
	}
	if (j->status != 2)
		drain(j);
	if (opt.mode == M_VERIFY && !atomic_load(&stop_all))
		final_pass(j);
	if (j->status == 0 && (j->errors || j->mismatches))
		j->status = 1;
	return NULL;
}

static int parse_size(const char *name, const char *v, uint64_t *out)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v || v[0] == '-')
		goto bad;
	switch (*end) {
	case 'k': case 'K': x <<= 10; end++; break;
	case 'm': case 'M': x <<= 20; end++; break;
	case 'g': case 'G': x <<= 30; end++; break;
	default: break;
	}
	if (*end)
		goto bad;
	*out = x;
	return 0;
bad:
	fprintf(stderr, "hvis-iotest: %s: bad size '%s'\n", name, v);
	return -1;
}

static int parse_num(const char *name, const char *v, double lo, double hi,
		     double *out)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end || x < lo || x > hi) {
		fprintf(stderr, "hvis-iotest: %s: '%s' is not a number in %g..%g\n",
			name, v, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: hvis-iotest verify|randread|seqread DEV [options]\n"
	      "  --bs BYTES        block size (default 4096; a multiple of 512)\n"
	      "  --iodepth N       commands in flight per job (default 32)\n"
	      "  --jobs N          threads, each with its own io_uring, pinned to\n"
	      "                    CPUs in turn (default 1; --no-pin: not pinned)\n"
	      "  --seconds S       run time (default 10)\n"
	      "  --size BYTES      bytes of DEV to use (default all from --offset)\n"
	      "  --offset BYTES    where they start (default 0)\n"
	      "  --write-pct P     verify: percentage of writes (default 50)\n"
	      "  --seed X          verify: run id (default from the clock)\n"
	      "  --ramp S          read modes: seconds not counted at the start\n"
	      "  --io-timeout S    longest wait for a completion (default 60)\n"
	      "verify prints a summary line and exits 1 on a mismatch or I/O error;\n"
	      "randread prints \"iops=N mbps=X\", seqread \"mbps=X iops=N\"\n"
	      "(mbps: 10^6 bytes/s).\n", f);
}

static int parse_args(int argc, char **argv)
{
	int i;
	double x;

	if (argc < 3) {
		usage(stderr);
		return -1;
	}
	if (!strcmp(argv[1], "verify"))
		opt.mode = M_VERIFY;
	else if (!strcmp(argv[1], "randread"))
		opt.mode = M_RANDREAD;
	else if (!strcmp(argv[1], "seqread"))
		opt.mode = M_SEQREAD;
	else {
		usage(stderr);
		return -1;
	}
	opt.dev = argv[2];
	for (i = 3; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-pin")) {
			opt.pin = false;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!v) {
			fprintf(stderr, "hvis-iotest: %s needs a value\n", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--bs")) {
			if (parse_size(a, v, &opt.bs))
				return -1;
		} else if (!strcmp(a, "--size")) {
			if (parse_size(a, v, &opt.size))
				return -1;
		} else if (!strcmp(a, "--offset")) {
			if (parse_size(a, v, &opt.offset))
				return -1;
		} else if (!strcmp(a, "--seed")) {
			if (parse_size(a, v, &opt.seed))
				return -1;
		} else if (!strcmp(a, "--iodepth")) {
			if (parse_num(a, v, 1, 4096, &x))
				return -1;
			opt.iodepth = (unsigned int)x;
		} else if (!strcmp(a, "--jobs")) {
			if (parse_num(a, v, 1, MAX_JOBS, &x))
				return -1;
			opt.jobs = (unsigned int)x;
		} else if (!strcmp(a, "--write-pct")) {
			if (parse_num(a, v, 0, 100, &x))
				return -1;
			opt.write_pct = (unsigned int)x;
		} else if (!strcmp(a, "--seconds")) {
			if (parse_num(a, v, 0.1, 1e6, &opt.seconds))
				return -1;
		} else if (!strcmp(a, "--ramp")) {
			if (parse_num(a, v, 0, 1e6, &opt.ramp))
				return -1;
		} else if (!strcmp(a, "--io-timeout")) {
			if (parse_num(a, v, 1, 1e6, &opt.io_timeout))
				return -1;
		} else {
			fprintf(stderr, "hvis-iotest: unknown option %s\n", a);
			usage(stderr);
			return -1;
		}
	}
	if (opt.bs < 512 || opt.bs % 512 || opt.bs > (64u << 20)) {
		fprintf(stderr, "hvis-iotest: --bs must be a multiple of 512 up to 64 MiB\n");
		return -1;
	}
	if (opt.mode == M_VERIFY && opt.bs < 2 * sizeof(struct blk_hdr)) {
		fprintf(stderr, "hvis-iotest: verify needs --bs >= %zu\n",
			2 * sizeof(struct blk_hdr));
		return -1;
	}
	if (opt.offset % opt.bs) {
		fprintf(stderr, "hvis-iotest: --offset must be a multiple of --bs\n");
		return -1;
	}
	return 0;
}

static uint64_t dev_size(int fd)
{
	struct stat st;
	uint64_t sz = 0;

	if (fstat(fd, &st))
		return 0;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &sz))
			return 0;
		return sz;
	}
	return (uint64_t)st.st_size;
}

int main(int argc, char **argv)
{
	const char *mname[] = { "verify", "randread", "seqread" };
	uint64_t devsz, usable, per_job;
	int cpus[CPU_SETSIZE], ncpus = 0, fd, status = 0;
	cpu_set_t set;
	double t_end;
	uint64_t reads = 0, writes = 0, final_reads = 0, counted = 0, bytes = 0;
	uint64_t errors = 0, mismatches = 0, blocks = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv))
		return 2;
	fd = open(opt.dev, (opt.mode == M_VERIFY ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "hvis-iotest: %s: %s\n", opt.dev, strerror(errno));
		return 2;
	}
	devsz = dev_size(fd);
	if (opt.offset >= devsz) {
		fprintf(stderr, "hvis-iotest: %s: %" PRIu64 " bytes, offset %" PRIu64
			" beyond it\n", opt.dev, devsz, opt.offset);
		return 2;
	}
	usable = devsz - opt.offset;
	if (opt.size && opt.size < usable)
		usable = opt.size;
	per_job = opt.mode == M_RANDREAD ? usable : usable / opt.jobs;
	per_job -= per_job % opt.bs;
	if (!per_job) {
		fprintf(stderr, "hvis-iotest: %" PRIu64 " bytes are too few for %u job(s) of %"
			PRIu64 "-byte blocks\n", usable, opt.jobs, opt.bs);
		return 2;
	}
	run_id = opt.seed ? opt.seed : mix((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
					   (uint64_t)(now_s() * 1e9));
	if (opt.pin && !sched_getaffinity(0, sizeof(set), &set)) {
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				cpus[ncpus++] = c;
	}
	jobs = calloc(opt.jobs, sizeof(*jobs));
	if (!jobs)
		return 2;
	for (unsigned int i = 0; i < opt.jobs; i++) {
		struct job *j = &jobs[i];
		int rc;

		j->id = i;
		j->fd = fd;
		j->cpu = ncpus ? cpus[i % (unsigned int)ncpus] : -1;
		j->base = opt.offset + (opt.mode == M_RANDREAD ? 0 : i * per_job);
		j->nblk = per_job / opt.bs;
		j->rng = mix(run_id + i + 1);
		j->slots = calloc(opt.iodepth, sizeof(*j->slots));
		if (!j->slots)
			return 2;
		for (unsigned int k = 0; k < opt.iodepth; k++) {
			j->slots[k].buf = aligned_alloc(4096, opt.bs);
			if (!j->slots[k].buf)
				return 2;
			memset(j->slots[k].buf, 0, opt.bs);
		}
		if (opt.mode == M_VERIFY) {
			j->scratch = aligned_alloc(4096, opt.bs);
			j->gen = calloc(j->nblk, sizeof(*j->gen));
			j->busy = calloc(j->nblk, 1);
			j->written = calloc(j->nblk, sizeof(*j->written));
			if (!j->scratch || !j->gen || !j->busy || !j->written) {
				fprintf(stderr, "hvis-iotest: out of memory\n");
				return 2;
			}
		}
		rc = io_uring_queue_init(opt.iodepth, &j->ring, 0);
		if (rc) {
			fprintf(stderr, "hvis-iotest: io_uring_queue_init: %s\n", strerror(-rc));
			return 2;
		}
	}
	say("%s %s: %" PRIu64 " bytes, using %" PRIu64 " from %" PRIu64 ", bs %" PRIu64
	    ", iodepth %u, %u job(s)%s, %.1f s, run %016" PRIx64,
	    mname[opt.mode], opt.dev, devsz, usable, opt.offset, opt.bs, opt.iodepth,
	    opt.jobs, ncpus ? " pinned" : "", opt.seconds, run_id);
	pthread_barrier_init(&start_barrier, NULL, opt.jobs + 1);
	for (unsigned int i = 0; i < opt.jobs; i++) {
		if (pthread_create(&jobs[i].th, NULL, job_main, &jobs[i])) {
			fprintf(stderr, "hvis-iotest: pthread_create failed\n");
			return 2;
		}
	}
	t_start = now_s();
	pthread_barrier_wait(&start_barrier);
	for (unsigned int i = 0; i < opt.jobs; i++)
		pthread_join(jobs[i].th, NULL);
	t_end = now_s();

	for (unsigned int i = 0; i < opt.jobs; i++) {
		struct job *j = &jobs[i];

		reads += j->reads;
		writes += j->writes;
		final_reads += j->final_reads;
		counted += j->counted;
		bytes += j->counted_bytes;
		errors += j->errors;
		mismatches += j->mismatches;
		blocks += j->nwritten;
		if (j->status > status)
			status = j->status;
		if (opt.mode == M_VERIFY)
			say("job %u (cpu %d): blocks %" PRIu64 "..%" PRIu64 " reads=%" PRIu64
			    " writes=%" PRIu64 " distinct_blocks_written=%" PRIu64
			    " final_reads=%" PRIu64, j->id, j->cpu, j->base / opt.bs,
			    j->base / opt.bs + j->nblk - 1, j->reads, j->writes,
			    j->nwritten, j->final_reads);
		else
			say("job %u (cpu %d): ops=%" PRIu64 " counted=%" PRIu64, j->id, j->cpu,
			    j->reads, j->counted);
	}
	if (opt.mode == M_VERIFY) {
		uint64_t ops = reads + writes + final_reads;

		say("verify %s: ops=%" PRIu64 " reads=%" PRIu64 " writes=%" PRIu64
		    " final_reads=%" PRIu64 " blocks=%" PRIu64 " read_bytes=%" PRIu64
		    " written_bytes=%" PRIu64 " mb=%.1f errors=%" PRIu64
		    " mismatches=%" PRIu64 " seconds=%.1f: %s", opt.dev, ops, reads, writes,
		    final_reads, blocks, (reads + final_reads) * opt.bs, writes * opt.bs,
		    (double)(ops * opt.bs) / 1e6, errors, mismatches, t_end - t_start,
		    status == 0 ? "ok" : status == 2 ? "TIMEOUT" : "FAILED");
	} else {
		double iops = (double)counted / opt.seconds;
		double mbps = (double)bytes / opt.seconds / 1e6;

		if (status)
			say("%s %s: errors=%" PRIu64 ": FAILED", mname[opt.mode], opt.dev, errors);
		else if (opt.mode == M_RANDREAD)
			printf("iops=%.0f mbps=%.2f\n", iops, mbps);
		else
			printf("mbps=%.2f iops=%.0f\n", mbps, iops);
	}
	return status;
}
