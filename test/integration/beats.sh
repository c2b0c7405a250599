#!/usr/bin/env bash
# Beats: between HTTPS exchanges a poll is a burst of UDP beats, answered
# with the peer's state digest under a key its last exchange issued. With
# exchange_every 4 and a 1 s interval, three nodes on loopback:
# - most polls are answered by beats, each still a history row, and the
#   peer shows the last exchange's HTTPS times and when it was;
# - a change at one node (a new node joins) reaches the others through a
#   changed digest, at once rather than at the next scheduled exchange;
# - a stopped node (SIGSTOP: TCP and UDP both silent) turns suspect within
#   the same number of polls as without beats, and alive again after;
# - a restarted node (a new beat secret) is noticed: an exchange since the
#   restart brings a new ticket and it stays alive;
# - exchange_every 1 turns beats off; /nodeinfo issues a ticket only when
#   asked, and a forged beat gets no answer.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr) B=$(rand_addr) C=$(rand_addr) D=$(rand_addr)
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_EXCHANGE_EVERY=4 MESHWATCH_SUSPECT_AFTER=2 MESHWATCH_DEAD_AFTER=30 \
  MESHWATCH_POLL_TIMEOUT_MS=1000
seed() { local s="" a; for a in "$@"; do s="$s${s:+,}{\"ip\":\"$a\"}"; done; echo "{\"nodes\":[$s]}"; }
seed "$B" "$C" > "$TMP/seed-a.json"
seed "$A" > "$TMP/seed-b.json"
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
start_node a "$A" --seed "$TMP/seed-a.json"
start_node b "$B" --seed "$TMP/seed-b.json"
B_PID=$NODE_PID
start_node c "$C" --seed "$TMP/seed-b.json"
C_PID=$NODE_PID
TOK_A=$(login "$A") TOK_B=$(login "$B") TOK_C=$(login "$C")
ucurl "$B" /health; B_ID=$(echo "$BODY" | jget 'd["node_id"]')
ucurl "$C" /health; C_ID=$(echo "$BODY" | jget 'd["node_id"]')

# alive_at NODE TOKEN -> how many peers NODE shows alive
alive_at() {
  ucurl "$1" /api/nodes -H "Authorization: Bearer $2"
  echo "$BODY" | jget 'sum(1 for p in d["items"] if p["state"]=="alive")'
}
# peer NODE TOKEN ID EXPR -> EXPR over /api/nodes/ID (p), "none" when unknown
peer() {
  ucurl "$1" "/api/nodes/$3" -H "Authorization: Bearer $2"
  if [ "$HTTP_STATUS" = 200 ]; then echo "$BODY" | python3 -c "import json,sys; p=json.load(sys.stdin); print($4)"
  else echo none; fi
}
# metric NODE TOKEN SERIES -> its value (0 when absent)
metric() {
  ucurl "$1" /metrics -H "Authorization: Bearer $2"
  echo "$BODY" | awk -v s="$3" '$1 == s { v = $2 } END { print v + 0 }'
}
for t in $(seq 1 200); do
  [ "$(alive_at "$A" "$TOK_A")" = 2 ] && [ "$(alive_at "$B" "$TOK_B")" = 2 ] && break
  sleep 0.1
done
[ "$(alive_at "$A" "$TOK_A")" = 2 ] || fail "A does not see B and C alive"
[ "$(alive_at "$B" "$TOK_B")" = 2 ] || fail "B does not see A and C alive"
ok "three nodes know each other"

sleep 8
beats=$(metric "$A" "$TOK_A" 'meshwatch_poll_beats_total{result="answered"}')
polls=$(metric "$A" "$TOK_A" 'meshwatch_polls_total{result="ok"}')
failed=$(metric "$A" "$TOK_A" 'meshwatch_polls_total{result="failed"}')
echo "# A: $polls polls ok, $failed failed, $beats answered by beats"
[ "$failed" = 0 ] || fail "A has $failed failed polls on an idle mesh"
python3 -c "import sys; sys.exit(0 if $beats >= 0.5 * $polls else 1)" ||
  fail "only $beats of $polls polls were answered by beats (exchange_every 4: about 3 in 4 should be)"
ok "most polls are beats: $beats of $polls ok polls"

# the peer's view: via, the last exchange and its HTTPS times
ucurl "$A" "/api/nodes/$B_ID" -H "Authorization: Bearer $TOK_A"
echo "$BODY" | python3 -c '
import json, sys, datetime
p = json.load(sys.stdin); q = p["poll"]
assert q["via"] in ("beats", "https"), q
assert q["last_exchange"], q
ago = datetime.datetime.utcnow() - datetime.datetime.strptime(q["last_exchange"], "%Y-%m-%dT%H:%M:%SZ")
assert ago.total_seconds() <= 4 * 1 + 3, ("last exchange %s s ago, exchange_every 4 at 1 s" % ago.total_seconds(), q)
assert 0 <= q["beats_since_exchange"] < 4, q
assert q["total_ms"] is not None and q["connect_ms"] is not None, ("HTTPS times of the last exchange kept", q)
u = p["udp"]
assert u["probes"] == 3 and u["rtt_avg_ms"] is not None and u["loss"] == 0, u
' || fail "A's view of B: $BODY"
ok "A shows B's last poll (via beats or https), the last exchange within 4 intervals with its HTTPS times, RTT from 3 beats"

# a history row per interval, beats included
from=$(date -u -d '-10 sec' +%Y-%m-%dT%H:%M:%SZ) to=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ucurl "$A" "/api/nodes/$B_ID/history?from=$from&to=$to&step=1" -H "Authorization: Bearer $TOK_A"
expect_status 200 "history of B at A"
rows=$(echo "$BODY" | jget 'sum(i["polls"] for i in d["items"])')
[ "$rows" -ge 7 ] || fail "only $rows polls of B in the last 10 s at a 1 s interval: $BODY"
ok "the history keeps a row per poll: $rows in 10 s"

# loopback loses nothing: no poll since the start records loss, also not
# the first ones, which met a peer in its first second (its responder
# answers beats from the start, not only after the main loop's first turn)
ucurl "$A" /health; A_ID=$(echo "$BODY" | jget 'd["node_id"]')
for pair in "$A $B_ID $TOK_A" "$B $A_ID $TOK_B"; do
  set -- $pair
  ucurl "$1" "/api/nodes/$2/history?from=$T0&to=$to&step=1" -H "Authorization: Bearer $3"
  expect_status 200 "history since the start at $1"
  lossy=$(echo "$BODY" | jget '[(i["t"], i["polls"], i["loss"]) for i in d["items"] if i["loss"] not in (None, 0)]')
  [ "$lossy" = "[]" ] || fail "polls from $1 since the start record loss on loopback: $lossy"
done
ok "no poll since the start records loss on loopback (A to B and B to A)"

# a change: D joins through A only; B and C learn it through A's changed
# digest. Which poll meets a changed digest is chance (an exchange falls due
# every 4th poll and may come first; unit-udpprobe pins the digest in the
# acks), so this counts the stale beats of A, B and C together: every
# node's digest changes as it learns D, and each is beaten by the two others
stale_all() {
  echo $(( $(metric "$A" "$TOK_A" 'meshwatch_poll_beats_total{result="stale"}') +
    $(metric "$B" "$TOK_B" 'meshwatch_poll_beats_total{result="stale"}') +
    $(metric "$C" "$TOK_C" 'meshwatch_poll_beats_total{result="stale"}') ))
}
stale0=$(stale_all)
seed "$A" > "$TMP/seed-d.json"
start_node d "$D" --seed "$TMP/seed-d.json"
ucurl "$D" /health; D_ID=$(echo "$BODY" | jget 'd["node_id"]')
t0=$SECONDS
for t in $(seq 1 150); do [ "$(peer "$B" "$TOK_B" "$D_ID" 'p["state"]')" = alive ] && break; sleep 0.1; done
[ "$(peer "$B" "$TOK_B" "$D_ID" 'p["state"]')" = alive ] || fail "B did not learn D in 15 s"
took=$((SECONDS - t0))
for t in $(seq 1 50); do
  stale1=$(stale_all)
  [ "$stale1" -gt "$stale0" ] && break
  sleep 0.1
done
[ "$stale1" -gt "$stale0" ] || fail "D joined but no beat of A, B or C saw a changed digest ($stale0 -> $stale1)"
ok "B learns D (joined through A) in $took s; beats answered with a changed digest made exchanges at once ($stale0 -> $stale1 at A, B and C)"

# a stopped node: silent on TCP and UDP
kill -STOP "$C_PID"
t0=$SECONDS
for t in $(seq 1 150); do [ "$(peer "$A" "$TOK_A" "$C_ID" 'p["state"]')" = suspect ] && break; sleep 0.1; done
st=$(peer "$A" "$TOK_A" "$C_ID" 'p["state"]')
kill -CONT "$C_PID"
[ "$st" = suspect ] || fail "A shows a stopped C $st after 15 s"
# whether A's failed polls of C began as beats is chance (an exchange may
# have been due, and after one failed poll the next is HTTPS), so lost
# beats are reported, summed over A and B, not required
lost=$(( $(metric "$A" "$TOK_A" 'meshwatch_poll_beats_total{result="lost"}') +
  $(metric "$B" "$TOK_B" 'meshwatch_poll_beats_total{result="lost"}') ))
ok "a stopped C is suspect at A after $((SECONDS - t0)) s (suspect_after 2, 1 s polls); $lost beats to it lost at A and B fell back to HTTPS"
for t in $(seq 1 150); do [ "$(peer "$A" "$TOK_A" "$C_ID" 'p["state"]')" = alive ] && break; sleep 0.1; done
[ "$(peer "$A" "$TOK_A" "$C_ID" 'p["state"]')" = alive ] || fail "C not alive again at A"
ok "C alive again at A after SIGCONT"

# a restart: the same node, a new beat secret
lost0=$(metric "$A" "$TOK_A" 'meshwatch_poll_beats_total{result="lost"}')
inc0=$(peer "$A" "$TOK_A" "$B_ID" 'p["incarnation"]')
stop_node "$B_PID"
restart_at=$(date -u +%s)
start_node b "$B" --seed "$TMP/seed-b.json"
B_PID=$NODE_PID
for t in $(seq 1 150); do
  [ "$(peer "$A" "$TOK_A" "$B_ID" 'p["incarnation"]')" != "$inc0" ] &&
    [ "$(peer "$A" "$TOK_A" "$B_ID" 'p["state"]')" = alive ] && break
  sleep 0.1
done
[ "$(peer "$A" "$TOK_A" "$B_ID" 'p["state"]')" = alive ] || fail "A does not show the restarted B alive"
[ "$(peer "$A" "$TOK_A" "$B_ID" 'p["incarnation"]')" != "$inc0" ] || fail "A has not seen B's new incarnation"
sleep 3
[ "$(peer "$A" "$TOK_A" "$B_ID" 'p["state"]')" = alive ] || fail "the restarted B did not stay alive at A"
# A's beats after the restart stand on a ticket the new B issued: an
# exchange since the restart (the old ticket's acks no longer verify:
# unit-udpprobe), and beats again since
ucurl "$A" "/api/nodes/$B_ID" -H "Authorization: Bearer $TOK_A"
echo "$BODY" | python3 -c '
import json, sys, calendar, time
q = json.load(sys.stdin)["poll"]
t = calendar.timegm(time.strptime(q["last_exchange"], "%Y-%m-%dT%H:%M:%SZ"))
assert t >= int(sys.argv[1]), ("no exchange since the restart", q)
' "$restart_at" || fail "A has not exchanged with the restarted B: $BODY"
lost1=$(metric "$A" "$TOK_A" 'meshwatch_poll_beats_total{result="lost"}')
ok "a restarted B: an exchange since the restart brought its new incarnation and a new ticket, B alive ($lost0 -> $lost1 lost beats)"

# /nodeinfo issues a ticket when asked, and only then
ucurl "$A" /nodeinfo -H "X-Mw-Beat: 1"
expect_status 200 "/nodeinfo asking for a beat ticket"
echo "$BODY" | python3 -c '
import json, sys, re
b = json.load(sys.stdin)["beat"]
assert re.fullmatch("[0-9a-f]{16}", b["ticket"]) and re.fullmatch("[0-9a-f]{64}", b["key"]) and re.fullmatch("[0-9a-f]{16}", b["digest"]), b
' || fail "no well-formed beat ticket: $BODY"
ucurl "$A" /nodeinfo
echo "$BODY" | jget '"beat" not in d' | grep -qx True || fail "a ticket without asking: $BODY"
ok "/nodeinfo issues a beat ticket (16 + 64 + 16 hex digits) only when asked"

# a forged beat (a ticket with a key nobody holds) and a wrong-sized one: no answer
python3 - "$A" <<'EOF' || fail "a forged or malformed beat was answered"
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
beat = b"MWU1" + bytes([3, 0, 0, 1]) + os.urandom(8) + os.urandom(8) + bytes(8)
s.sendto(beat, (sys.argv[1], 8443))
try:
    ack = s.recv(100)
except socket.timeout:
    sys.exit(1)   # a beat under any ticket is answered (its mac is what a forger cannot make)
assert len(ack) == 32 and ack[4] == 4 and ack[8:16] == beat[8:16], ack
for bad in (beat[:31], beat + b"\0", b"XXXX" + beat[4:]):
    s.sendto(bad, (sys.argv[1], 8443))
    try:
        s.recv(100); sys.exit(1)
    except socket.timeout:
        pass
EOF
ok "any 32-byte beat gets one 32-byte ack (never larger); 31 or 33 bytes or a bad magic get none"

# exchange_every 1: no beats
E=$(rand_addr)
seed "$A" > "$TMP/seed-e.json"
MESHWATCH_EXCHANGE_EVERY=1 start_node e "$E" --seed "$TMP/seed-e.json"
TOK_E=$(login "$E")
sleep 5
pe=$(metric "$E" "$TOK_E" 'meshwatch_polls_total{result="ok"}')
be=$(metric "$E" "$TOK_E" 'meshwatch_poll_beats_total{result="answered"}')
[ "$pe" -gt 3 ] && [ "$be" = 0 ] || fail "exchange_every 1: $pe polls, $be beats"
ok "exchange_every 1: every poll is an HTTPS exchange ($pe polls, 0 beats)"
