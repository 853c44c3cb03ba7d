#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 300
#
# Scenario hvis-guest-vmbus: our own guest bus driver, hvis_vmbus.ko
# (built for the layer-2 kernel, carried in the test host's
# /hvis/modules/KVER), against hvis-vspd, with the in-tree hv_vmbus kept
# out. First boot (two vCPUs, host up to 5.3): the guest loads it twice,
# each time VMBus 5.3 and the five integration components on
# /sys/bus/hvis_vmbus, the first time also with hv_vmbus failing to load
# beside it; unloads it each time (UNLOAD answered); loads it once more
# with max_version=4.0 (4.0 over message connection 1); last, loads
# hv_vmbus and checks that hvis_vmbus refuses to load beside it. Second
# boot: the host capped to 2.4 (Windows 8), hvis_vmbus gets 2.4.
# hvis-vspd's log must show each connection and each unload.
# Every load opens the five IC channels (/dev/hvis/<service>, bound to
# hvis_ic); KVP negotiates once the guest opens /dev/hvis/kvp; the kernel
# answers heartbeats (heartbeat period 1 s); every unload closes them.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD HVIS_L2_KVER

# In the test host: /hvis/modules/KVER/, built for the layer-2 kernel from
# the tree (tests/testhost/build-modules, run by mk-initramfs-l1). Run
# directly (no test host): the top of the tree, where `make modules`
# leaves it, if it is built for the layer-2 kernel.
mods=$HVIS_BIN/../modules
if [ -f "$mods/$HVIS_L2_KVER/BUILD-FAILED" ]; then
	sed 's/^/  build: /' "$mods/$HVIS_L2_KVER/BUILD-FAILED"
	hvis_fail "hvis_vmbus.ko does not build for $HVIS_L2_KVER"
fi
ko=
for f in "$mods/$HVIS_L2_KVER/hvis_vmbus.ko" "$HVIS_SCENARIOS/../../hvis_vmbus.ko"; do
	[ -f "$f" ] || continue
	built=$(tr '\0' '\n' <"$f" | sed -n 's/^vermagic=\([^ ]*\).*/\1/p')
	if [ "$built" = "$HVIS_L2_KVER" ]; then
		ko=$f
		break
	fi
done
[ -n "$ko" ] ||
	hvis_fail "no hvis_vmbus.ko built for the layer-2 kernel $HVIS_L2_KVER (tests/testhost/build-modules $HVIS_L2_KVER)"
echo "module: $(basename "$ko") for $HVIS_L2_KVER"

hvis_vspd_start vm --heartbeat-period 1
hvis_l2_initrd "$HVIS_WORK/g53.cpio" "$HVIS_SCENARIOS/l2/hvis-vmbus-guest.sh" "" "$ko"
cp "$HVIS_WORK/g53.cpio" "$HVIS_WORK/g24.cpio"

hvis_run_guest g53 0 --memory 512 --cpus 2 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" \
	--append "console=ttyS0 panic=-1 hvis.vmbus=5.3 hvis.cycles=2 hvis.cap=4.0 hvis.coexist=1"
grep 'hvis-vmbus-guest:' "$HVIS_WORK/g53.log" | sed 's/^/  5.3: /'
grep -q 'hvis-l2-result: pass' "$HVIS_WORK/g53.log" ||
	hvis_fail "host up to 5.3: the guest's checks did not pass"
grep -q 'hvis-vmbus-guest: all checks passed' "$HVIS_WORK/g53.log" ||
	hvis_fail "host up to 5.3: the guest's checks did not run"

hvis_run_guest g24 0 --memory 384 --cpus 1 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" --vmbus-max-version 2.4 \
	--append "console=ttyS0 quiet panic=-1 hvis.vmbus=2.4 hvis.cycles=1 hvis.cap=none"
grep 'hvis-vmbus-guest:' "$HVIS_WORK/g24.log" | sed 's/^/  2.4: /'
grep -q 'hvis-vmbus-guest: all checks passed' "$HVIS_WORK/g24.log" ||
	hvis_fail "host capped to 2.4: the guest's checks did not pass"

hvis_vspd_stop vm
log=$HVIS_WORK/vspd.vm.log
# 5.3 twice, 4.0 once, then hv_vmbus at 5.3; 2.4 once; hvis_vmbus unloads 4 times
n53=$(grep -c 'vmbus: connected, version 5.3' "$log" || true)
n40=$(grep -c 'vmbus: connected, version 4.0' "$log" || true)
n24=$(grep -c 'vmbus: connected, version 2.4' "$log" || true)
nun=$(grep -c 'vmbus: unloaded' "$log" || true)
echo "hvis-vspd: $n53 connections at 5.3, $n40 at 4.0, $n24 at 2.4, $nun unloads"
[ "$n53" = 3 ] || hvis_fail "hvis-vspd saw $n53 connections at 5.3, expected 3"
[ "$n40" = 1 ] || hvis_fail "hvis-vspd saw $n40 connections at 4.0, expected 1"
[ "$n24" = 1 ] || hvis_fail "hvis-vspd saw $n24 connections at 2.4, expected 1"
[ "$nun" = 4 ] || hvis_fail "hvis-vspd saw $nun unloads, expected 4"
