#!/usr/bin/env bash
# A node on an overloaded machine does not hold polls that time out against
# its peers. Both nodes here have one peer that accepts TCP and never
# answers (every poll of it times out) and run while three busy loops keep
# the two CPUs' pressure high: A (overload_cpu_pressure 1 %) records the
# failed polls, counts them as excused and keeps the peer alive; B (0: off)
# makes it suspect, then dead.
. "$(dirname "$0")/lib.sh"

[ -r /proc/pressure/cpu ] || skip "the kernel reports no CPU pressure (/proc/pressure/cpu)"
A=$(rand_addr) B=$(rand_addr) H=$(rand_addr)
hang_id=abcdefab-0000-4000-8000-0000000000aa

python3 - "$H" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8443))
s.listen(128)
held = []
while True:  # accept and hold: a TLS handshake never gets an answer
    c, _ = s.accept()
    held.append(c)
PY
PIDS+=($!)

pressure() { awk '/^some/ {split($2, a, "="); print int(a[2])}' /proc/pressure/cpu; }
for i in 1 2 3; do
  (while :; do :; done) &
  PIDS+=($!)
done
for t in $(seq 1 100); do [ "$(pressure)" -ge 20 ] && break; sleep 0.1; done
[ "$(pressure)" -ge 20 ] || fail "three busy loops did not raise the CPU pressure (some avg10 $(pressure) %)"

export MESHWATCH_POLL_TIMEOUT_MS=700 MESHWATCH_INDIRECT_PROBES=0
MESHWATCH_OVERLOAD_CPU_PRESSURE=1 start_node a "$A" --poll-interval 1 --log-level info
MESHWATCH_OVERLOAD_CPU_PRESSURE=0 start_node b "$B" --poll-interval 1 --log-level info
for X in "$A" "$B"; do
  ucurl "$X" /nodeinfo -H "X-Mw-Id: $hang_id" -H "X-Mw-Fqdn: hang.test" -H "X-Mw-Ip: $H" -H "X-Mw-Port: 8443" -H "X-Mw-Incarnation: 1"
  expect_status 200 "a peer that never answers announces itself"
done
TOK_A=$(login "$A") TOK_B=$(login "$B")
state_of() { ucurl "$1" "/api/nodes/$hang_id" -H "Authorization: Bearer $2"; echo "$BODY" | jget 'd["state"], d["poll"]["polls_1h"], d["poll"]["consecutive_failures"]'; }
for t in $(seq 1 150); do
  sb=$(state_of "$B" "$TOK_B")
  [ "${sb%% *}" = dead ] && break
  sleep 0.1
done
sleep 2 # A goes on polling: a few more timeouts, still excused
sa=$(state_of "$A" "$TOK_A")
echo "# A: $sa; B: $sb; CPU pressure $(pressure) %"
[ "${sb%% *}" = dead ] || fail "B (no overload rule) did not make the silent peer dead: $sb"
ok "without the overload rule the silent peer is dead after its timeouts: $sb"
read -r a_state a_polls a_fails <<<"$sa"
[ "$a_state" = alive ] && [ "$a_polls" -ge 3 ] && [ "$a_fails" = 0 ] ||
  fail "A held the timeouts against the peer: $sa"
ucurl "$A" /metrics -H "Authorization: Bearer $TOK_A"
exc=$(echo "$BODY" | awk '/^meshwatch_polls_excused_total/ {print $2}')
[ "${exc:-0}" -ge 3 ] || fail "meshwatch_polls_excused_total is ${exc:-missing}"
grep -q "this machine is overloaded (CPU pressure" "$TMP/a.log" || fail "A did not log the overload"
ok "overloaded: A recorded $exc failed polls as excused, the peer stays alive ($sa), and says why in its log"
