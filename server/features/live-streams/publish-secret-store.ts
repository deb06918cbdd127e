// The stream publish secret (docs/compatibility.md §2.5): SRS_AUTH_SECRET.pubSecret, mirrored into the legacy
// SRS_SECRET_PUBLISH string, plus the pubNoAuth switch and per-room secrets.
import crypto from 'node:crypto';
import { CachedRead } from '../../core/cached-read.js';
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';
import type { PublishRules } from './publish-rules.js';

/** A change made to SRS_AUTH_SECRET behind the stack's back (redis-cli) reaches the gate within this. */
const RULES_MAX_AGE_MS = 5000;

export class PublishSecretStore {
  /** The gate's rules in memory: the publish hook does not wait for Redis (core/cached-read.ts). */
  private readonly rules = new CachedRead(() => this.readRules(), RULES_MAX_AGE_MS);

  constructor(private readonly redis: RedisClient) {}

  /** Everything the publish-secret gate reads (the RTMP hook's and the SRT handshake's), from memory once loaded. */
  snapshot(): Promise<PublishRules> {
    return this.rules.get();
  }

  /** SRS_AUTH_SECRET was written (here, or by the live rooms' store): the next snapshot reads it again. */
  rulesChanged(): void {
    this.rules.invalidate();
  }

  async get(): Promise<string> {
    return (await this.redis.redis.hget(KEYS.AUTH_SECRET, 'pubSecret')) ?? '';
  }

  /** Creates the secret at first boot (32 hex chars, as SRS Stack does); keeps an existing one. */
  async ensure(): Promise<string> {
    const r = this.redis.redis;
    await r.hsetnx(KEYS.AUTH_SECRET, 'pubSecret', crypto.randomBytes(16).toString('hex'));
    const secret = (await r.hget(KEYS.AUTH_SECRET, 'pubSecret')) ?? '';
    await r.set(KEYS.SECRET_PUBLISH, secret);
    this.rulesChanged();
    return secret;
  }

  async set(secret: string): Promise<void> {
    await this.redis.redis.multi().hset(KEYS.AUTH_SECRET, 'pubSecret', secret).set(KEYS.SECRET_PUBLISH, secret).exec();
    this.rulesChanged();
  }

  async isAuthDisabled(): Promise<boolean> {
    return (await this.redis.redis.hget(KEYS.AUTH_SECRET, 'pubNoAuth')) === 'true';
  }

  async setAuthDisabled(disabled: boolean): Promise<void> {
    await this.redis.redis.hset(KEYS.AUTH_SECRET, 'pubNoAuth', String(disabled));
    this.rulesChanged();
  }

  private async readRules(): Promise<PublishRules> {
    const all = await this.redis.redis.hgetall(KEYS.AUTH_SECRET);
    // No prototype: a room whose stream is named `__proto__` keeps its own secret.
    const rooms = Object.create(null) as Record<string, string>;
    for (const [field, value] of Object.entries(all)) if (field.startsWith('room-pub-')) rooms[field.slice('room-pub-'.length)] = value;
    return { authDisabled: all.pubNoAuth === 'true', secret: all.pubSecret ?? '', rooms };
  }
}
