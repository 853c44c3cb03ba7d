/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvis-vspd's control sessions without the socket: what control.c does
 * with the bytes of one client, exposed so that the unit tests and the
 * fuzzer drive the request dispatcher directly. hvis-vspd itself uses
 * vspd_control_open/close/notify (vspd.h); the protocol is in
 * docs/control-protocol.md.
 */
#ifndef HVIS_VSPD_CONTROL_H
#define HVIS_VSPD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "vspd.h"

/* Longest request line, its newline excluded. */
#define CTL_LINE_MAX		65536u
/* Sessions (connected clients) at a time. */
#define CTL_MAX_CLIENTS		16u
/* Events kept for the "events" command. */
#define CTL_EVENTS		32u
/* Unsent answer bytes above which a session reads no further request. */
#define CTL_OUT_HIGH		(1u << 20)

struct vspd_ctl_session;

/* A control instance without a listening socket (vspd_control_close
 * frees it and its sessions).
 */
struct vspd_control *vspd_control_new(struct vspd *d);

/* A session as if a client had connected: NULL when CTL_MAX_CLIENTS are
 * connected or out of memory.
 */
struct vspd_ctl_session *vspd_ctl_session_new(struct vspd_control *c);
/*
 * Bytes from the client. Complete lines are answered in order; an async
 * request holds the lines behind it until its IC callback answered, and
 * feeding (even 0 bytes) resumes them. Returns how many bytes were taken:
 * fewer than @len while the session is blocked with a full input buffer,
 * or once it is closing.
 */
size_t vspd_ctl_session_feed(struct vspd_ctl_session *s, const void *buf,
			     size_t len);
/* The client will send nothing more: a last line without newline counts. */
void vspd_ctl_session_eof(struct vspd_ctl_session *s);
/* The answer bytes produced so far, NUL-terminated (malloc'd, the caller
 * frees; NULL when out of memory); the session forgets them.
 */
char *vspd_ctl_session_take(struct vspd_ctl_session *s);
/* An oversize line ended the session: the socket layer closes it once
 * its answers are out.
 */
bool vspd_ctl_session_closing(const struct vspd_ctl_session *s);
/* Whether a request waits for its IC callback. */
bool vspd_ctl_session_pending(const struct vspd_ctl_session *s);
/* The client is gone: a pending request is orphaned (its callback drops
 * the answer).
 */
void vspd_ctl_session_free(struct vspd_ctl_session *s);

#endif /* HVIS_VSPD_CONTROL_H */
