// SPDX-License-Identifier: Apache-2.0
//
// trace_test.js SCENARIO - browser tests of the trace viewer (`cprof trace
// -http`) in headless Chromium (Debian's, driven by playwright-core), run
// by run.sh for the trace-* scenarios. The trace comes from trace_prog.c
// (threads alpha, beta, gamma; tasks "job" and "pipeline"; nested regions
// step > load, work > crunch, pause; a log per job; a mutex and a sleep to
// block in), traced for real. The page exposes what its canvas drew as
// window.__cprofTrace (lanes, boxes with their geometry, the view); the
// tests drive it with real keys, mouse moves, drags and clicks, and check
// it against `cprof trace -summary=json` of the same file. Screenshots go
// to $CPROF_BROWSER_OUT/out/SCENARIO/. Prints "N passed, N failed".
'use strict';

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const lib = require('./lib');
const { ok, servers, finish, newPage } = lib;

const build = process.env.CPROF_BUILD;
const outRoot = process.env.CPROF_BROWSER_OUT || path.join(build || '.', 'tests/browser');
const scenario = process.argv[2];
const outDir = path.join(outRoot, 'out', scenario || 'none');
const cprofBin = path.join(build || '.', 'cli/cprof');
const progBin = path.join(build || '.', 'tests/browser/trace_browser_prog');

const near = (a, b, rel) => Math.abs(a - b) <= Math.abs(b) * rel;

// ---- the traced program and the server ----------------------------------

function makeTrace(name) {
  fs.mkdirSync(outDir, { recursive: true });
  const f = path.join(outDir, name || 'prog.trace');
  // 1000 Hz: enough CPU samples in a 50 ms program to hover one
  const r = spawnSync(progBin, [f], { stdio: 'inherit',
    env: Object.assign({}, process.env, { CPROF_CPU_HZ: '1000' }) });
  if (r.status !== 0) throw new Error('trace_browser_prog failed');
  const s = spawnSync(cprofBin, ['trace', '-summary=json', f], { encoding: 'utf8' });
  if (s.status !== 0) throw new Error('cprof trace -summary=json: ' + s.stderr);
  return { file: f, summary: JSON.parse(s.stdout) };
}

function serve(source, extra) {
  return lib.serve(cprofBin, ['trace', '-http=127.0.0.1:0', '-no_browser', ...(extra || []), source],
    { cwd: outDir, timeout: 30000 });
}

// ---- browser ------------------------------------------------------------

const screenshot = (page, name) => lib.screenshot(page, outDir, name, false);

const state = (page) => page.evaluate(() => window.__cprofTrace);

async function ready(page) {
  await page.waitForFunction(() => window.__cprofTrace && window.__cprofTrace.ready, null, { timeout: 20000 });
  return state(page);
}

// Do something, then wait until the timeline was drawn again, complete.
async function afterDraw(page, action) {
  const n = (await state(page)).draws;
  await action();
  await page.waitForFunction((k) => window.__cprofTrace.draws > k && window.__cprofTrace.ready, n, { timeout: 20000 });
  return state(page);
}

async function canvasBox(page) {
  return page.locator('#tl').boundingBox();
}

// Page coordinates of a point inside a drawn box.
async function at(page, b, fx) {
  const c = await canvasBox(page);
  const x = b.x + Math.max(1, Math.min(b.w - 1, b.w * (fx === undefined ? 0.5 : fx)));
  return { x: c.x + x, y: c.y + b.y + b.h / 2 };
}

async function hover(page, b) {
  const p = await at(page, b);
  await page.mouse.move(p.x - 2, p.y);
  await page.mouse.move(p.x, p.y);
  await page.waitForSelector('#tooltip:not([hidden])', { timeout: 5000 });
  return page.textContent('#tooltip');
}

const regions = (st, name) => st.boxes.filter((b) => b.kind === 'region' && !b.merged && (!name || b.name === name));
const laneOf = (st, prefix) => st.lanes.findIndex((l) => l.name.startsWith(prefix + ' '));
// the page's duration format (trace.js fmtDur)
function fmtDur(ns) {
  const trim = (x) => (x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3)).replace(/\.?0+$/, '');
  if (ns < 1e3) return Math.round(ns) + 'ns';
  if (ns < 1e6) return trim(ns / 1e3) + 'µs';
  if (ns < 1e9) return trim(ns / 1e6) + 'ms';
  return trim(ns / 1e9) + 's';
}

// ---- scenarios ----------------------------------------------------------

const scenarios = {};

// The timeline: lanes, nesting, logs, samples, blocking, counters, tasks;
// hover, selection, W/S/A/D, wheel, drag, Shift+drag; no console errors.
scenarios['trace-timeline'] = async (browser) => {
  const tr = makeTrace();
  const srv = await serve(tr.file);
  const page = await newPage(browser);
  await page.goto(srv.url + '/');
  let st = await ready(page);
  const plot = (await canvasBox(page)).width - 200 - 8;

  // lanes named right: one per thread (name and tid), tasks, counters
  for (const th of tr.summary.threads) {
    const l = st.lanes.find((x) => x.kind === 'thread' && x.tid === th.tid);
    ok(l && l.name === th.name + ' ' + th.tid, 'lane of thread ' + th.tid + ' is named "' + th.name + ' ' + th.tid + '"', l && l.name);
  }
  const names = st.lanes.filter((l) => l.kind === 'thread').map((l) => l.name.split(' ')[0]);
  ok(['alpha', 'beta', 'gamma'].every((n) => names.includes(n)), 'lanes alpha, beta and gamma', names);
  ok(st.lanes.some((l) => l.kind === 'task' && l.name === 'task job') &&
    st.lanes.some((l) => l.kind === 'task' && l.name === 'task pipeline'), 'task lanes "task job" and "task pipeline"',
  st.lanes.map((l) => l.name));
  ok(st.lanes.some((l) => l.kind === 'counter' && l.name === 'heap_inuse_bytes') &&
    st.lanes.some((l) => l.kind === 'counter' && l.name === 'rss_bytes'), 'counter tracks heap_inuse_bytes and rss_bytes');
  ok(st.boxes.some((b) => b.kind === 'counter' && b.points > 0), 'a counter track is drawn');
  ok(near(st.to - st.from, tr.summary.duration_ns, 0.02), 'the first view is the whole trace',
    [st.from, st.to, tr.summary.duration_ns]);

  // every region of the program, nested as it ran: a box at depth d lies
  // inside a box at depth d-1 of its lane
  const rs = regions(st);
  const count = (n) => rs.filter((b) => b.name === n).length;
  ok(['step', 'load', 'work', 'crunch', 'pause'].every((n) => count(n) === 12), 'the whole view draws 12 boxes of each region',
    ['step', 'load', 'work', 'crunch', 'pause'].map(count));
  const depthOf = { step: 0, load: 1, work: 1, crunch: 2, pause: 2 };
  ok(rs.every((b) => b.depth === depthOf[b.name]), 'regions at their nesting depth (step 0, load/work 1, crunch/pause 2)',
    rs.filter((b) => b.depth !== depthOf[b.name]).map((b) => [b.name, b.depth]));
  const parentName = { load: 'step', work: 'step', crunch: 'work', pause: 'work' };
  const orphans = rs.filter((b) => b.depth > 0 && !rs.some((p) => p.lane === b.lane && p.depth === b.depth - 1 &&
    p.name === parentName[b.name] && p.x <= b.x + 0.5 && p.x + p.w >= b.x + b.w - 0.5 && p.y < b.y));
  ok(orphans.length === 0, 'each nested box is contained in its parent\'s box, one row below', orphans.slice(0, 3));
  // the same regions on the right threads: four jobs per thread
  for (const n of ['alpha', 'beta', 'gamma']) {
    const l = laneOf(st, n);
    ok(rs.filter((b) => b.lane === l && b.name === 'step').length === 4, n + ' has 4 "step" regions');
  }
  const logs = st.boxes.filter((b) => b.kind === 'log');
  ok(logs.length === 12 && ['alpha', 'beta', 'gamma'].every((n) => logs.filter((b) => b.lane === laneOf(st, n)).length === 4),
    '12 log markers, 4 per thread', logs.length);
  const blocks = st.boxes.filter((b) => b.kind === 'blocked');
  ok(blocks.some((b) => b.name === 'nanosleep'), 'sleeps drawn as blocking intervals', blocks.map((b) => b.name));
  ok(blocks.some((b) => /mutex/.test(b.name)), 'mutex waits drawn as blocking intervals', blocks.map((b) => b.name));
  const samples = st.boxes.filter((b) => b.kind === 'CPU sample');
  ok(samples.length > 0, 'CPU samples drawn', samples.length);
  const sched = st.boxes.filter((b) => b.kind === 'running');
  ok(sched.length > 0 || !tr.summary.threads.some((t) => t.precise), 'running intervals drawn (precise scheduling)', sched.length);
  ok(page.problems.length === 0, 'no console errors, no missing asset (favicon included)', page.problems);
  const icon = await page.evaluate(() => document.querySelector('link[rel=icon]').href);
  ok(/trace\.svg$/.test(icon), 'the viewer has its own icon', icon);
  await screenshot(page, 'whole');

  // hover: a region's name and duration, a sample's and a wait's stack
  // (beta's 15 ms load is the slowest unless this machine preempted
  // another one for longer: the summary says which)
  const slow = rs.filter((b) => b.name === 'load').sort((a, b) => b.dur - a.dur)[0];
  const want = tr.summary.regions.find((r) => r.name === 'load').slowest[0];
  const wantThread = tr.summary.threads.find((t) => t.tid === want.tid).name;
  let tip = await hover(page, slow);
  ok(tip.includes('load') && tip.includes('duration: ' + fmtDur(slow.dur)) && tip.includes(wantThread),
    'hovering the slowest load shows its name, duration (' + fmtDur(slow.dur) + ') and thread', tip);
  ok(slow.dur === want.dur_ns && st.lanes[slow.lane].tid === want.tid && slow.dur > 14e6,
    'the widest load box is the summary\'s slowest (beta\'s 15 ms one, or longer)', [slow.dur, slow.laneName, want]);
  await screenshot(page, 'tooltip-region');
  // samples are 2 px wide; most are in burn_cpu (a few land in a sleep's
  // system call): hover some until one shows burn_cpu
  const sampleTip = async (smp) => {
    const p = await at(page, smp);
    await page.mouse.move(p.x, p.y - 1);
    await page.mouse.move(p.x, p.y);
    await page.waitForFunction(() => /\(|no stack/.test(document.getElementById('tooltip').textContent) &&
      !/loading the stack/.test(document.getElementById('tooltip').textContent), null, { timeout: 5000 }).catch(() => {});
    return page.textContent('#tooltip');
  };
  const tips = [];
  const workers = ['alpha', 'beta', 'gamma'].map((n) => laneOf(st, n));
  for (const smp of samples.filter((b) => !b.merged && workers.includes(b.lane)).slice(0, 8)) {
    tip = await sampleTip(smp);
    tips.push(tip);
    if (/burn_cpu/.test(tip)) break;
  }
  // (a sample in ld.so's lazy-binding trampoline, which realigns the stack
  // through RBX, ends at start_thread: rare, so some tip must reach worker)
  ok(tips.length && tips.every((t) => /CPU sample/.test(t)) && tips.some((t) => /worker \(/.test(t)),
    'hovering a worker\'s CPU sample shows its stack', tips);
  ok(tips.some((t) => /burn_cpu/.test(t)), 'where the program burns its CPU (burn_cpu)', tips);
  await screenshot(page, 'tooltip-sample');
  const sleep = blocks.find((b) => b.name === 'nanosleep' && b.w > 3);
  if (sleep) {
    await hover(page, (await state(page)).boxes.find((b) => b.index === sleep.index) || sleep);
    await page.waitForFunction(() => /worker/.test(document.getElementById('tooltip').textContent), null, { timeout: 5000 }).catch(() => {});
    tip = await page.textContent('#tooltip');
    ok(/blocked in nanosleep/.test(tip) && /sleep/.test(tip) && /worker/.test(tip), 'hovering a sleep shows the call, its kind and stack', tip);
  }

  // selecting a span shows its durations
  const step = rs.find((b) => b.name === 'step' && b.lane === laneOf(st, 'gamma'));
  const p0 = await at(page, step, 0.02);
  await page.mouse.click(p0.x, p0.y);
  await page.waitForFunction(() => window.__cprofTrace.selection, null, { timeout: 5000 });
  st = await state(page);
  ok(st.selected === step.index && st.selection.dur === step.dur, 'a click selects the box', [st.selected, step.index]);
  let sel = await page.textContent('#selection');
  ok(sel.includes('step') && sel.includes('duration') && sel.includes(step.dur + ' ns') && sel.includes('gamma'),
    'the selection panel shows the region\'s duration and thread', sel);
  ok(/regions inside \(2\)/.test(sel) && sel.includes('load') && sel.includes('work'), 'and the regions inside it (load, work)', sel);
  await screenshot(page, 'selection');

  // a task: its box spans its threads' regions; selecting it outlines them
  const job = st.boxes.find((b) => b.kind === 'task' && !b.merged && b.name === 'job');
  const pj = await at(page, job, 0.5);
  await page.mouse.click(pj.x, pj.y);
  await page.waitForFunction((i) => window.__cprofTrace.selection && window.__cprofTrace.selection.index === i, job.index, { timeout: 5000 });
  st = await state(page);
  sel = await page.textContent('#selection');
  ok(st.task === job.task && st.selection.threads && st.selection.threads.length === 1 && st.selection.threads[0].regions === 5,
    'selecting a job task: its 5 regions on one thread', st.selection);
  const pipe = st.boxes.find((b) => b.kind === 'task' && b.name === 'pipeline');
  ok(pipe && near(pipe.dur, tr.summary.tasks.find((t) => t.name === 'pipeline').max_ns, 0.001),
    'the pipeline task (begun by main, ended by gamma) spans its whole life', pipe);

  // keyboard: W zooms in, S out, A/D pan (chrome://tracing's keys)
  await page.mouse.move(5, 5); // zoom around the centre
  const v0 = st;
  st = await afterDraw(page, () => page.keyboard.press('w'));
  ok(near(st.to - st.from, (v0.to - v0.from) / 1.25, 0.01), 'W zooms in by 1.25', [v0.to - v0.from, st.to - st.from]);
  ok(near((st.from + st.to) / 2, (v0.from + v0.to) / 2, 0.01), 'around the centre');
  for (let i = 0; i < 5; i++) st = await afterDraw(page, () => page.keyboard.press('w'));
  ok(near(st.to - st.from, (v0.to - v0.from) / Math.pow(1.25, 6), 0.01), 'six W: 1.25^6 closer', st.to - st.from);
  ok(st.res < v0.res / 2 && st.fetches > v0.fetches, 'zooming in fetched finer windows (level of detail)', [v0.res, st.res, st.fetches]);
  const z = st;
  // a box that starts in view and stays in view after the pan
  const pick = z.boxes.find((b) => b.kind !== 'counter' && b.kind !== 'log' && !b.merged && b.w >= 2 &&
    b.x > 200 + plot * 0.1 + 20 && b.x < 1100);
  st = await afterDraw(page, () => page.keyboard.press('d'));
  ok(near(st.from - z.from, (z.to - z.from) * 0.1, 0.01) && near(st.to - st.from, z.to - z.from, 0.001),
    'D pans right by a tenth', [st.from - z.from, z.to - z.from]);
  const moved = pick && st.boxes.find((b) => b.index === pick.index);
  ok(moved && Math.abs(pick.x - moved.x - plot * 0.1) <= 2, 'the boxes moved left by a tenth of the width',
    [pick, moved, plot * 0.1]);
  st = await afterDraw(page, () => page.keyboard.press('a'));
  st = await afterDraw(page, () => page.keyboard.press('a'));
  ok(near(z.from - st.from, (z.to - z.from) * 0.1, 0.01), 'A pans left', [z.from, st.from]);
  st = await afterDraw(page, () => page.keyboard.press('s'));
  ok(near(st.to - st.from, (z.to - z.from) * 1.25, 0.01), 'S zooms out', [z.to - z.from, st.to - st.from]);
  await screenshot(page, 'zoomed');

  // mouse: Ctrl+wheel zooms at the pointer, a drag pans
  const c = await canvasBox(page);
  const mx = c.x + 200 + plot * 0.25;
  await page.mouse.move(mx, c.y + 40);
  const w0 = await state(page);
  const tAtMouse = w0.from + 0.25 * (w0.to - w0.from);
  await page.keyboard.down('Control');
  st = await afterDraw(page, () => page.mouse.wheel(0, -200));
  await page.keyboard.up('Control');
  ok(st.to - st.from < (w0.to - w0.from) * 0.8, 'Ctrl+wheel zooms in', [w0.to - w0.from, st.to - st.from]);
  ok(near(st.from + 0.25 * (st.to - st.from), tAtMouse, 0.002), 'around the pointer', [tAtMouse, st.from + 0.25 * (st.to - st.from)]);
  const d0 = st;
  st = await afterDraw(page, async () => {
    await page.mouse.move(mx + 300, c.y + 40);
    await page.mouse.down();
    await page.mouse.move(mx + 200, c.y + 40, { steps: 4 });
    await page.mouse.move(mx + 100, c.y + 40, { steps: 4 });
    await page.mouse.up();
  });
  ok(near(st.from - d0.from, (200 / plot) * (d0.to - d0.from), 0.02), 'dragging left by 200 px pans right by 200 px of time',
    [st.from - d0.from, (200 / plot) * (d0.to - d0.from)]);
  // Shift+drag measures a range
  st = await afterDraw(page, async () => {
    await page.keyboard.down('Shift');
    await page.mouse.move(c.x + 200 + plot * 0.2, c.y + 40);
    await page.mouse.down();
    await page.mouse.move(c.x + 200 + plot * 0.6, c.y + 40, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
  });
  ok(st.range && near(st.range.to - st.range.from, 0.4 * (st.to - st.from), 0.02), 'Shift+drag measures 40% of the view',
    st.range);
  const rtext = await page.textContent('#range');
  ok(/^range /.test(rtext), 'the toolbar shows the range\'s duration', rtext);
  st = await afterDraw(page, () => page.keyboard.press('f'));
  ok(st.range && near(st.to - st.from, st.range.to - st.range.from, 0.01), 'F zooms to the range', [st.from, st.to, st.range]);
  st = await afterDraw(page, () => page.keyboard.press('0'));
  ok(near(st.to - st.from, tr.summary.duration_ns, 0.02), '0 shows the whole trace again');
  ok(page.problems.length === 0, 'still no console errors', page.problems);
  await finish(srv);
};

// The tables: counts as the program ran them, quantiles as the summary;
// a slowest instance is one click from the timeline; URL round trip.
scenarios['trace-tables'] = async (browser) => {
  const tr = makeTrace();
  const srv = await serve(tr.file);
  const page = await newPage(browser);
  await page.goto(srv.url + '/');
  await ready(page);
  await page.waitForSelector('#regions-table tbody tr', { timeout: 20000 });
  const rows = await page.$$eval('#regions-table tbody tr', (trs) => trs.map((r) =>
    Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
  const byName = Object.fromEntries(rows.map((r) => [r[0], r]));
  for (const n of ['step', 'load', 'work', 'crunch', 'pause']) {
    ok(byName[n] && byName[n][1] === '12', 'region table: ' + n + ' ran 12 times (3 threads x 4 jobs)', byName[n]);
  }
  ok(rows.length === 5, 'five region names', rows.map((r) => r[0]));
  const load = tr.summary.regions.find((r) => r.name === 'load');
  ok(byName.load[7] === fmtDur(load.max_ns),
    'load\'s max is the summary\'s', [byName.load[7], load.max_ns]);
  ok(load.max_ns > 14e6, 'the summary agrees: a slow load', load);
  const slowTid = load.slowest[0].tid;
  await page.click('#tabs a[data-tab=tasks]');
  const trows = await page.$$eval('#tasks-table tbody tr', (trs) => trs.map((r) =>
    Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
  const tb = Object.fromEntries(trows.map((r) => [r[0], r]));
  ok(tb.job && tb.job[1] === '12' && tb.pipeline && tb.pipeline[1] === '1', 'task table: 12 jobs, 1 pipeline', trows);
  await screenshot(page, 'tasks');
  await page.click('#tabs a[data-tab=threads]');
  const hrows = await page.$$eval('#threads-table tbody tr', (trs) => trs.map((r) =>
    Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
  ok(['alpha', 'beta', 'gamma'].every((n) => hrows.some((r) => r[1] === n)), 'thread table: alpha, beta, gamma', hrows.map((r) => r[1]));
  for (const th of tr.summary.threads.filter((t) => ['alpha', 'beta', 'gamma'].includes(t.name))) {
    ok(th.sleep_ns >= 4e6 && th.regions === 20, th.name + ': 4 ms or more asleep, 20 regions (summary)', th);
    const r = hrows.find((x) => x[1] === th.name);
    ok(r && r[11] === '20', th.name + '\'s row shows its 20 regions', r);
  }
  await screenshot(page, 'threads');

  // the slowest load, one click from the table
  await page.click('#tabs a[data-tab=regions]');
  let st = await state(page);
  st = await afterDraw(page, () => page.click('#regions-table tr[data-name="load"] a.slow[data-rank="0"]'));
  await page.waitForFunction(() => window.__cprofTrace.selection, null, { timeout: 5000 });
  st = await state(page);
  const nav = st.navigated;
  ok(nav && nav.start <= st.to && nav.start + nav.dur >= st.from && nav.dur > 14e6, 'the timeline shows the slow load', [nav, st.from, st.to]);
  ok(nav && nav.dur / (st.to - st.from) > 0.6, 'zoomed so that it fills most of the view', nav && nav.dur / (st.to - st.from));
  const box = st.boxes.find((b) => b.index === nav.index);
  ok(box && box.name === 'load' && box.laneName.endsWith(' ' + slowTid) && box.w > 600,
    'its box is drawn wide on its thread\'s lane', [box, slowTid]);
  ok(st.selected === nav.index && st.selection.dur === load.max_ns, 'and selected, with the table\'s duration', [st.selected, st.selection]);
  const sel = await page.textContent('#selection');
  ok(sel.includes('load') && sel.includes(String(load.max_ns)), 'the selection panel shows it', sel);
  await screenshot(page, 'slowest-load');

  // a name highlights every instance
  await page.click('#tabs a[data-tab=regions]');
  st = await afterDraw(page, () => page.click('#regions-table tr[data-name="crunch"] td.name'));
  ok(st.highlight === '^crunch$', 'clicking a name highlights it', st.highlight);

  // the slowest task, the same way
  await page.click('#tabs a[data-tab=tasks]');
  st = await afterDraw(page, () => page.click('#tasks-table tr[data-name="pipeline"] a.slow[data-rank="0"]'));
  await page.waitForFunction(() => window.__cprofTrace.selection && window.__cprofTrace.selection.kind === 2, null, { timeout: 5000 });
  st = await state(page);
  const tbox = st.boxes.find((b) => b.index === st.selected);
  ok(tbox && tbox.kind === 'task' && tbox.name === 'pipeline', 'a task\'s slowest instance selects its box', tbox);

  // the view is in the URL: a reload shows the same
  await page.waitForTimeout(300);
  const url = page.url();
  ok(/[?&]from=-?\d+/.test(url) && /[?&]sel=\d+/.test(url), 'the view and the selection are in the URL', url);
  const p2 = await newPage(browser);
  await p2.goto(url);
  await ready(p2);
  await p2.waitForFunction(() => window.__cprofTrace.selection, null, { timeout: 5000 });
  const s2 = await state(p2);
  ok(Math.abs(s2.from - st.from) < 2 && Math.abs(s2.to - st.to) < 2 && s2.selected === st.selected,
    'a link reproduces the view and the selection', [s2.from, st.from, s2.selected, st.selected]);
  ok(page.problems.length === 0 && p2.problems.length === 0, 'no console errors', page.problems.concat(p2.problems));
  await finish(srv);
};

// Sources given by URL: a trace file served over HTTP, and the endpoint of
// a running program (/debug/pprof/trace?seconds=1).
scenarios['trace-url'] = async (browser) => {
  const tr = makeTrace();
  const data = fs.readFileSync(tr.file);
  const hs = http.createServer((req, res) => {
    if (req.url === '/prog.trace') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(data);
    } else {
      res.writeHead(404);
      res.end('no\n');
    }
  });
  await new Promise((r) => hs.listen(0, '127.0.0.1', r));
  let srv = await serve('http://127.0.0.1:' + hs.address().port + '/prog.trace');
  let page = await newPage(browser);
  await page.goto(srv.url + '/');
  let st = await ready(page);
  ok(regions(st, 'load').length === 12 && laneOf(st, 'beta') >= 0, 'a trace served over HTTP opens (12 loads, beta\'s lane)');
  ok((await page.textContent('#title')).includes('http://127.0.0.1:'), 'the title names the URL');
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
  hs.close();

  // the live endpoint of a program that runs regions forever
  const spin = path.join(build, 'tests/trace/trace_spin');
  if (!fs.existsSync(spin)) {
    ok(false, 'tests/trace/trace_spin is built', spin);
    return;
  }
  const port = await new Promise((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  const prog = spawn(spin, [], { stdio: 'ignore',
    env: Object.assign({}, process.env, { CPROF_HTTP: '127.0.0.1:' + port }) });
  servers.push(prog);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); r(true); });
      s.on('error', () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  srv = await serve('http://127.0.0.1:' + port + '/debug/pprof/trace?seconds=1');
  prog.kill('SIGKILL');
  page = await newPage(browser);
  await page.goto(srv.url + '/');
  st = await ready(page);
  ok(st.duration > 0.8e9 && st.duration < 3e9, 'the endpoint\'s trace lasts about a second', st.duration);
  const spins = st.boxes.filter((b) => b.kind === 'region' && b.name === 'spin' || (b.merged && b.kind === 'region'));
  ok(spins.length > 0 && st.lanes.some((l) => l.kind === 'thread'), 'its "spin" regions are drawn', spins.length);
  // a click on a merged box zooms to it: down the densest ones until the
  // single regions show (a preempted spin may be long: not the centre)
  const vh = page.viewportSize().height;
  const tried = [];
  for (let i = 0; i < 10 && regions(st, 'spin').length < 4; i++) {
    // the densest merged box whose middle is in view (a click outside the
    // viewport reaches nothing)
    const c = await canvasBox(page);
    const m = st.boxes.filter((b) => b.merged && b.kind === 'region' &&
      c.y + b.y + b.h / 2 > 0 && c.y + b.y + b.h / 2 < vh).sort((a, b) => b.count - a.count)[0];
    if (!m) {
      tried.push('no merged box in view; canvas at ' + Math.round(c.y) + ', boxes at ' +
        st.boxes.filter((b) => b.merged).map((b) => Math.round(b.y)).join(' '));
      break;
    }
    // a point of it where no other box is drawn (a long, preempted region
    // on top of the merged run, or a log marker, takes the click): left or
    // right of the middle
    let fx = 0.5;
    const y = m.y + m.h / 2;
    for (let k = 0; k <= 18; k++) {
      const f = 0.5 + (k % 2 ? 1 : -1) * Math.ceil(k / 2) * 0.025;
      const x = m.x + m.w * f;
      if (!st.boxes.some((b) => b !== m && b.x - 2 <= x && x <= b.x + b.w + 2 &&
          b.y - 1 <= y && y <= b.y + b.h + 1)) {
        fx = f;
        break;
      }
    }
    const pm = await at(page, m, fx);
    tried.push([Math.round(pm.x), Math.round(pm.y), Math.round(st.to - st.from)].join(','));
    st = await afterDraw(page, () => page.mouse.click(pm.x, pm.y));
  }
  const fine = regions(st, 'spin');
  ok(fine.length > 3 && fine.every((b) => b.dur > 40e3), 'clicking merged boxes zooms down to single 50 µs regions',
    [fine.length, st.to - st.from, st.boxes.filter((b) => b.merged && b.kind === 'region').length, st.lanes.length, tried]);
  await screenshot(page, 'endpoint');
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
};

lib.main('trace_test.js', scenarios, scenario, () =>
  (!build || !fs.existsSync(cprofBin) || !fs.existsSync(progBin)
    ? 'CPROF_BUILD must name a build with cli/cprof and tests/browser/trace_browser_prog' : null));
