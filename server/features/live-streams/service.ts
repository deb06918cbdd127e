// Live streams: publish verification (SRS Stack's rules, before the engine accepts any media), the
// active-stream registry kept true to the engine (reconciled against its stats, so a crash never
// leaves ghosts), kickoff, viewer counts and the publish secret.
import type { EventHub, StreamInfo } from '../../core/events.js';
import { ConflictError, ForbiddenError, NotFoundError, NotReadyError, ValidationError } from '../../core/errors.js';
import { createLogger, registerSecret } from '../../core/logger.js';
import type { Histogram, Metrics } from '../../core/metrics.js';
import { DEFAULT_VHOST, type EngineCallback, type EngineStream, type MediaEngine } from '../../engine/media-engine.js';
import type { PublishSecretStore } from './publish-secret-store.js';
import { publishAllowed, streamKey } from './publish-rules.js';
import { keyOf, type StreamStore } from './stream-store.js';

const log = createLogger('streams');

/** A registry entry younger than this may not show in the engine's stats yet. */
const RECONCILE_GRACE_MS = 10_000;
const RECONCILE_INTERVAL_MS = 5000;

export const PUBLISH_SECRET_PATTERN = /^[\w.~-]{1,128}$/;

export type ViewerSource = (app: string, stream: string) => number;

export interface ActiveStream extends StreamInfo {
  /** Players right now: RTMP players from other hosts plus every registered source (HLS sessions, FLV). */
  viewers: number;
}

export class StreamsService {
  /** `{app}/{stream}` of streams live right now, for delivery decisions that must not wait on Redis. */
  private readonly live = new Set<string>();
  private readonly viewerSources = new Map<string, ViewerSource>();
  private timer: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> | null = null;
  /** When the running engine process became ready: anything registered before went down with an older one. */
  private engineReadyAt = Number.POSITIVE_INFINITY;
  private publishLatency: Histogram | null = null;

  constructor(
    private readonly engine: MediaEngine,
    private readonly store: StreamStore,
    private readonly secrets: PublishSecretStore,
    private readonly events: EventHub,
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
  }

  async onRedisReady(): Promise<void> {
    registerSecret(await this.secrets.get());
    await this.reconcile();
  }

  /** Features add their players (HLS sessions, HTTP-FLV clients) to the viewer count. */
  addViewerSource(name: string, source: ViewerSource): void {
    this.viewerSources.set(name, source);
  }

  isLive(app: string, stream: string): boolean {
    return this.live.has(`${app}/${stream}`);
  }

  /** Prometheus collectors: live streams, players by protocol, and how long publish verification takes. */
  registerMetrics(metrics: Metrics): void {
    this.publishLatency = metrics.histogram(
      'srs_stack_publish_hook_seconds',
      "Time the engine's publish waits for verification (secret, registry, the user's HTTP callback), by result.",
    );
    metrics.gauge('srs_stack_streams', 'Live streams: publishing in the engine right now.', () => [{ value: this.live.size }]);
    metrics.gauge('srs_stack_viewers', 'Players right now, by protocol (hls: sessions; flv; rtmp: players from other hosts).', async () => {
      const streams = [...this.live].map((k) => k.split('/') as [string, string]);
      const samples = [...this.viewerSources].map(([protocol, source]) => ({
        labels: { protocol },
        value: streams.reduce((n, [app, stream]) => n + source(app, stream), 0),
      }));
      try {
        const rtmp = (await this.engine.streams()).reduce((n, s) => n + remotePlayers(s), 0);
        samples.push({ labels: { protocol: 'rtmp' }, value: rtmp });
      } catch {
        /* engine down: unknown, which is not zero */
      }
      return samples;
    });
  }

  /** The engine's callback: answering without an error accepts, any thrown error refuses. */
  async onEngineCallback(cb: EngineCallback): Promise<void> {
    switch (cb.action) {
      case 'on_publish': {
        const started = performance.now();
        let result = 'rejected';
        try {
          await this.publish(cb);
          result = 'accepted';
        } finally {
          this.publishLatency?.observe((performance.now() - started) / 1000, { result });
        }
        return;
      }
      case 'on_unpublish':
        return this.unpublish(cb);
      case 'on_play':
        if (!cb.relay) await this.store.countPlay();
        return;
      case 'on_stop':
        return;
    }
  }

  private async publish(cb: EngineCallback): Promise<void> {
    const key = streamKey(cb.vhost, cb.app, cb.stream);
    if (!(this.engine.apps as readonly string[]).includes(cb.app)) throw new ForbiddenError(`publishing to app "${cb.app}" is not allowed`);
    if (!(await this.secrets.isAuthDisabled())) {
      // A live room's own secret is the only one accepted for its stream.
      const secret = (await this.secrets.roomSecret(cb.stream)) ?? (await this.secrets.get());
      if (!publishAllowed(cb, secret)) {
        log.warn(`refused publish of ${key} from ${cb.ip}: wrong or missing secret`);
        throw new ForbiddenError(`publish refused for ${key}: wrong or missing secret`);
      }
    }
    const existing = await this.store.get(key);
    if (existing && existing.client_id !== cb.client_id && (await this.enginePublishing(cb.app, cb.stream))) {
      throw new ConflictError(`stream ${key} is already being published`);
    }
    const info: StreamInfo = {
      vhost: cb.vhost,
      app: cb.app,
      stream: cb.stream,
      param: cb.param,
      server_id: this.engine.serverId,
      client_id: cb.client_id,
      update: new Date().toISOString(),
    };
    await this.events.emitVetoable('stream.publish', info);
    await this.store.put(info);
    this.live.add(`${cb.app}/${cb.stream}`);
    log.info(`publish ${key} from ${cb.ip} (client ${cb.client_id})`);
  }

  private async unpublish(cb: EngineCallback): Promise<void> {
    // Only the registered publisher's end counts: a refused second publisher also ends.
    const removed = await this.store.remove(streamKey(cb.vhost, cb.app, cb.stream), cb.client_id);
    if (removed) await this.ended(removed, 'unpublished');
  }

  private async ended(info: StreamInfo, why: string): Promise<void> {
    this.live.delete(`${info.app}/${info.stream}`);
    log.info(`stream ${keyOf(info)} ended: ${why}`);
    await this.events.emit('stream.unpublish', info);
  }

  private async enginePublishing(app: string, stream: string): Promise<boolean> {
    try {
      return (await this.engine.streams()).some((s) => s.app === app && s.stream === stream && s.publishing);
    } catch {
      return false;
    }
  }

  async kickoff(vhost: string, app: string, stream: string): Promise<void> {
    const key = streamKey(vhost, app, stream);
    const info = await this.store.get(key);
    if (!info) throw new NotFoundError(`stream not found ${key}`);
    if (this.engine.isReady) await this.engine.kickoff(app, stream);
    const removed = await this.store.remove(key);
    if (removed) await this.ended(removed, 'kicked off');
  }

  async query(): Promise<ActiveStream[]> {
    const [streams, engineStreams] = await Promise.all([this.store.list(), this.engine.streams().catch(() => [] as EngineStream[])]);
    const rtmpPlayers = new Map(engineStreams.map((s) => [`${s.app}/${s.stream}`, remotePlayers(s)]));
    return streams.map((info) => {
      let viewers = rtmpPlayers.get(`${info.app}/${info.stream}`) ?? 0;
      for (const source of this.viewerSources.values()) viewers += source(info.app, info.stream);
      return { ...info, viewers };
    });
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
    let engineStreams: EngineStream[];
    let registered: StreamInfo[];
    try {
      engineStreams = await this.engine.streams();
      registered = await this.store.list();
    } catch (err) {
      if (!(err instanceof NotReadyError)) log.warn('cannot reconcile the stream registry', err);
      return;
    }
    const publishing = new Map(engineStreams.filter((s) => s.publishing).map((s) => [`${s.app}/${s.stream}`, s]));
    const now = Date.now();
    try {
      for (const info of registered) {
        const k = `${info.app}/${info.stream}`;
        const at = Date.parse(info.update) || 0;
        if (publishing.has(k) || (at >= this.engineReadyAt && now - at < RECONCILE_GRACE_MS)) continue;
        const removed = await this.store.remove(keyOf(info), info.client_id ?? '');
        if (removed) await this.ended(removed, 'no longer in the engine');
      }
      const known = new Set(registered.map((i) => `${i.app}/${i.stream}`));
      for (const [k, s] of publishing) {
        if (known.has(k)) continue;
        // Redis lost it (restart without persistence): adopt, without a publish event it could not veto.
        log.warn(`adopting live stream ${k} missing from the registry`);
        await this.store.put(
          {
            vhost: DEFAULT_VHOST,
            app: s.app,
            stream: s.stream,
            param: '',
            server_id: this.engine.serverId,
            client_id: s.publisherId ?? '',
            update: new Date().toISOString(),
          },
          false,
        );
      }
    } catch (err) {
      if (!(err instanceof NotReadyError)) log.warn('reconciling the stream registry failed', err);
    }
    this.live.clear();
    for (const k of publishing.keys()) this.live.add(k);
  }

  /** Every stream died with the engine; publishers reconnect and are verified again. */
  private async engineWentDown(): Promise<void> {
    const gone = [...this.live];
    this.live.clear();
    let registered: StreamInfo[];
    try {
      registered = await this.store.list();
    } catch {
      if (gone.length) log.warn(`engine down with ${gone.length} live stream(s); the registry is reconciled when Redis answers`);
      return;
    }
    for (const info of registered) {
      const removed = await this.store.remove(keyOf(info)).catch(() => null);
      if (removed) await this.ended(removed, 'the engine stopped');
    }
  }

  // Publish secret (reference §2.5).

  async publishSecret(): Promise<{ publish: string }> {
    const secret = await this.secrets.get();
    if (!secret) throw new NotReadyError('system not boot yet: the publish secret is created at first boot');
    return { publish: secret };
  }

  async updatePublishSecret(secret: string): Promise<void> {
    if (!PUBLISH_SECRET_PATTERN.test(secret)) {
      throw new ValidationError('secret must be 1 to 128 letters, digits, or . _ ~ - (it goes into publish URLs)');
    }
    registerSecret(secret);
    // Publishers already live keep going, as in SRS Stack; the new secret applies to the next publish.
    await this.secrets.set(secret);
  }

  async setAuthDisabled(disabled: boolean): Promise<void> {
    await this.secrets.setAuthDisabled(disabled);
  }

  isAuthDisabled(): Promise<boolean> {
    return this.secrets.isAuthDisabled();
  }
}

/** RTMP players other than the engine's relays and the stack's own loopback consumers. */
function remotePlayers(s: EngineStream): number {
  return s.clients.filter((c) => !c.publishing && !c.relay && c.address !== '127.0.0.1' && c.address !== '::1').length;
}
