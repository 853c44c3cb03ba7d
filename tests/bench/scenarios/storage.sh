#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 900
#
# Benchmark storage: what the layer-2 guest reads from a disk served by
# hvis-vspd's storvsp to the kernel's own hv_storvsc (under hvis-run),
# against QEMU's virtio-blk (-enable-kvm) as the baseline: the same 1 GiB
# raw image file on layer 1's tmpfs (filled, not sparse), the same guest
# kernel and initramfs, 512 MiB and 2 vCPUs, the same layer 1, the same
# run. Inside the guest, tests/tools/hvis-iotest (O_DIRECT, io_uring;
# tests/scenarios/l2/iotest-guest.sh) measures, HVIS_BENCH_RUNS times
# (default 3) in turn, HVIS_BENCH_IO_SECONDS (default 8) each after 1 s
# of ramp:
#   4k random reads, iodepth 32, a job per vCPU (pinned: hv_storvsc's
#     primary channel and its sub-channel; virtio-blk's two queues);
#   128k sequential reads, iodepth 32, one job.
# Medians, printed as
#   bench: storage_4k_randread_iops value=V unit=IOPS baseline=B ratio=V/B
#   bench: storage_128k_seqread_mbps value=V unit=MB/s baseline=B ratio=V/B
# Higher is better. The baseline VMM:
#   qemu-system-x86_64 -M microvm -enable-kvm -cpu host -m 512 -smp 2
#     -drive file=IMG,if=none,id=d0,format=raw,cache=writeback,aio=threads
#     -device virtio-blk-device,drive=d0,num-queues=2 ...
# (cache=writeback: buffered like hvis-vspd's images; tmpfs of the 6.1
# layer-1 kernel has no O_DIRECT for cache=none. aio=threads is QEMU's
# default; virtio-mmio, microvm's transport, with a queue per vCPU like
# storvsc's channel per vCPU.) Run by tests/testhost/run-bench.
set -eu
# shellcheck source=tests/scenarios/lib/scenario.sh
. "$HVIS_SCENARIOS/lib/scenario.sh"
# shellcheck source=tests/scenarios/lib/vsp.sh
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
runs=${HVIS_BENCH_RUNS:-3}
secs=${HVIS_BENCH_IO_SECONDS:-8}
per_boot=$((40 + runs * 2 * (secs + 1) * 3 + 120))
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || hvis_fail "no qemu-system-x86_64 in this test host (run with --bench)"
con=${HVIS_L2_CONSOLE:-/dev/null}
img=$w/bench.img

# 1 GiB of allocated tmpfs pages (a sparse file would read holes)
dd if=/dev/zero of="$img" bs=1M count=1024 2>/dev/null || hvis_fail "cannot write $img"
append="console=ttyS0 quiet panic=-1 hvis.iotest=bench hvis.secs=$secs hvis.runs=$runs"
hvis_l2_initrd "$w/storvsc.cpio" "$HVIS_SCENARIOS/l2/iotest-guest.sh" "hv_vmbus hv_storvsc"
hvis_l2_initrd "$w/virtio.cpio" "$HVIS_SCENARIOS/l2/iotest-guest.sh" "virtio_mmio virtio_blk"

# The service's view of a stalled disk (while the guest still runs).
vspd_state() {
	echo "  host state at $(cut -d' ' -f1 /proc/uptime) s (layer-1 uptime):"
	hvis_ctl status vm 2>&1 | sed 's/^/    /'
	hvis_ctl --json disk vm list 2>&1 | grep -E '"(lun|reads|writes|errors|in_flight|channels_open)"' |
		tr -d ' \n' | sed 's/^/    /'
	echo
}

# vmm NAME CMD...: run a VMM to its end (killed after per_boot s, or 20 s
# after the guest's result line: a guest with a stalled disk does not power
# off), its console in $w/NAME.log (and the layer-2 console port); fails
# unless the guest passed. A stall (hvis-iotest's TIMEOUT) under hvis-run
# is shown with the service's state and log.
vmm() {
	_n=$1
	shift
	echo "--- storage bench under $_n" >"$con" 2>/dev/null || true
	rm -f "$w/$_n.pid"
	# the console to the log and, live, to the layer-2 console port
	(
		"$@" </dev/null 2>"$w/$_n.err" &
		echo $! >"$w/$_n.pid"
		wait $!
	) | tee "$w/$_n.log" >"$con" 2>/dev/null &
	_pipe=$!
	while [ ! -s "$w/$_n.pid" ]; do sleep 0.1; done
	_p=$(cat "$w/$_n.pid")
	# deadlines in layer-1 uptime seconds: a loaded test host runs this
	# loop slower than its sleeps say
	_end=$(($(cut -d. -f1 /proc/uptime) + per_boot))
	_stall=0
	while kill -0 "$_p" 2>/dev/null; do
		_now=$(cut -d. -f1 /proc/uptime)
		if [ "$_now" -ge "$_end" ]; then
			kill -KILL "$_p" 2>/dev/null || true
			break
		fi
		if [ "$_stall" = 0 ] && [ -S "$HVIS_RUN_DIR/vm/control.sock" ] &&
			grep -q 'hvis-iotest: TIMEOUT' "$w/$_n.log"; then
			_stall=1
			vspd_state >"$w/stall.1.txt"
			sleep 2
			vspd_state >"$w/stall.2.txt"
		fi
		if [ "$_end" -gt $((_now + 20)) ] && grep -q 'hvis-l2-result:' "$w/$_n.log"; then
			_end=$((_now + 20))
		fi
		sleep 0.5
	done
	wait "$_pipe" 2>/dev/null || true
	cat "$w/$_n.err" >"$con" 2>/dev/null || true
	grep -E 'iotest-guest' "$w/$_n.log" | sed "s/^/  $_n: /"
	if ! grep -q 'hvis-l2-result: pass' "$w/$_n.log"; then
		cat "$w/stall.1.txt" "$w/stall.2.txt" 2>/dev/null
		[ -f "$HVIS_WORK/vspd.vm.log" ] && sed 's/^/  vspd: /' "$HVIS_WORK/vspd.vm.log"
		tail -n 5 "$w/$_n.err" | sed "s/^/  $_n stderr: /"
		hvis_fail "$_n: the guest did not pass: $(grep -m1 -E 'hvis-l2-result|iotest-guest: .*fail' "$w/$_n.log" || tail -n1 "$w/$_n.err")"
	fi
}

# hv_storvsc + storvsp under hvis-run
hvis_vspd_start vm --disk "$img,lun=0,format=raw"
vmm storvsc "$HVIS_BIN/hvis-run" --kernel "$HVIS_L2_KERNEL" --initrd "$w/storvsc.cpio" \
	--console stdio --memory 512 --cpus 2 --name vm --vsp "$HVIS_RUN_DIR/vm/attach.sock" \
	--append "$append hvis.disk=scsi"
hvis_ctl disk vm list | sed 's/^/  /'
hvis_vspd_stop vm

# virtio-blk under QEMU microvm -enable-kvm
vmm virtio "$qemu" -M microvm -enable-kvm -cpu host -m 512 -smp 2 \
	-nodefaults -no-user-config -nographic -monitor none -no-reboot \
	-serial stdio -kernel "$HVIS_L2_KERNEL" -initrd "$w/virtio.cpio" \
	-drive "file=$img,if=none,id=d0,format=raw,cache=writeback,aio=threads" \
	-device virtio-blk-device,drive=d0,num-queues=2 \
	-append "$append hvis.disk=virtio"

median() {
	tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# samples VMM TEST KEY: the values of KEY= in the guest's result lines
samples() {
	sed -n "s/.*iotest-guest: run [0-9]* $2 .*$3=\([0-9.]*\).*/\1/p" "$w/$1.log" |
		awk '{ printf "%s%s", (NR > 1 ? " " : ""), $0 }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "nan" }'
}

kv=${HVIS_L2_KVER:-$HVIS_KVER}
s_hv=$(samples storvsc randread iops)
s_qm=$(samples virtio randread iops)
[ -n "$s_hv" ] && [ -n "$s_qm" ] || hvis_fail "no randread figures from the guests"
v=$(echo "$s_hv" | median)
b=$(echo "$s_qm" | median)
echo "# storage_4k_randread_iops: 4k random reads, O_DIRECT io_uring iodepth 32, 2 jobs on 2 vCPUs, in-tree hv_storvsc + hvis-vspd storvsp under hvis-run (Debian $kv guest, 1 GiB raw file on layer-1 tmpfs, inside the TCG test host); higher is better; baseline = QEMU virtio-blk (microvm -enable-kvm, 2 queues, cache=writeback), same file, same test host, same run, median of $runs x ${secs} s (samples: $s_hv vs $s_qm)"
echo "bench: storage_4k_randread_iops value=$v unit=IOPS baseline=$b ratio=$(ratio "$v" "$b")"
s_hv=$(samples storvsc seqread mbps)
s_qm=$(samples virtio seqread mbps)
[ -n "$s_hv" ] && [ -n "$s_qm" ] || hvis_fail "no seqread figures from the guests"
v=$(echo "$s_hv" | median)
b=$(echo "$s_qm" | median)
echo "# storage_128k_seqread_mbps: 128k sequential reads (10^6 bytes/s), O_DIRECT io_uring iodepth 32, 1 job, same guests and file; higher is better; baseline = QEMU virtio-blk, same file, same test host, same run, median of $runs x ${secs} s (samples: $s_hv vs $s_qm)"
echo "bench: storage_128k_seqread_mbps value=$v unit=MB/s baseline=$b ratio=$(ratio "$v" "$b")"
