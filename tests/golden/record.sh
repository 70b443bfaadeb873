#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# record.sh - refresh the expected outputs of the golden tests after an
# intended change (of the test profiles in tests/data, or of go tool pprof):
#   tests/golden/record.sh [CPROF]
# Each case of cases.txt is run in tests/data/gen with TZ=UTC and an empty
# HOME; NAME.out is what `go tool pprof ARGS` prints, or for "self-" cases
# what CPROF (default build/cli/cprof) prints: review those diffs by hand.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$(dirname "$here")")
cprof=${1:-$src/build/cli/cprof}
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
cd "$src/tests/data/gen"
grep -v '^#' "$here/cases.txt" | while read -r name args; do
    [ -n "$name" ] || continue
    case "$name" in
    self-*) cmd="$cprof" ;;
    *) cmd="go tool pprof" ;;
    esac
    # shellcheck disable=SC2086
    TZ=UTC HOME=$home PPROF_TMPDIR=$home $cmd $args >"$here/$name.out" 2>/dev/null
    echo "record.sh: $name.out ($cmd)"
done
