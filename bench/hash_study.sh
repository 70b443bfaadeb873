#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# hash_study.sh [--quick] [--doc] [--no-browser] [BUILD_DIR [OUT_DIR]]
#
# The hash_bench study (docs/hash-bench-study.md; `make study`): hash_bench
# in C and in Go side by side, pinned and unpinned, then profiled with
# cprof, optimised where the profile points (examples/hash_bench_fast.c),
# traced, with a table and plots. Under 10 minutes on a 2-core machine;
# --quick (under a minute, for tests) runs one repetition of fewer
# configurations and skips the browser screenshots.
#
#   BUILD_DIR  a configured and built tree (default: build)
#   OUT_DIR    where results.md, runs.csv and the pictures go
#              (default: BUILD_DIR/study/out)
#   --doc      write into docs/hash-bench-study/ and replace the measured
#              block of docs/hash-bench-study.md (how the committed
#              document was made)
#
# The Go twin (examples/go/hash_bench) is built here with Debian's go, its
# build cache inside BUILD_DIR, nothing fetched. Needs python3, go and
# taskset; gnuplot (plots) and chromium (web UI screenshots) when present;
# scripts/deps.sh bench installs them all.
set -eu

quick='' doc='' nobrowser=''
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=--quick ;;
    --doc) doc=1 ;;
    --no-browser) nobrowser=--no-browser ;;
    -h | --help)
        sed -n '3,23p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "hash_study.sh: unknown option $1 (--quick, --doc, --no-browser)" >&2
        exit 2
        ;;
    *) break ;;
    esac
    shift
done

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || {
    echo "hash_study.sh: no build directory ${1:-build}: run make first" >&2
    exit 1
}
work=$build/study
out=${2:-$work/out}
docarg=
if [ -n "$doc" ]; then
    out=$src/docs/hash-bench-study
    docarg="--doc $src/docs/hash-bench-study.md"
fi
mkdir -p "$work" "$out"

for tool in python3 go taskset; do
    command -v $tool >/dev/null 2>&1 || {
        echo "hash_study.sh: $tool is missing (sh scripts/deps.sh bench installs what the study needs)" >&2
        exit 1
    }
done

# The Go twin: standard library only, so GOPROXY=off and a cache in the
# build tree are all it takes.
gobin=$work/hash_bench_go
if ! (cd "$src/examples/go/hash_bench" && GOCACHE="$work/gocache" GOPATH="$work/gopath" \
    GOFLAGS='' GOPROXY=off GO111MODULE=on go build -o "$gobin" .) >"$work/gobuild.log" 2>&1; then
    cat "$work/gobuild.log" >&2
    echo "hash_study.sh: go build of examples/go/hash_bench failed" >&2
    exit 1
fi

# shellcheck disable=SC2086
exec python3 "$src/bench/hash_study.py" --build "$build" --src "$src" --go "$gobin" \
    --work "$work" --out "$out" $quick $nobrowser $docarg
