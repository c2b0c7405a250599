/* meshwatch dashboard: the matrix page (reporting). Loaded after app.js;
   registers its route with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).
     #/matrix  every known node's view of the others (/api/mesh): state
               and RTT per pair, and the reporting origins */
'use strict';

(function () {
  const { h, api, setMessage, fmtDuration, fmtNumber, plural, fmtMs, fmtAgo, natCmp, noteServerTime,
    isNum, DASH } = window.meshwatch.ui;

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

  window.meshwatch.registerPage({ path: '/matrix', label: 'Matrix', render: renderMatrix });
})();
