// The record's MP4 (docs/compatibility.md §5.8) is written while it records (live-mp4.ts). When that one
// is not whole, ffmpeg's HLS demuxer reads the record's VOD playlist and copies the streams into
// MP4 without re-encoding. +faststart puts the index first so it plays while
// downloading. The output is a temporary name; only the caller's rename makes it the record.

/**
 * How every ffmpeg of the recorder starts (remux, clip, thumbnail): quiet, no stdin, and local files
 * only: nothing in a playlist or a file may make ffmpeg open anything else.
 */
export const LOCAL_FFMPEG = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-protocol_whitelist', 'file'] as const;

/** Pure argv builder (unit-tested); the paths are ours, never user input. */
export function remuxArgs(playlist: string, output: string): string[] {
  return [...LOCAL_FFMPEG, '-f', 'hls', '-i', playlist, '-c', 'copy', ...faststartMp4(output)];
}

/** The output of the remux and of a clip: an MP4 with its index first, so it plays while downloading. */
export function faststartMp4(output: string): string[] {
  return ['-movflags', '+faststart', '-f', 'mp4', '-y', output];
}

/**
 * A remux is disk-bound (hundreds of MB/s); the timeout only catches a hung ffmpeg, so it is
 * generous: one minute plus one second per 5 MB of segments.
 */
export function remuxTimeoutMs(inputBytes: number): number {
  return 60_000 + Math.ceil(inputBytes / (5 * 1024 * 1024)) * 1000;
}
