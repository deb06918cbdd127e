// Sources that are not RTMP: a real RTSP camera with a password users paste raw, an SRT encoder, the stack's own
// HTTP-FLV and HLS as relayed URLs, and HTTP sources running too fast or too slow, which the
// abnormal-speed watchdog must stop (docs/compatibility.md §15.8).
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ffprobe,
  keepPublishingFile,
  makeMedia,
  serveFileAtRate,
  startRtmpServer,
  startRtspCamera,
  type Publisher,
  type RtmpServer,
  type RtspCamera,
  type ThrottledFileServer,
} from '../helpers/media.js';
import { publishIntoStack, Slots, type SlotRow } from '../helpers/restream.js';
import { freePort, initAdmin, sleep, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';
import { timestampSeconds } from '../../server/core/ffmpeg/progress.js';

describe('stream sources: RTSP camera, HTTP-FLV, HLS, and the abnormal-speed watchdog', function () {
  this.timeout(180_000);
  const media = tempDir('stream-sources-');
  let stack: StackHandle;
  let bearer: string;
  let dest: RtmpServer;
  let camera: RtspCamera;
  let publisher: Publisher;
  let show: string;
  const servers: ThrottledFileServer[] = [];
  let cameras: Slots;
  let vlive: Slots;

  /** A slot relaying `url` to the destination's live/`stream`, saved without waiting; the source file. */
  async function startSlot(slots: Slots, platform: string, url: string, stream: string, extra: Record<string, unknown> = {}) {
    const files = await slots.sourceFromUrl(platform, url);
    await slots.save(platform, { server: dest.url('live', stream), enabled: true, files, ...extra });
    return files[0];
  }

  before(async () => {
    dest = await startRtmpServer();
    stack = await startStack();
    bearer = await initAdmin(stack);
    cameras = new Slots(stack, bearer, 'camera');
    vlive = new Slots(stack, bearer, 'vlive');
    const video = await makeMedia(path.join(media, 'camera.flv'), { seconds: 60, audio: false, format: 'flv' });
    camera = await startRtspCamera(video, { user: 'admin', password: 'p@ss#1', audio: false });
    show = await makeMedia(path.join(media, 'show.flv'), { seconds: 4, format: 'flv' });
    publisher = await publishIntoStack(stack, bearer, show, 'livestream');
  });
  after(async () => {
    await publisher?.stop();
    await stack?.stop();
    await camera?.stop();
    await dest?.stop();
    for (const s of servers) await s.stop();
  });

  it('relays an RTSP camera whose password holds @ and #, adding silent audio', async () => {
    // Pasted raw from the camera's manual; unescaped, ffmpeg would read "ss" as the host.
    assert.match(camera.url, /admin:p@ss#1@127\.0\.0\.1/);
    const file = await startSlot(cameras, 'camera-1-5a5a5a', camera.url, 'cam', { extraAudio: 'silent' });
    assert.equal(file?.video?.codec_name, 'h264', 'ffprobe logged in and read the camera over RTSP');
    assert.equal(file?.audio, null, 'the camera sends no audio');
    await cameras.until('camera-1-5a5a5a', 'streaming');
    const { streams } = await ffprobe(dest.url('live', 'cam'));
    assert.deepEqual(streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:aac', 'video:h264']);
    const task = (await cameras.row('camera-1-5a5a5a'))?.task;
    assert.ok(!task?.input.includes('p@ss'), `the camera password is masked: ${task?.input}`);
    await cameras.stop('camera-1-5a5a5a');
  });

  it('refuses an RTSP camera with a wrong password, saying so', async () => {
    const url = camera.url.replace('p@ss#1', 'wrong');
    const accepted = await cameras.call('stream-url', { url });
    const src = await cameras.call('source', {
      platform: 'camera-2-5a5a5a',
      files: [{ ...(accepted.json.data as object), type: 'stream' }],
    });
    assert.equal(src.status, 400);
    assert.match(src.json.message ?? '', /401|Unauthorized/i);
  });

  it('relays an SRT encoder in listener mode as a camera source', async () => {
    // An encoder that listens (mode=listener) takes one caller at a time and is restarted after
    // each, as hardware encoders do: the stack's ffprobe, then its task, connect in turn.
    const port = await freePort();
    const encoder = keepPublishingFile(`srt://127.0.0.1:${port}?mode=listener`, show, 200);
    try {
      await waitFor(
        async () => (await ffprobe(`srt://127.0.0.1:${port}`, 10_000).catch(() => ({ streams: [] }))).streams.length === 2,
        30_000,
        () => 'the SRT encoder listening',
      );
      await startSlot(cameras, 'camera-3-c3c3c3', `srt://127.0.0.1:${port}`, 'from-srt');
      await cameras.until('camera-3-c3c3c3', 'streaming');
      const { streams } = await ffprobe(dest.url('live', 'from-srt'));
      assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    } finally {
      await cameras.stop('camera-3-c3c3c3');
      await encoder.stop();
    }
  });

  it('relays the HTTP-FLV of a live stream as a virtual-live source', async () => {
    await startSlot(vlive, 'vlive-1-f1f1f1', `${stack.url}/live/livestream.flv`, 'from-flv');
    await vlive.until('vlive-1-f1f1f1', 'streaming');
    const { streams } = await ffprobe(dest.url('live', 'from-flv'));
    assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    await vlive.stop('vlive-1-f1f1f1');
  });

  it('relays the HLS of a live stream over HTTPS as a virtual-live source, smoothly, not a segment at a time', async () => {
    // The stack's own HTTPS listener, self-signed as after a fresh install: ffmpeg, like SRS Stack's, does not verify.
    const hls = `https://127.0.0.1:${stack.ports.https}/live/livestream.m3u8`;
    await startSlot(vlive, 'vlive-2-e2e2e2', hls, 'from-hls');
    await vlive.until('vlive-2-e2e2e2', 'streaming');
    // The stack's HLS has 10 s segments: read in bursts, media time would stand still for seconds.
    const mediaTime = async () => timestampSeconds(/time=(\S+)/.exec((await vlive.row('vlive-2-e2e2e2'))?.frame?.log ?? '')?.[1] ?? '');
    let before = await mediaTime();
    for (let i = 0; i < 4; i++) {
      // A rate measurement: media time gained per 3 s of wall time.
      await sleep(3000);
      const now = await mediaTime();
      assert.ok(now - before >= 2, `media time went from ${before} s to ${now} s in 3 s`);
      before = now;
    }
    const { streams } = await ffprobe(dest.url('live', 'from-hls'));
    assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    await vlive.stop('vlive-2-e2e2e2');
  });

  it('stops a source running at 3x or dropping to 0.3x real time, and tolerates 3x with abnormal-fast-speed=5', async () => {
    const seconds = 150;
    const file = await makeMedia(path.join(media, 'recording.flv'), { seconds, audio: false, format: 'flv' });
    const fast = await serveFileAtRate(file, seconds, 3);
    // Real time while it is probed and started, then congested.
    const slow = await serveFileAtRate(file, seconds, (ms) => (ms < 12_000 ? 1 : 0.3));
    servers.push(fast, slow);
    // Three slots at once: one task's watchdog never touches another task.
    await startSlot(vlive, 'vlive-3-aaaaaa', fast.url('burst.flv'), 'fast');
    await startSlot(vlive, 'vlive-4-bbbbbb', `${fast.url('burst.flv')}?abnormal-fast-speed=5`, 'tolerated');
    await startSlot(vlive, 'vlive-5-cccccc', slow.url('congested.flv'), 'slow');
    const killedFor = (pattern: RegExp) => (r: SlotRow | undefined) =>
      Boolean(r?.task && r.task.restarts > 0 && pattern.test(r.task.lastError ?? ''));
    await vlive.until('vlive-3-aaaaaa', killedFor(/abnormal speed [\d.]+x above 1\.5x/), 40_000);
    // Checked well before its 50 s of 3x delivery end, when ffmpeg exits at the end of the file.
    const tolerated = await vlive.row('vlive-4-bbbbbb');
    assert.equal(tolerated?.state, 'streaming', JSON.stringify(tolerated));
    assert.equal(tolerated?.task?.restarts, 0, JSON.stringify(tolerated));
    assert.ok((tolerated?.task?.speed ?? 0) > 1.5, `really running fast: ${JSON.stringify(tolerated)}`);
    await vlive.until('vlive-5-cccccc', killedFor(/abnormal speed [\d.]+x below 0\.5x/), 40_000);
    for (const p of ['vlive-3-aaaaaa', 'vlive-4-bbbbbb', 'vlive-5-cccccc']) await vlive.stop(p);
  });
});
