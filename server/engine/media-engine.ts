// The media engine behind one interface, so the product (admission, HLS/FLV delivery, recording,
// forwarding) does not care which engine moves the packets (docs/architecture.md, "Floors"). Only
// adapters under engine/ implement it; features hold this interface, never an adapter.
import type { StreamRequest } from '../core/stream-request.js';

/** One HLS rendition the engine writes: `<root>/<app>/<stream>.m3u8` and its segments. */
export interface HlsOutput {
  readonly root: string;
  readonly fragmentSeconds: number;
  readonly windowSeconds: number;
  /**
   * URL path segment between the app and a segment file in the playlist ('' or e.g. 'n'): both
   * renditions name their segments `<stream>-<seq>.ts`, so their URLs must differ.
   */
  readonly segmentPrefix: string;
}

export interface EngineClient {
  readonly id: string;
  /** Peer address without port; '' for the engine's own relays. */
  readonly address: string;
  readonly publishing: boolean;
  /** A connection the engine made to itself (relay push/pull), never a viewer. */
  readonly relay: boolean;
  /** How long it has been connected. */
  readonly aliveMs: number;
  /** The page URL the client gave when it connected ('' for none): an edge's pull names itself there. */
  readonly pageUrl: string;
  /** Bytes received from it and sent to it. */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface EngineStream {
  readonly app: string;
  readonly stream: string;
  readonly publishing: boolean;
  /** Client id of the publisher, when publishing. */
  readonly publisherId: string | null;
  readonly clients: readonly EngineClient[];
  readonly video: { codec: string; width: number; height: number; fps: number } | null;
  readonly audio: { codec: string; sampleRate: number; channels: number } | null;
  readonly bytesIn: number;
  readonly uptimeMs: number;
}

/** The engine's HTTP hook request as it arrived, for the adapter to check and decode. */
export interface EngineHookRequest {
  readonly query: Readonly<Record<string, string | string[] | undefined>>;
  readonly contentType: string;
  readonly rawBody: string;
}

/** One stream event from the engine's hook, in the ingest-neutral shape admission takes. */
export interface EngineHookEvent {
  readonly action: 'publish' | 'unpublish' | 'play' | 'stop';
  readonly request: StreamRequest;
  /** The engine talking to itself (relay push/pull), not a user: never counted, never verified. */
  readonly relay: boolean;
}

export interface MediaEngine {
  readonly name: string;
  /** The RTMP applications users may publish to (`live`). */
  readonly apps: readonly string[];
  readonly hls: { readonly lowLatency: HlsOutput; readonly normal: HlsOutput };
  /** Stable id reported as SRS's `server_id`. */
  readonly serverId: string;
  /** The stack's HTTP path the engine posts its hook to (the route table binds it to admission). */
  readonly hookPath: string;
  /**
   * Checks the hook's per-boot token (ForbiddenError without it: nobody else may fake a publish)
   * and decodes the engine's own body into a neutral event (ValidationError when malformed).
   */
  decodeHook(request: EngineHookRequest): EngineHookEvent;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The engine process is up and its stats answer. */
  readonly isReady: boolean;
  /** Streams the engine holds right now; throws when the engine does not answer. */
  streams(): Promise<EngineStream[]>;
  /** Drops the publisher of a stream; false when nothing was publishing. */
  kickoff(app: string, stream: string): Promise<boolean>;
  /**
   * Resolves true once the engine plays the stream to consumers (its publisher registered), false
   * at the deadline or once `giveUp()` says to stop waiting (the publish already ended): an admitted
   * publish is announced only when consumers can really pull it.
   */
  untilPublishing(app: string, stream: string, timeoutMs: number, giveUp?: () => boolean): Promise<boolean>;
  /** Loopback RTMP URL to play a live stream from inside the stack (FLV gateway, recorder, forward). */
  localPlayUrl(app: string, stream: string): string;
  /** Called whenever the engine process goes down (every stream is gone with it) or becomes ready. */
  onStateChange(listener: (ready: boolean) => void): void;
}
