// The live tap's RTMP listener, on loopback only: the engine pushes every live stream here from
// the moment it is published (engine/nginx-rtmp/config.ts renders the `push`), authenticated by a
// per-boot token in the push URL's app (`<app>?tap=<token>`); any other publisher, any player and
// anything that is not RTMP is dropped. Each accepted publish feeds one TapStream (live-tap.ts).
//
// Does nginx-rtmp's push deliver a stream from its FIRST keyframe? Not by itself. nginx starts
// the push as it accepts the publish, but the push joins the stream (gets media) only once the
// tap answered its handshake, connect and createStream: three round trips, while the encoder sends
// its first keyframe as soon as nginx told it the publish started. The engine keeps no GOP, so
// what came before is lost: with the library's plain answers 2 of 3 runs of
// test/integration/live-tap.test.ts saw their first keyframe 2 s in (the second GOP of a testsrc
// publish with -g 50; audio from 46 ms). The tap therefore answers connect and createStream
// together with the handshake (rtmp-receiver.ts): one round trip, and every run since (17 of 17,
// 3 of them with both cores kept busy by other processes) saw the stream's first keyframe at
// 0 ms, with metadata and codec configurations before it. It stays a race in principle (one
// round trip through this process against the encoder's first send): a busy event loop at that
// instant can still lose the first GOP. A push that reconnects (the connection dropped) joins at
// the next keyframe.
import crypto from 'node:crypto';
import net from 'node:net';
import { createLogger, registerSecret } from '../../core/logger.js';
import { flvTagOf, type FlvTag } from '../../core/media/flv-tags.js';
import { secretsEqual } from '../../core/secrets.js';
import { checkStreamName } from '../../core/stream-names.js';
import type { LiveTap, TapStream } from './live-tap.js';
import { RtmpReceiver } from './rtmp-receiver.js';

const log = createLogger('tap');

/** The push URL's query key that carries the per-boot token. */
const TOKEN_PARAM = 'tap';

export interface TapServerOptions {
  /** TCP port on 127.0.0.1 (TAP_LISTEN); 0: a free one, chosen when it starts. */
  readonly port: number;
  /** A connection that has not started publishing by then is dropped (half-open, garbage). */
  readonly handshakeTimeoutMs: number;
  /** A publisher silent for this long is dropped (the engine pushes every frame as it comes). */
  readonly idleTimeoutMs: number;
  /** Connections at once; the engine needs one per live stream. */
  readonly maxConnections: number;
}

export const DEFAULT_TAP_OPTIONS: Omit<TapServerOptions, 'port'> = {
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 20_000,
  maxConnections: 2048,
};

/** What the tap's listener accepts in the connect command's app: `<app>?tap=<token>`. */
export function parseTapApp(connectApp: string): { app: string; token: string } | null {
  const at = connectApp.indexOf('?');
  if (at < 0) return null;
  const token = new URLSearchParams(connectApp.slice(at + 1)).get(TOKEN_PARAM);
  return token ? { app: connectApp.slice(0, at), token } : null;
}

export class TapServer {
  /** Sent by the engine in every push (in the app it connects to), so nobody else can feed the tap. */
  private readonly token = crypto.randomBytes(16).toString('hex');
  private server: net.Server | null = null;
  /** The port listened on (the configured one, or the one the system chose for 0). */
  private port: number;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly tap: LiveTap,
    private readonly opts: TapServerOptions,
  ) {
    registerSecret(this.token);
    this.port = opts.port;
  }

  /**
   * The URL the engine pushes stream `app` to (the stream name follows as the publish name). Read
   * when the engine's configuration is written, after start(): the port is known by then.
   */
  pushUrl(app: string): string {
    return `rtmp://127.0.0.1:${this.port}/${app}?${TOKEN_PARAM}=${this.token}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    server.maxConnections = this.opts.maxConnections;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.error('the live tap listener failed', err));
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    log.info(`live tap listening on 127.0.0.1:${this.port}`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.tap.clear('the stack is stopping');
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const rtmp = new RtmpReceiver();
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    let stream: TapStream | null = null;
    let closed = false;
    const drop = (why: string) => {
      if (closed) return;
      closed = true;
      if (stream) this.tap.finish(stream, why);
      else log.warn(`live tap: dropping connection ${peer}: ${why}`);
      socket.destroy();
    };
    const handshake = setTimeout(() => drop(`no publish within ${this.opts.handshakeTimeoutMs} ms`), this.opts.handshakeTimeoutMs);
    socket.setTimeout(this.opts.idleTimeoutMs, () => drop(`silent for ${this.opts.idleTimeoutMs} ms`));

    rtmp.onOutputCallback = (buffer) => {
      if (!closed) socket.write(buffer);
    };
    rtmp.onPlayCallback = () => drop('players are not served here');
    rtmp.onConnectCallback = (req) => {
      const target = parseTapApp(req.app);
      if (!target || !secretsEqual(target.token, this.token)) return drop('publish without the engine token');
      let app: string;
      let name: string;
      try {
        app = checkStreamName('app', target.app);
        name = checkStreamName('stream', req.name);
      } catch (err) {
        return drop((err as Error).message);
      }
      rtmp.accepted = true;
      clearTimeout(handshake);
      stream = this.tap.begin(app, name);
    };
    rtmp.onPushCallback = () => {
      if (!rtmp.accepted) drop('publish without the engine token');
    };
    // Tags of one socket read are handed on together (live-source.ts, LiveSink.write).
    let batch: FlvTag[] = [];
    rtmp.onPacketCallback = (packet) => {
      if (!stream || closed) return;
      const tag = flvTagOf(packet.codec_type, packet.dts, packet.data.subarray(0, packet.size));
      if (tag) batch.push(tag);
    };
    socket.on('data', (chunk: Buffer) => {
      if (closed) return;
      try {
        const err = rtmp.parserData(chunk);
        if (err) return drop(err);
      } catch (err) {
        return drop(`malformed RTMP: ${(err as Error).message}`);
      }
      if (batch.length && stream) {
        const tags = batch;
        batch = [];
        stream.ingest(tags);
      }
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      clearTimeout(handshake);
      this.sockets.delete(socket);
      if (closed) return;
      closed = true;
      if (stream) this.tap.finish(stream, 'the engine closed the push');
    });
  }
}
