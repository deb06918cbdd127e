// LL-HLS end to end: a real ffmpeg publishes RTMP to the stack (nginx-rtmp), the stack pulls the
// stream (the ffmpeg pull LiveSource, until the engine's live tap replaces it), cuts fMP4 parts and
// serves /live/<stream>/ll.m3u8; ffmpeg and headless Chromium (hls.js, lowLatencyMode, the
// console's own player page) play it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { publish, type Publisher } from '../helpers/media.js';
import { initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

describe('LL-HLS: fMP4 parts, blocking reload, preload hints, played by ffmpeg and hls.js', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let publisher: Publisher;
  let browser: Browser | null = null;
  const stream = 'lltest';
  let base: string;
  let media: string;
  let bearer: string;
  let publishUrl: string;

  const get = async (url: string) => {
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, text: body.toString('utf8') };
  };
  const lastMsn = (text: string) => Math.max(...[...text.matchAll(/^seg-(\d+)\.m4s$/gm)].map((m) => Number(m[1])));

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
    const secret = ((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data as { publish: string }).publish;
    publishUrl = `rtmp://127.0.0.1:${stack.ports.rtmp}/live/${stream}?secret=${secret}`;
    publisher = publish(publishUrl);
    base = `${stack.url}/live/${stream}`;
    await waitFor(
      async () => (await get(`${base}.m3u8`)).status === 200,
      30_000,
      () => `the stream to be live: ${publisher.stderr()}\n${stack.logs()}`,
    );
    // hls_ctx on (SRS Stack's default): the first answer is a variant naming a session.
    const variant = await get(`${base}/ll.m3u8`);
    assert.equal(variant.status, 200, variant.text);
    const session = /^ll\.m3u8\?hls_ctx=([0-9a-z]+)$/m.exec(variant.text);
    assert.ok(session, `a session variant: ${variant.text}`);
    media = `${base}/ll.m3u8?hls_ctx=${session[1]}`;
  });

  after(async () => {
    await browser?.close();
    await publisher?.stop();
    await stack?.stop();
  });

  it('serves a media playlist with parts, a preload hint, server control and program date time', async () => {
    const pl = await get(media);
    assert.equal(pl.status, 200, pl.text);
    assert.match(pl.headers.get('content-type') ?? '', /mpegurl/);
    assert.match(pl.headers.get('cache-control') ?? '', /no-cache/);
    for (const tag of [
      '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=',
      '#EXT-X-PART-INF:PART-TARGET=',
      '#EXT-X-MAP:URI="init-1.mp4"',
    ]) {
      assert.ok(pl.text.includes(tag), `${tag} in\n${pl.text}`);
    }
    assert.match(pl.text, /^#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT/m);
    assert.match(pl.text, /^#EXT-X-PART:DURATION=[\d.]+,URI="part-\d+\.\d+\.m4s",INDEPENDENT=YES$/m);
    assert.match(pl.text, /^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-\d+\.\d+\.m4s"$/m);
    const init = await get(`${base}/init-1.mp4`);
    assert.equal(init.status, 200);
    assert.equal(init.body.subarray(4, 8).toString('latin1'), 'ftyp');
    const seg = await get(`${base}/seg-${lastMsn(pl.text)}.m4s`);
    assert.equal(seg.status, 200);
    assert.equal(seg.body.subarray(4, 8).toString('latin1'), 'moof');
    assert.match(seg.headers.get('cache-control') ?? '', /max-age=\d+/);
  });

  it('counts an LL-HLS session as an HLS viewer, like a classic HLS one', async () => {
    await get(media);
    const res = await stack.api('/terraform/v1/mgmt/streams/query', {}, { bearer });
    const rows = (res.json.data as { streams: Array<{ stream: string; viewers: number }> | null }).streams ?? [];
    assert.equal(rows.find((r) => r.stream === stream)?.viewers, 1, JSON.stringify(rows));
  });

  it('holds a blocking reload until the asked segment exists; refuses one too far ahead', async () => {
    const now = await get(media);
    const next = lastMsn(now.text) + 1;
    const held = await get(`${media}&_HLS_msn=${next}`);
    assert.equal(held.status, 200, held.text);
    assert.ok(lastMsn(held.text) >= next, `segment ${next} listed:\n${held.text}`);
    const part = await get(`${media}&_HLS_msn=${next + 1}&_HLS_part=0`);
    assert.equal(part.status, 200);
    assert.match(part.text, new RegExp(`URI="part-${next + 1}\\.0\\.m4s"`));
    const far = await get(`${media}&_HLS_msn=${next + 50}`);
    assert.equal(far.status, 400);
    const bad = await get(`${media}&_HLS_part=1`);
    assert.equal(bad.status, 400);
  });

  it('answers the preload hint once that part is complete', async () => {
    const pl = await get(media);
    const hint = /PRELOAD-HINT:TYPE=PART,URI="(part-\d+\.\d+\.m4s)"/.exec(pl.text)?.[1];
    assert.ok(hint);
    const part = await get(`${base}/${hint}`);
    assert.equal(part.status, 200);
    assert.equal(part.body.subarray(4, 8).toString('latin1'), 'moof');
    const gone = await get(`${base}/part-0.0.m4s`.replace('part-0.', `part-${lastMsn(pl.text) + 40}.`));
    assert.equal(gone.status, 404);
  });

  it("takes a session's repeated requests in the fast lane (reloads, parts, TS segments), answered as Koa's lane does", async () => {
    const fastCounts = async () => {
      const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
      const text = await res.text();
      const count = (route: string) =>
        Number(new RegExp(`^srs_stack_http_fast_lane_total\\{route="${route}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      return { file: count('hls.file'), nested: count('hls.nestedFile') };
    };
    const before = await fastCounts();
    const pl = await get(media);
    const next = lastMsn(pl.text) + 1;
    const reload = await get(`${media}&_HLS_msn=${next}&_HLS_part=0`);
    assert.equal(reload.status, 200, reload.text);
    assert.match(reload.headers.get('content-type') ?? '', /mpegurl/);
    assert.match(reload.headers.get('server') ?? '', /^SRS-Stack\//, 'the common headers');
    const part = await get(`${base}/part-${next}.0.m4s`);
    assert.equal(part.status, 200);
    assert.equal(part.body.subarray(4, 8).toString('latin1'), 'moof');
    assert.equal(part.headers.get('content-type'), 'video/mp4');
    assert.equal(part.headers.get('cache-control'), 'public, max-age=60');
    assert.equal(Number(part.headers.get('content-length')), part.body.length);
    const head = await fetch(`${base}/part-${next}.0.m4s`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), part.body.length);
    // The classic rendition: the session playlist and one of its TS segments.
    const variant = await get(`${base}.m3u8`);
    const classic = await get(`${stack.url}/live/${/^(\S+\.m3u8\?hls_ctx=\S+)$/m.exec(variant.text)?.[1]}`);
    assert.equal(classic.status, 200, classic.text);
    const tsName = /^(\S+\.ts)$/m.exec(classic.text)?.[1];
    assert.ok(tsName, classic.text);
    const ts = await get(`${stack.url}/live/${tsName}`);
    assert.equal(ts.status, 200);
    assert.equal(ts.body[0], 0x47, 'an MPEG-TS sync byte');
    assert.equal(ts.headers.get('content-type'), 'video/mp2t');
    assert.equal(Number(ts.headers.get('content-length')), ts.body.length);
    // A Range request goes to Koa's lane (the fast one declines it) and is still answered.
    const ranged = await fetch(`${stack.url}/live/${tsName}`, { headers: { Range: 'bytes=0-187' } });
    assert.equal(ranged.status, 206);
    assert.equal((await ranged.arrayBuffer()).byteLength, 188);
    const after = await fastCounts();
    // ll.m3u8 ×2, the part's GET and HEAD; the session playlist (hls.file) and its segment (hls.file in
    // low-latency mode, hls.nestedFile under the normal rendition's directory otherwise).
    const fast = { file: after.file - before.file, nested: after.nested - before.nested };
    assert.ok(fast.nested >= 4 && fast.file >= 1 && fast.nested + fast.file >= 6, `fast answers: ${JSON.stringify(fast)}`);
  });

  it('ffmpeg plays the LL playlist: init and segments decode without errors', () => {
    const run = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', '-i', media, '-t', '3', '-f', 'null', '-'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr.trim(), '', 'no decode errors');
  });

  it('ffprobe reads H.264 and AAC from it', () => {
    const run = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', media], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    // Streams are listed once per program and once on their own.
    assert.deepEqual([...new Set(run.stdout.split('\n').filter(Boolean))].sort(), ['aac', 'h264']);
  });

  it('Chromium plays it with hls.js in lowLatencyMode (the console player page)', async () => {
    browser = await launchBrowser();
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${stack.url}/tools/player.html?url=${encodeURIComponent(`${base}/ll.m3u8`)}`);
    const time = () => page.evaluate(() => (document.querySelector('#player-video') as HTMLVideoElement).currentTime);
    await waitFor(
      async () => (await time()) > 0.5,
      30_000,
      async () => `playback to start (player: ${await page.textContent('#player-state')})`,
    );
    const first = await time();
    await waitFor(
      async () => (await time()) > first + 2,
      15_000,
      () => 'currentTime to advance by 2 s',
    );
    const lowLatency = await page.evaluate(() => {
      const entries = performance.getEntriesByType('resource').map((e) => e.name);
      return entries.some((n) => n.includes('_HLS_msn=')) && entries.some((n) => /part-\d+\.\d+\.m4s/.test(n));
    });
    assert.ok(lowLatency, 'hls.js used blocking reloads and parts');
    await page.context().close();
  });

  it('ends the playlist when the publisher leaves; a new publish of the name is muxed afresh', async () => {
    await publisher.stop();
    await waitFor(
      async () => (await get(media)).text.includes('#EXT-X-ENDLIST'),
      20_000,
      async () => `EXT-X-ENDLIST after the publisher left: ${(await get(media)).text}\n${stack.logs().slice(-3000)}`,
    );
    const ended = await get(media);
    assert.ok(!ended.text.includes('PRELOAD-HINT'), ended.text);
    publisher = publish(publishUrl);
    await waitFor(
      async () => {
        const pl = await get(media);
        return pl.status === 200 && !pl.text.includes('#EXT-X-ENDLIST') && /^seg-0\.m4s$/m.test(pl.text);
      },
      30_000,
      () => `a fresh LL-HLS playlist after the new publish: ${publisher.stderr()}`,
    );
  });
});
