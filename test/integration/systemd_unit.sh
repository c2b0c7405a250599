#!/usr/bin/env bash
# configs/meshwatch.service: `systemd-analyze verify` accepts it (with
# ExecStart pointing at the built binary, which verify requires to exist),
# `systemd-analyze security --offline` rates its exposure at most 3.0, it
# has the settings the README promises (dynamic user, state directory with
# the certificates inside, only CAP_NET_RAW, restart on failure, the socket
# families the node uses, @system-service), and the node accepts its
# command line and environment (meshwatch --check-config, with
# configs/node1/node.json standing in for /etc/meshwatch/node.json).
# Nothing is installed or started: that needs systemd as PID 1.
. "$(dirname "$0")/lib.sh"

UNIT=$(cd "$(dirname "$0")/../.." && pwd)/configs/meshwatch.service
command -v systemd-analyze >/dev/null 2>&1 || skip "needs systemd-analyze (the systemd package)"

sed "s|^ExecStart=/usr/local/bin/meshwatch |ExecStart=$MW |" "$UNIT" >"$TMP/meshwatch.service"
grep -q "^ExecStart=$MW " "$TMP/meshwatch.service" || fail "ExecStart is not /usr/local/bin/meshwatch ..."
out=$(systemd-analyze verify "$TMP/meshwatch.service" 2>&1) || fail "systemd-analyze verify: $out"
# verify also reports problems of the unit without failing: any line about it counts.
! grep -i "meshwatch.service" <<<"$out" || fail "systemd-analyze verify: $out"
ok "systemd-analyze verify accepts the unit"

sec=$(systemd-analyze security --offline=yes --threshold=30 "$TMP/meshwatch.service" 2>&1) ||
  fail "systemd-analyze security: exposure over 3.0: $(grep -m1 'Overall exposure' <<<"$sec" || tail -n 3 <<<"$sec")"
level=$(sed -n 's/.*Overall exposure level for meshwatch.service: \([0-9.]*\).*/\1/p' <<<"$sec")
[ -n "$level" ] || fail "systemd-analyze security printed no exposure level: $(tail -n 3 <<<"$sec")"
ok "systemd-analyze security --offline: exposure $level (at most 3.0)"

want() { grep -Eq "^$1" "$UNIT" || fail "the unit lacks $1"; }
want 'DynamicUser=yes'
want 'StateDirectory=meshwatch( |$)'
want 'Environment=.*DATA_DIR=/var/lib/meshwatch( |$)'
want 'Environment=.*CERT_DIR=/var/lib/meshwatch/certs( |$)'
want 'AmbientCapabilities=CAP_NET_RAW$'
want 'CapabilityBoundingSet=CAP_NET_RAW$'
want 'Restart=on-failure$'
want 'NoNewPrivileges=yes$'
want 'ProtectSystem=strict$'
want 'ProtectHome=yes$'
want 'PrivateTmp=yes$'
want 'SystemCallFilter=@system-service$'
for af in AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET; do
  want "RestrictAddressFamilies=.*\\b$af\\b"
done
ok "the unit has a dynamic user, its state directory with certs inside, only CAP_NET_RAW, restart on failure and the sandbox settings"

# The command line and environment, as systemd would pass them.
args=$(sed -n 's|^ExecStart=/usr/local/bin/meshwatch ||p' "$UNIT")
args=${args//\/etc\/meshwatch\/node.json/$(dirname "$UNIT")/node1/node.json}
envs=$(sed -n 's/^Environment=//p' "$UNIT")
# shellcheck disable=SC2086 # word splitting is the point: the unit's own words
eff=$(cd "$TMP" && env $envs "$MW" --check-config $args 2>"$TMP/check.log") || fail "meshwatch --check-config $args: $(cat "$TMP/check.log")"
[ "$(jget 'd["data_dir"]' <<<"$eff")" = /var/lib/meshwatch ] || fail "data_dir: $(jget 'd["data_dir"]' <<<"$eff")"
[ "$(jget 'd["cert_dir"]' <<<"$eff")" = /var/lib/meshwatch/certs ] || fail "cert_dir: $(jget 'd["cert_dir"]' <<<"$eff")"
ok "meshwatch --check-config accepts the unit's command line: data in /var/lib/meshwatch, certificates in its certs/"
