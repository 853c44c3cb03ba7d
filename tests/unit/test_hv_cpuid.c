// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for hypervisor/hv_cpuid.c (placeholder until the unit lands). */
#include <CUnit/CUnit.h>

#include "unit.h"

static const struct unit_test hv_cpuid_tests[] = {
	{ NULL, NULL },
};

int unit_register_hv_cpuid(void)
{
	return unit_add_suite("hv_cpuid", hv_cpuid_tests);
}
