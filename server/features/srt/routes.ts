// The SRT gateway's API: whether SRT serves callers (and why not), who publishes and plays, and the
// latest refusals with their reasons (a wrong secret, H.265…), for the console and for operators.
import type { RouteHandlers } from '../../route-table.js';
import type { SrtGateway } from './gateway.js';

export function srtHandlers(srt: SrtGateway): RouteHandlers {
  return {
    'srt.query': () => srt.status(),
  };
}
