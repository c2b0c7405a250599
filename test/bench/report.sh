#!/usr/bin/env bash
# Ingest benchmark of a reporting node: synthetic snapshots of a 200-node
# mesh (200 peers each) posted over keep-alive TLS as fast as the node takes
# them. Reports snapshots/s, CPU per snapshot, database growth per snapshot,
# and derives the cost for 100 and 1,000 reporting nodes (each sending one
# snapshot a minute listing every other node). A benchmark, not a test: it
# never fails on slow numbers. Loopback only; everything it starts is
# stopped and removed on exit.
#   ./test/bench/report.sh            (SECONDS=20 PEERS=200 ORIGINS=200 THREADS=4)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${SECONDS_RUN:-20}; PEERS=${PEERS:-200}; ORIGINS=${ORIGINS:-200}; THREADS=${THREADS:-4}
BIN=${MESHWATCH:-build-bench/meshwatch}
if [ ! -x "$BIN" ]; then
  [ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release -Doptimization=2 >/dev/null
  ninja -C build-bench >/dev/null
fi
T=$(mktemp -d /tmp/mw-bench-report.XXXXXX)
ADDR=127.0.61.1
PID=
cleanup() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT_USER=admin ROOT_PASSWORD=bench-pass-123 MESHWATCH_DB_MAX_BYTES=2000000000 MESHWATCH_LOG_LEVEL=warn \
  "$BIN" --listen "$ADDR:8443" --data-dir "$T/data" --name rep.bench > "$T/node.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -sk -o /dev/null "https://$ADDR:8443/health" && break; sleep 0.1; done
db_bytes() { du -cb "$T"/data/meshwatch.db* | tail -1 | cut -f1; }
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz=$(getconf CLK_TCK)
size0=$(db_bytes); cpu0=$(cpu)
res=$(python3 test/bench/report_load.py "$ADDR" 8443 "$ORIGINS" "$PEERS" "$THREADS" "$SECS")
cpu1=$(cpu); size1=$(db_bytes)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
python3 - "$res" "$cpu0" "$cpu1" "$hz" "$size0" "$size1" "$PEERS" "$rss" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); cpu0, cpu1, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s0, s1, peers, rss = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
acc = max(r["accepted"], 1)
rate = r["accepted"] / r["seconds"]
cpu_s = (cpu1 - cpu0) / hz
cpu_per = cpu_s / acc
cpu_per_cell = cpu_per / peers
growth = (s1 - s0) / acc
growth_cell = growth / peers
print(f"reporting node ingest, snapshots of {peers} peers ({r['bytes_per_snapshot']} bytes each), {sys.argv[1]}")
print(f"  accepted {r['accepted']} of {r['sent']} in {r['seconds']} s: {rate:.1f} snapshots/s ({rate * peers:.0f} cells/s)")
print(f"  node CPU {cpu_s:.2f} s: {cpu_per * 1000:.2f} ms per snapshot, {cpu_per_cell * 1e6:.1f} us per cell")
print(f"  database growth {growth / 1024:.1f} KiB per snapshot ({growth_cell:.0f} bytes per cell); RSS after load {rss / 1024:.1f} MiB")
print("cost model: R reporting nodes, each one snapshot a minute listing the other R-1 (the node's own")
print("measurement above scaled by cells, before the size cap; retention and the 10 MB cap bound the disk):")
for R in (100, 1000):
    cells = R * (R - 1) / 60.0
    print(f"  R={R:5d}: {R / 60:.1f} snapshots/s, {cells:.0f} cells/s -> {cells * cpu_per_cell * 100:.1f}% of one core, "
          f"{cells * growth_cell * 3600 / 2**20:.0f} MiB/hour of history")
PY
