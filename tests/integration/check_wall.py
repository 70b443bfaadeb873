#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check_wall.py - integration checks of the contention profiles (block,
mutex) and of the wall-clock profile (issue 8, "How it will be checked").

Each check runs a program from tests/integration/progs/wall_*.c (built
into $CPROF_BUILD/tests/wall), profiled for real (libcprof preloaded, or
linked in sanitizer builds), reads the profiles back with go tool pprof
and cprof, and compares them with what the program measured itself.
Registered with ctest by wall.cmake:

    check_wall.py CHECK [options]

    contention  a holder keeps a mutex for known stretches in
                hold_stretch() while waiters wait in wait_turn(): the mutex
                profile names hold_stretch, the block profile wait_turn,
                each with the delay the waiters measured (+-10%), in proto
                and debug=1 text, through go tool pprof -top and cprof -top
    sampled     the same at fraction 5 / a 5 ms block rate: Go's scaling
                keeps the totals near the truth
    endpoint    CPROF_MUTEX_FRACTION, CPROF_BLOCK_RATE and CPROF_HTTP: the
                index counts, mutex?seconds=N deltas, block?debug=1,
                wall?seconds=N, and go tool pprof on the URL
    half        threads computing half their time and waiting the other
                half (-wait sleep|fread|pipe|select|cond...; --trigger
                timer: CPU-clock timers, as where perf_event_open is not
                allowed): about half
                of each thread's wall samples in each state (+-5 points),
                on the right functions, labels right, one sample per tick,
                and no wait cut short (EINTR counted, sleeps timed)
    stress      32 threads on 4 mutexes and condition variables profiled
                at full rates (wall 1000 Hz, CPU 1000 Hz, block 1,
                mutex 1, the endpoint read meanwhile) finish with the
                results of an unprofiled run
    run         cprof run -wall FILE -hz N: the rate, the file
    api         cprof_profile_write("wall") while CPROF_WALL runs, and a
                clear error without it

Exit status: 0 pass, 1 fail, 77 skip.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from cptest import (  # noqa: F401 (shared by the drivers)
    BUILD, SANITIZED, LIB, CPROF, SKIP, failures, fail, check, note, skip,
    pprof_bin, pprof)

PROGS = os.path.join(BUILD, "tests", "wall")


def prog(name):
    return os.path.join(PROGS, name)


def env_with(extra):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    for k in list(env):
        if k.startswith("CPROF_") and k not in ("CPROF_BUILD", "CPROF_SRC",
                                                "CPROF_SANITIZED"):
            del env[k]
    env.update(extra)
    if not SANITIZED:
        env["LD_PRELOAD"] = LIB
    return env


def run(cmd, env=None, timeout=120):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise SystemExit("FAIL: %s: exit %d\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def truth(stdout):
    for line in stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit("FAIL: the program printed no JSON line")


class Profile:
    """A profile as `pprof -raw` prints it: samples with values, string
    and numeric labels, and leaf-first function names."""

    _label_re = re.compile(r"(\S+?):\[([^\]]*)\]")

    def __init__(self, path):
        r = pprof(["-raw", path])
        if r.returncode != 0:
            raise SystemExit("FAIL: pprof -raw %s: %s" % (path, r.stderr))
        self.samples, self.locations, self.comments = [], {}, []
        self.period, self.types = 0, []
        section, cur, loc = None, None, None
        for raw in r.stdout.splitlines():
            if raw.startswith("Comment: "):
                self.comments.append(raw[9:])
            elif raw.startswith("Period: "):
                self.period = int(raw.split()[1])
            elif raw == "Samples:":
                section = "types"
            elif raw == "Locations":
                section = "loc"
            elif raw == "Mappings":
                section = "map"
            elif section == "types":
                self.types = [t.replace("[dflt]", "") for t in raw.split()]
                section = "samples"
            elif section == "samples":
                if ":" in raw and not raw.startswith("                "):
                    vals, locs = raw.split(":", 1)
                    cur = {"v": [int(x) for x in vals.split()],
                           "locs": [int(x) for x in locs.split()],
                           "l": {}, "n": {}}
                    self.samples.append(cur)
                elif cur is not None and raw.strip():
                    for k, v in self._label_re.findall(raw):
                        vs = v.split()
                        if vs and all(re.fullmatch(r"-?\d+", x) for x in vs):
                            cur["n"][k] = int(vs[0])
                        else:
                            cur["l"][k] = v
            elif section == "loc":
                m = re.match(r"^\s*(\d+): (0x[0-9a-f]+) (?:M=\d+ )?(.*)$",
                             raw)
                if m:
                    loc = int(m.group(1))
                    self.locations[loc] = []
                    rest = m.group(3)
                else:
                    rest = raw.strip()
                rest = rest.replace("[F] ", "").strip()
                if loc is not None and rest and rest != "??":
                    self.locations[loc].append(rest.split(" ")[0])

    def funcs(self, s):
        out = []
        for lid in s["locs"]:
            out.extend(self.locations.get(lid, ["?"]) or ["?"])
        return out

    def value(self, s, i=-1):
        return s["v"][i]

    def total(self, pred=lambda s: True, i=-1):
        return sum(s["v"][i] for s in self.samples if pred(s))


def top(args):
    r = pprof(["-top"] + args)
    if not check(r.returncode == 0, "pprof -top %s: %s" % (args, r.stderr)):
        return ""
    return r.stdout


def first_flat(text):
    """The function of the first -top line with a non-zero flat value."""
    for line in text.splitlines():
        m = re.match(r"^\s*([0-9.]+)(\w*)\s+[0-9.]+%\s+[0-9.]+%\s+[0-9.]+\w*"
                     r"\s+[0-9.]+%\s+(.*)$", line)
        if m and float(m.group(1)) > 0:
            return m.group(3).strip()
    return None


# ------------------------------------------------------------ contention

def check_contention_files(d, t, exe, tol=0.10):
    wait = t["wait_ns"]
    mutex = Profile(os.path.join(d, "mutex.prof"))
    block = Profile(os.path.join(d, "block.prof"))
    check(mutex.types == ["contentions/count", "delay/nanoseconds"],
          "mutex sample types %s" % mutex.types)
    check(block.types == ["contentions/count", "delay/nanoseconds"],
          "block sample types %s" % block.types)
    held = mutex.total(lambda s: "hold_stretch" in mutex.funcs(s))
    waited = block.total(lambda s: "wait_turn" in block.funcs(s))
    n_blocked = block.total(lambda s: "wait_turn" in block.funcs(s), 0)
    note("waiters measured %.1f ms in %d waits; mutex: hold_stretch %.1f ms;"
         " block: wait_turn %.1f ms in %d contentions" % (
             wait / 1e6, t["waits"], held / 1e6, waited / 1e6, n_blocked))
    check(abs(held - wait) <= tol * wait,
          "mutex delay of hold_stretch %.1f ms, the waiters measured %.1f ms"
          % (held / 1e6, wait / 1e6))
    check(abs(waited - wait) <= tol * wait,
          "block delay of wait_turn %.1f ms, the waiters measured %.1f ms"
          % (waited / 1e6, wait / 1e6))
    check(0 < n_blocked <= t["waits"] * 1.5 + 5,
          "block contentions %d for %d waits" % (n_blocked, t["waits"]))
    # the holder's unlock is hold_stretch's own call, the waiters' lock
    # wait_turn's: the leaf of the largest record
    big = max(mutex.samples, key=lambda s: s["v"][1], default=None)
    check(big and mutex.funcs(big)[0] == "hold_stretch",
          "largest mutex record's leaf: %s" % (big and mutex.funcs(big)))
    big = max(block.samples, key=lambda s: s["v"][1], default=None)
    check(big and block.funcs(big)[0] == "wait_turn",
          "largest block record's leaf: %s" % (big and block.funcs(big)))
    # go tool pprof -top reads both forms
    for name, fn in (("mutex", "hold_stretch"), ("block", "wait_turn")):
        out = top(["-sample_index=delay", os.path.join(d, name + ".prof")])
        check(first_flat(out) == fn, "go tool pprof -top %s.prof: first %s"
              % (name, first_flat(out)))
        out = top(["-sample_index=delay", exe, os.path.join(d, name + ".txt")])
        check(first_flat(out) == fn, "go tool pprof -top %s.txt: first %s\n%s"
              % (name, first_flat(out), out[-600:]))
        r = subprocess.run([CPROF, "-top", os.path.join(d, name + ".prof")],
                           capture_output=True, text=True)
        check(r.returncode == 0 and fn in r.stdout,
              "cprof -top %s.prof: %s" % (name, r.stdout[-400:] + r.stderr))
        r = subprocess.run([CPROF, "-top", os.path.join(d, name + ".txt")],
                           capture_output=True, text=True)
        check(r.returncode == 0 and fn in r.stdout,
              "cprof -top %s.txt: %s" % (name, r.stdout[-400:] + r.stderr))
    txt = open(os.path.join(d, "mutex.txt")).read()
    check(txt.startswith("--- mutex:\ncycles/second=1000000000\n"
                         "sampling period="),
          "mutex.txt header: %r" % txt[:80])
    txt = open(os.path.join(d, "block.txt")).read()
    check(txt.startswith("--- contention:\ncycles/second="),
          "block.txt header: %r" % txt[:80])
    check("--- Memory map: ---" in txt, "block.txt has no memory map")


def t_contention(a):
    d = tempfile.mkdtemp(prefix="cprof-wall-")
    exe = prog("wall_lock")
    r = run([exe, "-out", d, "-rounds", str(a.rounds), "-hold",
             str(a.hold), "-waiters", "3"], env=env_with({}))
    check_contention_files(d, truth(r.stdout), exe)
    shutil.rmtree(d, ignore_errors=True)


def t_sampled(a):
    d = tempfile.mkdtemp(prefix="cprof-wall-")
    exe = prog("wall_lock")
    r = run([exe, "-out", d, "-rounds", "300", "-hold", "2", "-waiters",
             "3", "-fraction", "5", "-rate", "5000000"], env=env_with({}))
    t = truth(r.stdout)
    wait = t["wait_ns"]
    mutex = Profile(os.path.join(d, "mutex.prof"))
    block = Profile(os.path.join(d, "block.prof"))
    held = mutex.total(lambda s: "hold_stretch" in mutex.funcs(s))
    events = mutex.total(lambda s: "hold_stretch" in mutex.funcs(s), 0)
    waited = block.total(lambda s: "wait_turn" in block.funcs(s))
    note("fraction 5: hold_stretch %.1f ms in %d events; rate 5 ms: "
         "wait_turn %.1f ms; measured %.1f ms" % (
             held / 1e6, events, waited / 1e6, wait / 1e6))
    check(events % 5 == 0, "mutex events %d not scaled by 5" % events)
    check(abs(held - wait) <= 0.35 * wait,
          "sampled mutex delay %.1f ms, measured %.1f ms" % (held / 1e6,
                                                            wait / 1e6))
    check(abs(waited - wait) <= 0.35 * wait,
          "sampled block delay %.1f ms, measured %.1f ms" % (waited / 1e6,
                                                            wait / 1e6))
    txt = open(os.path.join(d, "mutex.txt")).read()
    check("sampling period=5\n" in txt, "mutex.txt: %r" % txt[:90])
    out = top(["-sample_index=delay", exe, os.path.join(d, "mutex.txt")])
    m = re.search(r"of ([0-9.]+)(m?s) total", out)
    if check(m, "no total in pprof -top mutex.txt:\n" + out):
        tot = float(m.group(1)) * (1e6 if m.group(2) == "ms" else 1e9)
        # the text holds delay/5; pprof multiplies the period back
        check(abs(tot - mutex.total()) <= 0.02 * mutex.total() + 2e6,
              "pprof total of mutex.txt %.1f ms, proto %.1f ms" % (
                  tot / 1e6, mutex.total() / 1e6))
    shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------ endpoint

class Served:
    """A program with the endpoint on 127.0.0.1:0; its base URL."""

    def __init__(self, argv, env):
        self.p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.port, self.err = None, []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        deadline = time.time() + 20
        while self.port is None and time.time() < deadline and \
                self.p.poll() is None:
            time.sleep(0.02)
        if self.port is None:
            self.p.kill()
            raise SystemExit("FAIL: no endpoint: " + "".join(self.err))
        self.base = "http://127.0.0.1:%d/debug/pprof/" % self.port

    def _read(self):
        for line in self.p.stderr:
            self.err.append(line)
            m = re.search(r"serving /debug/pprof/ on http://[^ ]*:(\d+)/",
                          line)
            if m:
                self.port = int(m.group(1))

    def get(self, path, timeout=60):
        with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
            return r.status, r.read()

    def finish(self, timeout=120):
        out, _ = self.p.communicate(timeout=timeout)
        return self.p.returncode, out


def save(data, name):
    path = os.path.join(tempfile.mkdtemp(prefix="cprof-wall-"), name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def t_endpoint(a):
    exe = prog("wall_lock")
    s = Served([exe, "-rounds", "600", "-hold", "10", "-waiters", "3"],
               env_with({"CPROF_HTTP": "127.0.0.1:0",
                         "CPROF_MUTEX_FRACTION": "1",
                         "CPROF_BLOCK_RATE": "1"}))
    time.sleep(1.0)
    st, body = s.get("")
    index = body.decode()
    counts = dict((name, int(c)) for c, name in re.findall(
        r"<tr><td>(\d+)</td><td><a href='(\w+)\?debug=1'>", index))
    note("index counts: %s" % counts)
    check(counts.get("mutex", 0) > 0 and counts.get("block", 0) > 0,
          "index counts of mutex/block: %s" % counts)
    check("wall" in counts, "wall is not on the index")
    st, body = s.get("mutex?seconds=1")
    path = save(body, "mutex-delta.prof")
    p = Profile(path)
    held = p.total(lambda x: "hold_stretch" in p.funcs(x))
    check(0.5e9 < held < 3.5e9,
          "mutex?seconds=1: hold_stretch delay %.1f ms in a 1 s window "
          "(3 waiters, a 10 ms hold every ~13 ms)" % (held / 1e6))
    st, body = s.get("block?debug=1")
    text = body.decode()
    check(text.startswith("--- contention:\n") and "wait_turn" in text,
          "block?debug=1: %r" % text[:200])
    st, body = s.get("wall?seconds=1")
    path = save(body, "wall.prof")
    w = Profile(path)
    names = set(x["l"].get("thread_name") for x in w.samples)
    states = set(x["l"].get("state") for x in w.samples)
    note("wall?seconds=1: %d samples, threads %s, states %s" % (
        len(w.samples), names, states))
    check("blocked" in states, "wall?seconds=1: states %s" % states)
    check(2.5e9 <= w.total() <= 5.3e9,
          "wall?seconds=1: %.2f thread-seconds for 5 threads" % (
              w.total() / 1e9))
    # go tool pprof fetches the URL itself
    r = pprof(["-top", "-sample_index=delay", s.base + "mutex"], timeout=60)
    check(r.returncode == 0 and "hold_stretch" in r.stdout,
          "go tool pprof -top URL/mutex: %s" % (r.stdout[-500:] + r.stderr))
    rc, out = s.finish()
    check(rc == 0, "wall_lock exit %s" % rc)


# ------------------------------------------------------------ wall

def thread_samples(p, name):
    return [x for x in p.samples if x["l"].get("thread_name") == name]


def t_half(a):
    d = tempfile.mkdtemp(prefix="cprof-wall-")
    path = os.path.join(d, "wall.prof")
    hz = a.hz
    r = run([prog("wall_half"), "-seconds", str(a.seconds), "-wait", a.wait,
             "-threads", str(a.threads), "-period", str(a.period)],
            env=env_with({"CPROF_WALL": path, "CPROF_WALL_HZ": str(hz),
                          "CPROF_DEBUG_STATS": "1",
                          "CPROF_WALL_TRIGGER": a.trigger}),
            timeout=a.seconds * 3 + 60)
    t = truth(r.stdout)
    missed = 0.0
    for line in r.stderr.splitlines():
        if line.startswith("cprof: wall "):
            note(line)
            m = re.search(r"ticks (\d+) late (\d+)", line)
            if m and int(m.group(1)) + int(m.group(2)) > 0:
                missed = int(m.group(2)) / (int(m.group(1)) + int(m.group(2)))
    # Ticks the sampler missed (it ran a period or more late: the CPUs
    # were busy) are most often the running ones (a running thread is
    # what kept the sampler off the CPU); they can move a share by at
    # most their own fraction.
    tol = 0.05 + missed
    check(t["eintr"] == 0, "%d waits returned EINTR" % t["eintr"])
    check(t["short_waits"] == 0, "%d sleeps were cut short (shortest at "
          "%.4f of what it asked)" % (t["short_waits"], t["worst_ratio"]))
    p = Profile(path)
    check(p.types == ["samples/count", "wall/nanoseconds"],
          "sample types %s" % p.types)
    check(p.period == 1000000000 // hz, "period %d at %d Hz" % (p.period,
                                                                 hz))
    for i in range(a.threads):
        c, w = t["per_thread"][i]
        want_run = c / (c + w)
        ss = thread_samples(p, "half-%d" % i)
        tot = sum(x["v"][1] for x in ss)
        cnt = sum(x["v"][0] for x in ss)
        run_ns = sum(x["v"][1] for x in ss if x["l"].get("state") ==
                     "running")
        blk_ns = sum(x["v"][1] for x in ss if x["l"].get("state") ==
                     "blocked")
        if not check(tot > 0, "no samples of half-%d" % i):
            continue
        share = run_ns / tot
        note("half-%d: %d samples, %.2f s; running %.1f%% (the program "
             "measured %.1f%%)" % (i, cnt, tot / 1e9, 100 * share,
                                  100 * want_run))
        check(abs(share - want_run) <= tol,
              "half-%d running %.1f%%, measured %.1f%% (+-%.1f points: 5 "
              "and the %.1f%% of ticks the sampler missed)" % (
                  i, 100 * share, 100 * want_run, 100 * tol, 100 * missed))
        check(run_ns + blk_ns == tot, "half-%d: samples without a state"
              % i)
        # a sample per tick, a period each: the thread lived `seconds`
        # (ticks a starved sampler missed on a busy machine are not there)
        check(tot == cnt * p.period, "half-%d: samples of %d ns for a "
              "%d ns period" % (i, tot // max(cnt, 1), p.period))
        # over the time the thread measured itself computing and waiting
        # (a loaded machine stretches the run past `seconds`)
        lived = max(a.seconds, (c + w) / 1e9)
        check(0.5 * a.seconds * hz <= cnt <= 1.05 * lived * hz + 2,
              "half-%d: %d samples in %.2f s at %d Hz" % (i, cnt, lived,
                                                           hz))
        # the right functions for each state
        bad_run = sum(x["v"][1] for x in ss if x["l"].get("state") ==
                      "running" and "compute" not in p.funcs(x))
        bad_blk = sum(x["v"][1] for x in ss if x["l"].get("state") ==
                      "blocked" and "wait_some" not in p.funcs(x))
        check(bad_run <= 0.05 * tot, "half-%d: %.2f s running outside "
              "compute()" % (i, bad_run / 1e9))
        check(bad_blk <= 0.05 * tot, "half-%d: %.2f s blocked outside "
              "wait_some()" % (i, bad_blk / 1e9))
        calls = set(x["l"].get("call") for x in ss
                    if x["l"].get("state") == "blocked")
        # the interposed call, or the system call /proc names for a wait
        # entered before the thread had its slot
        want_calls = {"sleep": {"nanosleep", "clock_nanosleep"},
                      "usleep": {"usleep", "clock_nanosleep"},
                      "pipe": {"read"}, "fread": {"read"},
                      "poll": {"poll", "ppoll"},
                      "select": {"select", "pselect6"},
                      "cond": {"pthread_cond_timedwait", "futex"}}[a.wait]
        check(calls and calls <= want_calls,
              "half-%d blocked in calls %s, want %s" % (i, calls,
                                                        want_calls))
        check(all(x["n"].get("thread") for x in ss),
              "half-%d: a sample without a thread label" % i)
    idle = thread_samples(p, "idle")
    check(idle and all(x["l"].get("state") == "blocked" for x in idle),
          "the idle thread: %s" % set(x["l"].get("state") for x in idle))
    # go tool pprof reads it and can focus on a state
    out = top(["-tagfocus=state=running", path])
    check("compute" in out, "pprof -tagfocus=state=running:\n" + out[-600:])
    shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------ stress

def t_stress(a):
    exe = prog("wall_stress")
    base = truth(run([exe, "-rounds", "2", "-items", str(a.items)],
                     env=dict(os.environ, LD_PRELOAD="")).stdout)
    d = tempfile.mkdtemp(prefix="cprof-wall-")
    wall, cpu = os.path.join(d, "wall.prof"), os.path.join(d, "cpu.prof")
    env = env_with({"CPROF_WALL": wall, "CPROF_WALL_HZ": "1000",
                    "CPROF_CPU": cpu, "CPROF_CPU_HZ": "1000",
                    "CPROF_BLOCK_RATE": "1", "CPROF_MUTEX_FRACTION": "1",
                    "CPROF_HTTP": "127.0.0.1:0"})
    s = Served([exe, "-seconds", str(a.seconds), "-items", str(a.items)],
               env)
    # read the endpoint meanwhile: snapshots, deltas, windows
    reads = 0
    t_end = time.time() + max(1.0, a.seconds - 2)
    while time.time() < t_end and s.p.poll() is None:
        for path in ("mutex?debug=1", "block", "goroutine?debug=2",
                     "wall?seconds=1"):
            try:
                st, body = s.get(path, timeout=30)
                reads += st == 200
            except OSError:
                pass
    rc, out = s.finish(timeout=a.seconds * 4 + 120)
    if not check(rc == 0, "wall_stress profiled: exit %s; %s" % (
            rc, "".join(s.err)[-800:])):
        return
    t = truth(out)
    note("unprofiled: %s; profiled: %s; %d endpoint reads" % (base, t,
                                                               reads))
    check(t["bad_rounds"] == 0, "%d rounds with a wrong sum or count"
          % t["bad_rounds"])
    check(t["rounds"] >= 1, "no round finished")
    check(t["per_round_sum"] == base["per_round_sum"] and
          t["count"] == base["count"] // base["rounds"] * t["rounds"],
          "profiled results differ: %s vs %s" % (t, base))
    check(reads >= 4, "only %d endpoint reads answered" % reads)
    p = Profile(wall)
    names = set(x["l"].get("thread_name") for x in p.samples)
    check(sum(1 for n in names if n and n.startswith(("prod-", "cons-")))
          == 32, "wall profile threads: %s" % sorted(n or "" for n in names))
    shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------ run, api

def t_run(a):
    d = tempfile.mkdtemp(prefix="cprof-wall-")
    path = os.path.join(d, "run.prof")
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if SANITIZED:
        skip("cprof run preloads libcprof, which an ASan build cannot do "
             "into an uninstrumented program")
    r = subprocess.run([CPROF, "run", "-wall", path, "-hz", "50", "--",
                        prog("wall_half"), "-seconds", "1"],
                       capture_output=True, text=True, env=env, timeout=120)
    check(r.returncode == 0, "cprof run: %s" % r.stderr)
    check("wall-clock profile written to " + path in r.stderr,
          "cprof run said: %r" % r.stderr)
    p = Profile(path)
    check(p.period == 20000000, "period %d for -hz 50" % p.period)
    shutil.rmtree(d, ignore_errors=True)


def t_api(a):
    d = tempfile.mkdtemp(prefix="cprof-wall-")
    out = os.path.join(d, "api.prof")
    r = run([prog("wall_api"), out], env=env_with({
        "CPROF_WALL": os.path.join(d, "whole.prof")}))
    check("write: ok" in r.stdout, "with CPROF_WALL: %s" % r.stdout)
    p = Profile(out)
    check(any(x["l"].get("thread_name") == "api-sleeper"
              for x in p.samples), "the written profile has no sleeper")
    check(os.path.exists(os.path.join(d, "whole.prof")),
          "CPROF_WALL was not written at exit")
    r = run([prog("wall_api"), out + "2"], env=env_with({}))
    check("write: failed:" in r.stdout and "No data" in r.stdout,
          "without CPROF_WALL: %s" % r.stdout)
    shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("check")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--hold", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--wait", default="sleep")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--period", type=int, default=100)
    ap.add_argument("--hz", type=int, default=100)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--trigger", default="perf")
    a = ap.parse_args()
    if not os.path.exists(LIB) and not SANITIZED:
        skip("no libcprof.so in %s" % BUILD)
    checks = {"contention": t_contention, "sampled": t_sampled,
              "endpoint": t_endpoint, "half": t_half, "stress": t_stress,
              "run": t_run, "api": t_api}
    checks[a.check](a)
    if failures:
        print("%d failed assertions" % len(failures))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
