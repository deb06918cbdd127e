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
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
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
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$created_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
  # Stock services stay off: the stack runs its own nginx and redis-server.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for svc in nginx redis-server; do
      as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
  fi
}

ensure_node() {
  if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ]; then
    say "Node.js $(node -v) found"
    return 0
  fi
  apt_install nodejs npm
}

# shellcheck disable=SC2034 # used by the scripts that source this file
RUNTIME_PACKAGES=(ffmpeg nginx-core libnginx-mod-rtmp redis-server ca-certificates openssl)
# shellcheck disable=SC2034
TEST_PACKAGES=(chromium fonts-liberation shellcheck pebble packer debootstrap systemd-container zip unzip python3 iproute2)
