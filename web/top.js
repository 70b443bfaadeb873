// SPDX-License-Identifier: Apache-2.0
//
// top.js - the top table (go tool pprof -top): flat, flat%, sum%, cum,
// cum% and name per function, sortable by flat, cum or name, filtered by a
// regular expression. Clicking a name opens it in the flame graph (search
// highlights its frames); the links beside it open its source or its
// callers and callees.
'use strict';

(() => {
  const C = cprof;
  let data = null; // {key, resp}
  const stats = { rows: 0, order: [] };
  window.__cprofTop = stats;

  function sortKey() {
    const s = C.get('sort');
    return s === 'cum' || s === 'name' ? s : 'flat';
  }

  function render() {
    const resp = data.resp;
    const key = sortKey();
    let re = null;
    const fi = C.$('top-filter');
    fi.classList.remove('bad');
    if (C.get('tf')) {
      try {
        re = new RegExp(C.get('tf'));
      } catch (e) {
        fi.classList.add('bad');
      }
    }
    let rows = resp.rows.map((r) => ({ name: r[0], flat: r[1], cum: r[2], file: r[3], inl: r[4] }));
    if (re) rows = rows.filter((r) => re.test(r.name));
    const abs = Math.abs;
    if (key === 'cum') rows.sort((a, b) => abs(b.cum) - abs(a.cum) || (a.name < b.name ? -1 : 1));
    else if (key === 'name') rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    else rows.sort((a, b) => abs(b.flat) - abs(a.flat) || (a.name < b.name ? -1 : 1));
    const total = resp.total;
    const tb = C.$('top-table').tBodies[0];
    tb.replaceChildren();
    let sum = 0;
    const frag = document.createDocumentFragment();
    const limit = Math.min(rows.length, 2000);
    for (let k = 0; k < limit; k++) {
      const r = rows[k];
      sum += r.flat;
      const fnRe = '^' + C.escapeRegExp(r.name) + '$';
      const name = C.el('td', { class: 'name', title: (r.file || '') + '\nClick: show in the flame graph' },
        r.name + (r.inl ? ' ' + r.inl : ''));
      name.addEventListener('click', () => C.set({ q: fnRe, f: '' }, { view: 'flamegraph' }));
      const links = C.el('td', null,
        C.el('a', { onclick: () => C.set({ fn: fnRe }, { view: 'source' }), title: 'annotated source' }, 'source'),
        C.el('a', { onclick: () => C.set({ fn: fnRe }, { view: 'peek' }), title: 'callers and callees' }, 'peek'));
      frag.append(C.el('tr', null,
        C.el('td', { class: 'num' }, C.fmtValue(r.flat, resp.unit)),
        C.el('td', { class: 'num' }, C.pct(r.flat, total)),
        C.el('td', { class: 'num' }, C.pct(sum, total)),
        C.el('td', { class: 'num' }, C.fmtValue(r.cum, resp.unit)),
        C.el('td', { class: 'num' }, C.pct(r.cum, total)),
        name, links));
    }
    tb.append(frag);
    for (const th of C.$('top-table').tHead.rows[0].cells) {
      th.classList.toggle('sorted', th.dataset.sort === key);
    }
    const more = resp.nodes > resp.rows.length ? ' (the ' + resp.rows.length + ' heaviest of ' + resp.nodes + ')' : '';
    C.$('top-count').textContent = (limit < rows.length ? 'showing ' + limit + ' of ' : '') +
      rows.length + ' functions' + more;
    stats.rows = limit;
    stats.order = rows.slice(0, limit).map((r) => r.name);
  }

  async function show(changed) {
    C.$('top-filter').value = C.get('tf');
    const key = C.filterParams().toString() + '#' + C.st.meta.version;
    if (!data || data.key !== key || (changed && changed.has('_reload'))) {
      try {
        const resp = await C.api('top', C.filterParams());
        data = { key, resp };
      } catch (e) {
        C.$('top-table').tBodies[0].replaceChildren();
        return;
      }
    }
    C.showWarnings(data.resp.warnings);
    C.setLegend(data.resp.total, data.resp.unit, data.resp.type);
    render();
  }

  function init() {
    for (const th of C.$('top-table').tHead.rows[0].cells) {
      if (!th.dataset.sort) continue;
      th.addEventListener('click', () => C.set({ sort: th.dataset.sort === 'flat' ? '' : th.dataset.sort }));
    }
    let t = 0;
    const fi = C.$('top-filter');
    fi.addEventListener('input', () => {
      clearTimeout(t);
      t = setTimeout(() => C.set({ tf: fi.value }, { replace: true }), 150);
    });
  }

  C.register('top', { show });
  window.addEventListener('DOMContentLoaded', init);
})();
