#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# checksums.sh BUILD_DIR WORKDIR - examples/hash_bench_fast computes the
# same hash as examples/hash_bench: every -impl (naive, ilp, simd where the
# CPU has AVX2, and the default) prints hash_bench's checksum for -n values
# around the batch sizes (8 and 16 messages) and thread counts that split
# them unevenly, and the independent Python reference agrees for small -n.
# Bad -impl values exit 2 with the usage line.
set -u
build=$1
work=$2
src=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$work"
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
naive=$build/examples/hash_bench
fast=$build/examples/hash_bench_fast
[ -x "$fast" ] || { echo "FAIL: $fast not built"; exit 1; }

checksum() { # prog args... -> the checksum of its result line
    out=$("$@" 2>"$work/stderr") || { fail "$* exited $?: $(cat "$work/stderr")"; return; }
    echo "$out" | grep -Eq '^hash_bench: [0-9]+ hashes in [0-9.]+ s: [0-9]+ hashes/s \([0-9]+ threads\) checksum 0x[0-9a-f]{16}$' ||
        fail "$*: result line malformed: $out"
    echo "$out" | sed -n 's/.*checksum \(0x[0-9a-f]*\)$/\1/p'
}

impls="naive ilp"
if "$fast" -impl simd -n 16 >/dev/null 2>&1; then
    impls="$impls simd"
else
    echo "note: no AVX2 on this CPU, -impl simd not tested"
fi

tried=0
for n in 1 7 8 15 16 17 33 1003 65537 250007; do
    for t in 1 2 3 7; do
        want=$(checksum "$naive" -n $n -t $t)
        [ -n "$want" ] || continue
        for impl in $impls; do
            got=$(checksum "$fast" -n $n -t $t -impl "$impl")
            [ "$got" = "$want" ] || fail "-n $n -t $t -impl $impl: $got, hash_bench says $want"
            tried=$((tried + 1))
        done
        got=$(checksum "$fast" -n $n -t $t)
        [ "$got" = "$want" ] || fail "-n $n -t $t (default impl): $got, hash_bench says $want"
    done
done
# The reference computed without either program.
for n in 17 2000; do
    ref=$(python3 "$src/tests/integration/examples/hash_ref.py" $n)
    for impl in $impls; do
        got=$(checksum "$fast" -n $n -t 3 -impl "$impl")
        [ "$got" = "$ref" ] || fail "-n $n -impl $impl: $got, hash_ref.py says $ref"
    done
done
# More threads than hashes, and Go's flag spellings.
for impl in $impls; do
    got=$(checksum "$fast" -n 5 -t 64 -impl="$impl")
    [ "$got" = "$(python3 "$src/tests/integration/examples/hash_ref.py" 5)" ] ||
        fail "-n 5 -t 64 -impl=$impl: $got"
    got=$(checksum "$fast" --n=4099 --impl "$impl" --t=5)
    [ "$got" = "$(checksum "$naive" -n 4099 -t 1)" ] || fail "--n=4099 --impl $impl: $got"
done
# Bad values: exit 2, the usage on stderr, nothing on stdout.
for args in "-impl" "-impl fast" "-impl=" "-impl NAIVE" "-x 1"; do
    # shellcheck disable=SC2086
    "$fast" $args >"$work/out" 2>"$work/err"
    rc=$?
    [ $rc = 2 ] || fail "hash_bench_fast $args: exit $rc, want 2"
    grep -q "usage: hash_bench_fast" "$work/err" || fail "hash_bench_fast $args: no usage line"
    [ -s "$work/out" ] && fail "hash_bench_fast $args: wrote to stdout"
done

[ $fails = 0 ] && echo "PASS: $tried runs of hash_bench_fast ($impls) give hash_bench's checksum"
[ $fails = 0 ]
