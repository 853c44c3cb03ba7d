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
#                  bookworm's linux-image-amd64 depends on); layer 1 boots it
#   HVIS_L2_KVER   kernel ABI of the layer-2 guest (default: HVIS_L2_SUITE's
#                  linux-image-amd64 if that is set, else HVIS_KVER's)
#   HVIS_L2_SUITE  suite the layer-2 kernel comes from: bookworm (the
#                  machine's own apt sources) or bookworm-backports (a
#                  private apt configuration under $HVIS_CACHE/apt/)

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

# ---------------------------------------------------------------- suites
# Other suites than the machine's own (bookworm-backports) are reached with
# a private apt configuration: a sources list and lists directory under
# $HVIS_CACHE/apt/SUITE/, never the machine's /etc/apt entries. The mirror
# is the one the machine already uses for bookworm (deb822 URIs: line of
# /etc/apt/sources.list.d/*.sources, else a "deb URI bookworm" line of
# /etc/apt/sources.list); only the suite differs.

# "URI<TAB>KEYRING" of the machine's bookworm mirror (KEYRING may be empty).
hvis_apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822: stanzas separated by blank lines; want Types deb and
		# Suites containing "bookworm" itself.
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ / bookworm / && uri != "" && !done) {
				print uri "\t" key; done = 1
			}
			types = ""; suites = ""; uri = ""; key = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		tolower($1) == "types:" { $1 = ""; types = $0 }
		tolower($1) == "suites:" { $1 = ""; suites = $0; gsub(/^ +| +$/, "", suites) }
		tolower($1) == "uris:" { uri = $2 }
		tolower($1) == "signed-by:" { key = $2 }
		END { flush() }' "$f"
	done | head -n1 | grep . && return 0
	[ -f /etc/apt/sources.list ] &&
		sed -n 's/^[ \t]*deb[ \t]\+\(\[[^]]*\][ \t]\+\)\{0,1\}\([^ \t]*\)[ \t]\+bookworm[ \t].*/\2\t/p' \
			/etc/apt/sources.list | head -n1 | grep .
}

# True if SUITE ($1) is one the machine's apt sources already carry.
hvis_suite_is_native() {
	case $1 in
	"" | bookworm) return 0 ;;
	*) return 1 ;;
	esac
}

# apt options (one per line, for mapfile) that make apt-get/apt-cache use
# only SUITE ($1) through the private configuration; creates it and runs
# "apt-get update" on it when its lists are missing or older than a day.
hvis_apt_suite_opts() {
	local suite=$1 dir mirror uri key opts
	dir=$HVIS_CACHE/apt/$suite
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/sources.list.d"
	if [ ! -s "$dir/sources.list" ]; then
		mirror=$(hvis_apt_mirror) ||
			hvis_die "no bookworm entry in the machine's apt sources to derive the $suite mirror from"
		uri=${mirror%%$'\t'*}
		key=${mirror#*$'\t'}
		printf 'deb %s%s %s main\n' "${key:+[signed-by=$key] }" "$uri" "$suite" >"$dir/sources.list.tmp"
		mv "$dir/sources.list.tmp" "$dir/sources.list"
	fi
	opts=(
		"-oDir::Etc::sourcelist=$dir/sources.list"
		"-oDir::Etc::sourceparts=$dir/sources.list.d"
		"-oDir::State::lists=$dir/lists"
		"-oDir::Cache::archives=$dir/archives"
		"-oDir::Cache::pkgcache=$dir/pkgcache.bin"
		"-oDir::Cache::srcpkgcache=$dir/srcpkgcache.bin"
		"-oAPT::Sandbox::User=root"
	)
	if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
		hvis_log "apt-get update for $suite (private lists in $dir)"
		apt-get -qq "${opts[@]}" update >&2 ||
			hvis_die "apt-get update of $suite failed ($dir/sources.list)"
	fi
	printf '%s\n' "${opts[@]}"
}

# The kernel ABI that SUITE's ($1) linux-image-amd64 depends on.
hvis_suite_kver() {
	local suite=$1 opts=() dep
	if hvis_suite_is_native "$suite"; then
		HVIS_KVER='' hvis_kver
		return
	fi
	mapfile -t opts < <(hvis_apt_suite_opts "$suite") || return 1
	[ ${#opts[@]} -gt 0 ] || return 1
	dep=$(apt-cache "${opts[@]}" depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | sort -V | tail -n1)
	[ -n "$dep" ] || hvis_die "cannot resolve linux-image-amd64 in $suite"
	printf '%s\n' "$dep"
}

# The layer-2 guest's kernel ABI (HVIS_L2_KVER, HVIS_L2_SUITE, HVIS_KVER).
hvis_l2_kver() {
	if [ -n "${HVIS_L2_KVER:-}" ]; then
		printf '%s\n' "$HVIS_L2_KVER"
	elif ! hvis_suite_is_native "${HVIS_L2_SUITE:-}"; then
		hvis_suite_kver "$HVIS_L2_SUITE"
	else
		hvis_kver
	fi
}

# Short name of a kernel ABI for labels: 6.12.95+bpo-amd64 -> 6.12.
hvis_kver_short() {
	printf '%s\n' "$1" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p'
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
