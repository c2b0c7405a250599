#!/usr/bin/env bash
# Scan benchmark: meshwatch's scanner against nmap's TCP connect scan, side
# by side in the same run, on a namespace testbed this script builds: a
# bridge, a scanner namespace (10.81.0.1) and HOSTS host namespaces
# (10.81.0.11 ...), each with OPEN listening ports that greet (a banner
# line), FILTERED ports dropped by nftables, and every other port of the
# range closed. Both tools scan the same hosts and the same PORTS ports:
#
#   meshwatch  POST /api/scans on a node in the scanner namespace, timed
#              from the POST until GET /api/scans/{id} says completed
#              (so it includes banner reads, service identification and
#              the database write); reverse DNS off, like nmap -n
#   nmap       nmap -sT -T4 -Pn -n -p RANGE (no banners, no service
#              detection)
#
# Both run ROUNDS times, alternately. Printed: wall time, ports per second
# (hosts x ports / wall time), and precision and recall of the open ports
# each tool reports against the known truth. A benchmark, not a test: exit
# 0 whatever the figures; 2 when it cannot run (not root, no nmap, ...).
#
#   sudo ./test/bench/scan.sh
#   HOSTS=8 PORTS=100 OPEN=10 FILTERED=5 ROUNDS=3 sudo ./test/bench/scan.sh
#
# Knobs: HOSTS (8, at most 80), PORTS (100, from port 10000), OPEN (10),
# FILTERED (5), ROUNDS (3), MESHWATCH (binary; default build-bench/meshwatch,
# built as a release build when missing); the environment reaches the node
# (MESHWATCH_SCAN_CONCURRENCY, MESHWATCH_SCAN_TIMEOUT_MS, ...).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
die() { printf 'scan.sh: %s\n' "$*" >&2; exit 2; }

HOSTS=${HOSTS:-8} PORTS=${PORTS:-100} OPEN=${OPEN:-10} FILTERED=${FILTERED:-5} ROUNDS=${ROUNDS:-3}
[ "$HOSTS" -ge 1 ] && [ "$HOSTS" -le 80 ] || die "HOSTS must be 1..80"
[ $((OPEN + FILTERED)) -le "$PORTS" ] || die "OPEN + FILTERED must not exceed PORTS"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
command -v nmap >/dev/null || die "nmap is missing: ./scripts/setup.sh --bench"
command -v nft >/dev/null || die "nft is missing"
PY=$(python3 -c 'import sys; print(sys.executable)')

MW=${MESHWATCH:-}
if [ -z "$MW" ]; then
  MW=$ROOT/build-bench/meshwatch
  if [ ! -x "$MW" ]; then
    echo "# building build-bench (release)"
    meson setup build-bench --buildtype=release -Doptimization=2 >/dev/null && ninja -C build-bench meshwatch >/dev/null || die "build failed"
  fi
fi
[ -x "$MW" ] || die "no meshwatch binary at $MW"

P=mwb-$$
TMP=$(mktemp -d /tmp/mwbench-scan.XXXXXX)
NSES=()
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  [ ${#NSES[@]} = 0 ] || printf 'netns del %s\n' "${NSES[@]}" | ip -force -batch - 2>/dev/null || true
  rm -rf "$TMP" "/etc/netns/$P-s"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$P-sw" || die "ip netns add failed"
NSES+=("$P-sw")
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
port() { # port NS IF ADDR
  ip netns add "$1" 2>/dev/null || true
  ip -n "$1" link set lo up
  ip link add "$2" netns "$1" type veth peer name "p-$2" netns "$P-sw"
  ip -n "$P-sw" link set "p-$2" master br0 up
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$1" link set "$2" up
}
NSES+=("$P-s")
port "$P-s" s0 10.81.0.1
mkdir -p "/etc/netns/$P-s"
echo "nameserver 127.0.0.1" >"/etc/netns/$P-s/resolv.conf"

# Host i: OPEN ports at offsets (7i + 9k) mod PORTS, FILTERED ports at
# (7i + 9k + PORTS/2) mod PORTS -- distinct while 9 and PORTS are coprime;
# recomputed by the checker below, so the truth is what listens.
TRUTH=$TMP/truth
: >"$TRUTH"
targets=()
for ((i = 1; i <= HOSTS; i++)); do
  ns=$P-h$i ip=10.81.0.$((10 + i))
  NSES+=("$ns")
  port "$ns" "h$i" "$ip"
  targets+=("$ip")
  specs=() drops=()
  declare -A used=()
  for ((k = 0, n = 0; n < OPEN; k++)); do
    off=$(((7 * i + 9 * k) % PORTS)); [ -z "${used[$off]:-}" ] || continue; used[$off]=1
    specs+=("banner:$((10000 + off)):SSH-2.0-bench_$i"); echo "$ip:$((10000 + off))" >>"$TRUTH"; n=$((n + 1))
  done
  for ((k = 0, n = 0; n < FILTERED; k++)); do
    off=$(((7 * i + 9 * k + PORTS / 2) % PORTS)); [ -z "${used[$off]:-}" ] || continue; used[$off]=1
    drops+=("$((10000 + off))"); n=$((n + 1))
  done
  unset used
  if [ ${#drops[@]} -gt 0 ]; then
    list=$(IFS=,; echo "${drops[*]}")
    ip netns exec "$ns" nft -f - <<NFT
table inet bench {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport { $list } drop
  }
}
NFT
  fi
  ip netns exec "$ns" "$PY" "$ROOT/test/integration/discovery_services.py" "$ip" "${specs[@]}" >"$TMP/svc$i.out" 2>&1 &
  PIDS+=("$!")
done
for ((i = 1; i <= HOSTS; i++)); do
  for _ in $(seq 100); do grep -q ready "$TMP/svc$i.out" && break; sleep 0.1; done
  grep -q ready "$TMP/svc$i.out" || die "services of host $i did not start"
done
sort -o "$TRUTH" "$TRUTH"
LAST=$((10000 + PORTS - 1))

# the node
ip netns exec "$P-s" env ROOT_USER=admin ROOT_PASSWORD=bench-pass-123 MESHWATCH_PBKDF2_ITERATIONS=100000 \
  MESHWATCH_SCAN_RDNS=0 MESHWATCH_LOG_LEVEL=${MESHWATCH_LOG_LEVEL:-warn} MESHWATCH_SCAN_MAX_PORTS=4096 \
  "$MW" --listen 10.81.0.1:8443 --data-dir "$TMP/data" --name bench.test >"$TMP/node.log" 2>&1 &
PIDS+=("$!")
nscurl() { ip netns exec "$P-s" curl -sk --max-time 30 "$@"; }
for _ in $(seq 100); do nscurl -o /dev/null https://10.81.0.1:8443/health && break; sleep 0.1; done
TOKEN=$(nscurl https://10.81.0.1:8443/api/login -H 'Content-Type: application/json' -d '{"username":"admin","password":"bench-pass-123"}' |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])') || die "login failed: $(tail -5 "$TMP/node.log")"
AUTH="Authorization: Bearer $TOKEN"
SUBNETS=$(printf '"%s/32",' "${targets[@]}"); SUBNETS="[${SUBNETS%,}]"

now() { date +%s.%N; }
run_meshwatch() { # -> "seconds" ; open ports into $1
  local t0 t1 id st
  t0=$(now)
  id=$(nscurl -H "$AUTH" https://10.81.0.1:8443/api/scans -d "{\"subnets\":$SUBNETS,\"ports\":[\"10000-$LAST\"]}" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  while :; do
    st=$(nscurl -H "$AUTH" "https://10.81.0.1:8443/api/scans/$id" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case $st in completed) break ;; failed|cancelled) die "meshwatch scan $id $st" ;; esac
    sleep 0.05
  done
  t1=$(now)
  nscurl -H "$AUTH" "https://10.81.0.1:8443/api/scans/$id/results?state=open&limit=10000" |
    "$PY" -c 'import json,sys; [print("%s:%d" % (x["ip"], x["port"])) for x in json.load(sys.stdin)["items"]]' | sort >"$1"
  echo "$t1 - $t0" | bc
}
run_nmap() {
  local t0 t1
  t0=$(now)
  ip netns exec "$P-s" nmap -sT -T4 -Pn -n -p "10000-$LAST" -oG "$TMP/nmap.gnmap" "${targets[@]}" >/dev/null
  t1=$(now)
  "$PY" - "$TMP/nmap.gnmap" <<'PYEOF' | sort >"$1"
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r"Host: (\S+) .*Ports: (.*)", line)
    if not m:
        continue
    for p in m.group(2).split(", "):
        f = p.split("/")
        if len(f) > 2 and f[1] == "open":
            print(f"{m.group(1)}:{f[0]}")
PYEOF
  echo "$t1 - $t0" | bc
}
score() { # score FOUND -> "precision recall"
  local tp found truth
  tp=$(comm -12 "$1" "$TRUTH" | wc -l); found=$(wc -l <"$1"); truth=$(wc -l <"$TRUTH")
  echo "$( [ "$found" = 0 ] && echo 0 || echo "scale=3; $tp / $found" | bc) $(echo "scale=3; $tp / $truth" | bc)"
}

TOTAL=$((HOSTS * PORTS))
echo "# $HOSTS hosts x $PORTS ports = $TOTAL ports; per host $OPEN open (greeting), $FILTERED filtered (dropped), the rest closed"
echo "# meshwatch: $("$MW" --version) $(basename "$(dirname "$MW")"), concurrency ${MESHWATCH_SCAN_CONCURRENCY:-256}, timeout ${MESHWATCH_SCAN_TIMEOUT_MS:-1000} ms, retries ${MESHWATCH_SCAN_RETRIES:-1}"
echo "# nmap: $(nmap --version | head -1), nmap -sT -T4 -Pn -n -p 10000-$LAST"
printf '%-6s %-10s %10s %10s %10s %8s\n' round tool wall_s ports/s precision recall
declare -A SUM
for ((r = 1; r <= ROUNDS; r++)); do
  for tool in meshwatch nmap; do
    out=$TMP/found.$tool.$r
    s=$(run_$tool "$out")
    read -r prec rec < <(score "$out")
    pps=$(echo "scale=0; $TOTAL / $s" | bc)
    printf '%-6s %-10s %10.2f %10s %10s %8s\n' "$r" "$tool" "$s" "$pps" "$prec" "$rec"
    SUM[$tool]=$(echo "${SUM[$tool]:-0} + $s" | bc)
  done
done
mw=$(echo "scale=3; ${SUM[meshwatch]} / $ROUNDS" | bc) nm=$(echo "scale=3; ${SUM[nmap]} / $ROUNDS" | bc)
printf '%-6s %-10s %10.2f %10s\n' mean meshwatch "$mw" "$(echo "scale=0; $TOTAL / $mw" | bc)"
printf '%-6s %-10s %10.2f %10s\n' mean nmap "$nm" "$(echo "scale=0; $TOTAL / $nm" | bc)"
echo "# meshwatch/nmap wall time: $(echo "scale=2; $mw / $nm" | bc) (target <= 1.00 with equal recall)"
