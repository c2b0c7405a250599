#!/usr/bin/env bash
# Packet export: GET /api/capture/pcap streams the recent-packet ring (and,
# live, what the capture adds for `seconds`) as a pcap file.
#  1. offline: a node reads a capture file this test writes; the download
#     holds every record of the file, byte for byte, with the file's link
#     type and snaplen; tcpdump reads it;
#  2. bpf=udp keeps exactly the file's UDP frames; a bad filter is 400
#     with libpcap's message; a filter longer than 1024 bytes is 400;
#  3. max_bytes: a small one cuts at a record boundary (the file stays
#     readable, the largest whole prefix that fits); out-of-range
#     max_bytes and seconds are 400; seconds is ignored for a file (said
#     in a header);
#  4. admin only: a read-only user and a read-scope token get 403, the
#     metrics token 403, no credential 401;
#  5. the ring's bound: a file larger than a 1 MiB ring downloads as
#     exactly its last records that fit in 1 MiB; /api/stats agrees;
#  6. capture off, ring off, capture failed: 409, 409, 503 with reasons;
#     pcap_ring_bytes out of range is refused at start;
#  7. live (root: capture on lo): the ring's packets and then those sent
#     during `seconds`; two downloads at once, a third gets 429 with
#     Retry-After.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

export MESHWATCH_RETENTION_DAYS=3650
python3 "$HERE/gen_pcap.py" known "$TMP/known.pcap" "$TMP/expect.json"


# pcap_check FILE: prints "linktype snaplen records" of a pcap this
# node wrote, failing on any malformed or truncated record
cat > "$TMP/pcap.py" <<'EOF'
import struct, sys

def records(path):
    data = open(path, "rb").read()
    magic, major, minor, _, _, snap, lt = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4 and (major, minor) == (2, 4), (hex(magic), major, minor)
    out, off = [], 24
    while off < len(data):
        assert off + 16 <= len(data), "a record header cut short"
        caplen, wirelen = struct.unpack("<II", data[off + 8:off + 16])
        assert caplen <= wirelen or caplen <= snap, (caplen, wirelen)
        assert off + 16 + caplen <= len(data), "a record cut short"
        out.append(data[off:off + 16 + caplen])
        off += 16 + caplen
    return lt, snap, out

if __name__ == "__main__":
    cmd = sys.argv[1]
    lt, snap, recs = records(sys.argv[2])
    if cmd == "info":
        print(lt, snap, len(recs))
    elif cmd == "same":       # same records as file 3
        lt2, snap2, recs2 = records(sys.argv[3])
        sys.exit(0 if (lt, snap, recs) == (lt2, snap2, recs2) else "records differ")
    elif cmd == "prefix":     # the longest prefix of file 3's records within max_bytes argv[4]
        _, _, recs2 = records(sys.argv[3])
        room, n = int(sys.argv[4]) - 24, 0
        while n < len(recs2) and room >= len(recs2[n]):
            room -= len(recs2[n]); n += 1
        sys.exit(0 if recs == recs2[:n] and n > 0 else f"got {len(recs)} records, want the first {n}")
    elif cmd == "suffix":     # the last records of file 3 that fit in a ring of argv[4] bytes
        _, _, recs2 = records(sys.argv[3])
        room, n = int(sys.argv[4]), 0
        while n < len(recs2) and room >= len(recs2[-1 - n]):
            room -= len(recs2[-1 - n]); n += 1
        ok = recs == recs2[len(recs2) - n:]
        print(n)
        sys.exit(0 if ok else f"got {len(recs)} records, want the last {n}")
EOF
pinfo() { python3 "$TMP/pcap.py" info "$1"; }

A=$(rand_addr)
printf '%s\n' "metrics-scrape-secret-0123456789" > "$TMP/metrics.token"
start_node n1 "$A" --pcap "$TMP/known.pcap" --bpf '' --metrics-token-file "$TMP/metrics.token"
TOKEN=$(login "$A")
AUTH=(-H "Authorization: Bearer $TOKEN")
wait_finished "$A" "$TOKEN"

# download DEST QUERY [curl args]: sets HTTP_STATUS, headers in $TMP/h
download() {
  local dest=$1 q=$2; shift 2
  HTTP_STATUS=$(curl -sk --max-time 30 -D "$TMP/h" -o "$dest" -w '%{http_code}' "$@" "https://$A:8443/api/capture/pcap$q") || true
}

# 1. the whole file
download "$TMP/all.pcap" "" "${AUTH[@]}"
expect_status 200 "GET /api/capture/pcap"
grep -qi '^Content-Type: application/vnd.tcpdump.pcap' "$TMP/h" || fail "content type: $(cat "$TMP/h")"
grep -qiE '^Content-Disposition: attachment; filename="n1\.test-[0-9]{8}T[0-9]{6}Z\.pcap"' "$TMP/h" ||
  fail "content disposition: $(cat "$TMP/h")"
grep -qi '^Transfer-Encoding: chunked' "$TMP/h" || fail "not streamed: $(cat "$TMP/h")"
python3 "$TMP/pcap.py" same "$TMP/all.pcap" "$TMP/known.pcap" || fail "the download is not the file's records"
[ "$(pinfo "$TMP/all.pcap")" = "1 65535 44" ] || fail "link type, snaplen, records: $(pinfo "$TMP/all.pcap")"
ok "the download holds all 44 records of the file byte for byte (Ethernet, snaplen 65535), streamed chunked"
N=$(tcpdump -nr "$TMP/all.pcap" 2>/dev/null | wc -l)
[ "$N" = 44 ] || fail "tcpdump reads $N packets"
ok "tcpdump reads all 44 packets"

# 2. filters
download "$TMP/udp.pcap" "?bpf=udp" "${AUTH[@]}"
expect_status 200 "bpf=udp"
WANT=$(tcpdump -nr "$TMP/known.pcap" udp 2>/dev/null | wc -l)
[ "$(pinfo "$TMP/udp.pcap" | cut -d' ' -f3)" = "$WANT" ] || fail "bpf=udp: $(pinfo "$TMP/udp.pcap"), want $WANT records"
[ "$(tcpdump -nr "$TMP/udp.pcap" 'not udp' 2>/dev/null | wc -l)" = 0 ] || fail "bpf=udp kept frames that are not UDP"
[ "$WANT" -gt 5 ] || fail "the file has only $WANT UDP frames"
ok "bpf=udp: the $WANT UDP frames of the file and nothing else"
download "$TMP/v.pcap" "?bpf=vlan+100" "${AUTH[@]}"
[ "$(pinfo "$TMP/v.pcap" | cut -d' ' -f3)" = 3 ] || fail "bpf=vlan 100: $(pinfo "$TMP/v.pcap")"
ok "bpf=vlan 100: its 3 tagged frames"
download "$TMP/bad" "?bpf=tcp+port+(((" "${AUTH[@]}"
expect_status 400 "a bad BPF filter"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"]=="invalid_query" and "bpf" in d["detail"] and "syntax error" in d["detail"], d' "$TMP/bad" ||
  fail "bad filter: $(cat "$TMP/bad")"
ok "a bad filter: 400 naming bpf, with libpcap's message ($(jget 'd["detail"]' < "$TMP/bad"))"
LONG=$(python3 -c 'print("udp" + " or udp" * 200)' | sed 's/ /+/g')
download "$TMP/bad" "?bpf=$LONG" "${AUTH[@]}"
expect_status 400 "a filter longer than 1024 bytes"

# 3. max_bytes and seconds
for mb in 24 100 1000 3000; do
  download "$TMP/cut.pcap" "?max_bytes=$mb" "${AUTH[@]}"
  [ "$HTTP_STATUS" = 200 ] || fail "max_bytes=$mb: HTTP $HTTP_STATUS"
  SIZE=$(stat -c %s "$TMP/cut.pcap")
  [ "$SIZE" -le "$mb" ] || fail "max_bytes=$mb: $SIZE bytes"
  if [ "$mb" -ge 100 ]; then
    python3 "$TMP/pcap.py" prefix "$TMP/cut.pcap" "$TMP/known.pcap" "$mb" || fail "max_bytes=$mb"
    tcpdump -nr "$TMP/cut.pcap" > /dev/null 2> "$TMP/td.err" || fail "tcpdump: $(cat "$TMP/td.err")"
    ! grep -qi truncated "$TMP/td.err" || fail "tcpdump says: $(cat "$TMP/td.err")"
  else
    [ "$(pinfo "$TMP/cut.pcap")" = "1 65535 0" ] || fail "max_bytes=24: $(pinfo "$TMP/cut.pcap")"
  fi
done
ok "max_bytes 24, 100, 1000, 3000: the longest run of whole records that fits, readable by tcpdump"
for q in max_bytes=23 max_bytes=67108865 max_bytes=x seconds=-1 seconds=61 seconds=x; do
  download "$TMP/bad" "?$q" "${AUTH[@]}"
  [ "$HTTP_STATUS" = 400 ] || fail "?$q: HTTP $HTTP_STATUS"
  jget 'd["detail"]' < "$TMP/bad" | grep -q "\"${q%%=*}\"" || fail "?$q: $(cat "$TMP/bad")"
done
ok "max_bytes below 24 or above 64 MiB, seconds below 0 or above 60: 400 naming the parameter"
T0=$(date +%s%N)
download "$TMP/s.pcap" "?seconds=5" "${AUTH[@]}"
T1=$(date +%s%N)
[ "$HTTP_STATUS" = 200 ] && [ $(((T1 - T0) / 1000000)) -lt 3000 ] || fail "seconds=5 on a file: $HTTP_STATUS after $(((T1 - T0) / 1000000)) ms"
grep -qi '^X-Meshwatch-Pcap-Live-Seconds: 0' "$TMP/h" && grep -qi '^X-Meshwatch-Pcap-Note: .*seconds=5 ignored' "$TMP/h" ||
  fail "seconds on a file: $(cat "$TMP/h")"
[ "$(pinfo "$TMP/s.pcap" | cut -d' ' -f3)" = 44 ] || fail "seconds=5 on a file: $(pinfo "$TMP/s.pcap")"
ok "seconds on a capture file: ignored, at once, and the answer says so"
curl -sk -I "${AUTH[@]}" "https://$A:8443/api/capture/pcap" > "$TMP/head" || true
grep -q '^HTTP/1.1 200' "$TMP/head" || fail "HEAD: $(cat "$TMP/head")"

# 4. admin only
ucurl "$A" /api/tokens "${AUTH[@]}" -X POST -d '{"name":"reader","scope":"read"}'
READ_TOKEN=$(echo "$BODY" | jget 'd["token"]')
ucurl "$A" /api/users "${AUTH[@]}" -X POST -d '{"username":"viewer","password":"viewer-pass-1","role":"read"}'
expect_status 201 "create a read-only user"
VIEWER=$(login "$A" viewer viewer-pass-1)
for cred in "$READ_TOKEN" "$VIEWER" "metrics-scrape-secret-0123456789"; do
  download "$TMP/bad" "" -H "Authorization: Bearer $cred"
  [ "$HTTP_STATUS" = 403 ] || fail "a read-only credential: HTTP $HTTP_STATUS"
  [ "$(jget 'd["error"]' < "$TMP/bad")" = forbidden ] || fail "403 body: $(cat "$TMP/bad")"
done
ucurl "$A" /api/stats -H "Authorization: Bearer $READ_TOKEN"
[ "$HTTP_STATUS" = 200 ] || fail "the read token still reads /api/stats"
download "$TMP/bad" ""
expect_status 401 "no credential"
ok "a read-scope token, a read-only user and the metrics token get 403; no credential 401"
ucurl "$A" /api/stats "${AUTH[@]}"
echo "$BODY" | jget '(d["pcap_ring"]["packets"], d["pcap_ring"]["max_bytes"], d["pcap_ring"]["downloads_active"], d["pcap_ring"]["downloads_total"] >= 5, d["ipfix"])' |
  grep -qx "(44, 4194304, 0, True, None)" || fail "/api/stats pcap_ring: $BODY"
ok "/api/stats: the ring holds 44 packets of 4 MiB, no download left running"
stop_node "$NODE_PID"

# 5. the ring's bound: 8000 frames (about 2.6 MB) through a 1 MiB ring
python3 "$HERE/gen_pcap.py" bench "$TMP/big.pcap" 8000 300
B=$(rand_addr)
start_node n2 "$B" --pcap "$TMP/big.pcap" --pcap-ring-bytes 1048576
TOKEN=$(login "$B")
wait_finished "$B" "$TOKEN"
STATS=$BODY
HTTP_STATUS=$(curl -sk --max-time 30 -o "$TMP/ring.pcap" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "https://$B:8443/api/capture/pcap")
[ "$HTTP_STATUS" = 200 ] || fail "ring download: $HTTP_STATUS"
K=$(python3 "$TMP/pcap.py" suffix "$TMP/ring.pcap" "$TMP/big.pcap" 1048576) || fail "the ring's download: $K"
[ "$(echo "$STATS" | jget '(d["pcap_ring"]["packets"], d["pcap_ring"]["used_bytes"] <= 1048576, d["pcap_ring"]["max_bytes"])')" = "($K, True, 1048576)" ] ||
  fail "ring stats: $(echo "$STATS" | jget 'd["pcap_ring"]'), want $K packets"
[ "$K" -gt 1000 ] && [ "$K" -lt 8000 ] || fail "$K records in the ring"
ok "a 1 MiB ring after 8000 frames: the download is exactly the last $K records that fit, as /api/stats says"
stop_node "$NODE_PID"

# 6. off, ring off, failed
start_node n3 "$B"
download_b() { HTTP_STATUS=$(curl -sk --max-time 30 -o "$TMP/b" -w '%{http_code}' -H "Authorization: Bearer $(login "$B")" "https://$B:8443/api/capture/pcap"); }
download_b
[ "$HTTP_STATUS" = 409 ] && [ "$(jget 'd["error"]' < "$TMP/b")" = capture_off ] || fail "capture off: $HTTP_STATUS $(cat "$TMP/b")"
stop_node "$NODE_PID"
start_node n4 "$B" --pcap "$TMP/known.pcap" --pcap-ring-bytes 0
download_b
[ "$HTTP_STATUS" = 409 ] && [ "$(jget 'd["error"]' < "$TMP/b")" = pcap_ring_off ] && grep -q pcap_ring_bytes "$TMP/b" ||
  fail "ring off: $HTTP_STATUS $(cat "$TMP/b")"
stop_node "$NODE_PID"
start_node n5 "$B" --pcap "$TMP/missing.pcap"
download_b
[ "$HTTP_STATUS" = 503 ] && [ "$(jget 'd["error"]' < "$TMP/b")" = capture_unavailable ] && grep -q missing.pcap "$TMP/b" ||
  fail "capture failed: $HTTP_STATUS $(cat "$TMP/b")"
stop_node "$NODE_PID"
ok "capture off: 409 capture_off; pcap_ring_bytes 0: 409 pcap_ring_off; a capture that failed: 503 with its reason"
for bad in 1 1048575 268435457 -1; do
  st=0
  "$MW" --data-dir "$TMP/cfg" --pcap-ring-bytes "$bad" --check-config > "$TMP/cfg.out" 2>&1 || st=$?
  [ "$st" = 2 ] && grep -q "pcap_ring_bytes\|pcap-ring-bytes" "$TMP/cfg.out" || fail "--pcap-ring-bytes $bad: exit $st, $(cat "$TMP/cfg.out")"
done
"$MW" --data-dir "$TMP/cfg" --pcap-ring-bytes 268435456 --check-config | jget 'd["pcap_ring_bytes"]' | grep -qx 268435456 ||
  fail "--pcap-ring-bytes 268435456"
ok "pcap_ring_bytes 1, 1048575, 268435457, -1 refused at start (exit 2); 0 and 1 MiB to 256 MiB accepted"

# 7. live, on lo: needs root
if [ "$(id -u)" != 0 ]; then
  echo "# skipped: the live part needs root (capture on lo)"
  echo "# $CHECKS checks passed"
  exit 0
fi
C=$(rand_addr)
PORT=$((20000 + RANDOM % 20000))
start_node n6 "$C" --iface lo --bpf "udp and dst host $C and dst port $PORT"
TOKEN=$(login "$C")
ucurl "$C" /api/stats -H "Authorization: Bearer $TOKEN"
[ "$(echo "$BODY" | jget 'd["state"]')" = running ] || fail "live capture on lo: $BODY"
send_udp() { python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(b"m" * (100 + i), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.005)' "$C" "$PORT" "$1"; }
ring_packets() {
  local i
  for i in $(seq 50); do
    ucurl "$C" /api/stats -H "Authorization: Bearer $TOKEN"
    [ "$(echo "$BODY" | jget 'd["pcap_ring"]["packets"]')" = "$1" ] && return 0
    sleep 0.1
  done
  fail "the ring did not reach $1 packets: $(echo "$BODY" | jget 'd["pcap_ring"]')"
}
send_udp 20
ring_packets 20
for k in 1 2; do
  curl -sk --max-time 60 -o "$TMP/live$k.pcap" -D "$TMP/live$k.h" -H "Authorization: Bearer $TOKEN" \
    "https://$C:8443/api/capture/pcap?seconds=15" &
  PIDS+=($!)
  eval "LIVE$k=$!"
done
for i in $(seq 50); do
  ucurl "$C" /api/stats -H "Authorization: Bearer $TOKEN"
  [ "$(echo "$BODY" | jget 'd["pcap_ring"]["downloads_active"]')" = 2 ] && break
  sleep 0.1
done
[ "$(echo "$BODY" | jget 'd["pcap_ring"]["downloads_active"]')" = 2 ] || fail "two downloads are not running: $BODY"
HTTP_STATUS=$(curl -sk --max-time 10 -D "$TMP/h3" -o "$TMP/b3" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "https://$C:8443/api/capture/pcap")
send_udp 30
[ "$HTTP_STATUS" = 429 ] || fail "a third download at once: HTTP $HTTP_STATUS"
grep -qi '^Retry-After: [0-9]' "$TMP/h3" || fail "429 without Retry-After: $(cat "$TMP/h3")"
[ "$(jget 'd["error"]' < "$TMP/b3")" = too_many_downloads ] || fail "429 body: $(cat "$TMP/b3")"
ok "a third download while two run: 429 too_many_downloads with Retry-After"
wait "$LIVE1" || fail "the first live download failed"
wait "$LIVE2" || fail "the second live download failed"
for k in 1 2; do
  grep -qi '^X-Meshwatch-Pcap-Live-Seconds: 15' "$TMP/live$k.h" || fail "live header: $(cat "$TMP/live$k.h")"
  [ "$(pinfo "$TMP/live$k.pcap")" = "1 160 50" ] || fail "live download $k: $(pinfo "$TMP/live$k.pcap") (want Ethernet, snaplen 160, 50)"
  [ "$(tcpdump -nr "$TMP/live$k.pcap" "udp and dst port $PORT" 2>/dev/null | wc -l)" = 50 ] || fail "tcpdump on live download $k"
done
ok "live on lo, seconds=15: each of two downloads holds the ring's 20 datagrams and the 30 sent meanwhile (Ethernet, snaplen 160)"
ucurl "$C" /api/stats -H "Authorization: Bearer $TOKEN"
echo "$BODY" | jget '(d["pcap_ring"]["downloads_active"], d["pcap_ring"]["downloads_refused"], d["pcap_ring"]["download_lost_bytes"])' |
  grep -qx "(0, 1, 0)" || fail "download counters: $(echo "$BODY" | jget 'd["pcap_ring"]')"
ok "/api/stats counts the refused download; none running, none fell behind"
echo "# $CHECKS checks passed"
