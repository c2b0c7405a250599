/* meshwatch dashboard: the TCP targets pages. Loaded after app.js;
   registers its routes with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).
     #/targets      list with search and filters, add / edit form, delete
     #/targets/:id  one target: state, settings, its last events, history
                    charts (web/chart.js: range bar, zoom) with a group-by
                    selector */
'use strict';

(function () {
  const { h, api, setMessage, fmtAgo, fmtMs, fmtPct, fmtTime, plural, isNum, DASH, backLink } = window.meshwatch.ui;
  const PAGE = 25;
  const REFRESH_MS = 5000;
  const STATES = ['up', 'refused', 'timeout', 'unreachable', 'dns_error', 'unknown'];
  const UNITS = ['minutes', 'hours', 'days', 'weeks', 'months'];

  function targetBadge(st, enabled) {
    if (enabled === false) return h('span', { class: 'badge tstate tstate-off', 'data-state': 'disabled', text: 'disabled' });
    const s = STATES.includes(st) ? st : 'unknown';
    return h('span', { class: `badge tstate tstate-${s}`, 'data-state': s, text: s.replace('_', ' ') });
  }

  function ratioText(rec) {
    if (!rec || !isNum(rec.success_ratio)) return DASH;
    return `${fmtPct(rec.success_ratio)} of ${rec.checks}`;
  }

  /* ---------- the add / edit form ---------- */

  // form(target|null, onSaved): a card with every field; the API's 400
  // detail (which names the field) is shown under the form.
  function targetForm(t, onSaved, onCancel) {
    const f = {};
    const field = (id, label, input, hint) => {
      f[id] = input;
      return h('div', { class: 'field' }, h('label', { for: 'tf-' + id, text: label }), input,
        hint ? h('span', { class: 'muted small', text: hint }) : null);
    };
    const inp = (id, props) => h('input', Object.assign({ id: 'tf-' + id, name: id, autocomplete: 'off' }, props));
    const unit = h('select', { id: 'tf-retention_unit', name: 'retention_unit' },
      ...UNITS.map((u) => h('option', { value: u, text: u })));
    const enabled = h('input', { id: 'tf-enabled', type: 'checkbox', name: 'enabled' });
    const mesh = h('input', { id: 'tf-mesh', type: 'checkbox', name: 'mesh' });
    const err = h('p', { class: 'error', role: 'alert', hidden: true, id: 'target-form-error' });
    const save = h('button', { type: 'submit', class: 'primary', id: 'target-save', text: t ? 'Save changes' : 'Add target' });
    const form = h('form', { id: 'target-form', class: 'inline-form target-form', novalidate: true },
      field('name', 'Name', inp('name', { maxlength: '128', required: true, placeholder: 'web frontend' })),
      field('host', 'Host', inp('host', { maxlength: '253', required: true, spellcheck: 'false', autocapitalize: 'none', placeholder: 'db.example.com or 10.0.0.5' })),
      field('port', 'Port', inp('port', { type: 'number', min: '1', max: '65535', required: true, class: 'num-input' })),
      field('interval_s', 'Every (s)', inp('interval_s', { type: 'number', min: '1', max: '86400', class: 'num-input' })),
      field('timeout_s', 'Timeout (s)', inp('timeout_s', { type: 'number', min: '0.05', step: '0.05', class: 'num-input', placeholder: 'auto' })),
      field('retention_period', 'Keep', inp('retention_period', { type: 'number', min: '1', class: 'num-input' })),
      h('div', { class: 'field' }, h('label', { for: 'tf-retention_unit', text: 'Unit' }), unit),
      h('div', { class: 'field field-check' }, enabled, h('label', { for: 'tf-enabled', text: 'Enabled' })),
      h('div', { class: 'field field-check' }, mesh, h('label', { for: 'tf-mesh', text: 'Check from other nodes too' })),
      field('vantage', 'Vantage points', inp('vantage', { spellcheck: 'false', autocapitalize: 'none', placeholder: 'every node (or names, comma-separated)' })),
      h('div', { class: 'field field-button' }, save,
        onCancel ? h('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: onCancel }) : null));
    f.retention_unit = unit;
    f.enabled = enabled;
    const v = t || { interval_s: 60, retention_period: 7, retention_unit: 'days', enabled: true };
    for (const k of ['name', 'host', 'port', 'interval_s', 'retention_period']) f[k].value = v[k] ?? '';
    f.timeout_s.value = t ? String(t.timeout_s) : '';
    unit.value = v.retention_unit;
    enabled.checked = v.enabled !== false;
    mesh.checked = !!v.mesh;
    f.vantage.value = (v.vantage || []).map(vantageName).join(', ');
    const syncVantage = () => { f.vantage.disabled = !mesh.checked; };
    mesh.addEventListener('change', syncVantage);
    syncVantage();

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {
        name: f.name.value.trim(),
        host: f.host.value.trim(),
        port: Number(f.port.value),
        interval_s: Number(f.interval_s.value),
        retention_period: Number(f.retention_period.value),
        retention_unit: unit.value,
        enabled: enabled.checked,
      };
      if (f.timeout_s.value.trim() !== '') body.timeout_s = Number(f.timeout_s.value);
      body.mesh = mesh.checked;
      const names = f.vantage.value.split(',').map((x) => x.trim()).filter(Boolean);
      body.vantage = mesh.checked && names.length ? names : null;
      save.disabled = true;
      try {
        const saved = t ? await api('PUT', `/api/targets/${t.id}`, body) : await api('POST', '/api/targets', body);
        setMessage(err, '');
        onSaved(saved);
      } catch (e) {
        if (!e.handled) setMessage(err, e.detail);
      } finally {
        save.disabled = false;
      }
    });
    return h('div', null, form, err,
      h('p', { class: 'muted small hint', text: 'Timeout: at most the interval and 60 s; empty means that maximum. History older than "Keep" is deleted. ' +
        'Checked from other nodes too: every node of the mesh (or the vantage points named) checks it and reports back; needs a mesh secret, at least 10 s.' }));
  }

  // A vantage point's name: the node's fqdn when this node knows it.
  function vantageName(id) {
    const node = window.meshwatch.nodeInfo().node;
    if (node && node.node_id === id) return node.node_fqdn || id;
    const p = (nodeNames || {})[id];
    return p || id;
  }
  let nodeNames = null;
  async function loadNodeNames() {
    try {
      const d = await api('GET', '/api/nodes?limit=1000');
      nodeNames = {};
      for (const p of d.items || []) if (p.id) nodeNames[p.id] = p.fqdn || p.ip;
    } catch (e) { /* names are a nicety: ids stay */ }
  }

  // "mesh: up at 3 of 4" or "for n1.test": what a row says of its mesh role.
  function meshNote(t) {
    if (t.origin) return h('div', { class: 'muted small', 'data-mesh': 'copy', text: `checked here for ${t.origin.fqdn || t.origin.node_id}` });
    if (t.mesh && t.agreement) {
      const a = t.agreement;
      return h('div', { class: 'muted small', 'data-mesh': 'origin', title: 'What the vantage points of the mesh say',
        text: `mesh: ${a.summary}${a.agree || !a.reporting ? '' : ' (they disagree)'}` });
    }
    return null;
  }

  /* ---------- #/targets ---------- */

  function renderTargets(view) {
    const page = { q: '', state: '', enabled: '', offset: 0, total: 0, items: [], seq: 0, editing: null };
    let alive = true, timer = null;

    const search = h('input', { id: 'target-search', type: 'search', placeholder: 'Search name or host', 'aria-label': 'Search targets', autocomplete: 'off' });
    const stateSel = h('select', { id: 'target-state-filter', 'aria-label': 'Filter by state' },
      h('option', { value: '', text: 'Any state' }), ...STATES.map((s) => h('option', { value: s, text: s.replace('_', ' ') })));
    const enabledSel = h('select', { id: 'target-enabled-filter', 'aria-label': 'Filter by enabled' },
      h('option', { value: '', text: 'Enabled or not' }), h('option', { value: 'true', text: 'Enabled' }), h('option', { value: 'false', text: 'Disabled' }));
    const listErr = h('p', { class: 'error', role: 'alert', hidden: true, id: 'targets-error' });
    const flash = h('p', { class: 'status', role: 'status', hidden: true, id: 'targets-flash' });
    const tbody = h('tbody');
    const count = h('span', { class: 'muted small', id: 'targets-count' });
    const prev = h('button', { type: 'button', class: 'secondary', text: '← Previous', onclick: () => go(page.offset - PAGE) });
    const next = h('button', { type: 'button', class: 'secondary', text: 'Next →', onclick: () => go(page.offset + PAGE) });
    const range = h('span', { class: 'muted' });
    const formSlot = h('div', { id: 'target-form-slot' });
    const formTitle = h('h2', { text: 'New target' });

    view.append(h('section', { class: 'page', id: 'targets' },
      h('div', { class: 'page-head' }, h('h1', { text: 'TCP targets' }), count),
      h('section', { class: 'card', id: 'target-form-card' }, formTitle, formSlot),
      h('section', { class: 'card' },
        h('div', { class: 'toolbar' }, h('h2', { text: 'Targets' }), search, stateSel, enabledSel),
        flash, listErr,
        h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'targets-table' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col', text: 'State' }),
            h('th', { scope: 'col', text: 'Name' }),
            h('th', { scope: 'col', text: 'Host:port' }),
            h('th', { scope: 'col', text: 'Every', class: 'num' }),
            h('th', { scope: 'col', text: 'Last check' }),
            h('th', { scope: 'col', text: 'Connect', class: 'num' }),
            h('th', { scope: 'col', text: 'Recent' }),
            h('th', { scope: 'col', class: 'actions-col' }, h('span', { class: 'sr-only', text: 'Actions' })))),
          tbody)),
        h('div', { class: 'pager' }, prev, range, next))));

    function showForm(t) {
      page.editing = t;
      formTitle.textContent = t ? `Edit “${t.name}”` : 'New target';
      formSlot.replaceChildren(targetForm(t, (saved) => {
        say(t ? `Saved “${saved.name}”.` : `Added “${saved.name}”; its first check runs now.`);
        showForm(null);
        load();
      }, t ? () => showForm(null) : null));
      if (t) formSlot.querySelector('input').focus();
    }

    function say(text) {
      setMessage(flash, text);
      setTimeout(() => setMessage(flash, ''), 4000);
    }

    let searchTimer = null;
    search.addEventListener('input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => { page.q = search.value.trim(); go(0); }, 250);
    });
    stateSel.addEventListener('change', () => { page.state = stateSel.value; go(0); });
    enabledSel.addEventListener('change', () => { page.enabled = enabledSel.value; go(0); });

    function go(offset) { page.offset = Math.max(0, offset); load(); }

    async function load() {
      const seq = ++page.seq;
      const qs = new URLSearchParams({ limit: String(PAGE), offset: String(page.offset) });
      if (page.q) qs.set('q', page.q);
      if (page.state) qs.set('state', page.state);
      if (page.enabled) qs.set('enabled', page.enabled);
      try {
        const d = await api('GET', '/api/targets?' + qs.toString());
        if (seq !== page.seq || !alive) return;
        if (d.items.length === 0 && d.total > 0 && page.offset > 0) { go(Math.floor((d.total - 1) / PAGE) * PAGE); return; }
        page.items = d.items;
        page.total = d.total;
        setMessage(listErr, '');
        paint();
      } catch (e) {
        if (!e.handled && seq === page.seq) setMessage(listErr, e.detail);
      }
    }

    async function onDelete(t) {
      if (!window.confirm(`Delete target “${t.name}” (${t.host}:${t.port}) and all its history?`)) return;
      try {
        await api('DELETE', `/api/targets/${t.id}`);
        say(`Deleted “${t.name}”.`);
        if (page.editing && page.editing.id === t.id) showForm(null);
        load();
      } catch (e) {
        if (!e.handled) setMessage(listErr, e.detail);
      }
    }

    function paint() {
      const rows = page.items.map((t) => h('tr', { 'data-target-id': String(t.id), 'data-state': t.enabled ? t.state : 'disabled' },
        h('td', { 'data-label': 'State' }, targetBadge(t.state, t.enabled)),
        h('td', { 'data-label': 'Name' }, h('a', { href: `#/targets/${t.id}`, class: 'peer-link', text: t.name }), meshNote(t)),
        h('td', { 'data-label': 'Host', class: 'mono', text: `${t.host.includes(':') ? '[' + t.host + ']' : t.host}:${t.port}` }),
        h('td', { 'data-label': 'Every', class: 'num', text: `${t.interval_s} s` }),
        h('td', { 'data-label': 'Last check', title: t.last_check ? fmtTime(t.last_check) : '', text: t.last_check ? fmtAgo(t.last_check) : 'never' },
          t.last_error && t.state !== 'up' ? h('div', { class: 'muted small err-text', text: t.last_error }) : null),
        h('td', { 'data-label': 'Connect', class: 'num', text: isNum(t.last_connect_ms) ? fmtMs(t.last_connect_ms) : DASH }),
        h('td', { 'data-label': 'Recent', text: ratioText(t.recent) }),
        h('td', { class: 'actions' }, t.origin ? null : [
          h('button', { type: 'button', class: 'secondary small-btn', 'data-action': 'edit', text: 'Edit', onclick: () => showForm(t) }),
          h('button', { type: 'button', class: 'danger small-btn', 'data-action': 'delete', text: 'Delete', onclick: () => onDelete(t) })])));
      if (!rows.length) {
        const filtered = page.q || page.state || page.enabled;
        rows.push(h('tr', null, h('td', { colspan: '8', class: 'empty',
          text: filtered ? 'No target matches these filters.' : 'No targets yet. Add one above: a host and a port to connect to.' })));
      }
      tbody.replaceChildren(...rows);
      const first = page.total === 0 ? 0 : page.offset + 1, last = page.offset + page.items.length;
      range.textContent = page.total === 0 ? '0 targets' : `${first}–${last} of ${page.total}`;
      prev.disabled = page.offset === 0;
      next.disabled = last >= page.total;
      count.textContent = plural(page.total, 'target', 'targets');
    }

    showForm(null);
    loadNodeNames();
    load();
    timer = setInterval(load, REFRESH_MS);
    return () => { alive = false; clearInterval(timer); clearTimeout(searchTimer); };
  }

  /* ---------- #/targets/:id ---------- */

  const { chart } = window.meshwatch;
  const STEPS = ['auto', '10s', '1m', '5m', '1h', '1d'];

  function renderTarget(view, params) {
    const id = params.id;
    let alive = true, timer = null, target = null, step = 'auto', editing = false, histSeq = 0;
    const title = h('h1', { text: 'Target' });
    const badge = h('span');
    const err = h('p', { class: 'error', role: 'alert', hidden: true, id: 'target-error' });
    const facts = h('dl', { class: 'kv', id: 'target-facts' });
    const chartErr = h('p', { class: 'error', role: 'alert', hidden: true });
    const summary = h('p', { class: 'muted small', id: 'target-history-summary' });
    const group = chart.group({ id: 'target', ranges: ['1h', '6h', '24h', '7d'], initial: '1h', onRange: () => loadHistory() });
    const cRatio = group.chart({ id: 'target-ratio-chart', title: 'Success ratio per bucket', height: 150, y: { ratio: true },
      empty: 'No checks in this range.',
      series: [{ key: 'success_ratio', label: 'up', unit: '%', color: '--chart-good',
        text: (v, it) => (it ? `${fmtPct(v)} (${it.up} of ${it.checks} checks)` : fmtPct(v)),
        bars: { colorOf: (v) => (v >= 0.999 ? '--chart-good' : v >= 0.5 ? '--chart-warn' : '--chart-bad') } }] });
    const cLat = group.chart({ id: 'target-latency-chart', title: 'Connect time (successful checks)', height: 190,
      yFmt: (v) => `${+v.toFixed(2)} ms`, empty: 'No successful checks in this range.',
      series: [
        { key: 'latency_avg_ms', label: 'average', unit: 'ms', color: '--chart-1', width: 2, fmt: fmtMs },
        { key: 'latency_p95_ms', label: 'p95', unit: 'ms', color: '--chart-2', fmt: fmtMs },
      ] });
    const stepSel = h('select', { id: 'target-group-by', 'aria-label': 'Group by' }, ...STEPS.map((s) => h('option', { value: s, text: s === 'auto' ? 'group: auto' : `group: ${s}` })));
    const editSlot = h('div');
    const editBtn = h('button', { type: 'button', class: 'secondary', text: 'Edit', onclick: () => { editing = !editing; paintEdit(); } });
    const delBtn = h('button', { type: 'button', class: 'danger', text: 'Delete', onclick: onDelete });

    const vantageBody = h('tbody');
    const vantageSummary = h('p', { class: 'muted small', id: 'target-vantage-summary' });
    const vantageCard = h('section', { class: 'card', id: 'target-vantage', hidden: true },
      h('h2', { text: 'Vantage points' }), vantageSummary,
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'target-vantage-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col', text: 'Node' }),
          h('th', { scope: 'col', text: 'State' }),
          h('th', { scope: 'col', text: 'Connect', class: 'num' }),
          h('th', { scope: 'col', text: 'Checked' }),
          h('th', { scope: 'col', text: 'Recent' }))),
        vantageBody)));

    // its last state changes (web/events.js)
    const recent = window.meshwatch.events.recentCard([{ type: 'target', id: String(id) }]);

    view.append(h('section', { class: 'page', id: 'target' },
      backLink('#/targets', 'TCP targets'),
      h('div', { class: 'page-head' }, title, badge, h('span', { class: 'spacer' }), editBtn, delBtn),
      err, editSlot,
      h('section', { class: 'card' }, h('h2', { text: 'Settings and last check' }), facts),
      vantageCard,
      recent.el,
      h('section', { class: 'card' },
        h('div', { class: 'toolbar' }, h('h2', { text: 'History' }), stepSel),
        group.el, chartErr, summary, cRatio.el, cLat.el)));

    stepSel.addEventListener('change', () => { step = stepSel.value; loadHistory(); });

    function paintEdit() {
      editBtn.textContent = editing ? 'Close editor' : 'Edit';
      editSlot.replaceChildren(editing && target ? h('section', { class: 'card' }, h('h2', { text: 'Edit target' }),
        targetForm(target, (saved) => { target = saved; editing = false; paintEdit(); paintTarget(); loadHistory(); }, () => { editing = false; paintEdit(); })) : '');
    }

    async function onDelete() {
      if (!target || !window.confirm(`Delete target “${target.name}” and all its history?`)) return;
      try {
        await api('DELETE', `/api/targets/${id}`);
        location.hash = '#/targets';
      } catch (e) {
        if (!e.handled) setMessage(err, e.detail);
      }
    }

    function kv(label, value) { return [h('dt', { text: label }), h('dd', { text: value })]; }

    function paintTarget() {
      const t = target;
      title.textContent = t.name;
      badge.replaceChildren(targetBadge(t.state, t.enabled));
      facts.replaceChildren(
        ...kv('Host and port', `${t.host} port ${t.port}`),
        ...kv('Checked', t.enabled ? `every ${t.interval_s} s, timeout ${t.timeout_s} s` : 'disabled'),
        ...kv('History kept', `${t.retention_period} ${t.retention_unit}`),
        ...kv('Last check', t.last_check ? `${fmtAgo(t.last_check)} (${fmtTime(t.last_check)})` : 'never'),
        ...kv('Result', t.state === 'up' ? `connected in ${fmtMs(t.last_connect_ms)}` : (t.last_error || t.state)),
        ...kv('Recent checks', ratioText(t.recent)),
        ...kv('Added', fmtTime(t.created_at)),
        ...(t.origin ? kv('Checked here for', `${t.origin.fqdn || t.origin.node_id} (its target #${t.origin.target_id}); it changes only there`) : []),
        ...(t.mesh && t.agreement ? kv('Mesh', t.agreement.summary) : []));
      editBtn.hidden = delBtn.hidden = !!t.origin;
      paintVantage(t);
    }

    function paintVantage(t) {
      vantageCard.hidden = !(t.mesh && t.vantage_points);
      if (vantageCard.hidden) return;
      const a = t.agreement;
      const parts = [`${a.summary}.`];
      if (a.reporting > 0) parts.push(a.agree ? 'They agree.' : 'They disagree: the target looks different from different places.');
      if (a.pending) parts.push(`${a.pending} not heard from yet.`);
      if (a.stale) parts.push(`${a.stale} stale (no word for a while).`);
      if (a.declined) parts.push(`${a.declined} declined.`);
      vantageSummary.textContent = parts.join(' ');
      vantageBody.replaceChildren(...t.vantage_points.map((p) => h('tr', { 'data-node-id': p.node_id, 'data-state': p.state },
        h('td', { 'data-label': 'Node' }, p.self ? h('span', { text: `${p.fqdn || p.node_id} (this node)` }) : h('a', { href: `#/nodes/${p.node_id}`, class: 'peer-link', text: p.fqdn || p.node_id })),
        h('td', { 'data-label': 'State' }, targetBadge(p.stale ? 'unknown' : p.state, p.state !== 'disabled'),
          p.stale ? h('span', { class: 'muted small', text: ' stale' }) : null,
          p.error && p.state !== 'up' ? h('div', { class: 'muted small err-text', text: p.error }) : null),
        h('td', { 'data-label': 'Connect', class: 'num', text: isNum(p.connect_ms) ? fmtMs(p.connect_ms) : DASH }),
        h('td', { 'data-label': 'Checked', title: p.checked_at ? fmtTime(p.checked_at) : '', text: p.checked_at ? fmtAgo(p.checked_at) : 'not yet' }),
        h('td', { 'data-label': 'Recent', text: isNum(p.success_ratio) ? `${fmtPct(p.success_ratio)} up` : DASH }))));
    }

    async function loadTarget() {
      try {
        target = await api('GET', `/api/targets/${encodeURIComponent(id)}`);
        if (!alive) return;
        setMessage(err, '');
        paintTarget();
      } catch (e) {
        if (e.handled || !alive) return;
        setMessage(err, e.status === 404 ? `There is no target #${id} (it may have been deleted).` : e.detail);
      }
    }

    async function loadHistory() {
      const my = ++histSeq;
      const r = group.range();
      const qs = new URLSearchParams({ from: String(r.from), to: String(r.to) });
      if (step !== 'auto') qs.set('group_by', step);
      try {
        const d = await api('GET', `/api/targets/${encodeURIComponent(id)}/history?` + qs.toString());
        if (!alive || my !== histSeq) return;
        setMessage(chartErr, '');
        const checks = d.items.reduce((a, it) => a + it.checks, 0), up = d.items.reduce((a, it) => a + it.up, 0);
        summary.textContent = checks ? `${plural(checks, 'check', 'checks')} in this range, ${fmtPct(up / checks)} up; buckets of ${d.step_s} s.` : `No checks in this range (buckets of ${d.step_s} s).`;
        group.setData(d.items, { from: r.from, to: r.to, stepS: d.step_s });
      } catch (e) {
        if (!e.handled && alive && my === histSeq) setMessage(chartErr, e.detail);
      }
    }

    loadNodeNames().then(loadTarget).then(loadHistory);
    // a range that ends now moves on; a custom one stays put
    timer = setInterval(() => { loadTarget(); if (group.activeKey() !== 'custom') loadHistory(); }, REFRESH_MS * 2);
    return () => { alive = false; clearInterval(timer); recent.stop(); group.destroy(); };
  }

  window.meshwatch.registerPage({ path: '/targets', label: 'Targets', render: renderTargets });
  window.meshwatch.registerPage({ path: '/targets/:id', label: 'Target', render: renderTarget });
})();
