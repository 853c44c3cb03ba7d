#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvis-timeout: 120
#
# Scenario hyperv-cpuid: the host's /dev/kvm (layer 1's kvm_amd in the
# test host) gives hvis what its Hyper-V emulation needs. hvis-kvmcheck
# lists the capabilities, runs a tiny guest with the Hyper-V CPUID table
# and checks that the synthetic MSRs reach userspace through the MSR
# filter. Passes only if hvis-kvmcheck confirms every check.
set -eu
# shellcheck source=tests/scenarios/lib/scenario.sh
. "$HVIS_SCENARIOS/lib/scenario.sh"
hvis_require_env HVIS_BIN HVIS_WORK

[ -c /dev/kvm ] || hvis_fail "no /dev/kvm"
[ -x "$HVIS_BIN/hvis-kvmcheck" ] || hvis_fail "no $HVIS_BIN/hvis-kvmcheck"

out=$HVIS_WORK/kvmcheck.out
rc=0
"$HVIS_BIN/hvis-kvmcheck" -t 60 >"$out" 2>&1 || rc=$?
cat "$out"
if [ "$rc" -ne 0 ]; then
	why=$(grep -m1 -E '^  FAIL |error|failed' "$out" | sed 's/^ *//') || true
	hvis_fail "hvis-kvmcheck exit status $rc${why:+: $why}"
fi
grep -q '^hvis-kvmcheck: PASS' "$out" || hvis_fail "hvis-kvmcheck printed no PASS line"
