#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# check.sh - the golden tests: `cprof ARGS` for every case of cases.txt
# must print NAME.out byte for byte (what go tool pprof printed, see
# record.sh). Usage: tests/golden/check.sh CPROF. Exit status 1 and the
# first lines of each difference when any case differs.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$(dirname "$here")")
cprof=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
cd "$src/tests/data/gen" || exit 1
fail=0
total=0
grep -v '^#' "$here/cases.txt" | {
    while read -r name args; do
        [ -n "$name" ] || continue
        total=$((total + 1))
        # shellcheck disable=SC2086
        TZ=UTC HOME=$home PPROF_TMPDIR=$home "$cprof" $args >"$home/out" 2>"$home/err"
        if ! cmp -s "$home/out" "$here/$name.out"; then
            echo "golden: $name differs (cprof $args):"
            diff "$here/$name.out" "$home/out" | head -20
            sed 's/^/  stderr: /' "$home/err" | head -5
            fail=$((fail + 1))
        fi
    done
    echo "golden: $((total - fail)) of $total cases match"
    [ "$fail" -eq 0 ]
}
