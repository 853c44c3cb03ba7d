#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 180
#
# Scenario hvis-run-reboot: hvis-run runs the unmodified Debian kernel as a
# Hyper-V guest. The guest reboots: hvis-run ends with the reboot status (3).
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

hvis_l2_initrd "$HVIS_WORK/reboot.cpio" "$HVIS_SCENARIOS/l2/hyperv-guest.sh"
hvis_run_guest reboot 3 --memory 512 --cpus 1\
	--append "console=ttyS0 panic=-1 hvis.cpus=1 hvis.direct=1 hvis.then=reboot"
grep -q 'hyperv-guest: rebooting' "$HVIS_WORK/reboot.log" || hvis_fail "the guest never got to its reboot"
