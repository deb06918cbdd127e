// The callback settings and the last exchange, in SRS Stack's hash SRS_HOOKS:
// target, opaque, all ("true"/"false"), host, req (last request JSON), res (last answer body).
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';

export interface HookSettings {
  target: string;
  opaque: string;
  all: boolean;
  host: string;
}

export interface HookExchange {
  req: string;
  res: string;
}

export class CallbackStore {
  constructor(private readonly redis: RedisClient) {}

  async read(): Promise<HookSettings & HookExchange> {
    const h = await this.redis.redis.hgetall(KEYS.HOOKS);
    return {
      target: h.target ?? '',
      opaque: h.opaque ?? '',
      all: h.all === 'true',
      host: h.host ?? '',
      req: h.req ?? '',
      res: h.res ?? '',
    };
  }

  async save(settings: HookSettings): Promise<void> {
    await this.redis.redis.hset(KEYS.HOOKS, { ...settings, all: String(settings.all) });
  }

  /** The last exchange: the request and the receiver's answer (or why there was none), in one write. */
  async saveExchange(req: string, res: string): Promise<void> {
    await this.redis.redis.hset(KEYS.HOOKS, { req, res });
  }
}
