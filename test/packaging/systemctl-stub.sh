#!/bin/bash
# systemctl for the heavy test's chroot fallback, used only where systemd-nspawn cannot boot the
# rootfs: a tiny service manager that runs a unit's ExecStart in the background, so the
# installer's real systemctl calls (enable, restart, is-active, disable --now, ...) take effect.
set -u
state=/run/systemctl-stub
wants=/etc/systemd/system/multi-user.target.wants
mkdir -p "$state" "$wants"

unit_name() { case "$1" in *.*) echo "$1" ;; *) echo "$1.service" ;; esac }
unit_file() {
  local dir
  for dir in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    if [ -f "$dir/$1" ]; then
      echo "$dir/$1"
      return 0
    fi
  done
  return 1
}
alive() {
  local pid
  pid=$(cat "$state/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null
}
start_unit() {
  local file dir line
  local -a env_vars=() exec_start=()
  alive "$1" && return 0
  file=$(unit_file "$1") || {
    echo "Unit $1 not found." >&2
    return 5
  }
  read -r -a exec_start <<<"$(sed -n 's/^ExecStart=//p' "$file" | head -n1)"
  dir=$(sed -n 's/^WorkingDirectory=//p' "$file" | head -n1)
  while IFS= read -r line; do env_vars+=("$line"); done < <(sed -n 's/^Environment=//p' "$file")
  (cd "${dir:-/}" && exec setsid env "${env_vars[@]}" "${exec_start[@]}" >>"$state/$1.log" 2>&1) &
  echo $! >"$state/$1.pid"
}
stop_unit() {
  local pid
  pid=$(cat "$state/$1.pid" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null
  rm -f "$state/$1.pid"
}

now=0
args=()
for arg in "$@"; do
  case "$arg" in
    --now) now=1 ;;
    --no-block | --no-pager | -q | --quiet) ;;
    *) args+=("$arg") ;;
  esac
done
command=${args[0]:-}
units=()
for unit in "${args[@]:1}"; do units+=("$(unit_name "$unit")"); done

rc=0
case "$command" in
  --version) echo 'systemd 252 (stub for the chroot test)' ;;
  daemon-reload | reset-failed) ;;
  enable | disable)
    for unit in "${units[@]}"; do
      if [ "$command" = enable ]; then
        file=$(unit_file "$unit") || exit 1
        ln -sf "$file" "$wants/$unit"
        [ "$now" -eq 0 ] || start_unit "$unit"
      else
        rm -f "$wants/$unit"
        [ "$now" -eq 0 ] || stop_unit "$unit"
      fi
    done
    ;;
  is-enabled)
    if [ -L "$wants/${units[0]}" ]; then echo enabled; else
      echo disabled
      rc=1
    fi
    ;;
  is-active | status)
    [ "$command" = status ] && echo "● ${units[0]}"
    if alive "${units[0]}"; then echo active; else
      echo inactive
      rc=3
    fi
    ;;
  start) for unit in "${units[@]}"; do start_unit "$unit" || rc=$?; done ;;
  stop) for unit in "${units[@]}"; do stop_unit "$unit"; done ;;
  restart) for unit in "${units[@]}"; do
    stop_unit "$unit"
    start_unit "$unit" || rc=$?
  done ;;
  poweroff) for pidfile in "$state"/*.pid; do [ -e "$pidfile" ] && stop_unit "$(basename "$pidfile" .pid)"; done ;;
  *)
    echo "systemctl stub: unsupported: $*" >&2
    rc=1
    ;;
esac
exit "$rc"
