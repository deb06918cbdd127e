// The timeshift store (docs/compatibility.md §13b): the last N minutes of every live stream that is
// not being recorded, kept from the engine's own HLS segments (features/hls/segment-watcher.ts
// announces each finished one), so its DVR playlist can seek back over them. The engine deletes a
// segment once it leaves its short live playlist; the store keeps a copy (copy-on-write where the
// filesystem can: record/disk.ts copySegment) until it is older than the window.
//
// A stream being recorded is left to the recorder: its record already holds those segments, and
// the DVR playlist is built from them (one copy on disk, not two). With the data disk under the
// guard's threshold (record/retention.ts), nothing new is kept, so timeshift never fills the disk
// the records need. The store is a cache: it lives in memory and its directory is emptied at start.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { EventHub, HlsSegmentEvent } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import type { Cancel, Clock } from '../record/clock.js';
import { copySegment } from '../record/disk.js';
import type { TsFile } from '../record/model.js';
import { dvrWindowStart, type DvrHistory } from '../record/playlist.js';

const log = createLogger('timeshift');

/** The store prunes this often; a segment outlives the window by at most this much. */
export const PRUNE_INTERVAL_MS = 10_000;

interface Kept {
  readonly file: TsFile;
  /** Clock time when it was kept: its age. */
  readonly keptAt: number;
}

interface StreamWindow {
  kept: Kept[];
  history: { sequenceBase: number; discontinuityBase: number };
  /** A new publish: the next segment starts a discontinuity. */
  discontinuityNext: boolean;
  /** Segments still come (a segment or a publish since the last unpublish): no EXT-X-ENDLIST yet. */
  live: boolean;
}

export interface TimeshiftStoreDeps {
  /** Where the copies go: {dir}/{app}/{stream}/{tsid}.ts. */
  readonly dir: string;
  /** The window (timeshiftMinutes × 60); 0: timeshift is off and the store keeps nothing. */
  readonly windowSeconds: () => number;
  /** Whether the recorder takes this stream's segments (then it keeps them, not the store). */
  readonly recorded: (app: string, stream: string) => boolean | Promise<boolean>;
  /** The disk guard's verdict: the data disk is under its free-space threshold. */
  readonly diskLow: () => boolean;
  readonly clock: Clock;
}

/** What a stream's DVR playlist is built from: its segments in the window, oldest first. */
export interface TimeshiftWindow {
  readonly files: readonly TsFile[];
  readonly history: DvrHistory;
  /** The stream is still publishing: the window grows at its live edge. */
  readonly live: boolean;
}

export class TimeshiftStore {
  private readonly streams = new Map<string, StreamWindow>();
  private cancelPrune: Cancel | null = null;
  private refusedForDisk = false;

  constructor(private readonly deps: TimeshiftStoreDeps) {}

  /** The stream events the store keeps segments from, registered here and nowhere else. */
  listen(events: EventHub): void {
    events.on('hls.segment', (segment) => this.take(segment));
    events.on('stream.published', (stream) => this.published(stream.app, stream.stream, true));
    events.on('stream.unpublished', (stream) => this.published(stream.app, stream.stream, false));
  }

  /** Copies left by a previous run are dropped: the index that named them was in memory. */
  async start(): Promise<void> {
    await fs.promises.rm(this.deps.dir, { recursive: true, force: true });
    await fs.promises.mkdir(this.deps.dir, { recursive: true });
    this.cancelPrune = this.deps.clock.every(PRUNE_INTERVAL_MS, () => this.prune().catch((err) => log.warn('pruning failed', err)));
  }

  stop(): void {
    this.cancelPrune?.();
    this.cancelPrune = null;
  }

  /** A publish (its next segment starts a discontinuity) or an unpublish (the window stops growing). */
  published(app: string, stream: string, on: boolean): void {
    const w = this.streams.get(key(app, stream));
    if (!w) return;
    w.live = on;
    if (on) w.discontinuityNext = true;
  }

  /** One finished engine segment (the hls.segment event): kept when timeshift is on and nobody else keeps it. */
  async take(segment: HlsSegmentEvent): Promise<void> {
    if (segment.leftover || this.deps.windowSeconds() <= 0 || (await this.deps.recorded(segment.app, segment.stream))) return;
    if (this.deps.diskLow()) {
      if (!this.refusedForDisk) log.warn('the data disk is low: timeshift keeps no new segment until it is freed');
      this.refusedForDisk = true;
      return;
    }
    this.refusedForDisk = false;
    const k = key(segment.app, segment.stream);
    let w = this.streams.get(k);
    if (!w) {
      w = { kept: [], history: { sequenceBase: 0, discontinuityBase: 0 }, discontinuityNext: false, live: true };
      this.streams.set(k, w);
    }
    const tsid = randomUUID();
    const relative = path.join(segment.app, segment.stream, `${tsid}.ts`);
    try {
      await copySegment(segment.file, path.join(this.deps.dir, relative));
    } catch (err) {
      log.warn(`segment ${segment.url} not kept for timeshift`, err);
      return;
    }
    const last = w.kept.at(-1)?.file;
    const now = this.deps.clock.now();
    const file: TsFile = {
      key: relative,
      tsid,
      tsfile: relative,
      url: segment.url,
      seqno: segment.seq_no,
      duration: segment.duration,
      size: segment.size,
      mtime: segment.mtime ?? now,
      // Marked here, not only found from the sequence numbers: once its predecessor is pruned, the
      // head's break still counts in the history (playlist.ts DvrHistory).
      discontinuity: last !== undefined && (w.discontinuityNext || segment.seq_no !== last.seqno + 1),
    };
    w.discontinuityNext = false;
    w.live = true;
    w.kept.push({ file, keptAt: now });
    await this.pruneStream(k, w, now);
  }

  /** The stream's segments in the window, or null when the store holds none. */
  window(app: string, stream: string): TimeshiftWindow | null {
    const w = this.streams.get(key(app, stream));
    if (!w || w.kept.length === 0) return null;
    return { files: w.kept.map((k) => k.file), history: { ...w.history }, live: w.live };
  }

  /** The path of a kept segment of app/stream, or null: only names the store gave out are found. */
  segmentFile(app: string, stream: string, tsid: string): string | null {
    const file = this.streams.get(key(app, stream))?.kept.find((k) => k.file.tsid === tsid)?.file;
    return file ? path.join(this.deps.dir, file.key) : null;
  }

  /** Bytes the store holds (the Record page's disk figures, tests). */
  get bytes(): number {
    let n = 0;
    for (const w of this.streams.values()) for (const k of w.kept) n += k.file.size;
    return n;
  }

  /** Drops what is older than the window, by age and by the durations it spans; all of it when timeshift is off. */
  async prune(): Promise<void> {
    const now = this.deps.clock.now();
    for (const [k, w] of this.streams) await this.pruneStream(k, w, now);
  }

  private async pruneStream(k: string, w: StreamWindow, now: number): Promise<void> {
    const windowSeconds = this.deps.windowSeconds();
    const tooOld = (kept: Kept) => windowSeconds <= 0 || now - kept.keptAt > windowSeconds * 1000;
    let drop =
      windowSeconds <= 0
        ? w.kept.length
        : dvrWindowStart(
            w.kept.map((kept) => kept.file),
            windowSeconds,
          );
    while (drop < w.kept.length && tooOld(w.kept[drop] as Kept)) drop += 1;
    if (drop === 0) return;
    const dropped = w.kept.splice(0, drop);
    w.history.sequenceBase += dropped.length;
    // The new head's break is history now: a playlist never marks its list's first segment.
    if (w.kept[0]?.file.discontinuity) w.history.discontinuityBase += 1;
    if (w.kept.length === 0) this.streams.delete(k);
    await Promise.all(dropped.map((d) => fs.promises.rm(path.join(this.deps.dir, d.file.key), { force: true })));
  }
}

function key(app: string, stream: string): string {
  return `${app}/${stream}`;
}
