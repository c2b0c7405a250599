#!/usr/bin/env bash
# The attacks an outsider on the same network can make against a node, as
# one regression suite: each part under hostile/ starts its own nodes and
# fake peers on loopback, attacks, and asserts the bound that stops it.
#   scan_poison.sh   registrations of other addresses, /nodeinfo/reach as a
#                    port scanner, a fake peer that floods and redirects the
#                    peer table, out-of-range X-Mw-* headers
#   report_flood.sh  POST /report floods: origins, cells, size cap, /api/mesh
#   pinning.sh       an impostor at a peer's address, replayed signatures,
#                    /nodeinfo's size, the certificate's addresses
# A part exits 0 (passed), 77 (skipped, it says why) or anything else
# (failed). The suite fails if any part fails, and is skipped only if every
# part is.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
passed=0 skipped=0 failed=()
for part in "$here"/hostile/*.sh; do
  name=$(basename "$part" .sh)
  echo "=== hostile/$name"
  rc=0
  bash "$part" || rc=$?
  case $rc in
    0) passed=$((passed + 1)) ;;
    77) skipped=$((skipped + 1)) ;;
    *) failed+=("$name (exit $rc)") ;;
  esac
done
echo "hostile_mesh: $passed parts passed, ${#failed[@]} failed, $skipped skipped"
[ ${#failed[@]} -eq 0 ] || { echo "FAIL: ${failed[*]}" >&2; exit 1; }
[ "$passed" -gt 0 ] || { echo "skipped: every part was skipped"; exit 77; }
exit 0
