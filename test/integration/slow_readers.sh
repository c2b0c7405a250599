#!/usr/bin/env bash
# Every response arrives whole however slowly the client reads it, whether
# the connection then closes (Connection: close, HTTP/1.0) or stays open:
# small, medium and large responses (up to ~250 KB of /api/flows from a
# capture file), read at full speed and slowly through a small receive
# buffer. A close must let the kernel deliver the rest, not reset the
# connection.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")

python3 "$HERE/gen_pcap.py" bench "$TMP/many.pcap" 3000 3000
A=$(rand_addr)
start_node n1 "$A" --pcap "$TMP/many.pcap" --bpf ''
TOKEN=$(login "$A")
H="Authorization: Bearer $TOKEN"

# wait until the capture file has been read: 3000 flows
for i in $(seq 1 100); do
  ucurl "$A" '/api/flows?limit=1' -H "$H"
  [ "$HTTP_STATUS" = 200 ] && [ "$(echo "$BODY" | jget 'd["total"]')" -ge 2000 ] && break
  sleep 0.2
done
ucurl "$A" '/api/flows?limit=1000' -H "$H"
LARGE=${#BODY}
[ "$LARGE" -gt 200000 ] || fail "the large response is only $LARGE bytes (want > 200 KB to test truncation)"
ok "large response: $LARGE bytes"

declare -A SIZES=([small]='/health' [medium]='/assets/app.js' [large]='/api/flows?limit=1000')

# curl: full speed and --limit-rate, each way of ending the connection.
for size in small medium large; do
  path=${SIZES[$size]}
  for mode in close http10 keepalive; do
    for rate in 0 100k; do
      args=(-sk --max-time 20 -H "$H" -o "$TMP/out" -D "$TMP/hdr" -w '%{http_code} %{size_download}')
      [ "$rate" = 0 ] || args+=(--limit-rate "$rate")
      case $mode in
        close) args+=(-H 'Connection: close') ;;
        http10) args+=(--http1.0) ;;
      esac
      rc=0; res=$(curl "${args[@]}" "https://$A:8443$path") || rc=$?
      want=$(awk 'tolower($1) == "content-length:" {print $2 + 0}' "$TMP/hdr")
      [ "$rc" = 0 ] || fail "curl $size $mode rate=$rate: exit $rc after ${res#* } of $want bytes"
      [ "$res" = "200 $want" ] || fail "curl $size $mode rate=$rate: got '$res', want '200 $want'"
      python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/out" 2>/dev/null || [ "$size" = medium ] ||
        fail "curl $size $mode rate=$rate: body is not whole JSON"
    done
  done
  ok "curl reads $size ($path, $want bytes) whole: Connection: close, HTTP/1.0, keep-alive; full speed and 100 KB/s"
done

# A reader with a 4 KB receive buffer that starts reading after 1 s, at
# 120 KB/s: the server's writes block on a full socket.
for size in medium large; do
  path=${SIZES[$size]}
  for mode in close http10 keepalive; do
    out=$(python3 "$HERE/slow_reader.py" "$A" "$path" "$TOKEN" "$mode" 120000) ||
      fail "slow reader $size $mode: $out"
  done
  ok "a slow reader (4 KB buffer, 120 KB/s) gets $size whole, each way of closing ($out)"
done

ucurl "$A" /health
expect_status 200 "node healthy after the slow readers"
