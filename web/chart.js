/* meshwatch dashboard: the time charts every history view shares. Loaded
   after uPlot (the embedded uPlot.iife.min.js, window.uPlot) and app.js,
   before the pages; same rules as app.js (no innerHTML, no inline style
   attribute: uPlot sizes its own elements through the CSSOM, which the
   page's CSP allows).

   A page makes one group: the range bar (presets, "custom" from/to, a
   "reset zoom" button) and the charts below it, which share the cursor
   and the zoom. window.meshwatch.chart.group(opts) returns
     el            the range bar, for the page to place
     range()       {key, from, to} in seconds: what to ask the API for
     setAuto(key)  the preset to show until the user picks one
     chart(spec)   a chart; its .el goes where the page wants it
     setData(items, {from, to, stepS} | {from, to, gapS})
                   every chart of the group draws these items
     destroy()

   What the charts promise: a bucket without data is null, drawn as a
   gap, never as 0 (bucketed data is laid on its full grid of buckets, so
   nothing is drawn before the first measurement; irregular samples break
   where two are further apart than gapS); a 0 % bar keeps a visible
   height; a lone bucket between gaps is a dot; the x axis always spans
   the range asked for; colours come from CSS custom properties
   (web/charts.css), read again when the colour scheme changes; charts
   follow their box's width (ResizeObserver). Times are UTC, like the rest
   of the dashboard. */
'use strict';

(function () {
  const { h, isNum, serverNow, fmtTime, DASH } = window.meshwatch.ui;
  const uPlot = window.uPlot;

  const PRESETS = {
    '5m': { label: '5 min', s: 300 },
    '1h': { label: '1 h', s: 3600 },
    '6h': { label: '6 h', s: 6 * 3600 },
    '24h': { label: '24 h', s: 86400 },
    '7d': { label: '7 d', s: 7 * 86400 },
  };
  // A custom range longer than this is refused in the form (the node keeps
  // its history for less, and the bucket grid would get long).
  const CUSTOM_MAX_S = 92 * 86400;
  // Zooming in closer than this makes no sense with 1 s samples.
  const ZOOM_MIN_S = 10;

  // what the user picked per view (kept while the page is open)
  const picked = new Map();

  function cssColor(name, fallback) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  // "2026-11-22T10:30" in UTC, for <input type="datetime-local">
  function toInput(sec) {
    return new Date(sec * 1000).toISOString().slice(0, 16);
  }
  function fromInput(v) {
    const ms = Date.parse(v + ':00Z');
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : NaN;
  }

  function fmtSpan(s) {
    if (s % 86400 === 0) return `${s / 86400} d`;
    if (s % 3600 === 0) return `${s / 3600} h`;
    if (s % 60 === 0) return `${s / 60} min`;
    return `${s} s`;
  }

  // Nice round upper bound for 0..max.
  function niceMax(max) {
    if (!(max > 0)) return 1;
    const mag = Math.pow(10, Math.floor(Math.log10(max)));
    const f = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((x) => x * mag >= max * 1.05) || 10;
    return f * mag;
  }

  // x axis labels in UTC, 24-hour: HH:MM (HH:MM:SS below a minute), the
  // date under the first label and at midnight; past two days, dates
  function xLabels(u, splits, axisIdx, space, incr) {
    const span = u.scales.x.max - u.scales.x.min;
    return splits.map((t, i) => {
      const iso = new Date(t * 1000).toISOString();
      const hm = incr < 60 ? iso.slice(11, 19) : iso.slice(11, 16), md = iso.slice(5, 10);
      if (span > 2 * 86400) return hm === '00:00' ? md : `${md} ${hm}`;
      return i === 0 || hm === '00:00' ? `${hm}\n${md}` : hm;
    });
  }

  // room for the longest y label (11 px text), at least 64 px so that the
  // plots of a page's charts start at the same x and the cursor lines up
  function ySize(u, values) {
    const n = Math.max(0, ...(values || []).map((v) => String(v).length));
    return Math.max(64, Math.ceil(n * 6.4) + 16);
  }

  function lastIdx(col) {
    for (let i = col.length - 1; i >= 0; i--) if (col[i] !== null && col[i] !== undefined) return i;
    return -1;
  }

  /* ---------- data: items -> columns with nulls for the gaps ---------- */

  const valueOf = (it, key) => {
    const v = typeof key === 'function' ? key(it) : it[key];
    return isNum(v) ? v : null;
  };

  // Bucketed items ({t: RFC 3339 bucket start}) laid on the whole grid of
  // buckets from..to: x is each bucket's middle; a bucket the API did not
  // answer is null in every series.
  function gridColumns(items, from, to, stepS, keys, timeKey) {
    const start = Math.floor(from / stepS) * stepS;
    const n = Math.max(0, Math.ceil((to - start) / stepS));
    const xs = new Array(n), cols = keys.map(() => new Array(n).fill(null)), rows = new Array(n).fill(null);
    for (let i = 0; i < n; i++) xs[i] = start + i * stepS + stepS / 2;
    for (const it of items) {
      const t = Date.parse(it[timeKey]) / 1000;
      if (!Number.isFinite(t)) continue;
      const i = Math.floor((t - start) / stepS);
      if (i < 0 || i >= n) continue;
      rows[i] = it;
      keys.forEach((k, j) => { cols[j][i] = valueOf(it, k); });
    }
    return { xs, cols, rows };
  }

  // Irregular samples: sorted by time, with a null row between two that
  // are more than gapS apart (default: three times the median spacing).
  function sampleColumns(items, keys, timeKey, gapS) {
    const pts = items.map((it) => ({ t: Date.parse(it[timeKey]) / 1000, it }))
      .filter((p) => Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
    if (!gapS && pts.length > 2) {
      const d = pts.slice(1).map((p, i) => p.t - pts[i].t).sort((a, b) => a - b);
      gapS = Math.max(3 * d[Math.floor(d.length / 2)], 1);
    }
    const xs = [], cols = keys.map(() => []), rows = [];
    let prev = null;
    for (const p of pts) {
      if (prev !== null && gapS && p.t - prev > gapS) {
        xs.push((p.t + prev) / 2);
        cols.forEach((c) => c.push(null));
        rows.push(null);
      }
      xs.push(p.t);
      keys.forEach((k, j) => cols[j].push(valueOf(p.it, k)));
      rows.push(p.it);
      prev = p.t;
    }
    return { xs, cols, rows };
  }

  // indices of values with null (or nothing) on both sides: drawn as dots
  function loneIdx(col) {
    const out = [];
    for (let i = 0; i < col.length; i++) {
      if (col[i] === null) continue;
      if ((i === 0 || col[i - 1] === null) && (i === col.length - 1 || col[i + 1] === null)) out.push(i);
    }
    return out;
  }

  /* ---------- the group: range bar, zoom, shared cursor ---------- */

  let groupSeq = 0;

  function group(opts) {
    const id = opts.id;
    const keys = opts.ranges || ['1h', '6h', '24h', '7d'];
    const syncKey = 'mw-' + id + '-' + (++groupSeq);
    const charts = [];
    let auto = opts.initial || keys[0];
    let view = null;      // [from, to] of the data on screen (seconds)
    let zoom = null;      // [min, max] while zoomed, else null
    let last = null;      // the last setData arguments, to redraw on restyle
    let alive = true;

    const state = picked.get(id) || null; // {key} or {key: 'custom', from, to}
    let current = state;

    const btns = keys.map((k) => h('button', {
      type: 'button', class: 'secondary small-btn range-btn', 'data-range': k,
      text: PRESETS[k].label + (k === '5m' && opts.live ? ' (live)' : ''),
      title: k === '5m' && opts.live ? 'The last five minutes, updated every second' : `The last ${PRESETS[k].label}`,
      onclick: () => pick({ key: k }),
    }));
    const customBtn = h('button', { type: 'button', class: 'secondary small-btn range-btn', 'data-range': 'custom', text: 'Custom…',
      'aria-expanded': 'false', onclick: () => toggleCustom() });
    const fromIn = h('input', { type: 'datetime-local', class: 'range-from', 'aria-label': 'From (UTC)', step: '60' });
    const toIn = h('input', { type: 'datetime-local', class: 'range-to', 'aria-label': 'To (UTC)', step: '60' });
    const customErr = h('p', { class: 'error range-error', role: 'alert', hidden: true });
    const customForm = h('form', { class: 'range-custom', hidden: true, novalidate: true, onsubmit: onCustom },
      h('label', null, 'From ', fromIn), h('label', null, 'to ', toIn), h('span', { class: 'muted small', text: 'UTC' }),
      h('button', { type: 'submit', class: 'primary small-btn range-apply', text: 'Show' }), customErr);
    const resetBtn = h('button', { type: 'button', class: 'secondary small-btn zoom-reset', hidden: true, text: 'Reset zoom',
      onclick: () => setZoom(null) });
    const hint = h('span', { class: 'muted small zoom-hint', text: 'Drag across a chart to zoom.' });
    const el = h('div', { class: 'range-bar' },
      h('div', { class: 'range', role: 'group', 'aria-label': 'Time range' }, btns, customBtn),
      resetBtn, hint, customForm);

    function activeKey() { return current ? current.key : auto; }

    function paint() {
      const k = activeKey();
      for (const b of [...btns, customBtn]) {
        const on = b.dataset.range === k;
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
        b.classList.toggle('active', on);
      }
      // short enough for a phone: "12-07 02:18 – 12-07 04:18 UTC"
      const short = (t) => new Date(t * 1000).toISOString().slice(5, 16).replace('T', ' ');
      customBtn.textContent = k === 'custom' && current ? `${short(current.from)} – ${short(current.to)} UTC` : 'Custom…';
      customBtn.title = k === 'custom' && current ? `${fmtTime(new Date(current.from * 1000).toISOString().replace('.000', ''))} – ${fmtTime(new Date(current.to * 1000).toISOString().replace('.000', ''))}` : 'Choose the start and end (UTC)';
    }

    function pick(r) {
      current = r;
      picked.set(id, r);
      customForm.hidden = true;
      customBtn.setAttribute('aria-expanded', 'false');
      zoom = null;
      resetBtn.hidden = true;
      paint();
      if (opts.onRange) opts.onRange(range());
    }

    function toggleCustom() {
      const open = customForm.hidden;
      customForm.hidden = !open;
      customBtn.setAttribute('aria-expanded', String(open));
      if (open) {
        const r = zoom ? { from: Math.floor(zoom[0]), to: Math.ceil(zoom[1]) } : range();
        fromIn.value = toInput(r.from);
        toIn.value = toInput(r.to);
        customErr.hidden = true;
        fromIn.focus();
      }
    }

    function onCustom(ev) {
      ev.preventDefault();
      const f = fromInput(fromIn.value), t = fromInput(toIn.value);
      let why = '';
      if (!Number.isFinite(f) || !Number.isFinite(t)) why = 'Enter both times (UTC).';
      else if (t <= f) why = '"To" must be after "from".';
      else if (t - f > CUSTOM_MAX_S) why = `At most ${CUSTOM_MAX_S / 86400} days at once.`;
      else if (t - f < 60) why = 'At least one minute.';
      if (why) {
        customErr.textContent = why;
        customErr.hidden = false;
        return;
      }
      pick({ key: 'custom', from: f, to: t });
    }

    // What to ask for: a preset ends now (the node's clock), a custom
    // range is fixed.
    function range() {
      const k = activeKey();
      if (k === 'custom' && current) return { key: k, from: current.from, to: current.to, span: current.to - current.from };
      // a page whose data ends elsewhere (a capture file) says where "now" is
      const to = Math.floor(opts.now ? opts.now() : serverNow() / 1000);
      const s = PRESETS[k].s;
      return { key: k, from: to - s, to, span: s };
    }

    function setAuto(k) {
      if (!keys.includes(k)) return;
      auto = k;
      paint();
    }

    function setZoom(z) {
      if (z && z[1] - z[0] < ZOOM_MIN_S) {
        const mid = (z[0] + z[1]) / 2;
        z = [mid - ZOOM_MIN_S / 2, mid + ZOOM_MIN_S / 2];
      }
      zoom = z;
      resetBtn.hidden = !z;
      el.classList.toggle('zoomed', !!z);
      for (const c of charts) c.applyX();
    }

    function xRange() {
      return zoom || view;
    }

    /* ---------- one chart ---------- */

    function chart(spec) {
      const box = h('div', { class: 'chart-box uplot-box', id: spec.id || null, role: 'img', 'aria-label': spec.title || spec.label || 'chart' });
      const empty = h('p', { class: 'chart-empty', hidden: true, text: spec.empty || 'No data in this range.' });
      const wrapEl = h('div', { class: 'chart-wrap' }, spec.title ? h('h3', { class: 'chart-title', text: spec.title }) : null, box, empty);
      let u = null, data = null, rows = null, lone = [];
      const height = spec.height || 180;

      const ratio = !!(spec.y && spec.y.ratio);
      const yFmt = spec.yFmt || (ratio ? (v) => `${Math.round(v * 100)} %` : (v) => String(+v.toFixed(2)));

      function seriesOpts(s, j) {
        const color = cssColor(s.color || `--chart-${(j % 6) + 1}`, '#1f5fbf');
        const label = s.unit ? `${s.label} (${s.unit})` : s.label;
        const fmt = s.fmt || ((v) => yFmt(v));
        const o = {
          label,
          stroke: color,
          width: s.width || 1.5,
          dash: s.dash || undefined,
          spanGaps: false,
          // the value under the cursor; away from the chart, the latest
          value: (uu, v, si, idx) => {
            if (idx === null || idx === undefined) {
              idx = lastIdx(uu.data[si]);
              if (idx < 0) return DASH;
              v = uu.data[si][idx];
            }
            if (v === null || v === undefined) return 'no data';
            return s.text ? s.text(v, rows && rows[idx]) : fmt(v);
          },
          points: {
            size: Math.max(5, (s.width || 1.5) * 3),
            fill: color,
            // lone buckets between gaps are dots; all points when sparse
            filter: (uu, si, show) => (show ? null : lone[si - 1]),
          },
        };
        if (s.bars) {
          const colorOf = s.bars.colorOf || (() => s.color || '--chart-1');
          const cache = new Map();
          const col = (name) => { if (!cache.has(name)) cache.set(name, cssColor(name, color)); return cache.get(name); };
          const minPx = s.bars.minPx || 4;
          // value units of minPx device pixels on this chart's scale
          const minV = (uu) => {
            const sc = uu.scales.y;
            return uu.bbox.height > 0 && isNum(sc.max) && isNum(sc.min) ? ((sc.max - sc.min) * minPx * devicePixelRatio) / uu.bbox.height : 0;
          };
          o.width = 0;
          o.fill = color;
          o.points = { show: false };
          o.paths = uPlot.paths.bars({
            size: [0.86, Infinity, 4],
            disp: {
              y0: { unit: 1, values: (uu, si) => uu.data[si].map((v) => (v === null ? null : 0)) },
              y1: { unit: 1, values: (uu, si) => { const m = minV(uu); return uu.data[si].map((v) => (v === null ? null : s.bars.full ? uu.scales.y.max : Math.max(v, m))); } },
              fill: { unit: 3, values: (uu, si) => uu.data[si].map((v, i) => (v === null ? null : col(colorOf(v, rows && rows[i])))) },
            },
          });
        }
        return o;
      }

      function build() {
        if (u) { u.destroy(); u = null; }
        if (!data) return;
        if (!uPlot) {
          // a build made without the chart library (see web/fallback/)
          box.replaceChildren(h('p', { class: 'chart-missing', text: 'No chart: this build of meshwatch lacks its chart library (uPlot), which ./scripts/setup.sh installs from the npm registry. The figures above are complete.' }));
          return;
        }
        const grid = cssColor('--chart-grid', '#e8ecf2'), axis = cssColor('--chart-axis', '#5d6778');
        const width = Math.max(box.clientWidth || 0, 240);
        const yRange = spec.y && spec.y.auto ? undefined
          : spec.y && spec.y.fixed ? () => spec.y.fixed.slice()
          : ratio && spec.y.atLeast ? (uu, min, max) => [0, Math.min(1, Math.max(spec.y.atLeast, niceMax(max)))]
          : ratio ? () => [0, 1]
          : (uu, min, max) => [spec.y && isNum(spec.y.min) ? spec.y.min : 0, niceMax(max)];
        const o = {
          width, height,
          // the same right margin on every chart (the x labels' room), so
          // that a page's plots end at the same x too
          padding: [10, 20, 0, 0],
          tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
          cursor: {
            sync: { key: syncKey, setSeries: false },
            drag: { x: true, y: false, setScale: false },
            points: { size: 7 },
          },
          select: { show: true },
          legend: { live: true },
          scales: { x: { time: true }, y: { range: yRange } },
          axes: [
            { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, values: xLabels, show: spec.xAxis !== false,
              font: '11px system-ui, sans-serif' },
            { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: spec.ySize || ySize,
              font: '11px system-ui, sans-serif', values: (uu, splits) => splits.map((v) => (spec.y && spec.y.hide ? '' : yFmt(v))),
              splits: spec.y && spec.y.hide ? () => [] : undefined },
          ],
          series: [
            { label: 'time', value: (uu, v, si, idx) => {
              let latest = '';
              if (idx === null || idx === undefined) {
                idx = Math.max(-1, ...uu.data.slice(1).map(lastIdx));
                if (idx < 0) return DASH;
                v = uu.data[0][idx];
                latest = ' (latest)';
              }
              const half = (spec.stepS || 0) / 2;
              const a = new Date((v - half) * 1000).toISOString();
              return (half >= 1 ? `${a.slice(0, 10)} ${a.slice(11, 16)}–${new Date((v + half) * 1000).toISOString().slice(11, 16)} UTC`
                : fmtTime(a.replace(/\.\d+Z$/, 'Z'))) + latest;
            } },
            ...spec.series.map(seriesOpts),
          ],
          bands: (spec.bands || []).map(([hi, lo, c]) => ({ series: [hi + 1, lo + 1], fill: cssColor(c || '--chart-band', 'rgba(31,95,191,.12)') })),
          hooks: {
            setSelect: [(uu) => {
              const sel = uu.select;
              if (sel.width < 4) return;
              const a = uu.posToVal(sel.left, 'x'), b = uu.posToVal(sel.left + sel.width, 'x');
              uu.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              setZoom([a, b]);
            }],
          },
        };
        u = new uPlot(o, data, box);
        applyX();
      }

      function applyX() {
        const r = xRange();
        if (u && r) u.setScale('x', { min: r[0], max: r[1] });
      }

      function set(items, d) {
        const keys = spec.series.map((s) => s.key);
        const tk = spec.timeKey || 't';
        spec.stepS = d.stepS || 0;
        const c = d.stepS ? gridColumns(items, d.from, d.to, d.stepS, keys, tk) : sampleColumns(items, keys, tk, d.gapS);
        rows = c.rows;
        lone = c.cols.map(loneIdx);
        data = [c.xs, ...c.cols];
        const any = c.cols.some((col) => col.some((v) => v !== null));
        // what is drawn, for a reader of the page (and its test): points
        // on the x axis, and how many of them have a value in some series
        box.dataset.points = String(c.xs.length);
        box.dataset.filled = String(c.xs.filter((x, i) => c.cols.some((col) => col[i] !== null)).length);
        box.dataset.zeros = String(c.cols.reduce((a, col) => a + col.filter((v) => v === 0).length, 0));
        empty.hidden = any;
        wrapEl.classList.toggle('chart-is-empty', !any);
        if (!u) build();
        else {
          u.setData(data, false);
          applyX();
        }
      }

      let lastW = 0;
      const ro = typeof ResizeObserver === 'function' ? new ResizeObserver(() => {
        const w = box.clientWidth;
        if (u && w && Math.abs(w - lastW) > 2) {
          lastW = w;
          u.setSize({ width: Math.max(w, 240), height });
        }
      }) : null;
      if (ro) ro.observe(box);

      const c = {
        el: wrapEl, box, set, applyX, build,
        uplot: () => u,
        destroy() { if (ro) ro.disconnect(); if (u) u.destroy(); u = null; },
      };
      charts.push(c);
      return c;
    }

    function setData(items, d) {
      last = [items, d];
      view = [d.from, d.to];
      if (zoom && (zoom[1] < d.from || zoom[0] > d.to)) setZoom(null);
      for (const c of charts) c.set(items, d);
    }

    // the colour scheme changed: draw again with the new colours
    const mq = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
    const onScheme = () => { if (alive && last) for (const c of charts) c.build(); };
    if (mq && mq.addEventListener) mq.addEventListener('change', onScheme);

    function destroy() {
      alive = false;
      if (mq && mq.removeEventListener) mq.removeEventListener('change', onScheme);
      for (const c of charts) c.destroy();
    }

    paint();
    return { el, range, setAuto, chart, setData, destroy, zoomed: () => zoom, activeKey };
  }

  // Bucket size for a range: about 300 buckets, rounded to a step the
  // node's history answers well (at least min seconds).
  function stepFor(span, min) {
    const want = span / 300;
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    return Math.max(min || 1, steps.find((s) => s >= want) || 86400);
  }

  window.meshwatch.chart = { group, stepFor, fmtSpan, PRESETS, CUSTOM_MAX_S };
})();
