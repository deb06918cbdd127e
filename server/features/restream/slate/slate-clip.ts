// The slate ("we'll be right back"): a short clip encoded once per stream format (picture size,
// frame rate, audio rate and channels), looped by a ContinuousFeed while the publisher is away
// (docs/architecture.md, "The slate"). Encoded to match the live stream so the destination sees
// no format change, and with the parameter sets in every keyframe (x264 repeat-headers), so a
// decoder switching to it mid-stream decodes it (core/media/avc.ts).
import type { FlvTag } from '../../../core/media/flv-tags.js';

export interface SlateFormat {
  /** null: the stream has no video, the slate is silence only. */
  readonly video: { readonly width: number; readonly height: number; readonly fps: number } | null;
  /** null: the stream has no audio. */
  readonly audio: { readonly sampleRate: number; readonly channels: number } | null;
}

/** One keyframe a second; two seconds loop with no visible seam on a still picture. */
export const SLATE_SECONDS = 2;
/** The slate when the user gave no picture: the console's dark grey. */
const DEFAULT_COLOR = '0x1f2937';

/** What identifies a clip in the cache: streams of one format share it. */
export function slateKey(format: SlateFormat, image: string | null): string {
  const v = format.video ? `${format.video.width}x${format.video.height}@${format.video.fps}` : 'novideo';
  const a = format.audio ? `${format.audio.sampleRate}/${format.audio.channels}` : 'noaudio';
  return `${v}-${a}-${image ?? 'color'}`;
}

/** ffmpeg's argv for the clip (pure; the paths are the stack's own: an uploaded picture, the cache). */
export function slateEncodeArgs(format: SlateFormat, image: string | null, output: string): string[] {
  const { video, audio } = format;
  if (!video && !audio) throw new Error('a slate needs video or audio');
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  if (video) {
    const fps = String(video.fps);
    if (image) args.push('-loop', '1', '-framerate', fps, '-i', image);
    else args.push('-f', 'lavfi', '-i', `color=c=${DEFAULT_COLOR}:size=${video.width}x${video.height}:rate=${fps}`);
  }
  if (audio) args.push('-f', 'lavfi', '-i', `anullsrc=r=${audio.sampleRate}:cl=${audio.channels === 1 ? 'mono' : 'stereo'}`);
  args.push('-t', String(SLATE_SECONDS));
  if (video) {
    const { width: w, height: h } = video;
    const fps = String(video.fps);
    args.push(
      '-vf',
      `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p`,
      '-r',
      fps,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-tune',
      'stillimage',
      '-g',
      fps,
      '-keyint_min',
      fps,
      '-sc_threshold',
      '0',
      '-bf',
      '0',
      '-x264-params',
      'repeat-headers=1',
    );
  }
  if (audio) args.push('-c:a', 'aac', '-b:a', '64k', '-ar', String(audio.sampleRate), '-ac', String(audio.channels));
  args.push('-f', 'flv', '-y', output);
  return args;
}

/** A decoded slate: its codec configurations and its frames, timed from 0. */
export interface SlateClip {
  readonly configs: readonly FlvTag[];
  readonly frames: readonly FlvTag[];
  /** Loop length: the frames' span plus one frame. */
  readonly durationMs: number;
}

/** The clip from the tags of its FLV file (metadata dropped: the live stream's stays the truth). */
export function clipOf(tags: readonly FlvTag[], frameMs: number): SlateClip {
  const configs = tags.filter((t) => t.sequenceHeader);
  const frames = tags.filter((t) => !t.sequenceHeader && t.kind !== 'script');
  if (!frames.length) throw new Error('the slate clip has no frames');
  const first = Math.min(...frames.map((t) => t.timestamp));
  const last = Math.max(...frames.map((t) => t.timestamp));
  return {
    configs,
    frames: frames.map((t) => ({ ...t, timestamp: t.timestamp - first })),
    durationMs: last - first + frameMs,
  };
}
