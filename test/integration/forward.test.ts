import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ffprobe, makeMedia, recordSrt, startRtmpServer, startTlsTerminator, type Publisher, type RtmpServer } from '../helpers/media.js';
import { publishIntoStack, Slots } from '../helpers/restream.js';
import { initAdmin, isAlive, startStack, tempDir, waitFor, type StackHandle, consoleSession } from '../helpers/stack.js';

describe('forward: restream a live stream to another RTMP server', function () {
  this.timeout(120_000);
  const media = tempDir('restream-media-');
  let stack: StackHandle;
  let bearer: string;
  let dest: RtmpServer;
  let publisher: Publisher;
  let file: string;
  let forward: Slots;
  const key = 'fwd-key-5f2c9';

  before(async () => {
    dest = await startRtmpServer();
    stack = await startStack({ env: { SRS_FORWARD_LIMIT: '2' } });
    bearer = await initAdmin(stack);
    // The tests below restart the stack: the slots always talk to the current one.
    forward = new Slots(() => stack, bearer, 'forward');
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
    assert.equal((await forward.update('youtube', { server: 'rtmp://h/live' })).status, 400);
    assert.match((await forward.update('wx', {})).json.message ?? '', /no server/);
    assert.match((await forward.update('wx', { server: 'http://h/live' })).json.message ?? '', /rtmp:\/\/, rtmps:\/\/ or srt:\/\//);
    assert.equal((await forward.call('secret', { action: 'delete', platform: 'wx' })).status, 400);
    assert.equal(
      (await stack.api('/terraform/v1/ffmpeg/forward/secret', { action: 'update', platform: 'wx', server: 'rtmp://h/l' })).status,
      401,
    );
  });

  it('forwards the latest stream, copy codec, and the destination plays it', async () => {
    const t0 = Date.now();
    const r = await forward.configure('wx', { server: dest.url('live', key), secret: '', enabled: true, custom: true, label: 'Dest' });
    const config = (await forward.saved()).wx;
    assert.deepEqual(
      [config?.server, config?.secret],
      [`rtmp://127.0.0.1:${dest.port}/live`, key],
      'a full URL is split at the last slash',
    );
    const { streams } = await ffprobe(dest.url('live', key));
    assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    assert.equal(r.stream, 'live/livestream');
    assert.match(r?.frame?.log ?? '', /time=\d\d:\d\d:\d\d/);
    assert.ok(Date.now() - t0 < 20_000);
  });

  it('never shows the stream key in the listing, the task output or the tail', async () => {
    const text = JSON.stringify(await forward.rows());
    assert.ok(!text.includes(key), text);
    assert.match((await forward.row('wx'))?.task?.output ?? '', /\/live\/\*\*\*\*\*\*$/);
    assert.ok(!stack.logs().includes(key), 'the stack log masks the key too');
  });

  it('enforces SRS_FORWARD_LIMIT for new slots', async () => {
    const body = { server: dest.url('live', 'other'), enabled: false };
    await forward.save('bilibili', body);
    const third = await forward.update('forwarding-3-abcdef', body);
    assert.equal(third.status, 409);
    assert.match(third.json.message ?? '', /limit reached: 2 of 2 slots.*SRS_FORWARD_LIMIT/);
    await forward.save('bilibili', { ...body, label: 'x' });
  });

  it('forwards to an SRT destination as MPEG-TS', async () => {
    const out = path.join(media, 'srt.ts');
    const { port, finished } = await recordSrt(out, 4);
    await forward.save('bilibili', { server: `srt://127.0.0.1:${port}?streamid=#!::r=live/srt,m=publish`, enabled: true });
    await finished(30_000);
    await forward.stop('bilibili');
    const { streams } = await ffprobe(out);
    assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  });

  it('forwards to an RTMPS destination over TLS', async () => {
    const tls = await startTlsTerminator(dest.port);
    try {
      await forward.configure('bilibili', { server: `rtmps://127.0.0.1:${tls.port}/live`, secret: 'over-tls', enabled: true });
      // What arrived behind the TLS terminator is the forwarded stream, codecs intact.
      const { streams } = await ffprobe(dest.url('live', 'over-tls'));
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
      assert.ok(tls.handshakes() > 0, 'the forward connected through TLS');
      await forward.stop('bilibili');
    } finally {
      await tls.stop();
    }
  });

  it('retries while the destination is down and recovers when it comes back', async () => {
    const up = (await forward.row('wx'))?.task;
    assert.ok(up?.pid, JSON.stringify(up));
    await dest.stop();
    // Retrying: a restart made while the destination was down failed too, and the task waits again.
    const down = await forward.until(
      'wx',
      (r) =>
        r?.state === 'retrying' &&
        r.task?.uuid === up.uuid &&
        r.task.restarts > up.restarts &&
        /Connection refused|Broken pipe|error/i.test(r.task.lastError ?? ''),
    );
    await dest.start();
    const back = await forward.until('wx', 'streaming');
    // Recovered by one of its own retries: the same task restarted once more, not a new one.
    assert.equal(back.task?.uuid, up.uuid, 'the same task');
    assert.ok((back.task?.restarts ?? 0) > (down.task?.restarts ?? 0), `restarted to recover: ${JSON.stringify(back.task)}`);
    assert.notEqual(back.task?.pid, up.pid);
    assert.equal((await ffprobe(dest.url('live', key))).streams.length, 2);
  });

  it('kills an ffmpeg hung with SIGSTOP after 10 s without progress, and restarts it', async () => {
    const pid = (await forward.row('wx'))?.task?.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGSTOP');
    await forward.until('wx', (r) => Boolean(r?.task?.pid && r.task.pid !== pid && /stalled/.test(r.task.lastError ?? '')));
    assert.ok(!isAlive(pid), 'the hung ffmpeg was killed');
    await forward.until('wx', 'streaming');
    assert.equal((await ffprobe(dest.url('live', key))).streams.length, 2);
  });

  it('stops the task when the slot is disabled', async () => {
    const pid = (await forward.row('wx'))?.task?.pid as number;
    await forward.stop('wx');
    assert.equal((await forward.row('wx'))?.task, undefined);
    assert.ok(!isAlive(pid));
  });

  it('resumes enabled tasks after the stack restarts', async () => {
    const pid = (await forward.configure('wx', { server: dest.url('live', key), enabled: true })).task?.pid as number;
    await stack.stop();
    assert.ok(!isAlive(pid), 'a clean stop stops the tasks');
    assert.equal(fs.readdirSync(path.join(stack.dataDir, 'run')).filter((f) => f.startsWith('forward-')).length, 0);
    await publisher.stop();
    stack = await startStack({ dataDir: stack.dataDir, ports: stack.ports, env: { SRS_FORWARD_LIMIT: '2' } });
    publisher = await publishIntoStack(stack, bearer, file, 'livestream');
    await forward.until('wx', 'streaming');
    assert.equal((await ffprobe(dest.url('live', key))).streams.length, 2);
  });

  it('reaps the ffmpeg a crashed stack left behind, then resumes the task', async () => {
    const orphan = (await forward.row('wx'))?.task?.pid as number;
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
    assert.notEqual((await forward.until('wx', 'streaming')).task?.pid, orphan);
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
    const cookie = await consoleSession(stack.url);
    const html = await (await fetch(`${stack.url}/mgmt/scenarios?tab=forward`, { headers: { cookie } })).text();
    const version = /<p class="muted" id="ffmpeg-version">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? html.slice(0, 500);
    assert.match(version, /my-ffmpeg/);
    assert.match(version, /7\.1-custom-build/);

    const file = await makeMedia(path.join(dir, 'src.flv'), { seconds: 4, format: 'flv' });
    publisher = await publishIntoStack(stack, bearer, file, 'livestream');
    await new Slots(stack, bearer, 'forward').configure('wx', { server: dest.url('live', 'custom'), enabled: true });
    assert.equal((await ffprobe(dest.url('live', 'custom'))).streams.length, 2);
    // A slot's default 60 s slate (docs/architecture.md, "The slate"): the stack writes the live tap's
    // stream into the forward's stdin, and the same FFmpeg encodes the slate clip.
    const ran = fs.readFileSync(calls, 'utf8');
    assert.match(ran, /-f flv -fpsprobesize 0 -i pipe:0 -c copy -f flv rtmp:\/\/127\.0\.0\.1/);
    assert.match(ran, /-f lavfi -i color=.* -x264-params repeat-headers=1 .*slate-/);
  });
});
