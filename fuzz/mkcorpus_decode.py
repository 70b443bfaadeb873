#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# mkcorpus_decode.py - (re)make the seed corpus fuzz/corpus/decode/ from the
# real profiles in tests/data (Go's runtime/pprof) and, when given, one
# written by cprof's encoder (build/bench/bench_codec -n 20 -l 30 -d 5 -r 1
# -o FILE): each gzip'd and raw, cut short, with bits flipped, plus empty
# input, a gzip bomb and gzip garbage. Deterministic (fixed seed).
#
#   fuzz/mkcorpus_decode.py [CPROF_PROFILE]
import glob
import gzip
import os
import random
import sys

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "decode")
os.makedirs(out, exist_ok=True)
for f in glob.glob(os.path.join(out, "*")):
    os.unlink(f)

rng = random.Random(1234)
sources = sorted(glob.glob(os.path.join(here, "..", "tests", "data", "*.prof")))
sources += sys.argv[1:]


def put(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


for src in sources:
    base = os.path.basename(src).replace(".prof", "").replace(".pb.gz", "")
    data = open(src, "rb").read()
    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    put(base + ".gz", gzip.compress(raw, 6, mtime=0))
    put(base + ".raw", raw)
    for frac in (0.1, 0.5, 0.9):
        put("%s.cut%d" % (base, frac * 100), raw[: int(len(raw) * frac)])
    put(base + ".gzcut", data[: len(data) // 2])
    for i in range(4):
        b = bytearray(raw)
        for _ in range(1 + i):
            pos = rng.randrange(len(b))
            b[pos] ^= 1 << rng.randrange(8)
        put("%s.flip%d" % (base, i), bytes(b))

put("empty", b"")
put("one-byte", b"\x0a")
put("bomb.gz", gzip.compress(b"\0" * (4 << 20), 9, mtime=0))
put("garbage-after.gz", gzip.compress(b"\x32\x00", 6, mtime=0) + b"junk")
put("two-members.gz", gzip.compress(b"\x32\x00", 6, mtime=0) * 2)
print("wrote %d seeds to %s" % (len(os.listdir(out)), out))
