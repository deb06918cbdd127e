// System API (docs/compatibility.md §3.1), /metrics, and the System › OpenAPI / Website / Limits tabs.
import { API_PREFIX } from '../../core/http.js';
import type { Metrics } from '../../core/metrics.js';
import type { ListedRoute } from '../../core/routing.js';
import { optionalInteger, optionalString, requireString } from '../../core/validate.js';
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

export interface RouteGroup<R> {
  name: string;
  routes: R[];
}

/**
 * The API as the OpenAPI tab lists it, grouped by the path without its last segment
 * (`/terraform/v1/mgmt/hooks/apply` → `mgmt/hooks`), sorted. Built from the route table, so a new
 * endpoint shows up without anyone editing a list.
 */
export function groupApiRoutes<R extends { readonly path: string }>(routes: readonly R[]): Array<RouteGroup<R>> {
  const groups = new Map<string, R[]>();
  for (const route of routes) {
    if (!route.path.startsWith(`${API_PREFIX}/`)) continue;
    const rest = route.path.slice(API_PREFIX.length + 1).split('/');
    const name = rest.slice(0, -1).join('/') || rest.join('/');
    groups.set(name, [...(groups.get(name) ?? []), route]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, list]) => ({ name, routes: [...list].sort((a, b) => a.path.localeCompare(b.path)) }));
}

/** One row of the OpenAPI tab. */
export interface ApiRouteView {
  readonly path: string;
  readonly methods: string;
  readonly auth: 'secured' | 'public';
  /** Why an open route is open. */
  readonly note?: string;
}

function apiRouteView(route: ListedRoute): ApiRouteView {
  const { auth } = route;
  return {
    path: route.path,
    methods: route.methods.join('|'),
    auth: auth.kind === 'secured' ? 'secured' : 'public',
    note: auth.kind === 'public' || auth.kind === 'engine' ? auth.why : undefined,
  };
}

/** The API secret shown on the OpenAPI tab (the auth feature holds it). */
export interface ApiSecretHolder {
  readonly secret: string;
}

export function registerSystemTabs(ui: Console, system: SystemService, auth: ApiSecretHolder, routes: readonly ListedRoute[]): void {
  const groups = groupApiRoutes(routes.map(apiRouteView));
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
