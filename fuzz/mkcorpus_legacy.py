#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# mkcorpus_legacy.py - (re)make the seed corpora of the cprof command's
# fuzz targets from the real profiles in tests/data:
#   corpus/legacy_text/  Go debug=1 heap, goroutine, mutex, block texts,
#                        gperftools' heap profile, hand-made contentionz,
#                        threadz, growth and glog-prefixed map texts;
#   corpus/gperftools/   gperftools' binary CPU profile, also re-encoded in
#                        the 32-bit and big-endian word forms;
#   corpus/report/       Go and gperftools profiles as profile.proto;
# each also cut short, with bits flipped, and one oversized (records
# repeated). Deterministic (fixed seed).
#
#   fuzz/mkcorpus_legacy.py
import glob
import gzip
import os
import random
import struct

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "tests", "data")
rng = random.Random(4321)


def corpus(name):
    d = os.path.join(here, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "*")):
        os.unlink(f)
    return d


def put(d, name, blob):
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def variants(d, base, blob, big=True):
    put(d, base, blob)
    for frac in (0.1, 0.5, 0.9):
        put(d, "%s.cut%d" % (base, frac * 100), blob[: int(len(blob) * frac)])
    for i in range(3):
        b = bytearray(blob)
        for _ in range(1 + i):
            pos = rng.randrange(len(b))
            b[pos] ^= 1 << rng.randrange(8)
        put(d, "%s.flip%d" % (base, i), bytes(b))
    if big:
        put(d, base + ".big", blob + blob[blob.find(b"\n") + 1:] * 8)


text = corpus("legacy_text")
for f in ("go-heap.txt", "go-goroutine.txt", "go-mutex.txt", "go-block.txt",
          "gperf-heap.heap"):
    variants(text, f, open(os.path.join(data, f), "rb").read())
hand = {
    "contentionz.txt": b"--- contentionz 1 ---\ncycles/second = 2000000000\n"
    b"sampling period = 10\nms since reset = 1500\n100 2 @ 0x1001 0x2001\n"
    b"50 1 @ 0x1001 0x3001\n--- Memory map: ---\n"
    b"00001000-00004000 r-xp 00000000 08:01 5 /bin/prog\n",
    "threadz.txt": b"--- threadz 2 ---\n\n--- Thread 7f01 (name: main/123) "
    b"stack: ---\n  PC: 0x401001\n  0x402001\n  0x403001\n"
    b"--- Thread 7f02 (name: w/124) stack: ---\n  same as previous thread\n"
    b"--- Memory map: ---\n00400000-00500000 r-xp 00000000 00:00 1 /bin/t\n",
    "growthz.txt": b"heap profile: 2: 128 [2: 128] @ growthz\n"
    b"1: 64 [1: 64] @ 0x401001 0x402001\n1: 64 [1: 64] @ 0x401001\n",
    "glogmaps.txt": b"heap profile: 1: 64 [1: 64] @ heap_v2/524288\n"
    b"1: 64 [1: 64] @ 0x401001\nMAPPED_LIBRARIES:\n"
    b"build=abc123\nI0101 prog.cc:42] 0x400000-0x500000 /bin/$build "
    b"(@1000) abc123\n",
    "threadcreate.txt": b"threadcreate profile: total 4\n4 @\n#\t0x0\n",
}
for name, blob in hand.items():
    variants(text, name, blob, big=False)

gp = corpus("gperftools")
cpu = open(os.path.join(data, "gperf-cpu.prof"), "rb").read()
variants(gp, "gperf-cpu.prof", cpu, big=False)
# the same records in the other word forms: 64-bit little endian in,
# re-encoded as 32-bit (addresses truncated) and big endian
end = 0
words = []
while end + 8 <= len(cpu):
    (w,) = struct.unpack_from("<Q", cpu, end)
    words.append(w)
    end += 8
    if len(words) > 5 and words[-3:] == [0, 1, 0]:
        break
tail = cpu[end:]
for fmt, name in (("<I", "le32"), (">I", "be32"), (">Q", "be64")):
    mask = 0xFFFFFFFF if fmt[1] == "I" else (1 << 64) - 1
    blob = b"".join(struct.pack(fmt, w & mask) for w in words) + tail
    variants(gp, "gperf-cpu.%s" % name, blob, big=False)
put(gp, "header-only", struct.pack("<5Q", 0, 3, 0, 10000, 0))
put(gp, "java-header", struct.pack("<5Q", 0, 3, 1, 10000, 0))
put(gp, "huge-count", struct.pack("<8Q", 0, 3, 0, 1, 0, 1, 1 << 62, 5))

rep = corpus("report")
for src in sorted(glob.glob(os.path.join(data, "*.prof"))):
    blob = open(src, "rb").read()
    raw = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    if raw[:4] != b"\0\0\0\0":  # a proto, not gperftools binary
        variants(rep, os.path.basename(src) + ".raw", raw, big=False)
for d in (text, gp, rep):
    print("wrote %d seeds to %s" % (len(os.listdir(d)), d))
