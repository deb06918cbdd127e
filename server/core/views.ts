// Renders EJS views with a plain view model. Templates are dumb: no awaits, no store calls, and
// escaped output only (<%-) is reserved for the layout including an already rendered page).
import ejs from 'ejs';
import type Koa from 'koa';
import path from 'node:path';
import { type Dictionary, type Lang, type Translate, translator } from './i18n.js';

export interface PageChrome {
  lang: Lang;
  title: string;
  footer: string;
  version: string;
  csrfToken: string;
  loggedIn: boolean;
  path: string;
  query: string;
  /** Set while nothing can be saved (a full disk): every page says so. */
  storage: StorageProblem | null;
}

export interface StorageProblem {
  /** `redis`: Redis refuses writes because it cannot save; `disk`: the data directory's disk is (almost) full. */
  kind: 'redis' | 'disk' | 'low';
  dir: string;
  freeMb: number;
  /** `low`: the user's warning threshold (record retention's warnFreeMb), crossed before recording has to stop. */
  thresholdMb?: number;
}

export class Views {
  constructor(
    private readonly dir: string,
    private readonly dict: Dictionary,
    private readonly cache: boolean,
  ) {}

  t(lang: Lang): Translate {
    return translator(this.dict, lang);
  }

  async renderPage(
    ctx: Koa.Context,
    template: string,
    chrome: PageChrome,
    model: Record<string, unknown>,
    layout = 'layout',
  ): Promise<void> {
    const t = this.t(chrome.lang);
    const locals = { ...model, chrome, t };
    const body = await this.renderFile(template, locals);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await this.renderFile(layout, { ...locals, body });
  }

  renderFile(template: string, locals: Record<string, unknown>): Promise<string> {
    return ejs.renderFile(path.join(this.dir, `${template}.ejs`), locals, { cache: this.cache, async: false, root: this.dir });
  }
}

/** A time as the console shows it: the browser rewrites `utc` in the viewer's zone from `iso` (console.js). */
export interface ShownTime {
  iso: string;
  /** `2024-11-16 08:00:12 UTC`: what a page without JavaScript shows. */
  utc: string;
}

export function shownTime(iso: unknown): ShownTime {
  return typeof iso === 'string' && iso ? { iso, utc: `${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')} UTC` } : { iso: '', utc: '' };
}
