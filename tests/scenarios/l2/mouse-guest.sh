#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 guest for the mouse scenario, run by /init as /scenario after
# it loaded hv_vmbus and hv_utils. It loads hid_hyperv and evdev, finds
# the synthetic mouse's /dev/input/eventN ("mouse-guest: ready ..."),
# records its events, and on the console line "hvis-l2: events" prints
# the events recorded since the last time, one "mouse-guest: ev TYPE CODE
# VALUE" line each (EV_SYN left out), then "mouse-guest: events end".
# The host powers it off through hv_utils.
for a in poweroff reboot; do
	rm -f "/sbin/$a"
	printf '#!/bin/sh\necho "hvis-l2: %s requested by the kernel" >/dev/console\nsync\nexec busybox %s -f\n' \
		"$a" "$a" >"/sbin/$a"
	chmod 755 "/sbin/$a"
done
modprobe evdev || echo "mouse-guest: modprobe evdev failed"
modprobe hid_hyperv || echo "mouse-guest: modprobe hid_hyperv failed"

ev=
i=0
while [ -z "$ev" ]; do
	for e in /sys/class/input/event*; do
		case $(cat "$e/device/name" 2>/dev/null) in
		*Vmbus*Mouse*) ev=/dev/input/$(basename "$e") ;;
		esac
	done
	i=$((i + 1))
	if [ "$i" -gt 60 ]; then
		echo "mouse-guest: no synthetic mouse input device"
		dmesg | grep -i -E 'hid|mouse|input' | tail -n 10 | sed 's/^/mouse-guest: dmesg: /'
		break
	fi
	[ -n "$ev" ] || sleep 0.5
done
if [ -n "$ev" ]; then
	cat "$ev" >/tmp/ev &
	echo "mouse-guest: ready $ev $(cat /sys/class/input/$(basename "$ev")/device/name)"
fi

# struct input_event on x86-64: a 16-byte timeval, u16 type, u16 code,
# s32 value; od prints it as 12 u16 words.
off=0
while :; do
	read -r cmd || { sleep 1; continue; }
	case $cmd in
	"hvis-l2: events")
		sleep 0.5
		size=$(wc -c </tmp/ev)
		od -An -v -tu2 -w24 -j "$off" -N $((size - off)) /tmp/ev |
		while read -r _ _ _ _ _ _ _ _ type code lo hi; do
			[ "$type" = 0 ] && continue
			v=$((lo + hi * 65536))
			[ "$hi" -ge 32768 ] && v=$((v - 4294967296))
			echo "mouse-guest: ev $type $code $v"
		done
		off=$size
		echo "mouse-guest: events end" ;;
	esac
done
