#!/usr/bin/env python3
"""One client address holding many slow connections (standard library only).

conn_hold.py SRC ADDR PORT COUNT SECONDS REPORT
  From source address SRC, keeps COUNT connections to ADDR:PORT open for
  SECONDS: a third bare TCP (nothing sent), a third a TLS ClientHello cut
  short (the handshake stalls), a third a finished TLS handshake followed by
  part of a request's headers (slowloris). A connection the server closes
  is opened again (at most every 0.5 s per slot), so the address keeps
  asking for COUNT. REPORT gets {"opened", "closed", "held_max"}: how many
  connections were made, how many the server closed, and the most open at
  once."""
import json
import select
import socket
import ssl
import sys
import time

src, addr, port, count, seconds, report = (sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                           float(sys.argv[5]), sys.argv[6])
HELLO = bytes.fromhex("16030100c4010000c00303") + bytes(32)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

slots = [None] * count      # (socket, kind) or None
next_try = [0.0] * count
opened = closed = held_max = 0


def open_slot(i):
    global opened
    kind = i % 3
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(2)
    try:
        s.connect((addr, port))
        if kind == 1:
            s.sendall(HELLO)
        elif kind == 2:
            s = ctx.wrap_socket(s)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        s.setblocking(False)
    except (OSError, ssl.SSLError):
        s.close()
        return None
    opened += 1
    return s


start = time.monotonic()
while time.monotonic() - start < seconds:
    now = time.monotonic()
    for i in range(count):
        if slots[i] is None and now >= next_try[i]:
            next_try[i] = now + 0.5
            slots[i] = open_slot(i)
            if slots[i] is None:
                closed += 1
    live = [s for s in slots if s is not None]
    held_max = max(held_max, len(live))
    r, _, _ = select.select(live, [], [], 0.1) if live else ([], [], [])
    for s in r:
        try:
            d = s.recv(4096)
        except ssl.SSLWantReadError:
            continue
        except (OSError, ssl.SSLError):
            d = b""
        if not d:
            i = slots.index(s)
            s.close()
            slots[i] = None
            closed += 1
for s in slots:
    if s is not None:
        s.close()
with open(report, "w") as f:
    json.dump({"opened": opened, "closed": closed, "held_max": held_max}, f)
