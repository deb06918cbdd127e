#!/usr/bin/env bash
# README command 2: install what the tests need (system packages, npm ci) and run the whole
# suite: lint, unit, integration (real redis-server, nginx-rtmp, ffmpeg), e2e (headless Chromium),
# packaging. .ci/run runs exactly this on a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
started=$(date +%s)
ensure_node
apt_install "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
say "Installing Node.js dependencies (npm ci)"
npm ci --no-audit --no-fund
say "Building"
npm run build
say "Lint and format check"
npm run lint
say "Running the test suite"
# The heavy packaging group (the installer run for real in a Debian rootfs) is part of CI.
export SRS_STACK_HEAVY_TESTS="${SRS_STACK_HEAVY_TESTS:-1}"
npm run test:run
say "All tests passed in $(( $(date +%s) - started )) s"
