// SPDX-License-Identifier: GPL-2.0-only
/* placeholder: hypervisor/boot.c lands with the hvis-run issue */
