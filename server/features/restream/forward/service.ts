// Forward (multi-platform restream, docs/compatibility.md §6): each slot copies a live stream of this stack to a
// platform. Desired state is the slot config in SRS_FORWARD_CONFIG; the task group runs one ffmpeg
// per enabled slot that has a source stream.
import { forwardArgs, forwardFeedArgs } from '../../../core/ffmpeg/argv.js';
import { checkStreamName } from '../../../core/stream-names.js';
import type { TaskLive, TaskPlan } from '../../../core/ffmpeg/tasks.js';
import { KEYS } from '../../../core/keys.js';
import { optionalInteger, optionalString, type Body } from '../../../core/validate.js';
import type { RestreamDeps } from '../deps.js';
import { pickStream } from '../input-selection.js';
import { SlotService } from '../slot-service.js';
import { decodeSlotBase, outputUrl, readSlotBase, slotSecrets, type SlotBase, type SlotKind } from '../slots.js';

export interface ForwardSlot extends SlotBase {
  /** Source stream name (`livestream`); empty: the most recently published stream. */
  stream: string;
  /**
   * Seconds the destination keeps receiving the slate after the publisher left, switching back to
   * live without reconnecting if it returns in time (docs/architecture.md, "The slate"); 0: off, the
   * forward ends with the stream as in SRS Stack. DEFAULT_SLATE_SECONDS when never set.
   */
  slateSeconds: number;
}

/** The longest grace period a slot may ask for. */
export const MAX_SLATE_SECONDS = 3600;
/**
 * The grace period of a slot that never set one (issue 18: "default 60 s"): a new slot, a slot saved
 * before the field existed, and an update that leaves the field out (SRS Stack's scripts) of a slot
 * that has none. A slot that saved 0 keeps 0 (docs/compatibility.md §3.4).
 */
export const DEFAULT_SLATE_SECONDS = 60;

export const FORWARD: SlotKind = { name: 'forward', marker: 'forwarding-', limitKey: 'SRS_FORWARD_LIMIT' };

export class ForwardService extends SlotService<ForwardSlot> {
  constructor(deps: RestreamDeps) {
    super(deps, {
      kind: FORWARD,
      group: 'forward',
      configKey: KEYS.FORWARD_CONFIG,
      taskKey: KEYS.FORWARD_TASK,
      limit: (d) => d.config.limits.forward,
      decode: (v) => ({
        ...decodeSlotBase(v),
        stream: typeof v.stream === 'string' ? v.stream : '',
        slateSeconds: typeof v.slateSeconds === 'number' ? v.slateSeconds : DEFAULT_SLATE_SECONDS,
      }),
    });
  }

  /** `forward/secret` with `action:"update"`: replaces the slot and restarts its task. */
  async update(body: Body): Promise<void> {
    const base = readSlotBase(body, FORWARD);
    const stream = (optionalString(body, 'stream', 256) ?? '').trim();
    if (stream) checkStreamName('source stream', stream);
    // Left out: the slot keeps what it had (SRS Stack's scripts do not know the field).
    const slateSeconds =
      optionalInteger(body, 'slateSeconds', 0, MAX_SLATE_SECONDS) ??
      (await this.store.get(base.platform))?.slateSeconds ??
      DEFAULT_SLATE_SECONDS;
    await this.save({ ...base, stream, slateSeconds });
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
      const slates = slot.slateSeconds > 0 ? this.deps.slates : undefined;
      // A slot whose feed still runs keeps its stream, live or on the slate while its publisher is
      // away — unless the slot now names another stream.
      const fed = slates?.holding(slot.platform);
      const held = fed && (!slot.stream || fed.stream === slot.stream) ? fed : null;
      const source = held ?? pickStream(active, { name: slot.stream || undefined, ownOutput: output });
      if (!source) continue;
      const from = `${source.app}/${source.stream}`;
      if (slates) {
        const { app, stream } = source;
        plans.push({
          id: slot.platform,
          args: forwardFeedArgs(output),
          secrets: slotSecrets(slot),
          input: `${from} (slate ${slot.slateSeconds} s)`,
          output,
          source: from,
          feed: (stdin) => slates.attach(slot.platform, app, stream, slot.slateSeconds * 1000, stdin),
        });
        continue;
      }
      const input = this.deps.liveInput(source.app, source.stream);
      plans.push({ id: slot.platform, args: forwardArgs(input, output), secrets: slotSecrets(slot), input, output, source: from });
    }
    return plans;
  }
}
