#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# hash_bench.sh HASH_BENCH GO_SRC WORKDIR - examples/hash_bench.c and its Go
# twin (examples/go/hash_bench, built here with Debian's go) compute the
# same checksum, equal to an independent Python reference, whatever the
# thread count; both print the result line in the agreed form and reject
# bad flags with exit status 2.
set -u
cbin=$1
gosrc=$2
work=$3
here=$(dirname "$0")
mkdir -p "$work"
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

command -v go >/dev/null || { echo "SKIP: go not installed (scripts/deps.sh check installs golang-go)"; exit 77; }

# A build cache inside the build tree: no writes to $HOME, nothing fetched
# (the twin uses the standard library only).
gobin=$work/hash_bench_go
if ! (cd "$gosrc" && GOCACHE="$work/gocache" GOPATH="$work/gopath" \
      GOFLAGS= GOPROXY=off go build -o "$gobin" .) >"$work/gobuild.log" 2>&1; then
    cat "$work/gobuild.log"
    echo "FAIL: go build of $gosrc"
    exit 1
fi

line_re='^hash_bench: [0-9]+ hashes in [0-9]+\.[0-9]{3} s: [0-9]+ hashes/s \([0-9]+ threads\) checksum 0x[0-9a-f]{16}$'
checksum() { # prog args... -> the checksum of its result line
    out=$("$@" 2>"$work/stderr") || { fail "$* exited $?: $(cat "$work/stderr")"; return; }
    echo "$out" | grep -Eq "$line_re" || fail "$*: result line malformed: $out"
    echo "$out" | sed -n 's/.*checksum \(0x[0-9a-f]*\)$/\1/p'
}

ref=$(python3 "$here/hash_ref.py" 20000)
for t in 1 3; do
    c=$(checksum "$cbin" -n 20000 -r 1000 -t $t)
    g=$(checksum "$gobin" -n 20000 -r 1000 -t $t)
    [ "$c" = "$ref" ] || fail "C -n 20000 -t $t checksum $c, reference $ref"
    [ "$g" = "$ref" ] || fail "Go -n 20000 -t $t checksum $g, reference $ref"
done
# A bigger run: C and Go agree with each other, also with uneven splits.
c=$(checksum "$cbin" -n 2000003 -t 2)
g=$(checksum "$gobin" -n=2000003 -t=3)
[ -n "$c" ] && [ "$c" = "$g" ] || fail "-n 2000003: C $c, Go $g"
c7=$(checksum "$cbin" --n 2000003 -t 7)
[ "$c7" = "$c" ] || fail "-n 2000003: -t 7 gives $c7, -t 2 gives $c"
# More threads than hashes still hash each index once.
c=$(checksum "$cbin" -n 5 -t 64)
[ "$c" = "$(python3 "$here/hash_ref.py" 5)" ] || fail "-n 5 -t 64 checksum $c"

# Bad flags: one sentence and the usage on stderr, exit 2, for both.
for prog in "$cbin" "$gobin"; do
    for args in "-x" "-n" "-n abc" "-n 0" "-t 0" "-t 5000" "-r -3" "stray" "-n 10 extra"; do
        # shellcheck disable=SC2086
        "$prog" $args >"$work/out" 2>"$work/err"
        rc=$?
        [ $rc = 2 ] || fail "$(basename "$prog") $args: exit $rc, want 2"
        grep -q "usage: hash_bench" "$work/err" || fail "$(basename "$prog") $args: no usage line on stderr"
        [ -s "$work/out" ] && fail "$(basename "$prog") $args: wrote to stdout"
    done
done

# Progress goes to stderr, the result alone to stdout.
"$cbin" -n 1000 -r 10 -t 2 >"$work/out" 2>/dev/null
[ "$(wc -l <"$work/out")" -eq 1 ] || fail "stdout has more than the result line"

[ $fails = 0 ] && echo "PASS: C, Go and the reference agree; bad flags exit 2"
[ $fails = 0 ]
