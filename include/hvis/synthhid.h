/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Synthetic HID (synthhid), the protocol of the synthetic mouse: VMBus
 * class HVIS_GUID_MOUSE, driven by Linux's hid_hyperv. Each in-band
 * packet is a pipe header (type DATA) and one synthhid message: a
 * header { type; size } and its body.
 *
 *   guest: PROTOCOL_REQUEST (version 2.0)
 *   host:  PROTOCOL_RESPONSE (approved), then INITIAL_DEVICE_INFO: the
 *          device's ids, its HID descriptor and, right behind it, the HID
 *          report descriptor
 *   guest: INITIAL_DEVICE_INFO_ACK
 *   host:  INPUT_REPORT, one HID input report each, from then on
 */
#ifndef HVIS_SYNTHHID_H
#define HVIS_SYNTHHID_H

#include <hvis/types.h>

/* Version: major in the high 16 bits. */
#define HVIS_SYNTHHID_VERSION(major, minor)	((__u32)(major) << 16 | (minor))
#define HVIS_SYNTHHID_VERSION_2_0		HVIS_SYNTHHID_VERSION(2, 0)

/* The pipe header in front of every message. */
#define HVIS_SYNTHHID_PIPE_DATA		1u

struct hvis_synthhid_pipe {
	__u32 sp_type;		/* HVIS_SYNTHHID_PIPE_DATA */
	__u32 sp_size;		/* bytes after this header */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_synthhid_pipe, 8);

enum hvis_synthhid_type {
	HVIS_SYNTHHID_PROTOCOL_REQUEST		= 0,
	HVIS_SYNTHHID_PROTOCOL_RESPONSE		= 1,
	HVIS_SYNTHHID_INITIAL_DEVICE_INFO	= 2,
	HVIS_SYNTHHID_INITIAL_DEVICE_INFO_ACK	= 3,
	HVIS_SYNTHHID_INPUT_REPORT		= 4,
};

struct hvis_synthhid_hdr {
	__u32 sh_type;		/* enum hvis_synthhid_type */
	__u32 sh_size;		/* body bytes after this header */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_synthhid_hdr, 8);

struct hvis_synthhid_protocol_request {
	struct hvis_synthhid_hdr spq_hdr;	/* size 4 */
	__u32 spq_version;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_synthhid_protocol_request, 12);

struct hvis_synthhid_protocol_response {
	struct hvis_synthhid_hdr sps_hdr;	/* size 5 */
	__u32 sps_version;
	__u8 sps_approved;			/* 1 = yes */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_synthhid_protocol_response, 13);

/* The device's identity, as Linux's hid_hyperv takes it. */
struct hvis_synthhid_dev_info {
	__u32 sdi_size;
	__u16 sdi_vendor;
	__u16 sdi_product;
	__u16 sdi_version;
	__u16 sdi_reserved[11];
} __packed;
HVIS_ASSERT_SIZE(struct hvis_synthhid_dev_info, 32);

/* A USB HID class descriptor with one report descriptor. */
struct hvis_hid_descriptor {
	__u8 hd_length;			/* 9 */
	__u8 hd_type;			/* 0x21: HID */
	__u16 hd_bcd_hid;
	__u8 hd_country;
	__u8 hd_num_descriptors;	/* 1 */
	__u8 hd_report_type;		/* 0x22: report */
	__u16 hd_report_length;		/* bytes of the report descriptor */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_hid_descriptor, 9);

struct hvis_synthhid_device_info {
	struct hvis_synthhid_hdr sdv_hdr;
	struct hvis_synthhid_dev_info sdv_info;
	struct hvis_hid_descriptor sdv_hid;
	/* the report descriptor follows */
} __packed;
HVIS_ASSERT_SIZE(struct hvis_synthhid_device_info, 49);
HVIS_ASSERT_OFFSET(struct hvis_synthhid_device_info, sdv_hid, 40);

struct hvis_synthhid_device_info_ack {
	struct hvis_synthhid_hdr sda_hdr;	/* size 1 */
	__u8 sda_reserved;
} __packed;
HVIS_ASSERT_SIZE(struct hvis_synthhid_device_info_ack, 9);

/* Linux takes at most this many bytes of one input report. */
#define HVIS_SYNTHHID_MAX_REPORT	16u

#endif /* HVIS_SYNTHHID_H */
