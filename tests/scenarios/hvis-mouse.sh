#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 300
#
# Scenario hvis-mouse: the synthetic mouse (synthhid) served by hvis-vspd
# to the kernel's hid_hyperv. The guest's input device appears as
# "Microsoft Vmbus HID-compliant Mouse"; pointer moves, button clicks and
# wheel steps injected with hvisctl arrive on its /dev/input/eventN as
# EV_ABS X/Y with the given coordinates, EV_KEY BTN_LEFT/BTN_RIGHT down
# and up, and EV_REL REL_WHEEL.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
. "$HVIS_SCENARIOS/lib/vsp.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
hvis_vspd_start vm
hvis_l2_initrd "$w/mouse.cpio" "$HVIS_SCENARIOS/l2/mouse-guest.sh" "hv_vmbus hv_utils"
hvis_guest_start mouse --memory 512 --cpus 1 --name vm \
	--vsp "$HVIS_RUN_DIR/vm/attach.sock" --append "console=ttyS0 quiet panic=-1"
hvis_guest_wait mouse 'mouse-guest: ready /dev/input/event' 150

# events EXPECTED...: ask the guest for its new events; each EXPECTED
# ("TYPE CODE VALUE") must be among them
n=0
events() {
	n=$((n + 1))
	hvis_guest_type mouse "hvis-l2: events"
	hvis_guest_wait mouse 'mouse-guest: events end' 30 "$n"
	for e in "$@"; do
		grep -q "mouse-guest: ev $e" "$w/mouse.log" ||
			hvis_fail "the guest did not get input event '$e' (type code value)"
	done
}

# wait for the driver's handshake to finish on the host side
i=0
until hvis_ctl --json mouse vm | grep -q '"state": *"ready"'; do
	i=$((i + 1))
	[ "$i" -le 50 ] || hvis_fail "hvisctl mouse: the guest driver never became ready"
	sleep 0.2
done
hvis_ctl mouse vm move 12345 23456 | sed 's/^/  /'
events "3 0 12345" "3 1 23456"          # EV_ABS ABS_X, ABS_Y
hvis_ctl mouse vm click left >/dev/null
events "1 272 1" "1 272 0"              # EV_KEY BTN_LEFT down, up
hvis_ctl mouse vm press right >/dev/null
hvis_ctl mouse vm move 100 200 >/dev/null
hvis_ctl mouse vm release right >/dev/null
events "1 273 1" "3 0 100" "3 1 200" "1 273 0"
hvis_ctl mouse vm wheel -3 >/dev/null
events "2 8 -3"                          # EV_REL REL_WHEEL
hvis_ctl mouse vm | sed 's/^/  /'
hvis_ctl --json status vm | grep -q '"class": *"mouse"' ||
	hvis_fail "hvisctl status does not list the mouse channel"

hvis_ctl shutdown vm >/dev/null || hvis_fail "hvisctl shutdown failed"
hvis_guest_end mouse 0 60
hvis_vspd_stop vm
grep 'mouse-guest' "$w/mouse.log" | sed 's/^/  /'
