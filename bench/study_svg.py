#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""study_svg.py - the static pictures of the hash_bench study (hash_study.py),
drawn here so the study needs no FlameGraph download and no browser:

  study_svg.py flame COLLAPSED OUT.svg TITLE
      a flame graph (root at the bottom, width = CPU time) of the
      `cprof -collapsed` output COLLAPSED; hover a box for its name, time
      and share. Children are sorted by name, so the same profile always
      gives the same picture.
  study_svg.py timeline TRACE.dump OUT.svg TITLE
      which thread ran on which CPU, from `cprof trace -dump`: one lane per
      CPU coloured by thread, one lane per thread coloured by the CPU it ran
      on (grey: alive but waiting for a CPU).

Also importable (flame_svg, trace_spans, timeline_svg).
"""
import hashlib
import re
import sys
from xml.sax.saxutils import escape

FONT = "font-family='DejaVu Sans Mono,monospace' font-size='12'"
BIG = "font-family='DejaVu Sans Mono,monospace' font-size='15'"
CHAR_W = 7.3  # px per character of the font above, for truncating labels


def _colour(name, palette="warm"):
    """A stable colour per function name (FlameGraph's warm palette)."""
    h = hashlib.md5(name.encode()).digest()
    if palette == "cold":
        return "rgb(%d,%d,%d)" % (60 + h[0] % 60, 120 + h[1] % 80, 190 + h[2] % 60)
    return "rgb(%d,%d,%d)" % (205 + h[0] % 50, 80 + h[1] % 130, 40 + h[2] % 50)


def _label(text, width):
    n = int((width - 6) / CHAR_W)
    if n < 3:
        return ""
    return text if len(text) <= n else text[: n - 2] + ".."


def parse_collapsed(text):
    """'a;b;c 123' lines -> tree {name: [value, children]} and total."""
    root = [0, {}]
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        stack, _, value = line.rpartition(" ")
        try:
            v = int(value)
        except ValueError:
            continue
        root[0] += v
        node = root
        for frame in stack.split(";"):
            node = node[1].setdefault(frame, [0, {}])
            node[0] += v
    return root


def flame_svg(collapsed_text, title, width=1200, unit="ns"):
    """SVG text of a flame graph of collapsed stacks (values in `unit`)."""
    root = parse_collapsed(collapsed_text)
    total = root[0] or 1
    boxes = []  # (depth, x, w, name, value)

    def walk(node, depth, x):
        for name in sorted(node[1]):
            child = node[1][name]
            w = child[0] / total * (width - 20)
            if w >= 0.5:
                boxes.append((depth, x, w, name, child[0]))
                walk(child, depth + 1, x)
            x += w

    walk(root, 1, 10.0)
    depth = max([b[0] for b in boxes] + [1])
    row = 18
    top = 44
    height = top + (depth + 1) * row + 24
    ms = total / 1e6 if unit == "ns" else total
    out = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
        "viewBox='0 0 %d %d'>" % (width, height, width, height),
        "<rect width='100%%' height='100%%' fill='#fdfdf6'/>",
        "<text x='%d' y='22' text-anchor='middle' %s>%s</text>"
        % (width / 2, BIG, escape(title)),
        "<text x='%d' y='38' text-anchor='middle' %s fill='#555'>"
        "width = CPU time; %.0f ms sampled in all; hover a box for details"
        "</text>" % (width / 2, FONT, ms),
    ]
    base = height - 24  # flame: the root at the bottom

    def box(y, x, w, name, value, fill):
        pct = 100.0 * value / total
        tip = "%s (%.0f ms, %.1f%%)" % (name, value / 1e6 if unit == "ns" else value, pct)
        out.append("<g><title>%s</title><rect x='%.1f' y='%d' width='%.1f' "
                   "height='%d' fill='%s' rx='2'/>" % (escape(tip), x, y, w, row - 1, fill))
        lab = _label(name, w)
        if lab:
            out.append("<text x='%.1f' y='%d' %s>%s</text>" % (x + 3, y + 13, FONT, escape(lab)))
        out.append("</g>")

    box(base - row, 10, width - 20, "all", total, "rgb(200,200,200)")
    for d, x, w, name, value in boxes:
        box(base - (d + 1) * row, x, w, name, value, _colour(name))
    out.append("</svg>")
    return "\n".join(out) + "\n"


DUMP_RE = re.compile(r"^\s*([0-9.]+) us\s+tid (\d+)\s+(\w+)\s*(.*)$")


def trace_spans(dump_text):
    """Which thread ran on which CPU, from `cprof trace -dump`: thread
    names, the (cpu, tid, start_us, dur_us) spans, and the trace's end.

    Rebuilt from the context-switch records (sched_in CPU / sched_out) of
    each thread, plus its first stretch (from thread_start, on the CPU of
    its first cpu event, to its first sched_out) and its last (from the
    last sched_in to thread_exit), which have no record of their own."""
    per = {}
    names = {}
    end = 0.0
    for line in dump_text.splitlines():
        m = DUMP_RE.match(line)
        if not m:
            continue
        ts, tid, kind, rest = float(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
        end = max(end, ts)
        if tid == 0:
            continue
        per.setdefault(tid, []).append((ts, kind, rest.strip()))
        if kind == "thread_name" and rest.strip():
            names[tid] = rest.strip()
    spans = []
    for tid, evs in per.items():
        evs.sort(key=lambda e: e[0])  # per-thread buffers: dump order is not time order
        if not any(k in ("sched_in", "sched_out") for _, k, _ in evs):
            continue  # no context-switch records: nothing exact to draw
        cpu, since, exited = None, None, False
        # running at its first event unless that is a sched_in
        first = next(k for _, k, _ in evs if k not in ("sched_mode",))
        if first != "sched_in":
            since = evs[0][0]
        for ts, kind, rest in evs:
            if kind in ("cpu", "sched_in"):
                try:
                    c = int(rest.split()[0])
                except (ValueError, IndexError):
                    continue
                if kind == "sched_in":
                    since = ts
                elif since is not None and cpu is not None and c != cpu:
                    spans.append((cpu, tid, since, ts - since))
                    since = ts
                cpu = c
            elif kind in ("sched_out", "thread_exit") and since is not None:
                if cpu is not None:
                    spans.append((cpu, tid, since, ts - since))
                since = None
                exited = exited or kind == "thread_exit"
        if since is not None and cpu is not None and not exited:
            spans.append((cpu, tid, since, end - since))
    spans.sort(key=lambda s: (s[2], s[0], s[1]))
    return names, spans, end


def timeline_svg(dump_text, title, threads_only=None, width=1200):
    """SVG of which thread ran on which CPU, from `cprof trace -dump`
    text. threads_only: a predicate on thread names choosing the threads
    to show (all when None)."""
    names, spans, end = trace_spans(dump_text)
    if threads_only:
        spans = [s for s in spans if threads_only(names.get(s[1], ""))]
    if not spans:
        raise ValueError("the trace has no per-CPU scheduling spans")
    cpus = sorted({s[0] for s in spans})
    tids = sorted({s[1] for s in spans}, key=lambda t: (names.get(t, ""), t))
    t0 = min(s[2] for s in spans)
    t1 = max(s[2] + s[3] for s in spans)
    left, right = 130, 20
    scale = (width - left - right) / max(t1 - t0, 1.0)
    lane, gap = 22, 8
    y = 50
    # two palettes, so a thread's colour is never mistaken for a CPU's
    tpal = ["#e15759", "#4e79a7", "#59a14f", "#b07aa1", "#edc948", "#76b7b2",
            "#ff9da7", "#9c755f"]
    cpal = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
            "#a6761d", "#666666"]
    thread_col = {t: tpal[i % len(tpal)] for i, t in enumerate(tids)}
    cpu_col = {c: cpal[i % len(cpal)] for i, c in enumerate(cpus)}
    h = y + (len(cpus) + len(tids)) * (lane + 4) + 3 * gap + 90
    out = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
        "viewBox='0 0 %d %d'>" % (width, h, width, h),
        "<rect width='100%' height='100%' fill='#fdfdf6'/>",
        "<text x='%d' y='22' text-anchor='middle' %s>%s</text>"
        % (width / 2, BIG, escape(title)),
        "<text x='%d' y='38' text-anchor='middle' %s fill='#555'>from cprof "
        "trace -dump: context-switch records (sched_in/sched_out), %.0f ms"
        "</text>" % (width / 2, FONT, (t1 - t0) / 1000),
    ]

    def span_rect(yy, s, fill, tip):
        x = left + (s[2] - t0) * scale
        w = max(s[3] * scale, 0.6)
        out.append("<rect x='%.2f' y='%d' width='%.2f' height='%d' fill='%s'>"
                   "<title>%s</title></rect>" % (x, yy, w, lane, fill, escape(tip)))

    out.append("<text x='10' y='%d' %s font-weight='bold'>CPUs</text>" % (y + 10, FONT))
    y += gap + 6
    for c in cpus:
        out.append("<text x='10' y='%d' %s>CPU %d</text>" % (y + 15, FONT, c))
        out.append("<rect x='%d' y='%d' width='%d' height='%d' fill='#eee'/>"
                   % (left, y, width - left - right, lane))
        for s in spans:
            if s[0] == c:
                span_rect(y, s, thread_col[s[1]], "%s (tid %d) on CPU %d: %.3f ms"
                          % (names.get(s[1], "?"), s[1], c, s[3] / 1000))
        y += lane + 4
    y += gap
    out.append("<text x='10' y='%d' %s font-weight='bold'>threads</text>" % (y + 10, FONT))
    y += gap + 6
    for t in tids:
        mine = [s for s in spans if s[1] == t]
        first, last = mine[0][2], max(s[2] + s[3] for s in mine)
        out.append("<text x='10' y='%d' %s>%s</text>"
                   % (y + 15, FONT, escape((names.get(t) or str(t))[:16])))
        # alive but not running: waiting for a CPU (these threads never block)
        out.append("<rect x='%.2f' y='%d' width='%.2f' height='%d' fill='#ccc'>"
                   "<title>waiting for a CPU</title></rect>"
                   % (left + (first - t0) * scale, y + 6, (last - first) * scale, lane - 12))
        for s in mine:
            span_rect(y, s, cpu_col[s[0]], "%s on CPU %d: %.3f ms"
                      % (names.get(t, "?"), s[0], s[3] / 1000))
        y += lane + 4
    # time axis, in ms from the first span
    span_ms = (t1 - t0) / 1000
    step = next(st for st in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000,
                              5000, 10000) if span_ms / st <= 10)
    out.append("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#888'/>"
               % (left, y, width - right, y))
    ms = 0
    while ms <= span_ms:
        x = left + ms * 1000 * scale
        out.append("<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#888'/>"
                   "<text x='%.1f' y='%d' text-anchor='middle' %s>%d ms</text>"
                   % (x, y, x, y + 5, x, y + 18, FONT, ms))
        ms += step
    y += 26
    # legends
    y += gap + 4
    x = left
    out.append("<text x='10' y='%d' %s>colours</text>" % (y + 12, FONT))
    for t in tids:
        out.append("<rect x='%d' y='%d' width='14' height='14' fill='%s'/>" % (x, y, thread_col[t]))
        lab = names.get(t) or str(t)
        out.append("<text x='%d' y='%d' %s>%s</text>" % (x + 18, y + 12, FONT, escape(lab)))
        x += 26 + int(len(lab) * CHAR_W)
    x += 20
    for c in cpus:
        out.append("<rect x='%d' y='%d' width='14' height='14' fill='%s'/>" % (x, y, cpu_col[c]))
        out.append("<text x='%d' y='%d' %s>CPU %d</text>" % (x + 18, y + 12, FONT, c))
        x += 80
    out.append("<rect x='%d' y='%d' width='14' height='6' fill='#ccc'/>" % (x, y + 4))
    out.append("<text x='%d' y='%d' %s>waiting</text>" % (x + 18, y + 12, FONT))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 5 or argv[1] not in ("flame", "timeline"):
        sys.stderr.write(__doc__)
        return 2
    _, what, src, dst, title = argv
    with open(src) as f:
        if what == "flame":
            svg = flame_svg(f.read(), title)
        else:
            svg = timeline_svg(f.read(), title)
    with open(dst, "w") as f:
        f.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
