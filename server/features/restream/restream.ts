// The restream features built once, from shared parts: forward, virtual live, IP camera and
// transcode, each with its ffmpeg task group, plus the upload store and the FFmpeg version.
import type { EventHub } from '../../core/events.js';
import { ffmpegVersion, type FfmpegVersion } from '../../core/ffmpeg/probe.js';
import { CameraService } from './camera/service.js';
import { ForwardService } from './forward/service.js';
import { TranscodeService } from './transcode/service.js';
import { Uploads } from './vlive/uploads.js';
import { VliveService } from './vlive/service.js';
import type { RestreamDeps } from './deps.js';

/** nginx-rtmp announces a publish before it registers the stream; re-plan a moment later. */
const AFTER_STREAM_EVENT_MS = 500;

export class Restream {
  readonly forward: ForwardService;
  readonly vlive: VliveService;
  readonly camera: CameraService;
  readonly transcode: TranscodeService;
  readonly uploads: Uploads;
  private version: FfmpegVersion | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();

  private readonly deps: RestreamDeps;

  constructor(deps: Omit<RestreamDeps, 'ffmpeg'>, events: EventHub) {
    this.deps = { ...deps, ffmpeg: () => this.ffmpeg };
    this.forward = new ForwardService(this.deps);
    this.vlive = new VliveService(this.deps);
    this.camera = new CameraService(this.deps);
    this.transcode = new TranscodeService(this.deps);
    const { upload } = deps.config;
    this.uploads = new Uploads(deps.paths.root, upload.maxBytes, upload.ttlMs);
    const onStreamChange = async () => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.forward.tasks.poke();
        this.transcode.tasks.poke();
      }, AFTER_STREAM_EVENT_MS);
      this.timers.add(timer);
    };
    events.on('stream.publish', onStreamChange);
    events.on('stream.unpublish', onStreamChange);
  }

  /** Which FFmpeg runs the tasks (FAQ "How to Replace FFmpeg"), for the console. */
  get ffmpeg(): FfmpegVersion {
    return this.version ?? { binary: this.deps.config.binaries.ffmpeg, version: null };
  }

  async start(): Promise<void> {
    this.version = await ffmpegVersion(this.deps.config.binaries.ffmpeg);
    for (const group of this.groups()) group.start();
    this.uploads.start();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.uploads.stop();
    await this.vlive.stopDownloads();
    await Promise.all(this.groups().map((g) => g.stop()));
  }

  private groups() {
    return [this.forward.tasks, this.vlive.tasks, this.camera.tasks, this.transcode.tasks];
  }
}
