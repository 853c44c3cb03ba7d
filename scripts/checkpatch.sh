#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run the kernel's checkpatch.pl (from Debian's linux-source-6.1) over the
# kernel sources given as arguments: `checkpatch.pl --no-tree -f`, which
# must report no error and no warning for any of them.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${CACHE:-$top/build/cache}/checkpatch
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1 || true)
if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	if [ -z "$tarball" ]; then
		echo "checkpatch: linux-source-6.1 is not installed (make deps)" >&2
		exit 1
	fi
	mkdir -p "$cache"
	tar -xf "$tarball" -C "$cache" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
fi
[ $# -gt 0 ] || { echo "checkpatch: no files given" >&2; exit 1; }
bad=0
for f in "$@"; do
	out=$("$cache/scripts/checkpatch.pl" --no-tree --quiet --show-types -f "$f" 2>&1) || true
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		bad=$((bad + 1))
	fi
done
echo "checkpatch: $# files, $bad with findings"
[ "$bad" = 0 ]
