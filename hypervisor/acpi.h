/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ACPI tables hvis-run hands to the guest.
 *
 * acpi_build() lays out, in one buffer that the caller copies to
 * guest-physical @base (HVIS_ACPI_BASE):
 *
 *   RSDP (rev 2) -> RSDT + XSDT -> FADT (6.3) -> DSDT (iasl, dsdt.asl)
 *                                             -> FACS
 *                               -> MADT (one LAPIC per vCPU, IOAPIC,
 *                                        IRQ0->GSI2 and SCI overrides,
 *                                        LINT1 NMI)
 *
 * The machine is the "full hardware" ACPI model with a fixed-hardware
 * PM1a event/control block at HVIS_PORT_PM1A_EVT / HVIS_PORT_PM1A_CNT
 * (power-off: \_S5, SLP_TYP HVIS_SLP_TYP_S5), SCI on ISA IRQ 9 and reset
 * through RESET_REG = I/O port HVIS_PORT_RESET. See acpi.c for why, and
 * for what the port handlers and the GSI routing must do to match.
 */
#ifndef HVIS_HV_ACPI_H
#define HVIS_HV_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h"

/* OEM ID in every table header (6 bytes, space padded). */
#define ACPI_OEM_ID		"HVIS  "

/*
 * IOAPIC ID the MADT declares. IOAPIC IDs are their own namespace (not
 * LAPIC IDs) and KVM's in-kernel IOAPIC resets its 4-bit ID register to
 * 0, so 0 keeps the table and the device in agreement for any ncpus.
 */
#define ACPI_IOAPIC_ID		0
#define ACPI_IOAPIC_PINS	24	/* KVM_IOAPIC_NUM_PINS */

#define ACPI_MAX_CPUS		255	/* xAPIC IDs 0..254 (255 = broadcast) */

struct acpi_config {
	unsigned int ncpus;		/* 1..255; APIC IDs 0..ncpus-1 */
	/* VMBus MMIO window (\_SB.VMOD _CRS): HVIS_VMBUS_MMIO_* normally. */
	uint64_t vmbus_mmio_base, vmbus_mmio_size;
};

/*
 * Build RSDP, RSDT, XSDT, FADT, FACS, MADT and DSDT into @buf, which will
 * be placed at guest-physical @base (HVIS_ACPI_BASE, size HVIS_ACPI_SIZE).
 * The RSDP comes first (at @base, which must be 16-byte aligned) so a
 * legacy scan of 0xE0000..0xFFFFF finds it; the whole of @base + @size
 * must lie below 4 GiB (the RSDT and FADT hold 32-bit addresses).
 *
 * If the VMBus window in @cfg differs from the one compiled into the DSDT
 * (platform.h's), the DSDT copy is patched to @cfg's.
 *
 * Bytes [0, *used) of @buf are written (gaps zeroed); the rest is not
 * touched. Returns 0 and sets *rsdp_gpa (== @base) and *used, -ENOSPC if
 * @size is too small, -EINVAL for bad arguments.
 */
int acpi_build(void *buf, size_t size, uint64_t base,
	       const struct acpi_config *cfg, uint64_t *rsdp_gpa,
	       size_t *used);

#endif /* HVIS_HV_ACPI_H */
