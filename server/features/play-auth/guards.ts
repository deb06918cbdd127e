// Play authentication at each way of watching (features/play-auth/service.ts): the small adapters
// the delivery features take, so none of them imports this feature.
import type Koa from 'koa';
import { clientAddress } from '../../core/http.js';
import type { HlsGuard } from '../hls/delivery.js';
import { tokenOf, type PlayAuth, type PlayProtocol } from './service.js';

/** HLS and LL-HLS sessions (features/hls/delivery.ts). */
export function hlsGuard(auth: PlayAuth): HlsGuard {
  const request = (ctx: Koa.Context, app: string, stream: string) => ({
    protocol: 'hls' as const,
    app,
    stream,
    token: tokenOf(ctx.query),
    clientAddress: clientAddress(ctx),
    param: ctx.querystring ? `?${ctx.querystring}` : '',
  });
  return {
    guarded: (app, stream) => auth.guarded(app, stream),
    async admit(ctx, app, stream, sid) {
      const req = request(ctx, app, stream);
      const admitted = await auth.admit(req);
      // Off and unsigned: a public session, as SRS Stack's.
      const grant = admitted.via === 'off' && admitted.expiresAt === null ? null : await auth.grant(req, sid, admitted);
      return { grant, left: admitted.via === 'callback' ? admitted.left : null };
    },
    check: (ctx, app, stream, sid, grant) => auth.checkGrant(request(ctx, app, stream), sid, grant),
  };
}

/**
 * One HTTP viewer (HTTP-FLV, WHEP): admits it or throws 403; resolves to what to call when it leaves.
 */
export function httpViewerGuard(auth: PlayAuth, protocol: PlayProtocol) {
  return async (ctx: Koa.Context, app: string, stream: string): Promise<() => void> => {
    const admitted = await auth.admit({
      protocol,
      app,
      stream,
      token: tokenOf(ctx.query),
      clientAddress: clientAddress(ctx),
      param: ctx.querystring ? `?${ctx.querystring}` : '',
    });
    return admitted.left;
  };
}
