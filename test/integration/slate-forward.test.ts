// Issue 18 item 2 with real parts: a forward with a slate keeps its destination (a real nginx-rtmp
// recording every publish to its own file) receiving one unbroken stream while the publisher is
// away for 10 s — the slate, then live again — with no reconnect and no gap over 1 s; and ends when
// the grace period runs out. (docs/architecture.md, "The slate")
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { publish, startRtmpServer, type Publisher, type RtmpServer } from '../helpers/media.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../helpers/restream.js';
import { uploadFile } from '../helpers/multipart.js';
import { consoleSession, initAdmin, sleep, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

const heavy = process.env.SRS_STACK_HEAVY_TESTS === '1';
const work = tempDir('slate-forward-');

/** Video packet times (s) of a recording, in decode order. */
function videoTimes(file: string): number[] {
  const out = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=dts_time', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  return out.stdout
    .split('\n')
    .map(Number)
    .filter((n) => Number.isFinite(n) && n > 0);
}

(heavy ? describe : describe.skip)('slate: a forward through a publisher drop (real destination)', function () {
  this.timeout(180_000);
  let stack: StackHandle;
  let dest: RtmpServer;
  let bearer: string;
  let secret: string;
  const publishers: Publisher[] = [];

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
    secret = await publishSecretOf(stack, bearer);
    dest = await startRtmpServer(undefined, { record: true });
  });

  after(async () => {
    for (const p of publishers) await p.stop();
    await dest?.stop();
    await stack?.stop();
  });

  const forward = (body: Record<string, unknown>) =>
    stack.api(
      '/terraform/v1/ffmpeg/forward/secret',
      { action: 'update', platform: 'wx', server: dest.url('live', 'out'), stream: 'show', ...body },
      { bearer },
    );
  const recordings = () => fs.readdirSync(dest.recordDir).filter((f) => f.endsWith('.flv'));
  /** Disables the wx slot and waits until its task is gone. */
  const stopForward = async () => {
    await forward({ enabled: false, slateSeconds: 60 });
    await waitFor(
      async () => (await task()) === null,
      10_000,
      () => 'the forward to stop',
    );
  };
  /** The wx slot's task: its restarts and pid, or null when it runs no task. */
  const task = async () => {
    const res = await stack.api('/terraform/v1/ffmpeg/forward/streams', {}, { bearer });
    const rows = res.json.data as Array<{ platform: string; task?: { restarts: number; pid: number | null; lastError?: string } }>;
    return rows.find((r) => r.platform === 'wx')?.task ?? null;
  };

  it('gives a slot 60 s of slate unless it says otherwise, and keeps a 0 it saved', async () => {
    const saved = async (platform: string) => {
      const res = await stack.api('/terraform/v1/ffmpeg/forward/secret', {}, { bearer });
      return (res.json.data as Record<string, { slateSeconds: number }>)[platform]?.slateSeconds;
    };
    const slot = (platform: string, body: Record<string, unknown>) =>
      stack.api(
        '/terraform/v1/ffmpeg/forward/secret',
        { action: 'update', platform, server: dest.url('live', platform), ...body },
        { bearer },
      );
    assert.equal((await slot('bilibili', {})).status, 200);
    assert.equal(await saved('bilibili'), 60, 'a new slot without the field');
    assert.equal((await slot('bilibili', { slateSeconds: 0 })).status, 200);
    assert.equal((await slot('bilibili', { label: 'SRS Stack script' })).status, 200);
    assert.equal(await saved('bilibili'), 0, 'an update without the field keeps the 0');
    const bad = await slot('bilibili', { slateSeconds: 3601 });
    assert.equal(bad.status, 400);
    assert.equal(await saved('bilibili'), 0, 'a refused update loses nothing');
    // A slot saved before the field existed (SRS Stack's own shape in its config key).
    const redis = new Redis({ path: path.join(stack.dataDir, 'redis', 'redis.sock') });
    try {
      const old = { platform: 'kuaishou', server: dest.url('live', 'k'), secret: '', enabled: false, custom: false, label: '' };
      await redis.hset('SRS_FORWARD_CONFIG', 'kuaishou', JSON.stringify(old));
    } finally {
      redis.disconnect();
    }
    assert.equal(await saved('kuaishou'), 60, 'a slot saved without the field');
  });

  it('keeps one connection to the destination through a 10 s drop: slate, then live, no gap over 1 s', async () => {
    const first = publish(stackPublishUrl(stack, secret, 'show'));
    publishers.push(first);
    await waitStreamLive(stack, bearer, 'show');
    assert.equal((await forward({ enabled: true, slateSeconds: 60 })).status, 200);
    await waitFor(
      async () => recordings().length === 1 && fs.statSync(path.join(dest.recordDir, recordings()[0] as string)).size > 200_000,
      30_000,
      async () =>
        `the destination recording live media: ${JSON.stringify(recordings())} ${JSON.stringify(await task())}\n${stack.logs().slice(-3000)}`,
    );
    await sleep(3000);
    await first.stop();
    await sleep(10_000); // the publisher is away: the destination gets the slate
    const second = publish(stackPublishUrl(stack, secret, 'show'));
    publishers.push(second);
    await waitStreamLive(stack, bearer, 'show');
    await sleep(6000);
    const t = await task();
    assert.equal(t?.restarts, 0, `the forward never restarted: ${JSON.stringify(t)}\n${stack.logs().slice(-4000)}`);
    assert.equal(recordings().length, 1, 'the destination saw one publish: no reconnect');
    await second.stop();
    await stopForward();
    await sleep(2000); // nginx-rtmp closes the recording

    const file = path.join(dest.recordDir, recordings()[0] as string);
    const times = videoTimes(file);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    const span = (times.at(-1) as number) - (times[0] as number);
    // ≈ 3 s live + 10 s slate + 6 s live (plus the wait for the first recording bytes).
    assert.ok(span > 18, `the recording spans ${span.toFixed(1)} s`);
    assert.ok(Math.max(...gaps) <= 1, `largest gap ${Math.max(...gaps).toFixed(2)} s`);
    process.stdout.write(`      destination: 1 recording over ${span.toFixed(1)} s, largest video gap ${Math.max(...gaps).toFixed(2)} s\n`);
    assert.equal(decodeErrors(file), '', 'every frame decodes, across both switches');
  });

  it('follows the slot to another stream while its feed is running', async () => {
    const show = publish(stackPublishUrl(stack, secret, 'show'));
    const other = publish(stackPublishUrl(stack, secret, 'other'));
    publishers.push(show, other);
    await waitStreamLive(stack, bearer, 'show');
    await waitStreamLive(stack, bearer, 'other');
    assert.equal((await forward({ enabled: true, slateSeconds: 60 })).status, 200);
    await waitFor(
      async () => (await task())?.pid != null,
      30_000,
      () => 'the forward of show',
    );
    assert.equal((await forward({ enabled: true, slateSeconds: 60, stream: 'other' })).status, 200);
    const source = async () => {
      const res = await stack.api('/terraform/v1/ffmpeg/forward/streams', {}, { bearer });
      const rows = res.json.data as Array<{ platform: string; task?: { source: string } }>;
      return rows.find((r) => r.platform === 'wx')?.task?.source;
    };
    await waitFor(
      async () => (await source()) === 'live/other',
      15_000,
      async () => `the forward to take live/other, not ${await source()}`,
    );
    await stopForward();
    await show.stop();
    await other.stop();
  });

  it('ends the forward when the publisher does not come back within the grace period', async () => {
    const before = recordings().length;
    const pub = publish(stackPublishUrl(stack, secret, 'show'));
    publishers.push(pub);
    await waitStreamLive(stack, bearer, 'show');
    assert.equal((await forward({ enabled: true, slateSeconds: 3 })).status, 200);
    await waitFor(
      async () => recordings().length === before + 1,
      30_000,
      () => 'a new recording at the destination',
    );
    await sleep(2000);
    await pub.stop();
    // 3 s of slate, then the feed ends, the task is no longer planned and its ffmpeg is gone.
    await waitFor(
      async () => (await task()) === null,
      30_000,
      () => 'the forward to end after its grace period',
    );
  });

  const slateUpload = (filename: string, data: Buffer, opts: { bearer?: string; chunked?: boolean } = { bearer }) =>
    uploadFile<{ file: string; width: number; height: number; codec: string }>(
      `${stack.url}/terraform/v1/ffmpeg/forward/slate/upload`,
      filename,
      data,
      opts,
    );
  const picture = async () =>
    ((await stack.api('/terraform/v1/ffmpeg/forward/slate', {}, { bearer })).json.data as { picture: { file: string } | null }).picture;
  const slateDir = () => (fs.existsSync(path.join(stack.dataDir, 'slate')) ? fs.readdirSync(path.join(stack.dataDir, 'slate')).sort() : []);

  it('takes a PNG or JPEG slate picture, shows its preview, and refuses anything else losing nothing', async () => {
    const cookie = await consoleSession(stack.url);
    const preview = async () => {
      const res = await fetch(`${stack.url}/mgmt/restream/forward/slate.jpg`, { headers: { cookie } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      const file = path.join(work, `preview-${Date.now()}.jpg`);
      fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      return file;
    };
    // The default slate: the dark frame with white words in the middle.
    assert.equal(await picture(), null);
    const plain = gray(await preview(), 640, 360);
    assert.ok(mean(plain, 0, 0, 100, 60, 640) < 60, 'a dark frame');
    assert.ok(max(plain, 100, 150, 440, 60, 640) > 200, 'white text across the middle');
    assert.equal(
      (await fetch(`${stack.url}/mgmt/restream/forward/slate.jpg`, { redirect: 'manual' })).status,
      401,
      'the preview needs a session',
    );

    assert.equal((await slateUpload('orange.png', ORANGE_PNG(), {})).status, 401, 'the upload needs credentials');
    const ok = await slateUpload('orange.png', ORANGE_PNG());
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.deepEqual([ok.json.data?.width, ok.json.data?.height, ok.json.data?.codec], [640, 360, 'png']);
    const kept = slateDir();
    assert.deepEqual(kept, [ok.json.data?.file, 'picture.json'].sort());
    assert.ok(rgbAt(await preview(), 'crop=iw/4:ih/4'), 'the preview shows the picture');

    const refusals: Array<[string, Buffer, number, RegExp, boolean?]> = [
      ['notes.txt', Buffer.from('hello'), 400, /must be a PNG or JPEG file/],
      ['fake.png', Buffer.from('not a picture at all'), 400, /not a picture ffprobe can read/],
      ['clip.jpg', fs.readFileSync(SHORT_MP4()), 400, /PNG or JPEG|picture|decoded/],
      ['big.png', Buffer.alloc(11 * 1024 * 1024, 7), 413, /too large.*10 MB/],
      ['big.png', Buffer.alloc(11 * 1024 * 1024, 7), 413, /too large.*10 MB/, true],
    ];
    for (const [name, data, status, message, chunked] of refusals) {
      const res = await slateUpload(name, data, { bearer, chunked });
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.message ?? '', message, name);
    }
    assert.equal((await picture())?.file, ok.json.data?.file, 'the picture is still the orange one');
    assert.deepEqual(slateDir(), kept, 'no file left behind');
    // The console's Forward tab shows the preview and the controls.
    const page = await (await fetch(`${stack.url}/mgmt/scenarios?tab=forward`, { headers: { cookie } })).text();
    assert.match(page, /slate\.jpg\?v=picture-[0-9a-f]+/);
    assert.match(page, /orange\.png · 640×360/);
  });

  it('shows the uploaded picture at the destination during a drop, changed while the forward ran', async () => {
    await stack.api('/terraform/v1/ffmpeg/forward/slate', { action: 'remove' }, { bearer });
    assert.equal(await picture(), null);
    await forward({ enabled: false, slateSeconds: 60 });
    const before = recordings();
    const pub = publish(stackPublishUrl(stack, secret, 'show'));
    publishers.push(pub);
    await waitStreamLive(stack, bearer, 'show');
    assert.equal((await forward({ enabled: true, slateSeconds: 60 })).status, 200);
    const mine = () => recordings().filter((f) => !before.includes(f));
    await waitFor(
      async () => mine().length === 1 && fs.statSync(path.join(dest.recordDir, mine()[0] as string)).size > 100_000,
      30_000,
      () => 'the destination recording live media',
    );
    // The feed made its slate with the default look when it went live; the new picture replaces it.
    assert.equal((await slateUpload('orange.png', ORANGE_PNG())).status, 200);
    await sleep(4000);
    await pub.stop();
    await sleep(6000);
    const back = publish(stackPublishUrl(stack, secret, 'show'));
    publishers.push(back);
    await waitStreamLive(stack, bearer, 'show');
    await sleep(4000);
    // The forward ends while the stream is live: stopped after the publisher, its feed would put the
    // slate on again until the task is gone (a second or more on a busy machine), a second run of the
    // picture at the recording's end.
    await stopForward();
    await back.stop();
    await sleep(2000); // nginx-rtmp closes the recording
    assert.equal(mine().length, 1, 'one connection throughout');

    // The middle of the picture twice a second: orange for the drop, not before it, not after it.
    const file = path.join(dest.recordDir, mine()[0] as string);
    assert.equal(decodeErrors(file), '', 'every frame decodes, the picture and both switches included');
    const samples = rgbSeries(file, 2);
    const orange = samples.map(isOrange);
    const first = orange.indexOf(true);
    const last = orange.lastIndexOf(true);
    process.stdout.write(`      destination: ${samples.length / 2} s, the picture from ${first / 2} s to ${last / 2} s\n`);
    assert.ok(first > 0 && !orange.slice(0, first).some(Boolean), `live before the drop: ${orange.join(',')}`);
    assert.ok(last - first + 1 >= 8, `the picture for at least 4 s of the 6 s drop: ${orange.join(',')}`);
    assert.ok(
      orange.slice(first, last + 1).every(Boolean),
      [
        'the picture throughout the drop (the middle of each half second, then what the feed did):',
        samples
          .map((c, i) => `${i / 2}s ${c.join('/')}`)
          .slice(Math.max(0, first - 2), last + 3)
          .join(', '),
        ...stack
          .logs()
          .split('\n')
          .filter((line) => line.includes('slot '))
          .slice(-12),
      ].join('\n'),
    );
    assert.ok(last < orange.length - 2, 'live again after it');
  });
});

/** An orange 640×360 PNG (a colour no test stream has). */
const ORANGE_PNG = () => {
  const file = path.join(work, 'orange.png');
  if (!fs.existsSync(file)) ffmpegOk(['-f', 'lavfi', '-i', 'color=c=0xff8000:size=640x360', '-frames:v', '1', file]);
  return fs.readFileSync(file);
};
/** A 1 s H.264 clip: a real media file, not a picture. */
const SHORT_MP4 = () => {
  const file = path.join(work, 'short.mp4');
  if (!fs.existsSync(file)) ffmpegOk(['-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '1', '-c:v', 'libx264', file]);
  return file;
};

function ffmpegOk(args: string[]): Buffer {
  const out = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', ...args], { maxBuffer: 64 * 1024 * 1024 });
  assert.equal(out.status, 0, out.stderr?.toString());
  return out.stdout;
}
/** What ffmpeg says decoding the whole recording: '' when every frame decodes. */
function decodeErrors(file: string): string {
  return spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' }).stderr.trim();
}
/** The picture as 8-bit gray pixels. */
function gray(file: string, width: number, height: number): Buffer {
  return ffmpegOk(['-i', file, '-vf', `scale=${width}:${height}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
}
function region(px: Buffer, x: number, y: number, w: number, h: number, stride: number): number[] {
  const out: number[] = [];
  for (let j = y; j < y + h; j += 1) for (let i = x; i < x + w; i += 1) out.push(px[j * stride + i] as number);
  return out;
}
const mean = (px: Buffer, x: number, y: number, w: number, h: number, stride: number) => {
  const r = region(px, x, y, w, h, stride);
  return r.reduce((a, b) => a + b, 0) / r.length;
};
const max = (px: Buffer, x: number, y: number, w: number, h: number, stride: number) => Math.max(...region(px, x, y, w, h, stride));
const isOrange = ([r, g, b]: readonly number[]) => (r as number) > 200 && (g as number) > 90 && (g as number) < 170 && (b as number) < 80;
/** Whether the average colour of the picture's middle (after `crop`) is the test's orange. */
function rgbAt(file: string, crop: string): boolean {
  const px = ffmpegOk(['-i', file, '-vf', `${crop},scale=1:1`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  return isOrange([...px]);
}
/** The average colour of the middle sixteenth of a recording's picture, `perSecond` times a second. */
function rgbSeries(file: string, perSecond: number): number[][] {
  const px = ffmpegOk(['-i', file, '-vf', `fps=${perSecond},crop=iw/4:ih/4,scale=1:1`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  const out: number[][] = [];
  for (let i = 0; i + 3 <= px.length; i += 3) out.push([px[i], px[i + 1], px[i + 2]] as number[]);
  return out;
}
