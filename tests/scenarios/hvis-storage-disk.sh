#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 900
#
# Scenario hvis-storage-disk: synthetic SCSI disks served by hvis-vspd's
# storvsp to the kernel's hv_storvsc, on two vCPUs (so the guest asks for
# a sub-channel on each controller), on two controllers:
#   scsi0 LUN 0  a 1 GiB raw image file, serial "hvis-raw-0";
#   scsi1 LUN 3  a 1 GiB dynamic VHD made by qemu-img (the other
#                implementation), serial "hvis-vhd-1".
# The guest sees each with the configured size, vendor "Msft", model
# "Virtual Disk" and serial, makes ext4 on it and writes 256 MiB of a
# known pattern into a file, syncs and unmounts. After the guest powered
# off the host checks, for each image: e2fsck finds the file system
# clean, and the file read back out of the image (debugfs) is the pattern
# byte for byte; for the VHD, qemu-img check accepts it and qemu-img
# compare finds it equal to its raw conversion.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
mib=256
size=$((1 << 30))
truncate -s "$size" "$w/raw.img"
qemu-img create -q -f vpc -o subformat=dynamic,force_size=on "$w/dyn.vhd" 1G ||
	hvis_fail "qemu-img cannot create a dynamic VHD"

hvis_vspd_start vm --disk "$w/raw.img,lun=0,serial=hvis-raw-0" \
	--disk "$w/dyn.vhd,controller=1,lun=3,serial=hvis-vhd-1"
hvis_l2_initrd "$w/disk.cpio" "$HVIS_SCENARIOS/l2/storage-guest.sh" \
	"hv_vmbus hv_storvsc"
hvis_run_guest disk 0 --memory 768 --cpus 2 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" \
	--append "console=ttyS0 quiet panic=-1 hvis.disks=2 hvis.mib=$mib"
hvis_vspd_stop vm
grep 'storage-guest:' "$w/disk.log" | sed 's/^/  /'
grep -q 'hvis-l2-result: pass' "$w/disk.log" ||
	hvis_fail "the guest's checks did not pass"

# What the guest saw (H:C:T:L: the SCSI host number is the guest's)
for spec in "0 $size hvis-raw-0" "3 $size hvis-vhd-1"; do
	set -- $spec
	line=$(grep "storage-guest: disk [0-9]*:0:0:$1 .*serial=$3 " "$w/disk.log") ||
		hvis_fail "the guest did not see LUN $1 with serial $3"
	case $line in *" bytes=$2 "*) ;; *) hvis_fail "LUN $1: wrong size: $line" ;; esac
	case $line in *" vendor=Msft model=Virtual_Disk serial=$3 "*) ;;
	*) hvis_fail "LUN $1: wrong identity: $line" ;; esac
done
[ "$(grep -c 'storage-guest: disk .* wrote' "$w/disk.log")" = 2 ] ||
	hvis_fail "the guest did not write both disks"
hosts=$(sed -n 's/.*storage-guest: disk \([0-9]*\):.*bytes=.*/\1/p' "$w/disk.log" | sort -u | wc -l)
[ "$hosts" = 2 ] || hvis_fail "the disks are not on two controllers ($hosts SCSI hosts)"
# two controllers, each with its sub-channel
grep -q 'storage-guest: storvsc channels [4-9]' "$w/disk.log" ||
	hvis_fail "hv_storvsc did not open a sub-channel on each controller"

# The pattern as the guest wrote it
yes hvis-pattern-0123456789abcdef | head -c 1048576 >"$w/chunk"
want=$(i=0; while [ "$i" -lt "$mib" ]; do cat "$w/chunk"; i=$((i + 1)); done |
	md5sum | cut -d' ' -f1)
check_fs() { # IMAGE LABEL
	e2fsck -fn "$1" >"$w/fsck.$2.log" 2>&1 ||
		{ cat "$w/fsck.$2.log"; hvis_fail "$2: e2fsck finds the file system damaged"; }
	got=$(debugfs -R "cat /pattern" "$1" 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] ||
		hvis_fail "$2: the file in the image differs from what the guest wrote ($got, expected $want)"
	echo "  $2: file system clean, $mib MiB pattern intact (md5 $got)"
}
check_fs "$w/raw.img" raw
qemu-img check -f vpc "$w/dyn.vhd" >"$w/qcheck.log" 2>&1 || {
	rc=$?
	cat "$w/qcheck.log"
	# 63: the format has no consistency check (QEMU's vpc driver)
	[ "$rc" = 63 ] || hvis_fail "qemu-img check refuses the VHD (status $rc)"
}
qemu-img convert -f vpc -O raw "$w/dyn.vhd" "$w/dyn.raw" ||
	hvis_fail "qemu-img cannot read the VHD"
qemu-img compare -f vpc -F raw "$w/dyn.vhd" "$w/dyn.raw" >/dev/null ||
	hvis_fail "qemu-img compare: the VHD and its raw conversion differ"
check_fs "$w/dyn.raw" vhd
rm -f "$w/dyn.raw"
echo "  vhd: $(qemu-img info -f vpc "$w/dyn.vhd" | grep -E 'virtual size|disk size' | tr '\n' ' ')"
