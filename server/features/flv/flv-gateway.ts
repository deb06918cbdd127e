// HTTP-FLV at /{app}/{stream}.flv: nginx-rtmp cannot serve it, so the stack does, from the stream
// as it flows into the stack (the live tap, a LiveSource): one subscription per watched stream
// however many players watch it, no process per stream, and the tap's GOP cache starts a player
// on a keyframe at once.
import crypto from 'node:crypto';
import type Koa from 'koa';
import { NotFoundError, UpstreamError } from '../../core/errors.js';
import { registerSecret } from '../../core/logger.js';
import { secretsEqual } from '../../core/secrets.js';
import type { LiveSource } from '../../core/media/live-source.js';
import { checkStreamName } from '../../core/stream-names.js';
import { FlvRelay, type RelayLimits } from './flv-relay.js';

export interface FlvGatewayOptions {
  /** Where live streams are read: the live tap. */
  readonly source: LiveSource;
  readonly limits: RelayLimits;
  /**
   * The registry's answer to "is app/stream being published now?", so a missing stream is a quick
   * 404 and a stream admitted a moment ago waits for its media to reach the stack.
   */
  readonly isLive: (app: string, stream: string) => boolean | Promise<boolean>;
  /** This stack's HTTP origin as seen from this host (e.g. http://127.0.0.1:2022), for internalUrl. */
  readonly loopbackOrigin: string;
  /**
   * Play authentication (features/play-auth): admits a player or throws (403), before anything is
   * said about the stream; resolves to what to call when the player leaves. The stack's own
   * consumers (internalUrl) are never asked.
   */
  readonly admit?: (ctx: Koa.Context, app: string, stream: string) => Promise<() => void>;
}

/**
 * The header an edge's pull names itself with (features/edge/origin-pull.ts): the origin lists its
 * edges' pulls (edgePulls, SRS API clients) instead of counting them as anonymous players only.
 */
export const EDGE_HEADER = 'X-SRS-Edge';
const EDGE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** An edge pulling a stream from this stack over HTTP-FLV (docs/architecture.md#edges). */
export interface EdgePull {
  readonly id: string;
  readonly app: string;
  readonly stream: string;
  /** The edge's name (its host name). */
  readonly edge: string;
  readonly address: string;
  readonly since: number;
}

/** The query key that marks one of the stack's own consumers (internalUrl). */
const INTERNAL_PARAM = 'consumer';

/** How often a player waiting for a stream's media checks that the stream is still live. */
const FLOWING_POLL_MS = 50;

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  clientQueueBytes: 4 * 1024 * 1024,
  startTimeoutMs: 10_000,
  idleStopMs: 3000,
};

export interface FlvStreamStats {
  app: string;
  stream: string;
  players: number;
  /** The stack's own consumers (internalUrl), not counted as players. */
  internal: number;
  waiting: number;
  dropped: number;
  upstreamBytes: number;
}

export class FlvGateway {
  private readonly relays = new Map<string, FlvRelay>();
  private readonly edges = new Set<EdgePull>();
  private stopped = false;
  /** Per boot: only the stack's own consumers know it, so only they are left out of the viewers. */
  private readonly internalToken = crypto.randomBytes(16).toString('hex');

  constructor(private readonly opts: FlvGatewayOptions) {
    registerSecret(this.internalToken);
  }

  /**
   * HTTP-FLV URL of a live stream for one of the stack's own consumers (an ffmpeg task reading
   * the stream with its GOP cache): on loopback, and not counted as a viewer.
   */
  internalUrl(app: string, stream: string): string {
    return `${this.opts.loopbackOrigin}/${encodeURIComponent(app)}/${encodeURIComponent(stream)}.flv?${INTERNAL_PARAM}=${this.internalToken}`;
  }

  async start(): Promise<void> {
    this.stopped = false;
  }

  /** Ends every player. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const relay of [...this.relays.values()]) relay.close('the stack is stopping');
  }

  list(): FlvStreamStats[] {
    return [...this.relays.values()].map((r) => r.stats());
  }

  /** Edges pulling a stream from this stack right now (each also counts as one player). */
  edgePulls(): EdgePull[] {
    return [...this.edges];
  }

  /** HTTP-FLV players of app/stream right now. */
  players(app: string, stream: string): number {
    return this.relays.get(`${app}/${stream}`)?.stats().players ?? 0;
  }

  /** Koa handler body for GET/HEAD /{app}/{stream}.flv. */
  async serve(ctx: Koa.Context, app: string, stream: string): Promise<void> {
    checkStreamName('app', app);
    checkStreamName('stream', stream);
    if (this.stopped) throw new NotFoundError('the stack is stopping');
    const consumer = ctx.query[INTERNAL_PARAM];
    const internal = typeof consumer === 'string' && secretsEqual(consumer, this.internalToken);
    const left = !internal && this.opts.admit ? await this.opts.admit(ctx, app, stream) : null;
    if (left) ctx.res.once('close', left);
    if (!(await this.opts.isLive(app, stream))) throw new NotFoundError(`stream ${app}/${stream} is not live`);
    if (ctx.method === 'HEAD') {
      ctx.status = 200;
      ctx.type = 'video/x-flv';
      return;
    }
    const flowing = await this.untilFlowing(app, stream, this.opts.limits.startTimeoutMs);
    if (flowing === 'gone') throw new NotFoundError(`stream ${app}/${stream} is not live`);
    if (flowing === 'timeout') {
      throw new UpstreamError(`stream ${app}/${stream}: its media did not reach the stack within ${this.opts.limits.startTimeoutMs} ms`);
    }
    const relay = this.relayFor(app, stream);
    const started = await relay.join(ctx.res, internal);
    if (started.ok || started.reason === 'gone') {
      // The relay owns the response from here (or the player left): Koa must not touch it.
      ctx.respond = false;
      const edge = ctx.get(EDGE_HEADER);
      if (started.ok && EDGE_NAME.test(edge)) {
        const pull: EdgePull = { id: crypto.randomBytes(4).toString('hex'), app, stream, edge, address: ctx.ip, since: Date.now() };
        this.edges.add(pull);
        ctx.res.once('close', () => this.edges.delete(pull));
      }
      return;
    }
    if (started.reason === 'timeout') throw new UpstreamError(`stream ${app}/${stream}: ${started.message}`);
    throw new NotFoundError(`stream ${app}/${stream} is not live (${started.message})`);
  }

  /**
   * The registry counts a stream live once admitted; its media reaches the stack a moment later
   * (the engine pushes it once it accepted the publish). At the end it is the other way round: the
   * media stops before the engine's unpublish reaches the registry. So wait while the registry
   * still says live: 'flowing', 'gone' (no longer live) or 'timeout'.
   */
  private async untilFlowing(app: string, stream: string, timeoutMs: number): Promise<'flowing' | 'gone' | 'timeout'> {
    const { source, isLive } = this.opts;
    const deadline = Date.now() + timeoutMs;
    let started = false;
    const unsubscribe = source.onStreamStart((e) => {
      if (e.app === app && e.stream === stream) started = true;
    });
    try {
      for (;;) {
        if (started || source.has(app, stream)) return 'flowing';
        if (!(await isLive(app, stream))) return 'gone';
        if (Date.now() >= deadline) return 'timeout';
        await new Promise((resolve) => setTimeout(resolve, FLOWING_POLL_MS));
      }
    } finally {
      unsubscribe();
    }
  }

  private relayFor(app: string, stream: string): FlvRelay {
    const key = `${app}/${stream}`;
    const existing = this.relays.get(key);
    if (existing && !existing.isClosed) return existing;
    const relay = new FlvRelay(
      app,
      stream,
      (r) => this.opts.source.subscribe(app, stream, { write: (tags) => r.write(tags), end: (reason) => r.close(reason) }),
      this.opts.limits,
      (closed) => {
        if (this.relays.get(key) === closed) this.relays.delete(key);
      },
    );
    if (!relay.isClosed) this.relays.set(key, relay);
    return relay;
  }
}
