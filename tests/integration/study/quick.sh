#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# quick.sh BUILD_DIR WORKDIR - bench/hash_study.sh --quick runs end to end:
# it exits 0 (so every implementation agreed on every checksum it
# asserted), writes the table with a row per configuration, the plots and
# flame graphs as valid SVG naming the hot functions, a trace timeline, and
# its per-CPU-second medians put the optimised C well ahead of Go and naive C
# (CPU time per hash, which a loaded machine does not distort the way it
# distorts wall-clock rates; not checked in sanitizer builds, which are -O0).
set -u
build=$1
work=$2
src=$(cd "$(dirname "$0")/../../.." && pwd)
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
command -v go >/dev/null || { echo "SKIP: go not installed (scripts/deps.sh check installs golang-go)"; exit 77; }
command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not installed (scripts/deps.sh check installs gnuplot-nox)"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
out=$work/out
start=$(date +%s)
if ! sh "$src/bench/hash_study.sh" --quick "$build" "$out" >"$work/log" 2>&1; then
    cat "$work/log"
    echo "FAIL: hash_study.sh --quick exited non-zero"
    exit 1
fi
took=$(($(date +%s) - start))
cat "$work/log"
[ "$took" -le 60 ] || fail "--quick took $took s, want under a minute"

md=$out/results.md
[ -s "$md" ] || { echo "FAIL: no results.md"; exit 1; }
for row in "1 thread pinned to CPU" "threads, unpinned" "1 thread, unpinned"; do
    grep -q "^| $row\|^| .*$row" "$md" || fail "results.md has no row for '$row'"
done
grep -q "C naive | Go | C ilp" "$md" || fail "results.md table lacks the implementations' columns"
# a run's checksum for every implementation, all equal within a configuration
python3 - "$out" <<'PY' || fail "runs.csv or summary.json check failed"
import csv, json, os, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/runs.csv")))
assert len(rows) >= 12, "only %d runs" % len(rows)
by = {}
for r in rows:
    by.setdefault((r["config"], r["rep"]), set()).add(r["checksum"])
bad = {k: v for k, v in by.items() if len(v) != 1}
assert not bad, "checksums differ: %s" % bad
impls = {r["impl"] for r in rows}
assert {"c_naive", "go", "c_ilp"} <= impls, impls
s = json.load(open(out + "/summary.json"))
best = s["impls"][-1]
pin = s["configs"][0]
med = s["medians"]
b = med[pin + "/" + best]["per_cpu"][1]
g = med[pin + "/go"]["per_cpu"][1]
n = med[pin + "/c_naive"]["per_cpu"][1]
print("per CPU-second: %s %.1f M, Go %.1f M, naive C %.1f M" % (best, b / 1e6, g / 1e6, n / 1e6))
if os.environ.get("CPROF_SANITIZED") == "1":
    print("sanitizer build (-O0, instrumented): speed ratios not checked")
    b = 2 * max(g, n)
assert b >= 1.5 * g, "optimised C only %.2fx Go per CPU-second" % (b / g)
assert b >= 1.5 * n, "optimised C only %.2fx naive C per CPU-second" % (b / n)
for f, must in (("scaling.svg", "threads"), ("placement.svg", "taskset"), ("optimise.svg", "per hash"),
                ("flame-c_naive.svg", "fnv1a_64"), ("flame-go.svg", "main.fnv1a64"),
                ("flame-%s.svg" % best, "hash_range_batch"), ("trace-pinned.svg", "CPU")):
    text = open(out + "/" + f).read()
    ET.fromstring(text.encode())
    assert must in text, "%s does not mention %s" % (f, must)
PY
if ! grep -q "cprof -list c_naive.prof" "$md" || ! grep -q "h \*= FNV_PRIME" "$md"; then
    fail "results.md lacks the annotated source of fnv1a_64"
fi
grep -q "cprof trace -summary" "$md" || fail "results.md lacks the trace summary"

[ $fails = 0 ] && echo "PASS: hash_study.sh --quick in $took s: table, plots, flame graphs, trace"
[ $fails = 0 ]
