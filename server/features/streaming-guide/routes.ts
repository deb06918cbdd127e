// Scenarios › Streaming (tab `live`, docs/compatibility.md §12.2): where to publish from OBS/vMix or FFmpeg and
// where to watch, with in-page players, plus the QR code of the publish URL.
import type Koa from 'koa';
import QRCode from 'qrcode';
import type { Config } from '../../config.js';
import { isSecureRequest } from '../../core/http.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import { checkStreamName } from '../../core/stream-names.js';
import { DEFAULT_STREAM, STREAM_TOKEN, splitHost, streamingUrls, type UrlInputs } from './urls.js';

export interface StreamingCapabilities {
  readonly srt: boolean;
  readonly webrtc: boolean;
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
    secret: await publishSecrets.get(),
  };
}

export function registerStreamingTab(
  ui: Console,
  config: Config,
  publishSecrets: PublishSecretSource,
  capabilities: StreamingCapabilities,
): void {
  ui.addTab({
    section: 'scenarios',
    id: 'live',
    titleKey: 'streaming.tab',
    order: 10,
    template: 'streaming/live',
    load: async (ctx) => {
      const inputs = await urlInputs(ctx, config, publishSecrets);
      return {
        defaultStream: DEFAULT_STREAM,
        urls: streamingUrls({ ...inputs, stream: DEFAULT_STREAM }),
        // The same URLs with a placeholder: the page's script renames the stream everywhere.
        templates: streamingUrls({ ...inputs, stream: STREAM_TOKEN }),
        capabilities,
      };
    },
  });
}

export function streamingHandlers(ui: Console, config: Config, publishSecrets: PublishSecretSource): RouteHandlers {
  return {
    // SRS Stack's standalone player, public like the streams it plays.
    'streaming.player': async ({ ctx }) => {
      await ui.render(ctx, 'streaming/player', { url: typeof ctx.query.url === 'string' ? ctx.query.url.slice(0, 2048) : '' });
    },
    'streaming.qr': async ({ ctx }) => {
      const stream = typeof ctx.query.stream === 'string' ? ctx.query.stream : DEFAULT_STREAM;
      checkStreamName('stream', stream);
      const { rtmpPublishUrl } = streamingUrls({ ...(await urlInputs(ctx, config, publishSecrets)), stream });
      ctx.type = 'image/svg+xml';
      ctx.set('Cache-Control', 'no-store'); // it holds the publish secret
      ctx.body = await QRCode.toString(rtmpPublishUrl, {
        type: 'svg',
        margin: 1,
        width: 200,
        color: { dark: '#661111', light: '#ffffff' },
      });
    },
  };
}
