#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check_cli.py - integration tests of the cprof command (issue 3).

    check_cli.py MODE --cprof CPROF --data DIR --work DIR [--gperf BIN]
                 [--burn BIN] [--legacy-src FILE]

Modes:
  compare    cprof -top and go tool pprof -top -nodecount=1000 agree on the
             flat and cum value of every function both of them name, on a
             Go CPU and heap profile, a gperftools CPU profile, a Go legacy
             heap text and a cprof CPU profile (made here), with and without
             -focus, -ignore, -tagfocus, -diff_base
  collapsed  -collapsed is FlameGraph's folded format and sums to the total
  proto      -proto output is read by go tool pprof (round trip)
  errors     bad inputs: one "cprof: " sentence on stderr, exit status 1
  url        sources over HTTP (a local server), -seconds, server errors
  run        cprof run: the profile, exit status and signal pass-through
  manual     cprof -h and docs/man/cprof.1 list the same flags
  random     random profiles (progs/cli_rgen): cprof prints what go tool
             pprof prints, byte for byte, for 34 sets of flags

Exit 0 on success, 1 on failure, 77 to skip (a tool is missing).
"""
import argparse
import gzip
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import threading

FAILS = []


def fail(msg):
    FAILS.append(msg)
    print("FAIL: " + msg)


def run(cmd, env=None, cwd=None, timeout=300):
    e = dict(os.environ)
    e["TZ"] = "UTC"
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, env=e, cwd=cwd,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


# ---- parsing -top --------------------------------------------------------

UNITS = {
    "ns": 1, "us": 1e3, "\u00b5s": 1e3, "ms": 1e6, "s": 1e9, "hrs": 3600e9,
    "B": 1, "kB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4,
    "PB": 1024 ** 5, "": 1,
}
VAL = re.compile(r"^(-?[0-9.]+(?:e[-+]?[0-9]+)?)([a-zA-Z\u00b5]*)$")


def value(s):
    m = VAL.match(s)
    if not m or m.group(2) not in UNITS:
        raise ValueError("cannot read value %r" % s)
    return float(m.group(1)) * UNITS[m.group(2)], UNITS[m.group(2)]


ROW = re.compile(r"^\s*(\S+)\s+(\S+%)\s+(\S+%)\s+(\S+)\s+(\S+%)\s+(.*)$")


def parse_top(text):
    """name -> (flat, cum, resolution) for every row of a -top report."""
    rows = {}
    started = False
    for line in text.splitlines():
        if line.strip().startswith("flat  flat%"):
            started = True
            continue
        if not started:
            continue
        m = ROW.match(line)
        if not m:
            raise ValueError("unexpected -top line %r" % line)
        name = re.sub(r" \((partial-)?inline\)$", "", m.group(6))
        f, fu = value(m.group(1))
        c, cu = value(m.group(4))
        rows[name] = (f, c, max(fu, cu))
    return rows


def named(name):
    # nodes that stand for no function: go tool pprof's unsymbolized ones
    return not (name == "<unknown>" or (name.startswith("[") and
                                        name.endswith("]")))


def close(a, b, res):
    # both print two decimals in units they pick the same way
    return abs(a - b) <= max(0.006 * res, 1e-6 * max(abs(a), abs(b)))


def compare(label, cprof_args, pprof_args, cprof, min_common=3):
    rc, out, err = run([cprof, "-top", "-nodecount=1000"] + cprof_args)
    if rc != 0:
        fail("%s: cprof failed: %s" % (label, err.strip()))
        return
    rc2, out2, err2 = run(["go", "tool", "pprof", "-top", "-nodecount=1000"]
                          + pprof_args)
    if rc2 != 0:
        fail("%s: go tool pprof failed: %s" % (label, err2.strip()))
        return
    try:
        c, g = parse_top(out), parse_top(out2)
    except ValueError as e:
        fail("%s: %s" % (label, e))
        return
    common = [n for n in c if n in g and named(n)]
    bad = 0
    for n in common:
        cf, cc, cr = c[n]
        gf, gc, gr = g[n]
        res = max(cr, gr)
        if not (close(cf, gf, res) and close(cc, gc, res)):
            bad += 1
            fail("%s: %s: cprof flat %g cum %g, pprof flat %g cum %g" %
                 (label, n, cf, cc, gf, gc))
    # totals in the header line
    tc = re.search(r"of (\S+) total", out)
    tg = re.search(r"of (\S+) total", out2)
    if not tc or not tg or tc.group(1) != tg.group(1):
        fail("%s: totals differ: %s vs %s" % (
            label, tc and tc.group(1), tg and tg.group(1)))
    if len(common) < min_common:
        fail("%s: only %d functions named by both (want >= %d)" %
             (label, len(common), min_common))
    if bad or len(common) < min_common:
        print("cprof %s:\n%s\ngo tool pprof %s:\n%s" % (
            " ".join(cprof_args), out, " ".join(pprof_args), out2))
    print("ok: %s: %d functions compared%s" % (
        label, len(common), "" if not bad else ", %d differ" % bad))


# ---- inputs made here --------------------------------------------------------

def make_gperf_profile(a):
    if not a.gperf or not os.path.exists(a.gperf):
        return None
    out = os.path.join(a.work, "gperf-cpu.prof")
    rc, _, err = run([a.gperf, "30"], env={"CPUPROFILE": out,
                                           "CPUPROFILE_FREQUENCY": "500"})
    if rc != 0 or not os.path.exists(out):
        fail("gperftools profile not written: %s" % err.strip())
        return None
    return out


def make_go_legacy(a):
    """Build the legacy Go program; returns (binary, dir of its profiles)."""
    if not shutil.which("go") or not a.legacy_src:
        return None, None
    d = os.path.join(a.work, "golegacy")
    os.makedirs(d, exist_ok=True)
    binary = os.path.join(d, "legacy")
    env = {"GO111MODULE": "off", "GOFLAGS": "",
           "GOCACHE": os.path.join(a.work, "gocache")}
    rc, _, err = run(["go", "build", "-o", binary, a.legacy_src], env=env)
    if rc != 0:
        fail("go build of %s: %s" % (a.legacy_src, err.strip()))
        return None, None
    rc, _, err = run([binary, "-dir", d, "-d", "400ms"])
    if rc != 0:
        fail("legacy Go program: %s" % err.strip())
        return None, None
    return binary, d


def make_cprof_profile(a, name, arg="30"):
    """A CPU profile of the burn program written by libcprof."""
    out = os.path.join(a.work, name)
    if os.environ.get("CPROF_SANITIZED") in ("1", "ON", "TRUE", "true"):
        return None  # an ASan libcprof cannot be preloaded
    if not a.burn:
        return None
    rc, _, err = run([a.cprof, "run", "-cpu", out, "-hz", "250", "--",
                      a.burn, arg])
    if rc != 0 or not os.path.exists(out):
        fail("cprof run -cpu: %s" % err.strip())
        return None
    return out


# ---- modes -------------------------------------------------------------------

def mode_compare(a):
    d = a.data
    cpu, cpub = os.path.join(d, "go-cpu.prof"), os.path.join(d, "go-cpu-b.prof")
    heap = os.path.join(d, "go-heap.prof")
    for extra, lbl in [([], ""), (["-focus=sort"], " -focus"),
                       (["-ignore=sha256"], " -ignore"),
                       (["-tagfocus=phase=hash"], " -tagfocus"),
                       (["-diff_base=" + cpu], " -diff_base")]:
        src = cpub if "-diff_base" in lbl else cpu
        compare("go cpu" + lbl, extra + [src], extra + [src], a.cprof)
    for extra, lbl in [([], ""), (["-sample_index=alloc_space"], " alloc"),
                       (["-focus=allocBig"], " -focus"),
                       (["-tagfocus=bytes=1kb:"], " -tagfocus"),
                       (["-ignore=allocSmall"], " -ignore")]:
        compare("go heap" + lbl, extra + [heap], extra + [heap], a.cprof,
                min_common=2)

    gp = make_gperf_profile(a)
    if gp:
        # go tool pprof names only some frames of gperftools profiles; the
        # ones it names must agree, and every address must agree
        for extra, lbl in [([], ""), (["-focus=leaf_work"], " -focus"),
                           (["-ignore=burn_hash"], " -ignore")]:
            compare("gperftools cpu" + lbl, extra + [gp], extra + [gp],
                    a.cprof, min_common=0)
            compare("gperftools cpu -addresses" + lbl,
                    ["-addresses", "-symbolize=none"] + extra + [gp],
                    ["-addresses", "-symbolize=none"] + extra + [gp],
                    a.cprof, min_common=0)
        rc, out, _ = run([a.cprof, "-top", gp])
        for fn in ("burn_float", "burn_hash", "main"):
            if not re.search(r"\s%s$" % fn, out, re.M):
                fail("gperftools cpu: cprof does not name %s:\n%s" % (fn, out))
    else:
        print("note: no gperftools program, gperftools comparison skipped")

    # Go's legacy heap text against Go's proto of the same heap data (the
    # profile as of the last GC, written twice): cprof names the frames
    # from the text's symbol comments; go tool pprof reads the proto
    binary, gd = make_go_legacy(a)
    for where in [a.data] + ([gd] if gd else []):
        txt = os.path.join(where, "go-heap.txt")
        pb = os.path.join(where, "go-heap-proto.prof")
        for extra, lbl in [([], ""), (["-sample_index=alloc_space"], " alloc"),
                           (["-sample_index=alloc_objects"], " objects"),
                           (["-focus=allocBig"], " -focus"),
                           (["-ignore=allocSmall"], " -ignore")]:
            compare("go heap text (%s)%s" % (os.path.basename(where), lbl),
                    extra + [txt], extra + [pb], a.cprof)
    if binary:
        # with the binary, pprof names the frames of the text too; it has
        # no inline information there, so compare by address
        for f in ("go-heap.txt", "go-block.txt", "go-mutex.txt"):
            t = os.path.join(gd, f)
            compare("%s by address" % f,
                    ["-addresses", "-symbolize=none", binary, t],
                    ["-addresses", "-symbolize=none", binary, t], a.cprof,
                    min_common=0)
        compare("go cpu b -diff_base", ["-diff_base=" + cpu,
                                        os.path.join(gd, "go-cpu-b.prof")],
                ["-diff_base=" + cpu, os.path.join(gd, "go-cpu-b.prof")],
                a.cprof)

    cp = make_cprof_profile(a, "cprof-cpu.prof", "40")
    cp2 = make_cprof_profile(a, "cprof-cpu2.prof", "20")
    if cp:
        for extra, lbl in [([], ""), (["-focus=leaf_work"], " -focus"),
                           (["-ignore=burn_hash"], " -ignore"),
                           (["-tagfocus=thread_name=.*"], " -tagfocus"),
                           (["-lines"], " -lines")]:
            # leaf_work gets an eighth of the work: few samples on a busy
            # machine, so fewer names to compare
            compare("cprof cpu" + lbl, extra + [cp], extra + [cp], a.cprof,
                    min_common=1 if "-focus" in lbl else 3)
        if cp2:
            compare("cprof cpu -diff_base", ["-diff_base=" + cp2, cp],
                    ["-diff_base=" + cp2, cp], a.cprof)
    else:
        print("note: no cprof CPU profile (sanitizer build or no libcprof)")


def mode_collapsed(a):
    srcs = [os.path.join(a.data, "go-cpu.prof"),
            os.path.join(a.data, "go-heap.prof")]
    cp = make_cprof_profile(a, "cprof-collapsed.prof")
    if cp:
        srcs.append(cp)
    line_re = re.compile(r"^([^;\n]+(?:;[^;\n]+)*) (-?[0-9]+)$")
    for src in srcs:
        rc, out, err = run([a.cprof, "-collapsed", src])
        if rc != 0:
            fail("-collapsed %s: %s" % (src, err.strip()))
            continue
        lines = out.splitlines()
        stacks = []
        total = 0
        for l in lines:
            m = line_re.match(l)
            if not m:
                fail("-collapsed %s: not folded format: %r" % (src, l))
                break
            if any(f == "" or f != f.strip() for f in m.group(1).split(";")):
                fail("-collapsed %s: empty or padded frame: %r" % (src, l))
            if int(m.group(2)) == 0:
                fail("-collapsed %s: zero count line %r" % (src, l))
            stacks.append(m.group(1))
            total += int(m.group(2))
        if stacks != sorted(stacks) or len(set(stacks)) != len(stacks):
            fail("-collapsed %s: stacks not sorted and unique" % src)
        # the sum is the profile's total of the default sample type, which
        # -raw lists sample by sample (last column is the default here)
        rc, raw, _ = run(["go", "tool", "pprof", "-raw", src])
        want = 0
        idx = None
        raw = raw.split("\nSamples:\n", 1)[-1].split("\nLocations\n", 1)[0]
        for l in raw.splitlines():
            if idx is None and "[dflt]" in l:
                idx = [i for i, t in enumerate(l.split()) if "[dflt]" in t][0]
            # a sample without frames has no line in folded stacks
            m = re.match(r"^((?:\s+-?\d+)+): \d", l)
            if m:
                vals = [int(x) for x in m.group(1).split()]
                want += vals[idx if idx is not None else -1]
        if total != want:
            fail("-collapsed %s: sums to %d, the profile to %d" % (src, total,
                                                                  want))
        if len(lines) < 3:
            fail("-collapsed %s: only %d stacks" % (src, len(lines)))
        print("ok: -collapsed %s: %d stacks, total %d" % (
            os.path.basename(src), len(lines), total))


def mode_proto(a):
    cpu = os.path.join(a.data, "go-cpu.prof")
    cpub = os.path.join(a.data, "go-cpu-b.prof")
    cases = [
        ("filtered", ["-focus=sort"], [cpu]),
        ("merged", [], [cpu, cpub]),
        ("diff", ["-base=" + cpu], [cpub]),
        ("legacy", [], [os.path.join(a.data, "go-heap.txt")]),
        ("gperftools", ["-symbolize=none"],
         [os.path.join(a.data, "gperf-cpu.prof")]),
    ]
    for name, flags, srcs in cases:
        out = os.path.join(a.work, "rt-%s.pb.gz" % name)
        rc, _, err = run([a.cprof, "-proto", "-output=" + out] + flags + srcs)
        if rc != 0:
            fail("-proto %s: %s" % (name, err.strip()))
            continue
        with open(out, "rb") as f:
            if f.read(2) != b"\x1f\x8b":
                fail("-proto %s: output is not gzip'd" % name)
        # read back as written: symbolized or not
        back = [f for f in flags if f.startswith("-symbolize")]
        rc, gtop, err = run(["go", "tool", "pprof", "-top"] + back + [out])
        if rc != 0:
            fail("-proto %s: go tool pprof cannot read it: %s" % (name, err))
            continue
        rc, ctop, _ = run([a.cprof, "-top"] + back + [out])
        if gtop != ctop:
            fail("-proto %s: -top of the written profile differs:\n%s\n%s" %
                 (name, gtop, ctop))
        # what the written profile says equals what the flags said
        rc, ref, _ = run(["go", "tool", "pprof", "-top"] + flags + srcs)
        r1, r2 = parse_top(gtop), parse_top(ref)
        for n, (f, c, res) in r2.items():
            if n in r1 and not (close(f, r1[n][0], res) and
                                close(c, r1[n][1], res)):
                fail("-proto %s: %s changed: %s vs %s" % (name, n, r1[n],
                                                         r2[n]))
        if not set(k for k in r2 if named(k)) <= set(r1):
            fail("-proto %s: functions lost: %s" % (
                name, sorted(set(r2) - set(r1))))
        print("ok: -proto %s round trip (%d functions)" % (name, len(r1)))


def expect_error(a, label, args, want, stdin=None, env=None):
    rc, out, err = run([a.cprof] + args, env=env)
    lines = [l for l in err.splitlines() if l.strip()]
    if rc == 0 or rc >= 128 or rc < 0:
        fail("%s: exit status %d (want a plain failure)" % (label, rc))
    elif len(lines) != 1 or not lines[0].startswith("cprof: "):
        fail("%s: stderr is not one 'cprof: ' sentence: %r" % (label, err))
    elif want.lower() not in lines[0].lower():
        fail("%s: %r does not say %r" % (label, lines[0], want))
    else:
        print("ok: %s: %s" % (label, lines[0]))


def mode_errors(a):
    w = a.work
    cpu = os.path.join(a.data, "go-cpu.prof")
    data = open(cpu, "rb").read()
    trunc = os.path.join(w, "truncated.prof")
    open(trunc, "wb").write(data[: len(data) // 2])
    rawtrunc = os.path.join(w, "rawtrunc.prof")
    open(rawtrunc, "wb").write(gzip.decompress(data)[:333])
    corrupt = os.path.join(w, "corrupt.prof")
    open(corrupt, "wb").write(bytes((i * 7 + 3) % 251 for i in range(4000)))
    empty = os.path.join(w, "empty.prof")
    open(empty, "wb").close()
    bomb = os.path.join(w, "bomb.gz")
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        chunk = b"\0" * (1 << 20)
        for _ in range(64):
            f.write(chunk)
    badheap = os.path.join(w, "badheap.txt")
    open(badheap, "w").write("heap profile: 1: 2 [3: 4] @ heap/1024\n"
                             "1: 2 [3: 4] @ 0x1234\nthis is not a record\n")
    cases = [
        ("missing file", ["-top", os.path.join(w, "nosuch.prof")],
         "no such file"),
        ("truncated gzip", ["-top", trunc], "truncated"),
        ("truncated proto", ["-top", rawtrunc], "not a profile"),
        ("corrupt", ["-top", corrupt], "not a profile"),
        ("empty", ["-top", empty], "empty"),
        ("directory", ["-top", w], "directory"),
        ("gzip bomb", ["-top", "-max_decompressed=16M", bomb],
         "max_decompressed"),
        ("malformed heap text", ["-top", badheap], "malformed"),
        ("bad flag", ["-nosuchflag", cpu], "unknown flag"),
        ("flag without value", ["-top", cpu, "-focus"], "needs an argument"),
        ("bad number", ["-nodecount=ten", cpu], "integer"),
        ("bad regexp", ["-focus=(", cpu], "focus"),
        ("bad sample index", ["-sample_index=nosuch", cpu], "sample_index"),
        ("bad granularity", ["-granularity=bytes", cpu], "granularity"),
        ("two formats", ["-top", "-traces", cpu], "one output format"),
        ("no source", ["-top"], "no profile source"),
        ("incompatible merge", ["-top", cpu,
                                os.path.join(a.data, "go-heap.prof")],
         "incompatible"),
        ("list without match", ["-list=nosuchfunction", cpu],
         "no matches"),
        ("unreachable URL", ["-top", "http://127.0.0.1:9/debug/pprof/heap"],
         "http"),
        ("output in a missing directory",
         ["-top", "-output=" + os.path.join(w, "no", "dir", "x"), cpu],
         "cannot write"),
        ("run without program", ["run", "-cpu", "x.prof"], "no program"),
        ("run bad flag", ["run", "-nosuch", "x", "--", "true"],
         "unknown flag"),
    ]
    for label, args, want in cases:
        expect_error(a, label, args, want)


class Handler(http.server.SimpleHTTPRequestHandler):
    seen = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.seen.append(self.path)
        if self.path.startswith("/debug/pprof/profile"):
            self.path = "/go-cpu.prof"
        if self.path.startswith("/fail"):
            body = b"profile: unknown profile nosuch\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("X-Go-Pprof", "1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        return super().do_GET()


def mode_url(a):
    data = a.data

    def handler(*args, **kw):
        return Handler(*args, directory=data, **kw)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    tmp = os.path.join(a.work, "saved")
    os.makedirs(tmp, exist_ok=True)
    env = {"PPROF_TMPDIR": tmp}
    try:
        base = "http://127.0.0.1:%d" % port
        for name in ("go-cpu.prof", "go-heap.prof", "go-heap.txt",
                     "gperf-cpu.prof"):
            _, want, _ = run([a.cprof, "-top", "-symbolize=none",
                              os.path.join(data, name)])
            rc, got, err = run([a.cprof, "-top", "-symbolize=none",
                                base + "/" + name], env=env)
            if rc != 0 or got != want:
                fail("URL %s: differs from the file (rc %d): %s" % (
                    name, rc, err.strip()))
            elif "Saved profile in" not in err:
                fail("URL %s: the fetched profile was not saved: %s" %
                     (name, err))
            else:
                print("ok: URL %s" % name)
        # host:port/path without a scheme, and -seconds
        Handler.seen.clear()
        rc, got, err = run([a.cprof, "-top", "-seconds=3",
                            "127.0.0.1:%d/debug/pprof/profile" % port],
                           env=env)
        if rc != 0 or "Type: cpu" not in got:
            fail("host:port/path source: rc %d %s" % (rc, err.strip()))
        elif not any("seconds=3" in p for p in Handler.seen):
            fail("-seconds=3 not in the request: %s" % Handler.seen)
        else:
            print("ok: host:port/path with -seconds: %s" % Handler.seen)
        saved = [f for f in os.listdir(tmp) if f.endswith(".pb.gz")]
        rc, out, err = run(["go", "tool", "pprof", "-top",
                            os.path.join(tmp, saved[0])]) if saved else (1, "",
                                                                         "")
        if rc != 0:
            fail("saved profile unreadable by go tool pprof: %s" % err)
        expect_error(a, "HTTP 404 with a pprof sentence",
                     ["-top", base + "/fail"], "unknown profile nosuch")
        expect_error(a, "HTTP 404", ["-top", base + "/nosuch.prof"], "404")
    finally:
        srv.shutdown()


def mode_run(a):
    if os.environ.get("CPROF_SANITIZED") in ("1", "ON", "TRUE", "true"):
        print("skip: an ASan libcprof cannot be preloaded into programs")
        sys.exit(77)
    out = os.path.join(a.work, "run-cpu.prof")
    rc, _, err = run([a.cprof, "run", "-cpu", out, "--", a.burn, "20"])
    if rc != 0 or not os.path.exists(out):
        fail("cprof run -cpu: rc %d: %s" % (rc, err))
    else:
        if "CPU profile written to " + out not in err:
            fail("cprof run does not say where the profile went: %r" % err)
        rc, top, err2 = run(["go", "tool", "pprof", "-top", out])
        if rc != 0 or "burn_float" not in top:
            fail("go tool pprof on cprof run's profile: %s %s" % (top, err2))
        else:
            print("ok: cprof run -cpu wrote a profile go tool pprof reads")
    rc, _, err = run([a.cprof, "run", "--", "sh", "-c", "exit 3"])
    if rc != 3:
        fail("cprof run: exit status 3 came back as %d" % rc)
    else:
        print("ok: exit status passes through")
    rc, _, err = run([a.cprof, "run", "--", "sh", "-c", "kill -TERM $$"])
    if rc != -signal.SIGTERM:
        fail("cprof run: SIGTERM came back as %d" % rc)
    else:
        print("ok: the signal passes through")
    rc, _, err = run([a.cprof, "run", "--", "/nonexistent/program"])
    if rc != 127 or "cannot run" not in err:
        fail("cprof run of a missing program: rc %d %r" % (rc, err))
    else:
        print("ok: missing program: 127")
    # children that fork write FILE.PID
    out2 = os.path.join(a.work, "run-fork.prof")
    rc, _, err = run([a.cprof, "run", "-cpu", out2, "--", "sh", "-c",
                      "%s 5; %s 5" % (a.burn, a.burn)])
    if rc != 0:
        fail("cprof run of a forking shell: rc %d %s" % (rc, err))
    elif "of process" not in err:
        fail("cprof run does not list the children's FILE.PID: %r" % err)
    else:
        print("ok: children's profiles listed")
    # CPROF_LIB override
    rc, _, err = run([a.cprof, "run", "--", "true"],
                     env={"CPROF_LIB": "/nonexistent/libcprof.so"})
    if rc == 0 or "CPROF_LIB" not in err:
        fail("CPROF_LIB to a missing file accepted: %d %r" % (rc, err))


RANDOM_FLAGS = [
    "-top", "-top -cum", "-top -nodecount=5", "-top -lines",
    "-top -addresses", "-top -files", "-top -filefunctions",
    "-top -noinlines", "-top -focus=f1", "-top -ignore=f2 -hide=f3",
    "-top -show=f", "-top -tagfocus=thread=1", "-top -tagfocus=phase=a,b",
    "-top -tagignore=a", "-top -tagfocus=bytes=100:3000", "-traces", "-raw",
    "-top -sample_index=0", "-top -show_from=f4", "-top -prune_from=f5",
    "-top -mean", "-top -unit=ms", "-top -nodefraction=0.05",
    "-top -edgefraction=0.2 -nodecount=3", "-top -drop_negative",
    "-top -relative_percentages -focus=f2", "-list=f1", "-top -hide=libx",
    "-top -focus=b.c", "-top -lines -noinlines -cum",
]
RANDOM_BASE_FLAGS = ["-top -base=%s", "-top -diff_base=%s",
                     "-traces -diff_base=%s", "-raw -base=%s"]


def mode_random(a):
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "progs",
                       "cli_rgen", "main.go")
    gen = os.path.join(a.work, "cli_rgen")
    env = {"GOPATH": "/usr/share/gocode", "GO111MODULE": "off", "GOFLAGS": "",
           "GOCACHE": os.path.join(a.work, "gocache")}
    rc, _, err = run(["go", "build", "-o", gen, src], env=env)
    if rc != 0:
        print("skip: cannot build the generator (golang-github-google-pprof-"
              "dev?): %s" % err.strip())
        sys.exit(77)
    first, count = a.seeds
    diffs = 0
    for seed in range(first, first + count):
        p1 = os.path.join(a.work, "r1.prof")
        p2 = os.path.join(a.work, "r2.prof")
        run([gen, "-seed", str(seed), "-o", p1])
        run([gen, "-seed", str(seed + 100000), "-o", p2])
        sets = RANDOM_FLAGS + [f % p2 for f in RANDOM_BASE_FLAGS]
        for fl in sets:
            args = ["-symbolize=none"] + fl.split() + [p1]
            _, c, _ = run([a.cprof] + args, cwd=a.work)
            _, g, _ = run(["go", "tool", "pprof"] + args, cwd=a.work)
            if c != g:
                diffs += 1
                fail("seed %d %s: cprof and go tool pprof differ" % (seed,
                                                                    fl))
    print("ok: %d random profiles x %d flag sets, %d differences" % (
        count, len(RANDOM_FLAGS) + len(RANDOM_BASE_FLAGS), diffs))


def mode_manual(a):
    rc, usage, err = run([a.cprof, "-h"])
    if rc != 0:
        fail("cprof -h: exit %d" % rc)
    flags = set(re.findall(r"(?<![\w-])-([a-z_]+)", usage))
    man = open(a.man).read()
    missing = sorted(f for f in flags if ("\\-" + f) not in man and
                     ("-" + f) not in man)
    if missing:
        fail("flags of cprof -h missing from cprof.1: %s" % missing)
    src = open(a.flags_src).read()
    table = set(re.findall(r'[AF]\("([a-z_]+)"', src))
    undocumented = sorted(table - flags)
    if undocumented:
        fail("flags cprof accepts but -h does not list: %s" % undocumented)
    if ".TH CPROF 1" not in man:
        fail("cprof.1 has no .TH CPROF 1 header")
    print("ok: %d flags in cprof -h, all in cprof.1" % len(flags))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("--cprof", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--gperf")
    ap.add_argument("--burn")
    ap.add_argument("--legacy-src")
    ap.add_argument("--man")
    ap.add_argument("--flags-src")
    ap.add_argument("--seeds", type=int, nargs=2, default=[1, 10],
                    metavar=("FIRST", "COUNT"))
    a = ap.parse_args()
    if a.mode not in ("errors", "manual", "run") and not shutil.which("go"):
        print("skip: go tool pprof (golang-go) is not installed")
        sys.exit(77)
    os.makedirs(a.work, exist_ok=True)
    globals()["mode_" + a.mode](a)
    if FAILS:
        print("%d failure(s)" % len(FAILS))
        sys.exit(1)


if __name__ == "__main__":
    main()
