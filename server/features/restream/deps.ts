// What the restream features (forward, virtual live, camera, transcode) are built from, and the
// task group each of them owns.
import type { Config } from '../../config.js';
import type { DataPaths } from '../../core/data-dir.js';
import type { FfmpegVersion } from '../../core/ffmpeg/probe.js';
import { FfmpegTaskGroup, type TaskPlan } from '../../core/ffmpeg/tasks.js';
import type { RedisClient } from '../../core/redis.js';
import type { Supervisor } from '../../core/process/supervisor.js';
import type { LiveRegistry } from '../live-streams/registry.js';
import type { Limits } from '../system/store.js';
import type { SlateSessions } from './slate/sessions.js';

export interface RestreamDeps {
  readonly config: Config;
  readonly paths: DataPaths;
  readonly redis: RedisClient;
  readonly supervisor: Supervisor;
  /**
   * The live streams a slot may take as its source; `untilPlayable` lets a probe of this stack's own
   * stream wait for a publish that is still being admitted.
   */
  readonly streams: Pick<LiveRegistry, 'list' | 'untilPlayable'>;
  /**
   * The URL a task reads a live stream of this stack from: the live tap's HTTP-FLV for the stack's
   * own consumers (GOP cache, not counted as a viewer), never the engine, which has no GOP cache.
   */
  readonly liveInput: (app: string, stream: string) => string;
  /** SRS_SYS_LIMITS (Kbps), read at each check so System › Limits applies at once. */
  readonly limits: () => Promise<Limits>;
  /** Slots with a slate feed their ffmpeg from the live tap through these (forward). */
  readonly slates?: SlateSessions;
  /** The FFmpeg that runs the tasks, as detected at start. */
  readonly ffmpeg: () => FfmpegVersion;
}

export function taskGroup(deps: RestreamDeps, kind: string, taskKey: string, planner: () => Promise<TaskPlan[]>): FfmpegTaskGroup {
  return new FfmpegTaskGroup({
    kind,
    taskKey,
    ffmpeg: deps.config.binaries.ffmpeg,
    supervisor: deps.supervisor,
    redis: deps.redis,
    planner,
  });
}
