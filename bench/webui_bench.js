// SPDX-License-Identifier: Apache-2.0
//
// webui_bench.js PROFILE RUNS [PPROF_RUNS] - the web UI on a large profile, cprof
// against go tool pprof -http, alternated in the same headless Chromium:
//   - time from navigation to the first drawn flame graph (cprof: the
//     canvas is painted; pprof: d3's flame graph has its boxes);
//   - bytes the page received (encoded, as sent over the wire);
//   - cprof only: a zoom (click to drawn, subtree fetch included), a
//     search (Enter to drawn), a change of sample type (a cold rebuild on
//     the server).
// Prints one line per run and the medians, and the ratios. Run by
// bench/webui.sh (make bench); needs playwright-core (NODE_PATH).
'use strict';

const { launch, serve: serveAny, stop, pageWithBytes } = require('./browser_lib');

const [prof, runsArg, pprofArg] = process.argv.slice(2);
const runs = +runsArg || 5;
// go tool pprof takes minutes on 100k stacks: fewer runs of it
const pprofRuns = pprofArg === undefined ? runs : +pprofArg;
const cprofBin = process.env.CPROF_BIN;

const serve = (cmd, args, re) => serveAny(cmd, args, re, { timeout: 120000, browser: '' });

async function cprofRun(browser) {
  const s = await serve(cprofBin, ['-http=127.0.0.1:0', '-no_browser', prof], /Serving web UI on (http:\S+)/);
  const page = await pageWithBytes(browser);
  await page.goto(s.url + '/flamegraph');
  await page.waitForFunction(() => window.__cprofFlame && window.__cprofFlame.ready && window.__cprofFlame.draws > 0,
    null, { timeout: 120000, polling: 'raf' });
  const first = await page.evaluate(() => window.__cprofFlame.firstDrawAt);
  await page.waitForTimeout(300);
  const bytes = page.bytes;
  const frames = await page.evaluate(() => window.__cprofFrames.length);
  // zoom: the widest frame on row 4, by a real click
  const f = await page.evaluate(() => window.__cprofFrames.filter((x) => x.row === 4).sort((a, b) => b.w - a.w)[0]);
  const box = await page.locator('#flame').boundingBox();
  let n = await page.evaluate(() => window.__cprofFlame.draws);
  // a person hovers before clicking (the page prefetches detail meanwhile)
  await page.mouse.move(box.x + f.x + Math.min(f.w / 2, 30), box.y + f.y + f.h / 2);
  await page.waitForTimeout(300);
  await page.mouse.click(box.x + f.x + Math.min(f.w / 2, 30), box.y + f.y + f.h / 2);
  await page.waitForFunction((k) => window.__cprofFlame.draws > k && window.__cprofFlame.ready, n, { polling: 'raf' });
  const zoom = await page.evaluate(() => window.__cprofFlame.doneAt - window.__cprofFlame.actionAt);
  // search, from the whole graph
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => window.__cprofFlame.zoom.length === 0, null, { polling: 'raf' });
  await page.fill('#search', '');
  n = await page.evaluate(() => window.__cprofFlame.draws);
  await page.locator('#search').pressSequentially('_fn_2', { delay: 0 });
  await page.keyboard.press('Enter');
  await page.waitForFunction((k) => window.__cprofFlame.draws > k && window.__cprofFlame.searchShare !== null &&
    window.__cprofFlame.doneAt > window.__cprofFlame.actionAt, n, { polling: 'raf' });
  const search = await page.evaluate(() => window.__cprofFlame.doneAt - window.__cprofFlame.actionAt);
  // another sample type: the server rebuilds the tree (cold)
  n = await page.evaluate(() => window.__cprofFlame.draws);
  const t0 = await page.evaluate(() => performance.now());
  await page.selectOption('#sample-type', 'samples');
  await page.waitForFunction((k) => window.__cprofFlame.draws > k && window.__cprofFlame.ready, n, { polling: 'raf' });
  const cold = (await page.evaluate(() => window.__cprofFlame.doneAt)) - t0;
  await page.close();
  await stop(s);
  return { first, bytes, zoom, search, cold, frames };
}

async function pprofRun(browser) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const s = await serve('go', ['tool', 'pprof', '-http=127.0.0.1:' + port, '-no_browser', prof],
    /Serving web UI on (http:\S+)/);
  const page = await pageWithBytes(browser);
  // pprof renders the whole tree into the page before it arrives: wait
  // for it as long as it takes
  await page.goto(s.url + '/ui/flamegraph', { timeout: 600000, waitUntil: 'commit' });
  await page.waitForFunction(() => document.querySelectorAll('#chart svg g').length > 10,
    null, { timeout: 600000, polling: 'raf' });
  const first = await page.evaluate(() => performance.now());
  await page.waitForTimeout(300);
  const bytes = page.bytes;
  const frames = await page.evaluate(() => document.querySelectorAll('#chart svg g').length);
  await page.close();
  await stop(s);
  return { first, bytes, frames };
}

const median = (a) => {
  const s = a.slice().sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

(async () => {
  const browser = await launch();
  const c = [], g = [];
  let havePprof = true;
  for (let i = 0; i < runs; i++) {
    const rc = await cprofRun(browser);
    c.push(rc);
    console.log(`run ${i + 1} cprof: first draw ${rc.first.toFixed(0)} ms, ${(rc.bytes / 1024).toFixed(0)} kB, ` +
      `${rc.frames} frames; zoom ${rc.zoom.toFixed(0)} ms, search ${rc.search.toFixed(0)} ms, ` +
      `other sample type ${rc.cold.toFixed(0)} ms`);
    if (havePprof && i < pprofRuns) {
      try {
        const rg = await pprofRun(browser);
        g.push(rg);
        console.log(`run ${i + 1} go tool pprof: first draw ${rg.first.toFixed(0)} ms, ` +
          `${(rg.bytes / 1024).toFixed(0)} kB, ${rg.frames} svg groups`);
      } catch (e) {
        havePprof = false;
        console.log('go tool pprof -http could not be measured: ' + e.message.split('\n')[0]);
      }
    }
  }
  await browser.close();
  const m = (a, k) => median(a.map((x) => x[k]));
  console.log(`median cprof: first draw ${m(c, 'first').toFixed(0)} ms, ${(m(c, 'bytes') / 1024).toFixed(0)} kB sent, ` +
    `zoom ${m(c, 'zoom').toFixed(0)} ms, search ${m(c, 'search').toFixed(0)} ms, ` +
    `other sample type ${m(c, 'cold').toFixed(0)} ms`);
  if (g.length) {
    console.log(`median go tool pprof: first draw ${m(g, 'first').toFixed(0)} ms, ${(m(g, 'bytes') / 1024).toFixed(0)} kB sent`);
    console.log(`ratio pprof/cprof: first draw ${(m(g, 'first') / m(c, 'first')).toFixed(1)}x, ` +
      `bytes ${(m(g, 'bytes') / m(c, 'bytes')).toFixed(1)}x`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
