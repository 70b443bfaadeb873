// SPDX-License-Identifier: Apache-2.0
//
// flame.js - the flame graph, cprof's default view, drawn on a canvas so
// that profiles with hundreds of thousands of stacks stay fluid.
//
// The server sends the call tree already aggregated (cli/flame.c): frames
// as numbers in preorder, frames narrower than a pixel left out. Clicking
// a frame zooms into it; when the zoomed frame had children left out, its
// subtree is fetched again in full detail (/api/flame?root=PATH). Width is
// the value; colour is stable per library (or file, or package); the
// search highlights matching frames and reports their share of the total.
// The frames drawn are exposed as window.__cprofFrames (name, box, values)
// because a canvas has no DOM text for tests to find.
'use strict';

(() => {
  const C = cprof;
  const ROW = 18; // px per row of frames
  const MIN_PX = 1; // narrower frames are not drawn, nor sent
  const LABEL_PX = 22; // narrower frames carry no text
  const FONT = '12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';
  const HL = '#e040fb'; // search matches

  let main = null; // {key, data}: the whole tree for the current filters
  let sub = null; // {key, f, data}: a subtree fetched for a deep zoom
  // subtrees asked for ahead of a click (hovering a frame whose detail was
  // left out starts its request): dataKey + path -> Promise of data
  const prefetched = new Map();
  let view = null; // {data, root, anc: [frames above the zoom root]}
  let frames = []; // drawn frames, for hit tests and tests
  let rows = []; // rows[r]: frames of row r, by x
  let nrows = 0;
  let charW = 7.2;
  let searchRe = null;
  // what tests and the benchmark read: actionAt is when the last click or
  // search began, doneAt when its drawing ended (performance.now())
  const stats = { draws: 0, lastDrawMs: 0, firstDrawAt: 0, searchShare: null,
    zoom: [], drawn: 0, ready: false, loads: 0, actionAt: 0, doneAt: 0 };
  window.__cprofFlame = stats;
  Object.defineProperty(window, '__cprofFrames', {
    configurable: true,
    get: () => frames.map(exportFrame),
  });

  // ---- data -------------------------------------------------------------

  function parse(resp) {
    const t = resp.tree;
    const S = t.strings, F = t.funcs, N = t.nodes, stride = t.stride;
    const nf = F.length / 5;
    const fn = { name: new Array(nf), file: new Array(nf), line: new Float64Array(nf),
      lib: new Array(nf), label: new Uint8Array(nf) };
    for (let k = 0; k < nf; k++) {
      fn.name[k] = S[F[5 * k]];
      fn.file[k] = S[F[5 * k + 1]];
      fn.line[k] = F[5 * k + 2];
      fn.lib[k] = S[F[5 * k + 3]];
      fn.label[k] = F[5 * k + 4];
    }
    const n = N.length / stride;
    const func = new Int32Array(n), cut = new Uint8Array(n), depth = new Int32Array(n);
    const total = new Float64Array(n), self = new Float64Array(n);
    const diff = stride === 6;
    const btotal = diff ? new Float64Array(n) : null, bself = diff ? new Float64Array(n) : null;
    const parent = new Int32Array(n), end = new Int32Array(n);
    const last = [];
    const open = [];
    let maxDepth = 0;
    for (let i = 0; i < n; i++) {
      const o = i * stride;
      const code = N[o];
      func[i] = code >> 1;
      cut[i] = code & 1;
      const d = N[o + 1];
      depth[i] = d;
      if (d > maxDepth) maxDepth = d;
      total[i] = N[o + 2];
      self[i] = N[o + 3];
      if (diff) {
        btotal[i] = N[o + 4];
        bself[i] = N[o + 5];
      }
      parent[i] = d > 0 ? last[d - 1] : -1;
      last[d] = i;
      while (open.length && depth[open[open.length - 1]] >= d) end[open.pop()] = i;
      open.push(i);
    }
    while (open.length) end[open.pop()] = n;
    const cutBelow = new Uint8Array(n);
    for (let i = n - 1; i > 0; i--) {
      if (cut[i] || cutBelow[i]) cutBelow[parent[i]] = 1;
    }
    return { fn, n, func, cut, cutBelow, depth, total, self, btotal, bself, parent,
      end, maxDepth, diff, minval: t.minval, path: t.path || [],
      all: resp.total, unit: resp.unit, type: resp.type, warnings: resp.warnings,
      nameOf(i) { return func[i] < 0 ? 'root' : fn.name[func[i]]; } };
  }

  // The names from the whole tree's root down to node i (root excluded).
  function pathOf(d, i) {
    const names = [];
    for (let x = i; x >= 0; x = d.parent[x]) if (d.func[x] >= 0) names.push(d.nameOf(x));
    names.reverse();
    const base = d.path.length ? d.path.slice(0, -1) : [];
    return base.concat(names);
  }

  // Node of d reached through names (which start at the whole root), or -1.
  function findNode(d, names) {
    let k = 0, cur = 0;
    if (d.path.length) {
      for (; k < d.path.length; k++) if (names[k] !== d.path[k]) return -1;
    }
    for (; k < names.length; k++) {
      let c = cur + 1, found = -1;
      while (c < d.end[cur]) {
        if (d.nameOf(c) === names[k]) {
          found = c;
          break;
        }
        c = d.end[c];
      }
      if (found < 0) return -1;
      cur = found;
    }
    return cur;
  }

  function encodePath(names) {
    return names.map((s) => s.replace(/\\/g, '\\\\').replace(/;/g, '\\;')).join(';');
  }

  function decodePath(s) {
    if (!s) return [];
    const out = [];
    let cur = '';
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '\\' && i + 1 < s.length) cur += s[++i];
      else if (c === ';') {
        out.push(cur);
        cur = '';
      } else cur += c;
    }
    out.push(cur);
    return out;
  }

  function widths(d) {
    return d.diff && C.get('w') === 'base' ? d.btotal : d.total;
  }

  function weight(d, i) {
    const a = Math.abs(d.total[i]);
    return d.diff ? Math.max(a, Math.abs(d.btotal[i])) : a;
  }

  // Would frames the server left out under node i be visible once i is
  // the full width?
  function needsDetail(d, i) {
    // children of i, or deeper frames, were left out
    if (!d.cut[i] && !d.cutBelow[i]) return false;
    const w = weight(d, i) || 1;
    return (d.minval / w) * canvasWidth() >= MIN_PX;
  }

  function dataKey() {
    const p = C.filterParams({ group: C.get('group') });
    return p.toString() + '#' + (C.st.meta ? C.st.meta.version : 0);
  }

  async function load(extra) {
    // the server leaves out what would be narrower than MIN_PX here
    const p = C.filterParams({ group: C.get('group'),
      minfrac: (MIN_PX / canvasWidth()).toPrecision(2) });
    for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
    stats.loads++;
    const t0 = performance.now();
    const resp = await C.api('flame', p, extra && extra.root ? 'quiet' : undefined);
    const t1 = performance.now();
    const d = parse(resp);
    stats.fetchMs = t1 - t0;
    stats.parseMs = performance.now() - t1;
    stats.nodes = d.n;
    return d;
  }

  // The first tree is asked for as soon as this script runs, beside the
  // page's other first requests (/api/meta): one round trip less before
  // the first drawing. Same parameters as load() and dataKey() make.
  let early = null;
  (function earlyLoad() {
    const seg = location.pathname.replace(/\/+$/, '').split('/').pop();
    if (seg !== 'flamegraph' || new URLSearchParams(location.search).get('f')) return;
    const q = new URLSearchParams(location.search);
    const p = new URLSearchParams();
    for (const k of ['si', 'focus', 'ignore', 'hide', 'show', 'tagfocus', 'tagignore', 'g', 'group']) {
      if (q.get(k)) p.set(k, q.get(k));
    }
    const key = p.toString() + '#0';
    p.set('minfrac', (MIN_PX / canvasWidth()).toPrecision(2));
    const t0 = performance.now();
    const promise = fetch('/api/flame?' + p).then((r) => (r.ok ? r.json() : null)).catch(() => null);
    early = { key, promise, t0 };
  })();

  // ---- layout and drawing ----------------------------------------------

  const canvas = () => C.$('flame');
  function canvasWidth() {
    // the box spans the page; while its view is hidden, use the page's width
    const w = C.$('flame-box').clientWidth || document.documentElement.clientWidth;
    return Math.max(100, w - 20);
  }

  function ancestorsOf(d, root) {
    // the frames above the zoom root, drawn full width: those of d itself,
    // and for a subtree the frames above it (from main when it has them)
    const anc = [];
    const m = main && main.data;
    if (d !== m) {
      anc.push(m ? { d: m, i: 0 } : { name: 'root' });
      const names = d.path.slice(0, -1);
      for (let k = 0; k < names.length; k++) {
        const i = m ? findNode(m, names.slice(0, k + 1)) : -1;
        anc.push(i >= 0 ? { d: m, i } : { name: names[k] });
      }
    }
    const chain = [];
    for (let x = d.parent[root]; x >= 0; x = d.parent[x]) chain.push(x);
    chain.reverse();
    for (const x of chain) anc.push({ d, i: x });
    return anc;
  }

  function layout() {
    const d = view.data, r = view.root;
    const W = canvasWidth();
    const wv = widths(d);
    const rootW = Math.abs(wv[r]) || 1;
    const scale = W / rootW;
    frames = [];
    const A = view.anc.length;
    view.anc.forEach((a, k) => {
      frames.push({ d: a.d, i: a.d ? a.i : -1, name: a.d ? a.d.nameOf(a.i) : a.name,
        x: 0, w: W, row: k, anc: true });
    });
    const cursor = new Float64Array(d.maxDepth + 3);
    const rd = d.depth[r];
    let maxRow = A;
    const end = d.end[r];
    for (let i = r; i < end; i++) {
      const rel = d.depth[i] - rd;
      const w = Math.abs(wv[i]) * scale;
      const x = cursor[rel];
      cursor[rel] = x + w;
      cursor[rel + 1] = x;
      if (w < MIN_PX) {
        i = d.end[i] - 1;
        continue;
      }
      const row = A + rel;
      if (row > maxRow) maxRow = row;
      frames.push({ d, i, name: d.nameOf(i), x, w, row, anc: false });
    }
    nrows = maxRow + 1;
    rows = Array.from({ length: nrows }, () => []);
    for (const f of frames) rows[f.row].push(f);
    for (const r2 of rows) r2.sort((a, b) => a.x - b.x);
  }

  let flameUp = false; // orientation of the current drawing
  function yOf(row) {
    return flameUp ? (nrows - 1 - row) * ROW : row * ROW;
  }

  function funcInfo(f) {
    if (!f.d || f.d.func[f.i] < 0) return { file: '', line: 0, lib: '', label: 0 };
    const k = f.d.func[f.i], fn = f.d.fn;
    return { file: fn.file[k], line: fn.line[k], lib: fn.lib[k], label: fn.label[k] };
  }

  function diffColor(t, b) {
    const m = Math.max(Math.abs(t), Math.abs(b));
    if (!m || t === b) return 'rgb(221,221,221)';
    const r = (t - b) / m; // -1 .. 1
    const a = Math.min(1, Math.abs(r));
    const mix = (from, to) => Math.round(from + (to - from) * (0.25 + 0.75 * a));
    return r > 0
      ? 'rgb(' + mix(225, 225) + ',' + mix(215, 55) + ',' + mix(215, 45) + ')'
      : 'rgb(' + mix(215, 55) + ',' + mix(215, 105) + ',' + mix(225, 225) + ')';
  }

  // Colours by index into a palette, so that grouping frames by colour
  // needs no string work per frame.
  const palette = [];
  const paletteIdx = new Map();
  function colorIndex(c) {
    let k = paletteIdx.get(c);
    if (k === undefined) {
      k = palette.length;
      palette.push(c);
      paletteIdx.set(c, k);
    }
    return k;
  }
  const GREY = colorIndex('#d6d6de'), LABEL = colorIndex('#c9cbd6'), HLI = colorIndex(HL);

  function colorOf(f) {
    if (f.match) return HLI;
    if (!f.d) return GREY;
    const d = f.d, i = f.i;
    const k = d.func[i];
    if (k < 0) return GREY;
    if (d.diff) return colorIndex(diffColor(d.total[i], d.btotal[i]));
    if (!d.colors) d.colors = new Int32Array(d.fn.name.length).fill(-1);
    let c = d.colors[k];
    if (c < 0) {
      c = d.fn.label[k] ? LABEL : colorIndex(C.frameColor(d.fn.name[k], d.fn.file[k], d.fn.lib[k]));
      d.colors[k] = c;
    }
    return c;
  }

  function fit(name, px) {
    const n = Math.floor(px / charW);
    if (n >= name.length) return name;
    if (n < 3) return '';
    return name.slice(0, n - 1) + '…';
  }

  function paint() {
    const cv = canvas();
    const W = canvasWidth();
    const H = Math.max(nrows * ROW, ROW);
    const dpr = window.devicePixelRatio || 1;
    const pw = Math.round(W * dpr), ph = Math.round(H * dpr);
    if (cv.width !== pw || cv.height !== ph) {
      cv.style.width = W + 'px';
      cv.style.height = H + 'px';
      cv.width = pw;
      cv.height = ph;
    }
    const ctx = cv.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    charW = ctx.measureText('MMMMMMMMMM').width / 10 || charW;
    const dim = !!searchRe;
    // grouped by colour (and dimming): one style change per colour, not
    // per frame
    const groups = [];
    for (const f of frames) {
      const ci = colorOf(f);
      f.color = palette[ci];
      const g = ci * 2 + (dim && !f.match && !f.anc ? 1 : 0);
      (groups[g] || (groups[g] = [])).push(f);
    }
    for (let g = 0; g < groups.length; g++) {
      const list = groups[g];
      if (!list) continue;
      ctx.globalAlpha = g & 1 ? 0.55 : 1;
      ctx.fillStyle = palette[g >> 1];
      // whole pixels: sub-pixel rectangles are anti-aliased, ~50x slower
      for (const f of list) {
        const x0 = Math.round(f.x);
        let w = Math.round(f.x + f.w) - x0;
        if (w > 2) w -= 1;
        else if (w < 1) w = 1;
        ctx.fillRect(x0, yOf(f.row), w, ROW - 1);
      }
    }
    ctx.globalAlpha = 1;
    for (const f of frames) {
      if (f.w < LABEL_PX) continue;
      const text = fit(f.name, f.w - 6);
      if (!text) continue;
      ctx.fillStyle = f.match ? '#fff' : '#111';
      ctx.fillText(text, f.x + 3, yOf(f.row) + ROW / 2);
    }
    ctx.globalAlpha = 1;
  }

  function applySearch() {
    const q = C.get('q');
    const inp = C.$('search');
    searchRe = null;
    inp.classList.remove('bad');
    if (q) {
      try {
        searchRe = new RegExp(q);
      } catch (e) {
        inp.classList.add('bad');
        inp.title = e.message;
      }
    }
    const cache = new Map();
    const matches = (d, i) => {
      if (!searchRe || d.func[i] < 0) return false;
      const name = d.nameOf(i);
      let m = cache.get(name);
      if (m === undefined) {
        m = searchRe.test(name);
        cache.set(name, m);
      }
      return m;
    };
    for (const f of frames) f.match = !!(f.d && f.i >= 0 && matches(f.d, f.i));
    const out = C.$('search-result');
    const sh = share && share.q === q ? share.resp : null;
    if (q && share && share.q === q && share.error) {
      inp.classList.add('bad');
      inp.title = share.error;
    }
    if (!q || !sh) {
      stats.searchShare = null;
      out.textContent = q && share && share.q === q && share.error ? share.error : '';
      return;
    }
    // the share is the server's: it holds every frame, the page only those
    // wide enough to draw
    const m = main.data;
    const all = sh.total || sh.tree_total;
    stats.searchShare = all ? sh.matched / Math.abs(all) : 0;
    let text = 'Matched ' + C.pct(sh.matched, all) + ' of total (' + C.fmtValue(sh.matched, m.unit) + ')';
    if (view.root !== 0 || view.data !== m) {
      text += ', ' + C.pct(sh.root_matched, sh.root_total) + ' of the zoomed frame';
    }
    out.textContent = text;
  }

  // The share of the search, from /api/search (cached per filters, search
  // and zoom).
  let share = null; // {key, q, resp | error}
  async function ensureShare() {
    const q = C.get('q');
    if (!q) return;
    const key = dataKey() + '|' + q + '|' + C.get('f');
    if (share && share.key === key) return;
    try {
      new RegExp(q); // eslint-disable-line no-new
    } catch (e) {
      share = { key, q, error: e.message };
      return;
    }
    const p = C.filterParams({ group: C.get('group'), q, root: C.get('f') });
    const inp = C.$('search');
    try {
      share = { key, q, resp: await C.api('search', p, 'quiet') };
    } catch (e) {
      share = { key, q, error: e.status === 400 ? e.message : '' };
      if (e.status === 400) {
        inp.classList.add('bad');
        inp.title = e.message;
      }
    }
  }

  function draw() {
    if (!view || C.$('view-flamegraph').hidden) return;
    const t0 = performance.now();
    flameUp = C.get('o') === 'flame';
    const d = view.data;
    C.$('flame-empty').hidden = !!(d.total[view.root] || (d.diff && d.btotal[view.root]));
    layout();
    const t1 = performance.now();
    applySearch();
    const t2 = performance.now();
    paint();
    const t3 = performance.now();
    breadcrumb();
    stats.phases = [t1 - t0, t2 - t1, t3 - t2, performance.now() - t3];
    stats.lastDrawMs = performance.now() - t0;
    stats.draws++;
    stats.drawn = frames.length;
    stats.zoom = pathOf(view.data, view.root);
    stats.doneAt = performance.now();
    if (!stats.firstDrawAt) stats.firstDrawAt = stats.doneAt;
    stats.ready = true;
  }

  function breadcrumb() {
    const bc = C.$('breadcrumb');
    bc.replaceChildren();
    const names = pathOf(view.data, view.root);
    const link = (label, upto) => C.el('a', { onclick: () => zoomTo(names.slice(0, upto)),
      title: upto ? names.slice(0, upto).join(' > ') : 'the whole profile' }, label);
    bc.append(link('root', 0));
    names.forEach((n, k) => {
      bc.append(C.el('span', { class: 'sep' }, '›'));
      bc.append(link(n.length > 48 ? n.slice(0, 46) + '…' : n, k + 1));
    });
  }

  // ---- interaction -----------------------------------------------------

  function zoomTo(names) {
    C.set({ f: encodePath(names) });
  }

  function frameAt(ev) {
    const cv = canvas();
    const r = cv.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    let row = Math.floor(y / ROW);
    if (flameUp) row = nrows - 1 - row;
    const list = rows[row];
    if (!list) return null;
    let lo = 0, hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = list[mid];
      if (x < f.x) hi = mid - 1;
      else if (x >= f.x + f.w) lo = mid + 1;
      else return f;
    }
    return null;
  }

  function tipLines(f) {
    const info = funcInfo(f);
    const m = main.data;
    const all = m.all || m.total[0];
    const unit = m.unit;
    const lines = [];
    const where = info.file ? info.file + (info.line ? ':' + info.line : '') : '';
    if (where || info.lib) lines.push([where, info.lib && where ? ' (' + info.lib + ')' : info.lib || ''].join(''));
    if (!f.d) return lines;
    const d = f.d, i = f.i;
    if (d.diff) {
      const t = d.total[i], b = d.btotal[i];
      lines.push('new:  ' + C.fmtValue(t, unit) + ' (' + C.pct(t, all) + '), self ' + C.fmtValue(d.self[i], unit));
      lines.push('base: ' + C.fmtValue(b, unit) + ' (' + C.pct(b, all) + '), self ' + C.fmtValue(d.bself[i], unit));
      const ch = t - b;
      lines.push('change: ' + (ch >= 0 ? '+' : '') + C.fmtValue(ch, unit) +
        (b ? ' (' + (ch >= 0 ? '+' : '') + ((ch / Math.abs(b)) * 100).toFixed(1) + '%)' : ' (new)'));
    } else {
      lines.push('total: ' + C.fmtValue(d.total[i], unit) + ' (' + C.pct(d.total[i], all) + ')');
      lines.push('self:  ' + C.fmtValue(d.self[i], unit) + ' (' + C.pct(d.self[i], all) + ')');
      const z = view.data.total[view.root];
      if ((view.root !== 0 || view.data !== m) && !f.anc && z) {
        lines.push(C.pct(d.total[i], z) + ' of the zoomed frame');
      }
    }
    return lines;
  }

  function onMove(ev) {
    const f = frameAt(ev);
    if (!f) {
      C.tooltip(0, 0, null);
      canvas().style.cursor = 'default';
      return;
    }
    canvas().style.cursor = 'pointer';
    if (!f.anc && f.d && needsDetail(f.d, f.i)) prefetch(pathOf(f.d, f.i));
    C.tooltip(ev.clientX, ev.clientY, (t) => {
      t.append(C.el('div', { class: 'name' }, f.name));
      for (const l of tipLines(f)) t.append(C.el('div', null, l));
    });
  }

  function prefetch(names) {
    const fs = encodePath(names);
    const pk = dataKey() + '|' + fs;
    if (prefetched.has(pk)) return;
    if (prefetched.size >= 8) prefetched.delete(prefetched.keys().next().value);
    const pr = load({ root: fs });
    pr.catch(() => prefetched.delete(pk));
    prefetched.set(pk, pr);
  }

  function onClick(ev) {
    const f = frameAt(ev);
    if (!f) return;
    stats.actionAt = performance.now();
    C.tooltip(0, 0, null);
    if (f.anc) {
      // zoom out to this ancestor
      const names = pathOf(view.data, view.root).slice(0, f.row);
      zoomTo(names);
      return;
    }
    const names = pathOf(f.d, f.i);
    if (f.i === view.root && f.d === view.data) {
      zoomTo(names.slice(0, -1)); // the zoomed frame again: one level out
      return;
    }
    zoomTo(names);
  }

  function exportFrame(f) {
    const d = f.d;
    const o = { name: f.name, x: f.x, y: yOf(f.row), w: f.w, h: ROW - 1, row: f.row,
      ancestor: f.anc, match: !!f.match, color: f.color };
    if (d && f.i >= 0) {
      o.total = d.total[f.i];
      o.self = d.self[f.i];
      if (d.diff) {
        o.btotal = d.btotal[f.i];
        o.bself = d.bself[f.i];
      }
      const info = funcInfo(f);
      o.file = info.file;
      o.lib = info.lib;
    }
    return o;
  }

  // ---- the view ----------------------------------------------------------

  let pending = 0;
  async function show(changed) {
    const my = ++pending;
    stats.ready = false;
    const key = dataKey();
    syncToolbar();
    try {
      if (!main || main.key !== key || (changed && changed.has('_reload'))) {
        let data = null;
        if (early && early.key === key && !main) {
          const resp = await early.promise;
          if (resp) {
            stats.loads++;
            stats.fetchMs = performance.now() - early.t0;
            data = parse(resp);
          }
        }
        early = null;
        if (!data) data = await load();
        if (my !== pending) return;
        main = { key, data };
        sub = null;
      }
      C.showWarnings(main.data.warnings);
      C.setLegend(main.data.all, main.data.unit, main.data.type);
      const fs = C.get('f');
      const names = decodePath(fs);
      let data = main.data, root = 0;
      if (names.length) {
        const r = findNode(main.data, names);
        // a subtree already here may hold the frame in enough detail
        const rs = sub && sub.key === key ? findNode(sub.data, names) : -1;
        if (r >= 0 && !needsDetail(main.data, r)) {
          root = r;
        } else if (rs >= 0 && !needsDetail(sub.data, rs)) {
          data = sub.data;
          root = rs;
        } else {
          if (!sub || sub.key !== key || sub.f !== fs) {
            let sd;
            try {
              const pk = key + '|' + fs;
              const pre = prefetched.get(pk);
              prefetched.delete(pk);
              sd = await (pre || load({ root: fs }));
            } catch (e) {
              if (my !== pending) return;
              if (e.status === 404) {
                // a frame the filters removed: show the whole graph
                C.showWarnings(['The frame ' + names.join(' > ') + ' is not in this flame graph.']);
                C.set({ f: '' }, { replace: true });
                return;
              }
              throw e;
            }
            if (my !== pending) return;
            sub = { key, f: fs, data: sd };
          }
          data = sub.data;
        }
      }
      await ensureShare();
      if (my !== pending) return;
      view = { data, root, anc: ancestorsOf(data, root) };
      draw();
    } catch (e) {
      if (my === pending) {
        view = null;
        frames = [];
        stats.ready = true;
        const cv = canvas();
        cv.width = 0;
        cv.height = 0;
        cv.style.height = '0px';
      }
    }
  }

  function syncToolbar() {
    const m = C.st.meta;
    const g = C.$('group');
    if (g.options.length === 1 && m) {
      for (const l of m.labels) g.append(C.el('option', { value: l }, l));
    }
    g.value = C.get('group');
    C.$('search').value = C.get('q');
    C.$('orientation').textContent = C.get('o') === 'flame' ? 'Flame' : 'Icicle';
    const diff = !!(m && m.diff);
    C.$('diff-width-ctl').hidden = !diff;
    C.$('diff-key').hidden = !diff;
    C.$('diff-width').value = C.get('w') === 'base' ? 'base' : 'new';
  }

  function init() {
    const cv = canvas();
    cv.addEventListener('mousemove', onMove);
    cv.addEventListener('mouseleave', () => C.tooltip(0, 0, null));
    cv.addEventListener('click', onClick);
    C.$('flame-reset').addEventListener('click', () => C.set({ f: '', q: '' }));
    C.$('orientation').addEventListener('click', () =>
      C.set({ o: C.get('o') === 'flame' ? '' : 'flame' }));
    C.$('group').addEventListener('change', (ev) => C.set({ group: ev.target.value, f: '' }));
    C.$('diff-width').addEventListener('change', (ev) =>
      C.set({ w: ev.target.value === 'base' ? 'base' : '' }));
    // search as the user types (replacing the history entry), committed on Enter
    let timer = 0;
    const search = C.$('search');
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => C.set({ q: search.value }, { replace: true }), 120);
    });
    search.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        stats.actionAt = performance.now();
        clearTimeout(timer);
        C.set({ q: search.value }, { replace: true });
      }
    });
    document.addEventListener('keydown', (ev) => {
      if (C.st.view !== 'flamegraph' || ev.target.tagName === 'INPUT') return;
      if (ev.key === 'Escape') C.set({ f: '' });
      else if (ev.key === '/') {
        ev.preventDefault();
        search.focus();
      }
    });
    let rt = 0;
    window.addEventListener('resize', () => {
      clearTimeout(rt);
      rt = setTimeout(() => {
        if (view) draw();
      }, 60);
    });
  }

  C.register('flamegraph', {
    show(changed) {
      // only the search, orientation or width changed: redraw, no request
      if (changed && view && ![...changed].some((k) => !['q', 'o', 'w'].includes(k))) {
        syncToolbar();
        const my = ++pending;
        ensureShare().then(() => {
          if (my === pending) draw();
        });
        return;
      }
      show(changed);
    },
    hide() { C.tooltip(0, 0, null); },
  });
  window.addEventListener('DOMContentLoaded', init);
})();
