#!/usr/bin/env bash
# scripts/demo.sh --netns --check: the five-node mesh from configs/ in
# network namespaces behind a router, each node's link with its own MTU
# (9000, 1500, 1400, 1280, 1500). The demo checks health, convergence and
# that every node measures the smaller link MTU as the path MTU to every
# peer, prints the matrix, and removes its namespaces, the veth into the
# host and its nodes; this test checks that nothing of it is left.
#
# Needs root and `ip netns`; skipped otherwise. The demo uses a random
# 10.x /16 so that it can run beside an interactive demo; traffic goes only
# to the namespaces it creates.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root and ip netns"
command -v ip >/dev/null 2>&1 || skip "needs ip (iproute2)"
# The same probe as the demo's: a chroot or a restricted container can
# create a namespace but not enter it.
probe=mwdt-$$
ip netns add "$probe" 2>/dev/null || skip "needs root and ip netns (ip netns add failed)"
why=$(ip netns exec "$probe" true 2>&1) || { ip netns del "$probe" 2>/dev/null; skip "cannot run commands in a network namespace here (ip netns exec: ${why:-failed})"; }
ip netns del "$probe"

# A /16 nothing on this host routes yet.
pfx=
for _ in $(seq 1 20); do
  c="10.$((RANDOM % 150 + 100))"
  [ -z "$( { ip -4 route show match "$c.0.0/16"; ip -4 route show root "$c.0.0/16"; } | grep -v '^default')" ] && { pfx=$c; break; }
done
[ -n "$pfx" ] || fail "no free 10.x.0.0/16 found for the demo"

rc=0
out=$(MESHWATCH_POLL_INTERVAL=1 DEMO_NETNS_NET=$pfx DEMO_WAIT=120 MESHWATCH_BIN=$MW \
  bash "$(dirname "$0")/../../scripts/demo.sh" --netns --check 2>&1) || rc=$?
echo "$out"
# "demo: namespaces mwd-PID-router and ..., host link mwdPID, ..."
P=$(sed -n 's/^demo: namespaces \(mwd-[0-9]*\)-router and .*/\1/p' <<<"$out")
hostif=$(sed -n 's/^demo: namespaces .*, host link \(mwd[0-9]*\),.*/\1/p' <<<"$out")
[ -n "$P" ] && [ -n "$hostif" ] || fail "the demo did not say which namespaces it made"
[ $rc = 0 ] || fail "demo.sh --netns --check exited $rc"
grep -q "all 5 nodes healthy, each knows the other 4" <<<"$out" || fail "no convergence line in the demo's output"
ok "five nodes in namespaces come up healthy and converge"
grep -q "every node sees the other 4 alive, each path MTU as the links allow" <<<"$out" || fail "no PMTU line"
# The matrix itself: node4's row is all 1280, node1 -> node2 is 1500 (node2's link).
grep -Eq '^node4 +- +1280 +1280 +1280 +1280$|^node4 +1280 +1280 +1280 +- +1280$' <<<"$out" || fail "node4's row is not all 1280"
grep -Eq '^node1 +- +1500 +1400 +1280 +1500$' <<<"$out" || fail "node1's row is not 1500 1400 1280 1500"
ok "every node measured the expected path MTU to every peer"

# Nothing left behind: namespaces, the host's veth, nodes, the temporary directory.
left=$(ip netns list | grep "^$P-" || true)
[ -z "$left" ] || fail "namespaces left behind: $left"
! ip link show "$hostif" >/dev/null 2>&1 || fail "the host veth $hostif is still there"
[ -z "$(ip -4 route show root "$pfx.0.0/16")" ] || fail "a route to $pfx.0.0/16 is still there"
! pgrep -f -- "--listen $pfx\." >/dev/null || fail "nodes still running: $(pgrep -af -- "--listen $pfx\.")"
ok "the demo removed its namespaces, the host veth, its route and its nodes"
