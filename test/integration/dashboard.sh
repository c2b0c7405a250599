#!/usr/bin/env bash
# Browser test of the dashboard: Debian's chromium, driven by
# test/integration/dashboard.mjs through playwright-core (pinned in
# package.json / package-lock.json, installed by scripts/setup.sh), logs in,
# lands on the mesh page of a 3-node mesh (topology, peer table, live
# updates), opens a peer's node page (charts, PMTU), sees a node killed
# here turn suspect/dead without a reload, forgets it, walks the overview
# and users pages, creates/changes/deletes users, logs out. This script
# then checks the results through the API with curl. On the way: the
# killed node's "last events" on its node page, the events page (the kill
# as a row linking to the peer, a refused target arriving live, its target
# page), and the alerts page (its rules, or "not available" without the
# alerts API).
# Screenshots: $TMP/mesh.png, node.png, mesh-dead.png, node-dead.png,
# overview.png, users.png, events.png, target-events.png, alerts.png
# (+ *-narrow.png at 390 px; events and alerts at 1440x900); set
# MW_SCREENSHOT_DIR to keep copies. Skips (77) without chromium, node >= 18
# or node_modules/playwright-core.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (scripts/setup.sh installs Debian's chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed (scripts/setup.sh installs it)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || skip "node $(node --version) is too old: playwright-core needs 18 or later"
[ -f "$ROOT/node_modules/playwright-core/package.json" ] ||
  skip "node_modules/playwright-core is missing: run scripts/setup.sh (npm ci)"

# A 3-node mesh on its own random /24 of loopback: dash (the node the
# browser talks to), peer2, peer3; each seed file names the next node.
BASE="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
ADDR=$BASE.11
NAMES=(dash peer2 peer3)
declare -a MESH_PID
for i in 1 2 3; do
  next=$(( i % 3 + 1 ))
  echo "{\"nodes\":[{\"fqdn\":\"${NAMES[$next-1]}.test\",\"ip\":\"$BASE.$((10 + next))\"}]}" >"$TMP/seed$i.json"
done
for i in 1 2 3; do
  # scans may only cover the node's own loopback address
  MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SCAN_SUBNETS="$BASE.$((10 + i))/32" MESHWATCH_SCAN_RDNS=0 \
    start_node "${NAMES[$i-1]}" "$BASE.$((10 + i))" --seed "$TMP/seed$i.json"
  MESH_PID[$i]=$NODE_PID
done
URL="https://$ADDR:8443"
# The driver kills peer3 with SIGKILL in the middle of the test: its exit
# status is not checked (the exit trap still stops it if the driver did not).
KILL_PID=${MESH_PID[3]}
keep=(); for q in "${MW_PIDS[@]}"; do [ "$q" = "$KILL_PID" ] || keep+=("$q"); done; MW_PIDS=("${keep[@]}")
disown "$KILL_PID" # no "Killed" job notice from bash
# A second node whose login rate limit (2 a minute) the page runs into.
RL_ADDR=$(rand_addr)
while [ "${RL_ADDR%.*}" = "$BASE" ]; do RL_ADDR=$(rand_addr); done
MESHWATCH_LOGIN_RATE=2 start_node dashrl "$RL_ADDR"
lo_mtu=$(cat /sys/class/net/lo/mtu)
PMTU=$(( lo_mtu < 65535 ? lo_mtu : 65535 ))

# ---- "/" redirects to the dashboard (the browser checks it too)
redir=$(curl -sk --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' "$URL/")
[ "$redir" = "302 $URL/dashboard" ] || fail "GET / answered \"$redir\", want 302 to $URL/dashboard"
ok "curl: GET / is a 302 to /dashboard"

ucurl "$ADDR" /health; health=$BODY
[ "$HTTP_STATUS" = 200 ] || fail "/health: HTTP $HTTP_STATUS"
NODE_ID=$(jget 'd["node_id"]' <<<"$health")
FQDN=$(jget 'd["node_fqdn"]' <<<"$health")
[ -n "$NODE_ID" ] && [ "$FQDN" = dash.test ] || fail "/health: unexpected identity: $health"

# Does this build serve the WebSocket (/ws)? Then the page must say "live";
# without it, "polling" (and the browser's note of the failed handshake is
# expected).
TOKEN=$(login "$ADDR")
ws_code=$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
  -H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$URL/ws" || true)
if [ "$ws_code" = 101 ]; then WS=1; else WS=0; fi
echo "# /ws answers $ws_code: the page should be $( [ $WS = 1 ] && echo live || echo polling )"
# Does this build have alerting (/api/alerts)? Then the alerts page lists
# its rules; without it, the page says alerts are not available.
ucurl "$ADDR" /api/alerts -H "Authorization: Bearer $TOKEN"
if [ "$HTTP_STATUS" = 200 ]; then ALERTS=1; else ALERTS=0; fi
echo "# /api/alerts answers $HTTP_STATUS: the alerts page should $( [ $ALERTS = 1 ] && echo 'list the rules' || echo 'say alerts are not available' )"

suffix=$RANDOM
NEW_USER="dash-user-$suffix"
NEW_PASS="first-pass-$suffix"
NEW_PASS2="second-pass-$suffix"
DEL_USER="dash-gone-$suffix"

# ---- the browser part
rc=0
MW_URL=$URL MW_RL_URL="https://$RL_ADDR:8443" MW_NODE_ID=$NODE_ID MW_FQDN=$FQDN \
MW_ADMIN_USER=$ADMIN_USER MW_ADMIN_PASS=$ADMIN_PASS \
MW_NEW_USER=$NEW_USER MW_NEW_PASS=$NEW_PASS MW_NEW_PASS2=$NEW_PASS2 MW_DEL_USER=$DEL_USER \
MW_SCAN_ADDR=$ADDR MW_PEERS="peer2.test peer3.test" MW_KILL_PID=$KILL_PID MW_KILL_FQDN=peer3.test MW_PMTU=$PMTU MW_WS=$WS \
MW_ALERTS=$ALERTS \
MW_OUT=$TMP CHROMIUM=$CHROMIUM \
  timeout -k 5 165 node "$ROOT/test/integration/dashboard.mjs" >"$TMP/driver.out" 2>&1 || rc=$?
while IFS= read -r line; do
  case $line in
    "ok "*) ok "${line#ok }" ;;
    *) echo "$line" ;;
  esac
done <"$TMP/driver.out"

keep_screenshots() {
  [ -n "${MW_SCREENSHOT_DIR:-}" ] || return 0
  mkdir -p "$MW_SCREENSHOT_DIR"
  for f in mesh.png mesh-narrow.png node.png node-narrow.png mesh-dead.png node-dead.png overview.png overview-narrow.png \
           users.png users-narrow.png events.png events-narrow.png target-events.png alerts.png alerts-narrow.png \
           login-ratelimited.png failure.png; do
    [ -f "$TMP/$f" ] && cp "$TMP/$f" "$MW_SCREENSHOT_DIR/$f"
  done
  echo "screenshots copied to $MW_SCREENSHOT_DIR"
}
if [ "$rc" -ne 0 ]; then
  keep_screenshots
  [ "$rc" -eq 124 ] && fail "browser driver timed out"
  fail "browser driver failed (exit $rc), see above"
fi

# ---- screenshots are real PNGs
for f in mesh.png node.png mesh-dead.png overview.png users.png events.png alerts.png; do
  [ "$(head -c 8 "$TMP/$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$f is not a PNG"
  [ "$(stat -c %s "$TMP/$f")" -gt 10000 ] || fail "$f is suspiciously small"
done
ok "full-page screenshots saved ($TMP/mesh.png, node.png, mesh-dead.png, overview.png, users.png, events.png, alerts.png)"
keep_screenshots

# ---- what the page did, seen through the API
auth=(-H "Authorization: Bearer $TOKEN")
ucurl "$ADDR" "/api/nodes" "${auth[@]}"; nodes=$BODY
[ "$HTTP_STATUS" = 200 ] || fail "GET /api/nodes: HTTP $HTTP_STATUS"
st=$(jget '" ".join(sorted(p["fqdn"] + ":" + p["state"] for p in d["items"]))' <<<"$nodes")
[[ " $st " == *" peer2.test:alive "* ]] || fail "API: peer2 is not alive after the test: $st"
[[ " $st " != *" peer3.test:alive "* ]] || fail "API: the killed peer3 is alive: $st"
ok "API: peer2 alive, the killed peer3 is not ($st)"
ucurl "$ADDR" "/api/users?limit=1000" "${auth[@]}"; users=$BODY
[ "$HTTP_STATUS" = 200 ] || fail "GET /api/users: HTTP $HTTP_STATUS"
names=$(jget '" ".join(u["username"] for u in d["items"])' <<<"$users")
[[ " $names " == *" $NEW_USER "* ]] || fail "user created in the page is not in the API: $names"
ok "API: $NEW_USER (created with the form) exists"
[[ " $names " != *" $DEL_USER "* ]] || fail "user deleted in the page is still in the API: $names"
ok "API: $DEL_USER (deleted in the page) is gone"

ucurl "$ADDR" /api/login -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"$NEW_USER\",\"password\":\"$NEW_PASS2\"}"
expect_status 200 "API: $NEW_USER logs in with the password set in the page"
ucurl "$ADDR" /api/login -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"$NEW_USER\",\"password\":\"$NEW_PASS\"}"
expect_status 401 "API: $NEW_USER's first password no longer works"

# ---- the session the page logged out of is dead
cookie=$(cat "$TMP/cookie.txt")
[[ "$cookie" =~ ^[0-9a-f]{32,}$ ]] || fail "cookie saved by the driver looks wrong: $cookie"
ucurl "$ADDR" /api/me -H "Cookie: mw_session=$cookie"
expect_status 401 "API: /api/me with the logged-out page's cookie"

echo "dashboard: $CHECKS checks passed"
