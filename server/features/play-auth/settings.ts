// Play authentication settings in Redis (SRS_PLAY_AUTH, ours: SRS Stack has none), kept in memory so
// a segment request never waits for Redis:
//   mode         off | signed | callback        the default for every stream (off: SRS Stack's public URLs)
//   failClosed   true | false                   callback mode: refuse viewers when the receiver does not answer
//   key          64 hex chars                   the play-signing key, made once and kept: turning play
//                                               auth off and on again, or restarting, keeps every URL
//                                               signed before valid until it expires
//   stream:{app}/{stream}  off | signed | callback   a stream's own mode, over the default
import crypto from 'node:crypto';
import { ValidationError } from '../../core/errors.js';
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';

export const PLAY_AUTH_MODES = ['off', 'signed', 'callback'] as const;
export type PlayAuthMode = (typeof PLAY_AUTH_MODES)[number];

export interface PlayAuthState {
  readonly mode: PlayAuthMode;
  readonly failClosed: boolean;
  /** "app/stream" → that stream's own mode. */
  readonly streams: Readonly<Record<string, PlayAuthMode>>;
}

const STREAM_FIELD = 'stream:';

export function parseMode(value: unknown, what = 'mode'): PlayAuthMode {
  if (typeof value === 'string' && (PLAY_AUTH_MODES as readonly string[]).includes(value)) return value as PlayAuthMode;
  throw new ValidationError(`${what} must be one of ${PLAY_AUTH_MODES.join(', ')}, got ${JSON.stringify(value)}`);
}

export class PlayAuthSettings {
  private state: PlayAuthState = { mode: 'off', failClosed: true, streams: {} };
  private signingKey: Uint8Array | null = null;

  constructor(private readonly redis: RedisClient) {}

  get current(): PlayAuthState {
    return this.state;
  }

  /** The play-signing key; null until Redis first answered (nothing can be signed or checked yet). */
  get key(): Uint8Array | null {
    return this.signingKey;
  }

  modeFor(app: string, stream: string): PlayAuthMode {
    return this.state.streams[`${app}/${stream}`] ?? this.state.mode;
  }

  async load(): Promise<void> {
    const r = this.redis.redis;
    await r.hsetnx(KEYS.PLAY_AUTH, 'key', crypto.randomBytes(32).toString('hex'));
    const all = await r.hgetall(KEYS.PLAY_AUTH);
    const streams: Record<string, PlayAuthMode> = {};
    for (const [field, value] of Object.entries(all)) {
      if (!field.startsWith(STREAM_FIELD)) continue;
      try {
        streams[field.slice(STREAM_FIELD.length)] = parseMode(value);
      } catch {
        /* a hand-edited value: ignored, the default applies */
      }
    }
    let mode: PlayAuthMode = 'off';
    try {
      mode = parseMode(all.mode ?? 'off');
    } catch {
      /* ditto */
    }
    this.signingKey = Buffer.from(all.key ?? '', 'hex');
    this.state = { mode, failClosed: all.failClosed !== 'false', streams };
  }

  async setDefault(mode: PlayAuthMode, failClosed: boolean): Promise<void> {
    await this.redis.redis.hset(KEYS.PLAY_AUTH, 'mode', mode, 'failClosed', String(failClosed));
    this.state = { ...this.state, mode, failClosed };
  }

  /** A stream's own mode; null removes it (the default applies again). */
  async setStream(app: string, stream: string, mode: PlayAuthMode | null): Promise<void> {
    const name = `${app}/${stream}`;
    const streams = { ...this.state.streams };
    if (mode === null) {
      await this.redis.redis.hdel(KEYS.PLAY_AUTH, `${STREAM_FIELD}${name}`);
      delete streams[name];
    } else {
      await this.redis.redis.hset(KEYS.PLAY_AUTH, `${STREAM_FIELD}${name}`, mode);
      streams[name] = mode;
    }
    this.state = { ...this.state, streams };
  }
}
