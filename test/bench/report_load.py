#!/usr/bin/env python3
"""Sends synthetic snapshots of a PEERS-node mesh to a reporting node as fast
as it takes them, from ORIGINS origins over THREADS keep-alive TLS
connections, for SECONDS. Prints one JSON line: sent, accepted, errors,
seconds, bytes per snapshot.

report_load.py ADDR PORT ORIGINS PEERS THREADS SECONDS"""
import http.client
import json
import random
import ssl
import sys
import threading
import time
import uuid

addr, port, origins, peers, threads, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])

ids = [str(uuid.UUID(int=random.getrandbits(128), version=4)) for _ in range(max(origins, peers + 1))]
ips = [f"10.{i // 250}.{i % 250}.1" for i in range(len(ids))]


def snapshot(o, seq):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ps = []
    for j in range(peers + 1):
        if j == o:
            continue
        if len(ps) == peers:
            break
        ps.append({"id": ids[j], "fqdn": f"n{j}.bench", "ip": ips[j], "port": 8443, "state": "alive",
                   "last_seen": now, "measured_at": now, "rtt_ms": round(random.uniform(0.1, 40), 3),
                   "loss": 0, "total_ms": round(random.uniform(1, 80), 3), "pmtu": 1500, "success_rate_1h": 1})
    return json.dumps({"version": 1, "origin": {"id": ids[o], "fqdn": f"n{o}.bench", "ip": ips[o], "port": 8443,
                                                "incarnation": 1},
                       "seq": seq, "generated_at": now, "interval_s": 60, "peers": ps,
                       "summaries": {"mesh": {"total": peers, "alive": peers, "suspect": 0, "dead": 0}}}).encode()


lock = threading.Lock()
counts = {"sent": 0, "accepted": 0, "errors": 0, "bytes": 0}
seqs = [0] * origins
end = time.time() + seconds


def worker(k):
    ctx = ssl._create_unverified_context()
    conn = http.client.HTTPSConnection(addr, port, context=ctx, timeout=10)
    o = k
    while time.time() < end:
        with lock:
            o = (o + 1) % origins
            seqs[o] += 1
            seq = seqs[o]
        body = snapshot(o, seq)
        try:
            conn.request("POST", "/report", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            ok = r.status == 202
        except Exception:
            ok = False
            conn.close()
            conn = http.client.HTTPSConnection(addr, port, context=ctx, timeout=10)
        with lock:
            counts["sent"] += 1
            counts["bytes"] += len(body)
            if ok:
                counts["accepted"] += 1
            else:
                counts["errors"] += 1


t0 = time.time()
ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
counts["seconds"] = round(time.time() - t0, 3)
counts["bytes_per_snapshot"] = counts["bytes"] // max(counts["sent"], 1)
print(json.dumps(counts))
