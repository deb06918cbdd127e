#!/bin/bash
# Image bake, final gate: the marketplace rules for a snapshot, checked on the machine about to be
# imaged (DigitalOcean's published requirements; applied to Lighthouse images too). Prints one
# PASS/WARN/FAIL line per rule and exits 1 if anything FAILs, which stops the Packer build.
set -u
fails=0
warns=0
pass() { echo "[PASS] $*"; }
warn() {
  echo "[WARN] $*"
  warns=$((warns + 1))
}
fail() {
  echo "[FAIL] $*"
  fails=$((fails + 1))
}
ROOT=${IMG_CHECK_ROOT:-}

[ "$(id -u)" -eq 0 ] || {
  echo 'run as root'
  exit 1
}

# shellcheck source=/dev/null
. "$ROOT/etc/os-release"
case "${ID:-}:${VERSION_ID:-}" in
  ubuntu:20.04 | ubuntu:22.04 | ubuntu:24.04 | debian:11 | debian:12) pass "supported OS: ${PRETTY_NAME:-$ID $VERSION_ID}" ;;
  *) fail "not a supported OS version for images: ${PRETTY_NAME:-unknown}" ;;
esac

if [ -x "$ROOT/usr/bin/cloud-init" ]; then pass 'cloud-init is installed'; else fail 'cloud-init is not installed'; fi
if [ -x "$ROOT/var/lib/cloud/scripts/per-instance/001_onboot" ]; then pass 'first-boot script is executable'; else fail 'first-boot script 001_onboot missing or not executable'; fi

# SRT needs libsrt (OpenSSL flavour: libsrt1.5-openssl, or libsrt1.4-openssl on Ubuntu 22.04).
if compgen -G "$ROOT/usr/lib/*-linux-gnu/libsrt.so.1.[0-9]*" >/dev/null; then
  pass 'libsrt (OpenSSL) is installed for SRT'
else
  fail 'libsrt (OpenSSL) is not installed: SRT would be off'
fi

if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q 'Status: active'; then
  pass 'firewall (ufw) is active'
  for port in 1935/tcp 8000/udp 10080/udp; do
    if ufw status 2>/dev/null | grep -q "^$port "; then pass "ufw allows $port"; else fail "ufw does not allow $port"; fi
  done
else
  warn 'no active firewall (ufw)'
fi

if command -v apt-get >/dev/null 2>&1; then
  pending=$(apt-get -s upgrade 2>/dev/null | grep -c '^Inst .*[Ss]ecurity' || true)
  if [ "$pending" -eq 0 ]; then pass 'no pending security updates'; else fail "$pending pending security updates"; fi
fi

logs=$(find "$ROOT/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' \) 2>/dev/null | wc -l)
if [ "$logs" -eq 0 ]; then pass 'no archived logs'; else warn "$logs archived log files left in /var/log"; fi

while IFS=: read -r user _ uid _ _ home _; do
  if [ "$uid" -lt 1000 ] || [ "$uid" -ge 65534 ]; then continue; fi
  hash=$(awk -F: -v u="$user" '$1 == u { print $2 }' "$ROOT/etc/shadow")
  case "$hash" in '' | '!'* | '*'*) pass "user $user has no password" ;; *) fail "user $user has a password" ;; esac
  for key in .ssh/authorized_keys .ssh/id_rsa; do
    if [ -s "$ROOT$home/$key" ]; then fail "user $user has $key"; fi
  done
done <"$ROOT/etc/passwd"

root_hash=$(awk -F: '$1 == "root" { print $2 }' "$ROOT/etc/shadow")
case "$root_hash" in '!'* | '*'* | '') pass 'root has no password' ;; *) fail 'root has a password' ;; esac
if [ -s "$ROOT/root/.ssh/authorized_keys" ]; then fail 'root has authorized_keys'; else pass 'root has no authorized_keys'; fi
history_size=$(stat -c %s "$ROOT/root/.bash_history" 2>/dev/null || echo 0)
if [ "$history_size" -lt 200 ]; then pass 'root shell history is cleared'; else fail "root .bash_history is $history_size bytes"; fi
if [ -d "$ROOT/opt/digitalocean" ]; then fail '/opt/digitalocean (droplet agent) is present'; else pass 'no droplet agent'; fi

echo "${fails} FAIL, ${warns} WARN"
[ "$fails" -eq 0 ]
