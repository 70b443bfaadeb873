#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# deps.sh - install the Debian 12 packages a make target needs.
#
#   scripts/deps.sh build|check|demo|bench|fuzz
#
# Each set is a superset of "build". As root the missing packages are
# installed with apt-get; otherwise the exact command is printed and the
# script fails, so `make check` never half-works on a machine that lacks
# something. Nothing here is downloaded outside Debian's archive except the
# browser-test driver, which tests/browser/ installs with npm on its own.
set -eu

build_pkgs="build-essential cmake pkg-config git zlib1g-dev libprotobuf-c-dev
protobuf-c-compiler golang-github-google-pprof-dev libdw-dev libelf-dev
libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev"

# check: unit tests (cmocka), integration tests read profiles back with go
# tool pprof and compare with gperftools; python3 checks the numbers; the
# browser tests drive Debian's chromium; fuzz smoke runs need clang;
# the hash_bench study's quick test draws its plots with gnuplot.
check_pkgs="$build_pkgs libcmocka-dev golang-go google-perftools
libgoogle-perftools-dev python3 procps curl ca-certificates chromium nodejs
npm graphviz valgrind clang libclang-rt-14-dev file binutils gnuplot-nox"

demo_pkgs="$build_pkgs golang-go graphviz"

bench_pkgs="$check_pkgs hyperfine linux-perf heaptrack gnuplot-nox time"

fuzz_pkgs="$build_pkgs clang libclang-rt-14-dev"

case "${1:-build}" in
build) want=$build_pkgs ;;
check) want=$check_pkgs ;;
demo) want=$demo_pkgs ;;
bench) want=$bench_pkgs ;;
fuzz) want=$fuzz_pkgs ;;
*)
    echo "deps.sh: unknown set '$1' (build, check, demo, bench or fuzz)" >&2
    exit 2
    ;;
esac

missing=""
for p in $want; do
    # Node.js from nodesource (as on this project's machines) ships npm
    # itself and conflicts with Debian's npm package: take it as it is.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
        continue
    fi
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    echo "deps.sh: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    # A fresh root has empty package lists; update once, quietly.
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "deps.sh: missing Debian packages. Run:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
