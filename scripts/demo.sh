#!/usr/bin/env bash
# A local mesh: four nodes and one reporting node, each with its own data and
# certificate directory in a temporary directory and its configuration from
# configs/. Ctrl-C stops every node and removes everything the demo made.
#   scripts/demo.sh                 build, start on 127.0.0.11-15, print the dashboards, wait
#   scripts/demo.sh --check         start, check every /health, convergence and that every page
#                                   has data (targets, traffic, discovery, the matrix), stop (used by tests)
#   scripts/demo.sh --check --keep  the same checks, then keep serving like the plain demo (the
#                                   browser test of every page runs against this)
#   scripts/demo.sh --netns         the same mesh in network namespaces behind a router, with a
#                                   different link MTU per node (root only)
#   scripts/demo.sh --netns --check start it, check health, convergence and every node's path MTU
#                                   to every peer, print the PMTU matrix, remove it all
#   scripts/demo.sh --netns --ipv6  the links carry IPv4 and IPv6 either way; with --ipv6 the
#                                   nodes listen, seed and measure over IPv6
# Every capability shows something at once: each node checks TCP targets on
# the demo's own listeners (and one closed port), reads a capture file made
# for it (test/integration/gen_pcap.py demo: five minutes of traffic among
# the demo's addresses, ending when the demo starts), scans the demo's own
# addresses, and reports to the reporting node, whose Matrix page shows the
# whole mesh. The demo needs no browser and no npm: it prints the URLs.
# The demo mesh is signed: every run makes a fresh MESH_SECRET (or takes
# the one in the environment), shared by its five nodes only; a node the
# demo did not start cannot join, and unsigned /nodeinfo gets 401.
# Environment: DEMO_NET (default 127.0.0) puts the loopback nodes on
# DEMO_NET.11-15; DEMO_NETNS_NET (default 10.90) is the /16 the namespaces
# use (fd00:10:90::/48 for IPv6, after it); DEMO_WAIT (default 120) is how
# many half-seconds --check waits for the mesh; MESHWATCH_BIN uses that
# binary instead of building one.
#
# The seed and reporting files in configs/ name the nodes by FQDN only (as
# docker-compose.yml resolves them); the demo writes copies that add each
# node's address here (see write_configs).
set -euo pipefail
cd "$(dirname "$0")/.."

check=0 netns=0 ipv6=0 keep=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --keep) keep=1 ;;
    --netns) netns=1 ;;
    --ipv6) ipv6=1 ;;
    *) echo "usage: scripts/demo.sh [--netns [--ipv6]] [--check [--keep]]" >&2; exit 2 ;;
  esac
done
[ $keep = 0 ] || [ $check = 1 ] || { echo "demo: --keep goes with --check" >&2; exit 2; }
[ $ipv6 = 0 ] || [ $netns = 1 ] || { echo "demo: --ipv6 goes with --netns" >&2; exit 2; }
net=${DEMO_NET:-127.0.0}
pfx=${DEMO_NETNS_NET:-10.90}
v6pfx=fd00:${pfx//./:}
password=${DEMO_PASSWORD:-meshwatch-demo}
secret=${MESH_SECRET:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}
names=(node1 node2 node3 node4 reporting)
# --netns: each node's link to the router, in bytes (1280 is IPv6's minimum).
mtus=(9000 1500 1400 1280 1500)

die() { echo "demo: $*" >&2; exit 1; }

if [ $netns = 1 ]; then
  # Checked before building anything: these need root, and nothing else does.
  [ "$(id -u)" = 0 ] || die "--netns needs root (it creates network namespaces and veth links): sudo scripts/demo.sh --netns"
  command -v ip >/dev/null 2>&1 || die "--netns needs ip (iproute2)"
  [[ "$pfx" =~ ^[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "DEMO_NETNS_NET must be the first two octets of a /16 (like 10.90), got '$pfx'"
fi

if [ -z "${MESHWATCH_BIN:-}" ]; then
  # only what building needs: the demo opens no browser and runs no npm
  ./scripts/setup.sh --build-only
  [ -f build/build.ninja ] || meson setup build >/dev/null
  ninja -C build >/dev/null
  MESHWATCH_BIN=build/meshwatch
fi

dir=$(mktemp -d /tmp/meshwatch-demo.XXXXXX)
pids=()
nses=()      # --netns: namespaces this run created
P=mwd-$$     # --netns: their common prefix
hostif=mwd$$ # --netns: the host's end of the link into the router namespace
stop() {
  local p i
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  # Namespaces go at once (a node keeps its own until it exits); with the
  # router's namespace goes the veth into the host, and its route.
  if [ $netns = 1 ]; then
    [ ${#nses[@]} = 0 ] || printf 'netns del %s\n' "${nses[@]}" | ip -force -batch - 2>/dev/null || true
    ip link del "$hostif" 2>/dev/null || true
  fi
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] || continue
    for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

# addr I: the address node I listens on; host I: the same for a URL.
addr() {
  if [ $ipv6 = 1 ]; then echo "$v6pfx:$(($1 + 1))::2"
  elif [ $netns = 1 ]; then echo "$pfx.$(($1 + 1)).2"
  else echo "$net.$((11 + $1))"; fi
}
host() {
  if [ $ipv6 = 1 ]; then echo "[$(addr "$1")]"; else addr "$1"; fi
}

# addr4 I: node I's IPv4 address (also with --ipv6: the links carry both)
addr4() {
  if [ $netns = 1 ]; then echo "$pfx.$(($1 + 1)).2"; else echo "$net.$((11 + $1))"; fi
}

# write_configs: for each node, copies of its configs/ files in $dir/NAME/
# where every seed or reporting entry naming a demo node by its FQDN (the
# "name" in that node's node.json) gets the node's address here as "ip".
# Each node.json also gets scan_subnets: the demo nodes' own addresses, so
# that a scan started on a demo dashboard with empty fields covers the
# demo and never the networks this machine is connected to; and pcap: a
# capture file made for that node (its traffic with the others).
write_configs() {
  local spec=() scan=() i j peers
  for i in "${!names[@]}"; do spec+=("${names[$i]}=$(addr "$i")"); scan+=("$(addr4 "$i")/32"); done
  for i in "${!names[@]}"; do
    mkdir -p "$dir/${names[$i]}"
    peers=()
    for j in "${!names[@]}"; do [ "$j" = "$i" ] || peers+=("$(addr4 "$j")"); done
    python3 test/integration/gen_pcap.py demo "$dir/${names[$i]}/traffic.pcap" "$(addr4 "$i")" "${peers[@]}"
  done
  DEMO_SCAN_SUBNETS=$(IFS=,; echo "${scan[*]}") python3 - "$dir" "${spec[@]}" <<'PY'
import json, os, sys
out, spec = sys.argv[1], [s.split("=", 1) for s in sys.argv[2:]]
ip_of = {}
for name, ip in spec:
    with open(os.path.join("configs", name, "node.json")) as f:
        ip_of[json.load(f)["name"]] = ip
def fix(e, fk, ik):
    if isinstance(e, dict) and e.get(fk) in ip_of:
        e[ik] = ip_of[e[fk]]
for name, _ in spec:
    os.makedirs(os.path.join(out, name), exist_ok=True)
    for fn in ("node.json", "seed.json", "reporting.json"):
        src = os.path.join("configs", name, fn)
        if not os.path.exists(src):
            continue
        with open(src) as f:
            d = json.load(f)
        for e in d.get("nodes", []):
            fix(e, "fqdn", "ip")
        for e in [d] + d.get("servers", []):
            fix(e, "server_fqdn", "server_ip")
            fix(e, "fqdn", "ip")
        if fn == "node.json":
            d.setdefault("scan_subnets", os.environ["DEMO_SCAN_SUBNETS"])
            d.setdefault("pcap", os.path.abspath(os.path.join(out, name, "traffic.pcap")))
        with open(os.path.join(out, name, fn), "w") as f:
            json.dump(d, f, indent=2)
PY
}

# netns_up: a router namespace, one namespace per node linked to it by a
# veth with that node's MTU (both ends), and a veth from the host into the
# router so that the dashboards open in a browser on this machine:
#
#   host ──(1500)── router ──(9000)── node1      PFX.0.1 ── PFX.0.2
#                     ├─────(1500)── node2                  PFX.N.1 ── PFX.N.2
#                     ├─────(1400)── node3      (N = 1..5, node N at PFX.N.2)
#                     ├─────(1280)── node4      and the same in IPv6: fd00:A:B:N::1, ::2
#                     └─────(1500)── reporting  for PFX = A.B
netns_up() {
  local owner x i n ns why
  # Namespaces of an earlier run killed outright (SIGKILL leaves no chance
  # to clean up): that run's process is gone and nothing runs inside them.
  for owner in $(ip netns list 2>/dev/null | sed -n 's/^mwd-\([0-9]*\)-.*/\1/p' | sort -u); do
    kill -0 "$owner" 2>/dev/null && continue
    for x in router "${names[@]}"; do [ -z "$(ip netns pids "mwd-$owner-$x" 2>/dev/null)" ] || continue 2; done
    for x in router "${names[@]}"; do ip netns del "mwd-$owner-$x" 2>/dev/null || true; done
    echo "demo: removed the namespaces of an earlier run (mwd-$owner-*)"
  done
  # The host gets a route to PFX.0.0/16: refuse a range it already uses.
  local used
  used=$( { ip -4 route show match "$pfx.0.0/16"; ip -4 route show root "$pfx.0.0/16"
             ip -6 route show match "$v6pfx::/48"; ip -6 route show root "$v6pfx::/48"; } 2>/dev/null | grep -v '^default' || true)
  [ -z "$used" ] || die "$pfx.0.0/16 or $v6pfx::/48 is already routed on this host ($(head -n1 <<<"$used")): set DEMO_NETNS_NET to another /16, e.g. DEMO_NETNS_NET=10.91"

  ns=$P-router
  ip netns add "$ns" || die "ip netns add $ns failed"
  nses+=("$ns")
  # a chroot or a restricted container can create a namespace but not enter it
  why=$(ip netns exec "$ns" true 2>&1) || die "cannot run commands in a network namespace here (ip netns exec: ${why:-failed})"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0 \
    net.ipv6.conf.all.forwarding=1 net.ipv6.icmp.ratelimit=0 >/dev/null

  ip link add "$hostif" mtu 1500 type veth peer name host0 netns "$ns" mtu 1500
  ip addr add "$pfx.0.1/24" dev "$hostif"
  ip addr add "$v6pfx:0::1/64" dev "$hostif" nodad
  ip link set "$hostif" up
  ip -n "$ns" addr add "$pfx.0.2/24" dev host0
  ip -n "$ns" addr add "$v6pfx:0::2/64" dev host0 nodad
  ip -n "$ns" link set host0 up
  ip route add "$pfx.0.0/16" via "$pfx.0.2" dev "$hostif"
  ip -6 route add "$v6pfx::/48" via "$v6pfx:0::2" dev "$hostif"

  for i in "${!names[@]}"; do
    n=${names[$i]}
    ns=$P-$n
    ip netns add "$ns" || die "ip netns add $ns failed"
    nses+=("$ns")
    ip -n "$ns" link set lo up
    ip link add veth0 netns "$ns" mtu "${mtus[$i]}" type veth peer name "$n" netns "$P-router" mtu "${mtus[$i]}"
    ip -n "$ns" addr add "$pfx.$((i + 1)).2/24" dev veth0
    ip -n "$ns" addr add "$v6pfx:$((i + 1))::2/64" dev veth0 nodad
    ip -n "$ns" link set veth0 up
    ip -n "$P-router" addr add "$pfx.$((i + 1)).1/24" dev "$n"
    ip -n "$P-router" addr add "$v6pfx:$((i + 1))::1/64" dev "$n" nodad
    ip -n "$P-router" link set "$n" up
    ip -n "$ns" route add default via "$pfx.$((i + 1)).1"
    ip -n "$ns" -6 route add default via "$v6pfx:$((i + 1))::1"
  done
  echo "demo: namespaces $P-router and $P-{$(IFS=,; echo "${names[*]}")}, host link $hostif, $pfx.0.0/16 and $v6pfx::/48"
}

[ $netns = 0 ] || netns_up
write_configs

for i in "${!names[@]}"; do
  n=${names[$i]}
  a=$(host "$i")
  args=(--config "$dir/$n/node.json" --listen "$a:8443" --data-dir "$dir/$n/data" --seed "$dir/$n/seed.json")
  [ -f "$dir/$n/reporting.json" ] && args+=(--reporting "$dir/$n/reporting.json")
  run=()
  [ $netns = 0 ] || run=(ip netns exec "$P-$n")
  MESH_SECRET=$secret ROOT_USER=admin ROOT_PASSWORD=$password "${run[@]}" "$MESHWATCH_BIN" "${args[@]}" >"$dir/$n.log" 2>&1 &
  pids+=($!)
done

for i in "${!names[@]}"; do
  a=$(host "$i")
  up=0
  for _ in $(seq 1 100); do
    if curl -sk --max-time 1 -o /dev/null "https://$a:8443/health"; then up=1; break; fi
    sleep 0.1
  done
  if [ $up = 0 ]; then
    echo "demo: ${names[$i]} on $a did not come up; its log:" >&2
    tail -n 20 "$dir/${names[$i]}.log" >&2
    exit 1
  fi
done

# Every node knows the other four once gossip has gone round.
known() { curl -sk --max-time 2 "https://$1:8443/health" | sed -n 's/.*"known_nodes":\([0-9]*\).*/\1/p'; }
converged=0
for _ in $(seq 1 "${DEMO_WAIT:-120}"); do
  converged=1
  for i in "${!names[@]}"; do
    [ "$(known "$(host "$i")")" = $(( ${#names[@]} - 1 )) ] || { converged=0; break; }
  done
  [ $converged = 1 ] && break
  [ $check = 1 ] || break
  sleep 0.5
done

# populate fill|check: what each page of the demo shows from the start.
# fill: every node checks TCP targets on two other demo nodes' listeners
# and on a port of its own where nothing listens (refused), and scans the
# demo's own addresses (its capture file is read at start). check: waits
# until each node has a target up and one refused, has read its capture
# (flows), has finished its scan (5 hosts), and the reporting node's
# matrix holds every pair of the four reporting nodes; 1 if that does not
# happen.
populate() {
  local spec=() i
  for i in "${!names[@]}"; do spec+=("${names[$i]}=$(host "$i")=$(addr4 "$i")=$(addr "$i")"); done
  python3 - "$password" "$1" "${DEMO_WAIT:-120}" "${spec[@]}" <<'PY'
import json, ssl, sys, time, urllib.error, urllib.request
password, check, wait = sys.argv[1], sys.argv[2] == "check", int(sys.argv[3])
# name, host (for URLs), IPv4 address (scans), the address it listens on (targets)
nodes = [s.split("=", 3) for s in sys.argv[4:]]
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # self-signed, by design
def call(host, path, token=None, body=None, method=None):
    req = urllib.request.Request("https://%s:8443%s" % (host, path), method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.load(r)
tokens = {n: call(h, "/api/login", body={"username": "admin", "password": password})["token"] for n, h, _, _ in nodes}
addrs = [a for _, _, a, _ in nodes]
for i, (name, host, _, me) in enumerate(nodes if not check else []):
    t = tokens[name]
    for k, every in ((1, 10), (2, 30)):
        other = nodes[(i + k) % len(nodes)]
        call(host, "/api/targets", t, {"name": "%s dashboard" % other[0], "host": other[3], "port": 8443,
                                       "interval_s": every, "retention_period": 7, "retention_unit": "days"})
    call(host, "/api/targets", t, {"name": "telnet (nothing listens)", "host": me, "port": 23,
                                   "interval_s": 30, "retention_period": 1, "retention_unit": "days"})
    call(host, "/api/scans", t, {"subnets": ["%s/32" % a for a in addrs], "ports": [22, 23, 80, 443, 8443]})
if not check:
    sys.exit(0)
reporters = [n for n, _, _, _ in nodes if n != "reporting"]
rep = [x for x in nodes if x[0] == "reporting"][0]
end = time.time() + wait / 2
while True:
    missing = []
    for name, host, _, _ in nodes:
        t = tokens[name]
        states = {x["state"] for x in call(host, "/api/targets?limit=100", t)["items"]}
        if not {"up", "refused"} <= states:
            missing.append("%s: targets %s" % (name, ",".join(sorted(states))))
        st = call(host, "/api/stats", t)
        if not st.get("flows"):
            missing.append("%s: capture %s, %s flows" % (name, st.get("state"), st.get("flows")))
        sc = call(host, "/api/scans?limit=1", t)["items"]
        if not sc or sc[0]["state"] != "completed" or sc[0]["progress"]["hosts_up"] < len(nodes):
            missing.append("%s: scan %s" % (name, sc[0]["state"] + " " + json.dumps(sc[0]["progress"]) if sc else "none"))
    m = call(rep[1], "/api/mesh", tokens["reporting"])
    fqdn = {x["id"]: x["fqdn"] for x in m["nodes"]}
    pairs = {(fqdn.get(c["from"], c["from"]).split(".")[0], fqdn.get(c["to"], c["to"]).split(".")[0])
             for c in m["cells"] if c.get("state") == "alive"}
    want = {(a, b) for a in reporters for b in [n for n, _, _, _ in nodes] if a != b}
    if not want <= pairs:
        missing.append("matrix: %d of %d pairs alive" % (len(want & pairs), len(want)))
    if not missing or time.time() > end:
        break
    time.sleep(1)
if missing:
    print("demo: not every page has its data: " + "; ".join(missing), file=sys.stderr)
    sys.exit(1)
print("demo: every node checks its targets (up and refused), has read its capture and scanned the demo's %d addresses" % len(nodes))
print("demo: the reporting node's matrix holds every pair from the %d reporting nodes" % len(reporters))
PY
}

# pmtu_matrix: waits until every node sees every other alive with the path
# MTU it should measure (the smaller of the two links' MTUs), then prints
# the matrix as the nodes report it in /api/nodes; 1 if it never matched.
pmtu_matrix() {
  local spec=() i
  for i in "${!names[@]}"; do
    spec+=("${names[$i]}=$(host "$i")=${mtus[$i]}=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "configs/${names[$i]}/node.json")")
  done
  python3 - "$password" "${DEMO_WAIT:-120}" "$ipv6" "${spec[@]}" <<'PY'
import json, ssl, sys, time, urllib.request
password, wait, ipv6 = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
nodes = [s.split("=", 3) for s in sys.argv[4:]]           # name, host, mtu, fqdn
by_fqdn = {fqdn: name for name, _, _, fqdn in nodes}
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # self-signed, by design
def call(addr, path, token=None, body=None):
    req = urllib.request.Request("https://%s:8443%s" % (addr, path), data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
        return json.load(r)
tokens = {}
for name, addr, _, _ in nodes:
    login = json.dumps({"username": "admin", "password": password}).encode()
    tokens[name] = call(addr, "/api/login", body=login)["token"]
want = {(a[0], b[0]): min(int(a[2]), int(b[2])) for a in nodes for b in nodes if a is not b}
def snapshot():
    got = {}
    for name, addr, _, _ in nodes:
        for p in call(addr, "/api/nodes?limit=100", tokens[name])["items"]:
            peer = by_fqdn.get(p.get("fqdn"), p.get("fqdn"))
            got[(name, peer)] = (p.get("state"), (p.get("pmtu") or {}).get("value"), (p.get("pmtu") or {}).get("method"),
                                 ":" in (p.get("ip") or ""))
    return got
end = time.time() + wait / 2
while True:
    try:
        got = snapshot()
    except OSError as e:
        got = {}
        print("demo: /api/nodes: %s" % e, file=sys.stderr)
    ok = all(got.get(k, (None, None))[:2] == ("alive", v) for k, v in want.items())
    family_ok = all(g[3] == ipv6 for g in got.values())
    if ok or time.time() > end:
        break
    time.sleep(1)
names = [n[0] for n in nodes]
print("path MTU from (row) to (column), as each node measured it; the links: %s" %
      ", ".join("%s %s" % (n[0], n[2]) for n in nodes))
print("%-10s" % "" + "".join("%11s" % n for n in names))
for a in names:
    row = "%-10s" % a
    for b in names:
        if a == b:
            cell = "-"
        else:
            state, value, method, _ = got.get((a, b), (None, None, None, None))
            cell = "%s" % value
            if (state, value) != ("alive", want[(a, b)]):
                cell += "!=%d" % want[(a, b)] + ("" if state == "alive" else "(%s)" % state)
        row += "%11s" % cell
    print(row)
methods = sorted({"%s" % v[2] for v in got.values()})
print("methods seen: %s; peers' addresses: %s" % (", ".join(methods),
      ", ".join(sorted({"IPv6" if v[3] else "IPv4" for v in got.values()}))))
if not ok:
    print("demo: the path MTUs above marked != are not what the links allow (or the peer is not alive)", file=sys.stderr)
if not family_ok:
    print("demo: the nodes know each other by %s addresses only in part" % ("IPv6" if ipv6 else "IPv4"), file=sys.stderr)
sys.exit(0 if ok and family_ok else 1)
PY
}

populate fill || die "could not fill the demo's pages (targets, scans)"

if [ $check = 1 ]; then
  for i in "${!names[@]}"; do
    a=$(host "$i")
    curl -skf "https://$a:8443/health" | grep -q '"status":"healthy"' || die "${names[$i]} unhealthy"
  done
  [ $converged = 1 ] || die "the mesh did not converge"
  echo "demo: all ${#names[@]} nodes healthy, each knows the other $(( ${#names[@]} - 1 ))"
  st=$(curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "https://$(host 0):8443/nodeinfo")
  [ "$st" = 401 ] || die "an unsigned /nodeinfo got HTTP $st: the demo mesh should be signed"
  echo "demo: the mesh is signed (a secret made for this run; unsigned /nodeinfo: 401)"
  # a scan with empty fields covers the demo's own addresses, nothing else
  want=$(for i in "${!names[@]}"; do echo "$(addr4 "$i")/32"; done | sort | tr '\n' ' ')
  a=$(host 0)
  token=$(curl -sk --max-time 5 "https://$a:8443/api/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') ||
    die "cannot log in to ${names[0]}"
  got=$(curl -sk --max-time 5 -H "Authorization: Bearer $token" "https://$a:8443/api/scans/defaults" |
    python3 -c 'import json,sys; print(" ".join(sorted(s["subnet"] for s in json.load(sys.stdin)["subnets"])))')
  [ "$got " = "$want" ] || die "a default scan would cover \"$got\", not the demo's own addresses \"$want\""
  echo "demo: a scan with empty fields covers only the demo's addresses: $got"
  if [ $netns = 1 ]; then
    pmtu_matrix || exit 1
    echo "demo: every node sees the other $(( ${#names[@]} - 1 )) alive over $([ $ipv6 = 1 ] && echo IPv6 || echo IPv4), each path MTU as the links allow"
  fi
  populate check || exit 1
  [ $keep = 1 ] || exit 0
fi

echo
if [ $netns = 1 ]; then
  echo "meshwatch demo mesh is up in network namespaces $P-* (logs and data in $dir):"
else
  echo "meshwatch demo mesh is up (logs and data in $dir):"
fi
for i in "${!names[@]}"; do
  if [ $netns = 1 ]; then
    printf '  %-10s https://%s:8443/dashboard   (link MTU %s)\n' "${names[$i]}" "$(host "$i")" "${mtus[$i]}"
  else
    printf '  %-10s https://%s:8443/dashboard\n' "${names[$i]}" "$(addr "$i")"
  fi
done
echo
echo "  log in as: admin / $password   (the certificates are self-signed: accept them in the browser)"
echo "  mesh requests are signed with a secret made for this run; each node pins its peers' keys"
echo "  (the Node page shows the pin)."
echo "  try:       curl -k https://$(host 0):8443/health"
if [ $netns = 1 ]; then
  echo "  this host reaches $pfx.0.0/16 and $v6pfx::/48 through $hostif into $P-router; from elsewhere,"
  echo "  tunnel, e.g. ssh -L 8443:$(host 0):8443 this-host, then https://localhost:8443/dashboard"
  echo "  inside a namespace: ip netns exec $P-node1 curl -k https://$(host 3):8443/health"
  echo "  the Node page of each peer shows the path MTU it measured (the smaller of the two links)."
fi
echo "  the nodes poll each other every 10 s (configs/*/node.json); each seed file names"
echo "  only one other node, so the full mesh appears on every dashboard within about 30 s."
echo "  every page has data: Targets (checks of the other nodes' listeners and a closed port),"
echo "  Traffic (a five-minute capture file made for each node), Discovery (a scan of the demo's"
echo "  own addresses), Inventory, and on the reporting node the Matrix of the whole mesh:"
echo "             https://$(host $(( ${#names[@]} - 1 ))):8443/dashboard#/matrix"
echo
echo "Press Ctrl-C to stop every node."
wait
