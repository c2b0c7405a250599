#!/usr/bin/env bash
# Path MTU across a router, in network namespaces this test creates:
#
#   A ──(9000)── R ──(1400)── B
#                └──(9000)── C
#
# From A, pmtu_discover must find exactly 1400 to B (ICMP "fragmentation
# needed" / "packet too big" from R, confirmed by an ack: "icmp+ack") and
# 9000 to C ("local": the path is as wide as A's own link), over IPv4 and
# IPv6. Then R drops those ICMP errors (nftables) and B must still be
# exactly 1400, found by acks alone ("ack") and flagged as a black hole.
#
# Needs root and `ip netns`; skipped otherwise. Traffic stays inside the
# namespaces (10.x and fd00:: addresses exist only there); they and every
# background process are removed on every exit path.
. "$(dirname "$0")/lib.sh"

TOOL=${PMTU_TOOL:-$(dirname "$MW")/test/tools/pmtu_tool}
[ -x "$TOOL" ] || fail "pmtu_tool not found at $TOOL (build test/tools/pmtu_tool)"
. "$(dirname "$0")/netns.sh"
netns_require

P=mwp-$$
NS_A=$P-a NS_R=$P-r NS_B=$P-b NS_C=$P-c
BG=()
PORT=8443

netns_before_cleanup() {
  local p
  for p in "${BG[@]:-}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${BG[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
}

netns_sweep mwp
netns_add "$NS_A" "$NS_R" "$NS_B" "$NS_C"
netns_link "$NS_A" a0 "$NS_R" ra 9000
netns_link "$NS_R" rb "$NS_B" b0 1400
netns_link "$NS_R" rc "$NS_C" c0 9000

netns_addr "$NS_A" a0 10.77.1.2/24;  netns_addr "$NS_A" a0 fd00:77:1::2/64 nodad
netns_addr "$NS_R" ra 10.77.1.1/24;  netns_addr "$NS_R" ra fd00:77:1::1/64 nodad
netns_addr "$NS_R" rb 10.77.2.1/24;  netns_addr "$NS_R" rb fd00:77:2::1/64 nodad
netns_addr "$NS_B" b0 10.77.2.2/24;  netns_addr "$NS_B" b0 fd00:77:2::2/64 nodad
netns_addr "$NS_R" rc 10.77.3.1/24;  netns_addr "$NS_R" rc fd00:77:3::1/64 nodad
netns_addr "$NS_C" c0 10.77.3.2/24;  netns_addr "$NS_C" c0 fd00:77:3::2/64 nodad
ip -n "$NS_A" route add default via 10.77.1.1
ip -n "$NS_A" -6 route add default via fd00:77:1::1
ip -n "$NS_B" route add default via 10.77.2.1
ip -n "$NS_B" -6 route add default via fd00:77:2::1
ip -n "$NS_C" route add default via 10.77.3.1
ip -n "$NS_C" -6 route add default via fd00:77:3::1
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
  net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 >/dev/null
ok "namespaces $NS_A $NS_R $NS_B $NS_C: A-R 9000, R-B 1400, R-C 9000"

# Responders: B on "::" (dual-stack: serves IPv4 too, through v4-mapped
# addresses); C on "0.0.0.0" plus its IPv6 address (v6-only). Acks must
# leave from the probed address, or A's connected socket would not see them.
respond() {
  ip netns exec "$1" "$TOOL" respond "$2" "$PORT" >>"$TMP/respond-$1.log" 2>&1 &
  BG+=("$!")
}
respond "$NS_B" ::
respond "$NS_C" 0.0.0.0
respond "$NS_C" fd00:77:3::2
# Wait until each can be reached (IPv6 neighbour discovery may take a moment).
for ip in 10.77.2.2 10.77.3.2 fd00:77:2::2 fd00:77:3::2; do
  for i in $(seq 50); do
    ip netns exec "$NS_A" "$TOOL" probe "$ip" "$PORT" 200 1 >/dev/null 2>&1 && break
    [ "$i" = 50 ] && fail "responder at $ip never answered"
    sleep 0.1
  done
done
ok "responders on B and C answer from A"

# check IP WANT_VALUE WANT_METHOD WANT_BLACK_HOLE LABEL
check() {
  local ip=$1 value=$2 method=$3 bh=$4 label=$5 out
  out=$(ip netns exec "$NS_A" "$TOOL" probe "$ip" "$PORT" 250 3) || fail "$label: pmtu_tool probe $ip failed"
  echo "# $label: $out"
  local got
  got=$(jget '"%s %s %s %s %s" % (d["value"], d["method"], d["black_hole"], d["local_mtu"], d["burst"]["received"])' <<<"$out")
  set -- $got
  [ "$1" = "$value" ] || fail "$label: value $1, want $value"
  [ "$2" = "$method" ] || fail "$label: method $2, want $method"
  [ "$3" = "$bh" ] || fail "$label: black_hole $3, want $bh"
  [ "$4" = 9000 ] || fail "$label: local_mtu $4, want 9000"
  [ "$5" = 20 ] || fail "$label: burst received $5 of 20"
  ok "$label: value $1 method $2 black_hole $3"
}

check 10.77.2.2 1400 icmp+ack 0 "IPv4 A->B (ICMP allowed)"
check 10.77.3.2 9000 local 0 "IPv4 A->C"
check fd00:77:2::2 1400 icmp+ack 0 "IPv6 A->B (ICMP allowed)"
check fd00:77:3::2 9000 local 0 "IPv6 A->C"

if ! command -v nft >/dev/null 2>&1; then
  echo "# nft not found (install nftables): ICMP-filtered part not run"
  exit 0
fi
# R stops reporting "too big": the path becomes an ICMP black hole.
ip netns exec "$NS_R" nft -f - <<'EOF' || fail "nft rules in R"
table inet mwp {
  chain icmp_out {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed counter drop
    icmpv6 type packet-too-big counter drop
  }
  chain icmp_fwd {
    type filter hook forward priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed drop
    icmpv6 type packet-too-big drop
  }
}
EOF
ok "R drops ICMP fragmentation-needed and packet-too-big"

check 10.77.2.2 1400 ack 1 "IPv4 A->B (ICMP dropped)"
check fd00:77:2::2 1400 ack 1 "IPv6 A->B (ICMP dropped)"
check 10.77.3.2 9000 local 0 "IPv4 A->C (ICMP dropped)"

# The rules did drop R's "too big" errors, for both families: the black
# hole was real, not a path that happened to fit.
rules=$(ip netns exec "$NS_R" nft list chain inet mwp icmp_out)
v4drops=$(sed -n 's/.*frag-needed counter packets \([0-9]*\).*/\1/p' <<<"$rules")
v6drops=$(sed -n 's/.*packet-too-big counter packets \([0-9]*\).*/\1/p' <<<"$rules")
[ "${v4drops:-0}" -gt 0 ] || fail "R dropped no ICMP frag-needed (counter: ${v4drops:-none})"
[ "${v6drops:-0}" -gt 0 ] || fail "R dropped no ICMPv6 packet-too-big (counter: ${v6drops:-none})"
ok "R dropped $v4drops ICMP frag-needed and $v6drops packet-too-big errors"
echo "# all checks passed ($CHECKS)"
