// SPDX-License-Identifier: GPL-2.0-only
/*
 * ACPI tables for the guest: RSDP, RSDT, XSDT, FADT, FACS, MADT here in C,
 * the DSDT from hypervisor/dsdt.asl (compiled by iasl). Layouts follow the
 * ACPI 6.3 specification, chapter 5.2.
 *
 * Design choices
 * --------------
 * Power model: "full hardware" ACPI with a PM1a event block (status +
 * enable, 2 x 16 bit at HVIS_PORT_PM1A_EVT) and a PM1a control block
 * (16 bit at HVIS_PORT_PM1A_CNT), SCI on ISA IRQ 9, not the hardware-
 * reduced model. On x86, Linux (6.1 and 6.12 alike) treats an FADT with
 * HW_REDUCED_ACPI as "no PC legacy hardware": acpi_generic_reduced_hw_init
 * installs null_legacy_pic and turns x86_init.timers.timer_init into a
 * no-op, i.e. it ignores the 8259 PIC and the 8254 PIT that KVM's in-kernel
 * irqchip does provide and that the MADT below (PCAT_COMPAT, IRQ0->GSI2)
 * describes. Hardware-reduced power-off would also need both a sleep
 * control and a sleep status register (acpi_sleep_state_supported). The
 * PM1a path is what every PC-compatible VM (QEMU's PIIX4/ICH9 PM) uses,
 * so it is the most exercised one in Linux: \_S5 + PM1a_CNT gives
 * pm_power_off = acpi_power_off.
 *
 * No SMI_CMD (0): ACPICA then treats the machine as permanently in ACPI
 * mode and never writes ACPI_ENABLE. No PM timer (PM_TMR_LEN 0, optional
 * since ACPI 5.0A; Linux's x86 code only uses it when X_PM_TMR_BLK is a
 * nonzero I/O address): it would need a 3.579545 MHz counter at an I/O
 * port, a VM exit per read, and the guest has the Hyper-V reference
 * counter / TSC page and the TSC. No HPET table, no GPE blocks, no
 * fixed-feature power/sleep buttons (PWR_BUTTON/SLP_BUTTON flags set),
 * no RTC wake (FIX_RTC), no C2/C3 (latencies beyond the limits).
 *
 * IAPC_BOOT_ARCH: LEGACY_DEVICES (the COM1 16550 is an ISA device not
 * described in the namespace), no 8042 (nothing emulates ports 0x60/0x64
 * apart from the 0xFE reset command, so i8042 must not probe), VGA not
 * present; the CMOS RTC is present (rtc.c: read-only host time at
 * 0x70/0x71, century at 0x32), so Linux registers rtc_cmos and reads the
 * time of day at boot. MSI is not declared unsupported so a
 * future Hyper-V vPCI device can use MSI.
 *
 * MADT: PCAT_COMPAT (in-kernel 8259 pair exists), LAPIC at
 * HVIS_LAPIC_BASE, one enabled Processor Local APIC entry per vCPU with
 * ACPI processor UID == APIC ID == index, one IOAPIC (ID ACPI_IOAPIC_ID,
 * GSI base 0, HVIS_IOAPIC_BASE), overrides ISA IRQ0 -> GSI 2 (8254) and
 * IRQ 9 -> GSI 9 level/active-high (SCI), and LINT1 = NMI on all
 * processors (the PC convention; Linux programs LINT1 that way anyway).
 *
 * FADT is revision 6.3 (so Linux honours the MADT "online capable" bit;
 * every entry is simply enabled), FACS present (required outside the
 * hardware-reduced model; holds the global lock), referenced only through
 * X_FIRMWARE_CTRL so ACPICA installs it once.
 *
 * What the rest of hvis-run must do for these tables to be true
 * ---------------------------------------------------------------
 *  - GSI routing: KVM's default routing sends the in-kernel PIT's GSI 0 to
 *    IOAPIC pin 0. The MADT says IRQ0 -> GSI 2, so hvis-run must install
 *    routing like QEMU's (KVM_SET_GSI_ROUTING: GSI 0 -> PIC master pin 0
 *    and IOAPIC pin 2; GSIs 1, 3..15 -> PIC and IOAPIC pin n; 16..23 ->
 *    IOAPIC pin n). GSI 9 (SCI) identity.
 *  - PM1a_STS (HVIS_PORT_PM1A_EVT, 16 bit): reads 0 (no event pending);
 *    writes are write-1-to-clear, may be ignored while no event is raised.
 *  - PM1a_EN (HVIS_PORT_PM1A_EVT + 2, 16 bit): a read/write latch. ACPICA
 *    sets GBL_EN at boot and reads it back; if it does not stick Linux logs
 *    "Could not enable GlobalLock event" / "No response from Global Lock
 *    hardware" (and disable checks fail the same way).
 *  - PM1a_CNT (HVIS_PORT_PM1A_CNT, 16 bit): reads return SCI_EN (bit 0)
 *    set plus the last written bits; ACPICA reads before each write to
 *    preserve SCI_EN. A write with SLP_EN (bit 13) set and SLP_TYP (bits
 *    10..12) == HVIS_SLP_TYP_S5 means power off. Linux first writes
 *    SLP_TYP alone, then SLP_TYP | SLP_EN.
 *  - RESET_REG: an 8-bit write of HVIS_RESET_VALUE to port HVIS_PORT_RESET
 *    (0xCF9) means reset. Only act on 1-byte accesses to 0xCF9: Linux's
 *    PCI type-1 probe does a 4-byte outl to 0xCF8, which covers 0xCF9.
 *  - SCI: never raised today. If hvis-run ever signals an event through
 *    PM1 (e.g. a power button), drive GSI 9 as a level: assert while
 *    (PM1_STS & PM1_EN) != 0, deassert when the guest clears the status.
 *  - e820: [HVIS_ACPI_BASE, +HVIS_ACPI_SIZE) reserved (or ACPI), and the
 *    VMBus window neither RAM nor reserved (hv_vmbus request_mem_region()s
 *    its allocations from it).
 *  - Unhandled port reads should return all ones (the PCI conf1/conf2 and
 *    i8042 probes then see "nothing there").
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "acpi.h"
#include "platform.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ACPI tables are little-endian; this file assumes a little-endian host"
#endif

/* build/gen/dsdt.hex (iasl -tc): unsigned char dsdt_aml_code[] */
extern unsigned char dsdt_aml_code[];
#include "dsdt.hex"

#define ACPI_CREATOR_ID		"HVIS"
#define ACPI_CREATOR_REV	1u
#define ACPI_OEM_REV		1u

/* --------------------------------------------------------------- layouts */

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");

struct acpi_rsdp {
	char signature[8];		/* "RSD PTR " */
	uint8_t checksum;		/* bytes 0..19 */
	char oem_id[6];
	uint8_t revision;		/* 2: ACPI 2.0+ with XSDT */
	uint32_t rsdt_address;
	uint32_t length;		/* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
#define ACPI_RSDP_V1_LEN	20

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");

#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_BYTE	1
#define ACPI_GAS_ACCESS_WORD	2

struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;		/* ACPI 1.0 INT_MODEL */
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.x");
_Static_assert(offsetof(struct acpi_fadt, sci_int) == 46, "FADT SCI_INT");
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT PM1a");
_Static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT lens");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109,
	       "FADT IAPC_BOOT_ARCH");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT reset");
_Static_assert(offsetof(struct acpi_fadt, minor_version) == 131,
	       "FADT minor");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_cnt_blk) == 172,
	       "FADT X_PM1a_CNT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244,
	       "FADT sleep control");

/* FADT Flags */
#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PROC_C1		(1u << 2)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* no fixed power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* no fixed sleep button */
#define FADT_F_FIX_RTC		(1u << 6)	/* no RTC wake status */
#define FADT_F_RESET_REG_SUP	(1u << 10)

/* IAPC_BOOT_ARCH */
#define FADT_BA_LEGACY_DEVICES	(1u << 0)
#define FADT_BA_8042		(1u << 1)
#define FADT_BA_VGA_NOT_PRESENT	(1u << 2)
#define FADT_BA_MSI_NOT_SUPP	(1u << 3)

#define FADT_PM1_EVT_LEN	4	/* PM1_STS + PM1_EN, 16 bit each */
#define FADT_PM1_CNT_LEN	2
#define FADT_C2_UNSUPPORTED	101	/* P_LVL2_LAT > 100 */
#define FADT_C3_UNSUPPORTED	1001	/* P_LVL3_LAT > 1000 */

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
#define ACPI_FACS_ALIGN		64

struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
#define MADT_PCAT_COMPAT	(1u << 0)

struct madt_lapic {
	uint8_t type;			/* 0 */
	uint8_t length;			/* 8 */
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");
#define MADT_LAPIC_ENABLED	(1u << 0)

struct madt_ioapic {
	uint8_t type;			/* 1 */
	uint8_t length;			/* 12 */
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");

struct madt_iso {
	uint8_t type;			/* 2 */
	uint8_t length;			/* 10 */
	uint8_t bus;			/* 0: ISA */
	uint8_t source;			/* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;			/* MPS INTI flags */
} __attribute__((packed));
_Static_assert(sizeof(struct madt_iso) == 10, "MADT interrupt override");

struct madt_lapic_nmi {
	uint8_t type;			/* 4 */
	uint8_t length;			/* 6 */
	uint8_t processor_uid;		/* 0xFF: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT LAPIC NMI");

#define MADT_TYPE_LAPIC		0
#define MADT_TYPE_IOAPIC	1
#define MADT_TYPE_ISO		2
#define MADT_TYPE_LAPIC_NMI	4

/* MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2 */
#define MPS_INTI_CONFORMS	0x0
#define MPS_INTI_ACTIVE_HIGH	0x1
#define MPS_INTI_LEVEL		(0x3 << 2)

#define PIT_ISA_IRQ		0
#define PIT_GSI			2

/* QWordMemory descriptor (ACPI 6.3, 6.4.3.5.1) */
#define AML_QWORD_TAG		0x8A
#define AML_QWORD_LEN		43	/* bytes after tag + length field */
#define AML_QWORD_SIZE		(3 + AML_QWORD_LEN)
#define AML_QWORD_OFF_TYPE	3
#define AML_QWORD_OFF_MIN	14
#define AML_QWORD_OFF_MAX	22
#define AML_QWORD_OFF_LEN	38
#define AML_ADDR_SPACE_MEMORY	0

/* --------------------------------------------------------------- helpers */

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint8_t checksum_of(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

/* Set the header checksum of the table at @p so its bytes sum to 0. */
static void table_fix_checksum(uint8_t *p, size_t len)
{
	p[offsetof(struct acpi_header, checksum)] = 0;
	p[offsetof(struct acpi_header, checksum)] =
		(uint8_t)(0x100 - checksum_of(p, len));
}

static void fill_header(struct acpi_header *h, const char *sig,
			uint32_t len, uint8_t rev, const char *table_id)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, table_id, 8);
	h->oem_revision = ACPI_OEM_REV;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REV;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put_le32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bits, uint8_t access)
{
	struct acpi_gas g = {
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = bits,
		.bit_offset = 0,
		.access_size = access,
		.address = port,
	};

	return g;
}

/*
 * Offset in @aml of the QWordMemory descriptor for [@base, @base + @size),
 * or -1. The descriptor bytes (tag, length, memory type, min, max, len)
 * are specific enough that a match elsewhere in the AML is not plausible;
 * the unit test also finds it by walking \_SB.VMOD._CRS properly.
 */
static ptrdiff_t dsdt_find_window(const uint8_t *aml, size_t len,
				  uint64_t base, uint64_t size)
{
	for (size_t i = sizeof(struct acpi_header);
	     i + AML_QWORD_SIZE <= len; i++) {
		const uint8_t *d = aml + i;

		if (d[0] != AML_QWORD_TAG || d[1] != AML_QWORD_LEN || d[2] ||
		    d[AML_QWORD_OFF_TYPE] != AML_ADDR_SPACE_MEMORY)
			continue;
		if (get_le64(d + AML_QWORD_OFF_MIN) == base &&
		    get_le64(d + AML_QWORD_OFF_MAX) == base + size - 1 &&
		    get_le64(d + AML_QWORD_OFF_LEN) == size)
			return (ptrdiff_t)i;
	}
	return -1;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
			   uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool vmbus_window_ok(uint64_t base, uint64_t size)
{
	if (!size || base + size - 1 < base)
		return false;
	/* vmbus_walk_resources ignores windows that end below 1 MiB. */
	if (base + size - 1 < 0x100000)
		return false;
	if (ranges_overlap(base, size, HVIS_ACPI_BASE, HVIS_ACPI_SIZE) ||
	    ranges_overlap(base, size, HVIS_IOAPIC_BASE, 0x1000) ||
	    ranges_overlap(base, size, HVIS_LAPIC_BASE, 0x1000))
		return false;
	return true;
}

/* ---------------------------------------------------------------- layout */

#define RSDT_ENTRIES	2	/* FADT, MADT */
#define TABLE_ALIGN	16

struct acpi_layout {
	size_t rsdp, rsdt, xsdt, fadt, facs, dsdt, madt;
	size_t rsdt_len, xsdt_len, madt_len, dsdt_len;
	size_t end;
};

static size_t madt_length(unsigned int ncpus)
{
	return sizeof(struct acpi_madt) +
	       (size_t)ncpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) +
	       2 * sizeof(struct madt_iso) +
	       sizeof(struct madt_lapic_nmi);
}

/* Offsets from @base, chosen so the guest-physical addresses are aligned. */
static void acpi_layout(struct acpi_layout *l, uint64_t base,
			unsigned int ncpus)
{
	uint64_t gpa = base;

	l->rsdt_len = sizeof(struct acpi_header) + RSDT_ENTRIES * 4;
	l->xsdt_len = sizeof(struct acpi_header) + RSDT_ENTRIES * 8;
	l->dsdt_len = sizeof(dsdt_aml_code);
	l->madt_len = madt_length(ncpus);

#define PLACE(field, len, align)					\
	do {								\
		gpa = align_up(gpa, (align));				\
		l->field = (size_t)(gpa - base);			\
		gpa += (len);						\
	} while (0)

	PLACE(rsdp, sizeof(struct acpi_rsdp), TABLE_ALIGN);
	PLACE(rsdt, l->rsdt_len, TABLE_ALIGN);
	PLACE(xsdt, l->xsdt_len, TABLE_ALIGN);
	PLACE(fadt, sizeof(struct acpi_fadt), TABLE_ALIGN);
	PLACE(facs, sizeof(struct acpi_facs), ACPI_FACS_ALIGN);
	PLACE(dsdt, l->dsdt_len, TABLE_ALIGN);
	PLACE(madt, l->madt_len, TABLE_ALIGN);
#undef PLACE
	l->end = (size_t)(gpa - base);
}

/* ---------------------------------------------------------------- tables */

static void build_rsdp(uint8_t *buf, const struct acpi_layout *l,
		       uint64_t base)
{
	struct acpi_rsdp r;

	memset(&r, 0, sizeof(r));
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.revision = 2;
	r.rsdt_address = (uint32_t)(base + l->rsdt);
	r.length = sizeof(r);
	r.xsdt_address = base + l->xsdt;
	r.checksum = (uint8_t)(0x100 -
			       checksum_of((const uint8_t *)&r,
					   ACPI_RSDP_V1_LEN));
	r.extended_checksum = (uint8_t)(0x100 -
					checksum_of((const uint8_t *)&r,
						    sizeof(r)));
	memcpy(buf + l->rsdp, &r, sizeof(r));
}

static void build_rsdt_xsdt(uint8_t *buf, const struct acpi_layout *l,
			    uint64_t base)
{
	const uint64_t entries[RSDT_ENTRIES] = {
		base + l->fadt,
		base + l->madt,
	};
	struct acpi_header h;
	uint8_t *rsdt = buf + l->rsdt, *xsdt = buf + l->xsdt;

	fill_header(&h, "RSDT", (uint32_t)l->rsdt_len, 1, "HVISRSDT");
	memcpy(rsdt, &h, sizeof(h));
	for (size_t i = 0; i < RSDT_ENTRIES; i++)
		put_le32(rsdt + sizeof(h) + 4 * i, (uint32_t)entries[i]);
	table_fix_checksum(rsdt, l->rsdt_len);

	fill_header(&h, "XSDT", (uint32_t)l->xsdt_len, 1, "HVISXSDT");
	memcpy(xsdt, &h, sizeof(h));
	for (size_t i = 0; i < RSDT_ENTRIES; i++)
		put_le64(xsdt + sizeof(h) + 8 * i, entries[i]);
	table_fix_checksum(xsdt, l->xsdt_len);
}

static void build_fadt(uint8_t *buf, const struct acpi_layout *l,
		       uint64_t base)
{
	struct acpi_fadt f;

	memset(&f, 0, sizeof(f));
	fill_header(&f.header, "FACP", sizeof(f), 6, "HVISFACP");
	f.minor_version = 3;			/* ACPI 6.3 */

	/* FACS only through X_FIRMWARE_CTRL: ACPICA would install it twice. */
	f.firmware_ctrl = 0;
	f.x_firmware_ctrl = base + l->facs;
	/* Both DSDT fields, equal: ACPICA only warns when they differ. */
	f.dsdt = (uint32_t)(base + l->dsdt);
	f.x_dsdt = base + l->dsdt;

	f.preferred_pm_profile = 0;		/* unspecified */
	f.sci_int = HVIS_SCI_IRQ;
	/* smi_cmd, acpi_enable, acpi_disable = 0: always in ACPI mode */

	f.pm1a_evt_blk = HVIS_PORT_PM1A_EVT;
	f.pm1_evt_len = FADT_PM1_EVT_LEN;
	f.x_pm1a_evt_blk = gas_io(HVIS_PORT_PM1A_EVT, FADT_PM1_EVT_LEN * 8,
				  ACPI_GAS_ACCESS_WORD);
	f.pm1a_cnt_blk = HVIS_PORT_PM1A_CNT;
	f.pm1_cnt_len = FADT_PM1_CNT_LEN;
	f.x_pm1a_cnt_blk = gas_io(HVIS_PORT_PM1A_CNT, FADT_PM1_CNT_LEN * 8,
				  ACPI_GAS_ACCESS_WORD);
	/* PM1b, PM2, PM timer, GPE0/1: absent (address and length 0) */

	f.p_lvl2_lat = FADT_C2_UNSUPPORTED;
	f.p_lvl3_lat = FADT_C3_UNSUPPORTED;
	/* no throttling (duty width 0), no RTC alarm fields */

	f.iapc_boot_arch = FADT_BA_LEGACY_DEVICES | FADT_BA_VGA_NOT_PRESENT;
	f.century = 0x32;	/* rtc.c keeps the century there */
	f.flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
		  FADT_F_SLP_BUTTON | FADT_F_FIX_RTC | FADT_F_RESET_REG_SUP;

	f.reset_reg = gas_io(HVIS_PORT_RESET, 8, ACPI_GAS_ACCESS_BYTE);
	f.reset_value = HVIS_RESET_VALUE;

	memcpy(buf + l->fadt, &f, sizeof(f));
	table_fix_checksum(buf + l->fadt, sizeof(f));
}

static void build_facs(uint8_t *buf, const struct acpi_layout *l)
{
	struct acpi_facs f;

	memset(&f, 0, sizeof(f));
	memcpy(f.signature, "FACS", 4);
	f.length = sizeof(f);
	f.version = 2;
	/* no checksum; waking vectors 0: no S3/S4 resume through firmware */
	memcpy(buf + l->facs, &f, sizeof(f));
}

static int build_dsdt(uint8_t *buf, const struct acpi_layout *l,
		      const struct acpi_config *cfg)
{
	uint8_t *d = buf + l->dsdt;
	ptrdiff_t w;

	memcpy(d, dsdt_aml_code, l->dsdt_len);
	if (cfg->vmbus_mmio_base == HVIS_VMBUS_MMIO_BASE &&
	    cfg->vmbus_mmio_size == HVIS_VMBUS_MMIO_SIZE)
		return 0;

	/*
	 * Another window: patch the QWordMemory descriptor. Not finding the
	 * compiled-in one means dsdt.asl and platform.h disagree.
	 */
	w = dsdt_find_window(d, l->dsdt_len, HVIS_VMBUS_MMIO_BASE,
			     HVIS_VMBUS_MMIO_SIZE);
	if (w < 0)
		return -EINVAL;
	put_le64(d + w + AML_QWORD_OFF_MIN, cfg->vmbus_mmio_base);
	put_le64(d + w + AML_QWORD_OFF_MAX,
		 cfg->vmbus_mmio_base + cfg->vmbus_mmio_size - 1);
	put_le64(d + w + AML_QWORD_OFF_LEN, cfg->vmbus_mmio_size);
	table_fix_checksum(d, l->dsdt_len);
	return 0;
}

static void build_madt(uint8_t *buf, const struct acpi_layout *l,
		       unsigned int ncpus)
{
	uint8_t *p = buf + l->madt;
	struct acpi_madt m;
	struct madt_ioapic io = {
		.type = MADT_TYPE_IOAPIC,
		.length = sizeof(io),
		.ioapic_id = ACPI_IOAPIC_ID,
		.address = (uint32_t)HVIS_IOAPIC_BASE,
		.gsi_base = 0,
	};
	const struct madt_iso isos[2] = {
		{	/* 8254 PIT: ISA IRQ 0 on IOAPIC pin 2, ISA polarity */
			.type = MADT_TYPE_ISO,
			.length = sizeof(struct madt_iso),
			.bus = 0, .source = PIT_ISA_IRQ, .gsi = PIT_GSI,
			.flags = MPS_INTI_CONFORMS,
		},
		{	/* SCI: level, active high, as PM1 would drive it */
			.type = MADT_TYPE_ISO,
			.length = sizeof(struct madt_iso),
			.bus = 0, .source = HVIS_SCI_IRQ, .gsi = HVIS_SCI_IRQ,
			.flags = MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL,
		},
	};
	struct madt_lapic_nmi nmi = {
		.type = MADT_TYPE_LAPIC_NMI,
		.length = sizeof(nmi),
		.processor_uid = 0xFF,
		.flags = MPS_INTI_CONFORMS,
		.lint = 1,
	};
	size_t off = sizeof(m);

	memset(&m, 0, sizeof(m));
	fill_header(&m.header, "APIC", (uint32_t)l->madt_len, 5, "HVISAPIC");
	m.lapic_address = (uint32_t)HVIS_LAPIC_BASE;
	m.flags = MADT_PCAT_COMPAT;
	memcpy(p, &m, sizeof(m));

	for (unsigned int i = 0; i < ncpus; i++) {
		struct madt_lapic la = {
			.type = MADT_TYPE_LAPIC,
			.length = sizeof(la),
			.processor_uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = MADT_LAPIC_ENABLED,
		};

		memcpy(p + off, &la, sizeof(la));
		off += sizeof(la);
	}
	memcpy(p + off, &io, sizeof(io));
	off += sizeof(io);
	memcpy(p + off, isos, sizeof(isos));
	off += sizeof(isos);
	memcpy(p + off, &nmi, sizeof(nmi));
	off += sizeof(nmi);

	table_fix_checksum(p, off);
}

/* ------------------------------------------------------------------- API */

int acpi_build(void *buf, size_t size, uint64_t base,
	       const struct acpi_config *cfg, uint64_t *rsdp_gpa,
	       size_t *used)
{
	struct acpi_layout l;
	uint8_t *b = buf;
	int ret;

	if (!buf || !cfg || !rsdp_gpa || !used)
		return -EINVAL;
	if (cfg->ncpus < 1 || cfg->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;
	if (base % TABLE_ALIGN || base >= (1ull << 32) ||
	    size > (1ull << 32) - base)
		return -EINVAL;
	if (!vmbus_window_ok(cfg->vmbus_mmio_base, cfg->vmbus_mmio_size))
		return -EINVAL;

	acpi_layout(&l, base, cfg->ncpus);
	if (l.end > size)
		return -ENOSPC;

	memset(b, 0, l.end);
	ret = build_dsdt(b, &l, cfg);
	if (ret)
		return ret;
	build_facs(b, &l);
	build_madt(b, &l, cfg->ncpus);
	build_fadt(b, &l, base);
	build_rsdt_xsdt(b, &l, base);
	build_rsdp(b, &l, base);

	*rsdp_gpa = base + l.rsdp;
	*used = l.end;
	return 0;
}
