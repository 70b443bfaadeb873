// SPDX-License-Identifier: Apache-2.0
//
// source.js - two views of one function (fn= in the URL, a regexp as
// go tool pprof's -list and -peek take): the source view, its lines with
// flat and cum values beside the text when the file is readable (pprof's
// weblist); and the peek view, its callers and callees with the weight of
// each call (pprof's -peek).
'use strict';

(() => {
  const C = cprof;
  const stats = { source: null, peek: null };
  window.__cprofSource = stats;

  function fnForm(view) {
    return document.querySelector('form.fn-form[data-view="' + view + '"]');
  }

  function empty(box, text) {
    box.replaceChildren(C.el('div', { class: 'empty' }, text));
  }

  // ---- source ----
  async function showSource() {
    const box = C.$('source-body');
    const fn = C.get('fn');
    fnForm('source').elements.fn.value = fn;
    if (!fn) {
      empty(box, 'Name a function (a regular expression), or pick one in the Top view.');
      stats.source = { funcs: [] };
      return;
    }
    let resp;
    try {
      resp = await C.api('source', C.filterParams({ f: fn }));
    } catch (e) {
      box.replaceChildren();
      stats.source = { error: e.message };
      return;
    }
    C.showWarnings(resp.warnings);
    C.setLegend(resp.total, resp.unit, resp.type);
    box.replaceChildren();
    if (!resp.funcs.length) {
      empty(box, 'No function matching ' + fn + ' has samples.');
    }
    const total = resp.total;
    for (const f of resp.funcs) {
      const sec = C.el('div', { class: 'src-func' });
      sec.append(C.el('h3', null, f.name + '   ' + (f.path || f.file || ''),
        C.el('span', { class: 'muted' }, '   flat ' + C.fmtValue(f.flat, resp.unit) +
          ' (' + C.pct(f.flat, total) + '), cum ' + C.fmtValue(f.cum, resp.unit) + ' (' + C.pct(f.cum, total) + ')')));
      if (f.error) sec.append(C.el('div', { class: 'note' }, f.error));
      const tbl = C.el('table', { class: 'src' });
      for (const [ln, flat, cum, text] of f.lines) {
        if (ln < 0) {
          tbl.append(C.el('tr', { class: 'gap' }, C.el('td', { class: 'ln' }, '…'),
            C.el('td'), C.el('td'), C.el('td', null, '')));
          continue;
        }
        const hot = flat || cum;
        tbl.append(C.el('tr', { class: hot ? 'hot' : null, 'data-line': ln },
          C.el('td', { class: 'ln' }, ln),
          C.el('td', { class: 'num' }, flat ? C.fmtValue(flat, resp.unit) : '.'),
          C.el('td', { class: 'num' }, cum ? C.fmtValue(cum, resp.unit) : '.'),
          C.el('td', null, text === null ? '' : text)));
      }
      sec.append(tbl);
      box.append(sec);
    }
    stats.source = { funcs: resp.funcs.map((f) => ({ name: f.name, path: f.path,
      lines: f.lines.filter((l) => l[0] > 0).map((l) => l[0]),
      hot: f.lines.filter((l) => l[1] || l[2]).map((l) => l[0]) })) };
  }

  // ---- peek ----
  async function showPeek() {
    const box = C.$('peek-body');
    const fn = C.get('fn');
    fnForm('peek').elements.fn.value = fn;
    if (!fn) {
      empty(box, 'Name a function (a regular expression), or pick one in the Top view.');
      stats.peek = { funcs: [] };
      return;
    }
    let resp;
    try {
      resp = await C.api('peek', C.filterParams({ f: fn }));
    } catch (e) {
      box.replaceChildren();
      stats.peek = { error: e.message };
      return;
    }
    C.showWarnings(resp.warnings);
    C.setLegend(resp.total, resp.unit, resp.type);
    box.replaceChildren();
    if (!resp.funcs.length) empty(box, 'No function matching ' + fn + ' has samples.');
    const total = resp.total;
    const unit = resp.unit;
    const go = (name) => C.set({ fn: '^' + C.escapeRegExp(name) + '$' });
    for (const f of resp.funcs) {
      const sec = C.el('div', { class: 'peek-func' });
      sec.append(C.el('h3', null, f.name, C.el('span', { class: 'muted' }, '   ' + (f.file || ''))));
      const tbl = C.el('table', { class: 'table' });
      tbl.append(C.el('thead', null, C.el('tr', null,
        C.el('th', { class: 'num' }, 'value'), C.el('th', { class: 'num' }, '%'),
        C.el('th', null, ''), C.el('th', null, 'function'))));
      const tb = C.el('tbody');
      const edgeRow = (e, kind) => {
        const [name, w, inl] = e;
        const td = C.el('td', { class: 'name', title: 'peek at ' + name }, name + (inl ? ' (inline)' : ''));
        td.addEventListener('click', () => go(name));
        return C.el('tr', { class: kind },
          C.el('td', { class: 'num' }, C.fmtValue(w, unit)),
          C.el('td', { class: 'num' }, C.pct(w, f.cum)),
          C.el('td', { class: 'muted' }, kind === 'caller' ? 'calls it' : 'called'),
          td);
      };
      for (const e of f.callers) tb.append(edgeRow(e, 'caller'));
      tb.append(C.el('tr', { class: 'self' },
        C.el('td', { class: 'num' }, C.fmtValue(f.cum, unit)),
        C.el('td', { class: 'num' }, C.pct(f.cum, total)),
        C.el('td', null, 'flat ' + C.fmtValue(f.flat, unit)),
        C.el('td', { class: 'name' }, f.name)));
      for (const e of f.callees) tb.append(edgeRow(e, 'callee'));
      tbl.append(tb);
      sec.append(tbl);
      box.append(sec);
    }
    stats.peek = { funcs: resp.funcs.map((f) => ({ name: f.name, callers: f.callers.map((e) => e[0]),
      callees: f.callees.map((e) => e[0]) })) };
  }

  function init() {
    for (const view of ['source', 'peek']) {
      const form = fnForm(view);
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        C.set({ fn: form.elements.fn.value.trim() });
      });
    }
  }

  C.register('source', { show: showSource });
  C.register('peek', { show: showPeek });
  window.addEventListener('DOMContentLoaded', init);
})();
