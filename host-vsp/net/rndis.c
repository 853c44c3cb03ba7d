// SPDX-License-Identifier: GPL-2.0-only
/*
 * The RNDIS device of netvsp (rndis.h): what Linux's rndis_filter asks
 * at probe (INITIALIZE; QUERY of the maximum frame size, the permanent
 * address, the friendly name, the offload capabilities, the media
 * connect status, the link speed, the RSS capabilities; SET of the
 * offload parameters and the packet filter) and the data messages.
 *
 * This device offers no offload: the TAP backend gets complete,
 * checksummed frames, so the capabilities answer is an all-zero
 * NDIS_OFFLOAD and the guest computes every checksum itself. RSS
 * capabilities only when the adapter can have sub-channels.
 */
#include <stddef.h>
#include <string.h>

#include "rndis.h"

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

void rndis_dev_init(struct rndis_dev *r, const struct rndis_dev_cfg *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	if (r->cfg.mtu < RNDIS_MTU_MIN || r->cfg.mtu > RNDIS_MTU_MAX)
		r->cfg.mtu = 1500;
	if (!r->cfg.link_speed_bps)
		r->cfg.link_speed_bps = 10000000000ull;
	r->link_up = true;
}

void rndis_dev_reset(struct rndis_dev *r)
{
	r->initialized = false;
	r->filter = 0;
}

int rndis_next(const uint8_t *buf, uint32_t len, uint32_t *off,
	       uint32_t *type, const uint8_t **msg, uint32_t *msg_len)
{
	uint32_t o = *off, mlen;

	if (o >= len)
		return 0;
	if (len - o < sizeof(struct hvis_rndis_hdr))
		return -1;
	mlen = rd32(buf + o + 4);
	if (mlen < sizeof(struct hvis_rndis_hdr) || mlen > len - o)
		return -1;
	*type = rd32(buf + o);
	*msg = buf + o;
	*msg_len = mlen;
	*off = o + mlen;
	return 1;
}

/* ------------------------------------------------------------ control */

static const uint32_t supported_oids[] = {
	HVIS_OID_GEN_SUPPORTED_LIST, HVIS_OID_GEN_HARDWARE_STATUS,
	HVIS_OID_GEN_MEDIA_SUPPORTED, HVIS_OID_GEN_MEDIA_IN_USE,
	HVIS_OID_GEN_MAXIMUM_FRAME_SIZE, HVIS_OID_GEN_LINK_SPEED,
	HVIS_OID_GEN_TRANSMIT_BLOCK_SIZE, HVIS_OID_GEN_RECEIVE_BLOCK_SIZE,
	HVIS_OID_GEN_VENDOR_ID, HVIS_OID_GEN_VENDOR_DESCRIPTION,
	HVIS_OID_GEN_CURRENT_PACKET_FILTER, HVIS_OID_GEN_DRIVER_VERSION,
	HVIS_OID_GEN_MAXIMUM_TOTAL_SIZE, HVIS_OID_GEN_MAC_OPTIONS,
	HVIS_OID_GEN_MEDIA_CONNECT_STATUS, HVIS_OID_GEN_MAXIMUM_SEND_PACKETS,
	HVIS_OID_GEN_VENDOR_DRIVER_VERSION, HVIS_OID_GEN_PHYSICAL_MEDIUM,
	HVIS_OID_802_3_PERMANENT_ADDRESS, HVIS_OID_802_3_CURRENT_ADDRESS,
	HVIS_OID_802_3_MULTICAST_LIST, HVIS_OID_802_3_MAXIMUM_LIST_SIZE,
	HVIS_OID_TCP_OFFLOAD_PARAMETERS, HVIS_OID_TCP_OFFLOAD_HW_CAPABILITIES,
};

#define VENDOR_DESC	"hvis synthetic network adapter"

/*
 * The information a QUERY of @oid answers, into @info (at most
 * RNDIS_REPLY_MAX - 24 bytes). Its length, or -1: not supported.
 */
static int query_info(const struct rndis_dev *r, uint32_t oid, uint8_t *info)
{
	uint32_t n = 0;

	switch (oid) {
	case HVIS_OID_GEN_SUPPORTED_LIST:
		for (size_t i = 0; i < sizeof(supported_oids) / 4; i++)
			wr32(info + 4 * i, supported_oids[i]);
		return (int)sizeof(supported_oids);
	case HVIS_OID_GEN_HARDWARE_STATUS:	/* ready */
	case HVIS_OID_GEN_MEDIA_SUPPORTED:	/* 802.3 */
	case HVIS_OID_GEN_MEDIA_IN_USE:
	case HVIS_OID_GEN_PHYSICAL_MEDIUM:	/* unspecified */
	case HVIS_OID_GEN_MAC_OPTIONS:
		n = 0;
		break;
	case HVIS_OID_GEN_MAXIMUM_FRAME_SIZE:
		n = r->cfg.mtu;
		break;
	case HVIS_OID_GEN_MAXIMUM_TOTAL_SIZE:
	case HVIS_OID_GEN_TRANSMIT_BLOCK_SIZE:
	case HVIS_OID_GEN_RECEIVE_BLOCK_SIZE:
		n = r->cfg.mtu + RNDIS_ETH_HLEN;
		break;
	case HVIS_OID_GEN_LINK_SPEED: {		/* 100 bit/s units */
		uint64_t s = r->cfg.link_speed_bps / 100;

		n = s > 0xffffffffu ? 0xffffffffu : (uint32_t)s;
		break;
	}
	case HVIS_OID_GEN_VENDOR_ID:	/* the adapter's OUI */
		n = (uint32_t)r->cfg.mac[0] << 16 | (uint32_t)r->cfg.mac[1] << 8 |
		    r->cfg.mac[2];
		break;
	case HVIS_OID_GEN_VENDOR_DESCRIPTION:
		memcpy(info, VENDOR_DESC, sizeof(VENDOR_DESC));
		return (int)sizeof(VENDOR_DESC);
	case HVIS_OID_GEN_CURRENT_PACKET_FILTER:
		n = r->filter;
		break;
	case HVIS_OID_GEN_DRIVER_VERSION:
		wr32(info, 0x0601);
		return 2;
	case HVIS_OID_GEN_VENDOR_DRIVER_VERSION:
		n = 0x00010000;
		break;
	case HVIS_OID_GEN_MEDIA_CONNECT_STATUS:
		n = r->link_up ? HVIS_RNDIS_MEDIA_CONNECTED :
		    HVIS_RNDIS_MEDIA_DISCONNECTED;
		break;
	case HVIS_OID_GEN_MAXIMUM_SEND_PACKETS:
		n = 8;
		break;
	case HVIS_OID_802_3_PERMANENT_ADDRESS:
	case HVIS_OID_802_3_CURRENT_ADDRESS:
		memcpy(info, r->cfg.mac, 6);
		return 6;
	case HVIS_OID_802_3_MULTICAST_LIST:
		return 0;
	case HVIS_OID_802_3_MAXIMUM_LIST_SIZE:
		n = 32;
		break;
	case HVIS_OID_TCP_OFFLOAD_HW_CAPABILITIES: {
		struct hvis_ndis_obj_hdr h = {
			.noh_type = HVIS_NDIS_OBJ_TYPE_OFFLOAD,
			.noh_revision = HVIS_NDIS_OFFLOAD_REV_1,
			.noh_size = HVIS_NDIS_OFFLOAD_SIZE_6_0,
		};

		memset(info, 0, HVIS_NDIS_OFFLOAD_SIZE_6_0);
		memcpy(info, &h, sizeof(h));
		return HVIS_NDIS_OFFLOAD_SIZE_6_0;
	}
	case HVIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES: {
		/* NDIS_RECEIVE_SCALE_CAPABILITIES revision 2, 18 bytes */
		struct hvis_ndis_obj_hdr h = {
			.noh_type = HVIS_NDIS_OBJ_TYPE_RSS_CAPS, .noh_revision = 2,
			.noh_size = HVIS_NDIS_RSS_CAPS_SIZE,
		};
		uint16_t tab = HVIS_NDIS_RSS_ITAB_SIZE;

		if (r->cfg.rss_queues < 2)
			return -1;
		memcpy(info, &h, sizeof(h));
		wr32(info + 4, HVIS_NDIS_RSS_CAPS_HASH_TCP4 | HVIS_NDIS_RSS_CAPS_HASH_TCP6);
		wr32(info + 8, r->cfg.rss_queues);	/* interrupt messages */
		wr32(info + 12, r->cfg.rss_queues);	/* receive queues */
		memcpy(info + 16, &tab, 2);
		return HVIS_NDIS_RSS_CAPS_SIZE;
	}
	default:
		/* friendly name, anything else */
		return -1;
	}
	wr32(info, n);
	return 4;
}

/* The status a SET of @oid with @info (@len bytes) gets. */
static uint32_t set_oid(struct rndis_dev *r, uint32_t oid, const uint8_t *info,
			uint32_t len)
{
	switch (oid) {
	case HVIS_OID_GEN_CURRENT_PACKET_FILTER:
		if (len < 4)
			return HVIS_RNDIS_STATUS_INVALID_LENGTH;
		r->filter = rd32(info);
		return HVIS_RNDIS_STATUS_SUCCESS;
	case HVIS_OID_TCP_OFFLOAD_PARAMETERS:
		/*
		 * Linux only turns on what the capabilities offered (nothing)
		 * and turns off the rest: nothing to change.
		 */
		if (len < sizeof(struct hvis_ndis_obj_hdr))
			return HVIS_RNDIS_STATUS_INVALID_LENGTH;
		return HVIS_RNDIS_STATUS_SUCCESS;
	case HVIS_OID_GEN_RECEIVE_SCALE_PARAMETERS:
		/*
		 * The guest's key and table: the host spreads flows over the
		 * channels by a hash of its own, which only has to keep each
		 * flow on one channel.
		 */
		if (r->cfg.rss_queues < 2) {
			r->st.unknown_oid++;
			return HVIS_RNDIS_STATUS_NOT_SUPPORTED;
		}
		if (len < sizeof(struct hvis_ndis_obj_hdr) || info[0] != HVIS_NDIS_OBJ_TYPE_RSS_PARAMS)
			return HVIS_RNDIS_STATUS_INVALID_DATA;
		return HVIS_RNDIS_STATUS_SUCCESS;
	case HVIS_OID_802_3_MULTICAST_LIST:
		/* every multicast frame goes up; the guest filters */
		return len % 6 ? HVIS_RNDIS_STATUS_INVALID_LENGTH :
		       HVIS_RNDIS_STATUS_SUCCESS;
	default:
		/* MAC address changes (RNDIS_CONFIG_PARAMETER), RSS, ... */
		r->st.unknown_oid++;
		return HVIS_RNDIS_STATUS_NOT_SUPPORTED;
	}
}

static uint32_t put_hdr(uint8_t *out, uint32_t type, uint32_t len)
{
	wr32(out, type);
	wr32(out + 4, len);
	return len;
}

/*
 * The info buffer of a QUERY or SET: @off counts from the byte after the
 * RNDIS header. 0, or -1 when it does not lie inside the message.
 */
static int info_buffer(const uint8_t *msg, uint32_t len,
		       const struct hvis_rndis_oid_req *q, const uint8_t **info)
{
	uint32_t body = len - 8;

	*info = NULL;
	if (!q->ro_info_len)
		return 0;
	if (q->ro_info_offset < sizeof(*q) || q->ro_info_offset > body ||
	    q->ro_info_len > body - q->ro_info_offset)
		return -1;
	*info = msg + 8 + q->ro_info_offset;
	return 0;
}

int rndis_control(struct rndis_dev *r, const uint8_t *msg, uint32_t len,
		  uint8_t *out, uint32_t *out_len)
{
	uint32_t type, body;

	*out_len = 0;
	if (len < 8 || rd32(msg + 4) != len)
		goto bad;
	type = rd32(msg);
	body = len - 8;
	switch (type) {
	case HVIS_RNDIS_MSG_INIT: {
		struct hvis_rndis_init in;
		struct hvis_rndis_init_c c = {
			.ric_status = HVIS_RNDIS_STATUS_SUCCESS,
			.ric_major = HVIS_RNDIS_MAJOR_VERSION,
			.ric_minor = HVIS_RNDIS_MINOR_VERSION,
			.ric_dev_flags = HVIS_RNDIS_DF_CONNECTIONLESS,
			.ric_medium = HVIS_RNDIS_MEDIUM_802_3,
			.ric_max_pkts_per_msg = 8,
			.ric_max_xfer_size = 0x4000,
			.ric_pkt_align_shift = 3,
		};

		if (body < sizeof(in))
			goto bad;
		memcpy(&in, msg + 8, sizeof(in));
		c.ric_req_id = in.ri_req_id;
		if (in.ri_major != HVIS_RNDIS_MAJOR_VERSION)
			c.ric_status = HVIS_RNDIS_STATUS_NOT_SUPPORTED;
		else
			r->initialized = true;
		r->filter = 0;
		memcpy(out + 8, &c, sizeof(c));
		*out_len = put_hdr(out, HVIS_RNDIS_MSG_INIT_C, 8 + sizeof(c));
		break;
	}
	case HVIS_RNDIS_MSG_HALT:
		r->initialized = false;
		r->filter = 0;
		break;
	case HVIS_RNDIS_MSG_QUERY: {
		struct hvis_rndis_oid_req q;
		struct hvis_rndis_query_c c = { 0 };
		const uint8_t *info;
		int n;

		if (body < sizeof(q))
			goto bad;
		memcpy(&q, msg + 8, sizeof(q));
		c.rqc_req_id = q.ro_req_id;
		if (info_buffer(msg, len, &q, &info)) {
			/* answered, so the guest's request ends */
			c.rqc_status = HVIS_RNDIS_STATUS_INVALID_DATA;
			memcpy(out + 8, &c, sizeof(c));
			*out_len = put_hdr(out, HVIS_RNDIS_MSG_QUERY_C, 8 + sizeof(c));
			goto bad;
		}
		n = query_info(r, q.ro_oid, out + 8 + sizeof(c));
		if (n < 0) {
			r->st.unknown_oid++;
			c.rqc_status = HVIS_RNDIS_STATUS_NOT_SUPPORTED;
			n = 0;
		} else {
			c.rqc_info_len = (uint32_t)n;
			c.rqc_info_offset = sizeof(c);
		}
		memcpy(out + 8, &c, sizeof(c));
		*out_len = put_hdr(out, HVIS_RNDIS_MSG_QUERY_C,
				   8 + sizeof(c) + (uint32_t)n);
		break;
	}
	case HVIS_RNDIS_MSG_SET: {
		struct hvis_rndis_oid_req q;
		struct hvis_rndis_status_c c = { 0 };
		const uint8_t *info;
		int rc;

		if (body < sizeof(q))
			goto bad;
		memcpy(&q, msg + 8, sizeof(q));
		c.rsc_req_id = q.ro_req_id;
		rc = info_buffer(msg, len, &q, &info);
		c.rsc_status = rc ? HVIS_RNDIS_STATUS_INVALID_DATA :
			       set_oid(r, q.ro_oid, info, q.ro_info_len);
		memcpy(out + 8, &c, sizeof(c));
		*out_len = put_hdr(out, HVIS_RNDIS_MSG_SET_C, 8 + sizeof(c));
		if (rc)
			goto bad;
		break;
	}
	case HVIS_RNDIS_MSG_RESET: {
		struct hvis_rndis_reset_c c = {
			.rrc_status = HVIS_RNDIS_STATUS_SUCCESS,
		};

		r->filter = 0;
		memcpy(out + 8, &c, sizeof(c));
		*out_len = put_hdr(out, HVIS_RNDIS_MSG_RESET_C, 8 + sizeof(c));
		break;
	}
	case HVIS_RNDIS_MSG_KEEPALIVE: {
		struct hvis_rndis_status_c c = {
			.rsc_status = HVIS_RNDIS_STATUS_SUCCESS,
		};

		if (body < 4)
			goto bad;
		c.rsc_req_id = rd32(msg + 8);
		memcpy(out + 8, &c, sizeof(c));
		*out_len = put_hdr(out, HVIS_RNDIS_MSG_KEEPALIVE_C, 8 + sizeof(c));
		break;
	}
	default:
		/* completions (we ask nothing), INDICATE, unknown types */
		goto bad;
	}
	r->st.control++;
	return 0;
bad:
	r->st.bad++;
	return -1;
}

/* ------------------------------------------------------------ data */

int rndis_parse_packet(const uint8_t *msg, uint32_t len, struct rndis_frame *f)
{
	struct hvis_rndis_packet p;
	uint32_t body;

	memset(f, 0, sizeof(*f));
	if (len < 8 + sizeof(p) || rd32(msg) != HVIS_RNDIS_MSG_PACKET ||
	    rd32(msg + 4) != len)
		return -1;
	body = len - 8;
	memcpy(&p, msg + 8, sizeof(p));
	if (p.rp_data_offset < sizeof(p) || p.rp_data_offset > body ||
	    p.rp_data_len > body - p.rp_data_offset || p.rp_data_len < RNDIS_ETH_HLEN)
		return -1;
	f->off = 8 + p.rp_data_offset;
	f->len = p.rp_data_len;
	if (!p.rp_ppi_len)
		return 0;
	if (p.rp_ppi_offset < sizeof(p) || p.rp_ppi_offset > body ||
	    p.rp_ppi_len > body - p.rp_ppi_offset)
		return -1;
	for (uint32_t o = 0; o < p.rp_ppi_len;) {
		const uint8_t *rec = msg + 8 + p.rp_ppi_offset + o;
		uint32_t left = p.rp_ppi_len - o;
		struct hvis_rndis_ppi pi;

		if (left < sizeof(pi))
			return -1;
		memcpy(&pi, rec, sizeof(pi));
		if (pi.rpi_size < sizeof(pi) || pi.rpi_size > left ||
		    pi.rpi_offset < sizeof(pi) || pi.rpi_offset > pi.rpi_size)
			return -1;
		if (!(pi.rpi_type & HVIS_RNDIS_PPI_INTERNAL)) {
			switch (pi.rpi_type) {
			case HVIS_RNDIS_PPI_8021Q:
				if (pi.rpi_size - pi.rpi_offset < 4)
					return -1;
				{
					uint32_t v = rd32(rec + pi.rpi_offset);

					/* pri:3 cfi:1 vlan:12, low bits first */
					f->vlan_tci = (uint16_t)((v & 7u) << 13 |
						((v >> 3) & 1u) << 12 |
						((v >> 4) & 0xfffu));
					f->has_vlan = true;
				}
				break;
			case HVIS_RNDIS_PPI_CHECKSUM:
			case HVIS_RNDIS_PPI_LSO:
				if (pi.rpi_size - pi.rpi_offset >= 4 &&
				    rd32(rec + pi.rpi_offset))
					f->wants_offload = true;
				break;
			default:
				break;
			}
		}
		o += pi.rpi_size;
	}
	return 0;
}

void rndis_data_header(uint8_t *out, uint32_t frame_len)
{
	struct hvis_rndis_packet p = {
		.rp_data_offset = sizeof(p),
		.rp_data_len = frame_len,
	};

	put_hdr(out, HVIS_RNDIS_MSG_PACKET, RNDIS_DATA_HDR_LEN + frame_len);
	memcpy(out + 8, &p, sizeof(p));
}

void rndis_indicate(uint8_t *out, uint32_t status)
{
	struct hvis_rndis_indicate in = { .rin_status = status };

	put_hdr(out, HVIS_RNDIS_MSG_INDICATE, RNDIS_INDICATE_LEN);
	memcpy(out + 8, &in, sizeof(in));
}

bool rndis_filter_accepts(const struct rndis_dev *r, const uint8_t *frame,
			  uint32_t len)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t f = r->filter;

	if (!r->initialized || !f || len < RNDIS_ETH_HLEN)
		return false;
	if (f & (HVIS_RNDIS_FILTER_PROMISCUOUS | HVIS_RNDIS_FILTER_ALL_LOCAL))
		return true;
	if (!memcmp(frame, bcast, 6))
		return f & HVIS_RNDIS_FILTER_BROADCAST;
	if (frame[0] & 1)
		return f & (HVIS_RNDIS_FILTER_MULTICAST |
			    HVIS_RNDIS_FILTER_ALL_MULTICAST);
	return (f & HVIS_RNDIS_FILTER_DIRECTED) && !memcmp(frame, r->cfg.mac, 6);
}
