// A live stream's page in the console and its API, `streams.health` (docs/compatibility.md §3.1,
// docs/architecture.md "Stream pages"). The page's figures, warnings and destinations are rendered
// here (bilingual, views/stream-page/i18n.json) and refreshed by console.js; its charts are drawn in
// the browser by uPlot (views/public/stream-page.js) from the API's history.
import { NotFoundError } from '../../core/errors.js';
import { checkStreamName, LIVE_APP } from '../../core/stream-names.js';
import { optionalString, requireString } from '../../core/validate.js';
import { shownTime } from '../../core/views.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import { shownBitrate, shownMedia } from '../live-streams/stream-view.js';
import { NAMED_PLATFORMS } from '../restream/slots.js';
import { destinationView } from '../restream/routes.js';
import type { StreamPage, StreamPageService } from './service.js';

/** What the page shows of a stream, as people read it. Pure. */
export function streamPageView(p: StreamPage) {
  const h = p.now?.health ?? null;
  return {
    media: p.now ? shownMedia(p.now) : null,
    published: shownTime(p.now?.update),
    ended: shownTime(p.endedAt),
    viewers: p.now?.viewers ?? 0,
    keyframe: h && h.keyframeIntervalSeconds > 0 ? `${Math.round(h.keyframeIntervalSeconds * 10) / 10} s` : '',
    drift: h && h.hasAudio && h.hasVideo ? `${Math.round(h.avDriftMs)} ms` : '',
    jumps: h?.timestampJumps ?? 0,
    audio: p.now?.audio ?? null,
    warnings: h?.warnings ?? [],
    destinations: p.destinations.map((d) => ({
      feature: d.feature,
      platform: d.platform,
      /** The feature's tab name; the platform's name for a named slot (a custom one shows its id). */
      featureKey: `restream.tab.${d.feature}`,
      platformKey: (NAMED_PLATFORMS as readonly string[]).includes(d.platform) ? `restream.platform.${d.platform}` : null,
      badge: { state: d.state, destination: destinationView(d) },
      bitrate: shownBitrate(d.bitrateKbps ?? 0),
      problem: d.problem,
      reason: d.reason,
      uptimeSeconds: d.uptimeSeconds,
      reconnects: d.reconnects,
    })),
  };
}

export function streamPageHandlers(service: StreamPageService, ui: Console): RouteHandlers {
  return {
    'streams.health': ({ body }) =>
      service.page(
        checkStreamName('app', optionalString(body, 'app', 256) ?? LIVE_APP),
        checkStreamName('stream', requireString(body, 'stream', 1024)),
      ),
    'streams.page': async ({ ctx }) => {
      const app = checkStreamName('app', String(ctx.params.app));
      const stream = checkStreamName('stream', String(ctx.params.stream));
      let page: StreamPage | null = null;
      try {
        page = await service.page(app, stream);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        ctx.status = 404; // the page still renders: it says the stream is not live
      }
      await ui.render(ctx, 'stream-page/page', {
        app,
        stream,
        live: page?.live ?? false,
        view: page ? streamPageView(page) : null,
      });
    },
  };
}
