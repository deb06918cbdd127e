// Transcode API (docs/compatibility.md §3.7) and the Scenarios › Transcode tab.
import { VIDEO_PRESETS, VIDEO_PROFILES } from '../../../core/ffmpeg/argv.js';
import type { RouteHandlers } from '../../../route-table.js';
import type { Console } from '../../console/console.js';
import type { Restream } from '../restream.js';
import { shownTime } from '../../../core/views.js';
import { plainProblem } from '../plain-errors.js';
import { ffmpegView } from '../routes.js';
import { TRANSCODE_DEFAULTS } from './service.js';

export function transcodeHandlers({ transcode }: Restream): RouteHandlers {
  return {
    'transcode.query': () => transcode.query(),
    'transcode.apply': async ({ body }) => {
      await transcode.apply(body);
      return null;
    },
    'transcode.task': () => transcode.task(),
    'transcode.form': async (_ctx, form) => {
      await transcode.apply({ ...form, vcodec: 'libx264', acodec: 'aac' });
      return form.all === 'true' ? 'restream.notice.started' : 'restream.notice.stopped';
    },
  };
}

export function registerTranscodeTab(ui: Console, restream: Restream, publishSecret: () => Promise<string>): void {
  const { transcode } = restream;
  ui.addTab({
    section: 'scenarios',
    id: 'transcode',
    titleKey: 'restream.tab.transcode',
    order: 80,
    template: 'restream/transcode',
    load: async () => {
      const stored = await transcode.config();
      const task = await transcode.task();
      const live = (task.task ?? null) as null | { lastError: string | null; tail: string[]; restarts: number };
      const frame = (task.frame ?? null) as null | { log: string; update: string };
      return {
        ffmpeg: ffmpegView(restream.ffmpeg),
        profiles: VIDEO_PROFILES,
        presets: VIDEO_PRESETS,
        // Never configured: SRS Stack's console defaults, publishing back into this stack.
        config: {
          ...TRANSCODE_DEFAULTS,
          all: false,
          ...stored,
          server: stored?.server || 'rtmp://localhost/live/',
          secret: stored?.secret || `livestream-trans?secret=${await publishSecret()}`,
        },
        task: {
          state: String(task.state),
          input: String(task.input ?? ''),
          output: String(task.output ?? ''),
          update: shownTime(frame?.update),
          log: frame?.log ?? '',
          error: live?.lastError ?? '',
          problem: task.state === 'streaming' ? null : plainProblem(live?.lastError, live?.tail.join('\n')),
          restarts: live?.restarts ?? 0,
          tail: live?.tail ?? [],
        },
      };
    },
  });
}
