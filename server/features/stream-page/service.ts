// A live stream's page (issue 18 items 3 and 4, docs/architecture.md "Stream pages"): its health now
// (the live tap's media meter through the registry), the restream destinations it feeds with their
// states, and five minutes of both, sampled every SAMPLE_EVERY_MS into history.ts. The console page
// and `streams.health` (docs/compatibility.md §3.1) answer from here.
import { NotFoundError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { ActiveStream, LiveRegistry } from '../live-streams/registry.js';
import type { DestinationWatch } from '../restream/destinations.js';
import { HealthHistory, SAMPLE_EVERY_MS, type HealthSeries, type StreamSample } from './history.js';

const log = createLogger('stream-page');

export type StreamDestination = ReturnType<DestinationWatch['ofSource']>[number];

/** The answer of streams.health and the model of the stream's console page. */
export interface StreamPage {
  readonly app: string;
  readonly stream: string;
  /** Live now; false for a stream that ended within KEEP_ENDED_MS (its history is still there). */
  readonly live: boolean;
  /** When it was first seen gone (ISO), while it is not live. */
  readonly endedAt: string | null;
  /** streams.query's row (viewers, kbps, video, audio, health); null once it ended. */
  readonly now: ActiveStream | null;
  readonly destinations: StreamDestination[];
  readonly history: HealthSeries;
}

export class StreamPageService {
  private readonly history = new HealthHistory();
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> | null = null;

  constructor(
    private readonly registry: Pick<LiveRegistry, 'query'>,
    private readonly destinations: Pick<DestinationWatch, 'ofSource'>,
  ) {}

  start(everyMs = SAMPLE_EVERY_MS): void {
    this.timer = setInterval(() => {
      this.sampling ??= this.sample()
        .catch((err: unknown) => log.warn('a stream health sample failed', err))
        .finally(() => (this.sampling = null));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sampling;
  }

  /** One round of samples: every live stream and the destinations it feeds. */
  async sample(now = Date.now()): Promise<void> {
    const live = new Map<string, StreamSample>();
    for (const s of await this.registry.query()) {
      const key = `${s.app}/${s.stream}`;
      live.set(key, {
        kbps: s.kbps,
        fps: s.video?.fps ?? 0,
        keyframeIntervalSeconds: s.health?.keyframeIntervalSeconds ?? 0,
        avDriftMs: s.health?.avDriftMs ?? 0,
        viewers: s.viewers,
        destinations: this.destinations.ofSource(key, now).map((d) => ({
          feature: d.feature,
          platform: d.platform,
          kbps: d.bitrateKbps,
          state: d.state,
        })),
      });
    }
    this.history.record(now, live);
  }

  /** A stream's page; a 404 when it is neither live nor ended within KEEP_ENDED_MS. */
  async page(app: string, stream: string, nowMs = Date.now()): Promise<StreamPage> {
    const key = `${app}/${stream}`;
    const now = (await this.registry.query()).find((s) => s.app === app && s.stream === stream) ?? null;
    const history = this.history.series(key, nowMs);
    if (!now && !history) throw new NotFoundError(`stream ${key} is not live (and did not end in the last minute)`);
    if (!now) this.history.end(key, nowMs);
    const endedAt = now ? null : this.history.endedAt(key);
    return {
      app,
      stream,
      live: now !== null,
      endedAt: endedAt === null ? null : new Date(endedAt).toISOString(),
      now,
      destinations: now ? this.destinations.ofSource(key, nowMs) : [],
      history: history ?? emptySeries(),
    };
  }
}

function emptySeries(): HealthSeries {
  return {
    intervalSeconds: SAMPLE_EVERY_MS / 1000,
    t: [],
    kbps: [],
    fps: [],
    keyframeIntervalSeconds: [],
    avDriftMs: [],
    viewers: [],
    destinations: [],
  };
}
