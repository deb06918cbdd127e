// What forward, virtual live and camera share: SRS Stack's slots (`wx`, `bilibili`, `kuaishou` and
// custom `forwarding-…`/`vlive-…`/`camera-…` ids), their common config fields, the server-enforced
// slot limit, the output URL and the status row of `…/streams`.
import crypto from 'node:crypto';
import { ConflictError, ValidationError } from '../../core/errors.js';
import { joinOutputUrl, schemeOf, splitStreamUrl } from '../../core/ffmpeg/argv.js';
import type { TaskLive } from '../../core/ffmpeg/tasks.js';
import type { RedisClient } from '../../core/redis.js';
import { optionalBoolean, optionalString, requireString, type Body } from '../../core/validate.js';

export const NAMED_PLATFORMS = ['wx', 'bilibili', 'kuaishou'] as const;

export interface SlotBase {
  platform: string;
  server: string;
  secret: string;
  enabled: boolean;
  custom: boolean;
  label: string;
}

export interface SlotKind {
  /** `forward`: used in messages. */
  readonly name: string;
  /** What a custom slot id contains: `forwarding-`, `vlive-`, `camera-`. */
  readonly marker: string;
  /** The env var that sets the limit, named in the error. */
  readonly limitKey: string;
}

export function checkPlatform(platform: string, kind: SlotKind): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(platform)) {
    throw new ValidationError(`invalid platform=${platform}: letters, digits, - and _ only (at most 64)`);
  }
  if (!(NAMED_PLATFORMS as readonly string[]).includes(platform) && !platform.includes(kind.marker)) {
    throw new ValidationError(`invalid platform=${platform}: use wx, bilibili, kuaishou or an id containing ${kind.marker}`);
  }
  return platform;
}

/** A new custom slot id as SRS Stack's console makes them: `forwarding-4-a1b2c3`. */
export function newCustomPlatform(kind: SlotKind, index: number): string {
  return `${kind.marker}${index}-${crypto.randomBytes(3).toString('hex')}`;
}

const OUTPUT_SCHEMES = ['rtmp', 'rtmps', 'srt'];
/** The end of the refusal of any other destination; the console recognises it (plain-errors.ts). */
export const OUTPUT_SERVER_RULE = 'use an rtmp://, rtmps:// or srt:// URL';

/** A destination must be RTMP, RTMPS or SRT: the only outputs the relay knows how to mux. */
export function checkOutputServer(server: string): string {
  const s = server.trim();
  if (!OUTPUT_SCHEMES.includes(schemeOf(s)) || !/^[a-z]+:\/\/[^/\s]+/i.test(s) || /\s/.test(s)) {
    throw new ValidationError(`invalid server ${s}: ${OUTPUT_SERVER_RULE}`);
  }
  return s;
}

/**
 * The common fields of a `…/secret` update. A key left empty with a full URL as server is split at
 * the last slash (FAQ "How SRS Restreams to Custom Platforms").
 */
export function readSlotBase(body: Body, kind: SlotKind): SlotBase {
  const platform = checkPlatform(requireString(body, 'platform', 64), kind);
  let server = checkOutputServer(requireString(body, 'server', 2048));
  let secret = (optionalString(body, 'secret', 2048) ?? '').trim();
  if (!secret && schemeOf(server) !== 'srt') ({ server, secret } = splitStreamUrl(server));
  return {
    platform,
    server,
    secret,
    enabled: optionalBoolean(body, 'enabled') ?? false,
    custom: optionalBoolean(body, 'custom') ?? false,
    label: (optionalString(body, 'label', 128) ?? '').trim(),
  };
}

/**
 * The URL ffmpeg publishes to. `rtmp://localhost/live` without a port means this stack: it goes to
 * the engine's actual RTMP port, which differs from 1935 when several instances share a machine.
 */
export function outputUrl(slot: Pick<SlotBase, 'server' | 'secret'>, engineRtmpPort: number): string {
  const server = slot.server.replace(/^(rtmp:\/\/)(localhost|127\.0\.0\.1)(?=\/|$)/i, `$1127.0.0.1:${engineRtmpPort}`);
  return joinOutputUrl(server, slot.secret);
}

/** What must be masked wherever a task's argv or output is shown: the key, its parts and URL passwords. */
export function slotSecrets(slot: Pick<SlotBase, 'server' | 'secret'>): string[] {
  const out = new Set<string>();
  const add = (s: string | undefined) => {
    if (s && s.length >= 4) out.add(s);
  };
  add(slot.secret);
  add(slot.secret.split('?')[0]);
  for (const m of slot.secret.matchAll(/=([^&]+)/g)) add(m[1]);
  for (const p of urlPassword(slot.server)) add(p);
  return [...out];
}

/** The password of a URL's user info (`rtsp://admin:secret@…`), masked in logs like a stream key. */
export function urlPassword(url: string): string[] {
  const m = /^[a-z]+:\/\/[^/:@]*:([^@/]+)@/i.exec(url);
  return m?.[1] && m[1].length >= 4 ? [m[1]] : [];
}

export type SlotState = 'inactive' | 'waiting' | 'starting' | 'streaming' | 'retrying';

export function slotState(enabled: boolean, live: TaskLive | null): SlotState {
  if (!enabled) return 'inactive';
  if (!live) return 'waiting';
  if (live.status === 'ready') return 'streaming';
  if (live.status === 'backoff' || live.status === 'failed') return 'retrying';
  return 'starting';
}

/**
 * A row of `…/streams`: SRS Stack's fields (`platform`, `enabled`, `custom`, `label`, and while
 * ffmpeg runs `start`, `ready`, `frame`), plus the live state this stack adds: `state` (the task's),
 * `task`; SlotService.status adds `destination`, what the destination actually receives.
 */
export function slotStatus(slot: SlotBase, live: TaskLive | null): Record<string, unknown> {
  const row: Record<string, unknown> = {
    platform: slot.platform,
    enabled: slot.enabled,
    custom: slot.custom,
    label: slot.label,
  };
  if (live?.pid) {
    row.start = live.start;
    row.ready = live.ready ?? '';
    row.frame = live.frame ?? { log: '', update: '' };
  }
  row.state = slotState(slot.enabled, live);
  if (live) {
    row.task = {
      uuid: live.uuid,
      pid: live.pid,
      status: live.status,
      source: live.source,
      input: live.input,
      output: live.output,
      bitrateKbps: live.bitrateKbps,
      speed: live.speed,
      restarts: live.restarts,
      lastError: live.lastError,
      lastExit: live.lastExit,
      tail: live.tail,
    };
  }
  return row;
}

/** A Redis hash of slot configs (SRS_FORWARD_CONFIG…), validated on read. */
export class SlotStore<T extends SlotBase> {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly parse: (value: Record<string, unknown>) => T,
  ) {}

  /** Every valid slot, sorted by platform; a malformed entry is skipped, not fatal. */
  async all(): Promise<T[]> {
    const raw = await this.redis.redis.hgetall(this.key);
    const out: T[] = [];
    for (const [platform, value] of Object.entries(raw)) {
      const slot = this.decode(platform, value);
      if (slot) out.push(slot);
    }
    return out.sort((a, b) => (a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0));
  }

  async get(platform: string): Promise<T | null> {
    const value = await this.redis.redis.hget(this.key, platform);
    return value === null ? null : this.decode(platform, value);
  }

  async put(slot: T): Promise<void> {
    await this.redis.redis.hset(this.key, slot.platform, JSON.stringify(slot));
  }

  /** SRS Stack only limited slots in its UI; here a new slot beyond the limit is refused. */
  async checkCapacity(platform: string, limit: number, kind: SlotKind): Promise<void> {
    const r = this.redis.redis;
    if (await r.hexists(this.key, platform)) return;
    const count = await r.hlen(this.key);
    if (count >= limit) {
      throw new ConflictError(`${kind.name} limit reached: ${count} of ${limit} slots are configured (${kind.limitKey})`);
    }
  }

  private decode(platform: string, value: string): T | null {
    try {
      const v = JSON.parse(value) as Record<string, unknown>;
      if (!v || typeof v !== 'object') return null;
      return this.parse({ ...v, platform });
    } catch {
      return null;
    }
  }
}

/** Reads the common fields of a stored slot, tolerating SRS Stack's omitted zero values. */
export function decodeSlotBase(v: Record<string, unknown>): SlotBase {
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  return {
    platform: str(v.platform),
    server: str(v.server),
    secret: str(v.secret),
    enabled: v.enabled === true,
    custom: v.custom === true,
    label: str(v.label),
  };
}
