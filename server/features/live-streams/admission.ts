// The one admission path (docs/architecture.md, "How a publish flows"): every ingest — nginx-rtmp's
// hook today, the SRT listener and the WHIP endpoint next — hands a neutral StreamRequest to
// publish(). The gates run in the order the composition root lists them (name rules, then the
// publish or live-room secret, then the user's HTTP callback); the first that throws refuses the
// publish and the ones after it never run. Only then is the stream committed to the registry, which
// announces it. unpublish() mirrors it.
import crypto from 'node:crypto';
import { ForbiddenError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { Histogram, Metrics } from '../../core/metrics.js';
import { secretsEqual } from '../../core/secrets.js';
import type { StreamRequest } from '../../core/stream-request.js';
import type { LiveRegistry } from './registry.js';

const log = createLogger('admission');

/** The query key that marks an ingest's own publish into the engine (see Admission.bridgeParam). */
const BRIDGE_PARAM = 'bridge';

/** One check a publish must pass; it refuses by throwing (an AppError's status reaches the ingest). */
export interface PublishGate {
  /** Named in logs, so a refusal says which check refused it. */
  readonly name: string;
  check(request: StreamRequest): Promise<void>;
}

export class Admission {
  private latency: Histogram | null = null;
  /** Per boot: only the stack's own ingests know it. */
  private readonly bridgeToken = crypto.randomBytes(16).toString('hex');

  constructor(
    private readonly gates: readonly PublishGate[],
    private readonly registry: Pick<LiveRegistry, 'commit' | 'end' | 'get'>,
  ) {}

  /**
   * The query an ingest that bridges into the engine (the SRT listener, WHIP) adds to its own RTMP
   * publish of a stream it has admitted: the engine's hook then recognises the stream admitted
   * already, instead of a second publisher to verify and register.
   */
  bridgeParam(): string {
    return `${BRIDGE_PARAM}=${this.bridgeToken}`;
  }

  /** Admits and commits a publish, or throws the first gate's refusal (nothing is registered then). */
  async publish(request: StreamRequest): Promise<void> {
    if (this.isBridge(request)) return this.admitBridge(request);
    const started = performance.now();
    let result = 'rejected';
    try {
      for (const gate of this.gates) {
        try {
          await gate.check(request);
        } catch (err) {
          log.warn(
            `refused publish of ${request.app}/${request.stream} from ${request.clientAddress || 'unknown'} (${gate.name}): ${(err as Error).message}`,
          );
          throw err;
        }
      }
      await this.registry.commit(request);
      result = 'accepted';
    } finally {
      this.latency?.observe((performance.now() - started) / 1000, { result });
    }
  }

  /** A connection of the stack's own ingests or players into the engine (it carries bridgeParam()). */
  isBridge(request: Pick<StreamRequest, 'param'>): boolean {
    const token = new URLSearchParams(request.param.replace(/^\?/, '')).get(BRIDGE_PARAM);
    return token !== null && secretsEqual(token, this.bridgeToken);
  }

  /** An ingest's bridge carries a stream that ingest admitted: nothing more to check or register. */
  private async admitBridge(request: StreamRequest): Promise<void> {
    if (!this.registry.get(request.vhost, request.app, request.stream)) {
      throw new ForbiddenError(`bridge publish of ${request.app}/${request.stream} refused: no ingest admitted it`);
    }
  }

  /**
   * The publisher left. Only the registered publisher's end counts: a refused second one also ends,
   * and so does an ingest's bridge into the engine (its ingest ends the stream).
   */
  async unpublish(request: StreamRequest): Promise<void> {
    await this.registry.end(request.vhost, request.app, request.stream, 'unpublished', request.clientId);
  }

  registerMetrics(metrics: Metrics): void {
    this.latency = metrics.histogram(
      'srs_stack_publish_hook_seconds',
      "Time the engine's publish waits for verification (secret, registry, the user's HTTP callback), by result.",
    );
  }
}
