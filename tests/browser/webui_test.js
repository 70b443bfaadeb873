// SPDX-License-Identifier: Apache-2.0
//
// webui_test.js SCENARIO - browser tests of `cprof -http` in headless
// Chromium (Debian's, driven by playwright-core). Each scenario starts
// cprof on profiles of known proportions (gen_profiles.c) or of a real
// program, drives the page with real mouse moves and clicks, and asserts
// on what a person sees: the frames the canvas drew (the page exposes
// them as window.__cprofFrames: a canvas has no DOM text), tooltips,
// tables, source lines, colours, the URL. Screenshots go to
// $CPROF_BROWSER_OUT/out/SCENARIO/. Prints "N passed, N failed".
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const path = require('path');
const lib = require('./lib');
const { ok, finish } = lib;

const build = process.env.CPROF_BUILD;
const src = process.env.CPROF_SRC || path.resolve(__dirname, '../..');
const outRoot = process.env.CPROF_BROWSER_OUT || path.join(build, 'tests/browser');
const scenario = process.argv[2];
const outDir = path.join(outRoot, 'out', scenario || 'none');
const cprofBin = path.join(build, 'cli/cprof');
const genBin = path.join(build, 'tests/browser/webui_gen');
const fixture = path.join(__dirname, 'fixture_src.c');

const near = (a, b, tol) => Math.abs(a - b) <= (tol === undefined ? 0.01 : tol);

// ---- cprof server ---------------------------------------------------------

function serve(args, opts) {
  return lib.serve(cprofBin, ['-http=127.0.0.1:0', '-no_browser', ...args],
    { cwd: (opts && opts.cwd) || outDir, env: opts && opts.env, timeout: 20000 });
}

// ---- browser --------------------------------------------------------------

// 4xx/5xx of the API are shown to the user on purpose; assets must load
const newPage = (browser) => lib.newPage(browser, { allowError: (url) => url.includes('/api/') });
const screenshot = (page, name) => lib.screenshot(page, outDir, name, true);

async function flameReady(page) {
  await page.waitForFunction(() => window.__cprofFlame && window.__cprofFlame.ready, null, { timeout: 15000 });
  return page.evaluate(() => ({ frames: window.__cprofFrames, stats: window.__cprofFlame }));
}

// Wait for the next draw after an action.
async function afterDraw(page, action) {
  const before = await page.evaluate(() => window.__cprofFlame.draws);
  await action();
  await page.waitForFunction((n) => window.__cprofFlame.draws > n && window.__cprofFlame.ready,
    before, { timeout: 15000 });
  return page.evaluate(() => ({ frames: window.__cprofFrames, stats: window.__cprofFlame }));
}

function byName(frames, name) {
  return frames.filter((f) => f.name === name && !f.ancestor);
}
function one(frames, name) {
  const l = byName(frames, name);
  return l.length ? l[0] : null;
}
function rootOf(frames) {
  return frames.find((f) => f.row === 0);
}

// The centre of a frame in page coordinates.
async function centre(page, f) {
  const box = await page.locator('#flame').boundingBox();
  return { x: box.x + f.x + Math.min(f.w / 2, 40), y: box.y + f.y + f.h / 2 };
}

async function hover(page, f) {
  const c = await centre(page, f);
  await page.mouse.move(c.x - 3, c.y);
  await page.mouse.move(c.x, c.y);
  await page.waitForSelector('#tooltip:not([hidden])', { timeout: 5000 });
  return page.textContent('#tooltip');
}

async function click(page, f) {
  const c = await centre(page, f);
  await page.mouse.move(c.x, c.y);
  await page.mouse.click(c.x, c.y);
}

function rgb(c) {
  // "rgb(a,b,c)" or "hsl(h,s%,l%)" -> [r,g,b] / hue
  let m = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(c);
  if (m) return { r: +m[1], g: +m[2], b: +m[3] };
  m = /^hsl\((\d+),/.exec(c);
  if (m) return { hue: +m[1] };
  return { other: c };
}

// ---- scenarios ------------------------------------------------------------

function gen(bigStacks) {
  fs.mkdirSync(outDir, { recursive: true });
  const r = spawnSync(genBin, [outDir, fixture].concat(bigStacks ? [String(bigStacks)] : []),
    { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('webui_gen failed');
}

const scenarios = {};

// The default view on a known profile: proportions, tooltip, zoom and back,
// search and its share, orientation, colours, URL state round trip.
scenarios.flame = async (browser) => {
  gen();
  const srv = await serve([path.join(outDir, 'known.prof')]);
  const page = await newPage(browser);
  await page.goto(srv.url + '/');
  let { frames, stats } = await flameReady(page);
  ok(/\/flamegraph$/.test(page.url()), 'the root URL leads to the flame graph', page.url());
  const W = rootOf(frames).w;
  const rel = (n) => (one(frames, n) ? one(frames, n).w / W : -1);
  ok(rootOf(frames).name === 'root' && near(rel('main'), 1), 'main spans the whole width', rel('main'));
  ok(near(rel('compute'), 0.6), 'compute is 60% wide', rel('compute'));
  ok(near(rel('hot_loop'), 0.5), 'hot_loop is 50% wide', rel('hot_loop'));
  ok(near(rel('parse'), 0.3), 'parse is 30% wide', rel('parse'));
  ok(near(rel('helper'), 0.1), 'helper is 10% wide', rel('helper'));
  ok(near(rel('memcpy'), 0.05), 'memcpy is 5% wide', rel('memcpy'));
  const hot = one(frames, 'hot_loop'), comp = one(frames, 'compute');
  ok(hot.y > comp.y && comp.y > one(frames, 'main').y, 'icicle: the root on top, callees below');
  ok(near(hot.x, comp.x, 0.5), 'hot_loop starts under compute (the heavier child first)');
  // stable colours: by file directory, a library of its own
  const hHot = rgb(hot.color).hue, hComp = rgb(comp.color).hue, hMem = rgb(one(frames, 'memcpy').color).hue;
  ok(hHot !== undefined && hHot === hComp, 'frames of one source file share a hue', [hot.color, comp.color]);
  ok(hMem !== undefined && hMem !== hHot, 'libc frames have another hue', [hot.color, one(frames, 'memcpy').color]);
  ok(page.problems.length === 0, 'no console errors, no missing asset (favicon included)', page.problems);
  await screenshot(page, 'whole');

  // tooltip on hover
  let tip = await hover(page, hot);
  ok(tip.includes('hot_loop') && tip.includes('fixture_src.c:7'), 'tooltip names the function and file:line', tip);
  ok(tip.includes('total: 5s (50.00%)') && tip.includes('self:  5s (50.00%)'), 'tooltip shows total and self with percentages', tip);
  ok(tip.includes('known_app'), 'tooltip names the binary', tip);
  tip = await hover(page, one(frames, 'main'));
  ok(tip.includes('total: 10s (100%)') && tip.includes('self:  1s (10.00%)'), 'main: 10s total, 1s self', tip);
  await screenshot(page, 'tooltip');

  // click zooms
  ({ frames, stats } = await afterDraw(page, () => click(page, one(frames, 'compute'))));
  const z = one(frames, 'compute');
  ok(z && near(z.w, W, 0.5), 'after a click compute spans the width', z && z.w);
  ok(near(one(frames, 'hot_loop').w / W, 5 / 6), 'hot_loop is 5/6 of the zoomed compute', one(frames, 'hot_loop').w / W);
  ok(!one(frames, 'parse'), 'parse is out of view when zoomed into compute');
  ok(frames.filter((f) => f.ancestor).map((f) => f.name).join('>') === 'root>main', 'ancestors root and main stay above', frames.filter((f) => f.ancestor).map((f) => f.name));
  ok(/[?&]f=main%3Bcompute(&|$)/.test(page.url()), 'the zoomed frame is in the URL', page.url());
  const crumbs = await page.textContent('#breadcrumb');
  ok(crumbs.includes('root') && crumbs.includes('main') && crumbs.includes('compute'), 'breadcrumb root › main › compute', crumbs);
  tip = await hover(page, one(frames, 'helper'));
  ok(tip.includes('16.67% of the zoomed frame'), 'tooltip gives the share of the zoomed frame', tip);
  await screenshot(page, 'zoomed');

  // back (browser history) unzooms
  ({ frames } = await afterDraw(page, () => page.goBack()));
  ok(near(one(frames, 'compute').w / W, 0.6), 'Back returns to the whole graph', one(frames, 'compute').w / W);
  // zoom again, then out through the ancestor bar and with Reset
  ({ frames } = await afterDraw(page, () => click(page, one(frames, 'hot_loop'))));
  ok(near(one(frames, 'hot_loop').w, W, 0.5), 'zoom into hot_loop');
  const anc = frames.find((f) => f.ancestor && f.name === 'main');
  ({ frames } = await afterDraw(page, () => click(page, anc)));
  ok(near(one(frames, 'main').w, W, 0.5) && near(one(frames, 'compute').w / W, 0.6), 'a click on an ancestor zooms out to it');
  ({ frames } = await afterDraw(page, () => page.click('#flame-reset')));
  ok(!/[?&]f=/.test(page.url()) && rootOf(frames).name === 'root', 'Reset shows the whole profile', page.url());

  // search
  ({ frames, stats } = await afterDraw(page, () => page.fill('#search', '^(hot_loop|helper)$')));
  let share = await page.textContent('#search-result');
  ok(share.includes('Matched 60.00% of total'), 'search reports the share of its matches', share);
  ok(near(stats.searchShare, 0.6, 0.0001), 'search share is 0.6', stats.searchShare);
  const matched = frames.filter((f) => f.match).map((f) => f.name).sort();
  ok(matched.join() === 'helper,hot_loop', 'exactly the matching frames are highlighted', matched);
  ok(one(frames, 'hot_loop').color !== one(frames, 'compute').color, 'highlighted frames have their own colour');
  ({ frames, stats } = await afterDraw(page, () => page.fill('#search', 'parse')));
  share = await page.textContent('#search-result');
  ok(share.includes('Matched 30.00% of total'), 'nested matches (parse > parse_line) count once', share);
  await screenshot(page, 'search');
  await afterDraw(page, () => page.fill('#search', '(unclosed'));
  ok(await page.$eval('#search', (e) => e.classList.contains('bad')), 'a bad regexp marks the search box');
  ({ frames } = await afterDraw(page, () => page.fill('#search', 'hot_loop')));

  // orientation
  ({ frames } = await afterDraw(page, () => page.click('#orientation')));
  const r = rootOf(frames);
  ok(r.y > one(frames, 'hot_loop').y, 'flame orientation puts the root at the bottom', [r.y, one(frames, 'hot_loop').y]);
  ok(/[?&]o=flame/.test(page.url()), 'orientation is in the URL');
  ({ frames } = await afterDraw(page, () => click(page, one(frames, 'parse'))));
  await screenshot(page, 'flame-orientation');

  // URL round trip: a fresh page at this URL shows the same view
  const url = page.url();
  const before = await page.evaluate(() => ({ zoom: window.__cprofFlame.zoom, share: window.__cprofFlame.searchShare }));
  const p2 = await newPage(browser);
  await p2.goto(url);
  const s2 = await flameReady(p2);
  ok(JSON.stringify(s2.stats.zoom) === JSON.stringify(before.zoom) && s2.stats.zoom.join('>') === 'main>parse',
    'a link reproduces the zoom', [s2.stats.zoom, before.zoom]);
  ok(near(s2.stats.searchShare, before.share, 1e-9) && near(before.share, 0.5, 1e-9), 'a link reproduces the search', [s2.stats.searchShare, before.share]);
  ok(await p2.inputValue('#search') === 'hot_loop', 'the search box is filled from the URL');
  ok(rootOf(s2.frames).y > 0, 'a link reproduces the orientation');
  ok(page.problems.length === 0 && p2.problems.length === 0, 'still no console errors', page.problems.concat(p2.problems));
  await finish(srv);
};

// Group by thread_name (one tower per thread) and the filter inputs.
scenarios.group = async (browser) => {
  gen();
  const srv = await serve([path.join(outDir, 'known.prof')]);
  const page = await newPage(browser);
  await page.goto(srv.url + '/flamegraph');
  let { frames } = await flameReady(page);
  const opts = await page.$$eval('#group option', (o) => o.map((x) => x.value));
  ok(opts.includes('thread_name'), 'the group selector offers thread_name', opts);
  ({ frames } = await afterDraw(page, () => page.selectOption('#group', 'thread_name')));
  ok(/[?&]group=thread_name/.test(page.url()), 'grouping is in the URL');
  const W = rootOf(frames).w;
  const towers = frames.filter((f) => f.row === 1).map((f) => [f.name, +(f.w / W).toFixed(3)]);
  ok(JSON.stringify(towers) === JSON.stringify([['thread_name=worker-1', 0.6], ['thread_name=worker-2', 0.3], ['thread_name=main', 0.1]]),
    'one tower per thread, as wide as its samples', towers);
  ok(frames.filter((f) => f.row === 2).every((f) => f.name === 'main'), 'each tower starts at main');
  const w2 = frames.find((f) => f.name === 'thread_name=worker-2');
  const under = frames.filter((f) => f.row === 3 && f.x >= w2.x - 0.5 && f.x < w2.x + w2.w).map((f) => f.name);
  ok(under.join() === 'parse', 'worker-2 ran parse only', under);
  await screenshot(page, 'grouped');

  // tagfocus through the filter form
  await page.fill('#filters input[name=tagfocus]', 'thread_name=worker-2');
  ({ frames } = await afterDraw(page, () => page.click('#filters button[type=submit]')));
  ok(/tagfocus=thread_name%3Dworker-2/.test(page.url()), 'tagfocus is in the URL', page.url());
  const tip = await hover(page, rootOf(frames));
  ok(tip.includes('total: 3s (30.00%)'), 'tagfocus keeps worker-2 (30% of the whole profile)', tip);
  ok(!frames.some((f) => f.name === 'compute'), 'compute is filtered out');
  // focus and ignore, and the warning when nothing matches
  await page.fill('#filters input[name=tagfocus]', '');
  await page.fill('#filters input[name=focus]', 'helper');
  ({ frames } = await afterDraw(page, () => page.click('#filters button[type=submit]')));
  const names = [...new Set(frames.filter((f) => f.row >= 1).map((f) => f.name))].sort();
  ok(names.join() === 'compute,helper,main,thread_name=worker-1', 'focus=helper keeps the stacks through helper', names);
  await page.fill('#filters input[name=focus]', 'no_such_function');
  await page.click('#filters button[type=submit]');
  await page.waitForSelector('#warning:not([hidden])', { timeout: 10000 });
  const warn = await page.textContent('#warning');
  ok(/matched no samples/i.test(warn), 'a focus that matches nothing says so', warn);
  ok(!(await page.$eval('#flame-empty', (e) => e.hidden)), 'an empty flame graph says why');
  await page.click('#clear-filters');
  ({ frames } = await flameReady(page));
  await page.waitForFunction(() => !/focus=/.test(location.search));
  ok(!/focus=/.test(page.url()), 'Clear removes the filters', page.url());
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
};

scenarios.top = async (browser) => {
  gen();
  const srv = await serve([path.join(outDir, 'known.prof')]);
  const page = await newPage(browser);
  await page.goto(srv.url + '/flamegraph');
  await flameReady(page);
  await page.click('#views a[data-view=top]');
  await page.waitForFunction(() => window.__cprofTop && window.__cprofTop.rows > 0);
  ok(/\/top$/.test(new URL(page.url()).pathname), 'the Top tab changes the URL', page.url());
  let order = await page.evaluate(() => window.__cprofTop.order);
  ok(order.join() === 'hot_loop,parse_line,helper,main,memcpy,parse,compute', 'sorted by flat, ties by name (as go tool pprof)', order);
  const cells = await page.$$eval('#top-table tbody tr:nth-child(2) td', (t) => t.map((x) => x.textContent));
  ok(cells[0] === '2s' && cells[1] === '20.00%' && cells[2] === '70.00%' && cells[3] === '2.50s' && cells[4] === '25.00%',
    'parse_line: flat 2s 20.00%, sum 70.00%, cum 2.50s 25.00%', cells);
  await screenshot(page, 'top');
  await page.click('#top-table th[data-sort=cum]');
  await page.waitForFunction(() => window.__cprofTop.order[0] === 'main');
  order = await page.evaluate(() => window.__cprofTop.order);
  ok(order.join() === 'main,compute,hot_loop,parse,parse_line,helper,memcpy', 'sorted by cum', order);
  ok(/sort=cum/.test(page.url()), 'the sort order is in the URL');
  await page.fill('#top-filter', '^p');
  await page.waitForFunction(() => window.__cprofTop.rows === 2);
  order = await page.evaluate(() => window.__cprofTop.order);
  ok(order.join() === 'parse,parse_line', 'the filter keeps matching names', order);
  // a click on a name opens it in the flame graph
  await page.fill('#top-filter', '');
  await page.waitForFunction(() => window.__cprofTop.rows === 7);
  await page.click('#top-table td.name >> text=hot_loop');
  const { stats, frames } = await flameReady(page);
  ok(/\/flamegraph/.test(page.url()) && near(stats.searchShare, 0.5, 1e-9), 'a click on hot_loop shows it highlighted in the flame graph', [page.url(), stats.searchShare]);
  ok(frames.filter((f) => f.match).map((f) => f.name).join() === 'hot_loop', 'only hot_loop is highlighted');
  // granularity: lines
  await page.click('#views a[data-view=top]');
  await page.waitForFunction(() => window.__cprofTop.rows === 7);
  await page.click('#top-table th[data-sort=flat]');
  await page.waitForFunction(() => window.__cprofTop.order[0] === 'hot_loop');
  await page.selectOption('#granularity', 'lines');
  await page.waitForFunction(() => window.__cprofTop.rows > 7);
  order = await page.evaluate(() => window.__cprofTop.order);
  ok(/^hot_loop .*fixture_src\.c:10$/.test(order[0]) && /^parse_line .*parse\.c:44$/.test(order[1]),
    'by lines: hot_loop line 10 first, then parse_line line 44', order.slice(0, 3));
  ok(/[?&]g=lines/.test(page.url()), 'the granularity is in the URL', page.url());
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
};

scenarios.source = async (browser) => {
  gen();
  const srv = await serve([path.join(outDir, 'known.prof')]);
  const page = await newPage(browser);
  await page.goto(srv.url + '/source?fn=hot_loop');
  await page.waitForFunction(() => window.__cprofSource && window.__cprofSource.source);
  const s = await page.evaluate(() => window.__cprofSource.source);
  ok(s.funcs.length === 1 && s.funcs[0].name === 'hot_loop', 'one function matches', s);
  const f = s.funcs[0];
  ok(f.path && f.path.endsWith('fixture_src.c'), 'the source file was found', f.path);
  ok([7, 8, 9, 10, 11, 12].every((l) => f.lines.includes(l)), 'lines 7-12 are shown', f.lines);
  ok(f.hot.join() === '10,11', 'lines 10 and 11 carry the samples', f.hot);
  const row10 = await page.$$eval('tr[data-line="10"] td', (t) => t.map((x) => x.textContent));
  ok(row10[0] === '10' && row10[1] === '4s' && row10[2] === '4s' && row10[3].includes('sink += i * 2654435761u'),
    'line 10: flat 4s, cum 4s, its text', row10);
  const row11 = await page.$$eval('tr[data-line="11"] td', (t) => t.map((x) => x.textContent));
  ok(row11[1] === '1s' && row11[3].includes('sink ^= sink >> 7'), 'line 11: 1s and its text', row11);
  const head = await page.textContent('.src-func h3');
  ok(head.includes('flat 5s (50.00%)') && head.includes('cum 5s (50.00%)'), 'the function header sums its lines', head);
  await screenshot(page, 'source');
  // compute: cum counts each sample once (lines 21 and 22)
  await page.fill('form.fn-form[data-view=source] input', '^compute$');
  await page.click('form.fn-form[data-view=source] button');
  await page.waitForFunction(() => window.__cprofSource.source.funcs[0] && window.__cprofSource.source.funcs[0].name === 'compute');
  const row21 = await page.$$eval('tr[data-line="21"] td', (t) => t.map((x) => x.textContent));
  ok(row21[2] === '5s' && row21[3].includes('hot_loop(n)'), 'compute line 21: cum 5s (the call to hot_loop)', row21);
  // a file that cannot be found
  await page.goto(srv.url + '/source?fn=parse_line');
  await page.waitForFunction(() => window.__cprofSource.source && window.__cprofSource.source.funcs.length);
  const note = await page.textContent('.src-func .note');
  ok(/parse\.c not found/.test(note), 'a missing source file is named', note);

  // peek: callers and callees
  await page.goto(srv.url + '/peek?fn=%5Ecompute%24');
  await page.waitForFunction(() => window.__cprofSource.peek);
  const pk = await page.evaluate(() => window.__cprofSource.peek);
  ok(pk.funcs.length === 1 && pk.funcs[0].callers.join() === 'main' && pk.funcs[0].callees.join() === 'hot_loop,helper',
    'peek: main calls compute, which calls hot_loop then helper', pk);
  const callee = await page.$$eval('.peek-func tr.callee td', (t) => t.map((x) => x.textContent));
  ok(callee[0] === '5s' && callee[1] === '83.33%', 'peek: compute spends 5s (83.33%) in hot_loop', callee);
  await screenshot(page, 'peek');

  // call graph (dot)
  await page.click('#views a[data-view=graph]');
  await page.waitForFunction(() => window.__cprofGraph && (window.__cprofGraph.nodes > 0 || window.__cprofGraph.error), null, { timeout: 30000 });
  const g = await page.evaluate(() => window.__cprofGraph);
  const haveDot = spawnSync('sh', ['-c', 'command -v dot']).status === 0;
  ok(haveDot, 'Graphviz is installed (scripts/deps.sh check installs it)');
  if (haveDot) {
    ok(g.nodes >= 6, 'the call graph has a node per function', g);
    const txt = await page.textContent('#graph-box svg');
    ok(txt.includes('hot_loop') && txt.includes('compute') && txt.includes('5s (50.00%)'), 'graph nodes carry names and values', txt.slice(0, 300));
    await screenshot(page, 'graph');
  }
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
  // without Graphviz: a sentence with the install command
  const srv2 = await serve([path.join(outDir, 'known.prof')], { env: { PATH: '/nonexistent' } });
  const p2 = await newPage(browser);
  await p2.goto(srv2.url + '/graph');
  await p2.waitForFunction(() => window.__cprofGraph && window.__cprofGraph.error, null, { timeout: 30000 });
  const msg = await p2.textContent('#graph-box');
  ok(/Could not execute dot; install graphviz \(sudo apt-get install graphviz\)/.test(msg),
    'without dot the page says how to install it', msg);
  await screenshot(p2, 'no-dot');
  await finish(srv2);
};

// The sample-type selector on a heap profile.
scenarios.heap = async (browser) => {
  gen();
  const srv = await serve([path.join(outDir, 'heap.prof')]);
  const page = await newPage(browser);
  await page.goto(srv.url + '/');
  let { frames } = await flameReady(page);
  const W = rootOf(frames).w;
  ok(near(one(frames, 'alloc_big').w / W, 0.9), 'inuse_space (the default): alloc_big is 90%', one(frames, 'alloc_big').w / W);
  const sel = await page.inputValue('#sample-type');
  ok(sel === 'inuse_space', 'the selector shows the default sample type', sel);
  let tip = await hover(page, one(frames, 'alloc_big'));
  ok(tip.includes('total: 90MB (90.00%)'), 'bytes are shown in MB', tip);
  ({ frames } = await afterDraw(page, () => page.selectOption('#sample-type', 'alloc_space')));
  ok(/si=alloc_space/.test(page.url()), 'the sample type is in the URL', page.url());
  ok(near(one(frames, 'alloc_small').w / W, 0.8), 'alloc_space: alloc_small is 80%', one(frames, 'alloc_small').w / W);
  tip = await hover(page, one(frames, 'alloc_small'));
  ok(tip.includes('total: 800MB (80.00%)'), 'tooltip in the new sample type', tip);
  ({ frames } = await afterDraw(page, () => page.selectOption('#sample-type', 'alloc_objects')));
  tip = await hover(page, one(frames, 'alloc_small'));
  ok(tip.includes('total: 800000 (99.98%)'), 'counts are plain numbers', tip);
  await screenshot(page, 'heap');
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
};

scenarios.diff = async (browser) => {
  gen();
  const srv = await serve(['-diff_base=' + path.join(outDir, 'base.prof'), path.join(outDir, 'new.prof')]);
  const page = await newPage(browser);
  await page.goto(srv.url + '/');
  const { frames } = await flameReady(page);
  const g = rgb(one(frames, 'grow_me').color), s = rgb(one(frames, 'shrink_me').color), same = rgb(one(frames, 'same_me').color);
  ok(g.r > g.b + 80, 'a frame that grew is red', one(frames, 'grow_me').color);
  ok(s.b > s.r + 80, 'a frame that shrank is blue', one(frames, 'shrink_me').color);
  ok(Math.abs(same.r - same.b) < 10, 'an unchanged frame is grey', one(frames, 'same_me').color);
  const W = rootOf(frames).w;
  ok(near(one(frames, 'grow_me').w / W, 4 / 7), 'widths follow the new profile', one(frames, 'grow_me').w / W);
  const tip = await hover(page, one(frames, 'grow_me'));
  ok(tip.includes('new:  4s') && tip.includes('base: 1s') && tip.includes('change: +3s (+300.0%)'), 'tooltip shows both values and the change', tip);
  ok(!(await page.$eval('#diff-key', (e) => e.hidden)), 'the colour key is shown');
  await screenshot(page, 'diff');
  const { frames: fb } = await afterDraw(page, () => page.selectOption('#diff-width', 'base'));
  ok(near(one(fb, 'shrink_me').w / rootOf(fb).w, 3 / 6), 'width by the base profile on request', one(fb, 'shrink_me').w / rootOf(fb).w);
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
};

// A profile from a URL, and the refresh button.
scenarios.url = async (browser) => {
  gen();
  let serving = 'known.prof';
  const hs = http.createServer((req, res) => {
    if (req.url.startsWith('/debug/pprof/cpu')) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(fs.readFileSync(path.join(outDir, serving)));
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise((r) => hs.listen(0, '127.0.0.1', r));
  const src = 'http://127.0.0.1:' + hs.address().port + '/debug/pprof/cpu';
  try {
    const srv = await serve([src]);
    const page = await newPage(browser);
    await page.goto(srv.url + '/');
    let { frames } = await flameReady(page);
    ok(one(frames, 'hot_loop') && near(one(frames, 'hot_loop').w / rootOf(frames).w, 0.5), 'a profile fetched from a URL is drawn');
    ok(!(await page.$eval('#refresh', (e) => e.hidden)), 'a URL source gets a Refresh button');
    ok((await page.textContent('#title')).includes(src), 'the header names the URL');
    serving = 'new.prof';
    ({ frames } = await afterDraw(page, () => page.click('#refresh')));
    ok(one(frames, 'grow_me') && !one(frames, 'hot_loop'), 'Refresh fetches the profile again', frames.map((f) => f.name));
    await screenshot(page, 'refreshed');
    ok(page.problems.length === 0, 'no console errors', page.problems);
    await finish(srv);
    // a file source has no refresh button
    const srv2 = await serve([path.join(outDir, 'known.prof')]);
    const p2 = await newPage(browser);
    await p2.goto(srv2.url + '/');
    await flameReady(p2);
    ok(await p2.$eval('#refresh', (e) => e.hidden), 'a file source has no Refresh button');
    await finish(srv2);
  } finally {
    hs.close();
  }
};

// A real program: hash_bench profiled through LD_PRELOAD.
scenarios.real = async (browser) => {
  const hb = path.join(build, 'examples/hash_bench');
  const lib = path.join(build, 'src/libcprof.so');
  if (process.env.CPROF_SANITIZED === '1') {
    // an ASan-built libcprof.so cannot be preloaded (ASan must load first)
    console.log('SKIP: LD_PRELOAD of libcprof.so does not mix with ASan');
    process.exit(77);
  }
  if (!fs.existsSync(hb) || !fs.existsSync(lib)) {
    ok(false, 'hash_bench and libcprof.so are built', [hb, lib]);
    return;
  }
  fs.mkdirSync(outDir, { recursive: true });
  const prof = path.join(outDir, 'hash_bench.prof');
  const r = spawnSync(hb, ['-n', '6000000', '-r', '100000', '-t', '2'], {
    env: Object.assign({}, process.env, { CPROF_CPU: prof, LD_PRELOAD: lib }), stdio: 'inherit' });
  ok(r.status === 0 && fs.existsSync(prof), 'hash_bench ran under cprof', r.status);
  const srv = await serve([prof]);
  const page = await newPage(browser);
  await page.goto(srv.url + '/?group=thread_name');
  const { frames } = await flameReady(page);
  const W = rootOf(frames).w;
  const fnv = frames.filter((f) => /fnv1a_64/.test(f.name));
  const share = fnv.reduce((a, f) => a + f.w, 0) / W;
  ok(share > 0.3, 'fnv1a_64 takes most of hash_bench', share);
  const towers = frames.filter((f) => f.row === 1).map((f) => f.name);
  ok(towers.length >= 2 && towers.every((n) => n.startsWith('thread_name=')), 'one tower per thread', towers);
  const tip = await hover(page, fnv[0]);
  ok(/hash_bench\.c:\d+/.test(tip), 'tooltip has hash_bench.c:LINE', tip);
  await screenshot(page, 'hash_bench');
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
};

// A large profile: fluid, and deep zooms fetch the detail left out.
scenarios.big = async (browser) => {
  gen(30000);
  const srv = await serve([path.join(outDir, 'big.prof')]);
  const page = await newPage(browser);
  const t0 = Date.now();
  await page.goto(srv.url + '/');
  let { frames, stats } = await flameReady(page);
  const first = Date.now() - t0;
  ok(first < 5000, 'first drawing of a 30k-stack profile within 5 s', first);
  ok(stats.lastDrawMs < 500, 'a redraw takes < 500 ms', stats.lastDrawMs);
  // zoom into successively narrower frames until one needs its detail
  const loads = stats.loads;
  for (let k = 0; k < 6; k++) {
    const cand = frames.filter((f) => !f.ancestor && f.row >= 3 && f.w > 30 && f.w < rootOf(frames).w * 0.9)
      .sort((a, b) => a.w - b.w)[0];
    if (!cand) break;
    ({ frames, stats } = await afterDraw(page, () => click(page, cand)));
  }
  ok(stats.loads > loads, 'a deep zoom fetched the frames left out of the first answer', [loads, stats.loads]);
  ok(stats.zoom.length >= 4, 'zoomed several levels', stats.zoom);
  const ancNames = frames.filter((f) => f.ancestor).map((f) => f.name);
  ok(JSON.stringify(ancNames) === JSON.stringify(['root'].concat(stats.zoom.slice(0, -1))),
    'the bars above the zoomed frame are its callers, in order', [ancNames, stats.zoom]);
  const zr = frames.find((f) => !f.ancestor && f.row === Math.max(...frames.filter((x) => x.ancestor).map((x) => x.row)) + 1);
  const below = frames.filter((f) => !f.ancestor && f.row > zr.row);
  const sumBelow = below.filter((f) => f.row === zr.row + 1).reduce((a, f) => a + f.total, 0);
  ok(zr.self === zr.total || (below.length > 0 && sumBelow >= 0.9 * (zr.total - zr.self)),
    'the zoomed frame shows its callees in full detail', { zoomed: zr, callees: below.length, sumBelow });
  const url = page.url();
  const p2 = await newPage(browser);
  await p2.goto(url);
  const s2 = await flameReady(p2);
  ok(s2.stats.zoom.join('>') === stats.zoom.join('>') && s2.frames.length === frames.length,
    'a link to a deep zoom draws the same frames', [s2.frames.length, frames.length]);
  ({ stats } = await afterDraw(page, () => page.fill('#search', '_fn_2[0-9]{3}$')));
  ok(stats.searchShare > 0 && stats.searchShare < 1 && stats.lastDrawMs < 500, 'search on a large profile', stats);
  await screenshot(page, 'big');
  ok(page.problems.length === 0, 'no console errors', page.problems);
  await finish(srv);
};

lib.main('webui_test.js', scenarios, scenario, () =>
  (!build || !fs.existsSync(cprofBin) ? 'CPROF_BUILD must name a build with cli/cprof' : null));
