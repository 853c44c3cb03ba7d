#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 check for the storage scenarios, run by the guest's /init as
# /scenario after it loaded hv_vmbus and hv_storvsc. For every disk the
# host configured (hvis.disks=N, on SCSI LUNs 0..N-1 of one controller):
# report what Linux sees (size, vendor, model, serial, WWID), then make an
# ext4 file system on it, write hvis.mib MiB of a known pattern into the
# file /pattern (the line "hvis-pattern-0123456789abcdef" repeated and cut
# at 1 MiB, that MiB repeated), sync and unmount. The host checks the images afterwards.
# Parameters from the guest kernel command line:
#   hvis.disks=N   disks to expect (default 1)
#   hvis.mib=M     pattern size in MiB (default 256)
why() {
	echo "storage-guest: $*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "hvis.$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}

ndisks=$(arg disks 1)
mib=$(arg mib 256)
modprobe sd_mod || why "modprobe sd_mod failed"
modprobe ext4 || why "modprobe ext4 failed"

# The disks by LUN: /sys/class/scsi_disk/H:C:T:L.
i=0
while [ "$(ls /sys/class/scsi_disk 2>/dev/null | wc -l)" -lt "$ndisks" ]; do
	i=$((i + 1))
	[ "$i" -le 120 ] || why "$(ls /sys/class/scsi_disk 2>/dev/null | wc -l) of $ndisks disks appeared"
	sleep 0.5
done
for d in /sys/class/scsi_disk/*; do
	hctl=$(basename "$d")
	blk=$(ls "$d/device/block")
	dev=/sys/block/$blk
	# VPD page 0x80: four header bytes, then the serial number
	serial=$(tail -c +5 "$d/device/vpd_pg80" 2>/dev/null | tr -d '\000')
	echo "storage-guest: disk $hctl $blk bytes=$(($(cat "$dev/size") * 512))" \
		"vendor=$(cat "$d/device/vendor" | tr -d ' ')" \
		"model=$(cat "$d/device/model" | tr ' ' '_' | sed 's/_*$//')" \
		"serial=$serial" "wwid=$(cat "$d/device/wwid" | tr ' ' '_')" \
		"discard=$(cat "$dev/queue/discard_max_bytes")" \
		"ro=$(cat "$dev/ro")"
done

# The channels hv_storvsc opened: the primaries and their sub-channels.
nchan=0
for c in /sys/bus/vmbus/devices/*/channels/*; do
	[ -d "$c" ] || continue
	case $(cat "$c/../../class_id" 2>/dev/null) in
	"{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}") nchan=$((nchan + 1)) ;;
	esac
done
echo "storage-guest: storvsc channels $nchan"

for d in /sys/class/scsi_disk/*; do
	hctl=$(basename "$d")
	blk=$(ls "$d/device/block")
	mkfs.ext4 -q -F "/dev/$blk" || why "mkfs.ext4 /dev/$blk failed"
	mount -t ext4 "/dev/$blk" /mnt || why "mount /dev/$blk failed"
	t0=$(cut -d' ' -f1 /proc/uptime)
	# one MiB of pattern, repeated: busybox's yes writes a line per call
	yes hvis-pattern-0123456789abcdef | head -c 1048576 >/tmp/chunk
	i=0
	while [ "$i" -lt "$mib" ]; do
		cat /tmp/chunk
		i=$((i + 1))
	done >/mnt/pattern || why "writing /dev/$blk failed"
	sync
	t1=$(cut -d' ' -f1 /proc/uptime)
	sum=$(md5sum /mnt/pattern | cut -d' ' -f1)
	umount /mnt || why "umount /dev/$blk failed"
	echo "storage-guest: disk $hctl wrote $mib MiB md5=$sum in $t0..$t1 s"
done
dmesg | grep -i -E 'storvsc|sd [0-9]|I/O error|blk_update' | tail -n 20 | sed 's/^/storage-guest: dmesg: /'
dmesg | grep -q -i 'I/O error' && why "I/O errors in dmesg"
exit 0
