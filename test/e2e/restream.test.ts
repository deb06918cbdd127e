import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { ffprobe, makeMedia, serveFileAtRate, startRtmpServer, type Publisher, type RtmpServer } from '../helpers/media.js';
import { publishIntoStack } from '../helpers/restream.js';
import { ADMIN_PASSWORD, initAdmin, startStack, tempDir, type StackHandle } from '../helpers/stack.js';

describe('e2e: restream scenario pages in headless Chromium', function () {
  this.timeout(120_000);
  const media = tempDir('restream-e2e-');
  let stack: StackHandle;
  let bearer: string;
  let browser: Browser;
  let dest: RtmpServer;
  let page: Page;
  let publisher: Publisher;
  let ffmpegBin: string;

  before(async () => {
    // A replaced FFmpeg (FAQ "How to Replace FFmpeg"): every task runs the configured binary.
    ffmpegBin = path.join(media, 'my-ffmpeg');
    fs.symlinkSync('/usr/bin/ffmpeg', ffmpegBin);
    dest = await startRtmpServer();
    stack = await startStack({ env: { FFMPEG_BIN: ffmpegBin } });
    bearer = await initAdmin(stack);
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    await page.goto(`${stack.url}/mgmt/login`);
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.waitForURL(/\/mgmt\/scenarios/);
  });
  after(async () => {
    await browser?.close();
    await publisher?.stop();
    await stack?.stop();
    await dest?.stop();
  });

  it('forward: starts a slot from its form; the status turns Streaming without a page reload', async () => {
    const file = await makeMedia(path.join(media, 'src.flv'), { seconds: 4, format: 'flv' });
    publisher = await publishIntoStack(stack, bearer, file, 'livestream');
    // A new destination: the page shows configured slots only, plus the form asked for (issue 17).
    await page.goto(`${stack.url}/mgmt/scenarios?tab=forward&add=wx`);
    const version = (await page.textContent('#ffmpeg-version')) ?? '';
    assert.ok(version.includes(ffmpegBin), version);
    assert.match(version, /\d+\.\d+/, 'the FFmpeg version is shown');
    await page.fill('#fw-wx-server', dest.url('live', 'e2e-key'));
    await page.click('#slot-wx button.start');
    await page.waitForSelector('.alert.ok');
    // Mark this document: a reload would lose the mark.
    await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
    await page.waitForSelector('#forward-status tr[data-platform="wx"][data-state="streaming"]', { timeout: 30_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { mark?: number }).mark), 42, 'refreshed in place');
    assert.match((await page.textContent('#forward-status tr.detail[data-platform="wx"] .frame')) ?? '', /time=/);
    assert.ok(!(await page.textContent('#forward-status'))?.includes('e2e-key'), 'the key is masked in the status table');
    assert.equal((await ffprobe(dest.url('live', 'e2e-key'))).streams.length, 2);
    const children = (await stack.api('/terraform/v1/mgmt/supervisor/query', {}, { bearer })).json.data as {
      children: Array<{ name: string; command: string }>;
    };
    assert.equal(children.children.find((c) => c.name === 'forward-wx')?.command, ffmpegBin);

    await page.click('a[href^="/mgmt/lang/zh"]');
    await page.waitForSelector('#forward-status >> text=直播中');
    // Configured: one row, opened to edit.
    await page.click('#slot-wx > summary');
    await page.click('#slot-wx button.stop');
    await page.waitForSelector('#forward-status tr[data-platform="wx"][data-state="inactive"]');
    await page.click('a[href^="/mgmt/lang/en"]');
  });

  it('virtual live: uploads with a progress display and makes the file the slot’s source', async () => {
    const file = await makeMedia(path.join(media, 'clip.mp4'), { seconds: 3 });
    await page.goto(`${stack.url}/mgmt/scenarios?tab=vlive&add=wx`);
    // Keep what the progress display showed (the page is not reloaded once the source is set, but
    // its parts are refreshed).
    await page.evaluate(() => {
      const status = document.querySelector('form[data-upload="wx"] .upload-status') as HTMLElement;
      new MutationObserver(() =>
        sessionStorage.setItem('progress', `${sessionStorage.getItem('progress') ?? ''}|${status.textContent}`),
      ).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    await page.setInputFiles('#vl-wx-file', file);
    await page.click('form[data-upload="wx"] button');
    await page.waitForSelector('#slot-wx .source-name');
    assert.equal(await page.textContent('#slot-wx .source-name'), 'clip.mp4');
    assert.match((await page.textContent('#slot-wx')) ?? '', /Video\(h264.*Audio\(aac/);
    assert.match((await page.evaluate(() => sessionStorage.getItem('progress'))) ?? '', /100% \(/);
  });

  it('forward: uploads a slate picture with its preview, shows why a bad file is refused, and goes back to the default', async () => {
    const orange = path.join(media, 'orange.png');
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=0xff8000:size=1280x720',
      '-frames:v',
      '1',
      orange,
    ]);
    const bad = path.join(media, 'notes.png');
    fs.writeFileSync(bad, 'not a picture');
    await page.goto(`${stack.url}/mgmt/scenarios?tab=forward`);
    const preview = () =>
      page.$eval('#forward-slate-picture img', (img) => ({
        src: (img as HTMLImageElement).src,
        width: (img as HTMLImageElement).naturalWidth,
      }));
    await page.waitForFunction(() => (document.querySelector('#forward-slate-picture img') as HTMLImageElement | null)?.complete);
    assert.deepEqual(await preview(), { src: `${stack.url}/mgmt/restream/forward/slate.jpg?v=default-text`, width: 640 });
    assert.match((await page.textContent('#forward-slate-picture figcaption')) ?? '', /Default slate/);

    await page.setInputFiles('#slate-file', orange);
    await page.click('form[data-upload-url] button');
    await page.waitForSelector('#forward-slate-picture figcaption >> text=orange.png · 1280×720');
    await page.waitForFunction(() => (document.querySelector('#forward-slate-picture img') as HTMLImageElement).naturalWidth > 0);
    const shown = await preview();
    assert.match(shown.src, /slate\.jpg\?v=picture-[0-9a-f]+$/);
    assert.equal(shown.width, 640);

    await page.setInputFiles('#slate-file', bad);
    await page.click('form[data-upload-url] button');
    await page.waitForSelector('form[data-upload-url] .upload-status[data-ok="false"]');
    assert.match((await page.textContent('form[data-upload-url] .upload-status')) ?? '', /picture/);
    assert.match((await page.textContent('#forward-slate-picture figcaption')) ?? '', /orange\.png/, 'the picture stays');

    await Promise.all([page.waitForEvent('load'), page.click('#forward-slate-picture button')]);
    await page.waitForSelector('.alert.ok >> text=The default slate is back');
    assert.match((await page.textContent('#forward-slate-picture figcaption')) ?? '', /Default slate/);
  });

  it('virtual live: a server file outside the data directory is refused with the reason', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=vlive&add=bilibili`);
    // No source yet: the source choices are open.
    await page.fill('#vl-bilibili-path', '/etc/hostname.mp4');
    await page.click('#slot-bilibili form[action$="server-file"] button');
    await page.waitForSelector('#slot-bilibili-feedback .alert.error');
    assert.match((await page.textContent('#slot-bilibili-feedback')) ?? '', /outside the data directory/);
  });

  it('virtual live: downloads the video of a web page and makes it the slot’s source', async () => {
    const file = await makeMedia(path.join(media, 'page-video.mp4'), { seconds: 3 });
    const site = await serveFileAtRate(file, 3, 100);
    try {
      await page.goto(`${stack.url}/mgmt/scenarios?tab=vlive&add=kuaishou`);
      await page.fill('#vl-kuaishou-page', site.url('page-video.mp4'));
      await page.click('#slot-kuaishou form[action$="/ytdl"] button');
      await page.waitForSelector('#slot-kuaishou .source-name');
      assert.equal(await page.textContent('#slot-kuaishou .source-name'), 'page-video.mp4');
      assert.match((await page.textContent('#slot-kuaishou')) ?? '', /Video\(h264.*Audio\(aac/);
    } finally {
      await site.stop();
    }
  });

  it('camera and transcode pages render; transcode defaults publish back into the stack', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=camera&add=1`);
    await page.waitForSelector('#cam-wx-url');
    assert.ok(await page.$('#cam-wx-audio option[value="silent"]'));
    await page.goto(`${stack.url}/mgmt/scenarios?tab=transcode`);
    assert.equal(await page.inputValue('#tc-server'), 'rtmp://localhost/live/');
    assert.match(await page.inputValue('#tc-secret'), /^livestream-trans\?secret=[0-9a-f]{32}$/);
    assert.equal(await page.getAttribute('#transcode-status [data-state]', 'data-state'), 'inactive');
  });
});
