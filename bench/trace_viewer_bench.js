// SPDX-License-Identifier: Apache-2.0
//
// trace_viewer_bench.js CPROF_TRACE GO_TRACE RUNS - the trace viewer on a
// 1M-event trace, cprof trace -http against go tool trace, alternated in
// the same headless Chromium (run by bench/trace_viewer.sh):
//   - start: from launching the command to its URL (reading the trace;
//     cprof builds its timeline model after this, go tool trace before);
//   - drawn: from navigation to the first drawn timeline (cprof: the page
//     says its canvas holds the whole view, __cprofTrace.firstReadyAt; go:
//     the catapult viewer has its model and painted two frames);
//   - total: launch to drawn, the wait a user sees;
//   - bytes the page received;
//   - CPU time to the drawn timeline: the server's (utime + stime, with
//     its children) and the page's main thread (Chrome's TaskDuration,
//     of which ScriptDuration is JavaScript), which a loaded machine does
//     not inflate as much as wall time;
//   - cprof only: zoom (W) and pan (D) latency, key press to a complete
//     drawing of the new view (a window fetched when the detail needs it),
//     and the server's CPU time (utime + stime) for the whole session.
// Prints one line per run, then medians and ratios.
'use strict';

const fs = require('fs');
const lib = require('./browser_lib');
const { launch, stop } = lib;

const [cprofTrace, goTrace, runsArg] = process.argv.slice(2);
const runs = +runsArg || 5;
const cprofBin = process.env.CPROF_BIN;
const goBin = process.env.GO_BIN || 'go';
const HZ = 100; // USER_HZ of /proc/PID/stat

const serve = (cmd, args, re) => lib.serve(cmd, args, re, { timeout: 300000, browser: 'true' });

// CPU seconds of a process and its children so far (go tool trace runs
// as a child of the go command).
function cpuOf(pid) {
  let total = 0;
  const walk = (p) => {
    try {
      const f = fs.readFileSync('/proc/' + p + '/stat', 'utf8');
      const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
      total += (+v[11] + +v[12]) / HZ;
      for (const t of fs.readdirSync('/proc/' + p + '/task')) {
        const kids = fs.readFileSync('/proc/' + p + '/task/' + t + '/children', 'utf8').trim();
        for (const k of kids ? kids.split(' ') : []) walk(k);
      }
    } catch (e) { /* gone */ }
  };
  walk(pid);
  return total;
}

// [main-thread task time, JavaScript time] of the page so far, seconds
async function mainThreadSeconds(page) {
  const m = await page.cdp.send('Performance.getMetrics');
  const get = (n) => {
    const v = m.metrics.find((x) => x.name === n);
    return v ? v.value : NaN;
  };
  return [get('TaskDuration'), get('ScriptDuration')];
}

const pageWithBytes = (browser) => lib.pageWithBytes(browser, true);

// The page is open before the command starts, as a user's browser is.
async function runCprof(browser) {
  const page = await pageWithBytes(browser);
  const s = await serve(cprofBin, ['trace', '-http=127.0.0.1:0', '-no_browser', cprofTrace],
    /Serving web UI on (http:\/\/\S+)/);
  await page.goto(s.url + '/');
  await page.waitForFunction(() => window.__cprofTrace && window.__cprofTrace.firstReadyAt > 0, null,
    { timeout: 120000, polling: 'raf' });
  const drawnAt = Date.now();
  const cpuAtDrawn = cpuOf(s.p.pid);
  const st = await page.evaluate(() => window.__cprofTrace);
  const r = { up: s.up, drawn: st.firstReadyAt, total: drawnAt - s.t0, boxes: st.boxes.length,
    cpuDrawn: cpuAtDrawn };
  [r.page, r.script] = await mainThreadSeconds(page);
  // zoom and pan: key press to a complete drawing
  const draws = [st.lastDrawMs];
  const lat = async (key) => {
    const n = await page.evaluate(() => window.__cprofTrace.draws);
    const t0 = await page.evaluate(() => performance.now());
    await page.keyboard.press(key);
    await page.waitForFunction((k) => window.__cprofTrace.draws > k && window.__cprofTrace.ready, n,
      { timeout: 20000, polling: 'raf' });
    const x = await page.evaluate(() => window.__cprofTrace);
    draws.push(x.lastDrawMs);
    return x.doneAt - t0;
  };
  await page.mouse.move(800, 400);
  const zoom = [], pan = [];
  for (let i = 0; i < 12; i++) zoom.push(await lat('w'));
  for (let i = 0; i < 6; i++) pan.push(await lat('d'));
  for (let i = 0; i < 6; i++) zoom.push(await lat('s'));
  r.zoom = med(zoom);
  r.zoomMax = Math.max(...zoom);
  r.pan = med(pan);
  r.panMax = Math.max(...pan);
  r.draw = med(draws);
  r.drawMax = Math.max(...draws);
  await page.waitForTimeout(200);
  r.bytes = page.bytes;
  r.cpu = cpuOf(s.p.pid);
  await page.close();
  await stop(s);
  return r;
}

async function runGo(browser) {
  const page = await pageWithBytes(browser);
  const s = await serve(goBin, ['tool', 'trace', '-http=127.0.0.1:0', goTrace],
    /listening on (http:\/\/\S+)/);
  await page.goto(s.url + '/trace');
  await page.waitForFunction(() => {
    const v = document.getElementById('trace-viewer');
    return v && v.model;
  }, null, { timeout: 300000, polling: 200 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const drawnAt = Date.now();
  const cpuAtDrawn = cpuOf(s.p.pid);
  const drawn = await page.evaluate(() => performance.now());
  const [pageCpu, script] = await mainThreadSeconds(page);
  await page.waitForTimeout(200);
  const r = { up: s.up, drawn, total: drawnAt - s.t0, bytes: page.bytes, cpu: cpuOf(s.p.pid),
    page: pageCpu, script, cpuDrawn: cpuAtDrawn };
  await page.close();
  await stop(s);
  return r;
}

function med(v) {
  const s = v.filter((x) => x !== undefined).slice().sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}
const f0 = (x) => x.toFixed(0);

(async () => {
  const browser = await launch();
  const res = { cprof: [], go: [] };
  for (let i = 0; i < runs; i++) {
    const c = await runCprof(browser);
    res.cprof.push(c);
    console.log('cprof run ' + (i + 1) + ': start ' + f0(c.up) + ' ms, drawn ' + f0(c.drawn) + ' ms after navigation, total ' +
      f0(c.total) + ' ms, ' + c.boxes + ' boxes, ' + (c.bytes / 1024).toFixed(0) + ' KiB, zoom ' + c.zoom.toFixed(1) +
      ' ms (max ' + c.zoomMax.toFixed(1) + '), pan ' + c.pan.toFixed(1) + ' ms (max ' + c.panMax.toFixed(1) +
      '), one drawing ' + c.draw.toFixed(1) + ' ms (max ' + c.drawMax.toFixed(1) + '), CPU to drawn: server ' +
      c.cpuDrawn.toFixed(2) + ' s + page ' + c.page.toFixed(2) + ' s (JavaScript ' + c.script.toFixed(2) +
      ' s); server CPU in all ' + c.cpu.toFixed(2) + ' s');
    if (goTrace) {
      const g = await runGo(browser);
      res.go.push(g);
      console.log('go   run ' + (i + 1) + ': start ' + f0(g.up) + ' ms, drawn ' + f0(g.drawn) + ' ms after navigation, total ' +
        f0(g.total) + ' ms, ' + (g.bytes / 1024).toFixed(0) + ' KiB, CPU to drawn: server ' + g.cpuDrawn.toFixed(2) +
        ' s + page ' + g.page.toFixed(2) + ' s (JavaScript ' + g.script.toFixed(2) + ' s); server CPU in all ' +
        g.cpu.toFixed(2) + ' s');
    }
  }
  await browser.close();
  for (const r of res.cprof.concat(res.go)) r.cpuTotal = r.cpuDrawn + r.page;
  const m = (who, k) => med(res[who].map((r) => r[k]));
  console.log('\nmedians of ' + runs + ' alternated runs:');
  console.log('                                cprof trace -http   go tool trace   ratio (go/cprof)');
  for (const [k, label, unit] of [['up', 'launch to URL', 'ms'], ['drawn', 'navigation to drawn timeline', 'ms'],
    ['total', 'launch to drawn timeline', 'ms'], ['bytes', 'bytes to the page', 'KiB'],
    ['cpuDrawn', 'server CPU to drawn', 's'], ['page', 'page main thread to drawn', 's'],
    ['script', 'page JavaScript to drawn', 's'],
    ['cpuTotal', 'CPU to drawn, both', 's'], ['cpu', 'server CPU, whole session', 's']]) {
    const div = unit === 'KiB' ? 1024 : 1;
    const c = m('cprof', k) / div, g = goTrace ? m('go', k) / div : NaN;
    const fmt = (x) => (unit === 's' ? x.toFixed(2) : x.toFixed(0)) + ' ' + unit;
    console.log(label.padEnd(32) + fmt(c).padStart(17) + (goTrace ? fmt(g).padStart(16) + (g / c).toFixed(1).padStart(12) + 'x' : ''));
  }
  console.log('cprof zoom (W) latency, median ' + m('cprof', 'zoom').toFixed(1) + ' ms, worst ' +
    Math.max(...res.cprof.map((r) => r.zoomMax)).toFixed(1) + ' ms; pan (D) ' + m('cprof', 'pan').toFixed(1) +
    ' ms, worst ' + Math.max(...res.cprof.map((r) => r.panMax)).toFixed(1) + ' ms; one drawing of the canvas ' +
    m('cprof', 'draw').toFixed(1) + ' ms, worst ' + Math.max(...res.cprof.map((r) => r.drawMax)).toFixed(1) + ' ms');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
