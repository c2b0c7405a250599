/* meshwatch dashboard: the mesh inventory page. Loaded after app.js;
   registers its route with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).

   /inventory   what every reporting origin (and this node) says of its
                hosts, TCP targets, traffic and discovery changes: tabs
                Hosts / Targets / Traffic / Changes, an origin filter, a
                search, pages, and a "stale" badge on what comes from an
                origin that has not reported for three of its intervals.
                On a narrow screen the tables turn into stacked cards
                (style.css), so nothing overflows the page. */
'use strict';

(function () {
  const { h, api, setMessage, fmtTime, fmtAgo, fmtNumber, fmtBytes, fmtBitRate, fmtPktRate, fmtPct, fmtDuration, plural, DASH } = window.meshwatch.ui;
  const PAGE = 50;
  const POLL_MS = 5000;
  const TABS = [
    { id: 'hosts', label: 'Hosts', path: '/api/mesh/hosts', search: 'Address, name, vendor or MAC' },
    { id: 'targets', label: 'Targets', path: '/api/mesh/targets', search: 'Target name or host' },
    { id: 'traffic', label: 'Traffic', path: '/api/mesh/traffic', search: null },
    { id: 'changes', label: 'Changes', path: '/api/mesh/changes', search: 'Address' },
  ];
  const STATE_BADGE = {
    up: 'state-alive', gone: 'state-dead', refused: 'state-dead', timeout: 'state-suspect',
    unreachable: 'state-dead', dns_error: 'state-dead', running: 'state-alive', finished: 'state-alive',
    failed: 'state-dead', off: 'state-unknown',
  };

  function badge(text) {
    return h('span', { class: 'badge state ' + (STATE_BADGE[text] || 'state-unknown'), text: text || DASH });
  }

  // "n1.example.com" with a stale badge when its reports stopped
  function origin(x) {
    const name = x.origin_fqdn || x.origin_id;
    return h('span', { class: 'inv-origin' },
      h('span', { class: 'inv-origin-name', title: x.origin_id, text: x.self ? name + ' (this node)' : name }),
      x.stale ? h('span', { class: 'badge state state-suspect inv-stale', title: 'no report for three of its intervals', text: 'stale' }) : null);
  }

  function services(list) {
    if (!list.length) return DASH;
    return h('ul', { class: 'chips disc-services' }, list.map((s) =>
      h('li', { class: 'chip' + (s.confidence ? ' disc-conf-' + s.confidence : ''), title: `${s.port}/${s.proto} ${s.service}` },
        h('span', { class: 'disc-port', text: String(s.port) }), ' ', s.service || s.proto)));
  }

  const bytes = fmtBytes; // the shared unit style (app.js)

  function cell(label, content, cls) {
    const td = h('td', { 'data-label': label, class: cls || null });
    if (content instanceof Node) td.append(content);
    else td.textContent = content === null || content === undefined || content === '' ? DASH : String(content);
    return td;
  }

  const COLUMNS = {
    hosts: ['Address', 'Name', 'Vendor', 'Services', 'State', 'Seen by', 'Last seen'],
    targets: ['Origin', 'Name', 'Host', 'Port', 'State', 'Success', 'Last check'],
    traffic: ['Origin', 'Capture', 'Packet rate', 'Bit rate', 'By protocol', 'Top talkers', 'Drops', 'Totals', 'Age'],
    changes: ['Time', 'Origin', 'Change', 'Address', 'Port', 'Detail'],
  };

  const ROW = {
    hosts: (x) => h('tr', { class: x.stale ? 'inv-row-stale' : null },
      cell('Address', x.ip),
      cell('Name', x.hostname && x.hostname !== x.ip ? x.hostname : ''),
      cell('Vendor', x.vendor),
      cell('Services', services(x.services)),
      cell('State', badge(x.state)),
      cell('Seen by', h('ul', { class: 'inv-seen' }, x.seen_by.map((b) => h('li', null, origin(b), ' ', badge(b.state))))),
      cell('Last seen', x.last_seen ? fmtAgo(x.last_seen) : '')),
    targets: (x) => h('tr', { class: x.stale ? 'inv-row-stale' : null },
      cell('Origin', origin(x)),
      cell('Name', x.name),
      cell('Host', x.host),
      cell('Port', x.port, 'num'),
      cell('State', badge(x.state)),
      cell('Success', x.success_ratio === null ? '' : fmtPct(x.success_ratio), 'num'),
      cell('Last check', x.last_check ? fmtAgo(x.last_check) : '')),
    traffic: (x) => h('tr', { class: x.stale ? 'inv-row-stale' : null },
      cell('Origin', origin(x)),
      cell('Capture', badge(x.state)),
      cell('Packet rate', fmtPktRate(x.pps), 'num'),
      cell('Bit rate', fmtBitRate(x.bps), 'num'),
      cell('By protocol', Object.keys(x.by_proto).filter((k) => x.by_proto[k] > 0).map((k) => `${k} ${bytes(x.by_proto[k])}`).join(', ')),
      cell('Top talkers', x.top_talkers.map((t) => `${t.ip} ${bytes(t.bytes)}`).join(', ')),
      cell('Drops', fmtNumber(x.drops_total), 'num'),
      cell('Totals', `${plural(x.packets_total, 'packet', 'packets')}, ${bytes(x.bytes_total)}`),
      cell('Age', fmtDuration(x.age_s))),
    changes: (x) => h('tr', { class: x.stale ? 'inv-row-stale' : null },
      cell('Time', fmtTime(x.time)),
      cell('Origin', origin(x)),
      cell('Change', x.kind.replace('_', ' ')),
      cell('Address', x.ip),
      cell('Port', x.port, 'num'),
      cell('Detail', x.detail)),
  };

  function renderInventory(view) {
    let alive = true;
    const st = { tab: 'hosts', offset: 0, q: '', origin: '', seq: 0 };

    const tabs = TABS.map((t) => h('button', {
      type: 'button', role: 'tab', id: 'inv-tab-' + t.id, class: 'inv-tab', 'aria-controls': 'inv-panel',
      'aria-selected': String(t.id === st.tab), text: t.label, onclick: () => select(t.id),
    }));
    const originSel = h('select', { id: 'inv-origin', 'aria-label': 'Origin' }, h('option', { value: '', text: 'All origins' }));
    const q = h('input', { id: 'inv-q', type: 'search', 'aria-label': 'Search', autocomplete: 'off' });
    const err = h('p', { id: 'inv-error', class: 'error', role: 'alert', hidden: true });
    const totals = h('p', { id: 'inv-totals', class: 'muted small', hidden: true });
    const head = h('tr');
    const body = h('tbody');
    const table = h('table', { id: 'inv-table', class: 'table inv-table' }, h('thead', null, head), body);
    const prev = h('button', { type: 'button', class: 'secondary', id: 'inv-prev', text: '← Previous', onclick: () => go(st.offset - PAGE) });
    const next = h('button', { type: 'button', class: 'secondary', id: 'inv-next', text: 'Next →', onclick: () => go(st.offset + PAGE) });
    const range = h('span', { id: 'inv-range', class: 'muted' });
    const summary = h('span', { id: 'inv-summary', class: 'muted small' });

    view.append(h('section', { class: 'page', id: 'inventory' },
      h('div', { class: 'page-head' }, h('h1', { text: 'Mesh inventory' }), summary),
      h('section', { class: 'card' },
        h('div', { class: 'inv-tabs', role: 'tablist', 'aria-label': 'Inventory' }, ...tabs),
        h('div', { class: 'toolbar inv-toolbar' }, originSel, q),
        err, totals,
        h('div', { id: 'inv-panel', role: 'tabpanel', class: 'table-wrap' }, table),
        h('div', { class: 'pager' }, prev, range, next))));

    function select(id) {
      st.tab = id;
      st.offset = 0;
      for (const b of tabs) b.setAttribute('aria-selected', String(b.id === 'inv-tab-' + id));
      const t = TABS.find((x) => x.id === id);
      q.hidden = !t.search;
      q.placeholder = t.search || '';
      head.replaceChildren(...COLUMNS[id].map((c) => h('th', { scope: 'col', text: c })));
      body.replaceChildren();
      load();
    }

    let filterTimer = null;
    q.addEventListener('input', () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => { st.q = q.value.trim(); go(0); }, 250);
    });
    originSel.addEventListener('change', () => { st.origin = originSel.value; go(0); });

    function go(offset) { st.offset = Math.max(0, offset); load(); }

    async function loadOrigins() {
      try {
        const d = await api('GET', '/api/mesh/inventory?limit=1000');
        if (!alive) return;
        const keep = originSel.value;
        originSel.replaceChildren(h('option', { value: '', text: 'All origins' }), ...d.items.map((o) =>
          h('option', { value: o.origin_id, text: (o.origin_fqdn || o.origin_id) + (o.self ? ' (this node)' : '') + (o.stale ? ' — stale' : '') })));
        originSel.value = keep;
        const stale = d.items.filter((o) => o.stale).length;
        summary.textContent = plural(d.total, 'origin', 'origins') + (stale ? `, ${stale} stale` : '');
      } catch (e) { /* the list stays as it was */ }
    }

    async function load() {
      const seq = ++st.seq;
      const t = TABS.find((x) => x.id === st.tab);
      const qs = new URLSearchParams({ limit: String(PAGE), offset: String(st.offset) });
      if (st.origin) qs.set('origin', st.origin);
      if (st.q && t.search) qs.set('q', st.q);
      try {
        const d = await api('GET', t.path + '?' + qs.toString());
        if (!alive || seq !== st.seq) return;
        setMessage(err, '');
        body.replaceChildren(...(d.items.length ? d.items.map(ROW[st.tab])
          : [h('tr', null, h('td', { colspan: String(COLUMNS[st.tab].length), class: 'empty', text: 'Nothing reported yet.' }))]));
        totals.hidden = st.tab !== 'traffic' || !d.totals;
        if (d.totals) {
          const m = d.totals;
          totals.textContent = `Mesh: ${fmtPktRate(m.pps)}, ${fmtBitRate(m.bps)} from ${m.fresh_origins} fresh of ` +
            `${plural(m.origins, 'origin', 'origins')}; ${plural(m.packets_total, 'packet', 'packets')}, ${bytes(m.bytes_total)}, ` +
            `${fmtNumber(m.drops_total)} dropped in all`;
        }
        range.textContent = d.total ? `${st.offset + 1}–${st.offset + d.items.length} of ${fmtNumber(d.total)}` : '';
        prev.disabled = st.offset === 0;
        next.disabled = st.offset + d.items.length >= d.total;
      } catch (e) {
        if (!e.handled && alive) setMessage(err, e.detail, 'error');
      }
    }

    const poll = setInterval(() => { loadOrigins(); load(); }, POLL_MS);
    loadOrigins();
    select('hosts');
    return () => { alive = false; clearInterval(poll); clearTimeout(filterTimer); };
  }

  window.meshwatch.registerPage({ path: '/inventory', label: 'Inventory', render: renderInventory });
})();
