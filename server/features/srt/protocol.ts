// Messages between the SRT gateway's worker (libsrt, media) and the main thread (admission,
// registry, supervisor). Plain data: they cross a worker_threads port.
import type { HandshakePolicy } from './handshake.js';
import type { SrtMode } from './streamid.js';

export interface GatewayOptions {
  /** IPv4 address the UDP listener binds. */
  readonly host: string;
  readonly port: number;
  /** SRTO_LATENCY, ms. */
  readonly latencyMs: number;
  /** SRTO_PASSPHRASE ('' = no encryption). */
  readonly passphrase: string;
  /** Where the per-bridge unix sockets go. */
  readonly socketDir: string;
  /** Sonames to try (tests point it at a missing one). */
  readonly libraries?: readonly string[];
}

/** One accepted SRT connection, as the main thread sees it. */
export interface ConnInfo {
  readonly id: number;
  readonly mode: SrtMode;
  readonly app: string;
  readonly stream: string;
  readonly param: string;
  readonly host: string;
  readonly peer: { readonly ip: string; readonly port: number };
}

export type ToWorker =
  | { readonly type: 'policy'; readonly policy: HandshakePolicy }
  /** Drop a caller (veto, kickoff, bridge failure, stream ended). */
  | { readonly type: 'close'; readonly id: number; readonly why: string }
  /** A player passed play authentication: it gets media from now on. */
  | { readonly type: 'admit'; readonly id: number }
  /** A player feed's ffmpeg is gone: its players end. */
  | { readonly type: 'feed-gone'; readonly feedId: number; readonly why: string }
  | { readonly type: 'stats'; readonly reqId: number }
  | { readonly type: 'stop' };

export interface WorkerStats {
  readonly handshakes: { readonly calls: number; readonly rejected: number; readonly avgUs: number; readonly maxUs: number };
  readonly connections: ReadonlyArray<ConnInfo & { readonly state: string; readonly bytes: number; readonly since: string }>;
  readonly feeds: ReadonlyArray<{
    readonly id: number;
    readonly key: string;
    readonly players: number;
    readonly bytes: number;
    readonly drops: number;
  }>;
}

export type FromWorker =
  | { readonly type: 'ready'; readonly library: string; readonly version: string }
  /** libsrt cannot be loaded: SRT is off, the rest of the stack runs. */
  | { readonly type: 'unavailable'; readonly reason: string }
  /** libsrt loaded but the listener could not start (port in use…). */
  | { readonly type: 'failed'; readonly reason: string }
  | { readonly type: 'log'; readonly level: 'info' | 'warn'; readonly message: string }
  | { readonly type: 'rejected'; readonly streamid: string; readonly code: number; readonly reason: string; readonly peer: string }
  /** A publisher's program is known and carriable: admit it, then bridge from `input` (a unix socket). */
  | { readonly type: 'publish'; readonly conn: ConnInfo; readonly codecs: string[]; readonly input: string }
  /** A publisher was dropped after accept for a reason it should hear about (codec, no TS). */
  | { readonly type: 'refused'; readonly conn: ConnInfo; readonly reason: string }
  /** A player joined; `feed.fresh`: start the feed's ffmpeg writing to `feed.output`. */
  | {
      readonly type: 'play';
      readonly conn: ConnInfo;
      readonly feed: { readonly id: number; readonly output: string; readonly fresh: boolean };
    }
  | { readonly type: 'closed'; readonly conn: ConnInfo; readonly why: string; readonly bytes: number }
  /** A feed lost its last player: stop its ffmpeg. */
  | { readonly type: 'feed-idle'; readonly feedId: number }
  | ({ readonly type: 'stats'; readonly reqId: number } & WorkerStats)
  | { readonly type: 'stopped' };
