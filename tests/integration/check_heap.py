#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check_heap.py - integration checks of libcprof's heap profiler.

Each check runs a program from tests/integration/progs/heap_*.c (built
into $CPROF_BUILD/tests/heap) under LD_PRELOAD=libcprof.so with CPROF_HEAP
and friends set, reads the profile back (a small profile.proto reader
below; `go tool pprof` and `cprof` where the check is about them), and
compares it with the "truth" the program wrote ($HEAPT_OUT). Registered
with ctest by heap.cmake:

    check_heap.py CHECK [options]

Exit status: 0 pass, 1 fail (every broken assertion is printed), 77 skip
(with the reason). The numbers are printed either way, so the ctest log
shows what was measured.

Under a sanitizer build (CPROF_SANITIZED=1) every check skips: ASan owns
malloc, so cprof's interposers are not built there (see docs/internals/
heap-sampling.md); the valgrind checks cover that ground in normal builds.
"""
import argparse
import gzip
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from cptest import (  # noqa: F401 (shared by the drivers)
    BUILD, SANITIZED, LIB, CPROF, SKIP, failures, fail, check, note, skip)

PROGS = os.path.join(BUILD, "tests", "heap")
DEFAULT_RATE = 524288

tmpdirs = []


def mktemp():
    d = tempfile.mkdtemp(prefix="cph-")
    tmpdirs.append(d)
    return d


# ------------------------------------------------------------ profile.proto

def _varint(b, i):
    x = shift = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7F) << shift
        if c < 0x80:
            return x, i
        shift += 7


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v = int.from_bytes(b[i:i + 8], "little")
            i += 8
        elif wt == 5:
            v = int.from_bytes(b[i:i + 4], "little")
            i += 4
        else:
            raise ValueError("bad wire type %d" % wt)
        yield f, wt, v


def _ints(wt, v):
    """A repeated integer field, packed or not."""
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def _signed(x):
    return x - (1 << 64) if x >= 1 << 63 else x


class Profile:
    """The parts of a pprof profile these checks need."""

    def __init__(self, path):
        data = open(path, "rb").read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        strings, types, samples, locs, funcs = [], [], [], {}, {}
        maps = []
        self.comments, self.period = [], 0
        dst = 0
        for f, wt, v in _fields(data):
            if f == 1:
                t = dict((g, x) for g, _, x in _fields(v))
                types.append((t.get(1, 0), t.get(2, 0)))
            elif f == 2:
                s = {"locs": [], "values": [], "labels": []}
                for g, w, x in _fields(v):
                    if g == 1:
                        s["locs"] += _ints(w, x)
                    elif g == 2:
                        s["values"] += [_signed(y) for y in _ints(w, x)]
                    elif g == 3:
                        lab = dict((h, y) for h, _, y in _fields(x))
                        s["labels"].append(lab)
                samples.append(s)
            elif f == 3:
                m = dict((g, x) for g, _, x in _fields(v))
                maps.append((m.get(5, 0), m.get(6, 0)))
            elif f == 4:
                lid, lines = 0, []
                for g, _, x in _fields(v):
                    if g == 1:
                        lid = x
                    elif g == 4:
                        ln = dict((h, y) for h, _, y in _fields(x))
                        lines.append(ln.get(1, 0))
                locs[lid] = lines
            elif f == 5:
                fn = dict((g, x) for g, _, x in _fields(v))
                funcs[fn.get(1, 0)] = fn.get(2, 0)
            elif f == 6:
                strings.append(v.decode("utf-8", "replace"))
            elif f == 12:
                self.period = _signed(v)
            elif f == 13:
                self.comments += _ints(wt, v)
            elif f == 14:
                dst = v
        self.strings = strings
        # (file name, build ID) of every mapping
        self.mappings = [(strings[f], strings[b]) for f, b in maps]
        self.types = [strings[t] for t, _ in types]
        self.default = strings[dst] if dst else ""
        self.comments = [strings[c] for c in self.comments]
        self.samples = []
        for s in samples:
            names = []
            for lid in s["locs"]:
                # C++ names come demangled with their parameters
                names.append([strings[funcs.get(fid, 0)].split("(")[0]
                              if fid in funcs else ""
                              for fid in locs.get(lid, [])])
            labels = {}
            for lab in s["labels"]:
                labels[strings[lab.get(1, 0)]] = lab.get(3, 0)
            self.samples.append((names, s["values"], labels))

    def index(self, name):
        return self.types.index(name)

    def site(self, func, type_name):
        """Total of type_name over samples with func anywhere in their
        stack (each sample counted once)."""
        k = self.index(type_name)
        tot = 0
        for names, values, _ in self.samples:
            if any(func in frame for frame in names):
                tot += values[k]
        return tot

    def total(self, type_name):
        k = self.index(type_name)
        return sum(v[k] for _, v, _ in self.samples)


def read_truth(path):
    truth = {}
    for line in open(path):
        p = line.split()
        if p and p[0] == "site":
            truth[p[1]] = dict(zip(
                ("inuse_objects", "inuse_space", "alloc_objects",
                 "alloc_space"), map(int, p[2:6])))
    return truth


# ------------------------------------------------------------ running

def prog(name):
    return os.path.join(PROGS, name)


def run(argv, env_extra, timeout=120, preload=True, check_rc=True):
    env = dict(os.environ)
    env.pop("CPROF_HEAP", None)
    env.pop("CPROF_HEAP_RATE", None)
    if preload:
        env["LD_PRELOAD"] = LIB
    env.update({k: str(v) for k, v in env_extra.items()})
    try:
        r = subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("%s timed out after %d s (deadlock?)" % (" ".join(argv),
                                                      timeout))
        return None
    out = r.stdout.decode(errors="replace")
    err = r.stderr.decode(errors="replace")
    if check_rc and r.returncode != 0:
        fail("%s exited with %d: %s" % (" ".join(argv), r.returncode,
                                        err.strip()[-2000:]))
    return r.returncode, out, err


def profiled(name, args, rate, extra=None, suffix=".pb.gz"):
    """Run tests/heap/NAME ARGS with CPROF_HEAP; return (Profile or text
    path, truth, stderr)."""
    d = mktemp()
    out = os.path.join(d, "heap" + suffix)
    env = {"CPROF_HEAP": out, "HEAPT_OUT": os.path.join(d, "truth")}
    if rate is not None:
        env["CPROF_HEAP_RATE"] = rate
    env.update(extra or {})
    r = run([prog(name)] + [str(a) for a in args], env)
    if r is None or not os.path.exists(out):
        fail("%s wrote no profile at %s" % (name, out))
        return None, {}, r[2] if r else ""
    truth = read_truth(env["HEAPT_OUT"]) if os.path.exists(
        env["HEAPT_OUT"]) else {}
    if suffix.endswith(".txt"):
        return out, truth, r[2]
    return Profile(out), truth, r[2]


TYPES = ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space")


def expect_exact(p, truth, sites=None):
    for site, want in sorted(truth.items()):
        if sites and site not in sites:
            continue
        got = {t: p.site(site, t) for t in TYPES}
        note("  %-18s got %s want %s" % (site, got, want))
        for t in TYPES:
            check(got[t] == want[t], "%s %s: %d, expected exactly %d" %
                  (site, t, got[t], want[t]))


# ------------------------------------------------------------ checks

def c_exact(a):
    p, truth, _ = profiled("heap_sites", ["exact"], 1)
    if not p:
        return
    check(p.types == list(TYPES), "sample types %s" % p.types)
    check(p.default == "inuse_space", "default type %r" % p.default)
    check(p.period == 1, "period %d, expected the rate 1" % p.period)
    expect_exact(p, truth)
    # the bytes label is each bucket's block size
    for names, values, labels in p.samples:
        if any("site_b" in f for f in names):
            check(labels.get("bytes") == 5000, "site_b bytes label %s"
                  % labels)


def c_ratio(a):
    p, truth, _ = profiled("heap_sites", ["ratio", a.mb], a.rate)
    if not p:
        return
    total = sum(t["inuse_space"] for t in truth.values())
    for site, t in sorted(truth.items()):
        got = p.site(site, "inuse_space")
        err = (got - t["inuse_space"]) / t["inuse_space"] * 100
        note("  %s: inuse_space %d, true %d (%+.2f%%), share %.1f%%" %
             (site, got, t["inuse_space"], err, 100.0 * got / total))
        check(abs(err) <= a.tol, "%s inuse_space off by %.2f%% (> %g%%)" %
              (site, err, a.tol))


def expected_sd(n, size, rate):
    """Relative standard deviation of the estimate of n blocks of size
    bytes: each is sampled with p = 1 - exp(-size/rate) and then counted
    as size/p, so Var = n size^2 (1-p)/p and sd/mean = sqrt((1-p)/(n p))."""
    p = 1 - math.exp(-size / rate)
    return math.sqrt((1 - p) / (n * p)), n * p


def chi2_quantile(q, k):
    """Wilson-Hilferty approximation of the chi-square quantile."""
    # inverse normal by bisection on erf
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < q:
            lo = mid
        else:
            hi = mid
    z = lo
    return k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3


def c_stat(a):
    """Mean of >= N runs within a.sigmas standard errors of the truth, and
    the per-run spread what the sampling model predicts."""
    sizes = {"site_a": (2560, 4096), "site_b": (640, 32768),
             "site_c": (40, 1 << 20)}
    est = {s: [] for s in sizes}
    truth = None
    for seed in range(a.runs):
        p, truth, _ = profiled("heap_sites", ["stat"], None,
                               {"CPROF_HEAP_SEED": 1000 + seed})
        if not p:
            return
        for s in sizes:
            est[s].append(p.site(s, "inuse_space"))
    n = a.runs
    if n < 5:
        fail("--runs %d: the spread needs at least 5 runs" % n)
        return
    # two-sided 1e-4 bounds of the sample sd / true sd
    lo = math.sqrt(chi2_quantile(0.00005, n - 1) / (n - 1))
    hi = math.sqrt(chi2_quantile(0.99995, n - 1) / (n - 1))
    for s, (count, size) in sorted(sizes.items()):
        true = truth[s]["inuse_space"]
        rsd, samples = expected_sd(count, size, DEFAULT_RATE)
        mean = sum(est[s]) / n
        sd = math.sqrt(sum((x - mean) ** 2 for x in est[s]) / (n - 1))
        se = rsd * true / math.sqrt(n)
        note("  %s: true %d, mean %.0f (%+.2f%%, %.2f SE), run sd %.2f%% "
             "vs model %.2f%% (1/sqrt(%.1f expected samples) = %.2f%%)" %
             (s, true, mean, (mean - true) / true * 100, (mean - true) / se,
              sd / true * 100, rsd * 100, samples,
              100 / math.sqrt(samples)))
        check(abs(mean - true) <= a.sigmas * se,
              "%s: mean estimate %.0f is %.2f standard errors from %d" %
              (s, mean, (mean - true) / se, true))
        ratio = sd / (rsd * true)
        check(lo <= ratio <= hi,
              "%s: per-run spread %.2fx the model's (allowed %.2f..%.2f)" %
              (s, ratio, lo, hi))


def c_churn(a):
    p, truth, _ = profiled("heap_sites", ["churn", a.gb], None)
    if not p:
        return
    t = truth["site_churn"]
    got = p.site("site_churn", "alloc_space")
    err = (got - t["alloc_space"]) / t["alloc_space"] * 100
    rsd = 1 / math.sqrt(t["alloc_space"] / DEFAULT_RATE)
    note("  alloc_space %d, true %d (%+.2f%%; model sd %.2f%%)" %
         (got, t["alloc_space"], err, rsd * 100))
    check(abs(err) <= a.tol, "alloc_space off by %.2f%% (> %g%%)" %
          (err, a.tol))
    inuse = p.site("site_churn", "inuse_space")
    check(inuse == 0, "site_churn still holds %d bytes after freeing all" %
          inuse)


def c_mixed(a):
    rate = {"default": None}.get(a.rate, a.rate)
    p, truth, _ = profiled("heap_mixed", [3], rate)
    if not p:
        return
    if a.rate == "1":
        expect_exact(p, truth)
    elif a.rate == "0":
        check(not p.samples, "rate 0 recorded %d samples" % len(p.samples))


def c_cxx(a):
    p, truth, _ = profiled("heap_cxx", [], 1)
    if p:
        expect_exact(p, truth)
        check(p.site("x_vector", "inuse_objects") == 20,
              "x_vector: %d live objects, expected 10 vectors + 10 buffers"
              % p.site("x_vector", "inuse_objects"))


def c_ctor(a):
    p, truth, _ = profiled("heap_ctor", [], 1)
    if p:
        expect_exact(p, truth)


def c_dlopen(a):
    """A site in a library that was dlopen'ed, then dlclose'd before the
    profile was written at exit: exact counts, the function's name, and
    the library's mapping with its build ID."""
    lib = os.path.join(PROGS, "heap_dlopen_lib.so")
    p, truth, _ = profiled("heap_dlopen", [lib], 1)
    if not p:
        return
    expect_exact(p, truth)
    maps = [m for m in p.mappings if m[0].endswith("heap_dlopen_lib.so")]
    note("  mappings of the library: %s" % maps)
    check(len(maps) == 1 and re.match(r"^[0-9a-f]{16,}$", maps[0][1]),
          "no mapping with a build ID for the dlclose'd library: %s"
          % p.mappings)


def c_fork(a):
    d = mktemp()
    out = os.path.join(d, "heap.pb.gz")
    r = run([prog("heap_fork"), str(a.children)],
            {"CPROF_HEAP": out, "CPROF_HEAP_RATE": 1,
             "HEAPT_OUT": os.path.join(d, "truth")}, timeout=a.timeout)
    if r is None:
        return
    kids = [f for f in os.listdir(d) if f.startswith("heap.pb.gz.")]
    note("  parent profile: %s; %d child profiles" %
         (os.path.exists(out), len(kids)))
    check(os.path.exists(out), "the parent wrote no profile")
    check(len(kids) == a.children, "%d child profiles, expected %d" %
          (len(kids), a.children))
    if os.path.exists(out):
        p = Profile(out)
        check(p.site("site_parent", "inuse_objects") == 10,
              "parent: site_parent %d live" %
              p.site("site_parent", "inuse_objects"))
        check(p.site("site_child", "alloc_objects") == 0,
              "the parent's profile has the children's allocations")
    for k in kids[:5]:
        p = Profile(os.path.join(d, k))
        check(p.site("site_child", "inuse_objects") == 20,
              "%s: site_child %d live, expected 20" %
              (k, p.site("site_child", "inuse_objects")))
        check(p.site("site_parent", "inuse_objects") == 0,
              "%s: the parent's blocks freed in the child still live" % k)


def c_threads(a):
    rate = {"default": None}.get(a.rate, a.rate)
    p, truth, _ = profiled("heap_threads", [a.threads, a.per_thread], rate)
    if not p:
        return
    t = truth["site_thread"]
    if a.rate == "1":
        expect_exact(p, truth)
    else:
        got = p.site("site_thread", "alloc_space")
        note("  site_thread alloc_space %d of %d" % (got, t["alloc_space"]))
        check(p.site("site_thread", "inuse_space") == 0,
              "blocks freed by other threads still count as live")


def c_leak(a):
    d = mktemp()
    r = run([prog("heap_leak")], {"CPROF_HEAP_LEAKS": 1,
                                  "CPROF_HEAP_RATE": 4096,
                                  "HEAPT_OUT": os.path.join(d, "truth")})
    if r is None:
        return
    err = r[2]
    note(err[:3000])
    head = [l for l in err.splitlines() if "leak check:" in l]
    leaks = re.findall(r"leak of ~(\d+) bytes in ~(\d+) objects \((\d+) "
                       r"sampled\) allocated from:\n((?:\t@ .*\n)+)", err)
    check(len(head) == 1, "no leak check header line")
    check(len(leaks) >= 2, "%d leaking stacks reported, expected 2" %
          len(leaks))
    if len(leaks) < 2:
        return
    check("leak_big" in leaks[0][3], "the largest leak is not leak_big")
    check("leak_small" in leaks[1][3], "the second leak is not leak_small")
    check(all("not_leaked" not in l[3] for l in leaks),
          "freed memory reported as leaked")
    big, small = int(leaks[0][0]), int(leaks[1][0])
    check(abs(big - 5 * 2**20) <= 0.01 * 5 * 2**20,
          "leak_big ~%d bytes, expected 5 MiB" % big)
    rsd, _ = expected_sd(4000, 100, 4096)
    check(abs(small - 400000) <= 5 * rsd * 400000,
          "leak_small ~%d bytes, expected ~400000" % small)
    check(re.search(r"\t@ 0x[0-9a-f]+ leak_big \S+heap_leak\.c:\d+", err),
          "leak_big's frame has no file:line")


_pprof = None


def pprof_cmd():
    global _pprof
    if _pprof is None:
        try:
            r = subprocess.run(["go", "tool", "-n", "pprof"],
                               stdout=subprocess.PIPE, timeout=60)
            _pprof = [r.stdout.decode().strip()] if r.returncode == 0 \
                else ["go", "tool", "pprof"]
        except (OSError, subprocess.TimeoutExpired):
            _pprof = []
    return _pprof


UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def parse_top(text):
    """{function: flat} from -top output."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)([A-Za-z]*)\s+[\d.]+%\s+[\d.]+%\s+"
                     r"([\d.]+)([A-Za-z]*)\s+[\d.]+%\s+(.+)$", line)
        if m:
            out[m.group(5).strip()] = float(m.group(1)) * UNITS.get(
                m.group(2), 1)
    return out


def top(cmd, index, path, binary=None):
    argv = cmd + ["-top", "-nodecount=1000", "-sample_index=" + index]
    argv += [binary, path] if binary else [path]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    if r.returncode != 0:
        fail("%s: %s" % (" ".join(argv), r.stderr.decode()[-1000:]))
        return {}
    return parse_top(r.stdout.decode())


def c_forms(a):
    """go tool pprof reads the proto and the legacy text; both agree with
    each other, with the truth and with cprof -top."""
    if not pprof_cmd():
        skip("go tool pprof is not installed (golang-go)")
    d = mktemp()
    base = os.path.join(d, "api")
    r = run([prog("heap_sites"), "ratio", "20"],
            {"CPROF_HEAP_RATE": 4096, "HEAPT_PROFILE": base,
             "HEAPT_OUT": os.path.join(d, "truth")})
    if r is None:
        return
    truth = read_truth(os.path.join(d, "truth"))
    text = open(base + ".txt").read()
    check(text.startswith("heap profile: "), "text header: %r" % text[:60])
    check(re.match(r"heap profile: \d+: \d+ \[\d+: \d+\] @ heap/8192\n",
                   text), "header is not Go's, or not heap/2*rate")
    check("\n# cprof.MemStats\n" in text, "no # cprof.MemStats footer")
    check("\nMAPPED_LIBRARIES:\n" in text, "no MAPPED_LIBRARIES section")
    check(re.search(r"\n#\t0x[0-9a-f]+\tsite_a\+0x[0-9a-f]+\t+\S+"
                    r"heap_sites\.c:\d+\n", text),
          "no '#\\t0xADDR\\tsite_a+0xOFF\\tfile:line' line")
    for idx in ("inuse_space", "alloc_space", "inuse_objects"):
        gp = top(pprof_cmd(), idx, base + ".pb.gz")
        gt = top(pprof_cmd(), idx, base + ".txt", prog("heap_sites"))
        cp = top([CPROF], idx, base + ".pb.gz") if os.access(
            CPROF, os.X_OK) else {}
        ct = top([CPROF], idx, base + ".txt") if cp else {}
        for site in ("site_a", "site_b", "site_c"):
            vals = {"go/proto": gp.get(site), "go/text": gt.get(site),
                    "cprof/proto": cp.get(site), "cprof/text": ct.get(site)}
            note("  %s %s: %s" % (idx, site, vals))
            ref = vals["go/proto"]
            if not check(ref, "%s: go tool pprof shows no %s" % (idx, site)):
                continue
            for k, v in vals.items():
                if v is None and k.startswith("cprof") and not cp:
                    continue
                # -top prints 3 or 4 significant digits, in units of its
                # choice ("2.04MB" for 2093.44kB): 0.25% either way
                check(v is not None and abs(v - ref) <= 0.005 * ref + 1,
                      "%s %s: %s says %s, go tool pprof (proto) %s" %
                      (idx, site, k, v, ref))
            if idx == "inuse_space":
                t = truth[site]["inuse_space"]
                check(abs(ref - t) <= 0.1 * t, "%s: %s vs true %d" %
                      (site, ref, t))
        # every function both name agrees (go leaves unsymbolized callers
        # in legacy text as [binary])
        for name in set(gp) & set(cp):
            check(abs(gp[name] - cp[name]) <= 0.002 * max(gp[name], 1) + 1,
                  "%s %s: go %s, cprof %s" % (idx, name, gp[name],
                                               cp[name]))
    p = Profile(base + ".allocs.pb.gz")
    check(p.default == "alloc_space", "allocs default %r" % p.default)


def c_valgrind(a):
    vg = shutil.which("valgrind")
    if not vg:
        skip("valgrind is not installed")
    name = {"mixed": "heap_mixed", "cxx": "heap_cxx",
            "threads": "heap_threads"}[a.prog]
    args = {"mixed": ["2"], "cxx": [], "threads": ["2", "2000"]}[a.prog]
    for rate in ("1", "4096"):
        d = mktemp()
        log = os.path.join(d, "vg.log")
        argv = [vg, "--error-exitcode=99", "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--show-leak-kinds=definite", "--log-file=" + log,
                "--soname-synonyms=somalloc=nouserintercepts",
                prog(name)] + args
        r = run(argv, {"CPROF_HEAP": os.path.join(d, "h.pb.gz"),
                       "CPROF_HEAP_RATE": rate, "HEAPT_FREE_ALL": 1,
                       "HEAPT_VALGRIND": 1},
                timeout=a.timeout, check_rc=False)
        if r is None:
            return
        text = open(log).read() if os.path.exists(log) else ""
        summary = [l for l in text.splitlines()
                   if "ERROR SUMMARY" in l or "definitely lost" in l]
        note("  rate %s: exit %d; %s" % (rate, r[0], "; ".join(
            s.split("== ", 1)[-1] for s in summary)))
        check(r[0] == 0, "valgrind at rate %s: exit %d\n%s" %
              (rate, r[0], text[-4000:]))
        out = os.path.join(d, "h.pb.gz")
        if not check(os.path.exists(out), "no profile written under valgrind"):
            continue
        # valgrind must not have replaced cprof's malloc by its own: at
        # rate 1 every allocation of the site is in the profile
        site = {"mixed": "m_malloc", "cxx": "x_new",
                "threads": "site_thread"}[a.prog]
        n = Profile(out).site(site, "alloc_objects")
        if rate == "1":
            check(n == 10, "under valgrind %s: %d allocations, expected 10 "
                  "(were cprof's interposers bypassed?)" % (site, n))


def c_badenv(a):
    for var, val in (("CPROF_HEAP_RATE", "lots"),
                     ("CPROF_HEAP_RATE", "-5"),
                     ("CPROF_HEAP_LEAKS", "yes")):
        r = run([prog("heap_sites"), "exact"], {var: val})
        if r is None:
            return
        lines = [l for l in r[2].splitlines() if var in l]
        note("  %s=%s: %s" % (var, val, lines))
        check(len(lines) == 1 and "stays off" in lines[0],
              "%s=%s: expected one line naming it" % (var, val))
    d = mktemp()
    r = run([prog("heap_sites"), "exact"],
            {"CPROF_HEAP": os.path.join(d, "no", "such", "dir", "h.pb.gz")})
    if r:
        check(any("CPROF_HEAP" in l for l in r[2].splitlines()),
              "unwritable CPROF_HEAP: no message")


def c_python(a):
    """A foreign host: python3 allocating through the interposers."""
    py = shutil.which("python3")
    r = subprocess.run([py, "-c", "import sys; print(sys.executable)"],
                       stdout=subprocess.PIPE)
    exe = os.path.realpath(r.stdout.decode().strip())
    d = mktemp()
    out = os.path.join(d, "py.pb.gz")
    code = ("import json\nx=[json.dumps({'k':i}) for i in range(200000)]\n"
            "print(len(x))")
    r = run([exe, "-c", code], {"CPROF_HEAP": out})
    if r is None:
        return
    check(r[1].strip() == "200000", "python3 printed %r" % r[1][:200])
    check(os.path.exists(out), "python3 wrote no heap profile")
    if os.path.exists(out):
        p = Profile(out)
        # Python frees its objects before exit, and small ones come from
        # its own arenas (mmap), so look at what it allocated with malloc
        total = p.total("alloc_space")
        note("  python3: %d samples, %d bytes allocated" % (len(p.samples),
                                                           total))
        check(total > 2e6, "python3 allocated only %d bytes" % total)


def c_shells(a):
    """dash and bash as hosts: bash defines its own getenv (empty until its
    main runs), dash leaves with _exit (no atexit handlers): CPROF_HEAP,
    CPROF_HEAP_RATE and the leak report must work in both, in the shell
    and in the children it forks for $(...)."""
    scripts = {
        "dash": ("x=$(echo hi); echo \"$x\"; exit 3", "hi"),
        # seq (coreutils) closes its stderr from atexit, before cprof's
        # hooks: its report goes to the copy of stderr taken at start
        "bash": ("for i in $(seq 1 2000); do a[$i]=value$i; done; "
                 "x=$(echo ${#a[@]}); echo \"$x\"; exit 3", "2000"),
        # dash runs a command in a vfork child, which leaves with _exit
        # when the exec fails: it shares the shell's memory and must
        # write nothing (not FILE.PID, not mark the shell's profile done)
        "dash-vfork": ("/nonexistent/cprof-missing 2>/dev/null; echo hi; "
                       "exit 3", "hi"),
    }
    ran = 0
    for shell, (script, want) in sorted(scripts.items()):
        exe = shutil.which(shell.split("-")[0])
        if not exe:
            note("  no %s here" % shell)
            continue
        ran += 1
        for rate in ("1", "64", "0"):
            d = mktemp()
            out = os.path.join(d, "h.pb.gz")
            r = run([exe, "-c", script],
                    {"CPROF_HEAP": out, "CPROF_HEAP_RATE": rate,
                     "CPROF_HEAP_LEAKS": 1}, check_rc=False)
            if r is None:
                continue
            rc, so, err = r
            files = sorted(os.listdir(d))
            reports = [l for l in err.splitlines() if "leak check:" in l]
            note("  %s rate %s: exit %d, files %s, %d leak report(s)" %
                 (shell, rate, rc, files, len(reports)))
            check(rc == 3 and so.strip() == want,
                  "%s rate %s: exit %d, printed %r (stderr %s)" %
                  (shell, rate, rc, so[:100], err[-500:]))
            if not check(os.path.exists(out), "%s rate %s: the shell "
                         "wrote no %s" % (shell, rate, out)):
                continue
            if shell == "dash-vfork":
                check(files == ["h.pb.gz"], "dash-vfork rate %s: files %s, "
                      "want the shell's h.pb.gz alone" % (rate, files))
            else:
                # the child forked for $(...) writes FILE.PID
                check(any(re.match(r"h\.pb\.gz\.\d+$", f) for f in files),
                      "%s rate %s: the $(...) child wrote no h.pb.gz.PID"
                      % (shell, rate))
            # one leak report per process that wrote a profile
            check(len(reports) == len(files),
                  "%s rate %s: %d leak reports for %d processes" %
                  (shell, rate, len(reports), len(files)))
            p = Profile(out)
            n = p.total("alloc_objects") if p.types else 0
            note("    %d samples, alloc_objects %d, period %d" %
                 (len(p.samples), n, p.period))
            if rate == "0":
                check(n == 0, "%s rate 0: %d allocations sampled" %
                      (shell, n))
                continue
            check(p.period == int(rate), "%s: period %d, expected "
                  "CPROF_HEAP_RATE=%s" % (shell, p.period, rate))
            check(n >= 20, "%s rate %s: only %d allocations" %
                  (shell, rate, n))
            check(any(re.search(r"leak of ~\d+ bytes", l)
                      for l in err.splitlines()),
                  "%s rate %s: the leak report lists no stack" %
                  (shell, rate))
            if shell == "bash":
                # bash exports its symbols: its frames have names
                named = sum(1 for names, _, _ in p.samples
                            if any(f for fr in names for f in fr))
                check(named * 2 > len(p.samples), "bash: %d of %d samples "
                      "have a named frame" % (named, len(p.samples)))
    if not ran:
        skip("neither dash nor bash is installed")


CHECKS = {"exact": c_exact, "ratio": c_ratio, "stat": c_stat,
          "churn": c_churn, "mixed": c_mixed, "cxx": c_cxx, "ctor": c_ctor,
          "fork": c_fork, "threads": c_threads, "leak": c_leak,
          "forms": c_forms, "valgrind": c_valgrind, "badenv": c_badenv,
          "python": c_python, "shells": c_shells,
          "dlopen": c_dlopen}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--rate", default="4096")
    ap.add_argument("--tol", type=float, default=10)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--sigmas", type=float, default=3)
    ap.add_argument("--gb", type=float, default=4)
    ap.add_argument("--children", type=int, default=10)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--per-thread", type=int, default=20000)
    ap.add_argument("--prog", default="mixed")
    ap.add_argument("--timeout", type=int, default=120)
    a = ap.parse_args()
    if SANITIZED:
        skip("sanitizer build: ASan owns malloc, so libcprof's heap "
             "interposers are not built; the valgrind checks of the normal "
             "build cover them")
    if not os.path.exists(LIB):
        skip("no %s" % LIB)
    CHECKS[a.check](a)
    if failures:
        print("%d check(s) failed; files kept in %s" %
              (len(failures), " ".join(tmpdirs)))
        return 1
    for d in tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
