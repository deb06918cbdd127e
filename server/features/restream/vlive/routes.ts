// Virtual-live API (docs/compatibility.md §3.5) and the Scenarios › Virtual Live tab.
import { ValidationError } from '../../../core/errors.js';
import { requireString } from '../../../core/validate.js';
import { NO_SOURCE_MESSAGE } from '../plain-errors.js';
import type { RouteHandlers } from '../../../route-table.js';
import type { Console } from '../../console/console.js';
import type { Restream } from '../restream.js';
import {
  codecSummary,
  ffmpegView,
  slotForms,
  slotPage,
  slotSecretHandler,
  slotStreamsHandler,
  sourceHandler,
  sourceSummary,
  slotFormError,
  statusViews,
  streamUrlHandler,
} from '../routes.js';
import { MEDIA_EXTENSIONS } from '../sources.js';
import { VLIVE } from './service.js';

export function vliveHandlers({ vlive, uploads }: Restream): RouteHandlers {
  return {
    'vlive.secret': slotSecretHandler(vlive),
    'vlive.streams': slotStreamsHandler(vlive),
    'vlive.streamUrl': streamUrlHandler(vlive),
    'vlive.streamUrlCamel': streamUrlHandler(vlive),
    'vlive.source': sourceHandler(vlive),
    'vlive.server': ({ body }) => vlive.serverFile(body),
    'vlive.ytdl': ({ body }) => vlive.ytdl(body),
    // The table checks the credential (headers only) before this reads a byte of the upload.
    'vlive.upload': ({ ctx }) => uploads.receive(ctx.req, String(ctx.params.name ?? '')),
    'vlive.form': async (_ctx, form) => {
      const platform = requireString(form, 'platform', 64);
      const current = await vlive.store.get(platform);
      // The API keeps SRS Stack's order (a destination may come before the source); a person pressing
      // Start on a slot without a source gets told what is missing instead of a slot that waits forever.
      if (form.enabled === 'true' && !current?.files.length) throw new ValidationError(NO_SOURCE_MESSAGE);
      await vlive.update({ ...form, files: current?.files ?? [] });
      return form.enabled === 'true' ? 'restream.notice.started' : 'restream.notice.stopped';
    },
    'vlive.serverFileForm': async (_ctx, form) => {
      const file = await vlive.serverFile(form);
      await vlive.source({ platform: form.platform, files: [{ ...file, path: form.file, type: 'file' }] });
      return 'restream.notice.source';
    },
    'vlive.ytdlForm': async (_ctx, form) => {
      const file = await vlive.ytdl(form);
      await vlive.source({ platform: form.platform, files: [{ ...file, path: form.url, type: 'ytdl' }] });
      return 'restream.notice.source';
    },
    'vlive.streamUrlForm': async (_ctx, form) => {
      const source = vlive.streamUrl(form);
      await vlive.source({ platform: form.platform, files: [{ ...source, path: source.target, size: 0, type: 'stream' }] });
      return 'restream.notice.source';
    },
  };
}

export function registerVliveTab(ui: Console, restream: Restream): void {
  const { vlive } = restream;
  ui.addTab({
    section: 'scenarios',
    id: 'vlive',
    titleKey: 'restream.tab.vlive',
    order: 60,
    template: 'restream/vlive',
    load: async (ctx) => {
      const slots = await vlive.store.all();
      const status = await vlive.status();
      const rows = statusViews(status).map((view, i) => {
        const file = (status[i]?.files as Parameters<typeof sourceSummary>[0][])[0];
        return { ...view, source: [file?.name, sourceSummary(file)].filter(Boolean).join(' · ') };
      });
      return {
        ffmpeg: ffmpegView(restream.ffmpeg),
        limit: vlive.limit,
        extensions: MEDIA_EXTENSIONS.join(','),
        dataDir: vlive.dataDir,
        rows,
        formError: slotFormError(ctx.query),
        page: slotPage(
          slotForms(slots, VLIVE, vlive.limit, rows).map((f) => {
            const file = f.slot?.files[0];
            return {
              ...f,
              file: file ? { name: file.name || file.target, summary: sourceSummary(file), codecs: codecSummary(file) } : null,
            };
          }),
          vlive.limit,
          ctx.query,
        ),
      };
    },
  });
}
