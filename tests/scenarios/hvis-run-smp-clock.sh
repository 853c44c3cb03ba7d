#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 420
#
# Scenario hvis-run-smp-clock: four vCPUs all come online with the Hyper-V
# clocksource and a stimer clockevent each, and the guest's CLOCK_MONOTONIC
# advances at the host's rate within 0.1 %: the guest prints its monotonic
# time once a second for 20 s, each line is stamped with the host's
# monotonic time as it arrives, and the slope of guest over host time
# (least squares over the 21 points) must be within 0.999..1.001.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
hvis_l2_initrd "$w/smp.cpio" "$HVIS_SCENARIOS/l2/hyperv-guest.sh"
{
	rc=0
	"$HVIS_BIN/hvis-run" --kernel "$HVIS_L2_KERNEL" --initrd "$w/smp.cpio" \
		--memory 768 --cpus 4 --console stdio -v \
		--append "console=ttyS0 panic=-1 hvis.cpus=4 hvis.direct=1 hvis.then=clock" \
		</dev/null 2>"$w/smp.err" || rc=$?
	echo "$rc" >"$w/smp.rc"
} | while IFS= read -r line; do
	case $line in
	*hvis-clock*)
		echo "$(awk '/^now at/ { print $3; exit }' /proc/timer_list) $line" ;;
	*)
		printf '%s\n' "$line" ;;
	esac
done >"$w/smp.log"
[ -n "${HVIS_L2_CONSOLE:-}" ] && cat "$w/smp.log" "$w/smp.err" >"$HVIS_L2_CONSOLE" 2>/dev/null
cat "$w/smp.err"
grep -E '^hyperv-guest|hvis-l2' "$w/smp.log"
rc=$(cat "$w/smp.rc")
[ "$rc" = 0 ] || hvis_fail "hvis-run exit status $rc$(grep -m1 -E '^hyperv-guest: |hvis-l2-result: fail' "$w/smp.log" | sed 's/^/: /')"
grep -q 'hvis-l2-result: pass' "$w/smp.log" || hvis_fail "the guest's checks did not pass"

# "<host ns> hvis-clock <n> <guest ns>": least-squares slope guest/host
tr -d '\r' <"$w/smp.log" | awk '
	$2 == "hvis-clock" && NF >= 4 {
		h = $1 / 1e9; g = $4 / 1e9
		if (n == 0) { h0 = h; g0 = g }
		h -= h0; g -= g0
		n++; sh += h; sg += g; shh += h * h; shg += h * g
	}
	END {
		if (n < 15) { print "clock: only " n " samples"; exit 1 }
		slope = (n * shg - sh * sg) / (n * shh - sh * sh)
		printf "clock: %d samples over %.2f s of host time, guest/host rate %.6f\n", n, h, slope
		if (slope < 0.999 || slope > 1.001) exit 1
	}' >"$w/clock.txt" || { cat "$w/clock.txt"; hvis_fail "$(cat "$w/clock.txt")"; }
cat "$w/clock.txt"
