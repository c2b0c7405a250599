#!/usr/bin/env bash
# The Docker files, checked without a Docker engine (compose_check.py):
# every config file docker-compose.yml mounts exists and is mounted
# read-only, each service's command is accepted by `meshwatch --check-config`
# with those very files (their repository paths) and the environment of
# configs/mesh.env.example, the seeds and reporting servers name services of
# the compose network, host ports are unique, every node has its own data
# and certificate volumes; the Dockerfile's build stage runs
# scripts/setup.sh, its runtime stage installs real Debian packages
# (apt-cache show) that cover every library the binary links, runs as a
# non-root user, and declares the volumes, ports and health check. When a
# compose implementation is installed, its `config` validates the file too.
. "$(dirname "$0")/lib.sh"

# python3 with PyYAML: the one on PATH, or Debian's (python3-yaml).
PY=
for p in python3 /usr/bin/python3; do
  command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || skip "needs python3 with PyYAML (python3-yaml) to read docker-compose.yml"
"$PY" "$(dirname "$0")/compose_check.py" "$(cd "$(dirname "$0")/../.." && pwd)" "$MW" "$TMP"
