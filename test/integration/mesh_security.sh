#!/usr/bin/env bash
# The mesh under a shared secret, and peers that lie or break: unsigned,
# forged, stale and replayed requests get 401 and change nothing; a node
# with the wrong secret cannot join; malformed, huge and lying /nodeinfo
# answers are rejected or bounded without a crash or a polluted peer table.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")
base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
export MESHWATCH_POLL_INTERVAL=1

# --- a signed mesh of three
for i in 1 2 3; do
  n=$(( i % 3 + 1 ))
  echo "{\"nodes\":[{\"fqdn\":\"n$n.test\",\"ip\":\"$(addr $n)\"}]}" > "$TMP/seed$i.json"
  MESH_SECRET=correct-horse start_node "n$i" "$(addr $i)" --seed "$TMP/seed$i.json"
done
grep -q "MESH_SECRET is not set" "$TMP/n1.log" && fail "warned about a missing secret although it is set"
known() { ucurl "$(addr $1)" /health; echo "$BODY" | jget 'd["known_nodes"]'; }
for t in $(seq 1 100); do [ "$(known 1)" = 2 ] && [ "$(known 2)" = 2 ] && [ "$(known 3)" = 2 ] && break; sleep 0.2; done
[ "$(known 1)" = 2 ] || fail "signed mesh did not converge"
ok "three nodes sharing MESH_SECRET converge"

# unsigned
ucurl "$(addr 1)" /nodeinfo
expect_status 401 "unsigned /nodeinfo"
echo "$BODY" | jget 'd["error"]' | grep -q bad_signature || fail "401 body: $BODY"
ucurl "$(addr 1)" /nodeinfo -H "X-Mw-Id: 11111111-2222-4333-8444-555555555555" -H "X-Mw-Fqdn: intruder.test" \
  -H "X-Mw-Ip: 127.1.2.3" -H "X-Mw-Port: 8443" -H "X-Mw-Incarnation: 1"
expect_status 401 "unsigned caller with an identity"
[ "$(known 1)" = 2 ] || fail "an unsigned caller changed the peer table"
# forged (wrong secret), stale, replayed; signatures name n1 as their destination
MW_DEST=$(ucurl "$(addr 1)" /health; echo "$BODY" | jget 'd["node_id"]'); export MW_DEST
hdrs() { local -n out=$1; shift; out=(); while IFS= read -r l; do out+=(-H "$l"); done < <(python3 "$HERE/mesh_sign.py" "$@"); }
hdrs H wrong-secret 0 11111111-2222-4333-8444-555555555555 intruder.test 127.1.2.3 8443 1
ucurl "$(addr 1)" /nodeinfo "${H[@]}"; expect_status 401 "forged signature"
hdrs H correct-horse -120
ucurl "$(addr 1)" /nodeinfo "${H[@]}"; expect_status 401 "stale timestamp"
grep -q stale <<<"$BODY" || fail "stale detail: $BODY"
hdrs H correct-horse 0 11111111-2222-4333-8444-555555555555 friend.test 127.1.2.3 8443 1
ucurl "$(addr 1)" /nodeinfo "${H[@]}"; expect_status 200 "a correctly signed caller"
ucurl "$(addr 1)" /nodeinfo "${H[@]}"; expect_status 401 "replayed request"
grep -q replay <<<"$BODY" || fail "replay detail: $BODY"
# tampering with a signed identity
H2=("${H[@]}"); for k in "${!H2[@]}"; do [[ "${H2[$k]}" == X-Mw-Ip:* ]] && H2[$k]="X-Mw-Ip: 127.9.9.9"; done
ucurl "$(addr 1)" /nodeinfo "${H2[@]}"; expect_status 401 "altered identity under a valid signature"
[ "$(known 1)" = 3 ] || fail "peer table: expected the 2 nodes + the signed caller, got $(known 1)"
ok "only the correctly signed caller was added"

unset MW_DEST
# a node with the wrong secret cannot join
echo "{\"nodes\":[{\"fqdn\":\"n1.test\",\"ip\":\"$(addr 1)\"}]}" > "$TMP/seed9.json"
MESH_SECRET=wrong start_node n9 "$(addr 9)" --seed "$TMP/seed9.json"
sleep 3
id9=$(cat "$TMP/n9/data/node_id")
TOK=$(login "$(addr 1)")
ucurl "$(addr 1)" /api/nodes -H "Authorization: Bearer $TOK"
grep -q "$id9" <<<"$BODY" && fail "the node with the wrong secret joined n1's table"
[ "$(known 9)" = 0 ] || fail "the wrong-secret node learned peers: $(known 9)"
T9=$(login "$(addr 9)")
ucurl "$(addr 9)" /api/nodes -H "Authorization: Bearer $T9"
echo "$BODY" | jget 'd["pending_seeds"][0]["last_error"]' | grep -Eq "auth|http" || fail "n9's seed error: $BODY"
grep -q "refused" "$TMP/n1.log" || fail "n1 did not log the refused requests"
ok "a node with the wrong secret is refused (n9 sees: $(echo "$BODY" | jget 'd["pending_seeds"][0]["last_error"]'))"

# --- bad answers from a fake peer (an open mesh, small limits)
L=$(rand_addr)
# quarantine_tries 100: the fake, quarantined until it answers well, must survive its bad answers
MESHWATCH_MAX_PEERS=50 MESHWATCH_MAX_NODEINFO_BYTES=65536 MESHWATCH_QUARANTINE_TRIES=100 start_node lone "$L"
LT=$(login "$L")
lone_id=$(ucurl "$L" /health; echo "$BODY" | jget 'd["node_id"]')
F=$(rand_addr)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=fake \
  -keyout "$TMP/fk.pem" -out "$TMP/fc.pem" >/dev/null 2>&1
fake_id=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee
answer() { printf '%s' "$1" > "$TMP/answer.json"; }
good_body() { echo "{\"node_id\":\"$fake_id\",\"node_fqdn\":\"fake.test\",\"node_ip\":\"$F\",\"port\":8443,\"incarnation\":1,\"peers\":[$1]}"; }
answer "{\"status\":200,\"body\":$(good_body '')}"
python3 "$HERE/fake_node.py" "$F" 8443 "$TMP/fc.pem" "$TMP/fk.pem" "$TMP/answer.json" &
PIDS+=($!)
for t in $(seq 1 50); do curl -sk -o /dev/null "https://$F:8443/nodeinfo" && break; sleep 0.1; done
ucurl "$L" /nodeinfo -H "X-Mw-Id: $fake_id" -H "X-Mw-Fqdn: fake.test" -H "X-Mw-Ip: $F" -H "X-Mw-Port: 8443" -H "X-Mw-Incarnation: 1"
expect_status 200 "the fake peer announces itself"
fake_err() {  # waits for the next poll of the fake and prints its last_error
  sleep 2.5
  ucurl "$L" "/api/nodes/$fake_id" -H "Authorization: Bearer $LT"
  echo "$BODY" | jget 'd["poll"]["last_error"]'
}
answer '{"status":200,"raw":"{\"node_id\": [1,2"}'
e=$(fake_err); grep -q "bad_body" <<<"$e" || fail "malformed JSON: $e"
ok "malformed answer: poll fails as bad_body ($e)"
answer '{"status":200,"huge":1000000}'
e=$(fake_err); grep -q "larger than 65536" <<<"$e" || fail "huge answer: $e"
ok "huge answer: refused at max_nodeinfo_bytes ($e)"
answer "{\"status\":200,\"body\":{\"node_id\":\"$lone_id\",\"node_ip\":\"$F\",\"port\":8443,\"incarnation\":1,\"peers\":[]}}"
e=$(fake_err); grep -q "self" <<<"$e" || fail "answer claiming to be the caller: $e"
ok "an answer claiming to be the caller is refused ($e)"
answer '{"status":503,"body":{"error":"x"}}'
e=$(fake_err); grep -q "HTTP 503" <<<"$e" || fail "HTTP status: $e"
bad='{"id":"not-a-uuid","fqdn":"x.test","ip":"127.5.5.5","port":8443,"state":"alive","incarnation":1},
 {"id":"bbbbbbbb-0000-4000-8000-000000000001","fqdn":"x.test","ip":"999.1.1.1","port":8443,"state":"alive","incarnation":1},
 {"id":"bbbbbbbb-0000-4000-8000-000000000002","fqdn":"x.test","ip":"0.0.0.0","port":8443,"state":"alive","incarnation":1},
 {"id":"bbbbbbbb-0000-4000-8000-000000000003","fqdn":"x.test","ip":"127.5.5.5","port":0,"state":"alive","incarnation":1},
 {"id":"bbbbbbbb-0000-4000-8000-000000000004","fqdn":"x.test","ip":"127.5.5.5","port":70000,"state":"alive","incarnation":1},
 {"id":"bbbbbbbb-0000-4000-8000-000000000005","fqdn":"bad name!","ip":"127.5.5.5","port":8443,"state":"alive","incarnation":1},
 {"id":"bbbbbbbb-0000-4000-8000-000000000006","fqdn":"x.test","ip":"127.5.5.5","port":8443,"state":"zombie","incarnation":1},
 {"id":"bbbbbbbb-0000-4000-8000-000000000007","fqdn":"x.test","ip":"127.5.5.5","port":8443,"state":"alive","incarnation":-1},
 {"id":"cccccccc-0000-4000-8000-000000000001","fqdn":"good.test","ip":"127.5.5.6","port":8443,"state":"alive","incarnation":1}'
answer "{\"status\":200,\"body\":$(good_body "$bad")}"
sleep 2.5
ucurl "$L" /api/nodes -H "Authorization: Bearer $LT"
echo "$BODY" | jget '[p["id"] for p in d["items"]]' > "$TMP/ids"
grep -q bbbbbbbb "$TMP/ids" && fail "an invalid gossip entry entered the table: $(cat "$TMP/ids")"
# (learned into quarantine; nothing answers at its address, so it may be dropped already)
grep -q cccccccc "$TMP/ids" || grep -q "quarantined peer cccccccc-0000-4000-8000-000000000001" "$TMP/lone.log" ||
  fail "the valid entry next to invalid ones was not learned: $(cat "$TMP/ids")"
grep -q "sent 8 invalid or surplus peer entries" "$TMP/lone.log" || fail "dropped entries not logged"
ok "invalid gossip entries (bad id, ip, port, name, state, incarnation) dropped; the valid one kept"
many=$(python3 -c "
import json
print(','.join(json.dumps({'id':'dddddddd-0000-4000-8000-%012d' % i,'fqdn':'m%d.test' % i,'ip':'127.6.%d.%d' % (i // 250, i % 250 + 1),'port':8443,'state':'alive','incarnation':1}) for i in range(400)))")
answer "{\"status\":200,\"body\":$(good_body "$many")}"
sleep 3
ucurl "$L" /api/nodes -H "Authorization: Bearer $LT"
tot=$(echo "$BODY" | jget 'd["total"]')
[ "$tot" -le 50 ] || fail "peer table grew past max_peers=50: $tot"
grep -q "peer table full (max_peers 50)" "$TMP/lone.log" || fail "a full table is not logged"
ucurl "$L" /health; expect_status 200 "node healthy after 400 gossiped peers"
ok "400 gossiped peers: the table stops at max_peers (50) and says so"
