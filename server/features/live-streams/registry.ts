// The one answer to "is it live?" (docs/architecture.md, "The live registry"): the streams admitted
// and not ended, with their viewers by protocol. HLS and FLV delivery, restream plans, the API, the
// console and /metrics read it; only admission and kickoff write it. Redis (SRS_STREAM_ACTIVE) is
// its persistence, so SRS Stack's tools and a restarted stack see the same list, and the engine is
// its ground truth: reconciliation ends ghosts (a crash never leaves a stream "live") and adopts
// streams Redis lost.
import type { EventHub, StreamInfo } from '../../core/events.js';
import { ConflictError, NotFoundError, NotReadyError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import { DEFAULT_VHOST } from '../../core/stream-names.js';
import { ingestOf, type IngestProtocol, type StreamRequest } from '../../core/stream-request.js';
import type { EngineStream, MediaEngine } from '../../engine/media-engine.js';
import { streamKey } from './publish-rules.js';
import { keyOf, type StreamStore } from './stream-store.js';
import type { StreamHealth } from '../live-tap/stream-health.js';

const log = createLogger('streams');

/** A registry entry younger than this may not show in the engine's stats yet. */
const RECONCILE_GRACE_MS = 10_000;
const RECONCILE_INTERVAL_MS = 5000;
/** How long after a stream's commit or end the engine's stats may still show it as it was. */
const RECENT_CHANGE_MS = 3000;
/** Longer than any reconcile takes: changes older than this cannot postdate its snapshot. */
const CHANGE_MEMORY_MS = 60_000;
/** How long a committed publish may take to show in the engine before it is announced anyway. */
const ENGINE_CONFIRM_MS = 5000;

/** Players of one stream for one delivery protocol (HLS sessions, HTTP-FLV clients…). */
export type ViewerSource = (app: string, stream: string) => number;

/** What a stream is made of, measured where its media flows (the live tap, features/live-tap/media-meter.ts). */
export interface StreamReading {
  readonly kbps: number;
  readonly fps: number;
  readonly videoCodec: string;
  readonly audioCodec: string;
  /** Keyframe interval, timestamp jumps, A/V drift, bitrate drops and the warnings they call for. */
  readonly health?: StreamHealth;
}
export type StreamMeter = (app: string, stream: string) => StreamReading | null;

export interface ActiveStream extends StreamInfo {
  /** Players right now: RTMP players from other hosts plus every registered source (HLS sessions, FLV). */
  viewers: number;
  /**
   * Added to SRS Stack's fields (docs/compatibility.md §3.1): the media received, in kbit/s over the
   * last 10 s, and the picture and sound, so people see what they publish instead of internal ids.
   */
  kbps: number;
  video: { codec: string; width: number; height: number; fps: number } | null;
  audio: { codec: string; sample_rate: number; channel: number } | null;
  /** Added (issue 18): the stream's health as the live tap measures it; null before it flows in. */
  health: StreamHealth | null;
}

/** An ingest that can drop its own publisher (kickoff): the engine for RTMP, later SRT and WHIP. */
export type PublisherKicker = (info: StreamInfo) => Promise<void>;

/** What the registry needs of the engine: its stats, its lifecycle, and when it plays a stream. */
export type RegistryEngine = Pick<MediaEngine, 'serverId' | 'isReady' | 'streams' | 'untilPublishing' | 'onStateChange'>;
/** The registry's persistence (SRS_STREAM_ACTIVE and the publish/play counters). */
export type RegistryStore = Pick<StreamStore, 'list' | 'get' | 'put' | 'remove' | 'countPlay'>;

export class LiveRegistry {
  /** The streams live now, by SRS_STREAM_ACTIVE field (`{app}/{stream}`). */
  private readonly live = new Map<string, StreamInfo>();
  private readonly viewerSources = new Map<string, ViewerSource>();
  private meter: StreamMeter = () => null;
  /** Ingests other than the engine's RTMP that can drop their own publisher (SRT, WHIP). */
  private readonly ingestKickers = new Map<IngestProtocol, PublisherKicker>();
  /** Per stream, the announcement in flight: "unpublished" always follows its "published". */
  private readonly announcing = new Map<string, Promise<void>>();
  /** Committed publishes the engine does not play yet (consumers would be refused). */
  private readonly starting = new Set<string>();
  /** Who waits for a stream to become playable (untilPlayable), by key. */
  private readonly playableWaiters = new Map<string, Set<() => void>>();
  private timer: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> | null = null;
  /** When the running engine process became ready: anything registered before went down with an older one. */
  private engineReadyAt = Number.POSITIVE_INFINITY;
  /** What an earlier run persisted has been taken in (loadPersisted). */
  private loaded = false;
  /**
   * When each stream was last committed or ended (performance.now()): a reconcile that read the
   * engine and Redis before that leaves the stream alone, or a stream kicked or ended meanwhile would
   * be brought back from its stale snapshot (and end, and be announced, a second time).
   */
  private readonly changedAt = new Map<string, number>();

  constructor(
    private readonly engine: RegistryEngine,
    private readonly store: RegistryStore,
    private readonly events: EventHub,
    private readonly kickPublisher: PublisherKicker,
  ) {
    engine.onStateChange((ready) => {
      if (ready) {
        this.engineReadyAt = Date.now();
        void this.reconcile();
      } else {
        this.engineReadyAt = Number.POSITIVE_INFINITY;
        void this.engineWentDown();
      }
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.reconciling;
    await Promise.all(this.announcing.values());
  }

  /** Loads what an earlier run persisted, then makes it match the engine. */
  async onRedisReady(): Promise<void> {
    await this.loadPersisted();
    await this.reconcile();
  }

  /**
   * Takes in what Redis holds. Until it has run once, the API would list nothing: a query that
   * comes first (Redis-ready steps run one after the other) loads it itself.
   */
  private async loadPersisted(): Promise<void> {
    for (const info of await this.store.list()) if (!this.live.has(keyOf(info))) this.live.set(keyOf(info), info);
    this.loaded = true;
  }

  // Reads: every feature's answer to "is it live?".

  isLive(app: string, stream: string): boolean {
    return this.live.has(streamKey(DEFAULT_VHOST, app, stream));
  }

  /** Live, and the engine plays it to consumers: a pull (ffprobe, a relay) is not refused. */
  isPlayable(app: string, stream: string): boolean {
    const key = streamKey(DEFAULT_VHOST, app, stream);
    return this.live.has(key) && !this.starting.has(key);
  }

  /**
   * Resolves true as soon as the stream is playable (isPlayable), false after `timeoutMs`: for a
   * consumer that learnt of a stream at the moment its encoder connected (a probe of this stack's own
   * URL), so it waits for the admission and the engine instead of being refused.
   */
  untilPlayable(app: string, stream: string, timeoutMs: number): Promise<boolean> {
    if (this.isPlayable(app, stream)) return Promise.resolve(true);
    const key = streamKey(DEFAULT_VHOST, app, stream);
    return new Promise((resolve) => {
      const waiters = this.playableWaiters.get(key) ?? new Set<() => void>();
      this.playableWaiters.set(key, waiters);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (!waiters.size && this.playableWaiters.get(key) === waiters) this.playableWaiters.delete(key);
        resolve(ok);
      };
      const check = () => {
        if (this.isPlayable(app, stream)) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      waiters.add(check);
    });
  }

  private wakePlayable(key: string): void {
    for (const check of [...(this.playableWaiters.get(key) ?? [])]) check();
  }

  get(vhost: string, app: string, stream: string): StreamInfo | null {
    return this.live.get(streamKey(vhost, app, stream)) ?? null;
  }

  /** Live streams, oldest publish first. */
  list(): StreamInfo[] {
    return [...this.live.values()].sort((a, b) => a.update.localeCompare(b.update) || keyOf(a).localeCompare(keyOf(b)));
  }

  /** Delivery servers add their players (HLS sessions, HTTP-FLV clients) under their protocol. */
  addViewerSource(protocol: string, source: ViewerSource): void {
    this.viewerSources.set(protocol, source);
  }

  /** Where the bitrate, frame rate and codecs of a live stream are measured (the live tap). */
  setMeter(meter: StreamMeter): void {
    this.meter = meter;
  }

  /** The live streams with their viewers and media (the API's and console's list). */
  async query(): Promise<ActiveStream[]> {
    if (!this.loaded) await this.loadPersisted();
    const engineStreams = await this.engine.streams().catch(() => [] as EngineStream[]);
    const byName = new Map(engineStreams.map((s) => [`${s.app}/${s.stream}`, s]));
    return this.list().map((info) => {
      const engine = byName.get(`${info.app}/${info.stream}`);
      let viewers = engine ? remotePlayers(engine) : 0;
      for (const source of this.viewerSources.values()) viewers += source(info.app, info.stream);
      const reading = this.meter(info.app, info.stream);
      return { ...info, viewers, ...mediaOf(engine, reading), health: reading?.health ?? null };
    });
  }

  /** Prometheus collectors: live streams and players by protocol. */
  registerMetrics(metrics: Metrics): void {
    metrics.gauge('srs_stack_streams', 'Live streams: publishing in the engine right now.', () => [{ value: this.live.size }]);
    metrics.gauge('srs_stack_viewers', 'Players right now, by protocol (hls: sessions; flv; rtmp: players from other hosts).', async () => {
      const streams = this.list();
      const samples = [...this.viewerSources].map(([protocol, source]) => ({
        labels: { protocol },
        value: streams.reduce((n, s) => n + source(s.app, s.stream), 0),
      }));
      try {
        const rtmp = (await this.engine.streams()).reduce((n, s) => n + remotePlayers(s), 0);
        samples.push({ labels: { protocol: 'rtmp' }, value: rtmp });
      } catch {
        /* engine down: unknown, which is not zero */
      }
      return samples;
    });
    // Stream health (issue 18): what the live tap measures per stream (the figures of its console
    // page, features/stream-page), and the warnings it raised.
    const readings = () =>
      this.list().flatMap((s) => {
        const r = this.meter(s.app, s.stream);
        return r ? [{ labels: { app: s.app, stream: s.stream }, r }] : [];
      });
    const health = () => readings().flatMap(({ labels, r }) => (r.health ? [{ labels, h: r.health }] : []));
    metrics.gauge('srs_stack_stream_bitrate_kbps', 'Ingest bitrate of each live stream over the last 10 s, kbit/s.', () =>
      readings().map(({ labels, r }) => ({ labels, value: r.kbps })),
    );
    metrics.gauge('srs_stack_stream_fps', 'Video frame rate of each live stream over the last 10 s.', () =>
      readings().map(({ labels, r }) => ({ labels, value: r.fps })),
    );
    metrics.gauge('srs_stack_stream_keyframe_interval_seconds', 'Seconds between the last two keyframes of each live stream.', () =>
      health().map(({ labels, h }) => ({ labels, value: h.keyframeIntervalSeconds })),
    );
    metrics.gauge('srs_stack_stream_av_drift_seconds', 'Latest audio minus latest video timestamp of each live stream.', () =>
      health().map(({ labels, h }) => ({ labels, value: h.avDriftMs / 1000 })),
    );
    metrics.gauge(
      'srs_stack_stream_warnings',
      'Health warnings of each live stream, by code (keyframeInterval, bitrateDrop, noAudio, avDrift, timestampJumps).',
      () => health().flatMap(({ labels, h }) => h.warnings.map((w) => ({ labels: { ...labels, code: w.code }, value: 1 }))),
    );
  }

  // Writes: admission commits and ends; kickoff drops a publisher.

  /**
   * Registers an admitted publish, persisted before it counts as live, then announces it once the
   * engine plays it. A second publisher of a stream whose first is still in the engine is refused.
   */
  async commit(request: StreamRequest): Promise<StreamInfo> {
    const key = streamKey(request.vhost, request.app, request.stream);
    // Once what earlier runs persisted is loaded, `live` holds all of it: no Redis read on the publish hook's path.
    const existing = this.live.get(key) ?? (this.loaded ? null : await this.store.get(key));
    if (existing && existing.client_id !== request.clientId && (await this.enginePublishing(request.app, request.stream))) {
      throw new ConflictError(`stream ${key} is already being published`);
    }
    const info: StreamInfo = {
      vhost: request.vhost,
      app: request.app,
      stream: request.stream,
      param: request.param,
      server_id: this.engine.serverId,
      client_id: request.clientId,
      update: new Date().toISOString(),
    };
    // Held in memory first, persisted without the hook waiting for Redis (docs/architecture.md, "How a
    // publish flows"); a write that fails (Redis restarting) is made again by the next reconcile.
    this.live.set(key, info);
    this.changedAt.set(key, performance.now());
    this.store.put(info).catch((err: unknown) => log.warn(`cannot persist stream ${key} yet; the next reconcile does`, err));
    this.starting.add(key);
    log.info(`publish ${key} over ${request.protocol} from ${request.clientAddress || 'an unknown address'} (client ${request.clientId})`);
    this.announce(key, async () => {
      // Consumers pull from the engine: announcing before it registered the publisher would have
      // them refused (idle_streams off). The hook's answer is what lets the engine register it.
      // Not past the publish's own end: a publisher that left at once (an encoder's reconnect loop)
      // must not keep polling the engine for ENGINE_CONFIRM_MS.
      const shown = await this.engine.untilPublishing(info.app, info.stream, ENGINE_CONFIRM_MS, () => this.live.get(key) !== info);
      if (!shown && this.live.get(key) === info) {
        log.warn(`stream ${key} was admitted but the engine did not show it within ${ENGINE_CONFIRM_MS} ms`);
      }
      // A newer commit of the same stream waits for its own confirmation.
      if (this.live.get(key) === info) {
        this.starting.delete(key);
        this.wakePlayable(key);
      }
      await this.events.emit('stream.published', info);
    });
    return info;
  }

  /** Ends a stream; with `clientId`, only when that client is its registered publisher. */
  async end(vhost: string, app: string, stream: string, why: string, clientId?: string): Promise<boolean> {
    const key = streamKey(vhost, app, stream);
    const removed = await this.store.remove(key, clientId);
    const current = this.live.get(key);
    const info = removed ?? (current && (clientId === undefined || !current.client_id || current.client_id === clientId) ? current : null);
    if (!info) return false;
    this.ended(key, info, why);
    return true;
  }

  /** An ingest registers how kickoff drops its publishers (the engine's own kick follows it). */
  addIngest(protocol: IngestProtocol, kick: PublisherKicker): void {
    this.ingestKickers.set(protocol, kick);
  }

  /** SRS_STAT_COUNTER's play counter: one more player of some stream. */
  countPlay(): Promise<void> {
    return this.store.countPlay();
  }

  async kickoff(vhost: string, app: string, stream: string): Promise<void> {
    const info = this.get(vhost, app, stream) ?? (await this.store.get(streamKey(vhost, app, stream)));
    if (!info) throw new NotFoundError(`stream not found ${streamKey(vhost, app, stream)}`);
    await this.ingestKickers.get(ingestOf(info.param))?.(info);
    await this.kickPublisher(info);
    await this.end(vhost, app, stream, 'kicked off');
  }

  private ended(key: string, info: StreamInfo, why: string): void {
    this.live.delete(key);
    this.changedAt.set(key, performance.now());
    this.starting.delete(key);
    log.info(`stream ${key} ended: ${why}`);
    this.announce(key, () => this.events.emit('stream.unpublished', info));
  }

  /** Runs announcements of one stream in order, so a quick unpublish never overtakes its publish. */
  private announce(key: string, work: () => Promise<void>): void {
    const previous = this.announcing.get(key) ?? Promise.resolve();
    const next = previous.then(work).catch((err) => log.warn(`announcing ${key} failed`, err));
    this.announcing.set(key, next);
    void next.then(() => {
      if (this.announcing.get(key) === next) this.announcing.delete(key);
    });
  }

  private async enginePublishing(app: string, stream: string): Promise<boolean> {
    try {
      return (await this.engine.streams()).some((s) => s.app === app && s.stream === stream && s.publishing);
    } catch {
      return false;
    }
  }

  /** Makes the registry match the engine: ends ghosts, adopts streams it did not know. */
  reconcile(): Promise<void> {
    this.reconciling ??= this.reconcileOnce().finally(() => {
      this.reconciling = null;
    });
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    if (!this.engine.isReady) return;
    const began = performance.now();
    for (const [k, at] of this.changedAt) if (began - at > CHANGE_MEMORY_MS) this.changedAt.delete(k);
    // A stream committed or ended since this reconcile began, or a moment before: the engine's stats
    // may not show that change yet (they are read at most every 25 ms and shared, and nginx drops a
    // kicked publisher after it was told), so what they say of it is not acted on this time.
    const changedSince = (k: string) => (this.changedAt.get(k) ?? -Infinity) >= began - RECENT_CHANGE_MS;
    let engineStreams: EngineStream[];
    let registered: StreamInfo[];
    try {
      engineStreams = await this.engine.streams();
      registered = await this.store.list();
    } catch (err) {
      if (!(err instanceof NotReadyError)) log.warn('cannot reconcile the stream registry', err);
      return;
    }
    const publishing = new Map(engineStreams.filter((s) => s.publishing).map((s) => [streamKey(DEFAULT_VHOST, s.app, s.stream), s]));
    const now = Date.now();
    // What the store holds (a run before this one may have written it) and what memory holds.
    const known = new Map(registered.map((i) => [keyOf(i), i]));
    const stored = new Set(known.keys());
    for (const [k, info] of this.live) if (!known.has(k)) known.set(k, info);
    try {
      for (const [k, info] of known) {
        // Admitted while Redis could not take the write (commit does not wait for it): persisted now.
        if (!stored.has(k) && this.live.get(k) === info) await this.store.put(info, false);
        if (changedSince(k)) continue; // the snapshot is older than the stream's last change
        const at = Date.parse(info.update) || 0;
        if (publishing.has(k) || (at >= this.engineReadyAt && now - at < RECONCILE_GRACE_MS)) {
          if (!this.live.has(k)) {
            this.live.set(k, info);
            this.wakePlayable(k);
          }
          continue;
        }
        await this.end(info.vhost, info.app, info.stream, 'no longer in the engine', info.client_id ?? '');
      }
      for (const [k, s] of publishing) {
        if (known.has(k) || changedSince(k)) continue;
        // Redis lost it (restart without persistence): adopt, without the admission it could not have.
        log.warn(`adopting live stream ${k} missing from the registry`);
        const info: StreamInfo = {
          vhost: DEFAULT_VHOST,
          app: s.app,
          stream: s.stream,
          param: '',
          server_id: this.engine.serverId,
          client_id: s.publisherId ?? '',
          update: new Date().toISOString(),
        };
        await this.store.put(info, false);
        this.live.set(k, info);
        this.wakePlayable(k);
      }
    } catch (err) {
      if (!(err instanceof NotReadyError)) log.warn('reconciling the stream registry failed', err);
    }
  }

  /**
   * Every stream died with the engine; publishers reconnect and are admitted again. Each is
   * announced as ended once Redis has forgotten it: while Redis is down too, reconciliation does it
   * later, so no stream is announced twice.
   */
  private async engineWentDown(): Promise<void> {
    const gone = this.live.size;
    this.live.clear();
    this.starting.clear();
    let registered: StreamInfo[];
    try {
      registered = await this.store.list();
    } catch {
      if (gone) log.warn(`engine down with ${gone} live stream(s); the registry is reconciled when Redis answers`);
      return;
    }
    for (const info of registered) {
      const removed = await this.store.remove(keyOf(info)).catch(() => null);
      if (removed) this.ended(keyOf(removed), removed, 'the engine stopped');
    }
  }
}

/**
 * A stream's media: the size from the engine (it parses the codec configuration), the bitrate, the
 * frame rate and the codecs measured by the meter, the engine's figures where the meter has none.
 */
export function mediaOf(engine: EngineStream | undefined, reading: StreamReading | null): Pick<ActiveStream, 'kbps' | 'video' | 'audio'> {
  const ev = engine?.video;
  const ea = engine?.audio;
  const videoCodec = reading?.videoCodec || ev?.codec || '';
  const audioCodec = reading?.audioCodec || ea?.codec || '';
  return {
    kbps: reading?.kbps ?? 0,
    video:
      ev || videoCodec ? { codec: videoCodec, width: ev?.width ?? 0, height: ev?.height ?? 0, fps: reading?.fps || ev?.fps || 0 } : null,
    audio: ea || audioCodec ? { codec: audioCodec, sample_rate: ea?.sampleRate ?? 0, channel: ea?.channels ?? 0 } : null,
  };
}

/** RTMP players other than the engine's relays and the stack's own loopback consumers. */
function remotePlayers(s: EngineStream): number {
  return s.clients.filter((c) => !c.publishing && !c.relay && c.address !== '127.0.0.1' && c.address !== '::1').length;
}
