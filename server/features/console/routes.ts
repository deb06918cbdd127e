// Console navigation: /mgmt decides between starting, setup, login and the app; the sections
// render the tab named by ?tab= (SRS Stack's deep links), plus Components and Contact. The
// table's `session-page` rule (Console.checkPage) has already sent anonymous browsers to log in.
import type Koa from 'koa';
import { safeBack } from '../../core/http.js';
import { shownTime } from '../../core/views.js';
import type { RouteHandlers } from '../../route-table.js';
import { LANG_COOKIE, type Console, type ConsoleSessions, type ConsoleSite, type Section } from './console.js';

export function consoleHandlers(ui: Console, auth: ConsoleSessions, system: ConsoleSite): RouteHandlers {
  const section =
    (name: Section) =>
    async ({ ctx }: { ctx: Koa.Context }) => {
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
        // An error placed by its form (`errorAt`) is the tab's to show beside that form.
        error: typeof ctx.query.error === 'string' && !ctx.query.errorAt ? ctx.query.error : '',
      });
    };

  return {
    // Language is per user: a cookie, switched by any console link with ?lang=.
    'console.lang': ({ ctx }) => {
      const lang = ctx.params.lang === 'zh' ? 'zh' : 'en';
      ui.setCookie(ctx, LANG_COOKIE, lang, 365 * 24 * 3600 * 1000);
      ctx.redirect(safeBack(typeof ctx.query.back === 'string' ? ctx.query.back : '/mgmt'));
    },
    'console.starting': async ({ ctx }) => {
      if (await system.isReady()) return ctx.redirect('/mgmt');
      ctx.status = 503;
      ctx.set('Retry-After', '3');
      await ui.render(ctx, 'console/starting');
    },
    'console.entry': async ({ ctx }) => {
      if (!(await system.isReady())) return ctx.redirect('/mgmt/starting');
      if (!auth.isInitialized()) return ctx.redirect('/mgmt/setup');
      if (!(await ui.isLoggedIn(ctx))) return ctx.redirect('/mgmt/login');
      ctx.redirect('/mgmt/scenarios');
    },
    'console.scenarios': section('scenarios'),
    'console.system': section('system'),
    'console.components': async ({ ctx }) => {
      const children = (system.children() as Array<Record<string, unknown>>).map((c) => ({ ...c, started: shownTime(c.startedAt) }));
      await ui.render(ctx, 'console/components', { status: system.status(), children });
    },
    'console.contact': async ({ ctx }) => {
      await ui.render(ctx, 'console/contact');
    },
    'console.root': ({ ctx }) => ctx.redirect('/mgmt'),
  };
}
