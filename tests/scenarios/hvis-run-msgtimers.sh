#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 180
#
# Scenario hvis-run-msgtimers: hvis-run runs the unmodified Debian kernel as a
# Hyper-V guest. An older host without direct-mode synthetic timers
# (--no-stimer-direct): the guest still boots on two vCPUs and powers off.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_l2_initrd "$HVIS_WORK/msgtimers.cpio" "$HVIS_SCENARIOS/l2/hyperv-guest.sh"
hvis_run_guest msgtimers 0 --memory 512 --cpus 2 --no-stimer-direct \
	--append "console=ttyS0 panic=-1 hvis.cpus=2 hvis.direct=0 hvis.then=poweroff"
grep -q 'hvis-l2-result: pass' "$HVIS_WORK/msgtimers.log" || hvis_fail "the guest's checks did not pass"
