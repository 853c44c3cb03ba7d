#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 600
#
# Scenario hvis-storage-fio: fio --verify in a 2-vCPU guest with the
# kernel's hv_storvsc on a raw image: 4 KiB random writes, O_DIRECT, 32
# in flight, one job per vCPU, then every block read back and verified
# (crc32c, fatal); both storvsc channels (the primary and the sub-channel)
# carry I/O; the host's counters (hvisctl disk list) saw it.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
mib=16
truncate -s 256M "$w/fio.img"
hvis_vspd_start vm --disk "$w/fio.img,lun=0"
hvis_l2_initrd "$w/fio.cpio" "$HVIS_SCENARIOS/l2/fio-guest.sh" \
	"hv_vmbus hv_storvsc" "" fio
hvis_guest_start fio --memory 768 --cpus 2 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" \
	--append "console=ttyS0 quiet panic=-1 hvis.mib=$mib"
hvis_guest_wait fio 'hvis-l2-result' 500
hvis_ctl --json disk vm list >"$w/disks.json"
hvis_guest_end fio 0 60
hvis_vspd_stop vm
grep 'fio-guest' "$w/fio.log" | sed 's/^/  /'
grep -q 'hvis-l2-result: pass' "$w/fio.log" || hvis_fail "the guest's checks did not pass"
# 2 jobs x mib MiB of 4 KiB writes, at least
writes=$(sed -n 's/.*"writes": *\([0-9]*\).*/\1/p' "$w/disks.json" | head -n1)
[ "${writes:-0}" -ge $((2 * mib * 256)) ] ||
	hvis_fail "the host counted ${writes:-no} writes, expected at least $((2 * mib * 256))"
echo "  host: ${writes} writes counted"
