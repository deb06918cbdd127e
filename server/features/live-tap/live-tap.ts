// The live tap's streams: every live stream flows into the stack from its first frame (the engine
// pushes it to the tap's listener, tap-server.ts), and here each keeps what a consumer joining later
// needs (FLV header, metadata, codec configurations, the GOP: core/media/gop-cache.ts) and hands
// every tag to its subscribers (core/media/live-source.ts). The engine has no GOP cache, so a
// consumer pulling from it joins at the next keyframe; a subscriber here starts at once.
import { createLogger } from '../../core/logger.js';
import type { FlvHeader, FlvTag } from '../../core/media/flv-tags.js';
import { HeaderDecision } from '../../core/media/header-decision.js';
import { GopCache } from '../../core/media/gop-cache.js';
import type { LiveSink, LiveSource, LiveStreamEvent, LiveSubscription } from '../../core/media/live-source.js';
import { MediaMeter, type MediaReading } from './media-meter.js';

const log = createLogger('tap');

interface Subscriber {
  readonly sink: LiveSink;
  closed: boolean;
}

/** One stream flowing in: its cache and subscribers. Only the tap's publisher session feeds it. */
export class TapStream {
  private readonly cache: GopCache;
  private readonly decision = new HeaderDecision();
  private header: FlvHeader | null = null;
  /** Tags that came before the header was decided, replayed into the cache once it is. */
  private undecided: FlvTag[] = [];
  readonly subscribers = new Set<Subscriber>();
  ended = false;
  /** Bytes of media received (tags as FLV). */
  bytesIn = 0;
  readonly startedAt = Date.now();
  /** Bitrate, frame rate and codecs over a recent window (media-meter.ts). */
  readonly meter = new MediaMeter();

  constructor(
    readonly app: string,
    readonly stream: string,
    maxGopBytes: number,
  ) {
    this.cache = new GopCache(maxGopBytes);
  }

  get key(): string {
    return `${this.app}/${this.stream}`;
  }

  get gopBytes(): number {
    return this.cache.bytes;
  }

  startTags(): { header: FlvHeader; tags: FlvTag[] } | null {
    return this.ended ? null : this.cache.startTags();
  }

  /** Tags of one read from the engine: cached, then handed to every subscriber. */
  ingest(tags: readonly FlvTag[]): void {
    if (this.ended || !tags.length) return;
    const now = Date.now();
    for (const tag of tags) {
      this.bytesIn += tag.bytes.length;
      this.meter.add(tag, now);
      this.cacheTag(tag);
    }
    for (const sub of this.subscribers) {
      try {
        sub.sink.write(tags);
      } catch (err) {
        log.warn(`${this.key}: a subscriber failed and is dropped`, err);
        this.drop(sub, `the subscriber failed: ${(err as Error).message}`);
      }
    }
  }

  subscribe(sink: LiveSink): LiveSubscription {
    const sub: Subscriber = { sink, closed: false };
    this.subscribers.add(sub);
    return {
      app: this.app,
      stream: this.stream,
      startTags: () => (sub.closed ? null : this.startTags()),
      close: () => {
        sub.closed = true;
        this.subscribers.delete(sub);
      },
    };
  }

  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const sub of [...this.subscribers]) this.drop(sub, reason);
    this.undecided = [];
  }

  private drop(sub: Subscriber, reason: string): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subscribers.delete(sub);
    try {
      sub.sink.end(reason);
    } catch (err) {
      log.warn(`${this.key}: a subscriber failed to end`, err);
    }
  }

  private cacheTag(tag: FlvTag): void {
    if (this.header) {
      this.cache.add(tag);
      return;
    }
    this.undecided.push(tag);
    const header = this.decision.add(tag);
    if (!header) return;
    this.header = header;
    this.cache.setHeader(header);
    for (const t of this.undecided) this.cache.add(t);
    this.undecided = [];
  }
}

export interface LiveTapStats {
  app: string;
  stream: string;
  subscribers: number;
  bytesIn: number;
  gopBytes: number;
  uptimeMs: number;
}

/** The streams flowing into the stack: a LiveSource for features, fed by the tap's sessions. */
export class LiveTap implements LiveSource {
  private readonly streams = new Map<string, TapStream>();
  private readonly startListeners = new Set<(event: LiveStreamEvent) => void>();
  private readonly endListeners = new Set<(event: LiveStreamEvent & { reason: string }) => void>();

  constructor(private readonly maxGopBytes: number) {}

  has(app: string, stream: string): boolean {
    return this.streams.has(`${app}/${stream}`);
  }

  subscribe(app: string, stream: string, sink: LiveSink): LiveSubscription | null {
    return this.streams.get(`${app}/${stream}`)?.subscribe(sink) ?? null;
  }

  onStreamStart(listener: (event: LiveStreamEvent) => void): () => void {
    this.startListeners.add(listener);
    return () => this.startListeners.delete(listener);
  }

  onStreamEnd(listener: (event: LiveStreamEvent & { reason: string }) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  /** What a live stream is made of right now (bitrate, frame rate, codecs); null when it is not flowing in. */
  media(app: string, stream: string): MediaReading | null {
    return this.streams.get(`${app}/${stream}`)?.meter.read(Date.now()) ?? null;
  }

  list(): LiveTapStats[] {
    return [...this.streams.values()].map((s) => ({
      app: s.app,
      stream: s.stream,
      subscribers: s.subscribers.size,
      bytesIn: s.bytesIn,
      gopBytes: s.gopBytes,
      uptimeMs: Date.now() - s.startedAt,
    }));
  }

  /**
   * A publisher session starts a stream. A second push of the same stream replaces the first:
   * only the engine pushes here, and it pushes again only after it lost the first connection.
   */
  begin(app: string, stream: string): TapStream {
    const key = `${app}/${stream}`;
    const previous = this.streams.get(key);
    if (previous) this.finish(previous, 'the engine pushed the stream again');
    const s = new TapStream(app, stream, this.maxGopBytes);
    this.streams.set(key, s);
    log.info(`${key}: media flowing into the stack`);
    this.notify(this.startListeners, { app, stream });
    return s;
  }

  /** The session that fed `s` is gone. */
  finish(s: TapStream, reason: string): void {
    if (s.ended) return;
    s.end(reason);
    if (this.streams.get(s.key) === s) this.streams.delete(s.key);
    log.info(`${s.key}: media stopped (${reason})`);
    this.notify(this.endListeners, { app: s.app, stream: s.stream, reason });
  }

  /** Ends every stream (the stack is stopping). */
  clear(reason: string): void {
    for (const s of [...this.streams.values()]) this.finish(s, reason);
  }

  private notify<E>(listeners: Set<(event: E) => void>, event: E): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        log.warn('a live-tap listener failed', err);
      }
    }
  }
}
