// Issue 18 items 3 and 4: a live stream's page in headless Chromium, with real parts: ffmpeg
// publishing into the stack's nginx-rtmp, a forward to a second nginx-rtmp (killed mid-test), uPlot
// served from node_modules drawing the last minutes from streams.health, and a publisher whose
// bitrate falls (one ffmpeg: a noisy picture, then a clean one) for the bitrate-drop warning.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loggedInPage } from '../helpers/browser.js';
import { publish, spawnFfmpeg, startRtmpServer, type Publisher, type RtmpServer } from '../helpers/media.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { publishSecretOf, Slots, stackPublishUrl, waitStreamLive, type SlotRow } from '../helpers/restream.js';
import { ADMIN_PASSWORD, initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

interface Health {
  live: boolean;
  endedAt: string | null;
  now: { kbps: number; health: { warnings: Array<{ code: string; message: string }> } | null } | null;
  destinations: Array<{ feature: string; platform: string; state: string }>;
  history: {
    t: number[];
    kbps: number[];
    fps: number[];
    destinations: Array<{ feature: string; platform: string; kbps: Array<number | null>; state: Array<string | null> }>;
  };
}

/** The first chart colour of views/public/stream-page.js (#c0392b). */
const FIRST_SERIES_RGB = [0xc0, 0x39, 0x2b];

describe('e2e: a stream page with live charts, destination states and warnings, in headless Chromium', function () {
  this.timeout(240_000);
  let stack: StackHandle;
  let bearer: string;
  let browser: Browser;
  let page: Page;
  let dest: RtmpServer;
  let forward: Slots;
  let show: Publisher;
  const publishers: Publisher[] = [];

  const health = async (stream: string) => {
    const res = await stack.api('/terraform/v1/mgmt/streams/health', { stream }, { bearer });
    return { status: res.status, data: res.json.data as Health, message: String(res.json.message ?? '') };
  };
  /** Pixels of a figure's canvas in the first series' colour: its line was drawn. */
  const linePixels = (chart: string) =>
    page.evaluate(
      ([name, rgb]) => {
        const canvas = document.querySelector(`figure[data-chart="${name}"] canvas`) as HTMLCanvasElement | null;
        if (!canvas || !canvas.width || !canvas.height) return -1;
        const data = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
          const near = (k: number) => Math.abs((data[i + k] as number) - (rgb[k] as number)) < 24;
          if ((data[i + 3] as number) > 200 && near(0) && near(1) && near(2)) n += 1;
        }
        return n;
      },
      [chart, FIRST_SERIES_RGB] as const,
    );
  const points = async (chart: string) => Number(await page.getAttribute(`figure[data-chart="${chart}"]`, 'data-points'));
  const badge = (platform: string) => page.locator(`[data-destination-of="forward/${platform}"] .badge`);

  before(async () => {
    dest = await startRtmpServer();
    stack = await startStack();
    bearer = await initAdmin(stack);
    forward = new Slots(stack, bearer, 'forward');
    const secret = await publishSecretOf(stack, bearer);
    show = publish(stackPublishUrl(stack, secret, 'show'), 0, 50);
    publishers.push(show);
    // The browser starts while the stream does.
    browser = await launchBrowser();
    page = await loggedInPage(browser, stack.url, ADMIN_PASSWORD);
    await waitStreamLive(stack, bearer, 'show');
  });
  after(async () => {
    await browser?.close();
    await Promise.all(publishers.map((p) => p.stop()));
    await stack?.stop();
    await dest?.stop();
  });

  it("is linked from System › Streams and shows the stream's picture, codecs and figures", async () => {
    await page.goto(`${stack.url}/mgmt/system?tab=streams`);
    await page.click('a.stream-page-link[href="/mgmt/streams/live/show"]');
    await page.waitForURL(/\/mgmt\/streams\/live\/show$/);
    assert.equal(await page.getAttribute('#stream-state', 'data-live'), 'true');
    // The meter settles after 2 s; the figures section refreshes itself every 5 s.
    await page.waitForFunction(() => /320x240/.test(document.querySelector('#fig-picture')?.textContent ?? ''), null, { timeout: 20_000 });
    // The engine's codec name (H264) until the tap has seen a video tag (H.264).
    await page.waitForFunction(() => /H\.264 \/ AAC/.test(document.querySelector('#fig-codecs')?.textContent ?? ''), null, {
      timeout: 20_000,
    });
    await page.waitForFunction(() => /kbps|Mbps/.test(document.querySelector('#fig-bitrate')?.textContent ?? ''), null, {
      timeout: 20_000,
    });
    assert.match((await page.textContent('#no-destinations')) ?? '', /feeds no restream destination/);
  });

  it('forwards to a real nginx-rtmp: the destination is live on the page, and the charts draw their lines', async () => {
    const wantLive = (r: SlotRow | undefined) => (r as { destination?: { state: string } } | undefined)?.destination?.state === 'live';
    await forward.configure('wx', { server: dest.url('live', 'key-page'), enabled: true, stream: 'show' }, wantLive);
    await page.waitForSelector('[data-destination-of="forward/wx"] .badge[data-destination="live"]', { timeout: 20_000 });
    assert.equal((await badge('wx').textContent())?.trim(), 'Live');
    // The page's links: the forward rows name their stream with a link to its page.
    const cookieHtml = await page.evaluate(async () => (await fetch('/mgmt/scenarios?tab=forward')).text());
    assert.match(cookieHtml, /<a class="stream-page-link" href="\/mgmt\/streams\/live\/show">live\/show<\/a>/);

    // A sample every 5 s: three points on every chart, the destination's included.
    await page.waitForFunction(
      () =>
        ['kbps', 'fps', 'keyframeIntervalSeconds', 'destinations'].every(
          (c) => Number(document.querySelector(`figure[data-chart="${c}"]`)?.getAttribute('data-points')) >= 3,
        ),
      null,
      { timeout: 45_000 },
    );
    await page.waitForFunction(
      () => document.querySelector('figure[data-chart="destinations"]')?.getAttribute('data-series') === '1',
      null,
      { timeout: 15_000 },
    );
    for (const chart of ['kbps', 'fps', 'keyframeIntervalSeconds', 'destinations']) {
      assert.ok((await points(chart)) >= 3, chart);
      assert.ok((await linePixels(chart)) > 40, `${chart}: the line is drawn on the canvas (${await linePixels(chart)} pixels)`);
    }
    assert.equal(await page.isHidden('figure[data-chart="destinations"] .empty'), true);

    const { data } = await health('show');
    assert.equal(data.live, true);
    assert.ok(data.history.t.length >= 3);
    assert.ok(
      data.history.kbps.some((k) => k > 100),
      JSON.stringify(data.history.kbps),
    );
    assert.ok(
      data.history.fps.some((f) => f >= 20 && f <= 30),
      JSON.stringify(data.history.fps),
    );
    const wx = data.history.destinations.find((d) => d.platform === 'wx');
    assert.ok(wx?.state.includes('live'), JSON.stringify(wx));
    assert.ok(
      wx?.kbps.some((k) => (k ?? 0) > 0),
      JSON.stringify(wx),
    );
    assert.deepEqual(
      data.destinations.map((d) => [d.feature, d.platform, d.state]),
      [['forward', 'wx', 'live']],
    );
  });

  it('the destination killed: its badge leaves live on the page, and the API says why', async () => {
    await dest.stop();
    await page.waitForSelector('[data-destination-of="forward/wx"] .badge:not([data-destination="live"])', { timeout: 40_000 });
    const state = await badge('wx').getAttribute('data-destination');
    assert.ok(['stalled', 'retrying', 'failed'].includes(String(state)), String(state));
    assert.match((await badge('wx').textContent()) ?? '', /Stalled|Retrying|Failed/);
    await waitFor(
      async () => (await health('show')).data.history.destinations[0]?.state.some((s) => s !== null && s !== 'live') ?? false,
      20_000,
      () => 'a non-live state in the destination history',
    );
  });

  it('a bitrate that falls by more than half gets "bitrate dropped" in the API and on the page', async () => {
    const secret = await publishSecretOf(stack, bearer);
    // ~3 Mbps of noise for 20 s, then the clean test picture at ~150 kbps, from one ffmpeg (no reconnect).
    const drop = spawnFfmpeg([
      ...['-hide_banner', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', "testsrc=size=320x240:rate=25,noise=alls=50:allf=t:enable='lt(t,20)'"],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-g', '50', '-pix_fmt', 'yuv420p'],
      ...['-c:a', 'aac', '-b:a', '64k', '-f', 'flv', stackPublishUrl(stack, secret, 'drop')],
    ]);
    publishers.push(drop);
    await waitStreamLive(stack, bearer, 'drop');
    let seen: Health | null = null;
    // The warning judges each second, so it comes first; the 10 s average of the history follows.
    const fell = (h: Health) => Math.max(...h.history.kbps) > 4 * (h.history.kbps.at(-1) as number);
    await waitFor(
      async () => {
        seen = (await health('drop')).data;
        return (seen.now?.health?.warnings ?? []).some((w) => w.code === 'bitrateDrop') && fell(seen);
      },
      60_000,
      () => `a bitrateDrop warning and the fall in the history, saw ${JSON.stringify(seen)}\n${drop.stderr()}`,
    );
    const warning = (seen as unknown as Health).now?.health?.warnings.find((w) => w.code === 'bitrateDrop');
    assert.match(warning?.message ?? '', /^bitrate dropped \d+ % for \d+ s$/);

    await page.goto(`${stack.url}/mgmt/streams/live/drop`);
    assert.match((await page.textContent('[data-warning="bitrateDrop"]')) ?? '', /Bitrate dropped \d+ % for \d+ s/);
    await page.waitForFunction(() => Number(document.querySelector('figure[data-chart="kbps"]')?.getAttribute('data-points')) >= 3, null, {
      timeout: 15_000,
    });
    assert.ok((await linePixels('kbps')) > 40);
    const res = await fetch(`${stack.url}/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
    const families = parsePrometheus(await res.text());
    assert.equal(sampleValue(families, 'srs_stack_stream_warnings', { app: 'live', stream: 'drop', code: 'bitrateDrop' }), 1);
    assert.ok((sampleValue(families, 'srs_stack_stream_bitrate_kbps', { app: 'live', stream: 'drop' }) ?? 0) > 0);
    assert.ok((sampleValue(families, 'srs_stack_stream_fps', { app: 'live', stream: 'drop' }) ?? 0) > 20);
  });

  it('in Chinese, the same page in Chinese', async () => {
    await page.goto(`${stack.url}/mgmt/lang/zh?back=${encodeURIComponent('/mgmt/streams/live/show')}`);
    await page.waitForURL(/\/mgmt\/streams\/live\/show$/);
    assert.match((await page.textContent('#stream-state')) ?? '', /直播中/);
    assert.match((await page.textContent('#stream-charts')) ?? '', /最近 5 分钟/);
    assert.match((await badge('wx').textContent()) ?? '', /卡住了|重试中|失败/);
    await page.goto(`${stack.url}/mgmt/lang/en?back=${encodeURIComponent('/mgmt/system')}`);
  });

  it('a stream that ended says so and keeps its charts; an unknown one is a 404, a bad name a 400', async () => {
    await show.stop();
    await waitFor(
      async () => (await health('show')).data.live === false,
      20_000,
      () => 'show to end',
    );
    await page.goto(`${stack.url}/mgmt/streams/live/show`);
    assert.equal(await page.getAttribute('#stream-state', 'data-live'), 'false');
    assert.match((await page.textContent('#stream-state')) ?? '', /Ended/);
    await page.waitForFunction(() => Number(document.querySelector('figure[data-chart="kbps"]')?.getAttribute('data-points')) >= 3, null, {
      timeout: 15_000,
    });
    const ended = await health('show');
    assert.ok(ended.data.endedAt);
    assert.deepEqual(ended.data.destinations, []);

    const unknown = await health('nobody');
    assert.equal(unknown.status, 404);
    assert.match(unknown.message, /live\/nobody is not live/);
    const bad = await stack.api('/terraform/v1/mgmt/streams/health', { stream: 'a?b' }, { bearer });
    assert.equal(bad.status, 400);
    const res = await page.goto(`${stack.url}/mgmt/streams/live/nobody`);
    assert.equal(res?.status(), 404);
    assert.match((await page.textContent('#stream-state')) ?? '', /not live/);
  });
});
