// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-vspd's storage (storage.h): controllers, disk specs and the
 * configuration file's "scsi" member, and the aio engine on the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <json-c/json.h>

#include "storage.h"
#include "vspd.h"

struct vspd_storage {
	struct vspd *d;
	struct aio *aio;
	struct storvsp *ctrl[VSPD_MAX_SCSI];
	struct vmbus_server *srv;	/* attached partition's, or NULL */
	uint32_t nvps;
};

static void *guest_page(void *opaque, uint64_t pfn)
{
	return vspd_partition_guest_page(opaque, pfn);
}

static void st_log(void *opaque, enum vmbus_log_level lvl, const char *msg)
{
	struct vspd *d = opaque;

	if (lvl == VMBUS_LOG_DEBUG && !d->verbose)
		return;
	vspd_log(d, "%s", msg);
}

static void aio_ready(void *opaque, uint32_t events)
{
	struct vspd_storage *s = opaque;

	(void)events;
	aio_poll(s->aio);
}

struct vspd_storage *vspd_storage_create(struct vspd *d, enum aio_engine engine)
{
	struct vspd_storage *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->d = d;
	s->aio = aio_create(engine, 1024);
	if (!s->aio || loop_add(d->loop, aio_fd(s->aio), EPOLLIN, aio_ready, s)) {
		aio_destroy(s->aio);
		free(s);
		return NULL;
	}
	return s;
}

void vspd_storage_destroy(struct vspd_storage *s)
{
	if (!s)
		return;
	vspd_storage_detach(s);
	for (unsigned int i = 0; i < VSPD_MAX_SCSI; i++)
		storvsp_destroy(s->ctrl[i]);
	loop_del(s->d->loop, aio_fd(s->aio));
	aio_destroy(s->aio);
	free(s);
}

/*
 * A controller's instance GUID: stable for a VM name and controller
 * number, so the guest sees the same controller (and udev the same
 * paths) every boot.
 */
static void instance_guid(const char *name, unsigned int idx,
			  struct hvis_guid *g)
{
	uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x9e3779b97f4a7c15ull;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		h1 = (h1 ^ *c) * 0x100000001b3ull;
		h2 = (h2 ^ *c) * 0xff51afd7ed558ccdull;
	}
	h1 ^= idx;
	h2 = (h2 ^ (h2 >> 33)) * 0xc4ceb9fe1a85ec53ull;
	memcpy(g->g_bytes, &h1, 8);
	memcpy(g->g_bytes + 8, &h2, 8);
	g->g_bytes[7] = (uint8_t)((g->g_bytes[7] & 0x0F) | 0x80);	/* version 8 */
	g->g_bytes[8] = (uint8_t)((g->g_bytes[8] & 0x3F) | 0x80);
	g->g_bytes[15] = (uint8_t)idx;
}

static struct storvsp *get_ctrl(struct vspd_storage *s, unsigned int i,
				char *err, size_t errlen)
{
	struct storvsp_host_ops ops = {
		.opaque = s->d, .guest_page = guest_page, .log = st_log,
	};
	struct hvis_guid inst;

	if (i >= VSPD_MAX_SCSI) {
		snprintf(err, errlen, "controller %u out of range (0..%u)", i,
			 VSPD_MAX_SCSI - 1);
		return NULL;
	}
	if (s->ctrl[i])
		return s->ctrl[i];
	instance_guid(s->d->name, i, &inst);
	s->ctrl[i] = storvsp_create(i, &inst, s->aio, NULL, &ops);
	if (!s->ctrl[i]) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (s->srv && storvsp_attach(s->ctrl[i], s->srv, s->nvps))
		vspd_log(s->d, "scsi%u: cannot offer the new controller", i);
	return s->ctrl[i];
}

int vspd_storage_add(struct vspd_storage *s, unsigned int ctrl,
		     const struct storvsp_disk_cfg *cfg, char *err, size_t errlen)
{
	struct storvsp *c = get_ctrl(s, ctrl, err, errlen);

	if (!c)
		return -EINVAL;
	return storvsp_add_disk(c, cfg, err, errlen);
}

int vspd_storage_remove(struct vspd_storage *s, unsigned int ctrl,
			unsigned int lun, char *err, size_t errlen)
{
	if (ctrl >= VSPD_MAX_SCSI || !s->ctrl[ctrl] ||
	    storvsp_remove_disk(s->ctrl[ctrl], lun)) {
		snprintf(err, errlen, "no disk at controller %u LUN %u", ctrl, lun);
		return -ENOENT;
	}
	return 0;
}

/* The next free LUN of a controller. */
static int free_lun(struct vspd_storage *s, unsigned int ctrl)
{
	struct storvsp_disk_info info[HVIS_VSTOR_MAX_LUNS];
	bool used[HVIS_VSTOR_MAX_LUNS] = { false };
	unsigned int n;

	if (ctrl >= VSPD_MAX_SCSI || !s->ctrl[ctrl])
		return 0;
	n = storvsp_disks(s->ctrl[ctrl], info, HVIS_VSTOR_MAX_LUNS);
	for (unsigned int i = 0; i < n && i < HVIS_VSTOR_MAX_LUNS; i++)
		used[info[i].lun] = true;
	for (unsigned int i = 0; i < HVIS_VSTOR_MAX_LUNS; i++)
		if (!used[i])
			return (int)i;
	return -1;
}

static int parse_format(const char *v, enum img_format *f)
{
	if (!strcmp(v, "auto"))
		*f = IMG_FORMAT_AUTO;
	else if (!strcmp(v, "raw"))
		*f = IMG_FORMAT_RAW;
	else if (!strcmp(v, "vhd") || !strcmp(v, "vpc"))
		*f = IMG_FORMAT_VHD;
	else
		return -1;
	return 0;
}

static int parse_uint(const char *v, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (!*v || *end || n > max)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

int vspd_storage_add_spec(struct vspd_storage *s, const char *spec,
			  char *err, size_t errlen)
{
	struct storvsp_disk_cfg cfg = { .format = IMG_FORMAT_AUTO };
	char *dup = strdup(spec), *save = NULL, *tok;
	unsigned int ctrl = 0;
	bool have_lun = false;
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
		if (!cfg.path && !eq) {
			cfg.path = tok;
		} else if (!strcmp(tok, "path") && v) {
			cfg.path = v;
		} else if (!strcmp(tok, "lun") && v &&
			   !parse_uint(v, HVIS_VSTOR_MAX_LUNS - 1, &cfg.lun)) {
			have_lun = true;
		} else if (!strcmp(tok, "controller") && v &&
			   !parse_uint(v, VSPD_MAX_SCSI - 1, &ctrl)) {
		} else if (!strcmp(tok, "ro") && !v) {
			cfg.read_only = true;
		} else if (!strcmp(tok, "format") && v && !parse_format(v, &cfg.format)) {
		} else if (!strcmp(tok, "serial") && v && strlen(v) <= 64) {
			cfg.serial = v;
		} else if (!strcmp(tok, "rotational") && !v) {
			cfg.rotational = true;
		} else if (!strcmp(tok, "nounmap") && !v) {
			cfg.no_unmap = true;
		} else {
			snprintf(err, errlen, "disk spec \"%s\": bad item \"%s\"", spec, tok);
			goto out;
		}
	}
	if (!cfg.path) {
		snprintf(err, errlen, "disk spec \"%s\": no path", spec);
		goto out;
	}
	if (!have_lun) {
		int l = free_lun(s, ctrl);

		if (l < 0) {
			snprintf(err, errlen, "controller %u has no free LUN", ctrl);
			goto out;
		}
		cfg.lun = (unsigned int)l;
	}
	rc = vspd_storage_add(s, ctrl, &cfg, err, errlen);
out:
	free(dup);
	return rc;
}

static const char *jstring(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int jbool(json_object *o, const char *key, bool *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

static int load_disk(struct vspd_storage *s, unsigned int ctrl, json_object *o,
		     char *err, size_t errlen)
{
	struct storvsp_disk_cfg cfg = { .format = IMG_FORMAT_AUTO };
	json_object *v;
	const char *f;

	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "scsi[%u].disks[]: not an object", ctrl);
		return -EINVAL;
	}
	json_object_object_foreach(o, key, val) {
		static const char *const known[] = {
			"path", "lun", "read_only", "format", "serial", "vendor",
			"product", "rotational", "unmap",
		};
		bool ok = false;

		(void)val;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= !strcmp(key, known[i]);
		if (!ok) {
			snprintf(err, errlen, "scsi[%u] disk: unknown key \"%s\"", ctrl, key);
			return -EINVAL;
		}
	}
	cfg.path = jstring(o, "path");
	if (!cfg.path) {
		snprintf(err, errlen, "scsi[%u] disk: \"path\" (a string) is required", ctrl);
		return -EINVAL;
	}
	if (json_object_object_get_ex(o, "lun", &v)) {
		int64_t l = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || l < 0 ||
		    l >= HVIS_VSTOR_MAX_LUNS) {
			snprintf(err, errlen, "scsi[%u] disk %s: \"lun\" must be 0..%u",
				 ctrl, cfg.path, HVIS_VSTOR_MAX_LUNS - 1);
			return -EINVAL;
		}
		cfg.lun = (unsigned int)l;
	} else {
		int l = free_lun(s, ctrl);

		if (l < 0) {
			snprintf(err, errlen, "controller %u has no free LUN", ctrl);
			return -ENOSPC;
		}
		cfg.lun = (unsigned int)l;
	}
	f = jstring(o, "format");
	if (f && parse_format(f, &cfg.format)) {
		snprintf(err, errlen, "scsi[%u] disk %s: format must be auto, raw or vhd",
			 ctrl, cfg.path);
		return -EINVAL;
	}
	{
		bool unmap = true;

		if (jbool(o, "read_only", &cfg.read_only) ||
		    jbool(o, "rotational", &cfg.rotational) ||
		    jbool(o, "unmap", &unmap)) {
			snprintf(err, errlen, "scsi[%u] disk %s: read_only, rotational and unmap are true or false",
				 ctrl, cfg.path);
			return -EINVAL;
		}
		cfg.no_unmap = !unmap;
	}
	cfg.serial = jstring(o, "serial");
	cfg.vendor = jstring(o, "vendor");
	cfg.product = jstring(o, "product");
	if ((cfg.serial && strlen(cfg.serial) > 64) ||
	    (cfg.vendor && strlen(cfg.vendor) > 8) ||
	    (cfg.product && strlen(cfg.product) > 16)) {
		snprintf(err, errlen, "scsi[%u] disk %s: serial (64), vendor (8) or product (16) too long",
			 ctrl, cfg.path);
		return -EINVAL;
	}
	return vspd_storage_add(s, ctrl, &cfg, err, errlen);
}

int vspd_storage_load(struct vspd_storage *s, const char *path, char *err,
		      size_t errlen)
{
	json_object *root = json_object_from_file(path), *scsi, *disks;
	int rc = 0;

	if (!root) {
		snprintf(err, errlen, "%s: %s", path, json_util_get_last_err());
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "scsi", &scsi))
		goto out;
	if (!json_object_is_type(scsi, json_type_array) ||
	    json_object_array_length(scsi) > VSPD_MAX_SCSI) {
		snprintf(err, errlen, "%s: \"scsi\" must be an array of at most %u controllers",
			 path, VSPD_MAX_SCSI);
		rc = -EINVAL;
		goto out;
	}
	for (unsigned int i = 0; i < json_object_array_length(scsi) && !rc; i++) {
		json_object *c = json_object_array_get_idx(scsi, i);

		if (!json_object_is_type(c, json_type_object) ||
		    !json_object_object_get_ex(c, "disks", &disks) ||
		    !json_object_is_type(disks, json_type_array)) {
			snprintf(err, errlen, "%s: scsi[%u] must be {\"disks\": [...]}", path, i);
			rc = -EINVAL;
			break;
		}
		if (!get_ctrl(s, i, err, errlen)) {
			rc = -ENOMEM;
			break;
		}
		for (unsigned int k = 0; k < json_object_array_length(disks) && !rc; k++)
			rc = load_disk(s, i, json_object_array_get_idx(disks, k), err, errlen);
	}
out:
	json_object_put(root);
	return rc;
}

unsigned int vspd_storage_count(const struct vspd_storage *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VSPD_MAX_SCSI; i++)
		n += s->ctrl[i] != NULL;
	return n;
}

struct storvsp *vspd_storage_ctrl(const struct vspd_storage *s, unsigned int i)
{
	return i < VSPD_MAX_SCSI ? s->ctrl[i] : NULL;
}

const char *vspd_storage_engine(const struct vspd_storage *s)
{
	return aio_engine_name(s->aio);
}

int vspd_storage_attach(struct vspd_storage *s, struct vmbus_server *srv,
			uint32_t nvps)
{
	s->srv = srv;
	s->nvps = nvps;
	for (unsigned int i = 0; i < VSPD_MAX_SCSI; i++)
		if (s->ctrl[i] && storvsp_attach(s->ctrl[i], srv, nvps))
			return -ENOMEM;
	return 0;
}

void vspd_storage_detach(struct vspd_storage *s)
{
	if (!s->srv)
		return;
	for (unsigned int i = 0; i < VSPD_MAX_SCSI; i++)
		if (s->ctrl[i])
			storvsp_detach(s->ctrl[i]);
	s->srv = NULL;
}
