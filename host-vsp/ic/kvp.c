// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVP exchange IC: host-initiated GET / SET / DELETE / ENUMERATE on the
 * five pools, one transaction at a time (Linux's hv_kvp.c hands each to
 * its daemon and reads nothing else until the daemon answered or 30 s
 * passed), the others queued. Each request is a whole struct hvis_kvp_msg
 * (7430 bytes) with UTF-16LE strings; the guest echoes it with the status
 * in the IC header and, for GET / ENUMERATE, the key and value filled in.
 *
 * A whole-pool enumeration walks index 0, 1, ... until the guest answers
 * a failure status (HVIS_KVP_S_CONT is the normal end) and then replaces
 * the pool's cached entries, which hvisctl reads (e.g. the "auto" pool
 * the Linux daemon fills with the guest's name, OS and addresses).
 *
 * Linux 6.1 quirk: its GET answer copies the value from the wrong offset
 * of the daemon's reply (and the daemon copies value_size 0 bytes), so a
 * GET that finds the key returns S_OK with an empty value. Enumeration is
 * how values are read back from Linux guests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host-vsp/ic/ic_int.h"

static const struct hvis_ic_version kvp_versions[] = {
	{ 4, 0 }, { 3, 0 }, { 1, 0 },
};

struct ic_kvp_req {
	struct ic_kvp_req *next;
	uint64_t serial;
	uint8_t op;
	uint8_t pool;
	bool walk;			/* ic_kvp_enumerate */
	uint32_t index;
	uint32_t value_type;
	uint32_t key_bytes;		/* UTF-16LE, NUL included */
	uint32_t value_bytes;
	uint8_t key[HVIS_KVP_MAX_KEY_SIZE];
	uint8_t value[HVIS_KVP_MAX_VALUE_SIZE];
	ic_kvp_cb cb;
	void *ctx;
};

static void pool_free(struct ic_kvp_pool *p)
{
	for (unsigned int i = 0; i < p->n; i++) {
		free(p->e[i].key);
		free(p->e[i].value);
	}
	free(p->e);
	p->e = NULL;
	p->n = 0;
}

/* ------------------------------------------------------------ sending */

static void kvp_pump(struct ic_dev *ic)
{
	struct ic_kvp_priv *k = &ic->u.kvp;
	struct ic_kvp_req *r = k->head;
	struct hvis_kvp_msg *m = (struct hvis_kvp_msg *)ic->tx;

	if (ic->state != IC_STATE_READY || ic->out.active || !r)
		return;
	memset(m, 0, sizeof(*m));
	m->km_hdr.kh_operation = r->op;
	m->km_hdr.kh_pool = r->pool;
	switch (r->op) {
	case HVIS_KVP_OP_GET:
		m->km_body.km_value.kv_value_type = HVIS_KVP_REG_SZ;
		m->km_body.km_value.kv_key_size = r->key_bytes;
		memcpy(m->km_body.km_value.kv_key, r->key, r->key_bytes);
		break;
	case HVIS_KVP_OP_SET:
		m->km_body.km_value.kv_value_type = r->value_type;
		m->km_body.km_value.kv_key_size = r->key_bytes;
		m->km_body.km_value.kv_value_size = r->value_bytes;
		memcpy(m->km_body.km_value.kv_key, r->key, r->key_bytes);
		memcpy(m->km_body.km_value.kv_value, r->value, r->value_bytes);
		break;
	case HVIS_KVP_OP_DELETE:
		m->km_body.km_delete.kd_key_size = r->key_bytes;
		memcpy(m->km_body.km_delete.kd_key, r->key, r->key_bytes);
		break;
	case HVIS_KVP_OP_ENUMERATE:
		m->km_body.km_enumerate.ke_index = r->index;
		break;
	}
	/* -ENOSPC: retried from the tick or when the guest frees space;
	 * -EIO: the IC failed and the queue was emptied.
	 */
	ic_send_request(ic, HVIS_ICMSG_KVPEXCHANGE, sizeof(*m),
			ic->host->opt.request_timeout, r->serial);
}

/* Unlink the head, report it, free it, send the next. */
static void kvp_complete(struct ic_dev *ic, struct ic_kvp_result *res)
{
	struct ic_kvp_priv *k = &ic->u.kvp;
	struct ic_kvp_req *r = k->head;

	k->head = r->next;
	if (!k->head)
		k->tail = NULL;
	k->nq--;
	if (r->walk)
		pool_free(&k->walk);
	if (res->result != IC_RESULT_OK && res->result != IC_RESULT_CLOSED)
		ic_log(ic, VMBUS_LOG_INFO, "op %u pool %u: %s, status %#x",
		       r->op, r->pool, ic_result_name(res->result),
		       res->status);
	if (r->cb)
		r->cb(r->ctx, ic, res);
	free(r);
	kvp_pump(ic);
}

static void result_init(struct ic_kvp_result *res, const struct ic_kvp_req *r,
			enum ic_result result, uint32_t status)
{
	memset(res, 0, sizeof(*res));
	res->op = (enum hvis_kvp_op)r->op;
	res->pool = r->pool;
	res->index = r->index;
	res->result = result;
	res->status = status;
}

/* ------------------------------------------------------------ answers */

/* The value of @v as UTF-8 in k->value8: 0 or a negative errno. */
static int decode_value(struct ic_dev *ic, const struct hvis_kvp_value *v)
{
	char *out = ic->u.kvp.value8;
	uint32_t v32;
	uint64_t v64;

	switch (v->kv_value_type) {
	case HVIS_KVP_REG_SZ:
		if (v->kv_value_size > sizeof(v->kv_value))
			return -EINVAL;
		return ic_utf16le_to_utf8(v->kv_value, v->kv_value_size, out,
					  IC_KVP_VALUE_UTF8_MAX) < 0 ? -EINVAL : 0;
	case HVIS_KVP_REG_U32:
		if (v->kv_value_size < sizeof(v32))
			return -EINVAL;
		memcpy(&v32, v->kv_value, sizeof(v32));
		snprintf(out, IC_KVP_VALUE_UTF8_MAX, "%" PRIu32, v32);
		return 0;
	case HVIS_KVP_REG_U64:
		if (v->kv_value_size < sizeof(v64))
			return -EINVAL;
		memcpy(&v64, v->kv_value, sizeof(v64));
		snprintf(out, IC_KVP_VALUE_UTF8_MAX, "%" PRIu64, v64);
		return 0;
	}
	return -EINVAL;
}

static int decode_key(struct ic_dev *ic, const uint8_t *key, uint32_t bytes)
{
	if (bytes > HVIS_KVP_MAX_KEY_SIZE)
		return -EINVAL;
	return ic_utf16le_to_utf8(key, bytes, ic->u.kvp.key8,
				  IC_KVP_KEY_UTF8_MAX) < 0 ? -EINVAL : 0;
}

static void walk_commit(struct ic_dev *ic, uint8_t pool)
{
	struct ic_kvp_priv *k = &ic->u.kvp;

	pool_free(&k->pools[pool]);
	k->pools[pool] = k->walk;
	k->pools[pool].updated_at = ic_now(ic);
	memset(&k->walk, 0, sizeof(k->walk));
}

static int walk_add(struct ic_dev *ic)
{
	struct ic_kvp_pool *w = &ic->u.kvp.walk;
	struct ic_kvp_entry *e;
	char *key, *value;

	e = realloc(w->e, (w->n + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	w->e = e;
	key = strdup(ic->u.kvp.key8);
	value = strdup(ic->u.kvp.value8);
	if (!key || !value) {
		free(key);
		free(value);
		return -ENOMEM;
	}
	e[w->n].key = key;
	e[w->n].value = value;
	w->n++;
	return 0;
}

static enum ic_rx kvp_reply(struct ic_dev *ic, const struct ic_txn *txn,
			    const struct hvis_ic_hdr *hdr, const uint8_t *body,
			    uint32_t len)
{
	struct ic_kvp_priv *k = &ic->u.kvp;
	struct ic_kvp_req *r = k->head;
	struct ic_kvp_result res;
	struct hvis_kvp_hdr kh;
	struct hvis_kvp_value v;
	uint32_t status = hdr->ih_status;

	if (!r || r->serial != txn->tag) {
		ic_drop(ic, "KVP answer without a request");
		return IC_RX_DROP;
	}
	if (len < sizeof(kh)) {
		ic_drop(ic, "KVP answer without its header");
		return IC_RX_DROP;
	}
	memcpy(&kh, body, sizeof(kh));
	if (kh.kh_operation != r->op || kh.kh_pool != r->pool) {
		ic_drop(ic, "KVP answer for another operation or pool");
		return IC_RX_DROP;
	}

	if (status != HVIS_IC_S_OK) {
		if (r->walk && status == HVIS_KVP_S_CONT) {
			unsigned int n = k->walk.n;

			walk_commit(ic, r->pool);
			result_init(&res, r, IC_RESULT_OK, status);
			res.entries = n;
		} else {
			result_init(&res, r, IC_RESULT_FAILED, status);
		}
		kvp_complete(ic, &res);
		return IC_RX_TAKEN;
	}

	switch (r->op) {
	case HVIS_KVP_OP_SET:
	case HVIS_KVP_OP_DELETE:
		result_init(&res, r, IC_RESULT_OK, status);
		break;
	case HVIS_KVP_OP_GET:
		if (len < sizeof(kh) + sizeof(v)) {
			ic_drop(ic, "KVP GET answer too short");
			return IC_RX_DROP;
		}
		memcpy(&v, body + sizeof(kh), sizeof(v));
		if (decode_key(ic, r->key, r->key_bytes) ||
		    decode_value(ic, &v)) {
			result_init(&res, r, IC_RESULT_BAD_REPLY, status);
			break;
		}
		result_init(&res, r, IC_RESULT_OK, status);
		res.key = k->key8;
		res.value = k->value8;
		res.value_type = v.kv_value_type;
		break;
	case HVIS_KVP_OP_ENUMERATE: {
		struct hvis_kvp_enumerate e;

		if (len < sizeof(kh) + sizeof(e)) {
			ic_drop(ic, "KVP ENUMERATE answer too short");
			return IC_RX_DROP;
		}
		memcpy(&e, body + sizeof(kh), sizeof(e));
		if (e.ke_index != r->index) {
			ic_drop(ic, "KVP ENUMERATE answer for another index");
			return IC_RX_DROP;
		}
		v = e.ke_data;
		if (decode_key(ic, v.kv_key, v.kv_key_size) ||
		    decode_value(ic, &v)) {
			result_init(&res, r, IC_RESULT_BAD_REPLY, status);
			break;
		}
		if (r->walk) {
			if (walk_add(ic)) {
				ic_log(ic, VMBUS_LOG_ERROR, "out of memory");
				result_init(&res, r, IC_RESULT_FAILED, status);
				break;
			}
			if (k->walk.n < IC_KVP_ENUM_MAX) {
				r->index++;
				kvp_pump(ic);	/* the next index */
				return IC_RX_TAKEN;
			}
			ic_log(ic, VMBUS_LOG_WARN,
			       "pool %u: enumeration stopped at %u entries",
			       r->pool, IC_KVP_ENUM_MAX);
			result_init(&res, r, IC_RESULT_OK, status);
			res.entries = k->walk.n;
			walk_commit(ic, r->pool);
			break;
		}
		result_init(&res, r, IC_RESULT_OK, status);
		res.key = k->key8;
		res.value = k->value8;
		res.value_type = v.kv_value_type;
		break;
	}
	default:
		result_init(&res, r, IC_RESULT_FAILED, status);
		break;
	}
	kvp_complete(ic, &res);
	return IC_RX_TAKEN;
}

static void kvp_timeout(struct ic_dev *ic, const struct ic_txn *txn)
{
	struct ic_kvp_req *r = ic->u.kvp.head;
	struct ic_kvp_result res;

	if (!r || r->serial != txn->tag)
		return;
	result_init(&res, r, IC_RESULT_TIMEOUT, 0);
	kvp_complete(ic, &res);
}

static void kvp_ready(struct ic_dev *ic)
{
	kvp_pump(ic);
}

static uint64_t kvp_tick(struct ic_dev *ic)
{
	kvp_pump(ic);
	return UINT64_MAX;
}

static void kvp_closed(struct ic_dev *ic)
{
	struct ic_kvp_priv *k = &ic->u.kvp;

	/* state is CLOSED / FAILED: callbacks cannot queue more */
	while (k->head) {
		struct ic_kvp_result res;

		result_init(&res, k->head, IC_RESULT_CLOSED, 0);
		kvp_complete(ic, &res);
	}
	pool_free(&k->walk);
}

static unsigned int kvp_queued(const struct ic_dev *ic)
{
	return ic->u.kvp.nq;
}

static int kvp_init(struct ic_dev *ic)
{
	ic->u.kvp.key8 = malloc(IC_KVP_KEY_UTF8_MAX);
	ic->u.kvp.value8 = malloc(IC_KVP_VALUE_UTF8_MAX);
	if (!ic->u.kvp.key8 || !ic->u.kvp.value8) {
		free(ic->u.kvp.key8);
		free(ic->u.kvp.value8);
		return -ENOMEM;
	}
	return 0;
}

static void kvp_fini(struct ic_dev *ic)
{
	struct ic_kvp_priv *k = &ic->u.kvp;

	while (k->head) {
		struct ic_kvp_req *r = k->head;

		k->head = r->next;
		free(r);
	}
	k->tail = NULL;
	k->nq = 0;
	for (unsigned int p = 0; p < HVIS_KVP_POOL_COUNT; p++)
		pool_free(&k->pools[p]);
	pool_free(&k->walk);
	free(k->key8);
	free(k->value8);
}

/* ------------------------------------------------------------ requests */

static struct ic_kvp_req *req_new(struct ic_dev *ic, uint8_t op, uint8_t pool,
				  const char *key, ic_kvp_cb cb, void *ctx,
				  int *rc)
{
	struct ic_kvp_req *r;
	int n;

	*rc = -EINVAL;
	if (!ic || ic->kind != IC_KVP || ic->orphan ||
	    pool >= HVIS_KVP_POOL_COUNT)
		return NULL;
	*rc = -ENOTCONN;
	if (ic->state != IC_STATE_NEGOTIATING && ic->state != IC_STATE_READY)
		return NULL;
	*rc = -EBUSY;
	if (ic->u.kvp.nq >= IC_QUEUE_MAX)
		return NULL;
	*rc = -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->op = op;
	r->pool = pool;
	r->cb = cb;
	r->ctx = ctx;
	r->serial = ++ic->u.kvp.serial;
	if (op != HVIS_KVP_OP_ENUMERATE) {
		*rc = -EINVAL;
		if (!key || !key[0]) {
			free(r);
			return NULL;
		}
		n = ic_utf8_to_utf16le(key, strlen(key), r->key,
				       sizeof(r->key));
		if (n < 0) {
			*rc = n;
			free(r);
			return NULL;
		}
		r->key_bytes = (uint32_t)n;
	}
	*rc = 0;
	return r;
}

static int req_queue(struct ic_dev *ic, struct ic_kvp_req *r)
{
	struct ic_kvp_priv *k = &ic->u.kvp;

	if (k->tail)
		k->tail->next = r;
	else
		k->head = r;
	k->tail = r;
	k->nq++;
	kvp_pump(ic);
	return 0;
}

int ic_kvp_get(struct ic_dev *ic, uint8_t pool, const char *key,
	       ic_kvp_cb cb, void *ctx)
{
	int rc;
	struct ic_kvp_req *r = req_new(ic, HVIS_KVP_OP_GET, pool, key, cb,
				       ctx, &rc);

	return r ? req_queue(ic, r) : rc;
}

int ic_kvp_set(struct ic_dev *ic, uint8_t pool, const char *key,
	       const char *value, ic_kvp_cb cb, void *ctx)
{
	int rc, n;
	struct ic_kvp_req *r;

	if (!value)
		return -EINVAL;
	r = req_new(ic, HVIS_KVP_OP_SET, pool, key, cb, ctx, &rc);
	if (!r)
		return rc;
	n = ic_utf8_to_utf16le(value, strlen(value), r->value,
			       sizeof(r->value));
	if (n < 0) {
		free(r);
		return n;
	}
	r->value_type = HVIS_KVP_REG_SZ;
	r->value_bytes = (uint32_t)n;
	return req_queue(ic, r);
}

int ic_kvp_set_int(struct ic_dev *ic, uint8_t pool, const char *key,
		   uint32_t value_type, uint64_t value, ic_kvp_cb cb, void *ctx)
{
	int rc;
	struct ic_kvp_req *r;

	if (value_type == HVIS_KVP_REG_U32 ? value > UINT32_MAX :
	    value_type != HVIS_KVP_REG_U64)
		return -EINVAL;
	r = req_new(ic, HVIS_KVP_OP_SET, pool, key, cb, ctx, &rc);
	if (!r)
		return rc;
	r->value_type = value_type;
	if (value_type == HVIS_KVP_REG_U32) {
		uint32_t v = (uint32_t)value;

		memcpy(r->value, &v, sizeof(v));
		r->value_bytes = sizeof(v);
	} else {
		memcpy(r->value, &value, sizeof(value));
		r->value_bytes = sizeof(value);
	}
	return req_queue(ic, r);
}

int ic_kvp_delete(struct ic_dev *ic, uint8_t pool, const char *key,
		  ic_kvp_cb cb, void *ctx)
{
	int rc;
	struct ic_kvp_req *r = req_new(ic, HVIS_KVP_OP_DELETE, pool, key, cb,
				       ctx, &rc);

	return r ? req_queue(ic, r) : rc;
}

int ic_kvp_enumerate_index(struct ic_dev *ic, uint8_t pool, uint32_t index,
			   ic_kvp_cb cb, void *ctx)
{
	int rc;
	struct ic_kvp_req *r = req_new(ic, HVIS_KVP_OP_ENUMERATE, pool, NULL,
				       cb, ctx, &rc);

	if (!r)
		return rc;
	r->index = index;
	return req_queue(ic, r);
}

int ic_kvp_enumerate(struct ic_dev *ic, uint8_t pool, ic_kvp_cb cb, void *ctx)
{
	int rc;
	struct ic_kvp_req *r = req_new(ic, HVIS_KVP_OP_ENUMERATE, pool, NULL,
				       cb, ctx, &rc);

	if (!r)
		return rc;
	r->walk = true;
	return req_queue(ic, r);
}

/* ------------------------------------------------------------ cache */

unsigned int ic_kvp_pool_count(const struct ic_dev *ic, uint8_t pool)
{
	if (!ic || ic->kind != IC_KVP || pool >= HVIS_KVP_POOL_COUNT)
		return 0;
	return ic->u.kvp.pools[pool].n;
}

int ic_kvp_pool_entry(const struct ic_dev *ic, uint8_t pool, unsigned int i,
		      const char **key, const char **value)
{
	const struct ic_kvp_pool *p;

	if (!ic || ic->kind != IC_KVP || pool >= HVIS_KVP_POOL_COUNT)
		return -EINVAL;
	p = &ic->u.kvp.pools[pool];
	if (i >= p->n)
		return -ENOENT;
	if (key)
		*key = p->e[i].key;
	if (value)
		*value = p->e[i].value;
	return 0;
}

const char *ic_kvp_pool_lookup(const struct ic_dev *ic, uint8_t pool,
			       const char *key)
{
	const struct ic_kvp_pool *p;

	if (!ic || ic->kind != IC_KVP || pool >= HVIS_KVP_POOL_COUNT || !key)
		return NULL;
	p = &ic->u.kvp.pools[pool];
	for (unsigned int i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].key, key))
			return p->e[i].value;
	return NULL;
}

uint64_t ic_kvp_pool_updated_at(const struct ic_dev *ic, uint8_t pool)
{
	if (!ic || ic->kind != IC_KVP || pool >= HVIS_KVP_POOL_COUNT)
		return 0;
	return ic->u.kvp.pools[pool].updated_at;
}

const struct ic_kind_ops ic_kvp_ops = {
	.name = "kvp",
	.msgtype = HVIS_ICMSG_KVPEXCHANGE,
	.class_id = HVIS_GUID_KVP,
	.versions = kvp_versions,
	.nversions = sizeof(kvp_versions) / sizeof(kvp_versions[0]),
	.guest_max_pkt = 4 * 4096,
	.init = kvp_init,
	.fini = kvp_fini,
	.ready = kvp_ready,
	.reply = kvp_reply,
	.timeout = kvp_timeout,
	.tick = kvp_tick,
	.closed = kvp_closed,
	.queued = kvp_queued,
};
