import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ffprobe, makeMedia, recordSrt, startRtmpServer, startTlsTerminator, type Publisher, type RtmpServer } from '../helpers/media.js';
import { publishIntoStack } from '../helpers/restream.js';
import { ADMIN_PASSWORD, initAdmin, isAlive, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

interface Row {
  platform: string;
  state: string;
  stream?: string;
  frame?: { log: string; update: string };
  task?: { pid: number | null; restarts: number; lastError: string | null; output: string; tail: string[] };
}

describe('forward: restream a live stream to another RTMP server', function () {
  this.timeout(120_000);
  const media = tempDir('restream-media-');
  let stack: StackHandle;
  let bearer: string;
  let dest: RtmpServer;
  let publisher: Publisher;
  let file: string;
  const key = 'fwd-key-5f2c9';

  const rows = async () => (await stack.api('/terraform/v1/ffmpeg/forward/streams', {}, { bearer })).json.data as Row[];
  const row = async (platform: string) => (await rows()).find((r) => r.platform === platform);
  const streaming = (platform: string) => async () => (await row(platform))?.state === 'streaming';

  before(async () => {
    dest = await startRtmpServer();
    stack = await startStack({ env: { SRS_FORWARD_LIMIT: '2' } });
    bearer = await initAdmin(stack);
    file = await makeMedia(path.join(media, 'src.flv'), { seconds: 4, format: 'flv' });
    // Like OBS: publish into the stack, which verifies the secret and registers the stream.
    publisher = await publishIntoStack(stack, bearer, file, 'livestream');
  });
  after(async () => {
    await publisher?.stop();
    await stack?.stop();
    await dest?.stop();
  });

  it('refuses bad slots: unknown platform, no server, a non-RTMP server, an action other than update', async () => {
    const update = (body: Record<string, unknown>) =>
      stack.api('/terraform/v1/ffmpeg/forward/secret', { action: 'update', ...body }, { bearer });
    assert.equal((await update({ platform: 'youtube', server: 'rtmp://h/live' })).status, 400);
    assert.match((await update({ platform: 'wx' })).json.message ?? '', /no server/);
    assert.match((await update({ platform: 'wx', server: 'http://h/live' })).json.message ?? '', /rtmp:\/\/, rtmps:\/\/ or srt:\/\//);
    assert.equal((await stack.api('/terraform/v1/ffmpeg/forward/secret', { action: 'delete', platform: 'wx' }, { bearer })).status, 400);
    assert.equal(
      (await stack.api('/terraform/v1/ffmpeg/forward/secret', { action: 'update', platform: 'wx', server: 'rtmp://h/l' })).status,
      401,
    );
  });

  it('forwards the latest stream, copy codec, and the destination plays it', async () => {
    const t0 = Date.now();
    const res = await stack.api(
      '/terraform/v1/ffmpeg/forward/secret',
      { action: 'update', platform: 'wx', server: dest.url('live', key), secret: '', enabled: true, custom: true, label: 'Dest' },
      { bearer },
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const config = (await stack.api('/terraform/v1/ffmpeg/forward/secret', {}, { bearer })).json.data as Record<
      string,
      { server: string; secret: string }
    >;
    assert.deepEqual(
      [config.wx?.server, config.wx?.secret],
      [`rtmp://127.0.0.1:${dest.port}/live`, key],
      'a full URL is split at the last slash',
    );
    await waitFor(streaming('wx'), 20_000, () => 'wx streaming');
    const { streams } = await ffprobe(dest.url('live', key));
    assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    const r = await row('wx');
    assert.equal(r?.stream, 'live/livestream');
    assert.match(r?.frame?.log ?? '', /time=\d\d:\d\d:\d\d/);
    assert.ok(Date.now() - t0 < 20_000);
  });

  it('never shows the stream key in the listing, the task output or the tail', async () => {
    const text = JSON.stringify(await rows());
    assert.ok(!text.includes(key), text);
    assert.match((await row('wx'))?.task?.output ?? '', /\/live\/\*\*\*\*\*\*$/);
    assert.ok(!stack.logs().includes(key), 'the stack log masks the key too');
  });

  it('enforces SRS_FORWARD_LIMIT for new slots', async () => {
    const body = { action: 'update', server: dest.url('live', 'other'), enabled: false };
    assert.equal((await stack.api('/terraform/v1/ffmpeg/forward/secret', { ...body, platform: 'bilibili' }, { bearer })).status, 200);
    const third = await stack.api('/terraform/v1/ffmpeg/forward/secret', { ...body, platform: 'forwarding-3-abcdef' }, { bearer });
    assert.equal(third.status, 409);
    assert.match(third.json.message ?? '', /limit reached: 2 of 2 slots.*SRS_FORWARD_LIMIT/);
    assert.equal(
      (await stack.api('/terraform/v1/ffmpeg/forward/secret', { ...body, platform: 'bilibili', label: 'x' }, { bearer })).status,
      200,
    );
  });

  it('forwards to an SRT destination as MPEG-TS', async () => {
    const out = path.join(media, 'srt.ts');
    const { port, finished } = await recordSrt(out, 4);
    const body = {
      action: 'update',
      platform: 'bilibili',
      server: `srt://127.0.0.1:${port}?streamid=#!::r=live/srt,m=publish`,
      enabled: true,
    };
    assert.equal((await stack.api('/terraform/v1/ffmpeg/forward/secret', body, { bearer })).status, 200);
    await finished(30_000);
    await stack.api('/terraform/v1/ffmpeg/forward/secret', { ...body, enabled: false }, { bearer });
    const { streams } = await ffprobe(out);
    assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  });

  it('forwards to an RTMPS destination over TLS', async () => {
    const tls = await startTlsTerminator(dest.port);
    try {
      const body = {
        action: 'update',
        platform: 'bilibili',
        server: `rtmps://127.0.0.1:${tls.port}/live`,
        secret: 'over-tls',
        enabled: true,
      };
      assert.equal((await stack.api('/terraform/v1/ffmpeg/forward/secret', body, { bearer })).status, 200);
      let seen: Row | undefined;
      await waitFor(
        async () => {
          seen = await row('bilibili');
          return seen?.state === 'streaming';
        },
        30_000,
        () => `bilibili streaming over rtmps, saw ${JSON.stringify(seen)}`,
      );
      // What arrived behind the TLS terminator is the forwarded stream, codecs intact.
      const { streams } = await ffprobe(dest.url('live', 'over-tls'));
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
      assert.ok(tls.handshakes() > 0, 'the forward connected through TLS');
      await stack.api('/terraform/v1/ffmpeg/forward/secret', { ...body, enabled: false }, { bearer });
    } finally {
      await tls.stop();
    }
  });

  it('retries while the destination is down and recovers when it comes back', async () => {
    await dest.stop();
    let seen: Row | undefined;
    await waitFor(
      async () => {
        seen = await row('wx');
        return seen?.state === 'retrying' && /Connection refused|Broken pipe|error/i.test(seen.task?.lastError ?? '');
      },
      30_000,
      () => `retrying with an error, saw ${JSON.stringify(seen)}`,
    );
    const before = (await row('wx'))?.task?.restarts ?? 0;
    await dest.start();
    await waitFor(streaming('wx'), 30_000, () => 'streaming again');
    assert.ok(((await row('wx'))?.task?.restarts ?? 0) >= before);
    assert.equal((await ffprobe(dest.url('live', key))).streams.length, 2);
  });

  it('kills an ffmpeg hung with SIGSTOP after 10 s without progress, and restarts it', async () => {
    const pid = (await row('wx'))?.task?.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGSTOP');
    let seen: Row | undefined;
    await waitFor(
      async () => {
        seen = await row('wx');
        return Boolean(seen?.task?.pid && seen.task.pid !== pid && /stalled/.test(seen.task.lastError ?? ''));
      },
      30_000,
      () => `a new ffmpeg after the stall, saw ${JSON.stringify(seen)}`,
    );
    assert.ok(!isAlive(pid), 'the hung ffmpeg was killed');
    await waitFor(streaming('wx'), 20_000, () => 'streaming after the stall');
    assert.equal((await ffprobe(dest.url('live', key))).streams.length, 2);
  });

  it('stops the task when the slot is disabled', async () => {
    const pid = (await row('wx'))?.task?.pid as number;
    await stack.api(
      '/terraform/v1/ffmpeg/forward/secret',
      { action: 'update', platform: 'wx', server: dest.url('live', key), enabled: false },
      { bearer },
    );
    const r = await row('wx');
    assert.equal(r?.state, 'inactive');
    assert.equal(r?.task, undefined);
    assert.ok(!isAlive(pid));
  });

  it('resumes enabled tasks after the stack restarts', async () => {
    await stack.api(
      '/terraform/v1/ffmpeg/forward/secret',
      { action: 'update', platform: 'wx', server: dest.url('live', key), enabled: true },
      { bearer },
    );
    await waitFor(streaming('wx'), 20_000, () => 'streaming');
    const pid = (await row('wx'))?.task?.pid as number;
    await stack.stop();
    assert.ok(!isAlive(pid), 'a clean stop stops the tasks');
    assert.equal(fs.readdirSync(path.join(stack.dataDir, 'run')).filter((f) => f.startsWith('forward-')).length, 0);
    await publisher.stop();
    stack = await startStack({ dataDir: stack.dataDir, ports: stack.ports, env: { SRS_FORWARD_LIMIT: '2' } });
    publisher = await publishIntoStack(stack, bearer, file, 'livestream');
    await waitFor(streaming('wx'), 30_000, () => 'streaming after the restart');
    assert.equal((await ffprobe(dest.url('live', key))).streams.length, 2);
  });

  it('reaps the ffmpeg a crashed stack left behind, then resumes the task', async () => {
    const orphan = (await row('wx'))?.task?.pid as number;
    await stack.crash();
    assert.ok(isAlive(orphan), 'a kill -9 of the stack leaves its ffmpeg running');
    await publisher.stop();
    stack = await startStack({ dataDir: stack.dataDir, ports: stack.ports, env: { SRS_FORWARD_LIMIT: '2' } });
    await waitFor(
      () => !isAlive(orphan),
      15_000,
      () => 'the orphaned ffmpeg reaped',
    );
    publisher = await publishIntoStack(stack, bearer, file, 'livestream');
    await waitFor(streaming('wx'), 30_000, () => 'streaming after the crash');
    assert.notEqual((await row('wx'))?.task?.pid, orphan);
  });
});

describe('a replaced FFmpeg (FAQ "How to Replace FFmpeg")', function () {
  this.timeout(60_000);
  const dir = tempDir('custom-ffmpeg-');
  const calls = path.join(dir, 'calls.log');
  const binary = path.join(dir, 'bin', 'my-ffmpeg');
  let stack: StackHandle;
  let dest: RtmpServer;
  let publisher: Publisher;

  before(async () => {
    // A custom build, as users install one: it answers -version with its own name and logs every run.
    fs.mkdirSync(path.dirname(binary), { recursive: true });
    fs.writeFileSync(
      binary,
      [
        '#!/bin/sh',
        `echo "$*" >> '${calls}'`,
        'case " $* " in *" -version "*) echo "ffmpeg version 7.1-custom-build Copyright (c) the FFmpeg developers"; exit 0;; esac',
        'exec ffmpeg "$@"',
      ].join('\n'),
      { mode: 0o755 },
    );
    dest = await startRtmpServer();
    stack = await startStack({ env: { FFMPEG_BIN: binary } });
  });
  after(async () => {
    await publisher?.stop();
    await stack?.stop();
    await dest?.stop();
  });

  it('runs every task with FFMPEG_BIN and shows its version in the console', async () => {
    const bearer = await initAdmin(stack);
    const login = await fetch(`${stack.url}/mgmt/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `password=${ADMIN_PASSWORD}`,
      redirect: 'manual',
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const html = await (await fetch(`${stack.url}/mgmt/scenarios?tab=forward`, { headers: { cookie } })).text();
    const version = /<p class="muted" id="ffmpeg-version">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? html.slice(0, 500);
    assert.match(version, /my-ffmpeg/);
    assert.match(version, /7\.1-custom-build/);

    const file = await makeMedia(path.join(dir, 'src.flv'), { seconds: 4, format: 'flv' });
    publisher = await publishIntoStack(stack, bearer, file, 'livestream');
    const res = await stack.api(
      '/terraform/v1/ffmpeg/forward/secret',
      { action: 'update', platform: 'wx', server: dest.url('live', 'custom'), enabled: true },
      { bearer },
    );
    assert.equal(res.status, 200);
    assert.equal((await ffprobe(dest.url('live', 'custom'))).streams.length, 2);
    assert.match(fs.readFileSync(calls, 'utf8'), /-re -i rtmp:\/\/127\.0\.0\.1:\d+\/live\/livestream -c copy -f flv rtmp:\/\/127\.0\.0\.1/);
  });
});
