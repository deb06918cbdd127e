// SRS's own HTTP API beside SRS Stack's (issue 15 item 5): versions (open), summaries, streams and
// clients (Bearer), a client's kickoff, fed by a real RTMP publish through the real engine; and
// SRS's CORS headers, each exactly once, on /api/v1, /terraform/v1/host and WHIP/WHEP.
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import { publish, type Publisher } from '../helpers/media.js';
import { initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface Raw {
  status: number;
  body: string;
  /** Every header line as sent, names lower-cased, repeats kept. */
  lines: Array<[string, string]>;
}

/** A request whose answer's header lines are kept as sent, so a repeated header shows. */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const lines: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, body: text, lines });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const SRS_CORS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': '*',
  'access-control-allow-methods': '*',
  'access-control-expose-headers': '*',
  'access-control-allow-credentials': 'true',
};

interface SrsStream {
  id: string;
  name: string;
  app: string;
  vhost: string;
  url: string;
  clients: number;
  recv_bytes: number;
  publish: { active: boolean; cid?: string };
  video: { codec: string; width: number; height: number } | null;
  audio: { codec: string; sample_rate: number; channel: number } | null;
}
interface SrsClient {
  id: string;
  stream: string;
  name: string;
  url: string;
  type: string;
  publish: boolean;
  ip: string;
  alive: number;
}

describe("SRS's HTTP API (/api/v1) and SRS's CORS", function () {
  this.timeout(90_000);
  let stack: StackHandle;
  let bearer: string;
  let secret: string;
  const publishers: Publisher[] = [];

  const get = async (path: string, auth = true, method = 'GET') => {
    const res = await raw(stack.ports.http, method, path, auth ? { Authorization: `Bearer ${bearer}` } : {});
    return { status: res.status, json: JSON.parse(res.body) as Record<string, unknown> };
  };
  const streams = async () => (await get('/api/v1/streams')).json.streams as SrsStream[];
  const clients = async () => (await get('/api/v1/clients')).json.clients as SrsClient[];

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
    secret = ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
  });
  afterEach(async () => {
    await Promise.all(publishers.splice(0).map((p) => p.stop()));
  });
  after(async () => stack?.stop());

  it('versions: open, SRS 5 in major/minor/revision/version with SRS ids', async () => {
    const { status, json } = await get('/api/v1/versions', false);
    assert.equal(status, 200);
    assert.equal(json.code, 0);
    assert.equal(typeof json.server, 'string');
    assert.ok(json.server);
    assert.equal(json.pid, String(stack.proc.pid));
    const data = json.data as { major: number; minor: number; revision: number; version: string };
    assert.equal(data.major, 5);
    assert.equal(data.version, `${data.major}.${data.minor}.${data.revision}`);
  });

  it('summaries, streams, clients and a client: 401 without the API secret, and with a wrong one', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/summaries'],
      ['GET', '/api/v1/streams'],
      ['GET', '/api/v1/clients'],
      ['GET', '/api/v1/clients/1'],
      ['DELETE', '/api/v1/clients/1'],
    ] as const) {
      const anonymous = await raw(stack.ports.http, method, path);
      assert.equal(anonymous.status, 401, `${method} ${path}`);
      assert.equal((JSON.parse(anonymous.body) as { code: number }).code, 401, `${method} ${path} answers JSON`);
      const forged = await raw(stack.ports.http, method, path, { Authorization: 'Bearer not-the-secret' });
      assert.equal(forged.status, 401, `${method} ${path} with a forged secret`);
    }
  });

  it("summaries: self.version is versions' version; the host's CPUs, load and memory", async () => {
    const version = ((await get('/api/v1/versions', false)).json.data as { version: string }).version;
    const { status, json } = await get('/api/v1/summaries');
    assert.equal(status, 200);
    assert.equal(json.code, 0);
    const data = json.data as {
      ok: boolean;
      self: { version: string; pid: number; mem_kbyte: number };
      system: { cpus: number; load_1m: number; load_5m: number; load_15m: number; mem_ram_kbyte: number; mem_ram_percent: number };
    };
    assert.equal(data.ok, true);
    assert.equal(data.self.version, version);
    assert.equal(data.self.pid, stack.proc.pid);
    assert.ok(data.self.mem_kbyte > 0);
    assert.equal(data.system.cpus, os.cpus().length);
    for (const k of ['load_1m', 'load_5m', 'load_15m'] as const) assert.equal(typeof data.system[k], 'number', k);
    assert.equal(data.system.mem_ram_kbyte, Math.round(os.totalmem() / 1024));
    assert.ok(data.system.mem_ram_percent > 0 && data.system.mem_ram_percent < 1);
  });

  it('streams and clients show a real RTMP publish; DELETE on its client id kicks it off', async () => {
    const name = `srsapi${Date.now()}`;
    const p = publish(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/${name}?secret=${secret}`);
    publishers.push(p);
    let stream: SrsStream | undefined;
    await waitFor(
      async () => {
        stream = (await streams()).find((s) => s.name === name);
        return Boolean(stream?.video && stream.audio && stream.recv_bytes > 0);
      },
      20_000,
      () => `${name} in /api/v1/streams with video and audio: ${JSON.stringify(stream)}\nffmpeg: ${p.stderr()}\n${stack.logs()}`,
    );
    assert.ok(stream);
    assert.equal(stream.app, 'live');
    assert.equal(stream.url, `/live/${name}`);
    assert.equal(stream.publish.active, true);
    assert.match(stream.video!.codec, /264/);
    assert.ok(stream.video!.width > 0 && stream.video!.height > 0);
    assert.match(stream.audio!.codec, /AAC/i);
    assert.ok(stream.clients >= 1);

    // The registry's publisher is the one SRS's API names: the same client id as mgmt/streams/query.
    const row = (
      (await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer })).json.data as {
        streams: Array<{ stream: string; client_id: string }>;
      }
    ).streams.find((s) => s.stream === name);
    assert.ok(row?.client_id);
    assert.equal(stream.publish.cid, row.client_id);

    const publisher = (await clients()).find((c) => c.publish && c.name === name);
    assert.ok(publisher, 'the publisher in /api/v1/clients');
    assert.equal(publisher.id, row.client_id);
    assert.equal(publisher.type, 'fmle-publish');
    assert.equal(publisher.stream, stream.id);
    assert.equal(publisher.url, `/live/${name}`);
    assert.equal(publisher.ip, '127.0.0.1');
    assert.ok(publisher.alive > 0);

    const one = await get(`/api/v1/clients/${publisher.id}`);
    assert.equal(one.json.code, 0);
    assert.equal((one.json.client as SrsClient).id, publisher.id);

    const kicked = await get(`/api/v1/clients/${publisher.id}`, true, 'DELETE');
    assert.equal(kicked.status, 200);
    assert.equal(kicked.json.code, 0);
    await waitFor(
      async () => !p.running(),
      10_000,
      () => `ffmpeg to be dropped by the kickoff\n${stack.logs()}`,
    );
    assert.equal(
      (await streams()).find((s) => s.name === name),
      undefined,
    );
    assert.equal(
      (await clients()).find((c) => c.name === name),
      undefined,
    );
    const after = (
      (await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer })).json.data as { streams: Array<{ stream: string }> | null }
    ).streams;
    assert.equal(
      (after ?? []).find((s) => s.stream === name),
      undefined,
    );

    // A client id that is not there: SRS's 2049 (ERROR_RTMP_CLIENT_NOT_FOUND), as SRS Stack's kickoff tolerates.
    assert.equal((await get(`/api/v1/clients/${publisher.id}`, true, 'DELETE')).json.code, 2049);
    assert.equal((await get('/api/v1/clients/no-such-client')).json.code, 2049);
  });

  it("sends SRS's CORS headers, each exactly once, on /api/v1, /terraform/v1/host and WHIP/WHEP, with or without Origin", async () => {
    const requests: Array<[string, string]> = [
      ['GET', '/api/v1/versions'],
      ['GET', '/api/v1/summaries'], // 401: errors carry them too
      ['OPTIONS', '/api/v1/streams'],
      ['GET', '/terraform/v1/host/versions'],
      ['OPTIONS', '/terraform/v1/host/versions'],
      ['OPTIONS', '/rtc/v1/whip/'],
      ['POST', '/rtc/v1/whip/?app=live&stream=nosuch'], // refused: no SDP
      ['OPTIONS', '/rtc/v1/whep/'],
      ['POST', '/rtc/v1/whep/?app=live&stream=nosuch'],
    ];
    for (const origin of [undefined, 'https://console.example.com']) {
      for (const [method, path] of requests) {
        const res = await raw(stack.ports.http, method, path, origin ? { Origin: origin } : {});
        for (const [name, value] of Object.entries(SRS_CORS)) {
          const sent = res.lines.filter(([n]) => n === name).map(([, v]) => v);
          assert.deepEqual(sent, [value], `${method} ${path} (Origin: ${origin ?? 'none'}): ${name}`);
        }
        if (method === 'OPTIONS') assert.equal(res.status, 200, `${method} ${path}`);
      }
    }
  });

  it('a browser preflight asking for Authorization is allowed it (a cross-origin WHIP with Bearer, or /api/v1 with the API secret)', async () => {
    for (const path of ['/rtc/v1/whip/', '/api/v1/streams']) {
      const res = await raw(stack.ports.http, 'OPTIONS', path, {
        Origin: 'https://console.example.com',
        'Access-Control-Request-Method': path.startsWith('/rtc') ? 'POST' : 'GET',
        'Access-Control-Request-Headers': 'authorization,content-type',
      });
      assert.equal(res.status, 200);
      const allowed = res.lines.filter(([n]) => n === 'access-control-allow-headers').map(([, v]) => v);
      assert.equal(allowed.length, 1, path);
      // `*` alone does not cover Authorization (Fetch standard): it must be named.
      assert.match(allowed[0]!, /(^|,\s*)authorization(\s*,|$)/i, path);
      assert.deepEqual(
        res.lines.filter(([n]) => n === 'access-control-allow-origin').map(([, v]) => v),
        ['*'],
      );
    }
  });
});
