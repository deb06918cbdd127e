// Issue 17, items 6 and 7, as a first-time streamer meets them in real Chromium against the real stack:
// the console opens on "Start here" with this instance's publish address; guides are open on an empty page
// and folded once something is set up; Forward shows one "Add destination" and then one row per
// destination; the OpenAPI tab lists the calls of the route table with their fields, in English and Chinese.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, loggedInPage } from '../helpers/browser.js';
import { ROUTE_DOCS } from '../../server/route-docs.js';
import { ADMIN_PASSWORD, initAdmin, startStack, type StackHandle } from '../helpers/stack.js';

describe('e2e: console guides and short pages (issue 17)', function () {
  this.timeout(120_000);
  let stack: StackHandle;
  let browser: Browser;
  let page: Page;
  let publishSecret: string;
  const shots = process.env.CONSOLE_SHOTS_DIR;

  before(async () => {
    stack = await startStack();
    const bearer = await initAdmin(stack);
    publishSecret = String(
      (((await stack.api('/terraform/v1/hooks/srs/secret/query', {}, { bearer })).json.data ?? {}) as { publish?: string }).publish,
    );
    browser = await launchBrowser();
    page = await loggedInPage(browser, stack.url, ADMIN_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const text = async (selector: string) => ((await page.textContent(selector)) ?? '').trim();
  const lang = async (to: 'en' | 'zh') => {
    await Promise.all([page.waitForEvent('load'), page.click(`a[href^="/mgmt/lang/${to}"]`)]);
  };
  /** Screenshots for a person to look at (CONSOLE_SHOTS_DIR=…), at a laptop's and a phone's width. */
  const shoot = async (name: string) => {
    if (!shots) return;
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: path.join(shots, `${name}-${width}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 720 });
  };

  it('opens on Start here: OBS in three steps with this instance’s RTMP server and key, the player, and the scenarios (en and zh)', async () => {
    // Logging in lands on /mgmt/scenarios: its first tab is Start here.
    await page.goto(`${stack.url}/mgmt`);
    await page.waitForSelector('#start');
    assert.equal(await page.$$eval('ol.start-steps > li', (items) => items.length), 3);
    assert.equal(await text('#start-rtmp-server'), `rtmp://127.0.0.1:${stack.ports.rtmp}/live/`);
    assert.equal(await text('#start-rtmp-key'), `livestream?secret=${publishSecret}`);
    assert.equal(await page.$$eval('#start-publish button[data-copy]', (b) => b.length), 2);
    assert.equal(
      await page.getAttribute('#start-player', 'href'),
      `/tools/player.html?url=http://127.0.0.1:${stack.ports.http}/live/livestream.flv`,
    );
    // The Streaming page shows the same values: one source of URLs.
    const cards = await page.$$eval('.scenario-cards a', (as) => as.map((a) => a.getAttribute('data-scenario')));
    for (const id of ['live', 'forward', 'record', 'vlive', 'camera', 'transcode']) assert.ok(cards.includes(id), id);
    await shoot('start');

    await Promise.all([page.waitForEvent('load'), page.click('.scenario-cards a[data-scenario="forward"]')]);
    assert.match(page.url(), /tab=forward$/);
    await page.goBack();
    await Promise.all([page.waitForEvent('load'), page.click('.scenario-cards a[data-scenario="record"]')]);
    assert.ok(await page.$('#record-globs'));
    await page.goBack();

    await lang('zh');
    assert.equal(await text('#start h2'), '快速开始：三步完成第一场直播');
    assert.equal(await text('#start-rtmp-server'), `rtmp://127.0.0.1:${stack.ports.rtmp}/live/`);
    assert.equal(await text('.scenario-cards a[data-scenario="forward"] strong'), '多平台转播');
    await lang('en');
  });

  it('a guide is open while nothing is set up on its page, and folded once something is; its FAQ links answer (en and zh)', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    assert.equal(await page.getAttribute('#guide-record', 'open'), '', 'open: recording is off');
    assert.match(await text('#guide-record .guide-attention'), /Disk space/);
    assert.match(await text('#guide-record .guide-attention'), /Disk I\/O/);
    assert.ok((await page.$$('#guide-record ol.guide-steps li')).length >= 3);
    await Promise.all([page.waitForURL(/notice=/), page.click('#record-start')]);
    assert.equal(await page.getAttribute('#record-state', 'data-all'), 'true');
    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    assert.equal(await page.getAttribute('#guide-record', 'open'), null, 'folded: recording is on');

    await page.goto(`${stack.url}/mgmt/scenarios?tab=vlive`);
    assert.match(await text('#guide-vlive .guide-attention'), /upload/);
    await shoot('vlive-empty');
    await page.goto(`${stack.url}/mgmt/scenarios?tab=transcode`);
    assert.match(await text('#guide-transcode .guide-attention'), /CPU/);
    assert.equal(await page.getAttribute('#guide-transcode', 'open'), '', 'transcoding is off');
    await page.goto(`${stack.url}/mgmt/scenarios?tab=stream`);
    assert.equal(await page.getAttribute('#guide-rooms', 'open'), '', 'no live room yet');
    assert.match(await text('#guide-rooms .guide-attention'), /stream key is a password/);

    // The FAQ the guide cites, in the console.
    await page.goto(`${stack.url}/mgmt/scenarios?tab=forward`);
    assert.match(await text('#guide-forward .guide-attention'), /stream key is a password/);
    await Promise.all([page.waitForEvent('load'), page.click('#guide-forward .guide-faq a[href$="#custom-platforms"]')]);
    assert.ok(await page.$('#faq a#custom-platforms'));
    assert.match(await page.innerText('#faq'), /the part after the last slash becomes the key/);
    await shoot('faq');
    await lang('zh');
    assert.match(await page.innerText('#faq'), /最后一个斜杠后面的部分就是流密钥/);
    await page.goto(`${stack.url}/mgmt/scenarios?tab=record`);
    assert.match(await text('#guide-record summary'), /使用说明/);
    assert.match(await text('#guide-record .guide-attention'), /磁盘空间/);
    await lang('en');
  });

  it('Forward: one "Add destination", then one collapsed row per destination with its state', async () => {
    await page.goto(`${stack.url}/mgmt/scenarios?tab=forward`);
    assert.equal(await page.getAttribute('#guide-forward', 'open'), '', 'nothing set up: the guide is open');
    assert.equal((await page.$$('#slots .slot')).length, 0, 'no empty forms');
    assert.equal(await page.$$eval('#slots a', (as) => as.map((a) => a.textContent?.trim())).then((t) => t.join()), '+ Add destination');
    await shoot('forward-empty');

    await Promise.all([page.waitForEvent('load'), page.click('#add-slot')]);
    assert.equal((await page.$$('#slots .slot')).length, 1, 'one form: the next free slot');
    assert.equal(await text('#slot-wx-state .slot-name'), 'YouTube');
    assert.ok(await page.$('#slot-wx .other-slots a[data-add="bilibili"]'), 'another platform is one click away');
    await page.fill('#fw-wx-label', 'My channel');
    await page.fill('#fw-wx-server', 'rtmp://127.0.0.1:1/live');
    await page.fill('#fw-wx-secret', 'key');
    await Promise.all([page.waitForURL(/notice=/), page.click('#slot-wx button.start')]);

    const rows = await page.$$('#slots details.slot');
    assert.equal(rows.length, 1, 'one row');
    assert.equal(await page.getAttribute('#slot-wx', 'open'), null, 'collapsed');
    assert.ok(await page.isVisible('#slot-wx-state .badge[data-state]'), 'its state shows on the row');
    assert.equal(await text('#slot-wx-state .slot-name'), 'My channel');
    assert.ok(!(await page.isVisible('#fw-wx-server')), 'the form is folded inside it');
    assert.equal(await page.getAttribute('#guide-forward', 'open'), null, 'a destination is set up: the guide is folded');
    assert.ok(await page.isVisible('#add-slot'), 'and one button to add the next');
    await page.click('#slot-wx > summary');
    assert.equal(await page.inputValue('#fw-wx-server'), 'rtmp://127.0.0.1:1/live', 'opens to edit');
    await shoot('forward-one');
    await page.click('#slot-wx button.stop');
    await page.waitForURL(/notice=/);
    await page.waitForSelector('#slot-wx-state .badge[data-state="inactive"]');
  });

  it('Forward without JavaScript: the Add link opens the form, an error reopens it beside the slot, a start shows one more row', async () => {
    const plain = await loggedInPage(browser, stack.url, ADMIN_PASSWORD, { javaScriptEnabled: false });
    try {
      await plain.goto(`${stack.url}/mgmt/scenarios?tab=forward`);
      await plain.click('#add-slot');
      await plain.waitForSelector('section.slot.adding');
      assert.equal(await plain.getAttribute('section.slot.adding', 'id'), 'slot-bilibili', 'the next free slot (wx is in use)');
      await plain.fill('#fw-bilibili-server', 'http://wrong.example/live');
      await plain.click('#slot-bilibili button.start');
      await plain.waitForSelector('#slot-bilibili-feedback .alert.error');
      assert.match((await plain.textContent('#slot-bilibili-feedback')) ?? '', /rtmp:\/\/, rtmps:\/\/ or srt:\/\//);
      await plain.fill('#fw-bilibili-server', 'rtmp://127.0.0.1:1/live');
      await plain.click('#slot-bilibili button.start');
      await plain.waitForSelector('.alert.ok');
      assert.deepEqual(await plain.$$eval('#slots details.slot', (rows) => rows.map((r) => [r.id, r.hasAttribute('open')])), [
        ['slot-wx', false],
        ['slot-bilibili', false],
      ]);
      assert.ok(await plain.isVisible('#slot-bilibili-state .badge[data-state]'));
    } finally {
      await plain.context().close();
    }
  });

  it('OpenAPI lists each call of the route table with its method, path, auth, fields and example (en and zh)', async () => {
    await page.goto(`${stack.url}/mgmt/system?tab=api`);
    const call = '#api-forward\\.secret';
    assert.equal(await text(`${call} .api-path`), 'GET|POST /terraform/v1/ffmpeg/forward/secret');
    assert.equal(await text(`${call} .api-summary`), ROUTE_DOCS['forward.secret']?.summary.en);
    assert.match(await text(`${call} .api-auth`), /Bearer/);
    await page.click(`${call} > summary`);
    const fields = await page.$$eval(`${call} tr[data-field]`, (rows) => rows.map((r) => r.getAttribute('data-field')));
    assert.deepEqual(fields, Object.keys(ROUTE_DOCS['forward.secret']?.fields ?? {}));
    assert.match(await text(`${call} tr[data-field="platform"]`), /string\s*required/);
    assert.equal(JSON.parse(await text(`${call} .api-example`)).platform, 'wx');
    assert.equal(await text('#api-group-forward'), 'Forward');
    await shoot('openapi');

    await lang('zh');
    assert.equal(await text(`${call} .api-summary`), ROUTE_DOCS['forward.secret']?.summary.zh);
    assert.equal(await text('#api-group-forward'), '多平台转播');
    assert.match(await text(`${call} tr[data-field="platform"]`), /必填/);
    await lang('en');
  });
});
