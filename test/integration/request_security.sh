#!/usr/bin/env bash
# Request-level security and input hygiene against real nodes: the
# cross-site request checks (Origin, Sec-Fetch-Site, JSON Content-Type),
# log lines that a login name cannot forge, file modes in a data directory
# that already existed, time parameters at the edges of int64, the login
# limit per account (20 source addresses guessing one user), password
# changes that need the current password, and the unknown-user login that
# costs the configured PBKDF2 iterations.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr)
L=$(rand_addr)   # a second node for the per-account limit, which locks admin for a minute
umask 022
mkdir -p "$TMP/n1/data" && chmod 755 "$TMP/n1/data"
start_node n1 "$A"
start_node lim "$L"

# ---- per-account login limit: 20 addresses, 3 guesses each, one account.
# Each address stays under the per-address limit (10 a minute); the account
# limit (10 a minute by default) must stop the rest.
base=${L%.*}
declare -A codes=()
t0=$(date +%s)
for i in $(seq 1 20); do
  src="$base.$(( (${L##*.} + i) % 250 + 1 ))"
  [ "$src" = "$L" ] && src="$base.251"
  for k in 1 2 3; do
    ucurl "$L" /api/login --interface "$src" -X POST -H 'Content-Type: application/json' \
      -d '{"username":"admin","password":"wrong-guess-'"$i$k"'"}'
    codes[$HTTP_STATUS]=$(( ${codes[$HTTP_STATUS]:-0} + 1 ))
  done
done
[ "${codes[401]:-0}" = 10 ] || fail "per-account limit: ${codes[401]:-0} of 60 guesses from 20 addresses were checked, want 10 (statuses: $(declare -p codes))"
[ "${codes[429]:-0}" = 50 ] || fail "per-account limit: ${codes[429]:-0} of 60 guesses got 429, want 50"
ok "60 guesses at one account from 20 addresses: 10 checked, 50 refused (429)"
# the right password from a fresh address is refused too while the window lasts
hdrs=$(curl -sk -D - -o "$TMP/acct.json" --interface "$base.252" -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}" "https://$L:8443/api/login")
grep -q '^HTTP/1.1 429' <<<"$hdrs" || fail "locked account let the right password in: $hdrs"
retry=$(grep -i '^Retry-After:' <<<"$hdrs" | tr -dc 0-9)
[ -n "$retry" ] && [ "$retry" -ge 1 ] && [ "$retry" -le 60 ] || fail "429 without a sane Retry-After: $hdrs"
[ "$(jget 'd["error"]' < "$TMP/acct.json")" = rate_limited ] || fail "429 body: $(cat "$TMP/acct.json")"
jget 'd["detail"]' < "$TMP/acct.json" | grep -q login_attempts_per_account_per_min || fail "429 detail does not name the knob"
grep -q 'login rate limit reached for user "admin"' "$TMP/lim.log" || fail "the account limit is not logged"
ok "while locked, the right password gets 429 with Retry-After $retry s, and the log says so"
unlock_at=$(( t0 + 61 ))

# ---- cross-site request checks (on n1)
AUTH=(-H "Authorization: Bearer $(login "$A")")
hdrs=$(curl -sk -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}" "https://$A:8443/api/login")
sess=$(grep -i '^Set-Cookie: mw_session=' <<<"$hdrs" | sed 's/.*mw_session=\([0-9a-f]*\).*/\1/')
[ ${#sess} = 64 ] || fail "no session cookie: $hdrs"
C=(-H "Cookie: mw_session=$sess")
J=(-H 'Content-Type: application/json')
body='{"name":"csrf","host":"127.0.0.1","port":9,"interval_s":60}'
check_refused() { # WANT CODE DESCRIPTION curl-args...
  local want=$1 code=$2 what=$3; shift 3
  ucurl "$A" /api/targets -X POST "$@" -d "$body"
  [ "$HTTP_STATUS" = "$want" ] || fail "$what: expected $want, got $HTTP_STATUS: $BODY"
  [ "$(echo "$BODY" | jget 'd["error"]')" = "$code" ] || fail "$what: error code: $BODY"
  echo "$BODY" | jget 'd["detail"]' >/dev/null || fail "$what: no detail: $BODY"
  ok "$what ($want $code)"
}
check_refused 403 cross_site_request "cookie POST with a foreign Origin" "${C[@]}" "${J[@]}" -H 'Origin: https://evil.example'
check_refused 403 cross_site_request "cookie POST with Origin: null" "${C[@]}" "${J[@]}" -H 'Origin: null'
check_refused 403 cross_site_request "cookie POST from another port of the same host" "${C[@]}" "${J[@]}" -H "Origin: https://$A:9443"
check_refused 403 cross_site_request "cookie POST with Sec-Fetch-Site: cross-site" "${C[@]}" "${J[@]}" -H 'Sec-Fetch-Site: cross-site'
check_refused 403 cross_site_request "cookie POST with Sec-Fetch-Site: same-site" "${C[@]}" "${J[@]}" -H 'Sec-Fetch-Site: same-site'
check_refused 415 unsupported_media_type "cookie POST as a form" "${C[@]}" -H 'Content-Type: application/x-www-form-urlencoded'
check_refused 415 unsupported_media_type "cookie POST as text/plain" "${C[@]}" -H 'Content-Type: text/plain'
check_refused 415 unsupported_media_type "cookie POST with a body and no Content-Type" "${C[@]}" -H 'Content-Type:'
ucurl "$A" /api/targets -X POST "${C[@]}" "${J[@]}" -H "Origin: https://$A:8443" -H 'Sec-Fetch-Site: same-origin' -d "$body"
expect_status 201 "cookie POST from the node's own page (same Origin, JSON)"
tid=$(echo "$BODY" | jget 'd["id"]')
ucurl "$A" "/api/targets/$tid" -X DELETE "${C[@]}" -H 'Origin: https://evil.example'
expect_status 403 "cookie DELETE with a foreign Origin"
ucurl "$A" "/api/targets/$tid" -X PATCH "${C[@]}" -H 'Content-Type: text/plain' -d '{"enabled":false}'
expect_status 415 "cookie PATCH as text/plain"
ucurl "$A" "/api/targets/$tid" -X DELETE "${C[@]}" -H 'Sec-Fetch-Site: same-origin' -H "Origin: https://$A:8443"
expect_status 204 "cookie DELETE from the node's own page"
ucurl "$A" /api/login -X POST -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}"
[ "$HTTP_STATUS" = 415 ] || fail "a login posted as a form: expected 415, got $HTTP_STATUS"
ok "a login posted as a form (no credentials, a browser could send it): 415"
ucurl "$A" /api/targets -X POST "${AUTH[@]}" -d "$body"
expect_status 201 "a bearer-token script with curl -d (form Content-Type) still works"
tid=$(echo "$BODY" | jget 'd["id"]')
ucurl "$A" "/api/targets/$tid" -X DELETE "${AUTH[@]}"; expect_status 204 "bearer DELETE without Content-Type"
ucurl "$A" /api/logout -X POST "${C[@]}" -H "Origin: https://$A:8443"
expect_status 204 "cookie logout from the node's own page (no body, no Content-Type)"
# the signed mesh endpoint is not subject to the browser checks
ucurl "$A" /report -X POST -H 'Content-Type: text/plain' -H 'Origin: https://evil.example' --data-binary '{"version":1,'
[ "$HTTP_STATUS" = 400 ] || fail "POST /report with a foreign Origin and text/plain: expected its own 400, got $HTTP_STATUS: $BODY"
ok "POST /report (mesh, signed) is judged by its own rules, not the browser checks"

# ---- time parameters at the edges: 400 naming the parameter, never 500
ucurl "$A" /api/targets -X POST "${AUTH[@]}" "${J[@]}" -d "$body"; tid=$(echo "$BODY" | jget 'd["id"]')
self=$(ucurl "$A" /health; echo "$BODY" | jget 'd["node_id"]')
# one kept-alive connection for the 63 requests (a handshake each is slow
# under a sanitizer)
TOKEN=${AUTH[1]#Authorization: Bearer } A=$A tid=$tid self=$self python3 - <<'PY' || fail "time parameters: see above"
import http.client, json, os, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection(os.environ["A"], 8443, context=ctx, timeout=20)
tid, me = os.environ["tid"], os.environ["self"]
bad = 0
for v in ["9223372036854775807", "-9223372036854775808", "1e300", "abc", "99999999999999999999",
          "253402300800", "-1", "10000-01-01T00:00:00Z", "2026-13-01T00:00:00Z"]:
    for ep, param in [(f"/api/counters?from=1&to={v}", "to"), (f"/api/counters?from={v}", "from"),
                      (f"/api/targets/{tid}/history?from=0&to={v}", "to"), (f"/api/targets/{tid}/history?from={v}", "from"),
                      (f"/api/mesh/history?from_id={me}&to_id={me}&from=0&to={v}", "to"),
                      (f"/api/mesh/history?from_id={me}&to_id={me}&from={v}", "from"), (f"/api/changes?since={v}", "since")]:
        c.request("GET", ep, headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
        r = c.getresponse()
        body = r.read().decode()
        try:
            d = json.loads(body)
        except ValueError:
            d = {}
        if r.status != 400 or d.get("error") != "invalid_query" or f'"{param}"' not in d.get("detail", ""):
            print(f"GET {ep}: {r.status} {body}")
            bad += 1
sys.exit(1 if bad else 0)
PY
ok "out-of-range and malformed times (int64 edges, 1e300, year 10000, ...): 400 naming the parameter"
# the widest valid range is answered or refused for its size, never 500
for ep in "/api/counters?from=0&to=253402300799&step=1h" "/api/targets/$tid/history?from=0&to=253402300799" \
          "/api/targets/$tid/history?from=0&to=253402300799&group_by=1000000d" \
          "/api/mesh/history?from_id=$self&to_id=$self&from=0&to=253402300799" "/api/changes?since=253402300799"; do
  ucurl "$A" "$ep" "${AUTH[@]}"
  case $HTTP_STATUS in 200|400) ;; *) fail "GET $ep: $HTTP_STATUS $BODY";; esac
done
ok "the widest valid time range (0 to 9999-12-31T23:59:59Z) gives 200 or 400, never 500"

# ---- log lines cannot be forged through a login name
ucurl "$A" /api/login -X POST "${J[@]}" \
  -d '{"username":"x\nFORGED INFO [auth] user admin logged in\u0007","password":"wrong-password"}'
expect_status 401 "login with a newline in the username"
grep -q '^FORGED' "$TMP/n1.log" && fail "a login name forged a log line"
grep -qF 'failed login for "x\nFORGED INFO [auth] user admin logged in\x07" from' "$TMP/n1.log" \
  || fail "the escaped login name is not in the log: $(grep 'failed login' "$TMP/n1.log" | tail -2)"
ok "control characters in a logged string come out escaped (\\n, \\x07): no forged line"

# ---- files in a data directory that already existed (0755, umask 022)
for f in meshwatch.db meshwatch.db-wal meshwatch.db-shm; do
  [ -e "$TMP/n1/data/$f" ] || fail "$f missing"
  m=$(stat -c %a "$TMP/n1/data/$f")
  [ "$m" = 600 ] || fail "$f has mode $m in a pre-existing 0755 directory, want 600"
done
ok "database, -wal and -shm are 0600 in a data directory that already existed"

# ---- password changes need the current password of whoever makes them
ucurl "$A" /api/users -X POST "${AUTH[@]}" "${J[@]}" -d '{"username":"carol","password":"carol-pass-1"}'
carol=$(echo "$BODY" | jget 'd["id"]')
CT=(-H "Authorization: Bearer $(login "$A" carol carol-pass-1)")
ucurl "$A" "/api/users/$carol" -X PATCH "${CT[@]}" "${J[@]}" -d '{"password":"carol-pass-2"}'
expect_status 400 "own password change without current_password"
echo "$BODY" | jget 'd["detail"]' | grep -q current_password || fail "detail does not name current_password: $BODY"
ucurl "$A" "/api/users/$carol" -X PATCH "${CT[@]}" "${J[@]}" -d '{"password":"carol-pass-2","current_password":"not-it-at-all"}'
expect_status 403 "own password change with a wrong current_password"
[ "$(echo "$BODY" | jget 'd["error"]')" = wrong_current_password ] || fail "403 body: $BODY"
ucurl "$A" "/api/users/$carol" -X PATCH "${CT[@]}" "${J[@]}" -d '{"password":"carol-pass-2","current_password":"carol-pass-1"}'
expect_status 200 "own password change with the current password"
tok=$(login "$A" carol carol-pass-2); [ ${#tok} = 64 ] || fail "carol's new password does not work"
ucurl "$A" "/api/users/$carol" -X PATCH "${AUTH[@]}" "${J[@]}" -d '{"password":"carol-pass-3","current_password":"carol-pass-2"}'
expect_status 403 "an admin resetting another user's password with that user's password (not their own)"
ucurl "$A" "/api/users/$carol" -X PATCH "${AUTH[@]}" "${J[@]}" -d "{\"password\":\"carol-pass-3\",\"current_password\":\"$ADMIN_PASS\"}"
expect_status 200 "an admin resetting another user's password with their own current password"
ucurl "$A" "/api/users/$carol" -X PUT "${AUTH[@]}" "${J[@]}" -d '{"username":"carol2"}'
expect_status 200 "a rename alone needs no password"

# ---- an unknown username costs the configured PBKDF2 iterations: with a
# high count, a guess at an unknown user takes as long as one at a known
# user (a fixed dummy count would answer it several times faster)
U=$(rand_addr)
MESHWATCH_PBKDF2_ITERATIONS=1000000 start_node slow "$U"
tknown=0 tunknown=0
for i in 1 2; do
  t=$(curl -sk -o /dev/null -w '%{time_total}' -X POST "${J[@]}" -d '{"username":"admin","password":"wrong-password"}' "https://$U:8443/api/login")
  tknown=$(python3 -c "print(max($tknown, $t))")
  t=$(curl -sk -o /dev/null -w '%{time_total}' -X POST "${J[@]}" -d '{"username":"nobody-here","password":"wrong-password"}' "https://$U:8443/api/login")
  tunknown=$(python3 -c "print(max($tunknown, $t))")
done
python3 -c "import sys; sys.exit(0 if $tunknown >= 0.5 * $tknown else 1)" \
  || fail "an unknown user answers in ${tunknown}s, a known one in ${tknown}s: the dummy hash is cheaper than pbkdf2_iterations"
ok "unknown user ${tunknown}s vs known user ${tknown}s at 1M iterations: same cost"

# ---- after the window, the right password from a fresh address works
now=$(date +%s)
[ "$now" -lt "$unlock_at" ] && sleep $(( unlock_at - now ))
ucurl "$L" /api/login --interface "$base.253" -X POST "${J[@]}" -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}"
expect_status 200 "the right password from a fresh address after the one-minute window"
echo "all request_security checks passed ($CHECKS)"
