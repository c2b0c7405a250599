#!/usr/bin/env python3
"""Misbehaving TLS clients for the robustness test.

hold_clients.py ADDR PORT COUNT MODE SECONDS REPORT
  MODE idle: open COUNT TCP connections and send nothing.
  MODE slow: send a TLS ClientHello one byte every 0.5 s.
Holds them for SECONDS, then writes to REPORT how many connections the
server had closed by then (a server that abandons stalled handshakes
closes them), and exits."""
import json
import socket
import sys
import time

addr, port, count, mode, seconds, report = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6]

# A syntactically valid start of a TLS 1.2 ClientHello record header and
# handshake header; the server waits for the rest.
HELLO = bytes.fromhex("16030100c4010000c00303") + bytes(32) + bytes(200)

socks = []
for _ in range(count):
    s = socket.create_connection((addr, port), timeout=5)
    s.setblocking(False)
    socks.append(s)

closed_at = {}
start = time.monotonic()
pos = 0
while time.monotonic() - start < seconds:
    for i, s in enumerate(socks):
        if i in closed_at:
            continue
        try:
            if mode == "slow" and pos < len(HELLO):
                s.send(HELLO[pos:pos + 1])
            data = s.recv(4096)
            if data == b"":
                closed_at[i] = time.monotonic() - start
        except BlockingIOError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            closed_at[i] = time.monotonic() - start
    pos += 1
    time.sleep(0.5)

with open(report, "w") as f:
    json.dump({"opened": count, "closed": len(closed_at),
               "first_close_s": min(closed_at.values(), default=None)}, f)
for s in socks:
    s.close()
