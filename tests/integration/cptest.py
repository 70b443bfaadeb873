# SPDX-License-Identifier: Apache-2.0
"""cptest.py - what every integration test driver (check_*.py) shares: the
build it tests (CPROF_BUILD, set by ctest), whether that build is
sanitized, and the failure bookkeeping (check/fail/note/skip, exit 77 to
skip). A driver ends with `sys.exit(1 if failures else 0)`."""
import os
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("CPROF_BUILD", "")
# an ASan libcprof cannot be preloaded into uninstrumented programs
SANITIZED = os.environ.get("CPROF_SANITIZED", "0") in ("1", "ON", "TRUE",
                                                      "true")
LIB = os.path.join(BUILD, "src", "libcprof.so")
CPROF = os.path.join(BUILD, "cli", "cprof")
SKIP = 77
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def check(cond, msg):
    """Records msg as a failure unless cond; returns cond."""
    if not cond:
        fail(msg)
    return cond


def note(msg):
    print(msg, flush=True)


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(SKIP)


_pprof = None


def pprof_bin():
    """The pprof binary behind `go tool pprof` (calling it directly saves
    the go command's start-up on every profile); skips without go."""
    global _pprof
    if _pprof is None:
        go = shutil.which("go")
        if not go:
            skip("go is not installed (scripts/deps.sh check installs "
                 "golang-go)")
        r = subprocess.run([go, "tool", "-n", "pprof"], capture_output=True,
                           text=True)
        path = r.stdout.strip()
        _pprof = [path] if r.returncode == 0 and os.path.exists(path) \
            else [go, "tool", "pprof"]
    return _pprof


def pprof(args, timeout=120):
    """go tool pprof ARGS, without cprof preloaded into it."""
    env = dict(os.environ)
    env.setdefault("HOME", tempfile.gettempdir())
    env["PPROF_TMPDIR"] = tempfile.gettempdir()
    env.pop("LD_PRELOAD", None)
    return subprocess.run(pprof_bin() + args, capture_output=True, text=True,
                          timeout=timeout, env=env)
