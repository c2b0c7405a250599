#!/usr/bin/env bash
# scripts/demo.sh brings up the five-node mesh from configs/ and every node
# answers /health (on a random 127.x.y network so it can run beside a demo);
# a scan with empty fields covers only the demo's own addresses.
. "$(dirname "$0")/lib.sh"
net="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
out=$(MESHWATCH_POLL_INTERVAL=1 DEMO_NET=$net MESHWATCH_BIN=$MW bash "$(dirname "$0")/../../scripts/demo.sh" --check 2>&1) || fail "demo.sh --check: $out"
grep -q "all 5 nodes healthy, each knows the other 4" <<<"$out" || fail "demo output: $out"
ok "demo mesh of five nodes from configs/ comes up healthy and converges"
grep -q "demo: the mesh is signed" <<<"$out" || fail "the demo mesh is not signed: $out"
ok "the demo mesh runs signed, with a secret made for the run"
grep -q "a scan with empty fields covers only the demo's addresses: $net.11/32 .* $net.15/32" <<<"$out" || fail "demo scan defaults: $out"
ok "a scan with empty fields on the demo covers only the demo's own addresses"
