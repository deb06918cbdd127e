// Serves files from a root directory with traversal protection (the resolved real path must stay
// inside the root), optional caching headers and HTTP Range (recordings play while downloading).
import fs from 'node:fs';
import path from 'node:path';
import type Koa from 'koa';
import { NotFoundError, ValidationError } from './errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.mp4': 'video/mp4',
  '.flv': 'video/x-flv',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

export function contentTypeFor(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Resolves a request path below root; null when it escapes (.., absolute, symlink out, NUL). */
export function safeJoin(root: string, requestPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const rootResolved = path.resolve(root);
  const full = path.resolve(rootResolved, `.${path.posix.normalize(`/${decoded}`)}`);
  if (full !== rootResolved && !full.startsWith(rootResolved + path.sep)) return null;
  try {
    const real = fs.realpathSync(full);
    const rootReal = fs.realpathSync(rootResolved);
    if (real !== rootReal && !real.startsWith(rootReal + path.sep)) return null;
  } catch {
    /* missing file: the caller answers 404 */
  }
  return full;
}

export interface SendOptions {
  maxAgeSeconds?: number;
  contentType?: string;
  /** Whole-file GETs served from memory (live HLS segments: every player fetches the same few). */
  memory?: { read(file: string, stat: fs.Stats): Promise<Buffer> };
}

/** Streams one file, with Range support; 404 when missing or not a regular file. */
export async function sendFile(ctx: Koa.Context, file: string, opts: SendOptions = {}): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    throw new NotFoundError(`not found: ${ctx.path}`);
  }
  if (!stat.isFile()) throw new NotFoundError(`not found: ${ctx.path}`);
  ctx.type = opts.contentType ?? contentTypeFor(file);
  ctx.set('Accept-Ranges', 'bytes');
  ctx.set('Last-Modified', stat.mtime.toUTCString());
  ctx.set('Cache-Control', opts.maxAgeSeconds ? `public, max-age=${opts.maxAgeSeconds}` : 'no-cache, max-age=0');
  const range = ctx.get('range');
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (!m || (!m[1] && !m[2])) throw new ValidationError(`unsupported Range header "${range}"`);
    let start = m[1] ? Number(m[1]) : Math.max(0, stat.size - Number(m[2]));
    let end = m[1] && m[2] ? Number(m[2]) : stat.size - 1;
    end = Math.min(end, stat.size - 1);
    if (start > end || start >= stat.size) {
      ctx.status = 416;
      ctx.set('Content-Range', `bytes */${stat.size}`);
      ctx.body = '';
      return;
    }
    start = Math.max(0, start);
    ctx.status = 206;
    ctx.set('Content-Range', `bytes ${start}-${end}/${stat.size}`);
    ctx.length = end - start + 1;
    // HEAD: no body at all (a null body would make Koa drop Content-Type and Content-Length).
    if (ctx.method !== 'HEAD') ctx.body = fs.createReadStream(file, { start, end });
    return;
  }
  ctx.status = 200;
  ctx.length = stat.size;
  if (ctx.method !== 'HEAD') ctx.body = opts.memory ? await opts.memory.read(file, stat) : fs.createReadStream(file);
}

/** Serves `root` under a URL prefix (the route must capture the rest as `:path(.*)`). */
export async function serveFrom(ctx: Koa.Context, root: string, rel: string, opts: SendOptions = {}): Promise<void> {
  const file = safeJoin(root, rel);
  if (!file) throw new NotFoundError(`not found: ${ctx.path}`);
  await sendFile(ctx, file, opts);
}

/** Middleware serving GET/HEAD below `prefix` from `root`; other paths fall through. */
export function mountStatic(prefix: string, root: string, opts: SendOptions = {}): Koa.Middleware {
  const withSlash = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !ctx.path.startsWith(withSlash)) return next();
    await serveFrom(ctx, root, ctx.path.slice(withSlash.length), opts);
  };
}
