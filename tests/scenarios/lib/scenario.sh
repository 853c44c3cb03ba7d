# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh
#
# Helpers for scenario scripts (POSIX sh: busybox ash in the test host,
# /bin/sh on a host that runs scenarios directly). Source it with
#   . "$HVIS_SCENARIOS/lib/scenario.sh"

# Fail the scenario with a one-line reason (shown in "fail (<why>)").
hvis_fail() {
	echo "scenario $HVIS_SCENARIO: $*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

# Fail unless the named environment variables are set.
hvis_require_env() {
	for v in "$@"; do
		eval "val=\${$v:-}"
		# shellcheck disable=SC2154 # val is set by the eval
		[ -n "$val" ] || hvis_fail "environment variable $v is not set"
	done
}

# hvis_l2_initrd OUT SCRIPT [MODULES [FILES [EXTRAS]]]: the layer-2
# initramfs with SCRIPT as its /scenario and only MODULES (space-separated)
# loaded by /init; FILES (space-separated paths, e.g. our own .ko files)
# are copied into /lib/modules-extra/, where SCRIPT finds them (insmod);
# EXTRAS (names, e.g. "fio") are the program trees layer 1 carries in
# /hvis/l2-extra/NAME/ (mk-initramfs-l1), merged into the image. A cpio
# archive appended to another overrides its files, so this is the common
# layer-2 image plus a small overlay made here with busybox cpio.
hvis_l2_initrd() {
	_out=$1
	_dir=$HVIS_WORK/l2-overlay.$$
	rm -rf "$_dir"
	mkdir -p "$_dir/etc"
	cp "$2" "$_dir/scenario"
	: >"$_dir/etc/hvis-modules"
	for _m in ${3:-}; do
		echo "$_m" >>"$_dir/etc/hvis-modules"
	done
	for _f in ${4:-}; do
		mkdir -p "$_dir/lib/modules-extra"
		cp "$_f" "$_dir/lib/modules-extra/" ||
			hvis_fail "cannot put $_f into the layer-2 overlay"
	done
	for _x in ${5:-}; do
		[ -d "/hvis/l2-extra/$_x" ] ||
			hvis_fail "layer 1 carries no layer-2 extra '$_x'"
		cp -a "/hvis/l2-extra/$_x/." "$_dir/"
	done
	(cd "$_dir" && find . | cpio -o -H newc 2>/dev/null) >"$_dir.cpio" ||
		hvis_fail "cannot build the layer-2 overlay"
	cat "$HVIS_L2_INITRD" "$_dir.cpio" >"$_out"
	rm -rf "$_dir" "$_dir.cpio"
}

# hvis_run_guest NAME EXPECTED_STATUS [hvis-run options...]: boot the
# layer-2 kernel under hvis-run with $HVIS_WORK/NAME.cpio, its console in
# $HVIS_WORK/NAME.log (also copied to the layer-2 console port); fails the
# scenario unless hvis-run exits with EXPECTED_STATUS.
hvis_run_guest() {
	_name=$1
	_want=$2
	shift 2
	_log=$HVIS_WORK/$_name.log
	_con=${HVIS_L2_CONSOLE:-/dev/null}
	# the console goes to the log and, live, to the layer-2 console port
	{
		_rc=0
		"$HVIS_BIN/hvis-run" --kernel "$HVIS_L2_KERNEL" \
			--initrd "$HVIS_WORK/$_name.cpio" --console stdio "$@" \
			</dev/null 2>"$HVIS_WORK/$_name.err" || _rc=$?
		echo "$_rc" >"$HVIS_WORK/$_name.rc"
	} | tee "$_log" >"$_con" 2>/dev/null
	cat "$HVIS_WORK/$_name.err" >"$_con" 2>/dev/null
	_rc=$(cat "$HVIS_WORK/$_name.rc")
	cat "$HVIS_WORK/$_name.err"
	grep -E '^hyperv-guest|hvis-l2' "$_log"
	[ "$_rc" = "$_want" ] ||
		hvis_fail "hvis-run exit status $_rc, expected $_want$(grep -m1 -E '^hyperv-guest: |hvis-l2-result: fail' "$_log" | sed 's/^/: /')"
}
