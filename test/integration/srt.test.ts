// SRT with real parts: ffmpeg callers on the stack's one SRT port, libsrt in the gateway, nginx-rtmp
// behind it, the user's HTTP callback in front. Each case fails if the gateway does not do what
// SRS does: route by streamid, refuse at the handshake, bridge a normal stream, kick, play.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { ffprobe, mediaSecondsReceived, publish } from '../helpers/media.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../helpers/restream.js';
import { keepPlaying, playId, publishId, srtPublish, srtStatus, srtUrl } from '../helpers/srt.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';
import type { Publisher } from '../helpers/media.js';

interface Listed {
  app: string;
  stream: string;
  param: string;
  viewers: number;
}

describe('SRT publish and play on one UDP port', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let bearer: string;
  let secret: string;
  let receiver: CallbackReceiver;
  const running: Publisher[] = [];
  const track = (p: Publisher) => (running.push(p), p);

  const streams = async (): Promise<Listed[]> =>
    ((await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer })).json.data as { streams: Listed[] | null }).streams ?? [];
  const listed = async (stream: string) => (await streams()).find((s) => s.stream === stream);
  const url = (streamid: string) => srtUrl(stack.srtPort, streamid);
  /** Resolves with ffmpeg's exit code, or 'running' if it still runs after `ms`. */
  const exitWithin = (p: Publisher, ms: number) =>
    Promise.race([p.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), ms))]);

  before(async () => {
    receiver = await startCallbackReceiver('ok');
    stack = await startStack();
    bearer = await initAdmin(stack);
    secret = await publishSecretOf(stack, bearer);
    const target = receiver.url;
    assert.equal((await stack.api('/terraform/v1/mgmt/hooks/apply', { all: true, target, opaque: 'srt' }, { bearer })).status, 200);
    await waitFor(
      async () => (await srtStatus(stack, bearer)).available,
      10_000,
      () => `SRT available\n${stack.logs()}`,
    );
  });
  afterEach(async () => {
    receiver.verdict = 'ok';
    await Promise.all(running.splice(0).map((p) => p.stop()));
  });
  after(async () => {
    await stack?.stop();
    receiver?.close();
  });

  it('several streams on one port, in every streamid form; each is a normal stream with upstream=srt', async () => {
    track(srtPublish(url(publishId('s1', secret))));
    track(srtPublish(url(`#!::h=srs.local,r=live/s2?secret=${secret},m=publish`)));
    track(srtPublish(url(`live/s3?secret=${secret}`)));
    for (const s of ['s1', 's2', 's3']) await waitStreamLive(stack, bearer, s);
    for (const s of ['s1', 's2', 's3']) {
      const row = await listed(s);
      assert.match(row?.param ?? '', /upstream=srt/, `${s} carries the SRT mark`);
    }
    // A second publisher of a live name is refused at the handshake too.
    const second = track(srtPublish(url(publishId('s1', secret))));
    assert.notEqual(await exitWithin(second, 3000), 'running', 'a second publisher of s1 is refused');
    const status = await srtStatus(stack, bearer);
    assert.ok(
      status.refusals.some((r) => /already publishing \(1409\)/.test(r.reason)),
      JSON.stringify(status.refusals),
    );
    assert.deepEqual(status.publishers.map((p) => p.stream).sort(), ['s1', 's2', 's3']);
    assert.deepEqual(status.publishers[0]?.codecs, ['H.264', 'AAC']);
  });

  it('an SRT publish plays over HTTP-FLV and HLS with audio and video, and over SRT', async () => {
    track(srtPublish(url(publishId('both', secret))));
    await waitStreamLive(stack, bearer, 'both');
    const codecs = (p: Awaited<ReturnType<typeof ffprobe>>) => p.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
    // Listed once admitted; the bridge's publish into the engine follows within a second.
    let flv: string[] = [];
    await waitFor(
      async () => {
        flv = codecs(await ffprobe(`${stack.url}/live/both.flv`).catch(() => ({ streams: [], format: {} })));
        return flv.length === 2;
      },
      15_000,
      () => `HTTP-FLV with audio and video, saw ${flv.join(', ')}`,
    );
    assert.deepEqual(flv, ['audio:aac', 'video:h264']);
    let hls: string[] = [];
    await waitFor(
      async () => {
        hls = codecs(await ffprobe(`${stack.url}/live/both.m3u8`).catch(() => ({ streams: [], format: {} })));
        return hls.length === 2;
      },
      30_000,
      () => `HLS with audio and video, saw ${hls.join(', ')}`,
    );
    assert.deepEqual(hls, ['audio:aac', 'video:h264']);
    assert.ok((await mediaSecondsReceived(url(playId('both')), 3, 30_000)) >= 2.5, 'SRT play of an SRT publish delivers media');
  });

  it('a wrong or missing secret is refused at the handshake, within 3 s, and never listed', async () => {
    for (const [stream, streamid] of [
      ['wrong', publishId('wrong', 'not-the-secret')],
      ['missing', '#!::r=live/missing,m=publish'],
    ] as const) {
      const started = Date.now();
      const caller = track(srtPublish(url(streamid)));
      const code = await exitWithin(caller, 3000);
      assert.notEqual(code, 'running', `${stream}: refused within 3 s`);
      assert.notEqual(code, 0, `${stream}: ffmpeg reports the refusal`);
      assert.ok(Date.now() - started < 3000);
      assert.equal(await listed(stream), undefined, `${stream} never listed`);
      assert.ok(!receiver.received.some((b) => b.stream === stream), `${stream}: the user's callback never heard of it`);
    }
    const status = await srtStatus(stack, bearer);
    assert.ok(
      status.refusals.some((r) => /wrong or missing secret \(1401\)/.test(r.reason)),
      JSON.stringify(status.refusals),
    );
    assert.ok((status.worker?.handshakes.rejected ?? 0) >= 2);
  });

  it("the user's HTTP callback sees upstream=srt and can veto an SRT publish", async () => {
    receiver.verdict = 'fail';
    const caller = track(srtPublish(url(publishId('vetoed', secret))));
    const code = await exitWithin(caller, 15_000);
    assert.notEqual(code, 'running', 'the vetoed caller is disconnected');
    assert.notEqual(code, 0);
    const hook = receiver.received.find((b) => b.action === 'on_publish' && b.stream === 'vetoed');
    assert.ok(hook, 'on_publish was sent');
    assert.match(String(hook.param), /upstream=srt/);
    assert.match(String(hook.param), new RegExp(`secret=${secret}`));
    assert.equal(await listed('vetoed'), undefined, 'a vetoed stream is never listed');
  });

  it('kickoff really disconnects the SRT caller', async () => {
    const caller = track(srtPublish(url(publishId('kicked', secret))));
    await waitStreamLive(stack, bearer, 'kicked');
    const res = await stack.api(
      '/terraform/v1/mgmt/streams/kickoff',
      { vhost: '__defaultVhost__', app: 'live', stream: 'kicked' },
      { bearer },
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const code = await exitWithin(caller, 10_000);
    assert.notEqual(code, 'running', 'the SRT caller was disconnected');
    await waitFor(
      async () => (await listed('kicked')) === undefined,
      10_000,
      () => 'kicked stream gone from the list',
    );
  });

  it('SRT plays an RTMP-published stream to two players at once, counted as viewers; a stream not live is refused', async () => {
    const rtmp = track(publish(stackPublishUrl(stack, secret, 'fromrtmp')));
    assert.ok(rtmp.running());
    await waitStreamLive(stack, bearer, 'fromrtmp');
    const players = [track(keepPlaying(url(playId('fromrtmp')))), track(keepPlaying(url(playId('fromrtmp'))))];
    await waitFor(
      async () => (await listed('fromrtmp'))?.viewers === 2,
      20_000,
      async () => `2 viewers of fromrtmp, saw ${JSON.stringify(await listed('fromrtmp'))}`,
    );
    const [a, b] = await Promise.all([
      mediaSecondsReceived(url(playId('fromrtmp')), 3, 30_000),
      mediaSecondsReceived(url(playId('fromrtmp')), 3, 30_000),
    ]);
    assert.ok(a >= 2.5 && b >= 2.5, `both extra players got media: ${a}, ${b}`);
    assert.ok(
      players.every((p) => p.running()),
      'the long-running players still play',
    );
    const nobody = track(keepPlaying(url(playId('not-live'))));
    const code = await exitWithin(nobody, 3000);
    assert.notEqual(code, 'running', 'a play of a stream that is not live is refused at the handshake');
  });

  it('when the bridge into the engine dies, it is restarted (or the caller dropped): never a listed stream that does not play', async () => {
    const caller = track(srtPublish(url(publishId('phoenix', secret))));
    await waitStreamLive(stack, bearer, 'phoenix');
    const bridge = async () =>
      (
        (await stack.api('/terraform/v1/mgmt/supervisor/query', {}, { bearer })).json.data as {
          children: Array<{ name: string; pid: number | null; restarts: number }>;
        }
      ).children.find((c) => c.name.startsWith('srt-publish-phoenix-'));
    let first: Awaited<ReturnType<typeof bridge>>;
    await waitFor(
      async () => Boolean((first = await bridge())?.pid),
      10_000,
      () => 'the bridge ffmpeg',
    );
    process.kill(first?.pid as number, 'SIGKILL');
    let outcome = '';
    await waitFor(
      async () => {
        const row = await listed('phoenix');
        if (!row) return !caller.running() && Boolean((outcome = 'dropped'));
        const now = await bridge();
        if (!now?.pid || now.pid === first?.pid) return false;
        const probe = await ffprobe(`${stack.url}/live/phoenix.flv`, 10_000).catch(() => null);
        return (probe?.streams.length ?? 0) === 2 && Boolean((outcome = 'restarted'));
      },
      30_000,
      async () =>
        `a restarted bridge that plays, or a dropped caller; listed ${JSON.stringify(await listed('phoenix'))}, caller running ${caller.running()}`,
    );
    assert.ok(outcome === 'restarted' || outcome === 'dropped', outcome);
    console.log(`      bridge death: ${outcome}`);
  });

  it('H.265 over SRT is refused with a reason that says why, and never listed', async () => {
    const caller = track(srtPublish(url(publishId('hevc', secret)), { codec: 'h265' }));
    const code = await exitWithin(caller, 20_000);
    assert.notEqual(code, 'running', 'the H.265 caller is disconnected');
    assert.equal(await listed('hevc'), undefined);
    const status = await srtStatus(stack, bearer);
    const refusal = status.refusals.find((r) => r.stream === 'live/hevc');
    assert.match(refusal?.reason ?? '', /H\.265\/HEVC cannot be carried by the RTMP engine/, JSON.stringify(status.refusals));
    assert.match(stack.logs(), /SRT publish of live\/hevc from .* refused: H\.265/);
    assert.ok(!receiver.received.some((b) => b.stream === 'hevc'), 'refused before admission: no callback');
  });

  it('garbage datagrams on the SRT port do not hurt: a normal publish works after them', async () => {
    const socket = dgram.createSocket('udp4');
    const send = (buf: Buffer) => new Promise<void>((r) => socket.send(buf, stack.srtPort, '127.0.0.1', () => r()));
    for (let i = 0; i < 3000; i++) {
      const size = 1 + crypto.randomInt(1500);
      const buf = crypto.randomBytes(size);
      if (i % 3 === 0 && size >= 16) buf[0] = (buf[0] as number) | 0x80; // looks like an SRT control packet
      if (i % 5 === 0 && size >= 48) buf.writeUInt32BE(0x80000000, 0); // a handshake header, random body
      await send(buf);
    }
    socket.close();
    assert.equal((await stack.api('/terraform/v1/mgmt/check')).status, 200);
    track(srtPublish(url(publishId('aftergarbage', secret))));
    await waitStreamLive(stack, bearer, 'aftergarbage');
    assert.ok((await srtStatus(stack, bearer)).available);
  });
});

describe('SRT settings: passphrase, and a host without libsrt', function () {
  this.timeout(90_000);
  let stack: StackHandle | undefined;
  const running: Publisher[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await stack?.stop();
    stack = undefined;
  });

  it('SRT_PASSPHRASE: callers without it are refused, callers with it publish', async () => {
    const passphrase = 'correct-horse-42';
    stack = await startStack({ env: { SRT_PASSPHRASE: passphrase } });
    const bearer = await initAdmin(stack);
    const secret = await publishSecretOf(stack, bearer);
    await waitFor(async () => (await srtStatus(stack as StackHandle, bearer)).available, 10_000);
    const plain = srtPublish(srtUrl(stack.srtPort, publishId('enc', secret)));
    running.push(plain);
    const code = await Promise.race([plain.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 3000))]);
    assert.notEqual(code, 'running', 'a caller without the passphrase is refused');
    const encrypted = srtPublish(srtUrl(stack.srtPort, publishId('enc', secret), `&passphrase=${passphrase}`));
    running.push(encrypted);
    await waitStreamLive(stack, bearer, 'enc');
    assert.equal((await srtStatus(stack, bearer)).publishers[0]?.stream, 'enc');
  });

  it('without libsrt the stack starts, RTMP works, and SRT says it is off and how to install it', async () => {
    stack = await startStack({ env: { SRT_LIBRARY: 'libsrt-not-installed.so.0' } });
    const bearer = await initAdmin(stack);
    let status = await srtStatus(stack, bearer);
    await waitFor(
      async () => (status = await srtStatus(stack as StackHandle, bearer)).state === 'unavailable',
      10_000,
      () => JSON.stringify(status),
    );
    assert.equal(status.available, false);
    assert.match(status.reason, /apt install libsrt1\.5-openssl/);
    assert.equal(stack.logs().match(/SRT is off/g)?.length, 1, 'logged once');
    const secret = await publishSecretOf(stack, bearer);
    running.push(publish(stackPublishUrl(stack, secret, 'rtmp-still')));
    await waitStreamLive(stack, bearer, 'rtmp-still');
  });
});
