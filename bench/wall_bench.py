#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""wall_bench.py - runs of bench/wall.sh (see there), alternated: every
round runs each variant once, in turn, so the machine's drift touches all
of them alike; medians over rounds are printed, as a Markdown table for
docs/performance.md."""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile

BUILD = os.environ["CPROF_BUILD"]
BENCH = os.path.join(BUILD, "bench", "bench_wall")
if not os.path.exists(BENCH):
    BENCH = os.path.join(BUILD, "bench_wall")
LIB = os.path.join(BUILD, "src", "libcprof.so")


def run(argv, env_extra=None, preload=False):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("CPROF_") and k != "CPROF_BUILD":
            del env[k]
    env.pop("LD_PRELOAD", None)
    env.update(env_extra or {})
    if preload:
        env["LD_PRELOAD"] = LIB
    p = subprocess.run(argv, env=env, capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise SystemExit("%s: exit %d: %s" % (argv, p.returncode, p.stderr))
    out = None
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            out = json.loads(line)
    m = re.search(r"sampler_cpu_ns (\d+)", p.stderr)
    if m and out is not None:
        out["sampler_cpu_ns"] = int(m.group(1))
    return out


def callgrind_ir(argv, env_extra, preload):
    """Instructions executed by argv under callgrind (None without
    valgrind)."""
    if not shutil.which("valgrind"):
        return None
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("CPROF_") and k != "CPROF_BUILD":
            del env[k]
    env.pop("LD_PRELOAD", None)
    env.update(env_extra or {})
    if preload:
        env["LD_PRELOAD"] = LIB
    p = subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=/dev/null"] + argv, env=env,
                       capture_output=True, text=True, timeout=600)
    m = re.search(r"refs:\s+([\d,]+)", p.stderr)
    return int(m.group(1).replace(",", "")) if m else None


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--go", default="")
    a = ap.parse_args()
    on = {"CPROF_MUTEX_FRACTION": "1", "CPROF_BLOCK_RATE": "1"}
    tmp = tempfile.mkdtemp()

    lock_v = [("no libcprof", [BENCH, "lock"], None, False),
              ("libcprof, profiles off", [BENCH, "lock"], None, True),
              ("libcprof, mutex 1 + block 1", [BENCH, "lock"], on, True)]
    cont_v = [("no libcprof", [BENCH, "contended", "-threads", "4"], None,
               False),
              ("libcprof, profiles off", [BENCH, "contended", "-threads",
                                          "4"], None, True),
              ("libcprof, mutex 1 + block 1", [BENCH, "contended",
                                               "-threads", "4"], on, True)]
    if a.go:
        lock_v += [("Go, profiles off", [a.go, "-mode", "lock"], None,
                    False),
                   ("Go, mutex 1 + block 1", [a.go, "-mode", "lock",
                                              "-mutexfraction", "1",
                                              "-blockrate", "1"], None,
                    False)]
        cont_v += [("Go, profiles off", [a.go, "-mode", "contended",
                                         "-threads", "4"], None, False),
                   ("Go, mutex 1 + block 1", [a.go, "-mode", "contended",
                                              "-threads", "4",
                                              "-mutexfraction", "1",
                                              "-blockrate", "1"], None,
                    False)]
    mix_v = []
    for t in (8, 64):
        args = [BENCH, "fixed", "-threads", str(t), "-seconds", "3"]
        mix_v += [
            ("%d threads, no libcprof" % t, args, None, False),
            ("%d threads, libcprof idle" % t, args, None, True),
            ("%d threads, CPROF_WALL 100 Hz" % t, args,
             {"CPROF_WALL": os.path.join(tmp, "w.prof"),
              "CPROF_WALL_HZ": "100", "CPROF_DEBUG_STATS": "1"}, True),
            ("%d threads, CPROF_CPU 100 Hz" % t, args,
             {"CPROF_CPU": os.path.join(tmp, "c.prof")}, True)]

    res = {}
    for r in range(a.rounds):
        for group in (lock_v, cont_v, mix_v):
            for name, argv, env, pre in group:
                out = run(argv, env, pre)
                res.setdefault((argv[1] if argv[0] == BENCH else
                                argv[2], name), []).append(out)
        print("round %d done" % (r + 1), flush=True)

    print("\n### Uncontended lock/unlock pair (ns, median of %d runs)\n"
          % a.rounds)
    print("| variant | median | p99 | added (median) |")
    print("| --- | ---: | ---: | ---: |")
    base = {}
    for name, argv, _, _ in lock_v:
        rs = res[("lock", name)]
        m, p = med([x["median_ns"] for x in rs]), med([x["p99_ns"]
                                                      for x in rs])
        key = "go" if name.startswith("Go") else "c"
        base.setdefault(key, m)
        print("| %s | %.2f | %.2f | %+.2f |" % (name, m, p, m - base[key]))

    print("\n### Instructions per uncontended pair (callgrind; the "
          "difference of 256k and 512k pairs)\n")
    print("| variant | instructions | added |")
    print("| --- | ---: | ---: |")
    base_ir = None
    for name, argv, env, pre in lock_v[:3]:
        a1 = callgrind_ir(argv + ["-n", "256000"], env, pre)
        a2 = callgrind_ir(argv + ["-n", "512000"], env, pre)
        if a1 is None or a2 is None:
            print("| %s | (no valgrind) | |" % name)
            continue
        per = (a2 - a1) / 256000
        if base_ir is None:
            base_ir = per
        print("| %s | %.1f | %+.1f |" % (name, per, per - base_ir))

    print("\n### Contended mutex, 4 threads (acquisitions/s, median)\n")
    print("| variant | ops/s | vs first of its kind | CPU ns per op |")
    print("| --- | ---: | ---: | ---: |")
    base = {}
    for name, argv, _, _ in cont_v:
        rs = res[("contended", name)]
        m = med([x["ops_per_s"] for x in rs])
        cpu = [x["cpu_per_s"] * 1e9 / x["ops_per_s"] for x in rs
               if "cpu_per_s" in x]
        key = "go" if name.startswith("Go") else "c"
        base.setdefault(key, m)
        print("| %s | %.0f | %.3f | %s |" % (
            name, m, m / base[key], "%.0f" % med(cpu) if cpu else "-"))

    print("\n### Wall-clock sampling: threads computing ~100 us (fixed "
          "work) then waiting 200 us, 3 s (medians)\n")
    print("| variant | CPU us per unit | vs no libcprof | work/s | "
          "sampler CPU/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    base = {}
    for name, argv, _, _ in mix_v:
        rs = res[("fixed", name)]
        per = med([x["cpu_ns_per_op"] for x in rs]) / 1000
        m = med([x["ops_per_s"] for x in rs])
        t = argv[3]
        base.setdefault(t, per)
        samp = [x["sampler_cpu_ns"] / 1e9 / x["seconds"] for x in rs
                if "sampler_cpu_ns" in x]
        print("| %s | %.1f | %.3f | %.0f | %s |" % (
            name, per, per / base[t], m,
            "%.4f" % med(samp) if samp else "-"))


if __name__ == "__main__":
    main()
