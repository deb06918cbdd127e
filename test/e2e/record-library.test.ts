// Issue 19, Recordings: the library of a 2-minute record in headless Chromium (thumbnail, playback
// with a seek to 1:30 over range requests, a clip from In/Out points on the player, rename), its API
// (paging, filters, clip, retention) and the disk guard's warning on every page and by callback.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loggedInPage } from '../helpers/browser.js';
import { startCallbackReceiver, type CallbackReceiver } from '../helpers/callback-receiver.js';
import { GOP_SECONDS, keyframeAccurate, makeSegments, recordApi, StreamFeeder, type FixtureSegment } from '../helpers/hls-fixture.js';
import { mp4TopLevelBoxes, probe } from '../helpers/media-probe.js';
import { ADMIN_PASSWORD, FEEDER_MAIN, initAdmin, startStack, tempDir, waitFor, type StackHandle } from '../helpers/stack.js';

interface LibraryRecord {
  uuid: string;
  stream: string;
  status: string;
  duration: number;
  size: number;
  title?: string;
  clip_of?: string;
  mp4_size?: number;
}

describe('e2e: the Recordings library (issue 19)', function () {
  this.timeout(240_000);
  let stack: StackHandle;
  let bearer: string;
  let browser: Browser;
  let page: Page;
  let fixtures: FixtureSegment[];
  let receiver: CallbackReceiver;
  let uuid: string;

  const call = recordApi(
    () => stack,
    () => bearer,
  );
  const library = async (body: Record<string, unknown> = {}) =>
    (await call('library', body)) as { records: LibraryRecord[]; total: number; page: number; size: number };

  before(async () => {
    fixtures = await makeSegments(tempDir('record-library-fixture-'), { seconds: 120 });
    stack = await startStack({ entry: FEEDER_MAIN, env: { SRS_RECORD_WAIT_SECONDS: '60' } });
    bearer = await initAdmin(stack);
    receiver = await startCallbackReceiver();
    const hooks = await stack.api('/terraform/v1/mgmt/hooks/apply', { target: receiver.url, opaque: 'o', all: true }, { bearer });
    assert.equal(hooks.status, 200);
    await call('apply', { all: true });
    const feeder = new StreamFeeder(stack, tempDir('record-library-hls-'));
    await feeder.publish();
    await feeder.segments(fixtures);
    const [live] = (await library({ status: 'recording' })).records;
    assert.ok(live);
    uuid = live.uuid;
    await call('end', { uuid });
    await feeder.unpublish();
    await waitFor(
      async () => (await library({ status: 'done' })).total === 1,
      60_000,
      () => stack.logs().slice(-2000),
    );
    browser = await launchBrowser();
    page = await loggedInPage(browser, stack.url, ADMIN_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    receiver?.close();
  });

  const video = '#watch-video';
  const row = (id: string) => `tr[data-uuid="${id}"]`;

  it('plays the 2-minute record in the page with range requests and seeks to 1:30 within a keyframe interval', async () => {
    const ranges: number[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith(`${uuid}/index.mp4`)) ranges.push(r.status());
    });
    // The MP4 written while recording (fragments indexed by sidx), not a remux: that is what plays here.
    assert.ok(mp4TopLevelBoxes(`${stack.dataDir}/record/${uuid}/index.mp4`).includes('sidx'));
    const jpeg = await fetch(`${stack.url}/terraform/v1/hooks/record/hls/${uuid}/thumbnail.jpg`);
    assert.equal(jpeg.status, 200, `${await jpeg.clone().text()}\n${stack.logs().slice(-2000)}`);
    assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual([...Buffer.from(await jpeg.arrayBuffer()).subarray(0, 2)], [0xff, 0xd8], 'a JPEG, without credentials');
    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    const thumb = await page.waitForSelector(`${row(uuid)} img.record-thumb`, { state: 'attached' });
    await thumb.scrollIntoViewIfNeeded(); // loaded lazily, as a long library scrolls by
    await page.waitForFunction((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0, thumb);
    assert.equal(await thumb.evaluate((img) => (img as HTMLImageElement).naturalWidth), 320, 'a 320 px frame grab');

    await page.click(`${row(uuid)} button.watch-play`);
    await page.waitForSelector('#watch-state[data-state="playing"]', { timeout: 30_000 });
    const duration = await page.$eval(video, (v) => (v as HTMLVideoElement).duration);
    assert.ok(Math.abs(duration - 120) < GOP_SECONDS, `duration ${duration}`);

    const landed = await page.$eval(
      video,
      (v) =>
        new Promise<number>((resolve) => {
          const el = v as HTMLVideoElement;
          el.pause();
          el.addEventListener('seeked', () => resolve(el.currentTime), { once: true });
          el.currentTime = 90;
        }),
    );
    assert.ok(Math.abs(landed - 90) <= GOP_SECONDS, `landed at ${landed}`);
    // A frame of 1:30 is shown: the next frame callback reports a media time there.
    const shown = await page.$eval(
      video,
      (v) =>
        new Promise<number>((resolve) => {
          const el = v as HTMLVideoElement;
          el.requestVideoFrameCallback((_now, meta) => resolve(meta.mediaTime));
          void el.play();
        }),
    );
    assert.ok(Math.abs(shown - 90) <= GOP_SECONDS + 1, `first frame after the seek at ${shown}`);
    assert.ok(ranges.includes(206), `the MP4 is read by range requests (${ranges.join(',')})`);
    await page.$eval(video, (v) => (v as HTMLVideoElement).pause());
  });

  it('clips between In and Out points taken on the player, without re-encoding: ffprobe confirms the length', async () => {
    const mark = async (at: number, button: 'in' | 'out') => {
      await page.$eval(
        video,
        (v, t) =>
          new Promise<void>((resolve) => {
            const el = v as HTMLVideoElement;
            el.addEventListener('seeked', () => resolve(), { once: true });
            el.currentTime = t;
          }),
        at,
      );
      await page.click(`${row(uuid)} form.record-clip button[data-clip-mark$="-${button}-0"]`);
    };
    await page.click(`${row(uuid)} details.record-clip-box summary`);
    await mark(30, 'in');
    await mark(60, 'out');
    assert.equal(await page.inputValue(`${row(uuid)} input[name=start]`), '30.0');
    assert.equal(await page.inputValue(`${row(uuid)} input[name=end]`), '60.0');
    await page.click(`${row(uuid)} button.record-clip-submit`);
    await page.waitForSelector('.alert.ok');
    const clip = (await library()).records.find((r) => r.clip_of === uuid);
    assert.ok(clip, 'the clip is a record of the library');
    assert.equal(clip.title, 'live/livestream [0:30–1:00]');
    const media = await probe(`${stack.dataDir}/record/${clip.uuid}/index.mp4`);
    assert.ok(keyframeAccurate(media.duration, 30), `clip of ${media.duration} s`);
    assert.ok(Math.abs(clip.duration - media.duration) < 0.05, `the library shows the clip's real length: ${clip.duration}`);
    assert.deepEqual(
      media.streams.map((s) => `${s.codec_type}/${s.codec_name}`).sort(),
      ['audio/aac', 'video/h264'],
      'copied, not re-encoded',
    );

    // The API cuts the same way, and refuses what cannot be cut.
    const api = (await call('clip', { uuid, start: 100, end: 500 })) as LibraryRecord;
    const tail = await probe(`${stack.dataDir}/record/${api.uuid}/index.mp4`);
    assert.ok(keyframeAccurate(tail.duration, 20), `clip to the end: ${tail.duration} s`);
    const bad = await stack.api('/terraform/v1/hooks/record/clip', { uuid, start: 50, end: 40 }, { bearer });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.message), /0 <= start < end/);
  });

  it('renames, pages and filters the library', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    await page.fill(`${row(uuid)} form.record-rename input[name=title]`, 'Keynote');
    await page.click(`${row(uuid)} form.record-rename button`);
    await page.waitForSelector('.alert.ok');
    assert.equal(await page.inputValue(`${row(uuid)} form.record-rename input[name=title]`), 'Keynote');

    const all = await library();
    assert.equal(all.total, 3);
    const second = await library({ size: 1, page: 2 });
    assert.deepEqual([second.total, second.records.length, second.records[0]?.uuid], [3, 1, all.records[1]?.uuid]);
    assert.deepEqual(
      (await library({ stream: 'keynote' })).records.map((r) => r.uuid),
      [uuid],
    );
    assert.equal((await library({ from: '2999-01-01T00:00:00Z' })).total, 0);
    assert.equal((await stack.api('/terraform/v1/hooks/record/library', { size: 1000 }, { bearer })).status, 400);
    assert.equal((await stack.api('/terraform/v1/hooks/record/library', {})).status, 401, 'the library needs the Bearer');
  });

  it('a free-space threshold above the disk warns on every console page and by one on_disk_low callback', async () => {
    const before = (await call('retention/query')) as { disk: { freeMb: number } };
    await call('retention/apply', { warnFreeMb: before.disk.freeMb + 1_000_000 });
    for (const tab of ['/mgmt/scenarios?tab=record', '/mgmt/components', '/mgmt/system']) {
      await page.goto(`${stack.url}${tab}`);
      assert.match((await page.textContent('#storage-alert')) ?? '', /running low/, tab);
    }
    await waitFor(
      async () => receiver.received.some((b) => b.action === 'on_disk_low'),
      20_000,
      () => JSON.stringify(receiver.received),
    );
    const warning = receiver.received.find((b) => b.action === 'on_disk_low') as Record<string, unknown>;
    assert.equal(warning.dir, `${stack.dataDir}/record`);
    assert.equal(warning.opaque, 'o');
    await call('retention/apply', { warnFreeMb: 0 });
    await page.goto(`${stack.url}/mgmt/components`);
    assert.equal(await page.$('#storage-alert'), null, 'off again');
  });

  it('retention by size keeps the newest records and deletes the oldest first, from the API', async () => {
    const records = (await library()).records;
    const newest = records[0] as LibraryRecord;
    const keepBytes = newest.size + (newest.mp4_size ?? 0) + 1;
    const applied = (await call('retention/apply', { maxGb: keepBytes / 1024 ** 3 })) as { maxGb: number };
    assert.ok(applied.maxGb > 0);
    assert.deepEqual(
      (await library()).records.map((r) => r.uuid),
      [newest.uuid],
      'only the newest (a clip) fits',
    );
    const bad = await stack.api('/terraform/v1/hooks/record/retention/apply', { days: -1 }, { bearer });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.message), /days must be a number from 0/);
  });

  it('live timeshift: a record in progress plays as a DVR window of the set minutes, and the player seeks back within it', async () => {
    await call('retention/apply', { timeshiftMinutes: 1 });
    const feeder = new StreamFeeder(stack, tempDir('record-library-dvr-'), 'live', 'dvr');
    await feeder.publish();
    await feeder.segments(fixtures.slice(0, 40)); // 80 s recorded, a 60 s window
    const live = (await library({ status: 'recording', stream: 'live/dvr' })).records[0] as LibraryRecord;
    const res = await fetch(`${stack.url}/terraform/v1/hooks/record/hls/${live.uuid}/dvr.m3u8`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.doesNotMatch(text, /#EXT-X-ENDLIST/, 'live: players follow the edge');
    const uris = text.split('\n').filter((l) => l.startsWith('/terraform/'));
    const window = uris.length * 2;
    assert.ok(window <= 60 && window >= 56, `a 60 s window: ${uris.length} segments`);
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:(1[0-9]|20)\n/);
    assert.equal(text.split('#EXT-X-PROGRAM-DATE-TIME:').length - 1, uris.length);

    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    assert.match((await page.getAttribute(`${row(live.uuid)} button.watch-play`, 'data-watch')) ?? '', /\/dvr\.m3u8$/);
    await page.click(`${row(live.uuid)} button.watch-play`);
    await page.waitForSelector('#watch-state[data-state="playing"]', { timeout: 30_000 });
    const seekable = await page.$eval(video, (v) => {
      const el = v as HTMLVideoElement;
      return { start: el.seekable.start(0), end: el.seekable.end(el.seekable.length - 1), now: el.currentTime };
    });
    assert.ok(seekable.end - seekable.start >= 50, `the window is seekable: ${JSON.stringify(seekable)}`);
    const back = seekable.start + 5;
    const landed = await page.$eval(
      video,
      (v, t) =>
        new Promise<number>((resolve) => {
          const el = v as HTMLVideoElement;
          el.addEventListener('seeked', () => resolve(el.currentTime), { once: true });
          el.currentTime = t;
        }),
      back,
    );
    assert.ok(Math.abs(landed - back) <= GOP_SECONDS, `seeked back to ${landed} (asked ${back}, live edge ${seekable.end})`);
    assert.ok(seekable.end - landed >= 40, 'well behind the live edge');
    await page.click('#watch-stop');
    await feeder.unpublish();
    await call('end', { uuid: live.uuid });
  });
});
