#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 360
#
# Scenario hvis-storage-verify: data integrity of storvsp under a
# concurrent random workload from the kernel's hv_storvsc on two vCPUs,
# with its sub-channel in use (the fio --verify check of the storage
# acceptance, with our own static tester, tests/tools/hvis-iotest.c):
#   LUN 0  a 512 MiB raw image on the test host's tmpfs;
#   LUN 1  a 512 MiB dynamic VHD made by `hvisctl vhd create` (so blocks
#          are allocated while other commands are in flight).
# The guest (tests/scenarios/l2/iotest-guest.sh) runs `hvis-iotest verify`
# on both disks at once, each with a job per vCPU (pinned), 4k blocks,
# O_DIRECT, io_uring at iodepth 32, a random mix of writes and reads in
# which every read checks the block's last generation, then a pass that
# reads back every block written. Checks: both runs pass; hv_storvsc has
# two channels open (primary + sub-channel) and each took interrupts
# during the run; `hvisctl --json disk vm list` counted at least the
# reads and writes the guest made (bytes), with no failed I/O (io_errors;
# "errors" also counts probes the target refuses, such as 6.12's MODE
# SENSE of pages it does not have).
# HVIS_VERIFY_SECONDS (default 15) sets the random phase's length (in the
# test host: HVIS_L1_CMDLINE=hvis.env=HVIS_VERIFY_SECONDS=N).
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
secs=${HVIS_VERIFY_SECONDS:-15}
truncate -s 512M "$w/raw.img"
"$HVIS_BIN/hvisctl" vhd create "$w/dyn.vhd" 512M >"$w/vhd.txt" 2>&1 ||
	hvis_fail "hvisctl vhd create failed: $(tail -n1 "$w/vhd.txt")"
sed 's/^/  /' "$w/vhd.txt"

hvis_vspd_start vm --disk "$w/raw.img,lun=0,serial=hvis-verify-raw" \
	--disk "$w/dyn.vhd,lun=1,serial=hvis-verify-vhd"
hvis_l2_initrd "$w/verify.cpio" "$HVIS_SCENARIOS/l2/iotest-guest.sh" \
	"hv_vmbus hv_storvsc"
hvis_guest_start verify --memory 512 --cpus 2 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" \
	--append "console=ttyS0 quiet panic=-1 hvis.iotest=verify hvis.disks=2 hvis.secs=$secs"
# boot, the random phase, the final pass: the guest's own limit is
# 4 x secs + 180 s
hvis_guest_wait verify 'hvis-l2-result:' $((secs * 4 + 240))
if ! grep -q 'hvis-l2-result: pass' "$w/verify.log"; then
	# a stalled disk keeps the guest from powering off: the service's
	# view of it first, then the guest's own report
	echo "  host state after the guest's failure:"
	hvis_ctl status vm 2>&1 | sed 's/^/    /'
	hvis_ctl --json disk vm list 2>&1 |
		grep -E '"(lun|reads|writes|errors|in_flight|channels_open)"' | tr -d ' \n' | sed 's/^/    /'
	echo
	kill "$(hvis_guest_vmm_pid verify)" 2>/dev/null
	sleep 1
	hvis_guest_show verify >/dev/null
	grep -E 'iotest-guest|hvis-iotest' "$w/verify.log" | sed 's/^/  /'
	sed 's/^/  vspd: /' "$HVIS_WORK/vspd.vm.log"
	hvis_fail "the guest's checks did not pass: $(sed -n 's/.*hvis-l2-result: fail (\(.*\))[^)]*$/\1/p' "$w/verify.log" | head -n1)"
fi
hvis_guest_end verify 0 60
# the disks stay with the service after the guest powered off
hvis_ctl --json disk vm list >"$w/disks.json" 2>&1 || {
	cat "$w/disks.json"
	hvis_fail "hvisctl disk vm list failed"
}
hvis_ctl disk vm list | sed 's/^/  /'
hvis_vspd_stop vm
grep -E 'iotest-guest: (lun [0-9]+ (sd[a-z]+ result|is)|storvsc|channel|dmesg)|MISMATCH|ERROR|TIMEOUT|expected|found|payload' \
	"$w/verify.log" | sed 's/^/  /'

nchan=$(sed -n 's/.*iotest-guest: storvsc channels \([0-9]*\).*/\1/p' "$w/verify.log" | head -n1)
[ "${nchan:-0}" -ge 2 ] || hvis_fail "hv_storvsc has ${nchan:-no} channel(s) open, expected a sub-channel too"

# Per LUN from the JSON (pretty-printed by hvisctl): "LUN reads writes
# bytes_read bytes_written io_errors".
awk '
	/"lun":/ { gsub(/[^0-9]/, "", $2); lun = $2 }
	/"(reads|writes|bytes_read|bytes_written|io_errors)":/ {
		k = $1; gsub(/[":]/, "", k); v = $2; gsub(/[^0-9]/, "", v); s[lun, k] = v; seen[lun] = 1
	}
	END { for (l in seen) print l, s[l, "reads"], s[l, "writes"], s[l, "bytes_read"], s[l, "bytes_written"], s[l, "io_errors"] }
' "$w/disks.json" | sort -n >"$w/host.stats"
for lun in 0 1; do
	line=$(grep "iotest-guest: lun $lun sd[a-z]* result: " "$w/verify.log") ||
		hvis_fail "no verify result for LUN $lun"
	case $line in *": ok (exit status 0)"*) ;; *) hvis_fail "LUN $lun: $line" ;; esac
	g_rb=$(echo "$line" | sed -n 's/.* read_bytes=\([0-9]*\).*/\1/p')
	g_wb=$(echo "$line" | sed -n 's/.* written_bytes=\([0-9]*\).*/\1/p')
	h=$(grep "^$lun " "$w/host.stats") || hvis_fail "hvisctl lists no LUN $lun"
	set -- $h
	echo "  lun $lun: guest read $g_rb written $g_wb bytes; host counted reads=$2 writes=$3 bytes_read=$4 bytes_written=$5 io_errors=$6"
	[ "$2" -gt 0 ] && [ "$3" -gt 0 ] || hvis_fail "LUN $lun: the host counted reads=$2 writes=$3"
	[ "$4" -ge "$g_rb" ] || hvis_fail "LUN $lun: the host read $4 bytes, the guest $g_rb"
	[ "$5" -ge "$g_wb" ] || hvis_fail "LUN $lun: the host wrote $5 bytes, the guest $g_wb"
	[ "$6" = 0 ] || hvis_fail "LUN $lun: the host counted $6 failed I/Os"
done
