#!/usr/bin/env bash
# scripts/demo.sh --netns --check, over IPv4 and then with --ipv6: the
# five-node mesh from configs/ in network namespaces behind a router, each
# node's link with its own MTU (9000, 1500, 1400, 1280, 1500). The demo checks health, convergence and
# that every node measures the smaller link MTU as the path MTU to every
# peer, prints the matrix, and removes its namespaces, the veth into the
# host and its nodes; this test checks that nothing of it is left.
#
# Needs root and `ip netns`; skipped otherwise. The demo uses a random
# 10.x /16 so that it can run beside an interactive demo; traffic goes only
# to the namespaces it creates.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/netns.sh"
netns_require
# The same probe as the demo's: a chroot or a restricted container can
# create a namespace but not enter it. The probe goes at exit.
netns_add "mwdt-$$"

# A /16 (and its IPv6 /48, fd00:10:X::) nothing on this host routes yet.
pfx=
for _ in $(seq 1 20); do
  c="10.$((RANDOM % 150 + 100))"
  [ -z "$( { ip -4 route show match "$c.0.0/16"; ip -4 route show root "$c.0.0/16"
             ip -6 route show match "fd00:${c//./:}::/48"; ip -6 route show root "fd00:${c//./:}::/48"; } |
           grep -v '^default')" ] && { pfx=$c; break; }
done
[ -n "$pfx" ] || fail "no free 10.x.0.0/16 found for the demo"

# run_demo FAMILY [demo flags]: the demo's --netns --check, then the checks
# of its output and of what it must have removed.
run_demo() {
  local fam=$1 rc=0 out P hostif left pat; shift
  out=$(MESHWATCH_POLL_INTERVAL=1 DEMO_NETNS_NET=$pfx DEMO_WAIT=120 MESHWATCH_BIN=$MW \
    bash "$(dirname "$0")/../../scripts/demo.sh" --netns "$@" --check 2>&1) || rc=$?
  echo "$out"
  # "demo: namespaces mwd-PID-router and ..., host link mwdPID, ..."
  P=$(sed -n 's/^demo: namespaces \(mwd-[0-9]*\)-router and .*/\1/p' <<<"$out")
  hostif=$(sed -n 's/^demo: namespaces .*, host link \(mwd[0-9]*\),.*/\1/p' <<<"$out")
  [ -n "$P" ] && [ -n "$hostif" ] || fail "$fam: the demo did not say which namespaces it made"
  [ $rc = 0 ] || fail "$fam: demo.sh --netns $* --check exited $rc"
  grep -q "all 5 nodes healthy, each knows the other 4" <<<"$out" || fail "$fam: no convergence line in the demo's output"
  ok "$fam: five nodes in namespaces come up healthy and converge"
  grep -q "every node sees the other 4 alive over $fam, each path MTU as the links allow" <<<"$out" || fail "$fam: no PMTU line"
  # The matrix itself: node4's row is all 1280, node1's is its peers' links.
  grep -Eq '^node4 +1280 +1280 +1280 +- +1280$' <<<"$out" || fail "$fam: node4's row is not all 1280"
  grep -Eq '^node1 +- +1500 +1400 +1280 +1500$' <<<"$out" || fail "$fam: node1's row is not 1500 1400 1280 1500"
  ok "$fam: every node measured the expected path MTU to every peer"

  # Nothing left behind: namespaces, the host's veth, routes, nodes.
  left=$(ip netns list | grep "^$P-" || true)
  [ -z "$left" ] || fail "$fam: namespaces left behind: $left"
  ! ip link show "$hostif" >/dev/null 2>&1 || fail "$fam: the host veth $hostif is still there"
  [ -z "$(ip -4 route show root "$pfx.0.0/16")" ] || fail "$fam: a route to $pfx.0.0/16 is still there"
  [ -z "$(ip -6 route show root "fd00:${pfx//./:}::/48")" ] || fail "$fam: a route to fd00:${pfx//./:}::/48 is still there"
  pat="--listen \\[?(fd00:${pfx//./:}:|${pfx//./\\.}\\.)"
  ! pgrep -f -- "$pat" >/dev/null || fail "$fam: nodes still running: $(pgrep -af -- "$pat")"
  ok "$fam: the demo removed its namespaces, the host veth, its routes and its nodes"
}
run_demo IPv4
run_demo IPv6 --ipv6
