/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * GUIDs as VMBus carries them: 16 bytes, the first three fields
 * little-endian (Windows byte order), the last eight bytes as written.
 * HVIS_GUID_INIT(0xba6163d9, 0x04a1, 0x4d29, 0xb6, 0x05, ...) initialises
 * the GUID written "ba6163d9-04a1-4d29-b605-..."; the class constants
 * below are initialisers too: `struct hvis_guid g = HVIS_GUID_SCSI;`, or
 * `(struct hvis_guid)HVIS_GUID_SCSI` as a value.
 */
#ifndef HVIS_GUID_H
#define HVIS_GUID_H

#include <hvis/types.h>

struct hvis_guid {
	__u8 g_bytes[16];
};
HVIS_ASSERT_SIZE(struct hvis_guid, 16);

#define HVIS_GUID_INIT(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)	\
	{ { (__u8)(a), (__u8)((a) >> 8), (__u8)((a) >> 16),		\
	    (__u8)((a) >> 24), (__u8)(b), (__u8)((b) >> 8),		\
	    (__u8)(c), (__u8)((c) >> 8),				\
	    (d0), (d1), (d2), (d3), (d4), (d5), (d6), (d7) } }

/* Length of the text form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL. */
#define HVIS_GUID_STRLEN		37

/* ------------------------------------------------------------ device classes */
/* Synthetic SCSI controller (storvsc / storvsp). */
#define HVIS_GUID_SCSI		HVIS_GUID_INIT(0xba6163d9, 0x04a1, 0x4d29, \
				0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f)
/* IDE accelerator (storvsc on the emulated IDE path). */
#define HVIS_GUID_IDE		HVIS_GUID_INIT(0x32412632, 0x86cb, 0x44a2, \
				0x9b, 0x5c, 0x50, 0xd1, 0x41, 0x73, 0x54, 0xf5)
/* Synthetic network adapter (netvsc / netvsp). */
#define HVIS_GUID_NET		HVIS_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, \
				0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e)
/* Synthetic mouse (synthhid). */
#define HVIS_GUID_MOUSE		HVIS_GUID_INIT(0xcfa8b69e, 0x5b4a, 0x4cc0, \
				0xb9, 0x8b, 0x8b, 0xa1, 0xa1, 0xf3, 0xf9, 0x5a)
/* Synthetic keyboard. */
#define HVIS_GUID_KEYBOARD	HVIS_GUID_INIT(0xf912ad6d, 0x2b17, 0x48ea, \
				0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c, 0x76, 0x84)
/* Integration components. */
#define HVIS_GUID_SHUTDOWN	HVIS_GUID_INIT(0x0e0b6031, 0x5213, 0x4934, \
				0x81, 0x8b, 0x38, 0xd9, 0x0c, 0xed, 0x39, 0xdb)
#define HVIS_GUID_TIMESYNC	HVIS_GUID_INIT(0x9527e630, 0xd0ae, 0x497b, \
				0xad, 0xce, 0xe8, 0x0a, 0xb0, 0x17, 0x5c, 0xaf)
#define HVIS_GUID_HEARTBEAT	HVIS_GUID_INIT(0x57164f39, 0x9115, 0x4e78, \
				0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d)
#define HVIS_GUID_KVP		HVIS_GUID_INIT(0xa9a0f4e7, 0x5a45, 0x4d96, \
				0xb8, 0x27, 0x8a, 0x84, 0x1e, 0x8c, 0x03, 0xe6)
#define HVIS_GUID_VSS		HVIS_GUID_INIT(0x35fa2e29, 0xea23, 0x4236, \
				0x96, 0xae, 0x3a, 0x6e, 0xba, 0xcb, 0xa4, 0x40)

#endif /* HVIS_GUID_H */
