// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMBus server tests over a fake host: posted messages and event-flag
 * signals are recorded; guest memory is a memfd that the "guest" sees
 * whole and the server maps page by page (as hvis-vspd does), with a
 * PROT_NONE guard page after every view. The guest side of a channel is
 * simulated with lib/ring.c on the same memory. Each step is one
 * message in, then the recorded messages out are checked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#include "host-vsp/vmbus/server.h"
#include "tests/common/vmbus_fake.h"
#include "unit.h"

#define MEM_PAGES	1024u		/* 4 MiB of guest memory */
#define PG		4096u
#define MAXREC		600
#define NVPS		4
#define V(a, b)		HVIS_VMBUS_VERSION(a, b)
#define CONNID(relid)	(VMBUS_SERVER_CONNID_BASE + (relid))

/* ------------------------------------------------------------ fake host */

/* tests/common/vmbus_fake.h: posted messages and signals recorded,
 * post_rc forces post_message's result, views counted in maps.
 */
static struct vf_host F;
static struct vmbus_server_ops fake_ops;

static void fake_init(void)
{
	vf_host_init(&F, (size_t)MEM_PAGES * PG, vf_cunit_check);
	fake_ops = vf_server_ops(&F);
}

static void fake_fini(void)
{
	vf_host_fini(&F);		/* every view unmapped */
}

static struct vmbus_server *server(uint32_t max_version)
{
	struct vmbus_server_options o = { .nvps = NVPS,
					  .max_version = max_version };
	struct vmbus_server *s = vmbus_server_create(&o, &fake_ops);

	CU_ASSERT_FATAL(s != NULL);
	return s;
}

static uint32_t ptype(unsigned int i)
{
	uint32_t t;

	CU_ASSERT_FATAL(i < F.nmsgs);
	memcpy(&t, F.msgs[i].b, 4);
	return t;
}

static void clear(void)
{
	vf_clear(&F);
}

/* ------------------------------------------------------------ fake VSP */

struct fdev {
	struct vmbus_device *dev;
	int offers, opens, closes, packets, rescinds;
	uint32_t offered_relid;
	int open_rc;
	bool rescind_in_open;
	bool echo;
	bool drain;		/* consume without answering */
	struct vmbus_open_info info;
	uint8_t user0;
};

static void d_offered(struct vmbus_device *dev, void *o, uint32_t relid)
{
	struct fdev *d = o;

	(void)dev;
	d->offers++;
	d->offered_relid = relid;
}

static int d_open(struct vmbus_device *dev, void *o,
		  const struct vmbus_open_info *info)
{
	struct fdev *d = o;

	d->opens++;
	d->info = *info;
	d->user0 = info->user_data[0];
	CU_ASSERT_PTR_NOT_NULL(vmbus_device_in_ring(dev));
	CU_ASSERT_PTR_NOT_NULL(vmbus_device_out_ring(dev));
	if (d->rescind_in_open)
		vmbus_server_rescind(dev);
	return d->open_rc;
}

static void d_close(struct vmbus_device *dev, void *o)
{
	struct fdev *d = o;

	(void)dev;
	d->closes++;
}

/* Echo every packet's payload back as an in-band packet. */
static void d_packet(struct vmbus_device *dev, void *o)
{
	struct fdev *d = o;
	struct hvis_ring *in = vmbus_device_in_ring(dev);
	uint8_t buf[4096];
	struct hvis_ring_pkt pkt;
	uint32_t len = sizeof(buf);

	d->packets++;
	if (d->drain && in) {
		while (hvis_ring_read(in, buf, &len, &pkt) == 0)
			len = sizeof(buf);
		CU_ASSERT_EQUAL(vmbus_device_recv_done(dev), 0);
		return;
	}
	if (!d->echo || !in)
		return;
	while (hvis_ring_read(in, buf, &len, &pkt) == 0) {
		struct hvis_pkt_desc desc = { .pd_type = HVIS_PKT_DATA_INBAND,
					      .pd_trans_id = pkt.desc.pd_trans_id };
		struct hvis_iov iov = { buf + pkt.data_off, pkt.len - pkt.data_off };

		CU_ASSERT_EQUAL(vmbus_device_send(dev, &desc, 0, &iov, 1), 0);
		len = sizeof(buf);
	}
	CU_ASSERT_EQUAL(vmbus_device_recv_done(dev), 0);
}

static void d_rescinded(struct vmbus_device *dev, void *o)
{
	struct fdev *d = o;

	(void)dev;
	d->rescinds++;
	d->dev = NULL;
}

static const struct vmbus_device_ops dev_ops = {
	.offered = d_offered,
	.open = d_open,
	.close = d_close,
	.packet_in = d_packet,
	.rescinded = d_rescinded,
};

static void add_dev(struct vmbus_server *s, struct fdev *d, unsigned int n)
{
	struct hvis_guid cls = HVIS_GUID_HEARTBEAT, inst = HVIS_GUID_KVP;

	memset(d, 0, sizeof(*d));
	inst.g_bytes[15] = (uint8_t)n;
	d->echo = true;
	d->dev = vmbus_server_add_device(s, &cls, &inst, 0, 0, &dev_ops, d);
	CU_ASSERT_FATAL(d->dev != NULL);
}

/* ------------------------------------------------------------ guest side */

static uint16_t gsend(struct vmbus_server *s, uint32_t conn, const void *m,
		      size_t len)
{
	return vf_send_msg(s, conn, m, len);
}

static uint16_t contact(struct vmbus_server *s, uint32_t conn, uint32_t ver,
			uint32_t vcpu, uint64_t int_page)
{
	struct hvis_chmsg_initiate_contact m;

	vf_contact_msg(&m, ver, vcpu, HVIS_VMBUS_MESSAGE_SINT, int_page);
	m.ic_monitor_page1 = 0x7000;
	m.ic_monitor_page2 = 0x8000;
	return gsend(s, conn, &m, sizeof(m));
}

static void simple(struct vmbus_server *s, uint32_t type)
{
	struct hvis_chmsg_hdr h = { .ch_msgtype = type };

	CU_ASSERT_EQUAL(gsend(s, 1, &h, sizeof(h)), HVIS_STATUS_SUCCESS);
}

static void relid_msg(struct vmbus_server *s, uint32_t type, uint32_t relid)
{
	struct hvis_chmsg_relid m = { .rl_hdr.ch_msgtype = type,
				      .rl_child_relid = relid };

	CU_ASSERT_EQUAL(gsend(s, 1, &m, sizeof(m)), HVIS_STATUS_SUCCESS);
}

/* Linux's sequence at 5.3 (connection 4, then msg_conn_id 1). */
static void connect_53(struct vmbus_server *s)
{
	CU_ASSERT_EQUAL(contact(s, 4, V(5, 3), 0, 0), HVIS_STATUS_SUCCESS);
	simple(s, HVIS_CHMSG_REQUESTOFFERS);
	CU_ASSERT_EQUAL(vmbus_server_conn_state(s), VMBUS_CONN_OFFERED);
}

/* GPADL the way Linux sends it: one range, 26 PFNs in the header, 28 per
 * body. Returns how many body messages went out.
 */
static unsigned int gpadl_linux(struct vmbus_server *s, uint32_t relid,
				uint32_t handle, const uint64_t *pfns,
				uint32_t n)
{
	return vf_gpadl_send(&F, s, relid, handle, pfns, n);
}

static void contiguous(uint64_t *pfns, uint32_t first, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		pfns[i] = first + i;
}

/* The last GPADL_CREATED posted: its status, checking relid/handle. */
static uint32_t created_status(unsigned int i, uint32_t relid, uint32_t handle)
{
	struct hvis_chmsg_gpadl_created c;

	CU_ASSERT_EQUAL_FATAL(ptype(i), HVIS_CHMSG_GPADL_CREATED);
	memcpy(&c, F.msgs[i].b, sizeof(c));
	CU_ASSERT_EQUAL(c.gc_child_relid, relid);
	CU_ASSERT_EQUAL(c.gc_gpadl, handle);
	return c.gc_creation_status;
}

static void open_msg(struct vmbus_server *s, uint32_t relid, uint32_t openid,
		     uint32_t gpadl, uint32_t vp, uint32_t offset)
{
	struct hvis_chmsg_open m;

	vf_open_msg(&m, relid, gpadl, vp, offset);
	m.op_openid = openid;
	m.op_user_data[0] = 0x5A;
	CU_ASSERT_EQUAL(gsend(s, 1, &m, sizeof(m)), HVIS_STATUS_SUCCESS);
}

static uint32_t open_status(unsigned int i, uint32_t relid, uint32_t openid)
{
	struct hvis_chmsg_open_result r;

	CU_ASSERT_EQUAL_FATAL(ptype(i), HVIS_CHMSG_OPENCHANNEL_RESULT);
	memcpy(&r, F.msgs[i].b, sizeof(r));
	CU_ASSERT_EQUAL(r.or_child_relid, relid);
	CU_ASSERT_EQUAL(r.or_openid, openid);
	return r.or_status;
}

static void teardown_msg(struct vmbus_server *s, uint32_t relid,
			 uint32_t handle)
{
	struct hvis_chmsg_gpadl_teardown m = {
		.gt_hdr.ch_msgtype = HVIS_CHMSG_GPADL_TEARDOWN,
		.gt_child_relid = relid, .gt_gpadl = handle };

	CU_ASSERT_EQUAL(gsend(s, 1, &m, sizeof(m)), HVIS_STATUS_SUCCESS);
}

/* A ring GPADL of @n contiguous pages at @pfn0, zeroed, and open it with
 * the guest's receive ring at @n/2.
 */
static void open_ring(struct vmbus_server *s, uint32_t relid, uint32_t handle,
		      uint32_t pfn0, uint32_t n, uint32_t vp)
{
	uint64_t pfns[256];

	CU_ASSERT_FATAL(n <= 256);
	memset(F.gmem + (size_t)pfn0 * PG, 0, (size_t)n * PG);
	contiguous(pfns, pfn0, n);
	clear();
	gpadl_linux(s, relid, handle, pfns, n);
	CU_ASSERT_EQUAL(created_status(F.nmsgs - 1, relid, handle), 0);
	open_msg(s, relid, relid, handle, vp, n / 2);
	CU_ASSERT_EQUAL(open_status(F.nmsgs - 1, relid, relid), 0);
	clear();
}

/* ------------------------------------------------------------ tests */

static void test_linux61_connect(void)
{
	struct vmbus_server *s;
	struct hvis_chmsg_version_response vr;
	struct hvis_chmsg_offer of;
	struct fdev d[3];
	struct hvis_guid kvp = HVIS_GUID_KVP, hb = HVIS_GUID_HEARTBEAT;

	fake_init();
	s = server(0);
	for (unsigned int i = 0; i < 3; i++)
		add_dev(s, &d[i], i);
	CU_ASSERT_EQUAL(vmbus_device_state(d[0].dev), VMBUS_CHAN_IDLE);

	/* INITIATE_CONTACT 5.3 on connection 4, answer on vp 1 SINT 2 */
	CU_ASSERT_EQUAL(contact(s, 4, V(5, 3), 1, 0), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_VERSION_RESPONSE);
	CU_ASSERT_EQUAL(F.msgs[0].len, sizeof(vr));
	CU_ASSERT_EQUAL(F.msgs[0].vp, 1);
	CU_ASSERT_EQUAL(F.msgs[0].sint, HVIS_VMBUS_MESSAGE_SINT);
	memcpy(&vr, F.msgs[0].b, sizeof(vr));
	CU_ASSERT_EQUAL(vr.vr_version_supported, 1);
	CU_ASSERT_EQUAL(vr.vr_connection_state, 0);
	CU_ASSERT_EQUAL(vr.vr_msg_conn_id, HVIS_VMBUS_MESSAGE_CONNECTION_ID);
	CU_ASSERT_EQUAL(vmbus_server_conn_state(s), VMBUS_CONN_CONNECTED);
	CU_ASSERT_EQUAL(vmbus_server_version(s), V(5, 3));

	/* REQUESTOFFERS on msg_conn_id: three offers, then ALLOFFERS */
	clear();
	simple(s, HVIS_CHMSG_REQUESTOFFERS);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 4);
	for (unsigned int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(ptype(i), HVIS_CHMSG_OFFERCHANNEL);
		CU_ASSERT_EQUAL(F.msgs[i].len, sizeof(of));
		CU_ASSERT_EQUAL(F.msgs[i].vp, 1);
		memcpy(&of, F.msgs[i].b, sizeof(of));
		CU_ASSERT_EQUAL(of.of_child_relid, i + 1);
		CU_ASSERT_EQUAL(of.of_connection_id, CONNID(i + 1));
		CU_ASSERT_EQUAL(of.of_dedicated_interrupt, 1);
		CU_ASSERT_EQUAL(of.of_monitor_allocated, 0);
		CU_ASSERT_EQUAL(of.of_sub_channel_index, 0);
		CU_ASSERT(memcmp(&of.of_if_type, &hb, 16) == 0);
		CU_ASSERT_EQUAL(of.of_if_instance.g_bytes[15], i);
		CU_ASSERT(memcmp(&of.of_if_instance, &kvp, 15) == 0);
		CU_ASSERT_EQUAL(d[i].offers, 1);
		CU_ASSERT_EQUAL(d[i].offered_relid, i + 1);
		CU_ASSERT_EQUAL(vmbus_device_state(d[i].dev), VMBUS_CHAN_OFFERED);
		CU_ASSERT_EQUAL(vmbus_device_relid(d[i].dev), i + 1);
	}
	CU_ASSERT_EQUAL(ptype(3), HVIS_CHMSG_ALLOFFERS_DELIVERED);
	CU_ASSERT_EQUAL(vmbus_server_conn_state(s), VMBUS_CONN_OFFERED);

	/* a second REQUESTOFFERS is ignored */
	clear();
	simple(s, HVIS_CHMSG_REQUESTOFFERS);
	CU_ASSERT_EQUAL(F.nmsgs, 0);

	vmbus_server_destroy(s);
	for (unsigned int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(d[i].rescinds, 1);
		CU_ASSERT_EQUAL(d[i].closes, 0);
	}
	fake_fini();
}

/* Linux 6.1's loop: 5.3 .. 2.4, connection 4 from 5.0, -EINVAL on
 * INVALID_CONNECTION_ID moves to the next version.
 */
static const uint32_t linux61[] = {
	V(5, 3), V(5, 2), V(5, 1), V(5, 0), V(4, 1), V(4, 0), V(3, 0), V(2, 4)
};

static void test_versions_capped(void)
{
	for (unsigned int c = 0; c < 8; c++) {
		uint32_t cap = linux61[c], got = 0;
		unsigned int refused_conn = 0, refused_ver = 0;
		struct vmbus_server *s;

		fake_init();
		s = server(cap);
		for (unsigned int i = 0; i < 8 && !got; i++) {
			uint32_t ver = linux61[i];
			uint32_t conn = ver >= V(5, 0) ? 4 : 1;
			struct hvis_chmsg_version_response vr;
			uint16_t st;

			clear();
			st = contact(s, conn, ver, 0, 0x3000);
			if (st == HVIS_STATUS_INVALID_CONNECTION_ID) {
				refused_conn++;
				CU_ASSERT_EQUAL(F.nmsgs, 0);
				continue;
			}
			CU_ASSERT_EQUAL(st, HVIS_STATUS_SUCCESS);
			CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
			memcpy(&vr, F.msgs[0].b, sizeof(vr));
			if (vr.vr_version_supported) {
				got = ver;
				CU_ASSERT_EQUAL(vr.vr_msg_conn_id,
						ver >= V(5, 0) ? 1 : ver);
			} else {
				refused_ver++;
				CU_ASSERT_EQUAL(vmbus_server_conn_state(s),
						VMBUS_CONN_DISCONNECTED);
			}
		}
		CU_ASSERT_EQUAL(got, cap);
		CU_ASSERT_EQUAL(vmbus_server_version(s), cap);
		/* below 5.0 the four 5.x tries fail on connection 4 */
		CU_ASSERT_EQUAL(refused_conn, cap < V(5, 0) ? 4 : 0);
		CU_ASSERT_EQUAL(refused_ver + refused_conn, c);
		simple(s, HVIS_CHMSG_REQUESTOFFERS);
		CU_ASSERT_EQUAL(vmbus_server_conn_state(s), VMBUS_CONN_OFFERED);
		vmbus_server_destroy(s);
		fake_fini();
	}
}

static void test_connection_ids(void)
{
	struct vmbus_server *s;
	struct hvis_chmsg_hdr h = { .ch_msgtype = HVIS_CHMSG_REQUESTOFFERS };
	uint8_t big[241];

	fake_init();
	s = server(V(4, 1));
	CU_ASSERT_EQUAL(contact(s, 4, V(5, 3), 0, 0),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	CU_ASSERT_EQUAL(gsend(s, 4, &h, sizeof(h)),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	CU_ASSERT_EQUAL(gsend(s, 2, &h, sizeof(h)),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	CU_ASSERT_EQUAL(gsend(s, 7, &h, sizeof(h)),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	memset(big, 0, sizeof(big));
	CU_ASSERT_EQUAL(gsend(s, 1, big, sizeof(big)),
			HVIS_STATUS_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	/* version above the cap on connection 1: refused, not an error */
	CU_ASSERT_EQUAL(contact(s, 1, V(5, 0), 0, 0), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(F.msgs[0].b[8], 0);
	CU_ASSERT_EQUAL(contact(s, 1, V(4, 1), 2, 0x3000), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(F.msgs[1].b[8], 1);
	CU_ASSERT_EQUAL(F.msgs[1].vp, 2);	/* 3.0+: target_vcpu */
	vmbus_server_destroy(s);

	/* 5.0+ allowed: 4 and the configured msg_conn_id work */
	s = server(0);
	CU_ASSERT_EQUAL(contact(s, 4, V(5, 0), 0, 0), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(gsend(s, 4, &h, sizeof(h)), HVIS_STATUS_SUCCESS);
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_contact_bad(void)
{
	struct vmbus_server *s;
	struct hvis_chmsg_initiate_contact m;
	static const uint32_t bad_versions[] = {
		V(6, 0), V(3, 5), V(0, 0), V(2, 3), 0xFFFFFFFF
	};

	fake_init();
	s = server(0);
	for (unsigned int i = 0; i < 5; i++) {
		clear();
		contact(s, 4, bad_versions[i], 0, 0x3000);
		CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
		CU_ASSERT_EQUAL(F.msgs[0].b[8], 0);
		CU_ASSERT_EQUAL(vmbus_server_conn_state(s),
				VMBUS_CONN_DISCONNECTED);
	}
	/* target vcpu beyond the VPs: refused, answered on vp 0 */
	clear();
	contact(s, 4, V(5, 3), NVPS, 0);
	CU_ASSERT_EQUAL(F.msgs[0].b[8], 0);
	CU_ASSERT_EQUAL(F.msgs[0].vp, 0);
	/* SINT 16, VTL 1 */
	memset(&m, 0, sizeof(m));
	m.ic_hdr.ch_msgtype = HVIS_CHMSG_INITIATE_CONTACT;
	m.ic_version_requested = V(5, 3);
	m.ic_msg_sint = 16;
	clear();
	gsend(s, 4, &m, sizeof(m));
	CU_ASSERT_EQUAL(F.msgs[0].b[8], 0);
	CU_ASSERT_EQUAL(F.msgs[0].sint, HVIS_VMBUS_MESSAGE_SINT);
	m.ic_msg_sint = 5;
	m.ic_msg_vtl = 1;
	clear();
	gsend(s, 4, &m, sizeof(m));
	CU_ASSERT_EQUAL(F.msgs[0].b[8], 0);
	/* 5.0+ honours msg_sint */
	m.ic_msg_vtl = 0;
	clear();
	gsend(s, 4, &m, sizeof(m));
	CU_ASSERT_EQUAL(F.msgs[0].b[8], 1);
	CU_ASSERT_EQUAL(F.msgs[0].sint, 5);
	/* 0.13 without an interrupt page, misaligned, outside memory */
	vmbus_server_destroy(s);
	s = server(0);
	clear();
	contact(s, 1, V(0, 13), 0, 0);
	CU_ASSERT_EQUAL(F.msgs[0].b[8], 0);
	contact(s, 1, V(0, 13), 0, 0x3004);
	CU_ASSERT_EQUAL(F.msgs[1].b[8], 0);
	contact(s, 1, V(1, 1), 0, (uint64_t)MEM_PAGES * PG);
	CU_ASSERT_EQUAL(F.msgs[2].b[8], 0);
	CU_ASSERT_EQUAL(vmbus_server_conn_state(s), VMBUS_CONN_DISCONNECTED);
	CU_ASSERT_EQUAL(F.maps, 0);
	vmbus_server_destroy(s);
	fake_fini();
}

/* Pre-2.4: interrupt page for both directions, event flag 0. */
static void old_version(uint32_t ver)
{
	struct vmbus_server *s;
	struct fdev d;
	struct hvis_chmsg_offer of;
	struct hvis_chmsg_version_response vr;
	struct hvis_ring gw, gr;
	uint64_t int_gpa = 0x5000;
	uint32_t *recv_half = (uint32_t *)(F.gmem + int_gpa);
	uint32_t *send_half = (uint32_t *)(F.gmem + int_gpa + PG / 2);
	uint8_t *ring = F.gmem + 200 * PG;
	uint64_t payload = 0x1122334455667788ull, back[4];
	struct hvis_pkt_desc desc = { .pd_type = HVIS_PKT_DATA_INBAND,
				      .pd_trans_id = 9 };
	struct hvis_iov iov = { &payload, 8 };
	struct hvis_ring_pkt pkt;
	uint32_t len;
	bool sig;

	s = server(0);
	add_dev(s, &d, 0);
	memset(F.gmem + int_gpa, 0, PG);
	clear();
	/* target_vcpu is ignored before 3.0: answers go to vp 0 */
	CU_ASSERT_EQUAL(contact(s, 1, ver, 3, int_gpa), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(F.msgs[0].vp, 0);
	memcpy(&vr, F.msgs[0].b, sizeof(vr));
	CU_ASSERT_EQUAL(vr.vr_version_supported, 1);
	CU_ASSERT_EQUAL(F.last_port, HVIS_VMBUS_EVENT_CONNECTION_ID);
	simple(s, HVIS_CHMSG_REQUESTOFFERS);
	memcpy(&of, F.msgs[1].b, sizeof(of));
	CU_ASSERT_EQUAL(of.of_child_relid, 1);
	if (ver == V(0, 13)) {
		CU_ASSERT_EQUAL(of.of_connection_id, 0);
		CU_ASSERT_EQUAL(of.of_dedicated_interrupt, 0);
	} else {
		CU_ASSERT_EQUAL(of.of_connection_id, CONNID(1));
		CU_ASSERT_EQUAL(of.of_dedicated_interrupt, 1);
	}

	open_ring(s, 1, 0xE1E10, 200, 8, 0);
	CU_ASSERT_EQUAL(d.opens, 1);
	CU_ASSERT_EQUAL(d.info.version, ver);
	CU_ASSERT_EQUAL(hvis_ring_attach(&gw, (void *)ring, ring + PG, 3 * PG,
					 HVIS_RING_WRITER), 0);
	CU_ASSERT_EQUAL(hvis_ring_attach(&gr, (void *)(ring + 4 * PG),
					 ring + 5 * PG, 3 * PG,
					 HVIS_RING_READER), 0);

	/* guest -> host: send-half bit + connection 2 (0.13) or the channel's
	 * own connection id (1.1, dedicated)
	 */
	CU_ASSERT_EQUAL(hvis_ring_send(&gw, &desc, 0, &iov, 1, &sig), 0);
	CU_ASSERT(sig);
	if (ver == V(0, 13)) {
		CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(1)),
				HVIS_STATUS_INVALID_CONNECTION_ID);
		CU_ASSERT_EQUAL(d.packets, 0);
		__atomic_fetch_or(send_half, 1u << 1, __ATOMIC_SEQ_CST);
		CU_ASSERT_EQUAL(vmbus_server_signal(s, 2), HVIS_STATUS_SUCCESS);
		CU_ASSERT_EQUAL(send_half[0], 0);	/* consumed */
	} else {
		CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(1)),
				HVIS_STATUS_SUCCESS);
	}
	CU_ASSERT_EQUAL(d.packets, 1);
	/* host -> guest: recv-half bit 1, event flag 0 on SINT 2 of vp 0 */
	CU_ASSERT_EQUAL_FATAL(F.nsig, 1);
	CU_ASSERT_EQUAL(F.sig_flag[0], 0);
	CU_ASSERT_EQUAL(F.sig_sint[0], HVIS_VMBUS_MESSAGE_SINT);
	CU_ASSERT_EQUAL(F.sig_vp[0], 0);
	CU_ASSERT_EQUAL(recv_half[0], 1u << 1);
	len = sizeof(back);
	CU_ASSERT_EQUAL(hvis_ring_read(&gr, back, &len, &pkt), 0);
	CU_ASSERT_EQUAL(back[2], payload);
	CU_ASSERT_EQUAL(pkt.desc.pd_trans_id, 9);

	/* pre-3.0 Linux does not UNLOAD; a new contact resets everything */
	clear();
	CU_ASSERT_EQUAL(contact(s, 1, ver, 0, int_gpa), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(d.closes, 1);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_count(s), 0);
	CU_ASSERT_EQUAL(F.nmsgs, 1);
	vmbus_server_destroy(s);
	CU_ASSERT_EQUAL(F.maps, 0);
}

static void test_version_013_11(void)
{
	fake_init();
	old_version(V(0, 13));
	old_version(V(1, 1));
	fake_fini();
}

static void test_gpadl_header_bodies(void)
{
	struct vmbus_server *s;
	struct fdev d;
	uint64_t pfns[64];
	uint8_t buf[HVIS_MESSAGE_PAYLOAD_MAX];
	uint32_t len;
	void *view;
	uint32_t bytes;

	fake_init();
	s = server(0);
	add_dev(s, &d, 0);
	connect_53(s);
	/* scattered pages, backwards */
	for (unsigned int i = 0; i < 64; i++)
		pfns[i] = 500 - 3 * i;
	clear();
	len = vf_gpadl_header_msg(buf, 1, 0xE1E10, 1, 8 + 64 * 8, 64 * PG, 0,
			       pfns, 26);
	CU_ASSERT_EQUAL(len, 236);	/* 28 + 26 * 8 */
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 0xE1E10),
			VMBUS_GPADL_PENDING);
	len = vf_gpadl_body_msg(buf, 0xE1E10, pfns + 26, 28);
	CU_ASSERT_EQUAL(len, 240);
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	len = vf_gpadl_body_msg(buf, 0xE1E10, pfns + 54, 10);
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(created_status(0, 1, 0xE1E10), 0);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 0xE1E10), VMBUS_GPADL_READY);
	CU_ASSERT_EQUAL(F.maps, 1);

	/* the view maps exactly those pages, in order: borrow it while open */
	open_ring(s, 1, 0xE1E11, 300, 4, 0);
	CU_ASSERT_EQUAL(vmbus_device_gpadl_get(d.dev, 0xE1E10, &view, &bytes), 0);
	CU_ASSERT_EQUAL(bytes, 64 * PG);
	for (unsigned int i = 0; i < 64; i++) {
		F.gmem[pfns[i] * PG + 7] = (uint8_t)(i + 1);
		CU_ASSERT_EQUAL(((uint8_t *)view)[i * PG + 7], i + 1);
	}
	/* teardown while borrowed: deferred until the put */
	clear();
	teardown_msg(s, 1, 0xE1E10);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 0xE1E10),
			VMBUS_GPADL_TEARDOWN);
	CU_ASSERT_EQUAL(vmbus_device_gpadl_get(d.dev, 0xE1E10, &view, &bytes),
			-ENOENT);
	vmbus_device_gpadl_put(d.dev, 0xE1E10);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_GPADL_TORNDOWN);
	CU_ASSERT_EQUAL(F.msgs[0].b[8], 0x10);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 0xE1E10), VMBUS_GPADL_NONE);

	/* a borrow ends with the close: teardown completes at close */
	gpadl_linux(s, 1, 0xE1E12, pfns, 30);
	CU_ASSERT_EQUAL(vmbus_device_gpadl_get(d.dev, 0xE1E12, &view, &bytes), 0);
	clear();
	teardown_msg(s, 1, 0xE1E12);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	relid_msg(s, HVIS_CHMSG_CLOSECHANNEL, 1);
	CU_ASSERT_EQUAL(d.closes, 1);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_GPADL_TORNDOWN);

	vmbus_server_destroy(s);
	fake_fini();
}

/* A GPADL that fits the header alone, and a 2-range one. */
static void test_gpadl_small_and_multirange(void)
{
	struct vmbus_server *s;
	struct fdev d;
	uint8_t buf[HVIS_MESSAGE_PAYLOAD_MAX];
	uint64_t pfns[4] = { 10, 11, 40, 41 };
	struct hvis_gpa_range r2 = { 5000, 100 };
	uint32_t len;

	fake_init();
	s = server(0);
	add_dev(s, &d, 0);
	connect_53(s);
	clear();
	CU_ASSERT_EQUAL(gpadl_linux(s, 1, 7, pfns, 1), 0);
	CU_ASSERT_EQUAL(created_status(0, 1, 7), 0);

	/* range 1: 2 pages at offset 0; range 2: 5000 bytes at offset 100
	 * = 2 pages
	 */
	len = vf_gpadl_header_msg(buf, 1, 8, 2, 8 + 16 + 8 + 16, 2 * PG, 0, pfns, 2);
	memcpy(buf + len, &r2, 8);
	memcpy(buf + len + 8, pfns + 2, 16);
	len += 24;
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL(created_status(1, 1, 8), 0);
	/* not a ring: one range of whole pages is required */
	open_msg(s, 1, 1, 8, 0, 2);
	CU_ASSERT_EQUAL(open_status(2, 1, 1), VMBUS_STATUS_UNSUCCESSFUL);
	vmbus_server_destroy(s);
	fake_fini();
}

struct bad_gpadl {
	const char *what;
	uint32_t relid;
	uint16_t rangecount;
	uint16_t buflen;
	uint32_t byte_count, byte_offset;
	uint32_t npfn_header;		/* PFNs in the header */
	uint32_t npfn_body;		/* PFNs in one body (0 = none) */
	uint32_t extra_bytes;		/* odd trailing bytes */
	uint64_t bad_pfn;		/* replaces the first PFN if set */
	bool expect_answer;		/* a GPADL_CREATED failure */
};

static const struct bad_gpadl bad_gpadls[] = {
	{ "PFN outside memory", 1, 1, 8 + 3 * 8, 3 * PG, 0, 3, 0, 0,
	  MEM_PAGES, true },
	{ "huge PFN", 1, 1, 8 + 1 * 8, PG, 0, 1, 0, 0, ~0ull, true },
	{ "byte_count needs more PFNs than buflen", 1, 1, 8 + 2 * 8, 3 * PG,
	  0, 2, 0, 0, 0, true },
	{ "buflen larger than the range", 1, 1, 8 + 4 * 8, 2 * PG, 0, 4, 0, 0,
	  0, true },
	{ "more PFNs than buflen (header)", 1, 1, 8 + 2 * 8, 2 * PG, 0, 3, 0,
	  0, 0, true },
	{ "more PFNs than buflen (body)", 1, 1, 8 + 30 * 8, 30 * PG, 0, 26, 28,
	  0, 0, true },
	{ "rangecount 0", 1, 0, 8 + 8, PG, 0, 1, 0, 0, 0, true },
	{ "rangecount beyond buflen", 1, 3, 8 + 8, PG, 0, 1, 0, 0, 0, true },
	{ "buflen not a multiple of 8", 1, 1, 8 + 8 + 4, PG, 0, 1, 0, 0, 0,
	  true },
	{ "byte_count 0", 1, 1, 8 + 8, 0, 0, 1, 0, 0, 0, true },
	{ "byte_offset beyond a page", 1, 1, 8 + 8, 16, PG, 1, 0, 0, 0, true },
	{ "odd trailing bytes", 1, 1, 8 + 16, 2 * PG, 0, 1, 0, 4, 0, true },
	{ "unknown relid", 9, 1, 8 + 8, PG, 0, 1, 0, 0, 0, true },
	{ "relid 0", 0, 1, 8 + 8, PG, 0, 1, 0, 0, 0, true },
};

static void test_gpadl_bad(void)
{
	struct vmbus_server *s;
	struct fdev d;
	uint8_t buf[HVIS_MESSAGE_PAYLOAD_MAX];
	uint64_t pfns[64];
	uint32_t len;
	struct vmbus_server_stats st0, st1;

	fake_init();
	s = server(0);
	add_dev(s, &d, 0);
	connect_53(s);
	for (unsigned int i = 0; i < sizeof(bad_gpadls) / sizeof(bad_gpadls[0]);
	     i++) {
		const struct bad_gpadl *b = &bad_gpadls[i];
		uint32_t handle = 0x100 + i;

		contiguous(pfns, 20, 64);
		if (b->bad_pfn)
			pfns[0] = b->bad_pfn;
		clear();
		vmbus_server_get_stats(s, &st0);
		len = vf_gpadl_header_msg(buf, b->relid, handle, b->rangecount,
				       b->buflen, b->byte_count, b->byte_offset,
				       pfns, b->npfn_header);
		memset(buf + len, 0, b->extra_bytes);
		gsend(s, 1, buf, len + b->extra_bytes);
		if (b->npfn_body && F.nmsgs == 0) {
			len = vf_gpadl_body_msg(buf, handle, pfns + 26, b->npfn_body);
			gsend(s, 1, buf, len);
		}
		vmbus_server_get_stats(s, &st1);
		if (F.nmsgs != 1) {
			CU_FAIL(b->what);
		} else {
			CU_ASSERT_EQUAL(created_status(0, b->relid, handle),
					VMBUS_STATUS_UNSUCCESSFUL);
		}
		CU_ASSERT(st1.msgs_ignored > st0.msgs_ignored);
		CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, handle),
				VMBUS_GPADL_NONE);
		CU_ASSERT_EQUAL(vmbus_server_gpadl_count(s), 0);
		CU_ASSERT_EQUAL(F.maps, 0);
	}

	/* body for an unknown handle: nobody to answer, ignored */
	clear();
	len = vf_gpadl_body_msg(buf, 0xBAD, pfns, 3);
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL(F.nmsgs, 0);

	/* duplicate handle: the second fails, the first survives */
	contiguous(pfns, 20, 64);
	gpadl_linux(s, 1, 0x42, pfns, 2);
	CU_ASSERT_EQUAL(created_status(0, 1, 0x42), 0);
	gpadl_linux(s, 1, 0x42, pfns, 3);
	CU_ASSERT_EQUAL(created_status(1, 1, 0x42), VMBUS_STATUS_UNSUCCESSFUL);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 0x42), VMBUS_GPADL_READY);
	/* body after completion: ignored; empty body of a pending one fails */
	clear();
	len = vf_gpadl_body_msg(buf, 0x42, pfns, 1);
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	len = vf_gpadl_header_msg(buf, 1, 0x43, 1, 8 + 40 * 8, 40 * PG, 0, pfns, 26);
	gsend(s, 1, buf, len);
	len = vf_gpadl_body_msg(buf, 0x43, pfns, 0);
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL(created_status(0, 1, 0x43), VMBUS_STATUS_UNSUCCESSFUL);
	/* a pending GPADL's handle is taken too */
	clear();
	len = vf_gpadl_header_msg(buf, 1, 0x44, 1, 8 + 40 * 8, 40 * PG, 0, pfns, 26);
	gsend(s, 1, buf, len);
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL(created_status(0, 1, 0x44), VMBUS_STATUS_UNSUCCESSFUL);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 0x44), VMBUS_GPADL_PENDING);
	/* teardown of a pending, unknown, other channel's GPADL: ignored */
	clear();
	teardown_msg(s, 1, 0x44);
	teardown_msg(s, 1, 0x999);
	teardown_msg(s, 2, 0x42);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_count(s), 2);
	/* an unused one: torn down at once; twice: ignored */
	teardown_msg(s, 1, 0x42);
	teardown_msg(s, 1, 0x42);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_GPADL_TORNDOWN);
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_gpadl_limits(void)
{
	struct vmbus_server_options o = { .nvps = 1, .max_gpadls = 3,
					  .max_gpadl_pages = 40 };
	struct vmbus_server *s;
	struct fdev d;
	uint64_t pfns[64];

	fake_init();
	s = vmbus_server_create(&o, &fake_ops);
	CU_ASSERT_FATAL(s != NULL);
	add_dev(s, &d, 0);
	connect_53(s);
	contiguous(pfns, 20, 64);
	clear();
	gpadl_linux(s, 1, 1, pfns, 30);		/* reserves 31 "pages" */
	gpadl_linux(s, 1, 2, pfns, 10);		/* 31 + 11 > 40 */
	gpadl_linux(s, 1, 3, pfns, 2);
	gpadl_linux(s, 1, 4, pfns, 2);
	gpadl_linux(s, 1, 5, pfns, 2);		/* a fourth GPADL */
	CU_ASSERT_EQUAL(created_status(0, 1, 1), 0);
	CU_ASSERT_EQUAL(created_status(1, 1, 2), VMBUS_STATUS_UNSUCCESSFUL);
	CU_ASSERT_EQUAL(created_status(2, 1, 3), 0);
	CU_ASSERT_EQUAL(created_status(3, 1, 4), 0);
	CU_ASSERT_EQUAL(created_status(4, 1, 5), VMBUS_STATUS_UNSUCCESSFUL);
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_open_close(void)
{
	struct vmbus_server *s;
	struct fdev d[2];
	uint64_t pfns[64];
	uint8_t buf[HVIS_MESSAGE_PAYLOAD_MAX];
	uint32_t len;
	struct {
		const char *what;
		uint32_t gpadl, vp, offset;
	} bad[] = {
		{ "unknown gpadl", 0x99, 0, 8 },
		{ "other channel's gpadl", 0x20, 0, 8 },
		{ "pending gpadl", 0x30, 0, 8 },
		{ "offset 0", 0x10, 0, 0 },
		{ "offset 1", 0x10, 0, 1 },
		{ "offset npfn - 1", 0x10, 0, 15 },
		{ "offset npfn", 0x10, 0, 16 },
		{ "offset huge", 0x10, 0, 0xFFFFFFFF },
		{ "vp beyond", 0x10, NVPS, 8 },
		{ "tiny gpadl", 0x11, 0, 1 },
	};

	fake_init();
	s = server(0);
	add_dev(s, &d[0], 0);
	add_dev(s, &d[1], 1);
	connect_53(s);
	contiguous(pfns, 100, 64);
	clear();
	gpadl_linux(s, 1, 0x10, pfns, 16);
	gpadl_linux(s, 1, 0x11, pfns + 20, 3);
	gpadl_linux(s, 2, 0x20, pfns + 30, 16);
	len = vf_gpadl_header_msg(buf, 1, 0x30, 1, 8 + 40 * 8, 40 * PG, 0, pfns, 26);
	gsend(s, 1, buf, len);
	CU_ASSERT_EQUAL(F.nmsgs, 3);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear();
		open_msg(s, 1, 77, bad[i].gpadl, bad[i].vp, bad[i].offset);
		if (F.nmsgs != 1 ||
		    open_status(0, 1, 77) != VMBUS_STATUS_UNSUCCESSFUL)
			CU_FAIL(bad[i].what);
		CU_ASSERT_EQUAL(vmbus_device_state(d[0].dev), VMBUS_CHAN_OFFERED);
	}
	CU_ASSERT_EQUAL(d[0].opens, 0);

	/* the device refuses */
	d[0].open_rc = -EIO;
	clear();
	open_msg(s, 1, 1, 0x10, 1, 8);
	CU_ASSERT_EQUAL(open_status(0, 1, 1), VMBUS_STATUS_UNSUCCESSFUL);
	CU_ASSERT_EQUAL(d[0].opens, 1);
	CU_ASSERT_EQUAL(vmbus_device_state(d[0].dev), VMBUS_CHAN_OFFERED);
	CU_ASSERT_PTR_NULL(vmbus_device_in_ring(d[0].dev));

	/* valid */
	d[0].open_rc = 0;
	clear();
	F.ports_on = 0;
	open_msg(s, 1, 1, 0x10, 1, 8);
	CU_ASSERT_EQUAL(open_status(0, 1, 1), 0);
	CU_ASSERT_EQUAL(F.msgs[0].vp, 0);	/* to the contact's vp */
	CU_ASSERT_EQUAL(d[0].opens, 2);
	CU_ASSERT_EQUAL(d[0].info.relid, 1);
	CU_ASSERT_EQUAL(d[0].info.target_vp, 1);
	CU_ASSERT_EQUAL(d[0].info.in_ring_bytes, 7 * PG);
	CU_ASSERT_EQUAL(d[0].info.out_ring_bytes, 7 * PG);
	CU_ASSERT_EQUAL(d[0].info.version, V(5, 3));
	CU_ASSERT_EQUAL(d[0].user0, 0x5A);
	CU_ASSERT_EQUAL(F.ports_on, 1);
	CU_ASSERT_EQUAL(F.last_port, CONNID(1));
	CU_ASSERT_EQUAL(vmbus_device_state(d[0].dev), VMBUS_CHAN_OPEN);
	CU_ASSERT_EQUAL(vmbus_device_target_vp(d[0].dev), 1);
	CU_ASSERT_EQUAL(vmbus_device_connection_id(d[0].dev), CONNID(1));

	/* open again: ignored; the ring GPADL is busy for the other relid */
	clear();
	open_msg(s, 1, 2, 0x10, 0, 8);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	CU_ASSERT_EQUAL(d[0].opens, 2);

	/* signal: only the open channel's id */
	CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(1)), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(d[0].packets, 1);
	CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(2)),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(0)),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(300)),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	CU_ASSERT_EQUAL(vmbus_server_signal(s, 2),
			HVIS_STATUS_INVALID_CONNECTION_ID);

	/* teardown of the ring while open: deferred to the close */
	clear();
	teardown_msg(s, 1, 0x10);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 0x10), VMBUS_GPADL_TEARDOWN);
	CU_ASSERT_EQUAL(vmbus_device_state(d[0].dev), VMBUS_CHAN_OPEN);
	F.ports_off = 0;
	relid_msg(s, HVIS_CHMSG_CLOSECHANNEL, 1);
	CU_ASSERT_EQUAL(d[0].closes, 1);
	CU_ASSERT_EQUAL(F.ports_off, 1);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_GPADL_TORNDOWN);
	CU_ASSERT_EQUAL(vmbus_device_state(d[0].dev), VMBUS_CHAN_OFFERED);
	CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(1)),
			HVIS_STATUS_INVALID_CONNECTION_ID);
	/* close again: ignored */
	clear();
	relid_msg(s, HVIS_CHMSG_CLOSECHANNEL, 1);
	CU_ASSERT_EQUAL(d[0].closes, 1);
	CU_ASSERT_EQUAL(F.nmsgs, 0);

	/* Linux's order: close, then teardown (answered at once) */
	gpadl_linux(s, 2, 0x21, pfns + 48, 16);
	open_msg(s, 2, 2, 0x21, VMBUS_VP_NONE, 8);
	CU_ASSERT_EQUAL(open_status(1, 2, 2), 0);
	/* polled channel: a send never interrupts */
	{
		struct hvis_pkt_desc desc = { .pd_type = HVIS_PKT_DATA_INBAND };
		uint64_t x = 1;
		struct hvis_iov iov = { &x, 8 };

		F.nsig = 0;
		CU_ASSERT_EQUAL(vmbus_device_send(d[1].dev, &desc, 0, &iov, 1), 0);
		CU_ASSERT_EQUAL(F.nsig, 0);
	}
	clear();
	relid_msg(s, HVIS_CHMSG_CLOSECHANNEL, 2);
	teardown_msg(s, 2, 0x21);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_GPADL_TORNDOWN);
	/* reopen on a fresh GPADL works */
	gpadl_linux(s, 2, 0x22, pfns + 48, 16);
	open_msg(s, 2, 3, 0x22, 0, 4);
	CU_ASSERT_EQUAL(open_status(2, 2, 3), 0);
	CU_ASSERT_EQUAL(d[1].info.in_ring_bytes, 3 * PG);
	CU_ASSERT_EQUAL(d[1].info.out_ring_bytes, 11 * PG);
	/* a send on a closed channel is refused */
	{
		struct hvis_pkt_desc desc = { .pd_type = HVIS_PKT_DATA_INBAND };

		CU_ASSERT_EQUAL(vmbus_device_send(d[0].dev, &desc, 0, NULL, 0),
				-HVIS_RING_INVAL);
	}
	vmbus_server_destroy(s);
	CU_ASSERT_EQUAL(d[1].closes, 2);
	fake_fini();
}

static void test_packet_roundtrip(void)
{
	struct vmbus_server *s;
	struct fdev d;
	uint8_t *ring;
	struct hvis_ring gw, gr;
	struct hvis_ring_pkt pkt;
	uint8_t out[64], back[256];
	uint32_t len;
	bool sig;

	fake_init();
	s = server(0);
	add_dev(s, &d, 0);
	CU_ASSERT_EQUAL(contact(s, 4, V(5, 3), 2, 0), HVIS_STATUS_SUCCESS);
	simple(s, HVIS_CHMSG_REQUESTOFFERS);
	/* 64 pages: the guest's send ring 32 pages, receive ring 32 */
	open_ring(s, 1, 0xE1E10, 600, 64, 3);
	ring = F.gmem + 600 * PG;
	CU_ASSERT_EQUAL(hvis_ring_attach(&gw, (void *)ring, ring + PG, 31 * PG,
					 HVIS_RING_WRITER), 0);
	CU_ASSERT_EQUAL(hvis_ring_attach(&gr, (void *)(ring + 32 * PG),
					 ring + 33 * PG, 31 * PG,
					 HVIS_RING_READER), 0);
	CU_ASSERT_EQUAL(d.info.in_ring_bytes, 31 * PG);

	for (unsigned int round = 0; round < 200; round++) {
		struct hvis_pkt_desc desc = {
			.pd_type = HVIS_PKT_DATA_INBAND,
			.pd_flags = HVIS_PKT_FLAG_COMPLETION_REQUESTED,
			.pd_trans_id = 1000 + round };
		struct hvis_iov iov = { out, sizeof(out) };

		for (unsigned int i = 0; i < sizeof(out); i++)
			out[i] = (uint8_t)(round * 7 + i);
		CU_ASSERT_EQUAL_FATAL(hvis_ring_send(&gw, &desc, 0, &iov, 1,
						     &sig), 0);
		CU_ASSERT(sig);		/* host reader idle and unmasked */
		F.nsig = 0;
		CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(1)),
				HVIS_STATUS_SUCCESS);
		/* echoed on the other ring, the guest interrupted on vp 3 */
		CU_ASSERT_EQUAL_FATAL(F.nsig, 1);
		CU_ASSERT_EQUAL(F.sig_vp[0], 3);
		CU_ASSERT_EQUAL(F.sig_sint[0], HVIS_VMBUS_MESSAGE_SINT);
		CU_ASSERT_EQUAL(F.sig_flag[0], 1);
		len = sizeof(back);
		CU_ASSERT_EQUAL_FATAL(hvis_ring_read(&gr, back, &len, &pkt), 0);
		CU_ASSERT_EQUAL(pkt.desc.pd_trans_id, 1000 + round);
		CU_ASSERT_EQUAL(len - pkt.data_off, sizeof(out));
		CU_ASSERT(memcmp(back + pkt.data_off, out, sizeof(out)) == 0);
		CU_ASSERT_EQUAL(hvis_ring_commit(&gr, &sig), 0);
	}
	CU_ASSERT_EQUAL(d.packets, 200);
	/* MODIFYCHANNEL moves the interrupt (5.3: acknowledged) */
	{
		struct hvis_chmsg_modify m = {
			.mc_hdr.ch_msgtype = HVIS_CHMSG_MODIFYCHANNEL,
			.mc_child_relid = 1, .mc_target_vp = 0 };
		struct hvis_iov iov = { out, 8 };
		struct hvis_pkt_desc desc = { .pd_type = HVIS_PKT_DATA_INBAND };

		clear();
		gsend(s, 1, &m, sizeof(m));
		CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_MODIFYCHANNEL_RESPONSE);
		CU_ASSERT_EQUAL(F.msgs[0].b[12], 0);
		CU_ASSERT_EQUAL(hvis_ring_send(&gw, &desc, 0, &iov, 1, &sig), 0);
		vmbus_server_signal(s, CONNID(1));
		CU_ASSERT_EQUAL(F.sig_vp[0], 0);
	}
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_modify(void)
{
	static const uint32_t vers[] = { V(5, 3), V(5, 2), V(4, 1), V(4, 0) };

	fake_init();
	for (unsigned int i = 0; i < 4; i++) {
		struct vmbus_server *s = server(vers[i]);
		struct fdev d;
		struct hvis_chmsg_modify m = {
			.mc_hdr.ch_msgtype = HVIS_CHMSG_MODIFYCHANNEL,
			.mc_child_relid = 1, .mc_target_vp = 2 };
		struct hvis_chmsg_modify_response r;

		add_dev(s, &d, 0);
		contact(s, vers[i] >= V(5, 0) ? 4 : 1, vers[i], 0, 0);
		simple(s, HVIS_CHMSG_REQUESTOFFERS);
		open_ring(s, 1, 5, 40, 4, 1);
		gsend(s, 1, &m, sizeof(m));
		if (vers[i] == V(5, 3)) {
			CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
			memcpy(&r, F.msgs[0].b, sizeof(r));
			CU_ASSERT_EQUAL(r.mr_hdr.ch_msgtype,
					HVIS_CHMSG_MODIFYCHANNEL_RESPONSE);
			CU_ASSERT_EQUAL(r.mr_child_relid, 1);
			CU_ASSERT_EQUAL(r.mr_status, 0);
		} else {
			CU_ASSERT_EQUAL(F.nmsgs, 0);
		}
		/* 4.0 has no MODIFYCHANNEL: ignored */
		CU_ASSERT_EQUAL(vmbus_device_target_vp(d.dev),
				vers[i] >= V(4, 1) ? 2 : 1);
		/* bad vp, bad relid, closed channel: refused */
		clear();
		m.mc_target_vp = NVPS;
		gsend(s, 1, &m, sizeof(m));
		m.mc_target_vp = 0;
		m.mc_child_relid = 2;
		gsend(s, 1, &m, sizeof(m));
		relid_msg(s, HVIS_CHMSG_CLOSECHANNEL, 1);
		m.mc_child_relid = 1;
		gsend(s, 1, &m, sizeof(m));
		if (vers[i] == V(5, 3)) {
			CU_ASSERT_EQUAL_FATAL(F.nmsgs, 3);
			for (unsigned int k = 0; k < 3; k++) {
				memcpy(&r, F.msgs[k].b, sizeof(r));
				CU_ASSERT_EQUAL(r.mr_status,
						VMBUS_STATUS_UNSUCCESSFUL);
			}
		} else {
			CU_ASSERT_EQUAL(F.nmsgs, 0);
		}
		CU_ASSERT_EQUAL(vmbus_device_target_vp(d.dev),
				vers[i] >= V(4, 1) ? 2 : 1);
		vmbus_server_destroy(s);
	}
	fake_fini();
}

static void test_rescind(void)
{
	struct vmbus_server *s;
	struct fdev d[4];
	uint64_t pfns[16];
	struct hvis_chmsg_relid r;
	struct hvis_chmsg_offer of;

	fake_init();
	s = server(0);
	add_dev(s, &d[0], 0);
	add_dev(s, &d[1], 1);
	add_dev(s, &d[2], 2);
	/* never offered: released at once */
	vmbus_server_rescind(d[2].dev);
	CU_ASSERT_EQUAL(d[2].rescinds, 1);
	connect_53(s);
	CU_ASSERT_EQUAL(F.nmsgs, 4);		/* version, 2 offers, all */

	/* offered, closed: RESCIND, then RELID_RELEASED frees it */
	clear();
	vmbus_server_rescind(d[1].dev);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_RESCIND_CHANNELOFFER);
	memcpy(&r, F.msgs[0].b, sizeof(r));
	CU_ASSERT_EQUAL(r.rl_child_relid, 2);
	CU_ASSERT_EQUAL(vmbus_device_state(d[1].dev), VMBUS_CHAN_RESCINDED);
	CU_ASSERT_EQUAL(d[1].rescinds, 0);
	/* open after the rescind: silence (the rescind answered it) */
	clear();
	open_msg(s, 2, 2, 0x99, 0, 2);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	relid_msg(s, HVIS_CHMSG_RELID_RELEASED, 2);
	CU_ASSERT_EQUAL(d[1].rescinds, 1);
	CU_ASSERT_PTR_NULL(vmbus_server_device_by_relid(s, 2));
	/* released relid again: unknown */
	relid_msg(s, HVIS_CHMSG_RELID_RELEASED, 2);
	CU_ASSERT_EQUAL(F.nmsgs, 0);

	/* open channel with an extra GPADL: close, RESCIND; Linux then sends
	 * CLOSECHANNEL (ignored) and RELID_RELEASED, never a teardown
	 */
	contiguous(pfns, 50, 16);
	open_ring(s, 1, 0x10, 50, 8, 0);
	gpadl_linux(s, 1, 0x11, pfns + 8, 4);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_count(s), 2);
	clear();
	vmbus_server_rescind(d[0].dev);
	CU_ASSERT_EQUAL(d[0].closes, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_RESCIND_CHANNELOFFER);
	relid_msg(s, HVIS_CHMSG_CLOSECHANNEL, 1);
	/* a teardown for a rescinded channel is still answered */
	teardown_msg(s, 1, 0x11);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 2);
	CU_ASSERT_EQUAL(ptype(1), HVIS_CHMSG_GPADL_TORNDOWN);
	relid_msg(s, HVIS_CHMSG_RELID_RELEASED, 1);
	CU_ASSERT_EQUAL(F.nmsgs, 2);
	CU_ASSERT_EQUAL(d[0].rescinds, 1);
	CU_ASSERT_EQUAL(d[0].closes, 1);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_count(s), 0);
	CU_ASSERT_EQUAL(F.maps, 0);

	/* hot add after the offers: offered at once, lowest free relid */
	clear();
	add_dev(s, &d[3], 3);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	memcpy(&of, F.msgs[0].b, sizeof(of));
	CU_ASSERT_EQUAL(of.of_hdr.ch_msgtype, HVIS_CHMSG_OFFERCHANNEL);
	CU_ASSERT_EQUAL(of.of_child_relid, 1);
	CU_ASSERT_EQUAL(d[3].offers, 1);

	/* rescind from inside open(): no OPENCHANNEL_RESULT */
	d[3].rescind_in_open = true;
	contiguous(pfns, 70, 8);
	clear();
	gpadl_linux(s, 1, 0x30, pfns, 8);
	open_msg(s, 1, 1, 0x30, 0, 4);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 2);
	CU_ASSERT_EQUAL(ptype(1), HVIS_CHMSG_RESCIND_CHANNELOFFER);
	CU_ASSERT_EQUAL(d[3].closes, 0);
	CU_ASSERT_EQUAL(vmbus_device_state(d[3].dev), VMBUS_CHAN_RESCINDED);
	/* unload finishes the pending rescind */
	clear();
	simple(s, HVIS_CHMSG_UNLOAD);
	CU_ASSERT_EQUAL(d[3].rescinds, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_UNLOAD_RESPONSE);
	CU_ASSERT_EQUAL(F.maps, 0);
	vmbus_server_destroy(s);
	fake_fini();
}

/* The guest releases a relid it was never asked to (no driver): it is
 * not offered again until the next connection.
 */
static void test_guest_release(void)
{
	struct vmbus_server *s;
	struct fdev d;

	fake_init();
	s = server(0);
	add_dev(s, &d, 0);
	connect_53(s);
	clear();
	relid_msg(s, HVIS_CHMSG_RELID_RELEASED, 1);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	CU_ASSERT_EQUAL(vmbus_device_state(d.dev), VMBUS_CHAN_IDLE);
	CU_ASSERT_EQUAL(vmbus_device_relid(d.dev), 0);
	CU_ASSERT_EQUAL(d.rescinds, 0);
	simple(s, HVIS_CHMSG_UNLOAD);
	connect_53(s);
	CU_ASSERT_EQUAL(vmbus_device_relid(d.dev), 1);
	CU_ASSERT_EQUAL(d.offers, 2);
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_unload_reconnect(void)
{
	struct vmbus_server *s;
	struct fdev d[2];
	uint64_t pfns[8];
	struct vmbus_server_stats st;

	fake_init();
	s = server(0);
	add_dev(s, &d[0], 0);
	add_dev(s, &d[1], 1);
	connect_53(s);
	open_ring(s, 2, 0x10, 80, 8, 1);
	contiguous(pfns, 90, 8);
	gpadl_linux(s, 1, 0x11, pfns, 8);
	CU_ASSERT_EQUAL(F.maps, 2);

	clear();
	simple(s, HVIS_CHMSG_UNLOAD);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_UNLOAD_RESPONSE);
	CU_ASSERT_EQUAL(F.msgs[0].len, 8);
	CU_ASSERT_EQUAL(d[1].closes, 1);
	CU_ASSERT_EQUAL(d[0].closes, 0);
	CU_ASSERT_EQUAL(F.maps, 0);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_count(s), 0);
	CU_ASSERT_EQUAL(vmbus_server_conn_state(s), VMBUS_CONN_DISCONNECTED);
	CU_ASSERT_EQUAL(vmbus_device_state(d[0].dev), VMBUS_CHAN_IDLE);
	CU_ASSERT_EQUAL(vmbus_device_state(d[1].dev), VMBUS_CHAN_IDLE);
	/* disconnected: channel messages are ignored */
	clear();
	simple(s, HVIS_CHMSG_REQUESTOFFERS);
	relid_msg(s, HVIS_CHMSG_CLOSECHANNEL, 1);
	open_msg(s, 1, 1, 0x10, 0, 4);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	/* UNLOAD when already disconnected is still answered */
	simple(s, HVIS_CHMSG_UNLOAD);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_UNLOAD_RESPONSE);

	/* the kexec'd kernel connects again: same relids */
	clear();
	connect_53(s);
	CU_ASSERT_EQUAL(vmbus_device_relid(d[0].dev), 1);
	CU_ASSERT_EQUAL(vmbus_device_relid(d[1].dev), 2);
	open_ring(s, 2, 0x10, 80, 8, 1);	/* the same handle is free again */
	CU_ASSERT_EQUAL(d[1].opens, 2);

	/* INITIATE_CONTACT without UNLOAD (crash kernel): reset + connect */
	clear();
	CU_ASSERT_EQUAL(contact(s, 4, V(5, 2), 0, 0), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(d[1].closes, 2);
	CU_ASSERT_EQUAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_VERSION_RESPONSE);
	CU_ASSERT_EQUAL(vmbus_server_version(s), V(5, 2));
	CU_ASSERT_EQUAL(F.maps, 0);
	vmbus_server_get_stats(s, &st);
	CU_ASSERT(st.msgs_in > 10);
	vmbus_server_destroy(s);
	fake_fini();
}

struct bad_msg {
	const char *what;
	uint8_t bytes[48];
	uint32_t len;
};

#define U32(v)	(uint8_t)(v), (uint8_t)((v) >> 8), (uint8_t)((v) >> 16), \
		(uint8_t)((v) >> 24)

static const struct bad_msg bad_msgs[] = {
	{ "empty", { 0 }, 0 },
	{ "1 byte", { 3 }, 1 },
	{ "7 bytes", { 3, 0, 0, 0, 0, 0, 0 }, 7 },
	{ "type 0", { U32(0), U32(0) }, 8 },
	{ "type 18", { U32(18), U32(0) }, 8 },
	{ "type 20", { U32(20), U32(0) }, 8 },
	{ "type 25", { U32(25), U32(0) }, 8 },
	{ "type 99", { U32(99), U32(0), U32(1) }, 12 },
	{ "type ~0", { U32(0xFFFFFFFF), U32(0) }, 8 },
	{ "offer from guest", { U32(1), U32(0), U32(1) }, 48 },
	{ "rescind from guest", { U32(2), U32(0), U32(1) }, 12 },
	{ "alloffers from guest", { U32(4), U32(0) }, 8 },
	{ "open result from guest", { U32(6), U32(0), U32(1), U32(1), U32(0) }, 20 },
	{ "gpadl created from guest", { U32(10), U32(0), U32(1), U32(5) }, 20 },
	{ "torndown from guest", { U32(12), U32(0), U32(5) }, 12 },
	{ "version response from guest", { U32(15), U32(0), U32(1) }, 16 },
	{ "unload response from guest", { U32(17), U32(0) }, 8 },
	{ "tl connect result", { U32(23), U32(0) }, 48 },
	{ "modify response", { U32(24), U32(0), U32(1), U32(0) }, 16 },
	{ "contact too short", { U32(14), U32(0), U32(0x50003) }, 39 },
	{ "open too short", { U32(5), U32(0), U32(1), U32(1), U32(5) }, 28 },
	{ "close too short", { U32(7), U32(0), U32(1) }, 11 },
	{ "close relid 0", { U32(7), U32(0), U32(0) }, 12 },
	{ "close relid 999", { U32(7), U32(0), U32(999) }, 12 },
	{ "close relid ~0", { U32(7), U32(0), U32(0xFFFFFFFF) }, 12 },
	{ "gpadl header too short", { U32(8), U32(0), U32(1), U32(9) }, 19 },
	{ "gpadl body too short", { U32(9), U32(0), U32(0), U32(5) }, 15 },
	{ "gpadl body unknown", { U32(9), U32(0), U32(0), U32(0x77), U32(1),
				  U32(0) }, 24 },
	{ "teardown too short", { U32(11), U32(0), U32(1), U32(5) }, 15 },
	{ "teardown unknown", { U32(11), U32(0), U32(1), U32(0x77) }, 16 },
	{ "teardown bad relid", { U32(11), U32(0), U32(9), U32(5) }, 16 },
	{ "release open relid", { U32(13), U32(0), U32(1) }, 12 },
	{ "release relid 0", { U32(13), U32(0), U32(0) }, 12 },
	{ "release too short", { U32(13), U32(0), 1 }, 9 },
	{ "requestoffers again", { U32(3), U32(0) }, 8 },
	{ "open an open channel", { U32(5), U32(0), U32(1), U32(1), U32(5),
				    U32(0), U32(2) }, 148 },
	{ "open bad relid", { U32(5), U32(0), U32(200), U32(1), U32(5),
			      U32(0), U32(2) }, 148 },
	{ "modify too short", { U32(22), U32(0), U32(1) }, 15 },
	{ "modify to a missing vp", { U32(22), U32(0), U32(1), U32(99) }, 16 },
	{ "tl connect", { U32(21), U32(0) }, 40 },
	{ "tl connect too short", { U32(21), U32(0) }, 39 },
};

static void test_malformed(void)
{
	struct vmbus_server *s;
	struct fdev d[2];
	struct vmbus_server_stats st0, st1;

	fake_init();
	s = server(V(5, 2));
	add_dev(s, &d[0], 0);
	add_dev(s, &d[1], 1);
	CU_ASSERT_EQUAL(contact(s, 4, V(5, 2), 0, 0), HVIS_STATUS_SUCCESS);
	simple(s, HVIS_CHMSG_REQUESTOFFERS);
	open_ring(s, 1, 5, 30, 4, 0);
	for (unsigned int i = 0; i < sizeof(bad_msgs) / sizeof(bad_msgs[0]);
	     i++) {
		const struct bad_msg *b = &bad_msgs[i];
		uint8_t buf[240];

		memset(buf, 0, sizeof(buf));
		memcpy(buf, b->bytes, sizeof(b->bytes));
		clear();
		vmbus_server_get_stats(s, &st0);
		CU_ASSERT_EQUAL(gsend(s, 1, buf, b->len), HVIS_STATUS_SUCCESS);
		vmbus_server_get_stats(s, &st1);
		if (F.nmsgs || F.nsig || st1.msgs_ignored != st0.msgs_ignored + 1)
			CU_FAIL(b->what);
		/* no state damage */
		CU_ASSERT_EQUAL(vmbus_server_conn_state(s), VMBUS_CONN_OFFERED);
		CU_ASSERT_EQUAL(vmbus_server_version(s), V(5, 2));
		CU_ASSERT_EQUAL(vmbus_device_state(d[0].dev), VMBUS_CHAN_OPEN);
		CU_ASSERT_EQUAL(vmbus_device_state(d[1].dev), VMBUS_CHAN_OFFERED);
		CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 5), VMBUS_GPADL_READY);
		CU_ASSERT_EQUAL(d[0].opens, 1);
		CU_ASSERT_EQUAL(d[0].closes, 0);
		CU_ASSERT_EQUAL(d[0].rescinds + d[1].rescinds, 0);
	}
	/* and the channel still works */
	CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(1)), HVIS_STATUS_SUCCESS);
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_backlog(void)
{
	struct vmbus_server *s;
	struct fdev d[3];
	uint64_t pfn = 5;
	unsigned int n = 0;
	uint16_t st = HVIS_STATUS_SUCCESS;

	fake_init();
	s = server(0);
	for (unsigned int i = 0; i < 3; i++)
		add_dev(s, &d[i], i);
	F.post_rc = -EAGAIN;		/* the guest never drains its SINT */
	connect_53(s);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	CU_ASSERT_EQUAL(vmbus_server_backlog(s), 5);
	/* each GPADL answers one message; refused once the backlog is full */
	while (st == HVIS_STATUS_SUCCESS && n < 1000) {
		uint8_t buf[240];
		uint32_t len = vf_gpadl_header_msg(buf, 1, 100 + n, 1, 16, PG, 0,
						&pfn, 1);

		st = gsend(s, 1, buf, len);
		n++;
	}
	CU_ASSERT_EQUAL(st, HVIS_STATUS_INSUFFICIENT_BUFFERS);
	CU_ASSERT_EQUAL(vmbus_server_backlog(s), VMBUS_SERVER_BACKLOG_MAX);
	CU_ASSERT_EQUAL(n, VMBUS_SERVER_BACKLOG_MAX - 5 + 1);
	/* the guest drains: everything arrives in order */
	F.post_rc = 0;
	CU_ASSERT_EQUAL(vmbus_server_flush(s), 0);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, VMBUS_SERVER_BACKLOG_MAX);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_VERSION_RESPONSE);
	CU_ASSERT_EQUAL(ptype(1), HVIS_CHMSG_OFFERCHANNEL);
	CU_ASSERT_EQUAL(ptype(4), HVIS_CHMSG_ALLOFFERS_DELIVERED);
	CU_ASSERT_EQUAL(created_status(5, 1, 100), 0);
	CU_ASSERT_EQUAL(created_status(VMBUS_SERVER_BACKLOG_MAX - 1, 1,
				       100 + VMBUS_SERVER_BACKLOG_MAX - 6), 0);
	/* a hard error drops the message, the rest goes on */
	F.post_rc = -EINVAL;
	clear();
	teardown_msg(s, 1, 100);
	CU_ASSERT_EQUAL(vmbus_server_backlog(s), 0);
	/* UNLOAD is taken even when busy, and drops the old backlog */
	F.post_rc = -EAGAIN;
	for (unsigned int i = 0; i < VMBUS_SERVER_BACKLOG_MAX; i++)
		teardown_msg(s, 1, 101 + i);
	CU_ASSERT(vmbus_server_backlog(s) > 0);
	F.post_rc = -EAGAIN;
	{
		uint8_t buf[240];
		uint32_t len;

		for (unsigned int i = 0; vmbus_server_backlog(s) <
		     VMBUS_SERVER_BACKLOG_MAX && i < 100; i++) {
			len = vf_gpadl_header_msg(buf, 1, 0x1000 + i, 1, 16, PG, 0,
					       &pfn, 1);
			gsend(s, 1, buf, len);
		}
	}
	CU_ASSERT_EQUAL(vmbus_server_backlog(s), VMBUS_SERVER_BACKLOG_MAX);
	{
		struct hvis_chmsg_hdr h = { .ch_msgtype = HVIS_CHMSG_UNLOAD };

		CU_ASSERT_EQUAL(gsend(s, 1, &h, sizeof(h)), HVIS_STATUS_SUCCESS);
	}
	CU_ASSERT_EQUAL(vmbus_server_backlog(s), 1);
	F.post_rc = 0;
	clear();
	vmbus_server_flush(s);
	CU_ASSERT_EQUAL_FATAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(ptype(0), HVIS_CHMSG_UNLOAD_RESPONSE);
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_subchannel_and_pipe(void)
{
	struct vmbus_server *s;
	struct fdev d[2];
	struct vmbus_offer_params p;
	struct hvis_chmsg_offer of;
	uint8_t ud[120];
	uint32_t mode;

	fake_init();
	memset(ud, 0xAB, sizeof(ud));
	memset(&p, 0, sizeof(p));
	p.class_id = (struct hvis_guid)HVIS_GUID_NET;
	p.instance_id = (struct hvis_guid)HVIS_GUID_SCSI;
	p.chn_flags = HVIS_OFFER_FLAG_NAMED_PIPE_MODE;
	p.pipe_mode = HVIS_PIPE_MODE_MESSAGE;
	p.mmio_megabytes = 8;
	p.user_defined = ud;
	for (unsigned int v = 0; v < 2; v++) {
		s = server(0);
		memset(d, 0, sizeof(d));
		p.sub_channel_index = 0;
		d[0].dev = vmbus_server_add_device_ex(s, &p, &dev_ops, &d[0]);
		p.sub_channel_index = 1;
		d[1].dev = vmbus_server_add_device_ex(s, &p, &dev_ops, &d[1]);
		CU_ASSERT_FATAL(d[0].dev && d[1].dev);
		clear();
		contact(s, v ? 1 : 4, v ? V(1, 1) : V(5, 3), 0, 0x3000);
		simple(s, HVIS_CHMSG_REQUESTOFFERS);
		/* 1.1: no sub-channels */
		CU_ASSERT_EQUAL_FATAL(F.nmsgs, v ? 3 : 4);
		memcpy(&of, F.msgs[1].b, sizeof(of));
		CU_ASSERT_EQUAL(of.of_chn_flags, HVIS_OFFER_FLAG_NAMED_PIPE_MODE);
		CU_ASSERT_EQUAL(of.of_mmio_megabytes, 8);
		memcpy(&mode, of.of_user_defined, 4);
		CU_ASSERT_EQUAL(mode, HVIS_PIPE_MODE_MESSAGE);
		CU_ASSERT_EQUAL(of.of_user_defined[4], 0xAB);
		CU_ASSERT_EQUAL(of.of_user_defined[119], 0xAB);
		if (!v) {
			memcpy(&of, F.msgs[2].b, sizeof(of));
			CU_ASSERT_EQUAL(of.of_sub_channel_index, 1);
			CU_ASSERT_EQUAL(of.of_child_relid, 2);
		} else {
			CU_ASSERT_EQUAL(vmbus_device_state(d[1].dev),
					VMBUS_CHAN_IDLE);
		}
		vmbus_server_destroy(s);
	}
	/* bad registrations */
	s = server(0);
	CU_ASSERT_PTR_NULL(vmbus_server_add_device_ex(s, NULL, &dev_ops, NULL));
	{
		struct vmbus_device_ops no_open = dev_ops;

		no_open.open = NULL;
		CU_ASSERT_PTR_NULL(vmbus_server_add_device_ex(s, &p, &no_open,
							      NULL));
	}
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_relid_exhaustion(void)
{
	struct vmbus_server *s;
	static struct fdev d[VMBUS_SERVER_MAX_CHANNELS + 1];

	fake_init();
	s = server(0);
	for (unsigned int i = 0; i <= VMBUS_SERVER_MAX_CHANNELS; i++)
		add_dev(s, &d[i], i);
	clear();
	connect_53(s);
	/* version, 255 offers, alloffers */
	CU_ASSERT_EQUAL(F.nmsgs, VMBUS_SERVER_MAX_CHANNELS + 2);
	CU_ASSERT_EQUAL(vmbus_device_state(d[VMBUS_SERVER_MAX_CHANNELS].dev),
			VMBUS_CHAN_IDLE);
	/* the one left out is released without a word to the guest */
	clear();
	vmbus_server_rescind(d[VMBUS_SERVER_MAX_CHANNELS].dev);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	CU_ASSERT_EQUAL(d[VMBUS_SERVER_MAX_CHANNELS].rescinds, 1);
	/* a freed relid goes to the next hot add */
	vmbus_server_rescind(d[7].dev);
	relid_msg(s, HVIS_CHMSG_RELID_RELEASED, 8);
	clear();
	add_dev(s, &d[VMBUS_SERVER_MAX_CHANNELS], 99);
	CU_ASSERT_EQUAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(vmbus_device_relid(d[VMBUS_SERVER_MAX_CHANNELS].dev), 8);
	vmbus_server_destroy(s);
	fake_fini();
}

/* Hostile ring headers at open; the guest waits for space. */
static void test_ring_hostile_and_flow(void)
{
	struct vmbus_server *s;
	struct fdev d;
	uint64_t pfns[8];
	uint8_t *ring = F.gmem;
	struct hvis_ring gw;
	struct hvis_ring_header *h;
	uint8_t pkt[200];
	struct hvis_pkt_desc desc = { .pd_type = HVIS_PKT_DATA_INBAND };
	struct hvis_iov iov = { pkt, sizeof(pkt) };
	unsigned int sent = 0;
	bool sig;

	fake_init();
	ring = F.gmem + 100 * PG;
	s = server(0);
	add_dev(s, &d, 0);
	connect_53(s);
	contiguous(pfns, 100, 8);
	memset(pkt, 0x33, sizeof(pkt));

	/* the guest's outbound ring: the read index (ours) beyond the ring */
	h = (struct hvis_ring_header *)ring;
	h->rh_read_index = 5 * PG;
	clear();
	gpadl_linux(s, 1, 1, pfns, 8);
	open_msg(s, 1, 1, 1, 0, 4);
	CU_ASSERT_EQUAL(open_status(1, 1, 1), VMBUS_STATUS_UNSUCCESSFUL);
	/* the inbound ring: the guest's read index off the 8-byte grid */
	h->rh_read_index = 0;
	h = (struct hvis_ring_header *)(ring + 4 * PG);
	h->rh_read_index = 12;
	open_msg(s, 1, 2, 1, 0, 4);
	CU_ASSERT_EQUAL(open_status(2, 1, 2), VMBUS_STATUS_UNSUCCESSFUL);
	CU_ASSERT_EQUAL(d.opens, 0);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_state(s, 1), VMBUS_GPADL_READY);
	h->rh_read_index = 0;

	/* flow control: the guest fills its ring and asks for space; the
	 * host's commit wakes it
	 */
	open_msg(s, 1, 3, 1, 0, 4);
	CU_ASSERT_EQUAL(open_status(3, 1, 3), 0);
	CU_ASSERT_EQUAL(hvis_ring_attach(&gw, (void *)ring, ring + PG, 3 * PG,
					 HVIS_RING_WRITER), 0);
	while (hvis_ring_send(&gw, &desc, 0, &iov, 1, &sig) == 0)
		sent++;
	CU_ASSERT(sent > 40);
	CU_ASSERT_EQUAL(hvis_ring_request_space(&gw, 16 + sizeof(pkt)), 0);
	d.drain = true;
	F.nsig = 0;
	CU_ASSERT_EQUAL(vmbus_server_signal(s, CONNID(1)), HVIS_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(F.nsig, 1);		/* "space available" */
	CU_ASSERT_EQUAL(F.sig_flag[0], 1);
	CU_ASSERT_EQUAL(hvis_ring_send(&gw, &desc, 0, &iov, 1, &sig), 0);

	/* a guest that corrupts the ring later: the device sees the error */
	((struct hvis_ring_header *)ring)->rh_write_index = 3;
	CU_ASSERT(hvis_ring_peek(vmbus_device_in_ring(d.dev),
				 &(struct hvis_ring_pkt){ 0 }) < 0);

	/* teardown asked twice while open: the second is ignored */
	clear();
	teardown_msg(s, 1, 1);
	teardown_msg(s, 1, 1);
	CU_ASSERT_EQUAL(F.nmsgs, 0);
	relid_msg(s, HVIS_CHMSG_CLOSECHANNEL, 1);
	CU_ASSERT_EQUAL(F.nmsgs, 1);
	CU_ASSERT_EQUAL(vmbus_server_gpadl_count(s), 0);
	vmbus_server_destroy(s);
	fake_fini();
}

static void test_version_helpers(void)
{
	uint32_t v;

	CU_ASSERT_EQUAL(vmbus_nversions, 10);
	CU_ASSERT_EQUAL(vmbus_versions[0], V(5, 3));
	CU_ASSERT_EQUAL(vmbus_versions[9], V(0, 13));
	CU_ASSERT(vmbus_version_known(V(1, 1)));
	CU_ASSERT(!vmbus_version_known(V(6, 0)));
	CU_ASSERT_EQUAL(vmbus_version_parse("5.3", &v), 0);
	CU_ASSERT_EQUAL(v, V(5, 3));
	CU_ASSERT_EQUAL(vmbus_version_parse("0.13", &v), 0);
	CU_ASSERT_EQUAL(v, V(0, 13));
	CU_ASSERT_EQUAL(vmbus_version_parse("5", &v), -1);
	CU_ASSERT_EQUAL(vmbus_version_parse("5.3x", &v), -1);
	CU_ASSERT_EQUAL(vmbus_version_parse("70000.1", &v), -1);
	CU_ASSERT_EQUAL(vmbus_version_parse(NULL, &v), -1);
	/* runtime cap: takes effect at the next contact */
	fake_init();
	{
		struct vmbus_server *s = server(0);

		vmbus_server_set_max_version(s, V(3, 0));
		CU_ASSERT_EQUAL(contact(s, 4, V(5, 3), 0, 0),
				HVIS_STATUS_INVALID_CONNECTION_ID);
		CU_ASSERT_EQUAL(contact(s, 1, V(4, 0), 0, 0x3000),
				HVIS_STATUS_SUCCESS);
		CU_ASSERT_EQUAL(F.msgs[0].b[8], 0);
		CU_ASSERT_EQUAL(contact(s, 1, V(3, 0), 0, 0x3000),
				HVIS_STATUS_SUCCESS);
		CU_ASSERT_EQUAL(F.msgs[1].b[8], 1);
		vmbus_server_destroy(s);
	}
	fake_fini();
}

static const struct unit_test tests[] = {
	{ "Linux 6.1 connect sequence (5.3, connection 4)", test_linux61_connect },
	{ "capped server: Linux falls back 5.2 .. 2.4", test_versions_capped },
	{ "connection ids and payload size", test_connection_ids },
	{ "INITIATE_CONTACT refusals", test_contact_bad },
	{ "0.13 and 1.1: interrupt page", test_version_013_11 },
	{ "GPADL 26 + 28 + 10 PFNs, scattered, borrow", test_gpadl_header_bodies },
	{ "GPADL in the header alone, two ranges", test_gpadl_small_and_multirange },
	{ "bad GPADLs", test_gpadl_bad },
	{ "GPADL limits", test_gpadl_limits },
	{ "open / close / teardown order", test_open_close },
	{ "packet round trip through both rings", test_packet_roundtrip },
	{ "MODIFYCHANNEL by version", test_modify },
	{ "rescind and RELID_RELEASED", test_rescind },
	{ "guest releases an offer", test_guest_release },
	{ "UNLOAD and reconnect", test_unload_reconnect },
	{ "malformed messages change nothing", test_malformed },
	{ "backlog and INSUFFICIENT_BUFFERS", test_backlog },
	{ "sub-channels, pipe mode, user_defined", test_subchannel_and_pipe },
	{ "relid exhaustion", test_relid_exhaustion },
	{ "hostile ring headers, flow control", test_ring_hostile_and_flow },
	{ "version helpers and runtime cap", test_version_helpers },
	{ NULL, NULL },
};

int unit_register_vmbus_server(void)
{
	return unit_add_suite("vmbus_server", tests);
}
