#!/usr/bin/env bash
# The mesh inventory on a reporting node: three nodes on loopback each have
# something of their own to report (TCP targets on their own listeners, a
# discovery scan of their own address, traffic read from a capture file)
# and report every second to a fourth node, which also has a target of its
# own. The reporting node's /api/mesh/{targets,hosts,traffic,changes}
# must say what each node's own /api/targets, /api/hosts and /api/stats
# say (states, addresses, services, totals), its own items included
# (self, never stale); filter by origin (id or fqdn) and page; answer 400
# to bad parameters; a report whose discovery part is malformed still
# stores its cells and other parts and says what it ignored (202); a
# killed node's items turn stale after three report intervals.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
R=5
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_REPORT_INTERVAL=1 MESHWATCH_SCAN_RDNS=0
# the capture file is dated 2026-01-01: keep its minute past the hourly expiry
export MESHWATCH_RETENTION_DAYS=3650
python3 "$HERE/gen_pcap.py" known "$TMP/known.pcap" "$TMP/expect.json"
echo "{\"server_fqdn\":\"rep.test\",\"server_ip\":\"$(addr $R)\"}" > "$TMP/reporting.json"
echo "{\"nodes\":[{\"fqdn\":\"n$R.test\",\"ip\":\"$(addr $R)\"},{\"fqdn\":\"n1.test\",\"ip\":\"$(addr 1)\"}]}" > "$TMP/seed.json"

# listeners of each node's targets, on the node's own address
declare -a PID OPEN TOK
for i in 1 2 3 $R; do
  python3 "$HERE/tcp_listeners.py" "$(addr $i)" 2 > "$TMP/listen$i.out" 2>&1 &
  PIDS+=("$!")
done
for i in 1 2 3 $R; do
  for _ in $(seq 50); do grep -q '^open' "$TMP/listen$i.out" && break; sleep 0.1; done
  OPEN[$i]=$(sed -n 's/^open //p' "$TMP/listen$i.out")
  [ -n "${OPEN[$i]}" ] || fail "listeners for node $i did not start"
done

start_node "n$R" "$(addr $R)" --seed "$TMP/seed.json"
PID[$R]=$NODE_PID
for i in 1 2 3; do
  MESHWATCH_SCAN_SUBNETS="$(addr $i)/32" start_node "n$i" "$(addr $i)" --seed "$TMP/seed.json" \
    --reporting "$TMP/reporting.json" --pcap "$TMP/known.pcap" --bpf ''
  PID[$i]=$NODE_PID
done
for i in 1 2 3 $R; do TOK[$i]=$(login "$(addr $i)"); done
api() { local i=$1 m=$2 p=$3; shift 3; ucurl "$(addr "$i")" "$p" -X "$m" -H "Authorization: Bearer ${TOK[$i]}" -H 'Content-Type: application/json' "$@"; }
rep() { api $R GET "$1"; }
id() { cat "$TMP/n$1/data/node_id"; }

# each node's targets: its two listeners (up) and a port nothing listens on
# (refused); the reporting node one of its own
for i in 1 2 3 $R; do
  set -- ${OPEN[$i]}
  api "$i" POST /api/targets -d "{\"name\":\"n$i-a\",\"host\":\"$(addr "$i")\",\"port\":$1,\"interval_s\":1}"
  [ "$HTTP_STATUS" = 201 ] || fail "POST /api/targets on n$i: $HTTP_STATUS $BODY"
  [ $i = $R ] && continue
  api "$i" POST /api/targets -d "{\"name\":\"n$i-b\",\"host\":\"$(addr "$i")\",\"port\":$2,\"interval_s\":1}"
  api "$i" POST /api/targets -d "{\"name\":\"n$i-closed\",\"host\":\"$(addr "$i")\",\"port\":9,\"interval_s\":1}"
  [ "$HTTP_STATUS" = 201 ] || fail "POST /api/targets on n$i: $HTTP_STATUS $BODY"
  # a scan of the node's own address: its two listeners open, port 9 closed
  api "$i" POST /api/scans -d "{\"subnets\":[\"$(addr "$i")/32\"],\"ports\":[$1,$2,9]}"
  [ "$HTTP_STATUS" = 201 ] || fail "POST /api/scans on n$i: $HTTP_STATUS $BODY"
done
ok "after ${SECONDS}s: 3 nodes with 3 targets, a scan and a capture file each; the reporting node with 1 target"

# local truth of node i as JSON: {"targets": [...], "hosts": [...], "stats": {...}}
truth() {
  local i=$1 t h s
  api "$i" GET "/api/targets?limit=1000"; t=$BODY
  api "$i" GET "/api/hosts?limit=1000"; h=$BODY
  api "$i" GET /api/stats; s=$BODY
  echo "{\"targets\":$t,\"hosts\":$h,\"stats\":$s}"
}

# compare ORIGIN_INDEX: the reporting node's view of node i against i's own
cat > "$TMP/cmp.py" <<'PY'
import json, sys
own = json.loads(sys.argv[1]); tg = json.loads(sys.argv[2]); ho = json.loads(sys.argv[3]); tr = json.loads(sys.argv[4])
oid, check_traffic = sys.argv[5], sys.argv[6] == "1"
bad = []
mine = sorted((t["id"], t["name"], t["host"], t["port"], t["state"]) for t in own["targets"]["items"])
seen = sorted((t["id"], t["name"], t["host"], t["port"], t["state"]) for t in tg["items"] if t["origin_id"] == oid)
if mine != seen or any(t["stale"] for t in tg["items"]) or "unknown" in [t[4] for t in mine]:
    bad.append(f"targets: own {mine} mesh {seen}")
mine = sorted((h["ip"], tuple(sorted((s["port"], s["proto"], s["service"]) for s in h["services"] if s["state"] == "open")))
              for h in own["hosts"]["items"])
seen = sorted((h["ip"], tuple(sorted((s["port"], s["proto"], s["service"]) for s in b["services"])))
              for h in ho["items"] for b in h["seen_by"] if b["origin_id"] == oid)
if mine != seen or not mine or not all(len(m[1]) == 2 for m in mine):
    bad.append(f"hosts: own {mine} mesh {seen}")
if check_traffic:
    s = own["stats"]
    t = [x for x in tr["items"] if x["origin_id"] == oid]
    want = (s["state"], s["packets_received"], s["bytes_received"], s["flows"])
    got = [(x["state"], x["packets_total"], x["bytes_total"], x["flows"]) for x in t]
    if got != [want] or want[0] != "finished" or t[0]["stale"] or not t[0]["top_talkers"] or not t[0]["by_proto"]:
        bad.append(f"traffic: own {want} mesh {got}")
if bad:
    print("; ".join(bad))
    sys.exit(1)
PY
# each node's view compared until it matches (nodes once matched stay
# matched: their targets, scan and file do not change), for at most 180 s
declare -A MATCHED=()
deadline=$((SECONDS + 180)); why=
while [ $SECONDS -lt $deadline ]; do
  rep "/api/mesh/targets?limit=1000"; tg=$BODY
  rep "/api/mesh/hosts?limit=1000"; ho=$BODY
  rep "/api/mesh/traffic?limit=1000"; tr=$BODY
  left=0
  for i in 1 2 3; do
    [ -n "${MATCHED[$i]:-}" ] && continue
    if w=$(python3 "$TMP/cmp.py" "$(truth $i)" "$tg" "$ho" "$tr" "$(id $i)" 1); then MATCHED[$i]=1; else left=1; why="n$i: $w"; fi
  done
  [ $left = 0 ] && break
  sleep 0.5
done
[ $left = 0 ] || fail "the reporting node's inventory does not match the node's own: $why"
ok "after ${SECONDS}s: the reporting node's /api/mesh/targets, /hosts and /traffic say what each node's own /api/targets, /api/hosts and /api/stats say (states, addresses, services, totals)"

# the whole view: 10 targets (the reporting node's own among them, self and
# fresh, up once its own first check is done: the loop above waits for the
# other nodes only)
for t in $(seq 1 60); do
  rep "/api/mesh/targets?limit=1000"
  echo "$BODY" | jget 'any(t["self"] and t["state"] == "up" for t in d["items"])' | grep -q True && break
  sleep 0.5
done
echo "$BODY" | jget 'd["total"] == 10 and len(d["items"]) == 10 and sum(1 for t in d["items"] if t["self"] and t["origin_fqdn"] == "n5.test" and not t["stale"] and t["state"] == "up") == 1 and all(set(t) >= {"origin_id", "origin_fqdn", "name", "host", "port", "state", "success_ratio", "last_check", "stale"} for t in d["items"])' |
  grep -q True || fail "mesh targets: $BODY"
ok "/api/mesh/targets lists every origin's targets, the reporting node's own (self, fresh) included"
rep "/api/mesh/hosts"
echo "$BODY" | jget 'd["total"] == 3 and sorted(h["ip"] for h in d["items"]) == sorted(["'"$(addr 1)"'", "'"$(addr 2)"'", "'"$(addr 3)"'"]) and all(len(h["seen_by"]) == 1 and not h["stale"] and h["state"] == "up" and h["first_seen"] and h["last_seen"] for h in d["items"])' |
  grep -q True || fail "mesh hosts: $BODY"
rep "/api/mesh/hosts?q=$(addr 2)"
echo "$BODY" | jget '[h["ip"] for h in d["items"]] == ["'"$(addr 2)"'"]' | grep -q True || fail "hosts q: $BODY"
rep "/api/mesh/hosts?service=nosuchservice"
echo "$BODY" | jget 'd["total"] == 0' | grep -q True || fail "hosts service filter: $BODY"
ok "/api/mesh/hosts: one item per address with seen_by; q and service filter"

# traffic: per origin and the mesh totals
rep "/api/mesh/traffic"
want_p=$(( $(jget 'd["totals"]["packets"]' < "$TMP/expect.json") * 3 ))
# (the reporting node's own capture is off: listed, and adding nothing)
echo "$BODY" | jget 'd["total"] == 4 and d["totals"]["packets_total"] == '"$want_p"' and d["totals"]["origins"] == 4 and d["totals"]["fresh_origins"] == 4 and [x["state"] for x in d["items"] if x["self"]] == ["off"] and all("age_s" in x and "drops" in x for x in d["items"])' |
  grep -q True || fail "mesh traffic totals (want $want_p packets): $BODY"
ok "/api/mesh/traffic: per origin rates, bytes by protocol, top talkers, drops, age; mesh totals add up ($want_p packets)"

# changes: each node's new host, from its origin, newest first
rep "/api/mesh/changes?limit=1000"
echo "$BODY" | python3 -c '
import json, sys
d = json.load(sys.stdin); ids = sys.argv[1:4]; ips = sys.argv[4:7]
new = {(c["origin_id"], c["ip"]) for c in d["items"] if c["kind"] == "new_host"}
assert all((i, a) in new for i, a in zip(ids, ips)), new
t = [c["time"] for c in d["items"]]
assert t == sorted(t, reverse=True), t
assert all("stale" in c and "port" in c for c in d["items"])
' "$(id 1)" "$(id 2)" "$(id 3)" "$(addr 1)" "$(addr 2)" "$(addr 3)" || fail "mesh changes: $BODY"
rep "/api/mesh/changes?origin=n2.test&kind=new_host"
echo "$BODY" | jget 'd["total"] == 1 and d["items"][0]["ip"] == "'"$(addr 2)"'"' | grep -q True || fail "changes filter: $BODY"
ok "/api/mesh/changes: every origin's discovery changes, newest first; origin and kind filters"

# origin filter by id and by fqdn agree; an unknown origin is an empty page
rep "/api/mesh/targets?origin=$(id 2)"; a=$(echo "$BODY" | jget 'sorted(t["name"] for t in d["items"])')
rep "/api/mesh/targets?origin=N2.TEST"; b=$(echo "$BODY" | jget 'sorted(t["name"] for t in d["items"])')
[ "$a" = "['n2-a', 'n2-b', 'n2-closed']" ] && [ "$a" = "$b" ] || fail "origin filter: $a / $b"
rep "/api/mesh/targets?origin=n5.test"
echo "$BODY" | jget '[t["name"] for t in d["items"]] == ["n5-a"]' | grep -q True || fail "self origin filter: $BODY"
rep "/api/mesh/targets?origin=nobody.test"
echo "$BODY" | jget 'd["total"] == 0 and d["items"] == []' | grep -q True || fail "unknown origin: $BODY"
ok "origin filter by id or fqdn (any case), this node's own name too; an unknown origin gives an empty page"

# pagination: pages of 4 cover the 10 targets once each
names=
for off in 0 4 8; do
  rep "/api/mesh/targets?limit=4&offset=$off"
  echo "$BODY" | jget 'd["total"] == 10 and d["limit"] == 4 and d["offset"] == '$off | grep -q True || fail "page $off: $BODY"
  names="$names $(echo "$BODY" | jget '" ".join(t["origin_id"] + "/" + str(t["id"]) for t in d["items"])')"
done
[ "$(echo $names | tr ' ' '\n' | sort -u | wc -l)" = 10 ] || fail "pages overlap or miss: $names"
rep "/api/mesh/hosts?limit=2&offset=2"
echo "$BODY" | jget 'd["total"] == 3 and len(d["items"]) == 1' | grep -q True || fail "hosts page: $BODY"
ok "pagination: limit/offset pages cover each item once, total stays"

# bad parameters
for q in "targets?limit=0" "targets?limit=1001" "hosts?offset=-1" "traffic?limit=x" "changes?origin=bad%20name" \
  "hosts?q=$(printf 'a%%01b')" "hosts?origin=$(python3 -c 'print("a"*300)')" "inventory?limit=0"; do
  rep "/api/mesh/$q"
  [ "$HTTP_STATUS" = 400 ] || fail "/api/mesh/$q: expected 400, got $HTTP_STATUS $BODY"
  echo "$BODY" | jget 'd["error"] and d["detail"]' > /dev/null || fail "/api/mesh/$q: no JSON error: $BODY"
done
ucurl "$(addr $R)" /api/mesh/hosts; expect_status 401 "/api/mesh/hosts without a session"
ok "bad limit, offset, origin and q answer 400 with a JSON error"

# a report whose discovery part is malformed: its cells and targets are stored,
# the answer names what was ignored
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$TMP/bad.json" <<EOF
{"version":1,"origin":{"id":"$(id 1)","fqdn":"n1.test","ip":"$(addr 1)","port":8443,"incarnation":1},
 "seq":1000000000,"generated_at":"$now","interval_s":1,
 "peers":[{"id":"$(id 2)","fqdn":"n2.test","ip":"$(addr 2)","port":8443,"state":"alive","rtt_ms":12.345,"measured_at":"$now"}],
 "summaries":{"targets":{"items":[{"id":999,"name":"injected","host":"h.test","port":1,"state":"up","success_ratio":1}]}},
 "discovery":{"host_list":[{"ip":"not-an-ip"}]}}
EOF
HTTP_STATUS=$(curl -sk --max-time 10 --interface "$(addr 1)" -o "$TMP/.body" -w '%{http_code}' \
  -H 'Content-Type: application/json' --data-binary @"$TMP/bad.json" "https://$(addr $R):8443/report") || true
BODY=$(cat "$TMP/.body")
[ "$HTTP_STATUS" = 202 ] || fail "a report with a bad discovery part: $HTTP_STATUS $BODY"
echo "$BODY" | jget 'd["accepted_seq"] == 1000000000 and [g["part"] for g in d["ignored"]] == ["discovery"] and "host_list[0]" in d["ignored"][0]["reason"]' |
  grep -q True || fail "202 answer: $BODY"
ok "a report with a malformed discovery part is accepted (202) and says the part was ignored: $(echo "$BODY" | jget 'd["ignored"][0]["reason"][:60]')"
# to a minute ahead: the range ends before "to", and the cell's time is
# this second
later=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
rep "/api/mesh/history?from_id=$(id 1)&to_id=$(id 2)&to=$later"
echo "$BODY" | jget 'any(c["rtt_ms"] == 12.345 for c in d["items"])' | grep -q True || fail "its cell was not stored: $BODY"
rep "/api/mesh/inventory"
echo "$BODY" | jget 'd["ignored_parts"]["discovery"] >= 1 and d["total"] == 4 and any(o["self"] for o in d["items"])' | grep -q True ||
  fail "inventory summary: $BODY"
rep "/api/mesh/hosts?origin=n1.test"
echo "$BODY" | jget 'd["total"] == 1' | grep -q True || fail "n1's hosts lost: $BODY"
ok "its peer cell is stored, its discovery part counted as ignored, the hosts stored before are kept"

# a killed node's items turn stale within three report intervals (plus margin)
kill_node "${PID[3]}"
killed_at=$SECONDS
stale=0
while [ $((SECONDS - killed_at)) -lt 60 ]; do
  rep "/api/mesh/targets?limit=1000"; tg=$BODY
  rep "/api/mesh/hosts"; ho=$BODY
  rep "/api/mesh/traffic"; tr=$BODY
  if python3 - "$tg" "$ho" "$tr" "$(id 3)" <<'PY'
import json, sys
tg, ho, tr = (json.loads(a) for a in sys.argv[1:4]); dead = sys.argv[4]
ok = all(t["stale"] == (t["origin_id"] == dead) for t in tg["items"])
ok &= all(b["stale"] == (b["origin_id"] == dead) for h in ho["items"] for b in h["seen_by"])
ok &= all(h["stale"] == (h["seen_by"][0]["origin_id"] == dead) for h in ho["items"])
ok &= all(x["stale"] == (x["origin_id"] == dead) for x in tr["items"])
ok &= tr["totals"]["fresh_origins"] == 3
sys.exit(0 if ok else 1)
PY
  then stale=1; break; fi
  sleep 0.5
done
[ $stale = 1 ] || fail "n3's items did not turn stale: $tg"
ok "after n3 is killed its targets, hosts and traffic are stale (the others fresh) within $((SECONDS - killed_at)) s"
echo "inventory: $CHECKS checks passed in ${SECONDS}s"
