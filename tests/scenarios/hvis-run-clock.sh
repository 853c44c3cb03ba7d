#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 180
#
# Scenario hvis-run-clock: the guest's CLOCK_MONOTONIC advances at the
# host's rate within 0.1 % over 20 s. The guest measures it against the
# host's own clock, which it reads through the CMOS RTC (hvis-run answers
# with the host's time): from one second edge to another 20 s later.
#
# The test host runs with one CPU here: with two, QEMU's TCG gives layer 1
# unsynchronised TSCs and its KVM then re-bases guest TSCs on every vCPU
# load, which no hypervisor could hide from a guest clock.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_l2_initrd "$HVIS_WORK/clock.cpio" "$HVIS_SCENARIOS/l2/hyperv-guest.sh"
hvis_run_guest clock 0 --memory 512 --cpus 1 -v \
	--append "console=ttyS0 panic=-1 hvis.cpus=1 hvis.direct=1 hvis.then=clock"
grep -q 'hvis-l2-result: pass' "$HVIS_WORK/clock.log" || hvis_fail "the guest's checks did not pass"
