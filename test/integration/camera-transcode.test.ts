import assert from 'node:assert/strict';
import path from 'node:path';
import {
  makeMedia,
  probeStreams,
  publishLoop,
  registerActiveStream,
  startRtmpServer,
  type Publisher,
  type RtmpServer,
} from '../helpers/media.js';
import { freePort, initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

interface Task {
  pid: number | null;
  restarts: number;
  lastError: string | null;
}

describe('IP camera and transcode', function () {
  this.timeout(120_000);
  const media = tempDir('restream-media-');
  let stack: StackHandle;
  let bearer: string;
  let engine: RtmpServer;
  let dest: RtmpServer;
  const publishers: Publisher[] = [];

  before(async () => {
    const ports = { http: await freePort(), https: await freePort(), rtmp: await freePort() };
    // nginx-rtmp on the stack's RTMP port stands in for the engine: cameras publish there too.
    engine = await startRtmpServer(ports.rtmp);
    dest = await startRtmpServer();
    stack = await startStack({ ports });
    bearer = await initAdmin(stack);
    const camera = await makeMedia(path.join(media, 'camera.flv'), { seconds: 4, audio: false, format: 'flv' });
    const show = await makeMedia(path.join(media, 'show.flv'), { seconds: 4, format: 'flv' });
    publishers.push(publishLoop(camera, engine.url('live', 'front')));
    publishers.push(publishLoop(show, engine.url('live', 'livestream')));
    await registerActiveStream(stack, 'live', 'livestream');
    await waitFor(
      async () => (await probeStreams(engine.url('live', 'front')).catch(() => [])).length === 1,
      15_000,
      () => 'camera up',
    );
  });
  after(async () => {
    for (const p of publishers) await p.stop();
    await stack?.stop();
    await engine?.stop();
    await dest?.stop();
  });

  const cameraRow = async (platform: string) =>
    (
      (await stack.api('/terraform/v1/ffmpeg/camera/streams', {}, { bearer })).json.data as Array<{
        platform: string;
        state: string;
        task?: Task;
      }>
    ).find((r) => r.platform === platform);

  it('relays a video-only camera with a generated silent stereo AAC track', async () => {
    const url = await stack.api('/terraform/v1/ffmpeg/camera/stream-url', { url: engine.url('live', 'front') }, { bearer });
    assert.equal(url.status, 200);
    const src = await stack.api(
      '/terraform/v1/ffmpeg/camera/source',
      { platform: 'camera-1-c0ffee', files: [{ ...(url.json.data as object), size: 0, type: 'stream' }] },
      { bearer },
    );
    assert.equal(src.status, 200, JSON.stringify(src.json));
    const files = (src.json.data as { files: Array<{ audio: unknown; video: { codec_name: string } }> }).files;
    assert.equal(files[0]?.audio, null, 'the camera has no audio');
    const upd = await stack.api(
      '/terraform/v1/ffmpeg/camera/secret',
      { action: 'update', platform: 'camera-1-c0ffee', server: dest.url('live', 'cam'), extraAudio: 'silent', enabled: true, files },
      { bearer },
    );
    assert.equal(upd.status, 200, JSON.stringify(upd.json));
    await waitFor(
      async () => (await cameraRow('camera-1-c0ffee'))?.state === 'streaming',
      20_000,
      () => 'camera streaming',
    );
    const streams = await probeStreams(dest.url('live', 'cam'));
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
      { platform: 'camera-2-beefed', files: [{ target: engine.url('live', 'front'), type: 'stream' }] },
      { bearer },
    );
    await stack.api('/terraform/v1/mgmt/limits/update', { camera: 5000 }, { bearer });
    // RTMP carries no container bitrate: the limit applies to the streams' own (300 Kbps video).
    assert.equal(res.status, 400);
    assert.match(res.json.message ?? '', /^bitrate \d+Kbps is too large, exceed 100Kbps/);
  });

  it('restarts a camera periodically with max-stream-duration', async () => {
    const target = `${engine.url('live', 'front')}?max-stream-duration=4s`;
    const upd = await stack.api(
      '/terraform/v1/ffmpeg/camera/secret',
      {
        action: 'update',
        platform: 'camera-1-c0ffee',
        server: dest.url('live', 'cam'),
        extraAudio: '',
        enabled: true,
        files: [{ target, type: 'stream' }],
      },
      { bearer },
    );
    assert.equal(upd.status, 200, JSON.stringify(upd.json));
    await waitFor(
      async () => /planned restart after 4 s/.test((await cameraRow('camera-1-c0ffee'))?.task?.lastError ?? ''),
      20_000,
      () => 'a planned restart',
    );
    await stack.api(
      '/terraform/v1/ffmpeg/camera/secret',
      {
        action: 'update',
        platform: 'camera-1-c0ffee',
        server: dest.url('live', 'cam'),
        enabled: false,
        files: [{ target, type: 'stream' }],
      },
      { bearer },
    );
  });

  it('transcodes the latest stream, never its own output, with the requested channel count', async () => {
    const secret = 'livestream-trans';
    // The transcode output is itself a newer live stream of the stack: it must not become the input.
    const apply = await stack.api(
      '/terraform/v1/ffmpeg/transcode/apply',
      {
        all: true,
        vbitrate: 300,
        abitrate: 32,
        vprofile: 'baseline',
        vpreset: 'ultrafast',
        achannels: 1,
        server: 'rtmp://localhost/live/',
        secret,
      },
      { bearer },
    );
    assert.equal(apply.status, 200, JSON.stringify(apply.json));
    const query = (await stack.api('/terraform/v1/ffmpeg/transcode/query', {}, { bearer })).json.data as Record<string, unknown>;
    assert.equal(query.achannels, 1);
    const task = async () => (await stack.api('/terraform/v1/ffmpeg/transcode/task', {}, { bearer })).json.data as Record<string, unknown>;
    await waitFor(
      async () => (await task()).state === 'streaming',
      30_000,
      () => 'transcoding',
    );
    await registerActiveStream(stack, 'live', secret);
    const streams = await probeStreams(engine.url('live', secret));
    const audio = streams.find((s) => s.codec_type === 'audio');
    assert.deepEqual([audio?.codec_name, audio?.channels], ['aac', 1]);
    assert.equal(streams.find((s) => s.codec_type === 'video')?.codec_name, 'h264');
    await new Promise((r) => setTimeout(r, 3500));
    const t = await task();
    assert.equal(t.input, 'live/livestream', 'the newer -trans stream is its own output');
    assert.equal(t.enabled, true);
    assert.match(String(t.output), /\/live\/\*\*\*\*\*\*$/);
    await stack.api('/terraform/v1/ffmpeg/transcode/apply', { ...query, all: false }, { bearer });
    assert.equal((await task()).state, 'inactive');
  });
});
