// SPDX-License-Identifier: GPL-2.0-only
/*
 * storvsp tests: the synthetic SCSI controller on a real VMBus server over
 * a fake host, driven the way Linux 6.1's hv_storvsc drives it
 * (drivers/scsi/storvsc_drv.c): guest memory is a memfd; the guest opens
 * the channel with one ring GPADL (128 KiB + a control page each way,
 * downstream ring after the upstream one), initialises with
 * BEGIN_INITIALIZATION, QUERY_PROTOCOL_VERSION (6.2, 6.0, 5.1 in turn),
 * QUERY_PROPERTIES, END_INITIALIZATION (64-byte in-band packets, trans_id
 * VMBUS_RQST_INIT, completion requested), then sends SRBs: in-band when
 * there is no data, GPA-direct with one range (byte offset in the first
 * page, every page's PFN) when there is. The guest signals only when its
 * ring was empty and commits its read index after each batch, as Linux
 * does. Disk I/O runs on a real struct aio on temporary image files;
 * completions are pumped with aio_poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#include <hvis/scsi.h>
#include <hvis/vstor.h>

#include "host-vsp/storage/storvsp.h"
#include "host-vsp/storage/vhd.h"
#include "tests/common/vmbus_fake.h"
#include "unit.h"

/*
 * The tests named "regression" each reproduce a bug these tests found
 * (and that is fixed): a queue-depth stall, LUN 255 past the LUN table,
 * a sub-channel count underflow, a use-after-free after a failed VHD
 * allocation on a removed disk, a hot-add notice lost on a full ring, a
 * reset answer stuck behind queued completions.
 */
#define MEM_PAGES	2048u			/* 8 MiB of guest memory */
#define PG		4096u
#define RQST_INIT	(UINT64_MAX - 2)	/* Linux's VMBUS_RQST_INIT */
#define RQST_RESET	(UINT64_MAX - 3)	/* VMBUS_RQST_RESET */
#define LRING		33u	/* VMBUS_RING_SIZE(128 KiB) in pages */
#define QMAX		1024
#define NCH		8
#define DISK_BYTES	(16u << 20)
#define DISK_BLOCKS	(DISK_BYTES / 512u)
#define TIMEOUT_MS	10000
#define V(a, b)		HVIS_VSTOR_VERSION(a, b)

/* ------------------------------------------------------------ fake host */

static struct vf_host F;	/* tests/common/vmbus_fake.h */

static const struct storvsp_host_ops host_ops = {
	.opaque = &F,
	.guest_page = vf_guest_page,
	.log = vf_log,
};

static uint32_t palloc(uint32_t n)
{
	return vf_palloc(&F, n);
}

static uint8_t *gp(uint32_t pfn)
{
	return vf_gp(&F, pfn);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ the guest */

struct rx {
	struct hvis_pkt_desc d;
	uint32_t len;			/* payload bytes */
	struct hvis_vstor_packet p;	/* the payload's first 64 bytes */
};

struct gch {
	struct vf_chan v;		/* rings, relid, connid, pages */
	struct rx q[QMAX];
	unsigned int nq;
	uint64_t next_id;
};

static struct {
	struct vmbus_server *srv;
	struct aio *aio;
	struct storvsp *c;
	uint32_t nvps;
	struct gch ch[NCH];
	char dir[64];
	char raw[96], raw2[96], ro[96], vhd[96];
	struct hvis_guid inst;
	uint32_t scratch;		/* a page for read_ok() */
} X;

static enum aio_engine engine = AIO_ENGINE_AUTO;

static uint16_t gmsg(const void *m, size_t len)
{
	return vf_send_msg(X.srv, 1, m, len);
}

/* The last message of @type posted from @from on, or NULL. */
static const struct vf_msg *last_msg(uint32_t type, unsigned int from)
{
	return vf_last_msg(&F, type, from);
}

/* The newest SCSI offer with @sub_index posted from @from on. */
static bool find_offer(uint16_t sub_index, unsigned int from,
		       struct hvis_chmsg_offer *o)
{
	static const struct hvis_guid scsi = HVIS_GUID_SCSI;

	return vf_find_offer(&F, &scsi, sub_index, from, o);
}

static void mk_raw(const char *path, uint64_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, (off_t)bytes) == 0);
	close(fd);
}

static int add_disk(unsigned int lun, const char *path, enum img_format fmt,
		    bool ro)
{
	struct storvsp_disk_cfg cfg = {
		.path = path, .format = fmt, .read_only = ro, .lun = lun,
	};
	char err[256] = "";
	int rc = storvsp_add_disk(X.c, &cfg, err, sizeof(err));

	if (rc && getenv("HVIS_TEST_LOG"))
		fprintf(stderr, "add_disk: %s\n", err);
	return rc;
}

/* Guest memory, a server, a controller with a raw disk at LUN 0,
 * connected at VMBus 5.3 with offers delivered.
 */
static void fx_init_opt(uint32_t nvps, const struct storvsp_options *opt)
{
	struct vmbus_server_options so = { .nvps = nvps };
	struct vmbus_server_ops ops;
	struct hvis_guid inst = HVIS_GUID_INIT(0x12345678, 0x9abc, 0x4def, 0x81,
					       0x22, 0x33, 0x44, 0x55, 0x66,
					       0x77, 0x88);

	memset(&X, 0, sizeof(X));
	vf_host_init(&F, (size_t)MEM_PAGES * PG, vf_cunit_check);
	ops = vf_server_ops(&F);
	X.scratch = palloc(1);

	snprintf(X.dir, sizeof(X.dir), "/tmp/hvis-storvsp-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(X.dir) != NULL);
	snprintf(X.raw, sizeof(X.raw), "%s/disk0.raw", X.dir);
	snprintf(X.raw2, sizeof(X.raw2), "%s/disk1.raw", X.dir);
	snprintf(X.ro, sizeof(X.ro), "%s/ro.raw", X.dir);
	snprintf(X.vhd, sizeof(X.vhd), "%s/dyn.vhd", X.dir);
	mk_raw(X.raw, DISK_BYTES);

	X.nvps = nvps;
	X.inst = inst;
	X.aio = aio_create(engine, 64);
	CU_ASSERT_FATAL(X.aio != NULL);
	if (engine != AIO_ENGINE_AUTO)
		CU_ASSERT_EQUAL(aio_engine(X.aio), engine);
	if (getenv("HVIS_TEST_LOG"))
		fprintf(stderr, "aio engine: %s\n", aio_engine_name(X.aio));
	X.srv = vmbus_server_create(&so, &ops);
	CU_ASSERT_FATAL(X.srv != NULL);
	X.c = storvsp_create(0, &X.inst, X.aio, opt, &host_ops);
	CU_ASSERT_FATAL(X.c != NULL);
	CU_ASSERT_EQUAL_FATAL(add_disk(0, X.raw, IMG_FORMAT_RAW, false), 0);
	CU_ASSERT_EQUAL_FATAL(storvsp_attach(X.c, X.srv, nvps), 0);
	vf_connect(&F, X.srv, HVIS_VMBUS_VERSION_WS2022);
}

static void fx_init(uint32_t nvps)
{
	fx_init_opt(nvps, NULL);
}

static void fx_fini(void)
{
	storvsp_detach(X.c);
	vmbus_server_destroy(X.srv);
	vf_host_fini(&F);		/* no view left */
	storvsp_destroy(X.c);
	aio_destroy(X.aio);
	unlink(X.raw);
	unlink(X.raw2);
	unlink(X.ro);
	unlink(X.vhd);
	rmdir(X.dir);
}

/* vmbus_open: ring GPADL of @up + @down pages, then OPENCHANNEL. */
static void g_open(struct gch *g, const struct hvis_chmsg_offer *o,
		   uint32_t up, uint32_t down)
{
	memset(g, 0, sizeof(*g));
	g->next_id = 1;
	vf_open_channel(&F, X.srv, o->of_child_relid, up, down, &g->v);
	CU_ASSERT_EQUAL(g->v.connid, o->of_connection_id);
}

static void g_close(struct gch *g)
{
	vf_close_channel(&F, X.srv, &g->v);
}

/* A guest packet; signal the host if its ring was empty (Linux). */
static int g_send(struct gch *g, uint16_t type, uint64_t tid, const void *hdr,
		  uint32_t hdr_len, const void *p, uint32_t len)
{
	return vf_guest_send(&F, X.srv, &g->v, type,
			     HVIS_PKT_FLAG_COMPLETION_REQUESTED, tid, hdr,
			     hdr_len, p, len, 0);
}

/* Read what the host sent; commit once per batch, signal if asked. */
static unsigned int rx_drain(struct gch *g)
{
	unsigned int got = 0;

	for (;;) {
		struct rx r;
		int rc;

		memset(&r, 0, sizeof(r));
		while ((rc = vf_guest_read(&g->v, &r.p, sizeof(r.p), &r.d)) >= 0) {
			CU_ASSERT_FATAL(g->nq < QMAX);
			r.len = (uint32_t)rc;
			g->q[g->nq++] = r;
			memset(&r, 0, sizeof(r));
			got++;
		}
		CU_ASSERT_EQUAL_FATAL(rc, -HVIS_RING_EMPTY);
		/* the host waits for room (pending_send_sz): told, read on */
		rc = vf_guest_commit(X.srv, &g->v);
		CU_ASSERT(rc >= 0);
		if (rc <= 0)
			return got;
	}
}

/* Until @g holds @want received packets (or the time is up). */
static bool pump(struct gch *g, unsigned int want, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	for (;;) {
		rx_drain(g);
		if (g->nq >= want)
			return true;
		if (now_ms() > end)
			return false;
		if (!aio_poll(X.aio)) {
			struct pollfd p = { .fd = aio_fd(X.aio), .events = POLLIN };

			poll(&p, 1, 2);
		}
	}
}

/* Take the COMPLETION for @tid, waiting for it if need be. */
static bool take(struct gch *g, uint64_t tid, struct rx *out)
{
	uint64_t end = now_ms() + TIMEOUT_MS;

	for (;;) {
		for (unsigned int i = 0; i < g->nq; i++) {
			if (g->q[i].d.pd_trans_id != tid ||
			    g->q[i].d.pd_type != HVIS_PKT_COMPLETION)
				continue;
			*out = g->q[i];
			memmove(&g->q[i], &g->q[i + 1],
				(g->nq - i - 1) * sizeof(g->q[0]));
			g->nq--;
			return true;
		}
		if (now_ms() > end || !pump(g, g->nq + 1, TIMEOUT_MS))
			return false;
	}
}

/* A control operation as storvsc_execute_vstor_op sends it: the reply. */
static struct hvis_vstor_packet ctl(struct gch *g, struct hvis_vstor_packet *p)
{
	struct rx r;

	p->vp_flags = HVIS_VSTOR_FLAG_REQUEST_COMPLETION;
	CU_ASSERT_EQUAL_FATAL(g_send(g, HVIS_PKT_DATA_INBAND, RQST_INIT, NULL, 0,
				     p, sizeof(*p)), 0);
	CU_ASSERT_FATAL(take(g, RQST_INIT, &r));
	/* Linux drops completions shorter than a vstor packet (64 bytes from
	 * 5.1 on; 2.0 and 4.2 packets are 48)
	 */
	CU_ASSERT(r.len >= (storvsp_version(X.c) &&
			    storvsp_version(X.c) < V(5, 1) ?
			    HVIS_VSTOR_PACKET_SIZE_PRE_WIN8 :
			    HVIS_VSTOR_PACKET_SIZE));
	CU_ASSERT_EQUAL(r.p.vp_operation, HVIS_VSTOR_OP_COMPLETE_IO);
	return r.p;
}

static uint32_t ctl_op(struct gch *g, uint32_t op)
{
	struct hvis_vstor_packet p;

	memset(&p, 0, sizeof(p));
	p.vp_operation = op;
	return ctl(g, &p).vp_status;
}

static uint32_t query_version(struct gch *g, uint16_t v)
{
	struct hvis_vstor_packet p;

	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_QUERY_PROTOCOL_VERSION;
	p.vp_version.vpv_major_minor = v;
	return ctl(g, &p).vp_status;
}

/* storvsc_channel_init up to END_INITIALIZATION; the version agreed. */
static uint16_t linux_init(struct gch *g, struct hvis_vstor_channel_props *props)
{
	static const uint16_t vers[] = { V(6, 2), V(6, 0), V(5, 1) };
	struct hvis_vstor_packet p;
	uint16_t agreed = 0;

	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_BEGIN_INITIALIZATION), 0);
	for (unsigned int i = 0; i < 3 && !agreed; i++)
		if (!query_version(g, vers[i]))
			agreed = vers[i];
	CU_ASSERT_FATAL(agreed != 0);
	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_QUERY_PROPERTIES;
	p = ctl(g, &p);
	CU_ASSERT_EQUAL(p.vp_status, 0);
	if (props)
		*props = p.vp_props;
	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_END_INITIALIZATION), 0);
	return agreed;
}

/* Open the primary channel (Linux-sized rings) and initialise it. */
static struct gch *open_ready(void)
{
	struct hvis_chmsg_offer o;
	struct gch *g = &X.ch[0];

	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	g_open(g, &o, LRING, LRING);
	CU_ASSERT_EQUAL(linux_init(g, NULL), V(6, 2));
	CU_ASSERT(storvsp_ready(X.c));
	return g;
}

/* ------------------------------------------------------------ SRBs */

static struct hvis_vstor_packet srb_pkt(uint8_t lun, const uint8_t *cdb,
					uint8_t cdb_len, uint8_t data_in,
					uint32_t xfer)
{
	struct hvis_vstor_packet p;
	struct hvis_vstor_srb *s = &p.vp_srb;

	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_EXECUTE_SRB;
	p.vp_flags = HVIS_VSTOR_FLAG_REQUEST_COMPLETION;
	s->vs_length = sizeof(*s);
	s->vs_lun = lun;
	s->vs_cdb_length = cdb_len;
	s->vs_sense_info_length = HVIS_VSTOR_SENSE_SIZE;
	s->vs_data_in = data_in;
	s->vs_data_transfer_length = xfer;
	memcpy(s->vs_cdb, cdb, cdb_len < 16 ? cdb_len : 16);
	s->vs_time_out_value = 60;
	s->vs_srb_flags = 0x8 | (data_in == HVIS_VSTOR_DATA_READ ?
				 HVIS_SRB_FLAGS_DATA_IN :
				 data_in == HVIS_VSTOR_DATA_WRITE ?
				 HVIS_SRB_FLAGS_DATA_OUT : 0);
	return p;
}

/* The packet with its page list (none: in-band), as storvsc_queuecommand. */
static int send_pkt_pfns(struct gch *g, uint64_t tid,
			 const struct hvis_vstor_packet *p, uint32_t plen,
			 uint32_t off, uint32_t len, const uint64_t *pfns,
			 uint32_t n)
{
	static uint8_t hdr[8 + 8 + 8 * 600];
	uint32_t v[4] = { 0, 1, len, off };

	if (!n)
		return g_send(g, HVIS_PKT_DATA_INBAND, tid, NULL, 0, p, plen);
	CU_ASSERT_FATAL(n <= 600);
	memcpy(hdr, v, 16);
	memcpy(hdr + 16, pfns, (size_t)n * 8);
	return g_send(g, HVIS_PKT_DATA_USING_GPA_DIRECT, tid, hdr, 16 + 8 * n,
		      p, plen);
}

/* A buffer in contiguous guest pages: @len bytes from @off in page @pfn. */
static int send_srb(struct gch *g, uint64_t tid, uint8_t lun,
		    const uint8_t *cdb, uint8_t cdb_len, uint8_t data_in,
		    uint32_t pfn, uint32_t off, uint32_t len)
{
	static uint64_t pfns[600];
	struct hvis_vstor_packet p = srb_pkt(lun, cdb, cdb_len, data_in, len);
	uint32_t n = len ? (off + len + PG - 1) / PG : 0;

	for (uint32_t i = 0; i < n; i++)
		pfns[i] = pfn + i;
	return send_pkt_pfns(g, tid, &p, sizeof(p), off, len, pfns, n);
}

static struct hvis_vstor_srb srb(struct gch *g, uint8_t lun, const uint8_t *cdb,
				 uint8_t cdb_len, uint8_t data_in, uint32_t pfn,
				 uint32_t off, uint32_t len)
{
	uint64_t tid = g->next_id++;
	struct rx r;

	CU_ASSERT_EQUAL_FATAL(send_srb(g, tid, lun, cdb, cdb_len, data_in, pfn,
				       off, len), 0);
	CU_ASSERT_FATAL(take(g, tid, &r));
	CU_ASSERT(r.len >= HVIS_VSTOR_PACKET_SIZE);
	CU_ASSERT_EQUAL(r.p.vp_operation, HVIS_VSTOR_OP_COMPLETE_IO);
	return r.p.vp_srb;
}

static uint8_t cdb_rw10(uint8_t *c, bool write, uint32_t lba, uint16_t n,
			bool fua)
{
	memset(c, 0, 16);
	c[0] = write ? HVIS_SCSI_OP_WRITE_10 : HVIS_SCSI_OP_READ_10;
	c[1] = fua ? HVIS_SCSI_RW_FUA : 0;
	c[2] = (uint8_t)(lba >> 24);
	c[3] = (uint8_t)(lba >> 16);
	c[4] = (uint8_t)(lba >> 8);
	c[5] = (uint8_t)lba;
	c[7] = (uint8_t)(n >> 8);
	c[8] = (uint8_t)n;
	return 10;
}

static uint8_t cdb_simple(uint8_t *c, uint8_t op, uint32_t alloc)
{
	memset(c, 0, 16);
	c[0] = op;
	switch (op) {
	case HVIS_SCSI_OP_INQUIRY:
		c[3] = (uint8_t)(alloc >> 8);
		c[4] = (uint8_t)alloc;
		return 6;
	case HVIS_SCSI_OP_REPORT_LUNS:
		c[6] = (uint8_t)(alloc >> 24);
		c[7] = (uint8_t)(alloc >> 16);
		c[8] = (uint8_t)(alloc >> 8);
		c[9] = (uint8_t)alloc;
		return 12;
	case HVIS_SCSI_OP_SERVICE_ACTION_IN_16:	/* READ CAPACITY(16) */
		c[1] = 0x10;
		c[13] = (uint8_t)alloc;
		return 16;
	case HVIS_SCSI_OP_READ_CAPACITY_10:
	case HVIS_SCSI_OP_SYNCHRONIZE_CACHE_10:
		return 10;
	default:
		return 6;
	}
}

static struct hvis_vstor_srb rw(struct gch *g, uint8_t lun, bool write,
				uint32_t lba, uint32_t pfn, uint32_t off,
				uint32_t len, bool fua)
{
	uint8_t c[16];
	uint8_t n = cdb_rw10(c, write, lba, (uint16_t)(len / 512), fua);

	return srb(g, lun, c, n, write ? HVIS_VSTOR_DATA_WRITE :
		   HVIS_VSTOR_DATA_READ, pfn, off, len);
}

static struct hvis_vstor_srb tur(struct gch *g, uint8_t lun)
{
	uint8_t c[16];

	return srb(g, lun, c, cdb_simple(c, HVIS_SCSI_OP_TEST_UNIT_READY, 0),
		   HVIS_VSTOR_DATA_NONE, 0, 0, 0);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* The image holds @n bytes equal to @want at @off. */
static bool file_has(const char *path, uint64_t off, const uint8_t *want,
		     size_t n)
{
	uint8_t *b = malloc(n);
	int fd = open(path, O_RDONLY);
	bool ok = b && fd >= 0 && pread(fd, b, n, (off_t)off) == (ssize_t)n &&
		  !memcmp(b, want, n);

	if (fd >= 0)
		close(fd);
	free(b);
	return ok;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* A READ of 2 blocks at LBA 7 on @lun still works (and moves 1 KiB). */
static void read_ok(struct gch *g, uint8_t lun)
{
	struct hvis_vstor_srb s;

	s = rw(g, lun, false, 7, X.scratch, 0, 1024, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(s.vs_data_transfer_length, 1024);
}

/* ------------------------------------------------------------ tests */

static void test_init(void)
{
	struct hvis_chmsg_offer o;
	struct hvis_vstor_channel_props pr;
	struct hvis_guid scsi = HVIS_GUID_SCSI;
	struct gch *g = &X.ch[0];
	struct rx r;
	struct hvis_vstor_packet p;

	fx_init(4);
	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	CU_ASSERT(!memcmp(&o.of_if_type, &scsi, sizeof(scsi)));
	CU_ASSERT(!memcmp(&o.of_if_instance, &X.inst, sizeof(X.inst)));
	g_open(g, &o, LRING, LRING);
	CU_ASSERT_EQUAL(storvsp_channels_open(X.c), 1);
	CU_ASSERT(!storvsp_ready(X.c));

	/* out of order: refused */
	CU_ASSERT_NOT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_QUERY_PROPERTIES), 0);
	CU_ASSERT_NOT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_END_INITIALIZATION), 0);
	CU_ASSERT_NOT_EQUAL(query_version(g, V(6, 2)), 0);	/* before BEGIN */

	/* BEGIN_INITIALIZATION on the wire: a COMPLETION, same trans_id */
	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_BEGIN_INITIALIZATION;
	p.vp_flags = HVIS_VSTOR_FLAG_REQUEST_COMPLETION;
	CU_ASSERT_EQUAL(g_send(g, HVIS_PKT_DATA_INBAND, RQST_INIT, NULL, 0, &p,
			       sizeof(p)), 0);
	CU_ASSERT_FATAL(pump(g, 1, TIMEOUT_MS));
	CU_ASSERT_EQUAL(g->nq, 1);
	r = g->q[0];
	g->nq = 0;
	CU_ASSERT_EQUAL(r.d.pd_type, HVIS_PKT_COMPLETION);
	CU_ASSERT_EQUAL(r.d.pd_trans_id, RQST_INIT);
	CU_ASSERT_EQUAL(r.len, HVIS_VSTOR_PACKET_SIZE);
	CU_ASSERT_EQUAL(r.p.vp_operation, HVIS_VSTOR_OP_COMPLETE_IO);
	CU_ASSERT_EQUAL(r.p.vp_status, 0);

	CU_ASSERT_NOT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_QUERY_PROPERTIES), 0);
	CU_ASSERT_NOT_EQUAL(query_version(g, V(7, 0)), 0);
	CU_ASSERT_NOT_EQUAL(query_version(g, V(6, 1)), 0);
	CU_ASSERT_EQUAL(query_version(g, V(6, 2)), 0);
	CU_ASSERT_EQUAL(storvsp_version(X.c), V(6, 2));
	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_QUERY_PROPERTIES;
	p = ctl(g, &p);
	CU_ASSERT_EQUAL(p.vp_status, 0);
	CU_ASSERT(p.vp_props.vcp_flags & HVIS_VSTOR_PROP_MULTI_CHANNEL);
	CU_ASSERT_EQUAL(p.vp_props.vcp_max_channel_count, 3);
	CU_ASSERT_EQUAL(p.vp_props.vcp_max_transfer_bytes, STORVSP_MAX_TRANSFER);
	CU_ASSERT(!storvsp_ready(X.c));
	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_END_INITIALIZATION), 0);
	CU_ASSERT(storvsp_ready(X.c));
	read_ok(g, 0);
	/* Linux initialises again after a reset: the whole sequence works */
	CU_ASSERT_EQUAL(linux_init(g, &pr), V(6, 2));
	read_ok(g, 0);
	fx_fini();

	/* one VP: no sub-channels offered */
	fx_init(1);
	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	g_open(&X.ch[0], &o, LRING, LRING);
	CU_ASSERT_EQUAL(linux_init(&X.ch[0], &pr), V(6, 2));
	CU_ASSERT_EQUAL(pr.vcp_flags & HVIS_VSTOR_PROP_MULTI_CHANNEL, 0);
	CU_ASSERT_EQUAL(pr.vcp_max_channel_count, 0);
	CU_ASSERT_EQUAL(pr.vcp_max_transfer_bytes, STORVSP_MAX_TRANSFER);
	fx_fini();
}

static void test_version_cap(void)
{
	struct storvsp_options opt = { .max_version = V(5, 1) };
	struct hvis_chmsg_offer o;
	struct gch *g = &X.ch[0];
	struct hvis_vstor_channel_props pr;

	fx_init_opt(2, &opt);
	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	g_open(g, &o, LRING, LRING);
	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_BEGIN_INITIALIZATION), 0);
	CU_ASSERT_NOT_EQUAL(query_version(g, V(6, 2)), 0);
	CU_ASSERT_NOT_EQUAL(query_version(g, V(6, 0)), 0);
	CU_ASSERT_EQUAL(storvsp_version(X.c), 0);
	CU_ASSERT_EQUAL(query_version(g, V(5, 1)), 0);
	CU_ASSERT_EQUAL(storvsp_version(X.c), V(5, 1));
	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_END_INITIALIZATION), 0);
	read_ok(g, 0);
	/* Linux's own loop lands on 5.1; 5.1 still has sub-channels */
	CU_ASSERT_EQUAL(linux_init(g, &pr), V(5, 1));
	CU_ASSERT_EQUAL(pr.vcp_max_channel_count, 1);
	read_ok(g, 0);
	fx_fini();
}

static void test_inquiry_luns(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	uint8_t c[16];
	uint32_t pg;
	uint8_t *b;

	fx_init(1);
	mk_raw(X.raw2, 4u << 20);
	CU_ASSERT_EQUAL(add_disk(3, X.raw2, IMG_FORMAT_RAW, false), 0);
	g = open_ready();
	pg = palloc(1);
	b = gp(pg) + 0x100;

	memset(gp(pg), 0xEE, PG);
	s = srb(g, 0, c, cdb_simple(c, HVIS_SCSI_OP_INQUIRY, 96),
		HVIS_VSTOR_DATA_READ, pg, 0x100, 96);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_GOOD);
	CU_ASSERT(s.vs_data_transfer_length >= 36 && s.vs_data_transfer_length <= 96);
	CU_ASSERT_EQUAL(b[0], 0x00);		/* connected direct-access */
	CU_ASSERT(!memcmp(b + 8, "Msft    ", 8));
	CU_ASSERT(!memcmp(b + 16, "Virtual Disk    ", 16));
	CU_ASSERT(all_bytes(gp(pg), 0x100, 0xEE));	/* before the buffer */
	CU_ASSERT(all_bytes(b + 96, PG - 0x100 - 96, 0xEE));

	memset(gp(pg), 0, PG);
	s = srb(g, 0, c, cdb_simple(c, HVIS_SCSI_OP_REPORT_LUNS, 256),
		HVIS_VSTOR_DATA_READ, pg, 0, 256);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	b = gp(pg);
	CU_ASSERT_EQUAL(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3], 16);
	CU_ASSERT_EQUAL(b[8], 0);
	CU_ASSERT_EQUAL(b[9], 0);
	CU_ASSERT_EQUAL(b[16], 0);
	CU_ASSERT_EQUAL(b[17], 3);
	CU_ASSERT_EQUAL(s.vs_data_transfer_length, 24);

	/* LUN 5 is absent: qualifier 3, and TUR says the LUN is gone */
	memset(gp(pg), 0, PG);
	s = srb(g, 5, c, cdb_simple(c, HVIS_SCSI_OP_INQUIRY, 36),
		HVIS_VSTOR_DATA_READ, pg, 0, 36);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(gp(pg)[0] >> 5, 3);
	s = tur(g, 5);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_LUN);
	s = tur(g, 3);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_GOOD);
	/* disks live on path 0, target 0 only (Linux scans 8 x 2) */
	{
		struct hvis_vstor_packet p = srb_pkt(0, c, 6, HVIS_VSTOR_DATA_NONE, 0);
		struct rx r;

		memset(c, 0, 16);
		memcpy(p.vp_srb.vs_cdb, c, 6);
		p.vp_srb.vs_target_id = 1;
		CU_ASSERT_EQUAL(send_pkt_pfns(g, 900, &p, sizeof(p), 0, 0, NULL, 0), 0);
		CU_ASSERT_FATAL(take(g, 900, &r));
		CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status, HVIS_SRB_STATUS_INVALID_LUN);
		p.vp_srb.vs_target_id = 0;
		p.vp_srb.vs_path_id = 2;
		CU_ASSERT_EQUAL(send_pkt_pfns(g, 901, &p, sizeof(p), 0, 0, NULL, 0), 0);
		CU_ASSERT_FATAL(take(g, 901, &r));
		CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status, HVIS_SRB_STATUS_INVALID_LUN);
	}
	fx_fini();
}

/* Write @len bytes from (pfn, off) at @lba, read them into (pfn2, off2). */
static void roundtrip(struct gch *g, uint32_t lba, uint32_t len, uint32_t off,
		      uint32_t off2, bool fua, uint32_t seed)
{
	uint32_t n = (off + len + PG - 1) / PG, n2 = (off2 + len + PG - 1) / PG;
	uint32_t a = palloc(n), b = palloc(n2);
	struct hvis_vstor_srb s;

	fill(gp(a) + off, len, seed);
	memset(gp(b), 0x5A, (size_t)n2 * PG);
	s = rw(g, 0, true, lba, a, off, len, fua);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(s.vs_data_transfer_length, len);
	CU_ASSERT(file_has(X.raw, (uint64_t)lba * 512, gp(a) + off, len));
	s = rw(g, 0, false, lba, b, off2, len, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_data_transfer_length, len);
	CU_ASSERT(!memcmp(gp(a) + off, gp(b) + off2, len));
	/* nothing around the buffer changed */
	CU_ASSERT(all_bytes(gp(b), off2, 0x5A));
	CU_ASSERT(all_bytes(gp(b) + off2 + len, (size_t)n2 * PG - off2 - len, 0x5A));
	F.next_pfn -= n + n2;
}

static void test_rw(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	uint8_t c[16];

	fx_init(1);
	g = open_ready();
	roundtrip(g, 100, 8192, 0, 0, false, 1);
	/* not page aligned, spanning pages */
	roundtrip(g, 1000, 20 * 512, 0x234, 0x600, false, 2);
	roundtrip(g, 1003, 3 * PG + 512, 0xE00, 0x10, false, 3);
	/* 1 MiB, aligned and not (257 pages) */
	roundtrip(g, 4096, 1u << 20, 0, 0, false, 4);
	roundtrip(g, 8192 + 8, 1u << 20, 0x200, 0xA00, false, 5);
	/* the largest transfer the host advertises */
	roundtrip(g, 20000, STORVSP_MAX_TRANSFER - 4096, 0x800, 0, false, 6);
	/* FUA */
	roundtrip(g, 30000, 4096, 0, 0, true, 7);
	/* SYNCHRONIZE CACHE(10): no data, in-band */
	s = srb(g, 0, c, cdb_simple(c, HVIS_SCSI_OP_SYNCHRONIZE_CACHE_10, 0),
		HVIS_VSTOR_DATA_NONE, 0, 0, 0);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_GOOD);
	/* the last block */
	roundtrip(g, DISK_BLOCKS - 1, 512, 0, 0, false, 8);
	{
		struct storvsp_disk_info di;

		CU_ASSERT_EQUAL(storvsp_disks(X.c, &di, 1), 1);
		CU_ASSERT(di.st.writes >= 8);
		CU_ASSERT(di.st.flushes >= 1);
		CU_ASSERT_EQUAL(di.st.in_flight, 0);
		CU_ASSERT_EQUAL(di.size, DISK_BYTES);
	}
	fx_fini();
}

static void test_capacity(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	uint8_t c[16], *b;
	uint32_t pg;
	uint64_t last = 0;

	fx_init(1);
	g = open_ready();
	pg = palloc(1);
	memset(gp(pg), 0xFF, PG);
	s = srb(g, 0, c, cdb_simple(c, HVIS_SCSI_OP_SERVICE_ACTION_IN_16, 32),
		HVIS_VSTOR_DATA_READ, pg, 0, 32);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_data_transfer_length, 32);
	b = gp(pg);
	for (int i = 0; i < 8; i++)
		last = last << 8 | b[i];
	CU_ASSERT_EQUAL(last, DISK_BLOCKS - 1);
	CU_ASSERT_EQUAL(b[8] << 24 | b[9] << 16 | b[10] << 8 | b[11], 512);
	memset(gp(pg), 0xFF, PG);
	s = srb(g, 0, c, cdb_simple(c, HVIS_SCSI_OP_READ_CAPACITY_10, 0),
		HVIS_VSTOR_DATA_READ, pg, 0, 8);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL((uint32_t)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]),
			DISK_BLOCKS - 1);
	fx_fini();
}

/* One SRB with an explicit page list; the reply. */
static struct hvis_vstor_srb srb_pfns(struct gch *g, struct hvis_vstor_packet *p,
				      uint32_t off, uint32_t len,
				      const uint64_t *pfns, uint32_t n)
{
	uint64_t tid = g->next_id++;
	struct rx r;

	CU_ASSERT_EQUAL_FATAL(send_pkt_pfns(g, tid, p, sizeof(*p), off, len,
					    pfns, n), 0);
	CU_ASSERT_FATAL(take(g, tid, &r));
	CU_ASSERT_EQUAL(r.p.vp_operation, HVIS_VSTOR_OP_COMPLETE_IO);
	return r.p.vp_srb;
}

/* A raw GPA-direct packet: @hdr (gpa header + ranges + PFNs) as given. */
static struct rx raw_gpa(struct gch *g, const void *hdr, uint32_t hdr_len,
			 const struct hvis_vstor_packet *p)
{
	uint64_t tid = g->next_id++;
	struct rx r;

	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(g_send(g, HVIS_PKT_DATA_USING_GPA_DIRECT, tid, hdr,
				     hdr_len, p, sizeof(*p)), 0);
	CU_ASSERT_FATAL(take(g, tid, &r));
	return r;
}

static void test_errors(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	struct hvis_vstor_packet p;
	uint8_t c[16];
	uint64_t pfns[4];
	uint32_t a;
	struct rx r;

	fx_init(1);
	g = open_ready();
	a = palloc(2);

	/* past the end: CHECK CONDITION, ILLEGAL REQUEST, LBA OUT OF RANGE */
	s = rw(g, 0, false, DISK_BLOCKS, a, 0, 512, false);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_ERROR |
					 HVIS_SRB_STATUS_AUTOSENSE_VALID);
	CU_ASSERT(s.vs_sense_info_length >= 14 &&
		  s.vs_sense_info_length <= HVIS_VSTOR_SENSE_SIZE);
	CU_ASSERT_EQUAL(s.vs_sense[0] & 0x7F, 0x70);
	CU_ASSERT_EQUAL(s.vs_sense[2] & 0x0F, HVIS_SCSI_SK_ILLEGAL_REQUEST);
	CU_ASSERT_EQUAL(s.vs_sense[12], 0x21);
	CU_ASSERT_EQUAL(s.vs_data_transfer_length, 0);
	s = rw(g, 0, true, DISK_BLOCKS - 1, a, 0, 1024, false);	/* straddles */
	CU_ASSERT_EQUAL(s.vs_sense[12], 0x21);
	read_ok(g, 0);

	/* a PFN outside guest memory: refused, the good page untouched */
	memset(gp(a), 0xC3, 2 * PG);
	p = srb_pkt(0, c, cdb_rw10(c, false, 0, 16, false), HVIS_VSTOR_DATA_READ,
		    2 * PG);
	pfns[0] = a;
	pfns[1] = MEM_PAGES + 5;
	s = srb_pfns(g, &p, 0, 2 * PG, pfns, 2);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	pfns[1] = UINT64_MAX;
	s = srb_pfns(g, &p, 0, 2 * PG, pfns, 2);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	pfns[1] = 1ull << 52;
	s = srb_pfns(g, &p, 0, 2 * PG, pfns, 2);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	read_ok(g, 0);

	/* one of the channel's own ring pages (either ring, control pages
	 * too): refused, and the rings still work
	 */
	{
		const uint32_t which[] = { 0, 1, g->v.up - 1, g->v.up, g->v.up + 3,
					   g->v.up + g->v.down - 1 };

		for (unsigned int i = 0; i < 6; i++) {
			pfns[0] = a;
			pfns[1] = g->v.ring_pfn + which[i];
			s = srb_pfns(g, &p, 0, 2 * PG, pfns, 2);
			CU_ASSERT_EQUAL(s.vs_srb_status,
					HVIS_SRB_STATUS_INVALID_REQUEST);
			read_ok(g, 0);
		}
	}
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));

	/* more data than the pages hold */
	p = srb_pkt(0, c, cdb_rw10(c, false, 0, 16, false), HVIS_VSTOR_DATA_READ,
		    8192);
	pfns[0] = a;
	s = srb_pfns(g, &p, 0, 4096, pfns, 1);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	/* data in-band (no pages) with a transfer length */
	s = srb_pfns(g, &p, 0, 0, NULL, 0);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	read_ok(g, 0);

	/* CDB length 0 and 17 */
	p = srb_pkt(0, c, cdb_rw10(c, false, 0, 1, false), HVIS_VSTOR_DATA_READ, 512);
	p.vp_srb.vs_cdb_length = 0;
	s = srb_pfns(g, &p, 0, 512, pfns, 1);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	p.vp_srb.vs_cdb_length = 17;
	s = srb_pfns(g, &p, 0, 512, pfns, 1);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	/* a direction that is none of the three */
	p.vp_srb.vs_cdb_length = 10;
	p.vp_srb.vs_data_in = 3;
	s = srb_pfns(g, &p, 0, 512, pfns, 1);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	read_ok(g, 0);

	/* malformed page lists: no range, five ranges, offset >= a page,
	 * zero bytes, fewer PFNs than the range needs
	 */
	{
		uint32_t h[2 + 2 + 2];
		uint8_t big[8 + 5 * 16];

		p = srb_pkt(0, c, cdb_rw10(c, false, 0, 1, false),
			    HVIS_VSTOR_DATA_READ, 512);
		memset(h, 0, sizeof(h));
		h[1] = 0;			/* range count 0 */
		r = raw_gpa(g, h, 8, &p);
		CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status,
				HVIS_SRB_STATUS_INVALID_REQUEST);
		memset(big, 0, sizeof(big));
		big[4] = 5;			/* range count 5 */
		for (int i = 0; i < 5; i++) {
			uint32_t rr[2] = { 512, 0 };
			uint64_t pf = a;

			memcpy(big + 8 + 16 * i, rr, 8);
			memcpy(big + 16 + 16 * i, &pf, 8);
		}
		r = raw_gpa(g, big, sizeof(big), &p);
		CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status,
				HVIS_SRB_STATUS_INVALID_REQUEST);
		h[1] = 1;
		h[2] = 512;
		h[3] = PG;			/* byte offset = a page */
		h[4] = a;
		h[5] = 0;
		r = raw_gpa(g, h, 24, &p);
		CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status,
				HVIS_SRB_STATUS_INVALID_REQUEST);
		h[2] = 0;			/* zero bytes */
		h[3] = 0;
		r = raw_gpa(g, h, 24, &p);
		CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status,
				HVIS_SRB_STATUS_INVALID_REQUEST);
		h[2] = 2 * PG;			/* 2 pages, 1 PFN */
		p.vp_srb.vs_data_transfer_length = 2 * PG;
		r = raw_gpa(g, h, 24, &p);
		CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status,
				HVIS_SRB_STATUS_INVALID_REQUEST);
		h[2] = 512;
		r = raw_gpa(g, h, 16, &p);	/* the PFN cut off */
		CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status,
				HVIS_SRB_STATUS_INVALID_REQUEST);
	}
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	read_ok(g, 0);

	/* packets shorter than a vstor packet: answered, nothing else */
	memset(&p, 0, sizeof(p));
	p = srb_pkt(0, c, cdb_rw10(c, false, 0, 1, false), HVIS_VSTOR_DATA_NONE, 0);
	CU_ASSERT_EQUAL(g_send(g, HVIS_PKT_DATA_INBAND, 700, NULL, 0, &p, 40), 0);
	CU_ASSERT_FATAL(take(g, 700, &r));
	CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	CU_ASSERT_EQUAL(g_send(g, HVIS_PKT_DATA_INBAND, 701, NULL, 0, &p, 8), 0);
	CU_ASSERT_FATAL(take(g, 701, &r));
	CU_ASSERT(r.p.vp_status != 0 ||
		  r.p.vp_srb.vs_srb_status == HVIS_SRB_STATUS_INVALID_REQUEST);
	p.vp_operation = HVIS_VSTOR_OP_QUERY_PROPERTIES;
	CU_ASSERT_EQUAL(g_send(g, HVIS_PKT_DATA_INBAND, 702, NULL, 0, &p, 4), 0);
	CU_ASSERT_FATAL(take(g, 702, &r));
	CU_ASSERT_NOT_EQUAL(r.p.vp_status, 0);
	read_ok(g, 0);

	/* unknown operations, FCHBA_DATA on a SCSI controller */
	CU_ASSERT_NOT_EQUAL(ctl_op(g, 0), 0);
	CU_ASSERT_NOT_EQUAL(ctl_op(g, 99), 0);
	CU_ASSERT_NOT_EQUAL(ctl_op(g, 0xFFFFFFFFu), 0);
	CU_ASSERT_NOT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_FCHBA_DATA), 0);
	CU_ASSERT_NOT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_COMPLETE_IO), 0);
	read_ok(g, 0);

	/* packet types the protocol does not use: ignored, no answer */
	p = srb_pkt(0, c, cdb_simple(c, HVIS_SCSI_OP_TEST_UNIT_READY, 0),
		    HVIS_VSTOR_DATA_NONE, 0);
	CU_ASSERT_EQUAL(g_send(g, HVIS_PKT_COMPLETION, 800, NULL, 0, &p, sizeof(p)), 0);
	CU_ASSERT_EQUAL(g_send(g, HVIS_PKT_DATA_USING_GPADL, 801, NULL, 0, &p,
			       sizeof(p)), 0);
	read_ok(g, 0);
	rx_drain(g);
	for (unsigned int i = 0; i < g->nq; i++)
		CU_ASSERT(g->q[i].d.pd_trans_id != 800 &&
			  g->q[i].d.pd_trans_id != 801);
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	CU_ASSERT_EQUAL(storvsp_channels_open(X.c), 1);
	fx_fini();
}

static void test_srb_before_init(void)
{
	struct hvis_chmsg_offer o;
	struct gch *g = &X.ch[0];
	uint8_t c[16];
	uint32_t a;
	struct rx r;

	fx_init(1);
	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	g_open(g, &o, LRING, LRING);
	a = palloc(1);
	memset(gp(a), 0x77, PG);
	cdb_rw10(c, false, 0, 8, false);
	CU_ASSERT_EQUAL(send_srb(g, 1, 0, c, 10, HVIS_VSTOR_DATA_READ, a, 0, PG), 0);
	CU_ASSERT_FATAL(take(g, 1, &r));
	CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	CU_ASSERT_NOT_EQUAL(r.p.vp_status, 0);
	CU_ASSERT(all_bytes(gp(a), PG, 0x77));
	/* half-way: versions agreed, END not yet */
	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_BEGIN_INITIALIZATION), 0);
	CU_ASSERT_EQUAL(query_version(g, V(6, 2)), 0);
	CU_ASSERT_EQUAL(send_srb(g, 2, 0, c, 10, HVIS_VSTOR_DATA_READ, a, 0, PG), 0);
	CU_ASSERT_FATAL(take(g, 2, &r));
	CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status, HVIS_SRB_STATUS_INVALID_REQUEST);
	CU_ASSERT(all_bytes(gp(a), PG, 0x77));
	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_END_INITIALIZATION), 0);
	read_ok(g, 0);
	fx_fini();
}

static void test_read_only(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	uint32_t a;
	uint8_t zero[4096] = { 0 };

	fx_init(1);
	mk_raw(X.ro, 1u << 20);
	CU_ASSERT_EQUAL(add_disk(1, X.ro, IMG_FORMAT_RAW, true), 0);
	g = open_ready();
	a = palloc(1);
	fill(gp(a), PG, 9);
	s = rw(g, 1, true, 0, a, 0, PG, false);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_ERROR |
					 HVIS_SRB_STATUS_AUTOSENSE_VALID);
	CU_ASSERT_EQUAL(s.vs_sense[2] & 0x0F, HVIS_SCSI_SK_DATA_PROTECT);
	CU_ASSERT(file_has(X.ro, 0, zero, sizeof(zero)));
	s = rw(g, 1, false, 0, a, 0, PG, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT(all_bytes(gp(a), PG, 0));
	read_ok(g, 0);
	fx_fini();
}

static uint32_t create_sub(struct gch *g, uint16_t n)
{
	struct hvis_vstor_packet p;

	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_CREATE_SUB_CHANNELS;
	p.vp_sub_channel_count = n;
	return ctl(g, &p).vp_status;
}

static void test_subchannels(void)
{
	struct gch *g, *sc = &X.ch[1];
	struct hvis_chmsg_offer o, so;
	struct hvis_vstor_channel_props pr;
	unsigned int from;
	const struct vf_msg *m;
	struct hvis_chmsg_relid rel;

	fx_init(2);
	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	g = &X.ch[0];
	g_open(g, &o, LRING, LRING);
	CU_ASSERT_EQUAL(linux_init(g, &pr), V(6, 2));
	CU_ASSERT_EQUAL(pr.vcp_max_channel_count, 1);
	CU_ASSERT(pr.vcp_flags & HVIS_VSTOR_PROP_MULTI_CHANNEL);

	from = F.nmsgs;
	CU_ASSERT_EQUAL(create_sub(g, 1), 0);
	CU_ASSERT_FATAL(find_offer(1, from, &so));
	CU_ASSERT(!memcmp(&so.of_if_instance, &o.of_if_instance, sizeof(o.of_if_instance)));
	CU_ASSERT(so.of_child_relid != o.of_child_relid);
	/* over the limit: refused, nothing offered */
	from = F.nmsgs;
	CU_ASSERT_NOT_EQUAL(create_sub(g, 1), 0);
	CU_ASSERT(last_msg(HVIS_CHMSG_OFFERCHANNEL, from) == NULL);
	CU_ASSERT_NOT_EQUAL(create_sub(g, 0), 0);

	g_open(sc, &so, LRING, LRING);
	CU_ASSERT_EQUAL(storvsp_channels_open(X.c), 2);
	/* I/O on the sub-channel; control operations are the primary's */
	{
		uint32_t a = palloc(4), b = palloc(4);
		struct hvis_vstor_srb s;

		fill(gp(a), 4 * PG, 11);
		s = rw(sc, 0, true, 64, a, 0, 4 * PG, false);
		CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
		s = rw(sc, 0, false, 64, b, 0, 4 * PG, false);
		CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
		CU_ASSERT(!memcmp(gp(a), gp(b), 4 * PG));
		CU_ASSERT(file_has(X.raw, 64 * 512, gp(a), 4 * PG));
		CU_ASSERT_NOT_EQUAL(ctl_op(sc, HVIS_VSTOR_OP_BEGIN_INITIALIZATION), 0);
		CU_ASSERT_NOT_EQUAL(create_sub(sc, 1), 0);
		read_ok(g, 0);
		read_ok(sc, 0);
	}
	/* the sub-channel lives as long as its primary is open */
	from = F.nmsgs;
	g_close(g);
	CU_ASSERT_EQUAL(storvsp_channels_open(X.c), 0);
	m = last_msg(HVIS_CHMSG_RESCIND_CHANNELOFFER, from);
	CU_ASSERT_FATAL(m != NULL);
	memcpy(&rel, m->b, sizeof(rel));
	CU_ASSERT_EQUAL(rel.rl_child_relid, so.of_child_relid);
	CU_ASSERT(vmbus_server_device_by_relid(X.srv, so.of_child_relid) != NULL);
	/* Linux: vmbus_onoffer_rescind -> close, then RELID_RELEASED */
	rel.rl_hdr.ch_msgtype = HVIS_CHMSG_RELID_RELEASED;
	CU_ASSERT_EQUAL(gmsg(&rel, sizeof(rel)), HVIS_STATUS_SUCCESS);
	CU_ASSERT(vmbus_server_device_by_relid(X.srv, so.of_child_relid) == NULL);

	/* open again: a new sub-channel */
	g_open(g, &o, LRING, LRING);
	CU_ASSERT_EQUAL(linux_init(g, NULL), V(6, 2));
	from = F.nmsgs;
	CU_ASSERT_EQUAL(create_sub(g, 1), 0);
	CU_ASSERT_FATAL(find_offer(1, from, &so));
	g_open(sc, &so, LRING, LRING);
	read_ok(sc, 0);
	CU_ASSERT_EQUAL(storvsp_channels_open(X.c), 2);
	/* the server goes with both open (fx_fini): no leak, no views */
	fx_fini();

	/* four VPs: three sub-channels at once, I/O on each */
	fx_init(4);
	g = open_ready();
	from = F.nmsgs;
	CU_ASSERT_EQUAL(create_sub(g, 3), 0);
	for (uint16_t i = 1; i <= 3; i++) {
		CU_ASSERT_FATAL(find_offer(i, from, &so));
		g_open(&X.ch[i], &so, 8, 8);
		read_ok(&X.ch[i], 0);
	}
	CU_ASSERT_EQUAL(storvsp_channels_open(X.c), 4);
	fx_fini();
}

static void test_hotplug(void)
{
	struct gch *g;
	struct rx r;
	struct hvis_vstor_srb s;
	uint8_t c[16];
	uint32_t a;

	fx_init(1);
	mk_raw(X.raw2, 2u << 20);
	/* before the guest is ready: nothing sent (it scans at init) */
	{
		struct hvis_chmsg_offer o;

		CU_ASSERT_FATAL(find_offer(0, 0, &o));
		g = &X.ch[0];
		g_open(g, &o, LRING, LRING);
		CU_ASSERT_EQUAL(add_disk(4, X.raw2, IMG_FORMAT_RAW, false), 0);
		CU_ASSERT_EQUAL(storvsp_remove_disk(X.c, 4), 0);
		rx_drain(g);
		CU_ASSERT_EQUAL(g->nq, 0);
		CU_ASSERT_EQUAL(linux_init(g, NULL), V(6, 2));
	}
	CU_ASSERT_EQUAL(add_disk(0, X.raw2, IMG_FORMAT_RAW, false), -EEXIST);
	CU_ASSERT_EQUAL(add_disk(HVIS_VSTOR_MAX_LUNS, X.raw2, IMG_FORMAT_RAW, false),
			-EINVAL);
	CU_ASSERT(add_disk(9, "/nonexistent/disk.raw", IMG_FORMAT_RAW, false) < 0);
	rx_drain(g);
	CU_ASSERT_EQUAL(g->nq, 0);

	/* hot add: an unsolicited ENUMERATE_BUS, then the LUN answers */
	CU_ASSERT_EQUAL(add_disk(2, X.raw2, IMG_FORMAT_RAW, false), 0);
	CU_ASSERT_FATAL(pump(g, 1, TIMEOUT_MS));
	r = g->q[0];
	g->nq = 0;
	CU_ASSERT_EQUAL(r.d.pd_type, HVIS_PKT_DATA_INBAND);
	CU_ASSERT_EQUAL(r.d.pd_trans_id, 0);
	CU_ASSERT_EQUAL(r.p.vp_operation, HVIS_VSTOR_OP_ENUMERATE_BUS);
	CU_ASSERT(r.len >= 4);
	a = palloc(1);
	s = srb(g, 0, c, cdb_simple(c, HVIS_SCSI_OP_REPORT_LUNS, 64),
		HVIS_VSTOR_DATA_READ, a, 0, 64);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(gp(a)[3], 16);
	CU_ASSERT_EQUAL(gp(a)[17], 2);
	s = tur(g, 2);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	read_ok(g, 2);

	/* hot remove with a command in flight: it completes, the LUN is gone */
	CU_ASSERT_EQUAL(send_srb(g, 555, 2, c, cdb_rw10(c, false, 0, 8, false),
				 HVIS_VSTOR_DATA_READ, a, 0, PG), 0);
	CU_ASSERT_EQUAL(storvsp_remove_disk(X.c, 2), 0);
	CU_ASSERT_EQUAL(storvsp_remove_disk(X.c, 2), -ENOENT);
	CU_ASSERT_FATAL(pump(g, 2, TIMEOUT_MS));
	{
		bool enumerated = false;

		for (unsigned int i = 0; i < g->nq; i++)
			if (g->q[i].d.pd_trans_id == 0 &&
			    g->q[i].p.vp_operation == HVIS_VSTOR_OP_ENUMERATE_BUS)
				enumerated = true;
		CU_ASSERT(enumerated);
	}
	CU_ASSERT_FATAL(take(g, 555, &r));
	CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	s = tur(g, 2);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_LUN);
	s = srb(g, 0, c, cdb_simple(c, HVIS_SCSI_OP_REPORT_LUNS, 64),
		HVIS_VSTOR_DATA_READ, a, 0, 64);
	CU_ASSERT_EQUAL(gp(a)[3], 8);
	CU_ASSERT_EQUAL(storvsp_disks(X.c, NULL, 0), 1);
	/* the same image again, at another LUN */
	g->nq = 0;
	CU_ASSERT_EQUAL(add_disk(7, X.raw2, IMG_FORMAT_RAW, false), 0);
	CU_ASSERT_FATAL(pump(g, 1, TIMEOUT_MS));
	CU_ASSERT_EQUAL(g->q[0].p.vp_operation, HVIS_VSTOR_OP_ENUMERATE_BUS);
	g->nq = 0;
	read_ok(g, 7);
	fx_fini();
}

/*
 * The ring to the guest fills: completions wait on the host, none lost,
 * in the order the commands completed (synchronous ones: the order sent).
 */
static void test_backpressure(void)
{
	struct hvis_chmsg_offer o;
	struct gch *g = &X.ch[0];
	uint8_t c[16];
	const unsigned int n = 200;
	uint32_t a;

	fx_init(1);
	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	g_open(g, &o, LRING, 2);	/* one data page to the guest */
	CU_ASSERT_EQUAL(linux_init(g, NULL), V(6, 2));
	for (unsigned int i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(send_srb(g, 1000 + i, 0, c,
					       cdb_simple(c, HVIS_SCSI_OP_TEST_UNIT_READY, 0),
					       HVIS_VSTOR_DATA_NONE, 0, 0, 0), 0);
	/* the host took them all; ~46 answers fit */
	CU_ASSERT(hvis_ring_bytes_to_read(&g->v.gr) > 0);
	CU_ASSERT(hvis_ring_bytes_to_write(&g->v.gr) < 100);
	CU_ASSERT_FATAL(pump(g, n, TIMEOUT_MS));
	CU_ASSERT_EQUAL(g->nq, n);
	for (unsigned int i = 0; i < g->nq && i < n; i++) {
		CU_ASSERT_EQUAL(g->q[i].d.pd_trans_id, 1000 + i);
		CU_ASSERT_EQUAL(g->q[i].p.vp_srb.vs_srb_status,
				HVIS_SRB_STATUS_SUCCESS);
	}
	g->nq = 0;
	pump(g, 1, 50);
	CU_ASSERT_EQUAL(g->nq, 0);			/* nothing twice */

	/* disk reads: they finish in any order; each answered once */
	a = palloc(64);
	memset(gp(a), 0x11, 64 * PG);
	for (unsigned int i = 0; i < 64; i++)
		CU_ASSERT_EQUAL_FATAL(send_srb(g, 5000 + i, 0, c,
					       cdb_rw10(c, false, 8 * i, 8, false),
					       HVIS_VSTOR_DATA_READ, a + i, 0, PG), 0);
	CU_ASSERT_FATAL(pump(g, 64, TIMEOUT_MS));
	{
		bool seen[64] = { false };

		CU_ASSERT_EQUAL(g->nq, 64);
		for (unsigned int i = 0; i < g->nq; i++) {
			uint64_t t = g->q[i].d.pd_trans_id - 5000;

			CU_ASSERT_FATAL(t < 64);
			CU_ASSERT(!seen[t]);
			seen[t] = true;
			CU_ASSERT_EQUAL(g->q[i].p.vp_srb.vs_srb_status,
					HVIS_SRB_STATUS_SUCCESS);
		}
	}
	CU_ASSERT(all_bytes(gp(a), 64 * PG, 0));	/* the disk is zeros */
	g->nq = 0;
	read_ok(g, 0);
	CU_ASSERT_EQUAL(F.warns, 0);
	fx_fini();
}

static void test_vhd_dynamic(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	char err[256];
	uint32_t a, b;
	const uint32_t bs = 1u << 20;	/* VHD block */
	int fd;
	struct vhd *v;
	uint64_t foff, run;
	struct storvsp_disk_info di[2];

	fx_init(1);
	CU_ASSERT_EQUAL_FATAL(vhd_create(X.vhd, 16u << 20, VHD_TYPE_DYNAMIC, bs,
					 err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(add_disk(1, X.vhd, IMG_FORMAT_AUTO, false), 0);
	CU_ASSERT_EQUAL(storvsp_disks(X.c, di, 2), 2);
	CU_ASSERT_STRING_EQUAL(di[1].format, "vhd-dynamic");
	g = open_ready();
	a = palloc(8);
	b = palloc(8);

	/* unallocated: zeros */
	memset(gp(b), 0xAA, 8 * PG);
	s = rw(g, 1, false, 0, b, 0, 8 * PG, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT(all_bytes(gp(b), 8 * PG, 0));

	/* a write into block 2 allocates it */
	fill(gp(a), 8 * PG, 21);
	s = rw(g, 1, true, 2 * bs / 512 + 8, a, 0, 2 * PG, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	memset(gp(b), 0xAA, 8 * PG);
	s = rw(g, 1, false, 2 * bs / 512, b, 0, 8 * PG, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT(all_bytes(gp(b), 4096, 0));
	CU_ASSERT(!memcmp(gp(b) + 4096, gp(a), 2 * PG));
	CU_ASSERT(all_bytes(gp(b) + 3 * PG, 5 * PG, 0));

	/* a write across the block 4/5 boundary, and four writes racing
	 * for block 9's allocation
	 */
	fill(gp(a), 8 * PG, 22);
	s = rw(g, 1, true, 5 * bs / 512 - 8, a, 0, 2 * PG, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	{
		uint8_t c[16];
		struct rx r;

		for (unsigned int i = 0; i < 4; i++)
			CU_ASSERT_EQUAL(send_srb(g, 300 + i, 1, c,
						 cdb_rw10(c, true, 9 * bs / 512 + 8 * i,
							  8, false),
						 HVIS_VSTOR_DATA_WRITE, a + i, 0, PG), 0);
		for (unsigned int i = 0; i < 4; i++) {
			CU_ASSERT_FATAL(take(g, 300 + i, &r));
			CU_ASSERT_EQUAL(r.p.vp_srb.vs_srb_status,
					HVIS_SRB_STATUS_SUCCESS);
		}
	}
	memset(gp(b), 0xAA, 8 * PG);
	s = rw(g, 1, false, 5 * bs / 512 - 8, b, 0, 2 * PG, false);
	CU_ASSERT(!memcmp(gp(b), gp(a), 2 * PG));
	s = rw(g, 1, false, 9 * bs / 512, b, 0, 4 * PG, false);
	CU_ASSERT(!memcmp(gp(b), gp(a), 4 * PG));

	/* the image says so */
	fd = open(X.vhd, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(vhd_open(fd, true, &v, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(vhd_map(v, 2 * bs + 4096, 2 * PG, false, &foff, &run),
			VHD_MAP_DATA);
	CU_ASSERT_EQUAL(vhd_map(v, 4 * bs + bs - 4096, 4096, false, &foff, &run),
			VHD_MAP_DATA);
	CU_ASSERT_EQUAL(vhd_map(v, 5 * bs, 4096, false, &foff, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(vhd_map(v, 9 * bs, 4 * PG, false, &foff, &run), VHD_MAP_DATA);
	CU_ASSERT_EQUAL(vhd_map(v, 0, 4096, false, &foff, &run), VHD_MAP_ZERO);
	CU_ASSERT_EQUAL(vhd_map(v, 7 * bs, 4096, false, &foff, &run), VHD_MAP_ZERO);
	vhd_close(v);
	close(fd);
	read_ok(g, 1);
	fx_fini();
}

/* Detach (and close) with disk I/O in flight: both wait for it. */
static void test_in_flight(void)
{
	struct gch *g;
	uint8_t c[16];
	uint32_t a;
	struct storvsp_disk_info di;

	fx_init(1);
	g = open_ready();
	a = palloc(256);
	for (unsigned int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL_FATAL(send_srb(g, 10 + i, 0, c,
					       cdb_rw10(c, i & 1, 2048 * i, 2048, false),
					       i & 1 ? HVIS_VSTOR_DATA_WRITE :
					       HVIS_VSTOR_DATA_READ, a, 0, 1u << 20), 0);
	/* close the channel: no answer may reach the ring after it */
	g_close(g);
	CU_ASSERT_EQUAL(aio_in_flight(X.aio), 0);
	CU_ASSERT_EQUAL(storvsp_disks(X.c, &di, 1), 1);
	CU_ASSERT_EQUAL(di.st.in_flight, 0);
	CU_ASSERT_EQUAL(storvsp_channels_open(X.c), 0);
	/* open again */
	{
		struct hvis_chmsg_offer o;

		CU_ASSERT_FATAL(find_offer(0, 0, &o));
		g_open(g, &o, LRING, LRING);
		CU_ASSERT_EQUAL(linux_init(g, NULL), V(6, 2));
		read_ok(g, 0);
	}
	/* detach with I/O in flight, then the server goes */
	g->nq = 0;
	for (unsigned int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL_FATAL(send_srb(g, 20 + i, 0, c,
					       cdb_rw10(c, false, 2048 * i, 2048, false),
					       HVIS_VSTOR_DATA_READ, a, 0, 1u << 20), 0);
	storvsp_detach(X.c);
	CU_ASSERT_EQUAL(aio_in_flight(X.aio), 0);
	CU_ASSERT_EQUAL(storvsp_disks(X.c, &di, 1), 1);
	CU_ASSERT_EQUAL(di.st.in_flight, 0);
	/* closing: nothing answered after detach started */
	rx_drain(g);
	CU_ASSERT_EQUAL(g->nq, 0);
	vmbus_server_destroy(X.srv);
	CU_ASSERT_EQUAL(F.maps, 0);
	/* a new partition: attach again */
	{
		struct vmbus_server_options so = { .nvps = 1 };
		struct vmbus_server_ops ops = vf_server_ops(&F);
		struct hvis_chmsg_offer o;

		X.srv = vmbus_server_create(&so, &ops);
		CU_ASSERT_FATAL(X.srv != NULL);
		CU_ASSERT_EQUAL(storvsp_attach(X.c, X.srv, 1), 0);
		CU_ASSERT_EQUAL(storvsp_attach(X.c, X.srv, 1), -EBUSY);
		vf_clear(&F);
		vf_connect(&F, X.srv, HVIS_VMBUS_VERSION_WS2022);
		CU_ASSERT_FATAL(find_offer(0, 0, &o));
		g_open(g, &o, LRING, LRING);
		CU_ASSERT_EQUAL(linux_init(g, NULL), V(6, 2));
		read_ok(g, 0);
		/* leave commands in flight for fx_fini's detach */
		for (unsigned int i = 0; i < 4; i++)
			send_srb(g, 40 + i, 0, c,
				 cdb_rw10(c, false, 2048 * i, 2048, false),
				 HVIS_VSTOR_DATA_READ, a, 0, 1u << 20);
	}
	fx_fini();
}

/* RESET_BUS (storvsc_host_reset_handler) answers once earlier I/O is done. */
static void test_reset(void)
{
	struct gch *g;
	uint8_t c[16];
	uint32_t a;
	struct hvis_vstor_packet p;
	unsigned int i_read = QMAX, i_reset = QMAX;

	fx_init(1);
	g = open_ready();
	a = palloc(256);
	CU_ASSERT_EQUAL(send_srb(g, 77, 0, c, cdb_rw10(c, false, 0, 2048, false),
				 HVIS_VSTOR_DATA_READ, a, 0, 1u << 20), 0);
	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_RESET_BUS;
	p.vp_flags = HVIS_VSTOR_FLAG_REQUEST_COMPLETION;
	CU_ASSERT_EQUAL(g_send(g, HVIS_PKT_DATA_INBAND, RQST_RESET, NULL, 0, &p,
			       sizeof(p)), 0);
	CU_ASSERT_FATAL(pump(g, 2, TIMEOUT_MS));
	for (unsigned int i = 0; i < g->nq; i++) {
		if (g->q[i].d.pd_trans_id == 77)
			i_read = i;
		if (g->q[i].d.pd_trans_id == RQST_RESET)
			i_reset = i;
	}
	CU_ASSERT(i_read < i_reset && i_reset < g->nq);
	if (i_reset < g->nq) {
		CU_ASSERT_EQUAL(g->q[i_reset].p.vp_operation, HVIS_VSTOR_OP_COMPLETE_IO);
		CU_ASSERT_EQUAL(g->q[i_reset].p.vp_status, 0);
	}
	g->nq = 0;
	read_ok(g, 0);
	fx_fini();
}


/*
 * The host moves no more than the guest allows: data_transfer_length
 * below the page list, an allocation length above it, a data phase the
 * other way round.
 */
static void test_data_limits(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	struct hvis_vstor_packet p;
	uint8_t c[16];
	uint64_t pfns[2];
	uint32_t a;

	fx_init(1);
	g = open_ready();
	a = palloc(2);
	/* something on the disk to read */
	fill(gp(a), 2 * PG, 31);
	s = rw(g, 0, true, 0, a, 0, 2 * PG, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);

	/* READ of 4 KiB, page list of 8 KiB, transfer length 4 KiB */
	memset(gp(a), 0xC3, 2 * PG);
	p = srb_pkt(0, c, cdb_rw10(c, false, 0, 8, false), HVIS_VSTOR_DATA_READ, PG);
	pfns[0] = a;
	pfns[1] = a + 1;
	s = srb_pfns(g, &p, 0, 2 * PG, pfns, 2);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_data_transfer_length, PG);
	CU_ASSERT(all_bytes(gp(a + 1), PG, 0xC3));
	CU_ASSERT(file_has(X.raw, 0, gp(a), PG));
	/* READ of 8 KiB when the guest allows 4 KiB: refused, nothing moved */
	memset(gp(a), 0xC3, 2 * PG);
	p = srb_pkt(0, c, cdb_rw10(c, false, 0, 16, false), HVIS_VSTOR_DATA_READ, PG);
	s = srb_pfns(g, &p, 0, 2 * PG, pfns, 2);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_CHECK_CONDITION);
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	/* INQUIRY asking for 96 bytes into a 20-byte transfer */
	p = srb_pkt(0, c, cdb_simple(c, HVIS_SCSI_OP_INQUIRY, 96),
		    HVIS_VSTOR_DATA_READ, 20);
	s = srb_pfns(g, &p, 0x80, 96, pfns, 1);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT(s.vs_data_transfer_length <= 20);
	CU_ASSERT(all_bytes(gp(a), 0x80, 0xC3));
	CU_ASSERT(all_bytes(gp(a) + 0x80 + 20, 2 * PG - 0x80 - 20, 0xC3));
	CU_ASSERT(!all_bytes(gp(a) + 0x80, 20, 0xC3));
	/* a READ whose buffer is marked data-out: not written */
	memset(gp(a), 0xC3, 2 * PG);
	p = srb_pkt(0, c, cdb_rw10(c, false, 0, 8, false), HVIS_VSTOR_DATA_WRITE, PG);
	s = srb_pfns(g, &p, 0, PG, pfns, 1);
	CU_ASSERT_NOT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	/* and a WRITE marked data-in does not reach the disk */
	p = srb_pkt(0, c, cdb_rw10(c, true, 0, 8, false), HVIS_VSTOR_DATA_READ, PG);
	s = srb_pfns(g, &p, 0, PG, pfns, 1);
	CU_ASSERT_NOT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT(!file_has(X.raw, 0, gp(a), PG));
	CU_ASSERT(all_bytes(gp(a), 2 * PG, 0xC3));
	/* a WRITE with the direction unset (no data) but a page list */
	p = srb_pkt(0, c, cdb_rw10(c, true, 0, 8, false), HVIS_VSTOR_DATA_NONE, PG);
	s = srb_pfns(g, &p, 0, PG, pfns, 1);
	CU_ASSERT_NOT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT(!file_has(X.raw, 0, gp(a), PG));
	/* the same page twice in one list (Linux never, a guest may) */
	fill(gp(a), PG, 32);
	p = srb_pkt(0, c, cdb_rw10(c, true, 64, 16, false), HVIS_VSTOR_DATA_WRITE,
		    2 * PG);
	pfns[1] = a;
	s = srb_pfns(g, &p, 0, 2 * PG, pfns, 2);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT(file_has(X.raw, 64 * 512, gp(a), PG));
	CU_ASSERT(file_has(X.raw, 64 * 512 + PG, gp(a), PG));
	read_ok(g, 0);
	fx_fini();
}

/* UNMAP and WRITE SAME(16) with UNMAP: the range reads back as zeros. */
static void test_unmap(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	uint8_t c[16], *b;
	uint32_t a, d;
	struct storvsp_disk_info di;

	fx_init(1);
	g = open_ready();
	a = palloc(16);
	d = palloc(1);
	fill(gp(a), 16 * PG, 41);
	s = rw(g, 0, true, 1024, a, 0, 16 * PG, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	/* UNMAP two 4 KiB ranges: LBA 1024+8 and 1024+64 */
	b = gp(d);
	memset(b, 0, PG);
	b[1] = 6 + 2 * 16;			/* data length */
	b[3] = 2 * 16;				/* block descriptor data length */
	for (int i = 0; i < 2; i++) {
		uint32_t lba = 1024 + (i ? 64 : 8);

		b[8 + 16 * i + 4] = (uint8_t)(lba >> 24);
		b[8 + 16 * i + 5] = (uint8_t)(lba >> 16);
		b[8 + 16 * i + 6] = (uint8_t)(lba >> 8);
		b[8 + 16 * i + 7] = (uint8_t)lba;
		b[8 + 16 * i + 11] = 8;		/* blocks */
	}
	memset(c, 0, 16);
	c[0] = HVIS_SCSI_OP_UNMAP;
	c[8] = 8 + 2 * 16;
	s = srb(g, 0, c, 10, HVIS_VSTOR_DATA_WRITE, d, 0, 8 + 2 * 16);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(s.vs_scsi_status, HVIS_SCSI_STATUS_GOOD);
	/* WRITE SAME(16), UNMAP bit, 8 blocks at LBA 1024+100 */
	memset(gp(d), 0, PG);
	memset(c, 0, 16);
	c[0] = HVIS_SCSI_OP_WRITE_SAME_16;
	c[1] = 0x08;
	c[8] = (uint8_t)((1024 + 100) >> 8);
	c[9] = (uint8_t)(1024 + 100);
	c[13] = 8;
	s = srb(g, 0, c, 16, HVIS_VSTOR_DATA_WRITE, d, 0, 512);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	/* read it all back */
	memset(gp(a), 0xAA, 16 * PG);
	s = rw(g, 0, false, 1024, a, 0, 16 * PG, false);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_SUCCESS);
	{
		uint8_t *want = malloc(16 * PG);

		CU_ASSERT_FATAL(want != NULL);
		fill(want, 16 * PG, 41);
		memset(want + 8 * 512, 0, PG);
		memset(want + 64 * 512, 0, PG);
		memset(want + 100 * 512, 0, PG);
		CU_ASSERT(!memcmp(gp(a), want, 16 * PG));
		free(want);
	}
	CU_ASSERT_EQUAL(storvsp_disks(X.c, &di, 1), 1);
	CU_ASSERT(di.st.unmaps >= 2);
	fx_fini();
}

/*
 * Regression (fixed; storvsp.c send_enumerate): when ENUMERATE_BUS does not fit the
 * guest's ring it is only marked pending and retried from packet_in, but
 * no ring-space request (pending_send_sz) is made, so the guest draining
 * its ring does not signal: the hot-added disk is announced only when the
 * guest next sends a packet (an idle guest: never).
 */
static void enumerate_full_ring(void)
{
	struct hvis_chmsg_offer o;
	struct gch *g = &X.ch[0];
	uint8_t c[16];
	/* 88 bytes a completion in a 4096-byte data area */
	const unsigned int fit = (PG - 1) / 88;
	bool seen = false;

	fx_init(1);
	mk_raw(X.raw2, 1u << 20);
	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	g_open(g, &o, LRING, 2);
	CU_ASSERT_EQUAL(linux_init(g, NULL), V(6, 2));
	for (unsigned int i = 0; i < fit; i++)
		CU_ASSERT_EQUAL(send_srb(g, 100 + i, 0, c,
					 cdb_simple(c, HVIS_SCSI_OP_TEST_UNIT_READY, 0),
					 HVIS_VSTOR_DATA_NONE, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(add_disk(1, X.raw2, IMG_FORMAT_RAW, false), 0);
	/* the guest reads its ring, and then sends nothing */
	pump(g, fit + 1, 500);
	for (unsigned int i = 0; i < g->nq; i++)
		if (g->q[i].d.pd_trans_id == 0 &&
		    g->q[i].p.vp_operation == HVIS_VSTOR_OP_ENUMERATE_BUS)
			seen = true;
	CU_ASSERT_EQUAL(g->nq, fit + 1);
	CU_ASSERT(seen);
	fx_fini();
}


/*
 * Regression (fixed; storvsp.c resets_check): a reset is answered once no command is in
 * flight, but commands whose completion waits on the transmit list (ring
 * full) count as in flight and tx_flush() frees them without calling
 * resets_check(): the RESET_BUS answer comes only with the guest's next
 * command. Linux's storvsc_host_reset_handler sends nothing while it
 * waits, and times out. (resets_check's own send also ignores
 * -HVIS_RING_FULL: that answer can be lost outright.)
 */
static void reset_full_ring(void)
{
	struct hvis_chmsg_offer o;
	struct gch *g = &X.ch[0];
	uint8_t c[16];
	struct hvis_vstor_packet p;
	struct rx r;

	fx_init(1);
	CU_ASSERT_FATAL(find_offer(0, 0, &o));
	g_open(g, &o, LRING, 2);
	CU_ASSERT_EQUAL(linux_init(g, NULL), V(6, 2));
	for (unsigned int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(send_srb(g, 100 + i, 0, c,
					 cdb_simple(c, HVIS_SCSI_OP_TEST_UNIT_READY, 0),
					 HVIS_VSTOR_DATA_NONE, 0, 0, 0), 0);
	memset(&p, 0, sizeof(p));
	p.vp_operation = HVIS_VSTOR_OP_RESET_BUS;
	p.vp_flags = HVIS_VSTOR_FLAG_REQUEST_COMPLETION;
	CU_ASSERT_EQUAL(g_send(g, HVIS_PKT_DATA_INBAND, RQST_RESET, NULL, 0, &p,
			       sizeof(p)), 0);
	/* Linux waits for the reset (5 s) and sends nothing meanwhile */
	CU_ASSERT(take(g, RQST_RESET, &r));
	CU_ASSERT_EQUAL(g->nq, 100);
	fx_fini();
}

/* The main flows again on the thread-pool engine. */
static void test_threads(void)
{
	engine = AIO_ENGINE_THREADS;
	test_rw();
	test_errors();
	test_vhd_dynamic();
	test_in_flight();
	test_backpressure();
	test_data_limits();
	engine = AIO_ENGINE_AUTO;
}

/*
 * Regression (fixed; storvsp.c drain/complete): drain() stops taking packets when all
 * STORVSP_QUEUE_DEPTH slots are busy and nothing takes them up again when
 * slots free: only the guest's next signal does, and a Linux guest
 * signals only when it writes into an empty ring, which the host's
 * leftovers keep non-empty. Linux 6.1 queues up to ~334 commands on one
 * channel (can_queue with one VP), so I/O stalls until its timeout.
 */
static void test_queue_depth(void)
{
	struct gch *g;
	uint8_t c[16];
	const unsigned int n = STORVSP_QUEUE_DEPTH + 44;
	uint32_t a;

	fx_init(1);
	g = open_ready();
	a = palloc(1);
	for (unsigned int i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(send_srb(g, 1 + i, 0, c,
					       cdb_rw10(c, false, i, 1, false),
					       HVIS_VSTOR_DATA_READ, a, 0, 512), 0);
	CU_ASSERT(pump(g, n, 3000));
	CU_ASSERT_EQUAL(g->nq, n);
	if (g->nq != n)
		fprintf(stderr, "\n    %u of %u answered\n", g->nq, n);
	fx_fini();
}

/*
 * Regression (fixed; storvsp.c do_srb, `d = c->luns[srb->vs_lun]`): vs_lun is a byte,
 * 0..255, and luns[] has HVIS_VSTOR_MAX_LUNS = 255 entries: LUN 255 reads
 * one past the array (UBSan: index out of bounds), i.e. c->dying, so a
 * command to LUN 255 runs on a disk being removed.
 */
static void test_lun_255(void)
{
	struct gch *g;
	struct hvis_vstor_srb s;
	uint8_t c[16];
	uint32_t a;

	fx_init(1);
	g = open_ready();
	a = palloc(256);
	/* keep LUN 0 on the dying list: a command in flight, then remove */
	CU_ASSERT_EQUAL(send_srb(g, 999, 0, c, cdb_rw10(c, false, 0, 2048, false),
				 HVIS_VSTOR_DATA_READ, a, 0, 1u << 20), 0);
	CU_ASSERT_EQUAL(storvsp_remove_disk(X.c, 0), 0);
	s = tur(g, 255);
	CU_ASSERT_EQUAL(s.vs_srb_status, HVIS_SRB_STATUS_INVALID_LUN);
	fx_fini();
}

/*
 * Regression (fixed; storvsp.c do_control CREATE_SUB_CHANNELS): `n >
 * sub_channels_allowed(c) + 1 - c->nchans` underflows once the guest
 * re-initialises at a version without sub-channels (allowed = 0) while
 * it has some: any count passes, and up to MAX_CHANNELS are offered.
 */
static void test_sub_count_underflow(void)
{
	struct gch *g;
	struct hvis_chmsg_offer so;
	unsigned int from;

	fx_init(2);
	g = open_ready();
	CU_ASSERT_EQUAL(create_sub(g, 1), 0);
	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_BEGIN_INITIALIZATION), 0);
	CU_ASSERT_EQUAL(query_version(g, V(4, 2)), 0);
	CU_ASSERT_EQUAL(ctl_op(g, HVIS_VSTOR_OP_END_INITIALIZATION), 0);
	from = F.nmsgs;
	CU_ASSERT_NOT_EQUAL(create_sub(g, 8), 0);
	CU_ASSERT(!find_offer(2, from, &so));
	fx_fini();
}

static int fail_alloc(enum vhd_test_op op, const void *buf, size_t len,
		      uint64_t off)
{
	(void)op;
	(void)buf;
	(void)len;
	(void)off;
	return 1;
}

/*
 * Regression (fixed; image.c alloc_done): finish(req, res) runs the request's done()
 * and then alloc_start(im) touches the image. storvsp closes a removed
 * disk from inside its last command's completion (disk_put), so a failed
 * allocation on a disk being removed frees im before alloc_start reads
 * it: heap use-after-free (ASan aborts).
 */
static void test_alloc_fail_removed(void)
{
	struct gch *g;
	char err[256];
	uint8_t c[16];
	uint32_t a;
	struct rx r;

	fx_init(1);
	CU_ASSERT_EQUAL_FATAL(vhd_create(X.vhd, 16u << 20, VHD_TYPE_DYNAMIC, 0,
					 err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(add_disk(1, X.vhd, IMG_FORMAT_AUTO, false), 0);
	g = open_ready();
	a = palloc(1);
	vhd_test_hook = fail_alloc;
	CU_ASSERT_EQUAL(send_srb(g, 5, 1, c, cdb_rw10(c, true, 0, 8, false),
				 HVIS_VSTOR_DATA_WRITE, a, 0, PG), 0);
	CU_ASSERT_EQUAL(storvsp_remove_disk(X.c, 1), 0);
	CU_ASSERT(take(g, 5, &r));
	CU_ASSERT_EQUAL(r.p.vp_srb.vs_scsi_status, HVIS_SCSI_STATUS_CHECK_CONDITION);
	vhd_test_hook = NULL;
	fx_fini();
}

static const struct unit_test tests[] = {
	{ "Linux 6.1 initialisation, properties, order", test_init },
	{ "protocol capped at 5.1", test_version_cap },
	{ "INQUIRY, REPORT LUNS, absent LUNs", test_inquiry_luns },
	{ "WRITE/READ round trips: unaligned, 1 MiB, FUA, SYNC", test_rw },
	{ "READ CAPACITY(16) and (10)", test_capacity },
	{ "bad commands, page lists, packets: refused, channel lives",
	  test_errors },
	{ "EXECUTE_SRB before END_INITIALIZATION", test_srb_before_init },
	{ "read-only disk: DATA PROTECT", test_read_only },
	{ "sub-channels: create, I/O, rescinded with the primary",
	  test_subchannels },
	{ "hot add and remove: ENUMERATE_BUS, INVALID_LUN", test_hotplug },
	{ "full ring to the guest: every completion once, in order",
	  test_backpressure },
	{ "dynamic VHD: allocation on write, zeros unallocated",
	  test_vhd_dynamic },
	{ "close and detach with I/O in flight", test_in_flight },
	{ "RESET_BUS answers after the I/O before it", test_reset },
	{ "transfer lengths and directions bound what moves",
	  test_data_limits },
	{ "UNMAP and WRITE SAME(16) UNMAP read back zeros", test_unmap },
	{ "thread-pool engine: the main flows", test_threads },
	{ "regression: more commands than slots stall", test_queue_depth },
	{ "regression: LUN 255 indexes past luns[]", test_lun_255 },
	{ "regression: CREATE_SUB_CHANNELS count underflow", test_sub_count_underflow },
	{ "regression: failed VHD allocation on a removed disk", test_alloc_fail_removed },
	{ "regression: hot add while the guest's ring is full", enumerate_full_ring },
	{ "regression: RESET_BUS while answers wait for ring space", reset_full_ring },
	{ NULL, NULL },
};

int unit_register_storvsp(void)
{
	return unit_add_suite("storvsp", tests);
}
