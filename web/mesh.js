/* meshwatch dashboard: the mesh page. Loaded after app.js;
   registers its route with window.meshwatch.registerPage and draws with
   the helpers in window.meshwatch.ui (same rules as app.js: no innerHTML,
   no inline style or script).
     #/mesh  peer counts, the topology drawing, the sortable peer table
             and the pending seeds, updated by the mesh feed (WebSocket
             "mesh", or /api/nodes polling while the socket is down) */
'use strict';

(function () {
  const { h, s, setMessage, fmtTime, fmtClock, fmtNumber, plural, fmtMs, fmtPct, fmtAgo, fmtVal, natCmp,
    isNum, get, r1, DASH, STATE_ORDER, stateBadge, excuseText } = window.meshwatch.ui;
  const { session, meshFeed } = window.meshwatch;

  // this node's name, from the /api/node answer the header polls
  function selfName() {
    const n = session.node().node;
    return n ? n.node_fqdn : '';
  }

  function ellipsize(text, max) {
    text = String(text || '');
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  function pmtuText(pm) {
    if (!pm || !isNum(pm.value)) return DASH;
    return String(pm.value);
  }

  function rttOf(p) { return p.udp && isNum(p.udp.rtt_avg_ms) ? p.udp.rtt_avg_ms : null; }

  // Success rate over 24 h across peers, weighted by their number of polls.
  function meshSuccess24h(items) {
    let polls = 0, ok = 0;
    for (const p of items) {
      const r = get(p, 'poll.success_rate_24h'), n = get(p, 'poll.polls_24h');
      if (isNum(r) && isNum(n) && n > 0) { polls += n; ok += r * n; }
    }
    return polls > 0 ? { rate: ok / polls, polls } : { rate: null, polls: 0 };
  }

  /* ---------- topology drawing ---------- */

  // This node in the centre, peers on a ring around it (ordered by name, so
  // positions stay put), edges labelled with the UDP RTT (poll total time
  // when there is no RTT). Up to 12 peers the labels are horizontal; beyond
  // that they follow the spokes so that ~50 peers stay readable. The drawing
  // is rebuilt only when the set of peers changes; otherwise each update
  // just changes classes and texts (a click in progress is not lost).
  function topology(onSelfTitle) {
    const wrap = h('div', { class: 'topo-wrap' });
    let key = null;
    let refs = null; // id -> {g, edge, label, title, circle}
    let self = null;

    function edgeText(p) {
      const rtt = rttOf(p);
      if (rtt !== null) return fmtMs(rtt);
      const tot = get(p, 'poll.total_ms');
      return isNum(tot) ? `${fmtMs(tot)} (poll)` : DASH;
    }
    function nodeTitle(p) {
      return `${p.fqdn} (${p.ip}:${p.port}) · ${p.state} · RTT ${fmtMs(rttOf(p))} · poll ${fmtMs(get(p, 'poll.total_ms'))} · last seen ${fmtAgo(p.last_seen)}`;
    }

    // On a phone (compact) the drawing is as wide as the card, so its text
    // keeps its size, and a node is named by the first label of its name
    // when that tells the nodes apart ("node3" for node3.example.com).
    function build(peers, me, compact, width) {
      const n = peers.length;
      const radial = n > 12;
      const cw = Math.max(300, Math.min(600, width));
      const firsts = [me, ...peers.map((p) => p.fqdn || p.id)].map((x) => String(x || '').split('.')[0]);
      const short = compact && new Set(firsts).size === firsts.length && firsts.every((x) => x.length <= 12);
      // short names centred on their nodes leave more room for the ring
      const R = radial ? Math.max(210, (n * 30) / (2 * Math.PI)) : compact ? Math.min(140, cw / 2 - (short ? 38 : 60)) : 170;
      const labelRoom = radial ? 190 : 0;
      const W = radial ? 2 * (R + 22 + labelRoom) : compact ? cw : 920;
      const shown = (full, max) => (short ? ellipsize(String(full || '').split('.')[0], max) : ellipsize(full, max));
      const H = radial ? W : 2 * (R + 52);
      const cx = W / 2, cy = H / 2;
      const nodeR = n > 30 ? 9 : n > 12 ? 11 : 15;
      const svg = s('svg', { class: 'topo' + (compact ? ' topo-compact' : '') + (radial ? ' topo-radial' : ''), id: 'topology', viewBox: `0 0 ${r1(W)} ${r1(H)}`, role: 'img',
        'aria-label': `Mesh topology: this node and ${plural(n, 'peer', 'peers')}`, 'data-peers': n });
      const edges = s('g', { class: 'topo-edges' });
      const elabels = s('g', { class: 'topo-edge-labels' });
      const nodes = s('g', { class: 'topo-nodes' });
      svg.append(edges, elabels, nodes);
      refs = new Map();
      // two peers sit left and right (the drawing is wider than high)
      const a0 = -Math.PI / 2 + (n === 2 && !compact ? Math.PI / 2 : 0);
      peers.forEach((p, i) => {
        const a = a0 + (2 * Math.PI * i) / Math.max(n, 1);
        const cos = Math.cos(a), sin = Math.sin(a);
        const x = cx + R * cos, y = cy + R * sin;
        const edge = s('line', { class: 'topo-edge', x1: r1(cx + 30 * cos), y1: r1(cy + 30 * sin), x2: r1(x - nodeR * cos), y2: r1(y - nodeR * sin) });
        edges.append(edge);
        // edge label: horizontal at the middle, or along the spoke
        // edge label on a white plate (sized to the text in update()):
        // horizontal at the middle, or along the spoke when there are many
        const deg = (a * 180) / Math.PI;
        const flip = cos < -1e-6; // left half: turn the text so it reads left to right
        const lr = 30 + (R - 30) * (radial ? (i % 2 ? 0.62 : 0.45) : compact ? 0.45 : 0.5);
        const plate = s('rect', { class: 'topo-edge-plate', x: -20, y: -9, width: 40, height: 18, rx: 4 });
        const label = s('text', { class: 'topo-edge-label', x: 0, y: 0, 'text-anchor': 'middle', 'dominant-baseline': 'central' });
        elabels.append(s('g', { transform: `translate(${r1(cx + lr * cos)} ${r1(cy + lr * sin)})` + (radial ? ` rotate(${r1(flip ? deg + 180 : deg)})` : '') }, plate, label));
        // node + its name
        let name;
        const full = p.fqdn || p.id;
        if (radial) {
          const lx = x + (nodeR + 6) * cos, ly = y + (nodeR + 6) * sin;
          name = s('text', { class: 'topo-name', x: r1(lx), y: r1(ly), 'dominant-baseline': 'central', 'text-anchor': flip ? 'end' : 'start',
            transform: `rotate(${r1(flip ? deg + 180 : deg)} ${r1(lx)} ${r1(ly)})`, text: ellipsize(full, 26) });
        } else {
          // narrow screens: every name centred above/below its node
          const anchor = compact ? 'middle' : cos > 0.35 ? 'start' : cos < -0.35 ? 'end' : 'middle';
          const off = nodeR + 8;
          let lx = x + off * cos, ly = y + off * sin;
          if (compact) { lx = x; ly = y + (sin > 0.2 ? off : -off); }
          else if (anchor === 'middle') ly += sin > 0 ? 8 : -4;
          const below = compact ? sin > 0.2 : sin > 0;
          name = s('text', { class: 'topo-name', x: r1(lx), y: r1(ly), 'text-anchor': anchor, 'dominant-baseline': anchor === 'middle' ? (below ? 'hanging' : 'auto') : 'central', text: shown(full, compact ? 20 : 30) });
        }
        const title = s('title');
        const circle = s('circle', { cx: r1(x), cy: r1(y), r: nodeR });
        const g = s('a', { class: 'topo-node topo-peer', href: '#/nodes/' + encodeURIComponent(p.id), 'data-peer-id': p.id, 'aria-label': full }, title, circle, name);
        nodes.append(g);
        refs.set(p.id, { g, edge, label, plate, title });
      });
      // this node, on top
      const meTitle = s('title');
      // this node's name goes where no spoke runs (n = 1, 3: below; else just below, on a halo)
      self = { title: meTitle, name: s('text', { class: 'topo-self-name', x: r1(cx), y: r1(cy + 48), 'text-anchor': 'middle', text: me ? shown(me, compact ? 22 : 34) : 'this node' }) };
      nodes.append(s('a', { class: 'topo-node topo-self', href: '#/overview', 'aria-label': 'This node (overview)' },
        meTitle,
        s('circle', { cx: r1(cx), cy: r1(cy), r: 30 }),
        s('text', { class: 'topo-self-label', x: r1(cx), y: r1(cy), 'text-anchor': 'middle', 'dominant-baseline': 'central', text: 'this node' }),
        self.name));
      if (n === 0) {
        svg.append(s('text', { class: 'topo-empty', x: r1(cx), y: r1(cy - 60), 'text-anchor': 'middle', text: 'No peers known yet' }));
      }
      if (!radial) {
        // fit the height to what is drawn (1 or 2 peers need little)
        const ys = peers.map((p, i) => cy + R * Math.sin(a0 + (2 * Math.PI * i) / Math.max(n, 1)));
        const top = Math.min(cy - 70, ...ys.map((y) => y - nodeR - 34));
        const bottom = Math.max(cy + 64, ...ys.map((y) => y + nodeR + 34));
        svg.setAttribute('viewBox', `0 ${r1(top)} ${r1(W)} ${r1(bottom - top)}`);
      }
      wrap.replaceChildren(svg);
      if (!radial) untangle(svg, W);
    }

    // Names that overlap (long names, nodes close together) move apart
    // vertically, peers' names away from this node's; the drawing then
    // grows to hold them. Spoke-aligned (radial) names never need it.
    function untangle(svg, W) {
      const texts = [svg.querySelector('.topo-self-name'), ...svg.querySelectorAll('.topo-name')].filter(Boolean);
      let boxes;
      try { boxes = texts.map((t) => t.getBBox()); } catch (e) { return; } // not laid out
      const box = (b) => ({ x: b.x, y: b.y, width: b.width, height: b.height });
      boxes = boxes.map(box);
      for (let pass = 0; pass < 6; pass++) {
        let moved = false;
        for (let i = 1; i < texts.length; i++) {
          for (let j = 0; j < i; j++) {
            const a = boxes[i], b = boxes[j];
            const ix = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
            const iy = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
            if (ix <= 0 || iy <= 0) continue;
            const dy = (a.y + a.height / 2 >= b.y + b.height / 2 ? 1 : -1) * (iy + 3);
            texts[i].setAttribute('y', r1(Number(texts[i].getAttribute('y')) + dy));
            a.y += dy;
            moved = true;
          }
        }
        if (!moved) break;
      }
      try {
        const bb = svg.getBBox();
        const vb = svg.getAttribute('viewBox').split(' ').map(Number);
        const top = Math.min(vb[1], bb.y - 4), bottom = Math.max(vb[1] + vb[3], bb.y + bb.height + 4);
        svg.setAttribute('viewBox', `0 ${r1(top)} ${r1(W)} ${r1(bottom - top)}`);
      } catch (e) { /* keep the first fit */ }
    }

    let last = null;
    function update(peers, me) {
      last = [peers, me];
      const width = wrap.clientWidth || 900;
      const compact = width < 600;
      const sorted = peers.slice().sort((a, b) => natCmp(a.fqdn, b.fqdn) || natCmp(a.id, b.id));
      const k = sorted.map((p) => p.id).join(' ') + '|' + (me || '') + '|' + (compact ? Math.round(width / 20) : 'wide');
      if (k !== key) { build(sorted, me, compact, width); key = k; }
      for (const p of sorted) {
        const r = refs.get(p.id);
        const st = STATE_ORDER[p.state] !== undefined ? p.state : 'unknown';
        r.g.setAttribute('class', `topo-node topo-peer state-${st}`);
        r.g.dataset.state = p.state;
        r.edge.setAttribute('class', `topo-edge state-${st}`);
        const et = edgeText(p);
        if (r.label.textContent !== et) {
          r.label.textContent = et;
          let w = et.length * 7;
          try { w = r.label.getComputedTextLength() || w; } catch (e) { /* not laid out */ }
          r.plate.setAttribute('x', r1(-w / 2 - 4));
          r.plate.setAttribute('width', r1(w + 8));
        }
        r.title.textContent = nodeTitle(p);
      }
      self.title.textContent = onSelfTitle();
    }

    // a narrow <-> wide change of the page redraws with the other layout
    const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => { if (last) update(last[0], last[1]); }) : null;
    if (ro) ro.observe(wrap);
    return { el: wrap, update, stop: () => { if (ro) ro.disconnect(); } };
  }

  /* ---------- Mesh page ---------- */

  const PEER_COLUMNS = [
    { key: 'fqdn', label: 'Name', sort: (p) => String(p.fqdn || ''), cmp: natCmp },
    { key: 'addr', label: 'Address', sort: (p) => (String(p.ip || '').split('.').map((x) => x.padStart(3, '0')).join('.') + ':' + String(p.port).padStart(5, '0')) },
    { key: 'state', label: 'State', sort: (p) => STATE_ORDER[p.state] ?? 3 },
    { key: 'last_seen', label: 'Last seen', sort: (p) => { const t = Date.parse(p.last_seen); return Number.isFinite(t) ? -t : null; } },
    { key: 'ok1h', label: 'OK 1 h', num: true, sort: (p) => get(p, 'poll.success_rate_1h') },
    { key: 'ok24h', label: 'OK 24 h', num: true, sort: (p) => get(p, 'poll.success_rate_24h') },
    { key: 'total', label: 'Poll time', num: true, sort: (p) => get(p, 'poll.total_ms') },
    { key: 'rtt', label: 'RTT', num: true, sort: rttOf },
    { key: 'loss', label: 'Loss', num: true, sort: (p) => get(p, 'udp.loss') },
    { key: 'pmtu', label: 'PMTU', num: true, sort: (p) => get(p, 'pmtu.value') },
    { key: 'error', label: 'Last error', sort: (p) => get(p, 'poll.last_error') || null },
  ];
  const meshSort = { key: 'fqdn', dir: 1 }; // kept while the page is left and re-entered

  function renderMesh(view) {
    const mode = meshFeed.modeIndicator();
    const updated = h('span', { class: 'muted small', id: 'mesh-updated' });
    const errBox = h('p', { class: 'error', role: 'alert', hidden: true });
    const stat = (id, label, cls) => {
      const v = h('span', { class: 'stat-value', id: 'stat-' + id, text: DASH });
      const sub = h('span', { class: 'stat-sub muted small' });
      return { el: h('div', { class: `card stat ${cls || ''}`, id: 'stat-card-' + id }, h('span', { class: 'stat-label', text: label }), v, sub), v, sub };
    };
    const stats = {
      total: stat('total', 'Peers'),
      alive: stat('alive', 'Alive', 'stat-alive'),
      suspect: stat('suspect', 'Suspect', 'stat-suspect'),
      dead: stat('dead', 'Dead', 'stat-dead'),
      ok24h: stat('ok24h', 'Success 24 h'),
    };
    const topo = topology(() => `This node: ${selfName()}`);
    const legend = h('ul', { class: 'legend' },
      h('li', null, h('span', { class: 'dot dot-self' }), 'this node'),
      h('li', null, h('span', { class: 'dot dot-alive' }), 'alive'),
      h('li', null, h('span', { class: 'dot dot-suspect' }), 'suspect'),
      h('li', null, h('span', { class: 'dot dot-dead' }), 'dead'),
      h('li', null, h('span', { class: 'dot dot-unknown' }), 'unknown (verdict withheld: this node is overloaded)'),
      h('li', { class: 'muted' }, 'edges: UDP round-trip time, or poll time when no RTT is measured'));

    // table with sortable headers
    const ths = PEER_COLUMNS.map((c) => {
      const btn = h('button', { type: 'button', class: 'sort-btn', 'data-sort': c.key, onclick: () => {
        if (meshSort.key === c.key) meshSort.dir = -meshSort.dir; else { meshSort.key = c.key; meshSort.dir = 1; }
        paintTable(true);
      } }, c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }));
      return h('th', { scope: 'col', class: c.num ? 'numc' : null, 'data-col': c.key }, btn);
    });
    const tbody = h('tbody');
    const table = h('table', { id: 'peers-table', class: 'table peers' }, h('thead', null, h('tr', null, ths)), tbody);
    const peersCount = h('span', { class: 'muted small', id: 'peers-count' });
    const seedsBody = h('tbody');
    const seedsCard = h('section', { class: 'card', id: 'pending-seeds', hidden: true },
      h('h2', null, 'Pending seeds ', h('span', { class: 'muted small', text: '(configured, not reached yet)' })),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table seeds' },
        h('thead', null, h('tr', null, ['Name', 'Address', 'Last try', 'Last error'].map((t) => h('th', { scope: 'col', text: t })))),
        seedsBody)));

    view.append(h('section', { class: 'page', id: 'mesh' },
      h('div', { class: 'page-head' }, h('h1', { text: 'Mesh' }), mode.el, updated),
      errBox,
      h('div', { class: 'stats' }, Object.values(stats).map((x) => x.el)),
      h('section', { class: 'card', id: 'mesh-topology' }, h('h2', { text: 'Topology' }), topo.el, legend),
      h('section', { class: 'card', id: 'mesh-peers' },
        h('div', { class: 'toolbar' }, h('h2', { text: 'Peers' }), peersCount),
        h('div', { class: 'table-wrap' }, table)),
      seedsCard));

    const rows = new Map(); // id -> {tr, cells: {key: td}, peer}
    let items = [];
    let rowOrder = '';

    function cellContent(c, p) {
      switch (c.key) {
        case 'fqdn': return [h('a', { href: '#/nodes/' + encodeURIComponent(p.id), class: 'peer-link', title: p.source ? `known from: ${p.source}` : null, text: p.fqdn || p.id })];
        case 'addr': return [h('span', { class: 'mono', text: `${p.ip}:${p.port}` })];
        case 'state': {
          const why = excuseText(p);
          return [stateBadge(p.state, why), why ? h('span', { class: 'peer-excuse muted small', text: why }) : null];
        }
        case 'last_seen': return [h('span', { title: fmtTime(p.last_seen), text: fmtAgo(p.last_seen) })];
        case 'ok1h': return [h('span', { title: `${fmtNumber(get(p, 'poll.polls_1h'))} polls in the last hour`, text: fmtPct(get(p, 'poll.success_rate_1h')) })];
        case 'ok24h': return [h('span', { title: `${fmtNumber(get(p, 'poll.polls_24h'))} polls in the last 24 h`, text: fmtPct(get(p, 'poll.success_rate_24h')) })];
        case 'total': return [h('span', { title: `connect ${fmtMs(get(p, 'poll.connect_ms'))} · TLS ${fmtMs(get(p, 'poll.tls_ms'))} · first byte ${fmtMs(get(p, 'poll.ttfb_ms'))}`, text: fmtMs(get(p, 'poll.total_ms')) })];
        case 'rtt': return [h('span', { title: `min ${fmtMs(get(p, 'udp.rtt_min_ms'))} · max ${fmtMs(get(p, 'udp.rtt_max_ms'))} · jitter ${fmtMs(get(p, 'udp.jitter_ms'))}`, text: fmtMs(rttOf(p)) })];
        case 'loss': {
          const l = get(p, 'udp.loss');
          return [h('span', { class: isNum(l) && l > 0 ? 'warn-text' : null, title: `${fmtNumber(get(p, 'udp.probes'))} probes`, text: fmtPct(l) })];
        }
        case 'pmtu': {
          const pm = p.pmtu || {};
          return [h('span', { title: pm.method ? `method ${pm.method}, measured ${fmtTime(pm.measured_at)}` : null, text: pmtuText(pm) }),
            pm.black_hole ? h('span', { class: 'tag tag-bad blackhole', title: 'PMTU black hole: large packets vanish without an ICMP error', text: 'black hole' }) : null];
        }
        case 'error': {
          const e = get(p, 'poll.last_error');
          return [h('span', { class: e ? 'err-text' : 'muted', title: e || null, text: e ? ellipsize(e, 80) : DASH })];
        }
      }
      return [];
    }

    function rowFor(p) {
      let r = rows.get(p.id);
      if (!r) {
        const cells = {};
        const tr = h('tr', { class: 'peer-row', 'data-peer-id': p.id });
        for (const c of PEER_COLUMNS) {
          cells[c.key] = h('td', { 'data-label': c.label, class: c.num ? 'numc' : c.key === 'error' ? 'errc' : null });
          tr.append(cells[c.key]);
        }
        // a click anywhere in the row opens the peer (links work by themselves)
        tr.addEventListener('click', (ev) => {
          if (ev.target.closest('a') || (window.getSelection && String(window.getSelection()))) return;
          location.hash = '#/nodes/' + encodeURIComponent(p.id);
        });
        r = { tr, cells, sig: {} };
        rows.set(p.id, r);
      }
      r.tr.dataset.state = p.state;
      r.tr.dataset.fqdn = p.fqdn || '';
      for (const c of PEER_COLUMNS) {
        const content = cellContent(c, p);
        const sig = content.map((x) => (x ? x.outerHTML : '')).join('');
        if (r.sig[c.key] !== sig) { r.sig[c.key] = sig; r.cells[c.key].replaceChildren(...content.filter(Boolean)); }
      }
      return r;
    }

    function sorted() {
      const col = PEER_COLUMNS.find((c) => c.key === meshSort.key) || PEER_COLUMNS[0];
      const cmp = col.cmp || ((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      return items.slice().sort((a, b) => {
        const va = col.sort(a), vb = col.sort(b);
        const na = va === null || va === undefined, nb = vb === null || vb === undefined;
        if (na !== nb) return na ? 1 : -1; // no value: always last
        const c = na ? 0 : cmp(va, vb);
        if (c) return c * meshSort.dir;
        return natCmp(a.fqdn, b.fqdn) || natCmp(a.id, b.id);
      });
    }

    function paintTable(force) {
      for (const th of ths) {
        const on = th.dataset.col === meshSort.key;
        if (on) th.setAttribute('aria-sort', meshSort.dir > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
        th.querySelector('.sort-mark').textContent = on ? (meshSort.dir > 0 ? ' ▲' : ' ▼') : '';
      }
      const list = sorted();
      const seen = new Set();
      const trs = list.map((p) => { seen.add(p.id); return rowFor(p).tr; });
      for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
      const order = list.map((p) => p.id).join(' ');
      if (force || order !== rowOrder || tbody.children.length !== trs.length) {
        rowOrder = order;
        if (trs.length) tbody.replaceChildren(...trs);
        else tbody.replaceChildren(h('tr', null, h('td', { colspan: String(PEER_COLUMNS.length), class: 'empty', text: 'No peers known yet. Seeds that were not reached are listed below.' })));
      }
    }

    function paint(d, err, m) {
      mode.set(m, d && d.at);
      setMessage(errBox, err ? `Could not refresh: ${err.detail} Showing the last data received.` : '');
      if (!d) return;
      items = d.items || [];
      const c = d.counts || {};
      stats.total.v.textContent = fmtNumber(isNum(c.total) ? c.total : items.length);
      stats.alive.v.textContent = fmtNumber(c.alive);
      stats.suspect.v.textContent = fmtNumber(c.suspect);
      stats.dead.v.textContent = fmtNumber(c.dead);
      // not alive, not suspect: a verdict this node withholds while overloaded
      stats.alive.sub.textContent = c.unknown > 0 ? `${fmtNumber(c.unknown)} unknown: verdict withheld, this node is overloaded` : '';
      const ok = meshSuccess24h(items);
      stats.ok24h.v.textContent = fmtPct(ok.rate);
      stats.ok24h.sub.textContent = ok.polls ? `${fmtNumber(ok.polls)} polls` : 'no polls yet';
      stats.total.sub.textContent = d.pending_seeds && d.pending_seeds.length ? `+ ${plural(d.pending_seeds.length, 'pending seed', 'pending seeds')}` : '';
      topo.update(items, selfName());
      paintTable(false);
      peersCount.textContent = plural(items.length, 'peer', 'peers') + (isNum(c.total) && c.total > items.length ? ` of ${c.total}` : '');
      const seeds = d.pending_seeds || [];
      seedsCard.hidden = seeds.length === 0;
      seedsBody.replaceChildren(...seeds.map((sd) => h('tr', { class: 'seed-row' },
        h('td', { 'data-label': 'Name', text: fmtVal(sd.fqdn) }),
        h('td', { 'data-label': 'Address', class: 'mono', text: `${fmtVal(sd.ip)}:${fmtVal(sd.port)}` }),
        h('td', { 'data-label': 'Last try' }, h('span', { title: fmtTime(sd.last_poll), text: sd.last_poll ? fmtAgo(sd.last_poll) : 'not yet' })),
        h('td', { 'data-label': 'Last error', class: sd.last_error ? 'err-text' : 'muted', text: fmtVal(sd.last_error) }))));
      updated.textContent = d.at ? `Updated ${fmtClock(d.at)}` : '';
    }

    // ages ("12 s ago") move on between updates
    const ageTimer = setInterval(() => {
      for (const [id, r] of rows) {
        const p = items.find((x) => x.id === id);
        if (p) { const sp = r.cells.last_seen.firstChild; if (sp) sp.textContent = fmtAgo(p.last_seen); }
      }
    }, 1000);
    const unsubNode = session.onNode(() => topo.update(items, selfName()));
    const unsub = meshFeed.subscribe(paint);
    return () => { unsub(); clearInterval(ageTimer); unsubNode(); topo.stop(); };
  }

  window.meshwatch.registerPage({ path: '/mesh', label: 'Mesh', render: renderMesh });
})();
