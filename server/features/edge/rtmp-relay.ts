// The edge's RTMP players (docs/architecture.md#edges): nginx-rtmp serves them, but its stream comes
// from the edge's own HTTP-FLV (the FLV gateway over the live tap, fed by the one origin pull of
// origin-pull.ts), not from a second connection to the origin. So whatever mix of HTTP-FLV and RTMP
// players watch a stream here, the origin serves it to this edge once.
//
// While a stream has RTMP players on the edge's nginx (its /stat: clients that do not publish), one
// supervised ffmpeg copies the edge's loopback HTTP-FLV of the stream into the edge's nginx-rtmp
// (`allow publish 127.0.0.1`, edge-config.ts). nginx-rtmp holds a player of a stream nobody
// publishes yet (idle_streams) and starts it on the next keyframe (wait_key) once the relay
// publishes; the tap's GOP cache makes that the first thing the relay sends. The relay restarts while
// players remain (the origin's stream ended and came back, as nginx-rtmp's `pull` reconnects), and
// is stopped RELAY_IDLE_STOP_MS after the last one left.
//
// Why not nginx-rtmp's `exec_pull`/`exec_play` starting the same ffmpeg: docs/architecture.md#edges
// (outside the process gate, and nginx pastes the raw stream name into its argv).
import { progressMarker } from '../../core/ffmpeg/progress.js';
import { forwardArgs } from '../../core/ffmpeg/argv.js';
import { createLogger } from '../../core/logger.js';
import type { Supervisor } from '../../core/process/supervisor.js';
import { loopbackRtmpUrl, streamNameProblem } from '../../core/stream-names.js';
import type { EngineStream } from '../../engine/media-engine.js';
import { originFlvUrl } from './origin-pull.js';

const log = createLogger('edge');

/** How often nginx's /stat is read for RTMP players (their wait for the relay's first frame). */
export const RELAY_POLL_MS = 500;
/** A relay with no RTMP player for this long is stopped. */
export const RELAY_IDLE_STOP_MS = 3000;
/** No new `time=` from the relay for this long: it is hung, restart it. */
const RELAY_STALL_MS = 10_000;

/**
 * The relay's ffmpeg: the edge's loopback HTTP-FLV of the stream, copied into its nginx-rtmp. The
 * input is the tap's (its GOP first, then live), read as forward reads it (core/ffmpeg/argv.ts);
 * `-stats` feeds the stall watchdog.
 */
export function edgeRelayArgs(flvUrl: string, rtmpUrl: string): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-stats', ...forwardArgs(flvUrl, rtmpUrl)];
}

/**
 * RTMP players per stream of `app` in the edge's nginx: every client but the publisher (the relay).
 * A name the stack could never publish (core/stream-names.ts) is left out: it is never relayed.
 */
export function rtmpPlayers(streams: readonly EngineStream[], app: string): Map<string, number> {
  const players = new Map<string, number>();
  for (const s of streams) {
    if (s.app !== app || streamNameProblem(s.stream)) continue;
    const n = s.clients.filter((c) => !c.publishing).length;
    if (n > 0) players.set(s.stream, (players.get(s.stream) ?? 0) + n);
  }
  return players;
}

export interface RelayPlan {
  /** Streams with players and no relay yet. */
  readonly start: string[];
  /** Relays whose stream has had no player for idleStopMs. */
  readonly stop: string[];
  /** When each relayed stream without players was first seen so (kept between sweeps). */
  readonly idleSince: Map<string, number>;
}

/** One sweep's decision, pure: which relays to start and which to stop. */
export function planRelays(
  players: ReadonlyMap<string, number>,
  running: ReadonlySet<string>,
  idleSince: ReadonlyMap<string, number>,
  now: number,
  idleStopMs: number,
): RelayPlan {
  const start = [...players.keys()].filter((s) => !running.has(s));
  const stop: string[] = [];
  const idle = new Map<string, number>();
  for (const stream of running) {
    if (players.has(stream)) continue;
    const since = idleSince.get(stream) ?? now;
    if (now - since >= idleStopMs) stop.push(stream);
    else idle.set(stream, since);
  }
  return { start, stop, idleSince: idle };
}

export interface EdgeRtmpRelayOptions {
  readonly supervisor: Supervisor;
  readonly ffmpeg: string;
  readonly app: string;
  /** The edge's nginx /stat streams (NginxRtmpEngine.streams). */
  readonly streams: () => Promise<EngineStream[]>;
  /** The edge's own RTMP port (nginx) and, once listening, its stack process's loopback HTTP port. */
  readonly rtmpPort: number;
  readonly stackPort: () => number;
  readonly pollMs?: number;
  readonly idleStopMs?: number;
}

export class EdgeRtmpRelay {
  /** stream → supervised child name. */
  private readonly relays = new Map<string, string>();
  private idleSince = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private seq = 0;

  constructor(private readonly opts: EdgeRtmpRelayOptions) {}

  /** Streams relayed into the edge's nginx-rtmp right now. */
  get size(): number {
    return this.relays.size;
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.opts.pollMs ?? RELAY_POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const names = [...this.relays.values()];
    this.relays.clear();
    await Promise.all(names.map((name) => this.opts.supervisor.remove(name)));
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || !this.timer) return;
    this.sweeping = true;
    try {
      const streams = await this.opts.streams().catch(() => null);
      // nginx restarting: keep what runs, decide at the next read.
      if (!streams || !this.timer) return;
      const plan = planRelays(
        rtmpPlayers(streams, this.opts.app),
        new Set(this.relays.keys()),
        this.idleSince,
        Date.now(),
        this.opts.idleStopMs ?? RELAY_IDLE_STOP_MS,
      );
      this.idleSince = plan.idleSince;
      for (const stream of plan.start) this.open(stream);
      for (const stream of plan.stop) {
        const name = this.relays.get(stream) as string;
        this.relays.delete(stream);
        log.info(`${this.opts.app}/${stream}: no RTMP player left, relay stopped`);
        await this.opts.supervisor.remove(name);
      }
    } finally {
      this.sweeping = false;
    }
  }

  private open(stream: string): void {
    const { app } = this.opts;
    const name = `edge-rtmp-${++this.seq}`;
    this.relays.set(stream, name);
    log.info(`${app}/${stream}: RTMP players on the edge, relaying its HTTP-FLV into nginx-rtmp (${name})`);
    this.opts.supervisor
      .add({
        name,
        command: this.opts.ffmpeg,
        args: edgeRelayArgs(
          originFlvUrl(`http://127.0.0.1:${this.opts.stackPort()}`, app, stream),
          loopbackRtmpUrl(this.opts.rtmpPort, app, stream),
        ),
        // The origin's stream ending ends the relay cleanly; players still here wait for it again.
        restart: 'always',
        stopTimeoutMs: 2000,
        backoff: { initialMs: 1000, maxMs: 5000, resetAfterMs: 10_000 },
        progress: progressMarker,
        stallTimeoutMs: RELAY_STALL_MS,
      })
      .start();
  }
}
