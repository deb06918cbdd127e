// The one admission path (docs/architecture.md, "How a publish flows"): every ingest — nginx-rtmp's
// hook today, the SRT listener and the WHIP endpoint next — hands a neutral StreamRequest to
// publish(). The gates run in the order the composition root lists them (name rules, then the
// publish or live-room secret, then the user's HTTP callback); the first that throws refuses the
// publish and the ones after it never run. Only then is the stream committed to the registry, which
// announces it. unpublish() mirrors it.
import { createLogger } from '../../core/logger.js';
import type { Histogram, Metrics } from '../../core/metrics.js';
import type { StreamRequest } from '../../core/stream-request.js';
import type { LiveRegistry } from './registry.js';

const log = createLogger('admission');

/** One check a publish must pass; it refuses by throwing (an AppError's status reaches the ingest). */
export interface PublishGate {
  /** Named in logs, so a refusal says which check refused it. */
  readonly name: string;
  check(request: StreamRequest): Promise<void>;
}

export class Admission {
  private latency: Histogram | null = null;

  constructor(
    private readonly gates: readonly PublishGate[],
    private readonly registry: Pick<LiveRegistry, 'commit' | 'end'>,
  ) {}

  /** Admits and commits a publish, or throws the first gate's refusal (nothing is registered then). */
  async publish(request: StreamRequest): Promise<void> {
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

  /** The publisher left. Only the registered publisher's end counts: a refused second one also ends. */
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
