// HTTP-FLV at /{app}/{stream}.flv: nginx-rtmp cannot serve it, so the stack does, with one relay
// (one upstream pull) per live stream however many players watch it.
import type Koa from 'koa';
import { NotFoundError, UpstreamError } from '../../core/errors.js';
import type { Supervisor } from '../../core/process/supervisor.js';
import { checkStreamName } from '../../core/stream-names.js';
import { FlvRelay, type RelayLimits } from './flv-relay.js';

export interface FlvGatewayOptions {
  readonly ffmpeg: string;
  /** Loopback RTMP URL the pull plays a live stream from. */
  readonly playUrl: (app: string, stream: string) => string;
  readonly limits: RelayLimits;
  /**
   * The engine's answer to "is app/stream being published now?", so a missing stream is a quick
   * 404. Without it the first player waits for the pull's start timeout.
   */
  readonly isLive?: (app: string, stream: string) => boolean | Promise<boolean>;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  clientQueueBytes: 4 * 1024 * 1024,
  startTimeoutMs: 10_000,
  idleStopMs: 3000,
  stallTimeoutMs: 10_000,
};

export interface FlvStreamStats {
  app: string;
  stream: string;
  players: number;
  waiting: number;
  dropped: number;
  upstreamBytes: number;
  gopBytes: number;
}

export class FlvGateway {
  private readonly relays = new Map<string, FlvRelay>();
  /** Pulls being torn down: a new relay for the same stream waits for its name to be free. */
  private readonly closing = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly opts: FlvGatewayOptions,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
  }

  /** Ends every player and pull. */
  async stop(): Promise<void> {
    this.stopped = true;
    const relays = [...this.relays.values()];
    await Promise.all(relays.map((r) => r.close('the stack is stopping')));
    await Promise.all(this.closing.values());
  }

  list(): FlvStreamStats[] {
    return [...this.relays.values()].map((r) => r.stats());
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
    const isLive = this.opts.isLive;
    if (isLive && !(await isLive(app, stream))) throw new NotFoundError(`stream ${app}/${stream} is not live`);
    if (ctx.method === 'HEAD') {
      ctx.status = 200;
      ctx.type = 'video/x-flv';
      return;
    }
    const relay = await this.relayFor(app, stream);
    const started = await relay.join(ctx.res);
    if (started.ok || started.reason === 'gone') {
      // The relay owns the response from here (or the player left): Koa must not touch it.
      ctx.respond = false;
      return;
    }
    if (started.reason === 'timeout' && isLive) throw new UpstreamError(`stream ${app}/${stream}: ${started.message}`);
    throw new NotFoundError(`stream ${app}/${stream} is not live (${started.message})`);
  }

  private async relayFor(app: string, stream: string): Promise<FlvRelay> {
    const key = `${app}/${stream}`;
    for (;;) {
      const existing = this.relays.get(key);
      if (existing && !existing.isClosed) return existing;
      const pending = this.closing.get(key);
      if (!pending) break;
      await pending;
    }
    const relay = new FlvRelay(
      app,
      stream,
      { ffmpeg: this.opts.ffmpeg, rtmpUrl: this.opts.playUrl(app, stream) },
      this.supervisor,
      this.opts.limits,
      (closed) => {
        if (this.relays.get(key) === closed) this.relays.delete(key);
        const gone: Promise<void> = closed.done.finally(() => {
          if (this.closing.get(key) === gone) this.closing.delete(key);
        });
        this.closing.set(key, gone);
      },
    );
    this.relays.set(key, relay);
    return relay;
  }
}
