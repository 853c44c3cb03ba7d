#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 check of our own bus driver, run by the guest's /init as
# /scenario; /init loads no module (the in-tree hv_vmbus stays out).
# /lib/modules-extra/hvis_vmbus.ko is loaded with insmod, must connect at
# the expected version and put the five integration components on the
# hvis_vmbus bus; it is unloaded (UNLOAD to the host) and loaded again.
# Parameters from the guest kernel command line:
#   hvis.vmbus=M.m    the version the host offers (default 5.3)
#   hvis.cycles=N     load/unload cycles at that version (default 2)
#   hvis.cap=M.m      then one more load with max_version=M.m, which must
#                     get exactly that version ("none": skip; default 4.0)
#   hvis.host=1       after each load and each unload of the cycles, stop
#                     and let the host look (hvisctl status, heartbeat):
#                     print "hvis-vmbus-guest: host check TAG" (TAG open
#                     or closed) and wait for the console line
#                     "hvis-host-done" (default 0)
#   hvis.coexist=1    while hvis_vmbus is loaded (first cycle), the
#                     in-tree hv_vmbus must fail to load; last, load
#                     hv_vmbus and check that hvis_vmbus refuses to load
#                     beside it (default 0)
ko=/lib/modules-extra/hvis_vmbus.ko
bus=/sys/bus/hvis_vmbus

say() {
	echo "hvis-vmbus-guest: $*"
}

why() {
	say "$*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "hvis.$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}

want=$(arg vmbus 5.3)
cycles=$(arg cycles 2)
cap=$(arg cap 4.0)
coexist=$(arg coexist 0)
host=$(arg host 0)

# The five IC classes (Hyper-V's GUIDs, as sysfs prints them).
ics="57164f39-9115-4e78-ab55-382f3bd5422d heartbeat
0e0b6031-5213-4934-818b-38d90ced39db shutdown
9527e630-d0ae-497b-adce-e80ab0175caf timesync
a9a0f4e7-5a45-4d96-b827-8a841e8c03e6 kvp
35fa2e29-ea23-4236-96ae-3a6ebacba440 vss"

[ -f "$ko" ] || why "no $ko in the image"
built=$(tr '\0' '\n' <"$ko" | sed -n 's/^vermagic=\([^ ]*\).*/\1/p')
[ "$built" = "$(uname -r)" ] ||
	why "hvis_vmbus.ko is built for ${built:-an unknown kernel}, this kernel is $(uname -r)"
grep -q '^hv_vmbus ' /proc/modules && why "hv_vmbus is loaded; the image must not load it"
# only what happens from here on counts for the final look at dmesg
boot_lines=$(dmesg | wc -l)

# check VERSION: the bus, its version, the five IC devices (and the mouse).
check() {
	[ -d $bus/devices ] || why "no $bus after insmod"
	v=$(cat $bus/version)
	say "VMBus version $v"
	[ "$v" = "$1" ] || why "VMBus version '$v', expected $1"
	dmesg | grep -q "hvis_vmbus: connected: VMBus version $1," ||
		why "no 'connected: VMBus version $1' in dmesg"
	# the five ICs and the synthetic mouse hvis-vspd always offers
	n=$(find $bus/devices/ -mindepth 1 -maxdepth 1 | wc -l)
	[ "$n" = 6 ] || why "$n devices on the bus, expected 6"
	grep -l -q 'cfa8b69e-5b4a-4cc0-b98b-8ba1a1f3f95a' $bus/devices/*/class_id ||
		why "no mouse device on the bus"
	echo "$ics" | while read -r class name; do
		found=
		for d in "$bus"/devices/*; do
			[ "$(cat "$d/class_id")" = "$class" ] || continue
			[ -z "$found" ] || why "two $name devices"
			found=$d
		done
		[ -n "$found" ] || why "no $name device (class $class)"
		id=$(basename "$found")
		[ "$(cat "$found/device_id")" = "$id" ] ||
			why "$name: device_id $(cat "$found/device_id") is not its name $id"
		[ "$(cat "$found/state")" = offered ] ||
			why "$name: state $(cat "$found/state")"
		case $(cat "$found/modalias") in
		hvis_vmbus:????????????????????????????????) ;;
		*) why "$name: modalias '$(cat "$found/modalias")'" ;;
		esac
		say "$name $id relid $(cat "$found/relid") $(cat "$found/state") $(cat "$found/modalias")"
	done || exit 1
	bad=$(cat $bus/bad_host_messages)
	[ "$bad" = 0 ] || why "$bad bad host messages"
	check_ics
}

# The IC driver opened the five channels: bound, /dev/hvis/<service>.
opened=0
check_ics() {
	opened=$((opened + 5))
	n=$(dmesg | grep -c ': [a-z]*: channel open, /dev/hvis/')
	[ "$n" = "$opened" ] || why "$n IC channels opened in all, expected $opened"
	for name in heartbeat shutdown timesync kvp vss; do
		[ -c /dev/hvis/$name ] || why "no /dev/hvis/$name"
	done
	for d in "$bus"/devices/*; do
		# the ICs; the mouse has no driver of ours yet
		echo "$ics" | grep -q "^$(cat "$d/class_id") " || continue
		[ "$(basename "$(readlink "$d/driver")")" = hvis_ic ] ||
			why "$(basename "$d") is not bound to hvis_ic"
	done
	say "IC channels open: $(cd /dev/hvis && echo *)"
}

# host_check TAG: the host looks at us (hvis.host=1).
host_check() {
	[ "$host" = 1 ] || return 0
	say "host check $1"
	while read -r line; do
		case $line in *hvis-host-done*) return 0 ;; esac
	done
	why "the console closed while waiting for the host"
}

loads=0
load() {
	insmod "$ko" "$@" || why "insmod hvis_vmbus $* failed: $(dmesg | grep hvis_vmbus | tail -n1)"
	loads=$((loads + 1))
}

unload() {
	rmmod hvis_vmbus || why "rmmod hvis_vmbus failed"
	[ ! -e /dev/hvis/heartbeat ] || why "/dev/hvis/heartbeat is still there after rmmod"
	n=$(dmesg | grep -c ': [a-z]*: channel closed')
	[ "$n" = "$opened" ] || why "$n IC channels closed in all, expected $opened"
	[ ! -e $bus ] || why "$bus is still there after rmmod"
	n=$(dmesg | grep -c 'hvis_vmbus: disconnected: the host acknowledged UNLOAD')
	[ "$n" = "$loads" ] || why "$n UNLOAD acknowledgements for $loads loads"
	say "unloaded ($n UNLOAD acknowledged)"
}

i=0
while [ "$i" -lt "$cycles" ]; do
	i=$((i + 1))
	say "load $i"
	load
	check "$want"
	if [ "$coexist" = 1 ] && [ "$i" = 1 ]; then
		if modprobe hv_vmbus 2>/dev/null; then
			why "hv_vmbus loaded while hvis_vmbus drives VMBus"
		fi
		grep -q '^hv_vmbus ' /proc/modules && why "hv_vmbus stayed loaded beside hvis_vmbus"
		[ "$(cat $bus/version)" = "$want" ] || why "VMBus changed under hvis_vmbus"
		say "hv_vmbus kept out while hvis_vmbus is loaded"
	fi
	# KVP negotiates only once someone (a daemon) opens /dev/hvis/kvp
	[ "$(dmesg | grep -c 'hvis_vmbus: kvp: framework')" = "$((i - 1))" ] ||
		why "KVP negotiated before /dev/hvis/kvp was opened"
	exec 3<>/dev/hvis/kvp || why "cannot open /dev/hvis/kvp"
	t=0
	until [ "$(dmesg | grep -c 'hvis_vmbus: kvp: framework')" = "$i" ]; do
		t=$((t + 1))
		[ "$t" -le 20 ] || why "no KVP negotiation after /dev/hvis/kvp was opened"
		sleep 1
	done
	say "KVP negotiated once /dev/hvis/kvp was open: $(dmesg | grep 'hvis_vmbus: kvp: framework' | tail -n1 | sed 's/.*kvp: //')"
	host_check open
	exec 3>&-
	unload
	host_check closed
done

if [ "$cap" != none ]; then
	say "load with max_version=$cap"
	load max_version="$cap"
	check "$cap"
	unload
fi

if insmod "$ko" max_version=2.3 2>/dev/null; then
	why "insmod with max_version=2.3 succeeded"
fi
dmesg | grep -q 'hvis_vmbus: max_version=2.3' || why "max_version=2.3 refused without a message"
say "max_version=2.3 refused"

if [ "$coexist" = 1 ]; then
	modprobe hv_vmbus || why "the in-tree hv_vmbus did not load after hvis_vmbus left"
	if insmod "$ko" 2>/dev/null; then
		why "hvis_vmbus loaded beside hv_vmbus"
	fi
	dmesg | grep -q 'hvis_vmbus: VMBus is already driven by' ||
		why "hvis_vmbus refused hv_vmbus without saying why"
	say "refused beside hv_vmbus: $(dmesg | sed -n 's/.*hvis_vmbus: \(VMBus is already driven by [^;]*\);.*/\1/p' | tail -n1)"
fi

if dmesg | tail -n +$((boot_lines + 1)) |
	grep -E 'WARNING|BUG|Call Trace|hvis_vmbus: ignored|hvis_vmbus: [a-z]*: ignored'; then
	why "warnings in dmesg"
fi
# the kernel answered the host's heartbeats (dmesg at each close)
hb=$(dmesg | sed -n 's/.*heartbeat: channel closed (\([0-9]*\) heartbeats answered).*/\1/p' |
	awk '{ n += $1 } END { print n + 0 }')
[ "$hb" -gt 0 ] || why "no heartbeat answered"
say "$hb heartbeats answered in the kernel"
say "all checks passed"
