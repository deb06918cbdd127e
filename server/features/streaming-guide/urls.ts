// SRS Stack's URL generator rules (docs/compatibility.md §12.2): what the Streaming page shows people to put into
// OBS, FFmpeg and players. Display ports come from mgmt/envs (RTMP_PORT, HTTP_PORT) because behind
// NAT or Docker port mapping the listen ports are not the ones users reach.

import { LIVE_APP } from '../../core/stream-names.js';

export const DEFAULT_STREAM = 'livestream';
/** Placeholder the page's script swaps for the stream name chosen in the browser. */
export const STREAM_TOKEN = '{stream}';

export interface UrlInputs {
  /** The host the browser used (IPv6 in brackets), without port. */
  readonly hostname: string;
  readonly secure: boolean;
  /** The port the page was loaded from ('' for the scheme's default). */
  readonly pagePort: string;
  /** RTMP_PORT display setting. */
  readonly rtmpPort: string;
  /** HTTP_PORT display setting ('' means the page port). */
  readonly httpPort: string;
  readonly secret: string;
  readonly stream: string;
}

export interface StreamingUrls {
  readonly rtmpServer: string;
  readonly rtmpStreamKey: string;
  readonly rtmpPublishUrl: string;
  readonly ffmpegCommand: string;
  readonly flvUrl: string;
  readonly m3u8Url: string;
  readonly flvPlayer: string;
  readonly hlsPlayer: string;
  /** Ports to open in the firewall or security group. */
  readonly firewall: { readonly rtmp: string; readonly http: string };
}

const omittedRtmpPorts = new Set(['', '1935', '80', '443']);
const omittedHttpPorts = new Set(['', '80', '443']);

/** `rtmp://host[:port]/live/`: the OBS "Server" field. */
export function rtmpServerUrl(hostname: string, rtmpPort: string): string {
  return `rtmp://${hostname}${omittedRtmpPorts.has(rtmpPort) ? '' : `:${rtmpPort}`}/${LIVE_APP}/`;
}

export function streamingUrls(i: UrlInputs): StreamingUrls {
  const rtmpPort = i.rtmpPort || '1935';
  const rtmpServer = rtmpServerUrl(i.hostname, rtmpPort);
  const rtmpStreamKey = `${i.stream}?secret=${i.secret}`;
  const httpPort = i.httpPort || i.pagePort;
  const origin = `${i.secure ? 'https' : 'http'}://${i.hostname}${omittedHttpPorts.has(httpPort) ? '' : `:${httpPort}`}`;
  const flvUrl = `${origin}/${LIVE_APP}/${i.stream}.flv`;
  const m3u8Url = `${origin}/${LIVE_APP}/${i.stream}.m3u8`;
  // Relative: the player page is served by this console. The URL stays readable, as in SRS Stack.
  const player = (url: string) => `/tools/player.html?url=${url}`;
  return {
    rtmpServer,
    rtmpStreamKey,
    rtmpPublishUrl: `${rtmpServer}${rtmpStreamKey}`,
    ffmpegCommand: `ffmpeg -re -i ~/git/srs/trunk/doc/source.flv -c copy -f flv '${rtmpServer}${rtmpStreamKey}'`,
    flvUrl,
    m3u8Url,
    flvPlayer: player(flvUrl),
    hlsPlayer: player(m3u8Url),
    firewall: { rtmp: `TCP/${rtmpPort}`, http: `TCP/${httpPort || (i.secure ? '443' : '80')}` },
  };
}

/**
 * Splits a Host header into hostname and port ('' when absent); IPv6 literals keep their brackets.
 * A header that is no valid host (it is client input) yields `localhost` rather than odd URLs.
 */
export function splitHost(host: string): { hostname: string; port: string } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host);
  return m ? { hostname: m[1] as string, port: m[2] ?? '' } : { hostname: 'localhost', port: '' };
}
