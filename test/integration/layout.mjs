// Browser driver for test/integration/layout.sh: every page of the
// dashboard of the populated demo mesh, at 1440x900 and at 390x844 (a
// phone), in the light and the dark colour scheme, through Debian's
// chromium and playwright-core. On each: a full-page screenshot, and the
// layout checks below; prints "ok <what>" per check, "FAIL: <why>" and
// exit 1 at the first failure. Environment (set by layout.sh):
//   MW_URL        https://ADDR:8443 of demo node1
//   MW_REP_URL    https://ADDR:8443 of the demo's reporting node
//   MW_USER / MW_PASS   the demo's login
//   MW_DEAD_FQDN  a peer of node1 that the test killed: node1's badge must
//                 not say "healthy" while it is dead
//   MW_OUT        where the screenshots go
//   CHROMIUM      browser binary (default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`layout.mjs: ${k} is not set`);
  return v;
};
const URL1 = env('MW_URL');
const REP = env('MW_REP_URL');
const USER = env('MW_USER');
const PASS = env('MW_PASS');
const DEAD = env('MW_DEAD_FQDN');
const OUT = env('MW_OUT');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');

const SIZES = [{ w: 1440, h: 900 }, { w: 390, h: 844 }];
const SCHEMES = ['light', 'dark'];

let checks = 0;
function ok(what) { checks++; console.log(`ok ${what}`); }
class CheckFailed extends Error {}
function check(cond, what) { if (!cond) throw new CheckFailed(what); }
// MW_KEEP_GOING=1 (while fixing the layout): layout faults are listed and
// the run goes on; it still fails at the end.
const soft = [];
function layoutCheck(cond, what) {
  if (cond) return;
  if (!process.env.MW_KEEP_GOING) throw new CheckFailed(what);
  console.log(`FAULT: ${what}`);
  soft.push(what);
}

const pageErrors = [];

async function login(page, base) {
  await page.goto(base + '/dashboard');
  await page.locator('#login-user').fill(USER);
  await page.locator('#login-pass').fill(PASS);
  await page.locator('#login-submit').click();
  await page.locator('#shell:not([hidden])').waitFor();
}

// What a page's answer is made of: the API through the logged-in page.
async function apiGet(page, p) {
  return page.evaluate(async (u) => (await fetch(u, { credentials: 'same-origin' })).json(), p);
}

// Layout faults on the page as it is on screen now, as sentences.
function layoutProblems(opts) {
  const vw = window.innerWidth;
  const out = [];
  const desc = (el) => {
    let s = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
    const t = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return `${s} "${t}"`;
  };
  // horizontal scrollers that are meant to scroll (the matrix, code)
  const ALLOWED_SCROLL = '.matrix-wrap, pre, .nav';
  const scroller = (el) => {
    for (let e = el.parentElement; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (/(auto|scroll)/.test(s.overflowX) && e.scrollWidth > e.clientWidth + 1) return e;
    }
    return null;
  };
  if (document.documentElement.scrollWidth > vw + 1) out.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${vw} px window`);
  for (const el of document.querySelectorAll('#shell *')) {
    if (el.closest('svg, .sr-only')) continue;
    if (!el.getClientRects().length) continue; // not rendered
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden') continue;
    const block = cs.display !== 'inline' && cs.display !== 'contents';
    if (block && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      if (/(auto|scroll)/.test(cs.overflowX)) {
        if (!el.matches(ALLOWED_SCROLL)) out.push(`${desc(el)} scrolls sideways (${el.scrollWidth} px in ${el.clientWidth} px)`);
      } else if (cs.overflowX === 'hidden' || cs.overflowX === 'clip') {
        if (cs.textOverflow !== 'ellipsis') out.push(`${desc(el)} cuts its content off (${el.scrollWidth} px in ${el.clientWidth} px)`);
      } else if (!el.matches('table, thead, tbody, tr')) {
        out.push(`${desc(el)}: content ${el.scrollWidth} px wide overflows its ${el.clientWidth} px box`);
      }
    }
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (hasText && !scroller(el)) {
      const r = el.getBoundingClientRect();
      if (r.right > vw + 1 || r.left < -1) out.push(`${desc(el)} reaches ${Math.round(r.left)}..${Math.round(r.right)} px of a ${vw} px window`);
    }
  }
  if (opts.phone) {
    // cards: every value of a table row names its column
    for (const td of document.querySelectorAll('#view table.table tbody td')) {
      if (!td.getClientRects().length || td.colSpan > 1 || td.classList.contains('empty') || td.classList.contains('actions')) continue;
      if (!td.textContent.trim() || td.parentElement.querySelector('th')) continue; // a row with its own name (th)
      const label = td.getAttribute('data-label');
      const before = getComputedStyle(td, '::before').content;
      if (!label || !before || before === 'none' || !before.includes(label)) out.push(`${desc(td)} shows no column name on a phone (data-label ${label}, ::before ${before})`);
    }
    const bar = document.querySelector('.topbar').getBoundingClientRect().height;
    if (bar > 0.1 * window.innerHeight) out.push(`the top bar is ${Math.round(bar)} px high, more than 10 % of ${window.innerHeight} px`);
  } else {
    const bar = document.querySelector('.topbar').getBoundingClientRect().height;
    if (bar > 64) out.push(`the top bar is ${Math.round(bar)} px high: more than one row`);
  }
  // the drawing's labels, names and nodes do not overlap
  const topo = document.querySelector('svg#topology');
  if (topo) {
    const boxes = [...topo.querySelectorAll('.topo-name, .topo-self-name, .topo-edge-plate, .topo-node circle')]
      .filter((e) => e.getClientRects().length && !(e.tagName === 'rect' && !e.nextElementSibling?.textContent))
      .map((e) => ({ e, r: e.getBoundingClientRect() }));
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        if (a.e.parentNode === b.e.parentNode && (a.e.tagName === 'circle' || b.e.tagName === 'circle')) continue; // a node and its own name
        const ix = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
        const iy = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
        if (ix > 1 && iy > 1) out.push(`topology: "${a.e.textContent || a.e.tagName}" and "${b.e.textContent || b.e.tagName}" overlap (${Math.round(ix)}x${Math.round(iy)} px)`);
      }
    }
  }
  // one unit style and one time style in what the page says
  // (the text on screen, but not the charts' axes: they say UTC once, at the end)
  const parts = [];
  const tw = document.createTreeWalker(document.querySelector('#shell'), NodeFilter.SHOW_TEXT);
  for (let n = tw.nextNode(); n; n = tw.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('svg, .sr-only') || !el.getClientRects().length) continue;
    parts.push(n.textContent);
  }
  const text = parts.join(' ');
  const units = /\d\s*(?:[kKMG]?b\/s|[kKMG]?p\/s|kp\/s|bits\/s|packets\/s|[kMG]B\b|bytes\b)/g;
  for (const m of text.match(units) || []) out.push(`a unit written another way: "${m}"`);
  if (!opts.skip.includes('clock')) {
    // (a range "04:43–04:44 UTC" names its zone once, at its end)
    const clock = /(?<![\d.:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?![\d:])(?!\s*UTC)(?!\s*[–-]\s*(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?\s*UTC)/g;
    for (const m of text.match(clock) || []) out.push(`a time of day without its zone: "${m}"`);
  }
  return out;
}

async function shoot(page, name, size, scheme) {
  const file = `${name}-${size.w}${scheme === 'dark' ? '-dark' : ''}.png`;
  await page.screenshot({ path: path.join(OUT, file), fullPage: true });
  return file;
}

// One page at every size and scheme: wait for its data, check, screenshot.
async function visit(page, name, hash, ready, skip = []) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.w, height: size.h });
      await page.locator(ready).first().waitFor({ timeout: 15000 });
      await page.waitForTimeout(400); // drawings re-layout for the new width
      const probs = await page.evaluate(layoutProblems, { phone: size.w < 500, skip });
      const file = await shoot(page, name, size, scheme);
      layoutCheck(probs.length === 0, `${name} at ${size.w}x${size.h} (${scheme}, ${file}): ${probs.slice(0, 8).join('; ')}`);
      if (scheme === 'dark') {
        const [bg, fg] = await page.evaluate(() => {
          const lum = (c) => { const m = c.match(/\d+(\.\d+)?/g).map(Number); return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255; };
          const card = document.querySelector('#view .card') || document.body;
          return [lum(getComputedStyle(card).backgroundColor), lum(getComputedStyle(document.body).color)];
        });
        layoutCheck(bg < 0.25 && fg > 0.6, `${name}: the dark scheme is not dark (card background luminance ${bg.toFixed(2)}, text ${fg.toFixed(2)})`);
      }
    }
  }
  ok(`${name}: no overflow, labels kept, one unit and time style, at 1440x900 and 390x844, light and dark`);
}

async function backLink(page, name, href) {
  const links = await page.locator('#view .crumbs a').evaluateAll((els) => els.map((e) => [e.getAttribute('href'), e.textContent]));
  check(links.length === 1 && links[0][0] === href && /^← /.test(links[0][1]), `${name}: one back link "← ..." to ${href}, got ${JSON.stringify(links)}`);
  ok(`${name}: one back link, in the common style (${links[0][1]})`);
}

mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
  timeout: 30000,
});
let exitCode = 0;
try {
  // a zone that is not UTC: a local time shown anywhere differs from UTC
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 }, timezoneId: 'Asia/Kolkata' });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  /* ---- node1: every page of a node ---- */
  await login(page, URL1);
  ok('logged in to demo node1');

  // the dead peer: the badge says so, not "healthy"
  await page.waitForFunction(() => /^degraded/.test(document.querySelector('#health-badge').textContent), null, { timeout: 30000 })
    .catch(() => {});
  const badge = await page.locator('#health-badge').evaluate((e) => [e.textContent, e.className, e.title]);
  check(/^degraded: 1 peer dead$/.test(badge[0]) && !/badge-ok/.test(badge[1]), `with ${DEAD} dead the badge says "${badge[0]}" (${badge[1]})`);
  ok(`with ${DEAD} dead the header badge says "${badge[0]}", not healthy (${badge[2]})`);

  const nodes = await apiGet(page, '/api/nodes?limit=100');
  const peer = nodes.items.find((p) => p.state === 'alive');
  const targets = await apiGet(page, '/api/targets?limit=10');
  const target = targets.items.find((t) => t.state === 'up') || targets.items[0];
  const hosts = await apiGet(page, '/api/hosts?limit=10');
  check(peer && target && hosts.items.length, 'node1 has an alive peer, a target and discovered hosts');

  await visit(page, 'mesh', '#/mesh', '#peers-table tr[data-state="dead"]');
  await visit(page, 'node', '#/nodes/' + encodeURIComponent(peer.id), '#peer-poll dd:not(:empty)');
  await backLink(page, 'node', '#/mesh');
  await visit(page, 'targets', '#/targets', '#targets-table tr[data-state="up"]');
  await visit(page, 'target', '#/targets/' + target.id, '#target-facts dd');
  await backLink(page, 'target', '#/targets');
  await visit(page, 'traffic', '#/traffic', '#flows-table tbody td.mono');
  await visit(page, 'discovery', '#/discovery', '#hosts-table tbody a');
  await visit(page, 'host', '#/hosts/' + encodeURIComponent(hosts.items[0].ip), '#host-services tbody td');
  await backLink(page, 'host', '#/discovery');
  await visit(page, 'events', '#/events', '#view table tbody tr td');
  await visit(page, 'alerts', '#/alerts', '#view table tbody tr td');
  await visit(page, 'overview', '#/overview', '#card-tls dd:not(:empty)');
  const tls = await page.evaluate(() => [...document.querySelectorAll('#card-tls dt')].map((dt) => `${dt.textContent}: ${dt.nextElementSibling.textContent}`));
  check(tls.some((x) => /^TLS errors: \d+$/.test(x)) && tls.some((x) => /^Scans and probes: \d+ closed before a TLS hello, \d+ not TLS$/.test(x)),
    `overview TLS card: ${JSON.stringify(tls)}`);
  ok(`overview tells TLS errors from scans and probes (${tls.join('; ')})`);
  await visit(page, 'users', '#/users', '#view table tbody tr td');

  /* ---- the reporting node: the matrix, a pair, the mesh inventory ---- */
  const rpage = await context.newPage();
  rpage.on('pageerror', (e) => pageErrors.push(String(e)));
  await login(rpage, REP);
  ok('logged in to the demo reporting node');
  await visit(rpage, 'matrix', '#/matrix', '#view table td a, #view svg');
  const mesh = await apiGet(rpage, '/api/mesh');
  const cell = mesh.cells.find((c) => c.state === 'alive');
  await visit(rpage, 'pair', `#/matrix/${encodeURIComponent(cell.from)}/${encodeURIComponent(cell.to)}`, '#view table tbody td');
  for (const tab of ['hosts', 'targets', 'traffic', 'changes']) {
    await rpage.evaluate(() => { location.hash = '#/inventory'; });
    await rpage.locator('#inv-tab-' + tab).click();
    await visit(rpage, 'inventory-' + tab, '#/inventory', '#inv-table tbody td[data-label]');
  }

  check(soft.length === 0, `${soft.length} layout faults (above)`);
  check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join('; ')}`);
  ok('no uncaught error in any page');
  console.log(`# ${checks} checks; screenshots in ${OUT}`);
} catch (e) {
  console.log(`FAIL: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
  exitCode = 1;
} finally {
  await browser.close();
}
process.exit(exitCode);
