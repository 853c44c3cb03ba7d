#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 check, run by the guest's /init as /scenario: the unmodified
# kernel sees Hyper-V (and not KVM) with our enlightenments. Parameters
# come from the guest kernel command line:
#   hvis.cpus=N       CPUs that must be online
#   hvis.direct=1|0   direct-mode synthetic timers offered (clockevents)
#   hvis.then=ACTION  after the checks: poweroff (default: /init does it),
#                     reboot, crash (sysrq c), clock (rate against the
#                     host's clock over 20 s, through the CMOS RTC)
why() {
	echo "hyperv-guest: $*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "hvis.$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}

mono_ns() {
	awk '/^now at/ { print $3; exit }' /proc/timer_list
}

cpus=$(arg cpus 1)
direct=$(arg direct 1)
then=$(arg then poweroff)

dmesg >/tmp/dmesg
grep -q 'Hypervisor detected: Microsoft Hyper-V' /tmp/dmesg ||
	why "Hyper-V not detected"
grep -q 'Hypervisor detected: KVM' /tmp/dmesg && why "the guest detected KVM"
grep -m1 'Hyper-V: privilege flags' /tmp/dmesg
grep -m1 'Hyper-V: Host Build' /tmp/dmesg

online=$(grep -c '^processor' /proc/cpuinfo)
echo "hyperv-guest: $online CPUs online ($(cat /sys/devices/system/cpu/online))"
[ "$online" = "$cpus" ] || why "$online CPUs online, expected $cpus"

cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
echo "hyperv-guest: clocksource $cs"
[ "$cs" = hyperv_clocksource_tsc_page ] || why "clocksource is $cs"

i=0
while [ "$i" -lt "$cpus" ]; do
	ce=$(cat "/sys/devices/system/clockevents/clockevent$i/current_device")
	echo "hyperv-guest: CPU $i clockevent $ce"
	if [ "$direct" = 1 ] && [ "$ce" != "Hyper-V clockevent" ]; then
		why "CPU $i clockevent is $ce, not the Hyper-V stimer"
	fi
	i=$((i + 1))
done

case $then in
poweroff) ;;
reboot)
	echo "hyperv-guest: rebooting"
	reboot -f ;;
crash)
	echo "hyperv-guest: crashing through sysrq"
	echo 1 >/proc/sys/kernel/sysrq
	echo c >/proc/sysrq-trigger ;;
clock)
	# The host's clock, as the guest can see it: the CMOS RTC (host time,
	# 1 s steps). Catch two of its second edges 20 s apart and compare
	# the guest's CLOCK_MONOTONIC over the same span.
	rtc=/sys/class/rtc/rtc0/since_epoch
	[ -r "$rtc" ] || why "no CMOS RTC in the guest"
	# shell builtins only between the edge and the clock read: a fork
	# here costs tens of milliseconds in a nested guest
	edge() {
		read -r _s <"$rtc"
		while read -r _n <"$rtc" && [ "$_n" = "$_s" ]; do :; done
		{ read -r _; read -r _; read -r _ _ edge_ns _; } </proc/timer_list
		edge_s=$_n
	}
	edge
	g0=$edge_ns h0=$edge_s
	sleep 19
	edge
	g1=$edge_ns h1=$edge_s
	awk -v g0="$g0" -v g1="$g1" -v h0="$h0" -v h1="$h1" 'BEGIN {
		g = (g1 - g0) / 1e9; h = h1 - h0; r = g / h
		printf "hyperv-guest: clock: guest %.4f s over %d s of host time, rate %.6f\n", g, h, r
		exit (r < 0.999 || r > 1.001) ? 1 : 0
	}' || why "guest clock rate off by more than 0.1 %" ;;
*) why "unknown hvis.then=$then" ;;
esac
exit 0
