#!/usr/bin/env bash
# scripts/demo.sh brings up the five-node mesh from configs/ and every node
# answers /health (on a random 127.x.y network so it can run beside a demo);
# a scan with empty fields covers only the demo's own addresses; every page
# has data at once: targets up and refused, a capture read, a finished scan
# of the demo's addresses, and the reporting node's full matrix.
. "$(dirname "$0")/lib.sh"
net="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
out=$(MESHWATCH_POLL_INTERVAL=1 MESHWATCH_REPORT_INTERVAL=2 DEMO_NET=$net MESHWATCH_BIN=$MW bash "$(dirname "$0")/../../scripts/demo.sh" --check 2>&1) || fail "demo.sh --check: $out"
grep -q "all 5 nodes healthy, each knows the other 4" <<<"$out" || fail "demo output: $out"
ok "demo mesh of five nodes from configs/ comes up healthy and converges"
grep -q "demo: the mesh is signed" <<<"$out" || fail "the demo mesh is not signed: $out"
ok "the demo mesh runs signed, with a secret made for the run"
grep -q "a scan with empty fields covers only the demo's addresses: $net.11/32 .* $net.15/32" <<<"$out" || fail "demo scan defaults: $out"
ok "a scan with empty fields on the demo covers only the demo's own addresses"
grep -q "every node checks its targets (up and refused), has read its capture and scanned the demo's 5 addresses" <<<"$out" ||
  fail "the demo's targets, traffic or discovery pages are empty: $out"
ok "every demo node has targets up and refused, a capture read and a finished scan of the demo's addresses"
grep -q "the reporting node's matrix holds every pair from the 4 reporting nodes" <<<"$out" || fail "demo matrix: $out"
ok "the demo's reporting node shows the whole matrix"
# the demo builds without the browser-test tools: it never runs npm or installs chromium
! grep -nE '^[^#]*(npm|chromium|playwright)' "$(dirname "$0")/../../scripts/demo.sh" || fail "scripts/demo.sh calls npm or a browser"
grep -q 'setup.sh --build-only' "$(dirname "$0")/../../scripts/demo.sh" || fail "scripts/demo.sh does not ask setup.sh for the build only"
ok "scripts/demo.sh needs no browser and no npm (setup.sh --build-only)"
