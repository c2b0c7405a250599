#!/usr/bin/env python3
"""Checks configs/grafana/meshwatch.json without Grafana or a network.

The structure Grafana needs to import it (uid, title, schemaVersion, panels
placed on the grid, the data source as the DS_PROMETHEUS variable), that every
$variable a query uses is defined, and that every PromQL expression parses:
each, with its variables replaced by plain values, becomes a recording rule
of a temporary rules file that `promtool check rules` reads.

usage: check_grafana.py DASHBOARD.json PROMTOOL
       check_grafana.py DASHBOARD.json --live URL [--may-be-empty TITLE...]
Prints "ok N - ..." lines; exits 1 on the first failure.

--live runs every query on a Prometheus-compatible API at URL ($job as
"meshwatch", every other variable as ".*") and fails when a panel of the
Overview, Mesh matrix, Peers or Targets rows has no query that answers,
unless it is one of the titles after --may-be-empty; the other rows' empty
panels are listed.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

# Grafana's own variables, replaced by a duration PromQL accepts.
BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}
VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")

checks = 0


def ok(msg):
    global checks
    checks += 1
    print(f"ok {checks} - {msg}")


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def substitute(expr, defined, values=None):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTINS:
            return BUILTINS[name]
        if name not in defined:
            fail(f"query uses ${name}, which is no dashboard variable: {expr}")
        return (values or {}).get(name, "value")
    return VAR_RE.sub(repl, expr)


def live(d, url, may_be_empty):
    """Runs each panel's queries on url; see the usage."""
    import urllib.parse
    import urllib.request
    variables = {v["name"]: v for v in d["templating"]["list"]}
    values = {name: ".*" for name in variables}
    values["job"] = "meshwatch"
    required_rows = ("Overview", "Mesh matrix", "Peers", "Targets")
    row, answered, empty = "", 0, []
    for p in d["panels"]:
        if p["type"] == "row":
            row = p["title"]
            continue
        got = 0
        for t in p["targets"]:
            q = substitute(t["expr"], variables, values)
            req = url + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
            with urllib.request.urlopen(req, timeout=10) as r:
                res = json.load(r)
            if res.get("status") != "success":
                fail(f"panel {p['title']!r}: {q}: {res}")
            got += bool(res["data"]["result"])
        answered += got > 0
        if got:
            continue
        if row.startswith(required_rows) and p["title"] not in may_be_empty:
            fail(f"panel {p['title']!r} (row {row!r}) has no data: {[t['expr'] for t in p['targets']]}")
        empty.append(p["title"])
    ok(f"{answered} dashboard panels have data on {url}; without data here: {', '.join(empty) or 'none'}")


def main():
    path, promtool = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    if promtool == "--live":
        rest = sys.argv[4:]
        live(d, sys.argv[3], rest[1:] if rest[:1] == ["--may-be-empty"] else [])
        return
    ok(f"{os.path.basename(path)} is JSON")

    for key, typ in (("uid", str), ("title", str), ("schemaVersion", int), ("panels", list), ("templating", dict)):
        if not isinstance(d.get(key), typ) or not d[key]:
            fail(f"dashboard field {key!r} missing or not a non-empty {typ.__name__}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", d["uid"]):
        fail(f"uid {d['uid']!r}: Grafana takes at most 40 letters, digits, - and _")
    if not 36 <= d["schemaVersion"] <= 39:
        fail(f"schemaVersion {d['schemaVersion']}: expected one Grafana 10 writes (36..39)")
    ok(f"uid {d['uid']}, title {d['title']!r}, schemaVersion {d['schemaVersion']}")

    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds = variables.get("DS_PROMETHEUS")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail("no data source variable DS_PROMETHEUS of type datasource (query prometheus)")
    for name, v in variables.items():
        if v["type"] == "query":
            if v.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                fail(f"variable {name} does not query ${{DS_PROMETHEUS}}")
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            if not re.fullmatch(r"label_values\(.+, *\w+\)", q):
                fail(f"variable {name}: {q!r} is not label_values(selector, label)")
    for want in ("peer", "node", "job"):
        if want not in variables:
            fail(f"no ${want} variable")
    ok(f"variables: {', '.join(variables)}")

    panels = list(all_panels(d["panels"]))
    ids = [p.get("id") for p in panels]
    if len(set(ids)) != len(ids) or None in ids:
        fail(f"panel ids missing or repeated: {ids}")
    cells = {}
    exprs = []
    kinds = set()
    for p in panels:
        title = p.get("title") or fail(f"panel {p['id']} has no title")
        g = p.get("gridPos") or fail(f"panel {title!r} has no gridPos")
        if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] < 0 or g["w"] < 1 or g["h"] < 1 or g["x"] + g["w"] > 24:
            fail(f"panel {title!r}: gridPos {g} is not on the 24-column grid")
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    fail(f"panels {cells[(x, y)]!r} and {title!r} overlap at {x},{y}")
                cells[(x, y)] = title
        kinds.add(p["type"])
        if p["type"] == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
            fail(f"panel {title!r} does not use the ${{DS_PROMETHEUS}} data source")
        targets = p.get("targets") or fail(f"panel {title!r} has no queries")
        for t in targets:
            if not t.get("expr") or not t.get("refId"):
                fail(f"panel {title!r}: a query without expr or refId: {t}")
            exprs.append((title, t["refId"], t["expr"]))
    ok(f"{len(panels)} panels ({', '.join(sorted(kinds))}) on the grid without overlap, each query with its expr")

    text = json.dumps(d)
    for need in ("meshwatch_peer_rtt_seconds", "meshwatch_peer_loss_ratio", "meshwatch_peer_pmtu_bytes",
                 "meshwatch_peer_state", "meshwatch_target_up", "meshwatch_target_connect_duration_seconds_bucket",
                 "meshwatch_mesh_rtt_seconds", "groupingToMatrix", '"heatmap"'):
        if need not in text:
            fail(f"the dashboard lacks {need}")
    ok("it shows the RTT/loss matrix, a heatmap, per-peer RTT, loss, PMTU, peer states and targets")

    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "dashboard_rules.yml")
        with open(rules, "w", encoding="utf-8") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, (title, ref, expr) in enumerate(exprs):
                f.write(f"      # {title} / {ref}\n")
                f.write(f"      - record: dashboard:expr_{i}\n")
                f.write(f"        expr: {json.dumps(substitute(expr, variables))}\n")
        r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"promtool check rules on the dashboard's queries:\n{r.stdout}{r.stderr}\n--- {rules}:\n" + open(rules).read())
        if f"SUCCESS: {len(exprs)} rules found" not in r.stdout:
            fail(f"promtool did not read all {len(exprs)} queries: {r.stdout}")
    ok(f"all {len(exprs)} PromQL queries parse (promtool check rules)")


if __name__ == "__main__":
    main()
