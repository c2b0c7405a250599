#!/usr/bin/env bash
# TCP targets against a real node and real local listeners: an open port,
# a closed port and a port whose SYNs are dropped (full accept queue) come
# out up, refused and timeout within their timeouts; CRUD with and without
# a session; every field's validation; list filters and paging; interval
# and enabled changes take effect at once; delete removes the history;
# grouped history; the target limit; targets survive a restart.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr)
L=$(rand_addr)
MESHWATCH_MAX_TARGETS=6 start_node n1 "$A"
T=$(login "$A")
AUTH=(-H "Authorization: Bearer $T" -H 'Content-Type: application/json')

python3 "$(dirname "$0")/tcp_listeners.py" "$L" 1 --drop >"$TMP/ports" 2>"$TMP/listeners.log" &
PIDS+=($!)
for _ in $(seq 50); do [ "$(cat "$TMP/ports" 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.1; done
OPEN=$(awk '/^open/ {print $2}' "$TMP/ports")
DROP=$(awk '/^drop/ {print $2}' "$TMP/ports")
[ -n "$OPEN" ] && [ -n "$DROP" ] || fail "listeners did not start: $(cat "$TMP/ports" "$TMP/listeners.log")"
# a closed port: bind, note the port, close
CLOSED=$(python3 -c "import socket; s=socket.socket(); s.bind(('$L',0)); print(s.getsockname()[1])")

post() { ucurl "$A" /api/targets -X POST "${AUTH[@]}" -d "$1"; }

# ---- without a session ----
ucurl "$A" /api/targets; expect_status 401 "GET /api/targets without a session"
ucurl "$A" /api/targets -X POST -H 'Content-Type: application/json' -d '{"name":"x","host":"h","port":1}'
expect_status 401 "POST /api/targets without a session"
ucurl "$A" /api/targets/1 -X DELETE; expect_status 401 "DELETE /api/targets/1 without a session"

# ---- validation: every field, a 400 that names it ----
bad() { # bad FIELD BODY
  post "$2"
  [ "$HTTP_STATUS" = 400 ] || fail "$2: expected 400, got $HTTP_STATUS $BODY"
  echo "$BODY" | jget 'd["detail"]' | grep -q "\"$1\"" || fail "$2: detail does not name $1: $BODY"
}
base='"name":"n","host":"127.0.0.1","port":80'
bad name '{"host":"h","port":1}'
bad name '{"name":"","host":"h","port":1}'
bad name "{\"name\":\"$(printf 'x%.0s' $(seq 129))\",\"host\":\"h\",\"port\":1}"
bad name '{"name":7,"host":"h","port":1}'
bad name '{"name":"a\u0001b","host":"h","port":1}'
bad host '{"name":"n","port":1}'
bad host '{"name":"n","host":"a b","port":1}'
bad host '{"name":"n","host":"a..b","port":1}'
bad host "{\"name\":\"n\",\"host\":\"$(printf 'a%.0s' $(seq 64)).com\",\"port\":1}"
bad port '{"name":"n","host":"h"}'
bad port '{"name":"n","host":"h","port":0}'
bad port '{"name":"n","host":"h","port":65536}'
bad port '{"name":"n","host":"h","port":1.5}'
bad port '{"name":"n","host":"h","port":"80"}'
bad interval_s "{$base,\"interval_s\":0}"
bad interval_s "{$base,\"interval_s\":86401}"
bad timeout_s "{$base,\"interval_s\":5,\"timeout_s\":6}"
bad timeout_s "{$base,\"interval_s\":120,\"timeout_s\":61}"
bad timeout_s "{$base,\"timeout_s\":0}"
bad timeout_s "{$base,\"timeout_s\":\"1\"}"
bad retention_period "{$base,\"retention_period\":0}"
bad retention_unit "{$base,\"retention_unit\":\"years\"}"
bad retention_period "{$base,\"retention_period\":100,\"retention_unit\":\"months\"}"
bad enabled "{$base,\"enabled\":\"yes\"}"
bad colour "{$base,\"colour\":\"red\"}"
post '[1,2]'; expect_status 400 "a body that is not an object"
post '{"name":'; expect_status 400 "a body that is not JSON"
ok "each field's bad values get a 400 naming the field"

# ---- the three outcomes ----
post "{\"name\":\"open\",\"host\":\"$L\",\"port\":$OPEN,\"interval_s\":1,\"timeout_s\":0.5}"
expect_status 201 "create a target on an open port"
ID_OPEN=$(echo "$BODY" | jget 'd["id"]')
[ "$(echo "$BODY" | jget 'd["timeout_s"]')" = 0.5 ] || fail "timeout_s not kept: $BODY"
post "{\"name\":\"closed\",\"host\":\"$L\",\"port\":$CLOSED,\"interval_s\":1,\"timeout_s\":0.5}"
ID_CLOSED=$(echo "$BODY" | jget 'd["id"]')
post "{\"name\":\"dropped\",\"host\":\"$L\",\"port\":$DROP,\"interval_s\":1,\"timeout_s\":0.5}"
ID_DROP=$(echo "$BODY" | jget 'd["id"]')
post "{\"name\":\"defaults\",\"host\":\"localhost\",\"port\":9,\"interval_s\":30}"
ID_DEF=$(echo "$BODY" | jget 'd["id"]')
[ "$(echo "$BODY" | jget '(d["timeout_s"], d["retention_period"], d["retention_unit"], d["enabled"])')" = "(30, 7, 'days', True)" ] ||
  fail "defaults: $BODY"
ok "defaults: timeout = min(interval, 60), retention 7 days, enabled"

state_of() { ucurl "$A" "/api/targets/$1" "${AUTH[@]}"; echo "$BODY" | jget 'd["state"]'; }
for _ in $(seq 40); do
  [ "$(state_of "$ID_OPEN")/$(state_of "$ID_CLOSED")/$(state_of "$ID_DROP")" = up/refused/timeout ] && break
  sleep 0.1
done
[ "$(state_of "$ID_OPEN")" = up ] || fail "open port: $BODY"
ucurl "$A" "/api/targets/$ID_OPEN" "${AUTH[@]}"
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert 0 < d['last_connect_ms'] < 500 and d['last_check'].endswith('Z'), d" "$BODY" ||
  fail "open target fields: $BODY"
ok "open port: up with a connect time"
[ "$(state_of "$ID_CLOSED")" = refused ] || fail "closed port: $BODY"
ok "closed port: refused"
[ "$(state_of "$ID_DROP")" = timeout ] || fail "dropped port: $BODY"
ucurl "$A" "/api/targets/$ID_DROP" "${AUTH[@]}"
echo "$BODY" | jget 'd["last_error"]' | grep -q "500 ms" || fail "timeout error text: $BODY"
ok "dropped SYNs: timeout after the target's 0.5 s"

# within the timeout: after 3 s at a 1 s interval, the dropped target has
# 3 or 4 results (a check that hung past its timeout would leave fewer)
sleep 3
ucurl "$A" "/api/targets/$ID_DROP" "${AUTH[@]}"
n=$(echo "$BODY" | jget 'd["recent"]["checks"]')
[ "$n" -ge 3 ] || fail "dropped target: only $n checks in about 3.5 s: $BODY"
ok "a timed-out check ends within its timeout ($n checks in ~3.5 s at 1 s)"

# ---- list, filters, paging ----
ucurl "$A" "/api/targets" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '(d["total"], len(d["items"]), d["limit"], d["offset"])')" = "(4, 4, 50, 0)" ] || fail "list: $BODY"
ucurl "$A" "/api/targets?q=DROP" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '[i["name"] for i in d["items"]]')" = "['dropped']" ] || fail "q by name: $BODY"
ucurl "$A" "/api/targets?q=localhost" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '[i["name"] for i in d["items"]]')" = "['defaults']" ] || fail "q by host: $BODY"
ucurl "$A" "/api/targets?state=refused" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '[i["name"] for i in d["items"]]')" = "['closed', 'defaults']" ] || fail "state filter: $BODY"
ucurl "$A" "/api/targets?limit=2&offset=1" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '(d["total"], [i["name"] for i in d["items"]])')" = "(4, ['closed', 'dropped'])" ] || fail "paging: $BODY"
for q in "limit=0" "limit=1001" "offset=-1" "state=sleepy" "enabled=maybe"; do
  ucurl "$A" "/api/targets?$q" "${AUTH[@]}"
  [ "$HTTP_STATUS" = 400 ] || fail "?$q: expected 400, got $HTTP_STATUS"
done
ok "list: total, search by name and host, state filter, paging, bad parameters get 400"

# ---- a changed interval and the enabled flag act at once ----
ucurl "$A" "/api/targets/$ID_DEF" -X PATCH "${AUTH[@]}" -d '{"interval_s":3600}'
[ "$(echo "$BODY" | jget '(d["interval_s"], d["timeout_s"])')" = "(3600, 60)" ] || fail "PATCH interval: $BODY"
ok "PATCH interval: a default timeout follows the interval (max 60 s)"
ucurl "$A" "/api/targets/$ID_OPEN" -X PATCH "${AUTH[@]}" -d '{"interval_s":3600}'
sleep 1.2
ucurl "$A" "/api/targets/$ID_OPEN" "${AUTH[@]}"; before=$(echo "$BODY" | jget 'sum(d["checks_since_start"].values())')
[ "$(echo "$BODY" | jget 'd["timeout_s"]')" = 0.5 ] || fail "a timeout set lower was not kept: $BODY"
sleep 1.5
ucurl "$A" "/api/targets/$ID_OPEN" "${AUTH[@]}"; after=$(echo "$BODY" | jget 'sum(d["checks_since_start"].values())')
[ "$before" = "$after" ] || fail "interval 3600 s: checks went on ($before -> $after)"
ucurl "$A" "/api/targets/$ID_OPEN" -X PATCH "${AUTH[@]}" -d '{"interval_s":1}'
# the old interval would wait an hour: a check within a few seconds is the
# change acting at once (the writer may take a moment on a loaded machine)
for t in $(seq 1 50); do
  sleep 0.1
  ucurl "$A" "/api/targets/$ID_OPEN" "${AUTH[@]}"; now=$(echo "$BODY" | jget 'sum(d["checks_since_start"].values())')
  [ "$now" -gt "$after" ] && break
done
[ "$now" -gt "$after" ] || fail "interval back to 1 s: no check at once ($after -> $now)"
ok "a longer interval stops the rounds; a shorter one checks at once ($before, $after, $now)"
ucurl "$A" "/api/targets/$ID_OPEN" -X PATCH "${AUTH[@]}" -d '{"enabled":false}'
[ "$(echo "$BODY" | jget 'd["enabled"]')" = False ] || fail "disable: $BODY"
sleep 0.3
ucurl "$A" "/api/targets/$ID_OPEN" "${AUTH[@]}"; off1=$(echo "$BODY" | jget 'sum(d["checks_since_start"].values())')
sleep 2
ucurl "$A" "/api/targets/$ID_OPEN" "${AUTH[@]}"; off2=$(echo "$BODY" | jget 'sum(d["checks_since_start"].values())')
[ "$off1" = "$off2" ] || fail "disabled target still checked ($off1 -> $off2)"
ucurl "$A" "/api/targets?enabled=false" "${AUTH[@]}"
[ "$(echo "$BODY" | jget '[i["name"] for i in d["items"]]')" = "['open']" ] || fail "enabled filter: $BODY"
ucurl "$A" "/api/targets/$ID_OPEN" -X PATCH "${AUTH[@]}" -d '{"enabled":true}'
sleep 0.5
ucurl "$A" "/api/targets/$ID_OPEN" "${AUTH[@]}"; on=$(echo "$BODY" | jget 'sum(d["checks_since_start"].values())')
[ "$on" -gt "$off2" ] || fail "re-enabled target not checked at once ($off2 -> $on)"
ok "disabled: no checks; enabled again: checked at once"

# PUT replaces: fields not given return to their defaults
ucurl "$A" "/api/targets/$ID_DEF" -X PUT "${AUTH[@]}" -d '{"name":"renamed","host":"::1","port":9}'
expect_status 200 "PUT a target"
[ "$(echo "$BODY" | jget '(d["name"], d["host"], d["interval_s"], d["timeout_s"])')" = "('renamed', '::1', 60, 60)" ] ||
  fail "PUT: $BODY"
ucurl "$A" "/api/targets/$ID_DEF" -X PUT "${AUTH[@]}" -d '{"name":"no host"}'
[ "$HTTP_STATUS" = 400 ] || fail "PUT without host: $HTTP_STATUS"
ucurl "$A" /api/targets/99999 "${AUTH[@]}"; expect_status 404 "unknown target id"
ucurl "$A" /api/targets/99999 -X PATCH "${AUTH[@]}" -d '{"port":5}'; expect_status 404 "PATCH unknown target"

# ---- history ----
sleep 1.2 # the results reach the store once a second
ucurl "$A" "/api/targets/$ID_CLOSED/history?group_by=1s&from=$(($(date +%s) - 120))" "${AUTH[@]}"
expect_status 200 "history grouped by 1 s"
python3 - "$BODY" <<'PY' || fail "history 1s: $BODY"
import json, sys
d = json.loads(sys.argv[1])
assert d["step_s"] == 1, d
assert len(d["items"]) >= 5, d
for it in d["items"]:
    assert it["up"] == 0 and it["success_ratio"] == 0 and it["latency_avg_ms"] is None, it
    assert it["t"].endswith("Z"), it
PY
ucurl "$A" "/api/targets/$ID_OPEN/history?group_by=1h" "${AUTH[@]}"
python3 - "$BODY" <<'PY' || fail "history 1h: $BODY"
import json, sys
d = json.loads(sys.argv[1])
assert len(d["items"]) in (1, 2), d
it = d["items"][-1]
assert it["checks"] >= 3 and it["success_ratio"] == 1 and it["latency_p95_ms"] >= it["latency_avg_ms"] * 0 , it
PY
ok "history: buckets with checks, success ratio, latency avg and p95"
for q in "group_by=1x" "group_by=0s" "group_by=1s&from=0" "from=200&to=100"; do
  ucurl "$A" "/api/targets/$ID_OPEN/history?$q" "${AUTH[@]}"
  [ "$HTTP_STATUS" = 400 ] || fail "history ?$q: expected 400, got $HTTP_STATUS"
done
ok "history: bad group_by, too many buckets, to before from get 400"

# ---- stats ----
ucurl "$A" /api/targets/stats "${AUTH[@]}"
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['targets']==4 and d['checks']>10 and d['lateness_ms']['p99'] is not None, d" "$BODY" ||
  fail "stats: $BODY"
ok "/api/targets/stats: targets, checks, lateness"

# ---- /metrics ----
ucurl "$A" /metrics "${AUTH[@]}"
grep -q "^meshwatch_target_up{target_id=\"$ID_OPEN\",name=\"open\"} 1$" <<<"$BODY" ||
  fail "metrics lack the open target: $(echo "$BODY" | grep target)"
grep -q "^meshwatch_target_info{target_id=\"$ID_OPEN\",name=\"open\",host=\"$L\",port=\"$OPEN\"} 1$" <<<"$BODY" ||
  fail "metrics lack the open target's info: $(echo "$BODY" | grep target_info)"
grep -q '^meshwatch_targets{state="timeout"} 1$' <<<"$BODY" || fail "metrics: targets by state"
echo "$BODY" | grep -Eq '^meshwatch_targets_checks_total [1-9]' || fail "metrics: checks total"
ok "/metrics: targets by state, checks, one up gauge per target"

# ---- the limit (6 here) ----
post "{\"name\":\"five\",\"host\":\"$L\",\"port\":$OPEN}"; expect_status 201 "5th target"
post "{\"name\":\"six\",\"host\":\"$L\",\"port\":$OPEN}"; expect_status 201 "6th target"
post "{\"name\":\"seven\",\"host\":\"$L\",\"port\":$OPEN}"; expect_status 409 "7th target over max_targets=6"

# ---- delete removes the checks and the history ----
count_checks() {
  python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT COUNT(*) FROM target_checks WHERE target_id=?', (int(sys.argv[2]),)).fetchone()[0])" \
    "$TMP/n1/data/meshwatch.db" "$1"
}
[ "$(count_checks "$ID_CLOSED")" -gt 0 ] || fail "no stored checks for the closed target"
ucurl "$A" "/api/targets/$ID_CLOSED" -X DELETE "${AUTH[@]}"; expect_status 204 "DELETE a target"
ucurl "$A" "/api/targets/$ID_CLOSED" "${AUTH[@]}"; expect_status 404 "deleted target is gone"
ucurl "$A" "/api/targets/$ID_CLOSED/history" "${AUTH[@]}"; expect_status 404 "deleted target has no history"
sleep 2.2
[ "$(count_checks "$ID_CLOSED")" = 0 ] || fail "checks of the deleted target remain (or were written after delete)"
ok "delete stops the checks and removes the stored history"

# ---- a restart keeps targets and their state ----
stop_node "$NODE_PID"
MESHWATCH_MAX_TARGETS=6 start_node n1 "$A"
T=$(login "$A")
AUTH=(-H "Authorization: Bearer $T" -H 'Content-Type: application/json')
ucurl "$A" "/api/targets/$ID_DROP" "${AUTH[@]}"
[ "$(echo "$BODY" | jget 'd["state"]')" = timeout ] || fail "state after restart: $BODY"
ucurl "$A" /api/targets "${AUTH[@]}"
[ "$(echo "$BODY" | jget 'd["total"]')" = 5 ] || fail "targets after restart: $BODY"
ok "targets and their last state survive a restart"
echo "all $CHECKS checks passed"
