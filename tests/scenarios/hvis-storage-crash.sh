#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 360
#
# Scenario hvis-storage-crash: hvis-vspd is killed with SIGKILL in the
# middle of a write workload on a dynamic VHD (made by `hvisctl vhd
# create`), while the kernel's hv_storvsc writes 64 KiB blocks one after
# the other, each followed by a flush (fsync of the block device:
# SYNCHRONIZE CACHE), into blocks that are not yet allocated. After the
# kill: the VHD opens cleanly (hvisctl vhd info, qemu-img check and
# convert), and every block whose flush the guest saw complete is in the
# image with its content. Then a new hvis-vspd serves the same image to
# a new guest, which writes and reads back 4 MiB on it.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
"$HVIS_BIN/hvisctl" vhd create "$w/crash.vhd" 1G --block-size 64K | sed 's/^/  /'
hvis_vspd_start vm --disk "$w/crash.vhd,lun=0"
hvis_l2_initrd "$w/crash.cpio" "$HVIS_SCENARIOS/l2/storage-watch-guest.sh" \
	"hv_vmbus hv_utils hv_storvsc"
hvis_guest_start crash --memory 512 --cpus 1 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" --append "console=ttyS0 quiet panic=-1"
hvis_guest_wait crash 'storage-watch: lun 0 appeared' 150
hvis_guest_type crash "hvis-l2: durable 0"
# (lines come in order: the first one to match is "durable 40" itself)
hvis_guest_wait crash 'storage-watch: durable 40' 120
kill -KILL "$(cat "$w/vspd.vm.pid")"
wait "$(cat "$w/vspd.vm.pid")" 2>/dev/null || true
# completions already sent reach the console in a moment
sleep 3
last=$(tr -d '\r' <"$w/crash.log" |
	sed -n 's/.*storage-watch: durable \([0-9][0-9]*\)$/\1/p' | tail -n1)
[ -n "$last" ] || hvis_fail "no flushed block reported"
echo "  hvis-vspd killed; the guest saw $last flushed blocks"
kill "$(hvis_guest_vmm_pid crash)" 2>/dev/null || true
_i=0
while [ ! -f "$w/crash.rc" ] && [ "$_i" -lt 50 ]; do sleep 0.2; _i=$((_i + 1)); done

"$HVIS_BIN/hvisctl" vhd info "$w/crash.vhd" | sed 's/^/  /' ||
	hvis_fail "our VHD reader refuses the image after the kill"
rc=0
qemu-img check -f vpc "$w/crash.vhd" >"$w/qcheck.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 63 ] || { cat "$w/qcheck.log"; hvis_fail "qemu-img check: status $rc"; }
qemu-img convert -f vpc -O raw "$w/crash.vhd" "$w/crash.raw" ||
	hvis_fail "qemu-img cannot read the image after the kill"
i=1
while [ "$i" -le "$last" ]; do
	got=$(dd if="$w/crash.raw" bs=64k skip="$i" count=1 2>/dev/null | head -n1)
	[ "$got" = "hvis-durable-$i" ] ||
		hvis_fail "flushed block $i is missing after the kill (found '$got')"
	i=$((i + 1))
done
rm -f "$w/crash.raw"
echo "  all $last flushed blocks are in the image"

# the image serves again
mv "$w/vspd.vm.log" "$w/vspd.vm.killed.log"
hvis_vspd_start vm --disk "$w/crash.vhd,lun=0"
cp "$w/crash.cpio" "$w/again.cpio"
hvis_guest_start again --memory 512 --cpus 1 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" --append "console=ttyS0 quiet panic=-1"
hvis_guest_wait again 'storage-watch: lun 0 appeared' 150
hvis_guest_type again "hvis-l2: io 0"
hvis_guest_wait again 'storage-watch: lun 0 io' 60
grep -q 'storage-watch: lun 0 io ok' "$w/again.log" || hvis_fail "I/O on the image after the kill failed"
hvis_ctl shutdown vm >/dev/null || hvis_fail "hvisctl shutdown failed"
hvis_guest_end again 0 60
hvis_vspd_stop vm
