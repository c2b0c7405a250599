#!/usr/bin/env python3
"""A hostile mesh peer for tests: an HTTPS server (python3 ssl + http.server)
that answers GET /nodeinfo as a meshwatch node would, but from its second
answer on names thousands of fake peers and a real node's id at a new
address, to poison the caller's peer table.

usage: hostile_peer.py ADDR PORT CERT KEY ID FAKES FAKE_ADDR REAL_ID VICTIM_FILE
  FAKES fake peers at FAKE_ADDR:20000+i (ids fa4e0000-0000-4000-8000-<i>),
  REAL_ID listed at ADDR:1 (its real address is elsewhere).
Only the caller whose X-Mw-Id is in VICTIM_FILE gets the poison (others
get an empty list), so a test can tell what spread by gossip from what a
node heard from this peer itself. Writes one line per /nodeinfo request to stdout (flushed)."""
import http.server
import json
import ssl
import sys
import threading

addr, port, cert, key, node_id = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
fakes, fake_addr, real_id, victim_file = int(sys.argv[6]), sys.argv[7], sys.argv[8], sys.argv[9]
polls = 0
lock = threading.Lock()


def fake_list():
    out = [{"id": real_id, "fqdn": "moved.test", "ip": addr, "port": 1, "state": "alive",
            "incarnation": 99, "age_s": 0}]
    for i in range(fakes):
        out.append({"id": "fa4e0000-0000-4000-8000-%012x" % i, "fqdn": "fake%d.test" % i, "ip": fake_addr,
                    "port": 20000 + i, "state": "alive", "incarnation": 1, "age_s": 0})
    # an incarnation no node can reach: dropped as invalid
    out.append({"id": "fa4e0000-0000-4000-8000-ffffffffffff", "fqdn": "big.test", "ip": fake_addr, "port": 19999,
                "state": "alive", "incarnation": 10**15, "age_s": 0})
    return out


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global polls
        ident = {"node_id": node_id, "node_fqdn": "hostile.test", "node_ip": addr, "port": port, "incarnation": 1}
        if self.path.startswith("/nodeinfo"):
            caller = self.headers.get("X-Mw-Id", "?")
            try:
                victim = open(victim_file).read().strip()
            except OSError:
                victim = ""
            n = 0
            if caller == victim:
                with lock:
                    polls += 1
                    n = polls
            print("nodeinfo %d from %s" % (n, caller), flush=True)
            # the first answer is harmless, so the caller has met the real nodes first
            self.send_json(dict(ident, peers=fake_list() if n >= 2 else [], peers_unchanged=False,
                                peers_delta=False))
        else:
            self.send_json(dict(ident, status="healthy"))


srv = http.server.ThreadingHTTPServer((addr, port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("listening", flush=True)
srv.serve_forever()
