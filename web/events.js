/* meshwatch dashboard: the events page, and the "last events" card of the
   node, pair and target pages. Loaded after app.js; registers its routes
   with window.meshwatch.registerPage and draws with the helpers in
   window.meshwatch.ui (same rules as app.js: no innerHTML, no inline style
   or script).
     #/events                 the timeline of GET /api/events, newest first:
                              filters (kind, severity, time range), paging,
                              live rows from the "events" WebSocket topic
     #/events/:type/:subject  the same, for one subject (a peer, a target)
   window.meshwatch.events.recentCard(...) is the short list the node, pair
   and target pages show (they call it when they draw, after every page
   file has loaded). */
'use strict';

(function () {
  const { h, api, setMessage, fmtTime, fmtDuration, fmtMs, fmtNumber, plural, serverNow, isNum } = window.meshwatch.ui;
  const { live, session } = window.meshwatch;

  const KINDS = [
    ['peer_state', 'Peer state'],
    ['target_state', 'Target state'],
    ['cert_expiry', 'Certificate'],
    ['db_state', 'Database'],
    ['threshold', 'Threshold (alert rule)'],
    ['black_hole', 'Path MTU black hole'],
    ['capture_state', 'Capture'],
  ];
  const SEV_RANK = { info: 0, warning: 1, critical: 2 };
  const RANGES = [
    ['1h', 'Last hour', 3600],
    ['6h', 'Last 6 h', 6 * 3600],
    ['24h', 'Last 24 h', 86400],
    ['7d', 'Last 7 days', 7 * 86400],
    ['all', 'All time', 0],
    ['custom', 'Between…', 0],
  ];
  const PAGE = 50;
  const POLL_MS = 10000;      // the WebSocket is down: refetch this often
  const NEW_MARK_MS = 4000;   // a row that arrived live stays highlighted

  /* ---------- words for one event ---------- */

  // Where an event's subject is shown: a peer's node page, a target's page;
  // "node" events (certificate, database) are about this node itself.
  function subjectHref(type, id) {
    if (!id) return null;
    if (type === 'peer') return '#/nodes/' + encodeURIComponent(id);
    if (type === 'target') return '#/targets/' + encodeURIComponent(id);
    if (type === 'node') {
      const n = session.node().node;
      return !n || n.node_id === id ? '#/overview' : '#/nodes/' + encodeURIComponent(id);
    }
    return null;
  }

  function subjectLabel(type, id, name) {
    if (name) return name;
    if (type === 'target') return `target #${id}`;
    return id ? String(id).slice(0, 8) : 'unknown';
  }

  // <a> to the subject's page (plain text when there is none).
  function subjectLink(type, id, name) {
    const href = subjectHref(type, id);
    const text = subjectLabel(type, id, name);
    return href ? h('a', { href, class: 'subject-link', 'data-subject-type': type, text, title: `${type} ${id}` })
      : h('span', { class: 'subject-link', text });
  }

  function sevBadge(sev) {
    const s = SEV_RANK[sev] !== undefined ? sev : 'info';
    return h('span', { class: `badge sev sev-${s}`, 'data-severity': s, text: s });
  }

  const words = (v) => String(v === null || v === undefined || v === '' ? '—' : v).replace(/_/g, ' ');

  // What the state became, as a word for the sentence ("down", "dead").
  function stateWord(e) {
    switch (e.kind) {
      case 'peer_state': return words(e.new);
      case 'target_state': return e.new === 'up' ? 'up' : 'down';
      case 'cert_expiry': return 'certificate ' + words(e.new);
      case 'db_state': return 'database ' + words(e.new);
      case 'threshold': return e.new === 'over' ? 'over the threshold' : 'back within the threshold';
      default: return words(e.new);
    }
  }

  // How many other nodes agreed (or not) that a peer is unreachable.
  function vantageText(e, ev) {
    const asked = ev.vantage_asked, reached = ev.vantage_reached;
    if (!isNum(asked) || asked <= 0 || !isNum(reached)) return null;
    if (e.new === 'alive') return `${reached} of ${asked} other ${asked === 1 ? 'node' : 'nodes'} reached it`;
    if (reached === 0) return `${asked} of ${asked} vantage ${asked === 1 ? 'point' : 'points'} agreed`;
    return `${asked - reached} of ${asked} vantage ${asked === 1 ? 'point' : 'points'} agreed, ${reached} still reached it`;
  }

  const daysLeft = (s) => (isNum(s) ? (s >= 86400 ? plural(Math.floor(s / 86400), 'day', 'days') + ' left' : s > 0 ? fmtDuration(s) + ' left' : 'expired') : null);

  // The short reason for the sentence ("timeout", "3 failed polls (timeout)").
  function reasonText(e) {
    const ev = e.evidence || {};
    switch (e.kind) {
      case 'peer_state': return ev.why || ev.error || null;
      case 'target_state':
        if (e.new === 'up') return isNum(ev.connect_ms) ? `connected in ${fmtMs(ev.connect_ms)}` : null;
        return words(e.new) + (ev.error && ev.error !== e.new ? ` (${ev.error})` : '');
      case 'cert_expiry': return daysLeft(ev.seconds_left);
      case 'db_state': return ev.error || null;
      case 'threshold': return ev.rule ? `${ev.rule}${ev.value ? ' = ' + ev.value : ''}` : null;
      default: return null;
    }
  }

  // The evidence in plain words: "timeout, 3 of 3 vantage points agreed".
  function evidenceText(e) {
    const ev = e.evidence && typeof e.evidence === 'object' ? e.evidence : {};
    const parts = [];
    const add = (v) => { if (v !== null && v !== undefined && v !== '') parts.push(String(v)); };
    switch (e.kind) {
      case 'peer_state':
        // "why" often names the last poll's error class and detail already
        add(ev.why);
        {
          const why = String(ev.why || '');
          const more = [ev.error, ev.detail].filter((x) => x && !why.includes(x));
          if (more.length) add(`last poll ${more.join(': ')}`);
        }
        add(vantageText(e, ev));
        if (ev.address) add(`address ${ev.address}`);
        break;
      case 'target_state':
        if (ev.host) add(`${ev.host} port ${ev.port}`);
        if (ev.error && ev.error !== e.new) add(ev.error);
        if (isNum(ev.connect_ms)) add(`connected in ${fmtMs(ev.connect_ms)}`);
        break;
      case 'cert_expiry':
        if (ev.not_after) add(`ends ${fmtTime(ev.not_after)}`);
        add(daysLeft(ev.seconds_left));
        break;
      case 'db_state':
        add(ev.error);
        if (ev.path) add(`database ${ev.path}`);
        break;
      case 'threshold':
        if (ev.rule) add(`rule ${ev.rule}`);
        if (ev.value) add(`value ${ev.value}`);
        break;
      default:
        for (const [k, v] of Object.entries(ev)) add(`${words(k)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
    }
    if (ev.truncated) add('(evidence truncated)');
    return parts.join(', ');
  }

  // "03:12:04 UTC" today, "2026-12-05 03:12:04 UTC" before (the time
  // style of every page: UTC, said).
  function fmtClock(t) {
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(String(t || ''));
    if (!m) return '—';
    const today = new Date(serverNow()).toISOString().slice(0, 10);
    return m[1] === today ? `${m[2]} UTC` : `${m[1]} ${m[2]} UTC`;
  }

  // list + more, without repeats, newest first, at most limit.
  function mergeNewest(list, more, limit) {
    const seen = new Set();
    return more.concat(list).filter((e) => !seen.has(e.id) && seen.add(e.id))
      .sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || b.id - a.id).slice(0, limit);
  }

  const subjectKey = (e) => `${e.kind}\u0000${e.subject_type}\u0000${e.subject}`;

  // How long each state lasted: until the next (newer) event of the same
  // subject in the list, or, for the newest one when `ongoing` (the list is
  // the latest, unfiltered by severity), until now. items: newest first.
  // Returns Map id -> {s, ongoing}.
  function spans(items, ongoing) {
    const out = new Map(), newer = new Map();
    for (const e of items) {
      const t = Date.parse(e.time);
      if (!Number.isFinite(t)) continue;
      const key = subjectKey(e);
      if (newer.has(key)) out.set(e.id, { s: (newer.get(key) - t) / 1000, ongoing: false });
      else if (ongoing) out.set(e.id, { s: (serverNow() - t) / 1000, ongoing: true });
      newer.set(key, t);
    }
    return out;
  }

  // "down at 03:12:04 UTC for 4 min: timeout"
  function sentence(e, span) {
    let s = `${stateWord(e)} at ${fmtClock(e.time)}`;
    if (span) s += span.ongoing ? `, ${fmtDuration(span.s)} so far` : ` for ${fmtDuration(span.s)}`;
    const why = reasonText(e);
    return why ? `${s}: ${why}` : s;
  }

  /* ---------- the "last events" card (node, pair and target pages) ---------- */

  // subjects: [{type, id}] (the pair page passes both ends); returns
  // {el, stop}. The list reloads when an "events" frame names a subject.
  function recentCard(subjects, opts) {
    const o = Object.assign({ limit: 10, title: 'Last events' }, opts);
    const list = h('ul', { class: 'event-list', id: 'recent-events-list' });
    const note = h('p', { class: 'muted small', hidden: true });
    const err = h('p', { class: 'error', role: 'alert', hidden: true });
    const one = subjects.length === 1 ? subjects[0] : null;
    const el = h('section', { class: 'card', id: 'recent-events' },
      h('div', { class: 'toolbar' }, h('h2', { text: o.title }),
        h('a', { class: 'small', href: one ? `#/events/${encodeURIComponent(one.type)}/${encodeURIComponent(one.id)}` : '#/events', text: 'All events →' })),
      err, note, list);
    // arrived: the frames' events since the last load began (the node
    // stores events once a second: a load may not have them yet)
    let alive = true, items = [], arrived = [], timer = null, down = false;
    const wanted = (e) => subjects.some((s) => e.subject === s.id && (!s.type || e.subject_type === s.type));

    function paint() {
      const sp = spans(items, true);
      note.textContent = 'No events yet: nothing changed since this node started watching.';
      note.hidden = items.length > 0;
      list.replaceChildren(...items.map((e) => h('li', { class: `event-line sev-line-${e.severity}`, 'data-event-id': e.id, title: `${fmtTime(e.time)} · ${evidenceText(e)}` },
        sevBadge(e.severity), ' ',
        subjects.length > 1 ? [subjectLink(e.subject_type, e.subject, e.subject_name), ' '] : null,
        h('span', { class: 'event-sentence', text: sentence(e, sp.get(e.id)) }))));
    }

    async function load() {
      arrived = [];
      try {
        const all = await Promise.all(subjects.map((s) => {
          const q = new URLSearchParams({ subject: s.id, limit: String(o.limit) });
          if (s.type) q.set('subject_type', s.type);
          return api('GET', '/api/events?' + q.toString());
        }));
        if (!alive) return;
        items = mergeNewest(all.flatMap((d) => d.items || []), arrived, o.limit);
        setMessage(err, '');
        paint();
      } catch (e) {
        if (!e.handled && alive) setMessage(err, `Could not load the events: ${e.detail}`);
      }
    }

    const unlive = live.subscribe('events', (m, closed) => {
      down = !!closed;
      const mine = m && Array.isArray(m.items) ? m.items.filter(wanted) : [];
      if (mine.length) {
        arrived = arrived.concat(mine);
        items = mergeNewest(items, mine, o.limit);
        paint();
      }
    });
    // every 30 s: "so far" grows; without the WebSocket, ask again
    timer = setInterval(() => { if (down) load(); else paint(); }, 30000);
    load();
    return { el, stop() { alive = false; unlive(); clearInterval(timer); } };
  }

  /* ---------- the events page ---------- */

  // Filters are kept across visits.
  const filter = { kind: '', severity: '', range: '24h', from: '', to: '' };

  function renderEvents(view, params) {
    const subj = params.subject ? { type: params.type, id: params.subject } : null;
    // arrived: as in recentCard, the live events a load may not have yet
    let alive = true, offset = 0, total = 0, items = [], arrived = [], seq = 0, down = false, missed = 0;
    const fresh = new Map(); // id -> time it arrived live

    const sel = (id, label, options, value) => {
      const s = h('select', { id, 'aria-label': label }, options.map(([v, t]) => h('option', { value: v, text: t })));
      s.value = value;
      return h('div', { class: 'field field-select' }, h('label', { for: id, text: label }), s);
    };
    const kindF = sel('ev-kind', 'Kind', [['', 'All kinds'], ...KINDS], filter.kind);
    const sevF = sel('ev-severity', 'Severity', [['', 'Any severity'], ['warning', 'Warning or worse'], ['critical', 'Critical']], filter.severity);
    const rangeF = sel('ev-range', 'Time', RANGES.map(([k, t]) => [k, t]), filter.range);
    const fromIn = h('input', { id: 'ev-from', type: 'datetime-local', step: '1', value: filter.from });
    const toIn = h('input', { id: 'ev-to', type: 'datetime-local', step: '1', value: filter.to });
    const customBox = h('div', { class: 'custom-range' },
      h('div', { class: 'field' }, h('label', { for: 'ev-from', text: 'From (UTC)' }), fromIn),
      h('div', { class: 'field' }, h('label', { for: 'ev-to', text: 'To (UTC, empty: now)' }), toIn));
    const form = h('form', { class: 'inline-form filters', id: 'events-filters', onsubmit: (ev) => { ev.preventDefault(); apply(); } },
      kindF, sevF, rangeF, customBox);
    for (const c of form.querySelectorAll('select, input')) c.addEventListener('change', apply);

    const err = h('p', { class: 'error', role: 'alert', hidden: true, id: 'events-error' });
    const mode = h('span', { class: 'mode', id: 'events-mode', role: 'status', 'data-mode': 'connecting', text: 'connecting…' });
    const count = h('span', { class: 'muted small', id: 'events-count' });
    const newer = h('p', { class: 'notice', hidden: true, id: 'events-newer' });
    const tbody = h('tbody');
    const prev = h('button', { type: 'button', class: 'secondary', id: 'events-prev', text: '← Newer', onclick: () => go(offset - PAGE) });
    const next = h('button', { type: 'button', class: 'secondary', id: 'events-next', text: 'Older →', onclick: () => go(offset + PAGE) });
    const range = h('span', { class: 'muted', id: 'events-range' });
    const title = h('h1', { text: 'Events' });
    const subjBar = subj ? h('p', { class: 'notice', id: 'events-subject' }, 'Only the events of ', h('span', { class: 'subject-slot' }, subjectLink(subj.type, subj.id)),
      ' · ', h('a', { href: '#/events', text: 'show all' })) : null;

    view.append(h('section', { class: 'page', id: 'events' },
      h('div', { class: 'page-head' }, title, count, mode),
      subjBar,
      h('section', { class: 'card' }, form),
      err, newer,
      h('section', { class: 'card' },
        h('div', { class: 'table-wrap' }, h('table', { class: 'table events', id: 'events-table' },
          h('thead', null, h('tr', null, ['Time (UTC)', 'Severity', 'Subject', 'Change', 'Evidence', 'Lasted'].map((t) => h('th', { scope: 'col', text: t })))),
          tbody)),
        h('div', { class: 'pager' }, prev, range, next))));

    function readFilter() {
      filter.kind = kindF.querySelector('select').value;
      filter.severity = sevF.querySelector('select').value;
      filter.range = rangeF.querySelector('select').value;
      filter.from = fromIn.value;
      filter.to = toIn.value;
    }

    // datetime-local "2026-12-06T03:12(:04)" read as UTC; '' -> null
    const utcMs = (v) => { const t = v ? Date.parse(v + 'Z') : NaN; return Number.isFinite(t) ? t : null; };

    // The time window of the filter in ms, {since, until} (null: open).
    function windowMs() {
      if (filter.range === 'custom') return { since: utcMs(filter.from), until: utcMs(filter.to) };
      const r = RANGES.find((x) => x[0] === filter.range);
      return { since: r && r[2] ? serverNow() - r[2] * 1000 : null, until: null };
    }

    // whole seconds: the API takes RFC 3339 without a fraction
    const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

    function query() {
      const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
      if (filter.kind) q.set('kind', filter.kind);
      if (filter.severity) q.set('severity', filter.severity);
      if (subj) { q.set('subject_type', subj.type); q.set('subject', subj.id); }
      const w = windowMs();
      if (w.since !== null) q.set('since', iso(w.since));
      if (w.until !== null) q.set('until', iso(w.until));
      return q.toString();
    }

    function matches(e) {
      if (filter.kind && e.kind !== filter.kind) return false;
      if (filter.severity && (SEV_RANK[e.severity] || 0) < SEV_RANK[filter.severity]) return false;
      if (subj && (e.subject !== subj.id || e.subject_type !== subj.type)) return false;
      const w = windowMs(), t = Date.parse(e.time);
      return !(w.until !== null && t > w.until) && !(w.since !== null && t < w.since);
    }

    function paint() {
      customBox.hidden = filter.range !== 'custom';
      // a duration needs the next event of the subject: the severity filter
      // hides some, and only the first page knows which state still holds
      const sp = filter.severity ? new Map() : spans(items, offset === 0 && windowMs().until === null);
      const now = Date.now();
      tbody.replaceChildren(...(items.length ? items.map((e) => {
        const span = sp.get(e.id);
        return h('tr', { 'data-event-id': e.id, 'data-kind': e.kind, 'data-severity': e.severity, class: now - (fresh.get(e.id) || 0) < NEW_MARK_MS ? 'new' : null },
          h('td', { 'data-label': 'Time', class: 'nowrap', title: fmtTime(e.time), text: fmtClock(e.time) }),
          h('td', { 'data-label': 'Severity' }, sevBadge(e.severity)),
          h('td', { 'data-label': 'Subject' }, subjectLink(e.subject_type, e.subject, e.subject_name),
            h('span', { class: 'muted small subject-type', text: ` ${words(e.subject_type)}` })),
          h('td', { 'data-label': 'Change', class: 'event-change' },
            h('span', { class: 'muted', text: words(e.old) }), ' → ', h('strong', { text: words(e.new) })),
          h('td', { 'data-label': 'Evidence', class: 'event-evidence', text: evidenceText(e) || '—' }),
          h('td', { 'data-label': 'Lasted', class: 'nowrap', 'data-since': span && span.ongoing ? e.time : null, text: span ? fmtDuration(span.s) + (span.ongoing ? ' so far' : '') : '—' }));
      }) : [h('tr', null, h('td', { colspan: '6', class: 'empty', text: offset ? 'No older events.' : 'No events match these filters.' }))]));
      count.textContent = plural(total, 'event', 'events');
      range.textContent = items.length ? `${fmtNumber(offset + 1)}–${fmtNumber(offset + items.length)} of ${fmtNumber(total)}` : '';
      prev.disabled = offset === 0;
      next.disabled = offset + items.length >= total;
      newer.hidden = missed === 0;
      newer.replaceChildren(`${plural(missed, 'newer event', 'newer events')} arrived. `,
        h('button', { type: 'button', class: 'secondary small-btn', text: 'Show the newest', onclick: () => go(0) }));
      if (subj && items.length) {
        const slot = view.querySelector('.subject-slot');
        if (slot) slot.replaceChildren(subjectLink(subj.type, subj.id, items[0].subject_name));
        session.setPageTitle(`Events · ${items[0].subject_name || subj.id}`);
      }
    }

    async function load() {
      const my = ++seq;
      arrived = [];
      try {
        const d = await api('GET', '/api/events?' + query());
        if (!alive || my !== seq) return;
        items = d.items || [];
        total = isNum(d.total) ? d.total : items.length;
        if (offset === 0) {
          const extra = arrived.filter((e) => !items.some((x) => x.id === e.id));
          items = mergeNewest(items, extra, PAGE);
          total += extra.length;
          missed = 0;
        }
        setMessage(err, '');
        paint();
      } catch (e) {
        if (e.handled || !alive || my !== seq) return;
        setMessage(err, e.status === 404 ? 'Events are not available on this node.' : `Could not load the events: ${e.detail}`);
      }
    }

    function go(off) {
      offset = Math.max(0, off);
      load();
    }

    function apply() {
      readFilter();
      customBox.hidden = filter.range !== 'custom';
      go(0);
    }

    // Live rows: the first page takes matching events at the top (frames
    // are oldest first); further pages count them and offer a way back.
    function onFrame(m) {
      if (!Array.isArray(m.items)) return;
      const add = m.items.filter((e) => e && matches(e) && !items.some((x) => x.id === e.id));
      if (!add.length) return;
      arrived = arrived.concat(add);
      total += add.length;
      if (offset === 0) {
        for (const e of add) fresh.set(e.id, Date.now());
        items = mergeNewest(items, add, PAGE);
      } else {
        missed += add.length;
      }
      paint();
    }

    function setMode() {
      const m = down ? 'polling' : live.serves('events') ? 'live' : 'connecting';
      mode.dataset.mode = m;
      mode.textContent = m === 'connecting' ? 'connecting…' : m;
      mode.title = m === 'live' ? 'New events arrive over the WebSocket' : m === 'polling' ? `No WebSocket: asking again every ${POLL_MS / 1000} s` : 'Connecting…';
    }

    const unlive = live.subscribe('events', (m, closed) => {
      down = !!closed;
      if (m) onFrame(m);
      setMode();
    });
    // once a second: the mode, the fading highlight; every POLL_MS without
    // the WebSocket, the first page again
    let ticks = 0;
    const tick = setInterval(() => {
      setMode();
      if (down && offset === 0 && ++ticks % (POLL_MS / 1000) === 0) load();
      // the states that still hold grow
      for (const td of tbody.querySelectorAll('td[data-since]')) td.textContent = `${fmtDuration((serverNow() - Date.parse(td.dataset.since)) / 1000)} so far`;
      if (fresh.size) {
        const now = Date.now();
        for (const [id, t] of fresh) if (now - t >= NEW_MARK_MS) fresh.delete(id);
        if (!fresh.size) for (const tr of tbody.querySelectorAll('tr.new')) tr.classList.remove('new');
      }
    }, 1000);
    customBox.hidden = filter.range !== 'custom';
    load();
    return () => { alive = false; unlive(); clearInterval(tick); };
  }

  window.meshwatch.events = { recentCard, subjectLink, subjectHref, sevBadge, evidenceText, fmtClock };
  window.meshwatch.registerPage({ path: '/events', label: 'Events', render: renderEvents });
  window.meshwatch.registerPage({ path: '/events/:type/:subject', label: 'Events', navParent: '/events', render: renderEvents });
})();
