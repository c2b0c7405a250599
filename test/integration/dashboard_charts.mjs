// Browser driver for test/integration/dashboard_charts.sh: the time charts
// (web/chart.js on uPlot) and the matrix in Debian's chromium
// (playwright-core), against the reporting node of a real mesh. Prints one
// "ok <what>" per passed check; the first failure prints "FAIL: <why>" and
// exits 1. Env: MW_URL (the reporting node), MW_ADMIN_USER, MW_ADMIN_PASS,
// MW_ID1 / MW_ID2 / MW_ID3 (node ids; n3 was killed), MW_NAMES (the four
// fqdns), MW_TARGET (a target id on the reporting node), MW_OUT
// (screenshots), CHROMIUM.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`dashboard_charts.mjs: ${k} is not set`);
  return v;
};
const URL0 = env('MW_URL');
const USER = env('MW_ADMIN_USER');
const PASS = env('MW_ADMIN_PASS');
const ID1 = env('MW_ID1');
const ID2 = env('MW_ID2');
const ID3 = env('MW_ID3');
const NAMES = env('MW_NAMES').split(/\s+/).filter(Boolean);
const TARGET = env('MW_TARGET');
const OUT = env('MW_OUT');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const WIDE = { width: 1440, height: 900 };
const NARROW = { width: 390, height: 844 };

let checks = 0;
const ok = (what) => { checks++; console.log(`ok ${what}`); };
class CheckFailed extends Error {}
const check = (cond, what) => { if (!cond) throw new CheckFailed(what); };
const consoleErrors = [];
const pageErrors = [];
const requests = [];

const profile = path.join(OUT, 'chromium-profile');
mkdirSync(profile, { recursive: true });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, ignoreHTTPSErrors: true, viewport: WIDE,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
  timeout: 30000,
});

// The query (as an object) of a request to path (a RegExp on the
// pathname) with from and to that want(from, to) accepts, made while fn
// runs. The pages reload their ranges on timers too: a request that does
// not fit is someone else's, and none fitting in 15 s fails with what came.
async function requestOf(page, re, fn, want, what) {
  const seen = [];
  const [req] = await Promise.all([
    page.waitForRequest((r) => {
      const u = new URL(r.url());
      if (!re.test(u.pathname) || !u.searchParams.has('from')) return false;
      seen.push(`${u.searchParams.get('from')}..${u.searchParams.get('to')}`);
      return want(Number(u.searchParams.get('from')), Number(u.searchParams.get('to')));
    }, { timeout: 15000 }).catch(() => { throw new CheckFailed(`${what}: no request with the range wanted; saw ${JSON.stringify(seen)}`); }),
    fn(),
  ]);
  return Object.fromEntries(new URL(req.url()).searchParams);
}

// A chart drew: a uPlot canvas of some width inside box sel, and its data
// attributes (points on the x axis, points with a value).
async function chartDrawn(page, sel, what) {
  await page.waitForFunction((s) => {
    const b = document.querySelector(s);
    const c = b && b.querySelector('canvas');
    return c && c.width > 100 && b.dataset.points;
  }, sel, { timeout: 15000 }).catch(() => { throw new CheckFailed(`${what}: no uPlot canvas in ${sel}`); });
  return page.$eval(sel, (b) => ({ points: Number(b.dataset.points), filled: Number(b.dataset.filled), zeros: Number(b.dataset.zeros),
    legend: [...b.querySelectorAll('.u-legend th')].map((e) => e.textContent.trim()), width: b.querySelector('canvas').getBoundingClientRect().width }));
}

// Each preset asks for its span and is the one shown pressed; custom from/to
// is asked as typed; a backwards one is refused; drag-to-zoom and reset.
async function rangeChecks(page, scope, apiRe, what, presets) {
  const spans = { '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800 };
  for (const k of presets) {
    await requestOf(page, apiRe, () => page.click(`${scope} .range-btn[data-range="${k}"]`),
      (f, t) => t - f === spans[k] && Math.abs(t - Date.now() / 1000) < 120, `${what}: the ${k} button (${spans[k]} s ending now)`);
    const pressed = await page.$$eval(`${scope} .range-btn[aria-pressed="true"]`, (els) => els.map((e) => e.dataset.range));
    check(pressed.length === 1 && pressed[0] === k, `${what}: after ${k}, pressed ${JSON.stringify(pressed)}`);
  }
  // custom: two hours ending an hour ago (UTC, whole minutes)
  const end = Math.floor(Date.now() / 60000) * 60 - 3600, start = end - 7200;
  const iso = (s) => new Date(s * 1000).toISOString().slice(0, 16);
  await page.click(`${scope} .range-btn[data-range="custom"]`);
  await page.fill(`${scope} .range-from`, iso(end));
  await page.fill(`${scope} .range-to`, iso(start));
  await page.click(`${scope} .range-apply`);
  await page.locator(`${scope} .range-error`).waitFor({ state: 'visible' });
  check(/after/.test(await page.textContent(`${scope} .range-error`)), `${what}: a backwards custom range is not refused`);
  await page.fill(`${scope} .range-from`, iso(start));
  await page.fill(`${scope} .range-to`, iso(end));
  await requestOf(page, apiRe, () => page.click(`${scope} .range-apply`), (f, t) => f === start && t === end,
    `${what}: custom ${start}..${end}`);
  check(await page.getAttribute(`${scope} .range-btn[data-range="custom"]`, 'aria-pressed') === 'true', `${what}: custom not shown pressed`);
  ok(`${what}: ${presets.join(', ')} and a custom range ask for their from/to and show pressed; a backwards custom range is refused`);
}

async function zoomChecks(page, scope, boxSel, what) {
  const over = page.locator(`${boxSel} .u-over`);
  await over.scrollIntoViewIfNeeded();
  const b = await over.boundingBox();
  check(b && b.width > 100, `${what}: no plot area to drag on`);
  await page.mouse.move(b.x + b.width * 0.3, b.y + b.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width * 0.5, b.y + b.height / 2, { steps: 6 });
  await page.mouse.up();
  await page.locator(`${scope} .zoom-reset`).waitFor({ state: 'visible', timeout: 5000 })
    .catch(() => { throw new CheckFailed(`${what}: dragging across the chart shows no "Reset zoom"`); });
  await page.click(`${scope} .zoom-reset`);
  await page.locator(`${scope} .zoom-reset`).waitFor({ state: 'hidden' });
  ok(`${what}: drag-to-zoom shows "Reset zoom", which undoes it`);
}

async function shots(page, name) {
  await page.setViewportSize(WIDE);
  await page.waitForTimeout(400);
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
  await page.setViewportSize(NARROW);
  await page.waitForTimeout(600); // charts follow their box's width
  await page.screenshot({ path: path.join(OUT, `${name}-narrow.png`), fullPage: true });
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const wide = await page.$$eval('.uplot-box canvas', (cs) => cs.map((c) => c.getBoundingClientRect().right).filter((r) => r > window.innerWidth + 1).length);
  await page.setViewportSize(WIDE);
  await page.waitForTimeout(300);
  check(over <= 0, `${name}: overflows a 390 px wide screen by ${over} px`);
  check(wide === 0, `${name}: ${wide} chart(s) wider than a 390 px screen`);
  ok(`${name}: screenshots at 1440x900 and 390x844, nothing wider than the narrow screen`);
}

let exitCode = 0;
try {
  context.setDefaultTimeout(15000);
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  context.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location() && msg.location().url;
    if (/status of 401/.test(msg.text()) && url && new URL(url).pathname === '/api/me') return; // before logging in
    consoleErrors.push(msg.text());
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));

  await page.goto(URL0 + '/dashboard', { waitUntil: 'load' });
  await page.locator('#login-form').waitFor({ state: 'visible' });
  await page.fill('#login-user', USER);
  await page.fill('#login-pass', PASS);
  await page.click('#login-submit');
  await page.locator('#shell').waitFor({ state: 'visible' });
  const assets = requests.filter((u) => /\/assets\/(uPlot\.iife\.min\.js|uPlot\.min\.css|chart\.js|charts\.css)$/.test(new URL(u).pathname));
  check(assets.length === 4, `embedded chart assets loaded: ${JSON.stringify(assets)}`);
  ok('uPlot and the chart wrapper load from the node itself');

  // ---- node page: n1 as the reporting node sees it
  await page.goto(`${URL0}/dashboard#/nodes/${ID1}`);
  await page.locator('#node .page-body').waitFor({ state: 'visible' });
  const rtt = await chartDrawn(page, '#chart-rtt', 'node page RTT');
  for (const sel of ['#chart-jitter', '#chart-loss', '#chart-ok', '#chart-rt']) await chartDrawn(page, sel, `node page ${sel}`);
  check(rtt.legend.some((t) => /average \(ms\)/.test(t)) && rtt.legend.some((t) => /min \(ms\)/.test(t)) && rtt.legend.some((t) => /max \(ms\)/.test(t)),
    `node RTT legend ${JSON.stringify(rtt.legend)}`);
  const loss = await chartDrawn(page, '#chart-loss', 'node page loss');
  check(loss.legend.some((t) => /loss \(%\)/.test(t)), `loss legend ${JSON.stringify(loss.legend)}`);
  // the peer is a minute old: most buckets of the range are gaps, not zeros
  check(rtt.filled >= 1 && rtt.filled < rtt.points, `node RTT: ${rtt.filled} of ${rtt.points} buckets have data; want gaps before the first`);
  check(loss.zeros >= 1, `node loss: no 0 % bucket among ${loss.filled} (loopback loses nothing)`);
  ok(`node page: RTT min/avg/max, jitter, loss, success and poll-time canvases; ${rtt.filled} of ${rtt.points} buckets filled (the rest are gaps); legends with units`);
  await shots(page, 'node');
  // dark scheme: the chart colours come from web/charts.css's dark block
  const light = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--chart-1').trim());
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(400);
  const dark = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--chart-1').trim());
  await page.screenshot({ path: path.join(OUT, 'node-dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  check(light && dark && light !== dark, `--chart-1 is "${light}" light and "${dark}" dark`);
  await chartDrawn(page, '#chart-rtt', 'node page RTT after the scheme changed');
  ok(`node page: the charts redraw with the dark scheme's colours (--chart-1 ${light} -> ${dark}), screenshot node-dark.png`);
  await rangeChecks(page, '#peer-charts', /\/api\/nodes\/[^/]+\/history$/, 'node page', ['6h', '7d', '1h']);
  await page.click('#peer-charts .range-btn[data-range="1h"]');
  await page.waitForFunction(() => document.querySelector('#history-info').textContent.includes('of 1 min'));
  await zoomChecks(page, '#peer-charts', '#chart-rtt', 'node page');

  // ---- matrix: tabs, legend, dead cells, full headers, thresholds
  await page.goto(`${URL0}/dashboard#/matrix`);
  await page.locator('#matrix').waitFor({ state: 'visible' });
  const heads = await page.$$eval('#matrix thead th.mx-col', (els) => els.map((e) => {
    const s = e.querySelector('span');
    return { text: s.textContent, title: e.title, cut: s.scrollHeight > s.clientHeight + 1 || s.getBoundingClientRect().height > e.getBoundingClientRect().height + 1 };
  }));
  check(heads.length === 4 && NAMES.every((n) => heads.some((x) => x.text === n && x.title.startsWith(n))),
    `matrix headers ${JSON.stringify(heads)}, want ${JSON.stringify(NAMES)}`);
  check(heads.every((x) => !x.cut), `matrix headers cut off: ${JSON.stringify(heads.filter((x) => x.cut))}`);
  ok(`matrix: column headers carry the full names (${NAMES.join(', ')}), in their title too, none cut off`);
  const deadCells = async () => page.$$eval('#matrix tbody td.mx-dead', (els) => els.map((e) => ({ text: e.textContent.trim(), label: e.querySelector('a') ? e.querySelector('a').getAttribute('aria-label') : '' })));
  const tabs = { rtt: /RTT \(ms\)/, loss: /Loss \(%\)/, pmtu: /PMTU \(bytes\)/, state: /State/ };
  const grids = {};
  for (const [k, re] of Object.entries(tabs)) {
    await page.click(`#mx-tab-${k}`);
    await page.waitForFunction((t) => document.querySelector('#matrix-panel').dataset.tab === t, k);
    check(await page.getAttribute(`#mx-tab-${k}`, 'aria-selected') === 'true', `tab ${k} not selected`);
    const legendText = await page.textContent('#matrix-legend');
    check(re.test(legendText), `matrix ${k} legend "${legendText}" lacks ${re}`);
    grids[k] = await page.$$eval('#matrix tbody td.mx-cell:not(.mx-diag)', (els) => els.map((e) => e.textContent.trim()).join('|'));
    const dead = await deadCells();
    check(dead.length >= 2 && dead.every((d) => d.text === 'dead' && /dead/.test(d.label)), `matrix ${k}: dead cells ${JSON.stringify(dead)}`);
    await page.screenshot({ path: path.join(OUT, `matrix-${k}.png`), fullPage: true });
  }
  check(grids.rtt !== grids.loss && grids.loss !== grids.pmtu && grids.pmtu !== grids.state, `the tabs draw the same grid: ${JSON.stringify(grids)}`);
  check(/alive/.test(grids.state) && !/alive/.test(grids.rtt), `state grid ${grids.state}`);
  ok(`matrix: RTT, loss, PMTU and state tabs switch the grid and the legend (with its unit); ${(await deadCells()).length} cells say "dead" (n3, killed)`);
  // unknown is drawn apart from dead (the legend has both)
  check(await page.locator('#matrix-legend .mx-swatch.mx-unknown').count() === 1 && await page.locator('#matrix-legend .mx-swatch.mx-dead').count() === 1, 'legend lacks distinct unknown and dead');
  // thresholds: RTT above 0.0001 ms is already yellow or worse
  await page.click('#mx-tab-rtt');
  await page.click('#mx-thresholds summary');
  const before = await page.$$eval('#matrix tbody td[data-class]', (els) => els.map((e) => e.dataset.class));
  await page.fill('#mx-th-0', '0.0001');
  await page.fill('#mx-th-1', '0.0002');
  await page.fill('#mx-th-2', '0.0003');
  await page.fill('#mx-th-3', '0.0004');
  await page.click('#mx-th-save');
  await page.waitForFunction(() => [...document.querySelectorAll('#matrix tbody td[data-class]')].every((e) => e.dataset.class === '4'))
    .catch(async () => {
      const st = await page.evaluate(() => ({
        open: document.querySelector('#mx-thresholds').open, inputs: [0, 1, 2, 3].map((i) => document.querySelector(`#mx-th-${i}`).value),
        error: document.querySelector('#mx-th-error').textContent, kept: localStorage.getItem('meshwatch.matrix.thresholds'),
        classes: [...document.querySelectorAll('#matrix tbody td[data-class]')].map((e) => `${e.dataset.class}:${e.textContent}`),
      }));
      throw new CheckFailed(`matrix: after saving thresholds 0.0001..0.0004 the cells are not all the worst class: ${JSON.stringify(st)}`);
    });
  const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('meshwatch.matrix.thresholds')));
  check(JSON.stringify(kept.rtt) === JSON.stringify([0.0001, 0.0002, 0.0003, 0.0004]), `localStorage has ${JSON.stringify(kept)}`);
  check(/localStorage/.test(await page.textContent('#mx-th-note')), 'the page does not say where thresholds are kept');
  await page.reload();
  await page.locator('#matrix tbody td[data-class]').first().waitFor();
  check(await page.$$eval('#matrix tbody td[data-class]', (els) => els.every((e) => e.dataset.class === '4')), 'thresholds not applied after a reload');
  await page.click('#mx-thresholds summary');
  await page.fill('#mx-th-1', '0');
  await page.click('#mx-th-save');
  await page.locator('#mx-th-error').waitFor({ state: 'visible' });
  await page.click('#mx-th-reset');
  // the RTTs move between refreshes: each cell's class is what its number gives with the defaults
  await page.waitForFunction(() => [...document.querySelectorAll('#matrix tbody td[data-class]')].every((e) =>
    Number(e.dataset.class) === [1, 10, 50, 150].filter((t) => Number(e.textContent) > t).length))
    .catch(() => { throw new CheckFailed('matrix: "Defaults" does not bring back the default colours'); });
  const after = await page.$$eval('#matrix tbody td[data-class]', (els) => els.map((e) => e.dataset.class));
  ok(`matrix: thresholds saved in localStorage recolour the grid (kept over a reload), a falling list is refused, "Defaults" restores the default classes (${before.join(',')} before, ${after.join(',')} after)`);
  await page.click('#mx-tab-rtt');
  await shots(page, 'matrix');

  // ---- pair page: n1 -> n2, a row n1 reported
  await page.click(`#matrix a[href="#/matrix/${ID1}/${ID2}"]`);
  await page.locator('#pair-charts').waitFor({ state: 'visible' });
  const pair = await chartDrawn(page, '#pair-chart', 'pair page RTT');
  await chartDrawn(page, '#pair-state', 'pair page state');
  check(pair.filled >= 2 && pair.legend.some((t) => /UDP RTT \(ms\)/.test(t)), `pair chart: ${JSON.stringify(pair)}`);
  ok(`pair page: state, RTT, loss and PMTU canvases for ${NAMES[0]} -> ${NAMES[1]} (${pair.filled} samples)`);
  await shots(page, 'pair');
  await rangeChecks(page, '#pair-charts', /\/api\/mesh\/history$/, 'pair page', ['1h', '6h', '24h']);

  // ---- target page
  await page.goto(`${URL0}/dashboard#/targets/${TARGET}`);
  await page.locator('#target').waitFor({ state: 'visible' });
  const tr = await chartDrawn(page, '#target-ratio-chart', 'target success ratio');
  await chartDrawn(page, '#target-latency-chart', 'target latency');
  check(tr.filled >= 1 && tr.legend.some((t) => /up \(%\)/.test(t)), `target chart ${JSON.stringify(tr)}`);
  ok(`target page: success-ratio and connect-time canvases (${tr.filled} of ${tr.points} buckets filled)`);
  await shots(page, 'target');
  await rangeChecks(page, '#target', /\/api\/targets\/\d+\/history$/, 'target page', ['6h', '24h', '1h']);
  await zoomChecks(page, '#target', '#target-latency-chart', 'target page');

  // ---- traffic page (the capture file's counters)
  await page.goto(`${URL0}/dashboard#/traffic`);
  await page.waitForFunction(() => document.querySelector('#capture-state') && document.querySelector('#capture-state').dataset.state === 'finished');
  const live = await chartDrawn(page, '#chart-bps', 'traffic bits/s');
  await chartDrawn(page, '#chart-pps', 'traffic packets/s');
  check(live.filled >= 1 && live.legend.some((t) => /bit\/s/.test(t)), `traffic live chart ${JSON.stringify(live)}`);
  check(await page.getAttribute('#view .range-btn[data-range="5m"]', 'aria-pressed') === 'true', 'traffic: "5 min (live)" not pressed at first');
  await requestOf(page, /^\/api\/counters$/, () => page.click('#view .range-btn[data-range="1h"]'), (f, t) => t - f === 3600,
    'traffic: the 1h button (an hour ending at the capture\u2019s last second)');
  await page.waitForFunction(() => /a point every/.test(document.querySelector('#traffic-range-info').textContent));
  const hr = await chartDrawn(page, '#chart-bps', 'traffic 1 h');
  // the file lasts seconds: the hour before it is a gap, not zero traffic
  check(hr.filled >= 1 && hr.filled < hr.points / 2, `traffic 1 h: ${hr.filled} of ${hr.points} points filled; want a gap before the capture`);
  ok(`traffic page: live and 1 h canvases; 1 h asks /api/counters for 3600 s and draws ${hr.filled} of ${hr.points} points (before the capture: a gap)`);
  await shots(page, 'traffic');

  const foreign = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== new URL(URL0).origin && new URL(u).origin !== new URL(URL0.replace(/^https:/, 'wss:')).origin);
  check(foreign.length === 0, `requests elsewhere: ${JSON.stringify(foreign)}`);
  check(consoleErrors.length === 0, `console errors: ${JSON.stringify(consoleErrors)}`);
  check(pageErrors.length === 0, `page errors: ${JSON.stringify(pageErrors)}`);
  ok('no console errors, CSP violations or uncaught exceptions; every request went to the node');
} catch (e) {
  exitCode = 1;
  console.log(`FAIL: ${e instanceof CheckFailed ? e.message : (e && e.stack) || String(e)}`);
  if (consoleErrors.length) console.log(`console errors seen: ${JSON.stringify(consoleErrors)}`);
  if (pageErrors.length) console.log(`page errors seen: ${JSON.stringify(pageErrors)}`);
  try {
    const p = context.pages()[0];
    if (p) await p.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true });
  } catch (e2) { /* browser gone */ }
} finally {
  await context.close().catch(() => {});
}
console.log(`driver: ${checks} checks passed${exitCode ? ', then one failed' : ''}`);
process.exit(exitCode);
