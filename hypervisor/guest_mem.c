// SPDX-License-Identifier: GPL-2.0-only
/* Guest RAM in a memfd; bounds-checked guest-physical access. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_mem.h"
#include "platform.h"

int guest_mem_init(struct guest_mem *gm, uint64_t size)
{
	void *p;

	gm->memfd = -1;
	gm->base = NULL;
	if (!size || (size & ((2u << 20) - 1)))
		return -EINVAL;
	gm->memfd = memfd_create("hvis-guest-ram", MFD_CLOEXEC);
	if (gm->memfd < 0)
		return -errno;
	if (ftruncate(gm->memfd, (off_t)size) < 0)
		goto fail;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, gm->memfd, 0);
	if (p == MAP_FAILED)
		goto fail;
	gm->base = p;
	gm->size = size;
	gm->low_size = size < HVIS_LOW_RAM_MAX ? size : HVIS_LOW_RAM_MAX;
	return 0;
fail:
	{
		int err = -errno;

		close(gm->memfd);
		gm->memfd = -1;
		return err;
	}
}

void guest_mem_destroy(struct guest_mem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->size);
	if (gm->memfd >= 0)
		close(gm->memfd);
	gm->base = NULL;
	gm->memfd = -1;
}

int64_t guest_mem_offset(const struct guest_mem *gm, uint64_t gpa,
			 uint64_t len)
{
	uint64_t high = gm->size - gm->low_size;

	if (gpa < gm->low_size) {
		if (len > gm->low_size - gpa)
			return -1;
		return (int64_t)gpa;
	}
	if (gpa >= HVIS_HIGH_RAM_BASE && gpa - HVIS_HIGH_RAM_BASE < high) {
		if (len > high - (gpa - HVIS_HIGH_RAM_BASE))
			return -1;
		return (int64_t)(gm->low_size + (gpa - HVIS_HIGH_RAM_BASE));
	}
	return -1;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	int64_t off = guest_mem_offset(gm, gpa, len);

	return off < 0 ? NULL : gm->base + off;
}
