#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 check, run by the guest's /init as /scenario (no modules loaded
# by /init): set the guest's clock one hour behind, load hv_vmbus and
# hv_utils, and see the time-sync IC correct it when its channel opens.
# The host's clock, as the guest can see it, is the CMOS RTC (host UTC,
# 1 s steps): at RTC second edges the guest's CLOCK_REALTIME must agree
# with the host to within hvis.tolerance_ms (default 10). One RTC read
# takes ~5 ms in the nested test host, which bounds the precision: see
# skew_ms.
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
# CLOCK_MONOTONIC right then (builtins only between the two reads);
# poll_ns = how long one RTC read took while waiting (the edge is seen up
# to that late).
edge() {
	read -r _s <"$rtc"
	{ read -r _; read -r _; read -r _ _ _t0 _; } </proc/timer_list
	_k=0
	while read -r _n <"$rtc" && [ "$_n" = "$_s" ]; do _k=$((_k + 1)); done
	{ read -r _; read -r _; read -r _ _ edge_ns _; } </proc/timer_list
	edge_s=$_n
	poll_ns=$(((edge_ns - _t0) / (_k + 1)))
}

# CLOCK_REALTIME - CLOCK_MONOTONIC in ns (hrtimer base 1's offset).
real_offset() {
	awk '/^ *clock 1:/ { c = 1 } c && /\.offset:/ { print $2; exit }' /proc/timer_list
}

# skew_ms: guest realtime minus host time in ms, from five RTC edges.
# An edge is seen late, by up to about two RTC reads (the read that saw
# the new second started up to one read after the host's second began,
# and its result comes back one read later): the edge with the smallest
# reading is the best, true skew = reading - lag with lag in [0, 2 * read],
# estimated as reading - read. Sets best (the reading) and read_ms.
skew_ms() {
	best=
	for _i in 1 2 3 4 5; do
		edge
		off=$(real_offset)
		d=$(awk -v m="$edge_ns" -v o="$off" -v s="$edge_s" \
			'BEGIN { printf "%.3f\n", (m + o - s * 1e9) / 1e6 }')
		echo "timesync-guest: edge: $d ms (one RTC read: $((poll_ns / 1000)) us)" >&2
		if [ -z "$best" ] || awk -v a="$d" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$d
			read_ms=$(awk -v p="$poll_ns" 'BEGIN { printf "%.3f\n", p / 1e6 }')
		fi
	done
}

now=$(cat "$rtc")
date -u -s "@$((now - 3600))" >/dev/null || why "cannot set the clock"
skew_ms
echo "timesync-guest: clock set back: $best ms from the host"
awk -v b="$best" 'BEGIN { exit (b < -3599000 && b > -3601000) ? 0 : 1 }' ||
	why "setting the clock back did not take ($best ms)"

modprobe hv_vmbus || why "modprobe hv_vmbus failed"
modprobe hv_utils || why "modprobe hv_utils failed"
# the IC negotiates, then the host sends SYNC: give it a few tries
i=0
while :; do
	skew_ms
	est=$(awk -v b="$best" -v r="$read_ms" 'BEGIN { printf "%.3f\n", b - r }')
	ok=$(awk -v e="$est" -v t="$tol" 'BEGIN { print (e <= t && e >= -t) ? 1 : 0 }')
	[ "$ok" = 1 ] && break
	i=$((i + 1))
	[ "$i" -lt 6 ] || why "clock still about $est ms from the host after the time-sync channel opened"
done
echo "timesync-guest: after hv_utils: $est ms from the host (best edge $best ms, one RTC read $read_ms ms; tolerance $tol ms)"
dmesg | grep -i -m3 'hv_utils\|timesync' || true
