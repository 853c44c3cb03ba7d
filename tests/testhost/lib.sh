# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Common settings of the layer-0 test-host scripts (bash). Source it:
#   . "$(dirname "$0")/lib.sh"
# Every path can be moved with an environment variable:
#   HVIS_BUILD     build tree                (default <repo>/build)
#   HVIS_CACHE     downloads and extractions (default $HVIS_BUILD/cache)
#   HVIS_TESTHOST  generated initramfs files, logs (default $HVIS_BUILD/testhost)
#   HVIS_KVER      Debian kernel ABI, e.g. 6.1.0-56-amd64 (default: what
#                  bookworm's linux-image-amd64 depends on)

HVIS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HVIS_BUILD=${HVIS_BUILD:-$HVIS_ROOT/build}
HVIS_CACHE=${HVIS_CACHE:-$HVIS_BUILD/cache}
HVIS_TESTHOST=${HVIS_TESTHOST:-$HVIS_BUILD/testhost}
export HVIS_ROOT HVIS_BUILD HVIS_CACHE HVIS_TESTHOST

# Milliseconds since the epoch, and seconds (one decimal) since such a stamp.
hvis_ms() { echo $(($(date +%s%N) / 1000000)); }
hvis_secs_since() {
	local ms=$(($(hvis_ms) - $1))
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

hvis_log() {
	printf 'testhost: %s\n' "$*" >&2
}

hvis_die() {
	printf 'testhost: error: %s\n' "$*" >&2
	exit 1
}

# The kernel ABI name ("6.1.0-56-amd64") the test host uses.
hvis_kver() {
	local dep
	if [ -n "${HVIS_KVER:-}" ]; then
		printf '%s\n' "$HVIS_KVER"
		return
	fi
	dep=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -n1)
	if [ -z "$dep" ] && [ "$(id -u)" = 0 ]; then
		hvis_log "apt knows no linux-image-amd64; running apt-get update"
		apt-get update -qq >&2 || true
		dep=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -n1)
	fi
	[ -n "$dep" ] || hvis_die "cannot resolve the kernel from linux-image-amd64; set HVIS_KVER (e.g. 6.1.0-56-amd64)"
	printf '%s\n' "$dep"
}

# Directory of the extracted kernel package (see fetch-kernel).
hvis_kernel_dir() {
	printf '%s/kernel/%s\n' "$HVIS_CACHE" "$1"
}

# ---------------------------------------------------------------- staging
# Helpers that fill an initramfs staging directory ($1 = stage).

# busybox-static and a link for each of its applets.
hvis_stage_busybox() {
	local stage=$1 bb applet
	bb=$(command -v busybox || true)
	[ -n "$bb" ] || hvis_die "busybox not found (install busybox-static)"
	if ldd "$bb" >/dev/null 2>&1; then
		hvis_die "$bb is dynamically linked; install busybox-static"
	fi
	mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin"
	cp "$bb" "$stage/bin/busybox"
	for applet in $("$bb" --list-full); do
		[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
	done
}

# The base directories and the console node an init needs from the start.
hvis_stage_base() {
	local stage=$1
	mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" "$stage/run" \
		"$stage/etc" "$stage/root"
	# Without /dev/console in the archive the kernel starts init with no
	# stdio; init also re-opens it after mounting devtmpfs, so this is only
	# needed for the very first lines (and mknod needs root).
	if [ ! -e "$stage/dev/console" ] && [ "$(id -u)" = 0 ]; then
		mknod -m 600 "$stage/dev/console" c 5 1
	fi
}

# Kernel modules (names, with their dependencies) from an extracted kernel
# ($2 = kernel dir from fetch-kernel), plus own .ko files (HVIS_EXTRA_KO,
# space-separated paths) installed under extra/. Compressed modules are
# stored decompressed; depmod runs over the stage so modprobe works there.
hvis_stage_modules() {
	local stage=$1 kdir=$2 kver mods=() extra=() m f dep rel dst
	shift 2
	kver=$(cat "$kdir/kver")
	mods=("$@")
	for f in ${HVIS_EXTRA_KO:-}; do
		[ -f "$f" ] || hvis_die "no such module file: $f"
		extra+=("$f")
		for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
			mods+=("$dep")
		done
	done
	mkdir -p "$stage/lib/modules/$kver"
	for m in "${mods[@]}"; do
		modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" >/dev/null 2>&1 ||
			hvis_die "module $m not found in kernel $kver"
	done
	for m in "${mods[@]}"; do
		modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" |
			sed -n 's/^insmod \([^ ]*\).*/\1/p'
	done | sort -u | while read -r f; do
		rel=${f#"$kdir/root/lib/modules/$kver/"}
		dst=$stage/lib/modules/$kver/$rel
		mkdir -p "$(dirname "$dst")"
		case $f in
		*.ko.xz) xz -dc "$f" >"${dst%.xz}" ;;
		*.ko.zst) zstd -dcq "$f" >"${dst%.zst}" ;;
		*.ko.gz) gzip -dc "$f" >"${dst%.gz}" ;;
		*) cp "$f" "$dst" ;;
		esac
	done
	for f in "${extra[@]}"; do
		mkdir -p "$stage/lib/modules/$kver/extra"
		cp "$f" "$stage/lib/modules/$kver/extra/"
	done
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		[ -f "$kdir/modules/$f" ] && cp "$kdir/modules/$f" "$stage/lib/modules/$kver/"
	done
	depmod -b "$stage" "$kver"
}

# A dynamically linked program with the shared libraries it needs (same
# paths as on this machine; the test host runs this machine's glibc).
# $2 = source, $3 = destination path inside the stage.
hvis_stage_program() {
	local stage=$1 src=$2 dst=$3 lib
	mkdir -p "$stage/$(dirname "$dst")"
	cp "$src" "$stage/$dst"
	chmod 755 "$stage/$dst"
	for lib in $(ldd "$src" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		[ -e "$stage/$lib" ] && continue
		mkdir -p "$stage/$(dirname "$lib")"
		cp -L "$lib" "$stage/$lib"
	done
}

# newc cpio of the stage ($1) into $2, written atomically.
hvis_mkcpio() {
	local stage=$1 out=$2
	mkdir -p "$(dirname "$out")"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
	mv "$out.tmp" "$out"
}

# A digest of what an output is built from: for every path argument (file
# or directory, followed through symlinks) its files' names, sizes and
# modification times; other arguments are taken as strings. Builders skip
# the work when the digest stored beside the output ($out.inputs) matches.
hvis_inputs_key() {
	local a
	for a in "$@"; do
		if [ -e "$a" ]; then
			find -L "$a" -type f -printf '%p %s %T@\n' | LC_ALL=C sort
		else
			printf 'string %s\n' "$a"
		fi
	done | md5sum | cut -d' ' -f1
}

# True if $1 exists and was built from inputs with digest $2.
hvis_up_to_date() {
	[ -f "$1" ] && [ -f "$1.inputs" ] && [ "$(cat "$1.inputs")" = "$2" ]
}
