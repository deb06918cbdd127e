// Picks a forward's or transcode's input among the engine's live streams (SRS_STREAM_ACTIVE) the way
// SRS Stack does: by name, or the most recently published.
import type { StreamInfo } from '../../core/events.js';

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
