#!/usr/bin/env bash
# Reporting nodes: four nodes and one reporting node on loopback. The
# reporting node's matrix is complete within two report intervals after the
# mesh converges; stopped for several intervals and restarted, it receives
# every snapshot exactly once (count by sequence); senders that stop are
# stale after three intervals and fresh when they report again
# (origin_stale events); bad reports get the right status and change
# nothing; a bounded outbox drops the oldest and says so.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")
base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_REPORT_INTERVAL=2
R=5
echo "{\"server_fqdn\":\"rep.test\",\"server_ip\":\"$(addr $R)\"}" > "$TMP/reporting.json"
declare -a PID
start_one() {
  local i=$1 n=$(( $1 % 5 + 1 )); shift
  echo "{\"nodes\":[{\"fqdn\":\"n$n.test\",\"ip\":\"$(addr $n)\"}]}" > "$TMP/seed$i.json"
  start_node "n$i" "$(addr $i)" --seed "$TMP/seed$i.json" "$@"
  PID[$i]=$NODE_PID
}
for i in 1 2 3 4; do start_one $i --reporting "$TMP/reporting.json"; done
start_one $R
TOK=$(login "$(addr $R)")
matrix() { ucurl "$(addr $R)" /api/mesh -H "Authorization: Bearer $TOK"; }

# the matrix: 5 nodes, 5 x 4 cells, every origin fresh
t0=$(date +%s.%N); done_=0
for t in $(seq 1 150); do
  matrix
  if echo "$BODY" | jget 'len(d["nodes"])==5 and len(d["cells"])==20 and len(d["origins"])==5 and all(c["state"]=="alive" and c["rtt_ms"] is not None and c["pmtu"] is not None for c in d["cells"]) and not any(o["stale"] for o in d["origins"])' | grep -q True; then done_=1; break; fi
  sleep 0.2
done
[ $done_ = 1 ] || fail "matrix incomplete: $(echo "$BODY" | jget 'len(d["nodes"]), len(d["cells"]), [(o["fqdn"], o["seq"]) for o in d["origins"]]')"
secs=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
ok "the reporting node's matrix is complete: 5 nodes, 20 cells, all alive with RTT and PMTU measured (after ${secs}s from the last start; report interval 2 s)"
id1=$(cat "$TMP/n1/data/node_id"); id2=$(cat "$TMP/n2/data/node_id")
ucurl "$(addr $R)" "/api/mesh/history?from_id=$id1&to_id=$id2" -H "Authorization: Bearer $TOK"
expect_status 200 "pair history"
echo "$BODY" | jget 'd["total"] >= 1 and d["items"][-1]["state"] == "alive"' | grep -q True || fail "history: $BODY"
ucurl "$(addr $R)" "/api/mesh/history?from_id=nope&to_id=$id2" -H "Authorization: Bearer $TOK"; expect_status 400 "history with a bad id"
ucurl "$(addr 1)" /api/mesh -H "Authorization: Bearer $(login "$(addr 1)")"
echo "$BODY" | jget 'len(d["cells"]) == 4 and len(d["origins"]) == 1' | grep -q True || fail "a plain node's own matrix: $BODY"
ok "a node that receives no reports renders the matrix from its own polls"

# the reporting node goes away for several intervals, then returns
stop_node "${PID[$R]}"
sleep 8
start_node "n$R" "$(addr $R)" --seed "$TMP/seed$R.json"
PID[$R]=$NODE_PID
ucurl "$(addr $R)" /api/login -X POST -H 'Content-Type: application/json' -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}"
TOK=$(echo "$BODY" | jget 'd["token"]') || fail "login after restart: $BODY ($HTTP_STATUS)"
# the senders retry with backoff (at most 8 s after an 8 s outage): wait for the backlog
caught=0
for t in $(seq 1 60); do
  matrix
  if echo "$BODY" | jget 'all(o["self"] or (o["reports"] == o["seq"] and o["age_s"] <= 3) for o in d["origins"]) and len(d["origins"]) == 5' | grep -q True; then caught=1; break; fi
  sleep 0.5
done
[ $caught = 1 ] || fail "the backlog did not arrive within 30 s: $(echo "$BODY" | jget '[(o["fqdn"], o.get("reports"), o["seq"]) for o in d["origins"]]')"
# stop the senders so the counts are final, then compare with what each made
for i in 1 2 3 4; do stop_node "${PID[$i]}"; done
matrix
python3 - "$BODY" "$TMP" <<'PY' || fail "snapshots lost or duplicated"
import json, sqlite3, sys
d = json.loads(sys.argv[1]); tmp = sys.argv[2]
origins = {o["id"]: o for o in d["origins"] if not o["self"]}
bad = 0
for i in range(1, 5):
    nid = open(f"{tmp}/n{i}/data/node_id").read().strip()
    db = sqlite3.connect(f"{tmp}/n{i}/data/meshwatch.db")
    made = int(db.execute("SELECT value FROM meta WHERE key='report_seq'").fetchone()[0])
    o = origins[nid]
    waiting = db.execute("SELECT COUNT(*) FROM outbox WHERE seq > ?", (o["seq"],)).fetchone()[0]
    # received distinct == newest received (no gap, no duplicate), and the
    # rest is still in the outbox for the next delivery: nothing lost
    print(f"n{i}: made {made}, received {o['reports']} distinct up to {o['seq']}, {waiting} still in the outbox")
    if not (o["reports"] == o["seq"] and o["seq"] + waiting == made):
        bad += 1
sys.exit(bad)
PY
ok "after the reporting node was down ~8 s (4 intervals), every snapshot arrived exactly once"
# the senders stopped: after three intervals (6 s) each origin is stale on
# the reporting node, an origin_stale event (checked every 5 s)
stale_events() {  # stale_events ORIGIN_ID: "old>new severity" of its events, oldest first
  ucurl "$(addr $R)" "/api/events?kind=origin_stale&subject=$1" -H "Authorization: Bearer $TOK"
  echo "$BODY" | jget '" ".join("%s>%s/%s/%s" % (e["old"], e["new"], e["severity"], e["subject_type"]) for e in reversed(d["items"]))'
}
for t in $(seq 1 60); do
  all=1
  for i in 1 2 3 4; do
    stale_events "$(cat "$TMP/n$i/data/node_id")" | grep -q "fresh>stale" || all=0
  done
  [ $all = 1 ] && break
  sleep 0.5
done
[ $all = 1 ] || fail "no origin_stale event for every stopped sender: n1: $(stale_events "$id1")"
[ "$(stale_events "$id1")" = "fresh>stale/warning/node" ] || fail "origin_stale events of n1: $(stale_events "$id1")"
grep -q "origin $id1 (n1.test) sent no report for" "$TMP/n$R.log" || fail "the stale origin is not logged"
ok "stopped senders are stale on the reporting node after 3 intervals: one origin_stale event each (warning)"
grep -q "is back: sending the backlog" "$TMP/n1.log" || fail "n1 did not log the recovery"
grep -q "unreachable" "$TMP/n1.log" || fail "n1 did not log the outage"
# a duplicate delivery changes nothing; bad reports get the right status.
# With the reporting node away, n1's next snapshot waits in its outbox: take
# it from there, let it be delivered, then deliver it again by hand.
stop_node "${PID[$R]}"
start_one 1 --reporting "$TMP/reporting.json"
snap=
for t in $(seq 1 50); do
  snap=$(python3 - "$TMP/n1/data/meshwatch.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
r = db.execute("SELECT body FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
print(r[0] if r else "")
PY
)
  [ -n "$snap" ] && break
  sleep 0.2
done
[ -n "$snap" ] || fail "no snapshot in n1's outbox while the reporting node is away"
snap_seq=$(echo "$snap" | jget 'd["seq"]')
[ "$(echo "$snap" | jget 'len(d["peers"])')" -ge 1 ] || fail "the captured snapshot lists no peers: $snap"
for i in 2 3 4; do start_one $i --reporting "$TMP/reporting.json"; done
start_node "n$R" "$(addr $R)" --seed "$TMP/seed$R.json"
PID[$R]=$NODE_PID
ucurl "$(addr $R)" /api/login -X POST -H 'Content-Type: application/json' -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}"
TOK=$(echo "$BODY" | jget 'd["token"]')
# the restarted reporting node takes n1's reports once it has polled n1
# (unsigned reports come from members only): on a slow machine that and
# n1's outbox retry take a while
got=
for t in $(seq 1 240); do
  matrix
  echo "$BODY" | jget "any(o['id']=='$id1' and (o['seq'] or 0) >= $snap_seq for o in d['origins'])" | grep -q True && { got=1; break; }
  sleep 0.5
done
[ -n "$got" ] || fail "the reporting node never took n1's snapshot $snap_seq after its restart: $BODY"
# n1 reports again: fresh, said once by the restarted reporting node (which
# remembers from its stored events that n1 was stale)
for t in $(seq 1 30); do
  [ "$(stale_events "$id1")" = "fresh>stale/warning/node stale>fresh/info/node" ] && break
  sleep 0.5
done
[ "$(stale_events "$id1")" = "fresh>stale/warning/node stale>fresh/info/node" ] ||
  fail "origin_stale events of n1 after it reported again: $(stale_events "$id1")"
ok "an origin that reports again is fresh: one origin_stale event (info), across the reporting node's restart"
stop_node "${PID[1]}"   # no new snapshots from n1 while its count is compared
before=$(matrix; echo "$BODY" | jget "[o['reports'] for o in d['origins'] if o['id']=='$id1'][0]")
ucurl "$(addr $R)" /report -X POST -H 'Content-Type: application/json' --data-binary "$snap"
expect_status 202 "a repeated snapshot"
echo "$BODY" | jget 'd["duplicate"]' | grep -q True || fail "duplicate not flagged: $BODY"
after=$(matrix; echo "$BODY" | jget "[o['reports'] for o in d['origins'] if o['id']=='$id1'][0]")
[ "$before" = "$after" ] || fail "a duplicate changed the count ($before -> $after)"
ok "a duplicate delivery is acknowledged and changes nothing"
start_one 1 --reporting "$TMP/reporting.json"
ucurl "$(addr $R)" /report -X POST --data-binary '{"version":1,'; expect_status 400 "malformed report"
ucurl "$(addr $R)" /report -X POST --data-binary "$(echo "$snap" | sed 's/"seq":[0-9]*/"seq":"seven"/')"; expect_status 400 "seq of the wrong type"
grep -q '"seq\\"' <<<"$BODY" || grep -q seq <<<"$BODY" || fail "detail does not name seq: $BODY"
ucurl "$(addr $R)" /report -X POST --data-binary "$(echo "$snap" | sed 's/"state":"[a-z]*"/"state":"zombie"/')"; expect_status 400 "a peer with a bad state"
grep -q 'peers\[0\]' <<<"$BODY" || fail "detail does not name the entry: $BODY"
ucurl "$(addr $R)" /report -X POST --data-binary "$(echo "$snap" | sed 's/"loss":[0-9.a-z]*/"loss":7/')"; expect_status 400 "loss out of range"
big=$(python3 -c "print('{\"pad\":\"' + 'x'*5000000 + '\"}')")
echo "$big" > "$TMP/big.json"
ucurl "$(addr $R)" /report -X POST --data-binary @"$TMP/big.json"; expect_status 413 "a report over max_report_bytes"
ucurl "$(addr $R)" /health; expect_status 200 "the reporting node goes on"

# a bounded outbox: the reporting node down, at most 3 snapshots kept
stop_node "${PID[$R]}"
stop_node "${PID[1]}"
MESHWATCH_MAX_OUTBOX=3 start_one 1 --reporting "$TMP/reporting.json"
sleep 9
n=$(python3 -c "import sqlite3;print(sqlite3.connect('$TMP/n1/data/meshwatch.db').execute('select count(*) from outbox').fetchone()[0])")
[ "$n" -le 3 ] || fail "outbox holds $n snapshots (max_outbox 3)"
grep -q "outbox full (max_outbox 3)" "$TMP/n1.log" || fail "a full outbox is not logged"
ok "the outbox stays within max_outbox (3) and says what it dropped"

# under a mesh secret: unsigned, forged and replayed reports are refused
S=$(rand_addr)
MESH_SECRET=s3cret start_node sec "$S"
printf '%s' "$snap" > "$TMP/snap.json"
sign() { local -n out=$1; shift; out=(); while IFS= read -r l; do out+=(-H "$l"); done < <(MW_METHOD=POST MW_PATH=/report MW_BODY_FILE="$TMP/snap.json" python3 "$HERE/mesh_sign.py" "$@"); }
ucurl "$S" /report -X POST --data-binary @"$TMP/snap.json"; expect_status 401 "an unsigned report"
sign H wrong 0
ucurl "$S" /report -X POST --data-binary @"$TMP/snap.json" "${H[@]}"; expect_status 401 "a forged report"
# a node reports only as itself: the signature names the origin of the report
ident=($(echo "$snap" | jget '" ".join(str(d["origin"][k]) for k in ("id","fqdn","ip","port","incarnation"))'))
sign H s3cret 0 "$(cat "$TMP/n2/data/node_id")" n2.test "$(addr 2)" 8443 1
ucurl "$S" /report -X POST --data-binary @"$TMP/snap.json" "${H[@]}"; expect_status 403 "a report signed by another node than its origin"
grep -q "only as itself" <<<"$BODY" || fail "identity mismatch refused for another reason: $BODY"
sign H s3cret 0 "${ident[@]}"
ucurl "$S" /report -X POST --data-binary @"$TMP/snap.json" "${H[@]}"; expect_status 202 "a signed report"
ucurl "$S" /report -X POST --data-binary @"$TMP/snap.json" "${H[@]}"; expect_status 401 "the same signed report replayed"
printf '%s' "$snap" | sed 's/"seq":[0-9]*/"seq":999999/' > "$TMP/snap2.json"
cmp -s "$TMP/snap.json" "$TMP/snap2.json" && fail "the altered body is not altered"
sign H s3cret 0 "${ident[@]}"   # a fresh signature over the original body, sent with an altered one
ucurl "$S" /report -X POST --data-binary @"$TMP/snap2.json" "${H[@]}"; expect_status 401 "a signed report with an altered body"
grep -q "bad signature" <<<"$BODY" || fail "altered body refused for another reason: $BODY"
