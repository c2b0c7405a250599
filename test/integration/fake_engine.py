#!/usr/bin/env python3
"""A container engine's API on a unix socket, for meshwatch's container
discovery: GET /containers/json and GET /networks answer fixed JSON (the
shape the Docker Engine API returns), anything else 404. Prints "ready"
once listening. Usage: fake_engine.py SOCKET_PATH"""
import http.server
import json
import os
import socketserver
import sys

CONTAINERS = [
    {"Id": "a1" * 32, "Names": ["/web"], "Image": "nginx:1.25", "State": "running",
     "Labels": {"com.docker.compose.service": "web"},
     "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
     "NetworkSettings": {"Networks": {"front": {"IPAddress": "172.31.5.2", "MacAddress": "02:42:ac:1f:05:02"}}}},
    {"Id": "b2" * 32, "Names": ["/git"], "Image": "gitlab/gitlab-ce:16.0.1-ce.0", "State": "running", "Labels": {},
     "Ports": [{"PrivatePort": 80, "Type": "tcp"}, {"PrivatePort": 22, "Type": "tcp"}],
     "NetworkSettings": {"Networks": {"front": {"IPAddress": "172.31.5.3", "MacAddress": "02:42:ac:1f:05:03"}}}},
    {"Id": "c3" * 32, "Names": ["/billing"], "Image": "acme/billing:4", "State": "running",
     "Labels": {"meshwatch.service": "Billing API"},
     "Ports": [{"PrivatePort": 8000, "Type": "tcp"}],
     "NetworkSettings": {"Networks": {"back": {"IPAddress": "10.77.0.9", "MacAddress": "02:42:0a:4d:00:09"}}}},
    {"Id": "d4" * 32, "Names": ["/shop"], "Image": "acme/storefront:3", "State": "running", "Labels": None,
     "Ports": [{"PrivatePort": 80, "Type": "tcp"}],
     "NetworkSettings": {"Networks": {"back": {"IPAddress": "10.77.0.10", "MacAddress": "02:42:0a:4d:00:0a"}}}},
]
NETWORKS = [
    {"Name": "front", "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "172.31.5.0/24", "Gateway": "172.31.5.1"}]}},
    {"Name": "back", "Driver": "bridge", "IPAM": {"Config": [{"Subnet": "10.77.0.0/16"}]}},
    {"Name": "host", "Driver": "host", "IPAM": {"Config": []}},
]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        body = {"/containers/json": CONTAINERS, "/networks": NETWORKS}.get(path)
        data = json.dumps(body if body is not None else {"message": "page not found"}).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self):
        return "unix"

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
srv = Server(path, Handler)
print("ready", flush=True)
srv.serve_forever()
