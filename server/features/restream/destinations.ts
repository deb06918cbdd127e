// Every restream destination's state over time (issue 18, docs/architecture.md "Restream
// destinations"): a once-a-second look at the four task groups that turns transitions into the
// `restream.error` / `restream.recovered` events (the HTTP callbacks on_forward_error and
// on_forward_recovered), and the Prometheus families that read the same states at scrape time.
import type { DestinationEvent, EventHub } from '../../core/events.js';
import type { FfmpegTaskGroup, TaskLive } from '../../core/ffmpeg/tasks.js';
import type { Metrics } from '../../core/metrics.js';
import { LIVE_CONFIRM_MS } from '../../core/ffmpeg/destination-meter.js';
import { DESTINATION_STATES, destinationState, type DestinationState, type DestinationStatus } from './destination-state.js';

export const DESTINATION_FEATURES = ['forward', 'vlive', 'camera', 'transcode'] as const;
export type DestinationFeature = (typeof DESTINATION_FEATURES)[number];

/**
 * What a callback knows of a destination's drops: whether it ever was live, whether an error was
 * told, and for how many looks in a row it has been in error (failed, or retrying after live).
 */
export interface Alarm {
  readonly everLive: boolean;
  readonly told: boolean;
  readonly badLooks: number;
}

export const QUIET: Alarm = { everLive: false, told: false, badLooks: 0 };

/**
 * An error is told on the second look in a row that sees it: a stream that ends makes its forward's
 * ffmpeg exit a moment before the task is removed, and that is no drop of the destination.
 */
const BAD_LOOKS_TOLD = 2;

/**
 * The callback a new state calls for, once per transition: an error when a destination fails, or
 * retries after it had been live (a first connection that is still trying is not news), seen on
 * BAD_LOOKS_TOLD looks in a row; recovered when it is live again after an error was told. Live
 * counts once it lasted LIVE_CONFIRM_MS (`liveForMs`): a destination refusing the key takes media
 * for a moment first. Stalled waits: it either recovers or becomes retrying. Pure.
 */
export function alarmStep(prev: Alarm, state: DestinationState, liveForMs = 0): { alarm: Alarm; event: 'error' | 'recovered' | null } {
  if (state === 'live') {
    if (liveForMs < LIVE_CONFIRM_MS) return { alarm: prev, event: null };
    return { alarm: { everLive: true, told: false, badLooks: 0 }, event: prev.told ? 'recovered' : null };
  }
  const bad = state === 'failed' || (state === 'retrying' && prev.everLive);
  if (!bad) return { alarm: { ...prev, badLooks: 0 }, event: null };
  const badLooks = prev.badLooks + 1;
  if (prev.told || badLooks < BAD_LOOKS_TOLD) return { alarm: { ...prev, badLooks }, event: null };
  return { alarm: { ...prev, told: true, badLooks }, event: 'error' };
}

/** A destination's row fields for the API (`…/streams`, `transcode/task`, `streams.health`). */
export interface DestinationFields extends DestinationStatus {
  readonly bytesOut: number;
  readonly bitrateKbps: number | null;
  readonly liveSince: string | null;
  readonly uptimeSeconds: number;
  readonly reconnects: number;
}

/** A destination's row fields for the API: state, reason and what it received. */
export function destinationFields(live: TaskLive, nowMs: number): DestinationFields {
  const d = live.destination;
  return {
    ...destinationState(live, nowMs),
    bytesOut: d.bytesOut,
    bitrateKbps: live.bitrateKbps,
    liveSince: d.liveSinceMs !== null ? new Date(d.liveSinceMs).toISOString() : null,
    uptimeSeconds: d.liveSinceMs !== null ? Math.floor((nowMs - d.liveSinceMs) / 1000) : 0,
    reconnects: d.reconnects,
  };
}

export class DestinationWatch {
  private readonly alarms = new Map<string, Alarm>();
  /** Bytes of tasks that ended (replaced, stopped), so the counter never goes down. */
  private readonly bytesBefore = new Map<string, number>();
  private readonly lastBytes = new Map<string, { uuid: string; bytes: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly groups: Record<DestinationFeature, FfmpegTaskGroup>,
    private readonly events: EventHub,
  ) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => this.look(Date.now()), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private *destinations(): Generator<{ feature: DestinationFeature; platform: string; live: TaskLive }> {
    for (const feature of DESTINATION_FEATURES) {
      for (const [platform, live] of this.groups[feature].lives()) yield { feature, platform, live };
    }
  }

  /**
   * The destinations a live stream (`app/stream`) feeds, with their state and what they received now:
   * the stream's page and its history (features/stream-page).
   */
  ofSource(source: string, nowMs: number): Array<DestinationFields & { feature: DestinationFeature; platform: string }> {
    return [...this.destinations()]
      .filter(({ live }) => live.source === source)
      .map(({ feature, platform, live }) => ({ feature, platform, ...destinationFields(live, nowMs) }));
  }

  /** One look: each destination's state, and the callbacks its transition calls for. */
  look(nowMs: number): void {
    const seen = new Set<string>();
    for (const { feature, platform, live } of this.destinations()) {
      const key = `${feature}/${platform}`;
      seen.add(key);
      this.countBytes(key, live);
      const status = destinationState(live, nowMs);
      const since = live.destination.liveSinceMs;
      const { alarm, event } = alarmStep(this.alarms.get(key) ?? QUIET, status.state, since === null ? 0 : nowMs - since);
      this.alarms.set(key, alarm);
      if (!event) continue;
      const payload: DestinationEvent = {
        feature,
        platform,
        state: status.state,
        reason: status.reason ?? '',
        output: live.output,
        source: live.source,
      };
      void this.events.emit(event === 'error' ? 'restream.error' : 'restream.recovered', payload);
    }
    // A destination whose task is gone (disabled, its source unpublished) starts afresh next time.
    for (const key of [...this.alarms.keys()]) if (!seen.has(key)) this.alarms.delete(key);
  }

  private countBytes(key: string, live: TaskLive): void {
    const last = this.lastBytes.get(key);
    if (last && last.uuid !== live.uuid) this.bytesBefore.set(key, (this.bytesBefore.get(key) ?? 0) + last.bytes);
    this.lastBytes.set(key, { uuid: live.uuid, bytes: live.destination.bytesOut });
  }

  registerMetrics(metrics: Metrics): void {
    metrics.gauge(
      'srs_stack_restream_destination_state',
      'Each restream destination (forward, vlive, camera, transcode) by its state: 1 for the state it is in, 0 for the others.',
      () => {
        const now = Date.now();
        return [...this.destinations()].flatMap(({ feature, platform, live }) => {
          const { state } = destinationState(live, now);
          return DESTINATION_STATES.map((s) => ({ labels: { feature, platform, state: s }, value: s === state ? 1 : 0 }));
        });
      },
    );
    metrics.counter(
      'srs_stack_restream_destination_bytes_total',
      'Bytes each restream destination received (ffmpeg size=), all runs.',
      () => {
        for (const { feature, platform, live } of this.destinations()) this.countBytes(`${feature}/${platform}`, live);
        const keys = new Set([...this.bytesBefore.keys(), ...this.lastBytes.keys()]);
        return [...keys].map((key) => {
          const [feature = '', platform = ''] = key.split('/');
          return { labels: { feature, platform }, value: (this.bytesBefore.get(key) ?? 0) + (this.lastBytes.get(key)?.bytes ?? 0) };
        });
      },
    );
  }
}
