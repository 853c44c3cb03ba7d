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
