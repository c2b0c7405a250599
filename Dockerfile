# meshwatch image, two stages on Debian 12:
#   build:   the same scripts/setup.sh a developer runs (build packages only,
#            civetweb's source from Debian with apt-get source, uPlot from
#            npm as package-lock.json pins it), then meson.
#   runtime: bookworm-slim with only the shared libraries the binary links,
#            curl for the health check, libcap2-bin for setcap; runs as an
#            unprivileged user with cap_net_raw on the binary (for capture).
#   docker build -t meshwatch .
#   docker run -p 8443:8443/tcp -p 8443:8443/udp -v mw-data:/var/lib/meshwatch/data \
#     -v mw-certs:/var/lib/meshwatch/certs meshwatch --name node1.example.com
# docker-compose.yml runs the five-node mesh from configs/.

FROM debian:bookworm AS build
WORKDIR /src
# setup.sh first, alone, so that its layer (apt-get install, civetweb's and
# mbedTLS's tarballs) is cached across source changes. When the build context
# lacks a tarball (.dockerignore keeps them if present), setup.sh adds a
# deb-src entry derived from the image's own debian.sources and runs apt-get
# source; each tarball is checked against the hash in its subprojects/*.wrap.
# The lock file too: setup.sh installs the dashboard's chart library (uPlot,
# embedded into the binary) with npm ci --omit=dev; node_modules/ is not in
# the build context (.dockerignore), nor npm in the runtime image.
COPY scripts/setup.sh scripts/setup.sh
COPY subprojects/ subprojects/
COPY package.json package-lock.json ./
RUN ./scripts/setup.sh --build-only
COPY . .
# -O2, not release's -O3: 60 KB less program text mapped in each node, and
# the time goes to TLS, SQLite and the kernel, not to meshwatch's own code
RUN meson setup build-image --buildtype=release -Doptimization=2 \
 && ninja -C build-image meshwatch \
 && install -D -m 0755 -s build-image/meshwatch /out/meshwatch \
 && /out/meshwatch --version

FROM debian:bookworm-slim AS runtime
# Runtime libraries of the binary (ldd: SQLite, cJSON, http-parser, xxHash,
# zlib; mbedTLS is linked in, built from Debian's source by the build stage; libpcap, opened when a capture starts), curl for HEALTHCHECK,
# libcap2-bin for setcap.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libsqlite3-0 libcjson1 libhttp-parser2.9 libxxhash0 zlib1g \
      libpcap0.8 ca-certificates curl libcap2-bin \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid, so that volumes keep their owner across image rebuilds; the
# directories exist (owned by it, 0700) before VOLUME, so new named volumes
# start with that owner.
RUN groupadd --system --gid 10001 meshwatch \
 && useradd --system --uid 10001 --gid meshwatch --home-dir /var/lib/meshwatch --no-create-home \
      --shell /usr/sbin/nologin meshwatch \
 && install -d -o meshwatch -g meshwatch -m 0700 /var/lib/meshwatch /var/lib/meshwatch/data /var/lib/meshwatch/certs
COPY --from=build /out/meshwatch /usr/local/bin/meshwatch
# Raw sockets for capture without root. Only cap_net_raw: a file capability
# outside the container's bounding set makes exec fail, and NET_RAW is in
# Docker's default set where NET_ADMIN is not (with --cap-drop ALL, add
# --cap-add NET_RAW back).
RUN setcap cap_net_raw+ep /usr/local/bin/meshwatch \
 && getcap /usr/local/bin/meshwatch | grep -q cap_net_raw
ENV DATA_DIR=/var/lib/meshwatch/data \
    CERT_DIR=/var/lib/meshwatch/certs
VOLUME ["/var/lib/meshwatch/data", "/var/lib/meshwatch/certs"]
USER 10001:10001
WORKDIR /var/lib/meshwatch
# HTTPS and the UDP responder (RTT, loss, path MTU) share the port number.
EXPOSE 8443/tcp 8443/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD curl -kfsS --max-time 4 -o /dev/null https://localhost:8443/health || exit 1
ENTRYPOINT ["/usr/local/bin/meshwatch"]
