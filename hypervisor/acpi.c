// SPDX-License-Identifier: GPL-2.0-only
/* placeholder: hypervisor/acpi.c lands with the hvis-run issue */
