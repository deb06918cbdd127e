// A live stream as one FLV byte stream that does not end when the publisher drops: for up to a
// grace period it carries the slate (slate-clip.ts) in real time, and when the publisher comes back
// it carries the live stream again, timestamps continuing, on the same output — so a destination
// fed from it (a forward's ffmpeg, -c copy) never reconnects (docs/architecture.md, "The slate").
//
// Live tags come from the live tap (core/media/live-source.ts). Each switch writes the codec
// configurations of what follows, and the first live keyframe after a slate carries its parameter
// sets in band (core/media/avc.ts), so decoders downstream switch cleanly.
import { aacConfigOf, avcConfigOf, retimed, withParameterSetsInBand } from '../../../core/media/avc.js';
import { flvHeaderOf, type FlvHeader, type FlvTag } from '../../../core/media/flv-tags.js';
import type { LiveSource, LiveSubscription } from '../../../core/media/live-source.js';
import { DropBehind } from './drop-behind.js';
import type { SlateClip, SlateFormat } from './slate-clip.js';

export type FeedState = 'waiting' | 'live' | 'slate' | 'ended';

export interface ContinuousFeedOptions {
  readonly source: LiveSource;
  readonly app: string;
  readonly stream: string;
  /** How long the slate runs after the publisher left; 0: the feed ends with the stream. */
  readonly graceMs: number;
  /** The slate for the stream's format (cached by the caller); asked once the format is known. */
  readonly slate: (format: SlateFormat) => Promise<SlateClip>;
  readonly write: (bytes: Buffer) => void;
  readonly end: (reason: string) => void;
  readonly onState?: (state: FeedState) => void;
  /** Bytes written and not yet taken by the destination (its stdin's writableLength); 0 when unknown. */
  readonly queued?: () => number;
  /** The queue bound of the drop-behind policy (drop-behind.ts). */
  readonly maxQueuedBytes?: number;
  /** The destination fell behind: media is being dropped until the next keyframe that fits. */
  readonly onLagging?: (stats: { droppedTags: number; episodes: number }) => void;
  /** Injectable for tests. */
  readonly clock?: { now(): number; every(ms: number, fn: () => void): () => void; after(ms: number, fn: () => void): () => void };
}

/** The slate is written in steps this long (it is paced in real time like a live stream). */
const SLATE_TICK_MS = 20;
const DEFAULT_FRAME_MS = 40;

const realClock = {
  now: () => Date.now(),
  every(ms: number, fn: () => void) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
  after(ms: number, fn: () => void) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** The slate's format from the live stream's configurations and timing. */
export function formatOf(configs: readonly FlvTag[], frameMs: number): SlateFormat {
  let video: SlateFormat['video'] = null;
  let audio: SlateFormat['audio'] = null;
  for (const tag of configs) {
    const v = avcConfigOf(tag);
    if (v) video = { width: v.width, height: v.height, fps: Math.max(1, Math.min(60, Math.round(1000 / frameMs))) };
    const a = aacConfigOf(tag);
    if (a) audio = { sampleRate: a.sampleRate, channels: a.channels };
  }
  return { video, audio };
}

/** The video frame interval of a run of tags (the median gap between video frames), or null. */
export function frameIntervalOf(tags: readonly FlvTag[]): number | null {
  const times = tags.filter((t) => t.kind === 'video' && !t.sequenceHeader).map((t) => t.timestamp);
  const gaps = times
    .slice(1)
    .map((t, i) => t - (times[i] as number))
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  return gaps.length ? (gaps[Math.floor(gaps.length / 2)] as number) : null;
}

export class ContinuousFeed {
  private state: FeedState = 'waiting';
  private subscription: LiveSubscription | null = null;
  private header: FlvHeader | null = null;
  /** Output time of the next tag, and the mapping of the current source onto it. */
  private nextOut = 0;
  private shift = 0;
  private sourceBase = 0;
  private frameMs = DEFAULT_FRAME_MS;
  private liveConfigs: FlvTag[] = [];
  private clip: Promise<SlateClip> | null = null;
  private format: SlateFormat | null = null;
  private injectParameterSets = false;
  private stopSlate: (() => void) | null = null;
  private stopGrace: (() => void) | null = null;
  private readonly clock: NonNullable<ContinuousFeedOptions['clock']>;
  private readonly behind: DropBehind;
  private readonly unsubscribeStart: () => void;

  constructor(private readonly opts: ContinuousFeedOptions) {
    this.clock = opts.clock ?? realClock;
    this.behind = new DropBehind(opts.maxQueuedBytes);
    this.unsubscribeStart = opts.source.onStreamStart(({ app, stream }) => {
      if (app === opts.app && stream === opts.stream && this.state === 'slate') this.subscribe();
    });
    this.subscribe();
  }

  get current(): FeedState {
    return this.state;
  }

  /** Ends the feed (the task stopped). Idempotent. */
  close(reason = 'stopped'): void {
    if (this.state === 'ended') return;
    this.setState('ended');
    this.unsubscribeStart();
    this.subscription?.close();
    this.subscription = null;
    this.stopSlate?.();
    this.stopGrace?.();
    this.opts.end(reason);
  }

  /**
   * The slate's look changed: asks for the clip again, and uses it from the next drop on once it is
   * made (until then, and if it fails, the clip the feed has stays).
   */
  renewSlate(): void {
    if (!this.format || this.state === 'ended') return;
    const next = this.opts.slate(this.format);
    next.then(
      () => {
        if (this.state !== 'ended') this.clip = next;
      },
      () => undefined,
    );
  }

  private setState(state: FeedState): void {
    this.state = state;
    this.opts.onState?.(state);
  }

  private subscribe(): void {
    let started = false;
    const subscription = this.opts.source.subscribe(this.opts.app, this.opts.stream, {
      write: (tags) => {
        if (this.subscription !== subscription) return;
        if (started) return this.writeLive(tags);
        const burst = subscription?.startTags();
        if (!burst) return;
        started = true;
        this.goLive(burst.header, burst.tags);
      },
      end: (reason) => {
        if (this.subscription === subscription) this.liveEnded(reason);
      },
    });
    this.subscription = subscription;
    if (!subscription && this.state === 'waiting') this.close('the stream is not live');
  }

  private goLive(header: FlvHeader, tags: readonly FlvTag[]): void {
    const fromSlate = this.state === 'slate';
    this.stopSlate?.();
    this.stopGrace?.();
    this.stopSlate = this.stopGrace = null;
    if (!this.header) {
      // The first header says what the output carries; a slate has the same tracks.
      this.header = flvHeaderOf(header.hasAudio, header.hasVideo);
      this.opts.write(this.header.bytes);
    }
    this.liveConfigs = tags.filter((t) => t.sequenceHeader);
    this.frameMs = frameIntervalOf(tags) ?? this.frameMs;
    if (!this.clip) {
      this.format = formatOf(this.liveConfigs, this.frameMs);
      this.clip = this.opts.slate(this.format);
      // Keep a failed encode from surfacing as an unhandled rejection; the slate reports it when needed.
      this.clip.catch(() => undefined);
    }
    this.injectParameterSets = fromSlate;
    const media = tags.filter((t) => !t.sequenceHeader && (t.kind !== 'script' || !fromSlate));
    this.sourceBase = media.find((t) => t.kind !== 'script')?.timestamp ?? 0;
    this.shift = this.nextOut;
    this.emit(this.liveConfigs.map((t) => retimed(t, this.nextOut)));
    this.setState('live');
    this.writeLive(media);
  }

  private writeLive(tags: readonly FlvTag[]): void {
    const out: FlvTag[] = [];
    for (const tag of tags) {
      if (tag.sequenceHeader) {
        // A configuration change of the live stream itself: pass it on, and remember it.
        this.liveConfigs = [...this.liveConfigs.filter((c) => c.kind !== tag.kind), tag];
      }
      out.push(retimed(tag, Math.max(this.shift, this.shift + tag.timestamp - this.sourceBase)));
    }
    this.emit(out);
  }

  /** Writes what the drop-behind policy admits; the first live keyframe after a slate gets the live SPS/PPS in band. */
  private emit(all: readonly FlvTag[]): void {
    if (!all.length || this.state === 'ended') return;
    const episodes = this.behind.episodes;
    const tags = this.behind.admit(all, this.opts.queued?.() ?? 0, this.header?.hasVideo ?? true);
    if (this.behind.episodes !== episodes) this.opts.onLagging?.(this.behind);
    if (!tags.length) return;
    const out = tags.map((t) => {
      if (!this.injectParameterSets || t.kind !== 'video' || !t.keyframe || t.sequenceHeader) return t;
      // Injected into the keyframe actually written: one the policy dropped would leave the next without them.
      this.injectParameterSets = false;
      const config = this.liveConfigs.map(avcConfigOf).find((c) => c !== null);
      return config ? withParameterSetsInBand(t, config) : t;
    });
    for (const t of out)
      if (!t.sequenceHeader) this.nextOut = Math.max(this.nextOut, t.timestamp + (t.kind === 'video' ? this.frameMs : 1));
    this.opts.write(out.length === 1 ? (out[0] as FlvTag).bytes : Buffer.concat(out.map((t) => t.bytes)));
  }

  private liveEnded(reason: string): void {
    this.subscription = null;
    if (this.state === 'ended') return;
    if (this.opts.graceMs <= 0 || !this.clip || !this.header) return this.close(`the stream ended: ${reason}`);
    // The slate's keyframes carry their own parameter sets: nothing is injected into them.
    this.injectParameterSets = false;
    this.setState('slate');
    this.stopGrace = this.clock.after(this.opts.graceMs, () =>
      this.close(`the publisher did not come back within ${this.opts.graceMs} ms`),
    );
    const clip = this.clip;
    const startOut = this.nextOut;
    const startedAt = this.clock.now();
    let sent = 0; // frames of the loop written so far
    let configsSent = false;
    void clip.then(
      (c) => {
        if (this.state !== 'slate') return;
        const tick = () => {
          if (this.state !== 'slate') return;
          const due = this.clock.now() - startedAt;
          const out: FlvTag[] = configsSent ? [] : c.configs.map((t) => retimed(t, startOut));
          configsSent = true;
          for (;;) {
            const loop = Math.floor(sent / c.frames.length);
            const frame = c.frames[sent % c.frames.length] as FlvTag;
            const at = loop * c.durationMs + frame.timestamp;
            if (at > due) break;
            out.push(retimed(frame, startOut + at));
            sent += 1;
          }
          this.emit(out);
        };
        tick();
        this.stopSlate = this.clock.every(SLATE_TICK_MS, tick);
      },
      (err: unknown) => this.close(`the slate could not be made: ${(err as Error).message}`),
    );
  }
}
