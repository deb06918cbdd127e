#!/bin/bash
# Image bake, step 2: the firewall a new instance boots with. SSH is rate-limited; 80/443 reach the
# front nginx, 2022 the console directly, 1935 RTMP, 8000/udp WebRTC and 10080/udp SRT.
set -euo pipefail
ufw limit 22/tcp
ufw allow 80/tcp
ufw allow 443/tcp
ufw allow 1935/tcp
ufw allow 2022/tcp
ufw allow 8000/udp
ufw allow 10080/udp
ufw --force enable
ufw status verbose
