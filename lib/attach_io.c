// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Attach-protocol framing (see attach_io.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hvis/attach.h>

#include "attach_io.h"

int hvis_attach_send(int sock, uint32_t type, uint64_t seq, const void *body,
		     uint32_t len, int fd)
{
	struct hvis_attach_hdr h = { .ah_type = type, .ah_len = len, .ah_seq = seq };
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)body, .iov_len = len },
	};
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.buf;
		m.msg_controllen = sizeof(cm.buf);
		cm.c.cmsg_level = SOL_SOCKET;
		cm.c.cmsg_type = SCM_RIGHTS;
		cm.c.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(h) + len ? 0 : -EIO;
}

ssize_t hvis_attach_recv(int sock, void *buf, size_t size, int *fd)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	struct hvis_attach_hdr h;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i + sizeof(int) <= c->cmsg_len - CMSG_LEN(0);
		     i += sizeof(int)) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i, sizeof(int));
			if (*fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
	if (n == 0 && *fd < 0)
		return 0;
	if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(h))
		goto bad;
	memcpy(&h, buf, sizeof(h));
	if (h.ah_len != (size_t)n - sizeof(h))
		goto bad;
	return n;
bad:
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return -EPROTO;
}
