// One ioredis client for the whole process. The offline queue is off on purpose: while Redis is
// down a command fails at once with NotReadyError instead of hanging an HTTP request.
import { Redis } from 'ioredis';
import { NotReadyError } from './errors.js';
import { createLogger } from './logger.js';

const log = createLogger('redis');

export type RedisTarget = { path: string } | { host: string; port: number };

export interface RedisClientOptions {
  target: RedisTarget;
  password: string;
  database: number;
}

export class RedisClient {
  private client: Redis | null = null;
  private readonly readyHooks: Array<{ name: string; hook: () => void | Promise<void> }> = [];

  constructor(private readonly options: RedisClientOptions) {}

  start(): void {
    const { target, password, database } = this.options;
    this.client = new Redis({
      ...target,
      password: password || undefined,
      db: database,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // A stopped (SIGSTOP) or wedged redis must not hang requests forever.
      commandTimeout: 5000,
      // Keep retrying forever: the supervisor restarts a dead redis-server and we reconnect.
      retryStrategy: () => 300,
    });
    this.client.on('ready', () => {
      log.info('connected');
      void this.runReadyHooks();
    });
    // ioredis emits an error per failed reconnect; one line per state change is enough.
    let lastError = '';
    this.client.on('error', (err: Error) => {
      if (err.message !== lastError) log.warn('connection problem', err);
      lastError = err.message;
    });
    this.client.on('end', () => log.info('connection closed'));
  }

  /**
   * Called every time the connection becomes ready (first connect and every reconnect), in the
   * order registered. Each runs on its own: one that fails is logged under its name and never
   * keeps the ones after it from running.
   */
  onReady(name: string, hook: () => void | Promise<void>): void {
    this.readyHooks.push({ name, hook });
  }

  private async runReadyHooks(): Promise<void> {
    for (const { name, hook } of this.readyHooks) {
      try {
        await hook();
      } catch (err) {
        log.error(`${name}: the Redis-ready step failed`, err);
      }
    }
  }

  get isReady(): boolean {
    return this.client?.status === 'ready';
  }

  /** The raw client for stores. Throws NotReadyError while Redis is not connected. */
  get redis(): Redis {
    if (!this.client || this.client.status !== 'ready') {
      throw new NotReadyError('Redis is not ready: the stack is starting or Redis restarts, retry in a few seconds');
    }
    return this.client;
  }

  /**
   * Every value of a hash, parsed and validated; an unreadable entry (old or hand-edited data) is
   * skipped with a warning instead of breaking the whole listing.
   */
  async hashValues<T>(key: string, parse: (raw: string) => T | null): Promise<T[]> {
    const out: T[] = [];
    for (const [field, raw] of Object.entries(await this.redis.hgetall(key))) {
      const value = parse(raw);
      if (value !== null) out.push(value);
      else log.warn(`ignoring unreadable ${key}[${field}]`);
    }
    return out;
  }

  /** Redis answers. One that refuses writes because it cannot save (MISCONF) still answers reads. */
  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch (err) {
      return err instanceof Error && err.message.startsWith('MISCONF');
    }
  }

  /** Redis's own report that its last save (append-only file or snapshot) failed, e.g. on a full disk. */
  async cannotSave(): Promise<boolean> {
    try {
      const info = await this.redis.info('persistence');
      return /^(aof_last_write_status|rdb_last_bgsave_status):err\b/m.test(info);
    } catch {
      return false;
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (!client) return;
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
  }
}
