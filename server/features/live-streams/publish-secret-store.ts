// The stream publish secret (docs/compatibility.md §2.5): SRS_AUTH_SECRET.pubSecret, mirrored into the legacy
// SRS_SECRET_PUBLISH string, plus the pubNoAuth switch and per-room secrets.
import crypto from 'node:crypto';
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';

export class PublishSecretStore {
  constructor(private readonly redis: RedisClient) {}

  async get(): Promise<string> {
    return (await this.redis.redis.hget(KEYS.AUTH_SECRET, 'pubSecret')) ?? '';
  }

  /** Creates the secret at first boot (32 hex chars, as SRS Stack does); keeps an existing one. */
  async ensure(): Promise<string> {
    const r = this.redis.redis;
    await r.hsetnx(KEYS.AUTH_SECRET, 'pubSecret', crypto.randomBytes(16).toString('hex'));
    const secret = (await r.hget(KEYS.AUTH_SECRET, 'pubSecret')) ?? '';
    await r.set(KEYS.SECRET_PUBLISH, secret);
    return secret;
  }

  async set(secret: string): Promise<void> {
    await this.redis.redis.multi().hset(KEYS.AUTH_SECRET, 'pubSecret', secret).set(KEYS.SECRET_PUBLISH, secret).exec();
  }

  async isAuthDisabled(): Promise<boolean> {
    return (await this.redis.redis.hget(KEYS.AUTH_SECRET, 'pubNoAuth')) === 'true';
  }

  async setAuthDisabled(disabled: boolean): Promise<void> {
    await this.redis.redis.hset(KEYS.AUTH_SECRET, 'pubNoAuth', String(disabled));
  }

  /** Everything the publish-secret gate reads, in one round trip (the SRT handshake's snapshot). */
  async snapshot(): Promise<{ authDisabled: boolean; secret: string; rooms: Record<string, string> }> {
    const all = await this.redis.redis.hgetall(KEYS.AUTH_SECRET);
    const rooms: Record<string, string> = {};
    for (const [field, value] of Object.entries(all)) if (field.startsWith('room-pub-')) rooms[field.slice('room-pub-'.length)] = value;
    return { authDisabled: all.pubNoAuth === 'true', secret: all.pubSecret ?? '', rooms };
  }

  async roomSecret(stream: string): Promise<string | null> {
    return this.redis.redis.hget(KEYS.AUTH_SECRET, `room-pub-${stream}`);
  }
}
