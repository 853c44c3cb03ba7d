#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 180
#
# Scenario hvis-run-crash: hvis-run runs the unmodified Debian kernel as a
# Hyper-V guest. A guest panic (sysrq c) is reported through the crash MSRs:
# hvis-run prints the parameters and ends with the crash status (4).
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_l2_initrd "$HVIS_WORK/crash.cpio" "$HVIS_SCENARIOS/l2/hyperv-guest.sh"
hvis_run_guest crash 4 --memory 512 --cpus 1\
	--append "console=ttyS0 panic=-1 hvis.cpus=1 hvis.direct=1 hvis.then=crash"
grep -q 'guest crash reported by vCPU' "$HVIS_WORK/crash.err" || hvis_fail "no crash report from hvis-run"
grep -q 'sysrq triggered crash' "$HVIS_WORK/crash.log" || hvis_fail "the guest did not panic through sysrq"
