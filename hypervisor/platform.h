/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The machine hvis-run presents: guest-physical memory map, I/O ports and
 * interrupt lines. One place for every address the boot loader, the ACPI
 * tables and the exit handlers must agree on.
 *
 * Guest-physical map:
 *   0x00000000 .. 0x0009FBFF  RAM
 *   0x0009FC00 .. 0x0009FFFF  reserved (where an EBDA would be)
 *   0x000E0000 .. 0x000FFFFF  ACPI tables (RSDP first, so a scan finds it)
 *   0x00100000 .. low_end     RAM (low_end <= HVIS_LOW_RAM_MAX)
 *   0xF8000000 .. 0xFBFFFFFF  VMBus MMIO window (ACPI VMOD _CRS)
 *   0xFEC00000                IOAPIC (KVM in-kernel)
 *   0xFEE00000                local APICs (KVM in-kernel)
 *   0x100000000 ..            RAM above the 32-bit hole, if any
 */
#ifndef HVIS_HV_PLATFORM_H
#define HVIS_HV_PLATFORM_H

#define HVIS_LOW_RAM_MAX	0xC0000000ull	/* 3 GiB below the hole */
#define HVIS_HIGH_RAM_BASE	0x100000000ull
#define HVIS_EBDA_BASE		0x0009FC00ull
#define HVIS_ACPI_BASE		0x000E0000ull
#define HVIS_ACPI_SIZE		0x00020000ull
#define HVIS_VMBUS_MMIO_BASE	0xF8000000ull
#define HVIS_VMBUS_MMIO_SIZE	0x04000000ull
#define HVIS_IOAPIC_BASE	0xFEC00000ull
#define HVIS_LAPIC_BASE		0xFEE00000ull

/* Boot-time structures the loader places in low RAM. */
#define HVIS_BOOT_GDT		0x00000500ull
#define HVIS_BOOT_PARAMS	0x00007000ull	/* the "zero page" */
#define HVIS_BOOT_PML4		0x00009000ull	/* + PDPT + 4 PDs: 0x9000..0xEFFF */
#define HVIS_BOOT_CMDLINE	0x00020000ull
#define HVIS_BOOT_CMDLINE_MAX	0x00010000ull
#define HVIS_BOOT_KERNEL	0x01000000ull	/* 16 MiB unless the kernel prefers */

/* I/O ports */
#define HVIS_PORT_COM1		0x3F8		/* 8 ports, IRQ 4 */
#define HVIS_IRQ_COM1		4
#define HVIS_PORT_KBD_CMD	0x64		/* 0xFE = reset */
#define HVIS_PORT_HCALL		0xE8		/* hypercall page stub: slow path */
#define HVIS_PORT_HCALL_SIGNAL	0xEB		/* fast HvSignalEvent, ioeventfd */
#define HVIS_PORT_PM1A_EVT	0x600		/* 4 bytes: status, enable */
#define HVIS_PORT_PM1A_CNT	0x604		/* 2 bytes: SLP_TYP, SLP_EN */
#define HVIS_PORT_RESET		0xCF9		/* FADT RESET_REG */
#define HVIS_RESET_VALUE	0x06
#define HVIS_SCI_IRQ		9

/* \_S5 sleep type the DSDT declares; PM1a_CNT SLP_TYP field, SLP_EN bit. */
#define HVIS_SLP_TYP_S5		5
#define HVIS_PM1_SLP_TYP_SHIFT	10
#define HVIS_PM1_SLP_TYP_MASK	(7u << HVIS_PM1_SLP_TYP_SHIFT)
#define HVIS_PM1_SLP_EN		(1u << 13)

#endif /* HVIS_HV_PLATFORM_H */
