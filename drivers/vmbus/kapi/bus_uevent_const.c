// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kbuild probe, never linked: does bus_type.uevent take a const device?
 * (Compiles without error: HVIS_HAVE_BUS_UEVENT_CONST.)
 */
#include <linux/device.h>

static int probe_uevent(const struct device *dev, struct kobj_uevent_env *env)
{
	return 0;
}

struct bus_type probe_bus = { .uevent = probe_uevent };
