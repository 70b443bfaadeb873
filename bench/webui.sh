#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# webui.sh BUILD [STACKS] [RUNS] [PPROF_RUNS] - benchmark of the web UI: a
# synthetic CPU profile with STACKS distinct stacks (default 100000),
# opened in headless Chromium with cprof -http and with go tool pprof
# -http, alternated RUNS times (default 5): time to the first drawn flame
# graph, bytes sent to the page; for cprof also a zoom, a search and a
# change of sample type. Prints medians and ratios (bench/webui_bench.js).
# PPROF_RUNS (default RUNS) limits the go tool pprof runs, which take
# minutes each at 100k stacks.
set -eu
build=$(cd "${1:?usage: bench/webui.sh BUILD [STACKS] [RUNS]}" && pwd)
stacks=${2:-100000}
runs=${3:-5}
pprof_runs=${4:-$runs}
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
out=$build/bench/webui/$stacks
mkdir -p "$out"

for t in /usr/bin/chromium node npm; do
    command -v "$t" >/dev/null 2>&1 || { echo "webui.sh: $t is missing (scripts/deps.sh bench)"; exit 1; }
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

"$build/tests/browser/webui_gen" "$out" "$src/tests/browser/fixture_src.c" "$stacks"
echo "webui.sh: $out/big.prof: $stacks distinct stacks, $(wc -c <"$out/big.prof") bytes"
export GOCACHE="${GOCACHE:-$out/gocache}" PPROF_TMPDIR="$out"
# the server side alone, in CPU time
"$build/bench/bench_webui" "$out/big.prof" "$runs"
CPROF_BIN=$build/cli/cprof NODE_PATH=$npmdir/node_modules \
    node "$here/webui_bench.js" "$out/big.prof" "$runs" "$pprof_runs"
