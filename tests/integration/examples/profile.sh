#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# profile.sh BUILD_DIR WORKDIR - the examples profiled the three ways users
# do it, read back with go tool pprof (and cprof -top once it works):
#   hash_bench -cpuprofile FILE           (cprof_cpu_start/stop in code)
#   CPROF_CPU=FILE LD_PRELOAD=libcprof.so hash_bench   (no code change)
#   simple FILE                           (the Go notes' first snippet)
# hash_bench's hot function must dominate, simple's three functions must
# all show with roughly their shares.
set -u
build=$1
work=$2
mkdir -p "$work"
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
command -v go >/dev/null || { echo "SKIP: go not installed (scripts/deps.sh check installs golang-go)"; exit 77; }
export GOCACHE="$work/gocache" PPROF_TMPDIR="$work"

top() { # profile -> go tool pprof -top text, or nothing
    go tool pprof -top -nodecount=40 "$1" 2>"$work/pprof.err" ||
        fail "go tool pprof cannot read $1: $(cat "$work/pprof.err")"
}
flat_pct() { # top-text function -> its flat% as an integer (0 if absent)
    echo "$1" | awk -v f="$2" '$6 == f { sub("%", "", $2); printf "%d", $2; found=1 } END { if (!found) print 0 }'
}
cum_pct() {
    echo "$1" | awk -v f="$2" '$6 == f { sub("%", "", $5); printf "%d", $5; found=1 } END { if (!found) print 0 }'
}
check_hash_bench() { # profile what
    t=$(top "$1")
    f=$(flat_pct "$t" fnv1a_64)
    c=$(cum_pct "$t" hash_range)
    [ "$f" -ge 60 ] || { fail "$2: fnv1a_64 has $f% flat, want >= 60%"; echo "$t"; }
    [ "$c" -ge 90 ] || { fail "$2: hash_range has $c% cum, want >= 90%"; echo "$t"; }
    if "$build/cli/cprof" -top "$1" >"$work/cprof.top" 2>&1; then
        grep -q fnv1a_64 "$work/cprof.top" || fail "$2: cprof -top does not show fnv1a_64"
    fi
}

hb=$build/examples/hash_bench
rm -f "$work/code.prof" "$work/preload.prof"
"$hb" -n 15000000 -t 2 -cpuprofile "$work/code.prof" >/dev/null 2>"$work/err" ||
    fail "hash_bench -cpuprofile: exit $?: $(cat "$work/err")"
[ -s "$work/code.prof" ] && check_hash_bench "$work/code.prof" "hash_bench -cpuprofile" ||
    fail "hash_bench -cpuprofile wrote no profile"

if [ "${CPROF_SANITIZED:-0}" = 1 ]; then
    # ASan's runtime must come first in the library list: no LD_PRELOAD.
    echo "note: LD_PRELOAD run skipped in the sanitizer build"
else
    CPROF_CPU="$work/preload.prof" LD_PRELOAD="$build/src/libcprof.so" \
        "$hb" -n 15000000 -t 2 >/dev/null 2>"$work/err" ||
        fail "CPROF_CPU hash_bench: exit $?: $(cat "$work/err")"
    [ -s "$work/preload.prof" ] && check_hash_bench "$work/preload.prof" "CPROF_CPU + LD_PRELOAD" ||
        fail "CPROF_CPU + LD_PRELOAD wrote no profile"
fi

# hash_bench -cpuprofile to a directory that does not exist: a sentence, exit 1.
"$hb" -n 1000 -cpuprofile "$work/no/such/dir/x.prof" >/dev/null 2>"$work/err"
rc=$?
[ $rc = 1 ] && grep -q "cannot start the CPU profile" "$work/err" ||
    fail "unwritable -cpuprofile: exit $rc, stderr: $(cat "$work/err")"

rm -f "$work/simple.prof"
"$build/examples/simple" "$work/simple.prof" >"$work/out" 2>"$work/err" ||
    fail "simple: exit $?: $(cat "$work/err")"
if [ -s "$work/simple.prof" ]; then
    t=$(top "$work/simple.prof")
    p=$(flat_pct "$t" count_primes)
    f=$(flat_pct "$t" fib)
    s=$(cum_pct "$t" sort_floats)
    # perf measures 52/28/19 here; wide bands, never exact ratios.
    [ "$p" -ge 30 ] && [ "$p" -le 75 ] || fail "simple: count_primes $p% flat, want 30-75%"
    [ "$f" -ge 12 ] && [ "$f" -le 50 ] || fail "simple: fib $f% flat, want 12-50%"
    [ "$s" -ge 8 ] && [ "$s" -le 40 ] || fail "simple: sort_floats $s% cum, want 8-40%"
    [ $fails = 0 ] || echo "$t"
else
    fail "simple wrote no profile"
fi

[ $fails = 0 ] && echo "PASS: hash_bench and simple profiled in code and by LD_PRELOAD"
[ $fails = 0 ]
