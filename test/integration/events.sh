#!/usr/bin/env bash
# Events with real nodes: a target whose port closes and opens again gives
# target_state events (up -> refused -> up) with the evidence; a node of a
# three-node mesh killed with -9 gives peer_state events at both survivors
# (alive -> suspect -> dead, naming the error class) and alive again after
# its restart; the live "events" WebSocket topic carries them as they
# happen; GET /api/events filters, pages and refuses bad parameters with a
# 400 naming them; events survive a restart.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")

base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=3
declare -a PID
start_mesh_node() {
  local i=$1 next=$(( $1 % 3 + 1 ))
  echo "{\"nodes\":[{\"fqdn\":\"n$next.test\",\"ip\":\"$(addr $next)\"}]}" > "$TMP/seed$i.json"
  start_node "n$i" "$(addr $i)" --seed "$TMP/seed$i.json"
  PID[$i]=$NODE_PID
}
for i in 1 2 3; do start_mesh_node "$i"; done
A=$(addr 1)
T=$(login "$A")
AUTH=(-H "Authorization: Bearer $T")
T2=$(login "$(addr 2)")

ev() { ucurl "$A" "/api/events$1" "${AUTH[@]}"; }

# ---- bad parameters: 400 naming the parameter; no session: 401 ----
ucurl "$A" /api/events; expect_status 401 "GET /api/events without a session"
for q in "limit=0" "limit=1001" "limit=x" "offset=-1" "severity=loud" "since=yesterday" "until=99999999999999" \
         "kind=a%20b" "subject=%27%3B" "since=2026-12-06T10:00:00Z&until=2026-12-05T10:00:00Z"; do
  ev "?$q"
  [ "$HTTP_STATUS" = 400 ] || fail "?$q: expected 400, got $HTTP_STATUS $BODY"
  p=${q%%=*}
  echo "$BODY" | jget 'd["error"] + " " + d["detail"]' | grep -q "invalid_query.*\"$p\"\|invalid_query.*until" \
    || fail "?$q: the error does not name $p: $BODY"
done
ok "bad parameters answer 400 invalid_query naming the parameter"
ev "?kind=$(printf 'k%.0s' $(seq 200))"; [ "$HTTP_STATUS" = 400 ] || fail "a 200-byte kind: $HTTP_STATUS"
ok "an over-long filter value answers 400"

# ---- the live feed: subscribe before anything happens ----
WS_TOPICS=events timeout 175 python3 "$HERE/ws_client.py" "$A" 8443 "$T" read 170 > "$TMP/ws.txt" 2>&1 &
WSPID=$!; PIDS+=($WSPID)

# ---- a target goes down and up ----
python3 "$HERE/tcp_listeners.py" "$A" 1 >"$TMP/ports" 2>"$TMP/listeners.log" &
LPID=$!; PIDS+=($LPID)
for _ in $(seq 50); do [ -s "$TMP/ports" ] && break; sleep 0.1; done
OPEN=$(awk '/^open/ {print $2}' "$TMP/ports")
[ -n "$OPEN" ] || fail "listener did not start: $(cat "$TMP/listeners.log")"
ucurl "$A" /api/targets -X POST "${AUTH[@]}" -H 'Content-Type: application/json' \
  -d "{\"name\":\"web\",\"host\":\"$A\",\"port\":$OPEN,\"interval_s\":1,\"timeout_s\":1}"
expect_status 201 "target added"
TID=$(echo "$BODY" | jget 'd["id"]')
target_events() { ev "?kind=target_state&subject=$TID&limit=50"; echo "$BODY" | jget '" ".join(e["old"]+">"+e["new"] for e in reversed(d["items"]))'; }
for _ in $(seq 100); do target_events | grep -q "unknown>up" && break; sleep 0.1; done
target_events | grep -q "unknown>up" || fail "no unknown -> up event: $(target_events)"
kill "$LPID"; wait "$LPID" 2>/dev/null || true
for _ in $(seq 100); do target_events | grep -q "up>refused" && break; sleep 0.1; done
target_events | grep -q "up>refused" || fail "no up -> refused event: $(target_events)"
ev "?kind=target_state&subject=$TID&limit=1"
echo "$BODY" | jget 'json.dumps(d["items"][0])' > "$TMP/e.json"
jget '" ".join(map(str, (d["severity"], d["subject_type"], d["subject_name"], d["evidence"]["port"], d["evidence"]["host"])))' < "$TMP/e.json" \
  | grep -qx "critical target web $OPEN $A" || fail "down event fields: $(cat "$TMP/e.json")"
jget 'd["evidence"]["error"]' < "$TMP/e.json" | grep -qi "refused" || fail "no error in evidence: $(cat "$TMP/e.json")"
grep -q "target $TID \"web\" .* up -> refused" "$TMP/n1.log" || fail "the state change is not logged"
ok "target down: up -> refused event, critical, with host, port and error; logged"
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$A', $OPEN)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
" 2>"$TMP/listeners2.log" &
PIDS+=($!)
for _ in $(seq 100); do target_events | grep -q "refused>up" && break; sleep 0.1; done
target_events | grep -q "refused>up" || fail "no refused -> up event: $(target_events) $(cat "$TMP/listeners2.log")"
ok "target back: refused -> up event"

# ---- a peer is killed, then restarted ----
for _ in $(seq 100); do
  ucurl "$A" /api/nodes "${AUTH[@]}"
  [ "$(echo "$BODY" | jget 'sum(1 for p in d["items"] if p["state"]=="alive")')" = 2 ] && break; sleep 0.2
done
ID3=$(curl -sk "https://$(addr 3):8443/health" | jget 'd["node_id"]' 2>/dev/null || true)
[ -n "$ID3" ] || { ucurl "$(addr 3)" /api/node -H "Authorization: Bearer $(login "$(addr 3)")"; ID3=$(echo "$BODY" | jget 'd["id"]'); }
kill_node "${PID[3]}"
peer_events() { ucurl "$1" "/api/events?kind=peer_state&subject=$ID3&limit=50" -H "Authorization: Bearer $2"; echo "$BODY" | jget '" ".join(e["old"]+">"+e["new"] for e in reversed(d["items"]))'; }
for _ in $(seq 150); do peer_events "$A" "$T" | grep -q ">dead" && break; sleep 0.1; done
seq1=$(peer_events "$A" "$T")
echo "$seq1" | grep -q "alive>suspect.*suspect>dead" || fail "n1: no alive -> suspect -> dead: $seq1"
for _ in $(seq 100); do peer_events "$(addr 2)" "$T2" | grep -q ">dead" && break; sleep 0.1; done
peer_events "$(addr 2)" "$T2" | grep -q "suspect>dead" || fail "n2: no suspect -> dead: $(peer_events "$(addr 2)" "$T2")"
ucurl "$A" "/api/events?kind=peer_state&subject=$ID3&limit=1" "${AUTH[@]}"
echo "$BODY" | jget 'json.dumps(d["items"][0])' > "$TMP/d.json"
jget '" ".join(map(str, (d["severity"], d["subject_name"], d["evidence"]["error"], d["evidence"]["failed_polls"] >= 3, d["evidence"]["address"])))' < "$TMP/d.json" \
  | grep -qx "critical n3.test refused True $(addr 3):8443" || fail "dead event fields: $(cat "$TMP/d.json")"
ok "kill -9: alive -> suspect -> dead at both survivors, critical, error class and failed polls as evidence"
start_mesh_node 3
for _ in $(seq 150); do peer_events "$A" "$T" | grep -q "dead>alive" && break; sleep 0.1; done
peer_events "$A" "$T" | grep -q "dead>alive" || fail "no dead -> alive after the restart: $(peer_events "$A" "$T")"
ok "restart: dead -> alive event"

# ---- the live feed carried them, with the ids the API gives ----
sleep 1.5
kill "$WSPID" 2>/dev/null || true; wait "$WSPID" 2>/dev/null || true
python3 - "$TMP/ws.txt" "$ID3" "$TID" > "$TMP/wscheck" <<'PY' || fail "live feed: $(cat "$TMP/wscheck") $(head -c 2000 "$TMP/ws.txt")"
import json, sys
seen = []
for line in open(sys.argv[1]):
    try:
        f = json.loads(line)
    except ValueError:
        continue
    if f.get("type") == "events":
        seen += f["items"]
ids = [e["id"] for e in seen]
assert ids == sorted(ids) and len(ids) == len(set(ids)), f"ids out of order or repeated: {ids}"
kinds = {(e["kind"], e["subject"], e["new"]) for e in seen}
for want in [("peer_state", sys.argv[2], "dead"), ("target_state", sys.argv[3], "refused"), ("target_state", sys.argv[3], "up")]:
    assert want in kinds, f"missing {want} in {sorted(kinds)}"
print(len(seen), max(ids))
PY
read -r nlive maxid < "$TMP/wscheck"
ev "?limit=1000"
echo "$BODY" | jget "any(e['id'] == $maxid for e in d['items'])" | grep -q True || fail "live id $maxid not in /api/events"
ok "WebSocket topic events: $nlive events live, in order, the same ids as /api/events"

# ---- filters and paging ----
ev "?limit=1000"; all=$(echo "$BODY" | jget 'd["total"]')
ev "?severity=critical&limit=1000"
echo "$BODY" | jget 'all(e["severity"]=="critical" for e in d["items"]) and d["total"] >= 2' | grep -q True || fail "severity filter: $BODY"
ev "?subject_type=target&limit=1000"
echo "$BODY" | jget 'all(e["subject_type"]=="target" for e in d["items"]) and d["total"] >= 3' | grep -q True || fail "subject_type filter"
ev "?limit=2&offset=1"
echo "$BODY" | jget '" ".join(map(str, (len(d["items"]), d["total"], d["limit"], d["offset"])))' | grep -qx "2 $all 2 1" || fail "paging: $BODY"
ev "?since=$(( $(date +%s) + 3600 ))"; echo "$BODY" | jget 'd["total"]' | grep -qx 0 || fail "since in the future: $BODY"
ev "?until=2000-01-01T00:00:00Z"; echo "$BODY" | jget 'd["total"]' | grep -qx 0 || fail "until in 2000: $BODY"
ok "filters (severity, subject_type, since, until) and paging ($all events)"

# ---- events survive a restart; new ids go on ----
stop_node "${PID[1]}"
start_mesh_node 1
T=$(login "$A"); AUTH=(-H "Authorization: Bearer $T")
ev "?limit=1000"
[ "$(echo "$BODY" | jget 'd["total"]')" -ge "$all" ] || fail "events lost in the restart: $BODY"
ok "events survive a restart"
[ -z "$BAD_EXIT" ] || fail "nodes exited badly:$BAD_EXIT"
echo "events: $CHECKS checks passed"
