#!/usr/bin/env python3
"""A slow HTTPS reader for the truncation test (standard library only).

slow_reader.py ADDR PATH TOKEN MODE RATE
  MODE close: HTTP/1.1 with Connection: close; http10: HTTP/1.0;
  keepalive: HTTP/1.1 keep-alive, then a second request on the same
  connection (the first response must end exactly at its Content-Length).
  RATE: bytes per second the reader takes (0: as fast as it can). The
  receive buffer is small and the first read waits 1 s, so the server's
  writes block on a full socket, as they do for a slow client on a WAN.
Prints one JSON line: {"ok", "got", "want", "seconds", "error"}."""
import json
import socket
import ssl
import sys
import time

addr, path, token, mode, rate = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])


def request(version, extra):
    return (f"GET {path} HTTP/{version}\r\nHost: {addr}:8443\r\nAuthorization: Bearer {token}\r\n"
            f"{extra}\r\n").encode()


def read_response(s, start_delay):
    """Reads one response: (body bytes received, Content-Length, leftover, eof)."""
    buf = b""
    time.sleep(start_delay)
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            return 0, -1, b"", True
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    want = -1
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            want = int(v.strip())
    t0 = time.monotonic()
    eof = False
    while len(body) < want:
        d = s.recv(4096)
        if not d:
            eof = True
            break
        body += d
        if rate:
            ahead = len(body) / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    return len(body[:want]), want, body[want:], eof


def main():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(30)
    raw.connect((addr, 8443))
    s = ctx.wrap_socket(raw)
    start = time.monotonic()
    out = {"ok": False, "got": 0, "want": -1, "seconds": 0, "error": None}
    try:
        if mode == "close":
            s.sendall(request("1.1", "Connection: close\r\n"))
        elif mode == "http10":
            s.sendall(request("1.0", ""))
        else:
            s.sendall(request("1.1", ""))
        got, want, rest, _ = read_response(s, 1.0)
        out.update(got=got, want=want)
        ok = want > 0 and got == want and not rest
        if mode == "keepalive" and ok:
            # the connection must still be in step: a second response follows
            s.sendall(request("1.1", "Connection: close\r\n"))
            got2, want2, _, _ = read_response(s, 0)
            ok = want2 > 0 and got2 == want2
            out["second"] = [got2, want2]
        out["ok"] = ok
    except (OSError, ssl.SSLError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    out["seconds"] = round(time.monotonic() - start, 2)
    print(json.dumps(out))
    sys.exit(0 if out["ok"] else 1)


main()
