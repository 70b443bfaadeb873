#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# wall.sh - the contention profiles and the wall-clock profiler on
# bench/bench_wall.c's workloads, runs alternated, medians:
#   lock       ns per uncontended pthread_mutex_lock/unlock pair (median and
#              p99 of 256-pair batches): no libcprof, libcprof with the
#              profiles off, with CPROF_MUTEX_FRACTION=1 and
#              CPROF_BLOCK_RATE=1; Go's sync.Mutex with its profiles off/on
#   contended  acquisitions/s of one mutex taken by 4 threads, same
#              variants
#   mix        8 and 64 threads computing 200 us / waiting 200 us: work/s
#              and CPU/s with no libcprof, libcprof idle, CPROF_WALL at
#              100 Hz (and the sampler's own CPU time), CPROF_CPU at
#              100 Hz for reference
#
#   bench/wall.sh BUILD_DIR [ROUNDS]
#
# Needs golang-go for the Go twin (scripts/deps.sh bench).
set -eu
build=${1:?usage: bench/wall.sh BUILD_DIR [ROUNDS]}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go_peer=""
if command -v go >/dev/null 2>&1; then
    GOCACHE="$work/gocache" go build -o "$work/go_contention" \
        "$here/go/contention/main.go" && go_peer="$work/go_contention"
fi
CPROF_BUILD="$(cd "$build" && pwd)" exec python3 "$here/wall_bench.py" \
    --rounds "${2:-5}" --go "$go_peer"
