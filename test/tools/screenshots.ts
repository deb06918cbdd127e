// The console as a user sees it: every page in English and Chinese at a desktop (1366 px) and a
// phone (390 px) width, written to docs/screenshots/ with an index (docs/screenshots/README.md).
// `npm run screenshots` — starts its own stack with a live stream, a recording and a forward, logs
// in, and finds the pages by following the console's own links (every /mgmt page a link names),
// so a new page or tab is shot without editing this file.
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser } from '../helpers/browser.js';
import { publish, type Publisher } from '../helpers/media.js';
import { publishSecretOf, stackPublishUrl, waitStreamLive } from '../helpers/restream.js';
import { ADMIN_PASSWORD, initAdmin, startStack } from '../helpers/stack.js';

const OUT = path.resolve(process.argv[2] ?? 'docs/screenshots');
const WIDTHS = [
  { name: 'desktop', width: 1366, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;
const LANGS = ['en', 'zh'] as const;
/** Links that change state or are not pages. */
const NOT_A_PAGE = /\/mgmt\/(lang|logout|public|vendor)\b|\.(svg|png|m3u8|flv|mp4|ts|json)(\?|$)/;
const MAX_PAGES = 60;

/** A file name for a console URL: its path and its tab, e.g. `scenarios-forward`. */
export function shotName(url: URL): string {
  // Ids (a live room's uuid) change at every run; the page is the same.
  const parts = url.pathname
    .replace(/^\/(mgmt\/)?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => (/^[0-9a-f-]{16,}$/i.test(p) ? 'one' : p));
  for (const key of ['tab', 'stream', 'uuid']) {
    const v = url.searchParams.get(key);
    if (v) parts.push(v);
  }
  // A slot page's "Add" form (`?add=1`, the next free slot) is a page of its own; the other platforms' add
  // links (`?add=<platform>`) show the same form and keep the page's name, so they are not shot again.
  if (url.searchParams.get('add') === '1') parts.push('add');
  return (parts.join('-') || 'home').replace(/[^a-z0-9._-]+/gi, '_').slice(0, 80);
}

async function main(): Promise<void> {
  const stack = await startStack();
  const publishers: Publisher[] = [];
  const browser = await launchBrowser();
  try {
    const bearer = await initAdmin(stack);
    const secret = await publishSecretOf(stack, bearer);
    publishers.push(publish(stackPublishUrl(stack, secret, 'livestream')));
    await waitStreamLive(stack, bearer, 'livestream');
    await stack.api('/terraform/v1/hooks/record/apply', { all: true }, { bearer });
    await stack.api(
      '/terraform/v1/ffmpeg/forward/secret',
      { action: 'update', platform: 'wx', server: 'rtmp://127.0.0.1:1/live/demo', enabled: true },
      { bearer },
    );
    // A live room, so the Live Rooms list links its own page.
    await stack.api('/terraform/v1/live/room/create', { title: 'My show' }, { bearer });
    await new Promise((r) => setTimeout(r, 6000)); // a segment recorded, players have something to show

    const shots: Array<{ lang: string; width: string; name: string; file: string; url: string }> = [];
    for (const lang of LANGS) {
      for (const size of WIDTHS) {
        const context = await browser.newContext({
          viewport: { width: size.width, height: size.height },
          locale: lang === 'zh' ? 'zh-CN' : 'en-US',
        });
        const page = await context.newPage();
        const dir = path.join(OUT, lang, size.name);
        fs.mkdirSync(dir, { recursive: true });
        /** Shoots what the URL lands on, unless that page was shot already; the landing URL, or null. */
        const shoot = async (url: string, fixedName?: string): Promise<URL | null> => {
          await page.goto(url, { waitUntil: 'load' });
          const landed = new URL(page.url());
          const name = fixedName ?? shotName(landed);
          if (shotNames.has(name)) return null;
          shotNames.add(name);
          await page.waitForTimeout(1500); // players start, times are localised
          const file = path.join(dir, `${name}.jpg`);
          await page.screenshot({ path: file, fullPage: true, type: 'jpeg', quality: 70 });
          shots.push({ lang, width: `${size.width}`, name, file: path.relative(OUT, file), url: landed.pathname + landed.search });
          return landed;
        };
        const shotNames = new Set<string>();
        await page.goto(`${stack.url}/mgmt/lang/${lang}?back=/mgmt/login`);
        await shoot(`${stack.url}/mgmt/login`);
        await page.fill('#password', ADMIN_PASSWORD);
        await page.click('#login-submit');
        await page.waitForURL(/\/mgmt\//);
        // Breadth-first over the console's own links, starting where login lands.
        const queue = [page.url()];
        const asked = new Set<string>();
        while (queue.length && shotNames.size < MAX_PAGES) {
          const next = queue.shift() as string;
          if (asked.has(next)) continue;
          asked.add(next);
          if (!(await shoot(next))) continue;
          const links = await page.$$eval('a[href]', (as) => as.map((a) => (a as HTMLAnchorElement).href));
          for (const href of links) {
            const u = new URL(href);
            if (u.origin !== stack.url || !u.pathname.startsWith('/mgmt') || NOT_A_PAGE.test(u.pathname + u.search)) continue;
            u.hash = '';
            u.searchParams.delete('lang');
            if (!asked.has(u.href)) queue.push(u.href);
          }
        }
        await shoot(`${stack.url}/tools/player.html?url=${encodeURIComponent(`${stack.url}/live/livestream.flv`)}`, 'player-flv');
        await context.close();
      }
    }
    writeIndex(shots);
    process.stdout.write(`${shots.length} screenshots in ${OUT}\n`);
  } finally {
    await browser.close();
    for (const p of publishers) await p.stop();
    await stack.stop();
  }
}

function writeIndex(shots: Array<{ lang: string; width: string; name: string; file: string; url: string }>): void {
  const names = [...new Set(shots.map((s) => s.name))];
  const cell = (lang: string, width: string, name: string) => {
    const s = shots.find((x) => x.lang === lang && x.width === width && x.name === name);
    return s ? `[${width} px](${s.file})` : '—';
  };
  const rows = names.map((name) => {
    const url = shots.find((s) => s.name === name)?.url ?? '';
    return `| ${name} | \`${url}\` | ${LANGS.flatMap((l) => WIDTHS.map((w) => cell(l, `${w.width}`, name))).join(' | ')} |`;
  });
  const text = [
    '# Console screenshots',
    '',
    'Every console page in English and Chinese at 1366 px (desktop) and 390 px (phone) wide, taken by',
    '`npm run screenshots` (test/tools/screenshots.ts) from a stack with one live stream, recording on,',
    'one forward destination and one live room. Regenerate them after changing a page.',
    '',
    `| page | URL | ${LANGS.flatMap((l) => WIDTHS.map((w) => `${l} ${w.name}`)).join(' | ')} |`,
    `|---|---|${LANGS.flatMap(() => WIDTHS.map(() => '---')).join('|')}|`,
    ...rows,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(OUT, 'README.md'), text);
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
