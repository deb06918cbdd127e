// System API (docs/compatibility.md §3.1), /metrics, and the System › OpenAPI / Website / Limits tabs.
import type { Metrics } from '../../core/metrics.js';
import type { ListedRoute } from '../../core/routing.js';
import { optionalInteger, optionalString, requireString } from '../../core/validate.js';
import type { RouteDoc } from '../../route-docs.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import { MAX_BITRATE_LIMIT_KBPS, type SystemService } from './service.js';

export function systemHandlers(system: SystemService, metrics: Metrics): RouteHandlers {
  const versions = () => system.versions();
  return {
    'system.versions': versions,
    'system.hostVersions': versions,
    'system.ffmpegVersions': versions,
    'system.hooksVersions': versions,
    'system.tencentVersions': versions,
    'system.check': () => system.check(),
    'system.envs': ({ body }) => system.envs(optionalString(body, 'locale', 8)),
    'system.beianQuery': () => system.beian(),
    'system.status': () => system.status(),
    'system.beianUpdate': async ({ body }) => {
      await system.updateBeian(requireString(body, 'beian', 16), requireString(body, 'text', 1024));
      return null;
    },
    'system.limitsQuery': () => system.limits(),
    'system.limitsUpdate': async ({ body }) => {
      await system.updateLimits({
        vlive: optionalInteger(body, 'vlive', 1, MAX_BITRATE_LIMIT_KBPS),
        camera: optionalInteger(body, 'camera', 1, MAX_BITRATE_LIMIT_KBPS),
      });
      return null;
    },
    'system.supervisorQuery': () => ({ children: system.children() }),
    'system.websiteForm': async (_ctx, form) => {
      await system.updateBeian(requireString(form, 'beian', 16), optionalString(form, 'text', 1024) ?? '');
    },
    'system.limitsForm': async (_ctx, form) => {
      await system.updateLimits({
        vlive: optionalInteger(form, 'vlive', 1, MAX_BITRATE_LIMIT_KBPS),
        camera: optionalInteger(form, 'camera', 1, MAX_BITRATE_LIMIT_KBPS),
      });
    },
    // Prometheus's text format; the table puts it behind the API secret.
    'system.metrics': async ({ ctx }) => {
      ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
      ctx.body = await metrics.render();
    },
  };
}

/** One call of the OpenAPI tab: the route table's method, path and auth rule, with its documentation (server/route-docs.ts). */
export interface ApiCallView {
  readonly id: string;
  readonly methods: string;
  readonly path: string;
  readonly auth: 'secured' | 'public';
  /** Why an open route is open. */
  readonly note?: string;
  readonly summary: { readonly en: string; readonly zh: string };
  readonly fields: Array<{ name: string; type: string; optional: boolean }>;
  /** The example body as pretty JSON, '' when the call takes none. */
  readonly example: string;
}

export interface ApiGroup {
  /** The feature prefix of the route ids (`forward` of `forward.secret`): the scenario the calls belong to. */
  readonly name: string;
  readonly calls: ApiCallView[];
}

/**
 * The API as the OpenAPI tab lists it: every API route of the table (and any other route that has
 * documentation), grouped by scenario in the table's order, each with its documentation. Built from the
 * route table, so a new call shows up without anyone editing a list (and its missing documentation fails
 * test/unit/route-docs.test.ts).
 */
export function apiCatalog(routes: readonly ListedRoute[], docs: Readonly<Record<string, RouteDoc | undefined>>): ApiGroup[] {
  const groups = new Map<string, ApiCallView[]>();
  for (const route of routes) {
    const doc = docs[route.id];
    if (route.answer !== 'api' && !doc) continue;
    const { auth } = route;
    const name = route.id.split('.')[0] as string;
    const call: ApiCallView = {
      id: route.id,
      methods: route.methods.join('|'),
      path: route.path,
      auth: auth.kind === 'secured' ? 'secured' : 'public',
      note: auth.kind === 'public' || auth.kind === 'engine' ? auth.why : undefined,
      summary: doc?.summary ?? { en: '', zh: '' },
      fields: Object.entries(doc?.fields ?? {}).map(([field, type]) => ({
        name: field,
        type: type.replace(/\?(?= |$)/, ''),
        optional: /\?(?= |$)/.test(type),
      })),
      example: doc?.example ? JSON.stringify(doc.example, null, 2) : '',
    };
    groups.set(name, [...(groups.get(name) ?? []), call]);
  }
  return [...groups.entries()].map(([name, calls]) => ({ name, calls }));
}

/** The API secret shown on the OpenAPI tab (the auth feature holds it). */
export interface ApiSecretHolder {
  readonly secret: string;
}

export function registerSystemTabs(
  ui: Console,
  system: SystemService,
  auth: ApiSecretHolder,
  routes: readonly ListedRoute[],
  docs: Readonly<Record<string, RouteDoc | undefined>>,
): void {
  const groups = apiCatalog(routes, docs);
  ui.addTab({
    section: 'system',
    id: 'api',
    titleKey: 'system.tab.api',
    order: 90,
    template: 'system/openapi',
    load: async () => ({ secret: auth.secret, groups }),
  });
  ui.addTab({
    section: 'system',
    id: 'beian',
    titleKey: 'system.tab.beian',
    order: 50,
    template: 'system/website',
    load: async () => ({ beian: await system.beian() }),
  });
  ui.addTab({
    section: 'system',
    id: 'limits',
    titleKey: 'system.tab.limits',
    order: 60,
    template: 'system/limits',
    load: async () => ({ limits: await system.limits() }),
  });
}
