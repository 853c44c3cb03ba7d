/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Integration-component (IC) messages: heartbeat, shutdown, time sync,
 * KVP and VSS. Each travels as one in-band VMBus packet whose payload is
 * a pipe header, the IC message header, then the message body.
 */
#ifndef HVIS_IC_H
#define HVIS_IC_H

#include <hvis/types.h>

/* Pipe header in front of every IC message. */
struct hvis_pipe_hdr {
	__u32 ph_flags;
	__u32 ph_msgsize;
};
HVIS_ASSERT_SIZE(struct hvis_pipe_hdr, 8);

/*
 * Wire trap: on the wire the major version is the low 16 bits
 * ({ major; minor }), unlike the u32 "major << 16 | minor" tables in
 * Linux's hv_utils.
 */
struct hvis_ic_version {
	__u16 iv_major;
	__u16 iv_minor;
};
HVIS_ASSERT_SIZE(struct hvis_ic_version, 4);

enum hvis_ic_msgtype {
	HVIS_ICMSG_NEGOTIATE	= 0,
	HVIS_ICMSG_HEARTBEAT	= 1,
	HVIS_ICMSG_KVPEXCHANGE	= 2,
	HVIS_ICMSG_SHUTDOWN	= 3,
	HVIS_ICMSG_TIMESYNC	= 4,
	HVIS_ICMSG_VSS		= 5,
	HVIS_ICMSG_FCOPY	= 7,
};

#define HVIS_ICFLAG_TRANSACTION	0x1u
#define HVIS_ICFLAG_REQUEST	0x2u
#define HVIS_ICFLAG_RESPONSE	0x4u

#define HVIS_IC_S_OK		0x00000000u
#define HVIS_IC_E_FAIL		0x80004005u

struct hvis_ic_hdr {
	struct hvis_ic_version ih_framework;
	__u16 ih_msgtype;		/* enum hvis_ic_msgtype */
	struct hvis_ic_version ih_msgversion;
	__u16 ih_msgsize;		/* body bytes after this header */
	__u32 ih_status;
	__u8 ih_transaction_id;
	__u8 ih_flags;			/* HVIS_ICFLAG_* */
	__u8 ih_reserved[2];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_ic_hdr, 20);
HVIS_ASSERT_OFFSET(struct hvis_ic_hdr, ih_msgtype, 4);
HVIS_ASSERT_OFFSET(struct hvis_ic_hdr, ih_msgsize, 10);
HVIS_ASSERT_OFFSET(struct hvis_ic_hdr, ih_status, 12);
HVIS_ASSERT_OFFSET(struct hvis_ic_hdr, ih_flags, 17);

/* NEGOTIATE body: framework versions, then message versions. */
struct hvis_ic_negotiate {
	__u16 in_framework_count;
	__u16 in_message_count;
	__u32 in_reserved;
	struct hvis_ic_version in_versions[];
};
HVIS_ASSERT_SIZE(struct hvis_ic_negotiate, 8);

/* HEARTBEAT: the guest answers with seq_num + 1. */
struct hvis_ic_heartbeat {
	__u64 hb_seq_num;
	__u32 hb_reserved[8];
};
HVIS_ASSERT_SIZE(struct hvis_ic_heartbeat, 40);

/* SHUTDOWN */
#define HVIS_SHUTDOWN_FLAG_FORCE	0x1u
#define HVIS_SHUTDOWN_FLAG_REBOOT	0x2u
#define HVIS_SHUTDOWN_FLAG_HIBERNATE	0x4u
struct hvis_ic_shutdown {
	__u32 sd_reason_code;
	__u32 sd_timeout_seconds;
	__u32 sd_flags;
	__u8 sd_display_message[2048];
};
HVIS_ASSERT_SIZE(struct hvis_ic_shutdown, 2060);

/* TIMESYNC: times in 100 ns units since 1601-01-01. */
#define HVIS_TIMESYNC_FLAG_PROBE	0
#define HVIS_TIMESYNC_FLAG_SYNC		1
#define HVIS_TIMESYNC_FLAG_SAMPLE	2
#define HVIS_WINDOWS_EPOCH_DELTA	116444736000000000ull

struct hvis_ic_timesync {		/* message versions before 4.0 */
	__u64 ts_parent_time;
	__u64 ts_child_time;
	__u64 ts_round_trip_time;
	__u8 ts_flags;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_ic_timesync, 25);

struct hvis_ic_timesync4 {		/* message version 4.0 */
	__u64 t4_parent_time;
	__u64 t4_vm_reference_time;
	__u8 t4_flags;
	__u8 t4_leap_flags;
	__u8 t4_stratum;
	__u8 t4_reserved[3];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_ic_timesync4, 22);

#endif /* HVIS_IC_H */
