#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""heap_bench.py - runs bench_heap under each profiler, alternated, and
prints medians and ratios (see bench/heap.sh)."""
import argparse
import glob
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile

BUILD = os.environ["CPROF_BUILD"]
BENCH = os.path.join(BUILD, "bench", "bench_heap")
LIB = os.path.join(BUILD, "src", "libcprof.so")
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc.so"
SLOW = ("gperftools HEAPPROFILE", "heaptrack")


def variants(work):
    v = [
        ("plain", [], {}),
        ("cprof rate 0 (interposers only)", [],
         {"LD_PRELOAD": LIB, "CPROF_HEAP_RATE": "0"}),
        ("cprof default rate", [], {"LD_PRELOAD": LIB}),
        ("cprof default rate + CPROF_HEAP at exit", [],
         {"LD_PRELOAD": LIB, "CPROF_HEAP": os.path.join(work, "c.pb.gz")}),
    ]
    if os.path.exists(TCMALLOC):
        v += [("tcmalloc (no profiler)", [], {"LD_PRELOAD": TCMALLOC}),
              ("gperftools HEAPPROFILE", [],
               {"LD_PRELOAD": TCMALLOC,
                "HEAPPROFILE": os.path.join(work, "gp")})]
    if shutil.which("heaptrack"):
        v += [("heaptrack", ["heaptrack", "-o", os.path.join(work, "ht")],
               {})]
    return v


def run(prefix, env_extra, args):
    """CPU seconds (user + system of the process and all it waited for),
    wall seconds and peak RSS in MiB (the largest of the process tree,
    from wait4) of one run."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("CPROF_") or k in ("LD_PRELOAD", "HEAPPROFILE"):
            env.pop(k)
    env.update(env_extra)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(prefix + [BENCH] + args, env=env, stdout=out,
                             stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (prefix, stderr))
    cpu = ru.ru_utime + ru.ru_stime
    m = re.search(r"cpu ([\d.]+) wall ([\d.]+)", stdout)
    return cpu, float(m.group(2)), ru.ru_maxrss / 1024.0


def callgrind_per_op(ops, env_extra, work):
    """Instructions per operation, without the fixed start-up and exit
    cost: the difference of a run of `ops` operations and one of 1."""
    a = callgrind(["-n", "1", "-t", "1"], env_extra, work)
    b = callgrind(["-n", str(ops), "-t", "1"], env_extra, work)
    return (b - a) / (ops - 1), a


def callgrind(args, env_extra, work):
    out = os.path.join(work, "cg.out")
    env = dict(os.environ)
    env.update(env_extra)
    r = subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=" + out, BENCH] + args,
                       env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    m = re.search(r"Collected : (\d+)", r.stderr.decode())
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ops", type=int, default=10000000)
    ap.add_argument("--no-peers", action="store_true",
                    help="only plain and cprof (more rounds, less time)")
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="heapbench-")
    print("bench_heap: 10k live blocks of 16 B-4 KiB (log-uniform), %d "
          "operations per thread; CPU = user+system of all processes; "
          "median of %d alternated rounds (3 for gperftools and heaptrack); "
          "paired = median of per-round ratios to that round's plain run; "
          "max RSS = peak of the process tree (wait4)"
          % (a.ops, a.rounds))
    for threads in [int(t) for t in a.threads.split(",")]:
        args = ["-n", str(a.ops), "-t", str(threads)]
        vs = variants(work)
        if a.no_peers:
            vs = [v for v in vs if v[0] == "plain" or v[0].startswith("cprof")]
        cpu = {name: [] for name, _, _ in vs}
        wall = {name: [] for name, _, _ in vs}
        rss = {name: [] for name, _, _ in vs}
        for rnd in range(a.rounds):
            # rotated each round: a fixed order lets the machine's
            # rhythms (other jobs, frequency) favour one position
            k = rnd % len(vs)
            for name, prefix, env in vs[k:] + vs[:k]:
                # the peers take 10-80x longer: three rounds of them
                if rnd >= 3 and name in SLOW:
                    continue
                c, w, m = run(prefix, env, args)
                cpu[name].append(c)
                wall[name].append(w)
                rss[name].append(m)
                for f in glob.glob(os.path.join(work, "*")):
                    if os.path.isfile(f):
                        os.unlink(f)
        # paired: each variant against the plain run of the same round,
        # which cancels the machine's slow drifts
        paired = {}
        for name, _, _ in vs:
            n = min(len(cpu[name]), len(cpu["plain"]))
            paired[name] = statistics.median(
                cpu[name][i] / cpu["plain"][i] for i in range(n))
        base = statistics.median(cpu["plain"])
        tc = statistics.median(cpu.get("tcmalloc (no profiler)", [base]))
        print("\n%d thread(s):" % threads)
        print("  %-42s %9s %9s %8s %8s %9s" % ("variant", "cpu s", "wall s",
                                                 "vs plain", "paired",
                                                 "max RSS"))
        for name, _, _ in vs:
            c = statistics.median(cpu[name])
            extra = ""
            if name == "gperftools HEAPPROFILE":
                extra = "  (%.2fx tcmalloc alone)" % (c / tc)
            print("  %-42s %9.3f %9.3f %7.3fx %7.3fx %6.1f MiB%s" % (
                name, c, statistics.median(wall[name]), c / base,
                paired[name], statistics.median(rss[name]), extra))
    ops = max(a.ops // 10, 100000)
    plain, plain0 = callgrind_per_op(ops, {}, work)
    off, off0 = callgrind_per_op(ops, {"LD_PRELOAD": LIB,
                                       "CPROF_HEAP_RATE": "0"}, work)
    on, on0 = callgrind_per_op(ops, {"LD_PRELOAD": LIB}, work)
    print("\ncallgrind, 1 thread, instructions per operation (a malloc and a "
          "free; start-up and exit excluded: runs of %d and 1 operations):"
          % ops)
    print("  plain          %.1f" % plain)
    print("  cprof rate 0   %.1f  (%+.1f, %+.2f%%)" % (
        off, off - plain, (off - plain) / plain * 100))
    print("  cprof default  %.1f  (%+.1f, %+.2f%%)" % (
        on, on - plain, (on - plain) / plain * 100))
    print("  fixed cost of loading libcprof (start-up + exit): %.1fM "
          "instructions" % ((off0 - plain0) / 1e6))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
