#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 guest for the hvis-net scenario, run by /init as /scenario after
# it loaded hv_vmbus, hv_utils and hv_netvsc. It waits for eth0 (the
# synthetic adapter), prints "net-guest: eth0 mac MAC mtu N carrier C",
# gives it 10.0.0.2/24 and prints "net-guest: ready". Then it serves
# console lines from the host, each answered by "net-guest: ..." lines:
#   hvis-l2: ping ADDR [SIZE]   -> "ping ok|fail ..."
#   hvis-l2: recv PORT          -> "listening PORT", later
#                                  "received BYTES MD5" (busybox nc -l)
#   hvis-l2: send ADDR PORT MIB -> "tx md5 MD5", then "sent RC"
#   hvis-l2: carrier            -> "carrier C"
#   hvis-l2: mtu N              -> "mtu N carrier C" once eth0 is back
#   hvis-l2: stats              -> "stats rx R tx T"
#   hvis-l2: queues             -> "queues rx R tx T" (eth0's queues)
#   hvis-l2: dmesg              -> hv_netvsc's last kernel lines, "dmesg end"
# Every wait has its timeout. The host powers it off through hv_utils.
for a in poweroff reboot; do
	rm -f "/sbin/$a"
	printf '#!/bin/sh\necho "hvis-l2: %s requested by the kernel" >/dev/console\nsync\nexec busybox %s -f\n' \
		"$a" "$a" >"/sbin/$a"
	chmod 755 "/sbin/$a"
done
say() { echo "net-guest: $*"; }
sysf=/sys/class/net/eth0

i=0
until [ -e "$sysf/address" ]; do
	i=$((i + 1))
	if [ "$i" -gt 60 ]; then
		say "no eth0"
		dmesg | grep -i -E 'netvsc|hv_net|vmbus' | tail -n 10 | sed 's/^/net-guest: dmesg: /'
		break
	fi
	sleep 0.5
done
ip link set eth0 up
ip addr add 10.0.0.2/24 dev eth0
sleep 1
say "eth0 mac $(cat $sysf/address) mtu $(cat $sysf/mtu) carrier $(cat $sysf/carrier 2>/dev/null)"
say "ready"

while :; do
	read -r l1 l2 a1 a2 a3 || { sleep 1; continue; }
	[ "$l1" = "hvis-l2:" ] || continue
	case $l2 in
	ping)
		if ping -c 3 -W 3 ${a2:+-s "$a2"} "$a1" >/tmp/ping 2>&1; then
			say "ping ok $(grep -c 'bytes from' /tmp/ping) replies"
		else
			say "ping fail: $(tail -n 2 /tmp/ping | tr '\n' ' ')"
		fi ;;
	recv)
		(
			# busybox nc ends when its stdin does: give it one that never
			# ends (a FIFO opened read-write), so only the peer's FIN ends it
			[ -p /tmp/hold ] || mkfifo /tmp/hold
			timeout 120 nc -l -p "$a1" <>/tmp/hold >/tmp/rx
			say "received $(wc -c </tmp/rx) $(md5sum </tmp/rx | cut -d' ' -f1)"
			rm -f /tmp/rx
		) &
		sleep 0.5
		say "listening $a1" ;;
	send)
		dd if=/dev/urandom of=/tmp/tx bs=1048576 count="$a3" 2>/dev/null
		say "tx md5 $(md5sum </tmp/tx | cut -d' ' -f1)"
		timeout 120 nc "$a1" "$a2" </tmp/tx
		say "sent $?"
		rm -f /tmp/tx ;;
	carrier)
		say "carrier $(cat $sysf/carrier 2>/dev/null)" ;;
	mtu)
		ip link set eth0 mtu "$a1" || say "ip link set mtu $a1 failed"
		i=0
		until [ "$(cat $sysf/carrier 2>/dev/null)" = 1 ] || [ "$i" -gt 40 ]; do
			i=$((i + 1))
			sleep 0.25
		done
		ip link set eth0 up
		ip addr add 10.0.0.2/24 dev eth0 2>/dev/null
		say "mtu $(cat $sysf/mtu) carrier $(cat $sysf/carrier 2>/dev/null)" ;;
	stats)
		say "stats rx $(cat $sysf/statistics/rx_packets) tx $(cat $sysf/statistics/tx_packets)" ;;
	queues)
		say "queues rx $(ls -d $sysf/queues/rx-* | wc -l) tx $(ls -d $sysf/queues/tx-* | wc -l)" ;;
	dmesg)
		dmesg | grep -i -E 'netvsc|hv_net' | tail -n 8 | sed 's/^/net-guest: dmesg: /'
		say "dmesg end" ;;
	esac
done
