#!/usr/bin/env bash
# TCP targets across namespaces this test creates: the node in N, services
# in S (10.77.0.2) behind a veth. An open port is up, a closed one refused,
# one dropped by nftables in S times out within its timeout, an address
# behind an "unreachable" route is unreachable, and a name that cannot be
# resolved (N's resolv.conf points at a resolver that is not there) is
# dns_error. Needs root and `ip netns`; skipped otherwise. Nothing leaves
# the namespaces; they, /etc/netns/N and every process go on every exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

netns_require
command -v nft >/dev/null || skip "needs nft (nftables)"
P=mwt-$$
N=$P-n S=$P-s
BG=()
netns_before_cleanup() {
  local p
  for p in "${BG[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${BG[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
}

netns_sweep mwt
netns_add "$N" "$S"
netns_link "$N" veth-n "$S" veth-s
netns_addr "$N" veth-n 10.77.0.1/24
netns_addr "$S" veth-s 10.77.0.2/24
ip -n "$N" route add unreachable 10.88.0.0/16
# lookups in N go to a resolver on N's own loopback, where nothing listens
netns_resolv "$N" 127.0.0.1
ip netns exec "$S" nft -f - <<'NFT'
table inet mwtest {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 8082 drop
  }
}
NFT
ip netns exec "$S" python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.77.0.2', 8080)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
" &
BG+=($!)

mkdir -p "$TMP/n"
ip netns exec "$N" env ROOT_USER=$ADMIN_USER ROOT_PASSWORD=$ADMIN_PASS MESHWATCH_PBKDF2_ITERATIONS=100000 \
  "$MW" --listen 10.77.0.1:8443 --data-dir "$TMP/n/data" --name n.test >>"$TMP/n.log" 2>&1 &
NODE=$!
BG+=("$NODE")
ncurl() { # ncurl PATH [curl args]: sets BODY
  local path=$1; shift
  BODY=$(ip netns exec "$N" curl -sk --max-time 10 "$@" "https://10.77.0.1:8443$path") || BODY=
}
for _ in $(seq 100); do ncurl /health; [ -n "$BODY" ] && break; sleep 0.1; done
[ -n "$BODY" ] || fail "the node in $N did not answer /health"
ncurl /api/login -H 'Content-Type: application/json' -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}"
TOK=$(echo "$BODY" | jget 'd["token"]')
add() { # add NAME HOST PORT -> id
  ncurl /api/targets -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"host\":\"$2\",\"port\":$3,\"interval_s\":1,\"timeout_s\":0.8}"
  echo "$BODY" | jget 'd["id"]'
}
declare -A WANT
WANT[$(add open 10.77.0.2 8080)]=up
WANT[$(add closed 10.77.0.2 8081)]=refused
WANT[$(add dropped 10.77.0.2 8082)]=timeout
WANT[$(add unreachable 10.88.0.1 80)]=unreachable
WANT[$(add nameless no-such-host.mwtest 80)]=dns_error

for _ in $(seq 60); do
  ncurl /api/targets -H "Authorization: Bearer $TOK"
  got=$(echo "$BODY" | jget '" ".join("%d=%s" % (i["id"], i["state"]) for i in d["items"])')
  want=$(for id in $(printf '%s\n' "${!WANT[@]}" | sort -n); do printf '%s=%s ' "$id" "${WANT[$id]}"; done)
  [ "$got" = "${want% }" ] && break
  sleep 0.2
done
[ "$got" = "${want% }" ] || fail "states: got '$got', want '${want% }': $BODY"
ok "up, refused, timeout (nftables drop), unreachable (route) and dns_error, each as expected"
echo "$BODY" | python3 -c '
import json, sys
d = {i["name"]: i for i in json.load(sys.stdin)["items"]}
assert "800 ms" in d["dropped"]["last_error"], d["dropped"]
assert d["open"]["last_connect_ms"] > 0, d["open"]
assert d["unreachable"]["last_error"], d["unreachable"]
assert d["nameless"]["last_error"], d["nameless"]
' || fail "errors and times: $BODY"
ok "each failure carries its reason; the timeout names the target's 800 ms"
kill -TERM "$NODE"; st=0; wait "$NODE" || st=$?
[ "$st" = 0 ] || fail "node exit status $st"
echo "all $CHECKS checks passed"
