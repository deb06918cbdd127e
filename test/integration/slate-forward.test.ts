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
import { initAdmin, sleep, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

const heavy = process.env.SRS_STACK_HEAVY_TESTS === '1';

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
    await forward({ enabled: false, slateSeconds: 60 });
    await waitFor(
      async () => (await task()) === null,
      10_000,
      () => 'the forward to stop',
    );
    await sleep(2000); // nginx-rtmp closes the recording

    const file = path.join(dest.recordDir, recordings()[0] as string);
    const times = videoTimes(file);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    const span = (times.at(-1) as number) - (times[0] as number);
    // ≈ 3 s live + 10 s slate + 6 s live (plus the wait for the first recording bytes).
    assert.ok(span > 18, `the recording spans ${span.toFixed(1)} s`);
    assert.ok(Math.max(...gaps) <= 1, `largest gap ${Math.max(...gaps).toFixed(2)} s`);
    process.stdout.write(`      destination: 1 recording over ${span.toFixed(1)} s, largest video gap ${Math.max(...gaps).toFixed(2)} s\n`);
    const decode = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
    assert.equal(decode.stderr.trim(), '', 'every frame decodes, across both switches');
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
    await forward({ enabled: false, slateSeconds: 60 });
    await waitFor(
      async () => (await task()) === null,
      10_000,
      () => 'the forward to stop',
    );
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
});
