// The route table and its binder: binding refuses ids the table lacks, installing refuses entries
// without a handler, and each route gets the methods, body, auth and answer its entry declares.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import { ValidationError } from '../../server/core/errors.js';
import { API_PREFIX, errorHandler } from '../../server/core/http.js';
import {
  RouteBinder,
  RouteTableError,
  SECURED,
  SESSION,
  SESSION_PAGE,
  apiRoute,
  directRoute,
  fileRoute,
  formRoute,
  getRoute,
  open,
  routeKey,
  type Guards,
  type Handlers,
  type RouteTable,
} from '../../server/core/routing.js';
import { ROUTES, ROUTE_TABLE } from '../../server/route-table.js';

describe('route table', () => {
  it('gives every route anonymous callers reach a reason', () => {
    for (const route of ROUTES) {
      if (route.auth.kind === 'public' || route.auth.kind === 'engine') assert.ok(route.auth.why.trim().length > 10, route.id);
    }
  });

  it('never declares one method and path twice (the second entry could never answer)', () => {
    const seen = new Map<string, string>();
    for (const route of ROUTES) {
      for (const method of route.methods) {
        // koa-router matches `/a/` with `/a` (it is not strict about a trailing slash).
        const key = `${route.answer === 'files' ? 'files' : method} ${route.path.replace(/(.)\/$/, '$1')}`;
        assert.equal(seen.get(key), undefined, `${route.id} repeats ${key} of ${seen.get(key)}`);
        seen.set(key, route.id);
      }
    }
  });

  it('keeps the API under its prefix, and console forms on POST behind the session', () => {
    for (const route of ROUTES) {
      assert.equal(route.answer === 'api', route.path.startsWith(`${API_PREFIX}/`), route.id);
      if (route.answer === 'form') {
        assert.deepEqual([route.methods, route.auth.kind], [['POST'], 'session'], route.id);
      }
    }
  });

  it('places the media routes, which match any /{a}/{b}, after every specific route', () => {
    const firstMedia = ROUTES.findIndex((r) => r.path.startsWith('/:'));
    assert.ok(firstMedia > 0, 'the media routes are in the table');
    const after = ROUTES.slice(firstMedia).filter((r) => !r.path.startsWith('/:') && r.path !== '/');
    assert.deepEqual(
      after.map((r) => r.id),
      [],
    );
  });
});

const TEST_TABLE = {
  'probe.version': apiRoute('/version', open('a probe for the test')),
  'probe.secret': apiRoute('/secret', SECURED),
  'probe.upload': apiRoute('/upload/:name', SECURED, 'upload'),
  'probe.page': getRoute('/page', SESSION_PAGE),
  'probe.form': formRoute('/form'),
  // WHIP's shape: one path, a body kind per method.
  'probe.whip': directRoute(['POST'], '/whip/:id', open('a WHIP-like route for the test'), { raw: 'application/sdp', limit: 1024 }),
  'probe.whipStop': directRoute(['DELETE'], '/whip/:id', open('a WHIP-like route for the test'), 'none'),
  'probe.files': fileRoute('/files', SESSION),
} satisfies RouteTable;

describe('route binder', () => {
  it('refuses to bind an id the table does not have', () => {
    const routes = new RouteBinder(TEST_TABLE);
    // @ts-expect-error a route id that is not in the table does not compile
    assert.throws(() => routes.bind({ 'probe.versoin': () => 1 }), RouteTableError);
    const fromElsewhere = { 'probe.version': () => 1, 'probe.nope': () => 2 };
    // @ts-expect-error nor does one in an object built elsewhere
    assert.throws(() => routes.bind(fromElsewhere), /cannot bind "probe\.nope": the route table has no such route/);
  });

  it('refuses to bind one route twice', () => {
    const routes = new RouteBinder(TEST_TABLE);
    routes.bind({ 'probe.version': () => 1 });
    assert.throws(() => routes.bind({ 'probe.version': () => 2 }), /route "probe\.version" is bound twice/);
  });

  it('refuses to install a table with an entry nothing was bound to, and names it', () => {
    const routes = new RouteBinder(TEST_TABLE);
    const { 'probe.whipStop': _left, ...rest } = allHandlers();
    routes.bind(rest);
    assert.deepEqual(routes.unbound(), ['probe.whipStop']);
    const koa = new Koa();
    assert.throws(() => routes.install(koa, refuseAll), /route table entries without a handler: probe\.whipStop$/);
    assert.equal(koa.middleware.length, 0, 'nothing was installed');
  });

  it("refuses to install the stack's own table with nothing bound", () => {
    const routes = new RouteBinder(ROUTE_TABLE);
    assert.equal(routes.unbound().length, ROUTES.length);
    assert.throws(() => routes.install(new Koa(), refuseAll), RouteTableError);
  });
});

describe('installed routes', () => {
  let server: http.Server;
  let base: string;
  const seen: { guardBodies: unknown[]; sdp: string[]; uploads: string[] } = { guardBodies: [], sdp: [], uploads: [] };
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'routing-'));
  fs.writeFileSync(path.join(files, 'a.txt'), 'file a');

  before(async () => {
    const routes = new RouteBinder(TEST_TABLE);
    routes.bind(allHandlers(seen, files));
    const koa = new Koa();
    koa.use(errorHandler((ctx, status, message) => ((ctx.status = status), (ctx.body = message))));
    const pass = async (ctx: Koa.Context, body: Record<string, unknown>) => {
      // What the guard saw: the parsed body, and whether the request body had been read at all.
      seen.guardBodies.push({ body, bodyRead: ctx.req.readableDidRead });
      if (ctx.get('x-pass') !== 'yes') throw new ValidationError('guard refused');
      return true;
    };
    routes.install(koa, {
      secured: pass,
      session: pass,
      'session-page': async (ctx) => {
        if (ctx.get('x-pass') === 'yes') return true;
        ctx.redirect('/login');
        return false;
      },
    });
    server = http.createServer(koa.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(() => {
    server?.close();
    fs.rmSync(files, { recursive: true, force: true });
  });

  it('answers the API on GET, POST and HEAD in the envelope, and 405 in JSON otherwise', async () => {
    for (const method of ['GET', 'POST']) {
      const res = await fetch(`${base}${API_PREFIX}/version`, { method });
      assert.equal(res.status, 200, method);
      assert.deepEqual(((await res.json()) as { data: unknown }).data, { version: 1 });
    }
    assert.equal((await fetch(`${base}${API_PREFIX}/version`, { method: 'HEAD' })).status, 200);
    const put = await fetch(`${base}${API_PREFIX}/version`, { method: 'PUT' });
    assert.equal(put.status, 405);
    assert.match(await put.text(), /method PUT not allowed: use GET or POST/);
  });

  it('checks the credential after reading a JSON body (a token may travel in it), before reading an upload', async () => {
    seen.guardBodies.length = 0;
    const refused = await fetch(`${base}${API_PREFIX}/secret`, { method: 'POST', body: '{"token":"t"}' });
    assert.equal(refused.status, 400);
    const upload = await fetch(`${base}${API_PREFIX}/upload/x`, { method: 'POST', headers: { 'x-pass': 'yes' }, body: '{"token":"t"}' });
    assert.equal(upload.status, 200);
    assert.deepEqual(seen.guardBodies, [
      { body: { token: 't' }, bodyRead: true },
      { body: {}, bodyRead: false },
    ]);
    assert.deepEqual(seen.uploads, ['{"token":"t"}'], 'the handler read the whole upload itself');
  });

  it('hands a raw body to its handler as text, of its media type only, per method', async () => {
    const sdp = 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n';
    const created = await fetch(`${base}/whip/s1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: sdp });
    assert.equal(created.status, 201);
    assert.deepEqual(seen.sdp, [sdp]);
    assert.equal(
      (await fetch(`${base}/whip/s1`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status,
      415,
    );
    assert.equal(
      (await fetch(`${base}/whip/s1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'x'.repeat(2000) })).status,
      413,
    );
    assert.equal((await fetch(`${base}/whip/s1`, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${base}/whip/s1`, { method: 'PATCH' })).status, 405, 'a method no entry declares');
  });

  it('redirects a form back with its notice, or with the error the user can fix', async () => {
    const post = (body: string) =>
      fetch(`${base}/form`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'x-pass': 'yes' },
        body,
        redirect: 'manual',
      });
    const saved = await post('_back=/page%3Ftab%3Dx');
    assert.equal(saved.status, 302);
    assert.equal(saved.headers.get('location'), '/page?tab=x&notice=probe.saved');
    const failed = await post('fail=1&_back=//evil.example');
    assert.equal(failed.headers.get('location'), '/mgmt?error=fail+as+asked');
    // A form among many alike names its place, so the page shows the error there.
    const placed = await post('fail=1&_errorAt=slot-wx&_back=/page%3Ftab%3Dx%26error%3Dold%26errorAt%3Dslot-old');
    assert.equal(placed.headers.get('location'), '/page?tab=x&error=fail+as+asked&errorAt=slot-wx');
    assert.equal((await post('_back=/page%3Ferror%3Dold%26errorAt%3Dslot-old')).headers.get('location'), '/page?notice=probe.saved');
    assert.equal((await fetch(`${base}/form`, { method: 'GET' })).status, 405);
  });

  it('lets a page guard answer for the handler', async () => {
    const anonymous = await fetch(`${base}/page`, { redirect: 'manual' });
    assert.equal(anonymous.status, 302);
    assert.equal(anonymous.headers.get('location'), '/login');
    assert.equal(await (await fetch(`${base}/page`, { headers: { 'x-pass': 'yes' } })).text(), 'the page');
  });

  it('serves a file tree behind its auth rule', async () => {
    assert.equal((await fetch(`${base}/files/a.txt`)).status, 400);
    assert.equal(await (await fetch(`${base}/files/a.txt`, { headers: { 'x-pass': 'yes' } })).text(), 'file a');
  });

  it('names each route by its methods and path for reviews', () => {
    assert.equal(routeKey(TEST_TABLE['probe.version']), `GET|POST ${API_PREFIX}/version`);
    assert.equal(routeKey(TEST_TABLE['probe.files']), 'GET /files/*');
  });
});

const refuseAll: Guards = {
  secured: async () => false,
  session: async () => false,
  'session-page': async () => false,
};

function allHandlers(seen = { guardBodies: [] as unknown[], sdp: [] as string[], uploads: [] as string[] }, files = os.tmpdir()) {
  return {
    'probe.version': () => ({ version: 1 }),
    'probe.secret': () => 'secret',
    'probe.upload': async ({ ctx }) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
      seen.uploads.push(Buffer.concat(chunks).toString());
      return null;
    },
    'probe.page': ({ ctx }) => {
      ctx.body = 'the page';
    },
    'probe.form': async (_ctx, form) => {
      if (form.fail) throw new ValidationError('fail as asked');
      return 'probe.saved';
    },
    'probe.whip': ({ ctx, body }) => {
      seen.sdp.push(body);
      ctx.status = 201;
      ctx.body = body;
    },
    'probe.whipStop': ({ ctx }) => {
      ctx.status = 204;
    },
    'probe.files': { root: files },
  } satisfies Handlers<typeof TEST_TABLE>;
}

const FAST_TABLE = {
  'fast.specific': getRoute('/mgmt/:page', open('a specific route placed before the media route, for the test')),
  'fast.files': fileRoute('/static', open('a file tree, for the test')),
  'fast.media': getRoute('/:app/:file', open('a media route with a fast answer, for the test')),
  'fast.api': apiRoute('/probe', SECURED),
} satisfies RouteTable;

describe('the fast lane', () => {
  let server: http.Server;
  let base: string;
  const lanes: string[] = [];
  const files = fs.mkdtempSync(path.join(os.tmpdir(), 'fast-lane-'));
  fs.writeFileSync(path.join(files, 'x.m3u8'), 'static file');

  before(async () => {
    const routes = new RouteBinder(FAST_TABLE);
    routes.bind({
      'fast.specific': ({ ctx }) => {
        lanes.push(`koa specific ${ctx.path}`);
        ctx.body = 'specific';
      },
      'fast.files': { root: files },
      'fast.media': ({ ctx }) => {
        lanes.push(`koa media ${ctx.path}`);
        ctx.body = 'koa';
      },
      'fast.api': () => 'api',
    });
    routes.bindFast('fast.media', async (req, res, urlPath, query, headers) => {
      if (query.get('decline') === 'yes') return false;
      if (query.get('fail') === 'yes') throw new Error('failed before writing');
      lanes.push(`fast media ${urlPath}`);
      res.writeHead(200, { ...headers, 'Content-Type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : 'fast');
      return true;
    });
    const koa = new Koa();
    routes.install(koa, refuseAll);
    server = http.createServer(routes.listener(koa, { 'X-Common': 'yes' }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });

  after(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (lanes.length = 0));

  it("answers a GET of a fast route's path without Koa, with the common headers", async () => {
    const res = await fetch(`${base}/live/a.m3u8?hls_ctx=1`);
    assert.deepEqual([res.status, await res.text(), res.headers.get('x-common')], [200, 'fast', 'yes']);
    assert.deepEqual(lanes, ['fast media /live/a.m3u8']);
  });

  it('leaves to Koa what the fast answer declines or fails before writing, and every other method', async () => {
    assert.equal(await (await fetch(`${base}/live/a.m3u8?decline=yes`)).text(), 'koa');
    assert.equal(await (await fetch(`${base}/live/a.m3u8?fail=yes`)).text(), 'koa');
    assert.equal((await fetch(`${base}/live/a.m3u8`, { method: 'POST' })).status, 405);
    assert.deepEqual(lanes, ['koa media /live/a.m3u8', 'koa media /live/a.m3u8']);
  });

  it('never takes a path an earlier route or a file tree answers, as Koa would not give it to the fast route', async () => {
    assert.equal(await (await fetch(`${base}/mgmt/a.m3u8`)).text(), 'specific');
    assert.equal(await (await fetch(`${base}/static/x.m3u8`)).text(), 'static file');
    assert.deepEqual(lanes, ['koa specific /mgmt/a.m3u8']);
  });

  it('refuses a fast answer for a route that is not a public GET', () => {
    const routes = new RouteBinder(FAST_TABLE);
    assert.throws(() => routes.bindFast('fast.api', () => false), /only public GET routes can/);
  });
});
