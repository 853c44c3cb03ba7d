#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 420
#
# Scenario hvis-vmbus-ic: the integration components against the kernel's
# hv_utils and Debian's hyperv-daemons, driven with hvisctl:
#   - status: VMBus 5.3, the five ICs ready;
#   - heartbeat: advancing; reported stalled while the guest is stopped
#     (SIGSTOP to hvis-run), healthy again when it runs on;
#   - KVP: the guest's host name and IPv4 address read from the auto pool;
#     a value the host sets shows in the guest's pool 0;
#   - VSS: a freeze makes hv_vss_daemon freeze the guest's /mnt (a write
#     there hangs), thaw releases it; with the daemon stopped, a freeze
#     fails promptly instead of hanging;
#   - shutdown: the guest powers off through hv_utils and its
#     /sbin/poweroff, and hvis-run exits 0.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
hvis_vspd_start vm --heartbeat-period 1
hvis_l2_initrd "$w/ic.cpio" "$HVIS_SCENARIOS/l2/ic-guest.sh" "hv_vmbus hv_utils"
hvis_guest_start ic --memory 512 --cpus 1 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" \
	--append "console=ttyS0 quiet panic=-1 hvis.kvp=1 hvis.vss=1"
hvis_guest_wait ic 'hvis-l2: waiting for the host' 150

# json FIELD FILE: the value of "FIELD" (first match) in hvisctl's JSON
json() {
	sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" "$2" | head -n1
}

# --- status
hvis_ctl status vm | tee "$w/status.txt"
hvis_ctl --json status vm >"$w/status.json"
[ "$(json version "$w/status.json")" = 5.3 ] || hvis_fail "hvisctl status: VMBus version is not 5.3"
for ic in heartbeat shutdown timesync kvp vss; do
	grep -A3 "\"kind\": *\"$ic\"" "$w/status.json" | grep -q '"state": *"ready"' ||
		hvis_fail "hvisctl status: IC $ic is not ready"
done

# --- heartbeat
hvis_ctl --json heartbeat vm >"$w/hb1.json"
sleep 4
hvis_ctl --json heartbeat vm >"$w/hb2.json"
hvis_ctl heartbeat vm
a1=$(json acked "$w/hb1.json")
a2=$(json acked "$w/hb2.json")
[ "$a2" -gt "$a1" ] || hvis_fail "heartbeat not advancing ($a1 -> $a2 answers)"
[ "$(json health "$w/hb2.json")" = healthy ] || hvis_fail "heartbeat not healthy"
vmm=$(hvis_guest_vmm_pid ic)
kill -STOP "$vmm"
i=0
until hvis_ctl --json heartbeat vm >"$w/hb3.json" && [ "$(json health "$w/hb3.json")" = no-reply ]; do
	i=$((i + 1))
	[ "$i" -le 30 ] || { kill -CONT "$vmm"; hvis_fail "heartbeat not reported stalled while the guest is stopped"; }
	sleep 1
done
echo "heartbeat stalled after about $i s:"
hvis_ctl heartbeat vm
kill -CONT "$vmm"
i=0
until hvis_ctl --json heartbeat vm >"$w/hb4.json" && [ "$(json health "$w/hb4.json")" = healthy ]; do
	i=$((i + 1))
	[ "$i" -le 30 ] || hvis_fail "heartbeat not healthy again after the guest resumed"
	sleep 1
done
echo "heartbeat healthy again after about $i s"

# --- KVP
hvis_ctl kvp vm list auto | tee "$w/kvp-auto.txt"
grep -q 'FullyQualifiedDomainName.*hvis-l2' "$w/kvp-auto.txt" ||
	hvis_fail "KVP auto pool: no host name hvis-l2"
grep -q 'NetworkAddressIPv4.*192\.0\.2\.10' "$w/kvp-auto.txt" ||
	hvis_fail "KVP auto pool: no address 192.0.2.10"
hvis_ctl --json kvp vm set external hvis-test hello-from-the-host
hvis_guest_wait ic 'kvp pool 0 has hvis-test=hello-from-the-host' 30

# --- VSS
hvis_ctl vss vm freeze || hvis_fail "VSS freeze failed"
hvis_guest_wait ic 'hvis-l2: /mnt frozen' 30
hvis_ctl vss vm thaw || hvis_fail "VSS thaw failed"
hvis_guest_wait ic 'hvis-l2: /mnt writable' 30
hvis_guest_type ic 'hvis-l2: stop vss'
hvis_guest_wait ic 'hvis-l2: vss daemon stopped' 30
t0=$(cut -d. -f1 /proc/uptime)
if hvis_ctl vss vm freeze; then
	hvis_fail "VSS freeze succeeded without the guest's daemon"
fi
t1=$(cut -d. -f1 /proc/uptime)
echo "freeze without the daemon failed after $((t1 - t0)) s"
[ $((t1 - t0)) -le 30 ] || hvis_fail "freeze without the daemon took $((t1 - t0)) s"
hvis_ctl vss vm status

# --- shutdown
hvis_ctl shutdown vm || hvis_fail "hvisctl shutdown failed"
hvis_guest_end ic 0 60
grep -q 'hvis-l2: poweroff requested by the kernel' "$w/ic.log" ||
	hvis_fail "the guest did not power off through /sbin/poweroff"
hvis_vspd_stop vm
