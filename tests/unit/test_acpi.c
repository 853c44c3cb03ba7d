// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for hypervisor/acpi.c (placeholder until the unit lands). */
#include <CUnit/CUnit.h>

#include "unit.h"

static const struct unit_test acpi_tests[] = {
	{ NULL, NULL },
};

int unit_register_acpi(void)
{
	return unit_add_suite("acpi", acpi_tests);
}
