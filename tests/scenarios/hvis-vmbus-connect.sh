#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 240
#
# Scenario hvis-vmbus-connect: hvis-run attached to hvis-vspd; the
# unmodified kernel's hv_vmbus connects at VMBus 5.3, and the five
# integration components (heartbeat, shutdown, time sync, KVP, VSS) are
# offered, opened and bound to the kernel's hv_utils. The service
# outlives the guest.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_vspd_start vm
hvis_l2_initrd "$HVIS_WORK/connect.cpio" "$HVIS_SCENARIOS/l2/vmbus-guest.sh" \
	"hv_vmbus hv_utils"
hvis_run_guest connect 0 --memory 512 --cpus 2 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" \
	--append "console=ttyS0 panic=-1 hvis.vmbus=5.3"
hvis_vspd_stop vm
grep -q 'hvis-l2-result: pass' "$HVIS_WORK/connect.log" ||
	hvis_fail "the guest's checks did not pass"
grep -q 'partition vm attached' "$HVIS_WORK/vspd.vm.log" ||
	hvis_fail "hvis-vspd never saw the partition"
