#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""hash_study.py - the hash_bench study (docs/hash-bench-study.md), driven by
bench/hash_study.sh, which builds the Go twin and passes the paths:

  hash_study.py --build BUILD --src SRC --go GO_BIN --work WORK --out OUT
                [--quick] [--doc DOC.md] [--reps N] [--seconds S] [--no-browser]

1. Checks that every implementation gives the same checksum: C naive
   (examples/hash_bench), Go (examples/go/hash_bench), C ilp and C simd
   (examples/hash_bench_fast), and tests/integration/examples/hash_ref.py.
2. Reads the machine's layout with `cprof topo -json` and measures hashes/s
   for: 1 thread pinned to one CPU; N threads on N real cores; 2 threads on
   two SMT siblings of one core (when there are any; otherwise the advice
   of `cprof topo` for an SMT fixture is shown); 1..2x cores threads
   unpinned. Each configuration runs every implementation with the same -n
   (so their checksums must agree, and do), in an order that rotates each
   repetition; the table gives medians and the interquartile range.
3. Profiles naive C, optimised C and Go with their profilers, draws flame
   graphs (static SVG from `cprof -collapsed`; the cprof web UI in headless
   Chromium when present), and traces the optimised version to show which
   CPU each thread ran on (`cprof trace`).
4. Writes OUT/results.md (tables, excerpts, image links), runs.csv, the
   plots (gnuplot SVG) and the pictures; with --doc, replaces the block
   between the study markers in DOC.md with results.md.

Exits 1 when a checksum disagrees or a step that must work fails.
"""
import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import study_svg  # noqa: E402

LINE_RE = re.compile(r"^hash_bench: (\d+) hashes in ([0-9.]+) s: (\d+) hashes/s "
                     r"\((\d+) threads\) checksum (0x[0-9a-f]{16})$")
BEGIN = "<!-- hash_study:begin (written by bench/hash_study.sh --doc; do not edit) -->"
END = "<!-- hash_study:end -->"
FIXTURE = "tests/data/topo/xeon-2s16c"


class Fail(Exception):
    pass


def log(msg):
    print("hash_study: " + msg, flush=True)


def sh(cmd, **kw):
    """Run cmd, return stdout; Fail with its stderr when it fails."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, **kw)
    if p.returncode != 0:
        raise Fail("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-500:]))
    return p.stdout


class Impl:
    def __init__(self, key, label, argv, lang):
        self.key, self.label, self.argv, self.lang = key, label, argv, lang


class Config:
    def __init__(self, key, label, threads, cpus, group, short=None):
        self.key, self.label, self.threads, self.cpus, self.group = key, label, threads, cpus, group
        self.short = short or label

    def usable_cpus(self, online):
        return len(cpu_list(self.cpus)) if self.cpus else online


def cpu_list(spec):
    out = []
    for part in (spec or "").split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def run_one(impl, n, threads, cpus, extra_env=None, extra_args=()):
    """One run: (result dict) with the program's own figures and the CPU
    time (user + system) the kernel charged to the process."""
    cmd = (["taskset", "-c", cpus] if cpus else []) + impl.argv + [
        "-n", str(n), "-r", str(max(n // 50, 1000)), "-t", str(threads)] + list(extra_args)
    env = dict(os.environ)
    env.update(extra_env or {})
    with tempfile.TemporaryFile(mode="w+") as errf:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=env, text=True)
        out = p.stdout.read()
        p.stdout.close()
        # wait4, not wait: the child's own rusage, to the microsecond
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        errf.seek(0)
        err = errf.read()
    if p.returncode != 0:
        raise Fail("%s exited %d: %s" % (" ".join(cmd), p.returncode, err.strip()[-400:]))
    lines = [l for l in out.splitlines() if l.strip()]
    m = LINE_RE.match(lines[-1]) if lines else None
    if not m:
        raise Fail("%s: no result line in %r" % (" ".join(cmd), out[-300:]))
    return {"n": int(m.group(1)), "secs": float(m.group(2)), "rate": int(m.group(3)),
            "threads": int(m.group(4)), "checksum": m.group(5),
            "cpu": ru.ru_utime + ru.ru_stime}


def quantiles(xs):
    xs = sorted(xs)
    if len(xs) >= 4:
        q = statistics.quantiles(xs, n=4, method="inclusive")
        return q[0], statistics.median(xs), q[2]
    return xs[0], statistics.median(xs), xs[-1]


def fmt_rate(r):
    return "%.1f" % (r / 1e6)


def main():
    ap = argparse.ArgumentParser(description="the hash_bench study")
    ap.add_argument("--build", required=True)
    ap.add_argument("--src")
    ap.add_argument("--go")
    ap.add_argument("--work")
    ap.add_argument("--out")
    ap.add_argument("--plan", action="store_true",
                    help="print the configurations for this machine and exit")
    ap.add_argument("--topo-root", help="with --plan: a fixture sysfs tree for cprof topo")
    ap.add_argument("--doc")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--no-browser", action="store_true")
    a = ap.parse_args()
    try:
        if a.plan:
            cmd = [os.path.join(a.build, "cli", "cprof"), "topo", "-json"]
            if a.topo_root:
                cmd.append("-root=" + a.topo_root)
            for c in plan_configs(json.loads(sh(cmd)), a.quick):
                print("%s\t%d\t%s\t%s" % (c.key, c.threads, c.cpus or "-", c.label))
            return 0
        if not (a.src and a.go and a.work and a.out):
            ap.error("--src, --go, --work and --out are needed (bench/hash_study.sh passes them)")
        return study(a)
    except Fail as e:
        print("hash_study: FAIL: %s" % e, file=sys.stderr)
        return 1


def study(a):
    t_start = time.monotonic()
    reps = a.reps or (1 if a.quick else 5)
    secs = a.seconds or (0.06 if a.quick else 0.6)
    budget = 45 if a.quick else 420  # seconds for the measured runs
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    cprof = os.path.join(a.build, "cli", "cprof")
    naive_bin = os.path.join(a.build, "examples", "hash_bench")
    fast_bin = os.path.join(a.build, "examples", "hash_bench_fast")
    libcprof = os.path.join(a.build, "src", "libcprof.so")
    for f in (cprof, naive_bin, fast_bin, a.go):
        if not os.access(f, os.X_OK):
            raise Fail("%s is missing: build first (make, or cmake --build %s)" % (f, a.build))

    impls = [Impl("c_naive", "C naive", [naive_bin], "C"),
             Impl("go", "Go", [a.go], "Go"),
             Impl("c_ilp", "C ilp", [fast_bin, "-impl", "ilp"], "C"),
             Impl("c_simd", "C simd", [fast_bin, "-impl", "simd"], "C")]
    if subprocess.run([fast_bin, "-impl", "simd", "-n", "16"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        log("this CPU has no AVX2: the simd implementation is left out")
        impls.pop()
    best = impls[-1]
    byk = {i.key: i for i in impls}

    # ---- 1. the same checksum everywhere -----------------------------------
    ref_py = os.path.join(a.src, "tests", "integration", "examples", "hash_ref.py")
    ref = sh([sys.executable, ref_py, "20000"]).strip()
    checks = [(20000, 1), (20000, 3)] + ([(1000003, 2)] if a.quick else
                                         [(1000003, 1), (1000003, 2), (1000003, 7), (4097, 64)])
    seen = {}
    for n, t in checks:
        for impl in impls:
            r = run_one(impl, n, t, None)
            seen.setdefault(n, set()).add(r["checksum"])
    if seen[20000] != {ref}:
        raise Fail("-n 20000: checksums %s, hash_ref.py says %s" % (sorted(seen[20000]), ref))
    for n, s in seen.items():
        if len(s) != 1:
            raise Fail("-n %d: the implementations disagree: %s" % (n, sorted(s)))
    log("checksums agree (%s, and hash_ref.py's %s for -n 20000)" %
        (", ".join(i.label for i in impls), ref))

    # ---- 2. the machine --------------------------------------------------
    topo = json.loads(sh([cprof, "topo", "-json"]))
    topo_txt = sh([cprof, "topo"])
    adv = topo.get("advice") or {}
    cores = topo["physical_cores"]
    online = len(os.sched_getaffinity(0))
    fixture_txt = None
    if not topo.get("smt"):
        fixture_txt = sh([cprof, "topo", "-root=" + os.path.join(a.src, FIXTURE)])

    configs = plan_configs(topo, a.quick)

    # ---- calibration: -n for ~secs of work per usable CPU --------------------
    cal_n = 300000 if a.quick else 2000000
    r = run_one(byk["c_naive"], cal_n, 1, adv.get("one_cpu", {}).get("cpus"))
    naive_rate = cal_n / max(r["cpu"], 1e-3)
    log("naive C calibration: %.1f M hashes per CPU-second; %d repetitions of %d "
        "configurations x %d implementations" % (naive_rate / 1e6, reps, len(configs), len(impls)))

    # ---- the measured runs ----------------------------------------------------
    rows = []
    load_before = os.getloadavg()
    t_runs = time.monotonic()
    done_reps = 0
    for rep in range(reps):
        for ci, cfg in enumerate(configs):
            usable = min(cfg.threads, cfg.usable_cpus(online))
            n = max(1000, int(naive_rate * secs * usable / 1000) * 1000)
            order = impls[(rep + ci) % len(impls):] + impls[:(rep + ci) % len(impls)]
            sums = set()
            for impl in order:
                r = run_one(impl, n, cfg.threads, cfg.cpus)
                r.update(impl=impl.key, config=cfg.key, rep=rep, cpus=cfg.cpus or "",
                         usable=usable)
                rows.append(r)
                sums.add(r["checksum"])
            if len(sums) != 1:
                raise Fail("%s, -n %d: checksums differ: %s" % (cfg.label, n, sorted(sums)))
        done_reps += 1
        if time.monotonic() - t_runs > budget and rep + 1 < reps and done_reps >= 3:
            log("time budget reached after %d repetitions; stopping there" % done_reps)
            break
    load_after = os.getloadavg()
    runs_secs = time.monotonic() - t_runs
    log("%d runs in %.0f s (load average %.1f before, %.1f after)" %
        (len(rows), runs_secs, load_before[0], load_after[0]))

    with open(os.path.join(a.out, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rep", "config", "impl", "threads", "cpus", "n", "secs", "hashes_per_s",
                    "cpu_secs", "checksum"])
        for r in rows:
            w.writerow([r["rep"], r["config"], r["impl"], r["threads"], r["cpus"], r["n"],
                        "%.3f" % r["secs"], r["rate"], "%.3f" % r["cpu"], r["checksum"]])

    # medians
    med = {}
    for cfg in configs:
        for impl in impls:
            rs = [r for r in rows if r["config"] == cfg.key and r["impl"] == impl.key]
            rate = quantiles([r["rate"] for r in rs])
            per_cpu = quantiles([r["n"] / max(r["cpu"], 1e-6) for r in rs])
            used = quantiles([r["cpu"] / max(r["secs"], 1e-6) for r in rs])
            share = statistics.median([r["cpu"] / max(r["secs"], 1e-6) / r["usable"] for r in rs])
            med[cfg.key, impl.key] = {"rate": rate, "per_cpu": per_cpu, "share": share,
                                      "cpus_used": used}

    # ---- plots -------------------------------------------------------------
    plots = make_plots(a, configs, impls, med, cores, topo)

    # ---- 3. profiles, flame graphs, trace ---------------------------------------
    prof = profiles(a, cprof, impls, byk, best, adv, naive_rate)
    trace = traces(a, cprof, best, adv, naive_rate, online, libcprof)

    # ---- 4. results.md -----------------------------------------------------
    md = results_md(a, configs, impls, best, med, topo, topo_txt, fixture_txt, plots, prof,
                    trace, reps, done_reps, secs, load_before, load_after, rows)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md)
    if a.doc:
        update_doc(a.doc, a.out, md)
    summary = {k[0] + "/" + k[1]: v for k, v in med.items()}
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump({"configs": [c.key for c in configs], "impls": [i.key for i in impls],
                   "medians": summary, "reps": done_reps}, f, indent=1, sort_keys=True)
    # the check: optimised C >= 2x Go, same run
    p1 = configs[0].key
    ratio = med[p1, best.key]["rate"][1] / med[p1, "go"]["rate"][1]
    log("%s: %s %.1f M/s, Go %.1f M/s: %.2fx; %.1f s in all; results in %s" %
        (configs[0].label, best.label, med[p1, best.key]["rate"][1] / 1e6,
         med[p1, "go"]["rate"][1] / 1e6, ratio, time.monotonic() - t_start,
         os.path.join(a.out, "results.md")))
    return 0


def plan_configs(topo, quick):
    """The configurations to measure on the machine `cprof topo -json`
    described: pinned ones from its advice (one CPU; two real cores; the
    two SMT siblings of a core when it has SMT; every real core), then
    1..2x cores threads unpinned (a geometric selection past 8)."""
    adv = topo.get("advice") or {}
    cores = topo["physical_cores"]
    configs = []
    if adv.get("one_cpu"):
        configs.append(Config("pin1", "1 thread pinned to CPU %s" % adv["one_cpu"]["cpus"], 1,
                              adv["one_cpu"]["cpus"], "pinned", "1 thread, 1 CPU"))
    if adv.get("two_cores") and (not adv.get("all_cores") or
                                 adv["two_cores"]["cpus"] != adv["all_cores"]["cpus"]):
        configs.append(Config("pin2cores", "2 threads on 2 real cores (CPUs %s)" %
                              adv["two_cores"]["cpus"], 2, adv["two_cores"]["cpus"], "pinned",
                              "2 threads, 2 cores"))
    if adv.get("smt_pair"):
        configs.append(Config("pinsmt", "2 threads on the 2 SMT siblings of one core (CPUs %s)" %
                              adv["smt_pair"]["cpus"], 2, adv["smt_pair"]["cpus"], "pinned",
                              "2 threads, 1 core (SMT)"))
    if adv.get("all_cores") and adv["all_cores"]["threads"] > 1:
        ac = adv["all_cores"]
        configs.append(Config("pincores", "%d threads on %d real cores (CPUs %s)" %
                              (ac["threads"], ac["threads"], ac["cpus"]), ac["threads"],
                              ac["cpus"], "pinned", "%d threads, %d cores" % (ac["threads"],
                                                                               ac["threads"])))
    tmax = 2 * cores
    if tmax <= 8:
        tlist = list(range(1, tmax + 1))
    else:
        tlist = sorted({1, 2, 4, cores // 2, cores, cores + cores // 2, tmax} |
                       {2 ** k for k in range(10) if 2 ** k <= tmax})
    if quick:
        tlist = sorted({1, tmax})
    for t in tlist:
        configs.append(Config("free%d" % t, "%d thread%s, unpinned" % (t, "s" if t > 1 else ""),
                              t, None, "unpinned"))
    return configs


def make_plots(a, configs, impls, med, cores, topo):
    """gnuplot SVGs; returns {name: file} of the ones drawn."""
    gp = shutil.which("gnuplot")
    if not gp:
        log("gnuplot not found (scripts/deps.sh bench installs gnuplot-nox): no plots")
        return {}
    colours = {"c_naive": "#4e79a7", "go": "#00add8", "c_ilp": "#f28e2b", "c_simd": "#e15759"}
    free = [c for c in configs if c.group == "unpinned"]
    pinned = [c for c in configs if c.group == "pinned"]
    online = len(os.sched_getaffinity(0))
    dat = os.path.join(a.work, "scaling.dat")
    with open(dat, "w") as f:
        f.write("# threads ideal_cpus, then per implementation: rate q1 med q3 (M/s), "
                "CPUs used q1 med q3\n")
        for c in free:
            f.write("%d %d " % (c.threads, min(c.threads, online)) + " ".join(
                "%.4f %.4f %.4f %.4f %.4f %.4f" % (
                    tuple(x / 1e6 for x in med[c.key, i.key]["rate"]) +
                    tuple(med[c.key, i.key]["cpus_used"]))
                for i in impls) + "\n")
    pdat = os.path.join(a.work, "placement.dat")
    with open(pdat, "w") as f:
        for c in pinned:
            label = c.short.replace('"', "'")
            f.write('"%s" ' % label + " ".join(
                "%.4f %.4f" % (med[c.key, i.key]["rate"][1] / 1e6,
                               med[c.key, i.key]["per_cpu"][1] / 1e6) for i in impls) + "\n")
    out = {}
    common = ("set termoption noenhanced\nset grid ytics lc rgb '#dddddd'\n"
              "set key top left\n")
    term = "set terminal svg size %d,%d dynamic font 'DejaVu Sans,13' background '#ffffff'\n"
    rate_lines, cpu_lines = [], []
    for k, i in enumerate(impls):
        base = 3 + 6 * k
        col = colours.get(i.key, "#333333")
        rate_lines.append("'%s' using 1:%d:%d:%d with yerrorlines lw 2 pt 7 lc rgb '%s' "
                          "title '%s'" % (dat, base + 1, base, base + 2, col, i.label))
        cpu_lines.append("'%s' using 1:%d:%d:%d with yerrorlines lw 2 pt 7 lc rgb '%s' "
                         "title '%s'" % (dat, base + 4, base + 3, base + 5, col, i.label))
    xr = "set xtics 1\nset xrange [0.5:%g]\n" % (free[-1].threads + 0.5)
    script = (term % (1200, 520)) + common + (
        "set output '%s'\nset multiplot layout 1,2 title \"hash_bench, unpinned: %d cores, "
        "%d logical CPUs; medians, bars from the first to the third quartile\"\n"
        "set title 'hashes/s against threads'\nset xlabel 'threads'\n"
        "set ylabel 'million hashes/s (log scale)'\nset logscale y\n%s"
        "plot %s\n"
        "unset logscale y\nset title 'CPUs the process got (CPU time / wall time)'\n"
        "set ylabel 'CPUs'\nset yrange [0:%g]\nset key top left\n"
        "plot '%s' using 1:2 with lines dt 2 lw 2 lc rgb '#333333' "
        "title 'all it could use: min(threads, CPUs)', %s\n"
        "unset multiplot\n") % (
            os.path.join(a.out, "scaling.svg"), cores, topo["logical_cpus"], xr,
            ", ".join(rate_lines), online * 1.7 + 0.3, dat, ", ".join(cpu_lines))
    _gnuplot(gp, script, a.work, "scaling")
    out["scaling"] = "scaling.svg"
    if pinned:
        wall = ", ".join("'%s' using %d:xtic(1) title '%s' lc rgb '%s'" %
                         (pdat, 2 + 2 * k, i.label, colours.get(i.key, "#333"))
                         for k, i in enumerate(impls))
        per = ", ".join("'%s' using %d:xtic(1) title '%s' lc rgb '%s'" %
                        (pdat, 3 + 2 * k, i.label, colours.get(i.key, "#333"))
                        for k, i in enumerate(impls))
        script = (term % (1200, 520)) + common + (
            "set output '%s'\n"
            "set multiplot layout 1,2 title \"hash_bench pinned with taskset -c; medians\"\n"
            "set style data histograms\nset style histogram clustered gap 1\n"
            "set style fill solid 0.9 border -1\nset boxwidth 0.9\nset yrange [0:*]\n"
            "set title 'hashes/s (wall clock)'\nset ylabel 'million hashes/s'\n"
            "plot %s\n"
            "set title 'hashes per CPU-second (the cost of a hash)'\n"
            "set ylabel 'million hashes per CPU-second'\nplot %s\n"
            "unset multiplot\n") % (os.path.join(a.out, "placement.svg"), wall, per)
        _gnuplot(gp, script, a.work, "placement")
        out["placement"] = "placement.svg"
        # the optimisation in one picture: CPU nanoseconds per hash, one thread
        odat = os.path.join(a.work, "optimise.dat")
        p1 = pinned[0].key
        go = med[p1, "go"]["per_cpu"][1]
        with open(odat, "w") as f:
            for k, i in enumerate(impls):
                pc = med[p1, i.key]["per_cpu"][1]
                f.write('%d "%s" %.3f "%.1f ns (%.2fx Go\'s speed)"\n' % (
                    k, i.label, 1e9 / pc, 1e9 / pc, pc / go))
        bars = ", ".join(
            "'%s' every ::%d::%d using 1:3:xtic(2) with boxes lc rgb '%s'" %
            (odat, k, k, colours.get(i.key, "#333")) for k, i in enumerate(impls))
        script = (term % (900, 480)) + common + (
            "set output '%s'\n"
            "set title \"CPU time per hash, %s (median): lower is faster\"\n"
            "set style fill solid 0.9 border -1\nset boxwidth 0.6\nset yrange [0:*]\n"
            "set offsets 0, 0, graph 0.1, 0\nset xrange [-0.6:%g]\n"
            "set ylabel 'nanoseconds of CPU per hash'\nunset key\n"
            "plot %s, '%s' using 1:3:4 with labels offset 0,1 notitle\n") % (
                os.path.join(a.out, "optimise.svg"), pinned[0].label, len(impls) - 0.4, bars,
                odat)
        _gnuplot(gp, script, a.work, "optimise")
        out["optimise"] = "optimise.svg"
    return out


def _gnuplot(gp, script, work, name):
    path = os.path.join(work, name + ".gp")
    with open(path, "w") as f:
        f.write(script)
    sh([gp, path])


def free_port_url(proc):
    """The URL `cprof -http=127.0.0.1:0` printed (it picks the port)."""
    line = proc.stdout.readline()
    m = re.search(r"(http://\S+)", line)
    if not m:
        raise Fail("cprof -http printed %r" % line)
    return m.group(1).rstrip("/")


def screenshot(a, url, png, size):
    chromium = shutil.which("chromium")
    if not chromium or a.no_browser or a.quick:
        return False
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--user-data-dir=" + os.path.join(a.work, "chromium"), "--window-size=" + size,
           "--virtual-time-budget=8000", "--screenshot=" + png, url]
    try:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=90)
    except subprocess.TimeoutExpired:
        return False
    return os.path.exists(png) and os.path.getsize(png) > 1000


def webui_shots(a, cprof, prof, shots):
    """PNG screenshots of the cprof web UI on prof: shots = [(path+query, png)]."""
    if not shutil.which("chromium") or a.no_browser or a.quick:
        return []
    p = subprocess.Popen([cprof, "-http=127.0.0.1:0", "-no_browser", prof],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    done = []
    try:
        base = free_port_url(p)
        for q, png in shots:
            if os.path.exists(png):
                os.unlink(png)
            size = "1200,760" if q.startswith("/source") else "1200,420"
            if screenshot(a, base + q, png, size):
                done.append(os.path.basename(png))
    finally:
        p.terminate()
        p.wait(timeout=10)
    return done


def profiles(a, cprof, impls, byk, best, adv, naive_rate):
    """Profile naive C, the best C and Go; flame graphs and text excerpts."""
    res = {}
    pin = adv.get("one_cpu", {}).get("cpus")
    n1 = max(20000, int(naive_rate * (0.3 if a.quick else 2.0)))
    hz = "1000"
    for key, n in (("c_naive", n1), (best.key, n1 * 4), ("go", n1)):
        impl = byk[key]
        path = os.path.join(a.work, key + ".prof")
        if os.path.exists(path):
            os.unlink(path)
        if impl.lang == "C":
            # the no-code-change way: the env variables of SPEC §2
            r = run_one(impl, n, 1, pin, {"CPROF_CPU": path, "CPROF_CPU_HZ": hz})
        else:
            r = run_one(impl, n, 1, pin, extra_args=["-cpuprofile", path])
        if not os.path.exists(path):
            raise Fail("%s wrote no profile" % impl.label)
        top = sh([cprof, "-top", "-nodecount=12", path])
        col = sh([cprof, "-collapsed", path])
        title = "%s: CPU profile, 1 thread, -n %d (%s)" % (
            impl.label, n, "cprof, CPROF_CPU_HZ=1000" if impl.lang == "C"
            else "Go's runtime/pprof, read by cprof")
        svg = "flame-%s.svg" % key
        with open(os.path.join(a.out, svg), "w") as f:
            f.write(study_svg.flame_svg(col, title))
        res[key] = {"top": top, "svg": svg, "rate": r["rate"], "n": n, "path": path}
    hot = {"c_naive": "fnv1a_64", "c_ilp": "fnv1a_64_x8", "c_simd": "fnv1a_64_x16_avx2",
           "go": "main.fnv1a64"}
    for key in res:
        res[key]["list"] = sh([cprof, "-list=^%s$" % re.escape(hot[key]), res[key]["path"]])
    if "fnv1a_64" not in res["c_naive"]["top"]:
        raise Fail("the naive profile does not show fnv1a_64:\n" + res["c_naive"]["top"])
    # the web UI, as a person sees it
    res["c_naive"]["png"] = webui_shots(a, cprof, res["c_naive"]["path"], [
        ("/flamegraph", os.path.join(a.out, "ui-flame-c_naive.png")),
        ("/source?fn=fnv1a_64", os.path.join(a.out, "ui-source-c_naive.png"))])
    res[best.key]["png"] = webui_shots(a, cprof, res[best.key]["path"], [
        ("/flamegraph", os.path.join(a.out, "ui-flame-%s.png" % best.key)),
        ("/source?fn=%s" % hot[best.key], os.path.join(a.out, "ui-source-%s.png" % best.key))])
    return res


def traces(a, cprof, best, adv, naive_rate, online, libcprof):
    """Trace the best C version: 2 threads on the real cores, and 2x cores
    threads unpinned; per-thread CPU tables and timeline SVGs."""
    out = []
    ac = adv.get("all_cores") or adv.get("one_cpu")
    runs = [("pinned", ac["threads"], ac["cpus"])]
    if not a.quick:
        runs.append(("unpinned", 2 * online, None))
    for name, t, cpus in runs:
        path = os.path.join(a.work, "trace-%s.out" % name)
        for f in (path, path + ".json"):
            if os.path.exists(f):
                os.unlink(f)
        n = max(16000, int(naive_rate * 4 * (0.05 if a.quick else 0.25) * min(t, online)))
        r = run_one(best, n, t, cpus, {"CPROF_TRACE": path})
        summary = sh([cprof, "trace", "-summary", path])
        sumj = json.loads(sh([cprof, "trace", "-summary=json", path]))
        dump = sh([cprof, "trace", "-dump", path])
        names, spans, _ = study_svg.trace_spans(dump)
        if not spans:
            raise Fail("the trace of %s has no context-switch records" % best.label)
        table, running = cpu_table(names, spans)
        title = "%s, -t %d %s: which thread ran on which CPU" % (
            best.label, t, "pinned to CPUs " + cpus if cpus else "unpinned")
        svg = "trace-%s.svg" % name
        with open(os.path.join(a.out, svg), "w") as f:
            f.write(study_svg.timeline_svg(dump, title))
        # Where -summary's running column disagrees with the switch records
        # (it closed an exited thread's last stretch at the trace's end), say so.
        off = [th for th in sumj.get("threads", [])
               if th.get("tid") in running and th.get("precise")
               and th.get("running_ns", 0) / 1e3 > 1.1 * running[th["tid"]] + 1000]
        out.append({"name": name, "threads": t, "cpus": cpus, "n": n, "rate": r["rate"],
                    "summary": summary, "table": table, "svg": svg, "summary_off": off})
    return out


def cpu_table(names, spans):
    """Markdown: per thread, time on each CPU, time slices and migrations;
    and {tid: running microseconds}."""
    cpus = sorted({s[0] for s in spans})
    lines = ["| thread | " + " | ".join("on CPU %d" % c for c in cpus) +
             " | running | time slices | migrations |",
             "|---|" + "---:|" * (len(cpus) + 3)]
    running = {}
    for tid in sorted({s[1] for s in spans}, key=lambda t: (names.get(t, ""), t)):
        mine = sorted((s for s in spans if s[1] == tid), key=lambda s: s[2])
        per = {c: sum(s[3] for s in mine if s[0] == c) for c in cpus}
        running[tid] = sum(per.values())
        mig = sum(1 for x, y in zip(mine, mine[1:]) if x[0] != y[0])
        lines.append("| %s (%d) | " % (names.get(tid, "?"), tid) +
                     " | ".join("%.1f ms" % (per[c] / 1000) for c in cpus) +
                     " | %.1f ms | %d | %d |" % (running[tid] / 1000, len(mine), mig))
    return "\n".join(lines) + "\n", running


def results_md(a, configs, impls, best, med, topo, topo_txt, fixture_txt, plots, prof, trace,
               reps, done_reps, secs, load_before, load_after, rows):
    o = []
    w = o.append
    p1 = configs[0].key
    go1 = med[p1, "go"]["rate"][1]
    nv1 = med[p1, "c_naive"]["rate"][1]
    b1 = med[p1, best.key]["rate"][1]
    w("Measured by `bench/hash_study.sh%s` on %s (%d logical CPUs, %d cores, %s), %s; "
      "%d repetitions per cell (%s asked), every implementation on the same `-n` in each "
      "configuration, order rotated each repetition; about %.1f s of naive-C work per "
      "usable CPU per run. Load average %.1f before the runs, %.1f after: other jobs "
      "share this machine.\n" % (
          " --quick" if a.quick else "", cpu_model(),
          topo["logical_cpus"], topo["physical_cores"],
          "SMT" if topo.get("smt") else "no SMT", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
          done_reps, reps, secs, load_before[0], load_after[0]))
    w("\n**Single thread, pinned: %s %.1f M hashes/s, Go %.1f M, naive C %.1f M: "
      "the optimised C is %.2f× Go and %.2f× the first C version; Go is %.2f× naive C.**\n"
      % (best.label, b1 / 1e6, go1 / 1e6, nv1 / 1e6, b1 / go1, b1 / nv1, go1 / nv1))
    w("\n#### Hashes per second (millions; median, with the interquartile range)\n\n")
    w("| configuration | threads | " + " | ".join(i.label for i in impls) +
      " | %s ÷ Go | %s ÷ naive C | Go ÷ naive C |\n" % (best.label, best.label))
    w("|---|---:|" + "---:|" * (len(impls) + 3) + "\n")
    for c in configs:
        cells = []
        for i in impls:
            q1, m, q3 = med[c.key, i.key]["rate"]
            cells.append("**%s** (%s–%s)" % (fmt_rate(m), fmt_rate(q1), fmt_rate(q3)))
        b = med[c.key, best.key]["rate"][1]
        g = med[c.key, "go"]["rate"][1]
        nv = med[c.key, "c_naive"]["rate"][1]
        w("| %s | %d | %s | %.2f | %.2f | %.2f |\n" % (c.label, c.threads, " | ".join(cells),
                                                       b / g, b / nv, g / nv))
    keys = {c.key for c in configs}
    if "pinsmt" in keys and ("pin2cores" in keys or "pincores" in keys):
        two = "pin2cores" if "pin2cores" in keys else "pincores"
        w("\n**SMT siblings against real cores** (2 threads; hashes per CPU-second on the "
          "siblings as a share of the same on distinct cores): " + ", ".join(
              "%s %.0f%%" % (i.label, 100 * med["pinsmt", i.key]["per_cpu"][1] /
                             med[two, i.key]["per_cpu"][1]) for i in impls) +
          ". A share near 100%% means the two threads hardly got in each other's way on one "
          "core; near 50%% means the core was already busy with one of them.\n")
    w("\n#### Per CPU-second (millions of hashes per second of CPU time the process used)\n\n")
    w("Wall-clock rates above depend on how much of the machine the other jobs left us; "
      "hashes per CPU-second do not, so they show the cost of a hash itself. "
      "*CPU share* is the CPU time the run got over what its threads could have used "
      "(1.00: it never waited for a CPU).\n\n")
    w("| configuration | " + " | ".join(i.label for i in impls) + " | CPU share (%s) |\n" %
      best.label)
    w("|---|" + "---:|" * (len(impls) + 1) + "\n")
    for c in configs:
        w("| %s | " % c.label + " | ".join(fmt_rate(med[c.key, i.key]["per_cpu"][1])
                                          for i in impls) +
          " | %.2f |\n" % med[c.key, best.key]["share"])
    if plots:
        w("\n")
        for key, alt in (("optimise", "CPU time per hash"),
                         ("placement", "hashes/s by placement"),
                         ("scaling", "hashes/s against threads")):
            if key in plots:
                w("![%s](%s)\n\n" % (alt, plots[key]))
    w("\n#### This machine, by `cprof topo`\n\n```\n%s```\n" % topo_txt)
    if fixture_txt is not None:
        w("\nNo SMT here, so no sibling run. What `cprof topo -root=%s` (a 2-socket, "
          "16-core, 2-thread Xeon fixture) advises instead:\n\n```\n%s```\n" % (
              FIXTURE, fixture_txt[fixture_txt.find("Pinning advice"):]))
    w("\n#### Profiles (1 thread pinned, 1000 Hz)\n")
    for key, what in (("c_naive", "naive C (examples/hash_bench.c)"),
                      (best.key, "%s (examples/hash_bench_fast.c)" % best.label),
                      ("go", "Go (examples/go/hash_bench, its own -cpuprofile)")):
        pr = prof[key]
        w("\n%s, `-n %d`, %.1f M hashes/s while profiled:\n\n" % (what, pr["n"], pr["rate"] / 1e6))
        w("![flame graph: %s](%s)\n\n" % (what, pr["svg"]))
        top = pr["top"]
        body = top[top.find("      flat"):] if "      flat" in top else top
        w("```\n$ cprof -top %s.prof\n%s```\n" % (key, body))
        lst = pr.get("list", "")
        if lst.strip():
            w("\n```\n$ cprof -list %s.prof\n%s```\n" % (key, trim_list(lst)))
        for png in pr.get("png") or []:
            w("\n![cprof web UI: %s](%s)\n" % (png, png))
    w("\n#### Trace excerpt: %s, which thread ran on which CPU\n" % best.label)
    for t in trace:
        w("\n`-t %d`, %s, `-n %d`, %.1f M hashes/s while traced (`CPROF_TRACE=trace.out`):\n\n"
          % (t["threads"], "pinned to CPUs " + t["cpus"] if t["cpus"] else "unpinned", t["n"],
             t["rate"] / 1e6))
        w("![trace timeline](%s)\n\n" % t["svg"])
        w(t["table"])
        s = t["summary"]
        w("\n```\n$ cprof trace -summary trace.out\n%s```\n" % s)
        if t["summary_off"]:
            w("\n(The *running* column of `cprof trace -summary` for %s is longer than the "
              "context-switch records give in the table above: this version of the summary "
              "counts a thread that exited before the trace ended as running until the end.)\n"
              % ", ".join(th.get("name", str(th["tid"])) for th in t["summary_off"]))
    return "".join(o)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "this machine"


def trim_list(text, context=3):
    """cprof -list output with only the lines near sampled ones."""
    keep = []
    lines = text.splitlines()
    hot = [i for i, l in enumerate(lines)
           if re.match(r"^\s+\S+\s+\S+\s+\d+:", l) and not re.match(r"^\s+\.\s+\.\s", l)]
    for i, l in enumerate(lines):
        if not re.match(r"^\s+\S+\s+\S+\s+\d+:", l) or any(abs(i - h) <= context for h in hot):
            keep.append(l)
    return "\n".join(keep) + "\n"


def update_doc(doc, outdir, md):
    """Replace the marked block of doc with md, image links made relative."""
    with open(doc) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise Fail("%s lacks the markers %s ... %s" % (doc, BEGIN, END))
    rel = os.path.relpath(outdir, os.path.dirname(os.path.abspath(doc)))
    md = re.sub(r"\]\(([^)/]+\.(?:svg|png))\)", lambda m: "](%s/%s)" % (rel, m.group(1)), md)
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(doc + ".tmp", "w") as f:
        f.write(head + BEGIN + "\n\n" + md + "\n" + END + tail)
    os.replace(doc + ".tmp", doc)
    log("updated %s" % doc)


if __name__ == "__main__":
    sys.exit(main())
