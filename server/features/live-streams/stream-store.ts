// The active-stream registry under SRS Stack's keys: SRS_STREAM_ACTIVE (field `{app}/{stream}` →
// stream JSON, docs/compatibility.md §15.2) and the SRS_STAT_COUNTER publish/play counters.
import type { StreamInfo } from '../../core/events.js';
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';
import { DEFAULT_VHOST } from '../../core/stream-names.js';
import { streamKey } from './publish-rules.js';
import { storedObject } from './stored-json.js';

/** Reads a stored stream defensively: a value written by another version may lack fields. */
export function parseStreamInfo(raw: string): StreamInfo | null {
  const s = storedObject(raw);
  if (!s) return null;
  if (!s('app') || !s('stream')) return null;
  const info: StreamInfo = {
    vhost: s('vhost') || DEFAULT_VHOST,
    app: s('app'),
    stream: s('stream'),
    param: s('param'),
    update: s('update'),
  };
  if (s('server_id')) info.server_id = s('server_id');
  if (s('client_id')) info.client_id = s('client_id');
  return info;
}

export function keyOf(info: Pick<StreamInfo, 'vhost' | 'app' | 'stream'>): string {
  return streamKey(info.vhost, info.app, info.stream);
}

export class StreamStore {
  constructor(private readonly redis: RedisClient) {}

  async list(): Promise<StreamInfo[]> {
    const out = await this.redis.hashValues(KEYS.STREAM_ACTIVE, parseStreamInfo);
    return out.sort((a, b) => a.update.localeCompare(b.update) || keyOf(a).localeCompare(keyOf(b)));
  }

  async get(key: string): Promise<StreamInfo | null> {
    const raw = await this.redis.redis.hget(KEYS.STREAM_ACTIVE, key);
    return raw === null ? null : parseStreamInfo(raw);
  }

  /** Registers a publish; `counted` false for streams found by reconciliation (not a new publish). */
  async put(info: StreamInfo, counted = true): Promise<void> {
    // Empty values are omitted, as SRS Stack stores them.
    const stored = Object.fromEntries(Object.entries(info).filter(([, v]) => v !== '' && v !== undefined));
    const tx = this.redis.redis.multi().hset(KEYS.STREAM_ACTIVE, keyOf(info), JSON.stringify(stored));
    if (counted) tx.hincrby(KEYS.STAT_COUNTER, 'publish', 1);
    await tx.exec();
  }

  /** Removes the entry; with `clientId`, only if that client is the registered publisher. */
  async remove(key: string, clientId?: string): Promise<StreamInfo | null> {
    const current = await this.get(key);
    if (!current) return null;
    if (clientId !== undefined && current.client_id && current.client_id !== clientId) return null;
    const removed = await this.redis.redis.hdel(KEYS.STREAM_ACTIVE, key);
    return removed ? current : null;
  }

  async countPlay(): Promise<void> {
    await this.redis.redis.hincrby(KEYS.STAT_COUNTER, 'play', 1);
  }
}
