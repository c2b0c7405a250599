/* meshwatch dashboard: the pair page (one cell of the matrix). Loaded
   after app.js; registers its route with window.meshwatch.registerPage and
   draws with the helpers in window.meshwatch.ui (same rules as app.js: no
   innerHTML, no inline style or script).
     #/matrix/:from/:to  what node "from" measured of node "to": its
                         state, RTT and poll time, loss and PMTU over a
                         range (web/chart.js: presets, custom, zoom), the
                         last events of both ends and the samples */
'use strict';

(function () {
  const { h, api, setMessage, fmtTime, fmtMs, fmtPct, isNum, DASH, stateBadge, backLink } = window.meshwatch.ui;
  const { chart } = window.meshwatch;

  const msFmt = (v) => (v === 0 ? '0' : v < 1 ? `${+v.toFixed(2)} ms` : v < 100 ? `${+v.toFixed(1)} ms` : `${Math.round(v)} ms`);
  const STATE_VAL = { alive: 1, suspect: 2, dead: 3, unknown: 4 };

  // One pair's history: state, RTT, loss and PMTU over time, and the samples.
  function renderPair(view, params) {
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const tbody = h('tbody');
    const title = h('h1', { text: 'Pair' });
    const info = h('p', { class: 'muted small', id: 'pair-info' });
    const group = chart.group({ id: 'pair', ranges: ['1h', '6h', '24h', '7d'], initial: '24h', onRange: () => load() });
    const cState = group.chart({ id: 'pair-state', title: 'State', height: 44, y: { fixed: [0, 1], hide: true }, xAxis: false,
      empty: 'No samples in this range.',
      series: [{ key: (it) => STATE_VAL[it.state] || 4, label: 'state', color: '--chart-alive', text: (v, it) => (it ? it.state : DASH),
        bars: { full: true, colorOf: (v, it) => '--chart-' + (it && STATE_VAL[it.state] ? it.state : 'unknown') } }] });
    const cRtt = group.chart({ id: 'pair-chart', title: 'Round-trip time', yFmt: msFmt, empty: 'No samples in this range.',
      series: [
        { key: 'rtt_ms', label: 'UDP RTT', unit: 'ms', color: '--chart-1', width: 2, fmt: fmtMs },
        { key: 'total_ms', label: 'HTTPS exchange total', unit: 'ms', color: '--chart-2', fmt: fmtMs },
      ] });
    const cLoss = group.chart({ id: 'pair-loss', title: 'UDP loss', height: 130, y: { ratio: true, atLeast: 0.05 },
      yFmt: (v) => `${+(v * 100).toFixed(v < 0.1 ? 1 : 0)} %`, empty: 'No samples in this range.',
      series: [{ key: 'loss', label: 'loss', unit: '%', color: '--chart-bad', fmt: fmtPct,
        bars: { colorOf: (v) => (v === 0 ? '--chart-good' : v < 0.05 ? '--chart-warn' : '--chart-bad') } }] });
    const cPmtu = group.chart({ id: 'pair-pmtu', title: 'Path MTU', height: 130, y: { auto: true }, yFmt: (v) => `${Math.round(v)}`,
      empty: 'No PMTU in these samples (a node\u2019s own row reports none).',
      series: [{ key: 'pmtu', label: 'PMTU', unit: 'B', color: '--chart-4', width: 2, fmt: (v) => `${Number(v).toLocaleString('en-US')} B` }] });
    // the last state changes of both ends, as peers (web/events.js)
    const recent = window.meshwatch.events.recentCard(
      [params.from, params.to].filter((id, i, a) => a.indexOf(id) === i).map((id) => ({ type: 'peer', id })));
    view.replaceChildren(
      backLink('#/matrix', 'Matrix'),
      h('div', { class: 'page-head' }, title),
      errBox,
      h('section', { class: 'card', id: 'pair-charts' }, h('h2', { text: 'History' }), group.el, info,
        cState.el, cRtt.el, h('div', { class: 'chart-grid-2' }, cLoss.el, cPmtu.el)),
      recent.el,
      h('section', { class: 'card' }, h('h2', { text: 'Samples' }),
        h('div', { class: 'table-wrap' }, h('table', { id: 'pair-table', class: 'table' },
          h('thead', null, h('tr', null, ['Time', 'State', 'RTT', 'Loss', 'Poll total', 'PMTU'].map((t) => h('th', { text: t })))), tbody))));
    let alive = true, seq = 0, timer = null, named = false;
    async function load() {
      clearTimeout(timer);
      const my = ++seq;
      const r = group.range();
      try {
        const q = `from_id=${encodeURIComponent(params.from)}&to_id=${encodeURIComponent(params.to)}&from=${r.from}&to=${r.to}`;
        const [m, d] = await Promise.all([named ? null : api('GET', '/api/mesh'), api('GET', `/api/mesh/history?${q}`)]);
        if (!alive || my !== seq) return;
        setMessage(errBox, '');
        if (m) {
          const nm = (id) => { const n = m.nodes.find((x) => x.id === id); return n ? n.fqdn : id.slice(0, 8); };
          title.textContent = `${nm(params.from)} \u2192 ${nm(params.to)}`;
          named = true;
        }
        group.setData(d.items, { from: Date.parse(d.from) / 1000 || r.from, to: Date.parse(d.to) / 1000 || r.to });
        info.textContent = `${d.items.length} ${d.items.length === 1 ? 'sample' : 'samples'} · ${fmtTime(d.from)} – ${fmtTime(d.to)}`;
        tbody.replaceChildren(...d.items.slice().reverse().slice(0, 500).map((it) => h('tr', null,
          h('td', { text: fmtTime(it.t) }), h('td', null, stateBadge(it.state)), h('td', { text: fmtMs(it.rtt_ms) }),
          h('td', { text: isNum(it.loss) ? (it.loss * 100).toFixed(1) + ' %' : DASH }), h('td', { text: fmtMs(it.total_ms) }),
          h('td', { text: isNum(it.pmtu) ? String(it.pmtu) : DASH }))));
      } catch (e) {
        if (!e.handled && alive && my === seq) setMessage(errBox, e.detail || String(e), 'error');
      }
      if (alive && my === seq && r.key !== 'custom') timer = setTimeout(load, 15000);
    }
    load();
    return () => { alive = false; clearTimeout(timer); recent.stop(); group.destroy(); };
  }

  window.meshwatch.registerPage({ path: '/matrix/:from/:to', label: 'Pair', render: renderPair });
})();
