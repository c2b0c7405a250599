/* meshwatch dashboard: the matrix page (reporting). Loaded after app.js;
   registers its route with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).
     #/matrix  every known node's view of the others (/api/mesh), one grid
               per measure (tabs: RTT, loss, PMTU, state) with a legend
               that names the unit, colour thresholds the user may change
               (kept in this browser), and the reporting origins */
'use strict';

(function () {
  const { h, api, setMessage, fmtDuration, fmtNumber, plural, fmtMs, fmtAgo, natCmp, noteServerTime,
    isNum, DASH, fmtClock } = window.meshwatch.ui;

  // The measures. A cell's colour class 0 (best) .. 4 (worst) is how many
  // thresholds its value is past: above them for RTT and loss, below them
  // for PMTU. The scale (web/charts.css --mx-0 .. --mx-4) runs from a
  // light green to a dark red: worse is warmer and stands out more.
  const METRICS = {
    rtt: {
      label: 'RTT', unit: 'ms', what: 'UDP round-trip time (the probe average)', dir: 'up', defaults: [1, 10, 50, 150],
      value: (c) => (isNum(c.rtt_ms) ? c.rtt_ms : null),
      cell: (v) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : String(Math.round(v))),
    },
    loss: {
      label: 'Loss', unit: '%', what: 'UDP probe loss', dir: 'up', defaults: [0, 1, 5, 20],
      value: (c) => (isNum(c.loss) ? c.loss * 100 : null),
      cell: (v) => (v === 0 ? '0' : v < 10 ? v.toFixed(1) : String(Math.round(v))),
    },
    pmtu: {
      label: 'PMTU', unit: 'bytes', what: 'path MTU (largest packet that gets through)', dir: 'down', defaults: [1500, 1400, 1280, 576],
      value: (c) => (isNum(c.pmtu) ? c.pmtu : null),
      cell: (v) => String(v),
    },
    state: { label: 'State', what: 'the verdict of the row\u2019s node on the column\u2019s node' },
  };
  const TABS = ['rtt', 'loss', 'pmtu', 'state'];
  const STORE_KEY = 'meshwatch.matrix.thresholds';
  let tab = 'rtt';

  function loadThresholds() {
    const out = {};
    let saved = {};
    try { saved = JSON.parse(localStorage.getItem(STORE_KEY) || '{}') || {}; } catch (e) { saved = {}; }
    for (const k of ['rtt', 'loss', 'pmtu']) out[k] = validThresholds(k, saved[k]) ? saved[k].map(Number) : METRICS[k].defaults.slice();
    return out;
  }

  // four numbers, at least 0, rising (RTT, loss) or falling (PMTU)
  function validThresholds(k, t) {
    if (!Array.isArray(t) || t.length !== 4 || !t.every((v) => isNum(Number(v)) && Number(v) >= 0 && String(v) !== '')) return false;
    const n = t.map(Number);
    return n.every((v, i) => i === 0 || (METRICS[k].dir === 'up' ? v > n[i - 1] : v < n[i - 1]));
  }

  function classOf(k, v, th) {
    const up = METRICS[k].dir === 'up';
    return th.reduce((a, t) => a + ((up ? v > t : v < t) ? 1 : 0), 0);
  }

  // the five bands of a measure, in words: "≤ 1", "1–10", ..., "> 150"
  function bandLabels(k, th) {
    const u = METRICS[k].unit;
    if (METRICS[k].dir === 'up') {
      return [th[0] === 0 ? `0 ${u}` : `\u2264 ${th[0]} ${u}`, `${th[0]}\u2013${th[1]}`, `${th[1]}\u2013${th[2]}`, `${th[2]}\u2013${th[3]}`, `> ${th[3]} ${u}`];
    }
    return [`\u2265 ${th[0]} ${u}`, `${th[1]}\u2013${th[0]}`, `${th[2]}\u2013${th[1]}`, `${th[3]}\u2013${th[2]}`, `< ${th[3]} ${u}`];
  }

  function renderMatrix(view) {
    let th = loadThresholds();
    let last = null;
    const updated = h('span', { class: 'muted small', id: 'matrix-updated' });
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const gridWrap = h('div', { class: 'table-wrap matrix-wrap', role: 'tabpanel', id: 'matrix-panel' });
    const legend = h('ul', { class: 'mx-legend', id: 'matrix-legend', 'aria-label': 'Legend' });
    const about = h('p', { class: 'muted small', id: 'matrix-about' });
    const tabBtns = TABS.map((k) => h('button', { type: 'button', role: 'tab', id: `mx-tab-${k}`, 'data-tab': k, 'aria-controls': 'matrix-panel',
      text: METRICS[k].label, onclick: () => { tab = k; paintAll(); }, onkeydown: onTabKey }));
    const tabList = h('div', { class: 'mx-tabs', role: 'tablist', 'aria-label': 'Measure' }, tabBtns);

    // the thresholds form (for RTT, loss and PMTU)
    const thInputs = [0, 1, 2, 3].map((i) => h('input', { type: 'number', min: '0', step: 'any', id: `mx-th-${i}`, required: true }));
    const thErr = h('p', { class: 'error', role: 'alert', hidden: true, id: 'mx-th-error' });
    const thNote = h('p', { class: 'muted small', id: 'mx-th-note' });
    const thLabels = [0, 1, 2, 3].map(() => h('span'));
    const thForm = h('form', { id: 'mx-th-form', novalidate: true, onsubmit: onSaveThresholds },
      thInputs.map((inp, i) => h('label', { for: inp.id }, thLabels[i], inp)),
      h('button', { type: 'submit', class: 'primary small-btn', id: 'mx-th-save', text: 'Save' }),
      h('button', { type: 'button', class: 'secondary small-btn', id: 'mx-th-reset', text: 'Defaults', onclick: onResetThresholds }),
      thErr);
    const thSummary = h('summary', { text: 'Colour thresholds' });
    const thBox = h('details', { class: 'mx-thresholds', id: 'mx-thresholds' }, thSummary, thForm, thNote);

    const originsBody = h('tbody');
    view.replaceChildren(
      h('div', { class: 'page-head' }, h('h1', { text: 'Matrix' }), updated),
      errBox,
      h('section', { class: 'card' },
        h('h2', { text: 'From \u00d7 to' }),
        h('p', { class: 'muted small', text: 'Each row is one node\u2019s view of the others: its own polls here, or the last snapshot it reported. Click a cell for that pair\u2019s history.' }),
        tabList, about, legend, gridWrap, thBox),
      h('section', { class: 'card' },
        h('h2', { text: 'Reporting origins' }),
        h('div', { class: 'table-wrap' }, h('table', { id: 'origins-table', class: 'table' },
          h('thead', null, h('tr', null, ['Origin', 'Last report', 'Sequence', 'Reports', 'Interval', 'Freshness'].map((t) => h('th', { text: t })))),
          originsBody))));

    function onTabKey(ev) {
      const i = TABS.indexOf(tab);
      let j = null;
      if (ev.key === 'ArrowRight') j = (i + 1) % TABS.length;
      else if (ev.key === 'ArrowLeft') j = (i + TABS.length - 1) % TABS.length;
      else if (ev.key === 'Home') j = 0;
      else if (ev.key === 'End') j = TABS.length - 1;
      if (j === null) return;
      ev.preventDefault();
      tab = TABS[j];
      paintAll();
      tabBtns[j].focus();
    }

    function onSaveThresholds(ev) {
      ev.preventDefault();
      const vals = thInputs.map((i) => i.value.trim());
      if (!validThresholds(tab, vals)) {
        setMessage(thErr, `Four numbers of at least 0, each ${METRICS[tab].dir === 'up' ? 'larger' : 'smaller'} than the one before.`);
        return;
      }
      th[tab] = vals.map(Number);
      try {
        const saved = JSON.parse(localStorage.getItem(STORE_KEY) || '{}') || {};
        saved[tab] = th[tab];
        localStorage.setItem(STORE_KEY, JSON.stringify(saved));
        setMessage(thErr, '');
      } catch (e) {
        setMessage(thErr, 'This browser does not keep them (no localStorage): they last until the page is left.');
      }
      paintAll();
    }

    function onResetThresholds() {
      th[tab] = METRICS[tab].defaults.slice();
      try {
        const saved = JSON.parse(localStorage.getItem(STORE_KEY) || '{}') || {};
        delete saved[tab];
        localStorage.setItem(STORE_KEY, JSON.stringify(saved));
      } catch (e) { /* nothing kept: nothing to forget */ }
      setMessage(thErr, '');
      paintAll();
    }

    function swatch(cls, text, label) {
      return h('li', null, h('span', { class: 'mx-swatch ' + cls, text: text || '' }), label);
    }

    function paintLegend() {
      const m = METRICS[tab];
      const items = [h('li', { class: 'mx-legend-title', text: tab === 'state' ? 'State' : `${m.label} (${m.unit})` })];
      if (tab === 'state') {
        items.push(swatch('mx-c0', 'alive', 'answers'), swatch('mx-c2', 'suspect', 'missed polls'),
          swatch('mx-dead', 'dead', 'stopped answering'), swatch('mx-unknown', 'unknown', 'not measured, or verdict withheld'));
      } else {
        bandLabels(tab, th[tab]).forEach((b, i) => items.push(swatch('mx-c' + i, '', b)));
        items.push(swatch('mx-suspect-frame', '', 'suspect'), swatch('mx-dead', 'dead', 'dead'),
          swatch('mx-unknown', '?', 'unknown'));
      }
      items.push(swatch('mx-none', DASH, 'no data'), swatch('mx-diag', '', 'itself'));
      legend.replaceChildren(...items);
      about.textContent = tab === 'state' ? `Colour: ${m.what}.` : `Colour and number: ${m.what}, in ${m.unit}${m.dir === 'down' ? ' (smaller is worse)' : ''}.`;
    }

    function paintThresholds() {
      thBox.hidden = tab === 'state';
      if (tab === 'state') return;
      const m = METRICS[tab];
      thSummary.textContent = `Colour thresholds for ${m.label} (${m.unit})`;
      thInputs.forEach((inp, i) => {
        inp.value = String(th[tab][i]);
        thLabels[i].textContent = `${m.dir === 'up' ? 'above' : 'below'} \u2192 ${['yellow', 'orange', 'red', 'dark red'][i]}`;
      });
      const custom = th[tab].some((v, i) => v !== m.defaults[i]);
      thNote.textContent = `Kept in this browser (localStorage), not on the node. Defaults: ${m.defaults.join(', ')} ${m.unit}` +
        (custom ? `; now ${th[tab].join(', ')} ${m.unit}.` : '.');
    }

    function paintTabs() {
      for (const b of tabBtns) {
        const on = b.dataset.tab === tab;
        b.setAttribute('aria-selected', on ? 'true' : 'false');
        b.tabIndex = on ? 0 : -1;
      }
      gridWrap.setAttribute('aria-labelledby', `mx-tab-${tab}`);
      gridWrap.dataset.tab = tab;
    }

    function paintAll() {
      paintTabs();
      paintLegend();
      paintThresholds();
      if (last) paintGrid(last);
    }

    // class and text of one cell in the current tab
    function cellLook(c) {
      if (!c) return { cls: 'mx-none', text: DASH, what: 'no data' };
      if (c.state === 'dead') return { cls: 'mx-dead', text: 'dead', what: 'dead' };
      if (tab === 'state') {
        if (c.state === 'alive') return { cls: 'mx-c0', text: 'alive', what: 'alive' };
        if (c.state === 'suspect') return { cls: 'mx-c2', text: 'suspect', what: 'suspect' };
        return { cls: 'mx-unknown', text: 'unknown', what: 'unknown' };
      }
      if (c.state !== 'alive' && c.state !== 'suspect') return { cls: 'mx-unknown', text: '?', what: 'unknown' };
      const m = METRICS[tab];
      const v = m.value(c);
      const sus = c.state === 'suspect' ? ' mx-suspect' : '';
      if (v === null) return { cls: 'mx-none' + sus, text: DASH, what: `${c.state}, ${m.label} not measured` };
      const k = classOf(tab, v, th[tab]);
      return { cls: `mx-c${k}${sus}`, text: m.cell(v), what: `${c.state}, ${m.label} ${m.cell(v)} ${m.unit}`, k };
    }

    function paintGrid(d) {
      const byId = new Map(d.nodes.map((n) => [n.id, n]));
      const name = (id) => (byId.get(id) && byId.get(id).fqdn) || id.slice(0, 8);
      const cols = d.nodes.slice().sort((a, b) => natCmp(a.fqdn, b.fqdn));
      const rowIds = d.origins.map((o) => o.id).sort((a, b) => natCmp(name(a), name(b)));
      const cells = new Map(d.cells.map((c) => [c.from + ' ' + c.to, c]));
      const head = h('tr', null, h('th', { class: 'mx-corner', scope: 'col', text: 'from \\ to' }),
        cols.map((c) => h('th', { class: 'mx-col', scope: 'col', title: c.fqdn + (c.ip ? ' (' + c.ip + ')' : '') }, h('span', { text: c.fqdn }))));
      const rows = rowIds.map((from) => h('tr', null,
        h('th', { class: 'mx-row', scope: 'row', title: name(from), text: name(from) }),
        cols.map((col) => {
          if (col.id === from) return h('td', { class: 'mx-cell mx-diag', 'aria-label': `${name(from)}: itself` });
          const c = cells.get(from + ' ' + col.id);
          const look = cellLook(c);
          const tip = c ? `${name(from)} \u2192 ${col.fqdn}: ${c.state}, RTT ${fmtMs(c.rtt_ms)}, loss ${isNum(c.loss) ? (c.loss * 100).toFixed(1) + ' %' : DASH}, PMTU ${isNum(c.pmtu) ? c.pmtu + ' bytes' : DASH}, data ${isNum(c.age_s) ? fmtDuration(c.age_s) + ' old' : DASH}` : `${name(from)} \u2192 ${col.fqdn}: no data`;
          return h('td', { class: 'mx-cell ' + look.cls, title: tip, 'data-state': c ? c.state : '', 'data-class': look.k === undefined ? null : String(look.k) },
            c ? h('a', { href: `#/matrix/${from}/${col.id}`, 'aria-label': tip, text: look.text }) : h('span', { class: 'mx-val', 'aria-label': tip, text: look.text }));
        })));
      gridWrap.replaceChildren(h('table', { id: 'matrix', class: 'matrix' }, h('thead', null, head), h('tbody', null, rows)));
    }

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
      last = d;
      paintGrid(d);
      originsBody.replaceChildren(...d.origins.slice().sort((a, b) => natCmp(a.fqdn, b.fqdn)).map((o) => h('tr', { 'data-origin': o.id },
        h('td', null, o.fqdn, o.self ? h('span', { class: 'muted small', text: ' this node (own polls)' }) : null),
        h('td', { text: o.self ? 'live' : fmtAgo(o.last_report) }),
        h('td', { text: o.seq === null || o.seq === undefined ? DASH : String(o.seq) }),
        h('td', { text: o.self ? DASH : fmtNumber(o.reports) }),
        h('td', { text: o.self ? DASH : o.interval_s + ' s' }),
        h('td', null, o.stale ? h('span', { class: 'badge state state-dead', text: 'stale' }) : h('span', { class: 'badge state state-alive', text: 'fresh' })))));
      // the server answers a page of origins (bounded in rows, bytes and time)
      const more = d.next_offset != null ? ` (the first ${d.origins.length} of ${d.total_origins} origins)` : '';
      updated.textContent = `${plural(d.origins.length, 'row', 'rows')}${more} × ${plural(d.nodes.length, 'node', 'nodes')} · updated ${fmtClock(new Date())} · refreshes every 5 s`;
    }
    paintAll();
    load();
    timer = setInterval(load, 5000);
    return () => { alive = false; clearInterval(timer); };
  }

  window.meshwatch.registerPage({ path: '/matrix', label: 'Matrix', render: renderMatrix });
})();
