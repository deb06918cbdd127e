#!/bin/bash
PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/local/bin:/usr/local/sbin:~/bin
export PATH
# BT / aaPanel plugin contract: the panel runs `bash install.sh install` when the plugin is imported
# and `bash install.sh uninstall` when it is removed, and ignores the exit code (the page reads
# the state through srs_stack_main.serviceStatus). The PATH line above must stay exactly as it is:
# the panel rewrites that line to put its own Python first.
#
# install is quick on purpose: the real install (packages, Node.js, service) is started from the
# plugin page once the site exists (srs_stack_main.installSrs -> setup.sh).
plugin_dir=$(cd "$(dirname "$0")" && pwd)

install_plugin() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo 'SRS Stack needs Ubuntu 20.04+ or Debian 11+ (CentOS lacks the nginx RTMP module it uses).'
    return 1
  fi
  mkdir -p /data/config
  touch "$plugin_dir/.bt_ready"
}

uninstall_plugin() {
  # The stack's own uninstaller removes the service and /usr/local/srs-stack; /data is kept
  # (FAQ: upgrading on a panel is "remove the plugin, install the new one").
  if [ -e /usr/lib/systemd/system/srs-stack.service ] || [ -d /usr/local/srs-stack ]; then
    bash "$plugin_dir/app/installer/setup.sh" uninstall </dev/null || return 1
  fi
  rm -f /tmp/srs_stack_install.*
  rm -rf "$plugin_dir"
}

case "${1:-}" in
  install) install_plugin ;;
  uninstall) uninstall_plugin ;;
  *)
    echo "usage: bash install.sh install|uninstall" >&2
    exit 1
    ;;
esac
rc=$?
if [ "$rc" -eq 0 ]; then echo 'Execute OK'; else echo 'Execute failed'; fi
exit "$rc"
