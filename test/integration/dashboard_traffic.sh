#!/usr/bin/env bash
# Browser test of the Traffic page (Debian's chromium through playwright-core,
# test/integration/dashboard_traffic.mjs): a node that read a capture file
# written by gen_pcap.py shows its state, live charts, protocols, top
# talkers and flows, and the filters work (a bad one shows the node's
# error); a node without capture says why and how to enable it. Skips (77)
# without chromium, node >= 18 or node_modules/playwright-core.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (scripts/setup.sh installs Debian's chromium)"
command -v node >/dev/null 2>&1 || skip "node is not installed (scripts/setup.sh installs it)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ] || skip "node $(node --version) is too old: playwright-core needs 18 or later"
[ -f "$ROOT/node_modules/playwright-core/package.json" ] || skip "node_modules/playwright-core is missing: run scripts/setup.sh (npm ci)"

python3 "$HERE/gen_pcap.py" known "$TMP/known.pcap" "$TMP/expect.json"
A=$(rand_addr)
start_node traffic "$A" --pcap "$TMP/known.pcap" --bpf ''
B=$(rand_addr)
start_node off "$B"
FLOWS=$(jget 'len(d["flows"])' < "$TMP/expect.json")
UDP=$(jget 'sum(1 for f in d["flows"] if f["proto"] == "udp")' < "$TMP/expect.json")
mkdir -p "$TMP/out"
rc=0
MW_URL="https://$A:8443" MW_OFF_URL="https://$B:8443" MW_ADMIN_USER=$ADMIN_USER MW_ADMIN_PASS=$ADMIN_PASS \
  MW_FLOWS=$FLOWS MW_UDP_FLOWS=$UDP MW_OUT="$TMP/out" CHROMIUM=$CHROMIUM \
  NODE_PATH="$ROOT/node_modules" timeout 120 node "$HERE/dashboard_traffic.mjs" || rc=$?
[ -z "${MW_SCREENSHOT_DIR:-}" ] || cp "$TMP"/out/*.png "$MW_SCREENSHOT_DIR"/ 2>/dev/null || true
[ $rc = 0 ] || fail "the browser checks failed (exit $rc)"
ok "Traffic page in the browser"
