#!/usr/bin/env bash
# Alert latency benchmark: how long from a node's death to the message.
#
# A four-node meshwatch mesh (poll_interval 1 s, dead_after 3: the
# shipped defaults are 30 s and 3, scaled down so K kills fit in minutes;
# the bound scales with them) sends its alerts to a webhook receiver. Side
# by side, in the same run, the usual Prometheus stack watches the same
# four nodes: Prometheus scrapes each node's /metrics every second,
# evaluates `up == 0` for 2 s every second (three failed scrapes in a row,
# the same evidence as meshwatch's three failed polls) and sends to
# Alertmanager (group_wait 1 s, as meshwatch's group_wait_s here), which
# posts to the same receiver. Each of K rounds (default 20)
# kills n4 with SIGKILL, waits for both firing messages, restarts it and
# waits for both resolved ones.
#
# Reports, for each stack: time from the kill to the firing message p50 /
# p99 / max, the resolved messages, and duplicates (more than one firing
# message per kill); the ratio of the two p50s; and meshwatch against its
# bound, poll_interval x (dead_after + 1) + 5 s = 9 s.
#
# A benchmark, not a test: it prints figures and exits 0 however slow they
# are; 2 when it cannot run.
#
#   ./test/bench/alerts.sh
#   K=5 ./test/bench/alerts.sh      a quick run
# Knobs: K, MESHWATCH (binary; default build-bench/meshwatch, a release
# build made when missing), KEEP=1 (leave the temporary directory).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
K=${K:-20}
die() { printf 'alerts.sh: %s\n' "$*" >&2; exit 2; }

MW=${MESHWATCH:-}
if [ -z "$MW" ]; then
	[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release -Doptimization=2 >/dev/null
	ninja -C build-bench meshwatch >/dev/null
	MW=$ROOT/build-bench/meshwatch
fi
PROM=$(command -v prometheus || true)
AM=$(command -v prometheus-alertmanager || true)
[ -n "$PROM" ] && [ -n "$AM" ] || die "needs prometheus and prometheus-alertmanager (scripts/setup.sh installs them)"

TMP=$(mktemp -d /tmp/mwbench-alerts.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HOOK_PORT=$(free_port); AM_PORT=$(free_port); PROM_PORT=$(free_port)
python3 test/integration/alert_receivers.py webhook "$HOOK_PORT" "$TMP/hook.jsonl" x > "$TMP/hook.ready" 2>"$TMP/hook.log" &
PIDS+=($!)

base=127.0.$((RANDOM % 200 + 20))
addr() { echo "$base.$((10 + $1))"; }
cat > "$TMP/alerts.json" <<EOF
{"channels": [{"name": "hook", "type": "webhook", "url": "http://127.0.0.1:$HOOK_PORT/meshwatch"}], "group_wait_s": 1}
EOF
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=3 MESHWATCH_OVERLOAD_CPU_PRESSURE=0
declare -a PID
start() {
	local i=$1 next=$(( $1 % 4 + 1 ))
	echo "{\"nodes\":[{\"fqdn\":\"n$next.test\",\"ip\":\"$(addr $next)\"}]}" > "$TMP/seed$i.json"
	ROOT_USER=admin ROOT_PASSWORD=bench-pass-123 "$MW" --listen "$(addr $i):8443" --data-dir "$TMP/n$i" \
		--name "n$i.test" --seed "$TMP/seed$i.json" --alerts "$TMP/alerts.json" >>"$TMP/n$i.log" 2>&1 &
	PID[$i]=$!
	PIDS+=(${PID[$i]})
	for _ in $(seq 200); do curl -sk --max-time 1 -o /dev/null "https://$(addr $i):8443/health" && return; sleep 0.1; done
	die "n$i did not start: $(tail -3 "$TMP/n$i.log")"
}
for i in 1 2 3 4; do start $i; done
# Prometheus reads /metrics with a session token of each node
for i in 1 2 3 4; do
	curl -sk -X POST "https://$(addr $i):8443/api/login" -H 'Content-Type: application/json' \
		-d '{"username":"admin","password":"bench-pass-123"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' \
		> "$TMP/token$i"
done

cat > "$TMP/am.yml" <<EOF
route: {receiver: hook, group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
receivers: [{name: hook, webhook_configs: [{url: "http://127.0.0.1:$HOOK_PORT/alertmanager", send_resolved: true}]}]
EOF
"$AM" --config.file="$TMP/am.yml" --storage.path="$TMP/am" --web.listen-address="127.0.0.1:$AM_PORT" \
	--cluster.listen-address= > "$TMP/am.log" 2>&1 &
PIDS+=($!)
{
	echo "global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms}"
	echo "rule_files: [$TMP/rules.yml]"
	echo "alerting: {alertmanagers: [{static_configs: [{targets: ['127.0.0.1:$AM_PORT']}]}]}"
	echo "scrape_configs:"
	for i in 1 2 3 4; do
		echo "- job_name: n$i"
		echo "  scheme: https"
		echo "  tls_config: {insecure_skip_verify: true}"
		echo "  authorization: {credentials_file: $TMP/token$i}"
		echo "  static_configs: [{targets: ['$(addr $i):8443'], labels: {node: n$i.test}}]"
	done
} > "$TMP/prom.yml"
cat > "$TMP/rules.yml" <<EOF
groups:
- name: bench
  rules:
  - alert: NodeDown
    expr: up == 0
    for: 2s
    labels: {severity: critical}
EOF
"$PROM" --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/prom" --web.listen-address="127.0.0.1:$PROM_PORT" \
	> "$TMP/prom.log" 2>&1 &
PIDS+=($!)

alive() { curl -sk -H "Authorization: Bearer $(cat "$TMP/token1")" "https://$(addr 1):8443/api/nodes" \
	| python3 -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin)["items"] if p["state"]=="alive"))'; }
for _ in $(seq 300); do [ "$(alive)" = 3 ] && break; sleep 0.2; done
[ "$(alive)" = 3 ] || die "the mesh did not converge"
for _ in $(seq 100); do
	curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query?query=sum(up)" | grep -q '"4"' && break
	sleep 0.2
done
sleep 3

# count SOURCE STATUS: messages so far naming n4 (meshwatch) or its job (Alertmanager)
count() { python3 - "$TMP/hook.jsonl" "$1" "$2" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    b = r["body"]
    if sys.argv[2] == "mw" and r["path"] == "/meshwatch" and b.get("rule") == "peer-dead" and b["status"] == sys.argv[3] \
            and any(a["subject_name"] == "n4.test" for a in b["alerts"]):
        n += 1
    if sys.argv[2] == "am" and r["path"] == "/alertmanager" and b["status"] == sys.argv[3] \
            and any(a["labels"].get("job") == "n4" and a["status"] == sys.argv[3] for a in b["alerts"]):
        n += 1
print(n)
PY
}
touch "$TMP/hook.jsonl"
# the receiver stamps each message as it arrives; the latency is that
# stamp minus the kill's time (the waiting loop's own pace does not count)
latency() { python3 - "$TMP/hook.jsonl" "$1" "$2" <<'PY'
import json, sys
t0 = float(sys.argv[3])
for l in open(sys.argv[1]):
    r = json.loads(l)
    b = r["body"]
    if r["at"] < t0 or b["status"] != "firing":
        continue
    if sys.argv[2] == "mw" and r["path"] == "/meshwatch" and b.get("rule") == "peer-dead" \
            and any(a["subject_name"] == "n4.test" for a in b["alerts"]):
        print(round(r["at"] - t0, 3)); break
    if sys.argv[2] == "am" and r["path"] == "/alertmanager" and any(a["labels"].get("job") == "n4" for a in b["alerts"]):
        print(round(r["at"] - t0, 3)); break
else:
    print("nan")
PY
}
printf 'round  meshwatch_s  prometheus+alertmanager_s\n'
for r in $(seq "$K"); do
	mw0=$(count mw firing); am0=$(count am firing)
	t0=$(date +%s.%N)
	kill -KILL "${PID[4]}"; wait "${PID[4]}" 2>/dev/null || true
	for _ in $(seq 300); do
		[ "$(count mw firing)" -gt "$mw0" ] && [ "$(count am firing)" -gt "$am0" ] && break
		sleep 0.2
	done
	tm=$(latency mw "$t0"); ta=$(latency am "$t0")
	printf '%5d  %11s  %25s\n' "$r" "$tm" "$ta"
	echo "$r $tm $ta" >> "$TMP/times"
	mwr=$(count mw resolved); amr=$(count am resolved)
	start 4
	for _ in $(seq 300); do
		[ "$(count mw resolved)" -gt "$mwr" ] && [ "$(count am resolved)" -gt "$amr" ] && break
		sleep 0.2
	done
	sleep 2
done
sleep 3
python3 - "$TMP/times" "$(count mw firing)" "$(count am firing)" "$(count mw resolved)" "$(count am resolved)" "$K" <<'PY'
import math, sys
rows = [l.split() for l in open(sys.argv[1])]
def stats(col):
    v = sorted(float(r[col]) for r in rows if r[col] != "nan")
    if not v:
        return None
    pick = lambda q: v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))]
    return pick(0.5), pick(0.99), v[-1], len(v)
k = int(sys.argv[6])
mw, am = stats(1), stats(2)
print()
for name, s, fired, res in (("meshwatch", mw, int(sys.argv[2]), int(sys.argv[4])),
                            ("prometheus+alertmanager", am, int(sys.argv[3]), int(sys.argv[5]))):
    if s is None:
        print(f"{name}: no firing message arrived")
        continue
    print(f"{name}: kill -> firing message p50 {s[0]:.2f} s, p99 {s[1]:.2f} s, max {s[2]:.2f} s "
          f"({s[3]} of {k} kills); firing messages {fired}, resolved {res}; duplicates {max(0, fired - k)}")
if mw and am:
    print(f"ratio (meshwatch p50 / prometheus+alertmanager p50): {mw[0] / am[0]:.2f}")
if mw:
    print(f"bound poll_interval x (dead_after + 1) + 5 s = 9 s: meshwatch p99 {mw[1]:.2f} s -> "
          f"{'met' if mw[1] <= 9 else 'NOT met'}")
PY
