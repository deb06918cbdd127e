#!/usr/bin/env bash
# Sourced by the scenario scripts that run inside the test rootfs: where results go, the stack's
# URL (its port comes from the .env the test wrote), and record(), which keeps one step's output
# and exit code for the mocha test to assert on.
# shellcheck disable=SC2034 # T, R and versions_url are used by the scripts that source this file
T=/root/srs-test
R=$T/results
mkdir -p "$R"
touch "$R/started"
port=$(sed -n 's/^MGMT_LISTEN=//p' /data/config/.env)
versions_url=http://127.0.0.1:$port/terraform/v1/mgmt/versions

record() { # record <name> <command...>
  local name=$1
  shift
  echo "=== $name: $*"
  "$@" >"$R/$name.out" 2>&1
  echo $? >"$R/$name.rc"
  tail -n 5 "$R/$name.out"
}
