#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# heap.sh - the heap profiler against no profiler, gperftools' heap
# profiler (LD_PRELOAD=libtcmalloc.so HEAPPROFILE=...) and heaptrack on the
# same malloc-heavy workload (bench/bench_heap.c: 10k live blocks of
# 16 B-4 KiB, 10M operations per thread, 1 and 2 threads), runs
# alternated, medians of CPU time (user + system of every process the
# profiler runs); then callgrind instruction counts for plain and cprof.
#
#   bench/heap.sh BUILD_DIR [ROUNDS [--no-peers]]
#
# Needs google-perftools, heaptrack and valgrind (scripts/deps.sh bench).
# Results go to docs/performance.md.
set -eu
build=${1:?usage: bench/heap.sh BUILD_DIR [ROUNDS]}
here=$(cd "$(dirname "$0")" && pwd)
rounds=${2:-5}
[ $# -ge 2 ] && shift 2 || shift $#
CPROF_BUILD="$(cd "$build" && pwd)" exec python3 "$here/heap_bench.py" \
    --rounds "$rounds" "$@"
