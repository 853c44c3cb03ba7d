#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 guest for the integration-component scenarios, run by /init as
# /scenario after it loaded hv_vmbus and hv_utils. It sets up what the
# host will exercise, prints "hvis-l2: waiting for the host" and then
# reports what it sees, one line per change, until the host powers it off
# or reboots it. Parameters from the kernel command line:
#   hvis.kvp=1   start hv_kvp_daemon; dummy0 gets 192.0.2.10/24 (KVP
#                reports non-loopback addresses); report the value of key
#                "hvis-test" in pool 0 (the host's external pool) when it
#                appears or changes
#   hvis.vss=1   an ext2 file system on /dev/ram0 at /mnt (hv_vss_daemon
#                skips loop devices) and hv_vss_daemon; report "/mnt
#                frozen" when a write to it hangs for 2 s and "/mnt
#                writable" when it completes again; "hvis-l2: stop vss" on
#                the console (the host types it) stops the daemon
# Shutdown and reboot requests reach the kernel's hv_utils, which runs
# /sbin/poweroff or /sbin/reboot: here those log a line and act.
why() {
	echo "ic-guest: $*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "hvis.$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}

kvp=$(arg kvp 0)
vss=$(arg vss 0)

hostname -F /etc/hostname 2>/dev/null
syslogd -O /tmp/messages 2>/dev/null

for a in poweroff reboot; do
	rm -f "/sbin/$a"
	printf '#!/bin/sh\necho "hvis-l2: %s requested by the kernel" >/dev/console\nsync\nexec busybox %s -f\n' \
		"$a" "$a" >"/sbin/$a"
	chmod 755 "/sbin/$a"
done

# wait_dmesg PATTERN WHAT: up to 30 s for a kernel message
wait_dmesg() {
	_i=0
	until dmesg | grep -q "$1"; do
		_i=$((_i + 1))
		[ "$_i" -le 60 ] || why "no '$1' in the kernel log: $2"
		sleep 0.5
	done
}

if [ "$kvp" = 1 ]; then
	modprobe dummy || why "modprobe dummy failed"
	# the module makes dummy0 itself (numdummies=1)
	[ -e /sys/class/net/dummy0 ] || ip link add dummy0 type dummy ||
		why "cannot create dummy0"
	ip addr add 192.0.2.10/24 dev dummy0
	ip link set dummy0 up
	hv_kvp_daemon || why "hv_kvp_daemon did not start"
	wait_dmesg 'KVP IC version' "the KVP channel never negotiated"
fi
if [ "$vss" = 1 ]; then
	modprobe brd rd_nr=1 rd_size=16384 || why "modprobe brd failed"
	modprobe ext4 || why "modprobe ext4 failed"
	mke2fs -q /dev/ram0 >/dev/null 2>&1 || why "mke2fs failed"
	mkdir -p /mnt
	mount -t ext4 /dev/ram0 /mnt || why "cannot mount /dev/ram0"
	hv_vss_daemon || why "hv_vss_daemon did not start"
	wait_dmesg 'VSS: userspace daemon ver' "the VSS daemon never connected"
fi

# kvp_value FILE KEY: the value of KEY in one of hv_kvp_daemon's pool
# files: records of key[512] value[2048], each a NUL-terminated string
# (bytes after the NUL are whatever the daemon's buffer held).
kvp_value() {
	_n=$(($(wc -c <"$1") / 2560))
	_i=0
	while [ "$_i" -lt "$_n" ]; do
		_k=$(dd if="$1" bs=2560 skip="$_i" count=1 2>/dev/null | head -c 512 |
			tr '\0' '\n' | head -n1)
		if [ "$_k" = "$2" ]; then
			dd if="$1" bs=2560 skip="$_i" count=1 2>/dev/null | tail -c 2048 |
				tr '\0' '\n' | head -n1
			return
		fi
		_i=$((_i + 1))
	done
}

echo "hvis-l2: waiting for the host"

# Watch, forever. Console input (the host types commands) is read with a
# 1 s timeout, which also paces the loop.
kvp_seen=
probe=
probe_since=0
frozen=0
t=0
while :; do
	if read -r -t 1 cmd; then
		case $cmd in
		"hvis-l2: stop vss")
			killall hv_vss_daemon 2>/dev/null
			sleep 1
			echo "hvis-l2: vss daemon stopped" ;;
		esac
	fi
	t=$((t + 1))
	if [ "$kvp" = 1 ] && [ -f /var/lib/hyperv/.kvp_pool_0 ]; then
		v=$(kvp_value /var/lib/hyperv/.kvp_pool_0 hvis-test)
		if [ -n "$v" ] && [ "$v" != "$kvp_seen" ]; then
			echo "hvis-l2: kvp pool 0 has hvis-test=$v"
			kvp_seen=$v
		fi
	fi
	if [ "$vss" = 1 ]; then
		if [ -n "$probe" ] && ! kill -0 "$probe" 2>/dev/null; then
			wait "$probe" 2>/dev/null
			probe=
			if [ "$frozen" = 1 ]; then
				echo "hvis-l2: /mnt writable"
				frozen=0
			fi
		fi
		if [ -n "$probe" ] && [ $((t - probe_since)) -ge 2 ] && [ "$frozen" = 0 ]; then
			echo "hvis-l2: /mnt frozen"
			frozen=1
		fi
		if [ -z "$probe" ]; then
			(echo "$t" >/mnt/probe && sync -f /mnt/probe) &
			probe=$!
			probe_since=$t
		fi
	fi
done
