// VOD playlists of a record (docs/compatibility.md §5.8): the file ffmpeg remuxes and the preview players load.
import type { TsFile } from './model.js';

/** Which segments start after a break: a sequence gap, or a new publish inside the record. */
function discontinuities(files: readonly TsFile[]): boolean[] {
  return files.map((f, i) => i > 0 && (f.discontinuity === true || f.seqno !== (files[i - 1] as TsFile).seqno + 1));
}

/**
 * Builds a VOD playlist. EXT-X-TARGETDURATION is the largest segment duration rounded up (SRS Stack
 * writes the total by mistake); a sequence gap or a new publish inside the record gets
 * EXT-X-DISCONTINUITY so players reset their clocks.
 */
export function buildVodPlaylist(files: readonly TsFile[], uriOf: (file: TsFile) => string): string {
  const longest = files.reduce((max, f) => Math.max(max, f.duration), 0);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-ALLOW-CACHE:YES',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(longest))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
  ];
  const breaks = discontinuities(files);
  files.forEach((file, i) => {
    if (breaks[i]) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${file.duration.toFixed(2)}, no desc`, uriOf(file));
  });
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/**
 * The index of the first segment of the last `windowSeconds` (0: all): the newest segments whose
 * durations add up to at most the window, and always the newest one.
 */
export function dvrWindowStart(files: readonly { duration: number }[], windowSeconds: number): number {
  let first = files.length;
  let span = 0;
  while (
    first > 0 &&
    (windowSeconds <= 0 || first === files.length || span + (files[first - 1] as { duration: number }).duration <= windowSeconds)
  ) {
    first -= 1;
    span += (files[first] as { duration: number }).duration;
  }
  return first;
}

/** Where a DVR playlist's segment list starts in the stream's whole history (features/timeshift prunes its head). */
export interface DvrHistory {
  /** Segments dropped before files[0]: the media sequence number of files[0]. */
  readonly sequenceBase: number;
  /** Discontinuities up to and including files[0] (a list's first segment is never marked as one). */
  readonly discontinuityBase: number;
}

/**
 * Live timeshift (docs/compatibility.md §13a): the playlist of a record still recording, as a live
 * DVR window of its last `windowSeconds` (0: all of it) without EXT-X-ENDLIST, so players follow
 * the live edge and can seek back over the window. The record's segment list only grows, so a
 * segment's index is its media sequence number, and the discontinuities before the window are
 * counted in EXT-X-DISCONTINUITY-SEQUENCE. Every segment carries EXT-X-PROGRAM-DATE-TIME (its
 * start: the engine file's mtime minus its duration, or the previous one's end; the first from the
 * record's begin), so a player can show and seek by wall-clock time. The same playlist serves a
 * stream's timeshift (features/timeshift), whose list loses its head as it ages: `history` keeps
 * the sequence numbers going up.
 */
export function buildDvrPlaylist(
  files: readonly TsFile[],
  uriOf: (file: TsFile) => string,
  opts: { windowSeconds: number; beginMs: number; history?: DvrHistory },
): string {
  const breaks = discontinuities(files);
  const starts: number[] = [];
  files.forEach((f, i) => {
    const previous = i > 0 ? (starts[i - 1] as number) + (files[i - 1] as TsFile).duration * 1000 : opts.beginMs;
    starts.push(f.mtime && (breaks[i] || i === 0) ? f.mtime - f.duration * 1000 : previous);
  });
  const first = dvrWindowStart(files, opts.windowSeconds);
  const window = files.slice(first);
  const longest = window.reduce((max, f) => Math.max(max, f.duration), 0);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(longest))}`,
    `#EXT-X-MEDIA-SEQUENCE:${(opts.history?.sequenceBase ?? 0) + first}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${(opts.history?.discontinuityBase ?? 0) + breaks.slice(0, first + 1).filter(Boolean).length}`,
  ];
  window.forEach((file, j) => {
    const i = first + j;
    if (j > 0 && breaks[i]) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(
      `#EXT-X-PROGRAM-DATE-TIME:${new Date(starts[i] as number).toISOString()}`,
      `#EXTINF:${file.duration.toFixed(2)}, no desc`,
      uriOf(file),
    );
  });
  return `${lines.join('\n')}\n`;
}
