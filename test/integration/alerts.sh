#!/usr/bin/env bash
# Alerts with real nodes and real receivers: a four-node mesh whose nodes
# all send to the same webhook (Python, checks the HMAC), Alertmanager
# (Debian's prometheus-alertmanager) and SMTP sink (Python, STARTTLS).
# A node killed with -9 gives each receiver exactly one firing message
# naming it, from one node of the three, within poll_interval x
# (dead_after + 1) + 5 s; its restart gives exactly one resolved message,
# also to the webhook that was down at the time (the outbox waits for
# it). Then, on one node: the rules API (defaults, a threshold rule,
# every bad field a 400 naming it, a built-in that cannot be deleted), a
# silence that holds a target's messages back, acknowledgement, the test
# button, and the delivery state in /api/alerts/channels and /metrics.
. "$(dirname "$0")/lib.sh"
HERE=$(dirname "$0")
ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS - $* [${SECONDS} s]"; }

AM=$(command -v prometheus-alertmanager || true)
[ -n "$AM" ] || skip "prometheus-alertmanager is not installed (scripts/setup.sh installs it)"
command -v openssl >/dev/null || skip "openssl is not installed"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HOOK_PORT=$(free_port); SMTP_PORT=$(free_port); AM_PORT=$(free_port)
SECRET=hook-secret-42

start_hook() {
  python3 "$HERE/alert_receivers.py" webhook "$HOOK_PORT" "$TMP/hook.jsonl" "$SECRET" > "$TMP/hook.ready" 2>>"$TMP/hook.log" &
  HOOK_PID=$!; PIDS+=($HOOK_PID)
  for _ in $(seq 50); do grep -q ready "$TMP/hook.ready" 2>/dev/null && return; sleep 0.1; done
  fail "the webhook receiver did not start: $(cat "$TMP/hook.log")"
}
start_hook
# an HTTPS receiver with a self-signed certificate for localhost
TLS_PORT=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/tls.key" -out "$TMP/tls.crt" \
  -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
python3 "$HERE/alert_receivers.py" webhook "$TLS_PORT" "$TMP/tls.jsonl" "$SECRET" "$TMP/tls.crt" "$TMP/tls.key" \
  > "$TMP/tls.ready" 2>"$TMP/tls.log" &
PIDS+=($!)
mkdir -p "$TMP/mail"
python3 "$HERE/alert_receivers.py" smtp "$SMTP_PORT" "$TMP/mail" > "$TMP/smtp.ready" 2>"$TMP/smtp.log" &
PIDS+=($!)
cat > "$TMP/am.yml" <<EOF
route: {receiver: sink, group_wait: 1s}
receivers: [{name: sink}]
EOF
"$AM" --config.file="$TMP/am.yml" --storage.path="$TMP/am" --web.listen-address="127.0.0.1:$AM_PORT" \
  --cluster.listen-address= > "$TMP/am.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  grep -q ready "$TMP/smtp.ready" 2>/dev/null && curl -sf "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null || fail "Alertmanager did not start: $(tail -5 "$TMP/am.log")"
grep -q ready "$TMP/smtp.ready" || fail "the SMTP sink did not start: $(cat "$TMP/smtp.log")"

cat > "$TMP/alerts.json" <<EOF
{"channels": [
  {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:$HOOK_PORT/meshwatch", "secret": "$SECRET"},
  {"name": "am", "type": "alertmanager", "url": "http://127.0.0.1:$AM_PORT"},
  {"name": "chat", "type": "slack", "url": "http://127.0.0.1:$HOOK_PORT/services/T0/B0/secretpath", "min_severity": "critical"},
  {"name": "mail", "type": "smtp", "host": "127.0.0.1", "port": $SMTP_PORT, "starttls": true,
   "from": "meshwatch@example.test", "to": ["ops@example.test"], "min_severity": "critical"},
  {"name": "tls-checked", "type": "webhook", "url": "https://localhost:$TLS_PORT/checked", "min_severity": "critical"},
  {"name": "tls-self", "type": "webhook", "url": "https://localhost:$TLS_PORT/self", "tls_verify": false,
   "min_severity": "critical"}],
 "group_wait_s": 1}
EOF

base="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
addr() { echo "$base.$((10 + $1))"; }
export MESHWATCH_POLL_INTERVAL=1 MESHWATCH_SUSPECT_AFTER=1 MESHWATCH_DEAD_AFTER=3
declare -a PID
start_mesh_node() {
  local i=$1 next=$(( $1 % 4 + 1 ))
  echo "{\"nodes\":[{\"fqdn\":\"n$next.test\",\"ip\":\"$(addr $next)\"}]}" > "$TMP/seed$i.json"
  start_node "n$i" "$(addr $i)" --seed "$TMP/seed$i.json" --alerts "$TMP/alerts.json"
  PID[$i]=$NODE_PID
}

# ---- a bad alerts.json stops the node at start, naming the field ----
echo '{"channels":[{"name":"x","type":"pager"}]}' > "$TMP/bad.json"
st=0; "$MW" --listen "$(addr 9):8443" --data-dir "$TMP/bad" --alerts "$TMP/bad.json" > "$TMP/bad.out" 2>&1 || st=$?
[ $st = 2 ] && grep -q 'channels\[0\].*"type"' "$TMP/bad.out" || fail "bad alerts.json: exit $st, $(cat "$TMP/bad.out")"
ok "a wrong channel type in alerts.json stops the node at start (exit 2), naming the field"

for i in 1 2 3 4; do start_mesh_node "$i"; done
declare -a TOK
for i in 1 2 3; do TOK[$i]=$(login "$(addr $i)"); done
alive_count() { ucurl "$(addr $1)" /api/nodes -H "Authorization: Bearer ${TOK[$1]}"; echo "$BODY" | jget 'sum(1 for p in d["items"] if p["state"]=="alive")'; }
for _ in $(seq 300); do
  [ "$(alive_count 1)" = 3 ] && [ "$(alive_count 2)" = 3 ] && [ "$(alive_count 3)" = 3 ] && break
  sleep 0.2
done
for i in 1 2 3; do [ "$(alive_count $i)" = 3 ] || fail "n$i does not see 3 alive peers"; done
ok "four nodes, each sees the three others alive"

# ---- kill -9: one firing message per receiver, from one node ----
fired_hook() { python3 - "$TMP/hook.jsonl" "$1" <<'PY'
import json, sys
n = 0
try:
    for l in open(sys.argv[1]):
        r = json.loads(l)
        b = r["body"]
        if b.get("rule") == "peer-dead" and b["status"] == sys.argv[2] and any(a["subject_name"] == "n4.test" for a in b["alerts"]):
            n += 1
except FileNotFoundError:
    pass
print(n)
PY
}
mails() { grep -l "$1" "$TMP"/mail/mail-*.eml 2>/dev/null | xargs -r grep -l "n4.test" | wc -l; }
t0=$(date +%s.%N)
kill_node "${PID[4]}"
for _ in $(seq 200); do [ "$(fired_hook firing)" -ge 1 ] && break; sleep 0.1; done
[ "$(fired_hook firing)" -ge 1 ] || fail "no firing webhook for n4 within 20 s: $(cat "$TMP/hook.jsonl" 2>/dev/null | head -c 1500)"
# the receiver's own arrival stamp, not this loop's pace
t1=$(python3 -c "import json; print(min(r['at'] for r in map(json.loads, open('$TMP/hook.jsonl')) if r['body'].get('rule') == 'peer-dead'))")
lat=$(python3 -c "print(round($t1 - $t0, 1))")
if ! python3 -c "import sys; sys.exit(0 if $t1 - $t0 <= 1 * (3 + 1) + 5 else 1)"; then
  grep -h "n4.test.*-> dead\|firing: peer-dead\|sends the messages" "$TMP"/n[123].log >&2
  python3 -c "import json,datetime;[print('webhook got', r['body']['node']['fqdn'], datetime.datetime.utcfromtimestamp(r['at']).isoformat()) for r in map(json.loads, open('$TMP/hook.jsonl'))]" >&2
  echo "kill at $(date -u -d @$t0 +%T.%N)" >&2
  fail "the firing message took $lat s, more than poll_interval x (dead_after + 1) + 5 = 9 s"
fi
ok "kill -9 of n4: the webhook got the firing message in $lat s (bound 9 s)"
sleep 5   # anything more would have come by now
[ "$(fired_hook firing)" = 1 ] || fail "the webhook got $(fired_hook firing) firing messages for n4, not one"
python3 - "$TMP/hook.jsonl" > "$TMP/first.txt" <<'PY' || fail "the firing message: $(cat "$TMP/first.txt")"
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    b = r["body"]
    if b.get("rule") != "peer-dead":
        continue
    a = b["alerts"][0]
    assert r["sig_ok"], "the HMAC signature does not match the body"
    assert r["path"] == "/meshwatch", r["path"]
    assert r["delivery"], "no X-Meshwatch-Delivery"
    assert a["severity"] == "critical" and a["state"] == "firing", a
    assert "n4.test is dead" in a["summary"] and "3 of 3 vantage points agreed" in a["summary"], a["summary"]
    # the sender and the two others that could not reach n4 either, by name
    names = a["summary"].split("agreed (")[1].rstrip(")").split(", ")
    assert sorted(names) == ["n1.test", "n2.test", "n3.test"] and names[0] == b["node"]["fqdn"], a["summary"]
    assert sorted(a["evidence"]["vantage_agreed"]) == sorted(names[1:]), a["evidence"]
    print(b["node"]["fqdn"])
    break
PY
SENDER=$(cat "$TMP/first.txt")
ok "exactly one firing webhook, signed, from $SENDER: $(python3 -c "import json;[print(json.loads(l)['body']['alerts'][0]['summary']) for l in open('$TMP/hook.jsonl') if 'peer-dead' in l][:1]" | head -1)"
[ "$(mails FIRING)" = 1 ] || fail "$(mails FIRING) firing mails for n4, not one: $(ls "$TMP/mail")"
m=$(grep -l FIRING "$TMP"/mail/mail-*.eml | head -1)
grep -q "^X-Test-TLS: yes" "$m" || fail "the mail did not come over STARTTLS"
grep -q "^Subject: .*FIRING.*peer-dead" "$m" || fail "mail subject: $(grep Subject "$m")"
ok "exactly one firing mail, over STARTTLS"
python3 - "$TMP/hook.jsonl" > "$TMP/slack.txt" <<'PY' || fail "Slack messages: $(cat "$TMP/slack.txt")"
import json, sys
texts = [json.loads(l)["body"]["text"] for l in open(sys.argv[1]) if "/services/" in json.loads(l)["path"]]
fired = [t for t in texts if "FIRING" in t and "n4.test" in t]
assert len(fired) == 1, texts
print(fired[0].splitlines()[0])
PY
ok "exactly one Slack-style message: $(cat "$TMP/slack.txt")"
am_alerts() { curl -s "http://127.0.0.1:$AM_PORT/api/v2/alerts?filter=alertname%3D%22peer-dead%22" \
  | python3 -c 'import json,sys; print(" ".join(a["labels"]["subject_name"]+":"+a["status"]["state"] for a in json.load(sys.stdin)))'; }
for _ in $(seq 50); do am_alerts | grep -q "n4.test:active" && break; sleep 0.1; done
am_alerts | grep -q "n4.test:active" || fail "Alertmanager does not list the alert: $(am_alerts)"
ok "Alertmanager lists peer-dead for n4.test as active"
# the other two survivors hold the alert too, and name who sends
senders=0
for i in 1 2 3; do
  ucurl "$(addr $i)" "/api/alerts?state=firing" -H "Authorization: Bearer ${TOK[$i]}"
  echo "$BODY" | jget '[a for a in d["items"] if a["subject_name"]=="n4.test" and a["rule"]=="peer-dead"][0]["state"]' \
    | grep -qx firing || fail "n$i has no firing peer-dead alert for n4: $BODY"
  by=$(echo "$BODY" | jget '[a for a in d["items"] if a["subject_name"]=="n4.test"][0]["sent_by"]')
  if [ "$by" = None ]; then senders=$((senders + 1)); else [ "$by" = "$SENDER" ] || fail "n$i says $by sends, the webhook says $SENDER"; fi
done
[ $senders = 1 ] || fail "$senders nodes say they send the messages themselves"
ok "all three survivors show the alert firing; two of them name $SENDER as the one that sends"

# ---- HTTPS receivers: the certificate is checked unless the channel says not ----
for _ in $(seq 100); do grep -q '"path": "/self"' "$TMP/tls.jsonl" 2>/dev/null && break; sleep 0.1; done
grep -q '"path": "/self"' "$TMP/tls.jsonl" || fail "the tls_verify:false channel delivered nothing over HTTPS"
grep -q '"path": "/checked"' "$TMP/tls.jsonl" && fail "a self-signed receiver got a message from a channel that checks"
SJ=$(echo "$SENDER" | sed 's/^n\([0-9]\).*/\1/')
ucurl "$(addr $SJ)" /api/alerts/channels -H "Authorization: Bearer ${TOK[$SJ]}"
echo "$BODY" | jget '[c for c in d["items"] if c["name"]=="tls-checked"][0]["last_error"]' > "$TMP/tlserr.txt"
grep -q "not trusted" "$TMP/tlserr.txt" || fail "tls-checked's error: $(cat "$TMP/tlserr.txt")"
ok "HTTPS: a self-signed receiver is refused with \"$(cat "$TMP/tlserr.txt")\"; with tls_verify false it gets the message"

# ---- the webhook is down while n4 returns: the resolved message waits ----
kill "$HOOK_PID"; wait "$HOOK_PID" 2>/dev/null || true
start_mesh_node 4
SI=$(echo "$SENDER" | sed 's/^n\([0-9]\).*/\1/')
for _ in $(seq 200); do
  ucurl "$(addr $SI)" /api/alerts/channels -H "Authorization: Bearer ${TOK[$SI]}"
  [ "$(echo "$BODY" | jget '[c for c in d["items"] if c["name"]=="hook"][0]["state"]')" = failing ] && break
  sleep 0.1
done
echo "$BODY" | jget '[c for c in d["items"] if c["name"]=="hook"][0]' > "$TMP/ch.txt"
grep -q "'state': 'failing'" "$TMP/ch.txt" && grep -q "'queued': 1" "$TMP/ch.txt" \
  || fail "the sender's hook channel while the receiver is down: $(cat "$TMP/ch.txt")"
grep -q "'last_error': '.*refused" "$TMP/ch.txt" || fail "no last_error naming the refusal: $(cat "$TMP/ch.txt")"
ucurl "$(addr $SI)" /metrics -H "Authorization: Bearer ${TOK[$SI]}"
echo "$BODY" | grep -q 'meshwatch_notification_channel_failing{channel="hook",type="webhook"} 1' \
  || fail "/metrics does not show the failing channel"
grep -q secretpath "$TMP/ch.txt" && fail "the API shows the Slack URL's secret path"
ucurl "$(addr $SI)" /api/alerts/channels -H "Authorization: Bearer ${TOK[$SI]}"
echo "$BODY" | grep -q secretpath && fail "the API shows the Slack URL's secret path"
ok "receiver down: the channel shows failing, 1 queued, the error, and /metrics says so"
for _ in $(seq 100); do [ "$(mails RESOLVED)" -ge 1 ] && break; sleep 0.1; done
[ "$(mails RESOLVED)" = 1 ] || fail "$(mails RESOLVED) resolved mails, not one"
ok "the mail channel was not held up by the webhook: one resolved mail"
start_hook
for _ in $(seq 400); do [ "$(fired_hook resolved)" -ge 1 ] && break; sleep 0.1; done
[ "$(fired_hook resolved)" = 1 ] || fail "no resolved webhook after the receiver came back"
sleep 3
[ "$(fired_hook resolved)" = 1 ] && [ "$(fired_hook firing)" = 1 ] \
  || fail "after the outage: $(fired_hook firing) firing, $(fired_hook resolved) resolved (want 1 and 1)"
for _ in $(seq 50); do am_alerts | grep -q "n4.test:active" || break; sleep 0.2; done
am_alerts | grep -q "n4.test:active" && fail "Alertmanager still shows n4 active"
ok "receiver back: exactly one resolved webhook arrived, once; Alertmanager no longer lists n4 as active"

# ---- the rules API ----
A=$(addr 1); AUTH=(-H "Authorization: Bearer ${TOK[1]}" -H 'Content-Type: application/json')
ucurl "$A" /api/alerts/rules "${AUTH[@]}"
echo "$BODY" | jget '" ".join(sorted(r["name"] for r in d["items"] if r["builtin"]))' \
  | grep -qx "black-hole capture-failed cert-expiring db-not-writable peer-dead target-down" \
  || fail "default rules: $BODY"
ok "six default rules ship enabled"
bad_rule() {
  ucurl "$A" /api/alerts/rules -X POST "${AUTH[@]}" -d "$1"
  [ "$HTTP_STATUS" = 400 ] || fail "rule $1: expected 400, got $HTTP_STATUS $BODY"
  echo "$BODY" | grep -q "$2" || fail "rule $1: the error does not name $2: $BODY"
}
bad_rule '{"name":"x","type":"threshold","metric":"peer_rtt_ms","threshold":-1}' threshold
bad_rule '{"name":"x","type":"threshold","metric":"cpu","threshold":1}' metric
bad_rule '{"name":"x y","event_kind":"peer_state","fire_on":["dead"]}' name
bad_rule '{"name":"x","event_kind":"peer_state","fire_on":[]}' fire_on
bad_rule '{"name":"x","event_kind":"peer_state","fire_on":["dead"],"for_s":99999999}' for_s
bad_rule '{"name":"x","event_kind":"peer_state","fire_on":["dead"],"repeat_s":5}' repeat_s
bad_rule '{"name":"x","event_kind":"alert_state","fire_on":["firing"]}' event_kind
bad_rule '{"name":"x","event_kind":"peer_state","fire_on":["dead"],"colour":"red"}' colour
bad_rule '{"name":"x","event_kind":"peer_state","fire_on":["dead"],"labels":{"a":1}}' labels
bad_rule '{"name":"x","event_kind":"peer_state","fire_on":["dead"],"severity":"loud"}' severity
ucurl "$A" /api/alerts/rules -X POST "${AUTH[@]}" -d '[1,2]'
expect_status 400 "an array as a rule"
ok "bad rules answer 400 naming the field"
ucurl "$A" /api/alerts/rules -X POST "${AUTH[@]}" \
  -d '{"name":"rtt-high","type":"threshold","metric":"peer_rtt_ms","op":">","threshold":0,"for_s":2,"severity":"warning","labels":{"team":"net"}}'
expect_status 201 "threshold rule"
RID=$(echo "$BODY" | jget 'd["id"]')
ucurl "$A" /api/alerts/rules -X POST "${AUTH[@]}" -d '{"name":"rtt-high","event_kind":"x","fire_on":["y"]}'
expect_status 409 "a second rule of the same name"
for _ in $(seq 100); do
  ucurl "$A" "/api/alerts?state=firing" "${AUTH[@]}"
  [ "$(echo "$BODY" | jget 'sum(1 for a in d["items"] if a["rule"]=="rtt-high")')" = 3 ] && break; sleep 0.2
done
[ "$(echo "$BODY" | jget 'sum(1 for a in d["items"] if a["rule"]=="rtt-high")')" = 3 ] \
  || fail "an RTT > 0 ms rule does not fire for the three peers: $BODY"
ucurl "$A" "/api/events?kind=threshold&limit=10" "${AUTH[@]}"
[ "$(echo "$BODY" | jget 'd["total"]')" -ge 3 ] || fail "no threshold events: $BODY"
ok "a threshold rule (RTT > 0 ms for 2 s) fires for each of the three peers, with threshold events"
ucurl "$A" "/api/alerts/rules/$RID" -X PUT "${AUTH[@]}" -d '{"enabled":false}'
expect_status 200 "disable a rule"
ucurl "$A" "/api/alerts/rules/$RID" -X DELETE "${AUTH[@]}"
expect_status 204 "delete a rule"
ucurl "$A" "/api/alerts/rules/1" -X DELETE "${AUTH[@]}"
expect_status 400 "delete a built-in rule"
ucurl "$A" "/api/alerts/rules/99999" -X PUT "${AUTH[@]}" -d '{"enabled":false}'
expect_status 404 "change an unknown rule"
ok "rules: disable, delete, a built-in cannot be deleted, an unknown id is 404"

# ---- grouping: three targets down at once leave as one message ----
before=$(grep -c '"rule": "target-down"' "$TMP/hook.jsonl" || true)
for p in 2 3 4; do
  ucurl "$A" /api/targets -X POST "${AUTH[@]}" -d "{\"name\":\"grouped-$p\",\"host\":\"$A\",\"port\":$p,\"interval_s\":1}"
  expect_status 201 "target on port $p"
done
for _ in $(seq 100); do [ "$(grep -c '"rule": "target-down"' "$TMP/hook.jsonl" || true)" -gt "$before" ] && break; sleep 0.1; done
sleep 3
python3 - "$TMP/hook.jsonl" > "$TMP/group.txt" <<'PY' || fail "grouping: $(cat "$TMP/group.txt")"
import json, sys
msgs = [json.loads(l)["body"] for l in open(sys.argv[1]) if json.loads(l)["path"] == "/meshwatch"]
msgs = [b for b in msgs if b.get("rule") == "target-down"]
assert len(msgs) == 1, [(b["title"], len(b["alerts"])) for b in msgs]
names = sorted(a["subject_name"] for a in msgs[0]["alerts"])
assert names == ["grouped-2", "grouped-3", "grouped-4"], names
print(msgs[0]["title"])
PY
ok "three targets down within group_wait_s: one webhook message with the three alerts ($(cat "$TMP/group.txt"))"

# ---- a silence holds a target's messages back; ack; the test button ----
ucurl "$A" /api/alerts/silences -X POST "${AUTH[@]}" -d '{"subject_type":"target","duration_s":5}'
expect_status 400 "a silence shorter than a minute"
ucurl "$A" /api/alerts/silences -X POST "${AUTH[@]}" -d '{"rule":"target-down","duration_s":600,"comment":"switch swap"}'
expect_status 201 "silence"
SID=$(echo "$BODY" | jget 'd["id"]')
before=$(wc -l < "$TMP/hook.jsonl")
ucurl "$A" /api/targets -X POST "${AUTH[@]}" -d "{\"name\":\"dead-port\",\"host\":\"$A\",\"port\":1,\"interval_s\":1}"
expect_status 201 "target"
for _ in $(seq 100); do
  ucurl "$A" "/api/alerts?state=firing" "${AUTH[@]}"
  echo "$BODY" | jget '[a for a in d["items"] if a["rule"]=="target-down"][0]["silenced"]' 2>/dev/null | grep -qx True && break
  sleep 0.1
done
AID=$(echo "$BODY" | jget '[a for a in d["items"] if a["rule"]=="target-down"][0]["id"]')
echo "$BODY" | jget '[a for a in d["items"] if a["rule"]=="target-down"][0]["silenced"]' | grep -qx True \
  || fail "the target-down alert is not silenced: $BODY"
sleep 3
after=$(wc -l < "$TMP/hook.jsonl")
grep -q '"subject_name": "dead-port"' "$TMP/hook.jsonl" && fail "a silenced alert was sent"
ok "a silence on target-down: the alert fires and shows silenced; nothing is sent ($before -> $after messages)"
ucurl "$A" "/api/alerts/$AID/ack" -X POST "${AUTH[@]}"
expect_status 200 "ack"
echo "$BODY" | jget 'd["acknowledged"], d["acked_by"]' | grep -qx "True admin" || fail "ack: $BODY"
ucurl "$A" "/api/alerts/999999/ack" -X POST "${AUTH[@]}"
expect_status 404 "ack of an unknown alert"
ucurl "$A" "/api/alerts/silences/$SID" -X DELETE "${AUTH[@]}"
expect_status 204 "silence deleted"
ok "acknowledged by admin; an unknown alert is 404; the silence is deleted"
ucurl "$A" /api/alerts/channels/1/test -X POST "${AUTH[@]}"
expect_status 202 "test button"
for _ in $(seq 100); do grep -q '"status": "test"' "$TMP/hook.jsonl" && break; sleep 0.1; done
grep -q '"status": "test"' "$TMP/hook.jsonl" || fail "the test message did not arrive"
ucurl "$A" /api/alerts/channels/9/test -X POST "${AUTH[@]}"
expect_status 404 "test of an unknown channel"
ok "the test button sends a test message through the webhook; an unknown channel is 404"
ucurl "$A" "/api/alerts?state=bogus" "${AUTH[@]}"
expect_status 400 "a bad state filter"
ucurl "$A" /api/alerts
expect_status 401 "no session"
ok "GET /api/alerts refuses a bad state (400) and no session (401)"
# ---- an event of the start itself: a capture that cannot open ----
start_node cap "$(addr 8)" --pcap "$TMP/missing.pcap" --alerts "$TMP/alerts.json"
for _ in $(seq 100); do grep -q '"rule": "capture-failed"' "$TMP/hook.jsonl" && break; sleep 0.1; done
grep '"rule": "capture-failed"' "$TMP/hook.jsonl" | grep -q "cap.test" \
  || fail "no capture-failed message from a node whose capture file is missing"
ok "a capture that fails at start raises capture-failed at once (the engine listens before capture opens)"
echo "all $CHECKS checks passed"
