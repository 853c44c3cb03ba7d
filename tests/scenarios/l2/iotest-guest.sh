#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Layer-2 guest of the hvis-storage-verify scenario and of the storage
# benchmark (tests/bench/scenarios/storage.sh), run by /init as /scenario.
# It drives /usr/bin/hvis-iotest (tests/tools/hvis-iotest.c, O_DIRECT and
# io_uring, one job per CPU, pinned) against the disks the host gave it.
# Parameters from the guest kernel command line:
#   hvis.iotest=verify   (default) on every SCSI disk at once (hvis.disks=N
#                        of them, LUNs 0..N-1): hvis-iotest verify with 4k
#                        blocks, iodepth 32, a job per vCPU, hvis.secs
#                        seconds; one line per disk
#                          iotest-guest: lun L sdX result: <summary line>
#                        and the hv_storvsc channels with the interrupts
#                        each took during the run
#                          iotest-guest: storvsc channels N
#                          iotest-guest: channel RELID sub=I cpu=C interrupts=+X events=+Y
#                        fails if a disk fails its verify or a channel
#                        carried nothing
#   hvis.iotest=bench    on the one disk (hvis.disk=scsi: the SCSI disk of
#                        hv_storvsc; hvis.disk=virtio: /dev/vda), hvis.runs
#                        times in turn: 4k random reads (iodepth 32, a job
#                        per vCPU) and 128k sequential reads (iodepth 32,
#                        one job), hvis.secs seconds each after 1 s of ramp:
#                          iotest-guest: run R randread iops=N mbps=X
#                          iotest-guest: run R seqread mbps=X iops=N
#   hvis.secs=S (30), hvis.disks=N (1), hvis.runs=R (3), hvis.disk=scsi|virtio
why() {
	echo "iotest-guest: $*"
	printf '%s\n' "$*" >"${HVIS_WHY:-/dev/null}"
	exit 1
}

arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "hvis.$1="*) echo "${w#*=}"; return ;; esac
	done
	echo "$2"
}

mode=$(arg iotest verify)
secs=$(arg secs 30)
ndisks=$(arg disks 1)
runs=$(arg runs 3)
kind=$(arg disk scsi)
ncpu=$(grep -c '^processor' /proc/cpuinfo)
command -v hvis-iotest >/dev/null || why "no hvis-iotest in this image (mk-initramfs-l2 without tools?)"

# The SCSI disks by LUN ("LUN DEV" lines), once hvis.disks of them are there.
scsi_disks() {
	modprobe sd_mod || why "modprobe sd_mod failed"
	i=0
	while [ "$(ls /sys/class/scsi_disk 2>/dev/null | wc -l)" -lt "$1" ]; do
		i=$((i + 1))
		[ "$i" -le 120 ] || why "$(ls /sys/class/scsi_disk 2>/dev/null | wc -l) of $1 disks appeared within 60 s"
		sleep 0.5
	done
	for d in /sys/class/scsi_disk/*; do
		h=$(basename "$d")
		echo "${h##*:} $(ls "$d/device/block")"
	done
}

# "RELID SUBCHANNEL CPU INTERRUPTS EVENTS" of every hv_storvsc channel.
storvsc_channels() {
	for c in /sys/bus/vmbus/devices/*/channels/*; do
		[ -d "$c" ] || continue
		case $(cat "$c/../../class_id" 2>/dev/null) in
		"{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}")
			echo "$(basename "$c") $(cat "$c/subchannel_id" 2>/dev/null || echo ?)" \
				"$(cat "$c/cpu" 2>/dev/null || echo ?)" \
				"$(cat "$c/interrupts" 2>/dev/null || echo 0)" \
				"$(cat "$c/events" 2>/dev/null || echo 0)"
			;;
		esac
	done
}

# What a stalled disk looks like from here: every hv_storvsc channel's
# ring state (read_avail > 0: completions the host wrote that the guest
# has not taken; write_avail below the ring size: commands the host has
# not read), the requests in flight per disk, the kernel's last words.
dump_state() {
	for c in /sys/bus/vmbus/devices/*/channels/*; do
		[ -d "$c" ] || continue
		case $(cat "$c/../../class_id" 2>/dev/null) in
		"{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}") ;;
		*) continue ;;
		esac
		_l="iotest-guest: state: channel $(basename "$c"):"
		for _f in subchannel_id cpu interrupts events pending read_avail write_avail \
			in_mask out_mask intr_in_full intr_out_empty out_full_first out_full_total; do
			[ -r "$c/$_f" ] && _l="$_l $_f=$(cat "$c/$_f" 2>/dev/null)"
		done
		echo "$_l"
	done
	for _b in /sys/block/sd* /sys/block/vd*; do
		[ -e "$_b/inflight" ] && echo "iotest-guest: state: $(basename "$_b") in flight (reads writes): $(cat "$_b/inflight")"
	done
	dmesg | tail -n 15 | sed 's/^/iotest-guest: state: dmesg: /'
}

# wait_pids SECS PID...: until every PID ended; kills them after SECS.
wait_pids() {
	_lim=$(($1 * 5))
	shift
	_t=0
	for _p in "$@"; do
		while kill -0 "$_p" 2>/dev/null; do
			_t=$((_t + 1))
			if [ "$_t" -gt "$_lim" ]; then
				kill -KILL "$@" 2>/dev/null
				return 1
			fi
			sleep 0.2
		done
	done
	return 0
}

if [ "$mode" = verify ]; then
	scsi_disks "$ndisks" >/tmp/disks
	storvsc_channels >/tmp/chan.before
	echo "iotest-guest: storvsc channels $(wc -l </tmp/chan.before), $ncpu vCPUs"
	pids=
	while read -r lun dev; do
		echo "iotest-guest: lun $lun is $dev, $(($(cat "/sys/block/$dev/size") * 512)) bytes"
		hvis-iotest verify "/dev/$dev" --bs 4096 --iodepth 32 --jobs "$ncpu" \
			--seconds "$secs" --io-timeout 60 >"/tmp/iotest.$lun.log" 2>&1 &
		pids="$pids $!"
		echo "$lun $dev $!" >>/tmp/jobs
	done </tmp/disks
	# shellcheck disable=SC2086 # the PID list is split on purpose
	wait_pids $((secs * 4 + 180)) $pids || echo "iotest-guest: hvis-iotest did not end in time: killed"
	bad=
	while read -r lun dev pid; do
		wait "$pid"
		rc=$?
		sed "s/^/iotest-guest: lun $lun: /" "/tmp/iotest.$lun.log"
		res=$(grep 'hvis-iotest: verify .*: ops=' "/tmp/iotest.$lun.log" | tail -n1)
		echo "iotest-guest: lun $lun $dev result: ${res:-none} (exit status $rc)"
		[ "$rc" = 0 ] || bad=${bad:-"hvis-iotest verify on LUN $lun ($dev) failed (exit status $rc)"}
	done </tmp/jobs
	[ -z "$bad" ] || dump_state
	storvsc_channels >/tmp/chan.after
	unused=
	while read -r id sub cpu int ev; do
		b=$(grep "^$id " /tmp/chan.before)
		set -- $b
		echo "iotest-guest: channel $id sub=$sub cpu=$cpu interrupts=+$((int - ${4:-0})) events=+$((ev - ${5:-0}))"
		[ "$int" -gt "${4:-0}" ] || unused="$unused $id"
	done </tmp/chan.after
	dmesg | grep -i -E 'storvsc|I/O error|blk_update|hung_task' | tail -n 20 | sed 's/^/iotest-guest: dmesg: /'
	[ -z "$bad" ] || why "$bad"
	[ -z "$unused" ] || why "storvsc channel(s)$unused carried no I/O"
	dmesg | grep -q -i 'I/O error' && why "I/O errors in dmesg"
	exit 0
fi

[ "$mode" = bench ] || why "unknown hvis.iotest=$mode"
case $kind in
scsi)
	dev=$(scsi_disks 1 | head -n1 | cut -d' ' -f2)
	echo "iotest-guest: hv_storvsc disk $dev, storvsc channels $(storvsc_channels | wc -l), $ncpu vCPUs"
	;;
virtio)
	i=0
	while [ ! -e /sys/block/vda ]; do
		i=$((i + 1))
		[ "$i" -le 120 ] || why "no virtio-blk disk (vda) within 60 s"
		sleep 0.5
	done
	dev=vda
	echo "iotest-guest: virtio-blk disk $dev, $(ls /sys/block/vda/mq | wc -l) queue(s), $ncpu vCPUs"
	;;
*) why "unknown hvis.disk=$kind" ;;
esac
echo "iotest-guest: $dev is $(($(cat "/sys/block/$dev/size") * 512)) bytes, scheduler $(cat "/sys/block/$dev/queue/scheduler")"
r=1
while [ "$r" -le "$runs" ]; do
	out=$(hvis-iotest randread "/dev/$dev" --bs 4096 --iodepth 32 --jobs "$ncpu" \
		--seconds "$secs" --ramp 1 --io-timeout 60 2>&1) || {
		echo "$out" | sed 's/^/iotest-guest: /'
		dump_state
		why "randread run $r failed"
	}
	echo "iotest-guest: run $r randread $(echo "$out" | grep '^iops=')"
	out=$(hvis-iotest seqread "/dev/$dev" --bs 131072 --iodepth 32 --jobs 1 \
		--seconds "$secs" --ramp 1 --io-timeout 60 2>&1) || {
		echo "$out" | sed 's/^/iotest-guest: /'
		dump_state
		why "seqread run $r failed"
	}
	echo "iotest-guest: run $r seqread $(echo "$out" | grep '^mbps=')"
	r=$((r + 1))
done
dmesg | grep -q -i 'I/O error' && why "I/O errors in dmesg"
exit 0
