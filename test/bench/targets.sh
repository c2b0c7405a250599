#!/usr/bin/env bash
# TCP targets benchmark: one meshwatch node checks N targets (default 5000)
# every INTERVAL seconds (5) against local listeners (LISTENERS ports on one
# loopback address, all accepting), for WINDOW seconds (180) after a warm-up
# of two intervals. Reports checks per second sustained (and the share of
# the ideal N/INTERVAL), scheduling lateness p50 / p99 / max over the last
# full minute (the checker's own histogram: start of a connect minus the
# round's due time), CPU (user+system seconds per second and per 1000
# checks), RSS (peak) and failed checks.
#
# For scale, the same number of connects is made in the same run by
# `nmap -sT` (a full-connect port scan, when nmap is installed: one pass of
# N connects, as fast as it goes) and the CPU cost per 1000 connects of both
# is compared: the only figure the two tools share.
#
# A benchmark, not a test: it prints figures and whether the targets are met
# (lateness p99 < 100 ms, RSS < 32 MB) and exits 0 however slow the numbers
# are; 2 when it cannot run.
#
#   ./test/bench/targets.sh
#   N=1000 WINDOW=60 ./test/bench/targets.sh      a quick run
# Knobs: N, INTERVAL, WINDOW, LISTENERS (50), ADDR (127.0.0.71 for the node,
# LADDR 127.0.0.72 for the listeners), MESHWATCH (binary; default
# build-bench/meshwatch, a release build made when missing), KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${N:-5000}
INTERVAL=${INTERVAL:-5}
WINDOW=${WINDOW:-180}
LISTENERS=${LISTENERS:-50}
ADDR=${ADDR:-127.0.0.71}
LADDR=${LADDR:-127.0.0.72}
die() { printf 'targets.sh: %s\n' "$*" >&2; exit 2; }

MW=${MESHWATCH:-}
if [ -z "$MW" ]; then
	[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release -Doptimization=2 >/dev/null
	ninja -C build-bench meshwatch >/dev/null
	MW=$ROOT/build-bench/meshwatch
fi
[ -x "$MW" ] || die "no meshwatch binary at $MW"
curl -sk --max-time 1 "https://$ADDR:8443/health" >/dev/null 2>&1 && die "$ADDR:8443 is in use"

TMP=$(mktemp -d /tmp/mw-bench-targets.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 test/integration/tcp_listeners.py "$LADDR" "$LISTENERS" >"$TMP/ports" 2>"$TMP/listeners.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$TMP/ports" ] && break; sleep 0.1; done
read -r -a PORTS < <(sed 's/^open //' "$TMP/ports")
[ "${#PORTS[@]}" = "$LISTENERS" ] || die "listeners did not start: $(cat "$TMP/listeners.log")"

ROOT_USER=admin ROOT_PASSWORD=bench-password-1 MESHWATCH_LOG_LEVEL=warn \
	MESHWATCH_MAX_TARGETS=$((N + 10)) MESHWATCH_DB_MAX_BYTES=200000000 \
	"$MW" --listen "$ADDR:8443" --data-dir "$TMP/data" --name bench >"$TMP/node.log" 2>&1 &
NODE=$!
PIDS+=("$NODE")
for _ in $(seq 100); do curl -sk --max-time 1 -o /dev/null "https://$ADDR:8443/health" && break; sleep 0.1; done

echo "creating $N targets (every $INTERVAL s) against $LISTENERS listeners on $LADDR ..."
python3 - "$ADDR" "$LADDR" "$N" "$INTERVAL" "${PORTS[@]}" <<'PY' || die "could not create the targets"
import http.client, json, ssl, sys
addr, laddr, n, interval, ports = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
ctx = ssl._create_unverified_context()
c = http.client.HTTPSConnection(addr, 8443, context=ctx)
c.request("POST", "/api/login", json.dumps({"username": "admin", "password": "bench-password-1"}), {"Content-Type": "application/json"})
tok = json.loads(c.getresponse().read())["token"]
h = {"Content-Type": "application/json", "Authorization": "Bearer " + tok}
for i in range(n):
    body = {"name": f"t{i}", "host": laddr, "port": int(ports[i % len(ports)]), "interval_s": interval, "timeout_s": 1}
    c.request("POST", "/api/targets", json.dumps(body), h)
    r = c.getresponse(); r.read()
    if r.status != 201:
        sys.exit(f"target {i}: HTTP {r.status}")

PY
TOKEN=$(python3 -c "
import http.client, json, ssl
c = http.client.HTTPSConnection('$ADDR', 8443, context=ssl._create_unverified_context())
c.request('POST', '/api/login', json.dumps({'username': 'admin', 'password': 'bench-password-1'}), {'Content-Type': 'application/json'})
print(json.loads(c.getresponse().read())['token'])")
stats() { curl -sk -H "Authorization: Bearer $TOKEN" "https://$ADDR:8443/api/targets/stats"; }
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$NODE/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$NODE/status"; }

sleep $((2 * INTERVAL))
echo "measuring for $WINDOW s ..."
s0=$(stats); c0=$(cpu_s); t0=$(date +%s.%N); peak=0
end=$(($(date +%s) + WINDOW))
while [ "$(date +%s)" -lt "$end" ]; do
	r=$(rss_kb); [ "$r" -gt "$peak" ] && peak=$r
	sleep 1
done
s1=$(stats); c1=$(cpu_s); t1=$(date +%s.%N)
kill -0 "$NODE" 2>/dev/null || { echo "the node died"; exit 1; }

nmap_line=""
if command -v nmap >/dev/null; then
	# the same number of connects, one pass: N / LISTENERS passes over the ports
	plist=$(IFS=,; echo "${PORTS[*]}")
	reps=$(( (N + LISTENERS - 1) / LISTENERS ))
	/usr/bin/time -f '%e %U %S' -o "$TMP/nmap.time" bash -c "for i in \$(seq $reps); do nmap -sT -Pn -n -T4 -p '$plist' '$LADDR' >/dev/null; done"
	nmap_line=$(cat "$TMP/nmap.time")
fi

python3 - "$s0" "$s1" "$c0" "$c1" "$t0" "$t1" "$peak" "$N" "$INTERVAL" "$nmap_line" <<'PY'
import json, sys
s0, s1 = json.loads(sys.argv[1]), json.loads(sys.argv[2])
c0, c1, t0, t1 = map(float, sys.argv[3:7])
peak_kb, n, interval = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
nmap = sys.argv[10].split()
dt = t1 - t0
checks = s1["checks"] - s0["checks"]
rate = checks / dt
cpu = c1 - c0
lat = s1["lateness_ms"]
p99 = lat["p99_last_minute"] if lat["p99_last_minute"] is not None else lat["p99"]
p50 = lat["p50_last_minute"] if lat["p50_last_minute"] is not None else lat["p50"]
up = s1["by_state"]["up"]
print(f"targets               {n} every {interval} s (ideal {n / interval:.0f} checks/s)")
print(f"checks/s sustained    {rate:.0f} ({rate / (n / interval) * 100:.1f} % of ideal) over {dt:.0f} s")
print(f"lateness p50 / p99    {p50} / {p99} ms (last full minute); max since start {lat['max']} ms")
print(f"CPU                   {cpu / dt * 100:.1f} % of one core; {cpu / checks * 1000 * 1000:.1f} ms per 1000 checks")
print(f"RSS peak              {peak_kb / 1024:.1f} MB")
print(f"targets up            {up} of {n}; skipped rounds {s1['skipped_rounds']}; results dropped {s1['results_dropped']}")
if len(nmap) == 3:
    e, u, s = map(float, nmap)
    print(f"nmap -sT, {n} connects  {e:.1f} s wall, {(u + s) / n * 1000 * 1000:.1f} ms CPU per 1000 connects"
          f" (meshwatch/nmap CPU per connect: {(cpu / checks) / ((u + s) / n):.2f}x)")
else:
    print("nmap -sT              not installed (scripts/setup.sh --bench installs it)")
print(f"target lateness p99 < 100 ms: {'met' if p99 is not None and p99 < 100 else 'NOT met'}; "
      f"RSS < 32 MB: {'met' if peak_kb < 32 * 1024 else 'NOT met'}")
PY
