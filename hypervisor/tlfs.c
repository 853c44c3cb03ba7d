// SPDX-License-Identifier: GPL-2.0-only
/* placeholder: hypervisor/tlfs.c lands with the hvis-run issue */
