// SPDX-License-Identifier: GPL-2.0-only
/*
 * Integration-component tests: the five ICs registered on a real VMBus
 * server over a fake host (guest memory is a memfd mapped page by page),
 * against a simulated Linux 6.1 guest. The guest side opens each IC
 * channel with Linux's ring sizes (3 data pages each way), reads the
 * host's packets with lib/ring.c and answers them the way hv_utils does
 * (drivers/hv/hv_util.c, hv_kvp.c, hv_snapshot.c, channel_mgmt.c's
 * negotiation, and tools/hv's daemons for KVP and VSS): the buffer is
 * echoed back, same length, same trans_id, flags TRANSACTION | RESPONSE,
 * with the fields Linux changes changed. The guest model is written from
 * those descriptions; its UTF-16 goes through iconv, not the code under
 * test.
 */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#include "host-vsp/ic/ic_int.h"
#include "tests/common/vmbus_fake.h"
#include "unit.h"

#define MEM_PAGES	512u
#define PG		4096u
#define SEC		1000000000ull
#define V(a, b)		HVIS_VMBUS_VERSION(a, b)
#define LV(a, b)	((a) << 16 | (b))	/* Linux's version ints */
#define CONNID(relid)	(VMBUS_SERVER_CONNID_BASE + (relid))
#define RING_PAGES	8u			/* 4 + 4: Linux util rings */
#define MAXEV		64

/* ------------------------------------------------------------ fake host */

static struct vf_host VH;	/* tests/common/vmbus_fake.h */

static struct {
	uint64_t unix_ns, ref_time;
	unsigned int nev;
	enum ic_event ev[MAXEV];
	enum ic_kind ev_kind[MAXEV];
} F;

static void h_time(void *o, uint64_t *unix_ns, uint64_t *ref)
{
	(void)o;
	*unix_ns = F.unix_ns;
	*ref = F.ref_time;
}

static void h_notify(void *o, struct ic_dev *ic, enum ic_event ev)
{
	(void)o;
	if (F.nev < MAXEV) {
		F.ev[F.nev] = ev;
		F.ev_kind[F.nev] = ic_dev_kind(ic);
		F.nev++;
	}
}

static bool saw_event(enum ic_kind k, enum ic_event ev)
{
	for (unsigned int i = 0; i < F.nev; i++)
		if (F.ev_kind[i] == k && F.ev[i] == ev)
			return true;
	return false;
}

static const struct ic_host_ops host_ops = {
	.opaque = &VH,
	.time_now = h_time,
	.log = vf_log,
	.notify = h_notify,
};

/* ------------------------------------------------------------ Linux model */

/*
 * One guest: which versions each hv_utils service accepts (Linux's
 * tables, major << 16 | minor), the daemons, and what it saw.
 */
struct kv {
	char key[1024];
	char value[4096];
};

static struct {
	const int *fw[IC_KIND_COUNT];
	int nfw[IC_KIND_COUNT];
	const int *srv[IC_KIND_COUNT];
	int nsrv[IC_KIND_COUNT];
	int chosen[IC_KIND_COUNT];
	bool hibernation;
	/* heartbeat */
	uint64_t hb_last_seq;
	/* shutdown */
	uint32_t sd_flags, sd_reason;
	char sd_msg[64];
	unsigned int sd_count;
	/* timesync */
	unsigned int ts_count;
	uint64_t ts_parent, ts_ref;
	uint8_t ts_flags;
	uint32_t ts_len;
	uint64_t ts_extra;	/* v3: childtime | roundtrip; v4: leap, stratum */
	/* KVP: hv_kvp_daemon */
	bool kvp_daemon;	/* registered: the kernel reads its ring */
	bool kvp_silent;	/* daemon hangs: nothing answered */
	bool kvp_get_fixed;	/* answer GET with the value (not Linux) */
	struct kv pool[HVIS_KVP_POOL_COUNT][32];
	unsigned int npool[HVIS_KVP_POOL_COUNT];
	unsigned int kvp_ops[6];
	/* VSS: hv_vss_daemon */
	bool vss_daemon;
	uint32_t vss_freeze_status;
	bool vss_freeze_silent;	/* FREEZE left unanswered */
	unsigned int vss_ops[8];
	uint8_t vss_last_op;
	bool frozen;
	/* a packet left unanswered, to answer late */
	uint8_t held[8192];
	uint32_t held_len;
	uint64_t held_id;
} G;

static const int ver_fw[] = { LV(3, 0), LV(1, 0) };
static const int ver_fw_vss[] = { LV(3, 0) };
static const int ver_sd[] = { LV(3, 2), LV(3, 1), LV(3, 0), LV(1, 0) };
static const int ver_ts[] = { LV(4, 0), LV(3, 0), LV(1, 0) };
static const int ver_hb[] = { LV(3, 0), LV(1, 0) };
static const int ver_kvp[] = { LV(4, 0), LV(3, 0), LV(1, 0) };
static const int ver_vss[] = { LV(5, 0) };

static void linux61(void)
{
	memset(&G, 0, sizeof(G));
	for (int k = 0; k < IC_KIND_COUNT; k++) {
		G.fw[k] = ver_fw;
		G.nfw[k] = 2;
	}
	G.fw[IC_VSS] = ver_fw_vss;
	G.nfw[IC_VSS] = 1;
	G.srv[IC_HEARTBEAT] = ver_hb;
	G.nsrv[IC_HEARTBEAT] = 2;
	G.srv[IC_SHUTDOWN] = ver_sd;
	G.nsrv[IC_SHUTDOWN] = 4;
	G.srv[IC_TIMESYNC] = ver_ts;
	G.nsrv[IC_TIMESYNC] = 3;
	G.srv[IC_KVP] = ver_kvp;
	G.nsrv[IC_KVP] = 3;
	G.srv[IC_VSS] = ver_vss;
	G.nsrv[IC_VSS] = 1;
	G.hibernation = false;
	G.kvp_daemon = true;
	G.vss_daemon = true;
}

/* UTF-8 -> UTF-16LE (no terminator written), units or -1. */
static int to16(const char *s, uint8_t *out, size_t out_size)
{
	iconv_t cd = iconv_open("UTF-16LE", "UTF-8");
	char *in = (char *)s, *o = (char *)out;
	size_t il = strlen(s), ol = out_size;
	size_t rc;

	CU_ASSERT_FATAL(cd != (iconv_t)-1);
	rc = iconv(cd, &in, &il, &o, &ol);
	iconv_close(cd);
	return rc == (size_t)-1 ? -1 : (int)((out_size - ol) / 2);
}

/* UTF-16LE up to @bytes or the first NUL -> UTF-8. */
static int from16(const uint8_t *in, size_t bytes, char *out, size_t out_size)
{
	iconv_t cd = iconv_open("UTF-8", "UTF-16LE");
	size_t units = 0;
	char *i = (char *)in, *o = out;
	size_t il, ol = out_size - 1;
	size_t rc;

	CU_ASSERT_FATAL(cd != (iconv_t)-1);
	while (units * 2 + 1 < bytes && (in[units * 2] || in[units * 2 + 1]))
		units++;
	il = units * 2;
	rc = iconv(cd, &i, &il, &o, &ol);
	iconv_close(cd);
	*o = 0;
	return rc == (size_t)-1 ? -1 : (int)(o - out);
}

/* vmbus_prep_negotiate_resp as Linux 6.1 behaves, on the echoed buffer. */
static void lin_negotiate(uint8_t *p, uint32_t len, enum ic_kind k)
{
	struct hvis_ic_hdr ih;
	struct hvis_ic_negotiate n;
	struct hvis_ic_version v;
	unsigned int fwc, mc;
	int fmaj, fmin = 0, mmaj, mmin = 0;
	bool found = false;

	if (len < HVIS_IC_HDRS_SIZE + 4)
		return;
	memcpy(&ih, p + 8, sizeof(ih));
	ih.ih_msgsize = 0x10;
	memcpy(p + 8, &ih, sizeof(ih));
	memcpy(&n, p + 28, sizeof(n));
	fwc = n.in_framework_count;
	mc = n.in_message_count;
	fmaj = (int)fwc;
	mmaj = (int)mc;
	if (fwc > 100 || mc > 100 || 36 + (fwc + mc) * 4 > len)
		goto out;
	for (int i = 0; i < G.nfw[k] && !found; i++)
		for (unsigned int j = 0; j < fwc; j++) {
			memcpy(&v, p + 36 + 4 * j, 4);
			if (v.iv_major == G.fw[k][i] >> 16 &&
			    v.iv_minor == (G.fw[k][i] & 0xFFFF)) {
				fmaj = v.iv_major;
				fmin = v.iv_minor;
				found = true;
				break;
			}
		}
	if (!found)
		goto out;
	found = false;
	for (int i = 0; i < G.nsrv[k] && !found; i++)
		for (unsigned int j = fwc; j < fwc + mc; j++) {
			memcpy(&v, p + 36 + 4 * j, 4);
			if (v.iv_major == G.srv[k][i] >> 16 &&
			    v.iv_minor == (G.srv[k][i] & 0xFFFF)) {
				mmaj = v.iv_major;
				mmin = v.iv_minor;
				found = true;
				break;
			}
		}
out:
	n.in_framework_count = found ? 1 : 0;
	n.in_message_count = found ? 1 : 0;
	memcpy(p + 28, &n, sizeof(n));
	v.iv_major = (uint16_t)fmaj;
	v.iv_minor = (uint16_t)fmin;
	memcpy(p + 36, &v, 4);
	v.iv_major = (uint16_t)mmaj;
	v.iv_minor = (uint16_t)mmin;
	memcpy(p + 40, &v, 4);
	G.chosen[k] = mmaj << 16 | mmin;
}

static void set_status(uint8_t *p, uint32_t status)
{
	memcpy(p + 8 + offsetof(struct hvis_ic_hdr, ih_status), &status, 4);
}

static uint16_t msgtype_of(const uint8_t *p)
{
	uint16_t t;

	memcpy(&t, p + 8 + offsetof(struct hvis_ic_hdr, ih_msgtype), 2);
	return t;
}

static void lin_heartbeat(uint8_t *p, uint32_t len)
{
	uint64_t seq;

	if (len < HVIS_IC_HDRS_SIZE + 8)
		return;
	memcpy(&seq, p + 28, 8);
	G.hb_last_seq = seq;
	seq++;
	memcpy(p + 28, &seq, 8);
}

static void lin_shutdown(uint8_t *p, uint32_t len)
{
	struct hvis_ic_shutdown m;

	if (len < HVIS_IC_HDRS_SIZE + sizeof(m))
		return;
	memcpy(&m, p + 28, sizeof(m));
	G.sd_count++;
	G.sd_flags = m.sd_flags;
	G.sd_reason = m.sd_reason_code;
	from16(m.sd_display_message, sizeof(m.sd_display_message), G.sd_msg,
	       sizeof(G.sd_msg));
	switch (m.sd_flags) {
	case 0: case 1: case 2: case 3:
		set_status(p, HVIS_IC_S_OK);
		break;
	case 4: case 5:
		set_status(p, G.hibernation ? HVIS_IC_S_OK : HVIS_IC_E_FAIL);
		break;
	default:
		set_status(p, HVIS_IC_E_FAIL);
		break;
	}
}

static void lin_timesync(uint8_t *p, uint32_t len)
{
	G.ts_len = len;
	if (G.chosen[IC_TIMESYNC] > LV(3, 0)) {
		struct hvis_ic_timesync4 m;

		if (len < HVIS_IC_HDRS_SIZE + sizeof(m))
			return;
		memcpy(&m, p + 28, sizeof(m));
		G.ts_parent = m.t4_parent_time;
		G.ts_ref = m.t4_vm_reference_time;
		G.ts_flags = m.t4_flags;
		G.ts_extra = (uint64_t)m.t4_leap_flags | m.t4_stratum |
			     m.t4_reserved[0] | m.t4_reserved[1] |
			     m.t4_reserved[2];
	} else {
		struct hvis_ic_timesync m;

		if (len < HVIS_IC_HDRS_SIZE + sizeof(m))
			return;
		memcpy(&m, p + 28, sizeof(m));
		G.ts_parent = m.ts_parent_time;
		G.ts_ref = 0;
		G.ts_flags = m.ts_flags;
		G.ts_extra = m.ts_child_time | m.ts_round_trip_time;
	}
	G.ts_count++;
}

static int pool_find(unsigned int pool, const char *key)
{
	for (unsigned int i = 0; i < G.npool[pool]; i++)
		if (!strcmp(G.pool[pool][i].key, key))
			return (int)i;
	return -1;
}

/* hv_kvp.c + hv_kvp_daemon.c, REGISTER1 daemon. */
static void lin_kvp(uint8_t *p, uint32_t len)
{
	struct hvis_kvp_msg m;
	uint32_t status = HVIS_IC_S_OK;
	char key[1024], value[4096];
	static const char *const auto_keys[10] = {
		"FullyQualifiedDomainName", "IntegrationServicesVersion",
		"NetworkAddressIPv4", "NetworkAddressIPv6", "OSBuildNumber",
		"OSName", "OSMajorVersion", "OSMinorVersion", "OSVersion",
		"ProcessorArchitecture",
	};
	static const char *const auto_values[10] = {
		"guest.example", "3.1", "192.0.2.7", "2001:db8::7",
		"6.1.0-56-amd64", "Linux", "6", "1", "6.1.0-56-amd64",
		"x86_64",
	};
	int i, n;

	memset(&m, 0, sizeof(m));
	memcpy(&m, p + 28, len - 28 < sizeof(m) ? len - 28 : sizeof(m));
	if (m.km_hdr.kh_pool >= HVIS_KVP_POOL_COUNT) {
		set_status(p, HVIS_IC_E_FAIL);
		return;
	}
	if (m.km_hdr.kh_operation < 6)
		G.kvp_ops[m.km_hdr.kh_operation]++;
	switch (m.km_hdr.kh_operation) {
	case HVIS_KVP_OP_SET: {
		struct hvis_kvp_value *v = &m.km_body.km_value;

		from16(v->kv_key, v->kv_key_size, key, sizeof(key));
		if (v->kv_value_type == HVIS_KVP_REG_SZ) {
			from16(v->kv_value, v->kv_value_size, value,
			       sizeof(value));
		} else if (v->kv_value_type == HVIS_KVP_REG_U32) {
			uint32_t x;

			memcpy(&x, v->kv_value, 4);
			snprintf(value, sizeof(value), "%u", x);
		} else {
			unsigned long long x;

			memcpy(&x, v->kv_value, 8);
			snprintf(value, sizeof(value), "%llu", x);
		}
		i = pool_find(m.km_hdr.kh_pool, key);
		if (i < 0 && G.npool[m.km_hdr.kh_pool] < 32)
			i = (int)G.npool[m.km_hdr.kh_pool]++;
		if (i < 0) {
			status = HVIS_KVP_S_CONT;
			break;
		}
		memcpy(G.pool[m.km_hdr.kh_pool][i].key, key, sizeof(key));
		memcpy(G.pool[m.km_hdr.kh_pool][i].value, value, sizeof(value));
		break;
	}
	case HVIS_KVP_OP_GET: {
		struct hvis_kvp_value *v = &m.km_body.km_value;

		from16(v->kv_key, v->kv_key_size, key, sizeof(key));
		i = pool_find(m.km_hdr.kh_pool, key);
		if (i < 0) {
			status = HVIS_KVP_S_CONT;
			break;
		}
		/* Linux 6.1 answers an empty value (see kvp.c) */
		n = G.kvp_get_fixed ?
		    to16(G.pool[m.km_hdr.kh_pool][i].value, v->kv_value,
			 sizeof(v->kv_value) - 2) : 0;
		v->kv_value_size = (uint32_t)(2 * (n + 1));
		v->kv_value_type = HVIS_KVP_REG_SZ;
		memcpy(p + 28, &m, len - 28 < sizeof(m) ? len - 28 : sizeof(m));
		break;
	}
	case HVIS_KVP_OP_DELETE:
		from16(m.km_body.km_delete.kd_key,
		       m.km_body.km_delete.kd_key_size, key, sizeof(key));
		i = pool_find(m.km_hdr.kh_pool, key);
		if (i < 0) {
			status = HVIS_KVP_S_CONT;
			break;
		}
		G.pool[m.km_hdr.kh_pool][i] =
			G.pool[m.km_hdr.kh_pool][--G.npool[m.km_hdr.kh_pool]];
		break;
	case HVIS_KVP_OP_ENUMERATE: {
		struct hvis_kvp_value *v = &m.km_body.km_enumerate.ke_data;
		uint32_t idx = m.km_body.km_enumerate.ke_index;
		const char *k8, *v8;
		int kn, vn;

		if (m.km_hdr.kh_pool == HVIS_KVP_POOL_AUTO) {
			if (idx >= 10) {
				status = HVIS_KVP_S_CONT;
				break;
			}
			k8 = auto_keys[idx];
			v8 = auto_values[idx];
		} else {
			if (idx >= G.npool[m.km_hdr.kh_pool]) {
				status = HVIS_KVP_S_CONT;
				break;
			}
			k8 = G.pool[m.km_hdr.kh_pool][idx].key;
			v8 = G.pool[m.km_hdr.kh_pool][idx].value;
		}
		kn = to16(k8, v->kv_key, 512 - 4);
		vn = to16(v8, v->kv_value, 2048 - 4);
		v->kv_key_size = (uint32_t)(2 * (kn + 1));
		v->kv_value_size = (uint32_t)(2 * (vn + 1));
		v->kv_value_type = HVIS_KVP_REG_SZ;
		memcpy(p + 28, &m, len - 28 < sizeof(m) ? len - 28 : sizeof(m));
		break;
	}
	default:
		status = HVIS_IC_E_FAIL;
		break;
	}
	set_status(p, status);
}

/* hv_snapshot.c + hv_vss_daemon.c. Returns false: left unanswered. */
static bool lin_vss(uint8_t *p, uint32_t len)
{
	struct hvis_vss_msg m;

	if (len < HVIS_IC_HDRS_SIZE + sizeof(m))
		return false;		/* Linux drops it unanswered */
	memcpy(&m, p + 28, sizeof(m));
	G.vss_last_op = m.vm_hdr.vh_operation;
	if (m.vm_hdr.vh_operation < 8)
		G.vss_ops[m.vm_hdr.vh_operation]++;
	switch (m.vm_hdr.vh_operation) {
	case HVIS_VSS_OP_FREEZE:
	case HVIS_VSS_OP_THAW:
	case HVIS_VSS_OP_HOT_BACKUP:
		if (!G.vss_daemon) {
			set_status(p, HVIS_IC_E_FAIL);
			break;
		}
		if (m.vm_hdr.vh_operation == HVIS_VSS_OP_HOT_BACKUP) {
			m.vm_flags = HVIS_VSS_HBU_NO_AUTO_RECOVERY;
			set_status(p, HVIS_IC_S_OK);
		} else if (m.vm_hdr.vh_operation == HVIS_VSS_OP_FREEZE) {
			if (G.vss_freeze_silent)
				return false;
			set_status(p, G.vss_freeze_status);
			G.frozen = !G.vss_freeze_status;
		} else {
			/* FITHAW on a file system not frozen fails */
			set_status(p, G.frozen ? HVIS_IC_S_OK : HVIS_IC_E_FAIL);
			G.frozen = false;
		}
		break;
	case HVIS_VSS_OP_GET_DM_INFO:
		m.vm_flags = 0;
		set_status(p, HVIS_IC_S_OK);
		break;
	default:
		set_status(p, HVIS_IC_S_OK);
		break;
	}
	memcpy(p + 28, &m, sizeof(m));
	return true;
}

/* ------------------------------------------------------------ fixture */

struct fx {
	struct vmbus_server *s;
	struct ic_host *h;
	struct ic_dev *ic[IC_KIND_COUNT];
	struct vf_chan ch[IC_KIND_COUNT];	/* the guest's ends */
	uint64_t now;
};

static uint16_t gsend(struct fx *x, const void *m, size_t len)
{
	return vf_send_msg(x->s, 1, m, len);
}

static void fx_init_opt(struct fx *x, uint32_t vmbus_ver,
			const struct ic_options *opt)
{
	struct vmbus_server_options so = { .nvps = 2 };
	struct vmbus_server_ops ops;

	memset(&F, 0, sizeof(F));
	vf_host_init(&VH, (size_t)MEM_PAGES * PG, vf_cunit_check);
	ops = vf_server_ops(&VH);
	F.unix_ns = 1700000000ull * SEC + 123456789;
	F.ref_time = 5000000;

	memset(x, 0, sizeof(*x));
	x->s = vmbus_server_create(&so, &ops);
	CU_ASSERT_FATAL(x->s != NULL);
	x->h = ic_register_all(x->s, &host_ops, opt);
	CU_ASSERT_FATAL(x->h != NULL);
	for (int k = 0; k < IC_KIND_COUNT; k++) {
		x->ic[k] = ic_host_dev(x->h, (enum ic_kind)k);
		CU_ASSERT_FATAL(x->ic[k] != NULL);
		CU_ASSERT_EQUAL(ic_dev_state(x->ic[k]), IC_STATE_CLOSED);
	}
	x->now = 1000 * SEC;
	ic_host_tick(x->h, x->now);

	/* 5.0+ on connection 4, older with the interrupt page at 0x3000 */
	vf_connect(&VH, x->s, vmbus_ver);
	CU_ASSERT_EQUAL(vf_count_msgs(&VH, HVIS_CHMSG_OFFERCHANNEL),
			IC_KIND_COUNT);
}

static void fx_init(struct fx *x)
{
	fx_init_opt(x, V(5, 3), NULL);
}

static void fx_fini(struct fx *x)
{
	ic_host_destroy(x->h);
	vmbus_server_destroy(x->s);
	vf_host_fini(&VH);		/* every view unmapped */
}

static void tick(struct fx *x, uint64_t delta)
{
	x->now += delta;
	ic_host_tick(x->h, x->now);
}

/* GPADL (8 pages, in the header) + OPENCHANNEL, as hv_utils opens. */
static void fx_open(struct fx *x, enum ic_kind k)
{
	uint32_t relid = (uint32_t)k + 1, handle = 0x100 + (uint32_t)k;
	uint32_t pfn0 = 16 + 16 * (uint32_t)k;

	vf_open_channel_at(&VH, x->s, relid, RING_PAGES / 2, RING_PAGES / 2,
			   pfn0, handle, &x->ch[k]);
	CU_ASSERT_EQUAL(vmbus_device_state(ic_dev_vmbus(x->ic[k])),
			VMBUS_CHAN_OPEN);
}

static void fx_close(struct fx *x, enum ic_kind k)
{
	CU_ASSERT_EQUAL(x->ch[k].relid, (uint32_t)k + 1);
	vf_close_channel(&VH, x->s, &x->ch[k]);
}

/* Next host packet on @k: payload copied to @p; 0 if none. */
static uint32_t g_recv(struct fx *x, enum ic_kind k, uint8_t *p, uint32_t max,
		       struct hvis_pkt_desc *desc)
{
	int rc = vf_guest_read(&x->ch[k], p, max, desc);

	if (rc == -HVIS_RING_EMPTY)
		return 0;
	CU_ASSERT_FATAL(rc >= 0);
	/* the host asked for space (pending_send_sz): told */
	CU_ASSERT(vf_guest_commit(x->s, &x->ch[k]) >= 0);
	CU_ASSERT_FATAL((uint32_t)rc <= max);
	return (uint32_t)rc;
}

/* Guest -> host packet, then signal the channel. */
static void g_send_type(struct fx *x, enum ic_kind k, uint16_t type,
			const void *p, uint32_t len, uint64_t trans_id)
{
	CU_ASSERT_EQUAL_FATAL(vf_guest_send(&VH, x->s, &x->ch[k], type, 0,
					    trans_id, NULL, 0, p, len,
					    VF_SIGNAL_ALWAYS), 0);
}

static void g_send(struct fx *x, enum ic_kind k, const void *p, uint32_t len,
		   uint64_t trans_id)
{
	g_send_type(x, k, HVIS_PKT_DATA_INBAND, p, len, trans_id);
}

/*
 * Linux's channel callback for @k: read every packet, answer each like
 * hv_utils (echo, TRANSACTION | RESPONSE). KVP without its daemon reads
 * nothing. Returns the packets answered.
 */
static unsigned int linux_run(struct fx *x, enum ic_kind k)
{
	static uint8_t p[16384];
	struct hvis_pkt_desc d;
	unsigned int n = 0;
	uint32_t len;

	if (k == IC_KVP && !G.kvp_daemon)
		return 0;
	while ((len = g_recv(x, k, p, sizeof(p), &d)) != 0) {
		struct hvis_ic_hdr ih;
		bool answer = true;

		if (len < HVIS_IC_HDRS_SIZE)
			continue;
		if (msgtype_of(p) == HVIS_ICMSG_NEGOTIATE) {
			lin_negotiate(p, len, k);
		} else if (k == IC_HEARTBEAT &&
			   msgtype_of(p) == HVIS_ICMSG_HEARTBEAT) {
			lin_heartbeat(p, len);
		} else if (k == IC_SHUTDOWN &&
			   msgtype_of(p) == HVIS_ICMSG_SHUTDOWN) {
			lin_shutdown(p, len);
		} else if (k == IC_TIMESYNC &&
			   msgtype_of(p) == HVIS_ICMSG_TIMESYNC) {
			lin_timesync(p, len);
		} else if (k == IC_KVP &&
			   msgtype_of(p) == HVIS_ICMSG_KVPEXCHANGE) {
			if (G.kvp_silent)
				answer = false;
			else
				lin_kvp(p, len);
		} else if (k == IC_VSS && msgtype_of(p) == HVIS_ICMSG_VSS) {
			answer = lin_vss(p, len);
		} else {
			set_status(p, HVIS_IC_E_FAIL);
		}
		if (!answer) {
			memcpy(G.held, p, len < sizeof(G.held) ? len :
			       sizeof(G.held));
			G.held_len = len;
			G.held_id = d.pd_trans_id;
			continue;
		}
		memcpy(&ih, p + 8, sizeof(ih));
		ih.ih_flags = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
		memcpy(p + 8, &ih, sizeof(ih));
		/* vmbus_sendpacket(..., recvlen, requestid, INBAND, 0) */
		g_send(x, k, p, len, d.pd_trans_id);
		n++;
	}
	return n;
}

static void open_ready(struct fx *x, enum ic_kind k)
{
	fx_open(x, k);
	CU_ASSERT_EQUAL(ic_dev_state(x->ic[k]), IC_STATE_NEGOTIATING);
	CU_ASSERT(linux_run(x, k) >= 1);
	CU_ASSERT_EQUAL(ic_dev_state(x->ic[k]), IC_STATE_READY);
}

/* ------------------------------------------------------------ tests */

/* The @i-th OFFERCHANNEL of the connection. */
static const struct vf_msg *offer_msg(unsigned int i)
{
	return vf_nth_msg(&VH, HVIS_CHMSG_OFFERCHANNEL, i);
}

static void test_offers(void)
{
	struct fx x;
	static const struct hvis_guid cls[IC_KIND_COUNT] = {
		HVIS_GUID_HEARTBEAT, HVIS_GUID_SHUTDOWN, HVIS_GUID_TIMESYNC,
		HVIS_GUID_KVP, HVIS_GUID_VSS,
	};

	fx_init(&x);
	for (unsigned int i = 0; i < IC_KIND_COUNT; i++) {
		const struct vf_msg *m = offer_msg(i);
		struct hvis_chmsg_offer of;
		uint32_t mode;
		struct ic_dev_info info;

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		memcpy(&of, m->b, sizeof(of));
		CU_ASSERT(memcmp(&of.of_if_type, &cls[i], 16) == 0);
		CU_ASSERT_EQUAL(of.of_child_relid, i + 1);
		CU_ASSERT_EQUAL(of.of_chn_flags, HVIS_OFFER_FLAG_NAMED_PIPE_MODE);
		memcpy(&mode, of.of_user_defined, 4);
		CU_ASSERT_EQUAL(mode, HVIS_PIPE_MODE_MESSAGE);
		/* fresh random instance: version 4, RFC 4122 variant */
		CU_ASSERT_EQUAL(of.of_if_instance.g_bytes[7] >> 4, 4);
		CU_ASSERT_EQUAL(of.of_if_instance.g_bytes[8] >> 6, 2);
		for (unsigned int j = 0; j < i; j++)
			CU_ASSERT(memcmp(offer_msg(j)->b + 24, m->b + 24, 16));
		ic_dev_info(x.ic[i], &info);
		CU_ASSERT_EQUAL(info.kind, i);
		CU_ASSERT_EQUAL(info.relid, i + 1);
		CU_ASSERT_STRING_NOT_EQUAL(ic_kind_name((enum ic_kind)i), "?");
	}
	CU_ASSERT_STRING_EQUAL(ic_state_name(IC_STATE_READY), "ready");
	CU_ASSERT_STRING_EQUAL(ic_result_name(IC_RESULT_TIMEOUT), "timeout");
	fx_fini(&x);
}

/* The NEGOTIATE request on the wire, byte by byte. */
static void test_negotiate_wire(void)
{
	static const uint8_t expect_hb[] = {
		/* pipe header: DATA, 20 + 8 + 4 * 4 */
		0x01, 0, 0, 0, 44, 0, 0, 0,
		/* IC header: versions 0, type 0, size 24, status 0 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 24, 0, 0, 0, 0, 0,
		0x01, 0x03, 0, 0,	/* tid 1, TRANSACTION | REQUEST */
		2, 0, 2, 0, 0, 0, 0, 0,	/* 2 framework, 2 message versions */
		3, 0, 0, 0, 1, 0, 0, 0,	/* 3.0, 1.0: major in the low half */
		3, 0, 0, 0, 1, 0, 0, 0,
	};
	struct fx x;
	uint8_t p[512];
	struct hvis_pkt_desc d;
	uint32_t len;

	fx_init(&x);
	linux61();
	fx_open(&x, IC_HEARTBEAT);
	len = g_recv(&x, IC_HEARTBEAT, p, sizeof(p), &d);
	CU_ASSERT_EQUAL_FATAL(len, 56);		/* 52 padded to 8 */
	CU_ASSERT(memcmp(p, expect_hb, sizeof(expect_hb)) == 0);
	CU_ASSERT_EQUAL(d.pd_type, HVIS_PKT_DATA_INBAND);
	CU_ASSERT_EQUAL(d.pd_flags, HVIS_PKT_FLAG_COMPLETION_REQUESTED);
	CU_ASSERT_EQUAL(d.pd_trans_id, 1);
	/* shutdown offers 3.2 3.1 3.0 1.0; VSS 5.0 alone */
	fx_open(&x, IC_SHUTDOWN);
	len = g_recv(&x, IC_SHUTDOWN, p, sizeof(p), NULL);
	CU_ASSERT_EQUAL(len, 64);		/* 8 + 20 + 8 + 6 * 4, padded */
	CU_ASSERT_EQUAL(p[28], 2);
	CU_ASSERT_EQUAL(p[30], 4);
	CU_ASSERT(memcmp(p + 44, "\x03\x00\x02\x00\x03\x00\x01\x00"
			 "\x03\x00\x00\x00\x01\x00\x00\x00", 16) == 0);
	fx_open(&x, IC_VSS);
	len = g_recv(&x, IC_VSS, p, sizeof(p), NULL);
	CU_ASSERT_EQUAL(p[30], 1);
	CU_ASSERT(memcmp(p + 44, "\x05\x00\x00\x00", 4) == 0);
	fx_fini(&x);
}

/* Every IC against Linux 6.1, then older guests' version fallbacks. */
static void test_negotiate_linux(void)
{
	static const struct {
		enum ic_kind k;
		uint16_t fw, msg;
	} want[] = {
		{ IC_HEARTBEAT, 3, 3 }, { IC_SHUTDOWN, 3, 3 },
		{ IC_TIMESYNC, 3, 4 }, { IC_KVP, 3, 4 }, { IC_VSS, 3, 5 },
	};
	struct fx x;

	fx_init(&x);
	linux61();
	for (unsigned int i = 0; i < 5; i++) {
		struct ic_dev_info info;

		open_ready(&x, want[i].k);
		ic_dev_info(x.ic[want[i].k], &info);
		CU_ASSERT_EQUAL(info.framework.iv_major, want[i].fw);
		CU_ASSERT_EQUAL(info.framework.iv_minor, 0);
		CU_ASSERT_EQUAL(info.message.iv_major, want[i].msg);
		CU_ASSERT(saw_event(want[i].k, IC_EV_READY));
	}
	{
		struct ic_dev_info info;

		ic_dev_info(x.ic[IC_SHUTDOWN], &info);
		CU_ASSERT_EQUAL(info.message.iv_minor, 2);	/* 3.2 */
		CU_ASSERT_EQUAL(G.chosen[IC_SHUTDOWN], LV(3, 2));
	}
	fx_fini(&x);
}

static void test_negotiate_fallback(void)
{
	static const int fw1[] = { LV(1, 0) };
	static const int hb1[] = { LV(1, 0) };
	static const int sd30[] = { LV(3, 0), LV(1, 0) };
	static const int none[] = { LV(2, 0) };
	static const int vss4[] = { LV(4, 0) };
	struct fx x;
	struct ic_dev_info info;

	fx_init(&x);
	linux61();
	/* a WS2008-era guest: framework 1.0, heartbeat 1.0 */
	G.fw[IC_HEARTBEAT] = fw1;
	G.nfw[IC_HEARTBEAT] = 1;
	G.srv[IC_HEARTBEAT] = hb1;
	G.nsrv[IC_HEARTBEAT] = 1;
	open_ready(&x, IC_HEARTBEAT);
	ic_dev_info(x.ic[IC_HEARTBEAT], &info);
	CU_ASSERT_EQUAL(info.framework.iv_major, 1);
	CU_ASSERT_EQUAL(info.message.iv_major, 1);
	/* the heartbeat header carries the agreed versions */
	tick(&x, 2 * SEC);
	{
		uint8_t p[256];
		struct hvis_ic_hdr ih;

		CU_ASSERT(g_recv(&x, IC_HEARTBEAT, p, sizeof(p), NULL) > 0);
		memcpy(&ih, p + 8, sizeof(ih));
		/* the first heartbeat went out with negotiation; this is #2 */
		CU_ASSERT_EQUAL(ih.ih_framework.iv_major, 1);
		CU_ASSERT_EQUAL(ih.ih_msgversion.iv_major, 1);
		CU_ASSERT_EQUAL(ih.ih_msgtype, HVIS_ICMSG_HEARTBEAT);
	}
	/* shutdown 3.0: reboot and hibernate are refused locally */
	G.srv[IC_SHUTDOWN] = sd30;
	G.nsrv[IC_SHUTDOWN] = 2;
	open_ready(&x, IC_SHUTDOWN);
	CU_ASSERT_EQUAL(ic_shutdown_request(x.ic[IC_SHUTDOWN],
					    HVIS_SHUTDOWN_FLAG_REBOOT, NULL),
			-ENOTSUP);
	CU_ASSERT_EQUAL(ic_shutdown_request(x.ic[IC_SHUTDOWN],
					    HVIS_SHUTDOWN_FLAG_HIBERNATE, NULL),
			-ENOTSUP);
	CU_ASSERT_EQUAL(ic_shutdown_request(x.ic[IC_SHUTDOWN], 0, NULL), 0);
	/* nothing in common: counts 0/0 -> failed, requests refused */
	G.srv[IC_KVP] = none;
	G.nsrv[IC_KVP] = 1;
	fx_open(&x, IC_KVP);
	CU_ASSERT_EQUAL(linux_run(&x, IC_KVP), 1);
	CU_ASSERT_EQUAL(ic_dev_state(x.ic[IC_KVP]), IC_STATE_FAILED);
	CU_ASSERT(saw_event(IC_KVP, IC_EV_FAILED));
	CU_ASSERT_EQUAL(ic_kvp_enumerate(x.ic[IC_KVP], 2, NULL, NULL),
			-ENOTCONN);
	/* a guest wanting VSS 4.0 only */
	G.srv[IC_VSS] = vss4;
	fx_open(&x, IC_VSS);
	linux_run(&x, IC_VSS);
	CU_ASSERT_EQUAL(ic_dev_state(x.ic[IC_VSS]), IC_STATE_FAILED);
	/* reopen with a capable guest: negotiates afresh */
	fx_close(&x, IC_VSS);
	CU_ASSERT_EQUAL(ic_dev_state(x.ic[IC_VSS]), IC_STATE_CLOSED);
	G.srv[IC_VSS] = ver_vss;
	open_ready(&x, IC_VSS);
	fx_fini(&x);
}

static void test_heartbeat(void)
{
	struct fx x;
	struct ic_heartbeat_status st;
	struct ic_dev_info info;
	uint8_t p[256];
	struct hvis_pkt_desc d;
	uint32_t len;

	fx_init(&x);
	linux61();
	/* NEGOTIATE, then the first heartbeat leaves with READY */
	fx_open(&x, IC_HEARTBEAT);
	CU_ASSERT_EQUAL(linux_run(&x, IC_HEARTBEAT), 2);
	CU_ASSERT_EQUAL(G.hb_last_seq, 1);
	CU_ASSERT_EQUAL(ic_heartbeat_status(x.ic[IC_HEARTBEAT], &st), 0);
	CU_ASSERT_EQUAL(st.health, IC_HB_HEALTHY);
	CU_ASSERT_EQUAL(st.last_seq_acked, 1);
	CU_ASSERT_EQUAL(st.last_reply_at, x.now);
	CU_ASSERT(saw_event(IC_HEARTBEAT, IC_EV_HEARTBEAT_HEALTHY));
	/* 1.9 s: nothing yet; 2 s: the next one */
	tick(&x, 1900000000ull);
	CU_ASSERT_EQUAL(linux_run(&x, IC_HEARTBEAT), 0);
	tick(&x, 100000000ull);
	CU_ASSERT_EQUAL(linux_run(&x, IC_HEARTBEAT), 1);
	CU_ASSERT_EQUAL(G.hb_last_seq, 2);
	ic_heartbeat_status(x.ic[IC_HEARTBEAT], &st);
	CU_ASSERT_EQUAL(st.acked, 2);
	CU_ASSERT_EQUAL(st.last_seq_acked, 2);
	/* the guest stops answering: #3 unanswered, lost when #4 is due */
	tick(&x, 2 * SEC);
	len = g_recv(&x, IC_HEARTBEAT, p, sizeof(p), &d);
	CU_ASSERT_EQUAL_FATAL(len, 72);	/* 68 padded: Linux echoes 72 */
	tick(&x, 2 * SEC);
	ic_heartbeat_status(x.ic[IC_HEARTBEAT], &st);
	CU_ASSERT_EQUAL(st.health, IC_HB_NO_REPLY);
	CU_ASSERT_EQUAL(st.missed, 1);
	CU_ASSERT_EQUAL(st.missed_in_row, 1);
	CU_ASSERT_EQUAL(st.last_seq_acked, 2);
	CU_ASSERT(saw_event(IC_HEARTBEAT, IC_EV_HEARTBEAT_LOST));
	/* #3's answer arrives late: stale, not an ack */
	lin_heartbeat(p, len);
	p[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	g_send(&x, IC_HEARTBEAT, p, len, d.pd_trans_id);
	ic_dev_info(x.ic[IC_HEARTBEAT], &info);
	CU_ASSERT_EQUAL(info.st.stale, 1);
	CU_ASSERT_EQUAL(info.st.dropped, 0);
	ic_heartbeat_status(x.ic[IC_HEARTBEAT], &st);
	CU_ASSERT_EQUAL(st.health, IC_HB_NO_REPLY);
	/* #4 answered: healthy again */
	CU_ASSERT_EQUAL(linux_run(&x, IC_HEARTBEAT), 1);
	ic_heartbeat_status(x.ic[IC_HEARTBEAT], &st);
	CU_ASSERT_EQUAL(st.health, IC_HB_HEALTHY);
	CU_ASSERT_EQUAL(st.last_seq_acked, 4);
	CU_ASSERT_EQUAL(st.missed_in_row, 0);
	CU_ASSERT_EQUAL(st.sent, 4);
	/* tick's answer: the next heartbeat time */
	CU_ASSERT_EQUAL(ic_host_tick(x.h, x.now), x.now + 2 * SEC);
	/* channel closes: health unknown, no more heartbeats */
	fx_close(&x, IC_HEARTBEAT);
	ic_heartbeat_status(x.ic[IC_HEARTBEAT], &st);
	CU_ASSERT_EQUAL(st.health, IC_HB_UNKNOWN);
	CU_ASSERT_EQUAL(ic_host_tick(x.h, x.now + 10 * SEC), UINT64_MAX);
	fx_fini(&x);
}

struct sd_done {
	int calls;
	enum ic_result r;
	uint32_t status;
};

static void sd_cb(void *ctx, struct ic_dev *ic, enum ic_result r,
		  uint32_t status)
{
	struct sd_done *d = ctx;

	(void)ic;
	d->calls++;
	d->r = r;
	d->status = status;
}

static void test_shutdown(void)
{
	struct fx x;
	struct sd_done done = { 0 };
	struct ic_shutdown_params p = { .message = "host maintenance \xc3\xa9",
					.timeout_seconds = 30, .done = sd_cb,
					.ctx = &done };
	struct ic_shutdown_status st;
	struct ic_dev *sd;

	fx_init(&x);
	linux61();
	sd = x.ic[IC_SHUTDOWN];
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, 0, NULL), -ENOTCONN);
	fx_open(&x, IC_SHUTDOWN);
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, 0, NULL), -EAGAIN);
	linux_run(&x, IC_SHUTDOWN);
	CU_ASSERT_EQUAL(ic_dev_state(sd), IC_STATE_READY);
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, 8, NULL), -EINVAL);
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, 6, NULL), -EINVAL);

	/* power off: S_OK */
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, 0, &p), 0);
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, 0, &p), -EBUSY);
	ic_shutdown_status(sd, &st);
	CU_ASSERT(st.in_progress);
	CU_ASSERT_EQUAL(linux_run(&x, IC_SHUTDOWN), 1);
	CU_ASSERT_EQUAL(G.sd_flags, 0);
	CU_ASSERT_EQUAL(G.sd_reason, HVIS_SHUTDOWN_REASON_PLANNED);
	CU_ASSERT_STRING_EQUAL(G.sd_msg, "host maintenance \xc3\xa9");
	CU_ASSERT_EQUAL(done.calls, 1);
	CU_ASSERT_EQUAL(done.r, IC_RESULT_OK);
	ic_shutdown_status(sd, &st);
	CU_ASSERT(!st.in_progress);
	CU_ASSERT(st.have_result);
	CU_ASSERT_EQUAL(st.result, IC_RESULT_OK);
	CU_ASSERT_EQUAL(st.status, HVIS_IC_S_OK);

	/* forced reboot */
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, HVIS_SHUTDOWN_FLAG_REBOOT |
					    HVIS_SHUTDOWN_FLAG_FORCE, &p), 0);
	linux_run(&x, IC_SHUTDOWN);
	CU_ASSERT_EQUAL(G.sd_flags, 3);
	CU_ASSERT_EQUAL(done.calls, 2);
	CU_ASSERT_EQUAL(done.r, IC_RESULT_OK);

	/* hibernate on a guest without it: E_FAIL recorded */
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, HVIS_SHUTDOWN_FLAG_HIBERNATE,
					    &p), 0);
	linux_run(&x, IC_SHUTDOWN);
	CU_ASSERT_EQUAL(done.calls, 3);
	CU_ASSERT_EQUAL(done.r, IC_RESULT_FAILED);
	CU_ASSERT_EQUAL(done.status, HVIS_IC_E_FAIL);
	ic_shutdown_status(sd, &st);
	CU_ASSERT_EQUAL(st.result, IC_RESULT_FAILED);
	CU_ASSERT_EQUAL(st.status, HVIS_IC_E_FAIL);
	CU_ASSERT_EQUAL(st.flags, HVIS_SHUTDOWN_FLAG_HIBERNATE);

	/* no answer: times out after request_timeout (60 s) */
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, 0, &p), 0);
	tick(&x, 59 * SEC);
	CU_ASSERT_EQUAL(done.calls, 3);
	tick(&x, 1 * SEC);
	CU_ASSERT_EQUAL(done.calls, 4);
	CU_ASSERT_EQUAL(done.r, IC_RESULT_TIMEOUT);
	/* a request then the channel closes: CLOSED */
	linux_run(&x, IC_SHUTDOWN);	/* late answer: stale */
	CU_ASSERT_EQUAL(done.calls, 4);
	CU_ASSERT_EQUAL(ic_shutdown_request(sd, 0, &p), 0);
	fx_close(&x, IC_SHUTDOWN);
	CU_ASSERT_EQUAL(done.calls, 5);
	CU_ASSERT_EQUAL(done.r, IC_RESULT_CLOSED);
	CU_ASSERT_EQUAL(G.sd_count, 4);
	fx_fini(&x);
}

static void check_time(uint64_t parent)
{
	CU_ASSERT_EQUAL(parent, F.unix_ns / 100 + HVIS_WINDOWS_EPOCH_DELTA);
}

static void test_timesync(void)
{
	static const int ts3[] = { LV(3, 0), LV(1, 0) };
	struct fx x;
	struct ic_timesync_status st;
	struct ic_dev *ts;

	for (int v = 4; v >= 3; v--) {
		fx_init(&x);
		linux61();
		if (v == 3) {
			G.srv[IC_TIMESYNC] = ts3;
			G.nsrv[IC_TIMESYNC] = 2;
		}
		ts = x.ic[IC_TIMESYNC];
		CU_ASSERT_EQUAL(ic_timesync_step(ts), -ENOTCONN);
		fx_open(&x, IC_TIMESYNC);
		CU_ASSERT_EQUAL(ic_timesync_step(ts), 0);
		/* NEGOTIATE answered, then the SYNC right away */
		CU_ASSERT_EQUAL(linux_run(&x, IC_TIMESYNC), 2);
		CU_ASSERT_EQUAL(G.ts_count, 1);
		CU_ASSERT_EQUAL(G.ts_flags, HVIS_TIMESYNC_FLAG_SYNC);
		check_time(G.ts_parent);
		/* 2023-11-14 22:13:20.123456789 UTC in 100 ns since 1601 */
		CU_ASSERT_EQUAL(G.ts_parent, 133444736001234567ull);
		CU_ASSERT_EQUAL(G.ts_extra, 0);
		if (v == 4) {
			CU_ASSERT_EQUAL(G.ts_ref, 5000000);
			CU_ASSERT_EQUAL(G.ts_len, 56);	/* 8 + 20 + 22 -> 56 */
		} else {
			CU_ASSERT_EQUAL(G.ts_ref, 0);
			CU_ASSERT_EQUAL(G.ts_len, 56);	/* 8 + 20 + 25 -> 56 */
		}
		ic_timesync_status(ts, &st);
		CU_ASSERT_EQUAL(st.v4, v == 4);
		CU_ASSERT_EQUAL(st.syncs, 1);
		CU_ASSERT_EQUAL(st.replies, 1);
		/* samples every 5 s, with the clocks of that moment */
		F.unix_ns += 5 * SEC;
		F.ref_time += 50000000;
		tick(&x, 4 * SEC);
		CU_ASSERT_EQUAL(linux_run(&x, IC_TIMESYNC), 0);
		tick(&x, 1 * SEC);
		CU_ASSERT_EQUAL(linux_run(&x, IC_TIMESYNC), 1);
		CU_ASSERT_EQUAL(G.ts_flags, HVIS_TIMESYNC_FLAG_SAMPLE);
		check_time(G.ts_parent);
		if (v == 4)
			CU_ASSERT_EQUAL(G.ts_ref, 55000000);
		/* host clock stepped: SYNC now */
		F.unix_ns += 3600 * SEC;
		CU_ASSERT_EQUAL(ic_timesync_step(ts), 0);
		CU_ASSERT_EQUAL(linux_run(&x, IC_TIMESYNC), 1);
		CU_ASSERT_EQUAL(G.ts_flags, HVIS_TIMESYNC_FLAG_SYNC);
		check_time(G.ts_parent);
		ic_timesync_status(ts, &st);
		CU_ASSERT_EQUAL(st.syncs, 2);
		CU_ASSERT_EQUAL(st.samples, 1);
		CU_ASSERT_EQUAL(st.replies, 3);
		CU_ASSERT_EQUAL(st.last_flags, HVIS_TIMESYNC_FLAG_SYNC);
		/* unanswered samples count as missed, sampling goes on */
		tick(&x, 5 * SEC);
		tick(&x, 5 * SEC);
		tick(&x, 5 * SEC);
		ic_timesync_status(ts, &st);
		CU_ASSERT_EQUAL(st.samples, 4);
		CU_ASSERT_EQUAL(st.missed, 2);	/* the third still open */
		fx_fini(&x);
	}
}

/* ------------------------------------------------------------ KVP */

struct kvp_log {
	int calls;
	struct ic_kvp_result last;
	char key[1024], value[4096];
	unsigned int order[16];
	unsigned int norder;
};

static void kvp_cb(void *ctx, struct ic_dev *ic, const struct ic_kvp_result *r)
{
	struct kvp_log *l = ctx;

	(void)ic;
	l->calls++;
	l->last = *r;
	snprintf(l->key, sizeof(l->key), "%s", r->key ? r->key : "(null)");
	snprintf(l->value, sizeof(l->value), "%s",
		 r->value ? r->value : "(null)");
	if (l->norder < 16)
		l->order[l->norder++] = r->op;
}

static void test_kvp(void)
{
	struct fx x;
	struct kvp_log l;
	struct ic_dev *kvp;
	struct ic_dev_info info;
	const char *k, *v;
	static const char uni[] = "cl\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x98\x80";

	fx_init(&x);
	linux61();
	memset(&l, 0, sizeof(l));
	kvp = x.ic[IC_KVP];
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, 0, "a", "b", NULL, NULL), -ENOTCONN);
	/* the daemon is not running: Linux leaves NEGOTIATE unread */
	G.kvp_daemon = false;
	fx_open(&x, IC_KVP);
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, HVIS_KVP_POOL_EXTERNAL, "HostName",
				   "hv-host-1", kvp_cb, &l), 0);
	tick(&x, 61 * SEC);
	ic_dev_info(kvp, &info);
	CU_ASSERT(info.negotiate_overdue);
	CU_ASSERT_EQUAL(info.state, IC_STATE_NEGOTIATING);
	CU_ASSERT_EQUAL(info.queued, 1);
	CU_ASSERT(saw_event(IC_KVP, IC_EV_NEGOTIATE_OVERDUE));
	/* the daemon registers: NEGOTIATE, then the queued SET */
	G.kvp_daemon = true;
	CU_ASSERT_EQUAL(linux_run(&x, IC_KVP), 2);
	CU_ASSERT_EQUAL(ic_dev_state(kvp), IC_STATE_READY);
	CU_ASSERT_EQUAL(l.calls, 1);
	CU_ASSERT_EQUAL(l.last.op, HVIS_KVP_OP_SET);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);
	CU_ASSERT_EQUAL(G.npool[0], 1);
	CU_ASSERT_STRING_EQUAL(G.pool[0][0].key, "HostName");
	CU_ASSERT_STRING_EQUAL(G.pool[0][0].value, "hv-host-1");

	/* three at once: one outstanding, in order */
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, 0, uni, "\xe2\x82\xac 5", kvp_cb, &l), 0);
	CU_ASSERT_EQUAL(ic_kvp_set_int(kvp, 0, "Count", HVIS_KVP_REG_U32, 42,
				       kvp_cb, &l), 0);
	CU_ASSERT_EQUAL(ic_kvp_set_int(kvp, 0, "Big", HVIS_KVP_REG_U64,
				       1ull << 40, kvp_cb, &l), 0);
	ic_dev_info(kvp, &info);
	CU_ASSERT(info.busy);
	CU_ASSERT_EQUAL(info.queued, 3);
	CU_ASSERT_EQUAL(linux_run(&x, IC_KVP), 3);
	CU_ASSERT_EQUAL(l.calls, 4);
	CU_ASSERT_EQUAL(G.npool[0], 4);
	CU_ASSERT_STRING_EQUAL(G.pool[0][1].key, uni);
	CU_ASSERT_STRING_EQUAL(G.pool[0][1].value, "\xe2\x82\xac 5");
	CU_ASSERT_STRING_EQUAL(G.pool[0][2].value, "42");
	CU_ASSERT_STRING_EQUAL(G.pool[0][3].value, "1099511627776");

	/* GET on Linux 6.1: found, but the value comes back empty */
	CU_ASSERT_EQUAL(ic_kvp_get(kvp, 0, "HostName", kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(l.last.op, HVIS_KVP_OP_GET);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);
	CU_ASSERT_STRING_EQUAL(l.key, "HostName");
	CU_ASSERT_STRING_EQUAL(l.value, "");
	/* a guest that answers GET fully */
	G.kvp_get_fixed = true;
	CU_ASSERT_EQUAL(ic_kvp_get(kvp, 0, uni, kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);
	CU_ASSERT_STRING_EQUAL(l.key, uni);
	CU_ASSERT_STRING_EQUAL(l.value, "\xe2\x82\xac 5");
	CU_ASSERT_EQUAL(l.last.value_type, HVIS_KVP_REG_SZ);
	/* missing key: S_CONT */
	CU_ASSERT_EQUAL(ic_kvp_get(kvp, 0, "nope", kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_FAILED);
	CU_ASSERT_EQUAL(l.last.status, HVIS_KVP_S_CONT);
	CU_ASSERT_PTR_NULL(l.last.value);

	/* DELETE, and again */
	CU_ASSERT_EQUAL(ic_kvp_delete(kvp, 0, "Count", kvp_cb, &l), 0);
	CU_ASSERT_EQUAL(ic_kvp_delete(kvp, 0, "Count", kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(l.last.op, HVIS_KVP_OP_DELETE);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_FAILED);
	CU_ASSERT_EQUAL(l.last.status, HVIS_KVP_S_CONT);
	CU_ASSERT_EQUAL(G.npool[0], 3);

	/* enumerate the auto pool: the daemon's ten intrinsic items */
	CU_ASSERT_EQUAL(ic_kvp_enumerate(kvp, HVIS_KVP_POOL_AUTO, kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(l.last.op, HVIS_KVP_OP_ENUMERATE);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);
	CU_ASSERT_EQUAL(l.last.status, HVIS_KVP_S_CONT);
	CU_ASSERT_EQUAL(l.last.entries, 10);
	CU_ASSERT_EQUAL(ic_kvp_pool_count(kvp, HVIS_KVP_POOL_AUTO), 10);
	CU_ASSERT_EQUAL(ic_kvp_pool_updated_at(kvp, HVIS_KVP_POOL_AUTO), x.now);
	CU_ASSERT_STRING_EQUAL(ic_kvp_pool_lookup(kvp, 2, "OSName"), "Linux");
	CU_ASSERT_STRING_EQUAL(ic_kvp_pool_lookup(kvp, 2, "NetworkAddressIPv4"),
			       "192.0.2.7");
	CU_ASSERT_EQUAL(ic_kvp_pool_entry(kvp, 2, 0, &k, &v), 0);
	CU_ASSERT_STRING_EQUAL(k, "FullyQualifiedDomainName");
	CU_ASSERT_STRING_EQUAL(v, "guest.example");
	CU_ASSERT_EQUAL(ic_kvp_pool_entry(kvp, 2, 10, &k, &v), -ENOENT);
	CU_ASSERT_EQUAL(G.kvp_ops[HVIS_KVP_OP_ENUMERATE], 11);
	/* the external pool with what the host set */
	CU_ASSERT_EQUAL(ic_kvp_enumerate(kvp, 0, NULL, NULL), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(ic_kvp_pool_count(kvp, 0), 3);
	CU_ASSERT_STRING_EQUAL(ic_kvp_pool_lookup(kvp, 0, uni), "\xe2\x82\xac 5");
	CU_ASSERT_STRING_EQUAL(ic_kvp_pool_lookup(kvp, 0, "Big"),
			       "1099511627776");
	CU_ASSERT_PTR_NULL(ic_kvp_pool_lookup(kvp, 0, "Count"));
	/* the guest pool, empty: S_CONT at index 0 -> an empty cache */
	CU_ASSERT_EQUAL(ic_kvp_enumerate(kvp, HVIS_KVP_POOL_GUEST, kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);
	CU_ASSERT_EQUAL(l.last.entries, 0);
	/* one index */
	CU_ASSERT_EQUAL(ic_kvp_enumerate_index(kvp, 2, 5, kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_STRING_EQUAL(l.key, "OSName");
	CU_ASSERT_STRING_EQUAL(l.value, "Linux");
	CU_ASSERT_EQUAL(l.last.index, 5);

	/* bad requests never reach the guest */
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, 5, "k", "v", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, 0, "", "v", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, 0, "\xc3\x28", "v", NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, 0, "k", "\xed\xa0\x80", NULL, NULL),
			-EINVAL);
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, 0, "k", NULL, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(ic_kvp_set_int(kvp, 0, "k", HVIS_KVP_REG_U32,
				       1ull << 32, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(ic_kvp_set_int(kvp, 0, "k", HVIS_KVP_REG_SZ, 1, NULL,
				       NULL), -EINVAL);
	{
		char big[2100];

		memset(big, 'k', 255);
		big[255] = 0;
		CU_ASSERT_EQUAL(ic_kvp_delete(kvp, 0, big, NULL, NULL), 0);
		big[255] = 'k';
		big[256] = 0;
		CU_ASSERT_EQUAL(ic_kvp_delete(kvp, 0, big, NULL, NULL), -E2BIG);
		memset(big, 'v', 1024);
		big[1023] = 0;
		CU_ASSERT_EQUAL(ic_kvp_set(kvp, 0, "k", big, NULL, NULL), 0);
		big[1023] = 'v';
		big[1024] = 0;
		CU_ASSERT_EQUAL(ic_kvp_set(kvp, 0, "k", big, NULL, NULL), -E2BIG);
		linux_run(&x, IC_KVP);
	}
	/* the queue is bounded */
	for (unsigned int i = 0; i < IC_QUEUE_MAX; i++)
		CU_ASSERT_EQUAL(ic_kvp_enumerate_index(kvp, 1, i, NULL, NULL), 0);
	CU_ASSERT_EQUAL(ic_kvp_enumerate_index(kvp, 1, 99, NULL, NULL), -EBUSY);
	linux_run(&x, IC_KVP);
	ic_dev_info(kvp, &info);
	CU_ASSERT_EQUAL(info.queued, 0);
	CU_ASSERT_EQUAL(info.st.dropped, 0);

	/* the daemon hangs: TIMEOUT after 60 s, the next one goes out */
	G.kvp_silent = true;
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(ic_kvp_enumerate(kvp, 2, kvp_cb, &l), 0);
	CU_ASSERT_EQUAL(ic_kvp_set(kvp, 1, "x", "y", kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	tick(&x, 60 * SEC);
	CU_ASSERT_EQUAL(l.calls, 1);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_TIMEOUT);
	CU_ASSERT_EQUAL(l.last.op, HVIS_KVP_OP_ENUMERATE);
	CU_ASSERT_EQUAL(ic_kvp_pool_count(kvp, 2), 10);	/* cache kept */
	G.kvp_silent = false;
	CU_ASSERT_EQUAL(linux_run(&x, IC_KVP), 1);
	CU_ASSERT_EQUAL(l.calls, 2);
	CU_ASSERT_EQUAL(l.last.op, HVIS_KVP_OP_SET);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);

	/* close with requests queued: each ends CLOSED exactly once */
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(ic_kvp_get(kvp, 0, "a", kvp_cb, &l), 0);
	CU_ASSERT_EQUAL(ic_kvp_get(kvp, 0, "b", kvp_cb, &l), 0);
	fx_close(&x, IC_KVP);
	CU_ASSERT_EQUAL(l.calls, 2);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_CLOSED);
	/* reopened: renegotiates, the cache survives */
	open_ready(&x, IC_KVP);
	CU_ASSERT_EQUAL(ic_kvp_pool_count(kvp, 2), 10);
	/* destroy with one queued: CLOSED, then no callback ever again */
	CU_ASSERT_EQUAL(ic_kvp_get(kvp, 0, "a", kvp_cb, &l), 0);
	ic_host_destroy(x.h);
	x.h = NULL;
	CU_ASSERT_EQUAL(l.calls, 3);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_CLOSED);
	fx_fini(&x);
}

/* ------------------------------------------------------------ VSS */

struct vss_log {
	int calls;
	struct ic_vss_result last;
};

static void vss_cb(void *ctx, struct ic_dev *ic, const struct ic_vss_result *r)
{
	struct vss_log *l = ctx;

	(void)ic;
	l->calls++;
	l->last = *r;
}

static void test_vss(void)
{
	struct fx x;
	struct vss_log l;
	struct ic_vss_status st;
	struct ic_dev *vss;
	struct ic_dev_info info;

	fx_init(&x);
	linux61();
	memset(&l, 0, sizeof(l));
	vss = x.ic[IC_VSS];
	CU_ASSERT_EQUAL(ic_vss_freeze(vss, 0, vss_cb, &l), -ENOTCONN);
	open_ready(&x, IC_VSS);

	/* no daemon: HOT_BACKUP fails at once, nothing frozen */
	G.vss_daemon = false;
	CU_ASSERT_EQUAL(ic_vss_freeze(vss, 0, vss_cb, &l), 0);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_FREEZING);
	CU_ASSERT_EQUAL(ic_vss_freeze(vss, 0, vss_cb, &l), -EBUSY);
	linux_run(&x, IC_VSS);
	CU_ASSERT_EQUAL(l.calls, 1);
	CU_ASSERT_EQUAL(l.last.op, HVIS_VSS_OP_HOT_BACKUP);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_FAILED);
	CU_ASSERT_EQUAL(l.last.status, HVIS_IC_E_FAIL);
	CU_ASSERT(!l.last.auto_thaw);
	CU_ASSERT_EQUAL(G.vss_ops[HVIS_VSS_OP_FREEZE], 0);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_IDLE);
	CU_ASSERT_EQUAL(st.failures, 1);

	/* the full cycle: HOT_BACKUP, GET_DM_INFO, FREEZE; then THAW */
	G.vss_daemon = true;
	CU_ASSERT_EQUAL(ic_vss_freeze(vss, 0, vss_cb, &l), 0);
	CU_ASSERT_EQUAL(linux_run(&x, IC_VSS), 3);
	CU_ASSERT_EQUAL(l.calls, 2);
	CU_ASSERT_EQUAL(l.last.op, HVIS_VSS_OP_FREEZE);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);
	CU_ASSERT_EQUAL(l.last.hbu_flags, HVIS_VSS_HBU_NO_AUTO_RECOVERY);
	CU_ASSERT_EQUAL(l.last.dm_flags, 0);
	CU_ASSERT(G.frozen);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_FROZEN);
	CU_ASSERT_EQUAL(st.frozen_at, x.now);
	CU_ASSERT_EQUAL(st.freezes, 1);
	CU_ASSERT_EQUAL(ic_vss_freeze(vss, 0, vss_cb, &l), -EBUSY);
	CU_ASSERT_EQUAL(ic_vss_thaw(vss, vss_cb, &l), 0);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_THAWING);
	CU_ASSERT_EQUAL(linux_run(&x, IC_VSS), 1);
	CU_ASSERT_EQUAL(l.calls, 3);
	CU_ASSERT_EQUAL(l.last.op, HVIS_VSS_OP_THAW);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);
	CU_ASSERT(!G.frozen);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_IDLE);
	CU_ASSERT_EQUAL(st.thaws, 1);

	/* FREEZE fails in the guest: reported, THAW follows by itself */
	G.vss_freeze_status = HVIS_IC_E_FAIL;
	CU_ASSERT_EQUAL(ic_vss_freeze(vss, 0, vss_cb, &l), 0);
	CU_ASSERT_EQUAL(linux_run(&x, IC_VSS), 4);
	CU_ASSERT_EQUAL(l.calls, 4);
	CU_ASSERT_EQUAL(l.last.op, HVIS_VSS_OP_FREEZE);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_FAILED);
	CU_ASSERT_EQUAL(l.last.status, HVIS_IC_E_FAIL);
	CU_ASSERT(l.last.auto_thaw);
	CU_ASSERT_EQUAL(G.vss_last_op, HVIS_VSS_OP_THAW);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_IDLE);
	CU_ASSERT_EQUAL(st.last_op, HVIS_VSS_OP_FREEZE);	/* kept */
	CU_ASSERT_EQUAL(st.last_result, IC_RESULT_FAILED);

	/* FREEZE never answered within our 10 s: TIMEOUT, then THAW; the
	 * guest's late answer is stale
	 */
	G.vss_freeze_status = HVIS_IC_S_OK;
	G.vss_freeze_silent = true;
	CU_ASSERT_EQUAL(ic_vss_freeze(vss, 10 * SEC, vss_cb, &l), 0);
	CU_ASSERT_EQUAL(linux_run(&x, IC_VSS), 2);
	tick(&x, 9 * SEC);
	CU_ASSERT_EQUAL(l.calls, 4);
	tick(&x, 1 * SEC);
	CU_ASSERT_EQUAL(l.calls, 5);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_TIMEOUT);
	CU_ASSERT(l.last.auto_thaw);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.timeouts, 1);
	{
		struct hvis_ic_hdr ih;

		G.vss_freeze_silent = false;
		set_status(G.held, HVIS_IC_S_OK);
		memcpy(&ih, G.held + 8, sizeof(ih));
		ih.ih_flags = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
		memcpy(G.held + 8, &ih, sizeof(ih));
		g_send(&x, IC_VSS, G.held, G.held_len, G.held_id);
		G.frozen = true;	/* the late freeze happened */
	}
	CU_ASSERT_EQUAL(linux_run(&x, IC_VSS), 1);	/* the THAW */
	CU_ASSERT(!G.frozen);
	ic_dev_info(vss, &info);
	CU_ASSERT_EQUAL(info.st.stale, 1);
	CU_ASSERT_EQUAL(info.st.dropped, 0);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_IDLE);

	/* a THAW while idle is allowed (failsafe); the guest says E_FAIL */
	CU_ASSERT_EQUAL(ic_vss_thaw(vss, vss_cb, &l), 0);
	linux_run(&x, IC_VSS);
	CU_ASSERT_EQUAL(l.last.op, HVIS_VSS_OP_THAW);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_FAILED);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_IDLE);

	/* frozen, then the channel closes: the callback of a queued THAW
	 * says CLOSED, the state resets
	 */
	CU_ASSERT_EQUAL(ic_vss_freeze(vss, 0, vss_cb, &l), 0);
	linux_run(&x, IC_VSS);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_FROZEN);
	l.calls = 0;
	CU_ASSERT_EQUAL(ic_vss_thaw(vss, vss_cb, &l), 0);
	fx_close(&x, IC_VSS);
	CU_ASSERT_EQUAL(l.calls, 1);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_CLOSED);
	ic_vss_status(vss, &st);
	CU_ASSERT_EQUAL(st.state, IC_VSS_IDLE);
	fx_fini(&x);
}

/* ------------------------------------------------------------ malformed */

enum mut {
	M_NONE, M_TRUNC, M_PIPE_FLAGS, M_PIPE_BIG, M_PIPE_SMALL, M_IC_BIG,
	M_NO_RESPONSE, M_REQUEST, M_TRANS_ID, M_TID, M_TYPE, M_SEQ, M_BODY,
	M_PKT_TYPE, M_FUTURE_ID,
};

static const struct {
	const char *what;
	enum mut m;
	uint32_t arg;
	bool stale;
} bad_hb[] = {
	{ "empty", M_TRUNC, 0, false },
	{ "7 bytes", M_TRUNC, 7, false },
	{ "27 bytes", M_TRUNC, 27, false },
	{ "pipe flags 0", M_PIPE_FLAGS, 0, false },
	{ "pipe flags 2 (partial)", M_PIPE_FLAGS, 2, false },
	{ "pipe msgsize beyond packet", M_PIPE_BIG, 0, false },
	{ "pipe msgsize ~0", M_PIPE_BIG, 0xFFFFFFFF, false },
	{ "pipe msgsize below IC header", M_PIPE_SMALL, 19, false },
	{ "IC msgsize beyond pipe", M_IC_BIG, 0, false },
	{ "IC msgsize 0xFFFF", M_IC_BIG, 0xFFFF, false },
	{ "flags TRANSACTION only", M_NO_RESPONSE, 1, false },
	{ "flags RESPONSE only", M_NO_RESPONSE, 4, false },
	{ "guest request", M_REQUEST, 0, false },
	{ "unknown trans_id", M_FUTURE_ID, 999, false },
	{ "trans_id 0", M_TRANS_ID, 0, false },
	{ "old trans_id", M_TRANS_ID, 1, true },
	{ "IC transaction id differs", M_TID, 0x55, false },
	{ "message type shutdown", M_TYPE, HVIS_ICMSG_SHUTDOWN, false },
	{ "message type negotiate", M_TYPE, HVIS_ICMSG_NEGOTIATE, false },
	{ "sequence not + 1", M_SEQ, 0, false },
	{ "sequence + 2", M_SEQ, 2, false },
	{ "heartbeat body 4 bytes", M_BODY, 4, false },
	{ "completion packet", M_PKT_TYPE, HVIS_PKT_COMPLETION, false },
	{ "gpa direct packet", M_PKT_TYPE, HVIS_PKT_DATA_USING_GPA_DIRECT, false },
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void test_malformed(void)
{
	struct fx x;
	uint8_t req[256], p[256];
	struct hvis_pkt_desc d;
	uint32_t len;
	struct ic_dev_info info0, info1;
	struct ic_heartbeat_status st;

	fx_init(&x);
	linux61();
	open_ready(&x, IC_HEARTBEAT);	/* heartbeat 1 answered too */
	tick(&x, 2 * SEC);
	len = g_recv(&x, IC_HEARTBEAT, req, sizeof(req), &d);
	CU_ASSERT_EQUAL_FATAL(len, 72);
	lin_heartbeat(req, len);
	req[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;

	for (unsigned int i = 0; i < sizeof(bad_hb) / sizeof(bad_hb[0]); i++) {
		uint32_t l = len, type = HVIS_PKT_DATA_INBAND;
		uint64_t id = d.pd_trans_id;
		uint64_t seq;

		memcpy(p, req, len);
		switch (bad_hb[i].m) {
		case M_NONE:
			break;
		case M_TRUNC:
			l = bad_hb[i].arg;
			break;
		case M_PIPE_FLAGS:
			put32(p, bad_hb[i].arg);
			break;
		case M_PIPE_BIG:
			put32(p + 4, bad_hb[i].arg ? bad_hb[i].arg : len - 7);
			break;
		case M_PIPE_SMALL:
			put32(p + 4, bad_hb[i].arg);
			break;
		case M_IC_BIG:
			put16(p + 8 + 10, (uint16_t)(bad_hb[i].arg ?
					  bad_hb[i].arg : 60 - 20 + 1));
			break;
		case M_NO_RESPONSE:
			p[8 + 17] = (uint8_t)bad_hb[i].arg;
			break;
		case M_REQUEST:
			p[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_REQUEST;
			break;
		case M_TRANS_ID:
		case M_FUTURE_ID:
			id = bad_hb[i].arg;
			p[8 + 16] = (uint8_t)id;
			break;
		case M_TID:
			p[8 + 16] = (uint8_t)bad_hb[i].arg;
			break;
		case M_TYPE:
			put16(p + 8 + 4, (uint16_t)bad_hb[i].arg);
			break;
		case M_SEQ:
			memcpy(&seq, p + 28, 8);
			seq += bad_hb[i].arg - 1;
			memcpy(p + 28, &seq, 8);
			break;
		case M_BODY:
			put16(p + 8 + 10, (uint16_t)bad_hb[i].arg);
			break;
		case M_PKT_TYPE:
			type = bad_hb[i].arg;
			break;
		}
		ic_dev_info(x.ic[IC_HEARTBEAT], &info0);
		if (l)
			g_send_type(&x, IC_HEARTBEAT, (uint16_t)type, p, l, id);
		else
			g_send_type(&x, IC_HEARTBEAT, (uint16_t)type, NULL, 0, id);
		ic_dev_info(x.ic[IC_HEARTBEAT], &info1);
		if (bad_hb[i].stale ? info1.st.stale != info0.st.stale + 1 :
		    info1.st.dropped != info0.st.dropped + 1)
			CU_FAIL(bad_hb[i].what);
		/* no damage: still ready, still waiting for the answer */
		CU_ASSERT_EQUAL(info1.state, IC_STATE_READY);
		CU_ASSERT(info1.busy);
		CU_ASSERT_EQUAL(info1.st.rx, info0.st.rx);
	}
	/* the real answer still works */
	g_send(&x, IC_HEARTBEAT, req, len, d.pd_trans_id);
	ic_heartbeat_status(x.ic[IC_HEARTBEAT], &st);
	CU_ASSERT_EQUAL(st.acked, 2);
	CU_ASSERT_EQUAL(st.health, IC_HB_HEALTHY);
	/* and a large packet of zeros */
	{
		static uint8_t huge[8000];

		ic_dev_info(x.ic[IC_HEARTBEAT], &info0);
		g_send(&x, IC_HEARTBEAT, huge, sizeof(huge), 5);
		ic_dev_info(x.ic[IC_HEARTBEAT], &info1);
		CU_ASSERT_EQUAL(info1.st.dropped, info0.st.dropped + 1);
	}
	fx_fini(&x);
}

/* Bogus NEGOTIATE answers are dropped; the good one still lands. */
static void test_malformed_negotiate(void)
{
	static const struct {
		const char *what;
		uint16_t fwc, mc;
		struct hvis_ic_version fw, msg;
		uint16_t msgsize;
	} bad[] = {
		{ "version 2.0 never offered", 1, 1, { 3, 0 }, { 2, 0 }, 16 },
		{ "framework 4.0", 1, 1, { 4, 0 }, { 3, 0 }, 16 },
		{ "minor 1", 1, 1, { 3, 1 }, { 3, 0 }, 16 },
		{ "two choices", 2, 1, { 3, 0 }, { 3, 0 }, 16 },
		{ "one choice, no versions", 1, 1, { 3, 0 }, { 3, 0 }, 8 },
		{ "no body", 1, 1, { 3, 0 }, { 3, 0 }, 4 },
		{ "0xFFFF counts", 0xFFFF, 0xFFFF, { 3, 0 }, { 3, 0 }, 16 },
	};
	struct fx x;
	uint8_t req[256], p[256];
	struct hvis_pkt_desc d;
	uint32_t len;
	struct ic_dev_info info;

	fx_init(&x);
	linux61();
	fx_open(&x, IC_HEARTBEAT);
	len = g_recv(&x, IC_HEARTBEAT, req, sizeof(req), &d);
	CU_ASSERT_EQUAL_FATAL(len, 56);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hvis_ic_negotiate n;

		memcpy(p, req, len);
		p[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
		put16(p + 8 + 10, bad[i].msgsize);
		memset(&n, 0, sizeof(n));
		n.in_framework_count = bad[i].fwc;
		n.in_message_count = bad[i].mc;
		memcpy(p + 28, &n, sizeof(n));
		memcpy(p + 36, &bad[i].fw, 4);
		memcpy(p + 40, &bad[i].msg, 4);
		g_send(&x, IC_HEARTBEAT, p, len, d.pd_trans_id);
		ic_dev_info(x.ic[IC_HEARTBEAT], &info);
		if (info.st.dropped != i + 1)
			CU_FAIL(bad[i].what);
		CU_ASSERT_EQUAL(info.state, IC_STATE_NEGOTIATING);
		CU_ASSERT(info.busy);
	}
	/* Linux's own answer */
	lin_negotiate(req, len, IC_HEARTBEAT);
	req[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	g_send(&x, IC_HEARTBEAT, req, len, d.pd_trans_id);
	CU_ASSERT_EQUAL(ic_dev_state(x.ic[IC_HEARTBEAT]), IC_STATE_READY);
	fx_fini(&x);
}

/* Malformed KVP / VSS answers: dropped or BAD_REPLY, queue moves on. */
static void test_malformed_kvp_vss(void)
{
	struct fx x;
	struct kvp_log l;
	struct vss_log vl;
	uint8_t req[16384];
	struct hvis_pkt_desc d;
	uint32_t len;
	struct ic_dev_info info;
	struct hvis_kvp_msg *m;

	fx_init(&x);
	linux61();
	memset(&l, 0, sizeof(l));
	open_ready(&x, IC_KVP);
	CU_ASSERT_EQUAL(ic_kvp_enumerate_index(x.ic[IC_KVP], 2, 3, kvp_cb, &l), 0);
	len = g_recv(&x, IC_KVP, req, sizeof(req), &d);
	CU_ASSERT_EQUAL_FATAL(len, 8 + 20 + 7430 + 6);
	m = (struct hvis_kvp_msg *)(req + 28);
	CU_ASSERT_EQUAL(m->km_hdr.kh_operation, HVIS_KVP_OP_ENUMERATE);
	CU_ASSERT_EQUAL(m->km_hdr.kh_pool, 2);
	CU_ASSERT_EQUAL(m->km_body.km_enumerate.ke_index, 3);
	lin_kvp(req, len);
	req[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	{
		uint8_t p[16384];
		uint32_t sz;

		/* IC msgsize too small for the enumerate body */
		memcpy(p, req, len);
		put16(p + 8 + 10, 100);
		g_send(&x, IC_KVP, p, len, d.pd_trans_id);
		/* another pool */
		memcpy(p, req, len);
		p[29] = 1;
		g_send(&x, IC_KVP, p, len, d.pd_trans_id);
		/* another index */
		memcpy(p, req, len);
		p[32] = 4;
		g_send(&x, IC_KVP, p, len, d.pd_trans_id);
		ic_dev_info(x.ic[IC_KVP], &info);
		CU_ASSERT_EQUAL(info.st.dropped, 3);
		CU_ASSERT_EQUAL(l.calls, 0);
		/* matching, but the key size is beyond the array: BAD_REPLY */
		memcpy(p, req, len);
		sz = 9999;
		memcpy(p + 28 + 4 + 4 + 4, &sz, 4);
		g_send(&x, IC_KVP, p, len, d.pd_trans_id);
		CU_ASSERT_EQUAL(l.calls, 1);
		CU_ASSERT_EQUAL(l.last.result, IC_RESULT_BAD_REPLY);
	}
	/* an unpaired surrogate in a value: BAD_REPLY */
	CU_ASSERT_EQUAL(ic_kvp_enumerate_index(x.ic[IC_KVP], 2, 3, kvp_cb, &l), 0);
	len = g_recv(&x, IC_KVP, req, sizeof(req), &d);
	lin_kvp(req, len);
	req[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	req[28 + 8 + 524 + 12] = 0x00;
	req[28 + 8 + 524 + 13] = 0xD8;
	g_send(&x, IC_KVP, req, len, d.pd_trans_id);
	CU_ASSERT_EQUAL(l.calls, 2);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_BAD_REPLY);
	/* and the next request works */
	CU_ASSERT_EQUAL(ic_kvp_enumerate_index(x.ic[IC_KVP], 2, 3, kvp_cb, &l), 0);
	linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_OK);
	CU_ASSERT_STRING_EQUAL(l.key, "NetworkAddressIPv6");

	/* VSS: answer for another operation, header cut short */
	memset(&vl, 0, sizeof(vl));
	open_ready(&x, IC_VSS);
	CU_ASSERT_EQUAL(ic_vss_thaw(x.ic[IC_VSS], vss_cb, &vl), 0);
	len = g_recv(&x, IC_VSS, req, sizeof(req), &d);
	CU_ASSERT_EQUAL_FATAL(len, 40);
	req[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	req[28] = HVIS_VSS_OP_FREEZE;
	g_send(&x, IC_VSS, req, len, d.pd_trans_id);
	req[28] = HVIS_VSS_OP_THAW;
	put16(req + 8 + 10, 4);
	g_send(&x, IC_VSS, req, len, d.pd_trans_id);
	ic_dev_info(x.ic[IC_VSS], &info);
	CU_ASSERT_EQUAL(info.st.dropped, 2);
	CU_ASSERT_EQUAL(vl.calls, 0);
	put16(req + 8 + 10, 12);
	g_send(&x, IC_VSS, req, len, d.pd_trans_id);
	CU_ASSERT_EQUAL(vl.calls, 1);
	CU_ASSERT_EQUAL(vl.last.result, IC_RESULT_OK);
	fx_fini(&x);
}

/* A guest that corrupts its ring: that IC fails, the others go on. */
static void test_broken_ring(void)
{
	struct fx x;
	struct kvp_log l;
	struct ic_heartbeat_status st;

	fx_init(&x);
	linux61();
	memset(&l, 0, sizeof(l));
	open_ready(&x, IC_KVP);
	open_ready(&x, IC_HEARTBEAT);
	CU_ASSERT_EQUAL(ic_kvp_get(x.ic[IC_KVP], 0, "a", kvp_cb, &l), 0);
	CU_ASSERT_EQUAL(ic_kvp_get(x.ic[IC_KVP], 0, "b", kvp_cb, &l), 0);
	/* the guest's write index off the grid */
	x.ch[IC_KVP].gw.hdr->rh_write_index = 13;
	CU_ASSERT_EQUAL(vmbus_server_signal(x.s, CONNID(IC_KVP + 1)),
			HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(ic_dev_state(x.ic[IC_KVP]), IC_STATE_FAILED);
	CU_ASSERT(saw_event(IC_KVP, IC_EV_FAILED));
	CU_ASSERT_EQUAL(l.calls, 2);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_CLOSED);
	CU_ASSERT_EQUAL(ic_kvp_get(x.ic[IC_KVP], 0, "c", kvp_cb, &l), -ENOTCONN);
	/* heartbeats unaffected */
	tick(&x, 2 * SEC);
	CU_ASSERT_EQUAL(linux_run(&x, IC_HEARTBEAT), 1);
	ic_heartbeat_status(x.ic[IC_HEARTBEAT], &st);
	CU_ASSERT_EQUAL(st.acked, 2);
	/* reopening the KVP channel recovers */
	fx_close(&x, IC_KVP);
	open_ready(&x, IC_KVP);
	fx_fini(&x);
}

/* A guest that never reads: the host ring fills, nothing blocks. */
static void test_full_ring(void)
{
	struct fx x;
	struct ic_dev_info info;
	unsigned int ok = 0;

	fx_init(&x);
	linux61();
	open_ready(&x, IC_KVP);
	/* each SET is ~7.5 KiB: the second does not fit a 12 KiB ring
	 * while the first is unread, but only one is outstanding anyway;
	 * time out the first with the guest still not reading
	 */
	G.kvp_silent = true;
	CU_ASSERT_EQUAL(ic_kvp_set(x.ic[IC_KVP], 0, "k1", "v", NULL, NULL), 0);
	CU_ASSERT_EQUAL(ic_kvp_set(x.ic[IC_KVP], 0, "k2", "v", NULL, NULL), 0);
	tick(&x, 60 * SEC);		/* k1 times out, k2 finds no room */
	ic_dev_info(x.ic[IC_KVP], &info);
	CU_ASSERT_EQUAL(info.queued, 1);
	CU_ASSERT(!info.busy);
	CU_ASSERT(info.st.send_errors >= 1);
	CU_ASSERT(ic_host_tick(x.h, x.now) <= x.now + IC_RETRY_NS);
	/* the guest reads k1 and answers late (stale); reading made space,
	 * its signal sends k2, which it answers too
	 */
	G.kvp_silent = false;
	ok = linux_run(&x, IC_KVP);
	CU_ASSERT_EQUAL(ok, 2);
	ic_dev_info(x.ic[IC_KVP], &info);
	CU_ASSERT_EQUAL(info.queued, 0);
	CU_ASSERT_EQUAL(info.st.stale, 1);
	CU_ASSERT_EQUAL(G.npool[0], 2);
	CU_ASSERT_STRING_EQUAL(G.pool[0][1].key, "k2");
	fx_fini(&x);
}

/* Server destroyed first, host second; and host first on an open IC. */
static void test_lifetimes(void)
{
	struct fx x;
	struct kvp_log l;

	fx_init(&x);
	linux61();
	memset(&l, 0, sizeof(l));
	open_ready(&x, IC_KVP);
	CU_ASSERT_EQUAL(ic_kvp_get(x.ic[IC_KVP], 0, "a", kvp_cb, &l), 0);
	vmbus_server_destroy(x.s);
	CU_ASSERT_EQUAL(l.calls, 1);
	CU_ASSERT_EQUAL(l.last.result, IC_RESULT_CLOSED);
	CU_ASSERT_PTR_NULL(ic_dev_vmbus(x.ic[IC_KVP]));
	ic_host_tick(x.h, x.now + SEC);
	ic_host_destroy(x.h);
	vf_host_fini(&VH);

	/* host destroyed with channels open: rescinded, freed on release */
	fx_init(&x);
	linux61();
	open_ready(&x, IC_HEARTBEAT);
	open_ready(&x, IC_TIMESYNC);
	ic_host_destroy(x.h);
	x.h = NULL;
	CU_ASSERT(vmbus_server_device_by_relid(x.s, 1) != NULL);
	/* a guest signal on the orphan does nothing */
	vmbus_server_signal(x.s, CONNID(1));
	{
		struct hvis_chmsg_relid m = {
			.rl_hdr.ch_msgtype = HVIS_CHMSG_RELID_RELEASED,
			.rl_child_relid = 1 };

		gsend(&x, &m, sizeof(m));
	}
	fx_fini(&x);

	/* a detached IC for the fuzzer's sake: no server at all */
	{
		struct ic_host *h = ic_host_create(NULL, NULL);

		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		CU_ASSERT_PTR_NULL(ic_dev_create_detached(h, IC_KVP, NULL, NULL));
		ic_host_destroy(h);
	}
}

static void test_utf(void)
{
	uint8_t b[16];
	char s[16];
	static const uint8_t smile16[] = { 0x3D, 0xD8, 0x00, 0xDE, 0, 0 };

	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("A\xc3\xa9", 3, b, sizeof(b)), 6);
	CU_ASSERT(memcmp(b, "A\0\xe9\0\0\0", 6) == 0);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xf0\x9f\x98\x80", 4, b, sizeof(b)), 6);
	CU_ASSERT(memcmp(b, smile16, 6) == 0);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("", 0, b, 2), 2);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("", 0, b, 1), -E2BIG);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("ab", 2, b, 5), -E2BIG);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("ab", 2, b, 6), 6);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xf0\x9f\x98\x80", 4, b, 5), -E2BIG);
	/* invalid UTF-8 */
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xc0\x80", 2, b, 16), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xe0\x80\xaf", 3, b, 16), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xed\xa0\x80", 3, b, 16), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xf4\x90\x80\x80", 4, b, 16), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xf8\x88\x80\x80\x80", 5, b, 16),
			-EINVAL);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xe2\x82", 2, b, 16), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\x80", 1, b, 16), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("a\0b", 3, b, 16), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf8_to_utf16le("\xc3\x28", 2, b, 16), -EINVAL);
	/* UTF-16 -> UTF-8 */
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8(smile16, 6, s, sizeof(s)), 4);
	CU_ASSERT_STRING_EQUAL(s, "\xf0\x9f\x98\x80");
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8(smile16, 4, s, sizeof(s)), 4);
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8(smile16, 2, s, sizeof(s)), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8(smile16 + 2, 4, s, sizeof(s)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(s, "");
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8((const uint8_t *)"a\0b", 3, s,
					   sizeof(s)), -EINVAL);
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8((const uint8_t *)"a\0b\0", 4, s, 3), 2);
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8((const uint8_t *)"a\0b\0", 4, s, 2),
			-E2BIG);
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8((const uint8_t *)"a\0\0\0b\0", 6, s,
					   sizeof(s)), 1);
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8((const uint8_t *)"\xe9\0", 2, s,
					   sizeof(s)), 2);
	CU_ASSERT_STRING_EQUAL(s, "\xc3\xa9");
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8(NULL, 0, s, sizeof(s)), 0);
	CU_ASSERT_EQUAL(ic_utf16le_to_utf8(smile16, 6, s, 0), -E2BIG);
}

static const struct unit_test tests[] = {
	{ "offers: classes, pipe mode, fresh instances", test_offers },
	{ "NEGOTIATE on the wire", test_negotiate_wire },
	{ "NEGOTIATE with Linux 6.1, all five", test_negotiate_linux },
	{ "NEGOTIATE fallbacks and no common version", test_negotiate_fallback },
	{ "heartbeat round trips, a missing reply", test_heartbeat },
	{ "shutdown: power off, reboot, hibernate, timeout", test_shutdown },
	{ "time sync: SYNC, SAMPLE, step; v4 and v3", test_timesync },
	{ "KVP: set/get/delete/enumerate, pools, UTF-16", test_kvp },
	{ "VSS: freeze/thaw, failure, timeout, auto-thaw", test_vss },
	{ "malformed heartbeat answers change nothing", test_malformed },
	{ "malformed NEGOTIATE answers", test_malformed_negotiate },
	{ "malformed KVP and VSS answers", test_malformed_kvp_vss },
	{ "broken ring fails one IC only", test_broken_ring },
	{ "full ring: retried, nothing blocks", test_full_ring },
	{ "lifetimes: server or host destroyed first", test_lifetimes },
	{ "UTF-8 <-> UTF-16LE", test_utf },
	{ NULL, NULL },
};

int unit_register_ic(void)
{
	return unit_add_suite("ic", tests);
}
