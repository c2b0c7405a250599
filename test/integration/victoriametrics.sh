#!/usr/bin/env bash
# A real VictoriaMetrics scrapes a three-node mesh with the shipped
# configs/prometheus/prometheus.yml itself (-promscrape.config; it skips
# the fields it does not know: rule_files, evaluation_interval, the SD's
# refresh_interval): it finds the nodes through one node's SD with a read
# token; its Prometheus-compatible API then answers the queries the rules
# and the dashboard ask: up, the RTT of each of the 6 ordered pairs,
# meshwatch_peer_up 0 at both survivors once a node is killed. vmalert
# reads rules.yml as MetricsQL.
. "$(dirname "$0")/prom_lib.sh"
VM=$(command -v victoria-metrics || true)
[ -n "$VM" ] || skip "victoria-metrics not installed (Debian package victoria-metrics)"

start_mesh 3
mesh_token

mkdir -p "$TMP/vm"
scrape_config "$TMP/vm/prometheus.yml" 1s
# every field of the file is one VictoriaMetrics takes, or one of those three
"$VM" -promscrape.config="$TMP/vm/prometheus.yml" -dryRun -loggerLevel=ERROR 2>"$TMP/vm/strict.txt" || true
unknown=$(grep -o 'field [a-z_]* not found' "$TMP/vm/strict.txt" | awk '{print $2}' | sort | paste -sd ' ')
[ "$unknown" = "evaluation_interval refresh_interval rule_files" ] || fail "VictoriaMetrics does not know these fields of prometheus.yml: $unknown($(cat "$TMP/vm/strict.txt"))"
"$VM" -promscrape.config="$TMP/vm/prometheus.yml" -promscrape.config.strictParse=false -dryRun -loggerLevel=ERROR ||
  fail "VictoriaMetrics does not read prometheus.yml"
ok "VictoriaMetrics reads prometheus.yml with -promscrape.config.strictParse=false (it ignores only: $unknown)"
if command -v vmalert >/dev/null 2>&1; then
  out=$(vmalert -rule="$PROM_CFG/rules.yml" -dryRun -loggerLevel=ERROR 2>&1) || fail "vmalert -dryRun rules.yml: $out"
  ok "vmalert reads rules.yml (MetricsQL)"
fi

VA=$(rand_addr)
V="http://$VA:8428"
# -search.latencyOffset: answer queries with samples up to now, not 30 s ago
"$VM" -storageDataPath="$TMP/vm/data" -httpListenAddr="$VA:8428" -retentionPeriod=1d \
  -promscrape.config="$TMP/vm/prometheus.yml" -promscrape.config.strictParse=false \
  -promscrape.httpSDCheckInterval=2s -search.latencyOffset=1s -loggerLevel=WARN \
  >>"$TMP/victoria-metrics.log" 2>&1 &
PIDS+=($!)
ready() { curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$V/health" | grep -q 200; }
wait_until 30 ready || fail "victoria-metrics on $VA:8428 not healthy in 30 s"
ok "victoria-metrics $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null || true) runs on $VA:8428"

nodes3=$(for i in 1 2 3; do fqdn $i; done)
up3() { [ "$(labels_of "$V" 'up{job="meshwatch"} == 1' fqdn)" = "$nodes3" ]; }
wait_until 40 up3 || fail "VictoriaMetrics up == 1 at: $(labels_of "$V" 'up' fqdn instance)"
ok "VictoriaMetrics discovers the 3 nodes through node 1's SD and scrapes them: up == 1"

pairs6=$(ordered_pairs 3)
have_pairs() { [ "$(labels_of "$V" "$1" fqdn peer)" = "$pairs6" ]; }
wait_until 30 have_pairs 'meshwatch_peer_rtt_seconds{stat="avg"}' ||
  fail "RTT pairs in VictoriaMetrics: $(labels_of "$V" 'meshwatch_peer_rtt_seconds{stat="avg"}' fqdn peer)"
wait_until 10 have_pairs 'meshwatch_peer_up == 1' || fail "peer_up pairs: $(labels_of "$V" 'meshwatch_peer_up' fqdn peer)"
ok "meshwatch_peer_rtt_seconds{stat=\"avg\"} and meshwatch_peer_up == 1 for each of the 6 ordered pairs"
# the rules' and the dashboard's aggregations answer the same in MetricsQL
vp=$(pq "$V" 'count by (peer) (meshwatch_peer_up == 1)' | python3 -c 'import json,sys
print(sorted((m["metric"]["peer"], m["value"][1]) for m in json.load(sys.stdin)))')
[ "$vp" = "[('n1.test', '2'), ('n2.test', '2'), ('n3.test', '2')]" ] || fail "vantage points: $vp"
ok "count by (peer) (meshwatch_peer_up == 1): 2 vantage points for each peer"

kill_node "${PID[3]}"
t0=$SECONDS
down_at() { [ "$(labels_of "$V" "meshwatch_peer_up{peer=\"$(fqdn 3)\"} == 0" fqdn)" = "$(for i in 1 2; do fqdn $i; done)" ]; }
wait_until 40 down_at || fail "meshwatch_peer_up{peer=\"$(fqdn 3)\"} == 0 at: $(labels_of "$V" "meshwatch_peer_up{peer=\"$(fqdn 3)\"}" fqdn)"
[ "$(pq "$V" "count by (peer) (meshwatch_peer_up == 0) >= 2" | jget '[m["metric"]["peer"] for m in d]')" = "['$(fqdn 3)']" ] ||
  fail "MeshwatchPeerDown's expression in VictoriaMetrics: $(pq "$V" 'count by (peer) (meshwatch_peer_up == 0)')"
ok "n3 killed: meshwatch_peer_up 0 at both survivors after $((SECONDS - t0)) s; MeshwatchPeerDown's expression names n3 alone"
echo "all $CHECKS checks passed"
