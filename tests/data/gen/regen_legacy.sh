#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# regen_legacy.sh - rebuild the cprof command's Go test profiles in
# tests/data from legacy/main.go with Debian's go (go1.19): go-cpu-b.prof,
# go-heap.txt, go-heap-proto.prof, go-goroutine.txt, go-mutex.txt, go-block.txt. After
# regenerating, refresh the golden outputs: tests/golden/record.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOCACHE="${GOCACHE:-$tmp/gocache}" GO111MODULE=off GOFLAGS=
go build -o "$tmp/legacy" "$here/legacy/main.go"
"$tmp/legacy" -dir "$data"
for f in go-cpu-b.prof go-heap.txt go-heap-proto.prof go-goroutine.txt go-mutex.txt go-block.txt; do
    size=$(wc -c <"$data/$f")
    [ "$size" -lt 102400 ] || { echo "regen_legacy.sh: $f is $size bytes (> 100 KB)" >&2; exit 1; }
    echo "regen_legacy.sh: wrote tests/data/$f ($size bytes)"
done
