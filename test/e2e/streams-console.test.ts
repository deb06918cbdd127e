import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loggedInPage } from '../helpers/browser.js';
import { publish, type Publisher } from '../helpers/media.js';
import { ADMIN_PASSWORD, initAdmin, startStack, waitFor, type StackHandle } from '../helpers/stack.js';

describe('e2e: System › Streams, Authentication, HLS and Scenarios › LiveRoom in headless Chromium', function () {
  this.timeout(90_000);
  let stack: StackHandle;
  let browser: Browser;
  let bearer: string;
  let page: Page;
  const publishers: Publisher[] = [];
  const api = async (path: string, body: unknown = {}) => (await stack.api(`/terraform/v1${path}`, body, { bearer })).json.data;

  before(async () => {
    stack = await startStack();
    bearer = await initAdmin(stack);
    browser = await launchBrowser();
    page = await loggedInPage(browser, stack.url, ADMIN_PASSWORD);
  });
  after(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await browser?.close();
    await stack?.stop();
  });

  it('lists a live stream and kicks it off after a confirmation', async () => {
    const { publish: secret } = (await api('/hooks/srs/secret/query')) as { publish: string };
    const p = publish(`rtmp://127.0.0.1:${stack.ports.rtmp}/live/e2e1?secret=${secret}`);
    publishers.push(p);
    await waitFor(
      async () => JSON.stringify(await api('/mgmt/streams/query')).includes('e2e1'),
      15_000,
      () => p.stderr(),
    );
    await page.goto(`${stack.url}/mgmt/system?tab=streams`);
    assert.match((await page.textContent('#active-streams')) ?? '', /live\/e2e1/);
    let confirmText = '';
    page.once('dialog', (d) => {
      confirmText = d.message();
      void d.accept();
    });
    await page.click('#active-streams button[type=submit]');
    await page.waitForSelector('.alert.ok');
    assert.match(confirmText, /Kickoff active stream/);
    assert.doesNotMatch((await page.textContent('#active-streams')) ?? '', /e2e1/);
    await waitFor(
      () => !p.running(),
      10_000,
      () => 'the publisher to be disconnected',
    );
  });

  it('turns low-latency HLS on and says live streams are not dropped', async () => {
    await page.goto(`${stack.url}/mgmt/system?tab=hls`);
    assert.match((await page.textContent('#tab-hls')) ?? '', /Live streams are not dropped/);
    await page.check('input[name=hlsLowLatency]');
    await page.click('form[action="/mgmt/system/hls/ll"] button[type=submit]');
    await page.waitForSelector('.alert.ok');
    assert.deepEqual(await api('/mgmt/hlsll/query'), { hlsLowLatency: true });
    assert.equal(await page.isChecked('input[name=hlsLowLatency]'), true);
  });

  it('updates the publish secret; disabling auth is offered only with ?allow-noauth=true', async () => {
    await page.goto(`${stack.url}/mgmt/system?tab=auth`);
    assert.equal(await page.locator('input[name=pubNoAuth]').count(), 0);
    await page.fill('#new-secret', 'e2eSecret123');
    await page.click('form[action="/mgmt/system/auth/secret"] button[type=submit]');
    await page.waitForSelector('.alert.ok');
    assert.deepEqual(await api('/hooks/srs/secret/query'), { publish: 'e2eSecret123' });
    assert.equal((await page.textContent('#publish-secret'))?.trim(), 'e2eSecret123');
    await page.goto(`${stack.url}/mgmt/system?tab=auth&allow-noauth=true`);
    assert.equal(await page.locator('input[name=pubNoAuth]').count(), 1);
  });

  it('creates a live room with its own stream key', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=stream`);
    await page.fill('#room-title', 'Friday show');
    await page.click('form[action="/mgmt/scenarios/rooms/create"] button[type=submit]');
    await page.waitForSelector('.alert.ok');
    const { rooms } = (await api('/live/room/list')) as { rooms: Array<{ stream: string; secret: string }> };
    assert.equal(rooms.length, 1);
    assert.equal((await page.textContent('#room-key-0'))?.trim(), `${rooms[0]?.stream}?secret=${rooms[0]?.secret}`);
  });
});
