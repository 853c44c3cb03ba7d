/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Userspace stand-ins for the few kernel spellings that the shared headers
 * and lib/ use. Never compiled into a kernel module (so it is outside the
 * checkpatch set): the kernel provides all of these itself.
 */
#ifndef HVIS_USER_COMPAT_H
#define HVIS_USER_COMPAT_H

#ifdef __KERNEL__
#error "user-compat.h is for userspace builds only"
#endif

#include <linux/types.h>
#include <stdbool.h>

#ifndef __packed
#define __packed __attribute__((__packed__))
#endif

/* The kernel's short integer names, as lib/ uses them. */
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;

#endif /* HVIS_USER_COMPAT_H */
