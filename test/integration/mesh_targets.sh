#!/usr/bin/env bash
# Targets checked from many vantage points: a target marked "mesh" on one
# node of a signed four-node mesh is checked by every node that accepts it
# (copies with an origin, which only the origin may change); the origin's
# target shows each vantage point's state and latency side by side and
# their agreement ("up at 3 of 3"); a node with mesh_targets=0 and one at
# its mesh_targets_max say "declined"; a listener that goes away turns
# every vantage point down; a vantage list narrows who checks it; a
# deleted target leaves no copy. Validation and limits: no mesh secret
# (409), unknown vantage node, vantage without mesh, too short an
# interval (400), the 64 mesh targets of one node (409).
. "$(dirname "$0")/lib.sh"
base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
L="$base.50"
export MESHWATCH_POLL_INTERVAL=1

python3 "$(dirname "$0")/tcp_listeners.py" "$L" 2 >"$TMP/ports" 2>"$TMP/listeners.log" &
LISTENER=$!
PIDS+=("$LISTENER")
for _ in $(seq 50); do [ -s "$TMP/ports" ] && break; sleep 0.1; done
read -r _ OPEN OPEN2 <"$TMP/ports"
[ -n "$OPEN2" ] || fail "listeners did not start: $(cat "$TMP/ports" "$TMP/listeners.log")"

# --- a signed mesh of four: n3 takes at most one copy, n4 takes none
for i in 1 2 3 4; do
  n=$((i % 4 + 1))
  echo "{\"nodes\":[{\"fqdn\":\"n$n.test\",\"ip\":\"$(addr $n)\"}]}" >"$TMP/seed$i.json"
done
MESH_SECRET=s3cret start_node n1 "$(addr 1)" --seed "$TMP/seed1.json"
MESH_SECRET=s3cret start_node n2 "$(addr 2)" --seed "$TMP/seed2.json"
MESH_SECRET=s3cret MESHWATCH_MESH_TARGETS_MAX=1 start_node n3 "$(addr 3)" --seed "$TMP/seed3.json"
MESH_SECRET=s3cret MESHWATCH_MESH_TARGETS=0 start_node n4 "$(addr 4)" --seed "$TMP/seed4.json"
known() { ucurl "$(addr $1)" /health; echo "$BODY" | jget 'd["known_nodes"]'; }
for _ in $(seq 150); do
  [ "$(known 1)" = 3 ] && [ "$(known 2)" = 3 ] && [ "$(known 3)" = 3 ] && [ "$(known 4)" = 3 ] && break
  sleep 0.2
done
[ "$(known 1)" = 3 ] && [ "$(known 4)" = 3 ] || fail "the signed mesh did not converge"
ok "four nodes sharing a mesh secret converge"
id_of() { ucurl "$(addr $1)" /health; echo "$BODY" | jget 'd["node_id"]'; }
ID1=$(id_of 1) ID2=$(id_of 2) ID3=$(id_of 3) ID4=$(id_of 4)
for i in 1 2 3 4; do eval "T$i=\$(login \"\$(addr $i)\")"; done
api() { # api N METHOD PATH [BODY]
  local n=$1 m=$2 p=$3 tok
  eval "tok=\$T$n"
  if [ $# -ge 4 ]; then
    ucurl "$(addr "$n")" "$p" -X "$m" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -d "$4"
  else
    ucurl "$(addr "$n")" "$p" -X "$m" -H "Authorization: Bearer $tok"
  fi
}

# --- validation
api 1 POST /api/targets "{\"name\":\"w\",\"host\":\"$L\",\"port\":$OPEN,\"interval_s\":5,\"mesh\":true}"
[ "$HTTP_STATUS" = 400 ] && grep -q interval_s <<<"$BODY" || fail "mesh interval 5 s: $HTTP_STATUS $BODY"
api 1 POST /api/targets "{\"name\":\"w\",\"host\":\"$L\",\"port\":$OPEN,\"vantage\":[\"n2.test\"]}"
[ "$HTTP_STATUS" = 400 ] && grep -q vantage <<<"$BODY" || fail "vantage without mesh: $HTTP_STATUS $BODY"
api 1 POST /api/targets "{\"name\":\"w\",\"host\":\"$L\",\"port\":$OPEN,\"mesh\":true,\"vantage\":[\"nobody.test\"]}"
[ "$HTTP_STATUS" = 400 ] && grep -q nobody.test <<<"$BODY" || fail "unknown vantage node: $HTTP_STATUS $BODY"
api 1 POST /api/targets "{\"name\":\"w\",\"host\":\"$L\",\"port\":$OPEN,\"mesh\":\"yes\"}"
[ "$HTTP_STATUS" = 400 ] || fail "mesh not a boolean: $HTTP_STATUS $BODY"
api 1 POST /api/targets "{\"name\":\"w\",\"host\":\"$L\",\"port\":$OPEN,\"mesh\":true,\"vantage\":[$(printf '"n2.test",%.0s' $(seq 16))\"n3.test\"]}"
[ "$HTTP_STATUS" = 400 ] || fail "17 vantage points: $HTTP_STATUS $BODY"
ok "mesh fields are validated (interval, vantage without mesh, unknown node, type, 16 at most)"

# --- a mesh target on n1
api 1 POST /api/targets "{\"name\":\"web\",\"host\":\"$L\",\"port\":$OPEN,\"interval_s\":10,\"timeout_s\":2,\"mesh\":true}"
[ "$HTTP_STATUS" = 201 ] || fail "create a mesh target: $HTTP_STATUS $BODY"
TID=$(echo "$BODY" | jget 'd["id"]')
[ "$(echo "$BODY" | jget 'd["mesh"]')" = True ] || fail "created target is not mesh: $BODY"
copy_on() { # copy_on N: the id of node N's copy of n1's target TID ("" when none)
  api "$1" GET "/api/targets?limit=100"
  echo "$BODY" | jget "next((str(t['id']) for t in d['items'] if t['origin'] and t['origin']['node_id']=='$ID1' and t['origin']['target_id']==$TID), '')"
}
for _ in $(seq 100); do [ -n "$(copy_on 2)" ] && [ -n "$(copy_on 3)" ] && break; sleep 0.2; done
C2=$(copy_on 2) C3=$(copy_on 3)
[ -n "$C2" ] && [ -n "$C3" ] || fail "n2/n3 hold no copy: n2 '$C2' n3 '$C3'"
[ -z "$(copy_on 4)" ] || fail "n4 (mesh_targets=0) holds a copy"
api 2 GET "/api/targets/$C2"
echo "$BODY" | jget 'd["origin"]["fqdn"]' | grep -qx n1.test || fail "copy's origin: $BODY"
[ "$(echo "$BODY" | jget 'd["mesh"]')" = False ] || fail "a copy is published again: $BODY"
ok "n2 and n3 check a copy of n1's mesh target (origin n1.test); n4 with mesh_targets=0 does not"

api 2 PATCH "/api/targets/$C2" '{"interval_s":60}'
[ "$HTTP_STATUS" = 409 ] && grep -q owned_by_origin <<<"$BODY" && grep -q n1.test <<<"$BODY" ||
  fail "PATCH a copy: $HTTP_STATUS $BODY"
api 2 DELETE "/api/targets/$C2"
[ "$HTTP_STATUS" = 409 ] || fail "DELETE a copy: $HTTP_STATUS $BODY"
ok "a copy changes only on its origin (409 owned_by_origin naming n1.test)"

# --- the origin sees every vantage point
view() { api 1 GET "/api/targets/$TID"; }
point() { # point NODE_ID FIELD
  echo "$BODY" | jget "next((str(p['$2']) for p in d['vantage_points'] if p['node_id']=='$1'), 'missing')"
}
# states: "ID=STATE ..." of every vantage point in BODY, in one step (the
# wait loops below run it often, under ASan on a busy machine too)
states() { echo "$BODY" | jget "' '.join(p['node_id']+'='+p['state'] for p in d.get('vantage_points', []))"; }
has() { # has ID STATE...: every ID=STATE pair is in the states of BODY
  local st; st=" $(states) "
  while [ $# -ge 2 ]; do [[ "$st" == *" $1=$2 "* ]] || return 1; shift 2; done
}
for _ in $(seq 150); do
  view
  has "$ID1" up "$ID2" up "$ID3" up "$ID4" declined && break
  sleep 0.2
done
for id in "$ID1" "$ID2" "$ID3"; do
  [ "$(point "$id" state)" = up ] || fail "vantage point $id not up: $BODY"
  python3 -c "import sys; v=float(sys.argv[1]); assert 0 <= v < 2000" "$(point "$id" connect_ms)" ||
    fail "vantage point $id latency: $BODY"
done
[ "$(point "$ID1" self)" = True ] || fail "n1 is not marked self: $BODY"
[ "$(point "$ID4" state)" = declined ] && point "$ID4" error | grep -q mesh_targets ||
  fail "n4 should say declined (mesh_targets off): $BODY"
[ "$(echo "$BODY" | jget 'd["agreement"]["summary"]')" = "up at 3 of 3" ] || fail "agreement: $BODY"
[ "$(echo "$BODY" | jget 'd["agreement"]["agree"]')" = True ] || fail "agree: $BODY"
[ "$(echo "$BODY" | jget 'd["agreement"]["expected"]')" = 4 ] || fail "expected vantage points: $BODY"
api 1 GET "/api/targets?limit=10"
echo "$BODY" | jget "[t for t in d['items'] if t['id']==$TID][0]['agreement']['summary']" | grep -qx "up at 3 of 3" ||
  fail "the list shows no agreement: $BODY"
api 1 GET /metrics
for r in up:3 declined:1 down:0; do
  grep -q "^meshwatch_target_vantage_points{target_id=\"$TID\",name=\"web\",result=\"${r%%:*}\"} ${r#*:}\$" <<<"$BODY" ||
    fail "metrics: no vantage_points ${r%%:*} = ${r#*:}: $(grep vantage_points <<<"$BODY")"
done
ok "n1 shows n1, n2, n3 up with their latency, n4 declined, \"up at 3 of 3\" (API and /metrics)"

# --- n3 is at its mesh_targets_max: a second mesh target is declined there
api 1 POST /api/targets "{\"name\":\"db\",\"host\":\"$L\",\"port\":$OPEN2,\"interval_s\":10,\"mesh\":true}"
[ "$HTTP_STATUS" = 201 ] || fail "second mesh target: $HTTP_STATUS $BODY"
TID2=$(echo "$BODY" | jget 'd["id"]')
for _ in $(seq 100); do
  api 1 GET "/api/targets/$TID2"
  has "$ID3" declined "$ID2" up && break
  sleep 0.2
done
[ "$(point "$ID3" state)" = declined ] && point "$ID3" error | grep -q mesh_targets_max ||
  fail "n3 should decline a second copy (mesh_targets_max=1): $BODY"
ok "n3 at mesh_targets_max declines the second mesh target and says why"

# --- the listener goes away: every vantage point sees it down
kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null || true
for _ in $(seq 200); do
  view
  has "$ID1" refused "$ID2" refused "$ID3" refused && break
  sleep 0.2
done
[ "$(point "$ID2" state)" = refused ] && [ "$(point "$ID3" state)" = refused ] || fail "vantage points after the listener went: $BODY"
[ "$(echo "$BODY" | jget 'd["agreement"]["summary"]')" = "up at 0 of 3" ] || fail "agreement when down: $BODY"
ok "with the listener gone all three say refused: \"up at 0 of 3\""

# --- a vantage list narrows who checks it
api 1 PATCH "/api/targets/$TID" '{"vantage":["n2.test"]}'
[ "$HTTP_STATUS" = 200 ] || fail "PATCH vantage: $HTTP_STATUS $BODY"
[ "$(echo "$BODY" | jget 'd["vantage"]')" = "['$ID2']" ] || fail "vantage stored as ids: $BODY"
for _ in $(seq 100); do [ -z "$(copy_on 3)" ] && break; sleep 0.2; done
[ -z "$(copy_on 3)" ] || fail "n3 still checks a target whose vantage list names only n2"
[ -n "$(copy_on 2)" ] || fail "n2 lost its copy"
view
[ "$(echo "$BODY" | jget 'd["agreement"]["expected"]')" = 2 ] || fail "expected with a vantage list: $BODY"
ok "a vantage list of n2 leaves n3 without a copy; n1 expects 2 vantage points"

# --- deleting the target removes the copies
api 1 DELETE "/api/targets/$TID"
[ "$HTTP_STATUS" = 204 ] || fail "delete: $HTTP_STATUS"
for _ in $(seq 100); do [ -z "$(copy_on 2)" ] && break; sleep 0.2; done
[ -z "$(copy_on 2)" ] || fail "n2 still checks a deleted target"
ok "a deleted mesh target leaves no copy behind"

# --- the limit of mesh targets per node
for i in $(seq 2 64); do
  api 1 POST /api/targets "{\"name\":\"m$i\",\"host\":\"$L\",\"port\":$OPEN,\"interval_s\":3600,\"mesh\":true,\"enabled\":false}"
  [ "$HTTP_STATUS" = 201 ] || break
done
api 1 POST /api/targets "{\"name\":\"over\",\"host\":\"$L\",\"port\":$OPEN,\"interval_s\":3600,\"mesh\":true}"
[ "$HTTP_STATUS" = 409 ] && grep -q mesh_target_limit <<<"$BODY" || fail "65th mesh target: $HTTP_STATUS $BODY"
api 1 POST /api/targets "{\"name\":\"plain\",\"host\":\"$L\",\"port\":$OPEN,\"interval_s\":3600}"
[ "$HTTP_STATUS" = 201 ] || fail "an ordinary target past the mesh limit: $HTTP_STATUS $BODY"
ok "64 mesh targets per node (the 65th: 409 mesh_target_limit); ordinary targets still accepted"

# --- without a mesh secret there are no mesh targets
start_node n5 "$(addr 5)"
T5=$(login "$(addr 5)")
ucurl "$(addr 5)" /api/targets -X POST -H "Authorization: Bearer $T5" -H 'Content-Type: application/json' \
  -d "{\"name\":\"w\",\"host\":\"$L\",\"port\":$OPEN,\"mesh\":true}"
[ "$HTTP_STATUS" = 409 ] && grep -q mesh_secret_required <<<"$BODY" || fail "no secret: $HTTP_STATUS $BODY"
ok "a node without a mesh secret refuses mesh targets (409 mesh_secret_required)"

for p in "${MW_PIDS[@]}"; do stop_node "$p"; done
MW_PIDS=()
[ -z "$BAD_EXIT" ] || fail "nodes exited badly:$BAD_EXIT"
ok "every node stopped cleanly"
