/* meshwatch dashboard: the traffic page. Loaded after app.js; registers its
   route with window.meshwatch.registerPage and draws with the helpers in
   window.meshwatch.ui (same rules as app.js: no innerHTML, no inline
   style or script).
     #/traffic   capture state; bits/s and packets/s (web/chart.js): the
                 last 5 minutes live (WebSocket "rates", or /api/counters
                 polling while the socket is down), or a longer or custom
                 range from /api/counters; protocol breakdown; top talkers ("top_talkers");
                 the flow table with filters, sorting and paging. When
                 capture is off or failed, why and how to turn it on. */
'use strict';

(function () {
  const { h, api, setMessage, fmtBytes, fmtBitRate, fmtPktRate, fmtNumber, fmtTime, isNum, DASH, serverNow } = window.meshwatch.ui;
  const { live, chart } = window.meshwatch;
  const WINDOW_S = 300;          // seconds on the live charts
  const HISTORY_REFRESH_MS = 10000;
  const FLOWS_PAGE = 50;
  const FLOWS_REFRESH_MS = 5000;
  const STATS_REFRESH_MS = 5000;
  const POLL_MS = 2000;          // /api/counters while the socket is down
  const PROTOS = ['tcp', 'udp', 'icmp', 'icmpv6', 'other'];

  // the shared unit style (app.js): bit/s with SI prefixes, pkt/s
  function fmtRate(v, unit) {
    return /^b/.test(unit) ? fmtBitRate(v) : fmtPktRate(v);
  }

  function stateBadge(st) {
    const cls = st === 'running' || st === 'finished' ? 'badge-ok' : st === 'failed' ? 'badge-bad' : 'badge-unknown';
    return h('span', { class: 'badge ' + cls, id: 'capture-state', 'data-state': st, text: st });
  }

  function renderTraffic(view) {
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const head = h('span', { class: 'muted small', id: 'capture-source' });
    const badgeBox = h('span');
    const offCard = h('section', { class: 'card traffic-off', id: 'capture-off', hidden: true });
    const liveNote = h('span', { class: 'muted small', id: 'rates-source' });
    // the capture file's last second is "now" for a node that read one
    const anchor = () => (stats && stats.mode === 'offline' && stats.last_packet
      ? Math.floor(Date.parse(stats.last_packet) / 1000) + 1 : Math.floor(serverNow() / 1000));
    const group = chart.group({ id: 'traffic', ranges: ['5m', '1h', '6h', '24h', '7d'], initial: '5m', live: true,
      now: anchor, onRange: () => onRange() });
    const cBps = group.chart({ id: 'chart-bps', title: 'Throughput', timeKey: 'time', height: 180,
      yFmt: (v) => fmtRate(v, 'b/s'), empty: 'No traffic counted in this range.',
      series: [{ key: 'bps', label: 'throughput', unit: 'bit/s', color: '--chart-1', width: 2, fmt: (v) => fmtRate(v, 'bit/s') }] });
    const cPps = group.chart({ id: 'chart-pps', title: 'Packets', timeKey: 'time', height: 160,
      yFmt: (v) => fmtRate(v, 'p/s'), empty: 'No traffic counted in this range.',
      series: [{ key: 'pps', label: 'packets', unit: 'pkt/s', color: '--chart-2', width: 2, fmt: (v) => fmtRate(v, 'pkt/s') }] });
    const rangeInfo = h('p', { class: 'muted small', id: 'traffic-range-info' });
    const nowLine = h('p', { class: 'traffic-now', id: 'rates-now' });
    const protoList = h('div', { class: 'proto-list', id: 'proto-breakdown' });
    const talkersBody = h('tbody');
    const statsBody = h('tbody');

    // flow filters
    const fProto = h('select', { id: 'flow-proto', 'aria-label': 'Protocol' },
      h('option', { value: '', text: 'any protocol' }), ['tcp', 'udp', 'icmp', 'icmpv6'].map((p) => h('option', { value: p, text: p })));
    const fIp = h('input', { id: 'flow-ip', placeholder: '10.0.0.0/24 or fd00::/64', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Address or CIDR' });
    const fPort = h('input', { id: 'flow-port', type: 'number', min: '1', max: '65535', placeholder: 'port', 'aria-label': 'Port' });
    const fSort = h('select', { id: 'flow-sort', 'aria-label': 'Sort by' },
      [['bytes', 'bytes'], ['packets', 'packets'], ['last_seen', 'last seen'], ['first_seen', 'first seen']].map(([v, t]) => h('option', { value: v, text: t })));
    const fDir = h('select', { id: 'flow-dir', 'aria-label': 'Order' }, h('option', { value: 'desc', text: 'descending' }), h('option', { value: 'asc', text: 'ascending' }));
    const flowErr = h('p', { class: 'error', id: 'flow-error', role: 'alert', hidden: true });
    const flowsBody = h('tbody');
    const flowRange = h('span', { class: 'muted', id: 'flow-range' });
    const prev = h('button', { type: 'button', class: 'secondary', text: '← Previous', onclick: () => goFlows(flowPage.offset - FLOWS_PAGE) });
    const next = h('button', { type: 'button', class: 'secondary', text: 'Next →', onclick: () => goFlows(flowPage.offset + FLOWS_PAGE) });
    const form = h('form', { class: 'inline-form', id: 'flow-filters', novalidate: true, onsubmit: (e) => { e.preventDefault(); goFlows(0); } },
      h('div', { class: 'field field-narrow' }, h('label', { for: 'flow-proto', text: 'Protocol' }), fProto),
      h('div', { class: 'field' }, h('label', { for: 'flow-ip', text: 'Address or CIDR' }), fIp),
      h('div', { class: 'field field-narrow' }, h('label', { for: 'flow-port', text: 'Port' }), fPort),
      h('div', { class: 'field field-narrow' }, h('label', { for: 'flow-sort', text: 'Sort by' }), fSort),
      h('div', { class: 'field field-narrow' }, h('label', { for: 'flow-dir', text: 'Order' }), fDir),
      h('div', { class: 'field field-button' }, h('button', { type: 'submit', class: 'primary', text: 'Apply' })));

    const liveParts = [
      h('section', { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', { text: 'Throughput' }), liveNote),
        nowLine, group.el, rangeInfo, cBps.el, cPps.el),
      h('div', { class: 'traffic-grid' },
        h('section', { class: 'card' }, h('h2', { text: 'Protocols (last second)' }), protoList),
        h('section', { class: 'card' }, h('h2', { text: 'Top talkers (last second)' }),
          h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'talkers-table' },
            h('thead', null, h('tr', null, ['Address', 'Bytes', 'Rate', 'Packets'].map((t, i) => h('th', { class: i ? 'num' : null, text: t })))),
            talkersBody)))),
      h('section', { class: 'card' },
        h('h2', { text: 'Flows' }), form, flowErr,
        h('div', { class: 'table-wrap' }, h('table', { class: 'table flows', id: 'flows-table' },
          h('thead', null, h('tr', null, ['A', 'B', 'Proto', 'VLAN', 'Packets', 'Bytes', 'A→B', 'B→A', 'TCP flags', 'First seen', 'Last seen']
            .map((t, i) => h('th', { class: i >= 3 && i <= 7 ? 'num' : null, text: t })))),
          flowsBody)),
        h('div', { class: 'pager' }, prev, flowRange, next)),
      h('section', { class: 'card' }, h('h2', { text: 'Capture' }),
        h('table', { class: 'table capture-stats', id: 'capture-stats' }, statsBody)),
    ];
    view.replaceChildren(
      h('div', { class: 'page-head' }, h('h1', { text: 'Traffic' }), badgeBox, head),
      errBox, offCard, ...liveParts);

    let alive = true, stats = null;
    const series = new Map(); // epoch second -> counters item

    /* capture state */
    function paintOff(st) {
      const why = st.state === 'failed'
        ? [h('p', null, 'Capture could not start: ', h('strong', { text: st.error || 'unknown error' })),
          h('p', { class: 'muted', text: 'The rest of the node runs normally.' })]
        : [h('p', { text: 'Traffic capture is off on this node.' })];
      offCard.replaceChildren(h('h2', { text: st.state === 'failed' ? 'Capture failed' : 'Capture is off' }), ...why,
        h('p', { text: 'To capture live traffic, start the node with an interface (or "any" for all of them):' }),
        h('pre', { class: 'code', text: 'meshwatch --iface eth0            # or --iface any\nmeshwatch --pcap capture.pcap     # or read a capture file' }),
        h('p', { text: 'Live capture needs root, or the capabilities given once to the binary:' }),
        h('pre', { class: 'code', text: 'sudo setcap cap_net_raw,cap_net_admin+eip build/meshwatch' }));
    }

    function kvRow(k, v) { return h('tr', null, h('th', { scope: 'row', text: k }), h('td', { text: v })); }

    function paintStats(st) {
      badgeBox.replaceChildren(stateBadge(st.state));
      head.textContent = st.mode === 'offline' ? `file ${st.file}` : st.interface ? `interface ${st.interface}` : '';
      const on = st.state !== 'off' && st.state !== 'failed';
      offCard.hidden = on;
      for (const p of liveParts) p.hidden = !on;
      if (!on) { paintOff(st); return; }
      const errs = st.decode_errors || {};
      const rows = [
        ['Mode', st.mode + (st.mode === 'offline' && st.processing ? ` (read at ${fmtPktRate(st.processing.packets_per_s)})` : '')],
        ['Filter', st.bpf || '(none)'], ['Link type', st.linktype], ['Snap length', fmtBytes(st.snaplen)],
        ['Buffer', fmtBytes(st.buffer_bytes)], ['Frames', fmtNumber(st.packets_received)], ['Bytes', fmtBytes(st.bytes_received)],
        ['Kernel drops', fmtNumber(st.kernel_drops)], ['Interface drops', fmtNumber(st.interface_drops)],
        ['Flows', `${fmtNumber(st.flows)} of at most ${fmtNumber(st.max_flows)}`],
        ['Flows evicted at the cap', fmtNumber(st.evictions)], ['Flows expired (idle)', fmtNumber(st.flows_expired)],
        ['Not IP', fmtNumber(st.not_ip)],
        ['Decode errors', `${fmtNumber(st.decode_errors_total)}` + (st.decode_errors_total ? ' (' + Object.entries(errs).filter(([, n]) => n).map(([k, n]) => `${k.replace(/_/g, ' ')} ${n}`).join(', ') + ')' : '')],
        ['Packets seen', st.first_packet ? `${fmtTime(st.first_packet)} … ${fmtTime(st.last_packet)}` : DASH],
      ];
      statsBody.replaceChildren(...rows.map(([k, v]) => kvRow(k, v)));
    }

    async function loadStats() {
      try {
        stats = await api('GET', '/api/stats');
        setMessage(errBox, '');
        paintStats(stats);
      } catch (e) {
        if (alive) setMessage(errBox, e.detail || String(e));
      }
    }

    /* rates: charts and protocols */
    function addItem(it) {
      const t = Date.parse(it.time);
      if (!Number.isFinite(t)) return;
      series.set(t / 1000, it);
      const newest = Math.max(...series.keys());
      for (const k of series.keys()) if (k <= newest - WINDOW_S) series.delete(k);
    }

    // Buckets of /api/counters without data are null (a gap), not 0: the
    // seconds before the capture's first one (and after its last), unless
    // the per-minute history covers them.
    function withGaps(d) {
      const sf = Date.parse(d.seconds_from) / 1000, st = Date.parse(d.seconds_to) / 1000;
      const step = Number(d.step) || 1;
      return (d.items || []).map((it) => {
        const t = Date.parse(it.time) / 1000;
        const has = it.source === 'minutes' || (Number.isFinite(sf) && t + step > sf && t <= st);
        return has ? it : Object.assign({}, it, { bps: null, pps: null });
      });
    }

    function paintRates() {
      const items = [...series.values()];
      if (!items.length) return;
      const newest = Math.max(...items.map((it) => Date.parse(it.time))) / 1000 + 1;
      if (group.activeKey() === '5m') {
        group.setData(items, { from: newest - WINDOW_S, to: newest, stepS: 1 });
        rangeInfo.textContent = `The last ${WINDOW_S / 60} minutes, a point a second${stats && stats.mode === 'offline' ? ' (of the capture file)' : ''}.`;
      }
      const last = items.reduce((a, b) => (Date.parse(a.time) > Date.parse(b.time) ? a : b));
      nowLine.textContent = `${fmtTime(last.time)}: ${fmtRate(last.bps, 'bit/s')}, ${fmtRate(last.pps, 'packets/s')}` +
        (last.drops ? `, ${fmtNumber(last.drops)} dropped` : '');
      const bp = last.by_proto || {};
      const total = PROTOS.reduce((a, p) => a + (Number(bp[p]) || 0), 0);
      protoList.replaceChildren(...PROTOS.map((p) => h('div', { class: 'proto-row', 'data-proto': p },
        h('span', { class: 'proto-name', text: p }),
        h('progress', { max: String(total || 1), value: String(Number(bp[p]) || 0), 'aria-label': p }),
        h('span', { class: 'proto-val', text: `${fmtBytes(bp[p] || 0)} (${total ? Math.round((100 * (bp[p] || 0)) / total) : 0} %)` }))));
    }

    // A longer or custom range: /api/counters picks the step.
    let histTimer = null, histSeq = 0;
    async function loadRange() {
      clearTimeout(histTimer);
      const my = ++histSeq;
      const r = group.range();
      try {
        const d = await api('GET', `/api/counters?from=${r.from}&to=${r.to}`);
        if (!alive || my !== histSeq || group.activeKey() === '5m') return;
        group.setData(withGaps(d), { from: Date.parse(d.from) / 1000, to: r.to, stepS: Number(d.step) || 1 });
        rangeInfo.textContent = `${fmtTime(d.from)} – ${fmtTime(d.to)}, a point every ${chart.fmtSpan(Number(d.step) || 1)}` +
          (stats && stats.mode === 'offline' ? ' (the capture file\u2019s time)' : '') + '.';
      } catch (e) {
        if (alive && my === histSeq) setMessage(errBox, e.detail || String(e));
      }
      if (alive && my === histSeq && r.key !== 'custom') histTimer = setTimeout(loadRange, HISTORY_REFRESH_MS);
    }

    function onRange() {
      clearTimeout(histTimer);
      histSeq++;
      if (group.activeKey() === '5m') paintRates();
      else loadRange();
    }

    let pollTimer = null;
    async function pollCounters() {
      clearTimeout(pollTimer);
      if (!alive) return;
      try {
        const d = await api('GET', '/api/counters?step=1');
        for (const it of withGaps(d)) if (it.bps !== null) addItem(it);
        paintRates();
      } catch (e) { /* the stats call reports errors */ }
      if (alive && !wsUp) pollTimer = setTimeout(pollCounters, POLL_MS);
    }

    let wsUp = false;
    const stopRates = live.subscribe('rates', (frame, closed) => {
      if (closed) {
        if (wsUp || !pollTimer) { wsUp = false; liveNote.textContent = 'live feed down: polling /api/counters'; pollCounters(); }
        return;
      }
      if (!wsUp) { wsUp = true; clearTimeout(pollTimer); pollTimer = null; liveNote.textContent = 'live (WebSocket)'; }
      addItem(frame);
      paintRates();
    });
    const stopTalkers = live.subscribe('top_talkers', (frame) => {
      if (!frame) return;
      const rows = frame.rows || [];
      talkersBody.replaceChildren(...(rows.length ? rows.map((r) => h('tr', null,
        h('td', null, h('a', { href: '#/traffic', text: r.ip, onclick: (e) => { e.preventDefault(); fIp.value = r.ip; goFlows(0); } })),
        h('td', { class: 'num', text: fmtBytes(r.bytes) }), h('td', { class: 'num', text: fmtRate(r.bps, 'b/s') }),
        h('td', { class: 'num', text: fmtNumber(r.packets) })))
        : [h('tr', null, h('td', { class: 'empty', colspan: '4', text: 'No traffic in the last second.' }))]));
    });

    /* flows */
    const flowPage = { offset: 0, total: 0, seq: 0 };
    let flowTimer = null;
    async function goFlows(offset) {
      clearTimeout(flowTimer);
      flowPage.offset = Math.max(0, offset);
      const q = new URLSearchParams({ limit: String(FLOWS_PAGE), offset: String(flowPage.offset), sort: fSort.value, dir: fDir.value });
      if (fProto.value) q.set('proto', fProto.value);
      if (fIp.value.trim()) q.set('ip', fIp.value.trim());
      if (fPort.value.trim()) q.set('port', fPort.value.trim());
      const seq = ++flowPage.seq;
      try {
        const d = await api('GET', '/api/flows?' + q);
        if (!alive || seq !== flowPage.seq) return;
        setMessage(flowErr, '');
        flowPage.total = d.total;
        flowsBody.replaceChildren(...(d.items.length ? d.items.map((f) => h('tr', null,
          h('td', { class: 'mono', text: f.a }), h('td', { class: 'mono', text: f.b }), h('td', { text: f.proto }),
          h('td', { class: 'num', text: f.vlan || DASH }), h('td', { class: 'num', text: fmtNumber(f.packets) }),
          h('td', { class: 'num', text: fmtBytes(f.bytes) }), h('td', { class: 'num', text: fmtBytes(f.a_to_b_bytes) }),
          h('td', { class: 'num', text: fmtBytes(f.b_to_a_bytes) }), h('td', { class: 'mono', text: f.tcp_flags_text || DASH }),
          h('td', { text: fmtTime(f.first_seen) }), h('td', { text: fmtTime(f.last_seen) })))
          : [h('tr', null, h('td', { class: 'empty', colspan: '11', text: 'No flows match.' }))]));
        flowRange.textContent = d.total ? `${flowPage.offset + 1}–${flowPage.offset + d.items.length} of ${fmtNumber(d.total)}` : '0 flows';
        prev.disabled = flowPage.offset === 0;
        next.disabled = flowPage.offset + d.items.length >= d.total;
      } catch (e) {
        if (alive && seq === flowPage.seq) setMessage(flowErr, e.detail || String(e));
      }
      if (alive) flowTimer = setTimeout(() => goFlows(flowPage.offset), FLOWS_REFRESH_MS);
    }

    loadStats().then(() => { if (alive && stats && stats.state !== 'off' && stats.state !== 'failed') { pollCounters(); goFlows(0); } });
    const statsTimer = setInterval(loadStats, STATS_REFRESH_MS);
    return () => {
      alive = false;
      stopRates();
      stopTalkers();
      clearTimeout(pollTimer);
      clearTimeout(flowTimer);
      clearTimeout(histTimer);
      clearInterval(statsTimer);
      group.destroy();
    };
  }

  window.meshwatch.registerPage({ path: '/traffic', label: 'Traffic', render: renderTraffic });
})();
