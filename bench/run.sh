#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# run.sh - every benchmark, one area after another (`make bench`):
#
#   sh bench/run.sh BUILD_DIR [AREA...]
#
# Areas: cpu symbol codec cli heap http trace wall webui study. Each
# compares cprof with its peers (gperftools, perf, heaptrack, go tool
# pprof, Go's runtime) on the same workload in the same run and prints
# ratios; docs/performance.md records the results with these commands.
# This machine is shared and noisy: the scripts alternate runs and report
# medians of CPU time. A whole run takes about an hour; name areas to run
# fewer.
set -u
build=${1:?usage: bench/run.sh BUILD_DIR [AREA...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
areas=${*:-cpu symbol codec cli heap http trace wall webui study}
failed=""
for a in $areas; do
    echo "== bench: $a ==" >&2
    case $a in
    cpu) sh "$here/run_cpu.sh" "$build" ;;
    symbol) sh "$here/symbolize_peers.sh" "$build" ;;
    codec) sh "$here/profile_codec.sh" "$build" ;;
    cli) sh "$here/bench_cli.sh" "$build" ;;
    heap) sh "$here/heap.sh" "$build" ;;
    http) sh "$here/http.sh" "$build" ;;
    trace) sh "$here/trace.sh" "$build" ;;
    wall) sh "$here/wall.sh" "$build" ;;
    webui) sh "$here/webui.sh" "$build" ;;
    study)
        if [ -f "$here/hash_study.sh" ]; then
            sh "$here/hash_study.sh" "$build"
        else
            echo "bench: no hash_study.sh yet" >&2
        fi
        ;;
    *)
        echo "bench: unknown area '$a'" >&2
        false
        ;;
    esac || failed="$failed $a"
done
if [ -n "$failed" ]; then
    echo "bench: failed:$failed" >&2
    exit 1
fi
