// Forward (multi-platform restream, reference §6): each slot copies a live stream of this stack to a
// platform. Desired state is the slot config in SRS_FORWARD_CONFIG; the task group runs one ffmpeg
// per enabled slot that has a source stream.
import { KEYS } from '../../core/keys.js';
import { ValidationError } from '../../core/errors.js';
import { forwardArgs, localRtmpUrl } from '../../core/ffmpeg/argv.js';
import type { FfmpegTaskGroup, TaskPlan } from '../../core/ffmpeg/tasks.js';
import { optionalString, type Body } from '../../core/validate.js';
import { pickStream } from '../restream/input-selection.js';
import { taskGroup, type RestreamDeps } from '../restream/deps.js';
import {
  SlotStore,
  decodeSlotBase,
  outputUrl,
  readSlotBase,
  slotSecrets,
  slotStatus,
  type SlotBase,
  type SlotKind,
} from '../restream/slots.js';

export interface ForwardSlot extends SlotBase {
  /** Source stream name (`livestream`); empty: the most recently published stream. */
  stream: string;
}

export const FORWARD: SlotKind = { name: 'forward', marker: 'forwarding-', limitKey: 'SRS_FORWARD_LIMIT' };

export class ForwardService {
  readonly store: SlotStore<ForwardSlot>;
  readonly tasks: FfmpegTaskGroup;

  constructor(private readonly deps: RestreamDeps) {
    this.store = new SlotStore(deps.redis, KEYS.FORWARD_CONFIG, (v) => ({
      ...decodeSlotBase(v),
      stream: typeof v.stream === 'string' ? v.stream : '',
    }));
    this.tasks = taskGroup(deps, 'forward', KEYS.FORWARD_TASK, () => this.plans());
  }

  get limit(): number {
    return this.deps.config.limits.forward;
  }

  /** `forward/secret` without an action: platform → config. */
  async query(): Promise<Record<string, ForwardSlot>> {
    return Object.fromEntries((await this.store.all()).map((s) => [s.platform, s]));
  }

  /** `forward/secret` with `action:"update"`: replaces the slot and restarts its task. */
  async update(body: Body): Promise<void> {
    const base = readSlotBase(body, FORWARD);
    const stream = (optionalString(body, 'stream', 256) ?? '').trim();
    if (stream && !/^[\w.-]+$/.test(stream)) throw new ValidationError(`invalid stream ${stream}: a stream name such as livestream`);
    await this.store.checkCapacity(base.platform, this.limit, FORWARD);
    await this.store.put({ ...base, stream });
    await this.tasks.reconcile();
  }

  async status(): Promise<Record<string, unknown>[]> {
    return (await this.store.all()).map((slot) => {
      const live = this.tasks.live(slot.platform);
      const row = slotStatus(slot, live);
      if (live?.pid) row.stream = live.source;
      return row;
    });
  }

  async plans(): Promise<TaskPlan[]> {
    const [slots, active] = await Promise.all([this.store.all(), this.deps.streams.list()]);
    const plans: TaskPlan[] = [];
    for (const slot of slots) {
      if (!slot.enabled || !slot.server) continue;
      const output = outputUrl(slot, this.deps.config.rtmpListen);
      const source = pickStream(active, { name: slot.stream || undefined, ownOutput: output });
      if (!source) continue;
      const input = localRtmpUrl(this.deps.config.rtmpListen, source.app, source.stream);
      plans.push({
        id: slot.platform,
        args: forwardArgs(input, output),
        secrets: slotSecrets(slot),
        input,
        output,
        source: `${source.app}/${source.stream}`,
      });
    }
    return plans;
  }
}
