#!/usr/bin/env python3
"""Writes capture files with known content for the traffic tests (standard
library only: struct).

gen_pcap.py known FILE EXPECT.json
    A small Ethernet capture: TCP, UDP, ICMP, VLAN and QinQ, IPv6 with
    extension headers, IPv4 options and fragments (both families), ARP,
    truncated and malformed frames. EXPECT.json gets the flows (canonical
    a/b: the smaller address, then port, is a) and the totals the node must
    report for them.
gen_pcap.py vlanmix FILE EXPECT.json N
    N frames (N a multiple of 8) mixing untagged, 802.1Q (ids 10 and 20,
    with priority bits set) and QinQ (802.1ad 30 outside, 802.1Q 40
    inside) frames: IPv4 TCP and UDP, IPv6 UDP, and ARP untagged and
    tagged. EXPECT.json as for known, plus "ip_frames"/"ip_bytes": what a
    filter keeping only IP (tagged or not) leaves.
gen_pcap.py corpus DIR
    The known frames as a seed corpus for test/fuzz/fuzz_decode (a selector
    byte, then the frame: Ethernet, and the same frames as raw IP).
gen_pcap.py talkers FILE N
    N clients (10.1.0.0/16), one UDP datagram each to 10.0.0.1:53, all in
    one second: more addresses than the per-second talker table holds.
gen_pcap.py ipfix FILE EXPECT.json
    Only frames that decode to flows (IPv4 and IPv6, TCP, UDP and ICMP,
    some behind 802.1Q tag 7), one flow per 5-tuple; some one-way. Two
    phases 300 s apart, so the first phase's flows expire (idle) while
    the file is read and the rest end with the file. EXPECT.json: the
    flows with their packets and bytes per direction ("records": one per
    direction that carried packets) and the totals.
gen_pcap.py bench FILE PACKETS FLOWS
    A large capture for the benchmark: an IMIX-like size mix (7 x 64, 4 x
    576, 1 x 1500 bytes), TCP and UDP over FLOWS distinct IPv4 flows,
    1 µs apart.
gen_pcap.py demo FILE SELF PEER...
    What a node of the demo mesh might have seen over the last five
    minutes, ending now: HTTPS and UDP probes between SELF and each PEER
    (port 8443), DNS and NTP to documentation addresses (192.0.2.0/24),
    a bulk transfer to 198.51.100.20:22 in the middle, pings. Frames are
    kept to their first 96 bytes (their wire length is recorded), so the
    file stays small.
"""
import ipaddress
import json
import os
import random
import struct
import sys

T0 = 1767225600  # 2026-01-01T00:00:00Z
LINKTYPE_ETHERNET = 1


def pcap_header(linktype, snaplen=65535):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def record(t_us, frame, wirelen=None, caplen=None):
    data = frame if caplen is None else frame[:caplen]
    return struct.pack("<IIII", t_us // 1000000, t_us % 1000000, len(data),
                       wirelen if wirelen is not None else len(frame)) + data


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def eth(payload, ethertype, tags=()):
    """tags: [(tpid, vid), ...] outermost first."""
    h = MAC_B + MAC_A
    for tpid, vid in tags:
        h += struct.pack("!HH", tpid, vid)
    return h + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, options=b"", frag_off=0, more=False, total=None, ihl=None, version=4):
    hl = 20 + len(options)
    ihl = ihl if ihl is not None else hl // 4
    tot = total if total is not None else hl + len(payload)
    flags = (0x2000 if more else 0) | frag_off
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tot, 1, flags, 64, proto, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, ext=()):
    """ext: [(type, body_bytes)], in order; each body is padded by the caller."""
    chain = b""
    types = [t for t, _ in ext] + [nh]
    for i, (t, body) in enumerate(ext):
        nxt = types[i + 1]
        if t == 44:  # fragment: fixed 8 bytes, body = offset/flags word + id
            chain += struct.pack("!BB", nxt, 0) + body
        elif t == 51:  # AH: length in 4-byte units minus 2
            chain += struct.pack("!BB", nxt, (len(body) + 2) // 4 - 2) + body
        else:
            chain += struct.pack("!BB", nxt, (len(body) + 2) // 8 - 1) + body
    first = types[0]
    return struct.pack("!IHBB16s16s", 6 << 28, len(chain) + len(payload), first, 64,
                       ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed) + chain + payload


def tcp(sport, dport, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + data


def udp(sport, dport, data=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def icmp(typ, data=b""):
    return struct.pack("!BBHHH", typ, 0, 0, 1, 1) + data


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}


def addr16(ip):
    a = ipaddress.ip_address(ip)
    return a.packed if a.version == 6 else b"\0" * 10 + b"\xff\xff" + a.packed


def endpoint(ip, port):
    return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, port)


class Known:
    def __init__(self):
        self.records = []
        self.flows = {}
        self.t = T0 * 1000000
        self.totals = {"packets": 0, "bytes": 0, "not_ip": 0}
        self.errors = {}
        self.by_second = {}
        self.step_us = 100000

    def _count(self, wirelen):
        self.totals["packets"] += 1
        self.totals["bytes"] += wirelen
        sec = self.t // 1000000
        self.by_second[sec] = self.by_second.get(sec, 0) + 1

    def add(self, frame, src, sport, dst, dport, proto, vlan=0, flags=0, caplen=None):
        """A frame the decoder must turn into flow (src:sport -> dst:dport);
        caplen cuts what the file keeps of it (a short snaplen)."""
        self.t += self.step_us  # 100 ms apart: the file spans several seconds
        self.records.append(record(self.t, frame, caplen=caplen))
        self._count(len(frame))
        fwd = (addr16(src), sport) <= (addr16(dst), dport)
        a, b = ((src, sport), (dst, dport)) if fwd else ((dst, dport), (src, sport))
        key = (endpoint(*a), endpoint(*b), PROTO_NAMES.get(proto, str(proto)), vlan)
        f = self.flows.setdefault(key, {"a": key[0], "b": key[1], "proto": key[2], "vlan": vlan, "packets": 0,
                                        "bytes": 0, "a_to_b_bytes": 0, "b_to_a_bytes": 0, "tcp_flags": 0})
        f["packets"] += 1
        f["bytes"] += len(frame)
        f["a_to_b_bytes" if fwd else "b_to_a_bytes"] += len(frame)
        f["tcp_flags"] |= flags

    def bad(self, frame, kind, caplen=None):
        """A frame counted but not decoded: kind is the decode error (or not_ip)."""
        self.t += self.step_us
        self.records.append(record(self.t, frame, caplen=caplen))
        self._count(len(frame))
        if kind == "not_ip":
            self.totals["not_ip"] += 1
        else:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def write_known(k, path, expect_path, **more):
    with open(path, "wb") as f:
        f.write(pcap_header(LINKTYPE_ETHERNET))
        f.writelines(k.records)
    with open(expect_path, "w") as f:
        json.dump(dict({"flows": list(k.flows.values()), "totals": k.totals, "errors": k.errors,
                        "by_second": {str(s): n for s, n in sorted(k.by_second.items())}}, **more), f, indent=1)


def known(path, expect_path):
    write_known(known_frames(), path, expect_path)


def vlanmix(path, expect_path, n):
    k = Known()
    k.step_us = 1000
    arp = b"\0\1\x08\0\6\4\0\1" + b"\0" * 20
    ip_frames = ip_bytes = 0
    for i in range(n // 8):
        port = 1000 + i % 5
        frames = [
            (eth(ipv4("10.9.0.1", "10.9.0.2", 17, udp(port, 53, b"u" * 20)), 0x0800),
             ("10.9.0.1", port, "10.9.0.2", 53, 17, 0, 0)),
            (eth(ipv4("10.9.0.1", "10.9.0.2", 6, tcp(port, 80, ACK, b"t" * 40)), 0x0800, [(0x8100, 0xA000 | 10)]),
             ("10.9.0.1", port, "10.9.0.2", 80, 6, 10, ACK)),
            (eth(ipv4("10.9.0.2", "10.9.0.1", 6, tcp(80, port, ACK | PSH, b"r" * 300)), 0x0800, [(0x8100, 10)]),
             ("10.9.0.2", 80, "10.9.0.1", port, 6, 10, ACK | PSH)),
            (eth(ipv6("fd09::1", "fd09::2", 17, udp(port, 123, b"6" * 48)), 0x86DD, [(0x8100, 0x6000 | 20)]),
             ("fd09::1", port, "fd09::2", 123, 17, 20, 0)),
            (eth(ipv4("10.9.1.1", "10.9.1.2", 17, udp(port, 4789, b"q" * 60)), 0x0800, [(0x88A8, 30), (0x8100, 40)]),
             ("10.9.1.1", port, "10.9.1.2", 4789, 17, 30, 0)),
            (eth(ipv6("fd09::1", "fd09::2", 58, icmp(128, b"e" * 8)), 0x86DD),
             ("fd09::1", 0, "fd09::2", 0, 58, 0, 0)),
        ]
        for frame, (src, sport, dst, dport, proto, vlan, flags) in frames:
            k.add(frame, src, sport, dst, dport, proto, vlan=vlan, flags=flags)
            ip_frames += 1
            ip_bytes += len(frame)
        k.bad(eth(arp, 0x0806), "not_ip")
        k.bad(eth(arp, 0x0806, [(0x8100, 10)]), "not_ip")
    write_known(k, path, expect_path, ip_frames=ip_frames, ip_bytes=ip_bytes)


def corpus(d):
    os.makedirs(d, exist_ok=True)
    for i, r in enumerate(known_frames().records):
        frame = r[16:]
        with open(os.path.join(d, "eth-%02d" % i), "wb") as f:
            f.write(b"\0" + frame)  # selector 0: Ethernet
        if len(frame) > 14:
            with open(os.path.join(d, "raw-%02d" % i), "wb") as f:
                f.write(b"\1" + frame[14:])  # selector 1: raw IP


def known_frames():
    k = Known()
    A, B = "10.0.0.1", "10.0.0.2"
    pad = b"x" * 100
    # TCP 10.0.0.1:40000 <-> 10.0.0.2:80, handshake, data, FIN
    k.add(eth(ipv4(A, B, 6, tcp(40000, 80, SYN)), 0x0800), A, 40000, B, 80, 6, flags=SYN)
    k.add(eth(ipv4(B, A, 6, tcp(80, 40000, SYN | ACK)), 0x0800), B, 80, A, 40000, 6, flags=SYN | ACK)
    k.add(eth(ipv4(A, B, 6, tcp(40000, 80, ACK | PSH, pad)), 0x0800), A, 40000, B, 80, 6, flags=ACK | PSH)
    k.add(eth(ipv4(B, A, 6, tcp(80, 40000, ACK | PSH, pad * 5)), 0x0800), B, 80, A, 40000, 6, flags=ACK | PSH)
    k.add(eth(ipv4(A, B, 6, tcp(40000, 80, FIN | ACK)), 0x0800), A, 40000, B, 80, 6, flags=FIN | ACK)
    # UDP: 5 queries of one size, 2 answers of another (the reply side is the smaller address)
    for _ in range(5):
        k.add(eth(ipv4("10.0.0.4", "10.0.0.3", 17, udp(5353, 53, b"q" * 58)), 0x0800), "10.0.0.4", 5353, "10.0.0.3", 53, 17)
    for _ in range(2):
        k.add(eth(ipv4("10.0.0.3", "10.0.0.4", 17, udp(53, 5353, b"a" * 158)), 0x0800), "10.0.0.3", 53, "10.0.0.4", 5353, 17)
    # ICMP echo request and reply
    k.add(eth(ipv4(A, B, 1, icmp(8, b"p" * 56)), 0x0800), A, 0, B, 0, 1)
    k.add(eth(ipv4(B, A, 1, icmp(0, b"p" * 56)), 0x0800), B, 0, A, 0, 1)
    # 802.1Q VLAN 100, and QinQ (802.1ad 200 outside, 802.1Q 300 inside): the outer id counts
    for _ in range(3):
        k.add(eth(ipv4("10.1.0.1", "10.1.0.2", 17, udp(1000, 2000, b"v" * 20)), 0x0800, [(0x8100, 100)]),
              "10.1.0.1", 1000, "10.1.0.2", 2000, 17, vlan=100)
    for _ in range(2):
        k.add(eth(ipv4("10.2.0.1", "10.2.0.2", 17, udp(1, 2, b"w" * 30)), 0x0800, [(0x88A8, 200), (0x8100, 300)]),
              "10.2.0.1", 1, "10.2.0.2", 2, 17, vlan=200)
    # the same addresses and ports untagged: a different flow
    k.add(eth(ipv4("10.1.0.1", "10.1.0.2", 17, udp(1000, 2000, b"v" * 20)), 0x0800), "10.1.0.1", 1000, "10.1.0.2", 2000, 17)
    # IPv4 with options (IHL 6) carrying TCP
    k.add(eth(ipv4("10.4.0.1", "10.4.0.2", 6, tcp(1234, 22, SYN), options=b"\x01\x01\x01\x00"), 0x0800),
          "10.4.0.1", 1234, "10.4.0.2", 22, 6, flags=SYN)
    # IPv4 fragments: the first has the ports, a later one does not
    k.add(eth(ipv4("10.3.0.1", "10.3.0.2", 17, udp(7000, 8000, b"f" * 72), more=True), 0x0800),
          "10.3.0.1", 7000, "10.3.0.2", 8000, 17)
    k.add(eth(ipv4("10.3.0.1", "10.3.0.2", 17, b"g" * 80, frag_off=10), 0x0800), "10.3.0.1", 0, "10.3.0.2", 0, 17)
    # IPv6 TCP behind hop-by-hop, destination options and routing headers
    S6, D6 = "fd00::1", "fd00::2"
    ext = [(0, b"\x01\x04\0\0\0\0"), (60, b"\x01\x04\0\0\0\0"), (43, b"\0\0\0\0\0\0")]
    k.add(eth(ipv6(S6, D6, 6, tcp(5000, 443, SYN), ext), 0x86DD), S6, 5000, D6, 443, 6, flags=SYN)
    k.add(eth(ipv6(D6, S6, 6, tcp(443, 5000, RST | ACK)), 0x86DD), D6, 443, S6, 5000, 6, flags=RST | ACK)
    # IPv6 behind AH
    k.add(eth(ipv6(S6, D6, 17, udp(9, 9, b"h" * 10), [(51, b"\0\0" + b"\0" * 12)]), 0x86DD), S6, 9, D6, 9, 17)
    # ICMPv6 echo
    k.add(eth(ipv6(S6, D6, 58, icmp(128, b"e" * 16)), 0x86DD), S6, 0, D6, 0, 58)
    k.add(eth(ipv6(D6, S6, 58, icmp(129, b"e" * 16)), 0x86DD), D6, 0, S6, 0, 58)
    # IPv6 fragments: the first (offset 0) has ports, the second not
    k.add(eth(ipv6(S6, D6, 17, udp(6000, 6001, b"i" * 40), [(44, struct.pack("!HI", 0x0001, 7))]), 0x86DD),
          S6, 6000, D6, 6001, 17)
    k.add(eth(ipv6(S6, D6, 17, b"j" * 40, [(44, struct.pack("!HI", 48 << 3, 7))]), 0x86DD), S6, 0, D6, 0, 17)
    # a 1054-byte TCP segment cut to 64 bytes by the snaplen: a good flow, its wire bytes counted
    k.add(eth(ipv4("10.6.0.1", "10.6.0.2", 6, tcp(3000, 3001, ACK, b"s" * 1000)), 0x0800),
          "10.6.0.1", 3000, "10.6.0.2", 3001, 6, flags=ACK, caplen=64)
    # GRE (another protocol): a flow without ports
    k.add(eth(ipv4("10.5.0.1", "10.5.0.2", 47, b"\0" * 24), 0x0800), "10.5.0.1", 0, "10.5.0.2", 0, 47)
    # not IP, truncated, malformed
    k.bad(eth(b"\0\1\x08\0\6\4\0\1" + b"\0" * 20, 0x0806), "not_ip")
    k.bad(eth(ipv4(A, B, 6, tcp(1, 2, SYN)), 0x0800), "truncated_link", caplen=10)
    k.bad(eth(ipv4(A, B, 6, tcp(1, 2, SYN)), 0x0800), "truncated_ip", caplen=14 + 12)
    k.bad(eth(ipv4(A, B, 6, tcp(1, 2, SYN)), 0x0800), "truncated_l4", caplen=14 + 20 + 8)
    k.bad(eth(ipv4(A, B, 6, tcp(1, 2, SYN), version=5), 0x0800), "bad_ip")
    k.bad(eth(ipv4(A, B, 6, tcp(1, 2, SYN), ihl=3), 0x0800), "bad_ip")
    k.bad(eth(ipv4(A, B, 6, tcp(1, 2, SYN), total=16), 0x0800), "bad_ip")
    # a total length past the frame's wire length (a 54-byte frame claiming 1500)
    k.bad(eth(ipv4(A, B, 6, tcp(1, 2, SYN), total=1500), 0x0800), "bad_ip")
    k.bad(eth(ipv4(A, B, 17, udp(1, 2), total=24), 0x0800), "bad_l4")
    k.bad(eth(ipv6(S6, D6, 6, tcp(1, 2, SYN), [(0, b"\0" * 6)] * 9), 0x86DD), "bad_ipv6_ext")
    k.bad(eth(ipv6(S6, D6, 6, tcp(1, 2, SYN)), 0x86DD), "truncated_ip", caplen=14 + 30)
    # the last second's only talkers: one more query
    k.add(eth(ipv4("10.0.0.4", "10.0.0.3", 17, udp(5353, 53, b"q" * 58)), 0x0800), "10.0.0.4", 5353, "10.0.0.3", 53, 17)
    return k


def talkers(path, n):
    with open(path, "wb") as f:
        f.write(pcap_header(LINKTYPE_ETHERNET))
        for i in range(n):
            client = "10.1.%d.%d" % (i >> 8, i & 0xFF)
            f.write(record(T0 * 1000000 + i, eth(ipv4(client, "10.0.0.1", 17, udp(1000, 53, b"t" * 10)), 0x0800)))


def bench(path, packets, flows):
    rnd = random.Random(1)
    sizes = [64] * 7 + [576] * 4 + [1500]
    # one template frame per size and protocol; addresses and ports patched in
    tmpl = {}
    for size in set(sizes):
        for proto in (6, 17):
            l4 = tcp(0, 0, ACK) if proto == 6 else udp(0, 0)
            frame = eth(ipv4("10.0.0.1", "10.0.0.2", proto, l4 + b"\0" * (size - 14 - 20 - len(l4))), 0x0800)
            tmpl[(size, proto)] = bytearray(frame)
    hdr = struct.Struct("<IIII")
    t = T0 * 1000000
    with open(path, "wb") as f:
        f.write(pcap_header(LINKTYPE_ETHERNET, 65535))
        out = []
        for i in range(packets):
            fl = i % flows if i < flows else rnd.randrange(flows)
            size = sizes[i % len(sizes)]
            proto = 6 if fl % 3 else 17
            fr = tmpl[(size, proto)]
            fr[26:30] = struct.pack("!I", 0x0A000000 | (fl >> 8))       # src 10.x.y.z
            fr[30:34] = struct.pack("!I", 0xC0A80000 | (fl & 0xFF))     # dst 192.168.0.z
            fr[34:38] = struct.pack("!HH", 1024 + (fl % 50000), 80 + (fl % 7))
            if i & 1:  # replies: the other direction of the same flow
                fr[26:30], fr[30:34] = bytes(fr[30:34]), bytes(fr[26:30])
                fr[34:38] = bytes(fr[36:38]) + bytes(fr[34:36])
            t += 1
            out.append(hdr.pack(t // 1000000, t % 1000000, size, size))
            out.append(bytes(fr))
            if len(out) >= 20000:
                f.write(b"".join(out))
                out = []
        f.write(b"".join(out))


def ipfix(path, expect_path):
    rnd = random.Random(7)
    flows = []  # (src, sport, dst, dport, proto, vlan, fwd_packets, rev_packets, payload, t0_s)
    for i in range(40):
        flows.append(("10.20.%d.1" % i, 5000 + i, "10.20.%d.2" % i, 53, 17, 0, rnd.randint(1, 6), rnd.randint(0, 4), 30 + i, 0))
    for i in range(20):
        flows.append(("10.21.%d.1" % i, 40000 + i, "10.21.%d.2" % i, 443, 6, 0, rnd.randint(1, 8), rnd.randint(1, 8), 200, 0))
    for i in range(10):
        flows.append(("fd20::%x" % (i + 1), 6000 + i, "fd20::1:%x" % (i + 1), 123, 17, 0, rnd.randint(1, 3), rnd.randint(0, 3), 48, 0))
    for i in range(10):
        flows.append(("10.22.%d.1" % i, 7000 + i, "10.22.%d.2" % i, 4789, 17, 7, rnd.randint(1, 4), rnd.randint(0, 2), 60, 0))
    for i in range(5):
        flows.append(("10.23.%d.1" % i, 0, "10.23.%d.2" % i, 0, 1, 0, 2, 2, 56, 0))
    # the second phase, 300 s later: the first phase's flows have expired
    for i in range(30):
        flows.append(("10.24.%d.1" % i, 9000 + i, "10.24.%d.2" % i, 80, 6, 0, rnd.randint(1, 5), rnd.randint(0, 5), 100, 300))
    frames = []  # (t_us, frame)
    exp = []
    totals = {"packets": 0, "bytes": 0, "records": 0, "flows": len(flows)}

    def build(src, sport, dst, dport, proto, vlan, size):
        v6 = ":" in src
        if proto == 6:
            l4 = tcp(sport, dport, ACK, b"t" * size)
        elif proto == 17:
            l4 = udp(sport, dport, b"u" * size)
        else:
            l4 = icmp(8, b"p" * size)
        ip = ipv6(src, dst, proto, l4) if v6 else ipv4(src, dst, proto, l4)
        return eth(ip, 0x86DD if v6 else 0x0800, [(0x8100, vlan)] if vlan else ())

    for n, (src, sport, dst, dport, proto, vlan, fp, rp, size, t0) in enumerate(flows):
        t = (T0 + t0) * 1000000 + n * 10000
        recs = []
        for direction, count in ((0, fp), (1, rp)):
            if count == 0:
                continue
            a, ap, b, bp = (src, sport, dst, dport) if direction == 0 else (dst, dport, src, sport)
            nbytes = 0
            for k in range(count):
                fr = build(a, ap, b, bp, proto, vlan, size + k)
                frames.append((t + direction * 1000 + k * 2000, fr))
                nbytes += len(fr)
            recs.append({"src": a, "sport": ap, "dst": b, "dport": bp, "proto": proto, "vlan": vlan,
                         "packets": count, "bytes": nbytes})
            totals["packets"] += count
            totals["bytes"] += nbytes
            totals["records"] += 1
        exp.extend(recs)
    frames.sort(key=lambda x: x[0])
    with open(path, "wb") as f:
        f.write(pcap_header(LINKTYPE_ETHERNET))
        for t, fr in frames:
            f.write(record(t, fr))
    with open(expect_path, "w") as f:
        json.dump({"records": exp, "totals": totals}, f, indent=1)


def demo(path, me, peers):
    import math
    import time
    rnd = random.Random(me)
    end = int(time.time()) * 1000000
    span = 300
    start = end - span * 1000000
    out = []

    def add(t, src, dst, proto, l4, wirelen):
        frame = eth(ipv4(src, dst, proto, l4 + b"\0" * max(0, wirelen - 34 - len(l4))), 0x0800)
        out.append((t, record(t, frame[:96] if len(frame) > 96 else frame, wirelen=max(wirelen, len(frame)),
                              caplen=None)))

    for sec in range(span):
        base = start + sec * 1000000
        wave = 1 + math.sin(sec / 40.0)  # the rates rise and fall over the window
        for i, peer in enumerate(peers):
            port = 40000 + i
            for _ in range(2 + int(3 * wave)):
                t = base + rnd.randrange(1000000)
                add(t, me, peer, 6, tcp(port, 8443, ACK | PSH), rnd.choice((120, 380, 620)))
                add(t + 300, peer, me, 6, tcp(8443, port, ACK | PSH), rnd.choice((160, 900, 1400)))
            if sec % 10 == i:
                for k in range(5):
                    t = base + k * 2000
                    add(t, me, peer, 17, udp(50000 + i, 8443, b"probe"), 80)
                    add(t + 150, peer, me, 17, udp(8443, 50000 + i, b"probe"), 80)
            if sec % 30 == 0:
                add(base + 500000, me, peer, 1, icmp(8), 98)
                add(base + 500200, peer, me, 1, icmp(0), 98)
        if sec % 3 == 0:
            t = base + rnd.randrange(1000000)
            add(t, me, "192.0.2.53", 17, udp(53000 + sec % 100, 53, b"q"), 74)
            add(t + 800, "192.0.2.53", me, 17, udp(53, 53000 + sec % 100, b"a"), 130)
        if sec % 64 == 0:
            add(base + 1000, me, "192.0.2.123", 17, udp(123, 123, b"ntp"), 90)
            add(base + 9000, "192.0.2.123", me, 17, udp(123, 123, b"ntp"), 90)
        if 120 <= sec < 180:  # a minute of bulk transfer
            for k in range(40 + int(20 * wave)):
                t = base + k * 15000 + rnd.randrange(5000)
                add(t, me, "198.51.100.20", 6, tcp(41000, 22, ACK | PSH), 1514)
                if k % 4 == 0:
                    add(t + 200, "198.51.100.20", me, 6, tcp(22, 41000, ACK), 66)
    out.sort(key=lambda x: x[0])
    with open(path, "wb") as f:
        f.write(pcap_header(LINKTYPE_ETHERNET, 65535))
        f.write(b"".join(r for _, r in out))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "known":
        known(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "vlanmix" and int(sys.argv[4]) % 8 == 0:
        vlanmix(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 3 and sys.argv[1] == "corpus":
        corpus(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "talkers":
        talkers(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "ipfix":
        ipfix(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "demo":
        demo(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)
