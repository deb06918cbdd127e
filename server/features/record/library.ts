// The Recordings library (issue 19, docs/compatibility.md §13a, ours): the records listed with paging and
// filters, and the ffmpeg argv of a clip and of a thumbnail. Pure functions, unit-tested; the
// service runs the argv through the process gate (core/process/run-once.ts).
import { ValidationError } from '../../core/errors.js';
import type { RecordSummary } from './model.js';
import { LOCAL_FFMPEG, faststartMp4 } from './remux.js';

export const MAX_PAGE_SIZE = 200;
export const MAX_TITLE_CHARS = 200;

export interface LibraryQuery {
  /** 1-based. */
  page: number;
  size: number;
  /** `app/stream` or a part of it, matched case-insensitively; empty: any. */
  stream: string;
  status: '' | 'recording' | 'finishing' | 'done';
  /** RFC3339 bounds on the time the record began; empty: open. */
  from: string;
  to: string;
}

export interface LibraryPage {
  records: RecordSummary[];
  total: number;
  page: number;
  size: number;
}

const STATUSES = ['', 'recording', 'finishing', 'done'];

/** Checks the library query of the API; a bad value is refused with a clear message. */
export function parseLibraryQuery(body: Record<string, unknown>): LibraryQuery {
  const int = (key: string, dflt: number, max: number): number => {
    const v = body[key] ?? dflt;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
      throw new ValidationError(`${key} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
    }
    return n;
  };
  const text = (key: string): string => {
    const v = body[key] ?? '';
    if (typeof v !== 'string' || v.length > 256) throw new ValidationError(`${key} must be a string (up to 256 characters)`);
    return v.trim();
  };
  const time = (key: string): string => {
    const v = text(key);
    if (v && !Number.isFinite(Date.parse(v)))
      throw new ValidationError(`${key} must be an RFC3339 time like 2026-12-06T00:00:00Z, got "${v}"`);
    return v;
  };
  const status = text('status');
  if (!STATUSES.includes(status)) throw new ValidationError(`status must be one of recording, finishing, done (or empty), got "${status}"`);
  return {
    page: int('page', 1, 1_000_000),
    size: int('size', 20, MAX_PAGE_SIZE),
    stream: text('stream'),
    status: status as LibraryQuery['status'],
    from: time('from'),
    to: time('to'),
  };
}

/** One page of the records (given newest first) that pass the filters. */
export function libraryPage(records: RecordSummary[], q: LibraryQuery): LibraryPage {
  const needle = q.stream.toLowerCase().replace(/^\/+/, '');
  const from = q.from ? Date.parse(q.from) : -Infinity;
  const to = q.to ? Date.parse(q.to) : Infinity;
  const matching = records.filter((r) => {
    const began = Date.parse(r.begin || r.update) || 0;
    if (q.status && r.status !== q.status) return false;
    if (began < from || began > to) return false;
    return !needle || `${r.app}/${r.stream}`.toLowerCase().includes(needle) || (r.title ?? '').toLowerCase().includes(needle);
  });
  const start = (q.page - 1) * q.size;
  return { records: matching.slice(start, start + q.size), total: matching.length, page: q.page, size: q.size };
}

/** A record's new name: trimmed, one line, bounded; empty clears it. */
export function cleanTitle(title: string): string {
  const clean = title.replace(/\s+/g, ' ').trim();
  if (clean.length > MAX_TITLE_CHARS) throw new ValidationError(`title is too long: at most ${MAX_TITLE_CHARS} characters`);
  return clean;
}

/** Checks a clip's in/out points (s) against the record's duration. */
export function checkClipRange(start: number, end: number, duration: number): void {
  if (!Number.isFinite(start) || !Number.isFinite(end) || start < 0 || end <= start) {
    throw new ValidationError(`a clip needs 0 <= start < end (seconds), got start=${start} end=${end}`);
  }
  if (start >= duration) throw new ValidationError(`start=${start} is past the record's end (${duration.toFixed(1)} s)`);
}

const secs = (s: number) => s.toFixed(3);

/**
 * A clip without re-encoding: the input is seeked to `start` (ffmpeg snaps a stream copy to the
 * keyframe at or before it, so the clip is keyframe-accurate: it may begin up to one keyframe
 * interval early) and `end - start` seconds are copied. +faststart so it plays while downloading.
 * The paths are ours (record UUIDs), never user input; the times are numbers. The input is a
 * finished record's MP4, or (`inputFormat` hls) the VOD playlist of a record still recording.
 * An MP4 is seeked on its video only, the audio following it: in an MP4 written while recording
 * (fragments indexed by sidx, live-mp4.ts) a fragment's audio starts a frame after its keyframe,
 * so seeking the audio on its own sends ffmpeg's reader one whole fragment earlier.
 */
export function clipArgs(input: string, start: number, end: number, output: string, inputFormat?: 'hls'): string[] {
  return [
    ...LOCAL_FFMPEG,
    // A record still recording is read from its segments, through a VOD playlist of them (remux.ts).
    ...(inputFormat ? ['-f', inputFormat] : []),
    // A demuxer option of MP4 (mov) only: the HLS demuxer would refuse it.
    ...(inputFormat ? [] : ['-seek_streams_individually', '0']),
    '-ss',
    secs(start),
    '-i',
    input,
    '-t',
    secs(end - start),
    '-map',
    '0',
    '-c',
    'copy',
    '-avoid_negative_ts',
    'make_zero',
    ...faststartMp4(output),
  ];
}

/** The library's thumbnail: one frame a little into the record (or its middle when short), 320 px wide. */
export function thumbnailArgs(input: string, duration: number, output: string): string[] {
  const at = Math.max(0, Math.min(2, duration / 2));
  return [...LOCAL_FFMPEG, '-ss', secs(at), '-i', input, '-frames:v', '1', '-vf', 'scale=320:-2', '-q:v', '5', '-f', 'mjpeg', '-y', output];
}
