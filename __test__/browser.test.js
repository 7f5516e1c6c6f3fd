'use strict';
// The `npm start` demo in a real browser: Debian's Chromium, headless, driven by
// playwright-core (no browser download). The page connects over subwire, receives events,
// its button publishes and the count rises, and it shows the server's stats. Skipped, with
// the reason, when /usr/bin/chromium is absent (.ci/run installs it).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const CHROMIUM = '/usr/bin/chromium';
const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium)`;

test('the demo page subscribes, counts events, publishes with its button and shows stats', { skip, timeout: 60000 }, async (t) => {
  const { chromium } = require('playwright-core');
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'examples', 'demo.js')], { env: { ...process.env, PORT: '0' } });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  const page$ = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo printed no page URL: ${out}`)), 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /http:\/\/[\d.]+:\d+\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
  });
  const url = await page$;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'connected', null, { timeout: 10000 });
  // The timer publishes every second: events arrive.
  await page.waitForFunction(() => Number(document.getElementById('count').textContent) >= 1, null, { timeout: 10000 });
  const before = Number(await page.textContent('#count'));
  await page.click('#publish');
  await page.waitForFunction(() => [...document.querySelectorAll('#events div')].some((d) => d.textContent.includes('(button)')), null, { timeout: 10000 });
  const after = Number(await page.textContent('#count'));
  assert.ok(after > before, `the count rose: ${before} → ${after}`);
  // Stats refresh from the server: the page's own subscription shows up.
  await page.waitForFunction(() => /subscriptions\s*1/.test(document.getElementById('stats').innerText), null, { timeout: 10000 });
  assert.deepEqual(errors, []);
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  await browser.close();
  child.kill('SIGINT');
  assert.equal(await exited, 0);
});
