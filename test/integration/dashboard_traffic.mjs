// Browser driver for test/integration/dashboard_traffic.sh: the Traffic
// page in Debian's chromium (playwright-core), against a node that read a
// capture file (MW_URL) and one with capture off (MW_OFF_URL). Prints one
// "ok <what>" per passed check; the first failure prints "FAIL: <why>" and
// exits 1. Env: MW_URL, MW_OFF_URL, MW_ADMIN_USER, MW_ADMIN_PASS,
// MW_FLOWS (flows in the file), MW_UDP_FLOWS, MW_OUT, CHROMIUM.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`dashboard_traffic.mjs: ${k} is not set`);
  return v;
};
const URL0 = env('MW_URL');
const OFF_URL = env('MW_OFF_URL');
const USER = env('MW_ADMIN_USER');
const PASS = env('MW_ADMIN_PASS');
const FLOWS = Number(env('MW_FLOWS'));
const UDP_FLOWS = Number(env('MW_UDP_FLOWS'));
const OUT = env('MW_OUT');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');

let checks = 0;
const ok = (what) => { checks++; console.log(`ok ${what}`); };
class CheckFailed extends Error {}
const check = (cond, what) => { if (!cond) throw new CheckFailed(what); };
const consoleErrors = [];
const pageErrors = [];

async function login(page, url) {
  await page.goto(url + '/dashboard', { waitUntil: 'load' });
  await page.locator('#login-form').waitFor({ state: 'visible' });
  await page.fill('#login-user', USER);
  await page.fill('#login-pass', PASS);
  await page.click('#login-submit');
  await page.locator('#shell').waitFor({ state: 'visible' });
}

const profile = path.join(OUT, 'chromium-profile-traffic');
mkdirSync(profile, { recursive: true });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
  timeout: 30000,
});
let exitCode = 0;
try {
  context.setDefaultTimeout(10000);
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective}`));
  });
  context.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location() && msg.location().url;
    // the invalid filter below is answered 400 on purpose
    if (/status of 400/.test(msg.text()) && url && new URL(url).pathname === '/api/flows') return;
    // the first /api/me before logging in
    if (/status of 401/.test(msg.text()) && url && new URL(url).pathname === '/api/me') return;
    consoleErrors.push(msg.text());
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  await login(page, URL0);
  const nav = await page.locator('#nav a[data-route="/traffic"]').textContent();
  check(nav === 'Traffic', `nav link "${nav}"`);
  await page.click('#nav a[data-route="/traffic"]');
  await page.waitForFunction(() => document.querySelector('#capture-state') && document.querySelector('#capture-state').dataset.state === 'finished');
  const src = await page.textContent('#capture-source');
  check(/known\.pcap$/.test(src), `source line "${src}"`);
  ok(`Traffic page: in the nav, state "finished", ${src}`);

  // charts from the WebSocket (or the polling fallback)
  await page.waitForFunction(() => ['#chart-bps', '#chart-pps'].every((s) => {
    const b = document.querySelector(s);
    return b && b.querySelector('canvas') && Number(b.dataset.filled) > 0;
  }));
  await page.waitForFunction(() => /bit\/s/.test(document.querySelector('#rates-now').textContent));
  const note = await page.textContent('#rates-source');
  ok(`bits/s and packets/s charts drawn; now line "${await page.textContent('#rates-now')}"; feed: ${note || '(first load)'}`);
  const protos = await page.locator('#proto-breakdown .proto-row').count();
  check(protos === 5, `${protos} protocol rows, want 5`);
  await page.waitForFunction(() => document.querySelectorAll('#talkers-table tbody tr').length >= 2 &&
    !document.querySelector('#talkers-table tbody td.empty'));
  const talkers = await page.locator('#talkers-table tbody tr td:first-child').allTextContents();
  ok(`protocols: 5 rows; top talkers: ${talkers.join(', ')}`);

  // the flow table, its filters, a bad filter
  await page.waitForFunction((n) => document.querySelectorAll('#flows-table tbody tr').length === n, FLOWS);
  ok(`flow table: all ${FLOWS} flows of the file`);
  await page.selectOption('#flow-proto', 'udp');
  await page.click('#flow-filters button[type="submit"]');
  await page.waitForFunction((n) => document.querySelectorAll('#flows-table tbody tr').length === n &&
    [...document.querySelectorAll('#flows-table tbody tr td:nth-child(3)')].every((td) => td.textContent === 'udp'), UDP_FLOWS);
  await page.selectOption('#flow-proto', '');
  await page.fill('#flow-port', '80');
  await page.click('#flow-filters button[type="submit"]');
  await page.waitForFunction(() => document.querySelectorAll('#flows-table tbody tr').length === 1);
  const tcpRow = await page.locator('#flows-table tbody tr').first().innerText();
  check(/10\.0\.0\.1:40000/.test(tcpRow) && /FSPA/.test(tcpRow), `port 80 row: ${tcpRow}`);
  ok(`filters: proto udp shows the ${UDP_FLOWS} UDP flows; port 80 the one TCP flow with flags FSPA`);
  await page.fill('#flow-port', '');
  await page.fill('#flow-ip', 'nonsense');
  await page.click('#flow-filters button[type="submit"]');
  await page.waitForSelector('#flow-error:not([hidden])');
  const err = await page.textContent('#flow-error');
  check(/"ip"/.test(err), `error "${err}"`);
  ok(`a bad address filter shows the node's error: ${err}`);
  const text = await page.locator('#view').innerText();
  const junk = /\b(NaN|undefined|Infinity)\b|\[object /.exec(text);
  check(!junk, `the page shows "${junk && junk[0]}"`);
  await page.screenshot({ path: path.join(OUT, 'traffic.png'), fullPage: true });

  // a node without capture: why and how
  await login(page, OFF_URL);
  await page.goto(OFF_URL + '/dashboard#/traffic');
  await page.waitForSelector('#capture-off:not([hidden])');
  const off = await page.textContent('#capture-off');
  check(/setcap cap_net_raw,cap_net_admin\+eip/.test(off) && /--iface/.test(off), `off card: ${off}`);
  check(await page.locator('#flows-table').isHidden(), 'the flow table shows while capture is off');
  await page.screenshot({ path: path.join(OUT, 'traffic-off.png'), fullPage: true });
  ok('capture off: the page says so, with the --iface and setcap commands, and hides the live parts');

  check(pageErrors.length === 0, `page errors: ${pageErrors.join(' | ')}`);
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
  ok('no page errors, console errors or CSP violations');
  console.log(`# ${checks} browser checks passed`);
} catch (e) {
  console.log(`FAIL: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
  exitCode = 1;
} finally {
  await context.close();
}
process.exit(exitCode);
