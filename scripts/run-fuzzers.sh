#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run-fuzzers.sh SECONDS FUZZER...: run each libFuzzer binary for SECONDS
# on its own corpus (build/fuzz/corpus-<name>, kept between runs). A crash
# fails the run and leaves the reproducer beside the corpus.
set -u
secs=$1
shift
bad=0
for f in "$@"; do
	name=$(basename "$f")
	dir=$(dirname "$f")
	corpus="$dir/corpus-${name#fuzz_}"
	log="$dir/$name.log"
	mkdir -p "$corpus"
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$dir/$name-" "$corpus" >"$log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n1)
		echo "fuzz $name: ok (${runs:-no summary}, ${secs}s)"
	else
		echo "fuzz $name: FAILED, last lines of $log:"
		tail -n 30 "$log"
		bad=1
	fi
done
exit $bad
