// The composition root: builds every service once, hands each its dependencies, and owns the
// order of start() and stop(). No other module creates long-lived objects.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import type { Config } from './config.js';
import { ensureDataDir, type DataPaths } from './core/data-dir.js';
import { EventHub } from './core/events.js';
import { embeddedRedisSpec } from './core/embedded-redis.js';
import { commonHeaderValues, commonHeaders, errorHandler } from './core/http.js';
import { loadDictionaries } from './core/i18n.js';
import { createLogger } from './core/logger.js';
import { RedisClient, type RedisTarget } from './core/redis.js';
import { Metrics } from './core/metrics.js';
import { registerProcessMetrics } from './core/process/metrics.js';
import { DEFAULT_VHOST, LIVE_APP } from './core/stream-names.js';
import { Supervisor } from './core/process/supervisor.js';
import { Views } from './core/views.js';
import { RouteBinder } from './core/routing.js';
import { sendFile } from './core/static-files.js';
import { ROUTE_TABLE, ROUTES } from './route-table.js';
import { DEFAULT_RELAY_LIMITS, FlvGateway } from './features/flv/flv-gateway.js';
import { flvHandlers } from './features/flv/routes.js';
import { LiveTap } from './features/live-tap/live-tap.js';
import { DEFAULT_TAP_OPTIONS, TapServer } from './features/live-tap/tap-server.js';
import { DEFAULT_MAX_GOP_BYTES } from './core/media/gop-cache.js';
import { SlatePicture } from './features/restream/slate/picture.js';
import { SlateSessions } from './features/restream/slate/sessions.js';
import { LoginThrottle } from './features/auth/login-throttle.js';
import { authHandlers } from './features/auth/routes.js';
import { AuthService } from './features/auth/service.js';
import { AuthStore } from './features/auth/store.js';
import { callbackHandlers, callbackLoopGuard, registerCallbackTab } from './features/callback/routes.js';
import { CallbackService } from './features/callback/service.js';
import { CallbackStore } from './features/callback/store.js';
import { Console } from './features/console/console.js';
import { consoleHandlers } from './features/console/routes.js';
import { LetsEncryptService } from './features/https/letsencrypt.js';
import { HttpsListener } from './features/https/listener.js';
import { httpsHandlers, registerHttpsTab } from './features/https/routes.js';
import { HttpsService } from './features/https/service.js';
import { AcmeFiles, CertificateFiles, HttpsStore } from './features/https/store.js';
import { registerSystemTabs, systemHandlers } from './features/system/routes.js';
import { SystemService } from './features/system/service.js';
import { SystemStore } from './features/system/store.js';
import { Admission } from './features/live-streams/admission.js';
import { publishSecretGate, streamNameGate } from './features/live-streams/gates.js';
import { PublishSecretStore } from './features/live-streams/publish-secret-store.js';
import { PublishSecrets } from './features/live-streams/publish-secrets.js';
import { LiveRegistry } from './features/live-streams/registry.js';
import { srsApiHandlers } from './features/srs-api/routes.js';
import { SrsApi } from './features/srs-api/service.js';
import { ROUTE_DOCS } from './route-docs.js';
import { registerFaqTab } from './features/console/faq.js';
import { playRowsFor, registerStreamingTab, streamingHandlers } from './features/streaming-guide/routes.js';
import { recordHandlers, registerRecordTab } from './features/record/routes.js';
import { RecordService } from './features/record/service.js';
import { RecordStore } from './features/record/store.js';
import { cameraHandlers, registerCameraTab } from './features/restream/camera/routes.js';
import { forwardHandlers, registerForwardTab } from './features/restream/forward/routes.js';
import { CameraService } from './features/restream/camera/service.js';
import { ForwardService } from './features/restream/forward/service.js';
import { FfmpegBinary, destinationGroups, startRestream, stopRestream, type Restream } from './features/restream/restream.js';
import { DestinationWatch } from './features/restream/destinations.js';
import { StreamPageService } from './features/stream-page/service.js';
import { streamPageHandlers } from './features/stream-page/routes.js';
import { TranscodeService } from './features/restream/transcode/service.js';
import { VliveService } from './features/restream/vlive/service.js';
import { Uploads } from './features/restream/vlive/uploads.js';
import type { RestreamDeps } from './features/restream/deps.js';
import { registerTranscodeTab, transcodeHandlers } from './features/restream/transcode/routes.js';
import { registerVliveTab, vliveHandlers } from './features/restream/vlive/routes.js';
import { HlsDelivery, fastPathNames } from './features/hls/delivery.js';
import { hlsHandlers } from './features/hls/routes.js';
import { TimeshiftDelivery } from './features/timeshift/delivery.js';
import { TimeshiftStore } from './features/timeshift/store.js';
import { systemClock } from './features/record/clock.js';
import { HlsSegmentWatcher } from './features/hls/segment-watcher.js';
import type { MediaEngine } from './engine/media-engine.js';
import type { StreamRequest } from './core/stream-request.js';
import { NginxRtmpEngine } from './engine/nginx-rtmp/engine.js';
import { HlsSettings } from './features/hls/settings-store.js';
import { LlHlsService } from './features/ll-hls/service.js';
import { LiveRoomService } from './features/live-streams/live-room-service.js';
import { LiveRoomStore } from './features/live-streams/live-room-store.js';
import { registerStreamsTabs, streamsHandlers } from './features/live-streams/routes.js';
import { StreamStore } from './features/live-streams/stream-store.js';
import { SrtGateway, srtSocketDir } from './features/srt/gateway.js';
import { srtHandlers } from './features/srt/routes.js';
import { webrtcHandlers } from './features/webrtc/routes.js';
import { hlsGuard, httpViewerGuard } from './features/play-auth/guards.js';
import { playAuthHandlers } from './features/play-auth/routes.js';
import { CONSOLE_SIGNED_SECONDS, PlayAuth, tokenOf, type PlayRequest } from './features/play-auth/service.js';
import { PlayAuthSettings } from './features/play-auth/settings.js';
import { WebRtcService } from './features/webrtc/service.js';

const log = createLogger('app');

/** Repository root: dist/server/app.js → ../.. ; server/app.ts (tsx) → .. */
export const PROJECT_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '..', '..') : path.resolve(here, '..');
})();

export interface Listening {
  http: { host: string; port: number };
  https: { host: string; port: number };
}

export class App {
  readonly paths: DataPaths;
  readonly supervisor: Supervisor;
  readonly redis: RedisClient;
  readonly auth: AuthService;
  readonly system: SystemService;
  readonly record: RecordService;
  readonly https: HttpsService;
  readonly letsencrypt: LetsEncryptService;
  readonly callbacks: CallbackService;
  readonly restream: Restream;
  /** Each restream destination's state over time: callbacks on its drops, its metrics. */
  readonly destinations: DestinationWatch;
  /** Five minutes of each live stream's health and destinations: its console page and streams.health. */
  readonly streamPages: StreamPageService;
  readonly events = new EventHub();
  readonly flv: FlvGateway;
  /**
   * Every live stream as it flows into the stack from its first frame, with its GOP cache: what
   * features read live media from (a LiveSource; HTTP-FLV does).
   */
  readonly tap: LiveTap;
  private readonly tapServer: TapServer;
  readonly metrics = new Metrics();
  readonly engine: MediaEngine;
  /** The one answer to "is it live?" (docs/architecture.md). */
  readonly registry: LiveRegistry;
  /** The one path every ingest's publish goes through. */
  readonly admission: Admission;
  readonly publishSecrets: PublishSecrets;
  /** SRT publish and play on one UDP port. */
  readonly srt: SrtGateway;
  /** WHIP publish and WHEP play, on one UDP port. */
  readonly webrtc: WebRtcService;
  /** Who may watch: signed play URLs or the on_play callback, off by default. */
  readonly playAuth: PlayAuth;
  private readonly ffmpegBinary: FfmpegBinary;
  private readonly hlsWatcher: HlsSegmentWatcher;
  private readonly hlsDelivery: HlsDelivery;
  private readonly llHls: LlHlsService;
  /** Live timeshift by stream name: the engine's segments of streams not being recorded (features/timeshift). */
  readonly timeshift: TimeshiftStore;
  readonly koa: Koa;
  /** The HTTP and HTTPS servers' listener: the route table's fast lane, then Koa (core/routing.ts). */
  private readonly handleRequest: http.RequestListener;
  private httpServer: http.Server | null = null;
  private readonly stopProcessMetrics: () => void;
  private starting: Promise<Listening> | null = null;
  private readonly embeddedRedis: ReturnType<typeof embeddedRedisSpec> | null;

  constructor(
    readonly config: Config,
    readonly version: string,
  ) {
    this.paths = ensureDataDir(config.dataDir);
    this.supervisor = new Supervisor(this.paths.run);

    // Redis: our own redis-server on a private socket, unless REDIS_HOST names an external one.
    let target: RedisTarget;
    if (config.redis.host) {
      this.embeddedRedis = null;
      target = { host: config.redis.host, port: config.redis.port };
    } else {
      this.embeddedRedis = embeddedRedisSpec({
        binary: config.binaries.redisServer,
        redisDir: this.paths.redis,
        password: config.redis.password,
        readiness: () => this.redis.ping(),
      });
      target = { path: this.embeddedRedis.socket };
    }
    this.redis = new RedisClient({ target, password: config.redis.password, database: config.redis.database });

    const authStore = new AuthStore(this.redis, this.paths.config);
    this.auth = new AuthService(config, authStore, new LoginThrottle());
    const publishSecretStore = new PublishSecretStore(this.redis);
    this.publishSecrets = new PublishSecrets(publishSecretStore);
    this.system = new SystemService(config, version, this.redis, new SystemStore(this.redis), publishSecretStore, this.supervisor);
    this.callbacks = new CallbackService(new CallbackStore(this.redis), this.paths.record, [config.mgmtListen, config.httpsListen]);
    this.callbacks.listen(this.events);

    /** How this host reaches the stack's own HTTP listener (the engine's hook, internal FLV reads). */
    const loopbackOrigin = `http://${loopbackHost(config.listenHost)}:${config.mgmtListen}`;
    // The live tap: the engine pushes every stream into this process (a loopback RTMP listener).
    this.tap = new LiveTap(DEFAULT_MAX_GOP_BYTES);
    this.tapServer = new TapServer(this.tap, { ...DEFAULT_TAP_OPTIONS, port: config.tapListen });
    // Media engine and live streams: the engine posts its hook to this process's HTTP port.
    const engine = new NginxRtmpEngine({
      prefix: this.paths.engine,
      nginxBinary: config.binaries.nginx,
      rtmpModule: config.binaries.nginxRtmpModule,
      rtmpPort: config.rtmpListen,
      callbackOrigin: loopbackOrigin,
      supervisor: this.supervisor,
      pushTargets: (app) => [this.tapServer.pushUrl(app)],
    });
    this.engine = engine;
    this.registry = new LiveRegistry(engine, new StreamStore(this.redis), this.events, async (info) => {
      if (engine.isReady) await engine.kickoff(info.app, info.stream);
    });
    // Admission's gates, in order: the stack's own checks first, so the user's receiver only ever
    // hears about publishes with a valid name and secret.
    this.admission = new Admission(
      [
        streamNameGate(engine.apps),
        publishSecretGate(publishSecretStore),
        { name: 'HTTP callback', check: (request) => this.callbacks.onPublish(request) },
      ],
      this.registry,
    );
    this.hlsWatcher = new HlsSegmentWatcher({
      output: engine.hls.lowLatency,
      apps: engine.apps,
      vhost: DEFAULT_VHOST,
      events: this.events,
      leftovers: { dirs: () => engine.leftovers(engine.hls.lowLatency), discard: () => engine.discardLeftovers() },
    });
    // Play authentication: every way of watching admits its viewers through it (features/play-auth).
    const playAuthSettings = new PlayAuthSettings(this.redis);
    const viewerFields = (v: PlayRequest) => ({ ...v, vhost: v.vhost ?? DEFAULT_VHOST, param: v.param ?? '' });
    this.playAuth = new PlayAuth(playAuthSettings, {
      onPlay: (v, failClosed) => this.callbacks.onPlay(viewerFields(v), failClosed),
      onStop: (v) => this.callbacks.onStop(viewerFields(v)),
    });
    const playAuth = this.playAuth;
    const hlsSettings = new HlsSettings(this.redis);
    this.hlsDelivery = new HlsDelivery(
      engine,
      () => hlsSettings.current,
      (app, stream) => this.registry.isLive(app, stream),
      hlsGuard(playAuth),
    );
    this.registry.addViewerSource('hls', (app, stream) => this.hlsDelivery.viewers(app, stream));
    // Every live stream flows through the tap: it measures bitrate, frame rate and codecs (Streams page, streams.query).
    this.registry.setMeter((app, stream) => this.tap.media(app, stream));
    // LL-HLS muxed by the stack from the tap; its players are hls_ctx sessions like classic HLS ones.
    this.llHls = new LlHlsService({
      source: this.tap,
      apps: engine.apps,
      isLive: (app, stream) => this.registry.isLive(app, stream),
      sessions: this.hlsDelivery,
    });
    // nginx-rtmp has no HTTP-FLV: the stack serves it from the tap, one subscription per watched stream.
    this.flv = new FlvGateway({
      source: this.tap,
      isLive: (app, stream) => this.registry.isLive(app, stream),
      loopbackOrigin,
      limits: { ...DEFAULT_RELAY_LIMITS, clientQueueBytes: config.flvClientQueueBytes },
      admit: httpViewerGuard(playAuth, 'flv'),
    });
    this.registry.addViewerSource('flv', (app, stream) => this.flv.players(app, stream));
    // SRT: one UDP port; publishes go through the same admission and bridge into the engine.
    this.srt = new SrtGateway(
      {
        listen: config.srt.listen,
        host: srtBindHost(config.listenHost),
        latencyMs: config.srt.latencyMs,
        passphrase: config.srt.passphrase,
        socketDir: srtSocketDir(this.paths.run),
        ffmpeg: config.binaries.ffmpeg,
        rtmpPort: config.rtmpListen,
        liveInput: (app, stream) => this.flv.internalUrl(app, stream),
        libraries: config.srt.library ? [config.srt.library] : undefined,
      },
      {
        supervisor: this.supervisor,
        admission: this.admission,
        registry: this.registry,
        events: this.events,
        apps: engine.apps,
        publishRules: () => publishSecretStore.snapshot(),
        admitPlayer: async (conn) =>
          (
            await playAuth.admit({
              protocol: 'srt',
              app: conn.app,
              stream: conn.stream,
              token: tokenOf(conn.param),
              clientAddress: conn.peer.ip,
              param: conn.param,
              clientId: String(conn.id),
            })
          ).left,
      },
    );
    // WebRTC: WHIP publishes go through admission like RTMP ones and bridge into the engine; WHEP
    // viewers count in the registry.
    this.webrtc = new WebRtcService(
      {
        listen: config.rtc.listen,
        candidatePort: Number(config.display.rtcPort) || config.rtc.listen,
        candidate: config.rtc.candidate,
        nameLookup: config.rtc.nameLookup,
        rtmpPort: config.rtmpListen,
        ffmpeg: config.binaries.ffmpeg,
        ffprobe: config.binaries.ffprobe,
        workDir: path.join(this.paths.run, 'webrtc'),
      },
      { supervisor: this.supervisor, admission: this.admission, registry: this.registry, events: this.events },
    );
    const rooms = new LiveRoomService(new LiveRoomStore(this.redis, () => publishSecretStore.rulesChanged()));
    // RTMP viewers: nginx-rtmp's on_play / on_play_done, by its client id.
    const rtmpLeaving = new Map<string, () => void>();
    const streamsDeps = {
      registry: this.registry,
      admission: this.admission,
      secrets: this.publishSecrets,
      hlsSettings,
      rooms,
      engine,
      // The console's Streams and Live rooms pages play a private stream with a signed token.
      signPlayPath: async (app: string, stream: string, path: string) =>
        playAuth.guarded(app, stream) ? `${path}?token=${(await playAuth.sign(app, stream, CONSOLE_SIGNED_SECONDS)).token}` : path,
      rtmpViewers: {
        play: async (request: StreamRequest) => {
          const admitted = await playAuth.admit({ ...request, protocol: 'rtmp', token: tokenOf(request.param) });
          if (admitted.via === 'callback' && request.clientId) rtmpLeaving.set(request.clientId, admitted.left);
        },
        stop: (request: StreamRequest) => {
          rtmpLeaving.get(request.clientId)?.();
          rtmpLeaving.delete(request.clientId);
        },
      },
    };

    const httpsStore = new HttpsStore(this.redis);
    this.https = new HttpsService(
      httpsStore,
      new CertificateFiles(this.paths.config),
      new HttpsListener(config.listenHost, config.httpsListen),
      config.autoSelfSignedCertificate,
    );
    this.letsencrypt = new LetsEncryptService(
      {
        directoryUrl: config.acmeDirectoryUrl,
        caFile: config.acmeCaFile,
        email: config.acmeEmail,
        selfCheckPort: config.acmeSelfCheckPort,
        wellKnownDir: this.paths.wellKnown,
      },
      new AcmeFiles(this.paths.lego),
      this.https,
      httpsStore,
    );

    this.record = new RecordService(config, this.paths, new RecordStore(this.redis), this.events, undefined, undefined, true);
    // Live timeshift by stream name (features/timeshift): a recorded stream's record keeps its
    // segments; the store keeps the others' for the window, unless the disk guard says the disk is low.
    this.timeshift = new TimeshiftStore({
      dir: path.join(this.paths.root, 'dvr', 'timeshift'),
      windowSeconds: () => this.record.timeshiftSeconds(),
      recorded: (app, stream) => this.record.recordsSegmentsOf(app, stream),
      diskLow: () => this.record.diskIsLow(),
      clock: systemClock,
    });
    this.timeshift.listen(this.events);
    // Record retention's free-space threshold warns on every console page (views/layout.ejs).
    this.system.addStorageCheck(() => this.record.diskWarning());

    // Restream: the four slot kinds over one set of parts; a committed publish re-plans at once.
    this.ffmpegBinary = new FfmpegBinary(config.binaries.ffmpeg);
    // The slate (docs/architecture.md, "The slate"): one picture for the stack; a new one re-encodes the clips.
    const slatePicture = new SlatePicture({
      dir: this.paths.slate,
      cacheDir: path.join(this.paths.run, 'slate'),
      ffmpeg: config.binaries.ffmpeg,
      ffprobe: config.binaries.ffprobe,
    });
    const slates = new SlateSessions({
      source: this.tap,
      ffmpeg: config.binaries.ffmpeg,
      dir: path.join(this.paths.run, 'slate'),
      look: () => slatePicture.look(),
      // The grace period ran out: the slot's task stops unless its stream is live again.
      onFeedEnded: () => this.restream.forward.tasks.poke(),
    });
    slatePicture.onChange(() => slates.renew());
    const restreamDeps: RestreamDeps = {
      config,
      paths: this.paths,
      redis: this.redis,
      supervisor: this.supervisor,
      streams: this.registry,
      liveInput: (app, stream) => this.flv.internalUrl(app, stream),
      limits: () => this.system.limits(),
      ffmpeg: () => this.ffmpegBinary.current,
      slates,
    };
    const ffmpegBinary = this.ffmpegBinary;
    this.restream = {
      forward: new ForwardService(restreamDeps),
      vlive: new VliveService(restreamDeps),
      camera: new CameraService(restreamDeps),
      transcode: new TranscodeService(restreamDeps),
      uploads: new Uploads(this.paths.root, config.upload.maxBytes, config.upload.ttlMs),
      slatePicture,
      get ffmpeg() {
        return ffmpegBinary.current;
      },
    };
    this.destinations = new DestinationWatch(destinationGroups(this.restream), this.events);
    this.streamPages = new StreamPageService(this.registry, this.destinations);
    const replanStreamTasks = () => {
      this.restream.forward.tasks.poke();
      this.restream.transcode.tasks.poke();
    };
    this.events.on('stream.published', replanStreamTasks);
    this.events.on('stream.unpublished', replanStreamTasks);

    // After every (re)connection to Redis, in this order; each step runs even if one before failed.
    this.redis.onReady('auth', () => this.auth.onRedisReady());
    this.redis.onReady('system', () => this.system.onRedisReady());
    this.redis.onReady('https', () => this.https.onRedisReady());
    this.redis.onReady("let's encrypt", () => this.letsencrypt.onRedisReady());
    this.redis.onReady('hls settings', () => hlsSettings.load());
    this.redis.onReady('play auth', () => playAuthSettings.load());
    this.redis.onReady('publish secret', () => this.publishSecrets.onRedisReady());
    this.redis.onReady('live registry', () => this.registry.onRedisReady());
    this.redis.onReady('live rooms', () => rooms.onRedisReady());
    this.redis.onReady('record', () => this.record.onRedisReady());
    const publishSecret = async () => (await this.publishSecrets.current()).publish;

    // HTTP: envelope and errors, API routes, console, static files, then the fallback.
    const viewsDir = path.join(PROJECT_ROOT, 'views');
    const views = new Views(viewsDir, loadDictionaries(viewsDir), config.nodeEnv === 'production');
    // Every route is in ROUTE_TABLE; each feature hands in the handlers of its ids. Installing refuses
    // an entry nothing was bound to, and binding refuses an id the table does not have.
    const ui = new Console(views, this.auth, this.system, config.locale);
    const routes = new RouteBinder(ROUTE_TABLE);
    routes.bind(authHandlers(this.auth, this.system, ui));
    routes.bind(systemHandlers(this.system, this.metrics));
    routes.bind(httpsHandlers(this.https, this.letsencrypt));
    routes.bind(callbackHandlers(this.callbacks));
    routes.bind(recordHandlers(this.record));
    routes.bind(consoleHandlers(ui, this.auth, this.system));
    // The console's pages sign the play URLs of private streams (a day's validity; docs/compatibility.md §13).
    const playUrlSigner = {
      anyPrivate: () => playAuthSettings.current.mode !== 'off' || Object.values(playAuthSettings.current.streams).some((m) => m !== 'off'),
      isPrivate: (stream: string) => playAuth.guarded(LIVE_APP, stream),
      tokenFor: (stream: string) => playAuth.sign(LIVE_APP, stream, CONSOLE_SIGNED_SECONDS),
    };
    const streamingAvailability = () => ({ srt: this.srt.available, webrtc: this.webrtc.available });
    routes.bind(
      streamingHandlers(
        ui,
        config,
        publishSecretStore,
        rooms,
        streamingAvailability,
        playUrlSigner,
        () => this.record.timeshiftSeconds() / 60,
      ),
    );
    routes.bind(forwardHandlers(this.restream));
    routes.bind(vliveHandlers(this.restream));
    routes.bind(cameraHandlers(this.restream));
    routes.bind(transcodeHandlers(this.restream));
    routes.bind(streamsHandlers(streamsDeps));
    routes.bind(streamPageHandlers(this.streamPages, ui));
    const timeshiftDelivery = new TimeshiftDelivery({
      apps: engine.apps,
      sessions: this.hlsDelivery,
      store: this.timeshift,
      record: this.record,
    });
    routes.bind(hlsHandlers(this.hlsDelivery, [timeshiftDelivery, this.llHls]));
    routes.bindFast('hls.file', this.hlsDelivery.fastFile);
    // DVR files (timeshift) are not fast: Koa's lane answers whatever these decline.
    routes.bindFast('hls.nestedFile', async (req, res, urlPath, query, headers) => {
      const names = fastPathNames(urlPath, 3) as [string, string, string] | null;
      if (!names) return false;
      if (await this.llHls.fastFile(req, res, names, query, headers)) return true;
      return this.hlsDelivery.fastSegment(req, res, names[0], names[1], names[2], headers);
    });
    routes.bind(flvHandlers(this.flv));
    routes.bind(srtHandlers(this.srt));
    routes.bind(webrtcHandlers(this.webrtc, ui, config.display.rtcPort, httpViewerGuard(playAuth, 'webrtc')));
    routes.bind(playAuthHandlers(playAuth, playAuthSettings));
    routes.bind(srsApiHandlers(new SrsApi(this.registry, this.engine, () => this.flv.edgePulls())));
    // The in-page players come straight from their npm packages (no CDN: consoles run on closed networks).
    const npmDist = (pkg: string) => path.join(PROJECT_ROOT, 'node_modules', pkg, 'dist');
    routes.bind({
      'console.assets': { root: path.join(viewsDir, 'public'), options: { maxAgeSeconds: 3600 } },
      'console.vendorHls': { root: npmDist('hls.js'), options: { maxAgeSeconds: 86400 } },
      'console.vendorMpegts': { root: npmDist('mpegts.js'), options: { maxAgeSeconds: 86400 } },
      'console.vendorUplot': { root: npmDist('uplot'), options: { maxAgeSeconds: 86400 } },
      'https.wellKnown': { root: this.paths.wellKnown },
    });
    // Browsers ask for /favicon.ico whatever the page says; pages also link the SVG (views/layout.ejs).
    const favicon = path.join(viewsDir, 'public', 'favicon.ico');
    routes.bind({ 'console.favicon': ({ ctx }) => sendFile(ctx, favicon, { maxAgeSeconds: 86400, contentType: 'image/x-icon' }) });

    registerSystemTabs(ui, this.system, this.auth, ROUTES, ROUTE_DOCS);
    registerHttpsTab(ui, this.https, this.letsencrypt, { httpPort: config.mgmtListen, httpsPort: config.httpsListen });
    registerCallbackTab(ui, this.callbacks);
    registerRecordTab(ui, this.record);
    registerStreamingTab(ui, config, publishSecretStore, streamingAvailability, playUrlSigner);
    registerForwardTab(ui, this.restream);
    registerVliveTab(ui, this.restream);
    registerCameraTab(ui, this.restream);
    registerTranscodeTab(ui, this.restream, publishSecret, playRowsFor(config, publishSecretStore, streamingAvailability, playUrlSigner));
    registerStreamsTabs(ui, streamsDeps, config.display.rtmpPort);
    registerFaqTab(ui, path.join(PROJECT_ROOT, 'docs'));

    this.stopProcessMetrics = registerProcessMetrics(this.metrics, this.supervisor);
    this.registry.registerMetrics(this.metrics);
    this.admission.registerMetrics(this.metrics);
    this.record.registerMetrics(this.metrics);
    this.callbacks.registerMetrics(this.metrics);
    this.playAuth.registerMetrics(this.metrics);
    this.destinations.registerMetrics(this.metrics);

    this.koa = new Koa();
    this.koa.use(commonHeaders(version));
    this.koa.use(errorHandler((ctx, status, message) => ui.renderError(ctx, status, message)));
    this.koa.use(callbackLoopGuard(this.callbacks));
    routes.install(this.koa, {
      secured: async (ctx, body) => {
        await this.auth.authenticate({
          authorization: ctx.get('authorization') || undefined,
          bodyToken: typeof body.token === 'string' ? body.token : undefined,
          sessionToken: ctx.cookies.get('srs_session') || undefined,
          csrfToken: ctx.get('x-csrf-token') || undefined,
        });
        return true;
      },
      session: (ctx, body) => ui.checkSession(ctx, body),
      'session-page': (ctx) => ui.checkPage(ctx),
    });
    this.handleRequest = routes.listener(this.koa, commonHeaderValues(version));
    this.metrics.counter(
      'srs_stack_http_fast_lane_total',
      'Requests answered by the fast lane, without Koa (docs/architecture.md), by route',
      () => [...routes.fastAnswered].map(([route, value]) => ({ labels: { route }, value })),
    );
    this.koa.on('error', (err: Error & { code?: string }) => {
      // Client aborts are routine for media players; everything else is worth a line.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        log.warn('response error', err);
      }
    });
  }

  /**
   * Starts everything. A SIGTERM may arrive while this runs (the HTTP listener answers before the
   * engine is up): stop() waits for it to settle, or the engine spawned after stop() had stopped
   * the supervisor would outlive the stack.
   */
  start(): Promise<Listening> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<Listening> {
    await this.supervisor.start();
    if (this.embeddedRedis) this.supervisor.add(this.embeddedRedis.spec).start();
    this.redis.start();
    await this.flv.start();
    // Subscribed to the tap's stream starts before the tap listens, so it sees every stream's first tag.
    this.llHls.start();
    this.record.start();
    await this.timeshift.start();
    await this.ffmpegBinary.detect();
    startRestream(this.restream);
    this.destinations.start();
    this.streamPages.start();
    await this.webrtc.start();
    // Listen at once: until Redis answers, the console shows "starting" and the API says so.
    const server = http.createServer(this.handleRequest);
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = 0; // HTTP-FLV and uploads are long-lived
    this.httpServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.mgmtListen, this.config.listenHost, () => resolve());
    });
    log.info(`HTTP listening on ${this.config.listenHost}:${this.config.mgmtListen}, data in ${this.config.dataDir}`);
    await this.https.start(this.handleRequest);
    this.letsencrypt.start();
    log.info(`HTTPS listening on ${this.config.listenHost}:${this.config.httpsListen}`);
    // The tap before the engine: the engine pushes every stream to it from its first frame.
    try {
      await this.tapServer.start();
    } catch (err) {
      log.error(`the live tap cannot listen on 127.0.0.1:${this.config.tapListen} (TAP_LISTEN): HTTP-FLV is unavailable`, err);
    }
    // The engine after the HTTP listener: its publish callback must find us.
    try {
      await this.engine.start();
    } catch (err) {
      log.error('the media engine cannot start: live streaming is unavailable', err);
    }
    await this.hlsWatcher.start();
    this.registry.start();
    this.hlsDelivery.start();
    await this.srt.start();
    return {
      http: { host: this.config.listenHost, port: this.config.mgmtListen },
      https: { host: this.config.listenHost, port: this.config.httpsListen },
    };
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    // WHIP sessions end their streams (callbacks, registry): before those stop.
    await this.webrtc.stop();
    await this.letsencrypt.stop();
    await this.callbacks.stop();
    await this.https.stop();
    await this.srt.stop();
    this.hlsDelivery.stop();
    this.llHls.stop();
    await this.registry.stop();
    await this.hlsWatcher.stop();
    const server = this.httpServer;
    this.httpServer = null;
    // Players hold their responses open: end them first so the HTTP server can close at once.
    await this.flv.stop();
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2000).unref();
      await closed;
    }
    this.timeshift.stop();
    await this.record.stop();
    this.destinations.stop();
    await this.streamPages.stop();
    await stopRestream(this.restream);
    await this.tapServer.stop();
    await this.redis.stop();
    await this.supervisor.stop();
    this.stopProcessMetrics();
  }
}

/** SRT's listener is IPv4 (as SRS Stack's): an IPv6 or empty LISTEN_HOST binds every IPv4 address. */
export function srtBindHost(listenHost: string): string {
  return /^\d+\.\d+\.\d+\.\d+$/.test(listenHost) ? listenHost : '0.0.0.0';
}

/** How this host reaches our own listener: a wildcard bind is reached on loopback. */
export function loopbackHost(listenHost: string): string {
  if (!listenHost || listenHost === '0.0.0.0') return '127.0.0.1';
  if (listenHost === '::') return '127.0.0.1'; // dual-stack bind
  return listenHost.includes(':') ? `[${listenHost}]` : listenHost;
}
