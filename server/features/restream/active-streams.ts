// Reads the engine's registry of live streams (SRS_STREAM_ACTIVE, field `{app}/{stream}` → StreamInfo
// JSON) and picks a task's input the way SRS Stack does: by name, or the most recently published.
import type { StreamInfo } from '../../core/events.js';
import { KEYS } from '../../core/keys.js';
import type { RedisClient } from '../../core/redis.js';

export class ActiveStreams {
  constructor(private readonly redis: RedisClient) {}

  /** Every live stream; malformed entries are skipped rather than failing every task. */
  async list(): Promise<StreamInfo[]> {
    const raw = await this.redis.redis.hgetall(KEYS.STREAM_ACTIVE);
    const out: StreamInfo[] = [];
    for (const value of Object.values(raw)) {
      const s = parseStreamInfo(value);
      if (s) out.push(s);
    }
    return out;
  }
}

export function parseStreamInfo(value: string): StreamInfo | null {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(value) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || typeof v.app !== 'string' || typeof v.stream !== 'string' || !v.app || !v.stream) return null;
  return {
    vhost: typeof v.vhost === 'string' ? v.vhost : '__defaultVhost__',
    app: v.app,
    stream: v.stream,
    param: typeof v.param === 'string' ? v.param : '',
    server_id: typeof v.server_id === 'string' ? v.server_id : undefined,
    client_id: typeof v.client_id === 'string' ? v.client_id : undefined,
    update: typeof v.update === 'string' ? v.update : '',
  };
}

/** The URL path a publish URL lands on (`/live/livestream-trans`), query and host ignored. */
export function publishPath(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(\/[^?#]*)?/i.exec(url);
  return (m?.[1] ?? '').replace(/\/+$/, '');
}

/**
 * The input of a forward or transcode: the stream named `name` (any app), else the most recently
 * published one. `ownOutput` excludes the stream a task publishes itself (a transcode output, a
 * forward back into this stack), so a task never feeds on itself.
 */
export function pickStream(streams: readonly StreamInfo[], opts: { name?: string; ownOutput?: string } = {}): StreamInfo | null {
  const own = opts.ownOutput ? publishPath(opts.ownOutput) : '';
  const candidates = streams.filter((s) => (!opts.name || s.stream === opts.name) && (!own || `/${s.app}/${s.stream}` !== own));
  let best: StreamInfo | null = null;
  let bestAt = Number.NEGATIVE_INFINITY;
  for (const s of candidates) {
    const at = Date.parse(s.update);
    const t = Number.isNaN(at) ? 0 : at;
    // Ties (same second) break by name so the choice is stable between polls.
    if (!best || t > bestAt || (t === bestAt && `${s.app}/${s.stream}` < `${best.app}/${best.stream}`)) {
      best = s;
      bestAt = t;
    }
  }
  return best;
}
