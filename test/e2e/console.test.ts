import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startStack, type StackHandle } from '../helpers/stack.js';

describe('e2e: console first visit, setup, logout and login in headless Chromium', function () {
  this.timeout(90_000);
  let stack: StackHandle;
  let browser: Browser;

  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('walks setup → console → OpenAPI try-it → language switch → logout → login', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.url}/`);
    await page.waitForURL(/\/mgmt\/setup$/);
    const proposed = await page.inputValue('#password');
    assert.match(proposed, /^[0-9a-f]{16}$/, 'a random password is proposed');
    await page.fill('#password', 'e2e-password-1');
    await page.click('#setup-submit');
    await page.waitForURL(/\/mgmt\/scenarios/);

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'srs_session');
    assert.ok(session?.httpOnly, 'session cookie is HttpOnly');
    assert.equal(session?.sameSite, 'Lax');

    await page.goto(`${stack.url}/mgmt/system?tab=api`);
    const secret = (await page.textContent('#api-secret'))?.trim() ?? '';
    assert.match(secret, /^srs-v2-[0-9a-f]{32}$/);
    await page.click('#try-it');
    await page.waitForSelector('#try-result[data-ok="true"]');
    assert.match((await page.textContent('#try-result')) ?? '', /"version"/);

    await page.goto(`${stack.url}/mgmt/system?tab=beian`);
    await page.fill('#site-title', 'E2E Live');
    await page.click('#tab-beian form:first-of-type button[type=submit]');
    await page.waitForSelector('.alert.ok');
    assert.equal(await page.title(), 'E2E Live');

    await page.click('a[href^="/mgmt/lang/zh"]');
    await page.waitForSelector('text=系统配置');
    await page.click('a[href^="/mgmt/lang/en"]');
    await page.waitForSelector('text=System');

    page.once('dialog', (d) => void d.accept());
    await page.click('#logout');
    await page.waitForURL(/\/mgmt\/login$/);
    await page.goto(`${stack.url}/mgmt/system`);
    await page.waitForURL(/\/mgmt\/login$/);

    await page.fill('#password', 'wrong-password');
    await page.click('#login-submit');
    await page.waitForSelector('.alert.error');
    assert.match((await page.textContent('.alert.error')) ?? '', /invalid password/);
    await page.waitForTimeout(1100); // the throttle's first penalty
    await page.fill('#password', 'e2e-password-1');
    await page.click('#login-submit');
    await page.waitForURL(/\/mgmt\/scenarios/);
    await context.close();
  });

  it('refuses a console form post without the CSRF token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.url}/mgmt/login`);
    await page.fill('#password', 'e2e-password-1');
    await page.click('#login-submit');
    await page.waitForURL(/\/mgmt\/scenarios/);
    const status = await page.evaluate(async () => {
      const res = await fetch('/mgmt/system/website', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'beian=title&text=hacked',
      });
      return res.status;
    });
    assert.equal(status, 401);
    const title = await stack.api('/terraform/v1/mgmt/beian/query');
    assert.notEqual((title.json.data as { title?: string }).title, 'hacked');
    await context.close();
  });
});
