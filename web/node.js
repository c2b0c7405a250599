/* meshwatch dashboard: the node page (one peer). Loaded after app.js;
   registers its route with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).
     #/nodes/:id  a peer: identity, polling and UDP figures (from the mesh
                  feed), its last events, history charts with a range
                  selector, its path MTU and their changes, and "Forget
                  this peer" */
'use strict';

(function () {
  const { h, api, setMessage, timeChart, fmtDuration, fmtTime, fmtNumber, plural, fmtMs, fmtPct,
    fmtAgo, fmtVal, serverNow, isNum, get, DASH, stateBadge, excuseText, backLink } = window.meshwatch.ui;
  const { session, meshFeed } = window.meshwatch;

  const RANGES = [
    { key: '1h', label: '1 h', s: 3600, step: 60 },
    { key: '6h', label: '6 h', s: 6 * 3600, step: 120 },
    { key: '24h', label: '24 h', s: 86400, step: 300 },
  ];
  // The range the user picked (kept across visits); until then the shortest
  // range that holds the peer's whole history (24 h for peers known longer).
  let nodeRange = null;

  function renderNode(view, params) {
    const id = params.id;
    const mode = meshFeed.modeIndicator();
    const title = h('h1', { id: 'peer-title', text: 'Peer' });
    const badgeSlot = h('span', { id: 'peer-state' });
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const fields = [];
    function kv(label, key, fn, opts) {
      const dd = h('dd', { 'data-field': key, class: opts && opts.mono ? 'mono' : null, text: DASH });
      fields.push([dd, fn]);
      return [h('dt', { text: label }), dd];
    }
    const card = (t, cid, ...rows) => h('section', { class: 'card', id: cid }, h('h2', { text: t }), h('dl', { class: 'kv' }, rows));
    const okOf = (p) => { const lo = get(p, 'poll.last_ok'); return lo === null ? DASH : lo ? { text: 'ok', cls: 'good' } : { text: 'failed', cls: 'bad' }; };

    const cards = h('div', { class: 'grid' },
      card('Identity', 'peer-identity',
        kv('Node ID', 'id', (p) => p.id, { mono: true }),
        kv('FQDN', 'fqdn', (p) => p.fqdn),
        kv('Address', 'addr', (p) => `${p.ip}:${p.port}`, { mono: true }),
        kv('State', 'state', (p) => {
          const why = excuseText(p);
          if (p.state === 'unknown') return { text: `unknown — ${why || 'verdict withheld'}`, title: p.excused_since ? `excused since ${fmtTime(p.excused_since)}` : null, cls: 'warn' };
          return { text: (p.state_since ? `${p.state} for ${fmtDuration((serverNow() - Date.parse(p.state_since)) / 1000)}` : p.state) + (why ? ` — ${why}` : ''), title: p.state_since ? `since ${fmtTime(p.state_since)}` : null, cls: p.state === 'alive' ? 'good' : p.state === 'suspect' ? 'warn' : 'bad' };
        }),
        kv('Source', 'source', (p) => p.source),
        kv('Incarnation', 'incarnation', (p) => fmtNumber(p.incarnation)),
        // the key this node trusts for it: pinned on first contact, cleared by Forget
        kv('Key pin', 'pin', (p) => p.pin ? { text: p.pin, title: p.pinned_at ? `pinned ${fmtTime(p.pinned_at)}` : null } : 'not pinned yet (no direct contact)', { mono: true }),
        kv('First seen', 'first_seen', (p) => fmtTime(p.first_seen)),
        kv('Last seen', 'last_seen', (p) => p.last_seen ? { text: `${fmtAgo(p.last_seen)} (${fmtTime(p.last_seen)})` } : DASH)),
      card('Polling (HTTPS)', 'peer-poll',
        kv('Success 1 h', 'poll.success_rate_1h', (p) => `${fmtPct(get(p, 'poll.success_rate_1h'))} of ${fmtNumber(get(p, 'poll.polls_1h'))} polls`),
        kv('Success 24 h', 'poll.success_rate_24h', (p) => `${fmtPct(get(p, 'poll.success_rate_24h'))} of ${fmtNumber(get(p, 'poll.polls_24h'))} polls`),
        kv('Last poll', 'poll.last_poll', (p) => get(p, 'poll.last_poll') ? { text: fmtAgo(p.poll.last_poll), title: fmtTime(p.poll.last_poll) } : DASH),
        kv('Last result', 'poll.last_ok', okOf),
        kv('Times', 'poll.times', (p) => `connect ${fmtMs(get(p, 'poll.connect_ms'))} · TLS ${fmtMs(get(p, 'poll.tls_ms'))} · first byte ${fmtMs(get(p, 'poll.ttfb_ms'))}`),
        kv('Total', 'poll.total_ms', (p) => fmtMs(get(p, 'poll.total_ms'))),
        kv('Failures in a row', 'poll.consecutive_failures', (p) => { const n = get(p, 'poll.consecutive_failures'); return isNum(n) ? { text: String(n), cls: n > 0 ? 'warn' : null } : DASH; }),
        kv('Last error', 'poll.last_error', (p) => get(p, 'poll.last_error') ? { text: p.poll.last_error, cls: 'bad' } : DASH),
        // indirect probes: asked when our polls failed
        kv('Other vantage points', 'vantage', (p) => {
          const v = p.vantage;
          if (!v || !isNum(v.asked)) return 'not asked (our polls have not failed)';
          const txt = `${v.reached} of ${v.asked} other ${v.asked === 1 ? 'node reaches' : 'nodes reach'} it (asked ${fmtAgo(v.checked_at)})`;
          return v.reached > 0 && p.state !== 'alive' ? { text: txt + ': the trouble is between here and it', cls: 'warn' } : txt;
        })),
      card('UDP probes', 'peer-udp',
        kv('RTT min / avg / max', 'udp.rtt', (p) => `${fmtMs(get(p, 'udp.rtt_min_ms'))} / ${fmtMs(get(p, 'udp.rtt_avg_ms'))} / ${fmtMs(get(p, 'udp.rtt_max_ms'))}`),
        kv('Jitter', 'udp.jitter_ms', (p) => fmtMs(get(p, 'udp.jitter_ms'))),
        kv('Loss', 'udp.loss', (p) => { const l = get(p, 'udp.loss'); return isNum(l) ? { text: fmtPct(l), cls: l > 0 ? 'warn' : null } : DASH; }),
        kv('Probes', 'udp.probes', (p) => fmtNumber(get(p, 'udp.probes')))));

    // charts
    const rangeBtns = RANGES.map((r) => h('button', { type: 'button', class: 'secondary small-btn range-btn', 'data-range': r.key, text: r.label,
      onclick: () => { nodeRange = r.key; paintRange(); loadHistory(); } }));
    let autoRange = '24h';
    const chartErr = h('p', { class: 'error', role: 'alert', hidden: true });
    const rtChart = h('div', { class: 'chart-box', id: 'chart-rt' });
    const okChart = h('div', { class: 'chart-box', id: 'chart-ok' });
    const rtLegend = h('ul', { class: 'legend chart-legend' },
      h('li', null, h('span', { class: 'swatch sw-total' }), 'total'),
      h('li', null, h('span', { class: 'swatch sw-connect' }), 'connect'),
      h('li', null, h('span', { class: 'swatch sw-tls' }), 'TLS handshake'),
      h('li', null, h('span', { class: 'swatch sw-ttfb' }), 'first byte'));
    const histInfo = h('span', { class: 'muted small', id: 'history-info' });
    const chartsCard = h('section', { class: 'card', id: 'peer-charts' },
      h('div', { class: 'toolbar' }, h('h2', { text: 'History' }),
        h('div', { class: 'range', role: 'group', 'aria-label': 'Time range' }, rangeBtns)),
      chartErr,
      h('h3', { class: 'chart-title', text: 'Response time (HTTPS poll)' }), rtLegend, rtChart,
      h('h3', { class: 'chart-title', text: 'Success rate per bucket' }), okChart, histInfo);

    // PMTU
    const pmtuKv = h('dl', { class: 'kv' });
    const pmtuFields = [
      ['Current', 'pmtu.value', (c) => isNum(c.value) ? `${fmtNumber(c.value)} B` : DASH],
      ['Method', 'pmtu.method', (c) => fmtVal(c.method)],
      ['Probes', 'pmtu.probes', (c) => fmtNumber(c.probes)],
      ['Black hole', 'pmtu.black_hole', (c) => c.black_hole === true ? { text: 'yes — large packets are dropped silently', cls: 'bad' } : c.black_hole === false ? { text: 'no', cls: 'good' } : DASH],
      ['Measured at', 'pmtu.measured_at', (c) => fmtTime(c.measured_at)],
    ].map(([label, key, fn]) => {
      const dd = h('dd', { 'data-field': key, text: DASH });
      pmtuKv.append(h('dt', { text: label }), dd);
      return [dd, fn];
    });
    const pmtuBody = h('tbody');
    const pmtuCount = h('span', { class: 'muted small', id: 'pmtu-count' });
    const pmtuCard = h('section', { class: 'card', id: 'peer-pmtu' },
      h('h2', { text: 'Path MTU' }), pmtuKv,
      h('div', { class: 'toolbar sub-toolbar' }, h('h3', { text: 'Changes' }), pmtuCount),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'pmtu-table' },
        h('thead', null, h('tr', null, ['Measured at', 'PMTU', 'Method', 'Probes', 'Black hole'].map((t) => h('th', { scope: 'col', text: t })))),
        pmtuBody)));

    const forgetErr = h('p', { class: 'error', role: 'alert', hidden: true });
    const forgetBtn = h('button', { type: 'button', class: 'danger', id: 'forget-peer', text: 'Forget this peer', onclick: onForget });
    const dangerCard = h('section', { class: 'card danger-zone', id: 'peer-forget' },
      h('h2', { text: 'Forget this peer' }),
      h('p', { class: 'muted small', text: 'Removes the peer and its measurements from this node. If it is still alive, gossip will bring it back.' }),
      forgetBtn, forgetErr);

    // its last state changes (web/events.js)
    const recent = window.meshwatch.events.recentCard([{ type: 'peer', id }]);
    const body = h('div', { class: 'page-body', hidden: true }, cards, recent.el, chartsCard, h('div', { class: 'grid grid-2' }, pmtuCard, dangerCard));
    view.append(h('section', { class: 'page', id: 'node', 'data-peer-id': id },
      backLink('#/mesh', 'Mesh'),
      h('div', { class: 'page-head' }, title, badgeSlot, mode.el),
      errBox, body));

    let peer = null, gone = false, histTimer = null, pmtuAt,  histSeq = 0, lastFetch = 0;

    function paintPeer(p) {
      peer = p;
      body.hidden = false;
      title.textContent = p.fqdn || p.id;
      session.setPageTitle(p.fqdn || 'Node');
      badgeSlot.replaceChildren(stateBadge(p.state, excuseText(p)));
      for (const [el, fn] of fields) {
        let v;
        try { v = fn(p); } catch (e) { v = undefined; }
        if (v === undefined || v === null || v === '') v = DASH;
        if (typeof v === 'object') {
          el.textContent = v.text;
          if (v.title) el.title = v.title; else el.removeAttribute('title');
          el.classList.remove('good', 'warn', 'bad');
          if (v.cls) el.classList.add(v.cls);
        } else {
          el.textContent = v;
          el.removeAttribute('title');
          el.classList.remove('good', 'warn', 'bad');
        }
      }
      const at = get(p, 'pmtu.measured_at');
      if (at !== pmtuAt) { pmtuAt = at; loadPmtu(); }
    }

    function showGone(e) {
      gone = true;
      body.hidden = true;
      badgeSlot.replaceChildren();
      title.textContent = 'Unknown peer';
      setMessage(errBox, e.status === 404 ? `This node knows no peer with ID ${id} (it may have been forgotten).` : e.detail);
    }

    async function loadPeer() {
      lastFetch = Date.now();
      try {
        const p = await api('GET', '/api/nodes/' + encodeURIComponent(id));
        if (!alive) return;
        setMessage(errBox, '');
        gone = false;
        paintPeer(p);
      } catch (e) {
        if (e.handled || !alive) return;
        if (e.status === 404 || e.status === 400) showGone(e);
        else setMessage(errBox, `Could not refresh: ${e.detail}`);
      }
    }

    function paintRange() {
      for (const b of rangeBtns) b.setAttribute('aria-pressed', b.dataset.range === (nodeRange || autoRange) ? 'true' : 'false');
    }

    async function loadHistory() {
      clearTimeout(histTimer);
      const seq = ++histSeq;
      const r = RANGES.find((x) => x.key === (nodeRange || autoRange)) || RANGES[2];
      const to = Math.floor(serverNow() / 1000);
      const from = to - r.s;
      try {
        const d = await api('GET', `/api/nodes/${encodeURIComponent(id)}/history?from=${from}&to=${to}&step=${r.step}`);
        if (!alive || seq !== histSeq) return;
        setMessage(chartErr, '');
        lastHist = { d, r, from, to };
        drawHistory();
      } catch (e) {
        if (e.handled || !alive || seq !== histSeq) return;
        setMessage(chartErr, `Could not load the history: ${e.detail}`);
      }
      if (alive && seq === histSeq) histTimer = setTimeout(loadHistory, (nodeRange || autoRange) === '1h' ? 10000 : 30000);
    }

    let lastHist = null, drawnWidth = 0;
    function drawHistory() {
      if (!lastHist) return;
      const { d, r, from, to } = lastHist;
      {
        const width = chartsCard.querySelector('.chart-box').clientWidth || 820;
        drawnWidth = width;
        const fromMs = Date.parse(d.from) || from * 1000, toMs = Date.parse(d.to) || to * 1000;
        const step = d.step_s || r.step;
        const tip = (it) => `${fmtTime(it.t)}: ${fmtNumber(it.polls)} polls, ${fmtNumber(it.ok)} ok (${fmtPct(it.success_rate)})\n` +
          `total ${fmtMs(it.total_ms)} · connect ${fmtMs(it.connect_ms)} · TLS ${fmtMs(it.tls_ms)} · first byte ${fmtMs(it.ttfb_ms)}\n` +
          `RTT ${fmtMs(it.rtt_avg_ms)} · jitter ${fmtMs(it.jitter_ms)} · loss ${fmtPct(it.loss)}`;
        rtChart.replaceChildren(timeChart({ width, from: fromMs, to: toMs, stepS: step, items: d.items, tip, label: 'Response time',
          yFmt: (v) => (v === 0 ? '0' : v < 1 ? `${+v.toFixed(2)} ms` : `${+v.toFixed(1)} ms`),
          series: [{ key: 'connect_ms', cls: 'ln-connect' }, { key: 'tls_ms', cls: 'ln-tls' }, { key: 'ttfb_ms', cls: 'ln-ttfb' }, { key: 'total_ms', cls: 'ln-total' }] }));
        okChart.replaceChildren(timeChart({ width, from: fromMs, to: toMs, stepS: step, items: d.items, tip, label: 'Success rate', height: 150, yMax: 1, cls: 'chart-ok',
          yFmt: (v) => `${Math.round(v * 100)} %`,
          bars: { key: 'success_rate', cls: (v) => (v >= 0.999 ? 'bar-ok' : v >= 0.9 ? 'bar-warn' : 'bar-bad') } }));
        const polls = d.items.reduce((a, it) => a + (Number(it.polls) || 0), 0);
        histInfo.textContent = `${plural(d.items.length, 'bucket', 'buckets')} of ${step % 3600 === 0 ? step / 3600 + ' h' : step % 60 === 0 ? step / 60 + ' min' : step + ' s'} · ${plural(polls, 'poll', 'polls')} · ${fmtTime(d.from)} – ${fmtTime(d.to)}`;
      }
    }
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => {
      const w = rtChart.clientWidth;
      if (lastHist && w && Math.abs(w - drawnWidth) > 24) drawHistory();
    }) : null;
    if (ro) ro.observe(rtChart);

    async function loadPmtu() {
      try {
        const d = await api('GET', `/api/nodes/${encodeURIComponent(id)}/pmtu`);
        if (!alive) return;
        const c = d.current || {};
        for (const [dd, fn] of pmtuFields) {
          const v = fn(c);
          dd.classList.remove('good', 'bad');
          if (v && typeof v === 'object') { dd.textContent = v.text; if (v.cls) dd.classList.add(v.cls); } else dd.textContent = v;
        }
        const list = d.items || [];
        pmtuBody.replaceChildren(...(list.length ? list.map((it) => h('tr', null,
          h('td', { 'data-label': 'Measured at', text: fmtTime(it.measured_at) }),
          h('td', { 'data-label': 'PMTU', class: 'mono', text: isNum(it.value) ? String(it.value) : DASH }),
          h('td', { 'data-label': 'Method', text: fmtVal(it.method) }),
          h('td', { 'data-label': 'Probes', text: fmtNumber(it.probes) }),
          h('td', { 'data-label': 'Black hole' }, it.black_hole ? h('span', { class: 'tag tag-bad', text: 'black hole' }) : it.black_hole === false ? 'no' : DASH)))
          : [h('tr', null, h('td', { colspan: '5', class: 'empty', text: 'Not measured yet.' }))]));
        pmtuCount.textContent = isNum(d.total) ? plural(d.total, 'change', 'changes') : '';
      } catch (e) {
        if (e.handled || !alive) return;
        pmtuCount.textContent = `Could not load: ${e.detail}`;
      }
    }

    async function onForget() {
      const name = peer ? peer.fqdn : id;
      if (!window.confirm(`Forget peer “${name}”? Its measurements on this node are deleted.`)) return;
      forgetBtn.disabled = true;
      setMessage(forgetErr, '');
      try {
        await api('DELETE', '/api/nodes/' + encodeURIComponent(id));
        location.hash = '#/mesh';
      } catch (e) {
        if (!e.handled) { setMessage(forgetErr, e.detail); forgetBtn.disabled = false; }
      }
    }

    function onFeed(d, err, m) {
      mode.set(m, d && d.at);
      if (!d || gone) return;
      const p = (d.items || []).find((x) => x.id === id);
      if (p) paintPeer(p);
      else if (Date.now() - lastFetch > 5000) loadPeer(); // not in the feed: ask for it
    }

    let alive = true;
    paintRange();
    // the history waits for the peer (its first_seen picks the default range)
    loadPeer().then(() => {
      if (!alive) return;
      const known = peer && Date.parse(peer.first_seen);
      if (Number.isFinite(known)) {
        const age = (serverNow() - known) / 1000;
        autoRange = age < 3600 ? '1h' : age < 6 * 3600 ? '6h' : '24h';
      }
      paintRange();
      loadHistory();
    });
    const unsub = meshFeed.subscribe(onFeed);
    const ageTimer = setInterval(() => { if (peer && !gone) paintPeer(peer); }, 1000);
    return () => { alive = false; unsub(); recent.stop(); clearTimeout(histTimer); clearInterval(ageTimer); if (ro) ro.disconnect(); };
  }

  window.meshwatch.registerPage({ path: '/nodes/:id', label: 'Node', navParent: '/mesh', render: renderNode });
})();
