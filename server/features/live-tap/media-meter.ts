// What a live stream is made of right now, measured from the tags the live tap sees (docs/architecture.md,
// "The live tap"): its bitrate and frame rate over a recent window, and its codecs from the tags'
// first bytes. The console's Streams page and streams.query show these instead of internal ids
// (docs/compatibility.md §3.1). It also keeps what a stream's health is judged by (stream-health.ts):
// the keyframe interval, timestamp jumps, audio/video drift and a minute of bitrate.
// Pure: fed tags and a clock, so it is unit-tested.
import type { FlvTag } from '../../core/media/flv-tags.js';
import { bitrateDrop, healthWarnings, type StreamHealth } from './stream-health.js';

/** The window the bitrate and frame rate are averaged over. */
export const METER_WINDOW_MS = 10_000;
/** Per-second bytes kept to judge a bitrate drop against, and timestamp jumps counted over. */
const HISTORY_MS = 60_000;
/** A timestamp this far ahead of the last one of its kind, beyond the wall time between them, leapt. */
const LEAP_MS = 1000;
/** One bucket of the window: a second, so a reading never waits for more than one. */
const BUCKET_MS = 1000;
/**
 * Nothing is reported before a stream has flowed this long: over its first second a rate is noise
 * (an encoder's first burst, the picture starting after the sound), and 0 reads as "not known yet".
 */
export const METER_SETTLE_MS = 2000;

/** FLV's VideoTagHeader CodecID (legacy) and Enhanced RTMP's FourCC, as names people know. */
const VIDEO_CODECS: Record<number, string> = { 2: 'H.263', 4: 'VP6', 7: 'H.264', 12: 'H.265' };
const VIDEO_FOURCCS: Record<string, string> = { avc1: 'H.264', hvc1: 'H.265', av01: 'AV1', vp09: 'VP9' };
/** FLV's AudioTagHeader SoundFormat. */
const AUDIO_CODECS: Record<number, string> = { 2: 'MP3', 7: 'G.711 A-law', 8: 'G.711 µ-law', 10: 'AAC', 11: 'Speex', 14: 'MP3' };

/** The codec of a video or audio tag, '' when unknown or not a media tag. */
export function codecOf(tag: Pick<FlvTag, 'kind' | 'bytes'>): string {
  const b0 = tag.bytes[11];
  if (b0 === undefined) return '';
  if (tag.kind === 'video') {
    // Enhanced RTMP: [isExHeader:1][frameType:3][packetType:4] then a FourCC.
    if (b0 & 0x80) return VIDEO_FOURCCS[tag.bytes.toString('latin1', 12, 16)] ?? '';
    return VIDEO_CODECS[b0 & 0x0f] ?? '';
  }
  if (tag.kind === 'audio') return AUDIO_CODECS[b0 >> 4] ?? '';
  return '';
}

export interface MediaReading {
  /** Kilobits per second of media (audio, video and metadata tags) over the window; 0 before any. */
  readonly kbps: number;
  /** Video frames per second over the window, one decimal; 0 without video. */
  readonly fps: number;
  readonly videoCodec: string;
  readonly audioCodec: string;
  readonly health: StreamHealth;
}

interface Bucket {
  /** Which second (Date.now() / BUCKET_MS, floored). */
  index: number;
  bytes: number;
  frames: number;
}

/**
 * Bytes and video frames per second over the last METER_WINDOW_MS. The rate divides by the time
 * the window covers so far (a stream three seconds old is not reported at a third of its rate);
 * before METER_SETTLE_MS it is 0, unknown.
 */
export class MediaMeter {
  private readonly buckets: Bucket[] = [];
  private firstAt: number | null = null;
  private videoCodec = '';
  private audioCodec = '';
  private lastKeyframeTs: number | null = null;
  private keyframeIntervalMs = 0;
  private readonly last: Record<'audio' | 'video', { ts: number; at: number } | null> = { audio: null, video: null };
  private jumpsAt: number[] = [];

  constructor(private readonly windowMs = METER_WINDOW_MS) {}

  add(tag: Pick<FlvTag, 'kind' | 'bytes' | 'sequenceHeader' | 'timestamp' | 'keyframe'>, now: number): void {
    this.firstAt ??= now;
    const index = Math.floor(now / BUCKET_MS);
    let last = this.buckets[this.buckets.length - 1];
    if (!last || last.index !== index) {
      last = { index, bytes: 0, frames: 0 };
      this.buckets.push(last);
      this.prune(now);
    }
    last.bytes += tag.bytes.length;
    if (tag.kind === 'video' && !tag.sequenceHeader) last.frames += 1;
    // The codec from every tag is cheap and follows a publisher that changes it mid-stream.
    if (tag.kind === 'video') this.videoCodec = codecOf(tag) || this.videoCodec;
    else if (tag.kind === 'audio') this.audioCodec = codecOf(tag) || this.audioCodec;
    if ((tag.kind === 'video' || tag.kind === 'audio') && !tag.sequenceHeader) this.time(tag.kind, tag.timestamp, tag.keyframe, now);
  }

  /** Media time: keyframe spacing, jumps (back, or ahead of the wall clock), the latest of each kind. */
  private time(kind: 'audio' | 'video', ts: number, keyframe: boolean, now: number): void {
    const last = this.last[kind];
    if (last && (ts < last.ts || ts - last.ts > now - last.at + LEAP_MS)) {
      this.jumpsAt.push(now);
      this.lastKeyframeTs = null; // an interval across a jump means nothing
    }
    this.last[kind] = { ts, at: now };
    if (kind !== 'video' || !keyframe) return;
    if (this.lastKeyframeTs !== null && ts > this.lastKeyframeTs) this.keyframeIntervalMs = ts - this.lastKeyframeTs;
    this.lastKeyframeTs = ts;
  }

  private health(now: number): StreamHealth {
    this.jumpsAt = this.jumpsAt.filter((at) => now - at < HISTORY_MS);
    const { audio, video } = this.last;
    const current = Math.floor(now / BUCKET_MS);
    // Whole seconds since the first whole one the stream flowed in, oldest first, gaps as 0.
    const from = Math.max(current - HISTORY_MS / BUCKET_MS, Math.floor((this.firstAt ?? now) / BUCKET_MS) + 1);
    const bytes = new Map(this.buckets.map((b) => [b.index, b.bytes]));
    const perSecond: number[] = [];
    for (let i = from; i < current; i++) perSecond.push(bytes.get(i) ?? 0);
    const facts = {
      keyframeIntervalSeconds: this.keyframeIntervalMs / 1000,
      timestampJumps: this.jumpsAt.length,
      avDriftMs: audio && video ? audio.ts - video.ts : 0,
      bitrateDrop: bitrateDrop(perSecond),
      hasVideo: video !== null,
      hasAudio: audio !== null,
    };
    return { ...facts, warnings: healthWarnings({ ...facts, flowingMs: now - (this.firstAt ?? now) }) };
  }

  read(now: number): MediaReading {
    this.prune(now);
    let bytes = 0;
    let frames = 0;
    const first = this.windowStart(now) / BUCKET_MS;
    for (const b of this.buckets) {
      if (b.index < first) continue;
      bytes += b.bytes;
      frames += b.frames;
    }
    const settled = this.firstAt !== null && now - this.firstAt >= METER_SETTLE_MS;
    const covered = settled ? now - Math.max(this.windowStart(now), this.firstAt ?? now) : 0;
    return {
      kbps: covered ? Math.round((bytes * 8) / covered) : 0,
      fps: covered ? Math.round((frames * 10_000) / covered) / 10 : 0,
      videoCodec: this.videoCodec,
      audioCodec: this.audioCodec,
      health: this.health(now),
    };
  }

  /** The window is the current (partial) bucket and the whole ones before it: it starts on a bucket edge. */
  private windowStart(now: number): number {
    return (Math.floor(now / BUCKET_MS) - Math.max(1, Math.round(this.windowMs / BUCKET_MS)) + 1) * BUCKET_MS;
  }

  /** Drops buckets that fell out of the history (the window is its last part). */
  private prune(now: number): void {
    const first = Math.floor((now - HISTORY_MS) / BUCKET_MS);
    while (this.buckets.length && (this.buckets[0] as Bucket).index < first) this.buckets.shift();
  }
}
