// In-process notifications between features, so they depend on a contract instead of on each
// other: the live-stream registry announces streams once committed (nothing here can refuse a
// publish: that is admission's ordered gates, docs/architecture.md), the segment watcher announces
// finished HLS segments, recording announces records.
import { createLogger } from './logger.js';

const log = createLogger('events');

/** A live stream as SRS Stack stores it in SRS_STREAM_ACTIVE (docs/compatibility.md §15.2). */
export interface StreamInfo {
  vhost: string;
  app: string;
  stream: string;
  /** The publish URL's query, SRS style: `?secret=…` (empty when none). */
  param: string;
  server_id?: string;
  client_id?: string;
  /** RFC3339 time of publish. */
  update: string;
}

/** One finished HLS segment: the `on_hls` equivalent (docs/compatibility.md §3.2). */
export interface HlsSegmentEvent {
  vhost: string;
  app: string;
  stream: string;
  /** Absolute path of the .ts file written by the engine. */
  file: string;
  /** `live/livestream-12.ts` */
  url: string;
  /** `live/livestream.m3u8` */
  m3u8_url: string;
  seq_no: number;
  duration: number;
  size: number;
  /**
   * The file's modification time (ms). With the URL, sequence number and size it tells a file
   * announced again from a new one of the same name (numbering restarts with a fresh engine).
   */
  mtime?: number;
  /** Finished by an engine that ran before this process started (a crash): late, not new. */
  leftover?: boolean;
}

export interface RecordEvent {
  vhost: string;
  app: string;
  stream: string;
  uuid: string;
  /** Only on record.end: the finished MP4 and whether it is still processing (100) or done (0). */
  artifact_code?: number;
  artifact_path?: string;
}

export interface StorageLowEvent {
  dir: string;
  free_mb: number;
  threshold_mb: number;
}

/** A restream destination failed or recovered (features/restream/destinations.ts). */
export interface DestinationEvent {
  /** `forward`, `vlive`, `camera`, `transcode`. */
  feature: string;
  platform: string;
  /** The destination's state: `failed` or `retrying` for an error, `live` when recovered. */
  state: string;
  reason: string;
  /** The output URL, stream key masked. */
  output: string;
  source: string;
}

export interface StackEvents {
  /** A publish was admitted and committed to the registry, and the engine plays it to consumers. */
  'stream.published': StreamInfo;
  /** A registered stream ended (unpublished, kicked off, or gone from the engine). */
  'stream.unpublished': StreamInfo;
  'hls.segment': HlsSegmentEvent;
  'record.begin': RecordEvent;
  'record.end': RecordEvent;
  /** The data disk's free space fell under the user's threshold (features/record/retention.ts), once per crossing. */
  'storage.low': StorageLowEvent;
  'restream.error': DestinationEvent;
  'restream.recovered': DestinationEvent;
}

type Handler<T> = (payload: T) => void | Promise<void>;

export class EventHub {
  private readonly handlers = new Map<keyof StackEvents, Array<Handler<never>>>();

  on<K extends keyof StackEvents>(name: K, handler: Handler<StackEvents[K]>): void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler as Handler<never>);
    this.handlers.set(name, list);
  }

  private listeners<K extends keyof StackEvents>(name: K): Array<Handler<StackEvents[K]>> {
    return (this.handlers.get(name) ?? []) as Array<Handler<StackEvents[K]>>;
  }

  /** Notifies every listener; their failures are logged and never reach the emitter. */
  async emit<K extends keyof StackEvents>(name: K, payload: StackEvents[K]): Promise<void> {
    await Promise.all(
      this.listeners(name).map(async (handler) => {
        try {
          await handler(payload);
        } catch (err) {
          log.warn(`listener of ${name} failed`, err);
        }
      }),
    );
  }
}
