// Record data in SRS Stack's shapes (docs/compatibility.md §15.3 artifact, §15.4 working task) so an existing
// dump.rdb stays readable, plus a few fields of ours (status, totals, the last error). Values read
// from Redis are validated here; anything malformed is refused instead of crashing the recorder.
import type { HlsSegmentEvent } from '../../core/events.js';

export interface TsFile {
  /** `record/{uuid}/{tsid}.ts`, relative to the data directory (SRS Stack: relative to /data). */
  key: string;
  tsid: string;
  /** SRS Stack's intake copy; ours goes straight into the task directory, so it equals key. */
  tsfile: string;
  url: string;
  seqno: number;
  duration: number;
  size: number;
  /** Ours: the first segment of a new publish inside the same record. */
  discontinuity?: boolean;
  /** Ours: the engine file's modification time (ms), part of the segment's identity. */
  mtime?: number;
}

export type RecordStatus = 'recording' | 'finishing' | 'done';

export interface Artifact {
  uuid: string;
  m3u8_url: string;
  vhost: string;
  app: string;
  stream: string;
  /** SRS Stack: true until the MP4 is made and post-processed. */
  progress: boolean;
  /** RFC3339 time of the last change. */
  update: string;
  nn: number;
  /** Empty while recording: the segments live in a Redis list until the record is finished. */
  files: TsFile[];
  // Ours.
  begin: string;
  status: RecordStatus;
  /** Sum of segment durations (s) and sizes (bytes), kept up to date while recording. */
  duration: number;
  size: number;
  /**
   * The last problem: a finishing failure until a retry succeeds, or while recording, segments
   * waiting for a copy (a full disk) or lost.
   */
  error?: string;
  /** Segments that reached the recorder but could not be kept (their engine file was gone or broken). */
  lost?: number;
  attempts?: number;
  next_retry?: string;
  mp4_size?: number;
  /** Where post-processing copied the MP4. */
  post_cp_file?: string;
  /** Ours: the name the user gave the record in the library (rename). */
  title?: string;
  /** Ours: a clip's source record and its in/out points (s) in that record. */
  clip_of?: string;
  clip_start?: number;
  clip_end?: number;
}

/** A segment written ahead into the working task before it is copied (crash safety). */
export interface PendingSegment {
  msg: HlsSegmentEvent;
  tsfile: TsFile;
}

export interface WorkingTask {
  m3u8_url: string;
  uuid: string;
  nn: number;
  /** RFC3339 time of the last segment: the wait window is measured from it. */
  update: string;
  expired: boolean;
  msgs: PendingSegment[];
}

/** Record UUIDs and segment ids are v4 UUIDs; checking the shape also keeps paths safe. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

type Json = Record<string, unknown>;

const str = (o: Json, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
const num = (o: Json, k: string): number => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : 0);

function object(text: string): Json | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

export function parseTsFile(value: unknown): TsFile | null {
  if (!value || typeof value !== 'object') return null;
  const o = value as Json;
  const tsid = str(o, 'tsid');
  const key = str(o, 'key') || str(o, 'tsfile');
  if (!isUuid(tsid) || !key.endsWith(`${tsid}.ts`)) return null;
  const file: TsFile = {
    key,
    tsid,
    tsfile: str(o, 'tsfile') || key,
    url: str(o, 'url'),
    seqno: num(o, 'seqno'),
    duration: num(o, 'duration'),
    size: num(o, 'size'),
  };
  if (o.discontinuity === true) file.discontinuity = true;
  if (num(o, 'mtime')) file.mtime = num(o, 'mtime');
  return file;
}

export function parseArtifact(text: string): Artifact | null {
  const o = object(text);
  if (!o || !isUuid(str(o, 'uuid'))) return null;
  const files = Array.isArray(o.files) ? o.files.map(parseTsFile).filter((f): f is TsFile => f !== null) : [];
  const progress = o.progress === true;
  // Records written by SRS Stack have no status: in progress there means "not finished yet".
  const status: RecordStatus =
    o.status === 'recording' || o.status === 'finishing' || o.status === 'done' ? o.status : progress ? 'finishing' : 'done';
  const artifact: Artifact = {
    uuid: str(o, 'uuid'),
    m3u8_url: str(o, 'm3u8_url'),
    vhost: str(o, 'vhost'),
    app: str(o, 'app'),
    stream: str(o, 'stream'),
    progress,
    update: str(o, 'update'),
    nn: num(o, 'nn') || files.length,
    files,
    begin: str(o, 'begin') || str(o, 'update'),
    status,
    duration: typeof o.duration === 'number' ? num(o, 'duration') : files.reduce((s, f) => s + f.duration, 0),
    size: typeof o.size === 'number' ? num(o, 'size') : files.reduce((s, f) => s + f.size, 0),
  };
  if (str(o, 'error')) artifact.error = str(o, 'error');
  if (num(o, 'attempts')) artifact.attempts = num(o, 'attempts');
  if (num(o, 'lost')) artifact.lost = num(o, 'lost');
  if (str(o, 'next_retry')) artifact.next_retry = str(o, 'next_retry');
  if (num(o, 'mp4_size')) artifact.mp4_size = num(o, 'mp4_size');
  if (str(o, 'post_cp_file')) artifact.post_cp_file = str(o, 'post_cp_file');
  if (str(o, 'title')) artifact.title = str(o, 'title');
  if (isUuid(str(o, 'clip_of'))) {
    artifact.clip_of = str(o, 'clip_of');
    artifact.clip_start = num(o, 'clip_start');
    artifact.clip_end = num(o, 'clip_end');
  }
  return artifact;
}

function parseSegmentEvent(value: unknown): HlsSegmentEvent | null {
  if (!value || typeof value !== 'object') return null;
  const o = value as Json;
  if (!str(o, 'file') || !str(o, 'm3u8_url')) return null;
  const event: HlsSegmentEvent = {
    vhost: str(o, 'vhost'),
    app: str(o, 'app'),
    stream: str(o, 'stream'),
    file: str(o, 'file'),
    url: str(o, 'url'),
    m3u8_url: str(o, 'm3u8_url'),
    seq_no: num(o, 'seq_no'),
    duration: num(o, 'duration'),
    size: num(o, 'size'),
  };
  if (num(o, 'mtime')) event.mtime = num(o, 'mtime');
  if (o.leftover === true) event.leftover = true;
  return event;
}

export function parseWorkingTask(text: string): WorkingTask | null {
  const o = object(text);
  if (!o || !isUuid(str(o, 'uuid')) || !str(o, 'm3u8_url')) return null;
  const msgs: PendingSegment[] = [];
  for (const m of Array.isArray(o.msgs) ? o.msgs : []) {
    const msg = parseSegmentEvent((m as Json)?.msg);
    const tsfile = parseTsFile((m as Json)?.tsfile);
    if (msg && tsfile) msgs.push({ msg, tsfile });
  }
  return {
    m3u8_url: str(o, 'm3u8_url'),
    uuid: str(o, 'uuid'),
    nn: num(o, 'nn'),
    update: str(o, 'update'),
    expired: o.expired === true,
    msgs,
  };
}

/** The `record/files` item: the artifact without its segment list and playlist URL. */
export type RecordSummary = Omit<Artifact, 'm3u8_url' | 'files'>;

export function summarize(a: Artifact): RecordSummary {
  const out: RecordSummary = {
    uuid: a.uuid,
    vhost: a.vhost,
    app: a.app,
    stream: a.stream,
    progress: a.progress,
    update: a.update,
    begin: a.begin,
    nn: a.nn,
    duration: Math.round(a.duration * 100) / 100,
    size: a.size,
    status: a.status,
  };
  if (a.error) out.error = a.error;
  if (a.lost) out.lost = a.lost;
  if (a.attempts) out.attempts = a.attempts;
  if (a.next_retry) out.next_retry = a.next_retry;
  if (a.mp4_size) out.mp4_size = a.mp4_size;
  if (a.post_cp_file) out.post_cp_file = a.post_cp_file;
  if (a.title) out.title = a.title;
  if (a.clip_of) Object.assign(out, { clip_of: a.clip_of, clip_start: a.clip_start, clip_end: a.clip_end });
  return out;
}

/** Newest first: by the time the record began, then by its last change. */
export function newestFirst(a: { begin: string; update: string }, b: { begin: string; update: string }): number {
  const ms = (t: string) => Date.parse(t) || 0;
  return ms(b.begin || b.update) - ms(a.begin || a.update) || ms(b.update) - ms(a.update);
}
