// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis unit tests: pure logic shared by guest and host (ring buffer, wire
 * formats), run under ASan + UBSan by `make check`. Ends with CUnit's run
 * summary; exits non-zero if any assertion failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <CUnit/Basic.h>

#include "unit.h"

int unit_add_suite(const char *name, const struct unit_test *tests)
{
	CU_pSuite suite = CU_add_suite(name, NULL, NULL);

	if (!suite)
		return -1;
	for (; tests->name; tests++)
		if (!CU_add_test(suite, tests->name, tests->fn))
			return -1;
	return 0;
}

static int (*const suites[])(void) = {
	unit_register_ring,
	unit_register_wire,
	unit_register_hv_cpuid,
	unit_register_tlfs,
	unit_register_acpi,
	unit_register_boot,
	unit_register_uart,
	unit_register_vmbus_server,
	unit_register_ic,
	unit_register_control,
	unit_register_attach,
	unit_register_mouse,
	unit_register_scsi,
	unit_register_vhd,
	unit_register_storvsp,
	unit_register_netvsp,
};

int main(void)
{
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (suites[i]()) {
			fprintf(stderr, "unit: cannot register tests: %s\n",
				CU_get_error_msg());
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() +
		 CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
