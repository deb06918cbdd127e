// The console shell: session cookie, language, the guards of console pages and forms (session,
// CSRF), and the Scenarios / System sections into which each feature plugs its tabs. Pages work
// without JavaScript; small scripts only add copy buttons, confirmations and self-refreshing tables.
import type Koa from 'koa';
import { isSecureRequest } from '../../core/http.js';
import { UnauthorizedError } from '../../core/errors.js';
import { pickLang, type Lang } from '../../core/i18n.js';
import type { PageChrome, StorageProblem, Views } from '../../core/views.js';
import type { Body } from '../../core/validate.js';

export const SESSION_COOKIE = 'srs_session';
export const LANG_COOKIE = 'srs_lang';
const SESSION_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export type Section = 'scenarios' | 'system';

export interface ConsoleTab {
  readonly section: Section;
  /** The `?tab=` value, kept from SRS Stack so deep links still work. */
  readonly id: string;
  readonly titleKey: string;
  readonly order: number;
  /** Template under views/, e.g. `system/openapi`. */
  readonly template: string;
  /** Builds the tab's view model. Runs only when the tab is shown. */
  readonly load?: (ctx: Koa.Context) => Promise<Record<string, unknown>>;
}

/**
 * What the console needs of the login sessions (the auth feature provides it). Declared here, not
 * imported, so the console — which every feature's tabs depend on — depends on no feature.
 */
export interface ConsoleSessions {
  isInitialized(): boolean;
  isValidSession(token: string | undefined): Promise<boolean>;
  csrfTokenFor(session: string): string;
  authenticate(creds: { sessionToken?: string; csrfToken?: string }): Promise<void>;
}

/** What the console shows of the system (the system feature provides it). */
export interface ConsoleSite {
  readonly version: string;
  isReady(): Promise<boolean>;
  /** The site title and footer (SRS_BEIAN). */
  beian(): Promise<Record<string, string>>;
  /** A disk or Redis problem to show on every page, or null. */
  storageProblem(): Promise<StorageProblem | null>;
  status(): unknown;
  children(): unknown;
}

export class Console {
  private readonly tabs: ConsoleTab[] = [];

  constructor(
    private readonly views: Views,
    private readonly auth: ConsoleSessions,
    private readonly system: ConsoleSite,
    private readonly defaultLang: Lang,
  ) {}

  addTab(tab: ConsoleTab): void {
    this.tabs.push(tab);
    this.tabs.sort((a, b) => a.order - b.order);
  }

  tabsOf(section: Section): ConsoleTab[] {
    return this.tabs.filter((t) => t.section === section);
  }

  lang(ctx: Koa.Context): Lang {
    return pickLang(ctx.cookies.get(LANG_COOKIE), this.defaultLang);
  }

  sessionToken(ctx: Koa.Context): string | undefined {
    return ctx.cookies.get(SESSION_COOKIE) || undefined;
  }

  isLoggedIn(ctx: Koa.Context): Promise<boolean> {
    return this.auth.isValidSession(this.sessionToken(ctx));
  }

  startSession(ctx: Koa.Context, token: string): void {
    this.setCookie(ctx, SESSION_COOKIE, token, SESSION_MAX_AGE_MS);
  }

  endSession(ctx: Koa.Context): void {
    this.setCookie(ctx, SESSION_COOKIE, '', 0);
  }

  setCookie(ctx: Koa.Context, name: string, value: string, maxAge: number): void {
    const secure = isSecureRequest(ctx);
    // Koa refuses Secure cookies unless it believes the request is HTTPS; we decided above.
    if (secure) (ctx.cookies as unknown as { secure: boolean }).secure = true;
    ctx.cookies.set(name, value || null, { httpOnly: true, sameSite: 'lax', secure, maxAge: maxAge || undefined, overwrite: true });
  }

  async chrome(ctx: Koa.Context): Promise<PageChrome> {
    let beian: Record<string, string> = {};
    try {
      beian = await this.system.beian();
    } catch {
      /* Redis down: defaults */
    }
    const session = this.sessionToken(ctx);
    const loggedIn = await this.auth.isValidSession(session);
    return {
      lang: this.lang(ctx),
      title: beian.title || 'SRS Stack',
      footer: beian.icp ?? '',
      version: this.system.version,
      csrfToken: loggedIn && session ? this.auth.csrfTokenFor(session) : '',
      loggedIn,
      path: ctx.path,
      query: ctx.querystring,
      storage: await this.system.storageProblem(),
    };
  }

  async render(ctx: Koa.Context, template: string, model: Record<string, unknown> = {}): Promise<void> {
    await this.views.renderPage(ctx, template, await this.chrome(ctx), model);
  }

  /** Error page for HTML requests (the API answers JSON). */
  renderError(ctx: Koa.Context, status: number, message: string): void {
    const t = this.views.t(this.lang(ctx));
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!doctype html><html lang="${this.lang(ctx)}"><head><meta charset="utf-8"><title>${status}</title>
<link rel="stylesheet" href="/mgmt/public/console.css"></head><body><main class="container">
<div class="alert error" role="alert"><strong>${escape(t('error.title'))}</strong> ${status}: ${escape(message)}</div>
<p><a href="/mgmt">${escape(t('error.back'))}</a></p></main></body></html>`;
  }

  /**
   * The `session` rule of the route table (console forms, the QR code): a valid session, and for a form
   * post the CSRF token the page embedded, so another site cannot post on the user's behalf.
   */
  async checkSession(ctx: Koa.Context, form: Body): Promise<boolean> {
    const session = this.sessionToken(ctx);
    if (!(await this.auth.isValidSession(session))) throw new UnauthorizedError('console session expired: log in again');
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      await this.auth.authenticate({ sessionToken: session, csrfToken: typeof form._csrf === 'string' ? form._csrf : undefined });
    }
    return true;
  }

  /** The `session-page` rule: pages need a ready stack and a session; otherwise the browser is sent where to go. */
  async checkPage(ctx: Koa.Context): Promise<boolean> {
    if (!(await this.system.isReady())) {
      ctx.redirect('/mgmt/starting');
      return false;
    }
    if (!(await this.isLoggedIn(ctx))) {
      ctx.redirect(this.auth.isInitialized() ? '/mgmt/login' : '/mgmt/setup');
      return false;
    }
    return true;
  }
}
