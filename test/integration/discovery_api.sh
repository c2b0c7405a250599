#!/usr/bin/env bash
# Discovery through the API on loopback (no root needed): a node allowed to
# scan only its own loopback address (and one /16 for the size limit)
# scans known services started by this test on that address:
#  1. the scan finds exactly the open ports, names the services (HTTP
#     title/Server header, an SSH banner), tells closed from open, shows
#     live progress over the WebSocket, and the hosts/services/changes
#     endpoints filter as documented;
#  2. a second scan after one service stopped records "port_closed", and
#     one after a service started "port_opened"; each change is an event
#     (host_new, port_closed, port_opened), and a /24 of new hosts gives
#     100 events and one scan_changes event counting the rest;
#  3. bad input gets a 400 naming the problem: bad CIDR, host bits,
#     disallowed subnet, too large a range (scan_max_hosts), bad port,
#     too many ports (scan_max_ports), unknown field, wrong types;
#  4. the queue limit (scan_queue_max) answers 429; queued and running
#     scans can be cancelled, finished ones cannot (409);
#  5. bad discovery options stop the node at start, naming the option;
#  6. discovery counts appear on /metrics;
#  7. a scan without subnets is refused (409, naming what it would cover)
#     until confirmed; GET /api/scans/defaults lists what it covers.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=$(python3 -c 'import sys; print(sys.executable)')

A=$(rand_addr)
BASE=$((20000 + RANDOM % 30000))
HTTP_PORT=$BASE SSH_PORT=$((BASE + 1)) CLOSED_PORT=$((BASE + 2)) TARPIT1=$((BASE + 3)) TARPIT2=$((BASE + 4)) TARPIT3=$((BASE + 5))
WIDE=127.$((RANDOM % 200 + 20)).0.0/16

"$PY" "$HERE/discovery_services.py" "$A" "http:$HTTP_PORT:Widget console:widgetd/2.1" \
  "banner:$SSH_PORT:SSH-2.0-OpenSSH_9.2p1 Debian-2" "tarpit:$TARPIT1" "tarpit:$TARPIT2" "tarpit:$TARPIT3" \
  >"$TMP/services.out" 2>&1 &
SVC_PID=$!
PIDS+=("$SVC_PID")
for _ in $(seq 50); do grep -q ready "$TMP/services.out" && break; sleep 0.1; done
grep -q ready "$TMP/services.out" || fail "test services did not start: $(cat "$TMP/services.out")"

MESHWATCH_SCAN_SUBNETS="$A/32,$WIDE" MESHWATCH_SCAN_RDNS=0 MESHWATCH_SCAN_MAX_HOSTS=1000 \
MESHWATCH_SCAN_MAX_PORTS=50 MESHWATCH_SCAN_QUEUE_MAX=1 MESHWATCH_SCAN_CONCURRENCY=1 MESHWATCH_SCAN_BANNER_MS=2000 \
  start_node n1 "$A"
TOKEN=$(login "$A")
AUTH=(-H "Authorization: Bearer $TOKEN")
api() { local m=$1 p=$2; shift 2; ucurl "$A" "$p" -X "$m" "${AUTH[@]}" -H 'Content-Type: application/json' "$@"; }

# wait_scan ID: polls until the scan is finished; prints the last body
wait_scan() {
  local id=$1 st i
  for ((i = 0; i < 300; i++)); do
    api GET "/api/scans/$id"
    st=$(echo "$BODY" | jget 'd["state"]')
    case $st in completed|failed|cancelled) echo "$BODY"; return 0 ;; esac
    sleep 0.1
  done
  fail "scan $id did not finish: $BODY"
}

# ---- 1. a scan of known services
api POST /api/scans -d "{\"subnets\":[\"$A/32\"],\"ports\":[$HTTP_PORT,$SSH_PORT,$CLOSED_PORT]}"
expect_status 201 "POST /api/scans"
ID1=$(echo "$BODY" | jget 'd["id"]')
[ "$(echo "$BODY" | jget 'd["state"]')" = queued ] || fail "a new scan is not queued: $BODY"
[ "$(echo "$BODY" | jget 'd["progress"]["hosts_total"]')" = 1 ] || fail "hosts_total: $BODY"
S=$(wait_scan "$ID1")
[ "$(echo "$S" | jget 'd["state"]')" = completed ] || fail "scan 1: $S"
[ "$(echo "$S" | jget '(d["progress"]["hosts_done"], d["progress"]["found"], d["port_states"]["closed"])')" = "(1, 2, 1)" ] ||
  fail "scan 1 progress: $S"
echo "$S" | jget 'd["started_at"]' | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' || fail "started_at: $S"
ok "scan $ID1 completed: 1 host, 2 open, 1 closed"

api GET "/api/hosts/$A"; expect_status 200 "GET /api/hosts/$A"
H=$BODY
[ "$(echo "$H" | jget '[s["port"] for s in d["services"]]')" = "[$HTTP_PORT, $SSH_PORT]" ] || fail "open ports: $H"
[ "$(echo "$H" | jget '[(s["service"], s["confidence"]) for s in d["services"] if s["port"] == '$SSH_PORT'][0]')" = "('OpenSSH', 'high')" ] ||
  fail "SSH banner not identified: $H"
echo "$H" | jget '[s for s in d["services"] if s["port"] == '$HTTP_PORT'][0]["title"]' | grep -qx "Widget console" ||
  fail "HTTP title: $H"
echo "$H" | jget '[s for s in d["services"] if s["port"] == '$HTTP_PORT'][0]["banner"]' | grep -q "widgetd/2.1" ||
  fail "HTTP Server header not in the banner: $H"
[ "$(echo "$H" | jget '(d["hostname"], d["hostname_source"], d["source"], d["state"])')" = "('Widget console', 'service', 'scan', 'up')" ] ||
  fail "hostname from the service: $H"
ok "services: OpenSSH (banner, high), HTTP with title and Server header; hostname from the service"

api GET "/api/scans/$ID1/results"; R=$BODY
[ "$(echo "$R" | jget 'sorted((x["port"], x["state"]) for x in d["items"])')" = "[($HTTP_PORT, 'open'), ($SSH_PORT, 'open'), ($CLOSED_PORT, 'closed')]" ] ||
  fail "per-port results: $R"
api GET "/api/scans/$ID1/results?state=closed"
[ "$(echo "$BODY" | jget 'd["total"]')" = 1 ] || fail "results?state=closed: $BODY"
ok "per-port results: open and closed told apart"

api GET "/api/hosts?service=OpenSSH"; [ "$(echo "$BODY" | jget 'd["total"]')" = 1 ] || fail "hosts?service: $BODY"
api GET "/api/hosts?service=nothing-like-it"; [ "$(echo "$BODY" | jget 'd["total"]')" = 0 ] || fail "hosts?service none: $BODY"
api GET "/api/hosts?port=$CLOSED_PORT"; [ "$(echo "$BODY" | jget 'd["total"]')" = 0 ] || fail "hosts?port closed: $BODY"
api GET "/api/hosts?q=Widget&limit=1&offset=0"
[ "$(echo "$BODY" | jget '(d["total"], d["limit"], d["offset"], len(d["items"]))')" = "(1, 1, 0, 1)" ] || fail "hosts?q: $BODY"
api GET "/api/services?port=$SSH_PORT"
[ "$(echo "$BODY" | jget '[(s["ip"], s["service"]) for s in d["items"]]')" = "[('$A', 'OpenSSH')]" ] || fail "services?port: $BODY"
api GET "/api/changes?kind=new_host"
[ "$(echo "$BODY" | jget '[c["ip"] for c in d["items"]]')" = "['$A']" ] || fail "new_host change: $BODY"
# its changes are events too (the writer stores them within a second)
# events_of QUERY: "subject old>new evidence..." per event, oldest first
events_of() {
  local i
  for i in $(seq 30); do
    api GET "/api/events?$1"
    [ "$(echo "$BODY" | jget 'd["total"]')" != 0 ] && break
    sleep 0.1
  done
  echo "$BODY" | jget '"\n".join("%s %s>%s %s %s %s" % (e["subject"], e["old"], e["new"], e["severity"], e["evidence"].get("scan_id"),
    e["evidence"].get("service", e["evidence"].get("hostname"))) for e in reversed(d["items"]))'
}
[ "$(events_of "kind=host_new&subject=$A")" = "$A >up info $ID1 Widget console" ] ||
  fail "host_new event: $(events_of "kind=host_new&subject=$A")"
api GET "/api/hosts/10.255.255.1"; expect_status 404 "an unknown host"
api GET "/api/hosts/not-an-ip"; expect_status 400 "a host path that is not an address"
ok "hosts, services and changes filter"

# live progress over the WebSocket: frames while the next scan runs
"$PY" "$HERE/ws_frames.py" "$A" "$TOKEN" scans 1 >"$TMP/ws.out" 2>&1 &
WS_PID=$!
PIDS+=("$WS_PID")
sleep 0.5
api POST /api/scans -d "{\"subnets\":[\"$A/32\"],\"ports\":[$TARPIT1,$TARPIT2,$TARPIT3]}"
expect_status 201 "a slow scan (three silent services)"
ID2=$(echo "$BODY" | jget 'd["id"]')
wait "$WS_PID" || fail "no scans frame over the WebSocket: $(cat "$TMP/ws.out")"
[ "$(jget 'd["scan"]["id"]' <"$TMP/ws.out")" = "$ID2" ] || fail "ws frame: $(cat "$TMP/ws.out")"
jget 'd["scan"]["progress"]["hosts_total"]' <"$TMP/ws.out" | grep -qx 1 || fail "ws frame progress: $(cat "$TMP/ws.out")"
ok "WebSocket topic scans: a frame with the running scan's progress"

# ---- 4. the queue: one running, one queued (scan_queue_max 1), the next refused
api POST /api/scans -d "{\"subnets\":[\"$A/32\"],\"ports\":[$TARPIT1]}"
expect_status 201 "a scan queued behind the running one"
ID3=$(echo "$BODY" | jget 'd["id"]')
api POST /api/scans -d "{\"subnets\":[\"$A/32\"],\"ports\":[$TARPIT1]}"
expect_status 429 "a scan past scan_queue_max"
echo "$BODY" | jget 'd["detail"]' | grep -q scan_queue_max || fail "429 detail: $BODY"
api DELETE "/api/scans/$ID3"; expect_status 200 "DELETE a queued scan"
api GET "/api/scans/$ID3"; [ "$(echo "$BODY" | jget 'd["state"]')" = cancelled ] || fail "queued scan not cancelled: $BODY"
api DELETE "/api/scans/$ID2"; expect_status 200 "DELETE the running scan"
S=$(wait_scan "$ID2")
[ "$(echo "$S" | jget 'd["state"]')" = cancelled ] || fail "running scan not cancelled: $S"
api DELETE "/api/scans/$ID1"; expect_status 409 "DELETE a completed scan"
api DELETE "/api/scans/99999"; expect_status 404 "DELETE an unknown scan"
api GET "/api/scans?state=cancelled"; [ "$(echo "$BODY" | jget 'd["total"]')" = 2 ] || fail "scans?state=cancelled: $BODY"
api GET "/api/scans?state=bogus"; expect_status 400 "scans?state=bogus"

# ---- 2. a service stops: the next scan records port_closed
kill "$SVC_PID"; wait "$SVC_PID" 2>/dev/null || true
"$PY" "$HERE/discovery_services.py" "$A" "http:$HTTP_PORT:Widget console:widgetd/2.1" >"$TMP/services2.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do grep -q ready "$TMP/services2.out" && break; sleep 0.1; done
api POST /api/scans -d "{\"subnets\":[\"$A/32\"],\"ports\":[$HTTP_PORT,$SSH_PORT,$CLOSED_PORT]}"
expect_status 201 "a second scan"
ID4=$(echo "$BODY" | jget 'd["id"]')
S=$(wait_scan "$ID4")
[ "$(echo "$S" | jget 'd["port_states"]')" = "{'open': 1, 'closed': 2, 'filtered': 0}" ] || fail "second scan: $S"
api GET "/api/changes?kind=port_closed&ip=$A"
[ "$(echo "$BODY" | jget '[(c["port"], c["detail"]) for c in d["items"]]')" = "[($SSH_PORT, 'OpenSSH')]" ] ||
  fail "port_closed change: $BODY"
api GET "/api/hosts/$A"
# (the silent ports the cancelled scan found open stay: no scan has looked at them since)
[ "$(echo "$BODY" | jget '[s["port"] for s in d["services"] if s["port"] in ('$HTTP_PORT', '$SSH_PORT')]')" = "[$HTTP_PORT]" ] ||
  fail "closed port still listed: $BODY"
api GET "/api/changes?since=2000-01-01T00:00:00Z"
[ "$(echo "$BODY" | jget '[c["kind"] for c in d["items"]][0::len(d["items"])-1]')" = "['port_closed', 'new_host']" ] ||
  fail "changes?since, newest first: $BODY"
api GET "/api/changes?since=$(($(date +%s) + 3600))"; [ "$(echo "$BODY" | jget 'd["total"]')" = 0 ] || fail "changes?since=future: $BODY"
api GET "/api/changes?since=yesterday"; expect_status 400 "changes?since=yesterday"
[ "$(events_of "kind=port_closed&subject_type=host")" = "$A:$SSH_PORT/tcp open>closed info $ID4 OpenSSH" ] ||
  fail "port_closed event: $(events_of "kind=port_closed&subject_type=host")"
ok "a stopped service is recorded as port_closed, and is a port_closed event"

# ---- 2b. a service starts on a known host: port_opened, an event too
"$PY" "$HERE/discovery_services.py" "$A" "banner:$CLOSED_PORT:SSH-2.0-OpenSSH_9.2p1 Debian-2" >"$TMP/services3.out" 2>&1 &
SVC3=$!
PIDS+=("$SVC3")
for _ in $(seq 50); do grep -q ready "$TMP/services3.out" && break; sleep 0.1; done
api POST /api/scans -d "{\"subnets\":[\"$A/32\"],\"ports\":[$CLOSED_PORT]}"
expect_status 201 "a scan of a port that opened"
ID5=$(echo "$BODY" | jget 'd["id"]')
wait_scan "$ID5" >/dev/null
[ "$(events_of "kind=port_opened&subject=$A:$CLOSED_PORT/tcp")" = "$A:$CLOSED_PORT/tcp closed>open warning $ID5 OpenSSH" ] ||
  fail "port_opened event: $(events_of "kind=port_opened&subject=$A:$CLOSED_PORT/tcp")"
kill "$SVC3"; wait "$SVC3" 2>/dev/null || true
ok "a service that starts on a known host is a port_opened event (warning) with its service and scan"

# ---- 3. bad input: 400 naming the problem
bad() { # bad BODY WORD DESCRIPTION
  api POST /api/scans -d "$1"
  [ "$HTTP_STATUS" = 400 ] || fail "$3: expected 400, got $HTTP_STATUS ($BODY)"
  echo "$BODY" | jget 'd["detail"]' | grep -qF -- "$2" || fail "$3: detail does not name $2: $BODY"
  ok "$3 -> 400 naming $2"
}
bad '{"subnets":["10.0.0.0/33"]}' 'prefix' "a prefix over 32"
bad '{"subnets":["not-a-net"]}' 'not-a-net' "a subnet that is no CIDR"
bad "{\"subnets\":[\"$A/24\"]}" 'host bits' "host bits set"
bad '{"subnets":["192.0.2.0/24"]}' '192.0.2.0/24 is outside' "a subnet outside scan_subnets"
bad "{\"subnets\":[\"$WIDE\"]}" 'scan_max_hosts' "a range larger than scan_max_hosts"
bad "{\"subnets\":[\"$A/32\"],\"ports\":[0]}" '0 is not a port' "port 0"
bad "{\"subnets\":[\"$A/32\"],\"ports\":[70000]}" 'not a port' "port 70000"
bad "{\"subnets\":[\"$A/32\"],\"ports\":[\"ssh\"]}" '"ssh"' "a port by name"
bad "{\"subnets\":[\"$A/32\"],\"ports\":[\"1-51\"]}" 'scan_max_ports' "more ports than scan_max_ports"
bad "{\"subnets\":[\"$A/32\"],\"colour\":1}" 'colour' "an unknown field"
bad '{"subnets":"10.0.0.0/24"}' '"subnets"' "subnets not an array"
bad '{"subnets":[24]}' '"subnets"' "a subnet that is a number"
bad "{\"subnets\":[\"$A/32\"],\"ports\":[true]}" '"ports"' "a port that is a boolean"
bad '[1]' 'object' "a body that is not an object"
api GET /api/scans?limit=0; expect_status 400 "scans?limit=0"

# ---- 6. /metrics
ucurl "$A" /metrics "${AUTH[@]}"
grep -q '^meshwatch_discovered_hosts{state="up"} 1$' <<<"$BODY" || fail "metrics hosts: $(echo "$BODY" | grep discover)"
grep -q '^meshwatch_scans_total{result="cancelled"} 2$' <<<"$BODY" || fail "metrics scans: $(echo "$BODY" | grep scans_total)"
grep -qE '^meshwatch_discovered_services\{service="[^"]+"\} [1-9]' <<<"$BODY" || fail "metrics services: $(echo "$BODY" | grep discovered_services)"
ok "/metrics counts discovered hosts and scans"

# ---- DELETE a host: it and its services go, its changes stay
api GET "/api/changes?ip=$A"; changes_before=$(echo "$BODY" | jget 'd["total"]')
api DELETE "/api/hosts/$A"; expect_status 204 "DELETE /api/hosts/$A"
api GET "/api/hosts/$A"; expect_status 404 "the deleted host is gone"
api GET "/api/services?q=$A"; [ "$(echo "$BODY" | jget 'd["total"]')" = 0 ] || fail "services of a deleted host: $BODY"
api GET "/api/changes?ip=$A"; [ "$(echo "$BODY" | jget 'd["total"]')" = "$changes_before" ] || fail "changes lost: $BODY"
ok "its services are gone, its $changes_before changes stay"
api DELETE "/api/hosts/$A"; expect_status 404 "DELETE it again"
api DELETE "/api/hosts/not-an-ip"; expect_status 400 "DELETE /api/hosts/not-an-ip"

# ---- the sweep's bounds: a /24 of loopback (every port refused at once) on
# a second node with scan_concurrency 16 and scan_host_window 3
B=$(rand_addr)
while [ "$B" = "$A" ]; do B=$(rand_addr); done
SUB=${WIDE%.0.0/16}.7.0/24
MESHWATCH_SCAN_SUBNETS="$WIDE" MESHWATCH_SCAN_RDNS=0 MESHWATCH_SCAN_CONCURRENCY=16 MESHWATCH_SCAN_HOST_WINDOW=3 \
  start_node n2 "$B"
TOKEN2=$(login "$B")
ucurl "$B" /api/scans -X POST -H "Authorization: Bearer $TOKEN2" -d "{\"subnets\":[\"$SUB\"],\"ports\":[\"1-10\"]}"
expect_status 201 "a scan of $SUB x 10 ports"
ID=$(echo "$BODY" | jget 'd["id"]')
for i in $(seq 300); do
  ucurl "$B" "/api/scans/$ID" -H "Authorization: Bearer $TOKEN2"
  [ "$(echo "$BODY" | jget 'd["state"]')" = completed ] && break
  sleep 0.1
done
[ "$(echo "$BODY" | jget '(d["state"], d["progress"]["hosts_done"], d["port_states"]["closed"])')" = "('completed', 254, 2540)" ] ||
  fail "loopback /24 scan: $BODY"
ucurl "$B" /metrics -H "Authorization: Bearer $TOKEN2"
pc=$(echo "$BODY" | sed -n 's/^meshwatch_scan_peak_connects //p'); ph=$(echo "$BODY" | sed -n 's/^meshwatch_scan_peak_hosts //p')
[ "$ph" = 3 ] || fail "peak hosts at once $ph, want exactly scan_host_window 3"
[ "$pc" -le 16 ] && [ "$pc" -ge 10 ] || fail "peak connects $pc, want 10..16 (scan_concurrency 16, 3 hosts x 10 ports)"
ok "2540 refused ports: at most $pc connects (scan_concurrency 16) and $ph hosts (scan_host_window 3) at once"
# 254 new hosts: events for the first 100 only, and one scan_changes event with the counts
for i in $(seq 30); do
  ucurl "$B" "/api/events?kind=scan_changes" -H "Authorization: Bearer $TOKEN2"
  [ "$(echo "$BODY" | jget 'd["total"]')" = 1 ] && break
  sleep 0.1
done
[ "$(echo "$BODY" | jget '[(e["subject_type"], e["subject"], e["severity"], e["evidence"]["host_new"], e["evidence"]["events"], e["evidence"]["left_out"]) for e in d["items"]][0]')" = \
  "('scan', '$ID', 'warning', 254, 100, 154)" ] || fail "scan_changes event: $BODY"
ucurl "$B" "/api/events?kind=host_new&limit=1000" -H "Authorization: Bearer $TOKEN2"
[ "$(echo "$BODY" | jget 'd["total"]')" = 100 ] || fail "host_new events of a /24: $(echo "$BODY" | jget 'd["total"]'), want 100"
ok "a /24 of new hosts: 100 host_new events and one scan_changes event (254 new, 154 left out)"

# ---- 7. a scan without subnets covers every allowed subnet (here
# scan_subnets = this node's address): refused with 409 naming them until
# the request says "confirm": true; GET /api/scans/defaults lists them
D=$(rand_addr)
while [ "$D" = "$A" ] || [ "$D" = "$B" ]; do D=$(rand_addr); done
MESHWATCH_SCAN_SUBNETS="$A/32" MESHWATCH_SCAN_RDNS=0 start_node n4 "$D"
TOKEN4=$(login "$D")
dapi() { local m=$1 p=$2; shift 2; ucurl "$D" "$p" -X "$m" -H "Authorization: Bearer $TOKEN4" -H 'Content-Type: application/json' "$@"; }
dapi GET /api/scans/defaults
expect_status 200 "GET /api/scans/defaults"
[ "$(echo "$BODY" | jget '(d["source"], d["hosts"], d["subnets"])')" = "('scan_subnets', 1, [{'subnet': '$A/32', 'interface': None, 'hosts': 1}])" ] ||
  fail "defaults: $BODY"
for body in '{}' '{"ports":[1]}' '{"subnets":[]}' '{"confirm":false}' ''; do
  dapi POST /api/scans -d "$body"
  [ "$HTTP_STATUS" = 409 ] || fail "POST /api/scans $body: expected 409, got $HTTP_STATUS ($BODY)"
  [ "$(echo "$BODY" | jget '(d["error"], [s["subnet"] for s in d["subnets"]])')" = "('confirm_required', ['$A/32'])" ] ||
    fail "409 body for $body: $BODY"
  echo "$BODY" | jget 'd["detail"]' | grep -qF "covers $A/32; resend with \"confirm\": true" || fail "409 detail for $body: $BODY"
done
dapi GET /api/scans
[ "$(echo "$BODY" | jget 'd["total"]')" = 0 ] || fail "a refused default scan was recorded: $BODY"
dapi POST /api/scans -d '{"confirm":"yes"}'
[ "$HTTP_STATUS" = 400 ] && echo "$BODY" | jget 'd["detail"]' | grep -q '"confirm"' || fail "confirm \"yes\": $HTTP_STATUS $BODY"
dapi POST /api/scans -d "{\"confirm\":true,\"ports\":[$CLOSED_PORT]}"
expect_status 201 "a confirmed default scan"
[ "$(echo "$BODY" | jget '(d["subnets"], d["progress"]["hosts_total"])')" = "(['$A/32'], 1)" ] || fail "confirmed default scan: $BODY"
ok "a scan without subnets: 409 confirm_required naming $A/32 (five spellings), nothing queued; confirm true scans it"
stop_node "$NODE_PID"

# ---- scheduled scans (scan_interval_s) and the discovery object of reports:
# a third node scans n1's address every second and makes a snapshot every
# second for a reporting node that is not there (they wait in its outbox)
C=$(rand_addr)
while [ "$C" = "$A" ] || [ "$C" = "$B" ]; do C=$(rand_addr); done
echo "{\"server_ip\":\"$(rand_addr)\",\"port\":8443}" >"$TMP/reporting.json"
MESHWATCH_SCAN_SUBNETS="$A/32" MESHWATCH_SCAN_RDNS=0 MESHWATCH_SCAN_INTERVAL=1 MESHWATCH_REPORT_INTERVAL=1 \
  start_node n3 "$C" --reporting "$TMP/reporting.json"
TOKEN3=$(login "$C")
for i in $(seq 150); do
  ucurl "$C" "/api/scans?state=completed" -H "Authorization: Bearer $TOKEN3"
  [ "$(echo "$BODY" | jget 'd["total"]')" -ge 1 ] && break
  sleep 0.1
done
[ "$(echo "$BODY" | jget 'd["items"][-1]["trigger"]')" = schedule ] || fail "no scheduled scan: $BODY"
ok "scan_interval_s: a scheduled scan of the allowed subnet ran"
snap=
for i in $(seq 100); do
  snap=$("$PY" - "$TMP/n3/data/meshwatch.db" <<'PYEOF'
import json, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=5)
# recent_changes covers two report intervals (2 s here): on a slow machine
# the newest snapshot may already have none, so take the newest that has
for (body,) in db.execute("SELECT body FROM outbox ORDER BY seq DESC LIMIT 200"):
    d = json.loads(body).get("discovery", {})
    if d.get("hosts", 0) >= 1 and any(c.get("kind") == "new_host" for c in d.get("recent_changes", [])):
        print(json.dumps(d))
        break
PYEOF
)
  [ -n "$snap" ] && break
  sleep 0.2
done
[ -n "$snap" ] || fail "no snapshot in n3's outbox with the scanned host and its new_host change"
echo "$snap" | jget '[h["ip"] for h in d["host_list"]]' | grep -q "'$A'" || fail "snapshot host_list: $snap"
echo "$snap" | jget '[c["kind"] for c in d["recent_changes"]]' | grep -q new_host || fail "snapshot changes: $snap"
ok "reports carry discovery: $(echo "$snap" | jget 'd["hosts"]') host(s), the host list and recent changes"

# ---- 5. bad options stop the node at start, naming the option
out=$(MESHWATCH_SCAN_SUBNETS=10.0.0.1/8 "$MW" --check-config 2>&1) && fail "bad scan_subnets accepted"
grep -q scan_subnets <<<"$out" || fail "bad scan_subnets message: $out"
out=$(MESHWATCH_SCAN_PORTS=99999 "$MW" --check-config 2>&1) && fail "bad scan_ports accepted"
grep -q scan_ports <<<"$out" || fail "bad scan_ports message: $out"
echo '[{"name":"x"}]' >"$TMP/bad-services.json"
st=0
MESHWATCH_SERVICES_FILE=$TMP/bad-services.json "$MW" --listen "$A:8444" --data-dir "$TMP/bad" >"$TMP/bad.out" 2>&1 || st=$?
[ $st != 0 ] || fail "a bad services_file did not stop the node"
grep -q "bad-services.json" "$TMP/bad.out" || fail "bad services_file message: $(cat "$TMP/bad.out")"
ok "bad scan_subnets, scan_ports and services_file are refused at start, by name"

echo "discovery_api: $CHECKS checks passed"
