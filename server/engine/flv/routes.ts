// The public HTTP-FLV route (no auth, like SRS Stack's players): /{app}/{stream}.flv
import type Router from 'koa-router';
import type { FlvGateway } from './flv-gateway.js';

export function registerFlvRoutes(router: Router, flv: FlvGateway): void {
  router.get('/:app/:stream.flv', (ctx) => flv.serve(ctx, ctx.params.app as string, ctx.params.stream as string));
}
