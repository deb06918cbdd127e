import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { AppError } from '../../server/core/errors.js';
import { EventHub, type StreamInfo } from '../../server/core/events.js';
import { KEYS } from '../../server/core/keys.js';
import { CallbackService } from '../../server/features/callback/service.js';
import { CallbackStore } from '../../server/features/callback/store.js';
import { ROUTES } from '../../server/route-table.js';
import { startInProcess, type InProcessStack } from '../helpers/in-process.js';
import { sleep, waitFor } from '../helpers/stack.js';

interface Received {
  path: string;
  body: Record<string, unknown>;
}

/** A real HTTP receiver: /ok accepts, /fail answers 500, /code1 answers code 1, /hang never answers, /flaky fails twice. */
async function startReceiver() {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  let flaky = 0;
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(text || '{}') });
      const path = (req.url ?? '').split('?')[0];
      if (path === '/ok') res.end('{"code":0}');
      else if (path === '/zero') res.end('0');
      else if (path === '/code1') res.end('{"code":1,"msg":"not this one"}');
      else if (path === '/hang') hanging.add(res);
      else if (path === '/flaky') res.writeHead(++flaky <= 2 ? 503 : 200).end(flaky <= 2 ? 'busy' : '{"code":0}');
      else res.writeHead(500).end('{"code":500,"msg":"denied by receiver"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const stream: StreamInfo = {
  vhost: '__defaultVhost__',
  app: 'live',
  stream: 'livestream',
  param: '?secret=s3cr3t',
  update: new Date().toISOString(),
};

describe('callbacks: SRS Stack HTTP callbacks over the event contract (in-process stack, real receiver)', function () {
  this.timeout(60_000);
  let stack: InProcessStack;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let bearer: string;
  let cookie: string;
  const apply = (body: Record<string, unknown>) => stack.api('/terraform/v1/mgmt/hooks/apply', body, { bearer });
  const query = async () => (await stack.api('/terraform/v1/mgmt/hooks/query', {}, { bearer })).json.data as Record<string, unknown>;
  const publish = () => stack.app.callbacks.onPublish(stream);

  before(async () => {
    stack = await startInProcess();
    ({ bearer, cookie } = await stack.init());
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver?.stop();
    await stack?.stop();
  });

  it('stores target, opaque, all and the host for artifact URLs (hooks/apply, hooks/query)', async () => {
    assert.equal((await apply({ all: true, target: receiver.url('/ok'), opaque: 'tok' })).status, 200);
    const q = await query();
    assert.equal(q.target, receiver.url('/ok'));
    assert.equal(q.opaque, 'tok');
    assert.equal(q.all, true);
    assert.equal(q.host, stack.url, 'defaults to the origin the request came to');
    assert.equal((await apply({ all: 'maybe' })).status, 400);
    assert.equal((await apply({ target: 'ftp://x/' })).status, 400);
    assert.equal((await apply({ target: receiver.url('/ok'), host: 'http://h/path' })).status, 400);
    assert.equal((await stack.api('/terraform/v1/mgmt/hooks/apply', { target: 'x' })).status, 401);
  });

  it('sends on_publish with SRS Stack’s fields and lets the stream in when the receiver accepts', async () => {
    await apply({ all: true, target: receiver.url('/ok'), opaque: 'tok' });
    receiver.received.length = 0;
    await publish();
    assert.equal(receiver.received.length, 1);
    const { request_id, ...rest } = receiver.received[0]?.body ?? {};
    assert.match(String(request_id), /^[0-9a-f-]{36}$/);
    assert.deepEqual(rest, {
      action: 'on_publish',
      opaque: 'tok',
      vhost: '__defaultVhost__',
      app: 'live',
      stream: 'livestream',
      param: '?secret=s3cr3t',
    });
    const q = await query();
    assert.equal(JSON.parse(String(q.req)).request_id, request_id, 'the last request is kept');
    assert.equal(q.res, '{"code":0}', 'and the last answer');
    await apply({ all: true, target: receiver.url('/zero'), opaque: 'tok' });
    await publish();
  });

  it('rejects the publish when the receiver answers an error, or code ≠ 0', async () => {
    for (const [path, why] of [
      ['/fail', /answered HTTP 500 .*denied by receiver/],
      ['/code1', /answered HTTP 200 .*not this one/],
    ] as const) {
      await apply({ all: true, target: receiver.url(path), opaque: 'tok' });
      await assert.rejects(publish(), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.status, 403);
        assert.match(err.message, /publish of live\/livestream rejected by the HTTP callback/);
        assert.match(err.message, why);
        return true;
      });
    }
  });

  it('sends nothing while "all events" is off', async () => {
    await apply({ all: false, target: receiver.url('/fail') });
    receiver.received.length = 0;
    await publish();
    await stack.app.events.emit('stream.unpublished', stream);
    // Turned on again, the next notification goes out: one sent while off would have been sent
    // before it, so once it has arrived, that one would have arrived too.
    await apply({ all: true, target: receiver.url('/ok') });
    await stack.app.events.emit('stream.unpublished', stream);
    await waitFor(() => receiver.received.length > 0, 5000);
    assert.deepEqual(
      receiver.received.map((r) => `${r.path} ${String(r.body.action)}`),
      ['/ok on_unpublish'],
    );
  });

  it('fails on_publish closed when the receiver never answers, within the deadline', async () => {
    await apply({ all: true, target: receiver.url('/hang'), opaque: 'tok' });
    await assert.rejects(publish(), /rejected by the HTTP callback .*no answer: no answer within 5000 ms/);
    // The exchange is recorded just after the publish is answered (callback/service.ts, remember).
    await waitFor(
      async () => /no answer within 5000 ms/.test(String((await query()).res)),
      2000,
      async () => `the recorded answer, now ${String((await query()).res)}`,
    );
  });

  it('does not hold the emitter for notifications, even for a receiver that never answers', async () => {
    await apply({ all: true, target: receiver.url('/hang'), opaque: 'tok' });
    receiver.received.length = 0;
    await stack.app.events.emit('stream.unpublished', stream);
    assert.equal(receiver.received.length, 0, 'emit returned before the receiver even saw the request');
    await waitFor(() => receiver.received.length === 1, 5000);
    assert.deepEqual(Object.keys(receiver.received[0]?.body ?? {}).sort(), ['action', 'app', 'opaque', 'request_id', 'stream', 'vhost']);
  });

  it('sends on_record_begin and on_record_end with the MP4 path and a URL built from the stored host', async () => {
    await apply({ all: true, target: receiver.url('/ok'), opaque: 'rec', host: 'https://live.example.com/' });
    receiver.received.length = 0;
    const record = { vhost: '__defaultVhost__', app: 'live', stream: 'livestream', uuid: 'b6d5c1f2' };
    await stack.app.events.emit('record.begin', record);
    await stack.app.events.emit('record.end', { ...record, artifact_code: 0, artifact_path: `${stack.dataDir}/record/b6d5c1f2/index.mp4` });
    await waitFor(() => receiver.received.length === 2, 5000);
    const byAction = Object.fromEntries(receiver.received.map((r) => [r.body.action, r.body]));
    assert.equal(byAction.on_record_begin?.uuid, 'b6d5c1f2');
    const end = byAction.on_record_end ?? {};
    assert.equal(end.artifact_code, 0);
    assert.equal(end.artifact_path, `${stack.dataDir}/record/b6d5c1f2/index.mp4`);
    assert.equal(end.artifact_url, 'https://live.example.com/terraform/v1/hooks/record/hls/b6d5c1f2/index.mp4');
    assert.equal(end.opaque, 'rec');
  });

  it('accepts the stack’s own example receiver as target without deadlock, and its ?fail=true rejects', async () => {
    assert.equal((await apply({ all: true, target: `${stack.url}/terraform/v1/mgmt/hooks/example?fail=false` })).status, 200);
    await publish();
    await apply({ all: true, target: `https://127.0.0.1:${stack.ports.https}/terraform/v1/mgmt/hooks/example?fail=true`, opaque: 'o' });
    await assert.rejects(publish(), /fail as required, action=on_publish, opaque=o/);
  });

  it('refuses a target that is the stack’s own API, and keeps the previous settings', async () => {
    const before = await query();
    for (const target of [`${stack.url}/terraform/v1/mgmt/hooks/apply`, `http://localhost:${stack.ports.http}/mgmt/system`]) {
      const res = await apply({ all: true, target });
      assert.equal(res.status, 400, target);
      assert.match(res.json.message ?? '', /is this stack itself/);
    }
    assert.equal((await query()).target, before.target);
  });

  it('breaks a loop that got past the check (a self target written into Redis by hand)', async () => {
    const self = `${stack.url}/terraform/v1/mgmt/hooks/apply`;
    await stack.app.redis.redis.hset(KEYS.HOOKS, { target: self, all: 'true' });
    // The settings are kept in memory (core/cached-read.ts): a change behind the stack's back applies within seconds.
    let refusal = '';
    await waitFor(
      async () => {
        refusal = await publish().then(
          () => '',
          (err: unknown) => (err as Error).message,
        );
        return /answered HTTP 508 .*callback loop/.test(refusal);
      },
      10_000,
      () => `the hand-written target to apply: ${refusal || 'accepted'}`,
    );
    // Only this process's marker trips the guard: the same header from another stack is normal traffic.
    const other = await stack.api('/terraform/v1/mgmt/versions', {}, { headers: { 'x-srs-stack-callback': 'another-stack' } });
    assert.equal(other.status, 200);
    await apply({ all: false, target: receiver.url('/ok') });
  });

  it('keeps the example receiver open, as SRS Stack does', async () => {
    assert.equal((await stack.api('/terraform/v1/mgmt/hooks/example', { action: 'on_publish' })).status, 200);
    const fail = await stack.api('/terraform/v1/mgmt/hooks/example?fail=1', { action: 'on_unpublish', opaque: 'x' });
    assert.equal(fail.status, 400);
    assert.equal(fail.json.message, 'fail as required, action=on_unpublish, opaque=x');
  });

  it('shows the settings and the last exchange, secrets masked, in System › Callback', async () => {
    await apply({ all: true, target: receiver.url('/ok'), opaque: 'tok' });
    await publish();
    const html = await (await fetch(`${stack.url}/mgmt/system?tab=callback`, { headers: { cookie } })).text();
    assert.match(html, /id="hook-state">Active</);
    assert.match(html, /&#34;action&#34;: &#34;on_publish&#34;|&quot;action&quot;: &quot;on_publish&quot;/);
    assert.ok(!html.includes('s3cr3t'), 'the publish secret is masked');
    assert.match(html, /secret=\*\*\*\*\*\*/);
  });

  it('lists every registered API endpoint, grouped by scenario, in System › OpenAPI', async () => {
    const html = await (await fetch(`${stack.url}/mgmt/system?tab=api`, { headers: { cookie } })).text();
    const api = ROUTES.filter((r) => r.answer === 'api');
    assert.ok(api.length > 20);
    for (const r of api) assert.ok(html.includes(`GET|POST ${r.path}<`), r.path);
    for (const group of ['callback', 'https', 'record']) assert.ok(html.includes(`id="api-group-${group}"`), group);
  });

  it('shows the installed certificate in System › HTTPS', async () => {
    const html = await (await fetch(`${stack.url}/mgmt/system?tab=https`, { headers: { cookie } })).text();
    assert.match(html, /id="cert-subject">CN=srs\.stack\.local</);
    assert.match(html, /id="cert-sans">srs\.stack\.local</);
    assert.match(html, /data-progress="\/terraform\/v1\/mgmt\/letsencrypt\/status"/);
  });
});

describe('callbacks: notifications are retried with a bounded backoff (real Redis, real receiver)', function () {
  this.timeout(30_000);
  let stack: InProcessStack;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let service: CallbackService;
  const events = new EventHub();

  before(async () => {
    stack = await startInProcess();
    receiver = await startReceiver();
    // Short timings, same code: the defaults (5 s, 1 s → 10 s) are what the stack runs with.
    service = new CallbackService(new CallbackStore(stack.app.redis), '/data/record', [stack.ports.http], {
      timeoutMs: 500,
      retries: 2,
      retryInitialMs: 50,
      retryMaxMs: 100,
      maxPending: 10,
    });
    service.listen(events);
  });
  after(async () => {
    await service?.stop();
    await receiver?.stop();
    await stack?.stop();
  });

  it('retries a failing receiver and delivers the same request once it recovers', async () => {
    await service.apply({ target: receiver.url('/flaky'), opaque: '', all: true, host: '' }, stack.url);
    await events.emit('stream.unpublished', stream);
    await waitFor(() => receiver.received.length === 3, 5000);
    const ids = new Set(receiver.received.map((r) => r.body.request_id));
    assert.equal(ids.size, 1, 'one request, three attempts');
    await waitFor(
      async () => (await service.query()).res === '{"code":0}',
      2000,
      async () => `the recorded answer, now ${(await service.query()).res}`,
    );
  });

  it('gives up after the bounded number of attempts', async () => {
    receiver.received.length = 0;
    await service.apply({ target: receiver.url('/fail'), opaque: '', all: true, host: '' }, stack.url);
    await events.emit('record.begin', { vhost: 'v', app: 'live', stream: 's', uuid: 'u' });
    await waitFor(() => receiver.received.length === 3, 5000);
    // Lets time pass on purpose, to show that nothing more comes: a fourth attempt would have come
    // within the longest backoff; this waits five of them.
    await sleep(5 * service.timing.retryMaxMs);
    assert.equal(receiver.received.length, 3, '1 attempt + 2 retries, then nothing more');
  });

  it('never retries on_publish: the publisher is waiting', async () => {
    receiver.received.length = 0;
    await assert.rejects(service.onPublish(stream), /HTTP 500/);
    // Lets time pass on purpose, to show that no retry comes: a first retry would have come after
    // the initial backoff; this waits six of them.
    await sleep(6 * service.timing.retryInitialMs);
    assert.equal(receiver.received.length, 1);
  });
});
