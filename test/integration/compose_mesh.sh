#!/usr/bin/env bash
# docker-compose.yml's services run as plain processes, the closest this
# machine gets without a Docker engine: each service's own command (config
# paths mapped to the repository by compose_check.py --plan) and the
# environment of configs/mesh.env.example, each on its own loopback address
# (a container has its own), and the names the services answer to on the
# compose network (service names and aliases) written to /etc/hosts in a
# private mount namespace, as Docker's DNS would answer them. configs/ are
# used unmodified: seeds and reporting servers by FQDN only. Checked:
#  1. every node sees every other alive (names resolved, mesh secret on);
#  2. an unsigned /nodeinfo is refused (the secret from the env file is used);
#  3. the reporting node receives a snapshot from every other node.
# Needs root (a mount namespace); skipped otherwise. The mount namespace,
# and the nodes with it, end with the test.
if [ "${MW_COMPOSE_MOUNTNS:-}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "skipped: needs root (a private mount namespace for /etc/hosts)"; exit 77; }
  command -v unshare >/dev/null 2>&1 || { echo "skipped: needs unshare (util-linux)"; exit 77; }
  why=$(unshare -m true 2>&1) || { echo "skipped: cannot make a mount namespace here (unshare -m: ${why:-failed})"; exit 77; }
  MW_COMPOSE_MOUNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

PY=
for p in python3 /usr/bin/python3; do
  command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || skip "needs python3 with PyYAML (python3-yaml) to read docker-compose.yml"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
"$PY" "$(dirname "$0")/compose_check.py" "$REPO" "$MW" "$TMP" --plan >"$TMP/plan.json" || fail "compose_check.py --plan"
mapfile -t SERVICES < <("$PY" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["services"]))' "$TMP/plan.json")
[ ${#SERVICES[@]} -ge 2 ] || fail "docker-compose.yml has ${#SERVICES[@]} services"

net=$(rand_addr | cut -d. -f1-3)
declare -A ADDR
i=11
for s in "${SERVICES[@]}"; do ADDR[$s]=$net.$i; i=$((i + 1)); done
{
  cat /etc/hosts
  "$PY" - "$TMP/plan.json" "$(for s in "${SERVICES[@]}"; do echo "$s=${ADDR[$s]}"; done)" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
addr = dict(l.split("=", 1) for l in sys.argv[2].split())
for name, svc in plan["names"].items():
    print("%s %s" % (addr[svc], name))
PY
} >"$TMP/hosts"
mount --bind "$TMP/hosts" /etc/hosts || fail "mount --bind over /etc/hosts"
ok "compose names resolve in this mount namespace only, e.g. $(getent hosts "${SERVICES[0]}" | tr -s " ")"

for s in "${SERVICES[@]}"; do
  mapfile -t ARGS < <("$PY" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["services"][sys.argv[2]]["args"]))' "$TMP/plan.json" "$s")
  mapfile -t ENVS < <("$PY" -c 'import json,sys; print("\n".join("%s=%s" % kv for kv in json.load(open(sys.argv[1]))["services"][sys.argv[2]]["env"].items()))' "$TMP/plan.json" "$s")
  env -i "${ENVS[@]}" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" MESHWATCH_POLL_INTERVAL=1 MESHWATCH_REPORT_INTERVAL=1 MESHWATCH_PBKDF2_ITERATIONS=100000 \
    "$MW" "${ARGS[@]}" --listen "${ADDR[$s]}:8443" >>"$TMP/$s.log" 2>&1 &
  PIDS+=($!)
  MW_PIDS+=($!)
done
for s in "${SERVICES[@]}"; do wait_healthy "${ADDR[$s]}" 20 || fail "$s on ${ADDR[$s]} did not answer /health"; done
ok "${#SERVICES[@]} services up with their compose commands: ${SERVICES[*]}"

want=$(( ${#SERVICES[@]} - 1 ))
known() { ucurl "$1" /health; jget 'd["known_nodes"]' <<<"$BODY" 2>/dev/null || echo -; }
for ((t = 0; t < 60; t++)); do
  all=1 line=
  for s in "${SERVICES[@]}"; do k=$(known "${ADDR[$s]}"); line="$line $s:$k"; [ "$k" = "$want" ] || all=0; done
  [ $all = 1 ] && break
  sleep 0.5
done
[ $all = 1 ] || fail "the mesh did not converge in 30 s:$line"
PASS=$(sed -n 's/^ROOT_PASSWORD=//p' "$REPO/configs/mesh.env.example")
for s in "${SERVICES[@]}"; do
  tok=$(login "${ADDR[$s]}" admin "$PASS")
  for ((t = 0; t < 30; t++)); do
    ucurl "${ADDR[$s]}" /api/nodes -H "Authorization: Bearer $tok"
    alive=$(jget 'sum(1 for p in d["items"] if p["state"] == "alive")' <<<"$BODY")
    [ "$alive" = "$want" ] && break
    sleep 0.5
  done
  [ "$alive" = "$want" ] || fail "$s sees $alive peers alive, want $want: $BODY"
done
ok "every node sees the other $want alive, each found by its FQDN"

ucurl "${ADDR[${SERVICES[0]}]}" /nodeinfo
[ "$HTTP_STATUS" = 401 ] || fail "an unsigned /nodeinfo got HTTP $HTTP_STATUS, want 401 (is MESH_SECRET from the env file used?)"
ok "the mesh secret from configs/mesh.env.example is in force (unsigned /nodeinfo: 401)"

# The reporting node: the service the others' reporting files name.
rep=$("$PY" - "$TMP/plan.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
named = set()
for svc in plan["services"].values():
    a = svc["args"]
    if "--reporting" in a:
        d = json.load(open(a[a.index("--reporting") + 1]))
        for e in d.get("servers", [d]):
            named.add(plan["names"][e.get("server_fqdn") or e.get("fqdn")])
print(" ".join(sorted(named)))
PY
)
[ -n "$rep" ] && [ "${rep// /}" = "$rep" ] || fail "want exactly one reporting node, the reporting files name: '$rep'"
origins=$(( ${#SERVICES[@]} - 1 ))
tok=$(login "${ADDR[$rep]}" admin "$PASS")
for ((t = 0; t < 40; t++)); do
  ucurl "${ADDR[$rep]}" /api/mesh -H "Authorization: Bearer $tok"
  got=$(jget 'sum(1 for o in d["origins"] if (o.get("seq") or 0) >= 1)' <<<"$BODY")
  [ "$got" = "$origins" ] && break
  sleep 0.5
done
[ "$got" = "$origins" ] || fail "$rep has snapshots from $got nodes, want $origins: $BODY"
ok "$rep, named by FQDN in the others' reporting.json, has snapshots from all $origins other nodes"
