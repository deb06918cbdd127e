// Recording with SRS Stack's rules (reference §5): every finished HLS segment of a stream that the
// settings and globs allow joins the record task of its playlist; a task ends after a wait window
// without segments (or at once on record/end), then its segments are remuxed into one MP4 and
// optionally copied to a post-processing directory.
//
// Crash safety: a segment is written ahead into the working task (Redis) before it is copied, the
// copy lands under a temporary name and is renamed, and only then is it committed to the record.
// After a kill -9, the next start commits or redoes every written-ahead segment, so nothing that
// reached the recorder is lost. Finishing steps are idempotent (an MP4 exists only once complete)
// and are resumed at start.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config.js';
import { replaceFileAtomic, writeFileAtomic } from '../../core/atomic-write.js';
import type { DataPaths } from '../../core/data-dir.js';
import { ConflictError, NotFoundError, ValidationError, errorMessage } from '../../core/errors.js';
import type { EventHub, HlsSegmentEvent, StreamInfo } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import { runOnce } from '../../core/process/run-once.js';
import type { Metrics } from '../../core/metrics.js';
import { backoffDelay } from '../../core/process/supervisor.js';
import { matchesGlobs, normaliseGlobs, streamPath } from './globs.js';
import {
  isUuid,
  newestFirst,
  summarize,
  type Artifact,
  type PendingSegment,
  type RecordSummary,
  type TsFile,
  type WorkingTask,
} from './model.js';
import { buildVodPlaylist } from './playlist.js';
import { remuxArgs, remuxTimeoutMs } from './remux.js';
import { POST_CP_FILE, type RecordPatterns, type RecordStore } from './store.js';

const log = createLogger('record');

const TICK_MS = 300;
/** SRS Stack: with recording turned off, running tasks finish after 30 s instead of the window. */
const DISABLED_WAIT_MS = 30_000;
/** Remuxes are disk-bound; two at a time keep a 2-core box responsive. */
const MAX_CONCURRENT_FINISHES = 2;
const RETRY_INITIAL_MS = 2000;
const RETRY_MAX_MS = 60_000;
const TS_SYNC_BYTE = 0x47;
const RECOVERY_WAIT_MS = 15_000;
const RECENT_SEGMENTS = 64;
export const RECORD_HLS_PREFIX = '/terraform/v1/hooks/record/hls';
/** What finishing does, in order: remux the segments into an MP4, copy it (post-processing), save. */
const FINISH_STEPS = ['remux', 'copy', 'save'] as const;
type FinishStep = (typeof FINISH_STEPS)[number];

interface LiveTask {
  state: WorkingTask;
  artifact: Artifact;
  /**
   * `url|seq|size|mtime` of the last committed segments: an engine that re-announces a recent
   * segment (a rescan, a leftover replayed after a crash) is ignored, while a new file that only
   * shares the name and size (numbering restarted, a looped file) is not. Bounded, because a 24/7
   * stream's record may never end.
   */
  recent: string[];
  lastSegmentMs: number;
  /** Set by a new publish: the next segment starts a discontinuity. */
  discontinuityNext: boolean;
}

interface FinishJob {
  artifact: Artifact;
  abort: AbortController;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

const now = () => new Date().toISOString();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class RecordService {
  private readonly live = new Map<string, LiveTask>();
  private readonly finishing = new Map<string, FinishJob>();
  /** Per playlist: true while publishing, false after unpublish; unknown (absent) after a restart. */
  private readonly publishing = new Map<string, boolean>();
  private patternsCache: RecordPatterns = { all: false, globs: [], postCpDir: '' };
  private queue: Promise<unknown> = Promise.resolve();
  private tickTimer: NodeJS.Timeout | null = null;
  private recovered = false;
  private recovering: Promise<void> | null = null;
  private ticking = false;
  private markRecovered: () => void = () => undefined;
  private readonly recoveredSignal = new Promise<void>((resolve) => (this.markRecovered = resolve));
  private stopping = false;
  private readonly counters = {
    finished: 0,
    segmentsLost: 0,
    finishFailures: Object.fromEntries(FINISH_STEPS.map((s) => [s, 0])) as Record<FinishStep, number>,
  };
  private activeFinishes = 0;
  private readonly finishSlots: Array<() => void> = [];

  constructor(
    private readonly config: Config,
    private readonly paths: DataPaths,
    private readonly store: RecordStore,
    private readonly events: EventHub,
  ) {
    events.on('hls.segment', (segment) => this.onSegment(segment));
    events.on('stream.publish', (s) => this.onPublish(s, true));
    events.on('stream.unpublish', (s) => this.onPublish(s, false));
  }

  get home(): string {
    return this.paths.record;
  }

  /** The FAQ's suggested post-processing target: an s3fs mount inside the data directory. */
  get defaultCpDir(): string {
    return this.paths.s3Bucket;
  }

  get waitSeconds(): number {
    return this.config.record.waitSeconds;
  }

  start(): void {
    this.stopping = false;
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.tickTimer.unref();
  }

  /**
   * First Redis connection: reload working tasks and resume unfinished records. The tick retries
   * it too, so a failure here (or in another feature's ready hook before ours) delays, never loses.
   */
  async onRedisReady(): Promise<void> {
    if (this.recovered) return;
    this.recovering ??= this.serial(() => this.recover())
      .then(() => {
        this.recovered = true;
        this.markRecovered();
      })
      .finally(() => {
        this.recovering = null;
      });
    await this.recovering;
  }

  private tick(): void {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    const work = this.recovered ? this.serial(() => this.expireIdleTasks()) : this.onRedisReady();
    work.catch(() => undefined).finally(() => (this.ticking = false));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    await this.queue.catch(() => undefined);
    // Unfinished records stay "finishing" in Redis and resume at the next start.
    const jobs = [...this.finishing.values()];
    for (const job of jobs) this.cancelJob(job);
    await Promise.all(jobs.map((j) => j.running?.catch(() => undefined)));
    this.finishing.clear();
  }

  // ---- settings (reference §3.3) ----

  async query(): Promise<{ all: boolean; home: string; globs: string[]; postProcess: string; processCpDir: string; waitSeconds: number }> {
    const p = await this.patterns();
    return {
      all: p.all,
      home: this.home,
      globs: p.globs,
      postProcess: p.postCpDir ? POST_CP_FILE : '',
      processCpDir: p.postCpDir,
      waitSeconds: this.waitSeconds,
    };
  }

  async setAll(all: boolean): Promise<void> {
    await this.store.setAll(all);
    this.patternsCache = { ...this.patternsCache, all };
    log.info(`recording ${all ? 'enabled' : 'disabled'}`);
  }

  /** Takes effect on the next segment, without restarting anything (FAQ "Record a Specific Stream"). */
  async setGlobs(globs: string[]): Promise<string[]> {
    const clean = normaliseGlobs(globs);
    await this.store.setGlobs(clean);
    this.patternsCache = { ...this.patternsCache, globs: clean };
    return clean;
  }

  async setPostProcessing(postProcess: string, dir: string): Promise<void> {
    if (postProcess !== POST_CP_FILE) throw new ValidationError(`invalid post process "${postProcess}": use ${POST_CP_FILE}`);
    const target = dir.trim();
    if (target) {
      if (!path.isAbsolute(target)) throw new ValidationError(`postCpDir must be an absolute path, got "${target}"`);
      const stat = await fs.promises.stat(target).catch(() => null);
      if (!stat?.isDirectory()) throw new ValidationError(`postCpDir ${target} does not exist or is not a directory`);
    }
    await this.store.setPostCpDir(target);
    this.patternsCache = { ...this.patternsCache, postCpDir: target };
  }

  // ---- records ----

  async files(): Promise<RecordSummary[]> {
    const artifacts = await this.store.artifacts();
    // Memory is ahead of Redis when Redis cannot save (a full disk): the last error shows anyway.
    const live = new Map([...this.live.values()].map((t) => [t.artifact.uuid, t.artifact]));
    const current = artifacts.map((a) => this.finishing.get(a.uuid)?.artifact ?? live.get(a.uuid) ?? a);
    return current.sort(newestFirst).map(summarize);
  }

  /** Prometheus collectors: records in progress, finished, lost segments and finishing failures. */
  registerMetrics(metrics: Metrics): void {
    metrics.gauge('srs_stack_recordings', 'Records in progress: recording (taking segments) or finishing (remux, post-processing).', () => [
      { labels: { state: 'recording' }, value: this.live.size },
      { labels: { state: 'finishing' }, value: this.finishing.size },
    ]);
    metrics.counter('srs_stack_recordings_finished_total', 'Records this process finished into an MP4.', () => [
      { value: this.counters.finished },
    ]);
    metrics.counter('srs_stack_record_finish_failures_total', 'Failed attempts to finish a record, by step; each is retried.', () =>
      FINISH_STEPS.map((step) => ({ labels: { step }, value: this.counters.finishFailures[step] })),
    );
    metrics.counter('srs_stack_record_segments_lost_total', 'Segments that reached the recorder but could not be kept.', () => [
      { value: this.counters.segmentsLost },
    ]);
  }

  /** record/end: finish the active task now (FAQ "How to Quickly Generate a Recorded File"). */
  async end(uuid: string): Promise<void> {
    await this.serial(async () => {
      if (this.finishing.has(uuid)) return;
      const task = [...this.live.values()].find((t) => t.state.uuid === uuid);
      if (!task) throw new NotFoundError(`no record task for uuid=${uuid}`);
      task.state.expired = true;
      log.info(`record ${uuid} of ${task.state.m3u8_url}: ended by request`);
      await this.detachAndFinish(task);
    });
  }

  async remove(uuid: string): Promise<void> {
    if (!isUuid(uuid)) throw new ValidationError(`uuid must be a record UUID, got "${uuid}"`);
    await this.serial(async () => {
      if ([...this.live.values()].some((t) => t.state.uuid === uuid)) {
        throw new ConflictError(`record ${uuid} is still recording: end it first (record/end), then remove it`);
      }
      const artifact = await this.store.artifact(uuid);
      if (!artifact) throw new NotFoundError(`no record for uuid=${uuid}`);
      const job = this.finishing.get(uuid);
      if (job) {
        this.cancelJob(job);
        await job.running?.catch(() => undefined);
        this.finishing.delete(uuid);
      }
      // The post-processing copy is the user's now and is kept (as SRS Stack does). Segments are in
      // the record's directory, except some of records begun by SRS Stack: remove those by key.
      const elsewhere = artifact.files.map((f) => this.absolute(f.key)).filter((f) => path.dirname(f) === this.paths.record);
      await Promise.all(elsewhere.map((f) => fs.promises.rm(f, { force: true })));
      await fs.promises.rm(this.recordDir(uuid), { recursive: true, force: true });
      await this.store.removeArtifact(uuid);
      log.info(`record ${uuid} removed`);
    });
  }

  /** The VOD playlist of a record, in progress or done (preview). */
  async playlist(uuid: string): Promise<string> {
    const artifact = isUuid(uuid) ? await this.store.artifact(uuid) : null;
    if (!artifact) throw new NotFoundError(`no record for uuid=${uuid}`);
    const files = artifact.status === 'recording' ? await this.store.recordingFiles(uuid) : artifact.files;
    return buildVodPlaylist(files, (f) => `${RECORD_HLS_PREFIX}/record/${uuid}/${f.tsid}.ts`);
  }

  /** Path of a record's segment, or null; both ids are checked so no other file can be named. */
  segmentFile(uuid: string, tsid: string): string | null {
    return isUuid(uuid) && isUuid(tsid) ? path.join(this.recordDir(uuid), `${tsid}.ts`) : null;
  }

  /** Path of a record's MP4, or null; it exists only once complete (written under a temporary name). */
  mp4File(uuid: string): string | null {
    return isUuid(uuid) ? this.mp4Path(uuid) : null;
  }

  // ---- segment intake ----

  private onPublish(s: StreamInfo, publishing: boolean): void {
    const url = `${s.app}/${s.stream}.m3u8`;
    this.publishing.set(url, publishing);
    const task = this.live.get(url);
    if (publishing && task && task.state.nn > 0) task.discontinuityNext = true;
  }

  private async onSegment(segment: HlsSegmentEvent): Promise<void> {
    // Segments may arrive while the first Redis connection is still being made; give it a moment.
    if (!this.recovered) await Promise.race([this.recoveredSignal, sleep(RECOVERY_WAIT_MS)]);
    await this.serial(() => this.intake(segment)).catch((err) => {
      log.warn(`segment ${segment.url} of ${segment.m3u8_url} not recorded`, err);
    });
  }

  /** Runs state changes one at a time: segments, end, expiry and removal never interleave. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async patterns(): Promise<RecordPatterns> {
    try {
      this.patternsCache = await this.store.patterns();
    } catch (err) {
      log.debug(`using cached record settings: ${errorMessage(err)}`);
    }
    return this.patternsCache;
  }

  private async intake(segment: HlsSegmentEvent): Promise<void> {
    if (this.stopping || !this.recovered) return;
    const settings = await this.patterns();
    if (!settings.all || !matchesGlobs(streamPath(segment.app, segment.stream), settings.globs)) return;
    let task = this.live.get(segment.m3u8_url);
    if (!task && segment.leftover) {
      // Late segments belong to the record they were part of; without one there is nothing to complete.
      log.info(`segment ${segment.url} left by the previous engine: no record in progress for ${segment.m3u8_url}, not recorded`);
      return;
    }
    if (!task && this.publishing.get(segment.m3u8_url) === false) {
      // The engine's last partial segment can trail the unpublish; after record/end it must not
      // start a record of its own ("ending after unpublish starts none").
      log.info(`segment ${segment.url} arrived after ${segment.m3u8_url} unpublished and its record ended: not recorded`);
      return;
    }
    const size = await checkSegment(segment.file);
    task ??= await this.beginTask(segment);
    const id = segmentIdentity(segment.url, segment.seq_no, size, segment.mtime);
    if (
      task.recent.includes(id) ||
      task.state.msgs.some((p) => segmentIdentity(p.msg.url, p.msg.seq_no, p.tsfile.size, p.msg.mtime) === id)
    ) {
      return;
    }
    const tsid = randomUUID();
    const key = path.posix.join('record', task.state.uuid, `${tsid}.ts`);
    const file: TsFile = { key, tsid, tsfile: key, url: segment.url, seqno: segment.seq_no, duration: segment.duration, size };
    if (segment.mtime) file.mtime = segment.mtime;
    // A leftover continues the publish that was cut; the next new segment still starts a new one.
    if (!segment.leftover) {
      if (task.discontinuityNext) file.discontinuity = true;
      task.discontinuityNext = false;
    }
    task.state.msgs.push({ msg: segment, tsfile: file });
    // Written ahead, so a crash during the copy is repaired at the next start. Without Redis the
    // copy still protects the segment from the engine's cleanup; the commit is retried later.
    await this.store.saveWorking(task.state).catch((err) => log.warn(`record ${task.state.uuid}: cannot write ahead`, err));
    // A failed copy is retried by the commit while the engine still has the file.
    await copySegment(segment.file, this.absolute(key)).catch(() => undefined);
    await this.commitPending(task);
    task.lastSegmentMs = Date.now();
  }

  private async beginTask(segment: HlsSegmentEvent): Promise<LiveTask> {
    const uuid = randomUUID();
    const at = now();
    const state: WorkingTask = { m3u8_url: segment.m3u8_url, uuid, nn: 0, update: at, expired: false, msgs: [] };
    const artifact: Artifact = {
      uuid,
      m3u8_url: segment.m3u8_url,
      vhost: segment.vhost,
      app: segment.app,
      stream: segment.stream,
      progress: true,
      update: at,
      nn: 0,
      files: [],
      begin: at,
      status: 'recording',
      duration: 0,
      size: 0,
    };
    // Neither a full disk nor a Redis that cannot save loses the segment: the copy and the commit
    // retry both, and the commit saves the whole record.
    await fs.promises.mkdir(this.recordDir(uuid), { recursive: true }).catch(() => undefined);
    await this.store.begin(state, artifact).catch((err) => log.warn(`record ${uuid}: cannot save its start yet, the commit will`, err));
    const task: LiveTask = { state, artifact, recent: [], lastSegmentMs: Date.now(), discontinuityNext: false };
    this.live.set(segment.m3u8_url, task);
    log.info(`record ${uuid} of ${segment.m3u8_url}: begins`);
    void this.events.emit('record.begin', { vhost: segment.vhost, app: segment.app, stream: segment.stream, uuid });
    return task;
  }

  /**
   * Commits the task's written-ahead segments whose copy is in place, in order. A copy that a crash
   * or an error (a full disk) interrupted is redone while the engine's file still exists; until then
   * that segment and the ones after it wait, and the record shows why. A segment whose source is
   * gone, or is not MPEG-TS, is lost: counted, and the record says so. Memory changes only once
   * Redis has the commit, so a failed commit is simply tried again.
   */
  private async commitPending(task: LiveTask): Promise<void> {
    const { state, artifact } = task;
    if (state.msgs.length === 0) return;
    const committed: PendingSegment[] = [];
    let done = 0;
    let lost = 0;
    let problem: string | null = null;
    for (const pending of state.msgs) {
      const target = this.absolute(pending.tsfile.key);
      if (!(await exists(target))) {
        try {
          pending.tsfile.size = await checkSegment(pending.msg.file);
          await copySegment(pending.msg.file, target);
        } catch (err) {
          if (!(err instanceof BadSegmentError) && (await exists(pending.msg.file))) {
            problem = `segment ${pending.msg.url} not recorded yet, retrying: ${errorMessage(err)}`;
            break;
          }
          problem = `segment ${pending.msg.url} lost: ${errorMessage(err)}`;
          lost += 1;
          done += 1;
          continue;
        }
      }
      committed.push(pending);
      done += 1;
    }
    if (problem && problem !== artifact.error) log.warn(`record ${state.uuid}: ${problem}`);
    const files = committed.map((p) => p.tsfile);
    const last = committed.at(-1)?.msg;
    const update = files.length ? now() : state.update;
    const nextState: WorkingTask = { ...state, msgs: state.msgs.slice(done), nn: state.nn + files.length, update };
    const nextArtifact: Artifact = {
      ...artifact,
      ...(last ? { vhost: last.vhost, app: last.app, stream: last.stream } : {}),
      nn: artifact.nn + files.length,
      duration: files.reduce((sum, f) => sum + f.duration, artifact.duration),
      size: files.reduce((sum, f) => sum + f.size, artifact.size),
      update,
    };
    if (lost) nextArtifact.lost = (artifact.lost ?? 0) + lost;
    // The last problem stays shown while segments wait or once one was lost; a drained backlog clears it.
    if (problem) nextArtifact.error = problem;
    else if (!nextArtifact.lost) delete nextArtifact.error;
    await this.store.commitSegments(nextState, nextArtifact, files);
    this.counters.segmentsLost += lost;
    task.state = nextState;
    task.artifact = nextArtifact;
    task.recent = [...task.recent, ...files.map((f) => segmentIdentity(f.url, f.seqno, f.size, f.mtime))].slice(-RECENT_SEGMENTS);
  }

  // ---- task end ----

  private async expireIdleTasks(): Promise<void> {
    if (this.stopping || !this.recovered || this.live.size === 0) return;
    const { all } = await this.patterns();
    const waitMs = all ? this.waitSeconds * 1000 : Math.min(this.waitSeconds * 1000, DISABLED_WAIT_MS);
    for (const task of [...this.live.values()]) {
      await this.commitPending(task).catch((err) => log.warn(`record ${task.state.uuid}: commit failed, will retry`, err));
      if (task.state.msgs.length === 0 && (task.state.expired || Date.now() - task.lastSegmentMs > waitMs)) {
        log.info(`record ${task.state.uuid} of ${task.state.m3u8_url}: no segment for ${Math.round(waitMs / 1000)} s, finishing`);
        await this.detachAndFinish(task);
      }
    }
  }

  /** The playlist's next segment starts a new record; this one is finished in the background. */
  private async detachAndFinish(task: LiveTask): Promise<void> {
    await this.commitPending(task);
    const { artifact } = task;
    artifact.files = await this.store.recordingFiles(artifact.uuid);
    artifact.status = 'finishing';
    artifact.update = now();
    await this.store.detach(task.state.m3u8_url, artifact);
    this.live.delete(task.state.m3u8_url);
    this.scheduleFinish(artifact, 0);
  }

  private scheduleFinish(artifact: Artifact, delayMs: number): void {
    const job = this.finishing.get(artifact.uuid) ?? { artifact, abort: new AbortController(), timer: null, running: null };
    this.finishing.set(artifact.uuid, job);
    if (job.timer) clearTimeout(job.timer);
    job.timer = setTimeout(() => {
      job.timer = null;
      job.running = this.withFinishSlot(() => this.finishAttempt(job));
    }, delayMs);
  }

  private cancelJob(job: FinishJob): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = null;
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
  private async finishAttempt(job: FinishJob): Promise<void> {
    const { artifact, abort } = job;
    if (abort.signal.aborted) return;
    const { uuid } = artifact;
    let step: FinishStep = 'remux';
    try {
      if (artifact.files.length === 0) {
        await this.discardEmpty(artifact);
        return;
      }
      const mp4 = this.mp4Path(uuid);
      if (!(await exists(mp4))) await this.remux(artifact, abort.signal);
      artifact.mp4_size = (await fs.promises.stat(mp4)).size;
      step = 'copy';
      const { postCpDir } = await this.store.patterns();
      if (postCpDir) artifact.post_cp_file = await copyIntoDir(mp4, postCpDir, `${uuid}.mp4`);
      if (abort.signal.aborted) return;
      step = 'save';
      // Saved as done first: until Redis has it, the record stays finishing (and shows its error).
      await this.store.saveArtifact({
        ...artifact,
        status: 'done',
        progress: false,
        update: now(),
        error: undefined,
        next_retry: undefined,
      });
      Object.assign(artifact, { status: 'done', progress: false, update: now() });
      delete artifact.error;
      delete artifact.next_retry;
      this.finishing.delete(uuid);
      this.counters.finished += 1;
      log.info(
        `record ${uuid} done: ${mp4} (${artifact.nn} segments, ${artifact.duration.toFixed(1)} s)` +
          (artifact.post_cp_file ? `, copied to ${artifact.post_cp_file}` : ''),
      );
      void this.events.emit('record.end', {
        vhost: artifact.vhost,
        app: artifact.app,
        stream: artifact.stream,
        uuid,
        artifact_code: 0,
        artifact_path: mp4,
      });
    } catch (err) {
      if (abort.signal.aborted || this.stopping) return;
      this.counters.finishFailures[step] += 1;
      artifact.attempts = (artifact.attempts ?? 0) + 1;
      const delay = backoffDelay(artifact.attempts - 1, RETRY_INITIAL_MS, RETRY_MAX_MS);
      artifact.error = errorMessage(err);
      artifact.next_retry = new Date(Date.now() + delay).toISOString();
      artifact.update = now();
      log.error(`record ${uuid}: finishing failed (attempt ${artifact.attempts}), retrying in ${delay / 1000} s`, err);
      await this.store.saveArtifact(artifact).catch((e) => log.warn(`record ${uuid}: cannot save the error`, e));
      this.scheduleFinish(artifact, delay);
    }
  }

  /** Writes the VOD playlist, remuxes it to a temporary MP4, flushes it to disk, then renames it. */
  private async remux(artifact: Artifact, signal: AbortSignal): Promise<void> {
    const dir = this.recordDir(artifact.uuid);
    await fs.promises.mkdir(dir, { recursive: true });
    await removeTemporaries(dir);
    const playlist = path.join(dir, 'index.m3u8');
    // Relative to the playlist, from each segment's key: records begun by SRS Stack keep some elsewhere.
    await writeFileAtomic(
      playlist,
      buildVodPlaylist(artifact.files, (f) => path.relative(dir, this.absolute(f.key))),
    );
    // Flushed before the rename: the record is reported done from Redis (fsynced every second), so
    // its bytes must be on disk first.
    const tmpPath = path.join(dir, `index.mp4.${process.pid}-${Date.now()}.tmp`);
    await replaceFileAtomic(
      this.mp4Path(artifact.uuid),
      async (tmp) => {
        const res = await runOnce(this.config.binaries.ffmpeg, remuxArgs(playlist, tmp), {
          timeoutMs: remuxTimeoutMs(artifact.size),
          signal,
          cwd: dir,
        });
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
    log.warn(`record ${artifact.uuid} has no segment: discarded`);
    await fs.promises.rm(this.recordDir(artifact.uuid), { recursive: true, force: true });
    await this.store.removeArtifact(artifact.uuid);
    this.finishing.delete(artifact.uuid);
  }

  // ---- restart ----

  private async recover(): Promise<void> {
    const [tasks, artifacts] = await Promise.all([this.store.workingTasks(), this.store.artifacts()]);
    const byUuid = new Map(artifacts.map((a) => [a.uuid, a]));
    for (const state of tasks) {
      const artifact = byUuid.get(state.uuid) ?? artifactFor(state);
      byUuid.delete(state.uuid);
      const recent = await this.store.recordingFiles(state.uuid, RECENT_SEGMENTS);
      const task: LiveTask = {
        state,
        artifact: { ...artifact, status: 'recording', progress: true },
        recent: recent.map((f) => segmentIdentity(f.url, f.seqno, f.size, f.mtime)),
        lastSegmentMs: Date.parse(state.update) || Date.now(),
        discontinuityNext: true,
      };
      this.live.set(state.m3u8_url, task);
      await fs.promises.mkdir(this.recordDir(state.uuid), { recursive: true });
      await removeTemporaries(this.recordDir(state.uuid));
      if (state.msgs.length) log.info(`record ${state.uuid}: recovering ${state.msgs.length} segment(s) written ahead before a crash`);
      await this.commitPending(task);
      log.info(`record ${state.uuid} of ${state.m3u8_url}: resumed with ${task.artifact.nn} segments`);
    }
    for (const artifact of byUuid.values()) {
      if (artifact.status === 'done' || this.finishing.has(artifact.uuid)) continue;
      // A record marked recording without a working task (only SRS Stack leaves that) is finished.
      if (artifact.status === 'recording') artifact.files = await this.store.recordingFiles(artifact.uuid);
      artifact.status = 'finishing';
      log.info(`record ${artifact.uuid}: resuming its finishing`);
      this.scheduleFinish(artifact, 0);
    }
  }

  // ---- paths ----

  private recordDir(uuid: string): string {
    return path.join(this.paths.record, uuid);
  }

  private mp4Path(uuid: string): string {
    return path.join(this.recordDir(uuid), 'index.mp4');
  }

  /** Keys are `record/{uuid}/{tsid}.ts` relative to the data dir, as SRS Stack stores them. */
  private absolute(key: string): string {
    return path.join(this.paths.root, key);
  }
}

function segmentIdentity(url: string, seqno: number, size: number, mtime: number | undefined): string {
  return `${url}|${seqno}|${size}|${mtime ?? ''}`;
}

function artifactFor(state: WorkingTask): Artifact {
  const [app = '', stream = ''] = state.m3u8_url.replace(/\.m3u8$/, '').split('/');
  return {
    uuid: state.uuid,
    m3u8_url: state.m3u8_url,
    vhost: '__defaultVhost__',
    app,
    stream,
    progress: true,
    update: state.update,
    nn: 0,
    files: [],
    begin: state.update,
    status: 'recording',
    duration: 0,
    size: 0,
  };
}

/** A segment file that exists but can never be recorded (empty, not MPEG-TS). */
class BadSegmentError extends Error {}

/** The segment's size; refuses a missing, empty or non-MPEG-TS file (partial or cleaned up). */
async function checkSegment(file: string): Promise<number> {
  const fh = await fs.promises.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`segment ${file} is not readable: ${err.code ?? err.message}`);
  });
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(1);
    const { bytesRead } = await fh.read(head, 0, 1, 0);
    if (size === 0 || bytesRead === 0 || head[0] !== TS_SYNC_BYTE) throw new BadSegmentError(`segment ${file} is empty or not MPEG-TS`);
    return size;
  } finally {
    await fh.close();
  }
}

/**
 * Copies (never hard-links) a segment: nginx-rtmp reopens a fragment path with O_TRUNC when a
 * sequence number comes round again, which would truncate a linked record in place. A copy-on-write
 * clone is used where the filesystem offers one. The temporary name keeps a partial copy invisible.
 */
async function copySegment(source: string, target: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  await replaceFileAtomic(target, (tmp) => fs.promises.copyFile(source, tmp, fs.constants.COPYFILE_FICLONE));
}

/** Copies into a directory under a hidden temporary name, then renames: never a partial file. */
async function copyIntoDir(source: string, dir: string, name: string): Promise<string> {
  const stat = await fs.promises.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) throw new Error(`post-processing directory ${dir} is missing or not a directory`);
  const target = path.join(dir, name);
  try {
    // Hidden while partial: whatever watches the directory (an upload to S3) skips dot files.
    await replaceFileAtomic(target, (tmp) => fs.promises.copyFile(source, tmp), { tmpPath: path.join(dir, `.${name}.tmp`) });
  } catch (err) {
    throw new Error(`post-processing copy to ${target} failed: ${errorMessage(err)}`, { cause: err });
  }
  return target;
}

/** Leftovers of an interrupted copy or remux (a crash, a full disk). */
async function removeTemporaries(dir: string): Promise<void> {
  const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.endsWith('.tmp')).map((n) => fs.promises.rm(path.join(dir, n), { force: true })));
}

async function exists(file: string): Promise<boolean> {
  return fs.promises
    .access(file)
    .then(() => true)
    .catch(() => false);
}
