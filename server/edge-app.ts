// The composition root of the edge role (docs/architecture.md#edges; EDGE_ORIGIN set): the same
// program serves another stack's (the origin's) streams, with no Redis, console or API of its own.
// nginx owns the public ports: its proxy_cache serves HLS and LL-HLS from the origin's, nginx-rtmp
// serves RTMP players; this process serves HTTP-FLV to nginx on loopback, from one pull per watched
// stream (features/edge/origin-pull.ts) through the live tap and the FLV gateway, exactly as an
// origin fans out a stream, and relays that same pull into nginx-rtmp while a stream has RTMP
// players (features/edge/rtmp-relay.ts): one origin connection per stream whatever the players.
import crypto from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import Koa from 'koa';
import type { Config, EdgeConfig } from './config.js';
import { ensureDataDir, type DataPaths } from './core/data-dir.js';
import { commonHeaders, errorHandler } from './core/http.js';
import { createLogger } from './core/logger.js';
import { DEFAULT_MAX_GOP_BYTES } from './core/media/gop-cache.js';
import { Supervisor } from './core/process/supervisor.js';
import { RouteBinder } from './core/routing.js';
import { LIVE_APP } from './core/stream-names.js';
import { renderEdgeNginxConfig } from './engine/nginx-rtmp/edge-config.js';
import { NginxRtmpEngine } from './engine/nginx-rtmp/engine.js';
import { DEFAULT_ORIGIN_PULL, OriginPull } from './features/edge/origin-pull.js';
import { EdgeRtmpRelay } from './features/edge/rtmp-relay.js';
import { DEFAULT_RELAY_LIMITS, FlvGateway } from './features/flv/flv-gateway.js';
import { flvHandlers } from './features/flv/routes.js';
import { LiveTap } from './features/live-tap/live-tap.js';
import { ROUTE_TABLE } from './route-table.js';
import type { Listening } from './app.js';

const log = createLogger('edge');

/** The routes an edge's own process serves (to its nginx, on loopback): HTTP-FLV and the version probe. */
export const EDGE_ROUTES = { 'flv.play': ROUTE_TABLE['flv.play'], 'system.versions': ROUTE_TABLE['system.versions'] } as const;

/** This edge's name in the origin's logs and SRS API clients (X-SRS-Edge): the host name, tamed. */
export function edgeName(hostname: string): string {
  return hostname.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'edge';
}

export class EdgeApp {
  readonly paths: DataPaths;
  readonly supervisor: Supervisor;
  readonly tap = new LiveTap(DEFAULT_MAX_GOP_BYTES);
  readonly pull: OriginPull;
  readonly flv: FlvGateway;
  readonly engine: NginxRtmpEngine;
  readonly rtmpRelay: EdgeRtmpRelay;
  readonly koa = new Koa();
  /** The hls_ctx this edge presents to the origin: it counts the edge as one HLS viewer per stream. */
  readonly session = `edge${crypto.randomBytes(8).toString('hex')}`;
  private httpServer: http.Server | null = null;
  private stackPort = 0;
  private starting: Promise<Listening> | null = null;

  constructor(
    readonly config: Config,
    readonly edge: EdgeConfig,
    readonly version: string,
  ) {
    this.paths = ensureDataDir(config.dataDir);
    this.supervisor = new Supervisor(this.paths.run);
    const name = edgeName(os.hostname());
    this.pull = new OriginPull(this.tap, { ...DEFAULT_ORIGIN_PULL, origin: edge.origin, edgeName: name });
    this.flv = new FlvGateway({
      source: this.tap,
      isLive: (app, stream) => app === LIVE_APP && this.pull.ensure(app, stream),
      loopbackOrigin: 'http://127.0.0.1',
      limits: { ...DEFAULT_RELAY_LIMITS, clientQueueBytes: config.flvClientQueueBytes },
    });
    this.engine = new NginxRtmpEngine({
      prefix: this.paths.engine,
      nginxBinary: config.binaries.nginx,
      rtmpModule: config.binaries.nginxRtmpModule,
      rtmpPort: config.rtmpListen,
      callbackOrigin: '',
      supervisor: this.supervisor,
      renderConfig: (base) =>
        renderEdgeNginxConfig({
          ...base,
          statSocket: base.httpSocket,
          listenHost: config.listenHost,
          httpPort: config.mgmtListen,
          rtmpPort: config.rtmpListen,
          origin: edge.origin,
          stackPort: this.stackPort,
          apps: [LIVE_APP],
          session: this.session,
          cacheMb: edge.cacheMb,
        }),
    });
    this.rtmpRelay = new EdgeRtmpRelay({
      supervisor: this.supervisor,
      ffmpeg: config.binaries.ffmpeg,
      app: LIVE_APP,
      streams: () => this.engine.streams(),
      rtmpPort: config.rtmpListen,
      stackPort: () => this.stackPort,
    });
    const routes = new RouteBinder(EDGE_ROUTES);
    routes.bind({
      'flv.play': flvHandlers(this.flv)['flv.play'],
      'system.versions': () => ({ version, edge: { origin: edge.origin, pulls: this.pull.size, rtmpRelays: this.rtmpRelay.size } }),
    });
    this.koa.use(commonHeaders(version));
    this.koa.use(
      errorHandler((ctx, status, message) => {
        ctx.status = status;
        ctx.type = 'text/plain';
        ctx.body = `${message}\n`;
      }),
    );
    // Every edge route is public (HTTP-FLV playback): no guard is ever asked.
    const refuse = () => {
      throw new Error('an edge serves no secured route');
    };
    routes.install(this.koa, { secured: refuse, session: refuse, 'session-page': refuse });
  }

  start(): Promise<Listening> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<Listening> {
    await this.supervisor.start();
    await this.flv.start();
    this.pull.start();
    // HTTP-FLV on loopback, a free port: only the edge's nginx talks to it.
    const server = http.createServer(this.koa.callback());
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = 0;
    this.httpServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.stackPort = (server.address() as { port: number }).port;
    await this.engine.start();
    this.rtmpRelay.start();
    log.info(`edge of ${this.edge.origin}: HTTP on ${this.config.listenHost}:${this.config.mgmtListen}, RTMP on ${this.config.rtmpListen}`);
    return {
      http: { host: this.config.listenHost, port: this.config.mgmtListen },
      https: { host: this.config.listenHost, port: 0 },
    };
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.rtmpRelay.stop();
    this.pull.stop();
    await this.flv.stop();
    const server = this.httpServer;
    this.httpServer = null;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2000).unref();
      await closed;
    }
    this.tap.clear('the edge is stopping');
    await this.supervisor.stop();
  }
}
