#!/usr/bin/env bash
# Real meshwatch nodes in network namespaces this test creates:
#
#   A ──(9000)── R ──(1400)── B
#                └──(9000)── C
#
# One node in each of A, B and C (IPv4, seeds A->B->C->A, poll interval 1 s);
# R routes between them. Checked, as each node reports it through its API:
#  1. the mesh converges: every node sees the two others alive;
#  2. the path MTU of all six paths is exact (1400 through the R-B link,
#     9000 otherwise), method icmp+ack (or local where the local link is
#     the limit), no black hole;
#  3. UDP RTT is measured on every path, without loss;
#  4. IPv6 (optional part, own nodes on fd00:: addresses): the same mesh
#     converges and finds 1400 on the paths through the R-B link;
#  5. R drops ICMP "fragmentation needed": A, restarted with its data, still
#     finds exactly 1400 to B, by acks alone ("ack"), flagged as a black
#     hole, and its PMTU history of B records the change, as does a
#     black_hole event (gone -> found);
#  7. a partial partition: R drops only A<->B. A's polls of B fail, but C
#     (asked by A: an indirect probe) still reaches B, so A keeps B suspect,
#     never dead, and shows 1 of 1 vantage points reaching it; C sees B
#     alive throughout; /nodeinfo/reach answers members only, and refuses bad ids.
#  6. partition: the R-B link goes down; A and C see B suspect, then dead,
#     B sees A and C not alive (A's peer_state event names C, asked and
#     not reaching B either, in vantage_agreed); the link comes back and everyone is alive
#     again. Detection and healing times are printed.
#
# Needs root and `ip netns`; skipped otherwise. Traffic stays inside the
# namespaces (10.x and fd00:: addresses exist only there); they and every
# node are removed on every exit path.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

netns_require
# The interpreter itself, once: a version-manager shim (pyenv) can cost a
# third of a second a call, and this test makes hundreds of them.
PY=$(python3 -c 'import sys; print(sys.executable)')
jget() { "$PY" -S -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

P=mwm-$$
NS_A=$P-a NS_R=$P-r NS_B=$P-b NS_C=$P-c
PORT=8443
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=3 \
  MESHWATCH_DEAD_POLL_EVERY=2 MESHWATCH_POLL_TIMEOUT_MS=3000
T_START=$(date +%s.%N)

# stop_ns_node PID: SIGTERM, up to 15 s for a clean exit (status recorded
# for lib.sh's check, like stop_node), then SIGKILL.
stop_ns_node() {
  local pid=$1 st=0 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "# node $pid did not exit 15 s after SIGTERM: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
    BAD_EXIT="$BAD_EXIT $pid:hung"
  fi
  wait "$pid" 2>/dev/null || st=$?
  [ $st = 0 ] || [ $st = 127 ] || BAD_EXIT="$BAD_EXIT $pid:$st"
  return 0
}

# netns.sh deletes the namespaces first; then the nodes: SIGTERM and their
# exit status checked, or SIGKILL when the test itself was interrupted. A
# node keeps its namespace until it exits anyway.
netns_after_cleanup() {
  local p
  for p in "${MW_PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    if [ $INTERRUPTED = 1 ]; then
      kill -KILL "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    else
      stop_ns_node "$p"
    fi
  done
}

netns_sweep mwm
netns_add "$NS_A" "$NS_R" "$NS_B" "$NS_C"
netns_link "$NS_A" a0 "$NS_R" ra 9000
netns_link "$NS_R" rb "$NS_B" b0 1400
netns_link "$NS_R" rc "$NS_C" c0 9000

V4_A=10.78.1.2 V4_B=10.78.2.2 V4_C=10.78.3.2
V6_A=fd00:78:1::2 V6_B=fd00:78:2::2 V6_C=fd00:78:3::2
netns_addr "$NS_A" a0 $V4_A/24;      netns_addr "$NS_A" a0 $V6_A/64 nodad
netns_addr "$NS_R" ra 10.78.1.1/24;  netns_addr "$NS_R" ra fd00:78:1::1/64 nodad
netns_addr "$NS_R" rb 10.78.2.1/24;  netns_addr "$NS_R" rb fd00:78:2::1/64 nodad
netns_addr "$NS_B" b0 $V4_B/24;      netns_addr "$NS_B" b0 $V6_B/64 nodad
netns_addr "$NS_R" rc 10.78.3.1/24;  netns_addr "$NS_R" rc fd00:78:3::1/64 nodad
netns_addr "$NS_C" c0 $V4_C/24;      netns_addr "$NS_C" c0 $V6_C/64 nodad
ip -n "$NS_A" route add default via 10.78.1.1
ip -n "$NS_A" -6 route add default via fd00:78:1::1
ip -n "$NS_B" route add default via 10.78.2.1
ip -n "$NS_B" -6 route add default via fd00:78:2::1
ip -n "$NS_C" route add default via 10.78.3.1
ip -n "$NS_C" -6 route add default via fd00:78:3::1
ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
  net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 >/dev/null
ok "namespaces $NS_A $NS_R $NS_B $NS_C: A-R 9000, R-B 1400, R-C 9000"

# Node bookkeeping, by key (a b c for IPv4, a6 b6 c6 for IPv6).
declare -A NS IP HOST NPID TOK ID NAME
for k in a b c; do
  K=${k^^}
  NS[$k]=$(eval echo "\$NS_$K");  IP[$k]=$(eval echo "\$V4_$K");  HOST[$k]=${IP[$k]}
  NS[${k}6]=${NS[$k]};            IP[${k}6]=$(eval echo "\$V6_$K"); HOST[${k}6]="[${IP[${k}6]}]"
  NAME[$k]=$k.test;               NAME[${k}6]=${k}6.test
done

# seed KEY NEXT: KEY's seed file names NEXT.
seed() {
  echo "{\"nodes\":[{\"fqdn\":\"${NAME[$2]}\",\"ip\":\"${IP[$2]}\",\"port\":$PORT}]}" >"$TMP/seed-$1.json"
}

# nscurl KEY PATH [curl args]: curl from inside KEY's namespace to its
# node; sets BODY and HTTP_STATUS (000 when the connection failed).
nscurl() {
  local k=$1 path=$2; shift 2
  HTTP_STATUS=$(ip netns exec "${NS[$k]}" curl -sk --max-time 15 -o "$TMP/.body-$k" -w '%{http_code}' "$@" \
    "https://${HOST[$k]}:$PORT$path") || true
  BODY=$(cat "$TMP/.body-$k" 2>/dev/null || true)
  rm -f "$TMP/.body-$k"
}
api() { local k=$1 path=$2; shift 2; nscurl "$k" "$path" -H "Authorization: Bearer ${TOK[$k]}" "$@"; }

# start_ns_node KEY [extra env assignments...]: the node in its namespace,
# in the background, with its data in $TMP/KEY/data; waits for /health.
start_ns_node() {
  local k=$1 i; shift
  mkdir -p "$TMP/$k"
  ip netns exec "${NS[$k]}" env ROOT_USER=$ADMIN_USER ROOT_PASSWORD=$ADMIN_PASS \
    MESHWATCH_PBKDF2_ITERATIONS=100000 "$@" \
    "$MW" --listen "${HOST[$k]}:$PORT" --data-dir "$TMP/$k/data" --name "${NAME[$k]}" \
    --seed "$TMP/seed-$k.json" --advertise "${IP[$k]}" >>"$TMP/$k.log" 2>&1 &
  NPID[$k]=$!
  PIDS+=("${NPID[$k]}")
  MW_PIDS+=("${NPID[$k]}")
}
wait_ns_node() {
  local k=$1 i
  for ((i = 0; i < 300; i++)); do
    nscurl "$k" /health --max-time 1
    [ "$HTTP_STATUS" = 200 ] && break
    kill -0 "${NPID[$k]}" 2>/dev/null || fail "node $k exited at start (see $k.log)"
    sleep 0.1
  done
  [ "$HTTP_STATUS" = 200 ] || fail "node $k on ${HOST[$k]} did not answer /health in 30 s"
  ID[$k]=$(jget 'd["node_id"]' <<<"$BODY")
  nscurl "$k" /api/login -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}"
  [ "$HTTP_STATUS" = 200 ] || fail "login on node $k: HTTP $HTTP_STATUS $BODY"
  TOK[$k]=$(jget 'd["token"]' <<<"$BODY")
}

seed a b; seed b c; seed c a
seed a6 b6; seed b6 c6; seed c6 a6
for k in a b c a6 b6 c6; do start_ns_node "$k"; done
for k in a b c a6 b6 c6; do wait_ns_node "$k"; done
T_UP=$(date +%s.%N)
ok "six nodes up: IPv4 ${IP[a]} ${IP[b]} ${IP[c]}, IPv6 ${IP[a6]} ${IP[b6]} ${IP[c6]}"

since() { "$PY" -S -c "import sys; print('%.1f' % ($(date +%s.%N) - $1))"; }

# peers KEY: one line per peer, sorted by fqdn: "fqdn id ip state"
peers() {
  api "$1" /api/nodes
  [ "$HTTP_STATUS" = 200 ] || { echo "HTTP $HTTP_STATUS"; return; }
  jget '"\n".join("%s %s %s %s" % (p["fqdn"], p["id"], p["ip"], p["state"]) for p in sorted(d["items"], key=lambda p: p["fqdn"] or ""))' <<<"$BODY" 2>/dev/null ||
    echo "BADJSON"
}
# want_peers KEY OTHER1 OTHER2 STATE: the exact line peers KEY must print
want_peers() {
  printf '%s %s %s %s\n%s %s %s %s' "${NAME[$2]}" "${ID[$2]}" "${IP[$2]}" "$4" \
    "${NAME[$3]}" "${ID[$3]}" "${IP[$3]}" "$4"
}
# converged K1 K2 K3: each of the three sees the two others alive
converged() {
  [ "$(peers "$1")" = "$(want_peers "$1" "$2" "$3" alive)" ] &&
    [ "$(peers "$2")" = "$(want_peers "$2" "$1" "$3" alive)" ] &&
    [ "$(peers "$3")" = "$(want_peers "$3" "$1" "$2" alive)" ]
}
wait_converged() {  # wait_converged SECONDS K1 K2 K3
  local t=$1 end k; shift
  end=$(( $(date +%s) + t ))
  while [ "$(date +%s)" -lt $end ]; do
    converged "$@" && return 0
    sleep 0.2
  done
  for k in "$@"; do echo "# $k sees:"; peers "$k" | sed 's/^/#   /'; done
  return 1
}

# 1. convergence (IPv4)
wait_converged 25 a b c || fail "IPv4 mesh did not converge within 25 s of the nodes being up"
ok "IPv4: every node sees the two others alive, $(since "$T_UP") s after all were up"

# pmtu_of KEY PEER: "value method black_hole measured_at" of KEY's view of PEER
pmtu_of() {
  api "$1" "/api/nodes/${ID[$2]}"
  [ "$HTTP_STATUS" = 200 ] || { echo "HTTP $HTTP_STATUS"; return; }
  jget '"%s %s %s %s" % (d["pmtu"]["value"], d["pmtu"]["method"], d["pmtu"]["black_hole"], d["pmtu"]["measured_at"])' <<<"$BODY" 2>/dev/null ||
    echo "BADJSON"
}
# check_pmtu KEY PEER VALUE METHODS (a|b): waits up to 15 s for a result
check_pmtu() {
  local k=$1 p=$2 want=$3 methods=$4 got i
  for ((i = 0; i < 75; i++)); do
    got=$(pmtu_of "$k" "$p")
    [ "${got%% *}" != None ] && [ "${got%% *}" != HTTP ] && break
    sleep 0.2
  done
  set -- $got - - - -
  echo "# ${k^^}->${p^^}: pmtu $got"
  [ "$1" = "$want" ] || fail "${k^^}->${p^^}: path MTU $1, want $want ($got)"
  [[ "|$methods|" == *"|$2|"* ]] || fail "${k^^}->${p^^}: method $2, want $methods"
  [ "$3" = False ] || fail "${k^^}->${p^^}: black_hole $3, want false"
  ok "${k^^}->${p^^}: path MTU $1, method $2, no black hole"
}

# 2. exact path MTU on all six paths. Through the 1400 link from a 9000
# link, only R's ICMP (confirmed by acks) can tell: icmp+ack required.
check_pmtu a b 1400 "icmp+ack"
check_pmtu a c 9000 "local|icmp+ack"
check_pmtu b a 1400 "local|icmp+ack"
check_pmtu b c 1400 "local|icmp+ack"
check_pmtu c a 9000 "local|icmp+ack"
check_pmtu c b 1400 "icmp+ack"

# 3. UDP RTT and loss on each path (the last poll's burst)
udp_of() {
  api "$1" "/api/nodes/${ID[$2]}"
  jget '"%s %s %s" % (d["udp"]["rtt_avg_ms"], None if d["udp"]["loss"] is None else float(d["udp"]["loss"]), d["udp"]["probes"])' <<<"$BODY" 2>/dev/null ||
    echo "BADJSON - -"
}
for kp in a:b a:c b:a b:c c:a c:b; do
  k=${kp%:*} p=${kp#*:}
  for ((i = 0; i < 15; i++)); do
    u=$(udp_of "$k" "$p")
    set -- $u - - -
    [ "$1" != None ] && [ "$2" = 0.0 ] && [ "$3" != 0 ] && break
    sleep 0.2
  done
  [ "$1" != None ] || fail "${k^^}->${p^^}: no UDP RTT ($u)"
  "$PY" -S -c "import sys; sys.exit(0 if $1 > 0 else 1)" || fail "${k^^}->${p^^}: UDP RTT $1 ms, want > 0"
  [ "$2" = 0.0 ] || fail "${k^^}->${p^^}: UDP loss $2 on a healthy path"
  ok "${k^^}->${p^^}: UDP RTT avg $1 ms, loss $2 ($3 probes)"
done

# 4. IPv6: its own three nodes, started with the others
if wait_converged 15 a6 b6 c6; then
  ok "IPv6: every node sees the two others alive"
else
  fail "IPv6 mesh did not converge"
fi
check_pmtu a6 b6 1400 "icmp+ack"
check_pmtu a6 c6 9000 "local|icmp+ack"
check_pmtu b6 a6 1400 "local|icmp+ack"
check_pmtu c6 b6 1400 "icmp+ack"
for k in a6 b6 c6; do stop_ns_node "${NPID[$k]}"; done
[ -z "$BAD_EXIT" ] || fail "IPv6 nodes' exit statuses on SIGTERM:$BAD_EXIT"
ok "IPv6 nodes stopped cleanly"

# 5. R stops reporting "too big": A->B becomes an ICMP black hole.
command -v nft >/dev/null 2>&1 || fail "nft not found (install nftables)"
ip netns exec "$NS_R" nft -f - <<'EOF' || fail "nft rules in R"
table inet mwm {
  chain icmp_out {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed counter drop
    icmpv6 type packet-too-big counter drop
  }
  chain icmp_fwd {
    type filter hook forward priority 0; policy accept;
    icmp type destination-unreachable icmp code frag-needed drop
    icmpv6 type packet-too-big drop
  }
}
EOF
ok "R drops ICMP fragmentation-needed and packet-too-big"

# A again, with its data, and a PMTU interval of 10 s: it measures the path
# MTU again on first contact, or (if it restores the last one measured)
# once that one is 10 s old.
stop_ns_node "${NPID[a]}"
[ -z "$BAD_EXIT" ] || fail "node A exit status on SIGTERM:$BAD_EXIT"
t_restart=$(date +%s)
start_ns_node a MESHWATCH_PMTU_INTERVAL=10
wait_ns_node a
got=
for ((i = 0; i < 200; i++)); do  # up to 40 s: interval, then a search that waits out silent probes
  got=$(pmtu_of a b)
  set -- $got - - - -
  if [ "$1" != None ] && [ "$1" != HTTP ] && [ "$4" != None ]; then
    m_at=$("$PY" -S -c "import datetime; print(int(datetime.datetime.fromisoformat('$4'.replace('Z','+00:00')).timestamp()))")
    [ "$m_at" -ge "$t_restart" ] && break
  fi
  sleep 0.2
done
echo "# A->B after restart, ICMP dropped: pmtu $got ($(since "$t_restart") s after the restart)"
set -- $got - - - -
[ "${m_at:-0}" -ge "$t_restart" ] || fail "A did not measure the path MTU to B again after its restart ($got)"
[ "$1" = 1400 ] || fail "A->B through the black hole: path MTU $1, want 1400"
[ "$2" = ack ] || fail "A->B through the black hole: method $2, want ack"
[ "$3" = True ] || fail "A->B through the black hole: black_hole $3, want true"
ok "A->B through the ICMP black hole: path MTU $1, method $2, black hole flagged"
# the change is an event on A: black_hole gone -> found, a warning
for ((i = 0; i < 15; i++)); do
  api a "/api/events?kind=black_hole&subject=${ID[b]}"
  bh=$(jget '" ".join("%s>%s/%s/%s" % (e["old"], e["new"], e["severity"], e["evidence"]["pmtu"]) for e in reversed(d["items"]))' <<<"$BODY")
  [ -n "$bh" ] && break
  sleep 0.2
done
[ "$bh" = "gone>found/warning/1400" ] || fail "A's black_hole events for B: '$bh', want gone>found/warning/1400"
ok "A's black_hole event for B: $bh"
rules=$(ip netns exec "$NS_R" nft list chain inet mwm icmp_out)
v4drops=$(sed -n 's/.*frag-needed counter packets \([0-9]*\).*/\1/p' <<<"$rules")
[ "${v4drops:-0}" -gt 0 ] || fail "R dropped no ICMP frag-needed (counter: ${v4drops:-none}): no black hole was tested"
ok "R dropped $v4drops ICMP frag-needed errors"

# The history is written by the main thread's next flush (once a second),
# as poll rows are: the current value may be ahead of it for that long.
for ((i = 0; i < 15; i++)); do
  api a "/api/nodes/${ID[b]}/pmtu"
  [ "$HTTP_STATUS" = 200 ] || fail "GET /api/nodes/{B}/pmtu on A: HTTP $HTTP_STATUS $BODY"
  hist=$(jget '" ".join("%s/%s/%s" % (e["value"], e["method"], e["black_hole"]) for e in sorted(d["items"], key=lambda e: e["measured_at"]))' <<<"$BODY")
  [ "${hist##* }" = 1400/ack/True ] && break
  sleep 0.2
done
echo "# A's PMTU history of B (oldest first): $hist"
cur=$(jget '"%s/%s/%s" % (d["current"].get("value"), d["current"].get("method"), d["current"].get("black_hole"))' <<<"$BODY")
[ "$cur" = 1400/ack/True ] || fail "A's current PMTU of B: $cur, want 1400/ack/True ($BODY)"
[[ " $hist " == *" 1400/icmp+ack/False "* ]] || fail "A's PMTU history of B lacks the first measurement 1400/icmp+ack/False: $hist"
[ "${hist##* }" = 1400/ack/True ] || fail "A's PMTU history of B does not end with the black hole (1400/ack/True): $hist"
ok "A's PMTU history of B records the change: $hist"
# Known node bug (reported, not failed on: it takes a race): when A's first
# poll of B from its remembered peers is still in flight as the seed
# placeholder for the same address is polled, both run a PMTU search and
# both record a row, so the black hole may be listed twice.
nbh=$(grep -o '1400/ack/True' <<<"$hist" | wc -l)
[ "$nbh" = 1 ] || echo "# note: the black-hole row is recorded $nbh times (duplicate PMTU search after a restart)"

ip netns exec "$NS_R" nft delete table inet mwm || fail "removing the nft rules"
# A once more, with the default PMTU interval: no search of 10 s through a
# black hole may hold up its polls of B in the partition below.
stop_ns_node "${NPID[a]}"
[ -z "$BAD_EXIT" ] || fail "node A exit status on SIGTERM:$BAD_EXIT"
start_ns_node a
wait_ns_node a
wait_converged 20 a b c || fail "IPv4 mesh did not converge again within 20 s of A's restart"
ok "mesh converged again after A's restart"

# 6. partition: R-B down. The API shows the end states; when each node
# changed its mind comes from its own log (millisecond timestamps), which
# a loaded machine cannot blur the way polling the API would.
state_of() {  # state_of KEY PEER
  api "$1" "/api/nodes/${ID[$2]}"
  { [ "$HTTP_STATUS" = 200 ] && jget 'd["state"]' <<<"$BODY" 2>/dev/null; } || echo "HTTP$HTTP_STATUS"
}
# transition KEY PEER FROM TO SINCE: seconds after SINCE (epoch) at which
# KEY's log first shows PEER going FROM -> TO (FROM may be a regex), or
# "never".
transition() {
  "$PY" -S - "$TMP/$1.log" "${ID[$2]}" "$3" "$4" "$5" <<'PY'
import datetime, re, sys
log, pid, frm, to, since = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
pat = re.compile(r"^(\S+Z) .*\[mesh\] peer %s \(.*\) (%s) -> %s:" % (re.escape(pid), frm, to))
for line in open(log, errors="replace"):
    m = pat.match(line)
    if m:
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        if t >= since:
            print("%.1f" % (t - since)); sys.exit(0)
print("never")
PY
}
within() { [ "$1" != never ] && "$PY" -S -c "import sys; sys.exit(0 if $1 <= $2 else 1)"; }

t0=$(date +%s.%N)
ip -n "$NS_R" link set rb down
end=$(( $(date +%s) + 20 ))
while [ "$(date +%s)" -lt $end ]; do
  sab=$(state_of a b) scb=$(state_of c b) sba=$(state_of b a) sbc=$(state_of b c)
  [ "$sab" = dead ] && [ "$scb" = dead ] && [ "$sba" != alive ] && [ "$sbc" != alive ] && break
  sleep 0.2
done
t_seen=$(since "$t0")
echo "# $t_seen s after R-B down, API: A sees B $sab, C sees B $scb, B sees A $sba and C $sbc"
a_sus=$(transition a b alive suspect "$t0") a_dead=$(transition a b suspect dead "$t0")
c_sus=$(transition c b alive suspect "$t0") c_dead=$(transition c b suspect dead "$t0")
b_a=$(transition b a alive 'suspect|dead' "$t0") b_c=$(transition b c alive 'suspect|dead' "$t0")
echo "# detection (s after link down, from the logs): A: B suspect $a_sus, dead $a_dead;" \
  "C: B suspect $c_sus, dead $c_dead; B: A not alive $b_a, C not alive $b_c"
[ "$sab" = dead ] && [ "$scb" = dead ] || fail "partition: A sees B $sab, C sees B $scb 20 s after R-B down, want dead"
[ "$sba" != alive ] && [ "$sbc" != alive ] || fail "partition: B still sees A $sba, C $sbc 20 s after R-B down"
for x in a c; do
  sus=${x}_sus dead=${x}_dead
  [ "${!sus}" != never ] || fail "partition: ${x^^} never logged B alive -> suspect"
  [ "${!dead}" != never ] || fail "partition: ${x^^} never logged B suspect -> dead"
  within "${!dead}" 10 || fail "partition: ${x^^} took ${!dead} s to see B dead, want <= 10 s"
done
within "$b_a" 10 && within "$b_c" 10 || fail "partition: B took $b_a / $b_c s to see A / C not alive, want <= 10 s"
[ "$(state_of a c)" = alive ] && [ "$(state_of c a)" = alive ] || fail "partition of B: A and C do not see each other alive"
ok "partition detected: B suspect/dead after $a_sus/$a_dead s on A, $c_sus/$c_dead s on C; B sees A, C not alive after $b_a/$b_c s"
# A's event for B going dead names the vantage point that agreed: C, asked
# whether it reaches B, could not either
for ((i = 0; i < 15; i++)); do
  api a "/api/events?kind=peer_state&subject=${ID[b]}&limit=50"
  agreed=$(jget '[e["evidence"].get("vantage_agreed") for e in d["items"] if e["new"] == "dead"]' <<<"$BODY")
  [ "$agreed" != "[]" ] && break
  sleep 0.2
done
[ "$agreed" = "[['${NAME[c]}']]" ] || fail "A's peer_state dead event for B: vantage_agreed $agreed, want [['${NAME[c]}']] ($BODY)"
ok "A's peer_state event for B dead names C in vantage_agreed"

t1=$(date +%s.%N)
ip -n "$NS_R" link set rb up
wait_converged 15 a b c || fail "mesh not healed 15 s after the R-B link came back"
heal=$(since "$t1")
h_ab=$(transition a b dead alive "$t1") h_cb=$(transition c b dead alive "$t1")
h_ba=$(transition b a 'suspect|dead' alive "$t1") h_bc=$(transition b c 'suspect|dead' alive "$t1")
echo "# healing (s after link up, from the logs): A: B alive $h_ab; C: B alive $h_cb; B: A alive $h_ba, C alive $h_bc"
ok "partition healed: everyone alive again (API) ${heal} s after the link came back"

# 7. partial partition: only A<->B is cut, C reaches both.
ip netns exec "$NS_R" nft -f - <<NFT || fail "nft on R"
table inet mwpart {
  chain cut {
    type filter hook forward priority 0; policy accept;
    ip saddr ${IP[a]} ip daddr ${IP[b]} drop
    ip saddr ${IP[b]} ip daddr ${IP[a]} drop
  }
}
NFT
t2=$(date +%s.%N)
vantage_of() {  # vantage_of KEY PEER: "state asked reached agree"
  api "$1" "/api/nodes/${ID[$2]}"
  jget '"%s %s %s %s" % (d["state"], d["vantage"]["asked"], d["vantage"]["reached"], d["vantage"]["agree"])' <<<"$BODY" 2>/dev/null ||
    echo "HTTP$HTTP_STATUS"
}
seen=""
end=$(( $(date +%s) + 15 ))
while [ "$(date +%s)" -lt $end ]; do
  v=$(vantage_of a b)
  case "$v" in dead*) nscurl c "/nodeinfo/reach?id=${ID[b]}"
    fail "partial partition: A declared B dead although C reaches it ($v); C now says: $HTTP_STATUS $BODY" ;; esac
  [ "$v" = "suspect 1 1 0" ] && seen=$v
  sleep 0.3
done
[ -n "$seen" ] || fail "partial partition: A never showed B suspect with 1 of 1 vantage points reaching it (last: $v)"
[ "$(state_of c b)" = alive ] || fail "partial partition: C does not see B alive"
[ "$(transition a b suspect dead "$t2")" = never ] || fail "partial partition: A's log shows B going dead"
grep -q "fails from here: 1 of 1 other nodes asked reach it" "$TMP/a.log" || fail "partial partition: A's log does not say C reaches B"
ok "partial partition A<->B: A keeps B suspect for 15 s, 1 of 1 vantage point (C) reaches it; C sees B alive"
# asked from A's namespace (A's own address) in A's name: an alive member of C's mesh
reach_from_a() {
  HTTP_STATUS=$(ip netns exec "${NS[a]}" curl -sk --max-time 15 -o "$TMP/.body-ra" -w '%{http_code}' "$@" \
    "https://${HOST[c]}:$PORT/nodeinfo/reach?id=$RID") || true
  BODY=$(cat "$TMP/.body-ra" 2>/dev/null || true)
  rm -f "$TMP/.body-ra"
}
RID=${ID[b]} reach_from_a -H "X-Mw-Id: ${ID[a]}"
[ "$HTTP_STATUS" = 200 ] && [ "$(jget 'd["reached"]' <<<"$BODY")" = True ] || fail "reach asked by A of C: $HTTP_STATUS $BODY"
jget 'sorted(d.keys()) == ["id", "reached"]' <<<"$BODY" | grep -q True || fail "reach tells more than reached: $BODY"
RID=not-a-uuid reach_from_a -H "X-Mw-Id: ${ID[a]}"
[ "$HTTP_STATUS" = 400 ] || fail "reach with a bad id: $HTTP_STATUS $BODY"
RID=00000000-0000-4000-8000-000000000000 reach_from_a -H "X-Mw-Id: ${ID[a]}"
[ "$HTTP_STATUS" = 404 ] || fail "reach with an unknown id: $HTTP_STATUS $BODY"
nscurl c "/nodeinfo/reach?id=${ID[b]}"
[ "$HTTP_STATUS" = 403 ] || fail "reach asked by a non-member: $HTTP_STATUS $BODY"
RID=${ID[b]} reach_from_a -H "X-Mw-Id: ${ID[b]}"
[ "$HTTP_STATUS" = 403 ] || fail "reach asked in B's name from A's address: $HTTP_STATUS $BODY"
ok "/nodeinfo/reach: 200 reached (and nothing more) for a known peer, 400 bad id, 404 unknown id, 403 for a non-member or a member's id from another address"
ip netns exec "$NS_R" nft delete table inet mwpart
wait_converged 15 a b c || fail "mesh not whole again 15 s after the partial partition ended"
ok "partial partition healed"

echo "# all checks passed ($CHECKS) in $(since "$T_START") s"
