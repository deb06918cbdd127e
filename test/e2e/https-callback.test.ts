import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { makeServerPair } from '../helpers/certs.js';
import { startPebble, type Pebble } from '../helpers/pebble.js';
import { freePort, startStack, type StackHandle } from '../helpers/stack.js';

describe("e2e: System › HTTPS (upload, Let's Encrypt with progress) and System › Callback in Chromium", function () {
  this.timeout(90_000);
  let pebble: Pebble;
  let stack: StackHandle;
  let browser: Browser;
  let page: Page;

  before(async () => {
    const ports = { http: await freePort(), https: await freePort(), rtmp: await freePort() };
    pebble = await startPebble({ httpPort: ports.http });
    for (const name of ['a.example.test', 'b.example.test']) await pebble.addHost(name);
    stack = await startStack({
      ports,
      env: { ACME_DIRECTORY_URL: pebble.directoryUrl, ACME_CA_FILE: pebble.caFile, ACME_SELF_CHECK_PORT: '0' },
    });
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(`${stack.url}/mgmt/setup`);
    await page.fill('#password', 'e2e-https-pw');
    await page.click('#setup-submit');
    await page.waitForURL(/\/mgmt\/scenarios/);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    await pebble?.stop();
  });

  it('shows the self-signed certificate, refuses a mismatched upload and installs a good one', async () => {
    await page.goto(`${stack.url}/mgmt/system?tab=https`);
    assert.equal(await page.textContent('#cert-subject'), 'CN=srs.stack.local');
    const good = await makeServerPair('upload.example.com');
    const other = await makeServerPair('other.example.com');
    await page.fill('#ssl-key', other.key);
    await page.fill('#ssl-crt', good.crt);
    await page.click('#ssl-submit');
    await page.waitForSelector('.alert.error');
    assert.match((await page.textContent('.alert.error')) ?? '', /does not match the certificate/);
    assert.equal(await page.textContent('#cert-subject'), 'CN=srs.stack.local', 'nothing changed');
    await page.fill('#ssl-key', good.key);
    await page.fill('#ssl-crt', good.crt);
    await page.click('#ssl-submit');
    await page.waitForSelector('.alert.ok');
    assert.equal(await page.textContent('#cert-sans'), 'upload.example.com');
  });

  it("requests a Let's Encrypt certificate for two names, showing the progress, then the new certificate", async () => {
    await page.goto(`${stack.url}/mgmt/system?tab=https`);
    await page.fill('#le-domain', 'a.example.test; b.example.test');
    await page.click('#le-submit');
    await page.waitForURL(/notice=https\.notice\.issued/);
    assert.equal(await page.textContent('#cert-sans'), 'a.example.test, b.example.test');
    assert.match((await page.textContent('#cert-provider')) ?? '', /Let's Encrypt/);
    assert.match((await page.textContent('#le-progress')) ?? '', /b\.example\.test: validated[\s\S]*installed/);

    await page.fill('#le-domain', 'nx.example.test');
    await page.click('#le-submit');
    await page.waitForSelector('#le-progress[data-ok="false"]');
    assert.match((await page.textContent('#le-progress')) ?? '', /could not validate nx\.example\.test: .*Likely cause/);
    assert.equal(await page.textContent('#cert-sans'), 'a.example.test, b.example.test');
  });

  it('saves a callback to the built-in example receiver and shows it active', async () => {
    await page.goto(`${stack.url}/mgmt/system?tab=callback`);
    assert.equal(await page.inputValue('#hook-target'), `${stack.url}/terraform/v1/mgmt/hooks/example?fail=false`);
    assert.equal((await page.textContent('#hook-state'))?.trim(), 'Disabled');
    await page.fill('#hook-opaque', 'my-token');
    await page.check('#hook-all');
    await page.click('#hook-submit');
    await page.waitForSelector('.alert.ok');
    assert.equal((await page.textContent('#hook-state'))?.trim(), 'Active');
    assert.equal(await page.inputValue('#hook-opaque'), 'my-token');
  });
});
