#!/usr/bin/env python3
"""Minimal WebSocket client (stdlib): ws_frames.py ADDR TOKEN TOPIC N
connects to wss://ADDR:8443/ws, subscribes to TOPIC and prints the first N
text frames of that topic (one JSON per line), or exits 1 after 15 s."""
import base64
import json
import os
import socket
import ssl
import sys
import time


def main():
    addr, token, topic, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(socket.create_connection((addr, 8443), timeout=15))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: {addr}:8443\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, buf = buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        sys.exit("no upgrade: " + head.decode(errors="replace"))
    msg = json.dumps({"subscribe": [topic]}).encode()
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
    got, deadline = 0, time.time() + 15
    while got < want and time.time() < deadline:
        while len(buf) < 2:
            buf += s.recv(65536)
        n = buf[1] & 0x7F
        off = 2
        if n == 126:
            while len(buf) < 4:
                buf += s.recv(65536)
            n, off = int.from_bytes(buf[2:4], "big"), 4
        elif n == 127:
            while len(buf) < 10:
                buf += s.recv(65536)
            n, off = int.from_bytes(buf[2:10], "big"), 10
        while len(buf) < off + n:
            buf += s.recv(65536)
        payload, buf = buf[off:off + n], buf[off + n:]
        try:
            m = json.loads(payload)
        except ValueError:
            continue
        if m.get("type") == topic:
            print(json.dumps(m), flush=True)
            got += 1
    sys.exit(0 if got >= want else 1)


if __name__ == "__main__":
    main()
