#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 check for hvis-storage-fio, run by /init as /scenario after it
# loaded hv_vmbus and hv_storvsc: fio (carried into this image from layer
# 1's /hvis/l2-extra/fio) writes 4 KiB blocks at random offsets of the
# first SCSI disk, O_DIRECT, 32 in flight, one job pinned to each vCPU
# (hv_storvsc sends on the channel of the submitting CPU: the primary and
# the sub-channel), then reads every block back in random order and
# verifies it (crc32c, fatal). Each storvsc channel must have taken
# interrupts during the run. Parameters: hvis.mib=M per job (default 64).
why() {
	echo "fio-guest: $*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "hvis.$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}

mib=$(arg mib 64)
modprobe sd_mod || why "modprobe sd_mod failed"
i=0
until [ -b /dev/sda ]; do
	i=$((i + 1))
	[ "$i" -le 120 ] || why "no /dev/sda"
	sleep 0.5
done

# the storvsc channels and their interrupt counts
chans() {
	for c in /sys/bus/vmbus/devices/*/channels/*; do
		[ "$(cat "$c/../../class_id" 2>/dev/null)" = "{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}" ] &&
			echo "$(basename "$c") $(cat "$c/interrupts")"
	done
}
chans >/tmp/before
echo "fio-guest: storvsc channels $(wc -l </tmp/before): $(tr '\n' ' ' </tmp/before)"

LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/ceph fio --name=hvis-verify \
	--filename=/dev/sda --direct=1 --ioengine=libaio --bs=4k --iodepth=32 \
	--rw=randwrite --size="${mib}M" --numjobs=2 --offset_increment="${mib}M" \
	--cpus_allowed=0-1 --cpus_allowed_policy=split \
	--verify=crc32c --verify_fatal=1 --group_reporting >/tmp/fio.out 2>&1
rc=$?
sed 's/^/fio-guest: fio: /' /tmp/fio.out | grep -E 'err=|write:|read:|IOPS|verify|error|bad' | head -n 20
[ "$rc" = 0 ] || { tail -n 20 /tmp/fio.out | sed 's/^/fio-guest: /'; why "fio exited with status $rc"; }
grep -q 'err= 0' /tmp/fio.out || why "fio reports errors"

chans >/tmp/after
echo "fio-guest: interrupts after: $(tr '\n' ' ' </tmp/after)"
busy=0
while read -r relid n; do
	b=$(sed -n "s/^$relid //p" /tmp/before)
	[ "$n" -gt "${b:-0}" ] && busy=$((busy + 1))
done </tmp/after
[ "$busy" -ge 2 ] || why "only $busy storvsc channel(s) took interrupts during fio"
echo "fio-guest: $busy channels used, verify passed"
dmesg | grep -q -i 'I/O error' && why "I/O errors in dmesg"
exit 0
