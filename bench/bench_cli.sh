#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# bench_cli.sh - `cprof -top` against `go tool pprof -top` on big profiles
# (issue 3's benchmark), in the same run, alternated:
#
#   sh bench/bench_cli.sh BUILD_DIR [RUNS]        (default 3 runs each)
#
# Inputs, synthesized by BUILD_DIR/bench/gen_profile (deterministic):
#   big.pb.gz    CPU profile.proto, 1,000,000 samples over 120,000 distinct
#                stacks (depth up to 48), 6,000 functions, thread labels
#   heap100.txt  Go debug=1 heap text of 100 MB (symbol comments included)
# For each: wall time, CPU time (user+sys) and peak RSS (/usr/bin/time),
# medians of RUNS, and the ratios. The two tools' outputs are compared
# first (cprof reads Go's symbol comments, which go tool pprof ignores, so
# the heap text is also timed with -symbolize=none, whose output is
# go tool pprof's byte for byte).
set -eu
build=${1:?usage: bench/bench_cli.sh BUILD_DIR [RUNS]}
runs=${2:-3}
cprof="$build/cli/cprof"
gen="$build/bench/gen_profile"
out="$build/bench/cli"
mkdir -p "$out"
export TZ=UTC
command -v go >/dev/null || { echo "bench_cli.sh: go (golang-go) is needed" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench_cli.sh: /usr/bin/time (time) is needed" >&2; exit 2; }
[ -f "$out/big.pb.gz" ] || "$gen" cpu -o "$out/big.pb.gz" -n 1000000 -s 120000 -f 6000
[ -f "$out/heap100.txt" ] || "$gen" heaptext -o "$out/heap100.txt" -m 100

# one timed run: prints "wall cpu rss_kb"
timed() {
    /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" "$@" >"$out/stdout.txt" 2>/dev/null
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$out/time.txt"
}

median() {
    sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

bench() { # name file [cprof flags]
    name=$1
    file=$2
    shift 2
    "$cprof" -top -nodecount=20 "$@" "$file" >"$out/c.txt" 2>/dev/null
    go tool pprof -top -nodecount=20 "$file" >"$out/g.txt" 2>/dev/null
    if cmp -s "$out/c.txt" "$out/g.txt"; then same="identical output"; else same="outputs differ"; fi
    : >"$out/c.runs"
    : >"$out/g.runs"
    i=0
    while [ "$i" -lt "$runs" ]; do
        timed "$cprof" -top -nodecount=20 "$@" "$file" >>"$out/c.runs"
        timed go tool pprof -top -nodecount=20 "$file" >>"$out/g.runs"
        i=$((i + 1))
    done
    for col in 1 2 3; do
        eval "c$col=\$(cut -d' ' -f$col \"\$out/c.runs\" | median)"
        eval "g$col=\$(cut -d' ' -f$col \"\$out/g.runs\" | median)"
    done
    # shellcheck disable=SC2154
    awk -v n="$name $*" -v s="$same" -v c1="$c1" -v c2="$c2" -v c3="$c3" \
        -v g1="$g1" -v g2="$g2" -v g3="$g3" 'BEGIN {
        printf "%s (%s)\n", n, s
        printf "  cprof:         wall %7.2f s  cpu %7.2f s  peak RSS %7.0f MB\n", c1, c2, c3 / 1024
        printf "  go tool pprof: wall %7.2f s  cpu %7.2f s  peak RSS %7.0f MB\n", g1, g2, g3 / 1024
        printf "  ratio:         wall %6.1fx   cpu %6.1fx   memory %6.1fx less\n", g1 / c1, g2 / c2, g3 / c3
    }'
}

echo "bench_cli.sh: medians of $runs alternated runs, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bench "1M samples, 120k stacks (proto)" "$out/big.pb.gz"
bench "100 MB Go heap text" "$out/heap100.txt"
bench "100 MB Go heap text" "$out/heap100.txt" -symbolize=none
