#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Print the default KDIR for `make modules`: the headers of bookworm's
# current linux-headers-amd64, installing them when missing (as root).
set -eu
ver=$(dpkg-query -W -f '${Depends}' linux-headers-amd64 2>/dev/null |
	grep -o 'linux-headers-[0-9][^ ,]*-amd64' | head -n1) || true
if [ -z "${ver:-}" ]; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-headers-amd64 >&2
		ver=$(dpkg-query -W -f '${Depends}' linux-headers-amd64 |
			grep -o 'linux-headers-[0-9][^ ,]*-amd64' | head -n1)
	else
		echo "kdir: linux-headers-amd64 is not installed (run make deps as root)" >&2
		exit 1
	fi
fi
echo "/usr/src/$ver"
