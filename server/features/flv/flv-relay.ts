// One live stream's HTTP-FLV fan-out: one subscription to the stream inside the stack (the live
// tap, core/media/live-source.ts), whose GOP cache starts every player on a keyframe at once, and
// every HTTP player gets the same bytes. Players that cannot keep up are dropped, so memory per
// player is bounded by the queue limit whatever the player does.
import type http from 'node:http';
import { createLogger } from '../../core/logger.js';
import type { FlvTag } from '../../core/media/flv-tags.js';
import type { LiveSubscription } from '../../core/media/live-source.js';

const log = createLogger('flv');

/**
 * Tags are written to players when a video frame arrives (with the audio before it), or at the
 * latest this long after the first unwritten tag (audio only). Why: each write to each player is
 * a syscall and most of the fan-out's CPU; the engine hands on audio and video frames one by one,
 * about 70 a second, and this makes it 25 (one per frame) for at most a frame's delay on audio.
 */
export const FLUSH_AFTER_MS = 40;

export interface RelayLimits {
  /** Bytes a player may fall behind (beyond its start burst) before it is dropped. */
  readonly clientQueueBytes: number;
  /** How long a player waits for the stream's first keyframe (a stream that just started). */
  readonly startTimeoutMs: number;
  /** How long the subscription lingers after the last player left (a reload reconnects at once). */
  readonly idleStopMs: number;
}

export type StartResult = { ok: true } | { ok: false; reason: 'timeout' | 'closed' | 'gone'; message: string };

interface Player {
  readonly res: http.ServerResponse;
  /** One of the stack's own consumers (internalUrl): not a viewer. */
  readonly internal: boolean;
  limit: number;
  settle: (r: StartResult) => void;
  timer: NodeJS.Timeout | null;
}

export class FlvRelay {
  private readonly waiting = new Set<Player>();
  private readonly live = new Set<Player>();
  private subscription: LiveSubscription | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private upstreamBytes = 0;
  private dropped = 0;
  /** Tags received but not yet written to the players (see FLUSH_AFTER_MS). */
  private pending: Buffer[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  readonly startedAt = Date.now();

  constructor(
    readonly app: string,
    readonly stream: string,
    subscribe: (relay: FlvRelay) => LiveSubscription | null,
    private readonly limits: RelayLimits,
    private readonly onClosed: (relay: FlvRelay) => void,
  ) {
    this.subscription = subscribe(this);
    if (!this.subscription) this.close('the stream is not flowing into the stack');
  }

  get key(): string {
    return `${this.app}/${this.stream}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): { app: string; stream: string; players: number; internal: number; waiting: number; dropped: number; upstreamBytes: number } {
    const internal = [...this.live].filter((p) => p.internal).length;
    return {
      app: this.app,
      stream: this.stream,
      players: this.live.size - internal,
      internal,
      waiting: this.waiting.size,
      dropped: this.dropped,
      upstreamBytes: this.upstreamBytes,
    };
  }

  /**
   * Adds a player. The HTTP head is written only once a keyframe is there to send, so the caller
   * can still answer an error when the stream never delivers one.
   */
  join(res: http.ServerResponse, internal = false): Promise<StartResult> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'closed', message: 'stream ended' });
    this.cancelIdleStop();
    return new Promise<StartResult>((resolve) => {
      const player: Player = { res, internal, limit: this.limits.clientQueueBytes, settle: resolve, timer: null };
      player.timer = setTimeout(() => {
        this.leave(player);
        player.settle({ ok: false, reason: 'timeout', message: `no keyframe within ${this.limits.startTimeoutMs} ms` });
      }, this.limits.startTimeoutMs);
      res.once('close', () => {
        this.leave(player);
        player.settle({ ok: false, reason: 'gone', message: 'player went away' });
      });
      const burst = this.burst();
      if (burst) this.begin(player, burst);
      else this.waiting.add(player);
    });
  }

  /** The stream's tags of one read from the engine (LiveSink.write). */
  write(tags: readonly FlvTag[]): void {
    if (this.closed) return;
    let video = false;
    for (const t of tags) {
      this.pending.push(t.bytes);
      this.upstreamBytes += t.bytes.length;
      if (t.kind === 'video') video = true;
    }
    if (video) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS);
    if (this.waiting.size) {
      const burst = this.burst();
      if (burst) for (const p of this.waiting) this.begin(p, burst);
    }
  }

  /** Writes what is pending to every player: one buffer, one write (one syscall) per player. */
  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.pending.length) return;
    const bytes = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    for (const p of this.live) this.send(p, bytes);
  }

  /** Ends every player and the subscription. Idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelIdleStop();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.pending = [];
    this.subscription?.close();
    this.subscription = null;
    if (this.live.size) log.info(`${this.key}: closing the FLV relay (${reason}); ${this.live.size} player(s) ended`);
    for (const p of this.waiting) {
      if (p.timer) clearTimeout(p.timer);
      p.settle({ ok: false, reason: 'closed', message: `stream ended: ${reason}` });
    }
    this.waiting.clear();
    for (const p of this.live) p.res.end();
    this.live.clear();
    this.onClosed(this);
  }

  private burst(): Buffer[] | null {
    const start = this.subscription?.startTags();
    return start ? [start.header.bytes, ...start.tags.map((t) => t.bytes)] : null;
  }

  /** Starts a player with the burst: the tap's cache, up to the newest tag. */
  private begin(player: Player, burst: Buffer[]): void {
    // What is pending is in the burst already: the others get it now, the new player once.
    this.flush();
    this.waiting.delete(player);
    if (player.timer) clearTimeout(player.timer);
    player.timer = null;
    const { res } = player;
    if (res.destroyed) return;
    // The body runs until the connection closes (HTTP/1.1 allows it without a length): no chunk
    // framing around each write, which would be two more buffers per write to every player.
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, {
      'Content-Type': 'video/x-flv',
      'Cache-Control': 'no-cache, no-store',
      Pragma: 'no-cache',
      Expires: '-1',
    });
    res.socket?.setNoDelay(true);
    const bytes = Buffer.concat(burst);
    res.write(bytes);
    // The burst may sit in the queue for a moment; only what comes after it counts as lagging.
    player.limit = this.limits.clientQueueBytes + bytes.length;
    this.live.add(player);
    player.settle({ ok: true });
  }

  private send(player: Player, bytes: Buffer): void {
    const { res } = player;
    if (res.writableLength + bytes.length > player.limit) {
      this.dropped += 1;
      log.warn(`${this.key}: dropping a player ${res.req?.socket?.remoteAddress ?? ''} that fell ${res.writableLength} bytes behind`);
      this.live.delete(player);
      res.destroy();
      this.scheduleIdleStopIfEmpty();
      return;
    }
    res.write(bytes);
  }

  private leave(player: Player): void {
    if (player.timer) clearTimeout(player.timer);
    player.timer = null;
    const removed = this.waiting.delete(player) || this.live.delete(player);
    if (removed) this.scheduleIdleStopIfEmpty();
  }

  private scheduleIdleStopIfEmpty(): void {
    if (this.closed || this.live.size || this.waiting.size || this.idleTimer) return;
    this.idleTimer = setTimeout(() => this.close('no players left'), this.limits.idleStopMs);
  }

  private cancelIdleStop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
