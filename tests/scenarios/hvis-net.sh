#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 420
#
# Scenario hvis-net: the synthetic network adapter (netvsp) served by
# hvis-vspd on a TAP device to the kernel's hv_netvsc. hvis-vspd opens
# tap0 (the VM's "nics" in its JSON file, with a fixed MAC); layer 1
# bridges tap0 (br0) with one end of a veth pair whose other end, in the
# network namespace "peer", is 10.0.0.1/24: the peer (the external
# recipe of docs/network.md). The guest's eth0 gets 10.0.0.2/24. Checked:
#   - eth0 appears with the configured MAC, carrier up;
#   - the guest pings the peer;
#   - TCP (busybox nc) host -> guest and guest -> host, $mib MiB each,
#     arrive with the sender's size and md5;
#   - hvisctl link vm down: the guest's carrier goes 0; up: 1, and ping
#     works again;
#   - MTU 9000 on both ends (the guest's change re-runs the whole NVSP
#     handshake): 8000-byte pings, and both transfers again (frames
#     larger than a send section travel as GPA-direct pages);
#   - the counters in hvisctl link / status, and no guest packet refused.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
mib=${HVIS_NET_MIB:-8}
mac=00:15:5d:12:34:56
g=net

IP=/usr/bin/ip		# iproute2's (busybox's cannot do netns, veth, bridges)
modprobe tun 2>/dev/null || true
modprobe veth 2>/dev/null || true
modprobe bridge 2>/dev/null || true
[ -c /dev/net/tun ] || hvis_fail "no /dev/net/tun in layer 1 (tun module)"
[ -x $IP ] || hvis_fail "no iproute2 ip in layer 1"
# peer CMD...: run CMD in the peer's network namespace
peer() {
	$IP netns exec peer "$@"
}

cat >"$w/vm.json" <<EOF
{ "memory_mib": 512, "cpus": 1,
  "nics": [ { "tap": "tap0", "mac": "$mac" } ] }
EOF
hvis_vspd_start vm --config "$w/vm.json"
$IP link show tap0 >/dev/null 2>&1 || hvis_fail "hvis-vspd did not create tap0"
$IP netns add peer || hvis_fail "ip netns add failed"
$IP link add vh type veth peer name vp || hvis_fail "no veth pair"
$IP link set vp netns peer
$IP link add br0 type bridge || hvis_fail "no bridge"
$IP link set tap0 master br0
$IP link set vh master br0
for d in tap0 vh br0; do
	$IP link set $d up
done
$IP -n peer link set lo up
$IP -n peer addr add 10.0.0.1/24 dev vp
$IP -n peer link set vp up

hvis_l2_initrd "$w/$g.cpio" "$HVIS_SCENARIOS/l2/net-guest.sh" \
	"hv_vmbus hv_utils hv_netvsc"
hvis_guest_start $g --memory 512 --cpus 1 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" --append "console=ttyS0 quiet panic=-1"
hvis_guest_wait $g 'net-guest: ready' 150

# net_fail WHY: show the adapter's counters, the service's log and the
# guest's console, then fail
net_fail() {
	hvis_ctl --json link vm 2>&1 | tr -d '\n ' | sed 's/^/  /; s/$/\n/' || true
	hvis_guest_type $g "hvis-l2: stats"
	hvis_guest_type $g "hvis-l2: dmesg"
	sleep 3
	tail -n 30 "$w/vspd.vm.log" | sed 's/^/  vspd: /'
	hvis_guest_show $g
	hvis_fail "$*"
}

# last LINE-PATTERN: the last console line of the guest that matches
last() {
	grep -- "net-guest: $1" "$w/$g.log" | tail -n 1 | tr -d '\r'
}
# ask COMMAND PATTERN SECS: type "hvis-l2: COMMAND", wait for one more
# "net-guest: PATTERN" line than before
ask() {
	_c=$(grep -c -- "net-guest: $2" "$w/$g.log" || true)
	hvis_guest_type $g "hvis-l2: $1"
	hvis_guest_wait $g "net-guest: $2" "$3" $((_c + 1))
}

line=$(last 'eth0 mac')
echo "  $line"
case $line in
*" mac $mac "*) ;;
*) net_fail "eth0 has not the configured MAC $mac: $line" ;;
esac
case $line in *" carrier 1"*) ;; *) net_fail "eth0 carrier is not up: $line" ;; esac

ping_ok() {
	ask "ping 10.0.0.1 ${1:-}" 'ping ' 30
	_l=$(last 'ping ')
	echo "  $_l"
	case $_l in *"ping ok"*) ;; *) net_fail "guest ping ${1:+-s $1 }10.0.0.1 failed: $_l" ;; esac
}
ping_ok

# host -> guest: the guest listens, layer 1 sends
to_guest() {
	dd if=/dev/urandom of="$w/h2g" bs=1048576 count="$mib" 2>/dev/null
	want="$(wc -c <"$w/h2g" | tr -d ' ') $(md5sum <"$w/h2g" | cut -d' ' -f1)"
	ask "recv 5001" 'listening 5001' 20
	t0=$(date +%s)
	peer timeout 120 nc 10.0.0.2 5001 <"$w/h2g" || net_fail "nc to the guest failed ($1)"
	hvis_guest_wait $g 'net-guest: received' 120 "$2"
	got=$(last received | sed 's/.*received //')
	echo "  host -> guest ($1): $got in $(($(date +%s) - t0)) s"
	[ "$got" = "$want" ] || net_fail "host -> guest ($1): got '$got', sent '$want'"
}
# guest -> host: layer 1 listens, the guest sends
from_guest() {
	rm -f "$w/g2h"
	# busybox nc ends when its stdin does: a FIFO opened read-write never does
	[ -p "$w/hold" ] || mkfifo "$w/hold"
	peer timeout 150 nc -l -p 5002 <>"$w/hold" >"$w/g2h" &
	nc_pid=$!
	sleep 0.5
	t0=$(date +%s)
	ask "send 10.0.0.1 5002 $mib" 'sent ' 150
	wait "$nc_pid" || net_fail "the host's nc listener failed ($1)"
	case $(last 'sent ') in *"sent 0") ;; *) net_fail "the guest's nc failed ($1): $(last 'sent ')" ;; esac
	sent=$(last 'tx md5' | sed 's/.*tx md5 //')
	got=$(md5sum <"$w/g2h" | cut -d' ' -f1)
	size=$(wc -c <"$w/g2h" | tr -d ' ')
	echo "  guest -> host ($1): $size $got in $(($(date +%s) - t0)) s"
	[ "$got" = "$sent" ] && [ "$size" = $((mib * 1048576)) ] ||
		net_fail "guest -> host ($1): got $size bytes md5 $got, the guest sent md5 $sent"
}
to_guest "MTU 1500" 1
from_guest "MTU 1500"

# link down and up from the host
carrier_is() {
	_i=0
	while :; do
		ask carrier 'carrier ' 20
		case $(last 'carrier ') in *"carrier $1") return 0 ;; esac
		_i=$((_i + 1))
		[ "$_i" -lt 10 ] || net_fail "the guest's carrier did not become $1 ($2): $(last 'carrier ')"
		sleep 1
	done
}
hvis_ctl link vm down | sed 's/^/  /'
carrier_is 0 "after hvisctl link vm down"
hvis_ctl link vm tap0 up >/dev/null
carrier_is 1 "after hvisctl link vm tap0 up"
echo "  link down / up seen by the guest"
ping_ok

# jumbo frames
for d in tap0 vh br0; do
	$IP link set $d mtu 9000
done
$IP -n peer link set vp mtu 9000
ask "mtu 9000" 'mtu [0-9]* carrier' 60
line=$(last 'mtu [0-9]* carrier')
echo "  $line"
case $line in *"mtu 9000 carrier 1"*) ;; *) net_fail "eth0 did not come back at MTU 9000: $line" ;; esac
ping_ok 8000
to_guest "MTU 9000" 2
from_guest "MTU 9000"

hvis_ctl link vm | sed 's/^/  /'
hvis_ctl --json status vm | grep -q '"tap": *"tap0"' ||
	net_fail "hvisctl status does not show the NIC"
hvis_ctl --json link vm | grep -q '"rx_frames": *[1-9]' ||
	net_fail "hvisctl link: no received frames counted"

hvis_ctl shutdown vm >/dev/null || net_fail "hvisctl shutdown failed"
hvis_guest_end $g 0 60
hvis_vspd_stop vm
if grep -q 'refused' "$w/vspd.vm.log"; then
	net_fail "hvis-vspd refused packets of a friendly guest: $(grep refused "$w/vspd.vm.log" | head -n 1)"
fi
