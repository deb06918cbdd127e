#!/bin/bash
# Started in the background by srs_stack_main.installSrs (log in /tmp/srs_stack_install.log): runs
# the stack's installer with the language and cloud this zip was built for. On failure it leaves
# R0/TS/DATE/DESC lines in the --r0 file, which the plugin page shows until cleanupInstall.
set -u
plugin_dir=$(cd "$(dirname "$0")" && pwd)
r0_file=/tmp/srs_stack_install.r0
while [ $# -gt 0 ]; do
  case "$1" in
    --r0)
      r0_file=${2:?--r0 needs a file}
      shift 2
      ;;
    *)
      echo "unknown option: $1" >&2
      exit 1
      ;;
  esac
done

LANGUAGE=zh
CLOUD=BT
REGISTRY=
# shellcheck source=/dev/null # written by plugin/pack.mjs: LANGUAGE=… and CLOUD=…; REGISTRY=<npm
# registry URL> may be added by hand where the default one for the language is slow.
[ -f "$plugin_dir/config" ] && . "$plugin_dir/config"
options=(install --language "$LANGUAGE" --cloud "$CLOUD")
[ -z "$REGISTRY" ] || options+=(--registry "$REGISTRY")

rm -f "$r0_file"
bash "$plugin_dir/app/installer/setup.sh" "${options[@]}" </dev/null
rc=$?
if [ "$rc" -ne 0 ]; then
  {
    echo "R0=$rc"
    echo "TS=$(date +%s)"
    echo "DATE='$(date '+%Y-%m-%d %H:%M:%S')'"
    echo "DESC='installer failed, see /tmp/srs_stack_install.log'"
  } >"$r0_file"
fi
exit "$rc"
