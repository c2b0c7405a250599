#!/usr/bin/env python3
"""Hostile reporters for POST /report tests.

hostile_report.py body ID FQDN IP SEQ PEERS [MEASURED_OFFSET_S]
    prints one snapshot of origin ID listing PEERS made-up peers, measured
    MEASURED_OFFSET_S seconds from now (default 0).
hostile_report.py flood ADDR SECRET ORIGINS REPORTS PEERS THREADS DB CAP
    ORIGINS made-up origins send REPORTS snapshots each of PEERS peers,
    each signed as its origin (test/integration/mesh_sign.py signs), over
    THREADS connections, while the size of DB (+ -wal) is sampled every
    20 ms. Prints one JSON line: sent, statuses, max_db_bytes, over_cap
    samples, seconds."""
import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def snapshot(oid, fqdn, ip, seq, peers, offset=0):
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))
    ps = []
    for j in range(peers):
        pid = str(uuid.UUID(int=hash((oid, seq, j)) & ((1 << 128) - 1), version=4))
        ps.append({"id": pid, "fqdn": f"p{j}-{seq}.flood.test", "ip": f"10.{j // 250 % 250}.{j % 250}.{seq % 250 + 1}",
                   "port": 8443, "state": "alive", "measured_at": t, "rtt_ms": 1.5, "loss": 0, "total_ms": 3.0,
                   "pmtu": 1500})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return json.dumps({"version": 1, "origin": {"id": oid, "fqdn": fqdn, "ip": ip, "port": 8443, "incarnation": 1},
                       "seq": seq, "generated_at": now, "interval_s": 60, "peers": ps}, separators=(",", ":")).encode()


def sign(secret, body, ident, tmpdir):
    path = os.path.join(tmpdir, f"body.{threading.get_ident()}")
    with open(path, "wb") as f:
        f.write(body)
    env = dict(os.environ, MW_METHOD="POST", MW_PATH="/report", MW_BODY_FILE=path)
    out = subprocess.run([sys.executable, os.path.join(HERE, "mesh_sign.py"), secret, "0", *ident], env=env,
                         capture_output=True, text=True, check=True).stdout
    os.unlink(path)
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def db_size(db):
    total = 0
    for p in (db, db + "-wal"):
        try:
            total += os.stat(p).st_size
        except FileNotFoundError:
            pass
    return total


def flood(addr, secret, origins, reports, peers, threads, db, cap):
    tmpdir = os.path.dirname(db)
    ids = [str(uuid.uuid4()) for _ in range(origins)]
    work = [(o, s) for s in range(1, reports + 1) for o in range(origins)]
    lock = threading.Lock()
    res = {"sent": 0, "statuses": {}, "max_db_bytes": 0, "over_cap": 0}
    done = threading.Event()

    def sampler():
        while not done.is_set():
            sz = db_size(db)
            with lock:
                res["max_db_bytes"] = max(res["max_db_bytes"], sz)
                if sz > cap:
                    res["over_cap"] += 1
            time.sleep(0.02)

    def worker(k):
        ctx = ssl._create_unverified_context()
        conn = http.client.HTTPSConnection(addr, 8443, context=ctx, timeout=30)
        for i in range(k, len(work), threads):
            o, seq = work[i]
            ip = f"10.200.{o // 250}.{o % 250 + 1}"
            fqdn = f"o{o}.flood.test"
            body = snapshot(ids[o], fqdn, ip, seq, peers)
            hdrs = sign(secret, body, [ids[o], fqdn, ip, "8443", "1"], tmpdir)
            hdrs["Content-Type"] = "application/json"
            try:
                conn.request("POST", "/report", body, hdrs)
                r = conn.getresponse()
                r.read()
                st = str(r.status)
            except Exception as e:  # a refused or reset connection counts too
                st = type(e).__name__
                conn.close()
                conn = http.client.HTTPSConnection(addr, 8443, context=ctx, timeout=30)
            with lock:
                res["sent"] += 1
                res["statuses"][st] = res["statuses"].get(st, 0) + 1

    t0 = time.time()
    smp = threading.Thread(target=sampler)
    smp.start()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    time.sleep(0.5)  # the writer's last check after the last commit
    done.set()
    smp.join()
    res["seconds"] = round(time.time() - t0, 2)
    res["body_bytes"] = len(snapshot(ids[0], "o0.flood.test", "10.200.0.1", 1, peers))
    print(json.dumps(res))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "body":
        a = sys.argv[2:]
        sys.stdout.write(snapshot(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]) if len(a) > 5 else 0).decode())
    elif cmd == "flood":
        a = sys.argv[2:]
        flood(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]), a[6], int(a[7]))
    else:
        sys.exit(f"unknown command {cmd}")
