# Shared helpers for integration tests (bash). Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# It makes a temporary directory, and a trap that stops every node started
# with start_node and removes the directory, also when the test fails.
# Tests talk to nodes on their own random loopback address (127.x.y.z), so
# tests can run in parallel on the same port.
set -euo pipefail

MW=${MESHWATCH_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/meshwatch}
[ -x "$MW" ] || { echo "lib.sh: meshwatch binary not found at $MW" >&2; exit 1; }
TMP=$(mktemp -d /tmp/mwtest.XXXXXX)
# The suite runs tests in parallel on few cores: a busy machine must not
# excuse the timeouts that tests of failure detection wait for (see
# overload_cpu_pressure; overload.sh tests it on purpose).
export MESHWATCH_OVERLOAD_CPU_PRESSURE=${MESHWATCH_OVERLOAD_CPU_PRESSURE:-0}
PIDS=()      # every background process the test started (stopped at exit)
MW_PIDS=()   # meshwatch nodes among them, whose exit status must be 0
TEST_NAME=$(basename "$0" .sh)
ADMIN_USER=admin
ADMIN_PASS=admin-pass-123
CHECKS=0

# A node that does not stop within STOP_GRACE seconds of SIGTERM is hung
# (a deadlock, say): it gets SIGKILL and the test fails, instead of waiting
# for the suite's timeout with the node left running.
STOP_GRACE=${STOP_GRACE:-30}
HUNG=
kill_if_hung() {  # kill_if_hung PID...: SIGKILL those still running after STOP_GRACE
  local p i alive
  for ((i = 0; i < STOP_GRACE * 10; i++)); do
    alive=0
    for p in "$@"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 1 ] || return 0
    sleep 0.1
  done
  for p in "$@"; do
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || continue
    # a zombie is stopped, only not reaped yet
    [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" = Z ] && continue
    HUNG="$HUNG $p"
    kill -KILL "$p" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
  done
  kill_if_hung "${MW_PIDS[@]:-}"
  local st p q is_mw
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    st=0; wait "$p" 2>/dev/null || st=$?
    is_mw=0
    for q in "${MW_PIDS[@]:-}"; do [ "$q" = "$p" ] && is_mw=1; done
    # 127: already reaped by stop_node, which recorded its status.
    [ $is_mw = 0 ] || [ $st = 0 ] || [ $st = 127 ] || BAD_EXIT="$BAD_EXIT $p:$st"
  done
  # A sanitizer report in any node's log fails the test, whatever it checked.
  if grep -lE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$TMP"/*.log 2>/dev/null; then
    echo "FAIL: sanitizer report in a node log" >&2
    [ $rc = 0 ] || [ $rc = 77 ] && rc=1
    for f in "$TMP"/*.log; do grep -A30 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f" | head -60; done
  fi
  if [ -n "$HUNG" ]; then
    echo "FAIL: nodes did not stop within ${STOP_GRACE} s of SIGTERM and were killed:$HUNG" >&2
    { [ $rc = 0 ] || [ $rc = 77 ]; } && rc=1
  fi
  # A node that exits non-zero (a leak report exits 23) fails the test too.
  if [ -n "${BAD_EXIT:-}" ]; then
    echo "FAIL: node exit statuses: $BAD_EXIT" >&2
    { [ $rc = 0 ] || [ $rc = 77 ]; } && rc=1
  fi
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for f in "$TMP"/*.log; do
      [ -f "$f" ] && { echo "--- $f (last 30 lines)"; tail -n 30 "$f"; }
    done
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS - $*"; }

# A random loopback address, unlikely to collide with a parallel test.
rand_addr() { echo "127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"; }

# curl against a node: ucurl ADDR PATH [curl args...]; sets BODY and
# HTTP_STATUS (000 when the connection failed).
HTTP_STATUS=
BODY=
ucurl() {
  local addr=$1 path=$2; shift 2
  HTTP_STATUS=$(curl -sk --max-time 10 -o "$TMP/.body" -w '%{http_code}' "$@" "https://$addr:8443$path") || true
  BODY=$(cat "$TMP/.body" 2>/dev/null || true)
  rm -f "$TMP/.body"
}

# JSON field: jget 'expr' <<< "$json" with expr in Python, d is the object.
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# start_node NAME ADDR [extra meshwatch args...]; env vars pass through.
# The node's pid goes to PIDS and to NODE_PID; waits until /health answers.
start_node() {
  local name=$1 addr=$2; shift 2
  mkdir -p "$TMP/$name"
  ROOT_USER=${ROOT_USER-$ADMIN_USER} ROOT_PASSWORD=${ROOT_PASSWORD-$ADMIN_PASS} \
  MESHWATCH_PBKDF2_ITERATIONS=${MESHWATCH_PBKDF2_ITERATIONS:-100000} \
    "$MW" --listen "$addr:8443" --data-dir "$TMP/$name/data" --name "$name.test" "$@" \
    >>"$TMP/$name.log" 2>&1 &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  MW_PIDS+=("$NODE_PID")
  wait_healthy "$addr" 20 || fail "node $name on $addr did not answer /health"
}

wait_healthy() {
  local addr=$1 t=${2:-20} i
  for ((i = 0; i < t * 10; i++)); do
    curl -sk --max-time 1 -o /dev/null "https://$addr:8443/health" && return 0
    sleep 0.1
  done
  return 1
}

BAD_EXIT=
# kill_node PID: SIGKILL, on purpose (its status is not checked).
kill_node() {
  local pid=$1 q keep=()
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for q in "${MW_PIDS[@]:-}"; do [ "$q" = "$pid" ] || keep+=("$q"); done
  MW_PIDS=("${keep[@]:-}")
}
stop_node() {
  local pid=$1 st=0
  kill -TERM "$pid" 2>/dev/null || true
  kill_if_hung "$pid"
  wait "$pid" 2>/dev/null || st=$?
  [ $st = 0 ] || BAD_EXIT="$BAD_EXIT $pid:$st"
}

# login ADDR [user] [pass] -> prints the bearer token
login() {
  local addr=$1 u=${2:-$ADMIN_USER} p=${3:-$ADMIN_PASS}
  ucurl "$addr" /api/login -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"$u\",\"password\":\"$p\"}"
  echo "$BODY" | jget 'd["token"]'
}

# wait_finished ADDR TOKEN: until a node reading a capture file (--pcap)
# has read it to its end (up to 10 s); BODY is then its /api/stats
wait_finished() {
  local i
  for i in $(seq 100); do
    ucurl "$1" /api/stats -H "Authorization: Bearer $2"
    [ "$(echo "$BODY" | jget 'd["state"]')" = finished ] && return 0
    sleep 0.1
  done
  fail "the node on $1 did not finish reading its capture file: $BODY"
}

# expect_status WANT DESCRIPTION: checks HTTP_STATUS from the last ucurl
expect_status() {
  [ "$HTTP_STATUS" = "$1" ] || fail "$2: expected HTTP $1, got $HTTP_STATUS"
  ok "$2 ($1)"
}
