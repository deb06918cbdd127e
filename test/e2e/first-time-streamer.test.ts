// Issue 17: a console a first-time streamer succeeds with. Each test does what such a user does in
// real Chromium against the real stack (nginx-rtmp, redis, ffmpeg): types, presses, reads.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loggedInPage } from '../helpers/browser.js';
import { makeMedia, type Publisher } from '../helpers/media.js';
import { publishIntoStack, waitStreamLive } from '../helpers/restream.js';
import { ADMIN_PASSWORD, freePort, initAdmin, startStack, tempDir, type StackHandle } from '../helpers/stack.js';

describe('e2e: a first-time streamer in the console (issue 17)', function () {
  this.timeout(180_000);
  const media = tempDir('first-time-');
  let stack: StackHandle;
  let bearer: string;
  let browser: Browser;
  let page: Page;
  const publishers: Publisher[] = [];

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
    browser = await launchBrowser();
    // A viewer far from UTC: times must be shown in this zone.
    page = await loggedInPage(browser, stack.url, ADMIN_PASSWORD, { timezoneId: 'Asia/Shanghai' });
  });
  after(async () => {
    await browser?.close();
    for (const p of publishers) await p.stop();
    await stack?.stop();
  });

  /** Switches the language with the page's own link, which comes back to the same page. */
  const lang = async (to: 'en' | 'zh') => {
    await Promise.all([page.waitForEvent('load'), page.click(`a[href^="/mgmt/lang/${to}"]`)]);
  };
  const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();
  /** Types into a slot's destination fields (`#fw-wx-label`…), as a user does. */
  const typeSlot = async (id: string, fields: { label?: string; server: string; secret?: string }) => {
    for (const [name, value] of Object.entries(fields)) await page.fill(`#${id}-${name}`, value);
  };
  /** What the slot's destination fields hold now. */
  const typed = async (id: string, names: readonly string[]) =>
    Object.fromEntries(await Promise.all(names.map(async (n) => [n, await page.inputValue(`#${id}-${n}`)])));
  /** Marks this document: a page reload loses the mark. */
  const mark = () => page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
  const marked = () => page.evaluate(() => (window as unknown as { mark?: number }).mark === 42);

  it('forward: a refused server keeps label, server and key, with the reason beside the slot (en and zh)', async () => {
    // A new destination's form (the page shows configured slots and the one being added).
    await page.goto(`${stack.url}/mgmt/scenarios?tab=forward&add=wx`);
    await mark();
    const mine = { label: 'My first show', server: 'http://wrong.example/live', secret: 'my-key' };
    await typeSlot('fw-wx', mine);
    await page.click('#slot-wx button.start');
    await page.waitForSelector('#slot-wx-feedback .alert.error');
    assert.match(await text('#slot-wx-feedback .alert.error'), /The server must be an rtmp:\/\/, rtmps:\/\/ or srt:\/\/ address/);
    assert.deepEqual(await typed('fw-wx', Object.keys(mine)), mine);
    assert.ok(await marked(), 'the page was not reloaded');
    assert.equal(await page.$('main > .alert.error'), null, 'no banner at the top');
    assert.equal(await page.$('#slot-bilibili-feedback .alert'), null, 'only the failing slot says so');

    await lang('zh');
    await page.fill('#fw-wx-server', 'http://wrong.example/live');
    await page.click('#slot-wx button.start');
    await page.waitForSelector('#slot-wx-feedback .alert.error');
    assert.match(await text('#slot-wx-feedback .alert.error'), /推流地址必须以 rtmp:\/\/、rtmps:\/\/ 或 srt:\/\/ 开头/);
    assert.equal(await page.inputValue('#fw-wx-server'), 'http://wrong.example/live');
    await lang('en');
  });

  it('forward and transcode: Stop is disabled on a slot never started', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=forward&add=bilibili`);
    assert.ok(await page.isDisabled('#slot-bilibili button.stop'));
    assert.ok(await page.isEnabled('#slot-bilibili button.start'));
    await page.goto(`${stack.url}/mgmt/scenarios?tab=transcode`);
    assert.ok(await page.isDisabled('#transcode-status ~ section button.stop'), 'transcode never started either');
  });

  it('forward: a destination refusing the key is Failed with "wrong or missing", not Streaming (en and zh); times in the viewer’s zone', async () => {
    const file = await makeMedia(path.join(media, 'src.flv'), { seconds: 4, format: 'flv' });
    publishers.push(await publishIntoStack(stack, bearer, file, 'livestream'));
    await page.goto(`${stack.url}/mgmt/scenarios?tab=forward&add=wx`);
    // This stack as the destination, with a wrong secret: nginx-rtmp refuses the publish.
    await page.fill('#fw-wx-server', 'rtmp://localhost/live');
    await page.fill('#fw-wx-secret', 'relayed?secret=wrong');
    await page.fill('#fw-wx-stream', 'livestream');
    await page.click('#slot-wx button.start');
    await page.waitForSelector('.alert.ok');
    // What the destination does (issue 18): it refused the key, so Failed (still retried, the next attempt shown).
    await page.waitForSelector('#slot-wx-state .badge[data-destination="failed"]', { timeout: 60_000 });
    const badge = await text('#slot-wx-state .badge');
    assert.match(badge, /^Failed( · next attempt .+)?$/);
    assert.match(await text('#slot-wx-state .slot-problem'), /the stream key \(or secret\) is wrong or missing/);
    await page.waitForSelector('#forward-status tr.detail[data-platform="wx"] .problem');
    assert.match(await text('#forward-status tr.detail[data-platform="wx"] .problem'), /wrong or missing/);
    assert.ok(await page.isEnabled('#slot-wx button.stop'), 'a started slot can be stopped');

    await lang('zh');
    await page.waitForSelector('#slot-wx-state .badge[data-destination="failed"]');
    assert.match(await text('#slot-wx-state .badge'), /^失败( · 下次尝试 .+)?$/);
    assert.match(await text('#slot-wx-state .slot-problem'), /流密钥（或 secret）错误或缺失/);
    // The configured slot is one row with its badge and problem; it opens to edit.
    await page.click('#slot-wx > summary');
    await page.click('#slot-wx button.stop');
    await page.waitForSelector('#slot-wx-state .badge[data-state="inactive"]');
    await lang('en');

    // Times: the server's UTC text becomes the viewer's local time (UTC+8 here). A live stream's row
    // in System › Streams always has one (a retrying task's start time shows only while it runs).
    await page.goto(`${stack.url}/mgmt/system?tab=streams`);
    const updated = await page.$eval('#active-streams time', (t) => ({
      iso: t.getAttribute('datetime') ?? '',
      shown: t.textContent ?? '',
      title: t.getAttribute('title') ?? '',
    }));
    assert.match(updated.title, / UTC$/);
    const shanghai = new Date(updated.iso).toLocaleString('en', { timeZone: 'Asia/Shanghai' });
    assert.equal(updated.shown.replace(/\s/g, ' '), shanghai.replace(/\s/g, ' '));
  });

  it('forward: platforms are named once, each with its placeholder and guide link; no internal id shows (en and zh)', async () => {
    // wx is configured by now (one row); Twitch is being added, the other free platforms are links beside it.
    await page.goto(`${stack.url}/mgmt/scenarios?tab=forward&add=bilibili`);
    const slot = async (platform: string) => ({
      title: await text(`#slot-${platform}-state .slot-name`),
      placeholder: await page.getAttribute(`#fw-${platform}-server`, 'placeholder'),
      guide: await page.getAttribute(`#slot-${platform} a.platform-guide`, 'href'),
    });
    assert.deepEqual(await slot('wx'), {
      title: 'YouTube',
      placeholder: 'rtmp://a.rtmp.youtube.com/live2',
      guide: 'https://studio.youtube.com/channel/UC/livestreaming',
    });
    assert.deepEqual(await slot('bilibili'), {
      title: 'Twitch',
      placeholder: 'rtmp://live.twitch.tv/app',
      guide: 'https://dashboard.twitch.tv/settings/stream',
    });
    assert.equal(await text('#slot-bilibili .other-slots a[data-add="kuaishou"]'), 'Facebook');
    const visible = await page.innerText('main');
    assert.doesNotMatch(visible, /\bwx\b|\bbilibili\b|\bkuaishou\b|forwarding-/, 'internal ids stay internal');
    assert.match(visible, /Custom platform 1/);

    await lang('zh');
    assert.deepEqual(await slot('wx'), {
      title: '视频号直播间',
      placeholder: 'rtmp://….livepush.myqcloud.com/trtc_…/',
      guide: 'https://channels.weixin.qq.com/platform/live/liveBuild',
    });
    assert.equal((await slot('bilibili')).title, 'Bilibili直播间');
    assert.equal(await text('#slot-bilibili .other-slots a[data-add="kuaishou"]'), '快手直播间');
    assert.match(await text('#slot-bilibili a.platform-guide'), /在Bilibili直播间查看推流地址和流密钥/);
    assert.doesNotMatch(await page.innerText('main'), /\bwx\b|\bbilibili\b|\bkuaishou\b|forwarding-/);
    await lang('en');
  });

  it('virtual live: Start without a source says to choose one first, beside the slot; typing stays through errors, a chosen stream and an upload (en and zh)', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=vlive&add=wx`);
    await mark();
    const mine = { label: 'Loop', server: 'rtmp://localhost/live', secret: 'looped' };
    await typeSlot('vl-wx', mine);
    await page.click('#slot-wx form[action$="/vlive"] button.start');
    await page.waitForSelector('#slot-wx-feedback .alert.error');
    assert.equal(await text('#slot-wx-feedback .alert.error'), 'Choose a file or a stream first, then start.');
    assert.deepEqual(await typed('vl-wx', Object.keys(mine)), mine);
    assert.ok(await marked());

    // Choosing the source now keeps the destination typed above it (no reload).
    await page.fill('#vl-wx-url', `rtmp://127.0.0.1:${stack.ports.rtmp}/live/livestream`);
    await page.click('#slot-wx form[action$="/stream-url"] button');
    await page.waitForSelector('#slot-wx-source .source-name');
    assert.match(await text('#slot-wx-feedback'), /Source is ready/);
    assert.deepEqual(await typed('vl-wx', Object.keys(mine)), mine);
    assert.ok(await marked());

    // An upload too: it used to reload the page. (Another slot: the page adds one at a time.)
    await page.goto(`${stack.url}/mgmt/scenarios?tab=vlive&add=kuaishou`);
    await mark();
    const clip = await makeMedia(path.join(media, 'clip.mp4'), { seconds: 2 });
    const typedFirst = { label: 'Clip loop', server: 'rtmp://localhost/live', secret: 'clip' };
    await typeSlot('vl-kuaishou', typedFirst);
    await page.setInputFiles('#vl-kuaishou-file', clip);
    await page.click('form[data-upload="kuaishou"] button');
    await page.waitForSelector('#slot-kuaishou-source .source-name');
    assert.deepEqual(await typed('vl-kuaishou', Object.keys(typedFirst)), typedFirst);
    assert.ok(await marked());

    await lang('zh');
    await page.goto(`${stack.url}/mgmt/scenarios?tab=vlive&add=bilibili`);
    await page.fill('#vl-bilibili-server', 'rtmp://localhost/live');
    await page.click('#slot-bilibili form[action$="/vlive"] button.start');
    await page.waitForSelector('#slot-bilibili-feedback .alert.error');
    assert.equal(await text('#slot-bilibili-feedback .alert.error'), '请先选择文件或流，再开始直播。');
    await lang('en');
  });

  it('camera: an address nothing answers at is named, with what to check, and the URL typed stays', async () => {
    const nobody = await freePort();
    await page.goto(`${stack.url}/mgmt/scenarios?tab=camera&add=wx`);
    await page.fill('#cam-wx-url', `rtsp://admin:cam-pass@127.0.0.1:${nobody}/stream1`);
    await page.fill('#cam-wx-server', 'rtmp://localhost/live');
    await page.click('#slot-wx button.start');
    await page.waitForSelector('#slot-wx-feedback .alert.error', { timeout: 30_000 });
    assert.equal(
      await text('#slot-wx-feedback .alert.error'),
      `Nothing answers at 127.0.0.1:${nobody}: check the address and port, and that the server or camera is on.`,
    );
    assert.doesNotMatch(await text('#slot-wx-feedback'), /cam-pass/, 'the password is not shown');
    assert.equal(await page.inputValue('#cam-wx-url'), `rtsp://admin:cam-pass@127.0.0.1:${nobody}/stream1`);
    assert.equal(await page.inputValue('#cam-wx-server'), 'rtmp://localhost/live');
  });

  it('Streaming page: the HLS player waits for the first segment, then plays once the stream starts (en and zh)', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=live`);
    await page.evaluate(() => window.localStorage.setItem('SRS_STREAM_NAME', 'firsthls'));
    await lang('zh');
    await page.goto(`${stack.url}/mgmt/scenarios?tab=live`);
    await page.click('#play-hls');
    await page.waitForSelector('#player-state[data-state="waiting"]');
    assert.match(await text('#player-state'), /等待第一个切片/);
    await lang('en');
    await page.click('#play-hls');
    await page.waitForSelector('#player-state[data-state="waiting"]');
    assert.match(await text('#player-state'), /^Waiting for the first segment/);

    const file = await makeMedia(path.join(media, 'hls.flv'), { seconds: 4, format: 'flv' });
    publishers.push(await publishIntoStack(stack, bearer, file, 'firsthls'));
    // Still the same player: it retried by itself until the playlist came.
    await page.waitForSelector('#player-state[data-state="playing"]', { timeout: 90_000 });
    await page.click('#play-stop');
  });

  it('Streaming page: the FFmpeg example runs as pasted (here for 3 s) and the stream goes live', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=live`);
    await page.evaluate(() => window.localStorage.setItem('SRS_STREAM_NAME', 'pasted'));
    await page.goto(`${stack.url}/mgmt/scenarios?tab=live`);
    const shown = await text('#ffmpeg-command');
    assert.match(
      shown,
      /^ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 .* -f flv '[^']+pasted\?secret=/,
    );
    // What the user pastes into a shell, with -t 3 so the run ends by itself.
    const command = shown.replace(" -f flv '", " -t 3 -f flv '");
    const run = spawn('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    run.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => run.once('exit', resolve));
    await waitStreamLive(stack, bearer, 'pasted');
    assert.equal(await exited, 0, stderr.slice(-2000));
  });

  it('System: the HTTPS tab names this instance’s ports; Callback’s switch and the OpenAPI tip say what they do (en and zh)', async () => {
    await page.goto(`${stack.url}/mgmt/system?tab=https`);
    const ports = await text('#https-ports');
    assert.ok(ports.includes(`port ${stack.ports.https}`) && ports.includes(`port ${stack.ports.http}`), ports);
    assert.ok((await text('#le-port80')).includes(String(stack.ports.http)));
    assert.doesNotMatch(await page.innerText('main'), /2022|docker/i);
    await lang('zh');
    assert.ok((await text('#https-ports')).includes(`HTTPS 端口是 ${stack.ports.https}`));
    await lang('en');

    await page.goto(`${stack.url}/mgmt/system?tab=hls`);
    assert.match(await text('label:has(input[name="hlsLowLatency"])'), /about 8 s behind live instead of about 34 s/);
    await page.goto(`${stack.url}/mgmt/system?tab=callback`);
    assert.match(await text('label:has(#hook-all)'), /Send callbacks \(on\/off switch/);
    await page.goto(`${stack.url}/mgmt/system?tab=api`);
    const tip = await page.innerText('main');
    assert.match(tip, /\/terraform\/v1\/ffmpeg\/vlive\/upload/);
    assert.doesNotMatch(tip, /behind any console action/);
  });
});
