#!/usr/bin/env python3
"""WebSocket clients that break the rules (standard library only).

ws_abuse.py ADDR TOKEN bigframe MB
  Upgrades, then sends the header of one frame announcing MB megabytes.
  The node must refuse it on the header: a close frame with status 1009.
  If none comes within 2 s, streams the payload (what a node that buffers
  whole frames would keep in memory). Prints {"close_code", "sent"}.
ws_abuse.py ADDR TOKEN longkey N
  N upgrades with a 64-character Sec-WebSocket-Key; prints the statuses.
ws_abuse.py ADDR TOKEN normal
  One ordinary upgrade; exits 0 when the node says hello."""
import base64
import json
import os
import socket
import ssl
import struct
import sys
import time

addr, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def upgrade(key):
    s = ctx.wrap_socket(socket.create_connection((addr, 8443), timeout=10))
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: {addr}:8443\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode() if head.startswith(b"HTTP/") else "none"
    return s, status, rest


def read_frame(s, rest, timeout):
    s.settimeout(timeout)
    buf = rest
    while True:
        if len(buf) >= 2:
            n = buf[1] & 127
            off = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            if len(buf) >= off:
                if n == 126:
                    n = struct.unpack(">H", buf[2:4])[0]
                elif n == 127:
                    n = struct.unpack(">Q", buf[2:10])[0]
                if len(buf) >= off + n:
                    return buf[0] & 15, buf[off:off + n], buf[off + n:]
        d = s.recv(65536)
        if not d:
            return None, b"", b""
        buf += d


def key():
    return base64.b64encode(os.urandom(16)).decode()


if mode == "bigframe":
    size = int(sys.argv[4]) * 1024 * 1024
    s, status, rest = upgrade(key())
    if status != "101":
        sys.exit(f"no upgrade: {status}")
    op, _, rest = read_frame(s, rest, 5)  # hello
    s.sendall(bytes([0x81, 0x80 | 127]) + struct.pack(">Q", size) + b"\0\0\0\0")
    code, sent = None, 0
    try:
        op, payload, rest = read_frame(s, rest, 2)
        if op == 8 and len(payload) >= 2:
            code = struct.unpack(">H", payload[:2])[0]
    except socket.timeout:
        chunk = bytes(1 << 20)
        try:
            s.settimeout(20)
            while sent < size:
                s.sendall(chunk)
                sent += len(chunk)
            time.sleep(1)
        except OSError:
            pass
    print(json.dumps({"close_code": code, "sent": sent}))
elif mode == "longkey":
    statuses = []
    for _ in range(int(sys.argv[4])):
        s, status, _ = upgrade(base64.b64encode(os.urandom(48)).decode())  # 64 characters
        statuses.append(status)
        s.close()
    print(json.dumps(statuses))
else:
    s, status, rest = upgrade(key())
    if status != "101":
        sys.exit(f"no upgrade: {status}")
    op, payload, _ = read_frame(s, rest, 5)
    if op != 1 or json.loads(payload).get("type") != "hello":
        sys.exit(f"no hello: {op} {payload[:100]!r}")
    print("hello")
