#!/usr/bin/env bash
# Every page of the dashboard, as a new user of the demo sees it: the demo
# mesh (scripts/demo.sh --check --keep: targets, a capture, a scan, the
# reporting node's matrix) on a random 127.x.y network, plus one more node
# that joins and is killed, so node1 has a dead peer. Then
# test/integration/layout.mjs opens every page of node1 and the reporting
# node in Debian's chromium at 1440x900 and 390x844, light and dark, and
# checks that nothing overflows its box or the screen, that table cells
# keep their column names as phone cards, that the top bar takes at most
# 10 % of a phone's height, that the topology's labels do not overlap, one
# unit and time style, one back-link style, and that the header badge does
# not say "healthy" while a peer is dead. The screenshots stay in
# $MW_ARTIFACT_DIR/layout (the build directory's artifacts/layout), which
# the test prints. Skips (77) without chromium, node >= 18 or
# node_modules/playwright-core.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (scripts/setup.sh installs Debian's chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed (scripts/setup.sh installs it)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ] || skip "node $(node --version) is too old: playwright-core needs 18 or later"
[ -f "$ROOT/node_modules/playwright-core/package.json" ] ||
  skip "node_modules/playwright-core is missing: run scripts/setup.sh (npm ci)"

OUT=${MW_ARTIFACT_DIR:-$ROOT/build/artifacts}/layout
rm -rf "$OUT"
mkdir -p "$OUT"
echo "# screenshots: $OUT"

NET="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
MESH_SECRET=$SECRET MESHWATCH_POLL_INTERVAL=1 MESHWATCH_REPORT_INTERVAL=2 DEMO_NET=$NET MESHWATCH_BIN=$MW \
  bash "$ROOT/scripts/demo.sh" --check --keep >"$TMP/demo.out" 2>&1 &
DEMO_PID=$!
PIDS+=("$DEMO_PID")
up=0
for _ in $(seq 1 240); do
  grep -q "Press Ctrl-C" "$TMP/demo.out" && { up=1; break; }
  kill -0 "$DEMO_PID" 2>/dev/null || break
  sleep 0.5
done
[ $up = 1 ] || fail "the demo did not come up: $(cat "$TMP/demo.out")"
ok "the demo mesh is up and every page has its data ($(grep -c '^demo:' "$TMP/demo.out") checks of demo.sh passed)"

# One more node joins through node1 and dies: node1 then has a dead peer.
echo "{\"nodes\":[{\"fqdn\":\"node1.meshwatch.local\",\"ip\":\"$NET.11\",\"port\":8443}]}" >"$TMP/seed-ghost.json"
MESH_SECRET=$SECRET MESHWATCH_POLL_INTERVAL=1 start_node ghost "$NET.16" --seed "$TMP/seed-ghost.json"
GHOST_PID=$NODE_PID
TOKEN=$(login "$NET.11" admin meshwatch-demo)
for _ in $(seq 1 60); do
  ucurl "$NET.11" "/api/nodes?limit=100" -H "Authorization: Bearer $TOKEN"
  [ "$(jget '" ".join(p["state"] for p in d["items"] if p["fqdn"] == "ghost.test")' <<<"$BODY")" = alive ] && break
  sleep 0.5
done
kill_node "$GHOST_PID"
for _ in $(seq 1 60); do
  ucurl "$NET.11" "/api/nodes?limit=100" -H "Authorization: Bearer $TOKEN"
  [ "$(jget '" ".join(p["state"] for p in d["items"] if p["fqdn"] == "ghost.test")' <<<"$BODY")" = dead ] && break
  sleep 0.5
done
[ "$(jget '" ".join(p["state"] for p in d["items"] if p["fqdn"] == "ghost.test")' <<<"$BODY")" = dead ] ||
  fail "node1 does not see the killed ghost.test dead: $BODY"
ok "a node that joined and was killed is dead on node1"
ucurl "$NET.11" /health
h=$(jget '"%s %d %d" % (d["status"], d["peers"]["dead"], d["peers"]["alive"])' <<<"$BODY")
[ "$h" = "healthy 1 4" ] || fail "/health of node1 with a dead peer: $BODY"
ok "/health: node1's own status stays healthy (200) and says its peers: 1 dead, 4 alive"

rc=0
MW_URL="https://$NET.11:8443" MW_REP_URL="https://$NET.15:8443" MW_USER=admin MW_PASS=meshwatch-demo \
MW_DEAD_FQDN=ghost.test MW_OUT="$OUT" CHROMIUM=$CHROMIUM \
  timeout -k 5 400 node "$ROOT/test/integration/layout.mjs" >"$TMP/driver.out" 2>&1 || rc=$?
while IFS= read -r line; do
  case $line in
    "ok "*) ok "${line#ok }" ;;
    *) echo "$line" ;;
  esac
done <"$TMP/driver.out"
[ "$rc" -ne 124 ] || fail "browser driver timed out"
[ "$rc" -eq 0 ] || fail "browser driver failed (exit $rc), see above; screenshots in $OUT"
n=$(find "$OUT" -name '*.png' | wc -l)
[ "$n" -ge 68 ] || fail "only $n screenshots in $OUT (17 views x 2 sizes x 2 schemes)"
ok "$n screenshots kept in $OUT"
