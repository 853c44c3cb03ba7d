#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 420
#
# Scenario hvis-storage-hotplug: disks change while the guest runs, all
# through hvisctl, against the kernel's hv_storvsc:
#   - at boot: LUN 0 a raw image, LUN 1 a read-only raw image; a write to
#     LUN 1 is refused (DATA PROTECT) and the guest sees it read-only;
#   - hot add: a dynamic VHD made by `hvisctl vhd create` is attached at
#     LUN 2 (`hvisctl disk NAME add`); the guest sees it appear with its
#     size and writes and reads back 4 MiB; `hvisctl disk NAME list`
#     counts those writes; the host finds the data in the VHD;
#   - hot remove: `hvisctl disk NAME remove --lun 2`; the guest sees it go;
#   - LUN 0 still works, and the guest powers off through hvisctl shutdown.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
truncate -s 64M "$w/disk0.img"
truncate -s 32M "$w/ro.img"
hvis_vspd_start vm --disk "$w/disk0.img,lun=0" --disk "$w/ro.img,lun=1,ro"
hvis_l2_initrd "$w/hot.cpio" "$HVIS_SCENARIOS/l2/storage-watch-guest.sh" \
	"hv_vmbus hv_utils hv_storvsc"
hvis_guest_start hot --memory 512 --cpus 1 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" --append "console=ttyS0 quiet panic=-1"
hvis_guest_wait hot 'hvis-l2: waiting for the host' 150
hvis_guest_wait hot 'storage-watch: lun 0 appeared .* bytes=67108864 ro=0' 30
hvis_guest_wait hot 'storage-watch: lun 1 appeared .* bytes=33554432 ro=1' 30

# read-only
hvis_guest_type hot "hvis-l2: write 1"
hvis_guest_wait hot 'storage-watch: lun 1 write' 30
grep -q 'storage-watch: lun 1 write refused' "$w/hot.log" ||
	hvis_fail "a write to the read-only disk was accepted"

# hot add a VHD of our own making
"$HVIS_BIN/hvisctl" vhd create "$w/hot.vhd" 256M | sed 's/^/  /'
vsize=$("$HVIS_BIN/hvisctl" --json vhd info "$w/hot.vhd" | sed -n 's/.*"size": *\([0-9]*\).*/\1/p')
[ -n "$vsize" ] || hvis_fail "hvisctl vhd info shows no size"
hvis_ctl disk vm add "$w/hot.vhd" --lun 2 || hvis_fail "hvisctl disk add failed"
hvis_guest_wait hot "storage-watch: lun 2 appeared .* bytes=$vsize ro=0" 60
hvis_guest_type hot "hvis-l2: io 2"
hvis_guest_wait hot 'storage-watch: lun 2 io' 60
grep -q 'storage-watch: lun 2 io ok' "$w/hot.log" || hvis_fail "I/O on the hot-added disk failed"
hvis_ctl disk vm list | tee "$w/disks.txt" | sed 's/^/  /'
hvis_ctl --json disk vm list >"$w/disks.json"
grep -q "hot.vhd" "$w/disks.txt" || hvis_fail "hvisctl disk list does not show the added disk"
# the 4 MiB written at 1 MiB, as the host reads it out of the VHD
qemu-img convert -f vpc -O raw "$w/hot.vhd" "$w/hot.raw" || hvis_fail "qemu-img cannot read the VHD"
want=$(yes hvis-watch-pattern | head -c 4194304 | md5sum | cut -d' ' -f1)
got=$(dd if="$w/hot.raw" bs=1M skip=1 count=4 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$got" = "$want" ] || hvis_fail "the VHD does not hold what the guest wrote"
rm -f "$w/hot.raw"

# hot remove
hvis_ctl disk vm remove --lun 2 || hvis_fail "hvisctl disk remove failed"
hvis_guest_wait hot 'storage-watch: lun 2 gone' 60
hvis_ctl --json disk vm list | grep -q hot.vhd && hvis_fail "the removed disk is still listed"
hvis_guest_type hot "hvis-l2: io 0"
hvis_guest_wait hot 'storage-watch: lun 0 io' 60
grep -q 'storage-watch: lun 0 io ok' "$w/hot.log" || hvis_fail "LUN 0 stopped working"

hvis_ctl shutdown vm >/dev/null || hvis_fail "hvisctl shutdown failed"
hvis_guest_end hot 0 60
hvis_vspd_stop vm
