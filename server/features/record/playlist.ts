// VOD playlists of a record (docs/compatibility.md §5.8): the file ffmpeg remuxes and the preview players load.
import type { TsFile } from './model.js';

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
  files.forEach((file, i) => {
    const previous = files[i - 1];
    if (previous && (file.discontinuity || file.seqno !== previous.seqno + 1)) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${file.duration.toFixed(2)}, no desc`, uriOf(file));
  });
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
