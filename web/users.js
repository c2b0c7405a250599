/* meshwatch dashboard: the users page. Loaded after app.js;
   registers its route with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).
     #/users  the accounts of this node: create, search, page through,
              change a password or a role, delete; and the API tokens
              (admins only). A read-only user sees the list with every
              control disabled. */
'use strict';

(function () {
  const { h, api, setMessage, fmtTime, plural } = window.meshwatch.ui;
  const session = window.meshwatch.session;
  const USERS_PAGE_SIZE = 20;
  const ROLE_TEXT = { admin: 'admin', read: 'read-only' };

  function renderUsers(view) {
    const page = { q: '', offset: 0, total: 0, items: [], highlight: null, seq: 0 };
    const ro = session.readOnly();
    let openPw = null; // id of the user whose password row is open

    // create form
    const newName = h('input', { id: 'new-username', name: 'username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '64', required: true });
    const newPass = h('input', { id: 'new-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true });
    const createErr = h('p', { id: 'create-error', class: 'error', role: 'alert', hidden: true });
    const newRole = h('select', { id: 'new-role', name: 'role' },
      h('option', { value: 'admin', text: 'Admin' }), h('option', { value: 'read', text: 'Read-only' }));
    const createBtn = h('button', { type: 'submit', class: 'primary', id: 'create-submit', text: 'Create user' });
    const createForm = h('form', { id: 'create-user-form', class: 'inline-form', novalidate: true, onsubmit: onCreate },
      h('div', { class: 'field' }, h('label', { for: 'new-username', text: 'Username' }), newName),
      h('div', { class: 'field' }, h('label', { for: 'new-password', text: 'Password' }), newPass),
      h('div', { class: 'field' }, h('label', { for: 'new-role', text: 'Role' }), newRole),
      h('div', { class: 'field field-button' }, createBtn));
    if (ro) for (const el of [newName, newPass, newRole, createBtn]) el.disabled = true;

    // list
    const search = h('input', { id: 'user-search', type: 'search', placeholder: 'Search usernames', 'aria-label': 'Search usernames', autocomplete: 'off' });
    const status = h('p', { id: 'users-status', class: 'status', role: 'status', hidden: true });
    const listErr = h('p', { id: 'users-error', class: 'error', role: 'alert', hidden: true });
    const tbody = h('tbody');
    const table = h('table', { id: 'users-table', class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', text: 'ID', class: 'num' }),
        h('th', { scope: 'col', text: 'Username' }),
        h('th', { scope: 'col', text: 'Role' }),
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
        h('p', { class: 'muted small hint', id: 'users-hint', text: ro
          ? 'Your account is read-only: you can see the users, but only an admin can create, change or delete them.'
          : 'Usernames: 1–64 letters, digits and . _ - @. Passwords: at least 8 characters. A read-only user may look at everything and change nothing.' })),
      h('section', { class: 'card' },
        h('div', { class: 'toolbar' }, h('h2', { text: 'All users' }), search),
        status, listErr,
        h('div', { class: 'table-wrap' }, table),
        h('div', { class: 'pager' }, prev, range, next)),
      ro ? null : renderTokens()));

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
        rows.push(h('tr', null, h('td', { colspan: '6', class: 'empty',
          text: page.q ? `No user name contains “${page.q}”.` : 'No users.' })));
      }
      for (const u of page.items) {
        const me = session.user() && u.id === session.user().id;
        const tr = h('tr', { 'data-user-id': String(u.id), 'data-username': u.username, class: page.highlight === u.id ? 'new' : null },
          h('td', { class: 'num', 'data-label': 'ID', text: String(u.id) }),
          h('td', { 'data-label': 'Username', class: 'username' }, h('span', { text: u.username }),
            me ? h('span', { class: 'tag', text: 'you' }) : null),
          h('td', { 'data-label': 'Role', 'data-role': u.role, text: ROLE_TEXT[u.role] || u.role }),
          h('td', { 'data-label': 'Created', text: fmtTime(u.created_at) }),
          h('td', { 'data-label': 'Updated', text: fmtTime(u.updated_at) }),
          h('td', { class: 'actions' },
            h('button', { type: 'button', class: 'secondary small-btn', 'data-action': 'password',
              'aria-expanded': openPw === u.id ? 'true' : 'false', disabled: ro,
              text: 'Change password', onclick: () => togglePassword(u) }),
            h('button', { type: 'button', class: 'secondary small-btn', 'data-action': 'role', disabled: ro,
              text: u.role === 'read' ? 'Make admin' : 'Make read-only', onclick: () => onRole(u) }),
            h('button', { type: 'button', class: 'danger small-btn', 'data-action': 'delete', disabled: ro,
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
      return h('tr', { class: 'pw-row' }, h('td', { colspan: '6' }, form));
    }

    function togglePassword(u) {
      openPw = openPw === u.id ? null : u.id;
      paint();
    }

    // the node refuses to take the last admin's role (409): its message shows
    async function onRole(u) {
      const role = u.role === 'read' ? 'admin' : 'read';
      setMessage(listErr, '');
      try {
        await api('PATCH', `/api/users/${u.id}`, { role });
        flash(`“${u.username}” is now ${ROLE_TEXT[role]}.`);
        const me = session.user();
        if (me && u.id === me.id && role === 'read') { location.reload(); return; }
        load();
      } catch (e) {
        if (!e.handled) setMessage(listErr, e.detail);
      }
    }

    async function onDelete(u) {
      const me = session.user() && u.id === session.user().id;
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
        const u = await api('POST', '/api/users', { username, password, role: newRole.value });
        newName.value = '';
        newPass.value = '';
        newRole.value = 'admin';
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

  // API tokens (admins only): a name, a scope and an optional lifetime; the
  // secret is shown once, right after it is made.
  function renderTokens() {
    const name = h('input', { id: 'token-name', maxlength: '64', autocomplete: 'off', spellcheck: 'false', required: true });
    const scope = h('select', { id: 'token-scope' },
      h('option', { value: 'read', text: 'Read-only' }), h('option', { value: 'admin', text: 'Admin' }));
    const days = h('input', { id: 'token-days', type: 'number', min: '1', step: '1', placeholder: 'never', inputmode: 'numeric' });
    const err = h('p', { id: 'token-error', class: 'error', role: 'alert', hidden: true });
    const secret = h('p', { id: 'token-secret', class: 'status', role: 'status', hidden: true });
    const btn = h('button', { type: 'submit', class: 'primary', id: 'token-submit', text: 'Create token' });
    const tbody = h('tbody');
    const card = h('section', { class: 'card', id: 'tokens' },
      h('h2', { text: 'API tokens' }),
      h('form', { id: 'create-token-form', class: 'inline-form', novalidate: true, onsubmit: onCreate },
        h('div', { class: 'field' }, h('label', { for: 'token-name', text: 'Name' }), name),
        h('div', { class: 'field' }, h('label', { for: 'token-scope', text: 'Scope' }), scope),
        h('div', { class: 'field' }, h('label', { for: 'token-days', text: 'Expires in (days)' }), days),
        h('div', { class: 'field field-button' }, btn)),
      err, secret,
      h('p', { class: 'muted small hint', text: 'Scripts send a token as “Authorization: Bearer mwt_…”. A read-only token may only read (GET).' }),
      h('div', { class: 'table-wrap' }, h('table', { id: 'tokens-table', class: 'table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col', text: 'Name' }), h('th', { scope: 'col', text: 'Scope' }),
          h('th', { scope: 'col', text: 'Created' }), h('th', { scope: 'col', text: 'Last used' }),
          h('th', { scope: 'col', text: 'Expires' }),
          h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'sr-only', text: 'Actions' })))),
        tbody)));

    async function load() {
      try {
        const d = await api('GET', '/api/tokens?limit=1000');
        tbody.replaceChildren(...(d.items.length ? d.items.map((t) => h('tr', { 'data-token-id': String(t.id) },
          h('td', { 'data-label': 'Name', text: t.name }),
          h('td', { 'data-label': 'Scope', text: ROLE_TEXT[t.scope] || t.scope }),
          h('td', { 'data-label': 'Created', text: fmtTime(t.created_at) }),
          h('td', { 'data-label': 'Last used', text: t.last_used_at ? fmtTime(t.last_used_at) : 'never' }),
          h('td', { 'data-label': 'Expires', text: t.expires_at ? fmtTime(t.expires_at) : 'never' }),
          h('td', { class: 'actions' }, h('button', { type: 'button', class: 'danger small-btn', 'data-action': 'revoke',
            text: 'Revoke', onclick: () => onRevoke(t) }))))
          : [h('tr', null, h('td', { colspan: '6', class: 'empty', text: 'No API tokens.' }))]));
      } catch (e) {
        if (!e.handled) setMessage(err, e.detail);
      }
    }

    async function onCreate(ev) {
      ev.preventDefault();
      setMessage(err, '');
      setMessage(secret, '');
      const body = { name: name.value.trim(), scope: scope.value };
      if (days.value) body.expires_at = Math.floor(Date.now() / 1000) + Math.round(Number(days.value) * 86400);
      btn.disabled = true;
      try {
        const t = await api('POST', '/api/tokens', body);
        name.value = '';
        days.value = '';
        setMessage(secret, `Token “${t.name}”: ${t.token} — copy it now: it is not shown again.`);
        load();
      } catch (e) {
        if (!e.handled) setMessage(err, e.detail);
      } finally {
        btn.disabled = false;
      }
    }

    async function onRevoke(t) {
      if (!window.confirm(`Revoke token “${t.name}”? Scripts using it stop working at once.`)) return;
      setMessage(err, '');
      try {
        await api('DELETE', `/api/tokens/${t.id}`);
        load();
      } catch (e) {
        if (!e.handled) setMessage(err, e.detail);
      }
    }

    load();
    return card;
  }

  window.meshwatch.registerPage({ path: '/users', label: 'Users', render: renderUsers });
})();
