// Decodes nginx-rtmp's HTTP hook into the ingest-neutral event admission takes
// (docs/architecture.md, "How a publish flows"), so nothing past the adapter knows nginx's fields.
//
// nginx-rtmp posts `application/x-www-form-urlencoded` with its own fields first (app, flashver,
// swfurl, tcurl, pageurl, addr, clientid, call, name, type…) and then the publish URL's query
// arguments flattened into the same form. A client can therefore send `?name=x`: only the first
// occurrence of each of nginx's fields is nginx's, every other pair belongs to SRS's `param`.
import { ValidationError } from '../../core/errors.js';
import { DEFAULT_VHOST, checkStreamName } from '../../core/stream-names.js';
import type { EngineHookEvent } from '../media-engine.js';

const NGINX_FIELDS = new Set([
  'app',
  'flashver',
  'swfurl',
  'tcurl',
  'pageurl',
  'addr',
  'clientid',
  'call',
  'name',
  'type',
  'start',
  'duration',
  'reset',
]);

const NGINX_CALLS: Record<string, EngineHookEvent['action']> = {
  publish: 'publish',
  publish_done: 'unpublish',
  play: 'play',
  play_done: 'stop',
};

/** nginx-rtmp identifies its own relay connections (push/pull) with this flash version. */
export const NGINX_RELAY_FLASHVER = 'ngx-local-relay';

export function parseNginxCallback(rawForm: string): EngineHookEvent {
  const own = new Map<string, string>();
  const extra: Array<[string, string]> = [];
  for (const [key, value] of new URLSearchParams(rawForm)) {
    if (NGINX_FIELDS.has(key) && !own.has(key)) own.set(key, value);
    else extra.push([key, value]);
  }
  const call = own.get('call') ?? '';
  const action = NGINX_CALLS[call];
  if (!action) throw new ValidationError(`unsupported engine callback "${call}"`);
  const relay = (own.get('flashver') ?? '').startsWith(NGINX_RELAY_FLASHVER);
  const app = own.get('app') ?? '';
  if (!app && !relay) throw new ValidationError('engine callback without app');
  const query = new URLSearchParams(extra).toString();
  return {
    action,
    relay,
    request: {
      protocol: 'rtmp',
      vhost: DEFAULT_VHOST,
      app,
      stream: checkStreamName('stream', own.get('name') ?? ''),
      param: query ? `?${query}` : '',
      clientId: own.get('clientid') ?? '',
      clientAddress: own.get('addr') ?? '',
    },
  };
}
