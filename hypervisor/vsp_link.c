// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-run's end of the attach protocol; see vsp_link.h and docs/vmbus.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hvis/attach.h>
#include <hvis/tlfs.h>

#include "attach_io.h"

#include "platform.h"
#include "vm.h"
#include "vsp_link.h"

/* A vCPU waits this long for the service's answer to a guest message. */
#define MESSAGE_WAIT_NS		(5ull * 1000000000ull)
#define WAIT_SLICE_NS		(100ull * 1000000ull)

struct vsp_conn {
	uint32_t id;
	uint32_t flags;
	int efd;		/* -1: GUEST_SIGNAL packets instead */
	bool ioeventfd;		/* efd bound to the fast-signal port */
};

struct vsp_waiter {
	uint64_t seq;		/* 0: idle */
	bool done;
	int32_t status;
};

struct vsp_link {
	struct vm *vm;
	int fd;
	pthread_t reader;
	bool started;

	pthread_mutex_t send_lock;	/* one packet at a time */
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t cond;
	bool dead;
	uint64_t next_seq;
	struct vsp_waiter wait[VM_MAX_VCPUS];
	struct vsp_conn conn[TLFS_MAX_CONNECTIONS];
	unsigned int nconn;
	bool eom_wanted[VM_MAX_VCPUS];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One packet, with @fd (>= 0) as SCM_RIGHTS. 0 or -errno. */
static int link_send(struct vsp_link *l, uint32_t type, uint64_t seq,
		     const void *body, uint32_t len, int fd)
{
	int r;

	pthread_mutex_lock(&l->send_lock);
	r = hvis_attach_send(l->fd, type, seq, body, len, fd);
	pthread_mutex_unlock(&l->send_lock);
	return r;
}

static struct vsp_conn *conn_find_locked(struct vsp_link *l, uint32_t id)
{
	for (unsigned int i = 0; i < l->nconn; i++)
		if (l->conn[i].id == id)
			return &l->conn[i];
	return NULL;
}

/* ------------------------------------------------ guest -> service */

static uint16_t on_guest_message(void *opaque, unsigned int vp,
				 uint32_t connection_id, uint32_t type,
				 const void *payload, uint32_t size)
{
	struct vsp_link *l = opaque;
	struct hvis_attach_message m;
	struct vsp_conn *c;
	uint64_t seq, deadline = mono_ns() + MESSAGE_WAIT_NS;
	uint16_t status;

	if (vp >= VM_MAX_VCPUS || size > HVIS_ATTACH_MSG_MAX)
		return HVIS_STATUS_INVALID_PARAMETER;
	memset(&m, 0, sizeof(m));
	m.am_vp = vp;
	m.am_connection_id = connection_id;
	m.am_type = type;
	m.am_size = size;
	memcpy(m.am_payload, payload, size);

	pthread_mutex_lock(&l->lock);
	c = conn_find_locked(l, connection_id);
	if (l->dead || !c || !(c->flags & HVIS_ATTACH_CONN_MESSAGE)) {
		pthread_mutex_unlock(&l->lock);
		return HVIS_STATUS_INVALID_CONNECTION_ID;
	}
	seq = ++l->next_seq;
	l->wait[vp] = (struct vsp_waiter){ .seq = seq };
	pthread_mutex_unlock(&l->lock);

	if (link_send(l, HVIS_ATTACH_GUEST_MESSAGE, seq, &m, sizeof(m), -1)) {
		pthread_mutex_lock(&l->lock);
		l->wait[vp].seq = 0;
		pthread_mutex_unlock(&l->lock);
		return HVIS_STATUS_INSUFFICIENT_BUFFERS;
	}

	pthread_mutex_lock(&l->lock);
	while (!l->wait[vp].done && !l->dead) {
		uint64_t now = mono_ns(), until;
		struct timespec ts;

		if (now >= deadline || __atomic_load_n(&l->vm->stopping, __ATOMIC_RELAXED))
			break;
		until = now + WAIT_SLICE_NS < deadline ? now + WAIT_SLICE_NS : deadline;
		ts.tv_sec = (time_t)(until / 1000000000ull);
		ts.tv_nsec = (long)(until % 1000000000ull);
		pthread_cond_timedwait(&l->cond, &l->lock, &ts);
	}
	if (l->wait[vp].done) {
		status = (uint16_t)l->wait[vp].status;
	} else if (l->dead) {
		status = HVIS_STATUS_INVALID_CONNECTION_ID;
	} else {
		/* Linux retries on this status; the service is stuck or slow */
		vm_log(l->vm, "VSP service: no answer to a message from vCPU %u", vp);
		status = HVIS_STATUS_INSUFFICIENT_BUFFERS;
	}
	l->wait[vp].seq = 0;
	pthread_mutex_unlock(&l->lock);
	return status;
}

static uint16_t on_guest_signal(void *opaque, unsigned int vp,
				uint32_t connection_id, uint16_t flag)
{
	struct vsp_link *l = opaque;
	struct hvis_attach_signal s = {
		.asg_vp = vp, .asg_flag = flag, .asg_connection_id = connection_id,
	};
	struct vsp_conn *c;
	int efd = -1;

	pthread_mutex_lock(&l->lock);
	c = conn_find_locked(l, connection_id);
	if (l->dead || !c || !(c->flags & HVIS_ATTACH_CONN_EVENT)) {
		pthread_mutex_unlock(&l->lock);
		return HVIS_STATUS_INVALID_CONNECTION_ID;
	}
	efd = c->efd;
	if (efd >= 0) {
		uint64_t one = 1;

		/* under the lock: DISCONNECT closes it */
		if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			vm_log(l->vm, "VSP service: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&l->lock);
	if (efd < 0)
		link_send(l, HVIS_ATTACH_GUEST_SIGNAL, 0, &s, sizeof(s), -1);
	return HVIS_STATUS_SUCCESS;
}

/* ------------------------------------------------ service -> hvis-run */

static int bind_ioeventfd(struct vsp_link *l, struct vsp_conn *c, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = c->id,
		.addr = TLFS_HCALL_SIGNAL_PORT,
		.len = 4,
		.fd = c->efd,
		.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(l->vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

static void conn_drop_locked(struct vsp_link *l, struct vsp_conn *c)
{
	tlfs_set_connection(l->vm->tlfs, c->id, NULL);
	if (c->ioeventfd)
		bind_ioeventfd(l, c, false);
	if (c->efd >= 0)
		close(c->efd);
	*c = l->conn[--l->nconn];
}

static void do_connect(struct vsp_link *l, const struct hvis_attach_connect *a,
		       int fd)
{
	struct vsp_conn *c;

	pthread_mutex_lock(&l->lock);
	if (conn_find_locked(l, a->ac_connection_id) ||
	    l->nconn >= TLFS_MAX_CONNECTIONS || !a->ac_flags ||
	    (a->ac_flags & ~(HVIS_ATTACH_CONN_MESSAGE | HVIS_ATTACH_CONN_EVENT))) {
		pthread_mutex_unlock(&l->lock);
		vm_log(l->vm, "VSP service: connection %#x refused", a->ac_connection_id);
		if (fd >= 0)
			close(fd);
		return;
	}
	c = &l->conn[l->nconn++];
	*c = (struct vsp_conn){ .id = a->ac_connection_id, .flags = a->ac_flags,
				.efd = fd };
	if (fd >= 0 && (a->ac_flags & HVIS_ATTACH_CONN_EVENT))
		c->ioeventfd = bind_ioeventfd(l, c, true) == 0;
	if (tlfs_set_connection(l->vm->tlfs, c->id, &(struct tlfs_connection){
			.opaque = l,
			.post_message = on_guest_message,
			.signal_event = on_guest_signal })) {
		vm_log(l->vm, "VSP service: connection %#x: no room", c->id);
		c->flags = 0;
		conn_drop_locked(l, c);
	}
	pthread_mutex_unlock(&l->lock);
}

static void do_disconnect(struct vsp_link *l, uint32_t id)
{
	struct vsp_conn *c;

	pthread_mutex_lock(&l->lock);
	c = conn_find_locked(l, id);
	if (c)
		conn_drop_locked(l, c);
	pthread_mutex_unlock(&l->lock);
}

static void do_post(struct vsp_link *l, uint64_t seq,
		    const struct hvis_attach_message *m)
{
	struct hvis_attach_status st = { .as_status = -EINVAL };

	if (m->am_vp < l->vm->nvcpus && m->am_sint < HVIS_SINT_COUNT &&
	    m->am_size <= HVIS_ATTACH_MSG_MAX)
		st.as_status = tlfs_post_message(l->vm->tlfs, m->am_vp, m->am_sint,
						 m->am_type, m->am_payload,
						 m->am_size);
	if (st.as_status == -EAGAIN)
		__atomic_store_n(&l->eom_wanted[m->am_vp], true, __ATOMIC_RELEASE);
	link_send(l, HVIS_ATTACH_POST_RESULT, seq, &st, sizeof(st), -1);
}

static void do_answer(struct vsp_link *l, uint64_t seq,
		      const struct hvis_attach_status *st)
{
	pthread_mutex_lock(&l->lock);
	for (unsigned int v = 0; v < VM_MAX_VCPUS; v++) {
		if (l->wait[v].seq == seq && !l->wait[v].done) {
			l->wait[v].done = true;
			l->wait[v].status = st->as_status;
			pthread_cond_broadcast(&l->cond);
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
}

static void do_time(struct vsp_link *l, uint64_t seq)
{
	struct hvis_attach_time t;

	t.at_monotonic_ns = mono_ns();
	t.at_ref_time = vm_ref_time(l->vm);
	link_send(l, HVIS_ATTACH_TIME_RESULT, seq, &t, sizeof(t), -1);
}

/* Body length each service packet must have; -1: not one it may send. */
static int expected_len(uint32_t type)
{
	switch (type) {
	case HVIS_ATTACH_CONNECT:
	case HVIS_ATTACH_DISCONNECT:
		return sizeof(struct hvis_attach_connect);
	case HVIS_ATTACH_MESSAGE_STATUS:
		return sizeof(struct hvis_attach_status);
	case HVIS_ATTACH_POST:
		return sizeof(struct hvis_attach_message);
	case HVIS_ATTACH_SIGNAL:
		return sizeof(struct hvis_attach_signal);
	case HVIS_ATTACH_TIME:
		return 0;
	default:
		return -1;
	}
}

static void *reader_main(void *arg)
{
	struct vsp_link *l = arg;
	union {
		struct hvis_attach_hdr h;
		uint8_t b[HVIS_ATTACH_MAX_PACKET];
		uint64_t align;
	} p;

	for (;;) {
		const void *body = p.b + sizeof(p.h);
		int fd, want;
		ssize_t n = hvis_attach_recv(l->fd, p.b, sizeof(p.b), &fd);

		if (n == 0)
			break;
		if (n < 0 && n != -EPROTO) {
			vm_log(l->vm, "VSP service: %s", strerror((int)-n));
			break;
		}
		want = n > 0 ? expected_len(p.h.ah_type) : -1;
		if (want < 0 || p.h.ah_len != (uint32_t)want ||
		    (fd >= 0 && p.h.ah_type != HVIS_ATTACH_CONNECT)) {
			vm_log(l->vm, "VSP service: malformed packet (type %u, %zd bytes): hanging up",
			       n > 0 ? p.h.ah_type : 0u, n);
			if (fd >= 0)
				close(fd);
			break;
		}
		switch (p.h.ah_type) {
		case HVIS_ATTACH_CONNECT:
			do_connect(l, body, fd);
			break;
		case HVIS_ATTACH_DISCONNECT:
			do_disconnect(l, ((const struct hvis_attach_connect *)body)->ac_connection_id);
			break;
		case HVIS_ATTACH_MESSAGE_STATUS:
			do_answer(l, p.h.ah_seq, body);
			break;
		case HVIS_ATTACH_POST:
			do_post(l, p.h.ah_seq, body);
			break;
		case HVIS_ATTACH_SIGNAL: {
			const struct hvis_attach_signal *s = body;

			if (s->asg_vp >= l->vm->nvcpus || s->asg_sint >= HVIS_SINT_COUNT ||
			    s->asg_flag >= HVIS_EVENT_FLAGS_BYTES * 8)
				vm_log(l->vm, "VSP service: bad event flag %u/%u/%u",
				       s->asg_vp, s->asg_sint, s->asg_flag);
			else
				tlfs_signal_flag(l->vm->tlfs, s->asg_vp, s->asg_sint,
						 s->asg_flag);
			break;
		}
		case HVIS_ATTACH_TIME:
			do_time(l, p.h.ah_seq);
			break;
		}
	}

	/* the service is gone: VMBus falls silent, the guest runs on */
	pthread_mutex_lock(&l->lock);
	l->dead = true;
	while (l->nconn)
		conn_drop_locked(l, &l->conn[0]);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (!__atomic_load_n(&l->vm->stopping, __ATOMIC_RELAXED))
		vm_log(l->vm, "VSP service detached; synthetic devices are gone until restart");
	return NULL;
}

/* ------------------------------------------------ setup */

struct vsp_link *vsp_link_open(struct vm *vm, const char *path,
			       const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hvis_attach_partition part;
	struct vsp_link *l;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		vm_log(vm, "VSP socket path too long: %s", path);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->vm = vm;
	pthread_mutex_init(&l->send_lock, NULL);
	pthread_mutex_init(&l->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	memcpy(sa.sun_path, path, strlen(path));
	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vm_log(vm, "VSP service at %s: %s", path, strerror(errno));
		goto fail;
	}

	memset(&part, 0, sizeof(part));
	part.ap_version = HVIS_ATTACH_VERSION;
	part.ap_nvps = vm->nvcpus;
	part.ap_max_vmbus_version = vm->cfg.vmbus_max_version;
	strncpy(part.ap_name, name, sizeof(part.ap_name) - 1);
	part.ap_regions[0] = (struct hvis_attach_region){
		.ar_gpa = 0, .ar_size = vm->mem.low_size, .ar_offset = 0,
	};
	part.ap_nregions = 1;
	if (vm->mem.size > vm->mem.low_size) {
		part.ap_regions[1] = (struct hvis_attach_region){
			.ar_gpa = HVIS_HIGH_RAM_BASE,
			.ar_size = vm->mem.size - vm->mem.low_size,
			.ar_offset = vm->mem.low_size,
		};
		part.ap_nregions = 2;
	}
	if (link_send(l, HVIS_ATTACH_PARTITION, 0, &part, sizeof(part),
		      vm->mem.memfd)) {
		vm_log(vm, "VSP service at %s: sending the partition failed", path);
		goto fail;
	}
	return l;
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return NULL;
}

int vsp_link_start(struct vsp_link *l)
{
	int r = pthread_create(&l->reader, NULL, reader_main, l);

	if (r)
		return -r;
	l->started = true;
	return 0;
}

void vsp_link_close(struct vsp_link *l)
{
	if (!l)
		return;
	shutdown(l->fd, SHUT_RDWR);
	if (l->started)
		pthread_join(l->reader, NULL);
	pthread_mutex_lock(&l->lock);
	while (l->nconn)
		conn_drop_locked(l, &l->conn[0]);
	pthread_mutex_unlock(&l->lock);
	close(l->fd);
	free(l);
}

void vsp_link_eom(struct vsp_link *l, unsigned int vp)
{
	struct hvis_attach_eom e = { .ae_vp = vp };

	if (!l || vp >= VM_MAX_VCPUS ||
	    !__atomic_exchange_n(&l->eom_wanted[vp], false, __ATOMIC_ACQ_REL))
		return;
	link_send(l, HVIS_ATTACH_EOM, 0, &e, sizeof(e), -1);
}
