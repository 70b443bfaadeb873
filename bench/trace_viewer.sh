#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# trace_viewer.sh BUILD [ITERATIONS] [RUNS] - the trace viewer on a
# 1M-event trace: tests/browser/trace_prog.c -n ITERATIONS (default 83000:
# 3 threads x 83000 x 2 nested regions, a log every 64 = 1.0 M events)
# opened with cprof trace -http, and its Go twin (bench/go/trace_view,
# runtime/trace, the same work: 1.0 M events) with go tool trace, in the
# same headless Chromium, alternated RUNS times (default 5). Prints the
# server side alone (bench_trace_view), then trace_viewer_bench.js's
# medians and ratios. Results: docs/performance.md, "Execution tracer".
set -eu
build=$(cd "${1:?usage: bench/trace_viewer.sh BUILD [ITERATIONS] [RUNS]}" && pwd)
iters=${2:-83000}
runs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
out=$build/bench/trace_viewer
mkdir -p "$out"

for t in /usr/bin/chromium node npm go; do
    command -v "$t" >/dev/null 2>&1 || { echo "trace_viewer.sh: $t is missing (scripts/deps.sh bench)"; exit 1; }
done
# the browser tests' playwright-core (same lock file, same place)
npmdir=$build/tests/browser/npm
mkdir -p "$npmdir"
(
    flock 9
    if [ ! -f "$npmdir/node_modules/playwright-core/package.json" ] ||
        ! cmp -s "$src/tests/browser/package-lock.json" "$npmdir/package-lock.json"; then
        cp "$src/tests/browser/package.json" "$src/tests/browser/package-lock.json" "$npmdir/" &&
            cd "$npmdir" && npm_config_cache="$npmdir/.cache" \
            npm ci --no-audit --no-fund --loglevel=error
    fi
) 9>"$npmdir/.lock"

export GO111MODULE=off GOFLAGS='' GOCACHE="${GOCACHE:-$out/gocache}"
go build -o "$out/trace_view_go" "$here/go/trace_view/main.go"
"$build/tests/browser/trace_browser_prog" "$out/cprof.trace" -n "$iters"
"$out/trace_view_go" -n "$iters" -trace "$out/go.trace"
cev=$("$build/cli/cprof" trace -summary=json "$out/cprof.trace" |
    python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["events"].values()))')
gev=$(go tool trace -d "$out/go.trace" 2>/dev/null | wc -l)
echo "trace_viewer.sh: cprof trace $cev events, $(wc -c <"$out/cprof.trace") bytes; Go trace $gev events, $(wc -c <"$out/go.trace") bytes"
echo "== the server side alone (wall time)"
"$build/bench/bench_trace_view" "$out/cprof.trace"
echo "== in headless Chromium"
CPROF_BIN=$build/cli/cprof NODE_PATH=$npmdir/node_modules \
    node "$here/trace_viewer_bench.js" "$out/cprof.trace" "$out/go.trace" "$runs"
