// Issue 19, live timeshift by stream name and clips of a record in progress, with a real stack
// (Redis, the segment events the engine raises), real MPEG-TS segments and headless Chromium:
// the public player page of a stream that is NOT recorded switches to its DVR playlist and seeks
// 40 s behind the live edge, then back to live; a record still recording is clipped from the part
// already written, checked by ffprobe.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loggedInPage } from '../helpers/browser.js';
import { GOP_SECONDS, keyframeAccurate, makeSegments, recordApi, StreamFeeder, type FixtureSegment } from '../helpers/hls-fixture.js';
import { probe } from '../helpers/media-probe.js';
import { ADMIN_PASSWORD, FEEDER_MAIN, initAdmin, startStack, tempDir, type StackHandle } from '../helpers/stack.js';

describe('e2e: live timeshift on the public player page, clips of a record in progress (issue 19)', function () {
  this.timeout(180_000);
  let fixtures: FixtureSegment[];
  let stack: StackHandle;
  let bearer: string;
  let browser: Browser;
  let page: Page;

  const call = recordApi(
    () => stack,
    () => bearer,
  );

  before(async () => {
    fixtures = await makeSegments(tempDir('timeshift-fixture-'), { seconds: 100 });
    stack = await startStack({ entry: FEEDER_MAIN });
    bearer = await initAdmin(stack);
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('the public player page of a stream not recorded seeks 40 s behind live in its timeshift window, and back to live', async () => {
    // Off by default: no DVR playlist, and the page offers no timeshift.
    assert.equal((await fetch(`${stack.url}/live/show/dvr.m3u8`)).status, 404);
    await page.goto(`${stack.url}/tools/player.html?url=${encodeURIComponent('/live/show.m3u8')}`);
    assert.equal(await page.$('#timeshift'), null);

    await call('retention/apply', { timeshiftMinutes: 2 });
    assert.equal(((await call('query')) as { all: boolean }).all, false, 'recording is off: the timeshift store keeps the segments');
    const feeder = new StreamFeeder(stack, tempDir('timeshift-hls-'), 'live', 'show');
    await feeder.publish();
    await feeder.segments(fixtures); // 100 s, inside a 120 s window
    // The first answer names the player's session (hls_ctx, like the live playlist); then the window.
    const variant = await fetch(`${stack.url}/live/show/dvr.m3u8`);
    assert.equal(variant.status, 200);
    const session = (await variant.text()).split('\n').find((l) => l.startsWith('dvr.m3u8?hls_ctx='));
    assert.ok(session, 'a session variant');
    const media = await fetch(`${stack.url}/live/show/${session}`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(media.headers.get('content-encoding'), 'gzip', 'a long window goes gzipped to players that accept it');
    const text = await media.text();
    const plain = await fetch(`${stack.url}/live/show/${session}`, { headers: { 'Accept-Encoding': 'identity' } });
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal(await plain.text(), text);
    const uris = text.split('\n').filter((l) => l.startsWith('dvr-'));
    assert.equal(uris.length, fixtures.length, 'every segment written is in the window');
    assert.equal(text.split('#EXT-X-PROGRAM-DATE-TIME:').length - 1, uris.length);
    assert.doesNotMatch(text, /#EXT-X-ENDLIST/, 'live: it grows at the edge');

    await page.goto(`${stack.url}/tools/player.html?url=${encodeURIComponent('/live/show.m3u8')}`);
    assert.equal(await page.getAttribute('#timeshift', 'data-dvr-url'), '/live/show/dvr.m3u8');
    assert.match((await page.textContent('#simple-player')) ?? '', /Timeshift: press Timeshift to seek back up to 2 minutes/);
    await page.click('#timeshift-dvr');
    await page.waitForSelector('#player-state[data-state="playing"]', { timeout: 30_000 });
    await page.waitForFunction(() => !(document.getElementById('timeshift-seek') as HTMLInputElement).disabled);
    const range = await page.$eval('#timeshift-seek', (el) => ({
      min: Number((el as HTMLInputElement).min),
      max: Number((el as HTMLInputElement).max),
    }));
    assert.ok(range.max - range.min >= 90, `the seek bar spans the window: ${JSON.stringify(range)}`);

    // The seek bar, as a viewer drags it: 40 s behind the live edge.
    const target = range.max - 40;
    await page.$eval(
      '#timeshift-seek',
      (el, t) => {
        const input = el as HTMLInputElement;
        input.value = String(t);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      },
      target,
    );
    await page.waitForFunction(
      (t) => {
        const v = document.getElementById('player-video') as HTMLVideoElement;
        return !v.seeking && Math.abs(v.currentTime - t) < 3 && v.readyState >= 2;
      },
      target,
      { timeout: 30_000 },
    );
    const behind = Number(await page.getAttribute('#timeshift-behind', 'data-behind'));
    assert.ok(behind >= 40 - GOP_SECONDS && behind <= 40 + GOP_SECONDS + 1, `40 s behind live: ${behind}`);
    assert.match((await page.textContent('#timeshift-behind')) ?? '', /^-0:(3[89]|4[0-3])$/);

    await page.click('#timeshift-golive');
    await page.waitForFunction(() => Number(document.getElementById('timeshift-behind')?.dataset.behind) <= 8, undefined, {
      timeout: 30_000,
    });
    assert.equal(await page.textContent('#timeshift-behind'), 'at the live edge');
    await page.click('#timeshift-live');
    assert.equal(await page.getAttribute('#timeshift-dvr', 'aria-pressed'), 'false');

    // 中文: the same control, every label translated.
    const player = `/tools/player.html?url=${encodeURIComponent('/live/show.m3u8')}`;
    await page.goto(`${stack.url}/mgmt/lang/zh?back=${encodeURIComponent(player)}`);
    assert.equal(await page.textContent('#timeshift-dvr'), '时移');
    assert.equal(await page.textContent('#timeshift-golive'), '回到直播');
    assert.match((await page.textContent('#simple-player')) ?? '', /回看最多 2 分钟/);
    await page.goto(`${stack.url}/mgmt/lang/en?back=${encodeURIComponent(player)}`);
    await feeder.unpublish();
  });

  it('a record still recording is clipped from the part already written, without re-encoding (ffprobe)', async () => {
    await call('apply', { all: true });
    const feeder = new StreamFeeder(stack, tempDir('timeshift-clip-hls-'), 'live', 'clipme');
    await feeder.publish();
    await feeder.segments(fixtures.slice(0, 20)); // 40 s written so far
    const { records } = (await call('library', { status: 'recording', stream: 'live/clipme' })) as {
      records: Array<{ uuid: string; duration: number }>;
    };
    const live = records[0];
    assert.ok(live, 'recording');
    const clip = (await call('clip', { uuid: live.uuid, start: 10, end: 30 })) as { uuid: string; clip_of: string; status: string };
    assert.equal(clip.clip_of, live.uuid);
    assert.equal(clip.status, 'done');
    const media = await probe(`${stack.dataDir}/record/${clip.uuid}/index.mp4`);
    assert.ok(keyframeAccurate(media.duration, 20), `keyframe-accurate 20 s clip: ${media.duration} s`);
    assert.deepEqual(
      media.streams.map((s) => `${s.codec_type}/${s.codec_name}`).sort(),
      ['audio/aac', 'video/h264'],
      'copied, not re-encoded',
    );
    // Up to the part written: an out point past it is cut at its end; an in point past it is refused.
    const tail = (await call('clip', { uuid: live.uuid, start: 30, end: 999 })) as { uuid: string };
    const tailMedia = await probe(`${stack.dataDir}/record/${tail.uuid}/index.mp4`);
    assert.ok(keyframeAccurate(tailMedia.duration, 10), `to the edge: ${tailMedia.duration} s`);
    const past = await stack.api('/terraform/v1/hooks/record/clip', { uuid: live.uuid, start: 45, end: 50 }, { bearer });
    assert.equal(past.status, 400);
    assert.match(String(past.json.message), /past the record's end \(40\.0 s\)/);
    // The stream's DVR playlist comes from its record: one copy on disk, none in the timeshift store.
    const variant = await (await fetch(`${stack.url}/live/clipme/dvr.m3u8`)).text();
    const session = variant.split('\n').find((l) => l.startsWith('dvr.m3u8?'));
    assert.ok(session, variant);
    const dvr = await (await fetch(`${stack.url}/live/clipme/${session}`)).text();
    const uris = dvr.split('\n').filter((l) => l.startsWith('dvr-'));
    assert.equal(uris.length, 20, dvr);
    const seg = await fetch(`${stack.url}/live/clipme/${uris[0]}`);
    assert.equal(seg.status, 200);
    assert.equal(
      (await seg.arrayBuffer()).byteLength,
      fs.statSync((fixtures[0] as FixtureSegment).file).size,
      "the record's copy of the first segment",
    );
    assert.equal(fs.existsSync(`${stack.dataDir}/dvr/timeshift/live/clipme`), false, 'the recorded stream has no store copies');
    // The Recordings library's Clip works on it too (typed seconds: its player plays the live window).
    const admin = await loggedInPage(browser, stack.url, ADMIN_PASSWORD);
    await admin.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    const row = `tr[data-uuid="${live.uuid}"]`;
    await admin.click(`${row} details.record-clip-box summary`);
    assert.match(
      (await admin.textContent(`${row} details.record-clip-box`)) ?? '',
      /Still recording: the clip is cut from the part already written/,
    );
    await admin.fill(`${row} input[name=start]`, '4');
    await admin.fill(`${row} input[name=end]`, '16');
    await admin.click(`${row} button.record-clip-submit`);
    await admin.waitForSelector('.alert.ok');
    const { records: clips } = (await call('library', { stream: 'live/clipme', status: 'done' })) as {
      records: Array<{ uuid: string; clip_start?: number; clip_end?: number }>;
    };
    const fromForm = clips.find((r) => r.clip_start === 4);
    assert.ok(fromForm, JSON.stringify(clips));
    assert.ok(keyframeAccurate((await probe(`${stack.dataDir}/record/${fromForm.uuid}/index.mp4`)).duration, 12));
    await admin.context().close();
    // The record goes on: still recording, its segments untouched.
    const again = (await call('library', { status: 'recording', stream: 'live/clipme' })) as { records: Array<{ uuid: string }> };
    assert.equal(again.records[0]?.uuid, live.uuid);
    await call('end', { uuid: live.uuid });
    await feeder.unpublish();
  });
});
