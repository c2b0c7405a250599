#!/usr/bin/env python3
"""A fake mesh peer for tests: an HTTPS server whose GET /nodeinfo answer is
read from a file on every request, so a test can make it lie, break or grow.

fake_node.py ADDR PORT CERT KEY ANSWER_FILE
ANSWER_FILE holds JSON: {"status": 200, "body": <any JSON>} or
{"status": 200, "raw": "text"} or {"status": 200, "huge": N} (N bytes)."""
import http.server
import json
import ssl
import sys

addr, port, cert, key, answer_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        with open(answer_file) as f:
            a = json.load(f)
        if "huge" in a:
            data = b'{"node_id":"' + b"x" * a["huge"] + b'"}'
        elif "raw" in a:
            data = a["raw"].encode()
        else:
            data = json.dumps(a["body"]).encode()
        self.send_response(a.get("status", 200))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.ThreadingHTTPServer((addr, port), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
