// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-vspd's end of the attach protocol (host-vsp/vspd/partition.c),
 * driven over a real socket by a fake hvis-run thread: attach with a
 * memfd, the claimed connections, a guest INITIATE_CONTACT answered with
 * POST + MESSAGE_STATUS, offers, and every way a broken partition can
 * end the attach while the service stays up for the next one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <hvis/attach.h>
#include <hvis/tlfs.h>
#include <hvis/vmbus.h>

#include "attach_io.h"
#include "host-vsp/vspd/vspd.h"
#include "unit.h"

#define MEM_BYTES	(8u << 20)

/* vspd_log: test_control.c's; vspd_control_notify: control.c's (unused:
 * d->ctl stays NULL).
 */

/* ------------------------------------------------ the fake hvis-run */

struct fake_run {
	int fd;
	pthread_t thread;
	pthread_mutex_t lock;
	/* what hvis-vspd sent */
	unsigned int connects, msg_connects, event_connects, posts, signals;
	unsigned int statuses, offers, times;
	int32_t last_status;
	uint64_t last_status_seq;
	bool version_accepted, all_offers;
	int post_result;	/* what POST answers */
};

static int send_pkt(int fd, uint32_t type, uint64_t seq, const void *body,
		    uint32_t len, int pass_fd)
{
	return hvis_attach_send(fd, type, seq, body, len, pass_fd);
}

static void *fake_main(void *arg)
{
	struct fake_run *f = arg;
	union {
		struct hvis_attach_hdr h;
		uint8_t b[HVIS_ATTACH_MAX_PACKET];
	} p;
	for (;;) {
		const uint8_t *body = p.b + sizeof(p.h);
		int got;
		ssize_t n = hvis_attach_recv(f->fd, p.b, sizeof(p.b), &got);

		if (n <= 0)
			break;
		if (got >= 0)
			close(got);	/* eventfds: not needed here */
		pthread_mutex_lock(&f->lock);
		switch (p.h.ah_type) {
		case HVIS_ATTACH_CONNECT: {
			const struct hvis_attach_connect *c = (const void *)body;

			f->connects++;
			if (c->ac_flags & HVIS_ATTACH_CONN_MESSAGE)
				f->msg_connects++;
			if (c->ac_flags & HVIS_ATTACH_CONN_EVENT)
				f->event_connects++;
			break;
		}
		case HVIS_ATTACH_POST: {
			const struct hvis_attach_message *msg = (const void *)body;
			struct hvis_attach_status st = { .as_status = f->post_result };
			uint32_t type;

			f->posts++;
			memcpy(&type, msg->am_payload, sizeof(type));
			if (type == HVIS_CHMSG_VERSION_RESPONSE)
				f->version_accepted = msg->am_payload[8] == 1;
			if (type == HVIS_CHMSG_OFFERCHANNEL)
				f->offers++;
			if (type == HVIS_CHMSG_ALLOFFERS_DELIVERED)
				f->all_offers = true;
			send_pkt(f->fd, HVIS_ATTACH_POST_RESULT, p.h.ah_seq, &st,
				 sizeof(st), -1);
			break;
		}
		case HVIS_ATTACH_MESSAGE_STATUS: {
			const struct hvis_attach_status *st = (const void *)body;

			f->statuses++;
			f->last_status = st->as_status;
			f->last_status_seq = p.h.ah_seq;
			break;
		}
		case HVIS_ATTACH_SIGNAL:
			f->signals++;
			break;
		case HVIS_ATTACH_TIME: {
			struct hvis_attach_time t = { .at_ref_time = 1000,
						      .at_monotonic_ns = 1 };

			f->times++;
			send_pkt(f->fd, HVIS_ATTACH_TIME_RESULT, p.h.ah_seq, &t,
				 sizeof(t), -1);
			break;
		}
		default:
			break;
		}
		pthread_mutex_unlock(&f->lock);
	}
	return NULL;
}

/* ------------------------------------------------ harness */

struct harness {
	struct vspd d;
	char dir[64];
	char path[128];
	int memfd;
	struct fake_run f;
};

static struct harness *H;

static void harness_up(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	H = calloc(1, sizeof(*H));
	strcpy(H->dir, "/tmp/hvis-attach-test.XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(H->dir) != NULL);
	snprintf(H->path, sizeof(H->path), "%s/attach.sock", H->dir);
	strcpy(H->d.name, "test");
	H->d.loop = loop_create();
	CU_ASSERT_FATAL(H->d.loop != NULL);
	H->d.attach_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, H->path);
	CU_ASSERT_FATAL(bind(H->d.attach_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(listen(H->d.attach_fd, 4) == 0);
	H->memfd = memfd_create("guest", MFD_CLOEXEC);
	CU_ASSERT_FATAL(H->memfd >= 0);
	CU_ASSERT_FATAL(ftruncate(H->memfd, MEM_BYTES) == 0);
}

static void fake_connect(struct fake_run *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, H->path);
	CU_ASSERT_FATAL(connect(f->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
}

static void fake_start(struct fake_run *f)
{
	CU_ASSERT_FATAL(pthread_create(&f->thread, NULL, fake_main, f) == 0);
}

static void fake_stop(struct fake_run *f)
{
	shutdown(f->fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->fd);
}

static void partition_body(struct hvis_attach_partition *a, uint64_t size)
{
	memset(a, 0, sizeof(*a));
	a->ap_version = HVIS_ATTACH_VERSION;
	a->ap_nvps = 2;
	a->ap_nregions = 1;
	strcpy(a->ap_name, "guest");
	a->ap_regions[0].ar_size = size;
}

/* Attach with a valid partition; hvis-vspd's side runs in this thread. */
static void attach_ok(void)
{
	struct hvis_attach_partition a;

	fake_connect(&H->f);
	partition_body(&a, MEM_BYTES);
	CU_ASSERT_FATAL(send_pkt(H->f.fd, HVIS_ATTACH_PARTITION, 0, &a,
				 sizeof(a), H->memfd) == 0);
	fake_start(&H->f);
	vspd_partition_accept(&H->d);
	CU_ASSERT_FATAL(H->d.part != NULL);
}

/* Turn the loop until @cond or 2 s. */
#define PUMP_UNTIL(cond) do {						\
	uint64_t _end = loop_now() + 2000000000ull;			\
	while (!(cond) && loop_now() < _end) {				\
		uint64_t _next = vspd_partition_tick(&H->d);		\
		uint64_t _cap = loop_now() + 20000000ull;		\
		loop_run_once(H->d.loop, _next < _cap ? _next : _cap);	\
	}								\
} while (0)

static bool locked_read(bool (*fn)(struct fake_run *))
{
	bool r;

	pthread_mutex_lock(&H->f.lock);
	r = fn(&H->f);
	pthread_mutex_unlock(&H->f.lock);
	return r;
}

static bool has_two_msg_conns(struct fake_run *f) { return f->msg_connects >= 2; }
static bool has_status(struct fake_run *f) { return f->statuses >= 1; }
static bool has_all_offers(struct fake_run *f) { return f->all_offers; }

static void harness_down(void)
{
	vspd_partition_detach(&H->d, "test over");
	fake_stop(&H->f);
	loop_destroy(H->d.loop);
	close(H->d.attach_fd);
	close(H->memfd);
	unlink(H->path);
	rmdir(H->dir);
	free(H);
	H = NULL;
}

static void guest_message(uint64_t seq, const void *payload, uint32_t size,
			  uint32_t conn)
{
	struct hvis_attach_message m;

	memset(&m, 0, sizeof(m));
	m.am_vp = 0;
	m.am_connection_id = conn;
	m.am_type = HVIS_VMBUS_MSGTYPE_CHANNEL;
	m.am_size = size;
	memcpy(m.am_payload, payload, size);
	CU_ASSERT(send_pkt(H->f.fd, HVIS_ATTACH_GUEST_MESSAGE, seq, &m,
			   sizeof(m), -1) == 0);
}

/* ------------------------------------------------ tests */

static void test_attach_connects(void)
{
	harness_up();
	attach_ok();
	PUMP_UNTIL(locked_read(has_two_msg_conns));
	CU_ASSERT_EQUAL(H->f.msg_connects, 2);
	CU_ASSERT_STRING_EQUAL(vspd_partition_name(&H->d), "guest");
	CU_ASSERT_EQUAL(vspd_partition_nvps(&H->d), 2);
	CU_ASSERT_PTR_NOT_NULL(vspd_server(&H->d));
	CU_ASSERT_PTR_NOT_NULL(vspd_ics(&H->d));
	harness_down();
}

static void test_initiate_contact_and_offers(void)
{
	struct hvis_chmsg_initiate_contact ic;
	struct hvis_chmsg_hdr req = { .ch_msgtype = HVIS_CHMSG_REQUESTOFFERS };

	harness_up();
	attach_ok();
	memset(&ic, 0, sizeof(ic));
	ic.ic_hdr.ch_msgtype = HVIS_CHMSG_INITIATE_CONTACT;
	ic.ic_version_requested = HVIS_VMBUS_VERSION_WS2022;
	ic.ic_msg_sint = HVIS_VMBUS_MESSAGE_SINT;
	guest_message(77, &ic, sizeof(ic), HVIS_VMBUS_MESSAGE_CONNECTION_ID_4);
	PUMP_UNTIL(locked_read(has_status));
	pthread_mutex_lock(&H->f.lock);
	CU_ASSERT_EQUAL(H->f.statuses, 1);
	CU_ASSERT_EQUAL(H->f.last_status_seq, 77);
	CU_ASSERT_EQUAL(H->f.last_status, HVIS_STATUS_SUCCESS);
	CU_ASSERT(H->f.version_accepted);
	pthread_mutex_unlock(&H->f.lock);
	CU_ASSERT_EQUAL(vmbus_server_version(vspd_server(&H->d)),
			HVIS_VMBUS_VERSION_WS2022);

	guest_message(78, &req, sizeof(req), HVIS_VMBUS_MESSAGE_CONNECTION_ID_4);
	PUMP_UNTIL(locked_read(has_all_offers));
	pthread_mutex_lock(&H->f.lock);
	/* the five ICs and the synthetic mouse */
	CU_ASSERT_EQUAL(H->f.offers, IC_KIND_COUNT + 1);
	CU_ASSERT(H->f.all_offers);
	pthread_mutex_unlock(&H->f.lock);
	harness_down();
}

static void test_connection_4_refused_below_5_0(void)
{
	struct hvis_chmsg_initiate_contact ic;

	harness_up();
	H->d.max_version = HVIS_VMBUS_VERSION_WIN10;
	attach_ok();
	memset(&ic, 0, sizeof(ic));
	ic.ic_hdr.ch_msgtype = HVIS_CHMSG_INITIATE_CONTACT;
	ic.ic_version_requested = HVIS_VMBUS_VERSION_WS2022;
	guest_message(5, &ic, sizeof(ic), HVIS_VMBUS_MESSAGE_CONNECTION_ID_4);
	PUMP_UNTIL(locked_read(has_status));
	CU_ASSERT_EQUAL(H->f.last_status, HVIS_STATUS_INVALID_CONNECTION_ID);
	CU_ASSERT_EQUAL(vmbus_server_version(vspd_server(&H->d)), 0);
	harness_down();
}

static bool detached(void)
{
	return H->d.part == NULL;
}

static void test_malformed_packet_detaches(void)
{
	uint8_t junk[40] = { 0 };
	struct hvis_attach_hdr *h = (void *)junk;

	harness_up();
	attach_ok();
	h->ah_type = HVIS_ATTACH_GUEST_MESSAGE;
	h->ah_len = 100;	/* says 100, carries 24 */
	CU_ASSERT(send(H->f.fd, junk, sizeof(junk), 0) == sizeof(junk));
	PUMP_UNTIL(detached());
	CU_ASSERT(detached());
	fake_stop(&H->f);

	/* the service takes the next partition */
	attach_ok();
	CU_ASSERT(!detached());
	harness_down();
}

static void test_unknown_type_detaches(void)
{
	struct hvis_attach_connect c = { 0 };

	harness_up();
	attach_ok();
	/* CONNECT is hvis-vspd's to send, never hvis-run's */
	send_pkt(H->f.fd, HVIS_ATTACH_CONNECT, 0, &c, sizeof(c), -1);
	PUMP_UNTIL(detached());
	CU_ASSERT(detached());
	harness_down();
}

static void test_hangup_detaches(void)
{
	harness_up();
	attach_ok();
	shutdown(H->f.fd, SHUT_RDWR);
	PUMP_UNTIL(detached());
	CU_ASSERT(detached());
	harness_down();
}

static void refused_layout(struct hvis_attach_partition *a, int memfd)
{
	fake_connect(&H->f);
	CU_ASSERT_FATAL(send_pkt(H->f.fd, HVIS_ATTACH_PARTITION, 0, a,
				 sizeof(*a), memfd) == 0);
	fake_start(&H->f);
	vspd_partition_accept(&H->d);
	CU_ASSERT(detached());
	fake_stop(&H->f);
}

static void test_bad_layouts_refused(void)
{
	struct hvis_attach_partition a;

	harness_up();
	partition_body(&a, MEM_BYTES + 4096);		/* beyond the memfd */
	refused_layout(&a, H->memfd);
	partition_body(&a, MEM_BYTES);
	a.ap_regions[0].ar_offset = 100;		/* not page aligned */
	refused_layout(&a, H->memfd);
	partition_body(&a, MEM_BYTES / 2);
	a.ap_nregions = 2;				/* overlapping GPAs */
	a.ap_regions[1] = a.ap_regions[0];
	a.ap_regions[1].ar_offset = MEM_BYTES / 2;
	refused_layout(&a, H->memfd);
	partition_body(&a, MEM_BYTES);
	a.ap_nregions = HVIS_ATTACH_MAX_REGIONS + 1;
	refused_layout(&a, H->memfd);
	partition_body(&a, MEM_BYTES);
	a.ap_version = 99;
	refused_layout(&a, H->memfd);
	partition_body(&a, MEM_BYTES);
	a.ap_nvps = 0;
	refused_layout(&a, H->memfd);
	partition_body(&a, MEM_BYTES);
	refused_layout(&a, -1);				/* no memfd */
	/* and a good one still attaches */
	attach_ok();
	CU_ASSERT(!detached());
	harness_down();
}

static void test_second_partition_refused(void)
{
	struct fake_run second;
	struct hvis_attach_partition a;
	char buf[16];

	harness_up();
	attach_ok();
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		second.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		strcpy(sa.sun_path, H->path);
		CU_ASSERT_FATAL(connect(second.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	}
	partition_body(&a, MEM_BYTES);
	send_pkt(second.fd, HVIS_ATTACH_PARTITION, 0, &a, sizeof(a), H->memfd);
	vspd_partition_accept(&H->d);
	{
		/* closed: EOF, or a reset since our packet went unread */
		ssize_t n = recv(second.fd, buf, sizeof(buf), 0);

		CU_ASSERT(n == 0 || (n < 0 && errno == ECONNRESET));
	}
	CU_ASSERT_STRING_EQUAL(vspd_partition_name(&H->d), "guest");
	close(second.fd);
	harness_down();
}

static const struct unit_test attach_tests[] = {
	{ "attach claims connections 1 and 4", test_attach_connects },
	{ "INITIATE_CONTACT answered, offers posted", test_initiate_contact_and_offers },
	{ "connection 4 refused below 5.0", test_connection_4_refused_below_5_0 },
	{ "malformed packet ends the attach, next one works", test_malformed_packet_detaches },
	{ "packet type hvis-run may not send ends the attach", test_unknown_type_detaches },
	{ "hang-up ends the attach", test_hangup_detaches },
	{ "bad memory layouts refused", test_bad_layouts_refused },
	{ "a second partition is refused", test_second_partition_refused },
	{ NULL, NULL },
};

int unit_register_attach(void)
{
	return unit_add_suite("attach", attach_tests);
}
