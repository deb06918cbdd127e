// Five minutes of a live stream's health, for its console page's charts and the streams.health API
// (issue 18 items 3 and 4, docs/architecture.md "Stream pages"): one sample every few seconds of what
// the live tap measures (media-meter.ts) and what each of its restream destinations receives
// (destination-state.ts). In memory and bounded: a fixed ring per stream, at most MAX_STREAMS
// streams, and a stream that ended is kept KEEP_ENDED_MS so its page shows how it ended, then dropped.
// Pure: fed samples and a clock, so it is unit-tested.

/** How often the service samples; the charts' resolution. */
export const SAMPLE_EVERY_MS = 5000;
/** What the charts cover. */
export const HISTORY_MS = 5 * 60_000;
/** After its last sample, an ended stream's history stays this long (its page shows the end), then goes. */
export const KEEP_ENDED_MS = 60_000;
/** Streams tracked at most; beyond, the ones ended longest ago go first, then the oldest. */
export const MAX_STREAMS = 1000;

/** A fixed-capacity ring: pushing past capacity overwrites the oldest. */
export class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`a ring needs a capacity of at least 1, got ${capacity}`);
  }

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  get size(): number {
    return this.items.length;
  }

  /** Oldest first. */
  values(): T[] {
    return this.items.length < this.capacity ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

export interface DestinationSample {
  /** `forward`, `vlive`, `camera`, `transcode`. */
  readonly feature: string;
  /** The slot (`wx`, `bilibili`, a custom one). */
  readonly platform: string;
  /** ffmpeg's output bitrate; null while it reports none. */
  readonly kbps: number | null;
  /** destination-state.ts's state. */
  readonly state: string;
}

export interface StreamSample {
  readonly kbps: number;
  readonly fps: number;
  readonly keyframeIntervalSeconds: number;
  readonly avDriftMs: number;
  readonly viewers: number;
  readonly destinations: readonly DestinationSample[];
}

/** The history as aligned columns (uPlot's data shape): every array has one entry per time in `t`. */
export interface HealthSeries {
  readonly intervalSeconds: number;
  /** Unix seconds of each sample, oldest first. */
  readonly t: number[];
  readonly kbps: number[];
  readonly fps: number[];
  /** null before two keyframes were seen (the meter's 0): a gap in the chart, not a fall to 0. */
  readonly keyframeIntervalSeconds: Array<number | null>;
  readonly avDriftMs: number[];
  readonly viewers: number[];
  /** Each destination seen over the window; null where it was absent (no task then). */
  readonly destinations: Array<{ feature: string; platform: string; kbps: Array<number | null>; state: Array<string | null> }>;
}

interface Tracked {
  readonly ring: Ring<{ at: number; sample: StreamSample }>;
  /** When it was first missed from a round of samples; null while live. */
  endedAt: number | null;
}

export class HealthHistory {
  private readonly streams = new Map<string, Tracked>();

  constructor(
    private readonly everyMs = SAMPLE_EVERY_MS,
    private readonly spanMs = HISTORY_MS,
    private readonly keepEndedMs = KEEP_ENDED_MS,
    private readonly maxStreams = MAX_STREAMS,
  ) {}

  /** One round: a sample of every live stream by key (`app/stream`); the ones missing have ended. */
  record(now: number, live: ReadonlyMap<string, StreamSample>): void {
    for (const [key, sample] of live) {
      let tracked = this.streams.get(key);
      if (!tracked) {
        tracked = { ring: new Ring(Math.ceil(this.spanMs / this.everyMs)), endedAt: null };
        this.streams.set(key, tracked);
      }
      tracked.endedAt = null;
      tracked.ring.push({ at: now, sample });
    }
    for (const [key, tracked] of this.streams) {
      if (live.has(key)) continue;
      tracked.endedAt ??= now;
      if (now - tracked.endedAt >= this.keepEndedMs) this.streams.delete(key);
    }
    this.bound();
  }

  /** Over MAX_STREAMS: drop ended ones (longest ended first), then the ones sampled least recently. */
  private bound(): void {
    if (this.streams.size <= this.maxStreams) return;
    const lastAt = (t: Tracked) => t.ring.values().at(-1)?.at ?? 0;
    const order = [...this.streams].sort(
      ([, a], [, b]) =>
        (b.endedAt === null ? 0 : 1) - (a.endedAt === null ? 0 : 1) || (a.endedAt ?? 0) - (b.endedAt ?? 0) || lastAt(a) - lastAt(b),
    );
    for (const [key] of order.slice(0, this.streams.size - this.maxStreams)) this.streams.delete(key);
  }

  get size(): number {
    return this.streams.size;
  }

  /** The stream is gone (the registry says so between two rounds): ended now, unless known already. */
  end(key: string, now: number): void {
    const tracked = this.streams.get(key);
    if (tracked) tracked.endedAt ??= now;
  }

  /** When the stream was first seen gone; null while live or unknown. */
  endedAt(key: string): number | null {
    return this.streams.get(key)?.endedAt ?? null;
  }

  /** The last HISTORY_MS of a stream as columns; null when it is not tracked. */
  series(key: string, now: number): HealthSeries | null {
    const tracked = this.streams.get(key);
    if (!tracked) return null;
    const points = tracked.ring.values().filter((p) => now - p.at <= this.spanMs);
    const ids: string[] = [];
    const byId = new Map<string, DestinationSample>();
    for (const p of points) {
      for (const d of p.sample.destinations) {
        const id = `${d.feature}/${d.platform}`;
        if (!byId.has(id)) ids.push(id);
        byId.set(id, d);
      }
    }
    const column = (pick: (s: StreamSample) => number) => points.map((p) => pick(p.sample));
    return {
      intervalSeconds: this.everyMs / 1000,
      t: points.map((p) => Math.round(p.at / 1000)),
      kbps: column((s) => s.kbps),
      fps: column((s) => s.fps),
      keyframeIntervalSeconds: points.map((p) => p.sample.keyframeIntervalSeconds || null),
      avDriftMs: column((s) => s.avDriftMs),
      viewers: column((s) => s.viewers),
      destinations: ids.map((id) => {
        const { feature, platform } = byId.get(id) as DestinationSample;
        const at = points.map((p) => p.sample.destinations.find((d) => d.feature === feature && d.platform === platform) ?? null);
        return { feature, platform, kbps: at.map((d) => (d ? d.kbps : null)), state: at.map((d) => d?.state ?? null) };
      }),
    };
  }
}
