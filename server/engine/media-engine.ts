// The media engine behind one interface, so the product (publish auth, HLS/FLV delivery, recording,
// forwarding) does not care whether nginx-rtmp or, later, SRS moves the packets. Capability flags
// let the console hide or explain what the running engine lacks.

export interface EngineCapabilities {
  /** The engine serves `/{app}/{stream}.flv` itself (SRS does; nginx-rtmp does not). */
  readonly httpFlv: boolean;
  readonly webrtc: boolean;
  readonly srt: boolean;
  /** The engine reports finished HLS segments itself (SRS `on_hls`); otherwise the stack watches the directory. */
  readonly nativeOnHls: boolean;
}

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

/** A stream event from the engine, normalised to SRS's hook vocabulary (reference §3.2). */
export interface EngineCallback {
  readonly action: 'on_publish' | 'on_unpublish' | 'on_play' | 'on_stop';
  readonly vhost: string;
  readonly app: string;
  readonly stream: string;
  /** SRS-style query of the publish/play URL: `?secret=…` or ''. */
  readonly param: string;
  readonly client_id: string;
  readonly ip: string;
  readonly tcUrl: string;
  /** The engine talking to itself (relay), not a user: never counted, never verified. */
  readonly relay: boolean;
}

export const DEFAULT_VHOST = '__defaultVhost__';

export interface MediaEngine {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  /** The RTMP applications users may publish to (`live`). */
  readonly apps: readonly string[];
  readonly hls: { readonly lowLatency: HlsOutput; readonly normal: HlsOutput };
  /** Stable id reported as SRS's `server_id`. */
  readonly serverId: string;
  /** Shared secret the engine sends with every callback, so nobody else can fake one. */
  readonly callbackToken: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The engine process is up and its stats answer. */
  readonly isReady: boolean;
  /** Streams the engine holds right now; throws when the engine does not answer. */
  streams(): Promise<EngineStream[]>;
  /** Drops the publisher of a stream; false when nothing was publishing. */
  kickoff(app: string, stream: string): Promise<boolean>;
  /** Loopback RTMP URL to play a live stream from inside the stack (FLV gateway, recorder, forward). */
  localPlayUrl(app: string, stream: string): string;
  /** Called whenever the engine process goes down (every stream is gone with it) or becomes ready. */
  onStateChange(listener: (ready: boolean) => void): void;
}
