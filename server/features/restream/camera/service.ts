// IP camera (docs/compatibility.md §3.6): relays a camera's RTSP/RTMP/SRT/HTTP stream to a platform or into this
// stack, optionally with a silent audio track (platforms that refuse video-only streams). A periodic
// restart is SRS Stack's `max-stream-duration` parameter on the camera URL (cameras that degrade
// after hours of streaming).
import { ValidationError } from '../../../core/errors.js';
import { cameraArgs, heartbeatUrlOptions, type ExtraAudio } from '../../../core/ffmpeg/argv.js';
import { checkBitrate, probe } from '../../../core/ffmpeg/probe.js';
import type { TaskLive, TaskPlan } from '../../../core/ffmpeg/tasks.js';
import { KEYS } from '../../../core/keys.js';
import { optionalString, requireString, type Body } from '../../../core/validate.js';
import type { RestreamDeps } from '../deps.js';
import { SourceSlotService, blankSlot } from '../slot-service.js';
import {
  checkPlatform,
  decodeSlotBase,
  outputUrl,
  readSlotBase,
  slotSecrets,
  urlPassword,
  type SlotBase,
  type SlotKind,
} from '../slots.js';
import { checkStreamUrl, decodeSourceFiles, readSourceRequests, toSourceFile, type SourceFile, type SourceRequest } from '../sources.js';

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

function cameraTarget(req: SourceRequest): string {
  if (req.type !== 'stream') throw new ValidationError(`invalid target ${req.target} type ${req.type}: a camera source is a stream URL`);
  return checkStreamUrl(req.target);
}

export class CameraService extends SourceSlotService<CameraSlot> {
  constructor(deps: RestreamDeps) {
    super(deps, {
      kind: CAMERA,
      group: 'camera',
      configKey: KEYS.CAMERA_CONFIG,
      taskKey: KEYS.CAMERA_TASK,
      limit: (d) => d.config.limits.camera,
      decode: (v) => ({ ...decodeSlotBase(v), files: decodeSourceFiles(v.files), extraAudio: v.extraAudio === 'silent' ? 'silent' : '' }),
    });
  }

  protected blank(platform: string): CameraSlot {
    return { ...blankSlot(platform), files: [], extraAudio: '' };
  }

  protected override describe(row: Record<string, unknown>, slot: CameraSlot, live: TaskLive | null): void {
    super.describe(row, slot, live);
    row.extraAudio = slot.extraAudio;
  }

  async update(body: Body): Promise<void> {
    const base = readSlotBase(body, CAMERA);
    const requests = readSourceRequests(body.files);
    const previous = await this.store.get(base.platform);
    const known = new Map((previous?.files ?? []).map((f) => [f.target, f]));
    const files = requests.map((f) => {
      const target = cameraTarget(f);
      return known.get(target) ?? toSourceFile(f, target, null);
    });
    await this.save({ ...base, files, extraAudio: readExtraAudio(body) });
  }

  /** `camera/source`: probes each camera URL (15 s) and checks its bitrate against the camera limit. */
  async source(body: Body): Promise<{ platform: string; files: SourceFile[] }> {
    const platform = checkPlatform(requireString(body, 'platform', 64), CAMERA);
    const requests = readSourceRequests(body.files);
    const { camera: limitKbps } = await this.deps.limits();
    const files: SourceFile[] = [];
    for (const req of requests) {
      const target = cameraTarget(req);
      await this.untilStackStreamPlays(target);
      const result = await probe(this.deps.config.binaries.ffprobe, heartbeatUrlOptions(target).url).catch((err: unknown) => {
        // ffprobe names the failure, not the address; a user with several cameras needs to know which one.
        if (!(err instanceof ValidationError)) throw err;
        const shown = urlPassword(target).reduce((url, password) => url.split(password).join('******'), target);
        throw new ValidationError(`camera ${shown}: ${err.message}`);
      });
      checkBitrate(result, limitKbps);
      files.push(toSourceFile(req, target, result));
    }
    await this.setFiles(platform, files);
    return { platform, files };
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
