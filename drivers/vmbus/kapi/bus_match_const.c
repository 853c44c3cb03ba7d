// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kbuild probe, never linked: does bus_type.match take a const driver?
 * (Compiles without error: HVIS_HAVE_BUS_MATCH_CONST.)
 */
#include <linux/device.h>

static int probe_match(struct device *dev, const struct device_driver *drv)
{
	return 0;
}

struct bus_type probe_bus = { .match = probe_match };
