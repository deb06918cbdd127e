// The public HTTP-FLV route (no auth, like SRS Stack's players): /{app}/{stream}.flv
import type Router from 'koa-router';
import type { RouteInfo } from '../../core/http.js';
import type { FlvGateway } from './flv-gateway.js';

export function registerFlvRoutes(router: Router, flv: FlvGateway): RouteInfo[] {
  const path = '/:app/:stream.flv';
  router.get(path, (ctx) => flv.serve(ctx, ctx.params.app as string, ctx.params.stream as string));
  return [{ path, auth: 'public', method: 'GET' }];
}
