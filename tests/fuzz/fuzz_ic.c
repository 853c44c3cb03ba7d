// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the integration components (host-vsp/ic): the
 * guest controls every byte of every packet it sends on an IC channel;
 * the host side opens and closes channels, makes requests, lets time pass
 * and sometimes cannot send. Each IC runs detached from a VMBus server
 * (ic_dev_create_detached): its packets go to a recorder, guest packets
 * go straight into ic_handle_packet. Whatever happens: no crash, no UB, no
 * leak, every request callback exactly once.
 *
 * Input: [u8 kind] then a script of operations:
 *   op 0  open the channel (NEGOTIATE goes out)
 *   op 1  close the channel
 *   op 2  raw guest packet: [u8 pkt type][u8 fix][u16 len][len bytes];
 *         fix bit 0 = use the outstanding trans_id / transaction id /
 *         message type, bit 1 = TRANSACTION | RESPONSE flags, bit 2 =
 *         consistent pipe and IC sizes
 *   op 3  echo the last host packet back as Linux does, after mutations:
 *         [u8 n] then n x [u16 offset][u8 value], [u32 status]
 *   op 4  answer the last NEGOTIATE: [u8 fw index][u8 message index]
 *         (into the offered tables, out of range = a bogus version)
 *   op 5  time passes: [u16 v] (v * 10 ms; v >= 0xF000: v minutes)
 *   op 6  host request: [u8 what][u8 a][u8 b]
 *   op 7  sending: [u8 mode] 0 ok, 1 ring full, 2 ring broken
 *   op 8  UTF conversions of [u8 len][len bytes]
 *   op 9  answer the last host packet the way Linux would: [u8 status
 *         selector][u8 a][u8 b] (heartbeat seq + 1, KVP key/value from
 *         a/b as UTF-16, VSS flags, status 0 / S_CONT / E_FAIL / any)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host-vsp/ic/ic_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len);

static struct {
	uint8_t last[IC_RX_MAX];
	uint32_t last_len;
	struct hvis_pkt_desc last_desc;
	bool have_last;
	int mode;
	uint64_t now;
	long pending;		/* callbacks owed */
	struct ic_dev *ic;
	bool reenter;
} S;

static int xmit(void *opaque, const struct hvis_pkt_desc *desc,
		const struct hvis_iov *iov, unsigned int iovcnt)
{
	uint32_t off = 0;

	(void)opaque;
	if (S.mode == 1)
		return -HVIS_RING_FULL;
	if (S.mode == 2)
		return -HVIS_RING_BAD_INDEX;
	for (unsigned int i = 0; i < iovcnt; i++) {
		if (iov[i].len > sizeof(S.last) - off)
			abort();		/* the IC built an oversized packet */
		memcpy(S.last + off, iov[i].base, iov[i].len);
		off += iov[i].len;
	}
	if (desc->pd_type != HVIS_PKT_DATA_INBAND || off < HVIS_IC_HDRS_SIZE)
		abort();
	S.last_len = off;
	S.last_desc = *desc;
	S.have_last = true;
	return 0;
}

static void h_time(void *o, uint64_t *unix_ns, uint64_t *ref)
{
	(void)o;
	*unix_ns = S.now * 3 + 1700000000ull * 1000000000ull;
	*ref = S.now / 100;
}

static void h_log(void *o, enum vmbus_log_level level, const char *msg)
{
	(void)o;
	(void)level;
	if (strlen(msg) >= 256)
		abort();
}

static void check_str(const char *s)
{
	if (s && strlen(s) > IC_KVP_VALUE_UTF8_MAX)
		abort();
}

static void kvp_cb(void *ctx, struct ic_dev *ic, const struct ic_kvp_result *r)
{
	(void)ctx;
	S.pending--;
	check_str(r->key);
	check_str(r->value);
	if (S.reenter && r->result == IC_RESULT_OK &&
	    ic_kvp_get(ic, 1, "again", kvp_cb, NULL) == 0)
		S.pending++;
}

static void vss_cb(void *ctx, struct ic_dev *ic, const struct ic_vss_result *r)
{
	(void)ctx;
	(void)r;
	S.pending--;
	if (S.reenter && ic_vss_thaw(ic, vss_cb, NULL) == 0)
		S.pending++;
}

static void sd_cb(void *ctx, struct ic_dev *ic, enum ic_result r,
		  uint32_t status)
{
	(void)ctx;
	(void)ic;
	(void)r;
	(void)status;
	S.pending--;
}

static const struct ic_host_ops host_ops = {
	.time_now = h_time,
	.log = h_log,
};

/* A short UTF-8-ish string from two input bytes. */
static const char *pick_str(uint8_t a, uint8_t b)
{
	static const char *const strs[] = {
		"HostName", "", "k", "\xc3\xa9t\xc3\xa9", "\xf0\x9f\x98\x80",
		"\xc3\x28", "\xed\xa0\x80", "OSName", "a b c",
	};
	static char buf[1100];

	if (a < 200)
		return strs[a % (sizeof(strs) / sizeof(strs[0]))];
	memset(buf, 'x', sizeof(buf) - 1);
	buf[(size_t)b * 4 + 200 < sizeof(buf) - 1 ? (size_t)b * 4 + 200 :
	    sizeof(buf) - 1] = 0;
	return buf;
}

static void request(uint8_t what, uint8_t a, uint8_t b)
{
	struct ic_dev *ic = S.ic;
	struct ic_shutdown_params sp = { .message = pick_str(a, b),
					 .done = sd_cb };
	int rc = -1;

	switch (what % 12) {
	case 0:
		rc = ic_shutdown_request(ic, a & 7, (b & 1) ? &sp : NULL);
		if (rc == 0 && (b & 1))
			S.pending++;
		return;
	case 1:
		ic_timesync_step(ic);
		return;
	case 2:
		rc = ic_kvp_set(ic, a % 6, pick_str(a, b), pick_str(b, a),
				kvp_cb, NULL);
		break;
	case 3:
		rc = ic_kvp_get(ic, a % 6, pick_str(a, b), kvp_cb, NULL);
		break;
	case 4:
		rc = ic_kvp_delete(ic, a % 6, pick_str(a, b), kvp_cb, NULL);
		break;
	case 5:
		rc = ic_kvp_enumerate(ic, a % 6, kvp_cb, NULL);
		break;
	case 6:
		rc = ic_kvp_enumerate_index(ic, a % 6, b, kvp_cb, NULL);
		break;
	case 7:
		rc = ic_kvp_set_int(ic, a % 6, pick_str(a, b),
				    (b & 1) ? HVIS_KVP_REG_U64 : HVIS_KVP_REG_U32,
				    (uint64_t)b << (a & 63), kvp_cb, NULL);
		break;
	case 8:
		rc = ic_vss_freeze(ic, (uint64_t)a * 1000000000ull, vss_cb,
				   NULL);
		break;
	case 9:
		rc = ic_vss_thaw(ic, vss_cb, NULL);
		break;
	case 10:
		S.reenter = !S.reenter;
		return;
	default: {
		struct ic_dev_info info;
		struct ic_heartbeat_status hs;
		struct ic_shutdown_status ss;
		struct ic_timesync_status ts;
		struct ic_vss_status vs;
		const char *k, *v;

		ic_dev_info(ic, &info);
		ic_heartbeat_status(ic, &hs);
		ic_shutdown_status(ic, &ss);
		ic_timesync_status(ic, &ts);
		ic_vss_status(ic, &vs);
		for (unsigned int i = 0; i < ic_kvp_pool_count(ic, a % 5); i++) {
			if (ic_kvp_pool_entry(ic, a % 5, i, &k, &v))
				abort();
			check_str(k);
			check_str(v);
		}
		ic_kvp_pool_lookup(ic, a % 5, pick_str(b, a));
		return;
	}
	}
	if (rc == 0)
		S.pending++;
}

/* A plausible answer to the last request, so deep paths are reached. */
static void answer_linux(uint8_t sel, uint8_t a, uint8_t b)
{
	static const uint32_t statuses[4] = {
		HVIS_IC_S_OK, HVIS_KVP_S_CONT, HVIS_IC_E_FAIL, 0x12345678,
	};
	static uint8_t p[IC_RX_MAX];
	uint32_t len = (S.last_len + 7) & ~7u, status = statuses[sel & 3];
	uint16_t type;

	if (!S.have_last)
		return;
	memset(p, 0, sizeof(p));
	memcpy(p, S.last, S.last_len);
	memcpy(&type, p + 8 + 4, 2);
	if (type == HVIS_ICMSG_HEARTBEAT && len >= HVIS_IC_HDRS_SIZE + 8) {
		uint64_t seq;

		memcpy(&seq, p + HVIS_IC_HDRS_SIZE, 8);
		seq += (sel & 4) ? 2 : 1;
		memcpy(p + HVIS_IC_HDRS_SIZE, &seq, 8);
	} else if (type == HVIS_ICMSG_KVPEXCHANGE &&
		   len >= HVIS_IC_HDRS_SIZE + sizeof(struct hvis_kvp_msg)) {
		struct hvis_kvp_msg *m = (struct hvis_kvp_msg *)
					 (p + HVIS_IC_HDRS_SIZE);
		struct hvis_kvp_value *v =
			m->km_hdr.kh_operation == HVIS_KVP_OP_ENUMERATE ?
			&m->km_body.km_enumerate.ke_data : &m->km_body.km_value;
		const char *k8 = pick_str(a, b), *v8 = pick_str(b, a);
		int n;

		n = ic_utf8_to_utf16le(k8, strlen(k8), v->kv_key,
				       sizeof(v->kv_key));
		v->kv_key_size = n > 0 ? (uint32_t)n : (uint32_t)a * 3;
		n = ic_utf8_to_utf16le(v8, strlen(v8), v->kv_value,
				       sizeof(v->kv_value));
		v->kv_value_size = n > 0 ? (uint32_t)n : (uint32_t)b * 9;
		v->kv_value_type = (sel & 8) ? (sel & 16 ? HVIS_KVP_REG_U32 :
					       HVIS_KVP_REG_U64) : HVIS_KVP_REG_SZ;
	} else if (type == HVIS_ICMSG_VSS &&
		   len >= HVIS_IC_HDRS_SIZE + sizeof(struct hvis_vss_msg)) {
		uint32_t flags = a;

		memcpy(p + HVIS_IC_HDRS_SIZE + 8, &flags, 4);
	}
	memcpy(p + 8 + 12, &status, 4);
	p[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	ic_handle_packet(S.ic, &S.last_desc, p, len);
}

/* Linux's negotiation answer with the versions the script picks. */
static void answer_negotiate(uint8_t fwi, uint8_t mi)
{
	uint8_t p[IC_RX_MAX];
	const struct hvis_ic_version *fw, *msg;
	unsigned int nfw = ic_versions(IC_KIND_COUNT, &fw);
	unsigned int nmsg = ic_versions(S.ic->kind, &msg);
	struct hvis_ic_version v[2] = { { 9, 9 }, { 9, 9 } };
	uint32_t len = (S.last_len + 7) & ~7u;
	struct hvis_ic_negotiate n;

	if (!S.have_last || S.last_len < HVIS_IC_HDRS_SIZE + sizeof(n) + 8)
		return;
	memset(p, 0, sizeof(p));
	memcpy(p, S.last, S.last_len);
	if (fwi < nfw)
		v[0] = fw[fwi];
	if (mi < nmsg)
		v[1] = msg[mi];
	memset(&n, 0, sizeof(n));
	n.in_framework_count = fwi == 0xFF ? 0 : 1;
	n.in_message_count = fwi == 0xFF ? 0 : 1;
	memcpy(p + HVIS_IC_HDRS_SIZE, &n, sizeof(n));
	memcpy(p + HVIS_IC_HDRS_SIZE + sizeof(n), v, sizeof(v));
	p[8 + offsetof(struct hvis_ic_hdr, ih_msgsize)] = 0x10;
	p[8 + offsetof(struct hvis_ic_hdr, ih_flags)] =
		HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
	ic_handle_packet(S.ic, &S.last_desc, p, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	struct ic_host *h;
	size_t i = 1;
	unsigned int ops = 0;

	if (len < 1)
		return 0;
	memset(&S, 0, sizeof(S));
	S.now = 1000000000ull;
	h = ic_host_create(&host_ops, NULL);
	if (!h)
		return 0;
	ic_host_tick(h, S.now);
	S.ic = ic_dev_create_detached(h, (enum ic_kind)(in[0] % IC_KIND_COUNT),
				      xmit, NULL);
	if (!S.ic)
		abort();

	while (i < len && ops++ < 400) {
		uint8_t op = in[i++] % 10;

		switch (op) {
		case 0:
			if (ic_dev_state(S.ic) == IC_STATE_CLOSED)
				ic_dev_sim_open(S.ic);
			break;
		case 1:
			ic_dev_sim_close(S.ic);
			break;
		case 2: {
			uint8_t p[IC_RX_MAX];
			struct hvis_pkt_desc d;
			uint8_t type, fix;
			uint32_t n;

			if (len - i < 4)
				goto out;
			type = in[i];
			fix = in[i + 1];
			n = (uint32_t)in[i + 2] | (uint32_t)in[i + 3] << 8;
			i += 4;
			if (n > len - i)
				n = (uint32_t)(len - i);
			memcpy(p, in + i, n);
			i += n;
			memset(&d, 0, sizeof(d));
			d.pd_type = (type & 1) ? HVIS_PKT_DATA_INBAND : type;
			if (n >= HVIS_IC_HDRS_SIZE) {
				if (fix & 1) {
					d.pd_trans_id = S.ic->out.trans_id;
					p[8 + 16] = S.ic->out.tid;
					memcpy(p + 8 + 4, &S.ic->out.msgtype, 2);
				}
				if (fix & 2)
					p[8 + 17] = HVIS_ICFLAG_TRANSACTION |
						    HVIS_ICFLAG_RESPONSE;
				if (fix & 4) {
					uint32_t ps = n - 8;
					uint16_t is = (uint16_t)(n - 28 > 0xFFFF ?
						      0xFFFF : n - 28);

					p[0] = HVIS_PIPE_DATA;
					p[1] = p[2] = p[3] = 0;
					memcpy(p + 4, &ps, 4);
					memcpy(p + 8 + 10, &is, 2);
				}
			}
			ic_handle_packet(S.ic, &d, p, n);
			break;
		}
		case 3: {
			uint8_t p[IC_RX_MAX];
			uint32_t plen = (S.last_len + 7) & ~7u, status;
			uint8_t nm;

			if (len - i < 1)
				goto out;
			nm = in[i++];
			if (!S.have_last)
				break;
			memset(p, 0, sizeof(p));
			memcpy(p, S.last, S.last_len);
			for (unsigned int k = 0; k < nm && len - i >= 3; k++) {
				uint32_t off = (uint32_t)in[i] |
					       (uint32_t)in[i + 1] << 8;

				if (off < plen)
					p[off] = in[i + 2];
				i += 3;
			}
			if (len - i < 4)
				goto out;
			memcpy(&status, in + i, 4);
			i += 4;
			memcpy(p + 8 + 12, &status, 4);
			p[8 + 17] = HVIS_ICFLAG_TRANSACTION | HVIS_ICFLAG_RESPONSE;
			ic_handle_packet(S.ic, &S.last_desc, p, plen);
			break;
		}
		case 4:
			if (len - i < 2)
				goto out;
			answer_negotiate(in[i], in[i + 1]);
			i += 2;
			break;
		case 5: {
			uint16_t v;

			if (len - i < 2)
				goto out;
			v = (uint16_t)(in[i] | in[i + 1] << 8);
			i += 2;
			if (v >= 0xF000)
				S.now += (uint64_t)(v - 0xF000) * 60000000000ull;
			else
				S.now += (uint64_t)v * 10000000ull;
			ic_host_tick(h, S.now);
			break;
		}
		case 6:
			if (len - i < 3)
				goto out;
			request(in[i], in[i + 1], in[i + 2]);
			i += 3;
			break;
		case 7:
			if (len - i < 1)
				goto out;
			S.mode = in[i++] % 3;
			break;
		case 8: {
			uint8_t n, b16[600];
			char s8[1000], z[256];

			if (len - i < 1)
				goto out;
			n = in[i++];
			if (n > len - i)
				n = (uint8_t)(len - i);
			memcpy(z, in + i, n);
			if (ic_utf16le_to_utf8(in + i, n, s8, sizeof(s8)) >= 0 &&
			    strlen(s8) >= sizeof(s8))
				abort();
			if (ic_utf8_to_utf16le(z, n, b16, sizeof(b16)) > 600)
				abort();
			i += n;
			break;
		}
		case 9:
			if (len - i < 3)
				goto out;
			answer_linux(in[i], in[i + 1], in[i + 2]);
			i += 3;
			break;
		}
	}
out:
	S.mode = 0;
	ic_host_destroy(h);	/* closes: every pending callback runs */
	if (S.pending != 0)
		abort();
	return 0;
}
