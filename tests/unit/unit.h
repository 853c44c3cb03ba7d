/* SPDX-License-Identifier: GPL-2.0-only */
/* Suite registration for the hvis unit-test runner (CUnit). */
#ifndef HVIS_TESTS_UNIT_H
#define HVIS_TESTS_UNIT_H

#include <CUnit/CUnit.h>

struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

/* Each test file provides one of these; main.c registers them all. */
int unit_register_ring(void);
int unit_register_wire(void);
int unit_register_acpi(void);
int unit_register_boot(void);
int unit_register_uart(void);
int unit_register_hv_cpuid(void);
int unit_register_tlfs(void);
int unit_register_vmbus_server(void);
int unit_register_ic(void);
int unit_register_control(void);
int unit_register_attach(void);
int unit_register_mouse(void);
int unit_register_scsi(void);
int unit_register_vhd(void);
int unit_register_storvsp(void);
int unit_register_netvsp(void);

int unit_add_suite(const char *name, const struct unit_test *tests);

#endif /* HVIS_TESTS_UNIT_H */
