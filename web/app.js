/* meshwatch dashboard: vanilla JS, no dependencies, served under a strict
   CSP (no inline script or style). All data goes into the page through
   textContent / text nodes, never innerHTML.

   Pages are hash routes registered in ROUTES below; a new page (mesh
   topology, node detail, ...) is one more entry there plus its render
   function. A render function gets the <main> element and the route
   parameters, draws into it, and may return a cleanup function that runs
   when the user leaves the page. */
'use strict';

(function () {
  const POLL_MS = 5000;
  const USERS_PAGE_SIZE = 20;

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

  function fmtBytes(n) {
    n = Number(n) || 0;
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0, v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return i === 0 ? `${n} bytes` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
  }

  // RFC 3339 UTC ("2026-11-22T02:23:04Z") -> "2026-11-22 02:23:04 UTC".
  function fmtTime(t) {
    if (!t) return '—';
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(String(t));
    return m ? `${m[1]} ${m[2]} UTC` : String(t);
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
  // render function. Only pages that exist are listed.
  const ROUTES = [
    { path: '/mesh', label: 'Mesh', render: renderMesh },
    { path: '/nodes/:id', label: 'Node', render: renderNode },
    { path: '/matrix', label: 'Matrix', render: renderMatrix },
    { path: '/matrix/:from/:to', label: 'Pair', render: renderPair },
    { path: '/overview', label: 'Overview', render: renderOverview },
    { path: '/users', label: 'Users', render: renderUsers },
  ];
  // A user who opens the dashboard sees the mesh first.
  const DEFAULT_ROUTE = '/mesh';

  // Pages in their own files (web/targets.js, traffic.js, discovery.js)
  // register here; they load after this file and before boot(). A page goes
  // into the navigation before Overview.
  function registerPage(route) {
    const at = ROUTES.findIndex((r) => r.path === '/overview');
    ROUTES.splice(at < 0 ? ROUTES.length : at, 0, route);
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
      if (a.dataset.route === m.route.path || (a.dataset.route === '/mesh' && m.route.path === '/nodes/:id')) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (path === state.renderedPath && state.cleanup) return; // already on screen
    state.renderedPath = path;
    const view = $('view');
    view.replaceChildren();
    state.pageTitle = m.route.label;
    updateTitle();
    state.cleanup = m.route.render(view, m.params) || null;
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
    $('me').textContent = user.username;
    $('me').title = `Logged in as ${user.username}`;
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
      cls = n.status === 'healthy' ? 'badge-ok' : 'badge-bad';
      text = n.status;
      badge.title = n.status === 'healthy' ? 'All self-checks pass' : 'See the problems listed below';
    }
    badge.className = 'badge ' + cls;
    badge.textContent = text;
    const problems = n && !state.nodeError && Array.isArray(n.problems) ? n.problems : [];
    $('problem-list').replaceChildren(...problems.map((p) => h('li', { text: typeof p === 'string' ? p : JSON.stringify(p) })));
    show($('problems'), problems.length > 0);
    updateTitle();
  }

  /* ---------- Overview ---------- */

  function renderOverview(view) {
    const updated = h('span', { class: 'muted small', id: 'overview-updated' });
    const stale = h('p', { class: 'error', role: 'alert', hidden: true });
    const grid = h('div', { class: 'grid' });
    const fields = []; // [el, fn(node) -> value | {text, title, cls}]

    // value cell bound to a function of the node answer
    function kv(label, key, fn, opts) {
      const dd = h('dd', { 'data-field': key, class: (opts && opts.mono) ? 'mono' : null });
      fields.push([dd, fn, opts || {}]);
      return [h('dt', { text: label }), dd];
    }
    function card(title, id, ...rows) {
      return h('section', { class: 'card', id },
        h('h2', { text: title }),
        h('dl', { class: 'kv' }, rows));
    }

    const names = h('ul', { class: 'chips', 'data-field': 'certificate.names' });

    grid.append(
      card('Identity', 'card-identity',
        kv('Node ID', 'node_id', (n) => n.node_id, { mono: true }),
        kv('FQDN', 'node_fqdn', (n) => n.node_fqdn),
        kv('IP address', 'node_ip', (n) => n.node_ip, { mono: true }),
        kv('Listening on', 'listen', (n) => n.listen, { mono: true }),
        kv('Version', 'version', (n) => n.version),
        kv('Uptime', 'uptime', (n) => ({ text: fmtDuration(n.uptime_s), title: `since ${fmtTime(n.started_at)}` })),
        kv('Environment', 'node_env', (n) => n.node_env),
        kv('Known nodes', 'known_nodes', (n) => fmtNumber(n.known_nodes))),
      card('Certificate', 'card-certificate',
        kv('Subject', 'certificate.subject', (n) => n.certificate.subject),
        kv('Valid from', 'certificate.not_before', (n) => fmtTime(n.certificate.not_before)),
        kv('Expires', 'certificate.not_after', (n) => {
          const c = n.certificate;
          const left = Number(c.days_left);
          const when = left < 0 ? `expired ${plural(-left, 'day', 'days')} ago` : `${plural(left, 'day', 'days')} left`;
          return { text: `${fmtTime(c.not_after)} (${when})`, cls: left < 0 ? 'bad' : left <= 14 ? 'warn' : null };
        }),
        kv('SHA-256', 'certificate.sha256', (n) => (n.certificate.sha256 || '').replace(/(..)(?!$)/g, '$1:'), { mono: true, breakAfter: ':' }),
        [h('dt', { text: 'Names (SAN)' }), h('dd', null, names)]),
      card('Database', 'card-database',
        kv('Path', 'database.path', (n) => n.database.path, { mono: true, breakAfter: '/' }),
        kv('Size', 'database.size_bytes', (n) => ({ text: fmtBytes(n.database.size_bytes), title: `${fmtNumber(n.database.size_bytes)} bytes` })),
        kv('Schema version', 'database.schema_version', (n) => String(n.database.schema_version)),
        kv('Writable', 'database.writable', (n) => n.database.writable
          ? { text: 'yes', cls: 'good' } : { text: 'no — writes fail', cls: 'bad' })),
      card('TLS', 'card-tls',
        kv('Handshakes OK', 'tls.handshakes_ok', (n) => fmtNumber(n.tls.handshakes_ok)),
        kv('Handshakes failed', 'tls.handshakes_failed', (n) => ({
          text: fmtNumber(n.tls.handshakes_failed), cls: n.tls.handshakes_failed > 0 ? 'warn' : null })),
        kv('Average handshake', 'tls.handshake_avg_ms', (n) => `${Number(n.tls.handshake_avg_ms || 0).toFixed(2)} ms`),
        kv('Certificate reloads', 'tls.certificate_reloads', (n) => fmtNumber(n.tls.certificate_reloads))),
      card('Accounts', 'card-accounts',
        kv('Users', 'users', (n) => fmtNumber(n.users)),
        kv('Active sessions', 'sessions', (n) => fmtNumber(n.sessions))));

    view.append(h('section', { class: 'page', id: 'overview' },
      h('div', { class: 'page-head' }, h('h1', { text: 'Overview' }), updated),
      stale, grid));

    function paint(n, err) {
      if (err) {
        setMessage(stale, `Could not refresh: ${err.detail} Showing the last data received.`);
      } else {
        setMessage(stale, '');
      }
      if (!n) return;
      for (const [el, fn, opts] of fields) {
        let v;
        try { v = fn(n); } catch (e) { v = undefined; }
        if (v === undefined || v === null || v === '') v = '—';
        if (typeof v === 'object') {
          el.textContent = v.text;
          if (v.title) el.title = v.title; else el.removeAttribute('title');
          el.classList.remove('good', 'warn', 'bad');
          if (v.cls) el.classList.add(v.cls);
        } else if (opts.breakAfter) {
          // long hex strings: allow line breaks only after the separator
          const parts = String(v).split(opts.breakAfter);
          el.replaceChildren(...parts.flatMap((p, i) =>
            i < parts.length - 1 ? [p + opts.breakAfter, h('wbr')] : [p]));
        } else {
          el.textContent = v;
        }
      }
      const list = (n.certificate && Array.isArray(n.certificate.names)) ? n.certificate.names : [];
      names.replaceChildren(...list.map((s) => h('li', { class: 'chip', text: s })));
      if (state.nodeAt) updated.textContent = `Updated ${state.nodeAt.toLocaleTimeString()} · refreshes every ${POLL_MS / 1000} s`;
    }

    state.listeners.add(paint);
    if (state.node || state.nodeError) paint(state.node, state.nodeError);
    return () => state.listeners.delete(paint);
  }

  /* ---------- Users ---------- */

  function renderUsers(view) {
    const page = { q: '', offset: 0, total: 0, items: [], highlight: null, seq: 0 };
    let openPw = null; // id of the user whose password row is open

    // create form
    const newName = h('input', { id: 'new-username', name: 'username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '64', required: true });
    const newPass = h('input', { id: 'new-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true });
    const createErr = h('p', { id: 'create-error', class: 'error', role: 'alert', hidden: true });
    const createBtn = h('button', { type: 'submit', class: 'primary', id: 'create-submit', text: 'Create user' });
    const createForm = h('form', { id: 'create-user-form', class: 'inline-form', novalidate: true, onsubmit: onCreate },
      h('div', { class: 'field' }, h('label', { for: 'new-username', text: 'Username' }), newName),
      h('div', { class: 'field' }, h('label', { for: 'new-password', text: 'Password' }), newPass),
      h('div', { class: 'field field-button' }, createBtn));

    // list
    const search = h('input', { id: 'user-search', type: 'search', placeholder: 'Search usernames', 'aria-label': 'Search usernames', autocomplete: 'off' });
    const status = h('p', { id: 'users-status', class: 'status', role: 'status', hidden: true });
    const listErr = h('p', { id: 'users-error', class: 'error', role: 'alert', hidden: true });
    const tbody = h('tbody');
    const table = h('table', { id: 'users-table', class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', text: 'ID', class: 'num' }),
        h('th', { scope: 'col', text: 'Username' }),
        h('th', { scope: 'col', text: 'Created' }),
        h('th', { scope: 'col', text: 'Updated' }),
        h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'sr-only', text: 'Actions' })))),
      tbody);
    const prev = h('button', { type: 'button', class: 'secondary', id: 'users-prev', text: '← Previous', onclick: () => go(page.offset - USERS_PAGE_SIZE) });
    const next = h('button', { type: 'button', class: 'secondary', id: 'users-next', text: 'Next →', onclick: () => go(page.offset + USERS_PAGE_SIZE) });
    const range = h('span', { id: 'users-range', class: 'muted' });
    const count = h('span', { class: 'muted small', id: 'users-count' });

    view.append(h('section', { class: 'page', id: 'users' },
      h('div', { class: 'page-head' }, h('h1', { text: 'Users' }), count),
      h('section', { class: 'card' }, h('h2', { text: 'New user' }), createForm, createErr,
        h('p', { class: 'muted small hint', text: 'Usernames: 1–64 letters, digits and . _ - @. Passwords: at least 8 characters.' })),
      h('section', { class: 'card' },
        h('div', { class: 'toolbar' }, h('h2', { text: 'All users' }), search),
        status, listErr,
        h('div', { class: 'table-wrap' }, table),
        h('div', { class: 'pager' }, prev, range, next))));

    let searchTimer = null;
    search.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => { page.q = search.value.trim(); go(0); }, 250);
    });

    function go(offset) {
      page.offset = Math.max(0, offset);
      load();
    }

    async function load() {
      const seq = ++page.seq;
      const qs = new URLSearchParams({ limit: String(USERS_PAGE_SIZE), offset: String(page.offset) });
      if (page.q) qs.set('q', page.q);
      try {
        const d = await api('GET', '/api/users?' + qs.toString());
        if (seq !== page.seq) return;
        // Past the end (e.g. after deleting the last row of the last page): step back.
        if (d.items.length === 0 && d.total > 0 && page.offset > 0) {
          go(Math.floor((d.total - 1) / USERS_PAGE_SIZE) * USERS_PAGE_SIZE);
          return;
        }
        page.items = d.items;
        page.total = d.total;
        setMessage(listErr, '');
        paint();
      } catch (e) {
        if (e.handled || seq !== page.seq) return;
        setMessage(listErr, e.detail);
      }
    }

    function paint() {
      const rows = [];
      if (page.items.length === 0) {
        rows.push(h('tr', null, h('td', { colspan: '5', class: 'empty',
          text: page.q ? `No user name contains “${page.q}”.` : 'No users.' })));
      }
      for (const u of page.items) {
        const me = state.user && u.id === state.user.id;
        const tr = h('tr', { 'data-user-id': String(u.id), 'data-username': u.username, class: page.highlight === u.id ? 'new' : null },
          h('td', { class: 'num', 'data-label': 'ID', text: String(u.id) }),
          h('td', { 'data-label': 'Username', class: 'username' }, h('span', { text: u.username }),
            me ? h('span', { class: 'tag', text: 'you' }) : null),
          h('td', { 'data-label': 'Created', text: fmtTime(u.created_at) }),
          h('td', { 'data-label': 'Updated', text: fmtTime(u.updated_at) }),
          h('td', { class: 'actions' },
            h('button', { type: 'button', class: 'secondary small-btn', 'data-action': 'password',
              'aria-expanded': openPw === u.id ? 'true' : 'false',
              text: 'Change password', onclick: () => togglePassword(u) }),
            h('button', { type: 'button', class: 'danger small-btn', 'data-action': 'delete',
              text: 'Delete', onclick: () => onDelete(u) })));
        rows.push(tr);
        if (openPw === u.id) rows.push(passwordRow(u));
      }
      tbody.replaceChildren(...rows);
      const first = page.total === 0 ? 0 : page.offset + 1;
      const last = page.offset + page.items.length;
      range.textContent = page.total === 0 ? '0 users' : `${first}–${last} of ${page.total}`;
      prev.disabled = page.offset === 0;
      next.disabled = last >= page.total;
      count.textContent = page.q ? `${plural(page.total, 'match', 'matches')}` : plural(page.total, 'user', 'users');
    }

    function passwordRow(u) {
      const input = h('input', { type: 'password', id: `pw-${u.id}`, autocomplete: 'new-password', 'aria-label': `New password for ${u.username}`, placeholder: 'New password' });
      // the node asks for the password of whoever makes the change
      const current = h('input', { type: 'password', id: `pw-cur-${u.id}`, autocomplete: 'current-password', 'aria-label': 'Your current password', placeholder: 'Your current password' });
      const err = h('p', { class: 'error', role: 'alert', hidden: true });
      const save = h('button', { type: 'submit', class: 'primary small-btn', text: 'Save password' });
      const form = h('form', { class: 'pw-form', novalidate: true, onsubmit: async (ev) => {
        ev.preventDefault();
        if (!input.value) { setMessage(err, 'Enter the new password.'); input.focus(); return; }
        if (!current.value) { setMessage(err, 'Enter your current password.'); current.focus(); return; }
        save.disabled = true;
        try {
          await api('PATCH', `/api/users/${u.id}`, { password: input.value, current_password: current.value });
          openPw = null;
          flash(`Password of “${u.username}” changed.`);
          load();
        } catch (e) {
          if (!e.handled) { setMessage(err, e.detail); save.disabled = false; (/current_password/.test(e.detail) ? current : input).focus(); }
        }
      } },
      h('label', { for: `pw-${u.id}`, text: `New password for ${u.username}` }),
      h('div', { class: 'pw-controls' }, input, current, save,
        h('button', { type: 'button', class: 'secondary small-btn', text: 'Cancel', onclick: () => { openPw = null; paint(); } })),
      err);
      setTimeout(() => input.focus(), 0);
      return h('tr', { class: 'pw-row' }, h('td', { colspan: '5' }, form));
    }

    function togglePassword(u) {
      openPw = openPw === u.id ? null : u.id;
      paint();
    }

    async function onDelete(u) {
      const me = state.user && u.id === state.user.id;
      const q = me ? `Delete your own account “${u.username}”? You will be logged out.` : `Delete user “${u.username}”? This cannot be undone.`;
      if (!window.confirm(q)) return;
      setMessage(listErr, '');
      try {
        await api('DELETE', `/api/users/${u.id}`);
        if (openPw === u.id) openPw = null;
        flash(`User “${u.username}” deleted.`);
        load();
      } catch (e) {
        if (!e.handled) setMessage(listErr, e.detail);
      }
    }

    async function onCreate(ev) {
      ev.preventDefault();
      const username = newName.value.trim();
      const password = newPass.value;
      setMessage(createErr, '');
      createBtn.disabled = true;
      try {
        const u = await api('POST', '/api/users', { username, password });
        newName.value = '';
        newPass.value = '';
        flash(`User “${u.username}” created.`);
        // Show the page that holds the new user (the list is ordered by id,
        // so it is the last page of the unfiltered list).
        let total = page.total + 1;
        if (page.q) {
          const d = await api('GET', '/api/users?limit=1');
          total = d.total;
        }
        search.value = '';
        page.q = '';
        page.highlight = u.id;
        go(Math.floor((Math.max(total, 1) - 1) / USERS_PAGE_SIZE) * USERS_PAGE_SIZE);
      } catch (e) {
        if (e.handled) return;
        setMessage(createErr, e.detail);
        (/password/.test(e.detail) ? newPass : newName).focus();
      } finally {
        createBtn.disabled = false;
      }
    }

    let flashTimer = null;
    function flash(text) {
      setMessage(status, text);
      clearTimeout(flashTimer);
      flashTimer = setTimeout(() => setMessage(status, ''), 6000);
    }

    load();
    return () => { clearTimeout(searchTimer); clearTimeout(flashTimer); };
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
  // local HH:MM of an RFC 3339 time
  function fmtHM(t) {
    const d = new Date(t);
    return Number.isFinite(d.getTime()) ? `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}` : DASH;
  }
  // Why a peer's verdict is withheld (its polls time out while this node is
  // overloaded), or null: the words the mesh and node pages show.
  function excuseText(p) {
    if (!p || !p.excused_since) return null;
    return p.state === 'unknown'
      ? `verdict withheld: this node is overloaded since ${fmtHM(p.excused_since)}`
      : `its polls time out while this node is overloaded (since ${fmtHM(p.excused_since)})`;
  }

  function pmtuText(pm) {
    if (!pm || !isNum(pm.value)) return DASH;
    return String(pm.value);
  }

  function rttOf(p) { return p.udp && isNum(p.udp.rtt_avg_ms) ? p.udp.rtt_avg_ms : null; }
  function get(obj, path) {
    let v = obj;
    for (const k of path.split('.')) { if (v === null || v === undefined) return null; v = v[k]; }
    return v === undefined ? null : v;
  }

  // Success rate over 24 h across peers, weighted by their number of polls.
  function meshSuccess24h(items) {
    let polls = 0, ok = 0;
    for (const p of items) {
      const r = get(p, 'poll.success_rate_24h'), n = get(p, 'poll.polls_24h');
      if (isNum(r) && isNum(n) && n > 0) { polls += n; ok += r * n; }
    }
    return polls > 0 ? { rate: ok / polls, polls } : { rate: null, polls: 0 };
  }

  /* ---------- mesh feed: WebSocket, polling as the fallback ---------- */

  // One feed shared by the mesh and node pages. It connects to /ws; while
  // that is not possible it fetches /api/nodes every MESH_POLL_MS and retries
  // the WebSocket with exponential backoff. Subscribers get
  // fn(data, error, mode) with data = {counts, items, pending_seeds, at}
  // and mode 'connecting' | 'live' | 'polling'.
  const MESH_POLL_MS = 2000;
  const WS_BACKOFF_MIN_MS = 1000;
  const WS_BACKOFF_MAX_MS = 30000;
  const WS_SILENCE_MS = 6000;      // live, but no frame for this long: reconnect
  const SEEDS_REFRESH_MS = 15000;  // live: pending seeds come from /api/nodes

  const feed = {
    subs: new Set(), data: null, error: null, mode: 'connecting',
    ws: null, gen: 0, backoff: WS_BACKOFF_MIN_MS, wsTimer: null, tickTimer: null,
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

  function feedSetMode(mode) {
    if (feed.mode === mode) return;
    feed.mode = mode;
    feedEmit();
  }

  function feedStart() {
    feedStop();
    const gen = feed.gen;
    feed.running = true;
    feed.mode = 'connecting';
    feed.backoff = WS_BACKOFF_MIN_MS;
    feedFetch(gen);
    wsConnect(gen);
    feedTick(gen);
  }

  function feedStop() {
    feed.gen++;
    feed.running = false;
    clearTimeout(feed.lingerTimer);
    clearTimeout(feed.wsTimer);
    clearTimeout(feed.tickTimer);
    feed.wsTimer = feed.tickTimer = null;
    if (feed.ws) {
      const ws = feed.ws;
      feed.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(1000, 'page closed'); } catch (e) { /* already closed */ }
    }
    feed.fetching = false;
  }

  // Every second: poll /api/nodes unless the WebSocket is live (then only
  // for the pending seeds, which the frames do not carry), and notice a
  // WebSocket that went silent.
  function feedTick(gen) {
    if (gen !== feed.gen) return;
    const now = Date.now();
    if (feed.mode === 'live' && feed.ws && now - feed.lastFrame > WS_SILENCE_MS) {
      try { feed.ws.close(4000, 'silent'); } catch (e) { /* ignore */ }
      wsLost(gen);
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
      if (feed.mode === 'connecting' && !feed.ws) feed.mode = 'polling';
    } catch (e) {
      if (e.handled || gen !== feed.gen) return;
      feed.error = e;
    } finally {
      if (gen === feed.gen) feed.fetching = false;
    }
    feedEmit();
  }

  function wsConnect(gen) {
    if (gen !== feed.gen || !state.user) return;
    let ws;
    try {
      ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    } catch (e) {
      wsLost(gen);
      return;
    }
    feed.ws = ws;
    ws.onopen = () => {
      if (gen !== feed.gen) return;
      feed.lastFrame = Date.now();
      ws.send(JSON.stringify({ subscribe: ['mesh'] }));
    };
    ws.onmessage = (ev) => {
      if (gen !== feed.gen) return;
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m || m.type !== 'mesh' || !Array.isArray(m.items)) return;
      feed.lastFrame = Date.now();
      feed.backoff = WS_BACKOFF_MIN_MS;
      if (m.time) noteServerTime(Date.parse(m.time), 1000);
      const counts = Object.assign({ alive: 0, suspect: 0, dead: 0 }, m.counts || {});
      if (!isNum(counts.total)) counts.total = m.items.length;
      if (!isNum(counts.unknown)) counts.unknown = m.items.filter((p) => p.state === 'unknown').length;
      feed.data = { counts, items: m.items, pending_seeds: feed.data ? feed.data.pending_seeds : [], at: new Date() };
      feed.error = null;
      feed.mode = 'live';
      feedEmit();
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = () => { if (feed.ws === ws) wsLost(gen); };
  }

  // The WebSocket failed or closed: poll meanwhile, retry with backoff.
  function wsLost(gen) {
    if (gen !== feed.gen) return;
    if (feed.ws) {
      feed.ws.onopen = feed.ws.onmessage = feed.ws.onclose = feed.ws.onerror = null;
      feed.ws = null;
    }
    clearTimeout(feed.wsTimer);
    const wait = Math.round(feed.backoff * (0.8 + Math.random() * 0.4));
    feed.backoff = Math.min(feed.backoff * 2, WS_BACKOFF_MAX_MS);
    feed.wsTimer = setTimeout(() => wsConnect(gen), wait);
    if (feed.mode !== 'polling') {
      feed.mode = 'polling';
      feedEmit();
      if (!feed.fetching) feedFetch(gen);
    }
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
        if (at) el.title += ` · last update ${at.toLocaleTimeString()}`;
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

  function ellipsize(text, max) {
    text = String(text || '');
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  /* ---------- topology drawing ---------- */

  // This node in the centre, peers on a ring around it (ordered by name, so
  // positions stay put), edges labelled with the UDP RTT (poll total time
  // when there is no RTT). Up to 12 peers the labels are horizontal; beyond
  // that they follow the spokes so that ~50 peers stay readable. The drawing
  // is rebuilt only when the set of peers changes; otherwise each update
  // just changes classes and texts (a click in progress is not lost).
  function topology(onSelfTitle) {
    const wrap = h('div', { class: 'topo-wrap' });
    let key = null;
    let refs = null; // id -> {g, edge, label, title, circle}
    let self = null;

    function edgeText(p) {
      const rtt = rttOf(p);
      if (rtt !== null) return fmtMs(rtt);
      const tot = get(p, 'poll.total_ms');
      return isNum(tot) ? `${fmtMs(tot)} (poll)` : DASH;
    }
    function nodeTitle(p) {
      return `${p.fqdn} (${p.ip}:${p.port}) · ${p.state} · RTT ${fmtMs(rttOf(p))} · poll ${fmtMs(get(p, 'poll.total_ms'))} · last seen ${fmtAgo(p.last_seen)}`;
    }

    function build(peers, me, compact) {
      const n = peers.length;
      const radial = n > 12;
      const R = radial ? Math.max(210, (n * 30) / (2 * Math.PI)) : compact ? 130 : 170;
      const labelRoom = radial ? 190 : 0;
      const W = radial ? 2 * (R + 22 + labelRoom) : compact ? 460 : 920;
      const H = radial ? W : 2 * (R + 52);
      const cx = W / 2, cy = H / 2;
      const nodeR = n > 30 ? 9 : n > 12 ? 11 : 15;
      const svg = s('svg', { class: 'topo' + (compact ? ' topo-compact' : '') + (radial ? ' topo-radial' : ''), id: 'topology', viewBox: `0 0 ${r1(W)} ${r1(H)}`, role: 'img',
        'aria-label': `Mesh topology: this node and ${plural(n, 'peer', 'peers')}`, 'data-peers': n });
      const edges = s('g', { class: 'topo-edges' });
      const elabels = s('g', { class: 'topo-edge-labels' });
      const nodes = s('g', { class: 'topo-nodes' });
      svg.append(edges, elabels, nodes);
      refs = new Map();
      // two peers sit left and right (the drawing is wider than high)
      const a0 = -Math.PI / 2 + (n === 2 && !compact ? Math.PI / 2 : 0);
      peers.forEach((p, i) => {
        const a = a0 + (2 * Math.PI * i) / Math.max(n, 1);
        const cos = Math.cos(a), sin = Math.sin(a);
        const x = cx + R * cos, y = cy + R * sin;
        const edge = s('line', { class: 'topo-edge', x1: r1(cx + 30 * cos), y1: r1(cy + 30 * sin), x2: r1(x - nodeR * cos), y2: r1(y - nodeR * sin) });
        edges.append(edge);
        // edge label: horizontal at the middle, or along the spoke
        // edge label on a white plate (sized to the text in update()):
        // horizontal at the middle, or along the spoke when there are many
        const deg = (a * 180) / Math.PI;
        const flip = cos < -1e-6; // left half: turn the text so it reads left to right
        const lr = 30 + (R - 30) * (radial ? (i % 2 ? 0.62 : 0.45) : 0.5);
        const plate = s('rect', { class: 'topo-edge-plate', x: -20, y: -9, width: 40, height: 18, rx: 4 });
        const label = s('text', { class: 'topo-edge-label', x: 0, y: 0, 'text-anchor': 'middle', 'dominant-baseline': 'central' });
        elabels.append(s('g', { transform: `translate(${r1(cx + lr * cos)} ${r1(cy + lr * sin)})` + (radial ? ` rotate(${r1(flip ? deg + 180 : deg)})` : '') }, plate, label));
        // node + its name
        let name;
        const full = p.fqdn || p.id;
        if (radial) {
          const lx = x + (nodeR + 6) * cos, ly = y + (nodeR + 6) * sin;
          name = s('text', { class: 'topo-name', x: r1(lx), y: r1(ly), 'dominant-baseline': 'central', 'text-anchor': flip ? 'end' : 'start',
            transform: `rotate(${r1(flip ? deg + 180 : deg)} ${r1(lx)} ${r1(ly)})`, text: ellipsize(full, 26) });
        } else {
          // narrow screens: every name centred above/below its node
          const anchor = compact ? 'middle' : cos > 0.35 ? 'start' : cos < -0.35 ? 'end' : 'middle';
          const off = nodeR + 8;
          let lx = x + off * cos, ly = y + off * sin;
          if (compact) { lx = x; ly = y + (sin > 0.2 ? off : -off); }
          else if (anchor === 'middle') ly += sin > 0 ? 8 : -4;
          const below = compact ? sin > 0.2 : sin > 0;
          name = s('text', { class: 'topo-name', x: r1(lx), y: r1(ly), 'text-anchor': anchor, 'dominant-baseline': anchor === 'middle' ? (below ? 'hanging' : 'auto') : 'central', text: ellipsize(full, compact ? 20 : 30) });
        }
        const title = s('title');
        const circle = s('circle', { cx: r1(x), cy: r1(y), r: nodeR });
        const g = s('a', { class: 'topo-node topo-peer', href: '#/nodes/' + encodeURIComponent(p.id), 'data-peer-id': p.id, 'aria-label': full }, title, circle, name);
        nodes.append(g);
        refs.set(p.id, { g, edge, label, plate, title });
      });
      // this node, on top
      const meTitle = s('title');
      // this node's name goes where no spoke runs (n = 1, 3: below; else just below, on a halo)
      self = { title: meTitle, name: s('text', { class: 'topo-self-name', x: r1(cx), y: r1(cy + 48), 'text-anchor': 'middle', text: ellipsize(me || 'this node', compact ? 22 : 34) }) };
      nodes.append(s('a', { class: 'topo-node topo-self', href: '#/overview', 'aria-label': 'This node (overview)' },
        meTitle,
        s('circle', { cx: r1(cx), cy: r1(cy), r: 30 }),
        s('text', { class: 'topo-self-label', x: r1(cx), y: r1(cy), 'text-anchor': 'middle', 'dominant-baseline': 'central', text: 'this node' }),
        self.name));
      if (n === 0) {
        svg.append(s('text', { class: 'topo-empty', x: r1(cx), y: r1(cy - 60), 'text-anchor': 'middle', text: 'No peers known yet' }));
      }
      if (!radial) {
        // fit the height to what is drawn (1 or 2 peers need little)
        const ys = peers.map((p, i) => cy + R * Math.sin(a0 + (2 * Math.PI * i) / Math.max(n, 1)));
        const top = Math.min(cy - 70, ...ys.map((y) => y - nodeR - 34));
        const bottom = Math.max(cy + 64, ...ys.map((y) => y + nodeR + 34));
        svg.setAttribute('viewBox', `0 ${r1(top)} ${r1(W)} ${r1(bottom - top)}`);
      }
      wrap.replaceChildren(svg);
    }

    let last = null;
    function update(peers, me) {
      last = [peers, me];
      const compact = (wrap.clientWidth || 900) < 600;
      const sorted = peers.slice().sort((a, b) => natCmp(a.fqdn, b.fqdn) || natCmp(a.id, b.id));
      const k = sorted.map((p) => p.id).join(' ') + '|' + (me || '') + '|' + compact;
      if (k !== key) { build(sorted, me, compact); key = k; }
      for (const p of sorted) {
        const r = refs.get(p.id);
        const st = STATE_ORDER[p.state] !== undefined ? p.state : 'unknown';
        r.g.setAttribute('class', `topo-node topo-peer state-${st}`);
        r.g.dataset.state = p.state;
        r.edge.setAttribute('class', `topo-edge state-${st}`);
        const et = edgeText(p);
        if (r.label.textContent !== et) {
          r.label.textContent = et;
          let w = et.length * 7;
          try { w = r.label.getComputedTextLength() || w; } catch (e) { /* not laid out */ }
          r.plate.setAttribute('x', r1(-w / 2 - 4));
          r.plate.setAttribute('width', r1(w + 8));
        }
        r.title.textContent = nodeTitle(p);
      }
      self.title.textContent = onSelfTitle();
    }

    // a narrow <-> wide change of the page redraws with the other layout
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => { if (last) update(last[0], last[1]); }) : null;
    if (ro) ro.observe(wrap);
    return { el: wrap, update, stop: () => { if (ro) ro.disconnect(); } };
  }

  /* ---------- Mesh page ---------- */

  const PEER_COLUMNS = [
    { key: 'fqdn', label: 'Name', sort: (p) => String(p.fqdn || ''), cmp: natCmp },
    { key: 'addr', label: 'Address', sort: (p) => (String(p.ip || '').split('.').map((x) => x.padStart(3, '0')).join('.') + ':' + String(p.port).padStart(5, '0')) },
    { key: 'state', label: 'State', sort: (p) => STATE_ORDER[p.state] ?? 3 },
    { key: 'last_seen', label: 'Last seen', sort: (p) => { const t = Date.parse(p.last_seen); return Number.isFinite(t) ? -t : null; } },
    { key: 'ok1h', label: 'OK 1 h', num: true, sort: (p) => get(p, 'poll.success_rate_1h') },
    { key: 'ok24h', label: 'OK 24 h', num: true, sort: (p) => get(p, 'poll.success_rate_24h') },
    { key: 'total', label: 'Poll time', num: true, sort: (p) => get(p, 'poll.total_ms') },
    { key: 'rtt', label: 'RTT', num: true, sort: rttOf },
    { key: 'loss', label: 'Loss', num: true, sort: (p) => get(p, 'udp.loss') },
    { key: 'pmtu', label: 'PMTU', num: true, sort: (p) => get(p, 'pmtu.value') },
    { key: 'error', label: 'Last error', sort: (p) => get(p, 'poll.last_error') || null },
  ];
  const meshSort = { key: 'fqdn', dir: 1 }; // kept while the page is left and re-entered

  function renderMesh(view) {
    const mode = modeIndicator();
    const updated = h('span', { class: 'muted small', id: 'mesh-updated' });
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const stat = (id, label, cls) => {
      const v = h('span', { class: 'stat-value', id: 'stat-' + id, text: DASH });
      const sub = h('span', { class: 'stat-sub muted small' });
      return { el: h('div', { class: `card stat ${cls || ''}`, id: 'stat-card-' + id }, h('span', { class: 'stat-label', text: label }), v, sub), v, sub };
    };
    const stats = {
      total: stat('total', 'Peers'),
      alive: stat('alive', 'Alive', 'stat-alive'),
      suspect: stat('suspect', 'Suspect', 'stat-suspect'),
      dead: stat('dead', 'Dead', 'stat-dead'),
      ok24h: stat('ok24h', 'Success 24 h'),
    };
    const topo = topology(() => `This node: ${state.node ? state.node.node_fqdn : ''}`);
    const legend = h('ul', { class: 'legend' },
      h('li', null, h('span', { class: 'dot dot-self' }), 'this node'),
      h('li', null, h('span', { class: 'dot dot-alive' }), 'alive'),
      h('li', null, h('span', { class: 'dot dot-suspect' }), 'suspect'),
      h('li', null, h('span', { class: 'dot dot-dead' }), 'dead'),
      h('li', null, h('span', { class: 'dot dot-unknown' }), 'unknown (verdict withheld: this node is overloaded)'),
      h('li', { class: 'muted' }, 'edges: UDP round-trip time, or poll time when no RTT is measured'));

    // table with sortable headers
    const ths = PEER_COLUMNS.map((c) => {
      const btn = h('button', { type: 'button', class: 'sort-btn', 'data-sort': c.key, onclick: () => {
        if (meshSort.key === c.key) meshSort.dir = -meshSort.dir; else { meshSort.key = c.key; meshSort.dir = 1; }
        paintTable(true);
      } }, c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }));
      return h('th', { scope: 'col', class: c.num ? 'numc' : null, 'data-col': c.key }, btn);
    });
    const tbody = h('tbody');
    const table = h('table', { id: 'peers-table', class: 'table peers' }, h('thead', null, h('tr', null, ths)), tbody);
    const peersCount = h('span', { class: 'muted small', id: 'peers-count' });
    const seedsBody = h('tbody');
    const seedsCard = h('section', { class: 'card', id: 'pending-seeds', hidden: true },
      h('h2', null, 'Pending seeds ', h('span', { class: 'muted small', text: '(configured, not reached yet)' })),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table seeds' },
        h('thead', null, h('tr', null, ['Name', 'Address', 'Last try', 'Last error'].map((t) => h('th', { scope: 'col', text: t })))),
        seedsBody)));

    view.append(h('section', { class: 'page', id: 'mesh' },
      h('div', { class: 'page-head' }, h('h1', { text: 'Mesh' }), mode.el, updated),
      errBox,
      h('div', { class: 'stats' }, Object.values(stats).map((x) => x.el)),
      h('section', { class: 'card', id: 'mesh-topology' }, h('h2', { text: 'Topology' }), topo.el, legend),
      h('section', { class: 'card', id: 'mesh-peers' },
        h('div', { class: 'toolbar' }, h('h2', { text: 'Peers' }), peersCount),
        h('div', { class: 'table-wrap' }, table)),
      seedsCard));

    const rows = new Map(); // id -> {tr, cells: {key: td}, peer}
    let items = [];
    let rowOrder = '';

    function cellContent(c, p) {
      switch (c.key) {
        case 'fqdn': return [h('a', { href: '#/nodes/' + encodeURIComponent(p.id), class: 'peer-link', title: p.source ? `known from: ${p.source}` : null, text: p.fqdn || p.id })];
        case 'addr': return [h('span', { class: 'mono', text: `${p.ip}:${p.port}` })];
        case 'state': {
          const why = excuseText(p);
          return [stateBadge(p.state, why), why ? h('span', { class: 'peer-excuse muted small', text: why }) : null];
        }
        case 'last_seen': return [h('span', { title: fmtTime(p.last_seen), text: fmtAgo(p.last_seen) })];
        case 'ok1h': return [h('span', { title: `${fmtNumber(get(p, 'poll.polls_1h'))} polls in the last hour`, text: fmtPct(get(p, 'poll.success_rate_1h')) })];
        case 'ok24h': return [h('span', { title: `${fmtNumber(get(p, 'poll.polls_24h'))} polls in the last 24 h`, text: fmtPct(get(p, 'poll.success_rate_24h')) })];
        case 'total': return [h('span', { title: `connect ${fmtMs(get(p, 'poll.connect_ms'))} · TLS ${fmtMs(get(p, 'poll.tls_ms'))} · first byte ${fmtMs(get(p, 'poll.ttfb_ms'))}`, text: fmtMs(get(p, 'poll.total_ms')) })];
        case 'rtt': return [h('span', { title: `min ${fmtMs(get(p, 'udp.rtt_min_ms'))} · max ${fmtMs(get(p, 'udp.rtt_max_ms'))} · jitter ${fmtMs(get(p, 'udp.jitter_ms'))}`, text: fmtMs(rttOf(p)) })];
        case 'loss': {
          const l = get(p, 'udp.loss');
          return [h('span', { class: isNum(l) && l > 0 ? 'warn-text' : null, title: `${fmtNumber(get(p, 'udp.probes'))} probes`, text: fmtPct(l) })];
        }
        case 'pmtu': {
          const pm = p.pmtu || {};
          return [h('span', { title: pm.method ? `method ${pm.method}, measured ${fmtTime(pm.measured_at)}` : null, text: pmtuText(pm) }),
            pm.black_hole ? h('span', { class: 'tag tag-bad blackhole', title: 'PMTU black hole: large packets vanish without an ICMP error', text: 'black hole' }) : null];
        }
        case 'error': {
          const e = get(p, 'poll.last_error');
          return [h('span', { class: e ? 'err-text' : 'muted', title: e || null, text: e ? ellipsize(e, 80) : DASH })];
        }
      }
      return [];
    }

    function rowFor(p) {
      let r = rows.get(p.id);
      if (!r) {
        const cells = {};
        const tr = h('tr', { class: 'peer-row', 'data-peer-id': p.id });
        for (const c of PEER_COLUMNS) {
          cells[c.key] = h('td', { 'data-label': c.label, class: c.num ? 'numc' : c.key === 'error' ? 'errc' : null });
          tr.append(cells[c.key]);
        }
        // a click anywhere in the row opens the peer (links work by themselves)
        tr.addEventListener('click', (ev) => {
          if (ev.target.closest('a') || (window.getSelection && String(window.getSelection()))) return;
          location.hash = '#/nodes/' + encodeURIComponent(p.id);
        });
        r = { tr, cells, sig: {} };
        rows.set(p.id, r);
      }
      r.tr.dataset.state = p.state;
      r.tr.dataset.fqdn = p.fqdn || '';
      for (const c of PEER_COLUMNS) {
        const content = cellContent(c, p);
        const sig = content.map((x) => (x ? x.outerHTML : '')).join('');
        if (r.sig[c.key] !== sig) { r.sig[c.key] = sig; r.cells[c.key].replaceChildren(...content.filter(Boolean)); }
      }
      return r;
    }

    function sorted() {
      const col = PEER_COLUMNS.find((c) => c.key === meshSort.key) || PEER_COLUMNS[0];
      const cmp = col.cmp || ((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      return items.slice().sort((a, b) => {
        const va = col.sort(a), vb = col.sort(b);
        const na = va === null || va === undefined, nb = vb === null || vb === undefined;
        if (na !== nb) return na ? 1 : -1; // no value: always last
        const c = na ? 0 : cmp(va, vb);
        if (c) return c * meshSort.dir;
        return natCmp(a.fqdn, b.fqdn) || natCmp(a.id, b.id);
      });
    }

    function paintTable(force) {
      for (const th of ths) {
        const on = th.dataset.col === meshSort.key;
        if (on) th.setAttribute('aria-sort', meshSort.dir > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
        th.querySelector('.sort-mark').textContent = on ? (meshSort.dir > 0 ? ' ▲' : ' ▼') : '';
      }
      const list = sorted();
      const seen = new Set();
      const trs = list.map((p) => { seen.add(p.id); return rowFor(p).tr; });
      for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
      const order = list.map((p) => p.id).join(' ');
      if (force || order !== rowOrder || tbody.children.length !== trs.length) {
        rowOrder = order;
        if (trs.length) tbody.replaceChildren(...trs);
        else tbody.replaceChildren(h('tr', null, h('td', { colspan: String(PEER_COLUMNS.length), class: 'empty', text: 'No peers known yet. Seeds that were not reached are listed below.' })));
      }
    }

    function paint(d, err, m) {
      mode.set(m, d && d.at);
      setMessage(errBox, err ? `Could not refresh: ${err.detail} Showing the last data received.` : '');
      if (!d) return;
      items = d.items || [];
      const c = d.counts || {};
      stats.total.v.textContent = fmtNumber(isNum(c.total) ? c.total : items.length);
      stats.alive.v.textContent = fmtNumber(c.alive);
      stats.suspect.v.textContent = fmtNumber(c.suspect);
      stats.dead.v.textContent = fmtNumber(c.dead);
      // not alive, not suspect: a verdict this node withholds while overloaded
      stats.alive.sub.textContent = c.unknown > 0 ? `${fmtNumber(c.unknown)} unknown: verdict withheld, this node is overloaded` : '';
      const ok = meshSuccess24h(items);
      stats.ok24h.v.textContent = fmtPct(ok.rate);
      stats.ok24h.sub.textContent = ok.polls ? `${fmtNumber(ok.polls)} polls` : 'no polls yet';
      stats.total.sub.textContent = d.pending_seeds && d.pending_seeds.length ? `+ ${plural(d.pending_seeds.length, 'pending seed', 'pending seeds')}` : '';
      topo.update(items, state.node ? state.node.node_fqdn : '');
      paintTable(false);
      peersCount.textContent = plural(items.length, 'peer', 'peers') + (isNum(c.total) && c.total > items.length ? ` of ${c.total}` : '');
      const seeds = d.pending_seeds || [];
      seedsCard.hidden = seeds.length === 0;
      seedsBody.replaceChildren(...seeds.map((sd) => h('tr', { class: 'seed-row' },
        h('td', { 'data-label': 'Name', text: fmtVal(sd.fqdn) }),
        h('td', { 'data-label': 'Address', class: 'mono', text: `${fmtVal(sd.ip)}:${fmtVal(sd.port)}` }),
        h('td', { 'data-label': 'Last try' }, h('span', { title: fmtTime(sd.last_poll), text: sd.last_poll ? fmtAgo(sd.last_poll) : 'not yet' })),
        h('td', { 'data-label': 'Last error', class: sd.last_error ? 'err-text' : 'muted', text: fmtVal(sd.last_error) }))));
      updated.textContent = d.at ? `Updated ${d.at.toLocaleTimeString()}` : '';
    }

    // ages ("12 s ago") move on between updates
    const ageTimer = setInterval(() => {
      for (const [id, r] of rows) {
        const p = items.find((x) => x.id === id);
        if (p) { const sp = r.cells.last_seen.firstChild; if (sp) sp.textContent = fmtAgo(p.last_seen); }
      }
    }, 1000);
    const nodeListener = () => topo.update(items, state.node ? state.node.node_fqdn : '');
    state.listeners.add(nodeListener);
    const unsub = feedSubscribe(paint);
    return () => { unsub(); clearInterval(ageTimer); state.listeners.delete(nodeListener); topo.stop(); };
  }

  /* ---------- charts (small, own code) ---------- */

  // Nice round upper bound and tick step for 0..max.
  function niceScale(max, ticks) {
    if (!(max > 0)) max = 1;
    const raw = max / ticks;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((v) => v >= raw) || 10 * mag;
    return { max: step * Math.ceil(max / step - 1e-9), step };
  }

  function utcHM(ms) {
    const d = new Date(ms);
    return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  }

  // A time chart: opts = {from, to (ms), stepS, height, yFmt, yMax (fixed)|null,
  // series: [{key, cls, label}] (lines) | bars: {key, cls(v)}, items, tip(item)}.
  function timeChart(opts) {
    const W = Math.max(300, Math.round(opts.width || 820)), H = opts.height || 220, ml = 62, mr = 14, mt = 12, mb = 28;
    const pw = W - ml - mr, ph = H - mt - mb;
    const stepMs = opts.stepS * 1000;
    // whole buckets: the one holding "now" is drawn in full
    const from = Math.floor(opts.from / stepMs) * stepMs, to = Math.ceil(opts.to / stepMs) * stepMs;
    const span = Math.max(to - from, 1);
    const items = opts.items.map((it) => Object.assign({ _t: Date.parse(it.t) }, it)).filter((it) => Number.isFinite(it._t)).sort((a, b) => a._t - b._t);
    const keys = opts.bars ? [opts.bars.key] : opts.series.map((x) => x.key);
    let maxV = 0;
    for (const it of items) for (const k of keys) if (isNum(it[k])) maxV = Math.max(maxV, it[k]);
    const sc = opts.yMax ? { max: opts.yMax, step: opts.yMax / 4 } : niceScale(maxV * 1.08, 4);
    // a bucket is drawn over [t, t+step): its centre is t + step/2
    const X = (t) => ml + ((t + stepMs / 2 - from) / span) * pw;
    const Y = (v) => mt + ph - (Math.min(v, sc.max) / sc.max) * ph;
    const svg = s('svg', { class: 'chart ' + (opts.cls || ''), viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': opts.label });
    const grid = s('g', { class: 'chart-grid' });
    for (let v = 0; v <= sc.max + 1e-9; v += sc.step) {
      grid.append(s('line', { x1: ml, x2: W - mr, y1: r1(Y(v)), y2: r1(Y(v)) }));
      grid.append(s('text', { class: 'chart-tick', x: ml - 6, y: r1(Y(v)), 'text-anchor': 'end', 'dominant-baseline': 'central', text: opts.yFmt(v) }));
    }
    // time ticks on round UTC boundaries
    const maxTicks = Math.max(2, Math.min(8, Math.floor(pw / 70)));
    const tickMs = [5, 10, 15, 30, 60, 120, 180, 240, 360, 720].map((m) => m * 60000).find((m) => span / m <= maxTicks) || 12 * 3600000;
    for (let t = Math.ceil(from / tickMs) * tickMs; t <= to - tickMs / 3; t += tickMs) {
      const x = ml + ((t - from) / span) * pw;
      grid.append(s('line', { class: 'chart-vtick', x1: r1(x), x2: r1(x), y1: mt, y2: mt + ph + 4 }));
      grid.append(s('text', { class: 'chart-tick', x: r1(x), y: H - 8, 'text-anchor': 'middle', text: utcHM(t) }));
    }
    grid.append(s('text', { class: 'chart-tick chart-utc', x: W - mr, y: H - 8, 'text-anchor': 'end', text: 'UTC' }));
    svg.append(grid, s('line', { class: 'chart-axis', x1: ml, x2: W - mr, y1: mt + ph, y2: mt + ph }));
    const clipId = 'clip-' + Math.random().toString(36).slice(2);
    svg.append(s('clipPath', { id: clipId }, s('rect', { x: ml, y: mt - 2, width: pw, height: ph + 4 })));
    const plot = s('g', { 'clip-path': `url(#${clipId})` });
    svg.append(plot);
    const bw = Math.max((stepMs / span) * pw - 1, 1.5);
    if (opts.bars) {
      for (const it of items) {
        const v = it[opts.bars.key];
        if (!isNum(v)) continue;
        const y = Math.min(Y(v), mt + ph - 2); // a 0 % bucket still shows
        plot.append(s('rect', { class: 'chart-bar ' + opts.bars.cls(v), x: r1(X(it._t) - bw / 2), y: r1(y), width: r1(bw), height: r1(mt + ph - y) }));
      }
    } else {
      for (const se of opts.series) {
        // consecutive buckets are joined; a gap (no polls) breaks the line;
        // a lone bucket is a dot (zero-length segment with round caps)
        const segs = [];
        let cur = null, prevT = null;
        for (const it of items) {
          const v = it[se.key];
          if (!isNum(v)) { cur = null; prevT = null; continue; }
          const pt = `${r1(X(it._t))} ${r1(Y(v))}`;
          if (cur && it._t - prevT <= stepMs * 1.5) cur.push(pt);
          else { cur = [pt]; segs.push(cur); }
          prevT = it._t;
        }
        const d = segs.map((sg) => `M${sg[0]}` + (sg.length === 1 ? ' h0' : sg.slice(1).map((pt) => ` L${pt}`).join(''))).join(' ');
        if (d) plot.append(s('path', { class: 'chart-line ' + se.cls, 'data-series': se.key, d }));
      }
    }
    // hover targets with a tooltip per bucket
    const hover = s('g', { class: 'chart-hover' });
    for (const it of items) {
      hover.append(s('rect', { x: r1(X(it._t) - Math.max(bw, 4) / 2), y: mt, width: r1(Math.max(bw, 4)), height: ph }, s('title', { text: opts.tip(it) })));
    }
    svg.append(hover);
    if (!items.length) svg.append(s('text', { class: 'chart-empty', x: ml + pw / 2, y: mt + ph / 2, 'text-anchor': 'middle', text: 'No polls in this range' }));
    return svg;
  }

  /* ---------- Matrix page (reporting) ---------- */

  // The mesh matrix from /api/mesh: rows are the nodes whose view is known
  // here (this node's own polls, and every node that reports to it), columns
  // every node. A cell's colour is its state, shaded by RTT.
  function cellClass(c) {
    if (!c) return 'mx-none';
    if (c.state === 'unknown') return 'mx-unknown'; // a verdict withheld, not a death
    if (c.state !== 'alive') return 'mx-' + (c.state === 'suspect' ? 'suspect' : 'dead');
    if (!isNum(c.rtt_ms)) return 'mx-alive';
    return c.rtt_ms < 1 ? 'mx-rtt0' : c.rtt_ms < 10 ? 'mx-rtt1' : c.rtt_ms < 50 ? 'mx-rtt2' : 'mx-rtt3';
  }

  function renderMatrix(view) {
    const updated = h('span', { class: 'muted small', id: 'matrix-updated' });
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const gridWrap = h('div', { class: 'table-wrap matrix-wrap' });
    const originsBody = h('tbody');
    view.replaceChildren(
      h('div', { class: 'page-head' }, h('h1', { text: 'Matrix' }), updated),
      errBox,
      h('section', { class: 'card' },
        h('h2', { text: 'From × to' }),
        h('p', { class: 'muted small', text: 'Each row is one node\u2019s view of the others: its own polls here, or the last snapshot it reported. Colour: state; shade: UDP RTT. Click a cell for its history.' }),
        gridWrap),
      h('section', { class: 'card' },
        h('h2', { text: 'Reporting origins' }),
        h('div', { class: 'table-wrap' }, h('table', { id: 'origins-table', class: 'table' },
          h('thead', null, h('tr', null, ['Origin', 'Last report', 'Sequence', 'Reports', 'Interval', 'Freshness'].map((t) => h('th', { text: t })))),
          originsBody))));
    let alive = true, timer = null;
    async function load() {
      let d;
      try {
        d = await api('GET', '/api/mesh');
      } catch (e) {
        if (!e.handled) setMessage(errBox, e.detail || String(e), 'error');
        return;
      }
      if (!alive) return;
      setMessage(errBox, '');
      if (d.generated_at) noteServerTime(d.generated_at);
      const byId = new Map(d.nodes.map((n) => [n.id, n]));
      const name = (id) => (byId.get(id) && byId.get(id).fqdn) || id.slice(0, 8);
      const cols = d.nodes.slice().sort((a, b) => natCmp(a.fqdn, b.fqdn));
      const rowIds = d.origins.map((o) => o.id).sort((a, b) => natCmp(name(a), name(b)));
      const cells = new Map(d.cells.map((c) => [c.from + ' ' + c.to, c]));
      const head = h('tr', null, h('th', { class: 'mx-corner', text: 'from \\ to' }),
        cols.map((c) => h('th', { class: 'mx-col', title: c.fqdn + ' (' + c.ip + ')' }, h('span', { text: c.fqdn }))));
      const rows = rowIds.map((from) => h('tr', null,
        h('th', { class: 'mx-row', scope: 'row', text: name(from) }),
        cols.map((col) => {
          if (col.id === from) return h('td', { class: 'mx-cell mx-diag' });
          const c = cells.get(from + ' ' + col.id);
          const tip = c ? `${name(from)} \u2192 ${col.fqdn}: ${c.state}, RTT ${fmtMs(c.rtt_ms)}, loss ${isNum(c.loss) ? (c.loss * 100).toFixed(1) + ' %' : DASH}, PMTU ${isNum(c.pmtu) ? c.pmtu : DASH}, data ${isNum(c.age_s) ? fmtDuration(c.age_s) + ' old' : DASH}` : `${name(from)} \u2192 ${col.fqdn}: no data`;
          const td = h('td', { class: 'mx-cell ' + cellClass(c), title: tip, 'data-state': c ? c.state : '' },
            c ? h('a', { href: `#/matrix/${from}/${col.id}`, text: isNum(c.rtt_ms) ? fmtMs(c.rtt_ms).replace(' ms', '') : c.state[0] }) : '',
            c && isNum(c.loss) && c.loss > 0 ? h('span', { class: 'mx-loss', title: 'loss', text: '\u2022' }) : null);
          return td;
        })));
      gridWrap.replaceChildren(h('table', { id: 'matrix', class: 'matrix' }, h('thead', null, head), h('tbody', null, rows)));
      originsBody.replaceChildren(...d.origins.slice().sort((a, b) => natCmp(a.fqdn, b.fqdn)).map((o) => h('tr', { 'data-origin': o.id },
        h('td', null, o.fqdn, o.self ? h('span', { class: 'muted small', text: ' this node (own polls)' }) : null),
        h('td', { text: o.self ? 'live' : fmtAgo(o.last_report) }),
        h('td', { text: o.seq === null || o.seq === undefined ? DASH : String(o.seq) }),
        h('td', { text: o.self ? DASH : fmtNumber(o.reports) }),
        h('td', { text: o.self ? DASH : o.interval_s + ' s' }),
        h('td', null, o.stale ? h('span', { class: 'badge state state-dead', text: 'stale' }) : h('span', { class: 'badge state state-alive', text: 'fresh' })))));
      // the server answers a page of origins (bounded in rows, bytes and time)
      const more = d.next_offset != null ? ` (the first ${d.origins.length} of ${d.total_origins} origins)` : '';
      updated.textContent = `${plural(rowIds.length, 'row', 'rows')}${more} × ${plural(cols.length, 'node', 'nodes')} · updated ${new Date().toLocaleTimeString()} · refreshes every 5 s`;
    }
    load();
    timer = setInterval(load, 5000);
    return () => { alive = false; clearInterval(timer); };
  }

  // One pair's history: RTT over time and the samples with their states.
  function renderPair(view, params) {
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const chart = h('div', { class: 'chart-box', id: 'pair-chart' });
    const tbody = h('tbody');
    const title = h('h1', { text: 'Pair' });
    view.replaceChildren(
      h('div', { class: 'page-head' }, title, h('a', { href: '#/matrix', class: 'muted small', text: '\u2190 matrix' })),
      errBox,
      h('section', { class: 'card' }, h('h2', { text: 'RTT, last 24 h' }), chart),
      h('section', { class: 'card' }, h('h2', { text: 'Samples' }),
        h('div', { class: 'table-wrap' }, h('table', { id: 'pair-table', class: 'table' },
          h('thead', null, h('tr', null, ['Time', 'State', 'RTT', 'Loss', 'Poll total', 'PMTU'].map((t) => h('th', { text: t })))), tbody))));
    let alive = true;
    (async () => {
      try {
        const [m, d] = await Promise.all([api('GET', '/api/mesh'),
          api('GET', `/api/mesh/history?from_id=${encodeURIComponent(params.from)}&to_id=${encodeURIComponent(params.to)}`)]);
        if (!alive) return;
        const nm = (id) => { const n = m.nodes.find((x) => x.id === id); return n ? n.fqdn : id.slice(0, 8); };
        title.textContent = `${nm(params.from)} \u2192 ${nm(params.to)}`;
        const toMs = Date.parse(d.to), fromMs = Date.parse(d.from);
        const width = chart.clientWidth || 820;
        chart.replaceChildren(timeChart({ width, from: fromMs, to: toMs, stepS: 60, items: d.items, label: 'RTT',
          tip: (it) => `${fmtTime(it.t)}: ${it.state}, RTT ${fmtMs(it.rtt_ms)}`,
          yFmt: (v) => (v === 0 ? '0' : `${+v.toFixed(v < 1 ? 2 : 1)} ms`),
          series: [{ key: 'total_ms', cls: 'ln-ttfb' }, { key: 'rtt_ms', cls: 'ln-total' }] }));
        tbody.replaceChildren(...d.items.slice().reverse().slice(0, 500).map((it) => h('tr', null,
          h('td', { text: fmtTime(it.t) }), h('td', null, stateBadge(it.state)), h('td', { text: fmtMs(it.rtt_ms) }),
          h('td', { text: isNum(it.loss) ? (it.loss * 100).toFixed(1) + ' %' : DASH }), h('td', { text: fmtMs(it.total_ms) }),
          h('td', { text: isNum(it.pmtu) ? String(it.pmtu) : DASH }))));
      } catch (e) {
        if (!e.handled) setMessage(errBox, e.detail || String(e), 'error');
      }
    })();
    return () => { alive = false; };
  }

  /* ---------- Node page ---------- */

  const RANGES = [
    { key: '1h', label: '1 h', s: 3600, step: 60 },
    { key: '6h', label: '6 h', s: 6 * 3600, step: 120 },
    { key: '24h', label: '24 h', s: 86400, step: 300 },
  ];
  // The range the user picked (kept across visits); until then the shortest
  // range that holds the peer's whole history (24 h for peers known longer).
  let nodeRange = null;

  function renderNode(view, params) {
    const id = params.id;
    const mode = modeIndicator();
    const title = h('h1', { id: 'peer-title', text: 'Peer' });
    const badgeSlot = h('span', { id: 'peer-state' });
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const fields = [];
    function kv(label, key, fn, opts) {
      const dd = h('dd', { 'data-field': key, class: opts && opts.mono ? 'mono' : null, text: DASH });
      fields.push([dd, fn]);
      return [h('dt', { text: label }), dd];
    }
    const card = (t, cid, ...rows) => h('section', { class: 'card', id: cid }, h('h2', { text: t }), h('dl', { class: 'kv' }, rows));
    const okOf = (p) => { const lo = get(p, 'poll.last_ok'); return lo === null ? DASH : lo ? { text: 'ok', cls: 'good' } : { text: 'failed', cls: 'bad' }; };

    const cards = h('div', { class: 'grid' },
      card('Identity', 'peer-identity',
        kv('Node ID', 'id', (p) => p.id, { mono: true }),
        kv('FQDN', 'fqdn', (p) => p.fqdn),
        kv('Address', 'addr', (p) => `${p.ip}:${p.port}`, { mono: true }),
        kv('State', 'state', (p) => {
          const why = excuseText(p);
          if (p.state === 'unknown') return { text: `unknown — ${why || 'verdict withheld'}`, title: p.excused_since ? `excused since ${fmtTime(p.excused_since)}` : null, cls: 'warn' };
          return { text: (p.state_since ? `${p.state} for ${fmtDuration((serverNow() - Date.parse(p.state_since)) / 1000)}` : p.state) + (why ? ` — ${why}` : ''), title: p.state_since ? `since ${fmtTime(p.state_since)}` : null, cls: p.state === 'alive' ? 'good' : p.state === 'suspect' ? 'warn' : 'bad' };
        }),
        kv('Source', 'source', (p) => p.source),
        kv('Incarnation', 'incarnation', (p) => fmtNumber(p.incarnation)),
        // the key this node trusts for it: pinned on first contact, cleared by Forget
        kv('Key pin', 'pin', (p) => p.pin ? { text: p.pin, title: p.pinned_at ? `pinned ${fmtTime(p.pinned_at)}` : null } : 'not pinned yet (no direct contact)', { mono: true }),
        kv('First seen', 'first_seen', (p) => fmtTime(p.first_seen)),
        kv('Last seen', 'last_seen', (p) => p.last_seen ? { text: `${fmtAgo(p.last_seen)} (${fmtTime(p.last_seen)})` } : DASH)),
      card('Polling (HTTPS)', 'peer-poll',
        kv('Success 1 h', 'poll.success_rate_1h', (p) => `${fmtPct(get(p, 'poll.success_rate_1h'))} of ${fmtNumber(get(p, 'poll.polls_1h'))} polls`),
        kv('Success 24 h', 'poll.success_rate_24h', (p) => `${fmtPct(get(p, 'poll.success_rate_24h'))} of ${fmtNumber(get(p, 'poll.polls_24h'))} polls`),
        kv('Last poll', 'poll.last_poll', (p) => get(p, 'poll.last_poll') ? { text: fmtAgo(p.poll.last_poll), title: fmtTime(p.poll.last_poll) } : DASH),
        kv('Last result', 'poll.last_ok', okOf),
        kv('Times', 'poll.times', (p) => `connect ${fmtMs(get(p, 'poll.connect_ms'))} · TLS ${fmtMs(get(p, 'poll.tls_ms'))} · first byte ${fmtMs(get(p, 'poll.ttfb_ms'))}`),
        kv('Total', 'poll.total_ms', (p) => fmtMs(get(p, 'poll.total_ms'))),
        kv('Failures in a row', 'poll.consecutive_failures', (p) => { const n = get(p, 'poll.consecutive_failures'); return isNum(n) ? { text: String(n), cls: n > 0 ? 'warn' : null } : DASH; }),
        kv('Last error', 'poll.last_error', (p) => get(p, 'poll.last_error') ? { text: p.poll.last_error, cls: 'bad' } : DASH),
        // indirect probes: asked when our polls failed
        kv('Other vantage points', 'vantage', (p) => {
          const v = p.vantage;
          if (!v || !isNum(v.asked)) return 'not asked (our polls have not failed)';
          const txt = `${v.reached} of ${v.asked} other ${v.asked === 1 ? 'node reaches' : 'nodes reach'} it (asked ${fmtAgo(v.checked_at)})`;
          return v.reached > 0 && p.state !== 'alive' ? { text: txt + ': the trouble is between here and it', cls: 'warn' } : txt;
        })),
      card('UDP probes', 'peer-udp',
        kv('RTT min / avg / max', 'udp.rtt', (p) => `${fmtMs(get(p, 'udp.rtt_min_ms'))} / ${fmtMs(get(p, 'udp.rtt_avg_ms'))} / ${fmtMs(get(p, 'udp.rtt_max_ms'))}`),
        kv('Jitter', 'udp.jitter_ms', (p) => fmtMs(get(p, 'udp.jitter_ms'))),
        kv('Loss', 'udp.loss', (p) => { const l = get(p, 'udp.loss'); return isNum(l) ? { text: fmtPct(l), cls: l > 0 ? 'warn' : null } : DASH; }),
        kv('Probes', 'udp.probes', (p) => fmtNumber(get(p, 'udp.probes')))));

    // charts
    const rangeBtns = RANGES.map((r) => h('button', { type: 'button', class: 'secondary small-btn range-btn', 'data-range': r.key, text: r.label,
      onclick: () => { nodeRange = r.key; paintRange(); loadHistory(); } }));
    let autoRange = '24h';
    const chartErr = h('p', { class: 'error', role: 'alert', hidden: true });
    const rtChart = h('div', { class: 'chart-box', id: 'chart-rt' });
    const okChart = h('div', { class: 'chart-box', id: 'chart-ok' });
    const rtLegend = h('ul', { class: 'legend chart-legend' },
      h('li', null, h('span', { class: 'swatch sw-total' }), 'total'),
      h('li', null, h('span', { class: 'swatch sw-connect' }), 'connect'),
      h('li', null, h('span', { class: 'swatch sw-tls' }), 'TLS handshake'),
      h('li', null, h('span', { class: 'swatch sw-ttfb' }), 'first byte'));
    const histInfo = h('span', { class: 'muted small', id: 'history-info' });
    const chartsCard = h('section', { class: 'card', id: 'peer-charts' },
      h('div', { class: 'toolbar' }, h('h2', { text: 'History' }),
        h('div', { class: 'range', role: 'group', 'aria-label': 'Time range' }, rangeBtns)),
      chartErr,
      h('h3', { class: 'chart-title', text: 'Response time (HTTPS poll)' }), rtLegend, rtChart,
      h('h3', { class: 'chart-title', text: 'Success rate per bucket' }), okChart, histInfo);

    // PMTU
    const pmtuKv = h('dl', { class: 'kv' });
    const pmtuFields = [
      ['Current', 'pmtu.value', (c) => isNum(c.value) ? `${c.value} bytes` : DASH],
      ['Method', 'pmtu.method', (c) => fmtVal(c.method)],
      ['Probes', 'pmtu.probes', (c) => fmtNumber(c.probes)],
      ['Black hole', 'pmtu.black_hole', (c) => c.black_hole === true ? { text: 'yes — large packets are dropped silently', cls: 'bad' } : c.black_hole === false ? { text: 'no', cls: 'good' } : DASH],
      ['Measured at', 'pmtu.measured_at', (c) => fmtTime(c.measured_at)],
    ].map(([label, key, fn]) => {
      const dd = h('dd', { 'data-field': key, text: DASH });
      pmtuKv.append(h('dt', { text: label }), dd);
      return [dd, fn];
    });
    const pmtuBody = h('tbody');
    const pmtuCount = h('span', { class: 'muted small', id: 'pmtu-count' });
    const pmtuCard = h('section', { class: 'card', id: 'peer-pmtu' },
      h('h2', { text: 'Path MTU' }), pmtuKv,
      h('div', { class: 'toolbar sub-toolbar' }, h('h3', { text: 'Changes' }), pmtuCount),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'pmtu-table' },
        h('thead', null, h('tr', null, ['Measured at', 'PMTU', 'Method', 'Probes', 'Black hole'].map((t) => h('th', { scope: 'col', text: t })))),
        pmtuBody)));

    const forgetErr = h('p', { class: 'error', role: 'alert', hidden: true });
    const forgetBtn = h('button', { type: 'button', class: 'danger', id: 'forget-peer', text: 'Forget this peer', onclick: onForget });
    const dangerCard = h('section', { class: 'card danger-zone', id: 'peer-forget' },
      h('h2', { text: 'Forget this peer' }),
      h('p', { class: 'muted small', text: 'Removes the peer and its measurements from this node. If it is still alive, gossip will bring it back.' }),
      forgetBtn, forgetErr);

    const body = h('div', { class: 'page-body', hidden: true }, cards, chartsCard, h('div', { class: 'grid grid-2' }, pmtuCard, dangerCard));
    view.append(h('section', { class: 'page', id: 'node', 'data-peer-id': id },
      h('p', { class: 'crumbs' }, h('a', { href: '#/mesh', text: '← Mesh' })),
      h('div', { class: 'page-head' }, title, badgeSlot, mode.el),
      errBox, body));

    let peer = null, gone = false, histTimer = null, pmtuAt,  histSeq = 0, lastFetch = 0;

    function paintPeer(p) {
      peer = p;
      body.hidden = false;
      title.textContent = p.fqdn || p.id;
      state.pageTitle = p.fqdn || 'Node';
      updateTitle();
      badgeSlot.replaceChildren(stateBadge(p.state, excuseText(p)));
      for (const [el, fn] of fields) {
        let v;
        try { v = fn(p); } catch (e) { v = undefined; }
        if (v === undefined || v === null || v === '') v = DASH;
        if (typeof v === 'object') {
          el.textContent = v.text;
          if (v.title) el.title = v.title; else el.removeAttribute('title');
          el.classList.remove('good', 'warn', 'bad');
          if (v.cls) el.classList.add(v.cls);
        } else {
          el.textContent = v;
          el.removeAttribute('title');
          el.classList.remove('good', 'warn', 'bad');
        }
      }
      const at = get(p, 'pmtu.measured_at');
      if (at !== pmtuAt) { pmtuAt = at; loadPmtu(); }
    }

    function showGone(e) {
      gone = true;
      body.hidden = true;
      badgeSlot.replaceChildren();
      title.textContent = 'Unknown peer';
      setMessage(errBox, e.status === 404 ? `This node knows no peer with ID ${id} (it may have been forgotten).` : e.detail);
    }

    async function loadPeer() {
      lastFetch = Date.now();
      try {
        const p = await api('GET', '/api/nodes/' + encodeURIComponent(id));
        if (!alive) return;
        setMessage(errBox, '');
        gone = false;
        paintPeer(p);
      } catch (e) {
        if (e.handled || !alive) return;
        if (e.status === 404 || e.status === 400) showGone(e);
        else setMessage(errBox, `Could not refresh: ${e.detail}`);
      }
    }

    function paintRange() {
      for (const b of rangeBtns) b.setAttribute('aria-pressed', b.dataset.range === (nodeRange || autoRange) ? 'true' : 'false');
    }

    async function loadHistory() {
      clearTimeout(histTimer);
      const seq = ++histSeq;
      const r = RANGES.find((x) => x.key === (nodeRange || autoRange)) || RANGES[2];
      const to = Math.floor(serverNow() / 1000);
      const from = to - r.s;
      try {
        const d = await api('GET', `/api/nodes/${encodeURIComponent(id)}/history?from=${from}&to=${to}&step=${r.step}`);
        if (!alive || seq !== histSeq) return;
        setMessage(chartErr, '');
        lastHist = { d, r, from, to };
        drawHistory();
      } catch (e) {
        if (e.handled || !alive || seq !== histSeq) return;
        setMessage(chartErr, `Could not load the history: ${e.detail}`);
      }
      if (alive && seq === histSeq) histTimer = setTimeout(loadHistory, (nodeRange || autoRange) === '1h' ? 10000 : 30000);
    }

    let lastHist = null, drawnWidth = 0;
    function drawHistory() {
      if (!lastHist) return;
      const { d, r, from, to } = lastHist;
      {
        const width = chartsCard.querySelector('.chart-box').clientWidth || 820;
        drawnWidth = width;
        const fromMs = Date.parse(d.from) || from * 1000, toMs = Date.parse(d.to) || to * 1000;
        const step = d.step_s || r.step;
        const tip = (it) => `${fmtTime(it.t)}: ${fmtNumber(it.polls)} polls, ${fmtNumber(it.ok)} ok (${fmtPct(it.success_rate)})\n` +
          `total ${fmtMs(it.total_ms)} · connect ${fmtMs(it.connect_ms)} · TLS ${fmtMs(it.tls_ms)} · first byte ${fmtMs(it.ttfb_ms)}\n` +
          `RTT ${fmtMs(it.rtt_avg_ms)} · jitter ${fmtMs(it.jitter_ms)} · loss ${fmtPct(it.loss)}`;
        rtChart.replaceChildren(timeChart({ width, from: fromMs, to: toMs, stepS: step, items: d.items, tip, label: 'Response time',
          yFmt: (v) => (v === 0 ? '0' : v < 1 ? `${+v.toFixed(2)} ms` : `${+v.toFixed(1)} ms`),
          series: [{ key: 'connect_ms', cls: 'ln-connect' }, { key: 'tls_ms', cls: 'ln-tls' }, { key: 'ttfb_ms', cls: 'ln-ttfb' }, { key: 'total_ms', cls: 'ln-total' }] }));
        okChart.replaceChildren(timeChart({ width, from: fromMs, to: toMs, stepS: step, items: d.items, tip, label: 'Success rate', height: 150, yMax: 1, cls: 'chart-ok',
          yFmt: (v) => `${Math.round(v * 100)} %`,
          bars: { key: 'success_rate', cls: (v) => (v >= 0.999 ? 'bar-ok' : v >= 0.9 ? 'bar-warn' : 'bar-bad') } }));
        const polls = d.items.reduce((a, it) => a + (Number(it.polls) || 0), 0);
        histInfo.textContent = `${plural(d.items.length, 'bucket', 'buckets')} of ${step % 3600 === 0 ? step / 3600 + ' h' : step % 60 === 0 ? step / 60 + ' min' : step + ' s'} · ${plural(polls, 'poll', 'polls')} · ${fmtTime(d.from)} – ${fmtTime(d.to)}`;
      }
    }
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => {
      const w = rtChart.clientWidth;
      if (lastHist && w && Math.abs(w - drawnWidth) > 24) drawHistory();
    }) : null;
    if (ro) ro.observe(rtChart);

    async function loadPmtu() {
      try {
        const d = await api('GET', `/api/nodes/${encodeURIComponent(id)}/pmtu`);
        if (!alive) return;
        const c = d.current || {};
        for (const [dd, fn] of pmtuFields) {
          const v = fn(c);
          dd.classList.remove('good', 'bad');
          if (v && typeof v === 'object') { dd.textContent = v.text; if (v.cls) dd.classList.add(v.cls); } else dd.textContent = v;
        }
        const list = d.items || [];
        pmtuBody.replaceChildren(...(list.length ? list.map((it) => h('tr', null,
          h('td', { 'data-label': 'Measured at', text: fmtTime(it.measured_at) }),
          h('td', { 'data-label': 'PMTU', class: 'mono', text: isNum(it.value) ? String(it.value) : DASH }),
          h('td', { 'data-label': 'Method', text: fmtVal(it.method) }),
          h('td', { 'data-label': 'Probes', text: fmtNumber(it.probes) }),
          h('td', { 'data-label': 'Black hole' }, it.black_hole ? h('span', { class: 'tag tag-bad', text: 'black hole' }) : it.black_hole === false ? 'no' : DASH)))
          : [h('tr', null, h('td', { colspan: '5', class: 'empty', text: 'Not measured yet.' }))]));
        pmtuCount.textContent = isNum(d.total) ? plural(d.total, 'change', 'changes') : '';
      } catch (e) {
        if (e.handled || !alive) return;
        pmtuCount.textContent = `Could not load: ${e.detail}`;
      }
    }

    async function onForget() {
      const name = peer ? peer.fqdn : id;
      if (!window.confirm(`Forget peer “${name}”? Its measurements on this node are deleted.`)) return;
      forgetBtn.disabled = true;
      setMessage(forgetErr, '');
      try {
        await api('DELETE', '/api/nodes/' + encodeURIComponent(id));
        location.hash = '#/mesh';
      } catch (e) {
        if (!e.handled) { setMessage(forgetErr, e.detail); forgetBtn.disabled = false; }
      }
    }

    function onFeed(d, err, m) {
      mode.set(m, d && d.at);
      if (!d || gone) return;
      const p = (d.items || []).find((x) => x.id === id);
      if (p) paintPeer(p);
      else if (Date.now() - lastFetch > 5000) loadPeer(); // not in the feed: ask for it
    }

    let alive = true;
    paintRange();
    // the history waits for the peer (its first_seen picks the default range)
    loadPeer().then(() => {
      if (!alive) return;
      const known = peer && Date.parse(peer.first_seen);
      if (Number.isFinite(known)) {
        const age = (serverNow() - known) / 1000;
        autoRange = age < 3600 ? '1h' : age < 6 * 3600 ? '6h' : '24h';
      }
      paintRange();
      loadHistory();
    });
    const unsub = feedSubscribe(onFeed);
    const ageTimer = setInterval(() => { if (peer && !gone) paintPeer(peer); }, 1000);
    return () => { alive = false; unsub(); clearTimeout(histTimer); clearInterval(ageTimer); if (ro) ro.disconnect(); };
  }

  /* ---------- live topics for page files ---------- */

  // wsTopic('rates', fn): fn(frame) for each frame of that topic from /ws,
  // reconnecting with backoff; fn(null, 'closed'|'error') when the socket
  // drops. Returns a function that unsubscribes and closes the socket.
  function wsTopic(topic, fn) {
    let ws = null, timer = null, backoff = WS_BACKOFF_MIN_MS, done = false;
    function connect() {
      if (done) return;
      ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
      ws.onopen = () => { backoff = WS_BACKOFF_MIN_MS; ws.send(JSON.stringify({ subscribe: [topic] })); };
      ws.onmessage = (ev) => {
        let m = null;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m && m.type === topic) { try { fn(m, null); } catch (e) { console.warn('page update failed', e); } }
      };
      ws.onclose = () => {
        ws = null;
        if (done) return;
        try { fn(null, 'closed'); } catch (e) { /* page gone */ }
        timer = setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, WS_BACKOFF_MAX_MS);
      };
    }
    connect();
    return () => { done = true; clearTimeout(timer); if (ws) ws.close(); };
  }

  // What page files may use: window.meshwatch.registerPage(route) and the
  // helpers in window.meshwatch.ui.
  window.meshwatch = {
    registerPage,
    ui: {
      h, s, show, setMessage, api, ApiError, wsTopic, timeChart, niceScale,
      fmtDuration, fmtBytes, fmtTime, fmtNumber, plural, fmtMs, fmtPct, fmtAgo, fmtVal,
      natCmp, serverNow, noteServerTime, isNum, DASH,
    },
  };

  /* ---------- start ---------- */

  async function boot() {
    buildNav();
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
