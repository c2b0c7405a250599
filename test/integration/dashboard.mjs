// Browser driver for test/integration/dashboard.sh: drives Debian's
// chromium through playwright-core (no browser download) against a running
// node, and prints one "ok <what>" line per passed check. The first failed
// check prints "FAIL: <why>" and exits 1. Inputs come from the environment
// (set by dashboard.sh):
//   MW_URL        https://ADDR:8443 of the node under test
//   MW_RL_URL     a second node with a login rate limit of 2 a minute (optional)
//   MW_NODE_ID    node_id from GET /health;  MW_FQDN  its node_fqdn
//   MW_ADMIN_USER / MW_ADMIN_PASS
//   MW_NEW_USER / MW_NEW_PASS / MW_NEW_PASS2   user created, then its password changed
//   MW_DEL_USER   user created and then deleted through the page
//   MW_PEERS      fqdns of the node's two mesh peers, space separated
//   MW_KILL_PID   pid of one of them (MW_KILL_FQDN), killed (SIGKILL) mid-test
//   MW_PMTU       the PMTU expected on loopback (lo MTU, at most 65535)
//   MW_WS         1 when the node serves /ws (the page must say "live"), else 0
//   MW_ALERTS     1 when the node has the alerts API (/api/alerts), else 0
//   MW_SCAN_ADDR  the node's own address, the one subnet (/32) it may scan
//   MW_OUT        directory for screenshots, the chromium profile and cookie.txt
//   CHROMIUM      browser binary (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`dashboard.mjs: ${k} is not set`);
  return v;
};
const URL0 = env('MW_URL');
const RL_URL = process.env.MW_RL_URL || '';
const NODE_ID = env('MW_NODE_ID');
const FQDN = env('MW_FQDN');
const ADMIN_USER = env('MW_ADMIN_USER');
const ADMIN_PASS = env('MW_ADMIN_PASS');
const NEW_USER = env('MW_NEW_USER');
const NEW_PASS = env('MW_NEW_PASS');
const NEW_PASS2 = env('MW_NEW_PASS2');
const DEL_USER = env('MW_DEL_USER');
const OUT = env('MW_OUT');
const PEERS = env('MW_PEERS').split(/\s+/).filter(Boolean).sort();
const KILL_PID = Number(env('MW_KILL_PID'));
const KILL_FQDN = env('MW_KILL_FQDN');
const PMTU = env('MW_PMTU');
const WS = env('MW_WS', '0') === '1';
const ALERTS = env('MW_ALERTS', '0') === '1';
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const SCAN_ADDR = process.env.MW_SCAN_ADDR || '';

const allowedOrigins = new Set([new URL(URL0).origin, new URL(URL0.replace(/^https:/, 'wss:')).origin]);
if (RL_URL) allowedOrigins.add(new URL(RL_URL).origin);

let checks = 0;
const T0 = Date.now();
function ok(what) {
  checks++;
  // MW_TIMING=1: seconds since the driver started, to see where time goes
  console.log(`ok ${what}${process.env.MW_TIMING ? ` [${((Date.now() - T0) / 1000).toFixed(1)} s]` : ''}`);
}
class CheckFailed extends Error {}
function check(cond, what) {
  if (!cond) throw new CheckFailed(what);
}

// Everything the page does that a check looks at afterwards.
const requests = [];        // every URL the browser asked for
const consoleErrors = [];   // {text, url}
const pageErrors = [];      // uncaught exceptions
const expected404 = new Set(); // paths (and below) the test makes the page ask for in vain

// Responses the page is expected to provoke: "Failed to load resource" for
// these is not a fault of the page.
function expectedConsoleError(text, url) {
  // a build without /ws: the page falls back to polling, the browser notes
  // each failed handshake
  if (!WS && /^WebSocket connection to 'wss:\/\/[^']+\/ws' failed/.test(text)) return true;
  const m = /Failed to load resource: the server responded with a status of (\d+)/.exec(text);
  if (!m || !url) return false;
  const p = new URL(url).pathname;
  if (m[1] === '401') return ['/api/me', '/api/login', '/api/node'].includes(p);
  if (m[1] === '429') return p === '/api/login';
  // a build without alerting: the alerts page and the navigation count ask once
  if (m[1] === '404') return (!ALERTS && p.startsWith('/api/alerts')) || [...expected404].some((x) => p === x || p.startsWith(x + '/'));
  if (m[1] === '400') return ['/api/users', '/api/targets', '/api/scans'].includes(p); // the invalid creates below
  return false;
}

// Text of every element matching sel, trimmed.
const texts = (page, sel) => page.locator(sel).evaluateAll((els) => els.map((e) => e.textContent.trim()));

async function noOverflow(page, name) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300); // drawings re-layout for the narrow width
  await page.screenshot({ path: path.join(OUT, `${name}-narrow.png`), fullPage: true });
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize({ width: 1280, height: 800 });
  check(over <= 0, `${name} page overflows a 390 px wide screen by ${over} px`);
}

// No value shown as NaN / undefined / null (unknown values are "—").
async function noJunkValues(page, sel, what) {
  const t = await page.locator(sel).innerText();
  const m = /\b(NaN|undefined|null|Infinity)\b|\[object /.exec(t);
  check(!m, `${what} shows "${m && m[0]}"`);
}

// The matrix: this node's own row (its polls), one column per node, the
// diagonal empty, the live peer's cell linking to the pair's history; the
// origins table names this node. (Reporting-node rows are covered by the
// report test's API checks.)
async function matrixChecks(page) {
  await page.click('#nav a[href="#/matrix"]');
  await page.locator('#matrix').waitFor({ state: 'visible' });
  // the killed peer was forgotten on the node page (meshChecks)
  const live = PEERS.find((p) => p !== KILL_FQDN);
  await page.waitForFunction((want) => {
    const c = [...document.querySelectorAll('#matrix thead th.mx-col')].map((e) => e.textContent.trim()).sort();
    return JSON.stringify(c) === JSON.stringify(want);
  }, [FQDN, live].sort(), { timeout: 15000 });
  const cols = await texts(page, '#matrix thead th.mx-col');
  const rows = await texts(page, '#matrix tbody th.mx-row');
  check(rows.length === 1 && rows[0] === FQDN, `matrix rows ${JSON.stringify(rows)}: want only this node's own`);
  check(await page.locator('#matrix td.mx-diag').count() === 1, 'matrix: no empty diagonal cell');
  const liveCol = cols.indexOf(live);
  const cell = page.locator('#matrix tbody tr').first().locator('td').nth(liveCol);
  await page.waitForFunction((i) => {
    const td = document.querySelectorAll('#matrix tbody tr')[0].querySelectorAll('td')[i];
    return td && td.dataset.state === 'alive' && td.querySelector('a');
  }, liveCol, { timeout: 15000 });
  check(/ms/.test(await cell.getAttribute('title')), 'matrix cell tooltip lacks the RTT');
  const origin = await texts(page, '#origins-table tbody td:first-child');
  check(origin.some((t) => t.startsWith(FQDN) && /this node/.test(t)), `origins table: ${JSON.stringify(origin)}`);
  await noJunkValues(page, '#matrix', 'matrix');
  await page.screenshot({ path: path.join(OUT, 'matrix.png'), fullPage: true });
  ok(`matrix: own row, ${cols.length} columns, ${live} alive with RTT, origins table`);
  await cell.locator('a').click();
  await page.locator('#pair-chart').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelector('h1') && /→|->/.test(document.querySelector('#view h1').textContent), null, { timeout: 10000 }).catch(() => {});
  check(/#\/matrix\/[0-9a-f-]{36}\/[0-9a-f-]{36}$/.test(page.url()), `pair route: ${page.url()}`);
  await page.screenshot({ path: path.join(OUT, 'pair.png'), fullPage: true });
  ok('matrix: a cell opens that pair\'s history');
}

// TCP targets: add through the form (a bad port first), the row turns
// "up", the target page draws its charts, group-by, delete with confirm.
async function targetChecks(page) {
  await page.click('#nav a[href="#/targets"]');
  await page.locator('#targets').waitFor({ state: 'visible' });
  await page.waitForFunction(() => /No targets yet/.test(document.querySelector('#targets-table tbody').textContent));
  ok('targets page: says there are no targets yet');
  const host = new URL(URL0).hostname;
  await page.fill('#tf-name', 'the node itself');
  await page.fill('#tf-host', host);
  await page.fill('#tf-port', '0');
  await page.fill('#tf-interval_s', '1');
  await page.click('#target-save');
  await page.waitForFunction(() => /"port"/.test(document.querySelector('#target-form-error').textContent));
  ok('targets form: a bad port shows the API\'s error naming "port"');
  await page.fill('#tf-port', '8443');
  await page.click('#target-save');
  const row = page.locator('#targets-table tr[data-target-id]');
  await row.first().waitFor({ state: 'visible' });
  await page.waitForFunction(() => {
    const b = document.querySelector('#targets-table tr[data-target-id] .badge');
    return b && b.dataset.state === 'up';
  }, null, { timeout: 15000 });
  await noJunkValues(page, '#targets-table', 'targets table');
  ok('targets form: the new target is listed and turns "up"');
  await page.screenshot({ path: path.join(OUT, 'targets.png'), fullPage: true });
  await noOverflow(page, 'targets');
  await page.click('#targets-table tr[data-target-id] a');
  await page.locator('#target').waitFor({ state: 'visible' });
  await page.locator('#target-ratio-chart canvas').first().waitFor({ state: 'visible' });
  await page.selectOption('#target-group-by', '10s');
  await page.waitForFunction(() => /buckets of 10 s/.test(document.querySelector('#target-history-summary').textContent), null, { timeout: 15000 });
  await noJunkValues(page, '#target-facts', 'target facts');
  ok('target page: settings, success-ratio and latency charts, group-by 10 s');
  await page.screenshot({ path: path.join(OUT, 'target.png'), fullPage: true });
  await page.click('.crumbs a[href="#/targets"]');
  await row.first().waitFor({ state: 'visible' });
  await page.click('#targets-table tr[data-target-id] button[data-action="delete"]');
  await page.waitForFunction(() => /No targets yet/.test(document.querySelector('#targets-table tbody').textContent));
  ok('targets: delete (confirmed) removes the row');
}

// The mesh inventory: this node's own target listed under "(this node)",
// never stale, on the Targets tab; each tab draws; no overflow at 390 px.
async function inventoryChecks(page) {
  const host = new URL(URL0).hostname;
  const made = await page.evaluate(async (hostname) => {
    const r = await fetch('/api/targets', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'inventory-check', host: hostname, port: 8443, interval_s: 1 }),
    });
    return { status: r.status, body: await r.json() };
  }, host);
  check(made.status === 201, `POST /api/targets for the inventory: HTTP ${made.status}`);
  await page.click('#nav a[href="#/inventory"]');
  await page.locator('#inventory').waitFor({ state: 'visible' });
  check(await page.locator('#inventory [role="tab"]').count() === 4, 'inventory: want 4 tabs');
  await page.click('#inv-tab-targets');
  await page.waitForFunction(() => [...document.querySelectorAll('#inv-table tbody tr')].some((tr) =>
    /inventory-check/.test(tr.textContent) && /this node/.test(tr.textContent) && !tr.querySelector('.inv-stale') &&
    /up/.test(tr.querySelector('td[data-label="State"]').textContent)), null, { timeout: 15000 });
  await noJunkValues(page, '#inv-table', 'inventory targets');
  ok('inventory: the Targets tab lists this node\'s own target, up, not stale');
  for (const tab of ['traffic', 'changes', 'hosts']) {
    await page.click(`#inv-tab-${tab}`);
    await page.waitForFunction((t) => document.querySelector(`#inv-tab-${t}`).getAttribute('aria-selected') === 'true' &&
      document.querySelectorAll('#inv-table tbody tr').length > 0, tab);
    await noJunkValues(page, '#inv-table', `inventory ${tab}`);
  }
  await page.click('#inv-tab-targets');
  await page.selectOption('#inv-origin', NODE_ID);
  await page.waitForFunction(() => /inventory-check/.test(document.querySelector('#inv-table tbody').textContent));
  ok('inventory: Traffic, Changes and Hosts tabs draw; the origin filter keeps this node\'s target');
  await page.screenshot({ path: path.join(OUT, 'inventory.png'), fullPage: true });
  await noOverflow(page, 'inventory');
  const del = await page.evaluate(async (id) => (await fetch(`/api/targets/${id}`, { method: 'DELETE', credentials: 'same-origin' })).status, made.body.id);
  check(del === 204, `DELETE the inventory target: HTTP ${del}`);
  ok('inventory screenshots saved; no horizontal overflow at 390 px');
}

// The mesh page, the node page, a node killed while watching, forget.
async function meshChecks(page) {
  // two alive peers, by name, in the table
  const rowsSel = '#peers-table tr.peer-row';
  await page.waitForFunction(([sel, want]) => {
    const alive = [...document.querySelectorAll(sel)].filter((r) => r.dataset.state === 'alive').map((r) => r.dataset.fqdn).sort();
    return JSON.stringify(alive) === JSON.stringify(want);
  }, [rowsSel, PEERS], { timeout: 20000 });
  const names = (await texts(page, `${rowsSel} .peer-link`)).sort();
  check(JSON.stringify(names) === JSON.stringify(PEERS), `peer table names ${JSON.stringify(names)}, want ${JSON.stringify(PEERS)}`);
  await page.waitForFunction(() => document.querySelector('#stat-alive').textContent === '2' && document.querySelector('#stat-total').textContent === '2');
  check(await page.textContent('#stat-suspect') === '0' && await page.textContent('#stat-dead') === '0', 'suspect/dead counts not 0');
  ok(`mesh page: 2 alive peers (${PEERS.join(', ')}), counts total 2 / alive 2 / suspect 0 / dead 0`);

  // topology: this node + 2 peers, coloured alive, edges labelled in ms
  const svg = page.locator('svg#topology');
  await svg.waitFor();
  check(await svg.locator('a.topo-node').count() === 3, `topology has ${await svg.locator('a.topo-node').count()} nodes, want 3`);
  check(await svg.locator('a.topo-self').count() === 1, 'topology lacks this node');
  check(await svg.locator('a.topo-peer.state-alive').count() === 2, 'topology peers not both alive');
  const svgNames = (await svg.locator('a.topo-peer').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')))).sort();
  check(JSON.stringify(svgNames) === JSON.stringify(PEERS), `topology names ${JSON.stringify(svgNames)}`);
  await page.waitForFunction(() => [...document.querySelectorAll('#topology .topo-edge-label')].every((t) => / ms/.test(t.textContent)));
  const fills = await svg.locator('a.topo-peer circle').evaluateAll((els) => els.map((e) => getComputedStyle(e).fill));
  check(fills.every((f) => f === 'rgb(46, 158, 91)'), `alive peers are drawn in ${JSON.stringify(fills)}, want green`);
  ok(`topology SVG: 3 nodes (this node + 2 green peers), edges labelled "${(await texts(page, '#topology .topo-edge-label')).join('", "')}"`);

  // live (WebSocket) or polling, as the node allows
  await page.waitForFunction(() => ['live', 'polling'].includes(document.querySelector('#feed-mode').dataset.mode));
  const mode = await page.getAttribute('#feed-mode', 'data-mode');
  check(mode === (WS ? 'live' : 'polling'), `page says "${mode}", want "${WS ? 'live' : 'polling'}"`);
  ok(`updates: the page says "${mode}" (${WS ? 'WebSocket /ws' : 'no /ws: polls /api/nodes every 2 s'})`);

  // table cells: PMTU, times, "ago", no junk
  await page.waitForFunction(([sel, want]) => [...document.querySelectorAll(sel + ' td[data-label="PMTU"]')].every((td) => td.textContent.trim() === want), [rowsSel, PMTU]);
  const ages = await texts(page, `${rowsSel} td[data-label="Last seen"]`);
  check(ages.every((a) => /^(just now|\d+ s ago)$/.test(a)), `last seen ${JSON.stringify(ages)}`);
  await noJunkValues(page, '#mesh', 'mesh page');
  // sorting by a header click
  await page.click('#peers-table th[data-col="fqdn"] button');
  check(await page.getAttribute('#peers-table th[data-col="fqdn"]', 'aria-sort') === 'descending', 'name column not sorted descending after a click');
  const desc = (await texts(page, `${rowsSel} .peer-link`));
  check(JSON.stringify(desc) === JSON.stringify(PEERS.slice().reverse()), `sorted descending: ${JSON.stringify(desc)}`);
  await page.click('#peers-table th[data-col="fqdn"] button');
  check(JSON.stringify(await texts(page, `${rowsSel} .peer-link`)) === JSON.stringify(PEERS), 'name sort back to ascending failed');
  ok(`peer table: PMTU ${PMTU}, last seen "${ages.join('", "')}", sorts by clicking a header`);
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header stays on top
  await page.screenshot({ path: path.join(OUT, 'mesh.png'), fullPage: true });
  await noOverflow(page, 'mesh');
  ok('mesh screenshots saved; no horizontal overflow at 390 px');

  // ---- a click on a peer in the drawing opens its node page
  const live = PEERS.find((p) => p !== KILL_FQDN);
  const liveId = await svg.locator(`a.topo-peer[aria-label="${live}"]`).getAttribute('data-peer-id');
  await svg.locator(`a.topo-peer[aria-label="${live}"]`).click();
  await page.locator('#node .page-body').waitFor({ state: 'visible' });
  check(new URL(page.url()).hash === `#/nodes/${liveId}`, `node page route ${new URL(page.url()).hash}`);
  check((await page.textContent('#peer-title')).trim() === live, `node page title "${await page.textContent('#peer-title')}"`);
  check((await page.textContent('#node [data-field="id"]')).trim() === liveId, 'node page shows another id');
  check(/^sha256:[0-9a-f]{64}$/.test((await page.textContent('#node [data-field="pin"]')).trim()), `node page key pin "${await page.textContent('#node [data-field="pin"]')}"`);
  check((await page.textContent('#peer-state')).trim() === 'alive', `node page state "${await page.textContent('#peer-state')}"`);
  ok(`clicking ${live} in the topology opens #/nodes/${liveId}`);
  // charts (uPlot canvases, web/chart.js) with data, PMTU
  const drawn = (sel) => page.waitForFunction((s) => {
    const b = document.querySelector(s);
    return b && b.querySelector('canvas') && Number(b.dataset.filled) > 0;
  }, sel);
  await drawn('#chart-rt');
  await drawn('#chart-ok');
  await page.waitForFunction((want) => document.querySelector('#node [data-field="pmtu.value"]').textContent === `${Number(want).toLocaleString('en-US')} B`, PMTU);
  const pm = await texts(page, '#pmtu-table tbody td');
  check(pm.includes(PMTU), `PMTU history ${JSON.stringify(pm)} lacks ${PMTU}`);
  check((await page.textContent('#node [data-field="pmtu.black_hole"]')).trim() === 'no', 'black hole not "no"');
  await noJunkValues(page, '#node', 'node page');
  ok(`node page: response-time and success charts with data, PMTU ${PMTU} (${(await page.textContent('#node [data-field="pmtu.method"]')).trim()}) with its history`);
  // range selector
  const [hist] = await Promise.all([
    page.waitForResponse((r) => /\/history\?/.test(r.url()) && /step=120/.test(r.url())),
    page.click('#peer-charts button[data-range="6h"]'),
  ]);
  check(hist.status() === 200, `6 h history: HTTP ${hist.status()}`);
  check(await page.getAttribute('#peer-charts button[data-range="6h"]', 'aria-pressed') === 'true', '6 h not pressed');
  await page.click('#peer-charts button[data-range="1h"]');
  await page.waitForFunction(() => document.querySelector('#history-info').textContent.includes('of 1 min'));
  await drawn('#chart-rt');
  ok('range selector: 6 h and 1 h reload the history');
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header stays on top
  await page.screenshot({ path: path.join(OUT, 'node.png'), fullPage: true });
  await noOverflow(page, 'node');
  ok('node screenshots saved; no horizontal overflow at 390 px');

  // ---- back, and a click in the table opens the other peer
  await page.click('#node .crumbs a');
  await page.locator('#mesh').waitFor();
  const victimRow = page.locator(`#peers-table tr.peer-row[data-fqdn="${KILL_FQDN}"]`);
  const victimId = await victimRow.getAttribute('data-peer-id');
  await victimRow.locator('td[data-label="Address"]').click();
  await page.locator('#node .page-body').waitFor({ state: 'visible' });
  check(new URL(page.url()).hash === `#/nodes/${victimId}`, `table click went to ${new URL(page.url()).hash}`);
  ok(`clicking ${KILL_FQDN}'s row in the table opens its node page`);
  await page.click('#nav a[href="#/mesh"]');
  await page.locator('#mesh').waitFor();
  await victimRow.waitFor();

  // ---- kill it: the open page shows it suspect, then dead, without a reload
  await page.evaluate(() => { window.__noReload = true; });
  const tKill = Date.now();
  process.kill(KILL_PID, 'SIGKILL');
  await page.waitForFunction((f) => {
    const r = document.querySelector(`#peers-table tr.peer-row[data-fqdn="${f}"]`);
    return r && (r.dataset.state === 'suspect' || r.dataset.state === 'dead');
  }, KILL_FQDN, { timeout: 10000 });
  const tSuspect = (Date.now() - tKill) / 1000;
  await page.waitForFunction((f) => {
    const r = document.querySelector(`#peers-table tr.peer-row[data-fqdn="${f}"]`);
    return r && r.dataset.state === 'dead';
  }, KILL_FQDN, { timeout: 10000 });
  const tDead = (Date.now() - tKill) / 1000;
  check(await page.evaluate(() => window.__noReload === true), 'the page reloaded');
  check(await svg.locator(`a.topo-peer.state-dead[aria-label="${KILL_FQDN}"]`).count() === 1, 'topology does not draw the killed peer dead');
  const deadFill = await svg.locator(`a.topo-peer[aria-label="${KILL_FQDN}"] circle`).evaluate((e) => getComputedStyle(e).fill);
  check(deadFill === 'rgb(214, 69, 65)', `dead peer drawn in ${deadFill}, want red`);
  await page.waitForFunction(() => document.querySelector('#stat-dead').textContent === '1' && document.querySelector('#stat-alive').textContent === '1');
  check((await page.textContent(`#peers-table tr.peer-row[data-fqdn="${KILL_FQDN}"] td[data-label="State"]`)).trim() === 'dead', 'state badge not "dead"');
  ok(`kill -9 ${KILL_FQDN}: the open mesh page showed it suspect/dead after ${tSuspect.toFixed(1)} s, dead after ${tDead.toFixed(1)} s (red in the drawing, counts alive 1 / dead 1), no reload`);
  await page.waitForTimeout(1200); // let "last error" fill in
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header stays on top
  await page.screenshot({ path: path.join(OUT, 'mesh-dead.png'), fullPage: true });

  // ---- forget it from its node page (confirm() is accepted)
  await svg.locator(`a.topo-peer[aria-label="${KILL_FQDN}"]`).click();
  await page.locator('#node .page-body').waitFor({ state: 'visible' });
  check((await page.textContent('#peer-state')).trim() === 'dead', 'node page of the killed peer not dead');
  // its last events: "dead at 21:40:05 UTC, 3 s so far: 3 failed polls (...)",
  // and before it (suspect) how long that lasted
  await page.waitForFunction(() => {
    const l = [...document.querySelectorAll('#recent-events-list .event-sentence')].map((e) => e.textContent);
    return /^dead at \d\d:\d\d:\d\d UTC, .+ so far: ./.test(l[0] || '') && (l.length < 2 || /^\w+ at \d\d:\d\d:\d\d UTC for \d/.test(l[1]));
  }, null, { timeout: 10000 });
  const lines = await texts(page, '#recent-events-list .event-sentence');
  await page.screenshot({ path: path.join(OUT, 'node-dead.png'), fullPage: true });
  ok(`node page of ${KILL_FQDN}: last events "${lines.slice(0, 2).join('", "')}"`);
  const [del] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/nodes/${victimId}`) && r.request().method() === 'DELETE'),
    page.click('#forget-peer'),
  ]);
  check(del.status() === 204, `forget: HTTP ${del.status()}`);
  await page.locator('#mesh').waitFor();
  check(new URL(page.url()).hash === '#/mesh', `after forget the route is ${new URL(page.url()).hash}`);
  ok(`"Forget this peer" (after confirm) sends DELETE (204) and returns to the mesh page`);
  return victimId;
}

// A screenshot at 1440x900, then back to the test's size.
async function wideShot(page, name) {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.waitForTimeout(200);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
}

// The events page: the killed peer's "dead" row links to its node page; a
// target added meanwhile (a refused port) arrives live, links to its target
// page, and that page lists it among its last events.
async function eventsChecks(page, victimId) {
  await page.click('#nav a[href="#/events"]');
  await page.locator('#events').waitFor({ state: 'visible' });
  check((await page.getAttribute('#nav a[href="#/events"]', 'aria-current')) === 'page', 'nav does not mark Events current');
  const deadRow = page.locator(`#events-table tr[data-kind="peer_state"]:has(a.subject-link[href="#/nodes/${victimId}"])`, { hasText: 'dead' }).first();
  await deadRow.waitFor({ timeout: 10000 });
  const ev = (await deadRow.locator('td[data-label="Evidence"]').textContent()).trim();
  check(/failed polls?|vantage|refused|timeout/.test(ev), `evidence of the dead event in words: "${ev}"`);
  check((await deadRow.locator('a.subject-link').textContent()).trim() === KILL_FQDN, 'dead event names another subject');
  await noJunkValues(page, '#events-table', 'events table');
  if (WS) await page.waitForFunction(() => document.querySelector('#events-mode').dataset.mode === 'live');
  ok(`events page: ${KILL_FQDN} → dead, evidence "${ev}"`);

  // filters: critical only keeps the dead row and hides the info ones
  await page.selectOption('#ev-severity', 'critical');
  await page.waitForFunction(() => [...document.querySelectorAll('#events-table tr[data-event-id]')].every((r) => r.dataset.severity === 'critical'));
  check(await deadRow.count() === 1, 'the dead event is gone with severity "critical"');
  await page.selectOption('#ev-severity', '');
  ok('events filter: severity "critical" shows only critical rows');

  // a live row: a target on a closed port turns "refused"
  const host = new URL(URL0).hostname;
  const tid = await page.evaluate(async (hst) => {
    const r = await fetch('/api/targets', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ name: 'closed port', host: hst, port: 1, interval_s: 1 }) });
    return (await r.json()).id;
  }, host);
  check(Number.isInteger(tid), `creating a target answered id ${tid}`);
  const tRow = page.locator(`#events-table tr[data-kind="target_state"]:has(a.subject-link[href="#/targets/${tid}"])`).first();
  await page.evaluate(() => { window.__noReload = true; });
  await tRow.waitFor({ timeout: 15000 });
  check(await page.evaluate(() => window.__noReload === true), 'the events page reloaded');
  check(/refused/.test(await tRow.textContent()), `target event row: ${await tRow.textContent()}`);
  ok(`events page: the refused target #${tid} arrived ${WS ? 'live (WebSocket)' : 'by polling'}`);
  await wideShot(page, 'events');
  await noOverflow(page, 'events');

  // the dead row's link opens the peer's node page (forgotten meanwhile)
  expected404.add(`/api/nodes/${victimId}`);
  await deadRow.locator('a.subject-link').click();
  await page.locator('#node').waitFor({ state: 'visible' });
  check(new URL(page.url()).hash === `#/nodes/${victimId}`, `dead event link went to ${new URL(page.url()).hash}`);
  ok(`events page: the ${KILL_FQDN} link opens #/nodes/${victimId}`);
  await page.goBack();
  await tRow.waitFor();
  await tRow.locator('a.subject-link').click();
  await page.locator('#target').waitFor({ state: 'visible' });
  check(new URL(page.url()).hash === `#/targets/${tid}`, `target event link went to ${new URL(page.url()).hash}`);
  await page.waitForFunction(() => [...document.querySelectorAll('#recent-events-list .event-sentence')]
    .some((e) => /^down at \d\d:\d\d:\d\d UTC, .+ so far: refused/.test(e.textContent)));
  const tl = await texts(page, '#recent-events-list .event-sentence');
  await page.screenshot({ path: path.join(OUT, 'target-events.png'), fullPage: true });
  ok(`target page #${tid} (opened from its event): last events "${tl[0]}"`);
  const del = await page.evaluate(async (id) => (await fetch(`/api/targets/${id}`, { method: 'DELETE', credentials: 'same-origin' })).status, tid);
  check(del === 204, `deleting target ${tid}: HTTP ${del}`);
  return tid;
}

// The alerts page renders: its rules and the refused target's alert, which
// an administrator acknowledges (or "not available" without the API).
async function alertsChecks(page, tid) {
  await page.click('#nav a[href="#/alerts"]');
  await page.locator('#alerts').waitFor({ state: 'visible' });
  check((await page.getAttribute('#nav a[href="#/alerts"]', 'aria-current')) === 'page', 'nav does not mark Alerts current');
  if (ALERTS) {
    await page.locator('#alerts-rules-table tr[data-rule-id]').first().waitFor({ timeout: 10000 });
    const names = await texts(page, '#alerts-rules-table tr[data-rule-id] td[data-label="Name"] .mono');
    await page.locator('#alerts-channels-table tbody tr').first().waitFor();
    await noJunkValues(page, '#alerts', 'alerts page');
    ok(`alerts page: rules ${JSON.stringify(names)}, active, resolved, silences and channels drawn`);
    // the closed port's alert (target-down), active or already resolved
    const row = page.locator(`#alerts tr[data-alert-id]:has(a.subject-link[href="#/targets/${tid}"])`).first();
    await row.waitFor({ timeout: 10000 });
    const state = await row.getAttribute('data-state');
    if (state !== 'resolved') {
      await row.locator('button[data-action="ack"]').click();
      await row.locator('.tag', { hasText: 'acknowledged' }).waitFor();
    }
    ok(`alerts page: the closed port's alert is ${state}${state !== 'resolved' ? ', and "Acknowledge" marks it acknowledged' : ''}`);
  } else {
    await page.locator('#alerts-unavailable').waitFor({ state: 'visible' });
    check(await page.locator('#alerts-body').isHidden(), 'alerts sections shown without the alerts API');
    check(await page.locator('#nav a[href="#/alerts"] .nav-badge').count() === 0, 'a firing count without the alerts API');
    ok('alerts page: this build has no alerts API and the page says so');
  }
  await wideShot(page, 'alerts');
  await noOverflow(page, 'alerts');
}

const profile = path.join(OUT, 'chromium-profile');
mkdirSync(profile, { recursive: true });

const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  ignoreHTTPSErrors: true,
  viewport: { width: 1280, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--ignore-certificate-errors'],
  timeout: 30000,
});

let exitCode = 0;
try {
  context.setDefaultTimeout(10000);
  // CSP violations surface as console errors, and also through this event.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
  context.on('request', (r) => requests.push(r.url()));
  context.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    consoleErrors.push({ text: msg.text(), url: msg.location() && msg.location().url });
  });
  context.on('weberror', (e) => pageErrors.push(String(e.error())));
  context.on('dialog', (d) => d.accept()); // the delete confirm()

  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  // ---- / redirects to the dashboard
  const resp = await page.goto(URL0 + '/', { waitUntil: 'load' });
  const redirected = resp.request().redirectedFrom();
  check(new URL(page.url()).pathname === '/dashboard', `"/" should land on /dashboard, got ${page.url()}`);
  check(redirected && (await redirected.response()).status() === 302, '"/" should answer 302');
  ok('browser: / redirects (302) to /dashboard');

  // ---- login form first
  const loginForm = page.locator('#login-form');
  await loginForm.waitFor({ state: 'visible' });
  check(await page.locator('#shell').isHidden(), 'app shell visible before login');
  check(await page.locator('#login-user').isVisible() && await page.locator('#login-pass').isVisible(),
    'login form lacks username/password fields');
  ok('not logged in: the login form is shown');

  // ---- wrong password: the server's detail is shown, still on login
  await page.fill('#login-user', ADMIN_USER);
  await page.fill('#login-pass', ADMIN_PASS + '-wrong');
  const [bad] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/login')),
    page.click('#login-submit'),
  ]);
  check(bad.status() === 401, `wrong password: expected 401, got ${bad.status()}`);
  const badBody = await bad.json();
  const errBox = page.locator('#login-error');
  await errBox.waitFor({ state: 'visible' });
  const errText = (await errBox.textContent()).trim();
  check(errText === badBody.detail, `wrong password: page shows "${errText}", server said "${badBody.detail}"`);
  check(await loginForm.isVisible() && await page.locator('#shell').isHidden(), 'wrong password left the login form');
  ok(`wrong password shows the server's error ("${errText}") and stays on the login form`);

  // ---- right password: the mesh page comes first
  await page.fill('#login-pass', ADMIN_PASS);
  await page.click('#login-submit');
  await page.locator('#mesh').waitFor({ state: 'visible' });
  check(new URL(page.url()).hash === '#/mesh', `after login the route is ${new URL(page.url()).hash}`);
  check(await loginForm.isHidden(), 'login form still visible after login');
  check((await page.getAttribute('#nav a[href="#/mesh"]', 'aria-current')) === 'page', 'nav does not mark Mesh current');
  ok('after login the dashboard opens on the mesh page (#/mesh)');
  const victimId = await meshChecks(page);
  await targetChecks(page);
  await matrixChecks(page);
  const tid = await eventsChecks(page, victimId);
  await alertsChecks(page, tid);
  await inventoryChecks(page);

  // ---- overview with fqdn, node_id and "healthy"
  await page.click('#nav a[href="#/overview"]');
  await page.locator('#overview').waitFor({ state: 'visible' });
  await page.waitForFunction((id) => {
    const el = document.querySelector('#overview [data-field="node_id"]');
    return el && el.textContent.trim() === id;
  }, NODE_ID);
  check(new URL(page.url()).hash === '#/overview', `overview route is ${new URL(page.url()).hash}`);
  const fqdnHeader = (await page.textContent('#node-fqdn')).trim();
  const fqdnField = (await page.textContent('#overview [data-field="node_fqdn"]')).trim();
  check(fqdnHeader === FQDN && fqdnField === FQDN, `fqdn: header "${fqdnHeader}", overview "${fqdnField}", want "${FQDN}"`);
  const badge = (await page.textContent('#health-badge')).trim();
  check(badge === 'healthy', `health badge says "${badge}"`);
  check(await page.locator('#problems').isHidden(), 'problem list shown for a healthy node');
  ok(`overview shows fqdn ${FQDN}, node_id ${NODE_ID} (same as /health) and "healthy"`);

  // the other overview cards carry real values
  const field = async (k) => (await page.textContent(`#overview [data-field="${k}"]`)).trim();
  const sha = await field('certificate.sha256');
  check(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/.test(sha), `certificate SHA-256 looks wrong: "${sha}"`);
  const sans = await page.locator('#overview [data-field="certificate.names"] li').allTextContents();
  check(sans.includes(FQDN), `SAN names ${JSON.stringify(sans)} lack ${FQDN}`);
  check(/days? left/.test(await field('certificate.not_after')), 'certificate expiry lacks days left');
  const dbPath = await field('database.path');
  check(dbPath.startsWith('/') && dbPath !== '—', `database path "${dbPath}"`);
  check(await field('database.writable') === 'yes', 'database not shown writable');
  check(/^\d+(\.\d+)? ms$/.test(await field('tls.handshake_avg_ms')), 'TLS average handshake not in ms');
  check(/^\d+ (s|min)/.test(await field('uptime')), `uptime "${await field('uptime')}" not humanized`);
  check(await field('users') === '1', `users count "${await field('users')}"`);
  ok('overview cards: certificate (SHA-256, SANs, days left), database, TLS, uptime, users');

  // refreshes by itself every 5 s
  const t0 = Date.now();
  await page.waitForResponse((r) => r.url().endsWith('/api/node') && r.status() === 200, { timeout: 8000 });
  ok(`overview refreshed GET /api/node by itself (after ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  await page.screenshot({ path: path.join(OUT, 'overview.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(OUT, 'overview-narrow.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `overview overflows a 390 px wide screen by ${overflow} px`);
  await page.setViewportSize({ width: 1280, height: 800 });
  ok('overview screenshots saved; no horizontal overflow at 390 px');

  // ---- users page lists admin
  await page.click('#nav a[href="#/users"]');
  const table = page.locator('#users-table');
  await table.locator(`tr[data-username="${ADMIN_USER}"]`).waitFor();
  check(new URL(page.url()).hash === '#/users', 'users route not in the address');
  check((await page.getAttribute('#nav a[href="#/users"]', 'aria-current')) === 'page', 'nav does not mark Users current');
  ok(`users page lists "${ADMIN_USER}"`);

  // ---- create: an invalid password shows the server's error inline
  await page.fill('#new-username', NEW_USER);
  await page.fill('#new-password', 'short');
  const [badCreate] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/users') && r.request().method() === 'POST'),
    page.click('#create-submit'),
  ]);
  check(badCreate.status() === 400, `short password: expected 400, got ${badCreate.status()}`);
  const badCreateDetail = (await badCreate.json()).detail;
  await page.locator('#create-error').waitFor({ state: 'visible' });
  const ce = (await page.textContent('#create-error')).trim();
  check(ce === badCreateDetail, `create error shows "${ce}", server said "${badCreateDetail}"`);
  check(await table.locator(`tr[data-username="${NEW_USER}"]`).count() === 0, 'rejected user appears in the table');
  ok(`invalid new user: the server's error is shown inline ("${ce}")`);

  // ---- create through the form
  await page.fill('#new-password', NEW_PASS);
  await page.click('#create-submit');
  await table.locator(`tr[data-username="${NEW_USER}"]`).waitFor();
  check(await page.locator('#create-error').isHidden(), 'create error still shown after success');
  check((await page.inputValue('#new-username')) === '', 'create form not cleared');
  ok(`creating "${NEW_USER}" with the form adds it to the table`);

  // ---- and one to delete, through confirm()
  await page.fill('#new-username', DEL_USER);
  await page.fill('#new-password', NEW_PASS);
  await page.click('#create-submit');
  const delRow = table.locator(`tr[data-username="${DEL_USER}"]`);
  await delRow.waitFor();
  await delRow.locator('[data-action="delete"]').click();
  await delRow.waitFor({ state: 'detached' });
  await table.locator(`tr[data-username="${NEW_USER}"]`).waitFor();
  ok(`deleting "${DEL_USER}" (after confirm) removes it from the table`);

  // ---- change password of the new user
  const newRow = table.locator(`tr[data-username="${NEW_USER}"]`);
  const newId = await newRow.getAttribute('data-user-id');
  await newRow.locator('[data-action="password"]').click();
  await page.fill(`#pw-${newId}`, NEW_PASS2);
  await page.fill(`#pw-cur-${newId}`, ADMIN_PASS);
  const [pw] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/users/${newId}`) && r.request().method() === 'PATCH'),
    page.press(`#pw-cur-${newId}`, 'Enter'),
  ]);
  check(pw.status() === 200, `password change: HTTP ${pw.status()}`);
  await page.locator('#users-status').waitFor({ state: 'visible' });
  await page.locator(`#pw-${newId}`).waitFor({ state: 'detached' });
  ok(`changing "${NEW_USER}"'s password through the page (PATCH 200)`);

  // ---- search
  await page.fill('#user-search', NEW_USER);
  await table.locator(`tr[data-username="${ADMIN_USER}"]`).waitFor({ state: 'detached' });
  const shown = await table.locator('tr[data-username]').evaluateAll((rows) => rows.map((r) => r.dataset.username));
  check(shown.length === 1 && shown[0] === NEW_USER, `search "${NEW_USER}" shows ${JSON.stringify(shown)}`);
  await page.fill('#user-search', '');
  await table.locator(`tr[data-username="${ADMIN_USER}"]`).waitFor();
  ok('search box filters the table');
  await page.screenshot({ path: path.join(OUT, 'users.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(OUT, 'users-narrow.png'), fullPage: true });
  const uOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(uOverflow <= 0, `users page overflows a 390 px wide screen by ${uOverflow} px`);
  await page.setViewportSize({ width: 1280, height: 800 });
  ok('users screenshots saved; no horizontal overflow at 390 px');

  // ---- discovery: a scan of the node's own address from the page
  if (SCAN_ADDR) {
    await page.click('#nav a[href="#/discovery"]');
    await page.locator('#discovery').waitFor({ state: 'visible' });
    check((await page.getAttribute('#nav a[href="#/discovery"]', 'aria-current')) === 'page', 'nav does not mark Discovery current');
    // empty fields: the page names what a default scan covers and asks first
    await page.locator('#scan-defaults', { hasText: SCAN_ADDR + '/32' }).waitFor();
    await page.fill('#scan-subnets', '');
    let posted = 0;
    const countPosts = (req) => { if (req.method() === 'POST' && new URL(req.url()).pathname === '/api/scans') posted++; };
    page.on('request', countPosts);
    await page.click('#scan-submit');
    await page.locator('#scan-confirm').waitFor({ state: 'visible' });
    const askText = await page.textContent('#scan-confirm-text');
    check(askText.includes('covers: ' + SCAN_ADDR + '/32'), `the confirmation does not name the subnet: ${askText}`);
    await page.click('#scan-confirm-no');
    await page.locator('#scan-confirm').waitFor({ state: 'hidden' });
    page.off('request', countPosts);
    check(posted === 0, `asking first, yet ${posted} POST /api/scans were sent`);
    ok('discovery: with empty fields the page names the subnets a scan would cover and asks before starting one');
    await page.fill('#scan-subnets', '10.255.255.0/24');
    await page.click('#scan-submit');
    await page.waitForFunction(() => /outside the subnets/.test(document.querySelector('#scan-error').textContent));
    ok('discovery: a subnet outside scan_subnets shows the server\'s 400 detail');
    await page.fill('#scan-subnets', SCAN_ADDR + '/32');
    await page.fill('#scan-ports', '8443, 1');
    const [created] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/scans') && r.request().method() === 'POST'),
      page.click('#scan-submit'),
    ]);
    check(created.status() === 201, `scan from the page: HTTP ${created.status()}`);
    const hostLink = page.locator(`#hosts-table a[href="#/hosts/${SCAN_ADDR}"]`);
    await hostLink.waitFor({ timeout: 20000 });
    const row = await page.textContent('#hosts-table tbody');
    check(row.includes('8443') && row.includes('meshwatch'), `hosts table: ${row}`);
    await page.locator('#changes-table td', { hasText: 'new host' }).first().waitFor();
    ok('discovery: the scan finishes and the host appears with 8443 named meshwatch, and a "new host" change');
    await page.screenshot({ path: path.join(OUT, 'discovery.png'), fullPage: true });
    await hostLink.click();
    await page.locator('#host-services td', { hasText: '8443/tcp' }).waitFor();
    check(new URL(page.url()).hash === `#/hosts/${SCAN_ADDR}`, `host route is ${new URL(page.url()).hash}`);
    ok('discovery: the host page lists its services');
  }

  // ---- a refresh that gets 401 returns to the login form
  const cookies = await context.cookies(URL0);
  const session = cookies.find((c) => c.name === 'mw_session');
  check(session && session.httpOnly, 'no HttpOnly mw_session cookie after login');
  await page.click('#nav a[href="#/overview"]');
  await page.locator('#overview').waitFor();
  await context.clearCookies();
  await loginForm.waitFor({ state: 'visible', timeout: 8000 });
  check(await page.locator('#shell').isHidden(), 'app still shown after the session vanished');
  ok('overview refresh answered 401: back to the login form');
  await context.addCookies([session]);
  await page.reload();
  await page.locator('#overview').waitFor({ state: 'visible' });
  ok('reload with the session cookie goes straight to the overview');

  // ---- logout
  writeFileSync(path.join(OUT, 'cookie.txt'), session.value + '\n');
  const [lo] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/logout')),
    page.click('#logout'),
  ]);
  check(lo.status() === 204, `logout: HTTP ${lo.status()}`);
  await loginForm.waitFor({ state: 'visible' });
  check(await page.locator('#shell').isHidden(), 'shell still visible after logout');
  const meAfter = await page.evaluate(async () => (await fetch('/api/me', { credentials: 'same-origin' })).status);
  check(meAfter === 401, `/api/me after logout from the page: ${meAfter}`);
  ok('logout returns to the login form; /api/me from the page is 401');

  // ---- rate limit message (second node, 2 logins a minute)
  if (RL_URL) {
    await page.goto(RL_URL + '/dashboard');
    await loginForm.waitFor({ state: 'visible' });
    let last = null;
    for (let i = 0; i < 5; i++) {
      await page.fill('#login-user', ADMIN_USER);
      await page.fill('#login-pass', 'wrong-password-' + i);
      await page.waitForFunction(() => !document.querySelector('#login-submit').disabled);
      [last] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/login')),
        page.click('#login-submit'),
      ]);
      if (last.status() === 429) break;
    }
    check(last.status() === 429, `no 429 after repeated wrong logins (last ${last.status()})`);
    const detail = (await last.json()).detail;
    await page.waitForFunction((d) => document.querySelector('#login-error').textContent.trim() === d, detail);
    check(await page.locator('#login-submit').isDisabled(), 'login button usable right after 429');
    ok(`rate limit: the page shows "${detail}" and holds the button`);
    await page.screenshot({ path: path.join(OUT, 'login-ratelimited.png') });
  }

  // ---- nothing loaded from elsewhere, no console errors / CSP violations
  const foreign = requests.filter((u) => !u.startsWith('data:') && !allowedOrigins.has(new URL(u).origin));
  check(foreign.length === 0, `requests to other origins: ${JSON.stringify(foreign)}`);
  ok(`all ${requests.length} requests went to the node itself`);
  const unexpected = consoleErrors.filter((e) => !expectedConsoleError(e.text, e.url));
  check(unexpected.length === 0, `console errors: ${JSON.stringify(unexpected)}`);
  check(pageErrors.length === 0, `uncaught page errors: ${JSON.stringify(pageErrors)}`);
  ok(`no console errors, CSP violations or uncaught exceptions (${consoleErrors.length} notes of expected 400/401/429 answers)`);
} catch (e) {
  exitCode = 1;
  const msg = e instanceof CheckFailed ? e.message : (e && e.stack) || String(e);
  console.log(`FAIL: ${msg}`);
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
