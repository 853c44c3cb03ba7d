#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 180
#
# Scenario hvis-run-boot: hvis-run runs the unmodified Debian kernel as a
# Hyper-V guest. One vCPU: the guest boots to init, detects Hyper-V (not KVM),
# runs on the TSC-page clocksource and the direct-mode stimer clockevent,
# and powers off; hvis-run exits 0.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_l2_initrd "$HVIS_WORK/boot.cpio" "$HVIS_SCENARIOS/l2/hyperv-guest.sh"
hvis_run_guest boot 0 --memory 512 --cpus 1\
	--append "console=ttyS0 panic=-1 hvis.cpus=1 hvis.direct=1 hvis.then=poweroff"
grep -q 'hvis-l2-result: pass' "$HVIS_WORK/boot.log" || hvis_fail "the guest's checks did not pass"
