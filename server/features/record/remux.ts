// The record's MP4 (docs/compatibility.md §5.8) is written while it records (liveMp4Args). When that one
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

/**
 * The MP4 written while recording (live-mp4.ts): the record's segments, one after the other on
 * stdin as the MPEG-TS stream they are, copied into a fragmented MP4 on stdout, one fragment per
 * keyframe interval. The moov is written first and empty (no sample tables: those are in the
 * fragments), so it does not grow with the record and its place at the head is known at once.
 * aac_adtstoasc is named because that moov is written before ffmpeg has seen an audio packet.
 * frag_duration bounds a fragment (what ffmpeg holds in memory) where keyframes never cut one:
 * an audio-only stream, or a keyframe interval over a minute.
 */
const MAX_FRAGMENT_SECONDS = 60;

export function liveMp4Args(): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-protocol_whitelist',
    'pipe',
    '-f',
    'mpegts',
    '-i',
    'pipe:0',
    '-c',
    'copy',
    '-bsf:a',
    'aac_adtstoasc',
    '-f',
    'mp4',
    '-movflags',
    'frag_keyframe+empty_moov+default_base_moof',
    '-frag_duration',
    String(MAX_FRAGMENT_SECONDS * 1_000_000),
    'pipe:1',
  ];
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
