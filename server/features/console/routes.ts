// Console navigation: /mgmt decides between starting, setup, login and the app; the sections
// render the tab named by ?tab= (SRS Stack's deep links), plus Components and Contact.
import type Koa from 'koa';
import type Router from 'koa-router';
import type { AuthService } from '../auth/service.js';
import type { SystemService } from '../system/service.js';
import { LANG_COOKIE, safeBack, type Console, type Section } from './console.js';

export function registerConsolePages(router: Router, ui: Console, auth: AuthService, system: SystemService): void {
  // Language is per user: a cookie, switched by any console link with ?lang=.
  router.get('/mgmt/lang/:lang', async (ctx) => {
    const lang = ctx.params.lang === 'zh' ? 'zh' : 'en';
    ui.setCookie(ctx, LANG_COOKIE, lang, 365 * 24 * 3600 * 1000);
    ctx.redirect(safeBack(typeof ctx.query.back === 'string' ? ctx.query.back : '/mgmt'));
  });

  router.get('/mgmt/starting', async (ctx) => {
    if (await system.isReady()) return ctx.redirect('/mgmt');
    ctx.status = 503;
    ctx.set('Retry-After', '3');
    await ui.render(ctx, 'console/starting');
  });

  const entry = async (ctx: Koa.Context) => {
    if (!(await system.isReady())) return ctx.redirect('/mgmt/starting');
    if (!auth.isInitialized()) return ctx.redirect('/mgmt/setup');
    if (!ui.isLoggedIn(ctx)) return ctx.redirect('/mgmt/login');
    ctx.redirect('/mgmt/scenarios');
  };
  router.get('/mgmt', entry);
  router.get('/mgmt/', entry);

  /** Pages below need a ready stack and a session; otherwise they send the user where to go. */
  const gate = async (ctx: Koa.Context): Promise<boolean> => {
    if (!(await system.isReady())) {
      ctx.redirect('/mgmt/starting');
      return false;
    }
    if (!ui.isLoggedIn(ctx)) {
      ctx.redirect(auth.isInitialized() ? '/mgmt/login' : '/mgmt/setup');
      return false;
    }
    return true;
  };

  const section = (name: Section) => async (ctx: Koa.Context) => {
    if (!(await gate(ctx))) return;
    const tabs = ui.tabsOf(name);
    const wanted = typeof ctx.query.tab === 'string' ? ctx.query.tab : '';
    const tab = tabs.find((t) => t.id === wanted) ?? tabs[0];
    const model = tab?.load ? await tab.load(ctx) : {};
    await ui.render(ctx, 'console/section', {
      section: name,
      tabs: tabs.map((t) => ({ id: t.id, titleKey: t.titleKey })),
      current: tab ? { id: tab.id, template: tab.template, titleKey: tab.titleKey } : null,
      model,
      notice: typeof ctx.query.notice === 'string' ? ctx.query.notice : '',
      error: typeof ctx.query.error === 'string' ? ctx.query.error : '',
    });
  };
  router.get('/mgmt/scenarios', section('scenarios'));
  router.get('/mgmt/system', section('system'));

  router.get('/mgmt/components', async (ctx) => {
    if (!(await gate(ctx))) return;
    await ui.render(ctx, 'console/components', { status: system.status(), children: system.children() });
  });
  router.get('/mgmt/contact', async (ctx) => {
    if (!(await gate(ctx))) return;
    await ui.render(ctx, 'console/contact');
  });
}
