#!/bin/bash
# Image bake, step 0 (DigitalOcean and Lighthouse): bring the base OS up to date and lay down this
# image's files (first-boot script, login banner) with the modes cloud-init and update-motd need.
# Packer uploads image-builder/files/ to /tmp/srs-stack-files first.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# shellcheck source=/dev/null
. /etc/os-release
echo "Base image: ${PRETTY_NAME:-unknown}"

apt-get -qq update
apt-get -qqy -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade
# cloud-init runs the first-boot script; ufw is the firewall the marketplace check looks for.
apt-get -qqy install --no-install-recommends cloud-init ufw curl ca-certificates

install -D -m 0755 /tmp/srs-stack-files/var/lib/cloud/scripts/per-instance/001_onboot \
  /var/lib/cloud/scripts/per-instance/001_onboot
install -D -m 0755 /tmp/srs-stack-files/etc/update-motd.d/99-srs-stack /etc/update-motd.d/99-srs-stack
rm -rf /tmp/srs-stack-files
