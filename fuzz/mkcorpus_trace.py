#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""mkcorpus_trace.py - seeds for fuzz_trace: synthetic traces covering
every chunk and event type (the format of docs/trace-format.md, written
here independently of the C writer), and real traces given on the command
line, whole (up to 64 KiB) and cut short.

    fuzz/mkcorpus_trace.py OUTDIR [REAL.trace...]
"""
import os
import sys

MAGIC = b"cproftrc"


def uv(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def sv(v):
    return uv((v << 1) ^ (v >> 63) if v < 0 else v << 1)


def s(x):
    x = x.encode()
    return uv(len(x)) + x


def chunk(kind, payload):
    return bytes([kind]) + uv(len(payload)) + payload


def header(major=1, minor=0):
    return MAGIC + bytes([major, minor]) + bytes(6)


def synthetic():
    info = uv(3) + s("pid") + s("42") + s("cmdline") + s("./x") + \
        s("units_per_second") + s("1000000000")
    strings = uv(3) + uv(1) + s("region") + uv(2) + s("cat") + uv(3) + \
        s("main")
    stacks = uv(1) + uv(1) + uv(3) + uv(0x401000) + sv(0x10) + sv(-0x8)
    maps = uv(1) + uv(0x400000) + uv(0x500000) + uv(0) + uv(3) + uv(0)
    syms = uv(1) + uv(0x401000) + uv(2) + uv(1) + uv(2) + uv(10) + \
        uv(3) + uv(0) + uv(0)
    batch = uv(7) + uv(1)
    batch += bytes([9]) + uv(1000) + uv(1) + uv(1) + uv(1) + uv(3)
    batch += bytes([3]) + uv(1) + uv(5) + uv(1)
    batch += bytes([1]) + uv(1) + uv(1)
    batch += bytes([6]) + uv(0) + uv(1)
    batch += bytes([5]) + uv(3) + uv(2) + s("message")
    batch += bytes([7]) + uv(9) + bytes([1]) + uv(2) + uv(5) + uv(1) + sv(-1)
    batch += bytes([8]) + uv(1) + uv(17)
    batch += bytes([70]) + uv(0) + s("future")
    batch += bytes([2]) + uv(100)
    batch += bytes([4]) + uv(1) + uv(5)
    batch += bytes([11]) + uv(1) + uv(3)
    batch += bytes([10]) + uv(1)
    glob = uv(1000000000)
    glob += bytes([32]) + sv(5) + uv(7) + uv(1) + uv(1) + uv(1)
    glob += bytes([33]) + sv(5) + uv(7) + uv(1)
    glob += bytes([34]) + sv(-3) + uv(7) + uv(1)
    glob += bytes([35]) + sv(1) + uv(0) + uv(2) + sv(-99)
    glob += bytes([36]) + sv(1) + uv(8) + uv(7) + uv(1) + uv(0) + uv(3)
    glob += bytes([37]) + sv(1) + uv(8) + uv(3)
    glob += bytes([38]) + sv(1) + uv(8)
    glob += bytes([39]) + sv(1) + uv(7) + uv(4)
    glob += bytes([40]) + sv(1) + uv(7) + uv(1)
    sync1 = uv(1000) + uv(1000000000) + uv(1)
    sync2 = uv(5000) + uv(1000004000) + uv(2)
    end = uv(12) + uv(17) + uv(1) + uv(7) + uv(0)
    return (header() + chunk(1, info) + chunk(2, sync1) + chunk(3, strings) +
            chunk(4, stacks) + chunk(5, maps) + chunk(6, batch) +
            chunk(7, glob) + chunk(2, sync2) + chunk(8, syms) +
            chunk(99, b"unknown") + chunk(9, end))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {"synthetic": synthetic(), "header_only": header(),
             "version2": header(2, 0) + chunk(9, uv(0) * 3)}
    syn = seeds["synthetic"]
    seeds["synthetic_cut"] = syn[:len(syn) * 2 // 3]
    for path in sys.argv[2:]:
        data = open(path, "rb").read()
        base = os.path.basename(path).replace(".", "_")
        seeds[base] = data[:65536]
        seeds[base + "_cut"] = data[:min(len(data), 65536) // 2 + 3]
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
