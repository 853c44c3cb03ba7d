/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * VMBus channel-management messages: what guest and host post to each
 * other through HvPostMessage / SynIC message slots (SINT 2 in Linux) to
 * negotiate a version, offer channels, describe guest memory (GPADLs),
 * and open and close channels. Each message starts with an 8-byte header
 * and fits the 240-byte SynIC payload.
 */
#ifndef HVIS_VMBUS_H
#define HVIS_VMBUS_H

#include <hvis/types.h>
#include <hvis/guid.h>
#include <hvis/tlfs.h>

/* ------------------------------------------------------------ versions */
#define HVIS_VMBUS_VERSION(major, minor)	((__u32)(major) << 16 | (minor))
#define HVIS_VMBUS_VERSION_WS2008	HVIS_VMBUS_VERSION(0, 13)
#define HVIS_VMBUS_VERSION_WIN7		HVIS_VMBUS_VERSION(1, 1)
#define HVIS_VMBUS_VERSION_WIN8		HVIS_VMBUS_VERSION(2, 4)
#define HVIS_VMBUS_VERSION_WIN8_1	HVIS_VMBUS_VERSION(3, 0)
#define HVIS_VMBUS_VERSION_WIN10	HVIS_VMBUS_VERSION(4, 0)
#define HVIS_VMBUS_VERSION_WIN10_RS3	HVIS_VMBUS_VERSION(4, 1)
#define HVIS_VMBUS_VERSION_WIN10_RS4	HVIS_VMBUS_VERSION(5, 0)
#define HVIS_VMBUS_VERSION_WIN10_RS5	HVIS_VMBUS_VERSION(5, 1)
#define HVIS_VMBUS_VERSION_WS2019	HVIS_VMBUS_VERSION(5, 2)
#define HVIS_VMBUS_VERSION_WS2022	HVIS_VMBUS_VERSION(5, 3)

/* ------------------------------------------------------------ connections */
#define HVIS_VMBUS_MESSAGE_CONNECTION_ID	1	/* before 5.0 */
#define HVIS_VMBUS_EVENT_CONNECTION_ID		2
#define HVIS_VMBUS_MONITOR_CONNECTION_ID	3
#define HVIS_VMBUS_MESSAGE_CONNECTION_ID_4	4	/* 5.0 and later */
#define HVIS_VMBUS_MESSAGE_SINT			2	/* Linux's choice */
/* SynIC message type VMBus uses for every channel message. */
#define HVIS_VMBUS_MSGTYPE_CHANNEL		1u
/*
 * Connection ids are 24 bits wide (HvPostMessage, HvSignalEvent); zero
 * names no connection.
 */
#define HVIS_VMBUS_CONNID_MAX			0x00FFFFFFu
_Static_assert(HVIS_VMBUS_CONNID_MAX == HVIS_SIGNAL_CONNID_MASK,
	       "message and event connection ids have the same width");

/*
 * From 2.4 on the host signals a channel by setting the event flag whose
 * number is the channel's relid in the VMBus SINT's flags: relids lie
 * below 2048. Relid 0 is never offered (flag 0 meant "scan the interrupt
 * page" before 2.4).
 */
#define HVIS_VMBUS_MAX_RELIDS			2048u
_Static_assert(HVIS_VMBUS_MAX_RELIDS == HVIS_EVENT_FLAGS_COUNT,
	       "one event flag per relid");
/* The monitor pages hold 4 trigger groups of 32: monitor ids 0..127. */
#define HVIS_VMBUS_MONITOR_IDS			128u

/* ------------------------------------------------------------ messages */
enum hvis_vmbus_msgtype {
	HVIS_CHMSG_INVALID			= 0,
	HVIS_CHMSG_OFFERCHANNEL			= 1,
	HVIS_CHMSG_RESCIND_CHANNELOFFER		= 2,
	HVIS_CHMSG_REQUESTOFFERS		= 3,
	HVIS_CHMSG_ALLOFFERS_DELIVERED		= 4,
	HVIS_CHMSG_OPENCHANNEL			= 5,
	HVIS_CHMSG_OPENCHANNEL_RESULT		= 6,
	HVIS_CHMSG_CLOSECHANNEL			= 7,
	HVIS_CHMSG_GPADL_HEADER			= 8,
	HVIS_CHMSG_GPADL_BODY			= 9,
	HVIS_CHMSG_GPADL_CREATED		= 10,
	HVIS_CHMSG_GPADL_TEARDOWN		= 11,
	HVIS_CHMSG_GPADL_TORNDOWN		= 12,
	HVIS_CHMSG_RELID_RELEASED		= 13,
	HVIS_CHMSG_INITIATE_CONTACT		= 14,
	HVIS_CHMSG_VERSION_RESPONSE		= 15,
	HVIS_CHMSG_UNLOAD			= 16,
	HVIS_CHMSG_UNLOAD_RESPONSE		= 17,
	HVIS_CHMSG_TL_CONNECT_REQUEST		= 21,
	HVIS_CHMSG_MODIFYCHANNEL		= 22,
	HVIS_CHMSG_TL_CONNECT_RESULT		= 23,
	HVIS_CHMSG_MODIFYCHANNEL_RESPONSE	= 24,
	HVIS_CHMSG_COUNT
};

struct hvis_chmsg_hdr {
	__u32 ch_msgtype;		/* enum hvis_vmbus_msgtype */
	__u32 ch_padding;
};
HVIS_ASSERT_SIZE(struct hvis_chmsg_hdr, 8);

/* OFFERCHANNEL (host -> guest) */
#define HVIS_OFFER_USER_DEFINED_BYTES	120
#define HVIS_OFFER_FLAG_ENUMERATE_DEVICE_INTERFACE	0x0001
#define HVIS_OFFER_FLAG_NAMED_PIPE_MODE			0x0010
#define HVIS_OFFER_FLAG_TLNPI_PROVIDER			0x2000
#define HVIS_PIPE_MODE_BYTE		0
#define HVIS_PIPE_MODE_MESSAGE		4

struct hvis_chmsg_offer {
	struct hvis_chmsg_hdr of_hdr;
	struct hvis_guid of_if_type;		/* device class */
	struct hvis_guid of_if_instance;
	__u64 of_reserved1;
	__u64 of_reserved2;
	__u16 of_chn_flags;
	__u16 of_mmio_megabytes;
	__u8 of_user_defined[HVIS_OFFER_USER_DEFINED_BYTES]; /* pipe mode etc. */
	__u16 of_sub_channel_index;		/* 0 = primary (2.4+) */
	__u16 of_reserved3;
	__u32 of_child_relid;
	__u8 of_monitor_id;
	__u8 of_monitor_allocated;		/* bit 0 */
	__u16 of_dedicated_interrupt;		/* bit 0 (1.1+) */
	__u32 of_connection_id;			/* what the guest signals (1.1+) */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_offer, 196);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_offer, of_if_instance, 24);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_offer, of_chn_flags, 56);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_offer, of_user_defined, 60);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_offer, of_sub_channel_index, 180);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_offer, of_child_relid, 184);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_offer, of_connection_id, 192);

/*
 * RESCIND_CHANNELOFFER (host -> guest), RELID_RELEASED (guest -> host),
 * CLOSECHANNEL (guest -> host): a relid alone.
 */
struct hvis_chmsg_relid {
	struct hvis_chmsg_hdr rl_hdr;
	__u32 rl_child_relid;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_relid, 12);

/* OPENCHANNEL (guest -> host) */
struct hvis_chmsg_open {
	struct hvis_chmsg_hdr op_hdr;
	__u32 op_child_relid;
	__u32 op_openid;
	__u32 op_ring_gpadl;
	__u32 op_target_vp;
	__u32 op_downstream_page_offset;	/* guest's receive ring, pages */
	__u8 op_user_data[HVIS_OFFER_USER_DEFINED_BYTES];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_open, 148);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_open, op_downstream_page_offset, 24);

/* OPENCHANNEL_RESULT (host -> guest) */
struct hvis_chmsg_open_result {
	struct hvis_chmsg_hdr or_hdr;
	__u32 or_child_relid;
	__u32 or_openid;
	__u32 or_status;			/* 0 = success */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_open_result, 20);

/* GPADL_HEADER (guest -> host): the first PFNs of a guest buffer. */
struct hvis_gpa_range {
	__u32 gr_byte_count;
	__u32 gr_byte_offset;
	__u64 gr_pfn[];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_gpa_range, 8);

struct hvis_chmsg_gpadl_header {
	struct hvis_chmsg_hdr gh_hdr;
	__u32 gh_child_relid;
	__u32 gh_gpadl;
	__u16 gh_range_buflen;		/* bytes of ranges incl. all PFNs */
	__u16 gh_rangecount;
	struct hvis_gpa_range gh_range[];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_gpadl_header, 20);
/* 20 + 8 = 28 bytes before the first PFN: 26 PFNs fit in 240 bytes. */
#define HVIS_GPADL_HEADER_MAX_PFNS \
	((HVIS_MESSAGE_PAYLOAD_MAX - sizeof(struct hvis_chmsg_gpadl_header) - \
	  sizeof(struct hvis_gpa_range)) / sizeof(__u64))

/* GPADL_BODY (guest -> host): more PFNs, in order. */
struct hvis_chmsg_gpadl_body {
	struct hvis_chmsg_hdr gb_hdr;
	__u32 gb_msgnumber;
	__u32 gb_gpadl;
	__u64 gb_pfn[];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_gpadl_body, 16);
#define HVIS_GPADL_BODY_MAX_PFNS \
	((HVIS_MESSAGE_PAYLOAD_MAX - sizeof(struct hvis_chmsg_gpadl_body)) / \
	 sizeof(__u64))

/* GPADL_CREATED (host -> guest) */
struct hvis_chmsg_gpadl_created {
	struct hvis_chmsg_hdr gc_hdr;
	__u32 gc_child_relid;
	__u32 gc_gpadl;
	__u32 gc_creation_status;		/* 0 = success */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_gpadl_created, 20);

/* GPADL_TEARDOWN (guest -> host) */
struct hvis_chmsg_gpadl_teardown {
	struct hvis_chmsg_hdr gt_hdr;
	__u32 gt_child_relid;
	__u32 gt_gpadl;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_gpadl_teardown, 16);

/* GPADL_TORNDOWN (host -> guest) */
struct hvis_chmsg_gpadl_torndown {
	struct hvis_chmsg_hdr gd_hdr;
	__u32 gd_gpadl;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_gpadl_torndown, 12);

/* INITIATE_CONTACT (guest -> host) */
struct hvis_chmsg_initiate_contact {
	struct hvis_chmsg_hdr ic_hdr;
	__u32 ic_version_requested;
	__u32 ic_target_vcpu;
	/*
	 * Before 5.0: the GPA of the interrupt page. From 5.0: byte 0 is the
	 * SINT the host posts messages to, byte 1 the VTL (Linux >= 6.6).
	 */
	union {
		__u64 ic_interrupt_page;
		struct {
			__u8 ic_msg_sint;
			__u8 ic_msg_vtl;
			__u8 ic_padding[6];
		};
	};
	__u64 ic_monitor_page1;
	__u64 ic_monitor_page2;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_initiate_contact, 40);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_initiate_contact, ic_interrupt_page, 16);
HVIS_ASSERT_OFFSET(struct hvis_chmsg_initiate_contact, ic_monitor_page1, 24);

/* VERSION_RESPONSE (host -> guest) */
struct hvis_chmsg_version_response {
	struct hvis_chmsg_hdr vr_hdr;
	__u8 vr_version_supported;		/* 1 = accepted */
	__u8 vr_connection_state;		/* 0 = connected */
	__u16 vr_padding;
	__u32 vr_msg_conn_id;			/* 5.0+: for all later messages */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_version_response, 16);

/* MODIFYCHANNEL (guest -> host, 4.1+) */
struct hvis_chmsg_modify {
	struct hvis_chmsg_hdr mc_hdr;
	__u32 mc_child_relid;
	__u32 mc_target_vp;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_modify, 16);

/* MODIFYCHANNEL_RESPONSE (host -> guest, 5.3+) */
struct hvis_chmsg_modify_response {
	struct hvis_chmsg_hdr mr_hdr;
	__u32 mr_child_relid;
	__u32 mr_status;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_modify_response, 16);

/* TL_CONNECT_REQUEST (guest -> host, hv_sock) */
struct hvis_chmsg_tl_connect {
	struct hvis_chmsg_hdr tl_hdr;
	struct hvis_guid tl_guest_endpoint;
	struct hvis_guid tl_host_service;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_chmsg_tl_connect, 40);

/* Every channel message fits one SynIC payload. */
_Static_assert(sizeof(struct hvis_chmsg_offer) <= HVIS_MESSAGE_PAYLOAD_MAX,
	       "offer fits a SynIC message");
_Static_assert(sizeof(struct hvis_chmsg_open) <= HVIS_MESSAGE_PAYLOAD_MAX,
	       "open fits a SynIC message");

#endif /* HVIS_VMBUS_H */
