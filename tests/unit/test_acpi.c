// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for hypervisor/acpi.c.
 *
 * The tables are read back at the byte offsets of the ACPI 6.3
 * specification (not through acpi.c's structs), so a layout mistake there
 * shows up here. The DSDT is walked as AML far enough to find
 * \_SB.VMOD (ACPI0004) with its QWordMemory window, the VMBus device
 * below it and \_S5, and their values are compared with platform.h.
 *
 * Setting HVIS_ACPI_DUMP=<dir> makes the "dump" test write every table
 * (4 vCPUs) to <dir>/<signature>.dat, ready for `iasl -d`.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "unit.h"
#include "../../hypervisor/acpi.h"
#include "../../hypervisor/platform.h"

/* ------------------------------------------------------------ byte access */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	unsigned int s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return (uint8_t)s;
}

/* ------------------------------------------------------------- fixtures */

struct built {
	uint8_t *buf;
	size_t size, used;
	uint64_t base, rsdp;
};

static struct acpi_config cfg_for(unsigned int ncpus)
{
	struct acpi_config c = {
		.ncpus = ncpus,
		.vmbus_mmio_base = HVIS_VMBUS_MMIO_BASE,
		.vmbus_mmio_size = HVIS_VMBUS_MMIO_SIZE,
	};

	return c;
}

static bool build_with(struct built *b, const struct acpi_config *cfg)
{
	int ret;

	b->size = HVIS_ACPI_SIZE;
	b->base = HVIS_ACPI_BASE;
	b->buf = malloc(b->size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b->buf);
	memset(b->buf, 0xA5, b->size);
	ret = acpi_build(b->buf, b->size, b->base, cfg, &b->rsdp, &b->used);
	CU_ASSERT_EQUAL(ret, 0);
	if (ret) {
		free(b->buf);
		b->buf = NULL;
		return false;
	}
	CU_ASSERT(b->used > 0 && b->used <= b->size);
	return true;
}

static bool build(struct built *b, unsigned int ncpus)
{
	struct acpi_config cfg = cfg_for(ncpus);

	return build_with(b, &cfg);
}

/*
 * The table at guest-physical @gpa, if its header and whole length lie in
 * the written part of the buffer; checks signature, OEM id and checksum.
 */
static const uint8_t *table_at(const struct built *b, uint64_t gpa,
			       const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	CU_ASSERT_FATAL(gpa >= b->base && gpa - b->base + 36 <= b->used);
	t = b->buf + (gpa - b->base);
	len = rd32(t + 4);
	CU_ASSERT_FATAL(len >= 36 && gpa - b->base + len <= b->used);
	CU_ASSERT_NSTRING_EQUAL(t, sig, 4);
	CU_ASSERT_NSTRING_EQUAL(t + 10, "HVIS  ", 6);
	CU_ASSERT_EQUAL(sum8(t, len), 0);
	return t;
}

static const uint8_t *rsdp_of(const struct built *b)
{
	CU_ASSERT_FATAL(b->rsdp >= b->base &&
			b->rsdp - b->base + 36 <= b->used);
	return b->buf + (b->rsdp - b->base);
}

static const uint8_t *xsdt_of(const struct built *b)
{
	return table_at(b, rd64(rsdp_of(b) + 24), "XSDT");
}

/* The XSDT entry with signature @sig (exactly one must exist). */
static const uint8_t *find_table(const struct built *b, const char *sig,
				 uint64_t *gpa_out)
{
	const uint8_t *x = xsdt_of(b), *found = NULL;
	uint32_t n = (rd32(x + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t gpa = rd64(x + 36 + 8 * i);
		const uint8_t *t;

		CU_ASSERT_FATAL(gpa >= b->base &&
				gpa - b->base + 36 <= b->used);
		t = b->buf + (gpa - b->base);
		if (memcmp(t, sig, 4))
			continue;
		CU_ASSERT_PTR_NULL(found);
		found = table_at(b, gpa, sig);
		if (gpa_out)
			*gpa_out = gpa;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(found);
	return found;
}

static const uint8_t *dsdt_of(const struct built *b, uint32_t *len)
{
	const uint8_t *f = find_table(b, "FACP", NULL);
	const uint8_t *d = table_at(b, rd64(f + 140), "DSDT");

	*len = rd32(d + 4);
	return d;
}

/* ----------------------------------------------------------------- RSDP */

static void test_rsdp(void)
{
	struct built b;
	const uint8_t *r;

	if (!build(&b, 4))
		return;
	CU_ASSERT_EQUAL(b.rsdp, HVIS_ACPI_BASE);
	CU_ASSERT_EQUAL(b.rsdp % 16, 0);
	r = rsdp_of(&b);
	CU_ASSERT_NSTRING_EQUAL(r, "RSD PTR ", 8);
	CU_ASSERT_EQUAL(sum8(r, 20), 0);
	CU_ASSERT_NSTRING_EQUAL(r + 9, "HVIS  ", 6);
	CU_ASSERT_EQUAL(r[15], 2);			/* revision */
	CU_ASSERT_EQUAL(rd32(r + 20), 36);		/* length */
	CU_ASSERT_EQUAL(sum8(r, 36), 0);		/* extended checksum */
	table_at(&b, rd32(r + 16), "RSDT");
	table_at(&b, rd64(r + 24), "XSDT");
	/* a legacy scan (16-byte steps from 0xE0000) finds it first */
	CU_ASSERT(HVIS_ACPI_BASE >= 0xE0000 && HVIS_ACPI_BASE < 0x100000);
	free(b.buf);
}

/* ---------------------------------------------------------- RSDT + XSDT */

static void test_xsdt_rsdt(void)
{
	struct built b;
	const uint8_t *x, *r;
	uint32_t nx, nr;
	bool facp = false, apic = false;

	if (!build(&b, 4))
		return;
	x = xsdt_of(&b);
	r = table_at(&b, rd32(rsdp_of(&b) + 16), "RSDT");
	nx = (rd32(x + 4) - 36) / 8;
	nr = (rd32(r + 4) - 36) / 4;
	CU_ASSERT_EQUAL(rd32(x + 4), 36 + 8 * nx);
	CU_ASSERT_EQUAL(rd32(r + 4), 36 + 4 * nr);
	CU_ASSERT_EQUAL(nx, nr);
	CU_ASSERT(nx >= 2);
	for (uint32_t i = 0; i < nx && i < nr; i++) {
		uint64_t gpa = rd64(x + 36 + 8 * i);
		const uint8_t *t;

		CU_ASSERT_EQUAL(rd32(r + 36 + 4 * i), gpa);
		CU_ASSERT_FATAL(gpa >= b.base && gpa - b.base + 36 <= b.used);
		t = b.buf + (gpa - b.base);
		if (!memcmp(t, "FACP", 4)) {
			facp = true;
			table_at(&b, gpa, "FACP");
		} else if (!memcmp(t, "APIC", 4)) {
			apic = true;
			table_at(&b, gpa, "APIC");
		} else {
			CU_FAIL("unexpected table in XSDT");
		}
	}
	CU_ASSERT(facp);
	CU_ASSERT(apic);
	free(b.buf);
}

/* ----------------------------------------------------------------- FADT */

static void check_gas_io(const uint8_t *g, uint16_t port, uint8_t bits)
{
	CU_ASSERT_EQUAL(g[0], 1);			/* SystemIO */
	CU_ASSERT_EQUAL(g[1], bits);
	CU_ASSERT_EQUAL(g[2], 0);
	CU_ASSERT_EQUAL(rd64(g + 4), port);
}

static void test_fadt(void)
{
	struct built b;
	const uint8_t *f, *facs;
	uint64_t facs_gpa;
	uint32_t dlen;
	uint16_t boot_arch;
	uint32_t flags;

	if (!build(&b, 4))
		return;
	f = find_table(&b, "FACP", NULL);
	CU_ASSERT_EQUAL(rd32(f + 4), 276);
	CU_ASSERT_EQUAL(f[8], 6);			/* revision */
	CU_ASSERT_EQUAL(f[131], 3);			/* minor: 6.3 */

	/* DSDT: X_DSDT, and the 32-bit field equal to it */
	dsdt_of(&b, &dlen);
	CU_ASSERT_EQUAL(rd32(f + 40), rd64(f + 140));

	/* FACS through X_FIRMWARE_CTRL only, 64-byte aligned */
	facs_gpa = rd64(f + 132);
	CU_ASSERT_EQUAL(rd32(f + 36), 0);
	CU_ASSERT_EQUAL(facs_gpa % 64, 0);
	CU_ASSERT_FATAL(facs_gpa >= b.base && facs_gpa - b.base + 64 <= b.used);
	facs = b.buf + (facs_gpa - b.base);
	CU_ASSERT_NSTRING_EQUAL(facs, "FACS", 4);
	CU_ASSERT_EQUAL(rd32(facs + 4), 64);

	/* SCI, no SMI_CMD (always in ACPI mode) */
	CU_ASSERT_EQUAL(rd16(f + 46), HVIS_SCI_IRQ);
	CU_ASSERT_EQUAL(rd32(f + 48), 0);

	/* PM1a event + control blocks, 32-bit and X forms agree */
	CU_ASSERT_EQUAL(rd32(f + 56), HVIS_PORT_PM1A_EVT);
	CU_ASSERT_EQUAL(rd32(f + 64), HVIS_PORT_PM1A_CNT);
	CU_ASSERT_EQUAL(f[88], 4);			/* PM1_EVT_LEN */
	CU_ASSERT_EQUAL(f[89], 2);			/* PM1_CNT_LEN */
	check_gas_io(f + 148, HVIS_PORT_PM1A_EVT, 32);
	check_gas_io(f + 172, HVIS_PORT_PM1A_CNT, 16);
	/* no PM1b, PM2, PM timer, GPE blocks */
	CU_ASSERT_EQUAL(rd32(f + 60), 0);
	CU_ASSERT_EQUAL(rd32(f + 68), 0);
	CU_ASSERT_EQUAL(rd32(f + 76), 0);
	CU_ASSERT_EQUAL(f[91], 0);			/* PM_TMR_LEN */
	CU_ASSERT_EQUAL(rd64(f + 208 + 4), 0);		/* X_PM_TMR_BLK */
	CU_ASSERT_EQUAL(f[92], 0);
	CU_ASSERT_EQUAL(f[93], 0);
	CU_ASSERT_EQUAL(rd64(f + 220 + 4), 0);		/* X_GPE0_BLK */
	/* no C2/C3 */
	CU_ASSERT(rd16(f + 96) > 100);
	CU_ASSERT(rd16(f + 98) > 1000);

	/* IAPC_BOOT_ARCH: legacy ISA devices, no 8042, no VGA; a CMOS RTC */
	boot_arch = rd16(f + 109);
	CU_ASSERT(boot_arch & (1u << 0));
	CU_ASSERT_FALSE(boot_arch & (1u << 1));
	CU_ASSERT(boot_arch & (1u << 2));
	CU_ASSERT_FALSE(boot_arch & (1u << 3));
	CU_ASSERT_FALSE(boot_arch & (1u << 5));
	CU_ASSERT_EQUAL(f[108], 0x32);	/* CENTURY: the CMOS register */

	/* flags: reset register, no fixed buttons, not hardware-reduced */
	flags = rd32(f + 112);
	CU_ASSERT(flags & (1u << 10));			/* RESET_REG_SUP */
	CU_ASSERT(flags & (1u << 4));			/* PWR_BUTTON */
	CU_ASSERT(flags & (1u << 5));			/* SLP_BUTTON */
	CU_ASSERT_FALSE(flags & (1u << 20));		/* HW_REDUCED_ACPI */
	check_gas_io(f + 116, HVIS_PORT_RESET, 8);
	CU_ASSERT_EQUAL(f[119], 1);			/* byte access */
	CU_ASSERT_EQUAL(f[128], HVIS_RESET_VALUE);

	/* sleep control/status registers unused (not hardware-reduced) */
	CU_ASSERT_EQUAL(rd64(f + 244 + 4), 0);
	CU_ASSERT_EQUAL(rd64(f + 256 + 4), 0);
	free(b.buf);
}

/* ----------------------------------------------------------------- MADT */

static void check_madt(unsigned int ncpus)
{
	struct built b;
	const uint8_t *m;
	uint32_t len, off;
	unsigned int nlapic = 0, nioapic = 0, nnmi = 0;
	bool pit = false, sci = false;

	if (!build(&b, ncpus))
		return;
	m = find_table(&b, "APIC", NULL);
	len = rd32(m + 4);
	CU_ASSERT_EQUAL(rd32(m + 36), HVIS_LAPIC_BASE);
	CU_ASSERT(rd32(m + 40) & 1);			/* PCAT_COMPAT */

	for (off = 44; off + 2 <= len; off += m[off + 1]) {
		const uint8_t *e = m + off;

		CU_ASSERT_FATAL(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:					/* Local APIC */
			CU_ASSERT_EQUAL_FATAL(e[1], 8);
			CU_ASSERT_EQUAL(e[2], nlapic);	/* UID */
			CU_ASSERT_EQUAL(e[3], nlapic);	/* APIC ID */
			CU_ASSERT_EQUAL(rd32(e + 4) & 1, 1);
			nlapic++;
			break;
		case 1:					/* IOAPIC */
			CU_ASSERT_EQUAL_FATAL(e[1], 12);
			CU_ASSERT_EQUAL(e[2], ACPI_IOAPIC_ID);
			CU_ASSERT_EQUAL(rd32(e + 4), HVIS_IOAPIC_BASE);
			CU_ASSERT_EQUAL(rd32(e + 8), 0);
			nioapic++;
			break;
		case 2:					/* interrupt override */
			CU_ASSERT_EQUAL_FATAL(e[1], 10);
			CU_ASSERT_EQUAL(e[2], 0);	/* ISA */
			if (e[3] == 0) {
				CU_ASSERT_EQUAL(rd32(e + 4), 2);
				CU_ASSERT_EQUAL(rd16(e + 8), 0);
				pit = true;
			} else if (e[3] == HVIS_SCI_IRQ) {
				CU_ASSERT_EQUAL(rd32(e + 4), HVIS_SCI_IRQ);
				/* active high (01), level (11 << 2) */
				CU_ASSERT_EQUAL(rd16(e + 8), 0x000D);
				sci = true;
			} else {
				CU_FAIL("unexpected interrupt override");
			}
			break;
		case 4:					/* LAPIC NMI */
			CU_ASSERT_EQUAL_FATAL(e[1], 6);
			CU_ASSERT_EQUAL(e[2], 0xFF);
			CU_ASSERT_EQUAL(e[5], 1);	/* LINT1 */
			nnmi++;
			break;
		default:
			CU_FAIL("unexpected MADT entry type");
		}
	}
	CU_ASSERT_EQUAL(off, len);			/* entries fill it */
	CU_ASSERT_EQUAL(nlapic, ncpus);
	CU_ASSERT_EQUAL(nioapic, 1);
	CU_ASSERT_EQUAL(nnmi, 1);
	CU_ASSERT(pit);
	CU_ASSERT(sci);
	free(b.buf);
}

static void test_madt(void)
{
	static const unsigned int counts[] = { 1, 2, 4, 16, 64, 255 };

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		check_madt(counts[i]);
}

/* ----------------------------------------------------- sizes and errors */

static void test_fits_and_untouched(void)
{
	struct built b;

	if (!build(&b, 255))
		return;
	/* 255 vCPUs fit with lots of room to spare */
	CU_ASSERT(b.used <= 8192);
	CU_ASSERT(b.used < HVIS_ACPI_SIZE / 8);
	/* nothing past *used is written */
	for (size_t i = b.used; i < b.size; i++) {
		if (b.buf[i] != 0xA5) {
			CU_FAIL("byte past *used written");
			break;
		}
	}
	free(b.buf);
}

static void test_enospc(void)
{
	struct acpi_config cfg = cfg_for(16);
	uint64_t rsdp = 0;
	size_t used = 0, need;
	uint8_t *buf = malloc(HVIS_ACPI_SIZE);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(acpi_build(buf, HVIS_ACPI_SIZE, HVIS_ACPI_BASE, &cfg,
				   &rsdp, &used), 0);
	need = used;
	memset(buf, 0x5A, HVIS_ACPI_SIZE);
	CU_ASSERT_EQUAL(acpi_build(buf, need - 1, HVIS_ACPI_BASE, &cfg,
				   &rsdp, &used), -ENOSPC);
	CU_ASSERT_EQUAL(acpi_build(buf, 36, HVIS_ACPI_BASE, &cfg, &rsdp,
				   &used), -ENOSPC);
	CU_ASSERT_EQUAL(acpi_build(buf, 0, HVIS_ACPI_BASE, &cfg, &rsdp,
				   &used), -ENOSPC);
	CU_ASSERT_EQUAL(buf[0], 0x5A);			/* untouched on error */
	CU_ASSERT_EQUAL(acpi_build(buf, need, HVIS_ACPI_BASE, &cfg, &rsdp,
				   &used), 0);
	CU_ASSERT_EQUAL(used, need);
	free(buf);
}

static void test_einval(void)
{
	struct acpi_config cfg;
	uint64_t rsdp;
	size_t used;
	size_t sz = HVIS_ACPI_SIZE;
	uint8_t *buf = malloc(sz);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
#define BUILD(c) acpi_build(buf, sz, HVIS_ACPI_BASE, (c), &rsdp, &used)
	cfg = cfg_for(0);
	CU_ASSERT_EQUAL(BUILD(&cfg), -EINVAL);
	cfg = cfg_for(256);
	CU_ASSERT_EQUAL(BUILD(&cfg), -EINVAL);
	CU_ASSERT_EQUAL(BUILD(NULL), -EINVAL);
	cfg = cfg_for(1);
	CU_ASSERT_EQUAL(acpi_build(NULL, sz, HVIS_ACPI_BASE, &cfg, &rsdp,
				   &used), -EINVAL);
	CU_ASSERT_EQUAL(acpi_build(buf, sz, HVIS_ACPI_BASE, &cfg, NULL,
				   &used), -EINVAL);
	CU_ASSERT_EQUAL(acpi_build(buf, sz, HVIS_ACPI_BASE, &cfg, &rsdp,
				   NULL), -EINVAL);
	/* RSDP must be 16-byte aligned; tables must stay below 4 GiB */
	CU_ASSERT_EQUAL(acpi_build(buf, sz, HVIS_ACPI_BASE + 8, &cfg, &rsdp,
				   &used), -EINVAL);
	CU_ASSERT_EQUAL(acpi_build(buf, sz, 0x100000000ull, &cfg, &rsdp,
				   &used), -EINVAL);
	CU_ASSERT_EQUAL(acpi_build(buf, sz, 0xFFFFF000ull, &cfg, &rsdp,
				   &used), -EINVAL);
	/* VMBus window: empty, wrapping, below 1 MiB, over the APICs */
	cfg.vmbus_mmio_size = 0;
	CU_ASSERT_EQUAL(BUILD(&cfg), -EINVAL);
	cfg.vmbus_mmio_base = 0xFFFFFFFFFFFFF000ull;
	cfg.vmbus_mmio_size = 0x2000;
	CU_ASSERT_EQUAL(BUILD(&cfg), -EINVAL);
	cfg.vmbus_mmio_base = 0x10000;
	cfg.vmbus_mmio_size = 0x10000;
	CU_ASSERT_EQUAL(BUILD(&cfg), -EINVAL);
	cfg.vmbus_mmio_base = 0xF8000000;
	cfg.vmbus_mmio_size = 0x08000000;		/* runs over IOAPIC */
	CU_ASSERT_EQUAL(BUILD(&cfg), -EINVAL);
	cfg.vmbus_mmio_base = HVIS_ACPI_BASE;
	cfg.vmbus_mmio_size = 0x100000;
	CU_ASSERT_EQUAL(BUILD(&cfg), -EINVAL);
#undef BUILD
	free(buf);
}

/* ------------------------------------------------------------- AML walk */

/* PkgLength at @p (ACPI 6.3, 20.2.4): value and encoded size, or false. */
static bool aml_pkglen(const uint8_t *p, size_t avail, size_t *len,
		       size_t *nbytes)
{
	size_t n, v;

	if (!avail)
		return false;
	n = (size_t)(p[0] >> 6) + 1;
	if (n > avail)
		return false;
	if (n == 1) {
		v = p[0] & 0x3F;
	} else {
		v = p[0] & 0x0F;
		for (size_t i = 1; i < n; i++)
			v |= (size_t)p[i] << (4 + 8 * (i - 1));
	}
	*len = v;
	*nbytes = n;
	return true;
}

struct aml_span {
	size_t op;		/* offset of the opcode */
	size_t body;		/* first byte after the NameSeg */
	size_t end;		/* end of the package */
};

/*
 * Find DeviceOp (5B 82) PkgLength "NAME" within [from, to). The package
 * must fit inside [from, to).
 */
static bool aml_find_device(const uint8_t *aml, size_t from, size_t to,
			    const char *name, struct aml_span *s)
{
	for (size_t i = from; i + 2 < to; i++) {
		size_t len, nb;

		if (aml[i] != 0x5B || aml[i + 1] != 0x82)
			continue;
		if (!aml_pkglen(aml + i + 2, to - i - 2, &len, &nb))
			continue;
		if (i + 2 + nb + 4 > to || i + 2 + len > to)
			continue;
		if (memcmp(aml + i + 2 + nb, name, 4))
			continue;
		s->op = i;
		s->body = i + 2 + nb + 4;
		s->end = i + 2 + len;
		return true;
	}
	return false;
}

/*
 * Offset of the data object of NameOp (08) "SEG_" in [from, to), skipping
 * matches inside @skip (a child device), or 0.
 */
static size_t aml_find_name(const uint8_t *aml, size_t from, size_t to,
			    const char *seg, const struct aml_span *skip)
{
	for (size_t i = from; i + 5 < to; i++) {
		if (skip && i >= skip->op && i < skip->end)
			continue;
		if (aml[i] == 0x08 && !memcmp(aml + i + 1, seg, 4))
			return i + 5;
	}
	return 0;
}

/* True if "\x0D" @str "\0" (an AML String) occurs in [from, to). */
static bool aml_has_string(const uint8_t *aml, size_t from, size_t to,
			   const char *str)
{
	size_t n = strlen(str) + 1;

	for (size_t i = from; i + 1 + n <= to; i++)
		if (aml[i] == 0x0D && !memcmp(aml + i + 1, str, n))
			return true;
	return false;
}

/* Small integer data object at @p: Zero, One, BytePrefix, WordPrefix. */
static bool aml_small_int(const uint8_t *p, size_t avail, uint64_t *v)
{
	if (avail >= 1 && (p[0] == 0x00 || p[0] == 0x01)) {
		*v = p[0];
		return true;
	}
	if (avail >= 2 && p[0] == 0x0A) {
		*v = p[1];
		return true;
	}
	if (avail >= 3 && p[0] == 0x0B) {
		*v = rd16(p + 1);
		return true;
	}
	return false;
}

/*
 * The resource template of BufferOp at @p (11 PkgLength BufferSize
 * bytes...). Returns its bytes/length, or false if malformed.
 */
static bool aml_buffer(const uint8_t *aml, size_t at, size_t to,
		       const uint8_t **data, size_t *len)
{
	size_t plen, nb, hdr;
	uint64_t bsize;

	if (at >= to || aml[at] != 0x11)
		return false;
	if (!aml_pkglen(aml + at + 1, to - at - 1, &plen, &nb))
		return false;
	if (at + 1 + plen > to)
		return false;
	hdr = 1 + nb;
	if (!aml_small_int(aml + at + hdr, plen - nb, &bsize))
		return false;
	hdr += aml[at + hdr] == 0x0A ? 2 : aml[at + hdr] == 0x0B ? 3 : 1;
	if (bsize != plen + 1 - hdr)
		return false;
	*data = aml + at + hdr;
	*len = (size_t)bsize;
	return true;
}

struct res_scan {
	unsigned int qword_mem, irq, other;
	uint64_t min, max, len;
	uint8_t gen_flags;
};

/* Walk a resource template (ACPI 6.3, 6.4); true if it ends with EndTag. */
static bool res_walk(const uint8_t *r, size_t len, struct res_scan *s)
{
	size_t i = 0;

	memset(s, 0, sizeof(*s));
	while (i < len) {
		if (r[i] & 0x80) {			/* large */
			size_t dl;

			if (i + 3 > len)
				return false;
			dl = rd16(r + i + 1);
			if (i + 3 + dl > len)
				return false;
			if (r[i] == 0x8A && dl == 43 && r[i + 3] == 0) {
				s->qword_mem++;
				s->gen_flags = r[i + 4];
				s->min = rd64(r + i + 14);
				s->max = rd64(r + i + 22);
				s->len = rd64(r + i + 38);
			} else {
				s->other++;
			}
			i += 3 + dl;
		} else {				/* small */
			unsigned int type = (r[i] >> 3) & 0x0F;
			size_t dl = r[i] & 0x07;

			if (i + 1 + dl > len)
				return false;
			if (type == 0x0F)		/* End Tag */
				return dl == 1 && i + 2 == len;
			if (type == 0x04)
				s->irq++;
			else
				s->other++;
			i += 1 + dl;
		}
	}
	return false;
}

static void check_vmbus_window(const struct built *b, uint64_t base,
			       uint64_t size)
{
	const uint8_t *d, *res;
	uint32_t len;
	struct aml_span vmod, vmbs;
	size_t at, rlen;
	struct res_scan rs;

	d = dsdt_of(b, &len);
	/* \_SB scope holds VMOD, which holds VMBS */
	CU_ASSERT_FATAL(aml_find_device(d, 36, len, "VMOD", &vmod));
	CU_ASSERT_FATAL(aml_find_device(d, vmod.body, vmod.end, "VMBS",
					&vmbs));
	CU_ASSERT(memmem(d + 36, vmod.op - 36, "_SB_", 4) != NULL);

	/* VMOD: _HID "ACPI0004" (a string: ACPI IDs have no EISA form) */
	at = aml_find_name(d, vmod.body, vmod.end, "_HID", &vmbs);
	CU_ASSERT_FATAL(at != 0);
	CU_ASSERT(aml_has_string(d, at, at + 10, "ACPI0004"));

	/* VMOD: _CRS with exactly one QWordMemory window == @base/@size */
	at = aml_find_name(d, vmod.body, vmod.end, "_CRS", &vmbs);
	CU_ASSERT_FATAL(at != 0);
	CU_ASSERT_FATAL(aml_buffer(d, at, vmod.end, &res, &rlen));
	CU_ASSERT_FATAL(res_walk(res, rlen, &rs));
	CU_ASSERT_EQUAL(rs.qword_mem, 1);
	CU_ASSERT_EQUAL(rs.min, base);
	CU_ASSERT_EQUAL(rs.max, base + size - 1);
	CU_ASSERT_EQUAL(rs.len, size);
	/* MinFixed | MaxFixed (bits 2, 3) */
	CU_ASSERT_EQUAL(rs.gen_flags & 0x0C, 0x0C);

	/* VMBS: _HID "VMBus" (method returning it), _UID 0, valid _CRS */
	CU_ASSERT(aml_has_string(d, vmbs.body, vmbs.end, "VMBus"));
	at = aml_find_name(d, vmbs.body, vmbs.end, "_UID", NULL);
	CU_ASSERT_FATAL(at != 0);
	CU_ASSERT_EQUAL(d[at], 0x00);			/* Zero */
	at = aml_find_name(d, vmbs.body, vmbs.end, "_CRS", NULL);
	CU_ASSERT_FATAL(at != 0);
	CU_ASSERT_FATAL(aml_buffer(d, at, vmbs.end, &res, &rlen));
	CU_ASSERT(res_walk(res, rlen, &rs));
	CU_ASSERT_EQUAL(rs.irq, 1);
	CU_ASSERT_EQUAL(rs.qword_mem, 0);
}

static void test_dsdt_vmbus(void)
{
	struct built b;

	if (!build(&b, 4))
		return;
	check_vmbus_window(&b, HVIS_VMBUS_MMIO_BASE, HVIS_VMBUS_MMIO_SIZE);
	free(b.buf);
}

static void test_dsdt_vmbus_patched(void)
{
	struct acpi_config cfg = cfg_for(2);
	struct built b;

	cfg.vmbus_mmio_base = 0xE0000000ull;
	cfg.vmbus_mmio_size = 0x10000000ull;
	if (!build_with(&b, &cfg))
		return;
	check_vmbus_window(&b, 0xE0000000ull, 0x10000000ull);
	free(b.buf);

	cfg.vmbus_mmio_base = 0x1000000000ull;		/* above 4 GiB */
	cfg.vmbus_mmio_size = 0x400000000ull;
	if (!build_with(&b, &cfg))
		return;
	check_vmbus_window(&b, 0x1000000000ull, 0x400000000ull);
	free(b.buf);
}

static void test_dsdt_s5(void)
{
	struct built b;
	const uint8_t *d;
	uint32_t len;
	size_t at, plen, nb;
	uint64_t typ;

	if (!build(&b, 1))
		return;
	d = dsdt_of(&b, &len);
	at = aml_find_name(d, 36, len, "_S5_", NULL);
	CU_ASSERT_FATAL(at != 0);
	CU_ASSERT_EQUAL_FATAL(d[at], 0x12);		/* PackageOp */
	CU_ASSERT_FATAL(aml_pkglen(d + at + 1, len - at - 1, &plen, &nb));
	CU_ASSERT_FATAL(at + 1 + plen <= len);
	CU_ASSERT(d[at + 1 + nb] >= 1);			/* NumElements */
	CU_ASSERT_FATAL(aml_small_int(d + at + 2 + nb, plen - nb - 1, &typ));
	CU_ASSERT_EQUAL(typ, HVIS_SLP_TYP_S5);
	CU_ASSERT(HVIS_SLP_TYP_S5 <= 7);		/* fits SLP_TYP */
	free(b.buf);
}

/* --------------------------------------------------------------- dump */

/*
 * With HVIS_ACPI_DUMP=<dir>, write each table to <dir>/<sig>.dat for a
 * manual `iasl -d`. Without it this only checks every table is reachable.
 */
static void dump_one(const char *dir, const char *name, const uint8_t *p,
		     size_t len)
{
	char path[4096];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(p, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static void test_dump(void)
{
	const char *dir = getenv("HVIS_ACPI_DUMP");
	struct built b;
	const uint8_t *r, *f, *t;
	uint64_t gpa;
	uint32_t dlen;

	if (!build(&b, 4))
		return;
	r = rsdp_of(&b);
	dump_one(dir, "rsdp", r, 36);
	t = table_at(&b, rd32(r + 16), "RSDT");
	dump_one(dir, "rsdt", t, rd32(t + 4));
	t = xsdt_of(&b);
	dump_one(dir, "xsdt", t, rd32(t + 4));
	f = find_table(&b, "FACP", NULL);
	dump_one(dir, "facp", f, rd32(f + 4));
	gpa = rd64(f + 132);
	CU_ASSERT_FATAL(gpa >= b.base && gpa - b.base + 64 <= b.used);
	dump_one(dir, "facs", b.buf + (gpa - b.base), 64);
	t = dsdt_of(&b, &dlen);
	dump_one(dir, "dsdt", t, dlen);
	t = find_table(&b, "APIC", NULL);
	dump_one(dir, "apic", t, rd32(t + 4));
	free(b.buf);
}

static const struct unit_test acpi_tests[] = {
	{ "rsdp", test_rsdp },
	{ "xsdt_rsdt", test_xsdt_rsdt },
	{ "fadt", test_fadt },
	{ "madt_1_to_255_cpus", test_madt },
	{ "fits_and_untouched", test_fits_and_untouched },
	{ "enospc", test_enospc },
	{ "einval", test_einval },
	{ "dsdt_vmbus", test_dsdt_vmbus },
	{ "dsdt_vmbus_patched", test_dsdt_vmbus_patched },
	{ "dsdt_s5", test_dsdt_s5 },
	{ "dump", test_dump },
	{ NULL, NULL },
};

int unit_register_acpi(void)
{
	return unit_add_suite("acpi", acpi_tests);
}
