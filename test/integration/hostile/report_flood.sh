#!/usr/bin/env bash
# POST /report cannot flood a node. Under a mesh secret, many made-up
# origins (each signing as itself) send large reports: the database file
# (+ -wal) stays under db_max_bytes all along, /api/mesh answers a page in
# bounded time, bytes and memory, and max_origins refuses a new origin with
# 507 naming the knob. A node reports only as itself. Without a secret only
# a polled member reports, from its own address. A measured_at in the future
# is refused.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")/.." && pwd)
HR="$HERE/hostile_report.py"
newid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# --- without a mesh secret: only members, from their own address ---
U=$(rand_addr); P=$(rand_addr)
export MESHWATCH_POLL_INTERVAL=1
start_node u "$U"
echo "{\"nodes\":[{\"fqdn\":\"u.test\",\"ip\":\"$U\"}]}" > "$TMP/seedp.json"
start_node p "$P" --seed "$TMP/seedp.json"
pid_p=$(cat "$TMP/p/data/node_id")
stranger=$(newid)
python3 "$HR" body "$stranger" stranger.test 10.9.9.9 1 3 > "$TMP/stranger.json"
ucurl "$U" /report -X POST --data-binary @"$TMP/stranger.json"
expect_status 403 "an unsigned report from an origin that is not a member"
grep -q "not a member" <<<"$BODY" || fail "non-member refused for another reason: $BODY"
# p is a member once u has polled it (u learns p from p's poll of u)
python3 "$HR" body "$pid_p" p.test "$P" 1 3 > "$TMP/p1.json"
for t in $(seq 1 60); do
  ucurl "$U" /report -X POST --data-binary @"$TMP/p1.json"
  [ "$HTTP_STATUS" = 202 ] && break
  sleep 0.5
done
expect_status 202 "an unsigned report from a polled member, from this host"
python3 "$HR" body "$pid_p" p.test "$P" 2 3 600 > "$TMP/future.json"
ucurl "$U" /report -X POST --data-binary @"$TMP/future.json"
expect_status 400 "a cell measured 10 minutes in the future"
grep -q 'measured_at' <<<"$BODY" && grep -q 'future' <<<"$BODY" || fail "detail does not name measured_at: $BODY"
python3 "$HR" body "$pid_p" p.test "$P" 3 3 -$((500 * 86400)) > "$TMP/old.json"
ucurl "$U" /report -X POST --data-binary @"$TMP/old.json"
expect_status 400 "a cell measured 500 days ago"

# --- under a mesh secret: a node reports only as itself ---
S=$(rand_addr); CAP=10485760
MESH_SECRET=fl00d MESHWATCH_DB_MAX_BYTES=$CAP start_node s "$S"
spid=$NODE_PID
TOK=$(login "$S")
other=$(newid)
python3 "$HR" body "$other" other.test 10.8.8.8 1 3 > "$TMP/other.json"
H=(); while IFS= read -r l; do H+=(-H "$l"); done < <(MW_METHOD=POST MW_PATH=/report MW_BODY_FILE="$TMP/other.json" \
  python3 "$HERE/mesh_sign.py" fl00d 0 "$(newid)" else.test 10.7.7.7 8443 1)
ucurl "$S" /report -X POST --data-binary @"$TMP/other.json" "${H[@]}"
expect_status 403 "a signed report whose origin is not the signer"
ucurl "$S" /report -X POST --data-binary @"$TMP/other.json"
expect_status 401 "an unsigned report under a mesh secret"

# --- the flood: 40 origins x 2 reports of 1500 peers (~300 KB each) ---
out=$(python3 "$HR" flood "$S" fl00d 40 2 1500 4 "$TMP/s/data/meshwatch.db" "$CAP")
echo "flood: $out"
echo "$out" | jget 'd["statuses"].get("202", 0) >= 60' | grep -q True || fail "the flood was not accepted: $out"
max=$(echo "$out" | jget 'd["max_db_bytes"]')
[ "$(echo "$out" | jget 'd["over_cap"]')" = 0 ] || fail "database + WAL went over the $CAP-byte cap during the flood (max $max)"
ok "database + WAL stayed under db_max_bytes ($CAP) during the flood: at most $max bytes"
ucurl "$S" /health; expect_status 200 "the node goes on after the flood"
cnt=$(python3 -c "import sqlite3;db=sqlite3.connect('file:$TMP/s/data/meshwatch.db?mode=ro',uri=True);print(*db.execute('select (select count(*) from origins),(select count(*) from cells_latest),(select max(n) from (select count(*) n from cells_latest group by origin))').fetchone())")
echo "origins, latest cells, most cells of one origin: $cnt"
read -r no nl nmax <<<"$cnt"
[ "${nmax:-0}" -le 4097 ] || fail "an origin holds $nmax latest cells (max_peers + 1 = 4097)"

# --- /api/mesh after the flood: a bounded page, then the next ---
rss0=$(rss_kb "$spid")
t0=$(date +%s%N)
ucurl "$S" /api/mesh -H "Authorization: Bearer $TOK"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
rss1=$(rss_kb "$spid")
expect_status 200 "/api/mesh after the flood"
bytes=${#BODY}
echo "/api/mesh: ${ms} ms, $bytes bytes, RSS ${rss0} kB before, ${rss1} kB after"
[ "$ms" -lt 5000 ] || fail "/api/mesh took $ms ms"
[ "$bytes" -lt 2000000 ] || fail "/api/mesh answered $bytes bytes"
[ $((rss1 - rss0)) -lt 150000 ] || fail "RSS grew by $((rss1 - rss0)) kB"
echo "$BODY" | jget 'd["total_origins"] >= 2 and len(d["origins"]) >= 1 and "truncated" in d' | grep -q True || fail "no paging fields: $(echo "$BODY" | head -c 300)"
ok "/api/mesh after the flood: ${ms} ms, $bytes bytes, RSS +$((rss1 - rss0)) kB"
seen=0; off=0; pages=0
while [ "$off" != None ] && [ $pages -lt 200 ]; do
  ucurl "$S" "/api/mesh?limit=7&offset=$off" -H "Authorization: Bearer $TOK"
  expect_status 200 "page at offset $off" >/dev/null
  seen=$((seen + $(echo "$BODY" | jget 'len(d["origins"])')))
  off=$(echo "$BODY" | jget 'd["next_offset"]'); pages=$((pages + 1))
done
total=$(echo "$BODY" | jget 'd["total_origins"]')
[ "$seen" = "$total" ] || fail "pages listed $seen origins of $total"
ok "paging with limit=7 lists every origin once ($total in $pages pages)"
ucurl "$S" "/api/mesh?limit=0" -H "Authorization: Bearer $TOK"; expect_status 400 "limit=0"

# --- max_origins: a new origin past it gets 507 naming the knob ---
M=$(rand_addr)
MESH_SECRET=fl00d MESHWATCH_MAX_ORIGINS=2 start_node m "$M"
for k in 1 2 3; do
  id=$(newid)
  python3 "$HR" body "$id" "m$k.test" "10.6.6.$k" 1 3 > "$TMP/m$k.json"
  H=(); while IFS= read -r l; do H+=(-H "$l"); done < <(MW_METHOD=POST MW_PATH=/report MW_BODY_FILE="$TMP/m$k.json" \
    python3 "$HERE/mesh_sign.py" fl00d 0 "$id" "m$k.test" "10.6.6.$k" 8443 1)
  ucurl "$M" /report -X POST --data-binary @"$TMP/m$k.json" "${H[@]}"
done
expect_status 507 "a third origin with max_origins 2"
grep -q max_origins <<<"$BODY" || fail "507 does not name max_origins: $BODY"
