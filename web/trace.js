// SPDX-License-Identifier: Apache-2.0
//
// trace.js - cprof's execution trace viewer (cprof trace -http), as go tool
// trace's: one lane per thread (scheduling, CPU samples, nested regions,
// blocking calls, log markers), task lanes, counter tracks; zoom and pan
// with the keyboard (W/S, A/D, as chrome://tracing) and the mouse; the
// tables of regions, tasks and threads, whose slowest instances are one
// click from the timeline.
//
// The page never holds the whole trace: it asks the server
// (cli/trace_http.c) for a window of the timeline at its own resolution
// (/api/window?from&to&res, res = the nanoseconds of one pixel), in which
// boxes shorter than a pixel come merged per lane, depth and kind; it asks
// for three screens' width, so panning draws at once, and asks again when
// the view leaves that range or zooms in past its detail. Drawing is one
// pass over the window's boxes on a canvas, in whole pixels, batched by
// colour. What was drawn is exposed as window.__cprofTrace (lanes, boxes
// with their geometry, the view, timings) because a canvas has no DOM
// text for tests to read.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  // ---- constants ----------------------------------------------------------
  const K = { REGION: 1, TASK: 2, BLOCK: 3, RUNNING: 4, RUNNABLE: 5, LOG: 6,
    SAMPLE: 7, MERGED: 8 };
  const KIND_NAME = ['', 'region', 'task', 'blocked', 'running', 'runnable',
    'log', 'CPU sample', 'merged'];
  const BLOCK_KIND = ['other', 'mutex', 'rwlock-read', 'rwlock-write', 'cond',
    'semaphore', 'join', 'sleep', 'syscall'];
  const BLOCK_COLOR = ['#9e9e9e', '#d9534f', '#c9302c', '#c9302c', '#e07a5f',
    '#d9534f', '#b08050', '#7f96b8', '#9a6fc0'];
  const C_RUNNING = '#3cb371', C_RUNNABLE = '#f0ad4e', C_SAMPLE = '#444',
    C_LOG = '#1d1d1f', C_SEL = '#1a3cff', C_TASKHL = '#ff2d95',
    C_RANGE = 'rgba(142,36,170,0.10)';
  const LABEL_W = 200; // gutter with the lane names
  const RIGHT = 8;
  const ROW = 18; // a row of regions
  const SCHED_H = 10, SAMPLE_H = 7, COUNTER_H = 40, PAD = 4, MIN_LANE = 22;
  const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const LANE_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const MIN_SPAN = 20; // ns: the deepest zoom

  // ---- state --------------------------------------------------------------
  const S = {
    meta: null,
    stats: null,
    dur: 1,
    from: 0,
    to: 1, // the visible window, ns since the trace start
    data: null, // the last window answer, indexed (see indexWindow)
    inflight: false,
    lanes: [], // layout
    totalH: 0,
    names: new Map(), // string id -> string
    boxes: [], // drawn boxes, for hit tests and tests
    sel: null, // {index, box, details}
    range: null, // {a, b} ns, measured with Shift+drag
    hl: null, // RegExp: names that stay bright
    task: 0, // task id whose regions are outlined
    hover: null,
    mouse: null, // {x, y} over the timeline canvas
    details: new Map(), // span index -> /api/span answer (or a Promise)
    tab: 'regions',
  };
  // what tests and the benchmark read
  const T = { ready: false, draws: 0, fetches: 0, lastFetchMs: 0,
    lastDrawMs: 0, firstReadyAt: 0, actionAt: 0, doneAt: 0, navigated: null,
    scriptAt: performance.now(), metaAt: 0, windowAt: 0 };
  Object.defineProperty(window, '__cprofTrace', {
    configurable: true,
    get: () => Object.assign({}, T, {
      from: S.from, to: S.to, duration: S.dur,
      res: S.data ? S.data.res : 0,
      lanes: S.lanes.map((l) => ({ name: l.name, tid: l.tid, kind: l.kindName,
        y: l.y - scrollTop(), h: l.h, rows: l.rows })),
      boxes: S.boxes.map(exportBox),
      selected: S.sel ? S.sel.index : null,
      selection: S.sel && S.sel.details && !S.sel.details.then ? S.sel.details : null,
      range: S.range ? { from: S.range.a, to: S.range.b } : null,
      task: S.task || null,
      highlight: S.hl ? S.hl.source : null,
    }),
  });

  // ---- formatting ---------------------------------------------------------
  function fmtDur(ns) {
    const a = Math.abs(ns);
    const sgn = ns < 0 ? '-' : '';
    if (a < 1e3) return sgn + Math.round(a) + 'ns';
    if (a < 1e6) return sgn + trim(a / 1e3) + 'µs';
    if (a < 1e9) return sgn + trim(a / 1e6) + 'ms';
    return sgn + trim(a / 1e9) + 's';
  }
  function trim(x) {
    const s = x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3);
    return s.replace(/\.?0+$/, '');
  }
  // a time on the ruler, in the unit of the view's end, with as many
  // digits as the tick step needs
  function fmtAt(ns, step) {
    const m = Math.max(Math.abs(S.to), step);
    const u = m >= 1e9 ? [1e9, 's'] : m >= 1e6 ? [1e6, 'ms'] : m >= 1e3 ? [1e3, 'µs'] : [1, 'ns'];
    const digits = Math.max(0, Math.min(6, Math.ceil(-Math.log10(step / u[0]) + 1e-9)));
    return (ns / u[0]).toFixed(digits) + u[1];
  }
  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }
  const colorCache = new Map();
  function nameColor(name, task) {
    const key = (task ? 't:' : 'r:') + name;
    let c = colorCache.get(key);
    if (!c) {
      const h = hash(name);
      c = task ? 'hsl(' + (h % 360) + ',35%,78%)'
        : 'hsl(' + (h % 360) + ',58%,' + (64 + (h >>> 9) % 10) + '%)';
      colorCache.set(key, c);
    }
    return c;
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const k of kids) {
      if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }
  function escapeRegExp(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }

  // ---- server -------------------------------------------------------------
  function showError(msg) {
    $('error').textContent = msg || '';
    $('error').hidden = !msg;
  }
  async function api(path) {
    let r;
    try {
      r = await fetch('/api/' + path);
    } catch (e) {
      showError('cannot reach the cprof server (' + e.message + '); is it still running?');
      throw e;
    }
    if (!r.ok) {
      const t = (await r.text()).trim();
      showError(t || r.status + ' ' + r.statusText);
      throw new Error(t);
    }
    return r.json();
  }

  // ---- layout -------------------------------------------------------------
  function layout() {
    let y = 0;
    S.lanes = S.meta.lanes.map((l, i) => {
      const lane = { i, name: l.name, tid: l.tid, kind: l.kind,
        kindName: ['thread', 'task', 'counter'][l.kind] || 'other',
        rows: l.rows, y, h: 0, min: l.min, max: l.max };
      let h = PAD;
      if (l.kind === 0) {
        if (l.sched) {
          lane.schedY = h;
          h += SCHED_H + 2;
        }
        if (l.samples) {
          lane.sampleY = h;
          h += SAMPLE_H + 2;
        }
        if (lane.schedY === undefined) lane.schedY = h;
        if (lane.sampleY === undefined) lane.sampleY = h;
        lane.rowY = h;
        h += l.rows * ROW;
        h = Math.max(MIN_LANE, h + PAD);
      } else if (l.kind === 1) {
        lane.rowY = h;
        h += Math.max(1, l.rows) * ROW + PAD;
      } else {
        lane.rowY = h;
        h = COUNTER_H;
      }
      lane.h = h;
      y += h;
      return lane;
    });
    S.totalH = y;
    $('tl-space').style.height = y + 'px';
  }

  // ---- the view -----------------------------------------------------------
  const cv = $('tl'), ruler = $('ruler'), scroller = $('tl-scroll');
  const scrollTop = () => scroller.scrollTop;
  function plotW() {
    return Math.max(50, cv.clientWidth - LABEL_W - RIGHT);
  }
  const X = (t) => LABEL_W + ((t - S.from) / (S.to - S.from)) * plotW();
  const tAt = (x) => S.from + ((x - LABEL_W) / plotW()) * (S.to - S.from);
  function resNeeded() {
    return Math.max(1, Math.floor((S.to - S.from) / plotW()));
  }

  function clampView(from, to) {
    const D = S.dur;
    let span = Math.min(Math.max(to - from, MIN_SPAN), Math.max(D * 1.1, 1000));
    if (span >= D) {
      from = Math.min(Math.max(from, D - span), 0);
      if (span >= D * 1.1 - 1) from = (D - span) / 2;
    } else {
      from = Math.min(Math.max(from, -span * 0.05), D - span * 0.95);
    }
    return [from, from + span];
  }

  function setView(from, to, opts) {
    [S.from, S.to] = clampView(from, to);
    T.ready = false;
    T.actionAt = performance.now();
    if (!opts || !opts.quiet) saveURL();
    schedule();
  }

  function zoomBy(f, anchor) {
    if (anchor === undefined) anchor = (S.from + S.to) / 2;
    setView(anchor - (anchor - S.from) / f, anchor + (S.to - anchor) / f);
  }
  function panBy(frac) {
    const d = (S.to - S.from) * frac;
    setView(S.from + d, S.to + d);
  }

  // Does the window we hold cover the view at its resolution?
  function needFetch() {
    const d = S.data;
    if (!d) return true;
    const res = resNeeded();
    return S.from < d.covFrom || S.to > d.covTo || d.res > res * 2 || d.res * 4 < res;
  }

  function schedule() {
    if (!S.inflight && needFetch()) fetchWindow();
    draw();
  }

  async function fetchWindow() {
    const span = S.to - S.from;
    const res = resNeeded();
    const a = Math.max(0, Math.floor(S.from - span));
    const b = Math.min(S.dur + 1, Math.ceil(S.to + span));
    S.inflight = true;
    const t0 = performance.now();
    let r;
    try {
      r = await api('window?from=' + a + '&to=' + Math.max(b, a + 1) + '&res=' + res);
    } catch (e) {
      S.inflight = false;
      return;
    }
    // a server that answered coarser than asked (a window too wide for
    // its column cap) is not asked again for the same
    S.data = indexWindow(r, a, b, Math.min(r.res, res));
    S.inflight = false;
    T.fetches++;
    T.lastFetchMs = performance.now() - t0;
    schedule();
  }

  // Spans by lane (the server sends them grouped by lane already), counter
  // points by lane, names remembered across windows.
  function indexWindow(r, a, b, res) {
    for (const [id, s] of Object.entries(r.names || {})) S.names.set(+id, s);
    const byLane = [];
    for (const s of r.spans) (byLane[s[0]] || (byLane[s[0]] = [])).push(s);
    const counters = [];
    for (const c of r.counters) (counters[c[0]] || (counters[c[0]] = [])).push(c);
    return { byLane, counters, res, from: a, to: b,
      covFrom: a <= 0 ? -Infinity : a, covTo: b >= S.dur ? Infinity : b,
      n: r.spans.length };
  }

  // ---- drawing ------------------------------------------------------------
  let pending = false;
  function draw() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(paint);
    }
  }

  function fitCanvas(c, w, h) {
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      c.style.height = h + 'px';
    }
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  function tickStep() {
    const span = S.to - S.from;
    const want = span / Math.max(1, plotW() / 110);
    const p = Math.pow(10, Math.floor(Math.log10(want)));
    for (const m of [1, 2, 5, 10]) if (m * p >= want) return m * p;
    return 10 * p;
  }

  function paintRuler(step) {
    const w = ruler.clientWidth;
    const ctx = fitCanvas(ruler, w, 24);
    ctx.clearRect(0, 0, w, 24);
    ctx.fillStyle = '#fafafa';
    ctx.fillRect(0, 0, w, 24);
    ctx.font = FONT;
    ctx.fillStyle = '#555';
    ctx.fillText('time since the trace start', 8, 15);
    ctx.strokeStyle = '#999';
    ctx.beginPath();
    for (let t = Math.ceil(S.from / step) * step; t <= S.to; t += step) {
      const x = Math.round(X(t)) + 0.5;
      if (x < LABEL_W) continue;
      ctx.moveTo(x, 14);
      ctx.lineTo(x, 24);
      ctx.fillText(fmtAt(t, step), x + 3, 11);
    }
    ctx.stroke();
    // the part of the trace the view shows, as a bar under the ruler
    const pw = plotW();
    const a = LABEL_W + (Math.max(0, S.from) / S.dur) * pw;
    const b = LABEL_W + (Math.min(S.dur, S.to) / S.dur) * pw;
    ctx.fillStyle = 'rgba(40,87,197,0.35)';
    ctx.fillRect(a, 21, Math.max(2, b - a), 3);
  }

  // One box's place on its lane; null when the lane has no such row.
  function place(lane, s) {
    const k = s[9] || s[3];
    const depth = s[4];
    switch (k) {
      case K.RUNNING: return [lane.schedY, SCHED_H];
      case K.RUNNABLE: return [lane.schedY + SCHED_H / 2, SCHED_H / 2];
      case K.SAMPLE: return [lane.sampleY, SAMPLE_H];
      case K.REGION:
      case K.TASK: return [lane.rowY + depth * ROW + 1, ROW - 2];
      case K.BLOCK: return [lane.rowY + depth * ROW + 4, ROW - 8];
      case K.LOG: return s[3] === K.MERGED ? [lane.rowY + depth * ROW, 3] : [lane.rowY + depth * ROW + 1, 9];
      default: return null;
    }
  }

  function boxColor(s, name) {
    const k = s[9] || s[3];
    const merged = s[3] === K.MERGED;
    let c;
    switch (k) {
      case K.RUNNING: c = merged ? '#8fd3a8' : C_RUNNING; break;
      case K.RUNNABLE: c = C_RUNNABLE; break;
      case K.SAMPLE: c = merged ? '#8a8a8a' : C_SAMPLE; break;
      case K.REGION: c = merged ? '#b9bfcf' : nameColor(name, false); break;
      case K.TASK: c = merged ? '#c9cdd8' : nameColor(name, true); break;
      case K.BLOCK: c = merged ? '#e3b1ae' : BLOCK_COLOR[s[7]] || BLOCK_COLOR[0]; break;
      case K.LOG: c = merged ? '#555' : C_LOG; break;
      default: c = '#999';
    }
    if (S.hl && (k === K.REGION || k === K.TASK || k === K.BLOCK) && !S.hl.test(name)) {
      c = fade(c);
    }
    return c;
  }
  const fadeCache = new Map();
  function fade(c) {
    let f = fadeCache.get(c);
    if (!f) {
      const m = /^hsl\((\d+),(\d+)%,(\d+)%\)$/.exec(c);
      f = m ? 'hsla(' + m[1] + ',' + m[2] + '%,' + m[3] + '%,0.22)' : c + '38';
      if (!m && !/^#[0-9a-f]{6}$/i.test(c)) f = 'rgba(180,180,180,0.3)';
      fadeCache.set(c, f);
    }
    return f;
  }

  function paint() {
    pending = false;
    const t0 = performance.now();
    const w = scroller.clientWidth;
    const viewH = Math.max(40, Math.min(scroller.clientHeight, S.totalH || scroller.clientHeight));
    const ctx = fitCanvas(cv, w, viewH);
    ctx.clearRect(0, 0, w, viewH);
    S.boxes = [];
    if (!S.meta) return;
    const step = tickStep();
    paintRuler(step);
    const top = scrollTop();
    const d = S.data;
    // lanes: background, separators, names
    for (const lane of S.lanes) {
      const y = lane.y - top;
      if (y + lane.h < 0 || y > viewH) continue;
      ctx.fillStyle = lane.kind === 0 ? (lane.i % 2 ? '#fbfbfd' : '#fff') : lane.kind === 1 ? '#f7f8fc' : '#fcfbf7';
      ctx.fillRect(0, y, w, lane.h);
      ctx.fillStyle = '#e6e6ea';
      ctx.fillRect(0, y + lane.h - 1, w, 1);
    }
    // grid
    ctx.fillStyle = '#eeeef2';
    for (let t = Math.ceil(S.from / step) * step; t <= S.to; t += step) {
      const x = Math.round(X(t));
      if (x >= LABEL_W) ctx.fillRect(x, 0, 1, viewH);
    }
    // trace bounds
    ctx.fillStyle = '#ececf0';
    const x0 = X(0), x1 = X(S.dur);
    if (x0 > LABEL_W) ctx.fillRect(LABEL_W, 0, x0 - LABEL_W, viewH);
    if (x1 < w - RIGHT) ctx.fillRect(x1, 0, w - RIGHT - x1, viewH);

    const batches = new Map();
    const rect = (c, x, y, bw, bh) => {
      let b = batches.get(c);
      if (!b) batches.set(c, (b = []));
      b.push(x, y, bw, bh);
    };
    const logs = [];
    const labels = [];
    const outlines = [];
    const minX = LABEL_W, maxX = w - RIGHT;
    if (d) {
      for (const lane of S.lanes) {
        const ly = lane.y - top;
        if (ly + lane.h < 0 || ly > viewH) continue;
        if (lane.kind === 2) {
          paintCounter(ctx, lane, ly, d.counters[lane.i] || [], minX, maxX);
          continue;
        }
        const spans = d.byLane[lane.i];
        if (!spans) continue;
        for (const s of spans) {
          const start = s[1], dur = s[2];
          let xa = X(start), xb = X(start + dur);
          if (xb < minX || xa > maxX) continue;
          const pl = place(lane, s);
          if (!pl) continue;
          const k = s[9] || s[3];
          const name = k === K.SAMPLE || k === K.RUNNING || k === K.RUNNABLE ? '' : S.names.get(s[5]) || '';
          const y = ly + pl[0];
          if (k === K.LOG && s[3] !== K.MERGED) {
            const xl = Math.round(xa);
            logs.push(xl, y);
            S.boxes.push({ s, lane, name, x: xl - 4, y, w: 9, h: pl[1] });
            continue;
          }
          xa = Math.max(xa, minX - 1);
          xb = Math.min(xb, maxX + 1);
          const px = Math.floor(xa);
          let pw = Math.max(1, Math.round(xb) - px);
          if (k === K.SAMPLE && s[3] !== K.MERGED) pw = Math.max(pw, 2);
          const c = boxColor(s, name);
          rect(c, px, y, pw > 3 ? pw - 1 : pw, pl[1]);
          const box = { s, lane, name, x: px, y, w: pw, h: pl[1] };
          S.boxes.push(box);
          if (pw > 28 && (k === K.REGION || k === K.TASK || k === K.BLOCK) && pl[1] >= 10) {
            labels.push(box);
          }
          if (S.sel && S.sel.index === s[8] && s[3] !== K.MERGED) outlines.push([box, C_SEL, 2]);
          else if (S.task && k === K.REGION && s[3] !== K.MERGED && s[6] === S.task) outlines.push([box, C_TASKHL, 1.5]);
          else if (S.task && k === K.TASK && s[3] !== K.MERGED && s[6] === S.task) outlines.push([box, C_TASKHL, 1.5]);
        }
      }
    }
    for (const [c, v] of batches) {
      ctx.fillStyle = c;
      ctx.beginPath();
      for (let i = 0; i < v.length; i += 4) ctx.rect(v[i], v[i + 1], v[i + 2], v[i + 3]);
      ctx.fill();
    }
    if (logs.length) {
      ctx.fillStyle = C_LOG;
      ctx.beginPath();
      for (let i = 0; i < logs.length; i += 2) {
        const x = logs[i], y = logs[i + 1];
        ctx.moveTo(x - 4, y);
        ctx.lineTo(x + 4, y);
        ctx.lineTo(x, y + 8);
        ctx.closePath();
      }
      ctx.fill();
    }
    // labels: names inside boxes wide enough, cut to fit
    ctx.font = FONT;
    ctx.fillStyle = '#111';
    ctx.textBaseline = 'middle';
    const cw = 6.1;
    for (const b of labels) {
      const k = b.s[9] || b.s[3];
      let text = b.s[3] === K.MERGED ? b.s[7] + ' ' + (k === K.BLOCK ? 'blocked' : k === K.TASK ? 'tasks' : 'regions')
        : k === K.BLOCK ? b.name + ' ' + fmtDur(b.s[2]) : b.name;
      const vis0 = Math.max(b.x, minX), vis1 = Math.min(b.x + b.w, maxX);
      const fit = Math.floor((vis1 - vis0 - 6) / cw);
      if (fit < 3) continue;
      if (text.length > fit) text = text.slice(0, fit - 1) + '…';
      ctx.fillText(text, vis0 + 3, b.y + b.h / 2 + 0.5);
    }
    ctx.textBaseline = 'alphabetic';
    for (const [b, c, lw] of outlines) {
      ctx.strokeStyle = c;
      ctx.lineWidth = lw;
      ctx.strokeRect(b.x + 0.5, b.y + 0.5, Math.max(1, b.w - 1), b.h - 1);
    }
    ctx.lineWidth = 1;
    // a measured range
    if (S.range) {
      const a = Math.max(minX, X(S.range.a)), b = Math.min(maxX, X(S.range.b));
      if (b > a) {
        ctx.fillStyle = C_RANGE;
        ctx.fillRect(a, 0, b - a, viewH);
        ctx.fillStyle = '#8e24aa';
        ctx.fillRect(Math.round(a), 0, 1, viewH);
        ctx.fillRect(Math.round(b), 0, 1, viewH);
      }
    }
    // the gutter last, over anything that ran into it
    ctx.fillStyle = '#f7f7f9';
    ctx.fillRect(0, 0, LABEL_W, viewH);
    ctx.fillStyle = '#d9d9de';
    ctx.fillRect(LABEL_W - 1, 0, 1, viewH);
    ctx.font = LANE_FONT;
    for (const lane of S.lanes) {
      const y = lane.y - top;
      if (y + lane.h < 0 || y > viewH) continue;
      ctx.fillStyle = '#e6e6ea';
      ctx.fillRect(0, y + lane.h - 1, LABEL_W, 1);
      ctx.fillStyle = lane.kind === 0 ? '#1d1d1f' : '#555';
      let text = lane.name;
      const fit = Math.floor((LABEL_W - 14) / 6.6);
      if (text.length > fit) text = text.slice(0, fit - 1) + '…';
      ctx.fillText(text, 8, y + Math.min(lane.h / 2 + 4, 16));
      if (lane.kind === 2 && lane.max !== undefined) {
        ctx.font = FONT;
        ctx.fillStyle = '#888';
        ctx.fillText('max ' + fmtCounter(lane.name, lane.max), 8, y + 31);
        ctx.font = LANE_FONT;
      }
    }
    T.draws++;
    T.lastDrawMs = performance.now() - t0;
    T.ready = !!d && !S.inflight && !needFetch();
    if (T.ready) {
      T.doneAt = performance.now();
      if (!T.firstReadyAt) T.firstReadyAt = T.doneAt;
    }
    status();
  }

  function fmtCounter(name, v) {
    if (/bytes/.test(name)) {
      const u = ['B', 'kB', 'MB', 'GB', 'TB'];
      let i = 0;
      while (Math.abs(v) >= 1024 && i < u.length - 1) {
        v /= 1024;
        i++;
      }
      return trim(v) + u[i];
    }
    return String(v);
  }

  // A counter as a step line with the area under it.
  function paintCounter(ctx, lane, ly, pts, minX, maxX) {
    if (!pts.length || lane.max === undefined) return;
    const lo = Math.min(0, lane.min), hi = Math.max(lane.max, lo + 1);
    const Y = (v) => ly + COUNTER_H - 4 - ((v - lo) / (hi - lo)) * (COUNTER_H - 10);
    ctx.beginPath();
    let x = Math.max(minX, X(pts[0][1]));
    ctx.moveTo(x, Y(lo));
    for (let i = 0; i < pts.length; i++) {
      const xa = Math.max(minX, Math.min(maxX, X(pts[i][1])));
      const xb = i + 1 < pts.length ? Math.max(minX, Math.min(maxX, X(pts[i + 1][1])))
        : Math.min(maxX, X(S.dur));
      ctx.lineTo(xa, Y(pts[i][2]));
      ctx.lineTo(xb, Y(pts[i][2]));
      x = xb;
    }
    ctx.lineTo(x, Y(lo));
    ctx.closePath();
    ctx.fillStyle = 'rgba(40,87,197,0.18)';
    ctx.fill();
    ctx.strokeStyle = '#2857c5';
    ctx.stroke();
    S.boxes.push({ counter: true, lane, pts, x: minX, y: ly, w: maxX - minX, h: COUNTER_H });
  }

  function status() {
    const d = S.data;
    $('window').textContent = fmtDur(S.from) + ' – ' + fmtDur(S.to) + '  (' + fmtDur(S.to - S.from) + ' shown)';
    $('tl-status').textContent = d ? S.boxes.length + ' boxes · 1 px = ' + fmtDur(resNeeded()) +
      (S.inflight ? ' · loading…' : '') : 'loading…';
    $('range').textContent = S.range ? 'range ' + fmtDur(S.range.b - S.range.a) : '';
  }

  function exportBox(b) {
    if (b.counter) {
      return { lane: b.lane.i, laneName: b.lane.name, kind: 'counter', x: b.x, y: b.y, w: b.w, h: b.h,
        points: b.pts.length };
    }
    const s = b.s;
    const k = s[9] || s[3];
    return { lane: s[0], laneName: b.lane.name, kind: KIND_NAME[k], merged: s[3] === K.MERGED,
      count: s[3] === K.MERGED ? s[7] : 1, name: b.name, start: s[1], dur: s[2], depth: s[4],
      task: k === K.REGION || k === K.TASK ? s[6] : undefined, index: s[8],
      x: b.x, y: b.y, w: b.w, h: b.h };
  }

  // ---- hit tests, tooltip, selection -------------------------------------
  function boxAt(x, y) {
    let best = null;
    for (const b of S.boxes) {
      if (x >= b.x - 1 && x < b.x + b.w + 1 && y >= b.y && y < b.y + b.h) {
        // the narrowest wins: a log or a sample over what it is in
        if (!best || b.w < best.w) best = b;
      }
    }
    return best;
  }

  function details(index) {
    let d = S.details.get(index);
    if (!d) {
      d = api('span?i=' + index).then((r) => {
        S.details.set(index, r);
        return r;
      }, () => {
        S.details.delete(index);
        return null;
      });
      S.details.set(index, d);
    }
    return Promise.resolve(d);
  }

  function tooltip(x, y, build) {
    const t = $('tooltip');
    if (!build) {
      t.hidden = true;
      return;
    }
    t.replaceChildren();
    build(t);
    t.hidden = false;
    const r = t.getBoundingClientRect();
    let left = x + 14, top = y + 14;
    if (left + r.width > innerWidth - 4) left = Math.max(4, x - r.width - 14);
    if (top + r.height > innerHeight - 4) top = Math.max(4, y - r.height - 14);
    t.style.left = left + 'px';
    t.style.top = top + 'px';
  }

  function describe(b, det) {
    const s = b.s;
    const k = s[9] || s[3];
    const lines = [];
    let title = b.name;
    if (s[3] === K.MERGED) {
      title = s[7] + ' ' + KIND_NAME[k] + (k === K.REGION || k === K.TASK ? 's' : '') + ' merged';
      lines.push(['', 'each shorter than a pixel: zoom in (W, or double-click) to see them']);
      lines.push(['from', fmtDur(s[1])], ['to', fmtDur(s[1] + s[2])], ['spanning', fmtDur(s[2])]);
      return { title, lines };
    }
    switch (k) {
      case K.REGION: title = b.name; lines.push(['region', 'depth ' + s[4] + (s[6] ? ', task ' + s[6] : '')]); break;
      case K.TASK: title = b.name; lines.push(['task', String(s[6]) + (s[7] ? ' (not ended in the trace)' : '')]); break;
      case K.BLOCK: title = 'blocked in ' + b.name; lines.push(['kind', BLOCK_KIND[s[7]] || 'other']); break;
      case K.RUNNING: title = 'running'; break;
      case K.RUNNABLE: title = 'runnable (preempted, waiting for a CPU)'; break;
      case K.SAMPLE: title = 'CPU sample'; lines.push(['cpu', String(s[7])]); break;
      case K.LOG: title = 'log [' + b.name + ']'; break;
    }
    lines.push(['thread', b.lane.name]);
    if (k !== K.SAMPLE && k !== K.LOG) lines.push(['duration', fmtDur(s[2])]);
    lines.push(['at', fmtDur(s[1]) + (s[2] ? ' – ' + fmtDur(s[1] + s[2]) : '')]);
    const out = { title, lines };
    if (det) {
      if (det.message !== undefined) lines.unshift(['message', det.message]);
      if (det.stack) out.stack = det.stack;
    }
    return out;
  }

  function showTip(b, cx, cy) {
    if (b.counter) {
      const t = tAt(cx - cv.getBoundingClientRect().left);
      let v = null;
      for (const p of b.pts) if (p[1] <= t) v = p[2];
      tooltip(cx, cy, (e) => {
        e.append(el('div', { class: 'name' }, b.lane.name));
        e.append(el('div', { class: 'dur' }, v === null ? '(no value yet)' : fmtCounter(b.lane.name, v) + ' at ' + fmtDur(t)));
      });
      return;
    }
    const k = b.s[9] || b.s[3];
    const idx = b.s[8];
    const wantsDetails = b.s[3] !== K.MERGED && (k === K.SAMPLE || k === K.BLOCK || k === K.LOG);
    const cached = S.details.get(idx);
    const det = cached && !cached.then ? cached : null;
    const render = (d) => tooltip(cx, cy, (e) => {
      const info = describe(b, d);
      e.append(el('div', { class: 'name' }, info.title));
      for (const [key, val] of info.lines) e.append(el('div', { class: 'dur' }, (key ? key + ': ' : '') + val));
      if (info.stack) {
        const st = el('div', { class: 'stack' });
        const n = Math.min(info.stack.length, 14);
        for (let i = 0; i < n; i++) st.append(el('div', null, info.stack[i]));
        if (info.stack.length > n) st.append(el('div', null, '… ' + (info.stack.length - n) + ' more'));
        if (!info.stack.length) st.append(el('div', null, '(no stack)'));
        e.append(st);
      } else if (wantsDetails && !d) {
        e.append(el('div', { class: 'stack' }, 'loading the stack…'));
      }
    });
    render(det);
    if (wantsDetails && !det) {
      details(idx).then((d) => {
        if (d && S.hover === b) render(d);
      });
    }
  }

  function select(index, box) {
    S.sel = { index, box, details: null };
    S.range = null;
    const k = box ? box.s[9] || box.s[3] : 0;
    S.task = box && k === K.TASK ? box.s[6] : 0;
    saveURL();
    showTab('selection');
    renderSelection();
    draw();
    details(index).then((d) => {
      if (!S.sel || S.sel.index !== index || !d) return;
      S.sel.details = d;
      if (d.kind === K.TASK) S.task = d.task;
      renderSelection();
      draw();
    });
  }

  function clearSelection() {
    S.sel = null;
    S.task = 0;
    S.range = null;
    saveURL();
    renderSelection();
    draw();
  }

  // Regions of one lane in the window we hold that contain or are
  // contained in [a, b] at the given depths: the selection's parents and
  // children.
  function related(laneI, a, b, depth) {
    const spans = (S.data && S.data.byLane[laneI]) || [];
    const parents = [], children = [];
    for (const s of spans) {
      const k = s[9] || s[3];
      if (k !== K.REGION) continue;
      if (s[4] < depth && s[1] <= a && s[1] + s[2] >= b && s[3] !== K.MERGED) parents.push(s);
      else if (s[4] === depth + 1 && s[1] >= a && s[1] + s[2] <= b) children.push(s);
    }
    parents.sort((x, y) => x[4] - y[4]);
    children.sort((x, y) => x[1] - y[1]);
    return { parents, children };
  }

  function renderSelection() {
    const box = $('selection');
    box.replaceChildren();
    if (S.range) {
      const r = S.range;
      box.append(el('h3', null, 'Range ' + fmtDur(r.b - r.a)));
      const t = el('table');
      const row = (k, v) => t.append(el('tr', null, el('td', { class: 'k' }, k), el('td', { class: 'v' }, v)));
      row('from', fmtDur(r.a));
      row('to', fmtDur(r.b));
      row('duration', fmtDur(r.b - r.a));
      box.append(t);
      box.append(el('p', { class: 'muted' }, 'Press F to zoom to this range, Escape to clear it.'));
      return;
    }
    if (!S.sel) {
      box.append(el('p', { class: 'muted' }, 'Click a box on the timeline to see its durations (and its stack, task or message); Shift+drag to measure a range.'));
      return;
    }
    const d = S.sel.details;
    if (!d) {
      box.append(el('p', { class: 'muted' }, 'loading…'));
      return;
    }
    const k = d.kind;
    const title = k === K.BLOCK ? 'blocked in ' + d.name : k === K.SAMPLE ? 'CPU sample'
      : k === K.RUNNING ? 'running' : k === K.RUNNABLE ? 'runnable' : k === K.LOG ? 'log [' + d.name + ']' : d.name;
    box.append(el('h3', null, title));
    const t = el('table');
    const row = (key, v) => t.append(el('tr', null, el('td', { class: 'k' }, key), el('td', { class: 'v' }, v)));
    row('kind', KIND_NAME[k] + (d.block ? ' (' + d.block + ')' : ''));
    row(k === K.TASK ? 'lane' : 'thread', d.lane_name);
    row('start', fmtDur(d.start));
    if (k !== K.LOG && k !== K.SAMPLE) {
      row('end', fmtDur(d.start + d.dur));
      row('duration', fmtDur(d.dur) + '  (' + d.dur + ' ns)');
    }
    if (k === K.REGION) row('depth', String(d.depth));
    if ((k === K.REGION || k === K.TASK) && d.task) {
      const a = el('a', { title: 'select this task' }, String(d.task));
      a.addEventListener('click', () => goToTask(d.task));
      row('task', a);
    }
    if (d.message !== undefined) row('message', d.message);
    box.append(t);
    if (k === K.REGION) {
      const rel = related(d.lane, d.start, d.start + d.dur, d.depth);
      if (rel.parents.length) {
        box.append(el('div', { class: 'muted' }, 'inside:'));
        const ol = el('ol');
        for (const p of rel.parents) ol.append(el('li', null, (S.names.get(p[5]) || '?') + '  ' + fmtDur(p[2])));
        box.append(ol);
      }
      if (rel.children.length) {
        let inChildren = 0;
        for (const c of rel.children) inChildren += c[3] === K.MERGED ? 0 : c[2];
        box.append(el('div', { class: 'muted' }, 'regions inside (' + rel.children.length + '), ' +
          fmtDur(inChildren) + ' of ' + fmtDur(d.dur) + ':'));
        const ol = el('ol');
        for (const c of rel.children.slice(0, 30)) {
          ol.append(el('li', null, c[3] === K.MERGED ? c[7] + ' short regions merged'
            : (S.names.get(c[5]) || '?') + '  ' + fmtDur(c[2])));
        }
        box.append(ol);
      }
    }
    if (d.threads) {
      box.append(el('div', { class: 'muted' }, 'threads this task ran regions on:'));
      const tb = el('table', { class: 'table' });
      tb.append(el('tr', null, el('th', null, 'thread'), el('th', { class: 'num' }, 'regions'),
        el('th', { class: 'num' }, 'first'), el('th', { class: 'num' }, 'last end'),
        el('th', { class: 'num' }, 'in regions')));
      for (const th of d.threads) {
        tb.append(el('tr', null, el('td', null, th.name), el('td', { class: 'num' }, th.regions),
          el('td', { class: 'num' }, fmtDur(th.first)), el('td', { class: 'num' }, fmtDur(th.last)),
          el('td', { class: 'num' }, fmtDur(th.in_regions_ns))));
      }
      box.append(tb);
    }
    if (d.stack) {
      box.append(el('div', { class: 'muted' }, 'stack (innermost first):'));
      const ol = el('ol');
      for (const f of d.stack) ol.append(el('li', null, f));
      if (!d.stack.length) ol.append(el('li', null, '(no stack)'));
      box.append(ol);
    }
  }

  // ---- going to an instance from the tables ------------------------------
  async function goTo(q) {
    let r;
    try {
      r = await api('find?' + q);
    } catch (e) {
      return;
    }
    const pad = Math.max(r.dur * 0.15, 1000);
    setView(r.start - pad, r.start + r.dur + pad);
    const lane = S.lanes[r.lane];
    if (lane) {
      const y = lane.y + (lane.rowY || 0) + r.depth * ROW;
      if (y < scrollTop() || y + ROW > scrollTop() + scroller.clientHeight) {
        scroller.scrollTop = Math.max(0, lane.y - 20);
      }
    }
    T.navigated = r;
    const fake = { s: [r.lane, r.start, r.dur, 0, r.depth, 0, 0, 0, r.index, 0], lane };
    select(r.index, fake);
  }
  const goToTask = (id) => goTo('kind=task&task=' + id);

  // ---- tables -------------------------------------------------------------
  function statsTable(tab, rows, kind) {
    const t = $(tab);
    t.replaceChildren();
    const head = el('tr');
    for (const [h, num] of [[kind === 'region' ? 'Region' : 'Task', false], ['count', true], ['total', true],
      ['min', true], ['median', true], ['p90', true], ['p99', true], ['max', true],
      ['unfinished', true], ['slowest (click to see it on the timeline)', false]]) {
      head.append(el('th', { class: num ? 'num' : null }, h));
    }
    t.append(el('thead', null, head));
    const body = el('tbody');
    for (const r of rows) {
      const tr = el('tr', { 'data-name': r.name });
      const name = el('td', { class: 'name', title: 'highlight every ' + kind + ' named so' }, r.name);
      name.addEventListener('click', () => {
        $('highlight').value = '^' + escapeRegExp(r.name) + '$';
        setHighlight();
      });
      tr.append(name);
      for (const v of [r.count, fmtDur(r.total_ns), fmtDur(r.min_ns), fmtDur(r.median_ns), fmtDur(r.p90_ns),
        fmtDur(r.p99_ns), fmtDur(r.max_ns), r.unfinished]) {
        tr.append(el('td', { class: 'num' }, v));
      }
      const slow = el('td');
      r.slowest.forEach((inst, i) => {
        const a = el('a', { class: 'slow', href: '#', 'data-rank': i, title: 'at ' + fmtDur(inst.start_ns) +
          (inst.tid ? ' on thread ' + inst.tid : '') }, fmtDur(inst.dur_ns));
        a.addEventListener('click', (ev) => {
          ev.preventDefault();
          if (kind === 'region') goTo('kind=region&tid=' + inst.tid + '&start=' + inst.start_ns + '&dur=' + inst.dur_ns);
          else goToTask(inst.task);
        });
        slow.append(a);
      });
      tr.append(slow);
      body.append(tr);
    }
    if (!rows.length) {
      body.append(el('tr', null, el('td', { colspan: 10, class: 'muted' },
        'No ' + kind + 's in this trace (cprof_' + kind + '_begin was never called while it ran).')));
    }
    t.append(body);
  }

  function threadsTable(threads) {
    const t = $('threads-table');
    t.replaceChildren();
    const head = el('tr');
    for (const [h, num] of [['tid', true], ['thread', false], ['running', true], ['runnable', true],
      ['blocked', true], ['sync', true], ['syscall', true], ['sleep', true], ['join', true], ['', false],
      ['samples', true], ['regions', true], ['events', true], ['lost', true], ['scheduling', false]]) {
      head.append(el('th', { class: num ? 'num' : null }, h));
    }
    t.append(el('thead', null, head));
    const body = el('tbody');
    let precise = 0;
    for (const th of threads) {
      if (th.precise) precise++;
      const tr = el('tr', { 'data-tid': th.tid });
      const sum = th.running_ns + th.runnable_ns + th.blocked_ns || 1;
      const bar = el('div', { class: 'tbar', title: 'running / runnable / blocked' },
        el('span', { style: 'width:' + (100 * th.running_ns / sum) + '%;background:' + C_RUNNING }),
        el('span', { style: 'width:' + (100 * th.runnable_ns / sum) + '%;background:' + C_RUNNABLE }),
        el('span', { style: 'width:' + (100 * th.blocked_ns / sum) + '%;background:' + BLOCK_COLOR[1] }));
      const name = el('td', { class: 'name', title: 'show this thread on the timeline' }, th.name);
      name.addEventListener('click', () => {
        const lane = S.lanes.find((l) => l.kind === 0 && l.tid === th.tid);
        if (lane) scroller.scrollTop = lane.y;
      });
      tr.append(el('td', { class: 'num' }, th.tid), name);
      for (const v of [th.running_ns, th.runnable_ns, th.blocked_ns, th.sync_ns, th.syscall_ns, th.sleep_ns, th.join_ns]) {
        tr.append(el('td', { class: 'num' }, fmtDur(v)));
      }
      tr.append(el('td', { class: 'bar' }, bar));
      for (const v of [th.samples, th.regions, th.events, th.lost + th.unreported_lost]) tr.append(el('td', { class: 'num' }, v));
      tr.append(el('td', null, th.precise ? 'precise' : 'estimated'));
      body.append(tr);
    }
    t.append(body);
    $('threads-note').textContent = 'Per thread, as go tool trace\'s goroutine analysis: time on a CPU, waiting for one ' +
      '(runnable), and blocked. ' + (precise === threads.length ? 'Precise: from the kernel\'s context-switch records.'
      : precise ? 'Precise for ' + precise + ' of ' + threads.length + ' threads (context-switch records); the others are estimated from blocking calls and CPU samples.'
        : 'Estimated from blocking calls and CPU samples (the kernel did not allow context-switch records: kernel.perf_event_paranoid > 2).');
  }

  function infoTable() {
    const t = $('info-table');
    t.replaceChildren();
    const add = (k, v) => t.append(el('tr', null, el('td', null, k), el('td', null, v)));
    add('source', S.meta.title);
    add('duration', fmtDur(S.dur));
    if (S.meta.truncated) add('cut short', S.meta.truncated);
    for (const [k, v] of Object.entries(S.meta.info)) add(k, v);
    if (S.stats) {
      add('events', Object.entries(S.stats.events).map(([k, v]) => k + '=' + v).join(' '));
      add('lost events', String(S.stats.lost));
    }
    add('timeline', S.meta.spans + ' spans on ' + S.meta.lanes.length + ' lanes (model built in ' + S.meta.model_ms + ' ms)');
  }

  function showTab(name) {
    S.tab = name;
    for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.tab === name);
    for (const sec of document.querySelectorAll('.tab')) sec.hidden = sec.id !== 'tab-' + name;
    saveURL();
  }

  // ---- highlight ----------------------------------------------------------
  function setHighlight() {
    const inp = $('highlight');
    const v = inp.value.trim();
    try {
      S.hl = v ? new RegExp(v) : null;
      inp.classList.remove('bad');
    } catch (e) {
      inp.classList.add('bad');
      return;
    }
    saveURL();
    draw();
  }

  // ---- URL state ----------------------------------------------------------
  let urlTimer = 0;
  function saveURL() {
    clearTimeout(urlTimer);
    urlTimer = setTimeout(() => {
      const p = new URLSearchParams();
      const whole = Math.round(S.from) === 0 && Math.round(S.to) === Math.round(S.dur);
      if (!whole) {
        p.set('from', String(Math.round(S.from)));
        p.set('to', String(Math.round(S.to)));
      }
      if (S.sel) p.set('sel', String(S.sel.index));
      if (S.tab !== 'regions') p.set('tab', S.tab);
      if (S.hl) p.set('hl', S.hl.source);
      const q = p.toString();
      const url = location.pathname + (q ? '?' + q : '');
      if (url !== location.pathname + location.search) history.replaceState(null, '', url);
    }, 120);
  }

  // ---- input --------------------------------------------------------------
  let drag = null;
  function canvasXY(ev) {
    const r = cv.getBoundingClientRect();
    return { x: ev.clientX - r.left, y: ev.clientY - r.top };
  }

  cv.addEventListener('mousemove', (ev) => {
    const p = canvasXY(ev);
    S.mouse = p;
    if (drag) {
      const dx = p.x - drag.x0;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (drag.measure) {
        const a = tAt(Math.min(drag.x0, p.x)), b = tAt(Math.max(drag.x0, p.x));
        S.range = { a: Math.max(0, a), b: Math.min(S.dur, b) };
        draw();
      } else if (drag.moved) {
        const dt = (dx / plotW()) * (drag.to - drag.from);
        setView(drag.from - dt, drag.to - dt, { quiet: true });
      }
      tooltip(0, 0, null);
      return;
    }
    const b = p.x > LABEL_W ? boxAt(p.x, p.y) : null;
    S.hover = b;
    if (b) showTip(b, ev.clientX, ev.clientY);
    else tooltip(0, 0, null);
  });
  cv.addEventListener('mouseleave', () => {
    S.mouse = null;
    S.hover = null;
    tooltip(0, 0, null);
  });
  cv.addEventListener('mousedown', (ev) => {
    if (ev.button !== 0) return;
    const p = canvasXY(ev);
    if (p.x < LABEL_W) return;
    scroller.focus({ preventScroll: true });
    drag = { x0: p.x, y0: p.y, from: S.from, to: S.to, moved: false, measure: ev.shiftKey };
    if (!ev.shiftKey) cv.classList.add('grab');
    ev.preventDefault();
  });
  window.addEventListener('mouseup', (ev) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    cv.classList.remove('grab');
    if (d.moved) {
      if (d.measure && S.range) {
        S.sel = null;
        showTab('selection');
        renderSelection();
      }
      saveURL();
      return;
    }
    if (ev.detail > 1) return; // the second click of a double-click
    const p = canvasXY(ev);
    let b = boxAt(p.x, p.y);
    // a log or a sample too dense to pick out (another of its kind within
    // a few px) over a merged run: the click is the run's, and zooms
    if (b && b.s && (b.s[3] === K.LOG || b.s[3] === K.SAMPLE)) {
      const run = S.boxes.find((o) => o.s && o.s[3] === K.MERGED &&
        p.x >= o.x - 1 && p.x < o.x + o.w + 1 && p.y >= o.y && p.y < o.y + o.h);
      if (run && S.boxes.some((o) => o !== b && o.s && o.s[3] === b.s[3] &&
          Math.abs(o.x - b.x) < 8 && Math.abs(o.y - b.y) < 1)) b = run;
    }
    if (b && !b.counter && b.s[3] !== K.MERGED) select(b.s[8], b);
    else if (b && b.s && b.s[3] === K.MERGED) zoomToBox(b, tAt(p.x));
    else clearSelection();
  });
  cv.addEventListener('dblclick', (ev) => {
    const p = canvasXY(ev);
    const b = boxAt(p.x, p.y);
    if (b && !b.counter) zoomToBox(b, tAt(p.x));
  });
  // t: the time clicked. A box as wide as most of the view (a thread
  // running regions back to back, merged into one) would not zoom at all:
  // magnify around the click instead.
  function zoomToBox(b, t) {
    const s = b.s;
    const pad = Math.max(s[2] * 0.1, (S.to - S.from) / 200, MIN_SPAN);
    const from = s[1] - pad, to = s[1] + s[2] + pad;
    if (t !== undefined && to - from > 0.5 * (S.to - S.from)) zoomBy(8, t);
    else setView(from, to);
  }
  cv.addEventListener('wheel', (ev) => {
    const p = canvasXY(ev);
    if (ev.ctrlKey || ev.altKey || ev.metaKey) {
      ev.preventDefault();
      const f = Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.002));
      zoomBy(f, p.x > LABEL_W ? tAt(p.x) : undefined);
    } else if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      ev.preventDefault();
      const dx = ev.shiftKey ? ev.deltaY || ev.deltaX : ev.deltaX;
      panBy((dx * (ev.deltaMode === 1 ? 20 : 1)) / plotW());
    }
  }, { passive: false });
  scroller.addEventListener('scroll', () => {
    tooltip(0, 0, null);
    draw();
  });
  window.addEventListener('resize', () => schedule());

  document.addEventListener('keydown', (ev) => {
    const tag = (ev.target && ev.target.tagName) || '';
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || !S.meta) return;
    const anchor = S.mouse && S.mouse.x > LABEL_W ? tAt(S.mouse.x) : undefined;
    switch (ev.key) {
      case 'w': case 'W': case '+': case '=': zoomBy(ev.shiftKey ? 2 : 1.25, anchor); break;
      case 's': case 'S': case '-': case '_': zoomBy(ev.shiftKey ? 0.5 : 0.8, anchor); break;
      case 'a': case 'A': case 'ArrowLeft': panBy(ev.shiftKey ? -0.5 : -0.1); break;
      case 'd': case 'D': case 'ArrowRight': panBy(ev.shiftKey ? 0.5 : 0.1); break;
      case '0': case 'Home': setView(0, S.dur); break;
      case 'f': case 'F':
        if (S.range) setView(S.range.a, S.range.b);
        else if (S.sel && S.sel.details) zoomToBox({ s: [0, S.sel.details.start, S.sel.details.dur] });
        break;
      case 'Escape': clearSelection(); break;
      default: return;
    }
    ev.preventDefault();
  });

  $('reset').addEventListener('click', () => setView(0, S.dur));
  $('zoom-in').addEventListener('click', () => zoomBy(2));
  $('zoom-out').addEventListener('click', () => zoomBy(0.5));
  $('highlight').addEventListener('input', setHighlight);
  for (const a of document.querySelectorAll('#tabs a')) {
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      showTab(a.dataset.tab);
    });
  }

  function legend() {
    const items = [['running', C_RUNNING], ['runnable', C_RUNNABLE], ['CPU sample', C_SAMPLE],
      ['blocked', BLOCK_COLOR[1]], ['sleep', BLOCK_COLOR[7]], ['syscall', BLOCK_COLOR[8]],
      ['merged', '#b9bfcf'], ['log ▼', null]];
    const l = $('legend');
    l.replaceChildren();
    for (const [name, c] of items) {
      l.append(el('span', null, c ? el('i', { style: 'background:' + c }) : null, name));
    }
  }

  // ---- start --------------------------------------------------------------
  async function start() {
    legend();
    const p = new URLSearchParams(location.search);
    S.tab = p.get('tab') || 'regions';
    showTab(S.tab);
    if (p.get('hl')) {
      $('highlight').value = p.get('hl');
      setHighlight();
    }
    // the first window is asked for with the meta data (the whole trace
    // at the canvas' width: the server takes to = the end), so the first
    // drawing needs one round trip
    const px = Math.max(50, (scroller.clientWidth || innerWidth) - LABEL_W - RIGHT);
    const a0 = +p.get('from'), b0 = +p.get('to');
    const zoomed = p.has('from') && p.has('to') && b0 > a0;
    const first = zoomed ? null : api('window?from=0&res=1&px=' + px).catch(() => null);
    const statsP = api('stats').catch(() => null);
    for (const id of ['regions-table', 'tasks-table', 'threads-table']) {
      $(id).replaceChildren(el('tr', null, el('td', { class: 'muted' }, 'computing the tables…')));
    }
    try {
      S.meta = await api('meta');
    } catch (e) {
      return;
    }
    T.metaAt = performance.now();
    S.dur = Math.max(1, S.meta.duration);
    S.from = 0;
    S.to = S.dur;
    $('title').textContent = S.meta.title;
    $('title').title = S.meta.title;
    document.title = 'cprof trace ' + S.meta.title;
    const threads = S.meta.lanes.filter((l) => l.kind === 0).length;
    $('summary').textContent = fmtDur(S.dur) + ', ' + threads + ' thread' + (threads === 1 ? '' : 's');
    if (S.meta.truncated) {
      $('warning').textContent = 'This trace was cut short (' + S.meta.truncated + '): it shows what was recorded up to there.';
      $('warning').hidden = false;
    }
    layout();
    infoTable();
    if (zoomed) {
      [S.from, S.to] = clampView(a0, b0);
    } else {
      const r = await first;
      T.windowAt = performance.now();
      if (r) {
        S.data = indexWindow(r, 0, S.dur + 1, r.res);
        T.fetches++;
      }
    }
    schedule();
    if (p.get('sel')) {
      const i = +p.get('sel');
      details(i).then((d) => {
        if (!d) return;
        select(i, { s: [d.lane, d.start, d.dur, d.kind, d.depth, 0, d.task || 0, 0, i, d.kind], lane: S.lanes[d.lane] });
      });
    }
    const st = await statsP;
    if (!st) {
      for (const id of ['regions-table', 'tasks-table', 'threads-table']) {
        $(id).replaceChildren(el('tr', null, el('td', { class: 'muted' }, 'The tables could not be computed (see the message above).')));
      }
    } else {
      S.stats = st;
      statsTable('regions-table', st.regions, 'region');
      statsTable('tasks-table', st.tasks, 'task');
      threadsTable(st.threads);
      infoTable();
      T.statsReady = true;
    }
  }

  window.addEventListener('DOMContentLoaded', start);
})();
