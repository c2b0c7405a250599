#!/usr/bin/env bash
# Plain HTTP to the HTTPS port: a request with a Host is redirected to the
# same URL over https:// (308 keeps the method), one without a usable Host
# (or too long, or with characters a URL cannot carry as they are) gets a
# 400 saying to use https://; nothing is echoed unescaped. Neither counts
# as a failed TLS handshake; meshwatch_http_plain_requests_total counts them.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr)
MESHWATCH_HANDSHAKE_TIMEOUT_MS=3000 start_node n1 "$A"
T=$(login "$A")

# raw REQUEST: sends the bytes, prints the answer (the node closes after it)
raw() {
  python3 - "$A" "$1" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 8443), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
out = b""
while True:
    try:
        b = s.recv(65536)
    except socket.timeout:
        out += b"<timeout>"
        break
    if not b:
        break
    out += b
print(out.decode("latin-1"))
PY
}

hdr=$(curl -s -D - -o /dev/null "http://$A:8443/api/nodes?state=alive")
grep -q '^HTTP/1.1 308' <<<"$hdr" || fail "no 308: $hdr"
grep -q "^Location: https://$A:8443/api/nodes?state=alive" <<<"$hdr" || fail "Location: $hdr"
ok "plain GET with a Host: 308 to https://$A:8443/api/nodes?state=alive"
body=$(curl -skL "http://$A:8443/health")
[ "$(echo "$body" | jget 'd["status"]')" = healthy ] || fail "curl -L does not land on /health: $body"
ok "curl -L follows it to the HTTPS answer"
out=$(curl -s -D - -o /dev/null -X POST -d '{}' "http://$A:8443/api/login")
grep -q '^HTTP/1.1 308' <<<"$out" || fail "POST: $out"
ok "a POST is redirected with 308 too (the method is kept)"

out=$(raw 'GET / HTTP/1.0\r\n\r\n')
grep -q '^HTTP/1.1 400' <<<"$out" && grep -q 'speaks HTTPS only' <<<"$out" || fail "no Host: $out"
ok "HTTP/1.0 without a Host: 400 that says to use https://"
out=$(raw 'GET /a"<b> HTTP/1.1\r\nHost: x"y\r\n\r\n')
grep -q '^HTTP/1.1 400' <<<"$out" || fail "quotes: $out"
grep -q '<b>\|x"y' <<<"$out" && fail "echoed unsafe text: $out"
ok "a request with quotes and angle brackets: 400, nothing echoed"
long=$(python3 -c 'print("/" + "a" * 3000)')
out=$(raw "GET $long HTTP/1.1\r\nHost: h\r\n\r\n")
grep -q '^HTTP/1.1 400' <<<"$out" || fail "long: ${out:0:200}"
ok "a 3000-byte target (more than the 2048 bytes read): 400"
# a client that sends one capital letter and then nothing holds its worker
# no longer than a TLS handshake may take (handshake_timeout_ms, 3 s here):
# the 400 comes before the reader's own 10 s timeout
t0=$(date +%s.%N)
out=$(raw 'G')
t1=$(date +%s.%N)
grep -q '^HTTP/1.1 400' <<<"$out" || fail "a lone G: $out"
ok "a client that stalls after one letter gets a 400 after handshake_timeout_ms ($(python3 -c "print(round($t1 - $t0, 1))") s)"
out=$(raw 'HELLO\r\n\r\n')
grep -q '^HTTP/1.1 400' <<<"$out" || fail "not HTTP: $out"
ok "capital letters that are not HTTP: 400"

ucurl "$A" /metrics -H "Authorization: Bearer $T"
grep -q '^meshwatch_http_plain_requests_total [7-9]$' <<<"$BODY" || fail "plain counter: $(grep plain <<<"$BODY")"
grep -q '^meshwatch_tls_handshakes_total{result="failed"} 0$' <<<"$BODY" || fail "counted as failed handshakes: $(grep handshakes_total <<<"$BODY")"
ok "meshwatch_http_plain_requests_total counts them; none is a failed handshake"
ucurl "$A" /health
[ "$HTTP_STATUS" = 200 ] || fail "HTTPS after plain requests: $HTTP_STATUS"
ok "HTTPS still answers"
