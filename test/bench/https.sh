#!/usr/bin/env bash
# HTTPS benchmark: meshwatch against nginx, side by side, on loopback only.
#
# A benchmark, not a test: it prints figures, ratios and whether the targets
# are met, and exits 0 however slow the numbers are. It exits non-zero only
# when it cannot run at all (a missing tool, a server that does not start).
#
#   ./test/bench/https.sh              from the repository root, no arguments
#   DURATION=4 ./test/bench/https.sh   shorter run (seconds per server per phase)
#
# Knobs (environment): DURATION (10 s of measurement per server and phase),
# ROUNDS (2: each phase alternates meshwatch/nginx slices this many times),
# WARMUP (1 s, before the first slice of each server and phase), WRK_THREADS
# (2), WRK_CONNS (32), HS_CLIENTS (4 parallel `openssl s_time` clients),
# MW_THREADS (meshwatch --http-threads; default: meshwatch's default),
# NGINX_PROTOCOLS ("TLSv1.2", the only version meshwatch speaks; set
# "TLSv1.2 TLSv1.3" to let nginx negotiate 1.3), MESHWATCH (binary; default
# build-bench/meshwatch, built as a release build when missing).
# The environment is passed on to meshwatch (e.g. MALLOC_ARENA_MAX).
# What each figure means: test/bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-1}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-32}
HS_CLIENTS=${HS_CLIENTS:-4}
MW_THREADS=${MW_THREADS:-}
NGINX_PROTOCOLS=${NGINX_PROTOCOLS:-TLSv1.2}
MESHWATCH=${MESHWATCH:-$ROOT/build-bench/meshwatch}
MW_HOST=127.0.0.31 MW_PORT=${MW_PORT:-8443}
NG_HOST=127.0.0.32 NG_PORT=${NG_PORT:-8443}
ADMIN_USER=admin ADMIN_PASS=admin-pass-123

die() { printf 'https.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '%s\n' "$*"; }
posint() { case "$2" in '' | *[!0-9]* | 0) die "$1 must be a positive whole number (got '$2')" ;; esac; }
posint DURATION "$DURATION"; posint ROUNDS "$ROUNDS"; posint WRK_THREADS "$WRK_THREADS"
posint WRK_CONNS "$WRK_CONNS"; posint HS_CLIENTS "$HS_CLIENTS"
case "$WARMUP" in '' | *[!0-9]*) die "WARMUP must be a whole number of seconds" ;; esac
[ "$WRK_CONNS" -ge "$WRK_THREADS" ] || die "WRK_CONNS must be at least WRK_THREADS"
SLICE=$(((DURATION + ROUNDS - 1) / ROUNDS))

for tool in wrk nginx openssl curl ss awk; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run ./scripts/setup.sh --bench"
done
HZ=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup
T=$(mktemp -d /tmp/meshwatch-bench.XXXXXX)
MW_PID="" NG_PID=""
stop_pid() { # SIGTERM, up to 5 s, then SIGKILL
	local pid=$1 i
	{ [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || return 0
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
	# Clients first (only this script's own children), then the servers.
	local j
	for j in $(jobs -p); do
		[ "$j" = "$MW_PID" ] || [ "$j" = "$NG_PID" ] || kill -TERM "$j" 2>/dev/null || true
	done
	stop_pid "$MW_PID" # meshwatch stops on SIGTERM
	stop_pid "$NG_PID" # nginx master: SIGTERM is a fast shutdown, its workers follow
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
	say "building a release binary in build-bench/ (once) ..."
	if [ ! -f build-bench/build.ninja ]; then
		meson setup build-bench --buildtype=release -Doptimization=2 >"$T/build.log" 2>&1 ||
			{ tail -30 "$T/build.log" >&2; die "meson setup failed (./scripts/setup.sh installs the build dependencies)"; }
	fi
	ninja -C build-bench meshwatch >>"$T/build.log" 2>&1 || { tail -30 "$T/build.log" >&2; die "build failed"; }
fi

# ---------------------------------------------------------------- helpers
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
ng_pids() { echo "$NG_PID"; pgrep -P "$NG_PID" 2>/dev/null || true; }
srv_pids() { if [ "$1" = mw ]; then echo "$MW_PID"; else ng_pids; fi; }
sum_kb() { # rss|pss pids...
	local f=$1 s=0 p
	shift
	for p in "$@"; do s=$((s + $("${f}_kb" "$p"))); done
	echo "$s"
}
cpu_ticks() { # utime+stime of a server (all threads; nginx: master + workers)
	local s=0 p
	for p in $(srv_pids "$1"); do
		s=$((s + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$s"
}
client_ticks() { # CLIENT_TICKS = CPU of this shell's finished children (wrk, openssl)
	times >"$T/times" # a builtin: must run in this shell, not in $(...)
	CLIENT_TICKS=$(awk -v hz="$HZ" 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] }
		printf "%d\n", t * hz }' "$T/times")
}
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "-" && a != "" && b != "-" && b + 0 > 0) printf "%.2f", a / b; else printf "-"}'; }
now() { date +%s.%N; }
idle_pct() { # share of the machine idle over 1 s
	local a b
	a=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ");
		d = y[1] - x[1]; printf "%.0f", (d > 0 ? 100 * (y[2] - x[2]) / d : 100)}'
}
wait_http() { # url pid: until the server answers, at most 15 s
	local i
	for i in $(seq 150); do
		kill -0 "$2" 2>/dev/null || return 1
		curl -sk -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.1
	done
	return 1
}

# meshwatch's own TLS counters from /metrics: "handshakes_ok seconds_sum"
mw_tls() {
	curl -sk --max-time 5 -H "Authorization: Bearer $MW_TOKEN" "https://$MW_HOST:$MW_PORT/metrics" 2>/dev/null |
		awk '/^meshwatch_tls_handshakes_total\{result="ok"\}/ {h = $2}
		     /^meshwatch_tls_handshake_seconds_sum/ {s = $2}
		     END {printf "%d %s\n", h, s == "" ? 0 : s}' || echo "0 0"
}

# One measured slice. Appends to $T/PHASE.SRV a line:
#   requests seconds p50_ms p99_ms errors server_ticks client_ticks machine_ticks hs_count hs_seconds
# PHASE is ka (keep-alive), kb (keep-alive, the ~100 KB JSON answer),
# cc (Connection: close) or hs (full handshakes).
slice() {
	local phase=$1 srv=$2 round=$3 host port out n secs p50 p99 err t0 t1 c0 c1 m0 m1 s0 s1 h0="0 0" h1="0 0" i
	if [ "$srv" = mw ]; then host=$MW_HOST port=$MW_PORT; else host=$NG_HOST port=$NG_PORT; fi
	local url="https://$host:$port/health"
	local wrk_args=(-t"$WRK_THREADS" -c"$WRK_CONNS")
	[ "$phase" = cc ] && wrk_args+=(-H 'Connection: close')
	# the same header to both: nginx ignores it
	[ "$phase" = kb ] && url="https://$host:$port$BIG_PATH" wrk_args+=(-H "Authorization: Bearer $MW_TOKEN")
	if [ "$round" = 1 ] && [ "$WARMUP" -gt 0 ]; then
		if [ "$phase" = hs ]; then
			for i in $(seq "$HS_CLIENTS"); do
				timeout $((WARMUP + 10)) openssl s_time -connect "$host:$port" -new -time "$WARMUP" -www /health >/dev/null 2>&1 &
			done
			wait_clients
		else
			wrk "${wrk_args[@]}" -d"${WARMUP}s" "$url" >/dev/null 2>&1 &
			wait_clients
		fi
	fi
	[ "$srv" = mw ] && [ "$phase" = cc -o "$phase" = hs ] && h0=$(mw_tls)
	out=$T/$phase.$srv.$round
	client_ticks; c0=$CLIENT_TICKS s0=$(cpu_ticks "$srv") m0=$(machine_busy)
	if [ "$phase" = hs ]; then
		# Full handshakes: HS_CLIENTS parallel `openssl s_time -new`: every
		# connection is new, with no session to resume, and carries one
		# GET /health (HTTP/1.0; read until the server closes).
		t0=$(now)
		for i in $(seq "$HS_CLIENTS"); do
			timeout $((SLICE + 30)) openssl s_time -connect "$host:$port" -new -time "$SLICE" -www /health >"$out.$i" 2>&1 &
		done
		wait_clients
		t1=$(now)
		m1=$(machine_busy) s1=$(cpu_ticks "$srv"); client_ticks; c1=$CLIENT_TICKS
		# "N connections in X real seconds": X is whole seconds, so use our clock.
		n=$(cat "$out".* | awk '/connections in [0-9]+ real seconds/ {n += $1} END {print n + 0}')
		secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
		p50=- p99=- err=0
	else
		# In the background, so that a signal is handled at once (bash runs traps
		# only after a foreground child ends); wait is interrupted by traps.
		wrk "${wrk_args[@]}" -d"${SLICE}s" --latency "$url" >"$out" 2>&1 &
		wait_clients
		m1=$(machine_busy) s1=$(cpu_ticks "$srv"); client_ticks; c1=$CLIENT_TICKS
		read -r n secs p50 p99 err < <(awk '
			function ms(v) {
				if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
				if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
				if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
				return v + 0
			}
			/requests in/ { n = $1; s = $4; sub(/s,?$/, "", s) }
			$1 == "50%" { p50 = sprintf("%.3f", ms($2)) }
			$1 == "99%" { p99 = sprintf("%.3f", ms($2)) }
			/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
			/Non-2xx or 3xx/ { err += $NF }
			END { printf "%d %s %s %s %d\n", n, s == "" ? 0 : s, p50 == "" ? "-" : p50, p99 == "" ? "-" : p99, err }' "$out")
	fi
	[ "$srv" = mw ] && [ "$phase" = cc -o "$phase" = hs ] && h1=$(mw_tls)
	echo "$n $secs $p50 $p99 $err $((s1 - s0)) $((c1 - c0)) $((m1 - m0)) $h0 $h1" |
		awk '{print $1, $2, $3, $4, $5, $6, $7, $8, $11 - $9, $12 - $10}' >>"$T/$phase.$srv"
}
wait_clients() { # wait for the background clients (not the servers)
	local j
	for j in $(jobs -p); do
		[ "$j" = "$MW_PID" ] || [ "$j" = "$NG_PID" ] || wait "$j" 2>/dev/null || true
	done
}

# Aggregate the slices of PHASE.SRV into variables PFX_{RPS,P50,P99,ERR,CPU,OTHER,HSMS}:
# rate = all requests / all seconds; p50 = mean over slices; p99 = worst
# slice; CPU = server CPU time per request (us); OTHER = share of the
# machine used by neither server nor client during the slices (%).
aggregate() {
	local phase=$1 srv=$2 pfx=$3 line
	line=$(awk -v hz="$HZ" -v ncpu="$(nproc)" '
		{ n += $1; s += $2; err += $5; st += $6; ct += $7; mt += $8; hc += $9; hs += $10
		  if ($3 != "-") { p50 += $3; k++ }
		  if ($4 != "-" && $4 + 0 > p99) p99 = $4 + 0 }
		END {
			rps = s > 0 ? n / s : 0
			printf "%s %s %s %d %s %s %s\n",
				(s > 0 ? sprintf("%.0f", rps) : "-"),
				(k ? sprintf("%.2f", p50 / k) : "-"),
				(k ? sprintf("%.2f", p99) : "-"),
				err,
				(n > 0 ? sprintf("%.0f", st / hz * 1e6 / n) : "-"),
				(s > 0 ? sprintf("%.0f", 100 * (mt - st - ct) / hz / (s * ncpu)) : "-"),
				(hc > 0 ? sprintf("%.2f", hs * 1000 / hc) : "-") }' "$T/$phase.$srv")
	read -r "${pfx}_RPS" "${pfx}_P50" "${pfx}_P99" "${pfx}_ERR" "${pfx}_CPU" "${pfx}_OTHER" "${pfx}_HSMS" <<<"$line"
}

# Does a second connection resume the session of the first? (s_client)
resumes() {
	# A request that makes the server close, so that s_client also reads a
	# TLS 1.3 ticket (sent after the handshake) before it saves the session.
	local sess=$T/sess.$RANDOM req='GET /health HTTP/1.0\r\n\r\n'
	printf "$req" | timeout 10 openssl s_client -connect "$1" -ign_eof -sess_out "$sess" >/dev/null 2>&1 || true
	if [ -s "$sess" ] && printf "$req" | timeout 10 openssl s_client -connect "$1" -ign_eof -sess_in "$sess" 2>/dev/null |
		grep -q '^Reused'; then
		echo yes
	else
		echo no
	fi
}
tls_of() {
	openssl s_client -connect "$1" </dev/null 2>/dev/null |
		awk '/^New, / {p = $2; c = $NF} /^Server Temp Key:/ {k = $4} END {print p, c, k}' | tr -d ,
}

# ---------------------------------------------------------------- start meshwatch
for hp in "$MW_HOST:$MW_PORT" "$NG_HOST:$NG_PORT"; do
	! ss -Hltn "src $hp" 2>/dev/null | grep -q . || die "$hp is already in use (set MW_PORT / NG_PORT)"
done
IDLE_BEFORE=$(idle_pct)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$T/mw" "$T/nginx/logs" "$T/nginx/tmp"
mw_args=(--listen "$MW_HOST:$MW_PORT" --data-dir "$T/mw/data" --name bench.test --log-level warn)
[ -n "$MW_THREADS" ] && mw_args+=(--http-threads "$MW_THREADS")
# wrk and openssl s_time are one client address opening WRK_CONNS and more
# connections: the per-address cap (max_conns_per_addr) is not what is measured.
MESHWATCH_MAX_CONNS_PER_ADDR=0 ROOT_USER=$ADMIN_USER ROOT_PASSWORD=$ADMIN_PASS "$MESHWATCH" "${mw_args[@]}" >"$T/mw/log" 2>&1 &
MW_PID=$!
# Ready once it listens; the idle RSS is read then, before any request.
for i in $(seq 150); do
	kill -0 "$MW_PID" 2>/dev/null || break
	ss -Hltn "src $MW_HOST:$MW_PORT" 2>/dev/null | grep -q . && break
	sleep 0.1
done
sleep 1
kill -0 "$MW_PID" 2>/dev/null || { cat "$T/mw/log" >&2; die "meshwatch exited at start"; }
MW_RSS_IDLE=$(rss_kb "$MW_PID")
MW_THREADS_N=$(awk '/^Threads:/ {print $2}' "/proc/$MW_PID/status")
wait_http "https://$MW_HOST:$MW_PORT/health" "$MW_PID" || { cat "$T/mw/log" >&2; die "meshwatch does not answer"; }
MW_RSS_IDLE1=$(rss_kb "$MW_PID")
MW_BODY=$(curl -sk "https://$MW_HOST:$MW_PORT/health")
MW_TOKEN=$(curl -sk -X POST -H 'Content-Type: application/json' \
	-d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}" "https://$MW_HOST:$MW_PORT/api/login" |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$MW_TOKEN" ] || { cat "$T/mw/log" >&2; die "cannot log in to meshwatch"; }

# The ~100 KB JSON answer: GET /api/targets?limit=1000 (a SQLite query and
# the JSON built per request) once the node holds enough targets, made
# disabled so that no check runs during the phases. nginx serves the same
# bytes from a file. Targets are added 50 at a time, on one connection.
BIG_PATH="/api/targets?limit=1000" BIG_WANT=${BIG_BYTES:-100000}
big_size() { curl -sk -o "$T/big.json" -w '%{size_download}' -H "Authorization: Bearer $MW_TOKEN" \
	"https://$MW_HOST:$MW_PORT$BIG_PATH"; }
made=0
while [ "$(big_size)" -lt "$BIG_WANT" ] && [ "$made" -lt 1000 ]; do
	: >"$T/targets.curl"
	for i in $(seq $((made + 1)) $((made + 50))); do
		[ -s "$T/targets.curl" ] && echo next >>"$T/targets.curl"
		printf '%s\n' "url = \"https://$MW_HOST:$MW_PORT/api/targets\"" 'request = "POST"' \
			'header = "Content-Type: application/json"' "header = \"Authorization: Bearer $MW_TOKEN\"" \
			"data = \"{\\\"name\\\": \\\"bench target $i\\\", \\\"host\\\": \\\"127.0.0.$((i % 250 + 1))\\\", \\\"port\\\": $((10000 + i)), \\\"enabled\\\": false}\"" \
			'output = "/dev/null"' 'insecure' 'fail' >>"$T/targets.curl"
	done
	curl -sSk -K "$T/targets.curl" || { head -20 "$T/targets.curl" >&2; die "cannot add the targets of the 100 KB answer"; }
	made=$((made + 50))
done
rm -f "$T/targets.curl" # it holds the token, and $T is opened to nginx's workers below
BIG_LEN=$(big_size)
[ "$BIG_LEN" -ge "$BIG_WANT" ] || die "GET $BIG_PATH is only $BIG_LEN bytes after $made targets"
BIG_N=$made

# ---------------------------------------------------------------- start nginx
# The same certificate and key; a static JSON body like meshwatch's (same
# length), with meshwatch's two extra headers.
cp "$T/mw/data/certs/cert.pem" "$T/mw/data/certs/key.pem" "$T/nginx/"
cp "$T/big.json" "$T/nginx/big.json"
# nginx's workers (user nobody when started as root) must reach the file
chmod 755 "$T" "$T/nginx"
chmod 644 "$T/nginx/big.json"
NG_BODY=$(printf '%s' "$MW_BODY" | sed 's/\\/\\\\/g; s/'\''/\\'\''/g')
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
	# Logs only requests with Connection: close, to see whether wrk resumes.
	map \$http_connection \$bench_log { close 1; default 0; }
	log_format tls '\$ssl_session_reused \$ssl_protocol \$ssl_cipher \$ssl_curve';
	access_log $T/nginx/logs/close.log tls buffer=64k if=\$bench_log;
	keepalive_timeout 15s;            # meshwatch: request_timeout_ms 15000
	keepalive_requests 100000000;     # nginx closes after 1000 by default; civetweb never
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
		location = /api/targets {
			alias $T/nginx/big.json;
			default_type application/json;
			etag off;
			add_header Cache-Control no-store;
			add_header X-Content-Type-Options nosniff;
		}
		location / { return 404; }
	}
}
EOF
nginx -t -q -p "$T/nginx/" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" >"$T/nginx/t.log" 2>&1 ||
	{ cat "$T/nginx/t.log" >&2; die "nginx rejects the configuration"; }
nginx -p "$T/nginx/" -c "$T/nginx/nginx.conf" -e "$T/nginx/logs/error.log" >"$T/nginx/out.log" 2>&1 &
NG_PID=$!
wait_http "https://$NG_HOST:$NG_PORT/health" "$NG_PID" ||
	{ cat "$T/nginx/out.log" "$T/nginx/logs/error.log" >&2 2>/dev/null; die "nginx does not answer"; }
sleep 0.5
NG_WORKERS=$(pgrep -P "$NG_PID" | wc -l)

say "meshwatch vs nginx over HTTPS on loopback ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
say "  machine:    $(nproc) CPU(s), Linux $(uname -r); idle ${IDLE_BEFORE}% before the start, load average $LOAD_BEFORE"
say "              (wrk, openssl and both servers share these CPUs)"
say "  meshwatch:  $("$MESHWATCH" --version 2>/dev/null | head -1), https://$MW_HOST:$MW_PORT, $MW_THREADS_N threads, $MESHWATCH"
say "  nginx:      $(nginx -v 2>&1 | sed 's/^nginx version: //'), https://$NG_HOST:$NG_PORT, master + $NG_WORKERS worker(s), ssl_protocols $NGINX_PROTOCOLS"
say "  GET /health: meshwatch $(curl -sk -o /dev/null -w '%{size_header}+%{size_download}' "https://$MW_HOST:$MW_PORT/health") bytes," \
	"nginx $(curl -sk -o /dev/null -w '%{size_header}+%{size_download}' "https://$NG_HOST:$NG_PORT/health") bytes (headers+body)"
say "  GET $BIG_PATH ($BIG_N disabled targets): meshwatch $(curl -sk -o /dev/null -w '%{size_header}+%{size_download}' -H "Authorization: Bearer $MW_TOKEN" "https://$MW_HOST:$MW_PORT$BIG_PATH") bytes," \
	"nginx $(curl -sk -o /dev/null -w '%{size_header}+%{size_download}' "https://$NG_HOST:$NG_PORT$BIG_PATH") bytes (the same body from a file)"
say "  TLS:        meshwatch $(tls_of "$MW_HOST:$MW_PORT"); nginx $(tls_of "$NG_HOST:$NG_PORT")"
say "  resumption: meshwatch $(resumes "$MW_HOST:$MW_PORT"), nginx $(resumes "$NG_HOST:$NG_PORT") (openssl s_client -sess_out / -sess_in)"
say "  phases:     $ROUNDS round(s) of ${SLICE}s per server and phase, servers alternating; ${WARMUP}s warm-up;"
say "              wrk -t$WRK_THREADS -c$WRK_CONNS; $HS_CLIENTS parallel openssl s_time -new clients"
if [ "$IDLE_BEFORE" -lt 90 ]; then
	say "  WARNING:    the machine was only ${IDLE_BEFORE}% idle before the start: other processes compete"
	say "              with the servers; compare the ratios, and see 'other load' below."
fi
say ""

# ---------------------------------------------------------------- phases
# Servers take turns slice by slice, so a busier stretch of the shared
# machine hits both about equally.
for phase in ka kb cc hs; do
	case $phase in
	ka) say "running: keep-alive throughput ..." ;;
	kb) say "running: keep-alive throughput, the ~100 KB JSON answer ..." ;;
	cc) say "running: Connection: close (a new TCP+TLS connection per request) ..." ;;
	hs) say "running: full TLS handshakes (openssl s_time -new) ..." ;;
	esac
	for round in $(seq "$ROUNDS"); do
		slice "$phase" mw "$round"
		slice "$phase" ng "$round"
	done
	aggregate "$phase" mw "MW_${phase^^}"
	aggregate "$phase" ng "NG_${phase^^}"
done
kill -USR1 "$NG_PID" 2>/dev/null || true # nginx reopens its logs: flushes the buffered access log
sleep 0.5
NG_CC_REUSED=$(awk '$1 == "r" {r++} END {print r + 0}' "$T/nginx/logs/close.log" 2>/dev/null || echo 0)
NG_CC_LOGGED=$(awk 'END {print NR}' "$T/nginx/logs/close.log" 2>/dev/null || echo 0)

sleep 1
MW_RSS_AFTER=$(rss_kb "$MW_PID")
MW_HWM=$(hwm_kb "$MW_PID")
MW_PSS=$(pss_kb "$MW_PID")
# shellcheck disable=SC2046
NG_RSS=$(sum_kb rss $(ng_pids))
# shellcheck disable=SC2046
NG_PSS=$(sum_kb pss $(ng_pids))

# ---------------------------------------------------------------- report
verdict() { # value op target
	awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (v == "-" || v == "") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0)
		print ok ? "MET" : "NOT MET" }'
}
KA_R=$(ratio "$MW_KA_RPS" "$NG_KA_RPS")
KB_R=$(ratio "$MW_KB_RPS" "$NG_KB_RPS")
CC_R=$(ratio "$MW_CC_RPS" "$NG_CC_RPS")
HS_R=$(ratio "$MW_HS_RPS" "$NG_HS_RPS")
IDLE_MB=$(mb "$MW_RSS_IDLE")
KA_V=$(verdict "$KA_R" ">=" 1.0)
KB_V=$(verdict "$KB_R" ">=" 1.0)
CC_V=$(verdict "$CC_R" ">=" 0.5)
HS_V=$(verdict "$HS_R" ">=" 0.5)
RSS_V=$(verdict "$IDLE_MB" "<=" 8)

fmt='%-46s %11s %11s %9s  %s\n'
row() { printf "$fmt" "$@"; }
say ""
row "figure" "meshwatch" "nginx" "mw/nginx" "target"
row "----------------------------------------------" "-----------" "-----------" "---------" "----------------------"
row "1. keep-alive requests/s" "$MW_KA_RPS" "$NG_KA_RPS" "$KA_R" ">= 1.0x: $KA_V"
row "   latency p50 (ms, mean of rounds)" "$MW_KA_P50" "$NG_KA_P50" "$(ratio "$MW_KA_P50" "$NG_KA_P50")" ""
row "   latency p99 (ms, worst round)" "$MW_KA_P99" "$NG_KA_P99" "$(ratio "$MW_KA_P99" "$NG_KA_P99")" ""
row "   server CPU per request (us)" "$MW_KA_CPU" "$NG_KA_CPU" "$(ratio "$MW_KA_CPU" "$NG_KA_CPU")" ""
row "   socket errors + non-2xx" "$MW_KA_ERR" "$NG_KA_ERR" "" ""
row "   other load on the machine (%)" "$MW_KA_OTHER" "$NG_KA_OTHER" "" ""
row "1b. keep-alive, ~100 KB JSON: requests/s" "$MW_KB_RPS" "$NG_KB_RPS" "$KB_R" ">= 1.0x: $KB_V"
row "   MB/s of body" "$(awk -v r="$MW_KB_RPS" -v b="$BIG_LEN" 'BEGIN {printf "%.0f", r * b / 1e6}')" \
	"$(awk -v r="$NG_KB_RPS" -v b="$BIG_LEN" 'BEGIN {printf "%.0f", r * b / 1e6}')" "" ""
row "   latency p50 (ms, mean of rounds)" "$MW_KB_P50" "$NG_KB_P50" "$(ratio "$MW_KB_P50" "$NG_KB_P50")" ""
row "   latency p99 (ms, worst round)" "$MW_KB_P99" "$NG_KB_P99" "$(ratio "$MW_KB_P99" "$NG_KB_P99")" ""
row "   server CPU per request (us)" "$MW_KB_CPU" "$NG_KB_CPU" "$(ratio "$MW_KB_CPU" "$NG_KB_CPU")" ""
row "   socket errors + non-2xx" "$MW_KB_ERR" "$NG_KB_ERR" "" ""
row "   other load on the machine (%)" "$MW_KB_OTHER" "$NG_KB_OTHER" "" ""
row "2. new connections/s (Connection: close)" "$MW_CC_RPS" "$NG_CC_RPS" "$CC_R" ">= 0.5x: $CC_V"
row "   latency p50 (ms, mean of rounds)" "$MW_CC_P50" "$NG_CC_P50" "$(ratio "$MW_CC_P50" "$NG_CC_P50")" ""
row "   latency p99 (ms, worst round)" "$MW_CC_P99" "$NG_CC_P99" "$(ratio "$MW_CC_P99" "$NG_CC_P99")" ""
row "   server CPU per connection (us)" "$MW_CC_CPU" "$NG_CC_CPU" "$(ratio "$MW_CC_CPU" "$NG_CC_CPU")" ""
row "   server-side handshake time, mean (ms)" "$MW_CC_HSMS" "" "" ""
row "   sessions resumed by wrk (nginx log)" "" "$NG_CC_REUSED/$NG_CC_LOGGED" "" ""
row "   socket errors + non-2xx (see README)" "$MW_CC_ERR" "$NG_CC_ERR" "" ""
row "   other load on the machine (%)" "$MW_CC_OTHER" "$NG_CC_OTHER" "" ""
row "   full handshakes/s (s_time -new)" "$MW_HS_RPS" "$NG_HS_RPS" "$HS_R" ">= 0.5x: $HS_V"
row "   server CPU per full handshake (us)" "$MW_HS_CPU" "$NG_HS_CPU" "$(ratio "$MW_HS_CPU" "$NG_HS_CPU")" ""
row "   server-side handshake time, mean (ms)" "$MW_HS_HSMS" "" "" ""
row "   other load on the machine (%)" "$MW_HS_OTHER" "$NG_HS_OTHER" "" ""
row "3. idle RSS, before any request (MB)" "$IDLE_MB" "" "" "<= 8 MB: $RSS_V"
row "   RSS after the first requests (MB)" "$(mb "$MW_RSS_IDLE1")" "" "" ""
row "   RSS after the load (MB)" "$(mb "$MW_RSS_AFTER")" "$(mb "$NG_RSS")" "$(ratio "$MW_RSS_AFTER" "$NG_RSS")" "nginx: master+workers"
row "   peak RSS, VmHWM (MB)" "$(mb "$MW_HWM")" "" "" ""
row "   PSS after the load (MB)" "$(mb "$MW_PSS")" "$(mb "$NG_PSS")" "$(ratio "$MW_PSS" "$NG_PSS")" "shared pages split"
say ""
say "targets: keep-alive >= 1.0x nginx: $KA_V ($KA_R); keep-alive 100 KB JSON >= 1.0x: $KB_V ($KB_R); new connections >= 0.5x nginx: $CC_V ($CC_R); full handshakes >= 0.5x: $HS_V ($HS_R); idle RSS <= 8 MB: $RSS_V ($IDLE_MB MB)"
if [ "$MW_CC_ERR" != 0 ]; then
	say "note: meshwatch closes after a 'Connection: close' request without answering 'Connection: close',"
	say "      so wrk tries to reuse the connection and counts a socket error before reconnecting (README)."
fi
exit 0
