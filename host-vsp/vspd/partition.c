// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-vspd's side of the attach protocol (<hvis/attach.h>): one attached
 * partition, its guest memory, and the VMBus server with the integration
 * components that serve it. docs/vmbus.md describes the sequence.
 *
 * The partition (hvis-run) is trusted more than the guest but still
 * checked: a packet of the wrong size or type, a memory layout that does
 * not fit the memfd, or a reply that never comes ends the attach, never
 * the service.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <hvis/attach.h>
#include <hvis/tlfs.h>

#include "attach_io.h"
#include "host-vsp/net/nic.h"
#include "storage.h"
#include "vspd.h"

#define PAGE			4096ull
/* hvis-run's limit (TLFS_MAX_VPS). */
#define VSPD_MAX_VPS		64u
/* How long a request to hvis-run may take before the attach is dropped. */
#define REPLY_WAIT_MS		5000
/* A time request gives up sooner and is not fatal: a stopped partition
 * (SIGSTOP, a debugger) must not lose its VSP service. The last answer is
 * carried forward on CLOCK_MONOTONIC meanwhile.
 */
#define TIME_WAIT_MS		500
#define TIME_FRESH_NS		(1000ull * 1000000ull)
/* Packets that arrive while we wait for a reply are kept, up to this many. */
#define DEFER_MAX		1024u
/* Backlog retry while the guest does not drain its SINT (no EOM seen). */
#define BACKLOG_RETRY_NS	(10ull * 1000000ull)

struct packet {
	struct packet *next;
	uint32_t len;		/* bytes in b */
	union {
		struct hvis_attach_hdr h;
		uint8_t b[HVIS_ATTACH_MAX_PACKET];
	} u;
};

struct event_conn {
	struct vspd_partition *p;
	uint32_t id;
	int efd;
};

struct vspd_partition {
	struct vspd *d;
	int fd;
	char name[sizeof(((struct hvis_attach_partition *)0)->ap_name)];
	uint32_t nvps;
	uint64_t since;

	int memfd;
	uint8_t *mem;		/* the whole memfd, mapped shared */
	uint64_t mem_size;
	struct hvis_attach_region regions[HVIS_ATTACH_MAX_REGIONS];
	uint32_t nregions;

	struct vmbus_server *srv;
	struct ic_host *ics;
	struct mouse_dev *mouse;
	int clock_fd;		/* timerfd that fires when the host clock steps */

	uint64_t next_seq;
	struct hvis_attach_time last_time;	/* at_monotonic_ns 0: none */
	struct packet *deferred, **deferred_tail;
	unsigned int ndeferred;
	bool broken;		/* the link failed inside a callback */
	bool in_dispatch;

	struct event_conn *events[VMBUS_SERVER_MAX_CHANNELS + 2];
	unsigned int nevents;
};

/* ------------------------------------------------------------ wire */

static int send_packet(struct vspd_partition *p, uint32_t type, uint64_t seq,
		       const void *body, uint32_t len, int fd)
{
	if (p->broken)
		return -EPIPE;
	if (hvis_attach_send(p->fd, type, seq, body, len, fd)) {
		p->broken = true;
		return -EPIPE;
	}
	return 0;
}

/*
 * Receive one packet (blocking up to @wait_ms; -1 = forever). Returns its
 * length, 0 on hang-up, -ETIMEDOUT, or -EPROTO for a malformed one. A
 * passed descriptor is returned in *@fd (else -1).
 */
static int recv_packet(struct vspd_partition *p, struct packet *pk, int *fd,
		       int wait_ms)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	ssize_t n;

	*fd = -1;
	if (wait_ms >= 0) {
		int r;

		do
			r = poll(&pfd, 1, wait_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return -ETIMEDOUT;
	}
	n = hvis_attach_recv(p->fd, pk->u.b, sizeof(pk->u.b), fd);
	if (n == -EPROTO)
		return -EPROTO;
	if (n <= 0)
		return 0;
	pk->len = (uint32_t)n;
	return (int)n;
}

/*
 * Send a request and wait for its answer of @reply_type, keeping every
 * other packet for later. 0 with the answer's body in @out, or -EPIPE
 * (the link is broken: the attach ends at the next turn of the loop).
 * With @soft_ms > 0, no answer within @soft_ms is -ETIMEDOUT and not an
 * error; the late answer is dropped when it comes.
 */
static int request_ex(struct vspd_partition *p, uint32_t type, const void *body,
		      uint32_t len, uint32_t reply_type, void *out,
		      uint32_t out_len, int soft_ms)
{
	uint64_t seq = ++p->next_seq;

	if (send_packet(p, type, seq, body, len, -1))
		return -EPIPE;
	for (;;) {
		struct packet *pk = malloc(sizeof(*pk));
		int fd, n;

		if (!pk) {
			p->broken = true;
			return -EPIPE;
		}
		n = recv_packet(p, pk, &fd, soft_ms > 0 ? soft_ms : REPLY_WAIT_MS);
		if (n == -ETIMEDOUT && soft_ms > 0) {
			free(pk);
			return -ETIMEDOUT;
		}
		if (n <= 0 || fd >= 0) {
			if (fd >= 0)
				close(fd);
			free(pk);
			vspd_log(p->d, "partition %s: %s while waiting for an answer",
				 p->name, n == -ETIMEDOUT ? "no answer in time" :
				 n == 0 ? "hang-up" : "bad packet");
			p->broken = true;
			return -EPIPE;
		}
		if (pk->u.h.ah_type == reply_type && pk->u.h.ah_seq == seq) {
			if (pk->u.h.ah_len != out_len) {
				free(pk);
				p->broken = true;
				return -EPIPE;
			}
			memcpy(out, pk->u.b + sizeof(pk->u.h), out_len);
			free(pk);
			return 0;
		}
		if (p->ndeferred >= DEFER_MAX) {
			free(pk);
			vspd_log(p->d, "partition %s: flooded while waiting", p->name);
			p->broken = true;
			return -EPIPE;
		}
		pk->next = NULL;
		*p->deferred_tail = pk;
		p->deferred_tail = &pk->next;
		p->ndeferred++;
	}
}

static int request(struct vspd_partition *p, uint32_t type, const void *body,
		   uint32_t len, uint32_t reply_type, void *out, uint32_t out_len)
{
	return request_ex(p, type, body, len, reply_type, out, out_len, 0);
}

/* ------------------------------------------------------------ memory */

/* Memfd offset of guest page @pfn, or -1. */
static int64_t pfn_offset(const struct vspd_partition *p, uint64_t pfn)
{
	uint64_t gpa;

	if (pfn > UINT64_MAX / PAGE)
		return -1;
	gpa = pfn * PAGE;
	for (uint32_t i = 0; i < p->nregions; i++) {
		const struct hvis_attach_region *r = &p->regions[i];

		if (gpa >= r->ar_gpa && gpa - r->ar_gpa < r->ar_size)
			return (int64_t)(r->ar_offset + (gpa - r->ar_gpa));
	}
	return -1;
}

void *vspd_partition_guest_page(struct vspd *d, uint64_t pfn)
{
	struct vspd_partition *p = d->part;
	int64_t off;

	if (!p || !p->mem)
		return NULL;
	off = pfn_offset(p, pfn);
	/* regions are page aligned and inside the memfd (check_layout) */
	return off < 0 ? NULL : p->mem + off;
}

static int op_map_pages(void *opaque, const uint64_t *pfns, uint32_t count,
			void **view)
{
	struct vspd_partition *p = opaque;
	uint8_t *base;
	uint32_t i = 0;

	if (!count || count > (1u << 20))
		return -EINVAL;
	for (uint32_t k = 0; k < count; k++)
		if (pfn_offset(p, pfns[k]) < 0)
			return -EFAULT;
	base = mmap(NULL, (size_t)count * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	while (i < count) {
		int64_t off = pfn_offset(p, pfns[i]);
		uint32_t run = 1;

		/* one mapping per run of consecutive frames */
		while (i + run < count &&
		       pfn_offset(p, pfns[i + run]) == off + (int64_t)(run * PAGE))
			run++;
		if (mmap(base + (size_t)i * PAGE, (size_t)run * PAGE,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, p->memfd,
			 off) == MAP_FAILED) {
			munmap(base, (size_t)count * PAGE);
			return -ENOMEM;
		}
		i += run;
	}
	*view = base;
	return 0;
}

static void op_unmap_pages(void *opaque, void *view, uint32_t count)
{
	(void)opaque;
	munmap(view, (size_t)count * PAGE);
}

/* ------------------------------------------------------------ server ops */

static int op_post_message(void *opaque, uint32_t vp, uint32_t sint,
			   const void *msg, uint32_t len)
{
	struct vspd_partition *p = opaque;
	struct hvis_attach_message m;
	struct hvis_attach_status st;

	if (len > HVIS_ATTACH_MSG_MAX)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.am_vp = vp;
	m.am_sint = sint;
	m.am_type = HVIS_VMBUS_MSGTYPE_CHANNEL;
	m.am_size = len;
	memcpy(m.am_payload, msg, len);
	if (request(p, HVIS_ATTACH_POST, &m, sizeof(m), HVIS_ATTACH_POST_RESULT,
		    &st, sizeof(st)))
		return -EPIPE;
	return st.as_status;
}

static int op_signal_guest(void *opaque, uint32_t vp, uint32_t sint,
			   uint32_t flag)
{
	struct vspd_partition *p = opaque;
	struct hvis_attach_signal s = { .asg_vp = vp, .asg_sint = sint,
					.asg_flag = flag };

	return send_packet(p, HVIS_ATTACH_SIGNAL, 0, &s, sizeof(s), -1);
}

static void event_ready(void *opaque, uint32_t events)
{
	struct event_conn *e = opaque;
	uint64_t n;

	(void)events;
	if (read(e->efd, &n, sizeof(n)) == sizeof(n) && e->p->srv)
		vmbus_server_signal(e->p->srv, e->id);
}

static void event_drop(struct vspd_partition *p, unsigned int i)
{
	struct event_conn *e = p->events[i];

	loop_del(p->d->loop, e->efd);
	close(e->efd);
	free(e);
	p->events[i] = p->events[--p->nevents];
}

static void op_event_port(void *opaque, uint32_t connection_id, bool enable)
{
	struct vspd_partition *p = opaque;
	struct hvis_attach_connect c = { .ac_connection_id = connection_id,
					 .ac_flags = HVIS_ATTACH_CONN_EVENT };
	struct event_conn *e;

	for (unsigned int i = 0; i < p->nevents; i++) {
		if (p->events[i]->id != connection_id)
			continue;
		if (enable)
			return;		/* already live */
		send_packet(p, HVIS_ATTACH_DISCONNECT, 0, &c, sizeof(c), -1);
		event_drop(p, i);
		return;
	}
	if (!enable || p->nevents >= sizeof(p->events) / sizeof(p->events[0]))
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->p = p;
	e->id = connection_id;
	e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->efd < 0 || loop_add(p->d->loop, e->efd, EPOLLIN, event_ready, e)) {
		if (e->efd >= 0)
			close(e->efd);
		free(e);
		vspd_log(p->d, "partition %s: no event for connection %#x",
			 p->name, connection_id);
		return;
	}
	p->events[p->nevents++] = e;
	send_packet(p, HVIS_ATTACH_CONNECT, 0, &c, sizeof(c), e->efd);
}

static void op_log(void *opaque, enum vmbus_log_level level, const char *msg)
{
	struct vspd_partition *p = opaque;

	if (level == VMBUS_LOG_DEBUG && !p->d->verbose)
		return;
	vspd_log(p->d, "%s: %s", p->name, msg);
}

/* ------------------------------------------------------------ IC ops */

static void ic_time_now(void *opaque, uint64_t *unix_ns, uint64_t *ref_time)
{
	struct vspd_partition *p = opaque;
	struct hvis_attach_time t;
	struct timespec rt;
	uint64_t mono = loop_now();

	if ((!p->last_time.at_monotonic_ns ||
	     mono - p->last_time.at_monotonic_ns > TIME_FRESH_NS) &&
	    request_ex(p, HVIS_ATTACH_TIME, NULL, 0, HVIS_ATTACH_TIME_RESULT,
		       &t, sizeof(t), TIME_WAIT_MS) == 0 && t.at_monotonic_ns)
		p->last_time = t;
	t = p->last_time;
	/* both clocks read together, the reference time carried forward */
	clock_gettime(CLOCK_REALTIME, &rt);
	mono = loop_now();
	*unix_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	*ref_time = t.at_ref_time + (mono > t.at_monotonic_ns ?
				     (mono - t.at_monotonic_ns) / 100 : 0);
}

static void ic_log(void *opaque, enum vmbus_log_level level, const char *msg)
{
	op_log(opaque, level, msg);
}

static void ic_notify(void *opaque, struct ic_dev *ic, enum ic_event ev)
{
	static const char *const names[] = {
		[IC_EV_READY] = "ready",
		[IC_EV_FAILED] = "failed",
		[IC_EV_CLOSED] = "closed",
		[IC_EV_NEGOTIATE_OVERDUE] = "negotiation overdue",
		[IC_EV_HEARTBEAT_HEALTHY] = "heartbeat healthy",
		[IC_EV_HEARTBEAT_LOST] = "heartbeat lost",
	};
	struct vspd_partition *p = opaque;
	const char *kind = ic_kind_name(ic_dev_kind(ic));

	if (p->d->verbose)
		vspd_log(p->d, "%s: %s: %s", p->name, kind, names[ev]);
	if (p->d->ctl)
		vspd_control_notify(p->d->ctl, names[ev], kind);
}

/* ------------------------------------------------------------ dispatch */

static void dispatch(struct vspd_partition *p, struct packet *pk)
{
	const void *body = pk->u.b + sizeof(pk->u.h);
	uint32_t len = pk->u.h.ah_len;

	switch (pk->u.h.ah_type) {
	case HVIS_ATTACH_GUEST_MESSAGE: {
		const struct hvis_attach_message *m = body;
		struct hvis_attach_status st = { 0 };

		if (len != sizeof(*m) || m->am_size > HVIS_ATTACH_MSG_MAX)
			break;
		if (m->am_type != HVIS_VMBUS_MSGTYPE_CHANNEL)	/* not VMBus: dropped */
			st.as_status = HVIS_STATUS_SUCCESS;
		else
			st.as_status = vmbus_server_handle_message(p->srv, m->am_vp,
								   m->am_connection_id,
								   m->am_payload,
								   m->am_size);
		send_packet(p, HVIS_ATTACH_MESSAGE_STATUS, pk->u.h.ah_seq, &st,
			    sizeof(st), -1);
		return;
	}
	case HVIS_ATTACH_GUEST_SIGNAL:
		if (len != sizeof(struct hvis_attach_signal))
			break;
		vmbus_server_signal(p->srv,
				    ((const struct hvis_attach_signal *)body)->asg_connection_id);
		return;
	case HVIS_ATTACH_EOM:
		if (len != sizeof(struct hvis_attach_eom))
			break;
		vmbus_server_flush(p->srv);
		return;
	case HVIS_ATTACH_TIME_RESULT:
		/* the answer to a time request we stopped waiting for */
		if (len != sizeof(struct hvis_attach_time) ||
		    pk->u.h.ah_seq > p->next_seq)
			break;
		return;
	default:
		break;
	}
	vspd_log(p->d, "partition %s: unexpected packet type %u (%u bytes)",
		 p->name, pk->u.h.ah_type, len);
	p->broken = true;
}

static void run_deferred(struct vspd_partition *p)
{
	while (p->deferred && !p->broken) {
		struct packet *pk = p->deferred;

		p->deferred = pk->next;
		if (!p->deferred)
			p->deferred_tail = &p->deferred;
		p->ndeferred--;
		dispatch(p, pk);
		free(pk);
	}
}

static void link_ready(void *opaque, uint32_t events)
{
	struct vspd_partition *p = opaque;
	struct vspd *d = p->d;
	struct packet pk;
	int fd, n;

	(void)events;
	n = recv_packet(p, &pk, &fd, 0);
	if (n == -ETIMEDOUT)
		return;
	if (fd >= 0) {
		close(fd);
		n = -EPROTO;
	}
	if (n <= 0) {
		vspd_partition_detach(d, n == 0 ? "the partition ended" :
				      "malformed packet");
		return;
	}
	dispatch(p, &pk);
	run_deferred(p);
	if (p->broken)
		vspd_partition_detach(d, "protocol failure");
}

static void clock_stepped(void *opaque, uint32_t events)
{
	struct vspd_partition *p = opaque;
	struct itimerspec far = { .it_value = { .tv_sec = INT32_MAX } };
	uint64_t n;

	(void)events;
	/* ECANCELED: CLOCK_REALTIME was set; re-arm for the next step */
	if (read(p->clock_fd, &n, sizeof(n)) < 0 && errno == ECANCELED) {
		vspd_log(p->d, "%s: host clock stepped: time sync", p->name);
		ic_timesync_step(ic_host_dev(p->ics, IC_TIMESYNC));
	}
	timerfd_settime(p->clock_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
			&far, NULL);
}

/* ------------------------------------------------------------ attach */

static int check_layout(struct vspd_partition *p,
			const struct hvis_attach_partition *a)
{
	struct stat st;

	if (a->ap_version != HVIS_ATTACH_VERSION || !a->ap_nvps ||
	    a->ap_nvps > VSPD_MAX_VPS || !a->ap_nregions ||
	    a->ap_nregions > HVIS_ATTACH_MAX_REGIONS ||
	    fstat(p->memfd, &st) < 0 || st.st_size <= 0)
		return -1;
	p->mem_size = (uint64_t)st.st_size;
	for (uint32_t i = 0; i < a->ap_nregions; i++) {
		const struct hvis_attach_region *r = &a->ap_regions[i];

		if ((r->ar_gpa | r->ar_size | r->ar_offset) & (PAGE - 1) ||
		    !r->ar_size || r->ar_offset > p->mem_size ||
		    r->ar_size > p->mem_size - r->ar_offset ||
		    r->ar_gpa + r->ar_size < r->ar_gpa)
			return -1;
		for (uint32_t j = 0; j < i; j++) {
			const struct hvis_attach_region *o = &a->ap_regions[j];

			if (r->ar_gpa < o->ar_gpa + o->ar_size &&
			    o->ar_gpa < r->ar_gpa + r->ar_size)
				return -1;
		}
		p->regions[i] = *r;
	}
	p->nregions = a->ap_nregions;
	p->nvps = a->ap_nvps;
	memcpy(p->name, a->ap_name, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = 0;
	for (char *c = p->name; *c; c++)
		if (*c < 0x20 || *c == 0x7F)
			*c = '?';
	return 0;
}

static void partition_free(struct vspd_partition *p)
{
	struct vspd *d = p->d;

	/* storage I/O in flight writes guest memory: wait for it first */
	if (p->srv && d->storage)
		vspd_storage_detach(d->storage);
	if (p->srv && d->net)
		vspd_net_detach(d->net);
	/* the server next: it closes and releases every channel without
	 * posting anything to a partition that is gone
	 */
	if (p->srv)
		vmbus_server_destroy(p->srv);
	if (p->ics)
		ic_host_destroy(p->ics);
	mouse_destroy(p->mouse);
	while (p->nevents)
		event_drop(p, 0);
	while (p->deferred) {
		struct packet *pk = p->deferred;

		p->deferred = pk->next;
		free(pk);
	}
	if (p->clock_fd >= 0) {
		loop_del(d->loop, p->clock_fd);
		close(p->clock_fd);
	}
	if (p->fd >= 0) {
		loop_del(d->loop, p->fd);
		close(p->fd);
	}
	if (p->mem && p->mem != MAP_FAILED)
		munmap(p->mem, p->mem_size);
	if (p->memfd >= 0)
		close(p->memfd);
	free(p);
}

void vspd_partition_accept(struct vspd *d)
{
	static const uint32_t msg_conns[] = {
		HVIS_VMBUS_MESSAGE_CONNECTION_ID, HVIS_VMBUS_MESSAGE_CONNECTION_ID_4,
	};
	struct itimerspec far = { .it_value = { .tv_sec = INT32_MAX } };
	struct vspd_partition *p;
	struct packet pk;
	struct vmbus_server_options so = { 0 };
	struct vmbus_server_ops ops = {
		.post_message = op_post_message,
		.signal_guest = op_signal_guest,
		.map_pages = op_map_pages,
		.unmap_pages = op_unmap_pages,
		.event_port = op_event_port,
		.log = op_log,
	};
	struct ic_host_ops icops = {
		.time_now = ic_time_now,
		.log = ic_log,
		.notify = ic_notify,
	};
	const struct hvis_attach_partition *a;
	int fd = accept4(d->attach_fd, NULL, NULL, SOCK_CLOEXEC), n;

	if (fd < 0)
		return;
	if (d->part) {
		vspd_log(d, "refusing a second partition while %s is attached",
			 d->part->name);
		close(fd);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return;
	}
	p->d = d;
	p->fd = fd;
	p->memfd = -1;
	p->clock_fd = -1;
	p->deferred_tail = &p->deferred;
	strcpy(p->name, "(attaching)");

	n = recv_packet(p, &pk, &p->memfd, REPLY_WAIT_MS);
	a = (const void *)(pk.u.b + sizeof(pk.u.h));
	if (n <= 0 || pk.u.h.ah_type != HVIS_ATTACH_PARTITION ||
	    pk.u.h.ah_len != sizeof(*a) || p->memfd < 0 || check_layout(p, a)) {
		vspd_log(d, "attach refused: no valid partition packet");
		partition_free(p);
		return;
	}
	p->mem = mmap(NULL, p->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      p->memfd, 0);
	if (p->mem == MAP_FAILED) {
		vspd_log(d, "attach refused: cannot map guest memory: %s",
			 strerror(errno));
		partition_free(p);
		return;
	}

	so.nvps = p->nvps;
	so.max_version = d->max_version ? d->max_version : a->ap_max_vmbus_version;
	if (d->max_version && a->ap_max_vmbus_version &&
	    a->ap_max_vmbus_version < d->max_version)
		so.max_version = a->ap_max_vmbus_version;
	ops.opaque = p;
	icops.opaque = p;
	p->srv = vmbus_server_create(&so, &ops);
	p->ics = p->srv ? ic_register_all(p->srv, &icops, &d->ic_opt) : NULL;
	if (p->ics && !d->no_mouse)
		p->mouse = mouse_register(p->srv, op_log, p);
	if (!p->ics || (!d->no_mouse && !p->mouse) || (d->storage && vspd_storage_attach(d->storage, p->srv, p->nvps)) ||
	    (d->net && vspd_net_attach(d->net, p->srv, p->nvps)) ||
	    loop_add(d->loop, p->fd, EPOLLIN, link_ready, p)) {
		vspd_log(d, "attach of %s failed: out of memory", p->name);
		partition_free(p);
		return;
	}
	for (size_t i = 0; i < sizeof(msg_conns) / sizeof(msg_conns[0]); i++) {
		struct hvis_attach_connect c = {
			.ac_connection_id = msg_conns[i],
			.ac_flags = HVIS_ATTACH_CONN_MESSAGE,
		};

		send_packet(p, HVIS_ATTACH_CONNECT, 0, &c, sizeof(c), -1);
	}
	p->clock_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->clock_fd >= 0 &&
	    (timerfd_settime(p->clock_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
			     &far, NULL) < 0 ||
	     loop_add(d->loop, p->clock_fd, EPOLLIN, clock_stepped, p))) {
		close(p->clock_fd);
		p->clock_fd = -1;
	}
	if (p->broken) {
		vspd_log(d, "attach of %s failed: the partition hung up", p->name);
		partition_free(p);
		return;
	}
	p->since = loop_now();
	d->part = p;
	d->attaches++;
	d->srv = p->srv;
	d->ics = p->ics;
	d->mouse = p->mouse;
	d->part_name = p->name;
	d->part_nvps = p->nvps;
	d->part_since = p->since;
	vspd_log(d, "partition %s attached: %u VPs, %llu MiB, VMBus up to %u.%u",
		 p->name, p->nvps, (unsigned long long)(p->mem_size >> 20),
		 (so.max_version ? so.max_version : vmbus_versions[0]) >> 16,
		 (so.max_version ? so.max_version : vmbus_versions[0]) & 0xFFFF);
	if (d->ctl)
		vspd_control_notify(d->ctl, "attached", p->name);
}

void vspd_partition_detach(struct vspd *d, const char *why)
{
	struct vspd_partition *p = d->part;

	if (!p)
		return;
	d->part = NULL;
	d->srv = NULL;
	d->ics = NULL;
	d->mouse = NULL;
	d->part_name = NULL;
	d->part_nvps = 0;
	d->part_since = 0;
	vspd_log(d, "partition %s detached: %s", p->name, why);
	if (d->ctl)
		vspd_control_notify(d->ctl, "detached", why);
	partition_free(p);
}

uint64_t vspd_partition_tick(struct vspd *d)
{
	struct vspd_partition *p = d->part;
	uint64_t next;

	if (!p)
		return UINT64_MAX;
	next = ic_host_tick(p->ics, loop_now());
	run_deferred(p);
	if (vmbus_server_backlog(p->srv)) {
		uint64_t retry = loop_now() + BACKLOG_RETRY_NS;

		vmbus_server_flush(p->srv);
		if (retry < next)
			next = retry;
	}
	if (p->broken) {
		vspd_partition_detach(d, "protocol failure");
		return UINT64_MAX;
	}
	return next;
}
