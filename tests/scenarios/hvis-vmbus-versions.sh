#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 600
#
# Scenario hvis-vmbus-versions: with the host capped (hvis-run
# --vmbus-max-version) to each older VMBus version the kernel's hv_vmbus
# speaks (Linux 6.1 and 6.12: 5.2 down to 2.4, Windows 8), hv_vmbus
# negotiates exactly that version and the ICs bind to hv_utils (VSS only
# from 3.0 on: hv_utils refuses older hosts for backup). Capped
# below (1.1, Windows 7), hv_vmbus finds no common version and refuses to
# load, and the guest runs on. One hvis-vspd serves every boot.
# HVIS_VMBUS_VERSIONS=2.4,1.1 runs only those (for debugging; in the test
# host: HVIS_L1_CMDLINE=hvis.env=HVIS_VMBUS_VERSIONS=2.4,1.1).
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_vspd_start vm
hvis_l2_initrd "$HVIS_WORK/ic.cpio" "$HVIS_SCENARIOS/l2/vmbus-guest.sh" \
	"hv_vmbus hv_utils"
hvis_l2_initrd "$HVIS_WORK/none.cpio" "$HVIS_SCENARIOS/l2/vmbus-guest.sh" ""
versions=$(echo "${HVIS_VMBUS_VERSIONS:-5.2 5.1 5.0 4.1 4.0 3.0 2.4 1.1}" | tr , " ")
n=0
for v in $versions; do
	n=$((n + 1))
	want=$v
	img=ic
	if [ "$v" = 1.1 ]; then
		want=none
		img=none
	fi
	cp "$HVIS_WORK/$img.cpio" "$HVIS_WORK/v$v.cpio"
	hvis_run_guest "v$v" 0 --memory 384 --cpus 1 --name vm \
		--vsp "$HVIS_RUN_DIR/vm/attach.sock" --vmbus-max-version "$v" \
		--append "console=ttyS0 quiet panic=-1 hvis.vmbus=$want"
	grep -q 'hvis-l2-result: pass' "$HVIS_WORK/v$v.log" ||
		hvis_fail "capped to $v: the guest's checks did not pass"
	echo "capped to $v: pass"
done
hvis_vspd_stop vm
[ "$(grep -c 'partition vm attached' "$HVIS_WORK/vspd.vm.log")" = "$n" ] ||
	hvis_fail "hvis-vspd did not see $n partitions attach"
