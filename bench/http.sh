#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# http.sh - the live endpoint against Go's net/http/pprof on the same
# workload (10k sampled live allocations, 64 sleeping threads/goroutines),
# in the same run: latency (median, p99) of the index, heap?debug=1 and
# goroutine?debug=1 and =2, requests/s on the index, and the CPU a
# goroutine?debug=2 snapshot costs the program.
#
#   bench/http.sh BUILD_DIR
#
# Needs go (scripts/deps.sh bench). Results go to docs/performance.md.
set -eu
build=${1:?usage: bench/http.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work="$(cd "$build" && pwd)/bench/http"
mkdir -p "$work"
export GO111MODULE=off GOFLAGS= GOCACHE="${GOCACHE:-$work/gocache}"
go build -o "$work/http_peer" "$here/go/http_peer/main.go"
CPROF_BUILD="$(cd "$build" && pwd)" python3 "$here/http_bench.py" \
    "$build/tests/http/http_busy" "$work/http_peer"
