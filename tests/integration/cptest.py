# SPDX-License-Identifier: Apache-2.0
"""cptest.py - what every integration test driver (check_*.py) shares: the
build it tests (CPROF_BUILD, set by ctest), whether that build is
sanitized, and the failure bookkeeping (check/fail/note/skip, exit 77 to
skip). A driver ends with `sys.exit(1 if failures else 0)`."""
import os
import sys

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
