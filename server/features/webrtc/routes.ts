// WHIP/WHEP over HTTP (SRS Stack's URLs) and the two browser pages. The routes are open: a WHIP
// publish carries its own credential (the publish secret, `?secret=` or `Authorization: Bearer`
// as OBS 30 sends it) that admission checks; a WHEP play is public like every play URL; a
// session's DELETE URL holds its random id, known only to whoever created it.
import type Koa from 'koa';
import { AppError, ValidationError } from '../../core/errors.js';
import { clientAddress } from '../../core/http.js';
import { LIVE_APP } from '../../core/stream-names.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import type { OfferRequest, WebRtcService } from './service.js';

/** SRS Stack's default stream name on its pages. */
const DEFAULT_STREAM = 'livestream';

function query(ctx: Koa.Context, key: string): string {
  const v = ctx.query[key];
  return typeof v === 'string' ? v : '';
}

function offerRequest(ctx: Koa.Context, offer: string): OfferRequest {
  const stream = query(ctx, 'stream');
  if (!stream) throw new ValidationError('the URL needs ?stream=<name> (and app=live)');
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1] ?? '';
  return {
    offer,
    app: query(ctx, 'app') || LIVE_APP,
    stream,
    secret: query(ctx, 'secret') || bearer,
    clientAddress: clientAddress(ctx),
    candidates: { eip: query(ctx, 'eip'), xRealHost: ctx.get('x-real-host'), host: ctx.get('host') },
  };
}

/** 201 with the answer and the session's Location; a refusal as text with its status (WHIP clients show it). */
async function answerOffer(ctx: Koa.Context, base: string, run: () => Promise<{ id: string; sdp: string }>): Promise<void> {
  try {
    const { id, sdp } = await run();
    ctx.status = 201;
    ctx.type = 'application/sdp';
    ctx.set('Location', `${base}${id}`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = sdp;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
    ctx.status = err.status;
    ctx.type = 'text/plain';
    ctx.body = `${err.message}\n`;
  }
}

async function endSession(ctx: Koa.Context, service: WebRtcService, kind: 'whip' | 'whep'): Promise<void> {
  const id = ctx.params.session ?? '';
  if (!service.has(id, kind)) {
    ctx.status = 404;
    ctx.type = 'text/plain';
    ctx.body = 'no such session\n';
    return;
  }
  await service.end(id, 'DELETE by the client');
  ctx.status = 200;
  ctx.body = '';
}

/**
 * `rtcPort`: the public UDP port shown in the firewall hint. `admitViewer`: play authentication
 * (features/play-auth) of a WHEP viewer, which throws to refuse (403 with the reason).
 */
export function webrtcHandlers(
  service: WebRtcService,
  ui: Console,
  rtcPort: string,
  admitViewer?: (ctx: Koa.Context, app: string, stream: string) => Promise<() => void>,
): RouteHandlers {
  return {
    'webrtc.whip': ({ ctx, body }) => answerOffer(ctx, '/rtc/v1/whip/', () => service.publish(offerRequest(ctx, body))),
    'webrtc.whipSession': ({ ctx }) => endSession(ctx, service, 'whip'),
    'webrtc.whep': ({ ctx, body }) =>
      answerOffer(ctx, '/rtc/v1/whep/', async () => {
        const request = offerRequest(ctx, body);
        const left = await admitViewer?.(ctx, request.app, request.stream);
        try {
          return await service.play(request, left);
        } catch (err) {
          left?.(); // admitted but never played: on_stop all the same (it runs once)
          throw err;
        }
      }),
    'webrtc.whepSession': ({ ctx }) => endSession(ctx, service, 'whep'),
    'webrtc.publisherPage': async ({ ctx }) => {
      await ui.render(ctx, 'webrtc/whip', {
        stream: query(ctx, 'stream').slice(0, 256) || DEFAULT_STREAM,
        secret: query(ctx, 'secret').slice(0, 256),
        autostart: query(ctx, 'autostart') === 'true',
        rtcPort,
      });
    },
    'webrtc.playerPage': async ({ ctx }) => {
      await ui.render(ctx, 'webrtc/whep', {
        stream: query(ctx, 'stream').slice(0, 256) || DEFAULT_STREAM,
        autostart: query(ctx, 'autostart') === 'true',
      });
    },
  };
}
