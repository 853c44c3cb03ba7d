// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis_vmbus: the hvis VMBus bus driver for Linux guests.
 *
 * This is the skeleton the foundation lays: it binds to the ACPI VMBus
 * device the way the in-tree hv_vmbus does, refuses to run beside it, and
 * links the shared ring buffer (lib/ring.c). Version negotiation, offers,
 * channels and the class-driver API come with the guest-module issue.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/acpi.h>
#include <linux/kernel.h>
#include <asm/hypervisor.h>

#include <hvis/tlfs.h>
#include <hvis/vmbus.h>
#include "ring.h"

static const struct acpi_device_id hvis_vmbus_acpi_ids[] = {
	{ "VMBUS", 0 },
	{ "VMBus", 0 },
	{ "", 0 },
};
MODULE_DEVICE_TABLE(acpi, hvis_vmbus_acpi_ids);

static struct acpi_device *hvis_vmbus_adev;

static int hvis_vmbus_acpi_add(struct acpi_device *adev)
{
	hvis_vmbus_adev = adev;
	dev_info(&adev->dev, "VMBus device %s bound (skeleton: no channels yet)\n",
		 acpi_device_hid(adev));
	return 0;
}

static struct acpi_driver hvis_vmbus_acpi_driver = {
	.name = "hvis_vmbus",
	.ids = hvis_vmbus_acpi_ids,
	.ops = {
		.add = hvis_vmbus_acpi_add,
	},
};

/*
 * The in-tree hv_vmbus and hvis_vmbus must never both drive VMBus: if the
 * ACPI VMBus device is already bound to another driver, refuse to load.
 */
static int hvis_vmbus_check_unclaimed(void)
{
	static const char * const hids[] = { "VMBUS", "VMBus" };
	struct acpi_device *adev;
	int i, ret = 0;

	for (i = 0; i < ARRAY_SIZE(hids) && !ret; i++) {
		adev = acpi_dev_get_first_match_dev(hids[i], NULL, -1);
		if (!adev)
			continue;
		if (adev->dev.driver) {
			pr_err("VMBus is already driven by %s; unload it (or use the hvis modprobe.d blacklist) before loading hvis_vmbus\n",
			       adev->dev.driver->name);
			ret = -EBUSY;
		}
		acpi_dev_put(adev);
	}
	return ret;
}

static int __init hvis_vmbus_init(void)
{
	int ret;

	if (!hypervisor_is_type(X86_HYPER_MS_HYPERV)) {
		pr_info("not running on a Hyper-V compatible hypervisor\n");
		return -ENODEV;
	}
	ret = hvis_vmbus_check_unclaimed();
	if (ret)
		return ret;
	ret = acpi_bus_register_driver(&hvis_vmbus_acpi_driver);
	if (ret)
		return ret;
	if (!hvis_vmbus_adev) {
		acpi_bus_unregister_driver(&hvis_vmbus_acpi_driver);
		pr_err("no ACPI VMBus device found\n");
		return -ENODEV;
	}
	return 0;
}

static void __exit hvis_vmbus_exit(void)
{
	acpi_bus_unregister_driver(&hvis_vmbus_acpi_driver);
	hvis_vmbus_adev = NULL;
}

module_init(hvis_vmbus_init);
module_exit(hvis_vmbus_exit);

MODULE_DESCRIPTION("hvis VMBus bus driver");
MODULE_LICENSE("GPL");
