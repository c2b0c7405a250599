#!/usr/bin/env bash
# Live capture on a veth pair whose far end lives in a network namespace
# this test creates. The node captures on the near end; the test sends
# known traffic across it:
#  1. 100 UDP datagrams of 200 bytes each way (an echo in the namespace):
#     the flow has exactly 100 packets and 100 x 242 bytes each way;
#  2. a 1 MB TCP transfer: the flow's packets and bytes each way equal
#     what the kernel counted on the interface (ARP is avoided with
#     static neighbours and IPv6 is off, so the link carries nothing else);
#     SYN, ACK and FIN were seen;
#  3. the same UDP through "--iface any" (Linux cooked capture);
#  4. no kernel drops; /api/counters saw the frames; /metrics agrees;
#  5. tagged frames (802.1Q and QinQ, sent raw from the namespace end)
#     pass the default filter and count with their VLAN id;
#  6. a missing interface and a bad BPF filter: the node serves /health
#     and says why in /api/stats.
# Needs root and `ip netns`; skipped otherwise. Everything it made is
# removed on every exit path.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

. "$(dirname "$0")/netns.sh"
netns_require

NS=mwc-$$
VN=mwc$$n          # near end, in this namespace, captured
VF=mwc$$f          # far end, in $NS
SUB=10.79.$(($$ % 200 + 20))
NEAR=$SUB.1 FAR=$SUB.2
# The interpreter itself: a version-manager shim (pyenv) in between would
# be the process we know, and the echo could outlive it.
PY=$(python3 -c 'import sys; print(sys.executable)')
# Nodes stop first (their exit status recorded as stop_node does), so no
# capture sees its interface vanish; then what runs in the namespace.
# netns.sh then removes the link and the namespace, lib.sh the rest.
netns_before_cleanup() {
  local p
  for p in "${MW_PIDS[@]:-}"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && stop_node "$p"; done
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
}

netns_add "$NS"
# down until IPv6 is off: nothing but our traffic on the link, no IPv6
# (router and neighbour solicitations), no ARP (static neighbours)
netns_link - "$VN" "$NS" "$VF" "" down
sysctl -qw "net.ipv6.conf.$VN.disable_ipv6=1"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$VF.disable_ipv6=1" net.ipv6.conf.lo.disable_ipv6=1
netns_addr - "$VN" "$NEAR/24"
netns_addr "$NS" "$VF" "$FAR/24"
MAC_N=$(cat "/sys/class/net/$VN/address")
MAC_F=$(ip netns exec "$NS" cat "/sys/class/net/$VF/address")
ip neigh replace "$FAR" lladdr "$MAC_F" dev "$VN" nud permanent
ip -n "$NS" neigh replace "$NEAR" lladdr "$MAC_N" dev "$VF" nud permanent
netns_up - "$VN"
netns_up "$NS" "$VF"

# echo (UDP 9999) and sink (TCP 9998) in the namespace
cat > "$TMP/far.py" <<'EOF'
import socket, sys, threading
addr = sys.argv[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, 9999))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, 9998))
t.listen(4)
def echo():
    while True:
        data, peer = u.recvfrom(65535)
        u.sendto(data, peer)
def sink():
    while True:
        c, _ = t.accept()
        n = 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
        c.sendall(str(n).encode())
        c.close()
threading.Thread(target=echo, daemon=True).start()
print("ready", flush=True)
sink()
EOF
ip netns exec "$NS" "$PY" "$TMP/far.py" "$FAR" > "$TMP/far.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/far.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$TMP/far.out" || fail "the echo in the namespace did not start: $(cat "$TMP/far.out")"

link_stat() { cat "/sys/class/net/$VN/statistics/$1"; }

A=$(rand_addr)
start_node n1 "$A" --iface "$VN"
TOKEN=$(login "$A")
AUTH=(-H "Authorization: Bearer $TOKEN")
ucurl "$A" /api/stats "${AUTH[@]}"
[ "$(echo "$BODY" | jget '(d["state"], d["mode"], d["interface"], d["linktype"])')" = "('running', 'live', '$VN', 'ethernet')" ] ||
  fail "live capture did not start: $BODY"
ok "capture running on $VN"

B=$(rand_addr)
start_node n2 "$B" --iface any --bpf "host $FAR and udp"
N2_PID=$NODE_PID
TOKEN2=$(login "$B")

RX0=$(link_stat rx_packets) TX0=$(link_stat tx_packets) RXB0=$(link_stat rx_bytes) TXB0=$(link_stat tx_bytes)
python3 - "$FAR" <<'EOF' || fail "UDP echo"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 40001))
s.settimeout(2)
for i in range(100):
    s.sendto(bytes([i % 256]) * 200, (sys.argv[1], 9999))
    assert len(s.recv(1000)) == 200
EOF
TCP_PORT=$(python3 - "$FAR" <<'EOF'
import socket, sys
c = socket.create_connection((sys.argv[1], 9998), timeout=10)
print(c.getsockname()[1])
c.sendall(b"m" * 1000000)
c.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = c.recv(100)
    if not b:
        break
    got += b
assert got == b"1000000", got
c.close()
EOF
) || fail "TCP transfer"
sleep 0.5
RXP=$(( $(link_stat rx_packets) - RX0 )) TXP=$(( $(link_stat tx_packets) - TX0 ))
RXB=$(( $(link_stat rx_bytes) - RXB0 )) TXB=$(( $(link_stat tx_bytes) - TXB0 ))
echo "# kernel counted on $VN: sent $TXP frames / $TXB bytes, received $RXP frames / $RXB bytes"

# flows are published once a second
for _ in $(seq 40); do
  ucurl "$A" "/api/flows?ip=$FAR" "${AUTH[@]}"
  [ "$(echo "$BODY" | jget 'sum(f["packets"] for f in d["items"])')" = $((RXP + TXP)) ] && break
  sleep 0.25
done
python3 - "$BODY" "$NEAR" "$FAR" "$TXP" "$RXP" "$TXB" "$RXB" "$TCP_PORT" <<'EOF' || fail "live flows do not match: $BODY"
import json, sys
d = json.loads(sys.argv[1]); near, far = sys.argv[2], sys.argv[3]
txp, rxp, txb, rxb = map(int, sys.argv[4:8])
flows = {(f["proto"], f["a"], f["b"]): f for f in d["items"]}
assert len(flows) == 2, flows.keys()
u = flows[("udp", f"{near}:40001", f"{far}:9999")]
assert (u["packets"], u["a_to_b_bytes"], u["b_to_a_bytes"]) == (200, 100 * 242, 100 * 242), u
t = flows[("tcp", f"{near}:{sys.argv[8]}", f"{far}:9998")]
# near < far, so a is this side: a_to_b is what the kernel sent
assert t["packets"] + u["packets"] == txp + rxp, (t, txp, rxp)
assert t["a_to_b_bytes"] + u["a_to_b_bytes"] == txb, (t["a_to_b_bytes"], txb)
assert t["b_to_a_bytes"] + u["b_to_a_bytes"] == rxb, (t["b_to_a_bytes"], rxb)
assert t["a_to_b_bytes"] > 1000000, t
assert t["tcp_flags"] & 0x13 == 0x13, t["tcp_flags"]  # FIN, SYN, ACK
print(f"# tcp flow: {t['packets']} packets, {t['a_to_b_bytes']} bytes out, {t['b_to_a_bytes']} bytes in")
EOF
ok "UDP: 100 datagrams each way, 242 bytes each; TCP: packets and bytes each way equal the kernel's interface counters"

ucurl "$A" /api/stats "${AUTH[@]}"
[ "$(echo "$BODY" | jget '(d["kernel_drops"], d["decode_errors_total"])')" = "(0, 0)" ] || fail "drops or decode errors: $BODY"
[ "$(echo "$BODY" | jget 'd["packets_received"]')" = $((RXP + TXP)) ] || fail "packets_received: $BODY (want $((RXP + TXP)))"
sleep 1.2
ucurl "$A" "/api/counters?from=$(($(date +%s) - 60))" "${AUTH[@]}"
[ "$(echo "$BODY" | jget 'sum(i["packets"] for i in d["items"])')" = $((RXP + TXP)) ] || fail "counters: $BODY"
ucurl "$A" /metrics "${AUTH[@]}"
grep -qx "meshwatch_traffic_packets_total $((RXP + TXP))" <<<"$BODY" || fail "metrics"
ok "no drops, no decode errors; /api/stats, /api/counters and /metrics count every frame"

for _ in $(seq 20); do
  ucurl "$B" "/api/flows" -H "Authorization: Bearer $TOKEN2"
  [ "$(echo "$BODY" | jget 'd["total"]')" = 1 ] && break
  sleep 0.25
done
[ "$(echo "$BODY" | jget '[(f["packets"], f["a_to_b_bytes"], f["b_to_a_bytes"]) for f in d["items"]]')" = "[(200, 24200, 24200)]" ] ||
  fail "--iface any: $BODY"
ucurl "$B" /api/stats -H "Authorization: Bearer $TOKEN2"
echo "$BODY" | jget 'd["linktype"]' | grep -q linux_sll || fail "--iface any link type: $BODY"
ok "--iface any (Linux cooked capture, filter \"host $FAR and udp\"): the same 100 + 100 datagrams"
stop_node "$N2_PID"

# tagged frames, live: the namespace end sends (AF_PACKET) 802.1Q, QinQ
# (802.1ad outside, 802.1Q inside) and untagged frames, IPv4 and IPv6, and
# tagged ARP, to a MAC address that is not the capturing end's (so its
# stack drops them, answering nothing). On receive the kernel moves the
# outer tag out of the frame (as VLAN offload does) and libpcap puts it
# back: the default filter and the decoder must see every tagged IP frame.
cat > "$TMP/inject.py" <<'EOF'
import json, socket, sys
sys.path.insert(0, sys.argv[2])
from gen_pcap import Known, eth, ipv4, ipv6, udp
ifname, sub = sys.argv[1], sys.argv[3]
k = Known()
other = bytes.fromhex("020000000099")
def frame(payload, ethertype, tags=()):
    return other + eth(payload, ethertype, tags)[6:]
A4, B4, A6, B6 = sub + ".1", sub + ".2", "fd83::1", "fd83::2"
sent = []
for i in range(50):
    for tags, vlan in (([(0x8100, 0x2000 | 100)], 100), ([(0x88A8, 200), (0x8100, 300)], 200)):
        f = frame(ipv4(A4, B4, 17, udp(40003, 9999, b"v" * 100)), 0x0800, tags)
        k.add(f, A4, 40003, B4, 9999, 17, vlan=vlan)
        sent.append(f)
    f = frame(ipv6(A6, B6, 17, udp(40003, 9999, b"6" * 100)), 0x86DD, [(0x8100, 100)])
    k.add(f, A6, 40003, B6, 9999, 17, vlan=100)
    sent.append(f)
for i in range(30):
    f = frame(ipv4(A4, B4, 17, udp(40004, 9999, b"u" * 100)), 0x0800)
    k.add(f, A4, 40004, B4, 9999, 17)
    sent.append(f)
for i in range(20):
    sent.append(frame(b"\0\1\x08\0\6\4\0\1" + b"\0" * 20, 0x0806, [(0x8100, 100)]))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
for f in sent:
    s.send(f)
json.dump({"flows": list(k.flows.values()), "packets": k.totals["packets"], "bytes": k.totals["bytes"]}, sys.stdout)
EOF
SUBV=10.83.$(($$ % 200 + 20))
ucurl "$A" /api/stats "${AUTH[@]}"
P0=$(echo "$BODY" | jget 'd["packets_received"] - d["not_ip"]')
ip netns exec "$NS" "$PY" "$TMP/inject.py" "$VF" "$HERE" "$SUBV" > "$TMP/injected.json" || fail "injecting tagged frames"
for _ in $(seq 40); do
  ucurl "$A" "/api/flows?port=9999&ip=$SUBV.0/24" "${AUTH[@]}"
  [ "$(echo "$BODY" | jget 'sum(f["packets"] for f in d["items"])')" = 130 ] && break
  sleep 0.25
done
ucurl "$A" "/api/flows?port=9999" "${AUTH[@]}"
FLOWS=$BODY
ucurl "$A" /api/stats "${AUTH[@]}"
python3 - "$TMP/injected.json" "$FLOWS" "$BODY" "$P0" <<'EOF' || fail "tagged frames live"
import json, sys
e = json.load(open(sys.argv[1])); d = json.loads(sys.argv[2]); s = json.loads(sys.argv[3])
keys = ("a", "b", "proto", "vlan", "packets", "bytes", "a_to_b_bytes", "b_to_a_bytes")
got = sorted(tuple(f[k] for k in keys) for f in d["items"] if "40003" in f["a"] or "40004" in f["a"])
want = sorted(tuple(f[k] for k in keys) for f in e["flows"])
assert got == want, f"got {got}\nwant {want}"
# IP frames: the tagged ARP may pass the kernel filter (libpcap's "vlan"
# test of a tag the kernel took out shifts the offsets past ARP's protocol
# type, 0x0800), and then counts as not_ip
n = s["packets_received"] - s["not_ip"] - int(sys.argv[4])
assert (n, s["decode_errors_total"], s["kernel_drops"]) == (e["packets"], 0, 0), (n, e["packets"], s)
print(f"# {n} IP frames of {n} sent counted: {[(f[0], f[3], f[4]) for f in got]}")
EOF
ok "live, default filter: 802.1Q (VLAN 100, IPv4 and IPv6), QinQ 200/300 and untagged frames counted with their outer VLAN id and tagged wire bytes"

# the node outlives a capture that cannot start
C=$(rand_addr)
start_node n3 "$C" --iface "mwnosuch$$"
ucurl "$C" /health
expect_status 200 "/health with a missing interface"
ucurl "$C" /api/stats -H "Authorization: Bearer $(login "$C")"
[ "$(echo "$BODY" | jget 'd["state"]')" = failed ] && echo "$BODY" | jget 'd["error"]' | grep -q "mwnosuch$$" ||
  fail "missing interface: $BODY"
grep -q "capture is off: .*mwnosuch$$" "$TMP/n3.log" || fail "the log does not say why"
D=$(rand_addr)
start_node n4 "$D" --iface "$VN" --bpf "port ((("
ucurl "$D" /health
expect_status 200 "/health with a bad BPF filter"
ucurl "$D" /api/stats -H "Authorization: Bearer $(login "$D")"
[ "$(echo "$BODY" | jget 'd["state"]')" = failed ] && echo "$BODY" | jget 'd["error"]' | grep -q "bad BPF filter" ||
  fail "bad BPF: $BODY"
ok "missing interface, bad BPF filter: state failed with the reason; the node serves on"
echo "# $CHECKS checks passed"
