#!/usr/bin/env bash
# The mesh on loopback with real nodes: five nodes whose seed files each
# name only the next one converge to full membership without duplicates; a
# killed node turns suspect, then dead, and comes back by itself after a
# restart; stale gossip does not resurrect a dead node; measurements are
# real; a peer's history and PMTU are served.
. "$(dirname "$0")/lib.sh"

N=5
base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=3
declare -a PID
start_mesh_node() {
  local i=$1 next=$(( $1 % N + 1 ))
  echo "{\"nodes\":[{\"fqdn\":\"n$next.test\",\"ip\":\"$(addr $next)\"}]}" > "$TMP/seed$i.json"
  start_node "n$i" "$(addr $i)" --seed "$TMP/seed$i.json"
  PID[$i]=$NODE_PID
}
t0=$(date +%s.%N)
for i in $(seq 1 $N); do start_mesh_node "$i"; done
t_last=$(date +%s.%N)

TOK=$(login "$(addr 1)")
declare -a TOKS
for i in $(seq 1 $N); do TOKS[$i]=$(login "$(addr $i)"); done

# peers_state I: "alive_count total pending_seeds unique_ids"
peers_state() {
  ucurl "$(addr $1)" /api/nodes -H "Authorization: Bearer ${TOKS[$1]}"
  echo "$BODY" | jget 'sum(1 for p in d["items"] if p["state"]=="alive"), d["total"], len(d["pending_seeds"]), len(set(p["id"] for p in d["items"]))'
}

converged=0
for tick in $(seq 1 100); do
  all=1
  for i in $(seq 1 $N); do
    [ "$(peers_state "$i")" = "4 4 0 4" ] || { all=0; break; }
  done
  [ $all = 1 ] && { converged=1; break; }
  sleep 0.2
done
t_conv=$(date +%s.%N)
for i in $(seq 1 $N); do echo "n$i: $(peers_state "$i")"; done
[ $converged = 1 ] || fail "mesh did not converge in 20 s"
secs=$(python3 -c "print(round($t_conv - $t_last, 2))")
ok "5 nodes seeded in a ring converge to full membership, no duplicates, in ${secs}s after the last start (poll interval 1 s)"

# each node's /health counts its peers; /nodeinfo lists them with states
ucurl "$(addr 1)" /health
[ "$(echo "$BODY" | jget 'd["known_nodes"]')" = 4 ] || fail "known_nodes: $BODY"
ucurl "$(addr 1)" /nodeinfo
echo "$BODY" | jget 'all(p["state"]=="alive" and p["last_seen"].endswith("Z") for p in d["peers"]) and len(d["peers"])==4' | grep -q True || fail "nodeinfo peers: $BODY"
ok "/health known_nodes and /nodeinfo peer states"
dg=$(echo "$BODY" | jget 'd["peers_digest"]')
ucurl "$(addr 1)" /nodeinfo -H "X-Mw-Peers-Digest: $dg"
echo "$BODY" | jget 'd["peers_unchanged"] is True and d["peers"] == [] and d["peers_digest"] == "'"$dg"'"' | grep -q True || fail "unchanged list still sent: $BODY"
ucurl "$(addr 1)" /nodeinfo -H "X-Mw-Peers-Digest: 0000000000000000"
echo "$BODY" | jget 'd["peers_unchanged"] is False and len(d["peers"]) == 4' | grep -q True || fail "changed list not sent: $BODY"
ok "a caller that has the current peer list gets it left out (digest $dg)"

# every node of the converged mesh has the same view (itself included), so
# the same digest: a caller whose own view is the callee's gets no list
digests=""
for i in $(seq 1 $N); do
  ucurl "$(addr "$i")" /nodeinfo -H "X-Mw-Peers-Digest: 0000000000000000"
  digests="$digests $(echo "$BODY" | jget 'd["peers_digest"]')"
done
[ "$(echo $digests | tr ' ' '\n' | sort -u | wc -l)" = 1 ] || fail "converged nodes disagree on the view digest:$digests"
ucurl "$(addr 2)" /nodeinfo -H "X-Mw-View-Digest: $dg"
echo "$BODY" | jget 'd["peers_unchanged"] is True and d["peers"] == []' | grep -q True || fail "same view, list still sent: $BODY"
ok "converged nodes share one view digest ($dg); a caller with that view gets no list"

# deltas: with the cursor of its last answer a caller gets only what
# changed since (nothing, here); a cursor of another epoch gets everything
ucurl "$(addr 1)" /nodeinfo
cur=$(echo "$BODY" | jget 'd["peers_cursor"]')
ucurl "$(addr 1)" /nodeinfo -H "X-Mw-Peers-Since: $cur"
echo "$BODY" | jget 'd["peers_delta"] is True and d["peers"] == [] and d["peers_unchanged"] is False' | grep -q True || fail "delta since $cur not empty: $BODY"
ucurl "$(addr 1)" /nodeinfo -H "X-Mw-Peers-Since: 00000000.0"
echo "$BODY" | jget 'd["peers_delta"] is False and len(d["peers"]) == 4' | grep -q True || fail "foreign cursor did not get the whole list: $BODY"
ucurl "$(addr 1)" /nodeinfo -H "X-Mw-Peers-Since: $(printf 'x%.0s' $(seq 300))"
[ "$HTTP_STATUS" = 400 ] && echo "$BODY" | jget '"X-Mw-Peers-Since" in d["detail"]' | grep -q True || fail "malformed cursor: $HTTP_STATUS $BODY"
ok "delta gossip: cursor $cur gives no entries; a foreign cursor the whole list; a malformed one 400 naming the header"

# measurements are real: connect/TLS/total times, UDP RTT, PMTU of loopback
id2=$(ucurl "$(addr 2)" /health; echo "$BODY" | jget 'd["node_id"]')
sleep 1.5
ucurl "$(addr 1)" "/api/nodes/$id2" -H "Authorization: Bearer $TOK"
expect_status 200 "GET /api/nodes/{id}"
echo "$BODY" | jget 'd["poll"]["total_ms"] > 0 and d["poll"]["tls_ms"] > 0 and d["poll"]["connect_ms"] >= 0 and d["poll"]["last_ok"] and d["poll"]["success_rate_1h"] > 0.5' | grep -q True || fail "poll measurements: $BODY"
echo "$BODY" | jget 'd["udp"]["rtt_avg_ms"] is not None and d["udp"]["loss"] == 0 and d["udp"]["probes"] > 0' | grep -q True || fail "udp measurements: $BODY"
lo_mtu=$(cat /sys/class/net/lo/mtu)
want=$(( lo_mtu < 65535 ? lo_mtu : 65535 ))
echo "$BODY" | jget "d['pmtu']['value'] == $want and d['pmtu']['method'] == 'local'" | grep -q True || fail "pmtu on loopback (want $want): $BODY"
ok "poll times, UDP RTT/loss and PMTU ($want, the loopback MTU) are measured"
ucurl "$(addr 1)" /metrics -H "Authorization: Bearer $TOK"
grep -q '^meshwatch_peers{state="alive"} 4$' <<<"$BODY" || fail "metrics peers: $(echo "$BODY" | grep meshwatch_peers)"
awk '/^meshwatch_polls_total\{result="ok"\}/ {ok = $2 > 0} END {exit !ok}' <<<"$BODY" || fail "metrics polls"
ok "/metrics counts peers by state and polls by result"

# a killed node turns suspect, then dead; a restart brings it back
id1=$(cat "$TMP/n1/data/node_id")
ucurl "$(addr 5)" "/api/nodes/$id1" -H "Authorization: Bearer ${TOKS[5]}"
fs_before=$(echo "$BODY" | jget 'd["first_seen"]'); polls_before=$(echo "$BODY" | jget 'd["poll"]["polls_24h"]')
# the peer table reaches the database every 10 s; kill only once it has
for t in $(seq 1 150); do
  [ "$(python3 -c "import sqlite3;print(sqlite3.connect('$TMP/n5/data/meshwatch.db').execute('select count(*) from peers').fetchone()[0])" 2>/dev/null)" = 4 ] && break
  sleep 0.1
done
kill_node "${PID[5]}"
id5=$(python3 - "$TMP/n5/data/node_id" <<'PY'
import sys; print(open(sys.argv[1]).read().strip())
PY
)
state_of() { ucurl "$(addr $1)" "/api/nodes/$2" -H "Authorization: Bearer ${TOKS[$1]}"; echo "$BODY" | jget 'd["state"]'; }
saw_suspect=0; dead=0
for tick in $(seq 1 100); do
  s=$(state_of 1 "$id5")
  [ "$s" = suspect ] && saw_suspect=1
  [ "$s" = dead ] && { dead=1; break; }
  sleep 0.1
done
# a busy machine may sample past the short suspect spell: n1's log has every change
grep -q "peer $id5 (n5.test [0-9.:]*) alive -> suspect" "$TMP/n1.log" && saw_suspect=1
[ $saw_suspect = 1 ] || fail "n5 never seen suspect"
[ $dead = 1 ] || fail "n5 not dead 10 s after kill -9 (state $s)"
ok "killed node: suspect, then dead within 10 s"
# every node agrees
for i in 2 3 4; do
  for tick in $(seq 1 50); do [ "$(state_of $i "$id5")" = dead ] && break; sleep 0.1; done
  [ "$(state_of $i "$id5")" = dead ] || fail "n$i does not see n5 dead"
done
ok "all four survivors see it dead"

# stale gossip: a fake peer insists n5 is alive at its old incarnation
F=$(rand_addr)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=fake \
  -keyout "$TMP/fk.pem" -out "$TMP/fc.pem" >/dev/null 2>&1
inc5=$(ucurl "$(addr 1)" "/api/nodes/$id5" -H "Authorization: Bearer $TOK"; echo "$BODY" | jget 'd["incarnation"]')
fake_id=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee
cat > "$TMP/answer.json" <<JSON
{"status":200,"body":{"node_id":"$fake_id","node_fqdn":"fake.test","node_ip":"$F","port":8443,"incarnation":1,
 "peers":[{"id":"$id5","fqdn":"n5.test","ip":"$(addr 5)","port":8443,"state":"alive","incarnation":$inc5,"age_s":0}]}}
JSON
python3 "$(dirname "$0")/fake_node.py" "$F" 8443 "$TMP/fc.pem" "$TMP/fk.pem" "$TMP/answer.json" &
PIDS+=($!)
for tick in $(seq 1 50); do curl -sk -o /dev/null "https://$F:8443/nodeinfo" && break; sleep 0.1; done
# the fake announces itself to n1 (push), so n1 polls it from now on
ucurl "$(addr 1)" /nodeinfo -H "X-Mw-Id: $fake_id" -H "X-Mw-Fqdn: fake.test" -H "X-Mw-Ip: $F" -H "X-Mw-Port: 8443" -H "X-Mw-Incarnation: 1"
expect_status 200 "a caller announcing itself"
sleep 3
ucurl "$(addr 1)" "/api/nodes/$fake_id" -H "Authorization: Bearer $TOK"
echo "$BODY" | jget 'd["poll"]["polls_1h"] >= 2 and d["state"] == "alive"' | grep -q True || fail "n1 does not poll the fake: $BODY"
[ "$(state_of 1 "$id5")" = dead ] || fail "stale gossip resurrected n5"
ok "stale second-hand gossip (same incarnation) does not resurrect a dead node"

# restart n5 with its data: a new incarnation, alive again by itself
start_mesh_node 5
back=0
for tick in $(seq 1 100); do
  [ "$(state_of 1 "$id5")" = alive ] && { back=1; break; }
  sleep 0.1
done
[ $back = 1 ] || fail "n5 not alive again 10 s after restart"
inc5b=$(ucurl "$(addr 1)" "/api/nodes/$id5" -H "Authorization: Bearer $TOK"; echo "$BODY" | jget 'd["incarnation"]')
[ "$inc5b" -gt "$inc5" ] || fail "restarted node kept incarnation $inc5b (was $inc5)"
ok "restarted node is alive again with a newer incarnation ($inc5 -> $inc5b)"
TOKS[5]=$(login "$(addr 5)")
ucurl "$(addr 5)" "/api/nodes/$id1" -H "Authorization: Bearer ${TOKS[5]}"
[ "$(echo "$BODY" | jget 'd["first_seen"]')" = "$fs_before" ] || fail "first_seen reset by the restart: $fs_before -> $(echo "$BODY" | jget 'd["first_seen"]')"
echo "$BODY" | jget "d['poll']['polls_24h'] >= $polls_before and d['pmtu']['value'] is not None" | grep -q True || fail "poll counts or PMTU lost across the restart: $BODY"
ucurl "$(addr 5)" "/api/nodes/$id1/pmtu" -H "Authorization: Bearer ${TOKS[5]}"
[ "$(echo "$BODY" | jget 'd["total"]')" = 1 ] || fail "a restart added a PMTU 'change' that was none: $BODY"
ok "a restarted node remembers its peers' first_seen, success counts and PMTU"

# history and PMTU endpoints
ucurl "$(addr 1)" "/api/nodes/$id2/history?step=1m" -H "Authorization: Bearer $TOK"
expect_status 200 "history"
echo "$BODY" | jget 'sum(i["polls"] for i in d["items"]) > 0 and d["step_s"] == 60' | grep -q True || fail "history: $BODY"
ucurl "$(addr 1)" "/api/nodes/$id2/history?step=0" -H "Authorization: Bearer $TOK"; expect_status 400 "history step=0"
ucurl "$(addr 1)" "/api/nodes/$id2/history?from=yesterday" -H "Authorization: Bearer $TOK"; expect_status 400 "history from=yesterday"
ucurl "$(addr 1)" "/api/nodes/$id2/history?step=1&from=0" -H "Authorization: Bearer $TOK"; expect_status 400 "history with too many points"
ucurl "$(addr 1)" "/api/nodes/$id2/pmtu" -H "Authorization: Bearer $TOK"
expect_status 200 "pmtu history"
echo "$BODY" | jget "d['items'][0]['value'] == $want" | grep -q True || fail "pmtu history: $BODY"
ucurl "$(addr 1)" "/api/nodes/00000000-0000-4000-8000-000000000000" -H "Authorization: Bearer $TOK"; expect_status 404 "unknown node id"
ucurl "$(addr 1)" "/api/nodes/not-a-node/history" -H "Authorization: Bearer $TOK"; expect_status 404 "malformed node id"
[[ "$BODY" == *'\"not-a-node\" is not a node id (a UUID)'* ]] || fail "malformed node id not named: $BODY"
ucurl "$(addr 1)" "/api/nodes?state=zombie" -H "Authorization: Bearer $TOK"; expect_status 400 "bad state filter"
ucurl "$(addr 1)" "/api/nodes" ; expect_status 401 "nodes without a session"

# live updates over the WebSocket: authenticated, same origin, one frame a second
WS="$(dirname "$0")/ws_client.py"
out=$(python3 "$WS" "$(addr 1)" 8443 "$TOK" read 2.5)
[[ "${out%%$'\n'*}" == *'"type":"hello"'* ]] || fail "no hello frame: $out"
frames=$(echo "$out" | grep -c '"type":"mesh"' || true)
[ "$frames" -ge 2 ] || fail "expected >= 2 mesh frames in 2.5 s, got $frames"
echo "$out" | grep '"type":"mesh"' | tail -1 | jget 'd["counts"]["alive"] >= 4 and len(d["items"]) == d["counts"]["total"]' | grep -q True || fail "mesh frame: $(echo "$out" | tail -1 | cut -c1-300)"
ok "WebSocket /ws sends a mesh frame a second ($frames in 2.5 s) with every peer"
out=$(python3 "$WS" "$(addr 1)" 8443 "" read 1)
grep -q refused <<<"$out" || fail "WebSocket without a session accepted: $out"
out=$(python3 "$WS" "$(addr 1)" 8443 "$TOK" read 1 "https://elsewhere.example")
grep -q refused <<<"$out" || fail "WebSocket from a foreign origin accepted: $out"
out=$(WS_SEND='{"subscribe":["nope"]}' python3 "$WS" "$(addr 1)" 8443 "$TOK" raw 1)
grep -q '"type":"error"' <<<"$out" || fail "unknown topic not reported: $out"
ok "WebSocket refuses no session and foreign origins, and reports unknown topics"

# First contacts are paced (first_contact_rate per minute), seeds excepted:
# a node seeded with two peers at a rate of 1 meets both seeds at once
# (they join it to the mesh), learns the others from their gossip, meets
# one of those (a burst of one) and defers its first polls of the rest
# instead of failing them.
X=$(addr 9)
echo "{\"nodes\":[{\"ip\":\"$(addr 1)\"},{\"ip\":\"$(addr 2)\"}]}" > "$TMP/seedx.json"
MESHWATCH_FIRST_CONTACT_RATE=1 MESHWATCH_FIRST_CONTACT_GROWTH=0 start_node nx "$X" --seed "$TMP/seedx.json"
TOKX=$(login "$X")
sleep 3
ucurl "$X" /metrics -H "Authorization: Bearer $TOKX"
deferred=$(awk '/^meshwatch_first_contacts_deferred_total / {print $2}' <<<"$BODY")
[ "${deferred:-0}" -ge 3 ] || fail "first contacts not deferred: $(grep first_contact <<<"$BODY")"
failed=$(awk '/^meshwatch_polls_total\{result="failed"\}/ {print $2}' <<<"$BODY")
[ "${failed:-0}" = 0 ] || fail "deferred first contacts counted as failed polls ($failed)"
ucurl "$X" /api/nodes -H "Authorization: Bearer $TOKX"
polled=$(jget '" ".join(sorted(p["ip"] for p in d["items"] if p["poll"]["polls_1h"] > 0))' <<<"$BODY")
# the seeds, and one peer named by gossip (the burst of one; seeds take no token)
[[ " $polled " == *" $(addr 1) "* && " $polled " == *" $(addr 2) "* && $(wc -w <<<"$polled") = 3 ]] ||
  fail "with a rate of 1/min, polled: '$polled' (want the two seeds and one more): $BODY"
jget 'd["total"] >= 4' <<<"$BODY" | grep -q True || fail "the peers it has not met are not known from gossip: $BODY"
ok "first_contact_rate=1: both seeds met at once, one more peer, the others known from gossip, their polls deferred ($deferred so far), none failed"
