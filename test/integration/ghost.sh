#!/usr/bin/env bash
# An address answers for one node. B stops and a new node C (new data
# directory, so a new id) starts on B's address: A's first poll of that
# address answered by C makes B dead at once (and C alive), although D, a
# third node, still reaches the address and would vouch for B if it were
# asked about the address rather than the node. Hearsay cannot do this: a
# caller claiming another id at a live peer's address kills nobody; A's own
# poll then shows who really answers there.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr) D=$(rand_addr) X=$(rand_addr)
# dead_after 30: B's refused polls before C is up must not make it dead by themselves
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=30 MESHWATCH_POLL_TIMEOUT_MS=1500
echo "{\"nodes\":[{\"fqdn\":\"b.test\",\"ip\":\"$X\"},{\"fqdn\":\"d.test\",\"ip\":\"$D\"}]}" > "$TMP/seed-a.json"
echo "{\"nodes\":[{\"fqdn\":\"b.test\",\"ip\":\"$X\"}]}" > "$TMP/seed-d.json"
start_node b "$X"
B_PID=$NODE_PID
start_node d "$D" --seed "$TMP/seed-d.json"
start_node a "$A" --seed "$TMP/seed-a.json"
TOK_A=$(login "$A") TOK_D=$(login "$D")
ucurl "$X" /health; B_ID=$(echo "$BODY" | jget 'd["node_id"]')

# state_of NODE TOKEN ID -> the state NODE gives ID ("none" when unknown)
state_of() {
  ucurl "$1" "/api/nodes/$3" -H "Authorization: Bearer $2"
  if [ "$HTTP_STATUS" = 200 ]; then echo "$BODY" | jget 'd["state"]'; else echo none; fi
}
for t in $(seq 1 100); do
  [ "$(state_of "$A" "$TOK_A" "$B_ID")" = alive ] && [ "$(state_of "$D" "$TOK_D" "$B_ID")" = alive ] && break
  sleep 0.1
done
[ "$(state_of "$A" "$TOK_A" "$B_ID")" = alive ] || fail "A did not learn B"
[ "$(state_of "$D" "$TOK_D" "$B_ID")" = alive ] || fail "D did not learn B"
ok "A and D see B ($B_ID) alive at $X"

# hearsay: a caller claims to be another node at B's address
ghost=abcdefab-0000-4000-8000-00000000dead
ucurl "$A" /nodeinfo -H "X-Mw-Id: $ghost" -H "X-Mw-Fqdn: ghost.test" -H "X-Mw-Ip: $X" -H "X-Mw-Port: 8443" -H "X-Mw-Incarnation: 1"
expect_status 200 "a caller claims another id at B's address"
# (the claim comes from another address than X: quarantined until A's own
# poll of X, which finds B there and drops the claimed id)
for t in $(seq 1 40); do case "$(state_of "$A" "$TOK_A" "$ghost")" in dead|none) break ;; esac; sleep 0.1; done
[ "$(state_of "$A" "$TOK_A" "$B_ID")" = alive ] || fail "hearsay about B's address hurt B: $(state_of "$A" "$TOK_A" "$B_ID")"
case "$(state_of "$A" "$TOK_A" "$ghost")" in dead|none) ;; *)
  fail "the claimed id is not dead or dropped after A's own poll of $X: $(state_of "$A" "$TOK_A" "$ghost")" ;; esac
grep -q "peer $ghost (ghost.test) is gone: its address $X:8443 now belongs to node $B_ID" "$TMP/a.log" ||
  fail "A did not log whose address it is"
ok "hearsay kills nobody: B stays alive; A's own poll of $X finds B there and the claimed id dead (dropped from quarantine)"

stop_node "$B_PID"
start_node c "$X"
ucurl "$X" /health; C_ID=$(echo "$BODY" | jget 'd["node_id"]')
[ "$C_ID" != "$B_ID" ] || fail "C has B's id"
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ]; do
  sc=$(state_of "$A" "$TOK_A" "$C_ID")
  sb=$(state_of "$A" "$TOK_A" "$B_ID")
  [ "$sb" = dead ] && [ "$sc" = alive ] && break
  sleep 0.1
done
[ "$sb" = dead ] || fail "A keeps B $sb although $X answers as C"
[ "$sc" = alive ] || fail "A does not show C alive: $sc"
# A's own times: when it first heard of C, when B became dead
ucurl "$A" "/api/nodes/$C_ID" -H "Authorization: Bearer $TOK_A"; c_first=$(echo "$BODY" | jget 'd["first_seen"]')
ucurl "$A" "/api/nodes/$B_ID" -H "Authorization: Bearer $TOK_A"; b_dead=$(echo "$BODY" | jget 'd["state_since"]')
lag=$(python3 -c "
import datetime
t = lambda s: datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%SZ').timestamp()
print(int(t('$b_dead') - t('$c_first')))")
echo "# A: B $sb since $b_dead, C $sc, first seen $c_first"
# one poll interval, plus the poll itself and the clock's whole seconds
[ "$lag" -le 3 ] || fail "B died ${lag} s after A first heard of C at its address (poll interval 1 s)"
grep -q "peer $B_ID (b.test) is gone: its address $X:8443 now belongs to node $C_ID" "$TMP/a.log" ||
  fail "A did not log that the address belongs to C now"
ok "a new node on B's address: A shows B dead (${lag} s after it first heard of C) and C alive, and logs why"
for t in $(seq 1 30); do [ "$(state_of "$D" "$TOK_D" "$B_ID")" = dead ] && break; sleep 0.1; done
[ "$(state_of "$D" "$TOK_D" "$B_ID")" = dead ] || fail "D keeps B $(state_of "$D" "$TOK_D" "$B_ID")"
ok "D, which reaches the address too, shows B dead as well"
