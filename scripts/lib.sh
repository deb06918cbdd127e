#!/usr/bin/env bash
# Shared helpers for the two README commands: package installation that never lets Debian's stock
# nginx or redis services start (on a panel host, port 80 belongs to the panel's nginx).
set -euo pipefail

say() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian/Ubuntu packages named in "$@" that are missing, with progress.
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' && continue
    # Ubuntu 22.04's libsrt (see below) stands for Debian's.
    [ "$pkg" = libsrt1.5-openssl ] && dpkg-query -W -f='${Status}' libsrt1.4-openssl 2>/dev/null | grep -q 'install ok installed' && continue
    missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    say "System packages already present: $*"
    return 0
  fi
  say "Installing system packages: ${missing[*]}"
  # A policy-rc.d that denies service starts keeps the stock nginx/redis from being started.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    created_policy=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # libsrt: Debian 12 and Ubuntu 24.04 ship libsrt1.5-openssl, Ubuntu 22.04 libsrt1.4-openssl (the
  # stack loads either); the name is settled once the package lists are fresh.
  local i
  for i in "${!missing[@]}"; do
    if [ "${missing[$i]}" = libsrt1.5-openssl ] && ! apt-cache show libsrt1.5-openssl >/dev/null 2>&1 \
      && apt-cache show libsrt1.4-openssl >/dev/null 2>&1; then
      missing[i]=libsrt1.4-openssl
    fi
  done
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$created_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
  # Stock services stay off: the stack runs its own nginx and redis-server.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for svc in nginx redis-server; do
      as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
  fi
}

# Node.js 20+ is needed (ioredis, koa-router and mpegts.js require it). Debian 12 ships 18: then
# npm (from apt) fetches the official Node.js build published on the npm registry as the package
# node-linux-<arch>, integrity-checked by npm, into .tmp/ and puts it first on PATH.
NODE_FALLBACK_VERSION=22.20.0
ensure_node() {
  local major=0
  if command -v node >/dev/null 2>&1; then major=$(node -p 'process.versions.node.split(".")[0]'); fi
  if [ "$major" -ge 20 ] && command -v npm >/dev/null 2>&1 && [ -z "${FORCE_NODE_FETCH:-}" ]; then
    say "Node.js $(node -v) found"
    return 0
  fi
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  if [ "$major" -ge 20 ] && [ -z "${FORCE_NODE_FETCH:-}" ]; then return 0; fi
  local arch dir
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "unsupported CPU $(uname -m)" >&2; return 1 ;; esac
  dir="$PWD/.tmp/node-$NODE_FALLBACK_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    say "Fetching Node.js $NODE_FALLBACK_VERSION from the npm registry (package node-linux-$arch)"
    mkdir -p "$dir"
    (cd "$PWD/.tmp" && npm pack --silent "node-linux-$arch@$NODE_FALLBACK_VERSION" >/dev/null)
    tar xzf "$PWD/.tmp/node-linux-$arch-$NODE_FALLBACK_VERSION.tgz" -C "$dir" --strip-components=1
    rm -f "$PWD/.tmp/node-linux-$arch-$NODE_FALLBACK_VERSION.tgz"
  fi
  export PATH="$dir/bin:$PATH"
  say "Using Node.js $(node -v) from $dir"
}

# fonts-dejavu-core: the default restream slate's text (ffmpeg brings it today, named so it stays).
# libsrt1.5-openssl: SRT publish and play (features/srt loads it through koffi; without it SRT is off).
# shellcheck disable=SC2034 # used by the scripts that source this file
RUNTIME_PACKAGES=(ffmpeg nginx-core libnginx-mod-rtmp redis-server ca-certificates openssl fonts-dejavu-core libsrt1.5-openssl)
# The GStreamer packages are the tests' IP camera: a real RTSP server (test/fixtures/rtsp-camera);
# yt-dlp is the optional downloader of virtual live from a web page (vlive/ytdl); srt-tools gives
# srt-live-transmit for poking the SRT port by hand. fonts-wqy-microhei: Chinese glyphs, so the console's zh
# pages are checked (e2e, screenshots) as rendered, not as boxes. podman, runc and iptables run the
# container image in the heavy packaging group (test/packaging/container-image.test.ts).
# shellcheck disable=SC2034
TEST_PACKAGES=(chromium fonts-liberation fonts-wqy-microhei shellcheck pebble packer debootstrap systemd-container podman runc iptables zip unzip python3 iproute2 yt-dlp srt-tools
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
