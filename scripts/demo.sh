#!/usr/bin/env bash
# A local mesh: four nodes and one reporting node on 127.0.0.11-15, port
# 8443, each with its own data and certificate directory in a temporary
# directory and its configuration from configs/. Ctrl-C stops every node and
# removes the temporary directory.
#   scripts/demo.sh           build, start, print the dashboards, wait
#   scripts/demo.sh --check   start, check every /health, stop (used by tests)
# Environment: DEMO_NET (default 127.0.0) puts the nodes on DEMO_NET.11-15;
# MESHWATCH_BIN uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
[ "${1:-}" = "--check" ] && check=1
net=${DEMO_NET:-127.0.0}
password=${DEMO_PASSWORD:-meshwatch-demo}

if [ -z "${MESHWATCH_BIN:-}" ]; then
  ./scripts/setup.sh
  [ -f build/build.ninja ] || meson setup build >/dev/null
  ninja -C build >/dev/null
  MESHWATCH_BIN=build/meshwatch
fi

dir=$(mktemp -d /tmp/meshwatch-demo.XXXXXX)
pids=()
stop() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

names=(node1 node2 node3 node4 reporting)
for i in "${!names[@]}"; do
  n=${names[$i]}
  addr="$net.$((11 + i))"
  mkdir -p "$dir/$n"
  # The configs name the 127.0.0.x addresses; with DEMO_NET they are rewritten.
  for f in node.json seed.json reporting.json; do
    [ -f "configs/$n/$f" ] && sed "s/127\.0\.0\./$net./g" "configs/$n/$f" > "$dir/$n/$f"
  done
  args=(--config "$dir/$n/node.json" --listen "$addr:8443" --data-dir "$dir/$n/data" --seed "$dir/$n/seed.json")
  [ -f "$dir/$n/reporting.json" ] && args+=(--reporting "$dir/$n/reporting.json")
  ROOT_USER=admin ROOT_PASSWORD=$password "$MESHWATCH_BIN" "${args[@]}" >"$dir/$n.log" 2>&1 &
  pids+=($!)
done

for i in "${!names[@]}"; do
  addr="$net.$((11 + i))"
  up=0
  for _ in $(seq 1 100); do
    if curl -sk --max-time 1 -o /dev/null "https://$addr:8443/health"; then up=1; break; fi
    sleep 0.1
  done
  if [ $up = 0 ]; then
    echo "demo: ${names[$i]} on $addr did not come up; its log:" >&2
    tail -n 20 "$dir/${names[$i]}.log" >&2
    exit 1
  fi
done

# Every node knows the other four once gossip has gone round.
known() { curl -sk --max-time 2 "https://$1:8443/health" | sed -n 's/.*"known_nodes":\([0-9]*\).*/\1/p'; }
converged=0
for _ in $(seq 1 ${DEMO_WAIT:-120}); do
  converged=1
  for i in "${!names[@]}"; do
    [ "$(known "$net.$((11 + i))")" = $(( ${#names[@]} - 1 )) ] || { converged=0; break; }
  done
  [ $converged = 1 ] && break
  [ $check = 1 ] || break
  sleep 0.5
done

if [ $check = 1 ]; then
  for i in "${!names[@]}"; do
    addr="$net.$((11 + i))"
    curl -skf "https://$addr:8443/health" | grep -q '"status":"healthy"' || { echo "demo: ${names[$i]} unhealthy" >&2; exit 1; }
  done
  [ $converged = 1 ] || { echo "demo: the mesh did not converge" >&2; exit 1; }
  echo "demo: all ${#names[@]} nodes healthy, each knows the other $(( ${#names[@]} - 1 ))"
  exit 0
fi

echo
echo "meshwatch demo mesh is up (logs and data in $dir):"
for i in "${!names[@]}"; do
  printf '  %-10s https://%s:8443/dashboard\n' "${names[$i]}" "$net.$((11 + i))"
done
echo
echo "  log in as: admin / $password   (the certificates are self-signed: accept them in the browser)"
echo "  try:       curl -k https://$net.11:8443/health"
echo "  the nodes poll each other every 10 s (configs/*/node.json); each seed file names"
echo "  only one other node, so the full mesh appears on every dashboard within about 30 s."
echo
echo "Press Ctrl-C to stop every node."
wait
