#!/usr/bin/env bash
# Browser test of the time charts (web/chart.js, uPlot) and the matrix, in
# Debian's chromium driven by test/integration/dashboard_charts.mjs
# (playwright-core): a real mesh of three nodes (n1, n2, n3) that report
# to a fourth (rep), which polls them too and reads a capture file written
# by gen_pcap.py. n3 is killed once the matrix is full, so the reporting
# node's matrix has dead cells. The driver checks on rep's dashboard:
#   - node (n1), pair (n1 -> n2, a reported row), target (one added here)
#     and traffic pages draw uPlot canvases with legends that name units;
#   - each range button changes the request's from/to by its span and is
#     the one shown pressed; a custom from/to is asked for as typed, and a
#     backwards one is refused in the form; drag-to-zoom shows a reset
#     that undoes it;
#   - buckets before the first measurement are gaps, not zeros;
#   - the matrix tabs (RTT, loss, PMTU, state) switch the grid and the
#     legend with its unit; dead cells say "dead", unknown is not dead;
#     column headers carry full names (title too) and are not cut off;
#     edited thresholds are kept in localStorage and recolour the grid;
#   - nothing overflows a 390 px wide screen.
# Screenshots (1440x900 and 390x844) go to meson-logs/dashboard_charts/
# beside the binary under test (the path is printed); MW_SCREENSHOT_DIR
# gets copies. Skips (77) without chromium, node >= 18 or
# node_modules/playwright-core.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (scripts/setup.sh installs Debian's chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed (scripts/setup.sh installs it)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ] || skip "node $(node --version) is too old: playwright-core needs 18 or later"
[ -f "$ROOT/node_modules/playwright-core/package.json" ] || skip "node_modules/playwright-core is missing: run scripts/setup.sh (npm ci)"

OUT=$(cd "$(dirname "$MW")" && pwd)/meson-logs/dashboard_charts
rm -rf "$OUT"
mkdir -p "$OUT"
echo "# screenshots: $OUT"

export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_REPORT_INTERVAL=2
BASE="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$BASE.$((10 + $1))"; }
R=4
# long names (start_node adds ".test"): the matrix's column headers must
# show them whole
NAMES=(- node1.eu-west.charts node2.eu-west.charts node3.us-east.charts reporting.charts)
echo "{\"server_fqdn\":\"${NAMES[$R]}.test\",\"server_ip\":\"$(addr $R)\"}" >"$TMP/reporting.json"
python3 "$HERE/gen_pcap.py" known "$TMP/known.pcap" "$TMP/expect.json"
declare -a PID
for i in 1 2 3 4; do
  n=$(( i % 4 + 1 ))
  echo "{\"nodes\":[{\"fqdn\":\"${NAMES[$n]}.test\",\"ip\":\"$(addr $n)\"}]}" >"$TMP/seed$i.json"
done
for i in 1 2 3; do
  start_node "${NAMES[$i]}" "$(addr $i)" --seed "$TMP/seed$i.json" --reporting "$TMP/reporting.json"
  PID[$i]=$NODE_PID
done
start_node "${NAMES[$R]}" "$(addr $R)" --seed "$TMP/seed$R.json" --pcap "$TMP/known.pcap" --bpf ''
TOK=$(login "$(addr $R)")
auth=(-H "Authorization: Bearer $TOK")

# the reporting node's matrix: 4 nodes, its own row and three reported, all alive
done_=0
for _ in $(seq 1 150); do
  ucurl "$(addr $R)" /api/mesh "${auth[@]}"
  if [ "$HTTP_STATUS" = 200 ] && jget 'len(d["nodes"])==4 and len(d["origins"])==4 and len(d["cells"])==12 and all(c["state"]=="alive" and c["rtt_ms"] is not None for c in d["cells"])' <<<"$BODY" | grep -q True; then done_=1; break; fi
  sleep 0.3
done
[ $done_ = 1 ] || fail "the reporting node's matrix is not full: $BODY"
ok "reporting node: 4 nodes, 12 alive cells"
ID1=$(cat "$TMP/${NAMES[1]}/data/node_id"); ID2=$(cat "$TMP/${NAMES[2]}/data/node_id"); ID3=$(cat "$TMP/${NAMES[3]}/data/node_id")
[ -n "$ID1" ] && [ -n "$ID2" ] && [ -n "$ID3" ] || fail "node ids: '$ID1' '$ID2' '$ID3'"

# a target on the reporting node: itself
ucurl "$(addr $R)" /api/targets -X POST "${auth[@]}" -H 'Content-Type: application/json' \
  -d "{\"name\":\"rep itself\",\"host\":\"$(addr $R)\",\"port\":8443,\"interval_s\":1}"
expect_status 201 "target added"
TARGET=$(jget 'd["id"]' <<<"$BODY")

# n3 goes away: its column turns dead, in rep's own row and in what n1 and n2 report
kill_node "${PID[3]}"
dead=0
for _ in $(seq 1 120); do
  ucurl "$(addr $R)" /api/mesh "${auth[@]}"
  if jget "sum(1 for c in d['cells'] if c['to']=='$ID3' and c['state']=='dead') >= 2" <<<"$BODY" | grep -q True; then dead=1; break; fi
  sleep 0.5
done
[ $dead = 1 ] || fail "n3 is not dead in the matrix: $(jget "[(c['from'][:8], c['state']) for c in d['cells'] if c['to']=='$ID3']" <<<"$BODY")"
ok "n3 killed: dead in the matrix"

rc=0
MW_URL="https://$(addr $R):8443" MW_ADMIN_USER=$ADMIN_USER MW_ADMIN_PASS=$ADMIN_PASS \
MW_ID1=$ID1 MW_ID2=$ID2 MW_ID3=$ID3 MW_NAMES="${NAMES[1]}.test ${NAMES[2]}.test ${NAMES[3]}.test ${NAMES[4]}.test" MW_TARGET=$TARGET MW_OUT="$OUT" CHROMIUM=$CHROMIUM \
  timeout -k 5 200 node "$HERE/dashboard_charts.mjs" >"$TMP/driver.out" 2>&1 || rc=$?
while IFS= read -r line; do
  case $line in
    "ok "*) ok "${line#ok }" ;;
    *) echo "$line" ;;
  esac
done <"$TMP/driver.out"
if [ -n "${MW_SCREENSHOT_DIR:-}" ]; then
  mkdir -p "$MW_SCREENSHOT_DIR" && cp "$OUT"/*.png "$MW_SCREENSHOT_DIR"/ 2>/dev/null || true
fi
[ "$rc" -ne 124 ] || fail "browser driver timed out"
[ "$rc" = 0 ] || fail "browser driver failed (exit $rc), see above; screenshots in $OUT"
for f in node.png node-narrow.png pair.png matrix-rtt.png matrix-loss.png target.png traffic.png; do
  [ "$(head -c 8 "$OUT/$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$f is not a PNG"
done
ok "screenshots in $OUT"
echo "dashboard_charts: $CHECKS checks passed"
