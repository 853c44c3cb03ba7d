/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * DSDT of the machine hvis-run presents (compiled by iasl at build time
 * into build/gen/dsdt.hex, the C array dsdt_aml_code; hypervisor/acpi.c
 * copies it behind the FADT).
 *
 * The values below mirror hypervisor/platform.h; iasl cannot include
 * that header (its constants carry C suffixes), so tests/unit/test_acpi.c
 * parses this AML and checks them against platform.h:
 *   \_S5 SLP_TYP            == HVIS_SLP_TYP_S5
 *   VMOD QWordMemory window == HVIS_VMBUS_MMIO_BASE, _SIZE
 * acpi_build() also refuses to run if it cannot find that window, and
 * patches it when the caller asks for a different one.
 *
 * Deliberately absent:
 *  - Processor objects / ACPI0007 devices: Linux enumerates CPUs from the
 *    MADT; we offer no _CST/_PSS/hotplug, so they would add nothing.
 *  - GPE blocks, _PRW, power/sleep button devices, \_S1..\_S4: nothing
 *    would ever raise them.
 *  - PCI host bridge, PS/2, RTC, HPET: not emulated (see acpi.c).
 */
DefinitionBlock ("", "DSDT", 2, "HVIS  ", "HVISDSDT", 1)
{
    /*
     * S5 (soft off): Linux writes SLP_TYP = 5 then SLP_TYP | SLP_EN to
     * PM1a_CNT (HVIS_PORT_PM1A_CNT). Second value and the reserved pair
     * are for PM1b (absent) and padding, as the ACPI spec lays out _Sx.
     */
    Name (_S5, Package (0x04)
    {
        0x05,   /* PM1a_CNT.SLP_TYP: HVIS_SLP_TYP_S5 */
        0x05,   /* PM1b_CNT.SLP_TYP (no PM1b block) */
        Zero,
        Zero
    })

    Scope (_SB)
    {
        /*
         * Module device holding the MMIO space VMBus devices may claim
         * (Linux's vmbus_acpi_add walks the _CRS of the VMBus device's
         * ancestors and collects Address16/32/64 windows ending above
         * 1 MiB into hyperv_mmio, which vmbus_allocate_mmio hands out to
         * synthetic video and vPCI). Same shape as a Hyper-V Gen2 VM.
         * ACPI0004 is an 8-character ACPI ID, so it must be a string.
         */
        Device (VMOD)
        {
            Name (_HID, "ACPI0004")
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                /* HVIS_VMBUS_MMIO_BASE .. + HVIS_VMBUS_MMIO_SIZE - 1 */
                QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
                    NonCacheable, ReadWrite,
                    0x0000000000000000, /* Granularity */
                    0x00000000F8000000, /* Range Minimum */
                    0x00000000FBFFFFFF, /* Range Maximum */
                    0x0000000000000000, /* Translation Offset */
                    0x0000000004000000, /* Length */
                    ,, , AddressRangeMemory, TypeStatic)
            })

            /*
             * The VMBus itself. hv_vmbus (6.1: acpi_driver; 6.3+: platform
             * driver on the device ACPI enumeration creates) matches _HID
             * "VMBUS" / "VMBus"; ACPICA upper-cases string _HIDs anyway.
             * iasl rejects a 5-character _HID in a Name, so it is a
             * method, which the ACPI spec allows for _HID.
             *
             * _CRS must exist (acpi_walk_resources on it must succeed or
             * vmbus_acpi_add returns -ENODEV). The legacy IRQ mirrors
             * Hyper-V's; on x86 Linux ignores it (VMBus interrupts come
             * on vector HYPERVISOR_CALLBACK_VECTOR via the SynIC), only
             * the extended-IRQ form is used, on arm64. ISA IRQ 5 is not
             * wired to any emulated device, edge/high like ISA.
             */
            Device (VMBS)
            {
                Method (_HID, 0, NotSerialized)
                {
                    Return ("VMBus")
                }
                Name (_UID, Zero)
                Name (_DDN, "VMBUS")
                Name (_CRS, ResourceTemplate ()
                {
                    IRQ (Edge, ActiveHigh, Exclusive, ) {5}
                })
            }
        }
    }
}
