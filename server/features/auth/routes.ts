// Auth API (reference §2) and the console's setup / login / logout pages.
import type Router from 'koa-router';
import type { ApiRoutes } from '../../core/http.js';
import { clientAddress, readJsonBody } from '../../core/http.js';
import { AppError, errorMessage } from '../../core/errors.js';
import { optionalString, requireString } from '../../core/validate.js';
import type { Console } from '../console/console.js';
import { randomPassword } from './password.js';
import type { AuthService } from './service.js';
import type { SystemService } from '../system/service.js';

export function registerAuthApi(api: ApiRoutes, auth: AuthService, system: SystemService): void {
  api.open('/mgmt/init', 'first-run setup; refuses once a password exists', async ({ body }) => {
    const password = optionalString(body, 'password', 256);
    if (password === undefined || password === '') return { init: auth.isInitialized() };
    await system.check();
    return auth.init(password);
  });
  api.open('/mgmt/login', 'login; throttled per client', async ({ ctx, body }) => {
    await system.check();
    return auth.login(requireString(body, 'password', 256), clientAddress(ctx));
  });
  api.secured('/mgmt/token', () => auth.issueToken());
  api.secured('/mgmt/secret/query', () => auth.secret);
}

export function registerAuthPages(router: Router, ui: Console, auth: AuthService, system: SystemService): void {
  router.get('/mgmt/setup', async (ctx) => {
    if (!(await system.isReady())) return ctx.redirect('/mgmt/starting');
    if (auth.isInitialized()) return ctx.redirect('/mgmt/login');
    await ui.render(ctx, 'auth/setup', { password: randomPassword(), error: '' });
  });
  router.post('/mgmt/setup', async (ctx) => {
    const form = await readJsonBody(ctx);
    const password = typeof form.password === 'string' ? form.password : '';
    try {
      const issued = await auth.init(password);
      ui.startSession(ctx, issued.token);
      ctx.redirect('/mgmt/scenarios');
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      await ui.render(ctx, 'auth/setup', { password, error: errorMessage(err) });
    }
  });
  router.get('/mgmt/login', async (ctx) => {
    if (!(await system.isReady())) return ctx.redirect('/mgmt/starting');
    if (!auth.isInitialized()) return ctx.redirect('/mgmt/setup');
    if (ui.isLoggedIn(ctx)) return ctx.redirect('/mgmt/scenarios');
    await ui.render(ctx, 'auth/login', { error: '' });
  });
  router.post('/mgmt/login', async (ctx) => {
    const form = await readJsonBody(ctx);
    try {
      const issued = await auth.login(typeof form.password === 'string' ? form.password : '', clientAddress(ctx));
      ui.startSession(ctx, issued.token);
      ctx.redirect('/mgmt/scenarios');
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = err.status;
      for (const [k, v] of Object.entries(err.headers)) ctx.set(k, v);
      await ui.render(ctx, 'auth/login', { error: errorMessage(err) });
    }
  });
  ui.form('/mgmt/logout', async (ctx) => {
    ui.endSession(ctx);
    ctx.redirect('/mgmt/login');
  });
}
