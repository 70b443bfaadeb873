// SPDX-License-Identifier: Apache-2.0
//
// graph.js - the call graph (go tool pprof -web): SVG drawn by Graphviz
// dot on the server, shown here with drag to pan and wheel to zoom. When
// dot is not installed the server says how to install it, and so do we.
'use strict';

(() => {
  const C = cprof;
  let key = null;
  let svg = null;
  let vb = null; // [x, y, w, h]
  let orig = null;
  const stats = { nodes: 0, error: null };
  window.__cprofGraph = stats;

  function setVB() {
    svg.setAttribute('viewBox', vb.join(' '));
  }

  async function show(changed) {
    const box = C.$('graph-box');
    const k = C.filterParams().toString() + '#' + C.st.meta.version;
    if (key === k && svg && !(changed && changed.has('_reload'))) return;
    key = k;
    box.replaceChildren(C.el('div', { class: 'msg' }, 'Drawing the call graph…'));
    let text;
    try {
      text = await C.api('graph', C.filterParams(), 'text');
    } catch (e) {
      stats.error = e.message;
      svg = null;
      box.replaceChildren(C.el('div', { class: 'msg' }, e.message));
      return;
    }
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const root = doc.documentElement;
    if (root.nodeName !== 'svg') {
      box.replaceChildren(C.el('div', { class: 'msg' }, 'The server sent no SVG.'));
      return;
    }
    svg = document.importNode(root, true);
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    const v = (svg.getAttribute('viewBox') || '0 0 100 100').split(/[\s,]+/).map(Number);
    orig = v.slice();
    vb = v.slice();
    box.replaceChildren(svg);
    stats.nodes = svg.querySelectorAll('g.node').length;
    stats.error = null;
    // a click on a function opens its callers and callees
    for (const g of svg.querySelectorAll('g.node')) {
      const a = g.querySelector('a');
      const tip = a ? a.getAttribute('xlink:title') || a.getAttribute('title') : null;
      if (!tip) continue;
      const name = tip.replace(/ \([^()]*\)$/, '');
      g.style.cursor = 'pointer';
      g.addEventListener('click', (ev) => {
        ev.preventDefault();
        if (moved) return;
        C.set({ fn: '^' + C.escapeRegExp(name) + '$' }, { view: 'peek' });
      });
    }
  }

  let drag = null;
  let moved = false;
  function init() {
    const box = C.$('graph-box');
    box.addEventListener('mousedown', (ev) => {
      if (!svg) return;
      drag = { x: ev.clientX, y: ev.clientY, vb: vb.slice() };
      moved = false;
      box.style.cursor = 'grabbing';
    });
    window.addEventListener('mousemove', (ev) => {
      if (!drag) return;
      const r = box.getBoundingClientRect();
      const sx = drag.vb[2] / r.width, sy = drag.vb[3] / r.height;
      const s = Math.max(sx, sy);
      if (Math.abs(ev.clientX - drag.x) + Math.abs(ev.clientY - drag.y) > 3) moved = true;
      vb[0] = drag.vb[0] - (ev.clientX - drag.x) * s;
      vb[1] = drag.vb[1] - (ev.clientY - drag.y) * s;
      setVB();
    });
    window.addEventListener('mouseup', () => {
      drag = null;
      box.style.cursor = '';
    });
    box.addEventListener('wheel', (ev) => {
      if (!svg) return;
      ev.preventDefault();
      const r = box.getBoundingClientRect();
      const f = Math.exp(ev.deltaY * 0.0015);
      const s = Math.max(vb[2] / r.width, vb[3] / r.height);
      // keep the point under the mouse in place
      const cx = vb[0] + (ev.clientX - r.left) * s, cy = vb[1] + (ev.clientY - r.top) * s;
      vb = [cx - (cx - vb[0]) * f, cy - (cy - vb[1]) * f, vb[2] * f, vb[3] * f];
      setVB();
    }, { passive: false });
    C.$('graph-fit').addEventListener('click', () => {
      if (!svg) return;
      vb = orig.slice();
      setVB();
    });
  }

  C.register('graph', { show });
  window.addEventListener('DOMContentLoaded', init);
})();
