#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""http_bench.py - cprof's endpoint and Go's net/http/pprof, same run.

    http_bench.py CPROF_PROG GO_PEER

CPROF_PROG is tests/http/http_busy (run with 10k live allocations sampled
at CPROF_HEAP_RATE=1 and 64 sleeping threads), GO_PEER bench/go/http_peer
(10k live allocations at MemProfileRate=1, 64 sleeping goroutines).
Requests alternate between the two; medians and p99 over all rounds.
"""
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time


def start(argv, env):
    p = subprocess.Popen(argv, env=dict(os.environ, **env),
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         text=True)
    for line in p.stderr:
        m = re.search(r"http://[^ ]*:(\d+)/", line)
        if m:
            threading.Thread(target=lambda: p.stderr.read(),
                             daemon=True).start()
            return p, int(m.group(1))
    raise RuntimeError("no port from %s" % argv[0])


def times(port, path, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        c.request("GET", "/debug/pprof/" + path)
        r = c.getresponse()
        r.read()
        out.append(time.perf_counter() - t0)
    c.close()
    return out


def cpu(pid, names=None):
    """CPU seconds of the process; with names, of its threads so named."""
    tck = os.sysconf("SC_CLK_TCK")
    if names is None:
        with open("/proc/%d/stat" % pid) as f:
            fl = f.read().rsplit(")", 1)[1].split()
        return (int(fl[11]) + int(fl[12])) / tck
    tot = 0.0
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                s = f.read()
        except OSError:
            continue
        if s[s.index("(") + 1:s.rindex(")")] in names:
            fl = s.rsplit(")", 1)[1].split()
            tot += (int(fl[11]) + int(fl[12])) / tck
    return tot


def rps(port, secs=2.0, clients=4):
    n = [0]
    stop = time.time() + secs

    def c():
        k = http.client.HTTPConnection("127.0.0.1", port)
        while time.time() < stop:
            k.request("GET", "/debug/pprof/")
            k.getresponse().read()
            n[0] += 1
        k.close()
    ts = [threading.Thread(target=c) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return n[0] / secs


def snapshot_cpu(p, port, n=20, names=None):
    """CPU seconds per goroutine?debug=2 request: the process's (or its
    threads named `names`), minus its idle rate."""
    c0 = cpu(p.pid, names)
    time.sleep(1)
    idle = cpu(p.pid, names) - c0
    c0 = cpu(p.pid, names)
    t0 = time.time()
    times(port, "goroutine?debug=2", n)
    spent = time.time() - t0
    return max(0.0, cpu(p.pid, names) - c0 - idle * spent) / n


def main():
    cp, cport = start([sys.argv[1], "120", "0", "10000", "64"],
                      {"CPROF_HTTP": "127.0.0.1:0", "CPROF_HEAP_RATE": "1"})
    go, gport = start([sys.argv[2], "-d", "120"], {})
    time.sleep(1)
    try:
        print("%-20s %22s %22s %8s" % ("", "cprof median / p99 ms",
                                      "Go median / p99 ms", "ratio"))
        for path, n in (("", 100), ("heap?debug=1", 20),
                        ("goroutine?debug=1", 20), ("goroutine?debug=2", 20)):
            a, b = [], []
            times(cport, path, 2)  # warm-up: symbol tables
            times(gport, path, 2)
            for _ in range(3):
                a += times(cport, path, n)
                b += times(gport, path, n)
            a.sort()
            b.sort()
            ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
            print("%-20s %10.2f / %-9.2f %10.2f / %-9.2f %8.2f" %
                  (path or "index", ma, a[int(len(a) * .99) - 1] * 1e3, mb,
                   b[int(len(b) * .99) - 1] * 1e3, ma / mb))
        ra = statistics.median([rps(cport), rps(cport), rps(cport)])
        rb = statistics.median([rps(gport), rps(gport), rps(gport)])
        print("index requests/s (4 clients): cprof %.0f, Go %.0f, ratio %.2f"
              % (ra, rb, ra / rb))
        whole = snapshot_cpu(cp, cport)
        users = snapshot_cpu(cp, cport, names={"napper", "http_busy"})
        gsnap = snapshot_cpu(go, gport)
        print("goroutine?debug=2, CPU per snapshot: cprof %.2f ms whole "
              "process (%.3f ms in the program's own threads), Go %.2f ms" %
              (whole * 1e3, users * 1e3, gsnap * 1e3))
    finally:
        cp.terminate()
        go.terminate()


if __name__ == "__main__":
    main()
