#!/usr/bin/env bash
# An outsider against a default node (no MESH_SECRET), on loopback:
# 1. scanning through the node: /nodeinfo X-Mw-* headers registering other
#    addresses and ports, then /nodeinfo/reach probing them. A claimed
#    address the caller does not connect from is quarantined (not alive,
#    not gossiped); reach answers alive members only, never about
#    quarantined entries, says reached or not and nothing more (no times,
#    no error text: no port states), and is paced (429).
# 2. poisoning the peer table: a fake peer (hostile_peer.py, HTTPS with a
#    self-signed certificate) answers /nodeinfo with thousands of fake
#    peers and a real node's id at a new address. The fakes stay in a
#    bounded quarantine, are not gossiped to a second real node, are
#    contacted at the paced first-contact rate (which grows with the members
#    reached, not with the fakes) and dropped after failed
#    polls; the source is cut off and that is logged; the real node's
#    address does not move.
# 3. every X-Mw-* number header is range-checked: 400 naming the header.
. "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || skip "openssl not installed"
# reach_per_min 6 (a burst of 6): the pacing shows however slow this machine is
export MESHWATCH_POLL_INTERVAL=2 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=3 MESHWATCH_REACH_PER_MIN=6
# one failed poll drops a quarantined fake, so the drop shows within the test's window
export MESHWATCH_QUARANTINE_TRIES=1
A=$(rand_addr); B=$(rand_addr); F=$(rand_addr); SINK=$(rand_addr)
NFAKES=3000

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=hostile.test -days 1 \
  -keyout "$TMP/f.key" -out "$TMP/f.crt" 2>/dev/null || fail "openssl could not make a certificate"

echo "{\"nodes\":[{\"ip\":\"$A\"}]}" > "$TMP/seed_b.json"
start_node b "$B" --seed "$TMP/seed_b.json"
ucurl "$B" /health
B_ID=$(jget 'd["node_id"]' <<<"$BODY")
F_ID=f00d0000-0000-4000-8000-00000000f00d
python3 "$(dirname "$0")/../hostile_peer.py" "$F" 8443 "$TMP/f.crt" "$TMP/f.key" "$F_ID" "$NFAKES" "$SINK" "$B_ID" \
  "$TMP/victim" >"$TMP/hostile.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do grep -q listening "$TMP/hostile.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$TMP/hostile.log" || fail "the hostile peer did not start: $(cat "$TMP/hostile.log")"
echo "{\"nodes\":[{\"ip\":\"$B\"},{\"ip\":\"$F\"}]}" > "$TMP/seed_a.json"
start_node a "$A" --seed "$TMP/seed_a.json"
ucurl "$A" /health
A_ID=$(jget 'd["node_id"]' <<<"$BODY")
echo "$A_ID" > "$TMP/victim"   # only A gets the poison: what B learns of it came by gossip
TOKA=$(login "$A"); TOKB=$(login "$B")

# --- 3. header ranges --------------------------------------------------------
hdr_bad() {  # hdr_bad HEADER VALUE: /nodeinfo with a caller identity where HEADER is VALUE
  local h=$1 v=$2 id port=8443 inc=1
  id=$(python3 -c 'import uuid; print(uuid.uuid4())')
  case "$h" in X-Mw-Port) port=$v ;; X-Mw-Incarnation) inc=$v ;; esac
  local extra=()
  case "$h" in X-Mw-Port|X-Mw-Incarnation) ;; *) extra=(-H "$h: $v") ;; esac
  ucurl "$A" /nodeinfo -H "X-Mw-Id: $id" -H "X-Mw-Fqdn: x.test" -H "X-Mw-Ip: 127.0.0.1" -H "X-Mw-Port: $port" \
    -H "X-Mw-Incarnation: $inc" "${extra[@]}"
  [ "$HTTP_STATUS" = 400 ] || fail "$h: $v answered $HTTP_STATUS, not 400: ${BODY:0:300}"
  jget 'd["error"] == "invalid_header" and "'"$h"'" in d["detail"]' <<<"$BODY" | grep -q True ||
    fail "$h: $v: the error does not name the header: $BODY"
}
for v in -1 18446744073709551615 1000000000000001 1e3 +5 0x10; do hdr_bad X-Mw-Incarnation "$v"; done
for v in 0 65536 -1 8443abc 99999999999999999999999; do hdr_bad X-Mw-Port "$v"; done
hdr_bad X-Mw-Peers-Since zz.-1
hdr_bad X-Mw-Peers-Since "0000000a.99999999999999999999999"
hdr_bad X-Mw-View-Digest xyz
hdr_bad X-Mw-Peers-Digest 0123456789ABCDEF
ok "X-Mw-Incarnation, X-Mw-Port, X-Mw-Peers-Since and the digests out of range: 400 invalid_header naming the header"
ucurl "$A" /nodeinfo -H "X-Mw-Id: $(python3 -c 'import uuid; print(uuid.uuid4())')" -H "X-Mw-Fqdn: x.test" \
  -H "X-Mw-Ip: 127.0.0.1" -H "X-Mw-Port: 8443" -H "X-Mw-Incarnation: 1000000000000"
[ "$HTTP_STATUS" = 200 ] || fail "the largest incarnation allowed was refused: $HTTP_STATUS $BODY"
ok "the bound itself (incarnation 1000000000000) is accepted"

# --- 1. scanning through the node -------------------------------------------
# registrations of other addresses and ports (not the caller's own: curl
# connects from 127.0.0.1)
SCAN_IDS=()
for port in 22 25 80 443 3306; do
  id=$(python3 -c 'import uuid; print(uuid.uuid4())')
  SCAN_IDS+=("$id")
  ucurl "$A" /nodeinfo -H "X-Mw-Id: $id" -H "X-Mw-Fqdn: scan.test" -H "X-Mw-Ip: $SINK" -H "X-Mw-Port: $port" \
    -H "X-Mw-Incarnation: 1"
  [ "$HTTP_STATUS" = 200 ] || fail "/nodeinfo with a caller identity: $HTTP_STATUS $BODY"
done
ucurl "$A" "/api/nodes?limit=5000" -H "Authorization: Bearer $TOKA"
for id in "${SCAN_IDS[@]}"; do
  st=$(jget '[(p["state"], p["quarantined"]) for p in d["items"] if p["id"] == "'"$id"'"]' <<<"$BODY")
  [ "$st" = "[('unknown', True)]" ] || [ "$st" = "[]" ] || fail "registered $SINK as $id: $st, not quarantined"
done
ok "a caller claiming an address it does not connect from is quarantined (unknown, quarantined: true), not alive"
ucurl "$A" /nodeinfo
jget 'any(p["ip"] == "'"$SINK"'" for p in d["peers"])' <<<"$BODY" | grep -q False ||
  fail "quarantined registrations are gossiped: $BODY"
ok "quarantined registrations are not in /nodeinfo's peer list"

ucurl "$A" "/nodeinfo/reach?id=${SCAN_IDS[0]}"
[ "$HTTP_STATUS" = 403 ] || fail "reach from a non-member (no X-Mw-Id): $HTTP_STATUS $BODY"
ucurl "$A" "/nodeinfo/reach?id=${SCAN_IDS[0]}" -H "X-Mw-Id: ${SCAN_IDS[1]}"
[ "$HTTP_STATUS" = 403 ] || fail "reach in the name of a quarantined registration: $HTTP_STATUS $BODY"
ok "/nodeinfo/reach refuses non-members: 403 without X-Mw-Id and in a quarantined entry's name"
# wait until A has met B (alive)
for _ in $(seq 50); do
  ucurl "$A" "/api/nodes/$B_ID" -H "Authorization: Bearer $TOKA"
  [ "$HTTP_STATUS" = 200 ] && [ "$(jget 'd["state"]' <<<"$BODY")" = alive ] && break
  sleep 0.2
done
# On one host every loopback address stands for every other (the kernel
# sends from 127.0.0.1), so an alive member's id from loopback is a member.
ucurl "$A" "/nodeinfo/reach?id=${SCAN_IDS[0]}" -H "X-Mw-Id: $B_ID"
[ "$HTTP_STATUS" = 404 ] || fail "reach of a quarantined registration: $HTTP_STATUS $BODY (want 404: never contacted on request)"
ucurl "$A" "/nodeinfo/reach?id=$B_ID" -H "X-Mw-Id: $B_ID"
[ "$HTTP_STATUS" = 200 ] || fail "reach of B by a member: $HTTP_STATUS $BODY"
jget 'sorted(d.keys()) == ["id", "reached"] and d["reached"] is True' <<<"$BODY" | grep -q True ||
  fail "reach tells more than reached / not reached: $BODY"
ok "reach: 404 for quarantined entries (no connect on request), and only {id, reached} for members"
n200=0; n429=0
for _ in $(seq 20); do
  ucurl "$A" "/nodeinfo/reach?id=$B_ID" -H "X-Mw-Id: $B_ID"
  case "$HTTP_STATUS" in 200) n200=$((n200 + 1)) ;; 429) n429=$((n429 + 1)) ;; *) fail "reach: $HTTP_STATUS $BODY" ;; esac
done
[ "$n429" -ge 5 ] && [ "$n200" -le 10 ] || fail "reach not paced: $n200 answered, $n429 refused of 20 at once"
ok "reach is paced: of 20 at once $n200 answered, $n429 got 429"

# --- 2. poisoning the peer table --------------------------------------------
# the fake is polled at the paced first-contact rate: allow a slow machine a minute
for _ in $(seq 300); do grep -q "cut off" "$TMP/a.log" && break; sleep 0.2; done
grep -q "peer $F_ID .* cut off" "$TMP/a.log" || fail "the hostile source was not cut off: $(grep -c "from $A_ID" "$TMP/hostile.log") polls of it by A"
ok "the source of $NFAKES new peers is cut off and logged: $(grep -m1 'cut off' "$TMP/a.log" | cut -c1-220)"
# watch A for 20 s: which fakes it contacts, the quarantine's size
python3 - "$A" "$TOKA" 20 >"$TMP/watch.txt" 2>&1 <<'PY' || fail "watching A failed: $(tail -5 "$TMP/watch.txt")"
import json, ssl, sys, time, urllib.request
addr, tok, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
ctx = ssl._create_unverified_context()
polled, maxq, maxa, end = set(), 0, 0, time.time() + secs
while time.time() < end:
    req = urllib.request.Request("https://%s:8443/api/nodes?limit=5000" % addr, headers={"Authorization": "Bearer " + tok})
    d = json.load(urllib.request.urlopen(req, context=ctx, timeout=10))
    fakes = [p for p in d["items"] if p["id"].startswith("fa4e0000-")]
    maxq = max(maxq, d["counts"]["quarantined"])
    maxa = max(maxa, d["counts"]["alive"])
    for p in fakes:
        assert p["quarantined"] and p["state"] == "unknown", p
        if p["poll"]["last_poll"] is not None:
            polled.add(p["id"])
    time.sleep(0.5)
print(len(polled), maxq, maxa)
PY
read -r contacted maxq alive_max <"$TMP/watch.txt"
# a fake whose one poll failed is dropped (quarantine_tries 1): contacted too
ucurl "$A" /metrics -H "Authorization: Bearer $TOKA"
contacted=$((contacted + $(awk '/^meshwatch_quarantine_total\{event="dropped"\}/ {print $2}' <<<"$BODY")))
# since the fakes arrived: the first cut-off (the same answer brought them)
cut_at=$(grep -m1 "peer $F_ID .* cut off" "$TMP/a.log" | cut -c1-19)
elapsed=$(( $(date -u +%s) - $(date -u -d "${cut_at/T/ }" +%s) + 1 ))
# first_contact_rate (30 a minute) or, when more (first_contact_growth), one
# per member reached (alive) plus one per 2 s interval: the real members
# and the fake itself, never the fakes it names (quarantined, not alive)
# (the most A showed alive while watched, or now, plus one: the fake may
# have been alive before the watch began)
ucurl "$A" "/api/nodes?limit=5000" -H "Authorization: Bearer $TOKA"
alive=$(jget 'd["counts"]["alive"]' <<<"$BODY")
[ "${alive_max:-0}" -gt "$alive" ] && alive=$alive_max
alive=$((alive + 1))
rate=$(( (alive + 1) * 30 )); [ "$rate" -ge 30 ] || rate=30
limit=$(( 10 + rate * elapsed / 60 + 3 ))
[ "$maxq" -le 256 ] || fail "quarantine above max_quarantined: $maxq"
[ "$contacted" -ge 1 ] || fail "quarantined peers are never polled (they could never leave quarantine)"
[ "$contacted" -le "$limit" ] || fail "$contacted fakes contacted in ${elapsed}s: more than the paced $limit ($alive members alive at A)"
ok "quarantine holds at most $maxq of $NFAKES fakes; $contacted contacted in ${elapsed}s (paced bound $limit: $rate a minute with $alive members alive)"
ucurl "$A" /metrics -H "Authorization: Bearer $TOKA"
dropped=$(awk '/^meshwatch_quarantine_total\{event="dropped"\}/ {print $2}' <<<"$BODY")
cut=$(awk '/^meshwatch_quarantine_total\{event="source_cut"\}/ {print $2}' <<<"$BODY")
q=$(awk '/^meshwatch_peers_quarantined / {print $2}' <<<"$BODY")
[ "${dropped:-0}" -ge 1 ] && [ "${cut:-0}" -ge 1 ] && [ -n "$q" ] ||
  fail "metrics: dropped=$dropped source_cut=$cut quarantined=$q"
ok "/metrics: $q quarantined, $dropped dropped after failed polls, $cut source cut off"
ucurl "$A" "/api/nodes/$B_ID" -H "Authorization: Bearer $TOKA"
[ "$(jget '"%s:%s" % (d["ip"], d["port"])' <<<"$BODY")" = "$B:8443" ] ||
  fail "the real node's address moved on hearsay: $BODY"
ok "B's address at A is still $B:8443 after the fake named B at $F:1"
ucurl "$B" "/api/nodes?limit=5000" -H "Authorization: Bearer $TOKB"
nf=$(jget 'sum(1 for p in d["items"] if p["id"].startswith("fa4e0000-"))' <<<"$BODY")
na=$(jget 'sum(1 for p in d["items"] if p["id"] == "'"$A_ID"'" and p["state"] == "alive")' <<<"$BODY")
[ "$na" = 1 ] || fail "B does not see A alive: $BODY"
[ "$nf" = 0 ] || fail "$nf fakes reached B by gossip"
ok "B, polling A all along, knows none of the fakes"
ucurl "$A" /nodeinfo
jget 'sum(1 for p in d["peers"] if p["id"].startswith("fa4e0000-"))' <<<"$BODY" | grep -qx 0 || fail "A gossips fakes: $BODY"
ok "A's /nodeinfo names no fake"
