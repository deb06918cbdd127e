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
 * Live timeshift (docs/compatibility.md §13a): the playlist of a record still recording, as a live
 * DVR window of its last `windowSeconds` (0: all of it) without EXT-X-ENDLIST, so players follow
 * the live edge and can seek back over the window. The record's segment list only grows, so a
 * segment's index is its media sequence number, and the discontinuities before the window are
 * counted in EXT-X-DISCONTINUITY-SEQUENCE. Every segment carries EXT-X-PROGRAM-DATE-TIME (its
 * start: the engine file's mtime minus its duration, or the previous one's end; the first from the
 * record's begin), so a player can show and seek by wall-clock time.
 */
export function buildDvrPlaylist(
  files: readonly TsFile[],
  uriOf: (file: TsFile) => string,
  opts: { windowSeconds: number; beginMs: number },
): string {
  const breaks = discontinuities(files);
  const starts: number[] = [];
  files.forEach((f, i) => {
    const previous = i > 0 ? (starts[i - 1] as number) + (files[i - 1] as TsFile).duration * 1000 : opts.beginMs;
    starts.push(f.mtime && (breaks[i] || i === 0) ? f.mtime - f.duration * 1000 : previous);
  });
  let first = files.length;
  let span = 0;
  while (
    first > 0 &&
    (opts.windowSeconds <= 0 || first === files.length || span + (files[first - 1] as TsFile).duration <= opts.windowSeconds)
  ) {
    first -= 1;
    span += (files[first] as TsFile).duration;
  }
  const window = files.slice(first);
  const longest = window.reduce((max, f) => Math.max(max, f.duration), 0);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(longest))}`,
    `#EXT-X-MEDIA-SEQUENCE:${first}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${breaks.slice(0, first + 1).filter(Boolean).length}`,
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
