// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-vspd's control protocol (host-vsp/vspd/control.c) without a socket
 * or a VM: sessions are fed bytes through the test interface of
 * control.h, the partition is a fake struct vspd whose accessors are
 * stubbed below, and the ICs are real ones created detached from any
 * VMBus server (ic_dev_create_detached): their packets go to a recorder,
 * and the test answers them the way a Linux guest would (echo, flags
 * TRANSACTION | RESPONSE, a status).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "host-vsp/ic/ic_int.h"
#include "host-vsp/vspd/control.h"
#include "unit.h"

#define PKT_MAX		8192u
#define BODY		28u	/* pipe header + IC header */

static struct {
	struct vspd d;
	struct vspd_control *c;
	struct ic_host *h;
	struct vmbus_server *srv;
	struct ic_dev *ic[IC_KIND_COUNT];
	uint8_t last[IC_KIND_COUNT][PKT_MAX];
	uint32_t last_len[IC_KIND_COUNT];
	struct hvis_pkt_desc last_desc[IC_KIND_COUNT];
	unsigned int sent[IC_KIND_COUNT];
} T;

static int fake_partition;
static const int kinds[IC_KIND_COUNT] = { 0, 1, 2, 3, 4 };

/* ------------------------------------------------------------ vspd stubs */

void vspd_log(struct vspd *d, const char *fmt, ...)
{
	va_list ap;

	(void)d;
	va_start(ap, fmt);
	if (getenv("HVIS_TEST_LOG"))
		vfprintf(stderr, fmt, ap);
	va_end(ap);
}


/* ------------------------------------------------------------ fakes */

static int rec(void *opaque, const struct hvis_pkt_desc *desc,
	       const struct hvis_iov *iov, unsigned int iovcnt)
{
	int k = *(const int *)opaque;
	uint32_t off = 0;

	for (unsigned int i = 0; i < iovcnt; i++) {
		CU_ASSERT_FATAL(iov[i].len <= PKT_MAX - off);
		memcpy(T.last[k] + off, iov[i].base, iov[i].len);
		off += iov[i].len;
	}
	T.last_len[k] = off;
	T.last_desc[k] = *desc;
	T.sent[k]++;
	return 0;
}

static int s_post(void *o, uint32_t vp, uint32_t sint, const void *m,
		  uint32_t len)
{
	(void)o, (void)vp, (void)sint, (void)m, (void)len;
	return 0;
}

static int s_signal(void *o, uint32_t vp, uint32_t sint, uint32_t flag)
{
	(void)o, (void)vp, (void)sint, (void)flag;
	return 0;
}

static int s_map(void *o, const uint64_t *pfns, uint32_t n, void **view)
{
	(void)o, (void)pfns, (void)n, (void)view;
	return -1;
}

static void s_unmap(void *o, void *view, uint32_t n)
{
	(void)o, (void)view, (void)n;
}

static const struct vmbus_server_ops srv_ops = {
	.post_message = s_post,
	.signal_guest = s_signal,
	.map_pages = s_map,
	.unmap_pages = s_unmap,
};

static void fx_detached(void)
{
	memset(&T, 0, sizeof(T));
	strcpy(T.d.name, "vm1");
	T.c = vspd_control_new(&T.d);
	CU_ASSERT_FATAL(T.c != NULL);
}

static void fx_attached(void)
{
	struct vmbus_server_options so = { .nvps = 2 };

	fx_detached();
	T.d.part = (struct vspd_partition *)&fake_partition;
	T.d.attaches = 1;
	T.h = ic_host_create(NULL, NULL);
	CU_ASSERT_FATAL(T.h != NULL);
	for (int k = 0; k < IC_KIND_COUNT; k++) {
		T.ic[k] = ic_dev_create_detached(T.h, (enum ic_kind)k, rec,
						 (void *)&kinds[k]);
		CU_ASSERT_FATAL(T.ic[k] != NULL);
	}
	T.srv = vmbus_server_create(&so, &srv_ops);
	T.d.srv = T.srv;
	T.d.ics = T.h;
	T.d.part_name = "guest-1";
	T.d.part_nvps = 2;
	T.d.part_since = 1;
	CU_ASSERT_FATAL(T.srv != NULL);
}

static void fx_fini(void)
{
	vspd_control_close(T.c);
	ic_host_destroy(T.h);
	if (T.srv)
		vmbus_server_destroy(T.srv);
}

/* Answer the last packet of @k: echoed as a response with @status. */
static void answer(enum ic_kind k, uint32_t status)
{
	uint8_t p[PKT_MAX];
	struct hvis_ic_hdr ih;

	CU_ASSERT_FATAL(T.last_len[k] >= BODY);
	memcpy(p, T.last[k], T.last_len[k]);
	memcpy(&ih, p + 8, sizeof(ih));
	ih.ih_flags = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	ih.ih_status = status;
	memcpy(p + 8, &ih, sizeof(ih));
	ic_handle_packet(T.ic[k], &T.last_desc[k], p, T.last_len[k]);
}

/* Open @k and accept its newest offered versions. */
static void ready(enum ic_kind k)
{
	struct hvis_ic_negotiate n;
	struct hvis_ic_version v;

	ic_dev_sim_open(T.ic[k]);
	CU_ASSERT_FATAL(T.last_len[k] >= BODY + sizeof(n) + 8);
	memcpy(&n, T.last[k] + BODY, sizeof(n));
	/* the first framework and the first message version: the newest */
	memcpy(&v, T.last[k] + BODY + sizeof(n) + 4u * n.in_framework_count, 4);
	memcpy(T.last[k] + BODY + sizeof(n) + 4, &v, 4);
	n.in_framework_count = 1;
	n.in_message_count = 1;
	memcpy(T.last[k] + BODY, &n, sizeof(n));
	answer(k, HVIS_IC_S_OK);
	CU_ASSERT_EQUAL_FATAL(ic_dev_state(T.ic[k]), IC_STATE_READY);
}

/* ------------------------------------------------------------ helpers */

static void feed(struct vspd_ctl_session *s, const char *text)
{
	CU_ASSERT_EQUAL(vspd_ctl_session_feed(s, text, strlen(text)),
			strlen(text));
}

/* The answer lines so far, parsed; returns how many (at most @max). */
static unsigned int take(struct vspd_ctl_session *s, json_object **out,
			 unsigned int max)
{
	char *all = vspd_ctl_session_take(s), *p = all, *nl;
	unsigned int n = 0;

	CU_ASSERT_FATAL(all != NULL);
	while ((nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		CU_ASSERT_FATAL(n < max);
		out[n] = json_tokener_parse(p);
		CU_ASSERT_FATAL(out[n] != NULL);
		CU_ASSERT(json_object_is_type(out[n], json_type_object));
		n++;
		p = nl + 1;
	}
	CU_ASSERT_EQUAL(*p, '\0');	/* every answer ends its line */
	free(all);
	return n;
}

/* Exactly one answer. */
static json_object *take1(struct vspd_ctl_session *s)
{
	json_object *a[2];
	unsigned int n = take(s, a, 2);

	CU_ASSERT_EQUAL_FATAL(n, 1);
	return a[0];
}

static json_object *ask(struct vspd_ctl_session *s, const char *line)
{
	feed(s, line);
	feed(s, "\n");
	return take1(s);
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static bool has(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static bool is_ok(json_object *a)
{
	json_object *v = get(a, "ok");

	return v && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static const char *err_of(json_object *a)
{
	json_object *v = get(a, "error");

	CU_ASSERT(!is_ok(a));
	return v ? json_object_get_string(v) : "";
}

static const char *str_of(json_object *a, const char *key)
{
	json_object *v = get(a, key);

	return v && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

/* @line is answered with an error containing @text. */
static void expect_err(struct vspd_ctl_session *s, const char *line,
		       const char *text)
{
	json_object *a = ask(s, line);
	const char *e = err_of(a);

	if (!strstr(e, text))
		fprintf(stderr, "\n  %s -> \"%s\", expected \"%s\"\n", line, e,
			text);
	CU_ASSERT(strstr(e, text) != NULL);
	json_object_put(a);
}

/* ------------------------------------------------------------ tests */

static void test_malformed(void)
{
	struct vspd_ctl_session *s;
	json_object *a;

	fx_detached();
	s = vspd_ctl_session_new(T.c);
	CU_ASSERT_FATAL(s != NULL);
	expect_err(s, "not json", "malformed JSON");
	expect_err(s, "{\"cmd\":\"status\"", "malformed JSON");
	expect_err(s, "{\"cmd\":\"status\",}", "malformed JSON");
	expect_err(s, "{\"cmd\":\"status\"} x", "text after");
	expect_err(s, "{\"cmd\":\"status\"}{\"cmd\":\"status\"}", "text after");
	expect_err(s, "[1,2]", "must be a JSON object");
	expect_err(s, "\"status\"", "must be a JSON object");
	expect_err(s, "{}", "missing \"cmd\"");
	expect_err(s, "{\"cmd\":null}", "missing \"cmd\"");
	expect_err(s, "{\"cmd\":1}", "\"cmd\" must be a string");
	expect_err(s, "{\"cmd\":\"st\xff\"}", "malformed JSON");
	/* a NUL byte inside the line */
	CU_ASSERT_EQUAL(vspd_ctl_session_feed(s, "{\"cmd\"\0:1}\n", 11), 11);
	a = take1(s);
	CU_ASSERT(strstr(err_of(a), "NUL") != NULL);
	json_object_put(a);
	/* blank lines are not requests: no answer */
	feed(s, "\n   \r\n\t\n");
	a = NULL;
	CU_ASSERT_EQUAL(take(s, &a, 1), 0);
	/* deep nesting is refused by the parser, not the stack */
	{
		char deep[4000];

		memset(deep, '[', sizeof(deep) - 1);
		deep[sizeof(deep) - 1] = '\0';
		expect_err(s, deep, "malformed JSON");
	}
	/* still usable, CRLF accepted */
	feed(s, "{\"cmd\":\"status\"}\r\n");
	a = take1(s);
	CU_ASSERT(is_ok(a));
	json_object_put(a);
	CU_ASSERT(!vspd_ctl_session_closing(s));
	vspd_ctl_session_free(s);
	fx_fini();
}

static void test_unknown(void)
{
	struct vspd_ctl_session *s;
	json_object *a;

	fx_detached();
	s = vspd_ctl_session_new(T.c);
	expect_err(s, "{\"cmd\":\"frobnicate\"}", "unknown command \"frobnicate\"");
	/* control characters are not echoed */
	a = ask(s, "{\"cmd\":\"a\\u001bb\",\"id\":7}");
	CU_ASSERT(strstr(err_of(a), "\"a?b\"") != NULL);
	CU_ASSERT_EQUAL(json_object_get_int(get(a, "id")), 7);
	json_object_put(a);
	/* the id comes back on good answers too */
	a = ask(s, "{\"cmd\":\"help\",\"id\":\"x1\"}");
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "id"), "x1");
	CU_ASSERT(json_object_array_length(get(a, "commands")) >= 13);
	json_object_put(a);
	vspd_ctl_session_free(s);
	fx_fini();
}

static void test_detached(void)
{
	static const char *const need[] = {
		"heartbeat", "shutdown", "kvp-get", "kvp-set", "kvp-delete",
		"kvp-list", "vss-freeze", "vss-thaw", "vss-status", "timesync",
		"timesync-step",
	};
	struct vspd_ctl_session *s;
	json_object *a, *ev;
	char line[128];

	fx_detached();
	s = vspd_ctl_session_new(T.c);
	a = ask(s, "{\"cmd\":\"status\"}");
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "name"), "vm1");
	CU_ASSERT(!json_object_get_boolean(get(a, "attached")));
	CU_ASSERT(has(a, "partition") && !get(a, "partition"));
	CU_ASSERT(has(a, "vmbus") && !get(a, "vmbus"));
	CU_ASSERT_EQUAL(json_object_array_length(get(a, "channels")), 0);
	CU_ASSERT_EQUAL(json_object_array_length(get(a, "ics")), 0);
	json_object_put(a);
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"%s\",\"pool\":0,\"key\":\"k\"}",
			 need[i]);
		expect_err(s, line, "no partition attached");
	}

	/* events: empty, then in order, the ring keeps the last 32 */
	a = ask(s, "{\"cmd\":\"events\"}");
	CU_ASSERT(is_ok(a));
	CU_ASSERT_EQUAL(json_object_array_length(get(a, "events")), 0);
	json_object_put(a);
	vspd_control_notify(T.c, "attach", "guest-1, 2 VPs");
	vspd_control_notify(T.c, "detach", NULL);
	a = ask(s, "{\"cmd\":\"events\"}");
	ev = get(a, "events");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(ev), 2);
	CU_ASSERT_STRING_EQUAL(str_of(json_object_array_get_idx(ev, 0), "event"),
			       "attach");
	CU_ASSERT_STRING_EQUAL(str_of(json_object_array_get_idx(ev, 0), "detail"),
			       "guest-1, 2 VPs");
	CU_ASSERT(!get(json_object_array_get_idx(ev, 1), "detail"));
	json_object_put(a);
	for (int i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "e%d", i);
		vspd_control_notify(T.c, line, NULL);
	}
	a = ask(s, "{\"cmd\":\"events\"}");
	ev = get(a, "events");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(ev), CTL_EVENTS);
	CU_ASSERT_STRING_EQUAL(str_of(json_object_array_get_idx(ev, 0), "event"),
			       "e8");
	CU_ASSERT_STRING_EQUAL(str_of(json_object_array_get_idx(ev, 31), "event"),
			       "e39");
	CU_ASSERT_EQUAL(json_object_get_int(get(a, "total")), 42);
	json_object_put(a);
	/* a long detail is cut, at a UTF-8 character */
	{
		char big[600];

		memset(big, 'x', sizeof(big));
		memcpy(big + 221, "\xe2\x82\xac", 3);
		big[sizeof(big) - 1] = '\0';
		vspd_control_notify(T.c, "long", big);
		a = ask(s, "{\"cmd\":\"events\"}");
		ev = json_object_array_get_idx(get(a, "events"), CTL_EVENTS - 1);
		CU_ASSERT_EQUAL(strlen(str_of(ev, "detail")), 221);
		json_object_put(a);
	}
	/* invalid UTF-8 from elsewhere is not passed on */
	vspd_control_notify(T.c, "bad\xff", "a\xc3\x28" "b\xed\xa0\x80" "c\xe2\x82\xac");
	a = ask(s, "{\"cmd\":\"events\"}");
	ev = json_object_array_get_idx(get(a, "events"), CTL_EVENTS - 1);
	CU_ASSERT_STRING_EQUAL(str_of(ev, "event"), "bad?");
	CU_ASSERT_STRING_EQUAL(str_of(ev, "detail"), "a?(b???c\xe2\x82\xac");
	json_object_put(a);
	vspd_control_notify(NULL, "x", NULL);	/* no control: ignored */
	vspd_ctl_session_free(s);
	fx_fini();
}

/* Argument checks: the KVP IC is closed, so a request that passes them
 * ends in "not connected".
 */
static void test_args(void)
{
	struct vspd_ctl_session *s;

	fx_attached();
	s = vspd_ctl_session_new(T.c);
	expect_err(s, "{\"cmd\":\"kvp-get\",\"key\":\"k\"}", "missing \"pool\"");
	expect_err(s, "{\"cmd\":\"kvp-get\",\"pool\":5,\"key\":\"k\"}", "\"pool\" must be");
	expect_err(s, "{\"cmd\":\"kvp-get\",\"pool\":-1,\"key\":\"k\"}", "\"pool\" must be");
	expect_err(s, "{\"cmd\":\"kvp-get\",\"pool\":\"bogus\",\"key\":\"k\"}", "\"pool\" must be");
	expect_err(s, "{\"cmd\":\"kvp-get\",\"pool\":1.5,\"key\":\"k\"}", "\"pool\" must be");
	expect_err(s, "{\"cmd\":\"kvp-get\",\"pool\":true,\"key\":\"k\"}", "\"pool\" must be");
	expect_err(s, "{\"cmd\":\"kvp-get\",\"pool\":0}", "missing \"key\"");
	expect_err(s, "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":5}", "\"key\" must be a string");
	expect_err(s, "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":\"a\\u0000b\"}", "NUL");
	expect_err(s, "{\"cmd\":\"kvp-set\",\"pool\":0,\"key\":\"k\"}", "missing \"value\"");
	expect_err(s, "{\"cmd\":\"kvp-set\",\"pool\":0,\"key\":\"k\",\"value\":true}",
		   "\"value\" must be a string or an integer");
	expect_err(s, "{\"cmd\":\"kvp-set\",\"pool\":0,\"key\":\"k\",\"value\":-1}",
		   "\"value\" must be a string or an integer");
	expect_err(s, "{\"cmd\":\"kvp-set\",\"pool\":0,\"key\":\"k\",\"value\":[]}",
		   "\"value\" must be a string or an integer");
	expect_err(s, "{\"cmd\":\"kvp-delete\",\"pool\":\"guest\"}", "missing \"key\"");
	expect_err(s, "{\"cmd\":\"kvp-list\"}", "missing \"pool\"");
	/* good arguments reach the closed IC */
	expect_err(s, "{\"cmd\":\"kvp-list\",\"pool\":\"auto-internal\"}", "not connected");
	expect_err(s, "{\"cmd\":\"kvp-list\",\"pool\":\"3\"}", "not connected");
	expect_err(s, "{\"cmd\":\"kvp-set\",\"pool\":\"external\",\"key\":\"k\",\"value\":\"v\"}",
		   "not connected");
	expect_err(s, "{\"cmd\":\"kvp-set\",\"pool\":0,\"key\":\"k\",\"value\":18446744073709551615}",
		   "not connected");
	expect_err(s, "{\"cmd\":\"shutdown\",\"reboot\":true,\"hibernate\":true}", "exclude");
	expect_err(s, "{\"cmd\":\"shutdown\",\"force\":\"yes\"}", "\"force\" must be true or false");
	expect_err(s, "{\"cmd\":\"shutdown\",\"message\":3}", "\"message\" must be a string");
	expect_err(s, "{\"cmd\":\"shutdown\",\"timeout_s\":-3}", "\"timeout_s\" must be an integer");
	expect_err(s, "{\"cmd\":\"shutdown\",\"timeout_s\":4294967296}", "\"timeout_s\" must be an integer");
	expect_err(s, "{\"cmd\":\"shutdown\",\"reboot\":true}", "not connected");
	expect_err(s, "{\"cmd\":\"vss-freeze\",\"timeout_s\":0}", "at least 1");
	expect_err(s, "{\"cmd\":\"vss-freeze\",\"timeout_s\":\"10\"}", "must be an integer");
	expect_err(s, "{\"cmd\":\"vss-freeze\",\"timeout_s\":10}", "not connected");
	expect_err(s, "{\"cmd\":\"timesync-step\"}", "not connected");
	CU_ASSERT_EQUAL(T.sent[IC_KVP], 0);
	CU_ASSERT(!vspd_ctl_session_pending(s));
	vspd_ctl_session_free(s);
	fx_fini();
}

static void test_status_attached(void)
{
	struct vspd_ctl_session *s;
	json_object *a, *ics, *ic, *vm;

	fx_attached();
	ready(IC_KVP);
	ic_dev_sim_open(T.ic[IC_HEARTBEAT]);	/* negotiating */
	s = vspd_ctl_session_new(T.c);
	a = ask(s, "{\"cmd\":\"status\"}");
	CU_ASSERT(is_ok(a));
	CU_ASSERT(json_object_get_boolean(get(a, "attached")));
	CU_ASSERT_STRING_EQUAL(str_of(a, "partition"), "guest-1");
	CU_ASSERT_EQUAL(json_object_get_int(get(a, "vps")), 2);
	CU_ASSERT(get(a, "attached_for_s") != NULL);
	vm = get(a, "vmbus");
	CU_ASSERT_FATAL(vm != NULL);
	CU_ASSERT_STRING_EQUAL(str_of(vm, "state"), "disconnected");
	CU_ASSERT(has(vm, "version") && !get(vm, "version"));
	CU_ASSERT(get(vm, "stats") != NULL);
	/* detached ICs have no VMBus channel */
	CU_ASSERT_EQUAL(json_object_array_length(get(a, "channels")), 0);
	ics = get(a, "ics");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(ics), IC_KIND_COUNT);
	ic = json_object_array_get_idx(ics, IC_KVP);
	CU_ASSERT_STRING_EQUAL(str_of(ic, "kind"), "kvp");
	CU_ASSERT_STRING_EQUAL(str_of(ic, "state"), "ready");
	CU_ASSERT_STRING_EQUAL(str_of(ic, "framework"), "3.0");
	CU_ASSERT_STRING_EQUAL(str_of(ic, "message"), "4.0");
	ic = json_object_array_get_idx(ics, IC_HEARTBEAT);
	CU_ASSERT_STRING_EQUAL(str_of(ic, "state"), "negotiating");
	CU_ASSERT(!get(ic, "framework"));
	json_object_put(a);

	a = ask(s, "{\"cmd\":\"heartbeat\"}");
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "health"), "unknown");
	CU_ASSERT(has(a, "last_reply_age_s") && !get(a, "last_reply_age_s"));
	json_object_put(a);
	a = ask(s, "{\"cmd\":\"timesync\"}");
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "state"), "closed");
	json_object_put(a);
	a = ask(s, "{\"cmd\":\"vss-status\"}");
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "state"), "idle");
	json_object_put(a);
	vspd_ctl_session_free(s);
	fx_fini();
}

static void check_kvp_set_pkt(uint8_t pool, const char *key, uint32_t type,
			      const void *value, uint32_t value_bytes)
{
	const uint8_t *p = T.last[IC_KVP];
	struct hvis_ic_hdr ih;
	struct hvis_kvp_msg m;
	uint8_t k16[64] = { 0 };
	size_t kl = strlen(key);

	CU_ASSERT_EQUAL_FATAL(T.last_len[IC_KVP], BODY + sizeof(m));
	memcpy(&ih, p + 8, sizeof(ih));
	CU_ASSERT_EQUAL(ih.ih_msgtype, HVIS_ICMSG_KVPEXCHANGE);
	CU_ASSERT_EQUAL(ih.ih_flags, HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_REQUEST);
	memcpy(&m, p + BODY, sizeof(m));
	CU_ASSERT_EQUAL(m.km_hdr.kh_operation, HVIS_KVP_OP_SET);
	CU_ASSERT_EQUAL(m.km_hdr.kh_pool, pool);
	CU_ASSERT_EQUAL(m.km_body.km_value.kv_value_type, type);
	CU_ASSERT_EQUAL(m.km_body.km_value.kv_key_size, 2 * (kl + 1));
	for (size_t i = 0; i < kl; i++)
		k16[2 * i] = (uint8_t)key[i];
	CU_ASSERT(memcmp(m.km_body.km_value.kv_key, k16, 2 * (kl + 1)) == 0);
	CU_ASSERT_EQUAL(m.km_body.km_value.kv_value_size, value_bytes);
	CU_ASSERT(memcmp(m.km_body.km_value.kv_value, value, value_bytes) == 0);
}

static void test_kvp_set(void)
{
	static const uint8_t host1[] = { 'h', 0, 'o', 0, 's', 0, 't', 0, '1', 0,
					 0, 0 };
	uint64_t n42 = 42;
	struct vspd_ctl_session *s;
	json_object *a[4];

	fx_attached();
	ready(IC_KVP);
	s = vspd_ctl_session_new(T.c);

	/* the answer waits for the guest; the line behind it too */
	feed(s, "{\"cmd\":\"kvp-set\",\"pool\":\"external\",\"key\":\"HostName\",\"value\":\"host1\",\"id\":1}\n"
		"{\"cmd\":\"status\",\"id\":2}\n");
	CU_ASSERT(vspd_ctl_session_pending(s));
	CU_ASSERT_EQUAL(take(s, a, 4), 0);
	check_kvp_set_pkt(HVIS_KVP_POOL_EXTERNAL, "HostName", HVIS_KVP_REG_SZ,
			  host1, sizeof(host1));
	answer(IC_KVP, HVIS_IC_S_OK);
	CU_ASSERT(!vspd_ctl_session_pending(s));
	feed(s, "");			/* the loop resumes the session */
	CU_ASSERT_EQUAL_FATAL(take(s, a, 4), 2);
	CU_ASSERT(is_ok(a[0]));
	CU_ASSERT_EQUAL(json_object_get_int(get(a[0], "id")), 1);
	CU_ASSERT_EQUAL(json_object_get_int(get(a[0], "pool")), 0);
	CU_ASSERT(is_ok(a[1]));
	CU_ASSERT_EQUAL(json_object_get_int(get(a[1], "id")), 2);
	json_object_put(a[0]);
	json_object_put(a[1]);

	/* an integer value goes as REG_U64 */
	feed(s, "{\"cmd\":\"kvp-set\",\"pool\":1,\"key\":\"Count\",\"value\":42}\n");
	check_kvp_set_pkt(HVIS_KVP_POOL_GUEST, "Count", HVIS_KVP_REG_U64, &n42, 8);
	answer(IC_KVP, HVIS_IC_E_FAIL);
	a[0] = take1(s);
	CU_ASSERT(strstr(err_of(a[0]), "0x80004005") != NULL);
	CU_ASSERT_STRING_EQUAL(str_of(a[0], "result"), "failed");
	json_object_put(a[0]);

	/* still pending when the control closes: the session goes, the
	 * request is orphaned and ends with the ICs
	 */
	feed(s, "{\"cmd\":\"kvp-delete\",\"pool\":1,\"key\":\"k\"}\n");
	CU_ASSERT(vspd_ctl_session_pending(s));
	fx_fini();
}

static void test_kvp_delete_get(void)
{
	struct vspd_ctl_session *s;
	json_object *a;

	fx_attached();
	ready(IC_KVP);
	s = vspd_ctl_session_new(T.c);
	feed(s, "{\"cmd\":\"kvp-delete\",\"pool\":1,\"key\":\"nope\"}\n");
	CU_ASSERT(vspd_ctl_session_pending(s));
	answer(IC_KVP, HVIS_KVP_S_CONT);
	a = take1(s);
	CU_ASSERT(strstr(err_of(a), "no such key") != NULL);
	json_object_put(a);

	/* GET: the guest fills in the value (not what Linux 6.1 does) */
	feed(s, "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":\"k\"}\n");
	{
		struct hvis_kvp_msg m;

		memcpy(&m, T.last[IC_KVP] + BODY, sizeof(m));
		CU_ASSERT_EQUAL(m.km_hdr.kh_operation, HVIS_KVP_OP_GET);
		memcpy(m.km_body.km_value.kv_value, "v\0a\0l\0\0", 8);
		m.km_body.km_value.kv_value_size = 8;
		memcpy(T.last[IC_KVP] + BODY, &m, sizeof(m));
	}
	answer(IC_KVP, HVIS_IC_S_OK);
	a = take1(s);
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "key"), "k");
	CU_ASSERT_STRING_EQUAL(str_of(a, "value"), "val");
	CU_ASSERT_STRING_EQUAL(str_of(a, "type"), "string");
	json_object_put(a);
	vspd_ctl_session_free(s);
	fx_fini();
}

/* Fill the last ENUMERATE with an ASCII pair. */
static void enum_fill(const char *key, const char *value)
{
	struct hvis_kvp_msg m;
	struct hvis_kvp_value *v = &m.km_body.km_enumerate.ke_data;
	size_t kl = strlen(key), vl = strlen(value);

	memcpy(&m, T.last[IC_KVP] + BODY, sizeof(m));
	CU_ASSERT_EQUAL(m.km_hdr.kh_operation, HVIS_KVP_OP_ENUMERATE);
	memset(v->kv_key, 0, sizeof(v->kv_key));
	memset(v->kv_value, 0, sizeof(v->kv_value));
	for (size_t i = 0; i < kl; i++)
		v->kv_key[2 * i] = (uint8_t)key[i];
	for (size_t i = 0; i < vl; i++)
		v->kv_value[2 * i] = (uint8_t)value[i];
	v->kv_key_size = (uint32_t)(2 * (kl + 1));
	v->kv_value_size = (uint32_t)(2 * (vl + 1));
	v->kv_value_type = HVIS_KVP_REG_SZ;
	memcpy(T.last[IC_KVP] + BODY, &m, sizeof(m));
}

static void test_kvp_list(void)
{
	struct vspd_ctl_session *s;
	json_object *a, *e;

	fx_attached();
	ready(IC_KVP);
	s = vspd_ctl_session_new(T.c);
	feed(s, "{\"cmd\":\"kvp-list\",\"pool\":\"auto\"}\n");
	enum_fill("OSName", "Linux");
	answer(IC_KVP, HVIS_IC_S_OK);
	CU_ASSERT(vspd_ctl_session_pending(s));	/* index 1 asked */
	enum_fill("OSMajorVersion", "6");
	answer(IC_KVP, HVIS_IC_S_OK);
	answer(IC_KVP, HVIS_KVP_S_CONT);		/* the end */
	CU_ASSERT(!vspd_ctl_session_pending(s));
	a = take1(s);
	CU_ASSERT(is_ok(a));
	CU_ASSERT_EQUAL(json_object_get_int(get(a, "pool")), HVIS_KVP_POOL_AUTO);
	CU_ASSERT_STRING_EQUAL(str_of(a, "pool_name"), "auto");
	e = get(a, "entries");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(e), 2);
	CU_ASSERT_STRING_EQUAL(str_of(json_object_array_get_idx(e, 0), "key"),
			       "OSName");
	CU_ASSERT_STRING_EQUAL(str_of(json_object_array_get_idx(e, 1), "value"),
			       "6");
	json_object_put(a);

	/* a GET with Linux 6.1's empty value shows the cached one */
	feed(s, "{\"cmd\":\"kvp-get\",\"pool\":2,\"key\":\"OSName\"}\n");
	answer(IC_KVP, HVIS_IC_S_OK);
	a = take1(s);
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "value"), "");
	CU_ASSERT_STRING_EQUAL(str_of(a, "cached"), "Linux");
	json_object_put(a);
	vspd_ctl_session_free(s);
	fx_fini();
}

static void test_orphan(void)
{
	struct vspd_ctl_session *s, *s2;
	json_object *a;

	fx_attached();
	ready(IC_KVP);
	ready(IC_SHUTDOWN);
	/* the client leaves before the guest answers */
	s = vspd_ctl_session_new(T.c);
	feed(s, "{\"cmd\":\"kvp-get\",\"pool\":0,\"key\":\"k\"}\n{\"cmd\":\"status\"}\n");
	CU_ASSERT(vspd_ctl_session_pending(s));
	vspd_ctl_session_free(s);
	answer(IC_KVP, HVIS_IC_S_OK);		/* dropped */

	/* the partition detaches: pending requests end "closed" */
	s = vspd_ctl_session_new(T.c);
	s2 = vspd_ctl_session_new(T.c);
	feed(s, "{\"cmd\":\"shutdown\",\"message\":\"bye\"}\n");
	CU_ASSERT(vspd_ctl_session_pending(s));
	/* one shutdown at a time: another client is refused at once */
	a = ask(s2, "{\"cmd\":\"shutdown\"}");
	CU_ASSERT(strstr(err_of(a), "already outstanding") != NULL);
	json_object_put(a);
	feed(s2, "{\"cmd\":\"kvp-list\",\"pool\":0}\n");
	vspd_ctl_session_free(s2);		/* orphaned, still queued */
	ic_host_destroy(T.h);
	T.h = NULL;
	T.d.part = NULL;
	T.d.ics = NULL;
	T.d.srv = NULL;
	T.d.part_name = NULL;
	a = take1(s);
	CU_ASSERT(strstr(err_of(a), "closed") != NULL);
	CU_ASSERT_STRING_EQUAL(str_of(a, "result"), "closed");
	json_object_put(a);
	expect_err(s, "{\"cmd\":\"heartbeat\"}", "no partition attached");
	vspd_ctl_session_free(s);
	fx_fini();
}

static void test_shutdown(void)
{
	struct vspd_ctl_session *s;
	struct hvis_ic_shutdown m;
	json_object *a;

	fx_attached();
	ready(IC_SHUTDOWN);
	s = vspd_ctl_session_new(T.c);
	feed(s, "{\"cmd\":\"shutdown\",\"reboot\":true,\"force\":true,\"message\":\"hi\",\"timeout_s\":30}\n");
	CU_ASSERT_FATAL(vspd_ctl_session_pending(s));
	memcpy(&m, T.last[IC_SHUTDOWN] + BODY, sizeof(m));
	CU_ASSERT_EQUAL(m.sd_flags, HVIS_SHUTDOWN_FLAG_REBOOT | HVIS_SHUTDOWN_FLAG_FORCE);
	CU_ASSERT_EQUAL(m.sd_timeout_seconds, 30);
	CU_ASSERT(memcmp(m.sd_display_message, "h\0i\0\0\0", 6) == 0);
	answer(IC_SHUTDOWN, HVIS_IC_S_OK);
	a = take1(s);
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "result"), "ok");
	CU_ASSERT_EQUAL(json_object_get_int(get(a, "status")), 0);
	json_object_put(a);
	vspd_ctl_session_free(s);
	fx_fini();
}

static void test_vss(void)
{
	struct vspd_ctl_session *s;
	json_object *a;

	fx_attached();
	ready(IC_VSS);
	s = vspd_ctl_session_new(T.c);
	feed(s, "{\"cmd\":\"vss-freeze\",\"timeout_s\":60}\n");
	CU_ASSERT_FATAL(vspd_ctl_session_pending(s));
	answer(IC_VSS, HVIS_IC_E_FAIL);		/* HOT_BACKUP: no daemon */
	a = take1(s);
	CU_ASSERT(strstr(err_of(a), "VSS daemon") != NULL);
	CU_ASSERT_STRING_EQUAL(str_of(a, "op"), "hot-backup");
	json_object_put(a);
	a = ask(s, "{\"cmd\":\"vss-status\"}");
	CU_ASSERT(is_ok(a));
	CU_ASSERT_STRING_EQUAL(str_of(a, "state"), "idle");
	CU_ASSERT_STRING_EQUAL(str_of(a, "last_op"), "hot-backup");
	json_object_put(a);
	vspd_ctl_session_free(s);
	fx_fini();
}

static void test_oversize(void)
{
	struct vspd_ctl_session *s;
	char *line = malloc(CTL_LINE_MAX + 16);
	json_object *a;
	size_t n;

	CU_ASSERT_FATAL(line != NULL);
	fx_detached();
	/* exactly CTL_LINE_MAX bytes: answered */
	s = vspd_ctl_session_new(T.c);
	memset(line, ' ', CTL_LINE_MAX);
	memcpy(line, "{\"cmd\":\"status\"", 15);
	line[CTL_LINE_MAX - 1] = '}';
	line[CTL_LINE_MAX] = '\n';
	CU_ASSERT_EQUAL(vspd_ctl_session_feed(s, line, CTL_LINE_MAX + 1),
			CTL_LINE_MAX + 1);
	a = take1(s);
	CU_ASSERT(is_ok(a));
	json_object_put(a);
	/* one more: an error, then the session closes */
	memset(line, ' ', CTL_LINE_MAX + 1);
	memcpy(line, "{\"cmd\":\"status\"", 15);
	line[CTL_LINE_MAX] = '}';
	line[CTL_LINE_MAX + 1] = '\n';
	n = vspd_ctl_session_feed(s, line, CTL_LINE_MAX + 2);
	CU_ASSERT(n < CTL_LINE_MAX + 2);
	CU_ASSERT(vspd_ctl_session_closing(s));
	a = take1(s);
	CU_ASSERT(strstr(err_of(a), "longer than") != NULL);
	json_object_put(a);
	CU_ASSERT_EQUAL(vspd_ctl_session_feed(s, "{}\n", 3), 0);
	vspd_ctl_session_free(s);

	/* a last line without newline counts at EOF */
	s = vspd_ctl_session_new(T.c);
	feed(s, "{\"cmd\":\"help\"}");
	CU_ASSERT_EQUAL(take(s, &a, 1), 0);
	vspd_ctl_session_eof(s);
	a = take1(s);
	CU_ASSERT(is_ok(a));
	json_object_put(a);
	vspd_ctl_session_free(s);
	free(line);
	fx_fini();
}

/* Output not read by the client stops the session at CTL_OUT_HIGH. */
static void test_backpressure(void)
{
	struct vspd_ctl_session *s;
	static char many[CTL_LINE_MAX];
	size_t fed = 0, n;
	char *out;

	fx_attached();
	s = vspd_ctl_session_new(T.c);
	for (n = 0; n + 17 <= sizeof(many); n += 17)
		memcpy(many + n, "{\"cmd\":\"status\"}\n", 17);
	for (int i = 0; i < 200; i++) {
		size_t t = vspd_ctl_session_feed(s, many, n);

		fed += t;
		if (t < n)
			break;
	}
	CU_ASSERT(fed < 200 * n);		/* it stopped taking input */
	out = vspd_ctl_session_take(s);
	CU_ASSERT_FATAL(out != NULL);
	CU_ASSERT(strlen(out) >= CTL_OUT_HIGH);
	CU_ASSERT(strlen(out) < CTL_OUT_HIGH + 64 * 1024);
	free(out);
	CU_ASSERT(vspd_ctl_session_feed(s, many, n) > 0);	/* resumes */
	vspd_ctl_session_free(s);
	fx_fini();
}

static void test_max_clients(void)
{
	struct vspd_ctl_session *s[CTL_MAX_CLIENTS + 1];

	fx_detached();
	for (unsigned int i = 0; i < CTL_MAX_CLIENTS; i++) {
		s[i] = vspd_ctl_session_new(T.c);
		CU_ASSERT(s[i] != NULL);
	}
	CU_ASSERT_PTR_NULL(vspd_ctl_session_new(T.c));
	vspd_ctl_session_free(s[3]);
	s[3] = vspd_ctl_session_new(T.c);
	CU_ASSERT(s[3] != NULL);
	/* vspd_control_close frees the sessions left */
	fx_fini();
}

static const struct unit_test tests[] = {
	{ "malformed requests", test_malformed },
	{ "unknown command, id echo", test_unknown },
	{ "detached partition, events", test_detached },
	{ "argument checks", test_args },
	{ "status with ICs", test_status_attached },
	{ "kvp-set on a ready IC", test_kvp_set },
	{ "kvp-delete and kvp-get", test_kvp_delete_get },
	{ "kvp-list", test_kvp_list },
	{ "orphaned and closed requests", test_orphan },
	{ "shutdown", test_shutdown },
	{ "vss-freeze without a daemon", test_vss },
	{ "oversize line, EOF", test_oversize },
	{ "backpressure", test_backpressure },
	{ "max clients", test_max_clients },
	{ NULL, NULL },
};

int unit_register_control(void)
{
	return unit_add_suite("control", tests);
}
