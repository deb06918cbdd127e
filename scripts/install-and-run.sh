#!/usr/bin/env bash
# README command 1: install everything on a fresh Debian 12 / Ubuntu 22.04+ and run the stack in
# the foreground (DATA_DIR defaults to ./.tmp/data for a try-out; the installer uses /data).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_node
apt_install "${RUNTIME_PACKAGES[@]}"
say "Installing Node.js dependencies (npm ci)"
npm ci --no-audit --no-fund
say "Building"
npm run build
export DATA_DIR="${DATA_DIR:-$PWD/.tmp/data}"
say "Starting SRS Stack: console http://localhost:${MGMT_LISTEN:-2022}/mgmt, RTMP port ${RTMP_LISTEN:-1935}, data in $DATA_DIR"
exec node dist/server/main.js
