#!/usr/bin/env python3
"""Signs a /nodeinfo request the way meshwatch does, for tests.

mesh_sign.py SECRET TS_OFFSET [ID FQDN IP PORT INC]
Prints curl header arguments, one per line: X-Mw-Timestamp, X-Mw-Nonce,
X-Mw-Signature (and the identity headers when given). TS_OFFSET shifts the
timestamp (a stale request). MW_METHOD, MW_PATH and MW_BODY_FILE (env) sign
another request than GET /nodeinfo; MW_DEST names the destination node's id
(the node the request is for; "" when unset, which only /report accepts)."""
import hashlib
import hmac
import os
import sys
import time

secret, off = sys.argv[1], int(sys.argv[2])
ident = sys.argv[3:8]
ts = str(int(time.time()) + off)
nonce = os.urandom(16).hex()
identity = "|".join(ident) if ident else ""
body = open(os.environ["MW_BODY_FILE"], "rb").read() if os.environ.get("MW_BODY_FILE") else b""
body_hash = hashlib.sha256(body).hexdigest()
parts = ["meshwatch-request-v2", os.environ.get("MW_METHOD", "GET"), os.environ.get("MW_PATH", "/nodeinfo"),
         identity, os.environ.get("MW_DEST", ""), ts, nonce, body_hash]
msg = "".join(p + "\n" for p in parts).encode()
sig = hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
print(f"X-Mw-Timestamp: {ts}")
print(f"X-Mw-Nonce: {nonce}")
print(f"X-Mw-Signature: {sig}")
if ident:
    for name, v in zip(["Id", "Fqdn", "Ip", "Port", "Incarnation"], ident):
        print(f"X-Mw-{name}: {v}")
