// Debian's chromium driven by playwright-core (no browser download). The flags keep it from
// reaching out to the network, which is closed here.
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

/** `extraArgs` e.g. `--host-resolver-rules=MAP console.test 127.0.0.1` to reach the stack by another name. */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
}

/**
 * A fresh browser context logged in to the console as the admin (the stack is already set up);
 * `context` e.g. `{ timezoneId }` for a viewer in another time zone.
 */
export async function loggedInPage(
  browser: Browser,
  stackUrl: string,
  password: string,
  context: BrowserContextOptions = {},
): Promise<Page> {
  const page = await (await browser.newContext(context)).newPage();
  await page.goto(`${stackUrl}/mgmt/login`);
  await page.fill('#password', password);
  await page.click('#login-submit');
  await page.waitForURL(/\/mgmt\/scenarios/);
  return page;
}
