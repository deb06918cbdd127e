// Ground truth for "no record segment lost": an observer that reads the engine's low-latency
// playlist of a stream the way a player would (independently of the stack's own watcher), and the
// segments the records hold, read from the stack's Redis. Fault tests compare the two.
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisSocketPath } from '../../server/core/embedded-redis.js';
import { parseMediaPlaylist } from '../../server/features/hls/playlist.js';
import { parseArtifact, parseTsFile, type Artifact, type TsFile } from '../../server/features/record/model.js';
import { KEYS } from '../../server/core/keys.js';

/** A segment the engine listed as finished in its playlist. */
export interface EngineSegment {
  /** `live/cam-12.ts`, as the recorder stores it. */
  url: string;
  seq: number;
  size: number;
  duration: number;
  /** When the observer first saw it (ms since the epoch). */
  seenAt: number;
}

export const identity = (s: { url: string; seq?: number; seqno?: number; size: number }) => `${s.url}|${s.seq ?? s.seqno}|${s.size}`;

/**
 * Polls `<data>/engine/hls/ll/<app>/<stream>.m3u8`. The engine only lists closed segments, so each
 * listed file is complete; one file is one segment however often it is listed (size + mtime).
 */
export class SegmentObserver {
  readonly segments: EngineSegment[] = [];
  private readonly files = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly app: string,
    private readonly stream: string,
  ) {}

  get dir(): string {
    return path.join(this.dataDir, 'engine', 'hls', 'll', this.app);
  }

  start(intervalMs = 250): void {
    this.timer = setInterval(() => this.poll(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  since(ms: number): EngineSegment[] {
    return this.segments.filter((s) => s.seenAt >= ms);
  }

  poll(): void {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dir, `${this.stream}.m3u8`), 'utf8');
    } catch {
      return;
    }
    for (const seg of parseMediaPlaylist(text)?.segments ?? []) {
      const name = path.basename(seg.uri);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(path.join(this.dir, name));
      } catch {
        continue;
      }
      const key = `${name}|${stat.size}|${stat.mtimeMs}`;
      if (this.files.has(key)) continue;
      this.files.add(key);
      this.segments.push({ url: `${this.app}/${name}`, seq: seg.seq, size: stat.size, duration: seg.duration, seenAt: Date.now() });
    }
  }
}

export interface RecordedRecord {
  artifact: Artifact;
  files: TsFile[];
}

/** Every record of a stream, oldest first, with its segments in record order (from Redis). */
export async function recordsOf(dataDir: string, stream: string): Promise<RecordedRecord[]> {
  const redis = new Redis({ path: redisSocketPath(path.join(dataDir, 'redis')), lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    const raw = await redis.hgetall(KEYS.RECORD_M3U8_ARTIFACT);
    const artifacts = Object.values(raw)
      .map(parseArtifact)
      .filter((a): a is Artifact => a !== null && a.stream === stream)
      .sort((a, b) => Date.parse(a.begin) - Date.parse(b.begin));
    const out: RecordedRecord[] = [];
    for (const artifact of artifacts) {
      let files = artifact.files;
      if (artifact.status === 'recording') {
        const list = await redis.lrange(`${KEYS.RECORD_M3U8_FILES}:${artifact.uuid}`, 0, -1);
        files = list.map((t) => parseTsFile(JSON.parse(t))).filter((f): f is TsFile => f !== null);
      }
      out.push({ artifact, files });
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/** Engine segments no record holds (multiset inclusion: a name may come round again after a restart). */
export function unrecorded(observed: readonly EngineSegment[], records: readonly RecordedRecord[]): EngineSegment[] {
  const held = new Map<string, number>();
  for (const r of records) for (const f of r.files) held.set(identity(f), (held.get(identity(f)) ?? 0) + 1);
  const missing: EngineSegment[] = [];
  for (const s of observed) {
    const n = held.get(identity(s)) ?? 0;
    if (n > 0) held.set(identity(s), n - 1);
    else missing.push(s);
  }
  return missing;
}

/**
 * Inside one record, the engine numbers a publish's segments consecutively; a jump (or a repeat)
 * is allowed only where the record marks a discontinuity, i.e. a new publish began.
 */
export function sequenceBreaks(records: readonly RecordedRecord[]): string[] {
  const breaks: string[] = [];
  for (const { artifact, files } of records) {
    files.forEach((f, i) => {
      const prev = files[i - 1];
      if (prev && !f.discontinuity && f.seqno !== prev.seqno + 1) {
        breaks.push(`record ${artifact.uuid}: ${prev.url} (seq ${prev.seqno}) then ${f.url} (seq ${f.seqno}) without a new publish`);
      }
    });
  }
  return breaks;
}

/** Small, seedable PRNG (mulberry32) so a failing run can be replayed with the same kill points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
