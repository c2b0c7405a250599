#!/usr/bin/env bash
# Failed TLS handshakes are counted by what the client did, so that scanner
# noise is told apart from real TLS trouble (/api/node tls.failed_by_kind,
# meshwatch_tls_handshake_failures_total{kind}): a connection closed
# before any byte, or silent until the handshake timeout, is "no_hello";
# bytes that are no TLS hello are "not_tls"; a TLS client offering no
# cipher this node takes, or refusing its self-signed certificate, is
# "tls_error". The kinds add up to handshakes_failed, and a discovery scan
# of the node's own port adds no tls_error.
. "$(dirname "$0")/lib.sh"

A=$(rand_addr)
MESHWATCH_HANDSHAKE_TIMEOUT_MS=500 MESHWATCH_SCAN_SUBNETS="$A/32" MESHWATCH_SCAN_RDNS=0 start_node n1 "$A"
T=$(login "$A")

# counts: "failed no_hello not_tls tls_error" from /api/node
counts() {
  ucurl "$A" /api/node -H "Authorization: Bearer $T"
  [ "$HTTP_STATUS" = 200 ] || fail "/api/node: HTTP $HTTP_STATUS"
  jget '" ".join(str(int(x)) for x in (d["tls"]["handshakes_failed"], d["tls"]["failed_by_kind"]["no_hello"], d["tls"]["failed_by_kind"]["not_tls"], d["tls"]["failed_by_kind"]["tls_error"]))' <<<"$BODY"
}
# expect WANT(f nh nt te, deltas from BEFORE) WHAT
expect() {
  local now want i
  # the handshake's end is counted by the server thread: allow it a moment
  for i in $(seq 30); do
    now=$(counts)
    want=$(python3 -c 'import sys; b=[int(x) for x in sys.argv[1].split()]; d=[int(x) for x in sys.argv[2].split()]; print(" ".join(str(x+y) for x,y in zip(b,d)))' "$BEFORE" "$1")
    [ "$now" = "$want" ] && break
    sleep 0.1
  done
  [ "$now" = "$want" ] || fail "$2: failed/no_hello/not_tls/tls_error went from \"$BEFORE\" to \"$now\", want \"$want\""
  ok "$2 ($now)"
  BEFORE=$now
}

BEFORE=$(counts)
python3 - "$A" <<'PY'
import socket, sys
socket.create_connection((sys.argv[1], 8443), timeout=5).close()
PY
expect "1 1 0 0" "a connection closed before any byte counts as no_hello"

python3 - "$A" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8443), timeout=5)
time.sleep(1.0)  # past the 500 ms handshake timeout
s.close()
PY
expect "1 1 0 0" "a connection silent until the handshake timeout counts as no_hello"

python3 - "$A" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 8443), timeout=5)
s.sendall(b"\x00\x01\x02\x03 this is no TLS hello\r\n\r\n")
try:
    s.recv(100)
except OSError:
    pass
s.close()
PY
expect "1 0 1 0" "bytes that are no TLS hello count as not_tls"

python3 - "$A" <<'PY'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers("AES128-SHA")  # RSA key exchange: the node offers only ECDHE-ECDSA
try:
    ctx.wrap_socket(socket.create_connection((sys.argv[1], 8443), timeout=5)).close()
    sys.exit("the handshake with no common cipher succeeded")
except ssl.SSLError:
    pass
PY
expect "1 0 0 1" "a TLS client with no cipher in common counts as tls_error"

python3 - "$A" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context()  # verifies the certificate: the self-signed one is refused
ctx.check_hostname = False
try:
    ctx.wrap_socket(socket.create_connection((sys.argv[1], 8443), timeout=5)).close()
    sys.exit("a verifying client accepted the self-signed certificate")
except ssl.SSLCertVerificationError:
    pass
PY
expect "1 0 0 1" "a TLS client refusing the self-signed certificate counts as tls_error"

ucurl "$A" /metrics -H "Authorization: Bearer $T"
read -r f nh nt te <<<"$BEFORE"
grep -q "^meshwatch_tls_handshakes_total{result=\"failed\"} $f$" <<<"$BODY" || fail "metrics: $(grep handshake <<<"$BODY")"
grep -q "^meshwatch_tls_handshake_failures_total{kind=\"no_hello\"} $nh$" <<<"$BODY" || fail "metrics no_hello: $(grep handshake <<<"$BODY")"
grep -q "^meshwatch_tls_handshake_failures_total{kind=\"not_tls\"} $nt$" <<<"$BODY" || fail "metrics not_tls: $(grep handshake <<<"$BODY")"
grep -q "^meshwatch_tls_handshake_failures_total{kind=\"tls_error\"} $te$" <<<"$BODY" || fail "metrics tls_error: $(grep handshake <<<"$BODY")"
[ $((nh + nt + te)) = "$f" ] || fail "the kinds ($nh + $nt + $te) do not add up to $f failed handshakes"
ok "/metrics has the same counts by kind, and they add up to the failed handshakes"

# a scan of this node's own HTTPS port: scanner noise, never a tls_error
ucurl "$A" /api/scans -X POST -H "Authorization: Bearer $T" -H 'Content-Type: application/json' \
  -d "{\"subnets\":[\"$A/32\"],\"ports\":[8443]}"
[ "$HTTP_STATUS" = 201 ] || [ "$HTTP_STATUS" = 202 ] || fail "POST /api/scans: HTTP $HTTP_STATUS $BODY"
id=$(jget 'd["id"]' <<<"$BODY")
for _ in $(seq 100); do
  ucurl "$A" "/api/scans/$id" -H "Authorization: Bearer $T"
  [ "$(jget 'd["state"]' <<<"$BODY")" = completed ] && break
  sleep 0.2
done
[ "$(jget 'd["state"]' <<<"$BODY")" = completed ] || fail "the scan did not complete: $BODY"
now=$(counts)
read -r f2 nh2 nt2 te2 <<<"$now"
[ "$te2" = "$te" ] || fail "a scan of the node's own port counted as tls_error: \"$BEFORE\" -> \"$now\""
ok "a discovery scan of the node's own port adds no tls_error (failed/no_hello/not_tls/tls_error \"$BEFORE\" -> \"$now\")"
