// Issue 17, items 8 and 9: watch from everywhere (Play in Streams, Live rooms and Record, a live
// room's page) and an explicit Transcode source. Real Chromium against the real stack (nginx-rtmp,
// redis, ffmpeg): the user presses Play and the picture moves.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loggedInPage } from '../helpers/browser.js';
import { makeMedia, publishFile, type Publisher } from '../helpers/media.js';
import { publishIntoStack, publishSecretOf, stackPublishUrl, waitStreamLive } from '../helpers/restream.js';
import { ADMIN_PASSWORD, initAdmin, sleep, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

interface Streamed {
  app: string;
  stream: string;
  viewers: number;
  kbps: number;
  video: { codec: string; width: number; height: number; fps: number } | null;
  audio: { codec: string } | null;
}

describe('e2e: watch from everywhere and an explicit transcode source (issue 17)', function () {
  this.timeout(240_000);
  const media = tempDir('console-watch-');
  let stack: StackHandle;
  let bearer: string;
  let browser: Browser;
  let page: Page;
  let clip: string;
  const publishers: Publisher[] = [];

  const api = async (p: string, body: unknown = {}) => {
    const res = await stack.api(`/terraform/v1${p}`, body, { bearer });
    assert.equal(res.status, 200, `${p}: ${JSON.stringify(res.json)}`);
    return res.json.data;
  };
  const streams = async () => ((await api('/mgmt/streams/query')) as { streams: Streamed[] | null }).streams ?? [];
  const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();

  /** The in-page player plays: its badge says so and the picture moves on by more than a second. */
  const playsInPage = async (what: string) => {
    await page.waitForSelector('#watch-state[data-state="playing"]', { timeout: 60_000 });
    const t0 = await page.$eval('#watch-video', (v) => (v as HTMLVideoElement).currentTime);
    await page.waitForFunction((start) => (document.getElementById('watch-video') as HTMLVideoElement).currentTime > start + 1, t0, {
      timeout: 30_000,
    });
    assert.equal(await page.$eval('#watch-video', (v) => (v as HTMLVideoElement).error), null, `${what}: no media error`);
  };

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
    browser = await launchBrowser();
    page = await loggedInPage(browser, stack.url, ADMIN_PASSWORD);
    // 640x360 at 15 fps, 400 kbit/s of video: what Streams must show.
    clip = await makeMedia(path.join(media, 'clip.flv'), { seconds: 6, format: 'flv', size: '640x360', videoKbps: 400 });
  });
  after(async () => {
    await browser?.close();
    for (const p of publishers) await p.stop();
    await stack?.stop();
  });

  it('Streams: shows the picture size, codecs and a bitrate for a real publish, and its Play button plays it here (en and zh)', async () => {
    publishers.push(await publishIntoStack(stack, bearer, clip, 'watchme'));
    // The API first (only fields added): the bitrate is measured from the media the stack receives.
    await waitFor(
      async () => (await streams()).some((s) => s.stream === 'watchme' && s.kbps > 0 && (s.video?.width ?? 0) > 0),
      30_000,
      async () => `a bitrate and a size in streams.query: ${JSON.stringify(await streams())}`,
    );
    const row = (await streams()).find((s) => s.stream === 'watchme') as Streamed;
    console.log(`      streams.query: ${row.kbps} kbps, ${row.video?.fps} fps (clip: 400 + 64 kbit/s, 15 fps)`);
    assert.deepEqual([row.video?.width, row.video?.height, row.video?.codec, row.audio?.codec], [640, 360, 'H.264', 'AAC']);
    // The clip is 400 kbit/s of video and 64 of audio at 15 fps (FLV framing adds a little).
    assert.ok(row.kbps > 300 && row.kbps < 700, `kbps ${row.kbps}`);
    assert.ok((row.video?.fps ?? 0) > 10 && (row.video?.fps ?? 0) < 20, `fps ${row.video?.fps}`);

    await page.goto(`${stack.url}/mgmt/system?tab=streams`);
    const tr = '#active-streams tr[data-stream="live/watchme"]';
    assert.match((await page.innerText(`${tr} .stream-picture`)).trim(), /^640x360\s+\d+(\.\d)? fps$/);
    assert.equal(await text(`${tr} .stream-codecs`), 'H.264 / AAC');
    const bitrate = await text(`${tr} .stream-bitrate`);
    assert.match(bitrate, /^\d+ kbps$/);
    assert.ok(Number.parseInt(bitrate, 10) > 0);
    assert.doesNotMatch(await page.innerText('#active-streams'), /vid-|Server|Client/, 'no internal ids');

    await page.click(`${tr} button.watch-play`);
    await playsInPage('Streams › Play');
    assert.equal(await text('#watch-name'), 'live/watchme');
    // The viewer is counted (HTTP-FLV), and the table says so after its refresh.
    await waitFor(
      async () => (await streams()).some((s) => s.stream === 'watchme' && s.viewers >= 1),
      15_000,
      () => 'a viewer',
    );
    await page.click('#watch-stop');
    await page.waitForSelector('#watch-state[data-state="stopped"]');

    await page.click('a[href^="/mgmt/lang/zh"]');
    await page.waitForSelector(`${tr} button.watch-play`);
    assert.equal(await text(`${tr} button.watch-play`), '播放');
    assert.match(await text('#active-streams thead'), /画面.*编码.*码率/);
    await page.click('a[href^="/mgmt/lang/en"]');
  });

  it('Live room: its own page lists its publish and play URLs with copy buttons, and plays the room’s stream', async () => {
    const room = (await api('/live/room/create', { title: 'Friday show' })) as { uuid: string; stream: string; secret: string };
    await page.goto(`${stack.url}/mgmt/scenarios?tab=stream`);
    await Promise.all([page.waitForURL(/\/mgmt\/rooms\//), page.click(`a.room-link[href="/mgmt/rooms/${room.uuid}"]`)]);
    assert.equal(await text('#room h2'), 'Friday show');
    const shown = async (id: string) => text(`#${id}`);
    assert.equal(await shown('rtmp-key'), `${room.stream}?secret=${room.secret}`);
    assert.match(await shown('rtmp-url'), new RegExp(`^rtmp://127\\.0\\.0\\.1(:\\d+)?/live/${room.stream}\\?secret=${room.secret}$`));
    assert.match(await shown('flv-url'), new RegExp(`^http://127\\.0\\.0\\.1:\\d+/live/${room.stream}\\.flv$`));
    assert.match(await shown('m3u8-url'), new RegExp(`/live/${room.stream}\\.m3u8$`));
    assert.match(await shown('llhls-url'), new RegExp(`/live/${room.stream}/ll\\.m3u8$`));
    assert.match(await shown('whep-url'), new RegExp(`/rtc/v1/whep/\\?app=live&stream=${room.stream}$`));
    assert.match(await shown('srt-url'), new RegExp(`r=live/${room.stream}\\?secret=${room.secret},m=publish`));
    assert.equal(
      await page.locator('#room button[data-copy]').count(),
      await page.locator('#room code').count(),
      'every URL has its copy button',
    );

    // The streamer publishes with the room's key, as the page shows it; the page plays it.
    publishers.push(publishFile(stackPublishUrl(stack, room.secret, room.stream), clip));
    await waitStreamLive(stack, bearer, room.stream);
    await page.click('#play-flv-url');
    await playsInPage('Live room › Play');
    await page.click('#watch-stop');
    await page.click('#play-m3u8-url');
    await playsInPage('Live room › Play HLS');
    await page.click('#watch-stop');

    await page.click('a[href^="/mgmt/lang/zh"]');
    await page.waitForSelector('#room');
    assert.match(await page.innerText('#room'), /推流[\s\S]*播放/);
    await page.click('a[href^="/mgmt/lang/en"]');
  });

  it('Record: a record in progress plays in the page through hls.js, a finished one as MP4', async () => {
    await api('/hooks/record/apply', { all: true });
    type Rec = { uuid: string; stream: string; progress: boolean; nn: number };
    const records = async () => ((await api('/hooks/record/files')) as Rec[] | null) ?? [];
    // The record follows the engine's 10 s segments: the first one makes it playable.
    await waitFor(
      async () => (await records()).some((r) => r.stream === 'watchme' && r.nn >= 1),
      60_000,
      () => 'a record segment',
    );
    const uuid = ((await records()).find((r) => r.stream === 'watchme') as Rec).uuid;
    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    const tr = `tr[data-uuid="${uuid}"]`;
    await page.waitForSelector(`${tr}[data-status="recording"]`);
    assert.match((await page.getAttribute(`${tr} button.watch-play`, 'data-watch')) ?? '', /\.m3u8$/);
    await page.click(`${tr} button.watch-play`);
    await playsInPage('Record › Play (in progress)');
    // hls.js plays it (Media Source Extensions), not a download of the playlist.
    assert.ok(await page.evaluate(() => typeof (window as unknown as { Hls?: unknown }).Hls === 'function'));
    assert.match(await page.$eval('#watch-video', (v) => (v as HTMLVideoElement).currentSrc), /^blob:/);
    await page.click('#watch-stop');

    await api('/hooks/record/end', { uuid });
    await page.waitForSelector(`${tr}[data-status="done"]`, { timeout: 60_000 });
    assert.match((await page.getAttribute(`${tr} button.watch-play`, 'data-watch')) ?? '', /\/index\.mp4$/);
    await page.click(`${tr} button.watch-play`);
    await playsInPage('Record › Play (finished)');
    assert.match(await page.$eval('#watch-video', (v) => (v as HTMLVideoElement).currentSrc), /\/index\.mp4$/);
    await page.click('#watch-stop');
    await api('/hooks/record/apply', { all: false });
  });

  it('Transcode: the chosen source is transcoded, not a stream published later, and its output plays on the page (en and zh)', async () => {
    publishers.push(await publishIntoStack(stack, bearer, clip, 'tcsrc'));
    await page.goto(`${stack.url}/mgmt/scenarios?tab=transcode`);
    assert.match(await text('#tc-sources-live'), /tcsrc/);
    assert.ok(await page.$('#tc-sources option[value="tcsrc"]'), 'the live stream is offered');
    // Start with no source: the browser asks for one (nothing is posted).
    await page.fill('#tc-stream', '');
    await page.click('button.start');
    assert.equal(await page.$eval('#tc-stream', (i) => (i as HTMLInputElement).validity.valueMissing), true);

    await page.fill('#tc-stream', 'tcsrc');
    await page.selectOption('#tc-vpreset', 'ultrafast');
    await page.fill('#tc-vbitrate', '300');
    await page.fill('#tc-secret', `tcsrc-trans?secret=${await publishSecretOf(stack, bearer)}`);
    await page.click('button.start');
    await page.waitForSelector('.alert.ok');
    type Task = { input?: string; state: string; task?: { pid?: number } };
    const task = async () => (await api('/ffmpeg/transcode/task')) as Task;
    await waitFor(
      async () => (await task()).input === 'live/tcsrc',
      30_000,
      async () => `the transcode of tcsrc: ${JSON.stringify(await task())}`,
    );
    await waitStreamLive(stack, bearer, 'tcsrc-trans', 'live', 30_000);
    assert.equal(((await api('/ffmpeg/transcode/query')) as { stream: string }).stream, 'tcsrc');
    const pid = (await task()).task?.pid;

    // A stream published later: SRS Stack's "most recently published" would switch to it.
    publishers.push(await publishIntoStack(stack, bearer, clip, 'later'));
    await waitFor(
      async () => (await streams()).some((s) => s.stream === 'later' && s.kbps > 0),
      20_000,
      () => 'later to flow',
    );
    // The task group re-plans every 3 s (core/ffmpeg/tasks.ts): give it two chances to switch.
    await sleep(6000);
    const after = await task();
    assert.equal(after.input, 'live/tcsrc');
    assert.equal(after.task?.pid, pid, 'the same ffmpeg goes on');

    await page.goto(`${stack.url}/mgmt/scenarios?tab=transcode`);
    assert.equal(await page.inputValue('#tc-stream'), 'tcsrc', 'the choice is kept');
    assert.equal(await text('#transcode-output h3 code'), 'tcsrc-trans');
    assert.match(await text('#tc-flv-url'), /\/live\/tcsrc-trans\.flv$/);
    assert.match(await text('#tc-m3u8-url'), /\/live\/tcsrc-trans\.m3u8$/);
    assert.ok(await page.$('#transcode-output button[data-copy="#tc-flv-url"]'));
    await page.click('#play-tc-flv-url');
    await playsInPage('Transcode › Play output');
    await page.click('#watch-stop');
    // The output is the transcode: the stack measures its bitrate like any stream's.
    await waitFor(
      async () => (await streams()).some((s) => s.stream === 'tcsrc-trans' && s.kbps > 0),
      20_000,
      () => 'the output measured',
    );

    await page.click('a[href^="/mgmt/lang/zh"]');
    await page.waitForSelector('#transcode-output');
    assert.match(await page.innerText('label[for="tc-stream"]'), /源流/);
    assert.match(await page.innerText('#transcode-output h3'), /转码后的流/);
    await page.click('a[href^="/mgmt/lang/en"]');
    await page.click('button.stop');
    await page.waitForSelector('.alert.ok');
    await waitFor(
      async () => (await task()).state === 'inactive',
      20_000,
      () => 'the transcode to stop',
    );
  });
});
