// What a feature reads a live stream through, tag by tag, inside the stack process (the live tap
// implements it: features/live-tap/). Features depend on this interface, never on the tap, so the
// FLV gateway, the LL-HLS muxer and later consumers are wired in app.ts only.
//
// Every call is synchronous on the stack's one thread: a sink sees the tags in the order the
// engine sent them, and a burst taken with `startTags()` is followed by exactly the tags after it.
import type { FlvHeader, FlvTag } from './flv-tags.js';

export interface LiveSink {
  /**
   * Tags as they arrive, in order; one call per read from the engine (often an audio and a video
   * frame together), so a fan-out can write them with one syscall per player. Must not block or
   * throw: a sink that throws is unsubscribed (its `end` is called).
   */
  write(tags: readonly FlvTag[]): void;
  /** The stream ended (the publisher left) or this subscription was dropped. Nothing follows. */
  end(reason: string): void;
}

export interface LiveSubscription {
  readonly app: string;
  readonly stream: string;
  /**
   * The start burst for a consumer joining now: FLV header (hasAudio/hasVideo from what arrived),
   * metadata, codec configurations and the GOP from its keyframe. null until the stream has a
   * keyframe (or, audio only, its first frames); then every later tag arrives through the sink.
   */
  startTags(): { header: FlvHeader; tags: FlvTag[] } | null;
  /** Stops delivery; idempotent. */
  close(): void;
}

export interface LiveStreamEvent {
  readonly app: string;
  readonly stream: string;
}

export interface LiveSource {
  /** The stream's media is flowing into the stack right now. */
  has(app: string, stream: string): boolean;
  /**
   * Subscribes to a stream that is flowing now (null otherwise). A subscriber that subscribes in
   * `onStreamStart` sees every tag from the stream's first.
   */
  subscribe(app: string, stream: string, sink: LiveSink): LiveSubscription | null;
  /** Called when a stream's media starts flowing, before its first tag; returns an unsubscribe. */
  onStreamStart(listener: (event: LiveStreamEvent) => void): () => void;
  /** Called once a stream's media stopped, after every subscriber's `end`; returns an unsubscribe. */
  onStreamEnd(listener: (event: LiveStreamEvent & { reason: string }) => void): () => void;
}
