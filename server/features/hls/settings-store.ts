// HLS delivery modes under SRS Stack's keys (docs/compatibility.md §10): SRS_LL_HLS.hlsLowLatency and
// SRS_HP_HLS.noHlsCtx, kept in memory so serving a playlist never waits for Redis.
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';

export interface HlsModes {
  /** 2 s fragments / 16 s window instead of 10 s / 60 s. */
  readonly hlsLowLatency: boolean;
  /** High-performance mode: no per-player session playlist (hls_ctx off). */
  readonly noHlsCtx: boolean;
}

export class HlsSettings {
  private modes: HlsModes = { hlsLowLatency: false, noHlsCtx: false };

  constructor(private readonly redis: RedisClient) {}

  get current(): HlsModes {
    return this.modes;
  }

  async load(): Promise<void> {
    const r = this.redis.redis;
    const [ll, hp] = await Promise.all([r.hget(KEYS.LL_HLS, 'hlsLowLatency'), r.hget(KEYS.HP_HLS, 'noHlsCtx')]);
    this.modes = { hlsLowLatency: ll === 'true', noHlsCtx: hp === 'true' };
  }

  async setLowLatency(on: boolean): Promise<void> {
    await this.redis.redis.hset(KEYS.LL_HLS, 'hlsLowLatency', String(on));
    this.modes = { ...this.modes, hlsLowLatency: on };
  }

  async setNoHlsCtx(on: boolean): Promise<void> {
    await this.redis.redis.hset(KEYS.HP_HLS, 'noHlsCtx', String(on));
    this.modes = { ...this.modes, noHlsCtx: on };
  }
}
