// System settings in Redis, under SRS Stack's keys: boot flags, website (beian), limits, locale.
import { FIRST_BOOT_FIELD, KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';

export const DEFAULT_BITRATE_LIMIT_KBPS = 5000;

export interface Limits {
  vlive: number;
  camera: number;
}

export class SystemStore {
  constructor(private readonly redis: RedisClient) {}

  async markBooted(platform: Record<string, string>): Promise<void> {
    const r = this.redis.redis;
    await r
      .multi()
      .hsetnx(KEYS.FIRST_BOOT, FIRST_BOOT_FIELD, '1')
      .hset(KEYS.TENCENT_LH, platform)
      .hset(KEYS.UPGRADING, 'upgrading', '0')
      .exec();
  }

  async isBooted(): Promise<boolean> {
    const r = this.redis.redis;
    const [boot, lh] = await Promise.all([r.hlen(KEYS.FIRST_BOOT), r.hlen(KEYS.TENCENT_LH)]);
    return boot > 0 && lh > 0;
  }

  async beian(): Promise<Record<string, string>> {
    return this.redis.redis.hgetall(KEYS.BEIAN);
  }

  async setBeian(field: 'icp' | 'title', text: string): Promise<void> {
    await this.redis.redis.hset(KEYS.BEIAN, field, text);
  }

  async limits(): Promise<Limits> {
    const raw = await this.redis.redis.hgetall(KEYS.SYS_LIMITS);
    const read = (v: string | undefined) => {
      const n = Number(v);
      return Number.isInteger(n) && n > 0 ? n : DEFAULT_BITRATE_LIMIT_KBPS;
    };
    return { vlive: read(raw.vlive), camera: read(raw.camera) };
  }

  async setLimits(limits: Limits): Promise<void> {
    await this.redis.redis.hset(KEYS.SYS_LIMITS, { vlive: String(limits.vlive), camera: String(limits.camera) });
  }

  async setLocale(locale: string): Promise<void> {
    await this.redis.redis.set(KEYS.LOCALE, locale);
  }
}
