#!/usr/bin/env bash
# Discovery on a namespace subnet this test builds: a switch namespace
# with a bridge, a scanner namespace running the node (10.79.0.1/24), and
# three host namespaces on the same /24 with known services:
#
#   H1 10.79.0.11  HTTP on 80 (title "Alpha dashboard", Server alphad/1.0),
#                  an SSH banner on 22, nothing on 23 (closed)
#   H2 10.79.0.12  HTTP on 8080 (Server nginx/1.22), an SMTP greeting on 25,
#                  3306 and 5432 listening but silently dropped by nftables,
#                  6379 rejected with ICMP admin-prohibited (both filtered)
#   H3 10.79.0.13  HTTPS on 443 (self-signed certificate CN=tls.gamma.test),
#                  MAC b8:27:eb:00:00:13 (an OUI of the IEEE registry)
#   10.79.0.9, .10 and .14 are unused (no host answers ARP)
#
# Checked, through the node's API: the scan (default scan_subnets = the
# connected /24) finds exactly the open ports, names the services, tells
# closed and filtered apart, finds the vendor (when ieee-data is
# installed), takes host names from services when reverse DNS has none;
# reverse DNS stays inside the namespace (its resolv.conf points at
# 127.0.0.1); a subnet outside the connected one is refused; a second scan
# after stopping H1's SSH and taking H3 off the network records
# port_closed and host_gone; a scan without subnets is refused (409,
# naming the connected /24 and its interface) until confirmed.
#
# Needs root and `ip netns`; skipped otherwise. Every namespace, process
# and /etc/netns file it makes is removed on every exit path.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

. "$(dirname "$0")/netns.sh"
netns_require
command -v nft >/dev/null 2>&1 || skip "needs nft (nftables)"
command -v openssl >/dev/null 2>&1 || skip "needs openssl for the test certificate"
PY=$(python3 -c 'import sys; print(sys.executable)')
jget() { "$PY" -S -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

P=mwd-$$
NS_SW=$P-sw NS_S=$P-s NS_H1=$P-h1 NS_H2=$P-h2 NS_H3=$P-h3

netns_before_cleanup() {
  local p
  for p in "${MW_PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    if [ $INTERRUPTED = 1 ]; then kill -KILL "$p" 2>/dev/null || true; else kill -TERM "$p" 2>/dev/null || true; fi
  done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
}

netns_sweep mwd
netns_add "$NS_SW" "$NS_S" "$NS_H1" "$NS_H2" "$NS_H3"
ip -n "$NS_SW" link add br0 type bridge
ip -n "$NS_SW" link set br0 up
# port NS IF ADDR [MAC]: a veth from NS into the bridge
port() {
  netns_link "$1" "$2" "$NS_SW" "p-$2" "" down
  [ -z "${4:-}" ] || ip -n "$1" link set "$2" address "$4"
  ip -n "$NS_SW" link set "p-$2" master br0 up
  netns_addr "$1" "$2" "$3/24"
  netns_up "$1" "$2"
}
port "$NS_S" s0 10.79.0.1
port "$NS_H1" h1 10.79.0.11
port "$NS_H2" h2 10.79.0.12
port "$NS_H3" h3 10.79.0.13 b8:27:eb:00:00:13
# reverse lookups from the node's namespace go to 127.0.0.1 (nothing
# listens): they fail at once and never leave the machine
netns_resolv "$NS_S" 127.0.0.1
ok "namespaces: switch, scanner 10.79.0.1 and hosts .11 .12 .13 on one /24"

ip netns exec "$NS_H2" nft -f - <<'NFT' || fail "nftables rules in H2"
table inet mwtest {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport { 3306, 5432 } drop
    tcp dport 6379 reject with icmpx type admin-prohibited
  }
}
NFT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=tls.gamma.test" -days 2 \
  -keyout "$TMP/tls.key" -out "$TMP/tls.crt" >/dev/null 2>&1 || fail "openssl could not make the test certificate"

# svc NS ADDR SPEC...: test services in a namespace; the pid goes to SVC
svc() {
  local ns=$1 addr=$2 out; shift 2
  out="$TMP/svc-$ns-$RANDOM.out"
  ip netns exec "$ns" "$PY" "$HERE/discovery_services.py" "$addr" "$@" >"$out" 2>&1 &
  SVC=$!
  PIDS+=("$SVC")
  for _ in $(seq 50); do grep -q ready "$out" && return 0; sleep 0.1; done
  fail "test services in $ns did not start: $(cat "$out")"
}
svc "$NS_H1" 10.79.0.11 "http:80:Alpha dashboard:alphad/1.0"
svc "$NS_H1" 10.79.0.11 "banner:22:SSH-2.0-OpenSSH_9.2p1 Debian-2"
H1_SSH=$SVC
svc "$NS_H2" 10.79.0.12 "http:8080:Beta panel:nginx/1.22" "banner:25:220 mail.beta.test ESMTP Postfix (Debian)" \
  "tarpit:3306" "tarpit:5432" "tarpit:6379"
svc "$NS_H3" 10.79.0.13 "tls:443:$TMP/tls.crt:$TMP/tls.key:Gamma secure"
ok "services: HTTP, SSH and SMTP banners, HTTPS, nftables drop and reject"

# The node, in the scanner namespace (default scan_subnets: the /24).
mkdir -p "$TMP/n"
ip netns exec "$NS_S" env ROOT_USER=$ADMIN_USER ROOT_PASSWORD=$ADMIN_PASS MESHWATCH_PBKDF2_ITERATIONS=100000 \
  MESHWATCH_SCAN_TIMEOUT_MS=700 MESHWATCH_SCAN_BANNER_MS=500 \
  "$MW" --listen 10.79.0.1:8443 --data-dir "$TMP/n/data" --name scanner.test >>"$TMP/n.log" 2>&1 &
NODE=$!
PIDS+=("$NODE")
MW_PIDS+=("$NODE")
nscurl() {
  local path=$1; shift
  HTTP_STATUS=$(ip netns exec "$NS_S" curl -sk --max-time 15 -o "$TMP/.body" -w '%{http_code}' "$@" \
    "https://10.79.0.1:8443$path") || true
  BODY=$(cat "$TMP/.body" 2>/dev/null || true)
  rm -f "$TMP/.body"
}
for _ in $(seq 200); do nscurl /health --max-time 1; [ "$HTTP_STATUS" = 200 ] && break; sleep 0.1; done
[ "$HTTP_STATUS" = 200 ] || fail "the node did not answer /health"
nscurl /api/login -X POST -H 'Content-Type: application/json' -d "{\"username\":\"$ADMIN_USER\",\"password\":\"$ADMIN_PASS\"}"
TOKEN=$(echo "$BODY" | jget 'd["token"]')
api() { local m=$1 p=$2; shift 2; nscurl "$p" -X "$m" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
scan() { # scan BODY: runs a scan to its end; prints the final scan object
  local id st i
  api POST /api/scans -d "$1"
  [ "$HTTP_STATUS" = 201 ] || fail "POST /api/scans: $HTTP_STATUS $BODY"
  id=$(echo "$BODY" | jget 'd["id"]')
  for ((i = 0; i < 600; i++)); do
    api GET "/api/scans/$id"
    st=$(echo "$BODY" | jget 'd["state"]')
    case $st in completed|failed|cancelled) echo "$BODY"; return 0 ;; esac
    sleep 0.1
  done
  fail "scan $id did not finish: $BODY"
}
PORTS='[22,23,25,80,443,3306,5432,6379,8080]'

api POST /api/scans -d '{"subnets":["10.80.0.0/24"]}'
[ "$HTTP_STATUS" = 400 ] && grep -q "10.80.0.0/24 is outside" <<<"$BODY" || fail "a foreign subnet: $HTTP_STATUS $BODY"
ok "a subnet outside the connected /24 is refused (400 naming it)"

t0=$(date +%s.%N)
S=$(scan "{\"subnets\":[\"10.79.0.8/29\"],\"ports\":$PORTS}")
t1=$(date +%s.%N)
[ "$(echo "$S" | jget 'd["state"]')" = completed ] || fail "scan: $S"
[ "$(echo "$S" | jget '(d["progress"]["hosts_total"], d["progress"]["hosts_done"], d["progress"]["hosts_up"])')" = "(6, 6, 3)" ] ||
  fail "scan progress: $S"
ID=$(echo "$S" | jget 'd["id"]')
echo "# scan of 6 addresses x 9 ports took $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?") s"
ok "scan $ID completed: 6 addresses, 3 hosts up"

api GET "/api/scans/$ID/results?limit=1000"
R=$BODY
state_of() { echo "$R" | jget "sorted(x['ip'].split('.')[3] + ':' + str(x['port']) for x in d['items'] if x['state'] == '$1')"; }
[ "$(state_of open)" = "['11:22', '11:80', '12:25', '12:8080', '13:443']" ] || fail "open ports: $(state_of open)"
ok "exactly the open ports: $(state_of open)"
echo "$R" | jget "[x for x in d['items'] if x['ip'] == '10.79.0.11' and x['port'] == 23][0]['state']" | grep -qx closed ||
  fail "H1:23 not closed: $R"
[ "$(echo "$R" | jget "sorted(x['port'] for x in d['items'] if x['ip'] == '10.79.0.12' and x['state'] == 'filtered')")" = "[3306, 5432, 6379]" ] ||
  fail "H2 filtered ports: $(state_of filtered)"
[ "$(state_of filtered)" = "['12:3306', '12:5432', '12:6379']" ] || fail "filtered elsewhere: $(state_of filtered)"
[ "$(echo "$R" | jget "sorted(set(x['ip'] for x in d['items']))")" = "['10.79.0.11', '10.79.0.12', '10.79.0.13']" ] ||
  fail "unused addresses reported: $R"
ok "closed (refused) and filtered (nftables drop, admin-prohibited) told apart; unused addresses absent"

svc_of() { # svc_of IP PORT -> "name/confidence"
  echo "$H" | jget "[h for h in d['items'] if h['ip'] == '$1'][0]" >/dev/null || fail "host $1 missing: $H"
  echo "$H" | jget "[s['service'] + '/' + s['confidence'] for h in d['items'] if h['ip'] == '$1' for s in h['services'] if s['port'] == $2][0]"
}
api GET "/api/hosts?limit=100"
H=$BODY
[ "$(echo "$H" | jget 'd["total"]')" = 3 ] || fail "hosts: $H"
[ "$(svc_of 10.79.0.11 22)" = "OpenSSH/certain" ] || fail "H1:22 is $(svc_of 10.79.0.11 22)"
[ "$(svc_of 10.79.0.11 80)" = "HTTP/high" ] || fail "H1:80 is $(svc_of 10.79.0.11 80)"
[ "$(svc_of 10.79.0.12 25)" = "Postfix SMTP/certain" ] || fail "H2:25 is $(svc_of 10.79.0.12 25)"
[ "$(svc_of 10.79.0.12 8080)" = "nginx/certain" ] || fail "H2:8080 is $(svc_of 10.79.0.12 8080)"
[ "$(svc_of 10.79.0.13 443)" = "HTTPS/high" ] || fail "H3:443 is $(svc_of 10.79.0.13 443)"
echo "$H" | jget "[s['tls_subject'] for h in d['items'] if h['ip'] == '10.79.0.13' for s in h['services']][0]" |
  grep -q "CN=tls.gamma.test" || fail "certificate subject: $H"
echo "$H" | jget "[s['title'] for h in d['items'] if h['ip'] == '10.79.0.13' for s in h['services']][0]" |
  grep -qx "Gamma secure" || fail "HTTPS title: $H"
ok "services: OpenSSH, HTTP, Postfix SMTP, nginx, HTTPS (certificate subject and title over TLS)"
host_field() { echo "$H" | jget "[h['$2'] for h in d['items'] if h['ip'] == '$1'][0]"; }
[ "$(host_field 10.79.0.11 hostname)" = "Alpha dashboard" ] || fail "H1 hostname: $(host_field 10.79.0.11 hostname)"
[ "$(host_field 10.79.0.12 hostname)" = "mail.beta.test" ] || fail "H2 hostname: $(host_field 10.79.0.12 hostname)"
[ "$(host_field 10.79.0.13 hostname)" = "tls.gamma.test" ] || fail "H3 hostname: $(host_field 10.79.0.13 hostname)"
[ "$(host_field 10.79.0.13 hostname_source)" = "service" ] || fail "H3 hostname source: $H"
ok "host names from services (HTTP title, SMTP greeting, certificate CN) where reverse DNS has none"
[ "$(host_field 10.79.0.13 mac)" = "b8:27:eb:00:00:13" ] || fail "H3 MAC: $(host_field 10.79.0.13 mac)"
if [ -r /usr/share/ieee-data/oui.txt ]; then
  host_field 10.79.0.13 vendor | grep -q "Raspberry Pi" || fail "H3 vendor: $(host_field 10.79.0.13 vendor)"
  ok "MAC vendor from the IEEE registry: $(host_field 10.79.0.13 vendor)"
else
  echo "# skipped the vendor check: /usr/share/ieee-data/oui.txt is absent (install ieee-data)"
  ok "MAC from the neighbour table (vendor check skipped: no ieee-data)"
fi

# a second scan: H1's SSH stopped, H3 off the network
kill "$H1_SSH"; wait "$H1_SSH" 2>/dev/null || true
ip -n "$NS_H3" link set h3 down
ip -n "$NS_S" neigh flush dev s0
S=$(scan "{\"subnets\":[\"10.79.0.8/29\"],\"ports\":$PORTS}")
[ "$(echo "$S" | jget 'd["progress"]["hosts_up"]')" = 2 ] || fail "second scan: $S"
api GET "/api/changes?since=$(date -d '-1 hour' +%s)&limit=100"
C=$BODY
[ "$(echo "$C" | jget "sorted((c['kind'], c['ip'], c['port']) for c in d['items'] if c['kind'] != 'new_host')")" = \
  "[('host_gone', '10.79.0.13', None), ('port_closed', '10.79.0.11', 22)]" ] || fail "changes: $C"
[ "$(echo "$C" | jget "len([c for c in d['items'] if c['kind'] == 'new_host'])")" = 3 ] || fail "new_host changes: $C"
api GET "/api/hosts/10.79.0.13"
[ "$(echo "$BODY" | jget 'd["state"]')" = gone ] || fail "H3 not gone: $BODY"
ok "second scan: port_closed (H1:22) and host_gone (H3) recorded"

nscurl /metrics -H "Authorization: Bearer $TOKEN"
grep -q '^meshwatch_discovered_hosts{state="gone"} 1$' <<<"$BODY" || fail "metrics: $(echo "$BODY" | grep discovered)"
ok "/metrics: 2 hosts up, 1 gone"

# a scan without subnets covers the connected /24: the API says so (with
# the interface) and scans only when told to
api GET /api/scans/defaults
[ "$(echo "$BODY" | jget '(d["source"], [(s["subnet"], s["interface"], s["hosts"]) for s in d["subnets"]])')" = \
  "('connected', [('10.79.0.0/24', 's0', 254)])" ] || fail "GET /api/scans/defaults: $HTTP_STATUS $BODY"
api POST /api/scans -d '{"ports":[23]}'
[ "$HTTP_STATUS" = 409 ] && [ "$(echo "$BODY" | jget 'd["error"]')" = confirm_required ] || fail "unconfirmed default scan: $HTTP_STATUS $BODY"
echo "$BODY" | jget 'd["detail"]' | grep -qF '10.79.0.0/24 (s0)' || fail "the 409 does not name the subnet and interface: $BODY"
S=$(scan '{"ports":[23],"confirm":true}')
[ "$(echo "$S" | jget '(d["state"], d["subnets"], d["progress"]["hosts_total"], d["trigger"])')" = \
  "('completed', ['10.79.0.0/24'], 254, 'api')" ] || fail "confirmed default scan: $S"
ok "a scan without subnets: 409 naming 10.79.0.0/24 (s0) until confirmed; confirmed, it covers the /24"
echo "netns_discovery: $CHECKS checks passed"
