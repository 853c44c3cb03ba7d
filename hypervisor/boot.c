// SPDX-License-Identifier: GPL-2.0-only
/*
 * Linux x86 boot protocol loader for the 64-bit entry point. See boot.h for
 * the layout it produces; the protocol facts come from the kernel's
 * Documentation/arch/x86/boot.rst and zero-page.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "platform.h"

/* ------------------------------------------------------- layout checks */
#define CHECK_OFF(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), #type "." #field)

CHECK_OFF(bp_setup_header, syssize, 0x1F4 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, boot_flag, 0x1FE - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, header, 0x202 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, version, 0x206 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, type_of_loader, 0x210 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, loadflags, 0x211 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, code32_start, 0x214 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, ramdisk_image, 0x218 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, ramdisk_size, 0x21C - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, heap_end_ptr, 0x224 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, cmd_line_ptr, 0x228 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, initrd_addr_max, 0x22C - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, kernel_alignment, 0x230 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, relocatable_kernel, 0x234 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, xloadflags, 0x236 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, cmdline_size, 0x238 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, hardware_subarch, 0x23C - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, setup_data, 0x250 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, pref_address, 0x258 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, init_size, 0x260 - BP_HDR_OFFSET);
CHECK_OFF(bp_setup_header, kernel_info_offset, 0x268 - BP_HDR_OFFSET);
_Static_assert(sizeof(struct bp_setup_header) == 0x26C - BP_HDR_OFFSET,
	       "setup_header size");
_Static_assert(sizeof(struct bp_e820_entry) == 20, "e820 entry size");

CHECK_OFF(bp_boot_params, tboot_addr, 0x058);
CHECK_OFF(bp_boot_params, acpi_rsdp_addr, 0x070);
CHECK_OFF(bp_boot_params, ext_ramdisk_image, 0x0C0);
CHECK_OFF(bp_boot_params, ext_ramdisk_size, 0x0C4);
CHECK_OFF(bp_boot_params, ext_cmd_line_ptr, 0x0C8);
CHECK_OFF(bp_boot_params, cc_blob_address, 0x13C);
CHECK_OFF(bp_boot_params, edid_info, 0x140);
CHECK_OFF(bp_boot_params, efi_info, 0x1C0);
CHECK_OFF(bp_boot_params, alt_mem_k, 0x1E0);
CHECK_OFF(bp_boot_params, e820_entries, 0x1E8);
CHECK_OFF(bp_boot_params, sentinel, 0x1EF);
CHECK_OFF(bp_boot_params, hdr, BP_HDR_OFFSET);
CHECK_OFF(bp_boot_params, edd_mbr_sig_buffer, 0x290);
CHECK_OFF(bp_boot_params, e820_table, 0x2D0);
CHECK_OFF(bp_boot_params, eddbuf, 0xD00);
_Static_assert(sizeof(struct bp_boot_params) == 4096, "zero page size");

/* The fixed boot structures must not collide with each other or with RAM
 * the kernel/initrd placement hands out (which starts at 1 MiB). */
#define MIB		0x100000ull
#define PAGE		0x1000ull
#define PT_PAGES	6	/* PML4, PDPT, 4 PDs */
_Static_assert(HVIS_BOOT_GDT + BOOT_GDT_ENTRIES * 8 <= HVIS_BOOT_PARAMS,
	       "GDT overlaps the zero page");
_Static_assert(HVIS_BOOT_PARAMS + PAGE <= HVIS_BOOT_PML4,
	       "zero page overlaps the page tables");
_Static_assert(HVIS_BOOT_PML4 + PT_PAGES * PAGE <= HVIS_BOOT_CMDLINE,
	       "page tables overlap the command line");
_Static_assert(HVIS_BOOT_CMDLINE + HVIS_BOOT_CMDLINE_MAX <= HVIS_EBDA_BASE,
	       "command line overlaps the EBDA");
_Static_assert((HVIS_BOOT_PML4 & (PAGE - 1)) == 0, "PML4 alignment");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "guest structures are written in host byte order");

#define KERNEL_ENTRY_64		0x200	/* 64-bit entry: load address + 0x200 */
#define HEAP_END_PTR		0xDE00	/* boot.rst sample: heap_end 0xE000 */
#define LOADER_TYPE_UNDEF	0xFF
#define MAX_KERNEL_ALIGN	(1ull << 30)
#define SETUP_SECTS_MAX_READ	0x290	/* bytes of the file the header needs */

/* x86 paging and descriptor bits */
#define PTE_P		0x001ull
#define PTE_RW		0x002ull
#define PTE_PS		0x080ull
#define CR0_PE		0x00000001ull
#define CR0_ET		0x00000010ull
#define CR0_PG		0x80000000ull
#define CR4_PAE		0x00000020ull
#define EFER_LME	0x00000100ull
#define EFER_LMA	0x00000400ull

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* [a, a + alen) and [b, b + blen) overlap (no wrap: callers check). */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Read exactly @len bytes at @off; -errno, or -EIO on a short read. */
static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Open @path as a non-empty regular file; returns fd or -errno. */
static int open_regular(const char *path, uint64_t *size, const char *what,
			char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		set_err(err, errlen, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;

		set_err(err, errlen, "%s %s: %s", what, path, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s %s: not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* ------------------------------------------------------------ kernel */
struct kernel_info {
	uint8_t head[SETUP_SECTS_MAX_READ];	/* file bytes 0..0x28F */
	struct bp_setup_header hdr;		/* decoded copy */
	size_t hdr_end;				/* 0x202 + jump offset byte */
	uint64_t setup_size;			/* (setup_sects + 1) * 512 */
	uint64_t pm_size;			/* protected-mode part to copy */
	uint64_t extent;			/* max(pm_size, init_size) */
	uint64_t load;				/* where it goes */
};

static int parse_kernel(int fd, uint64_t fsize, struct kernel_info *k,
			char *err, size_t errlen)
{
	const struct bp_setup_header *h = &k->hdr;
	unsigned int sects;
	uint64_t rest;
	int r;

	if (fsize < SETUP_SECTS_MAX_READ) {
		set_err(err, errlen, "kernel: file too short (%llu bytes) "
			"for a setup header", (unsigned long long)fsize);
		return -EINVAL;
	}
	r = pread_full(fd, k->head, sizeof(k->head), 0);
	if (r) {
		set_err(err, errlen, "kernel: read: %s", strerror(-r));
		return r;
	}
	memcpy(&k->hdr, k->head + BP_HDR_OFFSET, sizeof(k->hdr));

	if (h->boot_flag != BP_BOOT_FLAG) {
		set_err(err, errlen, "kernel: no boot flag 0xAA55 (found 0x%04x)"
			": not a bzImage", h->boot_flag);
		return -EINVAL;
	}
	if (h->header != BP_HDRS_MAGIC) {
		set_err(err, errlen, "kernel: no \"HdrS\" signature: not a "
			"bzImage or boot protocol < 2.00");
		return -EINVAL;
	}
	if (h->version < BP_MIN_VERSION) {
		set_err(err, errlen, "kernel: boot protocol %u.%02u, need "
			"2.12 or later", h->version >> 8, h->version & 0xFF);
		return -EINVAL;
	}
	/* The setup header ends at 0x202 + the jump's 8-bit displacement. */
	k->hdr_end = 0x202 + (size_t)k->head[0x201];
	if (k->hdr_end < offsetof(struct bp_boot_params, hdr.init_size) + 4 ||
	    k->hdr_end > BP_HDR_END_MAX) {
		set_err(err, errlen, "kernel: setup header ends at 0x%zx, "
			"outside 0x264..0x290", k->hdr_end);
		return -EINVAL;
	}
	if (!(h->loadflags & BP_LOADED_HIGH)) {
		set_err(err, errlen, "kernel: not a bzImage (LOADED_HIGH clear)");
		return -EINVAL;
	}
	if (!(h->xloadflags & BP_XLF_KERNEL_64)) {
		set_err(err, errlen, "kernel: no 64-bit entry point "
			"(XLF_KERNEL_64 clear)");
		return -EINVAL;
	}
	sects = h->setup_sects ? h->setup_sects : 4;
	k->setup_size = ((uint64_t)sects + 1) * 512;
	if (k->setup_size >= fsize) {
		set_err(err, errlen, "kernel: setup_sects %u puts the "
			"protected-mode code at %llu, past the end of the "
			"%llu-byte file", sects,
			(unsigned long long)k->setup_size,
			(unsigned long long)fsize);
		return -EINVAL;
	}
	rest = fsize - k->setup_size;
	if (h->syssize) {
		/* syssize counts 16-byte paragraphs; trailing bytes beyond it
		 * (signatures) are not part of the image. */
		k->pm_size = (uint64_t)h->syssize * 16;
		if (k->pm_size > rest) {
			set_err(err, errlen, "kernel: truncated: syssize says "
				"%llu bytes of protected-mode code, file has "
				"%llu", (unsigned long long)k->pm_size,
				(unsigned long long)rest);
			return -EINVAL;
		}
	} else {
		k->pm_size = rest;
	}
	if (!h->init_size) {
		set_err(err, errlen, "kernel: init_size is 0");
		return -EINVAL;
	}
	k->extent = k->pm_size > h->init_size ? k->pm_size : h->init_size;
	return 0;
}

/* Does [addr, addr + len) sit in low RAM above 1 MiB, clear of ACPI? */
static bool kernel_fits(const struct guest_mem *gm,
			const struct boot_config *cfg, uint64_t addr,
			uint64_t len)
{
	if (addr < MIB || addr > HVIS_LOW_RAM_MAX ||
	    len > gm->low_size || addr > gm->low_size - len)
		return false;
	if (!guest_mem_ptr(gm, addr, len))
		return false;
	return !overlaps(addr, len, cfg->acpi_base, cfg->acpi_size);
}

static int place_kernel(const struct guest_mem *gm,
			const struct boot_config *cfg, struct kernel_info *k,
			char *err, size_t errlen)
{
	const struct bp_setup_header *h = &k->hdr;
	uint64_t align, addr;

	if (!h->relocatable_kernel) {
		/* A non-relocatable kernel moves itself to pref_address
		 * anyway: load it there. */
		addr = h->pref_address ? h->pref_address : MIB;
		if (!kernel_fits(gm, cfg, addr, k->extent)) {
			set_err(err, errlen, "kernel: not relocatable and "
				"0x%llx + init_size 0x%llx is not free low RAM",
				(unsigned long long)addr,
				(unsigned long long)k->extent);
			return -ENOSPC;
		}
		k->load = addr;
		return 0;
	}
	align = h->kernel_alignment;
	if (!is_pow2(align) || align > MAX_KERNEL_ALIGN) {
		set_err(err, errlen, "kernel: bad kernel_alignment 0x%llx",
			(unsigned long long)align);
		return -EINVAL;
	}
	addr = h->pref_address;
	if (addr && !(addr & (align - 1)) &&
	    kernel_fits(gm, cfg, addr, k->extent)) {
		k->load = addr;
		return 0;
	}
	addr = (HVIS_BOOT_KERNEL + align - 1) & ~(align - 1);
	if (!kernel_fits(gm, cfg, addr, k->extent)) {
		set_err(err, errlen, "kernel: init_size 0x%llx at 0x%llx does "
			"not fit in %llu MiB of low RAM",
			(unsigned long long)k->extent,
			(unsigned long long)addr,
			(unsigned long long)(gm->low_size / MIB));
		return -ENOSPC;
	}
	k->load = addr;
	return 0;
}

/* ------------------------------------------------------------ initrd */
struct range {
	uint64_t start, len;
};

/*
 * Highest page-aligned @len-byte range in [bottom, top) that avoids every
 * range in @ex. Returns false if there is none.
 */
static bool place_high(uint64_t bottom, uint64_t top, uint64_t len,
		       const struct range *ex, size_t nex, uint64_t *out)
{
	uint64_t cand;
	bool moved;

	if (!len || top < bottom || len > top - bottom)
		return false;
	cand = (top - len) & ~(PAGE - 1);
	do {
		moved = false;
		if (cand < bottom)
			return false;
		for (size_t i = 0; i < nex; i++) {
			if (!overlaps(cand, len, ex[i].start, ex[i].len))
				continue;
			if (ex[i].start < bottom || ex[i].start - bottom < len)
				return false;
			cand = (ex[i].start - len) & ~(PAGE - 1);
			moved = true;
			break;
		}
	} while (moved);
	*out = cand;
	return true;
}

static int place_initrd(const struct guest_mem *gm,
			const struct boot_config *cfg,
			const struct kernel_info *k, uint64_t size,
			uint64_t *addr, char *err, size_t errlen)
{
	const struct range ex[] = {
		{ k->load, k->extent },
		{ cfg->acpi_base, cfg->acpi_size },
	};
	uint64_t top = (uint64_t)k->hdr.initrd_addr_max + 1;
	uint64_t high = gm->size - gm->low_size;

	if (top > gm->low_size)
		top = gm->low_size;
	if (place_high(MIB, top, size, ex, 2, addr))
		return 0;
	if ((k->hdr.xloadflags & BP_XLF_ABOVE_4G) && high &&
	    place_high(HVIS_HIGH_RAM_BASE, HVIS_HIGH_RAM_BASE + high, size,
		       NULL, 0, addr))
		return 0;
	set_err(err, errlen, "initrd: %llu bytes do not fit below 0x%llx "
		"(initrd_addr_max 0x%x, low RAM %llu MiB)%s",
		(unsigned long long)size, (unsigned long long)top,
		k->hdr.initrd_addr_max,
		(unsigned long long)(gm->low_size / MIB),
		(k->hdr.xloadflags & BP_XLF_ABOVE_4G) && high ?
		" nor in RAM above 4 GiB" : "");
	return -ENOSPC;
}

/* ------------------------------------------------------------ e820 */
struct typed_range {
	uint64_t start, end;	/* [start, end) */
	uint32_t type;
};

/*
 * Overlay @n ranges (later ones win where they overlap earlier ones) into
 * a sorted, merged e820 table. Returns the entry count.
 */
static unsigned int build_e820(const struct typed_range *in, size_t n,
			       struct bp_e820_entry *tab, unsigned int max)
{
	uint64_t pts[16];
	size_t np = 0;
	unsigned int cnt = 0;

	for (size_t i = 0; i < n && np + 2 <= sizeof(pts) / sizeof(pts[0]);
	     i++) {
		if (in[i].end <= in[i].start)
			continue;
		pts[np++] = in[i].start;
		pts[np++] = in[i].end;
	}
	/* insertion sort: a handful of points */
	for (size_t i = 1; i < np; i++) {
		uint64_t v = pts[i];
		size_t j = i;

		for (; j && pts[j - 1] > v; j--)
			pts[j] = pts[j - 1];
		pts[j] = v;
	}
	for (size_t i = 0; i + 1 < np; i++) {
		uint64_t a = pts[i], b = pts[i + 1];
		uint32_t type = 0;

		if (a == b)
			continue;
		for (size_t j = 0; j < n; j++)
			if (in[j].start <= a && b <= in[j].end &&
			    in[j].end > in[j].start)
				type = in[j].type;
		if (!type)
			continue;
		if (cnt && tab[cnt - 1].type == type &&
		    tab[cnt - 1].addr + tab[cnt - 1].size == a) {
			tab[cnt - 1].size += b - a;
			continue;
		}
		if (cnt == max)
			break;
		tab[cnt].addr = a;
		tab[cnt].size = b - a;
		tab[cnt].type = type;
		cnt++;
	}
	return cnt;
}

static unsigned int fill_e820(const struct guest_mem *gm,
			      const struct boot_config *cfg,
			      struct bp_boot_params *bp)
{
	uint64_t low = gm->low_size, high = gm->size - gm->low_size;
	uint64_t ebda_end = 0xA0000;
	const struct typed_range r[] = {
		{ 0, low < HVIS_EBDA_BASE ? low : HVIS_EBDA_BASE, BP_E820_RAM },
		{ MIB, low, BP_E820_RAM },
		{ HVIS_HIGH_RAM_BASE, HVIS_HIGH_RAM_BASE + high, BP_E820_RAM },
		{ HVIS_EBDA_BASE, ebda_end, BP_E820_RESERVED },
		{ cfg->acpi_base, cfg->acpi_base + cfg->acpi_size,
		  BP_E820_ACPI },
	};

	return build_e820(r, sizeof(r) / sizeof(r[0]), bp->e820_table,
			  BP_E820_MAX);
}

/* ------------------------------------------------------- page tables */
static void build_page_tables(uint64_t pt[PT_PAGES][512])
{
	const uint64_t pdpt = HVIS_BOOT_PML4 + PAGE;

	memset(pt, 0, PT_PAGES * PAGE);
	pt[0][0] = pdpt | PTE_P | PTE_RW;
	for (unsigned int i = 0; i < 4; i++) {
		uint64_t pd = pdpt + PAGE * (1 + i);

		pt[1][i] = pd | PTE_P | PTE_RW;
		for (unsigned int j = 0; j < 512; j++)
			pt[2 + i][j] = ((uint64_t)i << 30) |
				       ((uint64_t)j << 21) |
				       PTE_P | PTE_RW | PTE_PS;
	}
}

/*
 * Segment descriptor: base 0, limit 0xFFFFF pages; @access is the type /
 * S / DPL / P byte, @flags the high nibble (G, D/B, L).
 */
static uint64_t seg_desc(uint8_t access, uint8_t flags)
{
	return 0xFFFFull | ((uint64_t)access << 40) | (0xFull << 48) |
	       ((uint64_t)flags << 52);
}

#define TSS_LIMIT	0x67

static void build_gdt(uint64_t gdt[BOOT_GDT_ENTRIES])
{
	memset(gdt, 0, BOOT_GDT_ENTRIES * 8);
	gdt[BOOT_SEL_CS / 8] = seg_desc(0x9B, 0xA);	/* P, code ER, A; G, L */
	gdt[BOOT_SEL_DS / 8] = seg_desc(0x93, 0xC);	/* P, data RW, A; G, D */
	/* 64-bit busy TSS, base 0, byte granular (16-byte descriptor) */
	gdt[BOOT_SEL_TSS / 8] = TSS_LIMIT | (0x8Bull << 40);
	gdt[BOOT_SEL_TSS / 8 + 1] = 0;
}

/* ------------------------------------------------------------ load */
int boot_load(struct guest_mem *gm, const struct boot_config *cfg,
	      struct boot_entry *out, char *err, size_t errlen)
{
	struct kernel_info k;
	struct bp_boot_params bp;
	uint64_t gdt[BOOT_GDT_ENTRIES];
	uint64_t pt[PT_PAGES][512];
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	size_t cmdlen = strlen(cmdline);
	uint64_t ksize, isize = 0, iaddr = 0;
	int kfd = -1, ifd = -1, r;
	void *dst;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	if (!cfg->kernel_path) {
		set_err(err, errlen, "no kernel given");
		return -EINVAL;
	}
	if (cfg->acpi_size && (cfg->acpi_base + cfg->acpi_size < cfg->acpi_base)) {
		set_err(err, errlen, "ACPI range wraps");
		return -EINVAL;
	}
	if (gm->low_size < 2 * MIB || gm->low_size > gm->size) {
		set_err(err, errlen, "guest RAM too small (%llu bytes low)",
			(unsigned long long)gm->low_size);
		return -ENOSPC;
	}

	kfd = open_regular(cfg->kernel_path, &ksize, "kernel", err, errlen);
	if (kfd < 0)
		return kfd;
	r = parse_kernel(kfd, ksize, &k, err, errlen);
	if (r)
		goto out;

	/* Command line: cmdline_size excludes the NUL. */
	if (cmdlen > k.hdr.cmdline_size || cmdlen + 1 > HVIS_BOOT_CMDLINE_MAX) {
		set_err(err, errlen, "command line is %zu bytes; the kernel "
			"takes at most %u, hvis at most %llu", cmdlen,
			k.hdr.cmdline_size,
			(unsigned long long)HVIS_BOOT_CMDLINE_MAX - 1);
		r = -EINVAL;
		goto out;
	}

	r = place_kernel(gm, cfg, &k, err, errlen);
	if (r)
		goto out;

	if (cfg->initrd_path) {
		ifd = open_regular(cfg->initrd_path, &isize, "initrd", err,
				   errlen);
		if (ifd < 0) {
			r = ifd;
			goto out;
		}
		if (!isize) {
			set_err(err, errlen, "initrd %s is empty",
				cfg->initrd_path);
			r = -EINVAL;
			goto out;
		}
		r = place_initrd(gm, cfg, &k, isize, &iaddr, err, errlen);
		if (r)
			goto out;
	}

	/* Every check passed: the fixed structures are in low RAM (asserted
	 * below 0x9FC00) and guest_mem has >= 2 MiB of it, so these pointers
	 * exist; check anyway. */
	if (!guest_mem_ptr(gm, HVIS_BOOT_GDT, sizeof(gdt)) ||
	    !guest_mem_ptr(gm, HVIS_BOOT_PARAMS, sizeof(bp)) ||
	    !guest_mem_ptr(gm, HVIS_BOOT_PML4, sizeof(pt)) ||
	    !guest_mem_ptr(gm, HVIS_BOOT_CMDLINE, cmdlen + 1)) {
		set_err(err, errlen, "boot structures outside guest RAM");
		r = -ENOSPC;
		goto out;
	}

	/* The protected-mode kernel, straight into guest RAM. */
	dst = guest_mem_ptr(gm, k.load, k.pm_size);
	if (!dst) {
		r = -ENOSPC;
		set_err(err, errlen, "kernel: load range not in RAM");
		goto out;
	}
	r = pread_full(kfd, dst, k.pm_size, (off_t)k.setup_size);
	if (r) {
		set_err(err, errlen, "kernel: read: %s",
			r == -EIO ? "file shrank while loading" : strerror(-r));
		goto out;
	}
	if (ifd >= 0) {
		dst = guest_mem_ptr(gm, iaddr, isize);
		if (!dst) {
			r = -ENOSPC;
			set_err(err, errlen, "initrd: range not in RAM");
			goto out;
		}
		r = pread_full(ifd, dst, isize, 0);
		if (r) {
			set_err(err, errlen, "initrd: read: %s",
				r == -EIO ? "file shrank while loading" :
				strerror(-r));
			goto out;
		}
	}

	memcpy(guest_mem_ptr(gm, HVIS_BOOT_CMDLINE, cmdlen + 1), cmdline,
	       cmdlen + 1);

	/* Zero page: zeroed, the kernel's setup header copied in as is, then
	 * the loader's fields. */
	memset(&bp, 0, sizeof(bp));
	memcpy((uint8_t *)&bp + BP_HDR_OFFSET, k.head + BP_HDR_OFFSET,
	       k.hdr_end - BP_HDR_OFFSET);
	bp.hdr.type_of_loader = LOADER_TYPE_UNDEF;
	bp.hdr.ext_loader_ver = 0;
	bp.hdr.ext_loader_type = 0;
	bp.hdr.loadflags = (uint8_t)((bp.hdr.loadflags & ~BP_KASLR_FLAG) |
				     BP_LOADED_HIGH | BP_CAN_USE_HEAP);
	bp.hdr.heap_end_ptr = HEAP_END_PTR;
	bp.hdr.code32_start = (uint32_t)k.load;
	bp.hdr.cmd_line_ptr = (uint32_t)HVIS_BOOT_CMDLINE;
	bp.ext_cmd_line_ptr = (uint32_t)(HVIS_BOOT_CMDLINE >> 32);
	bp.hdr.ramdisk_image = (uint32_t)iaddr;
	bp.hdr.ramdisk_size = (uint32_t)isize;
	bp.ext_ramdisk_image = (uint32_t)(iaddr >> 32);
	bp.ext_ramdisk_size = (uint32_t)(isize >> 32);
	bp.hdr.setup_data = 0;		/* a pointer: never trust the file's */
	bp.hdr.hardware_subarch = 0;
	bp.hdr.hardware_subarch_data = 0;
	if (k.hdr.version >= BP_RSDP_VERSION && cfg->rsdp_gpa)
		bp.acpi_rsdp_addr = cfg->rsdp_gpa;
	bp.e820_entries = (uint8_t)fill_e820(gm, cfg, &bp);
	memcpy(guest_mem_ptr(gm, HVIS_BOOT_PARAMS, sizeof(bp)), &bp, sizeof(bp));

	build_page_tables(pt);
	memcpy(guest_mem_ptr(gm, HVIS_BOOT_PML4, sizeof(pt)), pt, sizeof(pt));
	build_gdt(gdt);
	memcpy(guest_mem_ptr(gm, HVIS_BOOT_GDT, sizeof(gdt)), gdt, sizeof(gdt));

	out->rip = k.load + KERNEL_ENTRY_64;
	out->rsi = HVIS_BOOT_PARAMS;
	out->rsp = HVIS_BOOT_PARAMS;
	out->cr3 = HVIS_BOOT_PML4;
	out->gdt_base = HVIS_BOOT_GDT;
	out->gdt_limit = sizeof(gdt) - 1;
	out->protocol = k.hdr.version;
	out->kernel_addr = k.load;
	out->kernel_file_size = k.pm_size;
	out->kernel_extent = k.extent;
	out->initrd_addr = iaddr;
	out->initrd_size = isize;
	out->cmdline_addr = HVIS_BOOT_CMDLINE;
	out->cmdline_len = (uint32_t)cmdlen;
	out->e820_entries = bp.e820_entries;
	r = 0;
out:
	if (ifd >= 0)
		close(ifd);
	close(kfd);
	return r;
}

/* ------------------------------------------------------------ vCPU */
static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xFFFFFFFF;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code ? 1 : 0;
	s->db = code ? 0 : 1;	/* L=1 requires D=0 */
}

void boot_setup_vcpu0(const struct boot_entry *e, struct kvm_sregs *sregs,
		      struct kvm_regs *regs)
{
	flat_seg(&sregs->cs, BOOT_SEL_CS, 0xB, true);
	flat_seg(&sregs->ds, BOOT_SEL_DS, 0x3, false);
	sregs->es = sregs->ds;
	sregs->fs = sregs->ds;
	sregs->gs = sregs->ds;
	sregs->ss = sregs->ds;

	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.selector = BOOT_SEL_TSS;
	sregs->tr.limit = TSS_LIMIT;
	sregs->tr.type = 0xB;		/* 64-bit TSS, busy */
	sregs->tr.present = 1;

	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.type = 0x2;
	sregs->ldt.unusable = 1;

	sregs->gdt.base = e->gdt_base;
	sregs->gdt.limit = e->gdt_limit;
	memset(sregs->gdt.padding, 0, sizeof(sregs->gdt.padding));
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	memset(sregs->idt.padding, 0, sizeof(sregs->idt.padding));

	sregs->cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs->cr3 = e->cr3;
	sregs->cr4 = CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;

	memset(regs, 0, sizeof(*regs));
	regs->rip = e->rip;
	regs->rsi = e->rsi;
	regs->rsp = e->rsp;
	regs->rflags = 0x2;
}
