// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-vspd's control socket: JSON lines for hvisctl and other managers
 * (protocol: docs/control-protocol.md).
 *
 * Each connection is a session: requests are read into a bounded buffer
 * and answered strictly in order, one answer line per request line.
 * Requests that need the guest (shutdown, KVP, VSS freeze / thaw) are
 * answered from their IC callback; the lines behind such a request wait
 * for it. The callback owns a small request object (struct ctl_req), so
 * a client that leaves meanwhile only orphans it: the callback drops the
 * answer and frees it.
 *
 * Clients are not trusted: lines are capped (CTL_LINE_MAX, then an error
 * and the connection closes), so are the sessions (CTL_MAX_CLIENTS) and
 * the unsent answers of a session (CTL_OUT_HIGH: it is not read further
 * until its client reads). Malformed requests get an error answer.
 *
 * Everything runs on the loop thread. IC callbacks never write to a
 * socket or close a session: they queue the answer and ask the loop for
 * EPOLLOUT, so a session is only ever freed from its own event handler,
 * vspd_control_close() or vspd_ctl_session_free().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/guid.h"
#include "control.h"
#include "host-vsp/net/nic.h"
#include "storage.h"

#define CTL_IN_CAP	(CTL_LINE_MAX + 1u)	/* a longest line and its '\n' */
#define CTL_ACCEPT_MAX	16			/* accepts per listen event */
#define CTL_EVENT_NAME	32
#define CTL_EVENT_DETAIL 224

struct ctl_event {
	uint64_t mono;			/* loop_now() */
	int64_t unix_ms;		/* CLOCK_REALTIME */
	char event[CTL_EVENT_NAME];
	char detail[CTL_EVENT_DETAIL];
	bool has_detail;
};

struct vspd_control {
	struct vspd *d;
	int fd;				/* listening; -1 without a socket */
	int spare;			/* reserve fd for EMFILE */
	ino_t ino;			/* our socket file */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct vspd_ctl_session *sessions;
	unsigned int nsessions;
	struct ctl_event ev[CTL_EVENTS];
	unsigned int ev_next;		/* slot of the next event */
	unsigned int ev_count;
	uint64_t ev_total;
};

struct ctl_req;

struct vspd_ctl_session {
	struct vspd_control *c;
	struct vspd_ctl_session *next;
	int fd;				/* -1: not a socket (tests) */
	uint32_t events;		/* epoll interest now */
	char *in;			/* CTL_IN_CAP */
	size_t in_off, in_len;		/* unread lines: in[in_off, in_len) */
	char *out;
	size_t out_off, out_len, out_cap;
	struct ctl_req *pending;	/* answered by an IC callback */
	bool eof;			/* the client sends nothing more */
	bool closing;			/* oversize line: flush, then close */
	bool dead;			/* cannot write: close now */
};

enum ctl_op {
	OP_SHUTDOWN,
	OP_KVP_GET,
	OP_KVP_SET,
	OP_KVP_DELETE,
	OP_KVP_LIST,
	OP_VSS_FREEZE,
	OP_VSS_THAW,
	OP_TIMESYNC_STEP,
};

/* An async request; its IC callback frees it. */
struct ctl_req {
	struct vspd_ctl_session *s;	/* NULL: the client left */
	enum ctl_op op;
	uint8_t pool;
	uint32_t flags;			/* shutdown flags */
	json_object *id;		/* the request's "id", echoed */
};

static const char *const pool_names[HVIS_KVP_POOL_COUNT] = {
	[HVIS_KVP_POOL_EXTERNAL] = "external",
	[HVIS_KVP_POOL_GUEST] = "guest",
	[HVIS_KVP_POOL_AUTO] = "auto",
	[HVIS_KVP_POOL_AUTO_EXTERNAL] = "auto-external",
	[HVIS_KVP_POOL_AUTO_INTERNAL] = "auto-internal",
};

static void session_kick(struct vspd_ctl_session *s);

/* ------------------------------------------------------------ JSON helpers */

static void jadd(json_object *o, const char *key, json_object *v)
{
	if (!o || json_object_object_add(o, key, v))
		json_object_put(v);
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *ju64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* Seconds with millisecond precision, printed as such. */
static json_object *jsec(uint64_t ns)
{
	char buf[32];
	double v = (double)ns / 1e9;

	snprintf(buf, sizeof(buf), "%.3f", v);
	return json_object_new_double_s(v, buf);
}

/* The age of monotonic time @t (0 = never: null). */
static json_object *jage(uint64_t t)
{
	uint64_t now = loop_now();

	if (!t)
		return NULL;
	return jsec(now > t ? now - t : 0);
}

static json_object *jversion(struct hvis_ic_version v)
{
	char buf[16];

	if (!v.iv_major && !v.iv_minor)
		return NULL;
	snprintf(buf, sizeof(buf), "%u.%u", v.iv_major, v.iv_minor);
	return json_object_new_string(buf);
}

static json_object *ans_ok(void)
{
	json_object *o = json_object_new_object();

	jadd(o, "ok", json_object_new_boolean(1));
	return o;
}

static json_object *ans_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static json_object *ans_err(const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jadd(o, "ok", json_object_new_boolean(0));
	jadd(o, "error", json_object_new_string(msg));
	return o;
}

/* The length of the valid UTF-8 character at @s (at most @n bytes), or 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		cp = s[0] & 0x1Fu;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		cp = s[0] & 0x0Fu;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3Fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/*
 * Copy at most @size - 1 bytes of @src as valid UTF-8: invalid bytes
 * become '?', a cut falls between characters.
 */
static void copy_utf8(char *dst, size_t size, const char *src)
{
	size_t i = 0, o = 0, n = strlen(src);

	while (i < n) {
		size_t l = utf8_char((const unsigned char *)src + i, n - i);

		if (o + (l ? l : 1) >= size)
			break;
		if (!l) {
			dst[o++] = '?';
			i++;
			continue;
		}
		memcpy(dst + o, src + i, l);
		o += l;
		i += l;
	}
	dst[o] = '\0';
}

/* A string from another process (names, details) as a JSON string. */
static json_object *jclean(const char *s)
{
	char buf[256];

	if (!s)
		return NULL;
	copy_utf8(buf, sizeof(buf), s);
	return json_object_new_string(buf);
}

/* A client string shown back in an error: printable ASCII, short. */
static void sanitize(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7F ? src[i] : '?';
	dst[i] = '\0';
}

/* ------------------------------------------------------------ output */

static void out_append(struct vspd_ctl_session *s, const char *p, size_t n)
{
	if (s->dead)
		return;
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
	if (s->out_len + n > s->out_cap && s->out_off) {
		memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
		s->out_len -= s->out_off;
		s->out_off = 0;
	}
	if (s->out_len + n > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		char *b;

		while (cap < s->out_len + n)
			cap *= 2;
		b = realloc(s->out, cap);
		if (!b) {
			s->dead = true;	/* cannot answer in order any more */
			return;
		}
		s->out = b;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
}

/* One answer line; takes @ans. */
static void emit(struct vspd_ctl_session *s, json_object *ans, json_object *id)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}";
	const char *txt = NULL;
	size_t n = 0;

	if (ans && id)
		jadd(ans, "id", json_object_get(id));
	if (ans)
		txt = json_object_to_json_string_length(ans,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (!txt) {
		txt = oom;
		n = sizeof(oom) - 1;
	}
	out_append(s, txt, n);
	out_append(s, "\n", 1);
	json_object_put(ans);
}

static size_t out_pending(const struct vspd_ctl_session *s)
{
	return s->out_len - s->out_off;
}

/* ------------------------------------------------------------ arguments */

/* Each returns NULL when fine, else the error answer. */
static json_object *arg_str(json_object *req, const char *key, bool required,
			    const char **out)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(req, key, &v) || !v)
		return required ? ans_err("missing \"%s\"", key) : NULL;
	if (!json_object_is_type(v, json_type_string))
		return ans_err("\"%s\" must be a string", key);
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return ans_err("\"%s\" contains a NUL character", key);
	*out = json_object_get_string(v);
	return NULL;
}

static json_object *arg_bool(json_object *req, const char *key, bool *out)
{
	json_object *v = NULL;

	*out = false;
	if (!json_object_object_get_ex(req, key, &v) || !v)
		return NULL;
	if (!json_object_is_type(v, json_type_boolean))
		return ans_err("\"%s\" must be true or false", key);
	*out = json_object_get_boolean(v);
	return NULL;
}

static json_object *arg_uint(json_object *req, const char *key, uint64_t max,
			     bool *present, uint64_t *out)
{
	json_object *v = NULL;

	*present = false;
	*out = 0;
	if (!json_object_object_get_ex(req, key, &v) || !v)
		return NULL;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 || json_object_get_uint64(v) > max)
		return ans_err("\"%s\" must be an integer 0..%llu", key,
			       (unsigned long long)max);
	*present = true;
	*out = json_object_get_uint64(v);
	return NULL;
}

static json_object *arg_pool(json_object *req, uint8_t *pool)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(req, "pool", &v) || !v)
		return ans_err("missing \"pool\"");
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		if (n >= 0 && n < HVIS_KVP_POOL_COUNT) {
			*pool = (uint8_t)n;
			return NULL;
		}
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		for (unsigned int i = 0; i < HVIS_KVP_POOL_COUNT; i++) {
			if (!strcmp(s, pool_names[i]) ||
			    (s[0] == (char)('0' + i) && !s[1])) {
				*pool = (uint8_t)i;
				return NULL;
			}
		}
	}
	return ans_err("\"pool\" must be 0..4 or external, guest, auto, auto-external, auto-internal");
}

/* ------------------------------------------------------------ names */

static const char *conn_state_name(enum vmbus_conn_state st)
{
	switch (st) {
	case VMBUS_CONN_DISCONNECTED:
		return "disconnected";
	case VMBUS_CONN_CONNECTED:
		return "connected";
	case VMBUS_CONN_OFFERED:
		return "offered";
	}
	return "?";
}

static const char *chan_state_name(enum vmbus_chan_state st)
{
	switch (st) {
	case VMBUS_CHAN_IDLE:
		return "idle";
	case VMBUS_CHAN_OFFERED:
		return "offered";
	case VMBUS_CHAN_OPEN:
		return "open";
	case VMBUS_CHAN_RESCINDED:
		return "rescinded";
	}
	return "?";
}

static const char *health_name(enum ic_hb_health h)
{
	switch (h) {
	case IC_HB_UNKNOWN:
		return "unknown";
	case IC_HB_HEALTHY:
		return "healthy";
	case IC_HB_NO_REPLY:
		return "no-reply";
	}
	return "?";
}

static const char *vss_state_name(enum ic_vss_state st)
{
	switch (st) {
	case IC_VSS_IDLE:
		return "idle";
	case IC_VSS_FREEZING:
		return "freezing";
	case IC_VSS_FROZEN:
		return "frozen";
	case IC_VSS_THAWING:
		return "thawing";
	}
	return "?";
}

static const char *vss_op_name(enum hvis_vss_op op)
{
	switch (op) {
	case HVIS_VSS_OP_HOT_BACKUP:
		return "hot-backup";
	case HVIS_VSS_OP_GET_DM_INFO:
		return "get-dm-info";
	case HVIS_VSS_OP_FREEZE:
		return "freeze";
	case HVIS_VSS_OP_THAW:
		return "thaw";
	default:
		return "?";
	}
}

static const char *ts_flags_name(uint8_t f)
{
	switch (f) {
	case HVIS_TIMESYNC_FLAG_PROBE:
		return "probe";
	case HVIS_TIMESYNC_FLAG_SYNC:
		return "sync";
	case HVIS_TIMESYNC_FLAG_SAMPLE:
		return "sample";
	}
	return "?";
}

/* ------------------------------------------------------------ errors */

/* A failed IC call (negative errno) as a readable answer. */
static json_object *rc_err(enum ctl_op op, enum ic_kind kind, int rc)
{
	const char *ic = ic_kind_name(kind);

	switch (rc) {
	case -EINVAL:
		if (op == OP_SHUTDOWN)
			return ans_err("invalid shutdown flags or message (UTF-8, at most 1023 UTF-16 units)");
		return ans_err("invalid key or value: empty key, invalid UTF-8 or a NUL character");
	case -E2BIG:
		return ans_err("key longer than 255 or value longer than 1023 UTF-16 code units");
	case -ENOTCONN:
		return ans_err("the %s IC is not connected (channel not open, or negotiation failed)",
			       ic);
	case -EAGAIN:
		return ans_err("the %s IC is still negotiating with the guest; try again",
			       ic);
	case -EBUSY:
		if (op == OP_SHUTDOWN)
			return ans_err("a shutdown request is already outstanding");
		if (op == OP_VSS_FREEZE)
			return ans_err("a freeze is under way or the guest is frozen");
		return ans_err("too many %s requests queued; try again", ic);
	case -ENOTSUP:
		if (op == OP_SHUTDOWN)
			return ans_err("the guest's shutdown IC version cannot do that (reboot needs 3.1, hibernate 3.2)");
		return ans_err("the guest's %s IC version cannot do that", ic);
	case -ENOSPC:
		return ans_err("the ring to the guest is full; try again");
	case -ENOMEM:
		return ans_err("out of memory");
	}
	return ans_err("%s IC: %s", ic, strerror(rc < 0 ? -rc : rc));
}

/* How an IC request ended, when not OK. */
static json_object *result_err(const char *what, enum ic_result result,
			       uint32_t status)
{
	json_object *a;

	switch (result) {
	case IC_RESULT_FAILED:
		a = ans_err("%s: the guest answered failure status 0x%08x",
			    what, status);
		break;
	case IC_RESULT_TIMEOUT:
		a = ans_err("%s: the guest did not answer in time", what);
		break;
	case IC_RESULT_CLOSED:
		a = ans_err("%s: the channel closed before the guest answered",
			    what);
		break;
	case IC_RESULT_BAD_REPLY:
		a = ans_err("%s: the guest's answer was malformed", what);
		break;
	case IC_RESULT_UNSUPPORTED:
		a = ans_err("%s: the negotiated IC version cannot do that",
			    what);
		break;
	default:
		a = ans_err("%s: %s", what, ic_result_name(result));
		break;
	}
	jadd(a, "result", json_object_new_string(ic_result_name(result)));
	jadd(a, "status", ju64(status));
	return a;
}

/* ------------------------------------------------------------ requests */

static struct ctl_req *req_new(struct vspd_ctl_session *s, enum ctl_op op,
			       json_object *id)
{
	struct ctl_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->s = s;
	r->op = op;
	r->id = id ? json_object_get(id) : NULL;
	return r;
}

static void req_free(struct ctl_req *r)
{
	json_object_put(r->id);
	free(r);
}

/* The session waits for @r's callback (set before the IC call: the
 * callback may run before the call returns).
 */
static void req_start(struct vspd_ctl_session *s, struct ctl_req *r)
{
	s->pending = r;
}

/* The IC call failed: its callback will never run. */
static json_object *req_fail(struct vspd_ctl_session *s, struct ctl_req *r,
			     enum ic_kind kind, int rc)
{
	json_object *a = rc_err(r->op, kind, rc);

	if (s->pending == r)
		s->pending = NULL;
	req_free(r);
	return a;
}

/* From a callback: answer (takes @ans) and free @r. */
static void req_answer(struct ctl_req *r, json_object *ans)
{
	struct vspd_ctl_session *s = r->s;

	if (s) {
		emit(s, ans, r->id);
		if (s->pending == r)
			s->pending = NULL;
		session_kick(s);
	} else {
		json_object_put(ans);
	}
	req_free(r);
}

static struct ic_dev *need_ic(struct vspd_ctl_session *s, enum ic_kind kind,
			      json_object **err)
{
	struct ic_dev *ic = ic_host_dev(vspd_ics(s->c->d), kind);

	if (!ic)
		*err = ans_err("the %s IC is not available", ic_kind_name(kind));
	return ic;
}

/*
 * Requests queue while an IC negotiates, but a guest whose daemon never
 * answered NEGOTIATE would keep the client waiting: refuse them then.
 */
static json_object *check_overdue(struct ic_dev *ic)
{
	struct ic_dev_info info;

	ic_dev_info(ic, &info);
	if (info.state == IC_STATE_NEGOTIATING && info.negotiate_overdue)
		return ans_err("the guest has not answered the %s IC's negotiation (is its %s daemon running?)",
			       ic_kind_name(info.kind), ic_kind_name(info.kind));
	return NULL;
}

/* ------------------------------------------------------------ status */

/*
 * The offer's class and instance GUIDs. server.h has no accessor for
 * them yet, so this one function reads the server's internals.
 */
static json_object *chan_json(struct ic_host *h, struct vmbus_device *dev)
{
	json_object *o = json_object_new_object();
	struct hvis_guid cls, inst;
	char g[HVIS_GUID_STRLEN];
	const char *name = NULL;
	enum vmbus_chan_state st = vmbus_device_state(dev);
	uint32_t relid = vmbus_device_relid(dev);
	uint32_t vp = vmbus_device_target_vp(dev);

	static const struct {
		struct hvis_guid g;
		const char *name;
	} classes[] = {
		{ HVIS_GUID_SCSI, "scsi" }, { HVIS_GUID_IDE, "ide" },
		{ HVIS_GUID_NET, "network" }, { HVIS_GUID_MOUSE, "mouse" },
		{ HVIS_GUID_KEYBOARD, "keyboard" },
	};

	for (unsigned int k = 0; k < IC_KIND_COUNT; k++)
		if (h && ic_dev_vmbus(ic_host_dev(h, (enum ic_kind)k)) == dev)
			name = ic_kind_name((enum ic_kind)k);
	vmbus_device_ids(dev, &cls, &inst);
	for (size_t k = 0; !name && k < sizeof(classes) / sizeof(classes[0]); k++)
		if (!memcmp(&cls, &classes[k].g, sizeof(cls)))
			name = classes[k].name;
	jadd(o, "relid", relid ? ju64(relid) : NULL);
	hvis_guid_format(&cls, g);
	jadd(o, "class", json_object_new_string(name ? name : g));
	jadd(o, "class_id", json_object_new_string(g));
	hvis_guid_format(&inst, g);
	jadd(o, "instance", json_object_new_string(g));
	jadd(o, "state", json_object_new_string(chan_state_name(st)));
	jadd(o, "target_vp", st == VMBUS_CHAN_OPEN && vp != VMBUS_VP_NONE ?
	     ju64(vp) : NULL);
	return o;
}

static json_object *vmbus_json(struct vmbus_server *srv)
{
	json_object *o = json_object_new_object(), *st;
	struct vmbus_server_stats s;
	enum vmbus_conn_state cs = vmbus_server_conn_state(srv);
	uint32_t ver = vmbus_server_version(srv), vp = 0, sint = 0;
	char buf[16];

	vmbus_server_target(srv, &vp, &sint);
	vmbus_server_get_stats(srv, &s);
	jadd(o, "state", json_object_new_string(conn_state_name(cs)));
	if (ver) {
		snprintf(buf, sizeof(buf), "%u.%u", ver >> 16, ver & 0xFFFF);
		jadd(o, "version", json_object_new_string(buf));
	} else {
		jadd(o, "version", NULL);
	}
	jadd(o, "target_vp", cs != VMBUS_CONN_DISCONNECTED ? ju64(vp) : NULL);
	jadd(o, "sint", cs != VMBUS_CONN_DISCONNECTED ? ju64(sint) : NULL);
	jadd(o, "backlog", ju64(vmbus_server_backlog(srv)));
	jadd(o, "gpadls", ju64(vmbus_server_gpadl_count(srv)));
	st = json_object_new_object();
	jadd(st, "msgs_in", ju64(s.msgs_in));
	jadd(st, "msgs_ignored", ju64(s.msgs_ignored));
	jadd(st, "msgs_refused", ju64(s.msgs_refused));
	jadd(st, "msgs_out", ju64(s.msgs_out));
	jadd(st, "msgs_dropped", ju64(s.msgs_dropped));
	jadd(st, "signals_in", ju64(s.signals_in));
	jadd(st, "signals_out", ju64(s.signals_out));
	jadd(o, "stats", st);
	return o;
}

static json_object *ic_json(struct ic_dev *ic)
{
	json_object *o = json_object_new_object(), *st;
	struct ic_dev_info in;

	ic_dev_info(ic, &in);
	jadd(o, "kind", json_object_new_string(ic_kind_name(in.kind)));
	jadd(o, "state", json_object_new_string(ic_state_name(in.state)));
	jadd(o, "relid", in.relid ? ju64(in.relid) : NULL);
	jadd(o, "framework", jversion(in.framework));
	jadd(o, "message", jversion(in.message));
	jadd(o, "negotiate_overdue", json_object_new_boolean(in.negotiate_overdue));
	jadd(o, "busy", json_object_new_boolean(in.busy));
	jadd(o, "queued", ju64(in.queued));
	st = json_object_new_object();
	jadd(st, "tx", ju64(in.st.tx));
	jadd(st, "rx", ju64(in.st.rx));
	jadd(st, "dropped", ju64(in.st.dropped));
	jadd(st, "stale", ju64(in.st.stale));
	jadd(st, "timeouts", ju64(in.st.timeouts));
	jadd(st, "send_errors", ju64(in.st.send_errors));
	jadd(o, "stats", st);
	return o;
}

static json_object *mouse_json(struct mouse_dev *m);

static json_object *cmd_status(struct vspd_ctl_session *s, json_object *req,
			       json_object *id)
{
	struct vspd *d = s->c->d;
	struct vmbus_server *srv = d->part ? vspd_server(d) : NULL;
	struct ic_host *h = d->part ? vspd_ics(d) : NULL;
	json_object *a = ans_ok(), *chans, *ics;
	uint64_t since, now = loop_now();

	(void)req;
	(void)id;
	jadd(a, "name", jclean(d->name));
	jadd(a, "pid", json_object_new_int64((int64_t)getpid()));
	jadd(a, "attached", json_object_new_boolean(d->part != NULL));
	jadd(a, "attaches", ju64(d->attaches));
	chans = json_object_new_array();
	ics = json_object_new_array();
	if (!d->part) {
		jadd(a, "partition", NULL);
		jadd(a, "vps", ju64(0));
		jadd(a, "attached_for_s", NULL);
		jadd(a, "vmbus", NULL);
		jadd(a, "channels", chans);
		jadd(a, "ics", ics);
		return a;
	}
	jadd(a, "partition", jclean(vspd_partition_name(d)));
	jadd(a, "vps", ju64(vspd_partition_nvps(d)));
	since = vspd_partition_since(d);
	jadd(a, "attached_for_s", since ? jsec(now > since ? now - since : 0) :
	     NULL);
	jadd(a, "vmbus", srv ? vmbus_json(srv) : NULL);
	for (uint32_t relid = 1; srv && relid <= VMBUS_SERVER_MAX_CHANNELS;
	     relid++) {
		struct vmbus_device *dev = vmbus_server_device_by_relid(srv, relid);

		if (dev)
			json_object_array_add(chans, chan_json(h, dev));
	}
	for (unsigned int k = 0; k < IC_KIND_COUNT; k++) {
		struct ic_dev *ic = ic_host_dev(h, (enum ic_kind)k);
		struct vmbus_device *dev = ic_dev_vmbus(ic);

		/* registered but without a relid: not in the relid map */
		if (dev && !vmbus_device_relid(dev))
			json_object_array_add(chans, chan_json(h, dev));
		if (ic)
			json_object_array_add(ics, ic_json(ic));
	}
	jadd(a, "channels", chans);
	jadd(a, "ics", ics);
	jadd(a, "mouse", d->mouse ? mouse_json(d->mouse) : NULL);
	jadd(a, "nics", vspd_net_json(d->net));
	return a;
}

static json_object *cmd_events(struct vspd_ctl_session *s, json_object *req,
			       json_object *id)
{
	struct vspd_control *c = s->c;
	json_object *a = ans_ok(), *arr = json_object_new_array();
	unsigned int first = (c->ev_next + CTL_EVENTS - c->ev_count) % CTL_EVENTS;
	uint64_t now = loop_now();

	(void)req;
	(void)id;
	for (unsigned int i = 0; i < c->ev_count; i++) {
		const struct ctl_event *e = &c->ev[(first + i) % CTL_EVENTS];
		json_object *o = json_object_new_object();

		jadd(o, "mono_ns", ju64(e->mono));
		jadd(o, "age_s", jsec(now > e->mono ? now - e->mono : 0));
		jadd(o, "unix_ms", json_object_new_int64(e->unix_ms));
		jadd(o, "event", json_object_new_string(e->event));
		jadd(o, "detail", e->has_detail ?
		     json_object_new_string(e->detail) : NULL);
		json_object_array_add(arr, o);
	}
	jadd(a, "total", ju64(c->ev_total));
	jadd(a, "events", arr);
	return a;
}

static json_object *cmd_help(struct vspd_ctl_session *s, json_object *req,
			     json_object *id);

/* ------------------------------------------------------------ heartbeat */

static json_object *cmd_heartbeat(struct vspd_ctl_session *s, json_object *req,
				  json_object *id)
{
	json_object *err = NULL, *a;
	struct ic_dev *ic = need_ic(s, IC_HEARTBEAT, &err);
	struct ic_heartbeat_status st;

	(void)req;
	(void)id;
	if (!ic)
		return err;
	if (ic_heartbeat_status(ic, &st))
		return ans_err("heartbeat status unavailable");
	a = ans_ok();
	jadd(a, "state", json_object_new_string(ic_state_name(ic_dev_state(ic))));
	jadd(a, "health", json_object_new_string(health_name(st.health)));
	jadd(a, "sent", ju64(st.sent));
	jadd(a, "acked", ju64(st.acked));
	jadd(a, "missed", ju64(st.missed));
	jadd(a, "missed_in_row", ju64(st.missed_in_row));
	jadd(a, "last_seq", st.acked_any ? ju64(st.last_seq_acked) : NULL);
	jadd(a, "last_reply_age_s", jage(st.last_reply_at));
	return a;
}

/* ------------------------------------------------------------ shutdown */

static void shutdown_done(void *ctx, struct ic_dev *ic, enum ic_result result,
			  uint32_t status)
{
	struct ctl_req *r = ctx;
	json_object *a;

	(void)ic;
	if (!r->s) {
		req_free(r);
		return;
	}
	if (result == IC_RESULT_OK) {
		a = ans_ok();
		jadd(a, "result", json_object_new_string(ic_result_name(result)));
		jadd(a, "status", ju64(status));
	} else {
		a = result_err(r->flags & HVIS_SHUTDOWN_FLAG_REBOOT ? "reboot" :
			       r->flags & HVIS_SHUTDOWN_FLAG_HIBERNATE ?
			       "hibernate" : "shutdown", result, status);
	}
	req_answer(r, a);
}

static json_object *cmd_shutdown(struct vspd_ctl_session *s, json_object *req,
				 json_object *id)
{
	struct ic_shutdown_params p;
	json_object *err = NULL;
	struct ic_dev *ic;
	struct ctl_req *r;
	bool reboot, force, hib, have_t;
	const char *msg;
	uint64_t t;
	uint32_t flags = 0;
	int rc;

	if ((err = arg_bool(req, "reboot", &reboot)) ||
	    (err = arg_bool(req, "force", &force)) ||
	    (err = arg_bool(req, "hibernate", &hib)) ||
	    (err = arg_str(req, "message", false, &msg)) ||
	    (err = arg_uint(req, "timeout_s", UINT32_MAX, &have_t, &t)))
		return err;
	if (reboot && hib)
		return ans_err("\"reboot\" and \"hibernate\" exclude each other");
	ic = need_ic(s, IC_SHUTDOWN, &err);
	if (!ic)
		return err;
	flags = (reboot ? HVIS_SHUTDOWN_FLAG_REBOOT : 0) |
		(hib ? HVIS_SHUTDOWN_FLAG_HIBERNATE : 0) |
		(force ? HVIS_SHUTDOWN_FLAG_FORCE : 0);
	r = req_new(s, OP_SHUTDOWN, id);
	if (!r)
		return ans_err("out of memory");
	r->flags = flags;
	memset(&p, 0, sizeof(p));
	p.timeout_seconds = (uint32_t)t;
	p.message = msg;
	p.done = shutdown_done;
	p.ctx = r;
	req_start(s, r);
	rc = ic_shutdown_request(ic, flags, &p);
	if (rc)
		return req_fail(s, r, IC_SHUTDOWN, rc);
	return NULL;
}

/* ------------------------------------------------------------ KVP */

static void kvp_done(void *ctx, struct ic_dev *ic, const struct ic_kvp_result *res)
{
	struct ctl_req *r = ctx;
	json_object *a, *arr;
	const char *cached;

	if (!r->s) {
		req_free(r);
		return;
	}
	if (res->result == IC_RESULT_FAILED && res->status == HVIS_KVP_S_CONT &&
	    (r->op == OP_KVP_GET || r->op == OP_KVP_DELETE)) {
		a = ans_err("no such key in pool %s", pool_names[r->pool]);
		jadd(a, "result", json_object_new_string(ic_result_name(res->result)));
		jadd(a, "status", ju64(res->status));
		req_answer(r, a);
		return;
	}
	if (res->result != IC_RESULT_OK) {
		static const char *const what[] = {
			[OP_KVP_GET] = "kvp get", [OP_KVP_SET] = "kvp set",
			[OP_KVP_DELETE] = "kvp delete", [OP_KVP_LIST] = "kvp list",
		};

		req_answer(r, result_err(what[r->op], res->result, res->status));
		return;
	}
	a = ans_ok();
	jadd(a, "pool", ju64(r->pool));
	jadd(a, "pool_name", json_object_new_string(pool_names[r->pool]));
	switch (r->op) {
	case OP_KVP_GET:
		jadd(a, "key", jstr(res->key));
		jadd(a, "value", jstr(res->value));
		jadd(a, "type", json_object_new_string(
			     res->value_type == HVIS_KVP_REG_U32 ? "u32" :
			     res->value_type == HVIS_KVP_REG_U64 ? "u64" :
			     "string"));
		/* Linux 6.1 answers GET with an empty value: show the last
		 * enumeration's value beside it.
		 */
		cached = res->key ? ic_kvp_pool_lookup(ic, r->pool, res->key) :
			 NULL;
		if (cached)
			jadd(a, "cached", json_object_new_string(cached));
		break;
	case OP_KVP_LIST:
		arr = json_object_new_array();
		for (unsigned int i = 0; i < ic_kvp_pool_count(ic, r->pool); i++) {
			const char *k, *v;
			json_object *e;

			if (ic_kvp_pool_entry(ic, r->pool, i, &k, &v))
				break;
			e = json_object_new_object();
			jadd(e, "key", jstr(k));
			jadd(e, "value", jstr(v));
			json_object_array_add(arr, e);
		}
		jadd(a, "entries", arr);
		break;
	default:
		break;
	}
	req_answer(r, a);
}

static json_object *kvp_cmd(struct vspd_ctl_session *s, json_object *req,
			    json_object *id, enum ctl_op op)
{
	json_object *err = NULL, *v = NULL;
	const char *key = NULL, *value = NULL;
	uint64_t num = 0;
	bool is_num = false;
	struct ic_dev *ic;
	struct ctl_req *r;
	uint8_t pool = 0;
	int rc;

	if ((err = arg_pool(req, &pool)))
		return err;
	if (op != OP_KVP_LIST && (err = arg_str(req, "key", true, &key)))
		return err;
	if (op == OP_KVP_SET) {
		if (!json_object_object_get_ex(req, "value", &v) || !v)
			return ans_err("missing \"value\"");
		if (json_object_is_type(v, json_type_int)) {
			if (json_object_get_int64(v) < 0)
				return ans_err("\"value\" must be a string or an integer 0..18446744073709551615");
			num = json_object_get_uint64(v);
			is_num = true;
		} else if ((err = arg_str(req, "value", true, &value))) {
			json_object_put(err);
			return ans_err("\"value\" must be a string or an integer 0..18446744073709551615");
		}
	}
	ic = need_ic(s, IC_KVP, &err);
	if (!ic)
		return err;
	if ((err = check_overdue(ic)))
		return err;
	r = req_new(s, op, id);
	if (!r)
		return ans_err("out of memory");
	r->pool = pool;
	req_start(s, r);
	switch (op) {
	case OP_KVP_GET:
		rc = ic_kvp_get(ic, pool, key, kvp_done, r);
		break;
	case OP_KVP_SET:
		rc = is_num ? ic_kvp_set_int(ic, pool, key, HVIS_KVP_REG_U64,
					     num, kvp_done, r) :
			      ic_kvp_set(ic, pool, key, value, kvp_done, r);
		break;
	case OP_KVP_DELETE:
		rc = ic_kvp_delete(ic, pool, key, kvp_done, r);
		break;
	default:
		rc = ic_kvp_enumerate(ic, pool, kvp_done, r);
		break;
	}
	if (rc)
		return req_fail(s, r, IC_KVP, rc);
	return NULL;
}

static json_object *cmd_kvp_get(struct vspd_ctl_session *s, json_object *req,
				json_object *id)
{
	return kvp_cmd(s, req, id, OP_KVP_GET);
}

static json_object *cmd_kvp_set(struct vspd_ctl_session *s, json_object *req,
				json_object *id)
{
	return kvp_cmd(s, req, id, OP_KVP_SET);
}

static json_object *cmd_kvp_delete(struct vspd_ctl_session *s,
				   json_object *req, json_object *id)
{
	return kvp_cmd(s, req, id, OP_KVP_DELETE);
}

static json_object *cmd_kvp_list(struct vspd_ctl_session *s, json_object *req,
				 json_object *id)
{
	return kvp_cmd(s, req, id, OP_KVP_LIST);
}

/* ------------------------------------------------------------ VSS */

static void vss_done(void *ctx, struct ic_dev *ic, const struct ic_vss_result *res)
{
	struct ctl_req *r = ctx;
	json_object *a;

	(void)ic;
	if (!r->s) {
		req_free(r);
		return;
	}
	if (res->result == IC_RESULT_OK) {
		a = ans_ok();
		jadd(a, "result", json_object_new_string(ic_result_name(res->result)));
		jadd(a, "status", ju64(res->status));
	} else if (r->op == OP_VSS_FREEZE &&
		   res->op == HVIS_VSS_OP_HOT_BACKUP &&
		   res->result == IC_RESULT_FAILED) {
		a = ans_err("freeze: the guest refused HOT_BACKUP (status 0x%08x): is its VSS daemon running?",
			    res->status);
		jadd(a, "result", json_object_new_string(ic_result_name(res->result)));
		jadd(a, "status", ju64(res->status));
	} else {
		a = result_err(r->op == OP_VSS_FREEZE ? "freeze" : "thaw",
			       res->result, res->status);
	}
	jadd(a, "op", json_object_new_string(vss_op_name(res->op)));
	jadd(a, "hbu_flags", ju64(res->hbu_flags));
	jadd(a, "dm_flags", ju64(res->dm_flags));
	jadd(a, "auto_thaw", json_object_new_boolean(res->auto_thaw));
	req_answer(r, a);
}

static json_object *vss_cmd(struct vspd_ctl_session *s, json_object *req,
			    json_object *id, enum ctl_op op)
{
	json_object *err = NULL;
	struct ic_dev *ic;
	struct ctl_req *r;
	bool have_t = false;
	uint64_t t = 0;
	int rc;

	if (op == OP_VSS_FREEZE &&
	    (err = arg_uint(req, "timeout_s", 24 * 3600, &have_t, &t)))
		return err;
	if (have_t && !t)
		return ans_err("\"timeout_s\" must be at least 1");
	ic = need_ic(s, IC_VSS, &err);
	if (!ic)
		return err;
	if ((err = check_overdue(ic)))
		return err;
	r = req_new(s, op, id);
	if (!r)
		return ans_err("out of memory");
	req_start(s, r);
	if (op == OP_VSS_FREEZE)
		rc = ic_vss_freeze(ic, t * IC_NSEC_PER_SEC, vss_done, r);
	else
		rc = ic_vss_thaw(ic, vss_done, r);
	if (rc)
		return req_fail(s, r, IC_VSS, rc);
	return NULL;
}

static json_object *cmd_vss_freeze(struct vspd_ctl_session *s,
				   json_object *req, json_object *id)
{
	return vss_cmd(s, req, id, OP_VSS_FREEZE);
}

static json_object *cmd_vss_thaw(struct vspd_ctl_session *s, json_object *req,
				 json_object *id)
{
	return vss_cmd(s, req, id, OP_VSS_THAW);
}

static json_object *cmd_vss_status(struct vspd_ctl_session *s,
				   json_object *req, json_object *id)
{
	json_object *err = NULL, *a;
	struct ic_dev *ic = need_ic(s, IC_VSS, &err);
	struct ic_vss_status st;

	(void)req;
	(void)id;
	if (!ic)
		return err;
	if (ic_vss_status(ic, &st))
		return ans_err("VSS status unavailable");
	a = ans_ok();
	jadd(a, "ic_state", json_object_new_string(ic_state_name(ic_dev_state(ic))));
	jadd(a, "state", json_object_new_string(vss_state_name(st.state)));
	jadd(a, "frozen_for_s", st.state == IC_VSS_FROZEN ? jage(st.frozen_at) :
	     NULL);
	if (st.have_result) {
		jadd(a, "last_op", json_object_new_string(vss_op_name(st.last_op)));
		jadd(a, "last_result",
		     json_object_new_string(ic_result_name(st.last_result)));
		jadd(a, "last_status", ju64(st.last_status));
	} else {
		jadd(a, "last_op", NULL);
		jadd(a, "last_result", NULL);
		jadd(a, "last_status", NULL);
	}
	jadd(a, "hbu_flags", ju64(st.hbu_flags));
	jadd(a, "dm_flags", ju64(st.dm_flags));
	jadd(a, "freezes", ju64(st.freezes));
	jadd(a, "thaws", ju64(st.thaws));
	jadd(a, "failures", ju64(st.failures));
	jadd(a, "timeouts", ju64(st.timeouts));
	return a;
}

/* ------------------------------------------------------------ time sync */

static json_object *cmd_timesync(struct vspd_ctl_session *s, json_object *req,
				 json_object *id)
{
	json_object *err = NULL, *a;
	struct ic_dev *ic = need_ic(s, IC_TIMESYNC, &err);
	struct ic_timesync_status st;

	(void)req;
	(void)id;
	if (!ic)
		return err;
	if (ic_timesync_status(ic, &st))
		return ans_err("time sync status unavailable");
	a = ans_ok();
	jadd(a, "state", json_object_new_string(ic_state_name(ic_dev_state(ic))));
	jadd(a, "v4", json_object_new_boolean(st.v4));
	jadd(a, "syncs", ju64(st.syncs));
	jadd(a, "samples", ju64(st.samples));
	jadd(a, "replies", ju64(st.replies));
	jadd(a, "missed", ju64(st.missed));
	jadd(a, "last_sent_age_s", jage(st.last_sent_at));
	if (st.last_parent_time > HVIS_WINDOWS_EPOCH_DELTA) {
		uint64_t t = st.last_parent_time - HVIS_WINDOWS_EPOCH_DELTA;

		jadd(a, "last_parent_time", ju64(st.last_parent_time));
		jadd(a, "last_parent_unix_s", jsec(t * 100));
	} else {
		jadd(a, "last_parent_time", NULL);
		jadd(a, "last_parent_unix_s", NULL);
	}
	jadd(a, "last_ref_time", st.v4 && st.last_sent_at ?
	     ju64(st.last_ref_time) : NULL);
	jadd(a, "last_flags", st.last_sent_at ?
	     json_object_new_string(ts_flags_name(st.last_flags)) : NULL);
	return a;
}

static json_object *cmd_timesync_step(struct vspd_ctl_session *s,
				      json_object *req, json_object *id)
{
	json_object *err = NULL;
	struct ic_dev *ic = need_ic(s, IC_TIMESYNC, &err);
	int rc;

	(void)req;
	(void)id;
	if (!ic)
		return err;
	rc = ic_timesync_step(ic);
	if (rc)
		return rc_err(OP_TIMESYNC_STEP, IC_TIMESYNC, rc);
	return ans_ok();
}

/* ------------------------------------------------------------ disks */

static json_object *disk_json(unsigned int ctrl, const struct storvsp_disk_info *di)
{
	json_object *o = json_object_new_object(), *st = json_object_new_object();

	jadd(o, "controller", ju64(ctrl));
	jadd(o, "lun", ju64(di->lun));
	jadd(o, "path", jclean(di->path));
	jadd(o, "format", jstr(di->format));
	jadd(o, "size", ju64(di->size));
	jadd(o, "read_only", json_object_new_boolean(di->read_only));
	jadd(o, "serial", jclean(di->serial));
	jadd(st, "reads", ju64(di->st.reads));
	jadd(st, "writes", ju64(di->st.writes));
	jadd(st, "flushes", ju64(di->st.flushes));
	jadd(st, "unmaps", ju64(di->st.unmaps));
	jadd(st, "other_commands", ju64(di->st.others));
	jadd(st, "bytes_read", ju64(di->st.bytes_read));
	jadd(st, "bytes_written", ju64(di->st.bytes_written));
	jadd(st, "errors", ju64(di->st.errors));
	jadd(st, "io_errors", ju64(di->st.io_errors));
	jadd(st, "in_flight", ju64(di->st.in_flight));
	jadd(o, "stats", st);
	return o;
}

static json_object *cmd_disks(struct vspd_ctl_session *s, json_object *req,
			      json_object *id)
{
	struct vspd_storage *st = s->c->d->storage;
	json_object *a = ans_ok(), *ctrls = json_object_new_array();
	struct storvsp_disk_info *info;

	(void)req;
	(void)id;
	info = calloc(HVIS_VSTOR_MAX_LUNS, sizeof(*info));
	for (unsigned int i = 0; st && info && i < VSPD_MAX_SCSI; i++) {
		struct storvsp *c = vspd_storage_ctrl(st, i);
		json_object *o, *disks;
		unsigned int n;
		uint16_t v;

		if (!c)
			continue;
		o = json_object_new_object();
		disks = json_object_new_array();
		v = storvsp_version(c);
		jadd(o, "controller", ju64(i));
		if (v) {
			char ver[8];

			snprintf(ver, sizeof(ver), "%u.%u", v >> 8, v & 0xFF);
			jadd(o, "protocol", jstr(ver));
		} else {
			jadd(o, "protocol", NULL);
		}
		jadd(o, "ready", json_object_new_boolean(storvsp_ready(c)));
		jadd(o, "channels_open", ju64(storvsp_channels_open(c)));
		n = storvsp_disks(c, info, HVIS_VSTOR_MAX_LUNS);
		for (unsigned int k = 0; k < n && k < HVIS_VSTOR_MAX_LUNS; k++)
			json_object_array_add(disks, disk_json(i, &info[k]));
		jadd(o, "disks", disks);
		json_object_array_add(ctrls, o);
	}
	free(info);
	jadd(a, "io_engine", st ? jstr(vspd_storage_engine(st)) : NULL);
	jadd(a, "controllers", ctrls);
	return a;
}

static json_object *cmd_disk_add(struct vspd_ctl_session *s, json_object *req,
				 json_object *id)
{
	struct storvsp_disk_cfg cfg = { .format = IMG_FORMAT_AUTO };
	struct vspd_storage *st = s->c->d->storage;
	const char *fmt = NULL;
	uint64_t ctrl = 0, lun = 0;
	bool have_ctrl, have_lun;
	json_object *e;
	char err[512], spec[32];
	int rc;

	(void)id;
	if (!st)
		return ans_err("no storage in this service");
	if ((e = arg_str(req, "path", true, &cfg.path)) ||
	    (e = arg_str(req, "format", false, &fmt)) ||
	    (e = arg_str(req, "serial", false, &cfg.serial)) ||
	    (e = arg_bool(req, "read_only", &cfg.read_only)) ||
	    (e = arg_uint(req, "controller", VSPD_MAX_SCSI - 1, &have_ctrl, &ctrl)) ||
	    (e = arg_uint(req, "lun", HVIS_VSTOR_MAX_LUNS - 1, &have_lun, &lun)))
		return e;
	if (fmt && strcmp(fmt, "auto") && strcmp(fmt, "raw") && strcmp(fmt, "vhd"))
		return ans_err("\"format\" must be auto, raw or vhd");
	if (fmt)
		cfg.format = !strcmp(fmt, "raw") ? IMG_FORMAT_RAW :
			     !strcmp(fmt, "vhd") ? IMG_FORMAT_VHD : IMG_FORMAT_AUTO;
	if (cfg.serial && strlen(cfg.serial) > 64)
		return ans_err("\"serial\" is at most 64 characters");
	if (!have_lun) {
		/* the spec parser picks the next free LUN */
		char *full;
		size_t n = strlen(cfg.path) + 64;

		if (strchr(cfg.path, ','))
			return ans_err("give \"lun\" for a path with a comma");
		full = malloc(n);
		if (!full)
			return ans_err("out of memory");
		snprintf(full, n, "%s,controller=%llu%s%s", cfg.path,
			 (unsigned long long)ctrl, cfg.read_only ? ",ro" : "",
			 fmt ? (cfg.format == IMG_FORMAT_RAW ? ",format=raw" :
				cfg.format == IMG_FORMAT_VHD ? ",format=vhd" : "") : "");
		rc = vspd_storage_add_spec(st, full, err, sizeof(err));
		free(full);
	} else {
		cfg.lun = (unsigned int)lun;
		rc = vspd_storage_add(st, (unsigned int)ctrl, &cfg, err, sizeof(err));
	}
	if (rc)
		return ans_err("%s", err);
	snprintf(spec, sizeof(spec), "scsi%llu", (unsigned long long)ctrl);
	vspd_control_notify(s->c, "disk added", spec);
	return ans_ok();
}

static json_object *cmd_disk_remove(struct vspd_ctl_session *s,
				    json_object *req, json_object *id)
{
	struct vspd_storage *st = s->c->d->storage;
	uint64_t ctrl = 0, lun = 0;
	bool have_ctrl, have_lun;
	json_object *e;
	char err[128], what[48];

	(void)id;
	if (!st)
		return ans_err("no storage in this service");
	if ((e = arg_uint(req, "controller", VSPD_MAX_SCSI - 1, &have_ctrl, &ctrl)) ||
	    (e = arg_uint(req, "lun", HVIS_VSTOR_MAX_LUNS - 1, &have_lun, &lun)))
		return e;
	if (!have_lun)
		return ans_err("missing \"lun\"");
	if (vspd_storage_remove(st, (unsigned int)ctrl, (unsigned int)lun, err,
				sizeof(err)))
		return ans_err("%s", err);
	snprintf(what, sizeof(what), "scsi%llu lun %llu", (unsigned long long)ctrl,
		 (unsigned long long)lun);
	vspd_control_notify(s->c, "disk removed", what);
	return ans_ok();
}

/* ------------------------------------------------------------ mouse */

static json_object *mouse_json(struct mouse_dev *m)
{
	json_object *o = json_object_new_object();
	struct mouse_stats st;
	uint32_t x, y, b;

	mouse_get_stats(m, &st);
	mouse_position(m, &x, &y, &b);
	jadd(o, "state", jstr(mouse_state_name(mouse_get_state(m))));
	jadd(o, "x", ju64(x));
	jadd(o, "y", ju64(y));
	jadd(o, "buttons", ju64(b));
	jadd(o, "reports", ju64(st.reports));
	jadd(o, "dropped", ju64(st.dropped));
	jadd(o, "bad_packets", ju64(st.bad_packets));
	return o;
}

static json_object *cmd_mouse(struct vspd_ctl_session *s, json_object *req,
			      json_object *id)
{
	struct mouse_dev *m = s->c->d->mouse;
	uint64_t x, y, b;
	bool hx, hy, hb, hw;
	uint32_t cx, cy, cb;
	json_object *e, *v;
	int64_t wheel = 0;
	int rc;

	(void)id;
	if (!m)
		return ans_err("this VM has no synthetic mouse");
	if ((e = arg_uint(req, "x", HVIS_MOUSE_ABS_MAX, &hx, &x)) ||
	    (e = arg_uint(req, "y", HVIS_MOUSE_ABS_MAX, &hy, &y)) ||
	    (e = arg_uint(req, "buttons", 7, &hb, &b)))
		return e;
	hw = json_object_object_get_ex(req, "wheel", &v) && v;
	if (hw) {
		wheel = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || wheel < -127 || wheel > 127)
			return ans_err("\"wheel\" must be an integer -127..127");
	}
	mouse_position(m, &cx, &cy, &cb);
	if (!hx && !hy && !hb && !hw) {
		json_object *a = ans_ok();

		jadd(a, "mouse", mouse_json(m));
		return a;
	}
	rc = mouse_report(m, hx ? (uint32_t)x : cx, hy ? (uint32_t)y : cy,
			  hb ? (uint32_t)b : cb, (int)wheel);
	if (rc == -EAGAIN)
		return ans_err("the guest's mouse driver is not ready (%s)",
			       mouse_state_name(mouse_get_state(m)));
	if (rc)
		return ans_err("the guest is not reading its mouse channel");
	e = ans_ok();
	jadd(e, "mouse", mouse_json(m));
	return e;
}

/* ------------------------------------------------------------ network */

/* {"cmd":"nics"}; {"cmd":"link","nic":NAME (optional: all),"up":BOOL} */
static json_object *cmd_nics(struct vspd_ctl_session *s, json_object *req,
			     json_object *id)
{
	json_object *a = ans_ok();

	(void)req;
	(void)id;
	jadd(a, "nics", vspd_net_json(s->c->d->net));
	return a;
}

static json_object *cmd_link(struct vspd_ctl_session *s, json_object *req,
			     json_object *id)
{
	const char *nic;
	json_object *e, *v = NULL;
	char err[128];
	bool up;

	if ((e = arg_str(req, "nic", false, &nic)))
		return e;
	if (json_object_object_get_ex(req, "up", &v) && v) {
		if ((e = arg_bool(req, "up", &up)))
			return e;
		if (vspd_net_set_link(s->c->d->net, nic, up, err, sizeof(err)))
			return ans_err("%s", err);
		vspd_control_notify(s->c, up ? "link up" : "link down",
				    nic ? nic : "all NICs");
	}
	return cmd_nics(s, req, id);
}

/* ------------------------------------------------------------ dispatch */

typedef json_object *(*ctl_fn)(struct vspd_ctl_session *s, json_object *req,
			       json_object *id);

static const struct ctl_cmd {
	const char *name;
	bool partition;		/* needs an attached partition */
	ctl_fn fn;
} cmds[] = {
	{ "status",		false,	cmd_status },
	{ "events",		false,	cmd_events },
	{ "help",		false,	cmd_help },
	{ "heartbeat",		true,	cmd_heartbeat },
	{ "shutdown",		true,	cmd_shutdown },
	{ "kvp-get",		true,	cmd_kvp_get },
	{ "kvp-set",		true,	cmd_kvp_set },
	{ "kvp-delete",		true,	cmd_kvp_delete },
	{ "kvp-list",		true,	cmd_kvp_list },
	{ "vss-freeze",		true,	cmd_vss_freeze },
	{ "vss-thaw",		true,	cmd_vss_thaw },
	{ "vss-status",		true,	cmd_vss_status },
	{ "timesync",		true,	cmd_timesync },
	{ "timesync-step",	true,	cmd_timesync_step },
	{ "mouse",		true,	cmd_mouse },
	{ "disks",		false,	cmd_disks },
	{ "disk-add",		false,	cmd_disk_add },
	{ "disk-remove",	false,	cmd_disk_remove },
	{ "nics",		false,	cmd_nics },
	{ "link",		false,	cmd_link },
};

static json_object *cmd_help(struct vspd_ctl_session *s, json_object *req,
			     json_object *id)
{
	json_object *a = ans_ok(), *arr = json_object_new_array();

	(void)s;
	(void)req;
	(void)id;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		json_object_array_add(arr, json_object_new_string(cmds[i].name));
	jadd(a, "commands", arr);
	return a;
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* One request line (no newline): exactly one answer, now or later;
 * none for a blank line.
 */
static void handle_line(struct vspd_ctl_session *s, const char *line,
			size_t len)
{
	json_tokener *tok;
	json_object *req, *v = NULL, *id = NULL, *ans;
	enum json_tokener_error jerr;
	const struct ctl_cmd *cmd = NULL;
	const char *name;
	char shown[40];
	size_t end;

	while (len && is_ws(line[len - 1]))
		len--;
	while (len && is_ws(line[0])) {
		line++;
		len--;
	}
	if (!len)
		return;
	if (memchr(line, '\0', len)) {
		emit(s, ans_err("malformed JSON: NUL byte in the request"), NULL);
		return;
	}
	tok = json_tokener_new();
	if (!tok) {
		emit(s, ans_err("out of memory"), NULL);
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_ALLOW_TRAILING_CHARS |
			       JSON_TOKENER_VALIDATE_UTF8);
	req = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!req) {
		emit(s, ans_err("malformed JSON: %s", jerr == json_tokener_continue ?
				"incomplete request" :
				json_tokener_error_desc(jerr)), NULL);
		return;
	}
	for (; end < len; end++) {
		if (!is_ws(line[end])) {
			emit(s, ans_err("malformed JSON: text after the request object"),
			     NULL);
			json_object_put(req);
			return;
		}
	}
	if (!json_object_is_type(req, json_type_object)) {
		emit(s, ans_err("the request must be a JSON object"), NULL);
		json_object_put(req);
		return;
	}
	json_object_object_get_ex(req, "id", &id);
	if (!json_object_object_get_ex(req, "cmd", &v) || !v) {
		ans = ans_err("missing \"cmd\"");
	} else if (!json_object_is_type(v, json_type_string)) {
		ans = ans_err("\"cmd\" must be a string");
	} else {
		name = json_object_get_string(v);
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (!strcmp(name, cmds[i].name))
				cmd = &cmds[i];
		if (!cmd) {
			sanitize(shown, sizeof(shown), name);
			ans = ans_err("unknown command \"%s\" (try \"help\")", shown);
		} else if (cmd->partition && !s->c->d->part) {
			ans = ans_err("no partition attached");
		} else {
			ans = cmd->fn(s, req, id);
		}
	}
	if (ans)
		emit(s, ans, id);
	json_object_put(req);
}

/* ------------------------------------------------------------ sessions */

static size_t in_space(const struct vspd_ctl_session *s)
{
	return CTL_IN_CAP - (s->in_len - s->in_off);
}

static void in_compact(struct vspd_ctl_session *s)
{
	if (!s->in_off)
		return;
	memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
	s->in_len -= s->in_off;
	s->in_off = 0;
}

/* Answer the complete lines while nothing blocks. */
static void session_process(struct vspd_ctl_session *s)
{
	while (!s->pending && !s->closing && !s->dead &&
	       out_pending(s) < CTL_OUT_HIGH) {
		char *start = s->in + s->in_off;
		size_t avail = s->in_len - s->in_off, n;
		char *nl = memchr(start, '\n', avail);

		if (nl) {
			n = (size_t)(nl - start);
			s->in_off += n + 1;
		} else if (avail > CTL_LINE_MAX) {
			emit(s, ans_err("request line longer than %u bytes",
					CTL_LINE_MAX), NULL);
			s->closing = true;
			s->in_off = s->in_len = 0;
			break;
		} else if (s->eof && avail) {
			n = avail;
			s->in_off += n;
		} else {
			break;
		}
		handle_line(s, start, n);
	}
	if (s->in_off == s->in_len)
		s->in_off = s->in_len = 0;
}

static struct vspd_ctl_session *session_alloc(struct vspd_control *c, int fd)
{
	struct vspd_ctl_session *s;

	if (c->nsessions >= CTL_MAX_CLIENTS)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->in = malloc(CTL_IN_CAP);
	if (!s->in) {
		free(s);
		return NULL;
	}
	s->c = c;
	s->fd = fd;
	s->next = c->sessions;
	c->sessions = s;
	c->nsessions++;
	return s;
}

static void session_destroy(struct vspd_ctl_session *s)
{
	struct vspd_control *c = s->c;

	for (struct vspd_ctl_session **pp = &c->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			c->nsessions--;
			break;
		}
	}
	if (s->pending)
		s->pending->s = NULL;	/* its callback drops the answer */
	if (s->fd >= 0) {
		loop_del(c->d->loop, s->fd);
		close(s->fd);
	}
	free(s->in);
	free(s->out);
	free(s);
}

static void session_update(struct vspd_ctl_session *s)
{
	uint32_t ev = 0;

	if (s->fd < 0 || s->dead)
		return;
	if (!s->eof && !s->closing && in_space(s))
		ev |= EPOLLIN;
	if (out_pending(s))
		ev |= EPOLLOUT;
	if (ev != s->events && loop_mod(s->c->d->loop, s->fd, ev) == 0)
		s->events = ev;
}

/* An answer was queued from a callback: the loop flushes it and goes on
 * with the lines behind it from the session's own handler.
 */
static void session_kick(struct vspd_ctl_session *s)
{
	session_update(s);
}

static void session_flush(struct vspd_ctl_session *s)
{
	while (!s->dead && out_pending(s)) {
		ssize_t n = send(s->fd, s->out + s->out_off, out_pending(s),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			s->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			s->dead = true;
		}
	}
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
}

static void session_read(struct vspd_ctl_session *s)
{
	ssize_t n;

	in_compact(s);
	if (s->eof || s->closing || s->in_len >= CTL_IN_CAP)
		return;
	n = read(s->fd, s->in + s->in_len, CTL_IN_CAP - s->in_len);
	if (n > 0)
		s->in_len += (size_t)n;
	else if (n == 0)
		s->eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		s->dead = true;
}

static bool session_done(const struct vspd_ctl_session *s)
{
	if (s->dead)
		return true;
	if (out_pending(s))
		return false;
	return s->closing || (s->eof && !s->pending && s->in_off == s->in_len);
}

static void session_event(void *opaque, uint32_t events)
{
	struct vspd_ctl_session *s = opaque;

	/*
	 * HUP: the client closed both ways and reads no answer. The
	 * requests it sent before are still carried out (up to the first
	 * one that waits for the guest, which is orphaned); ERR: nothing is.
	 */
	if (events & (EPOLLERR | EPOLLHUP)) {
		if ((events & EPOLLIN) && !(events & EPOLLERR)) {
			session_read(s);
			s->eof = true;
			session_process(s);
		}
		session_destroy(s);
		return;
	}
	if (events & EPOLLIN)
		session_read(s);
	for (;;) {
		size_t off = s->in_off, len = s->in_len;

		session_process(s);
		session_flush(s);
		if (s->dead || s->pending || s->closing ||
		    (s->in_off == off && s->in_len == len))
			break;
	}
	if (session_done(s)) {
		session_destroy(s);
		return;
	}
	session_update(s);
}

/* ------------------------------------------------------------ listening */

static void refuse(int fd, const char *line)
{
	ssize_t n = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)n;
	close(fd);
}

static void listen_event(void *opaque, uint32_t events)
{
	struct vspd_control *c = opaque;

	(void)events;
	for (int i = 0; i < CTL_ACCEPT_MAX; i++) {
		struct vspd_ctl_session *s;
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && c->spare >= 0) {
				/* take the connection off the queue, refuse it */
				close(c->spare);
				fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0)
					refuse(fd, "{\"ok\":false,\"error\":\"out of file descriptors\"}\n");
				c->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
				vspd_log(c->d, "control: out of file descriptors");
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				vspd_log(c->d, "control: accept: %s", strerror(errno));
			return;
		}
		if (c->nsessions >= CTL_MAX_CLIENTS) {
			refuse(fd, "{\"ok\":false,\"error\":\"too many clients\"}\n");
			continue;
		}
		s = session_alloc(c, fd);
		if (!s) {
			refuse(fd, "{\"ok\":false,\"error\":\"out of memory\"}\n");
			continue;
		}
		if (loop_add(c->d->loop, fd, EPOLLIN, session_event, s) < 0) {
			session_destroy(s);
			continue;
		}
		s->events = EPOLLIN;
	}
}

/* ------------------------------------------------------------ public */

struct vspd_control *vspd_control_new(struct vspd *d)
{
	struct vspd_control *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->d = d;
	c->fd = -1;
	c->spare = -1;
	return c;
}

/* 1: a live listener answers at @path; 0: nothing there (or stale). */
static int probe_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
	       errno == EAGAIN || errno == EINPROGRESS;
	close(fd);
	return live;
}

struct vspd_control *vspd_control_open(struct vspd *d, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vspd_control *c;
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		vspd_log(d, "control: socket path too long: %s", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vspd_log(d, "control: %s exists and is not a socket", path);
			return NULL;
		}
		if (probe_live(&sa)) {
			vspd_log(d, "control: another service answers on %s", path);
			return NULL;
		}
		unlink(path);		/* stale */
	}
	c = vspd_control_new(d);
	if (!c)
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vspd_log(d, "control: socket: %s", strerror(errno));
		free(c);
		return NULL;
	}
	old = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(path, 0660) < 0 || listen(fd, 16) < 0 ||
	    lstat(path, &st) < 0) {
		vspd_log(d, "control: %s: %s", path, strerror(errno));
		if (rc == 0)
			unlink(path);
		close(fd);
		free(c);
		return NULL;
	}
	rc = loop_add(d->loop, fd, EPOLLIN, listen_event, c);
	if (rc < 0) {
		vspd_log(d, "control: loop: %s", strerror(-rc));
		unlink(path);
		close(fd);
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->ino = st.st_ino;
	memcpy(c->path, path, strlen(path) + 1);
	c->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return c;
}

void vspd_control_close(struct vspd_control *c)
{
	struct stat st;

	if (!c)
		return;
	while (c->sessions)
		session_destroy(c->sessions);
	if (c->fd >= 0) {
		loop_del(c->d->loop, c->fd);
		close(c->fd);
		/* unless someone replaced it meanwhile */
		if (lstat(c->path, &st) == 0 && st.st_ino == c->ino)
			unlink(c->path);
	}
	if (c->spare >= 0)
		close(c->spare);
	free(c);
}

void vspd_control_notify(struct vspd_control *c, const char *event,
			 const char *detail)
{
	struct ctl_event *e;
	struct timespec ts;

	if (!c || !event)
		return;
	e = &c->ev[c->ev_next];
	memset(e, 0, sizeof(*e));
	e->mono = loop_now();
	clock_gettime(CLOCK_REALTIME, &ts);
	e->unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	copy_utf8(e->event, sizeof(e->event), event);
	if (detail) {
		copy_utf8(e->detail, sizeof(e->detail), detail);
		e->has_detail = true;
	}
	c->ev_next = (c->ev_next + 1) % CTL_EVENTS;
	if (c->ev_count < CTL_EVENTS)
		c->ev_count++;
	c->ev_total++;
}

/* ------------------------------------------------------------ test API */

struct vspd_ctl_session *vspd_ctl_session_new(struct vspd_control *c)
{
	return c ? session_alloc(c, -1) : NULL;
}

size_t vspd_ctl_session_feed(struct vspd_ctl_session *s, const void *buf,
			     size_t len)
{
	const char *p = buf;
	size_t taken = 0;

	for (;;) {
		size_t n;

		session_process(s);
		if (s->closing || s->dead || taken == len)
			break;
		in_compact(s);
		n = CTL_IN_CAP - s->in_len;
		if (n > len - taken)
			n = len - taken;
		if (!n)
			break;
		memcpy(s->in + s->in_len, p + taken, n);
		s->in_len += n;
		taken += n;
	}
	return taken;
}

void vspd_ctl_session_eof(struct vspd_ctl_session *s)
{
	s->eof = true;
	session_process(s);
}

char *vspd_ctl_session_take(struct vspd_ctl_session *s)
{
	size_t n = out_pending(s);
	char *t = malloc(n + 1);

	if (!t)
		return NULL;
	if (n)
		memcpy(t, s->out + s->out_off, n);
	t[n] = '\0';
	s->out_off = s->out_len = 0;
	return t;
}

bool vspd_ctl_session_closing(const struct vspd_ctl_session *s)
{
	return s->closing || s->dead;
}

bool vspd_ctl_session_pending(const struct vspd_ctl_session *s)
{
	return s->pending != NULL;
}

void vspd_ctl_session_free(struct vspd_ctl_session *s)
{
	if (s)
		session_destroy(s);
}
