#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""hash_ref.py N - the checksum hash_bench must print for -n N, computed
independently of the C and Go versions: XOR over i < N of FNV-1a 64 of the
64-byte message whose little-endian word k is i ^ ((k+1) * 0x9e3779b97f4a7c15).
"""
import struct
import sys

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def fnv1a_64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def message(i):
    return b"".join(struct.pack("<Q", i ^ (((k + 1) * GOLDEN) & M64))
                    for k in range(8))


n = int(sys.argv[1])
s = 0
for i in range(n):
    s ^= fnv1a_64(message(i))
print("0x%016x" % s)
