/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Fixed-width types for the wire formats in include/hvis/.
 *
 * Every header here is included by the guest kernel modules, the host
 * programs and the tests alike, so it uses the uapi spellings (__u8 ..
 * __u64) that <linux/types.h> provides in both worlds, and __packed, which
 * the kernel defines and user-compat.h defines for userspace.
 *
 * All wire formats are little-endian (x86 and arm64 guests only); a
 * big-endian build is refused rather than silently mis-encoding.
 */
#ifndef HVIS_TYPES_H
#define HVIS_TYPES_H

#include <linux/types.h>

#ifdef __KERNEL__
#include <linux/compiler.h>
#include <linux/stddef.h>
#else
#include <stddef.h>
#include <hvis/user-compat.h>
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hvis wire formats are little-endian; big-endian hosts are unsupported"
#endif

/* Compile-time layout checks: one line per size or offset. */
#define HVIS_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), #type " size")
#define HVIS_ASSERT_OFFSET(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), #type "." #field " offset")

#endif /* HVIS_TYPES_H */
