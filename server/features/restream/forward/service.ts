// Forward (multi-platform restream, docs/compatibility.md §6): each slot copies a live stream of this stack to a
// platform. Desired state is the slot config in SRS_FORWARD_CONFIG; the task group runs one ffmpeg
// per enabled slot that has a source stream.
import { forwardArgs } from '../../../core/ffmpeg/argv.js';
import { checkStreamName } from '../../../core/stream-names.js';
import type { TaskLive, TaskPlan } from '../../../core/ffmpeg/tasks.js';
import { KEYS } from '../../../core/keys.js';
import { optionalString, type Body } from '../../../core/validate.js';
import type { RestreamDeps } from '../deps.js';
import { pickStream } from '../input-selection.js';
import { SlotService } from '../slot-service.js';
import { decodeSlotBase, outputUrl, readSlotBase, slotSecrets, type SlotBase, type SlotKind } from '../slots.js';

export interface ForwardSlot extends SlotBase {
  /** Source stream name (`livestream`); empty: the most recently published stream. */
  stream: string;
}

export const FORWARD: SlotKind = { name: 'forward', marker: 'forwarding-', limitKey: 'SRS_FORWARD_LIMIT' };

export class ForwardService extends SlotService<ForwardSlot> {
  constructor(deps: RestreamDeps) {
    super(deps, {
      kind: FORWARD,
      group: 'forward',
      configKey: KEYS.FORWARD_CONFIG,
      taskKey: KEYS.FORWARD_TASK,
      limit: (d) => d.config.limits.forward,
      decode: (v) => ({ ...decodeSlotBase(v), stream: typeof v.stream === 'string' ? v.stream : '' }),
    });
  }

  /** `forward/secret` with `action:"update"`: replaces the slot and restarts its task. */
  async update(body: Body): Promise<void> {
    const base = readSlotBase(body, FORWARD);
    const stream = (optionalString(body, 'stream', 256) ?? '').trim();
    if (stream) checkStreamName('source stream', stream);
    await this.save({ ...base, stream });
  }

  protected describe(row: Record<string, unknown>, _slot: ForwardSlot, live: TaskLive | null): void {
    if (live?.pid) row.stream = live.source;
  }

  async plans(): Promise<TaskPlan[]> {
    const [slots, active] = await Promise.all([this.store.all(), this.deps.streams.list()]);
    const plans: TaskPlan[] = [];
    for (const slot of slots) {
      if (!slot.enabled || !slot.server) continue;
      const output = outputUrl(slot, this.deps.config.rtmpListen);
      const source = pickStream(active, { name: slot.stream || undefined, ownOutput: output });
      if (!source) continue;
      const input = this.deps.liveInput(source.app, source.stream);
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
