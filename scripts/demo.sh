#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# demo.sh BUILD_DIR - what `make demo` shows: profile examples/hash_bench
# for a few seconds without changing its code (CPROF_CPU + LD_PRELOAD of
# libcprof.so), then print its top functions with `cprof -top`, or with
# `go tool pprof -top` while this cprof cannot yet. The web UI issue turns
# this into a browser view.
set -u
build=${1:?usage: scripts/demo.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
hb=$build/examples/hash_bench
lib=$build/src/libcprof.so
cprof=$build/cli/cprof
out=$build/demo
prof=$out/hash_bench.prof

for f in "$hb" "$lib"; do
    [ -e "$f" ] || { echo "demo: $f is missing; build first with make"; exit 1; }
done
mkdir -p "$out" && rm -f "$prof"

# Two threads, about 2-4 s on this 2-core VM.
set -- -n 40000000 -r 100000 -t 2
echo "demo: CPROF_CPU=$prof LD_PRELOAD=$lib $hb $*"
CPROF_CPU=$prof LD_PRELOAD=$lib "$hb" "$@"
rc=$?
if [ $rc != 0 ] || [ ! -s "$prof" ]; then
    echo "demo: profiling failed: hash_bench exited with status $rc and" \
        "no profile was written to $prof (see the messages above)."
    exit 1
fi

echo
if "$cprof" -top "$prof" >"$out/top.txt" 2>"$out/top.err"; then
    echo "demo: cprof -top $prof"
    cat "$out/top.txt"
elif command -v go >/dev/null; then
    echo "demo: go tool pprof -top $prof   (cprof -top: $(head -n 1 "$out/top.err"))"
    PPROF_TMPDIR=$out GOCACHE=$out/gocache go tool pprof -top "$prof" ||
        { echo "demo: go tool pprof could not read $prof."; exit 1; }
else
    echo "demo: neither cprof -top nor go tool pprof can show $prof" \
        "(install golang-go: scripts/deps.sh demo)."
    exit 1
fi
echo
echo "demo: the profile is $prof; try: go tool pprof -http=:8080 $prof"
