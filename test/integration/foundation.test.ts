import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, MAIN, ROOT, initAdmin, isAlive, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

const run = promisify(execFile);

describe('foundation: the stack boots with its own Redis and answers the API', function () {
  this.timeout(60_000);
  let stack: StackHandle;
  let bearer: string;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  it('creates the SRS Stack data layout', () => {
    for (const dir of ['record', 'upload', 'vlive', 'config', 'redis', '.well-known', 'srs-s3-bucket', 'lego']) {
      assert.ok(fs.statSync(path.join(stack.dataDir, dir)).isDirectory(), dir);
    }
  });

  it('runs redis-server on a private unix socket, not on a TCP port', async () => {
    const conf = fs.readFileSync(path.join(stack.dataDir, 'redis', 'redis.conf'), 'utf8');
    assert.match(conf, /^port 0$/m);
    assert.match(conf, /^unixsocket /m);
  });

  it('answers mgmt/versions and mgmt/check with the envelope, on GET and POST', async () => {
    for (const method of ['GET', 'POST']) {
      const v = await stack.api('/terraform/v1/mgmt/versions', undefined, { method });
      assert.equal(v.status, 200);
      assert.equal(v.json.code, 0);
      assert.equal(typeof v.json.server, 'number');
      assert.match((v.json.data as { version: string }).version, /^\d+\.\d+\.\d+$/);
    }
    const check = await stack.api('/terraform/v1/mgmt/check');
    assert.deepEqual(check.json.data, { upgrading: false });
  });

  it('reports not initialised, then accepts the first password and refuses a second init', async () => {
    const before = await stack.api('/terraform/v1/mgmt/init', undefined, { method: 'GET' });
    assert.deepEqual(before.json.data, { init: false });
    bearer = await initAdmin(stack);
    assert.match(bearer, /^srs-v2-[0-9a-f]{32}$/);
    const again = await stack.api('/terraform/v1/mgmt/init', { password: 'another-password' });
    assert.equal(again.status, 409);
    assert.match(again.json.message ?? '', /already initialized/);
    const hash = fs.readFileSync(path.join(stack.dataDir, 'config', 'mgmt-password.hash'), 'utf8');
    assert.ok(!hash.includes(ADMIN_PASSWORD), 'the password is stored hashed');
    const env = fs.readFileSync(path.join(stack.dataDir, 'config', '.env'), 'utf8');
    assert.ok(!env.includes(ADMIN_PASSWORD));
  });

  it('answers malformed JSON with 400 and a message', async () => {
    const res = await stack.api('/terraform/v1/mgmt/login', '{"password":', {});
    assert.equal(res.status, 400);
    assert.match(res.json.message ?? '', /malformed JSON/);
    const wrongType = await stack.api('/terraform/v1/mgmt/login', { password: 42 });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.json.message ?? '', /password must be a string/);
    const array = await stack.api('/terraform/v1/mgmt/login', [1, 2]);
    assert.equal(array.status, 400);
  });

  it('refuses protected endpoints without or with a wrong credential (401)', async () => {
    for (const path of ['/terraform/v1/mgmt/status', '/terraform/v1/mgmt/secret/query', '/terraform/v1/mgmt/limits/update']) {
      assert.equal((await stack.api(path)).status, 401, path);
      assert.equal((await stack.api(path, {}, { bearer: 'srs-v2-00000000000000000000000000000000' })).status, 401, path);
      assert.equal((await stack.api(path, { token: 'not.a.jwt' })).status, 401, path);
    }
    // A present but wrong Authorization header decides, even with a valid token in the body.
    const login = await stack.api('/terraform/v1/mgmt/login', { password: ADMIN_PASSWORD });
    const token = (login.json.data as { token: string }).token;
    const res = await stack.api('/terraform/v1/mgmt/status', { token }, { headers: { Authorization: 'Basic abc' } });
    assert.equal(res.status, 401);
  });

  it('accepts the Bearer API secret and a JWT from login or mgmt/token', async () => {
    const secret = await stack.api('/terraform/v1/mgmt/secret/query', {}, { bearer });
    assert.equal(secret.json.data, bearer);
    const login = await stack.api('/terraform/v1/mgmt/login', { password: ADMIN_PASSWORD });
    assert.equal(login.status, 200);
    const { token, expireAt } = login.json.data as { token: string; expireAt: string };
    assert.ok(Date.parse(expireAt) > Date.now() + 300 * 24 * 3600 * 1000);
    const status = await stack.api('/terraform/v1/mgmt/status', { token });
    assert.equal(status.status, 200);
    const fresh = await stack.api('/terraform/v1/mgmt/token', { token });
    assert.match((fresh.json.data as { token: string }).token, /^ey/);
  });

  it('slows wrong passwords per client: 401, then 429 with Retry-After', async () => {
    const first = await stack.api('/terraform/v1/mgmt/login', { password: 'wrong-1' });
    assert.equal(first.status, 401);
    const second = await stack.api('/terraform/v1/mgmt/login', { password: ADMIN_PASSWORD });
    assert.equal(second.status, 429, 'even the right password waits out the penalty');
    assert.ok(Number(second.headers.get('retry-after')) >= 1);
    // Another client (forwarded by a loopback proxy) is not affected.
    const other = await stack.api('/terraform/v1/mgmt/login', { password: ADMIN_PASSWORD }, { headers: { 'X-Real-IP': '203.0.113.9' } });
    assert.equal(other.status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    const later = await stack.api('/terraform/v1/mgmt/login', { password: ADMIN_PASSWORD });
    assert.equal(later.status, 200);
  });

  it('answers CORS preflight, with each CORS header exactly once', async () => {
    const res = await fetch(`${stack.url}/terraform/v1/mgmt/versions`, { method: 'OPTIONS' });
    assert.equal(res.status, 200);
    const raw = await rawHeaders(stack.url, '/terraform/v1/mgmt/versions');
    for (const h of ['access-control-allow-origin', 'access-control-allow-headers', 'access-control-allow-methods', 'server']) {
      assert.equal(raw.filter((x) => x === h).length, 1, h);
    }
  });

  it('keeps website title/footer (public query) and validates limits', async () => {
    assert.equal((await stack.api('/terraform/v1/mgmt/beian/update', { beian: 'title', text: 'My Live' }, { bearer })).status, 200);
    assert.equal((await stack.api('/terraform/v1/mgmt/beian/update', { beian: 'other', text: 'x' }, { bearer })).status, 400);
    const q = await stack.api('/terraform/v1/mgmt/beian/query');
    assert.equal((q.json.data as { title: string }).title, 'My Live');
    assert.deepEqual((await stack.api('/terraform/v1/mgmt/limits/query', {}, { bearer })).json.data, { vlive: 5000, camera: 5000 });
    assert.equal((await stack.api('/terraform/v1/mgmt/limits/update', { vlive: 0 }, { bearer })).status, 400);
    assert.equal((await stack.api('/terraform/v1/mgmt/limits/update', { vlive: 'fast' }, { bearer })).status, 400);
    assert.equal((await stack.api('/terraform/v1/mgmt/limits/update', { vlive: 800, camera: 1200 }, { bearer })).status, 200);
    assert.deepEqual((await stack.api('/terraform/v1/mgmt/limits/query', {}, { bearer })).json.data, { vlive: 800, camera: 1200 });
  });

  it('reports display ports and slot limits in mgmt/envs', async () => {
    const envs = (await stack.api('/terraform/v1/mgmt/envs', { locale: 'zh' })).json.data as Record<string, unknown>;
    assert.equal(envs.rtmpPort, String(stack.ports.rtmp), 'RTMP_PORT defaults to the RTMP port in use');
    assert.equal(envs.forwardLimit, 10);
  });

  it('restarts a killed redis-server; the API says not ready meanwhile and recovers without a stack restart', async () => {
    const children = async () =>
      (
        (await stack.api('/terraform/v1/mgmt/supervisor/query', {}, { bearer })).json.data as {
          children: Array<{ name: string; pid: number; restarts: number; status: string }>;
        }
      ).children;
    const redis = (await children()).find((c) => c.name === 'redis');
    assert.ok(redis?.pid);
    process.kill(redis.pid, 'SIGKILL');
    const seen = new Set<number>();
    await waitFor(
      async () => {
        const status = (await stack.api('/terraform/v1/mgmt/check')).status;
        seen.add(status);
        return seen.has(503) && status === 200;
      },
      20_000,
      () => `503 then 200, saw ${[...seen]}`,
    );
    const notReady = await stack.api('/terraform/v1/mgmt/check');
    assert.equal(notReady.status, 200);
    const after = (await children()).find((c) => c.name === 'redis');
    assert.notEqual(after?.pid, redis.pid);
    assert.equal(after?.restarts, 1);
    // Data survived: the same API secret still works.
    assert.equal((await stack.api('/terraform/v1/mgmt/status', {}, { bearer })).status, 200);
    assert.equal(((await stack.api('/terraform/v1/mgmt/beian/query')).json.data as { title: string }).title, 'My Live');
  });
});

describe('foundation: restarts, crashes and operator commands', function () {
  this.timeout(90_000);

  it('keeps the API secret and settings across a restart, and reaps a crashed run’s redis-server', async () => {
    const dataDir = tempDir();
    const first = await startStack({ dataDir });
    const bearer = await initAdmin(first);
    await first.api('/terraform/v1/mgmt/beian/update', { beian: 'icp', text: 'ICP-123' }, { bearer });
    const redisPid = Number(fs.readFileSync(path.join(dataDir, 'run', 'redis.pid'), 'utf8').split('\n')[0]);
    await first.crash();
    assert.ok(isAlive(redisPid), 'the orphaned redis-server outlives a kill -9 of the stack');
    const second = await startStack({ dataDir });
    try {
      await waitFor(
        () => !isAlive(redisPid),
        10_000,
        () => 'stale redis reaped',
      );
      assert.equal((await second.api('/terraform/v1/mgmt/secret/query', {}, { bearer })).json.data, bearer);
      assert.equal(((await second.api('/terraform/v1/mgmt/beian/query')).json.data as { icp: string }).icp, 'ICP-123');
      assert.match(second.logs(), /reaping stale redis-server/);
    } finally {
      await second.stop();
    }
    assert.ok(!fs.existsSync(path.join(dataDir, 'run', 'redis.pid')), 'a clean stop removes the pid file');
  });

  it('adopts SRS_PLATFORM_SECRET and MGMT_PASSWORD from the environment', async () => {
    const secret = 'srs-v2-0123456789abcdef0123456789abcdef';
    const stack = await startStack({ env: { SRS_PLATFORM_SECRET: secret, MGMT_PASSWORD: 'from-env-pw' } });
    try {
      assert.deepEqual((await stack.api('/terraform/v1/mgmt/init')).json.data, { init: true });
      const login = await stack.api('/terraform/v1/mgmt/login', { password: 'from-env-pw' });
      assert.equal((login.json.data as { bearer: string }).bearer, secret);
      assert.ok(!stack.logs().includes('from-env-pw'), 'the password never reaches the log');
    } finally {
      await stack.stop();
    }
  });

  it('reads settings from <data>/config/.env, with the environment taking precedence', async () => {
    const dataDir = tempDir();
    fs.mkdirSync(path.join(dataDir, 'config'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'config', '.env'), 'RTMP_PORT=19350\nSRS_FORWARD_LIMIT=3\n');
    const stack = await startStack({ dataDir, env: { SRS_FORWARD_LIMIT: '4' } });
    try {
      const envs = (await stack.api('/terraform/v1/mgmt/envs')).json.data as Record<string, unknown>;
      assert.equal(envs.rtmpPort, '19350');
      assert.equal(envs.forwardLimit, 4);
    } finally {
      await stack.stop();
    }
  });

  it('refuses to start with an invalid config and says why', async () => {
    const dataDir = tempDir();
    const res = await run(process.execPath, [MAIN], { env: { ...process.env, DATA_DIR: dataDir, MGMT_LISTEN: 'http' } }).catch((e) => e);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /MGMT_LISTEN must be a TCP port/);
  });

  it('shows "not ready" while Redis cannot start, with the reason in the supervisor state', async () => {
    const stack = await startStack({ env: { REDIS_SERVER_BIN: '/nonexistent/redis-server' }, waitReady: false });
    try {
      await waitFor(async () => (await stack.api('/terraform/v1/mgmt/check').catch(() => null)) !== null, 10_000);
      const check = await stack.api('/terraform/v1/mgmt/check');
      assert.equal(check.status, 503);
      assert.match(check.json.message ?? '', /Redis is not ready/);
      const page = await fetch(`${stack.url}/mgmt`, { redirect: 'follow' });
      assert.equal(page.status, 503);
      assert.match(await page.text(), /http-equiv="refresh"/);
      assert.match(stack.logs(), /cannot start \/nonexistent\/redis-server/);
    } finally {
      await stack.stop();
    }
  });

  it('resets the admin password with the documented command', async () => {
    const stack = await startStack();
    try {
      await initAdmin(stack);
      const { stdout } = await run(process.execPath, [path.join(ROOT, 'dist', 'server', 'cli.js'), 'reset-password', 'brand-new-pw'], {
        env: { ...process.env, DATA_DIR: stack.dataDir },
      });
      assert.match(stdout, /Admin password reset/);
      assert.equal((await stack.api('/terraform/v1/mgmt/login', { password: 'brand-new-pw' })).status, 200);
    } finally {
      await stack.stop();
    }
  });
});

async function rawHeaders(base: string, pathname: string): Promise<string[]> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    http
      .get(`${base}${pathname}`, (res) => {
        const names: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) names.push((res.rawHeaders[i] as string).toLowerCase());
        res.resume();
        resolve(names);
      })
      .on('error', reject);
  });
}
