// SPDX-License-Identifier: Apache-2.0
//
// browser_lib.js - what the web UI benchmarks (webui_bench.js,
// trace_viewer_bench.js) share: headless Chromium (Debian's, driven by
// playwright-core from NODE_PATH), a web server started and stopped the
// same way for cprof and its peers, and pages that count the bytes they
// receive. Loaded with require('./browser_lib') from the same directory.
'use strict';

const { chromium } = require('playwright-core');
const { spawn } = require('child_process');

function launch() {
  return chromium.launch({
    executablePath: process.env.CPROF_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

// Start `cmd args...` and resolve with { p, url, t0, up } once its output
// (stdout or stderr) matches re (group 1: the URL); up is ms from spawn.
// opts: timeout (ms), browser (BROWSER's value: '' or 'true', so that no
// browser window opens).
function serve(cmd, args, re, opts) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'],
      env: Object.assign({}, process.env, { DISPLAY: '', WAYLAND_DISPLAY: '', BROWSER: opts.browser }) });
    let out = '';
    const t = setTimeout(() => reject(new Error(cmd + ' did not start: ' + out)), opts.timeout);
    const on = (d) => {
      out += d;
      const m = re.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ p, url: m[1], t0, up: Date.now() - t0 });
      }
    };
    p.stdout.on('data', on);
    p.stderr.on('data', on);
    p.on('exit', (c) => reject(new Error(cmd + ' exited ' + c + ': ' + out)));
  });
}

// SIGTERM a server from serve(); resolves once it exited.
function stop(s) {
  return new Promise((r) => {
    s.p.removeAllListeners('exit');
    s.p.on('exit', r);
    s.p.kill('SIGTERM');
  });
}

// A 1600x1000 page whose page.bytes counts what it received (bodies and
// headers, as sent). With cdp, page.cdp is a CDP session with Performance
// enabled (the renderer's main-thread time: CPU, not wall).
async function pageWithBytes(browser, cdp) {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  if (cdp) {
    page.cdp = await page.context().newCDPSession(page);
    await page.cdp.send('Performance.enable');
  }
  page.bytes = 0;
  page.on('requestfinished', async (req) => {
    try {
      const s = await req.sizes();
      page.bytes += s.responseBodySize + s.responseHeadersSize;
    } catch (e) { /* page closed */ }
  });
  return page;
}

module.exports = { launch, serve, stop, pageWithBytes };
