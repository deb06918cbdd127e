// Every setting in one typed, frozen object. Precedence: process environment > <DATA_DIR>/config/.env
// > defaults. SRS Stack's own names are kept so users' notes and scripts keep working.
import fs from 'node:fs';
import path from 'node:path';

export interface Config {
  /** Root of all persistent state (SRS Stack layout, docs/compatibility.md §1.4). */
  readonly dataDir: string;
  /** HTTP listen port for console, API, HLS and FLV. */
  readonly mgmtListen: number;
  readonly httpsListen: number;
  readonly rtmpListen: number;
  /** The live tap's RTMP port on 127.0.0.1: the engine pushes every live stream into the stack there. */
  readonly tapListen: number;
  /** Host the HTTP/HTTPS listeners bind to (all interfaces by default). */
  readonly listenHost: string;
  /** SRT on one UDP port (features/srt): listen 0 turns it off. */
  readonly srt: { readonly listen: number; readonly latencyMs: number; readonly passphrase: string; readonly library: string };
  /** WebRTC: the UDP port every session shares, and how answers pick their ICE candidates. */
  readonly rtc: { readonly listen: number; readonly candidate: string; readonly nameLookup: boolean };
  /** Display-only ports used when building URLs shown to users (multiple instances behind NAT). */
  readonly display: { readonly httpPort: string; readonly rtmpPort: string; readonly rtcPort: string; readonly srtPort: string };
  /** Empty host means: start and supervise our own redis-server. */
  readonly redis: { readonly host: string; readonly port: number; readonly password: string; readonly database: number };
  readonly platformSecret: string;
  readonly mgmtPassword: string;
  readonly locale: 'en' | 'zh';
  readonly limits: { readonly forward: number; readonly vlive: number; readonly camera: number };
  /** Bytes an HTTP-FLV player may fall behind the live edge before it is dropped. */
  readonly flvClientQueueBytes: number;
  /** Records at once whose MP4 is written while they record (features/record/live-mp4.ts); 0: none. */
  readonly recordMp4Writers: number;
  /** Virtual-live uploads: size limit, and how long an unused upload is kept. */
  readonly upload: { readonly maxBytes: number; readonly ttlMs: number };
  readonly binaries: {
    readonly redisServer: string;
    readonly nginx: string;
    readonly nginxRtmpModule: string;
    readonly ffmpeg: string;
    readonly ffprobe: string;
    readonly ytdl: string;
  };
  /** `--proxy` of the downloader; empty: none. */
  readonly ytdlProxy: string;
  /** Recording: seconds without a new segment before a record task is finished (docs/compatibility.md §5.6). */
  readonly record: { readonly waitSeconds: number };
  /** Directory of the ACME server (Let's Encrypt by default; pebble in tests). */
  readonly acmeDirectoryUrl: string;
  /** Extra CA bundle (PEM) trusted for the ACME server's HTTPS, on top of the system CAs. */
  readonly acmeCaFile: string;
  readonly acmeEmail: string;
  /** Port at which the stack fetches its own HTTP-01 challenge before asking the CA; 0 = no self-check. */
  readonly acmeSelfCheckPort: number;
  /** Create a self-signed certificate at boot when none is installed. */
  readonly autoSelfSignedCertificate: boolean;
  readonly nodeEnv: string;
  /** PLATFORM_DOCKER: running in the container image (docs/container.md). */
  readonly inContainer: boolean;
  /**
   * Edge role (docs/architecture.md#edges): this box serves another stack's streams (the origin)
   * through nginx's cache and one HTTP-FLV pull per watched stream, with no Redis, console or API of
   * its own. null: a full stack.
   */
  readonly edge: EdgeConfig | null;
}

export interface EdgeConfig {
  /** The origin's HTTP base URL (HLS, LL-HLS and HTTP-FLV are fetched there), no trailing slash. */
  readonly origin: string;
  /** nginx's HLS cache on disk, in MB. */
  readonly cacheMb: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** The documented keys; the README table is generated from the same list (test/unit/config.test). */
export const CONFIG_KEYS = [
  { key: 'DATA_DIR', def: '/data', doc: 'Where all state lives (config, redis, record, upload, vlive, certificates, HLS).' },
  { key: 'MGMT_LISTEN', def: '2022', doc: 'HTTP port of the console, API, HLS and HTTP-FLV.' },
  { key: 'HTTPS_LISTEN', def: '2443', doc: 'HTTPS port serving the same routes.' },
  { key: 'RTMP_LISTEN', def: '1935', doc: 'RTMP port of the media engine.' },
  {
    key: 'TAP_LISTEN',
    def: '0',
    doc: 'TCP port on 127.0.0.1 only where the media engine pushes every live stream into the stack (HTTP-FLV, LL-HLS and the restream tasks read it there). 0: a free port chosen at each start, so instances side by side never collide.',
  },
  {
    key: 'SRT_LISTEN',
    def: '10080',
    doc: 'UDP port of SRT publish and play (every stream on this one port, chosen by the streamid as SRS does); 0 turns SRT off. Needs libsrt: `apt install libsrt1.5-openssl`.',
  },
  {
    key: 'SRT_LATENCY',
    def: '20',
    doc: 'SRT latency in ms offered to callers (SRTO_LATENCY; SRS Stack uses 20; callers may ask for more).',
  },
  {
    key: 'SRT_PASSPHRASE',
    def: '',
    doc: 'SRT encryption passphrase (10 to 79 characters) every caller must give; empty: no encryption.',
  },
  {
    key: 'SRT_LIBRARY',
    def: '',
    doc: 'libsrt to load (a soname or a path). Empty: libsrt.so.1.5, then libsrt.so.1.4 and the other usual names.',
  },
  { key: 'LISTEN_HOST', def: '0.0.0.0', doc: 'Address the HTTP and HTTPS listeners bind to.' },
  { key: 'HTTP_PORT', def: '', doc: 'Display only: the public HTTP port shown in play URLs (empty: the page port).' },
  { key: 'RTMP_PORT', def: '', doc: 'Display only: the public RTMP port shown in publish URLs (empty: RTMP_LISTEN).' },
  {
    key: 'RTC_PORT',
    def: '',
    doc: 'The public WebRTC UDP port: shown in the console and put in the ICE candidates of WHIP/WHEP answers (empty: RTC_LISTEN).',
  },
  { key: 'SRT_PORT', def: '', doc: 'Display only: the public SRT UDP port shown in SRT URLs (empty: SRT_LISTEN).' },
  {
    key: 'RTC_LISTEN',
    def: '8000',
    doc: 'UDP port of WebRTC media (WHIP publish, WHEP play): every session shares it (ICE UDP mux).',
  },
  {
    key: 'CANDIDATE',
    def: '',
    doc: "WebRTC: the server's public IP put in WHIP/WHEP answers, unless the URL's `eip` or the X-Real-Host header names one (SRS Stack's rules).",
  },
  {
    key: 'NAME_LOOKUP',
    def: 'on',
    doc: 'WebRTC: off stops resolving the host name the browser used (X-Real-Host, Host) into the candidate IP by DNS.',
  },
  {
    key: 'REDIS_HOST',
    def: '',
    doc: 'External Redis host. Empty: the stack runs its own redis-server on a private socket under DATA_DIR/redis.',
  },
  { key: 'REDIS_PORT', def: '6379', doc: 'External Redis port (ignored for the embedded Redis).' },
  { key: 'REDIS_PASSWORD', def: '', doc: 'Redis password (also applied to the embedded Redis).' },
  { key: 'REDIS_DATABASE', def: '0', doc: 'Redis database number.' },
  { key: 'SRS_PLATFORM_SECRET', def: '', doc: 'API secret (srs-v2-…) to adopt at first boot; otherwise one is generated.' },
  { key: 'MGMT_PASSWORD', def: '', doc: 'Admin password given by the environment; accepted in addition to the one set in the console.' },
  { key: 'REACT_APP_LOCALE', def: 'en', doc: 'Default console language: en or zh (each user can switch).' },
  { key: 'SRS_FORWARD_LIMIT', def: '10', doc: 'Forward slots, enforced by the server.' },
  { key: 'SRS_VLIVE_LIMIT', def: '10', doc: 'Virtual-live slots, enforced by the server.' },
  { key: 'SRS_CAMERA_LIMIT', def: '10', doc: 'IP-camera slots, enforced by the server.' },
  {
    key: 'HTTP_FLV_QUEUE_KB',
    def: '4096',
    doc: 'How far (KB) an HTTP-FLV player may fall behind the live stream before it is dropped (bounds memory per player).',
  },
  { key: 'VLIVE_UPLOAD_MAX_MB', def: '10240', doc: 'Largest virtual-live upload in MB; bigger uploads are refused with 413.' },
  {
    key: 'VLIVE_UPLOAD_TTL',
    def: '7200',
    doc: 'Seconds an uploaded or server file waits in DATA_DIR/upload to be used by a virtual-live slot before it is deleted.',
  },
  { key: 'REDIS_SERVER_BIN', def: 'redis-server', doc: 'redis-server binary for the embedded Redis.' },
  { key: 'NGINX_BIN', def: 'nginx', doc: 'nginx binary (with libnginx-mod-rtmp) used as the media engine.' },
  {
    key: 'NGINX_RTMP_MODULE',
    def: '',
    doc: "Path of ngx_rtmp_module.so. Empty: found from nginx's modules path and the usual distribution paths.",
  },
  { key: 'FFMPEG_BIN', def: 'ffmpeg', doc: 'FFmpeg binary for every task (FAQ "How to Replace FFmpeg").' },
  { key: 'FFPROBE_BIN', def: 'ffprobe', doc: 'ffprobe binary used to validate sources.' },
  {
    key: 'YTDL_BIN',
    def: 'yt-dlp',
    doc: 'youtube-dl compatible downloader for virtual live from a web page (`vlive/ytdl`); optional: `apt install yt-dlp`.',
  },
  { key: 'YTDL_PROXY', def: '', doc: 'Proxy the downloader uses (`--proxy`), e.g. socks5://127.0.0.1:1080.' },
  {
    key: 'RECORD_MP4_WRITERS',
    def: '50',
    doc: "Recording: how many records at once get their MP4 written while they record (in one worker thread of the stack's process: about 2–3 MB each and 0.3 % of a core for a 2.5 Mbit/s stream), so their end is immediate; the others, and all with 0, are remuxed from their segments when they end.",
  },
  {
    key: 'SRS_RECORD_WAIT_SECONDS',
    def: '300',
    doc: 'Recording: a record is finished after this many seconds without a new segment; a republish inside the window continues the same file.',
  },
  {
    key: 'ACME_DIRECTORY_URL',
    def: 'https://acme-v02.api.letsencrypt.org/directory',
    doc: "ACME directory for Let's Encrypt (point at pebble for tests).",
  },
  { key: 'ACME_CA_FILE', def: '', doc: "PEM file of extra CAs to trust for the ACME directory's HTTPS (pebble's CA in tests)." },
  { key: 'ACME_EMAIL', def: '', doc: "Contact e-mail for the Let's Encrypt account (expiry notices); empty: none." },
  {
    key: 'ACME_SELF_CHECK_PORT',
    def: '80',
    doc: "Before asking Let's Encrypt, the stack fetches http://<domain>:<port>/.well-known/acme-challenge/ itself and explains DNS or port problems. 0 turns the self-check off.",
  },
  {
    key: 'AUTO_SELF_SIGNED_CERTIFICATE',
    def: 'on',
    doc: 'on: create a self-signed certificate (CN srs.stack.local) at boot when DATA_DIR/config/nginx.key and nginx.crt are both missing.',
  },
  { key: 'NODE_ENV', def: 'production', doc: 'development shortens some timers.' },
  {
    key: 'PLATFORM_DOCKER',
    def: 'off',
    doc: 'on: the stack runs in its container image (the image sets it); mgmt/envs then reports mgmtDocker and platformDocker as SRS Stack does.',
  },
  {
    key: 'EDGE_ORIGIN',
    def: '',
    doc: "Edge role: the origin stack's HTTP URL (e.g. http://origin.example.com:2022). Set, this box runs no Redis, console or API: it serves the origin's streams (HLS and LL-HLS through nginx's cache, HTTP-FLV and RTMP from one HTTP-FLV pull per stream). `installer --edge --origin URL` writes it.",
  },
  { key: 'EDGE_CACHE_MB', def: '1024', doc: "Edge role: disk space of nginx's HLS cache, in MB." },
] as const;

export type ConfigKey = (typeof CONFIG_KEYS)[number]['key'];
type RawConfig = Record<ConfigKey, string>;

/** Parses a dotenv file: KEY=VALUE lines, `#` comments, optional single or double quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2] ?? '';
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? '';
    else value = value.replace(/\s+#.*$/, '');
    out[m[1] as string] = value;
  }
  return out;
}

function resolveRaw(env: NodeJS.ProcessEnv, fileValues: Record<string, string>): RawConfig {
  const raw = {} as RawConfig;
  for (const { key, def } of CONFIG_KEYS) {
    const fromEnv = env[key];
    raw[key] = fromEnv !== undefined && fromEnv !== '' ? fromEnv : (fileValues[key] ?? def);
  }
  return raw;
}

function port(raw: RawConfig, key: ConfigKey, problems: string[]): number {
  const text = raw[key];
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) {
    problems.push(`${key} must be a TCP port between 1 and 65535, got "${text}"`);
    return 0;
  }
  return n;
}

function displayPort(raw: RawConfig, key: ConfigKey, problems: string[]): string {
  const text = raw[key];
  if (text !== '' && !/^\d{1,5}$/.test(text)) problems.push(`${key} must be a port number or empty, got "${text}"`);
  return text;
}

function flag(raw: RawConfig, key: ConfigKey, problems: string[]): boolean {
  const text = raw[key].toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(text)) return true;
  if (['off', 'false', '0', 'no'].includes(text)) return false;
  problems.push(`${key} must be on or off, got "${raw[key]}"`);
  return false;
}

function count(raw: RawConfig, key: ConfigKey, problems: string[], max: number, min = 0): number {
  const n = Number(raw[key]);
  if (!/^\d+$/.test(raw[key]) || n < min || n > max) {
    problems.push(`${key} must be a whole number from ${min} to ${max}, got "${raw[key]}"`);
    return 0;
  }
  return n;
}

function flvQueueKb(raw: RawConfig, problems: string[]): number {
  const kb = Number(raw.HTTP_FLV_QUEUE_KB);
  if (!/^\d+$/.test(raw.HTTP_FLV_QUEUE_KB) || kb < 64 || kb > 1024 * 1024) {
    problems.push(`HTTP_FLV_QUEUE_KB must be a whole number of KB from 64 to 1048576, got "${raw.HTTP_FLV_QUEUE_KB}"`);
    return 0;
  }
  return kb;
}

/** The edge role's settings, or null for a full stack (EDGE_ORIGIN empty). */
function edgeConfig(raw: RawConfig, problems: string[]): EdgeConfig | null {
  const cacheMb = count(raw, 'EDGE_CACHE_MB', problems, 1_048_576, 1);
  if (!raw.EDGE_ORIGIN) return null;
  const origin = baseUrl(raw.EDGE_ORIGIN, ['http:', 'https:']);
  if (!origin) {
    problems.push(`EDGE_ORIGIN must be the origin's http:// or https:// URL without a path or query, got "${raw.EDGE_ORIGIN}"`);
    return null;
  }
  return { origin, cacheMb };
}

/** `scheme://host[:port]` of a URL with no path, query or credentials; null otherwise. */
function baseUrl(text: string, protocols: readonly string[]): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (!protocols.includes(url.protocol) || !url.hostname || url.username || url.password || url.search || url.hash) return null;
  if (url.pathname !== '/' && url.pathname !== '') return null;
  // Host names go into the engine config: only what a host name or an IP literal can hold.
  if (!/^[A-Za-z0-9.\-:[\]]+$/.test(url.host)) return null;
  return `${url.protocol}//${url.host}`;
}

/** Builds and validates the config; throws ConfigError listing every problem at once. */
export function buildConfig(env: NodeJS.ProcessEnv, fileValues: Record<string, string> = {}): Config {
  const raw = resolveRaw(env, fileValues);
  const problems: string[] = [];
  if (!path.isAbsolute(raw.DATA_DIR)) problems.push(`DATA_DIR must be an absolute path, got "${raw.DATA_DIR}"`);
  const locale = raw.REACT_APP_LOCALE;
  if (locale !== 'en' && locale !== 'zh') problems.push(`REACT_APP_LOCALE must be en or zh, got "${locale}"`);
  const secret = raw.SRS_PLATFORM_SECRET;
  if (secret && !/^srs-v2-[0-9a-f]{32}$/.test(secret)) {
    problems.push('SRS_PLATFORM_SECRET must look like srs-v2- followed by 32 lowercase hex characters');
  }
  const listeners = {
    mgmtListen: port(raw, 'MGMT_LISTEN', problems),
    httpsListen: port(raw, 'HTTPS_LISTEN', problems),
    rtmpListen: port(raw, 'RTMP_LISTEN', problems),
    tapListen: raw.TAP_LISTEN === '0' ? 0 : port(raw, 'TAP_LISTEN', problems),
  };
  const used = Object.entries(listeners).filter(([, p]) => p > 0);
  const dup = used.find(([, p], i) => used.findIndex(([, q]) => q === p) !== i);
  if (dup) problems.push(`MGMT_LISTEN, HTTPS_LISTEN, RTMP_LISTEN and TAP_LISTEN must differ (port ${dup[1]} is used twice)`);
  const srtListen = raw.SRT_LISTEN === '0' ? 0 : port(raw, 'SRT_LISTEN', problems);
  const srtPassphrase = raw.SRT_PASSPHRASE;
  if (srtPassphrase && (srtPassphrase.length < 10 || srtPassphrase.length > 79)) {
    problems.push(`SRT_PASSPHRASE must be 10 to 79 characters (libsrt's rule), got ${srtPassphrase.length}`);
  }
  try {
    new URL(raw.ACME_DIRECTORY_URL);
  } catch {
    problems.push(`ACME_DIRECTORY_URL must be a URL, got "${raw.ACME_DIRECTORY_URL}"`);
  }
  if (raw.ACME_CA_FILE && !path.isAbsolute(raw.ACME_CA_FILE)) {
    problems.push(`ACME_CA_FILE must be an absolute path, got "${raw.ACME_CA_FILE}"`);
  }
  if (raw.ACME_EMAIL && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(raw.ACME_EMAIL)) {
    problems.push(`ACME_EMAIL must be an e-mail address, got "${raw.ACME_EMAIL}"`);
  }
  const config: Config = {
    dataDir: path.resolve(raw.DATA_DIR || '/'),
    ...listeners,
    listenHost: raw.LISTEN_HOST,
    srt: { listen: srtListen, latencyMs: count(raw, 'SRT_LATENCY', problems, 10_000), passphrase: srtPassphrase, library: raw.SRT_LIBRARY },
    display: {
      httpPort: displayPort(raw, 'HTTP_PORT', problems),
      // A second instance on another RTMP port shows that port unless told the public one differs.
      rtmpPort: displayPort(raw, 'RTMP_PORT', problems) || String(listeners.rtmpListen),
      rtcPort: displayPort(raw, 'RTC_PORT', problems) || raw.RTC_LISTEN,
      srtPort: displayPort(raw, 'SRT_PORT', problems) || raw.SRT_LISTEN,
    },
    rtc: {
      listen: port(raw, 'RTC_LISTEN', problems),
      candidate: raw.CANDIDATE.trim(),
      nameLookup: flag(raw, 'NAME_LOOKUP', problems),
    },
    redis: {
      host: raw.REDIS_HOST,
      port: raw.REDIS_HOST ? port(raw, 'REDIS_PORT', problems) : 0,
      password: raw.REDIS_PASSWORD,
      database: count(raw, 'REDIS_DATABASE', problems, 15),
    },
    platformSecret: secret,
    mgmtPassword: raw.MGMT_PASSWORD,
    locale: locale === 'zh' ? 'zh' : 'en',
    limits: {
      forward: count(raw, 'SRS_FORWARD_LIMIT', problems, 100),
      vlive: count(raw, 'SRS_VLIVE_LIMIT', problems, 100),
      camera: count(raw, 'SRS_CAMERA_LIMIT', problems, 100),
    },
    flvClientQueueBytes: flvQueueKb(raw, problems) * 1024,
    recordMp4Writers: count(raw, 'RECORD_MP4_WRITERS', problems, 1000),
    upload: {
      maxBytes: Math.max(1, count(raw, 'VLIVE_UPLOAD_MAX_MB', problems, 1_048_576)) * 1024 * 1024,
      ttlMs: Math.max(1, count(raw, 'VLIVE_UPLOAD_TTL', problems, 30 * 24 * 3600)) * 1000,
    },
    binaries: {
      redisServer: raw.REDIS_SERVER_BIN,
      nginx: raw.NGINX_BIN,
      nginxRtmpModule: raw.NGINX_RTMP_MODULE,
      ffmpeg: raw.FFMPEG_BIN,
      ffprobe: raw.FFPROBE_BIN,
      ytdl: raw.YTDL_BIN,
    },
    ytdlProxy: raw.YTDL_PROXY,
    // Zero would cut a record at every segment, so the window is at least one second.
    record: { waitSeconds: count(raw, 'SRS_RECORD_WAIT_SECONDS', problems, 86_400, 1) },
    acmeDirectoryUrl: raw.ACME_DIRECTORY_URL,
    acmeCaFile: raw.ACME_CA_FILE,
    acmeEmail: raw.ACME_EMAIL,
    acmeSelfCheckPort: raw.ACME_SELF_CHECK_PORT === '0' ? 0 : port(raw, 'ACME_SELF_CHECK_PORT', problems),
    autoSelfSignedCertificate: flag(raw, 'AUTO_SELF_SIGNED_CERTIFICATE', problems),
    nodeEnv: raw.NODE_ENV,
    inContainer: flag(raw, 'PLATFORM_DOCKER', problems),
    edge: edgeConfig(raw, problems),
  };
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** Loads the config for this process: DATA_DIR comes from the environment (it locates the .env). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = env.DATA_DIR || '/data';
  const envFile = path.join(dataDir, 'config', '.env');
  let fileValues: Record<string, string> = {};
  try {
    fileValues = parseDotenv(fs.readFileSync(envFile, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError([`cannot read ${envFile}: ${(err as Error).message}`]);
    }
  }
  return buildConfig(env, fileValues);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
