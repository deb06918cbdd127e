// HTTP plumbing shared by every feature: SRS Stack's envelope, CORS, security headers, typed-error
// mapping and bounded body readers. Routes themselves are declared in server/route-table.ts.
import type Koa from 'koa';
import { AppError, PayloadTooLargeError, ValidationError, storageFailure } from './errors.js';
import { createLogger } from './logger.js';
import { asBody, type Body } from './validate.js';

const log = createLogger('http');

export const API_PREFIX = '/terraform/v1';
export const JSON_BODY_LIMIT = 1024 * 1024;

/** Success envelope of SRS Stack: `{"code":0,"server":<pid>,"data":…}`. */
export function envelope(data: unknown): { code: 0; server: number; data: unknown } {
  return { code: 0, server: process.pid, data: data === undefined ? null : data };
}

/** Sends a JSON body, honouring SRS Stack's rarely used `?callback=` JSONP form. */
export function sendJson(ctx: Koa.Context, status: number, body: unknown): void {
  ctx.status = status;
  const callback = typeof ctx.query.callback === 'string' ? ctx.query.callback : '';
  if (callback && /^[A-Za-z_$][\w$.]{0,63}$/.test(callback)) {
    ctx.type = 'application/javascript';
    ctx.body = `${callback}(${JSON.stringify(body)})`;
  } else {
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(body);
  }
}

/**
 * Headers on every response: server id, SRS Stack's permissive CORS, and safe defaults, whichever
 * lane answers (Koa's, or the fast lane of core/routing.ts).
 */
export function commonHeaderValues(version: string): Readonly<Record<string, string>> {
  // SRS's CORS, value for value, each header once (SRS tools and consoles on other origins expect
  // it). `*` does expose Location to a WHIP/WHEP client: a cross-origin request with credentials,
  // where `*` is literal, is refused anyway by `Allow-Origin: *`.
  return {
    Server: `SRS-Stack/v${version}`,
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': '*',
    'Access-Control-Allow-Methods': '*',
    'Access-Control-Expose-Headers': '*',
    'Access-Control-Allow-Credentials': 'true',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'SAMEORIGIN',
    'Referrer-Policy': 'same-origin',
  };
}

/** Sets commonHeaderValues on every answer of Koa's lane, and answers CORS preflights. */
export function commonHeaders(version: string): Koa.Middleware {
  const values = Object.entries(commonHeaderValues(version));
  return async (ctx, next) => {
    for (const [name, value] of values) ctx.set(name, value);
    // One exception a browser needs: `*` does not cover Authorization (Fetch standard), so a
    // preflight that asks for it (a WHIP publish with `Authorization: Bearer`, /api/v1 with the API
    // secret) gets it named.
    if (preflightAsksAuthorization(ctx)) ctx.set('Access-Control-Allow-Headers', '*, Authorization');
    if (ctx.method === 'OPTIONS') {
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    await next();
  };
}

function preflightAsksAuthorization(ctx: Koa.Context): boolean {
  return ctx.method === 'OPTIONS' && /(^|,)\s*authorization\s*(,|$)/i.test(ctx.get('access-control-request-headers'));
}

/** SRS's own HTTP API (features/srs-api): its errors are JSON like SRS Stack's API. */
export const SRS_API_PREFIX = '/api/';

export type HtmlErrorRenderer = (ctx: Koa.Context, status: number, message: string) => void;

/**
 * Maps thrown errors to answers: JSON `{code,server,message}` with a fitting status under the API
 * prefixes (and for any client asking for JSON), the console's error page elsewhere.
 */
export function errorHandler(renderHtml: HtmlErrorRenderer): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (caught) {
      const err = caught instanceof AppError ? caught : (storageFailure(caught) ?? caught);
      const known = err instanceof AppError;
      const status = known ? err.status : 500;
      const message = known ? err.message : 'internal error, see the stack log for details';
      if (!known) log.error(`${ctx.method} ${ctx.path} failed`, err instanceof Error ? (err.stack ?? err) : err);
      else if (err !== caught) log.warn(`${ctx.method} ${ctx.path} failed: ${message}`);
      if (known) for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      if (ctx.path.startsWith(API_PREFIX) || ctx.path.startsWith(SRS_API_PREFIX) || !ctx.accepts('html')) {
        sendJson(ctx, status, { code: status, server: process.pid, message });
      } else {
        renderHtml(ctx, status, message);
      }
    }
  };
}

/** Reads the request body as text, refusing more than `limit` bytes before buffering them. */
export async function readRawBody(ctx: Koa.Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new PayloadTooLargeError(`request body too large: ${declared} bytes, limit ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      ctx.req.destroy();
      throw new PayloadTooLargeError(`request body too large: over ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * JSON body (empty = `{}`). Form-encoded bodies from the console's plain forms are accepted too,
 * but a body that looks like JSON is parsed as JSON whatever its type: `curl -d '{…}'` labels
 * JSON as a form, and SRS Stack's users script exactly that.
 */
export async function readJsonBody(ctx: Koa.Context, limit = JSON_BODY_LIMIT): Promise<Body> {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return {};
  const text = await readRawBody(ctx, limit);
  // Kept for handlers whose form carries repeated keys in a meaningful order (engine callbacks).
  ctx.state.rawBody = text;
  const trimmed = text.trim();
  if (!trimmed) return {};
  if (ctx.is('application/x-www-form-urlencoded') && !/^[[{"]/.test(trimmed)) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`malformed JSON body: ${(err as Error).message}`);
  }
  return asBody(parsed);
}

/** Only same-site relative paths may be redirect targets (no open redirect). */
export function safeBack(back: string): string {
  return /^\/(?!\/)[^\s\\]*$/.test(back) ? back : '/mgmt';
}

/** `url` with `key=value`, any earlier notice or error dropped. */
export function withParam(url: string, key: string, value: string): string {
  const u = new URL(url, 'http://x');
  u.searchParams.delete('notice');
  u.searchParams.delete('error');
  u.searchParams.delete('errorAt');
  u.searchParams.set(key, value);
  return `${u.pathname}${u.search}`;
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * The client's address. Proxy headers are trusted only from a loopback peer (the panel's nginx on
 * the same host); from anywhere else they could be forged to dodge the login throttle.
 */
export function clientAddress(ctx: Koa.Context): string {
  const peer = ctx.req.socket.remoteAddress;
  if (isLoopback(peer)) {
    const forwarded = ctx.get('x-real-ip') || ctx.get('x-forwarded-for').split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  return peer ?? 'unknown';
}

/** HTTPS directly, or via the panel's nginx on loopback that says so. */
export function isSecureRequest(ctx: Koa.Context): boolean {
  if (ctx.req.socket && 'encrypted' in ctx.req.socket && ctx.req.socket.encrypted) return true;
  return isLoopback(ctx.req.socket.remoteAddress) && ctx.get('x-forwarded-proto') === 'https';
}
