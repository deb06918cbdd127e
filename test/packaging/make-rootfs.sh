#!/usr/bin/env bash
# Builds (once) a minimal Debian bookworm rootfs tarball with systemd, for the heavy installer test.
# Usage: make-rootfs.sh <cache-tarball>. Only Debian's package mirror is reachable from test
# machines, so the mirror is read from the host's own apt sources rather than hard-coded.
set -euo pipefail
out=${1:?usage: make-rootfs.sh <cache-tarball>}
[ -s "$out" ] && { echo "rootfs cache present: $out"; exit 0; }

mirror=$(grep -hoE '^(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
  awk '{print $2}' | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/srs-stack-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "debootstrap bookworm from $mirror into $work"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,curl,ca-certificates,procps,iproute2 \
  bookworm "$work/rootfs" "$mirror"
# What a cloud image has and minbase lacks: a hostname and a /bin/sh that BT-style scripts expect.
echo srs-stack-test >"$work/rootfs/etc/hostname"
chroot "$work/rootfs" apt-get clean
mkdir -p "$(dirname "$out")"
tar -C "$work/rootfs" --numeric-owner -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "rootfs cached: $out ($(du -h "$out" | cut -f1))"
