#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# symbolize_peers.sh - cprof's symbolizer against binutils addr2line and
# llvm-symbolizer on the same 90,000 distinct libc addresses, with inlined
# frames (-i / --inlining), each reading libc's DWARF from
# /usr/lib/debug/.build-id when libc6-dbg is installed. CPU time (user +
# sys) of each whole process, median of RUNS alternated runs, and ratios.
#
#   bench/symbolize_peers.sh BUILD_DIR [RUNS]
set -eu
build=${1:?usage: symbolize_peers.sh BUILD_DIR [RUNS]}
runs=${2:-5}
bench=$build/bench/bench_symbolize
n=90000
libc=$(ldd "$bench" | awk '/libc\.so/ {print $3}')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bench" -a -n $n >"$tmp/addrs"

cpu() { # command... -> "user+sys" seconds of it and its children
    /usr/bin/time -f '%U %S' -o "$tmp/t" "$@" >/dev/null 2>&1 || true
    awk '{printf "%.3f\n", $1 + $2}' "$tmp/t"
}

: >"$tmp/cprof"; : >"$tmp/a2l"; : >"$tmp/llvm"
i=0
while [ $i -lt "$runs" ]; do
    cpu "$bench" -p -n $n >>"$tmp/cprof"
    cpu sh -c "addr2line -f -i -e '$libc' <'$tmp/addrs'" >>"$tmp/a2l"
    if command -v llvm-symbolizer >/dev/null; then
        cpu sh -c "llvm-symbolizer --inlining --obj='$libc' <'$tmp/addrs'" \
            >>"$tmp/llvm"
    fi
    i=$((i + 1))
done
med() { sort -n "$1" | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'; }
c=$(med "$tmp/cprof"); a=$(med "$tmp/a2l"); l=$(med "$tmp/llvm")
echo "symbolizing $n distinct libc addresses (inlined frames), CPU s, median of $runs:"
echo "  cprof            $c"
echo "  addr2line        $a   ($(echo "$a $c" | awk '{printf "%.1f", $1/$2}')x cprof)"
[ -n "$l" ] && echo "  llvm-symbolizer  $l   ($(echo "$l $c" | awk '{printf "%.1f", $1/$2}')x cprof)"
exit 0
