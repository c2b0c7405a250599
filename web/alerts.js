/* meshwatch dashboard: the alerts page, and the count of firing alerts on
   its navigation entry. Loaded after app.js and events.js; registers its
   route with window.meshwatch.registerPage and draws with the helpers in
   window.meshwatch.ui (same rules as app.js: no innerHTML, no inline style
   or script).
     #/alerts  active alerts (acknowledge, silence), the recently resolved,
               the rules (enable, create, edit, delete), silences (create,
               delete) and the notification channels (send a test); the
               "alerts" WebSocket topic refreshes it. A node without the
               alerts API (404) gets a sentence saying so. */
'use strict';

(function () {
  const { h, api, setMessage, fmtTime, fmtDuration, fmtNumber, plural, serverNow, isNum } = window.meshwatch.ui;
  const { live, session } = window.meshwatch;
  const { subjectLink, sevBadge, fmtClock } = window.meshwatch.events;

  const SEVERITIES = ['critical', 'warning', 'info'];
  const EVENT_KINDS = [
    ['peer_state', 'peer state', 'alive, suspect, dead, unknown'],
    ['target_state', 'target state', 'up, refused, timeout, unreachable, dns_error'],
    ['cert_expiry', 'certificate', 'valid, expiring, expiring_soon'],
    ['db_state', 'database', 'writable, not_writable'],
    ['black_hole', 'path MTU black hole', 'found, gone'],
    ['capture_state', 'capture', 'running, failed'],
  ];
  const METRICS = [['peer_rtt_ms', 'peer RTT (ms)'], ['peer_loss_pct', 'peer loss (%)']];
  const SILENCE_FOR = [[1800, '30 min'], [3600, '1 h'], [2 * 3600, '2 h'], [4 * 3600, '4 h'], [8 * 3600, '8 h'],
    [86400, '24 h'], [3 * 86400, '3 days'], [7 * 86400, '7 days']];
  const RESOLVED_SHOWN = 20;
  const REFRESH_MS = 10000;  // channels' counters and expiring silences
  const BADGE_MS = 15000;    // the navigation count, on other pages

  // Every user of a node is an administrator today; a user the server
  // marks otherwise sees no buttons (and the server would refuse anyway).
  const isAdmin = (u) => !u || (u.admin !== false && u.role !== 'viewer');

  // A configured duration: "4 h", "2 min", "1 h 30 min" (no "0 s" parts).
  function fmtSetting(sec) {
    let left = Math.max(0, Math.round(Number(sec) || 0));
    const parts = [];
    for (const [n, u] of [[86400, 'd'], [3600, 'h'], [60, 'min'], [1, 's']]) {
      if (left >= n) { parts.push(`${Math.floor(left / n)} ${u}`); left %= n; }
    }
    return parts.join(' ') || '0 s';
  }

  const sinceText = (t) => {
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? `${fmtClock(t)} (${fmtDuration((serverNow() - ms) / 1000)})` : '—';
  };

  function stateBadge(st) {
    const s = ['firing', 'pending', 'resolved'].includes(st) ? st : 'pending';
    return h('span', { class: `badge astate astate-${s}`, 'data-state': s, text: s });
  }

  function labelChips(labels) {
    const e = labels && typeof labels === 'object' ? Object.entries(labels) : [];
    return e.length ? h('ul', { class: 'chips' }, e.map(([k, v]) => h('li', { class: 'chip', text: `${k}=${v}` }))) : '—';
  }

  /* ---------- the count of firing alerts in the navigation ---------- */

  const badge = { unavailable: false, busy: false, at: 0 };

  function paintBadge(n) {
    session.setNavBadge('/alerts', n, n ? `${plural(n, 'alert', 'alerts')} firing` : '');
  }

  async function pollBadge(force) {
    if (badge.busy || badge.unavailable || (!force && Date.now() - badge.at < BADGE_MS)) return;
    badge.busy = true;
    badge.at = Date.now();
    try {
      const d = await api('GET', '/api/alerts?state=firing&limit=1');
      paintBadge(isNum(d.total) ? d.total : (d.items || []).length);
    } catch (e) {
      if (e.status === 404) { badge.unavailable = true; paintBadge(0); }
    } finally {
      badge.busy = false;
    }
  }
  // after each /api/node poll (every 5 s), at most every BADGE_MS
  session.onNode(() => pollBadge(false));

  /* ---------- rule form ---------- */

  const csv = (s) => String(s || '').split(/[\s,]+/).filter(Boolean);

  // "team=net, site=a" -> {team: "net", site: "a"}; throws on a bad pair
  function parseLabels(s) {
    const out = {};
    for (const part of String(s || '').split(',').map((x) => x.trim()).filter(Boolean)) {
      const m = /^([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(part);
      if (!m) throw new Error(`labels: "${part}" is not key=value`);
      out[m[1]] = m[2];
    }
    return out;
  }

  // ruleForm(rule|null, onSaved, onCancel): create (POST) or edit (PUT of
  // the fields that changed). The server's 400 detail shows under it.
  function ruleForm(r, onSaved, onCancel) {
    const f = {};
    const field = (id, label, input, hint, wide) => {
      f[id] = input;
      input.id = 'rf-' + id;
      input.name = id;
      return h('div', { class: 'field' + (wide ? ' field-wide' : ''), 'data-field': id }, h('label', { for: 'rf-' + id, text: label }), input,
        hint ? h('span', { class: 'muted small', text: hint }) : null);
    };
    const inp = (props) => h('input', Object.assign({ autocomplete: 'off' }, props));
    const select = (opts) => h('select', null, opts.map(([v, t]) => h('option', { value: v, text: t })));
    const err = h('p', { class: 'error', role: 'alert', hidden: true, id: 'rule-form-error' });
    const enabled = h('input', { type: 'checkbox', id: 'rf-enabled' });
    const kindHint = h('span', { class: 'muted small' });

    const common = [
      field('name', 'Name', inp({ required: true, maxlength: '64' })),
      field('type', 'Type', select([['event', 'on an event'], ['threshold', 'on a threshold']])),
      field('severity', 'Severity', select(SEVERITIES.map((s) => [s, s]))),
    ];
    const eventFields = h('div', { class: 'inline-form', 'data-for': 'event' },
      field('event_kind', 'Event kind', select(EVENT_KINDS.map(([k, t]) => [k, t]))),
      field('fire_on', 'Fires on', inp({ placeholder: 'dead' }), 'states, comma separated'),
      field('resolve_on', 'Resolves on', inp({ placeholder: 'alive' }), 'states, comma separated'));
    const thresholdFields = h('div', { class: 'inline-form', 'data-for': 'threshold' },
      field('metric', 'Metric', select(METRICS)),
      field('op', 'Above / below', select([['>', 'above (>)'], ['<', 'below (<)']])),
      field('threshold', 'Threshold', inp({ type: 'number', step: 'any', inputmode: 'decimal' })));
    const more = h('div', { class: 'inline-form' },
      field('for_s', 'For (s)', inp({ type: 'number', min: '0', step: '1' }), 'how long it must hold'),
      field('confirm_k', 'Vantage points', inp({ type: 'number', min: '0', step: '1' }), 'peer rules: how many must agree; 0 = a majority'),
      field('repeat_s', 'Repeat every (s)', inp({ type: 'number', min: '0', step: '1' }), '0: notify once'),
      field('group_wait_s', 'Group wait (s)', inp({ type: 'number', min: '0', step: '1' })),
      field('labels', 'Labels', inp({ placeholder: 'team=net, site=a' }), 'key=value, comma separated', true),
      h('div', { class: 'field field-check' }, enabled, h('label', { for: 'rf-enabled', text: 'Enabled' })));
    f.event_kind.parentNode.append(kindHint);

    const v = r || { type: 'event', severity: 'warning', event_kind: 'peer_state', fire_on: ['dead'], resolve_on: ['alive'],
      metric: 'peer_rtt_ms', op: '>', threshold: 100, for_s: 0, confirm_k: 0, repeat_s: 14400, group_wait_s: 2, labels: {}, enabled: true };
    const initial = {
      name: v.name || '', type: v.type || 'event', severity: v.severity || 'warning',
      event_kind: v.event_kind || 'peer_state', fire_on: (v.fire_on || []).join(', '), resolve_on: (v.resolve_on || []).join(', '),
      metric: v.metric || 'peer_rtt_ms', op: v.op || '>', threshold: isNum(v.threshold) ? String(v.threshold) : '',
      for_s: String(v.for_s || 0), confirm_k: String(v.confirm_k || 0), repeat_s: String(isNum(v.repeat_s) ? v.repeat_s : 14400),
      group_wait_s: String(isNum(v.group_wait_s) ? v.group_wait_s : 2),
      labels: Object.entries(v.labels || {}).map(([k, x]) => `${k}=${x}`).join(', '),
    };
    for (const [k, x] of Object.entries(initial)) f[k].value = x;
    enabled.checked = v.enabled !== false;
    if (r && r.builtin) f.name.readOnly = true; // a built-in rule keeps its name

    function paintType() {
      eventFields.hidden = f.type.value !== 'event';
      thresholdFields.hidden = f.type.value !== 'threshold';
      const k = EVENT_KINDS.find((x) => x[0] === f.event_kind.value);
      kindHint.textContent = k ? `states: ${k[2]}` : '';
    }
    f.type.addEventListener('change', paintType);
    f.event_kind.addEventListener('change', paintType);
    paintType();

    function body() {
      const num = (k) => Number(f[k].value || 0);
      const b = { name: f.name.value.trim(), type: f.type.value, severity: f.severity.value, enabled: enabled.checked,
        for_s: num('for_s'), confirm_k: num('confirm_k'), repeat_s: num('repeat_s'), group_wait_s: num('group_wait_s'),
        labels: parseLabels(f.labels.value) };
      if (b.type === 'event') Object.assign(b, { event_kind: f.event_kind.value, fire_on: csv(f.fire_on.value), resolve_on: csv(f.resolve_on.value) });
      else Object.assign(b, { metric: f.metric.value, op: f.op.value, threshold: Number(f.threshold.value) });
      return b;
    }

    const save = h('button', { type: 'submit', class: 'primary', id: 'rule-save', text: r ? 'Save rule' : 'Create rule' });
    const form = h('form', { class: 'rule-form', id: 'rule-form', novalidate: true, onsubmit: onSubmit },
      h('div', { class: 'inline-form' }, common), eventFields, thresholdFields, more,
      h('div', { class: 'form-actions' }, save, h('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: onCancel })), err);

    async function onSubmit(e) {
      e.preventDefault();
      let b;
      try { b = body(); } catch (x) { setMessage(err, x.message); return; }
      if (!b.name) { setMessage(err, 'Give the rule a name.'); return; }
      if (r) {
        // only what changed: a built-in rule may refuse other fields
        for (const k of Object.keys(b)) if (JSON.stringify(b[k]) === JSON.stringify(r[k])) delete b[k];
        if (!Object.keys(b).length) { onCancel(); return; }
      }
      save.disabled = true;
      setMessage(err, '');
      try {
        const saved = r ? await api('PUT', `/api/alerts/rules/${encodeURIComponent(r.id)}`, b) : await api('POST', '/api/alerts/rules', b);
        onSaved(saved);
      } catch (x) {
        if (!x.handled) setMessage(err, x.detail);
      } finally {
        save.disabled = false;
      }
    }
    return form;
  }

  function ruleCondition(r) {
    if (r.type === 'threshold') {
      const m = METRICS.find((x) => x[0] === r.metric);
      return `${m ? m[1] : r.metric} ${r.op === '<' ? 'below' : 'above'} ${fmtNumber(r.threshold)}` + (r.for_s ? ` for ${fmtSetting(r.for_s)}` : '');
    }
    const k = EVENT_KINDS.find((x) => x[0] === r.event_kind);
    const fire = (r.fire_on || []).join(' or ') || '—', res = (r.resolve_on || []).join(' or ');
    return `${k ? k[1] : r.event_kind} becomes ${fire}` + (res ? `; resolves on ${res}` : '') + (r.for_s ? `; after ${fmtSetting(r.for_s)}` : '');
  }

  function ruleOptions(r) {
    const o = [];
    const peerRule = r.event_kind === 'peer_state' || /^peer_/.test(r.metric || '');
    if (peerRule) o.push(r.confirm_k ? `${r.confirm_k} vantage points agree` : 'a majority of vantage points agree');
    o.push(r.repeat_s ? `repeats every ${fmtSetting(r.repeat_s)}` : 'notifies once');
    if (r.group_wait_s) o.push(`groups for ${fmtSetting(r.group_wait_s)}`);
    return o.join(' · ');
  }

  /* ---------- the page ---------- */

  function renderAlerts(view) {
    const admin = isAdmin(session.user());
    let alive = true, rules = [], ruleEdit = null, down = false, reloadTimer = null, missing = false;
    const names = new Map(); // subject -> name, from the alerts (silences carry none)
    const shown = { active: [], total: 0, resolved: [] }; // what the two tables show

    const flash = h('p', { class: 'status', role: 'status', hidden: true, id: 'alerts-flash' });
    const pageErr = h('p', { class: 'error', role: 'alert', hidden: true, id: 'alerts-error' });
    const mode = h('span', { class: 'mode', id: 'alerts-mode', role: 'status', 'data-mode': 'connecting', text: 'connecting…' });
    const count = h('span', { class: 'muted small', id: 'alerts-count' });
    const unavailable = h('section', { class: 'card', id: 'alerts-unavailable', hidden: true },
      h('h2', { text: 'Alerts are not available on this node' }),
      h('p', { class: 'muted', text: 'This node answered 404 for /api/alerts: its build has no alerting. It still records what changes: ' },
        h('a', { href: '#/events', text: 'see the events' }), '.'));

    const table = (id, cols, tbody) => h('div', { class: 'table-wrap' }, h('table', { class: 'table', id },
      h('thead', null, h('tr', null, cols.map((t) => h('th', { scope: 'col', text: t })))), tbody));
    const errP = () => h('p', { class: 'error', role: 'alert', hidden: true });
    const section = (id, title, ...body) => h('section', { class: 'card', id }, h('div', { class: 'toolbar' }, h('h2', { text: title }), body[0]), body.slice(1));

    const activeBody = h('tbody'), resolvedBody = h('tbody'), rulesBody = h('tbody'), silBody = h('tbody'), chBody = h('tbody');
    const errs = { active: errP(), resolved: errP(), rules: errP(), silences: errP(), channels: errP() };
    const activeCount = h('span', { class: 'muted small', id: 'alerts-active-count' });
    const ruleSlot = h('div', { id: 'rule-editor' });
    const newRuleBtn = admin ? h('button', { type: 'button', class: 'secondary', id: 'rule-new', text: 'New rule', onclick: () => { ruleEdit = 'new'; paintRuleEditor(); } }) : null;
    const silForm = silenceForm();

    const sections = h('div', { class: 'page-body', id: 'alerts-body' },
      section('alerts-active', 'Active alerts', activeCount, errs.active,
        table('alerts-active-table', ['State', 'Severity', 'Subject', 'Summary', 'Since (UTC)', 'Rule', ''], activeBody)),
      section('alerts-resolved', 'Recently resolved', h('span', { class: 'muted small', text: `the last ${RESOLVED_SHOWN}` }), errs.resolved,
        table('alerts-resolved-table', ['Resolved (UTC)', 'Severity', 'Subject', 'Summary', 'Lasted', 'Rule'], resolvedBody)),
      section('alerts-rules', 'Rules', newRuleBtn, errs.rules, ruleSlot,
        table('alerts-rules-table', ['Name', 'Condition', 'Severity', 'Labels', 'Options', 'Enabled', ''], rulesBody)),
      section('alerts-silences', 'Silences', null, errs.silences,
        admin ? silForm.el : null,
        table('alerts-silences-table', ['Matches', 'From (UTC)', 'Until (UTC)', 'Comment', 'By', ''], silBody)),
      section('alerts-channels', 'Notification channels', null, errs.channels,
        table('alerts-channels-table', ['Name', 'Type', 'Target', 'State', 'Queued / sent / failed', 'Last success', 'Last error', ''], chBody)));

    view.append(h('section', { class: 'page', id: 'alerts' },
      h('div', { class: 'page-head' }, h('h1', { text: 'Alerts' }), count, mode),
      flash, pageErr, unavailable, sections));

    const emptyRow = (cols, text) => h('tr', null, h('td', { colspan: String(cols), class: 'empty', text }));
    const say = (text) => { setMessage(flash, text); clearTimeout(say.t); say.t = setTimeout(() => setMessage(flash, ''), 6000); };
    const btn = (text, action, onclick, cls) => h('button', { type: 'button', class: (cls || 'secondary') + ' small-btn', 'data-action': action, text, onclick });

    // A click that changes something: the button waits, errors go to the page.
    async function act(button, fn) {
      if (button) button.disabled = true;
      setMessage(pageErr, '');
      try {
        await fn();
      } catch (e) {
        if (!e.handled && alive) setMessage(pageErr, e.detail || String(e));
      } finally {
        if (button) button.disabled = false;
      }
    }

    /* active and resolved */

    function paintActive(items, total) {
      shown.active = items;
      shown.total = total;
      const firing = items.filter((a) => a.state === 'firing').length;
      activeCount.textContent = `${plural(total, 'alert', 'alerts')}, ${firing} firing`;
      count.textContent = firing ? `${firing} firing` : 'nothing firing';
      activeBody.replaceChildren(...(items.length ? items.map((a) => h('tr', { 'data-alert-id': a.id, 'data-state': a.state },
        h('td', { 'data-label': 'State' }, stateBadge(a.state),
          a.acknowledged ? h('span', { class: 'tag', title: a.acked_by ? `by ${a.acked_by}` : null, text: 'acknowledged' }) : null,
          a.silenced ? h('span', { class: 'tag tag-source', text: 'silenced' }) : null),
        h('td', { 'data-label': 'Severity' }, sevBadge(a.severity)),
        h('td', { 'data-label': 'Subject' }, subjectLink(a.subject_type, a.subject, a.subject_name)),
        h('td', { 'data-label': 'Summary', class: 'alert-summary', text: a.summary || '—' }),
        h('td', { 'data-label': 'Since', class: 'nowrap', title: `started ${fmtTime(a.started_at)}` + (a.fired_at ? `, fired ${fmtTime(a.fired_at)}` : ''), text: sinceText(a.fired_at || a.started_at) }),
        h('td', { 'data-label': 'Rule', class: 'mono nowrap', text: a.rule || '—' }),
        h('td', { class: 'actions' }, admin ? [
          a.acknowledged
            ? btn('Unacknowledge', 'unack', (e) => act(e.currentTarget, async () => { await api('DELETE', `/api/alerts/${encodeURIComponent(a.id)}/ack`); say(`Alert ${a.id} is no longer acknowledged: reminders resume.`); loadAlerts(); }))
            : btn('Acknowledge', 'ack', (e) => act(e.currentTarget, async () => { await api('POST', `/api/alerts/${encodeURIComponent(a.id)}/ack`); say(`Alert ${a.id} acknowledged: no more reminders.`); loadAlerts(); })),
          btn('Silence…', 'silence', () => silForm.prefill(a)),
        ] : null)))
        : [emptyRow(7, 'No active alerts.')]));
    }

    function paintResolved(items) {
      shown.resolved = items;
      resolvedBody.replaceChildren(...(items.length ? items.map((a) => {
        const lasted = (Date.parse(a.resolved_at) - Date.parse(a.started_at)) / 1000;
        return h('tr', { 'data-alert-id': a.id, 'data-state': a.state },
          h('td', { 'data-label': 'Resolved', class: 'nowrap', title: fmtTime(a.resolved_at), text: fmtClock(a.resolved_at) }),
          h('td', { 'data-label': 'Severity' }, sevBadge(a.severity)),
          h('td', { 'data-label': 'Subject' }, subjectLink(a.subject_type, a.subject, a.subject_name)),
          h('td', { 'data-label': 'Summary', class: 'alert-summary', text: a.summary || '—' }),
          h('td', { 'data-label': 'Lasted', class: 'nowrap', text: Number.isFinite(lasted) ? fmtDuration(lasted) : '—' }),
          h('td', { 'data-label': 'Rule', class: 'mono nowrap', text: a.rule || '—' }));
      }) : [emptyRow(6, 'Nothing resolved yet.')]));
    }

    // true when the node has the alerts API
    async function loadAlerts() {
      const [actR, resR] = await Promise.allSettled([
        api('GET', '/api/alerts?state=active&limit=100'),
        api('GET', `/api/alerts?state=resolved&limit=${RESOLVED_SHOWN}`),
      ]);
      if (!alive) return false;
      if (actR.status === 'rejected' && actR.reason.status === 404) {
        missing = true; // no alerting in this build: no more asking
        setMode();
        unavailable.hidden = false;
        sections.hidden = true;
        count.textContent = '';
        return false;
      }
      unavailable.hidden = true;
      sections.hidden = false;
      for (const [r, key, paint] of [[actR, 'active', (d) => paintActive(d.items || [], isNum(d.total) ? d.total : (d.items || []).length)],
        [resR, 'resolved', (d) => paintResolved(d.items || [])]]) {
        if (r.status === 'fulfilled') { setMessage(errs[key], ''); paint(r.value); } else if (!r.reason.handled) setMessage(errs[key], `Could not load: ${r.reason.detail}`);
      }
      for (const r of [actR, resR]) if (r.status === 'fulfilled') for (const a of r.value.items || []) if (a.subject_name) names.set(a.subject, a.subject_name);
      pollBadge(true);
      return true;
    }

    /* rules */

    function paintRuleEditor() {
      const r = ruleEdit === 'new' ? null : rules.find((x) => x.id === ruleEdit);
      if (!ruleEdit || (ruleEdit !== 'new' && !r)) {
        ruleEdit = null;
        ruleSlot.replaceChildren();
        return;
      }
      ruleSlot.replaceChildren(h('div', { class: 'card inset' }, h('h3', { text: r ? `Edit rule “${r.name}”` : 'New rule' }),
        ruleForm(r, (saved) => {
          say(r ? `Rule “${saved.name || r.name}” saved.` : `Rule “${saved.name}” created.`);
          ruleEdit = null; paintRuleEditor(); loadRules();
        }, () => { ruleEdit = null; paintRuleEditor(); })));
      const first = ruleSlot.querySelector('input:not([readonly]), select');
      if (first) first.focus();
    }

    function paintRules() {
      rulesBody.replaceChildren(...(rules.length ? rules.map((r) => {
        const toggle = h('input', { type: 'checkbox', 'aria-label': `Rule ${r.name} enabled`, 'data-action': 'enable', disabled: !admin });
        toggle.checked = r.enabled !== false;
        toggle.addEventListener('change', () => act(toggle, async () => {
          try {
            await api('PUT', `/api/alerts/rules/${encodeURIComponent(r.id)}`, { enabled: toggle.checked });
            say(`Rule “${r.name}” ${toggle.checked ? 'enabled' : 'disabled'}.`);
          } finally {
            loadRules();
          }
        }));
        return h('tr', { 'data-rule-id': r.id, 'data-rule': r.name },
          h('td', { 'data-label': 'Name', class: 'nowrap' }, h('span', { class: 'mono', text: r.name }), r.builtin ? h('span', { class: 'tag tag-source', text: 'built-in' }) : null),
          h('td', { 'data-label': 'Condition', text: ruleCondition(r) }),
          h('td', { 'data-label': 'Severity' }, sevBadge(r.severity)),
          h('td', { 'data-label': 'Labels' }, labelChips(r.labels)),
          h('td', { 'data-label': 'Options', class: 'small', text: ruleOptions(r) }),
          h('td', { 'data-label': 'Enabled' }, toggle),
          h('td', { class: 'actions' }, admin ? [
            btn('Edit', 'edit', () => { ruleEdit = r.id; paintRuleEditor(); }),
            r.builtin ? null : btn('Delete', 'delete', (e) => {
              if (!window.confirm(`Delete rule “${r.name}”? Its alerts resolve.`)) return;
              act(e.currentTarget, async () => { await api('DELETE', `/api/alerts/rules/${encodeURIComponent(r.id)}`); say(`Rule “${r.name}” deleted.`); loadRules(); });
            }, 'danger'),
          ] : null));
      }) : [emptyRow(7, 'No rules.')]));
      silForm.setRules(rules);
    }

    async function loadRules() {
      try {
        const d = await api('GET', '/api/alerts/rules');
        if (!alive) return;
        rules = d.items || [];
        setMessage(errs.rules, '');
        paintRules();
      } catch (e) {
        if (!e.handled && alive && e.status !== 404) setMessage(errs.rules, `Could not load: ${e.detail}`);
      }
    }

    /* silences */

    function silenceForm() {
      const rule = h('select', { id: 'sf-rule', name: 'rule' }, h('option', { value: '', text: 'any rule' }));
      const stype = h('select', { id: 'sf-subject_type', name: 'subject_type' },
        [['', 'any subject'], ['peer', 'a peer'], ['target', 'a target'], ['node', 'this node']].map(([v, t]) => h('option', { value: v, text: t })));
      const subject = h('input', { id: 'sf-subject', name: 'subject', autocomplete: 'off', list: 'sf-subjects', placeholder: 'ID (any when empty)' });
      const subjects = h('datalist', { id: 'sf-subjects' });
      const dur = h('select', { id: 'sf-duration', name: 'duration_s' }, SILENCE_FOR.map(([s, t]) => h('option', { value: String(s), text: t })));
      dur.value = '3600';
      const comment = h('input', { id: 'sf-comment', name: 'comment', autocomplete: 'off', maxlength: '200', placeholder: 'why (shown to everyone)' });
      const err = h('p', { class: 'error', role: 'alert', hidden: true, id: 'silence-error' });
      const save = h('button', { type: 'submit', class: 'primary', id: 'silence-save', text: 'Silence' });
      const fld = (id, label, input) => h('div', { class: 'field' }, h('label', { for: id, text: label }), input);
      const el = h('form', { class: 'inline-form', id: 'silence-form', novalidate: true, onsubmit: onSubmit },
        fld('sf-rule', 'Rule', rule), fld('sf-subject_type', 'Subject', stype), fld('sf-subject', 'Subject ID', subject), subjects,
        fld('sf-duration', 'For', dur), fld('sf-comment', 'Comment', comment), h('div', { class: 'field field-button' }, save), err);
      subject.addEventListener('focus', fillSubjects, { once: true });

      async function onSubmit(e) {
        e.preventDefault();
        const b = { duration_s: Number(dur.value), comment: comment.value.trim() };
        if (rule.value) b.rule = rule.value;
        if (stype.value) b.subject_type = stype.value;
        if (subject.value.trim()) b.subject = subject.value.trim();
        if (!b.rule && !b.subject && !b.subject_type && !window.confirm('This silence matches every alert. Silence everything?')) return;
        save.disabled = true;
        setMessage(err, '');
        try {
          await api('POST', '/api/alerts/silences', b);
          say(`Silenced for ${SILENCE_FOR.find((x) => x[0] === b.duration_s)[1]}.`);
          rule.value = '';
          stype.value = '';
          subject.value = '';
          comment.value = '';
          loadSilences();
          loadAlerts();
        } catch (x) {
          if (!x.handled) setMessage(err, x.detail);
        } finally {
          save.disabled = false;
        }
      }

      // the known peers and targets as suggestions (IDs, names shown)
      async function fillSubjects() {
        const opts = [];
        try {
          const [n, t] = await Promise.allSettled([api('GET', '/api/nodes?limit=5000'), api('GET', '/api/targets?limit=1000')]);
          if (n.status === 'fulfilled') for (const p of n.value.items || []) opts.push(h('option', { value: p.id, label: `peer ${p.fqdn}` }));
          if (t.status === 'fulfilled') for (const x of t.value.items || []) opts.push(h('option', { value: String(x.id), label: `target ${x.name}` }));
        } catch (e) { /* suggestions only */ }
        subjects.replaceChildren(...opts);
      }

      return {
        el,
        setRules(list) {
          const keep = rule.value;
          rule.replaceChildren(h('option', { value: '', text: 'any rule' }), ...list.map((r) => h('option', { value: r.name, text: r.name })));
          rule.value = list.some((r) => r.name === keep) ? keep : '';
        },
        // "Silence…" on an active alert: its rule and subject
        prefill(a) {
          if (![...rule.options].some((o) => o.value === a.rule)) rule.append(h('option', { value: a.rule, text: a.rule }));
          rule.value = a.rule || '';
          stype.value = ['peer', 'target', 'node'].includes(a.subject_type) ? a.subject_type : '';
          subject.value = a.subject || '';
          el.scrollIntoView({ block: 'center' });
          comment.focus();
        },
      };
    }

    function silenceMatch(s) {
      const parts = [];
      if (s.rule) parts.push(h('span', null, 'rule ', h('span', { class: 'mono', text: s.rule })));
      if (s.subject) parts.push(h('span', null, parts.length ? ', ' : '', subjectLink(s.subject_type, s.subject, s.subject_name || names.get(s.subject))));
      else if (s.subject_type) parts.push(h('span', { text: `${parts.length ? ', ' : ''}every ${s.subject_type}` }));
      return parts.length ? parts : h('strong', { text: 'every alert' });
    }

    function paintSilences(items) {
      silBody.replaceChildren(...(items.length ? items.map((s) => h('tr', { 'data-silence-id': s.id },
        h('td', { 'data-label': 'Matches' }, silenceMatch(s), s.active === false ? h('span', { class: 'tag tag-source', text: 'not started' }) : null),
        h('td', { 'data-label': 'From', class: 'nowrap', title: fmtTime(s.starts_at), text: fmtClock(s.starts_at) }),
        h('td', { 'data-label': 'Until', class: 'nowrap', title: fmtTime(s.ends_at), text: `${fmtClock(s.ends_at)}` +
          (Number.isFinite(Date.parse(s.ends_at)) ? ` (in ${fmtDuration((Date.parse(s.ends_at) - serverNow()) / 1000)})` : '') }),
        h('td', { 'data-label': 'Comment', class: 'alert-summary', text: s.comment || '—' }),
        h('td', { 'data-label': 'By', text: s.created_by || '—' }),
        h('td', { class: 'actions' }, admin ? btn('Delete', 'delete', (e) => act(e.currentTarget, async () => {
          await api('DELETE', `/api/alerts/silences/${encodeURIComponent(s.id)}`);
          say('Silence deleted.');
          loadSilences();
          loadAlerts();
        }), 'danger') : null)))
        : [emptyRow(6, 'No silences.')]));
    }

    async function loadSilences() {
      try {
        const d = await api('GET', '/api/alerts/silences');
        if (!alive) return;
        setMessage(errs.silences, '');
        paintSilences(d.items || []);
      } catch (e) {
        if (!e.handled && alive && e.status !== 404) setMessage(errs.silences, `Could not load: ${e.detail}`);
      }
    }

    /* channels */

    function chBadge(st) {
      const s = ['ok', 'failing', 'idle'].includes(st) ? st : 'idle';
      return h('span', { class: `badge chstate chstate-${s}`, 'data-state': s, text: s });
    }

    function paintChannels(items) {
      chBody.replaceChildren(...(items.length ? items.map((c) => h('tr', { 'data-channel': c.name },
        h('td', { 'data-label': 'Name', class: 'mono nowrap', text: c.name }),
        h('td', { 'data-label': 'Type', text: (c.type || '—') + (c.min_severity && c.min_severity !== 'info' ? ` (${c.min_severity} and worse)` : '') }),
        h('td', { 'data-label': 'Target', class: 'mono alert-summary', text: c.target || '—' }),
        h('td', { 'data-label': 'State' }, chBadge(c.state)),
        h('td', { 'data-label': 'Counts', class: 'nowrap', text: `${fmtNumber(c.queued)} / ${fmtNumber(c.sent)} / ${fmtNumber(c.failed)}` }),
        h('td', { 'data-label': 'Last success', class: 'nowrap', title: fmtTime(c.last_ok_at), text: c.last_ok_at ? fmtClock(c.last_ok_at) : 'never' }),
        h('td', { 'data-label': 'Last error', class: 'alert-summary' }, c.last_error
          ? [h('span', { class: 'err-text', text: c.last_error }), h('span', { class: 'muted small', text: c.last_error_at ? ` at ${fmtClock(c.last_error_at)}` : '' })] : '—'),
        h('td', { class: 'actions' }, admin ? btn('Send test', 'test', (e) => act(e.currentTarget, async () => {
          await api('POST', `/api/alerts/channels/${encodeURIComponent(c.name)}/test`);
          say(`A test message to ${c.name} is queued.`);
          setTimeout(loadChannels, 1500);
        })) : null)))
        : [emptyRow(8, 'No notification channels are configured.')]));
    }

    async function loadChannels() {
      try {
        const d = await api('GET', '/api/alerts/channels');
        if (!alive) return;
        setMessage(errs.channels, '');
        paintChannels(d.items || []);
      } catch (e) {
        if (!e.handled && alive && e.status !== 404) setMessage(errs.channels, `Could not load: ${e.detail}`);
      }
    }

    /* live */

    function setMode() {
      mode.hidden = missing;
      const serves = live.serves('alerts');
      const m = down || serves === false ? 'polling' : serves ? 'live' : 'connecting';
      mode.dataset.mode = m;
      mode.textContent = m === 'connecting' ? 'connecting…' : m;
      mode.title = m === 'live' ? 'Changed alerts arrive over the WebSocket' : m === 'polling' ? `Asking again every ${REFRESH_MS / 1000} s` : 'Connecting…';
    }

    const unlive = live.subscribe('alerts', (m, closed) => {
      down = !!closed;
      setMode();
      if (m && Array.isArray(m.items) && !missing) {
        onFrame(m.items);
        // and the lists from the node a little later (counts, order)
        clearTimeout(reloadTimer);
        reloadTimer = setTimeout(loadAlerts, 1500);
      }
    });

    // The changed alerts go to their table at once: active ones replace
    // their row (or come first), resolved ones move to the resolved table.
    function onFrame(changed) {
      let active = shown.active, total = shown.total, resolved = shown.resolved;
      for (const a of changed) {
        if (!a || a.id === undefined) continue;
        if (a.subject_name) names.set(a.subject, a.subject_name);
        const was = active.some((x) => x.id === a.id);
        active = active.filter((x) => x.id !== a.id);
        if (a.state === 'resolved') {
          if (was) total--;
          resolved = [a].concat(resolved.filter((x) => x.id !== a.id)).slice(0, RESOLVED_SHOWN);
        } else {
          if (!was) total++;
          active = [a].concat(active);
        }
      }
      paintActive(active, Math.max(total, active.length));
      paintResolved(resolved);
      paintBadge(active.filter((x) => x.state === 'firing').length);
    }

    async function loadAll() {
      if (await loadAlerts()) {
        loadRules();
        loadSilences();
        loadChannels();
      }
    }
    const timer = setInterval(() => {
      setMode();
      if (!missing) loadAlerts().then((ok) => { if (ok) { loadSilences(); loadChannels(); } });
    }, REFRESH_MS);
    setMode();
    setTimeout(setMode, 1500);
    loadAll();
    return () => { alive = false; unlive(); clearInterval(timer); clearTimeout(reloadTimer); };
  }

  window.meshwatch.registerPage({ path: '/alerts', label: 'Alerts', render: renderAlerts });
})();
