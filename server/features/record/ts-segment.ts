// What the record's MP4 writer (live-mp4.ts, docs/compatibility.md §5.8) needs to know of a
// committed MPEG-TS segment before it hands it to mux.js's transmuxer: whether mux.js can carry
// every stream in it, where its timeline starts and ends, whether it starts on a keyframe, and
// whether it continues the segment before it. The parsing is mux.js's own (its packet, PSI and
// PES parsers, read the way its TS inspector reads a segment but from its head and tail only:
// README, Performance, Recording); what is decided from it is pure and unit-tested.
import probe from 'mux.js/cjs/m2ts/probe.js';
import rollover from 'mux.js/cjs/m2ts/timestamp-rollover-stream.js';
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
  return packetAligned(ts) ? timing(headAndTail(ts)) : inspectorTiming(ts);
}

/**
 * segmentTiming() by mux.js's inspector: the reference the faster reader is tested against, and
 * the reader of a segment whose packets are not all aligned (it resynchronises byte by byte).
 */
export function inspectorTiming(ts: Uint8Array): SegmentTiming | null {
  const info = inspector.inspect(ts);
  const span = (pes: Array<{ dts: number }> | undefined): Span => {
    const first = pes?.[0];
    return first ? { first: first.dts, last: (pes.at(-1) as { dts: number }).dts } : null;
  };
  return timing(info && { video: span(info.video), audio: span(info.audio), keyframe: info.firstKeyFrame?.dts });
}

type Span = { first: number; last: number } | null;
interface PesTimes {
  video: Span;
  audio: Span;
  /** The decode time of the first video frame found to be a keyframe; undefined: none. */
  keyframe: number | undefined;
}

function timing(pes: PesTimes | null): SegmentTiming | null {
  if (!pes || (!pes.video && !pes.audio)) return null;
  const { video, audio, keyframe } = pes;
  return { video, audio, startsWithKeyframe: !video || keyframe === video.first };
}

/** Every 188 bytes a sync byte, the length a multiple of 188: the segments nginx-rtmp writes. */
function packetAligned(ts: Uint8Array): boolean {
  if (ts.length === 0 || ts.length % TS_PACKET !== 0) return false;
  for (let at = 0; at < ts.length; at += TS_PACKET) if (ts[at] !== SYNC_BYTE) return false;
  return true;
}

/**
 * What mux.js's inspector reads of an aligned segment, with its parsers, for a fraction of its
 * cost (README, Performance, Recording): it walks every packet for the PSI, and when the first
 * video frame is not a keyframe it reassembles frames to the segment's end, where this stops at
 * the first timed frame (no later one can start the segment). Its quirks are kept, so the writer's
 * decisions and bytes are the same (unit test against it): the PSI and video walks skip the last
 * packet, the audio walks do not; a frame is judged at the next frame's start. The PMT is the
 * first, as uncarriedStreamTypes() reads it (the inspector merges a segment's PMTs).
 */
function headAndTail(ts: Uint8Array): PesTimes | null {
  const count = ts.length / TS_PACKET;
  const packet = (i: number) => ts.subarray(i * TS_PACKET, (i + 1) * TS_PACKET);
  const dts = (p: Uint8Array): number | undefined => probe.parsePesTime(p)?.dts;
  let pmtPid: number | null = null;
  let table: Record<number, number> | null = null;
  for (let i = 0; i < count - 1 && !table; i++) {
    const p = packet(i);
    const type = probe.parseType(p, pmtPid);
    if (type === 'pat') pmtPid = probe.parsePat(p);
    else if (type === 'pmt') table = probe.parsePmt(p) ?? null;
  }
  if (!table) return null;
  const first: { video?: number; audio?: number } = {};
  const last: { video?: number; audio?: number } = {};
  // The video frame being gathered (its TS packets) until the next one starts, to look for an IDR in.
  const frame: Uint8Array[] = [];
  let keyframe: number | undefined;
  let framesDone = false;
  for (let i = 0; i < count && !(first.video !== undefined && first.audio !== undefined && framesDone); i++) {
    const p = packet(i);
    const notLast = i < count - 1;
    if (probe.parseType(p, pmtPid) !== 'pes') continue;
    const kind = probe.parsePesType(p, table);
    const start = probe.parsePayloadUnitStartIndicator(p);
    if (kind === 'audio' && start && first.audio === undefined) first.audio = dts(p);
    if (kind !== 'video' || !notLast) continue;
    if (!framesDone && start && frame.length) {
      const joined = keyframeBytes(frame);
      if (joined) keyframe = dts(joined);
      frame.length = 0;
      framesDone = keyframe !== undefined || first.video !== undefined;
    }
    if (!framesDone) frame.push(p);
    if (start && first.video === undefined) first.video = dts(p);
  }
  const wanted = (kind: 'video' | 'audio') => first[kind] !== undefined && last[kind] === undefined;
  for (let i = count - 1; i >= 0 && (wanted('video') || wanted('audio')); i--) {
    const p = packet(i);
    if (probe.parseType(p, pmtPid) !== 'pes' || !probe.parsePayloadUnitStartIndicator(p)) continue;
    const kind = probe.parsePesType(p, table);
    if (kind === 'audio' && last.audio === undefined) last.audio = dts(p);
    if (kind === 'video' && last.video === undefined && i < count - 1) last.video = dts(p);
  }
  // As the inspector: a timestamp that rolled over (33 bits) is moved to be nearest the kind's first.
  const span = (a: number | undefined, b: number | undefined): Span =>
    a === undefined || b === undefined ? null : { first: a, last: rollover.handleRollover(b, a) };
  const video = span(first.video, last.video);
  return {
    video,
    audio: span(first.audio, last.audio),
    keyframe: video && keyframe !== undefined ? rollover.handleRollover(keyframe, video.first) : undefined,
  };
}

/** The NAL units an H.264 keyframe starts with (AUD, SPS, PPS, SEI) fit in a few packets. */
const KEYFRAME_HEAD_PACKETS = 8;

/**
 * mux.js's keyframe test of a video frame (its TS packets), on its first packets first: the test
 * scans NAL start codes from the front, so an IDR it finds in a prefix it finds in the whole frame;
 * only a frame with none there (not a keyframe, mostly) is joined and scanned whole, as the
 * inspector does every frame (an I-frame of a 2.5 Mbit/s stream is 100 kB or more). Returns the
 * packets joined, to read its times from as the inspector does; null when it is not a keyframe.
 */
function keyframeBytes(packets: readonly Uint8Array[]): Uint8Array | null {
  const head = Buffer.concat(packets.slice(0, KEYFRAME_HEAD_PACKETS));
  if (probe.videoPacketContainsKeyFrame(head)) return head;
  if (packets.length <= KEYFRAME_HEAD_PACKETS) return null;
  const whole = Buffer.concat(packets);
  return probe.videoPacketContainsKeyFrame(whole) ? whole : null;
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
