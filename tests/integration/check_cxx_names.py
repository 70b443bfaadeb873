#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check_cxx_names.py - C++ names in a real CPU profile.

Profiles tests/cxx/cxx_names (progs/cxx_names.cc) with CPROF_CPU through
LD_PRELOAD and checks, with go tool pprof -top and cprof -top, that the
hot C++ frames carry the names go tool pprof's default demangling gives
(no parameters, template arguments or return types), that no C++ frame
shows a parameter list, and (go tool pprof -raw) that the mangled names
are kept as system names (for c++filt and other tools).
Exit 0 pass, 1 fail, 77 skip (no go).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("CPROF_BUILD", ".")
SANITIZED = os.environ.get("CPROF_SANITIZED", "0") in ("1", "ON", "TRUE",
                                                         "true")
PROG = os.path.join(BUILD, "tests", "cxx", "cxx_names")
LIB = os.path.join(BUILD, "src", "libcprof.so")
CPROF = os.path.join(BUILD, "cli", "cprof")

# simplified name -> why it must be there
WANT = {
    "std::__introsort_loop": "std::sort's loop over vector<int> iterators",
    "(anonymous namespace)::sort_round": "a function in an anonymous namespace",
    "cxn::Grid::step": "a member of a class template",
    "cxn::Hasher::operator()": "a function call operator",
    "main::{lambda(int)#1}::operator()": "a lambda (clone .constprop)",
}
# at least one of these std::map internals or its comparison operator
MAP_ANY = ("std::_Rb_tree::_M_get_insert_unique_pos",
           "std::_Rb_tree::_M_get_insert_hint_unique_pos",
           "std::_Rb_tree::_M_emplace_hint_unique", "std::map::operator[]",
           "cxn::Key::operator<", "std::_Rb_tree::_M_lower_bound",
           "std::__cxx11::basic_string::compare")

failed = False


def check(ok, msg):
    global failed
    if not ok:
        failed = True
        print("FAIL: " + msg)
    return ok


def run(argv, env=None, timeout=90):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=timeout)
    if r.returncode != 0:
        print("FAIL: %s exited %d\n%s" % (" ".join(argv), r.returncode,
                                          r.stderr.decode()[-2000:]))
        sys.exit(1)
    return r.stdout.decode()


def top_names(text):
    """Function names of a -top listing (the text after the 5 columns)."""
    names = []
    for line in text.splitlines():
        m = re.match(r"\s*\S+\s+\S+%\s+\S+%\s+\S+\s+\S+%\s+(.*)$", line)
        if m:
            # pprof marks inlined frames "name (inline)" or "(partial-inline)"
            names.append(re.sub(r" \((partial-)?inline\)$", "",
                                m.group(1).strip()))
    return names


def cxx_frame(name):
    return "::" in name or name.startswith("operator")


def main():
    go = shutil.which("go")
    if not go:
        print("SKIP: no go tool pprof")
        sys.exit(77)
    d = tempfile.mkdtemp(prefix="cxxnames.")
    prof = os.path.join(d, "cpu.prof")
    env = dict(os.environ, CPROF_CPU=prof, CPROF_CPU_HZ="1000")
    if not SANITIZED:
        env["LD_PRELOAD"] = LIB
    run([PROG, "1.5"], env)
    if not check(os.path.exists(prof), "no profile written at " + prof):
        sys.exit(1)

    pprof = run([go, "tool", "pprof", "-top", "-nodecount=1000", prof])
    ours = run([CPROF, "-top", "-nodecount=1000", prof])
    for tool, text in (("go tool pprof", pprof), ("cprof", ours)):
        names = top_names(text)
        print("%s -top: %d functions, e.g. %s" % (tool, len(names),
                                                  names[:8]))
        for want, why in sorted(WANT.items()):
            check(want in names, "%s -top: %r (%s) missing" %
                  (tool, want, why))
        check(any(m in names for m in MAP_ANY),
              "%s -top: no std::map frame among %s" % (tool, names))
        for n in names:
            if cxx_frame(n):
                # "(anonymous namespace)" and "operator()" are names;
                # anything else in parentheses is a parameter list
                rest = n.replace("(anonymous namespace)", "").replace(
                    "operator()", "")
                rest = re.sub(r"\{lambda\([^)]*\)#\d+\}", "", rest)
                check("(" not in rest and "<" not in rest.replace(
                    "operator<", ""), "%s -top: %r has parameters or "
                      "template arguments" % (tool, n))

    # the mangled names stay as system names: -raw lists them
    raw = run([go, "tool", "pprof", "-raw", prof])
    check("_ZSt16__introsort_loop" in raw,
          "go tool pprof -raw: no mangled std::__introsort_loop system name")
    check("_ZN3cxn4GridIdLi64EE4stepEd" in raw,
          "go tool pprof -raw: no mangled cxn::Grid::step system name")
    # and the full form comes back from them (c++filt, the demangler
    # of go tool pprof -symbolize=demangle=full)
    cxxfilt = shutil.which("c++filt")
    if cxxfilt:
        out = run([cxxfilt, "_ZN3cxn4GridIdLi64EE4stepEd"])
        check(out.strip() == "cxn::Grid<double, 64>::step(double)",
              "c++filt of the system name: %r" % out)
    shutil.rmtree(d, ignore_errors=True)
    print("FAIL" if failed else "PASS")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
