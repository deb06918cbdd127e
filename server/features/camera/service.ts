// IP camera (reference §3.6): relays a camera's RTSP/RTMP/SRT/HTTP stream to a platform or into this
// stack, optionally with a silent audio track (platforms that refuse video-only streams). A periodic
// restart is SRS Stack's `max-stream-duration` parameter on the camera URL (cameras that degrade
// after hours of streaming).
import { ValidationError } from '../../core/errors.js';
import { cameraArgs, heartbeatUrlOptions, type ExtraAudio } from '../../core/ffmpeg/argv.js';
import { checkBitrate, probe } from '../../core/ffmpeg/probe.js';
import type { FfmpegTaskGroup, TaskPlan } from '../../core/ffmpeg/tasks.js';
import { KEYS } from '../../core/keys.js';
import { optionalString, requireString, type Body } from '../../core/validate.js';
import { taskGroup, type RestreamDeps } from '../restream/deps.js';
import {
  checkStreamUrl,
  decodeSourceFiles,
  readSourceRequests,
  streamUrlSource,
  toSourceFile,
  type SourceFile,
} from '../restream/sources.js';
import {
  SlotStore,
  checkPlatform,
  decodeSlotBase,
  outputUrl,
  readSlotBase,
  slotSecrets,
  slotStatus,
  urlPassword,
  type SlotBase,
  type SlotKind,
} from '../restream/slots.js';

export interface CameraSlot extends SlotBase {
  files: SourceFile[];
  extraAudio: ExtraAudio;
}

export const CAMERA: SlotKind = { name: 'camera', marker: 'camera-', limitKey: 'SRS_CAMERA_LIMIT' };

function readExtraAudio(body: Body): ExtraAudio {
  const v = optionalString(body, 'extraAudio', 16) ?? '';
  if (v !== '' && v !== 'silent') throw new ValidationError(`invalid extraAudio ${v}: use "" or "silent"`);
  return v;
}

export class CameraService {
  readonly store: SlotStore<CameraSlot>;
  readonly tasks: FfmpegTaskGroup;

  constructor(private readonly deps: RestreamDeps) {
    this.store = new SlotStore(deps.redis, KEYS.CAMERA_CONFIG, (v) => ({
      ...decodeSlotBase(v),
      files: decodeSourceFiles(v.files),
      extraAudio: v.extraAudio === 'silent' ? 'silent' : '',
    }));
    this.tasks = taskGroup(deps, 'camera', KEYS.CAMERA_TASK, () => this.plans());
  }

  get limit(): number {
    return this.deps.config.limits.camera;
  }

  async query(): Promise<Record<string, CameraSlot>> {
    return Object.fromEntries((await this.store.all()).map((s) => [s.platform, s]));
  }

  async update(body: Body): Promise<void> {
    const base = readSlotBase(body, CAMERA);
    const requests = readSourceRequests(body.files);
    const previous = await this.store.get(base.platform);
    const known = new Map((previous?.files ?? []).map((f) => [f.target, f]));
    const files = requests.map((f) => {
      if (f.type !== 'stream') throw new ValidationError(`invalid target ${f.target} type ${f.type}: a camera source is a stream URL`);
      const target = checkStreamUrl(f.target);
      return known.get(target) ?? toSourceFile(f, target, null);
    });
    await this.store.checkCapacity(base.platform, this.limit, CAMERA);
    await this.store.put({ ...base, files, extraAudio: readExtraAudio(body) });
    await this.tasks.reconcile();
  }

  streamUrl(body: Body): { name: string; uuid: string; target: string } {
    return streamUrlSource(requireString(body, 'url', 4096));
  }

  /** `camera/source`: probes each camera URL (15 s) and checks its bitrate against the camera limit. */
  async source(body: Body): Promise<{ platform: string; files: SourceFile[] }> {
    const platform = checkPlatform(requireString(body, 'platform', 64), CAMERA);
    const requests = readSourceRequests(body.files);
    const { camera: limitKbps } = await this.deps.limits();
    const files: SourceFile[] = [];
    for (const req of requests) {
      if (req.type !== 'stream')
        throw new ValidationError(`invalid target ${req.target} type ${req.type}: a camera source is a stream URL`);
      const target = checkStreamUrl(req.target);
      const result = await probe(this.deps.config.binaries.ffprobe, heartbeatUrlOptions(target).url);
      checkBitrate(result, limitKbps);
      files.push(toSourceFile(req, target, result));
    }
    await this.store.checkCapacity(platform, this.limit, CAMERA);
    const previous = await this.store.get(platform);
    const slot: CameraSlot = previous ?? {
      platform,
      server: '',
      secret: '',
      enabled: false,
      custom: false,
      label: '',
      files: [],
      extraAudio: '',
    };
    await this.store.put({ ...slot, files });
    await this.tasks.reconcile();
    return { platform, files };
  }

  async status(): Promise<Record<string, unknown>[]> {
    return (await this.store.all()).map((slot) => {
      const live = this.tasks.live(slot.platform);
      const row = slotStatus(slot, live);
      row.files = slot.files;
      row.extraAudio = slot.extraAudio;
      if (live?.pid) row.source = slot.files[0]?.uuid ?? '';
      return row;
    });
  }

  async plans(): Promise<TaskPlan[]> {
    const plans: TaskPlan[] = [];
    for (const slot of await this.store.all()) {
      const file = slot.files[0];
      if (!slot.enabled || !slot.server || !file || file.type !== 'stream') continue;
      const output = outputUrl(slot, this.deps.config.rtmpListen);
      const { url, maxRunMs, abnormalFastSpeed } = heartbeatUrlOptions(file.target);
      plans.push({
        id: slot.platform,
        args: cameraArgs(url, output, slot.extraAudio),
        secrets: [...slotSecrets(slot), ...urlPassword(url)],
        input: url,
        output,
        source: file.name || url,
        maxRunMs,
        abnormalFastSpeed,
      });
    }
    return plans;
  }
}
