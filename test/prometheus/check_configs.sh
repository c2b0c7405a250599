#!/usr/bin/env bash
# The shipped Prometheus and Grafana files, checked the way their users'
# tools read them: promtool check config on prometheus.yml (its token file
# replaced by one that exists), check rules and the unit tests of
# rules.yml, and the Grafana dashboard's structure and every query
# (check_grafana.py). No network, no node.
#   check_configs.sh SOURCE_ROOT
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
PROMTOOL=${PROMTOOL:-promtool}
command -v "$PROMTOOL" >/dev/null 2>&1 || { echo "skipped: promtool not installed"; exit 77; }
CFG=$ROOT/configs/prometheus
TMP=$(mktemp -d /tmp/mwpromcfg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }

# check config reads the token file and the rule files: the config's
# placeholders point at a token file that exists here, its rules stay the
# shipped ones (copied beside it, as the relative path wants).
echo "read-token" > "$TMP/meshwatch.token"
grep -q 'credentials_file: /etc/prometheus/meshwatch.token' "$CFG/prometheus.yml" || fail "prometheus.yml names no /etc/prometheus/meshwatch.token"
sed "s#/etc/prometheus/meshwatch.token#$TMP/meshwatch.token#" "$CFG/prometheus.yml" > "$TMP/prometheus.yml"
cp "$CFG/rules.yml" "$TMP/rules.yml"
out=$("$PROMTOOL" check config "$TMP/prometheus.yml" 2>&1) || fail "promtool check config: $out"
grep -q "SUCCESS: 1 rule files found" <<<"$out" || fail "prometheus.yml does not load rules.yml: $out"
ok "promtool check config prometheus.yml (with rules.yml)"
# the scrape job's shape: SD from a node, Bearer for both SD and scrape
python3 - "$TMP/prometheus.yml" <<'PY' || fail "prometheus.yml's scrape job"
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
jobs = c["scrape_configs"]
assert len(jobs) == 1, "one scrape job"
j = jobs[0]
assert j["scheme"] == "https" and j["metrics_path"] == "/metrics"
sd = j["http_sd_configs"]
assert len(sd) == 1 and sd[0]["url"].endswith("/api/prometheus/sd"), sd
for where in (j, sd[0]):
    assert where["authorization"]["type"] == "Bearer" and where["authorization"]["credentials_file"], where
    assert "tls_config" in where
assert c["global"]["scrape_interval"] == "15s"
PY
ok "one job: HTTP SD from a node's /api/prometheus/sd, Bearer token file for SD and scrape"

out=$("$PROMTOOL" check rules "$CFG/rules.yml" 2>&1) || fail "promtool check rules: $out"
ok "promtool check rules rules.yml ($(grep -o '[0-9]* rules found' <<<"$out"))"
for a in MeshwatchPeerDown MeshwatchPeerLoss MeshwatchPMTUChanged MeshwatchBlackHole MeshwatchTargetDown MeshwatchCertificateExpiring MeshwatchNodeDown MeshwatchMetricsCapped; do
  grep -q "alert: $a$" "$CFG/rules.yml" || fail "rules.yml has no alert $a"
  grep -q "alertname: $a$" "$CFG/rules_test.yml" || fail "rules_test.yml does not test $a"
done
ok "rules.yml has the 8 alerts and rules_test.yml tests each"
out=$(cd "$CFG" && "$PROMTOOL" test rules rules_test.yml 2>&1) || fail "promtool test rules: $out"
ok "promtool test rules rules_test.yml"

python3 "$ROOT/test/prometheus/check_grafana.py" "$ROOT/configs/grafana/meshwatch.json" "$PROMTOOL"
echo "all checks passed"
