#!/usr/bin/env bash
# WebSocket limits hold before memory is spent: a frame announcing 100 MB
# is refused on its header (close status 1009) and the node's peak RSS
# (VmHWM) stays flat; upgrades that fail (a 64-character
# Sec-WebSocket-Key) never keep a client slot, so a normal client still
# connects after 64 of them.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")

A=$(rand_addr)
start_node n1 "$A"
PID=$NODE_PID
TOKEN=$(login "$A")
# peak RSS (VmHWM): a frame buffered whole and freed again still shows
rss_kb() { awk '/^VmHWM:/{print $2}' "/proc/$PID/status"; }

python3 "$HERE/ws_abuse.py" "$A" "$TOKEN" normal >/dev/null || fail "a normal WebSocket client is refused"
before=$(rss_kb)
out=$(python3 "$HERE/ws_abuse.py" "$A" "$TOKEN" bigframe 100) || fail "bigframe client: $out"
after=$(rss_kb)
[ "$(echo "$out" | jget 'd["close_code"]')" = 1009 ] || fail "a frame announcing 100 MB was not refused with 1009: $out"
ok "a frame announcing 100 MB is refused on its header with close status 1009"
[ $((after - before)) -lt 16384 ] || fail "peak RSS grew from $before to $after kB for one announced 100 MB frame"
ok "peak RSS stays bounded: $before kB -> $after kB"

out=$(python3 "$HERE/ws_abuse.py" "$A" "$TOKEN" longkey 64) || fail "longkey client: $out"
bad=$(echo "$out" | jget 'sum(1 for s in d if s != "400")')
[ "$bad" = 0 ] || fail "64-character keys: expected 400 each, got $out"
ok "64 upgrades with a 64-character Sec-WebSocket-Key each get 400"
python3 "$HERE/ws_abuse.py" "$A" "$TOKEN" normal >/dev/null || fail "after 64 bad upgrades a normal client is refused (slots leaked)"
ok "after 64 bad upgrades a normal WebSocket client still connects"
for i in $(seq 1 3); do
  python3 "$HERE/ws_abuse.py" "$A" "$TOKEN" normal >/dev/null || fail "WebSocket client $i refused"
done
ok "clients that come and go never run out of slots"
ucurl "$A" /health
expect_status 200 "node healthy"
