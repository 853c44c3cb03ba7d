/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Linux x86 boot protocol loader: puts a bzImage, its initrd, the command
 * line, the zero page (struct boot_params with an e820 map), identity page
 * tables and a GDT into guest RAM, and describes the vCPU 0 state for the
 * 64-bit entry point (Documentation/arch/x86/boot.rst, "64-bit Boot
 * Protocol").
 *
 * Guest-physical placement (addresses from platform.h):
 *   HVIS_BOOT_GDT      GDT: null, null, 0x10 flat 64-bit code, 0x18 flat
 *                      data, 0x20 64-bit TSS (16 bytes, base 0)
 *   HVIS_BOOT_PARAMS   zero page; the initial stack grows down from here
 *   HVIS_BOOT_PML4     PML4, PDPT, 4 PDs: 0..4 GiB identity, 2 MiB pages
 *   HVIS_BOOT_CMDLINE  NUL-terminated command line
 *   kernel             pref_address if relocatable and it fits, else
 *                      HVIS_BOOT_KERNEL aligned up to kernel_alignment;
 *                      init_size bytes from there must be low RAM
 *   initrd             page-aligned, as high as possible below
 *                      min(initrd_addr_max + 1, low RAM end), clear of the
 *                      kernel's init_size span and the ACPI range; if it
 *                      does not fit there and the kernel sets
 *                      XLF_CAN_BE_LOADED_ABOVE_4G, at the top of RAM above
 *                      4 GiB (ramdisk_image/ext_ramdisk_image split)
 *
 * e820 map (ranges in ascending order, adjacent equal types merged):
 *   RAM       0 .. HVIS_EBDA_BASE
 *   reserved  HVIS_EBDA_BASE .. 0xA0000
 *   ACPI (3)  cfg->acpi_base .. + acpi_size (overrides anything under it)
 *   RAM       1 MiB .. gm->low_size
 *   RAM       HVIS_HIGH_RAM_BASE .. + (gm->size - gm->low_size), if any
 * 0xA0000..1 MiB outside the ACPI range, the 32-bit hole (VMBus MMIO,
 * IOAPIC, LAPIC) are holes.
 *
 * The kernel and initrd files are untrusted: every size, offset and address
 * taken from them is checked, and every guest write goes through
 * guest_mem_ptr(). Guest RAM is not touched until every check on the
 * inputs has passed (only a read error while copying, e.g. a file that
 * shrinks under us, can leave a partial load behind).
 *
 * boot_load() may be called again to reboot: it rewrites everything it
 * owns. It does not clear the rest of RAM.
 */
#ifndef HVIS_HV_BOOT_H
#define HVIS_HV_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "guest_mem.h"

/* ------------------------------------------------------------------ ABI */
/*
 * The boot-protocol structures, defined here from boot.rst / zero-page.rst
 * (offsets checked with _Static_assert in boot.c). Only what the loader
 * and its tests use is named; the rest is padding.
 */
#define BP_BOOT_FLAG		0xAA55
#define BP_HDRS_MAGIC		0x53726448u	/* "HdrS" */
#define BP_MIN_VERSION		0x020C		/* 2.12: xloadflags */
#define BP_RSDP_VERSION		0x020E		/* 2.14+: acpi_rsdp_addr */

#define BP_LOADED_HIGH		0x01		/* loadflags */
#define BP_KASLR_FLAG		0x02
#define BP_CAN_USE_HEAP		0x80
#define BP_XLF_KERNEL_64	0x0001		/* xloadflags */
#define BP_XLF_ABOVE_4G		0x0002

#define BP_E820_RAM		1
#define BP_E820_RESERVED	2
#define BP_E820_ACPI		3
#define BP_E820_MAX		128		/* entries in the zero page */

#define BP_HDR_OFFSET		0x1F1		/* setup header, in file and page */
#define BP_HDR_END_MAX		0x290		/* room for it in boot_params */

struct bp_setup_header {			/* at 0x1F1 */
	uint8_t  setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t  type_of_loader;
	uint8_t  loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t  ext_loader_ver;
	uint8_t  ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t  relocatable_kernel;
	uint8_t  min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));

struct bp_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct bp_boot_params {				/* the 4 KiB "zero page" */
	uint8_t  screen_info[0x40];		/* 0x000 */
	uint8_t  apm_bios_info[0x14];		/* 0x040 */
	uint8_t  pad1[4];
	uint64_t tboot_addr;			/* 0x058 */
	uint8_t  ist_info[0x10];		/* 0x060 */
	uint64_t acpi_rsdp_addr;		/* 0x070 */
	uint8_t  pad2[8];
	uint8_t  hd0_info[0x10];		/* 0x080 */
	uint8_t  hd1_info[0x10];		/* 0x090 */
	uint8_t  sys_desc_table[0x10];		/* 0x0A0 */
	uint8_t  olpc_ofw_header[0x10];		/* 0x0B0 */
	uint32_t ext_ramdisk_image;		/* 0x0C0 */
	uint32_t ext_ramdisk_size;		/* 0x0C4 */
	uint32_t ext_cmd_line_ptr;		/* 0x0C8 */
	uint8_t  pad3[0x70];
	uint32_t cc_blob_address;		/* 0x13C */
	uint8_t  edid_info[0x80];		/* 0x140 */
	uint8_t  efi_info[0x20];		/* 0x1C0 */
	uint32_t alt_mem_k;			/* 0x1E0 */
	uint32_t scratch;			/* 0x1E4 */
	uint8_t  e820_entries;			/* 0x1E8 */
	uint8_t  eddbuf_entries;		/* 0x1E9 */
	uint8_t  edd_mbr_sig_buf_entries;	/* 0x1EA */
	uint8_t  kbd_status;			/* 0x1EB */
	uint8_t  secure_boot;			/* 0x1EC */
	uint8_t  pad4[2];
	uint8_t  sentinel;			/* 0x1EF */
	uint8_t  pad5[1];
	struct bp_setup_header hdr;		/* 0x1F1 */
	uint8_t  pad6[BP_HDR_END_MAX - BP_HDR_OFFSET -
		      sizeof(struct bp_setup_header)];
	uint32_t edd_mbr_sig_buffer[16];	/* 0x290 */
	struct bp_e820_entry e820_table[BP_E820_MAX];	/* 0x2D0 */
	uint8_t  pad7[0x30];
	uint8_t  eddbuf[0x1EC];			/* 0xD00 */
	uint8_t  pad8[0x114];
} __attribute__((packed));

/* GDT selectors of the 64-bit entry (boot.rst: __BOOT_CS, __BOOT_DS). */
#define BOOT_SEL_CS		0x10
#define BOOT_SEL_DS		0x18
#define BOOT_SEL_TSS		0x20
#define BOOT_GDT_ENTRIES	6		/* TSS descriptor takes two */

/* ------------------------------------------------------------------ API */
struct boot_config {
	const char *kernel_path;	/* bzImage, boot protocol >= 2.12 */
	const char *initrd_path;	/* NULL: no initrd */
	const char *cmdline;		/* NULL: empty command line */
	/*
	 * boot_params.acpi_rsdp_addr; 0 = leave unset. Only written for
	 * protocol >= 2.14; older kernels scan 0xE0000..0xFFFFF for it.
	 */
	uint64_t rsdp_gpa;
	/* ACPI tables: e820 type 3 over [acpi_base, +acpi_size); 0 = none. */
	uint64_t acpi_base, acpi_size;
};

/* What boot_load() set up: the vCPU 0 state and, for logs, where it put things. */
struct boot_entry {
	uint64_t rip;			/* kernel_addr + 0x200 */
	uint64_t rsi;			/* zero page GPA */
	uint64_t rsp;			/* scratch stack below the zero page */
	uint64_t cr3;			/* PML4 GPA */
	uint64_t gdt_base;
	uint16_t gdt_limit;

	uint16_t protocol;		/* setup header version, e.g. 0x020F */
	uint64_t kernel_addr;		/* protected-mode part loaded here */
	uint64_t kernel_file_size;	/* bytes copied from the file */
	uint64_t kernel_extent;		/* max(file part, init_size) */
	uint64_t initrd_addr, initrd_size;	/* 0, 0 without initrd */
	uint64_t cmdline_addr;
	uint32_t cmdline_len;		/* without the NUL */
	unsigned int e820_entries;
};

/*
 * Load cfg->kernel_path (and initrd) into @gm, build the zero page, command
 * line, e820 map, page tables and GDT, and fill @out. Returns 0, or a
 * negative errno with a one-line reason in @err (if @err and @errlen):
 * -EINVAL for a malformed or unsupported kernel/initrd/command line,
 * -ENOSPC when something does not fit in guest RAM, other -errno for I/O
 * (-ENOENT for a missing file...).
 */
int boot_load(struct guest_mem *gm, const struct boot_config *cfg,
	      struct boot_entry *out, char *err, size_t errlen);

/*
 * Set vCPU 0 registers for the 64-bit entry. Call KVM_GET_SREGS first and
 * pass the result in: segments, descriptor tables, CR0/CR3/CR4 and EFER are
 * overwritten, everything else (apic_base, interrupt_bitmap, cr2, cr8) is
 * kept. @regs is cleared, then RIP, RSI, RSP and RFLAGS (= 0x2, interrupts
 * off) are set. Then KVM_SET_SREGS and KVM_SET_REGS.
 *
 * Resulting state: CR0 = PE|ET|PG, CR4 = PAE, EFER = LME|LMA,
 * CR3 = HVIS_BOOT_PML4; CS = 0x10 (64-bit code, L=1), DS/ES/FS/GS/SS = 0x18
 * (flat 4 GiB data), TR = 0x20 (busy 64-bit TSS, base 0), LDT unusable,
 * GDTR = HVIS_BOOT_GDT, IDTR = 0/0 (the kernel loads its own before it
 * enables interrupts).
 */
void boot_setup_vcpu0(const struct boot_entry *e, struct kvm_sregs *sregs,
		      struct kvm_regs *regs);

#endif /* HVIS_HV_BOOT_H */
