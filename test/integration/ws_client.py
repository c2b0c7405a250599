#!/usr/bin/env python3
"""A small WebSocket client for tests (the standard library has none).

ws_client.py ADDR PORT TOKEN MODE SECONDS [ORIGIN]
  MODE read:   subscribe to "mesh" (or the comma-separated topics in env
               WS_TOPICS), print each text frame (one JSON per line)
  MODE stall:  subscribe, then never read; print "closed" if the server cuts us off
  MODE raw:    send the text given in env WS_SEND, print the replies
Prints "refused <status line>" when the upgrade is refused."""
import base64
import json
import os
import socket
import ssl
import struct
import sys
import time

addr, port, token, mode, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
origin = sys.argv[6] if len(sys.argv) > 6 else None

ctx = ssl._create_unverified_context()
raw = socket.create_connection((addr, port), timeout=10)
if mode == "stall":
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s = ctx.wrap_socket(raw)
key = base64.b64encode(os.urandom(16)).decode()
hdr = (f"GET /ws HTTP/1.1\r\nHost: {addr}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
if token:
    hdr += f"Cookie: mw_session={token}\r\n"
if origin:
    hdr += f"Origin: {origin}\r\n"
s.sendall((hdr + "\r\n").encode())
resp = b""
while b"\r\n\r\n" not in resp:
    chunk = s.recv(4096)
    if not chunk:
        break
    resp += chunk
head, _, rest = resp.partition(b"\r\n\r\n")
status = head.split(b"\r\n")[0].decode(errors="replace")
if " 101 " not in status:
    print("refused", status)
    sys.exit(0)


def send_text(text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        h = struct.pack("!BB", 0x81, 0x80 | n)
    else:
        h = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    s.sendall(h + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


buf = bytearray(rest)


def read_frame(deadline):
    global buf
    while True:
        if len(buf) >= 2:
            b1 = buf[1] & 0x7f
            off = 2
            if b1 == 126:
                if len(buf) < 4:
                    pass
                else:
                    b1 = struct.unpack("!H", buf[2:4])[0]
                    off = 4
            elif b1 == 127:
                if len(buf) >= 10:
                    b1 = struct.unpack("!Q", buf[2:10])[0]
                    off = 10
            if (buf[1] & 0x7f) < 126 or off > 2:
                if len(buf) >= off + b1:
                    op = buf[0] & 0x0f
                    payload = bytes(buf[off:off + b1])
                    del buf[:off + b1]
                    return op, payload
        left = deadline - time.time()
        if left <= 0:
            return None, None
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return None, None
        except (ConnectionResetError, ssl.SSLError, OSError):
            return 8, b""
        if not chunk:
            return 8, b""
        buf += chunk


end = time.time() + seconds
if mode == "raw":
    send_text(os.environ.get("WS_SEND", ""))
else:
    send_text(json.dumps({"subscribe": os.environ.get("WS_TOPICS", "mesh").split(",")}))
if mode == "stall":
    time.sleep(seconds)
    # drain: if the server cut us off, the stream ends early
    total = 0
    try:
        s.settimeout(2)
        while True:
            c = s.recv(1 << 20)
            if not c:
                break
            total += len(c)
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    print("closed" if total < 40 * 1024 * 1024 else "open", total)
    sys.exit(0)
while time.time() < end:
    op, payload = read_frame(end)
    if op is None:
        break
    if op == 8:
        print("server closed")
        break
    if op == 1:
        print(payload.decode(), flush=True)
