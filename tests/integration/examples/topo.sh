#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# topo.sh CPROF SRC_DIR WORKDIR - `cprof topo` as a user runs it: on this
# machine (must agree with the kernel's CPU count), on a fixture tree by
# -root and by CPROF_SYSFS_ROOT, as JSON, and with bad flags (exit 2).
set -u
cprof=$1
src=$2
work=$3
mkdir -p "$work"
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

"$cprof" topo >"$work/live.txt" 2>"$work/err" || fail "cprof topo: exit $?: $(cat "$work/err")"
n=$(getconf _NPROCESSORS_ONLN)
grep -q "^$n logical CPUs\? on " "$work/live.txt" ||
    fail "cprof topo does not report the $n online CPUs: $(head -n 1 "$work/live.txt")"
grep -q "taskset -c .* ./hash_bench -n 100000000 -r 100000 -t 1$" "$work/live.txt" ||
    fail "cprof topo gives no 1-thread taskset command"

"$cprof" topo -json >"$work/live.json" || fail "cprof topo -json: exit $?"
python3 - "$work/live.json" "$n" <<'PY' || fail "cprof topo -json is not the expected JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["logical_cpus"] == int(sys.argv[2]), d["logical_cpus"]
assert len(d["cpus"]) == d["logical_cpus"]
assert 1 <= d["physical_cores"] <= d["logical_cpus"]
assert d["advice"]["one_cpu"]["threads"] == 1
PY

fx=$src/tests/data/topo/xeon-2s16c
"$cprof" topo -root="$fx" >"$work/xeon.txt" || fail "cprof topo -root=$fx: exit $?"
grep -q "^    taskset -c 1,33 ./hash_bench -n 100000000 -r 100000 -t 2$" "$work/xeon.txt" ||
    fail "xeon fixture: no SMT-sibling advice for CPUs 1,33"
CPROF_SYSFS_ROOT=$src/tests/data/topo/ryzen-8c16t "$cprof" topo >"$work/ryzen.txt" ||
    fail "CPROF_SYSFS_ROOT=ryzen: exit $?"
grep -q "^    taskset -c 2,3 ./hash_bench" "$work/ryzen.txt" ||
    fail "ryzen fixture via CPROF_SYSFS_ROOT: no SMT-sibling advice for CPUs 2,3"

for args in "-nosuch" "-root" "stray" "-json=maybe"; do
    # shellcheck disable=SC2086
    "$cprof" topo $args >"$work/out" 2>"$work/err"
    rc=$?
    [ $rc = 2 ] || fail "cprof topo $args: exit $rc, want 2"
    [ "$(wc -l <"$work/err")" = 1 ] || fail "cprof topo $args: want one line on stderr"
done
"$cprof" topo -root=/nonexistent/dir >/dev/null 2>"$work/err"
rc=$?
[ $rc = 1 ] || fail "cprof topo -root=/nonexistent/dir: exit $rc, want 1"

[ $fails = 0 ] && echo "PASS: cprof topo live, fixtures, JSON and bad flags"
[ $fails = 0 ]
