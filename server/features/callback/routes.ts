// Callback API (docs/compatibility.md §3.1, §4), the built-in test receiver, the loop guard and the
// System › Callback tab.
import type Koa from 'koa';
import { AppError, ValidationError } from '../../core/errors.js';
import { isSecureRequest } from '../../core/http.js';
import { createLogger, maskSecrets } from '../../core/logger.js';
import { optionalBoolean, optionalString, type Body } from '../../core/validate.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import { LOOP_HEADER } from './client.js';
import { EXAMPLE_PATH, type ApplyRequest, type CallbackService } from './service.js';

const log = createLogger('callback');

function origin(ctx: Koa.Context): string {
  return `${isSecureRequest(ctx) ? 'https' : 'http'}://${ctx.host || 'localhost'}`;
}

function applyRequest(body: Body): ApplyRequest {
  return {
    target: optionalString(body, 'target', 2048) ?? '',
    opaque: optionalString(body, 'opaque', 1024) ?? '',
    all: optionalBoolean(body, 'all') ?? false,
    host: optionalString(body, 'host', 512) ?? '',
  };
}

/** Pretty JSON when it is JSON; secrets masked either way (the console shows it). */
function forDisplay(text: string): string {
  if (!text) return '';
  try {
    return maskSecrets(JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    return maskSecrets(text);
  }
}

/**
 * A callback this process sent that arrives back at one of its own routes (other than the example
 * receiver) is a loop: answer it at once instead of running the route.
 */
export function callbackLoopGuard(callbacks: CallbackService): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.get(LOOP_HEADER) === callbacks.instanceId && ctx.path !== EXAMPLE_PATH) {
      throw new AppError(508, `callback loop: ${ctx.path} received a callback this stack sent to itself; set the target to your receiver`);
    }
    await next();
  };
}

export function callbackHandlers(callbacks: CallbackService): RouteHandlers {
  return {
    'callback.query': () => callbacks.query(),
    'callback.apply': async ({ ctx, body }) => {
      await callbacks.apply(applyRequest(body), origin(ctx));
      return null;
    },
    'callback.example': ({ ctx, body }) => {
      const action = optionalString(body, 'action', 64) ?? '';
      const opaque = optionalString(body, 'opaque', 1024) ?? '';
      log.info(maskSecrets(`example receiver got ${action || '(no action)'}: ${JSON.stringify(body).slice(0, 500)}`));
      const fail = ctx.query.fail;
      if (fail === 'true' || fail === '1') throw new ValidationError(`fail as required, action=${action}, opaque=${opaque}`);
      return null;
    },
    'callback.form': async (ctx, form) => {
      // An unchecked box sends nothing: absence means false here.
      await callbacks.apply({ ...applyRequest({ ...form, all: form.all === 'true' }), host: '' }, origin(ctx));
      return 'callback.notice.saved';
    },
  };
}

export function registerCallbackTab(ui: Console, callbacks: CallbackService): void {
  ui.addTab({
    section: 'system',
    id: 'callback',
    titleKey: 'system.tab.callback',
    order: 80,
    template: 'callback/callback',
    load: async (ctx) => {
      const hooks = await callbacks.query();
      return {
        hooks,
        active: hooks.all && !!hooks.target,
        defaultTarget: `${origin(ctx)}${EXAMPLE_PATH}?fail=false`,
        lastRequest: forDisplay(hooks.req),
        lastResponse: forDisplay(hooks.res),
        timeoutSeconds: callbacks.timing.timeoutMs / 1000,
        retries: callbacks.timing.retries,
      };
    },
  });
}
