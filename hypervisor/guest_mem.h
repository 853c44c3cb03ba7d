/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest RAM: one memfd (so the VSP service can map it too), mapped once in
 * this process. Low RAM is GPA 0..low_size; RAM beyond HVIS_LOW_RAM_MAX is
 * placed above 4 GiB (GPA HVIS_HIGH_RAM_BASE..), right after low RAM in
 * the memfd and in the host mapping.
 */
#ifndef HVIS_HV_GUEST_MEM_H
#define HVIS_HV_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem {
	int memfd;
	uint8_t *base;		/* host address of the memfd's byte 0 */
	uint64_t size;		/* all RAM, bytes */
	uint64_t low_size;	/* RAM at GPA 0 .. low_size */
};

/* Create and map @size bytes of RAM (a multiple of 2 MiB). 0 or -errno. */
int guest_mem_init(struct guest_mem *gm, uint64_t size);
void guest_mem_destroy(struct guest_mem *gm);

/*
 * Host pointer for guest-physical [@gpa, @gpa + @len), or NULL unless the
 * whole range is RAM. Every guest address goes through here (or
 * guest_mem_offset) before it is dereferenced.
 */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Offset in the memfd of the same range, or -1. */
int64_t guest_mem_offset(const struct guest_mem *gm, uint64_t gpa,
			 uint64_t len);

#endif /* HVIS_HV_GUEST_MEM_H */
