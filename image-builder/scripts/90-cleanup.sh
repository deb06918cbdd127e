#!/bin/bash
# Image bake, last step but the check: nothing of the build machine may stay in the image (keys,
# logs, histories, caches), and the free space is zeroed so the snapshot compresses well.
set -o errexit
export DEBIAN_FRONTEND=noninteractive

mkdir -p /tmp
chmod 1777 /tmp
apt-get -y -o Dpkg::Options::=--force-confold upgrade
apt-get -y autoremove
apt-get -y autoclean
# DigitalOcean's agent is installed on build droplets; marketplace images must not carry it.
apt-get -y purge droplet-agent 2>/dev/null || true
rm -rf /opt/digitalocean

rm -rf /tmp/* /var/tmp/*
history -c
cat /dev/null >/root/.bash_history
unset HISTFILE
find /var/log -mtime -1 -type f -exec truncate -s 0 {} \;
rm -rf /var/log/*.gz /var/log/*.[0-9] /var/log/*-????????
rm -rf /var/lib/cloud/instances/*
rm -f /root/.ssh/authorized_keys /etc/ssh/*key*
touch /etc/ssh/revoked_keys
chmod 600 /etc/ssh/revoked_keys

dd if=/dev/zero of=/zerofile bs=4096 status=none || true
rm -f /zerofile
sync
