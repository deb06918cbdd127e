// Live streaming against the real engine: nginx-rtmp supervised by the stack, ffmpeg publishing,
// ffprobe reading HLS from the stack's HTTP port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import { ffprobe, publish, sendRaw, type Publisher } from '../helpers/media.js';
import { initAdmin, isAlive, sleep, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface Row {
  app: string;
  stream: string;
  param: string;
  client_id: string;
  server_id: string;
  viewers: number;
}

/** A raw GET whose path is sent exactly as given (fetch would normalise `..`). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', headers: { Accept: '*/*' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('live streaming: publish with a secret, watch HLS from the stack', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let bearer: string;
  let secret: string;
  const publishers: Publisher[] = [];

  const api = async (path: string, body: unknown = {}) => stack.api(`/terraform/v1${path}`, body, { bearer });
  const rtmp = (name: string) => `rtmp://127.0.0.1:${stack.ports.rtmp}/live/${name}`;
  const streams = async (): Promise<Row[]> => ((await api('/mgmt/streams/query')).json.data as { streams: Row[] | null }).streams ?? [];
  const find = async (name: string) => (await streams()).find((s) => s.stream === name);
  const start = (url: string, seconds = 0) => {
    const p = publish(url, seconds);
    publishers.push(p);
    return p;
  };
  const waitLive = (name: string, p: Publisher) =>
    waitFor(
      async () => Boolean(await find(name)),
      15_000,
      () => `${name} to be registered; ffmpeg: ${p.stderr()}\n${stack.logs()}`,
    );
  const waitPlaylist = (name: string, check: (text: string) => boolean = () => true) =>
    waitFor(
      async () => {
        const res = await fetch(`${stack.url}/live/${name}.m3u8?hls_ctx=probe`);
        return res.status === 200 && check(await res.text());
      },
      30_000,
      () => `a playlist for ${name}\n${stack.logs()}`,
    );
  const enginePid = async () =>
    (
      (await api('/mgmt/supervisor/query')).json.data as { children: Array<{ name: string; pid: number | null; status: string }> }
    ).children.find((c) => c.name === 'nginx');

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
    secret = ((await api('/hooks/srs/secret/query')).json.data as { publish: string }).publish;
    await waitFor(
      async () => (await enginePid())?.status === 'ready',
      15_000,
      () => `engine ready\n${stack.logs()}`,
    );
  });
  afterEach(async () => {
    await Promise.all(publishers.splice(0).map((p) => p.stop()));
  });
  after(async () => {
    await stack?.stop();
  });

  it('returns the publish secret in SRS Stack shape on both paths', async () => {
    assert.match(secret, /^[0-9a-f]{32}$/);
    assert.deepEqual((await api('/hooks/srs/secret')).json.data, { publish: secret });
    assert.equal((await stack.api('/terraform/v1/hooks/srs/secret/query')).status, 401);
  });

  it('publishes with ?secret=, serves both HLS modes with video and audio, and switching never drops the stream', async () => {
    const p = start(`${rtmp('query1')}?secret=${secret}`);
    await waitLive('query1', p);
    const row = await find('query1');
    assert.equal(row?.param, `?secret=${secret}`);
    assert.ok(row?.client_id);

    // Low latency: the 2 s rendition is playable about two seconds after the publish.
    assert.equal((await api('/mgmt/hlsll/update', { hlsLowLatency: true })).status, 200);
    assert.deepEqual((await api('/mgmt/hlsll/query')).json.data, { hlsLowLatency: true });
    await waitPlaylist('query1', (t) => /#EXTINF:2\.0/.test(t));
    const variant = await fetch(`${stack.url}/live/query1.m3u8`);
    assert.equal(variant.headers.get('content-type'), 'application/vnd.apple.mpegurl');
    const variantText = await variant.text();
    assert.match(variantText, /#EXT-X-STREAM-INF/);
    const session = /query1\.m3u8\?hls_ctx=([0-9a-f]+)/.exec(variantText)?.[1];
    assert.ok(session, variantText);
    const probe = await ffprobe(`${stack.url}/live/query1.m3u8`);
    assert.deepEqual(probe.streams.map((s) => `${s.codec_type}/${s.codec_name}`).sort(), ['audio/aac', 'video/h264']);
    // The session that ffprobe just used counts as a viewer while it polls.
    assert.ok(((await find('query1'))?.viewers ?? 0) >= 1, 'an HLS session counts as a viewer');

    const media = await (await fetch(`${stack.url}/live/query1.m3u8?hls_ctx=${session}`)).text();
    const segment = media.split('\n').find((l) => l.endsWith('.ts')) ?? '';
    assert.match(segment, /^query1-\d+\.ts$/);
    const ts = await fetch(`${stack.url}/live/${segment}`);
    assert.equal(ts.status, 200);
    assert.equal(ts.headers.get('content-type'), 'video/mp2t');
    assert.equal(ts.headers.get('cache-control'), 'public, max-age=600');
    assert.equal((await ts.arrayBuffer()).byteLength > 1000, true);

    // Normal mode: 10 s segments under their own URL prefix, from the same publish.
    const clientBefore = (await find('query1'))?.client_id;
    for (const on of [false, true, false]) assert.equal((await api('/mgmt/hlsll/update', { hlsLowLatency: on })).status, 200);
    await waitPlaylist('query1', (t) => /\nn\/query1-\d+\.ts/.test(t));
    const normal = await (await fetch(`${stack.url}/live/query1.m3u8?hls_ctx=${session}`)).text();
    assert.match(normal, /#EXT-X-TARGETDURATION:1\d/);
    const normalSegment = normal.split('\n').find((l) => l.endsWith('.ts')) ?? '';
    assert.equal((await fetch(`${stack.url}/live/${normalSegment}`)).status, 200);
    assert.equal(p.running(), true, 'the publisher was never dropped');
    assert.equal((await find('query1'))?.client_id, clientBefore, 'the same publish, never reconnected');
    assert.doesNotMatch(normal, /#EXT-X-ENDLIST/);

    // High-performance mode: the media playlist itself, cacheable (10 s; 1 s in low latency).
    assert.equal((await api('/mgmt/hphls/update', { noHlsCtx: true })).status, 200);
    assert.deepEqual((await api('/mgmt/hphls/query')).json.data, { noHlsCtx: true });
    const hp = await fetch(`${stack.url}/live/query1.m3u8`);
    assert.equal(hp.headers.get('cache-control'), 'public, max-age=10');
    assert.match(await hp.text(), /#EXTINF/);
    await api('/mgmt/hlsll/update', { hlsLowLatency: true });
    assert.equal((await fetch(`${stack.url}/live/query1.m3u8`)).headers.get('cache-control'), 'public, max-age=1');
    await api('/mgmt/hphls/update', { noHlsCtx: false });
    assert.equal((await api('/mgmt/hlsll/update', { hlsLowLatency: 'yes' })).status, 400);
    assert.equal(p.running(), true);
  });

  it('accepts the secret inside the stream name; an ended stream is unlisted at once and its playlist ends', async () => {
    const name = `named${secret}`;
    const p = start(rtmp(name), 7);
    await waitLive(name, p);
    assert.equal((await find(name))?.param, '');
    assert.equal(await p.exited, 0, p.stderr());
    // publish_done is immediate: no reconciliation delay.
    await waitFor(
      async () => !(await find(name)),
      3000,
      () => 'the ended stream to disappear',
    );
    const probe = await ffprobe(`${stack.url}/live/${name}.m3u8`);
    assert.deepEqual(probe.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
    const duration = Number(probe.format.duration);
    assert.ok(duration > 4 && duration < 10, `duration ${duration} s of a 7 s publish`);
    assert.match(await (await fetch(`${stack.url}/live/${name}.m3u8?hls_ctx=x1`)).text(), /#EXT-X-ENDLIST\n$/);
  });

  it('refuses a wrong or missing secret before any media, within a second or so', async () => {
    for (const url of [`${rtmp('wrong1')}?secret=not-the-secret`, rtmp('nosecret')]) {
      const t0 = Date.now();
      const p = start(url, 5);
      const code = await p.exited;
      const ms = Date.now() - t0;
      assert.notEqual(code, 0, `ffmpeg must fail for ${url}`);
      // ffmpeg's own start-up is part of this; the bench reports the figure.
      assert.ok(ms < 3000, `refused after ${ms} ms`);
    }
    assert.equal(await find('wrong1'), undefined);
    assert.equal((await fetch(`${stack.url}/live/wrong1.m3u8`)).status, 404);
  });

  it('kicks off a publisher: it ends, and it is gone from the next query', async () => {
    const p = start(`${rtmp('kick1')}?secret=${secret}`);
    await waitLive('kick1', p);
    const res = await api('/mgmt/streams/kickoff', { vhost: '__defaultVhost__', app: 'live', stream: 'kick1' });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(await find('kick1'), undefined);
    await Promise.race([p.exited, sleep(10_000)]);
    assert.equal(p.running(), false, 'ffmpeg was disconnected');
    assert.equal((await api('/mgmt/streams/kickoff', { vhost: '__defaultVhost__', app: 'live', stream: 'kick1' })).status, 404);
    assert.equal((await api('/mgmt/streams/kickoff', { app: 'live', stream: 'kick1' })).status, 400);
  });

  it('applies secret updates, per-room secrets and disabled auth (streams still registered)', async () => {
    const fresh = crypto.randomBytes(8).toString('hex');
    assert.equal((await api('/hooks/srs/secret/update', { secret: '' })).status, 400);
    assert.equal((await api('/hooks/srs/secret/update', { secret: 'has space' })).status, 400);
    assert.equal((await api('/hooks/srs/secret/update', { secret: fresh })).status, 200);
    const old = start(`${rtmp('upd1')}?secret=${secret}`, 3);
    assert.notEqual(await old.exited, 0, 'the old secret is refused');
    secret = fresh;

    const room = (await api('/live/room/create', { title: 'Room A' })).json.data as { uuid: string; stream: string; secret: string };
    assert.match(room.stream, /^[0-9a-f]{12}$/);
    assert.match(room.secret, /^[0-9A-F]{16}$/);
    const globalKey = start(`${rtmp(room.stream)}?secret=${secret}`, 3);
    assert.notEqual(await globalKey.exited, 0, "the room's own secret is the only one accepted");
    const roomKey = start(`${rtmp(room.stream)}?secret=${room.secret}`, 0);
    await waitLive(room.stream, roomKey);
    await roomKey.stop();
    const list = (await api('/live/room/list')).json.data as { rooms: Array<{ uuid: string }> };
    assert.deepEqual(
      list.rooms.map((r) => r.uuid),
      [room.uuid],
    );
    const updated = await api('/live/room/update', { ...room, title: 'Room B', secret: 'NEWROOMSECRET1' });
    assert.equal((updated.json.data as { title: string }).title, 'Room B');
    assert.equal(((await api('/live/room/query', { uuid: room.uuid })).json.data as { secret: string }).secret, 'NEWROOMSECRET1');
    assert.equal((await api('/live/room/remove', { uuid: room.uuid })).status, 200);
    assert.equal((await api('/live/room/query', { uuid: room.uuid })).status, 404);

    assert.equal((await api('/hooks/srs/secret/disable', { pubNoAuth: true })).status, 200);
    const open = start(rtmp('noauth1'), 0);
    await waitLive('noauth1', open);
    await open.stop();
    assert.equal((await api('/hooks/srs/secret/disable', { pubNoAuth: false })).status, 200);
    assert.equal((await api('/hooks/srs/secret/disable', {})).status, 400);
  });

  it('refuses engine callbacks that do not carry the engine token', async () => {
    const form = 'app=live&clientid=1&call=publish&name=fake&secret=x';
    for (const query of ['', '?engine=wrong']) {
      const res = await fetch(`${stack.url}/terraform/v1/hooks/srs/verify${query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      assert.equal(res.status, 403);
    }
    assert.equal(await find('fake'), undefined);
  });

  it('answers bad HLS paths clearly: traversal 400, unknown stream or app 404', async () => {
    for (const path of [
      '/live/../../etc/passwd.m3u8',
      '/live/..%2f..%2fetc%2fpasswd.ts',
      '/live/%2e%2e/x.ts',
      '/../live/x.m3u8',
      '/live/a%00b.m3u8',
    ]) {
      const res = await rawGet(stack.ports.http, path);
      assert.ok(res.status === 400 || res.status === 404, `${path} → ${res.status}`);
      assert.doesNotMatch(res.body, /root:/);
    }
    assert.equal((await rawGet(stack.ports.http, '/live/..%2f..%2fsecret.m3u8')).status, 400);
    assert.equal((await fetch(`${stack.url}/live/nosuchstream.m3u8`)).status, 404);
    assert.equal((await fetch(`${stack.url}/live/nosuchstream-1.ts`)).status, 404);
    assert.equal((await fetch(`${stack.url}/nosuchapp/x.m3u8`)).status, 404);
  });

  it('survives random bytes, a 10 KB stream name and 1,000 fast connects; the next publish works', async () => {
    const before = await enginePid();
    for (let i = 0; i < 20; i++) await sendRaw(stack.ports.rtmp, crypto.randomBytes(1 + ((i * 997) % 8000)));
    // A valid handshake version byte followed by garbage.
    await sendRaw(stack.ports.rtmp, Buffer.concat([Buffer.from([3]), crypto.randomBytes(4000)]));
    // ffmpeg refuses URLs over 4 KB, so the 10 KB name goes in -rtmp_playpath.
    const playpath = spawn('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=10',
      '-t',
      '2',
      '-c:v',
      'libx264',
      '-rtmp_playpath',
      `${'n'.repeat(10_240)}${secret}`,
      '-f',
      'flv',
      rtmp('x'),
    ]);
    await new Promise((r) => playpath.once('exit', r));
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 100 }, () => sendRaw(stack.ports.rtmp, Buffer.alloc(0), 0)));
    }
    const after = await enginePid();
    assert.equal(after?.pid, before?.pid, 'the engine never restarted');
    assert.equal(after?.status, 'ready');
    assert.ok(isAlive(stack.proc.pid as number));
    const p = start(`${rtmp('after1')}?secret=${secret}`);
    await waitLive('after1', p);
    await waitPlaylist('after1');
  });

  it('restarts a killed engine; its streams are unlisted at once and the next publish works', async () => {
    const p = start(`${rtmp('crash1')}?secret=${secret}`);
    await waitLive('crash1', p);
    const before = await enginePid();
    assert.ok(before?.pid);
    process.kill(before.pid, 'SIGKILL');
    await waitFor(
      async () => !(await find('crash1')),
      5000,
      () => 'the dead stream to be unlisted',
    );
    await waitFor(
      async () => {
        const now = await enginePid();
        return Boolean(now && now.pid !== before.pid && now.status === 'ready');
      },
      15_000,
      () => `the engine to come back\n${stack.logs()}`,
    );
    await Promise.race([p.exited, sleep(10_000)]);
    assert.equal(p.running(), false, 'the publisher lost its connection with the engine');
    const again = start(`${rtmp('crash2')}?secret=${secret}`);
    await waitLive('crash2', again);
    await waitPlaylist('crash2');
    const probe = await ffprobe(`${stack.url}/live/crash2.m3u8`);
    assert.equal(probe.streams.length, 2);
  });
});
