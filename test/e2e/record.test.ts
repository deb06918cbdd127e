import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loggedInPage } from '../helpers/browser.js';
import { makeSegments, StreamFeeder, type FixtureSegment } from '../helpers/hls-fixture.js';
import { ADMIN_PASSWORD, FEEDER_MAIN, initAdmin, startStack, tempDir, type StackHandle } from '../helpers/stack.js';

describe('e2e: Scenarios › Record in headless Chromium', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let browser: Browser;
  let page: Page;
  let fixtures: FixtureSegment[];

  before(async () => {
    fixtures = await makeSegments(tempDir('record-fixture-'), { seconds: 4 });
    stack = await startStack({ entry: FEEDER_MAIN, env: { SRS_RECORD_WAIT_SECONDS: '60' } });
    await initAdmin(stack);
    browser = await launchBrowser();
    page = await loggedInPage(browser, stack.url, ADMIN_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('shows the recording directory and how to change it', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    assert.equal((await page.textContent('#record-home'))?.trim(), `${stack.dataDir}/record`);
    await page.click('#record-dir-howto summary');
    const answer = (await page.textContent('#record-dir-howto')) ?? '';
    assert.match(answer, /DATA_DIR=/);
    assert.match(answer, /Do not mount cloud storage/);
  });

  it('starts recording and tests globs, including an unsaved edit', async () => {
    await page.click('#record-start');
    await page.waitForSelector('#record-state[data-all="true"]');
    await page.fill('#record-globs', '/other/*');
    await page.fill('#record-test-url', 'rtmp://example.com/live/livestream?secret=abc');
    await page.click('#record-test-submit');
    await page.waitForSelector('#record-test-result[data-matched="false"]');
    assert.equal(await page.inputValue('#record-globs'), '/other/*', 'the unsaved edit is kept');
    assert.match((await page.textContent('#record-test-result')) ?? '', /\/live\/livestream/);

    await page.fill('#record-globs', '/live/*');
    await page.click('#record-globs-submit');
    await page.waitForSelector('.alert.ok');
    await page.fill('#record-test-url', 'rtmp://example.com/live/livestream');
    await page.click('#record-test-submit');
    await page.waitForSelector('#record-test-result[data-matched="true"]');
    assert.match((await page.textContent('#record-test-result')) ?? '', /matches \/live\/\*/);
  });

  it('lists a new record without a reload, ends it, and deletes it after confirmation', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    await page.waitForSelector('#record-empty');
    const feeder = new StreamFeeder(stack, tempDir('record-engine-hls-'));
    await feeder.publish();
    await feeder.segments(fixtures);
    const row = await page.waitForSelector('tr[data-status="recording"]', { timeout: 15_000 });
    assert.match((await row.textContent()) ?? '', /live\/livestream/);

    page.once('dialog', (d) => {
      assert.match(d.message(), /ensure the stream is terminated/);
      void d.accept();
    });
    await page.click('button.record-end');
    await page.waitForSelector('.alert.ok');
    await page.waitForSelector('tr[data-status="done"]', { timeout: 20_000 });
    const preview = await page.getAttribute('tr[data-status="done"] a[target=_blank]', 'href');
    assert.match(preview ?? '', /^\/terraform\/v1\/hooks\/record\/hls\/[0-9a-f-]{36}\/index\.mp4$/);
    assert.equal((await page.request.get(`${stack.url}${preview}`)).headers()['content-type'], 'video/mp4');

    // Every remove the page sends: a dismissed confirmation must send none.
    const removes: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/mgmt/record/remove') removes.push(r.url());
    });
    page.once('dialog', (d) => void d.dismiss());
    await page.click('button.record-remove');
    assert.equal(await page.locator('tr[data-status="done"]').count(), 1, 'dismissed: nothing deleted');
    page.once('dialog', (d) => void d.accept());
    await page.click('button.record-remove');
    await page.waitForSelector('#record-empty');
    assert.equal(removes.length, 1, 'only the accepted confirmation sent a remove');
    await feeder.unpublish();
  });

  it('speaks Chinese', async () => {
    await page.click('a[href^="/mgmt/lang/zh"]');
    await page.waitForSelector('text=录制文件夹');
    assert.equal((await page.textContent('nav.tabs a.active'))?.trim(), '本地录制');
    await page.click('a[href^="/mgmt/lang/en"]');
  });
});
