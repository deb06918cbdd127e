// HLS on the stack's HTTP port, from the engine's HLS directories (docs/compatibility.md §1.7, §3.10, §10):
//   /{app}/{stream}.m3u8   the rendition of the current mode (normal 10 s or low-latency 2 s);
//                          with hls_ctx on, a variant playlist naming a per-player session first
//   /{app}/{stream}-N.ts   a low-latency segment;  /{app}/{prefix}/{stream}-N.ts  a normal one
// Both renditions always exist, so a mode switch applies to the next playlist request at once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type Koa from 'koa';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import type { FastAnswer } from '../../core/routing.js';
import { sendFile } from '../../core/static-files.js';
import type { HlsOutput, MediaEngine } from '../../engine/media-engine.js';
import { isSafeFileName } from '../../core/stream-names.js';
import { sessionVariantPlaylist, withEndList, withEscapedSegmentUris, withUriQuery } from './playlist.js';

export const M3U8_TYPE = 'application/vnd.apple.mpegurl';

/**
 * The `count` decoded names of a fast-lane path `/{a}/{b}…` (as Koa's router would give them), or
 * null when the path has another shape or does not decode.
 */
export function fastPathNames(urlPath: string, count: number): string[] | null {
  const parts = urlPath.split('/');
  if (parts.length !== count + 1 || parts[0] !== '' || parts.some((p, i) => i > 0 && !p)) return null;
  try {
    return parts.slice(1).map((p) => decodeURIComponent(p));
  } catch {
    return null;
  }
}
const TS_MAX_AGE_SECONDS = 600;
const SESSION_IDLE_MS = 30_000;
const MAX_SESSIONS = 50_000;
const SESSION_ID = /^[0-9a-z]{1,32}$/;

const sessionQuery = (id: string, grant: string | null): string =>
  grant ? `hls_ctx=${id}&hls_auth=${encodeURIComponent(grant)}` : `hls_ctx=${id}`;
/** Players of one stream poll the same playlist; the engine rewrites it every 2 s at most. */
const PLAYLIST_CACHE_MS = 200;
const PLAYLIST_CACHE_ENTRIES = 2000;

/**
 * Play authentication for HLS (features/play-auth): a player is admitted once, at its first playlist
 * request (a signed `token` or on_play), and its hls_ctx session gets a grant, `hls_auth`, written
 * into every URI of its playlists and checked on each request of the session.
 */
export interface HlsGuard {
  guarded(app: string, stream: string): boolean;
  /**
   * Admits a new session `sid` or throws (403): its grant (null: admitted without one) and what to
   * call when the session ends.
   */
  admit(ctx: Koa.Context, app: string, stream: string, sid: string): Promise<{ grant: string | null; left: (() => void) | null }>;
  /** Checks a session's grant; throws (403). */
  check(ctx: Koa.Context, app: string, stream: string, sid: string, grant: string): Promise<void>;
}

/** Where a request's session query for its playlists' URIs is kept between the session check and the render. */
const MEDIA_QUERY = 'hlsMediaQuery';

const queryString = (ctx: Koa.Context, key: string): string => {
  const v = ctx.query[key];
  return typeof v === 'string' ? v : '';
};

export interface HlsDeliveryModes {
  readonly hlsLowLatency: boolean;
  readonly noHlsCtx: boolean;
}

/** A session's playlist is never cached; in high-performance mode, caches may keep it for a fragment. */
function playlistCacheControl(modes: HlsDeliveryModes): string {
  return modes.noHlsCtx ? `public, max-age=${modes.hlsLowLatency ? 1 : 10}` : 'no-cache, max-age=0';
}

/** Players identified by SRS's hls_ctx: a session counts as a viewer while it keeps polling. */
export class HlsSessions {
  private readonly sessions = new Map<string, { stream: string; seenAt: number; left?: () => void }>();
  /** Sessions play authentication admitted (callback mode) that did not poll yet: told to leave too. */
  private readonly admittedOnly = new Map<string, { seenAt: number; left: () => void }>();

  touch(id: string, stream: string, now = Date.now()): void {
    const known = this.sessions.get(id);
    if (known) {
      known.seenAt = now;
      known.stream = stream;
    } else if (this.sessions.size < MAX_SESSIONS) {
      const left = this.admittedOnly.get(id)?.left;
      this.admittedOnly.delete(id);
      this.sessions.set(id, { stream, seenAt: now, left });
    }
  }

  /** A session play authentication admitted: `left` runs once it stops polling (on_stop). */
  admitted(id: string, left: () => void, now = Date.now()): void {
    if (this.admittedOnly.size < MAX_SESSIONS) this.admittedOnly.set(id, { seenAt: now, left });
    else left();
  }

  count(stream: string, now = Date.now()): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.stream === stream && now - s.seenAt < SESSION_IDLE_MS) n += 1;
    return n;
  }

  sweep(now = Date.now()): void {
    for (const map of [this.sessions, this.admittedOnly]) {
      for (const [id, s] of map) {
        if (now - s.seenAt < SESSION_IDLE_MS) continue;
        map.delete(id);
        s.left?.();
      }
    }
  }

  get size(): number {
    return this.sessions.size;
  }
}

/** Playlists read (and their URIs escaped) at most once per PLAYLIST_CACHE_MS whatever the number of players (null: missing). */
export class PlaylistCache {
  private readonly entries = new Map<string, { at: number; text: Promise<string | null>; settled?: { text: string | null } }>();

  constructor(private readonly ttlMs = PLAYLIST_CACHE_MS) {}

  read(file: string, now = Date.now()): Promise<string | null> {
    const hit = this.entries.get(file);
    if (hit && now - hit.at < this.ttlMs) return hit.text;
    if (this.entries.size >= PLAYLIST_CACHE_ENTRIES) this.entries.clear();
    // Escaped once per read, not once per player (engine-written names may need it: playlist.ts).
    const entry: { at: number; text: Promise<string | null>; settled?: { text: string | null } } = {
      at: now,
      text: fs.promises
        .readFile(file, 'utf8')
        .then(withEscapedSegmentUris)
        .catch(() => null)
        .then((text) => {
          entry.settled = { text };
          return text;
        }),
    };
    this.entries.set(file, entry);
    return entry.text;
  }

  /**
   * The playlist as read() would give it, without waiting: undefined when read() would read the file
   * (expired, never read) or its read is still running. The fast lane answers most requests from here,
   * in the same turn of the event loop (docs/architecture.md, "The fast lane").
   */
  settled(file: string, now = Date.now()): { text: string | null } | undefined {
    const hit = this.entries.get(file);
    return hit && now - hit.at < this.ttlMs ? hit.settled : undefined;
  }
}

/**
 * Recently served segments kept in memory: every player of a live stream fetches the same few
 * files. A copy is used only while the file's size and mtime are unchanged, so a file still being
 * written (or rewritten) is never served stale.
 */
export class SegmentCache {
  private readonly entries = new Map<string, { size: number; mtimeMs: number; data: Buffer }>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes = 64 * 1024 * 1024,
    private readonly maxEntryBytes = 16 * 1024 * 1024,
  ) {}

  async read(file: string, stat: { size: number; mtimeMs: number }): Promise<Buffer> {
    const hit = this.entries.get(file);
    if (hit) this.drop(file, hit.data.length);
    if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) {
      this.keep(file, hit);
      return hit.data;
    }
    const data = await fs.promises.readFile(file);
    if (data.length === stat.size && data.length <= this.maxEntryBytes) this.keep(file, { size: stat.size, mtimeMs: stat.mtimeMs, data });
    return data;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  private keep(file: string, entry: { size: number; mtimeMs: number; data: Buffer }): void {
    // Map order is insertion order: re-inserting marks the entry as most recently used.
    this.entries.set(file, entry);
    this.bytes += entry.data.length;
    for (const [oldest, e] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.drop(oldest, e.data.length);
    }
  }

  private drop(file: string, length: number): void {
    if (this.entries.delete(file)) this.bytes -= length;
  }
}

/** A media playlist as players get it (live: the stream is live; otherwise it ends with EXT-X-ENDLIST). */
interface MediaPlaylist {
  readonly text: string;
  readonly live: boolean;
}

export class HlsDelivery {
  readonly sessions = new HlsSessions();
  private readonly playlists = new PlaylistCache();
  /** fastPlaylist's headers by `app/stream`, with what they were made from. */
  private readonly fastHeaders = new Map<
    string,
    { text: string; cacheControl: string; common: Readonly<Record<string, string>>; headers: Readonly<Record<string, string | number>> }
  >();
  private readonly segments = new SegmentCache();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly engine: Pick<MediaEngine, 'apps' | 'hls'>,
    private readonly modes: () => HlsDeliveryModes,
    private readonly isLive: (app: string, stream: string) => boolean,
    private readonly guard: HlsGuard | null = null,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sessions.sweep(), 10_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  viewers(app: string, stream: string): number {
    return this.sessions.count(`${app}/${stream}`);
  }

  /**
   * Answers `/{app}/{file}` (sub null) and `/{app}/{sub}/{file}`; anything that is not a playlist or a
   * segment goes to the next route, since these paths match any two or three segments.
   */
  async serve(ctx: Koa.Context, next: Koa.Next, app: string, sub: string | null, file: string): Promise<void> {
    const isPlaylist = sub === null && file.endsWith('.m3u8');
    if (!isPlaylist && !file.endsWith('.ts')) return next();
    if (![app, sub ?? app, file].every(isSafeFileName)) throw new ValidationError(`invalid HLS path ${ctx.path}`);
    if (!(this.engine.apps as readonly string[]).includes(app)) throw new NotFoundError(`no such app: ${app}`);
    if (isPlaylist) return this.playlist(ctx, app, file.slice(0, -'.m3u8'.length));
    const output = this.outputForSegment(sub);
    if (!output) throw new NotFoundError(`not found: ${ctx.path}`);
    const guarded = await this.checkMedia(ctx, app, file.replace(/-\d+\.ts$/, ''));
    await sendFile(ctx, path.join(output.root, app, file), {
      maxAgeSeconds: TS_MAX_AGE_SECONDS,
      contentType: 'video/mp2t',
      memory: this.segments,
    });
    // A private stream's segments must not be kept by shared caches for other viewers.
    if (guarded) ctx.set('Cache-Control', `private, max-age=${TS_MAX_AGE_SECONDS}`);
  }

  /**
   * A media request (segment, LL-HLS init or part) of app/stream: with play auth on for the stream,
   * its session's grant must be valid (throws 403). True when the stream is guarded.
   */
  async checkMedia(ctx: Koa.Context, app: string, stream: string): Promise<boolean> {
    if (!this.guard?.guarded(app, stream)) return false;
    await this.guard.check(ctx, app, stream, queryString(ctx, 'hls_ctx'), queryString(ctx, 'hls_auth'));
    return true;
  }

  /** A media playlist's text for this request: its URIs carry the session's grant when it has one. */
  static withSessionQuery(ctx: Koa.Context, text: string): string {
    const query = ctx.state[MEDIA_QUERY];
    return typeof query === 'string' && query ? withUriQuery(text, query) : text;
  }

  private outputForSegment(sub: string | null): HlsOutput | null {
    const { lowLatency, normal } = this.engine.hls;
    return [lowLatency, normal].find((o) => (sub === null ? o.segmentPrefix === '' : o.segmentPrefix === sub)) ?? null;
  }

  private async playlist(ctx: Koa.Context, app: string, stream: string): Promise<void> {
    const modes = this.modes();
    const playlist = await this.mediaPlaylist(app, stream, modes);
    if (playlist === null) throw new NotFoundError(`stream ${app}/${stream} is not live`);
    // A guarded stream always uses sessions, hls_ctx off or not: the session carries the viewer's admission.
    const sessions = !modes.noHlsCtx || (this.guard?.guarded(app, stream) ?? false);
    ctx.type = M3U8_TYPE;
    ctx.set('Cache-Control', sessions ? 'no-cache, max-age=0' : playlistCacheControl(modes));
    if (sessions && (await this.answeredSession(ctx, app, stream, `${encodeURIComponent(stream)}.m3u8`, playlist.live))) return;
    ctx.body = HlsDelivery.withSessionQuery(ctx, playlist.text);
  }

  /** The media playlist of app/stream in the current mode, as players get it; null when there is none. */
  private async mediaPlaylist(app: string, stream: string, modes: HlsDeliveryModes): Promise<MediaPlaylist | null> {
    const file = this.playlistFile(app, stream, modes);
    return this.asServed(app, stream, await this.playlists.read(file));
  }

  private playlistFile(app: string, stream: string, modes: HlsDeliveryModes): string {
    const output = modes.hlsLowLatency ? this.engine.hls.lowLatency : this.engine.hls.normal;
    return `${output.root}/${app}/${stream}.m3u8`;
  }

  private asServed(app: string, stream: string, text: string | null): MediaPlaylist | null {
    if (text === null) return null;
    const live = this.isLive(app, stream);
    return { text: live ? text : withEndList(text), live };
  }

  /**
   * The fast lane (core/routing.ts FastAnswer) for `/{app}/{file}`: the request every player repeats
   * every few seconds, its session's media playlist `/{app}/{stream}.m3u8?hls_ctx=…` (in
   * high-performance mode the playlist as is), and the low-latency segments `/{app}/{stream}-N.ts`,
   * answered like serve() does. Anything else — a first request that needs a session, an unknown
   * app, a stream that is not live, an odd name, a Range — goes to serve().
   */
  readonly fastFile: FastAnswer = (req, res, urlPath, query, headers) => {
    const names = fastPathNames(urlPath, 2);
    if (!names) return false;
    const [app, file] = names as [string, string];
    if (file.endsWith('.ts')) return this.fastSegment(req, res, app, null, file, headers);
    if (!file.endsWith('.m3u8') || !isSafeFileName(file) || !this.servesApp(app)) return false;
    const stream = file.slice(0, -'.m3u8'.length);
    const modes = this.modes();
    // Most requests find the playlist read already: answered in this turn, no promise made.
    const settled = this.playlists.settled(this.playlistFile(app, stream, modes));
    if (settled) return this.fastPlaylist(req, res, app, stream, modes, query, headers, this.asServed(app, stream, settled.text));
    return this.mediaPlaylist(app, stream, modes).then((playlist) =>
      this.fastPlaylist(req, res, app, stream, modes, query, headers, playlist),
    );
  };

  private fastPlaylist(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    app: string,
    stream: string,
    modes: HlsDeliveryModes,
    query: URLSearchParams,
    headers: Readonly<Record<string, string>>,
    playlist: MediaPlaylist | null,
  ): boolean {
    if (playlist === null || !this.fastSession(app, stream, query, playlist.live)) return false;
    res.writeHead(200, this.playlistHeaders(`${app}/${stream}`, playlist.text, playlistCacheControl(modes), headers));
    res.end(req.method === 'HEAD' ? undefined : playlist.text);
    return true;
  }

  /** A playlist's answer headers, made once per playlist text (every player of a stream gets the same). */
  private playlistHeaders(
    key: string,
    text: string,
    cacheControl: string,
    common: Readonly<Record<string, string>>,
  ): Readonly<Record<string, string | number>> {
    const made = this.fastHeaders.get(key);
    if (made && made.text === text && made.cacheControl === cacheControl && made.common === common) return made.headers;
    const headers = { ...common, 'Content-Type': M3U8_TYPE, 'Cache-Control': cacheControl, 'Content-Length': Buffer.byteLength(text) };
    if (this.fastHeaders.size >= PLAYLIST_CACHE_ENTRIES) this.fastHeaders.clear();
    this.fastHeaders.set(key, { text, cacheControl, common, headers });
    return headers;
  }

  /**
   * A TS segment in the fast lane (`sub`: the normal rendition's directory, null for the
   * low-latency one), from the same memory cache as serve(); false for a guarded stream, a Range, or
   * a file that is not there (serve() then answers, with its 404).
   */
  async fastSegment(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    app: string,
    sub: string | null,
    file: string,
    headers: Readonly<Record<string, string>>,
  ): Promise<boolean> {
    if (req.headers.range || !file.endsWith('.ts') || ![app, sub ?? app, file].every(isSafeFileName) || !this.servesApp(app)) return false;
    const output = this.outputForSegment(sub);
    if (!output || this.guard?.guarded(app, file.replace(/-\d+\.ts$/, ''))) return false;
    const full = path.join(output.root, app, file);
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(full);
    } catch {
      return false;
    }
    if (!stat.isFile()) return false;
    const data = req.method === 'HEAD' ? null : await this.segments.read(full, stat);
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'video/mp2t',
      'Accept-Ranges': 'bytes',
      'Last-Modified': stat.mtime.toUTCString(),
      'Cache-Control': `public, max-age=${TS_MAX_AGE_SECONDS}`,
      'Content-Length': data?.length ?? stat.size,
    });
    res.end(data ?? undefined);
    return true;
  }

  /**
   * May the fast lane answer a playlist request of app/stream (live: the stream is live)? Only when
   * Koa's lane would have nothing to add: no play authentication on the stream nor a grant in the
   * URL (serve() checks grants and writes them into the playlist's URIs), and a session already
   * made (or hls_ctx off). A live stream's session is counted as a viewer, as answeredSession() does.
   */
  fastSession(app: string, stream: string, query: URLSearchParams, live: boolean): boolean {
    if (!this.fastMedia(app, stream, query)) return false;
    if (this.modes().noHlsCtx) return true;
    const session = query.get('hls_ctx') ?? '';
    if (!SESSION_ID.test(session)) return false;
    if (live) this.sessions.touch(session, `${app}/${stream}`);
    return true;
  }

  /** May the fast lane answer a media request (segment, part) of app/stream: nothing for play authentication to check. */
  fastMedia(app: string, stream: string, query: URLSearchParams): boolean {
    return !query.has('hls_auth') && !(this.guard?.guarded(app, stream) ?? false);
  }

  servesApp(app: string): boolean {
    return isSafeFileName(app) && (this.engine.apps as readonly string[]).includes(app);
  }

  /**
   * SRS's hls_ctx for a media playlist of app/stream (classic or LL-HLS: one viewer count): a
   * request without a session gets a variant playlist naming `mediaUri` with a new session, and
   * true (answered); one with a session counts as a viewer while the stream is live, and false.
   * With hls_ctx off (SRS's `noHlsCtx`), false and no counting, unless play auth guards the stream.
   *
   * Play auth (HlsGuard): a new session is admitted first (403 otherwise) and its grant joins the
   * session's query; a request of a guarded stream with a session but no grant starts a new
   * session the same way, one with a grant must hold a valid one. A grant is also handed out
   * when the stream is not guarded but the URL is validly signed, so turning play auth on later
   * does not cut that viewer before its URL expires.
   */
  async answeredSession(ctx: Koa.Context, app: string, stream: string, mediaUri: string, live: boolean): Promise<boolean> {
    const guarded = this.guard?.guarded(app, stream) ?? false;
    if (this.modes().noHlsCtx && !guarded) return false;
    const session = queryString(ctx, 'hls_ctx');
    const grant = queryString(ctx, 'hls_auth');
    if (!SESSION_ID.test(session) || (guarded && !grant)) {
      const id = crypto.randomBytes(8).toString('hex');
      let granted: string | null = null;
      if (this.guard) {
        const admitted = await this.guard.admit(ctx, app, stream, id);
        granted = admitted.grant;
        if (admitted.left) this.sessions.admitted(id, admitted.left);
      }
      ctx.type = M3U8_TYPE;
      ctx.set('Cache-Control', 'no-cache, max-age=0');
      ctx.body = sessionVariantPlaylist(`${mediaUri}?${sessionQuery(id, granted)}`);
      return true;
    }
    if (guarded) await this.guard?.check(ctx, app, stream, session, grant);
    if (grant) ctx.state[MEDIA_QUERY] = sessionQuery(session, grant);
    if (live) this.sessions.touch(session, `${app}/${stream}`);
    return false;
  }
}
