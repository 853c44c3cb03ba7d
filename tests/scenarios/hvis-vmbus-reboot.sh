#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 300
#
# Scenario hvis-vmbus-reboot: `hvisctl start vm.json` runs hvis-vspd and
# hvis-run in one command; `hvisctl reboot` reboots the guest through
# hv_utils and its /sbin/reboot, hvis-run ends with status 3 and hvisctl
# starts it again, the VSP service attaches the new partition and the
# guest comes back; `hvisctl shutdown` then powers it off and hvisctl
# start exits 0, stopping the service.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
hvis_l2_initrd "$w/rb.cpio" "$HVIS_SCENARIOS/l2/ic-guest.sh" "hv_vmbus hv_utils"
cat >"$w/vm.json" <<JSON
{
	"name": "vm",
	"kernel": "$HVIS_L2_KERNEL",
	"initrd": "$w/rb.cpio",
	"cmdline": "console=ttyS0 quiet panic=-1",
	"memory_mib": 384,
	"cpus": 1,
	"console": "stdio"
}
JSON
mkdir -p "$HVIS_RUN_DIR"
rm -f "$w/rb.in" "$w/rb.rc"
mkfifo "$w/rb.in"
: >"$w/rb.log"
(
	exec 9<>"$w/rb.in"
	_rc=0
	"$HVIS_BIN/hvisctl" --run-dir "$HVIS_RUN_DIR" start "$w/vm.json" \
		<"$w/rb.in" >"$w/rb.log" 2>"$w/rb.err" || _rc=$?
	echo "$_rc" >"$w/rb.rc"
) &

hvis_guest_wait rb 'hvis-l2: waiting for the host' 150
hvis_ctl status vm
hvis_ctl reboot vm || hvis_fail "hvisctl reboot failed"
hvis_guest_wait rb 'hvis-l2: reboot requested by the kernel' 60
hvis_guest_wait rb 'hvis-l2: waiting for the host' 150 2
hvis_ctl status vm | tee "$w/status2.txt"
hvis_ctl shutdown vm || hvis_fail "hvisctl shutdown after the reboot failed"
hvis_guest_end rb 0 60
grep -q 'hvis-l2: poweroff requested by the kernel' "$w/rb.log" ||
	hvis_fail "the guest did not power off through /sbin/poweroff"
[ ! -S "$HVIS_RUN_DIR/vm/control.sock" ] ||
	hvis_fail "hvisctl start left hvis-vspd running"
