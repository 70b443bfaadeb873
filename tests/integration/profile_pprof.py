#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# profile_pprof.py - cprof's profile encoder checked by the reference
# reader, go tool pprof (Debian's golang-go):
#   1. a profile using every profile.proto field (profile_write rich) reads
#      back with the same sample types, values, labels (string, numeric,
#      with unit), inlined frames, folded flag, mappings, build IDs and
#      comment, in -raw, -top and -traces;
#   2. a profile of 20000 samples (several encoder pieces) has every sample
#      and the exact total;
#   3. Go's own profiles (tests/data) decoded and re-encoded by cprof print
#      exactly what the originals print in -raw.
#
#   profile_pprof.py PROFILE_WRITE DATA_DIR WORK_DIR
# Exit 77 (skip) when go is missing.
import os
import re
import shutil
import subprocess
import sys

prog, data, work = sys.argv[1:4]
go = shutil.which("go")
if not go:
    print("SKIP: go not installed (scripts/deps.sh check installs golang-go)")
    sys.exit(77)
os.makedirs(work, exist_ok=True)
env = dict(os.environ)
env.setdefault("HOME", work)
env["PPROF_TMPDIR"] = work
env.setdefault("GOCACHE", os.path.join(work, "gocache"))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print("command failed:", " ".join(args), r.stderr, sep="\n")
        sys.exit(1)
    return r.stdout


def pprof(flag, path):
    return run(go, "tool", "pprof", flag, path)


# 1. rich
rich = os.path.join(work, "rich.prof")
run(prog, "rich", rich)
raw = pprof("-raw", rich)
for want in [
    "PeriodType: cpu nanoseconds",
    "Period: 10000000",
    "Duration: 3s",
    "Comment: cprof integration comment",
    "samples/count cpu/nanoseconds[dflt]",
    "thread_name:[worker]",
    "alloc:[512 bytes] thread:[4242]",
    "/usr/bin/prog abcdef0123456789 [FN][FL][LN][IN]",
    "0x7f0000000000/0x7f0000100000/0x2000 /lib/libc.so.6 feedface [FN]",
]:
    check(want in raw, "-raw shows %r" % want)
check(re.search(r"^\s+30\s+300000000: \d+ \d+ $", raw, re.M), "sample 30/300ms")
check(re.search(r"^\s+12\s+120000000: \d+ \d+ \d+ $", raw, re.M), "sample 12/120ms")
# inlined frames: callee line first, caller on the next line, same location
check(re.search(r"0x402000 M=1 hot_inline hot\.h:303 s=300\n\s+compute prog\.c:207 s=200\n", raw),
      "inlined hot_inline into compute")
check(re.search(r"0x7f0000001234 M=2 \[F\] memset memset\.S:44 s=400", raw),
      "folded memset location in mapping 2")
top = pprof("-top", rich)
check(re.search(r"^\s+300ms\s+71\.43%\s+71\.43%\s+420ms\s+100%\s+hot_inline \(inline\)$", top, re.M),
      "-top hot_inline flat 300ms cum 420ms")
check(re.search(r"^\s+120ms\s+28\.57%\s+100%\s+120ms\s+28\.57%\s+memset$", top, re.M),
      "-top memset flat 120ms")
check(re.search(r"^\s+0\s+0%\s+100%\s+420ms\s+100%\s+main$", top, re.M), "-top main cum 420ms")
check("Build ID: abcdef0123456789" in top, "-top shows the main build ID")

# 2. many pieces
n = 20000
bigp = os.path.join(work, "big.prof")
run(prog, "big", str(n), bigp)
raw = pprof("-raw", bigp)
counts = [int(m.group(1)) for m in re.finditer(r"^\s+(\d+)\s+\d+: [\d ]+$", raw, re.M)]
check(len(counts) == n, "big: %d samples read back (want %d)" % (len(counts), n))
check(sum(counts) == sum(i % 3 + 1 for i in range(n)), "big: total sample count")
locs = re.findall(r"^\s+\d+: 0x[0-9a-f]+ (?:M=\d+ )?fn\d+ big\.c:\d+", raw, re.M)
check(len(locs) == n // 4, "big: %d locations (want %d)" % (len(locs), n // 4))

# 3. Go's profiles through cprof's decoder and encoder
for name in ("go-cpu.prof", "go-heap.prof"):
    src = os.path.join(data, name)
    out = os.path.join(work, "re-" + name)
    run(prog, "reencode", src, out)
    a, b = pprof("-raw", src), pprof("-raw", out)
    check(a == b, "%s: -raw identical after cprof decode+encode" % name)
    check(len(a.splitlines()) > 20, "%s: -raw has content" % name)

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("ok: go tool pprof reads cprof's profiles")
