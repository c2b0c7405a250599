#!/usr/bin/env bash
# /metrics series a Prometheus user scrapes, and service discovery, on a
# real 3-node mesh plus a reporting node: every node has per-peer series
# (up, state, RTT, loss, PMTU...) for each other node, per-target series
# keep their identity when the target's port changes, the reporting node
# exposes the whole matrix (from, to), /api/prometheus/sd lists every alive
# node, the exposition passes `promtool check metrics`, and a killed
# node's meshwatch_peer_up goes 0 at the others.
. "$(dirname "$0")/lib.sh"

base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=3 MESHWATCH_REPORT_INTERVAL=1
echo "{\"servers\":[{\"server_fqdn\":\"r.test\",\"server_ip\":\"$(addr 4)\",\"port\":8443}]}" > "$TMP/reporting.json"
declare -a PID TOKS
for i in 1 2 3; do
  next=$((i % 3 + 1))
  echo "{\"nodes\":[{\"fqdn\":\"n$next.test\",\"ip\":\"$(addr $next)\"}]}" > "$TMP/seed$i.json"
  start_node "n$i" "$(addr $i)" --seed "$TMP/seed$i.json" --reporting "$TMP/reporting.json"
  PID[$i]=$NODE_PID
done
echo "{\"nodes\":[{\"fqdn\":\"n1.test\",\"ip\":\"$(addr 1)\"}]}" > "$TMP/seed4.json"
start_node r "$(addr 4)" --seed "$TMP/seed4.json"
for i in 1 2 3 4; do TOKS[$i]=$(login "$(addr $i)"); done

metrics() { ucurl "$(addr $1)" /metrics -H "Authorization: Bearer ${TOKS[$1]}"; }
# count_lines I REGEX: lines of node I's /metrics matching REGEX
count_lines() { metrics "$1"; grep -cE "$2" <<<"$BODY" || true; }

# every node sees the 3 others alive with an RTT (the reporting node is a peer too)
for tick in $(seq 1 150); do
  done_=1
  for i in 1 2 3 4; do
    [ "$(count_lines $i '^meshwatch_peer_rtt_seconds\{peer="[a-z0-9.]+",peer_id="[0-9a-f-]{36}",stat="avg"\} [0-9.e-]+$')" = 3 ] || { done_=0; break; }
  done
  [ $done_ = 1 ] && break
  sleep 0.2
done
[ $done_ = 1 ] || { metrics 1; fail "per-peer RTT series missing: $(grep meshwatch_peer_rtt <<<"$BODY")"; }
ok "each of 4 nodes has meshwatch_peer_rtt_seconds{stat=avg} for the 3 others"

metrics 1
for m in 'meshwatch_peer_up\{peer="n2.test",peer_id="[^"]+"\} 1' \
         'meshwatch_peer_state\{peer="n2.test",peer_id="[^"]+",state="alive"\} 1' \
         'meshwatch_peer_state\{peer="n2.test",peer_id="[^"]+",state="dead"\} 0' \
         'meshwatch_peer_rtt_seconds\{peer="n2.test",peer_id="[^"]+",stat="(min|max)"\} ' \
         'meshwatch_peer_loss_ratio\{peer="n2.test",peer_id="[^"]+"\} 0' \
         'meshwatch_peer_black_hole\{peer="n2.test",peer_id="[^"]+"\} 0' \
         'meshwatch_peer_last_seen_timestamp_seconds\{peer="n2.test",peer_id="[^"]+"\} [0-9]{10}' \
         'meshwatch_poll_duration_seconds_bucket\{phase="tls",le="\+Inf"\} [1-9]' \
         'meshwatch_poll_duration_seconds_count\{phase="connect"\} [1-9]' \
         'meshwatch_node_info\{node_id="[0-9a-f-]{36}",fqdn="n1.test",role="node"\} 1' \
         'meshwatch_traffic_protocol_bytes_total\{protocol="tcp"\}' ; do
  grep -qE "^$m" <<<"$BODY" || fail "n1 /metrics lacks $m"
done
ok "per-peer up, state, RTT min/max, loss, black hole, last seen; poll phase histograms; node info"

# the PMTU is measured in the first rounds (loopback: 65535 or the probe's ceiling)
for tick in $(seq 1 100); do
  [ "$(count_lines 1 '^meshwatch_peer_pmtu_bytes\{peer="n[23].test",peer_id="[^"]+"\} [0-9]+$')" = 2 ] && break
  sleep 0.2
done
[ "$(count_lines 1 '^meshwatch_peer_pmtu_bytes\{peer="n[23].test"')" = 2 ] || fail "pmtu series: $(grep pmtu <<<"$BODY")"
ok "meshwatch_peer_pmtu_bytes for each peer once measured"

# the exposition is valid for Prometheus' own linter
if command -v promtool >/dev/null; then
  metrics 1
  lint=$(promtool check metrics <<<"$BODY" 2>&1) || fail "promtool check metrics: $lint"
  [ -z "$lint" ] || fail "promtool check metrics complains: $lint"
  ok "promtool check metrics: clean ($(grep -vc '^#' <<<"$BODY") samples)"
else
  echo "promtool not installed: lint not checked"
fi

# gzip for scrapers that ask (Prometheus does); plain for those that don't
hdr=$(curl -sk --max-time 10 -D - -o "$TMP/m.gz" -H 'Accept-Encoding: gzip' -H "Authorization: Bearer ${TOKS[1]}" "https://$(addr 1):8443/metrics")
grep -qi '^content-encoding: gzip' <<<"$hdr" || fail "no gzip: $hdr"
gunzip -c "$TMP/m.gz" | grep -q '^meshwatch_peer_up{peer="n2.test"' || fail "gzip body does not decompress to the page"
plain=$(curl -sk --max-time 10 -D - -o /dev/null -H "Authorization: Bearer ${TOKS[1]}" "https://$(addr 1):8443/metrics")
grep -qi '^content-encoding' <<<"$plain" && fail "compressed without being asked"
ok "/metrics is gzip-compressed when asked ($(stat -c %s "$TMP/m.gz") bytes for $(gunzip -c "$TMP/m.gz" | wc -c)), plain otherwise"

# targets: series keyed by target_id and name; the port lives in the info series
L=$(addr 1)
python3 -c "
import socket,time,sys
s=socket.socket(); s.bind(('$L',0)); s.listen(64); print(s.getsockname()[1]); sys.stdout.flush()
while True:
    c,_=s.accept(); c.close()
" > "$TMP/port" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
OPEN=$(cat "$TMP/port")
ucurl "$L" /api/targets -X POST -H "Authorization: Bearer ${TOKS[1]}" -H 'Content-Type: application/json' \
  -d "{\"name\":\"web \\\"one\\\"\",\"host\":\"$L\",\"port\":$OPEN,\"interval_s\":1}"
[ "$HTTP_STATUS" = 201 ] || fail "target create: $HTTP_STATUS $BODY"
TID=$(echo "$BODY" | jget 'd["id"]')
for tick in $(seq 1 50); do
  [ "$(count_lines 1 "^meshwatch_target_checks_total\\{target_id=\"$TID\",name=\"web \\\\\"one\\\\\"\",result=\"up\"\\} [2-9]")" = 1 ] && break
  sleep 0.2
done
metrics 1
grep -qE "^meshwatch_target_up\\{target_id=\"$TID\",name=\"web \\\\\"one\\\\\"\"\\} 1$" <<<"$BODY" || fail "target_up: $(grep meshwatch_target_ <<<"$BODY")"
grep -qE "^meshwatch_target_info\\{target_id=\"$TID\",name=\"web \\\\\"one\\\\\"\",host=\"$L\",port=\"$OPEN\"\\} 1$" <<<"$BODY" || fail "target_info: $(grep meshwatch_target_info <<<"$BODY")"
grep -qE "^meshwatch_target_connect_duration_seconds_count\\{target_id=\"$TID\",name=\"web \\\\\"one\\\\\"\"\\} [1-9]" <<<"$BODY" || fail "connect histogram"
ok "target series: up, info with host/port, checks by result, connect histogram (name with quotes escaped)"
# a port change: the same series keep counting, only the info series changes
ucurl "$L" /api/targets/$TID -X PATCH -H "Authorization: Bearer ${TOKS[1]}" -H 'Content-Type: application/json' -d '{"port":9}'
[ "$HTTP_STATUS" = 200 ] || fail "target patch: $HTTP_STATUS $BODY"
metrics 1
grep -qE "^meshwatch_target_info\\{target_id=\"$TID\",[^}]*port=\"9\"\\} 1$" <<<"$BODY" || fail "info after port change"
[ "$(grep -c "target_id=\"$TID\"" <<<"$BODY")" -gt 10 ] || fail "series gone after the port change"
ok "after a port change the target's series keep their labels; meshwatch_target_info shows port 9"
if command -v promtool >/dev/null; then
  lint=$(promtool check metrics <<<"$BODY" 2>&1) || fail "promtool check metrics with targets: $lint"
  [ -z "$lint" ] || fail "promtool check metrics with targets complains: $lint"
fi

# service discovery: all four nodes, alive, with their labels
ucurl "$(addr 2)" /api/prometheus/sd -H "Authorization: Bearer ${TOKS[2]}"
[ "$HTTP_STATUS" = 200 ] || fail "sd: $HTTP_STATUS $BODY"
echo "$BODY" | jget "sorted((g['labels']['fqdn'], g['targets'][0], g['labels']['role'], g['labels']['__scheme__']) for g in d)" > "$TMP/sd"
want="[('n1.test', '$(addr 1):8443', 'node', 'https'), ('n2.test', '$(addr 2):8443', 'node', 'https'), ('n3.test', '$(addr 3):8443', 'node', 'https'), ('r.test', '$(addr 4):8443', 'reporting', 'https')]"
[ "$(cat "$TMP/sd")" = "$want" ] || fail "sd: $(cat "$TMP/sd") want $want"
echo "$BODY" | jget 'all(len(g["labels"]["node_id"]) == 36 and g["labels"]["__metrics_path__"] == "/metrics" for g in d)' | grep -q True || fail "sd ids: $BODY"
ok "/api/prometheus/sd lists the 4 alive nodes (fqdn, node_id, role: r.test is reporting)"
ucurl "$(addr 2)" /api/prometheus/sd
[ "$HTTP_STATUS" = 401 ] || fail "sd without a token: $HTTP_STATUS"
ok "/api/prometheus/sd without a token: 401"

# the reporting node: the whole matrix from the reports, from -> to
for tick in $(seq 1 100); do
  [ "$(count_lines 4 '^meshwatch_mesh_rtt_seconds\{from="[a-z0-9.]+",to="[a-z0-9.]+"\} [0-9.e-]+$')" -ge 12 ] && break
  sleep 0.2
done
metrics 4
for f in n1 n2 n3; do
  for t in n1 n2 n3; do
    [ $f = $t ] && continue
    grep -qE "^meshwatch_mesh_rtt_seconds\\{from=\"$f.test\",to=\"$t.test\"\\} " <<<"$BODY" || fail "matrix cell $f->$t: $(grep meshwatch_mesh_rtt <<<"$BODY")"
    grep -qE "^meshwatch_mesh_up\\{from=\"$f.test\",to=\"$t.test\"\\} 1$" <<<"$BODY" || fail "matrix up $f->$t"
  done
  grep -qE "^meshwatch_mesh_origin_age_seconds\\{origin=\"$f.test\"\\} [0-9]+$" <<<"$BODY" || fail "origin age $f"
done
grep -qE '^meshwatch_node_info\{[^}]*fqdn="r.test",role="reporting"\} 1$' <<<"$BODY" || fail "reporting role"
ok "reporting node: meshwatch_mesh_rtt_seconds / _up for all 6 pairs of the 3 origins, origin ages, role reporting"
if command -v promtool >/dev/null; then
  lint=$(promtool check metrics <<<"$BODY" 2>&1) || fail "promtool check metrics on the reporting node: $lint"
  [ -z "$lint" ] || fail "promtool check metrics on the reporting node complains: $lint"
fi

# a killed node: peer_up 0 at the others, gone from service discovery
kill_node "${PID[3]}"
for tick in $(seq 1 100); do
  a=$(count_lines 1 '^meshwatch_peer_up\{peer="n3.test",peer_id="[^"]+"\} 0$')
  b=$(count_lines 2 '^meshwatch_peer_up\{peer="n3.test",peer_id="[^"]+"\} 0$')
  [ "$a$b" = 11 ] && break
  sleep 0.2
done
[ "$a$b" = 11 ] || fail "n3 killed but peer_up not 0 at n1/n2 ($a $b)"
metrics 1
grep -qE '^meshwatch_peer_rtt_seconds\{peer="n3.test"' <<<"$BODY" && fail "a dead peer still has an RTT"
ok "killed n3: meshwatch_peer_up 0 at n1 and n2, no RTT shown for it"
ucurl "$(addr 1)" /api/prometheus/sd -H "Authorization: Bearer ${TOKS[1]}"
echo "$BODY" | jget 'sorted(g["labels"]["fqdn"] for g in d)' | grep -qx "\['n1.test', 'n2.test', 'r.test'\]" || fail "sd after kill: $BODY"
ok "/api/prometheus/sd no longer lists the dead node"
grep -q '^meshwatch_metrics_capped{kind="peers"} 0$' <<<"$(metrics 1; echo "$BODY")" || fail "n1 capped peers should be 0"

# the bounds: the reporting node again with small ones (its reports and peers are stored)
stop_node "$(pgrep -f -- "--listen $(addr 4):8443")"
MESHWATCH_METRICS_MAX_PEERS=2 MESHWATCH_METRICS_MAX_CELLS=5 MESHWATCH_METRICS_MAX_TARGETS=0 \
  start_node r "$(addr 4)" --seed "$TMP/seed4.json"
ucurl "$(addr 4)" /api/targets -X POST -H "Authorization: Bearer ${TOKS[4]}" -H 'Content-Type: application/json' \
  -d "{\"name\":\"t\",\"host\":\"$(addr 4)\",\"port\":9,\"interval_s\":60}"
[ "$HTTP_STATUS" = 201 ] || fail "target on r: $HTTP_STATUS $BODY"
metrics 4
[ "$(grep -c '^meshwatch_peer_up{' <<<"$BODY")" = 2 ] || fail "metrics_max_peers=2: $(grep '^meshwatch_peer_up' <<<"$BODY")"
[ "$(grep -c '^meshwatch_mesh_up{' <<<"$BODY")" = 5 ] || fail "metrics_max_cells=5: $(grep -c '^meshwatch_mesh_up' <<<"$BODY")"
grep -q '^meshwatch_target_info{' <<<"$BODY" && fail "metrics_max_targets=0 still lists a target"
for k in peers targets matrix_cells; do
  grep -q "^meshwatch_metrics_capped{kind=\"$k\"} 1$" <<<"$BODY" || fail "capped $k: $(grep capped <<<"$BODY")"
done
ok "metrics_max_peers=2, metrics_max_cells=5, metrics_max_targets=0: exactly that many series, meshwatch_metrics_capped says so"
echo "metrics: $CHECKS checks passed"
