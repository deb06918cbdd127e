// The installer's decisions as pure functions (unit-tested in test/packaging): which systems are
// supported, how the option line reads, how sysctl.conf and .env are edited idempotently, who
// holds a port, and which stock services must be kept from running.
import { minimist } from 'zx';

export const SUPPORTED_SYSTEMS = 'Ubuntu 20.04+ / Debian 11+';
export const MIN_NODE_MAJOR = 20;
export const CLOUDS = ['BIN', 'BT', 'AAPANEL', 'DO', 'TENCENT'];
export const LANGUAGES = ['en', 'zh'];

/**
 * The engine's system packages: the stack supervises its own nginx (RTMP) and redis-server.
 * fonts-dejavu-core: the default restream slate's text (features/restream/slate/picture.ts); ffmpeg
 * pulls it in today through fontconfig, named so that stays true.
 */
export const SYSTEM_PACKAGES = [
  'ffmpeg',
  'nginx-core',
  'libnginx-mod-rtmp',
  'redis-server',
  'openssl',
  'ca-certificates',
  'fonts-dejavu-core',
];
/**
 * libsrt for the SRT ingest, OpenSSL flavour (what SRS links), newest first: Debian 12+ and Ubuntu
 * 24.04 have 1.5, Debian 11 and Ubuntu 22.04 have 1.4. The installer takes the first one apt knows.
 */
export const SRT_PACKAGES = ['libsrt1.5-openssl', 'libsrt1.4-openssl'];
/** Extra packages for --front-nginx (cloud images): TLS pass-through on 443 needs the stream module. */
export const FRONT_NGINX_PACKAGES = ['libnginx-mod-stream'];

/** UDP socket buffers for WebRTC and SRT (SRS Stack's values), applied on every install. */
export const SYSCTL_SETTINGS = [
  ['net.core.rmem_max', '16777216'],
  ['net.core.rmem_default', '16777216'],
  ['net.core.wmem_max', '16777216'],
  ['net.core.wmem_default', '16777216'],
];
const SYSCTL_COMMENT = '# SRS Stack: UDP buffers for WebRTC and SRT';

export function parseOsRelease(text) {
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/**
 * Decides whether this system is supported. CentOS and its relatives are refused on purpose: the
 * media engine's nginx RTMP module is not packaged for them (not in EPEL), and CentOS 7's glibc
 * is too old for Node.js 20 (FAQ "CentOS7 Installation Failed" recommends Ubuntu 20 as well).
 * @returns {{ok: true, name: string} | {ok: false, reason: 'rhel'|'version'|'unknown', name: string}}
 */
export function checkOs(osReleaseText) {
  const os = parseOsRelease(osReleaseText);
  const id = (os.ID ?? '').toLowerCase();
  const like = (os.ID_LIKE ?? '').toLowerCase().split(/\s+/);
  const name = os.PRETTY_NAME || [os.NAME, os.VERSION_ID].filter(Boolean).join(' ') || 'unknown system';
  const minimum = { ubuntu: 20.04, debian: 11 }[id];
  if (minimum !== undefined) {
    const version = Number.parseFloat(os.VERSION_ID ?? '');
    return Number.isFinite(version) && version >= minimum ? { ok: true, name } : { ok: false, reason: 'version', name };
  }
  const rhelFamily = ['centos', 'rhel', 'rocky', 'almalinux', 'fedora', 'ol', 'amzn', 'opencloudos', 'tencentos'];
  if (rhelFamily.includes(id) || like.some((l) => rhelFamily.includes(l))) return { ok: false, reason: 'rhel', name };
  return { ok: false, reason: 'unknown', name };
}

/** Parses the command line; throws an Error with a user-facing message on anything unexpected. */
export function parseOptions(args, env = {}) {
  const parsed = minimist(args, {
    string: ['language', 'registry', 'cloud', 'origin'],
    boolean: ['help', 'start', 'front-nginx', 'edge'],
    alias: { h: 'help' },
    default: { start: true },
    unknown: (arg) => {
      if (arg.startsWith('-')) throw new Error(`unknown option ${arg} (see --help)`);
      return true;
    },
  });
  const positional = parsed._.map(String);
  const command = positional[0] ?? 'install';
  if (!['install', 'uninstall'].includes(command) || positional.length > 1) {
    throw new Error(`unknown command "${positional.join(' ')}": use install or uninstall (see --help)`);
  }
  const language = parsed.language || (/^zh/i.test(env.LANG ?? '') ? 'zh' : 'en');
  if (!LANGUAGES.includes(language)) throw new Error(`--language must be en or zh, got "${language}"`);
  const cloud = (parsed.cloud || 'BIN').toUpperCase();
  if (!CLOUDS.includes(cloud)) throw new Error(`--cloud must be one of ${CLOUDS.join(', ')}, got "${parsed.cloud}"`);
  const origin = edgeOrigin(Boolean(parsed.edge), parsed.origin);
  // minimist reads --no-start as start=false.
  return {
    command,
    language,
    cloud,
    start: parsed.start,
    frontNginx: Boolean(parsed['front-nginx']),
    help: Boolean(parsed.help),
    edge: origin,
  };
}

/**
 * `--edge --origin URL`: the origin's HTTP base URL this box becomes an edge of (docs/architecture.md#edges),
 * or null without --edge. The stack checks it again at every start (EDGE_ORIGIN, server/config.ts).
 */
function edgeOrigin(edge, origin) {
  if (!edge) {
    if (origin) throw new Error('--origin goes with --edge (see --help)');
    return null;
  }
  if (!origin) throw new Error("--edge needs --origin URL: the origin stack's HTTP URL, e.g. http://origin.example.com:2022");
  let url;
  try {
    url = new URL(origin);
  } catch {
    url = null;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || (url.pathname !== '/' && url.pathname !== '') || url.search || url.username) {
    throw new Error(
      `--origin must be the origin's http:// or https:// URL without a path, e.g. http://origin.example.com:2022, got "${origin}"`,
    );
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * Sets each key in a sysctl.conf text: an existing `key = value` line is replaced in place, a
 * missing one is appended under one comment. Applying it twice gives the same text.
 */
export function editSysctl(text, settings = SYSCTL_SETTINGS) {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const missing = [];
  for (const [key, value] of settings) {
    const pattern = new RegExp(`^\\s*${key.replace(/\./g, '\\.')}\\s*=`);
    const index = lines.findIndex((line) => pattern.test(line));
    if (index >= 0) lines[index] = `${key} = ${value}`;
    else missing.push(`${key} = ${value}`);
  }
  if (missing.length) {
    if (!lines.includes(SYSCTL_COMMENT)) {
      if (lines.length && lines[lines.length - 1] !== '') lines.push('');
      lines.push(SYSCTL_COMMENT);
    }
    lines.push(...missing);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Appends the KEY=value pairs a .env lacks; values already there (the user's choice) are kept. */
export function ensureEnvKeys(text, pairs) {
  const present = new Set(
    text
      .split(/\r?\n/)
      .map((line) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1])
      .filter(Boolean),
  );
  const additions = Object.entries(pairs)
    .filter(([key]) => !present.has(key))
    .map(([key, value]) => `${key}=${value}`);
  if (!additions.length) return text;
  const base = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${base}${additions.join('\n')}\n`;
}

/** Sets each KEY=value: an existing line is replaced in place, a missing key appended (the installer's explicit choices). */
export function setEnvKeys(text, pairs) {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split(/\r?\n/);
  for (const [key, value] of Object.entries(pairs)) {
    const index = lines.findIndex((line) => new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`).test(line));
    if (index >= 0) lines[index] = `${key}=${value}`;
    else lines.push(`${key}=${value}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Socket inodes listening on `port`, from the text of /proc/net/tcp or /proc/net/tcp6. */
export function listeningInodes(procNetTcpText, port) {
  const inodes = [];
  for (const line of procNetTcpText.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const localPort = Number.parseInt(fields[1].split(':').pop() ?? '', 16);
    const listening = fields[3] === '0A';
    if (listening && localPort === port) inodes.push(fields[9]);
  }
  return inodes;
}

/**
 * Socket inodes bound to UDP `port`, from the text of /proc/net/udp or /proc/net/udp6 (UDP has no
 * listening state: any socket bound to the port keeps the stack from binding it).
 */
export function boundUdpInodes(procNetUdpText, port) {
  const inodes = [];
  for (const line of procNetUdpText.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const localPort = Number.parseInt(fields[1].split(':').pop() ?? '', 16);
    if (localPort === port) inodes.push(fields[9]);
  }
  return inodes;
}

/** The SRT package to install: the first candidate apt knows, or null (SRT then stays off). */
export function chooseSrtPackage(known, candidates = SRT_PACKAGES) {
  return candidates.find((pkg) => known.includes(pkg)) ?? null;
}

/**
 * The ports the stack serves, for the firewall: console and API (HTTP, HTTPS), RTMP, and the UDP
 * ports of SRT and WebRTC. `config` is the stack's own (dist/server/config.js); the SRT and WebRTC
 * listen ports fall back to their defaults (10080, 8000) where the config has none.
 * @returns {{ port: number, protocol: 'tcp' | 'udp', what: string }[]}
 */
export function firewallPorts(config, { frontNginx = false, edge = false } = {}) {
  const ports = [
    ...(frontNginx
      ? [
          { port: 80, protocol: 'tcp', what: 'HTTP' },
          { port: 443, protocol: 'tcp', what: 'HTTPS' },
        ]
      : []),
    { port: config.mgmtListen, protocol: 'tcp', what: edge ? 'HTTP' : 'console' },
    // An edge serves HTTP (HLS, LL-HLS, HTTP-FLV) and RTMP players only.
    ...(edge
      ? [{ port: config.rtmpListen, protocol: 'tcp', what: 'RTMP' }]
      : [
          { port: config.httpsListen, protocol: 'tcp', what: 'HTTPS' },
          { port: config.rtmpListen, protocol: 'tcp', what: 'RTMP' },
          { port: config.rtc?.listen ?? 8000, protocol: 'udp', what: 'WebRTC' },
          { port: config.srt?.listen ?? 10080, protocol: 'udp', what: 'SRT' },
        ]),
  ];
  const seen = new Set();
  return ports.filter(({ port, protocol }) => {
    const key = `${port}/${protocol}`;
    if (!port || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether `ufw status` output says the firewall is on. */
export function ufwActive(statusText) {
  return /^Status:\s*active\b/m.test(statusText);
}

export const STACK_MAIN = '/usr/local/srs-stack/app/dist/server/main.js';

/**
 * A port holder is ours (an upgrade restarts it) when it runs in srs-stack.service, or descends
 * from the installed stack's Node process (its nginx holds the RTMP port) where cgroups do not say.
 * @param {string} procCgroupText /proc/<pid>/cgroup of the holder
 * @param {string[]} ancestorCmdlines /proc/<pid>/cmdline of the holder and its parents, NUL-separated
 */
export function isOurs(procCgroupText, ancestorCmdlines = []) {
  if (/\/srs-stack\.service(\/|$)/m.test(procCgroupText)) return true;
  return ancestorCmdlines.some((cmdline) => cmdline.split('\0').includes(STACK_MAIN));
}

/**
 * Stock services of packages this run installed that must not run: their nginx would take port 80
 * (a panel's) and their redis is not used. On a panel host the panel owns /etc/init.d/nginx and
 * the nginx.service name, so the Debian unit is diverted away instead (see divertedUnits).
 */
export function stockServicesToDisable(newlyInstalled, panelHost) {
  const services = [];
  if (newlyInstalled.includes('nginx-core') && !panelHost) services.push('nginx');
  if (newlyInstalled.includes('redis-server')) services.push('redis-server');
  return services;
}

/** Paths of Debian's nginx unit (pre- and post-usrmerge) that a panel host must not get. */
export const DIVERTED_NGINX_UNITS = ['/lib/systemd/system/nginx.service', '/usr/lib/systemd/system/nginx.service'];
