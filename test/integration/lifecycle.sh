#!/usr/bin/env bash
# The node's life: config validation, first start (identity, generated admin
# password), SIGHUP reload, certificate renewal under load, expired and
# corrupt certificates, an unwritable database, and SIGTERM within 2 s.
. "$(dirname "$0")/lib.sh"

# --check-config and invalid configuration
out=$("$MW" --check-config --listen 127.0.0.1:9443 --data-dir "$TMP/cc")
[ "$(echo "$out" | jget 'd["listen"]')" = 127.0.0.1:9443 ] || fail "--check-config output: $out"
[ "$(echo "$out" | jget 'd["cert_dir"]')" = "$TMP/cc/certs" ] || fail "cert_dir not derived: $out"
ok "--check-config prints the effective configuration"
echo '{"listen":"127.0.0.1:9443","poll_interval_s":"fast"}' > "$TMP/bad.json"
set +e
msg=$("$MW" --check-config --config "$TMP/bad.json" 2>&1); rc=$?
set -e
[ $rc = 2 ] || fail "invalid config exit code $rc (want 2)"
grep -q "$TMP/bad.json" <<<"$msg" || fail "message does not name the file: $msg"
grep -q poll_interval_s <<<"$msg" || fail "message does not name the field: $msg"
ok "invalid config exits 2 naming file and field"
set +e
msg=$(MESHWATCH_POLL_INTERVAL=0 "$MW" --check-config 2>&1); rc=$?
set -e
[ $rc = 2 ] && grep -q MESHWATCH_POLL_INTERVAL <<<"$msg" || fail "bad env not named: $rc $msg"
echo '{"poll_interval_s": 10}' > "$TMP/good.json"
out=$(MESHWATCH_POLL_INTERVAL=20 "$MW" --check-config --config "$TMP/good.json")
[ "$(echo "$out" | jget 'd["poll_interval_s"]')" = 20 ] || fail "env does not override file"
out=$(MESHWATCH_POLL_INTERVAL=20 "$MW" --check-config --config "$TMP/good.json" --poll-interval 40)
[ "$(echo "$out" | jget 'd["poll_interval_s"]')" = 40 ] || fail "flag does not override env"
ok "precedence: flags > environment > file"
out=$(MESH_SECRET=s3cret ROOT_USER=r ROOT_PASSWORD=secret-pass "$MW" --check-config)
grep -q s3cret <<<"$out" && fail "--check-config prints the mesh secret"
grep -q secret-pass <<<"$out" && fail "--check-config prints the root password"
ok "--check-config redacts secrets"

# first start without ROOT_*: a generated admin password, written once
A=$(rand_addr)
ROOT_USER= ROOT_PASSWORD= start_node n1 "$A"
pwfile="$TMP/n1/data/admin-password"
[ -f "$pwfile" ] || fail "no generated admin password file"
[ "$(stat -c %a "$pwfile")" = 600 ] || fail "admin-password mode $(stat -c %a "$pwfile")"
[ "$(stat -c %a "$TMP/n1/data/certs/key.pem")" = 600 ] || fail "key.pem mode"
pw=$(cat "$pwfile")
[[ "$pw" =~ ^[0-9a-f]{32}$ ]] && [ "$(wc -l < "$pwfile")" = 1 ] || fail "admin-password should hold the password alone on one line: $(cat "$pwfile")"
grep -q 'created user "admin"; its password (the file.s only line) is in' "$TMP/n1.log" || fail "the log does not name the user"
grep -q "$pw" "$TMP/n1.log" && fail "the generated password appears in the log"
grep -q "$pwfile" "$TMP/n1.log" || fail "the log does not say where the password is"
tok=$(login "$A" admin "$pw"); [ ${#tok} = 64 ] || fail "cannot log in with the generated password"
ok "generated admin password: file 0600, path logged, text not logged, login works"
id1=$(ucurl "$A" /health; echo "$BODY" | jget 'd["node_id"]')

# SIGHUP: reload the config file; a broken file keeps the running config
echo '{"log_level":"debug"}' > "$TMP/n1.json"
stop_node "$NODE_PID"
start_node n1 "$A" --config "$TMP/n1.json"
[ "$(ucurl "$A" /health; echo "$BODY" | jget 'd["node_id"]')" = "$id1" ] || fail "node id changed across restart"
ok "node id survives a restart"
echo '{"log_level":"warn","login_attempts_per_min":3}' > "$TMP/n1.json"
kill -HUP "$NODE_PID"; sleep 0.5
grep -q "reloaded: log_level=warn login_attempts_per_min=3" "$TMP/n1.log" || fail "SIGHUP did not reload"
for i in 1 2 3; do ucurl "$A" /api/login -X POST -H 'Content-Type: application/json' -d '{"username":"x","password":"wrong-pass"}'; done
ucurl "$A" /api/login -X POST -H 'Content-Type: application/json' -d '{"username":"x","password":"wrong-pass"}'
expect_status 429 "reloaded login rate (3 a minute) applies"
echo '{"log_level":' > "$TMP/n1.json"
kill -HUP "$NODE_PID"; sleep 0.5
grep -q "reload failed, keeping the running configuration" "$TMP/n1.log" || fail "broken reload not reported"
ucurl "$A" /health; expect_status 200 "node keeps running after a broken reload"

# SIGTERM: clean shutdown within 2 s
t0=$(date +%s%N)
stop_node "$NODE_PID"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -lt 2000 ] || fail "shutdown took ${ms} ms"
grep -q "\[main\] stopped" "$TMP/n1.log" || fail "no clean stop in the log"
python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0]; sys.exit(r!='ok')" \
  "$TMP/n1/data/meshwatch.db" || fail "database integrity after shutdown"
ok "SIGTERM stops the node in ${ms} ms with an intact database"

# certificate renewal while clients keep polling /health
B=$(rand_addr)
MESHWATCH_CERT_VALIDITY_S=40 MESHWATCH_CERT_RENEW_BEFORE_S=34 MESHWATCH_CERT_CHECK_INTERVAL=1 start_node n2 "$B"
fp() { openssl s_client -connect "$B:8443" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null || true; }
f1=$(fp)
fails=0; n=0; end=$((SECONDS + 10))
while [ $SECONDS -lt $end ]; do
  code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 3 "https://$B:8443/health") || code=000
  n=$((n + 1)); [ "$code" = 200 ] || fails=$((fails + 1))
done
f2=$(fp)
[ -n "$f1" ] && [ "$f1" != "$f2" ] || fail "certificate not renewed while running ($f1 / $f2)"
[ $fails = 0 ] || fail "$fails of $n health checks failed during renewal"
grep -q "serving the renewed certificate" "$TMP/n2.log" || fail "renewal not logged"
ok "certificate renewed in place; $n health checks during renewal all 200"
stop_node "$NODE_PID"

# an expired certificate makes /health 503 with a reason
C=$(rand_addr)
MESHWATCH_CERT_VALIDITY_S=3 MESHWATCH_CERT_RENEW_BEFORE_S=0 start_node n3 "$C"
sleep 4
ucurl "$C" /health; expect_status 503 "expired certificate"
echo "$BODY" | jget 'd["problems"][0]' | grep -q "certificate expired" || fail "problems: $BODY"
[ "$(echo "$BODY" | jget 'd["status"]')" = unhealthy ] || fail "status: $BODY"
ok "/health names the expired certificate"
stop_node "$NODE_PID"

# a corrupt certificate is replaced at start, with a log line
echo "garbage" > "$TMP/n3/data/certs/cert.pem"
start_node n3 "$C"
grep -q "cert.pem is unreadable or corrupt: writing a new certificate" "$TMP/n3.log" || fail "no log line for the corrupt cert"
ucurl "$C" /health; expect_status 200 "node serves a fresh certificate after a corrupt one"

# a database that refuses writes (another process holds the write lock)
python3 - "$TMP/n3/data/meshwatch.db" 14 <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
PY
locker=$!
got=0
for i in $(seq 1 60); do
  ucurl "$C" /health
  if [ "$HTTP_STATUS" = 503 ]; then got=1; break; fi
  sleep 0.25
done
[ $got = 1 ] || fail "/health stayed 200 while the database refused writes"
echo "$BODY" | jget 'd["problems"][0]' | grep -q "database not writable" || fail "problems: $BODY"
ok "/health is 503 naming the database while it refuses writes"
wait "$locker"
got=0
for i in $(seq 1 60); do
  ucurl "$C" /health
  [ "$HTTP_STATUS" = 200 ] && { got=1; break; }
  sleep 0.25
done
[ $got = 1 ] || fail "/health did not recover after the lock was released"
ok "/health recovers when the database takes writes again"
