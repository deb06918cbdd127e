// Auth API (docs/compatibility.md §2) and the console's setup / login / logout pages.
import { clientAddress } from '../../core/http.js';
import { AppError, errorMessage } from '../../core/errors.js';
import { optionalString, requireString } from '../../core/validate.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import { randomPassword } from './password.js';
import type { AuthService } from './service.js';

/** Whether the stack can take a login yet (the system feature answers; declared here so auth depends on no feature but the console). */
export interface LoginReadiness {
  /** Throws NotReadyError while Redis is not ready. */
  check(): Promise<unknown>;
  isReady(): Promise<boolean>;
}

export function authHandlers(auth: AuthService, system: LoginReadiness, ui: Console): RouteHandlers {
  return {
    'auth.init': async ({ body }) => {
      const password = optionalString(body, 'password', 256);
      if (password === undefined || password === '') return { init: auth.isInitialized() };
      await system.check();
      return auth.init(password);
    },
    'auth.login': async ({ ctx, body }) => {
      await system.check();
      return auth.login(requireString(body, 'password', 256), clientAddress(ctx));
    },
    'auth.token': () => auth.issueToken(),
    'auth.secretQuery': () => auth.secret,

    'auth.setupPage': async ({ ctx }) => {
      if (!(await system.isReady())) return ctx.redirect('/mgmt/starting');
      if (auth.isInitialized()) return ctx.redirect('/mgmt/login');
      await ui.render(ctx, 'auth/setup', { password: randomPassword(), error: '' });
    },
    'auth.setup': async ({ ctx, body: form }) => {
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
    },
    'auth.loginPage': async ({ ctx }) => {
      if (!(await system.isReady())) return ctx.redirect('/mgmt/starting');
      if (!auth.isInitialized()) return ctx.redirect('/mgmt/setup');
      if (await ui.isLoggedIn(ctx)) return ctx.redirect('/mgmt/scenarios');
      await ui.render(ctx, 'auth/login', { error: '' });
    },
    'auth.loginForm': async ({ ctx, body: form }) => {
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
    },
    'auth.logout': async (ctx) => {
      ui.endSession(ctx);
      ctx.redirect('/mgmt/login');
    },
  };
}
