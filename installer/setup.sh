#!/usr/bin/env bash
# Entry point of the installer (release tarball, BT/aaPanel plugin, cloud image builds): refuses
# early what cannot work, makes sure a Node.js 20+ exists to run the zx installer with, then hands
# over to install.mjs with the same arguments. Everything else happens there.
#
# Node.js: a system `node` 20+ is used as it is. Otherwise a private copy is fetched from the npm
# registry (package node-linux-<arch>, pinned version and checksum) into /usr/local/srs-stack/runtime:
# Ubuntu 20.04/22.04 and Debian 11/12 ship Node.js 10 to 18, older than the stack's dependencies
# accept, and the npm registry is reachable wherever the stack can be installed.
set -euo pipefail

NODE_MIN_MAJOR=20
NODE_VERSION=22.20.0
NODE_SHA512_x64='CWyKqAkT1fUBr1IDD/JhDAYpUrBraNmSM9ndREbhAp14QmgBqq8CmgWHITSK1YXzJj+hWTEC1+F6gOgVFLIaSg=='
NODE_SHA512_arm64='eVexvODYds5ya11f+1D0r33WVf6BGvoSvofyVYQFMFMytblCCwlgJStpOb4IdomSnfVQWLAt0tNgYE5iXxSRuA=='
RUNTIME_DIR=/usr/local/srs-stack/runtime

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

language=en
case "${LANG:-}" in zh*) language=zh ;; esac
registry=
help=0
node_only=0
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --language) language=${args[i + 1]:-} ;;
    --language=*) language=${args[i]#--language=} ;;
    --registry) registry=${args[i + 1]:-} ;;
    --registry=*) registry=${args[i]#--registry=} ;;
    -h | --help) help=1 ;;
    # The container image's build (Dockerfile) takes the same pinned, checksummed runtime and stops.
    --node-only) node_only=1 ;;
  esac
done
[ "$language" = zh ] || language=en
if [ -z "$registry" ]; then
  if [ "$language" = zh ]; then registry=https://registry.npmmirror.com; else registry=https://registry.npmjs.org; fi
fi

say() { # say <english> <chinese>
  if [ "$language" = zh ]; then echo "$2"; else echo "$1"; fi
}
die() {
  say "$1" "$2" >&2
  exit 1
}

if [ "$help" -eq 1 ]; then
  cat "$here/usage.$language.txt"
  exit 0
fi

[ "$(id -u)" -eq 0 ] ||
  die 'Please run the installer as root (sudo bash installer/setup.sh ...).' \
    '请用 root 运行安装程序（sudo bash installer/setup.sh ...）。'

# The detailed version check is install.mjs's; this one only stops systems without apt before any
# download, naming what is supported (CentOS lacks the engine's nginx RTMP module).
command -v apt-get >/dev/null 2>&1 ||
  die 'SRS Stack installs on Ubuntu 20.04+ / Debian 11+ (apt). CentOS/RHEL are not supported: the nginx RTMP module it needs is not packaged there (not in EPEL), and CentOS 7 is too old for Node.js 20.' \
    'SRS Stack 支持 Ubuntu 20.04+ / Debian 11+（apt）。不支持 CentOS/RHEL：它们没有需要的 nginx RTMP 模块（EPEL 中也没有），CentOS 7 也太旧，无法运行 Node.js 20。'

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

fetch_node() {
  local arch expected tmp dest got
  case "$(uname -m)" in
    x86_64) arch=x64 expected=$NODE_SHA512_x64 ;;
    aarch64 | arm64) arch=arm64 expected=$NODE_SHA512_arm64 ;;
    *) die "No Node.js build for $(uname -m): SRS Stack supports x86_64 and arm64." "没有 $(uname -m) 的 Node.js：SRS Stack 支持 x86_64 和 arm64。" ;;
  esac
  dest=$RUNTIME_DIR/node-v$NODE_VERSION-linux-$arch
  if [ -x "$dest/bin/node" ]; then
    NODE=$dest/bin/node
    return
  fi
  if ! command -v curl >/dev/null 2>&1; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl ca-certificates >&2
  fi
  say "Fetching Node.js $NODE_VERSION ($arch) from $registry" "从 $registry 下载 Node.js $NODE_VERSION（$arch）" >&2
  tmp=$(mktemp -d /tmp/srs_stack_install.node.XXXXXX)
  curl -fL --retry 3 --progress-bar -o "$tmp/node.tgz" "$registry/node-linux-$arch/-/node-linux-$arch-$NODE_VERSION.tgz" ||
    die "Could not download Node.js from $registry (try --registry URL)." "无法从 $registry 下载 Node.js（可用 --registry 指定其他仓库）。"
  got=$(sha512sum "$tmp/node.tgz" | cut -d' ' -f1)
  [ "$got" = "$(printf '%s' "$expected" | base64 -d | od -An -vtx1 | tr -d ' \n')" ] ||
    die "Node.js download is corrupt (checksum mismatch)." "Node.js 下载的文件已损坏（校验失败）。"
  mkdir -p "$dest"
  tar -xzf "$tmp/node.tgz" -C "$dest" --strip-components=1 --no-same-owner
  rm -rf "$tmp"
  chmod 755 "$dest/bin/node"
  if [ "$(node_major "$dest/bin/node")" -lt "$NODE_MIN_MAJOR" ]; then
    rm -rf "$dest"
    die 'Node.js 20+ cannot run here (the C library is too old; Ubuntu 20.04+ / Debian 11+ are needed).' \
      '这里无法运行 Node.js 20+（C 库太旧，需要 Ubuntu 20.04+ / Debian 11+）。'
  fi
  NODE=$dest/bin/node
}

NODE=$(command -v node || true)
if [ -z "$NODE" ] || [ "$(node_major "$NODE")" -lt "$NODE_MIN_MAJOR" ]; then fetch_node; fi
if [ "$node_only" -eq 1 ]; then
  echo "$NODE"
  exit 0
fi
say "Node.js $("$NODE" -v): $NODE" "Node.js $("$NODE" -v)：$NODE"

exec "$NODE" "$here/install.mjs" "$@"
