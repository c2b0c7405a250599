# Shared by the benches that start a loopback mesh (mesh.sh, prometheus.sh):
# the binary, node addresses, the address and thread checks, the ring
# launch and the stop. Sourced, not run. The sourcing script sets, before
# calling these: ROOT (repository root), T (its temporary directory), PORT,
# HTTP_THREADS, POLL_WORKERS, MESHWATCH, and defines die(), say() and
# cleanup().

NODE_PIDS=() # the meshwatch processes started by mesh_launch

# mesh_args HELP_LAST_LINE ARG...: the scenario arguments, A, B, both (all),
# quick, -h (prints the script's comment lines 2..HELP_LAST_LINE); sets
# SCENARIOS (default "A B") and QUICK
mesh_args() {
	local last=$1 a
	shift
	SCENARIOS="" QUICK=0
	for a in "$@"; do
		case "$a" in
		A | a) SCENARIOS="$SCENARIOS A" ;;
		B | b) SCENARIOS="$SCENARIOS B" ;;
		both | all) SCENARIOS="$SCENARIOS A B" ;;
		quick) QUICK=1 ;;
		-h | --help) sed -n "2,${last}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) die "unknown argument '$a' (A, B, both, quick)" ;;
		esac
	done
	[ -n "$SCENARIOS" ] || SCENARIOS="A B"
}

# mesh_traps: cleanup (the script's) on every exit path, with the usual
# statuses for the signals
mesh_traps() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# Builds build-bench/meshwatch (release) when it is missing; sets STALE=yes
# when it is older than src/ or include/ (it is never rebuilt here).
mesh_binary() {
	if [ ! -x "$MESHWATCH" ]; then
		[ "$MESHWATCH" = "$ROOT/build-bench/meshwatch" ] || die "$MESHWATCH is not an executable"
		say "building a release binary in build-bench/ (once) ..."
		if [ ! -f build-bench/build.ninja ]; then
			meson setup build-bench --buildtype=release -Doptimization=2 >"$T/build.log" 2>&1 ||
				{ tail -30 "$T/build.log" >&2; die "meson setup failed (./scripts/setup.sh installs the build dependencies)"; }
		fi
		ninja -C build-bench meshwatch >>"$T/build.log" 2>&1 || { tail -30 "$T/build.log" >&2; die "build failed"; }
	fi
	STALE=""
	if [ "$MESHWATCH" = "$ROOT/build-bench/meshwatch" ] &&
		[ -n "$(find src include -newer "$MESHWATCH" -type f 2>/dev/null | head -1)" ]; then
		STALE="yes"
	fi
}

# node i: 127.0.50.10-109, 127.0.51.10-109, ...
node_ip() { echo "127.0.$((50 + ($1 - 1) / 100)).$((10 + ($1 - 1) % 100))"; }
idle_pct() { # share of the machine idle over 1 s
	local a b
	a=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ");
		d = y[1] - x[1]; printf "%.0f", (d > 0 ? 100 * (y[2] - x[2]) / d : 100)}'
}
# threads on the machine, from /proc/loadavg ("running/total"): instant even
# when thousands of threads compete (ps -eLf can take minutes then)
threads_now() { awk '{split($4, a, "/"); print a[2]}' /proc/loadavg; }

# mesh_check N: every address of nodes 1..N free (TCP and UDP, any port), and
# the threads they need well under kernel.pid_max and threads-max
mesh_check() {
	local n=$1 i
	ss -Hltun 2>/dev/null | awk '{print $5}' | sed 's/:[0-9*]*$//' | sort -u >"$T/inuse"
	for i in $(seq "$n"); do node_ip "$i"; done | sort >"$T/want"
	if [ -n "$(comm -12 "$T/inuse" "$T/want")" ]; then
		die "addresses already in use: $(comm -12 "$T/inuse" "$T/want" | head -5 | tr '\n' ' ')"
	fi
	# N x (http threads + poll workers + 9 others: main, civetweb's listener, the prober
	# loop, two resolvers, the scanner, the UDP responder, the poll scheduler, the WebSocket pusher)
	local need=$((n * (HTTP_THREADS + POLL_WORKERS + 9)))
	local pidmax tmax
	pidmax=$(cat /proc/sys/kernel/pid_max) tmax=$(cat /proc/sys/kernel/threads-max)
	if [ $((need + $(threads_now))) -gt $((pidmax * 9 / 10)) ] || [ "$need" -gt $((tmax * 9 / 10)) ]; then
		die "about $need threads needed, pid_max $pidmax / threads-max $tmax too low: lower HTTP_THREADS"
	fi
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((HTTP_THREADS + POLL_WORKERS * 2 + 64)) ]; then
		die "ulimit -n $(ulimit -n) is too low for a node"
	fi
}

# mesh_launch DIR N INTERVAL: data directories and ring seed files (node i
# seeds node i+1, the last the first) first, so that the launch loop only
# forks; then nodes 1..N at once, each `--name ni.test --poll-interval
# INTERVAL --http-threads HTTP_THREADS` with an admin user (ROOT_USER admin,
# ROOT_PASSWORD admin-pass-123, PBKDF2 at its minimum). Appends the pids to
# NODE_PIDS and "i ip pid launched datadir log" lines to DIR/nodes.tsv. A
# function node_extra_args, when defined, is called with i and sets the array
# EXTRA_ARGS for that node (e.g. --log-level info).
mesh_launch() {
	local d=$1 n=$2 iv=$3 i j ips=()
	for i in $(seq "$n"); do
		ips[i]=$(node_ip "$i")
		mkdir -p "$d/n$i"
	done
	for i in $(seq "$n"); do
		j=$((i % n + 1))
		printf '{"nodes":[{"fqdn":"n%d.test","ip":"%s","port":%d}]}\n' "$j" "${ips[j]}" "$PORT" >"$d/seed$i.json"
	done
	: >"$d/nodes.tsv"
	export ROOT_USER=admin ROOT_PASSWORD=admin-pass-123 MESHWATCH_PBKDF2_ITERATIONS=100000
	for i in $(seq "$n"); do
		EXTRA_ARGS=()
		! declare -F node_extra_args >/dev/null || node_extra_args "$i"
		"$MESHWATCH" --listen "${ips[i]}:$PORT" --data-dir "$d/n$i" --name "n$i.test" --seed "$d/seed$i.json" \
			--poll-interval "$iv" --http-threads "$HTTP_THREADS" "${EXTRA_ARGS[@]}" >"$d/log$i" 2>&1 &
		NODE_PIDS+=("$!")
		printf '%d %s %d %s %s %s\n' "$i" "${ips[i]}" "$!" "$EPOCHREALTIME" "$d/n$i" "$d/log$i" >>"$d/nodes.tsv"
	done
	unset ROOT_USER ROOT_PASSWORD MESHWATCH_PBKDF2_ITERATIONS
}

# pid_dead PID: the process is gone or a zombie
pid_dead() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

stop_nodes() { # SIGTERM to every node at once, up to 20 s, then SIGKILL
	local p i left
	[ "${#NODE_PIDS[@]}" -gt 0 ] || return 0
	for p in "${NODE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for i in $(seq 200); do
		left=0
		for p in "${NODE_PIDS[@]}"; do
			if ! pid_dead "$p"; then
				left=1
				break
			fi
		done
		[ "$left" = 1 ] || break
		sleep 0.1
	done
	for p in "${NODE_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	NODE_PIDS=()
}

# The overload rule (README: a node on a saturated machine withholds its
# verdicts and polls fewer peers at once) reads CPU pressure. The nodes of a
# benchmark all share this machine, so the machine's /proc/pressure/cpu is
# exactly theirs; but a node that sees /.dockerenv (as on a builder that runs
# in a container) turns the rule off, because in a real container that file
# counts the host's tasks. Without the rule, 200 nodes on two cores
# collapsed (timeouts taken for deaths and gossiped: 178 k suspicions, not
# converged in 14 intervals); with it they converge. An empty
# MESHWATCH_CPU_PRESSURE_FILE leaves the nodes to their own detection.
if [ -z "${MESHWATCH_CPU_PRESSURE_FILE+set}" ] && [ -r /proc/pressure/cpu ]; then
	export MESHWATCH_CPU_PRESSURE_FILE=/proc/pressure/cpu
fi
# pressure_note: how the nodes' overload rule reads CPU pressure, for the report
pressure_note() {
	if [ -n "${MESHWATCH_CPU_PRESSURE_FILE:-}" ]; then
		echo "overload rule on the machine's CPU pressure (MESHWATCH_CPU_PRESSURE_FILE=$MESHWATCH_CPU_PRESSURE_FILE: the nodes share this machine)"
	else
		echo "overload rule as each node detects it (MESHWATCH_CPU_PRESSURE_FILE empty)"
	fi
}
