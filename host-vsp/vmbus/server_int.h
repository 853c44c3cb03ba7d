/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * VMBus server internals shared by server.c (connection, dispatch,
 * backlog), channel.c (offers, open/close, rescind, device API) and
 * gpadl.c (GPADL assembly, views, teardown). Not for devices.
 */
#ifndef HVIS_VSP_VMBUS_SERVER_INT_H
#define HVIS_VSP_VMBUS_SERVER_INT_H

#include "server.h"

#define VMBUS_PAGE		4096u
#define VMBUS_V(maj, min)	HVIS_VMBUS_VERSION(maj, min)

/* A host->guest message waiting for a free SynIC slot. */
struct vmbus_out_msg {
	uint32_t vp, sint, len;
	uint8_t data[HVIS_MESSAGE_PAYLOAD_MAX];
};

struct vmbus_gpadl {
	struct vmbus_gpadl *next;
	uint32_t handle;
	uint32_t relid;			/* owning channel */
	enum vmbus_gpadl_state state;
	uint16_t rangecount;
	uint32_t buflen;		/* range_buflen from the header */
	uint32_t received;		/* range bytes so far */
	uint8_t *buf;			/* PENDING: the range bytes */
	uint64_t *pfns;			/* READY: every range's PFNs, in order */
	uint32_t npfn;
	uint32_t reserved_pages;	/* counted against max_gpadl_pages */
	uint32_t byte_offset;		/* first range */
	uint32_t byte_count;
	void *view;			/* READY: npfn pages, contiguous */
	bool ring_use;			/* an open channel's rings live here */
	uint32_t dev_refs;		/* vmbus_device_gpadl_get borrows */
};

struct vmbus_device {
	struct vmbus_server *srv;
	struct vmbus_device *next;
	struct vmbus_offer_params p;
	uint8_t user_defined[HVIS_OFFER_USER_DEFINED_BYTES];
	struct vmbus_device_ops ops;
	void *opaque;
	enum vmbus_chan_state state;
	bool dead;			/* released; freed when the server is idle */
	uint32_t relid;			/* 0 = none */
	uint32_t target_vp;
	struct vmbus_gpadl *ring_gpadl;
	bool rings_live;		/* in/out attached (open, or opening) */
	struct hvis_ring in;		/* guest -> host: we read */
	struct hvis_ring out;		/* host -> guest: we write */
};

struct vmbus_server {
	struct vmbus_server_options opt;
	struct vmbus_server_ops ops;
	uint32_t max_version;
	enum vmbus_conn_state state;
	uint32_t version;		/* negotiated, 0 = none */
	uint32_t vp, sint;		/* where messages go */
	uint8_t *int_page;		/* pre-2.4: the guest's interrupt page */
	struct vmbus_device *devs, *devs_tail;
	struct vmbus_device *relid_map[VMBUS_SERVER_MAX_CHANNELS + 1];
	struct vmbus_gpadl *gpadls;
	unsigned int ngpadls;
	uint64_t gpadl_pages;
	struct vmbus_out_msg *q;	/* backlog ring */
	unsigned int q_cap, q_head, q_len;
	unsigned int depth;		/* nesting of public entry points */
	bool resetting;			/* closing everything: post nothing */
	struct vmbus_server_stats st;
};

/* server.c */
void srv_log(struct vmbus_server *srv, enum vmbus_log_level lvl,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void srv_post(struct vmbus_server *srv, const void *msg, uint32_t len);
void srv_enter(struct vmbus_server *srv);
void srv_leave(struct vmbus_server *srv);
struct vmbus_device *srv_relid_dev(struct vmbus_server *srv, uint32_t relid);

/* channel.c */
void chan_offer(struct vmbus_device *dev);
void chan_open(struct vmbus_device *dev, const struct hvis_chmsg_open *m);
void chan_close(struct vmbus_device *dev);
void chan_release(struct vmbus_device *dev);
void chan_unassign(struct vmbus_device *dev);
void chan_dispatch(struct vmbus_device *dev);
void chan_signal_guest(struct vmbus_device *dev);

/* gpadl.c */
struct vmbus_gpadl *gpadl_find(struct vmbus_server *srv, uint32_t handle);
void gpadl_header(struct vmbus_server *srv, const uint8_t *msg, uint32_t len);
void gpadl_body(struct vmbus_server *srv, const uint8_t *msg, uint32_t len);
void gpadl_teardown(struct vmbus_server *srv, const uint8_t *msg, uint32_t len);
void gpadl_unuse(struct vmbus_server *srv, struct vmbus_gpadl *g);
void gpadl_drop_borrows(struct vmbus_server *srv, uint32_t relid);
void gpadl_free_relid(struct vmbus_server *srv, uint32_t relid);
void gpadl_free_all(struct vmbus_server *srv);

#endif /* HVIS_VSP_VMBUS_SERVER_INT_H */
