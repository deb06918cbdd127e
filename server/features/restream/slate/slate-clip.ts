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
/** Behind the default text, and around a picture of another shape: the console's dark grey. */
const BACKGROUND = '0x1f2937';
/** The default slate's words (a typographic apostrophe: nothing to escape in a filter graph). */
export const DEFAULT_SLATE_TEXT = 'We\u2019ll be right back';
/** The preview's size (the console shows it; a 16:9 stream's slate, scaled). */
export const PREVIEW_SIZE = { width: 640, height: 360 } as const;

/** What the slate shows: the user's picture (slate/picture.ts), or the default frame. */
export interface SlateLook {
  /** The user's picture, or null: the default dark frame. */
  readonly image: string | null;
  /** A font for the default frame's text, or null (none installed): a plain dark frame. */
  readonly font: string | null;
  /** Changes whenever the look does: it keys the clip cache, so a new picture gets new clips. */
  readonly id: string;
}

/** What identifies a clip in the cache: streams of one format and look share it. */
export function slateKey(format: SlateFormat, lookId: string): string {
  const v = format.video ? `${format.video.width}x${format.video.height}@${format.video.fps}` : 'novideo';
  const a = format.audio ? `${format.audio.sampleRate}/${format.audio.channels}` : 'noaudio';
  return `${v}-${a}-${lookId}`;
}

/** A font path safe to name in a filter graph as is (no quoting levels to get wrong), or null. */
export function usableFont(file: string | null): string | null {
  return file && /^[A-Za-z0-9_./-]+$/.test(file) ? file : null;
}

/** ffmpeg's input of the slate's picture, `width`×`height` at `fps` (pure; the paths are the stack's own). */
function pictureInputArgs(look: SlateLook, width: number, height: number, fps: number): string[] {
  // One frame read: the filter repeats it (slateVideoFilter), instead of `-loop 1` decoding and
  // scaling the picture again for every frame (a 4K PNG: 0.7 s instead of 2.5–3 s per clip).
  if (look.image) return ['-framerate', String(fps), '-i', look.image];
  return ['-f', 'lavfi', '-i', `color=c=${BACKGROUND}:size=${width}x${height}:rate=${fps}`];
}

/**
 * The filter that makes the slate's frames: the picture scaled to fit `width`×`height` and centred on
 * the background (any source resolution or aspect works), or the default frame with its text.
 */
export function slateVideoFilter(look: SlateLook, width: number, height: number): string {
  const tail = 'setsar=1,format=yuv420p';
  if (look.image)
    return `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=${BACKGROUND},${tail},loop=loop=-1:size=1:start=0`;
  const font = usableFont(look.font);
  if (!font) return tail;
  const size = Math.max(12, Math.round(height / 12));
  return `drawtext=fontfile=${font}:text=${DEFAULT_SLATE_TEXT}:fontcolor=white:fontsize=${size}:x=(w-text_w)/2:y=(h-text_h)/2,${tail}`;
}

/** ffmpeg's argv for the clip (pure; the paths are the stack's own: an uploaded picture, the cache). */
export function slateEncodeArgs(format: SlateFormat, look: SlateLook, output: string): string[] {
  const { video, audio } = format;
  if (!video && !audio) throw new Error('a slate needs video or audio');
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  if (video) args.push(...pictureInputArgs(look, video.width, video.height, video.fps));
  if (audio) args.push('-f', 'lavfi', '-i', `anullsrc=r=${audio.sampleRate}:cl=${audio.channels === 1 ? 'mono' : 'stereo'}`);
  args.push('-t', String(SLATE_SECONDS));
  if (video) {
    const fps = String(video.fps);
    args.push(
      '-vf',
      slateVideoFilter(look, video.width, video.height),
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

/**
 * ffmpeg's argv for the console's preview: one JPEG frame of the slate as a 16:9 stream shows it.
 * Rendering it also proves an uploaded picture decodes (slate/picture.ts refuses it otherwise).
 */
export function slatePreviewArgs(look: SlateLook, output: string): string[] {
  const { width, height } = PREVIEW_SIZE;
  return [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error'],
    ...pictureInputArgs(look, width, height, 1),
    ...['-vf', slateVideoFilter(look, width, height), '-frames:v', '1', '-q:v', '3', '-f', 'image2', '-y', output],
  ];
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
