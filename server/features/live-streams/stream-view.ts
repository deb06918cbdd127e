// How the console shows a live stream's media (System › Streams, a live room's page): the picture's
// size, frame rate, codecs and bitrate as people read them, instead of internal ids. Pure, so it is
// unit-tested; the figures come from the registry (registry.ts, mediaOf).
import type { ActiveStream } from './registry.js';

export interface ShownMedia {
  /** `640x360`, '' when unknown. */
  readonly resolution: string;
  /** `25 fps`, '' when unknown. */
  readonly fps: string;
  /** `H.264 / AAC`, the known ones. */
  readonly codecs: string;
  /** `850 kbps` or `2.4 Mbps`, '' before any media. */
  readonly bitrate: string;
}

export function shownBitrate(kbps: number): string {
  if (!(kbps > 0)) return '';
  return kbps < 1000 ? `${Math.round(kbps)} kbps` : `${(kbps / 1000).toFixed(kbps < 10_000 ? 2 : 1)} Mbps`;
}

export function shownMedia(s: Pick<ActiveStream, 'kbps' | 'video' | 'audio'>): ShownMedia {
  const v = s.video;
  return {
    resolution: v && v.width > 0 && v.height > 0 ? `${v.width}x${v.height}` : '',
    fps: v && v.fps > 0 ? `${Number.isInteger(v.fps) ? v.fps : v.fps.toFixed(1)} fps` : '',
    codecs: [v?.codec, s.audio?.codec].filter(Boolean).join(' / '),
    bitrate: shownBitrate(s.kbps),
  };
}

/** The console's in-page play URL of a live stream: HTTP-FLV from this console's origin (it starts at once from the tap's GOP). */
export function consolePlayPath(app: string, stream: string): string {
  return `/${encodeURIComponent(app)}/${encodeURIComponent(stream)}.flv`;
}
