#!/usr/bin/env bash
# Builds meshwatch and runs every test suite twice: a normal build, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build. Exits non-zero on any
# failure. Tests that cannot run here print "skipped: why" and count as
# skipped, never as passed.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

run_suite() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir" >/dev/null
  meson test -C "$dir" --print-errorlogs --num-processes 2 || return 1
}

status=0
run_suite build || status=1
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false || status=1

# One closing line over both builds: N passed, N failed, N skipped.
python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
p = f = s = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): p += 1
        elif r == "SKIP": s += 1
        else: f += 1
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $status
