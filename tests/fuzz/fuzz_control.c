// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for hvis-vspd's control protocol (host-vsp/vspd/
 * control.c): a management client controls every byte it sends on the
 * control socket. The session is driven through control.h without a
 * socket; the partition is a fake struct vspd (accessors stubbed below)
 * whose ICs are real but detached from any VMBus server, so requests that
 * reach the guest are recorded and, when the input says so, answered.
 * Whatever happens: no crash, no UB, no leak, and every answer is one
 * line holding a JSON object with a boolean "ok".
 *
 * Input: [u8 mode][u8 chunk][u8 template] then the client's bytes.
 *   mode bit 0   a partition is attached
 *   mode bits 1-5 heartbeat / shutdown / timesync / KVP / VSS negotiated
 *   mode bit 6   answer what the guest was asked after each chunk, with
 *                the status chosen by the chunk's first byte
 *   mode bit 7   the client leaves before the partition detaches
 *   chunk        the client's bytes arrive in pieces of (chunk % 97) + 1
 *                bytes (0: all at once); the session ends with EOF.
 *   template     < 28: the client first sends `{"cmd":"NAME",` for one
 *                of the commands (the input goes on with its arguments);
 *                28..55: a whole request for one of them built from
 *                [u8 args][u8 a][u8 n][n bytes] (args bits: 0 pool a % 7
 *                - 1, 1 pool by name, 2 key = the bytes, 3 string value,
 *                4 integer value, 5 reboot / force / hibernate from a,
 *                6 timeout_s, 7 message), then the rest as is
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "host-vsp/ic/ic_int.h"
#include "host-vsp/vspd/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

#define PKT_MAX		8192u
#define BODY		28u

static struct {
	struct vspd d;
	struct ic_host *h;
	struct vmbus_server *srv;
	struct ic_dev *ic[IC_KIND_COUNT];
	uint8_t last[IC_KIND_COUNT][PKT_MAX];
	uint32_t last_len[IC_KIND_COUNT];
	struct hvis_pkt_desc last_desc[IC_KIND_COUNT];
} F;

static const char *const templates[] = {
	"status", "events", "help", "heartbeat", "shutdown", "kvp-get",
	"kvp-set", "kvp-delete", "kvp-list", "vss-freeze", "vss-thaw",
	"vss-status", "timesync", "timesync-step",
};

static int fake_partition;
static const int kinds[IC_KIND_COUNT] = { 0, 1, 2, 3, 4 };

void vspd_log(struct vspd *d, const char *fmt, ...)
{
	(void)d;
	(void)fmt;
}


static int rec(void *opaque, const struct hvis_pkt_desc *desc,
	       const struct hvis_iov *iov, unsigned int iovcnt)
{
	int k = *(const int *)opaque;
	uint32_t off = 0;

	for (unsigned int i = 0; i < iovcnt; i++) {
		if (iov[i].len > PKT_MAX - off)
			abort();
		memcpy(F.last[k] + off, iov[i].base, iov[i].len);
		off += iov[i].len;
	}
	F.last_len[k] = off;
	F.last_desc[k] = *desc;
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

/* Echo the last packet of @k as the guest's answer with @status. */
static void answer(int k, uint32_t status)
{
	static uint8_t p[PKT_MAX];
	struct hvis_ic_hdr ih;

	if (!F.ic[k] || F.last_len[k] < BODY)
		return;
	memcpy(p, F.last[k], F.last_len[k]);
	memcpy(&ih, p + 8, sizeof(ih));
	ih.ih_flags = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	ih.ih_status = status;
	memcpy(p + 8, &ih, sizeof(ih));
	ic_handle_packet(F.ic[k], &F.last_desc[k], p, F.last_len[k]);
}

/* Open @k and accept the newest versions it offers. */
static void ready(int k)
{
	struct hvis_ic_negotiate n;
	struct hvis_ic_version v;

	ic_dev_sim_open(F.ic[k]);
	if (F.last_len[k] < BODY + sizeof(n) + 8)
		abort();
	memcpy(&n, F.last[k] + BODY, sizeof(n));
	memcpy(&v, F.last[k] + BODY + sizeof(n) + 4u * n.in_framework_count, 4);
	memcpy(F.last[k] + BODY + sizeof(n) + 4, &v, 4);
	n.in_framework_count = 1;
	n.in_message_count = 1;
	memcpy(F.last[k] + BODY, &n, sizeof(n));
	answer(k, HVIS_IC_S_OK);
	if (ic_dev_state(F.ic[k]) != IC_STATE_READY)
		abort();
}

/* Every answer line is a JSON object with a boolean "ok". */
static void check_output(struct vspd_ctl_session *s)
{
	char *all = vspd_ctl_session_take(s), *p, *nl;

	if (!all)
		return;
	for (p = all; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		json_object *o, *ok = NULL;

		*nl = '\0';
		o = json_tokener_parse(p);
		if (!o || !json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "ok", &ok) ||
		    !json_object_is_type(ok, json_type_boolean))
			abort();
		json_object_put(o);
	}
	if (*p)
		abort();	/* an answer without its newline */
	free(all);
}

static void answer_all(uint8_t sel)
{
	static const uint32_t statuses[4] = {
		HVIS_IC_S_OK, HVIS_IC_E_FAIL, HVIS_KVP_S_CONT, 0x12345678u,
	};

	for (int k = IC_SHUTDOWN; k < IC_KIND_COUNT; k++)
		if (F.ic[k] && ic_dev_state(F.ic[k]) == IC_STATE_READY)
			answer(k, statuses[(sel >> (k - 1)) & 3]);
}

/* A request line from the input (template 28..55); bytes used. */
static size_t build_request(struct vspd_ctl_session *s, const char *cmd,
			    const uint8_t *in, size_t len)
{
	static const char *const pools[] = {
		"external", "guest", "auto", "auto-external", "auto-internal",
		"bogus",
	};
	json_object *o;
	const char *line;
	uint8_t args, a;
	size_t n, used = 3;

	if (len < 3)
		return 0;
	args = in[0];
	a = in[1];
	n = in[2] % 48u;
	if (n > len - used)
		n = len - used;
	o = json_object_new_object();
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	if (args & 0x01)
		json_object_object_add(o, "pool", json_object_new_int(a % 7 - 1));
	if (args & 0x02)
		json_object_object_add(o, "pool",
				       json_object_new_string(pools[a % 6]));
	if (args & 0x04)
		json_object_object_add(o, "key",
				       json_object_new_string_len((const char *)in + used,
								  (int)n));
	if (args & 0x08)
		json_object_object_add(o, "value",
				       json_object_new_string_len((const char *)in + used,
								  (int)n));
	if (args & 0x10)
		json_object_object_add(o, "value",
				       json_object_new_int64((int64_t)a * 1000003 - 5));
	if (args & 0x20) {
		json_object_object_add(o, "reboot", json_object_new_boolean(a & 1));
		json_object_object_add(o, "force", json_object_new_boolean(a & 2));
		json_object_object_add(o, "hibernate",
				       json_object_new_boolean(a & 4));
	}
	if (args & 0x40)
		json_object_object_add(o, "timeout_s", json_object_new_int(a % 5));
	if (args & 0x80)
		json_object_object_add(o, "message",
				       json_object_new_string_len((const char *)in + used,
								  (int)n));
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	vspd_ctl_session_feed(s, line, strlen(line));
	vspd_ctl_session_feed(s, "\n", 1);
	json_object_put(o);
	return used + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	struct vspd_control *c;
	struct vspd_ctl_session *s;
	uint8_t mode, chunk, tmpl;
	size_t step;

	if (len < 3)
		return 0;
	mode = in[0];
	chunk = in[1];
	tmpl = in[2];
	in += 3;
	len -= 3;
	memset(&F, 0, sizeof(F));
	memcpy(F.d.name, "fuzz", 5);
	if (mode & 1) {
		struct vmbus_server_options so = { .nvps = 1 };

		F.d.part = (struct vspd_partition *)&fake_partition;
		F.h = ic_host_create(NULL, NULL);
		F.srv = vmbus_server_create(&so, &srv_ops);
		F.d.srv = F.srv;
		F.d.ics = F.h;
		F.d.part_name = "fuzz";
		F.d.part_nvps = 1;
		F.d.part_since = 1;
		if (!F.h || !F.srv)
			abort();
		for (int k = 0; k < IC_KIND_COUNT; k++) {
			F.ic[k] = ic_dev_create_detached(F.h, (enum ic_kind)k,
							 rec, (void *)&kinds[k]);
			if (!F.ic[k])
				abort();
			if (mode & (2u << k))
				ready(k);
		}
	}
	c = vspd_control_new(&F.d);
	s = c ? vspd_ctl_session_new(c) : NULL;
	if (!s)
		abort();
	vspd_control_notify(c, "attach", "fuzz");
	if (tmpl < 28) {
		char pre[64];
		int n = snprintf(pre, sizeof(pre), "{\"cmd\":\"%s\",",
				 templates[tmpl / 2]);

		vspd_ctl_session_feed(s, pre, (size_t)n);
	} else if (tmpl < 56) {
		size_t used = build_request(s, templates[(tmpl - 28) / 2], in,
					    len);

		in += used;
		len -= used;
	}

	step = chunk ? (size_t)(chunk % 97) + 1 : len ? len : 1;
	for (size_t off = 0; off < len && !vspd_ctl_session_closing(s);) {
		size_t n = len - off < step ? len - off : step;
		size_t t = vspd_ctl_session_feed(s, in + off, n);

		check_output(s);
		if ((mode & 0x40) && vspd_ctl_session_pending(s)) {
			answer_all(in[off]);
			check_output(s);
		}
		if (!t && vspd_ctl_session_pending(s))
			break;		/* blocked on the guest: it never answers */
		off += t;	/* 0 while answers wait: taken now, go on */
	}
	vspd_ctl_session_eof(s);
	check_output(s);

	if (mode & 0x80) {
		vspd_ctl_session_free(s);	/* pending: orphaned */
		s = NULL;
	}
	ic_host_destroy(F.h);		/* pending requests end "closed" */
	F.h = NULL;
	F.d.part = NULL;
	F.d.ics = NULL;
	F.d.srv = NULL;
	F.d.part_name = NULL;
	if (s) {
		check_output(s);
		vspd_ctl_session_feed(s, NULL, 0);
		check_output(s);
	}
	vspd_control_close(c);
	if (F.srv)
		vmbus_server_destroy(F.srv);
	return 0;
}
