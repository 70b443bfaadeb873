#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""wall_leaf.py - the leaf of wall-clock samples of threads in system calls.

A thread blocked in a system call must read, in go tool pprof, as the
call it is blocked in (read / poll / nanosleep / syscall...) on top of the
program's function that made it; a thread making many short calls as
those calls or its own code. Never cprof's interposer frames or what they
call (a thread interrupted in the interposer's errno save showed as 23%
flat `__GI___errno_location`), never a stale stack standing in for ticks,
and no tick's weight lost.

Runs progs/wall_syscalls.c (built by wall.cmake) under CPROF_WALL and
reads the profile back with `go tool pprof -raw`:

    wall_leaf.py [--seconds S] [--hz N] [--trigger perf|timer]

Exit status: 0 pass, 1 fail, 77 skip.
"""
import argparse
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_wall as cw  # noqa: E402  (helpers: env, pprof, run, checks)

# thread -> (leaf function, the program's function that made the call)
BLOCKED = {
    "b-read": (r"(^|_)read$", "block_read"),
    "b-poll": (r"(^|_)poll$", "block_poll"),
    "b-sleep": (r"nanosleep$", "block_sleep"),
    "b-futex": (r"^syscall$", "block_futex"),
    "b-fgets": (r"(^|_)read$", "block_fgets"),
}
BUSY = {"ping": "ping_loop", "pong": "pong_loop", "spin": "spin_loop"}
# what cprof's own code (or a libc helper of its hooks) looks like as a leaf
OWN_LEAF = re.compile(r"errno_location|__rdtsc|^on_enter$|^on_leave$|"
                      r"^dispatch_|^cp_")


def read_raw(path):
    """Samples of `pprof -raw`: per sample its values, labels and frames
    (function name, mapping file), leaf first, inlined frames included."""
    r = cw.pprof(["-raw", path])
    if r.returncode != 0:
        raise SystemExit("FAIL: pprof -raw %s: %s" % (path, r.stderr))
    samples, locs, maps, comments = [], {}, {}, []
    section, cur, loc = None, None, None
    lab = re.compile(r"(\S+?):\[([^\]]*)\]")
    for raw in r.stdout.splitlines():
        if raw.startswith("Comment: "):
            comments.append(raw[9:])
        elif raw == "Samples:":
            section = "types"
        elif raw == "Locations":
            section = "loc"
        elif raw == "Mappings":
            section = "map"
        elif section == "types":
            section = "samples"
        elif section == "samples":
            if ":" in raw and not raw.startswith("                "):
                vals, ids = raw.split(":", 1)
                cur = {"v": [int(x) for x in vals.split()],
                       "locs": [int(x) for x in ids.split()], "l": {}}
                samples.append(cur)
            elif cur is not None:
                cur["l"].update(lab.findall(raw))
        elif section == "loc":
            m = re.match(r"^\s*(\d+): 0x[0-9a-f]+ (?:M=(\d+) )?(.*)$", raw)
            if m:
                loc = int(m.group(1))
                locs[loc] = {"m": int(m.group(2) or 0), "f": []}
                rest = m.group(3)
            else:
                rest = raw.strip()
            rest = rest.replace("[F] ", "").strip()
            if loc is not None and rest and rest != "??":
                locs[loc]["f"].append(rest.split(" ")[0])
        elif section == "map":
            m = re.match(r"^(\d+): \S+ (\S+)", raw)
            if m:
                maps[int(m.group(1))] = m.group(2)
    for s in samples:
        s["frames"] = []
        for lid in s["locs"]:
            lo = locs.get(lid, {"m": 0, "f": []})
            for f in lo["f"] or ["?"]:
                s["frames"].append((f, maps.get(lo["m"], "")))
    return samples, comments


def is_cprof(path):
    return "libcprof" in os.path.basename(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--hz", type=int, default=200)
    ap.add_argument("--trigger", default="perf")
    a = ap.parse_args()
    if not os.path.exists(cw.LIB) and not cw.SANITIZED:
        cw.skip("no libcprof.so in %s" % cw.BUILD)
    d = tempfile.mkdtemp(prefix="cprof-wall-leaf-")
    path = os.path.join(d, "wall.prof")
    r = cw.run([cw.prog("wall_syscalls"), "-seconds", str(a.seconds)],
               env=cw.env_with({"CPROF_WALL": path,
                                "CPROF_WALL_HZ": str(a.hz),
                                "CPROF_WALL_TRIGGER": a.trigger}),
               timeout=a.seconds * 3 + 60)
    t = cw.truth(r.stdout)
    samples, comments = read_raw(path)
    # every thread gets one sample per tick the sampler took (a starved
    # sampler misses ticks on a busy machine: the profile counts them)
    ticks = t["seconds"] * a.hz
    for c in comments:
        m = re.match(r"(\d+) ticks, one sample of every thread", c)
        if m:
            ticks = int(m.group(1))
    cw.note("%d ticks in %.2f s at %d Hz" % (ticks, t["seconds"], a.hz))

    # nowhere: cprof's frames, or its hooks' helpers as a leaf
    # (a thread caught in its first microseconds, cprof's trampoline
    # registering it, is cprof's own work: fine, and the only exception)
    own = [s for s in samples if any(is_cprof(m) and f != "trampoline"
                                     for f, m in s["frames"])]
    if cw.SANITIZED:
        # ASan's interceptors (libasan) call cprof's interposers from
        # above: cprof's frames sit between two foreign ones, which the
        # folding (made for program -> cprof -> libc) leaves in place
        cw.note("sanitizer build: %d samples with cprof's frames not "
                "judged" % len(own))
        own = []
    cw.check(not own, "%d samples (%d ticks) with cprof's frames, e.g. %s"
             % (len(own), sum(s["v"][0] for s in own),
                [f for f, _ in own[0]["frames"]] if own else ""))
    bad = [s for s in samples if s["frames"] and
           OWN_LEAF.search(s["frames"][0][0])]
    cw.check(not bad, "%d ticks with cprof's leaves: %s" % (
        sum(s["v"][0] for s in bad),
        sorted(set(s["frames"][0][0] for s in bad))))

    def of(name):
        return [s for s in samples if s["l"].get("thread_name") == name]

    for name, (leaf_re, fn) in sorted(BLOCKED.items()):
        ss = of(name)
        n = sum(s["v"][0] for s in ss)
        if not cw.check(n > 0, "no samples of %s" % name):
            continue
        good = 0
        leaves = {}
        for s in ss:
            funcs = [f for f, _ in s["frames"]]
            leaf = funcs[0] if funcs else "?"
            leaves[leaf] = leaves.get(leaf, 0) + s["v"][0]
            if (s["l"].get("state") == "blocked" and
                    re.search(leaf_re, leaf) and fn in funcs):
                good += s["v"][0]
        cw.note("%s: %d samples, leaves %s" % (name, n, leaves))
        # the first ticks may see the thread before it blocks
        cw.check(good >= 0.9 * n, "%s: %d of %d samples blocked in %s "
                 "under %s(); leaves %s" % (name, good, n, leaf_re, fn,
                                            leaves))
        cw.check(n >= 0.8 * ticks, "%s: %d samples in %.0f ticks" % (
            name, n, ticks))

    for name, fn in sorted(BUSY.items()):
        ss = of(name)
        n = sum(s["v"][0] for s in ss)
        run = sum(s["v"][0] for s in ss if s["l"].get("state") == "running")
        inside = sum(s["v"][0] for s in ss
                     if fn in [f for f, _ in s["frames"]])
        cw.note("%s: %d samples (%d running), %d under %s()" % (
            name, n, run, inside, fn))
        # every tick weighs: none deferred and lost
        cw.check(n >= 0.8 * ticks, "%s: %d samples in %.0f ticks" % (
            name, n, ticks))
        outside = {}
        for s in ss:
            if fn not in [f for f, _ in s["frames"]]:
                k = " < ".join(f for f, _ in s["frames"][:6])
                outside[k] = outside.get(k, 0) + s["v"][0]
        cw.check(inside >= 0.9 * n, "%s: %d of %d samples under %s(), "
                 "others %s" % (name, inside, n, fn, outside))
        calls = {}
        for s in ss:
            if s["l"].get("state") == "blocked":
                leaf = s["frames"][0][0] if s["frames"] else "?"
                calls[leaf] = calls.get(leaf, 0) + s["v"][0]
        cw.check(all(re.search(r"(^|_)(read|write)$", k) for k in calls),
                 "%s: blocked leaves %s" % (name, calls))

    if cw.failures:
        print("%d failed assertions" % len(cw.failures))
        sys.exit(1)
    shutil.rmtree(d, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
