// Recording with SRS Stack's rules (docs/compatibility.md §5): every finished HLS segment of a stream that the
// settings and globs allow joins the record task of its playlist; a task ends after a wait window
// without segments (or at once on record/end), then its segments are remuxed into one MP4 and
// optionally copied to a post-processing directory.
//
// RecordService is the feature's façade, the one class the rest of the stack uses. It wires the
// parts, one concern per file, and runs every state change through its single serial queue:
//   intake.ts      which segments are recorded, and into which record
//   recordings.ts  the records being recorded; the crash-safe write-ahead, copy and commit
//   wait-window.ts when a record is over (from clock.ts, injected so tests need not wait)
//   finish.ts      finishing → done: MP4 remux, post-processing copy (post-process.ts), retries
//   recovery.ts    the first start after a stop or a crash resumes both
//   settings.ts, paths.ts, disk.ts, metrics.ts, serial-queue.ts
import type { Config } from '../../config.js';
import type { DataPaths } from '../../core/data-dir.js';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import type { EventHub, HlsSegmentEvent, StreamInfo } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { backoffDelay } from '../../core/backoff.js';
import { systemClock, type Cancel, type Clock } from './clock.js';
import { Finisher } from './finish.js';
import { SegmentIntake } from './intake.js';
import { RecordCounters, registerRecordMetrics } from './metrics.js';
import { isUuid, newestFirst, summarize, type RecordSummary } from './model.js';
import { RecordPaths } from './paths.js';
import { buildVodPlaylist } from './playlist.js';
import { Recordings, type LiveTask } from './recordings.js';
import { recoverRecords } from './recovery.js';
import { SerialQueue } from './serial-queue.js';
import { RecordSettings } from './settings.js';
import { POST_CP_FILE, type RecordStorage } from './store.js';
import { IDLE_CHECK_INTERVAL_MS, RECOVERY_WAIT_MS, idleWindowMs, recordIsOver } from './wait-window.js';

const log = createLogger('record');

/** A failed finish is retried after 2 s, 4 s… up to a minute: a full disk or a lost mount takes a while to clear. */
const RETRY_INITIAL_MS = 2000;
const RETRY_MAX_MS = 60_000;
export const RECORD_HLS_PREFIX = '/terraform/v1/hooks/record/hls';

/** What recording does on the stack's stream events. */
interface StreamListener {
  segment(segment: HlsSegmentEvent): Promise<void>;
  published(stream: StreamInfo): void;
  unpublished(stream: StreamInfo): void;
}

/** Every stream event recording listens to, registered here and nowhere else. */
function listenToStreams(events: EventHub, listener: StreamListener): void {
  events.on('hls.segment', (segment) => listener.segment(segment));
  events.on('stream.published', (stream) => listener.published(stream));
  events.on('stream.unpublished', (stream) => listener.unpublished(stream));
}

export class RecordService {
  private readonly queue = new SerialQueue();
  private readonly counters = new RecordCounters();
  private readonly paths: RecordPaths;
  private readonly settings: RecordSettings;
  private readonly recordings: Recordings;
  private readonly intake: SegmentIntake;
  private readonly finisher: Finisher;
  private cancelTick: Cancel | null = null;
  private recovered = false;
  private recovering: Promise<void> | null = null;
  private ticking = false;
  private markRecovered: () => void = () => undefined;
  private readonly recoveredSignal = new Promise<void>((resolve) => (this.markRecovered = resolve));
  private stopping = false;

  constructor(
    private readonly config: Config,
    private readonly dataPaths: DataPaths,
    private readonly store: RecordStorage,
    events: EventHub,
    private readonly clock: Clock = systemClock,
  ) {
    const { counters } = this;
    this.paths = new RecordPaths(dataPaths);
    this.settings = new RecordSettings(store, dataPaths.root);
    this.recordings = new Recordings({ store, paths: this.paths, events, clock, counters });
    this.intake = new SegmentIntake(this.recordings, this.settings);
    this.finisher = new Finisher({
      ffmpeg: config.binaries.ffmpeg,
      store,
      paths: this.paths,
      events,
      clock,
      counters,
      retryDelayMs: (failures) => backoffDelay(failures - 1, RETRY_INITIAL_MS, RETRY_MAX_MS),
      stopping: () => this.stopping,
    });
    listenToStreams(events, {
      segment: (segment) => this.onSegment(segment),
      published: (stream) => this.intake.onPublish(stream, true),
      unpublished: (stream) => this.intake.onPublish(stream, false),
    });
  }

  get home(): string {
    return this.paths.home;
  }

  /** The FAQ's suggested post-processing target: an s3fs mount inside the data directory. */
  get defaultCpDir(): string {
    return this.dataPaths.s3Bucket;
  }

  get waitSeconds(): number {
    return this.config.record.waitSeconds;
  }

  start(): void {
    this.stopping = false;
    this.cancelTick = this.clock.every(IDLE_CHECK_INTERVAL_MS, () => this.tick());
  }

  /**
   * First Redis connection: reload working tasks and resume unfinished records. The tick retries
   * it too, so a failure here (or in another feature's ready hook before ours) delays, never loses.
   */
  async onRedisReady(): Promise<void> {
    if (this.recovered) return;
    this.recovering ??= this.queue
      .run(() => recoverRecords(this.store, this.recordings, this.finisher))
      .then(() => {
        this.recovered = true;
        this.markRecovered();
      })
      .finally(() => {
        this.recovering = null;
      });
    await this.recovering;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelTick?.();
    this.cancelTick = null;
    await this.queue.drained();
    await this.finisher.stop();
  }

  // ---- settings (docs/compatibility.md §3.3) ----

  async query(): Promise<{ all: boolean; home: string; globs: string[]; postProcess: string; processCpDir: string; waitSeconds: number }> {
    const p = await this.settings.current();
    return {
      all: p.all,
      home: this.home,
      globs: p.globs,
      postProcess: p.postCpDir ? POST_CP_FILE : '',
      processCpDir: p.postCpDir,
      waitSeconds: this.waitSeconds,
    };
  }

  setAll(all: boolean): Promise<void> {
    return this.settings.setAll(all);
  }

  /** Takes effect on the next segment, without restarting anything (FAQ "Record a Specific Stream"). */
  setGlobs(globs: string[]): Promise<string[]> {
    return this.settings.setGlobs(globs);
  }

  setPostProcessing(postProcess: string, dir: string): Promise<void> {
    return this.settings.setPostProcessing(postProcess, dir);
  }

  // ---- records ----

  async files(): Promise<RecordSummary[]> {
    const artifacts = await this.store.artifacts();
    // Memory is ahead of Redis when Redis cannot save (a full disk): the last error shows anyway.
    const live = new Map(this.recordings.all().map((t) => [t.artifact.uuid, t.artifact]));
    const current = artifacts.map((a) => this.finisher.artifact(a.uuid) ?? live.get(a.uuid) ?? a);
    return current.sort(newestFirst).map(summarize);
  }

  /** Prometheus collectors: records in progress, finished, lost segments and finishing failures. */
  registerMetrics(metrics: Metrics): void {
    registerRecordMetrics(metrics, this.counters, () => ({ recording: this.recordings.size, finishing: this.finisher.size }));
  }

  /** record/end: finish the active task now (FAQ "How to Quickly Generate a Recorded File"). */
  async end(uuid: string): Promise<void> {
    await this.queue.run(async () => {
      if (this.finisher.has(uuid)) return;
      const task = this.recordings.withUuid(uuid);
      if (!task) throw new NotFoundError(`no record task for uuid=${uuid}`);
      task.state.expired = true;
      log.info(`record ${uuid} of ${task.state.m3u8_url}: ended by request`);
      await this.detachAndFinish(task);
    });
  }

  async remove(uuid: string): Promise<void> {
    if (!isUuid(uuid)) throw new ValidationError(`uuid must be a record UUID, got "${uuid}"`);
    await this.queue.run(async () => {
      if (this.recordings.withUuid(uuid)) {
        throw new ConflictError(`record ${uuid} is still recording: end it first (record/end), then remove it`);
      }
      const artifact = await this.store.artifact(uuid);
      if (!artifact) throw new NotFoundError(`no record for uuid=${uuid}`);
      await this.finisher.forget(uuid);
      // The post-processing copy is the user's now and is kept (as SRS Stack does).
      await this.paths.remove(artifact);
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
    return isUuid(uuid) && isUuid(tsid) ? this.paths.segment(uuid, tsid) : null;
  }

  /** Path of a record's MP4, or null; it exists only once complete (written under a temporary name). */
  mp4File(uuid: string): string | null {
    return isUuid(uuid) ? this.paths.mp4(uuid) : null;
  }

  // ---- the queue's work ----

  private async onSegment(segment: HlsSegmentEvent): Promise<void> {
    // Segments may arrive while the first Redis connection is still being made; give it a moment.
    if (!this.recovered) await Promise.race([this.recoveredSignal, this.clock.sleep(RECOVERY_WAIT_MS)]);
    await this.queue
      .run(async () => {
        if (this.stopping || !this.recovered) return;
        await this.intake.take(segment);
      })
      .catch((err) => {
        log.warn(`segment ${segment.url} of ${segment.m3u8_url} not recorded`, err);
      });
  }

  /** Returns its work so a manual clock can wait for it; it never rejects. */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      await (this.recovered ? this.queue.run(() => this.endIdleRecords()) : this.onRedisReady());
    } catch {
      // The next tick tries again.
    } finally {
      this.ticking = false;
    }
  }

  /** Hands every record that is over (its window passed, or record/end) to finishing. */
  private async endIdleRecords(): Promise<void> {
    if (this.stopping || !this.recovered || this.recordings.size === 0) return;
    const windowMs = idleWindowMs(this.waitSeconds, (await this.settings.current()).all);
    for (const task of this.recordings.all()) {
      await this.recordings.commitPending(task).catch((err) => log.warn(`record ${task.state.uuid}: commit failed, will retry`, err));
      if (recordIsOver(task, this.clock.now(), windowMs)) {
        log.info(`record ${task.state.uuid} of ${task.state.m3u8_url}: no segment for ${Math.round(windowMs / 1000)} s, finishing`);
        await this.detachAndFinish(task);
      }
    }
  }

  /** The playlist's next segment starts a new record; this one is finished in the background. */
  private async detachAndFinish(task: LiveTask): Promise<void> {
    this.finisher.finish(await this.recordings.detach(task));
  }
}
