import assert from 'node:assert/strict';
import path from 'node:path';
import { ffprobe, makeMedia, publishFile, startRtmpServer, type Publisher, type RtmpServer } from '../helpers/media.js';
import {
  publishIntoStack,
  publishSecretOf,
  Slots,
  stackPlayUrl,
  stackPublishUrl,
  TranscodeSlot,
  waitStreamLive,
  type SourceFile,
} from '../helpers/restream.js';
import { initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

const TRANSCODE_FAST = { all: true, vbitrate: 300, abitrate: 32, vprofile: 'baseline', vpreset: 'ultrafast' };

describe('IP camera and transcode', function () {
  this.timeout(120_000);
  const media = tempDir('restream-media-');
  let stack: StackHandle;
  let bearer: string;
  /** An IP camera: an RTMP server of its own, outside the stack. */
  let camera: RtmpServer;
  let dest: RtmpServer;
  const publishers: Publisher[] = [];
  let cameras: Slots;
  let transcode: TranscodeSlot;
  let video: string;
  let show: string;

  before(async () => {
    camera = await startRtmpServer();
    dest = await startRtmpServer();
    stack = await startStack();
    bearer = await initAdmin(stack);
    cameras = new Slots(stack, bearer, 'camera');
    transcode = new TranscodeSlot(stack, bearer);
    video = await makeMedia(path.join(media, 'camera.flv'), { seconds: 4, audio: false, format: 'flv' });
    show = await makeMedia(path.join(media, 'show.flv'), { seconds: 4, format: 'flv' });
    publishers.push(publishFile(camera.url('live', 'front'), video));
    publishers.push(await publishIntoStack(stack, bearer, show, 'livestream'));
    await waitFor(
      async () => (await ffprobe(camera.url('live', 'front')).catch(() => ({ streams: [] }))).streams.length === 1,
      15_000,
      () => 'camera up',
    );
  });
  after(async () => {
    for (const p of publishers) await p.stop();
    await stack?.stop();
    await camera?.stop();
    await dest?.stop();
  });

  it('relays a video-only camera with a generated silent stereo AAC track', async () => {
    const files = await cameras.sourceFromUrl('camera-1-c0ffee', camera.url('live', 'front'));
    assert.equal(files[0]?.audio, null, 'the camera has no audio');
    await cameras.configure('camera-1-c0ffee', { server: dest.url('live', 'cam'), extraAudio: 'silent', enabled: true, files });
    const { streams } = await ffprobe(dest.url('live', 'cam'));
    const audio = streams.find((s) => s.codec_type === 'audio');
    assert.equal(streams.find((s) => s.codec_type === 'video')?.codec_name, 'h264');
    assert.deepEqual([audio?.codec_name, audio?.channels, audio?.sample_rate], ['aac', 2, '44100']);
  });

  it('refuses non-stream camera sources and a camera over the camera bitrate limit', async () => {
    const bad = await stack.api(
      '/terraform/v1/ffmpeg/camera/source',
      { platform: 'camera-1-c0ffee', files: [{ target: 'upload/x.mp4', type: 'upload' }] },
      { bearer },
    );
    assert.equal(bad.status, 400);
    await stack.api('/terraform/v1/mgmt/limits/update', { camera: 100 }, { bearer });
    const res = await stack.api(
      '/terraform/v1/ffmpeg/camera/source',
      { platform: 'camera-2-beefed', files: [{ target: camera.url('live', 'front'), type: 'stream' }] },
      { bearer },
    );
    await stack.api('/terraform/v1/mgmt/limits/update', { camera: 5000 }, { bearer });
    // RTMP carries no container bitrate: the limit applies to the streams' own (300 Kbps video).
    assert.equal(res.status, 400);
    assert.match(res.json.message ?? '', /^bitrate \d+Kbps is too large, exceed 100Kbps/);
  });

  it('waits for a stream of this stack that is still starting before probing it: audio and video, video-only, audio-only', async () => {
    const secret = await publishSecretOf(stack, bearer);
    const audioOnly = await makeMedia(path.join(media, 'audio.flv'), { seconds: 4, video: false, format: 'flv' });
    const cases = [
      { stream: 'starting-av', file: show, host: 'localhost', streams: 2 },
      { stream: 'starting-v', file: video, host: '127.0.0.1', streams: 1 },
      { stream: 'starting-a', file: audioOnly, host: 'localhost', streams: 1 },
    ];
    for (const [i, c] of cases.entries()) {
      // SRS Stack's console: the stream URL with the publish secret, as the user copies it.
      const url = `rtmp://${c.host}:${stack.ports.rtmp}/live/${c.stream}?secret=${secret}`;
      publishers.push(publishFile(url, c.file));
      const [cam, vl] = await Promise.all([
        stack.api(
          '/terraform/v1/ffmpeg/camera/source',
          { platform: `camera-${i + 3}-abcdef`, files: [{ target: url, type: 'stream' }] },
          { bearer },
        ),
        stack.api(
          '/terraform/v1/ffmpeg/vlive/source',
          { platform: `vlive-${i + 3}-abcdef`, files: [{ target: url, type: 'stream' }] },
          { bearer },
        ),
      ]);
      for (const res of [cam, vl]) {
        assert.equal(res.status, 200, `${c.stream}: ${JSON.stringify(res.json)}`);
        const file = (res.json.data as { files: SourceFile[] }).files[0];
        assert.equal([file?.video, file?.audio].filter(Boolean).length, c.streams, `${c.stream}: ${JSON.stringify(file)}`);
      }
    }
    const started = Date.now();
    const never = await stack.api(
      '/terraform/v1/ffmpeg/camera/source',
      { platform: 'camera-6-abcdef', files: [{ target: `rtmp://127.0.0.1:${stack.ports.rtmp}/live/never-comes`, type: 'stream' }] },
      { bearer },
    );
    assert.equal(never.status, 400);
    assert.match(never.json.message ?? '', /live\/never-comes is not live/);
    assert.ok(Date.now() - started < 10_000, 'the wait is bounded');
    // Transcode takes the newest live stream: these go, `livestream` stays the newest.
    for (const p of publishers.splice(publishers.length - cases.length)) await p.stop();
    await waitFor(
      async () => {
        const res = await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer });
        const live = (res.json.data as { streams: Array<{ stream: string }> | null }).streams ?? [];
        return !live.some((s) => s.stream.startsWith('starting-'));
      },
      20_000,
      () => 'the starting-* streams ended',
    );
  });

  it('restarts a camera periodically with max-stream-duration', async () => {
    const target = `${camera.url('live', 'front')}?max-stream-duration=4s`;
    await cameras.configure(
      'camera-1-c0ffee',
      { server: dest.url('live', 'cam'), extraAudio: '', enabled: true, files: [{ target, type: 'stream' }] },
      (r) => /planned restart after 4 s/.test(r?.task?.lastError ?? ''),
    );
    await cameras.stop('camera-1-c0ffee');
  });

  it('reports frame.log and frame.update within 3 s of its source going live', async () => {
    // SRS Stack's transcode shows progress at once: the console's frame line is the user's sign it works.
    const show = path.join(media, 'show.flv');
    await transcode.configure({ ...TRANSCODE_FAST, server: dest.url('live', 'trans'), secret: '' });
    const t0 = Date.now();
    const fresh = publishFile(stackPublishUrl(stack, await publishSecretOf(stack, bearer), 'fresh'), show);
    publishers.push(fresh);
    const row = await transcode.until((r) => r?.input === 'live/fresh' && Boolean(r.frame?.log) && Boolean(r.frame?.update), 15_000);
    const ms = Date.parse(row.frame?.update ?? '') - t0;
    const spawned = Date.parse(row.task?.start ?? '') - t0;
    assert.ok(ms < 3000, `first progress ${ms} ms after the publish, ffmpeg spawned after ${spawned} ms (${row.frame?.log})`);
    assert.match(row.frame?.log ?? '', /frame= *\d+ .*time=/);
    await fresh.stop();
    await transcode.apply({ ...TRANSCODE_FAST, all: false });
  });

  it('transcodes the latest stream, never its own output, with the requested channel count', async () => {
    // Published back into the stack, the output is itself the newest live stream: never the input.
    const secret = `livestream-trans?secret=${await publishSecretOf(stack, bearer)}`;
    const config = {
      all: true,
      vbitrate: 300,
      abitrate: 32,
      vprofile: 'baseline',
      vpreset: 'ultrafast',
      achannels: 1,
      server: 'rtmp://localhost/live/',
      secret,
    };
    const { pid } = (await transcode.configure(config)).task ?? {};
    assert.equal((await transcode.query()).achannels, 1);
    await waitStreamLive(stack, bearer, 'livestream-trans');
    const { streams } = await ffprobe(stackPlayUrl(stack, 'livestream-trans'));
    const audio = streams.find((s) => s.codec_type === 'audio');
    assert.deepEqual([audio?.codec_name, audio?.channels], ['aac', 1]);
    assert.equal(streams.find((s) => s.codec_type === 'video')?.codec_name, 'h264');
    // Applying the same config again re-plans and answers once the task matches the plan: the plan
    // is made while the -trans output is live, the newest stream, and must still not be the input.
    await transcode.apply(config);
    const t = await transcode.task();
    assert.equal(t.input, 'live/livestream', 'the newer -trans stream is its own output');
    assert.equal(t.task?.pid, pid, 'the same ffmpeg');
    assert.equal(t.enabled, true);
    assert.match(String(t.output), /\/live\/\*{6}\?secret=\*{6}$/, 'the key and the publish secret are masked');
    await transcode.apply({ ...config, all: false });
    assert.equal((await transcode.task()).state, 'inactive');
  });
});
