// LL-HLS (RFC 8216bis: fMP4 parts, preload hints, blocking playlist reload) made by the stack from
// the live stream, beside the engine's classic TS HLS which stays for old players:
//   /{app}/{stream}/ll.m3u8            the media playlist (with hls_ctx on: a variant naming a session first)
//   /{app}/{stream}/init-N.mp4         the init segment
//   /{app}/{stream}/seg-M.m4s          a whole segment;   /{app}/{stream}/part-M.K.m4s  part K of it
// Every live stream is muxed from its first tag (the live tap's onStreamStart), so a player that comes
// with the stream finds a playlist at once. A mux nobody asked for in IDLE_STOP_MS is dropped (live
// or ended): its window (6 segments, up to a minute of media with a long GOP) is not held for streams
// nobody plays over LL-HLS. A later player joins from the tap's GOP cache and waits at most one GOP
// for the first complete segment; so does the first player of a stream the tap already carried when
// the stack restarted.
import type http from 'node:http';
import type Koa from 'koa';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { FlvTag } from '../../core/media/flv-tags.js';
import { HeaderDecision } from '../../core/media/header-decision.js';
import type { LiveSource, LiveSubscription } from '../../core/media/live-source.js';
import { isSafeFileName } from '../../core/stream-names.js';
import { HlsDelivery, M3U8_TYPE } from '../hls/delivery.js';
import { LlHlsSegmenter, DEFAULT_SEGMENTER_OPTIONS, type SegmenterOptions } from './segmenter.js';
import { LL_PLAYLIST, blockingAnswer, parseLlFile, partAnswer, renderPlaylist, type LlFile, type PlaylistView } from './playlist.js';

const log = createLogger('ll-hls');

/** Parts and segments never change once listed; a short max-age lets a CDN or cache share them. */
const MEDIA_MAX_AGE_SECONDS = 60;
const IDLE_STOP_MS = 30_000;
/** How long the first player waits for the first complete segment (a 10 s GOP still makes it). */
const FIRST_SEGMENT_TIMEOUT_MS = 15_000;

/**
 * SRS's hls_ctx sessions, shared with classic HLS (features/hls/delivery.ts) so viewers count once,
 * and with them play authentication: a session's grant is checked on every LL-HLS request and
 * written into every URI of its playlists.
 */
export interface HlsSessionGate {
  answeredSession(ctx: Koa.Context, app: string, stream: string, mediaUri: string, live: boolean): Promise<boolean>;
  checkMedia(ctx: Koa.Context, app: string, stream: string): Promise<boolean>;
  /** The fast lane's admissions (features/hls/delivery.ts): true when Koa's lane would add nothing. */
  fastSession(app: string, stream: string, query: URLSearchParams, live: boolean): boolean;
  fastMedia(app: string, stream: string, query: URLSearchParams): boolean;
}

export interface LlHlsDeps {
  readonly source: LiveSource;
  readonly apps: readonly string[];
  readonly isLive: (app: string, stream: string) => boolean;
  readonly sessions: HlsSessionGate;
  readonly segmenter?: Partial<SegmenterOptions>;
}

class StreamMux {
  readonly segmenter: LlHlsSegmenter;
  usedAt = Date.now();
  private readonly subscription: LiveSubscription | null;
  /** Subscribed from the stream's first tag: tags are held until its FLV header is decided. */
  private readonly decision = new HeaderDecision();
  private undecided: FlvTag[] | null = [];
  private rendered: string | null = null;
  private offRendered: (() => void) | null = null;

  constructor(deps: LlHlsDeps, app: string, stream: string) {
    this.segmenter = new LlHlsSegmenter({ ...DEFAULT_SEGMENTER_OPTIONS, ...deps.segmenter });
    this.subscription = deps.source.subscribe(app, stream, {
      write: (tags) => this.take(tags),
      end: (reason) => this.segmenter.end(reason),
    });
    if (!this.subscription) {
      this.segmenter.end('not live');
      return;
    }
    // Joining a stream already flowing: its GOP cache gives the header and a keyframe to start from.
    const burst = this.subscription.startTags();
    if (burst) {
      this.undecided = null;
      this.segmenter.setHeader(burst.header);
      this.segmenter.push(burst.tags);
    }
  }

  private take(tags: readonly FlvTag[]): void {
    if (!this.undecided) return this.segmenter.push(tags);
    for (const tag of tags) {
      if (!this.undecided) {
        this.segmenter.push([tag]);
        continue;
      }
      this.undecided.push(tag);
      const header = this.decision.add(tag);
      if (header) {
        const held = this.undecided;
        this.undecided = null;
        this.segmenter.setHeader(header);
        this.segmenter.push(held);
      }
    }
  }

  view(): PlaylistView {
    return this.segmenter.view();
  }

  /**
   * The playlist's text, rendered once per change of the window however many players ask (each
   * new part wakes every blocked reload of the stream at once).
   */
  playlistText(): string {
    if (this.rendered === null) {
      this.rendered = renderPlaylist(this.view());
      this.offRendered ??= this.segmenter.onChange(() => (this.rendered = null));
    }
    return this.rendered;
  }

  /**
   * Resolves true once `ready()` holds, false when it is no longer worth waiting (`gone()`, the
   * timeout, or the player hung up).
   */
  until(ready: () => boolean, gone: () => boolean, timeoutMs: number, res: http.ServerResponse): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    if (gone()) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        off();
        res.off('close', hangup);
        resolve(ok);
      };
      const hangup = () => done(false);
      const timer = setTimeout(() => done(ready()), timeoutMs);
      const off = this.segmenter.onChange(() => {
        if (ready()) done(true);
        else if (gone()) done(false);
      });
      res.once('close', hangup);
    });
  }

  close(): void {
    this.offRendered?.();
    this.subscription?.close();
    if (!this.segmenter.isEnded) this.segmenter.end('no player left');
  }
}

export class LlHlsService {
  private readonly muxes = new Map<string, StreamMux>();
  private timer: NodeJS.Timeout | null = null;

  private offStreamStart: (() => void) | null = null;

  constructor(private readonly deps: LlHlsDeps) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(), 5000);
    this.timer.unref();
    this.offStreamStart = this.deps.source.onStreamStart(({ app, stream }) => {
      if (!this.deps.apps.includes(app)) return;
      const key = `${app}/${stream}`;
      this.muxes.get(key)?.close();
      this.muxes.set(key, new StreamMux(this.deps, app, stream));
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.offStreamStart?.();
    this.offStreamStart = null;
    for (const mux of this.muxes.values()) mux.close();
    this.muxes.clear();
  }

  /** Streams being muxed now (app/stream). */
  get streams(): string[] {
    return [...this.muxes.keys()];
  }

  /** Drops the media of streams nobody asked for lately (ended ones once their players finished). */
  sweep(now = Date.now()): void {
    for (const [key, mux] of this.muxes) {
      if (now - mux.usedAt >= IDLE_STOP_MS) {
        mux.close();
        this.muxes.delete(key);
      }
    }
  }

  /**
   * Answers GET /{app}/{stream}/{file} when `file` is an LL-HLS name; anything else goes to the next
   * route (the engine's normal-latency TS segments share the three-part path shape).
   */
  async serve(ctx: Koa.Context, next: Koa.Next, app: string, stream: string, file: string): Promise<void> {
    const wanted = parseLlFile(file);
    if (!wanted) return next();
    if (![app, stream].every(isSafeFileName)) throw new ValidationError(`invalid LL-HLS path ${ctx.path}`);
    if (!this.deps.apps.includes(app)) throw new NotFoundError(`no such app: ${app}`);
    const live = this.deps.isLive(app, stream);
    if (wanted.kind === 'playlist') {
      if (await this.deps.sessions.answeredSession(ctx, app, stream, LL_PLAYLIST, live)) return;
      return this.playlist(ctx, app, stream);
    }
    const guarded = await this.deps.sessions.checkMedia(ctx, app, stream);
    const mux = this.muxes.get(`${app}/${stream}`);
    if (!mux) throw new NotFoundError(`stream ${app}/${stream} has no LL-HLS media`);
    const body = await this.media(mux, wanted, ctx.res);
    if (!body) throw new NotFoundError(`not found: ${ctx.path}`);
    ctx.type = 'video/mp4';
    ctx.set('Cache-Control', mediaCacheControl(guarded));
    ctx.body = body;
  }

  /**
   * The fast lane (core/routing.ts FastAnswer) for `/{app}/{stream}/{file}` LL-HLS requests of a
   * player that already has its session: every part and blocking playlist reload, several a second
   * per player. Answered as serve() would; anything else (a first request, play authentication, a
   * stream without a complete segment yet, a bad directive) goes to serve().
   */
  async fastFile(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    names: readonly [string, string, string],
    query: URLSearchParams,
    headers: Readonly<Record<string, string>>,
  ): Promise<boolean> {
    const [app, stream, file] = names;
    const wanted = parseLlFile(file);
    if (!wanted || !isSafeFileName(stream) || !isSafeFileName(app) || !this.deps.apps.includes(app)) return false;
    const mux = this.muxes.get(`${app}/${stream}`);
    if (!mux || !mux.segmenter.hasCompleteSegment) return false;
    const head = req.method === 'HEAD';
    if (wanted.kind === 'playlist') {
      // An ended mux may be replaced by a new one of the stream (muxFor): Koa's lane decides.
      if (mux.segmenter.isEnded) return false;
      if (!this.deps.sessions.fastSession(app, stream, query, this.deps.isLive(app, stream))) return false;
      let directives: { msn: number | null; part: number | null };
      try {
        directives = { msn: blockingParam(query.get('_HLS_msn') ?? undefined), part: blockingParam(query.get('_HLS_part') ?? undefined) };
      } catch {
        return false;
      }
      if (
        (directives.part !== null && directives.msn === null) ||
        (directives.msn !== null && blockingAnswer(mux.view(), directives.msn, directives.part) === 'bad-request')
      ) {
        return false;
      }
      mux.usedAt = Date.now();
      const text = await this.reloaded(mux, directives.msn, directives.part, res);
      if (text === null) {
        res.writeHead(503, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, max-age=0' });
        res.end(head ? undefined : blockingTimeoutMessage(mux));
        return true;
      }
      res.writeHead(200, {
        ...headers,
        'Content-Type': M3U8_TYPE,
        'Cache-Control': 'no-cache, max-age=0',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(head ? undefined : text);
      return true;
    }
    if (!this.deps.sessions.fastMedia(app, stream, query)) return false;
    const body = await this.media(mux, wanted, res);
    if (!body) {
      // Not declined: serve() would wait for the same part again.
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, max-age=0' });
      res.end(head ? undefined : `not found: ${req.url?.split('?')[0] ?? ''}\n`);
      return true;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'video/mp4',
      'Cache-Control': mediaCacheControl(false),
      'Content-Length': body.length,
    });
    res.end(head ? undefined : body);
    return true;
  }

  /** An init segment, a whole segment or a part (a preload-hinted part is waited for, bounded); null when there is none. */
  private async media(mux: StreamMux, wanted: Exclude<LlFile, { kind: 'playlist' }>, res: http.ServerResponse): Promise<Buffer | null> {
    mux.usedAt = Date.now();
    const s = mux.segmenter;
    if (wanted.kind === 'init') return s.initFor(wanted.id);
    if (wanted.kind === 'segment') return s.segments.find((seg) => seg.msn === wanted.msn && seg.complete)?.bytes ?? null;
    // The preload hint: the request blocks until the part is complete (bounded).
    const { msn, index } = wanted;
    const ok = await mux.until(
      () => partAnswer(mux.view(), msn, index) === 'ready',
      () => partAnswer(mux.view(), msn, index) === 'missing',
      3 * s.targetDuration * 1000,
      res,
    );
    return ok ? (s.segments.find((seg) => seg.msn === msn)?.parts[index]?.bytes ?? null) : null;
  }

  /**
   * The playlist once a blocking reload (§6.2.5.2) may be answered: held until the asked part (or
   * later) is listed, 3 target durations at most (null: it did not come). No directive: at once.
   */
  private async reloaded(mux: StreamMux, msn: number | null, part: number | null, res: http.ServerResponse): Promise<string | null> {
    if (msn !== null) {
      const ok = await mux.until(
        () => blockingAnswer(mux.view(), msn, part) === 'ready',
        () => false,
        3 * mux.segmenter.targetDuration * 1000,
        res,
      );
      if (!ok) return null;
    }
    return mux.playlistText();
  }

  /**
   * The stream's mux. Normally made at the stream's start; one the tap carries without a mux (the
   * stack restarted under a live stream) is joined now. Whether media flows is the tap's to say: the
   * registry may still list a stream whose push just ended, and its ended mux must keep serving
   * the ENDLIST playlist rather than be replaced by an empty one.
   */
  private muxFor(app: string, stream: string): StreamMux | null {
    const key = `${app}/${stream}`;
    let mux = this.muxes.get(key);
    if ((!mux || mux.segmenter.isEnded) && this.deps.source.has(app, stream)) {
      mux?.close();
      log.info(`${key}: LL-HLS muxing joins the stream from its GOP cache`);
      mux = new StreamMux(this.deps, app, stream);
      this.muxes.set(key, mux);
    }
    if (mux) mux.usedAt = Date.now();
    return mux ?? null;
  }

  private async playlist(ctx: Koa.Context, app: string, stream: string): Promise<void> {
    const mux = this.muxFor(app, stream);
    if (!mux) throw new NotFoundError(`stream ${app}/${stream} is not live`);
    const s = mux.segmenter;
    const started = await mux.until(
      () => s.hasCompleteSegment,
      () => s.isEnded,
      FIRST_SEGMENT_TIMEOUT_MS,
      ctx.res,
    );
    if (!started) {
      const reason = s.isEnded ? s.endedBecause : 'no complete segment yet';
      throw new NotFoundError(`stream ${app}/${stream} has no LL-HLS media (${reason})`);
    }
    const msn = blockingParam(ctx.query._HLS_msn);
    const part = blockingParam(ctx.query._HLS_part);
    if (part !== null && msn === null) throw new ValidationError('_HLS_part without _HLS_msn');
    if (msn !== null && blockingAnswer(mux.view(), msn, part) === 'bad-request') {
      throw new ValidationError(`_HLS_msn=${msn} is beyond the playlist's next segments`);
    }
    const text = await this.reloaded(mux, msn, part, ctx.res);
    ctx.set('Cache-Control', 'no-cache, max-age=0');
    if (text === null) {
      ctx.status = 503;
      ctx.body = blockingTimeoutMessage(mux);
      return;
    }
    ctx.type = M3U8_TYPE;
    ctx.body = HlsDelivery.withSessionQuery(ctx, text);
  }
}

const mediaCacheControl = (guarded: boolean) => `${guarded ? 'private' : 'public'}, max-age=${MEDIA_MAX_AGE_SECONDS}`;

const blockingTimeoutMessage = (mux: StreamMux) => `the requested part did not come within ${3 * mux.segmenter.targetDuration} s\n`;

/** `_HLS_msn` / `_HLS_part`: a decimal integer, or null when absent; anything else is a 400. */
export function blockingParam(value: unknown): number | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || !/^\d{1,12}$/.test(value)) throw new ValidationError('_HLS_msn and _HLS_part are decimal integers');
  return Number(value);
}
