// Routes declared as data, handlers bound by id. The route table (server/route-table.ts) says, for
// every route, its methods, path, auth rule, body kind and how it answers; features supply one
// handler per route id; `RouteBinder.install` reads the body, enforces the auth rule and answers
// in the table's order. Nothing else registers a route, so a route not in the table does not
// exist, and an entry without a handler stops the start instead of silently answering 404.
import type http from 'node:http';
import type Koa from 'koa';
import Router from 'koa-router';
import { AppError, errorMessage } from './errors.js';
import { API_PREFIX, envelope, readJsonBody, readRawBody, safeBack, sendJson, withParam } from './http.js';
import { mountStatic, type SendOptions } from './static-files.js';
import type { Body } from './validate.js';

/** HEAD is implied by GET everywhere (koa-router adds it; HTTP requires it); OPTIONS is CORS, answered before routing. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who may call a route, and who checks it. */
export type AuthRule =
  /** Anyone. `why` is the reviewed reason; the security sweep keeps the same list and fails on any difference. */
  | { readonly kind: 'public'; readonly why: string }
  /**
   * The media engine's hook: no stack credential, so it is open to the network like a public route; the hook's
   * handler refuses (403) a caller without the engine's per-boot token (the sweep checks that it does).
   */
  | { readonly kind: 'engine'; readonly why: string }
  /** The API credential: `Authorization: Bearer <api secret>`, a token in the body, or the console session plus its CSRF header (401). */
  | { readonly kind: 'secured' }
  /** The console session cookie; a method that changes state also needs the page's CSRF token in the form (401). */
  | { readonly kind: 'session' }
  /** A console page: without a ready stack and a session the browser is redirected (starting, setup or login). */
  | { readonly kind: 'session-page' };

export type AuthKind = AuthRule['kind'];
/** The rules the binder enforces with a guard the composition root supplies. */
export type GuardedAuthKind = Exclude<AuthKind, 'public' | 'engine'>;

/** A body read as text, only of this media type (415 otherwise), at most `limit` bytes: WHIP's `application/sdp`. */
export interface RawBody {
  readonly raw: string;
  readonly limit: number;
}

/**
 * - `none`: not read (pages, media, probes).
 * - `json`: a JSON object, `{}` when empty or for GET/HEAD; a url-encoded form is accepted too, because
 *   `curl -d '{…}'` labels JSON as a form and SRS Stack's users script exactly that (core/http.ts).
 * - `form`: a console form post, read by the same reader as `json`.
 * - `upload`: the handler streams the body itself (multipart); the credential therefore comes from the headers
 *   and is checked before a byte of the body is read.
 * - a `RawBody`: the text of one media type.
 */
export type BodyKind = 'none' | 'json' | 'form' | 'upload' | RawBody;

/**
 * - `api`: SRS Stack's API: GET and POST (HEAD implied), 405 in the JSON envelope otherwise; the handler's value
 *   goes out in the envelope unless the handler answered itself (a file, a playlist).
 * - `form`: a console form post: the handler returns a notice key, the browser is redirected back to the form
 *   (`_back`) with it, or with the error message, so a reload never re-submits.
 * - `direct`: the handler writes the response (pages, media, redirects, SDP answers).
 * - `files`: a directory served below the path prefix (GET/HEAD, traversal-safe); it is matched before every
 *   other route, as a prefix.
 */
export type AnswerKind = 'api' | 'form' | 'direct' | 'files';

export interface RouteSpec {
  readonly methods: readonly HttpMethod[];
  /** koa-router syntax (`/:app/:stream.flv`); for `files`, the prefix. */
  readonly path: string;
  readonly auth: AuthRule;
  readonly body: BodyKind;
  readonly answer: AnswerKind;
}

export type RouteTable = Readonly<Record<string, RouteSpec>>;

export interface ApiRequest<B = Body> {
  readonly ctx: Koa.Context;
  readonly body: B;
}
export type ApiHandler = (req: ApiRequest) => unknown;
export type FormHandler = (ctx: Koa.Context, form: Body) => Promise<string | void>;
export interface DirectRequest<B> extends ApiRequest<B> {
  /** Lets the next matching route answer (HLS passes on paths that are not its files). */
  readonly next: Koa.Next;
}
export type DirectHandler<B = Body> = (req: DirectRequest<B>) => unknown;
/** What a `files` route serves. */
export interface FileTree {
  readonly root: string;
  readonly options?: SendOptions;
}

type BodyValue<K> = K extends RawBody ? string : Body;

/** The handler a route needs, from its answer and body kinds. */
export type HandlerFor<S extends RouteSpec> = S['answer'] extends 'api'
  ? ApiHandler
  : S['answer'] extends 'form'
    ? FormHandler
    : S['answer'] extends 'files'
      ? FileTree
      : DirectHandler<BodyValue<S['body']>>;

export type Handlers<T extends RouteTable> = { readonly [Id in keyof T]: HandlerFor<T[Id]> };

/** Lets the caller through (true), or refuses: throws (401/403), or answers itself (a redirect) and returns false. */
export type Guard = (ctx: Koa.Context, body: Body) => Promise<boolean>;
export type Guards = Readonly<Record<GuardedAuthKind, Guard>>;

// Declaring routes: the table is written with these, so each entry reads as one line.

export const SECURED: AuthRule = { kind: 'secured' };
export const SESSION: AuthRule = { kind: 'session' };
export const SESSION_PAGE: AuthRule = { kind: 'session-page' };

export function open(why: string): AuthRule {
  return { kind: 'public', why };
}

export function engineHook(why: string): AuthRule {
  return { kind: 'engine', why };
}

export const API_METHODS = ['GET', 'POST'] as const satisfies readonly HttpMethod[];

/** A RouteSpec whose answer and body kinds stay literal, so the handler type can be derived from them. */
type Spec<A extends AnswerKind, B extends BodyKind> = Omit<RouteSpec, 'answer' | 'body'> & { readonly answer: A; readonly body: B };

/** `/terraform/v1{path}`, GET and POST, JSON body unless it is an upload. */
export function apiRoute(path: string, auth: AuthRule, body: 'json' | 'upload' = 'json'): Spec<'api', 'json' | 'upload'> {
  return { methods: API_METHODS, path: `${API_PREFIX}${path}`, auth, body, answer: 'api' };
}

/** A console form: POST, the session and its CSRF token. */
export function formRoute(path: string): Spec<'form', 'form'> {
  return { methods: ['POST'], path, auth: SESSION, body: 'form', answer: 'form' };
}

/** A GET route whose handler answers itself. */
export function getRoute(path: string, auth: AuthRule): Spec<'direct', 'none'> {
  return { methods: ['GET'], path, auth, body: 'none', answer: 'direct' };
}

/** Any methods and body: the form for routes such as WHIP (`POST` with an `application/sdp` body). */
export function directRoute<const B extends BodyKind>(
  methods: readonly HttpMethod[],
  path: string,
  auth: AuthRule,
  body: B,
): Spec<'direct', B> {
  return { methods, path, auth, body, answer: 'direct' };
}

export function fileRoute(prefix: string, auth: AuthRule): Spec<'files', 'none'> {
  return { methods: ['GET'], path: prefix, auth, body: 'none', answer: 'files' };
}

/** One line per route for reviews and errors: `GET|POST /terraform/v1/mgmt/init`, `GET /mgmt/public/*`. */
export function routeKey(spec: RouteSpec): string {
  return `${spec.methods.join('|')} ${spec.path}${spec.answer === 'files' ? '/*' : ''}`;
}

/**
 * A route's fast answer, for the one request a public GET route gets thousands of times a second (a
 * player polling its playlist): answered from node's request and response, without Koa's context and
 * middleware, whose cost per request is most of what so small an answer costs (docs/architecture.md,
 * "The fast lane"). It answers only the common case and returns false for anything else, without
 * writing a byte; the route's normal handler then answers as always. `headers` are the ones every
 * answer carries (core/http.ts commonHeaderValues).
 */
export type FastAnswer = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  query: URLSearchParams,
  headers: Readonly<Record<string, string>>,
) => boolean | Promise<boolean>;

interface FastRoute {
  readonly id: string;
  readonly answer: FastAnswer;
}

/** How many distinct paths the fast lane remembers the route of (a path per live stream in practice). */
const FAST_PATHS = 10_000;

export interface ListedRoute extends RouteSpec {
  readonly id: string;
}

/** The table as a list, in match order. */
export function listRoutes(table: RouteTable): ListedRoute[] {
  return Object.entries(table).map(([id, spec]) => ({ id, ...spec }));
}

/** Binding refuses ids the table does not have; installing refuses entries nothing was bound to. */
export class RouteTableError extends Error {}

/** Keys of H that are not route ids must have type never: a typo fails to compile, in a literal or not. */
type OnlyRouteIds<T extends RouteTable, H> = Record<Exclude<keyof H, keyof T>, never>;

export class RouteBinder<T extends RouteTable> {
  private readonly bound = new Map<string, unknown>();
  private readonly fast = new Map<string, FastAnswer>();
  /** Requests each route's fast answer took (route id → count): /metrics shows the lane at work. */
  readonly fastAnswered = new Map<string, number>();
  private router: Router | null = null;

  constructor(private readonly table: T) {}

  /** Binds handlers by route id; an id the table does not have, or one already bound, is refused. */
  bind<H extends object>(handlers: H & Partial<Handlers<T>> & OnlyRouteIds<T, H>): void {
    for (const [id, handler] of Object.entries(handlers)) {
      if (!Object.hasOwn(this.table, id)) throw new RouteTableError(`cannot bind "${id}": the route table has no such route`);
      if (this.bound.has(id)) throw new RouteTableError(`route "${id}" is bound twice`);
      if (handler === undefined || handler === null) throw new RouteTableError(`route "${id}" is bound to nothing`);
      this.bound.set(id, handler);
    }
  }

  /**
   * Gives a route a fast answer besides its handler (see FastAnswer). Only a public GET route may have
   * one: the fast lane runs no auth rule and reads no body.
   */
  bindFast(id: keyof T & string, answer: FastAnswer): void {
    const spec = this.table[id];
    if (!spec) throw new RouteTableError(`cannot bind "${id}": the route table has no such route`);
    if (spec.auth.kind !== 'public' || spec.answer !== 'direct' || spec.body !== 'none' || !spec.methods.includes('GET')) {
      throw new RouteTableError(`route "${id}" cannot have a fast answer: only public GET routes can`);
    }
    this.fast.set(id, answer);
  }

  /** Route ids that have no handler yet. */
  unbound(): string[] {
    return Object.keys(this.table).filter((id) => !this.bound.has(id));
  }

  /**
   * Puts every route on `koa`, in table order: the file trees first (they are prefixes), then one router with
   * every other route, then its 405/501 answers for known paths. Refuses to when any entry has no handler.
   */
  install(koa: Koa, guards: Guards): void {
    const missing = this.unbound();
    if (missing.length) throw new RouteTableError(`route table entries without a handler: ${missing.join(', ')}`);
    const router = new Router();
    for (const [id, spec] of Object.entries(this.table)) {
      const handler = this.bound.get(id);
      if (spec.answer === 'files') {
        koa.use(fileTree(spec, handler as FileTree, guards));
      } else if (spec.answer === 'api') {
        // Every method reaches the layer, so a wrong one gets SRS Stack's JSON 405 rather than koa-router's.
        router.all(spec.path, routeLayer(spec, handler, guards));
      } else {
        router.register(spec.path, [...spec.methods], routeLayer(spec, handler, guards), { name: id });
      }
    }
    this.router = router;
    koa.use(router.routes());
    koa.use(router.allowedMethods());
  }

  /**
   * The HTTP server's request listener: Koa for every request, except a GET or HEAD whose route (the
   * first of the table that matches its path, as Koa's lane would pick) has a fast answer that takes it.
   */
  listener(koa: Koa, headers: Readonly<Record<string, string>>): http.RequestListener {
    const slow = koa.callback();
    if (!this.fast.size) return slow;
    const routeOf = new Map<string, FastRoute | null>();
    const fastAnswerOf = (path: string): FastRoute | null => {
      let answer = routeOf.get(path);
      if (answer === undefined) {
        answer = this.firstRouteFor(path);
        if (routeOf.size >= FAST_PATHS) routeOf.clear();
        routeOf.set(path, answer);
      }
      return answer;
    };
    return (req, res) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const route = req.method === 'GET' || req.method === 'HEAD' ? fastAnswerOf(path) : null;
      if (!route) return void slow(req, res);
      const answered = () => void this.fastAnswered.set(route.id, (this.fastAnswered.get(route.id) ?? 0) + 1);
      // A fast answer that failed after writing cannot be retried; one that failed before is.
      const failed = () => void (res.headersSent ? res.destroy() : slow(req, res));
      let answer: boolean | Promise<boolean>;
      try {
        answer = route.answer(req, res, path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), headers);
      } catch {
        return failed();
      }
      // Most fast answers are synchronous: no promise is made for them.
      if (answer === true) return answered();
      if (answer === false) return void slow(req, res);
      answer.then((taken) => (taken ? answered() : void slow(req, res)), failed);
    };
  }

  /** The fast answer of the route Koa's lane would give `path` first, or null (none, or not fast). */
  private firstRouteFor(path: string): FastRoute | null {
    for (const spec of Object.values(this.table)) {
      if (spec.answer !== 'files') continue;
      const below = spec.path.endsWith('/') ? spec.path : `${spec.path}/`;
      if (path.startsWith(below)) return null;
    }
    const id = this.router?.match(path, 'GET').pathAndMethod[0]?.name;
    const answer = id ? this.fast.get(id) : undefined;
    return id && answer ? { id, answer } : null;
  }
}

function allowedMethods(spec: RouteSpec): string[] {
  return spec.methods.includes('GET') ? [...spec.methods, 'HEAD'] : [...spec.methods];
}

async function readBody(ctx: Koa.Context, kind: BodyKind): Promise<Body | string> {
  if (kind === 'none' || kind === 'upload') return {};
  if (kind === 'json' || kind === 'form') return readJsonBody(ctx);
  if (!ctx.is(kind.raw)) throw new AppError(415, `unsupported Content-Type "${ctx.get('content-type')}": send ${kind.raw}`);
  return readRawBody(ctx, kind.limit);
}

/** Runs the route's auth rule; false when the guard answered (redirected) itself. */
async function admit(auth: AuthRule, ctx: Koa.Context, body: Body | string, guards: Guards): Promise<boolean> {
  if (auth.kind === 'public' || auth.kind === 'engine') return true;
  // Guards read credentials from a parsed body (a token, the CSRF field); a raw body carries none.
  return guards[auth.kind](ctx, typeof body === 'string' ? {} : body);
}

function routeLayer(spec: RouteSpec, handler: unknown, guards: Guards): Koa.Middleware {
  const methods = allowedMethods(spec);
  return async (ctx, next) => {
    if (!methods.includes(ctx.method)) {
      throw new AppError(405, `method ${ctx.method} not allowed: use ${spec.methods.join(' or ')}`);
    }
    // Body first, then the credential: a token may travel in the body. An upload's body is not read here,
    // so its credential (headers only) is checked before a byte of it is.
    const body = await readBody(ctx, spec.body);
    if (!(await admit(spec.auth, ctx, body, guards))) return;
    if (spec.answer === 'api') {
      const data = await (handler as ApiHandler)({ ctx, body: body as Body });
      // A handler that answered itself (a file, or its HEAD: headers and no body) keeps its answer.
      if ((ctx.body === undefined || ctx.body === null) && !ctx.response.get('Content-Type')) sendJson(ctx, 200, envelope(data));
    } else if (spec.answer === 'form') {
      await answerForm(ctx, body as Body, handler as FormHandler);
    } else {
      await (handler as DirectHandler<Body | string>)({ ctx, body, next });
    }
  };
}

/**
 * Post/redirect/get: back to the form's page with a notice, or with the error when the user can fix it.
 * A form that names its place on the page (`_errorAt`, an element id) gets the error shown there
 * instead of at the top: a page with many similar forms must say which one failed.
 */
async function answerForm(ctx: Koa.Context, form: Body, handler: FormHandler): Promise<void> {
  const back = safeBack(typeof form._back === 'string' ? form._back : '/mgmt');
  try {
    const notice = (await handler(ctx, form)) ?? 'notice.saved';
    if (!ctx.body) ctx.redirect(withParam(back, 'notice', notice));
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500) throw err;
    const withError = withParam(back, 'error', errorMessage(err));
    ctx.redirect(
      typeof form._errorAt === 'string' && form._errorAt ? `${withError}&errorAt=${encodeURIComponent(form._errorAt)}` : withError,
    );
  }
}

function fileTree(spec: RouteSpec, tree: FileTree, guards: Guards): Koa.Middleware {
  const serve = mountStatic(spec.path, tree.root, tree.options);
  const below = spec.path.endsWith('/') ? spec.path : `${spec.path}/`;
  return async (ctx, next) => {
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.path.startsWith(below) && !(await admit(spec.auth, ctx, {}, guards))) return;
    await serve(ctx, next);
  };
}
