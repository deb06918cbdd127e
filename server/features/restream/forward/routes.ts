// Forward API (docs/compatibility.md §3.4) and the Scenarios › Forward tab.
import type { RouteHandlers } from '../../../route-table.js';
import type { Console } from '../../console/console.js';
import type { Restream } from '../restream.js';
import { ffmpegView, slotFormError, slotForms, slotPage, slotSecretHandler, slotStreamsHandler, statusViews } from '../routes.js';
import { DEFAULT_SLATE_SECONDS, FORWARD } from './service.js';

export function forwardHandlers({ forward }: Restream): RouteHandlers {
  return {
    'forward.secret': slotSecretHandler(forward),
    'forward.streams': slotStreamsHandler(forward),
    'forward.form': async (_ctx, form) => {
      await forward.update(form);
      return form.enabled === 'true' ? 'restream.notice.started' : 'restream.notice.stopped';
    },
  };
}

export function registerForwardTab(ui: Console, restream: Restream): void {
  const { forward } = restream;
  ui.addTab({
    section: 'scenarios',
    id: 'forward',
    titleKey: 'restream.tab.forward',
    order: 40,
    template: 'restream/forward',
    load: async (ctx) => {
      const slots = await forward.store.all();
      const status = await forward.status();
      const rows = statusViews(status).map((view, i) => ({ ...view, stream: String(status[i]?.stream ?? '') }));
      return {
        ffmpeg: ffmpegView(restream.ffmpeg),
        limit: forward.limit,
        rows,
        page: slotPage(
          slotForms(slots, FORWARD, forward.limit, rows).map((f) => ({
            ...f,
            stream: f.slot?.stream ?? '',
            slateSeconds: f.slot?.slateSeconds ?? DEFAULT_SLATE_SECONDS,
          })),
          forward.limit,
          ctx.query,
        ),
        formError: slotFormError(ctx.query),
      };
    },
  });
}
