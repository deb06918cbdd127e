// Record API (docs/compatibility.md §3.3) and the console's Scenarios › Record tab (§12.2).
import { shownTime, type ShownTime } from '../../core/views.js';
import type Koa from 'koa';
import { errorMessage, NotFoundError, ValidationError } from '../../core/errors.js';
import { sendFile } from '../../core/static-files.js';
import { optionalString, optionalStringArray, requireBoolean, requireString } from '../../core/validate.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import { parseLibraryQuery } from './library.js';
import { MAX_GLOBS, normaliseGlobs, parseGlobText, testGlobs, type GlobTestResult } from './globs.js';
import { RECORD_HLS_PREFIX, type RecordService } from './service.js';
import { POST_CP_FILE } from './store.js';

/** A clip's in/out point: seconds, a number in JSON or a decimal in a form. */
function seconds(body: Record<string, unknown>, field: string): number {
  const v = body[field];
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new ValidationError(`${field} must be a number of seconds, got ${JSON.stringify(v)}`);
  return n;
}

const RETENTION_FIELDS = ['days', 'maxGb', 'maxPercent', 'warnFreeMb', 'timeshiftMinutes'] as const;

function retentionChanges(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(RETENTION_FIELDS.filter((k) => body[k] !== undefined && body[k] !== '').map((k) => [k, body[k]]));
}

function uuidParam(ctx: Koa.Context, name = 'uuid'): string {
  return String(ctx.params[name] ?? '');
}

export function recordHandlers(record: RecordService): RouteHandlers {
  const playlist = async ({ ctx }: { ctx: Koa.Context }) => {
    const text = await record.playlist(uuidParam(ctx));
    ctx.type = 'application/vnd.apple.mpegurl';
    ctx.set('Cache-Control', 'no-cache, max-age=0');
    ctx.body = text;
  };
  return {
    'record.query': () => record.query(),
    'record.apply': async ({ body }) => {
      await record.setAll(requireBoolean(body, 'all'));
      return null;
    },
    'record.globs': async ({ body }) => {
      const globs = optionalStringArray(body, 'globs', MAX_GLOBS * 2, 1024);
      if (!globs) throw new ValidationError('no globs: globs is required (an array of strings, empty to record every stream)');
      await record.setGlobs(globs);
      return null;
    },
    'record.postProcessing': async ({ body }) => {
      await record.setPostProcessing(requireString(body, 'postProcess', 64), optionalString(body, 'postCpDir', 1024) ?? '');
      return null;
    },
    'record.files': () => record.files(),
    'record.end': async ({ body }) => {
      await record.end(requireString(body, 'uuid', 64));
      return null;
    },
    'record.remove': async ({ body }) => {
      await record.remove(requireString(body, 'uuid', 64));
      return null;
    },
    'record.library': ({ body }) => record.library(parseLibraryQuery(body)),
    'record.rename': async ({ body }) => {
      await record.rename(requireString(body, 'uuid', 64), optionalString(body, 'title', 1024) ?? '');
      return null;
    },
    'record.clip': ({ body }) => record.clip(requireString(body, 'uuid', 64), seconds(body, 'start'), seconds(body, 'end')),
    'record.retentionQuery': () => record.retention(),
    'record.retentionApply': ({ body }) => record.setRetention(retentionChanges(body)),
    'record.thumbnail': async ({ ctx }) => {
      const file = await record.thumbnail(uuidParam(ctx));
      if (!file) throw new NotFoundError(`no thumbnail: ${ctx.path}`);
      ctx.set('Cache-Control', 'max-age=3600');
      await sendFile(ctx, file, { contentType: 'image/jpeg' });
    },

    'record.dvr': async ({ ctx }) => {
      const text = await record.dvrPlaylist(uuidParam(ctx));
      ctx.type = 'application/vnd.apple.mpegurl';
      ctx.set('Cache-Control', 'no-cache, max-age=0');
      ctx.body = text;
    },
    'record.previewPlaylist': playlist,
    'record.previewIndex': playlist,
    'record.previewSegment': async ({ ctx }) => {
      const file = record.segmentFile(uuidParam(ctx), uuidParam(ctx, 'tsid'));
      if (!file) throw new NotFoundError(`not found: ${ctx.path}`);
      await sendFile(ctx, file, { contentType: 'video/mp2t' });
    },
    'record.previewMp4': async ({ ctx }) => {
      const file = record.mp4File(uuidParam(ctx));
      if (!file) throw new NotFoundError(`not found: ${ctx.path}`);
      await sendFile(ctx, file, { contentType: 'video/mp4' });
    },

    'record.applyForm': async (_ctx, form) => {
      const all = requireBoolean(form, 'all');
      await record.setAll(all);
      return all ? 'record.notice.started' : 'record.notice.stopped';
    },
    'record.globsForm': async (_ctx, form) => {
      await record.setGlobs(parseGlobText(optionalString(form, 'globs', 64 * 1024) ?? ''));
      return 'record.notice.globs';
    },
    'record.postProcessingForm': async (_ctx, form) => {
      const enabled = optionalString(form, 'postProcess', 64) === POST_CP_FILE;
      await record.setPostProcessing(POST_CP_FILE, enabled ? (optionalString(form, 'postCpDir', 1024) ?? '') : '');
      return 'record.notice.postProcessing';
    },
    'record.endForm': async (_ctx, form) => {
      await record.end(requireString(form, 'uuid', 64));
      return 'record.notice.ended';
    },
    'record.removeForm': async (_ctx, form) => {
      await record.remove(requireString(form, 'uuid', 64));
      return 'record.notice.removed';
    },
    'record.renameForm': async (_ctx, form) => {
      await record.rename(requireString(form, 'uuid', 64), optionalString(form, 'title', 1024) ?? '');
      return 'record.notice.renamed';
    },
    'record.clipForm': async (_ctx, form) => {
      await record.clip(requireString(form, 'uuid', 64), seconds(form, 'start'), seconds(form, 'end'));
      return 'record.notice.clipped';
    },
    'record.retentionForm': async (_ctx, form) => {
      await record.setRetention(retentionChanges(form));
      return 'record.notice.retention';
    },
  };
}

export interface RecordRow {
  uuid: string;
  status: string;
  stream: string;
  update: ShownTime;
  duration: string;
  sizeMB: string;
  nn: number;
  error: string;
  nextRetry: string;
  previewUrl: string;
  /** What Play plays: the MP4 once finished, the live DVR window (timeshift) while recording. */
  playUrl: string;
  copyPath: string;
  active: boolean;
  /** The library's name: the user's title, or the stream. */
  title: string;
  /** Finished records only: the cached thumbnail and the MP4 to download (and clip). */
  thumbUrl: string;
  downloadUrl: string;
  durationSeconds: number;
  clipOf: string;
}

export function registerRecordTab(ui: Console, record: RecordService): void {
  ui.addTab({
    section: 'scenarios',
    id: 'record',
    titleKey: 'record.tab',
    order: 50,
    template: 'record/record',
    load: async (ctx) => {
      const [settings, files, retention] = await Promise.all([record.query(), record.files(), record.retention()]);
      const rows: RecordRow[] = files.map((f) => ({
        uuid: f.uuid,
        status: f.status,
        stream: `${f.app}/${f.stream}`,
        update: shownTime(f.update),
        duration: f.duration.toFixed(1),
        sizeMB: (f.size / 1024 / 1024).toFixed(1),
        nn: f.nn,
        error: f.error ?? '',
        nextRetry: f.next_retry ?? '',
        previewUrl: f.status === 'done' ? `${RECORD_HLS_PREFIX}/${f.uuid}/index.mp4` : `${RECORD_HLS_PREFIX}/${f.uuid}.m3u8`,
        playUrl:
          f.status === 'done'
            ? `${RECORD_HLS_PREFIX}/${f.uuid}/index.mp4`
            : f.status === 'recording'
              ? `${RECORD_HLS_PREFIX}/${f.uuid}/dvr.m3u8`
              : `${RECORD_HLS_PREFIX}/${f.uuid}.m3u8`,
        copyPath: f.post_cp_file ?? '',
        active: f.status === 'recording',
        title: f.title ?? '',
        thumbUrl: f.status === 'done' ? `${RECORD_HLS_PREFIX}/${f.uuid}/thumbnail.jpg` : '',
        downloadUrl: f.status === 'done' ? `${RECORD_HLS_PREFIX}/${f.uuid}/index.mp4` : '',
        durationSeconds: f.duration,
        clipOf: f.clip_of ?? '',
      }));
      return {
        settings,
        rows,
        retention,
        defaultCpDir: record.defaultCpDir,
        globText: globsShown(ctx, settings.globs),
        globTest: globTest(ctx, settings.globs),
      };
    },
  });
}

/** The tester (a GET form) may carry unsaved globs; show those so the user keeps their edit. */
function globsShown(ctx: Koa.Context, saved: string[]): string {
  const typed = ctx.query.globs;
  return typeof typed === 'string' ? typed : saved.join('\n');
}

function globTest(ctx: Koa.Context, saved: string[]): (GlobTestResult & { url: string; error: string }) | null {
  const url = ctx.query.test_url;
  if (typeof url !== 'string' || !url.trim()) return null;
  const typed = ctx.query.globs;
  try {
    const globs = typeof typed === 'string' ? normaliseGlobs(parseGlobText(typed)) : saved;
    return { ...testGlobs(url, globs), url, error: '' };
  } catch (err) {
    return { path: '', matched: false, glob: '', url, error: errorMessage(err) };
  }
}
