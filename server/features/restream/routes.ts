// API and console plumbing the slot features share: the handlers of SRS Stack's `…/secret` (query
// or update), `…/streams`, `…/stream-url` and `…/source` endpoints, and the status rows of the
// console tables.
import { ValidationError } from '../../core/errors.js';
import type { ApiHandler } from '../../core/routing.js';
import type { FfmpegVersion } from '../../core/ffmpeg/probe.js';
import { optionalString, type Body } from '../../core/validate.js';
import { NAMED_PLATFORMS, newCustomPlatform, type SlotBase, type SlotKind } from './slots.js';
import type { SourceFile } from './sources.js';

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

/** A row of a console status table, from a `…/streams` row. */
export interface StatusView {
  platform: string;
  titleKey: string;
  label: string;
  state: string;
  /** The badge's style: green while streaming, red while retrying. */
  badge: string;
  start: string;
  ready: string;
  update: string;
  source: string;
  output: string;
  restarts: number;
  pid: string;
  bitrate: string;
  log: string;
  error: string;
  tail: string[];
}

/** `2024-11-16T08:00:12.345Z` → `2024-11-16 08:00:12` (UTC), empty for none. */
export function shortTime(iso: unknown): string {
  return typeof iso === 'string' && iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '';
}

export function namedTitleKey(platform: string): string {
  return (NAMED_PLATFORMS as readonly string[]).includes(platform) ? `restream.platform.${platform}` : '';
}

export function statusView(row: Record<string, unknown>): StatusView {
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
  return {
    platform,
    titleKey: namedTitleKey(platform),
    label: String(row.label ?? ''),
    state: String(row.state),
    badge: row.state === 'streaming' ? 'streaming' : row.state === 'retrying' ? 'error' : '',
    start: shortTime(row.start),
    ready: shortTime(row.ready),
    update: shortTime(frame?.update),
    source: task?.source ?? '',
    output: task?.output ?? '',
    restarts: task?.restarts ?? 0,
    pid: task?.pid ? String(task.pid) : '',
    // The speed is the one the abnormal-speed watchdog judges: about 1x when healthy.
    bitrate: [task?.bitrateKbps ? `${Math.round(task.bitrateKbps)} Kbps` : '', task?.speed ? `${task.speed.toFixed(2)}x` : '']
      .filter(Boolean)
      .join(' · '),
    log: frame?.log ?? '',
    error: task?.lastError ?? '',
    tail: task?.tail ?? [],
  };
}

/** A slot's settings form: the configured slots, the named ones not yet used, and one new custom slot. */
export interface SlotFormView {
  platform: string;
  titleKey: string;
  label: string;
  server: string;
  secret: string;
  custom: boolean;
  enabled: boolean;
  configured: boolean;
}

export function slotForms<T extends SlotBase>(
  configured: readonly T[],
  kind: SlotKind,
  limit: number,
): Array<SlotFormView & { slot: T | null }> {
  const byId = new Map(configured.map((s) => [s.platform, s]));
  const customs = configured.map((s) => s.platform).filter((p) => !(NAMED_PLATFORMS as readonly string[]).includes(p));
  const forms = [...NAMED_PLATFORMS, ...customs].map((platform) => {
    const slot = byId.get(platform) ?? null;
    return {
      platform,
      titleKey: namedTitleKey(platform),
      label: slot?.label ?? '',
      server: slot?.server ?? '',
      secret: slot?.secret ?? '',
      custom: slot?.custom ?? false,
      enabled: slot?.enabled ?? false,
      configured: slot !== null,
      slot,
    };
  });
  // Named slots count once configured; a free slot is offered only while the limit allows one more.
  if (configured.length < limit) {
    const platform = newCustomPlatform(kind, customs.length + 1);
    forms.push({ platform, titleKey: '', label: '', server: '', secret: '', custom: true, enabled: false, configured: false, slot: null });
  }
  return forms;
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
