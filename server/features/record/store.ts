// Recording state in Redis under SRS Stack's keys (docs/compatibility.md §0.3): SRS_RECORD_PATTERNS (settings),
// SRS_RECORD_M3U8_WORKING (the task of each playlist) and SRS_RECORD_M3U8_ARTIFACT (every record).
// While recording, segments go to a list of ours, SRS_RECORD_M3U8_FILES:{uuid}, one RPUSH each:
// rewriting the whole artifact per segment, as SRS Stack does, costs O(n²) over a long show. The
// list is folded into the artifact's `files` when the record finishes, so finished artifacts have
// SRS Stack's shape.
import type { ChainableCommander } from 'ioredis';
import { KEYS } from '../../core/keys.js';
import { createLogger } from '../../core/logger.js';
import type { RedisClient } from '../../core/redis.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from './retention.js';
import { parseArtifact, parseTsFile, parseWorkingTask, type Artifact, type TsFile, type WorkingTask } from './model.js';

const log = createLogger('record');

export const POST_CP_FILE = 'post-cp-file';

export interface RecordPatterns {
  all: boolean;
  globs: string[];
  /** Post-processing target directory; empty when disabled. */
  postCpDir: string;
}

const filesKey = (uuid: string) => `${KEYS.RECORD_M3U8_FILES}:${uuid}`;

/** MULTI/EXEC reports a failed command in its results instead of rejecting; make it reject. */
async function execAll(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw new Error(`redis transaction failed: ${failed?.[0]?.message ?? 'aborted'}`);
}

/** What the recorder needs of its store: the store's methods, so unit tests can hand it one in memory. */
export type RecordStorage = Pick<RecordStore, keyof RecordStore>;

export class RecordStore {
  constructor(private readonly redis: RedisClient) {}

  async patterns(): Promise<RecordPatterns> {
    const raw = await this.redis.redis.hgetall(KEYS.RECORD_PATTERNS);
    let globs: string[] = [];
    try {
      const parsed: unknown = JSON.parse(raw.globs || '[]');
      if (Array.isArray(parsed)) globs = parsed.filter((g): g is string => typeof g === 'string' && g !== '');
    } catch {
      log.warn(`ignoring malformed ${KEYS.RECORD_PATTERNS}.globs`);
    }
    return { all: raw.all === 'true', globs, postCpDir: raw[POST_CP_FILE] ?? '' };
  }

  async setAll(all: boolean): Promise<void> {
    await this.redis.redis.hset(KEYS.RECORD_PATTERNS, 'all', String(all));
  }

  async setGlobs(globs: string[]): Promise<void> {
    await this.redis.redis.hset(KEYS.RECORD_PATTERNS, 'globs', JSON.stringify(globs));
  }

  async setPostCpDir(dir: string): Promise<void> {
    await this.redis.redis.hset(KEYS.RECORD_PATTERNS, POST_CP_FILE, dir);
  }

  /** Retention and the disk guard (ours); unset fields keep their defaults. */
  async retention(): Promise<RetentionPolicy> {
    const raw = await this.redis.redis.hgetall(KEYS.RECORD_RETENTION);
    const out = { ...DEFAULT_RETENTION };
    for (const key of Object.keys(out) as Array<keyof RetentionPolicy>) {
      const n = Number(raw[key]);
      if (raw[key] !== undefined && Number.isFinite(n) && n >= 0) out[key] = n;
    }
    return out;
  }

  async setRetention(policy: RetentionPolicy): Promise<void> {
    await this.redis.redis.hset(KEYS.RECORD_RETENTION, { ...policy });
  }

  async workingTasks(): Promise<WorkingTask[]> {
    return this.redis.hashValues(KEYS.RECORD_M3U8_WORKING, parseWorkingTask);
  }

  async saveWorking(task: WorkingTask): Promise<void> {
    await this.redis.redis.hset(KEYS.RECORD_M3U8_WORKING, task.m3u8_url, JSON.stringify(task));
  }

  /** Every artifact, read with HSCAN to the end (SRS Stack stops at the first 100). */
  async artifacts(): Promise<Artifact[]> {
    const out: Artifact[] = [];
    const stream = this.redis.redis.hscanStream(KEYS.RECORD_M3U8_ARTIFACT, { count: 500 });
    for await (const chunk of stream as AsyncIterable<string[]>) {
      for (let i = 0; i + 1 < chunk.length; i += 2) {
        const artifact = parseArtifact(chunk[i + 1] as string);
        if (artifact) out.push(artifact);
        else log.warn(`ignoring malformed ${KEYS.RECORD_M3U8_ARTIFACT}[${chunk[i]}]`);
      }
    }
    return out;
  }

  async artifact(uuid: string): Promise<Artifact | null> {
    const text = await this.redis.redis.hget(KEYS.RECORD_M3U8_ARTIFACT, uuid);
    return text ? parseArtifact(text) : null;
  }

  async saveArtifact(artifact: Artifact): Promise<void> {
    await this.redis.redis.hset(KEYS.RECORD_M3U8_ARTIFACT, artifact.uuid, JSON.stringify(artifact));
  }

  /** A new record: its working task and its artifact, together. */
  async begin(task: WorkingTask, artifact: Artifact): Promise<void> {
    await execAll(
      this.redis.redis
        .multi()
        .hset(KEYS.RECORD_M3U8_WORKING, task.m3u8_url, JSON.stringify(task))
        .hset(KEYS.RECORD_M3U8_ARTIFACT, artifact.uuid, JSON.stringify(artifact)),
    );
  }

  /** Commits copied segments: appended to the record, dropped from the task's pending list. */
  async commitSegments(task: WorkingTask, artifact: Artifact, files: TsFile[]): Promise<void> {
    const multi = this.redis.redis.multi();
    if (files.length) multi.rpush(filesKey(artifact.uuid), ...files.map((f) => JSON.stringify(f)));
    multi
      .hset(KEYS.RECORD_M3U8_ARTIFACT, artifact.uuid, JSON.stringify(artifact))
      .hset(KEYS.RECORD_M3U8_WORKING, task.m3u8_url, JSON.stringify(task));
    await execAll(multi);
  }

  /** Segments of a record still being recorded, in order; only the `last` ones when given. */
  async recordingFiles(uuid: string, last = 0): Promise<TsFile[]> {
    const raw = await this.redis.redis.lrange(filesKey(uuid), last > 0 ? -last : 0, -1);
    const files: TsFile[] = [];
    for (const text of raw) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* refused below */
      }
      const file = parseTsFile(parsed);
      if (file) files.push(file);
      else log.warn(`ignoring a malformed segment of record ${uuid}`);
    }
    return files;
  }

  /**
   * Detaches a task from its playlist (the next segment starts a new record) and folds its segments
   * into the artifact, atomically: a crash leaves either the recording or the finishing state.
   */
  async detach(m3u8Url: string, artifact: Artifact): Promise<void> {
    await execAll(
      this.redis.redis
        .multi()
        .hdel(KEYS.RECORD_M3U8_WORKING, m3u8Url)
        .hset(KEYS.RECORD_M3U8_ARTIFACT, artifact.uuid, JSON.stringify(artifact))
        .del(filesKey(artifact.uuid)),
    );
  }

  async removeArtifact(uuid: string): Promise<void> {
    await execAll(this.redis.redis.multi().hdel(KEYS.RECORD_M3U8_ARTIFACT, uuid).del(filesKey(uuid)));
  }
}
