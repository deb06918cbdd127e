#!/usr/bin/env bash
# Runs inside the booted Debian rootfs (a oneshot unit, see installer-rootfs.test.ts): installs the
# stack through the curl|bash bootstrap, refuses a taken port, upgrades, uninstalls. It records
# what it sees under /root/srs-test/results and decides nothing: the mocha test asserts.
set -u
# shellcheck source=rootfs-lib.sh
. /root/srs-test/rootfs-lib.sh
export SRS_STACK_RELEASE_URL=file://$T/linux-srs_stack.tar.gz
wait_answering() {
  for _ in $(seq 1 90); do
    curl -fsS "$versions_url" >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

start=$(date +%s)
record install1 bash "$T/install.sh" --language en
echo $(($(date +%s) - start)) >"$R/install1.seconds"
record active1 systemctl is-active srs-stack.service
record enabled1 systemctl is-enabled srs-stack.service
record versions1 curl -fsS "$versions_url"
record initd_status /etc/init.d/srs_stack status
record stock_nginx systemctl is-enabled nginx.service
record stock_redis systemctl is-active redis-server.service
record cli_help srs-stack
cp /etc/sysctl.conf "$R/sysctl1.conf"
# shellcheck disable=SC2016 # dpkg-query's own ${field} syntax, not the shell's
record libsrt dpkg-query -W -f='${Package} ${Status}\n' 'libsrt*-openssl'
# The installed app's bundled koffi (the binary for this CPU, from the one x64+arm64 tarball) loads
# that libsrt the way the SRT gateway does.
record addon_srt /usr/local/srs-stack/bin/node --input-type=module -e \
  "const { loadLibSrt } = await import('/usr/local/srs-stack/app/dist/server/features/srt/libsrt.js'); const l = loadLibSrt(); console.log('loaded', l.name, l.version)"
record addon_binaries find /usr/local/srs-stack/app/node_modules -name '*.node'
echo 'recorded before the upgrade' >/data/keep-me.txt

# Someone else on the console port: the installer must refuse and name them.
systemctl stop srs-stack.service
/usr/local/srs-stack/bin/node -e "require('net').createServer().listen($port, '0.0.0.0')" &
holder=$!
sleep 2
record port_taken bash "$T/install.sh" --language en
kill "$holder"
wait "$holder" 2>/dev/null

# Someone else on the SRT port (UDP; the one the stack's own config names): refused the same way.
srt_port=$(/usr/local/srs-stack/bin/node -e "import('/usr/local/srs-stack/app/dist/server/config.js').then((c) => console.log(c.loadConfig({ DATA_DIR: '/data' }).srt?.listen ?? 10080))")
echo "$srt_port" >"$R/srt_port"
/usr/local/srs-stack/bin/node -e "require('dgram').createSocket('udp4').bind($srt_port, '0.0.0.0')" &
holder=$!
sleep 2
record udp_taken bash "$T/install.sh" --language en
kill "$holder"
wait "$holder" 2>/dev/null

# Upgrade while the stack runs: its own ports are not "taken".
systemctl start srs-stack.service
wait_answering
# zh defaults to a registry mirror in China; the runtime is already there, but stay on the reachable one.
record install2 bash "$T/install.sh" --language zh --registry https://registry.npmjs.org
record active2 systemctl is-active srs-stack.service
record versions2 curl -fsS "$versions_url"
cp /etc/sysctl.conf "$R/sysctl2.conf"
cp /data/config/.env "$R/env2"
journalctl -u srs-stack.service --no-pager >"$R/journal.txt" 2>&1

record uninstall bash /usr/local/srs-stack/app/installer/setup.sh uninstall
record active3 systemctl is-active srs-stack.service
record unit_gone test ! -e /usr/lib/systemd/system/srs-stack.service
record initd_gone test ! -e /etc/init.d/srs_stack
record home_gone test ! -e /usr/local/srs-stack
record data_kept cat /data/keep-me.txt
record versions3 curl -fsS --max-time 3 "$versions_url"

touch "$R/done"
systemctl poweroff --no-block
