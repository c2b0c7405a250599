#!/usr/bin/env bash
# A node on an overloaded machine does not hold polls that time out against
# its peers. Both nodes here have one peer that accepts TCP and never
# answers (every poll of it times out) and run while three busy loops keep
# the two CPUs' pressure high: A (overload_cpu_pressure 1 %) records the
# failed polls, counts them as excused and keeps the peer alive; B (0: off)
# makes it suspect, then dead. Then the cap on polls in flight while
# overloaded: C (overload_poll_concurrency 1) and D (rule off) each know four
# such silent peers; a listener counts how many of C's and of D's polls are
# open at once.
. "$(dirname "$0")/lib.sh"

[ -r /proc/pressure/cpu ] || skip "the kernel reports no CPU pressure (/proc/pressure/cpu)"
A=$(rand_addr) B=$(rand_addr) H=$(rand_addr)
hang_id=abcdefab-0000-4000-8000-0000000000aa

C=$(rand_addr) D=$(rand_addr)
HC=() HD=()
for i in 1 2 3 4; do HC+=("$(rand_addr)"); HD+=("$(rand_addr)"); done
# Accepts and holds (a TLS handshake never gets an answer) on every address
# given, in groups "name=addr,addr,..."; writes the most connections each
# group had open at once to $TMP/open.json (a poll that gives up closes).
python3 - "$TMP/open.json" "h=$H" "c=$(IFS=,; echo "${HC[*]}")" "d=$(IFS=,; echo "${HD[*]}")" <<'PY' &
import json, os, selectors, socket, sys
out, sel, group, held, peak = sys.argv[1], selectors.DefaultSelector(), {}, {}, {}
for spec in sys.argv[2:]:
    name, addrs = spec.split("=")
    peak[name] = 0
    for a in addrs.split(","):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a, 8443))
        s.listen(128)
        sel.register(s, selectors.EVENT_READ, ("listen", name))
while True:
    for key, _ in sel.select():
        kind, name = key.data
        if kind == "listen":
            c, _ = key.fileobj.accept()
            sel.register(c, selectors.EVENT_READ, ("conn", name))
            held[name] = held.get(name, 0) + 1
            peak[name] = max(peak[name], held[name])
        else:
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:  # the client gave up
                sel.unregister(key.fileobj)
                key.fileobj.close()
                held[name] -= 1
    with open(out + ".tmp", "w") as f:
        json.dump(peak, f)
    os.replace(out + ".tmp", out)
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

# The cap on polls in flight: C (overloaded, cap 1) and D (no overload rule)
# each hear of four silent peers and poll them every second; each poll waits
# 700 ms for an answer that never comes.
MESHWATCH_OVERLOAD_CPU_PRESSURE=1 MESHWATCH_OVERLOAD_POLL_CONCURRENCY=1 start_node c "$C" --poll-interval 1 --log-level info
MESHWATCH_OVERLOAD_CPU_PRESSURE=0 start_node d "$D" --poll-interval 1 --log-level info
announce() { # NODE ADDR N
  ucurl "$1" /nodeinfo -H "X-Mw-Id: abcdefab-0000-4000-8000-0000000${3}000" -H "X-Mw-Fqdn: silent$3.test" \
    -H "X-Mw-Ip: $2" -H "X-Mw-Port: 8443" -H "X-Mw-Incarnation: 1"
  expect_status 200 "a silent peer announces itself"
}
for t in $(seq 1 50); do grep -q "this machine is overloaded" "$TMP/c.log" && break; sleep 0.1; done
grep -q "this machine is overloaded" "$TMP/c.log" || fail "C did not find the machine overloaded"
for i in 0 1 2 3; do announce "$C" "${HC[$i]}" "c$i"; announce "$D" "${HD[$i]}" "d$i"; done
sleep 4
read -r pc pd < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["c"], d["d"])' "$TMP/open.json")
echo "# most polls of the silent peers open at once: C (overloaded, cap 1) $pc, D (no overload rule) $pd"
[ "$pd" -ge 2 ] || fail "D never had two polls in flight ($pd): the comparison says nothing"
[ "$pc" = 1 ] || fail "C, overloaded with overload_poll_concurrency 1, had $pc polls in flight at once"
ok "overloaded: C keeps one poll in flight ($pc at most; D, not capped, had $pd)"
