#!/usr/bin/env bash
# Capture benchmark: how fast meshwatch turns packets into flows.
#
# Offline: a capture file of PACKETS frames (1,000,000) over FLOWS flows
# (100,000), IMIX-like sizes (7 x 64, 4 x 576, 1 x 1500 bytes), written by
# test/integration/gen_pcap.py into a temporary directory. Measured side by
# side in the same run, best of RUNS (3):
#   - decode + flowtable alone on one core (test/tools/capture_bench, the
#     frames loaded into memory first);
#   - the --pcap pipeline (libpcap reading the file, decode, flows, rollup),
#     in capture_bench and in a real node (its log line and /api/stats);
#   - tcpdump -r FILE -w /dev/null   (read and write back every frame);
#   - tshark -r FILE -q -z conv,ip   (IP conversations, closest to flows).
# Live (root, tcpreplay and ip netns; skipped with the reason otherwise):
# a node captures on one end of a veth pair whose other end is in a
# namespace this script creates; tcpreplay sends the file at rising rates
# (LIVE_RATES packets/s, LIVE_SECONDS each, then --topspeed; the file
# preloaded into memory); for each,
# frames received, kernel drops and loss. The highest rate with loss <=
# 0.1 % is reported.
#
# A benchmark, not a test: prints figures and exits 0 however slow they
# are; non-zero only when it cannot run. Everything it made (file, node,
# namespace, veth) is removed on every exit path.
#
# Knobs: PACKETS, FLOWS, RUNS, LIVE_RATES ("50000 100000 200000 400000
# 800000"), LIVE_SECONDS (3), BUILD (build-bench, a release build made when
# missing). Needs: scripts/setup.sh --bench (tcpdump, tshark, tcpreplay).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

PACKETS=${PACKETS:-1000000}
FLOWS=${FLOWS:-100000}
RUNS=${RUNS:-3}
LIVE_RATES=${LIVE_RATES:-50000 100000 200000 400000 800000}
LIVE_SECONDS=${LIVE_SECONDS:-3}
BUILD=${BUILD:-$ROOT/build-bench}

die() { printf 'capture.sh: %s\n' "$*" >&2; exit 2; }
for tool in python3 curl tcpdump tshark; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (scripts/setup.sh --bench)"
done
if [ ! -x "$BUILD/meshwatch" ] || [ ! -x "$BUILD/test/tools/capture_bench" ]; then
	[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release -Doptimization=2 >/dev/null
	ninja -C "$BUILD" >/dev/null
fi

T=$(mktemp -d /tmp/meshwatch-capture.XXXXXX)
NODE_PID="" NS="" VN=""
cleanup() {
	[ -z "$NODE_PID" ] || { kill -TERM "$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null || true; }
	[ -z "$VN" ] || ip link del "$VN" 2>/dev/null || true
	[ -z "$NS" ] || ip netns del "$NS" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FILE=$T/bench.pcap
printf 'writing %s frames over %s flows (IMIX 64/576/1500) ... ' "$PACKETS" "$FLOWS"
python3 test/integration/gen_pcap.py bench "$FILE" "$PACKETS" "$FLOWS"
printf '%s MB\n' "$(($(stat -c %s "$FILE") / 1000000))"
cat "$FILE" > /dev/null # in the page cache for every contender alike

now() { date +%s.%N; }
best() { sort -g | tail -1; }
pps_of() { python3 -c "import sys; print(round($PACKETS / ($2 - $1)))"; }

declare -a DF PL TD TS
for ((r = 0; r < RUNS; r++)); do
	out=$("$BUILD/test/tools/capture_bench" "$FILE")
	DF+=("$(echo "$out" | sed -n 's/^decode+flowtable .* pps=\([0-9]*\).*/\1/p')")
	PL+=("$(echo "$out" | sed -n 's/^pipeline .* pps=\([0-9]*\).*/\1/p')")
	a=$(now); tcpdump -r "$FILE" -w /dev/null 2>/dev/null; b=$(now)
	TD+=("$(pps_of "$a" "$b")")
	a=$(now); tshark -r "$FILE" -q -z conv,ip > "$T/conv.txt" 2>/dev/null; b=$(now)
	TS+=("$(pps_of "$a" "$b")")
done
DF_B=$(printf '%s\n' "${DF[@]}" | best)
PL_B=$(printf '%s\n' "${PL[@]}" | best)
TD_B=$(printf '%s\n' "${TD[@]}" | best)
TS_B=$(printf '%s\n' "${TS[@]}" | best)

# a real node with --pcap: its own figure, from the log and /api/stats
ADDR=127.0.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
ROOT_USER=admin ROOT_PASSWORD=bench-pass-123 MESHWATCH_PBKDF2_ITERATIONS=100000 \
	"$BUILD/meshwatch" --listen "$ADDR:8443" --data-dir "$T/node" --pcap "$FILE" > "$T/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 300); do grep -q "frames/s" "$T/node.log" && break; sleep 0.1; done
NODE_LINE=$(grep -o "read .*frames/s)" "$T/node.log" || echo "(no figure: see the node log)")
kill -TERM "$NODE_PID"; wait "$NODE_PID" || true; NODE_PID=""

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
fmt() { python3 -c "print('{:,}'.format($1))"; }
echo
echo "offline, $PACKETS frames / $FLOWS flows, best of $RUNS (packets/s, one core)"
printf '  %-52s %14s\n' "meshwatch decode + flowtable (frames in memory)" "$(fmt "$DF_B")"
printf '  %-52s %14s\n' "meshwatch --pcap pipeline (libpcap read + all)" "$(fmt "$PL_B")"
printf '  %-52s %14s\n' "tcpdump -r FILE -w /dev/null" "$(fmt "$TD_B")"
printf '  %-52s %14s\n' "tshark -r FILE -q -z conv,ip" "$(fmt "$TS_B")"
printf '  ratios: pipeline/tcpdump %s, pipeline/tshark %s, decode+flowtable/tcpdump %s\n' \
	"$(ratio "$PL_B" "$TD_B")" "$(ratio "$PL_B" "$TS_B")" "$(ratio "$DF_B" "$TD_B")"
printf '  target >= 3,000,000 packets/s through decode + flowtable: %s\n' "$([ "$DF_B" -ge 3000000 ] && echo met || echo NOT met)"
printf '  node --pcap log: %s\n' "$NODE_LINE"

# ---------------------------------------------------------------- live
echo
live_skip() { echo "live: skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || live_skip "needs root (capture, ip netns)"
command -v tcpreplay >/dev/null 2>&1 || live_skip "tcpreplay not found (scripts/setup.sh --bench)"
NS=mwbench-$$
ip netns add "$NS" 2>/dev/null || { NS=""; live_skip "ip netns add failed"; }
why=$(ip netns exec "$NS" true 2>&1) || live_skip "cannot run commands in a network namespace (${why:-failed})"
VN=mwb$$n
ip link add "$VN" type veth peer name mwb$$f netns "$NS" || { VN=""; live_skip "cannot make a veth pair"; }
sysctl -qw "net.ipv6.conf.$VN.disable_ipv6=1"
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.mwb$$f.disable_ipv6=1"
ip link set "$VN" up
ip -n "$NS" link set mwb$$f up
ROOT_USER=admin ROOT_PASSWORD=bench-pass-123 MESHWATCH_PBKDF2_ITERATIONS=100000 \
	"$BUILD/meshwatch" --listen "$ADDR:8443" --data-dir "$T/live" --iface "$VN" > "$T/live.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do curl -sk -o /dev/null "https://$ADDR:8443/health" && break; sleep 0.1; done
TOKEN=$(curl -sk "https://$ADDR:8443/api/login" -H 'Content-Type: application/json' -d '{"username":"admin","password":"bench-pass-123"}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
stats() {
	curl -sk -H "Authorization: Bearer $TOKEN" "https://$ADDR:8443/api/stats" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["packets_received"], d["kernel_drops"] + d["interface_drops"], d["state"])'
}
read -r _ _ st <<< "$(stats)"
[ "$st" = running ] || live_skip "capture did not start: $(grep -m1 pcap "$T/live.log")"
echo "live, tcpreplay on a veth pair, $LIVE_SECONDS s per rate (node --iface $VN)"
printf '  %12s %14s %12s %12s %9s\n' "asked pps" "sent pps" "received" "drops" "loss"
BEST=0
for rate in $LIVE_RATES top; do
	if [ "$rate" = top ]; then
		n=$PACKETS; args=(--topspeed)
	else
		n=$((rate * LIVE_SECONDS)); args=(--pps="$rate")
	fi
	[ "$n" -le "$PACKETS" ] || n=$PACKETS
	read -r p0 d0 _ <<< "$(stats)"
	# --preload-pcap: the file is read into memory first, so the sender is faster
	out=$(tcpreplay -i "$VN" --preload-pcap "${args[@]}" --limit="$n" "$FILE" 2>&1) || { echo "  tcpreplay failed: $(echo "$out" | tail -2)"; break; }
	sent=$(echo "$out" | sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' | head -1)
	sleep 1.5
	read -r p1 d1 _ <<< "$(stats)"
	got=$((p1 - p0)) drops=$((d1 - d0))
	loss=$(python3 -c "print('%.3f' % (100.0 * max(0, $n - $got) / $n))")
	printf '  %12s %14s %12s %12s %8s%%\n' "$rate" "${sent:-?}" "$got" "$drops" "$loss"
	if python3 -c "import sys; sys.exit(0 if $loss <= 0.1 else 1)"; then
		s=${sent%.*}
		[ "${s:-0}" -gt "$BEST" ] && BEST=$s
	fi
done
printf '  highest rate with loss <= 0.1%%: %s packets/s\n' "$(fmt "$BEST")"
