#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 guest for the storage scenarios that act while the guest runs,
# run by /init as /scenario after it loaded hv_vmbus, hv_storvsc and
# hv_utils. It reports every SCSI disk that appears or goes, one line
# each ("storage-watch: lun N appeared sdX bytes=B ro=R", "storage-watch:
# lun N gone"), and does what the host types on the console:
#   hvis-l2: io N        write 4 MiB of a pattern at 1 MiB into LUN N,
#                        fsync, drop the caches, read it back and compare:
#                        "storage-watch: lun N io ok md5=..." or "... io failed"
#   hvis-l2: write N     try one write to LUN N: "lun N write refused" or
#                        "lun N write accepted"
#   hvis-l2: durable N   from block 1 on, write one 64 KiB block after the
#                        other into LUN N, each holding "hvis-durable-<i>",
#                        with fsync (SYNCHRONIZE CACHE), and print
#                        "storage-watch: durable <i>" once each fsync
#                        returned, until a write fails or hangs
# The host ends it (hvisctl shutdown through hv_utils, or killing hvis-run).
modprobe sd_mod || echo "storage-watch: modprobe sd_mod failed"
for a in poweroff reboot; do
	rm -f "/sbin/$a"
	printf '#!/bin/sh\necho "hvis-l2: %s requested by the kernel" >/dev/console\nsync\nexec busybox %s -f\n' \
		"$a" "$a" >"/sbin/$a"
	chmod 755 "/sbin/$a"
done

# dev_of LUN: the block device of that LUN, or nothing
dev_of() {
	for d in /sys/class/scsi_disk/*:"$1"; do
		[ -d "$d/device/block" ] && ls "$d/device/block" && return
	done
}

yes hvis-watch-pattern | head -c 4194304 >/tmp/pat
pat_md5=$(md5sum /tmp/pat | cut -d' ' -f1)

io_test() {
	blk=$(dev_of "$1")
	[ -n "$blk" ] || { echo "storage-watch: lun $1 io failed (no device)"; return; }
	if dd if=/tmp/pat of="/dev/$blk" bs=1M seek=1 count=4 conv=fsync 2>/dev/null; then
		echo 3 >/proc/sys/vm/drop_caches
		got=$(dd if="/dev/$blk" bs=1M skip=1 count=4 2>/dev/null | md5sum | cut -d' ' -f1)
		if [ "$got" = "$pat_md5" ]; then
			echo "storage-watch: lun $1 io ok md5=$got"
			return
		fi
	fi
	echo "storage-watch: lun $1 io failed"
}

write_test() {
	blk=$(dev_of "$1")
	if dd if=/tmp/pat of="/dev/$blk" bs=4k count=1 conv=fsync 2>/dev/null; then
		echo "storage-watch: lun $1 write accepted"
	else
		echo "storage-watch: lun $1 write refused"
	fi
}

durable() {
	blk=$(dev_of "$1")
	i=1
	while :; do
		{ printf 'hvis-durable-%d\n' "$i"; head -c 65000 /dev/zero; } | head -c 65536 >/tmp/blk
		dd if=/tmp/blk of="/dev/$blk" bs=64k seek="$i" count=1 conv=fsync 2>/dev/null || break
		echo "storage-watch: durable $i"
		i=$((i + 1))
	done
	echo "storage-watch: durable writes stopped at $i"
}

echo "hvis-l2: waiting for the host"
seen=" "
while :; do
	now=" "
	for d in /sys/class/scsi_disk/*; do
		[ -d "$d" ] || continue
		lun=${d##*:}
		blk=$(ls "$d/device/block" 2>/dev/null)
		[ -n "$blk" ] || continue
		now="$now$lun "
		case $seen in *" $lun "*) continue ;; esac
		echo "storage-watch: lun $lun appeared $blk bytes=$(($(cat "/sys/block/$blk/size") * 512)) ro=$(cat "/sys/block/$blk/ro")"
	done
	for lun in $seen; do
		case $now in *" $lun "*) ;; *) echo "storage-watch: lun $lun gone" ;; esac
	done
	seen=$now
	if read -r -t 1 cmd; then
		case $cmd in
		"hvis-l2: io "*) io_test "${cmd##* }" ;;
		"hvis-l2: write "*) write_test "${cmd##* }" ;;
		"hvis-l2: durable "*) durable "${cmd##* }" & ;;
		esac
	fi
done
