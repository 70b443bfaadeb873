#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run.sh - run every libFuzzer target of a fuzz build for a while.
#
#   fuzz/run.sh BUILD_DIR [SECONDS]      (make fuzz FUZZ_SECONDS=N)
#
# Each BUILD_DIR/fuzz/fuzz_<name> runs SECONDS (default 10) on the seeds in
# fuzz/corpus/<name>/ (read only: new inputs go to a scratch corpus under
# BUILD_DIR/fuzz/work/<name>/, which later runs start from too). A crash,
# leak, timeout or sanitizer report stops that fuzzer, leaves the input in
# BUILD_DIR/fuzz/artifacts/, and makes this script exit non-zero after the
# others ran.
set -u
build=${1:?usage: fuzz/run.sh BUILD_DIR [SECONDS]}
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
fdir="$build/fuzz"
[ -d "$fdir" ] || { echo "run.sh: no $fdir (build the fuzzers target)" >&2; exit 2; }
mkdir -p "$fdir/artifacts"
status=0
found=0
for bin in "$fdir"/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    found=$((found + 1))
    name=${bin##*/fuzz_}
    seeds="$here/corpus/$name"
    work="$fdir/work/$name"
    mkdir -p "$work"
    [ -d "$seeds" ] || { echo "run.sh: fuzz_$name has no corpus dir $seeds" >&2; seeds=""; }
    echo "run.sh: fuzz_$name for ${secs}s"
    log="$fdir/fuzz_$name.log"
    # shellcheck disable=SC2086
    if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$fdir/artifacts/fuzz_$name-" \
        "$work" $seeds >"$log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^Done" "$log" | tail -2
    else
        echo "run.sh: fuzz_$name FAILED; log: $log" >&2
        grep -E "ERROR|SUMMARY|Test unit written|panic|==[0-9]+==" "$log" | head -20 >&2
        status=1
    fi
done
[ "$found" -gt 0 ] || { echo "run.sh: no fuzz_* binaries in $fdir" >&2; exit 2; }
exit $status
