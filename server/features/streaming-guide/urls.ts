// SRS Stack's URL generator rules (docs/compatibility.md §12.2): what the Streaming page shows people to put into
// OBS, vMix, FFmpeg, browsers and players. Display ports come from the config (RTMP_PORT, HTTP_PORT,
// SRT_PORT, RTC_PORT) because behind NAT or Docker port mapping the listen ports are not the ones
// users reach.
//
// Escaping: a stream name goes raw into rtmp:// and srt:// URLs (that is what encoders send and what
// the engines match) and through encodeURIComponent into http(s) URLs; a URL carried inside another
// URL's query is encoded once more. The page script renames the stream in templates built with
// STREAM_TOKEN, so each escaping level of the token maps to the same level of the new name
// (fillStream; views/public/streaming.js does the same).

import { LIVE_APP } from '../../core/stream-names.js';

export const DEFAULT_STREAM = 'livestream';
/** Placeholder the page's script swaps for the stream name chosen in the browser. */
export const STREAM_TOKEN = '{stream}';

/** The browser WHIP publisher page (camera, microphone or screen; features/webrtc), SRS Stack's path. */
export const WHIP_PUBLISHER_PAGE = '/players/whip.html';
/** The WHEP player page (features/webrtc), SRS Stack's path. */
export const WHEP_PLAYER_PAGE = '/players/whep.html';

/** SRS Stack's defaults when a display port is set empty. */
const DEFAULT_SRT_PORT = '10080';
const DEFAULT_RTC_PORT = '8000';
/** SRS Stack's SRT latency in play URLs and the vMix guide (ms). */
export const SRT_LATENCY_MS = 20;

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
  /** SRT_PORT display setting (UDP). */
  readonly srtPort: string;
  /** RTC_PORT display setting (UDP). */
  readonly rtcPort: string;
  /** HTTPS_LISTEN: where this console answers over HTTPS when the page came over plain HTTP. */
  readonly httpsPort: string;
  readonly secret: string;
  readonly stream: string;
  /**
   * A signed play URL token (features/play-auth, docs/compatibility.md §13) for the play URLs, or
   * PLAY_TOKEN in templates; absent while play authentication is off (SRS Stack's public URLs).
   */
  readonly playToken?: string;
}

/** The placeholder of a play token in the Streaming page's templates (the page script fills it). */
export const PLAY_TOKEN = '{token}';

export interface StreamingUrls {
  readonly rtmpServer: string;
  readonly rtmpStreamKey: string;
  readonly rtmpPublishUrl: string;
  readonly ffmpegCommand: string;
  readonly flvUrl: string;
  readonly m3u8Url: string;
  /** The stack's LL-HLS (fMP4 parts, blocking reload): an addition to SRS Stack's URLs. */
  readonly llHlsUrl: string;
  readonly flvPlayer: string;
  readonly hlsPlayer: string;
  readonly llHlsPlayer: string;
  /** The host an SRT encoder calls (vMix "Hostname"). */
  readonly srtHost: string;
  /** The SRT port as shown (vMix "Port"). */
  readonly srtPort: string;
  /** `#!::r=live/<s>?secret=<k>,m=publish` (vMix "Stream ID"). */
  readonly srtPublishStreamId: string;
  /** `#!::r=live/<s>,latency=20,m=request`. */
  readonly srtPlayStreamId: string;
  /** The OBS "Server" for SRT (Stream Key stays empty). */
  readonly srtPublishUrl: string;
  readonly srtPlayUrl: string;
  readonly srtFfmpegCommand: string;
  /** ffplay of the SRT play URL in a POSIX shell (single quotes: `!` is not expanded); a 1 s probe, not 5 (README › Performance). */
  readonly ffplayCommand: string;
  /** The same for Windows cmd.exe (double quotes). */
  readonly ffplayCommandWindows: string;
  /** `/rtc/v1/whip/?app=live&stream=<s>&secret=<k>` on this console's origin (OBS 30+ "Server"). */
  readonly whipUrl: string;
  readonly whepUrl: string;
  /** The browser publisher page for whipUrl. */
  readonly whipPublisherPage: string;
  /** The WHEP player page for whepUrl. */
  readonly whepPlayerPage: string;
  /** This page over HTTPS, for browsers that refuse the camera on plain HTTP. */
  readonly httpsPage: string;
  /** Ports to open in the firewall or security group. */
  readonly firewall: { readonly rtmp: string; readonly http: string; readonly srt: string; readonly rtc: string };
}

const omittedRtmpPorts = new Set(['', '1935', '80', '443']);
const omittedHttpPorts = new Set(['', '80', '443']);
const enc = encodeURIComponent;

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
  // Private streams: every play URL carries the token (a JWT: URL-safe characters only).
  const signed = (url: string) => (i.playToken ? `${url}${url.includes('?') ? '&' : '?'}token=${i.playToken}` : url);
  const flvUrl = signed(`${origin}/${LIVE_APP}/${enc(i.stream)}.flv`);
  const m3u8Url = signed(`${origin}/${LIVE_APP}/${enc(i.stream)}.m3u8`);
  const llHlsUrl = signed(`${origin}/${LIVE_APP}/${enc(i.stream)}/ll.m3u8`);
  // Relative: the player page is served by this console. The URL stays readable, as in SRS Stack
  // (an .flv/.m3u8 URL has no '&' or '?' of its own).
  const player = (url: string) => `/tools/player.html?url=${url}`;

  // SRT: SRS Stack always shows the port; the streamid carries app, stream, secret and mode raw.
  const srtPort = i.srtPort || DEFAULT_SRT_PORT;
  const srtPublishStreamId = `#!::r=${LIVE_APP}/${i.stream}?secret=${i.secret},m=publish`;
  const srtPlayStreamId = `#!::r=${LIVE_APP}/${i.stream},latency=${SRT_LATENCY_MS},m=request${i.playToken ? `,token=${i.playToken}` : ''}`;
  const srtPublishUrl = `srt://${i.hostname}:${srtPort}?streamid=${srtPublishStreamId}`;
  const srtPlayUrl = `srt://${i.hostname}:${srtPort}?streamid=${srtPlayStreamId}`;

  // WebRTC: signalling over this console's HTTP(S) origin, media over RTC_PORT/udp.
  const whipUrl = `${origin}/rtc/v1/whip/?app=${LIVE_APP}&stream=${enc(i.stream)}&secret=${enc(i.secret)}`;
  const whepUrl = signed(`${origin}/rtc/v1/whep/?app=${LIVE_APP}&stream=${enc(i.stream)}`);
  const rtcPort = i.rtcPort || DEFAULT_RTC_PORT;

  // A cloud image serves the console on 80 and HTTPS on 443; elsewhere HTTPS is on HTTPS_LISTEN.
  const httpsPort = i.secure ? httpPort : ['', '80'].includes(i.pagePort) ? '443' : i.httpsPort;
  const httpsPage = `https://${i.hostname}${omittedHttpPorts.has(httpsPort) ? '' : `:${httpsPort}`}/mgmt/scenarios?tab=live`;

  // The examples run as pasted: a generated test picture and tone, not a file nobody has; H.264/AAC
  // with a 2 s GOP at 30 fps, which every delivery (HLS, HTTP-FLV, WebRTC, the restreams) takes as is.
  const testSource = `-re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -c:v libx264 -preset veryfast -tune zerolatency -g 60 -c:a aac`;

  return {
    rtmpServer,
    rtmpStreamKey,
    rtmpPublishUrl: `${rtmpServer}${rtmpStreamKey}`,
    ffmpegCommand: `ffmpeg ${testSource} -f flv '${rtmpServer}${rtmpStreamKey}'`,
    flvUrl,
    m3u8Url,
    llHlsUrl,
    flvPlayer: player(flvUrl),
    hlsPlayer: player(m3u8Url),
    llHlsPlayer: player(llHlsUrl),
    srtHost: i.hostname,
    srtPort,
    srtPublishStreamId,
    srtPlayStreamId,
    srtPublishUrl,
    srtPlayUrl,
    srtFfmpegCommand: `ffmpeg ${testSource} -pes_payload_size 0 -f mpegts '${srtPublishUrl}'`,
    ffplayCommand: `ffplay -fflags nobuffer -flags low_delay -analyzeduration 1000000 -i '${srtPlayUrl}'`,
    ffplayCommandWindows: `ffplay -fflags nobuffer -flags low_delay -analyzeduration 1000000 -i "${srtPlayUrl}"`,
    whipUrl,
    whepUrl,
    whipPublisherPage: `${WHIP_PUBLISHER_PAGE}?stream=${enc(i.stream)}&secret=${enc(i.secret)}`,
    whepPlayerPage: signed(`${WHEP_PLAYER_PAGE}?stream=${enc(i.stream)}&autostart=true`),
    httpsPage,
    firewall: {
      rtmp: `TCP/${rtmpPort}`,
      http: `TCP/${httpPort || (i.secure ? '443' : '80')}`,
      srt: `UDP/${srtPort}`,
      rtc: `UDP/${rtcPort}`,
    },
  };
}

/**
 * Renames the stream in a template built with STREAM_TOKEN: the raw token becomes the raw name,
 * the token escaped once (or twice) becomes the name escaped once (or twice). The page script
 * (views/public/streaming.js) applies the same rule in the browser.
 */
export function fillStream(template: string, name: string): string {
  let out = template;
  let token = STREAM_TOKEN;
  let value = name;
  for (let level = 0; level < 3; level++) {
    out = out.split(token).join(value);
    token = enc(token);
    value = enc(value);
  }
  return out;
}

/**
 * Whether a browser lets this page use the camera and microphone: only in a secure context, that
 * is over HTTPS or on a loopback host (localhost, *.localhost, 127.0.0.0/8, [::1]).
 */
export function browserCanCapture(secure: boolean, hostname: string): boolean {
  if (secure) return true;
  const host = hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
}

/**
 * Splits a Host header into hostname and port ('' when absent); IPv6 literals keep their brackets.
 * A header that is no valid host (it is client input) yields `localhost` rather than odd URLs.
 */
export function splitHost(host: string): { hostname: string; port: string } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host);
  return m ? { hostname: m[1] as string, port: m[2] ?? '' } : { hostname: 'localhost', port: '' };
}

/** One URL a page lists with its copy button: `label` is an i18n key, `play` an in-page player for it. */
export interface UrlRow {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly play?: boolean;
}

/**
 * A stream's publish and play URLs as a list (a live room's page): the Streaming page's URLs for
 * that stream (streamingUrls), SRT and WebRTC only where their ingest runs. FLV, HLS and LL-HLS
 * play in the page; SRT and WHEP need their own players (ffplay, the WHEP page).
 */
export function urlRows(
  u: StreamingUrls,
  available: { readonly srt: boolean; readonly webrtc: boolean },
): {
  publish: UrlRow[];
  play: UrlRow[];
} {
  const publish: UrlRow[] = [
    { id: 'rtmp-server', label: 'urls.rtmpServer', value: u.rtmpServer },
    { id: 'rtmp-key', label: 'urls.rtmpKey', value: u.rtmpStreamKey },
    { id: 'rtmp-url', label: 'urls.rtmpUrl', value: u.rtmpPublishUrl },
  ];
  if (available.srt) publish.push({ id: 'srt-url', label: 'urls.srtPublish', value: u.srtPublishUrl });
  if (available.webrtc) publish.push({ id: 'whip-url', label: 'urls.whip', value: u.whipUrl });
  const play: UrlRow[] = [
    { id: 'flv-url', label: 'urls.flv', value: u.flvUrl, play: true },
    { id: 'm3u8-url', label: 'urls.hls', value: u.m3u8Url, play: true },
    { id: 'llhls-url', label: 'urls.llHls', value: u.llHlsUrl, play: true },
  ];
  if (available.srt) play.push({ id: 'srt-play-url', label: 'urls.srtPlay', value: u.srtPlayUrl });
  if (available.webrtc) play.push({ id: 'whep-url', label: 'urls.whep', value: u.whepUrl });
  return { publish, play };
}
