// HTTP-FLV playback, /{app}/{stream}.flv: public like SRS Stack's players (the route table says so).
import type { RouteHandlers } from '../../route-table.js';
import type { FlvGateway } from './flv-gateway.js';

export function flvHandlers(flv: FlvGateway): RouteHandlers {
  return {
    'flv.play': ({ ctx }) => flv.serve(ctx, ctx.params.app as string, ctx.params.stream as string),
  };
}
