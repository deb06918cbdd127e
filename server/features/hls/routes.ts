// HLS on the stack's HTTP port: /{app}/{stream}.m3u8, /{app}/{stream}-N.ts, /{app}/{prefix}/{stream}-N.ts
// (delivery.ts). Public like every play URL of SRS Stack; the table places them after every
// specific route.
import type { RouteHandlers } from '../../route-table.js';
import type { HlsDelivery } from './delivery.js';

export function hlsHandlers(delivery: HlsDelivery): RouteHandlers {
  return {
    'hls.file': ({ ctx, next }) => delivery.serve(ctx, next, ctx.params.app ?? '', null, ctx.params.file ?? ''),
    'hls.nestedFile': ({ ctx, next }) => delivery.serve(ctx, next, ctx.params.app ?? '', ctx.params.sub ?? '', ctx.params.file ?? ''),
  };
}
