// The restream tests' helpers. Publishing into the stack itself: the engine verifies the publish
// secret and registers the stream, which is what forward and transcode pick their input from. Slots:
// configuring a forward, virtual-live, camera or transcode slot and waiting for its task's state.
import assert from 'node:assert/strict';
import { publishFile, type Publisher } from './media.js';
import { waitFor, type ApiAnswer, type StackHandle } from './stack.js';

export async function publishSecretOf(stack: StackHandle, bearer: string): Promise<string> {
  return ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
}

/** The engine's publish URL of a stream, with the publish secret. */
export function stackPublishUrl(stack: StackHandle, secret: string, stream: string, app = 'live'): string {
  return `rtmp://127.0.0.1:${stack.ports.rtmp}/${app}/${stream}?secret=${secret}`;
}

export function stackPlayUrl(stack: StackHandle, stream: string, app = 'live'): string {
  return `rtmp://127.0.0.1:${stack.ports.rtmp}/${app}/${stream}`;
}

async function activeStreams(stack: StackHandle, bearer: string): Promise<Array<{ app: string; stream: string }>> {
  const res = await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer });
  return (res.json.data as { streams: Array<{ app: string; stream: string }> | null } | undefined)?.streams ?? [];
}

export async function waitStreamLive(stack: StackHandle, bearer: string, stream: string, app = 'live', timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => (await activeStreams(stack, bearer)).some((s) => s.app === app && s.stream === stream),
    timeoutMs,
    () => `${app}/${stream} registered as live\n${stack.logs().slice(-3000)}`,
  );
}

/** Loops a file into the stack (like OBS) and waits until the engine registered the stream. */
export async function publishIntoStack(stack: StackHandle, bearer: string, file: string, stream: string): Promise<Publisher> {
  const secret = await publishSecretOf(stack, bearer);
  const publisher = publishFile(stackPublishUrl(stack, secret, stream), file);
  await waitStreamLive(stack, bearer, stream);
  return publisher;
}

// ---- slots: what the console does to configure a forward, virtual-live, camera or transcode slot ----

export type SlotState = 'inactive' | 'waiting' | 'starting' | 'streaming' | 'retrying';

/** A file as `…/source` accepted it (probed). */
export interface SourceFile {
  name: string;
  uuid: string;
  target: string;
  type: string;
  size: number;
  format: { bit_rate?: string; duration?: string };
  video: { codec_name: string } | null;
  audio: { codec_name: string; channels?: number } | null;
}

/** The live task of a slot (this stack's addition to SRS Stack's rows). */
export interface SlotTask {
  uuid: string;
  pid: number | null;
  /** When ffmpeg was spawned (ISO). */
  start?: string | null;
  status: string;
  source: string;
  input: string;
  output: string;
  speed: number | null;
  restarts: number;
  lastError: string | null;
  tail: string[];
}

/** A row of `…/streams`, or the answer of `transcode/task`. */
export interface SlotRow {
  platform?: string;
  enabled: boolean;
  state: SlotState;
  stream?: string;
  source?: string;
  input?: string;
  output?: string;
  files?: SourceFile[];
  /** When ffmpeg was spawned (ISO), while it runs. */
  start?: string;
  frame?: { log: string; update: string };
  task?: SlotTask;
}

/** A state to reach, or a check of the whole row (undefined while the slot is not listed). */
export type SlotWanted = SlotState | ((row: SlotRow | undefined) => boolean);

const SLOT_TIMEOUT_MS = 30_000;

/** Polls a slot until it is as wanted and returns its row; a timeout says what was seen last. */
async function waitSlot(stack: StackHandle, read: () => Promise<SlotRow | undefined>, wanted: SlotWanted, what: string, timeoutMs: number) {
  const check = typeof wanted === 'string' ? (r: SlotRow | undefined) => r?.state === wanted : wanted;
  let seen: SlotRow | undefined;
  await waitFor(
    async () => check((seen = await read())),
    timeoutMs,
    () => `${what} ${typeof wanted === 'string' ? wanted : 'as wanted'}, saw ${JSON.stringify(seen)}\n${stack.logs().slice(-2000)}`,
  );
  return seen as SlotRow;
}

/** A stack that a test may restart: the slot helpers always talk to the current one. */
type StackRef = StackHandle | (() => StackHandle);

/** One scenario's slots (forward, vlive, camera) through SRS Stack's API, as the console drives them. */
export class Slots {
  constructor(
    private readonly ref: StackRef,
    private readonly bearer: string,
    readonly kind: 'forward' | 'vlive' | 'camera',
  ) {}

  private get stack(): StackHandle {
    return typeof this.ref === 'function' ? this.ref() : this.ref;
  }

  /** `/terraform/v1/ffmpeg/{kind}/{name}` with the bearer: the endpoints without a helper of their own. */
  call(name: string, body: Record<string, unknown> = {}): Promise<ApiAnswer> {
    return this.stack.api(`/terraform/v1/ffmpeg/${this.kind}/${name}`, body, { bearer: this.bearer });
  }

  async rows(): Promise<SlotRow[]> {
    return (await this.call('streams')).json.data as SlotRow[];
  }

  async row(platform: string): Promise<SlotRow | undefined> {
    return (await this.rows()).find((r) => r.platform === platform);
  }

  /** The saved slots, by platform (`…/secret` without an action). */
  async saved(): Promise<Record<string, Record<string, unknown>>> {
    return (await this.call('secret')).json.data as Record<string, Record<string, unknown>>;
  }

  /** `…/secret` with `action: "update"`; the answer as it is, for the tests of refusals. */
  update(platform: string, fields: Record<string, unknown>): Promise<ApiAnswer> {
    return this.call('secret', { action: 'update', platform, ...fields });
  }

  /** Saves the slot, which must be accepted. */
  async save(platform: string, fields: Record<string, unknown>): Promise<void> {
    const res = await this.update(platform, fields);
    assert.equal(res.status, 200, JSON.stringify(res.json));
  }

  /** What the console's Start does: saves the slot, then waits until its task is as wanted. */
  async configure(platform: string, fields: Record<string, unknown>, wanted: SlotWanted = 'streaming', timeoutMs = SLOT_TIMEOUT_MS) {
    await this.save(platform, fields);
    return this.until(platform, wanted, timeoutMs);
  }

  until(platform: string, wanted: SlotWanted, timeoutMs = SLOT_TIMEOUT_MS): Promise<SlotRow> {
    return waitSlot(this.stack, () => this.row(platform), wanted, `${this.kind} ${platform}`, timeoutMs);
  }

  /** What the console's Stop does: the slot as saved, disabled; its task is gone when that returns. */
  async stop(platform: string): Promise<void> {
    await this.save(platform, { ...(await this.saved())[platform], enabled: false });
    assert.equal((await this.row(platform))?.state, 'inactive');
  }

  /** What the console does with a pasted URL (vlive, camera): `…/stream-url`, then `…/source` (ffprobe). */
  async sourceFromUrl(platform: string, url: string): Promise<SourceFile[]> {
    const accepted = await this.call('stream-url', { url });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.json));
    const src = await this.call('source', { platform, files: [{ ...(accepted.json.data as object), size: 0, type: 'stream' }] });
    assert.equal(src.status, 200, JSON.stringify(src.json));
    return (src.json.data as { files: SourceFile[] }).files;
  }
}

/** The one transcode slot: `transcode/apply` configures it, `transcode/task` shows it. */
export class TranscodeSlot {
  constructor(
    private readonly stack: StackHandle,
    private readonly bearer: string,
  ) {}

  async task(): Promise<SlotRow> {
    return (await this.stack.api('/terraform/v1/ffmpeg/transcode/task', {}, { bearer: this.bearer })).json.data as SlotRow;
  }

  async query(): Promise<Record<string, unknown>> {
    return (await this.stack.api('/terraform/v1/ffmpeg/transcode/query', {}, { bearer: this.bearer })).json.data as Record<string, unknown>;
  }

  /** Applies the config, which must be accepted; `apply` answers once the task matches it. */
  async apply(config: Record<string, unknown>): Promise<void> {
    const res = await this.stack.api('/terraform/v1/ffmpeg/transcode/apply', config, { bearer: this.bearer });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  }

  async configure(config: Record<string, unknown>, wanted: SlotWanted = 'streaming', timeoutMs = SLOT_TIMEOUT_MS) {
    await this.apply(config);
    return this.until(wanted, timeoutMs);
  }

  until(wanted: SlotWanted, timeoutMs = SLOT_TIMEOUT_MS): Promise<SlotRow> {
    return waitSlot(this.stack, () => this.task(), wanted, 'transcode', timeoutMs);
  }
}
