/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The attach protocol between hvis-run (one partition) and hvis-vspd (its
 * VSP service), on a Unix SOCK_SEQPACKET socket that hvis-vspd listens on
 * and hvis-run connects to. Every packet is one struct hvis_attach_hdr
 * followed by ah_len bytes of the body its type names; file descriptors
 * travel as SCM_RIGHTS on the packets that say so. docs/vmbus.md has the
 * sequence; hvis-run stays the only process that touches KVM.
 *
 * Requests that need an answer carry a sequence number the answer echoes
 * (ah_seq); each side numbers its own requests. Either side drops the
 * connection on a packet it cannot parse; hvis-run then keeps the guest
 * running with VMBus silent (the guest sees HV_STATUS_INVALID_CONNECTION_ID
 * on its next message), and a new hvis-vspd may not attach to it again.
 */
#ifndef HVIS_ATTACH_H
#define HVIS_ATTACH_H

#include <hvis/types.h>

#define HVIS_ATTACH_VERSION		1u
/* No packet is longer (header included). */
#define HVIS_ATTACH_MAX_PACKET		512u
#define HVIS_ATTACH_MAX_REGIONS		8u
/* HvPostMessage payload limit (TLFS: 240 bytes). */
#define HVIS_ATTACH_MSG_MAX		240u

enum hvis_attach_type {
	/* hvis-run -> hvis-vspd, first packet: the partition; SCM_RIGHTS:
	 * the guest-memory memfd.
	 */
	HVIS_ATTACH_PARTITION		= 1,
	/* hvis-vspd -> hvis-run: claim a connection id. Message connections
	 * forward HvPostMessage as GUEST_MESSAGE; event connections signal
	 * the eventfd passed with the packet (SCM_RIGHTS), or send
	 * GUEST_SIGNAL when none is passed. No answer.
	 */
	HVIS_ATTACH_CONNECT		= 2,
	HVIS_ATTACH_DISCONNECT		= 3,	/* vspd -> run, no answer */
	/* hvis-run -> hvis-vspd: a guest HvPostMessage; answered by
	 * MESSAGE_STATUS with the same ah_seq (the guest's vCPU waits).
	 */
	HVIS_ATTACH_GUEST_MESSAGE	= 4,
	HVIS_ATTACH_MESSAGE_STATUS	= 5,
	/* hvis-run -> hvis-vspd: HvSignalEvent on an event connection that
	 * has no eventfd. No answer.
	 */
	HVIS_ATTACH_GUEST_SIGNAL	= 6,
	/* hvis-vspd -> hvis-run: post a message into a SINT slot; answered
	 * by POST_RESULT with the same ah_seq.
	 */
	HVIS_ATTACH_POST		= 7,
	HVIS_ATTACH_POST_RESULT		= 8,
	/* hvis-vspd -> hvis-run: set an event flag and interrupt. No answer. */
	HVIS_ATTACH_SIGNAL		= 9,
	/* hvis-run -> hvis-vspd: a SINT slot was freed by the guest's EOM
	 * after a POST_RESULT of -EAGAIN; retry the backlog. No answer.
	 */
	HVIS_ATTACH_EOM			= 10,
	/* hvis-vspd -> hvis-run: what time is it in the partition? Answered
	 * by TIME_RESULT with the same ah_seq. Empty body.
	 */
	HVIS_ATTACH_TIME		= 11,
	HVIS_ATTACH_TIME_RESULT		= 12,
};

struct hvis_attach_hdr {
	__u32 ah_type;
	__u32 ah_len;		/* body bytes after this header */
	__u64 ah_seq;
};
HVIS_ASSERT_SIZE(struct hvis_attach_hdr, 16);

struct hvis_attach_region {
	__u64 ar_gpa;		/* guest-physical start, 4 KiB aligned */
	__u64 ar_size;		/* bytes, 4 KiB multiple */
	__u64 ar_offset;	/* offset in the memfd */
};
HVIS_ASSERT_SIZE(struct hvis_attach_region, 24);

struct hvis_attach_partition {
	__u32 ap_version;	/* HVIS_ATTACH_VERSION */
	__u32 ap_nvps;
	__u32 ap_nregions;	/* 1 .. HVIS_ATTACH_MAX_REGIONS */
	__u32 ap_max_vmbus_version;	/* newest VMBus version to offer; 0 = any */
	char ap_name[64];	/* the partition's name, NUL-terminated */
	struct hvis_attach_region ap_regions[HVIS_ATTACH_MAX_REGIONS];
};
HVIS_ASSERT_SIZE(struct hvis_attach_partition, 272);
HVIS_ASSERT_OFFSET(struct hvis_attach_partition, ap_regions, 80);

#define HVIS_ATTACH_CONN_MESSAGE	0x1u
#define HVIS_ATTACH_CONN_EVENT		0x2u

struct hvis_attach_connect {
	__u32 ac_connection_id;
	__u32 ac_flags;		/* HVIS_ATTACH_CONN_* */
};
HVIS_ASSERT_SIZE(struct hvis_attach_connect, 8);

struct hvis_attach_message {
	__u32 am_vp;
	__u32 am_connection_id;	/* GUEST_MESSAGE: the target connection */
	__u32 am_sint;		/* POST: the target SINT */
	__u32 am_type;		/* SynIC message type */
	__u32 am_size;		/* payload bytes, <= HVIS_ATTACH_MSG_MAX */
	__u32 am_reserved;
	__u8 am_payload[HVIS_ATTACH_MSG_MAX];
};
HVIS_ASSERT_SIZE(struct hvis_attach_message, 264);

struct hvis_attach_status {
	__s32 as_status;	/* MESSAGE_STATUS: HV status; POST_RESULT:
				 * 0 or a negative errno (-EAGAIN: busy)
				 */
	__u32 as_reserved;
};
HVIS_ASSERT_SIZE(struct hvis_attach_status, 8);

struct hvis_attach_signal {
	__u32 asg_vp;
	__u32 asg_sint;
	__u32 asg_flag;		/* SIGNAL: event flag; GUEST_SIGNAL: flag number */
	__u32 asg_connection_id;/* GUEST_SIGNAL */
};
HVIS_ASSERT_SIZE(struct hvis_attach_signal, 16);

struct hvis_attach_eom {
	__u32 ae_vp;
	__u32 ae_sint;
};
HVIS_ASSERT_SIZE(struct hvis_attach_eom, 8);

struct hvis_attach_time {
	__u64 at_ref_time;	/* partition reference time, 100 ns units */
	__u64 at_monotonic_ns;	/* host CLOCK_MONOTONIC at that instant */
};
HVIS_ASSERT_SIZE(struct hvis_attach_time, 16);

#endif /* HVIS_ATTACH_H */
