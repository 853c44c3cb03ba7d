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
