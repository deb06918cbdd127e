#!/usr/bin/env bash
# The curl|bash installer: downloads the release tarball, checks it, unpacks it to a temporary
# folder and runs its installer/setup.sh with the same arguments.
#
#   curl -fsSL <release>/install.sh | sudo bash -s -- --language zh
#
# `npm run release` writes this file to release/install.sh with the tarball's URL and SHA-256
# filled in. SRS_STACK_RELEASE_URL (and optionally SRS_STACK_RELEASE_SHA256) install another
# tarball, e.g. a local file:///path/linux-srs_stack.tar.gz.
set -euo pipefail

stamped_url='@RELEASE_URL@'
stamped_sha256='@RELEASE_SHA256@'
url=${SRS_STACK_RELEASE_URL:-$stamped_url}
sha256=${SRS_STACK_RELEASE_SHA256:-}
[ -n "$sha256" ] || [ "$url" != "$stamped_url" ] || sha256=$stamped_sha256

fail() {
  echo "$*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail 'Please run as root: curl -fsSL <url>/install.sh | sudo bash'
case "$url" in @*) fail 'No release URL in this copy of install.sh: set SRS_STACK_RELEASE_URL.' ;; esac
command -v curl >/dev/null 2>&1 || fail 'curl is needed: apt-get install -y curl'

work=$(mktemp -d /tmp/srs_stack_install.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "==> Downloading SRS Stack: $url"
curl -fL --retry 3 --progress-bar -o "$work/release.tar.gz" "$url" || fail "Download failed: $url"
if [ -n "$sha256" ] && [ "${sha256#@}" = "$sha256" ]; then
  echo "$sha256  $work/release.tar.gz" | sha256sum -c --quiet - || fail 'The download is corrupt (SHA-256 mismatch).'
fi
tar -xzf "$work/release.tar.gz" -C "$work" --no-same-owner
[ -f "$work/srs-stack/installer/setup.sh" ] || fail 'The tarball has no srs-stack/installer/setup.sh.'
# stdin is this script itself under curl|bash: nothing below may read it.
bash "$work/srs-stack/installer/setup.sh" "$@" </dev/null
