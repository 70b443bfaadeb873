#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# demo.sh BUILD_DIR - what `make demo` shows: profile examples/hash_bench
# for a few seconds without changing its code (CPROF_CPU + LD_PRELOAD of
# libcprof.so), print its top functions with `cprof -top`, then serve its
# flame graph with `cprof -http=localhost:8080` until Ctrl-C.
#   DEMO_HTTP=ADDR   serve elsewhere (default localhost:8080)
#   DEMO_HTTP=none   stop after the text report (scripts, CI)
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
http=${DEMO_HTTP:-localhost:8080}
if [ "$http" = none ]; then
    echo "demo: the profile is $prof; see it with: $cprof -http=localhost:8080 $prof"
    exit 0
fi
host=${http%:*}
port=${http##*:}
echo "demo: ================================================================"
echo "demo:  The flame graph of hash_bench is served at http://${host:-localhost}:$port"
echo "demo:  Open that address in a browser (one opens by itself when this"
echo "demo:  machine has a display). Press Ctrl-C here to stop."
echo "demo: ================================================================"
echo "demo: $cprof -http=$http $prof"
exec "$cprof" -http="$http" "$prof"
