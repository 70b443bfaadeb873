#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# trace.sh - the execution tracer's costs beside Go's runtime/trace, in
# the same run:
#   1. a region begin+end pair and a log, each call timed alone (median,
#      p99), cprof (bench_trace) and Go (bench/go/trace_hash -micro);
#   2. hash_bench's work with a region every K hashes (~100k regions/s),
#      untraced and traced, C (bench_trace_hash) and Go (trace_hash):
#      RUNS alternated runs each, median wall time and CPU time (user +
#      sys, which includes the tracers' own writer threads), overhead
#      ratios, and the bytes of each trace per event.
#
#   bench/trace.sh BUILD_DIR [RUNS] [HASHES]
set -eu
build=${1:?usage: trace.sh BUILD_DIR [RUNS] [HASHES]}
runs=${2:-5}
hashes=${3:-100000000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GO111MODULE=off GOFLAGS= GOCACHE="${GOCACHE:-$work/gocache}"
go build -o "$work/trace_hash_go" "$here/go/trace_hash/main.go"
cbench=$build/bench/bench_trace
chash=$build/bench/bench_trace_hash
cprof=$build/cli/cprof

echo "== one call, timed alone (rdtsc / time.Now around each; timing cost subtracted)"
"$cbench" -n 2000000 -o "$work/micro.trace"
"$work/trace_hash_go" -micro 2000000 -trace "$work/micro_go.trace"

echo "== the viewer's side: a trace of 1M region events"
"$cbench" -n 500000 -o "$work/view.trace" >/dev/null
"$build/bench/bench_trace_view" "$work/view.trace"

# K for ~100k regions per second of CPU time (this machine is shared:
# wall time says more about the neighbours), from an untraced C run
/usr/bin/time -f '%U %S' -o "$work/t" "$chash" -n 20000000 -k 100 >/dev/null
secs=$(awk '{print $1 + $2}' "$work/t")
k=$(awk -v s="$secs" 'BEGIN {k = int(20000000 / s / 100000); if (k < 1) k = 1; print k}')
echo "== hash_bench's work, $hashes hashes, a region every $k hashes (~100k regions per CPU second), median of $runs alternated runs"

run() { # label command... -> appends "wall cpu" to $work/$label
    label=$1
    shift
    /usr/bin/time -f '%e %U %S' -o "$work/t" "$@" >"$work/out" 2>&1 ||
        { cat "$work/out"; exit 1; }
    w=$(awk '{print $6}' "$work/out")
    awk -v w="$w" '{printf "%s %.3f\n", w, $2 + $3}' "$work/t" >>"$work/$label"
}

i=0
while [ "$i" -lt "$runs" ]; do
    run c_off "$chash" -n "$hashes" -k "$k"
    run c_on "$chash" -n "$hashes" -k "$k" -trace "$work/c.trace"
    run go_off "$work/trace_hash_go" -n "$hashes" -k "$k"
    run go_on "$work/trace_hash_go" -n "$hashes" -k "$k" -trace "$work/go.trace"
    i=$((i + 1))
done
med() { sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'; }
for l in c_off c_on go_off go_on; do
    eval "${l}_w=$(awk '{print $1}' "$work/$l" | med)"
    eval "${l}_c=$(awk '{print $2}' "$work/$l" | med)"
done
regions=$(( hashes / k ))
printf "%-22s %10s %10s\n" "" "wall s" "CPU s"
printf "%-22s %10s %10s\n" "C untraced" "$c_off_w" "$c_off_c"
printf "%-22s %10s %10s\n" "C traced (cprof)" "$c_on_w" "$c_on_c"
printf "%-22s %10s %10s\n" "Go untraced" "$go_off_w" "$go_off_c"
printf "%-22s %10s %10s\n" "Go traced (runtime/trace)" "$go_on_w" "$go_on_c"
awk -v a="$c_off_w" -v b="$c_on_w" -v c="$go_off_w" -v d="$go_on_w" \
    -v e="$c_off_c" -v f="$c_on_c" -v g="$go_off_c" -v h="$go_on_c" \
    -v r="$(( hashes / k ))" 'BEGIN {
    printf "overhead of tracing, CPU time: cprof %+.1f%%, Go %+.1f%% (wall: cprof %+.1f%%, Go %+.1f%%)\n",
        100 * (f / e - 1), 100 * (h / g - 1), 100 * (b / a - 1), 100 * (d / c - 1)
    printf "regions per CPU second (untraced C): %.0f; CPU per region: cprof %.0f ns, Go %.0f ns\n",
        r / e, 1e9 * (f - e) / r, 1e9 * (h - g) / r }'
cs=$(stat -c %s "$work/c.trace")
gs=$(stat -c %s "$work/go.trace")
lost=$("$cprof" trace -summary=json "$work/c.trace" | sed 's/.*"lost":\([0-9]*\).*/\1/')
awk -v cs="$cs" -v gs="$gs" -v r="$regions" -v lost="$lost" 'BEGIN {
    printf "trace size for %d regions (%d events): cprof %d bytes (%.2f B/event, %s lost), Go %d bytes (%.2f B/event)\n",
        r, 2 * r, cs, cs / (2 * r), lost, gs, gs / (2 * r) }'
