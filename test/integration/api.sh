#!/usr/bin/env bash
# Every endpoint of the foundation with good and bad input, against a real
# node over HTTPS: status codes, JSON error shapes, auth, users, limits.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr)
start_node n1 "$A" --max-body 4096

# /health: NodeProbe's fields plus ours
ucurl "$A" /health; body=$BODY
expect_status 200 "GET /health"
for f in status timestamp node_id node_fqdn node_ip known_nodes uptime_s version; do
  echo "$body" | jget "d['$f']" >/dev/null || fail "/health lacks $f: $body"
done
[ "$(echo "$body" | jget 'd["status"]')" = healthy ] || fail "status not healthy: $body"
[ "$(echo "$body" | jget 'd["node_fqdn"]')" = n1.test ] || fail "fqdn: $body"
echo "$body" | jget 'd["timestamp"]' | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' || fail "timestamp not RFC 3339: $body"
node_id=$(echo "$body" | jget 'd["node_id"]')
[ "$(cat "$TMP/n1/data/node_id")" = "$node_id" ] || fail "node_id differs from DATA_DIR/node_id"
ok "/health fields, RFC 3339 time, node id kept in DATA_DIR"

# / and /dashboard
hdrs=$(curl -sk -o /dev/null -D - "https://$A:8443/")
grep -q '^HTTP/1.1 302' <<<"$hdrs" || fail "/ is not 302: $hdrs"
grep -qi '^Location: /dashboard' <<<"$hdrs" || fail "/ does not redirect to /dashboard"
ok "/ redirects to /dashboard"
ucurl "$A" /dashboard; expect_status 200 "GET /dashboard without login"
ucurl "$A" /assets/app.js; expect_status 200 "GET /assets/app.js"
ucurl "$A" /assets/nope.js; expect_status 404 "unknown asset"

# /nodeinfo
ucurl "$A" /nodeinfo; body=$BODY; expect_status 200 "GET /nodeinfo"
[ "$(echo "$body" | jget 'd["node_id"]')" = "$node_id" ] || fail "nodeinfo id"
[ "$(echo "$body" | jget 'len(d["peers"])')" = 0 ] || fail "nodeinfo peers not empty"

# errors: 404, 405, JSON shape
ucurl "$A" /no/such/thing; body=$BODY; expect_status 404 "unknown route"
[ "$(echo "$body" | jget 'sorted(d.keys())')" = "['detail', 'error']" ] || fail "error shape: $body"
ucurl "$A" /health -X DELETE; body=$BODY; expect_status 405 "DELETE /health"
echo "$body" | jget 'd["error"]' | grep -q method_not_allowed || fail "405 body: $body"
ucurl "$A" /health -I; expect_status 200 "HEAD /health"

# unauthenticated /api and /metrics
for p in /api/me /api/users /api/node /metrics; do
  ucurl "$A" "$p"; body=$BODY; expect_status 401 "GET $p without a session"
  echo "$body" | jget 'd["error"]' | grep -q unauthenticated || fail "$p 401 body: $body"
done
ucurl "$A" /api/me -H 'Authorization: Bearer 0000000000000000000000000000000000000000000000000000000000000000'
expect_status 401 "unknown bearer token"
ucurl "$A" /api/me -H 'Authorization: Bearer short'
expect_status 401 "malformed bearer token"

# login: bad JSON, wrong types, wrong password, success with cookie + token
ucurl "$A" /api/login -X POST -H 'Content-Type: application/json' -d '{"username":'; body=$BODY; expect_status 400 "malformed JSON"
echo "$body" | jget 'd["error"]' | grep -q invalid_json || fail "malformed JSON body: $body"
ucurl "$A" /api/login -X POST -H 'Content-Type: application/json' -d '{"username":1,"password":"x"}'; body=$BODY; expect_status 400 "username not a string"
echo "$body" | jget 'd["detail"]' | grep -q username || fail "detail does not name the field: $body"
ucurl "$A" /api/login -X POST -H 'Content-Type: application/json' -d '[1,2]'; expect_status 400 "body not an object"
ucurl "$A" /api/login -X POST -H 'Content-Type: application/json' -d '{"username":"admin","password":"wrong-password"}'
expect_status 401 "wrong password"
ucurl "$A" /api/login -X POST -H 'Content-Type: application/json' -d '{"username":"ghost","password":"wrong-password"}'
expect_status 401 "unknown user"
hdrs=$(curl -sk -D - -o "$TMP/login.json" -X POST -H 'Content-Type: application/json' "https://$A:8443/api/login" \
  -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}")
grep -q '^HTTP/1.1 200' <<<"$hdrs" || fail "login failed: $hdrs"
cookie=$(echo "$hdrs" | grep -i '^Set-Cookie:' | tr -d '\r')
for attr in HttpOnly Secure SameSite=Strict 'Path=/' 'mw_session='; do
  grep -q "$attr" <<<"$cookie" || fail "cookie lacks $attr: $cookie"
done
ok "login sets an HttpOnly Secure SameSite=Strict cookie"
TOKEN=$(jget 'd["token"]' < "$TMP/login.json")
[ ${#TOKEN} = 64 ] || fail "token length"
sess=$(echo "$cookie" | sed 's/.*mw_session=\([0-9a-f]*\).*/\1/')
ucurl "$A" /api/me -H "Cookie: mw_session=$sess"; body=$BODY; expect_status 200 "/api/me with the cookie"
[ "$(echo "$body" | jget 'd["username"]')" = admin ] || fail "me: $body"
grep -qi hash <<<"$body" && fail "user JSON leaks a hash: $body"
AUTH=(-H "Authorization: Bearer $TOKEN")
ucurl "$A" /api/me "${AUTH[@]}"; expect_status 200 "/api/me with the bearer token"
python3 - "$TMP/n1/data/meshwatch.db" "$TOKEN" <<'PY' || fail "session token stored in clear"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = [r[0] for r in db.execute("SELECT token_hash FROM sessions")]
assert rows and sys.argv[2] not in rows, rows
PY
ok "sessions are stored hashed"

# users CRUD
ucurl "$A" /api/users "${AUTH[@]}"; body=$BODY; expect_status 200 "list users"
[ "$(echo "$body" | jget 'sorted(d.keys())')" = "['items', 'limit', 'offset', 'total']" ] || fail "collection shape: $body"
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d '{"username":"alice","password":"alice-pass-1"}'; body=$BODY
expect_status 201 "create alice"
alice=$(echo "$body" | jget 'd["id"]')
echo "$body" | jget 'd["created_at"]' | grep -q 'Z$' || fail "created_at: $body"
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d '{"username":"alice","password":"alice-pass-1"}'
expect_status 409 "duplicate username"
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d '{"username":"bob","password":"short"}'; body=$BODY
expect_status 400 "password too short"
echo "$body" | jget 'd["detail"]' | grep -q password || fail "detail names password: $body"
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d '{"username":"bad name!","password":"long-enough-1"}'; body=$BODY
expect_status 400 "bad username characters"
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d '{"password":"long-enough-1"}'
expect_status 400 "missing username"
ucurl "$A" "/api/users?q=ali" "${AUTH[@]}"; body=$BODY; expect_status 200 "search users"
[ "$(echo "$body" | jget 'd["total"]')" = 1 ] || fail "search total: $body"
ucurl "$A" "/api/users?limit=1&offset=1" "${AUTH[@]}"; body=$BODY
[ "$(echo "$body" | jget 'len(d["items"]), d["total"], d["limit"], d["offset"]')" = "1 2 1 1" ] || fail "paging: $body"
ok "paging with limit and offset"
ucurl "$A" "/api/users?limit=0" "${AUTH[@]}"; expect_status 400 "limit=0"
ucurl "$A" "/api/users?limit=abc" "${AUTH[@]}"; expect_status 400 "limit=abc"
ucurl "$A" "/api/users?limit=1001" "${AUTH[@]}"; expect_status 400 "limit over 1000"
ucurl "$A" "/api/users/$alice" "${AUTH[@]}"; expect_status 200 "get alice"
ucurl "$A" /api/users/999999 "${AUTH[@]}"; expect_status 404 "unknown user id"
ucurl "$A" /api/users/abc "${AUTH[@]}"; expect_status 404 "non-numeric user id"
[[ "$BODY" == *'\"abc\" is not an id (a positive integer)'* ]] || fail "non-numeric user id not named: $BODY"
atok=$(login "$A" alice alice-pass-1)
[ ${#atok} = 64 ] || fail "alice cannot log in"
ucurl "$A" "/api/users/$alice" "${AUTH[@]}" -X PATCH -d "{\"password\":\"alice-pass-2\",\"current_password\":\"$ADMIN_PASS\"}"; body=$BODY
expect_status 200 "change alice's password"
ucurl "$A" /api/me -H "Authorization: Bearer $atok"
expect_status 401 "alice's old session ends when an admin changes her password"
atok=$(login "$A" alice alice-pass-2); [ ${#atok} = 64 ] || fail "new password does not work"
ok "new password works"
ucurl "$A" "/api/users/$alice" "${AUTH[@]}" -X PUT -d '{"username":"alice2"}'; body=$BODY
expect_status 200 "rename alice"
[ "$(echo "$body" | jget 'd["username"]')" = alice2 ] || fail "rename: $body"
ucurl "$A" "/api/users/$alice" "${AUTH[@]}" -X PUT -d '{"username":"admin"}'
expect_status 409 "rename onto a taken name"
ucurl "$A" "/api/users/$alice" "${AUTH[@]}" -X PATCH -d '{}'
expect_status 400 "empty update"
ucurl "$A" "/api/users/$alice" "${AUTH[@]}" -X DELETE; expect_status 204 "delete alice"
ucurl "$A" /api/me -H "Authorization: Bearer $atok"
expect_status 401 "deleted user's session is gone"
ucurl "$A" "/api/users/$alice" "${AUTH[@]}" -X DELETE; expect_status 404 "delete again"
ucurl "$A" /api/me "${AUTH[@]}"; admin_id=$(echo "$BODY" | jget 'd["id"]')
ucurl "$A" "/api/users/$admin_id" "${AUTH[@]}" -X DELETE; expect_status 409 "cannot delete the last user"

# body limit (node started with --max-body 4096): 413 and JSON
big=$(head -c 5000 /dev/zero | tr '\0' 'a')
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d "{\"username\":\"$big\"}"; body=$BODY; expect_status 413 "body over max_body_bytes"
echo "$body" | jget 'd["detail"]' | grep -q 4096 || fail "413 detail names the limit: $body"
body=$(head -c 5000 /dev/zero | tr '\0' 'a' | curl -sk -w '\n%{http_code}' -H 'Transfer-Encoding: chunked' -X POST \
  --data-binary @- "${AUTH[@]}" "https://$A:8443/api/users")
[ "${body##*$'\n'}" = 413 ] || fail "chunked body over the limit: $body"
ok "chunked body over the limit (413)"
ucurl "$A" /health; expect_status 200 "node still answers after 413s"

# metrics
ucurl "$A" /metrics "${AUTH[@]}"; body=$BODY; expect_status 200 "GET /metrics with a token"
for m in 'meshwatch_build_info{version=' meshwatch_uptime_seconds \
  'meshwatch_http_requests_total{route="/health",status="200"}' \
  'meshwatch_http_requests_total{route="/api/users",status="413"}' \
  'meshwatch_tls_handshakes_total{result="ok"}'; do
  grep -qF "$m" <<<"$body" || fail "metrics lack $m"
done
ok "metrics count requests by route and status, and TLS handshakes"
# the exposition itself: what Prometheus accepts (types, suffixes, histograms)
if command -v promtool >/dev/null; then
  out=$(promtool check metrics <<<"$body" 2>&1) || fail "promtool check metrics: $out"
  grep -q '^meshwatch_tls_handshake_seconds_bucket{le="+Inf"} [1-9]' <<<"$body" || fail "no handshake histogram"
  ok "/metrics passes promtool check metrics (handshake and poll durations are histograms)"
else
  echo "# promtool not installed (Debian package prometheus): exposition check left out"
fi
# memory gauges: positive, and the SQLite share is part of the heap
sanitized=0; grep -q __asan_init "$MW" && sanitized=1
mem=$(echo "$body" | SANITIZED=$sanitized python3 -c '
import os, re, sys
v = {m[0]: int(m[1]) for m in re.findall(r"^(meshwatch_(?:resident|heap)_bytes\{kind=\"\w+\"\}) (\d+)$", sys.stdin.read(), re.M)}
a, f = v.get("meshwatch_resident_bytes{kind=\"anon\"}", 0), v.get("meshwatch_resident_bytes{kind=\"file\"}", 0)
h, q = v.get("meshwatch_heap_bytes{kind=\"in_use\"}"), v.get("meshwatch_heap_bytes{kind=\"sqlite\"}", 0)
if h is not None:
    h += v.get("meshwatch_heap_bytes{kind=\"mapped\"}", 0)
# in_use is left out under a sanitizer, whose allocator keeps no such figure
if os.environ["SANITIZED"] == "1" and h is None:
    h = q + 1
print("ok" if a > 0 and f > 0 and q > 0 and h is not None and q < h else "bad %r" % v)')
[ "$mem" = ok ] || fail "memory metrics: $mem"
ok "metrics give resident memory (anon/file) and the heap with SQLite's share"

# logout ends the session
ucurl "$A" /api/logout "${AUTH[@]}" -X POST; expect_status 204 "logout"
ucurl "$A" /api/me "${AUTH[@]}"; expect_status 401 "token after logout"

# login rate limit: 10 a minute by default, refilled one every 6 s; on a
# loaded machine each wrong password (a full PBKDF2) can take a second, so
# the 429 may come a few attempts after the 11th
for i in $(seq 1 10); do
  ucurl "$A" /api/login -X POST -H 'Content-Type: application/json' -d '{"username":"admin","password":"wrong-password"}'
done
for i in $(seq 11 30); do
  hdrs=$(curl -sk -D - -o "$TMP/rl.json" -X POST -H 'Content-Type: application/json' -d '{"username":"admin","password":"wrong-password"}' "https://$A:8443/api/login")
  grep -q '^HTTP/1.1 429' <<<"$hdrs" && break
done
grep -q '^HTTP/1.1 429' <<<"$hdrs" || fail "no 429 after 30 attempts: $hdrs"
grep -qi '^Retry-After: [0-9]' <<<"$hdrs" || fail "429 without Retry-After"
jget 'd["error"]' < "$TMP/rl.json" | grep -q rate_limited || fail "429 body"
ok "login attempts are rate limited per client address (429 + Retry-After)"
echo "all api checks passed ($CHECKS)"
