/* meshwatch dashboard: the pair page (one cell of the matrix). Loaded
   after app.js; registers its route with window.meshwatch.registerPage and
   draws with the helpers in window.meshwatch.ui (same rules as app.js: no
   innerHTML, no inline style or script).
     #/matrix/:from/:to  what node "from" measured of node "to" over the
                         last 24 h: an RTT chart, the last events of both
                         ends and the samples */
'use strict';

(function () {
  const { h, api, setMessage, timeChart, fmtTime, fmtMs, isNum, DASH, stateBadge } = window.meshwatch.ui;

  // One pair's history: RTT over time and the samples with their states.
  function renderPair(view, params) {
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const chart = h('div', { class: 'chart-box', id: 'pair-chart' });
    const tbody = h('tbody');
    const title = h('h1', { text: 'Pair' });
    // the last state changes of both ends, as peers (web/events.js)
    const recent = window.meshwatch.events.recentCard(
      [params.from, params.to].filter((id, i, a) => a.indexOf(id) === i).map((id) => ({ type: 'peer', id })));
    view.replaceChildren(
      h('div', { class: 'page-head' }, title, h('a', { href: '#/matrix', class: 'muted small', text: '\u2190 matrix' })),
      errBox,
      h('section', { class: 'card' }, h('h2', { text: 'RTT, last 24 h' }), chart),
      recent.el,
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
    return () => { alive = false; recent.stop(); };
  }

  window.meshwatch.registerPage({ path: '/matrix/:from/:to', label: 'Pair', render: renderPair });
})();
