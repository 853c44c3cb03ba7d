#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 check, run by the guest's /init as /scenario (no modules loaded
# by /init): set the guest's clock one hour behind, load hv_vmbus and
# hv_utils, and see the time-sync IC correct it when its channel opens.
# The host's clock, as the guest can see it, is the CMOS RTC (host UTC,
# 1 s steps): at an RTC second edge the guest's CLOCK_REALTIME must agree
# with the host to within hvis.tolerance_ms (default 10).
why() {
	echo "timesync-guest: $*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "hvis.$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}

tol=$(arg tolerance_ms 10)
rtc=/sys/class/rtc/rtc0/since_epoch
[ -r "$rtc" ] || why "no CMOS RTC in the guest"

# edge: wait for the RTC's next second; edge_s = that second, edge_ns =
# CLOCK_MONOTONIC right then (builtins only between the two reads).
edge() {
	read -r _s <"$rtc"
	while read -r _n <"$rtc" && [ "$_n" = "$_s" ]; do :; done
	{ read -r _; read -r _; read -r _ _ edge_ns _; } </proc/timer_list
	edge_s=$_n
}

# CLOCK_REALTIME - CLOCK_MONOTONIC in ns (hrtimer base 1's offset).
real_offset() {
	awk '/^ *clock 1:/ { c = 1 } c && /\.offset:/ { print $2; exit }' /proc/timer_list
}

# guest realtime minus host time at an RTC edge, in ms; three edges, the
# smallest (the edge is seen late, never early)
skew_ms() {
	best=
	for _i in 1 2 3; do
		edge
		off=$(real_offset)
		d=$(awk -v m="$edge_ns" -v o="$off" -v s="$edge_s" \
			'BEGIN { printf "%.3f\n", (m + o - s * 1e9) / 1e6 }')
		best=$(awk -v a="$best" -v b="$d" 'BEGIN {
			if (a == "" || (b < 0 ? -b : b) < (a < 0 ? -a : a)) print b; else print a }')
	done
	echo "$best"
}

now=$(cat "$rtc")
date -u -s "@$((now - 3600))" >/dev/null || why "cannot set the clock"
before=$(skew_ms)
echo "timesync-guest: clock set back: $before ms from the host"
awk -v b="$before" 'BEGIN { exit (b < -3599000 && b > -3601000) ? 0 : 1 }' ||
	why "setting the clock back did not take ($before ms)"

modprobe hv_vmbus || why "modprobe hv_vmbus failed"
modprobe hv_utils || why "modprobe hv_utils failed"
# the IC negotiates, then the host sends SYNC: give it a few seconds
i=0
while :; do
	after=$(skew_ms)
	ok=$(awk -v a="$after" -v t="$tol" 'BEGIN { print (a <= t && a >= -t) ? 1 : 0 }')
	[ "$ok" = 1 ] && break
	i=$((i + 1))
	[ "$i" -lt 10 ] || why "clock still $after ms from the host after the time-sync channel opened"
done
echo "timesync-guest: after hv_utils: $after ms from the host (tolerance $tol ms)"
dmesg | grep -i -m3 'hv_utils\|timesync' || true
