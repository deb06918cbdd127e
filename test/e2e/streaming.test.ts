// Scenarios › Streaming in headless Chromium against a live publish: the URLs follow the stream
// name, "Change stream" renames it everywhere, and the in-page players play HTTP-FLV, HLS and LL-HLS; the SRT
// and WebRTC tabs show SRS Stack's URLs with copy buttons and firewall hints in both languages, and
// the HTTPS hint where a browser would refuse the camera.
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { publishFile, sampleFlv, type Publisher } from '../helpers/media.js';
import { ADMIN_PASSWORD, initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

describe('e2e: the Streaming page publishes URLs and plays HTTP-FLV, HLS and LL-HLS in Chromium', function () {
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
    // console.test reaches the stack under a name that is not loopback (a browser refuses the camera there).
    browser = await launchBrowser(['--host-resolver-rules=MAP console.test 127.0.0.1']);
  });

  after(async () => {
    await browser?.close();
    await publisher?.stop();
    await stack?.stop();
  });

  async function loggedIn(origin = stack.url): Promise<Page> {
    const context = await browser.newContext();
    // The clipboard exists in secure contexts only (127.0.0.1 is one, console.test is not).
    if (origin === stack.url) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const page = await context.newPage();
    await page.goto(`${origin}/mgmt/login`);
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.waitForURL(/\/mgmt\/scenarios/);
    // Scenarios opens on Start here (tutorials); the Streaming tab is `live`.
    await page.goto(`${origin}/mgmt/scenarios?tab=live`);
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

  it('shows Streaming and renames the stream everywhere with "Change stream"', async () => {
    const page = await loggedIn();
    assert.ok(await page.$('#streaming #rtmp-obs'), 'the Streaming tab');
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
    assert.match((await page.textContent('#llhls-url')) ?? '', new RegExp(`/live/${name}/ll\\.m3u8$`));
    assert.match((await page.getAttribute('#llhls-player-link', 'href')) ?? '', new RegExp(`/live/${name}/ll\\.m3u8$`));
    assert.match((await page.getAttribute('#flv-player-link', 'href')) ?? '', new RegExp(`/live/${name}\\.flv$`));
    assert.match((await page.getAttribute('#publish-qr', 'src')) ?? '', new RegExp(`stream=${name}$`));

    await page.reload();
    assert.equal((await page.textContent('#rtmp-key'))?.trim(), `${name}?secret=${secret}`, 'the name survives a reload');
    await page.context().close();
  });

  it('plays HTTP-FLV, then HLS, then LL-HLS in the page: playing, and currentTime advances', async () => {
    const page = await loggedIn();
    await page.evaluate((s) => window.localStorage.setItem('SRS_STREAM_NAME', s), stream);
    await page.reload();
    assert.match((await page.textContent('#flv-url')) ?? '', new RegExp(`/live/${stream}\\.flv$`));
    await playsIn(page, '#play-flv', '#live-player', '#player-state');
    await playsIn(page, '#play-hls', '#live-player', '#player-state');
    await playsIn(page, '#play-llhls', '#live-player', '#player-state');
    await page.context().close();
  });

  it('plays HTTP-FLV in the standalone player page', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.url}/tools/player.html?url=${encodeURIComponent(`${stack.url}/live/${stream}.flv`)}`);
    await playsIn(page, '', '#player-video', '#player-state');
    await page.close();
  });

  const text = async (page: Page, sel: string) => ((await page.textContent(sel)) ?? '').trim();

  it('shows the SRT tabs: OBS server, vMix fields, FFmpeg command, play URL and ffplay, firewall UDP/SRT_PORT, copy buttons', async () => {
    const page = await loggedIn();
    const publish = `srt://127.0.0.1:${stack.srtPort}?streamid=#!::r=live/livestream?secret=${secret},m=publish`;
    const play = `srt://127.0.0.1:${stack.srtPort}?streamid=#!::r=live/livestream,latency=20,m=request`;
    assert.equal(await text(page, '#srt-server'), publish);
    assert.equal(await text(page, '#srt-url'), publish);
    assert.equal(await text(page, '#srt-host'), '127.0.0.1');
    assert.equal(await text(page, '#srt-port'), String(stack.srtPort));
    assert.equal(await text(page, '#srt-latency'), '20');
    assert.equal(await text(page, '#srt-streamid'), `#!::r=live/livestream?secret=${secret},m=publish`);
    assert.equal(
      await text(page, '#srt-ffmpeg-command'),
      `ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -c:v libx264 -preset veryfast -tune zerolatency -g 60 -c:a aac -pes_payload_size 0 -f mpegts '${publish}'`,
    );
    assert.equal(await text(page, '#srt-play-url'), play);
    assert.equal(await text(page, '#ffplay-command'), `ffplay -fflags nobuffer -flags low_delay -analyzeduration 1000000 -i '${play}'`);
    assert.equal(
      await text(page, '#ffplay-command-windows'),
      `ffplay -fflags nobuffer -flags low_delay -analyzeduration 1000000 -i "${play}"`,
    );
    assert.match(await text(page, '#srt-obs .firewall-hint'), new RegExp(`UDP/${stack.srtPort}`));
    assert.match(await text(page, '#srt-ffmpeg .firewall-hint'), new RegExp(`UDP/${stack.srtPort}`));
    assert.equal(await page.$('.srt-unavailable'), null);
    const qrWidth = await page.$eval('#srt-qr', (img) => (img as HTMLImageElement).naturalWidth);
    assert.ok(qrWidth > 0, 'the QR code of the SRT publish URL renders');

    // Every URL has its copy button, and the button copies exactly what is shown.
    for (const id of [
      'srt-server',
      'srt-host',
      'srt-port',
      'srt-streamid',
      'srt-ffmpeg-command',
      'srt-url',
      'srt-play-url',
      'ffplay-command',
      'ffplay-command-windows',
    ]) {
      await page.click(`button[data-copy="#${id}"]`);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await text(page, `#${id}`), id);
    }
    await page.context().close();
  });

  it('shows the WebRTC tabs: WHIP URL for OBS and the browser publisher, WHEP URL and player, firewall UDP/RTC_PORT', async () => {
    const page = await loggedIn();
    const whip = `${stack.url}/rtc/v1/whip/?app=live&stream=livestream&secret=${secret}`;
    const whep = `${stack.url}/rtc/v1/whep/?app=live&stream=livestream`;
    assert.equal(await text(page, '#whip-url'), whip);
    assert.equal(await text(page, '#whip-obs-server'), whip);
    assert.equal(await text(page, '#whep-url'), whep);
    const link = async (sel: string) => new URL((await page.getAttribute(sel, 'href')) ?? '', stack.url);
    const query = async (sel: string) => Object.fromEntries((await link(sel)).searchParams);
    assert.deepEqual(await query('#whip-publisher-link'), { stream: 'livestream', secret });
    assert.deepEqual(await query('#whep-player-link'), { stream: 'livestream', autostart: 'true' });
    for (const card of ['#rtc-browser', '#rtc-obs']) {
      assert.match(await text(page, `${card} .firewall-hint`), new RegExp(`UDP/${stack.rtcPort}.*TCP/${stack.ports.http}`));
    }
    assert.match(await text(page, '#rtc-obs'), /WHIP/);
    // 127.0.0.1 is a secure context: no HTTPS hint.
    assert.equal(await page.$('#https-hint'), null);
    for (const id of ['whip-url', 'whip-obs-server', 'whep-url']) {
      await page.click(`button[data-copy="#${id}"]`);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await text(page, `#${id}`), id);
    }

    // "Change stream" renames the SRT and WebRTC URLs too (escaped where they are HTTP).
    page.once('dialog', (d) => void d.accept());
    await page.click('#rtc-obs .change-stream');
    const name = await page.evaluate(() => window.localStorage.getItem('SRS_STREAM_NAME'));
    assert.match(name ?? '', /^[a-z]{6}$/);
    assert.equal(await text(page, '#srt-streamid'), `#!::r=live/${name}?secret=${secret},m=publish`);
    assert.equal(await text(page, '#srt-play-url'), `srt://127.0.0.1:${stack.srtPort}?streamid=#!::r=live/${name},latency=20,m=request`);
    assert.equal(await text(page, '#whip-obs-server'), `${stack.url}/rtc/v1/whip/?app=live&stream=${name}&secret=${secret}`);
    assert.equal((await link('#whep-player-link')).searchParams.get('stream'), name);
    assert.match((await page.getAttribute('#srt-qr', 'src')) ?? '', new RegExp(`kind=srt&stream=${name}$`));
    await page.context().close();
  });

  it('tells a browser on plain HTTP under a non-loopback name to use HTTPS, linking this page over HTTPS', async () => {
    const origin = `http://console.test:${stack.ports.http}`;
    const page = await loggedIn(origin);
    assert.equal(await page.evaluate(() => window.isSecureContext), false, 'the browser agrees: no camera here');
    assert.ok(await page.isVisible('#https-hint'));
    assert.equal(await page.getAttribute('#https-page-link', 'href'), `https://console.test:${stack.ports.https}/mgmt/scenarios?tab=live`);
    assert.equal(await text(page, '#whip-url'), `${origin}/rtc/v1/whip/?app=live&stream=livestream&secret=${secret}`);
    assert.equal(await text(page, '#srt-host'), 'console.test');
    await page.context().close();
  });

  it('speaks Chinese on the SRT and WebRTC tabs, with the same URLs and firewall ports', async () => {
    const origin = `http://console.test:${stack.ports.http}`;
    const page = await loggedIn(origin);
    await page.goto(`${origin}/mgmt/lang/zh`);
    await page.goto(`${origin}/mgmt/scenarios?tab=live`);
    assert.equal(await text(page, '#srt-obs h2'), 'SRT 推流：OBS 或 vMix');
    assert.equal(await text(page, '#srt-ffmpeg h2'), 'SRT 推流：FFmpeg');
    assert.equal(await text(page, '#rtc-browser h2'), 'WebRTC 推流：浏览器（WHIP）');
    assert.equal(await text(page, '#rtc-obs h2'), 'WebRTC 推流：OBS（WHIP）');
    assert.match(await text(page, '#srt-obs .firewall-hint'), new RegExp(`^防火墙：.*UDP/${stack.srtPort}`));
    assert.match(await text(page, '#rtc-browser .firewall-hint'), new RegExp(`^防火墙：.*UDP/${stack.rtcPort}`));
    assert.match(await text(page, '#https-hint'), /HTTPS/);
    assert.match(await text(page, '#https-hint'), /浏览器/);
    assert.equal(await text(page, 'button[data-copy="#srt-server"]'), '复制');
    assert.equal(
      await text(page, '#srt-server'),
      `srt://console.test:${stack.srtPort}?streamid=#!::r=live/livestream?secret=${secret},m=publish`,
    );
    assert.equal(await text(page, '#whep-url'), `${origin}/rtc/v1/whep/?app=live&stream=livestream`);
    await page.goto(`${origin}/mgmt/lang/en`);
    await page.context().close();
  });
});
