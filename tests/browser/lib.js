// SPDX-License-Identifier: Apache-2.0
//
// lib.js - what the browser tests (webui_test.js, trace_test.js) share:
// pass/fail counting, a cprof web server started on a free port, headless
// Chromium (Debian's, driven by playwright-core), pages that record their
// problems, numbered screenshots, and the main that runs one scenario and
// prints "N passed, N failed". Loaded with require('./lib') from the same
// directory; playwright-core comes from NODE_PATH (run.sh).
'use strict';

const { chromium } = require('playwright-core');
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

let passed = 0, failed = 0;
function ok(cond, what, detail) {
  if (cond) {
    passed++;
    console.log('ok   ' + what);
  } else {
    failed++;
    console.log('FAIL ' + what + (detail !== undefined ? ': ' + JSON.stringify(detail) : ''));
  }
  return cond;
}

// ---- cprof server ---------------------------------------------------------

// Processes to kill when the scenario ends (servers, and any the test adds).
const servers = [];

// Start `bin argv...` (argv with -http=127.0.0.1:0 -no_browser) and resolve
// with { proc, url, stderr() } once it prints its URL. opts: cwd, env (added
// to the environment), timeout (ms to wait for the URL).
function serve(bin, argv, opts) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, argv, {
      cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'],
      env: Object.assign({}, process.env, { DISPLAY: '', WAYLAND_DISPLAY: '', BROWSER: '' },
        opts.env || {}),
    });
    servers.push(p);
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error('cprof did not print its URL: ' + out + err)),
      opts.timeout);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /Serving web UI on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc: p, url: m[1], stderr: () => err });
      }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error('cprof exited with ' + code + ': ' + err.trim()));
    });
  });
}

// SIGTERM the server; resolves with its exit code (or the signal's name).
function stop(srv) {
  return new Promise((resolve) => {
    if (srv.proc.exitCode !== null) return resolve(srv.proc.exitCode);
    srv.proc.removeAllListeners('exit');
    srv.proc.on('exit', (code, sig) => resolve(code === null ? sig : code));
    srv.proc.kill('SIGTERM');
  });
}

// Stop cprof and check it ended well (under ASan: no leak, no error).
async function finish(srv) {
  const code = await stop(srv);
  ok(code === 0, 'cprof exits 0 on SIGTERM', code === 0 ? code : [code, srv.stderr().slice(-3000)]);
}

// ---- browser --------------------------------------------------------------

function launch() {
  return chromium.launch({
    executablePath: process.env.CPROF_CHROMIUM || '/usr/bin/chromium',
    // the flags of .library/env/machines/c.md: no network beyond loopback
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

// A page that records console errors, page errors, failed requests and
// 4xx/5xx responses in page.problems (but those whose URL passes
// opts.allowError: shown to the user on purpose).
async function newPage(browser, opts) {
  const allow = (opts && opts.allowError) || (() => false);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  page.on('requestfailed', (r) => page.problems.push('requestfailed: ' + r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400 && !allow(r.url())) page.problems.push(r.status() + ' ' + r.url());
  });
  return page;
}

// outDir/NN-name.png; fullPage as playwright's.
let shot = 0;
async function screenshot(page, outDir, name, fullPage) {
  fs.mkdirSync(outDir, { recursive: true });
  const f = path.join(outDir, String(++shot).padStart(2, '0') + '-' + name + '.png');
  await page.screenshot({ path: f, fullPage: !!fullPage });
  console.log('     screenshot ' + f);
}

// ---- main -----------------------------------------------------------------

// Run scenarios[scenario](browser) and exit: 0 all passed, 1 a failure,
// 2 bad usage (or missing() returned a sentence), 77 chromium cannot start.
async function main(script, scenarios, scenario, missing) {
  if (!scenarios[scenario]) {
    console.error('usage: ' + script + ' ' + Object.keys(scenarios).join('|'));
    process.exit(2);
  }
  const why = missing();
  if (why) {
    console.error(why);
    process.exit(2);
  }
  let browser;
  try {
    browser = await launch();
  } catch (e) {
    console.log('SKIP: chromium does not start here: ' + e.message.split('\n')[0]);
    process.exit(77);
  }
  try {
    await scenarios[scenario](browser);
  } catch (e) {
    ok(false, 'scenario ' + scenario + ' ran to the end', e.stack || String(e));
  } finally {
    await browser.close();
    for (const p of servers) if (p.exitCode === null) p.kill('SIGKILL');
  }
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
}

module.exports = { ok, servers, serve, stop, finish, launch, newPage, screenshot, main };
