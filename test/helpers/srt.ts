// SRT callers for tests and benches: ffmpeg publishing a generated pattern with a tone over SRT
// (MPEG-TS, as OBS and vMix send it), ffmpeg players, and the gateway's status API.
import { spawnFfmpeg, type Publisher } from './media.js';
import type { StackHandle } from './stack.js';

/** ffmpeg's SRT URL for a streamid (ffmpeg passes it to SRTO_STREAMID as is). */
export function srtUrl(port: number, streamid: string, extra = ''): string {
  return `srt://127.0.0.1:${port}?streamid=${streamid}${extra}`;
}

export const publishId = (stream: string, secret: string) => `#!::r=live/${stream}?secret=${secret},m=publish`;
export const playId = (stream: string) => `#!::r=live/${stream},m=request`;

export interface SrtPublishOptions {
  codec?: 'h264' | 'h265';
  /** 0: until stopped. */
  seconds?: number;
  size?: string;
}

/** ffmpeg arguments for a generated H.264 (or H.265) + AAC MPEG-TS publish over SRT. */
export function srtPublishArgs(url: string, o: SrtPublishOptions = {}): string[] {
  const video =
    o.codec === 'h265'
      ? ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error']
      : ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency'];
  return [
    ...['-hide_banner', '-loglevel', 'error', '-re'],
    ...['-f', 'lavfi', '-i', `testsrc=size=${o.size ?? '320x240'}:rate=25`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
    ...(o.seconds ? ['-t', String(o.seconds)] : []),
    ...video,
    ...['-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k'],
    ...['-pes_payload_size', '0', '-f', 'mpegts', url],
  ];
}

export function srtPublish(url: string, o: SrtPublishOptions = {}): Publisher {
  return spawnFfmpeg(srtPublishArgs(url, o));
}

/** A long-running ffmpeg that reads a URL (copy, discarded): a player that stays until stopped. */
export function keepPlaying(url: string): Publisher {
  return spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-i', url, '-map', '0', '-c', 'copy', '-f', 'null', '-']);
}

export interface SrtStatus {
  available: boolean;
  state: string;
  reason: string;
  publishers: Array<{ app: string; stream: string; codecs: string[] }>;
  players: number;
  refusals: Array<{ stream: string; reason: string }>;
  worker: { handshakes: { calls: number; rejected: number; avgUs: number; maxUs: number } } | null;
}

export async function srtStatus(stack: StackHandle, bearer: string): Promise<SrtStatus> {
  return (await stack.api('/terraform/v1/mgmt/srt/query', {}, { bearer })).json.data as SrtStatus;
}
