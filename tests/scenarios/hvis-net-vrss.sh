#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 420
#
# Scenario hvis-net-vrss: the synthetic network adapter with vRSS on a
# two-vCPU guest. The adapter offers RSS with two queues; hv_netvsc asks
# for a sub-channel (NVSP 5) and opens it. Checked: eth0 has two receive
# and two transmit queues, hvisctl link shows 2 channels; over the same
# bridged peer as hvis-net (br0: tap0 + a veth into the namespace
# "peer", 10.0.0.1/24) the guest pings and TCP (busybox nc) $mib MiB
# each way arrives with the sender's md5; no guest packet is refused.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
mib=${HVIS_NET_MIB:-8}
g=net
IP=/usr/bin/ip
modprobe tun 2>/dev/null || true
modprobe veth 2>/dev/null || true
modprobe bridge 2>/dev/null || true
[ -c /dev/net/tun ] || hvis_fail "no /dev/net/tun in layer 1 (tun module)"
[ -x $IP ] || hvis_fail "no iproute2 ip in layer 1"
peer() {
	$IP netns exec peer "$@"
}

hvis_vspd_start vm --nic tap=tap0,mac=00:15:5d:12:34:57,queues=2
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
hvis_guest_start $g --memory 512 --cpus 2 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" --append "console=ttyS0 quiet panic=-1"
hvis_guest_wait $g 'net-guest: ready' 200

net_fail() {
	hvis_ctl --json link vm 2>&1 | tr -d '\n ' | sed 's/^/  /; s/$/\n/' || true
	hvis_guest_type $g "hvis-l2: stats"
	hvis_guest_type $g "hvis-l2: dmesg"
	sleep 3
	tail -n 30 "$w/vspd.vm.log" | sed 's/^/  vspd: /'
	hvis_guest_show $g
	hvis_fail "$*"
}
last() {
	grep -- "net-guest: $1" "$w/$g.log" | tail -n 1 | tr -d '\r'
}
ask() {
	_c=$(grep -c -- "net-guest: $2" "$w/$g.log" || true)
	hvis_guest_type $g "hvis-l2: $1"
	hvis_guest_wait $g "net-guest: $2" "$3" $((_c + 1))
}

echo "  $(last 'eth0 mac')"
ask queues 'queues ' 20
line=$(last 'queues ')
echo "  $line"
case $line in *"queues rx 2 tx 2"*) ;;
*) ask dmesg 'dmesg end' 20; net_fail "eth0 has not two queues each way: $line" ;;
esac
hvis_ctl --json link vm | grep -q '"channels": *2' ||
	net_fail "hvisctl link does not show two open channels"

ask "ping 10.0.0.1" 'ping ' 30
case $(last 'ping ') in *"ping ok"*) ;; *) net_fail "guest ping failed: $(last 'ping ')" ;; esac

dd if=/dev/urandom of="$w/h2g" bs=1048576 count="$mib" 2>/dev/null
want="$(wc -c <"$w/h2g" | tr -d ' ') $(md5sum <"$w/h2g" | cut -d' ' -f1)"
ask "recv 5001" 'listening 5001' 20
peer timeout 120 nc 10.0.0.2 5001 <"$w/h2g" || net_fail "nc to the guest failed"
hvis_guest_wait $g 'net-guest: received' 120
got=$(last received | sed 's/.*received //')
echo "  host -> guest: $got"
[ "$got" = "$want" ] || net_fail "host -> guest: got '$got', sent '$want'"

[ -p "$w/hold" ] || mkfifo "$w/hold"
peer timeout 150 nc -l -p 5002 <>"$w/hold" >"$w/g2h" &
nc_pid=$!
sleep 0.5
ask "send 10.0.0.1 5002 $mib" 'sent ' 150
wait "$nc_pid" || net_fail "the host's nc listener failed"
sent=$(last 'tx md5' | sed 's/.*tx md5 //')
got=$(md5sum <"$w/g2h" | cut -d' ' -f1)
echo "  guest -> host: $(wc -c <"$w/g2h" | tr -d ' ') $got"
[ "$got" = "$sent" ] || net_fail "guest -> host: md5 $got, the guest sent $sent"

hvis_ctl link vm | sed 's/^/  /'
hvis_ctl shutdown vm >/dev/null || net_fail "hvisctl shutdown failed"
hvis_guest_end $g 0 90
hvis_vspd_stop vm
if grep -q 'refused' "$w/vspd.vm.log"; then
	hvis_fail "hvis-vspd refused packets of a friendly guest: $(grep refused "$w/vspd.vm.log" | head -n 1)"
fi
grep -q 'sub-channel offered' "$w/vspd.vm.log" || hvis_fail "no sub-channel was offered"
