#!/bin/bash
# Image bake, step 1: install SRS Stack from the release tarball Packer uploaded, with the system
# nginx in front on 80/443. The service is enabled but not started: each new instance sets its own
# admin password and starts it on first boot (001_onboot).
set -euo pipefail
: "${SRS_STACK_CLOUD:?set by the Packer template: DO or TENCENT}"
: "${SRS_STACK_LANGUAGE:=en}"

work=$(mktemp -d)
tar -xzf /tmp/linux-srs_stack.tar.gz -C "$work" --no-same-owner
bash "$work/srs-stack/installer/setup.sh" install --cloud "$SRS_STACK_CLOUD" --language "$SRS_STACK_LANGUAGE" \
  --no-start --front-nginx </dev/null
rm -rf "$work" /tmp/linux-srs_stack.tar.gz
