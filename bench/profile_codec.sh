#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# profile_codec.sh - cprof's profile codec against Go's own
# (github.com/google/pprof/profile, the code inside go tool pprof) on the
# same gzip'd profile, alternated, medians of CPU time (user + sys).
#
#   bench/profile_codec.sh BUILD_DIR [ROUNDS] [SAMPLES]
#
# The profile is bench_codec's synthetic one: SAMPLES (default 1M) samples
# of depth 32 drawn from SAMPLES/10 distinct stacks over 100k locations.
# Needs go and Debian's golang-github-google-pprof-dev (scripts/deps.sh).
set -eu
build=${1:?usage: bench/profile_codec.sh BUILD_DIR [ROUNDS] [SAMPLES]}
rounds=${2:-3}
n=${3:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
work="$(cd "$build" && pwd)/bench/profile_codec"
mkdir -p "$work"
export GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS=
export GOCACHE="${GOCACHE:-$work/gocache}"
go build -o "$work/profile_codec_go" "$here/go/profile_codec/main.go"
"$build/bench/bench_codec" -n "$n" -r 1 -o "$work/profile.pb.gz" >/dev/null
: >"$work/results"
i=0
while [ "$i" -lt "$rounds" ]; do
    "$build/bench/bench_codec" -n "$n" -r 1 |
        awk '/decode gzip/ {print "cprof_decode", $3} /encode gzip/ {print "cprof_encode", $3}
             /peak RSS/ {print "cprof_rss", $3}' >>"$work/results"
    "$work/profile_codec_go" -r 1 "$work/profile.pb.gz" |
        sed 's/[(),]//g' |
        awk '{print "go_decode", $4; print "go_encode", $8; print "go_heap", $14}' >>"$work/results"
    i=$((i + 1))
done
median() {
    grep "^$1 " "$work/results" | awk '{print $2}' | sort -n |
        awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
cd_=$(median cprof_decode)
ce=$(median cprof_encode)
gd=$(median go_decode)
ge=$(median go_encode)
echo "profile: $n samples, $(wc -c <"$work/profile.pb.gz") bytes gzip'd; $rounds rounds, median CPU s"
printf '%-28s %8s %8s %8s\n' step cprof go "go/cprof"
printf '%-28s %8.3f %8.3f %7.1fx\n' "decode (gunzip + parse)" "$cd_" "$gd" \
    "$(echo "$gd $cd_" | awk '{print $1 / $2}')"
printf '%-28s %8.3f %8.3f %7.1fx\n' "encode (serialize + gzip)" "$ce" "$ge" \
    "$(echo "$ge $ce" | awk '{print $1 / $2}')"
echo "peak memory: cprof RSS $(median cprof_rss) MiB (whole benchmark), go heap $(median go_heap) MiB"
