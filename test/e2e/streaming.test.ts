// Scenarios › Streaming in headless Chromium against a live publish: the URLs follow the stream
// name, "Change stream" renames it everywhere, and the in-page players play HTTP-FLV and HLS.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { publishFile, sampleFlv, type Publisher } from '../helpers/media.js';
import { ADMIN_PASSWORD, initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

describe('e2e: the Streaming page publishes URLs and plays HTTP-FLV and HLS in Chromium', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let browser: Browser;
  let publisher: Publisher;
  let secret: string;
  const stream = 'e2eplay';

  before(async () => {
    const sample = await sampleFlv();
    stack = await startStack();
    const bearer = await initAdmin(stack);
    const api = (p: string, body: unknown = {}) => stack.api(`/terraform/v1${p}`, body, { bearer });
    secret = ((await api('/hooks/srs/secret/query')).json.data as { publish: string }).publish;
    // Low-latency HLS (2 s fragments) keeps the wait for a playable playlist short.
    await api('/mgmt/hlsll/update', { hlsLowLatency: true });
    await waitFor(
      async () => {
        const res = await api('/mgmt/supervisor/query');
        return (res.json.data as { children: Array<{ name: string; status: string }> }).children.some(
          (c) => c.name === 'nginx' && c.status === 'ready',
        );
      },
      15_000,
      () => 'the engine',
    );
    publisher = publishFile(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/${stream}?secret=${secret}`, sample);
    await waitFor(
      async () => /#EXTINF/.test(await (await fetch(`${stack.url}/live/${stream}.m3u8?hls_ctx=probe`)).text()),
      30_000,
      () => `an HLS playlist: ${publisher.stderr()}`,
    );
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await publisher?.stop();
    await stack?.stop();
  });

  async function loggedIn(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${stack.url}/mgmt/login`);
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.waitForURL(/\/mgmt\/scenarios/);
    return page;
  }

  async function playsIn(page: Page, button: string, video: string, state: string): Promise<void> {
    if (button) await page.click(button);
    await page.waitForSelector(`${state}[data-state="playing"]`, { timeout: 30_000 });
    const t0 = await page.$eval(video, (v) => (v as HTMLVideoElement).currentTime);
    await page.waitForFunction(
      ({ sel, from }) => (document.querySelector(sel) as HTMLVideoElement).currentTime > from + 1.5,
      { sel: video, from: t0 },
      {
        timeout: 15_000,
      },
    );
    const paused = await page.$eval(video, (v) => (v as HTMLVideoElement).paused);
    assert.equal(paused, false);
  }

  it('opens on Streaming and renames the stream everywhere with "Change stream"', async () => {
    const page = await loggedIn();
    assert.ok(await page.$('#streaming'), 'Streaming is the default Scenarios tab');
    assert.equal((await page.textContent('#rtmp-key'))?.trim(), `livestream?secret=${secret}`);
    assert.match((await page.textContent('#flv-url')) ?? '', new RegExp(`^${stack.url}/live/livestream\\.flv$`));
    const qrWidth = await page.$eval('#publish-qr', (img) => (img as HTMLImageElement).naturalWidth);
    assert.ok(qrWidth > 0, 'the QR code of the publish URL renders');

    page.once('dialog', (d) => void d.accept());
    await page.click('#change-stream');
    const name = await page.evaluate(() => window.localStorage.getItem('SRS_STREAM_NAME'));
    assert.match(name ?? '', /^[a-z]{6}$/);
    assert.equal((await page.textContent('#rtmp-key'))?.trim(), `${name}?secret=${secret}`);
    assert.match((await page.textContent('#ffmpeg-command')) ?? '', new RegExp(`/live/${name}\\?secret=`));
    assert.match((await page.textContent('#rtmp-url')) ?? '', new RegExp(`/live/${name}\\?secret=`));
    assert.match((await page.textContent('#m3u8-url')) ?? '', new RegExp(`/live/${name}\\.m3u8$`));
    assert.match((await page.getAttribute('#flv-player-link', 'href')) ?? '', new RegExp(`/live/${name}\\.flv$`));
    assert.match((await page.getAttribute('#publish-qr', 'src')) ?? '', new RegExp(`stream=${name}$`));

    await page.reload();
    assert.equal((await page.textContent('#rtmp-key'))?.trim(), `${name}?secret=${secret}`, 'the name survives a reload');
    await page.close();
  });

  it('plays HTTP-FLV and then HLS in the page: playing, and currentTime advances', async () => {
    const page = await loggedIn();
    await page.evaluate((s) => window.localStorage.setItem('SRS_STREAM_NAME', s), stream);
    await page.reload();
    assert.match((await page.textContent('#flv-url')) ?? '', new RegExp(`/live/${stream}\\.flv$`));
    await playsIn(page, '#play-flv', '#live-player', '#player-state');
    await playsIn(page, '#play-hls', '#live-player', '#player-state');
    await page.close();
  });

  it('plays HTTP-FLV in the standalone player page', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.url}/tools/player.html?url=${encodeURIComponent(`${stack.url}/live/${stream}.flv`)}`);
    await playsIn(page, '', '#player-video', '#player-state');
    await page.close();
  });
});
