// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMBus server: the connection state machine (INITIATE_CONTACT,
 * REQUESTOFFERS, UNLOAD), message validation and dispatch, and the
 * backlog of host->guest messages. Channels are in channel.c, GPADLs in
 * gpadl.c; docs/vmbus-server.md has the state and message tables.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

/* ------------------------------------------------------------ versions */

const uint32_t vmbus_versions[] = {
	HVIS_VMBUS_VERSION_WS2022,	/* 5.3 */
	HVIS_VMBUS_VERSION_WS2019,	/* 5.2 */
	HVIS_VMBUS_VERSION_WIN10_RS5,	/* 5.1 */
	HVIS_VMBUS_VERSION_WIN10_RS4,	/* 5.0 */
	HVIS_VMBUS_VERSION_WIN10_RS3,	/* 4.1 */
	HVIS_VMBUS_VERSION_WIN10,	/* 4.0 */
	HVIS_VMBUS_VERSION_WIN8_1,	/* 3.0 */
	HVIS_VMBUS_VERSION_WIN8,	/* 2.4 */
	HVIS_VMBUS_VERSION_WIN7,	/* 1.1 */
	HVIS_VMBUS_VERSION_WS2008,	/* 0.13 */
};
const unsigned int vmbus_nversions = sizeof(vmbus_versions) /
				     sizeof(vmbus_versions[0]);

bool vmbus_version_known(uint32_t version)
{
	for (unsigned int i = 0; i < vmbus_nversions; i++)
		if (vmbus_versions[i] == version)
			return true;
	return false;
}

int vmbus_version_parse(const char *s, uint32_t *version)
{
	unsigned int major, minor;
	char tail;

	if (!s || sscanf(s, "%u.%u%c", &major, &minor, &tail) != 2 ||
	    major > 0xFFFF || minor > 0xFFFF)
		return -1;
	*version = HVIS_VMBUS_VERSION(major, minor);
	return 0;
}

static bool version_supported(const struct vmbus_server *srv, uint32_t v)
{
	return vmbus_version_known(v) && v <= srv->max_version;
}

/* ------------------------------------------------------------ plumbing */

void srv_log(struct vmbus_server *srv, enum vmbus_log_level lvl,
	     const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!srv->ops.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	srv->ops.log(srv->ops.opaque, lvl, line);
}

void srv_enter(struct vmbus_server *srv)
{
	srv->depth++;
}

/* Free released devices once no caller can still hold one. */
static void srv_gc(struct vmbus_server *srv)
{
	struct vmbus_device **pp = &srv->devs, *d;

	srv->devs_tail = NULL;
	while ((d = *pp)) {
		if (d->dead) {
			*pp = d->next;
			free(d);
		} else {
			srv->devs_tail = d;
			pp = &d->next;
		}
	}
}

void srv_leave(struct vmbus_server *srv)
{
	if (--srv->depth == 0)
		srv_gc(srv);
}

struct vmbus_device *srv_relid_dev(struct vmbus_server *srv, uint32_t relid)
{
	struct vmbus_device *d;

	if (relid == 0 || relid > VMBUS_SERVER_MAX_CHANNELS)
		return NULL;
	d = srv->relid_map[relid];
	return d && !d->dead ? d : NULL;
}

static const char *msg_name(uint32_t type);

/* ------------------------------------------------------------ backlog */

static bool q_push(struct vmbus_server *srv, uint32_t vp, uint32_t sint,
		   const void *msg, uint32_t len)
{
	struct vmbus_out_msg *m;

	if (srv->q_len == srv->q_cap) {
		unsigned int cap = srv->q_cap ? srv->q_cap * 2 : 16;
		struct vmbus_out_msg *nq;

		if (srv->q_cap >= VMBUS_SERVER_BACKLOG_HARD)
			return false;
		if (cap > VMBUS_SERVER_BACKLOG_HARD)
			cap = VMBUS_SERVER_BACKLOG_HARD;
		nq = malloc(cap * sizeof(*nq));
		if (!nq)
			return false;
		for (unsigned int i = 0; i < srv->q_len; i++)
			nq[i] = srv->q[(srv->q_head + i) % srv->q_cap];
		free(srv->q);
		srv->q = nq;
		srv->q_cap = cap;
		srv->q_head = 0;
	}
	m = &srv->q[(srv->q_head + srv->q_len) % srv->q_cap];
	m->vp = vp;
	m->sint = sint;
	m->len = len;
	memcpy(m->data, msg, len);
	srv->q_len++;
	return true;
}

unsigned int vmbus_server_flush(struct vmbus_server *srv)
{
	while (srv->q_len) {
		struct vmbus_out_msg *m = &srv->q[srv->q_head];
		int rc = srv->ops.post_message(srv->ops.opaque, m->vp, m->sint,
					       m->data, m->len);

		if (rc == -EAGAIN)
			break;
		if (rc) {
			uint32_t type;

			memcpy(&type, m->data, sizeof(type));
			srv->st.msgs_dropped++;
			srv_log(srv, VMBUS_LOG_ERROR,
				"vmbus: post %s to vp %u sint %u failed (%d), dropped",
				msg_name(type), m->vp, m->sint, rc);
		} else {
			srv->st.msgs_out++;
		}
		srv->q_head = (srv->q_head + 1) % srv->q_cap;
		srv->q_len--;
	}
	return srv->q_len;
}

static void q_drop_all(struct vmbus_server *srv)
{
	if (srv->q_len)
		srv_log(srv, VMBUS_LOG_INFO,
			"vmbus: %u undelivered messages of the old connection dropped",
			srv->q_len);
	srv->q_head = 0;
	srv->q_len = 0;
}

static void srv_post_to(struct vmbus_server *srv, uint32_t vp, uint32_t sint,
			const void *msg, uint32_t len)
{
	if (srv->resetting)
		return;
	if (!q_push(srv, vp, sint, msg, len)) {
		uint32_t type;

		memcpy(&type, msg, sizeof(type));
		srv->st.msgs_dropped++;
		srv_log(srv, VMBUS_LOG_ERROR,
			"vmbus: backlog full (%u), %s dropped", srv->q_len,
			msg_name(type));
		return;
	}
	vmbus_server_flush(srv);
}

/* Messages always go to the VP and SINT INITIATE_CONTACT named. */
void srv_post(struct vmbus_server *srv, const void *msg, uint32_t len)
{
	srv_post_to(srv, srv->vp, srv->sint, msg, len);
}

/* ------------------------------------------------------------ reset */

/*
 * Back to DISCONNECTED without a word to the guest: close every channel,
 * forget every GPADL and relid, finish pending rescinds, drop the
 * backlog. The target VP/SINT stay for an UNLOAD_RESPONSE.
 */
static void srv_reset(struct vmbus_server *srv)
{
	struct vmbus_device *d;

	srv->resetting = true;
	for (d = srv->devs; d; d = d->next)
		if (!d->dead && d->state == VMBUS_CHAN_OPEN)
			chan_close(d);
	gpadl_free_all(srv);
	for (d = srv->devs; d; d = d->next) {
		if (d->dead)
			continue;
		if (d->state == VMBUS_CHAN_RESCINDED)
			chan_release(d);
		else if (d->state == VMBUS_CHAN_OFFERED)
			chan_unassign(d);
	}
	if (srv->int_page) {
		srv->ops.unmap_pages(srv->ops.opaque, srv->int_page, 1);
		srv->int_page = NULL;
	}
	if (srv->state != VMBUS_CONN_DISCONNECTED &&
	    srv->version < HVIS_VMBUS_VERSION_WIN8 && srv->ops.event_port)
		srv->ops.event_port(srv->ops.opaque,
				    HVIS_VMBUS_EVENT_CONNECTION_ID, false);
	q_drop_all(srv);
	srv->state = VMBUS_CONN_DISCONNECTED;
	srv->version = 0;
	srv->resetting = false;
}

/* ------------------------------------------------------------ handlers */

static void post_version_response(struct vmbus_server *srv, bool ok,
				  uint32_t conn_or_version)
{
	struct hvis_chmsg_version_response r;

	memset(&r, 0, sizeof(r));
	r.vr_hdr.ch_msgtype = HVIS_CHMSG_VERSION_RESPONSE;
	r.vr_version_supported = ok;
	r.vr_connection_state = 0;	/* successful */
	r.vr_msg_conn_id = ok ? conn_or_version : 0;
	srv_post(srv, &r, sizeof(r));
}

static void h_initiate_contact(struct vmbus_server *srv, const uint8_t *buf,
			       uint32_t len)
{
	struct hvis_chmsg_initiate_contact m;
	uint32_t ver, vp, sint;
	bool ok = true;

	(void)len;
	memcpy(&m, buf, sizeof(m));
	ver = m.ic_version_requested;

	/* A new contact ends the old connection (kexec, crash kernel). */
	if (srv->state != VMBUS_CONN_DISCONNECTED)
		srv_log(srv, VMBUS_LOG_INFO,
			"vmbus: INITIATE_CONTACT while connected: resetting");
	srv_reset(srv);

	/* Before 3.0 messages went to VP 0; before 5.0 to SINT 2. */
	vp = ver >= HVIS_VMBUS_VERSION_WIN8_1 ? m.ic_target_vcpu : 0;
	sint = ver >= HVIS_VMBUS_VERSION_WIN10_RS4 ? m.ic_msg_sint :
	       HVIS_VMBUS_MESSAGE_SINT;
	if (vp >= srv->opt.nvps) {
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: INITIATE_CONTACT: target vp %u of %u", vp,
			srv->opt.nvps);
		vp = 0;
		ok = false;
	}
	if (sint >= HVIS_SINT_COUNT) {
		srv_log(srv, VMBUS_LOG_WARN, "vmbus: INITIATE_CONTACT: sint %u",
			sint);
		sint = HVIS_VMBUS_MESSAGE_SINT;
		ok = false;
	}
	srv->vp = vp;
	srv->sint = sint;
	if (ok && ver >= HVIS_VMBUS_VERSION_WIN10_RS4 && m.ic_msg_vtl) {
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: INITIATE_CONTACT for VTL %u", m.ic_msg_vtl);
		ok = false;
	}
	if (ok && !version_supported(srv, ver)) {
		srv_log(srv, VMBUS_LOG_INFO,
			"vmbus: version %u.%u refused (newest %u.%u)", ver >> 16,
			ver & 0xFFFF, srv->max_version >> 16,
			srv->max_version & 0xFFFF);
		ok = false;
	}
	/*
	 * Before 2.4 the host interrupts a channel by setting its bit in the
	 * first half of the guest's interrupt page (and event flag 0); the
	 * guest flags the host in the second half. Those guests cannot be
	 * told of a failure, so a bad page is a refused version.
	 */
	if (ok && ver < HVIS_VMBUS_VERSION_WIN8) {
		uint64_t gpa = m.ic_interrupt_page, pfn = gpa >> HVIS_PAGE_SHIFT;
		void *view = NULL;

		if (!gpa || (gpa & (VMBUS_PAGE - 1)) ||
		    srv->ops.map_pages(srv->ops.opaque, &pfn, 1, &view) ||
		    !view) {
			srv_log(srv, VMBUS_LOG_WARN,
				"vmbus: INITIATE_CONTACT: bad interrupt page %#llx",
				(unsigned long long)gpa);
			ok = false;
		} else {
			srv->int_page = view;
		}
	}
	if (!ok) {
		post_version_response(srv, false, 0);
		return;
	}

	srv->version = ver;
	srv->state = VMBUS_CONN_CONNECTED;
	if (ver < HVIS_VMBUS_VERSION_WIN8 && srv->ops.event_port)
		srv->ops.event_port(srv->ops.opaque,
				    HVIS_VMBUS_EVENT_CONNECTION_ID, true);
	srv_log(srv, VMBUS_LOG_INFO,
		"vmbus: connected, version %u.%u, messages to vp %u sint %u",
		ver >> 16, ver & 0xFFFF, vp, sint);
	/* 5.0+: the connection id for all later messages; before: the version
	 * (the field was "selected version" then; Linux ignores it).
	 */
	post_version_response(srv, true,
			      ver >= HVIS_VMBUS_VERSION_WIN10_RS4 ?
			      srv->opt.msg_conn_id : ver);
}

static void h_request_offers(struct vmbus_server *srv, const uint8_t *buf,
			     uint32_t len)
{
	struct hvis_chmsg_hdr done;
	struct vmbus_device *d;

	(void)buf;
	(void)len;
	if (srv->state != VMBUS_CONN_CONNECTED) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN, "vmbus: REQUESTOFFERS %s: ignored",
			srv->state == VMBUS_CONN_OFFERED ? "again" :
			"while disconnected");
		return;
	}
	srv->state = VMBUS_CONN_OFFERED;
	/* Devices added by an offered() callback are offered by add_device. */
	for (d = srv->devs; d; d = d->next)
		if (!d->dead && d->state == VMBUS_CHAN_IDLE)
			chan_offer(d);
	memset(&done, 0, sizeof(done));
	done.ch_msgtype = HVIS_CHMSG_ALLOFFERS_DELIVERED;
	srv_post(srv, &done, sizeof(done));
}

static void h_unload(struct vmbus_server *srv, const uint8_t *buf,
		     uint32_t len)
{
	struct hvis_chmsg_hdr r;

	(void)buf;
	(void)len;
	srv_reset(srv);
	srv_log(srv, VMBUS_LOG_INFO, "vmbus: unloaded");
	memset(&r, 0, sizeof(r));
	r.ch_msgtype = HVIS_CHMSG_UNLOAD_RESPONSE;
	srv_post(srv, &r, sizeof(r));
}

/* Look up the relid a channel message names; log and count if bad. */
static struct vmbus_device *msg_dev(struct vmbus_server *srv, uint32_t type,
				    uint32_t relid)
{
	struct vmbus_device *d = srv_relid_dev(srv, relid);

	if (!d) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN, "vmbus: %s for unknown relid %u",
			msg_name(type), relid);
	}
	return d;
}

static void h_open(struct vmbus_server *srv, const uint8_t *buf, uint32_t len)
{
	struct hvis_chmsg_open m;
	struct vmbus_device *d;

	(void)len;
	memcpy(&m, buf, sizeof(m));
	d = msg_dev(srv, HVIS_CHMSG_OPENCHANNEL, m.op_child_relid);
	if (!d)
		return;
	switch (d->state) {
	case VMBUS_CHAN_OFFERED:
		chan_open(d, &m);
		break;
	case VMBUS_CHAN_RESCINDED:
		/* Linux expects silence here: the rescind answers it. */
		srv_log(srv, VMBUS_LOG_DEBUG,
			"vmbus: OPENCHANNEL for rescinded relid %u", d->relid);
		break;
	default:
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: OPENCHANNEL for open relid %u: ignored", d->relid);
		break;
	}
}

static void h_close(struct vmbus_server *srv, const uint8_t *buf, uint32_t len)
{
	struct hvis_chmsg_relid m;
	struct vmbus_device *d;

	(void)len;
	memcpy(&m, buf, sizeof(m));
	d = msg_dev(srv, HVIS_CHMSG_CLOSECHANNEL, m.rl_child_relid);
	if (!d)
		return;
	if (d->state == VMBUS_CHAN_OPEN) {
		chan_close(d);
	} else if (d->state != VMBUS_CHAN_RESCINDED) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: CLOSECHANNEL for closed relid %u: ignored",
			d->relid);
	}
}

static void h_relid_released(struct vmbus_server *srv, const uint8_t *buf,
			     uint32_t len)
{
	struct hvis_chmsg_relid m;
	struct vmbus_device *d;
	uint32_t relid;

	(void)len;
	memcpy(&m, buf, sizeof(m));
	d = msg_dev(srv, HVIS_CHMSG_RELID_RELEASED, m.rl_child_relid);
	if (!d)
		return;
	relid = d->relid;
	switch (d->state) {
	case VMBUS_CHAN_OPEN:
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: RELID_RELEASED for open relid %u: ignored", relid);
		break;
	case VMBUS_CHAN_RESCINDED:
		/* Linux tears nothing down after a rescind: we do it. */
		gpadl_free_relid(srv, relid);
		chan_release(d);
		srv_log(srv, VMBUS_LOG_INFO, "vmbus: relid %u released", relid);
		break;
	default:
		/* The guest gave up an offer (e.g. no driver memory): it is
		 * offered again on the next connection.
		 */
		gpadl_free_relid(srv, relid);
		chan_unassign(d);
		srv_log(srv, VMBUS_LOG_INFO,
			"vmbus: guest released relid %u without a rescind",
			relid);
		break;
	}
}

static void h_modify(struct vmbus_server *srv, const uint8_t *buf,
		     uint32_t len)
{
	struct hvis_chmsg_modify m;
	struct vmbus_device *d;
	uint32_t status = VMBUS_STATUS_UNSUCCESSFUL;

	(void)len;
	memcpy(&m, buf, sizeof(m));
	d = msg_dev(srv, HVIS_CHMSG_MODIFYCHANNEL, m.mc_child_relid);
	if (d && d->state == VMBUS_CHAN_OPEN && m.mc_target_vp < srv->opt.nvps) {
		d->target_vp = m.mc_target_vp;
		status = 0;
		srv_log(srv, VMBUS_LOG_DEBUG, "vmbus: relid %u now targets vp %u",
			d->relid, d->target_vp);
	} else if (d) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: MODIFYCHANNEL relid %u (state %d) to vp %u refused",
			d->relid, d->state, m.mc_target_vp);
	}
	/* Only 5.3 acknowledges (Linux waits for it there, never before). */
	if (srv->version >= HVIS_VMBUS_VERSION_WS2022) {
		struct hvis_chmsg_modify_response r;

		memset(&r, 0, sizeof(r));
		r.mr_hdr.ch_msgtype = HVIS_CHMSG_MODIFYCHANNEL_RESPONSE;
		r.mr_child_relid = m.mc_child_relid;
		r.mr_status = status;
		srv_post(srv, &r, sizeof(r));
	}
}

static void h_tl_connect(struct vmbus_server *srv, const uint8_t *buf,
			 uint32_t len)
{
	(void)buf;
	(void)len;
	srv->st.msgs_ignored++;
	srv_log(srv, VMBUS_LOG_WARN,
		"vmbus: TL_CONNECT_REQUEST: hv_sock is not provided, ignored");
}

/* ------------------------------------------------------------ dispatch */

enum msg_when {
	FROM_HOST = 0,		/* the guest must not send it: ignored */
	ANY_STATE,		/* handled in every connection state */
	CONNECTED,		/* needs a negotiated version */
};

struct msg_desc {
	const char *name;
	enum msg_when when;
	uint32_t min_len;	/* the whole message, header included */
	uint32_t min_version;
	void (*fn)(struct vmbus_server *srv, const uint8_t *buf, uint32_t len);
};

#define MSG(t, w, len, ver, f) \
	[HVIS_CHMSG_##t] = { #t, w, len, ver, f }

static const struct msg_desc msg_table[HVIS_CHMSG_COUNT] = {
	MSG(OFFERCHANNEL, FROM_HOST, 0, 0, NULL),
	MSG(RESCIND_CHANNELOFFER, FROM_HOST, 0, 0, NULL),
	MSG(REQUESTOFFERS, CONNECTED, sizeof(struct hvis_chmsg_hdr), 0,
	    h_request_offers),
	MSG(ALLOFFERS_DELIVERED, FROM_HOST, 0, 0, NULL),
	MSG(OPENCHANNEL, CONNECTED, sizeof(struct hvis_chmsg_open), 0, h_open),
	MSG(OPENCHANNEL_RESULT, FROM_HOST, 0, 0, NULL),
	MSG(CLOSECHANNEL, CONNECTED, sizeof(struct hvis_chmsg_relid), 0,
	    h_close),
	MSG(GPADL_HEADER, CONNECTED, sizeof(struct hvis_chmsg_gpadl_header), 0,
	    gpadl_header),
	MSG(GPADL_BODY, CONNECTED, sizeof(struct hvis_chmsg_gpadl_body), 0,
	    gpadl_body),
	MSG(GPADL_CREATED, FROM_HOST, 0, 0, NULL),
	MSG(GPADL_TEARDOWN, CONNECTED, sizeof(struct hvis_chmsg_gpadl_teardown),
	    0, gpadl_teardown),
	MSG(GPADL_TORNDOWN, FROM_HOST, 0, 0, NULL),
	MSG(RELID_RELEASED, CONNECTED, sizeof(struct hvis_chmsg_relid), 0,
	    h_relid_released),
	MSG(INITIATE_CONTACT, ANY_STATE,
	    sizeof(struct hvis_chmsg_initiate_contact), 0, h_initiate_contact),
	MSG(VERSION_RESPONSE, FROM_HOST, 0, 0, NULL),
	MSG(UNLOAD, ANY_STATE, sizeof(struct hvis_chmsg_hdr), 0, h_unload),
	MSG(UNLOAD_RESPONSE, FROM_HOST, 0, 0, NULL),
	MSG(TL_CONNECT_REQUEST, CONNECTED, sizeof(struct hvis_chmsg_tl_connect),
	    HVIS_VMBUS_VERSION_WIN10, h_tl_connect),
	MSG(MODIFYCHANNEL, CONNECTED, sizeof(struct hvis_chmsg_modify),
	    HVIS_VMBUS_VERSION_WIN10_RS3, h_modify),
	MSG(TL_CONNECT_RESULT, FROM_HOST, 0, 0, NULL),
	MSG(MODIFYCHANNEL_RESPONSE, FROM_HOST, 0, 0, NULL),
};

static const char *msg_name(uint32_t type)
{
	if (type < HVIS_CHMSG_COUNT && msg_table[type].name)
		return msg_table[type].name;
	return "unknown message";
}

/* 1 always; 4 and the announced msg_conn_id only when 5.0+ is offered. */
static bool conn_ok(const struct vmbus_server *srv, uint32_t connection_id)
{
	if (connection_id == HVIS_VMBUS_MESSAGE_CONNECTION_ID)
		return true;
	if (srv->max_version < HVIS_VMBUS_VERSION_WIN10_RS4)
		return false;
	return connection_id == HVIS_VMBUS_MESSAGE_CONNECTION_ID_4 ||
	       connection_id == srv->opt.msg_conn_id;
}

uint16_t vmbus_server_handle_message(struct vmbus_server *srv, uint32_t vp,
				     uint32_t connection_id, const void *msg,
				     size_t len)
{
	uint8_t buf[HVIS_MESSAGE_PAYLOAD_MAX];
	const struct msg_desc *d;
	struct hvis_chmsg_hdr hdr;

	if (len > HVIS_MESSAGE_PAYLOAD_MAX || (len && !msg)) {
		srv->st.msgs_refused++;
		return HVIS_STATUS_INVALID_PARAMETER;
	}
	if (!conn_ok(srv, connection_id)) {
		srv->st.msgs_refused++;
		srv_log(srv, VMBUS_LOG_DEBUG,
			"vmbus: message on connection %u refused", connection_id);
		return HVIS_STATUS_INVALID_CONNECTION_ID;
	}
	/* One private, zero-padded copy: the guest cannot change it under us
	 * and nothing reads past what it sent.
	 */
	memset(buf, 0, sizeof(buf));
	if (len)
		memcpy(buf, msg, len);
	if (len < sizeof(hdr)) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: %zu-byte message from vp %u: no header", len, vp);
		return HVIS_STATUS_SUCCESS;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.ch_msgtype != HVIS_CHMSG_INITIATE_CONTACT &&
	    hdr.ch_msgtype != HVIS_CHMSG_UNLOAD &&
	    srv->q_len >= VMBUS_SERVER_BACKLOG_MAX &&
	    vmbus_server_flush(srv) >= VMBUS_SERVER_BACKLOG_MAX) {
		srv->st.msgs_refused++;
		return HVIS_STATUS_INSUFFICIENT_BUFFERS;
	}

	srv->st.msgs_in++;
	d = hdr.ch_msgtype < HVIS_CHMSG_COUNT ? &msg_table[hdr.ch_msgtype] :
	    NULL;
	if (!d || !d->fn) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: guest sent %s (type %u): ignored",
			msg_name(hdr.ch_msgtype), hdr.ch_msgtype);
		return HVIS_STATUS_SUCCESS;
	}
	if (len < d->min_len) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: %s of %zu bytes (needs %u): ignored", d->name, len,
			d->min_len);
		return HVIS_STATUS_SUCCESS;
	}
	if (d->when == CONNECTED &&
	    (srv->state == VMBUS_CONN_DISCONNECTED ||
	     srv->version < d->min_version)) {
		srv->st.msgs_ignored++;
		srv_log(srv, VMBUS_LOG_WARN,
			"vmbus: %s %s: ignored", d->name,
			srv->state == VMBUS_CONN_DISCONNECTED ?
			"while disconnected" : "not in this version");
		return HVIS_STATUS_SUCCESS;
	}
	srv_enter(srv);
	d->fn(srv, buf, (uint32_t)len);
	srv_leave(srv);
	return HVIS_STATUS_SUCCESS;
}

/* ------------------------------------------------------------ signals */

/* Pre-2.4: the guest sets relid bits in the second half of the interrupt
 * page, then signals connection 2. Relids stop at 255: 8 words.
 */
static void scan_interrupt_page(struct vmbus_server *srv)
{
	uint32_t *send = (uint32_t *)(srv->int_page + VMBUS_PAGE / 2);

	for (unsigned int w = 0; w * 32 <= VMBUS_SERVER_MAX_CHANNELS; w++) {
		uint32_t bits;

		if (!srv->int_page)
			return;		/* a device unloaded us meanwhile */
		bits = __atomic_exchange_n(&send[w], 0u, __ATOMIC_ACQ_REL);
		while (bits) {
			unsigned int b = (unsigned int)__builtin_ctz(bits);
			struct vmbus_device *d = srv_relid_dev(srv, w * 32 + b);

			bits &= bits - 1;
			if (d)
				chan_dispatch(d);
		}
	}
}

uint16_t vmbus_server_signal(struct vmbus_server *srv, uint32_t connection_id)
{
	uint16_t status = HVIS_STATUS_INVALID_CONNECTION_ID;

	srv_enter(srv);
	srv->st.signals_in++;
	if (connection_id == HVIS_VMBUS_EVENT_CONNECTION_ID) {
		if (srv->int_page) {
			scan_interrupt_page(srv);
			status = HVIS_STATUS_SUCCESS;
		}
	} else if (connection_id > VMBUS_SERVER_CONNID_BASE &&
		   connection_id <= VMBUS_SERVER_CONNID_BASE +
				    VMBUS_SERVER_MAX_CHANNELS &&
		   srv->version >= HVIS_VMBUS_VERSION_WIN7) {
		struct vmbus_device *d =
			srv_relid_dev(srv, connection_id - VMBUS_SERVER_CONNID_BASE);

		if (d && d->state == VMBUS_CHAN_OPEN) {
			chan_dispatch(d);
			status = HVIS_STATUS_SUCCESS;
		}
	}
	srv_leave(srv);
	return status;
}

/* ------------------------------------------------------------ lifetime */

struct vmbus_server *vmbus_server_create(const struct vmbus_server_options *opt,
					 const struct vmbus_server_ops *ops)
{
	struct vmbus_server *srv;

	if (!opt || !ops || !opt->nvps || !ops->post_message ||
	    !ops->signal_guest || !ops->map_pages || !ops->unmap_pages)
		return NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->opt = *opt;
	srv->ops = *ops;
	if (!srv->opt.msg_conn_id)
		srv->opt.msg_conn_id = HVIS_VMBUS_MESSAGE_CONNECTION_ID;
	if (!srv->opt.max_gpadls)
		srv->opt.max_gpadls = VMBUS_SERVER_DEF_MAX_GPADLS;
	if (!srv->opt.max_gpadl_pages)
		srv->opt.max_gpadl_pages = VMBUS_SERVER_DEF_MAX_PAGES;
	vmbus_server_set_max_version(srv, opt->max_version);
	srv->sint = HVIS_VMBUS_MESSAGE_SINT;
	return srv;
}

void vmbus_server_destroy(struct vmbus_server *srv)
{
	struct vmbus_device *d;

	if (!srv)
		return;
	srv_enter(srv);
	srv_reset(srv);
	srv->resetting = true;
	for (d = srv->devs; d; d = d->next)
		if (!d->dead)
			chan_release(d);
	srv->depth = 0;
	srv_gc(srv);
	free(srv->q);
	free(srv);
}

void vmbus_server_set_max_version(struct vmbus_server *srv, uint32_t version)
{
	srv->max_version = version ? version : HVIS_VMBUS_VERSION_WS2022;
}

/* ------------------------------------------------------------ queries */

enum vmbus_conn_state vmbus_server_conn_state(const struct vmbus_server *srv)
{
	return srv->state;
}

uint32_t vmbus_server_version(const struct vmbus_server *srv)
{
	return srv->version;
}

void vmbus_server_target(const struct vmbus_server *srv, uint32_t *vp,
			 uint32_t *sint)
{
	if (vp)
		*vp = srv->vp;
	if (sint)
		*sint = srv->sint;
}

void vmbus_server_get_stats(const struct vmbus_server *srv,
			    struct vmbus_server_stats *st)
{
	*st = srv->st;
}

unsigned int vmbus_server_backlog(const struct vmbus_server *srv)
{
	return srv->q_len;
}

unsigned int vmbus_server_gpadl_count(const struct vmbus_server *srv)
{
	return srv->ngpadls;
}

enum vmbus_gpadl_state vmbus_server_gpadl_state(const struct vmbus_server *srv,
						uint32_t handle)
{
	const struct vmbus_gpadl *g;

	for (g = srv->gpadls; g; g = g->next)
		if (g->handle == handle)
			return g->state;
	return VMBUS_GPADL_NONE;
}

struct vmbus_device *vmbus_server_device_by_relid(struct vmbus_server *srv,
						  uint32_t relid)
{
	return srv_relid_dev(srv, relid);
}
