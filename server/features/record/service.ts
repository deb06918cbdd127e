// Recording with SRS Stack's rules (docs/compatibility.md §5): every finished HLS segment of a stream that the
// settings and globs allow joins the record task of its playlist; a task ends after a wait window
// without segments (or at once on record/end), then its MP4, written while it recorded, is completed
// (or its segments are remuxed into one) and optionally copied to a post-processing directory.
//
// RecordService is the feature's façade, the one class the rest of the stack uses. It wires the
// parts, one concern per file, and runs every state change through its single serial queue:
//   intake.ts      which segments are recorded, and into which record
//   recordings.ts  the records being recorded; the crash-safe write-ahead, copy and commit
//   wait-window.ts when a record is over (from clock.ts, injected so tests need not wait)
//   live-mp4.ts    the MP4 written while recording (its boxes: fmp4-file.ts)
//   finish.ts      finishing → done: that MP4 or a remux, post-processing copy (post-process.ts), retries
//   recovery.ts    the first start after a stop or a crash resumes both
//   library.ts     the Recordings library (docs/compatibility.md §13a): paging, filters, clip and thumbnail argv
//   retention.ts   which records retention deletes, and when the disk is low enough to warn
//   playlist.ts    a record's VOD playlist, and its live DVR window (timeshift)
//   settings.ts, paths.ts, disk.ts, metrics.ts, serial-queue.ts
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { replaceFileAtomic } from '../../core/atomic-write.js';
import type { Config } from '../../config.js';
import { probe } from '../../core/ffmpeg/probe.js';
import { runOnce } from '../../core/process/run-once.js';
import type { StorageProblem } from '../../core/views.js';
import type { DataPaths } from '../../core/data-dir.js';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import type { EventHub, HlsSegmentEvent, StreamInfo } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { backoffDelay, RetryGate } from '../../core/backoff.js';
import { isoNow, systemClock, type Cancel, type Clock } from './clock.js';
import { Finisher } from './finish.js';
import { SegmentIntake } from './intake.js';
import { LiveMp4s } from './live-mp4.js';
import { RecordCounters, registerRecordMetrics } from './metrics.js';
import { checkClipRange, cleanTitle, clipArgs, libraryPage, thumbnailArgs, type LibraryPage, type LibraryQuery } from './library.js';
import { isUuid, newestFirst, summarize, type Artifact, type RecordSummary, type TsFile } from './model.js';
import { remuxTimeoutMs } from './remux.js';
import {
  DEFAULT_RETENTION,
  diskIsLow,
  lowDiskTransition,
  planRetention,
  validateRetention,
  type DiskSpace,
  type RetentionPolicy,
} from './retention.js';
import { RecordPaths } from './paths.js';
import { buildDvrPlaylist, buildVodPlaylist } from './playlist.js';
import { Recordings, type LiveTask } from './recordings.js';
import { recoverRecords } from './recovery.js';
import { SerialQueue } from './serial-queue.js';
import { RecordSettings, recordsStream } from './settings.js';
import { POST_CP_FILE, type RecordStorage } from './store.js';
import { IDLE_CHECK_INTERVAL_MS, RECOVERY_WAIT_MS, idleWindowMs, recordIsOver } from './wait-window.js';

const log = createLogger('record');

/** A failed finish is retried after 2 s, 4 s… up to a minute: a full disk or a lost mount takes a while to clear. */
const RETRY_INITIAL_MS = 2000;
const RETRY_MAX_MS = 60_000;
export const RECORD_HLS_PREFIX = '/terraform/v1/hooks/record/hls';
/** The disk guard checks this often (a statfs, cheap), so the warning comes well before the disk is full. */
export const GUARD_INTERVAL_MS = 5000;
/** Retention reads every record (an HSCAN) to plan: once a minute, and at once when its settings change. */
export const RETENTION_INTERVAL_MS = 60_000;
/** A thumbnail or a clip is one short ffmpeg run; past this it is hung. */
const THUMBNAIL_TIMEOUT_MS = 20_000;
/** A failed thumbnail is tried again after 10 s, 20 s… up to 10 min, at most 6 times in all. */
const THUMBNAIL_RETRY_INITIAL_MS = 10_000;
const THUMBNAIL_RETRY_MAX_MS = 600_000;
const THUMBNAIL_MAX_FAILURES = 6;

/** The data disk's size and free space, or null when it cannot be read. */
export async function diskSpaceOf(dir: string): Promise<DiskSpace | null> {
  const stat = await fs.promises.statfs(dir).catch(() => null);
  return stat ? { totalBytes: stat.blocks * stat.bsize, freeBytes: stat.bavail * stat.bsize } : null;
}

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
  private readonly liveMp4: LiveMp4s | undefined;
  private cancelTick: Cancel | null = null;
  private recovered = false;
  private recovering: Promise<void> | null = null;
  private ticking = false;
  private markRecovered: () => void = () => undefined;
  private readonly recoveredSignal = new Promise<void>((resolve) => (this.markRecovered = resolve));
  private stopping = false;
  private cancelGuard: Cancel | null = null;
  private retentionCache: RetentionPolicy = { ...DEFAULT_RETENTION };
  private diskLow = false;
  private lastRetentionMs = Number.NEGATIVE_INFINITY;
  private guarding: Promise<void> | null = null;
  private readonly thumbnails = new Map<string, Promise<string | null>>();
  /**
   * Records ffmpeg could not take a frame of: retried with backoff (a busy disk, a hung ffmpeg),
   * not on every request, and given up after a few tries (no video at all).
   */
  private readonly thumbnailRetry = new RetryGate(THUMBNAIL_RETRY_INITIAL_MS, THUMBNAIL_RETRY_MAX_MS, THUMBNAIL_MAX_FAILURES);

  constructor(
    private readonly config: Config,
    private readonly dataPaths: DataPaths,
    private readonly store: RecordStorage,
    private readonly events: EventHub,
    private readonly clock: Clock = systemClock,
    /** The data disk's space; tests hand in a fake one. */
    private readonly diskSpace: (dir: string) => Promise<DiskSpace | null> = diskSpaceOf,
    /** Writes records' MP4s while they record (live-mp4.ts); without, every record is remuxed when it ends. */
    writeWhileRecording = false,
  ) {
    const { counters } = this;
    this.paths = new RecordPaths(dataPaths);
    this.settings = new RecordSettings(store, dataPaths.root);
    const liveMp4 = writeWhileRecording && config.recordMp4Writers > 0 ? new LiveMp4s({ maxWriters: config.recordMp4Writers }) : undefined;
    this.liveMp4 = liveMp4;
    this.recordings = new Recordings({ store, paths: this.paths, events, clock, counters, liveMp4 });
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
      liveMp4,
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
    this.cancelGuard = this.clock.every(GUARD_INTERVAL_MS, () => this.guard());
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
    this.cancelGuard?.();
    this.cancelGuard = null;
    await this.guarding?.catch(() => undefined);
    await this.queue.drained();
    await this.finisher.stop();
    // Records still recording resume at the next start, with a new MP4 writer.
    await this.liveMp4?.stop();
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
    registerRecordMetrics(metrics, this.counters, () => ({
      recording: this.recordings.size,
      finishing: this.finisher.size,
      mp4Writers: this.liveMp4?.size ?? 0,
    }));
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

  // ---- the library (docs/compatibility.md §13a) ----

  async library(query: LibraryQuery): Promise<LibraryPage> {
    return libraryPage(await this.files(), query);
  }

  /** Names a record in the library (empty: back to its stream's name). */
  async rename(uuid: string, title: string): Promise<void> {
    const clean = cleanTitle(title);
    await this.queue.run(async () => {
      const current = await this.current(uuid);
      if (clean) current.title = clean;
      else delete current.title;
      await this.store.saveArtifact(current);
    });
  }

  /**
   * A new record cut from another without re-encoding (library.ts clipArgs: keyframe-accurate).
   * A finished record is cut from its MP4; one still recording or finishing, from the segments
   * already written, through a VOD playlist of them (the remux's way, remux.ts), so a show can be
   * clipped while it is on air. It is a record like any other: listed, played, downloaded,
   * removed and kept by retention.
   */
  async clip(uuid: string, start: number, end: number): Promise<RecordSummary> {
    const source = await this.current(uuid);
    const fromSegments = source.status === 'recording' || source.status === 'finishing';
    if (!fromSegments && source.status !== 'done')
      throw new ConflictError(`record ${uuid} is ${source.status}: a clip is cut from a record's MP4 or, while recording, its segments`);
    const files = source.status === 'recording' ? await this.store.recordingFiles(uuid) : source.files;
    const written = fromSegments ? files.reduce((sum, f) => sum + f.duration, 0) : source.duration;
    checkClipRange(start, end, written);
    const to = Math.min(end, written);
    const clipUuid = randomUUID();
    const clipDir = this.paths.dir(clipUuid);
    await fs.promises.mkdir(clipDir, { recursive: true });
    try {
      let input = this.paths.mp4(uuid);
      if (fromSegments) {
        input = `${clipDir}/source.m3u8`;
        await fs.promises.writeFile(
          input,
          buildVodPlaylist(files, (f) => this.paths.absolute(f.key)),
        );
      }
      await replaceFileAtomic(this.paths.mp4(clipUuid), async (tmp) => {
        const args = clipArgs(input, start, to, tmp, fromSegments ? 'hls' : undefined);
        const bytes = fromSegments ? files.reduce((sum, f) => sum + f.size, 0) : (source.mp4_size ?? source.size);
        const res = await runOnce(this.config.binaries.ffmpeg, args, { timeoutMs: remuxTimeoutMs(bytes) });
        if (res.code !== 0)
          throw new Error(`ffmpeg clip failed (exit ${res.signal ?? res.code}): ${res.stderr.trim().split('\n').pop() ?? ''}`);
      });
      if (fromSegments) await fs.promises.rm(input, { force: true });
    } catch (err) {
      await fs.promises.rm(clipDir, { recursive: true, force: true });
      throw err;
    }
    const at = isoNow(this.clock);
    const name = source.title || `${source.app}/${source.stream}`;
    // Its real length: a stream copy begins at the keyframe at or before the in point.
    const probed = await probe(this.config.binaries.ffprobe, this.paths.mp4(clipUuid)).catch(() => null);
    const duration = Number(probed?.format?.duration) || to - start;
    const artifact: Artifact = {
      uuid: clipUuid,
      m3u8_url: '',
      vhost: source.vhost,
      app: source.app,
      stream: source.stream,
      progress: false,
      update: at,
      nn: 0,
      files: [],
      begin: at,
      status: 'done',
      duration,
      size: 0,
      mp4_size: (await fs.promises.stat(this.paths.mp4(clipUuid))).size,
      title: `${name} [${clock(start)}–${clock(to)}]`,
      clip_of: uuid,
      clip_start: start,
      clip_end: to,
    };
    await this.store.saveArtifact(artifact);
    log.info(`record ${clipUuid}: clip of ${uuid} from ${start} s to ${to} s`);
    return summarize(artifact);
  }

  /**
   * A finished record's thumbnail (JPEG), made once by one ffmpeg frame grab and kept next to its
   * MP4; null when there is none (not finished, no video).
   */
  async thumbnail(uuid: string): Promise<string | null> {
    if (!isUuid(uuid) || !this.thumbnailRetry.allowed(uuid, this.clock.now())) return null;
    const file = `${this.paths.dir(uuid)}/thumbnail.jpg`;
    if (
      await fs.promises.access(file).then(
        () => true,
        () => false,
      )
    )
      return file;
    let making = this.thumbnails.get(uuid);
    if (!making) {
      making = this.makeThumbnail(uuid, file).finally(() => this.thumbnails.delete(uuid));
      this.thumbnails.set(uuid, making);
    }
    return making;
  }

  private async makeThumbnail(uuid: string, file: string): Promise<string | null> {
    const artifact = await this.store.artifact(uuid);
    if (artifact?.status !== 'done') return null;
    try {
      await replaceFileAtomic(file, async (tmp) => {
        const res = await runOnce(this.config.binaries.ffmpeg, thumbnailArgs(this.paths.mp4(uuid), artifact.duration, tmp), {
          timeoutMs: THUMBNAIL_TIMEOUT_MS,
        });
        if (res.code !== 0) throw new Error(res.stderr.trim() || `exit ${res.signal ?? res.code}`);
      });
      this.thumbnailRetry.succeeded(uuid);
      return file;
    } catch (err) {
      log.warn(`record ${uuid}: no thumbnail, will retry later`, err);
      this.thumbnailRetry.failed(uuid, this.clock.now());
      return null;
    }
  }

  /** A record as it is now: finishing and recording keep theirs in memory, ahead of Redis. */
  private async current(uuid: string): Promise<Artifact> {
    if (!isUuid(uuid)) throw new ValidationError(`uuid must be a record UUID, got "${uuid}"`);
    const artifact = this.finisher.artifact(uuid) ?? this.recordings.withUuid(uuid)?.artifact ?? (await this.store.artifact(uuid));
    if (!artifact) throw new NotFoundError(`no record for uuid=${uuid}`);
    return artifact;
  }

  // ---- retention and the disk guard (retention.ts) ----

  async retention(): Promise<RetentionPolicy & { disk: { totalMb: number; freeMb: number; low: boolean } | null }> {
    await this.refreshRetention();
    const disk = await this.diskSpace(this.paths.home);
    const mb = (b: number) => Math.floor(b / (1024 * 1024));
    return {
      ...this.retentionCache,
      disk: disk ? { totalMb: mb(disk.totalBytes), freeMb: mb(disk.freeBytes), low: diskIsLow(disk, this.retentionCache) } : null,
    };
  }

  /** Saves the changed settings and applies them at once (the next check would within seconds). */
  async setRetention(changes: Partial<Record<keyof RetentionPolicy, unknown>>): Promise<RetentionPolicy> {
    await this.refreshRetention();
    const next = validateRetention(this.retentionCache, changes);
    await this.store.setRetention(next);
    this.retentionCache = next;
    log.info(`retention: ${JSON.stringify(next)}`);
    this.lastRetentionMs = Number.NEGATIVE_INFINITY;
    await this.guarding?.catch(() => undefined);
    await this.guard();
    return next;
  }

  /** The console's warning on every page while the data disk is under the threshold. */
  async diskWarning(): Promise<StorageProblem | null> {
    const disk = await this.diskSpace(this.paths.home);
    if (!disk || !diskIsLow(disk, this.retentionCache)) return null;
    return {
      kind: 'low',
      dir: this.paths.home,
      freeMb: Math.floor(disk.freeBytes / (1024 * 1024)),
      thresholdMb: this.retentionCache.warnFreeMb,
    };
  }

  /** One check: delete what retention says, then warn (once) when the disk is low. Never rejects. */
  guard(): Promise<void> {
    this.guarding ??= this.enforce()
      .catch((err) => log.warn('retention check failed, will retry', err))
      .finally(() => (this.guarding = null));
    return this.guarding;
  }

  private async refreshRetention(): Promise<void> {
    this.retentionCache = await this.store.retention().catch(() => this.retentionCache);
  }

  private async enforce(): Promise<void> {
    if (this.stopping) return;
    await this.refreshRetention();
    const policy = this.retentionCache;
    const disk = await this.diskSpace(this.paths.home);
    const due = this.clock.now() - this.lastRetentionMs >= RETENTION_INTERVAL_MS;
    if (due && (policy.days > 0 || policy.maxGb > 0 || policy.maxPercent > 0)) {
      this.lastRetentionMs = this.clock.now();
      const records = (await this.files()).map((r) => ({ ...r, bytes: r.size + (r.mp4_size ?? 0) }));
      const plan = planRetention(records, policy, this.clock.now(), disk);
      for (const { uuid, reason } of plan.remove) {
        log.info(`retention: removing record ${uuid} (${reason})`);
        await this.remove(uuid).catch((err) => log.warn(`retention: cannot remove record ${uuid}`, err));
      }
    }
    const after = (await this.diskSpace(this.paths.home)) ?? disk;
    const low = diskIsLow(after, policy);
    const change = lowDiskTransition(this.diskLow, low);
    this.diskLow = low;
    if (change === 'warn' && after) {
      const freeMb = Math.floor(after.freeBytes / (1024 * 1024));
      log.warn(`data disk ${this.paths.home}: ${freeMb} MB free, under the ${policy.warnFreeMb} MB threshold`);
      void this.events.emit('storage.low', { dir: this.paths.home, free_mb: freeMb, threshold_mb: policy.warnFreeMb });
    } else if (change === 'recovered') {
      log.info(`data disk ${this.paths.home}: free space back above ${policy.warnFreeMb} MB`);
    }
  }

  /** The VOD playlist of a record, in progress or done (preview). */
  async playlist(uuid: string): Promise<string> {
    const artifact = isUuid(uuid) ? await this.store.artifact(uuid) : null;
    if (!artifact) throw new NotFoundError(`no record for uuid=${uuid}`);
    const files = artifact.status === 'recording' ? await this.store.recordingFiles(uuid) : artifact.files;
    return buildVodPlaylist(files, (f) => `${RECORD_HLS_PREFIX}/record/${uuid}/${f.tsid}.ts`);
  }

  /**
   * Live timeshift: a record still recording as a live DVR window of the last `timeshiftMinutes`
   * (playlist.ts buildDvrPlaylist); once it stopped recording, its VOD playlist.
   */
  async dvrPlaylist(uuid: string): Promise<string> {
    const artifact = isUuid(uuid) ? await this.store.artifact(uuid) : null;
    if (!artifact) throw new NotFoundError(`no record for uuid=${uuid}`);
    if (artifact.status !== 'recording') return this.playlist(uuid);
    await this.refreshRetention();
    return buildDvrPlaylist(await this.store.recordingFiles(uuid), (f) => `${RECORD_HLS_PREFIX}/record/${uuid}/${f.tsid}.ts`, {
      windowSeconds: this.retentionCache.timeshiftMinutes * 60,
      beginMs: Date.parse(artifact.begin) || this.clock.now(),
    });
  }

  // ---- a stream's live timeshift (features/timeshift) ----

  /** The timeshift window in seconds (timeshiftMinutes, refreshed by the guard's check); 0: off. */
  timeshiftSeconds(): number {
    return this.retentionCache.timeshiftMinutes * 60;
  }

  /** The disk guard's last verdict: under the free-space threshold. */
  diskIsLow(): boolean {
    return this.diskLow;
  }

  /** The record taking app/stream's segments now (it keeps them), or null. */
  recordingUuid(app: string, stream: string): string | null {
    return this.recordings.ofPlaylist(`${app}/${stream}.m3u8`)?.state.uuid ?? null;
  }

  /**
   * Whether app/stream's segments are recorded: a record takes them now, or the settings record the
   * stream (its first segment begins one: the timeshift store must not keep a second copy of it).
   */
  async recordsSegmentsOf(app: string, stream: string): Promise<boolean> {
    return this.recordingUuid(app, stream) !== null || recordsStream(await this.settings.current(), app, stream);
  }

  /** The record of app/stream being recorded now, with the segments already written; null when none. */
  async recordingOf(app: string, stream: string): Promise<{ uuid: string; files: TsFile[]; beginMs: number } | null> {
    const task = this.recordings.ofPlaylist(`${app}/${stream}.m3u8`);
    if (!task) return null;
    const { uuid, begin } = task.artifact;
    return { uuid, files: await this.store.recordingFiles(uuid), beginMs: Date.parse(begin) || this.clock.now() };
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

/** m:ss of a clip's in/out points in its title. */
function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
