// Light players for the edge's test and bench: classic HLS and LL-HLS pollers over fetch and
// HTTP-FLV readers (test/helpers/media.ts), hundreds in one process instead of hundreds of ffmpegs.
import { FlvReader } from './media.js';
import { sleep } from './stack.js';

export interface HlsSeen {
  segments: number;
  bytes: number;
  requests: number;
}

export interface LlHlsSeen {
  parts: number;
  bytes: number;
  requests: number;
}

/**
 * The media playlist's URL as a player finds it: a variant playlist (the origin's hls_ctx answer,
 * features/hls/delivery.ts) names it, with the player's session in its query; counted in `seen`.
 */
async function mediaPlaylistUrl(url: string, seen: { requests: number }): Promise<string | null> {
  const res = await fetch(url).catch(() => null);
  seen.requests += 1;
  if (!res?.ok) return null;
  const text = await res.text();
  if (!text.includes('#EXT-X-STREAM-INF')) return url;
  const uri = text.split('\n').find((l) => l && !l.startsWith('#'));
  return uri ? new URL(uri, url).href : null;
}

/** A classic HLS player: polls the playlist every second, fetches each new segment once. */
export async function hlsViewer(playlistUrl: string, until: number, seen: HlsSeen): Promise<void> {
  const fetched = new Set<string>();
  let media: string | null = null;
  while (Date.now() < until) {
    media ??= await mediaPlaylistUrl(playlistUrl, seen);
    const res = media ? await fetch(media).catch(() => null) : null;
    seen.requests += 1;
    if (media && res?.ok) {
      const uris = (await res.text()).split('\n').filter((l) => l && !l.startsWith('#'));
      // Start near the live edge as players do: the last two segments, then every new one.
      for (const uri of fetched.size ? uris : uris.slice(-2)) {
        if (fetched.has(uri)) continue;
        fetched.add(uri);
        const seg = await fetch(new URL(uri, media)).catch(() => null);
        seen.requests += 1;
        if (seg?.ok) {
          seen.segments += 1;
          seen.bytes += (await seg.arrayBuffer()).byteLength;
        }
      }
    }
    await sleep(1000);
  }
}

/** An LL-HLS player: blocking reloads for the preload-hinted part, then the part itself. */
export async function llHlsViewer(playlistUrl: string, until: number, seen: LlHlsSeen): Promise<void> {
  let media: string | null = null;
  let next: string | null = null;
  let init = false;
  while (Date.now() < until) {
    media ??= await mediaPlaylistUrl(playlistUrl, seen);
    if (!media) {
      await sleep(500);
      continue;
    }
    const res = await fetch(next ?? media).catch(() => null);
    seen.requests += 1;
    const text = res?.ok ? await res.text() : '';
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text);
    if (map && !init) {
      init = (await fetch(new URL(map[1] as string, media)).catch(() => null))?.ok ?? false;
      seen.requests += 1;
    }
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s"/.exec(text);
    if (!hint) {
      await sleep(500);
      next = null;
      continue;
    }
    const last = [...text.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)].at(-1)?.[1];
    if (last) {
      const part = await fetch(new URL(last, media)).catch(() => null);
      seen.requests += 1;
      if (part?.ok) {
        seen.parts += 1;
        seen.bytes += (await part.arrayBuffer()).byteLength;
      }
    }
    const blocking = new URL(media);
    blocking.searchParams.set('_HLS_msn', hint[1] as string);
    blocking.searchParams.set('_HLS_part', hint[2] as string);
    next = blocking.href;
  }
}

/**
 * `counts` players of `base` (`http://host:port/live/<stream>`) for `ms`: classic HLS at
 * `<base>.m3u8`, LL-HLS at `<base>/ll.m3u8`, HTTP-FLV at `<base>.flv`.
 */
export async function watchMix(
  base: string,
  counts: { hls: number; llHls: number; flv: number },
  ms: number,
): Promise<{ hls: HlsSeen; ll: LlHlsSeen; flvBytes: number[] }> {
  const until = Date.now() + ms;
  const hls: HlsSeen = { segments: 0, bytes: 0, requests: 0 };
  const ll: LlHlsSeen = { parts: 0, bytes: 0, requests: 0 };
  const flv = Array.from({ length: counts.flv }, () => new FlvReader(`${base}.flv`, { keepTags: false }));
  await Promise.all([
    ...Array.from({ length: counts.hls }, () => hlsViewer(`${base}.m3u8`, until, hls)),
    ...Array.from({ length: counts.llHls }, () => llHlsViewer(`${base}/ll.m3u8`, until, ll)),
  ]);
  for (const reader of flv) reader.close();
  return { hls, ll, flvBytes: flv.map((r) => r.bytes) };
}
