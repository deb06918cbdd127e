# SRS Stack in one container image: the app (the release tarball the installer installs, production
# node_modules bundled), the Node.js runtime the installer pins, nginx with the RTMP module,
# redis-server, ffmpeg, libsrt (SRT) and tini as PID 1. docs/container.md says how it is built, run
# and checked.
#
# The build context is a folder holding linux-srs_stack.tar.gz: `npm run release` builds the
# tarball, then this image from it (release/srs-stack-image.tar). By hand:
#   npm ci && npm run release && docker build -t srs-stack -f Dockerfile release
#
# BASE lets the tests build from a bookworm rootfs they imported themselves (no registry there).
ARG BASE=debian:bookworm-slim

# Stage 1: the app laid out as the installer lays it out (/usr/local/srs-stack/{app,bin,runtime}).
FROM ${BASE} AS app
ARG NPM_REGISTRY=https://registry.npmjs.org
# ADD unpacks a local tar.gz: /stage/srs-stack is the release tree.
ADD linux-srs_stack.tar.gz /stage/
# The installer's own Node.js fetch (pinned version and SHA-512, from the npm registry), stopped
# before the install itself; curl comes from apt in this throwaway stage only. The tarball carries
# the x64 and arm64 binaries of the native addons, the Node.js package its C headers: the image
# keeps this CPU's binaries and bin/node.
RUN set -eu; \
    node=$(bash /stage/srs-stack/installer/setup.sh --node-only --registry "$NPM_REGISTRY"); \
    mkdir -p /usr/local/srs-stack/bin; \
    ln -s "$node" /usr/local/srs-stack/bin/node; \
    mv /stage/srs-stack /usr/local/srs-stack/app; \
    cp /usr/local/srs-stack/app/installer/files/srs-stack.cli /usr/local/srs-stack/bin/srs-stack; \
    chmod 755 /usr/local/srs-stack/bin/srs-stack; \
    find "$(dirname "$(dirname "$node")")" -mindepth 1 -maxdepth 1 ! -name bin ! -name LICENSE -exec rm -rf {} +; \
    case "$(uname -m)" in x86_64) other=arm64 ;; *) other=x64 ;; esac; \
    find /usr/local/srs-stack/app/node_modules -mindepth 1 -maxdepth 2 -type d -name "*linux-$other*" -prune -exec rm -rf {} +

# Stage 2: the runtime image.
FROM ${BASE}
# The installer's SYSTEM_PACKAGES and libsrt (installer/lib/rules.mjs; a unit test keeps the lists
# equal), plus tini. apt's lists and caches are dropped; its archives too, unless the builder
# mounted a cache there (the tests do).
RUN set -eu; \
    apt-get update -q; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      ffmpeg nginx-core libnginx-mod-rtmp redis-server openssl ca-certificates fonts-dejavu-core libsrt1.5-openssl tini; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    mountpoint -q /var/cache/apt/archives || apt-get clean
COPY --from=app /usr/local/srs-stack /usr/local/srs-stack
RUN ln -s /usr/local/srs-stack/bin/srs-stack /usr/local/bin/srs-stack

# The same start as the installer's systemd unit (installer/files/srs-stack.service: Environment=,
# WorkingDirectory=, ExecStart=; a unit test keeps them equal). PLATFORM_DOCKER=on makes mgmt/envs
# report the container, as SRS Stack's image does; CLOUD=DOCKER is SRS Stack's name for it.
ENV DATA_DIR=/data NODE_ENV=production PLATFORM_DOCKER=on CLOUD=DOCKER
WORKDIR /usr/local/srs-stack/app
VOLUME /data
# Console and API, HTTPS, RTMP, WebRTC media, SRT: what SRS Stack's run line publishes.
EXPOSE 2022/tcp 2443/tcp 1935/tcp 8000/udp 10080/udp
# tini is PID 1: it hands SIGTERM to the Node process (which stops its redis-server, nginx and
# ffmpeg children in order, as under systemd's KillMode=mixed) and reaps orphans.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/usr/local/srs-stack/bin/node", "/usr/local/srs-stack/app/dist/server/main.js"]
# mgmt/check answers once Redis is up and the boot keys exist (srs-stack health asks it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/srs-stack/bin/srs-stack", "health"]
