/* meshwatch dashboard: the overview page (this node). Loaded after app.js;
   registers its route with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).
     #/overview  this node's identity, certificate, database, TLS and
                 accounts, from the /api/node answer the header polls */
'use strict';

(function () {
  const { h, setMessage, fmtDuration, fmtBytes, fmtTime, fmtClock, fmtNumber, plural } = window.meshwatch.ui;
  const session = window.meshwatch.session;

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
        kv('Size', 'database.size_bytes', (n) => ({ text: fmtBytes(n.database.size_bytes), title: `${fmtNumber(n.database.size_bytes)} B` })),
        kv('Schema version', 'database.schema_version', (n) => String(n.database.schema_version)),
        kv('Writable', 'database.writable', (n) => n.database.writable
          ? { text: 'yes', cls: 'good' } : { text: 'no — writes fail', cls: 'bad' })),
      card('TLS', 'card-tls',
        kv('Handshakes OK', 'tls.handshakes_ok', (n) => fmtNumber(n.tls.handshakes_ok)),
        // failed handshakes by what the client did: only TLS errors may
        // need a look; port scans and other protocols' probes are noise
        kv('TLS errors', 'tls.failed_by_kind.tls_error', (n) => {
          const k = n.tls.failed_by_kind;
          if (!k) return { text: fmtNumber(n.tls.handshakes_failed), cls: n.tls.handshakes_failed > 0 ? 'warn' : null, title: 'failed handshakes (this node does not tell their kinds)' };
          return { text: fmtNumber(k.tls_error), cls: k.tls_error > 0 ? 'warn' : null,
            title: 'TLS clients whose handshake failed: no version or cipher in common, or the client refused this node\'s self-signed certificate (a browser before it is accepted)' };
        }),
        kv('Scans and probes', 'tls.failed_by_kind.noise', (n) => {
          const k = n.tls.failed_by_kind;
          if (!k) return '—';
          return { text: `${fmtNumber(k.no_hello)} closed before a TLS hello, ${fmtNumber(k.not_tls)} not TLS`,
            title: 'Connections that never began a TLS handshake: port scans, TCP health checks and other protocols\' probes. Counted, not errors of this node.' };
        }),
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
      const at = session.node().at;
      if (at) updated.textContent = `Updated ${fmtClock(at)} · refreshes every ${session.NODE_POLL_MS / 1000} s`;
    }

    const unsub = session.onNode(paint);
    const last = session.node();
    if (last.node || last.error) paint(last.node, last.error);
    return unsub;
  }

  window.meshwatch.registerPage({ path: '/overview', label: 'Overview', render: renderOverview });
})();
