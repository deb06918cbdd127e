// Issue 17, items 6 and 7: the API documentation the OpenAPI tab is generated from, the short slot pages,
// the FAQ the guides link to.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDictionaries } from '../../server/core/i18n.js';
import { renderMarkdown } from '../../server/features/console/faq.js';
import { slotPage } from '../../server/features/restream/routes.js';
import { apiCatalog } from '../../server/features/system/routes.js';
import { ROUTE_DOCS } from '../../server/route-docs.js';
import { ROUTES } from '../../server/route-table.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('API documentation (server/route-docs.ts)', () => {
  it('documents every API call of the route table, and nothing else', () => {
    // SRS Stack's API, SRS's own HTTP API and WHIP/WHEP: every call a client makes, pages and media aside.
    const api = ROUTES.filter((r) => r.answer === 'api' || /^\/(api|rtc)\//.test(r.path)).map((r) => r.id);
    assert.ok(api.includes('srsApi.streams') && api.includes('webrtc.whip'));
    const missing = api.filter((id) => !(id in ROUTE_DOCS));
    assert.deepEqual(missing, [], `API routes without documentation in server/route-docs.ts: ${missing.join(', ')}`);
    const ids = new Set(ROUTES.map((r) => r.id));
    assert.deepEqual(
      Object.keys(ROUTE_DOCS).filter((id) => !ids.has(id)),
      [],
      'documentation of routes the table does not have',
    );
  });

  it('gives each call a summary in English and Chinese, and examples only of documented fields', () => {
    for (const [id, doc] of Object.entries(ROUTE_DOCS)) {
      assert.ok(doc?.summary.en.trim() && doc.summary.zh.trim(), `${id}: a summary in both languages`);
      assert.match(doc.summary.zh, /[\u4e00-\u9fff]/, `${id}: the zh summary is Chinese`);
      for (const field of Object.keys(doc.example ?? {}))
        assert.ok(doc.fields && field in doc.fields, `${id}: example field ${field} is documented`);
    }
  });

  it('lists the calls grouped by scenario in the table order, with fields, optionality and the example body', () => {
    const groups = apiCatalog(ROUTES, ROUTE_DOCS);
    const names = groups.map((g) => g.name);
    assert.deepEqual(names.slice(0, 3), ['auth', 'system', 'https']);
    assert.ok(names.includes('forward') && names.includes('record') && names.includes('transcode'));
    const forward = groups.find((g) => g.name === 'forward')?.calls.find((c) => c.id === 'forward.secret');
    assert.equal(forward?.path, '/terraform/v1/ffmpeg/forward/secret');
    assert.equal(forward?.methods, 'GET|POST');
    assert.equal(forward?.auth, 'secured');
    assert.deepEqual(
      forward?.fields.find((f) => f.name === 'platform'),
      { name: 'platform', type: 'string', optional: false },
    );
    assert.deepEqual(
      forward?.fields.find((f) => f.name === 'enabled'),
      { name: 'enabled', type: 'boolean', optional: true },
    );
    assert.equal(JSON.parse(forward?.example ?? '{}').action, 'update');
    const versions = groups.find((g) => g.name === 'system')?.calls.find((c) => c.id === 'system.versions');
    assert.equal(versions?.auth, 'public');
    assert.ok(versions?.note);
    const dict = loadDictionaries(path.join(ROOT, 'views'));
    for (const name of names) assert.ok(dict[`openapi.group.${name}`]?.zh, `openapi.group.${name} is named in en and zh`);
    // Pages and forms are not API calls.
    assert.ok(!groups.some((g) => g.calls.some((c) => c.id.endsWith('Form') || c.id.startsWith('console.'))));
  });
});

describe('slot pages: configured slots in rows, one form to add (slotPage)', () => {
  const form = (platform: string, configured: boolean) => ({ platform, configured });
  const forms = [form('wx', true), form('bilibili', false), form('kuaishou', false), form('forwarding-1-abcdef', false)];

  it('shows configured slots collapsed and no form until asked', () => {
    const page = slotPage(forms, 10, {});
    assert.deepEqual(
      page.configured.map((f) => [f.platform, f.open]),
      [['wx', false]],
    );
    assert.equal(page.adding, null);
    assert.ok(page.canAdd);
  });

  it('?add=1 opens the next free slot, ?add=<platform> or custom a chosen one; the others are offered', () => {
    assert.equal(slotPage(forms, 10, { add: '1' }).adding?.platform, 'bilibili');
    assert.equal(slotPage(forms, 10, { add: 'kuaishou' }).adding?.platform, 'kuaishou');
    const custom = slotPage(forms, 10, { add: 'custom' });
    assert.equal(custom.adding?.platform, 'forwarding-1-abcdef');
    assert.deepEqual(
      custom.others.map((o) => o.add),
      ['bilibili', 'kuaishou'],
    );
    assert.equal(slotPage(forms, 10, { add: 'wx' }).adding, null, 'a configured slot is not added again');
  });

  it('?open=<platform> or a form error there expands a configured slot; an error on a new one reopens its form', () => {
    assert.ok(slotPage(forms, 10, { open: 'wx' }).configured[0]?.open);
    assert.ok(slotPage(forms, 10, { error: 'bad', errorAt: 'slot-wx' }).configured[0]?.open);
    assert.equal(slotPage(forms, 10, { error: 'bad', errorAt: 'slot-kuaishou' }).adding?.platform, 'kuaishou');
    // A new custom slot's id is random per page: the failed one keeps the id it posted.
    assert.equal(slotPage(forms, 10, { error: 'bad', errorAt: 'slot-forwarding-2-123456' }).adding?.platform, 'forwarding-2-123456');
    assert.equal(slotPage(forms, 10, { error: 'bad', errorAt: 'slot-<script>' }).adding, null);
  });

  it('offers no add once the limit is reached', () => {
    const page = slotPage(forms, 1, { add: '1' });
    assert.equal(page.canAdd, false);
    assert.equal(page.adding, null);
  });
});

describe('FAQ (docs/faq.md, docs/faq.zh.md) and the guides citing it', () => {
  const anchors = (file: string) =>
    new Set([...fs.readFileSync(path.join(ROOT, 'docs', file), 'utf8').matchAll(/<a id="([a-z0-9-]+)"><\/a>/g)].map((m) => m[1]));

  it('has the same anchors in both languages, and every anchor a guide links to', () => {
    const en = anchors('faq.md');
    const zh = anchors('faq.zh.md');
    assert.deepEqual([...en].sort(), [...zh].sort());
    const dict = loadDictionaries(path.join(ROOT, 'views'));
    const cited = Object.entries(dict).filter(([key]) => /^guide\.\w+\.faq\.\d+$/.test(key));
    assert.ok(cited.length >= 8);
    for (const [key, value] of cited) {
      for (const lang of ['en', 'zh'] as const)
        assert.ok(en.has(value[lang].split('|')[0] as string), `${key} (${lang}) cites a FAQ anchor that exists`);
    }
    // The views link these by hand.
    for (const a of ['replace-ffmpeg', 'upgrade']) assert.ok(en.has(a));
  });

  it('every guide string is in English and Chinese', () => {
    const dict = loadDictionaries(path.join(ROOT, 'views'));
    for (const [key, value] of Object.entries(dict)) {
      if (!/^(guide|start|faq)\./.test(key)) continue;
      assert.ok(value.en?.trim() && value.zh?.trim(), key);
    }
  });

  it('renders the Markdown subset the docs use, escaping everything else', () => {
    const html = renderMarkdown(
      [
        '# Title',
        '<a id="one"></a>',
        '## A **question**',
        'Text with `code <b>` and [a link](https://example.com)',
        'continued.',
        '',
        '- item one',
        '- item `two`',
        '1. first',
        '```bash',
        'echo <hi> & bye',
        '```',
        '<script>alert(1)</script>',
        '[bad](javascript:alert(1))',
      ].join('\n'),
    );
    assert.match(html, /<h2>Title<\/h2>/);
    assert.match(html, /<a id="one"><\/a>/);
    assert.match(html, /<h3>A <strong>question<\/strong><\/h3>/);
    assert.match(
      html,
      /<p>Text with <code>code &#60;b&#62;<\/code> and <a href="https:\/\/example.com" rel="noopener" target="_blank">a link<\/a> continued.<\/p>/,
    );
    assert.match(html, /<ul><li>item one<\/li><li>item <code>two<\/code><\/li><\/ul>\n<ol><li>first<\/li><\/ol>/);
    assert.match(html, /<pre>echo &#60;hi&#62; &#38; bye<\/pre>/);
    assert.doesNotMatch(html, /<script>|href="javascript/);
  });

  it('renders both FAQ files without leftover Markdown', () => {
    for (const file of ['faq.md', 'faq.zh.md']) {
      const html = renderMarkdown(fs.readFileSync(path.join(ROOT, 'docs', file), 'utf8'));
      assert.doesNotMatch(html.replace(/<pre>[\s\S]*?<\/pre>/g, ''), /\*\*|```|^#/m, file);
    }
  });
});
