// One live stream's HTTP-FLV fan-out: a single supervised ffmpeg pulls the stream from the engine
// over loopback RTMP and remuxes it to FLV on a pipe; the tags are parsed, the last GOP is kept,
// and every HTTP player gets the same bytes. Players that cannot keep up are dropped, so memory per
// player is bounded by the queue limit whatever the player does.
import type http from 'node:http';
import type { SupervisedChild, Supervisor } from '../../core/process/supervisor.js';
import { createLogger } from '../../core/logger.js';
import { FlvFormatError, FlvParser } from '../../core/media/flv-tags.js';
import { GopCache } from '../../core/media/gop-cache.js';

const log = createLogger('flv');

export interface FlvPullOptions {
  readonly ffmpeg: string;
  readonly rtmpUrl: string;
}

/**
 * argv of the pull: copy every stream to FLV on stdout, flushing each packet for low latency.
 * `-fpsprobesize 0` skips the frame-rate probe, which a copy does not need: the first player's wait
 * drops from about 2.5 s to the next keyframe.
 */
export function flvPullArgs(rtmpUrl: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'warning',
    '-stats',
    '-fpsprobesize',
    '0',
    '-i',
    rtmpUrl,
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'flv',
    '-flvflags',
    'no_duration_filesize',
    '-flush_packets',
    '1',
    'pipe:1',
  ];
}

/** ffmpeg's stats line carries `time=HH:MM:SS.xx`: the supervisor's stall watchdog marker. */
export function ffmpegTimeMarker(line: string): string | null {
  const m = /\btime=\s*(-?\d+:\d{2}:\d{2}(?:\.\d+)?)/.exec(line);
  return m ? (m[1] as string) : null;
}

export interface RelayLimits {
  /** Bytes a player may fall behind (beyond its start burst) before it is dropped. */
  readonly clientQueueBytes: number;
  /** How long a first player waits for a keyframe from the engine. */
  readonly startTimeoutMs: number;
  /** How long the pull lingers after the last player left (a reload reconnects at once). */
  readonly idleStopMs: number;
  /** Kill a pull whose ffmpeg made no progress for this long. */
  readonly stallTimeoutMs: number;
}

export type StartResult = { ok: true } | { ok: false; reason: 'timeout' | 'closed' | 'gone'; message: string };

interface Player {
  readonly res: http.ServerResponse;
  limit: number;
  settle: (r: StartResult) => void;
  timer: NodeJS.Timeout | null;
}

export class FlvRelay {
  readonly child: SupervisedChild;
  private readonly waiting = new Set<Player>();
  private readonly live = new Set<Player>();
  private readonly cache = new GopCache();
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private upstreamBytes = 0;
  private dropped = 0;
  readonly startedAt = Date.now();
  /** Resolves once the pull is gone and the supervisor has forgotten it. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly app: string,
    readonly stream: string,
    pull: FlvPullOptions,
    private readonly supervisor: Supervisor,
    private readonly limits: RelayLimits,
    private readonly onClosed: (relay: FlvRelay) => void,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.child = supervisor.add({
      name: relayChildName(app, stream),
      command: pull.ffmpeg,
      args: flvPullArgs(pull.rtmpUrl),
      restart: 'never',
      stopSignal: 'SIGKILL', // a remux to a pipe has nothing to flush
      progress: ffmpegTimeMarker,
      stallTimeoutMs: limits.stallTimeoutMs,
      firstProgressTimeoutMs: limits.startTimeoutMs + limits.stallTimeoutMs,
      stdout: (out) => this.consume(out),
      onExit: (exit) => void this.close(`pull ended: ${exit.reason}`),
    });
    this.child.start();
  }

  get key(): string {
    return `${this.app}/${this.stream}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): { app: string; stream: string; players: number; waiting: number; dropped: number; upstreamBytes: number; gopBytes: number } {
    return {
      app: this.app,
      stream: this.stream,
      players: this.live.size,
      waiting: this.waiting.size,
      dropped: this.dropped,
      upstreamBytes: this.upstreamBytes,
      gopBytes: this.cache.bytes,
    };
  }

  /**
   * Adds a player. The HTTP head is written only once a keyframe is there to send, so the caller
   * can still answer an error when the stream never delivers.
   */
  join(res: http.ServerResponse): Promise<StartResult> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'closed', message: 'stream ended' });
    this.cancelIdleStop();
    return new Promise<StartResult>((resolve) => {
      const player: Player = { res, limit: this.limits.clientQueueBytes, settle: resolve, timer: null };
      player.timer = setTimeout(() => {
        this.leave(player);
        player.settle({ ok: false, reason: 'timeout', message: `no keyframe from the engine within ${this.limits.startTimeoutMs} ms` });
      }, this.limits.startTimeoutMs);
      res.once('close', () => {
        this.leave(player);
        player.settle({ ok: false, reason: 'gone', message: 'player went away' });
      });
      const burst = this.cache.startBurst();
      if (burst) this.begin(player, burst);
      else this.waiting.add(player);
    });
  }

  /** Ends every player and the pull. Idempotent. */
  async close(reason: string): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.cancelIdleStop();
      log.info(`${this.key}: closing the FLV relay (${reason}); ${this.live.size} player(s) ended`);
      for (const p of this.waiting) {
        if (p.timer) clearTimeout(p.timer);
        p.settle({ ok: false, reason: 'closed', message: `stream ended: ${reason}` });
      }
      this.waiting.clear();
      for (const p of this.live) p.res.end();
      this.live.clear();
      this.onClosed(this);
      void this.supervisor.remove(this.child.spec.name).then(() => this.resolveDone());
    }
    return this.done;
  }

  private consume(out: NodeJS.ReadableStream): void {
    const parser = new FlvParser();
    let headerSeen = false;
    out.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      this.upstreamBytes += chunk.length;
      let tags;
      try {
        tags = parser.push(chunk);
      } catch (err) {
        this.child.kill(err instanceof FlvFormatError ? err.message : String(err));
        return;
      }
      if (!headerSeen && parser.header) {
        this.cache.setHeader(parser.header);
        headerSeen = true;
      }
      if (!tags.length) return;
      for (const tag of tags) this.cache.add(tag);
      const bytes = tags.length === 1 ? (tags[0] as { bytes: Buffer }).bytes : Buffer.concat(tags.map((t) => t.bytes));
      for (const p of this.live) this.send(p, bytes);
      if (this.waiting.size) {
        const burst = this.cache.startBurst();
        if (burst) for (const p of this.waiting) this.begin(p, burst);
      }
    });
  }

  private begin(player: Player, burst: Buffer[]): void {
    this.waiting.delete(player);
    if (player.timer) clearTimeout(player.timer);
    player.timer = null;
    const { res } = player;
    if (res.destroyed) return;
    res.writeHead(200, {
      'Content-Type': 'video/x-flv',
      'Cache-Control': 'no-cache, no-store',
      Pragma: 'no-cache',
      Expires: '-1',
    });
    res.socket?.setNoDelay(true);
    let burstBytes = 0;
    for (const b of burst) {
      res.write(b);
      burstBytes += b.length;
    }
    // The burst may sit in the queue for a moment; only what comes after it counts as lagging.
    player.limit = this.limits.clientQueueBytes + burstBytes;
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
    this.idleTimer = setTimeout(() => void this.close('no players left'), this.limits.idleStopMs);
  }

  private cancelIdleStop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/** Supervisor name of a stream's pull (also its pid file name, sanitised by the supervisor). */
export function relayChildName(app: string, stream: string): string {
  return `flv:${app}/${stream}`;
}
