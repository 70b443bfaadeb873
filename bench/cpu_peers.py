#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""cpu_peers.py - CPU profilers side by side (run by bench/run_cpu.sh).

For each workload (examples/hash_bench with 1 and 2 threads, and
bench_cpu_work, a 100-frame-deep recursion), runs it unprofiled, under
cprof (LD_PRELOAD + CPROF_CPU), gperftools' libprofiler (LD_PRELOAD +
CPUPROFILE; also with CPUPROFILE_PER_THREAD_TIMERS=1) and `perf record -F
-g`, at 100 and 1000 Hz, in alternated rounds (every round runs every
configuration, in a rotated order), and reports per configuration:

  cpu      median CPU time (user + sys) of the whole command, the
           profiler's own processes included (perf's), in seconds;
  ovh      that against the unprofiled median, in percent;
  acct     the profile's total (samples x period) over the CPU time the
           workload process itself used, median, in percent: how much of
           the program's time the profile accounts for;
  wall     median wall time.

The /bin/true row is each profiler's fixed cost per process (cprof and
perf symbolize when the profile is written or read; gperftools writes raw
addresses and leaves symbolization to pprof later).

usage: cpu_peers.py BUILD [ROUNDS] [--quick] [--only=WORKLOAD]
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

LIBPROFILER = "/usr/lib/x86_64-linux-gnu/libprofiler.so"


def pprof_total_ns(path):
    """Samples x period of a pprof-readable profile (cprof's proto or
    gperftools' legacy format), in ns, via go tool pprof -raw."""
    r = subprocess.run(["go", "tool", "pprof", "-raw", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    lines = r.stdout.splitlines()
    try:
        i = lines.index("Samples:")
    except ValueError:
        return None
    types = lines[i + 1].replace("[dflt]", "").split()
    col = types.index("cpu/nanoseconds") if "cpu/nanoseconds" in types \
        else len(types) - 1
    total = 0
    for ln in lines[i + 2:]:
        if ln.startswith("Locations"):
            break
        m = re.match(r"^\s+([\d\s]+):", ln)
        if m:
            total += int(m.group(1).split()[col])
    return total


def perf_total_ns(path):
    """Event count of cpu-clock/task-clock samples in a perf.data (ns)."""
    r = subprocess.run(["perf", "report", "-i", path, "--stdio",
                        "--sort", "comm"], capture_output=True, text=True)
    m = re.search(r"Event count \(approx\.\): (\d+)", r.stdout)
    return int(m.group(1)) if m else None


def parse_time(path):
    """user+sys and wall from /usr/bin/time -f "%U %S %e" (the workload
    process alone, for the profile / CPU ratio)."""
    with open(path) as f:
        u, s, e = f.read().split()[-3:]
    return float(u) + float(s), float(e)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    only = [a[7:] for a in sys.argv[1:] if a.startswith("--only=")]
    build = os.path.abspath(args[0] if args else "build")
    rounds = int(args[1]) if len(args) > 1 else 5
    lib = os.path.join(build, "src", "libcprof.so")
    hb = os.path.join(build, "examples", "hash_bench")
    deep = os.path.join(build, "bench", "bench_cpu_work")
    for f in (lib, hb, deep):
        if not os.path.exists(f):
            sys.exit("cpu_peers: %s is missing (build first)" % f)
    have_gperf = os.path.exists(LIBPROFILER)
    have_perf = shutil.which("perf") is not None
    time_bin = "/usr/bin/time"

    n = "20000000" if quick else "60000000"
    workloads = [
        ("hash_bench -t 1", [hb, "-n", n, "-t", "1"]),
        ("hash_bench -t 2", [hb, "-n", n, "-t", "2"]),
        ("deep recursion 100", [deep, "100", "25000" if quick else "75000",
                                "1"]),
        # the fixed cost of a profile: start-up, and writing (symbolizing)
        # it at exit, on a program that does nothing
        ("/bin/true", ["/bin/true"]),
    ]
    if only:
        workloads = [w for w in workloads if only[0] in w[0]]
    profilers = [("none", None, 0)]
    for hz in (100, 1000):
        profilers.append(("cprof", "cprof", hz))
        if have_gperf:
            profilers.append(("gperftools", "gperf", hz))
        if have_gperf and hz == 1000:
            profilers.append(("gperftools per-thread", "gperf-pt", hz))
        if have_perf:
            profilers.append(("perf record -g", "perf", hz))

    tmp = tempfile.mkdtemp(prefix="cpu-peers-")
    res = {}
    print("# %d rounds, alternated; CPU = user+sys of the whole command; "
          "tmp %s" % (rounds, tmp), flush=True)
    for rnd in range(rounds):
        for wi, (wname, cmd) in enumerate(workloads):
            k = len(profilers)
            order = [profilers[(i + rnd) % k] for i in range(k)]
            for pname, kind, hz in order:
                out = os.path.join(tmp, "prof")
                for f in os.listdir(tmp):
                    os.unlink(os.path.join(tmp, f))
                inner = os.path.join(tmp, "inner.time")
                env = dict(os.environ)
                env.pop("LD_PRELOAD", None)
                tcmd = [time_bin, "-o", inner, "-f", "%U %S %e"]
                if kind == "cprof":
                    full = tcmd + ["env", "LD_PRELOAD=" + lib,
                                   "CPROF_CPU=" + out,
                                   "CPROF_CPU_HZ=%d" % hz] + cmd
                elif kind in ("gperf", "gperf-pt"):
                    e = ["env", "LD_PRELOAD=" + LIBPROFILER,
                         "CPUPROFILE=" + out, "CPUPROFILE_FREQUENCY=%d" % hz]
                    if kind == "gperf-pt":
                        e.append("CPUPROFILE_PER_THREAD_TIMERS=1")
                    full = tcmd + e + cmd
                elif kind == "perf":
                    full = ["perf", "record", "-q", "-F", str(hz), "-g",
                            "-o", out, "--"] + tcmd + cmd
                else:
                    full = tcmd + cmd
                # CPU of the whole command tree from wait4 (microseconds;
                # /usr/bin/time's 10 ms would hide a small program's cost)
                t0 = time.monotonic()
                p = subprocess.Popen(full, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
                _, status, ru = os.wait4(p.pid, 0)
                wall = time.monotonic() - t0
                err = p.stderr.read().decode("utf-8", "replace")
                p.stderr.close()
                if status != 0:
                    print("  %s / %s@%d failed: %s" % (wname, pname, hz,
                                                      err[-300:]))
                    continue
                cpu = ru.ru_utime + ru.ru_stime
                wcpu, _ = parse_time(inner)
                total = None
                if kind == "perf":
                    total = perf_total_ns(out)
                elif kind:
                    path = out if os.path.exists(out) else None
                    total = pprof_total_ns(path) if path else 0
                key = (wname, pname, hz)
                res.setdefault(key, []).append(
                    (cpu, wall, None if total is None or wcpu <= 0 else
                     100.0 * total / 1e9 / wcpu))
        print("round %d of %d done" % (rnd + 1, rounds), flush=True)

    print()
    print("| workload | profiler | Hz | CPU s | overhead | profile / CPU "
          "| wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for wname, _ in workloads:
        base = res.get((wname, "none", 0))
        if not base:
            continue
        bcpu = statistics.median(r[0] for r in base)
        for pname, kind, hz in profilers:
            rs = res.get((wname, pname, hz))
            if not rs:
                continue
            cpu = statistics.median(r[0] for r in rs)
            wall = statistics.median(r[1] for r in rs)
            accts = [r[2] for r in rs if r[2] is not None]
            acct = "%.0f%%" % statistics.median(accts) if accts and kind \
                else "-"
            if not kind:
                ovh = "-"
            elif bcpu < 0.05:  # a fixed cost: say it in milliseconds
                ovh = "%+.1f ms" % (1000 * (cpu - bcpu))
            else:
                ovh = "%+.1f%%" % (100 * (cpu / bcpu - 1))
            print("| %s | %s | %s | %.3f | %s | %s | %.2f |"
                  % (wname, pname, hz or "-", cpu, ovh, acct, wall))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
