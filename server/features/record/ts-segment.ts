// What the record's MP4 writer (live-mp4.ts, docs/compatibility.md §5.8) needs to know of a
// committed MPEG-TS segment before it hands it to mux.js's transmuxer: whether mux.js can carry
// every stream in it, where its timeline starts and ends, whether it starts on a keyframe, and
// whether it continues the segment before it. The parsing is mux.js's own (its TS inspector and
// PSI parsers); what is decided from it is pure and unit-tested.
import probe from 'mux.js/cjs/m2ts/probe.js';
import inspector from 'mux.js/cjs/tools/ts-inspector.js';

const TS_PACKET = 188;
const SYNC_BYTE = 0x47;
/** The stream types mux.js's transmuxer carries: H.264, AAC in ADTS, ID3 timed metadata. */
const CARRIED = new Set([0x1b, 0x0f, 0x15]);
/** One second of the MPEG-TS 90 kHz clock. */
export const TS_CLOCK = 90_000;
/**
 * A jump of the decode times larger than this, forwards, is a new timeline (a republish) rather
 * than a gap in the media: ffmpeg's own threshold for formats with discontinuities
 * (-dts_delta_threshold), so the file is what the ffmpeg writer made.
 */
const MAX_GAP = 10 * TS_CLOCK;

/**
 * The stream types of the segment's first PMT that the transmuxer would drop (MP3 audio, HEVC…):
 * empty when it carries them all. Null without a PAT and a PMT.
 */
export function uncarriedStreamTypes(ts: Uint8Array): number[] | null {
  let pmtPid: number | null = null;
  for (let at = 0; at + TS_PACKET <= ts.length; at += TS_PACKET) {
    if (ts[at] !== SYNC_BYTE) return null;
    const packet = ts.subarray(at, at + TS_PACKET);
    const type = probe.parseType(packet, pmtPid);
    if (type === 'pat') pmtPid = probe.parsePat(packet);
    else if (type === 'pmt') {
      const table = probe.parsePmt(packet);
      if (table) return [...new Set(Object.values(table))].filter((t) => !CARRIED.has(t));
    }
  }
  return null;
}

/**
 * A segment's decode-time span per kind (90 kHz). Read on its own, as the transmuxer reads a batch
 * after its reset: a 33-bit rollover between two segments is then a discontinuity.
 */
export interface SegmentTiming {
  /** Each kind's first and last PES decode time: the last is where its last frame starts. */
  video: { first: number; last: number } | null;
  audio: { first: number; last: number } | null;
  /** Its first video frame is a keyframe (or it has no video): a fragment may start with it. */
  startsWithKeyframe: boolean;
}

/** Null when the segment has neither H.264 nor AAC PES. */
export function segmentTiming(ts: Uint8Array): SegmentTiming | null {
  const info = inspector.inspect(ts);
  const span = (pes: Array<{ dts: number }> | undefined) => {
    const first = pes?.[0];
    return first ? { first: first.dts, last: (pes.at(-1) as { dts: number }).dts } : null;
  };
  const video = span(info?.video);
  const audio = span(info?.audio);
  if (!video && !audio) return null;
  return { video, audio, startsWithKeyframe: !video || info?.firstKeyFrame?.dts === video.first };
}

/** The earliest decode time of the segment: where its timeline starts. */
export function firstDecodeTime(t: SegmentTiming): number {
  return Math.min(t.video?.first ?? Infinity, t.audio?.first ?? Infinity);
}

/**
 * The segment does not continue the one before: a kind's decode times went back, or jumped
 * forwards more than MAX_GAP (a publisher that reconnected restarts its clock; §5.8).
 */
export function isDiscontinuity(previous: SegmentTiming, next: SegmentTiming): boolean {
  const broken = (a: { last: number } | null, b: { first: number } | null) =>
    !!a && !!b && (b.first <= a.last || b.first > a.last + MAX_GAP);
  if (!(previous.video && next.video) && !(previous.audio && next.audio)) return true;
  return broken(previous.video, next.video) || broken(previous.audio, next.audio);
}
