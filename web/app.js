/* meshwatch dashboard: vanilla JS, no dependencies, served under a strict
   CSP (no inline script or style). All data goes into the page through
   textContent / text nodes, never innerHTML.

   This file is the shell: the page registry and router, login and the
   session, the fetch helper, the /api/node poller behind the header, the
   one WebSocket client (window.meshwatch.live), the mesh feed the mesh and
   node pages share, and the formatting helpers every page uses (the time
   charts are web/chart.js).
   Each page is a file of its own (web/mesh.js, node.js, matrix.js, ...)
   that loads after this one and calls window.meshwatch.registerPage with
   its hash route and render function. A render function gets the <main>
   element and the route parameters, draws into it, and may return a
   cleanup function that runs when the user leaves the page. */
'use strict';

(function () {
  const POLL_MS = 5000;

  const state = {
    user: null,        // the logged-in user, null when logged out
    node: null,        // last GET /api/node answer
    nodeError: null,   // last polling error (ApiError) or null
    nodeAt: null,      // Date of the last good poll
    pollTimer: null,
    cleanup: null,     // cleanup of the page on screen
    listeners: new Set(), // called after each poll: fn(node, error)
  };

  const $ = (id) => document.getElementById(id);

  /* ---------- DOM helpers ---------- */

  // h('tag', {class, text, on<event>, attr...}, ...children): children are
  // nodes or strings (strings become text nodes).
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = String(v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  function show(el, on) { el.hidden = !on; }

  function setMessage(el, text, kind) {
    el.textContent = text || '';
    el.hidden = !text;
    if (kind) el.dataset.kind = kind; else delete el.dataset.kind;
  }

  /* ---------- formatting ---------- */

  function fmtDuration(sec) {
    sec = Math.max(0, Math.floor(Number(sec) || 0));
    const d = Math.floor(sec / 86400), hr = Math.floor(sec / 3600) % 24;
    const m = Math.floor(sec / 60) % 60, s = sec % 60;
    if (d > 0) return `${d} d ${hr} h ${m} min`;
    if (hr > 0) return `${hr} h ${m} min`;
    if (m > 0) return `${m} min ${s} s`;
    return `${s} s`;
  }

  /* One unit style on every page: sizes in B, KiB, MiB, GiB (powers of
     1024); rates in bit/s with SI prefixes (kbit/s, Mbit/s, Gbit/s) and
     pkt/s; durations in ms, s, min, h, d. One time style: UTC, always
     said ("2026-11-22 02:23:04 UTC", "02:23:04 UTC"), like the API's
     RFC 3339 times; ages ("12 s ago") are measured against the node's
     clock. Pages format through these, never on their own. */

  function fmtBytes(n) {
    n = Number(n) || 0;
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0, v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return i === 0 ? `${n.toLocaleString('en-US')} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
  }

  // bits per second: "840 bit/s", "12.3 kbit/s", "1.25 Mbit/s"
  function fmtBitRate(v) {
    v = Number(v) || 0;
    const pre = ['', 'k', 'M', 'G', 'T'];
    let i = 0;
    while (v >= 1000 && i < pre.length - 1) { v /= 1000; i++; }
    return `${i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${pre[i]}bit/s`;
  }

  // packets per second: "0.5 pkt/s", "1,234 pkt/s"
  function fmtPktRate(v) {
    v = Number(v) || 0;
    return `${v > 0 && v < 10 && !Number.isInteger(v) ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} pkt/s`;
  }

  // RFC 3339 UTC ("2026-11-22T02:23:04Z") -> "2026-11-22 02:23:04 UTC".
  function fmtTime(t) {
    if (!t) return '—';
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(String(t));
    return m ? `${m[1]} ${m[2]} UTC` : String(t);
  }

  // The time of day of a Date, epoch ms or RFC 3339 time: "02:23:04 UTC"
  // ("02:23 UTC" with seconds false).
  function fmtClock(t, seconds) {
    const d = t instanceof Date ? t : new Date(t);
    if (!Number.isFinite(d.getTime())) return '—';
    const p = (x) => String(x).padStart(2, '0');
    return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}${seconds === false ? '' : ':' + p(d.getUTCSeconds())} UTC`;
  }

  // The link from a page to the one above it, the same on every page:
  // "← Mesh" on a line of its own above the title.
  function backLink(href, label) {
    return h('nav', { class: 'crumbs', 'aria-label': 'Back' }, h('a', { href, text: `← ${label}` }));
  }

  // Phone layout: below 700 px each table row is a card (style.css), and
  // each value says its column's name from a data-label attribute. Pages
  // may set it themselves; for the others it is copied from the header
  // cell above, for every table.table drawn into the page.
  function labelCells(root) {
    for (const table of root.querySelectorAll('table.table')) {
      const head = table.tHead && table.tHead.rows[0];
      if (!head) continue;
      const names = [];
      for (const th of head.cells) {
        const name = th.textContent.trim();
        for (let k = 0; k < th.colSpan; k++) names.push(th.classList.contains('actions-col') ? '' : name);
      }
      for (const body of table.tBodies) {
        for (const tr of body.rows) {
          let col = 0;
          for (const td of tr.cells) {
            if (td.tagName === 'TD' && !td.hasAttribute('data-label') && td.colSpan === 1 && names[col]) td.setAttribute('data-label', names[col]);
            col += td.colSpan;
          }
        }
      }
    }
  }
  function watchTables(view) {
    let queued = false;
    new MutationObserver(() => {
      if (queued) return;
      queued = true;
      queueMicrotask(() => { queued = false; labelCells(view); });
    }).observe(view, { childList: true, subtree: true });
  }

  function fmtNumber(n) {
    return typeof n === 'number' ? n.toLocaleString('en-US') : (n === undefined || n === null ? '—' : String(n));
  }

  function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

  /* ---------- API ---------- */

  class ApiError extends Error {
    constructor(status, code, detail, retryAfter) {
      super(detail);
      this.status = status;
      this.code = code;
      this.detail = detail;
      this.retryAfter = retryAfter;
      this.handled = false;
    }
  }

  // fetch wrapper: JSON in and out, the session cookie rides along. Throws
  // ApiError carrying the server's {error, detail}. A 401 on anything but
  // the login itself means the session is gone: back to the login form.
  async function api(method, path, body) {
    const opt = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opt);
    } catch (e) {
      throw new ApiError(0, 'network', 'Cannot reach the node (' + (e && e.message ? e.message : 'network error') + ').');
    }
    const text = res.status === 204 ? '' : await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) {
      const err = new ApiError(res.status,
        (data && data.error) || 'http_' + res.status,
        (data && data.detail) || `The node answered HTTP ${res.status}.`,
        res.headers.get('Retry-After'));
      if (res.status === 401 && path !== '/api/login' && path !== '/api/me' && state.user) {
        err.handled = true;
        sessionEnded();
      }
      throw err;
    }
    return data;
  }

  /* ---------- routes ---------- */

  // Each route: path pattern (":name" segments become params), nav label,
  // render function, and for a page under another one (a peer under the
  // mesh) navParent, the path of the navigation entry to highlight.
  const ROUTES = [];
  // A user who opens the dashboard sees the mesh first.
  const DEFAULT_ROUTE = '/mesh';

  // The page files register here; they load after this file and before
  // boot(). The navigation lists the pages in the order of their script
  // tags in index.html.
  function registerPage(route) {
    ROUTES.push(route);
  }

  function matchRoute(path) {
    const parts = path.split('/').filter(Boolean);
    for (const r of ROUTES) {
      const pat = r.path.split('/').filter(Boolean);
      if (pat.length !== parts.length) continue;
      const params = {};
      let ok = true;
      for (let i = 0; i < pat.length && ok; i++) {
        if (pat[i].startsWith(':')) params[pat[i].slice(1)] = decodeURIComponent(parts[i]);
        else ok = pat[i] === parts[i];
      }
      if (ok) return { route: r, params };
    }
    return null;
  }

  function buildNav() {
    const nav = $('nav');
    nav.replaceChildren(...ROUTES.filter((r) => r.label && !r.path.includes(':')).map((r) =>
      h('a', { href: '#' + r.path, 'data-route': r.path, text: r.label })));
  }

  // A count next to a page's entry in the navigation (the firing alerts);
  // 0 or null removes it.
  function setNavBadge(path, count, title) {
    const a = $('nav').querySelector(`a[data-route="${path}"]`);
    if (!a) return;
    let b = a.querySelector('.nav-badge');
    if (!count) {
      if (b) b.remove();
      return;
    }
    if (!b) {
      b = h('span', { class: 'nav-badge', role: 'status' });
      a.append(b);
    }
    b.textContent = String(count);
    b.title = title || '';
  }

  function router() {
    if (!state.user) return;
    const path = location.hash.replace(/^#/, '') || DEFAULT_ROUTE;
    const m = matchRoute(path);
    if (!m) {
      location.replace('#' + DEFAULT_ROUTE);
      return;
    }
    if (path !== state.renderedPath && state.cleanup) {
      try { state.cleanup(); } catch (e) { /* page already gone */ }
      state.cleanup = null;
    }
    for (const a of $('nav').querySelectorAll('a')) {
      if (a.dataset.route === m.route.path || a.dataset.route === m.route.navParent) {
        a.setAttribute('aria-current', 'page');
        // on a phone the navigation scrolls sideways: keep this page's entry in sight
        const nav = $('nav');
        if (nav.scrollWidth > nav.clientWidth) nav.scrollLeft = Math.max(0, a.offsetLeft - nav.offsetLeft - (nav.clientWidth - a.offsetWidth) / 2);
      } else a.removeAttribute('aria-current');
    }
    if (path === state.renderedPath && state.cleanup) return; // already on screen
    state.renderedPath = path;
    const view = $('view');
    view.replaceChildren();
    setPageTitle(m.route.label);
    state.cleanup = m.route.render(view, m.params) || null;
  }

  // The router names the page by its route's label; a page whose title
  // depends on its data (a peer's name) sets it again.
  function setPageTitle(title) {
    state.pageTitle = title;
    updateTitle();
  }

  function updateTitle() {
    const parts = [];
    if (state.pageTitle) parts.push(state.pageTitle);
    if (state.node) parts.push(state.node.node_fqdn);
    parts.push('meshwatch');
    document.title = parts.join(' · ');
  }

  /* ---------- login / logout ---------- */

  let retryTimer = null;

  function showLogin(notice) {
    state.user = null;
    state.node = null;
    stopPolling();
    if (state.cleanup) {
      try { state.cleanup(); } catch (e) { /* ignore */ }
      state.cleanup = null;
    }
    state.renderedPath = null;
    feedStop();
    liveStop();
    $('view').replaceChildren();
    show($('boot'), false);
    show($('shell'), false);
    show($('login-view'), true);
    setMessage($('login-notice'), notice || '');
    setMessage($('login-error'), '');
    $('login-pass').value = '';
    document.title = 'Log in · meshwatch';
    loadLoginNodeName();
    ($('login-user').value ? $('login-pass') : $('login-user')).focus();
  }

  // The public /health tells which node this login form belongs to.
  async function loadLoginNodeName() {
    try {
      const res = await fetch('/health', { cache: 'no-store', credentials: 'same-origin' });
      const d = await res.json();
      if (d && d.node_fqdn) {
        $('login-node').textContent = `Log in to ${d.node_fqdn}`;
        document.title = `Log in · ${d.node_fqdn} · meshwatch`;
      }
    } catch (e) { /* keep the generic text */ }
  }

  function sessionEnded() {
    showLogin('Your session has ended. Please log in again.');
  }

  async function onLoginSubmit(ev) {
    ev.preventDefault();
    const btn = $('login-submit');
    const err = $('login-error');
    const username = $('login-user').value.trim();
    const password = $('login-pass').value;
    if (!username || !password) {
      setMessage(err, 'Enter your username and password.');
      return;
    }
    btn.disabled = true;
    setMessage(err, '');
    setMessage($('login-notice'), '');
    try {
      const d = await api('POST', '/api/login', { username, password });
      $('login-pass').value = '';
      enterApp(d.user);
    } catch (e) {
      setMessage(err, e.detail || 'Login failed.');
      if (e.status === 429) {
        holdLoginButton(parseInt(e.retryAfter, 10) || 5);
        return;
      }
      $('login-pass').select();
    } finally {
      if (!retryTimer) btn.disabled = false;
    }
  }

  // After a 429, keep the button disabled with a countdown until the node
  // accepts attempts again.
  function holdLoginButton(seconds) {
    const btn = $('login-submit');
    let left = seconds;
    btn.disabled = true;
    btn.textContent = `Retry in ${left} s`;
    clearInterval(retryTimer);
    retryTimer = setInterval(() => {
      left -= 1;
      if (left > 0) {
        btn.textContent = `Retry in ${left} s`;
        return;
      }
      clearInterval(retryTimer);
      retryTimer = null;
      btn.disabled = false;
      btn.textContent = 'Log in';
    }, 1000);
  }

  async function onLogout() {
    const btn = $('logout');
    btn.disabled = true;
    try {
      await api('POST', '/api/logout');
    } catch (e) {
      /* a 401 here means the session was already gone: same result */
    } finally {
      btn.disabled = false;
    }
    if (state.user) showLogin('You have logged out.');
  }

  function enterApp(user) {
    state.user = user;
    show($('boot'), false);
    show($('login-view'), false);
    show($('shell'), true);
    // a read-only user sees every page; the node refuses its changes
    // (403), and the pages that change things say so up front
    const ro = user.role === 'read';
    document.body.classList.toggle('read-only', ro);
    $('me').textContent = ro ? `${user.username} (read-only)` : user.username;
    $('me').title = ro ? `Logged in as ${user.username}, who may look but not change anything` : `Logged in as ${user.username}`;
    $('logout').title = `Log out ${user.username}${ro ? ' (read-only)' : ''}`;
    paintHeader();
    startPolling();
    if (!location.hash || !matchRoute(location.hash.slice(1))) location.replace('#' + DEFAULT_ROUTE);
    router();
  }

  /* ---------- node polling + header ---------- */

  function startPolling() {
    stopPolling();
    pollNode();
  }

  function stopPolling() {
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
    state.pollGen = (state.pollGen || 0) + 1;
  }

  async function pollNode() {
    const gen = state.pollGen;
    try {
      state.node = await api('GET', '/api/node');
      noteServerTime(Date.parse(state.node.started_at) + Number(state.node.uptime_s) * 1000, 1000);
      state.nodeError = null;
      state.nodeAt = new Date();
    } catch (e) {
      if (e.handled || gen !== state.pollGen) return; // logged out meanwhile
      state.nodeError = e;
    }
    if (gen !== state.pollGen || !state.user) return;
    paintHeader();
    for (const fn of state.listeners) {
      try { fn(state.node, state.nodeError); } catch (e) { console.warn('page update failed', e); }
    }
    state.pollTimer = setTimeout(pollNode, POLL_MS);
  }

  function paintHeader() {
    const n = state.node;
    const badge = $('health-badge');
    $('node-fqdn').textContent = n ? n.node_fqdn : '';
    let cls = 'badge-unknown', text = '…';
    if (state.nodeError) {
      cls = 'badge-bad';
      text = 'unreachable';
      badge.title = state.nodeError.detail;
    } else if (n) {
      ({ cls, text, title: badge.title } = healthWords(n));
    }
    badge.className = 'badge ' + cls;
    badge.textContent = text;
    const problems = n && !state.nodeError && Array.isArray(n.problems) ? n.problems : [];
    $('problem-list').replaceChildren(...problems.map((p) => h('li', { text: typeof p === 'string' ? p : JSON.stringify(p) })));
    show($('problems'), problems.length > 0);
    updateTitle();
  }

  // The header's badge: this node's own self-checks (what /health says)
  // and the peers it sees. Healthy self-checks with a dead or suspect peer
  // are "degraded", never a green "healthy".
  function healthWords(n) {
    const m = n.mesh || {};
    const dead = Number(m.dead) || 0, suspect = Number(m.suspect) || 0, total = Number(m.total) || 0;
    if (n.status !== 'healthy') {
      return { cls: 'badge-bad', text: n.status, title: 'This node fails a self-check: see the problems listed below' };
    }
    if (dead || suspect) {
      const parts = [];
      if (dead) parts.push(`${plural(dead, 'peer', 'peers')} dead`);
      if (suspect) parts.push(dead ? `${suspect} suspect` : `${plural(suspect, 'peer', 'peers')} suspect`);
      return { cls: 'badge-warn', text: `degraded: ${parts.join(', ')}`,
        title: `This node's self-checks pass, but ${dead + suspect} of its ${plural(total, 'peer', 'peers')} ${dead + suspect === 1 ? 'is' : 'are'} not alive (see Mesh)` };
    }
    return { cls: 'badge-ok', text: 'healthy', title: total ? `Self-checks pass; all ${plural(total, 'peer', 'peers')} alive` : 'Self-checks pass; no peers yet' };
  }

  // What pages read of the session: the user, and the last /api/node answer
  // with the listeners that run after each poll.
  function currentUser() { return state.user; }
  function readOnly() { return !!(state.user && state.user.role === 'read'); }
  function nodeInfo() { return { node: state.node, error: state.nodeError, at: state.nodeAt }; }
  function onNodeUpdate(fn) {
    state.listeners.add(fn);
    return () => state.listeners.delete(fn);
  }

  /* ---------- peer formatting ---------- */

  const DASH = '—';
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

  // The server's clock, estimated from /api/node (started_at + uptime) and
  // the WebSocket's "time": "12 s ago" is measured against it, so a
  // browser with a wrong clock still shows the right ages.
  function noteServerTime(serverMs, resolutionMs) {
    if (!Number.isFinite(serverMs)) return;
    const skew = serverMs - Date.now();
    // ignore differences below the timestamps' resolution (no jitter)
    state.skew = Math.abs(skew) > resolutionMs + 1000 ? skew : 0;
  }
  function serverNow() { return Date.now() + (state.skew || 0); }

  function fmtMs(v) {
    if (!isNum(v)) return DASH;
    if (v < 10) return `${v.toFixed(2)} ms`;
    if (v < 100) return `${v.toFixed(1)} ms`;
    return `${Math.round(v).toLocaleString('en-US')} ms`;
  }

  function fmtPct(rate) {
    if (!isNum(rate)) return DASH;
    const p = rate * 100;
    if (p === 100 || p === 0) return `${p} %`;
    if (p > 99.9 && p < 100) return `${Math.min(p.toFixed(2), 99.99)} %`; // never "100 %" with failures
    if (p < 0.1) return '< 0.1 %';
    return `${p.toFixed(1)} %`;
  }

  function fmtAgo(t) {
    const ms = Date.parse(t);
    if (!t || !Number.isFinite(ms)) return DASH;
    const s = Math.round((serverNow() - ms) / 1000);
    if (s < 1) return 'just now';
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor(s / 60) % 60} min ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  // "node2" before "node10"
  const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
  function natCmp(a, b) { return collator.compare(String(a ?? ''), String(b ?? '')); }

  function fmtVal(v) { return v === null || v === undefined || v === '' ? DASH : String(v); }

  const STATE_ORDER = { alive: 0, unknown: 1, suspect: 2, dead: 3 };
  function stateBadge(st, title) {
    return h('span', { class: `badge state state-${STATE_ORDER[st] !== undefined ? st : 'unknown'}`, 'data-state': st || '', text: st || 'unknown', title: title || null });
  }
  // "02:23 UTC" of an RFC 3339 time
  function fmtHM(t) { return fmtClock(t, false); }
  // Why a peer's verdict is withheld (its polls time out while this node is
  // overloaded), or null: the words the mesh and node pages show.
  function excuseText(p) {
    if (!p || !p.excused_since) return null;
    return p.state === 'unknown'
      ? `verdict withheld: this node is overloaded since ${fmtHM(p.excused_since)}`
      : `its polls time out while this node is overloaded (since ${fmtHM(p.excused_since)})`;
  }

  function get(obj, path) {
    let v = obj;
    for (const k of path.split('.')) { if (v === null || v === undefined) return null; v = v[k]; }
    return v === undefined ? null : v;
  }

  /* ---------- live: the one WebSocket ---------- */

  // One WebSocket to /ws carries every topic the pages on screen want.
  // live.subscribe(topic, fn) returns a function that unsubscribes; fn gets
  // fn(frame, null) for each frame of that topic, and fn(null, 'closed')
  // when the socket drops (or, subscribing while it is down, at once), so a
  // page can poll meanwhile. The socket opens when a first topic is wanted
  // and closes when none is left; it sends the node the whole set of topics
  // after each change and each reconnect (a {"subscribe": [...]} replaces
  // the one before), and reconnects with exponential backoff.
  const WS_BACKOFF_MIN_MS = 1000;
  const WS_BACKOFF_MAX_MS = 30000;

  const live = {
    topics: new Map(), // topic -> Set of subscriber functions
    known: null,       // the topics the node named in its hello, null before one
    ws: null, open: false, sent: '',
    backoff: WS_BACKOFF_MIN_MS, retryTimer: null, syncQueued: false,
  };

  function liveSubscribe(topic, fn) {
    let fns = live.topics.get(topic);
    if (!fns) {
      fns = new Set();
      live.topics.set(topic, fns);
    }
    const entry = (frame, down) => fn(frame, down); // one entry per call, even for the same fn
    fns.add(entry);
    liveSync();
    if (live.retryTimer) {
      // down and waiting to retry: the page polls from now, not from the next failure
      queueMicrotask(() => { if (fns.has(entry) && live.retryTimer) liveCall(entry, null, 'closed'); });
    }
    return () => {
      fns.delete(entry);
      if (fns.size === 0 && live.topics.get(topic) === fns) live.topics.delete(topic);
      liveSync();
    };
  }

  function liveCall(fn, frame, down) {
    try { fn(frame, down); } catch (e) { console.warn('page update failed', e); }
  }

  // Changes of the topic set are applied once per task: a page leaving and
  // the next one arriving (router) make one subscribe message, not a
  // closed and reopened socket.
  function liveSync() {
    if (live.syncQueued) return;
    live.syncQueued = true;
    queueMicrotask(() => {
      live.syncQueued = false;
      if (live.topics.size === 0) liveStop();
      else if (!live.ws && !live.retryTimer) liveConnect();
      else if (live.open) liveSend();
    });
  }

  // The node refuses a whole subscribe message that names a topic it does
  // not serve (an older node without "alerts"): once its hello has named
  // its topics, only those are asked for.
  function liveSend() {
    const want = [...live.topics.keys()].filter((t) => !live.known || live.known.has(t)).sort();
    const msg = JSON.stringify({ subscribe: want });
    if (msg === live.sent) return;
    live.sent = msg;
    live.ws.send(msg);
  }

  function liveConnect() {
    clearTimeout(live.retryTimer);
    live.retryTimer = null;
    if (!state.user || live.topics.size === 0) return;
    let ws;
    try {
      ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    } catch (e) {
      liveLost();
      return;
    }
    live.ws = ws;
    live.open = false;
    live.sent = '';
    ws.onopen = () => {
      live.open = true;
      liveSend();
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m || typeof m.type !== 'string') return;
      live.backoff = WS_BACKOFF_MIN_MS; // the node took us (its hello): a later drop retries soon
      if (m.type === 'hello' && Array.isArray(m.topics)) {
        live.known = new Set(m.topics);
        if (live.open) liveSend();
      }
      const fns = live.topics.get(m.type);
      if (fns) for (const fn of [...fns]) liveCall(fn, m, null);
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = () => { if (live.ws === ws) liveLost(); };
  }

  function liveDetach(code, reason) {
    const ws = live.ws;
    live.ws = null;
    live.open = false;
    live.sent = '';
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(code, reason); } catch (e) { /* already closed */ }
  }

  // The socket failed or closed: tell every subscriber, retry with backoff.
  function liveLost() {
    liveDetach(1000, 'lost');
    clearTimeout(live.retryTimer);
    const wait = Math.round(live.backoff * (0.8 + Math.random() * 0.4));
    live.backoff = Math.min(live.backoff * 2, WS_BACKOFF_MAX_MS);
    live.retryTimer = setTimeout(liveConnect, wait);
    for (const fns of [...live.topics.values()]) {
      for (const fn of [...fns]) liveCall(fn, null, 'closed');
    }
  }

  // A subscriber that expects a frame every second and got none for long
  // (the mesh feed) drops the socket: it reconnects like after a failure.
  function liveReconnect() {
    if (!live.ws) return;
    liveDetach(4000, 'silent');
    liveLost();
  }

  // No topic left, or logged out: close, and connect at once next time.
  function liveStop() {
    liveDetach(1000, 'page closed');
    clearTimeout(live.retryTimer);
    live.retryTimer = null;
    live.backoff = WS_BACKOFF_MIN_MS;
  }

  /* ---------- mesh feed: the "mesh" topic, polling as the fallback ---------- */

  // One feed shared by the mesh and node pages. It takes the "mesh" topic
  // from the live WebSocket; while that is down it fetches /api/nodes every
  // MESH_POLL_MS (the live client retries the socket with backoff).
  // Subscribers get fn(data, error, mode) with data = {counts, items,
  // pending_seeds, at} and mode 'connecting' | 'live' | 'polling'.
  const MESH_POLL_MS = 2000;
  const WS_SILENCE_MS = 6000;      // live, but no frame for this long: reconnect
  const SEEDS_REFRESH_MS = 15000;  // live: pending seeds come from /api/nodes

  const feed = {
    subs: new Set(), data: null, error: null, mode: 'connecting',
    unlive: null, gen: 0, tickTimer: null,
    lastFetch: 0, lastFrame: 0, fetching: false,
  };

  const FEED_LINGER_MS = 5000;
  function feedSubscribe(fn) {
    feed.subs.add(fn);
    clearTimeout(feed.lingerTimer);
    if (feed.subs.size === 1 && !feed.running) feedStart();
    if (feed.data || feed.error) {
      try { fn(feed.data, feed.error, feed.mode); } catch (e) { console.warn('page update failed', e); }
    }
    return () => {
      feed.subs.delete(fn);
      clearTimeout(feed.lingerTimer);
      if (feed.subs.size === 0) feed.lingerTimer = setTimeout(feedStop, FEED_LINGER_MS);
    };
  }

  function feedEmit() {
    for (const fn of feed.subs) {
      try { fn(feed.data, feed.error, feed.mode); } catch (e) { console.warn('page update failed', e); }
    }
  }

  function feedStart() {
    feedStop();
    const gen = feed.gen;
    feed.running = true;
    feed.mode = 'connecting';
    feedFetch(gen);
    feed.unlive = liveSubscribe('mesh', (m, down) => (down ? feedDown(gen) : feedFrame(gen, m)));
    feedTick(gen);
  }

  function feedStop() {
    feed.gen++;
    feed.running = false;
    clearTimeout(feed.lingerTimer);
    clearTimeout(feed.tickTimer);
    feed.tickTimer = null;
    if (feed.unlive) {
      feed.unlive();
      feed.unlive = null;
    }
    feed.fetching = false;
  }

  // Every second: poll /api/nodes unless the WebSocket is live (then only
  // for the pending seeds, which the frames do not carry), and notice a
  // WebSocket that went silent.
  function feedTick(gen) {
    if (gen !== feed.gen) return;
    const now = Date.now();
    if (feed.mode === 'live' && now - feed.lastFrame > WS_SILENCE_MS) {
      liveReconnect();
      feedDown(gen);
    }
    const every = feed.mode === 'live' ? SEEDS_REFRESH_MS : MESH_POLL_MS;
    if (!feed.fetching && now - feed.lastFetch >= every - 50) feedFetch(gen);
    feed.tickTimer = setTimeout(() => feedTick(gen), 1000);
  }

  async function feedFetch(gen) {
    feed.fetching = true;
    feed.lastFetch = Date.now();
    try {
      const d = await api('GET', '/api/nodes?limit=5000');
      if (gen !== feed.gen) return;
      const counts = Object.assign({ alive: 0, suspect: 0, dead: 0, unknown: 0 }, d.counts || {});
      counts.total = isNum(d.total) ? d.total : (d.items || []).length;
      if (feed.mode === 'live' && feed.data) {
        // the frames are fresher; take only what they lack
        feed.data = Object.assign({}, feed.data, { pending_seeds: d.pending_seeds || [] });
      } else {
        feed.data = { counts, items: d.items || [], pending_seeds: d.pending_seeds || [], at: new Date() };
      }
      feed.error = null;
    } catch (e) {
      if (e.handled || gen !== feed.gen) return;
      feed.error = e;
    } finally {
      if (gen === feed.gen) feed.fetching = false;
    }
    feedEmit();
  }

  function feedFrame(gen, m) {
    if (gen !== feed.gen || !Array.isArray(m.items)) return;
    feed.lastFrame = Date.now();
    if (m.time) noteServerTime(Date.parse(m.time), 1000);
    const counts = Object.assign({ alive: 0, suspect: 0, dead: 0 }, m.counts || {});
    if (!isNum(counts.total)) counts.total = m.items.length;
    if (!isNum(counts.unknown)) counts.unknown = m.items.filter((p) => p.state === 'unknown').length;
    feed.data = { counts, items: m.items, pending_seeds: feed.data ? feed.data.pending_seeds : [], at: new Date() };
    feed.error = null;
    feed.mode = 'live';
    feedEmit();
  }

  // The WebSocket is down: poll meanwhile (the live client retries it).
  function feedDown(gen) {
    if (gen !== feed.gen || feed.mode === 'polling') return;
    feed.mode = 'polling';
    feedEmit();
    if (!feed.fetching) feedFetch(gen);
  }

  // "live" / "polling" indicator used by the mesh and node pages.
  function modeIndicator() {
    const el = h('span', { class: 'mode', id: 'feed-mode', role: 'status', 'data-mode': 'connecting', text: 'connecting…' });
    return {
      el,
      set(mode, at) {
        el.dataset.mode = mode;
        el.textContent = mode === 'live' ? 'live' : mode === 'polling' ? 'polling' : 'connecting…';
        el.title = mode === 'live' ? 'Updates arrive over a WebSocket about once a second'
          : mode === 'polling' ? `No WebSocket: fetching /api/nodes every ${MESH_POLL_MS / 1000} s and retrying the WebSocket`
          : 'Connecting…';
        if (at) el.title += ` · last update ${fmtClock(at)}`;
      },
    };
  }

  /* ---------- SVG helpers ---------- */

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.setAttribute('class', v);
        else if (k === 'text') el.textContent = String(v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, String(v));
      }
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }
  const r1 = (v) => Math.round(v * 10) / 10;

  // What page files may use: registerPage(route), live.subscribe(topic,
  // fn), the mesh feed (the mesh and node pages), session (the user, the
  // last /api/node answer, the page title) and the helpers in ui.
  window.meshwatch = {
    registerPage,
    live: { subscribe: liveSubscribe, serves: (topic) => (live.known ? live.known.has(topic) : null) },
    meshFeed: { subscribe: feedSubscribe, modeIndicator },
    session: { user: currentUser, readOnly, node: nodeInfo, onNode: onNodeUpdate, setPageTitle, setNavBadge, NODE_POLL_MS: POLL_MS },
    ui: {
      h, s, show, setMessage, api, ApiError,
      fmtDuration, fmtBytes, fmtBitRate, fmtPktRate, fmtTime, fmtClock, fmtNumber, plural, fmtMs, fmtPct, fmtAgo, fmtVal,
      backLink,
      natCmp, serverNow, noteServerTime, isNum, get, r1, DASH,
      STATE_ORDER, stateBadge, excuseText,
    },
  };

  /* ---------- start ---------- */

  async function boot() {
    buildNav();
    watchTables($('view'));
    $('login-form').addEventListener('submit', onLoginSubmit);
    $('logout').addEventListener('click', onLogout);
    window.addEventListener('hashchange', router);
    try {
      const me = await api('GET', '/api/me');
      enterApp(me);
    } catch (e) {
      showLogin(e.status === 401 ? '' : e.detail);
    }
  }

  // Deferred scripts run while readyState is already "interactive", before
  // DOMContentLoaded: waiting for it lets the page files after this one
  // register their routes before the navigation is built.
  if (document.readyState === 'complete') boot();
  else document.addEventListener('DOMContentLoaded', boot);
})();
