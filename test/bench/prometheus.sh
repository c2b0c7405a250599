#!/usr/bin/env bash
# Scale of meshwatch's /metrics: what one node's page costs, and what a
# whole mesh costs a Prometheus that scrapes it, so that a user can size it.
#
# Per scenario (A: 50 nodes, B: 200 nodes, a loopback mesh started like
# mesh.sh's, node 1 the reporting node of all the others): series (sample
# lines), body size and scrape time (median and p95 of sequential scrapes,
# new connection each and keep-alive) of an ordinary node and of the
# reporting node (which adds the mesh matrix), side by side in the same run
# with Debian's prometheus-node-exporter and Prometheus' own /metrics,
# served over TLS with the same certificate. In B, one real Prometheus finds
# the 200 nodes through /api/prometheus/sd (http_sd_configs, bearer token,
# insecure_skip_verify) and scrapes them every SCRAPE_INTERVAL s for
# PROM_WINDOW s: targets found, samples/s ingested, head series, its RSS
# and CPU, and the CPU the nodes spent answering. Ends with a table and a
# sizing paragraph (series per node = a + b x peers; samples/s for N nodes).
#
# A benchmark, not a test: it prints figures and exits 0 however slow they
# are. 2 when it cannot run (a tool missing, an address in use, a node that
# does not start, a mesh that does not converge), 1 when a node died.
#
#   ./test/bench/prometheus.sh          A then B: about 4 + 11 minutes
#   ./test/bench/prometheus.sh B        200 nodes and the Prometheus window only
#   ./test/bench/prometheus.sh quick    smoke run: 12 nodes at 2 s, 24 at 5 s, 30 s window
#
# Knobs (environment): A_NODES (50), A_INTERVAL (10: --poll-interval, so the
# mesh converges in about a minute), B_NODES (200), B_INTERVAL (30, the
# shipped default); REPORT_INTERVAL (15: MESHWATCH_REPORT_INTERVAL of the
# senders, so the matrix is complete soon after convergence; default 60);
# SCRAPES (20 per way of scraping); SCRAPE_INTERVAL (15: Prometheus'
# scrape_interval); PROM_WINDOW (120 s); BASE_WINDOW (60 s of node CPU
# without Prometheus, before and after its window); PROM_IN (B: the
# scenarios that run Prometheus, e.g. "A B"); CONVERGE_MAX (seconds to wait
# for convergence, default 60 + 15 intervals); HTTP_THREADS (16); PORT
# (8443); KEEP=1; MESHWATCH (binary; default build-bench/meshwatch);
# MESHWATCH_DB_MAX_BYTES (104857600 for every node: the reporting node's
# latest cells of a 200-node matrix alone take about 9 MB, more than the
# shipped 10 MB cap leaves, and it would cut whole origins); MESH_SECRET
# (a bench value unless set: signed reports are taken from every member,
# not only from those the reporting node has polled already, as a real
# deployment runs).
# What each figure means: test/bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

die() { printf 'prometheus.sh: %s\n' "$*" >&2; exit 2; }
say() { printf '%s\n' "$*"; }
posint() { case "$2" in '' | *[!0-9]* | 0) die "$1 must be a positive whole number (got '$2')" ;; esac; }

. test/bench/meshlib.sh # mesh_args, mesh_traps, mesh_binary, node_ip, mesh_check, mesh_launch, stop_nodes
mesh_args 36 "$@"
if [ "$QUICK" = 1 ]; then
	: "${A_NODES:=12}" "${A_INTERVAL:=2}" "${B_NODES:=24}" "${B_INTERVAL:=5}"
	: "${REPORT_INTERVAL:=2}" "${PROM_WINDOW:=30}" "${BASE_WINDOW:=15}" "${SCRAPES:=10}" "${SCRAPE_INTERVAL:=5}"
fi
A_NODES=${A_NODES:-50} A_INTERVAL=${A_INTERVAL:-10} B_NODES=${B_NODES:-200} B_INTERVAL=${B_INTERVAL:-30}
REPORT_INTERVAL=${REPORT_INTERVAL:-15} SCRAPES=${SCRAPES:-20} SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-15}
PROM_WINDOW=${PROM_WINDOW:-120} BASE_WINDOW=${BASE_WINDOW:-60} PROM_IN=${PROM_IN:-B}
HTTP_THREADS=${HTTP_THREADS:-16} PORT=${PORT:-8443} KEEP=${KEEP:-0}
for v in A_NODES A_INTERVAL B_NODES B_INTERVAL REPORT_INTERVAL SCRAPES SCRAPE_INTERVAL PROM_WINDOW BASE_WINDOW HTTP_THREADS PORT; do
	posint "$v" "${!v}"
done
for v in A_NODES B_NODES; do [ "${!v}" -ge 3 ] && [ "${!v}" -le 500 ] || die "$v must be between 3 and 500"; done
[ -z "${CONVERGE_MAX:-}" ] || posint CONVERGE_MAX "$CONVERGE_MAX"
MESHWATCH=${MESHWATCH:-$ROOT/build-bench/meshwatch}
export MESHWATCH_DB_MAX_BYTES=${MESHWATCH_DB_MAX_BYTES:-104857600}
export MESH_SECRET=${MESH_SECRET:-prometheus-bench-mesh-secret}
export MESHWATCH_LOG_LEVEL=${MESHWATCH_LOG_LEVEL:-warn}
POLL_WORKERS=${MESHWATCH_POLL_CONCURRENCY:-8}
for tool in curl python3 ss awk gzip prometheus prometheus-node-exporter; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool not found (./scripts/setup.sh installs prometheus; --bench adds prometheus-node-exporter)"
done
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- cleanup
T=$(mktemp -d /tmp/meshwatch-prom.XXXXXX)
AUX_PIDS=()             # node_exporter and the Prometheus servers
stop_aux() {
	local p
	for p in "${AUX_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${AUX_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	AUX_PIDS=()
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_aux
	stop_nodes
	if [ "$KEEP" = 1 ]; then say "KEEP=1: data directories and logs left in $T"; else rm -rf "$T"; fi
	exit "$rc"
}
mesh_traps

mesh_binary

# ---------------------------------------------------------------- helpers
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime of a process, all threads
ticks_all() { (cd /proc && cat "${NODE_PIDS[@]/%//stat}" 2>/dev/null) | awk '{s += $14 + $15} END {print s + 0}'; }
machine() { awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat; } # total, idle
rec() { printf '%s\t%s\t%s\n' "$SCEN" "$1" "$2" >>"$T/results.tsv"; } # KEY VALUE of this scenario
auth() { curl -sk --max-time 60 -H "Authorization: Bearer $TOKEN" "$@"; } # a saturated node can take many seconds
# count of the sample lines of /metrics matching an extended regex
count_metric() { auth "https://$(node_ip "$1"):$PORT/metrics" | grep -cE "$2" || true; }

# measure LABEL URL PID [TOKEN]: series, sizes, SCRAPES scrapes on new
# connections then SCRAPES on one keep-alive connection (after one not
# counted), each as Prometheus asks (HTTP/1.1, Accept-Encoding: gzip), and
# the server's CPU per scrape (its CPU over the scrapes, less its rate over
# the 2 s before)
measure() {
	local label=$1 url=$2 pid=$3 h=() i c0 c1 s0 s1 b0 bt0 rate args=()
	[ -z "${4:-}" ] || h=(-H "Authorization: Bearer $4")
	curl -sk --http1.1 "${h[@]}" -o "$T/plain" "$url" || die "$label: $url does not answer"
	curl -sk --http1.1 "${h[@]}" -H 'Accept-Encoding: gzip' -D "$T/hdr" -o "$T/wire" "$url"
	rec "$label.series" "$(grep -Evc '^(#|$)' "$T/plain")"
	rec "$label.bytes" "$(stat -c %s "$T/plain")"
	rec "$label.gzip_local" "$(gzip -6 -c "$T/plain" | wc -c)"
	if grep -qi '^content-encoding: *gzip' "$T/hdr"; then
		rec "$label.gzip_served" "$(stat -c %s "$T/wire")"
	else
		rec "$label.gzip_served" 0
	fi
	# what grows with the mesh: per-peer series (a peer_id label) and the matrix (from, to)
	rec "$label.peer_series" "$(grep -Ec '^[a-z_:]+\{([^}]*,)?peer_id="' "$T/plain" || true)"
	rec "$label.matrix_series" "$(grep -c '^meshwatch_mesh_[a-z_]*{from=' "$T/plain" || true)"
	b0=$(ticks "$pid") bt0=$EPOCHREALTIME
	sleep 2
	c0=$(ticks "$pid") s0=$EPOCHREALTIME
	rate=$(awk -v a="$b0" -v b="$c0" -v t0="$bt0" -v t1="$s0" 'BEGIN {print (b - a) / (t1 - t0)}')
	: >"$T/t.new"
	for i in $(seq "$SCRAPES"); do
		curl -sk --http1.1 --compressed "${h[@]}" -o /dev/null -w '%{time_total}\n' "$url" >>"$T/t.new"
	done
	c1=$(ticks "$pid") s1=$EPOCHREALTIME
	rec "$label.new_times" "$(paste -sd, "$T/t.new")"
	rec "$label.new_cpu_ms" "$(awk -v a="$c0" -v b="$c1" -v t0="$s0" -v t1="$s1" -v r="$rate" -v hz="$HZ" -v k="$SCRAPES" \
		'BEGIN {x = (b - a - r * (t1 - t0)) / hz / k * 1000; printf "%.2f", (x > 0 ? x : 0)}')"
	for i in $(seq $((SCRAPES + 1))); do args+=(-o /dev/null "$url"); done
	c0=$(ticks "$pid") s0=$EPOCHREALTIME
	curl -sk --http1.1 --compressed "${h[@]}" -w '%{time_total} %{num_connects}\n' "${args[@]}" >"$T/t.ka"
	c1=$(ticks "$pid") s1=$EPOCHREALTIME
	rec "$label.ka_times" "$(tail -n +2 "$T/t.ka" | awk '{print $1}' | paste -sd,)"
	rec "$label.ka_connects" "$(awk '{s += $2} END {print s}' "$T/t.ka")"
	rec "$label.ka_cpu_ms" "$(awk -v a="$c0" -v b="$c1" -v t0="$s0" -v t1="$s1" -v r="$rate" -v hz="$HZ" -v k="$((SCRAPES + 1))" \
		'BEGIN {x = (b - a - r * (t1 - t0)) / hz / k * 1000; printf "%.2f", (x > 0 ? x : 0)}')"
	rec "$label.bg_cpu_pct" "$(awk -v r="$rate" -v hz="$HZ" 'BEGIN {printf "%.1f", 100 * r / hz}')"
}

# wait_http URL SECONDS: until it answers 200
wait_http() {
	local i
	for i in $(seq $(($2 * 5))); do
		[ "$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ] && return 0
		sleep 0.2
	done
	return 1
}
prom_metric() { # URL NAME{LABELS}: the sum of the samples of that name and labels on a /metrics page
	curl -s --max-time 10 "$1" | awk -v m="$2" 'index($0, m) == 1 && substr($0, length(m) + 1, 1) ~ /[ {]/ {s += $NF} END {printf "%.0f", s}'
}
prom_query() { # PROM_PORT EXPR: the value of an instant query (first element)
	curl -s --max-time 10 "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" |
		python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "nan")'
}
# A web config with the first node's certificate and key, TLS 1.2 at most
# like meshwatch (mbedTLS 2.28): node_exporter and Prometheus serve their
# /metrics over the same TLS as the nodes
web_config() {
	printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n  max_version: TLS12\n' \
		"$1/n1/certs/cert.pem" "$1/n1/certs/key.pem" >"$1/web.yml"
}
# the anchors: node_exporter (default collectors) and an idle Prometheus scraping nothing
anchors() {
	local d=$1 ne_port pr_port ne_pid pr_pid
	web_config "$d"
	ne_port=$(free_port)
	prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" --web.config.file="$d/web.yml" >"$d/ne.log" 2>&1 &
	ne_pid=$!
	AUX_PIDS+=("$ne_pid")
	pr_port=$(free_port)
	printf 'global: {scrape_interval: %ss}\nscrape_configs: []\n' "$SCRAPE_INTERVAL" >"$d/anchor.yml"
	prometheus --config.file="$d/anchor.yml" --storage.tsdb.path="$d/anchor" --web.listen-address="127.0.0.1:$pr_port" \
		--web.config.file="$d/web.yml" >"$d/anchor.log" 2>&1 &
	pr_pid=$!
	AUX_PIDS+=("$pr_pid")
	wait_http "https://127.0.0.1:$ne_port/metrics" 20 || die "node_exporter did not start: $(tail -3 "$d/ne.log")"
	wait_http "https://127.0.0.1:$pr_port/metrics" 30 || die "prometheus did not start: $(tail -3 "$d/anchor.log")"
	sleep 3 # both past their first collections
	measure node_exporter "https://127.0.0.1:$ne_port/metrics" "$ne_pid"
	measure prometheus_self "https://127.0.0.1:$pr_port/metrics" "$pr_pid"
	rec prometheus_self.rss_kb "$(awk '/^VmRSS/ {print $2}' "/proc/$pr_pid/status")"
	stop_aux
}

# ---------------------------------------------------------------- one scenario
node_extra_args() { [ "$1" = 1 ] || EXTRA_ARGS=(--reporting "$SCEN_DIR/reporting.json"); }
CRASHED=0
run_scenario() { # name nodes interval
	local name=$1 n=$2 iv=$3 d i j p pending t0 cmax ord conv sd up cells cells_up want_cells
	SCEN=$name d="$T/$name" SCEN_DIR="$T/$name"
	mkdir -p "$d"
	cmax=${CONVERGE_MAX:-$((60 + 15 * iv))}
	ord=$(((n + 1) / 2)) # the ordinary node measured: half way round the ring
	rec nodes "$n"
	rec interval "$iv"
	rec ordinary_node "$ord"
	say ""
	say "== scenario $name: $n nodes, --poll-interval $iv s, MESHWATCH_REPORT_INTERVAL $REPORT_INTERVAL (senders), --http-threads $HTTP_THREADS =="
	say "  nodes:       $(node_ip 1)..$(node_ip "$n"):$PORT, ring seeds; n1.test is the reporting node of the $((n - 1)) others (reporting.json)"
	say "               $(pressure_note)"
	say "               db_max_bytes $MESHWATCH_DB_MAX_BYTES, MESH_SECRET set (signed mesh requests and reports)"
	mesh_check "$n"
	printf '{"servers":[{"server_fqdn":"n1.test","server_ip":"%s","port":%d}]}\n' "$(node_ip 1)" "$PORT" >"$d/reporting.json"
	t0=$EPOCHREALTIME
	export MESHWATCH_REPORT_INTERVAL=$REPORT_INTERVAL
	mesh_launch "$d" "$n" "$iv"
	unset MESHWATCH_REPORT_INTERVAL

	# readiness: every node answers /health (16 at a time: a node starting
	# among 200 on two CPUs can take seconds to answer)
	pending=$(seq "$n")
	for i in $(seq $((60 + n / 2))); do
		pending=$(for j in $pending; do echo "$j $(node_ip "$j")"; done |
			xargs -P 16 -n 2 sh -c 'curl -sk -o /dev/null --max-time 10 "https://$2:'"$PORT"'/health" || echo "$1"' sh | sort -n | tr '\n' ' ')
		[ -n "${pending// /}" ] || break
		sleep 1
	done
	pending=${pending// /}
	[ -z "$pending" ] || die "nodes not answering /health after $((60 + n / 2)) rounds"
	say "  start:       all $n answer /health $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b - a}') s after the launch"

	# one token for every node: meshwatch sessions belong to the node that
	# issued them, so node 1's session row is copied into every other
	# node's database (the bench's stand-in for a mesh-wide scrape credential)
	TOKEN=$(curl -sk -X POST "https://$(node_ip 1):$PORT/api/login" -H 'Content-Type: application/json' \
		-d '{"username":"admin","password":"admin-pass-123"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])') ||
		die "login on node 1 failed"
	printf '%s' "$TOKEN" >"$d/token"
	python3 - "$d" "$n" <<-'PY' || die "could not share the session"
		import sqlite3, sys
		d, n = sys.argv[1], int(sys.argv[2])
		src = sqlite3.connect(f"file:{d}/n1/meshwatch.db?mode=ro", uri=True, timeout=30)
		rows = src.execute("SELECT token_hash, user_id, created_at, expires_at FROM sessions").fetchall()
		for i in range(2, n + 1):
		    db = sqlite3.connect(f"{d}/n{i}/meshwatch.db", timeout=30)
		    db.executemany("INSERT OR REPLACE INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)", rows)
		    db.commit()
		    db.close()
	PY
	for i in 1 2 3 4 5; do
		p=$(auth -o /dev/null -w '%{http_code}' "https://$(node_ip "$n"):$PORT/metrics" || true)
		[ "$p" = 000 ] || break # 000: no answer in time
	done
	[ "$p" = 200 ] || die "the shared token is refused by node $n (HTTP $p)"

	# convergence: node 1's service discovery lists all N, the measured
	# ordinary node has N-1 peers up, and the reporting node's matrix has
	# every cell (its own row plus N-1 reports of N-1 peers), at least
	# 99.5 % of them up (at 200 nodes on two CPUs a few pairs are always
	# between a missed poll and the next: the series exist all the same)
	want_cells=$((n * (n - 1)))
	say "  converging:  waiting (at most $cmax s) for /api/prometheus/sd = $n, n$ord's meshwatch_peer_up = 1 for $((n - 1)) peers,"
	say "               n1's matrix meshwatch_mesh_up for all $want_cells cells, >= 99.5 % of them 1"
	conv=""
	while awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$cmax" 'BEGIN {exit !(b - a < m)}'; do
		sd=$(auth "https://$(node_ip 1):$PORT/api/prometheus/sd" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)
		up=$(count_metric "$ord" '^meshwatch_peer_up\{.*\} 1$')
		cells=0 cells_up=0
		if [ "$sd" = "$n" ] && [ "$up" = $((n - 1)) ]; then
			read -r cells cells_up < <(auth --max-time 180 "https://$(node_ip 1):$PORT/metrics" |
				awk '/^meshwatch_mesh_up\{/ {c++; if ($NF == 1) u++} END {print c + 0, u + 0}')
		fi
		if [ "$cells" = "$want_cells" ] && [ $((cells_up * 1000)) -ge $((want_cells * 995)) ]; then
			conv=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b - a}')
			break
		fi
		printf '               +%3.0f s: sd %s, n%s peers up %s, matrix cells %s, up %s\n' \
			"$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')" "$sd" "$ord" "$up" "$cells" "$cells_up"
		sleep $((iv < 5 ? 2 : 5))
	done
	[ -n "$conv" ] || die "scenario $name did not converge within $cmax s"
	say "  converged:   $conv s after the launch ($cells_up of $want_cells matrix cells up)"
	rec converge_s "$conv"
	rec matrix_cells_up "$cells_up"

	# the scrapes, side by side
	say "  scraping:    n$ord, n1 (reporting), node_exporter, Prometheus' own /metrics: $SCRAPES scrapes each way"
	measure ordinary "https://$(node_ip "$ord"):$PORT/metrics" "${NODE_PIDS[ord - 1]}" "$TOKEN"
	measure reporting "https://$(node_ip 1):$PORT/metrics" "${NODE_PIDS[0]}" "$TOKEN"
	anchors "$d"

	case " $PROM_IN " in *" $name "*) prom_window "$d" "$n" ;; esac

	for p in "${NODE_PIDS[@]}"; do
		if pid_dead "$p"; then
			CRASHED=1
			i=$(awk -v p="$p" '$3 == p {print $1}' "$d/nodes.tsv")
			say "  node $i (pid $p) died; its log ends:"
			tail -5 "$d/log$i" | sed 's/^/      /'
		fi
	done
	stop_nodes
	report "$name"
	[ "$KEEP" = 1 ] || rm -rf "$d"
}
report() { python3 test/bench/prometheus_report.py "$T/results.tsv" "$HZ" "$NCPU" "$SCRAPE_INTERVAL" "$SCRAPES" "$1"; }

# node CPU over SECONDS: ticks of all nodes and of the machine
cpu_window() { # KEY SECONDS
	local c0 c1 m0 m1
	c0=$(ticks_all) m0=$(machine)
	sleep "$2"
	c1=$(ticks_all) m1=$(machine)
	rec "$1.node_ticks" "$((c1 - c0))"
	rec "$1.machine" "$(awk -v a="$m0" -v b="$m1" 'BEGIN {split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2]}')"
	rec "$1.seconds" "$2"
}

# One real Prometheus scrapes the mesh found through node 1's service discovery
prom_window() {
	local d=$1 n=$2 pp pid url t0 up c0 c1 m0 m1 s0 s1
	say "  prometheus:  baseline: node CPU over $BASE_WINDOW s without scrapes"
	cpu_window base1 "$BASE_WINDOW"
	pp=$(free_port)
	cat >"$d/prom.yml" <<-EOF
		global: {scrape_interval: ${SCRAPE_INTERVAL}s, scrape_timeout: $((SCRAPE_INTERVAL < 10 ? SCRAPE_INTERVAL : 10))s}
		scrape_configs:
		- job_name: meshwatch
		  authorization: {type: Bearer, credentials_file: $d/token}
		  tls_config: {insecure_skip_verify: true}
		  http_sd_configs:
		  - url: https://$(node_ip 1):$PORT/api/prometheus/sd
		    refresh_interval: 60s
		    authorization: {type: Bearer, credentials_file: $d/token}
		    tls_config: {insecure_skip_verify: true}
	EOF
	t0=$EPOCHREALTIME
	prometheus --config.file="$d/prom.yml" --storage.tsdb.path="$d/prom" --web.listen-address="127.0.0.1:$pp" >"$d/prom.log" 2>&1 &
	pid=$!
	AUX_PIDS+=("$pid")
	wait_http "http://127.0.0.1:$pp/-/ready" 60 || die "prometheus did not start: $(tail -3 "$d/prom.log")"
	url="http://127.0.0.1:$pp/metrics"
	# every target found and scraped once
	up=0
	while awk -v a="$t0" -v b="$EPOCHREALTIME" -v m=$((3 * SCRAPE_INTERVAL + 60)) 'BEGIN {exit !(b - a < m)}'; do
		up=$(prom_query "$pp" 'count(up == 1)' 2>/dev/null || echo 0)
		[ "$up" = "$n" ] && break
		sleep 0.5
	done
	rec prom.found "$(prom_query "$pp" 'count(up)')"
	rec prom.up_at_start "$up"
	rec prom.ready_s "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b - a}')"
	say "               Prometheus found $(prom_query "$pp" 'count(up)') targets, $up up, $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b - a}') s after its start;"
	say "               window: $PROM_WINDOW s of scrapes every $SCRAPE_INTERVAL s"
	sleep "$SCRAPE_INTERVAL" # past the first round, whose series are all new
	c0=$(ticks_all) m0=$(machine) s0=$EPOCHREALTIME
	local p0 a0 k0 h0
	p0=$(ticks "$pid")
	a0=$(prom_metric "$url" prometheus_tsdb_head_samples_appended_total)
	k0=$(prom_metric "$url" 'net_conntrack_dialer_conn_established_total{dialer_name="meshwatch"}')
	h0=$(prom_metric "$url" prometheus_target_interval_length_seconds_count)
	sleep "$PROM_WINDOW"
	c1=$(ticks_all) m1=$(machine) s1=$EPOCHREALTIME
	rec prom.node_ticks "$((c1 - c0))"
	rec prom.machine "$(awk -v a="$m0" -v b="$m1" 'BEGIN {split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2]}')"
	rec prom.seconds "$(awk -v a="$s0" -v b="$s1" 'BEGIN {printf "%.2f", b - a}')"
	rec prom.cpu_ticks "$(($(ticks "$pid") - p0))"
	rec prom.appended "$(($(prom_metric "$url" prometheus_tsdb_head_samples_appended_total) - a0))"
	rec prom.connections "$(($(prom_metric "$url" 'net_conntrack_dialer_conn_established_total{dialer_name="meshwatch"}') - k0))"
	rec prom.scrapes "$(($(prom_metric "$url" prometheus_target_interval_length_seconds_count) - h0))"
	rec prom.head_series "$(prom_metric "$url" prometheus_tsdb_head_series)"
	rec prom.rss_kb "$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"
	rec prom.hwm_kb "$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")"
	rec prom.up_at_end "$(prom_query "$pp" 'count(up == 1)')"
	rec prom.samples_per_scrape "$(prom_query "$pp" 'sum(scrape_samples_scraped)')"
	rec prom.scrape_p50_s "$(prom_query "$pp" 'quantile(0.5, scrape_duration_seconds)')"
	rec prom.scrape_max_s "$(prom_query "$pp" 'max(scrape_duration_seconds)')"
	rec prom.scrape_reporting_s "$(prom_query "$pp" 'max(scrape_duration_seconds{role="reporting"})')"
	stop_aux
	say "  prometheus:  stopped; baseline again: node CPU over $BASE_WINDOW s without scrapes"
	cpu_window base2 "$BASE_WINDOW"
}

# ---------------------------------------------------------------- header
IDLE_BEFORE=$(idle_pct)
say "meshwatch /metrics scale benchmark on loopback ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
say "  machine:    $NCPU CPU(s), Linux $(uname -r); idle ${IDLE_BEFORE}% before the start, load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "  meshwatch:  $("$MESHWATCH" --version 2>/dev/null | head -1), $MESHWATCH"
say "  peers:      $(prometheus-node-exporter --version 2>&1 | head -1 | cut -d' ' -f1-3), $(prometheus --version 2>&1 | head -1 | cut -d' ' -f1-3)"
[ -z "$STALE" ] || say "  WARNING:    the binary is older than src/ or include/: run 'ninja -C build-bench' to measure the current source"
[ "$IDLE_BEFORE" -ge 80 ] || say "  WARNING:    the machine was only ${IDLE_BEFORE}% idle before the start"
: >"$T/results.tsv"
for s in $SCENARIOS; do
	case "$s" in
	A) run_scenario A "$A_NODES" "$A_INTERVAL" ;;
	B) run_scenario B "$B_NODES" "$B_INTERVAL" ;;
	esac
done
report sizing
[ "$CRASHED" = 0 ] || { say ""; say "a node process died during the run (see above)"; exit 1; }
exit 0
