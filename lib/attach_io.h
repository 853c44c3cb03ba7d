/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Framing of the attach protocol (<hvis/attach.h>) on its SOCK_SEQPACKET
 * socket, shared by hvis-run, hvis-vspd and the tests: one header plus
 * body per packet, at most one descriptor as SCM_RIGHTS. Userspace only
 * (the guest modules never see this protocol).
 */
#ifndef HVIS_LIB_ATTACH_IO_H
#define HVIS_LIB_ATTACH_IO_H

#ifdef __KERNEL__
#error "attach_io is userspace only"
#endif

#include <stdint.h>
#include <sys/types.h>

/*
 * Send one packet; @fd >= 0 travels with it. 0, or a negative errno
 * (-EIO: sent short). Retries EINTR; never raises SIGPIPE.
 */
int hvis_attach_send(int sock, uint32_t type, uint64_t seq, const void *body,
		     uint32_t len, int fd);

/*
 * Receive one packet into @buf (@size bytes, at least the header).
 * Returns its length; 0 when the peer hung up; -EPROTO when it was
 * truncated, shorter than a header or its ah_len disagrees with its
 * length; another negative errno on failure. The first descriptor passed
 * is returned in *@fd (close-on-exec; -1 if none, and always -1 on error),
 * any further ones are closed.
 */
ssize_t hvis_attach_recv(int sock, void *buf, size_t size, int *fd);

#endif /* HVIS_LIB_ATTACH_IO_H */
