// Security sweep: every route refuses anonymous callers except a reviewed allow-list, and console
// pages carry sensible headers. New routes are covered automatically: the sweep reads the route
// table (server/route-table.ts) itself, without building an App, and the App serves nothing else.
import assert from 'node:assert/strict';
import { routeKey, type ListedRoute } from '../../server/core/routing.js';
import { ROUTES } from '../../server/route-table.js';
import { initAdmin, startStack, waitFor, type StackHandle, consoleSession } from '../helpers/stack.js';

/**
 * Reviewed: each route anonymous callers reach, and why that is right. Adding one means reviewing
 * it here. Keys are `METHODS path` (GET implies HEAD; `/*` marks a served directory).
 */
const ALLOWED_OPEN: Record<string, string> = {
  'GET /mgmt/public/*': 'console CSS, scripts and images; the login page needs them',
  'GET /favicon.ico': "the site's icon, which every browser asks for",
  'GET /mgmt/vendor/hls/*': 'hls.js, the in-page player',
  'GET /mgmt/vendor/mpegts/*': 'mpegts.js, the in-page player',
  'GET /mgmt/vendor/uplot/*': "uPlot, the stream page's charts",
  'GET /.well-known/*': "Let's Encrypt HTTP-01 challenges; whatever the user puts there is meant to be public",
  'GET|POST /terraform/v1/mgmt/versions': 'health probe',
  'GET|POST /terraform/v1/host/versions': 'health probe (SRS Stack path)',
  'GET|POST /terraform/v1/ffmpeg/versions': 'health probe (SRS Stack path)',
  'GET|POST /terraform/v1/hooks/versions': 'health probe (SRS Stack path)',
  'GET|POST /terraform/v1/tencent/versions': 'health probe (SRS Stack path)',
  'GET|POST /terraform/v1/mgmt/check': 'readiness probe polled by the login page',
  'GET|POST /terraform/v1/mgmt/envs': 'display ports and slot counts, no secrets',
  'GET|POST /terraform/v1/mgmt/beian/query': 'site title and footer shown on the public login page',
  'GET|POST /terraform/v1/mgmt/init': 'first-run setup; refuses once a password exists',
  'GET|POST /terraform/v1/mgmt/login': 'login; throttled per client',
  'GET|POST /terraform/v1/hooks/srs/verify': "the media engine's callback; refused (403) without the engine's per-boot token",
  'GET|POST /terraform/v1/mgmt/hooks/example': 'built-in callback test target (SRS Stack keeps it open); it only echoes success or failure',
  'GET|POST /terraform/v1/hooks/record/hls/:uuid.m3u8': 'record preview for players (no Bearer); the record UUID is the capability',
  'GET|POST /terraform/v1/hooks/record/hls/:uuid/index.m3u8': 'record preview for players (no Bearer); the record UUID is the capability',
  'GET|POST /terraform/v1/hooks/record/hls/record/:uuid/:tsid.ts': 'record preview segments for players; UUIDs are the capability',
  'GET|POST /terraform/v1/hooks/record/hls/:uuid/dvr.m3u8':
    'live timeshift of a record for players (no Bearer); the record UUID is the capability',
  'GET|POST /terraform/v1/hooks/record/hls/:uuid/thumbnail.jpg':
    'record thumbnail for the library (an <img> sends no Bearer); the UUID is the capability',
  'GET|POST /terraform/v1/hooks/record/hls/:uuid/index.mp4':
    'finished record for players and downloads (Range); the UUID is the capability',
  'GET /mgmt/setup': 'first-run setup page; it redirects to login once a password exists',
  'POST /mgmt/setup': 'first-run setup; refuses once a password exists',
  'GET /mgmt/login': 'the login page',
  'POST /mgmt/login': 'login; throttled per client',
  'GET /mgmt/lang/:lang': 'sets the language cookie and redirects to a same-site path',
  'GET /mgmt/starting': 'the "starting" page; no data',
  'GET /mgmt': 'redirects to starting, setup, login or the console (also /mgmt/)',
  'GET /tools/player.html': 'the standalone player page; it plays public play URLs',
  'POST /rtc/v1/whip/': 'WHIP publish; admission checks the publish secret (?secret= or Bearer) like an RTMP publish',
  'DELETE /rtc/v1/whip/:session': "ends a WHIP session; the Location's random session id is the capability",
  'POST /rtc/v1/whep/': 'WHEP playback, public like every play URL of SRS Stack',
  'DELETE /rtc/v1/whep/:session': "ends a WHEP session; the Location's random session id is the capability",
  'GET /players/whip.html': 'the WHIP publisher page; it holds no secret (the secret comes in its own URL)',
  'GET /players/whep.html': 'the WHEP player page; it plays public streams',
  'GET /api/v1/versions': "SRS's version probe (open in SRS Stack too, its health check); only the API level",
  'GET /:app/:file': 'HLS playlists and low-latency segments, public like every play URL of SRS Stack',
  'GET /:app/:sub/:file': 'normal-latency HLS segments, LL-HLS playlists and media, and live timeshift (dvr.m3u8, dvr-*.ts)',
  'GET /:app/:stream.flv': 'HTTP-FLV playback, public like every play URL of SRS Stack',
  'GET /': 'redirects to /mgmt',
};

const byAuth = (...kinds: Array<ListedRoute['auth']['kind']>) => ROUTES.filter((r) => kinds.includes(r.auth.kind));

/** Fills route parameters (`:uuid`) with harmless values. */
function concrete(path: string): string {
  return path.replace(/:([A-Za-z_]+)(\([^)]*\))?/g, 'x');
}

/** Whether a bodied request makes sense: the API and forms take POST, pages and /metrics GET only. */
const withBody = (method: string) => method !== 'GET';

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
    const open = byAuth('public', 'engine').map(routeKey).sort();
    assert.deepEqual(open, Object.keys(ALLOWED_OPEN).sort());
  });

  it('every secured route answers 401 to anonymous and wrong-token callers, whatever its method', async () => {
    const secured = byAuth('secured', 'session');
    assert.ok(secured.length >= 8, `only ${secured.length} secured routes found`);
    for (const route of secured) {
      const url = `${stack.url}${concrete(route.path)}`;
      for (const method of route.methods) {
        const body = withBody(method) ? '{}' : undefined;
        const attempts: Array<Record<string, string>> = [
          {},
          { Authorization: 'Bearer srs-v2-00000000000000000000000000000000' },
          { Authorization: 'Bearer' },
          { Cookie: 'srs_session=x.y.z' },
        ];
        for (const headers of attempts) {
          const res = await fetch(url, { method, headers: { 'Content-Type': 'application/json', ...headers }, body });
          assert.equal(res.status, 401, `${method} ${route.path} with ${JSON.stringify(headers)}`);
        }
        if (withBody(method)) {
          const withBadToken = await fetch(url, { method, headers: { 'Content-Type': 'application/json' }, body: '{"token":"x.y.z"}' });
          assert.equal(withBadToken.status, 401, `${method} ${route.path} with a forged token`);
        }
      }
    }
  });

  it('console forms refuse a logged-in browser that does not send the CSRF token', async () => {
    const cookie = await consoleSession(stack.url);
    assert.match(cookie, /^srs_session=./);
    const forms = byAuth('session').filter((r) => r.methods.some(withBody));
    assert.ok(forms.length >= 8, `only ${forms.length} console forms found`);
    for (const route of forms) {
      for (const body of ['', '_csrf=forged']) {
        const res = await fetch(`${stack.url}${concrete(route.path)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', cookie },
          body,
          redirect: 'manual',
        });
        assert.equal(res.status, 401, `${route.path} with ${body || 'no CSRF token'}`);
      }
    }
  });

  it('console pages send anonymous browsers to the login page', async () => {
    const pages = byAuth('session-page');
    assert.ok(pages.length >= 4, `only ${pages.length} console pages found`);
    for (const route of pages) {
      const attempts: Array<Record<string, string>> = [{}, { Cookie: 'srs_session=x.y.z' }];
      for (const headers of attempts) {
        const res = await fetch(`${stack.url}${concrete(route.path)}`, { headers, redirect: 'manual' });
        assert.equal(res.status, 302, `${route.path} with ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get('location'), '/mgmt/login', route.path);
      }
    }
  });

  it("the media engine's hooks refuse (403) callers without the engine's token", async () => {
    const hooks = byAuth('engine');
    assert.ok(hooks.length >= 1, 'no engine hook in the route table');
    for (const route of hooks) {
      for (const query of ['', '?engine=0123456789abcdef0123456789abcdef']) {
        const res = await fetch(`${stack.url}${concrete(route.path)}${query}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` },
          body: '{"action":"on_publish","app":"live","stream":"livestream"}',
        });
        assert.equal(res.status, 403, `${route.path}${query}`);
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

  it('answers the icon every browser asks for, to anonymous callers', async () => {
    const res = await fetch(`${stack.url}/favicon.ico`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/x-icon');
    // An ICO file starts with reserved 0 and type 1 (icon).
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer()).subarray(0, 4)], [0, 0, 1, 0]);
  });

  it('refuses traversal on static console assets', async () => {
    for (const p of ['/mgmt/public/../../package.json', '/mgmt/public/%2e%2e/%2e%2e/package.json', '/mgmt/public/..%2f..%2fpackage.json']) {
      const res = await fetch(`${stack.url}${p}`);
      assert.notEqual(res.status, 200, p);
      assert.ok(!(await res.text()).includes('"name": "srs-stack"'), p);
    }
  });
});
