#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# regen_gperf.sh - rebuild the gperftools profiles in tests/data from
# gperf.c with Debian's gperftools (google-perftools,
# libgoogle-perftools-dev): gperf-cpu.prof (CPUPROFILE=, the legacy binary
# format with its /proc/self/maps tail) and gperf-heap.heap (HEAPPROFILE=,
# "heap profile: ... @ heapprofile" with MAPPED_LIBRARIES:). The binary is
# built in a temporary directory and thrown away, so these profiles carry
# addresses only: the golden tests read them with -symbolize=none, and the
# integration test (tests/integration/cli.cmake) makes fresh ones whose
# binary is at hand. After regenerating: tests/golden/record.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -g -fno-omit-frame-pointer -o "$tmp/gperf" "$here/gperf.c" \
    -Wl,--no-as-needed -lprofiler -ltcmalloc
CPUPROFILE="$tmp/cpu.prof" CPUPROFILE_FREQUENCY=500 "$tmp/gperf" 40 >/dev/null
HEAPPROFILE="$tmp/heap" "$tmp/gperf" 2 >/dev/null 2>&1
cp "$tmp/cpu.prof" "$data/gperf-cpu.prof"
cp "$tmp"/heap.0001.heap "$data/gperf-heap.heap"
for f in gperf-cpu.prof gperf-heap.heap; do
    echo "regen_gperf.sh: wrote tests/data/$f ($(wc -c <"$data/$f") bytes)"
done
