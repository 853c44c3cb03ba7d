// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the VMBus server (host-vsp/vmbus): the guest
 * controls every channel message, every signal and every byte of its
 * memory (rings included); the host side adds, rescinds and uses devices
 * and sometimes cannot deliver messages. Whatever happens, no crash, no
 * UB, no leak (heap: LeakSanitizer; views and devices: counted here).
 *
 * Input: [u8 config] then a script of operations:
 *   config bits 0-3 max version (index into vmbus_versions, >= 10: 5.3),
 *          bits 4-5 VPs - 1, bit 6 start with a busy SynIC slot,
 *          bit 7 start connected with relid 1 open (ring at page 8).
 *   op 0/1  raw message on connection 1/4: [u8 len][len bytes]
 *   op 2    HvSignalEvent: [u8 sel][u8 v] (2, a channel's id, or v)
 *   op 3    flush the backlog, toggle "slot busy"
 *   op 4    host rescinds device [u8 k]
 *   op 5    host hot-adds a device [u8 sub-channel index]
 *   op 6    guest writes memory: [u16 offset][u8 len][bytes]
 *   op 7    device k acts: [u8 k][u8 what] send / recv_done / borrow
 *   op 8    Linux-style GPADL: [u8 relid][u8 handle][u8 pages][u8 pfn0]
 *   op 9    OPENCHANNEL: [u8 relid][u8 handle][u8 vp][u8 offset]
 *   op 10   INITIATE_CONTACT: [u8 version index][u8 vcpu][u8 sint][u8 page]
 *   op 11   short message: [u8 type][u8 relid] (header + relid)
 * Devices k % 4: 0 echoes (and greets in open), 1 refuses to open,
 * 2 rescinds itself on a corrupt ring or a poll-mode open, 3 borrows
 * its ring GPADL in open.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host-vsp/vmbus/server.h"
#include "tests/common/vmbus_fake.h"	/* the guest's message builders */

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

#define MEM_PAGES	64u
#define PG		4096u
#define MAX_DEVS	24

/* ------------------------------------------------------------ fake host */

struct view {
	uint8_t *p;
	uint32_t n;
	bool copy;
};

static struct {
	uint8_t *gmem;			/* heap block: ASan sees overruns */
	bool busy;
	int views;
	unsigned int added, released;
} H;

static int f_post(void *o, uint32_t vp, uint32_t sint, const void *msg,
		  uint32_t len)
{
	(void)o;
	(void)vp;
	(void)sint;
	if (len > 240 || !msg)
		abort();
	return H.busy ? -EAGAIN : 0;
}

static int f_signal(void *o, uint32_t vp, uint32_t sint, uint32_t flag)
{
	(void)o;
	if (sint >= 16 || flag >= 2048 || vp >= 4)
		abort();
	return 0;
}

/* Contiguous PFNs alias guest memory; others get a snapshot copy. */
static int f_map(void *o, const uint64_t *pfns, uint32_t n, void **view)
{
	bool contig = true;
	uint8_t *p;

	(void)o;
	if (!n || n > 256)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		if (pfns[i] >= MEM_PAGES)
			return -EFAULT;
		if (pfns[i] != pfns[0] + i)
			contig = false;
	}
	if (contig) {
		p = H.gmem + pfns[0] * PG;
	} else {
		p = malloc((size_t)n * PG);
		if (!p)
			return -ENOMEM;
		for (uint32_t i = 0; i < n; i++)
			memcpy(p + (size_t)i * PG, H.gmem + pfns[i] * PG, PG);
		/* mark: the first byte past a copy is never ours */
	}
	*view = p;
	H.views++;
	return 0;
}

static void f_unmap(void *o, void *view, uint32_t n)
{
	uint8_t *p = view;

	(void)o;
	(void)n;
	if (p < H.gmem || p >= H.gmem + (size_t)MEM_PAGES * PG)
		free(p);
	H.views--;
}

static void f_port(void *o, uint32_t id, bool enable)
{
	(void)o;
	(void)id;
	(void)enable;
}

static void f_log(void *o, enum vmbus_log_level lvl, const char *msg)
{
	(void)o;
	(void)lvl;
	if (!msg[0] && lvl > VMBUS_LOG_ERROR)
		abort();
}

static const struct vmbus_server_ops ops = {
	.post_message = f_post,
	.signal_guest = f_signal,
	.map_pages = f_map,
	.unmap_pages = f_unmap,
	.event_port = f_port,
	.log = f_log,
};

/* ------------------------------------------------------------ devices */

struct fdev {
	struct vmbus_device *dev;
	unsigned int kind;	/* 0 echo, 1 refuses, 2 rescinds on packet,
				 * 3 borrows in open
				 */
	uint32_t borrowed;
	bool live;
};

static struct fdev D[MAX_DEVS];
static unsigned int ndev;

static int d_open(struct vmbus_device *dev, void *o,
		  const struct vmbus_open_info *info)
{
	struct fdev *d = o;
	void *view;
	uint32_t bytes;

	if (!vmbus_device_in_ring(dev) || !vmbus_device_out_ring(dev))
		abort();
	if (d->kind == 1)
		return -EIO;
	if (d->kind == 2 && info->target_vp == VMBUS_VP_NONE) {
		vmbus_server_rescind(dev);	/* from inside open() */
		return 0;
	}
	if (d->kind == 0) {
		struct hvis_pkt_desc desc = { .pd_type = HVIS_PKT_DATA_INBAND };
		uint64_t hello = info->relid;
		struct hvis_iov iov = { &hello, sizeof(hello) };

		vmbus_device_send(dev, &desc, 0, &iov, 1);
		vmbus_device_signal(dev);
	}
	if (d->kind == 3 &&
	    vmbus_device_gpadl_get(dev, info->ring_gpadl, &view, &bytes) == 0) {
		((volatile uint8_t *)view)[bytes - 1];
		vmbus_device_gpadl_put(dev, info->ring_gpadl);
	}
	return 0;
}

static void d_close(struct vmbus_device *dev, void *o)
{
	(void)dev;
	(void)o;
}

static void d_packet(struct vmbus_device *dev, void *o)
{
	struct fdev *d = o;
	struct hvis_ring *in = vmbus_device_in_ring(dev);
	uint8_t buf[512];
	struct hvis_ring_pkt pkt;
	uint32_t n = sizeof(buf);
	int budget = 8, rc;

	if (!in)
		abort();
	while (budget-- && (rc = hvis_ring_read(in, buf, &n, &pkt)) != -HVIS_RING_EMPTY) {
		if (rc == -HVIS_RING_SHORT) {
			if (hvis_ring_consume(in, &pkt))
				break;
		} else if (rc) {
			if (d->kind == 2)
				vmbus_server_rescind(dev);	/* corrupt ring */
			return;
		} else {
			struct hvis_pkt_desc desc = {
				.pd_type = HVIS_PKT_COMPLETION,
				.pd_trans_id = pkt.desc.pd_trans_id };
			struct hvis_iov iov = { buf + pkt.data_off,
						n - pkt.data_off };

			vmbus_device_send(dev, &desc, 0, &iov, 1);
		}
		n = sizeof(buf);
	}
	vmbus_device_recv_done(dev);
}

static void d_rescinded(struct vmbus_device *dev, void *o)
{
	struct fdev *d = o;

	(void)dev;
	if (!d->live)
		abort();		/* released twice */
	d->live = false;
	d->dev = NULL;
	H.released++;
}

static const struct vmbus_device_ops dops = {
	.open = d_open,
	.close = d_close,
	.packet_in = d_packet,
	.rescinded = d_rescinded,
};

static void add(struct vmbus_server *s, uint16_t sub)
{
	struct vmbus_offer_params p;
	struct fdev *d;

	if (ndev == MAX_DEVS)
		return;
	d = &D[ndev];
	memset(&p, 0, sizeof(p));
	p.class_id = (struct hvis_guid)HVIS_GUID_HEARTBEAT;
	p.instance_id.g_bytes[0] = (uint8_t)ndev;
	p.sub_channel_index = sub;
	p.chn_flags = ndev & 1 ? HVIS_OFFER_FLAG_NAMED_PIPE_MODE : 0;
	p.pipe_mode = HVIS_PIPE_MODE_MESSAGE;
	d->kind = ndev % 4;
	d->live = true;
	d->dev = vmbus_server_add_device_ex(s, &p, &dops, d);
	if (!d->dev)
		abort();
	ndev++;
	H.added++;
}

/* ------------------------------------------------------------ guest */

static void send_msg(struct vmbus_server *s, uint32_t conn, const void *m,
		     size_t n)
{
	uint16_t st = vmbus_server_handle_message(s, 0, conn, m, n);

	if (st != HVIS_STATUS_SUCCESS &&
	    st != HVIS_STATUS_INVALID_CONNECTION_ID &&
	    st != HVIS_STATUS_INSUFFICIENT_BUFFERS &&
	    st != HVIS_STATUS_INVALID_PARAMETER)
		abort();
}

/* Linux's GPADL messages (26 PFNs in the header, 28 per body) for @n
 * contiguous pages at @pfn0.
 */
static void gpadl_linux(struct vmbus_server *s, uint32_t relid,
			uint32_t handle, uint32_t pfn0, uint32_t n)
{
	uint8_t buf[HVIS_MESSAGE_PAYLOAD_MAX];
	uint64_t pfns[80];
	uint32_t done, k;

	if (n > 80)
		abort();
	for (uint32_t i = 0; i < n; i++)
		pfns[i] = pfn0 + i;
	k = n < 26 ? n : 26;
	send_msg(s, 1, buf, vf_gpadl_header_msg(buf, relid, handle, 1,
						(uint16_t)(8 + n * 8), n * PG,
						0, pfns, k));
	for (done = k; done < n; done += k) {
		k = n - done < 28 ? n - done : 28;
		send_msg(s, 1, buf,
			 vf_gpadl_body_msg(buf, handle, pfns + done, k));
	}
}

static void open_ch(struct vmbus_server *s, uint32_t relid, uint32_t handle,
		    uint32_t vp, uint32_t off)
{
	struct hvis_chmsg_open m;

	vf_open_msg(&m, relid, handle, vp, off);
	send_msg(s, 1, &m, sizeof(m));
}

static void contact(struct vmbus_server *s, uint32_t ver, uint32_t vcpu,
		    uint32_t sint, uint64_t page)
{
	struct hvis_chmsg_initiate_contact m;

	vf_contact_msg(&m, ver, vcpu, (uint8_t)sint, page);
	send_msg(s, vf_contact_conn(ver), &m, sizeof(m));
}

/* ------------------------------------------------------------ driver */

struct cursor {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct cursor *c)
{
	uint8_t v = 0;

	if (c->n) {
		v = *c->p++;
		c->n--;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct cursor c = { data, len };
	struct vmbus_server_options o;
	struct vmbus_server *s;
	uint8_t cfg = take(&c), msg[256];
	unsigned int steps = 0;

	if (!H.gmem)
		H.gmem = malloc((size_t)MEM_PAGES * PG);
	memset(H.gmem, 0, (size_t)MEM_PAGES * PG);
	memset(D, 0, sizeof(D));
	ndev = 0;
	H.busy = false;
	H.views = 0;
	H.added = H.released = 0;

	memset(&o, 0, sizeof(o));
	o.nvps = 1 + ((cfg >> 4) & 3);
	o.max_version = (cfg & 15) < vmbus_nversions ?
			vmbus_versions[cfg & 15] : 0;
	o.max_gpadls = 64;
	o.max_gpadl_pages = 2048;
	s = vmbus_server_create(&o, &ops);
	if (!s)
		abort();
	for (unsigned int i = 0; i < 4; i++)
		add(s, 0);
	if (cfg & 0x80) {
		uint32_t ver = o.max_version ? o.max_version :
			       HVIS_VMBUS_VERSION_WS2022;

		contact(s, ver, 0, 2, 0x1000);
		send_msg(s, 1, &(struct hvis_chmsg_hdr){
			.ch_msgtype = HVIS_CHMSG_REQUESTOFFERS }, 8);
		gpadl_linux(s, 1, 0xE1E10, 8, 16);
		open_ch(s, 1, 0xE1E10, 0, 8);
	}
	H.busy = cfg & 0x40;

	while (c.n && steps++ < 512) {
		uint8_t op = take(&c) % 12;

		switch (op) {
		case 0:
		case 1: {
			size_t n = take(&c);

			if (n > 241)
				n = 241;
			if (n > c.n)
				n = c.n;
			memcpy(msg, c.p, n);
			c.p += n;
			c.n -= n;
			send_msg(s, op ? 4 : 1, msg, n);
			break;
		}
		case 2: {
			uint8_t sel = take(&c), v = take(&c);
			uint32_t id = sel % 3 == 0 ? 2 :
				      sel % 3 == 1 ? VMBUS_SERVER_CONNID_BASE + v :
				      v;
			uint16_t st = vmbus_server_signal(s, id);

			if (st != HVIS_STATUS_SUCCESS &&
			    st != HVIS_STATUS_INVALID_CONNECTION_ID)
				abort();
			break;
		}
		case 3:
			vmbus_server_flush(s);
			H.busy = !H.busy;
			break;
		case 4: {
			uint8_t k = take(&c);

			if (ndev && D[k % ndev].live)
				vmbus_server_rescind(D[k % ndev].dev);
			break;
		}
		case 5:
			add(s, take(&c) % 3);
			break;
		case 6: {
			uint32_t off = take(&c);
			size_t n;

			off = (off | (uint32_t)take(&c) << 8) * 16;
			n = take(&c);
			if (n > c.n)
				n = c.n;
			if (off + n <= (size_t)MEM_PAGES * PG)
				memcpy(H.gmem + off, c.p, n);
			c.p += n;
			c.n -= n;
			break;
		}
		case 7: {
			uint8_t k = take(&c), what = take(&c);
			struct fdev *d = ndev ? &D[k % ndev] : NULL;

			if (!d || !d->live)
				break;
			if (what % 4 == 0) {
				struct hvis_pkt_desc desc = {
					.pd_type = HVIS_PKT_DATA_INBAND };
				struct hvis_iov iov = { msg, what };

				memset(msg, what, sizeof(msg));
				vmbus_device_send(d->dev, &desc, 0, &iov, 1);
			} else if (what % 4 == 1) {
				vmbus_device_recv_done(d->dev);
			} else if (what % 4 == 2) {
				void *view;
				uint32_t bytes;

				if (vmbus_device_gpadl_get(d->dev, 0xE1E10 + (what >> 4),
							   &view, &bytes) == 0) {
					((volatile uint8_t *)view)[bytes - 1];
					d->borrowed++;
				}
			} else if (d->borrowed) {
				vmbus_device_gpadl_put(d->dev, 0xE1E10 + (what >> 4));
				d->borrowed--;
			}
			break;
		}
		case 8: {
			uint8_t relid = take(&c), h = take(&c), pages = take(&c),
				pfn0 = take(&c);

			gpadl_linux(s, relid % 8, 0xE1E10 + h % 16,
				    pfn0 % (MEM_PAGES + 4), 1 + pages % 80);
			break;
		}
		case 9: {
			uint8_t relid = take(&c), h = take(&c), vp = take(&c),
				off = take(&c);

			open_ch(s, relid % 8, 0xE1E10 + h % 16,
				vp == 0xFF ? VMBUS_VP_NONE : vp % 6, off % 20);
			break;
		}
		case 10: {
			uint8_t vi = take(&c), vcpu = take(&c), sint = take(&c),
				page = take(&c);

			contact(s, vmbus_versions[vi % vmbus_nversions],
				vcpu % 6, sint % 18, (uint64_t)page * 0x800);
			break;
		}
		case 11: {
			struct hvis_chmsg_relid m = {
				.rl_hdr.ch_msgtype = take(&c) % 26,
				.rl_child_relid = take(&c) % 8 };

			send_msg(s, 1, &m, sizeof(m));
			break;
		}
		}
	}

	vmbus_server_destroy(s);
	if (H.views != 0 || H.released != H.added)
		abort();		/* a view or a device leaked */
	return 0;
}
