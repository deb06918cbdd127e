import assert from 'node:assert/strict';
import path from 'node:path';
import { ffprobe, makeMedia, publishFile, startRtmpServer, type Publisher, type RtmpServer } from '../helpers/media.js';
import { publishIntoStack, publishSecretOf, stackPlayUrl, waitStreamLive } from '../helpers/restream.js';
import { initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

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
  /** An IP camera: an RTMP server of its own, outside the stack. */
  let camera: RtmpServer;
  let dest: RtmpServer;
  const publishers: Publisher[] = [];

  before(async () => {
    camera = await startRtmpServer();
    dest = await startRtmpServer();
    stack = await startStack();
    bearer = await initAdmin(stack);
    const video = await makeMedia(path.join(media, 'camera.flv'), { seconds: 4, audio: false, format: 'flv' });
    const show = await makeMedia(path.join(media, 'show.flv'), { seconds: 4, format: 'flv' });
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

  const cameraRow = async (platform: string) =>
    (
      (await stack.api('/terraform/v1/ffmpeg/camera/streams', {}, { bearer })).json.data as Array<{
        platform: string;
        state: string;
        task?: Task;
      }>
    ).find((r) => r.platform === platform);

  it('relays a video-only camera with a generated silent stereo AAC track', async () => {
    const url = await stack.api('/terraform/v1/ffmpeg/camera/stream-url', { url: camera.url('live', 'front') }, { bearer });
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

  it('restarts a camera periodically with max-stream-duration', async () => {
    const target = `${camera.url('live', 'front')}?max-stream-duration=4s`;
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
    // Published back into the stack, the output is itself the newest live stream: never the input.
    const secret = `livestream-trans?secret=${await publishSecretOf(stack, bearer)}`;
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
    await waitStreamLive(stack, bearer, 'livestream-trans');
    const { streams } = await ffprobe(stackPlayUrl(stack, 'livestream-trans'));
    const audio = streams.find((s) => s.codec_type === 'audio');
    assert.deepEqual([audio?.codec_name, audio?.channels], ['aac', 1]);
    assert.equal(streams.find((s) => s.codec_type === 'video')?.codec_name, 'h264');
    // Re-planned since the output went live (every 3 s): still the same input and the same ffmpeg.
    const pid = ((await task()).task as { pid: number }).pid;
    await new Promise((r) => setTimeout(r, 3500));
    const t = await task();
    assert.equal(t.input, 'live/livestream', 'the newer -trans stream is its own output');
    assert.equal((t.task as { pid: number }).pid, pid);
    assert.equal(t.enabled, true);
    assert.match(String(t.output), /\/live\/\*{6}\?secret=\*{6}$/, 'the key and the publish secret are masked');
    await stack.api('/terraform/v1/ffmpeg/transcode/apply', { ...query, all: false }, { bearer });
    assert.equal((await task()).state, 'inactive');
  });
});
