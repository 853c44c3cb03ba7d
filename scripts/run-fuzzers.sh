#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run-fuzzers.sh SECONDS FUZZER...: run each libFuzzer binary for SECONDS
# on its own corpus (build/fuzz/corpus-<name>, kept between runs), as many
# at a time as there are CPUs (HVIS_FUZZ_JOBS overrides), each reported in
# the order given. A crash fails the run and leaves the reproducer beside
# the corpus.
set -u
secs=$1
shift
jobs=${HVIS_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

run_one() {
	local f=$1 name dir corpus log
	name=$(basename "$f")
	dir=$(dirname "$f")
	corpus="$dir/corpus-${name#fuzz_}"
	log="$dir/$name.log"
	mkdir -p "$corpus"
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$dir/$name-" "$corpus" >"$log" 2>&1; then
		echo ok >"$log.status"
	else
		echo failed >"$log.status"
	fi
}

pids=()
for f in "$@"; do
	rm -f "$(dirname "$f")/$(basename "$f").log.status"
	run_one "$f" &
	pids+=($!)
	# at most $jobs at once: wait for the oldest
	if [ ${#pids[@]} -ge "$jobs" ]; then
		wait "${pids[0]}"
		pids=("${pids[@]:1}")
	fi
done
wait

bad=0
for f in "$@"; do
	name=$(basename "$f")
	log="$(dirname "$f")/$name.log"
	if [ "$(cat "$log.status" 2>/dev/null)" = ok ]; then
		runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n1)
		echo "fuzz $name: ok (${runs:-no summary}, ${secs}s)"
	else
		echo "fuzz $name: FAILED, last lines of $log:"
		tail -n 30 "$log"
		bad=1
	fi
	rm -f "$log.status"
done
exit $bad
