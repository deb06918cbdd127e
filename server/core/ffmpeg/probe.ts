// ffprobe validation of virtual-live and camera sources, and the FFmpeg version for the console.
// Short-lived, bounded runs (15 s), so they go through the one-shot runner, not the supervisor.
import { ValidationError } from '../errors.js';
import { maskSecrets } from '../logger.js';
import { describeExit, runOnce, type RunOnceResult } from '../process/run-once.js';
import { ffprobeArgs, schemeOf } from './argv.js';

export const PROBE_TIMEOUT_MS = 15_000;
const VERSION_TIMEOUT_MS = 10_000;
/** ffprobe's JSON for one source is a few KB; a bound keeps a hostile one from filling memory. */
const PROBE_OUTPUT_CHARS = 4 * 1024 * 1024;
/** `ffmpeg -version` prints its configuration after the first line; only that line is read. */
const VERSION_OUTPUT_CHARS = 64 * 1024;

/** `format` as ffprobe prints it: its numeric-looking fields stay strings (SRS Stack's FFprobeSource). */
export interface ProbeFormat {
  start_time?: string;
  duration?: string;
  bit_rate?: string;
  nb_streams?: number;
  probe_score?: number;
  has_video: boolean;
  has_audio: boolean;
}

export interface ProbeVideo {
  codec_type: 'video';
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  level?: number;
  bit_rate?: string;
  start_time?: string;
  duration?: string;
}

export interface ProbeAudio {
  codec_type: 'audio';
  codec_name: string;
  profile?: string;
  sample_fmt?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  bit_rate?: string;
  start_time?: string;
  duration?: string;
}

export interface ProbeResult {
  format: ProbeFormat;
  video: ProbeVideo | null;
  audio: ProbeAudio | null;
}

type Json = Record<string, unknown>;

function pick<T extends string>(from: Json, keys: readonly T[]): Partial<Record<T, unknown>> {
  const out: Partial<Record<T, unknown>> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

/** Turns ffprobe's JSON into the first video and audio stream plus the format; throws on ffprobe's error. */
export function parseProbeJson(stdout: string): ProbeResult {
  let json: Json;
  try {
    json = JSON.parse(stdout) as Json;
  } catch {
    throw new ValidationError('ffprobe printed no readable result');
  }
  const error = json.error as { string?: string } | undefined;
  if (error) throw new ValidationError(`ffprobe: ${error.string ?? 'unknown error'}`);
  const streams = Array.isArray(json.streams) ? (json.streams as Json[]) : [];
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  const f = (json.format ?? {}) as Json;
  return {
    format: {
      ...(pick(f, ['start_time', 'duration', 'bit_rate', 'nb_streams', 'probe_score'] as const) as Partial<ProbeFormat>),
      has_video: Boolean(v),
      has_audio: Boolean(a),
    },
    video: v
      ? (pick(v, [
          'codec_type',
          'codec_name',
          'profile',
          'width',
          'height',
          'pix_fmt',
          'level',
          'bit_rate',
          'start_time',
          'duration',
        ] as const) as unknown as ProbeVideo)
      : null,
    audio: a
      ? (pick(a, [
          'codec_type',
          'codec_name',
          'profile',
          'sample_fmt',
          'sample_rate',
          'channels',
          'channel_layout',
          'bit_rate',
          'start_time',
          'duration',
        ] as const) as unknown as ProbeAudio)
      : null,
  };
}

/** Codecs the copy-codec relay can put into FLV for every platform (ffprobe names H.265 `hevc`). */
const ALLOWED_VIDEO = ['h264', 'h265', 'hevc'];
const ALLOWED_AUDIO = ['aac', 'mp3'];

/** Refuses sources the relay cannot copy to FLV as is. */
export function checkCodecs(probe: ProbeResult): void {
  const v = probe.video?.codec_name;
  const a = probe.audio?.codec_name;
  if (!v && !a) throw new ValidationError('no video or audio stream found in the source');
  if (v && !ALLOWED_VIDEO.includes(v)) throw new ValidationError(`invalid video codec ${v}: use h264 or h265`);
  if (a && !ALLOWED_AUDIO.includes(a)) throw new ValidationError(`invalid audio codec ${a}: use aac or mp3`);
}

/**
 * The source's bitrate in bps: the container's, or for live streams (ffprobe reports none for RTMP)
 * the sum of the streams' bitrates from their metadata; null when unknown.
 */
export function sourceBitrate(probe: ProbeResult): number | null {
  const parse = (text: string | undefined) => {
    const n = text ? Number.parseInt(text, 10) : Number.NaN;
    return Number.isFinite(n) && n > 0 ? n : null;
  };
  const container = parse(probe.format.bit_rate);
  if (container) return container;
  const parts = [parse(probe.video?.bit_rate), parse(probe.audio?.bit_rate)].filter((n): n is number => n !== null);
  return parts.length ? parts.reduce((a, b) => a + b, 0) : null;
}

/** The bitrate limit of SRS Stack (FAQ "Why and how to limit the bitrate of virtual live events"). */
export function checkBitrate(probe: ProbeResult, limitKbps: number): void {
  const bps = sourceBitrate(probe);
  if (bps !== null && bps > limitKbps * 1000) {
    throw new ValidationError(
      `bitrate ${Math.floor(bps / 1000)}Kbps is too large, exceed ${limitKbps}Kbps (raise the limit in System › Limits, or re-encode the source)`,
    );
  }
}

/** Probes a file or URL with SRS Stack's arguments and a 15 s limit. */
export async function probe(ffprobe: string, target: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  let res: RunOnceResult;
  try {
    res = await runOnce(ffprobe, ffprobeArgs(target), { timeoutMs, stdoutLimit: PROBE_OUTPUT_CHARS });
  } catch (err) {
    if ((err as Error & { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') {
      throw new Error(`ffprobe binary not found: ${ffprobe}`, { cause: err });
    }
    throw err;
  }
  if (res.stdoutTruncated)
    throw new ValidationError(`ffprobe printed more than ${PROBE_OUTPUT_CHARS} characters for ${maskSecrets(target)}`);
  // ffprobe prints its JSON, an {"error": …} one included, whatever its exit code: the JSON says more.
  if (res.stdout.trim()) return parseProbeJson(res.stdout);
  if (res.timedOut) throw new ValidationError(`ffprobe gave no answer within ${timeoutMs / 1000} s for ${maskSecrets(target)}`);
  throw new ValidationError(`ffprobe cannot read ${maskSecrets(target)}`);
}

export interface FfmpegVersion {
  binary: string;
  /** e.g. `5.1.6-0+deb12u1`, or null when the binary cannot run. */
  version: string | null;
  error?: string;
}

/**
 * Whether this FFmpeg can put H.265 into FLV, i.e. send it over RTMP: enhanced RTMP arrived in
 * FFmpeg 6.1; older releases refuse ("Video codec hevc not compatible with flv"). A version we cannot
 * read (a git build such as `N-113005-g…`) is given the benefit of the doubt.
 */
export function flvCarriesHevc(version: string | null): boolean {
  const m = /^n?(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return true;
  const major = Number(m[1]);
  return major > 6 || (major === 6 && Number(m[2]) >= 1);
}

/**
 * Refuses, when the slot is saved, a copy relay that could only fail at run time: an H.265 source
 * (phones record HEVC by default) to an RTMP(S) destination with an FFmpeg older than 6.1.
 */
export function checkCarriage(videoCodec: string | undefined, output: string, ffmpeg: FfmpegVersion): void {
  if (videoCodec !== 'hevc' && videoCodec !== 'h265') return;
  const scheme = schemeOf(output);
  if ((scheme !== 'rtmp' && scheme !== 'rtmps') || flvCarriesHevc(ffmpeg.version)) return;
  throw new ValidationError(
    `the source is H.265, which FFmpeg ${ffmpeg.version ?? '(unknown)'} cannot send over RTMP (FLV needs FFmpeg 6.1+ and a platform that takes enhanced RTMP): ` +
      'use an H.264 source, an SRT destination, or a newer FFmpeg (FAQ "How to Replace FFmpeg")',
  );
}

/** `ffmpeg -version`'s first line, so the console shows which FFmpeg runs the tasks (FAQ "How to Replace FFmpeg"). */
export async function ffmpegVersion(ffmpeg: string): Promise<FfmpegVersion> {
  let res: RunOnceResult;
  try {
    res = await runOnce(ffmpeg, ['-hide_banner', '-version'], { timeoutMs: VERSION_TIMEOUT_MS, stdoutLimit: VERSION_OUTPUT_CHARS });
  } catch (err) {
    return { binary: ffmpeg, version: null, error: (err as Error).message };
  }
  const m = /^ffmpeg version (\S+)/m.exec(res.stdout);
  if (m) return { binary: ffmpeg, version: m[1] as string };
  const why =
    res.code === 0 ? 'unrecognised output of -version' : `-version ${describeExit(res, VERSION_TIMEOUT_MS)}: ${res.stderr || 'no output'}`;
  return { binary: ffmpeg, version: null, error: why };
}
