// The restream features as one bundle for the routes and the composition root (server/app.ts builds
// each of them): forward, virtual live, IP camera and transcode, each with its ffmpeg task group,
// plus the upload store and the FFmpeg that runs them.
import type { FfmpegTaskGroup } from '../../core/ffmpeg/tasks.js';
import { ffmpegVersion, type FfmpegVersion } from '../../core/ffmpeg/probe.js';
import type { CameraService } from './camera/service.js';
import type { DestinationFeature } from './destinations.js';
import type { ForwardService } from './forward/service.js';
import type { SlatePicture } from './slate/picture.js';
import type { TranscodeService } from './transcode/service.js';
import type { Uploads } from './vlive/uploads.js';
import type { VliveService } from './vlive/service.js';

export interface Restream {
  readonly forward: ForwardService;
  readonly vlive: VliveService;
  readonly camera: CameraService;
  readonly transcode: TranscodeService;
  readonly uploads: Uploads;
  /** The slate's picture (forward's slate, docs/architecture.md "The slate"). */
  readonly slatePicture: SlatePicture;
  /** Which FFmpeg runs the tasks (FAQ "How to Replace FFmpeg"), for the console. */
  readonly ffmpeg: FfmpegVersion;
}

/** The FFmpeg binary the tasks run, with its version once detected at start. */
export class FfmpegBinary {
  private detected: FfmpegVersion | null = null;

  constructor(private readonly binary: string) {}

  get current(): FfmpegVersion {
    return this.detected ?? { binary: this.binary, version: null };
  }

  async detect(): Promise<void> {
    this.detected = await ffmpegVersion(this.binary);
  }
}

function taskGroups(r: Restream): FfmpegTaskGroup[] {
  return Object.values(destinationGroups(r));
}

/** The task groups whose outputs are restream destinations, by feature (destinations.ts). */
export function destinationGroups(r: Restream): Record<DestinationFeature, FfmpegTaskGroup> {
  return { forward: r.forward.tasks, vlive: r.vlive.tasks, camera: r.camera.tasks, transcode: r.transcode.tasks };
}

export function startRestream(r: Restream): void {
  for (const group of taskGroups(r)) group.start();
  r.uploads.start();
}

/** Stops uploads' cleanup, aborts downloads in flight (they may run for hours), then every task. */
export async function stopRestream(r: Restream): Promise<void> {
  r.uploads.stop();
  await r.vlive.stopDownloads();
  await Promise.all(taskGroups(r).map((group) => group.stop()));
}
