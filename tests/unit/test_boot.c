// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for hypervisor/boot.c (placeholder until the unit lands). */
#include <CUnit/CUnit.h>

#include "unit.h"

static const struct unit_test boot_tests[] = {
	{ NULL, NULL },
};

int unit_register_boot(void)
{
	return unit_add_suite("boot", boot_tests);
}
