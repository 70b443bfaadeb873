// SPDX-License-Identifier: Apache-2.0
//
// common.js - what every view of cprof's web UI shares: the state, which
// lives in the page URL (so a link reproduces the view), requests to the
// server's /api/ (JSON the C side computed: the page never sees samples),
// value formatting as go tool pprof prints it, stable colours, the
// tooltip, and switching views without reloading the page.
'use strict';

const cprof = (() => {
  // Settings sent to the server with every request (pprof's URL config).
  const FILTER_KEYS = ['si', 'focus', 'ignore', 'hide', 'show', 'tagfocus',
    'tagignore', 'g'];
  // Everything the URL holds: filters + each view's own settings.
  const VIEWS = ['flamegraph', 'top', 'source', 'peek', 'graph'];

  const st = {
    view: 'flamegraph',
    params: new URLSearchParams(),
    meta: null,
    views: {},
    active: null,
  };

  const $ = (id) => document.getElementById(id);

  function readURL() {
    const seg = location.pathname.replace(/\/+$/, '').split('/').pop();
    st.view = VIEWS.includes(seg) ? seg : 'flamegraph';
    st.params = new URLSearchParams(location.search);
  }

  function get(key) {
    const v = st.params.get(key);
    return v === null ? '' : v;
  }

  function urlFor(view, params) {
    const q = params.toString();
    return '/' + view + (q ? '?' + q : '');
  }

  // Change settings (null or '' removes one) and maybe the view; records
  // the new URL in the history unless replace is set.
  function set(changes, opts) {
    opts = opts || {};
    const p = new URLSearchParams(st.params);
    for (const [k, v] of Object.entries(changes || {})) {
      if (v === null || v === undefined || v === '') p.delete(k);
      else p.set(k, String(v));
    }
    const view = opts.view || st.view;
    const url = urlFor(view, p);
    if (url !== location.pathname + location.search) {
      if (opts.replace) history.replaceState(null, '', url);
      else history.pushState(null, '', url);
    }
    const old = st.params;
    st.params = p;
    const viewChanged = view !== st.view;
    st.view = view;
    render(viewChanged ? null : changedKeys(old, p));
  }

  function changedKeys(a, b) {
    const keys = new Set([...a.keys(), ...b.keys()]);
    const out = new Set();
    for (const k of keys) if (a.get(k) !== b.get(k)) out.add(k);
    return out;
  }

  // The filter part of the state, for /api/ requests.
  function filterParams(extra) {
    const p = new URLSearchParams();
    for (const k of FILTER_KEYS) if (get(k)) p.set(k, get(k));
    for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
    return p;
  }

  function filtersChanged(changed) {
    if (!changed) return true;
    return FILTER_KEYS.some((k) => changed.has(k)) || changed.has('_reload');
  }

  function showError(msg) {
    const e = $('error');
    e.textContent = msg || '';
    e.hidden = !msg;
  }

  function showWarnings(list) {
    const w = $('warning');
    const text = (list || []).join('\n');
    w.textContent = text;
    w.hidden = !text;
  }

  // GET /api/<path>?params as JSON; errors become the red banner (the
  // server answers them with one sentence of text/plain).
  let seq = 0;
  async function api(path, params, kind) {
    const my = ++seq;
    const url = '/api/' + path + (params && params.toString() ? '?' + params : '');
    let r;
    try {
      r = await fetch(url);
    } catch (e) {
      showError('cannot reach the cprof server (' + e.message + '); is it still running?');
      throw e;
    }
    if (!r.ok) {
      const t = (await r.text()).trim();
      const err = new Error(t || r.statusText);
      err.status = r.status;
      if (kind !== 'quiet') showError(t || (r.status + ' ' + r.statusText));
      throw err;
    }
    if (my === seq) showError('');
    return kind === 'text' ? r.text() : r.json();
  }

  // ---- values, as go tool pprof's measurement.ScaledLabel prints them ----
  const TIME = [['ns', 1], ['us', 1e3], ['ms', 1e6], ['s', 1e9],
    ['mins', 60e9], ['hrs', 3600e9]];
  const TIME_IN = { nanoseconds: 1, ns: 1, nanosecond: 1, microseconds: 1e3,
    us: 1e3, milliseconds: 1e6, ms: 1e6, seconds: 1e9, s: 1e9, sec: 1e9,
    minutes: 60e9, hours: 3600e9 };
  const MEM = [['B', 1], ['kB', 1024], ['MB', 1024 ** 2], ['GB', 1024 ** 3],
    ['TB', 1024 ** 4], ['PB', 1024 ** 5]];
  const MEM_IN = { bytes: 1, byte: 1, b: 1, kilobytes: 1024, kb: 1024,
    megabytes: 1024 ** 2, mb: 1024 ** 2, gigabytes: 1024 ** 3, gb: 1024 ** 3 };

  function trim2(x) {
    let s = x.toFixed(2);
    if (s.endsWith('.00')) s = s.slice(0, -3);
    return s;
  }

  function fmtValue(v, unit) {
    const u = (unit || '').toLowerCase();
    const neg = v < 0;
    const a = Math.abs(v);
    let s;
    if (TIME_IN[u]) {
      const ns = a * TIME_IN[u];
      let pick = TIME[0];
      for (const t of TIME) if (ns >= t[1]) pick = t;
      s = ns === 0 ? '0' : trim2(ns / pick[1]) + pick[0];
    } else if (MEM_IN[u]) {
      const b = a * MEM_IN[u];
      let pick = MEM[0];
      for (const t of MEM) if (b >= t[1]) pick = t;
      s = b === 0 ? '0' : trim2(b / pick[1]) + pick[0];
    } else {
      s = Number.isInteger(a) ? String(a) : trim2(a);
      if (u && u !== 'count') s += ' ' + unit;
    }
    return (neg ? '-' : '') + s;
  }

  // pprof's Percentage: "45.67%", "100%", "0%"
  function pct(v, total) {
    if (!total) return '0%';
    const r = (v / Math.abs(total)) * 100;
    if (Math.abs(r) >= 99.995 && Math.abs(r) <= 100.005) return (r < 0 ? '-' : '') + '100%';
    return r.toFixed(2) + '%';
  }

  // ---- colours: stable by key (library, file, package) ----
  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  // The key a frame is coloured by: its source file (one colour per file,
  // the same in every profile), else its library (libc, libstdc++ without
  // debug info), else the package part of its name ("std::",
  // "crypto/sha256.").
  function colorKey(name, file, lib) {
    if (file) return 'file:' + file;
    if (lib) return 'lib:' + lib;
    const m = /^([\w./]+?)(::|\.)[^.:]*$/.exec(name);
    return 'pkg:' + (m ? m[1] : name);
  }

  const colorCache = new Map();
  function frameColor(name, file, lib) {
    const key = colorKey(name, file, lib);
    const ck = key + '\u0000' + name;
    let c = colorCache.get(ck);
    if (c) return c;
    const h = hash(key);
    const hue = h % 360;
    // warm palette first (flame graph tradition), but all hues allowed so
    // libraries stay apart; lightness varies a little by function
    const light = 62 + (hash(name) % 12);
    c = 'hsl(' + hue + ',62%,' + light + '%)';
    colorCache.set(ck, c);
    return c;
  }

  // ---- tooltip ----
  function tooltip(x, y, build) {
    const t = $('tooltip');
    if (!build) {
      t.hidden = true;
      return;
    }
    t.replaceChildren();
    build(t);
    t.hidden = false;
    const pad = 14;
    const r = t.getBoundingClientRect();
    let left = x + pad, top = y + pad;
    if (left + r.width > innerWidth - 4) left = Math.max(4, x - r.width - pad);
    if (top + r.height > innerHeight - 4) top = Math.max(4, y - r.height - pad);
    t.style.left = left + 'px';
    t.style.top = top + 'px';
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) {
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  function escapeRegExp(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }

  // ---- header ----
  function fmtTime(ns) {
    if (!ns) return '';
    const d = new Date(ns / 1e6);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  function sampleTypeName() {
    const m = st.meta;
    if (!m) return '';
    const si = get('si');
    if (si) {
      const i = m.sample_types.findIndex((t) => t.type === si);
      if (i >= 0) return m.sample_types[i].type;
      if (/^\d+$/.test(si) && m.sample_types[+si]) return m.sample_types[+si].type;
    }
    return (m.sample_types[m.default_index] || {}).type || '';
  }

  function setLegend(total, unit, type) {
    const m = st.meta;
    if (!m) return;
    const parts = [];
    if (m.main_file) parts.push('File: ' + m.main_file.split('/').pop());
    parts.push('Type: ' + (type || sampleTypeName()));
    if (m.time_nanos) parts.push('Time: ' + fmtTime(m.time_nanos));
    if (m.duration_nanos) parts.push('Duration: ' + fmtValue(m.duration_nanos, 'nanoseconds'));
    if (total !== undefined) parts.push('Total: ' + fmtValue(total, unit));
    if (m.diff) parts.push('Diff: base subtracted (-diff_base)');
    $('legend').textContent = parts.join('   ');
  }

  function fillHeader() {
    const m = st.meta;
    $('title').textContent = m.title;
    $('title').title = m.title;
    document.title = 'cprof ' + (m.title || '');
    const sel = $('sample-type');
    sel.replaceChildren();
    m.sample_types.forEach((t, i) => {
      sel.append(el('option', { value: t.type }, t.type + (t.unit && t.unit !== 'count' ? ' (' + t.unit + ')' : '')));
      if (i === m.default_index) sel.lastChild.textContent += ' *';
    });
    sel.addEventListener('change', () => {
      const def = m.sample_types[m.default_index].type;
      set({ si: sel.value === def ? '' : sel.value, f: '' });
    });
    $('granularity').addEventListener('change', (ev) => set({ g: ev.target.value, f: '' }));
    if (m.refresh) {
      const b = $('refresh');
      b.hidden = false;
      b.addEventListener('click', refresh);
    }
    const form = $('filters');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const ch = { f: '' };
      for (const inp of form.querySelectorAll('input')) ch[inp.name] = inp.value.trim();
      set(ch);
    });
    $('clear-filters').addEventListener('click', () => {
      set({ focus: '', ignore: '', hide: '', show: '', tagfocus: '', tagignore: '', f: '' });
    });
    for (const a of document.querySelectorAll('#views a')) {
      a.addEventListener('click', (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        set({}, { view: a.dataset.view });
      });
    }
  }

  async function refresh() {
    const b = $('refresh');
    b.disabled = true;
    b.textContent = 'Refreshing…';
    try {
      const r = await fetch('/api/refresh', { method: 'POST' });
      const t = await r.text();
      if (!r.ok) {
        showError(t.trim());
      } else {
        JSON.parse(t);
        st.meta = await api('meta');
        showError('');
        render(new Set(['_reload']));
      }
    } finally {
      b.disabled = false;
      b.textContent = 'Refresh';
    }
  }

  function syncControls() {
    const m = st.meta;
    const si = get('si');
    const sel = $('sample-type');
    sel.value = sampleTypeName();
    if (si && sel.value !== si && !/^\d+$/.test(si)) sel.value = si;
    $('granularity').value = get('g') === 'functions' ? '' : get('g');
    const form = $('filters');
    for (const inp of form.querySelectorAll('input')) inp.value = get(inp.name);
    for (const a of document.querySelectorAll('#views a')) {
      a.classList.toggle('active', a.dataset.view === st.view);
      const p = filterParams();
      a.href = urlFor(a.dataset.view, p);
    }
    $('download').href = '/download';
    void m;
  }

  function render(changed) {
    syncControls();
    for (const name of VIEWS) {
      const sec = $('view-' + name);
      const on = name === st.view;
      if (sec.hidden === on) sec.hidden = !on;
    }
    const v = st.views[st.view];
    if (st.active && st.active !== v && st.active.hide) st.active.hide();
    const fresh = st.active !== v;
    st.active = v;
    tooltip(0, 0, null);
    if (v) v.show(fresh ? null : changed);
  }

  async function start() {
    readURL();
    try {
      st.meta = await api('meta');
    } catch (e) {
      return;
    }
    fillHeader();
    window.addEventListener('popstate', () => {
      const old = st.params;
      const oldView = st.view;
      readURL();
      render(oldView !== st.view ? null : changedKeys(old, st.params));
    });
    render(null);
  }

  return {
    st, $, el, get, set, api, filterParams, filtersChanged, fmtValue, pct,
    frameColor, hash, tooltip, showError, showWarnings, setLegend,
    escapeRegExp, start,
    register(name, view) { st.views[name] = view; },
  };
})();

window.addEventListener('DOMContentLoaded', () => cprof.start());
