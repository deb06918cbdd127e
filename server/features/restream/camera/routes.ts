// IP camera API (docs/compatibility.md §3.6) and the Scenarios › Camera tab.
import { heartbeatUrlOptions, withUrlParam } from '../../../core/ffmpeg/argv.js';
import { parseGoDuration } from '../../../core/ffmpeg/progress.js';
import { optionalString, requireString } from '../../../core/validate.js';
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
import { CAMERA } from './service.js';

/** The console's periodic-restart choices, written as SRS Stack's `max-stream-duration` on the URL. */
export const RESTART_CHOICES = ['', '30m', '1h', '6h', '12h', '24h'];

export function cameraHandlers({ camera }: Restream): RouteHandlers {
  return {
    'camera.secret': slotSecretHandler(camera),
    'camera.streams': slotStreamsHandler(camera),
    'camera.streamUrl': streamUrlHandler(camera),
    'camera.streamUrlCamel': streamUrlHandler(camera),
    'camera.source': sourceHandler(camera),
    // One form: a changed camera URL is probed first (its bitrate is checked), then the slot is saved.
    'camera.form': async (_ctx, form) => {
      const platform = requireString(form, 'platform', 64);
      const restart = optionalString(form, 'restart', 16) ?? '';
      const url = withUrlParam(
        requireString(form, 'url', 4096).trim(),
        'max-stream-duration',
        RESTART_CHOICES.includes(restart) ? restart : '',
      );
      let current = await camera.store.get(platform);
      if (current?.files[0]?.target !== camera.streamUrl({ url }).target) {
        const source = camera.streamUrl({ url });
        await camera.source({ platform, files: [{ ...source, path: url, size: 0, type: 'stream' }] });
        current = await camera.store.get(platform);
      }
      await camera.update({ ...form, files: current?.files ?? [] });
      return form.enabled === 'true' ? 'restream.notice.started' : 'restream.notice.stopped';
    },
  };
}

export function registerCameraTab(ui: Console, restream: Restream): void {
  const { camera } = restream;
  ui.addTab({
    section: 'scenarios',
    id: 'camera',
    titleKey: 'restream.tab.camera',
    order: 70,
    template: 'restream/camera',
    load: async (ctx) => {
      const slots = await camera.store.all();
      const status = await camera.status();
      const rows = statusViews(status).map((view, i) => ({ ...view, extraAudio: String(status[i]?.extraAudio ?? '') }));
      return {
        ffmpeg: ffmpegView(restream.ffmpeg),
        limit: camera.limit,
        restartChoices: RESTART_CHOICES,
        rows,
        formError: slotFormError(ctx.query),
        page: slotPage(
          slotForms(slots, CAMERA, camera.limit, rows).map((f) => {
            const file = f.slot?.files[0];
            const { url, maxRunMs } = heartbeatUrlOptions(file?.target ?? '');
            return {
              ...f,
              url,
              extraAudio: f.slot?.extraAudio ?? '',
              restart: RESTART_CHOICES.find((c) => c && parseGoDuration(c) === maxRunMs) ?? '',
              summary: [sourceSummary(file), codecSummary(file)].filter(Boolean).join(' · '),
            };
          }),
          camera.limit,
          ctx.query,
        ),
      };
    },
  });
}
