// The transmuxing half of the record's MP4 writer (live-mp4.ts, docs/compatibility.md §5.8): one
// record's committed segments in, the fragments of the file out, and at the end its head. It runs
// in the writers' worker thread (live-mp4-worker.ts), one instance per record, so the stack's
// thread only reads segments and writes files (docs/compatibility.md §5.8).
//
// mux.js is built to feed MSE, so it is driven the way a file needs (measured against ffmpeg's
// output, docs/compatibility.md §5.8): the source's timestamps are kept (keepOriginalTimestamps:
// no audio trimmed to the video's start, no silence inserted) and this muxer moves them (tfdt)
// so the file starts at 0 and a republish continues where the media before it ended; it is
// flushed only before a segment that starts on a keyframe, because a flush that starts inside a
// GOP makes it borrow the previous GOP again or drop frames (its "GOP fusion").
//
// Whatever the file cannot carry (a stream type mux.js drops, a change of codec configuration one
// moov cannot describe, a new timeline not starting on a keyframe, decode times going back) throws.
import muxjs, { type TransmuxedSegment } from 'mux.js/cjs/mp4/transmuxer.js';
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

/**
 * The same bytes as a plain Uint8Array view (no copy). mux.js slices its input per TS packet and
 * per PES payload; a Node Buffer's subarray() makes a Buffer each time, several times the cost of
 * a Uint8Array's (about a tenth of the writer's CPU, measured: README, Performance, Recording).
 */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Room left in the head for the sidx boxes: about 2,700 references with audio and video. */
export const SIDX_ROOM = 64 * 1024;

export class Mp4Muxer {
  private readonly transmuxer = new muxjs.Transmuxer({ keepOriginalTimestamps: true, remux: true });
  /** What one flush of the transmuxer gave (it calls back synchronously). */
  private output: TransmuxedSegment[] = [];
  private init: Buffer | null = null;
  private ftyp: Buffer | null = null;
  private moov: Buffer | null = null;
  private tracks: TrackInfo[] = [];
  /** Bytes kept at the file's start for its head; 0 until the first fragment. */
  reserve = 0;
  private readonly fragments: Fragment[] = [];
  /** The last segment handed to the transmuxer, and whether any was since its last flush. */
  private previous: SegmentTiming | null = null;
  private pushed = false;
  /** Added to the source's decode times (90 kHz) of the current timeline. */
  private offset = 0;
  /** Each track's end in the file so far, in its timescale: of its decode times, and of what it shows. */
  private readonly ends = new Map<number, { decoded: number; shown: number }>();

  constructor() {
    this.transmuxer.on('data', (segment) => this.output.push(segment));
  }

  /**
   * Hands a segment to the transmuxer; returns the fragments of the keyframe intervals it
   * completes (the segment ahead of it flushed), to be written after the reserve in order.
   * Throws on what the file cannot hold.
   */
  push(segment: Uint8Array): Buffer[] {
    const ts = plainBytes(segment);
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

  /** The last keyframe interval's fragments and the file's head (its first `reserve` bytes). */
  finish(): { parts: Buffer[]; head: Buffer } {
    const pending = this.pushed;
    const parts = this.flush();
    // With audio and video, mux.js holds a flush that has only one of them until the next: there is none.
    if (pending && parts.length === 0) throw new Error('it holds back one track only');
    const head = this.ftyp && this.moov ? buildHead(this.ftyp, this.moov, this.tracks, this.fragments, this.reserve) : null;
    if (!head) throw new Error('its fragments cannot be indexed');
    return { parts, head };
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
    } else if (!init.equals(this.init)) {
      throw new Error('the streams changed (tracks or codec configuration): one moov cannot describe them');
    }
    const data = Buffer.from(segment.data.buffer, segment.data.byteOffset, segment.data.byteLength);
    const runs = new Map<number, TrackRun>();
    const moofAt = new Map<number, number>();
    const boxes = childBoxes(data, 0, data.length);
    boxes.forEach((box, i) => {
      if (box.type !== (i % 2 === 0 ? 'moof' : 'mdat') || boxes.length % 2 !== 0) throw new Error(`unexpected ${box.type} box`);
      if (box.type !== 'moof') return;
      const moof = data.subarray(box.start, box.start + box.size);
      // Rounded up: mux.js rounds a track's time down into its timescale, so the earliest starts at 0, not −1.
      shiftDecodeTimes(moof, (id) => Math.ceil((this.offset * this.track(id).timescale) / TS_CLOCK));
      for (const [id, run] of fragmentRuns(moof, this.tracks)) {
        if (!moofAt.has(id)) moofAt.set(id, box.start);
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
    this.fragments.push({ size: data.length, runs, moofAt });
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
}
