#!/usr/bin/env bash
# IPFIX export to a real collector: Debian's nfcapd (nfdump) listens on a
# loopback UDP port; a node reads a capture file this test writes, with
# ipfix_collector pointing at it. After the file is read (the flows of its
# first phase expire idle while it is read, the rest end with the file)
# nfcapd is stopped and nfdump reads back what it stored:
#  1. the flow, packet and byte totals equal the generator's and the
#     node's own (/api/stats), exactly: one record per direction;
#  2. every record: addresses, ports, protocol, VLAN, packets and bytes as
#     written (IPv4, IPv6, TCP, UDP, ICMP, 802.1Q);
#  3. the flow cap: flows evicted at max_flows are exported too, and the
#     totals still match the node's;
#  4. a bad ipfix_collector is refused at start (exit 2) naming it.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || skip "nfcapd and nfdump are not installed (apt-get install nfdump)"
export MESHWATCH_RETENTION_DAYS=3650

A=$(rand_addr)
# start_collector DIR: nfcapd on $A, a free UDP port in PORT, its pid in NFPID
start_collector() {
  local i
  mkdir -p "$1"
  for i in 1 2 3 4 5; do
    PORT=$((20000 + RANDOM % 30000))
    nfcapd -b "$A" -p "$PORT" -w "$1" -t 3600 >> "$TMP/nfcapd.log" 2>&1 &
    NFPID=$!
    PIDS+=("$NFPID")
    for _ in $(seq 30); do
      ss -Hlun "sport = :$PORT" | grep -q "$A" && return 0
      kill -0 "$NFPID" 2>/dev/null || break
      sleep 0.1
    done
    kill -TERM "$NFPID" 2>/dev/null || true
  done
  fail "nfcapd did not start: $(tail -5 "$TMP/nfcapd.log")"
}
# stop_collector: SIGTERM makes nfcapd write out its file
stop_collector() {
  kill -TERM "$NFPID"
  wait "$NFPID" 2>/dev/null || true
}

python3 "$HERE/gen_pcap.py" ipfix "$TMP/flows.pcap" "$TMP/expect.json"
start_collector "$TMP/nf1"
start_node n1 "$A" --pcap "$TMP/flows.pcap" --bpf '' --ipfix-collector "$A:$PORT"
TOKEN=$(login "$A")
wait_finished "$A" "$TOKEN"
STATS=$BODY
# /metrics counts the records sent (the file is read: every flow has ended)
ucurl "$A" /metrics -H "Authorization: Bearer $TOKEN"
recs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["records"])' "$TMP/expect.json")
grep -qx "meshwatch_ipfix_records_total{result=\"sent\"} $recs" <<<"$BODY" ||
  fail "metrics ipfix ($HTTP_STATUS, want $recs): $(grep -E "ipfix|pcap_downloads" <<<"$BODY")"
stop_node "$NODE_PID"
stop_collector
grep -q "finished flows go to $A:$PORT" "$TMP/n1.log" || fail "the log does not name the collector"

nfdump -R "$TMP/nf1" -o csv > "$TMP/nf1.csv" 2> "$TMP/nfdump.err" || fail "nfdump: $(cat "$TMP/nfdump.err")"
python3 - "$TMP/expect.json" "$STATS" "$TMP/nf1.csv" <<'EOF' || fail "what nfdump read back does not match"
import csv, json, sys
e = json.load(open(sys.argv[1])); s = json.loads(sys.argv[2])
lines = open(sys.argv[3]).read().splitlines()
rows = list(csv.DictReader(lines[:lines.index("Summary")] if "Summary" in lines else lines))
x = s["ipfix"]
t = e["totals"]
bad = []
def eq(name, got, want):
    if got != want: bad.append(f"{name}: got {got!r}, want {want!r}")
# the node's own counters
eq("node packets_received", s["packets_received"], t["packets"])
eq("node bytes_received", s["bytes_received"], t["bytes"])
eq("node flows_created", s["flows_created"], t["flows"])
eq("ipfix flows_exported", x["flows_exported"], t["flows"])
eq("ipfix records_sent", x["records_sent"], t["records"])
eq("ipfix records_failed", x["records_failed"], 0)
eq("ipfix messages_failed", x["messages_failed"], 0)
if s["flows_expired"] < 85: bad.append(f"only {s['flows_expired']} flows expired while the file was read")
# what the collector stored
eq("nfdump flows", len(rows), t["records"])
eq("nfdump packets", sum(int(r["ipkt"]) for r in rows), t["packets"])
eq("nfdump bytes", sum(int(r["ibyt"]) for r in rows), t["bytes"])
proto = {6: "TCP", 17: "UDP", 1: "ICMP"}
got = sorted((r["sa"], r["da"], int(r["sp"]), int(r["dp"]), r["pr"].strip(), int(r["svln"]), int(r["ipkt"]), int(r["ibyt"])) for r in rows)
want = sorted((w["src"], w["dst"], w["sport"], w["dport"], proto[w["proto"]], w["vlan"], w["packets"], w["bytes"]) for w in e["records"])
if got != want:
    bad.append("records differ:\n  only in nfdump: %s\n  only expected: %s" % ([g for g in got if g not in want][:5], [w for w in want if w not in got][:5]))
if bad: sys.exit("\n".join(bad))
print(f"# {len(rows)} records, {t['packets']} packets, {t['bytes']} bytes from {t['flows']} flows; "
      f"{x['messages_sent']} messages, {x['template_messages']} with templates")
EOF
ok "nfdump's flows, packets and bytes equal the generator's and the node's exactly (one record per direction), and /metrics' meshwatch_ipfix_records_total"
# a few known flows, as nfdump prints them
nfdump -R "$TMP/nf1" -q -o "fmt:%sa %da %sp %dp %pr %pkt %byt %svln" 'host 10.20.3.1' > "$TMP/one.txt"
python3 - "$TMP/expect.json" "$TMP/one.txt" <<'EOF' || fail "a known flow: $(cat "$TMP/one.txt")"
import json, sys
e = json.load(open(sys.argv[1]))
want = sorted("%s %s %d %d UDP %d %d 0" % (w["src"], w["dst"], w["sport"], w["dport"], w["packets"], w["bytes"])
              for w in e["records"] if "10.20.3.1" in (w["src"], w["dst"]))
got = sorted(" ".join(l.split()) for l in open(sys.argv[2]) if l.strip())
assert got == want and len(want) >= 1, (got, want)
EOF
nfdump -R "$TMP/nf1" -q -o "fmt:%sa %da %pr %svln" 'vlan 7' | awk '{print $3, $4}' | sort -u > "$TMP/vlan.txt"
[ "$(cat "$TMP/vlan.txt")" = "UDP 7" ] || fail "VLAN 7 flows: $(cat "$TMP/vlan.txt")"
[ "$(nfdump -R "$TMP/nf1" -q -o 'fmt:%sa' 'inet6' | wc -l)" = "$(jget 'sum(1 for w in d["records"] if ":" in w["src"])' < "$TMP/expect.json")" ] ||
  fail "IPv6 records"
[ "$(nfdump -R "$TMP/nf1" -q -o 'fmt:%pr' 'proto icmp' | wc -l)" = 10 ] || fail "ICMP records"
ok "nfdump shows known flows with their ports, protocol, packets and bytes; VLAN 7, IPv6 and ICMP records"

# 3. the flow cap: 600 packets over 150 flows through max_flows 16 (about
# 20 messages: UDP, and nfcapd's socket buffer holds about 90)
python3 "$HERE/gen_pcap.py" bench "$TMP/many.pcap" 600 150
start_collector "$TMP/nf2"
start_node n2 "$A" --pcap "$TMP/many.pcap" --max-flows 16 --ipfix-collector "$A:$PORT"
TOKEN=$(login "$A")
wait_finished "$A" "$TOKEN"
STATS=$BODY
stop_node "$NODE_PID"
stop_collector
nfdump -R "$TMP/nf2" -o csv > "$TMP/nf2.csv" 2> "$TMP/nfdump.err" || fail "nfdump: $(cat "$TMP/nfdump.err")"
python3 - "$STATS" "$TMP/nf2.csv" <<'EOF' || fail "with evictions, nfdump does not match the node"
import csv, json, sys
s = json.loads(sys.argv[1])
lines = open(sys.argv[2]).read().splitlines()
rows = list(csv.DictReader(lines[:lines.index("Summary")]))
x = s["ipfix"]
got = (len(rows), sum(int(r["ipkt"]) for r in rows), sum(int(r["ibyt"]) for r in rows))
want = (x["records_sent"], s["packets_received"], s["bytes_received"])
assert got == want, f"nfdump (flows, packets, bytes) {got}, node {want}"
assert s["evictions"] > 200 and x["flows_exported"] == s["flows_created"] and x["records_failed"] == 0, (s["evictions"], x)
print(f"# {s['evictions']} evictions; {got[0]} records, {got[1]} packets, {got[2]} bytes")
EOF
ok "150 flows, 600 packets through max_flows 16: evicted flows are exported too, nfdump's totals equal the node's"

# 4. bad collectors are refused at start
for bad in "nohost" "host:0" "host:65536" "host:" ":4739" "[::1]" "[::1]:" "::1:4739" "[fe80::zz]:4739" \
  "bad host:4739" "no-such-host.invalid:4739"; do
  st=0
  "$MW" --data-dir "$TMP/cfg" --ipfix-collector "$bad" --check-config > "$TMP/cfg.out" 2>&1 || st=$?
  [ "$st" = 2 ] && grep -q "ipfix" "$TMP/cfg.out" || fail "--ipfix-collector '$bad': exit $st, $(cat "$TMP/cfg.out")"
done
"$MW" --data-dir "$TMP/cfg" --ipfix-collector "[::1]:4739" --check-config | jget 'd["ipfix_collector"]' | grep -qx '\[::1\]:4739' ||
  fail "[::1]:4739 refused"
MESHWATCH_IPFIX_COLLECTOR=localhost:4739 "$MW" --data-dir "$TMP/cfg" --check-config > /dev/null || fail "localhost:4739 refused"
ok "ipfix_collector without a port, with port 0 or 65536, an unbracketed IPv6 address or a name that does not resolve: exit 2"
echo "# $CHECKS checks passed"
