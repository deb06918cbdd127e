// Finishing a record (finishing → done): the MP4 written while it recorded is completed (live-mp4.ts),
// or when that one is not whole its segments are remuxed into one MP4 (docs/compatibility.md §5.8),
// the MP4 is copied to the post-processing directory when one is set, then the record is saved as
// done and record.end goes out. Every step is idempotent (the MP4 exists only once complete, so it
// is not made twice), so a failed attempt is retried with backoff, and an interrupted one is resumed
// at the next start (recovery.ts).
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, replaceFileAtomic } from '../../core/atomic-write.js';
import { errorMessage } from '../../core/errors.js';
import type { EventHub } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import { runOnce } from '../../core/process/run-once.js';
import { isoNow, type Cancel, type Clock } from './clock.js';
import { exists, removeTemporaries } from './disk.js';
import type { LiveMp4s } from './live-mp4.js';
import type { FinishStep, RecordCounters } from './metrics.js';
import type { Artifact } from './model.js';
import type { RecordPaths } from './paths.js';
import { buildVodPlaylist } from './playlist.js';
import { copyIntoDir } from './post-process.js';
import { remuxArgs, remuxTimeoutMs } from './remux.js';
import type { RecordStorage } from './store.js';

const log = createLogger('record');

/** Remuxes are disk-bound; two at a time keep a 2-core box responsive. */
const MAX_CONCURRENT_FINISHES = 2;

interface FinishJob {
  artifact: Artifact;
  abort: AbortController;
  /** Cancels the pending attempt (the first, or a retry after its backoff). */
  cancelTimer: Cancel | null;
  running: Promise<void> | null;
}

export interface FinisherDeps {
  ffmpeg: string;
  store: RecordStorage;
  paths: RecordPaths;
  events: EventHub;
  clock: Clock;
  counters: RecordCounters;
  /** How long to wait before the next attempt after `failures` failed ones (1, 2…). */
  retryDelayMs: (failures: number) => number;
  /** True once the recorder is stopping: a failure then is left for the next start, not retried. */
  stopping: () => boolean;
  /** The MP4s written while recording: one that is whole is the record's MP4 without a remux. */
  liveMp4?: LiveMp4s;
}

export class Finisher {
  private readonly jobs = new Map<string, FinishJob>();
  private activeFinishes = 0;
  private readonly finishSlots: Array<() => void> = [];

  constructor(private readonly deps: FinisherDeps) {}

  get size(): number {
    return this.jobs.size;
  }

  has(uuid: string): boolean {
    return this.jobs.has(uuid);
  }

  /** The record as finishing sees it now: ahead of Redis when Redis cannot save (a full disk). */
  artifact(uuid: string): Artifact | undefined {
    return this.jobs.get(uuid)?.artifact;
  }

  /** Starts finishing a record in the background. */
  finish(artifact: Artifact): void {
    this.schedule(artifact, 0);
  }

  /** Stops finishing a record (it is being removed), waiting for a running attempt to end. */
  async forget(uuid: string): Promise<void> {
    const job = this.jobs.get(uuid);
    if (!job) return;
    this.cancel(job);
    await job.running?.catch(() => undefined);
    this.jobs.delete(uuid);
  }

  /** Unfinished records stay "finishing" in Redis and resume at the next start. */
  async stop(): Promise<void> {
    const jobs = [...this.jobs.values()];
    for (const job of jobs) this.cancel(job);
    await Promise.all(jobs.map((j) => j.running?.catch(() => undefined)));
    this.jobs.clear();
  }

  private schedule(artifact: Artifact, delayMs: number): void {
    const job = this.jobs.get(artifact.uuid) ?? { artifact, abort: new AbortController(), cancelTimer: null, running: null };
    this.jobs.set(artifact.uuid, job);
    job.cancelTimer?.();
    job.cancelTimer = this.deps.clock.after(delayMs, () => {
      job.cancelTimer = null;
      job.running = this.withFinishSlot(() => this.attempt(job));
      return job.running;
    });
  }

  private cancel(job: FinishJob): void {
    job.cancelTimer?.();
    job.cancelTimer = null;
    job.abort.abort();
  }

  private async withFinishSlot<T>(work: () => Promise<T>): Promise<T> {
    while (this.activeFinishes >= MAX_CONCURRENT_FINISHES) await new Promise<void>((resolve) => this.finishSlots.push(resolve));
    this.activeFinishes += 1;
    try {
      return await work();
    } finally {
      this.activeFinishes -= 1;
      this.finishSlots.shift()?.();
    }
  }

  /** One attempt: MP4 (unless already made), post-processing copy, then done. Retried on failure. */
  private async attempt(job: FinishJob): Promise<void> {
    const { store, paths, events, clock, counters } = this.deps;
    const { artifact, abort } = job;
    if (abort.signal.aborted) return;
    const { uuid } = artifact;
    let step: FinishStep = 'remux';
    try {
      if (artifact.files.length === 0) {
        await this.discardEmpty(artifact);
        return;
      }
      const mp4 = paths.mp4(uuid);
      if (!(await exists(mp4)) && !(await this.fromLiveMp4(artifact))) {
        await this.remux(artifact, abort.signal);
        counters.remuxed += 1;
      }
      artifact.mp4_size = (await fs.promises.stat(mp4)).size;
      step = 'copy';
      const { postCpDir } = await store.patterns();
      if (postCpDir) artifact.post_cp_file = await copyIntoDir(mp4, postCpDir, `${uuid}.mp4`);
      if (abort.signal.aborted) return;
      step = 'save';
      // Saved as done first: until Redis has it, the record stays finishing (and shows its error).
      await store.saveArtifact({
        ...artifact,
        status: 'done',
        progress: false,
        update: isoNow(clock),
        error: undefined,
        next_retry: undefined,
      });
      Object.assign(artifact, { status: 'done', progress: false, update: isoNow(clock) });
      delete artifact.error;
      delete artifact.next_retry;
      this.jobs.delete(uuid);
      counters.finished += 1;
      log.info(
        `record ${uuid} done: ${mp4} (${artifact.nn} segments, ${artifact.duration.toFixed(1)} s)` +
          (artifact.post_cp_file ? `, copied to ${artifact.post_cp_file}` : ''),
      );
      void events.emit('record.end', {
        vhost: artifact.vhost,
        app: artifact.app,
        stream: artifact.stream,
        uuid,
        artifact_code: 0,
        artifact_path: mp4,
      });
    } catch (err) {
      if (abort.signal.aborted || this.deps.stopping()) return;
      counters.finishFailures[step] += 1;
      artifact.attempts = (artifact.attempts ?? 0) + 1;
      const delay = this.deps.retryDelayMs(artifact.attempts);
      artifact.error = errorMessage(err);
      artifact.next_retry = new Date(clock.now() + delay).toISOString();
      artifact.update = isoNow(clock);
      log.error(`record ${uuid}: finishing failed (attempt ${artifact.attempts}), retrying in ${delay / 1000} s`, err);
      await store.saveArtifact(artifact).catch((e) => log.warn(`record ${uuid}: cannot save the error`, e));
      this.schedule(artifact, delay);
    }
  }

  /**
   * Completes the MP4 written while recording and renames it into place (it is already flushed to
   * disk). False when there is none or it is not whole: the segments are then remuxed.
   */
  private async fromLiveMp4(artifact: Artifact): Promise<boolean> {
    const { liveMp4, paths } = this.deps;
    try {
      const file = await liveMp4?.finish(
        artifact.uuid,
        artifact.files.map((f) => f.key),
      );
      if (!file) return false;
      await fs.promises.rename(file, paths.mp4(artifact.uuid));
      return true;
    } catch (err) {
      log.warn(`record ${artifact.uuid}: the MP4 written while recording is not usable (${errorMessage(err)}), remuxing the segments`);
      return false;
    }
  }

  /** Writes the VOD playlist, remuxes it to a temporary MP4, flushes it to disk, then renames it. */
  private async remux(artifact: Artifact, signal: AbortSignal): Promise<void> {
    const { paths, ffmpeg } = this.deps;
    const dir = paths.dir(artifact.uuid);
    await fs.promises.mkdir(dir, { recursive: true });
    await removeTemporaries(dir);
    const playlist = path.join(dir, 'index.m3u8');
    // Relative to the playlist, from each segment's key: records begun by SRS Stack keep some elsewhere.
    await writeFileAtomic(
      playlist,
      buildVodPlaylist(artifact.files, (f) => path.relative(dir, paths.absolute(f.key))),
    );
    // Flushed before the rename: the record is reported done from Redis (fsynced every second), so
    // its bytes must be on disk first.
    const tmpPath = path.join(dir, `index.mp4.${process.pid}-${Date.now()}.tmp`);
    await replaceFileAtomic(
      paths.mp4(artifact.uuid),
      async (tmp) => {
        const res = await runOnce(ffmpeg, remuxArgs(playlist, tmp), { timeoutMs: remuxTimeoutMs(artifact.size), signal, cwd: dir });
        if (res.code !== 0) {
          const why = res.timedOut ? 'timed out' : res.aborted ? 'cancelled' : `exit ${res.signal ?? res.code}`;
          const detail = res.stderr.split('\n').slice(-2).join(' ').trim();
          throw new Error(`ffmpeg remux failed (${why})${detail ? `: ${detail}` : ''}`);
        }
      },
      { fsync: true, tmpPath },
    );
  }

  private async discardEmpty(artifact: Artifact): Promise<void> {
    const { store, paths } = this.deps;
    log.warn(`record ${artifact.uuid} has no segment: discarded`);
    await this.deps.liveMp4?.discard(artifact.uuid);
    await fs.promises.rm(paths.dir(artifact.uuid), { recursive: true, force: true });
    await store.removeArtifact(artifact.uuid);
    this.jobs.delete(artifact.uuid);
  }
}
