// Forward API (docs/compatibility.md §3.4) and the Scenarios › Forward tab.
import fs from 'node:fs';
import { ValidationError } from '../../../core/errors.js';
import { optionalString } from '../../../core/validate.js';
import type { RouteHandlers } from '../../../route-table.js';
import type { Console } from '../../console/console.js';
import type { Restream } from '../restream.js';
import { ffmpegView, slotFormError, slotForms, slotPage, slotSecretHandler, slotStreamsHandler, statusViews } from '../routes.js';
import { SLATE_PICTURE_MAX_BYTES } from '../slate/picture.js';
import { DEFAULT_SLATE_SECONDS, FORWARD } from './service.js';

export function forwardHandlers({ forward, slatePicture }: Restream): RouteHandlers {
  return {
    'forward.secret': slotSecretHandler(forward),
    'forward.streams': slotStreamsHandler(forward),
    'forward.slate': async ({ body }) => {
      const action = optionalString(body, 'action', 32);
      if (action === 'remove') return { removed: await slatePicture.remove() };
      if (action) throw new ValidationError(`invalid action=${action}: only "remove" is allowed`);
      return { picture: slatePicture.current() };
    },
    // The table checks the credential (headers only) before this reads a byte of the upload.
    'forward.slateUpload': ({ ctx }) => slatePicture.receive(ctx.req),
    'forward.slatePreview': async ({ ctx }) => {
      const file = await slatePicture.preview();
      ctx.type = 'image/jpeg';
      // The URL carries the look's id (?v=): a new picture is a new URL.
      ctx.set('Cache-Control', 'private, no-cache');
      ctx.body = fs.createReadStream(file);
    },
    'forward.slateRemoveForm': async () => {
      await slatePicture.remove();
      return 'restream.notice.slateRemoved';
    },
    'forward.form': async (_ctx, form) => {
      await forward.update(form);
      return form.enabled === 'true' ? 'restream.notice.started' : 'restream.notice.stopped';
    },
  };
}

export function registerForwardTab(ui: Console, restream: Restream): void {
  const { forward, slatePicture } = restream;
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
        slate: { picture: slatePicture.current(), previewId: slatePicture.look().id, maxMb: SLATE_PICTURE_MAX_BYTES / 1024 / 1024 },
      };
    },
  });
}
