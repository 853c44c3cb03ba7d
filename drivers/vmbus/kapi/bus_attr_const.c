// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kbuild probe, never linked: do bus attributes' show callbacks take a
 * const bus_type? (Compiles without error: HVIS_HAVE_BUS_ATTR_CONST.)
 */
#include <linux/device.h>

static ssize_t probe_show(const struct bus_type *bus, char *buf)
{
	return 0;
}

struct bus_attribute probe_attr = __ATTR(probe, 0444, probe_show, NULL);
