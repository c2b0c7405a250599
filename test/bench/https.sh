#!/usr/bin/env bash
# HTTPS benchmark: meshwatch against nginx, side by side, on loopback only.
#
# A benchmark, not a test: it reports numbers and whether the targets are met,
# and exits 0 however slow the numbers are. It exits non-zero only when it
# cannot run at all (missing tools, a server that does not start).
#
#   ./test/bench/https.sh              from the repository root, no arguments
#   DURATION=5 ./test/bench/https.sh   seconds per measured phase (default 10)
#
# Other knobs (environment): WRK_THREADS (2), WRK_CONNS (32), HS_CLIENTS (4,
# parallel `openssl s_time` clients), MW_THREADS (meshwatch --http-threads,
# default: meshwatch's own default), NGINX_PROTOCOLS ("TLSv1.2", the only
# version meshwatch speaks; "TLSv1.2 TLSv1.3" to let nginx use 1.3),
# MESHWATCH (path to the binary; default build-bench/meshwatch, built as a
# release build if missing). See test/bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DURATION=${DURATION:-10}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-32}
HS_CLIENTS=${HS_CLIENTS:-4}
MW_THREADS=${MW_THREADS:-}
NGINX_PROTOCOLS=${NGINX_PROTOCOLS:-TLSv1.2}
MESHWATCH=${MESHWATCH:-$ROOT/build-bench/meshwatch}
WARMUP=${WARMUP:-1}
MW_HOST=127.0.0.31 MW_PORT=${MW_PORT:-8443}
NG_HOST=127.0.0.32 NG_PORT=${NG_PORT:-8443}
ADMIN_USER=admin ADMIN_PASS=admin-pass-123

case "$DURATION" in '' | *[!0-9]* | 0) echo "https.sh: DURATION must be a positive whole number of seconds" >&2; exit 2 ;; esac

say() { printf '%s\n' "$*"; }
die() { printf 'https.sh: %s\n' "$*" >&2; exit 1; }

for tool in wrk nginx openssl curl; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run ./scripts/setup.sh --bench"
done

# ---------------------------------------------------------------- cleanup
T=$(mktemp -d /tmp/meshwatch-bench.XXXXXX)
MW_PID="" NG_PID=""
stop_pid() { # pid: SIGTERM, wait up to 5 s, then SIGKILL
	local pid=$1 i
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_pid "$MW_PID"   # meshwatch: SIGTERM stops it
	stop_pid "$NG_PID"   # nginx master: SIGTERM is a fast shutdown, workers follow
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- binary
if [ ! -x "$MESHWATCH" ]; then
	[ "$MESHWATCH" = "$ROOT/build-bench/meshwatch" ] || die "$MESHWATCH is not an executable"
	say "building a release binary in build-bench/ ..."
	if [ ! -f build-bench/build.ninja ]; then
		meson setup build-bench --buildtype=release >"$T/build.log" 2>&1 || { cat "$T/build.log" >&2; die "meson setup failed"; }
	fi
	ninja -C build-bench meshwatch >>"$T/build.log" 2>&1 || { tail -30 "$T/build.log" >&2; die "build failed"; }
fi

# ---------------------------------------------------------------- helpers
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
nginx_pids() { echo "$NG_PID"; pgrep -P "$NG_PID" 2>/dev/null || true; }
nginx_sum() { # rss|pss over master and workers
	local f=$1 s=0 p
	for p in $(nginx_pids); do s=$((s + $("${f}_kb" "$p"))); done
	echo "$s"
}
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0 && a != "" && a != "-") printf "%.2f", a / b; else printf "-"}'; }
now() { date +%s.%N; }

wait_http() { # url pid: until the server answers, or 15 s
	local i
	for i in $(seq 150); do
		kill -0 "$2" 2>/dev/null || return 1
		curl -sk -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.1
	done
	return 1
}

# wrk NAME URL [extra wrk args]: runs a warm-up and the measured phase, keeps
# the raw output in $T/NAME.wrk, prints "rps p50_ms p99_ms errors".
run_wrk() {
	local name=$1 url=$2
	shift 2
	wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WARMUP}s" "$@" "$url" >/dev/null 2>&1 || true
	wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DURATION}s" --latency "$@" "$url" >"$T/$name.wrk" 2>&1 || true
	awk '
	function ms(v) {
		if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
		if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
		if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
		return v + 0
	}
	/^Requests\/sec:/ { rps = $2 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx/ { err += $NF }
	END { printf "%s %s %s %d\n", rps == "" ? "-" : rps, p50 == "" ? "-" : sprintf("%.2f", p50),
	      p99 == "" ? "-" : sprintf("%.2f", p99), err }' "$T/$name.wrk"
}

# Full handshakes: HS_CLIENTS parallel `openssl s_time -new`, each opening a
# fresh connection with no session to resume, sending GET /health (HTTP/1.0)
# and reading the reply until the server closes. Prints connections/s.
run_stime() {
	local name=$1 hostport=$2 i t0 t1 n
	for i in $(seq "$HS_CLIENTS"); do
		timeout 5 openssl s_time -connect "$hostport" -new -time 1 -www /health >/dev/null 2>&1 &
	done
	wait
	t0=$(now)
	for i in $(seq "$HS_CLIENTS"); do
		timeout $((DURATION + 30)) openssl s_time -connect "$hostport" -new -time "$DURATION" -www /health \
			>"$T/$name.stime.$i" 2>&1 &
	done
	wait
	t1=$(now)
	# "N connections in X real seconds, ..." (X is whole seconds, so use our own clock)
	n=$(cat "$T/$name".stime.* | awk '/connections in [0-9]+ real seconds/ {n += $1} END {print n + 0}')
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", n / (b - a)}'
}

# Does a second connection resume the session of the first? (s_client)
resumes() {
	local hostport=$1 sess=$T/sess.$RANDOM
	openssl s_client -connect "$hostport" -sess_out "$sess" </dev/null >/dev/null 2>&1 || true
	if [ -s "$sess" ] && openssl s_client -connect "$hostport" -sess_in "$sess" </dev/null 2>/dev/null | grep -q '^Reused'; then
		echo yes
	else
		echo no
	fi
}

# meshwatch's own TLS counters, from /metrics: "handshakes seconds_sum".
mw_tls() {
	curl -sk --max-time 5 -H "Authorization: Bearer $MW_TOKEN" "https://$MW_HOST:$MW_PORT/metrics" |
		awk '/^meshwatch_tls_handshakes_total\{result="ok"\}/ {h = $2} /^meshwatch_tls_handshake_seconds_sum/ {s = $2}
		     END {printf "%d %s\n", h, s == "" ? 0 : s}'
}
hs_avg_ms() { # before after: average server-side handshake time in between
	awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " "); n = y[1] - x[1];
		if (n > 0) printf "%.2f", (y[2] - x[2]) * 1000 / n; else printf "-"}'
}

# ---------------------------------------------------------------- start meshwatch
mkdir -p "$T/mw" "$T/nginx/logs" "$T/nginx/tmp"
mw_args=(--listen "$MW_HOST:$MW_PORT" --data-dir "$T/mw/data" --name bench.test --log-level warn)
[ -n "$MW_THREADS" ] && mw_args+=(--http-threads "$MW_THREADS")
ROOT_USER=$ADMIN_USER ROOT_PASSWORD=$ADMIN_PASS "$MESHWATCH" "${mw_args[@]}" >"$T/mw/log" 2>&1 &
MW_PID=$!
# Ready when the listening socket is up; then read the idle RSS before any
# request has been made.
for i in $(seq 150); do
	kill -0 "$MW_PID" 2>/dev/null || { cat "$T/mw/log" >&2; die "meshwatch exited at start"; }
	ss -Hltn "src $MW_HOST:$MW_PORT" 2>/dev/null | grep -q . && break
	sleep 0.1
done
sleep 1
MW_RSS_IDLE=$(rss_kb "$MW_PID")
MW_THREADS_N=$(awk '/^Threads:/ {print $2}' "/proc/$MW_PID/status")
wait_http "https://$MW_HOST:$MW_PORT/health" "$MW_PID" || { cat "$T/mw/log" >&2; die "meshwatch does not answer"; }
MW_RSS_IDLE1=$(rss_kb "$MW_PID")
MW_BODY=$(curl -sk "https://$MW_HOST:$MW_PORT/health")
MW_TOKEN=$(curl -sk -X POST -H 'Content-Type: application/json' \
	-d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}" "https://$MW_HOST:$MW_PORT/api/login" |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

# ---------------------------------------------------------------- start nginx
# Same certificate and key, a static JSON body as large as meshwatch's.
cp "$T/mw/data/certs/cert.pem" "$T/mw/data/certs/key.pem" "$T/nginx/"
NG_BODY=$(printf '%s' "$MW_BODY" | sed 's/"uptime_s":[0-9]*/"uptime_s":0/; s/\\/\\\\/g; s/'\''/\\'\''/g')
cat >"$T/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes auto;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
	client_body_temp_path $T/nginx/tmp/body;
	proxy_temp_path $T/nginx/tmp/proxy;
	fastcgi_temp_path $T/nginx/tmp/fastcgi;
	uwsgi_temp_path $T/nginx/tmp/uwsgi;
	scgi_temp_path $T/nginx/tmp/scgi;
	server_tokens off;
	# Log only the Connection: close phase, to see whether wrk resumes sessions.
	map \$http_connection \$bench_log { close 1; default 0; }
	log_format tls '\$ssl_session_reused \$ssl_protocol \$ssl_cipher \$ssl_curve';
	access_log $T/nginx/logs/close.log tls buffer=64k if=\$bench_log;
	keepalive_timeout 15s;
	keepalive_requests 100000000;
	tcp_nodelay on;
	server {
		listen $NG_HOST:$NG_PORT ssl;
		ssl_certificate $T/nginx/cert.pem;
		ssl_certificate_key $T/nginx/key.pem;
		ssl_protocols $NGINX_PROTOCOLS;
		ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384;
		ssl_prefer_server_ciphers on;
		ssl_ecdh_curve X25519:prime256v1;
		ssl_session_cache shared:BENCH:4m;
		ssl_session_timeout 12h;
		ssl_session_tickets on;
		location = /health {
			default_type application/json;
			add_header Cache-Control no-store;
			add_header X-Content-Type-Options nosniff;
			return 200 '$NG_BODY';
		}
		location / { return 404; }
	}
}
EOF
nginx -t -q -p "$T/nginx/" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" 2>"$T/nginx/t.log" ||
	{ cat "$T/nginx/t.log" "$T/nginx/logs/error.log" >&2 2>/dev/null; die "nginx configuration rejected"; }
nginx -p "$T/nginx/" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" >"$T/nginx/out.log" 2>&1 &
NG_PID=$!
wait_http "https://$NG_HOST:$NG_PORT/health" "$NG_PID" || { cat "$T/nginx/logs/error.log" >&2; die "nginx does not answer"; }
sleep 0.5

NG_WORKERS=$(pgrep -P "$NG_PID" | wc -l)
MW_SIZE=$(curl -sk -o /dev/null -w '%{size_header}+%{size_download}' "https://$MW_HOST:$MW_PORT/health")
NG_SIZE=$(curl -sk -o /dev/null -w '%{size_header}+%{size_download}' "https://$NG_HOST:$NG_PORT/health")
MW_RESUME=$(resumes "$MW_HOST:$MW_PORT")
NG_RESUME=$(resumes "$NG_HOST:$NG_PORT")

say "meshwatch vs nginx over HTTPS, loopback only ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
say "  machine:   $(nproc) CPU(s), $(uname -r); wrk, openssl and both servers share them"
say "  meshwatch: $MESHWATCH ($("$MESHWATCH" --version 2>/dev/null | head -1)), https://$MW_HOST:$MW_PORT, $MW_THREADS_N threads"
say "  nginx:     $(nginx -v 2>&1 | sed 's/^nginx version: //'), https://$NG_HOST:$NG_PORT, $NG_WORKERS worker(s), ssl_protocols $NGINX_PROTOCOLS"
say "  /health:   meshwatch $MW_SIZE bytes, nginx $NG_SIZE bytes (headers+body)"
tls_of() { openssl s_client -connect "$1" </dev/null 2>/dev/null |
	awk '/^ *Protocol *:/ {p = $3} /^ *Cipher *:/ {c = $3} /^Server Temp Key:/ {k = $4} END {print p, c, k}' | tr -d ,; }
say "  TLS:       meshwatch $(tls_of "$MW_HOST:$MW_PORT"); nginx $(tls_of "$NG_HOST:$NG_PORT")"
say "  resumption (openssl s_client -sess_in): meshwatch $MW_RESUME, nginx $NG_RESUME"
say "  phases:    ${DURATION}s each after a ${WARMUP}s warm-up; wrk -t$WRK_THREADS -c$WRK_CONNS; $HS_CLIENTS s_time clients"
say ""

# ---------------------------------------------------------------- phases
# The two servers take turns phase by phase, so a slower or busier stretch
# of the shared machine hits both about equally.
say "running: keep-alive ..."
read -r MW_KA_RPS MW_KA_P50 MW_KA_P99 MW_KA_ERR < <(run_wrk mw.ka "https://$MW_HOST:$MW_PORT/health")
read -r NG_KA_RPS NG_KA_P50 NG_KA_P99 NG_KA_ERR < <(run_wrk ng.ka "https://$NG_HOST:$NG_PORT/health")

say "running: Connection: close (new TCP+TLS connection per request, sessions resumed) ..."
tls0=$(mw_tls)
read -r MW_CC_RPS MW_CC_P50 MW_CC_P99 MW_CC_ERR < <(run_wrk mw.cc "https://$MW_HOST:$MW_PORT/health" -H 'Connection: close')
tls1=$(mw_tls)
read -r NG_CC_RPS NG_CC_P50 NG_CC_P99 NG_CC_ERR < <(run_wrk ng.cc "https://$NG_HOST:$NG_PORT/health" -H 'Connection: close')
sleep 0.3 # nginx flushes its buffered log at the latest when the buffer fills; force it:
kill -USR1 "$NG_PID" 2>/dev/null || true
sleep 0.3
NG_CC_REUSED=$(awk '$1 == "r" {r++} END {print r + 0}' "$T/nginx/logs/close.log" 2>/dev/null || echo 0)
NG_CC_LOGGED=$(wc -l <"$T/nginx/logs/close.log" 2>/dev/null || echo 0)
MW_CC_HS_MS=$(hs_avg_ms "$tls0" "$tls1")

say "running: full handshakes (openssl s_time -new, no resumption) ..."
tls2=$(mw_tls)
MW_HS_RPS=$(run_stime mw "$MW_HOST:$MW_PORT")
tls3=$(mw_tls)
NG_HS_RPS=$(run_stime ng "$NG_HOST:$NG_PORT")
MW_HS_MS=$(hs_avg_ms "$tls2" "$tls3")

sleep 1
MW_RSS_AFTER=$(rss_kb "$MW_PID")
MW_HWM=$(hwm_kb "$MW_PID")
NG_RSS=$(nginx_sum rss)
NG_PSS=$(nginx_sum pss)
MW_PSS=$(pss_kb "$MW_PID")

# ---------------------------------------------------------------- report
verdict() { # value op target
	awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (v == "-" || v == "") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
		print ok ? "MET" : "NOT MET" }'
}
KA_R=$(ratio "$MW_KA_RPS" "$NG_KA_RPS")
CC_R=$(ratio "$MW_CC_RPS" "$NG_CC_RPS")
HS_R=$(ratio "$MW_HS_RPS" "$NG_HS_RPS")
IDLE_MB=$(mb "$MW_RSS_IDLE")

say ""
fmt='%-44s %12s %12s %8s  %s\n'
printf "$fmt" "figure" "meshwatch" "nginx" "mw/nginx" "target"
printf "$fmt" "--------------------------------------------" "------------" "------------" "--------" "------------------------------"
printf "$fmt" "keep-alive requests/s" "$MW_KA_RPS" "$NG_KA_RPS" "$KA_R" ">= 1.0x nginx: $(verdict "$KA_R" ">=" 1.0)"
printf "$fmt" "  keep-alive latency p50 (ms)" "$MW_KA_P50" "$NG_KA_P50" "$(ratio "$MW_KA_P50" "$NG_KA_P50")" ""
printf "$fmt" "  keep-alive latency p99 (ms)" "$MW_KA_P99" "$NG_KA_P99" "$(ratio "$MW_KA_P99" "$NG_KA_P99")" ""
printf "$fmt" "  keep-alive socket errors + non-2xx" "$MW_KA_ERR" "$NG_KA_ERR" "" ""
printf "$fmt" "new connections/s (Connection: close)" "$MW_CC_RPS" "$NG_CC_RPS" "$CC_R" ">= 0.5x nginx: $(verdict "$CC_R" ">=" 0.5)"
printf "$fmt" "  latency p50 (ms)" "$MW_CC_P50" "$NG_CC_P50" "$(ratio "$MW_CC_P50" "$NG_CC_P50")" ""
printf "$fmt" "  latency p99 (ms)" "$MW_CC_P99" "$NG_CC_P99" "$(ratio "$MW_CC_P99" "$NG_CC_P99")" ""
printf "$fmt" "  socket errors + non-2xx (see README)" "$MW_CC_ERR" "$NG_CC_ERR" "" ""
printf "$fmt" "  sessions resumed by wrk (nginx log)" "" "$NG_CC_REUSED/$NG_CC_LOGGED" "" ""
printf "$fmt" "  server handshake time, avg (ms)" "$MW_CC_HS_MS" "" "" ""
printf "$fmt" "full handshakes/s (s_time -new, no resume)" "$MW_HS_RPS" "$NG_HS_RPS" "$HS_R" "(info; same 0.5x bar: $(verdict "$HS_R" ">=" 0.5))"
printf "$fmt" "  server handshake time, avg (ms)" "$MW_HS_MS" "" "" ""
printf "$fmt" "idle RSS, before any request (MB)" "$IDLE_MB" "" "" "<= 8 MB: $(verdict "$IDLE_MB" "<=" 8)"
printf "$fmt" "  RSS after first request (MB)" "$(mb "$MW_RSS_IDLE1")" "" "" ""
printf "$fmt" "RSS after the load (MB)" "$(mb "$MW_RSS_AFTER")" "$(mb "$NG_RSS")" "$(ratio "$MW_RSS_AFTER" "$NG_RSS")" "nginx: master + $NG_WORKERS worker(s)"
printf "$fmt" "  peak RSS, VmHWM (MB)" "$(mb "$MW_HWM")" "" "" ""
printf "$fmt" "  PSS after the load (MB)" "$(mb "$MW_PSS")" "$(mb "$NG_PSS")" "$(ratio "$MW_PSS" "$NG_PSS")" "shared pages counted once"
say ""
say "targets: keep-alive $(verdict "$KA_R" ">=" 1.0), new connections $(verdict "$CC_R" ">=" 0.5), idle RSS $(verdict "$IDLE_MB" "<=" 8)"
if [ "$MW_CC_ERR" != 0 ] || [ "$NG_CC_ERR" != 0 ]; then
	say "note: with Connection: close wrk counts a 'write' socket error whenever the server's close"
	say "      reaches it first; requests/s counts only complete responses (see README)."
fi
exit 0
