// The FAQ tab (Scenarios › FAQ): docs/faq.md, or docs/faq.zh.md in Chinese, shown inside the console so the
// answers the guides cite (views/console/guide.ejs) are one click away on every installation, which ships
// docs/ (installer/release.mjs). The files are written in the small Markdown subset renderMarkdown reads.
import fs from 'node:fs';
import path from 'node:path';
import type { Console } from './console.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `code`, **bold** and [text](link) within one line; everything else is escaped. */
function inline(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) => {
      if (/^`[^`]+`$/.test(part)) return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
      return escapeHtml(part)
        .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
        .replace(/\[([^\]]+)\]\(((?:https?:\/\/|\/|#)[^\s)]*)\)/g, (_m, label: string, href: string) => {
          const external = /^https?:/.test(href) ? ' rel="noopener" target="_blank"' : '';
          return `<a href="${href}"${external}>${label}</a>`;
        });
    })
    .join('');
}

/**
 * The Markdown the docs use, as HTML: `#`–`###` headings, paragraphs, `-` and `1.` lists, fenced code,
 * `code`, **bold**, links, and `<a id="…"></a>` anchor lines (the FAQ's stable anchors, the same in both
 * languages). Anything else is text: no raw HTML passes.
 */
export function renderMarkdown(md: string): string {
  const out: string[] = [];
  let paragraph: string[] = [];
  let list: { tag: 'ul' | 'ol'; items: string[] } | null = null;
  const flush = () => {
    if (paragraph.length) out.push(`<p>${inline(paragraph.join(' '))}</p>`);
    paragraph = [];
    if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${list.tag}>`);
    list = null;
  };
  const lines = md.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !(lines[i] as string).startsWith('```')) code.push(lines[i] as string);
      out.push(`<pre>${escapeHtml(code.join('\n'))}</pre>`);
      continue;
    }
    const anchor = /^<a id="([a-z0-9-]+)"><\/a>$/.exec(line.trim());
    const heading = /^(#{1,3}) (.+)$/.exec(line);
    const item = /^(-|\d+\.) (.+)$/.exec(line);
    if (anchor) {
      flush();
      out.push(`<a id="${anchor[1]}"></a>`);
    } else if (heading) {
      flush();
      const level = (heading[1] as string).length + 1; // the page has its own h1/h2
      out.push(`<h${level}>${inline(heading[2] as string)}</h${level}>`);
    } else if (item) {
      const tag = item[1] === '-' ? 'ul' : 'ol';
      if (paragraph.length || (list && list.tag !== tag)) flush();
      list ??= { tag, items: [] };
      list.items.push(item[2] as string);
    } else if (!line.trim()) {
      flush();
    } else if (list && /^\s+\S/.test(line)) {
      // A list item's continuation line.
      list.items[list.items.length - 1] += ` ${line.trim()}`;
    } else {
      if (list) flush();
      paragraph.push(line.trim());
    }
  }
  flush();
  return out.join('\n');
}

export function registerFaqTab(ui: Console, docsDir: string): void {
  ui.addTab({
    section: 'scenarios',
    id: 'faq',
    titleKey: 'faq.tab',
    order: 95,
    template: 'console/faq',
    load: async (ctx) => {
      const file = ui.lang(ctx) === 'zh' ? 'faq.zh.md' : 'faq.md';
      try {
        return { file, html: renderMarkdown(await fs.promises.readFile(path.join(docsDir, file), 'utf8')) };
      } catch {
        return { file, html: '' };
      }
    },
  });
}
