#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# regen.sh - rebuild the sample Go profiles in tests/data from main.go with
# Debian's go (go1.19): go-cpu.prof (CPU, labels, inlined frames) and
# go-heap.prof (heap, numeric labels). The unit tests assert on their
# contents loosely (function names present, value types), so regenerating
# does not break them; the fuzz seed corpus is refreshed too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOCACHE="${GOCACHE:-$tmp/gocache}" GO111MODULE=off GOFLAGS=
go build -o "$tmp/gen" "$here/main.go"
"$tmp/gen" -cpu "$data/go-cpu.prof" -heap "$data/go-heap.prof"
for f in go-cpu.prof go-heap.prof; do
    size=$(wc -c <"$data/$f")
    [ "$size" -lt 102400 ] || { echo "regen.sh: $f is $size bytes (> 100 KB)" >&2; exit 1; }
    echo "regen.sh: wrote tests/data/$f ($size bytes)"
done
