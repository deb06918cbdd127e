#!/bin/bash
# Image bake, Lighthouse only: the build logged in as "ubuntu" with a password; instances made from
# the image must not share it.
set -euo pipefail
passwd -d ubuntu 2>/dev/null || true
