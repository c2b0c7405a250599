#!/usr/bin/env bash
# Whom the mesh client talks to: each peer's key is pinned on first
# contact; an impostor at a known peer's address with another key is
# refused and logged (open mesh), a key change proven with the mesh secret
# is accepted (signed mesh), a signed request captured on its way to one
# node is refused by another, and forgetting a node clears its pin.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")/.." && pwd)
export MESHWATCH_POLL_INTERVAL=1
base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
node_json() {  # node_json ADDR TOKEN ID -> /api/nodes/ID on ADDR
  ucurl "$1" "/api/nodes/$3" -H "Authorization: Bearer $2"; echo "$BODY"
}
wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local t=$1 i; shift
  for ((i = 0; i < t * 5; i++)); do "$@" && return 0; sleep 0.2; done
  return 1
}
spki_of() {  # the SHA-256 of the public key a TLS server at ADDR presents
  openssl s_client -connect "$1:8443" </dev/null 2>/dev/null | openssl x509 -pubkey -noout |
    openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}

# --- an open mesh: a pins b's key, then an impostor takes b's address
echo "{\"nodes\":[{\"fqdn\":\"b.test\",\"ip\":\"$(addr 2)\"}]}" > "$TMP/seed_a.json"
start_node a "$(addr 1)" --seed "$TMP/seed_a.json"
start_node b "$(addr 2)"
B_PID=$NODE_PID
TA=$(login "$(addr 1)")
idb=$(ucurl "$(addr 2)" /health; echo "$BODY" | jget 'd["node_id"]')
pinned() { node_json "$(addr 1)" "$TA" "$idb" | jget 'd.get("pin") or ""' | grep -q "^sha256:$1"; }
keyb=$(spki_of "$(addr 2)")
[ ${#keyb} = 64 ] || fail "cannot read b's key: $keyb"
wait_for 15 pinned "$keyb" || fail "a did not pin b's key: $(node_json "$(addr 1)" "$TA" "$idb")"
node_json "$(addr 1)" "$TA" "$idb" | jget 'd["pinned_at"]' | grep -q T || fail "no pinned_at"
grep -q "key pinned sha256:$keyb" "$TMP/a.log" || fail "the first pin was not logged"
ok "first contact pins the peer's key (sha256:${keyb:0:16}...)"

stop_node "$B_PID"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=b.test \
  -keyout "$TMP/ik.pem" -out "$TMP/ic.pem" >/dev/null 2>&1
printf '%s' "{\"status\":200,\"body\":{\"node_id\":\"$idb\",\"node_fqdn\":\"b.test\",\"node_ip\":\"$(addr 2)\",\"port\":8443,\"incarnation\":99,\"status\":\"ok\",\"peers\":[{\"id\":\"cccccccc-0000-4000-8000-000000000001\",\"fqdn\":\"planted.test\",\"ip\":\"127.5.5.6\",\"port\":8443,\"state\":\"alive\",\"incarnation\":1}]}}" > "$TMP/answer.json"
python3 "$HERE/fake_node.py" "$(addr 2)" 8443 "$TMP/ic.pem" "$TMP/ik.pem" "$TMP/answer.json" &
PIDS+=($!)
wait_for 10 curl -sk -o /dev/null "https://$(addr 2):8443/nodeinfo" || fail "the impostor did not start"
refused() { node_json "$(addr 1)" "$TA" "$idb" | jget 'd["poll"]["last_error"] or ""' | grep -q "key changed: pinned sha256:${keyb:0:16}"; }
wait_for 15 refused || fail "the impostor's answer was not refused: $(node_json "$(addr 1)" "$TA" "$idb")"
sleep 2.5  # more polls of the impostor
j=$(node_json "$(addr 1)" "$TA" "$idb")
[ "$(echo "$j" | jget 'd["state"]')" != alive ] || fail "the impostor made b alive: $j"
echo "$j" | jget 'd["pin"]' | grep -q "sha256:$keyb" || fail "the pin moved to the impostor's key: $j"
echo "$j" | jget 'd["poll"]["last_error"]' | grep -q "forget the node to accept the new key" || fail "error: $j"
ucurl "$(addr 1)" /api/nodes -H "Authorization: Bearer $TA"
grep -q cccccccc <<<"$BODY" && fail "the impostor's peer list was merged"
n=$(grep -c "key changed: pinned sha256:$keyb" "$TMP/a.log")
[ "$n" = 1 ] || fail "the changed key was logged $n times (want once, at WARN)"
grep "key changed: pinned sha256:$keyb" "$TMP/a.log" | grep -q WARN || fail "not logged at WARN"
ok "an impostor with another key at b's address is refused, logged once, b not alive ($(echo "$j" | jget 'd["poll"]["last_error"]'))"

# forgetting the node clears the pin: the new key is accepted
ucurl "$(addr 1)" "/api/nodes/$idb" -X DELETE -H "Authorization: Bearer $TA"
expect_status 204 "forget b"
impkey=$(spki_of "$(addr 2)")
# the impostor announces itself (as b's id) and is met as a new node
ucurl "$(addr 1)" /nodeinfo -H "X-Mw-Id: $idb" -H "X-Mw-Fqdn: b.test" -H "X-Mw-Ip: $(addr 2)" -H "X-Mw-Port: 8443" \
  -H "X-Mw-Incarnation: 99"
expect_status 200 "the impostor announces itself after forget"
wait_for 15 pinned "$impkey" || fail "after forget, the new key was not pinned: $(node_json "$(addr 1)" "$TA" "$idb")"
ok "forget clears the pin; the next contact pins the new key"

# --- a signed mesh: c pins d; d gets a new key and proves it with the secret
export MESH_SECRET=pin-test-secret
echo "{\"nodes\":[{\"fqdn\":\"d.test\",\"ip\":\"$(addr 4)\"}]}" > "$TMP/seed_c.json"
start_node c "$(addr 3)" --seed "$TMP/seed_c.json"
C_PID=$NODE_PID
start_node d "$(addr 4)"
D_PID=$NODE_PID
TC=$(login "$(addr 3)")
idc=$(ucurl "$(addr 3)" /health; echo "$BODY" | jget 'd["node_id"]')
idd=$(ucurl "$(addr 4)" /health; echo "$BODY" | jget 'd["node_id"]')
keyd=$(spki_of "$(addr 4)")
dpinned() { node_json "$(addr 3)" "$TC" "$idd" | jget 'd.get("pin") or ""' | grep -q "^sha256:$1"; }
wait_for 15 dpinned "$keyd" || fail "c did not pin d's key (signed mesh): $(node_json "$(addr 3)" "$TC" "$idd")"
stop_node "$D_PID"
rm -rf "$TMP/d/data/certs"
start_node d "$(addr 4)"
keyd2=$(spki_of "$(addr 4)")
[ "$keyd2" != "$keyd" ] || fail "d kept its key although its certificate directory was removed"
wait_for 15 dpinned "$keyd2" || fail "the signed key change was not accepted: $(node_json "$(addr 3)" "$TC" "$idd")"
wait_for 10 grep -q "key changed from sha256:$keyd to sha256:$keyd2, proven with the mesh secret" "$TMP/c.log" ||
  fail "the accepted key change was not logged"
grep "proven with the mesh secret" "$TMP/c.log" | grep -q INFO || fail "not logged at INFO"
alive() { [ "$(node_json "$(addr 3)" "$TC" "$idd" | jget 'd["state"]')" = alive ]; }
wait_for 10 alive || fail "d is not alive after its signed key change"
ok "signed mesh: a key change proven by a signed answer updates the pin (INFO)"

# --- a signed request is for one node: replayed to another it gets 401
sign() { local -n out=$1; shift; out=(); while IFS= read -r l; do out+=(-H "$l"); done < <(python3 "$HERE/mesh_sign.py" "$@"); }
MW_DEST=$idc sign H "$MESH_SECRET" 0 11111111-2222-4333-8444-555555555555 friend.test 127.1.2.3 8443 1
ucurl "$(addr 4)" /nodeinfo "${H[@]}"
expect_status 401 "a request signed for c, replayed to d"
grep -q "signed for another node" <<<"$BODY" || fail "401 detail: $BODY"
ucurl "$(addr 3)" /nodeinfo "${H[@]}"
expect_status 200 "the same request at c, its destination"
MW_DEST= sign H "$MESH_SECRET" 0 11111111-2222-4333-8444-555555555555 friend.test 127.1.2.3 8443 1
ucurl "$(addr 4)" /nodeinfo "${H[@]}"
expect_status 401 "a request signed for no destination"
ok "signatures name the destination node: replayed to another node, 401"

# the pin survives a restart of the node that holds it
stop_node "$C_PID"
start_node c "$(addr 3)" --seed "$TMP/seed_c.json"
TC=$(login "$(addr 3)")
node_json "$(addr 3)" "$TC" "$idd" | jget 'd["pin"]' | grep -q "sha256:$keyd2" || fail "pin lost on restart: $BODY"
ok "the pin is stored with the peer and survives a restart"
unset MESH_SECRET

# --- the certificate names only the node name, its advertised address and cert_extra_sans
E=$(rand_addr)
MESHWATCH_CERT_EXTRA_SANS="mesh.example.org,192.0.2.7" start_node e "$E" --advertise "$E"
sans=$(openssl s_client -connect "$E:8443" </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName |
  tail -n +2 | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ' ')
want=$(printf '%s\n' "DNS:e.test" "IPAddress:$E" "DNS:mesh.example.org" "IPAddress:192.0.2.7" | sort | tr '\n' ' ')
[ "$sans" = "$want" ] || fail "certificate SANs: got '$sans', want '$want'"
ok "certificate SANs: only the name, the advertised address and cert_extra_sans ($sans)"

# --- a public /nodeinfo answer is a page (nodeinfo_page_peers), however many
# peers the node knows. Hearsay is quarantined and never listed, so the peers
# register themselves: 300 callers, each from its own loopback address, which
# is the address it claims.
G=$(rand_addr)
NREG=300
start_node g "$G"
python3 - "$G" "$NREG" > "$TMP/reg.txt" 2>&1 <<'PY' || fail "registering $NREG callers at g: $(tail -3 "$TMP/reg.txt")"
import http.client, ssl, sys
g, n = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for i in range(n):
    ip = "127.6.%d.%d" % (i // 250, i % 250 + 1)
    c = http.client.HTTPSConnection(g, 8443, context=ctx, timeout=15, source_address=(ip, 0))
    c.request("GET", "/nodeinfo", headers={"X-Mw-Id": "dddddddd-0000-4000-8000-%012d" % i,
              "X-Mw-Fqdn": "m%d.mesh.test" % i, "X-Mw-Ip": ip, "X-Mw-Port": "8443", "X-Mw-Incarnation": "1"})
    r = c.getresponse(); r.read(); c.close()
    if r.status != 200:
        sys.exit("caller %d: status %d" % (i, r.status))
PY
size=$(curl -sk -o "$TMP/ni.json" -w '%{size_download}' "https://$G:8443/nodeinfo")
[ "$(jget 'len(d["peers"])' < "$TMP/ni.json")" = 256 ] || fail "a /nodeinfo page is not 256 peers: $(head -c 300 "$TMP/ni.json")"
[ "$size" -lt 65536 ] || fail "/nodeinfo answer is $size bytes at $NREG peers"
jget 'd["peers_more"] is True and "peers_digest" not in d' < "$TMP/ni.json" | grep -q True || fail "page markers: $(head -c 300 "$TMP/ni.json")"
# the rest comes from the cursor, page after page
python3 - "$G" > "$TMP/pages" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ids, cursor, pages = set(), None, 0
while pages < 100:
    req = urllib.request.Request("https://%s:8443/nodeinfo" % sys.argv[1])
    if cursor:
        req.add_header("X-Mw-Peers-Since", cursor)
    d = json.load(urllib.request.urlopen(req, context=ctx, timeout=15))
    pages += 1
    ids.update(p["id"] for p in d["peers"])
    cursor = d["peers_cursor"]
    if not d["peers_more"]:
        break
print(len(ids), pages)
PY
read -r got pages < "$TMP/pages"
[ "$got" -ge "$NREG" ] || fail "following the cursor gave $got peers in $pages pages"
ok "/nodeinfo at $NREG peers: $size bytes, 256 peers a page; the cursor gives all $got in $pages exchanges"
