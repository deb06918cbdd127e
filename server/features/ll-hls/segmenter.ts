// One live stream cut into LL-HLS media: fed the stream's FLV header and tags, it keeps an fMP4 init
// segment, a sliding window of segments (cut at video keyframes) and, inside each, parts of about
// PART-TARGET seconds (cut anywhere: a part holds whole frames, not whole GOPs). No timers, no I/O:
// the caller feeds tags and reads the state; `onChange` hears every new part, segment and end.
//
// Timestamps: FLV gives milliseconds (decode time, plus a composition offset on AVC tags). Video
// goes to 90 kHz exactly (ms × 90). Audio goes to its sample rate, counted in whole AAC frames
// (1024 samples) from the first one so rounding of the millisecond stamps never accumulates; it is
// re-anchored on the FLV stamp when the two drift apart by more than a frame (an encoder's gap).
import type { FlvHeader, FlvTag } from '../../core/media/flv-tags.js';
import type { PlaylistView } from './playlist.js';
import {
  AAC_FRAME_SAMPLES,
  VIDEO_TIMESCALE,
  avcCompositionTime,
  fragment,
  initSegment,
  isAacTag,
  isAvcTag,
  parseAudioSpecificConfig,
  parseAvcConfig,
  tagData,
  type AudioConfig,
  type TrackSample,
  type VideoConfig,
} from '../../core/media/fmp4.js';

export interface SegmenterOptions {
  /** PART-TARGET, seconds: no part is longer (with regular frame durations). */
  readonly partTargetS: number;
  /** Complete segments kept (and listed); older ones are dropped with their bytes. */
  readonly windowSegments: number;
  /** A keyframe cuts a segment only once it is this long (an all-intra stream still gets segments). */
  readonly minSegmentS: number;
  /** Audio-only streams, and video whose keyframes never come: segment length. */
  readonly audioSegmentS: number;
  /** A stream announced with audio whose AAC configuration has not come: start without audio after this long of video. */
  readonly audioWaitMs: number;
  /**
   * Before the target duration is fixed: keyframes that do not come (a 20 s GOP) still get a
   * segment, cut at a part boundary after this long.
   */
  readonly maxSegmentS: number;
  /** The target duration is never below this (seconds), whatever the first GOP. */
  readonly minTargetS: number;
  /** Wall clock (ms since the epoch) for EXT-X-PROGRAM-DATE-TIME. */
  readonly now: () => number;
}

export const DEFAULT_SEGMENTER_OPTIONS: SegmenterOptions = {
  partTargetS: 0.334,
  windowSegments: 6,
  minSegmentS: 1,
  audioSegmentS: 2,
  audioWaitMs: 1000,
  maxSegmentS: 10,
  minTargetS: 2,
  now: () => Date.now(),
};

export interface Part {
  readonly index: number;
  /** Seconds. */
  readonly duration: number;
  /** Starts with a video keyframe (or the stream has no video). */
  readonly independent: boolean;
  readonly bytes: Buffer;
}

export interface Segment {
  readonly msn: number;
  readonly parts: Part[];
  /** Seconds: sum of its parts. */
  duration: number;
  complete: boolean;
  /** Wall clock of its first sample, ms since the epoch. */
  readonly programDateTime: number;
  /** Which init segment decodes it. */
  readonly initId: number;
  /** A new init segment (codec configuration change) starts here. */
  readonly discontinuity: boolean;
  /** The whole segment (its parts back to back), once complete. */
  bytes: Buffer | null;
}

export type SegmenterEvent = 'part' | 'segment' | 'end';

interface PendingVideo {
  readonly dts: number; // ms
  readonly cts: number; // ms
  readonly keyframe: boolean;
  readonly data: Buffer;
}

interface QueuedAudio {
  readonly time: number; // sample-rate ticks
  readonly data: Buffer;
}

interface OpenPart {
  video: TrackSample[];
  videoStart: number; // 90 kHz
  videoTicks: number;
  audio: QueuedAudio[];
  independent: boolean;
}

export class LlHlsSegmenter {
  private header: FlvHeader | null = null;
  private videoConfig: VideoConfig | null = null;
  private audioConfig: AudioConfig | null = null;
  /** The configurations the current init segment was built from. */
  private active: { video: VideoConfig | null; audio: AudioConfig | null } | null = null;
  private initBytes: Buffer | null = null;
  private initCounter = 0;
  private pendingDiscontinuity = false;
  private readonly segmentList: Segment[] = [];
  private nextMsn = 0;
  private droppedDiscontinuities = 0;
  private moofSequence = 1;
  private pendingVideo: PendingVideo | null = null;
  private lastVideoTicks = 3600; // 40 ms until a real duration is known
  private audioQueue: QueuedAudio[] = [];
  private audioNext: number | null = null; // next AAC frame's time, sample-rate ticks
  private firstVideoMs: number | null = null;
  private part: OpenPart | null = null;
  private wallAnchor: { wall: number; ms: number } | null = null;
  private ended = false;
  private endReason = '';
  /** EXT-X-TARGETDURATION, fixed by the first complete segment (the spec forbids changing it). */
  private fixedTarget: number | null = null;
  private readonly listeners = new Set<(event: SegmenterEvent) => void>();

  constructor(private readonly opts: SegmenterOptions = DEFAULT_SEGMENTER_OPTIONS) {}

  // ---- state for the playlist and the files

  get segments(): readonly Segment[] {
    return this.segmentList;
  }

  get init(): { id: number; bytes: Buffer } | null {
    return this.initBytes ? { id: this.initCounter, bytes: this.initBytes } : null;
  }

  /** Init segments of the window: an old one stays readable while segments that need it are listed. */
  initFor(id: number): Buffer | null {
    return id === this.initCounter ? this.initBytes : (this.oldInits.get(id) ?? null);
  }

  private readonly oldInits = new Map<number, Buffer>();

  get isEnded(): boolean {
    return this.ended;
  }

  get endedBecause(): string {
    return this.endReason;
  }

  get discontinuitySequence(): number {
    return this.droppedDiscontinuities;
  }

  /**
   * EXT-X-TARGETDURATION: the first segment's duration (one GOP) rounded to the nearest second, as
   * the spec compares EXTINF with it, and at least minTargetS. It MUST NOT change (RFC 8216bis
   * §6.2.1), so a later, longer GOP is cut at a part boundary instead (see segmentLimit).
   */
  get targetDuration(): number {
    return this.fixedTarget ?? this.opts.minTargetS;
  }

  /** How long a segment may grow: its EXTINF, rounded, must stay within the target duration. */
  private segmentLimit(): number {
    return this.fixedTarget === null ? this.opts.maxSegmentS : this.fixedTarget + 0.5;
  }

  /** After a part closed: would one more part make the open segment too long? Then cut it here. */
  private cutIfFull(): void {
    if (this.part) return;
    if (this.openSegmentDuration() + this.opts.partTargetS >= this.segmentLimit()) this.closeSegment();
  }

  /** At least one segment is complete: the target duration means something. */
  get hasCompleteSegment(): boolean {
    return this.segmentList.some((s) => s.complete);
  }

  get partTarget(): number {
    return this.opts.partTargetS;
  }

  get hasVideo(): boolean {
    return !!this.active?.video;
  }

  /** Codecs of the current init segment (RFC 6381), for a variant playlist's CODECS. */
  get codecs(): string[] {
    return [this.active?.video?.codec, this.active?.audio?.codec].filter((c): c is string => !!c);
  }

  /** What the playlist and the blocking rules read (playlist.ts). */
  view(): PlaylistView {
    return {
      segments: this.segmentList,
      targetDuration: this.targetDuration,
      partTarget: this.opts.partTargetS,
      discontinuitySequence: this.droppedDiscontinuities,
      ended: this.ended,
    };
  }

  onChange(listener: (event: SegmenterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- input

  setHeader(header: FlvHeader): void {
    this.header = header;
  }

  push(tags: readonly FlvTag[]): void {
    for (const tag of tags) if (!this.ended) this.pushTag(tag);
  }

  /** The stream ended: the open part and segment are closed, the playlist gets its ENDLIST. */
  end(reason: string): void {
    if (this.ended) return;
    this.flushVideo(null);
    this.closePart(Infinity);
    this.closeSegment();
    this.ended = true;
    this.endReason = reason;
    this.emit('end');
  }

  private pushTag(tag: FlvTag): void {
    if (tag.kind === 'script') return;
    const data = tagData(tag.bytes);
    if (tag.kind === 'video') {
      if (!isAvcTag(data)) return; // HEVC / Enhanced RTMP: not written (classic HLS has it)
      if (tag.sequenceHeader) {
        const config = parseAvcConfig(data.subarray(5));
        if (!this.videoConfig?.raw.equals(config.raw)) this.videoConfig = config;
        return;
      }
      if (data[1] !== 1) return; // AVC end of sequence
      this.onVideo({ dts: tag.timestamp, cts: avcCompositionTime(data), keyframe: tag.keyframe, data: data.subarray(5) });
      return;
    }
    if (!isAacTag(data)) return; // MP3, G.711…: not in fMP4 here
    if (tag.sequenceHeader) {
      const config = parseAudioSpecificConfig(data.subarray(2));
      if (!this.audioConfig?.raw.equals(config.raw)) this.audioConfig = config;
      return;
    }
    this.onAudio(tag.timestamp, data.subarray(2));
  }

  /** Builds a new init segment when the configurations differ from the active ones. */
  private ensureInit(withVideo: boolean): boolean {
    const video = withVideo ? this.videoConfig : null;
    const audio = this.audioConfig;
    const a = this.active;
    if (a && a.video === video && a.audio === audio) return true;
    if (!video && !audio) return false;
    if (a) {
      // A new decoder configuration: what is open ends here, the next segment starts over.
      this.flushVideo(null);
      this.closePart(Infinity);
      this.closeSegment();
      if (this.initBytes) this.oldInits.set(this.initCounter, this.initBytes);
      this.pendingDiscontinuity = true;
    }
    this.active = { video, audio };
    this.initBytes = initSegment({ video, audio });
    this.initCounter += 1;
    this.audioNext = null;
    this.audioQueue = [];
    return true;
  }

  private onVideo(frame: PendingVideo): void {
    const started = this.active?.video !== undefined && this.active.video !== null;
    if (!this.videoConfig) return;
    if (!started || this.videoConfig !== this.active?.video) {
      if (!frame.keyframe) return; // a decoder starts at a keyframe
      this.firstVideoMs ??= frame.dts;
      const waitAudio = this.header?.hasAudio && !this.audioConfig && frame.dts - this.firstVideoMs < this.opts.audioWaitMs;
      if (waitAudio) return;
      this.ensureInit(true);
    }
    this.wallAnchor ??= { wall: this.opts.now(), ms: frame.dts };
    this.flushVideo(frame);
    this.pendingVideo = frame;
  }

  /** Commits the pending frame now that the next one (or the end) tells its duration. */
  private flushVideo(next: PendingVideo | null): void {
    const prev = this.pendingVideo;
    if (!prev) return;
    this.pendingVideo = null;
    let ticks = next ? (next.dts - prev.dts) * 90 : this.lastVideoTicks;
    if (ticks <= 0) ticks = this.lastVideoTicks;
    this.lastVideoTicks = ticks;
    const cutSegment = prev.keyframe && this.shouldCutAtKeyframe();
    if (cutSegment) {
      this.closePart(prev.dts * 90);
      this.closeSegment();
    }
    const part = this.openPart(prev.dts * 90);
    if (!part.video.length) part.independent = prev.keyframe;
    part.video.push({ data: prev.data, duration: ticks, compositionOffset: prev.cts * 90, keyframe: prev.keyframe });
    part.videoTicks += ticks;
    // Close when one more frame of this length would overrun the target.
    if ((part.videoTicks + ticks) / VIDEO_TIMESCALE > this.opts.partTargetS) this.closePart(part.videoStart + part.videoTicks);
    this.cutIfFull();
  }

  private onAudio(ms: number, frame: Buffer): void {
    // A stream that announces video (or has sent its configuration) starts at its first keyframe.
    const expectVideo = this.header ? this.header.hasVideo : !!this.videoConfig;
    if (!this.active) {
      if (expectVideo) return;
      if (!this.ensureInit(false)) return;
    } else if (!this.active.audio) {
      return; // started without audio (its configuration came too late)
    } else if (this.audioConfig !== this.active.audio) {
      if (!this.ensureInit(this.active.video !== null)) return;
    }
    const config = this.active?.audio;
    if (!config) return;
    this.wallAnchor ??= { wall: this.opts.now(), ms };
    const stamped = Math.round((ms * config.sampleRate) / 1000);
    if (this.audioNext === null || Math.abs(stamped - this.audioNext) > AAC_FRAME_SAMPLES) this.audioNext = stamped;
    const time = this.audioNext;
    this.audioNext += AAC_FRAME_SAMPLES;
    if (this.active?.video) {
      // Video drives the cuts; audio waits in a queue for the part its time falls in. Before the
      // first video frame there is nothing to align with: audio earlier than it is dropped.
      if (!this.part && !this.segmentList.length) return;
      this.audioQueue.push({ time, data: frame });
      this.boundAudioQueue(config.sampleRate);
      return;
    }
    // Audio only: every frame is a start point; cut parts and segments on audio time.
    const part = this.openPart(0);
    part.audio.push({ time, data: frame });
    const seconds = (part.audio.length * AAC_FRAME_SAMPLES) / config.sampleRate;
    if (seconds + AAC_FRAME_SAMPLES / config.sampleRate > this.opts.partTargetS) {
      this.closePart(Infinity);
      if (this.openSegmentDuration() + AAC_FRAME_SAMPLES / config.sampleRate / 2 >= this.opts.audioSegmentS) this.closeSegment();
    }
  }

  /** Ten seconds of audio with no video to go with it: the oldest goes. */
  private boundAudioQueue(rate: number): void {
    const max = Math.ceil((10 * rate) / AAC_FRAME_SAMPLES);
    if (this.audioQueue.length > max) this.audioQueue.splice(0, this.audioQueue.length - max);
  }

  private shouldCutAtKeyframe(): boolean {
    const open = this.segmentList.at(-1);
    if (!open || open.complete) return false;
    return this.openSegmentDuration() + (this.part ? this.part.videoTicks / VIDEO_TIMESCALE : 0) >= this.opts.minSegmentS;
  }

  private openSegmentDuration(): number {
    const open = this.segmentList.at(-1);
    return open && !open.complete ? open.duration : 0;
  }

  private openPart(videoStart: number): OpenPart {
    if (!this.part) {
      this.part = { video: [], videoStart, videoTicks: 0, audio: [], independent: !this.active?.video };
      const open = this.segmentList.at(-1);
      if (!open || open.complete) this.openSegment(videoStart);
    }
    return this.part;
  }

  private openSegment(videoStart: number): void {
    const anchor = this.wallAnchor ?? { wall: this.opts.now(), ms: 0 };
    const pdt = this.active?.video ? anchor.wall + (videoStart / 90 - anchor.ms) : this.audioWall(anchor);
    this.segmentList.push({
      msn: this.nextMsn++,
      parts: [],
      duration: 0,
      complete: false,
      programDateTime: pdt,
      initId: this.initCounter,
      discontinuity: this.pendingDiscontinuity,
      bytes: null,
    });
    this.pendingDiscontinuity = false;
  }

  /** Audio-only: the wall time of the next audio frame (the one about to open this segment). */
  private audioWall(anchor: { wall: number; ms: number }): number {
    const config = this.active?.audio;
    if (!config || this.audioNext === null) return anchor.wall;
    const ms = ((this.audioNext - AAC_FRAME_SAMPLES) * 1000) / config.sampleRate;
    return anchor.wall + (ms - anchor.ms);
  }

  /** Ends the open part; with video, audio queued before `videoEnd` (90 kHz) goes into it. */
  private closePart(videoEnd: number): void {
    const part = this.part;
    if (!part) return;
    const config = this.active?.audio;
    if (this.active?.video && config) {
      const endTicks = videoEnd === Infinity ? Infinity : (videoEnd / VIDEO_TIMESCALE) * config.sampleRate;
      let n = 0;
      while (n < this.audioQueue.length && (this.audioQueue[n] as QueuedAudio).time < endTicks) n += 1;
      part.audio = this.audioQueue.splice(0, n);
    }
    this.part = null;
    const chunks: Buffer[] = [];
    const configs = { video: this.active?.video ?? null, audio: config ?? null };
    if (part.video.length) chunks.push(fragment('video', configs, this.moofSequence++, part.videoStart, part.video));
    if (part.audio.length && config) {
      const samples = part.audio.map((a) => ({ data: a.data, duration: AAC_FRAME_SAMPLES, compositionOffset: 0, keyframe: true }));
      chunks.push(fragment('audio', configs, this.moofSequence++, (part.audio[0] as QueuedAudio).time, samples));
    }
    if (!chunks.length) return;
    const duration = part.video.length
      ? part.videoTicks / VIDEO_TIMESCALE
      : (part.audio.length * AAC_FRAME_SAMPLES) / (config?.sampleRate ?? 1);
    const segment = this.segmentList.at(-1) as Segment;
    segment.parts.push({ index: segment.parts.length, duration, independent: part.independent, bytes: Buffer.concat(chunks) });
    segment.duration += duration;
    this.emit('part');
  }

  private closeSegment(): void {
    const open = this.segmentList.at(-1);
    if (!open || open.complete) return;
    if (!open.parts.length) {
      this.segmentList.pop();
      this.nextMsn -= 1;
      if (open.discontinuity) this.pendingDiscontinuity = true;
      return;
    }
    open.complete = true;
    const bytes = Buffer.concat(open.parts.map((p) => p.bytes));
    open.bytes = bytes;
    // The parts become views into the segment: the window holds each byte once.
    let offset = 0;
    open.parts.forEach((p, i) => {
      open.parts[i] = { ...p, bytes: bytes.subarray(offset, (offset += p.bytes.length)) };
    });
    this.fixedTarget ??= Math.max(this.opts.minTargetS, Math.round(open.duration));
    const complete = this.segmentList.filter((s) => s.complete).length;
    for (let extra = complete - this.opts.windowSegments; extra > 0; extra--) {
      const dropped = this.segmentList.shift() as Segment;
      if (dropped.discontinuity) this.droppedDiscontinuities += 1;
    }
    const first = this.segmentList[0];
    for (const id of this.oldInits.keys()) if (!first || id < first.initId) this.oldInits.delete(id);
    this.emit('segment');
  }

  private emit(event: SegmenterEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
}
