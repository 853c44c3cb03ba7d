// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for hypervisor/uart.c (placeholder until the unit lands). */
#include <CUnit/CUnit.h>

#include "unit.h"

static const struct unit_test uart_tests[] = {
	{ NULL, NULL },
};

int unit_register_uart(void)
{
	return unit_add_suite("uart", uart_tests);
}
