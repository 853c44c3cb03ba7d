// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-vspd's network adapters (nic.h): TAP devices, the "nics" member
 * of the configuration file, --nic specs, and the glue between a TAP's
 * file descriptor on the loop and its netvsp.
 *
 * Receive backpressure: a frame read from the TAP that the guest has no
 * room for (netvsp_rx -EAGAIN) is held, and the TAP leaves the loop's
 * read set until netvsp calls rx_ready; the kernel's TAP queue holds the
 * rest (and drops beyond its txqueuelen, as a switch port would).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <json-c/json.h>

#include "nic.h"
#include "host-vsp/vspd/vspd.h"

/* Frames read per loop turn and NIC before the others get their go. */
#define RX_BATCH	64u
#define FRAME_MAX	65536u

struct nic {
	struct vspd_net *s;
	unsigned int index;
	char tap[IFNAMSIZ];
	char name[16];			/* "net0" */
	int fd;
	bool reading;			/* EPOLLIN in the loop's set */
	struct netvsp *nv;
	uint8_t *frame;			/* FRAME_MAX */
	uint32_t held;			/* bytes of a held frame, 0 = none */
	uint64_t tap_errors;
};

struct vspd_net {
	struct vspd *d;
	struct nic *nics[VSPD_MAX_NICS];
	unsigned int count;
	struct vmbus_server *srv;
	uint32_t nvps;
};

/* ------------------------------------------------------------ glue */
static void *n_guest_page(void *opaque, uint64_t pfn)
{
	struct nic *c = opaque;

	return vspd_partition_guest_page(c->s->d, pfn);
}

static int n_tx(void *opaque, const uint8_t *frame, uint32_t len)
{
	struct nic *c = opaque;
	ssize_t w = write(c->fd, frame, len);

	if (w == (ssize_t)len)
		return 0;
	c->tap_errors++;
	return w < 0 ? -errno : -EIO;
}

static void n_log(void *opaque, enum vmbus_log_level lvl, const char *msg)
{
	struct nic *c = opaque;
	struct vspd *d = c->s->d;

	if (lvl == VMBUS_LOG_DEBUG && !d->verbose)
		return;
	vspd_log(d, "%s", msg);
}

static void set_reading(struct nic *c, bool on)
{
	if (c->reading == on)
		return;
	if (!loop_mod(c->s->d->loop, c->fd, on ? EPOLLIN : 0))
		c->reading = on;
}

/* Offer the held frame, then read more; stop reading when the guest is full. */
static void pump(struct nic *c)
{
	for (unsigned int i = 0; i < RX_BATCH; i++) {
		ssize_t r;

		if (!c->held) {
			r = read(c->fd, c->frame, FRAME_MAX);
			if (r <= 0) {
				if (r < 0 && errno != EAGAIN && errno != EINTR)
					c->tap_errors++;
				return;
			}
			c->held = (uint32_t)r;
		}
		if (netvsp_rx(c->nv, c->frame, c->held) == -EAGAIN) {
			set_reading(c, false);
			return;
		}
		c->held = 0;
	}
}

static void n_rx_ready(void *opaque)
{
	struct nic *c = opaque;

	set_reading(c, true);
	pump(c);
}

static void tap_ready(void *opaque, uint32_t events)
{
	(void)events;
	pump(opaque);
}

/* ------------------------------------------------------------ config */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	/* a unicast address; all zeros is no address */
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -1;
	return 0;
}

/* Stable per VM name and NIC: Hyper-V's OUI 00:15:5d, then a hash. */
static void default_mac(const char *vm, unsigned int idx, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)vm; *p; p++)
		h = (h ^ *p) * 16777619u;
	h = (h ^ idx) * 16777619u;
	mac[0] = 0x00;
	mac[1] = 0x15;
	mac[2] = 0x5d;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)(h + idx);
}

static void instance_guid(const char *vm, unsigned int idx, struct hvis_guid *g)
{
	uint64_t h1 = 0x84222325cbf29ce4ull, h2 = 0x7f4a7c159e3779b9ull;

	for (const unsigned char *p = (const unsigned char *)vm; *p; p++) {
		h1 = (h1 ^ *p) * 0x100000001b3ull;
		h2 = (h2 ^ *p) * 0xc4ceb9fe1a85ec53ull;
	}
	h1 ^= 0x6e6574ull << 8 | idx;		/* "net" */
	h2 = (h2 ^ (h2 >> 29)) * 0xff51afd7ed558ccdull;
	memcpy(g->g_bytes, &h1, 8);
	memcpy(g->g_bytes + 8, &h2, 8);
	g->g_bytes[7] = (uint8_t)((g->g_bytes[7] & 0x0F) | 0x80);
	g->g_bytes[8] = (uint8_t)((g->g_bytes[8] & 0x3F) | 0x80);
	g->g_bytes[15] = (uint8_t)idx;
}

static int tap_open(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "TAP %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int nic_add(struct vspd_net *s, const char *tap, const uint8_t *mac,
		   uint32_t mtu, uint32_t queues, char *err, size_t errlen)
{
	struct netvsp_host_ops ops = {
		.guest_page = n_guest_page, .tx = n_tx, .rx_ready = n_rx_ready,
		.log = n_log,
	};
	struct netvsp_cfg cfg = { .mtu = mtu, .queues = queues };
	struct nic *c;

	if (s->count == VSPD_MAX_NICS) {
		snprintf(err, errlen, "at most %u NICs", VSPD_MAX_NICS);
		return -ENOSPC;
	}
	if (!*tap || strlen(tap) >= IFNAMSIZ || strchr(tap, '/')) {
		snprintf(err, errlen, "bad TAP name \"%s\"", tap);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < s->count; i++)
		if (!strcmp(s->nics[i]->tap, tap)) {
			snprintf(err, errlen, "TAP %s is used twice", tap);
			return -EEXIST;
		}
	if (mtu && (mtu < RNDIS_MTU_MIN || mtu > RNDIS_MTU_MAX)) {
		snprintf(err, errlen, "NIC %s: mtu must be %u..%u", tap,
			 RNDIS_MTU_MIN, RNDIS_MTU_MAX);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->frame = malloc(FRAME_MAX))) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->s = s;
	c->index = s->count;
	snprintf(c->tap, sizeof(c->tap), "%s", tap);
	snprintf(c->name, sizeof(c->name), "net%u", c->index);
	c->fd = tap_open(tap, err, errlen);
	if (c->fd < 0) {
		free(c->frame);
		free(c);
		return -EIO;
	}
	if (mac)
		memcpy(cfg.mac, mac, 6);
	else
		default_mac(s->d->name, c->index, cfg.mac);
	if (!cfg.mtu)
		cfg.mtu = RNDIS_MTU_MAX;
	instance_guid(s->d->name, c->index, &cfg.instance);
	cfg.name = c->name;
	ops.opaque = c;
	c->nv = netvsp_create(&cfg, &ops);
	if (!c->nv || loop_add(s->d->loop, c->fd, EPOLLIN, tap_ready, c)) {
		netvsp_destroy(c->nv);
		close(c->fd);
		free(c->frame);
		free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->reading = true;
	s->nics[s->count++] = c;
	vspd_log(s->d, "%s: TAP %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU up to %u",
		 c->name, c->tap, cfg.mac[0], cfg.mac[1], cfg.mac[2], cfg.mac[3],
		 cfg.mac[4], cfg.mac[5], cfg.mtu);
	if (s->srv && netvsp_attach(c->nv, s->srv, s->nvps))
		vspd_log(s->d, "%s: cannot offer the new NIC", c->name);
	return 0;
}

static int parse_uint(const char *v, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long n;

	if (!*v)
		return -1;
	n = strtoul(v, &end, 10);
	if (*end || n > max)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

int vspd_net_add_spec(struct vspd_net *s, const char *spec, char *err,
		      size_t errlen)
{
	char *dup = strdup(spec), *save = NULL, *tok;
	const char *tap = NULL;
	uint8_t mac[6];
	bool have_mac = false;
	uint32_t mtu = 0, queues = 0;
	int rc = -EINVAL;

	if (!dup) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : NULL;

		if (eq)
			*eq = '\0';
		if (!strcmp(tok, "tap") && v) {
			tap = v;
		} else if (!strcmp(tok, "mac") && v && !parse_mac(v, mac)) {
			have_mac = true;
		} else if (!strcmp(tok, "mtu") && v && !parse_uint(v, RNDIS_MTU_MAX, &mtu)) {
		} else if (!strcmp(tok, "queues") && v &&
			   !parse_uint(v, NETVSP_MAX_QUEUES, &queues) && queues) {
		} else {
			snprintf(err, errlen, "NIC spec \"%s\": bad item \"%s\"", spec, tok);
			goto out;
		}
	}
	if (!tap) {
		snprintf(err, errlen, "NIC spec \"%s\": no tap=NAME", spec);
		goto out;
	}
	rc = nic_add(s, tap, have_mac ? mac : NULL, mtu, queues, err, errlen);
out:
	free(dup);
	return rc;
}

int vspd_net_load(struct vspd_net *s, const char *path, char *err,
		  size_t errlen)
{
	json_object *root = json_object_from_file(path), *nics;
	int rc = 0;

	if (!root) {
		snprintf(err, errlen, "%s: %s", path, json_util_get_last_err());
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "nics", &nics))
		goto out;
	if (!json_object_is_type(nics, json_type_array) ||
	    json_object_array_length(nics) > VSPD_MAX_NICS) {
		snprintf(err, errlen, "%s: \"nics\" must be an array of at most %u NICs",
			 path, VSPD_MAX_NICS);
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(nics) && !rc; i++) {
		json_object *o = json_object_array_get_idx(nics, i);
		const char *tap = NULL;
		uint8_t mac[6];
		bool have_mac = false;
		uint32_t mtu = 0, queues = 0;

		if (!json_object_is_type(o, json_type_object)) {
			snprintf(err, errlen, "%s: nics[%zu] is not an object", path, i);
			rc = -EINVAL;
			break;
		}
		json_object_object_foreach(o, key, val) {
			if (!strcmp(key, "tap") && json_object_is_type(val, json_type_string)) {
				tap = json_object_get_string(val);
			} else if (!strcmp(key, "mac") &&
				   json_object_is_type(val, json_type_string) &&
				   !parse_mac(json_object_get_string(val), mac)) {
				have_mac = true;
			} else if (!strcmp(key, "mtu") && json_object_is_type(val, json_type_int) &&
				   json_object_get_int64(val) >= RNDIS_MTU_MIN &&
				   json_object_get_int64(val) <= RNDIS_MTU_MAX) {
				mtu = (uint32_t)json_object_get_int64(val);
			} else if (!strcmp(key, "queues") && json_object_is_type(val, json_type_int) &&
				   json_object_get_int64(val) >= 1 &&
				   json_object_get_int64(val) <= NETVSP_MAX_QUEUES) {
				queues = (uint32_t)json_object_get_int64(val);
			} else {
				snprintf(err, errlen, "%s: nics[%zu]: bad \"%s\" (tap: a name, mac: \"xx:xx:xx:xx:xx:xx\" unicast, mtu: %u..%u, queues: 1..%u)",
					 path, i, key, RNDIS_MTU_MIN, RNDIS_MTU_MAX, NETVSP_MAX_QUEUES);
				rc = -EINVAL;
				break;
			}
		}
		if (rc)
			break;
		if (!tap) {
			snprintf(err, errlen, "%s: nics[%zu]: \"tap\" is required", path, i);
			rc = -EINVAL;
			break;
		}
		rc = nic_add(s, tap, have_mac ? mac : NULL, mtu, queues, err, errlen);
	}
out:
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------ lifetime */
struct vspd_net *vspd_net_create(struct vspd *d)
{
	struct vspd_net *s = calloc(1, sizeof(*s));

	if (s)
		s->d = d;
	return s;
}

void vspd_net_destroy(struct vspd_net *s)
{
	if (!s)
		return;
	vspd_net_detach(s);
	for (unsigned int i = 0; i < s->count; i++) {
		struct nic *c = s->nics[i];

		netvsp_destroy(c->nv);
		loop_del(s->d->loop, c->fd);
		close(c->fd);
		free(c->frame);
		free(c);
	}
	free(s);
}

unsigned int vspd_net_count(const struct vspd_net *s)
{
	return s ? s->count : 0;
}

int vspd_net_attach(struct vspd_net *s, struct vmbus_server *srv, uint32_t nvps)
{
	s->srv = srv;
	s->nvps = nvps;
	for (unsigned int i = 0; i < s->count; i++)
		if (netvsp_attach(s->nics[i]->nv, srv, nvps))
			return -ENOMEM;
	return 0;
}

void vspd_net_detach(struct vspd_net *s)
{
	if (!s || !s->srv)
		return;
	for (unsigned int i = 0; i < s->count; i++)
		netvsp_detach(s->nics[i]->nv);
	s->srv = NULL;
}

int vspd_net_set_link(struct vspd_net *s, const char *nic, bool up,
		      char *err, size_t errlen)
{
	unsigned int hit = 0;

	for (unsigned int i = 0; s && i < s->count; i++) {
		struct nic *c = s->nics[i];

		if (nic && strcmp(nic, c->tap) && strcmp(nic, c->name))
			continue;
		netvsp_set_link(c->nv, up);
		hit++;
	}
	if (!hit) {
		snprintf(err, errlen, nic ? "no NIC named \"%s\"" : "this VM has no NIC%s",
			 nic ? nic : "");
		return -ENOENT;
	}
	return 0;
}

static json_object *ju64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

struct json_object *vspd_net_json(const struct vspd_net *s)
{
	json_object *arr = json_object_new_array();

	for (unsigned int i = 0; s && i < s->count; i++) {
		const struct nic *c = s->nics[i];
		const uint8_t *m = netvsp_mac(c->nv);
		json_object *o = json_object_new_object();
		struct netvsp_info in;
		struct netvsp_stats st;
		char mac[18];

		netvsp_get_info(c->nv, &in);
		netvsp_get_stats(c->nv, &st);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "tap", json_object_new_string(c->tap));
		json_object_object_add(o, "mac", json_object_new_string(mac));
		json_object_object_add(o, "state",
				       json_object_new_string(netvsp_state_name(in.state)));
		json_object_object_add(o, "link", json_object_new_string(in.link_up ? "up" : "down"));
		json_object_object_add(o, "channels", ju64(in.channels));
		json_object_object_add(o, "completions_waiting", ju64(in.completions_waiting));
		json_object_object_add(o, "control_waiting", ju64(in.control_waiting));
		json_object_object_add(o, "rx_blocked", json_object_new_boolean(in.rx_blocked));
		json_object_object_add(o, "in_ring_bytes", ju64(in.in_ring_bytes));
		json_object_object_add(o, "out_ring_free", ju64(in.out_ring_free));
		json_object_object_add(o, "nvsp_version", ju64(in.nvsp_version));
		json_object_object_add(o, "ndis_version", ju64(in.ndis_version));
		json_object_object_add(o, "guest_mtu", ju64(in.guest_mtu));
		json_object_object_add(o, "recv_sections", ju64(in.recv_sections));
		json_object_object_add(o, "recv_section_size", ju64(in.recv_section_size));
		json_object_object_add(o, "recv_free", ju64(in.recv_free));
		json_object_object_add(o, "send_sections", ju64(in.send_sections));
		json_object_object_add(o, "packet_filter", ju64(in.packet_filter));
		json_object_object_add(o, "rx_frames", ju64(st.rx_frames));
		json_object_object_add(o, "rx_bytes", ju64(st.rx_bytes));
		json_object_object_add(o, "rx_dropped", ju64(st.rx_dropped));
		json_object_object_add(o, "rx_busy", ju64(st.rx_busy));
		json_object_object_add(o, "tx_frames", ju64(st.tx_frames));
		json_object_object_add(o, "tx_bytes", ju64(st.tx_bytes));
		json_object_object_add(o, "tx_dropped", ju64(st.tx_dropped));
		json_object_object_add(o, "bad_packets", ju64(st.bad_packets));
		json_object_object_add(o, "control", ju64(st.control));
		json_object_object_add(o, "link_changes", ju64(st.link_changes));
		json_object_object_add(o, "tap_errors", ju64(c->tap_errors));
		json_object_array_add(arr, o);
	}
	return arr;
}
