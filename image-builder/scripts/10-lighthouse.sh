#!/bin/bash
# Image bake, Lighthouse only: Tencent's console logs in as "lighthouse" with passwordless sudo, and
# its own tools expect software under /usr/local/lighthouse/softwares; the login password hint
# points at the same credentials file as on other clouds.
set -euo pipefail
if ! id lighthouse >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash lighthouse
fi
install -m 0440 /dev/stdin /etc/sudoers.d/90-lighthouse <<'SUDO'
lighthouse ALL=(ALL) NOPASSWD: ALL
SUDO
visudo -cf /etc/sudoers.d/90-lighthouse
mkdir -p /usr/local/lighthouse/softwares
ln -sfn /usr/local/srs-stack /usr/local/lighthouse/softwares/srs-stack
ln -sfn /root/credentials.txt /home/lighthouse/credentials.txt
