// A live stream's timeshift by its name (docs/compatibility.md §13b), next to its live playlist:
//   /{app}/{stream}/dvr.m3u8        the last timeshiftMinutes of the stream, growing at the live
//                                   edge, EXT-X-PROGRAM-DATE-TIME on every segment (record/playlist.ts)
//   /{app}/{stream}/dvr-{tsid}.ts   one of its segments
// From the stream's record when it is being recorded (its segments are on disk already), else from
// the timeshift store (store.ts). Play authentication applies exactly as to the live playlist: the
// playlist request is admitted (signed URL, on_play) and its session's grant is written into every
// segment URI and checked on each segment (features/hls/delivery.ts answeredSession, checkMedia).
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type Koa from 'koa';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { sendFile } from '../../core/static-files.js';
import { isSafeFileName } from '../../core/stream-names.js';
import { HlsDelivery, M3U8_TYPE } from '../hls/delivery.js';
import { withEndList } from '../hls/playlist.js';
import type { NestedHlsFiles } from '../hls/routes.js';
import type { TsFile } from '../record/model.js';
import { buildDvrPlaylist } from '../record/playlist.js';
import type { TimeshiftStore } from './store.js';

export const DVR_PLAYLIST = 'dvr.m3u8';
const DVR_SEGMENT = /^dvr-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.ts$/;

/** The DVR playlist's URI of a segment, relative to the playlist (/{app}/{stream}/). */
export const dvrSegmentUri = (file: TsFile): string => `dvr-${file.tsid}.ts`;

/**
 * The DVR playlist URL of a live HLS URL, `/{app}/{stream}.m3u8[?query]` (relative or absolute):
 * `/{app}/{stream}/dvr.m3u8` with the same query, so a signed URL's token admits it too; null for
 * any other URL (FLV, a record, LL-HLS). The public player page offers timeshift with it.
 */
export function dvrUrlOf(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://relative.invalid');
  } catch {
    return null;
  }
  const m = /^\/([^/]+)\/([^/]+)\.m3u8$/.exec(parsed.pathname);
  if (!m || !['http:', 'https:'].includes(parsed.protocol)) return null;
  parsed.pathname = `/${m[1]}/${m[2]}/${DVR_PLAYLIST}`;
  return parsed.origin === 'http://relative.invalid' ? `${parsed.pathname}${parsed.search}` : parsed.href;
}

/** What timeshift needs of the recorder (record/service.ts). */
export interface RecordedStreams {
  recordingOf(app: string, stream: string): Promise<{ uuid: string; files: TsFile[]; beginMs: number } | null>;
  recordingUuid(app: string, stream: string): string | null;
  segmentFile(uuid: string, tsid: string): string | null;
  timeshiftSeconds(): number;
}

export interface TimeshiftDeliveryDeps {
  readonly apps: readonly string[];
  readonly sessions: Pick<HlsDelivery, 'answeredSession' | 'checkMedia'>;
  readonly store: Pick<TimeshiftStore, 'window' | 'segmentFile'>;
  readonly record: RecordedStreams;
}

/**
 * Every viewer of a stream polls its DVR playlist every few seconds, and a recorded stream's is read
 * from Redis (the record's whole segment list): built at most once per this many ms per stream.
 */
const PLAYLIST_CACHE_MS = 1000;
/** Playlists from this size on go gzipped to players that accept it. */
const GZIP_MIN_BYTES = 4 * 1024;
const gzip = promisify(zlib.gzip);
const PLAYLIST_CACHE_ENTRIES = 2000;

export class TimeshiftDelivery implements NestedHlsFiles {
  private readonly built = new Map<string, { at: number; dvr: Promise<{ text: string; live: boolean } | null> }>();
  /** The gzipped text of a playlist build, kept as long as the build is. */
  private readonly gzipped = new WeakMap<object, Promise<Buffer>>();

  constructor(private readonly deps: TimeshiftDeliveryDeps) {}

  async serve(ctx: Koa.Context, next: Koa.Next, app: string, stream: string, file: string): Promise<void> {
    const segment = DVR_SEGMENT.exec(file);
    if (file !== DVR_PLAYLIST && !segment) return next();
    if (![app, stream].every(isSafeFileName)) throw new ValidationError(`invalid timeshift path ${ctx.path}`);
    if (!this.deps.apps.includes(app)) throw new NotFoundError(`no such app: ${app}`);
    const windowSeconds = this.deps.record.timeshiftSeconds();
    if (windowSeconds <= 0) throw new NotFoundError('timeshift is off (hooks/record/retention/apply timeshiftMinutes)');
    if (segment) return this.segment(ctx, app, stream, segment[1] as string);

    const dvr = await this.cachedPlaylist(app, stream, windowSeconds);
    if (dvr === null) throw new NotFoundError(`stream ${app}/${stream} has no timeshift yet`);
    const { text, live } = dvr;
    ctx.set('Cache-Control', 'no-cache, max-age=0');
    if (await this.deps.sessions.answeredSession(ctx, app, stream, DVR_PLAYLIST, live)) return;
    ctx.type = M3U8_TYPE;
    const body = HlsDelivery.withSessionQuery(ctx, live ? text : withEndList(text));
    ctx.vary('Accept-Encoding');
    if (Buffer.byteLength(body) < GZIP_MIN_BYTES || ctx.acceptsEncodings('gzip', 'identity') !== 'gzip') {
      ctx.body = body;
      return;
    }
    // A long window's playlist is large (a 2 h one: 3600 segments, about 420 KB) and every player
    // reloads it every few seconds: gzipped, about a tenth of that. Done once per build when the
    // text goes out as built (no session grant in its URIs), off the event loop either way.
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = body === text ? await this.gzipOnce(dvr, text) : await gzip(body);
  }

  private gzipOnce(dvr: object, text: string): Promise<Buffer> {
    let zipped = this.gzipped.get(dvr);
    if (!zipped) {
      zipped = gzip(text);
      this.gzipped.set(dvr, zipped);
    }
    return zipped;
  }

  private cachedPlaylist(app: string, stream: string, windowSeconds: number): Promise<{ text: string; live: boolean } | null> {
    const k = `${app}/${stream}/${windowSeconds}`;
    const now = Date.now();
    const hit = this.built.get(k);
    if (hit && now - hit.at < PLAYLIST_CACHE_MS) return hit.dvr;
    if (this.built.size >= PLAYLIST_CACHE_ENTRIES) this.built.clear();
    const dvr = this.playlist(app, stream, windowSeconds);
    this.built.set(k, { at: now, dvr });
    dvr.catch(() => this.built.delete(k));
    return dvr;
  }

  /**
   * The record's segments while the stream is recorded (live: a record may take the next publish's
   * segments too), else the store's (live until the stream unpublished); null when neither has any.
   */
  private async playlist(app: string, stream: string, windowSeconds: number): Promise<{ text: string; live: boolean } | null> {
    const recording = await this.deps.record.recordingOf(app, stream);
    if (recording?.files.length) {
      return { text: buildDvrPlaylist(recording.files, dvrSegmentUri, { windowSeconds, beginMs: recording.beginMs }), live: true };
    }
    const kept = this.deps.store.window(app, stream);
    if (!kept) return null;
    return { text: buildDvrPlaylist(kept.files, dvrSegmentUri, { windowSeconds, beginMs: 0, history: kept.history }), live: kept.live };
  }

  private async segment(ctx: Koa.Context, app: string, stream: string, tsid: string): Promise<void> {
    const guarded = await this.deps.sessions.checkMedia(ctx, app, stream);
    let file = this.deps.store.segmentFile(app, stream, tsid);
    if (!file) {
      // Only the stream's own record: a tsid of another stream's record is not found here.
      const uuid = this.deps.record.recordingUuid(app, stream);
      file = uuid ? this.deps.record.segmentFile(uuid, tsid) : null;
    }
    if (!file) throw new NotFoundError(`not found: ${ctx.path}`);
    await sendFile(ctx, file, { contentType: 'video/mp2t', maxAgeSeconds: 600 });
    // A private stream's segments must not be kept by shared caches for other viewers.
    if (guarded) ctx.set('Cache-Control', 'private, max-age=600');
  }
}
