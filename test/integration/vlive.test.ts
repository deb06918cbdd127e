import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ffprobe,
  makeMedia,
  mediaSecondsReceived,
  publishFile,
  recordSrt,
  serveFileAtRate,
  startRtmpServer,
  type Publisher,
  type RtmpServer,
} from '../helpers/media.js';
import { uploadFile } from '../helpers/multipart.js';
import { publishSecretOf, Slots, stackPlayUrl, waitStreamLive, type SourceFile } from '../helpers/restream.js';
import { freePort, initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';
import { flvCarriesHevc } from '../../server/core/ffmpeg/probe.js';

const run = promisify(execFile);

/** An upload to virtual live: the URL names the file, the part may name another. */
const upload = (stack: StackHandle, name: string, data: Buffer, opts: { bearer?: string; chunked?: boolean; filename?: string } = {}) =>
  uploadFile<{ uuid: string; target: string; size: number }>(
    `${stack.url}/terraform/v1/ffmpeg/vlive/upload/${encodeURIComponent(name)}`,
    opts.filename ?? name,
    data,
    opts,
  );

describe('virtual live: uploads, server files, stream URLs and the file loop', function () {
  this.timeout(120_000);
  const media = tempDir('restream-media-');
  let stack: StackHandle;
  let bearer: string;
  let dest: RtmpServer;
  let source: RtmpServer;
  let publisher: Publisher;
  let short: string;
  let vlive: Slots;

  const uploadDir = () => fs.readdirSync(path.join(stack.dataDir, 'upload'));

  before(async () => {
    dest = await startRtmpServer();
    source = await startRtmpServer();
    stack = await startStack({ env: { VLIVE_UPLOAD_MAX_MB: '1' } });
    bearer = await initAdmin(stack);
    vlive = new Slots(stack, bearer, 'vlive');
    short = await makeMedia(path.join(media, 'short.mp4'), { seconds: 3 });
  });
  after(async () => {
    await publisher?.stop();
    await stack?.stop();
    await dest?.stop();
    await source?.stop();
  });

  it('refuses an upload without credentials (401), and keeps nothing', async () => {
    const res = await upload(stack, 'a.mp4', fs.readFileSync(short));
    assert.equal(res.status, 401);
    assert.deepEqual(uploadDir(), []);
  });

  it('refuses an oversized upload with 413, declared or streamed, and leaves no file', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const declared = await upload(stack, 'big.mp4', big, { bearer });
    assert.equal(declared.status, 413);
    assert.match(declared.json.message ?? '', /too large.*VLIVE_UPLOAD_MAX_MB/);
    const streamed = await upload(stack, 'big.mp4', big, { bearer, chunked: true });
    assert.equal(streamed.status, 413);
    assert.deepEqual(uploadDir(), []);
  });

  it('refuses a part whose file name differs from the URL, and a non-media extension', async () => {
    assert.equal((await upload(stack, 'a.mp4', Buffer.from('x'), { bearer, filename: 'b.mp4' })).status, 400);
    assert.equal((await upload(stack, 'a.exe', Buffer.from('x'), { bearer })).status, 400);
    assert.deepEqual(uploadDir(), []);
  });

  it('refuses a source over the bitrate limit with a clear message and deletes the upload', async () => {
    const fat = await makeMedia(path.join(media, 'fat.mp4'), { seconds: 2, videoKbps: 600 });
    const up = await upload(stack, 'fat.mp4', fs.readFileSync(fat), { bearer });
    assert.equal(up.status, 200, JSON.stringify(up.json));
    await stack.api('/terraform/v1/mgmt/limits/update', { vlive: 300 }, { bearer });
    const res = await stack.api(
      '/terraform/v1/ffmpeg/vlive/source',
      {
        platform: 'vlive-1-aaaaaa',
        files: [{ name: 'fat.mp4', size: 1, uuid: up.json.data?.uuid, target: up.json.data?.target, type: 'upload' }],
      },
      { bearer },
    );
    await stack.api('/terraform/v1/mgmt/limits/update', { vlive: 5000 }, { bearer });
    assert.equal(res.status, 400);
    assert.match(res.json.message ?? '', /^bitrate \d+Kbps is too large, exceed 300Kbps/);
    assert.deepEqual(uploadDir(), []);
  });

  it('uploads, probes and loops a 3 s file in real time for more than 6 s', async () => {
    const up = await upload(stack, 'short.mp4', fs.readFileSync(short), { bearer });
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.match(up.json.data?.target ?? '', /^upload\/[0-9a-f-]{36}\.mp4$/);
    const res = await stack.api(
      '/terraform/v1/ffmpeg/vlive/source',
      {
        platform: 'wx',
        files: [
          {
            name: 'short.mp4',
            path: 'short.mp4',
            size: up.json.data?.size,
            uuid: up.json.data?.uuid,
            target: up.json.data?.target,
            type: 'upload',
          },
        ],
      },
      { bearer },
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const [file] = (res.json.data as { files: SourceFile[] }).files;
    assert.equal(file?.target, `vlive/${up.json.data?.uuid}.mp4`);
    assert.equal(file?.video?.codec_name, 'h264');
    assert.equal(file?.audio?.codec_name, 'aac');
    assert.ok(fs.existsSync(path.join(stack.dataDir, file?.target ?? '')), 'moved into vlive/');
    assert.deepEqual(uploadDir(), []);

    // Back into this stack, as SRS Stack's users do: rtmp://localhost/live and name?secret=….
    await vlive.configure('wx', {
      server: 'rtmp://localhost/live',
      secret: `vlive?secret=${await publishSecretOf(stack, bearer)}`,
      enabled: true,
      files: [file],
    });
    await waitStreamLive(stack, bearer, 'vlive');
    const received = await mediaSecondsReceived(stackPlayUrl(stack, 'vlive'), 7, 20_000);
    assert.ok(received >= 6.5, `the 3 s file played on for ${received} s`);
    const r = await vlive.row('wx');
    assert.equal(r?.task?.restarts, 0, 'it loops, it does not restart');
    assert.equal(r?.source, file?.uuid);
  });

  it('refuses server files outside the data directory: a sibling prefix, .. and a symlink out', async () => {
    const outside = tempDir('restream-outside-');
    const outsideFile = path.join(outside, 'movie.mp4');
    fs.copyFileSync(short, outsideFile);
    fs.mkdirSync(path.join(stack.dataDir, 'my-upload'), { recursive: true });
    fs.symlinkSync(outsideFile, path.join(stack.dataDir, 'my-upload', 'link.mp4'));
    fs.symlinkSync(outside, path.join(stack.dataDir, 'my-upload', 'dir-link'));
    const sibling = `${stack.dataDir}2`;
    fs.mkdirSync(sibling, { recursive: true });
    fs.copyFileSync(short, path.join(sibling, 'movie.mp4'));
    for (const file of [
      path.join(sibling, 'movie.mp4'),
      `${stack.dataDir}/../${path.basename(sibling)}/movie.mp4`,
      path.join(stack.dataDir, 'my-upload', 'link.mp4'),
      path.join(stack.dataDir, 'my-upload', 'dir-link', 'movie.mp4'),
      outsideFile,
    ]) {
      const res = await stack.api('/terraform/v1/ffmpeg/vlive/server', { file }, { bearer });
      assert.equal(res.status, 400, file);
      assert.match(res.json.message ?? '', /outside the data directory/, file);
    }
    assert.equal(
      (await stack.api('/terraform/v1/ffmpeg/vlive/server', { file: path.join(stack.dataDir, 'nope.mp4') }, { bearer })).status,
      404,
    );
    assert.deepEqual(uploadDir(), []);
  });

  it('accepts a server file inside the data directory and leaves the original in place', async () => {
    const inside = path.join(stack.dataDir, 'my-upload', 'movie.mp4');
    fs.copyFileSync(short, inside);
    const res = await stack.api('/terraform/v1/ffmpeg/vlive/server', { file: inside }, { bearer });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const data = res.json.data as { name: string; uuid: string; target: string; size: number };
    assert.equal(data.name, 'movie.mp4');
    assert.equal(data.size, fs.statSync(short).size);
    const src = await stack.api(
      '/terraform/v1/ffmpeg/vlive/source',
      { platform: 'vlive-2-bbbbbb', files: [{ ...data, path: inside, type: 'file' }] },
      { bearer },
    );
    assert.equal(src.status, 200, JSON.stringify(src.json));
    assert.ok(fs.existsSync(inside), 'the user’s file stays');
  });

  it('takes a source without type as a file, in the shape vlive/server and vlive/upload return (SRS Stack does)', async () => {
    const inside = path.join(stack.dataDir, 'my-upload', 'untyped.mp4');
    fs.mkdirSync(path.dirname(inside), { recursive: true });
    fs.copyFileSync(short, inside);
    const server = await stack.api('/terraform/v1/ffmpeg/vlive/server', { file: inside }, { bearer });
    assert.equal(server.status, 200, JSON.stringify(server.json));
    const data = server.json.data as { name: string; uuid: string; target: string; size: number };
    const src = await stack.api('/terraform/v1/ffmpeg/vlive/source', { platform: 'vlive-2-bbbbbb', files: [data] }, { bearer });
    assert.equal(src.status, 200, JSON.stringify(src.json));
    const file = (src.json.data as { files: SourceFile[] }).files[0];
    assert.equal(file?.target, `vlive/${data.uuid}.mp4`);
    assert.equal(file?.video?.codec_name, 'h264');
    assert.ok(file && fs.existsSync(path.join(stack.dataDir, file.target)), 'moved into vlive/');
  });

  it('refuses an H.265 file to RTMP when this FFmpeg cannot carry it, and sends it over SRT', async () => {
    const phone = path.join(stack.dataDir, 'my-upload', 'phone.mp4');
    await makeMedia(phone, { seconds: 3, videoCodec: 'h265' });
    const server = await stack.api('/terraform/v1/ffmpeg/vlive/server', { file: phone }, { bearer });
    assert.equal(server.status, 200, JSON.stringify(server.json));
    const src = await stack.api(
      '/terraform/v1/ffmpeg/vlive/source',
      { platform: 'vlive-3-cccccc', files: [{ ...(server.json.data as object), path: phone, type: 'file' }] },
      { bearer },
    );
    assert.equal(src.status, 200, JSON.stringify(src.json));
    const [file] = (src.json.data as { files: SourceFile[] }).files;
    assert.equal(file?.video?.codec_name, 'hevc');
    const update = (server: string) => vlive.update('vlive-3-cccccc', { server, enabled: true, files: [file] });

    const version = /^ffmpeg version (\S+)/m.exec((await run('ffmpeg', ['-hide_banner', '-version'])).stdout)?.[1] ?? null;
    const toRtmp = await update(dest.url('live', 'phone'));
    if (flvCarriesHevc(version)) {
      assert.equal(toRtmp.status, 200, `FFmpeg ${version} muxes H.265 into FLV`);
    } else {
      assert.equal(toRtmp.status, 400);
      assert.match(toRtmp.json.message ?? '', /^the source is H\.265, which FFmpeg \S+ cannot send over RTMP .*SRT destination/);
      assert.equal((await vlive.row('vlive-3-cccccc'))?.state, 'inactive', 'the refused slot did not start');
      // The same file as the new source of a slot already streaming over RTMP: refused, and the
      // slot keeps streaming its H.264 file; nothing is left behind in vlive/.
      const before = fs.readdirSync(path.join(stack.dataDir, 'vlive')).sort();
      const again = await stack.api('/terraform/v1/ffmpeg/vlive/server', { file: phone }, { bearer });
      const swap = await stack.api(
        '/terraform/v1/ffmpeg/vlive/source',
        { platform: 'wx', files: [{ ...(again.json.data as object), path: phone, type: 'file' }] },
        { bearer },
      );
      assert.equal(swap.status, 400);
      assert.match(swap.json.message ?? '', /H\.265/);
      assert.deepEqual(fs.readdirSync(path.join(stack.dataDir, 'vlive')).sort(), before);
      assert.deepEqual(uploadDir(), []);
      const wx = await vlive.row('wx');
      assert.equal(wx?.files?.[0]?.video?.codec_name, 'h264');
      assert.equal(wx?.state, 'streaming');
    }

    // MPEG-TS carries H.265 whatever the FFmpeg: an SRT listener records what arrives.
    const out = path.join(media, 'phone.ts');
    const { port, finished } = await recordSrt(out, 3);
    assert.equal((await update(`srt://127.0.0.1:${port}`)).status, 200);
    await finished(30_000);
    await vlive.stop('vlive-3-cccccc');
    const { streams } = await ffprobe(out);
    assert.deepEqual(streams.map((s) => s.codec_name).sort(), ['aac', 'hevc']);
  });

  it('relays a stream URL without downloading it, and refuses other URLs', async () => {
    const live = await makeMedia(path.join(media, 'live.flv'), { seconds: 4, format: 'flv' });
    publisher = publishFile(source.url('live', 'relay'), live);
    assert.match(
      (await stack.api('/terraform/v1/ffmpeg/vlive/stream-url', { url: 'file:///etc/passwd' }, { bearer })).json.message ?? '',
      /invalid url scheme/,
    );
    assert.equal((await stack.api('/terraform/v1/ffmpeg/vlive/streamUrl', { url: 'https://h/page.html' }, { bearer })).status, 400);
    const url = await stack.api('/terraform/v1/ffmpeg/vlive/streamUrl', { url: source.url('live', 'relay') }, { bearer });
    assert.equal(url.status, 200);
    const target = (url.json.data as { target: string; uuid: string; name: string }).target;
    await waitFor(
      async () => (await ffprobe(source.url('live', 'relay')).catch(() => ({ streams: [] }))).streams.length === 2,
      15_000,
      () => 'source up',
    );
    const src = await stack.api(
      '/terraform/v1/ffmpeg/vlive/source',
      { platform: 'vlive-2-bbbbbb', files: [{ ...(url.json.data as object), path: target, size: 0, type: 'stream' }] },
      { bearer },
    );
    assert.equal(src.status, 200, JSON.stringify(src.json));
    const file = (src.json.data as { files: SourceFile[] }).files[0];
    assert.equal(file?.target, source.url('live', 'relay'));
    await vlive.configure('vlive-2-bbbbbb', { server: dest.url('live', ''), secret: 'relayed', enabled: true, files: [file] });
    assert.equal((await ffprobe(dest.url('live', 'relayed'))).streams.length, 2);
    assert.ok(!fs.readdirSync(path.join(stack.dataDir, 'vlive')).some((f) => f.includes(file?.uuid ?? '-')), 'nothing downloaded');
  });

  it('downloads the video of a web page with yt-dlp into upload/, and takes it as a source', async () => {
    const page = await serveFileAtRate(short, 3, 100);
    try {
      const res = await stack.api('/terraform/v1/ffmpeg/vlive/ytdl', { url: page.url('show.mp4') }, { bearer });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const data = res.json.data as { name: string; uuid: string; target: string; size: number };
      assert.equal(data.name, 'show.mp4');
      assert.equal(data.target, `upload/${data.uuid}.mp4`);
      assert.equal(data.size, fs.statSync(short).size);
      const src = await stack.api(
        '/terraform/v1/ffmpeg/vlive/source',
        { platform: 'vlive-4-dddddd', files: [{ ...data, type: 'ytdl' }] },
        { bearer },
      );
      assert.equal(src.status, 200, JSON.stringify(src.json));
      const [file] = (src.json.data as { files: SourceFile[] }).files;
      assert.equal(file?.video?.codec_name, 'h264');
      assert.ok(fs.existsSync(path.join(stack.dataDir, file?.target ?? '-')), 'moved into vlive/');
      assert.deepEqual(uploadDir(), []);
    } finally {
      await page.stop();
    }
  });

  it('refuses a web-page video over VLIVE_UPLOAD_MAX_MB with 413, keeping nothing', async () => {
    const big = await makeMedia(path.join(media, 'big.mp4'), { seconds: 8, videoKbps: 1500 });
    assert.ok(fs.statSync(big).size > 1024 * 1024);
    const page = await serveFileAtRate(big, 8, 100);
    try {
      const res = await stack.api('/terraform/v1/ffmpeg/vlive/ytdl', { url: page.url('big.mp4') }, { bearer });
      assert.equal(res.status, 413, JSON.stringify(res.json));
      assert.match(res.json.message ?? '', /larger than VLIVE_UPLOAD_MAX_MB \(1 MB\)/);
      assert.deepEqual(uploadDir(), []);
    } finally {
      await page.stop();
    }
  });

  it('says why a page cannot be downloaded, and refuses what is not a web page', async () => {
    const ytdl = (url: string) => stack.api('/terraform/v1/ffmpeg/vlive/ytdl', { url }, { bearer });
    const down = await ytdl(`http://127.0.0.1:${await freePort()}/show.mp4`);
    assert.equal(down.status, 400);
    assert.match(down.json.message ?? '', /^cannot download http:\/\/127\.0\.0\.1:\d+\/show\.mp4: ERROR: .*(refused|Unable)/i);
    for (const url of ['file:///etc/passwd', 'rtmp://h/live/x', 'http://', '-o/tmp/x http://h/']) {
      const res = await ytdl(url);
      assert.equal(res.status, 400, url);
      assert.match(res.json.message ?? '', /a web page starting with http/, url);
    }
    assert.deepEqual(uploadDir(), []);
  });

  it('refuses a secret update whose file was never accepted by vlive/source', async () => {
    const res = await vlive.update('wx', { server: dest.url('live', 'x'), enabled: true, files: [{ target: '/etc/hosts', type: 'file' }] });
    assert.equal(res.status, 400);
    assert.match(res.json.message ?? '', /not a virtual-live source/);
  });
});

describe('virtual live: unused uploads are cleaned up', function () {
  this.timeout(60_000);
  let stack: StackHandle;

  before(async () => {
    stack = await startStack({ env: { VLIVE_UPLOAD_TTL: '2' } });
  });
  after(async () => stack?.stop());

  it('deletes an upload nobody used once the TTL has passed', async () => {
    const bearer = await initAdmin(stack);
    const res = await upload(stack, 'unused.mp3', Buffer.alloc(1000, 1), { bearer });
    assert.equal(res.status, 200);
    const file = path.join(stack.dataDir, res.json.data?.target ?? '');
    assert.ok(fs.existsSync(file));
    await waitFor(
      () => !fs.existsSync(file),
      10_000,
      () => 'the unused upload removed',
    );
  });
});

describe('virtual live from a web page without the downloader installed', function () {
  this.timeout(60_000);
  let stack: StackHandle;

  before(async () => {
    stack = await startStack({ env: { YTDL_BIN: '/nonexistent/yt-dlp' } });
  });
  after(async () => stack?.stop());

  it('answers 501 and says how to install it', async () => {
    const bearer = await initAdmin(stack);
    const res = await stack.api('/terraform/v1/ffmpeg/vlive/ytdl', { url: 'https://example.com/watch?v=x' }, { bearer });
    assert.equal(res.status, 501);
    assert.match(res.json.message ?? '', /needs yt-dlp: install it \(apt install yt-dlp\) or set YTDL_BIN/);
  });
});
