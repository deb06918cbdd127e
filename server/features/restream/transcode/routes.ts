// Transcode API (docs/compatibility.md §3.7) and the Scenarios › Transcode tab.
import { VIDEO_PRESETS, VIDEO_PROFILES } from '../../../core/ffmpeg/argv.js';
import type { RouteHandlers } from '../../../route-table.js';
import type { Console } from '../../console/console.js';
import type { Restream } from '../restream.js';
import { shownTime } from '../../../core/views.js';
import { plainProblem } from '../plain-errors.js';
import { badgeOf, destinationView, ffmpegView } from '../routes.js';
import { TRANSCODE_DEFAULTS, outputStreamHere } from './service.js';
import { ValidationError } from '../../../core/errors.js';
import type { PlayRowsFor } from '../../streaming-guide/routes.js';
import { splitHost } from '../../streaming-guide/urls.js';

export function transcodeHandlers({ transcode }: Restream): RouteHandlers {
  return {
    'transcode.query': () => transcode.query(),
    'transcode.apply': async ({ body }) => {
      await transcode.apply(body);
      return null;
    },
    'transcode.task': () => transcode.task(),
    'transcode.form': async (_ctx, form) => {
      // The console always names its source (issue 17): "the most recently published" surprised
      // people once a second stream went live. The API keeps SRS Stack's choice without one.
      const stream = typeof form.stream === 'string' ? form.stream.trim() : '';
      if (form.all === 'true' && !stream) throw new ValidationError('no source stream: choose the live stream to transcode, then start');
      await transcode.apply({ ...form, stream, vcodec: 'libx264', acodec: 'aac' });
      return form.all === 'true' ? 'restream.notice.started' : 'restream.notice.stopped';
    },
  };
}

export function registerTranscodeTab(ui: Console, restream: Restream, publishSecret: () => Promise<string>, playRows: PlayRowsFor): void {
  const { transcode } = restream;
  ui.addTab({
    section: 'scenarios',
    id: 'transcode',
    titleKey: 'restream.tab.transcode',
    order: 80,
    template: 'restream/transcode',
    load: async (ctx) => {
      const stored = await transcode.config();
      const task = await transcode.task();
      const live = (task.task ?? null) as null | { lastError: string | null; tail: string[]; restarts: number };
      const frame = (task.frame ?? null) as null | { log: string; update: string };
      // Never configured: SRS Stack's console defaults, publishing back into this stack.
      const config = {
        ...TRANSCODE_DEFAULTS,
        all: false,
        stream: '',
        ...stored,
        server: stored?.server || 'rtmp://localhost/live/',
        secret: stored?.secret || `livestream-trans?secret=${await publishSecret()}`,
      };
      // Published back into this stack: where to watch it.
      const output = outputStreamHere(config, [splitHost(ctx.host).hostname]);
      return {
        ffmpeg: ffmpegView(restream.ffmpeg),
        profiles: VIDEO_PROFILES,
        presets: VIDEO_PRESETS,
        config,
        sources: await transcode.sources(),
        output: output ? { stream: output, rows: await playRows(ctx, output) } : null,
        task: {
          state: String(task.state),
          badge: badgeOf(String(task.state)),
          destination: destinationView(task.destination),
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
