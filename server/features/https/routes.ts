// HTTPS API (docs/compatibility.md §3.1, §9) and the System › HTTPS tab.
import { shownTime } from '../../core/views.js';
import { optionalString, requireString } from '../../core/validate.js';
import type { RouteHandlers } from '../../route-table.js';
import type { Console } from '../console/console.js';
import { MAX_CRT_CHARS, MAX_KEY_CHARS, daysLeft } from './certificate.js';
import type { LetsEncryptService } from './letsencrypt.js';
import type { HttpsService } from './service.js';

/** Domain lists are short; this bounds what the parser ever sees. */
const MAX_DOMAIN_LIST_CHARS = 8192;

export function httpsHandlers(https: HttpsService, letsencrypt: LetsEncryptService): RouteHandlers {
  return {
    'https.ssl': async ({ body }) => {
      await https.upload(optionalString(body, 'key', MAX_KEY_CHARS) ?? '', optionalString(body, 'crt', MAX_CRT_CHARS) ?? '');
      return null;
    },
    'https.letsencrypt': async ({ body }) => {
      await letsencrypt.request(requireString(body, 'domain', MAX_DOMAIN_LIST_CHARS));
      return null;
    },
    'https.letsencryptStatus': () => letsencrypt.status(),
    'https.autoSelfSigned': async () => {
      await https.autoSelfSignedCertificate();
      return null;
    },
    'https.certQuery': () => https.query(),
    'https.sslForm': async (_ctx, form) => {
      await https.upload(optionalString(form, 'key', MAX_KEY_CHARS) ?? '', optionalString(form, 'crt', MAX_CRT_CHARS) ?? '');
      return 'https.notice.uploaded';
    },
    'https.letsencryptForm': async (_ctx, form) => {
      await letsencrypt.request(requireString(form, 'domain', MAX_DOMAIN_LIST_CHARS));
      return 'https.notice.issued';
    },
  };
}

/** `ports`: this instance's listeners (MGMT_LISTEN, HTTPS_LISTEN), which the tab's instructions name. */
export function registerHttpsTab(
  ui: Console,
  https: HttpsService,
  letsencrypt: LetsEncryptService,
  ports: { httpPort: number; httpsPort: number },
): void {
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
        validity: { from: shownTime(info?.validFrom), to: shownTime(info?.validTo) },
        ...ports,
        progress: letsencrypt.status(),
      };
    },
  });
}
