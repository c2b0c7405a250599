#!/usr/bin/env python3
"""Receivers for the alerts test, written in the test (stdlib only).

  alert_receivers.py webhook PORT OUT SECRET [CERT KEY]
      An HTTP server (HTTPS with CERT and KEY) on 127.0.0.1:PORT that
      answers every POST with 200
      and appends one JSON line per request to OUT: the path, whether the
      X-Meshwatch-Signature header is the HMAC-SHA256 of the body under
      SECRET ("sig_ok"), the delivery id, and the body.

  alert_receivers.py smtp PORT DIR
      An SMTP server on 127.0.0.1:PORT with STARTTLS (a certificate made
      with openssl in DIR): EHLO, STARTTLS, MAIL, RCPT, DATA, QUIT. Each
      message goes to DIR/mail-N.eml with a first line "X-Test-TLS: yes"
      when it came over TLS.

Each prints "ready" on stdout once listening."""
import hashlib
import hmac
import http.server
import json
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time


def webhook(port, out, secret, cert=None, key=None):
    lock = threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            rec = {"at": time.time(), "path": self.path, "sig_ok": self.headers.get("X-Meshwatch-Signature") == want,
                   "delivery": self.headers.get("X-Meshwatch-Delivery"), "body": json.loads(body)}
            with lock, open(out, "a") as f:
                f.write(json.dumps(rec) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready", flush=True)
    srv.serve_forever()


def smtp(port, d):
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "crt.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=smtp.test"],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    count = [0]
    lock = threading.Lock()

    class H(socketserver.StreamRequestHandler):
        def handle(self):
            sock, tls = self.request, False
            f = sock.makefile("rb")

            def say(s):
                sock.sendall((s + "\r\n").encode())

            say("220 smtp.test ESMTP")
            rcpt, data = [], None
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode(errors="replace").rstrip("\r\n")
                up = cmd.upper()
                if up.startswith("EHLO"):
                    say("250-smtp.test")
                    say("250 STARTTLS" if not tls else "250 8BITMIME")
                elif up.startswith("HELO"):
                    say("250 smtp.test")
                elif up == "STARTTLS" and not tls:
                    say("220 go ahead")
                    sock = ctx.wrap_socket(sock, server_side=True)
                    f, tls = sock.makefile("rb"), True
                elif up.startswith("MAIL FROM"):
                    rcpt = []
                    say("250 ok")
                elif up.startswith("RCPT TO"):
                    rcpt.append(cmd)
                    say("250 ok")
                elif up == "DATA":
                    say("354 go")
                    data = []
                    while True:
                        l = f.readline()
                        if not l or l == b".\r\n":
                            break
                        data.append(l[1:] if l.startswith(b"..") else l)
                    with lock:
                        count[0] += 1
                        n = count[0]
                    with open(os.path.join(d, "mail-%d.eml" % n), "wb") as o:
                        o.write(b"X-Test-TLS: " + (b"yes" if tls else b"no") + b"\r\n" + b"".join(data))
                    say("250 queued")
                elif up == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("502 unknown")

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", port), H)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "webhook":
        webhook(int(sys.argv[2]), sys.argv[3], sys.argv[4], *sys.argv[5:7])
    else:
        smtp(int(sys.argv[2]), sys.argv[3])
