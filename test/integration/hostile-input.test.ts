// Property-based hostile input: random and malformed bodies on every JSON endpoint (authenticated,
// so validation is really reached) → never a 500, never a crash, and Redis untouched on rejection.
import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { ROUTES } from '../../server/route-table.js';
import { initAdmin, isAlive, startStack, type StackHandle } from '../helpers/stack.js';

const FIELDS = [
  'password',
  'token',
  'secret',
  'publish',
  'pubNoAuth',
  'uuid',
  'platform',
  'server',
  'stream',
  'app',
  'vhost',
  'url',
  'file',
  'files',
  'globs',
  'all',
  'enabled',
  'custom',
  'label',
  'action',
  'domain',
  'key',
  'crt',
  'target',
  'opaque',
  'host',
  'beian',
  'text',
  'vlive',
  'camera',
  'locale',
  'hlsLowLatency',
  'noHlsCtx',
  'postProcess',
  'postCpDir',
  'title',
  'vbitrate',
  'achannels',
];

/** Bodies that are syntactically broken, of the wrong shape, or objects with plausible fields of any type. */
const hostileBody = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => `{${s}`),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .dictionary(
      fc.constantFrom(...FIELDS),
      fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 300 }), fc.constant('../../../etc/passwd')),
      { maxKeys: 6 },
    )
    .map((o) => JSON.stringify(o)),
);

/** Keys whose change is a side effect of any request, not of the rejected one. */
const VOLATILE = new Set(['SRS_STAT_COUNTER', 'SRS_LOCALE']);

async function snapshot(redis: Redis): Promise<string> {
  const keys = (await redis.keys('*')).filter((k) => !VOLATILE.has(k)).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    const value = type === 'hash' ? await redis.hgetall(key) : type === 'string' ? await redis.get(key) : type;
    parts.push(`${key}=${JSON.stringify(value)}`);
  }
  return parts.join('\n');
}

describe('hostile input on every JSON endpoint', function () {
  this.timeout(300_000);
  let stack: StackHandle;
  let bearer: string;
  let redis: Redis;

  before(async () => {
    // An unreachable ACME directory makes a random but valid domain fail fast instead of hanging.
    stack = await startStack({ env: { ACME_DIRECTORY_URL: 'http://127.0.0.1:9/directory' } });
    bearer = await initAdmin(stack);
    redis = new Redis({ path: path.join(stack.dataDir, 'redis', 'redis.sock') });
  });
  after(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  it('answers 4xx or 2xx, never 500, and rejections leave Redis unchanged', async () => {
    const routes = ROUTES.filter((r) => r.answer === 'api').map((r) => r.path.replace(/:([A-Za-z_]+)(\([^)]*\))?/g, 'x'));
    assert.ok(routes.length > 10);
    let requests = 0;
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(hostileBody, async (body) => {
          const before = await snapshot(redis);
          const res = await fetch(`${stack.url}${route}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` },
            body,
          });
          const text = await res.text();
          requests += 1;
          assert.notEqual(res.status, 500, `${route} ${body} → 500 ${text}`);
          assert.ok(res.status < 500 || res.status === 502 || res.status === 504, `${route} ${body} → ${res.status} ${text}`);
          if (res.status >= 400) {
            const json = JSON.parse(text) as { message?: string };
            assert.ok(json.message, `${route}: an error says why`);
            assert.equal(await snapshot(redis), before, `${route} ${body} was rejected (${res.status}) but changed Redis`);
          }
        }),
        { numRuns: Number(process.env.HOSTILE_RUNS ?? 15), seed: Number(process.env.HOSTILE_SEED ?? 20261125) },
      );
    }
    assert.ok(isAlive(stack.proc.pid as number), 'the stack survived');
    assert.equal((await stack.api('/terraform/v1/mgmt/check')).status, 200);
    assert.ok(requests >= routes.length * 10);
  });
});
