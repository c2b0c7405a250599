#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test meshwatch,
# and fetches civetweb's and mbedTLS's sources from the distribution. Idempotent, and quick
# when everything is already there.
#   scripts/setup.sh               build + test dependencies
#   scripts/setup.sh --bench       also the benchmark peers (nginx, wrk, nmap,
#                                  tcpdump, tshark, tcpreplay, node_exporter)
#   scripts/setup.sh --build-only  only what building needs (the Dockerfile's
#                                  build stage): no browser, and of npm's
#                                  packages only the dashboard's (uPlot)
set -euo pipefail
cd "$(dirname "$0")/.."

want_bench=0 build_only=0
case "${1:-}" in
  --bench) want_bench=1 ;;
  --build-only) build_only=1 ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--bench | --build-only]" >&2; exit 2 ;;
esac

# libcmocka-dev belongs to the build: meson configures the unit tests too.
# xz-utils unpacks civetweb's tarball; dpkg-dev goes with apt-get source.
# mbedTLS is built from its source (subprojects/mbedtls.wrap), not the
# distribution's libmbedtls-dev: meshwatch needs options Debian's build
# leaves off.
packages=(
  gcc meson ninja-build pkg-config python3 ca-certificates
  libsqlite3-dev libcjson-dev libpcap-dev libcmocka-dev libhttp-parser-dev libxxhash-dev zlib1g-dev
  xz-utils dpkg-dev
)
# npm installs the dashboard's chart library (uPlot), which the build
# embeds into the binary, and the browser test's driver. A machine may
# already have Node.js from elsewhere (then Debian's npm package would
# conflict).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
if [ "$build_only" = 0 ]; then
  # Tests: curl and openssl talk to nodes, iproute2 and nftables build the
  # namespace meshes, python3-yaml reads docker-compose.yml, systemd brings
  # systemd-analyze for the unit file, chromium runs the dashboard test.
  packages+=(curl openssl procps iproute2 nftables python3-yaml systemd chromium)
  # MAC vendors: the IEEE registry (discovery reads oui.txt when present)
  packages+=(ieee-data)
  # promtool checks the /metrics exposition the way Prometheus reads it, and
  # the shipped configs/prometheus files; prometheus and victoria-metrics
  # scrape a test mesh with them (each test runs its own instance on a
  # loopback address; the packages' own services, where systemd starts
  # them, are not used)
  packages+=(prometheus victoria-metrics)
  # alert notifications are checked against a real Alertmanager
  packages+=(prometheus-alertmanager)
  # packet downloads are read back with tcpdump; IPFIX export is checked
  # against nfdump's collector (nfcapd)
  packages+=(tcpdump nfdump)
fi
# tshark asks whether non-root users may capture: DEBIAN_FRONTEND=noninteractive
# (below) takes the default answer, no.
# prometheus-node-exporter is the scrape-cost anchor of test/bench/prometheus.sh
# (the bench starts its own on loopback; the package's service stays as Debian sets it)
[ "$want_bench" = 1 ] && packages+=(nginx-light wrk nmap tcpdump tshark tcpreplay prometheus-node-exporter)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
apt_updated=0
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  apt_updated=1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# civetweb 1.15 and mbedTLS 2.28.3: the distribution's own source tarballs,
# checked against the hashes in subprojects/*.wrap. Never committed.
have_hash() { # tarball wrap
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$(sed -n 's/^source_hash = //p' "$2")" ]
}
deb_src_ready=0
# Only the upstream tarball is built, not Debian's patches: when Debian's
# source package is newer than the version the wrap was made for (a
# security update patches the same tarball), say so loudly.
fetch_source() { # package tarball-name wrap debian-version
  local pkg=$1 name=$2 wrap=$3 made_for=$4 tarball=subprojects/packagefiles/$2 tmp dsc
  have_hash "$tarball" "$wrap" && return 0
  echo "setup: fetching $pkg source with apt-get source"
  if [ "$deb_src_ready" = 0 ]; then
    # A deb-src entry derived from the machine's own sources, if it has none.
    if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
          $SUDO tee /etc/apt/sources.list.d/meshwatch-deb-src.sources >/dev/null
      elif [ -f /etc/apt/sources.list ]; then
        grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
          $SUDO tee /etc/apt/sources.list.d/meshwatch-deb-src.list >/dev/null
      fi
      apt_updated=0
    fi
    [ "$apt_updated" = 1 ] || $SUDO apt-get update -qq
    apt_updated=1 deb_src_ready=1
  fi
  tmp=$(mktemp -d)
  chmod 777 "$tmp"
  (cd "$tmp" && apt-get source --download-only -qq "$pkg" >/dev/null 2>&1) || true
  cp "$tmp/$name" "$tarball" 2>/dev/null || true
  dsc=$(cd "$tmp" && ls "${pkg}"_*.dsc 2>/dev/null | head -1)
  dsc=${dsc#"${pkg}"_} dsc=${dsc%.dsc}
  if [ -n "$dsc" ] && [ "$dsc" != "$made_for" ]; then
    echo "setup: WARNING: Debian's $pkg source is $dsc; meshwatch builds the upstream tarball of $made_for" >&2
    echo "setup:          without Debian's patches: read $pkg's changelog for security fixes and update $wrap" >&2
  fi
  rm -rf "$tmp"
  have_hash "$tarball" "$wrap" || {
    echo "setup: $pkg: no source tarball $name with the hash in $wrap (apt-get source $pkg)" >&2
    exit 1
  }
}
fetch_source civetweb civetweb_1.15+dfsg.orig.tar.xz subprojects/civetweb.wrap 1.15+dfsg-4
fetch_source mbedtls mbedtls_2.28.3.orig.tar.gz subprojects/mbedtls.wrap 2.28.3-1

# An unpacked civetweb keeps the patch and build file it was unpacked with.
# Unpacked with another patch (or before the stamp existed): unpacked again.
# A newer build file is brought over (meson then reconfigures the builds
# that use it).
patch_sum=$(sha256sum subprojects/packagefiles/civetweb-mbedtls.patch | cut -d' ' -f1)
stamp=subprojects/civetweb-1.15/.meshwatch-patch.sha256
if [ -d subprojects/civetweb-1.15 ] && [ "$(cat "$stamp" 2>/dev/null)" != "$patch_sum" ]; then
  echo "setup: civetweb patch changed: unpacking civetweb again"
  rm -rf subprojects/civetweb-1.15
fi
if [ ! -d subprojects/civetweb-1.15 ] && [ -f meson.build ]; then # (an image build's first layer has no meson.build: meson setup unpacks it there)
  meson subprojects download civetweb >/dev/null
  echo "$patch_sum" >"$stamp"
fi
if [ -d subprojects/civetweb-1.15 ] && ! cmp -s subprojects/packagefiles/civetweb/meson.build subprojects/civetweb-1.15/meson.build; then
  cp subprojects/packagefiles/civetweb/meson.build subprojects/civetweb-1.15/meson.build
fi
# mbedTLS: meson unpacks it at the first setup; an unpacked tree gets the
# current build file and configuration header (meson then reconfigures).
mbedtls_dir=subprojects/$(sed -n 's/^directory = //p' subprojects/mbedtls.wrap)
if [ -d "$mbedtls_dir" ]; then
  for f in meson.build include/meshwatch_mbedtls_config.h; do
    cmp -s "subprojects/packagefiles/mbedtls/$f" "$mbedtls_dir/$f" || cp "subprojects/packagefiles/mbedtls/$f" "$mbedtls_dir/$f"
  done
fi

# npm's packages, pinned by package-lock.json, never committed: uPlot
# (dependencies), which the build embeds into the binary, and, except with
# --build-only, playwright-core (devDependencies), which drives the browser
# test. Installed again when the lock file changed or a package is missing.
if [ -f package-lock.json ]; then
  need=0
  [ -f node_modules/uplot/dist/uPlot.iife.min.js ] || need=1
  [ "$build_only" = 1 ] || [ -f node_modules/playwright-core/package.json ] || need=1
  stamp=node_modules/.package-lock.json
  { [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ]; } || need=1
  if [ "$need" = 1 ]; then
    omit=()
    [ "$build_only" = 1 ] && omit=(--omit=dev)
    echo "setup: npm ci ${omit[*]}"
    log="${TMPDIR:-/tmp}/meshwatch-npm.log"
    if ! npm ci "${omit[@]}" --no-audit --no-fund --loglevel=error >/dev/null 2>"$log"; then
      # Without the registry the node still builds and runs: the dashboard
      # says its charts are missing, and the browser tests say skipped.
      echo "setup: npm ci failed ($(grep -m1 -i 'npm ERR!\|npm error' "$log" || true); see $log):" \
        "the dashboard is built without its charts (uPlot) and the browser tests will be skipped" >&2
    elif [ -f meson.build ]; then
      touch meson.build # build directories configured without uPlot take it on their next build
    fi
  fi
fi
echo "setup: ok"
