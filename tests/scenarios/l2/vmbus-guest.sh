#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 check, run by the guest's /init as /scenario after it loaded
# hv_vmbus and hv_utils: VMBus connected to our host at the expected
# version and the five integration-component devices are bound to
# hv_utils. Parameters from the guest kernel command line:
#   hvis.vmbus=M.m    the version hv_vmbus must report (default 5.3);
#                     "none": the host offers nothing Linux speaks, so
#                     loading hv_vmbus (done here, not by /init) must fail
#   hvis.then=poweroff  after the checks (the default and only choice;
#                     ic-guest.sh stays up for the host)
why() {
	echo "vmbus-guest: $*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "hvis.$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}

want=$(arg vmbus 5.3)
then=$(arg then poweroff)

# The five IC classes (Hyper-V's GUIDs, as sysfs prints them).
ics="57164f39-9115-4e78-ab55-382f3bd5422d heartbeat
0e0b6031-5213-4934-818b-38d90ced39db shutdown
9527e630-d0ae-497b-adce-e80ab0175caf timesync
a9a0f4e7-5a45-4d96-b827-8a841e8c03e6 kvp
35fa2e29-ea23-4236-96ae-3a6ebacba440 vss"

if [ "$want" = none ]; then
	modprobe hv_vmbus && why "hv_vmbus loaded although no version was agreed"
	dmesg | grep -m1 -i 'vmbus' || true
	echo "vmbus-guest: hv_vmbus refused to load, as it should"
	exit 0
fi

# hv_vmbus connects at module load; offers may trail by a moment.
nbound=5
[ "$(echo "$want" | awk -F. '{ print $1 * 100 + $2 }')" -ge 300 ] || nbound=4
i=0
while :; do
	bound=0
	for d in /sys/bus/vmbus/devices/*; do
		[ -e "$d/driver" ] || continue
		[ "$(basename "$(readlink "$d/driver")")" = hv_utils ] && bound=$((bound + 1))
	done
	[ "$bound" -ge "$nbound" ] && break
	i=$((i + 1))
	[ "$i" -le 60 ] || break
	sleep 0.5
done

ver=$(dmesg | sed -n 's/.*Vmbus version:\([0-9]*\.[0-9]*\).*/\1/p' | tail -n1)
echo "vmbus-guest: VMBus version $ver"
[ "$ver" = "$want" ] || why "VMBus version '$ver', expected $want"

# hv_utils' VSS driver refuses hosts older than VMBus 3.0 (Windows 8.1):
# below that the device is offered but stays unbound.
vss_driver=hv_utils
[ "$(echo "$want" | awk -F. '{ print $1 * 100 + $2 }')" -ge 300 ] || vss_driver=

echo "$ics" | while read -r class name; do
	found=
	expect=hv_utils
	[ "$name" = vss ] && expect=$vss_driver
	for d in /sys/bus/vmbus/devices/*; do
		[ "$(cat "$d/class_id" 2>/dev/null)" = "{$class}" ] || continue
		drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
		echo "vmbus-guest: $name $(basename "$d") relid $(cat "$d/id") driver ${drv:-none}"
		[ "$drv" = "$expect" ] ||
			why "$name is bound to '${drv:-nothing}', expected '${expect:-nothing}'"
		found=1
	done
	[ -n "$found" ] || why "no $name device"
done || exit 1

case $then in
poweroff) ;;
*) why "unknown hvis.then=$then" ;;
esac
