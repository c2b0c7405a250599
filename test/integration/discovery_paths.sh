#!/usr/bin/env bash
# Service-specific HTTP paths: a port that answers HTTP is also asked for
# the paths of the definitions listing that port (a plain one, and one
# that speaks TLS), and a definition with a path is judged on that path's
# answer: a web app whose / is only a redirect is still named from its
# sign-in page. Real listeners on loopback; definitions from services_file.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr)
P1=$((20000 + RANDOM % 20000)); P2=$((P1 + 1)); P3=$((P1 + 2))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=widget.test" \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
python3 - "$A" "$P1" "$P2" "$P3" "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/web.out" 2>&1 <<'PY' &
import http.server, socketserver, ssl, sys, threading
addr, p1, p2, p3, cert, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
seen = []
class H(http.server.BaseHTTPRequestHandler):
    pages = {}
    def do_GET(self):
        seen.append((self.server.server_address[1], self.path))
        page = self.pages.get(self.path)
        if page is None:
            self.send_response(302); self.send_header("Location", self.redirect); self.send_header("Content-Length", "0"); self.end_headers(); return
        data = page.encode()
        self.send_response(200); self.send_header("Content-Type", "text/html"); self.send_header("Content-Length", str(len(data))); self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a): pass
class App(H):
    redirect = "/admin/login"
    pages = {"/admin/login": "<html><head><title>Widget Admin - sign in</title></head></html>"}
class Tls(H):
    redirect = "/ui/"
    pages = {"/v2/status": '{"product":"widget-vault","ok":true}'}
class Plain(H):
    redirect = "/elsewhere"
    pages = {}
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
servers = [S((addr, p1), App), S((addr, p2), Tls), S((addr, p3), Plain)]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
servers[1].socket = ctx.wrap_socket(servers[1].socket, server_side=True)
for s in servers:
    threading.Thread(target=s.serve_forever, daemon=True).start()
print("ready", flush=True)
import time
while True:
    time.sleep(0.5)
    with open(sys.argv[5] + ".seen", "w") as f:
        f.write("\n".join("%d %s" % x for x in seen))
PY
PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/web.out" && break; sleep 0.1; done
grep -q ready "$TMP/web.out" || fail "web servers did not start: $(cat "$TMP/web.out")"

cat > "$TMP/services.json" <<JSON
[
 {"name": "Widget Admin", "ports": [$P1], "path": "/admin/login", "title": "Widget Admin"},
 {"name": "Widget Vault", "ports": [$P2], "path": "/v2/status", "body": "\"widget-vault\""},
 {"name": "Widget Other", "ports": [$P3], "path": "/nothing-here", "body": "widget"}
]
JSON
MESHWATCH_SCAN_SUBNETS="$A/32" MESHWATCH_SCAN_RDNS=0 MESHWATCH_SERVICES_FILE="$TMP/services.json" start_node n1 "$A"
T=$(login "$A")
api() { local m=$1 p=$2; shift 2; ucurl "$A" "$p" -X "$m" -H "Authorization: Bearer $T" -H 'Content-Type: application/json' "$@"; }
api POST /api/scans -d "{\"subnets\":[\"$A/32\"],\"ports\":[$P1,$P2,$P3]}"
expect_status 201 "a scan of three web ports"
ID=$(echo "$BODY" | jget 'd["id"]')
for _ in $(seq 150); do
  api GET "/api/scans/$ID"
  case $(echo "$BODY" | jget 'd["state"]') in completed|failed|cancelled) break ;; esac
  sleep 0.2
done
[ "$(echo "$BODY" | jget 'd["state"]')" = completed ] || fail "scan: $BODY"
api GET "/api/hosts/$A"
svc() { echo "$BODY" | jget "[(s['service'], s['confidence']) for s in d['services'] if s['port']==$1][0]"; }
[ "$(svc $P1)" = "('Widget Admin', 'certain')" ] || fail "port $P1: $(svc $P1) ($BODY)"
ok "a web app whose / only redirects is named from its sign-in page (/admin/login): Widget Admin, certain"
[ "$(svc $P2)" = "('Widget Vault', 'certain')" ] || fail "port $P2: $(svc $P2) ($BODY)"
ok "over TLS too: /v2/status names Widget Vault"
[ "$(svc $P3)" != "('Widget Other', 'certain')" ] || fail "port $P3 matched a path that 302s"
ok "a path that is only a redirect does not name its definition ($(svc $P3))"
sleep 0.6
grep -q "^$P1 /admin/login$" "$TMP/cert.pem.seen" && grep -q "^$P2 /v2/status$" "$TMP/cert.pem.seen" ||
  fail "paths not asked: $(cat "$TMP/cert.pem.seen")"
[ "$(grep -c "^$P1 " "$TMP/cert.pem.seen")" -le 3 ] || fail "asked too often: $(cat "$TMP/cert.pem.seen")"
ok "each port was asked / and its definitions' path, nothing more"
