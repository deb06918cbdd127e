import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { makeCa, makeLeaf, makeServerPair } from '../helpers/certs.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { freePort, initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

interface Served {
  fingerprint256: string;
  subject: string;
  altNames: string;
  serialNumber: string;
  authorized: boolean;
}

/** Handshakes with the HTTPS port and reports the certificate it presents. */
function served(port: number, opts: { servername?: string; ca?: string } = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername: opts.servername ?? 'srs.stack.local', ca: opts.ca, rejectUnauthorized: !!opts.ca },
      () => {
        const cert = socket.getPeerCertificate();
        resolve({
          fingerprint256: cert.fingerprint256,
          subject: String(cert.subject.CN ?? ''),
          altNames: cert.subjectaltname ?? '',
          serialNumber: cert.serialNumber,
          authorized: socket.authorized,
        });
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** GET over HTTPS through `agent`; returns the status, the body and which local port carried it. */
function httpsGet(
  port: number,
  pathname: string,
  agent: https.Agent,
): Promise<{ status: number; body: string; localPort: number; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: pathname, agent, servername: 'srs.stack.local' }, (res) => {
        const socket = res.socket as tls.TLSSocket;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            localPort: socket.localPort ?? 0,
            fingerprint: socket.getPeerCertificate().fingerprint256,
          }),
        );
      })
      .on('error', reject);
  });
}

/** A request with the path sent byte for byte (fetch would normalise the dots away). */
function rawGet(port: number, rawPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: rawPath }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

describe('https: first-boot certificate, uploads and in-place swaps (real stack)', function () {
  this.timeout(60_000);
  let stack: StackHandle;
  let bearer: string;
  const files = () => ({
    key: fs.readFileSync(path.join(stack.dataDir, 'config', 'nginx.key'), 'utf8'),
    crt: fs.readFileSync(path.join(stack.dataDir, 'config', 'nginx.crt'), 'utf8'),
  });
  const ssl = (body: unknown) => stack.api('/terraform/v1/mgmt/ssl', body, { bearer });

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
  });
  after(async () => {
    await stack?.stop();
  });

  it('creates a self-signed certificate at first boot and serves it on the HTTPS port', async () => {
    const { key, crt } = files();
    assert.equal(fs.statSync(path.join(stack.dataDir, 'config', 'nginx.key')).mode & 0o777, 0o600);
    const cert = await served(stack.ports.https);
    assert.equal(cert.subject, 'srs.stack.local');
    assert.equal(cert.altNames, 'DNS:srs.stack.local');
    assert.equal(cert.fingerprint256, fingerprintOf(crt));
    await waitFor(
      async () => ((await stack.api('/terraform/v1/mgmt/cert/query', {}, { bearer })).json.data as { provider: string }).provider === 'ssl',
      5000,
      () => 'SRS_HTTPS=ssl recorded',
    );
    const query = (await stack.api('/terraform/v1/mgmt/cert/query', {}, { bearer })).json.data as Record<string, unknown>;
    assert.equal(query.key, key);
    assert.equal(query.crt, crt);
    assert.equal((query.info as { selfSigned: boolean }).selfSigned, true);
  });

  it('serves the same routes over HTTPS as over HTTP', async () => {
    const agent = new https.Agent({ rejectUnauthorized: false });
    const versions = await httpsGet(stack.ports.https, '/terraform/v1/mgmt/versions', agent);
    assert.equal(versions.status, 200);
    assert.equal(JSON.parse(versions.body).code, 0);
    assert.equal((await httpsGet(stack.ports.https, '/mgmt', agent)).status, 302);
    assert.equal((await httpsGet(stack.ports.https, '/terraform/v1/mgmt/status', agent)).status, 401);
    agent.destroy();
  });

  it('installs an uploaded pair at once; a connection opened before the swap keeps working', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    const before = await httpsGet(stack.ports.https, '/terraform/v1/mgmt/versions', agent);
    const ca = await makeCa('Upload CA');
    const pair = await makeLeaf(ca, { names: ['live.example.com', 'www.example.com'] });
    const res = await ssl({ key: pair.key, crt: `${pair.crt}${ca.pem}` });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const after = await httpsGet(stack.ports.https, '/terraform/v1/mgmt/versions', agent);
    assert.equal(after.status, 200);
    assert.equal(after.localPort, before.localPort, 'the same TLS connection carried both requests');
    assert.equal(after.fingerprint, before.fingerprint, 'an open connection keeps the certificate it was opened with');
    agent.destroy();
    const fresh = await served(stack.ports.https, { servername: 'live.example.com', ca: ca.pem });
    assert.ok(fresh.authorized);
    assert.equal(fresh.fingerprint256, fingerprintOf(pair.crt));
    assert.equal(fresh.altNames, 'DNS:live.example.com, DNS:www.example.com');
    const query = (await stack.api('/terraform/v1/mgmt/cert/query', {}, { bearer })).json.data as Record<string, unknown>;
    assert.equal(query.provider, 'ssl');
    assert.deepEqual({ key: query.key, crt: query.crt }, files(), 'cert/query returns exactly the installed files');
    assert.equal(query.crt, `${pair.crt}${ca.pem}`);
    assert.equal((query.info as { chainLength: number }).chainLength, 2);
  });

  it('refuses a mismatched key and keeps the installed pair', async () => {
    const installed = files();
    const servedBefore = await served(stack.ports.https);
    const a = await makeServerPair('a.example.com');
    const b = await makeServerPair('b.example.com');
    const res = await ssl({ key: b.key, crt: a.crt });
    assert.equal(res.status, 400);
    assert.match(res.json.message ?? '', /private key does not match the certificate/);
    assert.deepEqual(files(), installed);
    assert.equal((await served(stack.ports.https)).fingerprint256, servedBefore.fingerprint256);
  });

  it('answers bad uploads clearly and changes nothing: non-PEM, 5 MB, empty, swapped, wrong types', async () => {
    const installed = files();
    const pair = await makeServerPair('c.example.com');
    const cases: Array<[unknown, number, RegExp]> = [
      [{ key: pair.key, crt: 'this is not a certificate' }, 400, /crt is not a PEM certificate/],
      [{ key: 'garbage', crt: pair.crt }, 400, /key is not a PEM private key/],
      [
        { key: pair.key, crt: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(5 * 1024 * 1024)}\n-----END CERTIFICATE-----\n` },
        413,
        /too large/,
      ],
      [{ key: pair.key, crt: 'B'.repeat(200 * 1024) }, 400, /crt is too long/],
      [{ key: '', crt: '' }, 400, /empty key/],
      [{ key: pair.crt, crt: pair.key }, 400, /swapped/],
      [{ key: 42, crt: pair.crt }, 400, /key must be a string/],
    ];
    for (const [body, status, message] of cases) {
      const res = await ssl(body);
      assert.equal(res.status, status, JSON.stringify(res.json).slice(0, 200));
      assert.match(res.json.message ?? '', message);
    }
    assert.deepEqual(files(), installed);
    assert.equal((await stack.api('/terraform/v1/mgmt/versions')).status, 200, 'the stack still answers');
  });

  it('makes no self-signed certificate over an installed one', async () => {
    const installed = files();
    const res = await stack.api('/terraform/v1/mgmt/auto-self-signed-certificate', {}, { bearer });
    assert.equal(res.status, 200);
    assert.deepEqual(files(), installed);
  });

  it('serves <data>/.well-known on the HTTP port without letting a path escape it', async () => {
    const dir = path.join(stack.dataDir, '.well-known', 'acme-challenge');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'token-1'), 'token-1.thumbprint');
    const res = await fetch(`${stack.url}/.well-known/acme-challenge/token-1`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'token-1.thumbprint');
    assert.match(res.headers.get('cache-control') ?? '', /no-cache/);
    assert.equal((await fetch(`${stack.url}/.well-known/acme-challenge/missing`)).status, 404);
    for (const raw of [
      '/.well-known/../config/nginx.key',
      '/.well-known/%2e%2e/config/nginx.key',
      '/.well-known/..%2fconfig%2fnginx.key',
    ]) {
      assert.equal(await rawGet(stack.ports.http, raw), 404, raw);
    }
  });

  it('refuses domain lists that are empty, spaces only, or space-separated, without touching the certificate', async () => {
    const installed = files();
    for (const [domain, message] of [
      ['   ', /no domain/],
      [' ; ;; ', /no domain/],
      ['a.example.test b.example.test', /contains a space: separate several domains with ";"/],
      ['http://a.example.test', /bare domain name/],
    ] as const) {
      const res = await stack.api('/terraform/v1/mgmt/letsencrypt', { domain }, { bearer });
      assert.equal(res.status, 400, domain);
      assert.match(res.json.message ?? '', message);
    }
    assert.deepEqual(files(), installed);
    assert.equal(((await stack.api('/terraform/v1/mgmt/letsencrypt/status', {}, { bearer })).json.data as { state: string }).state, 'idle');
  });
});

describe("https: Let's Encrypt against Debian's pebble (HTTP-01 on the stack's HTTP port)", function () {
  this.timeout(90_000);
  let pebble: Pebble;
  let stack: StackHandle;
  let bearer: string;
  let issuedSerial = '';
  const dataDir = tempDir();
  let ports: { http: number; https: number; rtmp: number };
  let env: NodeJS.ProcessEnv;

  before(async () => {
    ports = { http: await freePort(), https: await freePort(), rtmp: await freePort() };
    // Ten-day certificates: under the 30-day threshold, so the next renewal check must renew.
    pebble = await startPebble({ httpPort: ports.http, validitySeconds: 10 * 86_400 });
    for (const name of ['a.example.test', 'b.example.test']) await pebble.addHost(name);
    // The names resolve only in pebble's mock DNS, so the stack's own pre-check is off here.
    env = { ACME_DIRECTORY_URL: pebble.directoryUrl, ACME_CA_FILE: pebble.caFile, ACME_SELF_CHECK_PORT: '0' };
    stack = await startStack({ dataDir, ports, env });
    bearer = await initAdmin(stack);
  });
  after(async () => {
    await stack?.stop();
    await pebble?.stop();
  });

  it('issues one certificate for two names and serves it, trusted by pebble’s root', async () => {
    const res = await stack.api('/terraform/v1/mgmt/letsencrypt', { domain: ' a.example.test ; ;b.example.test ' }, { bearer });
    assert.equal(res.status, 200, `${JSON.stringify(res.json)}\n${stack.logs()}`);
    const root = await pebble.root();
    for (const servername of ['a.example.test', 'b.example.test']) {
      const cert = await served(stack.ports.https, { servername, ca: root });
      assert.ok(cert.authorized, servername);
      assert.equal(cert.altNames, 'DNS:a.example.test, DNS:b.example.test');
      assert.equal(cert.subject, 'a.example.test');
      issuedSerial = cert.serialNumber;
    }
    const query = (await stack.api('/terraform/v1/mgmt/cert/query', {}, { bearer })).json.data as Record<string, unknown>;
    assert.equal(query.provider, 'lets');
    assert.equal(query.domain, 'a.example.test;b.example.test');
    assert.match(String((query.info as { issuer: string }).issuer), /Pebble Intermediate CA/);
    const status = (await stack.api('/terraform/v1/mgmt/letsencrypt/status', {}, { bearer })).json.data as {
      state: string;
      steps: Array<{ text: string }>;
    };
    assert.equal(status.state, 'done');
    assert.ok(status.steps.some((s) => /b\.example\.test: validated/.test(s.text)));
    assert.ok(fs.existsSync(path.join(dataDir, 'lego', 'account.key')), 'the account key is kept');
    assert.ok(fs.existsSync(path.join(dataDir, 'lego', 'certificates', 'a.example.test.crt')));
    assert.deepEqual(fs.readdirSync(path.join(dataDir, '.well-known', 'acme-challenge')), [], 'challenge files are cleaned up');
  });

  it('says which domain failed and the likely cause, and keeps serving the installed certificate', async () => {
    const res = await stack.api('/terraform/v1/mgmt/letsencrypt', { domain: 'a.example.test;nx.example.test' }, { bearer });
    assert.equal(res.status, 502);
    assert.match(
      res.json.message ?? '',
      /could not validate nx\.example\.test: .*could not resolve.*Likely cause: the domain does not resolve to this server/,
    );
    const cert = await served(stack.ports.https, { servername: 'a.example.test', ca: await pebble.root() });
    assert.equal(cert.serialNumber, issuedSerial);
    const status = (await stack.api('/terraform/v1/mgmt/letsencrypt/status', {}, { bearer })).json.data as { state: string; error: string };
    assert.equal(status.state, 'failed');
    assert.match(status.error, /nx\.example\.test/);
  });

  it('runs one issuance at a time: a second request meanwhile gets 409', async () => {
    const request = () => stack.api('/terraform/v1/mgmt/letsencrypt', { domain: 'a.example.test;b.example.test' }, { bearer });
    const answers = await Promise.all([request(), request()]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409]);
    assert.match(answers.find((a) => a.status === 409)?.json.message ?? '', /already running for a\.example\.test;b\.example\.test/);
    issuedSerial = (await served(stack.ports.https, { servername: 'a.example.test', ca: await pebble.root() })).serialNumber;
  });

  it('renews at the next check when fewer than 30 days remain, with the same account', async () => {
    const accountKey = fs.readFileSync(path.join(dataDir, 'lego', 'account.key'), 'utf8');
    await stack.stop();
    // The check runs at boot, then daily: a restart is the next check.
    stack = await startStack({ dataDir, ports, env });
    const root = await pebble.root();
    let renewed = '';
    await waitFor(
      async () => {
        renewed = (await served(stack.ports.https, { servername: 'b.example.test', ca: root }).catch(() => null))?.serialNumber ?? '';
        return renewed !== '' && renewed !== issuedSerial;
      },
      30_000,
      () => `a renewed certificate:\n${stack.logs()}`,
    );
    assert.match(stack.logs(), /has 9 days left: renewing/);
    assert.equal(fs.readFileSync(path.join(dataDir, 'lego', 'account.key'), 'utf8'), accountKey);
    const cert = await served(stack.ports.https, { servername: 'a.example.test', ca: root });
    assert.equal(cert.altNames, 'DNS:a.example.test, DNS:b.example.test');
  });
});

describe('https: without the automatic self-signed certificate', function () {
  this.timeout(30_000);
  let stack: StackHandle;

  before(async () => {
    stack = await startStack({ env: { AUTO_SELF_SIGNED_CERTIFICATE: 'off' } });
  });
  after(async () => {
    await stack?.stop();
  });

  it('fails handshakes until mgmt/auto-self-signed-certificate makes one, then serves it at once', async () => {
    const bearer = await initAdmin(stack);
    await assert.rejects(served(stack.ports.https));
    assert.ok(!fs.existsSync(path.join(stack.dataDir, 'config', 'nginx.crt')));
    const res = await stack.api('/terraform/v1/mgmt/auto-self-signed-certificate', {}, { bearer });
    assert.equal(res.status, 200);
    assert.equal((await served(stack.ports.https)).subject, 'srs.stack.local');
    assert.equal(((await stack.api('/terraform/v1/mgmt/cert/query', {}, { bearer })).json.data as { provider: string }).provider, 'ssl');
  });
});
