# Shared by prometheus.sh and victoriametrics.sh (bash; source it instead of
# lib.sh): a mesh of real nodes on loopback addresses, a token that reads
# every node, and the shipped configs/prometheus/prometheus.yml adapted to
# that mesh, for a real Prometheus-compatible server to scrape.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
PROM_CFG=$HERE/../../configs/prometheus
[ -f "$PROM_CFG/prometheus.yml" ] || fail "no $PROM_CFG/prometheus.yml"

base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
fqdn() { echo "n$1.test"; }
# Short timings, so that a killed node is dead at its peers in seconds.
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=3
export MESH_SECRET="prometheus-test-$RANDOM$RANDOM"
declare -a PID TOKS

# The scraper's token, in $TMP/meshwatch.token. One file serves the whole
# job, so one token must read every node: the metrics token that each node
# reads from its metrics_token_file (--metrics-token-file), when this
# meshwatch has that option.
mw_help=$("$MW" --help 2>&1 || true)
if [[ $mw_help == *--metrics-token-file* ]]; then
  METRICS_TOKEN=$(python3 -c 'import secrets; print("mwm_" + secrets.token_hex(20))')
  printf '%s\n' "$METRICS_TOKEN" > "$TMP/metrics-token"
  NODE_TOKEN_ARGS=(--metrics-token-file "$TMP/metrics-token")
else
  METRICS_TOKEN=
  NODE_TOKEN_ARGS=()
fi

# start_mesh N: N nodes n1.test..nN.test, each seeded with the next (a
# ring), and waits until every node sees the N-1 others alive.
start_mesh() {
  local n=$1 i next tick all
  MESH_N=$n
  for i in $(seq 1 "$n"); do
    next=$(( i % n + 1 ))
    echo "{\"nodes\":[{\"fqdn\":\"$(fqdn $next)\",\"ip\":\"$(addr $next)\"}]}" > "$TMP/seed$i.json"
    start_node "n$i" "$(addr $i)" --seed "$TMP/seed$i.json" "${NODE_TOKEN_ARGS[@]}"
    PID[$i]=$NODE_PID
  done
  for i in $(seq 1 "$n"); do TOKS[$i]=$(login "$(addr $i)"); done
  for tick in $(seq 1 150); do
    all=1
    for i in $(seq 1 "$n"); do
      ucurl "$(addr $i)" /api/nodes -H "Authorization: Bearer ${TOKS[$i]}"
      [ "$(echo "$BODY" | jget 'sum(1 for p in d["items"] if p["state"] == "alive")')" = $((n - 1)) ] || { all=0; break; }
    done
    [ $all = 1 ] && break
    sleep 0.2
  done
  [ $all = 1 ] || fail "the $n nodes did not all see each other alive in 30 s"
  ok "$n nodes on loopback see each other alive"
}

# mesh_token: TOKEN for the scraper, in $TMP/meshwatch.token: the metrics
# token; without it, a read machine token of node 1 (POST /api/tokens) or
# node 1's session token. Every node must accept it. A read machine token,
# when node 1 makes them, must read node 1's /metrics and SD.
mesh_token() {
  local i mt=
  ucurl "$(addr 1)" /api/tokens -X POST -H "Authorization: Bearer ${TOKS[1]}" \
    -H 'Content-Type: application/json' -d '{"name":"prometheus","scope":"read"}'
  if [ "$HTTP_STATUS" = 201 ]; then
    mt=$(echo "$BODY" | jget 'd["token"]')
    for path in /metrics /api/prometheus/sd; do
      ucurl "$(addr 1)" "$path" -H "Authorization: Bearer $mt"
      [ "$HTTP_STATUS" = 200 ] || fail "node 1's read machine token on $path: HTTP $HTTP_STATUS $BODY"
    done
    ok "a read machine token (POST /api/tokens) reads its node's /metrics and /api/prometheus/sd"
  fi
  if [ -n "$METRICS_TOKEN" ]; then
    TOKEN=$METRICS_TOKEN; TOKEN_KIND="the metrics token (metrics_token_file, the same on every node)"
  elif [ -n "$mt" ]; then
    TOKEN=$mt; TOKEN_KIND="node 1's read machine token"
  else
    TOKEN=${TOKS[1]}; TOKEN_KIND="node 1's session token (POST /api/tokens answered $HTTP_STATUS)"
  fi
  printf '%s\n' "$TOKEN" > "$TMP/meshwatch.token"
  for i in $(seq 1 "$MESH_N"); do
    ucurl "$(addr $i)" /metrics -H "Authorization: Bearer $TOKEN"
    [ "$HTTP_STATUS" = 200 ] || fail "n$i refuses $TOKEN_KIND for /metrics (HTTP $HTTP_STATUS): one token file must read every node of the mesh"
  done
  ok "every node's /metrics accepts $TOKEN_KIND"
}

# scrape_config OUT INTERVAL: the shipped prometheus.yml pointed at node 1's
# SD, the token file and the rules in OUT's folder, scraping every INTERVAL.
scrape_config() {
  local out=$1 iv=$2 f
  sed -e "s#https://node1.example.net:8443/api/prometheus/sd#https://$(addr 1):8443/api/prometheus/sd#" \
      -e "s#/etc/prometheus/meshwatch.token#$TMP/meshwatch.token#" \
      -e "s#scrape_interval: 15s#scrape_interval: $iv#" \
      -e "s#evaluation_interval: 15s#evaluation_interval: $iv#" \
      -e "s#scrape_timeout: 10s#scrape_timeout: $iv#" \
      -e "s#refresh_interval: 60s#refresh_interval: 2s#" \
      "$PROM_CFG/prometheus.yml" > "$out"
  for f in node1.example.net 'credentials_file: /etc/prometheus' 'interval: 15s' 'timeout: 10s' 'interval: 60s'; do
    ! grep -q "$f" "$out" || fail "prometheus.yml changed: '$f' is still in the test's copy"
  done
}

# pq BASE EXPR: an instant query on a Prometheus-compatible HTTP API; prints
# the result vector as JSON ([] when the query fails).
pq() {
  curl -s --max-time 10 --data-urlencode "query=$2" "$1/api/v1/query" |
    python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
    print(json.dumps(d["data"]["result"] if d.get("status") == "success" else []))
except ValueError:
    print("[]")'
}

# labels_of BASE EXPR LABEL...: the sorted label tuples of the result, one
# "a b" line each
labels_of() {
  local base=$1 expr=$2; shift 2
  pq "$base" "$expr" | python3 -c 'import json,sys
ls = sys.argv[1:]
for t in sorted({tuple(m["metric"].get(l, "") for l in ls) for m in json.load(sys.stdin)}): print(" ".join(t))' "$@"
}

# ordered_pairs N [SKIP]: "n1.test n2.test" lines for every ordered pair of
# distinct nodes among n1..nN (without node SKIP), sorted like labels_of
ordered_pairs() {
  local n=$1 skip=${2:-0} i j
  for i in $(seq 1 "$n"); do for j in $(seq 1 "$n"); do
    if [ "$i" != "$j" ] && [ "$i" != "$skip" ] && [ "$j" != "$skip" ]; then echo "$(fqdn $i) $(fqdn $j)"; fi
  done; done | sort
}

# wait_until SECS CMD...: runs CMD every half second until it succeeds
wait_until() {
  local secs=$1 i; shift
  for ((i = 0; i < secs * 2; i++)); do "$@" && return 0; sleep 0.5; done
  return 1
}
