// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvisctl: the management CLI of hvis. It talks JSON lines to each VM's
 * hvis-vspd on RUN_DIR/NAME/control.sock (docs/control-protocol.md) and
 * starts a VM with its VSP service in the foreground (`hvisctl start`).
 *
 * Exit status: 0 ok, 1 the service answered ok:false (or start failed),
 * 2 usage, 3 cannot reach the service (or it did not answer in time);
 * `start` exits with hvis-run's status.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "host-vsp/storage/vhd.h"

#define DEFAULT_RUN_DIR		"/run/hvis"
#define DEFAULT_TIMEOUT_S	90
#define LIST_TIMEOUT_S		5
#define VSS_FREEZE_DEFAULT_S	(16 * 60)
#define ANSWER_MAX		(256u << 20)
#define NAME_MAX_LEN		63
#define ATTACH_WAIT_MS		10000

enum {
	EX_OK = 0,
	EX_FAILED = 1,
	EX_USAGE = 2,
	EX_CONNECT = 3,
};

static struct {
	const char *run_dir;
	bool json;
	long timeout;		/* seconds, 0 = no limit, -1 = default */
} G = { .timeout = -1 };

/* ------------------------------------------------------------ usage */

static void usage(FILE *f)
{
	fputs("usage: hvisctl [--run-dir DIR] [--json] [--timeout SECS] COMMAND ...\n"
	      "  list                              VMs whose service answers\n"
	      "  status NAME                       partition, VMBus, channels, ICs\n"
	      "  heartbeat NAME                    guest heartbeat\n"
	      "  shutdown NAME [--force] [--message TEXT]\n"
	      "  reboot NAME [--force] [--message TEXT]\n"
	      "  kvp NAME get POOL KEY | set POOL KEY VALUE [--int] | delete POOL KEY | list POOL\n"
	      "                                    POOL: 0-4 or external, guest, auto,\n"
	      "                                    auto-external, auto-internal\n"
	      "  vss NAME freeze [--timeout S] | thaw | status\n"
	      "  time NAME [step]                  time sync state; step the guest clock\n"
	      "  events NAME                       the service's last events\n"
	      "  disk NAME list                    SCSI controllers, disks, I/O counters\n"
	      "  disk NAME add PATH [--lun N] [--controller N] [--ro] [--format raw|vhd|auto]\n"
	      "                                    attach a disk (hot add while the VM runs)\n"
	      "  disk NAME remove --lun N [--controller N]\n"
	      "                                    detach a disk (hot remove)\n"
	      "  mouse NAME [move X Y | click [BUTTON] | press BUTTON | release BUTTON |\n"
	      "             wheel STEPS]     the synthetic mouse: X, Y 0..32767 (the\n"
	      "                                    whole screen), BUTTON left, right, middle;\n"
	      "                                    alone: its state\n"
	      "  link NAME [NIC] [up | down]       network adapters: link up/down (NIC: its\n"
	      "                                    TAP or netN; default all); alone: their\n"
	      "                                    state and counters\n"
	      "  vhd create FILE SIZE [--fixed] [--block-size SIZE]\n"
	      "                                    make a VHD (dynamic unless --fixed);\n"
	      "                                    SIZE in bytes or with K, M, G, T\n"
	      "  vhd info FILE                     a VHD's type, size and allocation\n"
	      "  start CONFIG.json [--run-dir DIR] run a VM and its VSP service in the\n"
	      "                                    foreground (restarts on guest reboot)\n"
	      "Options:\n"
	      "  --run-dir DIR   where the services live (default $HVIS_RUN_DIR or "
	      DEFAULT_RUN_DIR ")\n"
	      "  --json          print the service's answers as JSON\n"
	      "  --timeout SECS  wait at most SECS for an answer (0: no limit;\n"
	      "                  default 90, vss freeze: its timeout + 60)\n"
	      "Exit status: 0 ok, 1 the service answered an error, 2 usage,\n"
	      "             3 cannot reach the service; start: hvis-run's status.\n", f);
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hvisctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(hvisctl --help for usage)\n", stderr);
	return EX_USAGE;
}

/* hvis-vspd's rule for names: letters, digits, '.', '_', '-', not
 * starting with '.' (nor '-' here: it would read as an option).
 */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > NAME_MAX_LEN || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int parse_secs(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------ JSON helpers */

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o)
		json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *jstr(json_object *o, const char *key, const char *dflt)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : dflt;
}

static bool jbool(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static bool jis_num(json_object *v)
{
	return v && (json_object_is_type(v, json_type_int) ||
		     json_object_is_type(v, json_type_double));
}

/* Any scalar as text ("-" for null / missing). */
static const char *jtext(json_object *o, const char *key, char *buf, size_t n)
{
	json_object *v = jget(o, key);

	if (!v)
		return "-";
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? "yes" : "no";
	snprintf(buf, n, "%s", json_object_to_json_string_ext(v,
		 JSON_C_TO_STRING_PLAIN));
	return buf;
}

static unsigned long long jull(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return jis_num(v) ? (unsigned long long)json_object_get_uint64(v) : 0;
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	       JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	       JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* "3.2 s", "42 s", "5m 07s", "2h 03m", "4d 01h". */
static const char *fmt_dur(double s, char *buf, size_t n)
{
	unsigned long long t = s > 0 ? (unsigned long long)s : 0;

	if (s < 10)
		snprintf(buf, n, "%.1f s", s < 0 ? 0 : s);
	else if (t < 60)
		snprintf(buf, n, "%llu s", t);
	else if (t < 3600)
		snprintf(buf, n, "%llum %02llus", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, n, "%lluh %02llum", t / 3600, t / 60 % 60);
	else
		snprintf(buf, n, "%llud %02lluh", t / 86400, t / 3600 % 24);
	return buf;
}

static const char *jdur(json_object *o, const char *key, char *buf, size_t n)
{
	json_object *v = jget(o, key);

	return jis_num(v) ? fmt_dur(json_object_get_double(v), buf, n) : "-";
}

static const char *jago(json_object *o, const char *key, char *buf, size_t n)
{
	json_object *v = jget(o, key);
	char d[32];

	if (!jis_num(v))
		return "never";
	snprintf(buf, n, "%s ago", fmt_dur(json_object_get_double(v), d,
					   sizeof(d)));
	return buf;
}

/* "key:" padded, then the value. */
static void kv(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%-18s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ------------------------------------------------------------ tables */

#define TABLE_COLS 8

struct table {
	unsigned int ncols, nrows, cap;
	char **cells;		/* row-major, strdup'd */
};

static void table_row(struct table *t, ...)
{
	va_list ap;

	if (t->nrows == t->cap) {
		unsigned int cap = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, (size_t)cap * t->ncols * sizeof(*c));

		if (!c)
			return;
		t->cells = c;
		t->cap = cap;
	}
	va_start(ap, t);
	for (unsigned int i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + i] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

static void table_free(struct table *t)
{
	for (unsigned int i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

static void table_print(struct table *t)
{
	size_t w[TABLE_COLS] = { 0 };

	for (unsigned int r = 0; r < t->nrows; r++)
		for (unsigned int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t n = s ? strlen(s) : 0;

			if (n > w[c])
				w[c] = n;
		}
	for (unsigned int r = 0; r < t->nrows; r++) {
		char **row = t->cells + (size_t)r * t->ncols;
		unsigned int last = t->ncols;

		/* no padding behind the last non-empty cell */
		while (last > 1 && (!row[last - 1] || !row[last - 1][0]))
			last--;
		for (unsigned int c = 0; c < last; c++) {
			const char *s = row[c] ? row[c] : "";

			if (c + 1 == last)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)w[c], s);
		}
	}
	table_free(t);
}

/* ------------------------------------------------------------ the socket */

struct conn {
	const char *name;
	int fd;
	char *buf;
	size_t len, cap;
};

static int conn_open(struct conn *c, const char *name, bool quiet)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->fd = -1;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s/control.sock",
		     G.run_dir, name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		if (!quiet)
			fprintf(stderr, "hvisctl: %s: socket path too long\n", name);
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (!quiet)
			fprintf(stderr, "hvisctl: %s: cannot connect to %s: %s\n",
				name, sa.sun_path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

static int conn_send(struct conn *c, json_object *req, bool quiet)
{
	const char *txt = json_object_to_json_string_ext(req,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(txt), off = 0;
	char *line = malloc(n + 1);

	if (!line)
		return -1;
	memcpy(line, txt, n);
	line[n++] = '\n';
	while (off < n) {
		ssize_t w = send(c->fd, line + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!quiet)
				fprintf(stderr, "hvisctl: %s: cannot send: %s\n",
					c->name, strerror(errno));
			free(line);
			return -1;
		}
		off += (size_t)w;
	}
	free(line);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The next answer line as a JSON object; NULL (reported) on failure. */
static json_object *conn_recv(struct conn *c, long timeout_s, bool quiet)
{
	uint64_t deadline = timeout_s ? now_ms() + (uint64_t)timeout_s * 1000 : 0;

	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int wait = -1;
		ssize_t n;

		if (nl) {
			size_t linelen = (size_t)(nl - c->buf);
			json_object *o;

			*nl = '\0';
			o = json_tokener_parse(c->buf);
			memmove(c->buf, nl + 1, c->len - linelen - 1);
			c->len -= linelen + 1;
			if (!o || !json_object_is_type(o, json_type_object)) {
				if (!quiet)
					fprintf(stderr, "hvisctl: %s: malformed answer from the service\n",
						c->name);
				json_object_put(o);
				return NULL;
			}
			return o;
		}
		if (deadline) {
			uint64_t now = now_ms();

			if (now >= deadline) {
				if (!quiet)
					fprintf(stderr, "hvisctl: %s: no answer within %ld s\n",
						c->name, timeout_s);
				return NULL;
			}
			wait = (int)(deadline - now);
		}
		n = poll(&p, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			continue;	/* the deadline check above reports */
		if (c->cap - c->len < 65536) {
			size_t cap = c->cap ? c->cap * 2 : 131072;
			char *b;

			if (cap > ANSWER_MAX || !(b = realloc(c->buf, cap))) {
				if (!quiet)
					fprintf(stderr, "hvisctl: %s: answer too large\n",
						c->name);
				return NULL;
			}
			c->buf = b;
			c->cap = cap;
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!quiet)
				fprintf(stderr, "hvisctl: %s: the service closed the connection%s%s\n",
					c->name, n < 0 ? ": " : "",
					n < 0 ? strerror(errno) : "");
			return NULL;
		}
		c->len += (size_t)n;
	}
}

static long timeout_for(long dflt)
{
	return G.timeout >= 0 ? G.timeout : dflt;
}

/*
 * One request to NAME: *ans gets the answer. EX_OK with ok:true,
 * EX_FAILED with ok:false (the error printed), EX_CONNECT otherwise.
 */
static int request(const char *name, json_object *req, long timeout_s,
		   json_object **ans)
{
	struct conn c;
	json_object *a;

	*ans = NULL;
	if (conn_open(&c, name, false))
		return EX_CONNECT;
	if (conn_send(&c, req, false) ||
	    !(a = conn_recv(&c, timeout_s, false))) {
		conn_close(&c);
		return EX_CONNECT;
	}
	conn_close(&c);
	*ans = a;
	if (jbool(a, "ok"))
		return EX_OK;
	fprintf(stderr, "hvisctl: %s: %s\n", name, jstr(a, "error", "unknown error"));
	return EX_FAILED;
}

static json_object *new_req(const char *cmd)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	return o;
}

/* Run @req (taken) on NAME and show the answer with @show. */
static int run(const char *name, json_object *req, long timeout_s,
	       void (*show)(const char *name, json_object *ans))
{
	json_object *ans;
	int rc = request(name, req, timeout_s, &ans);

	json_object_put(req);
	if (ans && G.json)
		print_json(ans);
	else if (rc == EX_OK && show)
		show(name, ans);
	json_object_put(ans);
	return rc;
}

/* ------------------------------------------------------------ show */

static void show_status(const char *name, json_object *a)
{
	json_object *vm = jget(a, "vmbus"), *st = jget(vm, "stats");
	json_object *chans = jget(a, "channels"), *ics = jget(a, "ics");
	struct table t = { .ncols = 5 };
	char b1[64], b2[64], b3[64];

	(void)name;
	kv("name:", "%s", jstr(a, "name", "?"));
	kv("service pid:", "%s", jtext(a, "pid", b1, sizeof(b1)));
	kv("attached:", "%s", jbool(a, "attached") ? "yes" : "no");
	kv("attaches:", "%llu", jull(a, "attaches"));
	if (!jbool(a, "attached"))
		return;
	kv("partition:", "%s", jstr(a, "partition", "-"));
	kv("virtual CPUs:", "%llu", jull(a, "vps"));
	kv("attached for:", "%s", jdur(a, "attached_for_s", b1, sizeof(b1)));
	if (vm) {
		kv("vmbus:", "%s, version %s", jstr(vm, "state", "?"),
		   jstr(vm, "version", "-"));
		if (jget(vm, "target_vp"))
			kv("vmbus messages to:", "VP %s, SINT %s",
			   jtext(vm, "target_vp", b1, sizeof(b1)),
			   jtext(vm, "sint", b2, sizeof(b2)));
		kv("vmbus messages:", "%llu in, %llu out, %llu ignored, %llu refused, %llu dropped",
		   jull(st, "msgs_in"), jull(st, "msgs_out"),
		   jull(st, "msgs_ignored"), jull(st, "msgs_refused"),
		   jull(st, "msgs_dropped"));
		kv("vmbus signals:", "%llu in, %llu out", jull(st, "signals_in"),
		   jull(st, "signals_out"));
		kv("gpadls:", "%llu (backlog %llu)", jull(vm, "gpadls"),
		   jull(vm, "backlog"));
	}
	if (chans && json_object_array_length(chans)) {
		printf("\n");
		table_row(&t, "RELID", "CLASS", "STATE", "VP", "INSTANCE");
		for (size_t i = 0; i < json_object_array_length(chans); i++) {
			json_object *ch = json_object_array_get_idx(chans, i);

			table_row(&t, jtext(ch, "relid", b1, sizeof(b1)),
				  jstr(ch, "class", "?"), jstr(ch, "state", "?"),
				  jtext(ch, "target_vp", b2, sizeof(b2)),
				  jstr(ch, "instance", "?"));
		}
		table_print(&t);
	}
	if (ics && json_object_array_length(ics)) {
		t.ncols = 6;
		printf("\n");
		table_row(&t, "IC", "STATE", "RELID", "FRAMEWORK", "MESSAGE", "NOTE");
		for (size_t i = 0; i < json_object_array_length(ics); i++) {
			json_object *ic = json_object_array_get_idx(ics, i);
			const char *note = "";

			if (jbool(ic, "negotiate_overdue"))
				note = "negotiation overdue (guest daemon?)";
			else if (jbool(ic, "busy") || jull(ic, "queued"))
				note = "busy";
			snprintf(b3, sizeof(b3), "%s", note);
			table_row(&t, jstr(ic, "kind", "?"), jstr(ic, "state", "?"),
				  jtext(ic, "relid", b1, sizeof(b1)),
				  jstr(ic, "framework", "-"),
				  jstr(ic, "message", "-"), b3);
		}
		table_print(&t);
	}
}

static void show_heartbeat(const char *name, json_object *a)
{
	char b[64];

	(void)name;
	kv("state:", "%s", jstr(a, "state", "?"));
	kv("health:", "%s", jstr(a, "health", "?"));
	kv("sent / acked:", "%llu / %llu", jull(a, "sent"), jull(a, "acked"));
	kv("missed:", "%llu (%llu in a row)", jull(a, "missed"),
	   jull(a, "missed_in_row"));
	kv("last sequence:", "%s", jtext(a, "last_seq", b, sizeof(b)));
	kv("last reply:", "%s", jago(a, "last_reply_age_s", b, sizeof(b)));
}

static void show_shutdown(const char *name, json_object *a)
{
	(void)a;
	printf("%s: the guest accepted the shutdown request\n", name);
}

static void show_reboot(const char *name, json_object *a)
{
	(void)a;
	printf("%s: the guest accepted the reboot request\n", name);
}

static void show_kvp_get(const char *name, json_object *a)
{
	const char *v = jstr(a, "value", ""), *cached = jstr(a, "cached", NULL);

	if (!*v && cached) {
		fprintf(stderr, "hvisctl: %s: the guest answered an empty value; showing the value of the last list\n",
			name);
		v = cached;
	}
	printf("%s\n", v);
}

static void show_kvp_list(const char *name, json_object *a)
{
	json_object *e = jget(a, "entries");
	struct table t = { .ncols = 2 };

	(void)name;
	if (!e || !json_object_array_length(e))
		return;
	table_row(&t, "KEY", "VALUE");
	for (size_t i = 0; i < json_object_array_length(e); i++) {
		json_object *x = json_object_array_get_idx(e, i);

		table_row(&t, jstr(x, "key", ""), jstr(x, "value", ""));
	}
	table_print(&t);
}

static void show_frozen(const char *name, json_object *a)
{
	(void)a;
	printf("%s: the guest's file systems are frozen (thaw with: hvisctl vss %s thaw)\n",
	       name, name);
}

static void show_thawed(const char *name, json_object *a)
{
	(void)a;
	printf("%s: the guest's file systems are thawed\n", name);
}

static void show_vss_status(const char *name, json_object *a)
{
	char b[64];

	(void)name;
	kv("IC state:", "%s", jstr(a, "ic_state", "?"));
	kv("state:", "%s", jstr(a, "state", "?"));
	if (jget(a, "frozen_for_s"))
		kv("frozen for:", "%s", jdur(a, "frozen_for_s", b, sizeof(b)));
	if (jget(a, "last_op"))
		kv("last:", "%s: %s (status 0x%08llx)", jstr(a, "last_op", "?"),
		   jstr(a, "last_result", "?"), jull(a, "last_status"));
	kv("freezes / thaws:", "%llu / %llu", jull(a, "freezes"), jull(a, "thaws"));
	kv("failures:", "%llu (%llu timeouts)", jull(a, "failures"),
	   jull(a, "timeouts"));
}

static void show_time(const char *name, json_object *a)
{
	json_object *t = jget(a, "last_parent_unix_s");
	char b[64];

	(void)name;
	kv("state:", "%s%s", jstr(a, "state", "?"),
	   jbool(a, "v4") ? " (version 4: reference time)" : "");
	kv("syncs / samples:", "%llu / %llu", jull(a, "syncs"), jull(a, "samples"));
	kv("replies / missed:", "%llu / %llu", jull(a, "replies"), jull(a, "missed"));
	kv("last sent:", "%s%s%s", jago(a, "last_sent_age_s", b, sizeof(b)),
	   jget(a, "last_flags") ? ", " : "", jstr(a, "last_flags", ""));
	if (jis_num(t)) {
		time_t secs = (time_t)json_object_get_double(t);
		struct tm tm;
		char when[64];

		if (gmtime_r(&secs, &tm) &&
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
			kv("last host time:", "%s", when);
	}
}

static void show_step(const char *name, json_object *a)
{
	(void)a;
	printf("%s: the guest's clock is stepped with the next time sync message\n",
	       name);
}

static void show_events(const char *name, json_object *a)
{
	json_object *ev = jget(a, "events");
	struct table t = { .ncols = 3 };

	(void)name;
	if (!ev || !json_object_array_length(ev))
		return;
	for (size_t i = 0; i < json_object_array_length(ev); i++) {
		json_object *e = json_object_array_get_idx(ev, i);
		time_t secs = (time_t)(jull(e, "unix_ms") / 1000);
		struct tm tm;
		char when[32] = "?";

		if (localtime_r(&secs, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		table_row(&t, when, jstr(e, "event", "?"), jstr(e, "detail", ""));
	}
	table_print(&t);
}

/* ------------------------------------------------------------ arguments */

/* What may follow a command: positionals and its options. */
struct tail {
	char *pos[8];
	int npos;
	bool force, is_int;
	const char *message;
	const char *timeout;	/* as given after the command */
	/* disk and vhd */
	const char *lun, *controller, *format, *block_size;
	bool ro, fixed;
};

/* Split argv[i..] into positionals and options; 0 or EX_USAGE. */
static int parse_tail(int argc, char **argv, int i, struct tail *t)
{
	bool dashdash = false;

	memset(t, 0, sizeof(*t));
	for (; i < argc; i++) {
		char *a = argv[i], *val = NULL, opt[32];
		const char *eq;

		/* a negative number ("wheel -3") is an argument, not an option */
		if (dashdash || a[0] != '-' || !a[1] || (a[1] >= '0' && a[1] <= '9')) {
			if (t->npos >= (int)(sizeof(t->pos) / sizeof(t->pos[0])))
				return usage_error("too many arguments");
			t->pos[t->npos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
			continue;
		}
		eq = strchr(a, '=');
		if (eq && (size_t)(eq - a) < sizeof(opt)) {
			memcpy(opt, a, (size_t)(eq - a));
			opt[eq - a] = '\0';
			val = (char *)eq + 1;
		} else {
			snprintf(opt, sizeof(opt), "%s", a);
		}
		if (!strcmp(opt, "--json") || !strcmp(opt, "-j")) {
			G.json = true;
		} else if (!strcmp(opt, "--force") || !strcmp(opt, "-f")) {
			t->force = true;
		} else if (!strcmp(opt, "--int")) {
			t->is_int = true;
		} else if (!strcmp(opt, "--ro")) {
			t->ro = true;
		} else if (!strcmp(opt, "--fixed")) {
			t->fixed = true;
		} else if (!strcmp(opt, "--lun") || !strcmp(opt, "--controller") ||
			   !strcmp(opt, "--format") || !strcmp(opt, "--block-size")) {
			if (!val) {
				if (i + 1 >= argc)
					return usage_error("%s needs a value", opt);
				val = argv[++i];
			}
			if (!strcmp(opt, "--lun"))
				t->lun = val;
			else if (!strcmp(opt, "--controller"))
				t->controller = val;
			else if (!strcmp(opt, "--format"))
				t->format = val;
			else
				t->block_size = val;
		} else if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
			usage(stdout);
			exit(EX_OK);
		} else if (!strcmp(opt, "--run-dir") || !strcmp(opt, "--message") ||
			   !strcmp(opt, "--timeout") || !strcmp(opt, "-m")) {
			if (!val) {
				if (i + 1 >= argc)
					return usage_error("%s needs a value", opt);
				val = argv[++i];
			}
			if (!strcmp(opt, "--run-dir"))
				G.run_dir = val;
			else if (!strcmp(opt, "--timeout"))
				t->timeout = val;
			else
				t->message = val;
		} else {
			return usage_error("unknown option %s", a);
		}
	}
	return 0;
}

/* The command's own options: refuse those it does not take. */
static int only_opts(const char *cmd, const struct tail *t, bool force_msg,
		     bool is_int)
{
	if (t->lun || t->controller || t->format || t->block_size || t->ro ||
	    t->fixed)
		return usage_error("%s takes no disk options", cmd);
	if (!force_msg && (t->force || t->message))
		return usage_error("%s takes no --force / --message", cmd);
	if (!is_int && t->is_int)
		return usage_error("%s takes no --int", cmd);
	return 0;
}

/* A --timeout after a command other than vss freeze: the global one. */
static int tail_timeout(const struct tail *t)
{
	if (t->timeout && parse_secs(t->timeout, 10000000, &G.timeout))
		return usage_error("bad --timeout '%s'", t->timeout);
	return 0;
}

static int need_name(const char *cmd, const struct tail *t, int npos)
{
	if (t->npos < 1)
		return usage_error("%s: which VM?", cmd);
	if (!valid_name(t->pos[0]))
		return usage_error("bad VM name '%s'", t->pos[0]);
	if (t->npos != npos)
		return usage_error("%s: wrong number of arguments", cmd);
	return 0;
}

/* POOL: a digit or a name, sent as given (the service checks it). */
static json_object *pool_arg(const char *s)
{
	if (s[0] >= '0' && s[0] <= '9' && !s[1])
		return json_object_new_int(s[0] - '0');
	return json_object_new_string(s);
}

/* ------------------------------------------------------------ commands */

static int cmd_simple(const char *cmd, const char *wire, int argc, char **argv,
		      int i, void (*show)(const char *, json_object *))
{
	struct tail t;
	int rc;

	if ((rc = parse_tail(argc, argv, i, &t)) ||
	    (rc = only_opts(cmd, &t, false, false)) ||
	    (rc = tail_timeout(&t)) || (rc = need_name(cmd, &t, 1)))
		return rc;
	return run(t.pos[0], new_req(wire), timeout_for(DEFAULT_TIMEOUT_S), show);
}

static int cmd_shutdown(bool reboot, int argc, char **argv, int i)
{
	const char *cmd = reboot ? "reboot" : "shutdown";
	json_object *req;
	struct tail t;
	int rc;

	if ((rc = parse_tail(argc, argv, i, &t)) ||
	    (rc = only_opts(cmd, &t, true, false)) ||
	    (rc = tail_timeout(&t)) || (rc = need_name(cmd, &t, 1)))
		return rc;
	req = new_req("shutdown");
	json_object_object_add(req, "reboot", json_object_new_boolean(reboot));
	json_object_object_add(req, "force", json_object_new_boolean(t.force));
	if (t.message)
		json_object_object_add(req, "message",
				       json_object_new_string(t.message));
	return run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S),
		   reboot ? show_reboot : show_shutdown);
}

static int cmd_kvp(int argc, char **argv, int i)
{
	static const struct {
		const char *op, *wire;
		int npos;		/* NAME OP POOL ... */
	} ops[] = {
		{ "get", "kvp-get", 4 },
		{ "set", "kvp-set", 5 },
		{ "delete", "kvp-delete", 4 },
		{ "list", "kvp-list", 3 },
	};
	json_object *req;
	struct tail t;
	int rc, op = -1;

	if ((rc = parse_tail(argc, argv, i, &t)))
		return rc;
	if (t.npos >= 2)
		for (int k = 0; k < 4; k++)
			if (!strcmp(t.pos[1], ops[k].op))
				op = k;
	if (t.npos < 2 || op < 0)
		return usage_error("kvp NAME get|set|delete|list POOL ...");
	if ((rc = only_opts("kvp", &t, false, op == 1)) ||
	    (rc = tail_timeout(&t)) || (rc = need_name("kvp", &t, ops[op].npos)))
		return rc;
	req = new_req(ops[op].wire);
	json_object_object_add(req, "pool", pool_arg(t.pos[2]));
	if (op != 3)
		json_object_object_add(req, "key", json_object_new_string(t.pos[3]));
	if (op == 1 && t.is_int) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(t.pos[4], &end, 0);
		if (errno || end == t.pos[4] || *end || t.pos[4][0] == '-') {
			json_object_put(req);
			return usage_error("--int: '%s' is not an unsigned integer",
					   t.pos[4]);
		}
		json_object_object_add(req, "value", json_object_new_uint64(v));
	} else if (op == 1) {
		json_object_object_add(req, "value", json_object_new_string(t.pos[4]));
	}
	return run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S),
		   op == 0 ? show_kvp_get : op == 3 ? show_kvp_list : NULL);
}

static int cmd_vss(int argc, char **argv, int i)
{
	json_object *req;
	struct tail t;
	long freeze = 0;
	int rc;

	if ((rc = parse_tail(argc, argv, i, &t)) ||
	    (rc = only_opts("vss", &t, false, false)))
		return rc;
	if (t.npos != 2 || !valid_name(t.pos[0]))
		return usage_error("vss NAME freeze [--timeout S] | thaw | status");
	if (!strcmp(t.pos[1], "freeze")) {
		if (t.timeout && (parse_secs(t.timeout, 86400, &freeze) || !freeze))
			return usage_error("vss freeze: --timeout must be 1..86400 s");
		req = new_req("vss-freeze");
		if (freeze)
			json_object_object_add(req, "timeout_s",
					       json_object_new_int64(freeze));
		return run(t.pos[0], req,
			   timeout_for((freeze ? freeze : VSS_FREEZE_DEFAULT_S) + 60),
			   show_frozen);
	}
	if ((rc = tail_timeout(&t)))
		return rc;
	if (!strcmp(t.pos[1], "thaw"))
		return run(t.pos[0], new_req("vss-thaw"),
			   timeout_for(DEFAULT_TIMEOUT_S), show_thawed);
	if (!strcmp(t.pos[1], "status"))
		return run(t.pos[0], new_req("vss-status"),
			   timeout_for(DEFAULT_TIMEOUT_S), show_vss_status);
	return usage_error("vss NAME freeze [--timeout S] | thaw | status");
}

static int cmd_time(int argc, char **argv, int i)
{
	struct tail t;
	int rc;

	if ((rc = parse_tail(argc, argv, i, &t)) ||
	    (rc = only_opts("time", &t, false, false)) || (rc = tail_timeout(&t)))
		return rc;
	if (t.npos < 1 || t.npos > 2 || !valid_name(t.pos[0]) ||
	    (t.npos == 2 && strcmp(t.pos[1], "step")))
		return usage_error("time NAME [step]");
	if (t.npos == 2)
		return run(t.pos[0], new_req("timesync-step"),
			   timeout_for(DEFAULT_TIMEOUT_S), show_step);
	return run(t.pos[0], new_req("timesync"), timeout_for(DEFAULT_TIMEOUT_S),
		   show_time);
}

/* ---- disks ---- */

static void human_size(char *buf, size_t n, unsigned long long v)
{
	static const char units[] = "BKMGTP";
	double x = (double)v;
	int u = 0;

	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%llu B", v);
	else
		snprintf(buf, n, "%.1f %ciB", x, units[u]);
}

static void show_disks(const char *name, json_object *a)
{
	json_object *ctrls = jget(a, "controllers");
	struct table t = { .ncols = 8 };

	printf("%s: disk I/O by %s\n", name, jstr(a, "io_engine", "?"));
	if (!ctrls || !json_object_array_length(ctrls)) {
		printf("no SCSI controllers\n");
		return;
	}
	table_row(&t, "DISK", "FORMAT", "SIZE", "MODE", "READS", "WRITES",
		  "FLUSHES", "PATH");
	for (size_t i = 0; i < json_object_array_length(ctrls); i++) {
		json_object *c = json_object_array_get_idx(ctrls, i);
		json_object *disks = jget(c, "disks");

		printf("scsi%llu: protocol %s, %s, %llu channel(s) open\n",
		       jull(c, "controller"), jstr(c, "protocol", "not negotiated"),
		       json_object_get_boolean(jget(c, "ready")) ? "ready" : "not ready",
		       jull(c, "channels_open"));
		for (size_t k = 0; disks && k < json_object_array_length(disks); k++) {
			json_object *d = json_object_array_get_idx(disks, k);
			json_object *st = jget(d, "stats");
			char id[32], sz[32], rd[64], wr[64], fl[32], b1[24], b2[24];

			snprintf(id, sizeof(id), "%llu:%llu", jull(d, "controller"),
				 jull(d, "lun"));
			human_size(sz, sizeof(sz), jull(d, "size"));
			human_size(b1, sizeof(b1), jull(st, "bytes_read"));
			human_size(b2, sizeof(b2), jull(st, "bytes_written"));
			snprintf(rd, sizeof(rd), "%llu (%s)", jull(st, "reads"), b1);
			snprintf(wr, sizeof(wr), "%llu (%s)", jull(st, "writes"), b2);
			snprintf(fl, sizeof(fl), "%llu", jull(st, "flushes"));
			table_row(&t, id, jstr(d, "format", "?"), sz,
				  json_object_get_boolean(jget(d, "read_only")) ? "ro" : "rw",
				  rd, wr, fl, jstr(d, "path", "?"));
		}
	}
	table_print(&t);
	table_free(&t);
}

static int uint_opt(const char *opt, const char *v, unsigned long max,
		    unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (errno || end == v || *end || *out > max || v[0] == '-')
		return usage_error("%s: '%s' is not a number 0..%lu", opt, v, max);
	return 0;
}

static int cmd_disk(int argc, char **argv, int i)
{
	unsigned long lun = 0, ctrl = 0;
	json_object *req;
	struct tail t;
	int rc;

	if ((rc = parse_tail(argc, argv, i, &t)))
		return rc;
	if (t.npos < 2 || !valid_name(t.pos[0]))
		return usage_error("disk NAME list | add PATH [...] | remove --lun N");
	if ((rc = tail_timeout(&t)))
		return rc;
	if (t.force || t.message || t.is_int || t.fixed || t.block_size)
		return usage_error("disk takes --lun, --controller, --ro and --format");
	if (t.lun && (rc = uint_opt("--lun", t.lun, 254, &lun)))
		return rc;
	if (t.controller && (rc = uint_opt("--controller", t.controller, 3, &ctrl)))
		return rc;
	if (!strcmp(t.pos[1], "list")) {
		if (t.npos != 2 || t.lun || t.controller || t.ro || t.format)
			return usage_error("disk NAME list");
		return run(t.pos[0], new_req("disks"), timeout_for(DEFAULT_TIMEOUT_S),
			   show_disks);
	}
	if (!strcmp(t.pos[1], "add")) {
		char real[PATH_MAX];

		if (t.npos != 3)
			return usage_error("disk NAME add PATH [--lun N] [--controller N] [--ro] [--format F]");
		/* the service resolves paths from its own directory: send ours */
		if (!realpath(t.pos[2], real)) {
			fprintf(stderr, "hvisctl: %s: %s\n", t.pos[2], strerror(errno));
			return EX_FAILED;
		}
		req = new_req("disk-add");
		json_object_object_add(req, "path", json_object_new_string(real));
		if (t.lun)
			json_object_object_add(req, "lun", json_object_new_int64((int64_t)lun));
		json_object_object_add(req, "controller", json_object_new_int64((int64_t)ctrl));
		json_object_object_add(req, "read_only", json_object_new_boolean(t.ro));
		if (t.format)
			json_object_object_add(req, "format", json_object_new_string(t.format));
		return run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S), NULL);
	}
	if (!strcmp(t.pos[1], "remove")) {
		if (t.npos != 2 || !t.lun || t.ro || t.format)
			return usage_error("disk NAME remove --lun N [--controller N]");
		req = new_req("disk-remove");
		json_object_object_add(req, "lun", json_object_new_int64((int64_t)lun));
		json_object_object_add(req, "controller", json_object_new_int64((int64_t)ctrl));
		return run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S), NULL);
	}
	return usage_error("disk NAME list | add PATH [...] | remove --lun N");
}

/* ---- link (network adapters) ---- */

static void show_nics(const char *name, json_object *a)
{
	json_object *nics = jget(a, "nics");
	size_t n = nics && json_object_is_type(nics, json_type_array) ?
		   json_object_array_length(nics) : 0;

	if (!n)
		printf("%s: no network adapters\n", name);
	for (size_t k = 0; k < n; k++) {
		json_object *c = json_object_array_get_idx(nics, k);

		printf("%s: %s tap %s mac %s link %s %s (NVSP %#llx, MTU %llu, %llu channels)\n"
		       "  rx %llu frames %llu bytes (%llu dropped, %llu busy)"
		       "  tx %llu frames %llu bytes (%llu dropped)  bad %llu\n",
		       name, jstr(c, "name", "?"), jstr(c, "tap", "?"),
		       jstr(c, "mac", "?"), jstr(c, "link", "?"),
		       jstr(c, "state", "?"), jull(c, "nvsp_version"),
		       jull(c, "guest_mtu"), jull(c, "channels"), jull(c, "rx_frames"),
		       jull(c, "rx_bytes"), jull(c, "rx_dropped"),
		       jull(c, "rx_busy"), jull(c, "tx_frames"),
		       jull(c, "tx_bytes"), jull(c, "tx_dropped"),
		       jull(c, "bad_packets"));
	}
}

static int cmd_link(int argc, char **argv, int i)
{
	json_object *req;
	struct tail t;
	const char *nic = NULL, *st = NULL;
	int rc;

	if ((rc = parse_tail(argc, argv, i, &t)) ||
	    (rc = only_opts("link", &t, false, false)) || (rc = tail_timeout(&t)))
		return rc;
	if (t.npos < 1 || t.npos > 3 || !valid_name(t.pos[0]))
		return usage_error("link NAME [NIC] [up | down]");
	if (t.npos == 3) {
		nic = t.pos[1];
		st = t.pos[2];
	} else if (t.npos == 2) {
		if (!strcmp(t.pos[1], "up") || !strcmp(t.pos[1], "down"))
			st = t.pos[1];
		else
			nic = t.pos[1];
	}
	if (st && strcmp(st, "up") && strcmp(st, "down"))
		return usage_error("link NAME [NIC] [up | down]");
	req = new_req(st ? "link" : "nics");
	if (nic)
		json_object_object_add(req, "nic", json_object_new_string(nic));
	if (st)
		json_object_object_add(req, "up", json_object_new_boolean(!strcmp(st, "up")));
	return run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S), show_nics);
}

/* ---- mouse ---- */

static void show_mouse(const char *name, json_object *a)
{
	json_object *m = jget(a, "mouse");

	printf("%s: mouse %s at %llu,%llu buttons %llu (%llu reports sent, %llu dropped)\n",
	       name, jstr(m, "state", "?"), jull(m, "x"), jull(m, "y"),
	       jull(m, "buttons"), jull(m, "reports"), jull(m, "dropped"));
}

static int button_bit(const char *s)
{
	if (!strcmp(s, "left"))
		return 1;
	if (!strcmp(s, "right"))
		return 2;
	if (!strcmp(s, "middle"))
		return 4;
	return -1;
}

/* The state now (x, y, buttons) from the service. */
static int mouse_now(const char *name, unsigned long long *buttons)
{
	json_object *ans = NULL, *req = new_req("mouse");
	int rc = request(name, req, timeout_for(DEFAULT_TIMEOUT_S), &ans);

	json_object_put(req);
	if (rc == EX_OK)
		*buttons = jull(jget(ans, "mouse"), "buttons");
	json_object_put(ans);
	return rc;
}

static int cmd_mouse(int argc, char **argv, int i)
{
	unsigned long long buttons = 0;
	unsigned long v1, v2;
	json_object *req;
	struct tail t;
	int rc, bit = 1;

	if ((rc = parse_tail(argc, argv, i, &t)) ||
	    (rc = only_opts("mouse", &t, false, false)) || (rc = tail_timeout(&t)))
		return rc;
	if (t.npos < 1 || !valid_name(t.pos[0]))
		return usage_error("mouse NAME [move X Y | click [BUTTON] | press BUTTON | release BUTTON | wheel N]");
	if (t.npos == 1)
		return run(t.pos[0], new_req("mouse"), timeout_for(DEFAULT_TIMEOUT_S),
			   show_mouse);
	if (!strcmp(t.pos[1], "move")) {
		if (t.npos != 4 || uint_opt("X", t.pos[2], 32767, &v1) ||
		    uint_opt("Y", t.pos[3], 32767, &v2))
			return usage_error("mouse NAME move X Y (0..32767 each)");
		req = new_req("mouse");
		json_object_object_add(req, "x", json_object_new_int64((int64_t)v1));
		json_object_object_add(req, "y", json_object_new_int64((int64_t)v2));
		return run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S), show_mouse);
	}
	if (!strcmp(t.pos[1], "wheel")) {
		char *end;
		long n;

		if (t.npos != 3)
			return usage_error("mouse NAME wheel STEPS (-127..127)");
		n = strtol(t.pos[2], &end, 10);
		if (*end || end == t.pos[2] || n < -127 || n > 127)
			return usage_error("mouse NAME wheel STEPS (-127..127)");
		req = new_req("mouse");
		json_object_object_add(req, "wheel", json_object_new_int64(n));
		return run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S), show_mouse);
	}
	if (!strcmp(t.pos[1], "click") || !strcmp(t.pos[1], "press") ||
	    !strcmp(t.pos[1], "release")) {
		bool click = !strcmp(t.pos[1], "click");

		if (t.npos > 3 || (!click && t.npos != 3))
			return usage_error("mouse NAME %s%s", t.pos[1], click ? " [BUTTON]" : " BUTTON");
		if (t.npos == 3 && (bit = button_bit(t.pos[2])) < 0)
			return usage_error("BUTTON is left, right or middle");
		if ((rc = mouse_now(t.pos[0], &buttons)))
			return rc;
		if (click || !strcmp(t.pos[1], "press")) {
			req = new_req("mouse");
			json_object_object_add(req, "buttons",
					       json_object_new_int64((int64_t)(buttons | (unsigned)bit)));
			rc = run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S),
				 click ? NULL : show_mouse);
			if (rc || !click)
				return rc;
		}
		req = new_req("mouse");
		json_object_object_add(req, "buttons",
				       json_object_new_int64((int64_t)(buttons & ~(unsigned)bit)));
		return run(t.pos[0], req, timeout_for(DEFAULT_TIMEOUT_S), show_mouse);
	}
	return usage_error("mouse NAME [move X Y | click [BUTTON] | press BUTTON | release BUTTON | wheel N]");
}

/* "10G", "512M", "4096": bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	case 'T': case 't':
		shift = 40;
		break;
	default:
		return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int cmd_vhd(int argc, char **argv, int i)
{
	char err[256];
	struct tail t;
	int rc;

	if ((rc = parse_tail(argc, argv, i, &t)))
		return rc;
	if (t.npos >= 1 && !strcmp(t.pos[0], "create")) {
		uint64_t size, bs = 0, real;
		enum vhd_type type = t.fixed ? VHD_TYPE_FIXED : VHD_TYPE_DYNAMIC;

		if (t.npos != 3 || t.lun || t.controller || t.format || t.ro)
			return usage_error("vhd create FILE SIZE [--fixed] [--block-size SIZE]");
		if (parse_size(t.pos[2], &size) || !size)
			return usage_error("vhd create: bad size '%s'", t.pos[2]);
		if (t.block_size && (parse_size(t.block_size, &bs) || bs > UINT32_MAX ||
				     t.fixed))
			return usage_error("vhd create: bad --block-size (dynamic disks only)");
		real = vhd_create_size(size);
		if (!real)
			return usage_error("vhd create: %s is beyond what a VHD holds", t.pos[2]);
		if (vhd_create(t.pos[1], size, type, (uint32_t)bs, err, sizeof(err))) {
			fprintf(stderr, "hvisctl: %s\n", err);
			return EX_FAILED;
		}
		if (G.json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "ok", json_object_new_boolean(true));
			json_object_object_add(o, "path", json_object_new_string(t.pos[1]));
			json_object_object_add(o, "type", json_object_new_string(t.fixed ? "fixed" : "dynamic"));
			json_object_object_add(o, "size", json_object_new_uint64(real));
			print_json(o);
			json_object_put(o);
		} else {
			printf("%s: %s VHD of %llu bytes%s\n", t.pos[1],
			       t.fixed ? "fixed" : "dynamic", (unsigned long long)real,
			       real != size ? " (rounded up to the disk geometry)" : "");
		}
		return EX_OK;
	}
	if (t.npos >= 1 && !strcmp(t.pos[0], "info")) {
		const struct vhd_info *vi;
		struct vhd *v;
		int fd;

		if (t.npos != 2 || t.lun || t.controller || t.format || t.ro || t.fixed)
			return usage_error("vhd info FILE");
		fd = open(t.pos[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "hvisctl: %s: %s\n", t.pos[1], strerror(errno));
			return EX_FAILED;
		}
		if (vhd_open(fd, true, &v, err, sizeof(err))) {
			fprintf(stderr, "hvisctl: %s: %s\n", t.pos[1], err);
			close(fd);
			return EX_FAILED;
		}
		vi = vhd_get_info(v);
		if (G.json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "ok", json_object_new_boolean(true));
			json_object_object_add(o, "type", json_object_new_string(
				vi->type == VHD_TYPE_FIXED ? "fixed" : "dynamic"));
			json_object_object_add(o, "size", json_object_new_uint64(vi->size));
			json_object_object_add(o, "block_size", json_object_new_uint64(vi->block_size));
			json_object_object_add(o, "creator", json_object_new_string(vi->creator_app));
			print_json(o);
			json_object_put(o);
		} else {
			printf("%s: %s VHD, %llu bytes, block size %u, created by '%s'\n",
			       t.pos[1], vi->type == VHD_TYPE_FIXED ? "fixed" : "dynamic",
			       (unsigned long long)vi->size, vi->block_size,
			       vi->creator_app);
		}
		vhd_close(v);
		close(fd);
		return EX_OK;
	}
	return usage_error("vhd create FILE SIZE [--fixed] | vhd info FILE");
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_list(int argc, char **argv, int i)
{
	struct table tb = { .ncols = 5 };
	json_object *all = json_object_new_array();
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct tail t;
	DIR *dir;
	int rc, shown = 0;

	if ((rc = parse_tail(argc, argv, i, &t)) ||
	    (rc = only_opts("list", &t, false, false)) || (rc = tail_timeout(&t))) {
		json_object_put(all);
		return rc;
	}
	if (t.npos) {
		json_object_put(all);
		return usage_error("list takes no arguments");
	}
	dir = opendir(G.run_dir);
	if (!dir) {
		json_object_put(all);
		if (errno == ENOENT) {
			if (G.json)
				printf("[]\n");
			return EX_OK;
		}
		fprintf(stderr, "hvisctl: %s: %s\n", G.run_dir, strerror(errno));
		return EX_CONNECT;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!valid_name(de->d_name))
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? cap * 2 : 16) *
					   sizeof(*p));

			if (!p)
				break;
			names = p;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	table_row(&tb, "NAME", "ATTACHED", "VMBUS", "CHANNELS", "HEARTBEAT");
	for (size_t k = 0; k < n; k++) {
		json_object *st = NULL, *hb = NULL, *chans, *o;
		long tmo = timeout_for(LIST_TIMEOUT_S);
		unsigned int open = 0, offered = 0;
		char ch[32];
		struct conn c;
		json_object *r1 = new_req("status"), *r2 = new_req("heartbeat");
		bool sent = !conn_open(&c, names[k], true) &&
			    !conn_send(&c, r1, true) && !conn_send(&c, r2, true);

		json_object_put(r1);
		json_object_put(r2);
		if (sent && (st = conn_recv(&c, tmo, true)) != NULL)
			hb = conn_recv(&c, tmo, true);
		conn_close(&c);
		if (!st || !jbool(st, "ok")) {
			json_object_put(st);
			json_object_put(hb);
			continue;
		}
		chans = jget(st, "channels");
		for (size_t j = 0; chans && j < json_object_array_length(chans); j++) {
			const char *s = jstr(json_object_array_get_idx(chans, j),
					     "state", "");

			open += !strcmp(s, "open");
			offered += !strcmp(s, "open") || !strcmp(s, "offered");
		}
		snprintf(ch, sizeof(ch), "%u/%u", open, offered);
		table_row(&tb, names[k], jbool(st, "attached") ? "yes" : "no",
			  jstr(jget(st, "vmbus"), "version", "-"),
			  jbool(st, "attached") ? ch : "-",
			  jbool(hb, "ok") ? jstr(hb, "health", "?") : "-");
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(names[k]));
		json_object_object_add(o, "status", st);
		json_object_object_add(o, "heartbeat", hb);
		json_object_array_add(all, o);
		shown++;
	}
	if (G.json) {
		print_json(all);
		table_free(&tb);
	} else if (shown) {
		table_print(&tb);
	} else {
		table_free(&tb);
		fprintf(stderr, "hvisctl: no VM service answers in %s\n", G.run_dir);
	}
	json_object_put(all);
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	return EX_OK;
}

/* ------------------------------------------------------------ start */

static volatile sig_atomic_t stop_signal;
static volatile pid_t run_pid;

static void on_stop(int sig)
{
	pid_t p = run_pid;

	stop_signal = sig;
	if (p > 0)
		kill(p, sig);
}

/* The directory of this binary, for its sibling programs. */
static void self_dir(char *buf, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", buf, n - 1);
	char *slash;

	if (len <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[len] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	else
		buf[0] = '\0';
}

/* @prog beside hvisctl if it is there, else the bare name (PATH). */
static void find_prog(const char *prog, char *out, size_t n)
{
	char dir[PATH_MAX];

	self_dir(dir, sizeof(dir));
	if (dir[0] && (size_t)snprintf(out, n, "%s/%s", dir, prog) < n &&
	    access(out, X_OK) == 0)
		return;
	snprintf(out, n, "%s", prog);
}

static pid_t spawn(char *const argv[], bool own_group, bool null_stdin)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (own_group)
		setpgid(0, 0);	/* the terminal's Ctrl-C is for the VM */
	if (null_stdin) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0 && fd != STDIN_FILENO) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
	}
	if (strchr(argv[0], '/'))
		execv(argv[0], argv);
	else
		execvp(argv[0], argv);
	fprintf(stderr, "hvisctl: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EX_FAILED;
}

/*
 * Wait until the service is ready for hvis-run: RUN_DIR/NAME/attach.sock
 * exists and control.sock accepts (hvis-vspd opens it once attach.sock
 * listens). An empty connection to attach.sock itself would be logged as
 * a failed attach. 0, -1 time out or stopped, -2 the service exited.
 */
static int wait_ready(const char *attach, const char *control, pid_t vspd,
		      const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = now_ms() + ATTACH_WAIT_MS;

	if (strlen(control) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, control, strlen(control) + 1);
	for (;;) {
		struct stat st;
		int fd, status, ok = 0;

		if (lstat(attach, &st) == 0 && S_ISSOCK(st.st_mode)) {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			ok = fd >= 0 &&
			     connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
			if (fd >= 0)
				close(fd);
		}
		if (ok)
			return 0;
		if (waitpid(vspd, &status, WNOHANG) == vspd) {
			fprintf(stderr, "hvisctl: %s: hvis-vspd exited (status %d)\n",
				name, exit_code(status));
			return -2;
		}
		if (stop_signal || now_ms() >= deadline) {
			fprintf(stderr, "hvisctl: %s: hvis-vspd is not ready%s\n",
				name, stop_signal ? "" : " after 10 s");
			return -1;
		}
		usleep(50000);
	}
}

static void stop_vspd(pid_t vspd)
{
	uint64_t deadline = now_ms() + 10000;
	int st;

	kill(vspd, SIGTERM);
	while (waitpid(vspd, &st, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			kill(vspd, SIGKILL);
			waitpid(vspd, &st, 0);
			return;
		}
		usleep(20000);
	}
}

static int cmd_start(int argc, char **argv, int i)
{
	char vspd_path[PATH_MAX], run_path[PATH_MAX], attach[PATH_MAX];
	char control[PATH_MAX];
	char name[NAME_MAX_LEN + 1];
	struct sigaction sa;
	json_object *cfg, *v = NULL;
	const char *config;
	struct tail t;
	pid_t vspd;
	bool vspd_alive = true;
	int rc, status = EX_FAILED;

	if ((rc = parse_tail(argc, argv, i, &t)) ||
	    (rc = only_opts("start", &t, false, false)))
		return rc;
	if (t.npos != 1 || t.timeout)
		return usage_error("start CONFIG.json [--run-dir DIR]");
	config = t.pos[0];
	cfg = json_object_from_file(config);
	if (!cfg || !json_object_is_type(cfg, json_type_object)) {
		fprintf(stderr, "hvisctl: %s: %s\n", config,
			cfg ? "not a JSON object" : json_util_get_last_err());
		json_object_put(cfg);
		return EX_USAGE;
	}
	if (json_object_object_get_ex(cfg, "name", &v) && v) {
		if (!json_object_is_type(v, json_type_string) ||
		    strlen(json_object_get_string(v)) > NAME_MAX_LEN) {
			json_object_put(cfg);
			return usage_error("%s: \"name\" must be a string of at most %d characters",
					   config, NAME_MAX_LEN);
		}
		snprintf(name, sizeof(name), "%s", json_object_get_string(v));
	} else {
		const char *base = strrchr(config, '/');
		size_t n;

		base = base ? base + 1 : config;
		n = strlen(base);
		if (n > 5 && !strcmp(base + n - 5, ".json"))
			n -= 5;
		if (n > NAME_MAX_LEN) {
			json_object_put(cfg);
			return usage_error("%s: name too long", config);
		}
		memcpy(name, base, n);
		name[n] = '\0';
	}
	json_object_put(cfg);
	if (!valid_name(name))
		return usage_error("bad VM name '%s'", name);
	if ((size_t)snprintf(attach, sizeof(attach), "%s/%s/attach.sock",
			     G.run_dir, name) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return usage_error("run directory path too long");
	snprintf(control, sizeof(control), "%s/%s/control.sock", G.run_dir, name);
	if (mkdir(G.run_dir, 0755) < 0 && errno != EEXIST)
		fprintf(stderr, "hvisctl: %s: %s\n", G.run_dir, strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	find_prog("hvis-vspd", vspd_path, sizeof(vspd_path));
	find_prog("hvis-run", run_path, sizeof(run_path));
	{
		char *vargv[] = { vspd_path, "--name", name, "--run-dir",
				  (char *)G.run_dir, "--config", (char *)config,
				  NULL };

		vspd = spawn(vargv, true, true);
	}
	if (vspd < 0) {
		fprintf(stderr, "hvisctl: fork: %s\n", strerror(errno));
		return EX_FAILED;
	}
	rc = wait_ready(attach, control, vspd, name);
	if (rc) {
		if (rc != -2)
			stop_vspd(vspd);
		return rc == -1 && !stop_signal ? EX_CONNECT : EX_FAILED;
	}

	while (!stop_signal) {
		char *rargv[] = { run_path, "--config", (char *)config, "--name",
				  name, "--vsp", attach, NULL };
		pid_t pid = spawn(rargv, false, false);
		int st = -1;

		if (pid < 0) {
			fprintf(stderr, "hvisctl: fork: %s\n", strerror(errno));
			break;
		}
		run_pid = pid;
		if (stop_signal)	/* it came before run_pid was set */
			kill(pid, stop_signal);
		for (;;) {
			pid_t w = waitpid(-1, &st, 0);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				break;
			if (w == vspd) {
				fprintf(stderr, "hvisctl: %s: hvis-vspd exited (status %d) while the VM runs\n",
					name, exit_code(st));
				vspd_alive = false;
				continue;
			}
			if (w == pid)
				break;
		}
		run_pid = 0;
		status = st == -1 ? EX_FAILED : exit_code(st);
		if (status != 3 || stop_signal)
			break;
		fprintf(stderr, "hvisctl: %s: the guest rebooted, restarting hvis-run\n",
			name);
	}
	if (vspd_alive)
		stop_vspd(vspd);
	return status;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *env = getenv("HVIS_RUN_DIR");
	int c;

	G.run_dir = env && *env ? env : DEFAULT_RUN_DIR;
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "+r:jt:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			G.run_dir = optarg;
			break;
		case 'j':
			G.json = true;
			break;
		case 't':
			if (parse_secs(optarg, 10000000, &G.timeout))
				return usage_error("bad --timeout '%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[optind++];
	if (!strcmp(cmd, "list"))
		return cmd_list(argc, argv, optind);
	if (!strcmp(cmd, "status"))
		return cmd_simple(cmd, "status", argc, argv, optind, show_status);
	if (!strcmp(cmd, "heartbeat"))
		return cmd_simple(cmd, "heartbeat", argc, argv, optind,
				  show_heartbeat);
	if (!strcmp(cmd, "events"))
		return cmd_simple(cmd, "events", argc, argv, optind, show_events);
	if (!strcmp(cmd, "shutdown") || !strcmp(cmd, "reboot"))
		return cmd_shutdown(!strcmp(cmd, "reboot"), argc, argv, optind);
	if (!strcmp(cmd, "kvp"))
		return cmd_kvp(argc, argv, optind);
	if (!strcmp(cmd, "vss"))
		return cmd_vss(argc, argv, optind);
	if (!strcmp(cmd, "time"))
		return cmd_time(argc, argv, optind);
	if (!strcmp(cmd, "start"))
		return cmd_start(argc, argv, optind);
	if (!strcmp(cmd, "disk"))
		return cmd_disk(argc, argv, optind);
	if (!strcmp(cmd, "mouse"))
		return cmd_mouse(argc, argv, optind);
	if (!strcmp(cmd, "link"))
		return cmd_link(argc, argv, optind);
	if (!strcmp(cmd, "vhd"))
		return cmd_vhd(argc, argv, optind);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return EX_OK;
	}
	return usage_error("unknown command '%s'", cmd);
}
