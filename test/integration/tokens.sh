#!/usr/bin/env bash
# API tokens, read-only roles and the metrics token, against a real node
# over HTTPS: tokens are created (the secret shown once, stored hashed),
# used as bearer tokens on the API, /metrics and the WebSocket, limited by
# scope, revoked, expired; bad input and the count cap; users with the
# read role; the last admin kept; metrics_token_file good and bad.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr)
printf '  %s\n' "prometheus-scrape-secret-0123456789" > "$TMP/metrics.token"
start_node n1 "$A" --metrics-token-file "$TMP/metrics.token"
ADMIN=$(login "$A")
AUTH=(-H "Authorization: Bearer $ADMIN")
JSON=(-H 'Content-Type: application/json')

# create: 201, the secret once, the DESIGN shape
ucurl "$A" /api/tokens "${AUTH[@]}" -X POST -d '{"name":"ci reader","scope":"read"}'; body=$BODY
expect_status 201 "create a read token"
[ "$(echo "$body" | jget 'sorted(d.keys())')" = "['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scope', 'token']" ] ||
  fail "create shape: $body"
[ "$(echo "$body" | jget 'd["scope"], d["expires_at"], d["last_used_at"]')" = "read None None" ] || fail "create fields: $body"
echo "$body" | jget 'd["created_at"]' | grep -Eq '^[0-9-]{10}T[0-9:]{8}Z$' || fail "created_at not RFC 3339: $body"
READ=$(echo "$body" | jget 'd["token"]')
read_id=$(echo "$body" | jget 'd["id"]')
[[ "$READ" =~ ^mwt_[0-9a-f]{64}$ ]] || fail "token is not mwt_ + 64 hex: $READ"
ok "a token is mwt_ and 64 hex characters"
ucurl "$A" /api/tokens "${AUTH[@]}" -X POST -d '{"name":"deployer","scope":"admin"}'; body=$BODY
expect_status 201 "create an admin token"
ADM=$(echo "$body" | jget 'd["token"]')
adm_id=$(echo "$body" | jget 'd["id"]')

ucurl "$A" /api/tokens "${AUTH[@]}"; body=$BODY; expect_status 200 "list tokens"
[ "$(echo "$body" | jget 'd["total"], sorted(d.keys())')" = "2 ['items', 'limit', 'offset', 'total']" ] || fail "list: $body"
[ "$(echo "$body" | jget 'sorted(d["items"][0].keys())')" = "['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scope']" ] ||
  fail "list item shape: $body"
grep -q "$READ" <<<"$body" && fail "the list shows a secret: $body"
ucurl "$A" "/api/tokens/$read_id" "${AUTH[@]}"; body=$BODY; expect_status 200 "get a token"
echo "$body" | jget '"token" in d' | grep -qx False || fail "get shows the secret: $body"
ucurl "$A" /api/tokens/999999 "${AUTH[@]}"; expect_status 404 "unknown token id"
python3 - "$TMP/n1/data/meshwatch.db" "$READ" "$ADM" <<'PY' || fail "token stored in clear"
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = dict(db.execute("SELECT name, token_hash FROM tokens"))
for secret in sys.argv[2:]:
    assert secret not in str(rows), rows
assert rows["ci reader"] == hashlib.sha256(sys.argv[2].encode()).hexdigest(), rows
PY
ok "tokens are stored as SHA-256 hashes, like sessions; the secret is shown once"

# a read token reads everything and changes nothing
RT=(-H "Authorization: Bearer $READ")
for p in /metrics /api/nodes /api/me /api/targets /api/users; do
  ucurl "$A" "$p" "${RT[@]}"; expect_status 200 "read token: GET $p"
done
ucurl "$A" /api/me "${RT[@]}"; body=$BODY
[ "$(echo "$body" | jget 'd["role"], d["token"]["name"]')" = "read ci reader" ] || fail "/api/me for a token: $body"
ucurl "$A" /api/nodes "${RT[@]}" -I; expect_status 200 "read token: HEAD /api/nodes"
ucurl "$A" /api/targets "${RT[@]}" -X POST -d '{"name":"t","host":"127.0.0.1","port":9}'; body=$BODY
expect_status 403 "read token: POST /api/targets"
[ "$(echo "$body" | jget 'd["error"]')" = forbidden ] || fail "403 code: $body"
echo "$body" | jget 'd["detail"]' | grep -q 'read-only' || fail "403 does not say read-only: $body"
ucurl "$A" "/api/tokens/$adm_id" "${RT[@]}" -X DELETE; expect_status 403 "read token: DELETE /api/tokens/{id}"
ucurl "$A" /api/tokens "${RT[@]}"; expect_status 403 "read token: GET /api/tokens (admin only)"
ucurl "$A" /api/tokens "${RT[@]}" -X POST -d '{"name":"escalate","scope":"admin"}'; expect_status 403 "read token: create an admin token"
ucurl "$A" /api/tokens "${RT[@]}" -X POST -d '{"name":"another","scope":"read"}'; expect_status 403 "read token: create a read token"
ucurl "$A" /api/logout "${RT[@]}" -X POST; expect_status 403 "read token: POST /api/logout"
ucurl "$A" /api/me "${RT[@]}"; expect_status 200 "the read token still works"

# an admin token changes things, but cannot change passwords
AT=(-H "Authorization: Bearer $ADM")
ucurl "$A" /api/targets "${AT[@]}" -X POST -d '{"name":"tok-target","host":"127.0.0.1","port":9}'; body=$BODY
expect_status 201 "admin token: POST /api/targets"
tid=$(echo "$body" | jget 'd["id"]')
ucurl "$A" "/api/targets/$tid" "${AT[@]}" -X DELETE; expect_status 204 "admin token: DELETE /api/targets/{id}"
ucurl "$A" /api/users/1 "${AT[@]}" -X PATCH -d '{"password":"new-pass-123","current_password":"x"}'
expect_status 403 "admin token: a password change needs a logged-in user"

# WebSocket: a token opens it as a session does; the metrics token does not
ws_try() {
  python3 - "$A" "$1" <<'PY'
import base64, os, socket, ssl, sys
addr, tok = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((addr, 8443), timeout=5))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: %s:8443\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n" % (addr, key, tok)).encode())
print(s.recv(4096).split(b"\r\n", 1)[0].decode())
PY
}
ws_try "$READ" | grep -q ' 101 ' || fail "a read token cannot open /ws"
ok "a read token opens the WebSocket"
ws_try "prometheus-scrape-secret-0123456789" | grep -q ' 101 ' && fail "the metrics token opened /ws"
ok "the metrics token does not open the WebSocket"

# last_used_at is recorded (and then at most once a minute)
ucurl "$A" "/api/tokens/$read_id" "${AUTH[@]}"; body=$BODY
used=$(echo "$body" | jget 'd["last_used_at"]')
[ "$used" != None ] || fail "last_used_at not set after use: $body"
python3 - "$TMP/n1/data/meshwatch.db" <<'PY' || fail "last_used_at written again within a minute"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE tokens SET last_used_at = last_used_at - 30 WHERE name='ci reader'")
db.commit()
PY
before=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT last_used_at FROM tokens WHERE name='ci reader'\").fetchone()[0])" "$TMP/n1/data/meshwatch.db")
ucurl "$A" /api/me "${RT[@]}"; expect_status 200 "use the read token again"
after=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT last_used_at FROM tokens WHERE name='ci reader'\").fetchone()[0])" "$TMP/n1/data/meshwatch.db")
[ "$before" = "$after" ] || fail "last_used_at rewritten 30 s after the last write ($before -> $after)"
python3 - "$TMP/n1/data/meshwatch.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE tokens SET last_used_at = last_used_at - 61 WHERE name='ci reader'")
db.commit()
PY
ucurl "$A" /api/me "${RT[@]}"
after2=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT last_used_at FROM tokens WHERE name='ci reader'\").fetchone()[0])" "$TMP/n1/data/meshwatch.db")
[ "$after2" -gt "$after" ] || fail "last_used_at not refreshed after a minute ($after -> $after2)"
ok "last_used_at is set on use, and written at most once a minute"

# revoke: 204, and the next request is refused
ucurl "$A" "/api/tokens/$adm_id" "${AUTH[@]}" -X DELETE; expect_status 204 "revoke the admin token"
ucurl "$A" /api/me "${AT[@]}"; body=$BODY; expect_status 401 "a revoked token is refused at once"
ucurl "$A" "/api/tokens/$adm_id" "${AUTH[@]}" -X DELETE; expect_status 404 "revoke it again"

# expiry
now=$(date +%s)
ucurl "$A" /api/tokens "${AUTH[@]}" -X POST -d "{\"name\":\"short-lived\",\"scope\":\"read\",\"expires_at\":$((now + 8))}"; body=$BODY
expect_status 201 "create a token that expires in 8 s"
SHORT=$(echo "$body" | jget 'd["token"]')
echo "$body" | jget 'd["expires_at"]' | grep -q 'Z$' || fail "expires_at not a time: $body"
ucurl "$A" /api/me -H "Authorization: Bearer $SHORT"; expect_status 200 "before expiry"
# (8 s: time enough for the checks above on a busy machine under a sanitizer)
while [ "$(date +%s)" -le $((now + 8)) ]; do sleep 0.2; done
ucurl "$A" /api/me -H "Authorization: Bearer $SHORT"; body=$BODY; expect_status 401 "after expiry"
[ "$(echo "$body" | jget 'd["error"]')" = token_expired ] || fail "expired code: $body"
echo "$body" | jget 'd["detail"]' | grep -q 'expired' || fail "401 does not say expired: $body"
ucurl "$A" /api/tokens "${AUTH[@]}" -X POST -d '{"name":"rfc","scope":"read","expires_at":"2999-01-01T00:00:00Z"}'; body=$BODY
expect_status 201 "expires_at as an RFC 3339 time"

# bad input
bad() { # bad WANT BODY DESCRIPTION [FIELD]
  ucurl "$A" /api/tokens "${AUTH[@]}" -X POST -d "$2"; local b=$BODY
  expect_status "$1" "$3"
  [ -z "${4:-}" ] || echo "$b" | jget 'd["detail"]' | grep -q "$4" || fail "$3: detail does not name $4: $b"
}
bad 400 '{"scope":"read"}' "missing name" name
bad 400 '{"name":"","scope":"read"}' "empty name" name
bad 400 "{\"name\":\"$(printf 'n%.0s' {1..65})\",\"scope\":\"read\"}" "name of 65 characters" name
bad 400 '{"name":"tab\there","scope":"read"}' "name with a control character" name
bad 400 '{"name":"x","scope":"root"}' "scope root" scope
bad 400 '{"name":"x"}' "missing scope" scope
bad 400 "{\"name\":\"x\",\"scope\":\"read\",\"expires_at\":$((now - 10))}" "expires_at in the past" expires_at
bad 400 '{"name":"x","scope":"read","expires_at":"soon"}' "expires_at not a time" expires_at
bad 400 '{"name":"x","scope":"read","expires_at":1.5}' "expires_at fractional" expires_at
bad 400 '[1]' "body not an object"
bad 409 '{"name":"ci reader","scope":"read"}' "duplicate name" "ci reader"
ucurl "$A" /api/tokens "${AUTH[@]}" -X POST -d "{\"name\":\"$(printf 'n%.0s' {1..64})\",\"scope\":\"read\"}"
expect_status 201 "name of 64 characters"

# the count cap: TOKENS_MAX (256)
ucurl "$A" "/api/tokens?limit=1" "${AUTH[@]}"; have=$(echo "$BODY" | jget 'd["total"]')
# one kept-alive connection: a TLS handshake per token would be most of
# the test's time
python3 - "$A" "$ADMIN" "$have" <<'PY' || fail "could not make 256 tokens"
import http.client, json, ssl, sys
addr, tok, have = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = http.client.HTTPSConnection(addr, 8443, timeout=10, context=ssl._create_unverified_context())
for i in range(have, 256):
    c.request("POST", "/api/tokens", json.dumps({"name": "bulk-%d" % i, "scope": "read"}),
              {"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
    r = c.getresponse(); body = r.read()
    if r.status != 201:
        sys.exit("token %d of 256: HTTP %d %s" % (i + 1, r.status, body))
PY
ok "256 tokens made"
ucurl "$A" /api/tokens "${AUTH[@]}" -X POST -d '{"name":"one-too-many","scope":"read"}'; body=$BODY
expect_status 409 "the 257th token"
[ "$(echo "$body" | jget 'd["error"]')" = token_limit ] || fail "cap code: $body"
echo "$body" | jget 'd["detail"]' | grep -q 256 || fail "cap detail does not name 256: $body"
ucurl "$A" "/api/tokens?limit=1000" "${AUTH[@]}"
[ "$(echo "$BODY" | jget 'd["total"], len(d["items"])')" = "256 256" ] || fail "list after the cap"
ucurl "$A" "/api/tokens/$read_id" "${AUTH[@]}" -X DELETE; expect_status 204 "revoke one to make room"
ucurl "$A" /api/me "${RT[@]}"; expect_status 401 "the revoked read token"

# roles: a read user
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d '{"username":"viewer","password":"viewer-pass-1","role":"read"}'; body=$BODY
expect_status 201 "create a read user"
[ "$(echo "$body" | jget 'd["role"]')" = read ] || fail "role: $body"
viewer=$(echo "$body" | jget 'd["id"]')
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d '{"username":"x","password":"long-enough-1","role":"root"}'
expect_status 400 "role root"
VT=$(login "$A" viewer viewer-pass-1)
VA=(-H "Authorization: Bearer $VT")
ucurl "$A" /api/me "${VA[@]}"; body=$BODY; expect_status 200 "read user: /api/me"
[ "$(echo "$body" | jget 'd["role"], d["username"]')" = "read viewer" ] || fail "me: $body"
ucurl "$A" /api/users "${VA[@]}"; expect_status 200 "read user: list users"
ucurl "$A" /api/nodes "${VA[@]}"; expect_status 200 "read user: GET /api/nodes"
ucurl "$A" /api/users "${VA[@]}" -X POST -d '{"username":"mallory","password":"mallory-pass-1"}'; body=$BODY
expect_status 403 "read user: create a user"
echo "$body" | jget 'd["detail"]' | grep -q 'read-only' || fail "403 does not say read-only: $body"
ucurl "$A" "/api/users/$viewer" "${VA[@]}" -X PATCH -d '{"role":"admin"}'; expect_status 403 "read user: promote itself"
ucurl "$A" /api/tokens "${VA[@]}" -X POST -d '{"name":"mine","scope":"read"}'; expect_status 403 "read user: create a token"
# the dashboard's cookie session, with the page's own headers
cookie_hdrs=(-H "Cookie: mw_session=$VT" -H "Origin: https://$A:8443" "${JSON[@]}")
ucurl "$A" /api/alerts/rules "${cookie_hdrs[@]}" -X POST -d '{"name":"x"}'; expect_status 403 "read user's cookie: POST /api/alerts/rules"
ucurl "$A" /api/logout "${VA[@]}" -X POST; expect_status 204 "read user: log out"
ucurl "$A" /api/me "${VA[@]}"; expect_status 401 "read user: logged out"
# demoting and promoting takes effect on the live session
VT=$(login "$A" viewer viewer-pass-1); VA=(-H "Authorization: Bearer $VT")
ucurl "$A" "/api/users/$viewer" "${AUTH[@]}" -X PATCH -d '{"role":"admin"}'; body=$BODY; expect_status 200 "promote viewer"
[ "$(echo "$body" | jget 'd["role"]')" = admin ] || fail "promote: $body"
ucurl "$A" /api/tokens "${VA[@]}"; expect_status 200 "the promoted user's session is an admin's at once"
ucurl "$A" "/api/users/$viewer" "${AUTH[@]}" -X PATCH -d '{"role":"read"}'; expect_status 200 "demote viewer"
ucurl "$A" /api/tokens "${VA[@]}"; expect_status 403 "the demoted user's session is read-only at once"
ucurl "$A" "/api/users/$viewer" "${AUTH[@]}" -X PATCH -d '{"role":"boss"}'; expect_status 400 "PATCH role boss"

# the last admin
ucurl "$A" /api/me "${AUTH[@]}"; admin_id=$(echo "$BODY" | jget 'd["id"]')
[ "$(echo "$BODY" | jget 'd["role"]')" = admin ] || fail "admin's role: $BODY"
ucurl "$A" "/api/users/$admin_id" "${AUTH[@]}" -X PATCH -d '{"role":"read"}'; body=$BODY
expect_status 409 "demote the last admin"
[ "$(echo "$body" | jget 'd["error"]')" = last_admin ] || fail "last admin code: $body"
ucurl "$A" "/api/users/$admin_id" "${AUTH[@]}" -X DELETE; body=$BODY
expect_status 409 "delete the last admin"
[ "$(echo "$body" | jget 'd["error"]')" = last_admin ] || fail "last admin code: $body"
ucurl "$A" "/api/users/$viewer" "${AUTH[@]}" -X DELETE; expect_status 204 "delete the read user"
ucurl "$A" /api/me "${VA[@]}"; expect_status 401 "the deleted user's session ends"

# the metrics token: /metrics only
MT=(-H "Authorization: Bearer prometheus-scrape-secret-0123456789")
ucurl "$A" /metrics "${MT[@]}"; body=$BODY; expect_status 200 "metrics token: GET /metrics"
grep -q '^meshwatch_' <<<"$body" || fail "/metrics body: ${body:0:200}"
ucurl "$A" /api/nodes "${MT[@]}"; body=$BODY; expect_status 403 "metrics token: GET /api/nodes"
echo "$body" | jget 'd["detail"]' | grep -q '/metrics' || fail "metrics token 403: $body"
ucurl "$A" /api/me "${MT[@]}"; expect_status 403 "metrics token: GET /api/me"
ucurl "$A" /metrics -H "Authorization: Bearer prometheus-scrape-secret-012345678"; expect_status 401 "a near miss of the metrics token"
ucurl "$A" /metrics -H "Cookie: mw_session=prometheus-scrape-secret-0123456789"; expect_status 401 "the metrics token as a cookie"
ucurl "$A" /api/tokens "${AUTH[@]}"
grep -q 'prometheus' <<<"$BODY" && fail "the metrics token is listed: $BODY"
ok "the metrics token is not among the API tokens"

# bad metrics_token_file: exit 2 at start, naming the file
bad_start() { # bad_start DESCRIPTION WANT_TEXT FILE
  local st=0
  "$MW" --listen "$(rand_addr):8443" --data-dir "$TMP/bad" --metrics-token-file "$3" >"$TMP/bad.out" 2>&1 || st=$?
  [ $st = 2 ] || fail "$1: exit $st, $(cat "$TMP/bad.out")"
  grep -q "metrics_token_file $3" "$TMP/bad.out" && grep -q "$2" "$TMP/bad.out" || fail "$1: message: $(cat "$TMP/bad.out")"
  ok "$1: exit 2 naming the file"
}
printf 'short-token\n' > "$TMP/short.token"
bad_start "a metrics token under 20 characters" "shorter than 20" "$TMP/short.token"
printf '   \n' > "$TMP/blank.token"
bad_start "a blank metrics token file" "shorter than 20" "$TMP/blank.token"
printf 'two tokens-0123456789 abcdefghij\n' > "$TMP/two.token"
bad_start "a metrics token with a space" "printable" "$TMP/two.token"
bad_start "a missing metrics token file" "No such file" "$TMP/none.token"
MESHWATCH_METRICS_TOKEN_FILE="$TMP/metrics.token" "$MW" --data-dir "$TMP/cfg" --check-config > "$TMP/cfg.out" ||
  fail "MESHWATCH_METRICS_TOKEN_FILE: $(cat "$TMP/cfg.out")"
grep -q 'prometheus-scrape' "$TMP/cfg.out" && fail "--check-config prints the metrics token"
ok "--check-config takes MESHWATCH_METRICS_TOKEN_FILE and does not print the token"
grep -q 'prometheus-scrape' "$TMP"/n1.log && fail "the node logged the metrics token"
grep -q "$READ" "$TMP"/n1.log && fail "the node logged an API token"
ok "no secret in the node's log"

echo "all $CHECKS checks passed"
