// The publish hook as a publisher feels it (bench/load.bench.ts, bench/hook.bench.ts): an RTMP
// publish timed from its `publish` command to nginx-rtmp's NetStream.Publish.Start, with an HTTP
// callback receiver that answers at once and notes when each on_publish arrived.
import http from 'node:http';
import { sleep } from '../test/helpers/stack.js';
import { percentile } from './lib.js';
import { rtmpPublishTiming } from './player-swarm.js';

/** A tiny HTTP callback target: accepts everything at once and notes what arrived when. */
export class HookReceiver {
  readonly arrivals: Array<{ action: string; stream: string; at: number }> = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { action?: string; stream?: string };
        this.arrivals.push({ action: body.action ?? '', stream: body.stream ?? '', at });
      } catch {
        this.arrivals.push({ action: 'unparsable', stream: '', at });
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"code":0}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hook`;
  }

  count(action: string, streams?: Set<string>): number {
    return this.arrivals.filter((a) => a.action === action && (!streams || streams.has(a.stream))).length;
  }

  arrivalOf(action: string, stream: string): number | undefined {
    return this.arrivals.find((a) => a.action === action && a.stream === stream)?.at;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface HookSample {
  totalMs: number;
  /** Publish sent → the receiver got on_publish: nginx-rtmp's callback, the stack's checks, the POST. */
  toReceiverMs: number;
}

/** Publishes probe streams one after another (no media) and times the engine's publish hook. */
export class PublishProbe {
  private n = 0;
  constructor(
    private readonly rtmpBase: string,
    private readonly secret: string,
    private readonly receiver: HookReceiver,
    private readonly everyMs = 500,
    private readonly prefix = 'probe',
  ) {}

  async once(): Promise<HookSample | string> {
    const stream = `${this.prefix}${this.n++}`;
    try {
      const { sentAt, acceptedAt } = await rtmpPublishTiming(`${this.rtmpBase}/${stream}?secret=${this.secret}`);
      const arrived = this.receiver.arrivalOf('on_publish', stream);
      return { totalMs: acceptedAt - sentAt, toReceiverMs: arrived === undefined ? NaN : arrived - sentAt };
    } catch (err) {
      return `${stream}: ${(err as Error).message}`;
    }
  }

  /** `count` probes, or as many as fit in `ms`, one every `everyMs`. */
  async run(opts: { count?: number; ms?: number }): Promise<{ samples: HookSample[]; failures: string[] }> {
    const samples: HookSample[] = [];
    const failures: string[] = [];
    const t0 = Date.now();
    for (let i = 0; opts.count === undefined ? Date.now() - t0 < (opts.ms ?? 0) : i < opts.count; i++) {
      const started = Date.now();
      const r = await this.once();
      if (typeof r === 'string') failures.push(r);
      else samples.push(r);
      await sleep(Math.max(0, this.everyMs - (Date.now() - started)));
    }
    return { samples, failures };
  }
}

export function hookFigures(r: { samples: HookSample[]; failures: string[] }): string {
  const total = r.samples.map((s) => s.totalMs);
  const toReceiver = r.samples.map((s) => s.toReceiverMs).filter(Number.isFinite);
  return (
    `p50 ${percentile(total, 50).toFixed(1)} ms, p99 ${percentile(total, 99).toFixed(1)} ms, max ${Math.max(...total).toFixed(1)} ms ` +
    `(n=${total.length}${r.failures.length ? `, ${r.failures.length} FAILED` : ''}); publish → receiver p50 ${percentile(toReceiver, 50).toFixed(1)} ms`
  );
}
