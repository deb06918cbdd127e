// API and console plumbing the slot features share: the handlers of SRS Stack's `…/secret` (query
// or update), `…/streams`, `…/stream-url` and `…/source` endpoints, and the status rows of the
// console tables.
import { ValidationError } from '../../core/errors.js';
import type { ApiHandler } from '../../core/routing.js';
import type { FfmpegVersion } from '../../core/ffmpeg/probe.js';
import { optionalString, type Body } from '../../core/validate.js';
import { NAMED_PLATFORMS, newCustomPlatform, type SlotBase, type SlotKind } from './slots.js';
import type { SourceFile } from './sources.js';
import { plainProblem, type PlainProblem } from './plain-errors.js';
import { shownTime, type ShownTime } from '../../core/views.js';

export interface SlotApi {
  query(): Promise<unknown>;
  update(body: Body): Promise<void>;
  status(): Promise<unknown>;
}

export interface SourceApi {
  streamUrl(body: Body): unknown;
  source(body: Body): Promise<unknown>;
}

/** `{kind}/secret` answers the configs without an action and replaces one with `action:"update"`. */
export function slotSecretHandler(svc: SlotApi): ApiHandler {
  return async ({ body }) => {
    const action = optionalString(body, 'action', 32);
    if (!action) return svc.query();
    if (action !== 'update') throw new ValidationError(`invalid action=${action}: only "update" is allowed`);
    await svc.update(body);
    return null;
  };
}

/** `{kind}/streams`: each slot's task status. */
export function slotStreamsHandler(svc: SlotApi): ApiHandler {
  return () => svc.status();
}

/** `{kind}/stream-url` (SRS Stack's console also used `streamUrl`): checks a stream URL as a source. */
export function streamUrlHandler(svc: SourceApi): ApiHandler {
  return ({ body }) => svc.streamUrl(body);
}

/** `{kind}/source`: sets a slot's source files. */
export function sourceHandler(svc: SourceApi): ApiHandler {
  return ({ body }) => svc.source(body);
}

/** How a slot is named on the page: the platform's name, or "Custom platform 2"; never its internal id. */
export interface SlotTitle {
  titleKey: string;
  titleVars: Record<string, number>;
  /** The platform's own placeholder for the server field, and its page that shows server and key (named slots). */
  serverKey: string;
  guideKey: string;
}

function isNamed(platform: string): boolean {
  return (NAMED_PLATFORMS as readonly string[]).includes(platform);
}

/** `platforms`: every slot of the page in display order, which numbers the custom ones. */
export function slotTitle(platform: string, platforms: readonly string[]): SlotTitle {
  if (isNamed(platform)) {
    const key = `restream.platform.${platform}`;
    return { titleKey: key, titleVars: {}, serverKey: `${key}.server`, guideKey: `${key}.guide` };
  }
  const customs = platforms.filter((p) => !isNamed(p));
  const n = customs.includes(platform) ? customs.indexOf(platform) + 1 : customs.length + 1;
  return { titleKey: 'restream.slot.customNumbered', titleVars: { n }, serverKey: 'restream.platform.custom.server', guideKey: '' };
}

/**
 * The state a slot's badge shows. A task that restarted and is connecting again is retrying, not
 * "starting": with a wrong key ffmpeg spends most of each attempt there, and the badge must not
 * look like a healthy first start.
 */
export function shownState(state: string, restarts: number): string {
  return state === 'starting' && restarts > 0 ? 'retrying' : state;
}

/** The badge's style: green while streaming (live), red while retrying or failed, amber when stalled, neutral otherwise. */
export function badgeOf(state: string): string {
  if (state === 'streaming' || state === 'live') return 'streaming';
  if (state === 'retrying' || state === 'failed') return 'error';
  return state === 'stalled' ? 'waiting' : '';
}

/** What a destination receives, as the console shows it beside its badge (destination-state.ts). */
export interface DestinationView {
  state: string;
  badge: string;
  nextAttempt: ShownTime;
  /** `12.4 MB`: what it received over all runs. */
  sent: string;
  uptimeSeconds: number;
  reconnects: number;
}

export function destinationView(value: unknown): DestinationView | null {
  if (!value || typeof value !== 'object') return null;
  const d = value as { state?: unknown; nextAttemptAt?: unknown; bytesOut?: unknown; uptimeSeconds?: unknown; reconnects?: unknown };
  const state = String(d.state ?? '');
  const bytes = Number(d.bytesOut ?? 0);
  return {
    state,
    badge: badgeOf(state),
    nextAttempt: shownTime(d.nextAttemptAt),
    sent: bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.round(bytes / 1e3)} kB`,
    uptimeSeconds: Number(d.uptimeSeconds ?? 0),
    reconnects: Number(d.reconnects ?? 0),
  };
}

/** A row of a console status table, from a `…/streams` row. */
export interface StatusView extends SlotTitle {
  platform: string;
  label: string;
  state: string;
  badge: string;
  start: ShownTime;
  ready: ShownTime;
  update: ShownTime;
  source: string;
  output: string;
  restarts: number;
  pid: string;
  bitrate: string;
  log: string;
  error: string;
  /** The failure in one plain sentence, when it is one we know. */
  problem: PlainProblem | null;
  tail: string[];
  /** What the destination receives, while a task runs; the badge follows it. */
  destination: DestinationView | null;
}

export function statusView(row: Record<string, unknown>, platforms: readonly string[] = [String(row.platform)]): StatusView {
  const task = (row.task ?? null) as null | {
    source: string;
    output: string;
    restarts: number;
    pid: number | null;
    bitrateKbps: number | null;
    speed: number | null;
    lastError: string | null;
    tail: string[];
  };
  const frame = (row.frame ?? null) as null | { log: string; update: string };
  const platform = String(row.platform);
  const restarts = task?.restarts ?? 0;
  const state = shownState(String(row.state), restarts);
  const destination = destinationView(row.destination);
  // A streaming task's last error is history; a failing one's is why it fails.
  const failing = destination
    ? !['live', 'starting', 'connecting'].includes(destination.state)
    : state === 'retrying' || state === 'starting';
  return {
    platform,
    ...slotTitle(platform, platforms),
    label: String(row.label ?? ''),
    state,
    badge: destination?.badge ?? badgeOf(state),
    destination,
    start: shownTime(row.start),
    ready: shownTime(row.ready),
    update: shownTime(frame?.update),
    source: task?.source ?? '',
    output: task?.output ?? '',
    restarts,
    pid: task?.pid ? String(task.pid) : '',
    // The speed is the one the abnormal-speed watchdog judges: about 1x when healthy.
    bitrate: [task?.bitrateKbps ? `${Math.round(task.bitrateKbps)} Kbps` : '', task?.speed ? `${task.speed.toFixed(2)}x` : '']
      .filter(Boolean)
      .join(' · '),
    log: frame?.log ?? '',
    error: task?.lastError ?? '',
    problem: failing ? plainProblem(task?.lastError, task?.tail.join('\n')) : null,
    tail: task?.tail ?? [],
  };
}

/** A slot's settings form: the configured slots, the named ones not yet used, and one new custom slot. */
export interface SlotFormView extends SlotTitle {
  platform: string;
  label: string;
  server: string;
  secret: string;
  custom: boolean;
  enabled: boolean;
  configured: boolean;
  /** What its task really does (the status row's state), for the badge beside its title. */
  state: string;
  badge: string;
  destination: DestinationView | null;
  restarts: number;
  problem: PlainProblem | null;
}

export function slotForms<T extends SlotBase>(
  configured: readonly T[],
  kind: SlotKind,
  limit: number,
  rows: readonly StatusView[] = [],
): Array<SlotFormView & { slot: T | null }> {
  const byId = new Map(configured.map((s) => [s.platform, s]));
  const rowOf = new Map(rows.map((r) => [r.platform, r]));
  const customs = configured.map((s) => s.platform).filter((p) => !isNamed(p));
  const platforms = [...NAMED_PLATFORMS, ...customs];
  const form = (platform: string, slot: T | null) => {
    const row = rowOf.get(platform);
    const state = row?.state ?? 'inactive';
    return {
      platform,
      ...slotTitle(platform, platforms),
      label: slot?.label ?? '',
      server: slot?.server ?? '',
      secret: slot?.secret ?? '',
      custom: slot?.custom ?? !isNamed(platform),
      enabled: slot?.enabled ?? false,
      configured: slot !== null,
      state,
      badge: row?.badge ?? badgeOf(state),
      destination: row?.destination ?? null,
      restarts: row?.restarts ?? 0,
      problem: row?.problem ?? null,
      slot,
    };
  };
  const forms = platforms.map((platform) => form(platform, byId.get(platform) ?? null));
  // Named slots count once configured; a free slot is offered only while the limit allows one more.
  if (configured.length < limit) forms.push(form(newCustomPlatform(kind, customs.length + 1), null));
  return forms;
}

/** The status rows of a page, each named the way its form is. */
export function statusViews(rows: readonly Record<string, unknown>[]): StatusView[] {
  const platforms = [...NAMED_PLATFORMS, ...rows.map((r) => String(r.platform)).filter((p) => !isNamed(p))];
  return rows.map((row) => statusView(row, platforms));
}

/**
 * An error a slot's form got back (`?error=…&errorAt=slot-<platform>`, core/routing.ts): shown
 * beside that slot in a plain sentence where we know one, the raw message otherwise.
 */
export interface SlotFormError {
  at: string;
  message: string;
  problem: PlainProblem | null;
}

export function slotFormError(query: Record<string, unknown>): SlotFormError | null {
  const { error, errorAt } = query;
  if (typeof error !== 'string' || !error || typeof errorAt !== 'string') return null;
  return { at: errorAt, message: error, problem: plainProblem(error) };
}

/** The console's one-line source summary: `File 10.2MB 120s 698Kbps` or `Stream 2500Kbps`. */
export function sourceSummary(file: SourceFile | undefined): string {
  if (!file) return '';
  const kbps = file.format?.bit_rate ? `${Math.round(Number(file.format.bit_rate) / 1000)}Kbps` : '';
  if (file.type === 'stream') return ['Stream', kbps].filter(Boolean).join(' ');
  const mb = `${Math.round((file.size / 1024 / 1024) * 10) / 10}MB`;
  const secs = file.format?.duration ? `${Math.round(Number(file.format.duration))}s` : '';
  return ['File', mb, secs, kbps].filter(Boolean).join(' ');
}

/** The codec line under a chosen source: `Video(h264 High 1280x720) Audio(aac 44100HZ 2CH)`. */
export function codecSummary(file: SourceFile | undefined): string {
  if (!file) return '';
  const v = file.video;
  const a = file.audio;
  return [
    v ? `Video(${[v.codec_name, v.profile, v.width && v.height ? `${v.width}x${v.height}` : ''].filter(Boolean).join(' ')})` : '',
    a
      ? `Audio(${[a.codec_name, a.sample_rate ? `${a.sample_rate}HZ` : '', a.channels ? `${a.channels}CH` : ''].filter(Boolean).join(' ')})`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}

export function ffmpegView(v: FfmpegVersion): { binary: string; version: string; error: string } {
  return { binary: v.binary, version: v.version ?? '', error: v.error ?? '' };
}

/** A slot form as the page shows it: collapsed to its title row unless `open`. */
export type ShownSlot<F> = F & { open: boolean };

/**
 * What a slot page shows (issue 17: short pages): each configured slot as one collapsed row
 * (expanded when `?open=<platform>` names it or its form just failed), and at most one form for a
 * new destination: the free slot `?add=` asks for (`1` the first free one, `custom` a custom one,
 * or a named platform), or the one whose form just failed. SRS Stack's fixed slots stay in the API;
 * only the page hides the unused ones. Plain links, so it works without JavaScript.
 */
export interface SlotPage<F> {
  readonly configured: Array<ShownSlot<F>>;
  readonly adding: F | null;
  /** The other free slots, offered as links beside the new form (`add` is their `?add=` value). */
  readonly others: Array<F & { add: string }>;
  /** Whether the limit leaves room for one more slot (the "Add" button). */
  readonly canAdd: boolean;
}

export function slotPage<F extends { platform: string; configured: boolean }>(
  forms: readonly F[],
  limit: number,
  query: Record<string, unknown>,
): SlotPage<F> {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const at = /^slot-([A-Za-z0-9_-]{1,64})$/.exec(str(query.errorAt));
  const failed = str(query.error) && at ? (at[1] as string) : '';
  const configured = forms
    .filter((f) => f.configured)
    .map((f) => ({ ...f, open: f.platform === str(query.open) || f.platform === failed }));
  const canAdd = configured.length < limit;
  const free = canAdd ? forms.filter((f) => !f.configured) : [];
  const addKey = (f: F) => (isNamed(f.platform) ? f.platform : 'custom');
  const wanted = str(query.add);
  let adding: F | null = null;
  if (failed && !configured.some((f) => f.platform === failed)) {
    // A new custom slot gets a fresh random id on every page; the failed form keeps the one it posted.
    const named = free.find((f) => f.platform === failed);
    const custom = free.find((f) => !isNamed(f.platform));
    adding = named ?? (custom && !isNamed(failed) ? { ...custom, platform: failed } : null);
  }
  if (!adding && wanted) adding = (wanted === '1' ? free[0] : free.find((f) => addKey(f) === wanted)) ?? null;
  const others = adding ? free.filter((f) => addKey(f) !== addKey(adding)).map((f) => ({ ...f, add: addKey(f) })) : [];
  return { configured, adding, others, canAdd };
}
