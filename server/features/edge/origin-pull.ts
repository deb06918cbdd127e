// The edge's HTTP-FLV source (docs/architecture.md#edges): a stream watched on the edge is read
// from the origin's HTTP-FLV once, whatever the number of its players here, and fed into the edge's
// live tap (features/live-tap/live-tap.ts), where the FLV gateway fans it out as on an origin (one
// subscription, the tap's GOP cache starting every player on a keyframe). The pull ends a few
// seconds after the stream's last player left, or when the origin ends the stream.
import http from 'node:http';
import https from 'node:https';
import { createLogger } from '../../core/logger.js';
import { FlvParser } from '../../core/media/flv-tags.js';
import { EDGE_HEADER } from '../flv/flv-gateway.js';
import type { LiveTap, TapStream } from '../live-tap/live-tap.js';

const log = createLogger('edge');

export interface OriginPullOptions {
  /** The origin's HTTP base URL, `http(s)://host:port`. */
  readonly origin: string;
  /** This edge's name, sent to the origin in EDGE_HEADER. */
  readonly edgeName: string;
  /** How long the origin may take to answer before the stream counts as not live. */
  readonly answerTimeoutMs: number;
  /** A pull with no subscriber for this long is dropped. */
  readonly idleStopMs: number;
}

export const DEFAULT_ORIGIN_PULL: Omit<OriginPullOptions, 'origin' | 'edgeName'> = { answerTimeoutMs: 10_000, idleStopMs: 5000 };

/** The origin URL of a stream's HTTP-FLV (names escaped as the FLV route expects them). */
export function originFlvUrl(origin: string, app: string, stream: string): string {
  return `${origin}/${encodeURIComponent(app)}/${encodeURIComponent(stream)}.flv`;
}

interface Pull {
  /** Settles once the origin answered: true when the stream's media is flowing into the tap. */
  readonly answered: Promise<boolean>;
  stop(reason: string): void;
}

export class OriginPull {
  private readonly pulls = new Map<string, Pull>();
  private timer: NodeJS.Timeout | null = null;
  private readonly idleSince = new Map<string, number>();

  constructor(
    private readonly tap: LiveTap,
    private readonly opts: OriginPullOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const pull of [...this.pulls.values()]) pull.stop('the edge is stopping');
  }

  /** Streams pulled from the origin right now. */
  get size(): number {
    return this.pulls.size;
  }

  /**
   * The FLV gateway's "is it live?": true once the stream flows into the tap (pulled now, or
   * already), false when the origin does not have it.
   */
  ensure(app: string, stream: string): Promise<boolean> {
    const key = `${app}/${stream}`;
    this.idleSince.delete(key);
    const running = this.pulls.get(key);
    if (running) return running.answered;
    const pull = this.open(app, stream);
    this.pulls.set(key, pull);
    return pull.answered;
  }

  private open(app: string, stream: string): Pull {
    const key = `${app}/${stream}`;
    const url = new URL(originFlvUrl(this.opts.origin, app, stream));
    let tapStream: TapStream | null = null;
    let done = false;
    let settle: (flowing: boolean) => void = () => undefined;
    const answered = new Promise<boolean>((resolve) => (settle = resolve));
    const get = url.protocol === 'https:' ? https.get : http.get;
    const request = get(url, { headers: { [EDGE_HEADER]: this.opts.edgeName }, timeout: this.opts.answerTimeoutMs });
    const finish = (reason: string) => {
      if (done) return;
      done = true;
      settle(false);
      if (this.pulls.get(key) === pull) this.pulls.delete(key);
      this.idleSince.delete(key);
      request.destroy();
      if (tapStream) {
        this.tap.finish(tapStream, reason);
        log.info(`${key}: pull from the origin ended (${reason})`);
      }
    };
    const pull: Pull = { answered, stop: finish };
    request.on('timeout', () => finish('the origin did not answer in time'));
    request.on('error', (err) => finish(`origin: ${err.message}`));
    request.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return finish(`the origin answered ${res.statusCode ?? '?'}`);
      }
      // Media flows: no more answer deadline (a stream may pause), the origin closes a stream that ends.
      request.setTimeout(0);
      const parser = new FlvParser();
      tapStream = this.tap.begin(app, stream);
      log.info(`${key}: pulling from the origin`);
      settle(true);
      res.on('data', (chunk: Buffer) => {
        if (done || !tapStream) return;
        try {
          const tags = parser.push(chunk);
          if (tags.length) tapStream.ingest(tags);
        } catch (err) {
          finish(`the origin sent corrupt FLV: ${(err as Error).message}`);
        }
      });
      res.on('end', () => finish('the origin ended the stream'));
      res.on('error', (err) => finish(`origin: ${err.message}`));
    });
    return pull;
  }

  /** Drops pulls nobody has read for idleStopMs. */
  private sweep(now = Date.now()): void {
    const watched = new Set(
      this.tap
        .list()
        .filter((s) => s.subscribers > 0)
        .map((s) => `${s.app}/${s.stream}`),
    );
    for (const [key, pull] of this.pulls) {
      if (watched.has(key)) {
        this.idleSince.delete(key);
        continue;
      }
      const since = this.idleSince.get(key);
      if (since === undefined) this.idleSince.set(key, now);
      else if (now - since >= this.opts.idleStopMs) pull.stop('no player left on the edge');
    }
  }
}
