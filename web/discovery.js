/* meshwatch dashboard: the discovery page(s). Loaded after app.js; registers its
   routes with window.meshwatch.registerPage and draws with the helpers in
   window.meshwatch.ui (same rules as app.js: no innerHTML, no inline
   style or script).

   /discovery   a scan form with live progress (WebSocket topic "scans"),
                run here or on an alive member of the mesh ("Run on"),
                recent scans (where each ran and who asked), discovered
                hosts with their services (filters, pages) and recent
                changes
   /hosts/:ip   one host: addresses, names, services, its changes */
'use strict';

(function () {
  const { h, api, setMessage, fmtTime, fmtAgo, fmtNumber, plural, DASH, backLink } = window.meshwatch.ui;
  const live = window.meshwatch.live;
  const HOSTS_PAGE = 50;
  const POLL_MS = 5000;

  const CHANGE_LABEL = {
    new_host: 'new host', host_back: 'host back', host_gone: 'host gone',
    port_opened: 'port opened', port_closed: 'port closed',
  };
  const STATE_BADGE = {
    queued: 'state-unknown', running: 'state-suspect', completed: 'state-alive',
    failed: 'state-dead', cancelled: 'state-unknown', up: 'state-alive', gone: 'state-dead',
  };

  function badge(text) {
    return h('span', { class: 'badge state ' + (STATE_BADGE[text] || 'state-unknown'), text });
  }

  function serviceChips(services) {
    return h('ul', { class: 'chips disc-services' }, services.map((s) =>
      h('li', { class: 'chip disc-conf-' + s.confidence, title: `${s.service} (${s.confidence} confidence)${s.banner ? '\n' + s.banner : ''}` },
        h('span', { class: 'disc-port', text: String(s.port) }), ' ', s.service)));
  }

  function hostLink(ip) {
    return h('a', { href: '#/hosts/' + encodeURIComponent(ip), text: ip });
  }

  function changeRow(c) {
    return h('tr', null,
      h('td', { text: fmtTime(c.time) }),
      h('td', null, h('span', { class: 'disc-change disc-change-' + c.kind, text: CHANGE_LABEL[c.kind] || c.kind })),
      h('td', null, hostLink(c.ip)),
      h('td', { class: 'num', text: c.port === null ? DASH : String(c.port) }),
      h('td', { text: c.detail || DASH }));
  }

  function changesTable(id) {
    const tbody = h('tbody');
    const table = h('table', { id, class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', text: 'Time' }), h('th', { scope: 'col', text: 'Change' }),
        h('th', { scope: 'col', text: 'Host' }), h('th', { scope: 'col', class: 'num', text: 'Port' }),
        h('th', { scope: 'col', text: 'Detail' }))),
      tbody);
    return { table, tbody };
  }

  // "10.0.0.0/24, 10.0.1.0/24" and "22, 80, 8000-8010" into arrays
  function splitList(text) {
    return text.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
  }

  /* ---------- /discovery ---------- */

  function renderDiscovery(view) {
    let alive = true;
    const page = { offset: 0, total: 0, q: '', service: '', port: '', seq: 0, lastScan: null, defaults: null };

    const subnets = h('input', { id: 'scan-subnets', name: 'subnets', placeholder: 'all allowed subnets (asks first)', autocomplete: 'off', spellcheck: 'false' });
    const ports = h('input', { id: 'scan-ports', name: 'ports', placeholder: 'built-in list, e.g. 22, 80, 8000-8010', autocomplete: 'off', spellcheck: 'false' });
    const scanErr = h('p', { id: 'scan-error', class: 'error', role: 'alert', hidden: true });
    const scanBtn = h('button', { type: 'submit', class: 'primary', id: 'scan-submit', text: 'Start scan' });
    // where the scan runs: this node, or an alive member (its own limits
    // and default subnets apply there; its hosts stay its own)
    const runOn = h('select', { id: 'scan-node', name: 'node' }, h('option', { value: '', text: 'this node' }));
    const form = h('form', { id: 'scan-form', class: 'inline-form', novalidate: true, onsubmit: onScan },
      h('div', { class: 'field' }, h('label', { for: 'scan-node', text: 'Run on' }), runOn),
      h('div', { class: 'field' }, h('label', { for: 'scan-subnets', text: 'Subnets (CIDR)' }), subnets),
      h('div', { class: 'field' }, h('label', { for: 'scan-ports', text: 'Ports' }), ports),
      h('div', { class: 'field field-button' }, scanBtn));

    const bar = h('progress', { id: 'scan-bar', max: '1', value: '0' });
    const progText = h('span', { id: 'scan-progress-text', class: 'muted' });
    const cancelBtn = h('button', { type: 'button', class: 'secondary', id: 'scan-cancel', text: 'Cancel', onclick: onCancel });
    const progress = h('div', { id: 'scan-progress', class: 'disc-progress', hidden: true }, bar, progText, cancelBtn);

    // A scan with empty fields covers every allowed subnet: by default the
    // networks this machine is connected to. The page says which, and asks.
    const defaultsHint = h('p', { id: 'scan-defaults', class: 'muted small hint', text: 'Leave the fields empty to scan every subnet this node may scan, on the built-in ports.' });
    const confirmText = h('span', { id: 'scan-confirm-text' });
    const confirmYes = h('button', { type: 'button', class: 'primary', id: 'scan-confirm-yes', text: 'Scan these subnets', onclick: () => { confirmBox.hidden = true; startScan(true); } });
    const confirmNo = h('button', { type: 'button', class: 'secondary', id: 'scan-confirm-no', text: 'Cancel', onclick: () => { confirmBox.hidden = true; } });
    const confirmBox = h('div', { id: 'scan-confirm', class: 'disc-progress', role: 'alertdialog', 'aria-labelledby': 'scan-confirm-text', hidden: true },
      confirmText, confirmYes, confirmNo);

    const scansBody = h('tbody');
    const scansTable = h('table', { id: 'scans-table', class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'num', text: 'ID' }), h('th', { scope: 'col', text: 'State' }),
        h('th', { scope: 'col', text: 'Subnets' }), h('th', { scope: 'col', text: 'Ran on' }),
        h('th', { scope: 'col', text: 'Asked by' }), h('th', { scope: 'col', text: 'Started' }),
        h('th', { scope: 'col', class: 'num', text: 'Hosts up' }), h('th', { scope: 'col', class: 'num', text: 'Open ports' }))),
      scansBody);

    const q = h('input', { id: 'hosts-q', type: 'search', placeholder: 'Address, name, MAC or vendor', 'aria-label': 'Search hosts', autocomplete: 'off' });
    const svc = h('input', { id: 'hosts-service', type: 'search', placeholder: 'Service', 'aria-label': 'Service', autocomplete: 'off' });
    const port = h('input', { id: 'hosts-port', type: 'number', min: '1', max: '65535', placeholder: 'Port', 'aria-label': 'Port' });
    const hostsErr = h('p', { id: 'hosts-error', class: 'error', role: 'alert', hidden: true });
    const hostsBody = h('tbody');
    const hostsTable = h('table', { id: 'hosts-table', class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', text: 'Address' }), h('th', { scope: 'col', text: 'Name' }),
        h('th', { scope: 'col', text: 'Vendor' }), h('th', { scope: 'col', text: 'Services' }),
        h('th', { scope: 'col', text: 'State' }), h('th', { scope: 'col', text: 'Last seen' }))),
      hostsBody);
    const prev = h('button', { type: 'button', class: 'secondary', id: 'hosts-prev', text: '← Previous', onclick: () => go(page.offset - HOSTS_PAGE) });
    const next = h('button', { type: 'button', class: 'secondary', id: 'hosts-next', text: 'Next →', onclick: () => go(page.offset + HOSTS_PAGE) });
    const range = h('span', { id: 'hosts-range', class: 'muted' });
    const count = h('span', { class: 'muted small', id: 'hosts-count' });
    const changes = changesTable('changes-table');

    view.append(h('section', { class: 'page', id: 'discovery' },
      h('div', { class: 'page-head' }, h('h1', { text: 'Discovery' }), count),
      h('section', { class: 'card' }, h('h2', { text: 'Scan' }), form, scanErr, confirmBox, progress, defaultsHint,
        h('div', { class: 'table-wrap' }, scansTable)),
      h('section', { class: 'card' },
        h('div', { class: 'toolbar' }, h('h2', { text: 'Hosts' }), q, svc, port),
        hostsErr,
        h('div', { class: 'table-wrap' }, hostsTable),
        h('div', { class: 'pager' }, prev, range, next)),
      h('section', { class: 'card' }, h('h2', { text: 'Recent changes' }),
        h('div', { class: 'table-wrap' }, changes.table))));

    let filterTimer = null;
    for (const el of [q, svc, port]) {
      el.addEventListener('input', () => {
        clearTimeout(filterTimer);
        filterTimer = setTimeout(() => {
          page.q = q.value.trim(); page.service = svc.value.trim(); page.port = port.value.trim();
          go(0);
        }, 250);
      });
    }

    function go(offset) { page.offset = Math.max(0, offset); loadHosts(); }

    // "192.168.1.0/24 (eth0), 10.0.0.0/24" from GET /api/scans/defaults or a 409's subnets
    function defaultsText(list) {
      return list.length ? list.map((x) => x.subnet + (x.interface ? ` (${x.interface})` : '')).join(', ') : 'no subnet';
    }

    async function loadDefaults() {
      try {
        const d = await api('GET', '/api/scans/defaults');
        if (!alive) return;
        page.defaults = d.subnets;
        defaultsHint.textContent = `A scan with empty fields covers: ${defaultsText(d.subnets)}` +
          (d.source === 'scan_subnets' ? ' (scan_subnets)' : ' (the connected subnets)') + ', on the built-in ports unless Ports says otherwise.';
      } catch (e) { /* the hint keeps its general text; the server still asks */ }
    }

    function askConfirm(list) {
      confirmText.textContent = `A scan with empty fields covers: ${defaultsText(list)}. Scan ${list.length === 1 ? 'it' : 'all of them'}?`;
      confirmBox.hidden = false;
      confirmYes.focus();
    }

    // The alive members a scan can run on; the choice is kept while they stay.
    async function loadMembers() {
      try {
        const d = await api('GET', '/api/nodes?state=alive&limit=500');
        if (!alive) return;
        const keep = runOn.value;
        const peers = d.items.filter((p) => p.state === 'alive').sort((a, b) => a.fqdn.localeCompare(b.fqdn));
        runOn.replaceChildren(h('option', { value: '', text: 'this node' }),
          ...peers.map((p) => h('option', { value: p.id, text: `${p.fqdn} (${p.ip})` })));
        runOn.value = peers.some((p) => p.id === keep) ? keep : '';
      } catch (e) { /* the list keeps what it had */ }
    }

    function onScan(ev) {
      ev.preventDefault();
      setMessage(scanErr, '');
      confirmBox.hidden = true;
      // another node's defaults are its own: that node says which when asked
      if (!splitList(subnets.value).length && page.defaults && !runOn.value) { askConfirm(page.defaults); return; }
      startScan(false);
    }

    async function startScan(confirmed) {
      const body = {};
      const sn = splitList(subnets.value), pt = splitList(ports.value);
      if (sn.length) body.subnets = sn;
      else if (confirmed) body.confirm = true;
      if (pt.length) body.ports = pt.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      if (runOn.value) body.node = runOn.value;
      scanBtn.disabled = true;
      try {
        const s = await api('POST', '/api/scans', body);
        showProgress(s);
        loadScans();
      } catch (e) {
        if (e.code === 'confirm_required' && body.node) { askConfirm([]); confirmText.textContent = e.detail; }
        else if (e.code === 'confirm_required') { loadDefaults(); askConfirm(page.defaults || []); if (!page.defaults) confirmText.textContent = e.detail; }
        else if (!e.handled) setMessage(scanErr, e.detail, 'error');
      } finally {
        scanBtn.disabled = false;
      }
    }

    async function onCancel() {
      if (!page.lastScan) return;
      try {
        await api('DELETE', '/api/scans/' + page.lastScan.id);
        loadScans();
      } catch (e) {
        if (!e.handled) setMessage(scanErr, e.detail, 'error');
      }
    }

    function showProgress(s) {
      page.lastScan = s;
      const running = s.state === 'queued' || s.state === 'running';
      progress.hidden = !running;
      if (!running) return;
      const p = s.progress;
      bar.max = Math.max(1, p.hosts_total);
      bar.value = p.hosts_done;
      progText.textContent = `Scan ${s.id} ${s.state}${s.node ? ' on ' + s.node.fqdn : ''}: ${fmtNumber(p.hosts_done)} of ${plural(p.hosts_total, 'host', 'hosts')}, ` +
        `${plural(p.found, 'open port', 'open ports')} so far`;
    }

    async function loadScans() {
      try {
        const d = await api('GET', '/api/scans?limit=10');
        if (!alive) return;
        scansBody.replaceChildren(...d.items.map((s) => h('tr', null,
          h('td', { class: 'num', text: String(s.id) }),
          h('td', null, badge(s.state)),
          h('td', { text: s.subnets.join(', ') }),
          h('td', { class: 'scan-node', text: s.node ? s.node.fqdn : 'this node', title: s.node ? `${s.node.id}, its scan ${s.remote_scan_id}` : '' }),
          h('td', { class: 'scan-asked-by', text: s.requested_by ? s.requested_by.fqdn : s.trigger === 'schedule' ? 'schedule' : 'a user here', title: s.requested_by ? s.requested_by.id : '' }),
          h('td', { text: s.started_at ? fmtAgo(s.started_at) : DASH }),
          h('td', { class: 'num', text: String(s.progress.hosts_up) }),
          h('td', { class: 'num', text: String(s.progress.found) }))));
        const top = d.items[0];
        const was = page.lastScan;
        if (top) showProgress(top);
        // a scan finished since the last look: its hosts and changes are new
        if (was && top && (was.id !== top.id || was.state !== top.state)) { loadHosts(); loadChanges(); }
      } catch (e) { /* shown by the next successful poll */ }
    }

    async function loadHosts() {
      const seq = ++page.seq;
      const qs = new URLSearchParams({ limit: String(HOSTS_PAGE), offset: String(page.offset) });
      if (page.q) qs.set('q', page.q);
      if (page.service) qs.set('service', page.service);
      if (page.port) qs.set('port', page.port);
      try {
        const d = await api('GET', '/api/hosts?' + qs.toString());
        if (!alive || seq !== page.seq) return;
        setMessage(hostsErr, '');
        page.total = d.total;
        count.textContent = plural(d.total, 'host', 'hosts');
        hostsBody.replaceChildren(...(d.items.length ? d.items.map((x) => h('tr', null,
          h('td', null, hostLink(x.ip)),
          h('td', { text: x.hostname && x.hostname !== x.ip ? x.hostname : DASH }),
          h('td', { text: x.vendor || DASH }),
          h('td', null, x.services.length ? serviceChips(x.services) : DASH),
          h('td', null, badge(x.state)),
          h('td', { text: fmtAgo(x.last_seen) }))) : [h('tr', null, h('td', { colspan: '6', class: 'muted', text: 'No hosts yet: start a scan.' }))]));
        range.textContent = d.total ? `${page.offset + 1}–${page.offset + d.items.length} of ${fmtNumber(d.total)}` : '';
        prev.disabled = page.offset === 0;
        next.disabled = page.offset + d.items.length >= d.total;
      } catch (e) {
        if (!e.handled && alive) setMessage(hostsErr, e.detail, 'error');
      }
    }

    async function loadChanges() {
      try {
        const d = await api('GET', '/api/changes?limit=20');
        if (!alive) return;
        changes.tbody.replaceChildren(...(d.items.length ? d.items.map(changeRow)
          : [h('tr', null, h('td', { colspan: '5', class: 'muted', text: 'No changes recorded.' }))]));
      } catch (e) { /* keep what is shown */ }
    }

    const unsub = live.subscribe('scans', (frame) => { if (frame && frame.scan) showProgress(frame.scan); });
    const poll = setInterval(() => { loadScans(); loadMembers(); }, POLL_MS);
    loadMembers();
    loadScans();
    loadHosts();
    loadChanges();
    loadDefaults();
    return () => { alive = false; unsub(); clearInterval(poll); clearTimeout(filterTimer); };
  }

  /* ---------- /hosts/:ip ---------- */

  function renderHost(view, params) {
    let alive = true;
    const ip = params.ip;
    const err = h('p', { id: 'host-error', class: 'error', role: 'alert', hidden: true });
    const facts = h('dl', { id: 'host-facts', class: 'disc-facts' });
    const svcBody = h('tbody');
    const svcTable = h('table', { id: 'host-services', class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'num', text: 'Port' }), h('th', { scope: 'col', text: 'Service' }),
        h('th', { scope: 'col', text: 'Confidence' }), h('th', { scope: 'col', text: 'Banner' }),
        h('th', { scope: 'col', text: 'Title / certificate' }), h('th', { scope: 'col', text: 'First seen' }),
        h('th', { scope: 'col', text: 'Last seen' }))),
      svcBody);
    const changes = changesTable('host-changes');
    view.append(h('section', { class: 'page', id: 'host' },
      backLink('#/discovery', 'Discovery'),
      h('div', { class: 'page-head' }, h('h1', { text: ip })),
      err,
      h('section', { class: 'card' }, h('h2', { text: 'Host' }), facts),
      h('section', { class: 'card' }, h('h2', { text: 'Services' }), h('div', { class: 'table-wrap' }, svcTable)),
      h('section', { class: 'card' }, h('h2', { text: 'Changes' }), h('div', { class: 'table-wrap' }, changes.table))));

    function fact(k, v) { return [h('dt', { text: k }), h('dd', null, v)]; }

    (async () => {
      try {
        const x = await api('GET', '/api/hosts/' + encodeURIComponent(ip));
        if (!alive) return;
        facts.replaceChildren(
          ...fact('Name', `${x.hostname} (${x.hostname_source})`),
          ...fact('State', badge(x.state)),
          ...fact('MAC', x.mac || DASH),
          ...fact('Vendor', x.vendor || DASH),
          ...fact('Source', x.source + (x.detail ? ': ' + x.detail : '')),
          ...fact('First seen', fmtTime(x.first_seen)),
          ...fact('Last seen', fmtTime(x.last_seen)));
        svcBody.replaceChildren(...(x.services.length ? x.services.map((s) => h('tr', null,
          h('td', { class: 'num', text: `${s.port}/${s.proto}` }),
          h('td', { text: s.service }),
          h('td', null, h('span', { class: 'chip disc-conf-' + s.confidence, text: s.confidence })),
          h('td', { class: 'disc-banner', text: s.banner || DASH }),
          h('td', { text: [s.title, s.tls_subject].filter(Boolean).join(' · ') || DASH }),
          h('td', { text: fmtTime(s.first_seen) }),
          h('td', { text: fmtAgo(s.last_seen) }))) : [h('tr', null, h('td', { colspan: '7', class: 'muted', text: 'No open ports found.' }))]));
        const c = await api('GET', '/api/changes?limit=100&ip=' + encodeURIComponent(ip));
        if (!alive) return;
        changes.tbody.replaceChildren(...c.items.map(changeRow));
      } catch (e) {
        if (!e.handled && alive) setMessage(err, e.detail, 'error');
      }
    })();
    return () => { alive = false; };
  }

  window.meshwatch.registerPage({ path: '/discovery', label: 'Discovery', render: renderDiscovery });
  window.meshwatch.registerPage({ path: '/hosts/:ip', label: 'Host', render: renderHost });
})();
