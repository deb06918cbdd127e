// The MP4 written while recording (docs/compatibility.md §5.8), so that finishing a record does
// not re-read its segments: each committed segment is transmuxed in-process, as it is committed,
// by mux.js's TS→fMP4 transmuxer (videojs, Apache-2.0; already the stack's LL-HLS box writer,
// server/core/media/fmp4.ts) into fragments written to `index.mp4.live.tmp` after a reserved
// head, which is filled at the end (fmp4-file.ts buildHead). record/end then only flushes the
// last keyframe interval, writes the head and syncs what the disk does not have yet.
//
// mux.js is built to feed MSE, so it is driven the way a file needs (measured against ffmpeg's
// output, docs/compatibility.md §5.8): the source's timestamps are kept (keepOriginalTimestamps:
// no audio trimmed to the video's start, no silence inserted) and this writer moves them (tfdt)
// so the file starts at 0 and a republish continues where the media before it ended; it is
// flushed only before a segment that starts on a keyframe, because a flush that starts inside a
// GOP makes it borrow the previous GOP again or drop frames (its "GOP fusion").
//
// It is a shortcut, never the only copy: the segments stay the record. Whatever it cannot carry
// (a stream type mux.js drops, a change of codec configuration one moov cannot describe, a new
// timeline not starting on a keyframe, decode times going back, a failed write, a segment not
// fed) makes finish() throw, and the finisher remuxes the segments with ffmpeg as before. A record
// resumed after a restart gets a new writer fed with every segment committed so far.
import fs from 'node:fs';
import path from 'node:path';
import muxjs, { type TransmuxedSegment } from 'mux.js/cjs/mp4/transmuxer.js';
import { errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import {
  buildHead,
  childBoxes,
  fragmentRuns,
  initTracks,
  shiftDecodeTimes,
  type Fragment,
  type TrackInfo,
  type TrackRun,
} from './fmp4-file.js';
import { TS_CLOCK, firstDecodeTime, isDiscontinuity, segmentTiming, uncarriedStreamTypes, type SegmentTiming } from './ts-segment.js';

const log = createLogger('record');

/** Room left in the head for the sidx boxes: about 2,700 references with audio and video. */
export const SIDX_ROOM = 64 * 1024;
/** Flushed to disk every so often, so the end has little left to flush. */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

export interface LiveMp4Deps {
  /**
   * Writers at once (config RECORD_MP4_WRITERS). Each transmuxes on the stack's own thread (0.28 %
   * of a core for a 2.5 Mbit/s stream, in one piece per segment) and holds one keyframe interval
   * of media, 2–3 MB (README, Performance, Recording): the number bounds the event loop's stall
   * when segments arrive together. A record beyond it is remuxed at its end.
   */
  maxWriters: number;
}

/** The temporary name of a record's MP4 while it is written (removed with the other temporaries). */
export function liveMp4Path(dir: string): string {
  return path.join(dir, 'index.mp4.live.tmp');
}

class LiveMp4 {
  private readonly transmuxer = new muxjs.Transmuxer({ keepOriginalTimestamps: true, remux: true });
  /** What one flush of the transmuxer gave (it calls back synchronously). */
  private output: TransmuxedSegment[] = [];
  private fh: fs.promises.FileHandle | null = null;
  private init: Buffer | null = null;
  private ftyp: Buffer | null = null;
  private moov: Buffer | null = null;
  private tracks: TrackInfo[] = [];
  private reserve = 0;
  private readonly fragments: Fragment[] = [];
  private position = 0;
  private unsynced = 0;
  private failure: string | null = null;
  /** Segment keys fed, in order: finish() checks they are the record's. */
  private readonly fed: string[] = [];
  private feeding: Promise<void> = Promise.resolve();
  /** The last segment handed to the transmuxer, and whether any was since its last flush. */
  private previous: SegmentTiming | null = null;
  private pushed = false;
  /** Added to the source's decode times (90 kHz) of the current timeline. */
  private offset = 0;
  /** Each track's end in the file so far, in its timescale: of its decode times, and of what it shows. */
  private readonly ends = new Map<number, { decoded: number; shown: number }>();

  constructor(
    readonly uuid: string,
    readonly file: string,
  ) {
    this.transmuxer.on('data', (segment) => this.output.push(segment));
  }

  async start(): Promise<void> {
    this.fh = await fs.promises.open(this.file, 'w');
  }

  /** Feeds a committed segment, after the ones before it. */
  append(file: string, key: string): void {
    this.fed.push(key);
    this.feeding = this.feeding.then(async () => {
      if (this.failure) return;
      try {
        await this.write(this.transmux(await fs.promises.readFile(file)));
      } catch (err) {
        this.fail(`segment ${key} not written: ${errorMessage(err)}`);
      }
    });
  }

  /**
   * Completes the file: returns its path once it is whole and on disk. Throws when it is not the
   * record's segments `keys`, in order, made into one MP4.
   */
  async finish(keys: readonly string[]): Promise<string> {
    await this.feeding;
    try {
      const pending = this.pushed;
      const last = this.failure ? [] : this.flush();
      // With audio and video, mux.js holds a flush that has only one of them until the next: there is none.
      if (!this.failure && pending && last.length === 0) throw new Error('it holds back one track only');
      await this.write(last);
    } catch (err) {
      this.fail(`the last keyframe interval not written: ${errorMessage(err)}`);
    }
    if (this.failure) throw new Error(this.failure);
    if (keys.length !== this.fed.length || keys.some((k, i) => k !== this.fed[i])) {
      throw new Error(`it holds ${this.fed.length} segments, the record ${keys.length}`);
    }
    const head = this.ftyp && this.moov ? buildHead(this.ftyp, this.moov, this.tracks, this.fragments, this.reserve) : null;
    if (!head) throw new Error('its fragments cannot be indexed');
    const fh = this.fh as fs.promises.FileHandle;
    await fh.write(head, 0, head.length, 0);
    await fh.datasync();
    await fh.close();
    this.fh = null;
    return this.file;
  }

  /** Stops and removes the file. */
  async discard(): Promise<void> {
    this.fail('discarded');
    await this.feeding;
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    await fs.promises.rm(this.file, { force: true });
  }

  private fail(reason: string): void {
    this.failure ??= reason;
  }

  /**
   * Hands a segment to the transmuxer; returns the fragments of the keyframe intervals it
   * completes (the segment ahead of it flushed), ready to write. Throws on what the file cannot hold.
   */
  private transmux(ts: Buffer): Buffer[] {
    const uncarried = uncarriedStreamTypes(ts);
    if (!uncarried) throw new Error('no PAT and PMT');
    if (uncarried.length) throw new Error(`stream types ${uncarried.map((t) => `0x${t.toString(16)}`).join(', ')} are not carried`);
    const timing = segmentTiming(ts);
    if (!timing) throw new Error('neither H.264 nor AAC');
    const discontinuity = this.previous !== null && isDiscontinuity(this.previous, timing);
    if (discontinuity && !timing.startsWithKeyframe) throw new Error('a new timeline does not start on a keyframe');
    const parts = discontinuity || timing.startsWithKeyframe ? this.flush() : [];
    // The first timeline starts the file at 0; a new one starts where the file ends so far.
    if (this.previous === null || discontinuity) this.offset = this.end() - firstDecodeTime(timing);
    this.transmuxer.push(ts);
    this.pushed = true;
    this.previous = timing;
    return parts;
  }

  /** The fragments of what was pushed since the last flush, moved onto the file's timeline. */
  private flush(): Buffer[] {
    if (!this.pushed) return [];
    this.pushed = false;
    this.output = [];
    this.transmuxer.flush();
    // Nothing held is needed past a flush (the next batch starts on a keyframe): the GOPs mux.js
    // keeps for fusing would stay in memory, about 10 MB per writer at 1 Mbit/s (measured). Its
    // timestamp-rollover reference goes too, as segmentTiming() reads each segment on its own.
    this.transmuxer.reset();
    const fragments = this.output.map((segment) => this.fragment(segment));
    this.output = [];
    return fragments;
  }

  /** One output of the transmuxer: its init kept (the first) or checked, its moof+mdat pairs made one fragment. */
  private fragment(segment: TransmuxedSegment): Buffer {
    const init = Buffer.from(segment.initSegment);
    if (!this.init) {
      const [ftyp, moov] = childBoxes(init, 0, init.length);
      if (ftyp?.type !== 'ftyp' || moov?.type !== 'moov') throw new Error('the init segment is not ftyp and moov');
      this.init = init;
      this.ftyp = init.subarray(ftyp.start, ftyp.start + ftyp.size);
      this.moov = init.subarray(moov.start, moov.start + moov.size);
      this.tracks = initTracks(this.moov);
      this.reserve = init.length + SIDX_ROOM;
      this.position = this.reserve;
    } else if (!init.equals(this.init)) {
      throw new Error('the streams changed (tracks or codec configuration): one moov cannot describe them');
    }
    const data = Buffer.from(segment.data.buffer, segment.data.byteOffset, segment.data.byteLength);
    const runs = new Map<number, TrackRun>();
    const boxes = childBoxes(data, 0, data.length);
    boxes.forEach((box, i) => {
      if (box.type !== (i % 2 === 0 ? 'moof' : 'mdat') || boxes.length % 2 !== 0) throw new Error(`unexpected ${box.type} box`);
      if (box.type !== 'moof') return;
      const moof = data.subarray(box.start, box.start + box.size);
      // Rounded up: mux.js rounds a track's time down into its timescale, so the earliest starts at 0, not −1.
      shiftDecodeTimes(moof, (id) => Math.ceil((this.offset * this.track(id).timescale) / TS_CLOCK));
      for (const [id, run] of fragmentRuns(moof, this.tracks)) {
        const track = this.track(id);
        const end = this.ends.get(id);
        // A little overlap is the rounding of 90 kHz timestamps; more is media the file already has.
        if (end !== undefined && run.decodeTime < end.decoded - track.timescale / 10)
          throw new Error(`track ${id}: decode times went back`);
        this.ends.set(id, { decoded: run.decodeTime + run.duration, shown: run.decodeTime + Math.max(run.duration, run.presentationEnd) });
        const before = runs.get(id);
        runs.set(id, before ? { ...before, duration: before.duration + run.duration } : run);
      }
    });
    this.fragments.push({ size: data.length, runs });
    return data;
  }

  private track(id: number): TrackInfo {
    const track = this.tracks.find((t) => t.id === id);
    if (!track) throw new Error(`a fragment of track ${id}, which the moov does not declare`);
    return track;
  }

  /** Where the file's media ends so far, 90 kHz: the longest track's end. */
  private end(): number {
    return Math.max(0, ...[...this.ends].map(([id, end]) => (end.shown * TS_CLOCK) / this.track(id).timescale));
  }

  private async write(parts: Buffer[]): Promise<void> {
    if (this.failure || !this.fh || parts.length === 0) return;
    const bytes = parts.reduce((s, b) => s + b.length, 0);
    try {
      await this.fh.writev(parts, this.position);
      this.position += bytes;
      this.unsynced += bytes;
      if (this.unsynced >= SYNC_EVERY_BYTES) {
        this.unsynced = 0;
        await this.fh.datasync();
      }
    } catch (err) {
      this.fail(`cannot write ${this.file}: ${errorMessage(err)}`);
    }
  }
}

/** The MP4 of each record being recorded, by record uuid. */
export class LiveMp4s {
  private readonly writers = new Map<string, LiveMp4>();

  constructor(private readonly deps: LiveMp4Deps) {}

  /** Records whose MP4 is being written (srs_stack_record_mp4_writers). */
  get size(): number {
    return this.writers.size;
  }

  /** Starts a record's MP4; without it (it could not start) the record is remuxed at the end. */
  async open(uuid: string, dir: string): Promise<void> {
    await this.discard(uuid);
    if (this.writers.size >= this.deps.maxWriters) {
      log.info(
        `record ${uuid}: ${this.deps.maxWriters} MP4s are written while recording already (RECORD_MP4_WRITERS); this one is remuxed at its end`,
      );
      return;
    }
    const writer = new LiveMp4(uuid, liveMp4Path(dir));
    try {
      await writer.start();
      this.writers.set(uuid, writer);
    } catch (err) {
      log.warn(`record ${uuid}: no MP4 written while recording, it will be remuxed at the end`, err);
      await writer.discard().catch(() => undefined);
    }
  }

  append(uuid: string, file: string, key: string): void {
    this.writers.get(uuid)?.append(file, key);
  }

  /** Completes a record's MP4 (see LiveMp4.finish); null when it has none. */
  async finish(uuid: string, keys: readonly string[]): Promise<string | null> {
    const writer = this.writers.get(uuid);
    if (!writer) return null;
    this.writers.delete(uuid);
    try {
      return await writer.finish(keys);
    } catch (err) {
      await writer.discard().catch(() => undefined);
      throw err;
    }
  }

  async discard(uuid: string): Promise<void> {
    const writer = this.writers.get(uuid);
    this.writers.delete(uuid);
    await writer?.discard();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.writers.keys()].map((uuid) => this.discard(uuid)));
  }
}
