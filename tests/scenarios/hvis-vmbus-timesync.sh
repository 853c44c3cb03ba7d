#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 240
#
# Scenario hvis-vmbus-timesync: a guest whose clock is one hour behind the
# host's is corrected by the time-sync integration component when the
# kernel's hv_utils opens its channel, to within 10 ms of the host (seen
# at CMOS RTC second edges, the host's clock in the guest).
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_vspd_start vm
hvis_l2_initrd "$HVIS_WORK/ts.cpio" "$HVIS_SCENARIOS/l2/timesync-guest.sh" ""
hvis_run_guest ts 0 --memory 384 --cpus 1 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" \
	--append "console=ttyS0 quiet panic=-1 hvis.tolerance_ms=10"
hvis_vspd_stop vm
grep -q 'hvis-l2-result: pass' "$HVIS_WORK/ts.log" ||
	hvis_fail "the guest's checks did not pass"
