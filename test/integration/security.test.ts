// Security sweep: every registered route refuses anonymous callers except a reviewed allow-list,
// and console pages carry sensible headers. New routes are covered automatically: the table comes
// from the composition root itself.
import assert from 'node:assert/strict';
import { App } from '../../server/app.js';
import { buildConfig } from '../../server/config.js';
import { initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

/** Reviewed: each open route and why anonymous access is right. Adding one means reviewing it here. */
const ALLOWED_OPEN: Record<string, string> = {
  '/terraform/v1/mgmt/versions': 'health probe',
  '/terraform/v1/host/versions': 'health probe (SRS Stack path)',
  '/terraform/v1/ffmpeg/versions': 'health probe (SRS Stack path)',
  '/terraform/v1/hooks/versions': 'health probe (SRS Stack path)',
  '/terraform/v1/tencent/versions': 'health probe (SRS Stack path)',
  '/terraform/v1/mgmt/check': 'readiness probe polled by the login page',
  '/terraform/v1/mgmt/envs': 'display ports and slot counts, no secrets',
  '/terraform/v1/mgmt/beian/query': 'site title and footer shown on the public login page',
  '/terraform/v1/mgmt/init': 'first-run setup; refuses once a password exists',
  '/terraform/v1/mgmt/login': 'login; throttled per client',
  '/terraform/v1/hooks/srs/verify': "the media engine's callback; refused (403) without the engine's per-boot token",
  '/:app/:stream.flv': 'HTTP-FLV playback, public like every play URL of SRS Stack',
  '/tools/player.html': 'the standalone player page; it plays public play URLs',
  '/terraform/v1/mgmt/hooks/example': 'built-in callback test target (SRS Stack keeps it open); it only echoes success or failure',
  '/terraform/v1/hooks/record/hls/:uuid.m3u8': 'record preview for players (no Bearer); the record UUID is the capability',
  '/terraform/v1/hooks/record/hls/:uuid/index.m3u8': 'record preview for players (no Bearer); the record UUID is the capability',
  '/terraform/v1/hooks/record/hls/record/:uuid/:tsid.ts': 'record preview segments for players; UUIDs are the capability',
  '/terraform/v1/hooks/record/hls/:uuid/index.mp4': 'finished record for players and downloads (Range); the UUID is the capability',
};

function routeTable(): Array<{ path: string; auth: string; method?: string }> {
  const app = new App(buildConfig({ DATA_DIR: tempDir('routes-') }), '0.0.0');
  return app.routes;
}

/** Fills route parameters (`:uuid`) with harmless values. */
function concrete(path: string): string {
  return path.replace(/:([A-Za-z_]+)(\([^)]*\))?/g, 'x');
}

describe('security sweep', function () {
  this.timeout(60_000);
  let stack: StackHandle;
  let bearer: string;

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
  });
  after(async () => stack?.stop());

  it('the set of open routes is exactly the reviewed allow-list', () => {
    const open = routeTable()
      .filter((r) => r.auth === 'public')
      .map((r) => r.path)
      .sort();
    assert.deepEqual(open, Object.keys(ALLOWED_OPEN).sort());
  });

  it('every secured route answers 401 to anonymous and wrong-token callers', async () => {
    const secured = routeTable().filter((r) => r.auth === 'secured');
    assert.ok(secured.length >= 8, `only ${secured.length} secured routes found`);
    for (const route of secured) {
      const url = `${stack.url}${concrete(route.path)}`;
      // Console forms and the API take POST; pages and /metrics are GET only.
      const method = route.method ?? 'POST';
      const body = method === 'GET' ? undefined : '{}';
      const attempts: Array<Record<string, string>> = [
        {},
        { Authorization: 'Bearer srs-v2-00000000000000000000000000000000' },
        { Authorization: 'Bearer' },
      ];
      for (const headers of attempts) {
        const res = await fetch(url, { method, headers: { 'Content-Type': 'application/json', ...headers }, body });
        assert.equal(res.status, 401, `${route.path} with ${JSON.stringify(headers)}`);
      }
      if (method === 'POST') {
        const withBadToken = await fetch(url, { method, headers: { 'Content-Type': 'application/json' }, body: '{"token":"x.y.z"}' });
        assert.equal(withBadToken.status, 401, `${route.path} with a forged token`);
      }
    }
  });

  it('serves metrics only with the API secret', async () => {
    assert.equal((await fetch(`${stack.url}/metrics`)).status, 401);
    const scrape = async () => {
      const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
      assert.equal(res.status, 200);
      return res.text();
    };
    // The supervisor marks redis ready on its next readiness poll, a moment after the API answers.
    await waitFor(async () => /^srs_stack_child_up\{name="redis"\} 1$/m.test(await scrape()), 5000);
    const text = await scrape();
    assert.match(text, /^srs_stack_child_up\{name="redis"\} 1$/m);
    assert.match(text, /^srs_stack_child_restarts_total\{name="redis"\} 0$/m);
  });

  it('sends frame, content-type and referrer policies on console pages', async () => {
    for (const path of ['/mgmt/login', '/mgmt/setup', '/mgmt/starting', '/terraform/v1/mgmt/versions']) {
      const res = await fetch(`${stack.url}${path}`, { redirect: 'manual' });
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', path);
    }
  });

  it('never lists secrets in logs', async () => {
    const publish = (await stack.api('/terraform/v1/mgmt/secret/query', {}, { bearer })).json.data as string;
    assert.ok(publish.startsWith('srs-v2-'));
    assert.ok(!stack.logs().includes(bearer.slice(7)), 'the API secret never reaches the log');
  });

  it('refuses traversal on static console assets', async () => {
    for (const p of ['/mgmt/public/../../package.json', '/mgmt/public/%2e%2e/%2e%2e/package.json', '/mgmt/public/..%2f..%2fpackage.json']) {
      const res = await fetch(`${stack.url}${p}`);
      assert.notEqual(res.status, 200, p);
      assert.ok(!(await res.text()).includes('"name": "srs-stack"'), p);
    }
  });
});
