#!/usr/bin/env bash
# Containers from the local engine's API (a real unix socket serving the
# Docker Engine API's JSON): after a scan they are hosts of source
# "docker"; each published or exposed port is named from the container's
# image (nginx:1.25 on port 80 is nginx, not the first product that
# listens on 80), an explicit meshwatch.service label wins, an unknown
# image is only "HTTP" from its port; the engine's networks give each
# container its subnet.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

A=$(rand_addr)
python3 "$HERE/fake_engine.py" "$TMP/engine.sock" >"$TMP/engine.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/engine.out" && break; sleep 0.1; done
grep -q ready "$TMP/engine.out" || fail "engine did not start: $(cat "$TMP/engine.out")"

MESHWATCH_SCAN_SUBNETS="$A/32" MESHWATCH_SCAN_RDNS=0 MESHWATCH_DOCKER_SOCKET="$TMP/engine.sock" start_node n1 "$A"
T=$(login "$A")
api() { local m=$1 p=$2; shift 2; ucurl "$A" "$p" -X "$m" -H "Authorization: Bearer $T" -H 'Content-Type: application/json' "$@"; }

api POST /api/scans -d "{\"subnets\":[\"$A/32\"],\"ports\":[9]}"
expect_status 201 "a scan (the engine is read after it)"
for _ in $(seq 100); do
  api GET "/api/hosts?limit=50"
  [ "$(echo "$BODY" | jget 'd["total"]')" -ge 4 ] && break
  sleep 0.2
done
echo "$BODY" > "$TMP/hosts.json"
svc() { # svc IP PORT -> "service confidence"
  python3 -c "
import json,sys
d=json.load(open('$TMP/hosts.json'))
for h in d['items']:
    if h['ip']=='$1':
        for s in h['services']:
            if s['port']==$2: print(s['service'], s['confidence'])
"
}
[ "$(jget '[h["ip"] for h in d["items"] if h["source"]=="docker"].__len__()' < "$TMP/hosts.json")" = 4 ] || fail "docker hosts: $(cat "$TMP/hosts.json")"
ok "4 containers with addresses are hosts of source docker"
[ "$(svc 172.31.5.2 80)" = "nginx certain" ] || fail "nginx:1.25 port 80 is $(svc 172.31.5.2 80)"
ok "nginx:1.25 on port 80: nginx (certain), from its image"
[ "$(svc 172.31.5.3 80)" = "GitLab certain" ] || fail "gitlab-ce port 80 is $(svc 172.31.5.3 80)"
[ "$(svc 172.31.5.3 22)" = "GitLab high" ] || fail "gitlab-ce port 22 is $(svc 172.31.5.3 22)"
ok "gitlab/gitlab-ce: GitLab on 80 (certain) and on 22 (high: the image, not its usual port)"
[ "$(svc 10.77.0.9 8000)" = "Billing API certain" ] || fail "labelled container is $(svc 10.77.0.9 8000)"
ok "a meshwatch.service label names the service: Billing API"
[ "$(svc 10.77.0.10 80)" = "HTTP low" ] || fail "unknown image on 80 is $(svc 10.77.0.10 80)"
ok "an unknown image on port 80: HTTP (low), a guess from the port"
jget '[h["detail"] for h in d["items"] if h["ip"]=="172.31.5.2"][0]' < "$TMP/hosts.json" | grep -q "on network front 172.31.5.0/24" ||
  fail "subnet: $(jget '[h["detail"] for h in d["items"]]' < "$TMP/hosts.json")"
jget '[h["detail"] for h in d["items"] if h["ip"]=="10.77.0.9"][0]' < "$TMP/hosts.json" | grep -q "on network back 10.77.0.0/16" ||
  fail "subnet back"
ok "the engine's networks give each container its subnet (front 172.31.5.0/24, back 10.77.0.0/16)"
jget '[s["banner"] for h in d["items"] if h["ip"]=="172.31.5.2" for s in h["services"]][0]' < "$TMP/hosts.json" |
  grep -q "image nginx:1.25, compose service web, published" || fail "banner: $(cat "$TMP/hosts.json")"
ok "the service shows the image, the compose service and that the port is published"
