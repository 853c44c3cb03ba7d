#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 180
#
# One layer-1 CPU: with two, QEMU's multi-threaded TCG (Debian 12's QEMU
# 7.2) now and then loses a layer-2 vCPU to a triple fault while it
# delivers an interrupt, and QEMU+KVM in the same test host shows it too
# (docs/testing.md, "Test-host artifacts"). A host with hardware KVM runs
# this directly.
#
# Scenario hvis-run-smp: hvis-run runs the unmodified Debian kernel as a
# Hyper-V guest on four vCPUs: all come online, each with the Hyper-V
# stimer clockevent, on the TSC-page clocksource; the guest powers off.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_l2_initrd "$HVIS_WORK/smp.cpio" "$HVIS_SCENARIOS/l2/hyperv-guest.sh"
hvis_run_guest smp 0 --memory 768 --cpus 4 \
	--append "console=ttyS0 panic=-1 hvis.cpus=4 hvis.direct=1 hvis.then=poweroff"
grep -q 'hvis-l2-result: pass' "$HVIS_WORK/smp.log" || hvis_fail "the guest's checks did not pass"
