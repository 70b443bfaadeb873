#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check_trace.py - integration checks of the execution tracer.

Each check runs a program from tests/integration/progs/trace_*.c (built
into $CPROF_BUILD/tests/trace), reads its trace back with `cprof trace`
(-json, -perfetto, -summary=json, -pprof) and compares it with what the
program measured or counted itself. Registered with ctest by trace.cmake:

    check_trace.py CHECK [options]

    regions     3 threads, tasks, nested regions and logs: the JSON export
                has exactly those regions, nested as they were, on the
                right thread names, durations within 1% of the program's
                clock; the Perfetto export (decoded here, protobuf wire
                format by hand) has the same slices on the same threads
    flood       N events/s for S seconds: every event in the trace or
                counted as lost, exactly; the trace stops cleanly
    kill9       a trace cut by SIGKILL opens, up to the cut
    block       every kind of wait, with its stack and duration; the
                -pprof profiles through go tool pprof; a forked child's
                own trace FILE.PID
    endpoint    /debug/pprof/trace?seconds=1 read by cprof trace URL
    simple      examples/simple writes trace.out beside cpu.prof

Exit status: 0 pass, 1 fail, 77 skip.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from cptest import (  # noqa: F401 (shared by the drivers)
    BUILD, SANITIZED, LIB, CPROF, SKIP, failures, fail, check, note)

SRC = os.environ.get("CPROF_SRC", "")
PROGS = os.path.join(BUILD, "tests", "trace")


def run(cmd, env=None, timeout=120, check_rc=True):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if check_rc and p.returncode != 0:
        raise SystemExit("FAIL: %s: exit %d\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def cprof_trace(*args, timeout=300):
    return run([CPROF, "trace"] + list(args), timeout=timeout)


def summary(path):
    return json.loads(cprof_trace("-summary=json", path).stdout)


def prog(name):
    return os.path.join(PROGS, name)


def preload_env(extra):
    env = dict(os.environ)
    env.update(extra)
    if not SANITIZED:
        env["LD_PRELOAD"] = LIB
    return env


# ------------------------------------------------------------ perfetto

def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(b):
    """(field, wiretype, value) of one protobuf message; LEN values are
    bytes, varints ints."""
    i = 0
    out = []
    while i < len(b):
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 1:
            v = int.from_bytes(b[i:i + 8], "little")
            i += 8
        elif wt == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            if len(v) != n:
                raise ValueError("truncated field %d" % f)
            i += n
        elif wt == 5:
            v = int.from_bytes(b[i:i + 4], "little")
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((f, wt, v))
    return out


def one(msg, field, default=None):
    for f, _, v in msg:
        if f == field:
            return v
    return default


def decode_perfetto(path):
    """Tracks (uuid -> (tid, name)), and per track the slices (name,
    begin, end) rebuilt from SLICE_BEGIN/END with interned names."""
    data = open(path, "rb").read()
    names = {}
    tracks = {}
    events = []
    for f, wt, pkt in fields(data):
        if f != 1 or wt != 2:
            raise ValueError("not a Trace: field %d" % f)
        p = fields(pkt)
        inter = one(p, 12)
        if inter is not None:
            for f2, _, v in fields(inter):
                if f2 == 2:  # event_names
                    e = fields(v)
                    names[one(e, 1)] = one(e, 2).decode()
        td = one(p, 60)
        if td is not None:
            td = fields(td)
            th = one(td, 4)
            tid = name = None
            if th is not None:
                th = fields(th)
                tid = one(th, 2)
                name = (one(th, 5) or b"").decode()
            else:
                name = (one(td, 2) or b"").decode()
            tracks[one(td, 1)] = (tid, name)
        te = one(p, 11)
        if te is not None:
            te = fields(te)
            events.append((one(p, 8), one(te, 9), one(te, 11),
                           names.get(one(te, 10))))
    events.sort(key=lambda e: (e[0], 0 if e[1] == 2 else 1))
    slices = {}
    stacks = {}
    for ts, typ, track, name in events:
        if typ == 1:
            stacks.setdefault(track, []).append((name, ts))
        elif typ == 2 and stacks.get(track):
            n, b = stacks[track].pop()
            slices.setdefault(track, []).append(
                (n, b, ts, len(stacks[track])))
    return tracks, slices


# ------------------------------------------------------------ checks

def json_trace(path, out):
    cprof_trace("-json=" + out, path)
    with open(out) as f:
        return json.load(f)  # python3's json: the export must be valid


def check_regions(a):
    d = tempfile.mkdtemp(prefix="trt-")
    trace, expect = os.path.join(d, "t.trace"), os.path.join(d, "expect")
    run([prog("trace_regions"), trace, expect])
    exp = [json.loads(l) for l in open(expect)]
    doc = json_trace(trace, os.path.join(d, "t.json"))
    ev = doc["traceEvents"]
    tnames = {e["tid"]: e["args"]["name"] for e in ev
              if e["ph"] == "M" and e["name"] == "thread_name"}
    regions = {}
    outliers = []
    total = 0
    for e in ev:
        if e["ph"] == "X" and e["cat"] == "region":
            regions.setdefault(tnames.get(e["tid"], "?"), []).append(e)
    for th in ("worker-a", "worker-b", "worker-c"):
        want = [x for x in exp if x.get("thread") == th and "name" in x]
        got = sorted(regions.get(th, []), key=lambda e: (e["ts"] + e["dur"],
                                                         -e["ts"]))
        if not check(len(got) == len(want),
                     "%s: %d regions in the JSON, the program made %d" %
                     (th, len(got), len(want))):
            continue
        worst = 0.0
        for w, g in zip(want, got):
            check(g["name"] == w["name"],
                  "%s: region %r where the program ended %r" %
                  (th, g["name"], w["name"]))
            # nesting: depth and parent from containment in the JSON
            outer = [o for o in got if o is not g and o["ts"] <= g["ts"] and
                     o["ts"] + o["dur"] >= g["ts"] + g["dur"]]
            check(len(outer) == w["depth"],
                  "%s: %s at depth %d, want %d" % (th, g["name"],
                                                   len(outer), w["depth"]))
            if w["depth"]:
                parent = min(outer, key=lambda o: o["dur"])
                check(parent["name"] == w["parent"],
                      "%s: %s inside %s, want %s" % (th, g["name"],
                                                     parent["name"],
                                                     w["parent"]))
            own = w["dur_ns"] / 1000.0
            err = abs(g["dur"] - own) / own
            worst = max(worst, err)
            total += 1
            if err > 0.01:
                # the program reads its clock just outside the calls: a
                # preemption in between (this machine is shared) makes
                # its own number longer; tolerated rarely and up to 100 us
                outliers.append("%s: %s lasted %.3f us in the trace, %.3f us "
                                "by the program's clock (%.2f%%)" %
                                (th, g["name"], g["dur"], own, 100 * err))
                check(own - g["dur"] <= 100, outliers[-1])
            # the trace's clock (TSC, mapped to CLOCK_MONOTONIC between
            # sync points a second apart) agrees with the program's to a
            # few ppm; its region lies inside the program's measurement
            check(g["dur"] <= own * (1 + 2e-5) + 0.05,
                  "%s: %s lasted %.3f us in the trace, longer than the "
                  "%.3f us measured around it" % (th, g["name"], g["dur"],
                                                  own))
        note("%s: %d regions, nesting and names match; worst duration "
             "error %.3f%%" % (th, len(got), 100 * worst))
    for o in outliers:
        note("outlier: " + o)
    check(len(outliers) <= total // 20,
          "%d of %d regions off by more than 1%%" % (len(outliers), total))
    extra = set(regions) - {"worker-a", "worker-b", "worker-c"}
    check(not extra, "regions on unexpected threads: %s" % extra)
    # logs
    logs = [e for e in ev if e["ph"] == "i" and e["cat"] == "log"]
    want_logs = [x for x in exp if "log" in x]
    check(len(logs) == len(want_logs), "%d logs, want %d" %
          (len(logs), len(want_logs)))
    got_msgs = sorted((tnames.get(e["tid"]), e["args"]["category"],
                       e["args"]["message"]) for e in logs)
    want_msgs = sorted((x["thread"], x["category"], x["log"])
                       for x in want_logs)
    check(got_msgs == want_msgs, "log messages differ: %s vs %s" %
          (got_msgs[:3], want_msgs[:3]))
    # tasks: every task begun and ended; the cross-thread one ends on a
    tb = {e["id"]: e for e in ev if e["ph"] == "b" and e["cat"] == "task"}
    te = {e["id"]: e for e in ev if e["ph"] == "e" and e["cat"] == "task"}
    tasks = [x for x in exp if "task" in x]
    cross = [x["cross_task"] for x in exp if "cross_task" in x][0]
    for t in tasks:
        i = "0x%x" % t["task"]
        check(i in tb and i in te, "task %s has no begin/end" % i)
        if i in tb:
            check(tnames.get(tb[i]["tid"]) == t["thread"],
                  "task %s begun on %s" % (i, tnames.get(tb[i]["tid"])))
    i = "0x%x" % cross
    if check(i in tb and i in te, "the cross-thread task is missing"):
        check(tnames.get(te[i]["tid"]) == "worker-a" and
              tb[i]["name"] == "batch",
              "the cross-thread task ends on %s" % tnames.get(te[i]["tid"]))
    # regions carry their task
    for e in regions.get("worker-b", []):
        check(e.get("args", {}).get("task", 0) > 0,
              "region %s on worker-b carries no task" % e["name"])
        break
    # perfetto: the same slices on the same threads
    pf = os.path.join(d, "t.pftrace")
    cprof_trace("-perfetto=" + pf, trace)
    tracks, slices = decode_perfetto(pf)
    for th in ("worker-a", "worker-b", "worker-c"):
        uu = [u for u, (tid, n) in tracks.items() if n == th and tid]
        if not check(len(uu) == 1, "perfetto: %d tracks named %s" %
                     (len(uu), th)):
            continue
        got = [(n, depth) for n, b, e, depth in
               sorted(slices.get(uu[0], []), key=lambda s: (s[2], -s[1]))
               if n in ("handle", "parse", "compute", "inner", "wait")]
        want = [(x["name"], x["depth"]) for x in exp
                if x.get("thread") == th and "name" in x]
        check(got == want, "perfetto: %s has slices %s, want %s" %
              (th, got[:6], want[:6]))
    note("perfetto: %d tracks, slices match on the three workers" %
         len(tracks))
    # the text summary agrees
    s = summary(trace)
    by = {r["name"]: r for r in s["regions"]}
    check(by.get("handle", {}).get("count") == 12,
          "summary: %s handle regions, want 12" %
          by.get("handle", {}).get("count"))
    check(s["lost"] == 0 and s["complete"], "summary: lost %d, complete %s"
          % (s["lost"], s["complete"]))


def check_flood(a):
    d = tempfile.mkdtemp(prefix="trf-")
    trace = os.path.join(d, "t.trace")
    t0 = time.time()
    p = run([prog("trace_flood"), trace, str(a.seconds), str(a.rate),
             str(a.threads)], timeout=a.seconds * 10 + 120)
    elapsed = time.time() - t0
    res = json.loads(p.stdout)
    s = summary(trace)
    size = os.path.getsize(trace)
    by_tid = {t["tid"]: t for t in s["threads"]}
    emitted = sum(t["events"] for t in res["threads"])
    seen = lost = 0
    for t in res["threads"]:
        st = by_tid.get(t["tid"])
        if not check(st is not None, "thread %s missing" % t["name"]):
            continue
        # the program's events, plus the thread's start, last name, exit
        want = t["events"] + 3
        got = st["events"] + st["lost"] + st["unreported_lost"]
        check(got == want, "%s: %d events in the trace + %d lost + %d "
              "unreported = %d, the thread emitted %d" %
              (t["name"], st["events"], st["lost"], st["unreported_lost"],
               got, want))
        seen += st["events"]
        lost += st["lost"] + st["unreported_lost"]
    check(s["complete"], "the trace has no end record")
    check(s["damaged"] == 0, "%d damaged chunks" % s["damaged"])
    total = sum(t["events"] for t in s["threads"])
    check(s["end_events"] == total,
          "the end record counts %d events, the file holds %d" %
          (s["end_events"], total))
    check(s["end_dropped"] == lost,
          "the end record counts %d lost, LOST events and the end say %d"
          % (s["end_dropped"], lost))
    note("flood: %d events emitted in %.1f s (%.1f M/s), %d in the trace, "
         "%d lost (%.2f%%), %.2f bytes/event, stop took %s ms, run %.1f s"
         % (emitted, a.seconds, emitted / a.seconds / 1e6, seen, lost,
            100.0 * lost / max(emitted, 1), size / max(seen, 1),
            res["stop_ms"], elapsed))
    check(res["stop_ms"] < 5000, "stopping took %s ms" % res["stop_ms"])


def check_kill9(a):
    d = tempfile.mkdtemp(prefix="trk-")
    trace = os.path.join(d, "t.trace")
    p = subprocess.Popen([prog("trace_flood"), trace, "1", "2000000", "2",
                          "forever"], stdout=subprocess.PIPE)
    time.sleep(a.seconds)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    size = os.path.getsize(trace)
    r = run([CPROF, "trace", "-summary=json", trace])
    s = json.loads(r.stdout)
    check(not s["complete"], "a killed trace claims to be complete")
    check("no end record" in r.stderr or "ends inside" in r.stderr,
          "cprof did not say the trace was cut: %r" % r.stderr)
    regions = sum(t["regions"] for t in s["threads"])
    check(regions > 10000, "only %d regions read before the cut" % regions)
    doc = json_trace(trace, os.path.join(d, "t.json"))
    check("truncated" in doc.get("otherData", {}),
          "the JSON does not say the trace is truncated")
    # cut the file at an arbitrary byte too: still opens
    cut = os.path.join(d, "cut.trace")
    with open(trace, "rb") as f:
        data = f.read()
    with open(cut, "wb") as f:
        f.write(data[:len(data) * 2 // 3 + 7])
    s2 = summary(cut)
    r2 = sum(t["regions"] for t in s2["threads"])
    check(0 < r2 <= regions, "cut at 2/3: %d regions" % r2)
    note("kill -9 after %.1f s: %d bytes, %d regions readable; cut at 2/3: "
         "%d" % (a.seconds, size, regions, r2))


def state_lanes(doc):
    """Per tid, the intervals of its lane in the JSON's "Thread states"
    process: (state, begin ns, end ns) since the trace's start."""
    ev = doc["traceEvents"]
    pids = {e["pid"] for e in ev if e["ph"] == "M" and
            e["name"] == "process_name" and
            e["args"]["name"].startswith("Thread states")}
    out = {}
    for e in ev:
        if e["ph"] == "X" and e.get("cat") == "sched" and e["pid"] in pids:
            b = round(e["ts"] * 1000)
            out.setdefault(e["tid"], []).append(
                (e["name"], b, b + round(e["dur"] * 1000)))
    for v in out.values():
        v.sort(key=lambda x: x[1])
    return out


def check_sched(a):
    """Threads that spin all their life: the summary, the JSON and the
    Perfetto export (one shared interval tracker) account for all of it,
    from the thread's start to its exit, and agree with each other."""
    d = tempfile.mkdtemp(prefix="trs-")
    trace = os.path.join(d, "t.trace")
    p = run([prog("trace_flood"), trace, str(a.seconds), str(a.rate),
             str(a.threads)], timeout=a.seconds * 10 + 120)
    res = json.loads(p.stdout)
    s = summary(trace)
    by_tid = {t["tid"]: t for t in s["threads"]}
    doc = json_trace(trace, os.path.join(d, "t.json"))
    lanes = state_lanes(doc)
    exits = {e["tid"]: round(e["ts"] * 1000) for e in doc["traceEvents"]
             if e["ph"] == "i" and e["name"] == "thread exit"}
    cprof_trace("-perfetto=" + os.path.join(d, "t.pftrace"), trace)
    _, slices = decode_perfetto(os.path.join(d, "t.pftrace"))
    for t in s["threads"]:
        life = t["end_ns"] - t["begin_ns"]
        check(t["running_ns"] + t["runnable_ns"] + t["blocked_ns"] == life,
              "tid %d: running + runnable + blocked = %d ns, its life in "
              "the trace %d ns" % (t["tid"], t["running_ns"] +
                                   t["runnable_ns"] + t["blocked_ns"], life))
    for w in res["threads"]:
        t = by_tid.get(w["tid"])
        if not check(t is not None, "thread %s missing" % w["name"]):
            continue
        life = t["end_ns"] - t["begin_ns"]
        on = t["running_ns"] + t["runnable_ns"]
        check(life >= a.seconds * 1e9 * 0.95,
              "%s spun %.3f s, its life in the trace is %.3f s" %
              (w["name"], a.seconds, life / 1e9))
        check(on >= 0.9 * life,
              "%s spun all its life, the summary has it on or waiting for "
              "a CPU %.1f%% of it" % (w["name"], 100.0 * on / max(life, 1)))
        note("%s: life %.3f s, running %.3f s + runnable %.3f s = %.2f%%, "
             "blocked %.3f ms, %s" %
             (w["name"], life / 1e9, t["running_ns"] / 1e9,
              t["runnable_ns"] / 1e9, 100.0 * on / max(life, 1),
              t["blocked_ns"] / 1e6,
              "precise" if t["precise"] else "estimated"))
        if not t["precise"]:
            note("%s: no context-switch records here: JSON/Perfetto state "
                 "lanes not checked" % w["name"])
            continue
        iv = lanes.get(w["tid"], [])
        if not check(iv, "%s: no state lane in the JSON" % w["name"]):
            continue
        # the first stretch (before the first switch-out) and the last
        # (to the exit) are there, and nothing after the exit
        check(iv[0][1] == t["begin_ns"],
              "%s: the JSON's first state begins at %d ns, the thread at "
              "%d ns" % (w["name"], iv[0][1], t["begin_ns"]))
        check(iv[-1][2] == t["end_ns"],
              "%s: the JSON's last state ends at %d ns, the thread at %d ns"
              % (w["name"], iv[-1][2], t["end_ns"]))
        if w["tid"] in exits:
            check(abs(iv[-1][2] - exits[w["tid"]]) <= 1,
                  "%s: the last state ends at %d ns, the thread exited at "
                  "%d ns" % (w["name"], iv[-1][2], exits[w["tid"]]))
        gaps = sum(max(0, y[1] - x[2]) for x, y in zip(iv, iv[1:]))
        check(gaps <= len(iv), "%s: the JSON's states leave %d ns of its "
              "life uncovered" % (w["name"], gaps))
        for st in ("running", "runnable", "blocked"):
            tot = sum(e - b for n, b, e in iv if n == st)
            check(abs(tot - t[st + "_ns"]) <= len(iv),
                  "%s: %s %d ns in the JSON, %d ns in the summary" %
                  (w["name"], st, tot, t[st + "_ns"]))
            pf = sum(e - b for n, b, e, _ in
                     slices.get(0x200000000 + w["tid"], [])
                     if n.split(" ")[0] == st)
            check(pf == t[st + "_ns"],
                  "%s: %s %d ns in the Perfetto export, %d ns in the "
                  "summary" % (w["name"], st, pf, t[st + "_ns"]))


def pprof_top(path):
    p = run(["go", "tool", "pprof", "-top", "-nodecount=200", path],
            timeout=120)
    return p.stdout


def frames_of(doc, sf):
    out = []
    frames = doc.get("stackFrames", {})
    while sf in frames:
        out.append(frames[sf]["name"])
        sf = frames[sf].get("parent")
    return out


def check_block(a):
    d = tempfile.mkdtemp(prefix="trb-")
    trace = os.path.join(d, "b.trace")
    p = run([prog("trace_block")], env=preload_env({"CPROF_TRACE": trace}))
    own = json.loads(p.stdout)
    doc = json_trace(trace, os.path.join(d, "b.json"))
    blocks = [e for e in doc["traceEvents"] if e.get("cat") == "block"]
    want = {"wait_on_lock": "mutex", "wait_on_cond": "cond",
            "sleeper": "sleep", "read_pipe": "syscall",
            "join_worker": "join", "wait_rwlock": "rwlock-write",
            "wait_sem": "semaphore"}
    for fn, kind in want.items():
        found = [e for e in blocks if e["args"]["kind"] == kind and
                 any(f.startswith(fn + " ") or f == fn
                     for f in frames_of(doc, e.get("sf")))]
        if not check(found, "no %s wait with %s on its stack" % (kind, fn)):
            continue
        dur = max(e["dur"] for e in found) * 1000
        # the wait lies inside what the program measured around the call,
        # and is most of it (a preemption on this shared machine can add a
        # few ms to the program's number, never to the trace's)
        check(own[fn] * 0.8 <= dur <= own[fn] * 1.0001 + 50000,
              "%s: waited %.0f us in the trace, %.0f us by the program" %
              (fn, dur / 1000, own[fn] / 1000))
        note("%-13s %-12s %8.0f us (program: %8.0f us) stack: %s" %
             (fn, kind, dur / 1000, own[fn] / 1000,
              " <- ".join(f.split(" ")[0] for f in
                          frames_of(doc, found[0].get("sf"))[:3])))
    # the pprof views, read by go tool pprof
    tops = {}
    for t in ("block", "sync", "syscall", "sched"):
        out = os.path.join(d, t + ".prof")
        cprof_trace("-pprof=" + t, "-output=" + out, trace)
        tops[t] = pprof_top(out)
    for fn in ("wait_on_lock", "wait_on_cond", "wait_rwlock", "wait_sem"):
        check(fn in tops["sync"], "-pprof=sync lacks %s" % fn)
        check(fn in tops["block"], "-pprof=block lacks %s" % fn)
    for fn in ("sleeper", "join_worker"):
        check(fn in tops["block"], "-pprof=block lacks %s" % fn)
        check(fn not in tops["sync"], "-pprof=sync has %s" % fn)
    check("read_pipe" in tops["syscall"], "-pprof=syscall lacks read_pipe")
    check("read_pipe" not in tops["block"], "-pprof=block has read_pipe")
    # the forked child traced itself into FILE.PID
    child = "%s.%d" % (trace, own["child"])
    if check(os.path.exists(child), "no child trace %s" % child):
        cd = json_trace(child, os.path.join(d, "c.json"))
        cb = [e for e in cd["traceEvents"] if e.get("cat") == "block" and
              any(f.startswith("child_sleeps") for f in
                  frames_of(cd, e.get("sf")))]
        check(cb, "the child's trace lacks its sleep in child_sleeps")
    s = summary(trace)
    note("sched: %s" % ", ".join("%s %s" % (t["name"], "precise"
                                            if t["precise"] else "estimated")
                                 for t in s["threads"][:3]))


def check_endpoint(a):
    """A program that does not trace by itself, traced for one second
    through the endpoint, read by cprof trace URL."""
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]
    env = preload_env({"CPROF_HTTP": "127.0.0.1:%d" % port})
    p = subprocess.Popen([prog("trace_spin")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = "http://127.0.0.1:%d/debug/pprof/trace?seconds=1" % port
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        r = run([CPROF, "trace", "-summary=json", url])
        s = json.loads(r.stdout)
        regions = sum(t["regions"] for t in s["threads"])
        check(s["complete"], "endpoint trace incomplete")
        check(0.8e9 < s["duration_ns"] < 3e9, "endpoint trace lasts %d ns"
              % s["duration_ns"])
        check(regions > 100, "endpoint trace has %d regions" % regions)
        note("endpoint: %.2f s trace, %d regions" % (s["duration_ns"] / 1e9,
                                                     regions))
        # a second request while one runs: refused, as Go does
    finally:
        p.kill()
        p.wait()


def check_simple(a):
    d = tempfile.mkdtemp(prefix="trs-")
    cpu = os.path.join(d, "cpu.prof")
    run([os.path.join(BUILD, "examples", "simple"), cpu], timeout=120)
    tr = os.path.join(d, "trace.out")
    check(os.path.exists(cpu), "simple wrote no cpu.prof")
    if check(os.path.exists(tr), "simple wrote no trace.out beside it"):
        s = summary(tr)
        names = {r["name"] for r in s["regions"]}
        check({"count_primes", "fib", "sort_floats"} <= names,
              "trace.out regions: %s" % names)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("check")
    ap.add_argument("--seconds", type=float, default=1)
    ap.add_argument("--rate", type=float, default=10e6)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if not os.path.exists(CPROF):
        print("SKIP: no %s" % CPROF)
        return SKIP
    {"regions": check_regions, "flood": check_flood, "kill9": check_kill9,
     "block": check_block, "endpoint": check_endpoint,
     "simple": check_simple, "sched": check_sched}[a.check](a)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
