#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install every Debian package that building and testing hvis needs.
# Idempotent: asks apt only for what is missing. See README.md for why
# each package is here.
set -eu

pkgs=(
	build-essential		# gcc, make, libc headers
	clang			# libFuzzer harnesses (make fuzz)
	libclang-rt-14-dev	# libFuzzer + sanitizer runtimes for clang
	libcunit1-dev		# unit-test framework
	libjson-c-dev		# configuration files (hvis-run) and the control protocol
	liburing-dev		# io_uring for hvis-vspd's disk I/O
	qemu-utils		# qemu-img: a second VHD implementation to test ours against
	e2fsprogs		# mke2fs, e2fsck, debugfs: file systems on test disks
	iproute2		# ip (netns, veth, bridge): the network scenario's peer
	fio			# the I/O verifier the storage scenario runs in a guest
	linux-headers-amd64	# kbuild for the guest modules (make modules)
	linux-source-6.1	# checkpatch.pl for the kernel sources
	qemu-system-x86		# the layer-1 test host (TCG with emulated SVM)
	acpica-tools		# iasl: compiles the DSDT of hvis-run at build time
	busybox-static		# userland of the test-host and guest initramfs
	cpio			# initramfs archives
	kmod			# depmod for the initramfs module trees
	xz-utils		# linux-source tarball
	zstd			# compressed kernel modules in newer kernels
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run 'make deps' as root (or: apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
