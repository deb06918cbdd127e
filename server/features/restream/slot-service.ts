// The part forward, virtual live and camera share: a slot store under SRS Stack's config key, a task
// group under its task key, the server-enforced limit, the `…/secret` query and the `…/streams` rows.
import type { FfmpegTaskGroup, TaskLive, TaskPlan } from '../../core/ffmpeg/tasks.js';
import { requireString, type Body } from '../../core/validate.js';
import { taskGroup, type RestreamDeps } from './deps.js';
import { checkCarriage } from '../../core/ffmpeg/probe.js';
import { SlotStore, outputUrl, slotStatus, type SlotBase, type SlotKind } from './slots.js';
import { stackStreamOf, streamUrlSource, type SourceFile } from './sources.js';
import { ValidationError } from '../../core/errors.js';
import { destinationFields } from './destinations.js';
import { createLogger } from '../../core/logger.js';

const log = createLogger('restream');

/** How long a probe of this stack's own stream waits for a publish still being admitted. */
export const STACK_STREAM_WAIT_MS = 5000;

export interface SlotServiceSpec<T extends SlotBase> {
  readonly kind: SlotKind;
  /** `forward`: the task group's child-name prefix. */
  readonly group: string;
  readonly configKey: string;
  readonly taskKey: string;
  readonly limit: (deps: RestreamDeps) => number;
  readonly decode: (value: Record<string, unknown>) => T;
}

export abstract class SlotService<T extends SlotBase> {
  readonly store: SlotStore<T>;
  readonly tasks: FfmpegTaskGroup;
  readonly kind: SlotKind;

  constructor(
    protected readonly deps: RestreamDeps,
    private readonly spec: SlotServiceSpec<T>,
  ) {
    this.kind = spec.kind;
    this.store = new SlotStore(deps.redis, spec.configKey, spec.decode);
    this.tasks = taskGroup(deps, spec.group, spec.taskKey, () => this.plans());
  }

  get limit(): number {
    return this.spec.limit(this.deps);
  }

  /** `…/secret` without an action: platform → config. */
  async query(): Promise<Record<string, T>> {
    return Object.fromEntries((await this.store.all()).map((s) => [s.platform, s]));
  }

  async status(): Promise<Record<string, unknown>[]> {
    return (await this.store.all()).map((slot) => {
      const live = this.tasks.live(slot.platform);
      const row = slotStatus(slot, live);
      if (live) row.destination = destinationFields(live, Date.now());
      this.describe(row, slot, live);
      return row;
    });
  }

  /** Adds the feature's own fields to a `…/streams` row. */
  protected abstract describe(row: Record<string, unknown>, slot: T, live: TaskLive | null): void;

  abstract plans(): Promise<TaskPlan[]>;

  /** Saves a slot (a new one only within the limit) and applies it at once. */
  protected async save(slot: T): Promise<void> {
    await this.store.checkCapacity(slot.platform, this.limit, this.kind);
    await this.store.put(slot);
    await this.tasks.reconcile();
  }
}

/** Virtual live and camera: slots whose input is a list of probed sources (only the first is used). */
export abstract class SourceSlotService<T extends SlotBase & { files: SourceFile[] }> extends SlotService<T> {
  /** A slot that has sources but no destination yet (SRS Stack: `…/source` before `…/secret`). */
  protected abstract blank(platform: string): T;

  /** `…/stream-url`: `{name, uuid, target}` for a URL relayed without downloading. */
  streamUrl(body: Body): { name: string; uuid: string; target: string } {
    return streamUrlSource(requireString(body, 'url', 4096));
  }

  /**
   * Before probing a stream URL: when it names a stream of this stack (the engine's port, or the
   * displayed RTMP_PORT), waits until the engine plays it, so an encoder that connected a moment ago
   * is not refused while its publish is admitted (SRS waits for the publisher too). 400 naming the
   * stream when it does not come within STACK_STREAM_WAIT_MS.
   */
  protected async untilStackStreamPlays(url: string): Promise<void> {
    const { rtmpListen, display } = this.deps.config;
    const own = stackStreamOf(url, [rtmpListen, Number(display.rtmpPort)]);
    if (!own) return;
    const started = Date.now();
    const plays = await this.deps.streams.untilPlayable(own.app, own.stream, STACK_STREAM_WAIT_MS);
    if (Date.now() - started > 10) log.info(`waited ${Date.now() - started} ms for ${own.app}/${own.stream} to play before probing it`);
    if (plays) return;
    throw new ValidationError(
      `stream ${own.app}/${own.stream} is not live on this stack (waited ${STACK_STREAM_WAIT_MS / 1000} s): publish it first, then choose it`,
    );
  }

  /** Makes `files` the slot's sources, creating the slot if needed; returns the previous ones. */
  protected async setFiles(platform: string, files: SourceFile[]): Promise<SourceFile[]> {
    const previous = await this.store.get(platform);
    await this.save({ ...(previous ?? this.blank(platform)), files });
    return previous?.files ?? [];
  }

  protected override async save(slot: T): Promise<void> {
    this.checkCarriage(slot);
    await super.save(slot);
  }

  /** Checks new sources against the slot as configured, before anything is moved into place. */
  protected async checkSources(platform: string, files: SourceFile[]): Promise<void> {
    const current = await this.store.get(platform);
    if (current) this.checkCarriage({ ...current, files });
  }

  /** An enabled slot must be able to carry its source to its destination. */
  private checkCarriage(slot: T): void {
    if (!slot.enabled || !slot.server) return;
    checkCarriage(slot.files[0]?.video?.codec_name, outputUrl(slot, this.deps.config.rtmpListen), this.deps.ffmpeg());
  }

  protected describe(row: Record<string, unknown>, slot: T, live: TaskLive | null): void {
    row.files = slot.files;
    if (live?.pid) row.source = slot.files[0]?.uuid ?? '';
  }
}

export function blankSlot(platform: string): SlotBase {
  return { platform, server: '', secret: '', enabled: false, custom: false, label: '' };
}
