#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 180
#
# Scenario hvis-run-console: a person at hvis-run's console. The guest
# runs a getty on ttyS0 (COM1); typed input reaches it through the
# emulated UART: log in as root, run a command, power off. Passes when the
# command's output comes back and hvis-run exits 0.
set -eu
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK HVIS_L2_KERNEL HVIS_L2_INITRD

w=$HVIS_WORK
log=$w/console.log
hvis_l2_initrd "$w/console.cpio" "$HVIS_SCENARIOS/l2/login.sh"
rm -f "$w/in" "$log"
mkfifo "$w/in"
: >"$log"

# wait_for TEXT SECONDS: until TEXT shows on the console
wait_for() {
	_t=0
	while ! grep -q "$1" "$log" 2>/dev/null; do
		sleep 1
		_t=$((_t + 1))
		[ "$_t" -lt "$2" ] || return 1
	done
}

# the typist: what a person would type, as the prompts appear
(
	wait_for 'login:' 150 || exit 0
	sleep 1
	printf 'root\r'
	wait_for ' # ' 60 || exit 0
	printf 'echo console-ok-$((6 * 7))\r'
	wait_for 'console-ok-42' 60 || exit 0
	printf 'poweroff -f\r'
	sleep 30
) >"$w/in" &
typist=$!

{
	rc=0
	"$HVIS_BIN/hvis-run" --kernel "$HVIS_L2_KERNEL" --initrd "$w/console.cpio" \
		--memory 512 --cpus 1 --console stdio --append "console=ttyS0 panic=-1" \
		<"$w/in" 2>"$w/console.err" || rc=$?
	echo "$rc" >"$w/console.rc"
} | tee "$log" >"${HVIS_L2_CONSOLE:-/dev/null}"
rc=$(cat "$w/console.rc")
kill "$typist" 2>/dev/null || true
cat "$w/console.err"
tail -n 8 "$log"
grep -q 'login:' "$log" || hvis_fail "no login prompt on the console"
grep -q 'console-ok-42' "$log" || hvis_fail "typed command gave no output"
[ "$rc" = 0 ] || hvis_fail "hvis-run exit status $rc"
