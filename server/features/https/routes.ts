// HTTPS API (reference §3.1, §9) and the System › HTTPS tab.
import type { ApiRoutes } from '../../core/http.js';
import { optionalString, requireString } from '../../core/validate.js';
import type { Console } from '../console/console.js';
import { MAX_CRT_CHARS, MAX_KEY_CHARS, daysLeft } from './certificate.js';
import type { LetsEncryptService } from './letsencrypt.js';
import type { HttpsService } from './service.js';

/** Domain lists are short; this bounds what the parser ever sees. */
const MAX_DOMAIN_LIST_CHARS = 8192;

export function registerHttpsApi(api: ApiRoutes, https: HttpsService, letsencrypt: LetsEncryptService): void {
  api.secured('/mgmt/ssl', async ({ body }) => {
    await https.upload(optionalString(body, 'key', MAX_KEY_CHARS) ?? '', optionalString(body, 'crt', MAX_CRT_CHARS) ?? '');
    return null;
  });
  api.secured('/mgmt/letsencrypt', async ({ body }) => {
    await letsencrypt.request(requireString(body, 'domain', MAX_DOMAIN_LIST_CHARS));
    return null;
  });
  api.secured('/mgmt/letsencrypt/status', () => letsencrypt.status());
  api.secured('/mgmt/auto-self-signed-certificate', async () => {
    await https.autoSelfSignedCertificate();
    return null;
  });
  api.secured('/mgmt/cert/query', () => https.query());
}

export function registerHttpsTab(ui: Console, https: HttpsService, letsencrypt: LetsEncryptService, httpsPort: number): void {
  ui.addTab({
    section: 'system',
    id: 'https',
    titleKey: 'system.tab.https',
    order: 20,
    template: 'https/https',
    load: async (ctx) => {
      const { provider, domain, info } = await https.query();
      const hostname = ctx.hostname;
      return {
        provider,
        // Pre-filled as SRS Stack does: the saved list, else the address bar's name when it is a domain.
        domain: domain || (/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(hostname) ? hostname : ''),
        info,
        daysLeft: info ? Math.floor(daysLeft(info)) : 0,
        httpsPort,
        progress: letsencrypt.status(),
      };
    },
  });
  ui.form('/mgmt/system/ssl', async (_ctx, form) => {
    await https.upload(optionalString(form, 'key', MAX_KEY_CHARS) ?? '', optionalString(form, 'crt', MAX_CRT_CHARS) ?? '');
    return 'https.notice.uploaded';
  });
  ui.form('/mgmt/system/letsencrypt', async (_ctx, form) => {
    await letsencrypt.request(requireString(form, 'domain', MAX_DOMAIN_LIST_CHARS));
    return 'https.notice.issued';
  });
}
