// SRS's `/api/v1/…` beside SRS Stack's own API (service.ts says what each answers). SRS answers in
// its own envelope (`code`, `server`, `service`, `pid` and the payload's key), not SRS Stack's, so
// these are direct routes that write their JSON themselves.
import { sendJson } from '../../core/http.js';
import type { RouteHandlers } from '../../route-table.js';
import type { SrsApi } from './service.js';

export function srsApiHandlers(api: SrsApi): RouteHandlers {
  return {
    'srsApi.versions': ({ ctx }) => sendJson(ctx, 200, api.versions()),
    'srsApi.summaries': async ({ ctx }) => sendJson(ctx, 200, await api.summaries()),
    'srsApi.streams': async ({ ctx }) => sendJson(ctx, 200, await api.streams()),
    'srsApi.clients': async ({ ctx }) => sendJson(ctx, 200, await api.clients()),
    'srsApi.client': async ({ ctx }) => {
      const id = String(ctx.params.id ?? '');
      sendJson(ctx, 200, ctx.method === 'DELETE' ? await api.kickoff(id) : await api.client(id));
    },
  };
}
