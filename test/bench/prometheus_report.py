"""The table and the sizing paragraph of test/bench/prometheus.sh, from its
results file (scenario, key, value per line).

    python3 prometheus_report.py RESULTS HZ NCPU SCRAPE_INTERVAL SCRAPES WHAT

WHAT: a scenario's name (its table), or "sizing" (the sizing paragraph,
from every scenario in the file).
"""
import collections
import math
import statistics
import sys

path, HZ, NCPU, IV, SCRAPES = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
WHAT = sys.argv[6]
R = collections.defaultdict(dict)
for line in open(path):
    scen, key, val = line.rstrip("\n").split("\t")
    R[scen][key] = val

MAX_PEERS, MAX_CELLS = 1000, 40000  # METRICS_MAX_PEER_SERIES, METRICS_MAX_MATRIX_CELLS (limits.h)
WHO = (("ordinary", "meshwatch, ordinary node"), ("reporting", "meshwatch, reporting node"),
       ("node_exporter", "prometheus-node-exporter"), ("prometheus_self", "Prometheus' own /metrics"))


def num(r, k, default=0.0):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return default


def times(r, k):
    return sorted(float(x) * 1000 for x in r.get(k, "").split(",") if x)


def p95(v):  # nearest rank
    return v[min(len(v) - 1, max(0, math.ceil(0.95 * len(v)) - 1))] if v else float("nan")


def size(b):
    return f"{b / 1e6:.2f} MB" if b >= 1e6 else f"{b / 1e3:.1f} kB"


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"


def say(*a, always=False):
    if always or SHOW:
        print(*a, flush=True)


fits = {}  # scenario -> (peers, series of the ordinary node, per-peer series, matrix series, bytes)
for scen in sorted(R):
    r = R[scen]
    SHOW = scen == WHAT
    n = int(num(r, "nodes"))
    say("")
    say(f"== scenario {scen}: {n} nodes (poll interval {r.get('interval')} s), converged {r.get('converge_s')} s after the launch"
        f" ({r.get('matrix_cells_up', '?')} of {n * (n - 1)} matrix cells up);"
        f" {SCRAPES} scrapes each way, HTTP/1.1 with Accept-Encoding: gzip, TLS 1.2 (same certificate) ==")
    hdr = (f"  {'':<27} {'series':>7} {'body':>9} {'gzip':>22}  {'new connection':>19}  {'keep-alive':>19}"
           f"  {'server CPU/scrape':>17}")
    say(hdr)
    say(f"  {'':<27} {'':>7} {'':>9} {'':>22}  {'p50 / p95 ms':>19}  {'p50 / p95 ms':>19}  {'new / kept ms':>17}")
    ne = r
    for key, name in WHO:
        if f"{key}.series" not in r:
            continue
        s, b = num(r, f"{key}.series"), num(r, f"{key}.bytes")
        gs, gl = num(r, f"{key}.gzip_served"), num(r, f"{key}.gzip_local")
        g = f"{size(gs)} served" if gs else f"not served ({size(gl)})"
        tn, tk = times(r, f"{key}.new_times"), times(r, f"{key}.ka_times")
        say(f"  {name:<27} {s:7.0f} {size(b):>9} {g:>22}  {statistics.median(tn):8.1f} / {p95(tn):7.1f}  "
            f"{statistics.median(tk):8.1f} / {p95(tk):7.1f}  {num(r, key + '.new_cpu_ms'):7.2f} / {num(r, key + '.ka_cpu_ms'):6.2f}")
    say(f"  (gzip: 'served' is the body sent for Accept-Encoding: gzip; 'not served' means identity was sent,"
        f" in brackets what gzip -6 would make of it.")
    say(f"   keep-alive connections opened: " + ", ".join(
        f"{k} {r.get(k + '.ka_connects', '?')}" for k, _ in WHO if k + '.ka_connects' in r) +
        f" for {SCRAPES + 1} scrapes; CPU less each server's own rate before: " +
        ", ".join(f"{k} {r.get(k + '.bg_cpu_pct', '?')} %" for k, _ in WHO if k + '.bg_cpu_pct' in r) + ")")
    if "node_exporter.series" in r:
        for key in ("ordinary", "reporting"):
            if f"{key}.series" not in r:
                continue
            tn, tk = times(r, f"{key}.new_times"), times(r, f"{key}.ka_times")
            en, ek = times(r, "node_exporter.new_times"), times(r, "node_exporter.ka_times")
            say(f"  meshwatch {key}/node_exporter: series {ratio(num(r, key + '.series'), num(r, 'node_exporter.series'))},"
                f" body {ratio(num(r, key + '.bytes'), num(r, 'node_exporter.bytes'))}"
                f" (on the wire {ratio(num(r, key + '.bytes'), num(r, 'node_exporter.gzip_served') or num(r, 'node_exporter.bytes'))}),"
                f" p50 new {ratio(statistics.median(tn), statistics.median(en))},"
                f" p50 keep-alive {ratio(statistics.median(tk), statistics.median(ek))},"
                f" CPU new {ratio(num(r, key + '.new_cpu_ms'), num(r, 'node_exporter.new_cpu_ms'))},"
                f" kept {ratio(num(r, key + '.ka_cpu_ms'), num(r, 'node_exporter.ka_cpu_ms'))}")
    peers = n - 1
    ps, ms = num(r, "ordinary.peer_series"), num(r, "reporting.matrix_series")
    s_ord = num(r, "ordinary.series")
    say(f"  n{r.get('ordinary_node')}: {s_ord:.0f} series = {s_ord - ps:.0f} node-level + {ps:.0f} per-peer"
        f" ({ps / peers:.1f} per peer x {peers}); n1 adds {ms:.0f} matrix series for {n * peers} cells"
        f" ({ms / (n * peers):.2f} per cell); {num(r, 'ordinary.bytes') / s_ord:.0f} bytes per series")
    fits[scen] = (peers, s_ord, ps, ms, num(r, "ordinary.bytes"), num(r, "reporting.series"), n)

    if "prom.seconds" in r:
        W = num(r, "prom.seconds")
        mt, mi = (float(x) for x in r["prom.machine"].split())
        app = num(r, "prom.appended")
        pcpu = num(r, "prom.cpu_ticks") / HZ
        node_s = num(r, "prom.node_ticks") / HZ
        bases = [num(r, f"{b}.node_ticks") / HZ / num(r, f"{b}.seconds", 1) for b in ("base1", "base2") if f"{b}.node_ticks" in r]
        base = statistics.mean(bases) if bases else 0
        scrapes = num(r, "prom.scrapes")
        conns = num(r, "prom.connections")
        say(f"  one Prometheus, http_sd_configs on n1's /api/prometheus/sd, scrape_interval {IV} s, window {W:.0f} s:")
        say(f"    targets found {r.get('prom.found')} (up {r.get('prom.up_at_start')} at the start, {r.get('prom.up_at_end')} at the end;"
            f" all up {r.get('prom.ready_s')} s after Prometheus started)")
        say(f"    samples/s ingested {app / W:.0f} (prometheus_tsdb_head_samples_appended_total; {num(r, 'prom.samples_per_scrape'):.0f}"
            f" samples per round of scrapes / {IV} s = {num(r, 'prom.samples_per_scrape') / IV:.0f}); head series {r.get('prom.head_series')}")
        say(f"    Prometheus RSS {num(r, 'prom.rss_kb') / 1024:.0f} MiB (peak {num(r, 'prom.hwm_kb') / 1024:.0f}), CPU {pcpu / W * 100:.0f} % of one core"
            f" ({pcpu / max(app, 1) * 1e6:.1f} us per sample)")
        say(f"    scrape duration (Prometheus' own): p50 {num(r, 'prom.scrape_p50_s') * 1000:.0f} ms over the targets,"
            f" max {num(r, 'prom.scrape_max_s') * 1000:.0f} ms, reporting node {num(r, 'prom.scrape_reporting_s') * 1000:.0f} ms")
        say(f"    connections opened {conns:.0f} for {scrapes:.0f} scrapes (net_conntrack_dialer_conn_established_total):"
            f" {'a new TLS connection for most scrapes' if conns > scrapes / 2 else 'connections kept between scrapes'}")
        # nodes' CPU for the scrapes, two ways
        k_ord = max(n - 1, 0) * W / IV
        k_rep = W / IV
        frac_new = min(1.0, conns / scrapes) if scrapes else 1.0
        per = lambda key: frac_new * num(r, key + ".new_cpu_ms") + (1 - frac_new) * num(r, key + ".ka_cpu_ms")
        est = (k_ord * per("ordinary") + k_rep * per("reporting")) / 1000
        say(f"    nodes' CPU answering scrapes, (a) from the per-scrape CPU above: {est:.1f} CPU-s in {W:.0f} s ="
            f" {100 * est / W:.1f} % of one core for the mesh ({per('ordinary'):.2f} ms per ordinary scrape,"
            f" {frac_new:.0%} on new connections)")
        diff = node_s - base * W
        say(f"    (b) all nodes' CPU with scrapes {node_s / W * 100:.0f} % of a core, without {base * 100:.0f} %"
            f" (mean of {len(bases)} windows: " + ", ".join(f"{100 * b:.0f} %" for b in bases) + f"): difference {100 * diff / W:.0f} % of a core"
            f"{' (machine saturated: the difference is not reliable)' if (mt - mi) / mt > 0.9 else ''}")
        idle_kb = num(r, "prometheus_self.rss_kb")
        fits[scen] += (app / W, pcpu / max(app, 1), (num(r, "prom.rss_kb") - idle_kb) / max(num(r, "prom.head_series"), 1), idle_kb)

# ------------------------------------------------------------ sizing
SHOW = WHAT == "sizing"
if not fits or not SHOW:
    sys.exit(0)
say("")
say("== sizing ==")
pts = sorted(fits.values())
if len(pts) >= 2:
    (p1, s1), (p2, s2) = (pts[0][0], pts[0][1]), (pts[-1][0], pts[-1][1])
    b = (s2 - s1) / (p2 - p1)
    a = s1 - b * p1
    how = f"fitted through {p1} and {p2} peers"
else:
    p, s, ps = pts[0][0], pts[0][1], pts[0][2]
    b = ps / p
    a = s - ps
    how = f"from the per-peer series at {p} peers"
big = pts[-1]
cell = big[3] / (big[6] * big[0]) if big[0] else 4
bps = big[4] / big[1]
say(f"  series per ordinary node = {a:.0f} + {b:.2f} x peers ({how}); peers counted up to {MAX_PEERS} (METRICS_MAX_PEER_SERIES)")
say(f"  a reporting node adds {cell:.2f} x cells, cells = N x (N-1) up to {MAX_CELLS} (METRICS_MAX_MATRIX_CELLS: N = 200 fits)")
say(f"  samples/s for a mesh of N nodes scraped every I s = (N x series per node + matrix) / I;  about {bps:.0f} bytes per series on the wire (no gzip)")
at_iv = f"samples/s at {IV} s"
say(f"  {'N':>6} {'series/node':>12} {'matrix':>8} {'series in all':>14} {at_iv:>18} {'at 60 s':>9} {'body/node':>10}"
    + ("  Prometheus CPU, RSS (idle + per head series, from B)" if len(big) > 7 else ""))
for N in sorted({pts[0][6], big[6], 500, 1000}):
    per_node = a + b * min(N - 1, MAX_PEERS)
    matrix = cell * min(N * (N - 1), MAX_CELLS)
    tot = N * per_node + matrix
    extra = ""
    if len(big) > 7:
        extra = f"  {tot / IV * big[8] * 100:.0f} % of a core, {(big[10] + tot * big[9]) / 1024:.0f} MiB"
    say(f"  {N:6d} {per_node:12.0f} {matrix:8.0f} {tot:14.0f} {tot / IV:18.0f} {tot / 60:9.0f} {size(per_node * bps):>10}{extra}")
say("  (the matrix is capped: past 200 nodes the reporting node lists the first 40,000 cells only)")
