#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run_cpu.sh - CPU profiler benchmarks (issue 2): cost per sample, then
# cprof against gperftools and perf on the same workloads in the same run.
#
#   sh bench/run_cpu.sh [BUILD] [ROUNDS]      (BUILD defaults to build)
#
# 1. bench_unwind: ns per sample inside cprof's handler (median, p99) and
#    end to end, frame-pointer and DWARF paths, stack depths 8/32/128.
# 2. cpu_peers.py: CPU-time overhead of cprof, gperftools (CPUPROFILE,
#    also CPUPROFILE_PER_THREAD_TIMERS=1) and `perf record -F -g` at 100
#    and 1000 Hz on examples/hash_bench (1 and 2 threads) and a
#    100-frame-deep recursion, and how much of the program's CPU time each
#    profile accounts for. Alternated rounds, medians.
# Needs go (pprof), google-perftools and linux-perf: scripts/deps.sh bench.
# Results: docs/performance.md, "CPU profiler".
set -eu

BUILD=${1:-build}
ROUNDS=${2:-5}
HERE=$(dirname "$0")

[ -x "$BUILD/bench/bench_unwind" ] || {
    echo "run_cpu.sh: build first ($BUILD/bench/bench_unwind missing)" >&2
    exit 1
}

echo "== cost per sample: $BUILD/bench/bench_unwind -d 8,32,128 -n 2000 -r 7 -e 1000"
"$BUILD/bench/bench_unwind" -d 8,32,128 -n 2000 -r 7 -e 1000
echo
echo "== end to end at 10 kHz: $BUILD/bench/bench_unwind -d 32 -n 500 -r 7 -e 10000"
"$BUILD/bench/bench_unwind" -d 32 -n 500 -r 7 -e 10000
echo
echo "== peers: python3 $HERE/cpu_peers.py $BUILD $ROUNDS"
python3 "$HERE/cpu_peers.py" "$BUILD" "$ROUNDS"
