#!/usr/bin/env python3
"""Known services for the discovery tests (stdlib only), one process:
   discovery_services.py ADDR SPEC...  where SPEC is one of
     http:PORT:TITLE:SERVER   an HTTP server with that <title> and Server header
     banner:PORT:TEXT         says TEXT (and CRLF) on connect, then closes
     tarpit:PORT              accepts and never says anything
     tls:PORT:CERT:KEY:TITLE  HTTPS with that certificate, same page shape
Prints "ready" once every socket listens."""
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def http_handler(title, server):
    class H(BaseHTTPRequestHandler):
        server_version = server
        sys_version = ""

        def do_GET(self):
            body = f"<html><head><title>{title}</title></head><body>{title}</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    return H


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_http(addr, port, title, server, ctx=None):
    s = Server((addr, port), http_handler(title, server))
    if ctx:
        s.socket = ctx.wrap_socket(s.socket, server_side=True)
    threading.Thread(target=s.serve_forever, daemon=True).start()


def listener(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    return s


def serve_banner(addr, port, text):
    s = listener(addr, port)

    def run():
        while True:
            c, _ = s.accept()
            try:
                c.sendall(text.encode() + b"\r\n")
            except OSError:
                pass
            c.close()

    threading.Thread(target=run, daemon=True).start()


def serve_tarpit(addr, port):
    s = listener(addr, port)
    held = []

    def run():
        while True:
            c, _ = s.accept()
            held.append(c)
            del held[:-256]

    threading.Thread(target=run, daemon=True).start()


def main():
    addr = sys.argv[1]
    for spec in sys.argv[2:]:
        kind, rest = spec.split(":", 1)
        if kind == "http":
            port, title, server = rest.split(":", 2)
            serve_http(addr, int(port), title, server)
        elif kind == "banner":
            port, text = rest.split(":", 1)
            serve_banner(addr, int(port), text)
        elif kind == "tarpit":
            serve_tarpit(addr, int(rest))
        elif kind == "tls":
            port, cert, key, title = rest.split(":", 3)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            serve_http(addr, int(port), title, "meshwatch-test-tls", ctx)
        else:
            sys.exit(f"unknown service kind {kind}")
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
