// HLS on the stack's HTTP port: /{app}/{stream}.m3u8, /{app}/{stream}-N.ts, /{app}/{prefix}/{stream}-N.ts
// (delivery.ts), and LL-HLS under /{app}/{stream}/ (features/ll-hls): both share the three-part path
// shape, so one route takes it and timeshift (features/timeshift: dvr.m3u8, dvr-*.ts) and LL-HLS hand on whatever is not one of its file names. Public like
// every play URL of SRS Stack; the table places them after every specific route.
import type Koa from 'koa';
import type { RouteHandlers } from '../../route-table.js';
import type { HlsDelivery } from './delivery.js';

/** Files under /{app}/{stream}/ served by another HLS flavour (LL-HLS); `next` for anything else. */
export interface NestedHlsFiles {
  serve(ctx: Koa.Context, next: Koa.Next, app: string, stream: string, file: string): Promise<void>;
}

/** `nested` flavours (timeshift, LL-HLS) are asked in order; the classic segments come last. */
export function hlsHandlers(delivery: HlsDelivery, nested: readonly NestedHlsFiles[] = []): RouteHandlers {
  return {
    'hls.file': ({ ctx, next }) => delivery.serve(ctx, next, ctx.params.app ?? '', null, ctx.params.file ?? ''),
    'hls.nestedFile': ({ ctx, next }) => {
      const app = ctx.params.app ?? '';
      const sub = ctx.params.sub ?? '';
      const file = ctx.params.file ?? '';
      const from = (i: number): Promise<void> => {
        const flavour = nested[i];
        return flavour ? flavour.serve(ctx, () => from(i + 1), app, sub, file) : delivery.serve(ctx, next, app, sub, file);
      };
      return from(0);
    },
  };
}
