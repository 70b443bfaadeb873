#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# plan.sh BUILD_DIR - the configurations bench/hash_study.sh measures come
# from `cprof topo`: on the 2-socket 16-core 2-thread Xeon fixture they
# include the SMT-sibling pair and two distinct cores the advice names, all
# 32 cores, and unpinned thread counts up to 64; on a machine without SMT
# (the 2-CPU VM fixture) there is no sibling run and threads go 1..4.
set -u
build=$1
src=$(cd "$(dirname "$0")/../../.." && pwd)
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
plan() {
    python3 "$src/bench/hash_study.py" --build "$build" --plan --topo-root "$src/tests/data/topo/$1"
}
xeon=$(plan xeon-2s16c) || { echo "FAIL: --plan on xeon-2s16c: $xeon"; exit 1; }
echo "$xeon"
for want in "pin1	1	1	" "pin2cores	2	1,2	" "pinsmt	2	1,33	" "pincores	32	0-31	" \
    "free1	1	-	" "free32	32	-	" "free64	64	-	"; do
    echo "$xeon" | grep -q "^$want" || fail "xeon-2s16c: no '$want' configuration"
done
[ "$(echo "$xeon" | grep -c '^free')" -le 12 ] || fail "xeon-2s16c: too many unpinned runs"
vm=$(plan vm-2cpu) || { echo "FAIL: --plan on vm-2cpu: $vm"; exit 1; }
echo "$vm"
echo "$vm" | grep -q "^pinsmt" && fail "vm-2cpu has no SMT but got a sibling run"
[ "$(echo "$vm" | grep '^free' | cut -f2 | tr '\n' ' ')" = "1 2 3 4 " ] ||
    fail "vm-2cpu: unpinned thread counts are not 1..4"
[ $fails = 0 ] && echo "PASS: configurations follow cprof topo (SMT pair on the Xeon, none on the VM)"
[ $fails = 0 ]
