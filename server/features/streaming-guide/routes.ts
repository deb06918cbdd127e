// Scenarios › Streaming (tab `live`, docs/compatibility.md §12.2): where to publish from OBS/vMix, FFmpeg or a
// browser over RTMP, SRT and WebRTC (WHIP) and where to watch (HTTP-FLV, HLS, SRT, WHEP), with
// in-page players, plus the QR code of the publish URL.
import type Koa from 'koa';
import type { Config } from '../../config.js';
import { isSecureRequest } from '../../core/http.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import { checkStreamName } from '../../core/stream-names.js';
import {
  DEFAULT_STREAM,
  PLAY_TOKEN,
  SRT_LATENCY_MS,
  STREAM_TOKEN,
  browserCanCapture,
  splitHost,
  streamingUrls,
  type UrlInputs,
} from './urls.js';

/** Which ingests are running right now (asked on every page load: a feature may fail to start). */
export interface StreamingAvailability {
  readonly srt: boolean;
  readonly webrtc: boolean;
}
export type StreamingAvailabilityProvider = () => StreamingAvailability;

/**
 * Signed play URLs for the page (features/play-auth): whether any stream is private, and a token for
 * one stream of the live app. Absent: the page shows SRS Stack's public URLs.
 */
export interface PlayUrlSigner {
  anyPrivate(): boolean;
  tokenFor(stream: string): Promise<{ token: string; expiresAt: number }>;
}

/** What a page's URLs are built from: the host the browser used, the display ports, the publish secret. */
/** Where the page reads the publish secret it puts into URLs (the live-streams feature's store). */
export interface PublishSecretSource {
  get(): Promise<string>;
}

async function urlInputs(ctx: Koa.Context, config: Config, publishSecrets: PublishSecretSource): Promise<Omit<UrlInputs, 'stream'>> {
  const { hostname, port } = splitHost(ctx.host);
  return {
    hostname,
    secure: isSecureRequest(ctx),
    pagePort: port,
    rtmpPort: config.display.rtmpPort,
    httpPort: config.display.httpPort,
    srtPort: config.display.srtPort,
    rtcPort: config.display.rtcPort,
    httpsPort: String(config.httpsListen),
    secret: await publishSecrets.get(),
  };
}

export function registerStreamingTab(
  ui: Console,
  config: Config,
  publishSecrets: PublishSecretSource,
  availability: StreamingAvailabilityProvider,
  signer?: PlayUrlSigner,
): void {
  ui.addTab({
    section: 'scenarios',
    id: 'live',
    titleKey: 'streaming.tab',
    order: 10,
    template: 'streaming/live',
    load: async (ctx) => {
      const inputs = await urlInputs(ctx, config, publishSecrets);
      // Play authentication on: the players and share links carry a token, which the page script
      // asks play-token for whenever it renames the stream (docs/compatibility.md §13).
      const signing = signer?.anyPrivate() ?? false;
      const playToken = signing && signer ? (await signer.tokenFor(DEFAULT_STREAM)).token : undefined;
      return {
        defaultStream: DEFAULT_STREAM,
        playAuth: signing,
        urls: streamingUrls({ ...inputs, stream: DEFAULT_STREAM, playToken }),
        // The same URLs with a placeholder: the page's script renames the stream everywhere.
        templates: streamingUrls({ ...inputs, stream: STREAM_TOKEN, playToken: signing ? PLAY_TOKEN : undefined }),
        srtLatency: SRT_LATENCY_MS,
        available: availability(),
        // Browsers hand out the camera only in a secure context (HTTPS, or a loopback host).
        canCapture: browserCanCapture(inputs.secure, inputs.hostname),
      };
    },
  });
}

export function streamingHandlers(ui: Console, config: Config, publishSecrets: PublishSecretSource, signer?: PlayUrlSigner): RouteHandlers {
  return {
    // A signed play URL token for the page's stream (a console session is the credential).
    'streaming.playToken': async ({ ctx }) => {
      const stream = checkStreamName('stream', typeof ctx.query.stream === 'string' ? ctx.query.stream : DEFAULT_STREAM);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = signer ? await signer.tokenFor(stream) : { token: '', expiresAt: 0 };
    },
    // SRS Stack's standalone player, public like the streams it plays.
    'streaming.player': async ({ ctx }) => {
      await ui.render(ctx, 'streaming/player', { url: typeof ctx.query.url === 'string' ? ctx.query.url.slice(0, 2048) : '' });
    },
    'streaming.qr': async ({ ctx }) => {
      const stream = typeof ctx.query.stream === 'string' ? ctx.query.stream : DEFAULT_STREAM;
      checkStreamName('stream', stream);
      const urls = streamingUrls({ ...(await urlInputs(ctx, config, publishSecrets)), stream });
      // The RTMP publish URL by default (SRS Stack's RTMP FFmpeg tab), the SRT one for its SRT tab.
      const text = ctx.query.kind === 'srt' ? urls.srtPublishUrl : urls.rtmpPublishUrl;
      ctx.type = 'image/svg+xml';
      ctx.set('Cache-Control', 'no-store'); // it holds the publish secret
      // Loaded on first use: ~10 MB that most instances never need.
      const { default: QRCode } = await import('qrcode');
      ctx.body = await QRCode.toString(text, {
        type: 'svg',
        margin: 1,
        width: 200,
        color: { dark: '#661111', light: '#ffffff' },
      });
    },
  };
}
