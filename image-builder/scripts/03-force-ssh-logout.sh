#!/bin/bash
# Image bake, step 3: until the first-boot script has run on a new instance, root logins only get
# a "please wait" message (the marketplace's recommended pattern). 001_onboot removes these lines.
set -euo pipefail
sshd_config=${SSHD_CONFIG:-/etc/ssh/sshd_config}
cat >>"$sshd_config" <<'BLOCK'
Match User root
        ForceCommand echo "Please wait while we get your server ready..."
BLOCK
