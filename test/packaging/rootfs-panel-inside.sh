#!/usr/bin/env bash
# Runs inside the booted Debian rootfs for the BT panel scenario (see installer-rootfs.test.ts):
# the host side unpacked bt-srs_stack.zip into /www/server/panel/plugin/ the way the panel does
# (chmod -R 600) and gave the rootfs a panel-owned /etc/init.d/nginx. This script plays the panel:
# install.sh install, the page's installSrs (setup.sh), the service buttons, install.sh uninstall.
# It records what it sees under /root/srs-test/results; the mocha test asserts.
set -u
# shellcheck source=rootfs-lib.sh
. /root/srs-test/rootfs-lib.sh
P=/www/server/panel/plugin/srs_stack

cd "$P" || exit 1
# As the panel does: `cd plugin_dir && bash install.sh install`.
record plugin_install bash install.sh install
record bt_ready test -f "$P/.bt_ready"
# What installSrs starts in the background.
record plugin_setup bash setup.sh --r0 /tmp/srs_stack_install.r0
record r0_absent test ! -e /tmp/srs_stack_install.r0
record active1 systemctl is-active srs-stack.service
record versions1 curl -fsS "$versions_url"
record diverted dpkg-divert --list
record panel_initd cat /etc/init.d/nginx
record app_modes stat -c '%a %n' /usr/local/srs-stack/app /usr/local/srs-stack/app/dist/server/main.js
cp /data/config/.env "$R/env"
# The page's Stop / Start buttons go through the panel's /etc/init.d/<plugin id>.
record initd_stop /etc/init.d/srs_stack stop
record active_stopped systemctl is-active srs-stack.service
record initd_start /etc/init.d/srs_stack start
cd / || exit 1
record plugin_uninstall bash "$P/install.sh" uninstall
record plugin_gone test ! -e "$P"
record unit_gone test ! -e /usr/lib/systemd/system/srs-stack.service
record data_kept test -s /data/config/.env

touch "$R/done"
systemctl poweroff --no-block
