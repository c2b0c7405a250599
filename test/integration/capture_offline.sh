#!/usr/bin/env bash
# Offline capture: a node reads a capture file this test writes (gen_pcap.py:
# TCP, UDP, ICMP, VLAN and QinQ, IPv6 extension headers, IPv4 options,
# fragments of both families, ARP, truncated and malformed frames) and must
# report exactly what the file holds:
#  1. /api/stats: frames, bytes, flows, decode errors by kind, mode, file;
#  2. /api/flows: every flow with its packets, bytes each way, TCP flags and
#     VLAN; the filters (proto, ip CIDR, port), sorting and paging; every
#     bad parameter answers 400 naming it;
#  3. /api/counters: frames per second of packet time; step limits; after
#     a restart without the file, the same minute from the database;
#  4. /ws: "rates" and "top_talkers" frames;
#  5. /metrics has the traffic counters;
#  6. the flow cap: a file with more flows than --max-flows keeps exactly
#     max_flows and counts the evictions;
#  7. a bad BPF filter or a missing file: the node serves on and says why
#     (and a capture_state event "failed" with the reason; "running" for
#     the file read in 1);
#     out-of-range options are refused at start;
#  8. the default BPF filter keeps IP behind 802.1Q and QinQ tags: a file
#     mixing tagged and untagged frames counts every IP frame written, per
#     VLAN id; only ARP is left out;
#  9. an IPv4 total length past the frame's wire length is bad_ip, while a
#     good packet cut by the snaplen still counts (both in the known file).
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

python3 "$HERE/gen_pcap.py" known "$TMP/known.pcap" "$TMP/expect.json"
T0=1767225600
# The capture files are dated 2026-01-01: keep ten years of history, or the
# hourly maintenance (first run 30 s after start) expires the stored minute
# this test reads back once the date is more than retention_days later.
export MESHWATCH_RETENTION_DAYS=3650

A=$(rand_addr)
# a reporting node that is never there: snapshots wait in the outbox, where
# the test reads the traffic summary they carry
echo '{"server_fqdn":"nowhere.test","server_ip":"127.0.0.1","port":9}' > "$TMP/reporting.json"
MESHWATCH_REPORT_INTERVAL=1 start_node n1 "$A" --pcap "$TMP/known.pcap" --bpf '' --reporting "$TMP/reporting.json"
TOKEN=$(login "$A")
AUTH=(-H "Authorization: Bearer $TOKEN")

# capture_event ADDR TOKEN: the newest capture_state event as
# "subject new error", waiting up to 3 s for the writer to store it
capture_event() {
  local i
  for i in $(seq 30); do
    ucurl "$1" "/api/events?kind=capture_state&limit=1" -H "Authorization: Bearer $2"
    [ "$(echo "$BODY" | jget 'd["total"]')" != 0 ] && break
    sleep 0.1
  done
  echo "$BODY" | jget '" ".join([d["items"][0]["subject_type"], d["items"][0]["subject"], d["items"][0]["new"],
    d["items"][0]["evidence"].get("error", "-")])'
}

wait_finished "$A" "$TOKEN"
expect_status 200 "GET /api/stats"
STATS=$BODY
[ "$(capture_event "$A" "$TOKEN")" = "interface $TMP/known.pcap running -" ] ||
  fail "no capture_state running event for the file: $BODY"
ok "capture_state event: the file's capture running"
python3 - "$TMP/expect.json" "$STATS" <<'EOF' || fail "/api/stats does not match the file"
import json, sys
e = json.load(open(sys.argv[1])); s = json.loads(sys.argv[2])
bad = []
def eq(name, got, want):
    if got != want: bad.append(f"{name}: got {got!r}, want {want!r}")
eq("state", s["state"], "finished")
eq("mode", s["mode"], "offline")
eq("file", s["file"].endswith("known.pcap"), True)
eq("error", s["error"], None)
eq("linktype", s["linktype"], "ethernet")
eq("packets_received", s["packets_received"], e["totals"]["packets"])
eq("bytes_received", s["bytes_received"], e["totals"]["bytes"])
eq("not_ip", s["not_ip"], e["totals"]["not_ip"])
eq("flows", s["flows"], len(e["flows"]))
eq("evictions", s["evictions"], 0)
for kind, n in s["decode_errors"].items():
    eq("decode_errors." + kind, n, e["errors"].get(kind, 0))
eq("decode_errors_total", s["decode_errors_total"], sum(e["errors"].values()))
eq("first_packet", s["first_packet"], "2026-01-01T00:00:00Z")
eq("processing has a rate", s["processing"]["packets_per_s"] > 0, True)
if bad: sys.exit("\n".join(bad))
EOF
ok "stats: $(echo "$STATS" | jget 'd["packets_received"]') frames, $(echo "$STATS" | jget 'd["flows"]') flows, decode errors by kind as written"

ucurl "$A" "/api/flows?limit=1000" "${AUTH[@]}"
expect_status 200 "GET /api/flows"
python3 - "$TMP/expect.json" "$BODY" <<'EOF' || fail "/api/flows does not match the file"
import json, sys
e = json.load(open(sys.argv[1])); d = json.loads(sys.argv[2])
keys = ("a", "b", "proto", "vlan", "packets", "bytes", "a_to_b_bytes", "b_to_a_bytes", "tcp_flags")
got = sorted(tuple(f[k] for k in keys) for f in d["items"])
want = sorted(tuple(f[k] for k in keys) for f in e["flows"])
if d["total"] != len(want) or got != want:
    print("got:"); [print(" ", g) for g in got if g not in want]
    print("want:"); [print(" ", w) for w in want if w not in got]
    sys.exit(1)
for f in d["items"]:
    assert f["first_seen"].startswith("2026-01-01T00:00:0") and f["last_seen"] >= f["first_seen"], f
assert (d["limit"], d["offset"]) == (1000, 0)
EOF
ok "flows: all $(echo "$BODY" | jget 'd["total"]') flows exact (packets, bytes both ways, flags, VLAN, IPv6, fragments)"

# filters
count() { ucurl "$A" "/api/flows?limit=1000&$1" "${AUTH[@]}"; [ "$HTTP_STATUS" = 200 ] || fail "$1: HTTP $HTTP_STATUS"; echo "$BODY" | jget 'd["total"]'; }
want_count() { python3 -c "import json,sys; e=json.load(open('$TMP/expect.json')); print(sum(1 for f in e['flows'] if $2))"; }
[ "$(count proto=udp)" = "$(want_count x 'f["proto"]=="udp"')" ] || fail "proto=udp"
[ "$(count proto=tcp)" = "$(want_count x 'f["proto"]=="tcp"')" ] || fail "proto=tcp"
[ "$(count proto=icmpv6)" = 1 ] || fail "proto=icmpv6"
[ "$(count proto=47)" = 1 ] || fail "proto=47"
[ "$(count ip=10.0.0.0/24)" = 3 ] || fail "ip=10.0.0.0/24: $(count ip=10.0.0.0/24)"
[ "$(count ip=10.0.0.3)" = 1 ] || fail "ip=10.0.0.3"
[ "$(count ip=fd00::/64)" = "$(want_count x '"fd00" in f["a"]')" ] || fail "ip=fd00::/64"
[ "$(count ip=10.0.0.0/8)" = "$(want_count x 'f["a"].startswith("10.")')" ] || fail "ip=10.0.0.0/8"
[ "$(count port=53)" = 1 ] || fail "port=53"
[ "$(count 'port=2000&proto=udp')" = 2 ] || fail "port=2000&proto=udp (VLAN 100 and untagged)"
ok "filters proto, ip (IPv4 and IPv6 CIDR, one address), port"

ucurl "$A" "/api/flows?sort=packets&dir=desc&limit=2" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '[f["packets"] for f in d["items"]]')" = "[8, 5]" ] || fail "sort=packets desc: $BODY"
ucurl "$A" "/api/flows?sort=bytes&dir=asc&limit=1000" "${AUTH[@]}"
echo "$BODY" | jget 'all(a["bytes"] <= b["bytes"] for a, b in zip(d["items"], d["items"][1:]))' | grep -q True || fail "sort=bytes asc"
ucurl "$A" "/api/flows?sort=last_seen&limit=1000" "${AUTH[@]}"
echo "$BODY" | jget 'all(a["last_seen"] >= b["last_seen"] for a, b in zip(d["items"], d["items"][1:]))' | grep -q True || fail "sort=last_seen"
ALL=$(curl -sk "${AUTH[@]}" "https://$A:8443/api/flows?sort=bytes&limit=1000" | jget '[f["a"]+f["b"]+str(f["vlan"]) for f in d["items"]]')
PAGE=$(curl -sk "${AUTH[@]}" "https://$A:8443/api/flows?sort=bytes&limit=3&offset=2" | jget '[f["a"]+f["b"]+str(f["vlan"]) for f in d["items"]]')
python3 -c "import ast,sys; a=ast.literal_eval(sys.argv[1]); p=ast.literal_eval(sys.argv[2]); sys.exit(0 if a[2:5]==p else 1)" "$ALL" "$PAGE" || fail "paging: $PAGE is not items 2..4 of $ALL"
ok "sort by packets, bytes, last_seen both ways; limit and offset page the same order"

for q in limit=0 limit=1001 limit=x offset=-1 offset=100000001 sort=size dir=up proto=foo proto=256 \
  ip=10.0.0.0/33 ip=fd00::/129 ip=10.0.0 ip=nonsense port=0 port=65536 port=http; do
  name=${q%%=*}
  ucurl "$A" "/api/flows?$q" "${AUTH[@]}"
  [ "$HTTP_STATUS" = 400 ] || fail "/api/flows?$q: expected 400, got $HTTP_STATUS"
  echo "$BODY" | jget 'd["detail"]' | grep -q "\"$name\"" || fail "/api/flows?$q: the detail does not name $name: $BODY"
done
ok "bad /api/flows parameters (limit, offset, sort, dir, proto, ip, port bounds) answer 400 naming the parameter"
ucurl "$A" /api/flows
expect_status 401 "/api/flows needs a login"

# counters: one point per second of packet time
ucurl "$A" "/api/counters?from=$T0&to=$((T0 + 5))&step=1" "${AUTH[@]}"
expect_status 200 "GET /api/counters (seconds)"
python3 - "$TMP/expect.json" "$BODY" <<'EOF' || fail "per-second counters do not match the file"
import json, sys
e = json.load(open(sys.argv[1])); d = json.loads(sys.argv[2])
got = [i["packets"] for i in d["items"]]
want = [e["by_second"].get(str(1767225600 + k), 0) for k in range(5)]
assert d["step"] == 1 and got == want, (got, want)
assert all(i["source"] == "seconds" for i in d["items"])
assert sum(i["bytes"] for i in d["items"]) == e["totals"]["bytes"]
assert d["items"][0]["pps"] == want[0] and d["items"][0]["bps"] == d["items"][0]["bytes"] * 8
bp = d["items"][0]["by_proto"]
assert set(bp) == {"tcp", "udp", "icmp", "icmpv6", "other"} and bp["tcp"] > 0
EOF
ucurl "$A" "/api/counters?from=$T0&to=$((T0 + 5))&step=5" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '[i["packets"] for i in d["items"]]')" = "[$(jget 'd["totals"]["packets"]' < "$TMP/expect.json")]" ] || fail "step=5: $BODY"
ucurl "$A" "/api/counters?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:05Z&step=1s" "${AUTH[@]}"
expect_status 200 "counters with RFC 3339 times and step=1s"
ok "counters: packets per second as written, steps add up, by_proto"

for q in "step=0" "step=86401" "step=fast" "from=$((T0 + 5))&to=$T0" "from=yesterday" \
  "from=$((T0 - 86400 * 30))&to=$T0&step=60"; do
  ucurl "$A" "/api/counters?$q" "${AUTH[@]}"
  [ "$HTTP_STATUS" = 400 ] || fail "/api/counters?$q: expected 400, got $HTTP_STATUS"
done
ucurl "$A" "/api/counters?from=$((T0 - 86400 * 30))&to=$T0&step=720" "${AUTH[@]}"
expect_status 200 "30 days in 720 s steps (3600 points, the limit)"
ok "counters: step 0, above 86400, a range of more than 3600 points, reversed range answer 400"

# live frames
WS_TOPICS=rates,top_talkers timeout 20 python3 "$HERE/ws_client.py" "$A" 8443 "$TOKEN" read 3.5 > "$TMP/ws.txt" 2>&1 || true
grep -q '"type":"rates"' "$TMP/ws.txt" || fail "no rates frame: $(head -c 500 "$TMP/ws.txt")"
LAST=$(jget 'list(d["by_second"].values())[-1]' < "$TMP/expect.json")
grep -m1 '"type":"rates"' "$TMP/ws.txt" | jget '(d["pps"], d["time"], sorted(d["by_proto"]))' |
  grep -q "^($LAST, '2026-01-01T00:00:04Z', \['icmp', 'icmpv6', 'other', 'tcp', 'udp'\])" || fail "rates frame: $(grep rates "$TMP/ws.txt" | head -1)"
grep -q '"type":"top_talkers"' "$TMP/ws.txt" || fail "no top_talkers frame"
# the file's last second: one 100-byte query between 10.0.0.4 and 10.0.0.3
grep -m1 '"type":"top_talkers"' "$TMP/ws.txt" | jget 'sorted((r["ip"], r["bytes"], r["packets"]) for r in d["rows"])' |
  grep -qx "\[('10.0.0.3', 100, 1), ('10.0.0.4', 100, 1)\]" || fail "top_talkers: $(grep top_talkers "$TMP/ws.txt" | head -1)"
ok "/ws sends rates (newest second: pps, by_proto) and top_talkers (per IP, sent + received) frames"

ucurl "$A" /metrics "${AUTH[@]}"
grep -q "^meshwatch_traffic_packets_total $(jget 'd["totals"]["packets"]' < "$TMP/expect.json")$" <<<"$BODY" || fail "metrics packets"
# four: bad version, bad header length, total below the header, total past the frame's wire length
grep -q '^meshwatch_traffic_decode_errors_total{kind="bad_ip"} 4$' <<<"$BODY" || fail "metrics decode errors"
grep -q "^meshwatch_traffic_flows $(echo "$STATS" | jget 'd["flows"]')$" <<<"$BODY" || fail "metrics flows"
# the per-protocol counters add up to the totals
sums=$(awk '/^meshwatch_traffic_protocol_bytes_total\{/ {b += $2} /^meshwatch_traffic_protocol_packets_total\{/ {p += $2}
  /^meshwatch_traffic_bytes_total / {tb = $2} /^meshwatch_traffic_packets_total / {tp = $2} END {print (b == tb && p == tp && tp > 0) ? "ok" : b" "tb" "p" "tp}' <<<"$BODY")
[ "$sums" = ok ] || fail "protocol counters do not add up: $sums"
grep -q '^meshwatch_traffic_protocol_packets_total{protocol="icmpv6"} [1-9]' <<<"$BODY" || fail "icmpv6 packets"
ok "/metrics: traffic packets, flows, decode errors; bytes and packets by protocol add up to the totals"

python3 - "$TMP/n1/data/meshwatch.db" <<'EOF' || fail "the report snapshot's traffic summary"
import json, sqlite3, sys, time
for _ in range(50):
    row = sqlite3.connect(sys.argv[1]).execute("SELECT body FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
    if row:
        break
    time.sleep(0.1)
d = json.loads(row[0])
assert "peers" in d and "summaries" in d and "origin" in d, sorted(d)  # the fields that were there before
t = d["traffic"]
assert t["state"] == "finished" and t["pps"] == 5 and t["flows"] == 16 and t["drops_total"] == 0, t
assert sorted(r["ip"] for r in t["top_talkers"]) == ["10.0.0.3", "10.0.0.4"], t
EOF
ok "report snapshots keep their fields and add traffic: state, pps, flows, drops, top talkers"

# the minute persisted: a restart without the file answers from the database
stop_node "$NODE_PID"
start_node n1 "$A"
TOKEN=$(login "$A")
AUTH=(-H "Authorization: Bearer $TOKEN")
ucurl "$A" /api/stats "${AUTH[@]}"
[ "$(echo "$BODY" | jget 'd["state"]')" = off ] || fail "without --iface/--pcap capture is off: $BODY"
echo "$BODY" | jget 'd["hint"]' | grep -q "setcap cap_net_raw,cap_net_admin+eip" || fail "the off state says how to enable capture"
ucurl "$A" "/api/counters?from=$T0&to=$((T0 + 60))&step=60" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '[(i["packets"], i["source"]) for i in d["items"]]')" = "[($(jget 'd["totals"]["packets"]' < "$TMP/expect.json"), 'minutes')]" ] ||
  fail "the stored minute: $BODY"
ucurl "$A" "/api/flows" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '(d["total"], d["state"])')" = "(0, 'off')" ] || fail "flows while off: $BODY"
ok "capture off: stats say so and how to enable it; the file's minute comes back from the database"
stop_node "$NODE_PID"

# the flow cap
python3 "$HERE/gen_pcap.py" bench "$TMP/many.pcap" 500 500
B=$(rand_addr)
start_node n2 "$B" --pcap "$TMP/many.pcap" --max-flows 16
TOKEN=$(login "$B")
wait_finished "$B" "$TOKEN"
[ "$(echo "$BODY" | jget '(d["flows"], d["flows_created"], d["evictions"], d["max_flows"])')" = "(16, 500, 484, 16)" ] ||
  fail "flow cap: $BODY"
ok "500 flows through --max-flows 16: 16 kept, 484 evicted"
stop_node "$NODE_PID"

# the per-second talker table: 7001 addresses in one second, 6144 ranked
python3 "$HERE/gen_pcap.py" talkers "$TMP/talkers.pcap" 7000
start_node n5 "$B" --pcap "$TMP/talkers.pcap"
TOKEN=$(login "$B")
wait_finished "$B" "$TOKEN"
[ "$(echo "$BODY" | jget '(d["flows"], d["talkers_left_out"])')" = "(7000, $((7000 - 6143)))" ] || fail "talker table: $BODY"
WS_TOPICS=top_talkers timeout 20 python3 "$HERE/ws_client.py" "$B" 8443 "$TOKEN" read 1.5 > "$TMP/ws2.txt" 2>&1 || true
grep -m1 '"type":"top_talkers"' "$TMP/ws2.txt" | jget '(len(d["rows"]), d["rows"][0]["ip"], d["rows"][0]["packets"])' |
  grep -qx "(10, '10.0.0.1', 7000)" || fail "top talkers past the table: $(head -c 300 "$TMP/ws2.txt")"
ok "7001 addresses in one second: the server still ranks first (7000 packets), 857 addresses left out and counted"
stop_node "$NODE_PID"

# the default filter on tagged and untagged frames: every IP frame the
# generator wrote is counted, with its VLAN id; with no filter the ARP too
python3 "$HERE/gen_pcap.py" vlanmix "$TMP/vlan.pcap" "$TMP/vlan.json" 2000
start_node n6 "$B" --pcap "$TMP/vlan.pcap"
TOKEN=$(login "$B")
wait_finished "$B" "$TOKEN"
VSTATS=$BODY
ucurl "$B" "/api/flows?limit=1000" -H "Authorization: Bearer $TOKEN"
python3 - "$TMP/vlan.json" "$VSTATS" "$BODY" <<'EOF' || fail "default filter on tagged frames"
import json, sys
e = json.load(open(sys.argv[1])); s = json.loads(sys.argv[2]); d = json.loads(sys.argv[3])
assert "vlan" in s["bpf"], s["bpf"]
got = (s["packets_received"], s["bytes_received"], s["not_ip"], s["decode_errors_total"], s["flows"])
want = (e["ip_frames"], e["ip_bytes"], 0, 0, len(e["flows"]))
assert got == want, f"(packets, bytes, not_ip, errors, flows): got {got}, want {want}"
keys = ("a", "b", "proto", "vlan", "packets", "bytes", "a_to_b_bytes", "b_to_a_bytes", "tcp_flags")
assert sorted(tuple(f[k] for k in keys) for f in d["items"]) == sorted(tuple(f[k] for k in keys) for f in e["flows"]), d
per_vlan = {}
for f in d["items"]:
    per_vlan[f["vlan"]] = per_vlan.get(f["vlan"], 0) + f["packets"]
assert sorted(per_vlan) == [0, 10, 20, 30], per_vlan
print(f"# {s['packets_received']} of {e['totals']['packets']} frames kept (the rest ARP), packets per VLAN {per_vlan}")
EOF
stop_node "$NODE_PID"
start_node n7 "$B" --pcap "$TMP/vlan.pcap" --bpf ''
TOKEN=$(login "$B")
wait_finished "$B" "$TOKEN"
[ "$(echo "$BODY" | jget '(d["packets_received"], d["bytes_received"], d["not_ip"])')" = \
  "$(jget '(d["totals"]["packets"], d["totals"]["bytes"], d["totals"]["not_ip"])' < "$TMP/vlan.json")" ] || fail "no filter: $BODY"
stop_node "$NODE_PID"
ok "default filter: 2000 frames, tagged (802.1Q 10, 20; QinQ 30/40) and untagged: every IP frame counted with its VLAN, only ARP left out"

# a bad filter, a missing file: capture fails, the node does not
C=$(rand_addr)
start_node n3 "$C" --pcap "$TMP/known.pcap" --bpf 'tcp port ((('
ucurl "$C" /health
expect_status 200 "/health with a bad BPF filter"
TOKEN=$(login "$C")
ucurl "$C" /api/stats -H "Authorization: Bearer $TOKEN"
[ "$(echo "$BODY" | jget 'd["state"]')" = failed ] || fail "bad BPF: $BODY"
echo "$BODY" | jget 'd["error"]' | grep -q 'bad BPF filter' || fail "bad BPF error: $BODY"
grep -q 'capture is off: bad BPF filter' "$TMP/n3.log" || fail "the log does not say why capture is off"
capture_event "$C" "$TOKEN" | grep -q "^interface $TMP/known.pcap failed bad BPF filter" ||
  fail "no capture_state failed event naming the filter: $BODY"
stop_node "$NODE_PID"
start_node n4 "$C" --pcap "$TMP/nonexistent.pcap"
ucurl "$C" /api/stats -H "Authorization: Bearer $(login "$C")"
[ "$(echo "$BODY" | jget 'd["state"]')" = failed ] && echo "$BODY" | jget 'd["error"]' | grep -q 'nonexistent.pcap' ||
  fail "missing file: $BODY"
stop_node "$NODE_PID"
ok "a bad BPF filter or a missing file: /health 200, state failed with the reason in /api/stats, the log and a capture_state event"

for bad in "--max-flows 15" "--max-flows 16777217" "--retention 30s" "--retention 25h" "--retention 5x" \
  "--snaplen 63" "--capture-buffer 1000" "--iface lo --pcap $TMP/known.pcap"; do
  # shellcheck disable=SC2086
  if "$MW" --data-dir "$TMP/cfg" $bad --check-config > "$TMP/cfg.out" 2>&1; then
    fail "accepted $bad"
  fi
  grep -q "invalid configuration" "$TMP/cfg.out" || fail "$bad: $(cat "$TMP/cfg.out")"
done
"$MW" --data-dir "$TMP/cfg" --retention 2h --check-config | jget 'd["retention"]' | grep -qx 7200 || fail "--retention 2h"
MESHWATCH_RETENTION=90m "$MW" --data-dir "$TMP/cfg" --check-config | jget 'd["retention"]' | grep -qx 5400 || fail "MESHWATCH_RETENTION=90m"
ok "option limits: max_flows, retention (60m, 2h), snaplen, capture buffer; iface and pcap exclusive"
echo "# $CHECKS checks passed"
