// SRT ingest and play on one UDP port (the flow is drawn below). The main-thread half of the
// gateway: it owns admission, the registry's view of SRT streams and the ffmpeg children; the
// worker (gateway-worker.ts) owns libsrt and the media.
//
//   caller ──SRT──► worker: handshake check (name, mode, secret, already live) → accept
//                   → reads the TS until its PAT/PMT: codecs the engine cannot carry are refused
//   main:  admission.publish({protocol:'srt', param:'?secret=…&upstream=srt'}) (the user's callback
//          may veto: the caller is closed) → bridge ffmpeg (supervised) reads the caller's TS from a
//          unix socket and publishes rtmp://…/live/<s>?upstream=srt&bridge=<token> into the engine
//   play:  one feed ffmpeg per played stream (engine RTMP → TS on a unix socket), fanned out by the
//          worker to every SRT player of that stream
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EventHub, StreamInfo } from '../../core/events.js';
import { createLogger } from '../../core/logger.js';
import type { Supervisor } from '../../core/process/supervisor.js';
import { DEFAULT_VHOST, loopbackRtmpUrl } from '../../core/stream-names.js';
import { errorMessage } from '../../core/errors.js';
import type { StreamRequest } from '../../core/stream-request.js';
import type { Admission } from '../live-streams/admission.js';
import type { PublishRules } from '../live-streams/publish-rules.js';
import type { LiveRegistry } from '../live-streams/registry.js';
import { bridgePublishUrl, srtBridgeArgs, srtPlayArgs, unixUrl } from './argv.js';
import type { HandshakePolicy } from './handshake.js';
import type { ConnInfo, FromWorker, GatewayOptions, ToWorker, WorkerStats } from './protocol.js';

const log = createLogger('srt');

/** How often the handshake's policy snapshot is refreshed (secrets changed in the console, live streams). */
const POLICY_REFRESH_MS = 1000;
/** A bridge that fails this many times in a row without making progress drops its caller. */
const MAX_BRIDGE_FAILURES = 3;
const STALL_TIMEOUT_MS = 10_000;
const KEEP_REFUSALS = 20;

export interface SrtSettings {
  /** UDP port; 0: SRT is off. */
  readonly listen: number;
  readonly host: string;
  readonly latencyMs: number;
  readonly passphrase: string;
  readonly socketDir: string;
  readonly ffmpeg: string;
  readonly rtmpPort: number;
  /**
   * Where a play feed reads the stream: the live tap's HTTP-FLV for the stack's own consumers, whose
   * GOP cache gives a new player a picture at once (the engine would make it wait for a keyframe).
   */
  readonly liveInput: (app: string, stream: string) => string;
  /** Sonames to try (default: libsrt.ts's list). */
  readonly libraries?: readonly string[];
}

export interface SrtGatewayDeps {
  readonly supervisor: Supervisor;
  readonly admission: Pick<Admission, 'publish' | 'unpublish' | 'bridgeParam'>;
  readonly registry: Pick<LiveRegistry, 'isLive' | 'list' | 'addViewerSource' | 'addIngest' | 'countPlay'>;
  readonly events: EventHub;
  readonly apps: readonly string[];
  readonly publishRules: () => Promise<PublishRules>;
  /**
   * Play authentication (features/play-auth): admits a player (its streamid's query is `param`,
   * with `token=`) or throws; resolves to what to call when it leaves. Absent: every player.
   */
  readonly admitPlayer?: (conn: ConnInfo) => Promise<() => void>;
}

export type SrtState = 'off' | 'starting' | 'ready' | 'unavailable' | 'failed' | 'stopped';

export interface SrtStatus {
  /** SRT serves callers now. */
  readonly available: boolean;
  readonly state: SrtState;
  /** Why SRT is not available ('' when it is). */
  readonly reason: string;
  readonly listen: number;
  readonly latency: number;
  readonly passphrase: boolean;
  readonly library: string;
  readonly publishers: ReadonlyArray<{ app: string; stream: string; peer: string; codecs: string[]; since: string }>;
  readonly players: number;
  /** The latest refusals, newest last: handshake rejections and refused publishes, with the reason. */
  readonly refusals: ReadonlyArray<{ at: string; stream: string; peer: string; reason: string }>;
  readonly worker: WorkerStats | null;
}

interface Publish {
  readonly conn: ConnInfo;
  readonly request: StreamRequest;
  readonly codecs: string[];
  readonly since: string;
  child: string | null;
  failures: number;
  /** The caller left: nothing more may start for it. */
  ended: boolean;
  admitted: boolean;
}

export class SrtGateway {
  private worker: Worker | null = null;
  private state: SrtState = 'off';
  private reason = '';
  private library = '';
  private timer: NodeJS.Timeout | null = null;
  private readonly bootId = crypto.randomBytes(4).toString('hex');
  private readonly publishes = new Map<number, Publish>();
  private readonly players = new Map<number, ConnInfo>();
  private readonly feeds = new Map<number, string>(); // feed id → child name
  private readonly refusals: Array<{ at: string; stream: string; peer: string; reason: string }> = [];
  /** Admitted players' "left" calls (play authentication's on_stop), by connection id. */
  private readonly leaving = new Map<number, () => void>();
  private readonly closeWaiters = new Map<number, Array<() => void>>();
  private readonly statsWaiters = new Map<number, (s: WorkerStats) => void>();
  private nextReq = 1;
  private stopped: Promise<void> | null = null;
  private policyPushed = false;

  constructor(
    private readonly settings: SrtSettings,
    private readonly deps: SrtGatewayDeps,
  ) {
    deps.registry.addViewerSource('srt', (app, stream) => this.playersOf(app, stream));
    deps.registry.addIngest('srt', (info) => this.kick(info));
    deps.events.on('stream.published', () => void this.pushPolicy());
    deps.events.on('stream.unpublished', (info) => {
      this.onStreamEnded(info);
      void this.pushPolicy();
    });
  }

  /** Starts the listener; never throws: without libsrt or the port, SRT is off and says why. */
  async start(): Promise<void> {
    if (this.settings.listen === 0) {
      this.setUnavailable('off', 'SRT_LISTEN is 0');
      return;
    }
    this.state = 'starting';
    const options: GatewayOptions = {
      host: this.settings.host,
      port: this.settings.listen,
      latencyMs: this.settings.latencyMs,
      passphrase: this.settings.passphrase,
      socketDir: this.settings.socketDir,
      libraries: this.settings.libraries,
    };
    const worker = new Worker(new URL('./gateway-worker.js', import.meta.url), { workerData: options, name: 'srt-gateway' });
    this.worker = worker;
    const started = new Promise<void>((resolve) => {
      const done = () => resolve();
      worker.once('exit', done);
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready' || m.type === 'unavailable' || m.type === 'failed') done();
      });
    });
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err: Error) => {
      log.error('the SRT gateway failed', err);
      this.setUnavailable('failed', `the SRT gateway failed: ${err.message}`);
    });
    worker.on('exit', () => {
      this.worker = null;
      if (this.state === 'ready' || this.state === 'starting') this.setUnavailable('failed', 'the SRT gateway stopped');
      this.dropAll('the SRT gateway stopped');
    });
    await started;
    // Until the first snapshot, callers hear "starting" (1503): wait a little for Redis.
    for (let i = 0; i < 50 && this.worker && !(await this.pushPolicy()); i++) await new Promise((r) => setTimeout(r, 100));
    this.timer = setInterval(() => void this.pushPolicy(), POLICY_REFRESH_MS);
    this.timer.unref();
  }

  /** Drops every caller and stops the listener and its ffmpeg children. */
  stop(): Promise<void> {
    this.stopped ??= this.stopOnce();
    return this.stopped;
  }

  private async stopOnce(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const worker = this.worker;
    if (worker) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      this.post({ type: 'stop' });
      const timeout = setTimeout(() => void worker.terminate(), 3000);
      await exited;
      clearTimeout(timeout);
    }
    await this.dropAll('the stack is stopping');
    if (this.state !== 'off' && this.state !== 'unavailable') this.state = 'stopped';
  }

  /** SRT serves callers now (the Streaming page shows its URLs only then). */
  get available(): boolean {
    return this.state === 'ready' && this.policyPushed;
  }

  async status(): Promise<SrtStatus> {
    return {
      available: this.available,
      state: this.state,
      reason: this.reason,
      listen: this.settings.listen,
      latency: this.settings.latencyMs,
      passphrase: this.settings.passphrase !== '',
      library: this.library,
      publishers: [...this.publishes.values()]
        .filter((p) => p.admitted)
        .map((p) => ({
          app: p.conn.app,
          stream: p.conn.stream,
          peer: `${p.conn.peer.ip}:${p.conn.peer.port}`,
          codecs: p.codecs,
          since: p.since,
        })),
      players: this.players.size,
      refusals: [...this.refusals],
      worker: await this.workerStats(),
    };
  }

  /** SRT players of a stream right now. */
  playersOf(app: string, stream: string): number {
    let n = 0;
    for (const p of this.players.values()) if (p.app === app && p.stream === stream) n += 1;
    return n;
  }

  private workerStats(): Promise<WorkerStats | null> {
    if (!this.worker || this.state !== 'ready') return Promise.resolve(null);
    const reqId = this.nextReq++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.statsWaiters.delete(reqId);
        resolve(null);
      }, 2000);
      this.statsWaiters.set(reqId, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.post({ type: 'stats', reqId });
    });
  }

  private setUnavailable(state: SrtState, reason: string): void {
    this.state = state;
    this.reason = reason;
  }

  private post(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  /** Sends the handshake's snapshot; false when the rules could not be read (Redis not ready). */
  private async pushPolicy(): Promise<boolean> {
    if (!this.worker) return false;
    let rules: PublishRules;
    try {
      rules = await this.deps.publishRules();
    } catch {
      return false; // Redis not ready: the last snapshot stays (none yet: callers hear "starting")
    }
    const policy: HandshakePolicy = {
      apps: this.deps.apps,
      authDisabled: rules.authDisabled,
      secret: rules.secret,
      rooms: rules.rooms,
      live: this.deps.registry.list().map((s) => `${s.app}/${s.stream}`),
    };
    this.post({ type: 'policy', policy });
    this.policyPushed = true;
    return true;
  }

  private refused(stream: string, peer: string, reason: string): void {
    this.refusals.push({ at: new Date().toISOString(), stream, peer, reason });
    if (this.refusals.length > KEEP_REFUSALS) this.refusals.shift();
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        this.state = 'ready';
        this.library = `${m.library} ${m.version}`;
        log.info(
          `SRT listening on udp ${this.settings.host}:${this.settings.listen} (${this.library}, latency ${this.settings.latencyMs} ms, passphrase ${this.settings.passphrase ? 'on' : 'off'})`,
        );
        return;
      case 'unavailable':
        this.setUnavailable('unavailable', m.reason);
        log.warn(`SRT is off: ${m.reason}`);
        return;
      case 'failed':
        this.setUnavailable('failed', m.reason);
        log.error(`SRT is off: ${m.reason}`);
        return;
      case 'log':
        log[m.level](m.message);
        return;
      case 'rejected':
        log.info(`SRT caller ${m.peer} refused at the handshake (${m.code}): ${m.reason} [streamid ${m.streamid}]`);
        this.refused(m.streamid, m.peer, `${m.reason} (${m.code})`);
        return;
      case 'publish':
        void this.onPublish(m.conn, m.codecs, m.input);
        return;
      case 'refused':
        log.warn(`SRT publish of ${m.conn.app}/${m.conn.stream} from ${m.conn.peer.ip} refused: ${m.reason}`);
        this.refused(`${m.conn.app}/${m.conn.stream}`, `${m.conn.peer.ip}:${m.conn.peer.port}`, m.reason);
        return;
      case 'play':
        void this.onPlay(m.conn, m.feed);
        return;
      case 'closed':
        void this.onClosed(m.conn, m.why);
        return;
      case 'feed-idle':
        void this.removeFeed(m.feedId);
        return;
      case 'stats': {
        const { type: _type, reqId: _reqId, ...stats } = m;
        this.statsWaiters.get(m.reqId)?.(stats);
        this.statsWaiters.delete(m.reqId);
        return;
      }
      case 'stopped':
        return;
    }
  }

  // ---- publishers ----

  private async onPublish(conn: ConnInfo, codecs: string[], input: string): Promise<void> {
    const request: StreamRequest = {
      protocol: 'srt',
      vhost: DEFAULT_VHOST,
      app: conn.app,
      stream: conn.stream,
      param: conn.param,
      clientId: `srt-${this.bootId}-${conn.id}`,
      clientAddress: conn.peer.ip,
    };
    const pub: Publish = {
      conn,
      request,
      codecs,
      since: new Date().toISOString(),
      child: null,
      failures: 0,
      ended: false,
      admitted: false,
    };
    this.publishes.set(conn.id, pub);
    try {
      await this.deps.admission.publish(request);
    } catch (err) {
      const reason = `admission refused: ${(err as Error).message}`;
      this.refused(`${conn.app}/${conn.stream}`, `${conn.peer.ip}:${conn.peer.port}`, reason);
      this.publishes.delete(conn.id);
      this.post({ type: 'close', id: conn.id, why: reason });
      return;
    }
    pub.admitted = true;
    if (pub.ended) {
      // The caller left while its HTTP callback ran.
      this.publishes.delete(conn.id);
      await this.deps.admission.unpublish(request).catch((err) => log.warn('unpublish failed', err));
      return;
    }
    log.info(`SRT publish ${conn.app}/${conn.stream} from ${conn.peer.ip}:${conn.peer.port} (${codecs.join(', ')})`);
    this.startBridge(pub, input);
  }

  private startBridge(pub: Publish, input: string): void {
    const { conn } = pub;
    const bridgeParam = this.deps.admission.bridgeParam();
    const output = bridgePublishUrl(loopbackRtmpUrl(this.settings.rtmpPort, conn.app, conn.stream), bridgeParam);
    const name = `srt-publish-${conn.stream}-${conn.id}`;
    pub.child = name;
    const child = this.deps.supervisor.add({
      name,
      command: this.settings.ffmpeg,
      args: srtBridgeArgs(unixUrl(input), output),
      restart: 'on-failure',
      stopTimeoutMs: 3000,
      backoff: { initialMs: 300, maxMs: 2000, resetAfterMs: 10_000 },
      progress: ffmpegTimeMarker,
      stallTimeoutMs: STALL_TIMEOUT_MS,
      secrets: [bridgeParam.split('=')[1] as string],
      onReady: () => (pub.failures = 0),
      onExit: (exit) => {
        if (pub.ended || exit.code === 0) return;
        pub.failures += 1;
        if (pub.failures >= MAX_BRIDGE_FAILURES) {
          const why = `the bridge into the engine failed ${pub.failures} times (${child.state.lastError ?? exit.reason})`;
          log.warn(`SRT ${conn.app}/${conn.stream}: ${why}: dropping the caller`);
          this.post({ type: 'close', id: conn.id, why });
        }
      },
    });
    child.start();
  }

  private async onClosed(conn: ConnInfo, why: string): Promise<void> {
    for (const w of this.closeWaiters.get(conn.id) ?? []) w();
    this.closeWaiters.delete(conn.id);
    if (conn.mode === 'request') {
      this.players.delete(conn.id);
      this.leaving.get(conn.id)?.();
      this.leaving.delete(conn.id);
      return;
    }
    const pub = this.publishes.get(conn.id);
    if (!pub) return;
    pub.ended = true;
    if (!pub.admitted) return; // onPublish finishes it
    this.publishes.delete(conn.id);
    log.info(`SRT publish ${conn.app}/${conn.stream} ended: ${why}`);
    // The bridge first: the engine must not hold a publisher the registry no longer knows.
    if (pub.child) await this.deps.supervisor.remove(pub.child);
    await this.deps.admission.unpublish(pub.request).catch((err) => log.warn(`unpublish of ${conn.app}/${conn.stream} failed`, err));
  }

  /** Kickoff: really disconnects the SRT caller (then the registry ends the stream). */
  private async kick(info: StreamInfo): Promise<void> {
    const pub = [...this.publishes.values()].find((p) => p.conn.app === info.app && p.conn.stream === info.stream);
    if (!pub) return;
    const closed = new Promise<void>((resolve) => {
      const list = this.closeWaiters.get(pub.conn.id) ?? [];
      list.push(resolve);
      this.closeWaiters.set(pub.conn.id, list);
      setTimeout(resolve, 3000).unref();
    });
    this.post({ type: 'close', id: pub.conn.id, why: 'kicked off' });
    await closed;
  }

  /** The registry ended a stream an SRT caller still publishes (engine restart, reconciliation): drop the caller. */
  private onStreamEnded(info: StreamInfo): void {
    for (const pub of this.publishes.values()) {
      if (pub.admitted && !pub.ended && pub.request.clientId === info.client_id) {
        this.post({ type: 'close', id: pub.conn.id, why: 'the stream ended in the registry' });
      }
    }
  }

  // ---- players ----

  private async onPlay(conn: ConnInfo, feed: { id: number; output: string; fresh: boolean }): Promise<void> {
    // The worker holds the player (no media) until it is admitted here.
    try {
      const left = (await this.deps.admitPlayer?.(conn)) ?? null;
      if (left) this.leaving.set(conn.id, left);
    } catch (err) {
      const reason = errorMessage(err);
      this.refused(`${conn.app}/${conn.stream}`, `${conn.peer.ip}:${conn.peer.port}`, reason);
      this.post({ type: 'close', id: conn.id, why: reason });
      return;
    }
    if (!this.deps.registry.isLive(conn.app, conn.stream)) {
      this.post({ type: 'close', id: conn.id, why: 'not live' });
      return;
    }
    this.post({ type: 'admit', id: conn.id });
    this.players.set(conn.id, conn);
    void this.deps.registry.countPlay().catch(() => undefined);
    if (!feed.fresh) return;
    const name = `srt-play-${conn.stream}-${feed.id}`;
    this.feeds.set(feed.id, name);
    this.deps.supervisor
      .add({
        name,
        command: this.settings.ffmpeg,
        args: srtPlayArgs(this.settings.liveInput(conn.app, conn.stream), unixUrl(feed.output)),
        restart: 'never',
        stopSignal: 'SIGKILL', // a remux to a socket has nothing to flush
        progress: ffmpegTimeMarker,
        stallTimeoutMs: STALL_TIMEOUT_MS,
        onExit: (exit) => {
          if (!this.feeds.has(feed.id)) return;
          this.feeds.delete(feed.id);
          this.post({ type: 'feed-gone', feedId: feed.id, why: `the feed ended: ${exit.reason}` });
          void this.deps.supervisor.remove(name);
        },
      })
      .start();
  }

  private async removeFeed(feedId: number): Promise<void> {
    const name = this.feeds.get(feedId);
    this.feeds.delete(feedId);
    if (name) await this.deps.supervisor.remove(name);
  }

  /** The worker is gone: end what it carried. */
  private async dropAll(why: string): Promise<void> {
    const pubs = [...this.publishes.values()];
    this.publishes.clear();
    this.players.clear();
    for (const w of [...this.closeWaiters.values()].flat()) w();
    this.closeWaiters.clear();
    const feeds = [...this.feeds.values()];
    this.feeds.clear();
    await Promise.all(feeds.map((name) => this.deps.supervisor.remove(name)));
    for (const pub of pubs) {
      pub.ended = true;
      if (pub.child) await this.deps.supervisor.remove(pub.child);
      if (pub.admitted) {
        log.info(`SRT publish ${pub.conn.app}/${pub.conn.stream} ended: ${why}`);
        await this.deps.admission.unpublish(pub.request).catch(() => undefined);
      }
    }
  }
}

/** ffmpeg's stats line carries `time=HH:MM:SS.xx`: the supervisor's stall watchdog marker. */
export function ffmpegTimeMarker(line: string): string | null {
  const m = /\btime=\s*(-?\d+:\d{2}:\d{2}(?:\.\d+)?)/.exec(line);
  return m ? (m[1] as string) : null;
}

/**
 * Where the bridges' unix sockets go: the run directory, unless its path is too long for a socket
 * address (108 bytes on Linux), then a private directory under the system's temp dir.
 */
export function srtSocketDir(runDir: string): string {
  if (path.join(runDir, 'srt-out-0000000000.sock').length < 100) return runDir;
  return fs.mkdtempSync(path.join(os.tmpdir(), 'srs-stack-srt-'));
}
