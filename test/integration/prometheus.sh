#!/usr/bin/env bash
# A real Prometheus scrapes a four-node mesh with the shipped
# configs/prometheus/prometheus.yml and rules.yml: it finds all four nodes
# through one node's /api/prometheus/sd (with a read token), scrapes them
# (up == 1), has an RTT series for each of the 12 ordered pairs, loads the
# rules; every query of the Grafana dashboard's mesh, peer and target panels
# answers; a target on a closed port makes MeshwatchTargetDown pending; a
# node's /metrics passes promtool check metrics; a node killed
# with -9 is down (meshwatch_peer_up 0) at each of the three others and
# MeshwatchPeerDown fires for it (its `for` shortened), and for no other.
. "$(dirname "$0")/prom_lib.sh"
command -v prometheus >/dev/null 2>&1 || skip "prometheus not installed"
command -v promtool >/dev/null 2>&1 || skip "promtool not installed"

start_mesh 4
mesh_token
AUTH=(-H "Authorization: Bearer $TOKEN")
# node 1 checks two targets: node 2's HTTPS port (up), and a closed port
for t in "web $(addr 2) 8443" "closed $(addr 2) 1"; do
  set -- $t
  ucurl "$(addr 1)" /api/targets -X POST -H "Authorization: Bearer ${TOKS[1]}" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"host\":\"$2\",\"port\":$3,\"interval_s\":1,\"timeout_s\":1}"
  [ "$HTTP_STATUS" = 201 ] || fail "POST /api/targets $1: HTTP $HTTP_STATUS $BODY"
done

# ---- the SD endpoint itself ----
ucurl "$(addr 1)" /api/prometheus/sd
[ "$HTTP_STATUS" = 401 ] || fail "/api/prometheus/sd without a token: HTTP $HTTP_STATUS, want 401"
ucurl "$(addr 1)" /api/prometheus/sd "${AUTH[@]}"
expect_status 200 "GET /api/prometheus/sd with a read token"
want_sd=$(for i in 1 2 3 4; do echo "$(addr $i):8443 $(fqdn $i) $(cat "$TMP/n$i/data/node_id")"; done | sort)
got_sd=$(echo "$BODY" | python3 -c '
import json, sys
groups = json.load(sys.stdin)
for g in groups:
    l = g["labels"]
    assert len(g["targets"]) == 1, g
    assert l["__scheme__"] == "https" and l["__metrics_path__"] == "/metrics", g
    assert l["role"] in ("node", "reporting"), g
    print(g["targets"][0], l["fqdn"], l["node_id"])' | sort) || fail "SD answer is not HTTP SD JSON: $BODY"
[ "$got_sd" = "$want_sd" ] || fail "SD lists
$got_sd
want
$want_sd"
ok "the SD lists the 4 nodes (itself included) as ip:port with fqdn, node_id, role, https, /metrics"

# ---- the exposition, as Prometheus's linter reads it ----
sleep 2   # a poll or two with UDP probes, so the per-peer series are there
curl -sk --max-time 10 "${AUTH[@]}" "https://$(addr 1):8443/metrics" > "$TMP/metrics.txt"
grep -q '^meshwatch_peer_up{' "$TMP/metrics.txt" || fail "node 1's /metrics has no meshwatch_peer_up"
lint_rc=0; lint=$(promtool check metrics < "$TMP/metrics.txt" 2>&1) || lint_rc=$?
[ $lint_rc = 0 ] && [ -z "$lint" ] || fail "promtool check metrics on node 1's /metrics (rc $lint_rc):
$lint"
ok "promtool check metrics finds nothing to say about a node's /metrics ($(grep -vc '^#' "$TMP/metrics.txt") samples)"

# ---- Prometheus with the shipped files ----
mkdir -p "$TMP/prom"
scrape_config "$TMP/prom/prometheus.yml" 1s
# MeshwatchPeerDown waits 2m before firing: 3s here
sed '/alert: MeshwatchPeerDown/,/for:/ s/for: 2m/for: 3s/' "$PROM_CFG/rules.yml" > "$TMP/prom/rules.yml"
! cmp -s "$PROM_CFG/rules.yml" "$TMP/prom/rules.yml" || fail "rules.yml: MeshwatchPeerDown's for: 2m not found"
promtool check config "$TMP/prom/prometheus.yml" >/dev/null || fail "the test's prometheus.yml does not check"
PA=$(rand_addr)
P="http://$PA:9090"
prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
  --web.listen-address="$PA:9090" --storage.tsdb.retention.time=1h --log.level=warn \
  >>"$TMP/prometheus.log" 2>&1 &
PIDS+=($!)
ready() { curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$P/-/ready" | grep -q 200; }
wait_until 30 ready || fail "prometheus on $PA:9090 not ready in 30 s"
ok "prometheus $(prometheus --version 2>&1 | awk 'NR==1{print $3}') runs the shipped config on $PA:9090"

# all four discovered and scraped: up == 1, the SD's labels on each target
targets_up() {
  curl -s --max-time 5 "$P/api/v1/targets?state=active" > "$TMP/targets.json" || return 1
  python3 - "$TMP/targets.json" "$@" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["data"]["activeTargets"]
want = sorted(sys.argv[2:])
got = sorted(f'{x["labels"].get("fqdn")}={x["health"]}' for x in t)
sys.exit(0 if got == want else 1)
PY
}
want_up=(); for i in 1 2 3 4; do want_up+=("$(fqdn $i)=up"); done
wait_until 30 targets_up "${want_up[@]}" || fail "prometheus targets are not the 4 nodes up: $(cat "$TMP/targets.json")"
python3 - "$TMP/targets.json" "$base" <<'PY' || fail "targets: $(cat "$TMP/targets.json")"
import json, sys
for x in json.load(open(sys.argv[1]))["data"]["activeTargets"]:
    assert x["scrapeUrl"].startswith(f"https://{sys.argv[2]}.") and x["scrapeUrl"].endswith(":8443/metrics"), x["scrapeUrl"]
    assert x["labels"]["job"] == "meshwatch" and x["labels"]["role"] == "node" and len(x["labels"]["node_id"]) == 36, x["labels"]
PY
[ "$(labels_of "$P" 'up{job="meshwatch"} == 1' fqdn)" = "$(for i in 1 2 3 4; do fqdn $i; done)" ] || fail "up == 1: $(pq "$P" up)"
ok "prometheus discovers the 4 nodes through node 1's SD and scrapes them over HTTPS with the token: up == 1"

# every ordered pair has its RTT; the other per-peer series are there
pairs12=$(ordered_pairs 4)
have_pairs() { [ "$(labels_of "$P" "$1" fqdn peer)" = "$pairs12" ]; }
wait_until 30 have_pairs 'meshwatch_peer_rtt_seconds{stat="avg"}' ||
  fail "meshwatch_peer_rtt_seconds{stat=\"avg\"} pairs:
$(labels_of "$P" 'meshwatch_peer_rtt_seconds{stat="avg"}' fqdn peer)"
ok "meshwatch_peer_rtt_seconds{stat=\"avg\"} for each of the 12 ordered pairs (from = fqdn, to = peer)"
for s in 'meshwatch_peer_up == 1' 'meshwatch_peer_state{state="alive"} == 1' 'meshwatch_peer_rtt_seconds{stat="min"}' \
         'meshwatch_peer_rtt_seconds{stat="max"}' meshwatch_peer_jitter_seconds 'meshwatch_peer_loss_ratio == 0' \
         meshwatch_peer_pmtu_bytes 'meshwatch_peer_black_hole == 0' meshwatch_peer_last_seen_timestamp_seconds; do
  wait_until 10 have_pairs "$s" || fail "$s pairs:
$(labels_of "$P" "$s" fqdn peer)"
done
[ "$(pq "$P" 'count(meshwatch_peer_state) == 48' | jget 'len(d)')" = 1 ] || fail "meshwatch_peer_state: not 4 states x 12 pairs: $(pq "$P" 'count(meshwatch_peer_state)')"
ok "per-peer series for the 12 pairs: up, state (4 each), rtt min/max, jitter, loss 0, pmtu, black_hole 0, last_seen"
for s in meshwatch_node_info meshwatch_build_info meshwatch_certificate_expiry_timestamp_seconds \
         'meshwatch_poll_duration_seconds_bucket{phase="total",le="+Inf"}' 'meshwatch_peers{state="alive"} == 3' \
         'meshwatch_metrics_capped{kind="peers"} == 0'; do
  [ "$(labels_of "$P" "$s" fqdn)" = "$(for i in 1 2 3 4; do fqdn $i; done)" ] || fail "$s not at each node: $(pq "$P" "$s")"
done
for ph in connect tls ttfb total; do
  [ "$(pq "$P" "count(meshwatch_poll_duration_seconds_bucket{phase=\"$ph\"})" | jget 'len(d)')" = 1 ] || fail "no poll duration phase $ph"
done
ok "node series at each node: node_info, build_info, certificate expiry, peers, poll duration by phase, metrics_capped 0"

# the rules loaded and evaluate without error
curl -s --max-time 5 "$P/api/v1/rules" > "$TMP/rules.json"
python3 - "$TMP/rules.json" <<'PY' || fail "rules: $(cat "$TMP/rules.json")"
import json, sys
groups = json.load(open(sys.argv[1]))["data"]["groups"]
assert sorted(g["name"] for g in groups) == ["meshwatch.alerts", "meshwatch.recording"], groups
rules = [r for g in groups for r in g["rules"]]
alerts = sorted(r["name"] for r in rules if r["type"] == "alerting")
assert alerts == sorted(["MeshwatchPeerDown", "MeshwatchPeerLoss", "MeshwatchPMTUChanged", "MeshwatchBlackHole",
                         "MeshwatchTargetDown", "MeshwatchCertificateExpiring", "MeshwatchNodeDown",
                         "MeshwatchMetricsCapped"]), alerts
bad = [(r["name"], r.get("lastError")) for r in rules if r.get("health") == "err"]
assert not bad, bad
PY
want_vp=$(for i in 1 2 3 4; do echo "$(fqdn $i) 3"; done)
vp() { pq "$P" 'meshwatch:peer_vantage_points:count' | python3 -c 'import json,sys
for m in sorted(json.load(sys.stdin), key=lambda m: m["metric"]["peer"]): print(m["metric"]["peer"], m["value"][1])'; }
wait_until 10 eval '[ "$(vp)" = "$want_vp" ]' || fail "meshwatch:peer_vantage_points:count: $(vp)"
[ "$(labels_of "$P" 'meshwatch_target_up' name)" = "$(printf 'closed\nweb')" ] || fail "target series: $(pq "$P" meshwatch_target_up)"
# pending (firing too, on a machine so slow that its 2 minutes have passed)
tdown() { [ "$(labels_of "$P" 'ALERTS{alertname=~"Meshwatch.*"}' alertname name fqdn)" = "MeshwatchTargetDown closed $(fqdn 1)" ]; }
wait_until 20 tdown || fail "alerts in a healthy mesh: not MeshwatchTargetDown for the closed target alone: $(pq "$P" ALERTS)"
ok "rules.yml loaded (8 alerts, recording rules evaluate: 3 vantage points per peer); MeshwatchTargetDown for the closed port, no other alert"

# the dashboard's queries on this Prometheus (the vantage series appear
# only after a failed poll; the reports' matrix is a reporting node's)
out=$(python3 "$HERE/../prometheus/check_grafana.py" "$HERE/../../configs/grafana/meshwatch.json" --live "$P" \
  --may-be-empty "Indirect probes reached / asked" 2>&1) || fail "dashboard queries: $out"
ok "${out#ok 1 - }"

# ---- a node dies ----
kill_node "${PID[4]}"
down_at() { [ "$(labels_of "$P" "meshwatch_peer_up{peer=\"$(fqdn 4)\"} == 0" fqdn)" = "$(for i in 1 2 3; do fqdn $i; done)" ]; }
t0=$SECONDS
wait_until 30 down_at || fail "meshwatch_peer_up{peer=\"$(fqdn 4)\"} == 0 at: $(labels_of "$P" "meshwatch_peer_up{peer=\"$(fqdn 4)\"} == 0" fqdn)"
ok "n4 killed: meshwatch_peer_up{peer=\"$(fqdn 4)\"} is 0 at each of the 3 others after $((SECONDS - t0)) s"
firing() { [ "$(labels_of "$P" 'ALERTS{alertname="MeshwatchPeerDown",alertstate="firing"}' peer severity)" = "$(fqdn 4) critical" ]; }
wait_until 30 firing || fail "MeshwatchPeerDown not firing for $(fqdn 4) alone: $(pq "$P" 'ALERTS')"
curl -s --max-time 5 "$P/api/v1/alerts" | python3 -c 'import json,sys
a = [x for x in json.load(sys.stdin)["data"]["alerts"] if x["labels"]["alertname"] == "MeshwatchPeerDown"]
assert len(a) == 1 and a[0]["state"] == "firing" and a[0]["annotations"]["summary"] == "meshwatch peer n4.test is down", a
assert a[0]["annotations"]["description"].startswith("3 nodes of the mesh see n4.test "), a' || fail "MeshwatchPeerDown annotations"
ok "MeshwatchPeerDown fires for $(fqdn 4) (seen down by 3 nodes) after $((SECONDS - t0)) s, for no other peer"

# the dead node leaves the SD; the survivors' pairs keep their RTT
sd_three() { ucurl "$(addr 1)" /api/prometheus/sd "${AUTH[@]}"; [ "$(echo "$BODY" | jget 'sorted(g["labels"]["fqdn"] for g in d)')" = "['n1.test', 'n2.test', 'n3.test']" ]; }
wait_until 20 sd_three || fail "SD after n4 died: $BODY"
have_pairs6() { [ "$(labels_of "$P" "meshwatch_peer_rtt_seconds{stat=\"avg\",peer!=\"$(fqdn 4)\",fqdn!=\"$(fqdn 4)\"}" fqdn peer)" = "$(ordered_pairs 3)" ]; }
have_pairs6 || fail "survivors' RTT pairs: $(labels_of "$P" 'meshwatch_peer_rtt_seconds{stat="avg"}' fqdn peer)"
ok "the SD lists only the 3 alive nodes; the survivors' 6 pairs still have their RTT"
echo "all $CHECKS checks passed"
