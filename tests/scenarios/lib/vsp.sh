# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh
#
# Helpers for scenarios with the VSP service (hvis-vspd). Source after
# scenario.sh. The service's run directory is $HVIS_WORK/run; its log
# $HVIS_WORK/vspd.NAME.log.

HVIS_RUN_DIR=$HVIS_WORK/run
export HVIS_RUN_DIR

# hvis_vspd_start NAME [hvis-vspd options...]: start the service, wait for
# its sockets.
hvis_vspd_start() {
	_n=$1
	shift
	mkdir -p "$HVIS_RUN_DIR"
	"$HVIS_BIN/hvis-vspd" --name "$_n" --run-dir "$HVIS_RUN_DIR" "$@" \
		>"$HVIS_WORK/vspd.$_n.log" 2>&1 &
	echo $! >"$HVIS_WORK/vspd.$_n.pid"
	_i=0
	until [ -S "$HVIS_RUN_DIR/$_n/attach.sock" ] && [ -S "$HVIS_RUN_DIR/$_n/control.sock" ]; do
		_i=$((_i + 1))
		[ "$_i" -le 100 ] || hvis_fail "hvis-vspd $_n did not come up: $(tail -n1 "$HVIS_WORK/vspd.$_n.log")"
		kill -0 "$(cat "$HVIS_WORK/vspd.$_n.pid")" 2>/dev/null ||
			hvis_fail "hvis-vspd $_n exited: $(tail -n1 "$HVIS_WORK/vspd.$_n.log")"
		sleep 0.1
	done
}

# hvis_vspd_stop NAME: the service must still be running (it survived
# the guest); stop it, show its log.
hvis_vspd_stop() {
	_p=$(cat "$HVIS_WORK/vspd.$1.pid")
	_alive=1
	kill -0 "$_p" 2>/dev/null || _alive=0
	kill -TERM "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	sed 's/^/  /' "$HVIS_WORK/vspd.$1.log"
	[ "$_alive" = 1 ] || hvis_fail "hvis-vspd $1 died during the scenario"
}

# hvis_guest_start NAME [hvis-run options...]: boot $HVIS_WORK/NAME.cpio
# under hvis-run in the background; console in $HVIS_WORK/NAME.log, typed
# input through the FIFO $HVIS_WORK/NAME.in (hvis_guest_type).
hvis_guest_start() {
	_g=$1
	shift
	rm -f "$HVIS_WORK/$_g.in" "$HVIS_WORK/$_g.rc" "$HVIS_WORK/$_g.vmm"
	mkfifo "$HVIS_WORK/$_g.in"
	: >"$HVIS_WORK/$_g.log"
	(
		# hold the FIFO open for writing so hvis-run never sees EOF
		exec 9<>"$HVIS_WORK/$_g.in"
		_rc=0
		"$HVIS_BIN/hvis-run" --kernel "$HVIS_L2_KERNEL" \
			--initrd "$HVIS_WORK/$_g.cpio" --console stdio "$@" \
			<"$HVIS_WORK/$_g.in" >"$HVIS_WORK/$_g.log" \
			2>"$HVIS_WORK/$_g.err" &
		echo $! >"$HVIS_WORK/$_g.vmm"
		wait $! || _rc=$?
		echo "$_rc" >"$HVIS_WORK/$_g.rc"
	) &
	echo $! >"$HVIS_WORK/$_g.pid"
}

# The hvis-run process of a guest.
hvis_guest_vmm_pid() {
	cat "$HVIS_WORK/$1.vmm"
}

# hvis_guest_wait NAME TEXT SECS [COUNT]: until TEXT shows COUNT (1) times
# on the console; fails if the guest ends first or SECS pass.
hvis_guest_wait() {
	_t=0
	while [ "$(grep -c -- "$2" "$HVIS_WORK/$1.log" 2>/dev/null)" -lt "${4:-1}" ]; do
		if [ -f "$HVIS_WORK/$1.rc" ]; then
			hvis_guest_show "$1"
			hvis_fail "the guest ended (hvis-run status $(cat "$HVIS_WORK/$1.rc")) before '$2'"
		fi
		_t=$((_t + 1))
		if [ "$_t" -gt $(($3 * 5)) ]; then
			hvis_guest_show "$1"
			hvis_fail "no '$2' on the guest console within $3 s"
		fi
		sleep 0.2
	done
}

# hvis_guest_type NAME TEXT: one line of console input.
hvis_guest_type() {
	printf '%s\r' "$2" >"$HVIS_WORK/$1.in"
}

# hvis_guest_end NAME EXPECTED SECS: wait for hvis-run to exit with
# EXPECTED.
hvis_guest_end() {
	_t=0
	while [ ! -f "$HVIS_WORK/$1.rc" ]; do
		_t=$((_t + 1))
		if [ "$_t" -gt $(($3 * 5)) ]; then
			hvis_guest_show "$1"
			kill "$(hvis_guest_vmm_pid "$1")" 2>/dev/null
			hvis_fail "hvis-run did not end within $3 s"
		fi
		sleep 0.2
	done
	hvis_guest_show "$1"
	[ "$(cat "$HVIS_WORK/$1.rc")" = "$2" ] ||
		hvis_fail "hvis-run exit status $(cat "$HVIS_WORK/$1.rc"), expected $2"
}

# The guest's console (to the layer-2 console port) and hvis-run's stderr.
hvis_guest_show() {
	cat "$HVIS_WORK/$1.log" >"${HVIS_L2_CONSOLE:-/dev/null}" 2>/dev/null
	cat "$HVIS_WORK/$1.err" 2>/dev/null
	grep -E 'hvis-l2|ic-guest|storage-watch|mouse-guest' "$HVIS_WORK/$1.log" | sed 's/^/  guest: /'
}

# hvisctl against the scenario's run directory.
hvis_ctl() {
	"$HVIS_BIN/hvisctl" --run-dir "$HVIS_RUN_DIR" "$@"
}
