// Scenarios › Streaming (tab `live`, reference §12.2): where to publish from OBS/vMix or FFmpeg and
// where to watch, with in-page players, plus the QR code of the publish URL.
import type Koa from 'koa';
import type Router from 'koa-router';
import QRCode from 'qrcode';
import type { Config } from '../../config.js';
import { UnauthorizedError } from '../../core/errors.js';
import { isSecureRequest, type RouteInfo } from '../../core/http.js';
import type { Console } from '../console/console.js';
import type { PublishSecretStore } from '../live-streams/publish-secret-store.js';
import { DEFAULT_STREAM, STREAM_TOKEN, splitHost, streamingUrls, type UrlInputs } from './urls.js';
import { checkStreamName } from '../../core/stream-names.js';

export interface StreamingCapabilities {
  readonly srt: boolean;
  readonly webrtc: boolean;
}

export function registerStreamingTab(
  ui: Console,
  router: Router,
  config: Config,
  publishSecrets: PublishSecretStore,
  capabilities: StreamingCapabilities,
): RouteInfo[] {
  const inputsFor = async (ctx: Koa.Context): Promise<Omit<UrlInputs, 'stream'>> => {
    const { hostname, port } = splitHost(ctx.host);
    return {
      hostname,
      secure: isSecureRequest(ctx),
      pagePort: port,
      rtmpPort: config.display.rtmpPort,
      httpPort: config.display.httpPort,
      secret: await publishSecrets.get(),
    };
  };

  ui.addTab({
    section: 'scenarios',
    id: 'live',
    titleKey: 'streaming.tab',
    order: 10,
    template: 'streaming/live',
    load: async (ctx) => {
      const inputs = await inputsFor(ctx);
      return {
        defaultStream: DEFAULT_STREAM,
        urls: streamingUrls({ ...inputs, stream: DEFAULT_STREAM }),
        // The same URLs with a placeholder: the page's script renames the stream everywhere.
        templates: streamingUrls({ ...inputs, stream: STREAM_TOKEN }),
        capabilities,
      };
    },
  });

  // SRS Stack's standalone player, public like the streams it plays.
  router.get('/tools/player.html', async (ctx) => {
    await ui.render(ctx, 'streaming/player', { url: typeof ctx.query.url === 'string' ? ctx.query.url.slice(0, 2048) : '' });
  });

  router.get('/mgmt/scenarios/live/qr.svg', async (ctx) => {
    if (!ui.isLoggedIn(ctx)) throw new UnauthorizedError('log in to the console to see the publish QR code');
    const stream = typeof ctx.query.stream === 'string' ? ctx.query.stream : DEFAULT_STREAM;
    checkStreamName('stream', stream);
    const { rtmpPublishUrl } = streamingUrls({ ...(await inputsFor(ctx)), stream });
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'no-store'); // it holds the publish secret
    ctx.body = await QRCode.toString(rtmpPublishUrl, { type: 'svg', margin: 1, width: 200, color: { dark: '#661111', light: '#ffffff' } });
  });
  return [
    { path: '/tools/player.html', auth: 'public', method: 'GET' },
    { path: '/mgmt/scenarios/live/qr.svg', auth: 'secured', method: 'GET' },
  ];
}
