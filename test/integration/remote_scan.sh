#!/usr/bin/env bash
# Remote scans: an administrator on node A asks node B of the mesh to scan
# B's own subnets. Real nodes on loopback under a mesh secret: A, B (allowed
# to scan only the loopback address where this test runs its own TCP
# services) and C (remote_scans off); D has no mesh secret.
#  1. A asks B (by id): B's scan records who asked (requested_by A) and
#     runs with B's limits; A's row follows it (node B, B's scan id) to
#     completed, with per-port results equal to B's own; the hosts B found
#     are not in A's /api/hosts.
#  2. refusals: no mesh secret 409; an unknown node 404; C's remote_scans
#     off 403; a subnet outside B's scan_subnets 400 naming B and its
#     subnets; no subnets 409 confirm_required with B's defaults; on B
#     unsigned POST /mesh/scans 401, a signed one from a non-member 403, GET
#     /mesh/scans/{id} of a scan another node asked for 403; the follow
#     limit (32 scans on other nodes) 429.
#  3. the per-asker limit (REMOTE_SCANS_PER_ASKER = 4): a 5th scan while 4
#     are queued or running on B gets 429 too_many_remote_scans from B,
#     passed on; DELETE /api/scans/{id} on A cancels them on B too.
#  4. B frozen: asking it is 502 peer_unreachable (timeout). B stopped: A
#     still shows the finished scan and its results; asking B once A sees
#     it dead is 409 node_not_alive; a scan B was running when it went away
#     fails on A after remote_scan_lost_s, saying so.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PY=$(python3 -c 'import sys; print(sys.executable)')
base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
A=$(addr 1) B=$(addr 2) C=$(addr 3) D=$(addr 4) L=$(addr 9)
# and a /22 of loopback addresses nobody listens on: 3 ports of each give
# more per-port results than one page of GET /mesh/scans/{id} (2000)
WIDE="127.$((RANDOM % 200 + 20)).$((RANDOM % 60 * 4)).0/22"
SECRET=remote-scan-secret
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SCAN_RDNS=0

# B's network: two services that answer, four that never do (a slow scan:
# B probes one port at a time and waits for each to speak), and a port
# nobody listens on
P=$((20000 + RANDOM % 30000))
OPEN1=$P OPEN2=$((P + 1)) CLOSED=$((P + 2)) TARPITS="$((P + 3)),$((P + 4)),$((P + 5)),$((P + 6))"
"$PY" "$HERE/discovery_services.py" "$L" "banner:$OPEN1:SSH-2.0-OpenSSH_9.2p1" "banner:$OPEN2:220 mail.test ESMTP" \
  "tarpit:$((P + 3))" "tarpit:$((P + 4))" "tarpit:$((P + 5))" "tarpit:$((P + 6))" >"$TMP/services.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/services.out" && break; sleep 0.1; done
grep -q ready "$TMP/services.out" || fail "test services did not start: $(cat "$TMP/services.out")"

seed() { # seed FILE N...: the nodes named
  local f=$1 s="" i; shift
  for i in "$@"; do s="$s${s:+,}{\"fqdn\":\"n$i.test\",\"ip\":\"$(addr "$i")\"}"; done
  echo "{\"nodes\":[$s]}" >"$f"
}
seed "$TMP/seedA.json" 2 3; seed "$TMP/seedB.json" 1 3; seed "$TMP/seedC.json" 1 2
MESH_SECRET=$SECRET MESHWATCH_REMOTE_SCAN_LOST=5s start_node n1 "$A" --seed "$TMP/seedA.json"
A_PID=$NODE_PID
MESH_SECRET=$SECRET MESHWATCH_SCAN_SUBNETS="$L/32,$WIDE" MESHWATCH_SCAN_MAX_HOSTS=2048 MESHWATCH_SCAN_QUEUE_MAX=8 MESHWATCH_SCAN_BANNER_MS=2000 \
  MESHWATCH_SCAN_CONCURRENCY=1 start_node n2 "$B" --seed "$TMP/seedB.json"
B_PID=$NODE_PID
MESH_SECRET=$SECRET MESHWATCH_REMOTE_SCANS=false start_node n3 "$C" --seed "$TMP/seedC.json"
start_node n4 "$D"
TA=$(login "$A") TB=$(login "$B") TD=$(login "$D")
id_of() { ucurl "$1" /health; echo "$BODY" | jget 'd["node_id"]'; }
A_ID=$(id_of "$A") B_ID=$(id_of "$B") C_ID=$(id_of "$C")
on() { local at=$1 tok=$2 m=$3 p=$4; shift 4; ucurl "$at" "$p" -X "$m" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' "$@"; }
onA() { on "$A" "$TA" "$@"; }
onB() { on "$B" "$TB" "$@"; }

# every node alive to the others (B runs scans only for alive members)
alive() { # alive ADDR TOKEN IDS...: 0 when all are alive there
  local at=$1 tok=$2; shift 2
  on "$at" "$tok" GET /api/nodes
  echo "$BODY" | jget "all(any(p['id'] == i and p['state'] == 'alive' for p in d['items']) for i in '$*'.split())" | grep -q True
}
for _ in $(seq 150); do
  alive "$A" "$TA" "$B_ID" "$C_ID" && alive "$B" "$TB" "$A_ID" && break
  sleep 0.2
done
alive "$A" "$TA" "$B_ID" "$C_ID" && alive "$B" "$TB" "$A_ID" || fail "the mesh did not converge: $BODY"
ok "A, B and C are alive to each other under the mesh secret"

# wait_state ADDR TOKEN ID STATES: until the scan is in one of STATES (regex); prints it
wait_state() {
  local at=$1 tok=$2 id=$3 want=$4 st i
  for ((i = 0; i < 300; i++)); do
    on "$at" "$tok" GET "/api/scans/$id"
    st=$(echo "$BODY" | jget 'd["state"]')
    [[ $st =~ ^($want)$ ]] && { echo "$BODY"; return 0; }
    sleep 0.1
  done
  fail "scan $id on $at is not $want: $BODY"
}

# ---- 1. A asks B
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$L/32\"],\"ports\":[$OPEN1,$OPEN2,$CLOSED]}"
expect_status 201 "POST /api/scans with node B"
ID=$(echo "$BODY" | jget 'd["id"]')
RID=$(echo "$BODY" | jget 'd["remote_scan_id"]')
[ "$(echo "$BODY" | jget '(d["node"]["id"], d["node"]["fqdn"], d["requested_by"], d["subnets"])')" = "('$B_ID', 'n2.test', None, ['$L/32'])" ] ||
  fail "A's row for the remote scan: $BODY"
onB GET "/api/scans/$RID"; expect_status 200 "B's scan $RID"
[ "$(echo "$BODY" | jget '(d["trigger"], d["requested_by"]["id"], d["requested_by"]["fqdn"], d["node"])')" = "('mesh', '$A_ID', 'n1.test', None)" ] ||
  fail "B's scan does not say A asked: $BODY"
onB GET "/api/scans?limit=5"
echo "$BODY" | jget "[s['requested_by']['id'] for s in d['items'] if s['id'] == $RID] == ['$A_ID']" | grep -q True ||
  fail "B's /api/scans does not show requested_by: $BODY"
ok "B runs scan $RID for A (requested_by n1.test); A follows it as scan $ID"

S=$(wait_state "$A" "$TA" "$ID" "completed|failed|cancelled")
[ "$(echo "$S" | jget 'd["state"]')" = completed ] || fail "A's remote scan: $S"
[ "$(echo "$S" | jget '(d["progress"]["hosts_done"], d["progress"]["found"], d["port_states"]["open"], d["port_states"]["closed"])')" = "(1, 2, 2, 1)" ] ||
  fail "A's mirrored progress: $S"
onA GET "/api/scans/$ID/results"; RA=$(echo "$BODY" | jget 'sorted((x["ip"], x["port"], x["state"]) for x in d["items"])')
onB GET "/api/scans/$RID/results"; RB=$(echo "$BODY" | jget 'sorted((x["ip"], x["port"], x["state"]) for x in d["items"])')
[ "$RA" = "$RB" ] || fail "A's results differ from B's: A $RA, B $RB"
[ "$RA" = "[('$L', $OPEN1, 'open'), ('$L', $OPEN2, 'open'), ('$L', $CLOSED, 'closed')]" ] || fail "B's results: $RB"
ok "A's scan $ID completed with B's per-port results: $RA"
onB GET "/api/hosts/$L"; expect_status 200 "B found the host"
onA GET "/api/hosts/$L"; expect_status 404 "the host B found is not in A's /api/hosts"

# by name, and GET on A while it runs
onA POST /api/scans -d "{\"node\":\"n2.test\",\"subnets\":[\"$L/32\"],\"ports\":[$OPEN1]}"
expect_status 201 "POST /api/scans with node by fqdn"
ID2=$(echo "$BODY" | jget 'd["id"]')
[ "$(wait_state "$A" "$TA" "$ID2" "completed" | jget 'd["node"]["id"]')" = "$B_ID" ] || fail "scan by fqdn"
ok "a node named by its fqdn runs the scan too"

# more results than one page: A reads them all
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$WIDE\"],\"ports\":[$CLOSED,$((P + 7)),$((P + 8))]}"
expect_status 201 "a remote scan of a /22"
IDW=$(echo "$BODY" | jget 'd["id"]') RIDW=$(echo "$BODY" | jget 'd["remote_scan_id"]')
wait_state "$A" "$TA" "$IDW" completed >/dev/null
onA GET "/api/scans/$IDW/results?limit=10000"; WA=$(echo "$BODY" | jget 'd["total"], sorted((x["ip"], x["port"], x["state"]) for x in d["items"])')
onB GET "/api/scans/$RIDW/results?limit=10000"; WB=$(echo "$BODY" | jget 'd["total"], sorted((x["ip"], x["port"], x["state"]) for x in d["items"])')
[ "$WA" = "$WB" ] || fail "the /22's results differ between A and B"
NW=$(echo "$BODY" | jget 'd["total"]')
[ "$NW" -gt 2000 ] || fail "the /22 gave only $NW results, not more than a page"
ok "a /22 on B: A holds all $NW per-port results, equal to B's (pages of 2000)"

# ---- 2. refusals
on "$D" "$TD" POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$L/32\"]}"
expect_status 409 "a node without a mesh secret"
[ "$(echo "$BODY" | jget 'd["error"]')" = mesh_secret_required ] || fail "no secret: $BODY"
echo "$BODY" | grep -q "would let anyone" || fail "no secret: the detail does not say why: $BODY"
onA POST /api/scans -d '{"node":"11111111-2222-4333-8444-555555555555","subnets":["10.0.0.0/24"]}'
expect_status 404 "an unknown node id"
onA POST /api/scans -d '{"node":"nowhere.test"}'
expect_status 404 "an unknown node name"
onA POST /api/scans -d '{"node":7}'
expect_status 400 "a node that is not a string"
onA POST /api/scans -d "{\"node\":\"$C_ID\",\"subnets\":[\"$L/32\"]}"
expect_status 403 "C has remote_scans off"
[ "$(echo "$BODY" | jget '(d["error"], d["node"]["fqdn"])')" = "('remote_scans_off', 'n3.test')" ] || fail "C's refusal: $BODY"
echo "$BODY" | jget 'd["detail"]' | grep -q "^node n3.test ($C_ID): " || fail "C's refusal does not name C: $BODY"
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"10.9.0.0/24\"]}"
expect_status 400 "a subnet outside B's scan_subnets"
[ "$(echo "$BODY" | jget 'd["error"]')" = invalid_scan ] || fail "400: $BODY"
echo "$BODY" | jget 'd["detail"]' | grep -q "^node n2.test ($B_ID): .*10.9.0.0/24 is outside.*$L/32,$WIDE" ||
  fail "the 400 does not name B and its subnets: $BODY"
onA POST /api/scans -d "{\"node\":\"$B_ID\"}"
expect_status 409 "no subnets: B's confirm rule"
[ "$(echo "$BODY" | jget '(d["error"], [s["subnet"] for s in d["subnets"]])')" = "('confirm_required', ['$L/32', '$WIDE'])" ] ||
  fail "confirm_required with B's defaults: $BODY"
echo "$BODY" | jget 'd["detail"]' | grep -q "^node n2.test" || fail "confirm_required does not name B: $BODY"
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"confirm\":true,\"ports\":[$OPEN1]}"
expect_status 201 "confirmed: B's default subnets"
[ "$(echo "$BODY" | jget 'd["subnets"]')" = "['$L/32', '$WIDE']" ] || fail "a confirmed remote scan covers B's defaults: $BODY"
wait_state "$A" "$TA" "$(echo "$BODY" | jget 'd["id"]')" completed >/dev/null

# the follow limit (REMOTE_SCANS_FOLLOW_MAX = 32): rows of scans on a node
# that has left the peer table, written straight into A's database, fill
# it; they fail once that node has been unreachable for remote_scan_lost_s
"$PY" - "$TMP/n1/data/meshwatch.db" <<'PYEOF'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
with db:
    for i in range(32):
        db.execute("INSERT INTO scans(created_at,state,trigger,subnets,ports,node_id,node_fqdn,remote_id) "
                   "VALUES(?,'queued','api','10.0.0.0/24','22','77777777-2222-4333-8444-555555555555','gone.test',?)",
                   (int(time.time()), 1000 + i))
PYEOF
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$L/32\"],\"ports\":[$OPEN1]}"
expect_status 429 "A follows 32 remote scans already"
[ "$(echo "$BODY" | jget 'd["error"]')" = too_many_remote_scans ] || fail "follow limit: $BODY"
onA GET "/api/scans?state=queued&limit=1"
GONE=$(echo "$BODY" | jget 'd["items"][0]["id"]')
G=$(wait_state "$A" "$TA" "$GONE" failed)
echo "$G" | jget 'd["error"]' | grep -q "gone.test could not be reached for 5 s (remote_scan_lost_s): it is no longer in this node's peer table" ||
  fail "a scan on a node that left: $G"
for _ in $(seq 50); do onA GET "/api/scans?state=queued"; [ "$(echo "$BODY" | jget 'd["total"]')" = 0 ] && break; sleep 0.2; done
[ "$(echo "$BODY" | jget 'd["total"]')" = 0 ] || fail "the 32 lost scans did not all fail: $BODY"
ok "the follow limit answers 429; scans on a node that left the peer table fail after remote_scan_lost_s"

# the mesh endpoint itself
echo "{\"subnets\":[\"$L/32\"]}" >"$TMP/body.json"
ucurl "$B" /mesh/scans -X POST -H 'Content-Type: application/json' --data-binary @"$TMP/body.json"
expect_status 401 "unsigned POST /mesh/scans"
hdrs() { local -n out=$1; shift; out=(); while IFS= read -r l; do out+=(-H "$l"); done < <(MW_DEST=$B_ID "$PY" "$HERE/mesh_sign.py" "$@"); }
STRANGER=(99999999-2222-4333-8444-555555555555 stranger.test "$L" 8443 1)
MW_METHOD=POST MW_PATH=/mesh/scans MW_BODY_FILE="$TMP/body.json" hdrs H "$SECRET" 0 "${STRANGER[@]}"
ucurl "$B" /mesh/scans -X POST -H 'Content-Type: application/json' --data-binary @"$TMP/body.json" "${H[@]}"
expect_status 403 "a signed POST /mesh/scans from a node that is not a member"
[ "$(echo "$BODY" | jget 'd["error"]')" = not_a_member ] || fail "non-member: $BODY"
MW_METHOD=GET MW_PATH="/mesh/scans/$RID" hdrs H "$SECRET" 0 "${STRANGER[@]}"
ucurl "$B" "/mesh/scans/$RID" "${H[@]}"
expect_status 403 "GET /mesh/scans/{id} signed by a node that did not ask for it"
MW_METHOD=POST MW_PATH=/mesh/scans MW_BODY_FILE="$TMP/body.json" hdrs H wrong-secret 0 "${STRANGER[@]}"
ucurl "$B" /mesh/scans -X POST -H 'Content-Type: application/json' --data-binary @"$TMP/body.json" "${H[@]}"
expect_status 401 "POST /mesh/scans signed with another secret"

# ---- 3. the per-asker limit and cancel
SLOW=()
for i in 1 2 3 4; do
  onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$L/32\"],\"ports\":[$TARPITS]}"
  expect_status 201 "slow remote scan $i"
  SLOW+=("$(echo "$BODY" | jget 'd["id"]')")
done
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$L/32\"],\"ports\":[$TARPITS]}"
expect_status 429 "a 5th scan while A has 4 queued or running on B"
[ "$(echo "$BODY" | jget 'd["error"]')" = too_many_remote_scans ] || fail "per-asker limit: $BODY"
echo "$BODY" | jget 'd["detail"]' | grep -q "^node n2.test.*has 4 scans queued or running" || fail "per-asker detail: $BODY"
onB GET "/api/scans?state=queued"
[ "$(echo "$BODY" | jget 'd["total"]')" = 3 ] || fail "B should have 3 queued: $BODY"
# cancel all four from A at once: the three queued on B are cancelled
# there at once, the running one stops there within its probes' timers
for id in "${SLOW[3]}" "${SLOW[2]}" "${SLOW[1]}" "${SLOW[0]}"; do
  onA DELETE "/api/scans/$id"; expect_status 200 "cancel remote scan $id on A"
  echo "$BODY" >"$TMP/cancel.$id"
done
for id in "${SLOW[3]}" "${SLOW[2]}" "${SLOW[1]}"; do
  [ "$(jget 'd["state"]' <"$TMP/cancel.$id")" = cancelled ] || fail "A's answer to cancelling queued scan $id: $(cat "$TMP/cancel.$id")"
  rid=$(jget 'd["remote_scan_id"]' <"$TMP/cancel.$id")
  onB GET "/api/scans/$rid"
  [ "$(echo "$BODY" | jget 'd["state"]')" = cancelled ] || fail "B's queued scan $rid was not cancelled: $BODY"
done
[ "$(jget 'd["state"]' <"$TMP/cancel.${SLOW[0]}")" = running ] || fail "the running scan: $(cat "$TMP/cancel.${SLOW[0]}")"
wait_state "$B" "$TB" "$(jget 'd["remote_scan_id"]' <"$TMP/cancel.${SLOW[0]}")" cancelled >/dev/null
wait_state "$A" "$TA" "${SLOW[0]}" cancelled >/dev/null
ok "cancels on A cancel on B (B and A say cancelled)"
onA DELETE "/api/scans/$ID"; expect_status 409 "a finished remote scan cannot be cancelled"

# ---- 4. B goes away
# frozen (SIGSTOP) it still looks alive to A for a poll timeout, but does
# not answer: 502 peer_unreachable, saying what failed
kill -STOP "$B_PID"
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$L/32\"]}"
kill -CONT "$B_PID"
expect_status 502 "a member that does not answer"
[ "$(echo "$BODY" | jget 'd["error"]')" = peer_unreachable ] || fail "frozen node: $BODY"
echo "$BODY" | jget 'd["detail"]' | grep -q "^node n2.test ($B_ID) at $B:8443 could not be asked: timeout" || fail "502 detail: $BODY"
ok "a member that does not answer: 502 ($(echo "$BODY" | jget 'd["detail"]'))"
for _ in $(seq 100); do alive "$A" "$TA" "$B_ID" && alive "$B" "$TB" "$A_ID" && break; sleep 0.2; done
# stopped with a scan running there
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$L/32\"],\"ports\":[$TARPITS]}"
expect_status 201 "a slow remote scan"
LOST=$(echo "$BODY" | jget 'd["id"]')
wait_state "$A" "$TA" "$LOST" running >/dev/null
stop_node "$B_PID"
onA GET "/api/scans/$ID"; expect_status 200 "A's finished remote scan with B stopped"
[ "$(echo "$BODY" | jget 'd["state"]')" = completed ] || fail "after B stopped: $BODY"
onA GET "/api/scans/$ID/results"
[ "$(echo "$BODY" | jget 'sorted((x["ip"], x["port"], x["state"]) for x in d["items"])')" = "$RA" ] ||
  fail "A's results with B stopped: $BODY"
ok "with B stopped A still shows scan $ID and its results"
for _ in $(seq 100); do
  onA GET "/api/nodes/$B_ID"; [ "$(echo "$BODY" | jget 'd["state"]')" = dead ] && break; sleep 0.2
done
onA POST /api/scans -d "{\"node\":\"$B_ID\",\"subnets\":[\"$L/32\"]}"
expect_status 409 "a node A sees dead"
[ "$(echo "$BODY" | jget 'd["error"]')" = node_not_alive ] || fail "dead node: $BODY"
F=$(wait_state "$A" "$TA" "$LOST" failed)
echo "$F" | jget 'd["error"]' | grep -q "node n2.test could not be reached for 5 s" || fail "lost scan's error: $F"
ok "the scan B was running fails on A after remote_scan_lost_s: $(echo "$F" | jget 'd["error"]')"
onA DELETE "/api/scans/$LOST"; expect_status 409 "a failed remote scan cannot be cancelled"
