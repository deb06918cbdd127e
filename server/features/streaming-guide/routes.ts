// Scenarios › Streaming (tab `live`, docs/compatibility.md §12.2): where to publish from OBS/vMix, FFmpeg or a
// browser over RTMP, SRT and WebRTC (WHIP) and where to watch (HTTP-FLV, HLS, SRT, WHEP), with
// in-page players, plus the QR code of the publish URL.
import { dvrUrlOf } from '../timeshift/delivery.js';
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
  urlRows,
  type UrlInputs,
  type UrlRow,
} from './urls.js';

/** Which ingests are running right now (asked on every page load: a feature may fail to start). */
export interface StreamingAvailability {
  readonly srt: boolean;
  readonly webrtc: boolean;
}
export type StreamingAvailabilityProvider = () => StreamingAvailability;

/** Where the page reads the publish secret it puts into URLs (the live-streams feature's store). */
export interface PublishSecretSource {
  get(): Promise<string>;
}

/** A live room as its page needs it (the live-streams feature's rooms; NotFoundError for an unknown uuid). */
export interface RoomLookup {
  get(uuid: string): Promise<{ uuid: string; title: string; stream: string; secret: string }>;
}

/**
 * Signed play URLs for the console's pages (features/play-auth): whether any stream is private,
 * whether one is, and a token for one stream of the live app. Absent: SRS Stack's public URLs.
 */
export interface PlayUrlSigner {
  anyPrivate(): boolean;
  isPrivate(stream: string): boolean;
  tokenFor(stream: string): Promise<{ token: string; expiresAt: number }>;
}

/** The play token a page puts into a private stream's play URLs (none for a public one). */
async function playTokenFor(signer: PlayUrlSigner | undefined, stream: string): Promise<string | undefined> {
  return signer?.isPrivate(stream) ? (await signer.tokenFor(stream)).token : undefined;
}

/** What a page's URLs are built from: the host the browser used, the display ports, the publish secret. */
export async function urlInputs(ctx: Koa.Context, config: Config, publishSecrets: PublishSecretSource): Promise<Omit<UrlInputs, 'stream'>> {
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

/** The play URLs of a stream of this stack as a page lists them (urlRows), for the browser that asked. */
export type PlayRowsFor = (ctx: Koa.Context, stream: string) => Promise<UrlRow[]>;

export function playRowsFor(
  config: Config,
  publishSecrets: PublishSecretSource,
  availability: StreamingAvailabilityProvider,
  signer?: PlayUrlSigner,
): PlayRowsFor {
  return async (ctx, stream) =>
    urlRows(
      streamingUrls({ ...(await urlInputs(ctx, config, publishSecrets)), stream, playToken: await playTokenFor(signer, stream) }),
      availability(),
    ).play;
}

/** SRS Stack's first Scenarios tab, so its deep link lands on Start here. */
const START_TAB = 'tutorials';

/** The URLs a page shows, for the default stream and as templates the page's script renames (streaming.js). */
async function pageUrls(ctx: Koa.Context, config: Config, publishSecrets: PublishSecretSource, signer?: PlayUrlSigner) {
  const inputs = await urlInputs(ctx, config, publishSecrets);
  // Play authentication on: the players and share links carry a token, which the page script asks
  // play-token for whenever it renames the stream (docs/compatibility.md §13).
  const playAuth = signer?.anyPrivate() ?? false;
  const playToken = playAuth && signer ? (await signer.tokenFor(DEFAULT_STREAM)).token : undefined;
  return {
    inputs,
    defaultStream: DEFAULT_STREAM,
    playAuth,
    urls: streamingUrls({ ...inputs, stream: DEFAULT_STREAM, playToken }),
    templates: streamingUrls({ ...inputs, stream: STREAM_TOKEN, playToken: playAuth ? PLAY_TOKEN : undefined }),
  };
}

export function registerStreamingTab(
  ui: Console,
  config: Config,
  publishSecrets: PublishSecretSource,
  availability: StreamingAvailabilityProvider,
  signer?: PlayUrlSigner,
): void {
  // Start here (issue 17): publish from OBS in three steps with the Streaming page's own URLs, watch, then pick a
  // scenario (the scenario tabs that have a card text in views/streaming/i18n.json).
  ui.addTab({
    section: 'scenarios',
    id: START_TAB,
    titleKey: 'start.tab',
    order: 0,
    template: 'streaming/start',
    load: async (ctx) => {
      const { defaultStream, playAuth, urls, templates } = await pageUrls(ctx, config, publishSecrets, signer);
      return {
        defaultStream,
        playAuth,
        urls,
        templates,
        scenarios: ui
          .tabsOf('scenarios')
          .filter((t) => t.id !== START_TAB)
          .map((t) => ({ id: t.id, titleKey: t.titleKey })),
      };
    },
  });
  ui.addTab({
    section: 'scenarios',
    id: 'live',
    titleKey: 'streaming.tab',
    order: 10,
    template: 'streaming/live',
    load: async (ctx) => {
      // Templates: the same URLs with a placeholder; the page's script renames the stream everywhere.
      const { inputs, defaultStream, playAuth, urls, templates } = await pageUrls(ctx, config, publishSecrets, signer);
      return {
        defaultStream,
        playAuth,
        urls,
        templates,
        srtLatency: SRT_LATENCY_MS,
        available: availability(),
        // Browsers hand out the camera only in a secure context (HTTPS, or a loopback host).
        canCapture: browserCanCapture(inputs.secure, inputs.hostname),
      };
    },
  });
}

export function streamingHandlers(
  ui: Console,
  config: Config,
  publishSecrets: PublishSecretSource,
  rooms: RoomLookup,
  availability: StreamingAvailabilityProvider,
  signer?: PlayUrlSigner,
  /** The live timeshift window (minutes; 0: off): the player page offers it for a live HLS URL. */
  timeshiftMinutes: () => number = () => 0,
): RouteHandlers {
  return {
    // A signed play URL token for the page's stream (a console session is the credential).
    'streaming.playToken': async ({ ctx }) => {
      const stream = checkStreamName('stream', typeof ctx.query.stream === 'string' ? ctx.query.stream : DEFAULT_STREAM);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = signer ? await signer.tokenFor(stream) : { token: '', expiresAt: 0 };
    },
    // A live room's page: its publish and play URLs (the Streaming page's, with the room's stream and
    // secret) and an in-page player.
    'streaming.room': async ({ ctx }) => {
      const room = await rooms.get(String(ctx.params.uuid));
      const inputs = await urlInputs(ctx, config, publishSecrets);
      const urls = streamingUrls({
        ...inputs,
        secret: room.secret,
        stream: room.stream,
        playToken: await playTokenFor(signer, room.stream),
      });
      await ui.render(ctx, 'streaming/room', { room, urls, rows: urlRows(urls, availability()) });
    },
    // SRS Stack's standalone player, public like the streams it plays.
    'streaming.player': async ({ ctx }) => {
      const url = typeof ctx.query.url === 'string' ? ctx.query.url.slice(0, 2048) : '';
      const minutes = timeshiftMinutes();
      await ui.render(ctx, 'streaming/player', { url, timeshift: minutes > 0 ? { minutes, dvrUrl: dvrUrlOf(url) } : null });
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
