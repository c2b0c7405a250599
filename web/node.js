/* meshwatch dashboard: the node page (one peer). Loaded after app.js;
   registers its route with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).
     #/nodes/:id  a peer: identity, polling and UDP figures (from the mesh
                  feed), its last events, history charts (web/chart.js:
                  UDP RTT min/avg/max, jitter, loss, poll success
                  and times) with a range bar and zoom, its path MTU and
                  their changes, and "Forget this peer" */
'use strict';

(function () {
  const { h, api, setMessage, fmtDuration, fmtTime, fmtNumber, plural, fmtMs, fmtPct,
    fmtAgo, fmtVal, serverNow, isNum, get, DASH, stateBadge, excuseText, backLink } = window.meshwatch.ui;
  const { session, meshFeed, chart } = window.meshwatch;

  const msFmt = (v) => (v === 0 ? '0' : v < 1 ? `${+v.toFixed(2)} ms` : v < 100 ? `${+v.toFixed(1)} ms` : `${Math.round(v)} ms`);
  const pctFmt = (v) => `${+(v * 100).toFixed(v < 0.1 ? 1 : 0)} %`;

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
      card('Polling', 'peer-poll',
        kv('Success 1 h', 'poll.success_rate_1h', (p) => `${fmtPct(get(p, 'poll.success_rate_1h'))} of ${fmtNumber(get(p, 'poll.polls_1h'))} polls`),
        kv('Success 24 h', 'poll.success_rate_24h', (p) => `${fmtPct(get(p, 'poll.success_rate_24h'))} of ${fmtNumber(get(p, 'poll.polls_24h'))} polls`),
        kv('Last poll', 'poll.last_poll', (p) => get(p, 'poll.last_poll') ? { text: fmtAgo(p.poll.last_poll), title: fmtTime(p.poll.last_poll) } : DASH),
        kv('Last result', 'poll.last_ok', okOf),
        kv('Answered by', 'poll.via', (p) => { const v = get(p, 'poll.via'); return v === 'beats' ? `UDP beats (${fmtNumber(get(p, 'poll.beats_since_exchange'))} since the last HTTPS exchange)` : v === 'https' ? 'an HTTPS exchange' : DASH; }),
        kv('Last HTTPS exchange', 'poll.last_exchange', (p) => get(p, 'poll.last_exchange') ? { text: fmtAgo(p.poll.last_exchange), title: fmtTime(p.poll.last_exchange) } : DASH),
        kv('Exchange times', 'poll.times', (p) => `connect ${fmtMs(get(p, 'poll.connect_ms'))} · TLS ${fmtMs(get(p, 'poll.tls_ms'))} · first byte ${fmtMs(get(p, 'poll.ttfb_ms'))}`),
        kv('Exchange total', 'poll.total_ms', (p) => fmtMs(get(p, 'poll.total_ms'))),
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

    // charts: one range bar, zoom and cursor for all of them. The range the
    // user picked is kept while the dashboard is open; until then, the
    // shortest range that holds the peer's whole history.
    const group = chart.group({ id: 'node', ranges: ['1h', '6h', '24h', '7d'], initial: '24h', onRange: () => loadHistory() });
    const chartErr = h('p', { class: 'error', role: 'alert', hidden: true });
    const cRtt = group.chart({ id: 'chart-rtt', title: 'UDP round-trip time', yFmt: msFmt, empty: 'No UDP probes in this range.',
      series: [
        { key: 'rtt_min_ms', label: 'min', unit: 'ms', color: '--chart-3', fmt: fmtMs },
        { key: 'rtt_avg_ms', label: 'average', unit: 'ms', color: '--chart-1', width: 2, fmt: fmtMs },
        { key: 'rtt_max_ms', label: 'max', unit: 'ms', color: '--chart-2', fmt: fmtMs },
      ], bands: [[2, 0]] });
    const cJitter = group.chart({ id: 'chart-jitter', title: 'Jitter', height: 130, yFmt: msFmt, empty: 'No UDP probes in this range.',
      series: [{ key: 'jitter_ms', label: 'jitter', unit: 'ms', color: '--chart-4', fmt: fmtMs }] });
    const cLoss = group.chart({ id: 'chart-loss', title: 'UDP loss per bucket', height: 130, y: { ratio: true, atLeast: 0.05 }, yFmt: pctFmt,
      empty: 'No UDP probes in this range.',
      series: [{ key: 'loss', label: 'loss', unit: '%', color: '--chart-bad', fmt: fmtPct,
        bars: { colorOf: (v) => (v === 0 ? '--chart-good' : v < 0.05 ? '--chart-warn' : '--chart-bad') } }] });
    const cOk = group.chart({ id: 'chart-ok', title: 'Poll success per bucket (beats and HTTPS)', height: 130, y: { ratio: true }, yFmt: pctFmt,
      empty: 'No polls in this range.',
      series: [{ key: 'success_rate', label: 'success', unit: '%', color: '--chart-good',
        text: (v, it) => (it ? `${fmtPct(v)} of ${fmtNumber(it.polls)} ${it.polls === 1 ? 'poll' : 'polls'}` : fmtPct(v)),
        bars: { colorOf: (v) => (v >= 0.999 ? '--chart-good' : v >= 0.9 ? '--chart-warn' : '--chart-bad') } }] });
    const cTimes = group.chart({ id: 'chart-rt', title: 'HTTPS exchange time', yFmt: msFmt, empty: 'No polls in this range.',
      series: [
        { key: 'total_ms', label: 'total', unit: 'ms', color: '--chart-1', width: 2, fmt: fmtMs },
        { key: 'connect_ms', label: 'connect', unit: 'ms', color: '--chart-3', fmt: fmtMs },
        { key: 'tls_ms', label: 'TLS handshake', unit: 'ms', color: '--chart-2', fmt: fmtMs },
        { key: 'ttfb_ms', label: 'first byte', unit: 'ms', color: '--chart-4', fmt: fmtMs },
      ] });
    const histInfo = h('span', { class: 'muted small', id: 'history-info' });
    const chartsCard = h('section', { class: 'card', id: 'peer-charts' },
      h('div', { class: 'toolbar' }, h('h2', { text: 'History' })),
      group.el, chartErr,
      cRtt.el, h('div', { class: 'chart-grid-3' }, cJitter.el, cLoss.el, cOk.el), cTimes.el, histInfo);

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

    async function loadHistory() {
      clearTimeout(histTimer);
      const seq = ++histSeq;
      const r = group.range();
      const step = chart.stepFor(r.span, 60);
      try {
        const d = await api('GET', `/api/nodes/${encodeURIComponent(id)}/history?from=${r.from}&to=${r.to}&step=${step}`);
        if (!alive || seq !== histSeq) return;
        setMessage(chartErr, '');
        const st = d.step_s || step;
        group.setData(d.items, { from: Date.parse(d.from) / 1000 || r.from, to: Date.parse(d.to) / 1000 || r.to, stepS: st });
        const polls = d.items.reduce((a, it) => a + (Number(it.polls) || 0), 0);
        histInfo.textContent = `${plural(d.items.length, 'bucket', 'buckets')} of ${chart.fmtSpan(st)} · ${plural(polls, 'poll', 'polls')} · ${fmtTime(d.from)} – ${fmtTime(d.to)}`;
      } catch (e) {
        if (e.handled || !alive || seq !== histSeq) return;
        setMessage(chartErr, `Could not load the history: ${e.detail}`);
      }
      // a range that ends now moves on; a custom one stays put
      if (alive && seq === histSeq && r.key !== 'custom') histTimer = setTimeout(loadHistory, r.key === '1h' ? 10000 : 30000);
    }

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
    // the history waits for the peer (its first_seen picks the default range)
    loadPeer().then(() => {
      if (!alive) return;
      const known = peer && Date.parse(peer.first_seen);
      if (Number.isFinite(known)) {
        const age = (serverNow() - known) / 1000;
        group.setAuto(age < 3600 ? '1h' : age < 6 * 3600 ? '6h' : age < 86400 ? '24h' : '7d');
      }
      loadHistory();
    });
    const unsub = meshFeed.subscribe(onFeed);
    const ageTimer = setInterval(() => { if (peer && !gone) paintPeer(peer); }, 1000);
    return () => { alive = false; unsub(); recent.stop(); clearTimeout(histTimer); clearInterval(ageTimer); group.destroy(); };
  }

  window.meshwatch.registerPage({ path: '/nodes/:id', label: 'Node', navParent: '/mesh', render: renderNode });
})();
