// System API (reference §3.1) and the System › OpenAPI / Website / Limits tabs, the Components page.
import type Router from 'koa-router';
import { API_PREFIX, type ApiRoutes, type AuthGuard, type RouteInfo } from '../../core/http.js';
import type { Metrics } from '../../core/metrics.js';
import { optionalInteger, optionalString, requireString } from '../../core/validate.js';
import type { AuthService } from '../auth/service.js';
import type { Console } from '../console/console.js';
import { MAX_BITRATE_LIMIT_KBPS, type SystemService } from './service.js';

export function registerSystemApi(api: ApiRoutes, system: SystemService): void {
  const versions = () => system.versions();
  for (const p of ['/mgmt/versions', '/host/versions', '/ffmpeg/versions', '/hooks/versions', '/tencent/versions']) {
    api.open(p, 'version probe used by health checks and the installer', versions);
  }
  api.open('/mgmt/check', 'readiness probe: the console polls it before login', () => system.check());
  api.open('/mgmt/envs', 'display ports and slot limits the login page needs; no secrets', ({ body }) =>
    system.envs(optionalString(body, 'locale', 8)),
  );
  api.open('/mgmt/beian/query', 'site title and footer shown on the public login page', () => system.beian());
  api.secured('/mgmt/status', () => system.status());
  api.secured('/mgmt/beian/update', async ({ body }) => {
    await system.updateBeian(requireString(body, 'beian', 16), requireString(body, 'text', 1024));
    return null;
  });
  api.secured('/mgmt/limits/query', () => system.limits());
  api.secured('/mgmt/limits/update', async ({ body }) => {
    await system.updateLimits({
      vlive: optionalInteger(body, 'vlive', 1, MAX_BITRATE_LIMIT_KBPS),
      camera: optionalInteger(body, 'camera', 1, MAX_BITRATE_LIMIT_KBPS),
    });
    return null;
  });
  api.secured('/mgmt/supervisor/query', () => ({ children: system.children() }));
}

export interface RouteGroup {
  name: string;
  routes: RouteInfo[];
}

/**
 * The API as the OpenAPI tab lists it, grouped by the path without its last segment
 * (`/terraform/v1/mgmt/hooks/apply` → `mgmt/hooks`), sorted. Built from the live route table, so a
 * new endpoint shows up without anyone editing a list.
 */
export function groupApiRoutes(routes: readonly RouteInfo[]): RouteGroup[] {
  const groups = new Map<string, RouteInfo[]>();
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

export function registerSystemTabs(ui: Console, system: SystemService, auth: AuthService, routes: () => readonly RouteInfo[]): void {
  ui.addTab({
    section: 'system',
    id: 'api',
    titleKey: 'system.tab.api',
    order: 90,
    template: 'system/openapi',
    load: async () => ({ secret: auth.secret, groups: groupApiRoutes(routes()) }),
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
  ui.form('/mgmt/system/website', async (_ctx, form) => {
    await system.updateBeian(requireString(form, 'beian', 16), optionalString(form, 'text', 1024) ?? '');
  });
  ui.form('/mgmt/system/limits', async (_ctx, form) => {
    await system.updateLimits({
      vlive: optionalInteger(form, 'vlive', 1, MAX_BITRATE_LIMIT_KBPS),
      camera: optionalInteger(form, 'camera', 1, MAX_BITRATE_LIMIT_KBPS),
    });
  });
}

/**
 * Prometheus metrics at /metrics, behind the same auth as the API (Bearer api secret): scrapers
 * support bearer tokens, and through a panel's proxy every request looks like loopback, so "open on
 * loopback" would mean open to the internet.
 */
export function registerMetrics(router: Router, guard: AuthGuard, metrics: Metrics): RouteInfo {
  router.get('/metrics', async (ctx) => {
    await guard(ctx, {});
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = await metrics.render();
  });
  return { path: '/metrics', auth: 'secured', method: 'GET' };
}
