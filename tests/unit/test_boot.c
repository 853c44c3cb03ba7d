// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for hypervisor/boot.c: synthetic bzImages (valid and corrupt)
 * written to temp files and loaded into a guest RAM that is a plain heap
 * buffer, so ASan catches any write outside it. RAM is filled with a
 * poison byte first: a failed load must leave it untouched.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

#include "unit.h"
#include "../../hypervisor/boot.h"
#include "../../hypervisor/platform.h"

#define MIB		0x100000ull
#define POISON		0xCC
#define RAM_SIZE	(32 * MIB)

/* ------------------------------------------------------------ fixtures */
struct fake_ram {
	struct guest_mem gm;
};

/* Guest RAM on the heap: low_size bytes at 0, the rest above 4 GiB. */
static void ram_init(struct fake_ram *r, uint64_t size, uint64_t low)
{
	memset(r, 0, sizeof(*r));
	r->gm.memfd = -1;
	r->gm.base = malloc(size);
	CU_ASSERT_FATAL(r->gm.base != NULL);
	memset(r->gm.base, POISON, size);
	r->gm.size = size;
	r->gm.low_size = low;
}

static void ram_free(struct fake_ram *r)
{
	free(r->gm.base);
	r->gm.base = NULL;
}

static bool ram_untouched(const struct fake_ram *r)
{
	/* all bytes equal to the first, and the first is the poison */
	return r->gm.base[0] == POISON &&
	       !memcmp(r->gm.base, r->gm.base + 1, r->gm.size - 1);
}

static void *gp(struct fake_ram *r, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(&r->gm, gpa, len);
}

struct fake_kernel {
	uint8_t setup_sects;
	uint8_t hdr_len;		/* byte at 0x201: header ends 0x202 + it */
	uint16_t boot_flag;
	uint32_t magic;
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t pm_size;		/* protected-mode bytes in the file */
	int64_t syssize;		/* -1: pm_size / 16 rounded up */
	uint32_t trailer;		/* junk after the image (a signature) */
	size_t truncate;		/* nonzero: cut the file to this size */
};

static struct fake_kernel fake_default(void)
{
	struct fake_kernel f = {
		.setup_sects = 4,
		.hdr_len = 0x26C - 0x202,
		.boot_flag = 0xAA55,
		.magic = 0x53726448,
		.version = 0x020F,
		.loadflags = BP_LOADED_HIGH,
		.xloadflags = BP_XLF_KERNEL_64 | BP_XLF_ABOVE_4G,
		.relocatable = 1,
		.kernel_alignment = 2 * MIB,
		.pref_address = 16 * MIB,
		.init_size = 4 * MIB,
		.initrd_addr_max = 0x7FFFFFFF,
		.cmdline_size = 2047,
		.pm_size = 64 * 1024 + 32,
		.syssize = -1,
		.trailer = 100,
	};
	return f;
}

static uint8_t pm_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

/* Build the image in memory; *len gets its size. Caller frees. */
static uint8_t *fake_image(const struct fake_kernel *f, size_t *len)
{
	size_t setup = ((size_t)(f->setup_sects ? f->setup_sects : 4) + 1) * 512;
	size_t total = setup + f->pm_size + f->trailer;
	uint8_t *img;
	uint32_t sys = f->syssize < 0 ? (f->pm_size + 15) / 16 :
		       (uint32_t)f->syssize;

	if (total < 0x290)
		total = 0x290;
	img = calloc(1, total);
	CU_ASSERT_FATAL(img != NULL);
	/* junk in the header's tail: must not be copied past hdr_end */
	memset(img + 0x26C, 0xEE, 0x290 - 0x26C);
	img[0x1F1] = f->setup_sects;
	put32(img, 0x1F4, sys);
	put16(img, 0x1FA, 0xFFFF);		/* vid_mode */
	put16(img, 0x1FE, f->boot_flag);
	img[0x200] = 0xEB;
	img[0x201] = f->hdr_len;
	put32(img, 0x202, f->magic);
	put16(img, 0x206, f->version);
	img[0x210] = 0;
	img[0x211] = f->loadflags;
	put32(img, 0x218, 0x12345678);		/* stale ramdisk_image */
	put32(img, 0x22C, f->initrd_addr_max);
	put32(img, 0x230, f->kernel_alignment);
	img[0x234] = f->relocatable;
	img[0x235] = 21;
	put16(img, 0x236, f->xloadflags);
	put32(img, 0x238, f->cmdline_size);
	put64(img, 0x250, 0xDEADBEEF);		/* hostile setup_data */
	put64(img, 0x258, f->pref_address);
	put32(img, 0x260, f->init_size);
	for (size_t i = 0; i < f->pm_size && setup + i < total; i++)
		img[setup + i] = pm_byte(i);
	for (size_t i = setup + f->pm_size; i < total; i++)
		img[i] = 0x5A;			/* trailer */
	*len = f->truncate && f->truncate < total ? f->truncate : total;
	return img;
}

static void write_tmp(const void *buf, size_t len, char *path)
{
	int fd;

	strcpy(path, "/tmp/hvis-unit-boot-XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

static void write_kernel(const struct fake_kernel *f, char *path)
{
	size_t len;
	uint8_t *img = fake_image(f, &len);

	write_tmp(img, len, path);
	free(img);
}

static uint8_t initrd_byte(size_t i)
{
	return (uint8_t)(i * 13 + 1);
}

static void write_initrd(size_t len, char *path)
{
	uint8_t *b = malloc(len ? len : 1);

	CU_ASSERT_FATAL(b != NULL);
	for (size_t i = 0; i < len; i++)
		b[i] = initrd_byte(i);
	write_tmp(b, len, path);
	free(b);
}

static struct boot_config cfg_default(const char *kernel)
{
	struct boot_config c = {
		.kernel_path = kernel,
		.cmdline = "console=ttyS0 panic=-1",
		.rsdp_gpa = HVIS_ACPI_BASE,
		.acpi_base = HVIS_ACPI_BASE,
		.acpi_size = HVIS_ACPI_SIZE,
	};
	return c;
}

/* Load @f with @c into fresh RAM; returns boot_load's result. */
static int load(struct fake_ram *r, uint64_t size, uint64_t low,
		const struct fake_kernel *f, struct boot_config *c,
		struct boot_entry *e, char *err, size_t errlen)
{
	char kpath[64];
	int ret;

	ram_init(r, size, low);
	write_kernel(f, kpath);
	c->kernel_path = kpath;
	ret = boot_load(&r->gm, c, e, err, errlen);
	unlink(kpath);
	c->kernel_path = NULL;
	return ret;
}

/* A load that must fail with @want_errno and leave RAM alone. */
static void expect_fail(const struct fake_kernel *f, struct boot_config *c,
			int want_errno, const char *what)
{
	struct fake_ram r;
	struct boot_entry e;
	char err[256] = "";
	int ret = load(&r, RAM_SIZE, RAM_SIZE, f, c, &e, err, sizeof(err));

	if (ret != -want_errno)
		fprintf(stderr, "\n  %s: got %d (%s), want %d\n", what, ret,
			err, -want_errno);
	CU_ASSERT_EQUAL(ret, -want_errno);
	CU_ASSERT(err[0] != '\0');
	CU_ASSERT(ram_untouched(&r));
	ram_free(&r);
}

static struct bp_boot_params *zero_page(struct fake_ram *r)
{
	return gp(r, HVIS_BOOT_PARAMS, sizeof(struct bp_boot_params));
}

/* ------------------------------------------------------------ tests */
static void test_valid_load(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	struct boot_entry e;
	struct bp_boot_params *bp;
	char err[256] = "";
	const uint8_t *k, *z;
	bool same = true;

	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kernel_addr, 16 * MIB);
	CU_ASSERT_EQUAL(e.rip, 16 * MIB + 0x200);
	CU_ASSERT_EQUAL(e.rsi, HVIS_BOOT_PARAMS);
	CU_ASSERT_EQUAL(e.cr3, HVIS_BOOT_PML4);
	CU_ASSERT_EQUAL(e.gdt_base, HVIS_BOOT_GDT);
	CU_ASSERT_EQUAL(e.gdt_limit, BOOT_GDT_ENTRIES * 8 - 1);
	CU_ASSERT_EQUAL(e.protocol, 0x020F);
	CU_ASSERT_EQUAL(e.kernel_file_size, (f.pm_size + 15) / 16 * 16);
	CU_ASSERT_EQUAL(e.kernel_extent, 4 * MIB);
	CU_ASSERT_EQUAL(e.initrd_addr, 0);
	CU_ASSERT_EQUAL(e.initrd_size, 0);

	/* kernel bytes, and nothing of the trailer beyond syssize */
	k = gp(&r, e.kernel_addr, e.kernel_file_size + 16);
	CU_ASSERT_FATAL(k != NULL);
	for (size_t i = 0; i < f.pm_size; i++)
		same &= k[i] == pm_byte(i);
	CU_ASSERT(same);
	for (size_t i = f.pm_size; i < e.kernel_file_size; i++)
		CU_ASSERT_EQUAL(k[i], 0x5A);
	CU_ASSERT_EQUAL(k[e.kernel_file_size], POISON);

	/* command line */
	CU_ASSERT_STRING_EQUAL((char *)gp(&r, HVIS_BOOT_CMDLINE, 1),
			       "console=ttyS0 panic=-1");
	CU_ASSERT_EQUAL(e.cmdline_len, strlen("console=ttyS0 panic=-1"));

	/* zero page */
	bp = zero_page(&r);
	CU_ASSERT_FATAL(bp != NULL);
	CU_ASSERT_EQUAL(bp->hdr.boot_flag, 0xAA55);
	CU_ASSERT_EQUAL(bp->hdr.header, 0x53726448);
	CU_ASSERT_EQUAL(bp->hdr.version, 0x020F);
	CU_ASSERT_EQUAL(bp->hdr.vid_mode, 0xFFFF);
	CU_ASSERT_EQUAL(bp->hdr.setup_sects, 4);
	CU_ASSERT_EQUAL(bp->hdr.type_of_loader, 0xFF);
	CU_ASSERT_EQUAL(bp->hdr.loadflags, BP_LOADED_HIGH | BP_CAN_USE_HEAP);
	CU_ASSERT(bp->hdr.heap_end_ptr != 0);
	CU_ASSERT_EQUAL(bp->hdr.cmd_line_ptr, HVIS_BOOT_CMDLINE);
	CU_ASSERT_EQUAL(bp->ext_cmd_line_ptr, 0);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_image, 0);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_size, 0);
	CU_ASSERT_EQUAL(bp->hdr.setup_data, 0);
	CU_ASSERT_EQUAL(bp->hdr.code32_start, 16 * MIB);
	CU_ASSERT_EQUAL(bp->hdr.init_size, 4 * MIB);
	CU_ASSERT_EQUAL(bp->acpi_rsdp_addr, HVIS_ACPI_BASE);
	CU_ASSERT_EQUAL(bp->sentinel, 0);
	/* everything before the header but acpi_rsdp_addr and e820_entries
	 * is zero; so is the header's tail and the gap after it */
	z = (const uint8_t *)bp;
	for (size_t i = 0; i < BP_HDR_OFFSET; i++)
		if ((i < 0x70 || i >= 0x78) && i != 0x1E8)
			CU_ASSERT_EQUAL(z[i], 0);
	for (size_t i = 0x26C; i < 0x2D0; i++)
		CU_ASSERT_EQUAL(z[i], 0);
	for (size_t i = 0x2D0 + 20 * bp->e820_entries; i < 4096; i++)
		CU_ASSERT_EQUAL(z[i], 0);

	/* e820 */
	CU_ASSERT_EQUAL_FATAL(bp->e820_entries, 4);
	CU_ASSERT_EQUAL(e.e820_entries, 4);
	CU_ASSERT_EQUAL(bp->e820_table[0].addr, 0);
	CU_ASSERT_EQUAL(bp->e820_table[0].size, HVIS_EBDA_BASE);
	CU_ASSERT_EQUAL(bp->e820_table[0].type, BP_E820_RAM);
	CU_ASSERT_EQUAL(bp->e820_table[1].addr, HVIS_EBDA_BASE);
	CU_ASSERT_EQUAL(bp->e820_table[1].size, 0xA0000 - HVIS_EBDA_BASE);
	CU_ASSERT_EQUAL(bp->e820_table[1].type, BP_E820_RESERVED);
	CU_ASSERT_EQUAL(bp->e820_table[2].addr, HVIS_ACPI_BASE);
	CU_ASSERT_EQUAL(bp->e820_table[2].size, HVIS_ACPI_SIZE);
	CU_ASSERT_EQUAL(bp->e820_table[2].type, BP_E820_ACPI);
	CU_ASSERT_EQUAL(bp->e820_table[3].addr, MIB);
	CU_ASSERT_EQUAL(bp->e820_table[3].size, RAM_SIZE - MIB);
	CU_ASSERT_EQUAL(bp->e820_table[3].type, BP_E820_RAM);

	ram_free(&r);
}

static void test_page_tables_and_gdt(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	struct boot_entry e;
	char err[256] = "";
	const uint64_t *pml4, *pdpt, *gdt;
	bool ok = true;

	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	pml4 = gp(&r, HVIS_BOOT_PML4, 4096);
	pdpt = gp(&r, HVIS_BOOT_PML4 + 0x1000, 4096);
	CU_ASSERT_FATAL(pml4 && pdpt);
	CU_ASSERT_EQUAL(pml4[0], (HVIS_BOOT_PML4 + 0x1000) | 3);
	for (int i = 1; i < 512; i++)
		ok &= pml4[i] == 0;
	for (int i = 0; i < 4; i++)
		ok &= pdpt[i] == ((HVIS_BOOT_PML4 + 0x2000 + 0x1000ull * i) | 3);
	for (int i = 4; i < 512; i++)
		ok &= pdpt[i] == 0;
	CU_ASSERT(ok);
	/* every 2 MiB of 0..4 GiB maps to itself: P, RW, PS */
	for (int i = 0; i < 4; i++) {
		const uint64_t *pd = gp(&r, HVIS_BOOT_PML4 + 0x2000 +
					    0x1000ull * i, 4096);

		CU_ASSERT_FATAL(pd != NULL);
		for (int j = 0; j < 512; j++)
			ok &= pd[j] == ((((uint64_t)i << 30) |
					 ((uint64_t)j << 21)) | 0x83);
	}
	CU_ASSERT(ok);
	/* walk: the kernel entry, zero page and command line translate */
	{
		uint64_t va[] = { e.rip, e.rsi, HVIS_BOOT_CMDLINE,
				  0xFFFFF000ull };

		for (size_t n = 0; n < sizeof(va) / sizeof(va[0]); n++) {
			uint64_t l4 = pml4[(va[n] >> 39) & 511];
			const uint64_t *l3 = gp(&r, l4 & ~0xFFFull, 4096);
			uint64_t l3e = l3[(va[n] >> 30) & 511];
			const uint64_t *l2 = gp(&r, l3e & ~0xFFFull, 4096);
			uint64_t l2e = l2[(va[n] >> 21) & 511];

			CU_ASSERT((l2e & 0x81) == 0x81);
			CU_ASSERT_EQUAL((l2e & ~0x1FFFFFull) |
					(va[n] & 0x1FFFFF), va[n]);
		}
	}

	gdt = gp(&r, HVIS_BOOT_GDT, BOOT_GDT_ENTRIES * 8);
	CU_ASSERT_FATAL(gdt != NULL);
	CU_ASSERT_EQUAL(gdt[0], 0);
	CU_ASSERT_EQUAL(gdt[1], 0);
	CU_ASSERT_EQUAL(gdt[2], 0x00AF9B000000FFFFull);	/* 0x10 code64 */
	CU_ASSERT_EQUAL(gdt[3], 0x00CF93000000FFFFull);	/* 0x18 data */
	CU_ASSERT_EQUAL(gdt[4], 0x00008B0000000067ull);	/* 0x20 TSS */
	CU_ASSERT_EQUAL(gdt[5], 0);
	ram_free(&r);
}

static void test_vcpu_state(void)
{
	struct boot_entry e = {
		.rip = 0x1000200, .rsi = HVIS_BOOT_PARAMS,
		.rsp = HVIS_BOOT_PARAMS, .cr3 = HVIS_BOOT_PML4,
		.gdt_base = HVIS_BOOT_GDT, .gdt_limit = 47,
	};
	struct kvm_sregs s;
	struct kvm_regs regs;

	memset(&s, 0xA5, sizeof(s));
	memset(&regs, 0xA5, sizeof(regs));
	s.apic_base = 0xFEE00900;
	boot_setup_vcpu0(&e, &s, &regs);
	CU_ASSERT_EQUAL(s.apic_base, 0xFEE00900);	/* kept */
	CU_ASSERT_EQUAL(s.cr0, 0x80000011);
	CU_ASSERT_EQUAL(s.cr4, 0x20);
	CU_ASSERT_EQUAL(s.cr3, HVIS_BOOT_PML4);
	CU_ASSERT_EQUAL(s.efer, 0x500);
	CU_ASSERT_EQUAL(s.cs.selector, 0x10);
	CU_ASSERT_EQUAL(s.cs.l, 1);
	CU_ASSERT_EQUAL(s.cs.db, 0);
	CU_ASSERT_EQUAL(s.cs.present, 1);
	CU_ASSERT_EQUAL(s.cs.s, 1);
	CU_ASSERT_EQUAL(s.cs.type & 0x8, 0x8);		/* code */
	CU_ASSERT_EQUAL(s.cs.base, 0);
	CU_ASSERT_EQUAL(s.cs.limit, 0xFFFFFFFF);
	CU_ASSERT_EQUAL(s.cs.unusable, 0);
	CU_ASSERT_EQUAL(s.ds.selector, 0x18);
	CU_ASSERT_EQUAL(s.ss.selector, 0x18);
	CU_ASSERT_EQUAL(s.es.selector, 0x18);
	CU_ASSERT_EQUAL(s.fs.selector, 0x18);
	CU_ASSERT_EQUAL(s.gs.selector, 0x18);
	CU_ASSERT_EQUAL(s.ds.type, 0x3);
	CU_ASSERT_EQUAL(s.ds.db, 1);
	CU_ASSERT_EQUAL(s.ds.l, 0);
	CU_ASSERT_EQUAL(s.tr.selector, 0x20);
	CU_ASSERT_EQUAL(s.tr.type, 0xB);
	CU_ASSERT_EQUAL(s.tr.present, 1);
	CU_ASSERT_EQUAL(s.ldt.unusable, 1);
	CU_ASSERT_EQUAL(s.gdt.base, HVIS_BOOT_GDT);
	CU_ASSERT_EQUAL(s.gdt.limit, 47);
	CU_ASSERT_EQUAL(s.idt.limit, 0);
	CU_ASSERT_EQUAL(regs.rip, 0x1000200);
	CU_ASSERT_EQUAL(regs.rsi, HVIS_BOOT_PARAMS);
	CU_ASSERT_EQUAL(regs.rsp, HVIS_BOOT_PARAMS);
	CU_ASSERT_EQUAL(regs.rflags, 2);
	CU_ASSERT_EQUAL(regs.rax, 0);
	CU_ASSERT_EQUAL(regs.rbp, 0);
	CU_ASSERT_EQUAL(regs.rdi, 0);
}

static void test_initrd_low(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	struct boot_entry e;
	struct bp_boot_params *bp;
	char err[256] = "", ipath[64];
	const size_t isz = MIB + 5;
	const uint8_t *p;
	bool same = true;

	write_initrd(isz, ipath);
	c.initrd_path = ipath;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	unlink(ipath);
	CU_ASSERT_EQUAL(e.initrd_size, isz);
	CU_ASSERT_EQUAL(e.initrd_addr & 0xFFF, 0);
	CU_ASSERT(e.initrd_addr + isz <= RAM_SIZE);
	CU_ASSERT(e.initrd_addr + isz > RAM_SIZE - 0x1000);	/* as high */
	CU_ASSERT(e.initrd_addr >= e.kernel_addr + e.kernel_extent);
	p = gp(&r, e.initrd_addr, isz);
	CU_ASSERT_FATAL(p != NULL);
	for (size_t i = 0; i < isz; i++)
		same &= p[i] == initrd_byte(i);
	CU_ASSERT(same);
	bp = zero_page(&r);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_image, e.initrd_addr);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_size, isz);
	CU_ASSERT_EQUAL(bp->ext_ramdisk_image, 0);
	CU_ASSERT_EQUAL(bp->ext_ramdisk_size, 0);
	ram_free(&r);
}

/* initrd_addr_max inside the kernel's span: the initrd goes below it. */
static void test_initrd_below_kernel(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	struct boot_entry e;
	char err[256] = "", ipath[64];

	f.init_size = 8 * MIB;			/* kernel: 16..24 MiB */
	f.initrd_addr_max = 24 * MIB - 1;
	write_initrd(MIB, ipath);
	c.initrd_path = ipath;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	unlink(ipath);
	CU_ASSERT_EQUAL(e.initrd_addr, 15 * MIB);
	ram_free(&r);
}

static void test_initrd_too_big(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	char ipath[64];

	write_initrd(16 * MIB, ipath);		/* 15 + 12 MiB free, split */
	c.initrd_path = ipath;
	expect_fail(&f, &c, ENOSPC, "initrd too big");
	unlink(ipath);
	/* initrd_addr_max below 1 MiB: nowhere to go */
	f.initrd_addr_max = 0xFFFFF;
	write_initrd(4096, ipath);
	expect_fail(&f, &c, ENOSPC, "initrd_addr_max too low");
	unlink(ipath);
}

static void test_initrd_high(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	struct boot_entry e;
	struct bp_boot_params *bp;
	char err[256] = "", ipath[64];
	const size_t isz = 20 * MIB + 3;
	const uint8_t *p;
	bool same = true;

	write_initrd(isz, ipath);
	c.initrd_path = ipath;
	/* 32 MiB low + 32 MiB at 4 GiB */
	CU_ASSERT_EQUAL_FATAL(load(&r, 64 * MIB, 32 * MIB, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.initrd_addr,
			(HVIS_HIGH_RAM_BASE + 32 * MIB - isz) & ~0xFFFull);
	p = gp(&r, e.initrd_addr, isz);
	CU_ASSERT_FATAL(p != NULL);
	for (size_t i = 0; i < isz; i++)
		same &= p[i] == initrd_byte(i);
	CU_ASSERT(same);
	bp = zero_page(&r);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_image, (uint32_t)e.initrd_addr);
	CU_ASSERT_EQUAL(bp->ext_ramdisk_image, 1);
	CU_ASSERT_EQUAL(bp->hdr.ramdisk_size, isz);
	CU_ASSERT_EQUAL(bp->ext_ramdisk_size, 0);
	CU_ASSERT_EQUAL_FATAL(bp->e820_entries, 5);
	CU_ASSERT_EQUAL(bp->e820_table[4].addr, HVIS_HIGH_RAM_BASE);
	CU_ASSERT_EQUAL(bp->e820_table[4].size, 32 * MIB);
	CU_ASSERT_EQUAL(bp->e820_table[4].type, BP_E820_RAM);
	ram_free(&r);

	/* without XLF_CAN_BE_LOADED_ABOVE_4G it must not go there */
	f.xloadflags = BP_XLF_KERNEL_64;
	CU_ASSERT_EQUAL(load(&r, 64 * MIB, 32 * MIB, &f, &c, &e, err,
			     sizeof(err)), -ENOSPC);
	CU_ASSERT(ram_untouched(&r));
	ram_free(&r);
	unlink(ipath);
}

static void test_initrd_bad(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	char ipath[64];

	write_initrd(0, ipath);
	c.initrd_path = ipath;
	expect_fail(&f, &c, EINVAL, "empty initrd");
	unlink(ipath);
	c.initrd_path = "/nonexistent/hvis/initrd";
	expect_fail(&f, &c, ENOENT, "missing initrd");
	c.initrd_path = "/tmp";
	expect_fail(&f, &c, EINVAL, "initrd is a directory");
}

static void test_placement(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	struct boot_entry e;
	struct bp_boot_params *bp;
	char err[256] = "";

	/* pref_address that does not fit: HVIS_BOOT_KERNEL */
	f.pref_address = 30 * MIB;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kernel_addr, HVIS_BOOT_KERNEL);
	ram_free(&r);

	/* misaligned pref_address: HVIS_BOOT_KERNEL */
	f.pref_address = 4 * MIB + 4096;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kernel_addr, HVIS_BOOT_KERNEL);
	ram_free(&r);

	/* a fitting, aligned pref_address is honoured */
	f.pref_address = 4 * MIB;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kernel_addr, 4 * MIB);
	CU_ASSERT_EQUAL(e.rip, 4 * MIB + 0x200);
	ram_free(&r);

	/* HVIS_BOOT_KERNEL rounded up to a bigger kernel_alignment */
	f.pref_address = 0;
	f.kernel_alignment = 8 * MIB;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kernel_addr, 16 * MIB);
	ram_free(&r);
	f.kernel_alignment = 32 * MIB;		/* 16 MiB -> 32 MiB: no room */
	CU_ASSERT_EQUAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
			     sizeof(err)), -ENOSPC);
	ram_free(&r);

	/* non-relocatable: at pref_address, exactly */
	f = fake_default();
	f.relocatable = 0;
	f.pref_address = 2 * MIB;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kernel_addr, 2 * MIB);
	ram_free(&r);

	/* ACPI tables in RAM at pref_address: kernel moves, e820 carves */
	f = fake_default();
	f.pref_address = 8 * MIB;
	c.acpi_base = 8 * MIB;
	c.acpi_size = 0x10000;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(e.kernel_addr, HVIS_BOOT_KERNEL);
	bp = zero_page(&r);
	CU_ASSERT_EQUAL_FATAL(bp->e820_entries, 5);
	CU_ASSERT_EQUAL(bp->e820_table[2].addr, MIB);
	CU_ASSERT_EQUAL(bp->e820_table[2].size, 7 * MIB);
	CU_ASSERT_EQUAL(bp->e820_table[2].type, BP_E820_RAM);
	CU_ASSERT_EQUAL(bp->e820_table[3].addr, 8 * MIB);
	CU_ASSERT_EQUAL(bp->e820_table[3].size, 0x10000);
	CU_ASSERT_EQUAL(bp->e820_table[3].type, BP_E820_ACPI);
	CU_ASSERT_EQUAL(bp->e820_table[4].addr, 8 * MIB + 0x10000);
	CU_ASSERT_EQUAL(bp->e820_table[4].size, RAM_SIZE - 8 * MIB - 0x10000);
	CU_ASSERT_EQUAL(bp->e820_table[4].type, BP_E820_RAM);
	ram_free(&r);

	/* ... and where HVIS_BOOT_KERNEL is taken too: no room */
	c.acpi_base = 17 * MIB;
	f.pref_address = 16 * MIB;
	CU_ASSERT_EQUAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
			     sizeof(err)), -ENOSPC);
	CU_ASSERT(ram_untouched(&r));
	ram_free(&r);
}

static void test_old_protocol_fields(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	struct boot_entry e;
	struct bp_boot_params *bp;
	const uint8_t *z;
	char err[256] = "";

	/* 2.12 with a header ending after handover_offset (0x268): no
	 * acpi_rsdp_addr, nothing past the header end copied */
	f.version = 0x020C;
	f.hdr_len = 0x268 - 0x202;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	bp = zero_page(&r);
	CU_ASSERT_EQUAL(bp->acpi_rsdp_addr, 0);
	CU_ASSERT_EQUAL(bp->hdr.version, 0x020C);
	z = (const uint8_t *)bp;
	for (size_t i = 0x268; i < 0x2D0; i++)
		CU_ASSERT_EQUAL(z[i], 0);
	ram_free(&r);

	/* rsdp_gpa 0: left zero even for 2.15 */
	f = fake_default();
	c.rsdp_gpa = 0;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(zero_page(&r)->acpi_rsdp_addr, 0);
	ram_free(&r);
}

static void test_cmdline_limits(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	struct boot_entry e;
	char err[256] = "";
	char *big;

	f.cmdline_size = 10;
	c.cmdline = "0123456789";		/* exactly cmdline_size: ok */
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL((char *)gp(&r, HVIS_BOOT_CMDLINE, 11),
			       "0123456789");
	ram_free(&r);
	c.cmdline = "0123456789A";
	expect_fail(&f, &c, EINVAL, "cmdline over cmdline_size");

	/* hvis's own limit */
	f.cmdline_size = 0xFFFFFFFF;
	big = malloc(HVIS_BOOT_CMDLINE_MAX + 1);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, 'x', HVIS_BOOT_CMDLINE_MAX);
	big[HVIS_BOOT_CMDLINE_MAX] = '\0';
	c.cmdline = big;
	expect_fail(&f, &c, EINVAL, "cmdline over HVIS_BOOT_CMDLINE_MAX");
	big[HVIS_BOOT_CMDLINE_MAX - 1] = '\0';	/* fits with its NUL */
	CU_ASSERT_EQUAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
			     sizeof(err)), 0);
	ram_free(&r);
	free(big);

	/* NULL: empty string */
	c.cmdline = NULL;
	CU_ASSERT_EQUAL_FATAL(load(&r, RAM_SIZE, RAM_SIZE, &f, &c, &e, err,
				   sizeof(err)), 0);
	CU_ASSERT_EQUAL(*(char *)gp(&r, HVIS_BOOT_CMDLINE, 1), '\0');
	CU_ASSERT_EQUAL(zero_page(&r)->hdr.cmd_line_ptr, HVIS_BOOT_CMDLINE);
	ram_free(&r);
}

static void test_corrupt_kernels(void)
{
	struct boot_config c = cfg_default(NULL);
	struct fake_kernel f;

	f = fake_default();
	f.truncate = 0x200;
	expect_fail(&f, &c, EINVAL, "file shorter than the header");

	f = fake_default();
	f.trailer = 0;
	f.truncate = 5 * 512 + 1000;		/* syssize says 64K */
	expect_fail(&f, &c, EINVAL, "truncated protected-mode part");

	f = fake_default();
	f.boot_flag = 0x55AA;
	expect_fail(&f, &c, EINVAL, "bad boot flag");

	f = fake_default();
	f.magic = 0x53726449;
	expect_fail(&f, &c, EINVAL, "bad HdrS");

	f = fake_default();
	f.setup_sects = 200;		/* code at 201 * 512, file 4 KiB */
	f.truncate = 4096;
	expect_fail(&f, &c, EINVAL, "setup_sects past EOF");

	f = fake_default();
	f.version = 0x020B;
	expect_fail(&f, &c, EINVAL, "protocol 2.11");

	f = fake_default();
	f.xloadflags = BP_XLF_ABOVE_4G;
	expect_fail(&f, &c, EINVAL, "no XLF_KERNEL_64");

	f = fake_default();
	f.loadflags = 0;
	expect_fail(&f, &c, EINVAL, "zImage");

	f = fake_default();
	f.init_size = 64 * MIB;
	expect_fail(&f, &c, ENOSPC, "init_size too big for RAM");

	f = fake_default();
	f.init_size = 0;
	expect_fail(&f, &c, EINVAL, "init_size 0");

	f = fake_default();
	f.kernel_alignment = 3 * MIB;
	expect_fail(&f, &c, EINVAL, "kernel_alignment not a power of 2");

	f = fake_default();
	f.hdr_len = 0x10;
	expect_fail(&f, &c, EINVAL, "header too short for init_size");

	f = fake_default();
	f.hdr_len = 0xFF;
	expect_fail(&f, &c, EINVAL, "header past 0x290");

	f = fake_default();
	f.relocatable = 0;
	f.pref_address = 0xFFFFFFFFFFFFF000ull;
	expect_fail(&f, &c, ENOSPC, "non-relocatable at a wild address");

	f = fake_default();
	f.syssize = 0xFFFFFFFF;
	expect_fail(&f, &c, EINVAL, "syssize huge");
}

static void test_bad_inputs(void)
{
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default("/nonexistent/hvis/vmlinuz");
	struct fake_ram r;
	struct boot_entry e;
	char err[256] = "";

	ram_init(&r, RAM_SIZE, RAM_SIZE);
	CU_ASSERT_EQUAL(boot_load(&r.gm, &c, &e, err, sizeof(err)), -ENOENT);
	CU_ASSERT(strstr(err, "/nonexistent/hvis/vmlinuz") != NULL);
	c.kernel_path = "/tmp";
	CU_ASSERT_EQUAL(boot_load(&r.gm, &c, &e, err, sizeof(err)), -EINVAL);
	c.kernel_path = NULL;
	CU_ASSERT_EQUAL(boot_load(&r.gm, &c, &e, NULL, 0), -EINVAL);
	CU_ASSERT(ram_untouched(&r));
	ram_free(&r);

	/* ACPI range that wraps */
	c = cfg_default(NULL);
	c.acpi_base = ~0ull - 10;
	c.acpi_size = 100;
	expect_fail(&f, &c, EINVAL, "ACPI range wraps");
}

/* Random header damage: never a crash, never a write outside RAM. */
static void test_mutations(void)
{
	static const size_t hot[] = {
		0x1F1, 0x1F4, 0x1F5, 0x1F6, 0x1F7, 0x201, 0x206, 0x207, 0x211,
		0x22C, 0x22F, 0x230, 0x233, 0x234, 0x236, 0x238, 0x23B, 0x25F,
		0x260, 0x262, 0x263,
	};
	struct fake_kernel f = fake_default();
	struct boot_config c = cfg_default(NULL);
	struct fake_ram r;
	uint32_t seed = 12345;
	size_t len;
	uint8_t *img;
	char kpath[64];
	int loaded = 0;

	f.init_size = 2 * MIB;
	f.pm_size = 8192;
	img = fake_image(&f, &len);
	ram_init(&r, 8 * MIB, 4 * MIB);		/* 4 MiB low + 4 MiB high */
	for (int it = 0; it < 400; it++) {
		uint8_t *m = malloc(len);
		size_t mlen = len;
		struct boot_entry e;
		char err[256];
		int n;

		CU_ASSERT_FATAL(m != NULL);
		memcpy(m, img, len);
		seed = seed * 1103515245u + 12345u;
		n = 1 + (int)(seed >> 30);
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			m[hot[(seed >> 8) % (sizeof(hot) / sizeof(hot[0]))]] =
				(uint8_t)(seed >> 20);
		}
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 24) < 32)
			mlen = (seed >> 4) % len;
		/* keep it loadable now and then (16 MiB won't fit in 4):
		 * pref_address 2 MiB, or a random one below 4 MiB */
		memset(m + 0x258, 0, 8);
		m[0x25A] = (seed >> 11) & 1 ? 0x20 :
			   (uint8_t)((seed >> 12) & 0x3F);
		write_tmp(m, mlen, kpath);
		c.kernel_path = kpath;
		if (boot_load(&r.gm, &c, &e, err, sizeof(err)) == 0) {
			loaded++;
			CU_ASSERT(guest_mem_ptr(&r.gm, e.kernel_addr,
						e.kernel_extent) != NULL);
			CU_ASSERT(e.rip == e.kernel_addr + 0x200);
		}
		unlink(kpath);
		free(m);
	}
	/* both outcomes were exercised */
	CU_ASSERT(loaded > 0 && loaded < 400);
	ram_free(&r);
	free(img);
}

static const struct unit_test boot_tests[] = {
	{ "valid bzImage: kernel, zero page, e820", test_valid_load },
	{ "identity page tables and GDT", test_page_tables_and_gdt },
	{ "vCPU 0 long-mode state", test_vcpu_state },
	{ "initrd at the top of low RAM", test_initrd_low },
	{ "initrd below the kernel under initrd_addr_max",
	  test_initrd_below_kernel },
	{ "initrd too big", test_initrd_too_big },
	{ "initrd above 4 GiB (ext_ramdisk_*)", test_initrd_high },
	{ "initrd empty/missing/not a file", test_initrd_bad },
	{ "kernel placement, ACPI carve-out", test_placement },
	{ "protocol 2.12 header, rsdp", test_old_protocol_fields },
	{ "command line limits", test_cmdline_limits },
	{ "corrupt kernels rejected, RAM untouched", test_corrupt_kernels },
	{ "missing files, bad config", test_bad_inputs },
	{ "random header damage", test_mutations },
	{ NULL, NULL },
};

int unit_register_boot(void)
{
	return unit_add_suite("boot", boot_tests);
}
