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
    { path: '/overview', label: 'Overview', render: renderOverview },
    { path: '/users', label: 'Users', render: renderUsers },
  ];
  const DEFAULT_ROUTE = '/overview';

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
    if (state.cleanup) {
      try { state.cleanup(); } catch (e) { /* page already gone */ }
      state.cleanup = null;
    }
    for (const a of $('nav').querySelectorAll('a')) {
      if (a.dataset.route === m.route.path) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
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
      const err = h('p', { class: 'error', role: 'alert', hidden: true });
      const save = h('button', { type: 'submit', class: 'primary small-btn', text: 'Save password' });
      const form = h('form', { class: 'pw-form', novalidate: true, onsubmit: async (ev) => {
        ev.preventDefault();
        if (!input.value) { setMessage(err, 'Enter the new password.'); input.focus(); return; }
        save.disabled = true;
        try {
          await api('PATCH', `/api/users/${u.id}`, { password: input.value });
          openPw = null;
          flash(`Password of “${u.username}” changed.`);
          load();
        } catch (e) {
          if (!e.handled) { setMessage(err, e.detail); save.disabled = false; input.focus(); }
        }
      } },
      h('label', { for: `pw-${u.id}`, text: `New password for ${u.username}` }),
      h('div', { class: 'pw-controls' }, input, save,
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

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
