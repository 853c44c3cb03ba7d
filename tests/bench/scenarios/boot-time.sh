#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 900
#
# Benchmark boot-time: wall time from starting the VMM process to the
# layer-2 guest's init marker ("hvis-l2: init reached", the first line
# tests/testhost/init-l2 prints) under hvis-run and, as the baseline, under
# QEMU microvm with -enable-kvm: same kernel ($HVIS_L2_KERNEL), same
# initramfs (the layer-2 image with nothing to load and nothing to run:
# the init prints the marker and powers off), same memory and vCPU count,
# same kernel command line, same layer 1, same run, alternating.
# HVIS_BENCH_RUNS (default 3) boots each; the medians are printed as
#   bench: boot_to_init_hvis_run value=S unit=s baseline=Q ratio=S/Q
#   bench: boot_to_init_qemu_microvm value=Q unit=s
# Lower is better. Each boot's console is kept in $HVIS_WORK and sent to
# the layer-2 console port. Run by tests/testhost/run-bench (make bench).
set -eu
# shellcheck source=tests/scenarios/lib/scenario.sh
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

runs=${HVIS_BENCH_RUNS:-3}
per_boot=${HVIS_BENCH_BOOT_TIMEOUT:-180}
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || hvis_fail "no qemu-system-x86_64 in this test host (run with --bench)"
marker="hvis-l2: init reached"
append="console=ttyS0 panic=-1 quiet"
con=${HVIS_L2_CONSOLE:-/dev/null}

# A guest /scenario that does nothing: init prints the marker, loads no
# modules and powers off.
printf '#!/bin/sh\nexit 0\n' >"$HVIS_WORK/noop.sh"
hvis_l2_initrd "$HVIS_WORK/bench.cpio" "$HVIS_WORK/noop.sh" ""

# Nanoseconds of CLOCK_MONOTONIC ("now at N nsecs" in /proc/timer_list;
# busybox date has no %N).
now_ns() {
	sed -n 's/^now at \([0-9]*\) nsecs.*/\1/p;/^now at/q' /proc/timer_list
}

# boot VMM N: start the VMM (its command in "$@" after shifting), time to
# the marker on its console; prints seconds (3 decimals) or fails.
boot() {
	_vmm=$1
	_n=$2
	shift 2
	_log=$HVIS_WORK/$_vmm.$_n.log
	rm -f "$HVIS_WORK/t_marker" "$HVIS_WORK/vmm.pid"
	echo "--- bench boot $_n under $_vmm" >"$con" 2>/dev/null || true
	_t0=$(now_ns)
	{
		"$@" </dev/null 2>"$HVIS_WORK/$_vmm.$_n.err" &
		echo $! >"$HVIS_WORK/vmm.pid"
		wait $!
	} | tee "$_log" | {
		# grep stops at the marker (stamped at once); cat drains the rest
		if grep -m1 -q "$marker"; then
			now_ns >"$HVIS_WORK/t_marker"
		fi
		cat >/dev/null
	} &
	_pipe=$!
	# the whole boot (and power-off) within per_boot seconds
	_i=0
	while kill -0 "$_pipe" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt $((per_boot * 5)) ]; then
			kill -KILL "$(cat "$HVIS_WORK/vmm.pid" 2>/dev/null)" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	wait "$_pipe" 2>/dev/null || true
	cat "$_log" "$HVIS_WORK/$_vmm.$_n.err" >"$con" 2>/dev/null || true
	[ -s "$HVIS_WORK/t_marker" ] ||
		hvis_fail "$_vmm boot $_n: no '$marker' within $per_boot s ($(tail -n1 "$HVIS_WORK/$_vmm.$_n.err" 2>/dev/null))"
	awk -v a="$_t0" -v b="$(cat "$HVIS_WORK/t_marker")" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

median() {
	tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

hv=
qm=
i=1
while [ "$i" -le "$runs" ]; do
	t=$(boot hvis-run "$i" "$HVIS_BIN/hvis-run" --kernel "$HVIS_L2_KERNEL" \
		--initrd "$HVIS_WORK/bench.cpio" --console stdio --memory 512 --cpus 1 \
		--append "$append") || exit 1
	echo "boot $i: hvis-run $t s"
	hv="$hv $t"
	t=$(boot qemu "$i" "$qemu" -M microvm -enable-kvm -cpu host -m 512 -smp 1 \
		-nodefaults -no-user-config -nographic -monitor none -no-reboot \
		-serial stdio -kernel "$HVIS_L2_KERNEL" -initrd "$HVIS_WORK/bench.cpio" \
		-append "$append") || exit 1
	echo "boot $i: qemu microvm $t s"
	qm="$qm $t"
	i=$((i + 1))
done

hv_med=$(echo "$hv" | median)
qm_med=$(echo "$qm" | median)
ratio=$(awk -v a="$hv_med" -v b="$qm_med" 'BEGIN { printf "%.3f\n", a / b }')
kv=${HVIS_L2_KVER:-$HVIS_KVER}
echo "# boot_to_init_hvis_run: hvis-run process start to the guest init's first line (Debian $kv bzImage, busybox initramfs, 512 MiB, 1 vCPU, inside the TCG test host); lower is better; baseline = QEMU microvm -enable-kvm, same kernel/initramfs, same test host, same run, median of $runs (samples:$hv s vs$qm s)"
echo "bench: boot_to_init_hvis_run value=$hv_med unit=s baseline=$qm_med ratio=$ratio"
echo "# boot_to_init_qemu_microvm: the baseline itself, QEMU microvm -enable-kvm process start to the same marker, median of $runs; lower is better"
echo "bench: boot_to_init_qemu_microvm value=$qm_med unit=s"
