// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis_vmbus: the hvis VMBus bus driver for Linux guests.
 *
 * This file is the module: it binds the ACPI VMBus device (and the
 * platform device made for it) the way the in-tree hv_vmbus does, refuses
 * to run beside hv_vmbus and keeps it out while loaded, brings up the
 * connection (connection.c) and registers the hvis_vmbus bus, on which
 * channel_mgmt.c puts one device per primary channel offer:
 *
 *   /sys/bus/hvis_vmbus/version                 negotiated, e.g. "5.3"
 *   /sys/bus/hvis_vmbus/bad_host_messages       ignored host messages
 *   /sys/bus/hvis_vmbus/devices/<instance GUID>/
 *       class_id   device_id   relid   state   modalias
 *
 * The modalias is "hvis_vmbus:" and the 32 hex digits of the class GUID
 * as it travels (its 16 bytes in wire order); class drivers declare it
 * with MODULE_ALIAS so that udev loads them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/acpi.h>
#include <linux/kernel.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <asm/hypervisor.h>
#include <asm/mshyperv.h>

#include "vmbus_priv.h"

/*
 * Callback shapes that changed after 6.1, as Kbuild found them in the
 * headers (drivers/vmbus/kapi/): const pointers from 6.3, 6.4 and 6.11.
 */
#ifdef HVIS_HAVE_BUS_UEVENT_CONST
#define hvis_uevent_device const struct device
#else
#define hvis_uevent_device struct device
#endif
#ifdef HVIS_HAVE_BUS_MATCH_CONST
#define hvis_match_driver const struct device_driver
#else
#define hvis_match_driver struct device_driver
#endif
#ifdef HVIS_HAVE_BUS_ATTR_CONST
#define hvis_attr_bus const struct bus_type
#else
#define hvis_attr_bus struct bus_type
#endif

static char *max_version = "5.3";
module_param(max_version, charp, 0444);
MODULE_PARM_DESC(max_version,
		 "newest VMBus version to ask the host for, \"M.m\" (default 5.3; 2.4 at least)");

/* ------------------------------------------------------------ the bus */

static ssize_t class_id_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%pUl\n",
			  to_hvis_vmbus_device(dev)->class_id.g_bytes);
}
static DEVICE_ATTR_RO(class_id);

static ssize_t device_id_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%pUl\n",
			  to_hvis_vmbus_device(dev)->instance_id.g_bytes);
}
static DEVICE_ATTR_RO(device_id);

static ssize_t relid_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%u\n", to_hvis_vmbus_device(dev)->channel->relid);
}
static DEVICE_ATTR_RO(relid);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct hvis_vmbus_device *hd = to_hvis_vmbus_device(dev);

	return sysfs_emit(buf, "%s\n", hvis_vmbus_chan_state_name(hd->channel));
}
static DEVICE_ATTR_RO(state);

static ssize_t modalias_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "hvis_vmbus:%*phN\n", 16,
			  to_hvis_vmbus_device(dev)->class_id.g_bytes);
}
static DEVICE_ATTR_RO(modalias);

static struct attribute *hvis_vmbus_dev_attrs[] = {
	&dev_attr_class_id.attr,
	&dev_attr_device_id.attr,
	&dev_attr_relid.attr,
	&dev_attr_state.attr,
	&dev_attr_modalias.attr,
	NULL,
};
ATTRIBUTE_GROUPS(hvis_vmbus_dev);

static ssize_t version_show(hvis_attr_bus *bus, char *buf)
{
	u32 v = READ_ONCE(hvis_vmbus.version);

	if (!v)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%u.%u\n", HVIS_VER_MAJOR(v), HVIS_VER_MINOR(v));
}
static BUS_ATTR_RO(version);

static ssize_t bad_host_messages_show(hvis_attr_bus *bus, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&hvis_vmbus.bad_msgs));
}
static BUS_ATTR_RO(bad_host_messages);

static struct attribute *hvis_vmbus_bus_attrs[] = {
	&bus_attr_version.attr,
	&bus_attr_bad_host_messages.attr,
	NULL,
};
ATTRIBUTE_GROUPS(hvis_vmbus_bus);

static int hvis_vmbus_uevent(hvis_uevent_device *dev,
			     struct kobj_uevent_env *env)
{
	const struct hvis_vmbus_device *hd = to_hvis_vmbus_device(dev);
	int ret;

	ret = add_uevent_var(env, "MODALIAS=hvis_vmbus:%*phN", 16,
			     hd->class_id.g_bytes);
	if (!ret)
		ret = add_uevent_var(env, "HVIS_CLASS_ID=%pUl",
				     hd->class_id.g_bytes);
	if (!ret)
		ret = add_uevent_var(env, "HVIS_DEVICE_ID=%pUl",
				     hd->instance_id.g_bytes);
	return ret;
}

static bool hvis_guid_is_zero(const struct hvis_guid *g)
{
	return !memchr_inv(g->g_bytes, 0, sizeof(g->g_bytes));
}

/* A driver drives the classes of its list. */
static int hvis_vmbus_match(struct device *dev, hvis_match_driver *drv)
{
	const struct hvis_vmbus_driver *hdrv = to_hvis_vmbus_driver(drv);
	const struct hvis_vmbus_device *hd = to_hvis_vmbus_device(dev);
	const struct hvis_guid *g;

	for (g = hdrv->classes; g && !hvis_guid_is_zero(g); g++)
		if (!memcmp(g->g_bytes, hd->class_id.g_bytes,
			    sizeof(g->g_bytes)))
			return 1;
	return 0;
}

static int hvis_vmbus_probe(struct device *dev)
{
	struct hvis_vmbus_driver *hdrv = to_hvis_vmbus_driver(dev->driver);

	return hdrv->probe ? hdrv->probe(to_hvis_vmbus_device(dev)) : 0;
}

static void hvis_vmbus_remove(struct device *dev)
{
	struct hvis_vmbus_driver *hdrv = to_hvis_vmbus_driver(dev->driver);

	if (hdrv->remove)
		hdrv->remove(to_hvis_vmbus_device(dev));
}

static struct bus_type hvis_vmbus_bus = {
	.name = "hvis_vmbus",
	.match = hvis_vmbus_match,
	.probe = hvis_vmbus_probe,
	.remove = hvis_vmbus_remove,
	.uevent = hvis_vmbus_uevent,
	.dev_groups = hvis_vmbus_dev_groups,
	.bus_groups = hvis_vmbus_bus_groups,
};

int __hvis_vmbus_driver_register(struct hvis_vmbus_driver *drv,
				 struct module *owner)
{
	drv->driver.name = drv->name;
	drv->driver.bus = &hvis_vmbus_bus;
	drv->driver.owner = owner;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL_GPL(__hvis_vmbus_driver_register);

void hvis_vmbus_driver_unregister(struct hvis_vmbus_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL_GPL(hvis_vmbus_driver_unregister);

static void hvis_vmbus_device_release(struct device *dev)
{
	kfree(to_hvis_vmbus_device(dev));
}

/* A device for a primary channel; channel_mgmt.c holds chan_lock. */
int hvis_vmbus_device_add(struct hvis_vmbus_channel *ch)
{
	struct hvis_vmbus_device *hd;
	int ret;

	hd = kzalloc(sizeof(*hd), GFP_KERNEL);
	if (!hd)
		return -ENOMEM;
	hd->channel = ch;
	hd->class_id = ch->offer.of_if_type;
	hd->instance_id = ch->offer.of_if_instance;
	device_initialize(&hd->dev);
	hd->dev.bus = &hvis_vmbus_bus;
	hd->dev.parent = hvis_vmbus.parent;
	hd->dev.release = hvis_vmbus_device_release;
	ret = dev_set_name(&hd->dev, "%pUl", hd->instance_id.g_bytes);
	if (!ret)
		ret = device_add(&hd->dev);
	if (ret) {
		put_device(&hd->dev);
		return ret;
	}
	ch->dev = hd;
	return 0;
}

void hvis_vmbus_device_remove(struct hvis_vmbus_channel *ch)
{
	struct hvis_vmbus_device *hd = ch->dev;

	ch->dev = NULL;
	device_unregister(&hd->dev);
}

/* ------------------------------------------------------------ ACPI */

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
	dev_info(&adev->dev, "VMBus device %s bound\n", acpi_device_hid(adev));
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
 * The ACPI scan also makes a platform device for the VMBus node. The
 * in-tree hv_vmbus binds the ACPI device up to 6.2 and the platform
 * device from 6.3: holding both keeps it out on either kernel.
 */
static struct platform_device *hvis_vmbus_pdev;

static int hvis_vmbus_platform_probe(struct platform_device *pdev)
{
	hvis_vmbus_pdev = pdev;
	return 0;
}

static struct platform_driver hvis_vmbus_platform_driver = {
	.probe = hvis_vmbus_platform_probe,
	.driver = {
		.name = "hvis_vmbus",
		.acpi_match_table = hvis_vmbus_acpi_ids,
		.probe_type = PROBE_FORCE_SYNCHRONOUS,
	},
};

/*
 * The in-tree hv_vmbus and hvis_vmbus must never both drive VMBus: if the
 * ACPI VMBus device (or the platform device made for it) already has a
 * driver, refuse to load.
 */
static int hvis_vmbus_check_unclaimed(void)
{
	static const char * const hids[] = { "VMBUS", "VMBus" };
	struct acpi_device *adev;
	struct device *phys;
	const char *owner;
	int i, ret = 0;

	for (i = 0; i < ARRAY_SIZE(hids) && !ret; i++) {
		adev = acpi_dev_get_first_match_dev(hids[i], NULL, -1);
		if (!adev)
			continue;
		owner = adev->dev.driver ? adev->dev.driver->name : NULL;
		phys = acpi_get_first_physical_node(adev);
		if (!owner && phys && phys->driver)
			owner = phys->driver->name;
		if (owner) {
			pr_err("VMBus is already driven by %s; unload it (or use the hvis modprobe.d blacklist) before loading hvis_vmbus\n",
			       owner);
			ret = -EBUSY;
		}
		acpi_dev_put(adev);
	}
	return ret;
}

/* ------------------------------------------------------------ module */

/* What the kernel must have set up before we can talk to the host. */
static int hvis_vmbus_check_platform(void)
{
	if (!hypervisor_is_type(X86_HYPER_MS_HYPERV)) {
		pr_info("not running on a Hyper-V compatible hypervisor\n");
		return -ENODEV;
	}
	if (!hv_is_hyperv_initialized()) {
		pr_err("the kernel has not set up the Hyper-V hypercall page\n");
		return -ENODEV;
	}
	if (!(ms_hyperv.features & HVIS_PRIV_SYNIC) ||
	    !(ms_hyperv.priv_high & HVIS_PRIV_POST_MESSAGES)) {
		pr_err("the hypervisor offers no SynIC or no HvPostMessage\n");
		return -ENODEV;
	}
	if (hv_is_isolation_supported()) {
		pr_err("isolated (confidential) VMs are not supported\n");
		return -ENODEV;
	}
	return 0;
}

static int __init hvis_vmbus_init(void)
{
	int ret;

	ret = hvis_vmbus_check_platform();
	if (ret)
		return ret;
	ret = hvis_vmbus_parse_version(max_version, &hvis_vmbus.max_version);
	if (ret) {
		pr_err("max_version=%s: want \"M.m\", 2.4 or newer\n",
		       max_version ? max_version : "");
		return -EINVAL;
	}
	ret = hvis_vmbus_check_unclaimed();
	if (ret)
		return ret;
	ret = acpi_bus_register_driver(&hvis_vmbus_acpi_driver);
	if (ret)
		return ret;
	ret = platform_driver_register(&hvis_vmbus_platform_driver);
	if (ret)
		goto err_acpi;
	if (hvis_vmbus_adev) {
		hvis_vmbus.parent = &hvis_vmbus_adev->dev;
	} else if (hvis_vmbus_pdev) {
		hvis_vmbus.parent = &hvis_vmbus_pdev->dev;
	} else {
		pr_err("no ACPI VMBus device found\n");
		ret = -ENODEV;
		goto err_platform;
	}

	ret = bus_register(&hvis_vmbus_bus);
	if (ret)
		goto err_platform;
	ret = hvis_vmbus_conn_init();
	if (ret)
		goto err_bus;
	ret = hvis_vmbus_chan_init();
	if (ret)
		goto err_conn;
	ret = hvis_vmbus_channel_init();
	if (ret)
		goto err_chan;
	ret = hvis_ic_init();
	if (ret)
		goto err_channel;
	ret = hvis_vmbus_synic_init();
	if (ret)
		goto err_ic;
	ret = hvis_vmbus_connect();
	if (ret)
		goto err_synic;
	ret = hvis_vmbus_request_offers();
	if (ret)
		goto err_unload;
	return 0;

err_unload:
	hvis_vmbus_unload();
err_synic:
	hvis_vmbus_synic_exit();
err_ic:
	hvis_ic_exit();
err_channel:
	hvis_vmbus_channel_exit();
err_chan:
	hvis_vmbus_chan_exit();
err_conn:
	hvis_vmbus_conn_exit();
err_bus:
	bus_unregister(&hvis_vmbus_bus);
err_platform:
	platform_driver_unregister(&hvis_vmbus_platform_driver);
	hvis_vmbus_pdev = NULL;
err_acpi:
	acpi_bus_unregister_driver(&hvis_vmbus_acpi_driver);
	hvis_vmbus_adev = NULL;
	return ret;
}

static void __exit hvis_vmbus_exit(void)
{
	hvis_vmbus_unload();
	hvis_vmbus_synic_exit();
	hvis_ic_exit();
	hvis_vmbus_channel_exit();
	hvis_vmbus_chan_exit();
	hvis_vmbus_conn_exit();
	bus_unregister(&hvis_vmbus_bus);
	platform_driver_unregister(&hvis_vmbus_platform_driver);
	hvis_vmbus_pdev = NULL;
	acpi_bus_unregister_driver(&hvis_vmbus_acpi_driver);
	hvis_vmbus_adev = NULL;
}

module_init(hvis_vmbus_init);
module_exit(hvis_vmbus_exit);

MODULE_DESCRIPTION("hvis VMBus bus driver");
MODULE_LICENSE("GPL");
