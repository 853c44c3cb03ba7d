// SPDX-License-Identifier: GPL-2.0-only
/*
 * storvsp: the synthetic SCSI controller (storvsp.h, <hvis/vstor.h>).
 *
 * Per channel: drain() copies each packet out of the guest's ring, checks
 * it and turns it into a command in one of STORVSP_QUEUE_DEPTH slots; a
 * command either completes at once (control operations, SCSI commands
 * that need no block I/O) or runs on the image and completes from its
 * aio callback. complete() sends the COMPLETION packet; when the ring to
 * the guest is full the command waits on the channel's transmit list and
 * keeps its slot, so a guest that does not drain its ring stops getting
 * new commands served, and nothing else waits on it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvis/ring.h>
#include <hvis/scsi.h>
#include <hvis/vmbus.h>

#include "scsi.h"
#include "storvsp.h"

#define PAGE			4096u
/* Pages a command's buffer may name: the transfer, one partial page. */
#define MAX_PFNS		(STORVSP_MAX_TRANSFER / PAGE + 1)
/* The largest guest packet we take: GPA-direct header, ranges, payload. */
#define MAX_PACKET		(sizeof(struct hvis_pkt_gpa_direct) + \
				 4 * sizeof(struct hvis_gpa_range) + \
				 (MAX_PFNS + 4) * sizeof(uint64_t) + \
				 HVIS_VSTOR_PACKET_SIZE)
#define MAX_CHANNELS		(1 + STORVSP_MAX_SUB_CHANNELS)

struct sv_disk {
	struct storvsp *c;
	struct img *img;
	struct scsi_disk sd;
	unsigned int lun;
	bool removing;			/* off the LUN table, commands in flight */
	unsigned int in_flight;
	struct storvsp_disk_stats st;
	struct sv_disk *next_dying;
};

struct sv_chan;

struct sv_cmd {
	struct sv_chan *ch;
	struct sv_cmd *next;		/* free list / transmit list */
	uint64_t trans_id;
	bool want_completion;
	uint32_t reply_len;		/* 64 or 48 bytes */
	struct hvis_vstor_packet pkt;	/* the request; the reply is built in it */
	struct sv_disk *disk;
	enum scsi_dir dir;
	struct iovec *iov;		/* MAX_PFNS entries */
	unsigned int iovcnt;
	uint32_t buf_len;		/* bytes of data buffer used */
	struct scsi_result res;
	unsigned int range;		/* UNMAP: next range */
	bool io;			/* went to the image (not answered by scsi.c) */
	struct img_req ireq;
};

struct sv_chan {
	struct storvsp *c;
	struct vmbus_device *vdev;
	uint16_t index;			/* 0 = primary */
	bool open;
	bool broken;			/* ring corrupt: serve nothing more */
	bool closing;
	uint64_t *ring_pfns;		/* sorted copy */
	uint32_t nring;
	struct sv_cmd *slots;
	struct sv_cmd *free;
	unsigned int in_flight;
	struct sv_cmd *tx, **tx_tail;	/* completions waiting for ring space */
	uint8_t *pkt;			/* MAX_PACKET bytes */
	bool in_drain;
	/*
	 * drain() stopped with every slot busy and packets left in the ring:
	 * the guest will not signal again (its ring is not empty), so the
	 * next freed slot drains.
	 */
	bool starved;
	bool logged_bad;		/* one line per channel for bad packets */
};

struct sv_reset {
	struct sv_chan *ch;
	uint64_t trans_id;
	uint32_t reply_len;
	uint32_t op;
};

struct storvsp {
	unsigned int index;
	struct hvis_guid instance;
	struct aio *aio;
	struct storvsp_options opt;
	struct storvsp_host_ops ops;
	struct sv_disk *luns[HVIS_VSTOR_MAX_LUNS];
	struct sv_disk *dying;

	/* per attach */
	struct vmbus_server *srv;
	uint32_t nvps;
	struct sv_chan *chans[MAX_CHANNELS];
	unsigned int nchans;
	uint16_t version;
	bool initializing, ready;
	bool enumerate_pending;
	struct sv_reset resets[8];
	unsigned int nresets;
};

static void drain(struct sv_chan *ch);
static void tx_flush(struct sv_chan *ch);

static const uint16_t versions[] = {
	HVIS_VSTOR_VERSION_WIN10, HVIS_VSTOR_VERSION_WIN8_1,
	HVIS_VSTOR_VERSION_WIN8, HVIS_VSTOR_VERSION_WIN7,
	HVIS_VSTOR_VERSION_WIN6,
};

/* ------------------------------------------------------------ logging */

static void sv_log(struct storvsp *c, enum vmbus_log_level lvl,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void sv_log(struct storvsp *c, enum vmbus_log_level lvl,
		   const char *fmt, ...)
{
	char line[256];
	int n;
	va_list ap;

	if (!c->ops.log)
		return;
	n = snprintf(line, sizeof(line), "scsi%u: ", c->index);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	c->ops.log(c->ops.opaque, lvl, line);
}

/* ------------------------------------------------------------ sending */

static int send_pkt(struct sv_chan *ch, uint16_t type, uint64_t trans_id,
		    const void *body, uint32_t len)
{
	struct hvis_pkt_desc d = { .pd_type = type, .pd_trans_id = trans_id };
	struct hvis_iov iov = { .base = body, .len = len };

	if (!ch->open || ch->broken)
		return -HVIS_RING_INVAL;
	return vmbus_device_send(ch->vdev, &d, 0, &iov, 1);
}

static void cmd_free(struct sv_cmd *cmd)
{
	struct sv_chan *ch = cmd->ch;

	cmd->next = ch->free;
	ch->free = cmd;
	ch->in_flight--;
	if (ch->starved && !ch->in_drain && ch->open && !ch->closing) {
		ch->starved = false;
		drain(ch);
	}
}

static uint32_t controller_in_flight(const struct storvsp *c)
{
	uint32_t n = 0;

	for (unsigned int i = 0; i < c->nchans; i++)
		n += c->chans[i]->in_flight;
	return n;
}

/*
 * Resets answer once nothing the guest sent before them is in flight
 * (queued completions count). An answer that does not fit the ring stays
 * pending and asks the guest to signal when there is room.
 */
static void resets_check(struct storvsp *c)
{
	unsigned int keep = 0;

	if (!c->nresets || controller_in_flight(c))
		return;
	for (unsigned int i = 0; i < c->nresets; i++) {
		struct sv_reset *r = &c->resets[i];
		struct hvis_vstor_packet p = {
			.vp_operation = HVIS_VSTOR_OP_COMPLETE_IO,
		};

		if (r->ch->open &&
		    send_pkt(r->ch, HVIS_PKT_COMPLETION, r->trans_id, &p,
			     r->reply_len) == -HVIS_RING_FULL) {
			hvis_ring_request_space(vmbus_device_out_ring(r->ch->vdev),
						(uint32_t)sizeof(struct hvis_pkt_desc) +
						r->reply_len + 16);
			c->resets[keep++] = *r;
		}
	}
	c->nresets = keep;
}

/* The command is done: answer it (or queue the answer), free the slot. */
static void complete(struct sv_cmd *cmd)
{
	struct sv_chan *ch = cmd->ch;
	int rc;

	if (ch->closing || !ch->open || !cmd->want_completion) {
		cmd_free(cmd);
		return;
	}
	if (ch->tx) {		/* keep the order */
		cmd->next = NULL;
		*ch->tx_tail = cmd;
		ch->tx_tail = &cmd->next;
		return;
	}
	rc = send_pkt(ch, HVIS_PKT_COMPLETION, cmd->trans_id, &cmd->pkt,
		      cmd->reply_len);
	if (rc == -HVIS_RING_FULL) {
		cmd->next = NULL;
		ch->tx = cmd;
		ch->tx_tail = &cmd->next;
		if (hvis_ring_request_space(vmbus_device_out_ring(ch->vdev),
					    (uint32_t)sizeof(struct hvis_pkt_desc) +
					    cmd->reply_len + 16) == 1)
			tx_flush(ch);
		return;
	}
	if (rc)
		sv_log(ch->c, VMBUS_LOG_WARN, "channel %u: completion lost: %s",
		       ch->index, hvis_ring_strerror(rc));
	cmd_free(cmd);
}

static void tx_flush(struct sv_chan *ch)
{
	while (ch->tx && ch->open && !ch->broken) {
		struct sv_cmd *cmd = ch->tx;
		int rc = send_pkt(ch, HVIS_PKT_COMPLETION, cmd->trans_id,
				  &cmd->pkt, cmd->reply_len);

		if (rc == -HVIS_RING_FULL) {
			if (hvis_ring_request_space(vmbus_device_out_ring(ch->vdev),
						    (uint32_t)sizeof(struct hvis_pkt_desc) +
						    cmd->reply_len + 16) == 1)
				continue;
			return;
		}
		ch->tx = cmd->next;
		if (!ch->tx)
			ch->tx_tail = &ch->tx;
		cmd_free(cmd);
	}
	if (!ch->tx && ch->open && vmbus_device_out_ring(ch->vdev) &&
	    !ch->c->nresets && !ch->c->enumerate_pending)
		hvis_ring_cancel_space_request(vmbus_device_out_ring(ch->vdev));
	resets_check(ch->c);
}

static void send_enumerate(struct storvsp *c)
{
	struct hvis_vstor_packet p = {
		.vp_operation = HVIS_VSTOR_OP_ENUMERATE_BUS,
	};
	struct sv_chan *ch = c->nchans ? c->chans[0] : NULL;
	uint32_t len = c->version >= HVIS_VSTOR_VERSION_WIN8 ?
		       HVIS_VSTOR_PACKET_SIZE : HVIS_VSTOR_PACKET_SIZE_PRE_WIN8;
	int rc;

	if (!ch || !ch->open || !c->ready) {
		c->enumerate_pending = false;	/* the guest scans at init */
		return;
	}
	rc = send_pkt(ch, HVIS_PKT_DATA_INBAND, 0, &p, len);
	/* full: the guest signals us once it made room (pending_send_sz) */
	if (rc == -HVIS_RING_FULL &&
	    hvis_ring_request_space(vmbus_device_out_ring(ch->vdev),
				    (uint32_t)sizeof(struct hvis_pkt_desc) +
				    len + 16) == 1)
		rc = send_pkt(ch, HVIS_PKT_DATA_INBAND, 0, &p, len);
	c->enumerate_pending = rc == -HVIS_RING_FULL;
}

/* ------------------------------------------------------------ SRBs */

static uint32_t sense_room(const struct storvsp *c)
{
	return c->version && c->version < HVIS_VSTOR_VERSION_WIN8 ?
	       HVIS_VSTOR_SENSE_SIZE_PRE_WIN8 : HVIS_VSTOR_SENSE_SIZE;
}

/* Fill the SRB reply from a finished SCSI result. */
static void srb_reply(struct sv_cmd *cmd)
{
	struct hvis_vstor_srb *srb = &cmd->pkt.vp_srb;
	struct scsi_result *r = &cmd->res;
	struct sv_disk *d = cmd->disk;
	uint32_t room = srb->vs_sense_info_length;

	cmd->pkt.vp_operation = HVIS_VSTOR_OP_COMPLETE_IO;
	cmd->pkt.vp_status = HVIS_VSTOR_STATUS_SUCCESS;
	srb->vs_scsi_status = r->status;
	if (r->status == HVIS_SCSI_STATUS_GOOD) {
		srb->vs_srb_status = HVIS_SRB_STATUS_SUCCESS;
		srb->vs_sense_info_length = 0;
		srb->vs_data_transfer_length =
			cmd->dir == SCSI_DIR_IN ? r->xfer :
			cmd->dir == SCSI_DIR_OUT ? cmd->buf_len : 0;
		return;
	}
	if (d) {
		d->st.errors++;
		/* the image failed a read, write, flush or unmap */
		if (cmd->io)
			d->st.io_errors++;
	}
	srb->vs_data_transfer_length = 0;
	if (room > sense_room(cmd->ch->c))
		room = sense_room(cmd->ch->c);
	if (r->status == HVIS_SCSI_STATUS_CHECK_CONDITION && r->sense_len) {
		uint32_t n = r->sense_len < room ? r->sense_len : room;

		memset(srb->vs_sense, 0, sizeof(srb->vs_sense));
		memcpy(srb->vs_sense, r->sense, n);
		srb->vs_sense_info_length = (uint8_t)n;
		srb->vs_srb_status = HVIS_SRB_STATUS_ERROR |
				     HVIS_SRB_STATUS_AUTOSENSE_VALID;
	} else {
		srb->vs_sense_info_length = 0;
		srb->vs_srb_status = HVIS_SRB_STATUS_ERROR;
	}
}

/* Answer an SRB with an SRB status (and no SCSI status), vstor @status. */
static void srb_fail_status(struct sv_cmd *cmd, uint8_t srb_status,
			    uint32_t status)
{
	struct hvis_vstor_srb *srb = &cmd->pkt.vp_srb;

	cmd->pkt.vp_operation = HVIS_VSTOR_OP_COMPLETE_IO;
	cmd->pkt.vp_status = status;
	srb->vs_srb_status = srb_status;
	srb->vs_scsi_status = 0;
	srb->vs_sense_info_length = 0;
	srb->vs_data_transfer_length = 0;
	complete(cmd);
}

static void srb_fail(struct sv_cmd *cmd, uint8_t srb_status)
{
	srb_fail_status(cmd, srb_status, HVIS_VSTOR_STATUS_SUCCESS);
}

static void disk_put(struct sv_disk *d);

static void srb_done(struct sv_cmd *cmd)
{
	struct sv_disk *d = cmd->disk;

	srb_reply(cmd);
	complete(cmd);
	if (d) {
		d->in_flight--;
		disk_put(d);
	}
	resets_check(cmd->ch->c);
}

static void io_submit_next(struct sv_cmd *cmd);

static void io_done(struct img_req *req, int err)
{
	struct sv_cmd *cmd = req->opaque;
	struct sv_disk *d = cmd->disk;

	if (!err && cmd->res.op == SCSI_IO_UNMAP &&
	    cmd->range < cmd->res.nranges) {
		io_submit_next(cmd);
		return;
	}
	if (!err) {
		switch (cmd->res.op) {
		case SCSI_IO_READ:
			d->st.bytes_read += req->len;
			break;
		case SCSI_IO_WRITE:
			d->st.bytes_written += req->len;
			break;
		default:
			break;
		}
	}
	scsi_io_done(&d->sd, &cmd->res, err);
	srb_done(cmd);
}

static void io_submit_next(struct sv_cmd *cmd)
{
	struct sv_disk *d = cmd->disk;
	struct img_req *q = &cmd->ireq;
	uint64_t bs = d->sd.block_size;

	memset(q, 0, sizeof(*q));
	q->done = io_done;
	q->opaque = cmd;
	switch (cmd->res.op) {
	case SCSI_IO_READ:
	case SCSI_IO_WRITE:
		q->op = cmd->res.op == SCSI_IO_READ ? IMG_READ : IMG_WRITE;
		q->off = cmd->res.lba * bs;
		q->len = (uint64_t)cmd->res.nblocks * bs;
		q->iov = cmd->iov;
		q->iovcnt = cmd->iovcnt;
		q->fua = cmd->res.fua;
		if (q->op == IMG_READ)
			d->st.reads++;
		else
			d->st.writes++;
		break;
	case SCSI_IO_FLUSH:
		q->op = IMG_FLUSH;
		d->st.flushes++;
		break;
	case SCSI_IO_UNMAP: {
		const struct scsi_range *r = &cmd->res.ranges[cmd->range++];

		q->op = IMG_DISCARD;
		q->off = r->lba * bs;
		q->len = (uint64_t)r->nblocks * bs;
		if (cmd->range == 1)
			d->st.unmaps++;
		break;
	}
	case SCSI_IO_WRITE_ZEROES:
		q->op = IMG_WRITE_ZEROES;
		q->off = cmd->res.lba * bs;
		q->len = (uint64_t)cmd->res.nblocks * bs;
		d->st.unmaps++;
		break;
	}
	if (cmd->res.op == SCSI_IO_UNMAP && !cmd->res.nranges) {
		scsi_io_done(&d->sd, &cmd->res, 0);
		srb_done(cmd);
		return;
	}
	img_submit(d->img, q);
}

static int pfn_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool pfn_in_ring(const struct sv_chan *ch, uint64_t pfn)
{
	return ch->nring &&
	       bsearch(&pfn, ch->ring_pfns, ch->nring, sizeof(uint64_t),
		       pfn_cmp) != NULL;
}

/*
 * The GPA-direct page list between the descriptor and the payload
 * (@hdr, @hdr_len bytes) as host iovecs in cmd->iov. 0, or -1 if it does
 * not describe a buffer we may touch.
 */
static int map_buffer(struct sv_chan *ch, struct sv_cmd *cmd,
		      const uint8_t *hdr, uint32_t hdr_len)
{
	struct storvsp *c = ch->c;
	uint32_t nranges, pos = 8, total = 0, npfn = 0;
	void *prev_end = NULL;

	cmd->iovcnt = 0;
	if (hdr_len < 8)
		return -1;
	memcpy(&nranges, hdr + 4, 4);
	if (!nranges || nranges > 4)
		return -1;
	for (uint32_t r = 0; r < nranges; r++) {
		struct hvis_gpa_range gr;
		uint32_t n;

		if (hdr_len - pos < sizeof(gr))
			return -1;
		memcpy(&gr, hdr + pos, sizeof(gr));
		pos += sizeof(gr);
		if (gr.gr_byte_offset >= PAGE || !gr.gr_byte_count ||
		    gr.gr_byte_count > STORVSP_MAX_TRANSFER - total)
			return -1;
		n = (gr.gr_byte_offset + gr.gr_byte_count + PAGE - 1) / PAGE;
		if (n > MAX_PFNS - npfn || (hdr_len - pos) / 8 < n)
			return -1;
		for (uint32_t k = 0, left = gr.gr_byte_count; k < n; k++) {
			uint64_t pfn;
			uint8_t *page;
			uint32_t off = k ? 0 : gr.gr_byte_offset;
			uint32_t len = PAGE - off < left ? PAGE - off : left;

			memcpy(&pfn, hdr + pos + 8 * k, 8);
			page = pfn_in_ring(ch, pfn) ? NULL :
			       c->ops.guest_page(c->ops.opaque, pfn);
			if (!page)
				return -1;
			if (prev_end == page + off) {
				cmd->iov[cmd->iovcnt - 1].iov_len += len;
			} else {
				cmd->iov[cmd->iovcnt].iov_base = page + off;
				cmd->iov[cmd->iovcnt].iov_len = len;
				cmd->iovcnt++;
			}
			prev_end = page + off + len;
			left -= len;
		}
		pos += 8 * n;
		npfn += n;
		total += gr.gr_byte_count;
	}
	cmd->buf_len = total;
	return 0;
}

static void do_srb(struct sv_chan *ch, struct sv_cmd *cmd,
		   const struct hvis_pkt_desc *desc, const uint8_t *hdr,
		   uint32_t hdr_len)
{
	struct storvsp *c = ch->c;
	struct hvis_vstor_srb *srb = &cmd->pkt.vp_srb;
	struct scsi_buf buf;
	struct sv_disk *d = NULL;
	uint32_t xfer = srb->vs_data_transfer_length;

	cmd->disk = NULL;
	cmd->buf_len = 0;
	cmd->iovcnt = 0;
	cmd->io = false;
	memset(&cmd->res, 0, sizeof(cmd->res));
	if (!c->ready) {
		srb_fail_status(cmd, HVIS_SRB_STATUS_INVALID_REQUEST,
				HVIS_VSTOR_STATUS_INVALID_DEVICE_STATE);
		return;
	}
	switch (srb->vs_data_in) {
	case HVIS_VSTOR_DATA_WRITE:
		cmd->dir = SCSI_DIR_OUT;
		break;
	case HVIS_VSTOR_DATA_READ:
		cmd->dir = SCSI_DIR_IN;
		break;
	case HVIS_VSTOR_DATA_NONE:
		cmd->dir = SCSI_DIR_NONE;
		break;
	default:
		srb_fail(cmd, HVIS_SRB_STATUS_INVALID_REQUEST);
		return;
	}
	if (!srb->vs_cdb_length || srb->vs_cdb_length > HVIS_VSTOR_CDB_MAX) {
		srb_fail(cmd, HVIS_SRB_STATUS_INVALID_REQUEST);
		return;
	}
	if (desc->pd_type == HVIS_PKT_DATA_USING_GPA_DIRECT) {
		if (map_buffer(ch, cmd, hdr, hdr_len)) {
			if (!ch->logged_bad)
				sv_log(c, VMBUS_LOG_WARN,
				       "channel %u: SRB with a bad page list (outside guest memory, over the ring, or malformed): failed",
				       ch->index);
			ch->logged_bad = true;
			srb_fail(cmd, HVIS_SRB_STATUS_INVALID_REQUEST);
			return;
		}
	}
	if (cmd->dir == SCSI_DIR_NONE) {
		cmd->iovcnt = 0;
		cmd->buf_len = 0;
	} else if (xfer > cmd->buf_len) {
		/* more data than pages: refuse rather than guess */
		srb_fail(cmd, HVIS_SRB_STATUS_INVALID_REQUEST);
		return;
	} else {
		cmd->buf_len = xfer;
	}
	buf.iov = cmd->iov;
	buf.iovcnt = cmd->iovcnt;
	buf.len = cmd->buf_len;

	if (!srb->vs_path_id && !srb->vs_target_id &&
	    srb->vs_lun < HVIS_VSTOR_MAX_LUNS)
		d = c->luns[srb->vs_lun];
	if (srb->vs_cdb[0] == HVIS_SCSI_OP_REPORT_LUNS) {
		uint16_t luns[HVIS_VSTOR_MAX_LUNS];
		unsigned int n = 0;

		if (!srb->vs_path_id && !srb->vs_target_id)
			for (unsigned int i = 0; i < HVIS_VSTOR_MAX_LUNS; i++)
				if (c->luns[i])
					luns[n++] = (uint16_t)i;
		scsi_report_luns(luns, n, srb->vs_cdb, srb->vs_cdb_length,
				 cmd->dir, &buf, &cmd->res);
		srb_done(cmd);
		return;
	}
	if (!d) {
		if (srb->vs_cdb[0] == HVIS_SCSI_OP_INQUIRY ||
		    srb->vs_cdb[0] == HVIS_SCSI_OP_REQUEST_SENSE) {
			scsi_exec_no_lun(srb->vs_cdb, srb->vs_cdb_length,
					 cmd->dir, &buf, &cmd->res);
			srb_done(cmd);
			return;
		}
		/* Linux takes this as "the LUN is gone" and removes it */
		srb_fail(cmd, HVIS_SRB_STATUS_INVALID_LUN);
		return;
	}
	scsi_exec(&d->sd, srb->vs_cdb, srb->vs_cdb_length, cmd->dir, &buf,
		  &cmd->res);
	cmd->disk = d;
	d->in_flight++;
	if (cmd->res.kind == SCSI_DONE) {
		d->st.others++;
		srb_done(cmd);
		return;
	}
	cmd->range = 0;
	cmd->io = true;
	io_submit_next(cmd);
}

/* ------------------------------------------------------------ control */

static bool version_ok(const struct storvsp *c, uint16_t v)
{
	uint16_t max = c->opt.max_version ? c->opt.max_version :
		       HVIS_VSTOR_VERSION_WIN10;

	if (v > max)
		return false;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (versions[i] == v)
			return true;
	return false;
}

static uint32_t sub_channels_allowed(const struct storvsp *c)
{
	uint32_t n = c->opt.max_sub_channels ? c->opt.max_sub_channels :
		     (c->nvps > 1 ? c->nvps - 1 : 0);

	if (c->opt.ide || c->version < HVIS_VSTOR_VERSION_WIN8)
		return 0;
	return n > STORVSP_MAX_SUB_CHANNELS ? STORVSP_MAX_SUB_CHANNELS : n;
}

static int add_sub_channels(struct storvsp *c, uint32_t n);

/* A non-SRB operation: answer at once (resets: once drained). */
static void do_control(struct sv_chan *ch, struct sv_cmd *cmd)
{
	struct storvsp *c = ch->c;
	struct hvis_vstor_packet *p = &cmd->pkt;
	uint32_t op = p->vp_operation;
	uint32_t status = HVIS_VSTOR_STATUS_SUCCESS;

	if (ch->index && op != HVIS_VSTOR_OP_EXECUTE_SRB) {
		status = HVIS_VSTOR_STATUS_INVALID_DEVICE_STATE;
		goto answer;
	}
	switch (op) {
	case HVIS_VSTOR_OP_BEGIN_INITIALIZATION:
		c->initializing = true;
		c->ready = false;
		c->version = 0;
		break;
	case HVIS_VSTOR_OP_QUERY_PROTOCOL_VERSION: {
		uint16_t v = p->vp_version.vpv_major_minor;

		if (!c->initializing || !version_ok(c, v)) {
			status = HVIS_VSTOR_STATUS_REVISION_MISMATCH;
			break;
		}
		c->version = v;
		cmd->reply_len = v >= HVIS_VSTOR_VERSION_WIN8 ?
				 HVIS_VSTOR_PACKET_SIZE :
				 HVIS_VSTOR_PACKET_SIZE_PRE_WIN8;
		break;
	}
	case HVIS_VSTOR_OP_QUERY_PROPERTIES: {
		uint32_t nsub = sub_channels_allowed(c);

		if (!c->initializing || !c->version) {
			status = HVIS_VSTOR_STATUS_INVALID_DEVICE_STATE;
			break;
		}
		memset(&p->vp_props, 0, sizeof(p->vp_props));
		p->vp_props.vcp_max_channel_count = (uint16_t)nsub;
		p->vp_props.vcp_flags = nsub ? HVIS_VSTOR_PROP_MULTI_CHANNEL : 0;
		p->vp_props.vcp_max_transfer_bytes = STORVSP_MAX_TRANSFER;
		break;
	}
	case HVIS_VSTOR_OP_END_INITIALIZATION:
		if (!c->initializing || !c->version) {
			status = HVIS_VSTOR_STATUS_INVALID_DEVICE_STATE;
			break;
		}
		c->initializing = false;
		c->ready = true;
		sv_log(c, VMBUS_LOG_INFO, "guest initialised the controller (protocol %u.%u)",
		       c->version >> 8, c->version & 0xFF);
		break;
	case HVIS_VSTOR_OP_CREATE_SUB_CHANNELS: {
		uint32_t n = p->vp_sub_channel_count;

		uint32_t allowed = sub_channels_allowed(c);
		uint32_t have = c->nchans ? c->nchans - 1 : 0;

		if (!c->ready || !n || have >= allowed || n > allowed - have) {
			status = HVIS_VSTOR_STATUS_UNSUCCESSFUL;
			break;
		}
		/* answer first; the offers follow on the message path */
		p->vp_operation = HVIS_VSTOR_OP_COMPLETE_IO;
		p->vp_status = status;
		complete(cmd);
		if (add_sub_channels(c, n))
			sv_log(c, VMBUS_LOG_ERROR, "cannot add %u sub-channels", n);
		return;
	}
	case HVIS_VSTOR_OP_RESET_LUN:
	case HVIS_VSTOR_OP_RESET_BUS:
	case HVIS_VSTOR_OP_RESET_ADAPTER:
		if (!cmd->want_completion)
			break;
		if (c->nresets < sizeof(c->resets) / sizeof(c->resets[0])) {
			struct sv_reset *r = &c->resets[c->nresets++];

			r->ch = ch;
			r->trans_id = cmd->trans_id;
			r->reply_len = cmd->reply_len;
			r->op = op;
			cmd->want_completion = false;
			complete(cmd);
			resets_check(c);
			return;
		}
		break;		/* too many: answered now */
	default:
		/* FCHBA_DATA (not a Fibre Channel HBA) and anything unknown */
		status = HVIS_VSTOR_STATUS_UNSUCCESSFUL;
		break;
	}
answer:
	p->vp_operation = HVIS_VSTOR_OP_COMPLETE_IO;
	p->vp_status = status;
	complete(cmd);
}

/* ------------------------------------------------------------ receive */

static void handle_packet(struct sv_chan *ch, const struct hvis_ring_pkt *rp,
			  const uint8_t *pkt)
{
	struct storvsp *c = ch->c;
	const struct hvis_pkt_desc *desc = &rp->desc;
	uint32_t plen = rp->len - rp->data_off;
	struct sv_cmd *cmd;

	if (desc->pd_type == HVIS_PKT_COMPLETION)
		return;		/* we ask for none */
	if (desc->pd_type != HVIS_PKT_DATA_INBAND &&
	    desc->pd_type != HVIS_PKT_DATA_USING_GPA_DIRECT) {
		if (!ch->logged_bad)
			sv_log(c, VMBUS_LOG_WARN, "channel %u: packet type %u ignored",
			       ch->index, desc->pd_type);
		ch->logged_bad = true;
		return;
	}
	cmd = ch->free;
	ch->free = cmd->next;
	ch->in_flight++;
	cmd->trans_id = desc->pd_trans_id;
	cmd->disk = NULL;
	memset(&cmd->pkt, 0, sizeof(cmd->pkt));
	memcpy(&cmd->pkt, pkt + rp->data_off,
	       plen < sizeof(cmd->pkt) ? plen : sizeof(cmd->pkt));
	cmd->want_completion = (desc->pd_flags & HVIS_PKT_FLAG_COMPLETION_REQUESTED) ||
			       (cmd->pkt.vp_flags & HVIS_VSTOR_FLAG_REQUEST_COMPLETION);
	if (c->version)
		cmd->reply_len = c->version >= HVIS_VSTOR_VERSION_WIN8 ?
				 HVIS_VSTOR_PACKET_SIZE :
				 HVIS_VSTOR_PACKET_SIZE_PRE_WIN8;
	else
		cmd->reply_len = plen >= HVIS_VSTOR_PACKET_SIZE ?
				 HVIS_VSTOR_PACKET_SIZE :
				 HVIS_VSTOR_PACKET_SIZE_PRE_WIN8;
	if (plen < 16 || (cmd->pkt.vp_operation == HVIS_VSTOR_OP_EXECUTE_SRB &&
			  plen < cmd->reply_len)) {
		/* too short for what it claims to be */
		if (!ch->logged_bad)
			sv_log(c, VMBUS_LOG_WARN, "channel %u: %u-byte packet too short",
			       ch->index, plen);
		ch->logged_bad = true;
		if (cmd->pkt.vp_operation == HVIS_VSTOR_OP_EXECUTE_SRB) {
			srb_fail(cmd, HVIS_SRB_STATUS_INVALID_REQUEST);
		} else {
			cmd->pkt.vp_operation = HVIS_VSTOR_OP_COMPLETE_IO;
			cmd->pkt.vp_status = HVIS_VSTOR_STATUS_UNSUCCESSFUL;
			complete(cmd);
		}
		return;
	}
	if (cmd->reply_len == HVIS_VSTOR_PACKET_SIZE_PRE_WIN8)
		/* the Windows 8 extension is not there: do not read it */
		memset((uint8_t *)&cmd->pkt + HVIS_VSTOR_PACKET_SIZE_PRE_WIN8, 0,
		       HVIS_VSTOR_WIN8_EXT_SIZE);
	if (cmd->pkt.vp_operation == HVIS_VSTOR_OP_EXECUTE_SRB)
		do_srb(ch, cmd, desc, pkt + sizeof(*desc),
		       rp->data_off - (uint32_t)sizeof(*desc));
	else
		do_control(ch, cmd);
}

static void drain(struct sv_chan *ch)
{
	struct hvis_ring *r;
	unsigned int n = 0;

	if (!ch->open || ch->broken || ch->closing)
		return;
	r = vmbus_device_in_ring(ch->vdev);
	if (!r || ch->in_drain)
		return;
	ch->in_drain = true;
again:
	while (ch->free && ch->open && !ch->broken) {
		struct hvis_ring_pkt rp;
		int rc = hvis_ring_peek(r, &rp);

		if (rc == -HVIS_RING_EMPTY)
			break;
		if (!rc && (rp.len > MAX_PACKET || rp.data_off < sizeof(rp.desc) ||
			    rp.data_off > rp.len)) {
			if (!ch->logged_bad)
				sv_log(ch->c, VMBUS_LOG_WARN,
				       "channel %u: %u-byte packet dropped (too large)",
				       ch->index, rp.len);
			ch->logged_bad = true;
			rc = hvis_ring_consume(r, &rp);
			if (!rc) {
				n++;
				continue;
			}
		}
		if (!rc)
			rc = hvis_ring_copy_out(r, &rp, 0, ch->pkt, rp.len);
		if (!rc)
			rc = hvis_ring_consume(r, &rp);
		if (rc) {
			sv_log(ch->c, VMBUS_LOG_WARN,
			       "channel %u: ring from the guest broken (%s): channel stopped",
			       ch->index, hvis_ring_strerror(rc));
			ch->broken = true;
			break;
		}
		n++;
		handle_packet(ch, &rp, ch->pkt);
		/* commit now and then so the guest sees room early */
		if (!(n % 32))
			vmbus_device_recv_done(ch->vdev);
	}
	if (n && ch->open && !ch->broken)
		vmbus_device_recv_done(ch->vdev);
	/*
	 * A packet the guest wrote after our last look but before the read
	 * index above was published found the ring "not empty" and sent no
	 * signal: look once more now that the index is out (commit has the
	 * barrier), and go round again if anything is there.
	 */
	if (n && ch->free && ch->open && !ch->broken &&
	    vmbus_device_in_ring(ch->vdev) &&
	    hvis_ring_bytes_to_read(vmbus_device_in_ring(ch->vdev)) > 0) {
		n = 0;
		goto again;
	}
	ch->starved = !ch->free && ch->open && !ch->broken;
	ch->in_drain = false;
	aio_flush(ch->c->aio);
}

/* ------------------------------------------------------------ channels */

static void chan_free_slots(struct sv_chan *ch)
{
	if (ch->slots)
		for (unsigned int i = 0; i < STORVSP_QUEUE_DEPTH; i++)
			free(ch->slots[i].iov);
	free(ch->slots);
	ch->slots = NULL;
	ch->free = NULL;
	free(ch->ring_pfns);
	ch->ring_pfns = NULL;
	ch->nring = 0;
	free(ch->pkt);
	ch->pkt = NULL;
}

static int d_open(struct vmbus_device *dev, void *opaque,
		  const struct vmbus_open_info *info)
{
	struct sv_chan *ch = opaque;
	const uint64_t *pfns;
	uint32_t n;

	(void)info;
	ch->slots = calloc(STORVSP_QUEUE_DEPTH, sizeof(*ch->slots));
	ch->pkt = malloc(MAX_PACKET);
	if (!ch->slots || !ch->pkt)
		goto nomem;
	for (unsigned int i = 0; i < STORVSP_QUEUE_DEPTH; i++) {
		struct sv_cmd *cmd = &ch->slots[i];

		cmd->ch = ch;
		cmd->iov = calloc(MAX_PFNS, sizeof(*cmd->iov));
		if (!cmd->iov)
			goto nomem;
		cmd->next = ch->free;
		ch->free = cmd;
	}
	if (!vmbus_device_ring_pfns(dev, &pfns, &n) && n) {
		ch->ring_pfns = malloc(n * sizeof(uint64_t));
		if (!ch->ring_pfns)
			goto nomem;
		memcpy(ch->ring_pfns, pfns, n * sizeof(uint64_t));
		qsort(ch->ring_pfns, n, sizeof(uint64_t), pfn_cmp);
		ch->nring = n;
	}
	ch->in_flight = 0;
	ch->tx = NULL;
	ch->tx_tail = &ch->tx;
	ch->broken = false;
	ch->closing = false;
	ch->logged_bad = false;
	ch->in_drain = false;
	ch->starved = false;
	ch->open = true;
	if (!ch->index) {
		ch->c->version = 0;
		ch->c->ready = false;
		ch->c->initializing = false;
	}
	sv_log(ch->c, VMBUS_LOG_DEBUG, "channel %u open", ch->index);
	return 0;
nomem:
	chan_free_slots(ch);
	return -ENOMEM;
}

static void d_close(struct vmbus_device *dev, void *opaque)
{
	struct sv_chan *ch = opaque;
	struct storvsp *c = ch->c;

	(void)dev;
	if (!ch->open)
		return;
	/* no completion may touch the rings or guest pages after this */
	ch->closing = true;
	aio_drain(c->aio);
	while (ch->tx) {
		struct sv_cmd *cmd = ch->tx;

		ch->tx = cmd->next;
		cmd_free(cmd);
	}
	ch->open = false;
	chan_free_slots(ch);
	for (unsigned int i = 0; i < c->nresets; i++)
		if (c->resets[i].ch == ch)
			c->resets[i--] = c->resets[--c->nresets];
	if (!ch->index) {
		c->ready = false;
		c->initializing = false;
		/* sub-channels live only as long as their primary is open */
		while (c->nchans > 1) {
			struct sv_chan *sc = c->chans[--c->nchans];

			vmbus_server_rescind(sc->vdev);
		}
	}
	resets_check(c);
}

static void d_packet_in(struct vmbus_device *dev, void *opaque)
{
	struct sv_chan *ch = opaque;

	(void)dev;
	tx_flush(ch);
	if (ch->index == 0 && ch->c->enumerate_pending)
		send_enumerate(ch->c);
	drain(ch);
}

static void d_rescinded(struct vmbus_device *dev, void *opaque)
{
	struct sv_chan *ch = opaque;
	struct storvsp *c = ch->c;

	(void)dev;
	for (unsigned int i = 0; i < c->nchans; i++)
		if (c->chans[i] == ch)
			c->chans[i] = c->chans[--c->nchans];
	chan_free_slots(ch);
	free(ch);
}

static const struct vmbus_device_ops sv_ops = {
	.open = d_open,
	.close = d_close,
	.packet_in = d_packet_in,
	.rescinded = d_rescinded,
};

static struct sv_chan *chan_add(struct storvsp *c, uint16_t index)
{
	struct vmbus_offer_params p = {
		.class_id = c->opt.ide ? (struct hvis_guid)HVIS_GUID_IDE :
					 (struct hvis_guid)HVIS_GUID_SCSI,
		.instance_id = c->instance,
		.sub_channel_index = index,
	};
	struct sv_chan *ch;

	if (c->nchans >= MAX_CHANNELS)
		return NULL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->c = c;
	ch->index = index;
	ch->tx_tail = &ch->tx;
	c->chans[c->nchans++] = ch;
	ch->vdev = vmbus_server_add_device_ex(c->srv, &p, &sv_ops, ch);
	if (!ch->vdev) {
		c->nchans--;
		free(ch);
		return NULL;
	}
	return ch;
}

static int add_sub_channels(struct storvsp *c, uint32_t n)
{
	uint16_t next = 1;

	for (unsigned int i = 0; i < c->nchans; i++)
		if (c->chans[i]->index >= next)
			next = (uint16_t)(c->chans[i]->index + 1);
	for (uint32_t i = 0; i < n; i++)
		if (!chan_add(c, (uint16_t)(next + i)))
			return -ENOMEM;
	return 0;
}

/* ------------------------------------------------------------ disks */

static void disk_close(struct sv_disk *d)
{
	img_close(d->img);
	free(d);
}

/* A removed disk goes once its last command finished. */
static void disk_put(struct sv_disk *d)
{
	struct storvsp *c = d->c;

	if (!d->removing || d->in_flight)
		return;
	for (struct sv_disk **pp = &c->dying; *pp; pp = &(*pp)->next_dying)
		if (*pp == d) {
			*pp = d->next_dying;
			break;
		}
	disk_close(d);
}

static void copy_str(char *dst, size_t size, const char *src, const char *def)
{
	snprintf(dst, size, "%s", src && *src ? src : def);
}

int storvsp_add_disk(struct storvsp *c, const struct storvsp_disk_cfg *cfg,
		     char *err, size_t errlen)
{
	struct img_opts io = {
		.path = cfg->path, .format = cfg->format,
		.read_only = cfg->read_only,
	};
	struct sv_disk *d;
	uint8_t id[16];
	char hex[33];
	int rc;

	if (cfg->lun >= HVIS_VSTOR_MAX_LUNS) {
		snprintf(err, errlen, "LUN %u out of range (0..%u)", cfg->lun,
			 HVIS_VSTOR_MAX_LUNS - 1);
		return -EINVAL;
	}
	if (c->luns[cfg->lun]) {
		snprintf(err, errlen, "LUN %u is taken", cfg->lun);
		return -EEXIST;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = img_open(&io, c->aio, &d->img, err, errlen);
	if (rc) {
		free(d);
		return rc;
	}
	d->c = c;
	d->lun = cfg->lun;
	img_uuid(d->img, id);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	d->sd.block_size = 512;
	d->sd.phys_block_size = 4096;
	d->sd.nblocks = img_size(d->img) / 512;
	d->sd.read_only = img_read_only(d->img);
	d->sd.can_unmap = !cfg->no_unmap && !d->sd.read_only;
	d->sd.write_cache = true;	/* buffered: flushes are fdatasync */
	d->sd.rotational = cfg->rotational;
	copy_str(d->sd.vendor, sizeof(d->sd.vendor), cfg->vendor, "Msft");
	copy_str(d->sd.product, sizeof(d->sd.product), cfg->product, "Virtual Disk");
	copy_str(d->sd.revision, sizeof(d->sd.revision), NULL, "1.0");
	copy_str(d->sd.serial, sizeof(d->sd.serial), cfg->serial, hex);
	memcpy(d->sd.id, id, 16);
	d->sd.max_xfer_blocks = STORVSP_MAX_TRANSFER / 512;
	d->sd.opt_xfer_blocks = 0;
	d->sd.max_unmap_blocks = 0xFFFFFFFFu;
	d->sd.max_unmap_descs = SCSI_MAX_RANGES;
	if (scsi_disk_validate(&d->sd)) {
		snprintf(err, errlen, "%s: not usable as a disk (%llu bytes)",
			 cfg->path, (unsigned long long)img_size(d->img));
		disk_close(d);
		return -EINVAL;
	}
	c->luns[cfg->lun] = d;
	sv_log(c, VMBUS_LOG_INFO, "LUN %u: %s (%s, %llu MiB%s)", d->lun,
	       img_path(d->img), img_format_name(d->img),
	       (unsigned long long)(img_size(d->img) >> 20),
	       d->sd.read_only ? ", read-only" : "");
	send_enumerate(c);
	return 0;
}

int storvsp_remove_disk(struct storvsp *c, unsigned int lun)
{
	struct sv_disk *d = lun < HVIS_VSTOR_MAX_LUNS ? c->luns[lun] : NULL;

	if (!d)
		return -ENOENT;
	c->luns[lun] = NULL;
	d->removing = true;
	d->next_dying = c->dying;
	c->dying = d;
	sv_log(c, VMBUS_LOG_INFO, "LUN %u removed", lun);
	send_enumerate(c);
	disk_put(d);
	return 0;
}

unsigned int storvsp_disks(const struct storvsp *c,
			   struct storvsp_disk_info *out, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < HVIS_VSTOR_MAX_LUNS; i++) {
		const struct sv_disk *d = c->luns[i];

		if (!d)
			continue;
		if (n < max) {
			struct storvsp_disk_info *o = &out[n];

			o->lun = i;
			o->path = img_path(d->img);
			o->format = img_format_name(d->img);
			o->size = img_size(d->img);
			o->read_only = d->sd.read_only;
			snprintf(o->serial, sizeof(o->serial), "%s", d->sd.serial);
			o->st = d->st;
			o->st.in_flight = d->in_flight;
		}
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ lifetime */

struct storvsp *storvsp_create(unsigned int index,
			       const struct hvis_guid *instance,
			       struct aio *aio,
			       const struct storvsp_options *opt,
			       const struct storvsp_host_ops *ops)
{
	struct storvsp *c;

	if (!aio || !ops || !ops->guest_page)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->index = index;
	c->instance = *instance;
	c->aio = aio;
	if (opt)
		c->opt = *opt;
	c->ops = *ops;
	return c;
}

int storvsp_attach(struct storvsp *c, struct vmbus_server *srv, uint32_t nvps)
{
	if (c->srv)
		return -EBUSY;
	c->srv = srv;
	c->nvps = nvps ? nvps : 1;
	c->version = 0;
	c->ready = c->initializing = false;
	c->enumerate_pending = false;
	c->nresets = 0;
	if (!chan_add(c, 0)) {
		c->srv = NULL;
		return -ENOMEM;
	}
	return 0;
}

void storvsp_detach(struct storvsp *c)
{
	if (!c->srv)
		return;
	for (unsigned int i = 0; i < c->nchans; i++)
		c->chans[i]->closing = true;
	aio_drain(c->aio);
	/* the server frees the channels when it is destroyed: forget them */
	for (unsigned int i = 0; i < c->nchans; i++) {
		struct sv_chan *ch = c->chans[i];

		ch->open = false;
		while (ch->tx) {
			struct sv_cmd *cmd = ch->tx;

			ch->tx = cmd->next;
			cmd_free(cmd);
		}
	}
	c->srv = NULL;
	c->ready = c->initializing = false;
	c->version = 0;
	c->nresets = 0;
}

void storvsp_destroy(struct storvsp *c)
{
	if (!c)
		return;
	storvsp_detach(c);
	aio_drain(c->aio);
	for (unsigned int i = 0; i < HVIS_VSTOR_MAX_LUNS; i++)
		if (c->luns[i])
			disk_close(c->luns[i]);
	while (c->dying) {
		struct sv_disk *d = c->dying;

		c->dying = d->next_dying;
		disk_close(d);
	}
	free(c);
}

unsigned int storvsp_index(const struct storvsp *c)
{
	return c->index;
}

uint16_t storvsp_version(const struct storvsp *c)
{
	return c->version;
}

unsigned int storvsp_channels_open(const struct storvsp *c)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->nchans; i++)
		n += c->chans[i]->open;
	return n;
}

bool storvsp_ready(const struct storvsp *c)
{
	return c->ready;
}
